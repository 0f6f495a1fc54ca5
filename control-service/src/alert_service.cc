#include "csms/control/alert_service.h"

#include <algorithm>
#include <set>

#include "csms/common/log.h"
#include "csms/control/alert_rules.h"
#include "csms/control/operator_call.h"
#include "csms/control/webhook_delivery.h"

namespace csms::control {
namespace {

constexpr const char* kComponent = "control";
constexpr int kDefaultPageSize = 50, kMaxPageSize = 500;
constexpr int kDefaultOfflineIntervals = 3, kMaxOfflineIntervals = 10000;
constexpr size_t kMaxNameLength = 100, kMaxChargerIdLength = 48, kMaxChargerIds = 1000;
constexpr size_t kMinSecretLength = 16, kMaxSecretLength = 256;

[[noreturn]] void NoWebhook(int64_t id) {
  throw RpcError(CommandError(grpc::StatusCode::NOT_FOUND, "not_found",
                              "webhook " + std::to_string(id) + " not found"));
}

std::string CheckUrl(const std::string& url) {
  std::string why;
  if (!ParseWebhookUrl(url, &why)) BadRequest(why);
  return url;
}

std::string CheckName(const std::string& name) {
  if (name.size() > kMaxNameLength) BadRequest("name is over 100 characters");
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      BadRequest("name contains a control character");
    }
  }
  return name;
}

template <typename List>
std::vector<std::string> CheckKinds(const List& kinds) {
  if (kinds.empty()) {
    BadRequest(
        "kinds must name at least one of connector_faulted, security_event, "
        "charger_offline, charger_online, firmware_failed, session_needs_review");
  }
  const auto& known = SubscribableAlertKinds();
  std::vector<std::string> out;
  for (const std::string& kind : kinds) {
    if (std::find(known.begin(), known.end(), kind) == known.end()) {
      std::string names;
      for (const auto& k : known) names += (names.empty() ? "" : ", ") + k;
      BadRequest("unknown alert kind '" + log::Sanitize(kind, 60) + "' (kinds: " + names + ")");
    }
    if (std::find(out.begin(), out.end(), kind) == out.end()) out.push_back(kind);
  }
  return out;
}

int CheckIntervals(int n) {
  if (n < 1 || n > kMaxOfflineIntervals) {
    BadRequest("offline_intervals must be between 1 and " + std::to_string(kMaxOfflineIntervals));
  }
  return n;
}

template <typename List>
std::vector<std::string> CheckChargerIds(const List& ids) {
  if (static_cast<size_t>(ids.size()) > kMaxChargerIds) {
    BadRequest("charger_ids names over 1000 chargers");
  }
  std::set<std::string> unique;
  for (const std::string& id : ids) {
    if (id.empty() || id.size() > kMaxChargerIdLength) {
      BadRequest("charger_ids: each id has 1 to 48 characters");
    }
    unique.insert(id);
  }
  return {unique.begin(), unique.end()};
}

std::string CheckSecret(const std::string& secret) {
  if (secret.size() < kMinSecretLength || secret.size() > kMaxSecretLength) {
    BadRequest("secret must have 16 to 256 characters");
  }
  for (char c : secret) {
    if (c < 0x21 || c > 0x7e) BadRequest("secret must be printable ASCII without spaces");
  }
  return secret;
}

int PageSize(int limit) {
  if (limit < 0 || limit > kMaxPageSize) {
    BadRequest("limit must be between 1 and " + std::to_string(kMaxPageSize));
  }
  return limit == 0 ? kDefaultPageSize : limit;
}

void FillWebhook(const WebhookRecord& w, bool show_secret, v1::Webhook* out) {
  out->set_id(w.id);
  out->set_name(w.name);
  out->set_url(w.url);
  for (const auto& k : w.kinds) out->add_kinds(k);
  out->set_offline_intervals(w.offline_intervals);
  if (w.charger_ids) {
    for (const auto& id : *w.charger_ids) out->add_charger_ids(id);
  }
  out->set_enabled(w.enabled);
  if (show_secret) out->set_secret(w.secret);
  out->set_created_by(w.created_by);
  *out->mutable_created_at() = ToProto(w.created_at);
  *out->mutable_updated_at() = ToProto(w.updated_at);
  out->set_pending_deliveries(w.pending_deliveries);
}

}  // namespace

void FillAlert(const StoredAlert& a, v1::Alert* out) {
  out->set_id(a.id);
  out->set_uid(a.uid);
  out->set_kind(a.kind);
  out->set_charger_id(a.charger_id);
  *out->mutable_occurred_at() = ToProto(a.occurred_at);
  *out->mutable_raised_at() = ToProto(a.raised_at);
  out->set_body_json(a.body);
}

void FillDelivery(const DeliveryRecord& d, v1::WebhookDelivery* out) {
  out->set_id(d.id);
  out->set_webhook_id(d.webhook_id);
  FillAlert(d.alert, out->mutable_alert());
  out->set_state(d.state);
  out->set_attempts(d.attempts);
  if (d.last_http_status) out->set_last_http_status(*d.last_http_status);
  out->set_last_error(d.last_error);
  if (d.state == "pending") *out->mutable_next_attempt_at() = ToProto(d.next_attempt_at);
  *out->mutable_created_at() = ToProto(d.created_at);
  if (d.finished_at) *out->mutable_finished_at() = ToProto(*d.finished_at);
  for (const auto& a : d.attempt_log) {
    auto* o = out->add_attempt_log();
    o->set_attempt(a.attempt);
    *o->mutable_started_at() = ToProto(a.started_at);
    if (a.http_status) o->set_http_status(*a.http_status);
    o->set_outcome(a.outcome);
    o->set_error(a.error);
    o->set_latency_ms(a.latency_ms);
  }
}

grpc::ServerUnaryReactor* AlertServiceImpl::CreateWebhook(grpc::CallbackServerContext* context,
                                                          const v1::CreateWebhookRequest* request,
                                                          v1::Webhook* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "CreateWebhook", [&] {
    auth::Principal who = AuthorizeCaller(auth_, *context, auth::Role::kAdmin, "CreateWebhook");
    WebhookRecord w;
    w.name = CheckName(request->name());
    w.url = CheckUrl(request->url());
    w.kinds = CheckKinds(request->kinds());
    w.offline_intervals =
        CheckIntervals(request->offline_intervals() == 0 ? kDefaultOfflineIntervals
                                                         : request->offline_intervals());
    if (request->charger_ids_size() > 0) w.charger_ids = CheckChargerIds(request->charger_ids());
    w.enabled = !request->has_enabled() || request->enabled();
    w.secret = request->secret().empty() ? NewWebhookSecret() : CheckSecret(request->secret());
    w.created_by = who.key_id;
    WebhookRecord stored = webhooks_.Create(w);
    FillWebhook(stored, /*show_secret=*/true, response);
    CSMS_LOG(kInfo, kComponent) << "webhook " << stored.id << " created by "
                                << log::Sanitize(who.key_id) << " for "
                                << log::Sanitize(stored.url, 200);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* AlertServiceImpl::ListWebhooks(grpc::CallbackServerContext* context,
                                                         const v1::ListWebhooksRequest*,
                                                         v1::ListWebhooksResponse* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "ListWebhooks", [&] {
    AuthorizeCaller(auth_, *context, auth::Role::kAdmin, "ListWebhooks");
    for (const auto& w : webhooks_.List()) FillWebhook(w, false, response->add_webhooks());
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* AlertServiceImpl::GetWebhook(grpc::CallbackServerContext* context,
                                                       const v1::GetWebhookRequest* request,
                                                       v1::Webhook* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "GetWebhook", [&] {
    AuthorizeCaller(auth_, *context, auth::Role::kAdmin, "GetWebhook");
    auto w = webhooks_.Find(request->id());
    if (!w) NoWebhook(request->id());
    FillWebhook(*w, false, response);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* AlertServiceImpl::UpdateWebhook(grpc::CallbackServerContext* context,
                                                          const v1::UpdateWebhookRequest* request,
                                                          v1::Webhook* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "UpdateWebhook", [&] {
    auth::Principal who = AuthorizeCaller(auth_, *context, auth::Role::kAdmin, "UpdateWebhook");
    WebhookChanges c;
    if (request->has_name()) c.name = CheckName(request->name());
    if (request->has_url()) c.url = CheckUrl(request->url());
    if (request->has_kinds()) c.kinds = CheckKinds(request->kinds().values());
    if (request->has_offline_intervals()) {
      c.offline_intervals = CheckIntervals(request->offline_intervals());
    }
    if (request->has_charger_ids()) {
      c.charger_ids = request->charger_ids().values().empty()
                          ? std::optional<std::vector<std::string>>()
                          : CheckChargerIds(request->charger_ids().values());
    }
    if (request->has_enabled()) c.enabled = request->enabled();
    if (request->rotate_secret() && request->has_secret()) {
      BadRequest("give a secret or rotate_secret, not both");
    }
    if (request->has_secret()) c.secret = CheckSecret(request->secret());
    if (request->rotate_secret()) c.secret = NewWebhookSecret();
    auto w = webhooks_.Update(request->id(), c);
    if (!w) NoWebhook(request->id());
    FillWebhook(*w, /*show_secret=*/c.secret.has_value(), response);
    CSMS_LOG(kInfo, kComponent) << "webhook " << w->id << " updated by "
                                << log::Sanitize(who.key_id) << (c.secret ? " (new secret)" : "");
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* AlertServiceImpl::DeleteWebhook(grpc::CallbackServerContext* context,
                                                          const v1::DeleteWebhookRequest* request,
                                                          v1::DeleteWebhookResponse*) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "DeleteWebhook", [&] {
    auth::Principal who = AuthorizeCaller(auth_, *context, auth::Role::kAdmin, "DeleteWebhook");
    if (!webhooks_.Delete(request->id())) NoWebhook(request->id());
    CSMS_LOG(kInfo, kComponent) << "webhook " << request->id() << " deleted by "
                                << log::Sanitize(who.key_id);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* AlertServiceImpl::TestWebhook(grpc::CallbackServerContext* context,
                                                        const v1::TestWebhookRequest* request,
                                                        v1::WebhookDelivery* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "TestWebhook", [&] {
    auth::Principal who = AuthorizeCaller(auth_, *context, auth::Role::kAdmin, "TestWebhook");
    const auto lease = dispatcher_ ? dispatcher_->lease() : std::chrono::milliseconds(0);
    auto claim = webhooks_.RaiseTest(request->id(), who.key_id, lease, RealClock().Now());
    if (!claim) NoWebhook(request->id());
    auto answer = [this, reactor, response, id = claim->id](std::optional<DeliveryOutcome>) {
      Guard(reactor, "TestWebhook", [&] {
        auto delivery = webhooks_.FindDelivery(id);
        if (!delivery) {
          throw RpcError(CommandError(grpc::StatusCode::NOT_FOUND, "not_found",
                                      "the webhook was deleted meanwhile"));
        }
        FillDelivery(*delivery, response);
        reactor->Finish(grpc::Status::OK);
      });
    };
    if (dispatcher_ == nullptr) return answer(std::nullopt);
    // Attempted on a dispatcher thread, which finishes the call.
    dispatcher_->Submit(std::move(*claim), std::move(answer));
  });
  return reactor;
}

grpc::ServerUnaryReactor* AlertServiceImpl::ListWebhookDeliveries(
    grpc::CallbackServerContext* context, const v1::ListWebhookDeliveriesRequest* request,
    v1::ListWebhookDeliveriesResponse* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "ListWebhookDeliveries", [&] {
    AuthorizeCaller(auth_, *context, auth::Role::kAdmin, "ListWebhookDeliveries");
    const int limit = PageSize(request->limit());
    const std::string& state = request->state();
    if (!state.empty() && state != "pending" && state != "delivered" && state != "rejected" &&
        state != "expired") {
      BadRequest("state must be pending, delivered, rejected or expired");
    }
    if (!webhooks_.Find(request->webhook_id())) NoWebhook(request->webhook_id());
    DeliveryPage page;
    try {
      page = webhooks_.ListDeliveries(request->webhook_id(), state, limit, request->cursor());
    } catch (const std::invalid_argument& e) {
      BadRequest(e.what());
    }
    for (const auto& d : page.deliveries) FillDelivery(d, response->add_deliveries());
    response->set_next_cursor(page.next_cursor);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* AlertServiceImpl::ListAlerts(grpc::CallbackServerContext* context,
                                                       const v1::ListAlertsRequest* request,
                                                       v1::ListAlertsResponse* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "ListAlerts", [&] {
    AuthorizeCaller(auth_, *context, auth::Role::kRead, "ListAlerts");
    const int limit = PageSize(request->limit());
    AlertFilter filter;
    filter.charger_id = request->charger_id();
    for (const auto& kind : request->kinds()) {
      if (!ParseAlertKind(kind)) BadRequest("unknown alert kind '" + log::Sanitize(kind, 60) + "'");
      filter.kinds.push_back(kind);
    }
    AlertPage page;
    try {
      page = alerts_.List(filter, limit, request->cursor());
    } catch (const std::invalid_argument& e) {
      BadRequest(e.what());
    }
    for (const auto& a : page.alerts) FillAlert(a, response->add_alerts());
    response->set_next_cursor(page.next_cursor);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

}  // namespace csms::control
