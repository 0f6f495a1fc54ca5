#include "csms/gateway/rest_commands.h"

#include <google/protobuf/util/json_util.h>

#include <nlohmann/json.hpp>
#include <type_traits>

#include "csms/common/api_auth.h"
#include "csms/common/grpc_async.h"
#include "csms/gateway/rest_charger_data.h"
#include "csms/gateway/rest_json.h"
#include "csms/gateway/rest_request.h"

namespace csms::gateway {
namespace {

using nlohmann::json;
namespace v1 = control::v1;

// Longer than control's own command timeout (30 s), so control reports the timeout itself.
constexpr std::chrono::milliseconds kCommandTimeout{35000};
constexpr std::chrono::milliseconds kQueryTimeout{5000};

using rest::Json;

// A proto message as the REST body shows it: snake_case names, every field present.
json ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string text;
  if (!google::protobuf::util::MessageToJsonString(message, &text, options).ok()) return nullptr;
  return json::parse(text, nullptr, false);
}

int HttpStatusFor(const std::string& error) {
  static const std::pair<const char*, int> kCodes[] = {
      {"unknown_charger", 404},
      {"unknown_action", 404},
      {"use_typed_endpoint", 422},
      {"invalid_payload", 400},
      {"bad_request", 400},
      {"offline", 409},
      {"timeout", 504},
      {"charger_error", 502},
      {"invalid_reply", 502},
      {"forbidden", 403},
      {"unauthorized", 401},
      {"unavailable", 503},
      {"firmware_update_in_progress", 409},
      {"not_found", 404},
      {"not_uploaded", 409},
      {"upload_url_unconfigured", 409},
  };
  for (const auto& [code, status] : kCodes) {
    if (error == code) return status;
  }
  return 500;
}

}  // namespace

HttpResponse RestCommands::FromCommandStatus(const grpc::Status& status,
                                             const std::string& not_found) {
  json details = json::parse(status.error_details(), nullptr, false);
  std::string error = details.is_object() ? details.value("error", "") : "";
  if (error.empty()) {
    // A status without the command API's details (control unreachable, a deadline, a read
    // method's plain status).
    switch (status.error_code()) {
      case grpc::StatusCode::INVALID_ARGUMENT:
        error = "bad_request";
        break;
      case grpc::StatusCode::NOT_FOUND:
        error = not_found;
        break;
      case grpc::StatusCode::UNAVAILABLE:
        error = "unavailable";
        break;
      case grpc::StatusCode::DEADLINE_EXCEEDED:
        error = "timeout";
        break;
      case grpc::StatusCode::UNAUTHENTICATED:
        error = "unauthorized";
        break;
      case grpc::StatusCode::PERMISSION_DENIED:
        error = "forbidden";
        break;
      default:
        error = "internal";
    }
  }
  json body = {{"status", "error"}, {"error", error}, {"message", status.error_message()}};
  if (details.is_object() && details.contains("ocpp_error")) {
    body["ocpp_error"] = details["ocpp_error"];
  }
  return Json(HttpStatusFor(error), body);
}

std::vector<std::pair<std::string, std::string>> RestCommands::OnBehalfOf(const HttpRequest& http) {
  if (http.key_id.empty()) return {};
  return {{auth::kOnBehalfKeyMetadata, http.key_id}, {auth::kOnBehalfRoleMetadata, http.role}};
}

RestCommands::RestCommands(std::shared_ptr<grpc::Channel> control)
    : control_(v1::ControlService::NewStub(control)) {}

template <typename Request, typename Response, typename Start>
void RestCommands::Typed(const HttpRequest& http, const std::string& charger_id, Start start,
                         Respond respond) {
  Request request;
  if (!http.body.empty()) {
    google::protobuf::util::JsonParseOptions options;
    auto parsed = google::protobuf::util::JsonStringToMessage(http.body, &request, options);
    if (!parsed.ok()) {
      return respond(
          RestApi::Error(400, "bad_request",
                         "the body does not fit this command: " + std::string(parsed.message())));
    }
  }
  request.set_charger_id(charger_id);  // the path names the charger
  CallUnaryAsync<Request, Response>(
      std::move(start), std::move(request), kCommandTimeout,
      [respond = std::move(respond)](const grpc::Status& status, const Response& response) {
        if (!status.ok()) return respond(FromCommandStatus(status));
        json out = ToJson(response);
        if constexpr (std::is_same_v<Response, v1::UpdateFirmwareResponse>) {
          out["job"] = FirmwareJobJson(response.job());  // numbers as numbers, unset as null
        }
        respond(Json(200, json{{"status", "success"}, {"response", std::move(out)}}));
      },
      OnBehalfOf(http));
}

void RestCommands::SendOcppCall(const HttpRequest& http, const std::string& charger_id,
                                const std::string& action, Respond respond) {
  v1::SendOcppCallRequest request;
  request.set_charger_id(charger_id);
  request.set_action(action);
  request.set_payload_json(http.body.empty() ? "{}" : http.body);
  CallUnaryAsync<v1::SendOcppCallRequest, v1::SendOcppCallResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->SendOcppCall(ctx, req, resp, std::move(cb));
      },
      std::move(request), kCommandTimeout,
      [respond = std::move(respond)](const grpc::Status& status,
                                     const v1::SendOcppCallResponse& response) {
        if (!status.ok()) return respond(FromCommandStatus(status));
        respond(
            Json(200, json{{"status", "success"},
                           {"response", json::parse(response.response_json(), nullptr, false)}}));
      },
      OnBehalfOf(http));
}

void RestCommands::ListCommands(const HttpRequest& http, const std::string& charger_id,
                                const std::string& query, Respond respond) {
  auto params = ParseQuery(query);
  v1::ListCommandsRequest request;
  request.set_charger_id(charger_id);
  auto limit = ParseLimit(params["limit"]);
  if (auto* error = std::get_if<RestError>(&limit)) {
    return respond(RestApi::Error(error->status, error->code, error->message));
  }
  request.set_limit(std::get<int>(limit));
  request.set_cursor(params["cursor"]);
  CallUnaryAsync<v1::ListCommandsRequest, v1::ListCommandsResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->ListCommands(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout,
      [respond = std::move(respond)](const grpc::Status& status,
                                     const v1::ListCommandsResponse& response) {
        if (!status.ok()) return respond(FromCommandStatus(status));
        json commands = json::array();
        for (const auto& c : response.commands()) {
          json entry = ToJson(c);
          // The OCPP payloads as JSON, not as strings holding JSON.
          entry.erase("request_json");
          entry.erase("response_json");
          entry["request"] = json::parse(c.request_json(), nullptr, false);
          entry["response"] = c.response_json().empty()
                                  ? json(nullptr)
                                  : json::parse(c.response_json(), nullptr, false);
          entry["id"] = c.id();
          commands.push_back(std::move(entry));
        }
        respond(Json(200, json{{"commands", commands},
                               {"next_cursor", response.next_cursor().empty()
                                                   ? json(nullptr)
                                                   : json(response.next_cursor())}}));
      },
      OnBehalfOf(http));
}

bool RestCommands::Handle(const HttpRequest& http, const std::vector<std::string>& parts,
                          const std::string& query, Respond& respond) {
  if (parts.size() < 3 || parts[0] != "chargers") return false;
  const std::string& id = parts[1];
  const std::string& method = http.method;
  auto post_only = [&](auto run) {
    if (method != "POST") {
      respond(
          RestApi::Error(405, "method_not_allowed", method + " is not allowed here (use POST)"));
    } else {
      run();
    }
    return true;
  };
  if (parts.size() == 4 && parts[2] == "ocpp") {
    return post_only([&] { SendOcppCall(http, id, parts[3], std::move(respond)); });
  }
  if (parts.size() != 3) return false;
  const std::string& what = parts[2];
  if (what == "commands") {
    if (method != "GET") {
      respond(RestApi::Error(405, "method_not_allowed", method + " is not allowed here (use GET)"));
    } else {
      ListCommands(http, id, query, std::move(respond));
    }
    return true;
  }
#define CSMS_TYPED_ROUTE(path, Method, Request, Response)             \
  if (what == path) {                                                 \
    return post_only([&] {                                            \
      Typed<v1::Request, v1::Response>(                               \
          http, id,                                                   \
          [this](auto* ctx, auto* req, auto* resp, auto cb) {         \
            control_->async()->Method(ctx, req, resp, std::move(cb)); \
          },                                                          \
          std::move(respond));                                        \
    });                                                               \
  }
  CSMS_TYPED_ROUTE("reset", ResetCharger, ResetChargerRequest, CommandStatus)
  CSMS_TYPED_ROUTE("availability", ChangeAvailability, ChangeAvailabilityRequest, CommandStatus)
  CSMS_TYPED_ROUTE("unlock", UnlockConnector, UnlockConnectorRequest, CommandStatus)
  CSMS_TYPED_ROUTE("trigger", TriggerMessage, TriggerMessageRequest, CommandStatus)
  CSMS_TYPED_ROUTE("clear-cache", ClearCache, ClearCacheRequest, CommandStatus)
  CSMS_TYPED_ROUTE("get-variables", GetVariables, GetVariablesRequest, GetVariablesResponse)
  CSMS_TYPED_ROUTE("set-variables", SetVariables, SetVariablesRequest, SetVariablesResponse)
  CSMS_TYPED_ROUTE("transaction-status", GetTransactionStatus, GetTransactionStatusRequest,
                   GetTransactionStatusResponse)
  CSMS_TYPED_ROUTE("data-transfer", DataTransfer, DataTransferRequest, DataTransferResponse)
  CSMS_TYPED_ROUTE("reports", RequestReport, RequestReportRequest, RequestReportResponse)
  // GET /chargers/{id}/firmware lists the jobs (RestChargerData).
  if (what == "firmware" && method == "GET") return false;
  CSMS_TYPED_ROUTE("firmware", UpdateFirmware, UpdateFirmwareRequest, UpdateFirmwareResponse)
#undef CSMS_TYPED_ROUTE
  return false;
}

}  // namespace csms::gateway
