// Transactions as they really arrive: retries, offline backlogs, any order, missing Started,
// wrong station clocks and meter resets. Each test checks the ledger itself (the session row,
// the stored events and the daily totals): nothing is billed twice and no energy is lost.

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <tuple>

#include "billing_test_util.h"
#include "csms/billing/ledger_store.h"
#include "csms/billing/migrations.h"
#include "pg_test_db.h"

namespace csms::billing {
namespace {

using namespace csms::billing::testing;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;

const Tariff kKrw150 = *MakeTariff(150, "KRW");

// One session row as stored, with the numeric columns as PostgreSQL prints them.
struct LedgerRow {
  std::string energy;  // charger_usage_log.energy_consumed, kWh
  std::string cost;    // charger_usage_log.cost
  int64_t stored_events = 0;
  int64_t suspect_events = 0;
  bool clock_suspect = false;
  int64_t meter_resets = 0;
  std::string start_time;  // UTC, "YYYY-MM-DDTHH:MI:SS"
  std::string end_time;
};

// One daily_charger_stats row: date, sessions, energy (kWh) and revenue, as text.
using DayRow = std::tuple<std::string, int64_t, std::string, std::string>;

class ArrivalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CSMS_REQUIRE_DATABASE(db_);
    pqxx::connection conn(db_.url());
    ApplyMigrations(conn);
    pool_ = std::make_unique<pg::Pool>(db_.url(), 4);
    store_ = std::make_unique<LedgerStore>(*pool_, kKrw150, "UTC");
  }

  RecordResult Record(const TransactionEvent& event) { return store_->Record(event); }
  RecordResult RecordAll(const std::vector<TransactionEvent>& events) {
    RecordResult last;
    for (const auto& event : events) last = Record(event);
    return last;
  }

  LedgerRow Ledger(const std::string& charger, const std::string& transaction_id) {
    pqxx::connection conn(db_.url());
    pqxx::read_transaction txn(conn);
    const pqxx::row row = txn.exec_params1(
        "SELECT energy_consumed::text, cost::text, clock_suspect, meter_resets,"
        " coalesce(to_char(start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS'), ''),"
        " coalesce(to_char(end_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS'), ''),"
        " (SELECT count(*) FROM transaction_events e WHERE e.charger_id = u.charger_id"
        "  AND e.transaction_id = u.transaction_id),"
        " (SELECT count(*) FROM transaction_events e WHERE e.charger_id = u.charger_id"
        "  AND e.transaction_id = u.transaction_id AND e.clock_suspect)"
        " FROM charger_usage_log u WHERE charger_id = $1 AND transaction_id = $2",
        charger, transaction_id);
    LedgerRow out;
    out.energy = row[0].as<std::string>();
    out.cost = row[1].as<std::string>();
    out.clock_suspect = row[2].as<bool>();
    out.meter_resets = row[3].as<int64_t>();
    out.start_time = row[4].as<std::string>();
    out.end_time = row[5].as<std::string>();
    out.stored_events = row[6].as<int64_t>();
    out.suspect_events = row[7].as<int64_t>();
    return out;
  }

  // Every daily_charger_stats row of the charger, by date.
  std::vector<DayRow> Days(const std::string& charger) {
    pqxx::connection conn(db_.url());
    pqxx::read_transaction txn(conn);
    std::vector<DayRow> days;
    for (const pqxx::row& row : txn.exec_params(
             "SELECT to_char(date, 'YYYY-MM-DD'), sessions, total_energy::text,"
             " total_revenue::text FROM daily_charger_stats WHERE charger_id = $1 ORDER BY date",
             charger)) {
      days.emplace_back(row[0].as<std::string>(), row[1].as<int64_t>(), row[2].as<std::string>(),
                        row[3].as<std::string>());
    }
    return days;
  }

  int64_t Count(const std::string& sql) {
    pqxx::connection conn(db_.url());
    pqxx::read_transaction txn(conn);
    return txn.exec1(sql)[0].as<int64_t>();
  }

  csms::testing::TestDatabase db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<LedgerStore> store_;
};

// Started 1000 Wh, Updated 5000, the meter is reset, Updated 200, Ended 3200: 4000 + 3000 Wh.
std::vector<TransactionEvent> ResetSession(const std::string& charger, const std::string& tx,
                                           TimePoint start) {
  return {MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, charger, tx, 0, start, 1000),
          MakeEvent(TRANSACTION_EVENT_TYPE_UPDATED, charger, tx, 1, start + minutes(10), 5000),
          MakeEvent(TRANSACTION_EVENT_TYPE_UPDATED, charger, tx, 2, start + minutes(20), 200),
          MakeEvent(TRANSACTION_EVENT_TYPE_ENDED, charger, tx, 3, start + minutes(30), 3200)};
}

TEST_F(ArrivalTest, RetriedEventsWithANewReceiveTimeAreStoredOnce) {
  const TimePoint start = At("2026-11-23T10:00:00Z");
  const auto events = SeedSession("cp1", "tx1", start);
  RecordAll(events);
  for (auto retry : events) {
    // The station re-sends the same seqNo after a lost response; the gateway stamps it anew.
    *retry.mutable_received_at() = ToProto(FromProto(retry.received_at()) + minutes(2));
    retry.set_offline(true);
    const RecordResult again = Record(retry);
    EXPECT_TRUE(again.duplicate);
    EXPECT_EQ(again.session.event_count, 3);
    EXPECT_EQ(again.session.energy_wh, 25'500);
  }
  EXPECT_TRUE(Record(events[0]).duplicate);  // a late retry of Started after Ended

  const LedgerRow row = Ledger("cp1", "tx1");
  EXPECT_EQ(row.energy, "25.500");
  EXPECT_EQ(row.cost, "3825.00");
  EXPECT_EQ(row.stored_events, 3);
  EXPECT_EQ(Count("SELECT count(*) FROM transaction_events WHERE offline"), 0);  // first copy kept
  EXPECT_EQ(Days("cp1"), (std::vector<DayRow>{{"2026-11-23", 1, "25.500", "3825.00"}}));
}

TEST_F(ArrivalTest, OfflineBacklogIsDatedByItsOwnTimestamps) {
  // Charged last evening while offline; everything arrives in one burst after the reconnect.
  const TimePoint start = At("2026-11-22T21:00:00Z");
  const TimePoint reconnect = At("2026-11-23T09:00:00Z");
  std::vector<TransactionEvent> events = {
      MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp1", "tx1", 0, start, 1000),
      MakeEvent(TRANSACTION_EVENT_TYPE_UPDATED, "cp1", "tx1", 1, start + minutes(15), 6000),
      MakeEvent(TRANSACTION_EVENT_TYPE_UPDATED, "cp1", "tx1", 2, start + minutes(30), 12'000),
      MakeEvent(TRANSACTION_EVENT_TYPE_ENDED, "cp1", "tx1", 3, start + minutes(45), 16'000)};
  for (size_t i = 0; i < events.size(); ++i) {
    events[i].set_offline(true);
    *events[i].mutable_received_at() = ToProto(reconnect + milliseconds(40 * i));
  }
  const SessionState s = RecordAll(events).session;
  EXPECT_FALSE(s.clock_suspect);
  EXPECT_EQ(s.start_time, start);
  EXPECT_EQ(s.end_time, start + minutes(45));

  const LedgerRow row = Ledger("cp1", "tx1");
  EXPECT_EQ(row.energy, "15.000");
  EXPECT_EQ(row.cost, "2250.00");
  EXPECT_EQ(row.stored_events, 4);
  EXPECT_EQ(row.suspect_events, 0);
  EXPECT_EQ(row.start_time, "2026-11-22T21:00:00");
  EXPECT_EQ(Count("SELECT count(*) FROM transaction_events WHERE offline"), 4);
  // The evening it was charged, not the morning it was reported.
  EXPECT_EQ(Days("cp1"), (std::vector<DayRow>{{"2026-11-22", 1, "15.000", "2250.00"}}));
}

TEST_F(ArrivalTest, FullyReversedArrivalGivesTheSameLedger) {
  const TimePoint start = At("2026-11-23T10:00:00Z");
  RecordAll(SeedSession("in-order", "tx1", start));
  auto reversed = SeedSession("reversed", "tx1", start);
  std::reverse(reversed.begin(), reversed.end());  // Ended, Updated, Started
  RecordAll(reversed);

  const LedgerRow a = Ledger("in-order", "tx1");
  const LedgerRow b = Ledger("reversed", "tx1");
  EXPECT_EQ(b.energy, "25.500");
  EXPECT_EQ(b.cost, "3825.00");
  EXPECT_EQ(b.stored_events, 3);
  EXPECT_EQ(std::tie(a.energy, a.cost, a.stored_events, a.start_time, a.end_time),
            std::tie(b.energy, b.cost, b.stored_events, b.start_time, b.end_time));
  EXPECT_EQ(Days("reversed"), Days("in-order"));
  EXPECT_EQ(Days("reversed"), (std::vector<DayRow>{{"2026-11-23", 1, "25.500", "3825.00"}}));
}

TEST_F(ArrivalTest, EndedWithoutStartedIsBilledFromItsTransactionBegin) {
  // Started was dropped after its retries; Ended carries the Transaction.Begin sample.
  auto ended = MakeEvent(TRANSACTION_EVENT_TYPE_ENDED, "cp1", "orphan", 7,
                         At("2026-11-23T10:30:00Z"), 26'500);
  ended.set_meter_start_wh(1000);
  *ended.mutable_meter_start_time() = ToProto(At("2026-11-23T10:00:00Z"));  // its own sample time
  const SessionState s = Record(ended).session;
  EXPECT_FALSE(s.started_seen);
  EXPECT_TRUE(s.ended);

  const LedgerRow row = Ledger("cp1", "orphan");
  EXPECT_EQ(row.energy, "25.500");
  EXPECT_EQ(row.cost, "3825.00");
  EXPECT_EQ(row.stored_events, 1);
  EXPECT_EQ(Days("cp1"), (std::vector<DayRow>{{"2026-11-23", 1, "25.500", "3825.00"}}));
}

TEST_F(ArrivalTest, UpdatedForAnUnknownTransactionThenItsStartedAndEnded) {
  const auto events = SeedSession("cp1", "tx1", At("2026-11-23T10:00:00Z"));
  const SessionState open = Record(events[1]).session;  // Updated, never seen before
  EXPECT_FALSE(open.started_seen);
  EXPECT_FALSE(open.ended);
  EXPECT_EQ(open.energy_wh, 0);  // one reading measures nothing yet
  EXPECT_TRUE(Days("cp1").empty());

  Record(events[0]);
  const SessionState s = Record(events[2]).session;
  EXPECT_TRUE(s.started_seen);
  EXPECT_EQ(s.start_time, At("2026-11-23T10:00:00Z"));
  const LedgerRow row = Ledger("cp1", "tx1");
  EXPECT_EQ(row.energy, "25.500");
  EXPECT_EQ(row.cost, "3825.00");
  EXPECT_EQ(row.stored_events, 3);
  EXPECT_EQ(Count("SELECT count(*) FROM charger_usage_log"), 1);
  EXPECT_EQ(Days("cp1"), (std::vector<DayRow>{{"2026-11-23", 1, "25.500", "3825.00"}}));
}

TEST_F(ArrivalTest, StartedAfterEndedIsMergedIntoOneSession) {
  // Started late in the evening arrives last, after the Updated and Ended of the next day.
  const auto events = SeedSession("cp1", "tx1", At("2026-11-23T23:50:00Z"));
  Record(events[1]);
  Record(events[2]);
  // Until Started comes, the best guess: from the Updated, on the 24th.
  EXPECT_EQ(Days("cp1"), (std::vector<DayRow>{{"2026-11-24", 1, "17.000", "2550.00"}}));
  const SessionState s = Record(events[0]).session;
  EXPECT_TRUE(s.started_seen);
  EXPECT_TRUE(s.ended);
  EXPECT_EQ(s.user_id, "user_123");

  const LedgerRow row = Ledger("cp1", "tx1");
  EXPECT_EQ(row.energy, "25.500");
  EXPECT_EQ(row.start_time, "2026-11-23T23:50:00");
  EXPECT_EQ(row.end_time, "2026-11-24T00:20:00");
  EXPECT_EQ(row.stored_events, 3);
  EXPECT_EQ(Count("SELECT count(*) FROM charger_usage_log"), 1);
  EXPECT_EQ(Days("cp1"), (std::vector<DayRow>{{"2026-11-23", 1, "25.500", "3825.00"}}));
}

TEST_F(ArrivalTest, FutureTimestampIsFlaggedAndDatedByReceiveTime) {
  // The station clock runs two days ahead; the events reach us on the 23rd.
  const TimePoint received = At("2026-11-23T10:00:00Z");
  auto events = SeedSession("cp1", "tx1", received + hours(48));
  for (size_t i = 0; i < events.size(); ++i) {
    *events[i].mutable_received_at() = ToProto(received + minutes(10 * i));
  }
  const SessionState s = RecordAll(events).session;
  EXPECT_TRUE(s.clock_suspect);
  EXPECT_EQ(s.start_time, received);
  EXPECT_EQ(s.end_time, received + minutes(20));

  const LedgerRow row = Ledger("cp1", "tx1");
  EXPECT_TRUE(row.clock_suspect);
  EXPECT_EQ(row.suspect_events, 3);
  EXPECT_EQ(row.energy, "25.500");
  EXPECT_EQ(row.start_time, "2026-11-23T10:00:00");
  // The station's own time is kept for audit.
  EXPECT_EQ(Count("SELECT count(*) FROM transaction_events"
                  " WHERE event_time >= '2026-11-25T10:00:00Z'"),
            3);
  EXPECT_EQ(Days("cp1"), (std::vector<DayRow>{{"2026-11-23", 1, "25.500", "3825.00"}}));
}

TEST_F(ArrivalTest, Year1970TimestampIsFlaggedAndDatedByReceiveTime) {
  // An unsynchronised clock only on Started; the other events have good time.
  const TimePoint start = At("2026-11-23T10:00:00Z");
  auto events = SeedSession("cp1", "tx1", start);
  *events[0].mutable_timestamp() = ToProto(At("1970-01-01T00:00:42Z"));
  *events[0].mutable_received_at() = ToProto(start + milliseconds(300));
  const SessionState s = RecordAll(events).session;
  EXPECT_TRUE(s.clock_suspect);
  EXPECT_EQ(s.start_time, start + milliseconds(300));
  EXPECT_EQ(s.end_time, start + minutes(30));

  const LedgerRow row = Ledger("cp1", "tx1");
  EXPECT_TRUE(row.clock_suspect);
  EXPECT_EQ(row.suspect_events, 1);
  EXPECT_EQ(row.energy, "25.500");
  EXPECT_EQ(row.cost, "3825.00");
  EXPECT_EQ(Count("SELECT count(*) FROM transaction_events WHERE event_time < '1971-01-01'"), 1);
  EXPECT_EQ(Days("cp1"), (std::vector<DayRow>{{"2026-11-23", 1, "25.500", "3825.00"}}));
  EXPECT_FALSE(Ledger("cp1", "tx1").start_time.starts_with("1970"));
}

TEST_F(ArrivalTest, RegisterResetMidTransactionBillsBothSegments) {
  const SessionState s = RecordAll(ResetSession("cp1", "tx1", At("2026-11-23T10:00:00Z"))).session;
  EXPECT_EQ(s.energy_wh, 7000);
  EXPECT_EQ(s.meter_resets, 1);
  EXPECT_EQ(s.meter_stop->wh, 3200);

  const LedgerRow row = Ledger("cp1", "tx1");
  EXPECT_EQ(row.energy, "7.000");
  EXPECT_EQ(row.cost, "1050.00");
  EXPECT_EQ(row.meter_resets, 1);
  EXPECT_EQ(row.stored_events, 4);
  EXPECT_EQ(Days("cp1"), (std::vector<DayRow>{{"2026-11-23", 1, "7.000", "1050.00"}}));
}

TEST_F(ArrivalTest, RegisterResetArrivingOutOfOrder) {
  const auto events = ResetSession("cp1", "tx1", At("2026-11-23T10:00:00Z"));
  // Ended (3200), then the reading after the reset (200), Started (1000), and finally 5000.
  const std::vector<int> arrival = {3, 2, 0, 1};
  const std::vector<int64_t> energy_after = {0, 3000, 3000, 7000};
  for (size_t i = 0; i < arrival.size(); ++i) {
    EXPECT_EQ(Record(events[arrival[i]]).session.energy_wh, energy_after[i]) << "step " << i;
  }
  const LedgerRow row = Ledger("cp1", "tx1");
  EXPECT_EQ(row.energy, "7.000");
  EXPECT_EQ(row.cost, "1050.00");
  EXPECT_EQ(row.meter_resets, 1);
  EXPECT_EQ(row.stored_events, 4);
  EXPECT_EQ(Days("cp1"), (std::vector<DayRow>{{"2026-11-23", 1, "7.000", "1050.00"}}));
}

TEST_F(ArrivalTest, ConcurrentRetriesOfResetSessionsNeverMiscount) {
  // Four workers, like four replicas, store every event of ten reset sessions twice, interleaved:
  // whichever commits last must still have seen every reading.
  constexpr int kSessions = 10;
  std::vector<TransactionEvent> events;
  for (int i = 0; i < kSessions; ++i) {
    for (const auto& e :
         ResetSession("busy", "tx" + std::to_string(i), At("2026-11-23T08:00:00Z") + minutes(i))) {
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
          Record(events[(i * 7) % events.size()]);
        } catch (const std::exception& e) {
          ADD_FAILURE() << e.what();
        }
      }
    });
  }
  for (auto& worker : workers) worker.join();
  ASSERT_FALSE(HasFailure());

  EXPECT_EQ(Count("SELECT count(*) FROM transaction_events"), 4 * kSessions);
  EXPECT_EQ(Count("SELECT count(*) FROM charger_usage_log WHERE energy_consumed = 7"), kSessions);
  EXPECT_EQ(Days("busy"), (std::vector<DayRow>{{"2026-11-23", kSessions, "70.000", "10500.00"}}));
}

TEST_F(ArrivalTest, SameTransactionIdOnTwoChargersIsTwoSessions) {
  const TimePoint start = At("2026-11-23T10:00:00Z");
  const auto a = SeedSession("cp1", "shared", start);
  const auto b = ResetSession("cp2", "shared", start + minutes(5));
  for (size_t i = 0; i < 4; ++i) {
    if (i < a.size()) Record(a[i]);
    Record(b[i]);
  }
  EXPECT_EQ(Count("SELECT count(*) FROM charger_usage_log"), 2);
  const LedgerRow one = Ledger("cp1", "shared");
  const LedgerRow two = Ledger("cp2", "shared");
  EXPECT_EQ(one.energy, "25.500");
  EXPECT_EQ(one.stored_events, 3);
  EXPECT_EQ(two.energy, "7.000");
  EXPECT_EQ(two.stored_events, 4);
  EXPECT_EQ(Days("cp1"), (std::vector<DayRow>{{"2026-11-23", 1, "25.500", "3825.00"}}));
  EXPECT_EQ(Days("cp2"), (std::vector<DayRow>{{"2026-11-23", 1, "7.000", "1050.00"}}));
}

TEST_F(ArrivalTest, SeedDialectCountingFromZeroStillBills) {
  // The seed's register starts at 0 each session and every event says meter start 0.
  const TimePoint start = At("2026-11-23T10:00:00Z");
  auto events = SeedSession("seed", "tx1", start);
  events[0].clear_energy_register_wh();
  events[1].set_energy_register_wh(8500);
  events[2].set_energy_register_wh(25'500);
  for (auto& e : events) {
    e.clear_seq_no();
    e.set_meter_start_wh(0);
    e.set_dialect(ocpp::v1::DIALECT_SEED);
  }
  events[1].set_order_key(1);
  events[2].set_order_key(int64_t{1} << 31);
  RecordAll(events);
  const LedgerRow row = Ledger("seed", "tx1");
  EXPECT_EQ(row.energy, "25.500");
  EXPECT_EQ(row.meter_resets, 0);
  EXPECT_EQ(Days("seed"), (std::vector<DayRow>{{"2026-11-23", 1, "25.500", "3825.00"}}));
}

TEST(BillingMigrationTwoTest, FlagsSuspectEventsStoredBeforeIt) {
  csms::testing::TestDatabase db;
  CSMS_REQUIRE_DATABASE(db);
  pqxx::connection conn(db.url());
  ASSERT_EQ(pg::ApplyMigrations(conn, "billing", {BillingMigrations().at(0)}), 1);
  {
    pqxx::work txn(conn);
    txn.exec0(
        "INSERT INTO charger_usage_log (charger_id, transaction_id) VALUES ('cp1', 'old'),"
        " ('cp1', 'good')");
    txn.exec0(
        "INSERT INTO transaction_events (charger_id, transaction_id, dedup_key, order_key,"
        " event_type, event_time, received_at) VALUES"
        " ('cp1', 'old', 'seq:0', 0, 'Started', '1970-01-01T00:00:00Z', '2026-11-23T10:00:00Z'),"
        " ('cp1', 'old', 'seq:1', 1, 'Ended', '2026-11-23T10:30:00Z', '2026-11-23T10:30:00Z'),"
        " ('cp1', 'good', 'seq:0', 0, 'Started', '2026-11-22T10:00:00Z',"
        "  '2026-11-23T10:00:00Z')");
    txn.commit();
  }
  // 0002 and every later one.
  EXPECT_EQ(ApplyMigrations(conn), static_cast<int>(BillingMigrations().size()) - 1);
  pqxx::read_transaction txn(conn);
  EXPECT_EQ(txn.exec1("SELECT count(*) FROM transaction_events WHERE clock_suspect")[0].as<int>(),
            1);
  EXPECT_EQ(txn.exec1("SELECT string_agg(transaction_id, ',') FROM charger_usage_log"
                      " WHERE clock_suspect")[0]
                .as<std::string>(),
            "old");
  EXPECT_EQ(txn.exec1("SELECT sum(meter_resets) FROM charger_usage_log")[0].as<int>(), 0);
}

}  // namespace
}  // namespace csms::billing
