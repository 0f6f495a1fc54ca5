#include "csms/gateway/rest_api.h"

#include <charconv>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "csms/common/grpc_async.h"
#include "csms/common/log.h"
#include "csms/common/metrics.h"
#include "csms/common/time_util.h"
#include "csms/embedded/openapi_document.h"
#include "csms/gateway/dashboard_assets.h"
#include "csms/gateway/dashboard_json.h"
#include "csms/gateway/rest_alerts.h"
#include "csms/gateway/rest_charger_data.h"
#include "csms/gateway/rest_commands.h"
#include "csms/gateway/rest_json.h"
#include "csms/gateway/rest_log_uploads.h"
#include "csms/gateway/rest_request.h"
#include "csms/gateway/rest_reservations.h"
#include "csms/gateway/rest_tariffs.h"
#include "csms/gateway/rest_tokens.h"

namespace csms::gateway {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

// Start and stop wait for the charger's TransactionEvent (up to 30 s in control).
constexpr milliseconds kCommandTimeout{35000};
constexpr milliseconds kQueryTimeout{5000};

using rest::Json;

HttpResponse FromGrpcError(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
      return RestApi::Error(400, "bad_request", status.error_message());
    case grpc::StatusCode::NOT_FOUND:
      return RestApi::Error(404, "not_found", status.error_message());
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::ALREADY_EXISTS:
      return RestApi::Error(409, "conflict", status.error_message());
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return RestApi::Error(
          504, "timeout",
          status.error_message().empty() ? "no answer in time" : status.error_message());
    case grpc::StatusCode::UNAVAILABLE:
      return RestApi::Error(503, "unavailable", "backend unavailable: " + status.error_message());
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return RestApi::Error(429, "busy", status.error_message());
    case grpc::StatusCode::PERMISSION_DENIED:
      return RestApi::Error(403, "forbidden", status.error_message());
    default:
      return RestApi::Error(500, "internal", status.error_message());
  }
}

// Money and energy as the seed prints them: 3825 rather than 3825.0 when whole.
json Amount(double value) {
  double rounded = std::round(value * 1000.0) / 1000.0;
  if (rounded == std::floor(rounded) && std::fabs(rounded) < 1e15) {
    return static_cast<int64_t>(rounded);
  }
  return rounded;
}

json Kilo(double value) { return std::round(value * 1000.0) / 1000.0; }

HttpResponse FromRestError(const RestError& error) {
  return RestApi::Error(error.status, error.code, error.message);
}

using rest::TextOrNull;

json ChargerJson(const control::v1::Charger& c) {
  json evses = json::array();
  for (const auto& e : c.evses()) {
    evses.push_back({{"evse_id", e.evse_id()},
                     {"status", e.status()},
                     {"current_power", Kilo(e.current_power_kw())},
                     {"energy_accumulated", Kilo(e.energy_accumulated_kwh())},
                     {"transaction_id",
                      e.transaction_id().empty() ? json(nullptr) : json(e.transaction_id())}});
  }
  return json{
      {"charger_id", c.charger_id()},
      {"status", c.status()},
      {"current_power", Kilo(c.current_power_kw())},
      {"energy_accumulated", Kilo(c.energy_accumulated_kwh())},
      {"transaction_id", c.transaction_id().empty() ? json(nullptr) : json(c.transaction_id())},
      {"connected", c.connected()},
      // Beyond the seed's fields: what the charger said at boot, and how it is provisioned.
      {"vendor", TextOrNull(c.vendor())},
      {"model", TextOrNull(c.model())},
      {"serial_number", TextOrNull(c.serial_number())},
      {"firmware_version", TextOrNull(c.firmware_version())},
      {"registration_status", TextOrNull(c.registration_status())},
      {"last_seen",
       c.has_last_seen() ? json(FormatRfc3339(FromProto(c.last_seen()))) : json(nullptr)},
      {"station_id", TextOrNull(c.station_id())},
      {"security_profile", c.has_security_profile() ? json(c.security_profile()) : json(nullptr)},
      // Each EVSE (issue 16): the fields above describe the most recently started transaction.
      {"evses", std::move(evses)}};
}

json SessionJson(const billing::v1::Session& s) {
  json j{
      {"transaction_id", s.transaction_id()},
      {"charger_id", s.charger_id()},
      {"station_id", s.station_id().empty() ? json(nullptr) : json(s.station_id())},
      {"user_id", s.user_id().empty() ? json(nullptr) : json(s.user_id())},
      {"start_time",
       s.has_start_time() ? json(FormatRfc3339(FromProto(s.start_time()))) : json(nullptr)},
      {"end_time", s.has_end_time() ? json(FormatRfc3339(FromProto(s.end_time()))) : json(nullptr)},
      {"energy_consumed", Kilo(s.energy_consumed_kwh())},
      {"cost", Amount(s.cost())},
      {"currency", s.currency()},
      {"status", s.ended() ? "ended" : "active"},
      {"stop_reason", s.stop_reason().empty() ? json(nullptr) : json(s.stop_reason())}};
  if (s.has_meter_start_wh()) j["meter_start_wh"] = s.meter_start_wh();
  if (s.has_meter_stop_wh()) j["meter_stop_wh"] = s.meter_stop_wh();
  // The token that authorized the session and the CSMS's decision on it (issue 14).
  j["id_token_type"] = s.id_token_type().empty() ? json(nullptr) : json(s.id_token_type());
  j["account_id"] = s.account_id().empty() ? json(nullptr) : json(s.account_id());
  j["authorization"] =
      s.authorization_status().empty() && !s.authorization_flagged()
          ? json(nullptr)
          : json{{"status", s.authorization_status()},
                 {"flagged", s.authorization_flagged()},
                 {"reason", s.authorization_reason().empty() ? json(nullptr)
                                                             : json(s.authorization_reason())}};
  // Readings billing did not bill (issue 16) and whether an operator should look.
  j["implausible_readings"] = s.implausible_readings();
  j["needs_review"] = s.needs_review();
  j["review_reason"] = s.review_reason().empty() ? json(nullptr) : json(s.review_reason());
  // How the cost was made (tariffs): the version that priced it (null: billing's
  // --price-per-kwh), the cost exactly in minor units, and its parts in currency units.
  j["tariff_id"] = TextOrNull(s.tariff_id());
  j["tariff_version"] = s.tariff_version() == 0 ? json(nullptr) : json(s.tariff_version());
  j["cost_minor"] = s.cost_minor();
  if (s.has_cost_breakdown()) {
    const auto& b = s.cost_breakdown();
    auto units = [](int64_t micros) { return static_cast<double>(micros) / 1e6; };
    j["cost_breakdown"] = json{{"energy", units(b.energy_micros())},
                               {"charging_time", units(b.charging_time_micros())},
                               {"idle", units(b.idle_micros())},
                               {"session_fee", units(b.session_fee_micros())},
                               {"min_max_adjustment", units(b.min_max_adjustment_micros())},
                               {"tax", units(b.tax_micros())},
                               {"prices_exclude_tax", b.prices_exclude_tax()},
                               {"charging_seconds", static_cast<double>(b.charging_ms()) / 1000.0},
                               {"idle_seconds", static_cast<double>(b.idle_ms()) / 1000.0}};
  } else {
    j["cost_breakdown"] = nullptr;  // a session billing has not priced by parts
  }
  return j;
}

template <typename Response>
std::function<void(const grpc::Status&, const Response&)> Reply(
    std::function<void(HttpResponse)> respond, std::function<json(const Response&)> render) {
  return [respond = std::move(respond), render = std::move(render)](const grpc::Status& status,
                                                                    const Response& response) {
    respond(status.ok() ? Json(200, render(response)) : FromGrpcError(status));
  };
}

}  // namespace

HttpResponse RestApi::Error(int status, const std::string& code, const std::string& message) {
  return Json(status, json{{"status", "error"}, {"error", code}, {"message", message}});
}

RestApi::RestApi(std::shared_ptr<grpc::Channel> control, std::shared_ptr<grpc::Channel> billing)
    : control_(control::v1::ControlService::NewStub(control)),
      billing_(billing::v1::BillingService::NewStub(billing)),
      commands_(std::make_unique<RestCommands>(control)),
      charger_data_(std::make_unique<RestChargerData>(control)),
      alerts_(std::make_unique<RestAlerts>(control)),
      log_uploads_(std::make_unique<RestLogUploads>(control)),
      tokens_(std::make_unique<RestTokens>(control)),
      reservations_(std::make_unique<RestReservations>(control)),
      tariffs_(std::make_unique<RestTariffs>(control, billing)) {}

RestApi::~RestApi() = default;

void RestApi::Handle(const HttpRequest& request, std::function<void(HttpResponse)> respond) {
  std::string path = request.target;
  std::string query;
  if (auto q = path.find('?'); q != std::string::npos) {
    query = path.substr(q + 1);
    path = path.substr(0, q);
  }
  std::vector<std::string> parts = SplitPath(path);
  for (auto& part : parts) part = PercentDecode(part);
  const std::string& method = request.method;
  auto wrong_method = [&](const char* allowed) {
    respond(Error(405, "method_not_allowed",
                  method + " is not allowed on " + path + " (use " + allowed + ")"));
  };

  if (parts.size() == 1 && parts[0] == "healthz") {
    return respond(Json(200, json{{"status", "ok"}}));
  }
  if (parts.size() == 1 && parts[0] == "openapi.json") {
    if (method != "GET") return wrong_method("GET");
    const auto& document = embedded::openapi_document::Files().front();  // gateway/openapi.json
    return respond(HttpResponse{200, std::string(document.contents), "application/json"});
  }
  if (parts.size() == 1 && parts[0] == "metrics") {
    if (method != "GET") return wrong_method("GET");
    return respond(HttpResponse{200, metrics::Registry::Default().Render(), metrics::kContentType});
  }
  if (parts.size() == 1 && parts[0] == "readyz" && readyz_) {
    return method == "GET" ? readyz_(std::move(respond)) : wrong_method("GET");
  }
  if (method == "GET" && ServeDashboard(path, respond)) return;
  if (!parts.empty() && parts[0] == "stations") {
    if (parts.size() == 1) {
      if (method == "GET") return ListStations(std::move(respond));
      if (method == "POST") return CreateStation(request.body, std::move(respond));
      return wrong_method("GET or POST");
    }
    if (parts.size() == 2) {
      if (method == "GET") return GetStation(parts[1], std::move(respond));
      if (method == "PUT") return UpdateStation(parts[1], request.body, std::move(respond));
      if (method == "DELETE") return DeleteStation(parts[1], std::move(respond));
      return wrong_method("GET, PUT or DELETE");
    }
  }
  if (commands_->Handle(request, parts, query, respond)) return;
  if (charger_data_->Handle(request, parts, query, respond)) return;
  if (alerts_->Handle(request, parts, query, respond)) return;
  if (log_uploads_->Handle(request, parts, query, respond)) return;
  if (tokens_->Handle(request, parts, query, respond)) return;
  if (reservations_->Handle(request, parts, query, respond)) return;
  if (tariffs_->Handle(request, parts, query, respond)) return;
  if (parts.size() == 3 && parts[0] == "chargers" && parts[2] == "station") {
    return method == "PUT" ? AssignCharger(parts[1], request.body, std::move(respond))
                           : wrong_method("PUT");
  }
  if (parts.size() == 3 && parts[0] == "chargers" && parts[2] == "password") {
    return method == "POST" ? RotateChargerPassword(parts[1], request.body, std::move(respond))
                            : wrong_method("POST");
  }
  if (parts.size() == 3 && parts[0] == "chargers" && parts[2] == "security") {
    if (method == "GET") return GetChargerSecurity(parts[1], std::move(respond));
    if (method == "PUT") return ProvisionCharger(parts[1], request.body, std::move(respond));
    return wrong_method("GET or PUT");
  }
  if (!parts.empty() && parts[0] == "chargers") {
    if (parts.size() == 1) {
      if (method == "GET") return ListChargers(std::move(respond));
      if (method == "POST") return ProvisionCharger("", request.body, std::move(respond));
      return wrong_method("GET or POST");
    }
    const std::string& id = parts[1];
    if (parts.size() == 2) {
      if (method == "GET") return GetCharger(id, std::move(respond));
      if (method == "DELETE") return DeleteCharger(id, std::move(respond));
      return wrong_method("GET or DELETE");
    }
    if (parts.size() == 3) {
      if (parts[2] == "start") {
        return method == "POST" ? StartTransaction(id, request.body, std::move(respond))
                                : wrong_method("POST");
      }
      if (parts[2] == "stop") {
        return method == "POST" ? StopTransaction(id, request.body, std::move(respond))
                                : wrong_method("POST");
      }
      if (parts[2] == "power") {
        return method == "PATCH" ? SetPower(id, request.body, std::move(respond))
                                 : wrong_method("PATCH");
      }
      if (parts[2] == "sessions") {
        billing::v1::ListSessionsRequest list;
        list.set_charger_id(id);
        return method == "GET" ? ListSessions(std::move(list), std::move(respond))
                               : wrong_method("GET");
      }
    }
  }
  if (parts.size() == 1 && parts[0] == "sessions") {
    if (method != "GET") return wrong_method("GET");
    // GET /sessions?charger_id=&account_id=&flagged=true&review=true&limit=
    auto params = ParseQuery(query);
    billing::v1::ListSessionsRequest list;
    list.set_charger_id(params["charger_id"]);
    list.set_account_id(params["account_id"]);
    const std::string& flagged = params["flagged"];
    if (flagged != "" && flagged != "true" && flagged != "false") {
      return respond(Error(400, "bad_request", "flagged must be true or false"));
    }
    list.set_flagged_only(flagged == "true");
    const std::string& review = params["review"];
    if (review != "" && review != "true" && review != "false") {
      return respond(Error(400, "bad_request", "review must be true or false"));
    }
    list.set_review_only(review == "true");
    if (const std::string& limit = params["limit"]; !limit.empty()) {
      int value = 0;
      const auto [end, ec] = std::from_chars(limit.data(), limit.data() + limit.size(), value);
      if (ec != std::errc() || end != limit.data() + limit.size() || value < 1 || value > 1000) {
        return respond(Error(400, "bad_request", "limit must be an integer from 1 to 1000"));
      }
      list.set_limit(value);
    }
    return ListSessions(std::move(list), std::move(respond));
  }
  if (parts.size() == 2 && parts[0] == "sessions") {
    return method == "GET"
               ? GetSession(parts[1], ParseQuery(query)["charger_id"], std::move(respond))
               : wrong_method("GET");
  }
  if (parts.size() == 2 && parts[0] == "stats" && parts[1] == "daily") {
    return method == "GET" ? GetDailyStats(query, std::move(respond)) : wrong_method("GET");
  }
  respond(Error(404, "not_found", "no such endpoint: " + method + " " + path));
}

void RestApi::SetDashboardConfig(const std::string& tile_url, const std::string& tile_attribution) {
  dashboard_config_ = json{{"tile_url", tile_url}, {"tile_attribution", tile_attribution}}.dump(
      -1, ' ', false, json::error_handler_t::replace);
}

bool RestApi::ServeDashboard(const std::string& path, Respond& respond) {
  if (path == "/dashboard/config.json") {
    respond(HttpResponse{200, dashboard_config_, "application/json"});
    return true;
  }
  auto asset = FindDashboardAsset(path);
  if (!asset) return false;
  respond(
      HttpResponse{200, std::string(asset->contents), asset->content_type, asset->cache_control});
  return true;
}

void RestApi::ListStations(Respond respond) {
  CallUnaryAsync<control::v1::ListStationsRequest, control::v1::ListStationsResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->ListStations(ctx, req, resp, std::move(cb));
      },
      control::v1::ListStationsRequest(), kQueryTimeout,
      Reply<control::v1::ListStationsResponse>(std::move(respond),
                                               [](const control::v1::ListStationsResponse& r) {
                                                 json stations = json::array();
                                                 for (const auto& s : r.stations())
                                                   stations.push_back(StationJson(s));
                                                 return json{{"stations", stations}};
                                               }));
}

void RestApi::GetStation(const std::string& station_id, Respond respond) {
  control::v1::GetStationRequest request;
  request.set_station_id(station_id);
  CallUnaryAsync<control::v1::GetStationRequest, control::v1::Station>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->GetStation(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout,
      Reply<control::v1::Station>(std::move(respond), StationJson));
}

void RestApi::CreateStation(const std::string& body, Respond respond) {
  auto parsed = ParseStationBody(body, /*create=*/true);
  if (const auto* error = std::get_if<RestError>(&parsed)) return respond(FromRestError(*error));
  const auto& in = std::get<StationBody>(parsed);
  control::v1::CreateStationRequest request;
  auto* station = request.mutable_station();
  station->set_station_id(*in.station_id);
  station->set_name(*in.name);
  station->set_address(in.address.value_or(""));
  station->set_latitude(*in.latitude);
  station->set_longitude(*in.longitude);
  for (const auto& id : in.charger_ids.value_or(std::vector<std::string>{})) {
    station->add_charger_ids(id);
  }
  CallUnaryAsync<control::v1::CreateStationRequest, control::v1::Station>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->CreateStation(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout,
      [respond = std::move(respond)](const grpc::Status& status,
                                     const control::v1::Station& created) {
        respond(status.ok() ? Json(201, StationJson(created)) : FromGrpcError(status));
      });
}

void RestApi::UpdateStation(const std::string& station_id, const std::string& body,
                            Respond respond) {
  auto parsed = ParseStationBody(body, /*create=*/false);
  if (const auto* error = std::get_if<RestError>(&parsed)) return respond(FromRestError(*error));
  const auto& in = std::get<StationBody>(parsed);
  if (in.station_id && *in.station_id != station_id) {
    return respond(Error(400, "bad_request", "station_id in the body differs from the path"));
  }
  control::v1::UpdateStationRequest request;
  request.set_station_id(station_id);
  if (in.name) request.set_name(*in.name);
  if (in.address) request.set_address(*in.address);
  if (in.latitude) request.set_latitude(*in.latitude);
  if (in.longitude) request.set_longitude(*in.longitude);
  if (in.charger_ids) {
    request.set_replace_charger_ids(true);
    for (const auto& id : *in.charger_ids) request.add_charger_ids(id);
  }
  CallUnaryAsync<control::v1::UpdateStationRequest, control::v1::Station>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->UpdateStation(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout,
      Reply<control::v1::Station>(std::move(respond), StationJson));
}

void RestApi::DeleteStation(const std::string& station_id, Respond respond) {
  control::v1::DeleteStationRequest request;
  request.set_station_id(station_id);
  CallUnaryAsync<control::v1::DeleteStationRequest, control::v1::DeleteStationResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->DeleteStation(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout,
      Reply<control::v1::DeleteStationResponse>(
          std::move(respond), [station_id](const control::v1::DeleteStationResponse&) {
            return json{{"status", "success"}, {"station_id", station_id}};
          }));
}

namespace {
json SecurityJson(const control::v1::ChargerSecurity& s) {
  return json{{"charger_id", s.charger_id()},
              {"security_profile", s.security_profile()},
              {"approved", s.approved()},
              {"has_password", s.has_password()}};
}
}  // namespace

// POST /chargers (charger_id "" : from the body) creates; PUT /chargers/{id}/security changes
// the fields given. The password is passed on to control and never echoed or logged.
void RestApi::ProvisionCharger(const std::string& charger_id, const std::string& body,
                               Respond respond) {
  json in = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!in.is_object()) return respond(Error(400, "bad_request", "body must be a JSON object"));
  auto field_error = [&](const char* name, const char* type) {
    return Error(400, "bad_request", std::string(name) + " must be " + type);
  };
  for (const auto& [key, value] : in.items()) {
    if (key != "charger_id" && key != "security_profile" && key != "password" &&
        key != "approved") {
      return respond(Error(400, "bad_request", "unknown field " + log::Sanitize(key, 40)));
    }
  }
  std::optional<int> profile;
  std::optional<std::string> password;
  std::optional<bool> approved;
  if (auto it = in.find("security_profile"); it != in.end()) {
    if (!it->is_number_integer()) return respond(field_error("security_profile", "0, 1, 2 or 3"));
    profile = it->get<int>();
  }
  if (auto it = in.find("password"); it != in.end()) {
    if (!it->is_string()) return respond(field_error("password", "a string"));
    password = it->get<std::string>();
  }
  if (auto it = in.find("approved"); it != in.end()) {
    if (!it->is_boolean()) return respond(field_error("approved", "true or false"));
    approved = it->get<bool>();
  }
  if (charger_id.empty()) {
    auto id = in.find("charger_id");
    if (id == in.end() || !id->is_string() || id->get<std::string>().empty()) {
      return respond(Error(400, "bad_request", "charger_id is required"));
    }
    control::v1::CreateChargerRequest request;
    request.set_charger_id(id->get<std::string>());
    request.set_security_profile(profile.value_or(0));
    request.set_password(password.value_or(""));
    request.set_approved(approved.value_or(true));
    return CallUnaryAsync<control::v1::CreateChargerRequest, control::v1::ChargerSecurity>(
        [this](auto* ctx, auto* req, auto* resp, auto cb) {
          control_->async()->CreateCharger(ctx, req, resp, std::move(cb));
        },
        std::move(request), kQueryTimeout,
        [respond = std::move(respond)](const grpc::Status& status,
                                       const control::v1::ChargerSecurity& created) {
          respond(status.ok() ? Json(201, SecurityJson(created)) : FromGrpcError(status));
        });
  }
  if (auto id = in.find("charger_id"); id != in.end() && *id != charger_id) {
    return respond(Error(400, "bad_request", "charger_id in the body differs from the path"));
  }
  control::v1::UpdateChargerSecurityRequest request;
  request.set_charger_id(charger_id);
  if (profile) request.set_security_profile(*profile);
  if (password) request.set_password(*password);
  if (approved) request.set_approved(*approved);
  CallUnaryAsync<control::v1::UpdateChargerSecurityRequest, control::v1::ChargerSecurity>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->UpdateChargerSecurity(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout,
      Reply<control::v1::ChargerSecurity>(std::move(respond), SecurityJson));
}

// Body {} (a random password nobody sees) or {"password": "…"}; the password is never echoed.
void RestApi::RotateChargerPassword(const std::string& charger_id, const std::string& body,
                                    Respond respond) {
  json in = body.empty() ? json::object() : json::parse(body, nullptr, false);
  if (!in.is_object()) return respond(Error(400, "bad_request", "body must be a JSON object"));
  control::v1::RotateChargerPasswordRequest request;
  request.set_charger_id(charger_id);
  for (const auto& [key, value] : in.items()) {
    if (key != "password") {
      return respond(Error(400, "bad_request", "unknown field " + log::Sanitize(key, 40)));
    }
    if (!value.is_string()) return respond(Error(400, "bad_request", "password must be a string"));
    request.set_password(value.get<std::string>());
  }
  CallUnaryAsync<control::v1::RotateChargerPasswordRequest,
                 control::v1::RotateChargerPasswordResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->RotateChargerPassword(ctx, req, resp, std::move(cb));
      },
      std::move(request), kCommandTimeout,
      Reply<control::v1::RotateChargerPasswordResponse>(
          std::move(respond), [charger_id](const control::v1::RotateChargerPasswordResponse& r) {
            return json{
                {"status", "success"},
                {"charger_id", charger_id},
                {"charger_status", r.status()},
                {"previous_valid_until", FormatRfc3339(FromProto(r.previous_valid_until()))}};
          }));
}

void RestApi::GetChargerSecurity(const std::string& charger_id, Respond respond) {
  control::v1::GetChargerSecurityRequest request;
  request.set_charger_id(charger_id);
  CallUnaryAsync<control::v1::GetChargerSecurityRequest, control::v1::ChargerSecurity>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->GetChargerSecurity(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout,
      Reply<control::v1::ChargerSecurity>(std::move(respond), SecurityJson));
}

void RestApi::DeleteCharger(const std::string& charger_id, Respond respond) {
  control::v1::DeleteChargerRequest request;
  request.set_charger_id(charger_id);
  CallUnaryAsync<control::v1::DeleteChargerRequest, control::v1::DeleteChargerResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->DeleteCharger(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout,
      Reply<control::v1::DeleteChargerResponse>(
          std::move(respond), [charger_id](const control::v1::DeleteChargerResponse&) {
            return json{{"status", "success"}, {"charger_id", charger_id}};
          }));
}

void RestApi::AssignCharger(const std::string& charger_id, const std::string& body,
                            Respond respond) {
  auto parsed = ParseAssignBody(body);
  if (const auto* error = std::get_if<RestError>(&parsed)) return respond(FromRestError(*error));
  control::v1::AssignChargerRequest request;
  request.set_charger_id(charger_id);
  request.set_station_id(std::get<AssignBody>(parsed).station_id);
  CallUnaryAsync<control::v1::AssignChargerRequest, control::v1::AssignChargerResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->AssignCharger(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout,
      Reply<control::v1::AssignChargerResponse>(
          std::move(respond), [](const control::v1::AssignChargerResponse& r) {
            auto or_null = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
            return json{{"status", "success"},
                        {"charger_id", r.charger_id()},
                        {"station_id", or_null(r.station_id())},
                        {"previous_station_id", or_null(r.previous_station_id())}};
          }));
}

void RestApi::StartTransaction(const std::string& charger_id, const std::string& body,
                               Respond respond) {
  auto parsed = ParseStartBody(body);
  if (const auto* error = std::get_if<RestError>(&parsed)) return respond(FromRestError(*error));
  const auto& start = std::get<StartBody>(parsed);
  control::v1::StartTransactionRequest request;
  request.set_charger_id(charger_id);
  request.set_id_token(start.id_token);
  request.set_evse_id(start.evse_id);
  request.set_connector_id(start.connector_id);
  CallUnaryAsync<control::v1::StartTransactionRequest, control::v1::StartTransactionResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->StartTransaction(ctx, req, resp, std::move(cb));
      },
      std::move(request), kCommandTimeout,
      Reply<control::v1::StartTransactionResponse>(
          std::move(respond), [](const control::v1::StartTransactionResponse& r) {
            return json{{"status", "success"},
                        {"transaction_id", r.transaction_id()},
                        {"charger_id", r.charger_id()}};
          }));
}

void RestApi::StopTransaction(const std::string& charger_id, const std::string& body,
                              Respond respond) {
  auto parsed = ParseStopBody(body);
  if (const auto* error = std::get_if<RestError>(&parsed)) return respond(FromRestError(*error));
  control::v1::StopTransactionRequest request;
  request.set_charger_id(charger_id);
  request.set_transaction_id(std::get<StopBody>(parsed).transaction_id);
  CallUnaryAsync<control::v1::StopTransactionRequest, control::v1::StopTransactionResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->StopTransaction(ctx, req, resp, std::move(cb));
      },
      std::move(request), kCommandTimeout,
      Reply<control::v1::StopTransactionResponse>(
          std::move(respond), [](const control::v1::StopTransactionResponse& r) {
            return json{{"status", "success"},
                        {"energy_consumed", Kilo(r.energy_consumed_kwh())},
                        {"cost", Amount(r.cost())}};
          }));
}

void RestApi::SetPower(const std::string& charger_id, const std::string& body, Respond respond) {
  auto parsed = ParsePowerBody(body);
  if (const auto* error = std::get_if<RestError>(&parsed)) return respond(FromRestError(*error));
  control::v1::SetChargingLimitRequest request;
  request.set_charger_id(charger_id);
  request.set_max_power_kw(std::get<PowerBody>(parsed).max_power_kw);
  CallUnaryAsync<control::v1::SetChargingLimitRequest, control::v1::SetChargingLimitResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->SetChargingLimit(ctx, req, resp, std::move(cb));
      },
      std::move(request), kCommandTimeout,
      Reply<control::v1::SetChargingLimitResponse>(
          std::move(respond), [](const control::v1::SetChargingLimitResponse& r) {
            return json{{"status", "success"}, {"current_power", Kilo(r.current_power_kw())}};
          }));
}

void RestApi::GetCharger(const std::string& charger_id, Respond respond) {
  control::v1::GetChargerRequest request;
  request.set_charger_id(charger_id);
  CallUnaryAsync<control::v1::GetChargerRequest, control::v1::Charger>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->GetCharger(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout,
      Reply<control::v1::Charger>(std::move(respond), ChargerJson));
}

void RestApi::ListChargers(Respond respond) {
  CallUnaryAsync<control::v1::ListChargersRequest, control::v1::ListChargersResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->ListChargers(ctx, req, resp, std::move(cb));
      },
      control::v1::ListChargersRequest(), kQueryTimeout,
      Reply<control::v1::ListChargersResponse>(std::move(respond),
                                               [](const control::v1::ListChargersResponse& r) {
                                                 json chargers = json::array();
                                                 for (const auto& c : r.chargers())
                                                   chargers.push_back(ChargerJson(c));
                                                 return json{{"chargers", chargers}};
                                               }));
}

void RestApi::GetSession(const std::string& transaction_id, const std::string& charger_id,
                         Respond respond) {
  billing::v1::GetSessionRequest request;
  request.set_transaction_id(transaction_id);
  request.set_charger_id(charger_id);
  CallUnaryAsync<billing::v1::GetSessionRequest, billing::v1::Session>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        billing_->async()->GetSession(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout,
      Reply<billing::v1::Session>(std::move(respond), SessionJson));
}

void RestApi::ListSessions(billing::v1::ListSessionsRequest request, Respond respond) {
  CallUnaryAsync<billing::v1::ListSessionsRequest, billing::v1::ListSessionsResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        billing_->async()->ListSessions(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout,
      Reply<billing::v1::ListSessionsResponse>(std::move(respond),
                                               [](const billing::v1::ListSessionsResponse& r) {
                                                 json sessions = json::array();
                                                 for (const auto& s : r.sessions())
                                                   sessions.push_back(SessionJson(s));
                                                 return json{{"sessions", sessions}};
                                               }));
}

void RestApi::GetDailyStats(const std::string& query, Respond respond) {
  auto params = ParseQuery(query);
  billing::v1::GetDailyStatsRequest request;
  request.set_charger_id(params["charger_id"]);
  request.set_account_id(params["account_id"]);
  request.set_from_date(!params["date"].empty() ? params["date"] : params["from"]);
  request.set_to_date(!params["date"].empty() ? params["date"] : params["to"]);
  CallUnaryAsync<billing::v1::GetDailyStatsRequest, billing::v1::GetDailyStatsResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        billing_->async()->GetDailyStats(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout,
      Reply<billing::v1::GetDailyStatsResponse>(
          std::move(respond), [](const billing::v1::GetDailyStatsResponse& r) {
            json stats = json::array();
            for (const auto& d : r.stats()) {
              stats.push_back(json{{"charger_id", d.charger_id()},
                                   {"date", d.date()},
                                   {"sessions", d.sessions()},
                                   {"total_energy", Kilo(d.total_energy_kwh())},
                                   {"total_revenue", Amount(d.total_revenue())},
                                   {"currency", d.currency()}});
            }
            return json{{"time_zone", r.time_zone()}, {"stats", stats}};
          }));
}

}  // namespace csms::gateway
