#include "csms/control/charger_access.h"

#include "csms/control/rpc_status.h"

namespace csms::control {

ChargerRecord ChargerAccess::Require(const std::string& charger_id) const {
  if (charger_id.empty()) {
    throw RpcError(grpc::StatusCode::INVALID_ARGUMENT, "charger_id is required");
  }
  auto charger = store_.FindCharger(charger_id);
  if (!charger) {
    throw RpcError(grpc::StatusCode::NOT_FOUND, "charger " + charger_id + " is not registered");
  }
  return *charger;
}

bool ChargerAccess::IsLive(const ChargerRecord& charger) const {
  if (!charger.connected) return false;
  if (offline_after_.count() <= 0 || !charger.last_seen) return true;
  return clock_.Now() - *charger.last_seen <= offline_after_;
}

void ChargerAccess::RequireReachable(const ChargerRecord& charger) const {
  const std::string& charger_id = charger.charger_id;
  if (!charger.connected) {
    throw RpcError(grpc::StatusCode::FAILED_PRECONDITION, "charger " + charger_id + " is offline");
  }
  if (!IsLive(charger)) {
    throw RpcError(grpc::StatusCode::FAILED_PRECONDITION,
                   "charger " + charger_id + " has not been heard from since " +
                       FormatRfc3339(*charger.last_seen) + "; treated as offline");
  }
  // A CSMS that rejected a station must not send it anything (B03.FR.03).
  if (charger.registration_status == "Rejected") {
    throw RpcError(grpc::StatusCode::FAILED_PRECONDITION,
                   "charger " + charger_id + " is not accepted (registration Rejected)");
  }
}

}  // namespace csms::control
