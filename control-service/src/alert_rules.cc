#include "csms/control/alert_rules.h"

#include <openssl/rand.h>

#include <stdexcept>

#include "csms/control/event_log_store.h"

namespace csms::control {
namespace {

using nlohmann::json;

constexpr const char* kFaulted = "Faulted";
constexpr const char* kSecurityEventNotification = "SecurityEventNotification";

struct KindName {
  AlertKind kind;
  const char* name;
  bool subscribable;
};
constexpr KindName kKinds[] = {
    {AlertKind::kConnectorFaulted, "connector_faulted", true},
    {AlertKind::kSecurityEvent, "security_event", true},
    {AlertKind::kChargerOffline, "charger_offline", true},
    {AlertKind::kChargerOnline, "charger_online", true},
    {AlertKind::kFirmwareFailed, "firmware_failed", true},
    {AlertKind::kSessionNeedsReview, "session_needs_review", true},
    {AlertKind::kWebhookTest, "webhook_test", false},
};

std::string Time(TimePoint t) { return FormatRfc3339(t, /*millis=*/true); }

}  // namespace

const char* AlertKindName(AlertKind kind) {
  for (const auto& k : kKinds) {
    if (k.kind == kind) return k.name;
  }
  return "unknown";
}

std::optional<AlertKind> ParseAlertKind(std::string_view name) {
  for (const auto& k : kKinds) {
    if (name == k.name) return k.kind;
  }
  return std::nullopt;
}

const std::vector<std::string>& SubscribableAlertKinds() {
  static const std::vector<std::string> kinds = [] {
    std::vector<std::string> out;
    for (const auto& k : kKinds) {
      if (k.subscribable) out.emplace_back(k.name);
    }
    return out;
  }();
  return kinds;
}

bool EntersFaulted(const std::optional<std::string>& previous, const std::string& status) {
  return status == kFaulted && previous.value_or("") != kFaulted;
}

std::optional<AlertDraft> ConnectorFaultedAlert(const std::string& charger_id, int evse_id,
                                                int connector_id, const std::string& status,
                                                TimePoint at,
                                                const std::optional<std::string>& previous,
                                                const std::string& source) {
  if (!EntersFaulted(previous, status)) return std::nullopt;
  AlertDraft d;
  d.kind = AlertKind::kConnectorFaulted;
  d.charger_id = charger_id;
  d.occurred_at = at;
  d.data = {{"evse_id", evse_id},
            {"connector_id", connector_id},
            {"status", status},
            {"previous_status", previous ? json(*previous) : json(nullptr)},
            {"source", source}};
  return d;
}

std::optional<AlertDraft> SecurityEventAlert(const v1::ChargerEvent& event, int64_t event_id) {
  const bool charger = event.kind() == kSecurityEventNotification;
  if (!charger && event.kind() != kCsmsSecurityEvent) return std::nullopt;
  json payload = json::parse(event.payload_json(), nullptr, false);
  if (payload.is_discarded()) payload = event.payload_json();
  AlertDraft d;
  d.kind = AlertKind::kSecurityEvent;
  d.charger_id = event.charger_id();
  d.occurred_at = FromProto(event.has_occurred_at() ? event.occurred_at() : event.received_at());
  d.data = {{"event_id", event_id},
            {"source", charger ? "charger" : "csms"},
            {"type", event.type()},
            {"received_at", Time(FromProto(event.received_at()))},
            {"payload", std::move(payload)}};
  if (charger && d.data["payload"].is_object() && d.data["payload"].contains("techInfo")) {
    d.data["tech_info"] = d.data["payload"]["techInfo"];
  }
  if (!event.client_address().empty()) d.data["client_address"] = event.client_address();
  return d;
}

std::optional<AlertDraft> SessionNeedsReviewAlert(const v1::TransactionEventReport& report,
                                                  TimePoint at) {
  if (!report.review_raised()) return std::nullopt;
  const auto& event = report.event();
  AlertDraft d;
  d.kind = AlertKind::kSessionNeedsReview;
  d.charger_id = event.charger_id();
  d.occurred_at = at;
  d.data = {{"transaction_id", event.transaction_id()},
            {"evse_id", event.evse_id()},
            {"reason", report.review_reason()},
            {"energy_consumed", report.energy_consumed_kwh()},
            {"cost", report.total_cost()},
            {"currency", report.currency()}};
  return d;
}

AlertDraft FirmwareFailedAlert(const v1::FirmwareJob& job, TimePoint at) {
  AlertDraft d;
  d.kind = AlertKind::kFirmwareFailed;
  d.charger_id = job.charger_id();
  d.occurred_at = at;
  d.data = {{"job_id", job.job_id()},
            {"request_id", job.request_id()},
            {"state", job.state()},
            {"location", job.location()},
            {"firmware_version_before", job.firmware_version_before()},
            {"detail", job.detail()}};
  return d;
}

bool ShouldRaiseOffline(TimePoint last_seen, bool episode_open, TimePoint now,
                        std::chrono::milliseconds heartbeat, int n, std::chrono::milliseconds grace,
                        std::chrono::milliseconds lookback) {
  if (episode_open || n <= 0) return false;
  const auto silent = now - last_seen;
  return silent >= heartbeat * n + grace && silent < lookback;
}

AlertDraft ChargerOfflineAlert(const std::string& charger_id, TimePoint last_seen,
                               std::chrono::milliseconds heartbeat, int n) {
  AlertDraft d;
  d.kind = AlertKind::kChargerOffline;
  d.charger_id = charger_id;
  d.occurred_at = last_seen + std::chrono::duration_cast<std::chrono::microseconds>(heartbeat * n);
  d.offline_intervals = n;
  d.data = {{"last_seen", Time(last_seen)},
            {"offline_intervals", n},
            {"heartbeat_interval_s", std::chrono::duration<double>(heartbeat).count()}};
  return d;
}

bool EndsOfflineEpisode(bool episode_open, TimePoint last_seen, TimePoint seen) {
  return episode_open && seen > last_seen;
}

AlertDraft ChargerOnlineAlert(const std::string& charger_id, TimePoint last_seen, TimePoint seen,
                              int n) {
  AlertDraft d;
  d.kind = AlertKind::kChargerOnline;
  d.charger_id = charger_id;
  d.occurred_at = seen;
  d.offline_intervals = n;
  d.data = {{"last_seen", Time(last_seen)},
            {"seen_at", Time(seen)},
            {"offline_intervals", n},
            {"silent_s", std::chrono::duration<double>(seen - last_seen).count()}};
  return d;
}

AlertDraft WebhookTestAlert(int64_t webhook_id, TimePoint now, const std::string& requested_by) {
  AlertDraft d;
  d.kind = AlertKind::kWebhookTest;
  d.occurred_at = now;
  d.webhook_id = webhook_id;
  d.data = {{"webhook_id", webhook_id},
            {"requested_by", requested_by},
            {"message", "a test of this webhook; nothing happened to any charger"}};
  return d;
}

std::string AlertBody(const std::string& uid, const AlertDraft& draft,
                      const std::optional<std::string>& station_id, TimePoint raised_at) {
  // nlohmann's object keeps keys sorted; the order is fixed anyway by storing the bytes.
  json body = {{"id", uid},
               {"kind", AlertKindName(draft.kind)},
               {"charger_id", draft.charger_id.empty() ? json(nullptr) : json(draft.charger_id)},
               {"station_id", station_id ? json(*station_id) : json(nullptr)},
               {"occurred_at", Time(draft.occurred_at)},
               {"raised_at", Time(raised_at)},
               {"data", draft.data}};
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string RandomUuid() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("no randomness for a UUID");
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 15];
  }
  return out;
}

}  // namespace csms::control
