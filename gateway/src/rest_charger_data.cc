#include "csms/gateway/rest_charger_data.h"

#include <nlohmann/json.hpp>
#include <variant>

#include "csms/common/grpc_async.h"
#include "csms/common/time_util.h"
#include "csms/gateway/rest_commands.h"
#include "csms/gateway/rest_request.h"

namespace csms::gateway {
namespace {

using nlohmann::json;
namespace v1 = control::v1;

constexpr std::chrono::milliseconds kQueryTimeout{5000};

HttpResponse Json(int status, const json& body) {
  return HttpResponse{status, body.dump(-1, ' ', false, json::error_handler_t::replace),
                      "application/json"};
}

HttpResponse FromRestError(const RestError& error) {
  return RestApi::Error(error.status, error.code, error.message);
}

// As the command routes answer; a status without their details (NOT_FOUND, INVALID_ARGUMENT)
// still means what it says here: the charger is unknown, a parameter is bad.
HttpResponse FromStatus(const grpc::Status& status) {
  if (status.error_details().empty()) {
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
      return RestApi::Error(404, "unknown_charger", status.error_message());
    }
    if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
      return RestApi::Error(400, "bad_request", status.error_message());
    }
  }
  return RestCommands::FromCommandStatus(status);
}

json Time(bool set, const google::protobuf::Timestamp& t) {
  return set ? json(FormatRfc3339(FromProto(t), /*millis=*/true)) : json(nullptr);
}

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
        if (!status.ok()) return respond(FromStatus(status));
        json events = json::array();
        for (const auto& e : response.events()) events.push_back(EventJson(e));
        respond(Json(200, json{{"events", std::move(events)},
                               {"next_cursor", response.next_cursor().empty()
                                                   ? json(nullptr)
                                                   : json(response.next_cursor())}}));
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
  return false;
}

}  // namespace csms::gateway
