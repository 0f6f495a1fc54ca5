#include "csms/billing/ledger_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "billing_test_util.h"
#include "csms/billing/migrations.h"
#include "pg_test_db.h"

namespace csms::billing {
namespace {

using namespace csms::billing::testing;
using std::chrono::hours;
using std::chrono::minutes;

const Tariff kKrw150 = *MakeTariff(150, "KRW");

int64_t CountRows(const std::string& url, const std::string& table) {
  pqxx::connection conn(url);
  pqxx::read_transaction txn(conn);
  return txn.exec1("SELECT count(*) FROM " + table)[0].as<int64_t>();
}

TEST(BillingMigrationsTest, SecondRunAppliesNothing) {
  csms::testing::TestDatabase db;
  CSMS_REQUIRE_DATABASE(db);
  pqxx::connection conn(db.url());
  EXPECT_EQ(ApplyMigrations(conn), static_cast<int>(BillingMigrations().size()));
  EXPECT_EQ(ApplyMigrations(conn), 0);
  EXPECT_EQ(CountRows(db.url(), "charger_usage_log"), 0);
}

TEST(BillingMigrationsTest, TwoReplicasAtOnceApplyEachVersionOnce) {
  csms::testing::TestDatabase db;
  CSMS_REQUIRE_DATABASE(db);
  std::atomic<int> applied{0};
  std::vector<std::thread> replicas;
  for (int i = 0; i < 2; ++i) {
    replicas.emplace_back([&] {
      try {
        pqxx::connection conn(db.url());
        applied += ApplyMigrations(conn);
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
      }
    });
  }
  for (auto& replica : replicas) replica.join();
  EXPECT_EQ(applied, static_cast<int>(BillingMigrations().size()));
  EXPECT_EQ(CountRows(db.url(), "daily_charger_stats"), 0);
  EXPECT_EQ(CountRows(db.url(), "transaction_events"), 0);
}

class LedgerStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CSMS_REQUIRE_DATABASE(db_);
    pqxx::connection conn(db_.url());
    ApplyMigrations(conn);
    pool_ = std::make_unique<pg::Pool>(db_.url(), 4);
  }

  LedgerStore Store(const std::string& time_zone = "UTC") {
    return LedgerStore(*pool_, kKrw150, time_zone);
  }

  static RecordResult RecordAll(LedgerStore& store, const std::vector<TransactionEvent>& events) {
    RecordResult last;
    for (const auto& event : events) last = store.Record(event);
    return last;
  }

  csms::testing::TestDatabase db_;
  std::unique_ptr<pg::Pool> pool_;
};

// A 7.4 kW EVSE (its device model says so) cannot meter 20 kWh in an hour, though the configured
// 500 kW ceiling would allow it; without the EVSE's own figure, or with the check off, it is
// billed.
TEST_F(LedgerStoreTest, TheEvsesOwnMaximumJudgesItsReadings) {
  const TimePoint t = At("2026-11-23T10:00:00Z");
  auto session = [&](const std::string& tx, std::optional<double> evse_max_w) {
    std::vector<TransactionEvent> events = {
        MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp1", tx, 0, t, 0),
        MakeEvent(TRANSACTION_EVENT_TYPE_ENDED, "cp1", tx, 1, t + hours(1), 20'000)};
    if (evse_max_w) {
      for (auto& e : events) e.set_evse_max_power_w(*evse_max_w);
    }
    return events;
  };
  LedgerStore store = Store();
  const SessionState slow = RecordAll(store, session("tx-7kw", 7'400)).session;
  EXPECT_EQ(slow.energy_wh, 0);
  EXPECT_TRUE(slow.needs_review);
  EXPECT_NE(slow.review_reason.find("more than 7 kW can deliver"), std::string::npos)
      << slow.review_reason;
  ASSERT_TRUE(slow.max_power_w);
  EXPECT_EQ(*slow.max_power_w, 7'400);
  EXPECT_EQ(RecordAll(store, session("tx-fast", 150'000)).session.energy_wh, 20'000);
  EXPECT_EQ(RecordAll(store, session("tx-unknown", std::nullopt)).session.energy_wh, 20'000);
  store.set_meter_limits({0});
  EXPECT_EQ(RecordAll(store, session("tx-unchecked", 7'400)).session.energy_wh, 20'000);
}

TEST_F(LedgerStoreTest, SeedSessionCosts3825AndCountsInDailyStats) {
  LedgerStore store = Store();
  const TimePoint start = At("2026-11-23T10:00:00Z");
  const RecordResult result = RecordAll(store, SeedSession("emart_jeju_01", "abc12345", start));

  EXPECT_FALSE(result.duplicate);
  const SessionState& s = result.session;
  EXPECT_EQ(s.transaction_id, "abc12345");
  EXPECT_EQ(s.charger_id, "emart_jeju_01");
  EXPECT_EQ(s.user_id, "user_123");
  EXPECT_EQ(s.start_time, start);
  EXPECT_EQ(s.end_time, start + minutes(30));
  EXPECT_EQ(s.energy_wh, 25'500);
  EXPECT_EQ(s.cost_hundredths, 382'500);
  EXPECT_EQ(s.currency, "KRW");
  EXPECT_EQ(s.stop_reason, "Local");
  EXPECT_TRUE(s.ended);
  EXPECT_TRUE(s.started_seen);
  EXPECT_EQ(s.event_count, 3);
  ASSERT_TRUE(s.meter_start && s.meter_stop);
  EXPECT_EQ(s.meter_start->wh, 1000);
  EXPECT_EQ(s.meter_stop->wh, 26'500);

  const auto stats = store.GetDailyStats("emart_jeju_01", "2026-11-23", "2026-11-23");
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].date, "2026-11-23");
  EXPECT_EQ(stats[0].sessions, 1);
  EXPECT_DOUBLE_EQ(stats[0].total_energy_kwh, 25.5);
  EXPECT_DOUBLE_EQ(stats[0].total_revenue, 3825);

  // The seed's columns hold the seed's figures.
  pqxx::connection conn(db_.url());
  pqxx::read_transaction txn(conn);
  const pqxx::row row = txn.exec1(
      "SELECT energy_consumed::text, cost::text FROM charger_usage_log"
      " WHERE transaction_id = 'abc12345'");
  EXPECT_EQ(row[0].as<std::string>(), "25.500");
  EXPECT_EQ(row[1].as<std::string>(), "3825.00");
}

TEST_F(LedgerStoreTest, SameEventTwiceChangesNothing) {
  LedgerStore store = Store();
  const auto events = SeedSession("cp1", "tx1", At("2026-11-23T10:00:00Z"));
  const RecordResult first = RecordAll(store, events);

  for (const auto& event : events) {
    const RecordResult again = store.Record(event);
    EXPECT_TRUE(again.duplicate);
    EXPECT_EQ(again.session.event_count, 3);
    EXPECT_EQ(again.session.cost_hundredths, first.session.cost_hundredths);
    EXPECT_EQ(again.session.updated_at, first.session.updated_at);
  }
  EXPECT_EQ(CountRows(db_.url(), "transaction_events"), 3);
  const auto stats = store.GetDailyStats("cp1", "2026-11-23", "2026-11-23");
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].sessions, 1);
  EXPECT_DOUBLE_EQ(stats[0].total_revenue, 3825);
}

TEST_F(LedgerStoreTest, OutOfOrderEventsGiveTheSameResult) {
  LedgerStore store = Store();
  const TimePoint start = At("2026-11-23T10:00:00Z");
  const SessionState in_order = RecordAll(store, SeedSession("cp1", "in-order", start)).session;
  auto events = SeedSession("cp2", "reversed", start);
  std::reverse(events.begin(), events.end());
  const SessionState reversed = RecordAll(store, events).session;

  EXPECT_EQ(reversed.start_time, in_order.start_time);
  EXPECT_EQ(reversed.end_time, in_order.end_time);
  EXPECT_EQ(reversed.user_id, in_order.user_id);
  EXPECT_EQ(reversed.energy_wh, in_order.energy_wh);
  EXPECT_EQ(reversed.cost_hundredths, in_order.cost_hundredths);
  EXPECT_TRUE(reversed.started_seen);
  const auto stats = store.GetDailyStats("", "2026-11-23", "2026-11-23");
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].sessions, 1);
  EXPECT_EQ(stats[1].sessions, 1);
  EXPECT_DOUBLE_EQ(stats[0].total_revenue, stats[1].total_revenue);
}

TEST_F(LedgerStoreTest, EndedWithoutStartedIsStored) {
  LedgerStore store = Store();
  auto ended = MakeEvent(TRANSACTION_EVENT_TYPE_ENDED, "cp1", "orphan", 7,
                         At("2026-11-23T10:30:00Z"), 26'500);
  ended.set_meter_start_wh(1000);
  *ended.mutable_meter_start_time() =
      ToProto(At("2026-11-23T10:00:00Z"));  // its own sample time  // Transaction.Begin sample
                                            // carried in Ended
  ended.set_stopped_reason("EVDisconnected");
  const RecordResult result = store.Record(ended);

  EXPECT_FALSE(result.duplicate);
  EXPECT_FALSE(result.session.started_seen);
  EXPECT_TRUE(result.session.ended);
  EXPECT_EQ(result.session.stop_reason, "EVDisconnected");
  EXPECT_EQ(result.session.energy_wh, 25'500);
  EXPECT_EQ(CountRows(db_.url(), "transaction_events"), 1);
  const auto stats = store.GetDailyStats("cp1", "2026-11-23", "2026-11-23");
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].sessions, 1);
}

TEST_F(LedgerStoreTest, UpdatedForUnknownTransactionCreatesAnOpenSession) {
  LedgerStore store = Store();
  const RecordResult result = store.Record(
      MakeEvent(TRANSACTION_EVENT_TYPE_UPDATED, "cp1", "mid", 4, At("2026-11-23T10:10:00Z"), 5000));
  EXPECT_FALSE(result.session.started_seen);
  EXPECT_FALSE(result.session.ended);
  EXPECT_FALSE(result.session.end_time);
  EXPECT_EQ(CountRows(db_.url(), "daily_charger_stats"), 0);
  ASSERT_TRUE(store.GetSession("mid"));
}

TEST_F(LedgerStoreTest, DailyDateIsTheLocalDateOfTheStart) {
  const TimePoint start = At("2026-11-23T16:30:00Z");  // 2026-11-24 01:30 in Seoul
  LedgerStore seoul = Store("Asia/Seoul");
  LedgerStore utc = Store("UTC");
  RecordAll(seoul, SeedSession("seoul-cp", "tx-seoul", start));
  RecordAll(utc, SeedSession("utc-cp", "tx-utc", start));

  const auto seoul_stats = seoul.GetDailyStats("seoul-cp", "2026-11-20", "2026-11-30");
  ASSERT_EQ(seoul_stats.size(), 1u);
  EXPECT_EQ(seoul_stats[0].date, "2026-11-24");
  const auto utc_stats = utc.GetDailyStats("utc-cp", "2026-11-20", "2026-11-30");
  ASSERT_EQ(utc_stats.size(), 1u);
  EXPECT_EQ(utc_stats[0].date, "2026-11-23");

  EXPECT_EQ(seoul.LocalDate(start), "2026-11-24");
  EXPECT_EQ(utc.LocalDate(start), "2026-11-23");
}

TEST_F(LedgerStoreTest, LateStartedMovesTheSessionToItsDate) {
  LedgerStore store = Store();
  const TimePoint start = At("2026-11-23T23:40:00Z");
  auto events = SeedSession("cp1", "midnight", start);  // ends 00:10 the next day
  store.Record(events[2]);                              // Ended first: dated by its end
  ASSERT_EQ(store.GetDailyStats("cp1", "2026-11-24", "2026-11-24").size(), 1u);

  store.Record(events[0]);  // Started: the session belongs to the 23rd
  store.Record(events[1]);
  EXPECT_TRUE(store.GetDailyStats("cp1", "2026-11-24", "2026-11-24").empty());
  const auto stats = store.GetDailyStats("cp1", "2026-11-23", "2026-11-23");
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].sessions, 1);
  EXPECT_DOUBLE_EQ(stats[0].total_energy_kwh, 25.5);
}

TEST_F(LedgerStoreTest, ConcurrentEventsNeverMiscount) {
  // Four workers, like four replicas, store events of 20 sessions of one charger in
  // interleaved order; every event is sent twice.
  constexpr int kSessions = 20;
  LedgerStore store = Store();
  std::vector<TransactionEvent> events;
  for (int i = 0; i < kSessions; ++i) {
    for (const auto& e :
         SeedSession("busy", "tx" + std::to_string(i), At("2026-11-23T08:00:00Z") + minutes(i))) {
      events.push_back(e);
      events.push_back(e);
    }
  }
  std::atomic<size_t> next{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      for (size_t i; (i = next++) < events.size();) {
        try {
          store.Record(events[(i * 7) % events.size()]);
        } catch (const std::exception& e) {
          ADD_FAILURE() << e.what();
        }
      }
    });
  }
  for (auto& worker : workers) worker.join();
  ASSERT_FALSE(HasFailure());

  const auto stats = store.GetDailyStats("busy", "2026-11-23", "2026-11-23");
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].sessions, kSessions);
  EXPECT_DOUBLE_EQ(stats[0].total_energy_kwh, 25.5 * kSessions);
  EXPECT_DOUBLE_EQ(stats[0].total_revenue, 3825.0 * kSessions);
  EXPECT_EQ(CountRows(db_.url(), "transaction_events"), 3 * kSessions);
}

// OCPP makes transaction ids unique per station only: two chargers may use the same id, and
// both sessions must be billed (refusing one would make its charger retry and then drop it).
TEST_F(LedgerStoreTest, SameTransactionIdOnTwoChargersIsTwoSessions) {
  LedgerStore store = Store();
  const TimePoint t = At("2026-11-23T10:00:00Z");
  store.Record(MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp1", "shared", 0, t, 100));
  auto second = store.Record(MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp2", "shared", 0, t, 100));
  EXPECT_FALSE(second.duplicate);
  EXPECT_EQ(second.session.charger_id, "cp2");
  EXPECT_EQ(CountRows(db_.url(), "transaction_events"), 2);
  EXPECT_EQ(CountRows(db_.url(), "charger_usage_log"), 2);
  EXPECT_EQ(store.GetSession("shared", "cp1")->charger_id, "cp1");
  EXPECT_EQ(store.GetSession("shared", "cp2")->charger_id, "cp2");
}

TEST_F(LedgerStoreTest, RawEventIsKeptForAudit) {
  LedgerStore store = Store();
  auto event = MakeEvent(TRANSACTION_EVENT_TYPE_UPDATED, "cp1", "tx1", 1,
                         At("2026-11-23T10:00:00.250Z"), 1234.567);
  event.set_power_w(7400);
  event.set_offline(true);
  event.set_raw_payload_json("not json {");
  store.Record(event);

  pqxx::connection conn(db_.url());
  pqxx::read_transaction txn(conn);
  const pqxx::row row = txn.exec1(
      "SELECT event_type, energy_register_wh, power_w, offline, raw_payload #>> '{}',"
      " seq_no, remote_start_id IS NULL, to_char(event_time AT TIME ZONE 'UTC',"
      " 'YYYY-MM-DD\"T\"HH24:MI:SS.MS') FROM transaction_events");
  EXPECT_EQ(row[0].as<std::string>(), "Updated");
  EXPECT_EQ(row[1].as<double>(), 1234.567);
  EXPECT_EQ(row[2].as<double>(), 7400);
  EXPECT_TRUE(row[3].as<bool>());
  EXPECT_EQ(row[4].as<std::string>(), "not json {");
  EXPECT_EQ(row[5].as<int64_t>(), 1);
  EXPECT_TRUE(row[6].as<bool>());
  EXPECT_EQ(row[7].as<std::string>(), "2026-11-23T10:00:00.250");
}

TEST_F(LedgerStoreTest, ListSessionsNewestFirstWithLimit) {
  LedgerStore store = Store();
  const TimePoint t = At("2026-11-23T10:00:00Z");
  for (int i = 0; i < 3; ++i) {
    store.Record(MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, i == 1 ? "other" : "cp1",
                           "tx" + std::to_string(i), 0, t + hours(i)));
  }
  const auto all = store.ListSessions({}, 10);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].transaction_id, "tx2");
  EXPECT_EQ(all[2].transaction_id, "tx0");
  const auto cp1 = store.ListSessions({.charger_id = "cp1"}, 1);
  ASSERT_EQ(cp1.size(), 1u);
  EXPECT_EQ(cp1[0].transaction_id, "tx2");
}

TEST_F(LedgerStoreTest, KnowsTimeZones) {
  pqxx::connection conn(db_.url());
  EXPECT_TRUE(IsKnownTimeZone(conn, "Asia/Seoul"));
  EXPECT_TRUE(IsKnownTimeZone(conn, "UTC"));
  EXPECT_FALSE(IsKnownTimeZone(conn, "Mars/Olympus_Mons"));
}

}  // namespace
}  // namespace csms::billing

namespace csms::billing {
namespace {

// Issue 16: a placeholder Transaction.Begin of 0 followed by the lifetime register is not billed;
// the session is billed from the first plausible reading and listed for review. The same
// through the batch path (one batch holding the whole session) and event by event.
TEST_F(LedgerStoreTest, ALifetimeRegisterAfterAPlaceholderBeginIsNotBilled) {
  LedgerStore store = Store();
  const TimePoint t = At("2026-12-07T10:00:00Z");
  auto placeholder_session = [&](const std::string& tx) {
    std::vector<TransactionEvent> events = {
        MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp1", tx, 0, t),
        MakeEvent(TRANSACTION_EVENT_TYPE_UPDATED, "cp1", tx, 1, t + std::chrono::seconds(1),
                  12'345'000),
        MakeEvent(TRANSACTION_EVENT_TYPE_ENDED, "cp1", tx, 2, t + std::chrono::seconds(2),
                  12'345'500)};
    events[0].set_meter_start_wh(0);
    return events;
  };
  const RecordResult one_by_one = RecordAll(store, placeholder_session("tx-each"));
  const std::vector<TransactionEvent> batch = placeholder_session("tx-batch");
  std::vector<const TransactionEvent*> pointers;
  for (const auto& e : batch) pointers.push_back(&e);
  const std::vector<RecordOutcome> batched = store.RecordBatch(pointers);
  ASSERT_TRUE(batched.back().result);
  RecordAll(store, SeedSession("cp1", "tx-fine", t));

  for (const SessionState& s : {one_by_one.session, batched.back().result->session}) {
    EXPECT_EQ(s.energy_wh, 500);
    EXPECT_EQ(s.cost_hundredths, 7500);  // 0.5 kWh × 150 KRW
    EXPECT_EQ(s.implausible_readings, 1);
    EXPECT_TRUE(s.needs_review);
    EXPECT_EQ(s.review_reason,
              "the energy register rose from 0 to 12345000 Wh in 1 s (44442000 kW), more than "
              "500 kW can deliver; not billed, billing goes on from 12345000 Wh");
  }
  SessionFilter review;
  review.review_only = true;
  std::vector<std::string> listed;
  for (const auto& s : store.ListSessions(review, 10)) listed.push_back(s.transaction_id);
  std::sort(listed.begin(), listed.end());
  EXPECT_EQ(listed, (std::vector<std::string>{"tx-batch", "tx-each"}));
  EXPECT_EQ(store.ListSessions({}, 10).size(), 3u);
  // The daily statistics are the sum of the sessions as billed.
  const auto stats = store.GetDailyStats("cp1", "2026-12-07", "2026-12-07");
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].sessions, 3);
  EXPECT_DOUBLE_EQ(stats[0].total_energy_kwh, 0.5 + 0.5 + 25.5);
}

// A meter that reports only Energy.Active.Import.Interval is billed their sum, and a repeated
// event adds nothing twice.
TEST_F(LedgerStoreTest, IntervalOnlyMetersAreBilledTheSumOfTheirIntervals) {
  LedgerStore store = Store();
  const TimePoint t = At("2026-12-07T10:00:00Z");
  std::vector<TransactionEvent> events;
  for (int seq = 0; seq < 4; ++seq) {
    auto type = seq == 0   ? TRANSACTION_EVENT_TYPE_STARTED
                : seq == 3 ? TRANSACTION_EVENT_TYPE_ENDED
                           : TRANSACTION_EVENT_TYPE_UPDATED;
    events.push_back(MakeEvent(type, "cp1", "tx-int", seq, t + std::chrono::minutes(15 * seq)));
    if (seq > 0) events.back().set_energy_interval_wh(2500.4);
  }
  RecordAll(store, events);
  const RecordResult again = store.Record(events[2]);
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.session.energy_wh, 7501);  // 3 × 2500.4, rounded once
  EXPECT_FALSE(again.session.needs_review);
}

}  // namespace
}  // namespace csms::billing
