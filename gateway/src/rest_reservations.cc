#include "csms/gateway/rest_reservations.h"

#include <charconv>

#include "csms/common/grpc_async.h"
#include "csms/common/time_util.h"
#include "csms/gateway/rest_commands.h"
#include "csms/gateway/rest_json.h"

namespace csms::gateway {
namespace {

using nlohmann::json;
namespace v1 = control::v1;

// Longer than control's own command timeout (30 s), so control reports the timeout itself.
constexpr std::chrono::milliseconds kCommandTimeout{35000};
constexpr std::chrono::milliseconds kQueryTimeout{5000};

using rest::Json;
using rest::TextOrNull;
using rest::Time;

HttpResponse FromError(const RestError& e) { return RestApi::Error(e.status, e.code, e.message); }

// A failed call: the reservation routes' own codes, then the command API's.
HttpResponse Failed(const grpc::Status& status) {
  json details = json::parse(status.error_details(), nullptr, false);
  const std::string error = details.is_object() ? details.value("error", "") : "";
  if (error == "unknown_evse") return RestApi::Error(404, error, status.error_message());
  if (error == "reservation_closed") return RestApi::Error(409, error, status.error_message());
  return RestCommands::FromCommandStatus(status);
}

std::optional<int32_t> ParseReservationId(const std::string& text) {
  int32_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id <= 0) return std::nullopt;
  return id;
}

// The charger's answer with the stored reservation.
json Answer(const std::string& status, const std::string& reason_code,
            const std::string& additional_info, const v1::Reservation& reservation) {
  json out{{"status", status}, {"reservation", ReservationJson(reservation)}};
  if (!reason_code.empty()) out["reason_code"] = reason_code;
  if (!additional_info.empty()) out["additional_info"] = additional_info;
  return out;
}

}  // namespace

json ReservationJson(const v1::Reservation& r) {
  return json{
      {"reservation_id", r.reservation_id()},
      {"charger_id", r.charger_id()},
      {"evse_id", r.has_evse_id() ? json(r.evse_id()) : json(nullptr)},
      {"id_token", r.id_token()},
      {"token_type", r.token_type()},
      {"group", r.has_group() ? json{{"id_token", r.group().id_token()}, {"type", r.group().type()}}
                              : json(nullptr)},
      {"expires_at", Time(r.has_expires_at(), r.expires_at())},
      {"state", r.state()},
      {"charger_status", TextOrNull(r.status())},
      {"transaction_id", TextOrNull(r.transaction_id())},
      {"requested_by", TextOrNull(r.requested_by())},
      {"detail", TextOrNull(r.detail())},
      {"created_at", Time(r.has_created_at(), r.created_at())},
      {"updated_at", Time(r.has_updated_at(), r.updated_at())},
      {"ended_at", Time(r.has_ended_at(), r.ended_at())},
  };
}

std::variant<v1::CreateReservationRequest, RestError> ParseReservationBody(
    const std::string& body) {
  v1::CreateReservationRequest r;
  auto bad = [](const std::string& message) { return RestError{400, "bad_request", message}; };
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("the body must be a JSON object");
  for (const auto& [key, v] : j.items()) {
    if (key == "id_token" || key == "token_type") {
      if (!v.is_string()) return bad(key + " must be a string");
      (key == "id_token" ? *r.mutable_id_token() : *r.mutable_token_type()) = v.get<std::string>();
    } else if (key == "evse_id") {
      if (v.is_null()) continue;
      if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > 2147483647) {
        return bad("evse_id must be a positive integer, or null for any EVSE");
      }
      r.set_evse_id(static_cast<int32_t>(v.get<int64_t>()));
    } else if (key == "expires_at") {
      auto t = v.is_string() ? ParseRfc3339(v.get<std::string>()) : std::nullopt;
      if (!t) return bad("expires_at must be an RFC 3339 time");
      *r.mutable_expires_at() = ToProto(*t);
    } else if (key == "group") {
      if (v.is_null()) continue;
      if (!v.is_object()) return bad("group must be {\"id_token\",\"type\"} or null");
      for (const auto& [gk, gv] : v.items()) {
        if (gk != "id_token" && gk != "type") return bad("group has an unknown field '" + gk + "'");
        if (!gv.is_string()) return bad("group " + gk + " must be a string");
      }
      if (!v.contains("id_token") || !v.contains("type")) {
        return bad("group needs both id_token and type");
      }
      r.mutable_group()->set_id_token(v["id_token"].get<std::string>());
      r.mutable_group()->set_type(v["type"].get<std::string>());
    } else {
      return bad("unknown field '" + key + "'");
    }
  }
  if (!j.contains("id_token")) return bad("id_token is required");
  if (!j.contains("token_type")) return bad("token_type is required");
  if (!j.contains("expires_at")) return bad("expires_at is required");
  return r;
}

RestReservations::RestReservations(std::shared_ptr<grpc::Channel> control)
    : control_(v1::ReservationService::NewStub(control)) {}

void RestReservations::Create(const HttpRequest& http, const std::string& charger_id,
                              Respond respond) {
  auto parsed = ParseReservationBody(http.body);
  if (auto* error = std::get_if<RestError>(&parsed)) return respond(FromError(*error));
  v1::CreateReservationRequest request = std::move(std::get<v1::CreateReservationRequest>(parsed));
  request.set_charger_id(charger_id);
  CallUnaryAsync<v1::CreateReservationRequest, v1::CreateReservationResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->CreateReservation(ctx, req, resp, std::move(cb));
      },
      std::move(request), kCommandTimeout,
      [respond = std::move(respond)](const grpc::Status& status,
                                     const v1::CreateReservationResponse& response) {
        if (!status.ok()) return respond(Failed(status));
        respond(Json(
            200, json{{"status", "success"},
                      {"reservation_id", response.reservation_id()},
                      {"response", Answer(response.status(), response.reason_code(),
                                          response.additional_info(), response.reservation())}}));
      },
      RestCommands::OnBehalfOf(http));
}

void RestReservations::Cancel(const HttpRequest& http, const std::string& charger_id,
                              int32_t reservation_id, Respond respond) {
  v1::CancelReservationRequest request;
  request.set_charger_id(charger_id);
  request.set_reservation_id(reservation_id);
  CallUnaryAsync<v1::CancelReservationRequest, v1::CancelReservationResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->CancelReservation(ctx, req, resp, std::move(cb));
      },
      std::move(request), kCommandTimeout,
      [respond = std::move(respond)](const grpc::Status& status,
                                     const v1::CancelReservationResponse& response) {
        if (!status.ok()) return respond(Failed(status));
        respond(Json(
            200, json{{"status", "success"},
                      {"response", Answer(response.status(), response.reason_code(),
                                          response.additional_info(), response.reservation())}}));
      },
      RestCommands::OnBehalfOf(http));
}

void RestReservations::List(const HttpRequest& http, const std::string& query, Respond respond) {
  auto params = ParseQuery(query);
  v1::ListReservationsRequest request;
  request.set_charger_id(params["charger_id"]);
  const std::string& active = params["active"];
  if (active == "true") {
    request.set_active(true);
  } else if (active == "false") {
    request.set_active(false);
  } else if (!active.empty()) {
    return respond(RestApi::Error(400, "bad_request", "active must be true or false"));
  }
  auto limit = ParseLimit(params["limit"]);
  if (auto* error = std::get_if<RestError>(&limit)) return respond(FromError(*error));
  request.set_limit(std::get<int>(limit));
  request.set_cursor(params["cursor"]);
  CallUnaryAsync<v1::ListReservationsRequest, v1::ListReservationsResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->ListReservations(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout,
      [respond = std::move(respond)](const grpc::Status& status,
                                     const v1::ListReservationsResponse& response) {
        if (!status.ok()) return respond(RestCommands::FromCommandStatus(status));
        json reservations = json::array();
        for (const auto& r : response.reservations()) reservations.push_back(ReservationJson(r));
        respond(Json(200, json{{"reservations", std::move(reservations)},
                               {"next_cursor", TextOrNull(response.next_cursor())}}));
      },
      RestCommands::OnBehalfOf(http));
}

bool RestReservations::Handle(const HttpRequest& http, const std::vector<std::string>& parts,
                              const std::string& query, Respond& respond) {
  const std::string& method = http.method;
  auto only = [&](const char* allowed) {
    if (method == allowed) return true;
    respond(RestApi::Error(405, "method_not_allowed",
                           method + " is not allowed here (use " + allowed + ")"));
    return false;
  };
  if (parts.size() == 1 && parts[0] == "reservations") {
    if (only("GET")) List(http, query, std::move(respond));
    return true;
  }
  if (parts.size() < 3 || parts.size() > 4 || parts[0] != "chargers" ||
      parts[2] != "reservations") {
    return false;
  }
  const std::string& charger_id = parts[1];
  if (parts.size() == 3) {
    if (only("POST")) Create(http, charger_id, std::move(respond));
    return true;
  }
  if (!only("DELETE")) return true;
  auto reservation_id = ParseReservationId(parts[3]);
  if (!reservation_id) {
    respond(RestApi::Error(404, "not_found",
                           "charger " + charger_id + " has no reservation " + parts[3]));
  } else {
    Cancel(http, charger_id, *reservation_id, std::move(respond));
  }
  return true;
}

}  // namespace csms::gateway
