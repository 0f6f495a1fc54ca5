// Alerts and webhooks, the pure parts: the rules that raise alerts (alert_rules.h) and how a
// delivery is made and judged (webhook_delivery.h): signature, backoff, what an HTTP answer
// means, Retry-After, URLs. Tables of cases; no database, no network.
#include "csms/control/alert_rules.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "csms/control/event_log_store.h"
#include "csms/control/webhook_delivery.h"

namespace csms::control {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

TimePoint At(const char* rfc3339) { return *ParseRfc3339(rfc3339); }

// ---- connector_faulted ----

struct FaultCase {
  const char* name;
  std::optional<std::string> previous;
  std::string status;
  bool raises;
};

TEST(AlertRules, ConnectorFaultedIsAnEdgeIntoFaulted) {
  const FaultCase cases[] = {
      {"into Faulted", "Available", "Faulted", true},
      {"Occupied into Faulted", "Occupied", "Faulted", true},
      {"first report is Faulted", std::nullopt, "Faulted", true},
      {"Faulted again", "Faulted", "Faulted", false},
      {"out of Faulted", "Faulted", "Available", false},
      {"never Faulted", "Available", "Occupied", false},
      {"first report is Available", std::nullopt, "Available", false},
      {"Unavailable is not a fault", "Available", "Unavailable", false},
      {"case matters (OCPP enums)", "Available", "faulted", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(EntersFaulted(c.previous, c.status), c.raises) << c.name;
    auto alert = ConnectorFaultedAlert("cp1", 1, 2, c.status, At("2026-12-07T08:00:00Z"),
                                       c.previous, "StatusNotification");
    EXPECT_EQ(alert.has_value(), c.raises) << c.name;
  }
  auto alert = ConnectorFaultedAlert("cp1", 1, 2, "Faulted", At("2026-12-07T08:00:00Z"),
                                     std::string("Available"), "NotifyEvent");
  ASSERT_TRUE(alert);
  EXPECT_EQ(alert->kind, AlertKind::kConnectorFaulted);
  EXPECT_EQ(alert->charger_id, "cp1");
  EXPECT_EQ(alert->occurred_at, At("2026-12-07T08:00:00Z"));
  EXPECT_EQ(alert->data, (json{{"evse_id", 1},
                               {"connector_id", 2},
                               {"status", "Faulted"},
                               {"previous_status", "Available"},
                               {"source", "NotifyEvent"}}));
}

// A connector's reports one after the other: only the edges into Faulted raise.
TEST(AlertRules, ASequenceOfReportsRaisesOncePerFault) {
  const char* reports[] = {"Available", "Faulted",  "Faulted", "Faulted", "Available",
                           "Faulted",   "Occupied", "Faulted", "Faulted"};
  std::optional<std::string> stored;
  int raised = 0;
  for (const char* status : reports) {
    if (EntersFaulted(stored, status)) ++raised;
    stored = status;
  }
  EXPECT_EQ(raised, 3);
}

// ---- security_event ----

v1::ChargerEvent Event(const std::string& kind, const std::string& type,
                       const std::string& payload) {
  v1::ChargerEvent e;
  e.set_charger_id("cp1");
  e.set_kind(kind);
  e.set_type(type);
  *e.mutable_received_at() = ToProto(At("2026-12-07T08:00:01Z"));
  e.set_payload_json(payload);
  return e;
}

TEST(AlertRules, SecurityEventsOfTheChargerAndOfTheCsmsRaise) {
  v1::ChargerEvent charger = Event(
      "SecurityEventNotification", "TamperDetectionActivated",
      R"({"type":"TamperDetectionActivated","timestamp":"2026-12-07T08:00:00Z","techInfo":"lid"})");
  *charger.mutable_occurred_at() = ToProto(At("2026-12-07T08:00:00Z"));
  auto a = SecurityEventAlert(charger, 41);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->kind, AlertKind::kSecurityEvent);
  EXPECT_EQ(a->occurred_at, At("2026-12-07T08:00:00Z")) << "the charger's own time";
  EXPECT_EQ(a->data["event_id"], 41);
  EXPECT_EQ(a->data["source"], "charger");
  EXPECT_EQ(a->data["type"], "TamperDetectionActivated");
  EXPECT_EQ(a->data["tech_info"], "lid");
  EXPECT_EQ(a->data["payload"]["techInfo"], "lid");

  v1::ChargerEvent csms =
      Event(kCsmsSecurityEvent, "AuthenticationFailed", R"({"reason":"wrong password","count":1})");
  csms.set_client_address("10.1.2.3");
  auto b = SecurityEventAlert(csms, 42);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->data["source"], "csms");
  EXPECT_EQ(b->data["client_address"], "10.1.2.3");
  EXPECT_EQ(b->occurred_at, At("2026-12-07T08:00:01Z")) << "no charger time: when received";

  for (const char* kind : {"NotifyEvent", "StatusNotification", "FirmwareStatusNotification",
                           "MeterValues", "LogStatusNotification"}) {
    EXPECT_FALSE(SecurityEventAlert(Event(kind, "x", "{}"), 1)) << kind;
  }
}

// ---- charger_offline / charger_online ----

TEST(AlertRules, OfflineOncePerEpisode) {
  const milliseconds heartbeat = seconds(30), lookback = std::chrono::hours(24 * 7);
  const TimePoint seen = At("2026-12-07T08:00:00Z");
  struct Case {
    const char* name;
    milliseconds silent;
    bool episode_open;
    int n;
    milliseconds grace;
    bool raises;
  };
  const Case cases[] = {
      {"silent 89 s, N=3", seconds(89), false, 3, seconds(0), false},
      {"silent 90 s, N=3", seconds(90), false, 3, seconds(0), true},
      {"silent 31 s, N=1", seconds(31), false, 1, seconds(0), true},
      {"a late heartbeat, within the grace", seconds(33), false, 1, seconds(5), false},
      {"past the grace", seconds(35), false, 1, seconds(5), true},
      {"already alerted in this silence", seconds(3600), true, 3, seconds(0), false},
      {"gone longer than the lookback", std::chrono::hours(24 * 8), false, 3, seconds(0), false},
      {"N=0 is no threshold", seconds(3600), false, 0, seconds(0), false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ShouldRaiseOffline(seen, c.episode_open, seen + c.silent, heartbeat, c.n, c.grace,
                                 lookback),
              c.raises)
        << c.name;
  }
  // An episode: sweeps every 10 s over 5 minutes of silence raise one alert; a message ends it;
  // the next silence is a new episode.
  bool open = false;
  TimePoint last = seen;
  int offline = 0, online = 0;
  auto sweep_until = [&](TimePoint from, TimePoint to) {
    for (TimePoint now = from; now <= to; now += seconds(10)) {
      if (ShouldRaiseOffline(last, open, now, heartbeat, 3, seconds(5), lookback)) {
        ++offline;
        open = true;
      }
    }
  };
  sweep_until(seen, seen + seconds(300));
  EXPECT_EQ(offline, 1);
  const TimePoint back = seen + seconds(305);
  EXPECT_FALSE(EndsOfflineEpisode(open, last, seen - seconds(1))) << "a late, older report";
  if (EndsOfflineEpisode(open, last, back)) {
    ++online;
    open = false;
    last = back;
  }
  EXPECT_EQ(online, 1);
  EXPECT_FALSE(EndsOfflineEpisode(open, last, back + seconds(1))) << "no episode open";
  sweep_until(back, back + seconds(300));
  EXPECT_EQ(offline, 2);

  AlertDraft off = ChargerOfflineAlert("cp1", seen, heartbeat, 3);
  EXPECT_EQ(off.kind, AlertKind::kChargerOffline);
  EXPECT_EQ(off.offline_intervals, 3);
  EXPECT_EQ(off.occurred_at, seen + seconds(90));
  EXPECT_EQ(off.data["last_seen"], "2026-12-07T08:00:00.000Z");
  AlertDraft on = ChargerOnlineAlert("cp1", seen, back, 3);
  EXPECT_EQ(on.kind, AlertKind::kChargerOnline);
  EXPECT_EQ(on.occurred_at, back);
  EXPECT_DOUBLE_EQ(on.data["silent_s"].get<double>(), 305.0);
}

TEST(AlertRules, KindsByName) {
  for (AlertKind kind :
       {AlertKind::kConnectorFaulted, AlertKind::kSecurityEvent, AlertKind::kChargerOffline,
        AlertKind::kChargerOnline, AlertKind::kFirmwareFailed, AlertKind::kSessionNeedsReview,
        AlertKind::kWebhookTest}) {
    EXPECT_EQ(ParseAlertKind(AlertKindName(kind)), kind) << AlertKindName(kind);
  }
  EXPECT_FALSE(ParseAlertKind("log_upload_failed")) << "not a kind";
  const auto& subscribable = SubscribableAlertKinds();
  EXPECT_EQ(std::set<std::string>(subscribable.begin(), subscribable.end()),
            (std::set<std::string>{"connector_faulted", "security_event", "charger_offline",
                                   "charger_online", "firmware_failed", "session_needs_review"}));
}

TEST(AlertRules, FirmwareFailedNamesTheJob) {
  v1::FirmwareJob job;
  job.set_job_id(7);
  job.set_charger_id("cp1");
  job.set_request_id(42);
  job.set_state("InvalidSignature");
  job.set_location("https://fw.example.com/fw-2.bin");
  job.set_firmware_version_before("1.0.0");
  const AlertDraft d = FirmwareFailedAlert(job, At("2026-12-07T08:00:00Z"));
  EXPECT_EQ(d.kind, AlertKind::kFirmwareFailed);
  EXPECT_EQ(d.charger_id, "cp1");
  EXPECT_EQ(d.occurred_at, At("2026-12-07T08:00:00Z"));
  EXPECT_EQ(d.data, (nlohmann::json{{"job_id", 7},
                                    {"request_id", 42},
                                    {"state", "InvalidSignature"},
                                    {"location", "https://fw.example.com/fw-2.bin"},
                                    {"firmware_version_before", "1.0.0"},
                                    {"detail", ""}}));
}

TEST(AlertRules, TheBodyIsFixedAtRaiseTime) {
  AlertDraft d = *ConnectorFaultedAlert("cp1", 1, 1, "Faulted", At("2026-12-07T08:00:00Z"),
                                        std::string("Available"), "StatusNotification");
  const std::string body = AlertBody("3b241101-e2bb-4255-8caf-4136c566a962", d,
                                     std::string("site-1"), At("2026-12-07T08:00:00.250Z"));
  EXPECT_EQ(body, AlertBody("3b241101-e2bb-4255-8caf-4136c566a962", d, std::string("site-1"),
                            At("2026-12-07T08:00:00.250Z")));
  json parsed = json::parse(body);
  EXPECT_EQ(parsed["id"], "3b241101-e2bb-4255-8caf-4136c566a962");
  EXPECT_EQ(parsed["kind"], "connector_faulted");
  EXPECT_EQ(parsed["charger_id"], "cp1");
  EXPECT_EQ(parsed["station_id"], "site-1");
  EXPECT_EQ(parsed["occurred_at"], "2026-12-07T08:00:00.000Z");
  EXPECT_EQ(parsed["raised_at"], "2026-12-07T08:00:00.250Z");
  EXPECT_EQ(parsed["data"]["status"], "Faulted");
  EXPECT_TRUE(json::parse(AlertBody("u", WebhookTestAlert(7, At("2026-12-07T08:00:00Z"), "boss"),
                                    std::nullopt, At("2026-12-07T08:00:00Z")))["charger_id"]
                  .is_null());

  std::set<std::string> uids;
  for (int i = 0; i < 100; ++i) {
    std::string uid = RandomUuid();
    ASSERT_EQ(uid.size(), 36u);
    EXPECT_EQ(uid[14], '4') << uid;
    EXPECT_NE(std::string("89ab").find(uid[19]), std::string::npos) << uid;
    uids.insert(uid);
  }
  EXPECT_EQ(uids.size(), 100u);
}

// ---- the delivery ----

// The vector was computed independently (Python's hmac module).
TEST(WebhookDelivery, SignatureMatchesAFixedVector) {
  const std::string body =
      R"({"id":"3b241101-e2bb-4255-8caf-4136c566a962","kind":"connector_faulted"})";
  EXPECT_EQ(WebhookSignature("whsec_test_0123456789abcdef", "1765094400", body),
            "v1=ea292a6c49ee8b2f81f62dd3a68d7884942a56aa647bfcb3ea280fac420687e1");
  EXPECT_NE(WebhookSignature("whsec_test_0123456789abcdef", "1765094401", body),
            WebhookSignature("whsec_test_0123456789abcdef", "1765094400", body));

  WebhookRequest r = BuildWebhookRequest(
      "https://hooks.example.com/csms", "whsec_test_0123456789abcdef",
      "3b241101-e2bb-4255-8caf-4136c566a962", body, 3, TimePoint(seconds(1765094400)), seconds(10));
  std::map<std::string, std::string> headers(r.headers.begin(), r.headers.end());
  EXPECT_EQ(r.body, body) << "the stored body, byte for byte";
  EXPECT_EQ(headers["Idempotency-Key"], "3b241101-e2bb-4255-8caf-4136c566a962");
  EXPECT_EQ(headers["X-CSMS-Timestamp"], "1765094400");
  EXPECT_EQ(headers["X-CSMS-Delivery-Attempt"], "3");
  EXPECT_EQ(headers["X-CSMS-Signature"],
            "v1=ea292a6c49ee8b2f81f62dd3a68d7884942a56aa647bfcb3ea280fac420687e1");
  EXPECT_EQ(headers["Content-Type"], "application/json");

  const std::string secret = NewWebhookSecret();
  EXPECT_EQ(secret.rfind("whsec_", 0), 0u);
  EXPECT_EQ(secret.size(), 6u + 64u);
  EXPECT_NE(secret, NewWebhookSecret());
}

TEST(WebhookDelivery, WhatAnAnswerMeans) {
  const std::pair<int, DeliveryOutcome> cases[] = {
      {0, DeliveryOutcome::kRetry},  // refused, reset, TLS, timeout
      {200, DeliveryOutcome::kDelivered}, {201, DeliveryOutcome::kDelivered},
      {202, DeliveryOutcome::kDelivered}, {204, DeliveryOutcome::kDelivered},
      {299, DeliveryOutcome::kDelivered}, {301, DeliveryOutcome::kRejected},
      {302, DeliveryOutcome::kRejected},  {307, DeliveryOutcome::kRejected},
      {400, DeliveryOutcome::kRejected},  {401, DeliveryOutcome::kRejected},
      {403, DeliveryOutcome::kRejected},  {404, DeliveryOutcome::kRejected},
      {408, DeliveryOutcome::kRetry},     {409, DeliveryOutcome::kRejected},
      {410, DeliveryOutcome::kRejected},  {413, DeliveryOutcome::kRejected},
      {422, DeliveryOutcome::kRejected},  {429, DeliveryOutcome::kRetry},
      {500, DeliveryOutcome::kRetry},     {502, DeliveryOutcome::kRetry},
      {503, DeliveryOutcome::kRetry},     {504, DeliveryOutcome::kRetry},
      {599, DeliveryOutcome::kRetry},
  };
  for (const auto& [status, outcome] : cases) {
    EXPECT_EQ(ClassifyAttempt(status), outcome) << status;
  }
  EXPECT_STREQ(OutcomeName(DeliveryOutcome::kDelivered), "delivered");
  EXPECT_STREQ(OutcomeName(DeliveryOutcome::kRetry), "retry");
  EXPECT_STREQ(OutcomeName(DeliveryOutcome::kRejected), "rejected");
}

TEST(WebhookDelivery, BackoffDoublesWithinItsBounds) {
  RetryPolicy policy{seconds(1), seconds(600)};
  for (int attempt = 1; attempt <= 20; ++attempt) {
    const double base = std::min(600.0, std::ldexp(1.0, attempt - 1));
    for (double r : {0.0, 0.25, 0.5, 0.75, 1.0}) {
      const double got = policy.Backoff(attempt, r).count() / 1000.0;
      EXPECT_GE(got, std::min(600.0, 0.8 * base) - 0.001) << attempt << " " << r;
      EXPECT_LE(got, std::min(600.0, 1.2 * base) + 0.001) << attempt << " " << r;
    }
  }
  EXPECT_EQ(policy.Backoff(1, 0.5), seconds(1));
  EXPECT_EQ(policy.Backoff(4, 0.5), seconds(8));
  EXPECT_EQ(policy.Backoff(100, 1.0), seconds(600)) << "capped, jitter included";
  EXPECT_EQ(policy.Backoff(0, 0.5), seconds(1));

  // Retry-After wins, at least the minimum and at most an hour.
  EXPECT_EQ(policy.Delay(1, seconds(30), 0.5), seconds(30));
  EXPECT_EQ(policy.Delay(9, seconds(0), 0.5), seconds(1));
  EXPECT_EQ(policy.Delay(1, std::chrono::hours(5), 0.5), std::chrono::hours(1));
  EXPECT_EQ(policy.Delay(3, std::nullopt, 0.5), seconds(4));
}

TEST(WebhookDelivery, RetryAfterInBothForms) {
  const TimePoint now = At("2026-10-21T07:28:00Z");
  struct Case {
    const char* value;
    std::optional<milliseconds> expected;
  };
  const Case cases[] = {
      {"120", seconds(120)},
      {" 5 ", seconds(5)},
      {"0", seconds(0)},
      {"Wed, 21 Oct 2026 07:28:30 GMT", seconds(30)},
      {"Wed, 21 Oct 2026 07:27:00 GMT", seconds(0)},  // in the past
      {"", std::nullopt},
      {"-1", std::nullopt},
      {"soon", std::nullopt},
      {"1.5", std::nullopt},
      {"Wed, 21 Oct 2026 07:28:30", std::nullopt},
      {"99999999999", std::chrono::hours(1)},
  };
  for (const auto& c : cases) EXPECT_EQ(ParseRetryAfter(c.value, now), c.expected) << c.value;
}

TEST(WebhookDelivery, Urls) {
  struct Case {
    const char* url;
    bool ok;
    bool tls;
    const char* host;
    const char* port;
    const char* target;
  };
  const Case cases[] = {
      {"http://127.0.0.1:8099/hook", true, false, "127.0.0.1", "8099", "/hook"},
      {"https://hooks.example.com/csms?team=ops", true, true, "hooks.example.com", "443",
       "/csms?team=ops"},
      {"HTTPS://Example.com", true, true, "Example.com", "443", "/"},
      {"http://example.com?x=1", true, false, "example.com", "80", "/?x=1"},
      {"http://[::1]:9000/h", true, false, "::1", "9000", "/h"},
      {"ftp://example.com/", false},
      {"example.com/hook", false},
      {"http:///hook", false},
      {"http://user:pw@example.com/", false},
      {"http://example.com/#frag", false},
      {"http://example.com:0/", false},
      {"http://example.com:70000/", false},
      {"http://exa mple.com/", false},
      {"http://::1/", false},
  };
  for (const auto& c : cases) {
    std::string error;
    auto url = ParseWebhookUrl(c.url, &error);
    ASSERT_EQ(url.has_value(), c.ok) << c.url << ": " << error;
    if (!c.ok) {
      EXPECT_FALSE(error.empty()) << c.url;
      continue;
    }
    EXPECT_EQ(url->tls, c.tls) << c.url;
    EXPECT_EQ(url->host, c.host) << c.url;
    EXPECT_EQ(url->port, c.port) << c.url;
    EXPECT_EQ(url->target, c.target) << c.url;
  }
  EXPECT_FALSE(ParseWebhookUrl("https://example.com/" + std::string(2100, 'a')));
}

}  // namespace
}  // namespace csms::control

namespace csms::control {
namespace {

TEST(AlertRules, SessionNeedsReviewOnlyForTheEventThatRaisedIt) {
  v1::TransactionEventReport report;
  report.mutable_event()->set_charger_id("cp1");
  report.mutable_event()->set_transaction_id("tx-1");
  report.mutable_event()->set_evse_id(2);
  report.set_energy_consumed_kwh(0.5);
  report.set_total_cost(75);
  report.set_currency("KRW");
  const TimePoint at = *ParseRfc3339("2026-12-07T10:00:00Z");
  EXPECT_FALSE(SessionNeedsReviewAlert(report, at));
  report.set_review_raised(true);
  report.set_review_reason("the energy register rose ...");
  const auto d = SessionNeedsReviewAlert(report, at);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->kind, AlertKind::kSessionNeedsReview);
  EXPECT_EQ(d->charger_id, "cp1");
  EXPECT_EQ(d->data["transaction_id"], "tx-1");
  EXPECT_EQ(d->data["evse_id"], 2);
  EXPECT_EQ(d->data["reason"], "the energy register rose ...");
  EXPECT_EQ(d->data["energy_consumed"], 0.5);
}

}  // namespace
}  // namespace csms::control
