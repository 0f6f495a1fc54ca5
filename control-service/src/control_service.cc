#include "csms/control/control_service.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string_view>

#include "csms/common/log.h"
#include "csms/control/password_hash.h"
#include "csms/control/rpc_status.h"

namespace csms::control {
namespace {

constexpr const char* kComponent = "control";

void RequireId(const std::string& value, const char* field) {
  if (value.empty()) {
    throw RpcError(grpc::StatusCode::INVALID_ARGUMENT, std::string(field) + " is required");
  }
  if (value.size() > kMaxOcppIdLength) {
    throw RpcError(
        grpc::StatusCode::INVALID_ARGUMENT,
        std::string(field) + " is longer than " + std::to_string(kMaxOcppIdLength) + " characters");
  }
}

RpcError Refused(const std::string& charger_id, const std::string& action,
                 const CommandAnswer& answer) {
  std::string message = "charger " + charger_id + " rejected " + action;
  if (!answer.reason.empty()) message += ": " + answer.reason;
  return RpcError(grpc::StatusCode::FAILED_PRECONDITION, message);
}

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
  } catch (const StationError& e) {
    throw RpcError(e.kind == StationError::Kind::kNotFound ? grpc::StatusCode::NOT_FOUND
                                                           : grpc::StatusCode::ALREADY_EXISTS,
                   e.what());
  }
}

}  // namespace

ControlServiceImpl::ControlServiceImpl(ControlStore& store, ChargerLinkClient& link,
                                       EventWaiter& waiter,
                                       std::chrono::milliseconds command_timeout)
    : store_(store),
      link_(link),
      waiter_(waiter),
      command_timeout_(command_timeout),
      access_(store) {}

ControlServiceImpl::Deadline ControlServiceImpl::CommandDeadline(
    const grpc::ServerContext& context) const {
  // The caller's own deadline, when shorter, is the one that counts.
  auto budget = command_timeout_;
  auto client_left = std::chrono::duration_cast<std::chrono::milliseconds>(
      context.deadline() - std::chrono::system_clock::now());
  if (client_left < budget) budget = std::max(client_left, std::chrono::milliseconds(0));
  return std::chrono::steady_clock::now() + budget;
}

ChargerRecord ControlServiceImpl::RequireCharger(const std::string& charger_id) {
  return access_.Require(charger_id);
}

bool ControlServiceImpl::IsLive(const ChargerRecord& charger) const {
  return access_.IsLive(charger);
}

void ControlServiceImpl::RequireReachable(const ChargerRecord& charger) const {
  access_.RequireReachable(charger);
}

CommandAnswer ControlServiceImpl::Send(const ChargerRecord& charger, const std::string& action,
                                       const nlohmann::json& payload, Deadline deadline) {
  LinkReply reply =
      link_.Call(charger.gateway_address, charger.charger_id, action, payload, deadline);
  if (!reply.call_error) return ReadCommandAnswer(reply.result);
  CommandAnswer answer;
  answer.status = "CALLERROR";
  answer.reason = reply.error_code;
  if (!reply.error_description.empty()) answer.reason += ": " + reply.error_description;
  return answer;
}

void ControlServiceImpl::AwaitEvent(grpc::ServerContext& context, Deadline deadline,
                                    const std::string& what, const std::function<bool()>& done) {
  if (waiter_.WaitUntil(deadline, done, [&] { return context.IsCancelled(); })) return;
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(command_timeout_).count();
  throw RpcError(
      grpc::StatusCode::DEADLINE_EXCEEDED,
      "charger accepted but sent no " + what + " within " + std::to_string(seconds) + " s");
}

grpc::Status ControlServiceImpl::StartTransaction(
    grpc::ServerContext* context, const csms::control::v1::StartTransactionRequest* request,
    csms::control::v1::StartTransactionResponse* response) {
  return RunRpc("StartTransaction", [&] {
    const Deadline deadline = CommandDeadline(*context);
    const std::string& charger_id = request->charger_id();
    RequireId(request->id_token(), "id_token");
    if (request->evse_id() < 0 || request->connector_id() < 0) {
      throw RpcError(grpc::StatusCode::INVALID_ARGUMENT, "evse_id and connector_id must be >= 0");
    }
    // evseId must be > 0 in RequestStartTransaction; 0 means "not given".
    const int evse_id = request->evse_id() == 0 ? 1 : request->evse_id();
    ChargerRecord charger = RequireCharger(charger_id);
    RequireReachable(charger);

    const int64_t remote_start_id =
        store_.CreateRemoteStart(charger_id, evse_id, request->id_token());
    const std::string action = "RequestStartTransaction";
    CommandAnswer answer;
    try {
      answer = Send(charger, action,
                    BuildRequestStartTransaction(request->id_token(), remote_start_id, evse_id),
                    deadline);
    } catch (const RpcError&) {
      store_.SetRemoteStartStatus(remote_start_id, remote_start_status::kFailed);
      throw;
    }
    if (!answer.accepted) {
      store_.SetRemoteStartStatus(remote_start_id, remote_start_status::kRejected);
      throw Refused(charger_id, action, answer);
    }

    std::string transaction_id = answer.transaction_id;
    if (!transaction_id.empty()) {
      // The EVSE already had a transaction (cable first, F01.FR.13): that one is ours.
      store_.SetRemoteStartTransaction(remote_start_id, transaction_id);
    } else {
      store_.SetRemoteStartStatus(remote_start_id, remote_start_status::kAccepted);
      try {
        AwaitEvent(*context, deadline, "TransactionEvent Started", [&] {
          transaction_id = store_.RemoteStartTransaction(remote_start_id);
          return !transaction_id.empty();
        });
      } catch (const RpcError&) {
        store_.SetRemoteStartStatus(remote_start_id, remote_start_status::kTimedOut);
        throw;
      }
    }
    CSMS_LOG(kInfo, kComponent) << "charger " << log::Sanitize(charger_id)
                                << " started transaction " << log::Sanitize(transaction_id)
                                << " (remoteStartId " << remote_start_id << ")";
    response->set_charger_id(charger_id);
    response->set_transaction_id(transaction_id);
    response->set_remote_start_id(remote_start_id);
  });
}

grpc::Status ControlServiceImpl::StopTransaction(
    grpc::ServerContext* context, const csms::control::v1::StopTransactionRequest* request,
    csms::control::v1::StopTransactionResponse* response) {
  return RunRpc("StopTransaction", [&] {
    const Deadline deadline = CommandDeadline(*context);
    const std::string& charger_id = request->charger_id();
    const std::string& transaction_id = request->transaction_id();
    ChargerRecord charger = RequireCharger(charger_id);
    RequireId(transaction_id, "transaction_id");
    // A stop for a transaction that already ended answers with its figures, even once the
    // charger has gone offline: retrying a stop is safe.
    auto transaction = store_.FindTransaction(charger_id, transaction_id);
    if (!transaction) {
      throw RpcError(grpc::StatusCode::NOT_FOUND,
                     "transaction " + transaction_id + " is not known on charger " + charger_id);
    }
    if (!transaction->ended) {
      RequireReachable(charger);
      const std::string action = "RequestStopTransaction";
      CommandAnswer answer =
          Send(charger, action, BuildRequestStopTransaction(transaction_id), deadline);
      if (!answer.accepted) throw Refused(charger_id, action, answer);
      AwaitEvent(*context, deadline, "TransactionEvent Ended", [&] {
        transaction = store_.FindTransaction(charger_id, transaction_id);
        return transaction && transaction->ended;
      });
      CSMS_LOG(kInfo, kComponent) << "charger " << log::Sanitize(charger_id)
                                  << " stopped transaction " << log::Sanitize(transaction_id);
    }
    response->set_transaction_id(transaction_id);
    response->set_energy_consumed_kwh(transaction->energy_kwh);
    response->set_cost(transaction->cost);
    response->set_currency(transaction->currency);
  });
}

grpc::Status ControlServiceImpl::SetChargingLimit(
    grpc::ServerContext* context, const csms::control::v1::SetChargingLimitRequest* request,
    csms::control::v1::SetChargingLimitResponse* response) {
  return RunRpc("SetChargingLimit", [&] {
    const Deadline deadline = CommandDeadline(*context);
    const std::string& charger_id = request->charger_id();
    const double kw = request->max_power_kw();
    if (!std::isfinite(kw) || kw <= 0) {
      throw RpcError(grpc::StatusCode::INVALID_ARGUMENT, "max_power_kw must be a positive number");
    }
    ChargerRecord charger = RequireCharger(charger_id);
    RequireReachable(charger);
    const double limit_w = KilowattsToWatts(kw);
    const std::string action = "SetChargingProfile";
    CommandAnswer answer =
        Send(charger, action, BuildStationMaxProfile(limit_w, clock_.Now()), deadline);
    store_.RecordChargingProfile(charger_id, kStationMaxProfileId, 0, kStationMaxProfilePurpose,
                                 limit_w, answer.status, answer.accepted);
    if (!answer.accepted) throw Refused(charger_id, action, answer);
    CSMS_LOG(kInfo, kComponent) << "charger " << log::Sanitize(charger_id) << " limited to "
                                << limit_w << " W";
    response->set_charger_id(charger_id);
    response->set_current_power_kw(limit_w / 1000.0);
    response->set_charging_profile_id(kStationMaxProfileId);
  });
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
    for (const auto& record : store_.ListChargers()) {
      FillCharger(record, IsLive(record), response->add_chargers());
    }
  });
}

grpc::Status ControlServiceImpl::ListStations(grpc::ServerContext*,
                                              const csms::control::v1::ListStationsRequest*,
                                              csms::control::v1::ListStationsResponse* response) {
  return RunRpc("ListStations", [&] {
    for (const auto& record : store_.ListStations()) FillStation(record, response->add_stations());
  });
}

grpc::Status ControlServiceImpl::GetStation(grpc::ServerContext*,
                                            const csms::control::v1::GetStationRequest* request,
                                            csms::control::v1::Station* response) {
  return RunRpc("GetStation", [&] {
    RequireText(request->station_id(), "station_id", kMaxStationIdLength, false);
    auto station = store_.FindStation(request->station_id());
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
    FillStation(StationWrite([&] { return store_.CreateStation(station); }), response);
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
    FillStation(StationWrite([&] { return store_.UpdateStation(request->station_id(), changes); }),
                response);
  });
}

grpc::Status ControlServiceImpl::DeleteStation(
    grpc::ServerContext*, const csms::control::v1::DeleteStationRequest* request,
    csms::control::v1::DeleteStationResponse*) {
  return RunRpc("DeleteStation", [&] {
    RequireText(request->station_id(), "station_id", kMaxStationIdLength, false);
    if (!store_.DeleteStation(request->station_id())) {
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
    std::string previous = StationWrite(
        [&] { return store_.AssignCharger(request->charger_id(), request->station_id()); });
    response->set_charger_id(request->charger_id());
    response->set_station_id(request->station_id());
    response->set_previous_station_id(previous);
  });
}

namespace {

// The identity a charger connects with (the last segment of its URL), OCPP identifierString.
void RequireStationIdentity(const std::string& id) {
  constexpr size_t kMaxIdentity = 48;
  if (id.empty() || id.size() > kMaxIdentity || !std::all_of(id.begin(), id.end(), [](char ch) {
        auto c = static_cast<unsigned char>(ch);
        return std::isalnum(c) || std::string_view("*-_=:+|@.").find(ch) != std::string::npos;
      })) {
    throw RpcError(grpc::StatusCode::INVALID_ARGUMENT,
                   "charger_id must be 1 to 48 characters of a-z A-Z 0-9 * - _ = : + | @ .");
  }
}

void RequireProfile(int profile) {
  if (profile < 0 || profile > 3) {
    throw RpcError(grpc::StatusCode::INVALID_ARGUMENT, "security_profile must be 0, 1, 2 or 3");
  }
}

std::string HashCheckedPassword(const std::string& password) {
  if (std::string problem = CheckPasswordRules(password); !problem.empty()) {
    throw RpcError(grpc::StatusCode::INVALID_ARGUMENT, problem);
  }
  return HashPassword(password);
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
    FillSecurity(StationWrite([&] { return store_.CreateCredentials(c); }), response);
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
    auto current = store_.FindCredentials(request->charger_id());
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
    auto updated = store_.UpdateCredentials(request->charger_id(), changes);
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
    if (!store_.DeleteCredentials(request->charger_id())) {
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
    auto credentials = store_.FindCredentials(request->charger_id());
    if (!credentials) {
      throw RpcError(grpc::StatusCode::NOT_FOUND,
                     "charger " + request->charger_id() + " is not provisioned");
    }
    FillSecurity(*credentials, response);
  });
}

namespace {

// 40 characters of OCPP's passwordString set from the CSPRNG: the longest a station must take.
std::string RandomStationPassword() {
  static constexpr std::string_view kAlphabet =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789*-_=:+|@.";
  std::string password;
  while (password.size() < 40) {
    unsigned char bytes[64];
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
      throw RpcError(grpc::StatusCode::INTERNAL, "no random bytes for a password");
    }
    for (unsigned char b : bytes) {
      // Rejection sampling keeps every character equally likely (256 is not a multiple of 71).
      if (b < 256 - 256 % kAlphabet.size() && password.size() < 40) {
        password += kAlphabet[b % kAlphabet.size()];
      }
    }
  }
  return password;
}

// SetVariables' answer for its single entry: "Accepted", or what the charger said instead.
std::string SetVariableStatus(const nlohmann::json& result) {
  auto results = result.find("setVariableResult");
  if (results == result.end() || !results->is_array() || results->size() != 1 ||
      !(*results)[0].is_object()) {
    return "an unexpected answer";
  }
  auto status = (*results)[0].find("attributeStatus");
  return status != (*results)[0].end() && status->is_string() ? status->get<std::string>()
                                                              : "an unexpected answer";
}

}  // namespace

grpc::Status ControlServiceImpl::RotateChargerPassword(
    grpc::ServerContext* context, const csms::control::v1::RotateChargerPasswordRequest* request,
    csms::control::v1::RotateChargerPasswordResponse* response) {
  return RunRpc("RotateChargerPassword", [&] {
    const Deadline deadline = CommandDeadline(*context);
    const std::string& charger_id = request->charger_id();
    RequireStationIdentity(charger_id);
    auto credentials = store_.FindCredentials(charger_id);
    if (!credentials) {
      throw RpcError(grpc::StatusCode::NOT_FOUND, "charger " + charger_id + " is not provisioned");
    }
    if (credentials->security_profile != 1 && credentials->security_profile != 2) {
      throw RpcError(grpc::StatusCode::FAILED_PRECONDITION,
                     "charger " + charger_id + " uses security profile " +
                         std::to_string(credentials->security_profile) + ", which has no password");
    }
    ChargerRecord charger = RequireCharger(charger_id);
    RequireReachable(charger);
    const std::string password =
        request->password().empty() ? RandomStationPassword() : request->password();
    const std::string new_hash = HashCheckedPassword(password);
    // Stored before it is sent: the charger may reconnect with it before its answer reaches us.
    // The old one stays valid for the grace period in case the answer never comes.
    if (!store_.RotatePassword(charger_id, new_hash, password_grace_)) {
      throw RpcError(grpc::StatusCode::FAILED_PRECONDITION,
                     "charger " + charger_id + " is no longer on a password profile");
    }
    const nlohmann::json payload = {{"setVariableData",
                                     {{{"attributeValue", password},
                                       {"component", {{"name", "SecurityCtrlr"}}},
                                       {"variable", {{"name", "BasicAuthPassword"}}}}}}};
    // A call that fails (not delivered, no answer) throws: the charger may or may not have the
    // new password, so both stay valid until the grace period ends.
    LinkReply reply =
        link_.Call(charger.gateway_address, charger_id, "SetVariables", payload, deadline);
    const std::string status =
        reply.call_error ? "CALLERROR " + reply.error_code : SetVariableStatus(reply.result);
    if (status != "Accepted") {
      store_.RevertPassword(charger_id, new_hash);
      throw RpcError(grpc::StatusCode::FAILED_PRECONDITION,
                     "charger " + charger_id + " did not take the new password (" +
                         log::Sanitize(status, 80) + "); the old one stays");
    }
    CSMS_LOG(kInfo, kComponent) << "charger " << log::Sanitize(charger_id)
                                << " took a new password; the old one is valid for "
                                << password_grace_.count() << " s more";
    response->set_status(status);
    *response->mutable_previous_valid_until() = ToProto(clock_.Now() + password_grace_);
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
  out->set_station_id(record.station_id);
}

}  // namespace csms::control
