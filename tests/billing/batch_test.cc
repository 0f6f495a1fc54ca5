// Group commit: many events in one database transaction (LedgerStore::RecordBatch) and the
// EventBatcher that gathers concurrent callers into such batches. A batch must give every event
// the answer it would get alone, and the ledger must end as if they were stored one by one.

#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <random>
#include <thread>

#include "billing_test_util.h"
#include "csms/billing/event_batcher.h"
#include "csms/billing/ledger_store.h"
#include "csms/billing/migrations.h"
#include "pg_test_db.h"

namespace csms::billing {
namespace {

using namespace csms::billing::testing;
using std::chrono::minutes;

const Tariff kKrw150 = *MakeTariff(150, "KRW");

std::vector<const TransactionEvent*> Pointers(const std::vector<TransactionEvent>& events) {
  std::vector<const TransactionEvent*> pointers;
  for (const auto& event : events) pointers.push_back(&event);
  return pointers;
}

class BatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CSMS_REQUIRE_DATABASE(db_);
    pqxx::connection conn(db_.url());
    ApplyMigrations(conn);
    pool_ = std::make_unique<pg::Pool>(db_.url(), 4);
    store_ = std::make_unique<LedgerStore>(*pool_, kKrw150, "UTC");
  }

  int64_t Count(const std::string& sql) {
    pqxx::connection conn(db_.url());
    pqxx::read_transaction txn(conn);
    return txn.exec1(sql)[0].as<int64_t>();
  }

  // daily_charger_stats as stored, against the totals recomputed from the ledger itself.
  void ExpectStatsMatchTheLedger() {
    pqxx::connection conn(db_.url());
    pqxx::read_transaction txn(conn);
    const pqxx::result diff = txn.exec(
        "WITH truth AS (SELECT charger_id, stats_date AS date, count(*) AS sessions,"
        " sum(energy_consumed) AS energy, sum(cost) AS revenue FROM charger_usage_log"
        " WHERE ended GROUP BY 1, 2)"
        " SELECT coalesce(t.charger_id, d.charger_id), coalesce(t.date, d.date)"
        " FROM truth t FULL JOIN daily_charger_stats d USING (charger_id, date)"
        " WHERE t.sessions IS DISTINCT FROM d.sessions OR t.energy IS DISTINCT FROM"
        " d.total_energy OR t.revenue IS DISTINCT FROM d.total_revenue");
    EXPECT_EQ(diff.size(), 0u) << "first mismatch: " << diff[0][0].c_str() << " "
                               << diff[0][1].c_str();
  }

  csms::testing::TestDatabase db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<LedgerStore> store_;
};

TEST_F(BatchTest, DuplicateInsideTheBatchIsStoredOnce) {
  const auto seed = SeedSession("cp1", "tx1", At("2026-11-23T10:00:00Z"));
  // Started, Updated, Started again, Ended, Ended again: two copies arrive in the same batch.
  const std::vector<TransactionEvent> batch = {seed[0], seed[1], seed[0], seed[2], seed[2]};
  const auto outcomes = store_->RecordBatch(Pointers(batch));
  ASSERT_EQ(outcomes.size(), batch.size());
  const bool expected_duplicate[] = {false, false, true, false, true};
  for (size_t i = 0; i < outcomes.size(); ++i) {
    ASSERT_FALSE(outcomes[i].error) << i;
    EXPECT_EQ(outcomes[i].result->duplicate, expected_duplicate[i]) << i;
    // Everyone sees the session as committed at the end of the batch.
    EXPECT_EQ(outcomes[i].result->session.event_count, 3) << i;
    EXPECT_EQ(outcomes[i].result->session.cost_hundredths, 382'500) << i;
  }
  EXPECT_EQ(Count("SELECT count(*) FROM transaction_events"), 3);
  const auto stats = store_->GetDailyStats("cp1", "2026-11-23", "2026-11-23");
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].sessions, 1);
  EXPECT_DOUBLE_EQ(stats[0].total_revenue, 3825);

  // The whole batch again: nothing changes, everything is a duplicate.
  for (const auto& outcome : store_->RecordBatch(Pointers(batch))) {
    ASSERT_FALSE(outcome.error);
    EXPECT_TRUE(outcome.result->duplicate);
  }
  EXPECT_EQ(Count("SELECT count(*) FROM transaction_events"), 3);
  EXPECT_EQ(store_->GetDailyStats("cp1", "2026-11-23", "2026-11-23")[0].sessions, 1);
  ExpectStatsMatchTheLedger();
}

TEST_F(BatchTest, BatchMixingChargersSessionsAndDates) {
  // Three chargers, two sessions each (one per day), one of them sharing a transaction id with
  // another charger; all events interleaved in one batch.
  std::vector<TransactionEvent> events;
  std::vector<std::vector<TransactionEvent>> sessions;
  for (const auto& [charger, second] :
       {std::pair{"a", "a-2"}, std::pair{"b", "b-2"}, std::pair{"c", "c-2"}}) {
    sessions.push_back(SeedSession(charger, "shared", At("2026-11-22T10:00:00Z")));
    sessions.push_back(SeedSession(charger, second, At("2026-11-23T10:00:00Z")));
  }
  for (size_t step = 0; step < 3; ++step) {
    for (const auto& session : sessions) events.push_back(session[step]);
  }
  const auto outcomes = store_->RecordBatch(Pointers(events));
  for (size_t i = 0; i < events.size(); ++i) {
    ASSERT_FALSE(outcomes[i].error) << i;
    const SessionState& s = outcomes[i].result->session;
    EXPECT_FALSE(outcomes[i].result->duplicate);
    EXPECT_EQ(s.charger_id, events[i].charger_id()) << i;
    EXPECT_EQ(s.transaction_id, events[i].transaction_id()) << i;
    EXPECT_EQ(s.energy_wh, 25'500) << i;
    EXPECT_TRUE(s.ended);
  }
  const auto stats = store_->GetDailyStats("", "2026-11-22", "2026-11-23");
  ASSERT_EQ(stats.size(), 6u);
  for (const auto& day : stats) {
    EXPECT_EQ(day.sessions, 1) << day.charger_id << " " << day.date;
    EXPECT_DOUBLE_EQ(day.total_revenue, 3825) << day.charger_id << " " << day.date;
  }
  ExpectStatsMatchTheLedger();
}

TEST_F(BatchTest, EventsOfOneSessionInOneBatchInAnyOrder) {
  // Out of order within the batch (readings before the first one, a reset): the batch must
  // settle from every reading and get what one-by-one storage gets.
  const TimePoint t = At("2026-11-23T10:00:00Z");
  std::vector<TransactionEvent> events = {
      MakeEvent(TRANSACTION_EVENT_TYPE_ENDED, "cp", "tx", 3, t + minutes(30), 3200),
      MakeEvent(TRANSACTION_EVENT_TYPE_UPDATED, "cp", "tx", 1, t + minutes(10), 5000),
      MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp", "tx", 0, t, 1000),
      MakeEvent(TRANSACTION_EVENT_TYPE_UPDATED, "cp", "tx", 2, t + minutes(20), 200)};
  for (const auto& outcome : store_->RecordBatch(Pointers(events))) {
    ASSERT_FALSE(outcome.error);
    EXPECT_EQ(outcome.result->session.energy_wh, 7000);
    EXPECT_EQ(outcome.result->session.meter_resets, 1);
  }
  // The same events one by one in another order, on another charger.
  for (auto event : {events[2], events[1], events[3], events[0]}) {
    event.set_charger_id("cp-alone");
    store_->Record(event);
  }
  EXPECT_EQ(store_->GetSession("tx", "cp-alone")->energy_wh, 7000);
  ExpectStatsMatchTheLedger();
}

TEST_F(BatchTest, OneBadEventFailsAloneAndTheOthersAreStored) {
  const auto seed = SeedSession("cp1", "tx1", At("2026-11-23T10:00:00Z"));
  TransactionEvent bad =
      MakeEvent(TRANSACTION_EVENT_TYPE_UPDATED, "cp2", "tx2", 1, At("2026-11-23T10:00:00Z"), 100);
  // Valid JSON that jsonb refuses (NUL escape): only the database can tell.
  bad.set_raw_payload_json(R"({"idToken":"\u0000"})");
  const std::vector<TransactionEvent> batch = {seed[0], bad, seed[1], seed[2]};
  const auto outcomes = store_->RecordBatch(Pointers(batch));
  ASSERT_TRUE(outcomes[1].error);
  EXPECT_THROW(std::rethrow_exception(outcomes[1].error), pqxx::data_exception);
  for (size_t i : {0, 2, 3}) {
    ASSERT_FALSE(outcomes[i].error) << i;
    EXPECT_FALSE(outcomes[i].result->duplicate) << i;
  }
  EXPECT_EQ(outcomes[3].result->session.cost_hundredths, 382'500);
  EXPECT_EQ(Count("SELECT count(*) FROM transaction_events"), 3);
  EXPECT_EQ(Count("SELECT count(*) FROM charger_usage_log"), 1);
  ExpectStatsMatchTheLedger();
}

TEST_F(BatchTest, TwoReplicasBatchingConcurrentlyNeverMiscount) {
  // Two LedgerStores on their own pools, like two billing replicas, each with three writers
  // storing random batches; every event is sent three times, shuffled, across both replicas.
  constexpr int kSessions = 30;
  pg::Pool other_pool(db_.url(), 4);
  LedgerStore other(other_pool, kKrw150, "UTC");
  std::vector<TransactionEvent> events;
  for (int i = 0; i < kSessions; ++i) {
    const std::string charger = std::string("c").append(std::to_string(i % 3));
    for (const auto& e :
         SeedSession(charger, "tx" + std::to_string(i), At("2026-11-23T08:00:00Z") + minutes(i))) {
      for (int copy = 0; copy < 3; ++copy) events.push_back(e);
    }
  }
  std::shuffle(events.begin(), events.end(), std::mt19937(7));
  std::atomic<size_t> next{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 6; ++w) {
    writers.emplace_back([&, w] {
      LedgerStore& store = w % 2 ? other : *store_;
      std::mt19937 random(w);
      for (;;) {
        const size_t n = 1 + random() % 12;
        const size_t begin = next.fetch_add(n);
        if (begin >= events.size()) return;
        std::vector<const TransactionEvent*> batch;
        for (size_t i = begin; i < std::min(events.size(), begin + n); ++i) {
          batch.push_back(&events[i]);
        }
        for (const auto& outcome : store.RecordBatch(batch)) {
          if (outcome.error) {
            try {
              std::rethrow_exception(outcome.error);
            } catch (const std::exception& e) {
              ADD_FAILURE() << e.what();
            }
          }
        }
      }
    });
  }
  for (auto& writer : writers) writer.join();
  ASSERT_FALSE(HasFailure());

  EXPECT_EQ(Count("SELECT count(*) FROM transaction_events"), 3 * kSessions);
  EXPECT_EQ(Count("SELECT count(*) FROM charger_usage_log WHERE event_count = 3 AND"
                  " energy_consumed = 25.5 AND cost = 3825"),
            kSessions);
  const auto stats = store_->GetDailyStats("", "2026-11-23", "2026-11-23");
  ASSERT_EQ(stats.size(), 3u);
  for (const auto& day : stats) {
    EXPECT_EQ(day.sessions, kSessions / 3);
    EXPECT_DOUBLE_EQ(day.total_revenue, 3825.0 * kSessions / 3);
  }
  ExpectStatsMatchTheLedger();
}

TEST_F(BatchTest, BatcherGathersConcurrentCallersAndAnswersEachOne) {
  constexpr int kSessions = 100;
  std::vector<TransactionEvent> events;
  for (int i = 0; i < kSessions; ++i) {
    for (const auto& e : SeedSession("cp" + std::to_string(i % 7), "tx" + std::to_string(i),
                                     At("2026-11-23T08:00:00Z"))) {
      events.push_back(e);
    }
  }
  std::vector<std::promise<RecordOutcome>> answers(events.size());
  {
    EventBatcher batcher(*store_, {.writers = 2, .max_batch = 64});
    // All submitted at once, faster than a commit: they must share transactions.
    for (size_t i = 0; i < events.size(); ++i) {
      batcher.Submit(events[i], [&answers, i](RecordOutcome outcome) {
        answers[i].set_value(std::move(outcome));
      });
    }
    for (size_t i = 0; i < events.size(); ++i) {
      RecordOutcome outcome = answers[i].get_future().get();
      ASSERT_FALSE(outcome.error) << i;
      EXPECT_EQ(outcome.result->session.transaction_id, events[i].transaction_id());
      EXPECT_EQ(outcome.result->session.charger_id, events[i].charger_id());
    }
    EXPECT_LT(batcher.batches(), events.size() / 4) << "events were not gathered";
    EXPECT_GE(batcher.batches(), events.size() / 64);
  }
  EXPECT_EQ(Count("SELECT count(*) FROM transaction_events"), 3 * kSessions);
  EXPECT_EQ(Count("SELECT sum(sessions) FROM daily_charger_stats"), kSessions);
  ExpectStatsMatchTheLedger();
}

TEST_F(BatchTest, BatcherStoresWhatIsQueuedBeforeItStops) {
  std::atomic<int> answered{0};
  {
    EventBatcher batcher(*store_, {.writers = 1, .max_batch = 8});
    for (const auto& e : SeedSession("cp", "tx", At("2026-11-23T08:00:00Z"))) {
      batcher.Submit(e, [&answered](RecordOutcome outcome) {
        if (!outcome.error) ++answered;
      });
    }
  }  // destroyed at once: the queue is drained, not dropped
  EXPECT_EQ(answered, 3);
  EXPECT_EQ(Count("SELECT count(*) FROM transaction_events"), 3);
}

}  // namespace
}  // namespace csms::billing
