#include "csms/gateway/rest_alerts.h"

#include <charconv>
#include <nlohmann/json.hpp>
#include <set>
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
// A test waits for one attempt (control's --webhook-timeout, 10 s by default) and its record.
constexpr std::chrono::milliseconds kTestTimeout{45000};

using rest::Json;

HttpResponse BadRequest(const std::string& message) {
  return RestApi::Error(400, "bad_request", message);
}

using rest::Time;

json WebhookJson(const v1::Webhook& w) {
  json kinds = json::array(), ids = json::array();
  for (const auto& k : w.kinds()) kinds.push_back(k);
  for (const auto& id : w.charger_ids()) ids.push_back(id);
  json out = {{"id", w.id()},
              {"name", w.name()},
              {"url", w.url()},
              {"kinds", std::move(kinds)},
              {"offline_intervals", w.offline_intervals()},
              {"charger_ids", w.charger_ids().empty() ? json(nullptr) : std::move(ids)},
              {"enabled", w.enabled()},
              {"created_by", w.created_by()},
              {"created_at", Time(w.has_created_at(), w.created_at())},
              {"updated_at", Time(w.has_updated_at(), w.updated_at())},
              {"pending_deliveries", w.pending_deliveries()}};
  if (!w.secret().empty()) out["secret"] = w.secret();
  return out;
}

// What receivers got: the stored body itself.
json AlertJson(const v1::Alert& a) {
  json body = json::parse(a.body_json(), nullptr, false);
  if (body.is_discarded()) return json{{"id", a.uid()}, {"kind", a.kind()}};
  return body;
}

json DeliveryJson(const v1::WebhookDelivery& d) {
  json attempts = json::array();
  for (const auto& a : d.attempt_log()) {
    attempts.push_back(
        {{"attempt", a.attempt()},
         {"started_at", Time(a.has_started_at(), a.started_at())},
         {"http_status", a.has_http_status() ? json(a.http_status()) : json(nullptr)},
         {"outcome", a.outcome()},
         {"error", a.error().empty() ? json(nullptr) : json(a.error())},
         {"latency_ms", a.latency_ms()}});
  }
  return json{
      {"delivery_id", d.id()},
      {"webhook_id", d.webhook_id()},
      {"state", d.state()},
      {"attempts", d.attempts()},
      {"last_http_status", d.has_last_http_status() ? json(d.last_http_status()) : json(nullptr)},
      {"last_error", d.last_error().empty() ? json(nullptr) : json(d.last_error())},
      {"next_attempt_at", Time(d.has_next_attempt_at(), d.next_attempt_at())},
      {"created_at", Time(d.has_created_at(), d.created_at())},
      {"finished_at", Time(d.has_finished_at(), d.finished_at())},
      {"alert", AlertJson(d.alert())},
      {"attempt_log", std::move(attempts)},
  };
}

std::optional<int64_t> WebhookId(const std::string& text) {
  int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id <= 0) return std::nullopt;
  return id;
}

// The body's fields, typed; nullopt from `error` (with its message) when one is wrong.
struct WebhookBody {
  std::optional<std::string> name, url, secret;
  std::optional<std::vector<std::string>> kinds;
  std::optional<int> offline_intervals;
  bool charger_ids_given = false;
  std::optional<std::vector<std::string>> charger_ids;  // given as null: every charger
  std::optional<bool> enabled;
  bool rotate_secret = false;
};

std::variant<WebhookBody, std::string> ParseWebhookBody(const std::string& text, bool update) {
  json body = json::parse(text.empty() ? "{}" : text, nullptr, false);
  if (!body.is_object()) return std::string("the body must be a JSON object");
  static const std::set<std::string> kFields = {
      "name", "url", "kinds", "offline_intervals", "charger_ids", "enabled", "secret"};
  WebhookBody out;
  auto strings = [](const json& v,
                    const char* field) -> std::variant<std::vector<std::string>, std::string> {
    if (!v.is_array()) return std::string(field) + " must be a list of strings";
    std::vector<std::string> list;
    for (const auto& item : v) {
      if (!item.is_string()) return std::string(field) + " must be a list of strings";
      list.push_back(item.get<std::string>());
    }
    return list;
  };
  for (const auto& [key, value] : body.items()) {
    if (key == "rotate_secret" && update) {
      if (!value.is_boolean()) return std::string("rotate_secret must be true or false");
      out.rotate_secret = value.get<bool>();
      continue;
    }
    if (kFields.count(key) == 0) return "unknown field '" + key + "'";
    if (key == "kinds" || key == "charger_ids") {
      if (key == "charger_ids" && value.is_null()) {
        out.charger_ids_given = true;
        continue;
      }
      auto list = strings(value, key.c_str());
      if (auto* error = std::get_if<std::string>(&list)) return *error;
      auto& values = std::get<std::vector<std::string>>(list);
      if (key == "kinds") {
        out.kinds = std::move(values);
      } else {
        if (values.empty()) {
          return std::string("charger_ids must name a charger; null means every charger");
        }
        out.charger_ids_given = true;
        out.charger_ids = std::move(values);
      }
    } else if (key == "offline_intervals") {
      if (value.is_null()) continue;
      if (!value.is_number_integer()) return std::string("offline_intervals must be an integer");
      const auto n = value.get<int64_t>();
      if (n < 1 || n > 10000) return std::string("offline_intervals must be between 1 and 10000");
      out.offline_intervals = static_cast<int>(n);
    } else if (key == "enabled") {
      if (!value.is_boolean()) return std::string("enabled must be true or false");
      out.enabled = value.get<bool>();
    } else {  // name, url, secret
      if (value.is_null()) continue;
      if (!value.is_string()) return key + " must be a string";
      (key == "name" ? out.name : key == "url" ? out.url : out.secret) = value.get<std::string>();
    }
  }
  if (!update && !out.url) return std::string("url is required");
  if (!update && !out.kinds) return std::string("kinds is required");
  return out;
}

template <typename Request, typename Response, typename Start>
void Call(Start start, Request request, std::chrono::milliseconds timeout, const HttpRequest& http,
          std::function<void(const Response&)> render, RestAlerts::Respond respond) {
  CallUnaryAsync<Request, Response>(
      std::move(start), std::move(request), timeout,
      [render = std::move(render), respond = std::move(respond)](const grpc::Status& status,
                                                                 const Response& response) {
        if (!status.ok()) return respond(RestCommands::FromCommandStatus(status));
        render(response);
      },
      RestCommands::OnBehalfOf(http));
}

json Cursor(const std::string& next) { return next.empty() ? json(nullptr) : json(next); }

}  // namespace

RestAlerts::RestAlerts(std::shared_ptr<grpc::Channel> control)
    : alerts_(v1::AlertService::NewStub(control)) {}

void RestAlerts::Create(const HttpRequest& http, Respond respond) {
  auto parsed = ParseWebhookBody(http.body, /*update=*/false);
  if (auto* error = std::get_if<std::string>(&parsed)) return respond(BadRequest(*error));
  auto& body = std::get<WebhookBody>(parsed);
  v1::CreateWebhookRequest request;
  request.set_name(body.name.value_or(""));
  request.set_url(*body.url);
  for (const auto& k : *body.kinds) request.add_kinds(k);
  request.set_offline_intervals(body.offline_intervals.value_or(0));
  if (body.charger_ids) {
    for (const auto& id : *body.charger_ids) request.add_charger_ids(id);
  }
  if (body.enabled) request.set_enabled(*body.enabled);
  request.set_secret(body.secret.value_or(""));
  Call<v1::CreateWebhookRequest, v1::Webhook>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        alerts_->async()->CreateWebhook(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout, http,
      [respond](const v1::Webhook& w) { respond(Json(201, WebhookJson(w))); }, respond);
}

void RestAlerts::List(const HttpRequest& http, Respond respond) {
  Call<v1::ListWebhooksRequest, v1::ListWebhooksResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        alerts_->async()->ListWebhooks(ctx, req, resp, std::move(cb));
      },
      v1::ListWebhooksRequest(), kQueryTimeout, http,
      [respond](const v1::ListWebhooksResponse& r) {
        json webhooks = json::array();
        for (const auto& w : r.webhooks()) webhooks.push_back(WebhookJson(w));
        respond(Json(200, json{{"webhooks", std::move(webhooks)}}));
      },
      respond);
}

void RestAlerts::Get(const HttpRequest& http, int64_t id, Respond respond) {
  v1::GetWebhookRequest request;
  request.set_id(id);
  Call<v1::GetWebhookRequest, v1::Webhook>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        alerts_->async()->GetWebhook(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout, http,
      [respond](const v1::Webhook& w) { respond(Json(200, WebhookJson(w))); }, respond);
}

void RestAlerts::Update(const HttpRequest& http, int64_t id, Respond respond) {
  auto parsed = ParseWebhookBody(http.body, /*update=*/true);
  if (auto* error = std::get_if<std::string>(&parsed)) return respond(BadRequest(*error));
  auto& body = std::get<WebhookBody>(parsed);
  v1::UpdateWebhookRequest request;
  request.set_id(id);
  if (body.name) request.set_name(*body.name);
  if (body.url) request.set_url(*body.url);
  if (body.kinds) {
    for (const auto& k : *body.kinds) request.mutable_kinds()->add_values(k);
    request.mutable_kinds();  // set, even when empty (control refuses an empty list)
  }
  if (body.offline_intervals) request.set_offline_intervals(*body.offline_intervals);
  if (body.charger_ids_given) {
    auto* ids = request.mutable_charger_ids();  // set and empty: every charger
    if (body.charger_ids) {
      for (const auto& c : *body.charger_ids) ids->add_values(c);
    }
  }
  if (body.enabled) request.set_enabled(*body.enabled);
  if (body.secret) request.set_secret(*body.secret);
  request.set_rotate_secret(body.rotate_secret);
  Call<v1::UpdateWebhookRequest, v1::Webhook>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        alerts_->async()->UpdateWebhook(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout, http,
      [respond](const v1::Webhook& w) { respond(Json(200, WebhookJson(w))); }, respond);
}

void RestAlerts::Delete(const HttpRequest& http, int64_t id, Respond respond) {
  v1::DeleteWebhookRequest request;
  request.set_id(id);
  Call<v1::DeleteWebhookRequest, v1::DeleteWebhookResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        alerts_->async()->DeleteWebhook(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout, http,
      [respond, id](const v1::DeleteWebhookResponse&) {
        respond(Json(200, json{{"status", "success"}, {"webhook_id", id}}));
      },
      respond);
}

void RestAlerts::Test(const HttpRequest& http, int64_t id, Respond respond) {
  v1::TestWebhookRequest request;
  request.set_id(id);
  Call<v1::TestWebhookRequest, v1::WebhookDelivery>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        alerts_->async()->TestWebhook(ctx, req, resp, std::move(cb));
      },
      std::move(request), kTestTimeout, http,
      [respond](const v1::WebhookDelivery& d) {
        respond(Json(200, json{{"delivery", DeliveryJson(d)}}));
      },
      respond);
}

void RestAlerts::ListDeliveries(const HttpRequest& http, int64_t id, const std::string& query,
                                Respond respond) {
  auto params = ParseQuery(query);
  v1::ListWebhookDeliveriesRequest request;
  request.set_webhook_id(id);
  request.set_state(params["state"]);
  auto limit = ParseLimit(params["limit"]);
  if (auto* error = std::get_if<RestError>(&limit)) {
    return respond(RestApi::Error(error->status, error->code, error->message));
  }
  request.set_limit(std::get<int>(limit));
  request.set_cursor(params["cursor"]);
  Call<v1::ListWebhookDeliveriesRequest, v1::ListWebhookDeliveriesResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        alerts_->async()->ListWebhookDeliveries(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout, http,
      [respond](const v1::ListWebhookDeliveriesResponse& r) {
        json deliveries = json::array();
        for (const auto& d : r.deliveries()) deliveries.push_back(DeliveryJson(d));
        respond(Json(200, json{{"deliveries", std::move(deliveries)},
                               {"next_cursor", Cursor(r.next_cursor())}}));
      },
      respond);
}

void RestAlerts::ListAlerts(const HttpRequest& http, const std::string& query, Respond respond) {
  const auto params = ParseQueryList(query);
  auto last = [&params](const std::string& name) {  // a later duplicate wins, as in ParseQuery
    std::string value;
    for (const auto& [key, v] : params) {
      if (key == name) value = v;
    }
    return value;
  };
  v1::ListAlertsRequest request;
  request.set_charger_id(last("charger_id"));
  for (auto& kind : QueryValues(params, "kind")) request.add_kinds(std::move(kind));
  auto limit = ParseLimit(last("limit"));
  if (auto* error = std::get_if<RestError>(&limit)) {
    return respond(RestApi::Error(error->status, error->code, error->message));
  }
  request.set_limit(std::get<int>(limit));
  request.set_cursor(last("cursor"));
  Call<v1::ListAlertsRequest, v1::ListAlertsResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        alerts_->async()->ListAlerts(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout, http,
      [respond](const v1::ListAlertsResponse& r) {
        json alerts = json::array();
        for (const auto& a : r.alerts()) alerts.push_back(AlertJson(a));
        respond(Json(
            200, json{{"alerts", std::move(alerts)}, {"next_cursor", Cursor(r.next_cursor())}}));
      },
      respond);
}

bool RestAlerts::Handle(const HttpRequest& http, const std::vector<std::string>& parts,
                        const std::string& query, Respond& respond) {
  if (parts.empty() || (parts[0] != "webhooks" && parts[0] != "alerts")) return false;
  const std::string& method = http.method;
  auto wrong_method = [&](const char* allowed) {
    respond(RestApi::Error(405, "method_not_allowed",
                           method + " is not allowed here (use " + allowed + ")"));
  };
  if (parts[0] == "alerts") {
    if (parts.size() != 1) return false;
    method == "GET" ? ListAlerts(http, query, std::move(respond)) : wrong_method("GET");
    return true;
  }
  if (parts.size() == 1) {
    if (method == "GET") {
      List(http, std::move(respond));
    } else if (method == "POST") {
      Create(http, std::move(respond));
    } else {
      wrong_method("GET or POST");
    }
    return true;
  }
  if (parts.size() > 3) return false;
  if (parts.size() == 3 && parts[2] != "test" && parts[2] != "deliveries") return false;
  // The method first (405 for any id), then the id.
  const char* allowed = parts.size() == 2    ? "GET, PATCH or DELETE"
                        : parts[2] == "test" ? "POST"
                                             : "GET";
  const bool method_ok = parts.size() == 2
                             ? (method == "GET" || method == "PATCH" || method == "DELETE")
                             : method == (parts[2] == "test" ? "POST" : "GET");
  if (!method_ok) {
    wrong_method(allowed);
    return true;
  }
  const auto id = WebhookId(parts[1]);
  if (!id) {
    respond(RestApi::Error(404, "not_found", "no webhook " + parts[1]));
    return true;
  }
  if (parts.size() == 3) {
    parts[2] == "test" ? Test(http, *id, std::move(respond))
                       : ListDeliveries(http, *id, query, std::move(respond));
  } else if (method == "GET") {
    Get(http, *id, std::move(respond));
  } else if (method == "PATCH") {
    Update(http, *id, std::move(respond));
  } else {
    Delete(http, *id, std::move(respond));
  }
  return true;
}

}  // namespace csms::gateway
