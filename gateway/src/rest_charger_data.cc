#include "csms/gateway/rest_charger_data.h"

#include <charconv>
#include <nlohmann/json.hpp>
#include <variant>

#include "csms/common/grpc_async.h"
#include "csms/common/time_util.h"
#include "csms/gateway/rest_commands.h"
#include "csms/gateway/rest_json.h"
#include "csms/gateway/rest_request.h"

namespace csms::gateway {
namespace {

using nlohmann::json;
namespace v1 = control::v1;

constexpr std::chrono::milliseconds kQueryTimeout{5000};
// A live read waits for the charger: longer than control's own command timeout (30 s), as the
// command routes.
constexpr std::chrono::milliseconds kLiveReadTimeout{35000};

using rest::Json;

HttpResponse FromRestError(const RestError& error) {
  return RestApi::Error(error.status, error.code, error.message);
}

using rest::Time;

json EventJson(const v1::ChargerEvent& e) {
  json payload =
      e.payload_json().empty() ? json(nullptr) : json::parse(e.payload_json(), nullptr, false);
  if (payload.is_discarded()) payload = e.payload_json();  // shown as stored, not lost
  return json{
      {"id", e.id()},
      {"kind", e.kind()},
      {"type", e.type()},
      {"received_at", Time(e.has_received_at(), e.received_at())},
      {"occurred_at", Time(e.has_occurred_at(), e.occurred_at())},
      {"evse_id", e.has_evse_id() ? json(e.evse_id()) : json(nullptr)},
      {"connector_id", e.has_connector_id() ? json(e.connector_id()) : json(nullptr)},
      {"request_id", e.has_request_id() ? json(e.request_id()) : json(nullptr)},
      {"client_address", e.client_address().empty() ? json(nullptr) : json(e.client_address())},
      {"payload", std::move(payload)},
  };
}

}  // namespace

json FirmwareJobJson(const v1::FirmwareJob& j) {
  auto text_or_null = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  return json{
      {"job_id", j.job_id()},
      {"charger_id", j.charger_id()},
      {"request_id", j.request_id()},
      {"state", j.state()},
      {"outcome", j.outcome()},
      {"location", j.location()},
      {"retrieve_at", Time(j.has_retrieve_at(), j.retrieve_at())},
      {"install_at", Time(j.has_install_at(), j.install_at())},
      {"signed", j.signed_()},
      {"firmware_version_before", j.firmware_version_before()},
      {"firmware_version_after", text_or_null(j.firmware_version_after())},
      {"requested_by", j.requested_by()},
      {"created_at", Time(j.has_created_at(), j.created_at())},
      {"updated_at", Time(j.has_updated_at(), j.updated_at())},
      {"detail", j.detail()},
  };
}

namespace {

json Optional(bool set, double v) { return set ? json(v) : json(nullptr); }
json Optional(bool set, int v) { return set ? json(v) : json(nullptr); }

// `live`: with the charger's attribute_status and reason_code (null when it gave none).
json VariableJson(const v1::DeviceVariable& v, bool live) {
  auto text_or_null = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  json attributes = json::array();
  for (const auto& a : v.attributes()) {
    json attribute = {{"type", a.type()},
                      {"value", a.has_value() ? json(a.value()) : json(nullptr)},
                      {"secret", a.secret()},
                      {"mutability", a.mutability()},
                      {"persistent", a.persistent()},
                      {"constant", a.constant()},
                      {"source", a.source()},
                      {"updated_at", Time(a.has_updated_at(), a.updated_at())}};
    if (live) {
      attribute["attribute_status"] = text_or_null(a.attribute_status());
      attribute["reason_code"] = text_or_null(a.reason_code());
    }
    attributes.push_back(std::move(attribute));
  }
  return json{{"component", v.component()},
              {"component_instance", v.component_instance()},
              {"evse_id", Optional(v.has_evse_id(), v.evse_id())},
              {"connector_id", Optional(v.has_connector_id(), v.connector_id())},
              {"variable", v.variable()},
              {"variable_instance", v.variable_instance()},
              {"data_type", v.data_type()},
              {"unit", v.unit()},
              {"min_limit", Optional(v.has_min_limit(), v.min_limit())},
              {"max_limit", Optional(v.has_max_limit(), v.max_limit())},
              {"values_list", v.values_list()},
              {"supports_monitoring", v.supports_monitoring()},
              {"attributes", std::move(attributes)}};
}

json ReportJson(bool set, const v1::DeviceModelReport& r) {
  if (!set) return nullptr;
  return json{{"request_id", r.request_id()},
              {"scope", r.scope()},
              {"status", r.status()},
              {"requested_by", r.requested_by()},
              {"requested_at", Time(r.has_requested_at(), r.requested_at())},
              {"parts_received", r.parts_received()},
              {"items_received", r.items_received()},
              {"completed_at", Time(r.has_completed_at(), r.completed_at())}};
}

// A query parameter as an optional integer: nullopt when absent, RestError when not a number.
std::variant<std::optional<int>, RestError> OptionalInt(const std::string& text, const char* name) {
  if (text.empty()) return std::optional<int>();
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) {
    return RestError{400, "bad_request", std::string(name) + " must be a whole number >= 0"};
  }
  return std::optional<int>(value);
}

}  // namespace

RestChargerData::RestChargerData(std::shared_ptr<grpc::Channel> control)
    : control_(v1::ControlService::NewStub(control)) {}

void RestChargerData::ListEvents(const HttpRequest& http, const std::string& charger_id,
                                 const std::string& query, Respond respond) {
  const auto params = ParseQueryList(query);
  auto last = [&params](const std::string& name) {  // a later duplicate wins, as in ParseQuery
    std::string value;
    for (const auto& [key, v] : params) {
      if (key == name) value = v;
    }
    return value;
  };
  v1::ListChargerEventsRequest request;
  request.set_charger_id(charger_id);
  for (auto& kind : QueryValues(params, "kind")) request.add_kinds(std::move(kind));
  request.set_type(last("type"));
  if (const std::string since = last("since"); !since.empty()) {
    auto parsed = ParseQueryTime("since", since);
    if (auto* error = std::get_if<RestError>(&parsed)) return respond(FromRestError(*error));
    *request.mutable_since() = ToProto(std::get<TimePoint>(parsed));
  }
  auto limit = ParseLimit(last("limit"));
  if (auto* error = std::get_if<RestError>(&limit)) return respond(FromRestError(*error));
  request.set_limit(std::get<int>(limit));
  request.set_cursor(last("cursor"));
  CallUnaryAsync<v1::ListChargerEventsRequest, v1::ListChargerEventsResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->ListChargerEvents(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout,
      [respond = std::move(respond)](const grpc::Status& status,
                                     const v1::ListChargerEventsResponse& response) {
        if (!status.ok())
          return respond(RestCommands::FromCommandStatus(status, "unknown_charger"));
        json events = json::array();
        for (const auto& e : response.events()) events.push_back(EventJson(e));
        respond(Json(200, json{{"events", std::move(events)},
                               {"next_cursor", response.next_cursor().empty()
                                                   ? json(nullptr)
                                                   : json(response.next_cursor())}}));
      },
      RestCommands::OnBehalfOf(http));
}

void RestChargerData::ListVariables(const HttpRequest& http, const std::string& charger_id,
                                    const std::string& query, Respond respond) {
  auto params = ParseQuery(query);
  v1::ListVariablesRequest request;
  request.set_charger_id(charger_id);
  request.set_component(params["component"]);
  request.set_component_instance(params["component_instance"]);
  request.set_variable(params["variable"]);
  request.set_variable_instance(params["variable_instance"]);
  request.set_attribute_type(params["type"]);
  request.set_search(params["q"]);
  for (const char* name : {"evse_id", "connector_id"}) {
    auto parsed = OptionalInt(params[name], name);
    if (auto* error = std::get_if<RestError>(&parsed)) return respond(FromRestError(*error));
    if (auto value = std::get<std::optional<int>>(parsed)) {
      std::string_view(name) == "evse_id" ? request.set_evse_id(*value)
                                          : request.set_connector_id(*value);
    }
  }
  if (!params["limit"].empty()) {
    auto limit = OptionalInt(params["limit"], "limit");
    if (auto* error = std::get_if<RestError>(&limit)) return respond(FromRestError(*error));
    request.set_limit(*std::get<std::optional<int>>(limit));
  }
  request.set_cursor(params["cursor"]);
  // live=true: the charger's answer to GetVariables now (operate role, control checks it).
  if (const std::string& live = params["live"]; live == "true") {
    request.set_live(true);
  } else if (!live.empty() && live != "false") {
    return respond(RestApi::Error(400, "bad_request", "live must be true or false"));
  }
  const auto timeout = request.live() ? kLiveReadTimeout : kQueryTimeout;
  CallUnaryAsync<v1::ListVariablesRequest, v1::ListVariablesResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->ListVariables(ctx, req, resp, std::move(cb));
      },
      std::move(request), timeout,
      [respond = std::move(respond), charger_id](const grpc::Status& status,
                                                 const v1::ListVariablesResponse& response) {
        if (!status.ok())
          return respond(RestCommands::FromCommandStatus(status, "unknown_charger"));
        const std::string source = response.source().empty() ? "stored" : response.source();
        json variables = json::array();
        for (const auto& v : response.variables()) {
          variables.push_back(VariableJson(v, source == "live"));
        }
        respond(Json(
            200,
            json{{"charger_id", charger_id},
                 {"source", source},
                 {"last_report", ReportJson(response.has_last_report(), response.last_report())},
                 {"variables", std::move(variables)},
                 {"next_cursor",
                  response.next_cursor().empty() ? json(nullptr) : json(response.next_cursor())}}));
      },
      RestCommands::OnBehalfOf(http));
}

void RestChargerData::ListFirmwareJobs(const HttpRequest& http, const std::string& charger_id,
                                       const std::string& query, Respond respond) {
  auto params = ParseQuery(query);
  v1::ListFirmwareJobsRequest request;
  request.set_charger_id(charger_id);
  if (!params["limit"].empty()) {
    auto limit = OptionalInt(params["limit"], "limit");
    if (auto* error = std::get_if<RestError>(&limit)) return respond(FromRestError(*error));
    request.set_limit(*std::get<std::optional<int>>(limit));
  }
  CallUnaryAsync<v1::ListFirmwareJobsRequest, v1::ListFirmwareJobsResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->ListFirmwareJobs(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout,
      [respond = std::move(respond), charger_id](const grpc::Status& status,
                                                 const v1::ListFirmwareJobsResponse& response) {
        if (!status.ok())
          return respond(RestCommands::FromCommandStatus(status, "unknown_charger"));
        json jobs = json::array();
        for (const auto& j : response.jobs()) jobs.push_back(FirmwareJobJson(j));
        respond(Json(200, json{{"charger_id", charger_id}, {"jobs", std::move(jobs)}}));
      },
      RestCommands::OnBehalfOf(http));
}

bool RestChargerData::Handle(const HttpRequest& http, const std::vector<std::string>& parts,
                             const std::string& query, Respond& respond) {
  if (parts.size() != 3 || parts[0] != "chargers") return false;
  if (parts[2] == "events") {
    if (http.method != "GET") {
      respond(RestApi::Error(405, "method_not_allowed",
                             http.method + " is not allowed here (use GET)"));
    } else {
      ListEvents(http, parts[1], query, std::move(respond));
    }
    return true;
  }
  if (parts[2] == "firmware" && http.method == "GET") {
    ListFirmwareJobs(http, parts[1], query, std::move(respond));
    return true;
  }
  if (parts[2] == "variables") {
    if (http.method != "GET") {
      respond(RestApi::Error(405, "method_not_allowed",
                             http.method + " is not allowed here (use GET)"));
    } else {
      ListVariables(http, parts[1], query, std::move(respond));
    }
    return true;
  }
  return false;
}

}  // namespace csms::gateway
