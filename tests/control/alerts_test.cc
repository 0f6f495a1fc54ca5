// Alerts against a real PostgreSQL: raised in the transaction of their cause (the registry
// batch: connector status, event log, last seen; the offline sweep), each with one delivery per
// webhook that wants it at that moment.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "csms/common/pg_sql.h"
#include "csms/control/alert_store.h"
#include "csms/control/migrations.h"
#include "csms/control/registry_store.h"
#include "csms/control/webhook_store.h"
#include "pg_test_db.h"

namespace csms::control {
namespace {

using csms::testing::TestDatabase;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

TimePoint At(const char* rfc3339) { return *ParseRfc3339(rfc3339); }

class AlertsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CSMS_REQUIRE_DATABASE(db_);
    {
      pqxx::connection conn(db_.url());
      pg::ApplyMigrations(conn, "control", ControlMigrations());
    }
    pool_ = std::make_unique<pg::Pool>(db_.url(), 2);
    registry_ = std::make_unique<RegistryStore>(*pool_);
    alerts_ = std::make_unique<AlertStore>(*pool_);
    webhooks_ = std::make_unique<WebhookStore>(*pool_);
  }

  int64_t Webhook(std::vector<std::string> kinds, int n = 3,
                  std::optional<std::vector<std::string>> chargers = std::nullopt,
                  bool enabled = true) {
    WebhookRecord w;
    w.url = "http://127.0.0.1:9/hook";
    w.secret = "whsec_0123456789abcdef";
    w.kinds = std::move(kinds);
    w.offline_intervals = n;
    w.charger_ids = std::move(chargers);
    w.enabled = enabled;
    return webhooks_->Create(w).id;
  }

  void Apply(std::vector<WriteOp> ops) {
    std::vector<const WriteOp*> pointers;
    for (const auto& op : ops) pointers.push_back(&op);
    registry_->ApplyBatch(pointers);
  }

  // A new connection each time (a retried report of the same one changes nothing).
  void Connect(const std::string& charger, TimePoint at) {
    Apply({ConnectOp{charger, "conn-" + std::to_string(++connections_), "gw:1", at}});
  }

  static WriteOp Status(const std::string& charger, const std::string& status, TimePoint at,
                        bool from_status_notification = true) {
    StatusOp op{charger, "", 1, 1, status, at};
    op.from_status_notification = from_status_notification;
    return op;
  }

  static WriteOp Seen(const std::string& charger, TimePoint at) {
    return LastSeenOp{{LastSeenEntry{charger, at}}};
  }

  static v1::ChargerEvent Security(const std::string& charger, const std::string& type,
                                   const std::string& tech_info) {
    v1::ChargerEvent e;
    e.set_charger_id(charger);
    e.set_kind("SecurityEventNotification");
    e.set_type(type);
    *e.mutable_received_at() = ToProto(RealClock().Now());
    e.set_payload_json(
        json{{"type", type}, {"timestamp", "2026-12-07T08:00:00.000Z"}, {"techInfo", tech_info}}
            .dump());
    return e;
  }

  // The alerts of a charger, oldest first, as "kind" or "kind/N".
  std::vector<std::string> Alerts(const std::string& charger) {
    std::vector<std::string> out;
    auto page = alerts_->List({charger, {}}, 500, "");
    for (auto it = page.alerts.rbegin(); it != page.alerts.rend(); ++it) {
      json body = json::parse(it->body);
      std::string entry = it->kind;
      if (body["data"].contains("offline_intervals")) {
        entry += "/" + std::to_string(body["data"]["offline_intervals"].get<int>());
      }
      out.push_back(entry);
    }
    return out;
  }

  int64_t Scalar(const std::string& sql) {
    pqxx::connection conn(db_.url());
    pqxx::read_transaction txn(conn);
    return txn.exec1(sql)[0].as<int64_t>();
  }

  int64_t Deliveries(int64_t webhook) {
    return Scalar("SELECT count(*) FROM webhook_deliveries WHERE webhook_id = " +
                  std::to_string(webhook));
  }

  TestDatabase db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<RegistryStore> registry_;
  std::unique_ptr<AlertStore> alerts_;
  std::unique_ptr<WebhookStore> webhooks_;
  int connections_ = 0;
};

TEST_F(AlertsTest, AConnectorGoingIntoFaultedRaisesOncePerFault) {
  const int64_t faults = Webhook({"connector_faulted"});
  const int64_t security_only = Webhook({"security_event"});
  const int64_t other_charger = Webhook({"connector_faulted"}, 3, std::vector<std::string>{"cp9"});
  const int64_t disabled = Webhook({"connector_faulted"}, 3, std::nullopt, false);
  const int64_t this_charger = Webhook({"connector_faulted"}, 3, std::vector<std::string>{"cp1"});
  Connect("cp1", At("2026-12-07T08:00:00Z"));

  Apply({Status("cp1", "Available", At("2026-12-07T08:00:01Z"))});
  EXPECT_TRUE(Alerts("cp1").empty());
  Apply({Status("cp1", "Faulted", At("2026-12-07T08:00:02Z"))});
  EXPECT_EQ(Alerts("cp1"), std::vector<std::string>{"connector_faulted"});
  // Faulted → Faulted (a repeat, a reboot's report): nothing.
  Apply({Status("cp1", "Faulted", At("2026-12-07T08:00:03Z"))});
  // A late report, older than the one stored, is not stored and raises nothing.
  Apply({Status("cp1", "Faulted", At("2026-12-07T07:59:00Z"))});
  EXPECT_EQ(Alerts("cp1").size(), 1u);
  // Out of Faulted and in again, reported by NotifyEvent (Connector.AvailabilityState).
  Apply({Status("cp1", "Available", At("2026-12-07T08:00:04Z"), false)});
  Apply({Status("cp1", "Faulted", At("2026-12-07T08:00:05Z"), false)});
  EXPECT_EQ(Alerts("cp1"), (std::vector<std::string>{"connector_faulted", "connector_faulted"}));

  auto page = alerts_->List({"cp1", {}}, 10, "");
  json newest = json::parse(page.alerts.front().body);
  EXPECT_EQ(newest["data"]["source"], "NotifyEvent");
  EXPECT_EQ(newest["data"]["previous_status"], "Available");
  EXPECT_EQ(newest["occurred_at"], "2026-12-07T08:00:05.000Z");
  EXPECT_EQ(newest["id"], page.alerts.front().uid);

  EXPECT_EQ(Deliveries(faults), 2);
  EXPECT_EQ(Deliveries(this_charger), 2);
  EXPECT_EQ(Deliveries(security_only), 0);
  EXPECT_EQ(Deliveries(other_charger), 0);
  EXPECT_EQ(Deliveries(disabled), 0);

  // Several reports of one connector in one batch: the edges among them.
  Connect("cp2", At("2026-12-07T08:00:00Z"));
  Apply({Status("cp2", "Available", At("2026-12-07T08:00:01Z")),
         Status("cp2", "Faulted", At("2026-12-07T08:00:02Z")),
         Status("cp2", "Faulted", At("2026-12-07T08:00:03Z")),
         Status("cp2", "Occupied", At("2026-12-07T08:00:04Z")),
         Status("cp2", "Faulted", At("2026-12-07T08:00:05Z"))});
  EXPECT_EQ(Alerts("cp2"), (std::vector<std::string>{"connector_faulted", "connector_faulted"}));
}

TEST_F(AlertsTest, ASecurityEventRaisesOnceAndARepeatNothing) {
  const int64_t hook = Webhook({"security_event"});
  Connect("cp1", At("2026-12-07T08:00:00Z"));
  auto record = [&](std::vector<v1::ChargerEvent> events) {
    Apply({ChargerEventsOp{std::move(events)}});
  };
  record({Security("cp1", "TamperDetectionActivated", "lid")});
  record({Security("cp1", "TamperDetectionActivated", "lid")});  // the charger's retry
  EXPECT_EQ(Alerts("cp1"), std::vector<std::string>{"security_event"});
  // Two in one message, one a repeat within it.
  record({Security("cp1", "FirmwareSignatureInvalid", "x"),
          Security("cp1", "FirmwareSignatureInvalid", "x"),
          Security("cp1", "InvalidCsmsCertificate", "y")});
  EXPECT_EQ(Alerts("cp1").size(), 3u);
  // The CSMS's own, and what is not a security event.
  v1::ChargerEvent refused;
  refused.set_charger_id("cp1");
  refused.set_kind(kCsmsSecurityEvent);
  refused.set_type("AuthenticationFailed");
  *refused.mutable_received_at() = ToProto(RealClock().Now());
  refused.set_client_address("10.9.8.7");
  refused.set_payload_json(R"({"reason":"wrong password"})");
  v1::ChargerEvent notify = refused;
  notify.set_kind("NotifyEvent");
  notify.set_type("EVSE.Problem");
  record({refused, notify});
  EXPECT_EQ(Alerts("cp1").size(), 4u);
  json last = json::parse(alerts_->List({"cp1", {}}, 1, "").alerts.front().body);
  EXPECT_EQ(last["data"]["source"], "csms");
  EXPECT_EQ(last["data"]["client_address"], "10.9.8.7");
  EXPECT_GT(last["data"]["event_id"].get<int64_t>(), 0);
  EXPECT_EQ(Deliveries(hook), 4);
  // The kind filter.
  EXPECT_EQ(alerts_->List({"", {"security_event"}}, 50, "").alerts.size(), 4u);
  EXPECT_EQ(alerts_->List({"", {"connector_faulted"}}, 50, "").alerts.size(), 0u);
}

TEST_F(AlertsTest, AWebhookGetsOnlyWhatIsRaisedWhileItExists) {
  Connect("cp1", At("2026-12-07T08:00:00Z"));
  const int64_t early = Webhook({"connector_faulted"});
  Apply({Status("cp1", "Faulted", At("2026-12-07T08:00:01Z"))});
  const int64_t late = Webhook({"connector_faulted"});
  EXPECT_EQ(Deliveries(early), 1);
  EXPECT_EQ(Deliveries(late), 0);
  ASSERT_TRUE(webhooks_->Delete(early));
  EXPECT_EQ(Scalar("SELECT count(*) FROM webhook_deliveries"), 0) << "dropped with it";
  EXPECT_EQ(Scalar("SELECT count(*) FROM alerts"), 1) << "the alert stays";
}

TEST_F(AlertsTest, OfflineOncePerEpisodeThenOnlineWithItsNextMessage) {
  const milliseconds heartbeat = seconds(30), lookback = std::chrono::hours(24 * 7);
  const int64_t one = Webhook({"charger_offline", "charger_online"}, 1);
  const int64_t three = Webhook({"charger_offline", "charger_online"}, 3);
  const int64_t faults = Webhook({"connector_faulted"}, 5);  // watches no silence
  const TimePoint t0 = RealClock().Now() - seconds(10);
  Connect("cp1", t0);
  Connect("cp2", t0 + seconds(25));

  EXPECT_EQ(alerts_->SweepOffline(t0 + seconds(29), heartbeat, milliseconds(0), lookback).raised,
            0);
  EXPECT_EQ(alerts_->SweepOffline(t0 + seconds(31), heartbeat, seconds(5), lookback).raised, 0)
      << "within the grace";
  auto swept = alerts_->SweepOffline(t0 + seconds(31), heartbeat, milliseconds(0), lookback);
  EXPECT_TRUE(swept.ran);
  EXPECT_EQ(swept.raised, 1);
  EXPECT_EQ(Alerts("cp1"), std::vector<std::string>{"charger_offline/1"});
  EXPECT_EQ(alerts_->SweepOffline(t0 + seconds(41), heartbeat, milliseconds(0), lookback).raised, 0)
      << "once per episode";
  EXPECT_EQ(alerts_->SweepOffline(t0 + seconds(91), heartbeat, milliseconds(0), lookback).raised, 2)
      << "cp1 at N=3, cp2 at N=1";
  EXPECT_EQ(Alerts("cp1"), (std::vector<std::string>{"charger_offline/1", "charger_offline/3"}));
  EXPECT_EQ(Alerts("cp2"), std::vector<std::string>{"charger_offline/1"});

  // A late report of an older message does not end the silence; the next message does, for
  // each N whose episode is open.
  Apply({Seen("cp1", t0 - seconds(5))});
  EXPECT_EQ(Alerts("cp1").size(), 2u);
  Apply({Seen("cp1", t0 + seconds(100))});
  EXPECT_EQ(Alerts("cp1"), (std::vector<std::string>{"charger_offline/1", "charger_offline/3",
                                                     "charger_online/1", "charger_online/3"}));
  Apply({Seen("cp1", t0 + seconds(101))});
  EXPECT_EQ(Alerts("cp1").size(), 4u) << "online once";
  // Each went to the webhook of its N.
  EXPECT_EQ(Deliveries(one), 3);    // cp1 offline+online, cp2 offline at N=1
  EXPECT_EQ(Deliveries(three), 2);  // cp1 offline+online at N=3
  EXPECT_EQ(Deliveries(faults), 0);

  // Silent again: a new episode (cp1 was last seen at t0 + 101 s; cp2 reaches N=3 meanwhile).
  EXPECT_EQ(alerts_->SweepOffline(t0 + seconds(120), heartbeat, milliseconds(0), lookback).raised,
            1);
  EXPECT_EQ(Alerts("cp2"), (std::vector<std::string>{"charger_offline/1", "charger_offline/3"}));
  EXPECT_EQ(alerts_->SweepOffline(t0 + seconds(131), heartbeat, milliseconds(0), lookback).raised,
            1);
  EXPECT_EQ(Alerts("cp1").back(), "charger_offline/1");
  // A reconnect is a message too.
  Connect("cp1", t0 + seconds(140));
  EXPECT_EQ(Alerts("cp1").back(), "charger_online/1");

  // Gone longer than the lookback: not news.
  Connect("cp_old", t0 - std::chrono::hours(24 * 8));
  alerts_->SweepOffline(t0 + seconds(150), heartbeat, milliseconds(0), lookback);
  EXPECT_TRUE(Alerts("cp_old").empty());
  // Without a webhook that watches silence, no sweep raises anything.
  ASSERT_TRUE(webhooks_->Delete(one));
  ASSERT_TRUE(webhooks_->Delete(three));
  EXPECT_EQ(alerts_->SweepOffline(t0 + std::chrono::hours(1), heartbeat, milliseconds(0), lookback)
                .raised,
            0);
}

TEST_F(AlertsTest, AlertsOfAStationsChargerNameIt) {
  Webhook({"connector_faulted"});
  Connect("cp1", At("2026-12-07T08:00:00Z"));
  {
    pqxx::connection conn(db_.url());
    pqxx::work txn(conn);
    txn.exec0(
        "INSERT INTO stations (station_id, name, latitude, longitude) VALUES ('s1', 'S', 1, 2)");
    txn.exec0("INSERT INTO station_chargers (charger_id, station_id) VALUES ('cp1', 's1')");
    txn.commit();
  }
  Apply({Status("cp1", "Faulted", At("2026-12-07T08:00:01Z"))});
  json body = json::parse(alerts_->List({"cp1", {}}, 1, "").alerts.front().body);
  EXPECT_EQ(body["station_id"], "s1");
  EXPECT_EQ(body["charger_id"], "cp1");
}

TEST_F(AlertsTest, ListIsPagedNewestFirst) {
  Webhook({"connector_faulted"});
  for (int i = 0; i < 5; ++i) {
    const std::string id = "cp" + std::to_string(i);
    Connect(id, At("2026-12-07T08:00:00Z"));
    Apply({Status(id, "Faulted", At("2026-12-07T08:00:01Z"))});
  }
  auto first = alerts_->List({}, 2, "");
  ASSERT_EQ(first.alerts.size(), 2u);
  EXPECT_EQ(first.alerts[0].charger_id, "cp4");
  ASSERT_FALSE(first.next_cursor.empty());
  auto second = alerts_->List({}, 2, first.next_cursor);
  EXPECT_EQ(second.alerts[0].charger_id, "cp2");
  auto last = alerts_->List({}, 2, second.next_cursor);
  ASSERT_EQ(last.alerts.size(), 1u);
  EXPECT_EQ(last.alerts[0].charger_id, "cp0");
  EXPECT_TRUE(last.next_cursor.empty());
  EXPECT_THROW(alerts_->List({}, 2, "e1"), std::invalid_argument);
}

}  // namespace
}  // namespace csms::control
