// The charger event log against a real PostgreSQL: storing through the registry batch (as the
// gateways' reports arrive), repeats stored once, the status history, reading it back paged and
// filtered, and the day partitions' upkeep.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "csms/common/pg_sql.h"
#include "csms/control/event_log_store.h"
#include "csms/control/migrations.h"
#include "csms/control/registry_store.h"
#include "pg_test_db.h"

namespace csms::control {
namespace {

using csms::testing::TestDatabase;
using namespace std::chrono_literals;

TimePoint At(const char* rfc3339) { return *ParseRfc3339(rfc3339); }

v1::ChargerEvent Event(const std::string& charger, const std::string& kind, const std::string& type,
                       const std::string& payload, TimePoint received = RealClock().Now()) {
  v1::ChargerEvent e;
  e.set_charger_id(charger);
  e.set_kind(kind);
  e.set_type(type);
  *e.mutable_received_at() = ToProto(received);
  e.set_payload_json(payload);
  return e;
}

class EventLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CSMS_REQUIRE_DATABASE(db_);
    {
      pqxx::connection conn(db_.url());
      pg::ApplyMigrations(conn, "control", ControlMigrations());
    }
    pool_ = std::make_unique<pg::Pool>(db_.url(), 2);
    registry_ = std::make_unique<RegistryStore>(*pool_);
    events_ = std::make_unique<EventLogStore>(*pool_);
  }

  // As the gateway's RecordChargerEvents arrives: one op in one batch.
  void Record(std::vector<v1::ChargerEvent> events) {
    WriteOp op = ChargerEventsOp{std::move(events)};
    registry_->ApplyBatch({&op});
  }

  std::vector<std::string> Types(const EventFilter& filter, int limit = 50) {
    std::vector<std::string> out;
    for (const auto& e : events_->List(filter, limit, "").events) out.push_back(e.type());
    return out;
  }

  int64_t Count(const std::string& where = "true") {
    pqxx::connection conn(db_.url());
    pqxx::read_transaction txn(conn);
    return txn.exec1("SELECT count(*) FROM charger_events WHERE " + where)[0].as<int64_t>();
  }

  TestDatabase db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<RegistryStore> registry_;
  std::unique_ptr<EventLogStore> events_;
};

TEST_F(EventLogTest, StoresEveryFieldAndReadsBackNewestFirstPaged) {
  v1::ChargerEvent full = Event("cp1", "SecurityEventNotification", "TamperDetectionActivated",
                                R"({"type":"TamperDetectionActivated","techInfo":"lid"})");
  *full.mutable_occurred_at() = ToProto(At("2026-12-07T08:00:00.250Z"));
  full.set_connection_id("conn-1");
  full.set_evse_id(2);
  full.set_connector_id(1);
  full.set_request_id(77);
  full.set_client_address("10.0.0.9:5555");
  Record({full});
  for (int i = 0; i < 4; ++i) {
    Record({Event("cp1", "NotifyEvent", "Connector.Problem" + std::to_string(i),
                  R"({"eventId":)" + std::to_string(i) + "}")});
  }
  Record({Event("cp2", "NotifyEvent", "other charger", "{}")});

  EventPage first = events_->List({"cp1"}, 3, "");
  ASSERT_EQ(first.events.size(), 3u);
  EXPECT_EQ(first.events[0].type(), "Connector.Problem3");
  EXPECT_EQ(first.events[2].type(), "Connector.Problem1");
  ASSERT_FALSE(first.next_cursor.empty());
  EventPage second = events_->List({"cp1"}, 3, first.next_cursor);
  ASSERT_EQ(second.events.size(), 2u);
  EXPECT_TRUE(second.next_cursor.empty());
  const v1::ChargerEvent& back = second.events[1];
  EXPECT_EQ(back.kind(), "SecurityEventNotification");
  EXPECT_EQ(back.type(), "TamperDetectionActivated");
  EXPECT_EQ(FromProto(back.occurred_at()), At("2026-12-07T08:00:00.250Z"));
  // Stored to the millisecond, as every time in the schema.
  EXPECT_EQ(pg::EpochMs(FromProto(back.received_at())), pg::EpochMs(FromProto(full.received_at())));
  EXPECT_EQ(back.connection_id(), "conn-1");
  EXPECT_EQ(back.evse_id(), 2);
  EXPECT_EQ(back.connector_id(), 1);
  EXPECT_EQ(back.request_id(), 77);
  EXPECT_EQ(back.client_address(), "10.0.0.9:5555");
  EXPECT_EQ(nlohmann::json::parse(back.payload_json()), nlohmann::json::parse(full.payload_json()));
  EXPECT_FALSE(second.events[0].has_occurred_at());
  EXPECT_FALSE(second.events[0].has_evse_id());
  EXPECT_THROW(events_->List({"cp1"}, 3, "c12"), std::invalid_argument);
  EXPECT_THROW(events_->List({"cp1"}, 3, "e"), std::invalid_argument);
}

TEST_F(EventLogTest, FiltersByKindTypeAndReceiptTime) {
  const TimePoint now = RealClock().Now();
  Record({Event("cp1", "FirmwareStatusNotification", "Downloading", R"({"n":1})", now - 2h),
          Event("cp1", "FirmwareStatusNotification", "Installed", R"({"n":2})", now - 1h),
          Event("cp1", "LogStatusNotification", "Uploaded", R"({"n":3})", now),
          Event("cp1", "MeterValues", "Sample.Periodic", R"({"n":4})", now)});
  EXPECT_EQ(Types({"cp1", {"FirmwareStatusNotification"}}),
            (std::vector<std::string>{"Installed", "Downloading"}));
  EXPECT_EQ(Types({"cp1", {"LogStatusNotification", "MeterValues"}}),
            (std::vector<std::string>{"Sample.Periodic", "Uploaded"}));
  EXPECT_EQ(Types({"cp1", {}, "Installed"}), (std::vector<std::string>{"Installed"}));
  EXPECT_EQ(Types({"cp1", {}, "", now - 90min}),
            (std::vector<std::string>{"Sample.Periodic", "Uploaded", "Installed"}));
  EXPECT_TRUE(Types({"cp1", {"SecurityEventNotification"}}).empty());
  EXPECT_TRUE(Types({"nobody"}).empty());
}

TEST_F(EventLogTest, ARepeatedReportIsStoredOnce) {
  const auto security = Event("cp1", "SecurityEventNotification", "FirmwareUpdated",
                              R"({"type":"FirmwareUpdated","timestamp":"2026-12-07T08:00:00Z"})");
  Record({security});
  Record({security});            // the charger retried: it got no answer
  Record({security, security});  // twice in one batch
  EXPECT_EQ(Count(), 1);
  // The same type at another time is another event; so is the same payload from another charger.
  auto later = security;
  later.set_payload_json(R"({"type":"FirmwareUpdated","timestamp":"2026-12-07T09:00:00Z"})");
  auto elsewhere = security;
  elsewhere.set_charger_id("cp2");
  Record({later, elsewhere});
  EXPECT_EQ(Count(), 3);
}

TEST_F(EventLogTest, RefusedLoginsFoldIntoOneEventPerMinuteAndAddress) {
  auto refusal = [](const char* address, TimePoint at) {
    v1::ChargerEvent e = Event("cp1", kCsmsSecurityEvent, "AuthenticationFailed",
                               R"({"reason":"wrong password"})", at);
    e.set_client_address(address);
    return e;
  };
  const TimePoint minute = At("2026-12-07T08:00:00Z");
  for (int i = 0; i < 20; ++i) Record({refusal("203.0.113.5:40000", minute + i * 2s)});
  EXPECT_EQ(Count(), 1) << "one attacker guessing for 40 s";
  Record({refusal("203.0.113.5:40000", minute + 61s), refusal("198.51.100.7:1", minute)});
  EXPECT_EQ(Count(), 3);
}

TEST_F(EventLogTest, StatusNotificationsMakeTheStatusHistory) {
  registry_->MarkConnected("cp1", "conn-1", "127.0.0.1:1", RealClock().Now());
  StatusOp occupied{"cp1", "conn-1", 1, 1, "Occupied", At("2026-12-07T08:00:00Z")};
  occupied.from_status_notification = true;
  StatusOp available{"cp1", "conn-1", 1, 1, "Available", At("2026-12-07T07:00:00Z")};
  available.from_status_notification = true;  // older: not live, but part of the history
  StatusOp from_notify_event{"cp1", "conn-1", 1, 2, "Faulted", At("2026-12-07T08:01:00Z")};
  WriteOp a = occupied, b = available, c = from_notify_event;
  registry_->ApplyBatch({&a, &b, &c});

  auto page = events_->List({"cp1", {"StatusNotification"}}, 10, "");
  ASSERT_EQ(page.events.size(), 2u);
  EXPECT_EQ(page.events[0].type(), "Available");
  EXPECT_EQ(page.events[1].type(), "Occupied");
  EXPECT_EQ(FromProto(page.events[1].occurred_at()), At("2026-12-07T08:00:00Z"));
  EXPECT_EQ(page.events[1].evse_id(), 1);
  EXPECT_EQ(page.events[1].connector_id(), 1);
  EXPECT_EQ(nlohmann::json::parse(page.events[1].payload_json())["connectorStatus"], "Occupied");
  EXPECT_EQ(registry_->FindCharger("cp1")->connectors.at(0).status, "Occupied");
}

TEST_F(EventLogTest, DayPartitionsAheadStraysMovedAndExpiredDaysDropped) {
  const TimePoint now = At("2026-12-07T12:00:00Z");
  EventLogMaintenance first = events_->Maintain(now, 7, 90 * 24h);
  EXPECT_EQ(first.created, 9) << "yesterday, today and 7 days ahead";
  EXPECT_EQ(first.dropped, 0);
  EXPECT_EQ(events_->Maintain(now, 7, 90 * 24h).created, 0) << "idempotent";

  Record({Event("cp1", "NotifyEvent", "today", R"({"a":1})", now)});
  // Received where no partition exists yet (control was down): lands in the default one...
  const TimePoint far = now + 30 * 24h;
  Record({Event("cp1", "NotifyEvent", "stray", R"({"a":2})", far)});
  EXPECT_EQ(Count("tableoid = 'charger_events_default'::regclass"), 1);
  EXPECT_EQ(Count("tableoid = 'charger_events_p20261207'::regclass"), 1);
  // ... and moves into its day when that is created, keeping its id.
  const int64_t stray_id = events_->List({"cp1", {}, "stray"}, 1, "").events.at(0).id();
  EXPECT_GE(events_->Maintain(far, 1, 90 * 24h).created, 1);
  EXPECT_EQ(Count("tableoid = 'charger_events_default'::regclass"), 0);
  EXPECT_EQ(Count("tableoid = 'charger_events_p20270106'::regclass"), 1);
  EXPECT_EQ(events_->List({"cp1", {}, "stray"}, 1, "").events.at(0).id(), stray_id);
  Record({Event("cp1", "NotifyEvent", "after the move", R"({"a":3})", now)});
  EXPECT_GT(events_->List({"cp1"}, 1, "").events.at(0).id(), stray_id) << "the identity goes on";

  // 100 days on with 90 days' retention: the first partitions and their rows are gone.
  EventLogMaintenance later = events_->Maintain(now + 100 * 24h, 0, 90 * 24h);
  EXPECT_GE(later.dropped, 9);
  EXPECT_EQ(Count("type = 'today'"), 0);
  EXPECT_EQ(Count("type = 'stray'"), 1) << "30 days later: kept";
  // Zero retention keeps everything.
  EXPECT_EQ(events_->Maintain(now + 1000 * 24h, 0, 0h).dropped, 0);
}

}  // namespace
}  // namespace csms::control
