#include "csms/control/control_service.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string_view>

#include "csms/common/log.h"
#include "csms/control/operator_call.h"
#include "csms/control/password_hash.h"
#include "csms/control/request_checks.h"
#include "csms/control/rpc_status.h"

namespace csms::control {
namespace {

constexpr const char* kComponent = "control";

constexpr size_t kMaxStationIdLength = 64;
constexpr size_t kMaxStationNameLength = 200;
constexpr size_t kMaxAddressLength = 500;

void RequireText(const std::string& value, const char* field, size_t max_length, bool allow_empty) {
  if (value.empty() && !allow_empty) {
    throw RpcError(grpc::StatusCode::INVALID_ARGUMENT, std::string(field) + " is required");
  }
  if (value.size() > max_length) {
    throw RpcError(
        grpc::StatusCode::INVALID_ARGUMENT,
        std::string(field) + " is longer than " + std::to_string(max_length) + " characters");
  }
  if (std::any_of(value.begin(), value.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    throw RpcError(grpc::StatusCode::INVALID_ARGUMENT,
                   std::string(field) + " must not contain control characters");
  }
}

void RequireCoordinate(double value, const char* field, int limit) {
  if (!std::isfinite(value) || value < -limit || value > limit) {
    throw RpcError(grpc::StatusCode::INVALID_ARGUMENT, std::string(field) + " must be between -" +
                                                           std::to_string(limit) + " and " +
                                                           std::to_string(limit));
  }
}

// Checked, sorted and without duplicates.
std::vector<std::string> ChargerIds(const google::protobuf::RepeatedPtrField<std::string>& ids) {
  std::vector<std::string> out(ids.begin(), ids.end());
  for (const auto& id : out) RequireId(id, "charger_ids[]");
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Runs a station write, turning the store's refusals into gRPC statuses.
template <typename Fn>
auto StationWrite(Fn&& fn) {
  try {
    return fn();
  } catch (const StoreError& e) {
    throw RpcError(e.kind == StoreError::Kind::kNotFound ? grpc::StatusCode::NOT_FOUND
                                                         : grpc::StatusCode::ALREADY_EXISTS,
                   e.what());
  }
}

// A charger's list: the page size (`fallback` for 0, bad_request beyond `max`) once the charger is
// known (unknown_charger otherwise); errors carry the REST code in their details.
int PageOf(RegistryStore& registry, const std::string& charger_id, int limit, int fallback,
           int max) {
  if (limit < 0 || limit > max) {
    throw RpcError(CommandError(grpc::StatusCode::INVALID_ARGUMENT, "bad_request",
                                "limit must be between 1 and " + std::to_string(max)));
  }
  if (charger_id.empty() || !registry.FindCharger(charger_id)) {
    throw RpcError(CommandError(grpc::StatusCode::NOT_FOUND, "unknown_charger",
                                "charger " + charger_id + " is not registered"));
  }
  return limit == 0 ? fallback : limit;
}

}  // namespace

ControlServiceImpl::ControlServiceImpl(ControlStores& stores, ChargerLinkClient& link,
                                       EventWaiter& waiter,
                                       std::chrono::milliseconds command_timeout,
                                       auth::Authenticator* auth)
    : stores_(stores),
      access_(stores.registry),
      sender_(link, &stores.command_log, ocpp::SchemaSet::Ocpp201()),
      charging_(access_, stores, sender_, waiter, auth, command_timeout),
      device_model_(access_, stores.device_model, sender_, auth, command_timeout),
      firmware_(access_, stores.firmware, sender_, auth, command_timeout) {
  // Whoever sends SetVariables or GetVariables, what the charger confirmed is in its model.
  sender_.set_observer(
      [&model = stores.device_model](const ChargerRecord& charger, const std::string& action,
                                     const nlohmann::json& request, const nlohmann::json& result) {
        try {
          model.ApplyAttributes(charger.charger_id, ConfirmedAttributes(action, request, result),
                                action, RealClock().Now());
        } catch (const std::exception& e) {
          CSMS_LOG(kWarn, kComponent)
              << "device model of " << log::Sanitize(charger.charger_id) << " not updated from "
              << action << ": " << log::Sanitize(e.what(), 200);
        }
      });
}

ChargerRecord ControlServiceImpl::RequireCharger(const std::string& charger_id) {
  return access_.Require(charger_id);
}

bool ControlServiceImpl::IsLive(const ChargerRecord& charger) const {
  return access_.IsLive(charger);
}

grpc::Status ControlServiceImpl::GetCharger(grpc::ServerContext*,
                                            const csms::control::v1::GetChargerRequest* request,
                                            csms::control::v1::Charger* response) {
  return RunRpc("GetCharger", [&] {
    ChargerRecord record = RequireCharger(request->charger_id());
    FillCharger(record, IsLive(record), response);
  });
}

grpc::Status ControlServiceImpl::ListChargers(grpc::ServerContext*,
                                              const csms::control::v1::ListChargersRequest*,
                                              csms::control::v1::ListChargersResponse* response) {
  return RunRpc("ListChargers", [&] {
    for (const auto& record : stores_.registry.ListChargers()) {
      FillCharger(record, IsLive(record), response->add_chargers());
    }
  });
}

grpc::Status ControlServiceImpl::ListStations(grpc::ServerContext*,
                                              const csms::control::v1::ListStationsRequest*,
                                              csms::control::v1::ListStationsResponse* response) {
  return RunRpc("ListStations", [&] {
    for (const auto& record : stores_.stations.List())
      FillStation(record, response->add_stations());
  });
}

grpc::Status ControlServiceImpl::GetStation(grpc::ServerContext*,
                                            const csms::control::v1::GetStationRequest* request,
                                            csms::control::v1::Station* response) {
  return RunRpc("GetStation", [&] {
    RequireText(request->station_id(), "station_id", kMaxStationIdLength, false);
    auto station = stores_.stations.Find(request->station_id());
    if (!station) {
      throw RpcError(grpc::StatusCode::NOT_FOUND,
                     "station " + request->station_id() + " not found");
    }
    FillStation(*station, response);
  });
}

grpc::Status ControlServiceImpl::CreateStation(
    grpc::ServerContext*, const csms::control::v1::CreateStationRequest* request,
    csms::control::v1::Station* response) {
  return RunRpc("CreateStation", [&] {
    const auto& in = request->station();
    RequireText(in.station_id(), "station_id", kMaxStationIdLength, false);
    RequireText(in.name(), "name", kMaxStationNameLength, false);
    RequireText(in.address(), "address", kMaxAddressLength, true);
    RequireCoordinate(in.latitude(), "latitude", 90);
    RequireCoordinate(in.longitude(), "longitude", 180);
    StationRecord station{in.station_id(), in.name(),      in.address(),
                          in.latitude(),   in.longitude(), ChargerIds(in.charger_ids())};
    FillStation(StationWrite([&] { return stores_.stations.Create(station); }), response);
    CSMS_LOG(kInfo, kComponent) << "station " << log::Sanitize(in.station_id()) << " created";
  });
}

grpc::Status ControlServiceImpl::UpdateStation(
    grpc::ServerContext*, const csms::control::v1::UpdateStationRequest* request,
    csms::control::v1::Station* response) {
  return RunRpc("UpdateStation", [&] {
    RequireText(request->station_id(), "station_id", kMaxStationIdLength, false);
    StationChanges changes;
    if (request->has_name()) {
      RequireText(request->name(), "name", kMaxStationNameLength, false);
      changes.name = request->name();
    }
    if (request->has_address()) {
      RequireText(request->address(), "address", kMaxAddressLength, true);
      changes.address = request->address();
    }
    if (request->has_latitude()) {
      RequireCoordinate(request->latitude(), "latitude", 90);
      changes.latitude = request->latitude();
    }
    if (request->has_longitude()) {
      RequireCoordinate(request->longitude(), "longitude", 180);
      changes.longitude = request->longitude();
    }
    if (request->replace_charger_ids()) changes.charger_ids = ChargerIds(request->charger_ids());
    FillStation(
        StationWrite([&] { return stores_.stations.Update(request->station_id(), changes); }),
        response);
  });
}

grpc::Status ControlServiceImpl::DeleteStation(
    grpc::ServerContext*, const csms::control::v1::DeleteStationRequest* request,
    csms::control::v1::DeleteStationResponse*) {
  return RunRpc("DeleteStation", [&] {
    RequireText(request->station_id(), "station_id", kMaxStationIdLength, false);
    if (!stores_.stations.Delete(request->station_id())) {
      throw RpcError(grpc::StatusCode::NOT_FOUND,
                     "station " + request->station_id() + " not found");
    }
    CSMS_LOG(kInfo, kComponent) << "station " << log::Sanitize(request->station_id()) << " deleted";
  });
}

grpc::Status ControlServiceImpl::AssignCharger(
    grpc::ServerContext*, const csms::control::v1::AssignChargerRequest* request,
    csms::control::v1::AssignChargerResponse* response) {
  return RunRpc("AssignCharger", [&] {
    RequireId(request->charger_id(), "charger_id");
    RequireText(request->station_id(), "station_id", kMaxStationIdLength, true);
    std::string previous = StationWrite([&] {
      return stores_.stations.AssignCharger(request->charger_id(), request->station_id());
    });
    response->set_charger_id(request->charger_id());
    response->set_station_id(request->station_id());
    response->set_previous_station_id(previous);
  });
}

namespace {

// The identity a charger connects with (the last segment of its URL), OCPP identifierString.

void RequireProfile(int profile) {
  if (profile < 0 || profile > 3) {
    throw RpcError(grpc::StatusCode::INVALID_ARGUMENT, "security_profile must be 0, 1, 2 or 3");
  }
}

void FillSecurity(const ChargerCredentials& c, csms::control::v1::ChargerSecurity* out) {
  out->set_charger_id(c.charger_id);
  out->set_security_profile(c.security_profile);
  out->set_approved(c.approved);
  out->set_has_password(!c.password_hash.empty());
}

// Basic auth profiles need a password; the others have no use for one.
void RequirePasswordFits(int profile, bool has_password) {
  const bool basic = profile == 1 || profile == 2;
  if (basic && !has_password) {
    throw RpcError(grpc::StatusCode::INVALID_ARGUMENT,
                   "security_profile " + std::to_string(profile) + " requires a password");
  }
}

}  // namespace

grpc::Status ControlServiceImpl::CreateCharger(
    grpc::ServerContext*, const csms::control::v1::CreateChargerRequest* request,
    csms::control::v1::ChargerSecurity* response) {
  return RunRpc("CreateCharger", [&] {
    RequireStationIdentity(request->charger_id());
    RequireProfile(request->security_profile());
    RequirePasswordFits(request->security_profile(), !request->password().empty());
    ChargerCredentials c{request->charger_id(), request->security_profile(), "",
                         request->approved()};
    if (!request->password().empty()) c.password_hash = HashCheckedPassword(request->password());
    FillSecurity(StationWrite([&] { return stores_.credentials.Create(c); }), response);
    CSMS_LOG(kInfo, kComponent) << "charger " << request->charger_id()
                                << " provisioned with security profile "
                                << request->security_profile()
                                << (request->approved() ? ", approved" : ", not approved");
  });
}

grpc::Status ControlServiceImpl::UpdateChargerSecurity(
    grpc::ServerContext*, const csms::control::v1::UpdateChargerSecurityRequest* request,
    csms::control::v1::ChargerSecurity* response) {
  return RunRpc("UpdateChargerSecurity", [&] {
    RequireStationIdentity(request->charger_id());
    auto current = stores_.credentials.Find(request->charger_id());
    if (!current) {
      throw RpcError(grpc::StatusCode::NOT_FOUND,
                     "charger " + request->charger_id() + " is not provisioned");
    }
    CredentialChanges changes;
    if (request->has_security_profile()) {
      RequireProfile(request->security_profile());
      changes.security_profile = request->security_profile();
    }
    if (request->has_password()) {
      // An empty password removes it (for a move to profile 0 or 3).
      changes.password_hash =
          request->password().empty() ? "" : HashCheckedPassword(request->password());
    }
    if (request->has_approved()) changes.approved = request->approved();
    RequirePasswordFits(
        changes.security_profile.value_or(current->security_profile),
        changes.password_hash ? !changes.password_hash->empty() : !current->password_hash.empty());
    auto updated = stores_.credentials.Update(request->charger_id(), changes);
    if (!updated) {
      throw RpcError(grpc::StatusCode::NOT_FOUND,
                     "charger " + request->charger_id() + " is not provisioned");
    }
    FillSecurity(*updated, response);
    CSMS_LOG(kInfo, kComponent) << "charger " << request->charger_id()
                                << " security updated: profile " << updated->security_profile
                                << (changes.password_hash ? ", password changed" : "")
                                << (updated->approved ? ", approved" : ", not approved");
  });
}

grpc::Status ControlServiceImpl::DeleteCharger(
    grpc::ServerContext*, const csms::control::v1::DeleteChargerRequest* request,
    csms::control::v1::DeleteChargerResponse*) {
  return RunRpc("DeleteCharger", [&] {
    RequireStationIdentity(request->charger_id());
    if (!stores_.credentials.Delete(request->charger_id())) {
      throw RpcError(grpc::StatusCode::NOT_FOUND,
                     "charger " + request->charger_id() + " is not provisioned");
    }
    CSMS_LOG(kInfo, kComponent) << "charger " << request->charger_id() << " deprovisioned";
  });
}

grpc::Status ControlServiceImpl::GetChargerSecurity(
    grpc::ServerContext*, const csms::control::v1::GetChargerSecurityRequest* request,
    csms::control::v1::ChargerSecurity* response) {
  return RunRpc("GetChargerSecurity", [&] {
    RequireStationIdentity(request->charger_id());
    auto credentials = stores_.credentials.Find(request->charger_id());
    if (!credentials) {
      throw RpcError(grpc::StatusCode::NOT_FOUND,
                     "charger " + request->charger_id() + " is not provisioned");
    }
    FillSecurity(*credentials, response);
  });
}

grpc::Status ControlServiceImpl::ListChargerEvents(
    grpc::ServerContext*, const csms::control::v1::ListChargerEventsRequest* request,
    csms::control::v1::ListChargerEventsResponse* response) {
  return RunRpc("ListChargerEvents", [&] {
    const int limit = PageOf(stores_.registry, request->charger_id(), request->limit(), 50, 500);
    EventFilter filter;
    filter.charger_id = request->charger_id();
    filter.kinds.assign(request->kinds().begin(), request->kinds().end());
    filter.type = request->type();
    if (request->has_since()) filter.since = FromProto(request->since());
    EventPage page;
    try {
      page = stores_.events.List(filter, limit, request->cursor());
    } catch (const std::invalid_argument& e) {
      throw RpcError(CommandError(grpc::StatusCode::INVALID_ARGUMENT, "bad_request", e.what()));
    }
    for (auto& e : page.events) *response->add_events() = std::move(e);
    response->set_next_cursor(page.next_cursor);
  });
}

void FillStation(const StationRecord& record, csms::control::v1::Station* out) {
  out->set_station_id(record.station_id);
  out->set_name(record.name);
  out->set_address(record.address);
  out->set_latitude(record.latitude);
  out->set_longitude(record.longitude);
  for (const auto& id : record.charger_ids) out->add_charger_ids(id);
}

void FillCharger(const ChargerRecord& record, bool live, csms::control::v1::Charger* out) {
  const bool active = !record.active_transaction_id.empty();
  StatusInputs inputs{live, active, record.charging_state, {}};
  for (const auto& c : record.connectors) inputs.connector_statuses.push_back(c.status);

  out->set_charger_id(record.charger_id);
  out->set_status(DeriveChargerStatus(inputs));
  out->set_current_power_kw(active ? record.current_power_w / 1000.0 : 0);
  out->set_energy_accumulated_kwh(active ? record.energy_kwh : 0);
  out->set_transaction_id(record.active_transaction_id);
  out->set_connected(live);
  if (record.security_profile) out->set_security_profile(*record.security_profile);
  out->set_vendor(record.vendor);
  out->set_model(record.model);
  out->set_serial_number(record.serial_number);
  out->set_firmware_version(record.firmware_version);
  out->set_registration_status(record.registration_status);
  out->set_gateway_address(record.gateway_address);
  if (record.last_seen) *out->mutable_last_seen() = ToProto(*record.last_seen);
  for (const auto& c : record.connectors) {
    auto* connector = out->add_connectors();
    connector->set_evse_id(c.evse_id);
    connector->set_connector_id(c.connector_id);
    connector->set_status(c.status);
    *connector->mutable_updated_at() = ToProto(c.status_time);
  }
  if (record.charging_limit_w) out->set_charging_limit_kw(*record.charging_limit_w / 1000.0);
  std::vector<int> connector_evses;
  std::vector<std::string> connector_statuses;
  for (const auto& c : record.connectors) {
    connector_evses.push_back(c.evse_id);
    connector_statuses.push_back(c.status);
  }
  for (const EvseView& view :
       DeriveEvseViews(live, connector_evses, connector_statuses, record.live_transactions)) {
    auto* evse = out->add_evses();
    evse->set_evse_id(view.evse_id);
    evse->set_status(view.status);
    evse->set_current_power_kw(view.power_w / 1000.0);
    evse->set_energy_accumulated_kwh(view.energy_kwh);
    evse->set_transaction_id(view.transaction_id);
  }
  out->set_station_id(record.station_id);
}

}  // namespace csms::control
