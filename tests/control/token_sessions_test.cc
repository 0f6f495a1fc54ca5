// TransactionEvents' tokens decided against a real PostgreSQL (issue 14, TokenSessionStore over
// token_sessions): the first decision of each transaction's token is recorded and kept,
// ConcurrentTx counts the token's other transactions until they end, their connector is
// reported Available or they grow too old, the CSMS's own remote start tokens are accepted, and
// two decisions at once for one token never both get its last slot.
#include <gtest/gtest.h>

#include <atomic>
#include <pqxx/pqxx>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "csms/common/pg_sql.h"
#include "csms/control/migrations.h"
#include "csms/control/registry_store.h"
#include "csms/control/remote_start_store.h"
#include "csms/control/token_session_store.h"
#include "csms/control/token_store.h"
#include "pg_test_db.h"

namespace csms::control {
namespace {

using csms::testing::TestDatabase;
using ocpp::v1::TRANSACTION_EVENT_TYPE_ENDED;
using ocpp::v1::TRANSACTION_EVENT_TYPE_STARTED;
using ocpp::v1::TRANSACTION_EVENT_TYPE_UPDATED;
using ocpp::v1::TransactionEventType;

TimePoint At(const char* text) { return *ParseRfc3339(text); }

TimePoint Now() {
  return std::chrono::time_point_cast<std::chrono::microseconds>(SystemClock::now());
}

// The station's timestamp of every Started below.
constexpr const char* kStarted = "2026-12-07T09:00:00Z";
constexpr TransactionEventType kStart = TRANSACTION_EVENT_TYPE_STARTED;

v1::TransactionTokenContext Context(const std::string& transaction_id,
                                    TransactionEventType type = TRANSACTION_EVENT_TYPE_STARTED,
                                    int evse_id = 1, const char* timestamp = kStarted) {
  v1::TransactionTokenContext context;
  context.set_transaction_id(transaction_id);
  context.set_event_type(type);
  context.set_evse_id(evse_id);
  *context.mutable_timestamp() = ToProto(At(timestamp));
  return context;
}

class TokenSessionStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CSMS_REQUIRE_DATABASE(db_);
    {
      pqxx::connection conn(db_.url());
      pg::ApplyMigrations(conn, "control", ControlMigrations());
    }
    pool_ = std::make_unique<pg::Pool>(db_.url(), 4, pg::KeyLookupSettings());  // as in main.cc
    tokens_ = std::make_unique<TokenStore>(*pool_);
    remote_starts_ = std::make_unique<RemoteStartStore>(*pool_);
    MakeStore(TokenSessionStore::Options{});
  }

  void MakeStore(TokenSessionStore::Options options) {
    store_ = std::make_unique<TokenSessionStore>(*pool_, options);
  }
  // A status report as control applies it (a StatusNotification through the registry batch).
  void Report(const std::string& charger, int evse, const std::string& status,
              const std::string& at) {
    RegistryStore registry(*pool_);
    const WriteOp op = StatusOp{charger, "", evse, 1, status, *ParseRfc3339(at)};
    registry.ApplyBatch({&op});
  }

  void PutToken(const std::string& id, int max_concurrent = 1,
                const std::string& status = "Accepted", const std::string& account = "acct-1") {
    TokenRecord t;
    t.type = "ISO14443";
    t.id_token = id;
    t.status = status;
    t.max_concurrent = max_concurrent;
    t.account_id = account;
    tokens_->Put(t, "test");
  }

  AuthorizeDecision Decide(const std::string& charger, const std::string& id_token,
                           const v1::TransactionTokenContext& context,
                           const std::string& type = "ISO14443") {
    return store_->Decide(Request(charger, id_token, context, type), Now());
  }
  static v1::AuthorizeTokenRequest Request(const std::string& charger, const std::string& id_token,
                                           const v1::TransactionTokenContext& context,
                                           const std::string& type = "ISO14443") {
    v1::AuthorizeTokenRequest request;
    request.set_charger_id(charger);
    request.set_id_token(id_token);
    request.set_type(type);
    *request.mutable_transaction() = context;
    return request;
  }
  std::string StatusOf(const std::string& charger, const std::string& id_token,
                       const v1::TransactionTokenContext& context,
                       const std::string& type = "ISO14443") {
    return Decide(charger, id_token, context, type).status;
  }

  void Exec(const std::string& sql) {
    pqxx::connection conn(db_.url());
    pqxx::work txn(conn);
    txn.exec(sql);
    txn.commit();
  }
  int64_t Count(const std::string& sql) {
    pqxx::connection conn(db_.url());
    pqxx::nontransaction txn(conn);
    return txn.exec1(sql)[0].as<int64_t>();
  }
  // The recorded row of a transaction: "type|id_key|evse|status", or "" when none.
  std::string Row(const std::string& charger, const std::string& transaction_id) {
    pqxx::connection conn(db_.url());
    pqxx::nontransaction txn(conn);
    auto rows = txn.exec_params(
        "SELECT type || '|' || id_key || '|' || evse_id || '|' || status FROM token_sessions"
        " WHERE charger_id = $1 AND transaction_id = $2",
        charger, transaction_id);
    return rows.empty() ? "" : rows[0][0].as<std::string>();
  }

  TestDatabase db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<TokenStore> tokens_;
  std::unique_ptr<RemoteStartStore> remote_starts_;
  std::unique_ptr<TokenSessionStore> store_;
};

TEST_F(TokenSessionStoreTest, SecondConcurrentTransactionOfAOneAtATimeTokenIsConcurrentTx) {
  PutToken("TOK-ONE", 1, "Accepted", "acct-7");
  const AuthorizeDecision first = Decide("cs1", "tok-one", Context("tx-1"));
  EXPECT_EQ(first.status, "Accepted");
  EXPECT_FALSE(first.flagged);
  EXPECT_EQ(first.account_id, "acct-7");
  EXPECT_TRUE(first.cache_expiry.has_value());
  EXPECT_EQ(Row("cs1", "tx-1"), "ISO14443|tok-one|1|Accepted");

  // Another transaction, on another charger too, and the token matched case-insensitively.
  const AuthorizeDecision second = Decide("cs2", "TOK-ONE", Context("tx-2"));
  EXPECT_EQ(second.status, "ConcurrentTx");
  EXPECT_TRUE(second.flagged);
  EXPECT_EQ(second.account_id, "acct-7");
  EXPECT_FALSE(second.cache_expiry.has_value());
  EXPECT_NE(second.reason.find("already runs 1"), std::string::npos) << second.reason;
  EXPECT_EQ(Row("cs2", "tx-2"), "ISO14443|tok-one|1|ConcurrentTx");
  // A ConcurrentTx session does not count: a third is ConcurrentTx because of tx-1 only.
  const AuthorizeDecision third = Decide("cs1", "TOK-ONE", Context("tx-3", kStart, 2));
  EXPECT_EQ(third.status, "ConcurrentTx");
  EXPECT_NE(third.reason.find("already runs 1"), std::string::npos) << third.reason;
  // The same transaction id on another charger is another transaction.
  EXPECT_EQ(StatusOf("cs9", "TOK-ONE", Context("tx-1")), "ConcurrentTx");
}

TEST_F(TokenSessionStoreTest, MaxConcurrentTwoAllowsTwo) {
  PutToken("TOK-TWO", 2);
  EXPECT_EQ(StatusOf("cs1", "TOK-TWO", Context("tx-1", kStart, 1)), "Accepted");
  EXPECT_EQ(StatusOf("cs1", "TOK-TWO", Context("tx-2", kStart, 2)), "Accepted");
  const AuthorizeDecision third = Decide("cs1", "TOK-TWO", Context("tx-3", kStart, 3));
  EXPECT_EQ(third.status, "ConcurrentTx");
  EXPECT_NE(third.reason.find("already runs 2"), std::string::npos) << third.reason;
  EXPECT_EQ(Count("SELECT count(*) FROM token_sessions WHERE status = 'Accepted'"), 2);
}

TEST_F(TokenSessionStoreTest, RepeatedOrLaterEventsOfATransactionGetItsFirstStatus) {
  PutToken("TOK-REP", 1);
  EXPECT_EQ(StatusOf("cs1", "TOK-REP", Context("tx-1")), "Accepted");
  // The token is blocked: the running transaction keeps its answer, repeated or later events.
  PutToken("TOK-REP", 1, "Blocked");
  const AuthorizeDecision repeat = Decide("cs1", "tok-rep", Context("tx-1"));
  EXPECT_EQ(repeat.status, "Accepted");
  EXPECT_FALSE(repeat.flagged);
  EXPECT_NE(repeat.reason.find("as first decided"), std::string::npos) << repeat.reason;
  EXPECT_NE(repeat.reason.find("now Blocked"), std::string::npos) << repeat.reason;
  EXPECT_EQ(StatusOf("cs1", "TOK-REP", Context("tx-1", TRANSACTION_EVENT_TYPE_UPDATED)),
            "Accepted");
  EXPECT_EQ(StatusOf("cs1", "TOK-REP", Context("tx-1", TRANSACTION_EVENT_TYPE_ENDED)), "Accepted");
  // A new transaction of the blocked token is refused, and keeps that answer once unblocked.
  EXPECT_EQ(StatusOf("cs1", "TOK-REP", Context("tx-2", kStart, 2)), "Blocked");
  PutToken("TOK-REP", 1, "Accepted");
  EXPECT_EQ(StatusOf("cs1", "TOK-REP", Context("tx-2", TRANSACTION_EVENT_TYPE_UPDATED, 2)),
            "Blocked");
  EXPECT_EQ(Row("cs1", "tx-2"), "ISO14443|tok-rep|2|Blocked");
  // A ConcurrentTx answer is kept too, even once the transaction that caused it has ended.
  EXPECT_EQ(StatusOf("cs1", "TOK-REP", Context("tx-3", kStart, 3)), "ConcurrentTx");
  Exec("INSERT INTO transactions (charger_id, transaction_id, ended) VALUES ('cs1', 'tx-1', true)");
  EXPECT_EQ(StatusOf("cs1", "TOK-REP", Context("tx-3", TRANSACTION_EVENT_TYPE_UPDATED, 3)),
            "ConcurrentTx");
  // A Blocked session never counted: with tx-1 ended a new one is Accepted.
  EXPECT_EQ(StatusOf("cs1", "TOK-REP", Context("tx-4", kStart, 4)), "Accepted");
}

// What frees a running transaction's slot, each case on its own charger, token and
// transactions: tx-a Started (Accepted, EVSE 1 at kStarted), `change` applied, then the
// token's second transaction tx-b.
TEST_F(TokenSessionStoreTest, WhatFreesTheSlotCaseTable) {
  struct Case {
    const char* name;
    const char* change;  // SQL ($C is the case's charger), or "report <evse> <status> <time>"
    std::string second;  // tx-b's status
  };
  const Case cases[] = {
      {"nothing", "SELECT 1", "ConcurrentTx"},
      {"transaction ended",
       "INSERT INTO transactions (charger_id, transaction_id, ended) VALUES ('$C', 'tx-a', true)",
       "Accepted"},
      {"transaction known, not ended",
       "INSERT INTO transactions (charger_id, transaction_id, ended) VALUES ('$C', 'tx-a', false)",
       "ConcurrentTx"},
      {"the same transaction id ended on another charger",
       "INSERT INTO transactions (charger_id, transaction_id, ended)"
       " VALUES ('$C-other', 'tx-a', true)",
       "ConcurrentTx"},
      {"connector Available after the start", "report 1 Available 2026-12-07T09:05:00Z",
       "Accepted"},
      {"connector Available before the start", "report 1 Available 2026-12-07T08:55:00Z",
       "ConcurrentTx"},
      {"connector Available at the start itself", "report 1 Available 2026-12-07T09:00:00Z",
       "ConcurrentTx"},
      {"connector Occupied after the start", "report 1 Occupied 2026-12-07T09:05:00Z",
       "ConcurrentTx"},
      {"another EVSE Available after the start", "report 2 Available 2026-12-07T09:05:00Z",
       "ConcurrentTx"},
      {"another charger's EVSE 1 Available after the start",
       "report-other 1 Available 2026-12-07T09:05:00Z", "ConcurrentTx"},
      {"decided longer ago than the age limit",
       "UPDATE token_sessions SET decided_at = now() - interval '25 hours'"
       " WHERE charger_id = '$C'",
       "Accepted"},
      {"decided within the age limit",
       "UPDATE token_sessions SET decided_at = now() - interval '23 hours'"
       " WHERE charger_id = '$C'",
       "ConcurrentTx"},
  };
  int i = 0;
  for (const auto& c : cases) {
    const std::string charger = "cs-case-" + std::to_string(++i);
    const std::string token = "TOK-CASE-" + std::to_string(i);
    PutToken(token, 1);
    ASSERT_EQ(StatusOf(charger, token, Context("tx-a", kStart, 1)), "Accepted") << c.name;
    std::string sql = c.change;
    if (sql.rfind("report", 0) == 0) {
      std::istringstream words(sql);
      std::string verb, status, at;
      int evse = 0;
      words >> verb >> evse >> status >> at;
      Report(verb == "report-other" ? charger + "-other" : charger, evse, status, at);
    } else {
      for (size_t at; (at = sql.find("$C")) != std::string::npos;) sql.replace(at, 2, charger);
      Exec(sql);
    }
    EXPECT_EQ(StatusOf(charger, token, Context("tx-b", kStart, 2, "2026-12-07T09:10:00Z")),
              c.second)
        << c.name;
  }
}

// A transaction that never Ended stays freed once its connector was reported Available, also
// after the next driver plugs in there (connectors keeps only the newest status; the freeing is
// recorded on the session), and an Available followed by Occupied in one batch frees it too.
TEST_F(TokenSessionStoreTest, ConnectorAvailableSinceStaysFreedWhenOccupiedAgain) {
  PutToken("TOK-STALE", 1);
  ASSERT_EQ(StatusOf("cs1", "TOK-STALE", Context("tx-stale", kStart, 1)), "Accepted");
  // The stale transaction's connector becomes Available: the slot is free.
  Report("cs1", 1, "Available", "2026-12-07T09:05:00Z");
  ASSERT_EQ(StatusOf("cs2", "TOK-STALE", Context("tx-probe", kStart, 1, "2026-12-07T09:06:00Z")),
            "Accepted");
  Exec(
      "INSERT INTO transactions (charger_id, transaction_id, ended)"
      " VALUES ('cs2', 'tx-probe', true)");
  // Another driver plugs in at that connector (control upserts the latest status).
  Report("cs1", 1, "Occupied", "2026-12-07T09:10:00Z");
  EXPECT_EQ(StatusOf("cs2", "TOK-STALE", Context("tx-next", kStart, 1, "2026-12-07T09:15:00Z")),
            "Accepted")
      << "the stale transaction counts again once its connector is no longer Available";
}

TEST_F(TokenSessionStoreTest, AgeLimitFreesTheSlotAndPurgeDeletesTheRow) {
  TokenSessionStore::Options options;
  options.session_max_age = std::chrono::hours(1);
  MakeStore(options);
  PutToken("TOK-AGE", 1);
  EXPECT_EQ(StatusOf("cs1", "TOK-AGE", Context("tx-old")), "Accepted");
  EXPECT_EQ(StatusOf("cs1", "TOK-AGE", Context("tx-2", kStart, 2)), "ConcurrentTx");
  Exec(
      "UPDATE token_sessions SET decided_at = now() - interval '61 minutes'"
      " WHERE transaction_id = 'tx-old'");
  EXPECT_EQ(StatusOf("cs1", "TOK-AGE", Context("tx-3", kStart, 3)), "Accepted");
  EXPECT_EQ(Count("SELECT count(*) FROM token_sessions"), 3);
  EXPECT_EQ(store_->PurgeExpired(), 1);
  EXPECT_EQ(Row("cs1", "tx-old"), "");
  EXPECT_EQ(Count("SELECT count(*) FROM token_sessions"), 2);
  EXPECT_EQ(store_->PurgeExpired(), 0);
  // tx-3 still counts.
  EXPECT_EQ(StatusOf("cs1", "TOK-AGE", Context("tx-4", kStart, 4)), "ConcurrentTx");
}

TEST_F(TokenSessionStoreTest, AnotherTokenLaterIsDecidedAloneAndNotRecorded) {
  PutToken("TOK-START", 1);
  PutToken("TOK-STOP", 1);  // already runs a transaction of its own
  PutToken("TOK-BLK", 1, "Blocked");
  EXPECT_EQ(StatusOf("cs1", "TOK-STOP", Context("tx-other", kStart, 2)), "Accepted");
  EXPECT_EQ(StatusOf("cs1", "TOK-START", Context("tx-1")), "Accepted");
  // A stop by another token (C09): decided on its own, never ConcurrentTx, not recorded.
  const AuthorizeDecision stop =
      Decide("cs1", "TOK-STOP", Context("tx-1", TRANSACTION_EVENT_TYPE_ENDED));
  EXPECT_EQ(stop.status, "Accepted");
  EXPECT_EQ(StatusOf("cs1", "TOK-STOP", Context("tx-1", TRANSACTION_EVENT_TYPE_UPDATED)),
            "Accepted");
  EXPECT_EQ(StatusOf("cs1", "TOK-BLK", Context("tx-1", TRANSACTION_EVENT_TYPE_UPDATED)), "Blocked");
  EXPECT_EQ(Row("cs1", "tx-1"), "ISO14443|tok-start|1|Accepted");
  EXPECT_EQ(Count("SELECT count(*) FROM token_sessions"), 2);
  // The first token still gets its own answer afterwards.
  EXPECT_EQ(StatusOf("cs1", "TOK-START", Context("tx-1", TRANSACTION_EVENT_TYPE_UPDATED)),
            "Accepted");
}

TEST_F(TokenSessionStoreTest, EndedAsTheFirstTokenEventIsNotRecorded) {
  PutToken("TOK-END", 1);
  const AuthorizeDecision ended =
      Decide("cs1", "TOK-END", Context("tx-1", TRANSACTION_EVENT_TYPE_ENDED));
  EXPECT_EQ(ended.status, "Accepted");
  EXPECT_EQ(Row("cs1", "tx-1"), "");
  // Nothing counts against the token: its next transaction is Accepted.
  EXPECT_EQ(StatusOf("cs1", "TOK-END", Context("tx-2", kStart, 2)), "Accepted");
  // Even a blocked token's Ended is only answered, not recorded.
  PutToken("TOK-END-BLK", 1, "Blocked");
  EXPECT_EQ(StatusOf("cs1", "TOK-END-BLK", Context("tx-3", TRANSACTION_EVENT_TYPE_ENDED)),
            "Blocked");
  EXPECT_EQ(Row("cs1", "tx-3"), "");
  // An Updated is the first token event too when the Started carried none.
  EXPECT_EQ(StatusOf("cs1", "TOK-END-BLK", Context("tx-4", TRANSACTION_EVENT_TYPE_UPDATED)),
            "Blocked");
  EXPECT_EQ(Row("cs1", "tx-4"), "ISO14443|tok-end-blk|1|Blocked");
}

// Only stored tokens record a session (there is nothing to count for the others; billing keeps
// every decision with its event).
TEST_F(TokenSessionStoreTest, UnknownTokensAreUnknownAndNotRecorded) {
  const AuthorizeDecision d = Decide("cs1", "NOBODY", Context("tx-1"));
  EXPECT_EQ(d.status, "Unknown");
  EXPECT_TRUE(d.flagged);
  EXPECT_EQ(d.account_id, "");
  EXPECT_EQ(Row("cs1", "tx-1"), "");
  // Free vend: admitted, flagged, and never ConcurrentTx (there is no maximum to count).
  TokenSessionStore::Options options;
  options.authorize.accept_unknown = true;
  MakeStore(options);
  const AuthorizeDecision a = Decide("cs1", "STRANGER", Context("tx-2", kStart, 2));
  EXPECT_EQ(a.status, "Accepted");
  EXPECT_TRUE(a.flagged);
  EXPECT_TRUE(a.admitted_unknown);
  EXPECT_EQ(StatusOf("cs1", "STRANGER", Context("tx-3", kStart, 3)), "Accepted");
}

TEST_F(TokenSessionStoreTest, StationsOfTheTokenAreChecked) {
  Exec("INSERT INTO stations (station_id, name, latitude, longitude) VALUES ('S1', 'One', 0, 0)");
  Exec("INSERT INTO station_chargers (charger_id, station_id) VALUES ('cs-in', 'S1')");
  TokenRecord t;
  t.type = "ISO14443";
  t.id_token = "TOK-S1";
  t.max_concurrent = 5;
  t.stations = std::vector<std::string>{"S1"};
  tokens_->Put(t, "test");
  EXPECT_EQ(StatusOf("cs-in", "TOK-S1", Context("tx-1")), "Accepted");
  EXPECT_EQ(StatusOf("cs-out", "TOK-S1", Context("tx-2")), "NotAtThisLocation");
}

TEST_F(TokenSessionStoreTest, NoAuthorizationIsAccepted) {
  for (int i = 0; i < 3; ++i) {
    const std::string tx = "tx-free-" + std::to_string(i);
    const AuthorizeDecision d = Decide("cs1", "", Context(tx, kStart, i + 1), "NoAuthorization");
    EXPECT_EQ(d.status, "Accepted") << tx;
    EXPECT_FALSE(d.flagged) << tx;
  }
}

TEST_F(TokenSessionStoreTest, CentralTokenOfTheCsmssOwnRemoteStart) {
  const int64_t id = remote_starts_->Create("cs1", 1, "OP-Start-1");
  // Named by remoteStartId, case-insensitively.
  v1::TransactionTokenContext named = Context("tx-1");
  named.set_remote_start_id(id);
  const AuthorizeDecision d = Decide("cs1", "op-start-1", named, "Central");
  EXPECT_EQ(d.status, "Accepted");
  EXPECT_FALSE(d.flagged);
  EXPECT_EQ(Row("cs1", "tx-1"), "");  // not a stored token: nothing to count
  // Within the window, without a remoteStartId.
  remote_starts_->Create("cs1", 2, "OP-START-2");
  EXPECT_EQ(StatusOf("cs1", "OP-START-2", Context("tx-2", kStart, 2), "Central"), "Accepted");
  // Another charger did not get it.
  remote_starts_->Create("cs1", 1, "OP-START-3");
  EXPECT_EQ(StatusOf("cs2", "OP-START-3", Context("tx-3"), "Central"), "Unknown");
  v1::TransactionTokenContext elsewhere = Context("tx-4");
  elsewhere.set_remote_start_id(id);
  EXPECT_EQ(StatusOf("cs2", "OP-START-1", elsewhere, "Central"), "Unknown");
  // Another type is not the Central token.
  EXPECT_EQ(StatusOf("cs1", "OP-START-2", Context("tx-5", kStart, 2)), "Unknown");
  // A remoteStartId that is not this token's start.
  const int64_t other = remote_starts_->Create("cs1", 1, "OP-START-6");
  v1::TransactionTokenContext wrong = Context("tx-6");
  wrong.set_remote_start_id(other);
  EXPECT_EQ(StatusOf("cs1", "OP-START-2", wrong, "Central"), "Unknown");
  // Past the window only the named start is accepted.
  const int64_t late = remote_starts_->Create("cs1", 1, "OP-START-7");
  Exec(
      "UPDATE remote_starts SET requested_at = now() - interval '1 hour'"
      " WHERE remote_start_id = " +
      std::to_string(late));
  EXPECT_EQ(StatusOf("cs1", "OP-START-7", Context("tx-7"), "Central"), "Unknown");
  v1::TransactionTokenContext late_named = Context("tx-8");
  late_named.set_remote_start_id(late);
  EXPECT_EQ(StatusOf("cs1", "OP-START-7", late_named, "Central"), "Accepted");
  // A start that became another transaction, or that the charger rejected, is not accepted.
  const int64_t taken = remote_starts_->Create("cs1", 1, "OP-START-9");
  Exec("UPDATE remote_starts SET transaction_id = 'tx-someone' WHERE remote_start_id = " +
       std::to_string(taken));
  EXPECT_EQ(StatusOf("cs1", "OP-START-9", Context("tx-9"), "Central"), "Unknown");
  EXPECT_EQ(StatusOf("cs1", "OP-START-9", Context("tx-someone"), "Central"), "Accepted");
  const int64_t rejected = remote_starts_->Create("cs1", 1, "OP-START-10");
  Exec("UPDATE remote_starts SET status = 'Rejected' WHERE remote_start_id = " +
       std::to_string(rejected));
  v1::TransactionTokenContext rejected_named = Context("tx-10");
  rejected_named.set_remote_start_id(rejected);
  EXPECT_EQ(StatusOf("cs1", "OP-START-10", rejected_named, "Central"), "Unknown");
  EXPECT_EQ(StatusOf("cs1", "OP-START-10", Context("tx-11"), "Central"), "Unknown");
}

// Two events at once bringing the same one-at-a-time token to two transactions: the token's row
// lock serializes them, so exactly one is Accepted.
TEST_F(TokenSessionStoreTest, TwoDecisionsAtOnceNeverBothTakeTheLastSlot) {
  for (int round = 0; round < 20; ++round) {
    const std::string token = "TOK-RACE-" + std::to_string(round);
    PutToken(token, 1);
    std::atomic<bool> go{false};
    std::string status[2];
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) {
      threads.emplace_back([&, i] {
        while (!go.load()) std::this_thread::yield();
        try {
          status[i] = StatusOf("cs-" + std::to_string(i), token,
                               Context("tx-race-" + std::to_string(round), kStart, 1));
        } catch (const std::exception& e) {
          status[i] = std::string("threw: ") + e.what();
        }
      });
    }
    go = true;
    for (auto& t : threads) t.join();
    std::multiset<std::string> got{status[0], status[1]};
    EXPECT_EQ(got, (std::multiset<std::string>{"Accepted", "ConcurrentTx"}))
        << "round " << round << ": " << status[0] << ", " << status[1];
  }
  EXPECT_EQ(Count("SELECT count(*) FROM token_sessions WHERE status = 'Accepted'"), 20);
}

// The serialization the race above relies on, made visible: a decision that counts the token's
// transactions waits while another transaction holds the token's row; one that does not count
// (a later token of a recorded transaction) does not wait.
TEST_F(TokenSessionStoreTest, CountingDecisionWaitsForTheTokensRowLock) {
  PutToken("TOK-LOCK", 1);
  PutToken("TOK-OTHER", 1);
  ASSERT_EQ(StatusOf("cs1", "TOK-OTHER", Context("tx-other")), "Accepted");  // recorded
  pqxx::connection holder(db_.url());
  pqxx::work lock(holder);
  lock.exec1("SELECT 1 FROM tokens WHERE id_key = 'tok-lock' FOR UPDATE");
  std::atomic<bool> done{false};
  std::string status;
  std::thread decide([&] {
    status = StatusOf("cs1", "TOK-LOCK", Context("tx-1"));
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(done.load()) << "decided without waiting for the token's row lock";
  // Not authorizing a session: no lock taken, no wait.
  EXPECT_EQ(StatusOf("cs1", "TOK-LOCK", Context("tx-other", TRANSACTION_EVENT_TYPE_UPDATED)),
            "Accepted");
  lock.abort();
  decide.join();
  EXPECT_EQ(status, "Accepted");
}

// A gateway's batch: the facts of all its requests in one statement, in order, then each decided
// as it would be alone; two first events of a one-at-a-time token in the same batch still count
// each other (the second is decided after the first is recorded).
TEST_F(TokenSessionStoreTest, ABatchIsDecidedAsOneByOne) {
  PutToken("TOK-B1", 1, "Accepted", "acct-b");
  PutToken("TOK-BLK", 1, "Blocked");
  ASSERT_EQ(StatusOf("cs1", "TOK-B1", Context("tx-old")), "Accepted");  // recorded earlier
  const int64_t start = remote_starts_->Create("cs3", 1, "OP-B");
  v1::TransactionTokenContext named = Context("tx-c");
  named.set_remote_start_id(start);
  const std::vector<v1::AuthorizeTokenRequest> requests = {
      Request("cs1", "tok-b1", Context("tx-old", TRANSACTION_EVENT_TYPE_UPDATED)),  // its first
      Request("cs2", "TOK-B1", Context("tx-new")),                                  // a second
      Request("cs1", "NOBODY", Context("tx-u")),
      Request("cs1", "TOK-BLK", Context("tx-b")),
      Request("cs3", "op-b", named, "Central"),
      Request("cs1", "", Context("tx-free"), "NoAuthorization"),
  };
  std::vector<const v1::AuthorizeTokenRequest*> batch;
  for (const auto& r : requests) batch.push_back(&r);
  std::vector<TokenSessionStore::Facts> facts = store_->ReadFacts(batch, Now());
  ASSERT_EQ(facts.size(), requests.size());
  EXPECT_EQ(facts[0].transaction.first_status, "Accepted");
  EXPECT_FALSE(facts[0].transaction.authorizes_session);
  EXPECT_TRUE(facts[1].transaction.authorizes_session);
  ASSERT_TRUE(facts[1].authorize.token.has_value());
  EXPECT_FALSE(facts[2].authorize.token.has_value());
  EXPECT_TRUE(facts[4].authorize.central_token_sent);
  std::vector<std::string> statuses;
  for (size_t i = 0; i < requests.size(); ++i) {
    statuses.push_back(store_->DecideOn(requests[i], std::move(facts[i]), Now()).status);
  }
  EXPECT_EQ(statuses, (std::vector<std::string>{"Accepted", "ConcurrentTx", "Unknown", "Blocked",
                                                "Accepted", "Accepted"}));
  EXPECT_EQ(Row("cs2", "tx-new"), "ISO14443|tok-b1|1|ConcurrentTx");
  EXPECT_EQ(Row("cs1", "tx-b"), "ISO14443|tok-blk|1|Blocked");
  EXPECT_EQ(Row("cs1", "tx-u"), "");
  // Two first events of the same one-at-a-time token in one batch: the second is ConcurrentTx.
  PutToken("TOK-PAIR", 1);
  const std::vector<v1::AuthorizeTokenRequest> pair = {Request("cs1", "TOK-PAIR", Context("p-1")),
                                                       Request("cs2", "TOK-PAIR", Context("p-2"))};
  facts = store_->ReadFacts({&pair[0], &pair[1]}, Now());
  EXPECT_EQ(store_->DecideOn(pair[0], facts[0], Now()).status, "Accepted");
  EXPECT_EQ(store_->DecideOn(pair[1], facts[1], Now()).status, "ConcurrentTx");
  EXPECT_TRUE(store_->ReadFacts({}, Now()).empty());
}

}  // namespace
}  // namespace csms::control
