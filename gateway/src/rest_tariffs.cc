#include "csms/gateway/rest_tariffs.h"

#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>

#include "csms/common/api_auth.h"
#include "csms/common/grpc_async.h"
#include "csms/common/time_util.h"
#include "csms/gateway/rest_commands.h"
#include "csms/gateway/rest_json.h"

namespace csms::gateway {
namespace {

using nlohmann::json;
namespace bv1 = billing::v1;
namespace cv1 = control::v1;

constexpr std::chrono::milliseconds kQueryTimeout{5000};

using rest::Json;
using rest::TextOrNull;
using rest::Time;

HttpResponse FromError(const RestError& e) { return RestApi::Error(e.status, e.code, e.message); }

// The command routes' mapping (INVALID_ARGUMENT 400 with billing's message naming the field,
// NOT_FOUND 404, UNAVAILABLE 503, ...), plus 409 for a write that lost a race, which it would
// otherwise call internal.
HttpResponse FromStatus(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED:
      return RestApi::Error(409, "conflict", status.error_message());
    default:
      return RestCommands::FromCommandStatus(status);
  }
}

// Tariffs set what drivers pay: writing them needs admin. The HTTP front has already held the
// request to operate; in open mode (no API keys) there is no role and everything is allowed.
std::optional<HttpResponse> RequireAdmin(const HttpRequest& http, const std::string& what) {
  if (http.role.empty()) return std::nullopt;
  auto role = auth::ParseRole(http.role);
  if (role && *role >= auth::Role::kAdmin) return std::nullopt;
  return RestApi::Error(403, "forbidden", what + " needs the admin role (tariffs are money)");
}

json OptionalNumber(bool set, double value) { return set ? json(value) : json(nullptr); }

RestError Bad(const std::string& message) { return RestError{400, "bad_request", message}; }

// Readers of one JSON value into a proto field; null leaves the field unset. The error names
// the field by its path in the body.
std::optional<RestError> Text(const std::string& name, const json& v, std::string* out) {
  if (v.is_null()) return std::nullopt;
  if (!v.is_string()) return Bad(name + " must be a string or null");
  *out = v.get<std::string>();
  return std::nullopt;
}

std::optional<RestError> Number(const std::string& name, const json& v,
                                std::optional<double>* out) {
  if (v.is_null()) return std::nullopt;
  if (!v.is_number()) return Bad(name + " must be a number or null");
  *out = v.get<double>();
  return std::nullopt;
}

std::optional<RestError> Int32(const std::string& name, const json& v,
                               std::optional<int32_t>* out) {
  if (v.is_null()) return std::nullopt;
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int32_t>::min();
  const bool fits = v.is_number_unsigned()  ? v.get<uint64_t>() <= static_cast<uint64_t>(kMax)
                    : v.is_number_integer() ? v.get<int64_t>() >= kMin && v.get<int64_t>() <= kMax
                                            : false;
  if (!fits) return Bad(name + " must be an integer or null");
  *out = static_cast<int32_t>(v.get<int64_t>());
  return std::nullopt;
}

std::optional<RestError> ParsePeriod(const std::string& name, const json& v,
                                     bv1::TariffPeriod* period) {
  if (!v.is_object()) {
    return Bad(name +
               " must be an object {\"weekdays\",\"start_time\",\"end_time\","
               "\"energy_price_per_kwh\",\"charging_price_per_minute\"}");
  }
  for (const auto& [key, value] : v.items()) {
    const std::string field = name + "." + key;
    std::optional<RestError> error;
    std::optional<double> number;
    if (key == "weekdays") {
      if (value.is_null()) continue;
      if (!value.is_array()) return Bad(field + " must be an array of integers (1 Monday to 7)");
      for (size_t i = 0; i < value.size(); ++i) {
        std::optional<int32_t> day;
        const std::string item = field + "[" + std::to_string(i) + "]";
        if (value[i].is_null()) return Bad(item + " must be an integer (1 Monday to 7)");
        if (auto e = Int32(item, value[i], &day)) return e;
        period->add_weekdays(*day);
      }
    } else if (key == "start_time") {
      error = Text(field, value, period->mutable_start_time());
    } else if (key == "end_time") {
      error = Text(field, value, period->mutable_end_time());
    } else if (key == "energy_price_per_kwh") {
      error = Number(field, value, &number);
      if (number) period->set_energy_price_per_kwh(*number);
    } else if (key == "charging_price_per_minute") {
      error = Number(field, value, &number);
      if (number) period->set_charging_price_per_minute(*number);
    } else {
      return Bad(name + " has an unknown field '" + key + "'");
    }
    if (error) return error;
  }
  return std::nullopt;
}

}  // namespace

json TariffJson(const bv1::Tariff& t) {
  json periods = json::array();
  for (const auto& p : t.periods()) {
    periods.push_back(json{
        {"weekdays", json(std::vector<int32_t>(p.weekdays().begin(), p.weekdays().end()))},
        {"start_time", p.start_time()},
        {"end_time", p.end_time()},
        {"energy_price_per_kwh",
         OptionalNumber(p.has_energy_price_per_kwh(), p.energy_price_per_kwh())},
        {"charging_price_per_minute",
         OptionalNumber(p.has_charging_price_per_minute(), p.charging_price_per_minute())},
    });
  }
  return json{
      {"tariff_id", t.tariff_id()},
      {"version", t.version()},
      {"valid_from", Time(t.has_valid_from(), t.valid_from())},
      {"currency", t.currency()},
      {"time_zone", t.time_zone()},
      {"energy_price_per_kwh", t.energy_price_per_kwh()},
      {"charging_price_per_minute", t.charging_price_per_minute()},
      {"idle_price_per_minute", t.idle_price_per_minute()},
      {"idle_grace_minutes", t.idle_grace_minutes()},
      {"session_fee", t.session_fee()},
      {"tax_rate_percent", t.tax_rate_percent()},
      {"prices_exclude_tax", t.prices_exclude_tax()},
      {"min_price", OptionalNumber(t.has_min_price(), t.min_price())},
      {"max_price", OptionalNumber(t.has_max_price(), t.max_price())},
      {"periods", std::move(periods)},
      {"display_text", t.display_text()},
      {"created_at", Time(t.has_created_at(), t.created_at())},
  };
}

json StationTariffJson(const bv1::StationTariff& s) {
  return json{{"station_id", s.station_id()},
              {"tariff_id", TextOrNull(s.tariff_id())},
              {"updated_at", Time(s.has_updated_at(), s.updated_at())}};
}

std::variant<bv1::Tariff, RestError> ParseTariffBody(const std::string& tariff_id,
                                                     const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Bad("the body must be a JSON object");
  bv1::Tariff t;
  t.set_tariff_id(tariff_id);
  for (const auto& [key, v] : j.items()) {
    std::optional<RestError> error;
    std::optional<double> number;
    std::optional<int32_t> integer;
    // Numbers go to the proto only when given: min_price / max_price stay unset for "no bound".
    auto set_number = [&](void (bv1::Tariff::*set)(double)) {
      error = Number(key, v, &number);
      if (number) (t.*set)(*number);
    };
    if (key == "tariff_id") {
      if (v.is_null()) continue;
      if (!v.is_string()) return Bad("tariff_id must be a string or null");
      if (v != tariff_id) return Bad("tariff_id in the body differs from the path");
    } else if (key == "version") {
      error = Int32(key, v, &integer);  // set by billing: ignored
    } else if (key == "created_at") {
      std::string ignored;  // set by billing
      error = Text(key, v, &ignored);
    } else if (key == "valid_from") {
      if (v.is_null()) continue;
      auto at = v.is_string() ? ParseRfc3339(v.get<std::string>()) : std::nullopt;
      if (!at) return Bad("valid_from must be an RFC 3339 time (2026-01-01T00:00:00Z) or null");
      *t.mutable_valid_from() = ToProto(*at);
    } else if (key == "currency") {
      error = Text(key, v, t.mutable_currency());
    } else if (key == "time_zone") {
      error = Text(key, v, t.mutable_time_zone());
    } else if (key == "display_text") {
      error = Text(key, v, t.mutable_display_text());
    } else if (key == "energy_price_per_kwh") {
      set_number(&bv1::Tariff::set_energy_price_per_kwh);
    } else if (key == "charging_price_per_minute") {
      set_number(&bv1::Tariff::set_charging_price_per_minute);
    } else if (key == "idle_price_per_minute") {
      set_number(&bv1::Tariff::set_idle_price_per_minute);
    } else if (key == "session_fee") {
      set_number(&bv1::Tariff::set_session_fee);
    } else if (key == "tax_rate_percent") {
      set_number(&bv1::Tariff::set_tax_rate_percent);
    } else if (key == "min_price") {
      set_number(&bv1::Tariff::set_min_price);
    } else if (key == "max_price") {
      set_number(&bv1::Tariff::set_max_price);
    } else if (key == "idle_grace_minutes") {
      error = Int32(key, v, &integer);
      if (integer) t.set_idle_grace_minutes(*integer);
    } else if (key == "prices_exclude_tax") {
      if (v.is_null()) continue;
      if (!v.is_boolean()) return Bad("prices_exclude_tax must be true, false or null");
      t.set_prices_exclude_tax(v.get<bool>());
    } else if (key == "periods") {
      if (v.is_null()) continue;
      if (!v.is_array()) return Bad("periods must be an array of periods or null");
      for (size_t i = 0; i < v.size(); ++i) {
        if (auto e = ParsePeriod("periods[" + std::to_string(i) + "]", v[i], t.add_periods())) {
          return *e;
        }
      }
    } else {
      return Bad("unknown field '" + key + "'");
    }
    if (error) return *error;
  }
  return t;
}

RestTariffs::RestTariffs(std::shared_ptr<grpc::Channel> control,
                         std::shared_ptr<grpc::Channel> billing)
    : control_(cv1::ControlService::NewStub(control)),
      billing_(bv1::BillingService::NewStub(billing)) {}

void RestTariffs::Put(const HttpRequest& http, const std::string& tariff_id, Respond respond) {
  if (auto refused = RequireAdmin(http, "PUT /tariffs/{id}")) return respond(*refused);
  auto parsed = ParseTariffBody(tariff_id, http.body);
  if (auto* error = std::get_if<RestError>(&parsed)) return respond(FromError(*error));
  bv1::PutTariffRequest request;
  *request.mutable_tariff() = std::move(std::get<bv1::Tariff>(parsed));
  CallUnaryAsync<bv1::PutTariffRequest, bv1::Tariff>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        billing_->async()->PutTariff(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout,
      [respond = std::move(respond)](const grpc::Status& status, const bv1::Tariff& stored) {
        if (!status.ok()) return respond(FromStatus(status));
        respond(Json(201, json{{"status", "success"}, {"tariff", TariffJson(stored)}}));
      },
      RestCommands::OnBehalfOf(http));
}

void RestTariffs::Get(const HttpRequest& http, const std::string& tariff_id,
                      const std::string& query, Respond respond) {
  bv1::GetTariffRequest request;
  request.set_tariff_id(tariff_id);
  if (const std::string version = ParseQuery(query)["version"]; !version.empty()) {
    int32_t n = 0;
    const auto [end, ec] = std::from_chars(version.data(), version.data() + version.size(), n);
    if (ec != std::errc() || end != version.data() + version.size() || n < 1) {
      return respond(RestApi::Error(400, "bad_request", "version must be a positive integer"));
    }
    request.set_version(n);
  }
  CallUnaryAsync<bv1::GetTariffRequest, bv1::Tariff>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        billing_->async()->GetTariff(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout,
      [respond = std::move(respond)](const grpc::Status& status, const bv1::Tariff& tariff) {
        if (!status.ok()) return respond(FromStatus(status));
        respond(Json(200, json{{"tariff", TariffJson(tariff)}}));
      },
      RestCommands::OnBehalfOf(http));
}

void RestTariffs::List(const HttpRequest& http, const std::string& tariff_id, Respond respond) {
  bv1::ListTariffsRequest request;
  request.set_tariff_id(tariff_id);
  CallUnaryAsync<bv1::ListTariffsRequest, bv1::ListTariffsResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        billing_->async()->ListTariffs(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout,
      [respond = std::move(respond)](const grpc::Status& status,
                                     const bv1::ListTariffsResponse& response) {
        if (!status.ok()) return respond(FromStatus(status));
        json tariffs = json::array();
        for (const auto& t : response.tariffs()) tariffs.push_back(TariffJson(t));
        // One page: a network has a handful of tariffs. next_cursor keeps the lists' shape.
        respond(Json(200, json{{"tariffs", std::move(tariffs)}, {"next_cursor", nullptr}}));
      },
      RestCommands::OnBehalfOf(http));
}

void RestTariffs::GetStationTariff(const HttpRequest& http, const std::string& station_id,
                                   Respond respond) {
  bv1::GetStationTariffRequest request;
  request.set_station_id(station_id);
  CallUnaryAsync<bv1::GetStationTariffRequest, bv1::StationTariff>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        billing_->async()->GetStationTariff(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout,
      [respond = std::move(respond)](const grpc::Status& status, const bv1::StationTariff& s) {
        if (!status.ok()) return respond(FromStatus(status));
        respond(Json(200, json{{"station_tariff", StationTariffJson(s)}}));
      },
      RestCommands::OnBehalfOf(http));
}

void RestTariffs::SetStationTariff(const HttpRequest& http, const std::string& station_id,
                                   const std::string& tariff_id, Respond respond) {
  bv1::SetStationTariffRequest request;
  request.set_station_id(station_id);
  request.set_tariff_id(tariff_id);
  auto set = [this, request, metadata = RestCommands::OnBehalfOf(http)](Respond respond) {
    CallUnaryAsync<bv1::SetStationTariffRequest, bv1::StationTariff>(
        [this](auto* ctx, auto* req, auto* resp, auto cb) {
          billing_->async()->SetStationTariff(ctx, req, resp, std::move(cb));
        },
        request, kQueryTimeout,
        [respond = std::move(respond)](const grpc::Status& status, const bv1::StationTariff& s) {
          if (!status.ok()) return respond(FromStatus(status));
          respond(Json(200, json{{"status", "success"}, {"station_tariff", StationTariffJson(s)}}));
        },
        metadata);
  };
  // Going back to the default needs no station (it may be gone already). Billing does not know
  // control's stations: a mistyped station id would hold a tariff that prices nothing.
  if (tariff_id.empty()) return set(std::move(respond));
  cv1::GetStationRequest get;
  get.set_station_id(station_id);
  CallUnaryAsync<cv1::GetStationRequest, cv1::Station>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->GetStation(ctx, req, resp, std::move(cb));
      },
      std::move(get), kQueryTimeout,
      [set = std::move(set), station_id, respond = std::move(respond)](
          const grpc::Status& status, const cv1::Station&) mutable {
        if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
          return respond(RestApi::Error(404, "not_found",
                                        "no station '" + station_id + "' (POST /stations first)"));
        }
        if (!status.ok()) return respond(FromStatus(status));
        set(std::move(respond));
      },
      RestCommands::OnBehalfOf(http));
}

bool RestTariffs::Handle(const HttpRequest& http, const std::vector<std::string>& parts,
                         const std::string& query, Respond& respond) {
  if (parts.empty()) return false;
  const std::string& method = http.method;
  auto wrong_method = [&](const std::string& allowed) {
    respond(RestApi::Error(405, "method_not_allowed",
                           method + " is not allowed here (use " + allowed + ")"));
  };
  if (parts[0] == "stations" && parts.size() == 3 && parts[2] == "tariff") {
    const std::string& station_id = parts[1];
    if (method == "GET") {
      GetStationTariff(http, station_id, std::move(respond));
    } else if (method == "PUT") {
      if (auto refused = RequireAdmin(http, "PUT /stations/{id}/tariff")) {
        respond(*refused);
        return true;
      }
      json body = json::parse(http.body, nullptr, false);
      if (!body.is_object()) {
        respond(RestApi::Error(400, "bad_request", "the body must be {\"tariff_id\":\"...\"}"));
        return true;
      }
      for (const auto& [key, value] : body.items()) {
        if (key != "tariff_id") {
          respond(RestApi::Error(400, "bad_request", "unknown field '" + key + "'"));
          return true;
        }
      }
      auto id = body.find("tariff_id");
      if (id == body.end() || !id->is_string() || id->get<std::string>().empty()) {
        respond(RestApi::Error(
            400, "bad_request",
            "tariff_id must be a non-empty string (DELETE goes back to the default tariff)"));
        return true;
      }
      SetStationTariff(http, station_id, id->get<std::string>(), std::move(respond));
    } else if (method == "DELETE") {
      if (auto refused = RequireAdmin(http, "DELETE /stations/{id}/tariff")) {
        respond(*refused);
        return true;
      }
      SetStationTariff(http, station_id, "", std::move(respond));
    } else {
      wrong_method("GET, PUT or DELETE");
    }
    return true;
  }
  if (parts[0] != "tariffs") return false;
  if (parts.size() == 1) {
    method == "GET" ? List(http, "", std::move(respond)) : wrong_method("GET");
    return true;
  }
  const std::string& tariff_id = parts[1];
  if (parts.size() == 2) {
    if (method == "GET") {
      Get(http, tariff_id, query, std::move(respond));
    } else if (method == "PUT") {
      Put(http, tariff_id, std::move(respond));
    } else {
      wrong_method("GET or PUT");
    }
    return true;
  }
  if (parts.size() == 3 && parts[2] == "versions") {
    method == "GET" ? List(http, tariff_id, std::move(respond)) : wrong_method("GET");
    return true;
  }
  return false;
}

}  // namespace csms::gateway
