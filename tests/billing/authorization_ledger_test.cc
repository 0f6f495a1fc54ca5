// Token authorization in the ledger (issue 14): the CSMS's decision on an event's idToken is
// stored with the event and on the session (from the earliest event carrying a token), a repeated
// event is answered with the stored idTokenInfo, sessions are listed by account and flag, daily
// statistics are summed per account, and migration 0003 keeps older rows valid.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "billing_test_util.h"
#include "csms/billing/ledger_store.h"
#include "csms/billing/migrations.h"
#include "pg_test_db.h"

namespace csms::billing {
namespace {

using namespace csms::billing::testing;
using nlohmann::json;
using std::chrono::hours;
using std::chrono::minutes;

const Tariff kKrw150 = *MakeTariff(150, "KRW");

struct Decision {
  std::string status = "Accepted";
  std::string account;
  bool flagged = false;
  std::string reason = "accepted";
};

SessionFilter Filter(std::string charger, std::string account, bool flagged_only = false) {
  SessionFilter filter;
  filter.charger_id = std::move(charger);
  filter.account_id = std::move(account);
  filter.flagged_only = flagged_only;
  return filter;
}

// The idTokenInfo the gateway answers for `status`.
std::string InfoJson(const std::string& status) { return json{{"status", status}}.dump(); }

// `event` carrying `token` (type ISO14443) and the CSMS's decision on it.
TransactionEvent WithToken(TransactionEvent event, const std::string& token, const Decision& d,
                           const std::string& type = "ISO14443") {
  event.set_id_token(token);
  event.set_id_token_type(type);
  ocpp::v1::IdTokenDecision* decision = event.mutable_id_token_decision();
  decision->set_status(d.status);
  decision->set_account_id(d.account);
  decision->set_flagged(d.flagged);
  decision->set_reason(d.reason);
  decision->set_id_token_info_json(InfoJson(d.status));
  return event;
}

class AuthorizationLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CSMS_REQUIRE_DATABASE(db_);
    pqxx::connection conn(db_.url());
    ApplyMigrations(conn);
    pool_ = std::make_unique<pg::Pool>(db_.url(), 4);
    store_ = std::make_unique<LedgerStore>(*pool_, kKrw150, "UTC");
  }

  // A session of `token` on `charger`: Started at `start` (register `from_wh`, with the token),
  // and, when `ended`, Ended 30 minutes later (register `to_wh`, no token).
  void RecordSession(const std::string& charger, const std::string& tx, TimePoint start,
                     double from_wh, double to_wh, const std::string& token, const Decision& d,
                     bool ended = true) {
    store_->Record(WithToken(
        MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, charger, tx, 0, start, from_wh), token, d));
    if (ended) {
      store_->Record(
          MakeEvent(TRANSACTION_EVENT_TYPE_ENDED, charger, tx, 1, start + minutes(30), to_wh));
    }
  }

  static std::vector<std::string> Ids(const std::vector<SessionState>& sessions) {
    std::vector<std::string> ids;
    for (const auto& s : sessions) ids.push_back(s.transaction_id);
    return ids;
  }

  csms::testing::TestDatabase db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<LedgerStore> store_;
};

TEST_F(AuthorizationLedgerTest, DecisionIsStoredWithTheEventAndOnTheSession) {
  const TimePoint t = At("2026-11-23T10:00:00Z");
  const RecordResult started =
      store_->Record(WithToken(MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp1", "tx1", 0, t, 1000),
                               "TOK-BLK", {"Blocked", "acct-1", true, "stored status Blocked"}));
  EXPECT_FALSE(started.duplicate);
  EXPECT_EQ(started.id_token_info_json, InfoJson("Blocked"));
  const SessionState& s = started.session;
  EXPECT_EQ(s.user_id, "TOK-BLK");
  EXPECT_EQ(s.id_token_type, "ISO14443");
  EXPECT_EQ(s.account_id, "acct-1");
  EXPECT_EQ(s.authorization_status, "Blocked");
  EXPECT_TRUE(s.authorization_flagged);
  EXPECT_EQ(s.authorization_reason, "stored status Blocked");

  // An event without a token: nothing to answer, nothing stored, the session keeps its token.
  const RecordResult updated = store_->Record(
      MakeEvent(TRANSACTION_EVENT_TYPE_UPDATED, "cp1", "tx1", 1, t + minutes(5), 2000));
  EXPECT_EQ(updated.id_token_info_json, "");
  EXPECT_EQ(updated.session.authorization_status, "Blocked");
  EXPECT_TRUE(updated.session.authorization_flagged);

  pqxx::connection conn(db_.url());
  pqxx::read_transaction txn(conn);
  const pqxx::result rows = txn.exec(
      "SELECT coalesce(authorization_status, '-'), coalesce(account_id, '-'),"
      " authorization_flagged, coalesce(authorization_reason, '-'),"
      " coalesce(id_token_info->>'status', '-'), id_token_info = '{\"status\":\"Blocked\"}'"
      " FROM transaction_events WHERE transaction_id = 'tx1' ORDER BY seq_no");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0].as<std::string>(), "Blocked");
  EXPECT_EQ(rows[0][1].as<std::string>(), "acct-1");
  EXPECT_TRUE(rows[0][2].as<bool>());
  EXPECT_EQ(rows[0][3].as<std::string>(), "stored status Blocked");
  EXPECT_EQ(rows[0][4].as<std::string>(), "Blocked");
  EXPECT_TRUE(rows[0][5].as<bool>());
  EXPECT_EQ(rows[1][0].as<std::string>(), "-");
  EXPECT_EQ(rows[1][1].as<std::string>(), "-");
  EXPECT_FALSE(rows[1][2].as<bool>());
  EXPECT_EQ(rows[1][3].as<std::string>(), "-");
  EXPECT_EQ(rows[1][4].as<std::string>(), "-");
  EXPECT_TRUE(rows[1][5].is_null());
  const pqxx::row session = txn.exec1(
      "SELECT id_token_type, account_id, authorization_status, authorization_flagged,"
      " authorization_reason FROM charger_usage_log WHERE transaction_id = 'tx1'");
  EXPECT_EQ(session[0].as<std::string>(), "ISO14443");
  EXPECT_EQ(session[1].as<std::string>(), "acct-1");
  EXPECT_EQ(session[2].as<std::string>(), "Blocked");
  EXPECT_TRUE(session[3].as<bool>());
  EXPECT_EQ(session[4].as<std::string>(), "stored status Blocked");

  // The read path too.
  const auto read = store_->GetSession("tx1", "cp1");
  ASSERT_TRUE(read);
  EXPECT_EQ(read->id_token_type, "ISO14443");
  EXPECT_EQ(read->account_id, "acct-1");
  EXPECT_EQ(read->authorization_status, "Blocked");
  EXPECT_TRUE(read->authorization_flagged);
  EXPECT_EQ(read->authorization_reason, "stored status Blocked");
}

TEST_F(AuthorizationLedgerTest, SessionWithoutTokenHasNoAuthorization) {
  const RecordResult r = store_->Record(
      MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp1", "tx1", 0, At("2026-11-23T10:00:00Z")));
  EXPECT_EQ(r.id_token_info_json, "");
  EXPECT_EQ(r.session.id_token_type, "");
  EXPECT_EQ(r.session.account_id, "");
  EXPECT_EQ(r.session.authorization_status, "");
  EXPECT_FALSE(r.session.authorization_flagged);
  pqxx::connection conn(db_.url());
  pqxx::read_transaction txn(conn);
  EXPECT_TRUE(txn.exec1("SELECT account_id IS NULL AND authorization_status IS NULL AND"
                        " id_token_type IS NULL FROM charger_usage_log")[0]
                  .as<bool>());
}

// C02.FR.02: a NoAuthorization token has an empty value; its type still marks the session's
// token event.
TEST_F(AuthorizationLedgerTest, NoAuthorizationTokenIsTheSessionsToken) {
  const RecordResult r = store_->Record(WithToken(
      MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp1", "tx1", 0, At("2026-11-23T10:00:00Z")), "",
      {"Accepted", "", false, "NoAuthorization token"}, "NoAuthorization"));
  EXPECT_EQ(r.id_token_info_json, InfoJson("Accepted"));
  EXPECT_EQ(r.session.user_id, "");
  EXPECT_EQ(r.session.id_token_type, "NoAuthorization");
  EXPECT_EQ(r.session.authorization_status, "Accepted");
  EXPECT_EQ(r.session.authorization_reason, "NoAuthorization token");
  EXPECT_FALSE(r.session.authorization_flagged);
}

TEST_F(AuthorizationLedgerTest, DuplicateIsAnsweredWithTheStoredDecision) {
  const TransactionEvent first = WithToken(
      MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp1", "tx1", 0, At("2026-11-23T10:00:00Z"), 1000),
      "TOK-1", {"Accepted", "acct-1", false, "accepted"});
  const RecordResult stored = store_->Record(first);
  EXPECT_FALSE(stored.duplicate);
  EXPECT_EQ(stored.id_token_info_json, InfoJson("Accepted"));

  // The charger repeats the event after the token was blocked: the gateway's new decision says
  // Blocked, the answer stays the stored Accepted and nothing changes.
  const TransactionEvent again =
      WithToken(first, "TOK-1", {"Blocked", "acct-2", true, "stored status Blocked"});
  const RecordResult repeat = store_->Record(again);
  EXPECT_TRUE(repeat.duplicate);
  EXPECT_EQ(json::parse(repeat.id_token_info_json), json::parse(InfoJson("Accepted")))
      << repeat.id_token_info_json;
  EXPECT_EQ(repeat.session.authorization_status, "Accepted");
  EXPECT_EQ(repeat.session.account_id, "acct-1");
  EXPECT_FALSE(repeat.session.authorization_flagged);
  EXPECT_EQ(repeat.session.event_count, 1);

  pqxx::connection conn(db_.url());
  pqxx::read_transaction txn(conn);
  const pqxx::row row = txn.exec1(
      "SELECT count(*), min(authorization_status), min(account_id), bool_or(authorization_flagged)"
      " FROM transaction_events");
  EXPECT_EQ(row[0].as<int64_t>(), 1);
  EXPECT_EQ(row[1].as<std::string>(), "Accepted");
  EXPECT_EQ(row[2].as<std::string>(), "acct-1");
  EXPECT_FALSE(row[3].as<bool>());

  // A repeat of an event stored without a token answers nothing.
  const TransactionEvent plain =
      MakeEvent(TRANSACTION_EVENT_TYPE_UPDATED, "cp1", "tx1", 1, At("2026-11-23T10:05:00Z"), 1500);
  store_->Record(plain);
  const RecordResult plain_again = store_->Record(plain);
  EXPECT_TRUE(plain_again.duplicate);
  EXPECT_EQ(plain_again.id_token_info_json, "");
}

TEST_F(AuthorizationLedgerTest, DuplicateWithinOneBatchGetsTheFirstCopysAnswer) {
  const TransactionEvent first = WithToken(
      MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp1", "tx1", 0, At("2026-11-23T10:00:00Z"), 1000),
      "TOK-1", {"ConcurrentTx", "acct-1", true, "the token already runs 1"});
  const TransactionEvent copy = WithToken(first, "TOK-1", {"Accepted", "acct-1", false, "ok"});
  const TransactionEvent later = WithToken(
      MakeEvent(TRANSACTION_EVENT_TYPE_UPDATED, "cp1", "tx1", 1, At("2026-11-23T10:05:00Z"), 1500),
      "TOK-1", {"Invalid", "acct-1", true, "as first decided"});
  // Another charger's event with the same transaction id and dedup key is not a copy.
  const TransactionEvent other_charger = WithToken(
      MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp2", "tx1", 0, At("2026-11-23T10:00:00Z"), 1000),
      "TOK-2", {"Accepted", "acct-2", false, "accepted"});
  const std::vector<RecordOutcome> outcomes =
      store_->RecordBatch({&first, &copy, &later, &other_charger});
  ASSERT_EQ(outcomes.size(), 4u);
  for (const auto& o : outcomes) ASSERT_TRUE(o.result.has_value());
  EXPECT_FALSE(outcomes[0].result->duplicate);
  EXPECT_EQ(outcomes[0].result->id_token_info_json, InfoJson("ConcurrentTx"));
  EXPECT_TRUE(outcomes[1].result->duplicate);
  EXPECT_EQ(json::parse(outcomes[1].result->id_token_info_json),
            json::parse(InfoJson("ConcurrentTx")))
      << outcomes[1].result->id_token_info_json;
  EXPECT_FALSE(outcomes[2].result->duplicate);
  EXPECT_EQ(outcomes[2].result->id_token_info_json, InfoJson("Invalid"));
  EXPECT_FALSE(outcomes[3].result->duplicate);
  EXPECT_EQ(outcomes[3].result->id_token_info_json, InfoJson("Accepted"));
  // The session is the first token event's.
  EXPECT_EQ(outcomes[2].result->session.authorization_status, "ConcurrentTx");
  EXPECT_EQ(outcomes[3].result->session.authorization_status, "Accepted");

  // And again in a later batch: every copy gets its first answer.
  const std::vector<RecordOutcome> repeated = store_->RecordBatch({&copy, &later});
  ASSERT_EQ(repeated.size(), 2u);
  ASSERT_TRUE(repeated[0].result && repeated[1].result);
  EXPECT_TRUE(repeated[0].result->duplicate);
  EXPECT_EQ(json::parse(repeated[0].result->id_token_info_json),
            json::parse(InfoJson("ConcurrentTx")));
  EXPECT_TRUE(repeated[1].result->duplicate);
  EXPECT_EQ(json::parse(repeated[1].result->id_token_info_json), json::parse(InfoJson("Invalid")));
}

// The session's authorization is the earliest token event's (the start), whatever order the
// events arrive in: a stop by another token (C09) that arrives first is replaced once the
// Started comes.
TEST_F(AuthorizationLedgerTest, SessionAuthorizationIsTheEarliestTokenEvents) {
  const TimePoint t = At("2026-11-23T10:00:00Z");
  const Decision start_decision{"Blocked", "acct-start", true, "stored status Blocked"};
  const Decision stop_decision{"Accepted", "acct-stop", false, "accepted"};
  const TransactionEvent started =
      WithToken(MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp1", "tx1", 0, t, 1000), "TOK-START",
                start_decision);
  const TransactionEvent ended =
      WithToken(MakeEvent(TRANSACTION_EVENT_TYPE_ENDED, "cp1", "tx1", 2, t + minutes(30), 26500),
                "TOK-STOP", stop_decision, "Local");

  const RecordResult stop_first = store_->Record(ended);
  EXPECT_EQ(stop_first.session.user_id, "TOK-STOP");
  EXPECT_EQ(stop_first.session.authorization_status, "Accepted");
  const RecordResult then_start = store_->Record(started);
  const SessionState& s = then_start.session;
  EXPECT_EQ(s.user_id, "TOK-START");
  EXPECT_EQ(s.id_token_type, "ISO14443");
  EXPECT_EQ(s.account_id, "acct-start");
  EXPECT_EQ(s.authorization_status, "Blocked");
  EXPECT_TRUE(s.authorization_flagged);
  EXPECT_EQ(s.authorization_reason, "stored status Blocked");
  // Each event answered with its own decision.
  EXPECT_EQ(stop_first.id_token_info_json, InfoJson("Accepted"));
  EXPECT_EQ(then_start.id_token_info_json, InfoJson("Blocked"));

  // The same in one batch (stop first) and in order: the same session.
  TransactionEvent started2 = started, ended2 = ended;
  started2.set_transaction_id("tx2");
  ended2.set_transaction_id("tx2");
  const auto batch = store_->RecordBatch({&ended2, &started2});
  ASSERT_TRUE(batch[1].result);
  EXPECT_EQ(batch[1].result->session.account_id, "acct-start");
  EXPECT_EQ(batch[1].result->session.authorization_status, "Blocked");
  TransactionEvent started3 = started, ended3 = ended;
  started3.set_transaction_id("tx3");
  ended3.set_transaction_id("tx3");
  store_->Record(started3);
  const RecordResult in_order = store_->Record(ended3);
  EXPECT_EQ(in_order.session.user_id, "TOK-START");
  EXPECT_EQ(in_order.session.account_id, "acct-start");
  EXPECT_EQ(in_order.session.authorization_status, "Blocked");
  EXPECT_TRUE(in_order.session.authorization_flagged);
  // An Updated in between with the start token's later decision changes nothing either.
  const TransactionEvent updated =
      WithToken(MakeEvent(TRANSACTION_EVENT_TYPE_UPDATED, "cp1", "tx3", 1, t + minutes(10), 5000),
                "TOK-START", {"Accepted", "acct-other", false, "accepted"});
  const RecordResult after_update = store_->Record(updated);
  EXPECT_EQ(after_update.session.account_id, "acct-start");
  EXPECT_EQ(after_update.session.authorization_status, "Blocked");
}

TEST_F(AuthorizationLedgerTest, ListSessionsFiltersByAccountFlagAndChargerCaseTable) {
  const TimePoint t = At("2026-11-23T10:00:00Z");
  RecordSession("cp1", "t1", t, 0, 1000, "A1", {"Accepted", "acct-A", false, "accepted"});
  RecordSession("cp1", "t2", t + hours(1), 0, 1000, "A1",
                {"ConcurrentTx", "acct-A", true, "already runs 1"});
  RecordSession("cp2", "t3", t + hours(2), 0, 1000, "B1",
                {"Blocked", "acct-B", true, "stored status Blocked"});
  store_->Record(MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp2", "t4", 0, t + hours(3)));
  RecordSession("cp1", "t5", t + hours(4), 0, 1000, "B2", {"Accepted", "acct-B", false, "ok"},
                /*ended=*/false);
  RecordSession("cp2", "t6", t + hours(5), 0, 1000, "X9",
                {"Accepted", "", true, "unknown token admitted"});

  struct Case {
    const char* name;
    SessionFilter filter;
    int limit;
    std::vector<std::string> ids;  // newest first
  };
  const Case cases[] = {
      {"no filter", {}, 100, {"t6", "t5", "t4", "t3", "t2", "t1"}},
      {"account A", Filter("", "acct-A"), 100, {"t2", "t1"}},
      {"account B (an open session too)", Filter("", "acct-B"), 100, {"t5", "t3"}},
      {"an account nobody has", Filter("", "acct-none"), 100, {}},
      {"flagged", Filter("", "", true), 100, {"t6", "t3", "t2"}},
      {"charger cp1", Filter("cp1", ""), 100, {"t5", "t2", "t1"}},
      {"cp1, account A, flagged", Filter("cp1", "acct-A", true), 100, {"t2"}},
      {"cp2 and account A", Filter("cp2", "acct-A"), 100, {}},
      {"account A, limit 1", Filter("", "acct-A"), 1, {"t2"}},
      {"flagged on cp2", Filter("cp2", "", true), 100, {"t6", "t3"}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Ids(store_->ListSessions(c.filter, c.limit)), c.ids) << c.name;
  }
  const auto a = store_->ListSessions(Filter("", "acct-A"), 100);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].account_id, "acct-A");
  EXPECT_EQ(a[0].authorization_status, "ConcurrentTx");
  EXPECT_EQ(a[0].authorization_reason, "already runs 1");
  EXPECT_TRUE(a[0].authorization_flagged);
}

TEST_F(AuthorizationLedgerTest, DailyStatsByAccountSumOnlyItsEndedSessions) {
  const TimePoint d1 = At("2026-11-23T10:00:00Z");
  const TimePoint d2 = At("2026-11-24T10:00:00Z");
  const Decision a{"Accepted", "acct-A", false, "accepted"};
  const Decision b{"Accepted", "acct-B", false, "accepted"};
  RecordSession("cp1", "a1", d1, 1000, 26500, "A1", a);             // 25.5 kWh, 3825
  RecordSession("cp1", "a2", d1 + hours(2), 0, 2000, "A2", a);      // 2 kWh, 300
  RecordSession("cp1", "a3", d1 + hours(3), 0, 0, "A1", a, false);  // open: not counted
  RecordSession("cp1", "b1", d1 + hours(4), 0, 10000, "B1", b);     // another account
  RecordSession("cp2", "a4", d1 + hours(1), 500, 1500, "A1", a);    // 1 kWh, 150
  RecordSession("cp1", "a5", d2, 0, 4000, "A1", a);                 // next day: 4 kWh, 600
  // A session without a token has no account.
  store_->Record(MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp1", "n1", 0, d1, 0));
  store_->Record(MakeEvent(TRANSACTION_EVENT_TYPE_ENDED, "cp1", "n1", 1, d1 + minutes(30), 7000));

  struct Row {
    std::string charger, date;
    int64_t sessions;
    double kwh, revenue;
  };
  auto rows = [](const std::vector<DailyStats>& stats) {
    std::vector<std::string> out;
    for (const auto& s : stats) {
      out.push_back(s.charger_id + " " + s.date + " " + std::to_string(s.sessions) + " " +
                    std::to_string(s.total_energy_kwh) + " " + std::to_string(s.total_revenue));
    }
    return out;
  };
  auto expect = [](std::vector<Row> expected) {
    std::vector<std::string> out;
    for (const auto& r : expected) {
      out.push_back(r.charger + " " + r.date + " " + std::to_string(r.sessions) + " " +
                    std::to_string(r.kwh) + " " + std::to_string(r.revenue));
    }
    return out;
  };
  struct Case {
    const char* name;
    std::string charger, from, to, account;
    std::vector<Row> rows;
  };
  const Case cases[] = {
      {"account A, both days",
       "",
       "2026-11-23",
       "2026-11-24",
       "acct-A",
       {{"cp1", "2026-11-23", 2, 27.5, 4125},
        {"cp2", "2026-11-23", 1, 1, 150},
        {"cp1", "2026-11-24", 1, 4, 600}}},
      {"account A, first day, cp1",
       "cp1",
       "2026-11-23",
       "2026-11-23",
       "acct-A",
       {{"cp1", "2026-11-23", 2, 27.5, 4125}}},
      {"account B", "", "2026-11-23", "2026-11-24", "acct-B", {{"cp1", "2026-11-23", 1, 10, 1500}}},
      {"an account nobody has", "", "2026-11-23", "2026-11-24", "acct-none", {}},
      {"account A, a day without sessions", "", "2026-11-25", "2026-11-25", "acct-A", {}},
      {"every account (and none): the network's totals",
       "",
       "2026-11-23",
       "2026-11-23",
       "",
       {{"cp1", "2026-11-23", 4, 44.5, 6675}, {"cp2", "2026-11-23", 1, 1, 150}}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(rows(store_->GetDailyStats(c.charger, c.from, c.to, c.account)), expect(c.rows))
        << c.name;
  }
}

// Migration 0003 on a database with rows written before it: they stay valid (no decision, not
// flagged), are read and filtered like any other, and a repeat of an old event answers nothing
// stored (the gateway then answers Accepted, as it did then).
TEST_F(AuthorizationLedgerTest, MigrationKeepsOlderRowsValid) {
  csms::testing::TestDatabase old_db;
  CSMS_REQUIRE_DATABASE(old_db);
  {
    std::vector<pg::Migration> first_two(BillingMigrations().begin(),
                                         BillingMigrations().begin() + 2);
    pqxx::connection conn(old_db.url());
    ASSERT_EQ(pg::ApplyMigrations(conn, "billing", first_two), 2);
    pqxx::work txn(conn);
    txn.exec0(
        "INSERT INTO transaction_events (charger_id, transaction_id, dedup_key, seq_no,"
        " order_key, event_type, event_time, received_at, energy_register_wh, id_token,"
        " id_token_type, dialect, raw_payload) VALUES ('cp-old', 'tx-old', 'seq:0', 0, 0,"
        " 'Started', '2026-11-23T10:00:00Z', '2026-11-23T10:00:00Z', 1000, 'OLD-1', 'ISO14443',"
        " 'ocpp2.0.1', '{\"seqNo\":0}')");
    txn.exec0(
        "INSERT INTO charger_usage_log (charger_id, transaction_id, start_time, user_id,"
        " user_id_order, user_id_time, started_seen, event_count, meter_start_wh,"
        " meter_start_order, meter_start_time, meter_stop_wh, meter_stop_order, meter_stop_time,"
        " currency, stats_date) VALUES ('cp-old', 'tx-old', '2026-11-23T10:00:00Z', 'OLD-1', 0,"
        " '2026-11-23T10:00:00Z', true, 1, 1000, 0, '2026-11-23T10:00:00Z', 1000, 0,"
        " '2026-11-23T10:00:00Z', 'KRW', '2026-11-23')");
    txn.commit();
    ASSERT_EQ(ApplyMigrations(conn), static_cast<int>(BillingMigrations().size()) - 2);
  }
  {
    pqxx::connection conn(old_db.url());
    pqxx::read_transaction txn(conn);
    const pqxx::row e = txn.exec1(
        "SELECT authorization_flagged, authorization_status IS NULL AND account_id IS NULL AND"
        " authorization_reason IS NULL AND id_token_info IS NULL FROM transaction_events");
    EXPECT_FALSE(e[0].as<bool>());
    EXPECT_TRUE(e[1].as<bool>());
    const pqxx::row s = txn.exec1(
        "SELECT authorization_flagged, id_token_type IS NULL AND account_id IS NULL AND"
        " authorization_status IS NULL AND authorization_reason IS NULL FROM charger_usage_log");
    EXPECT_FALSE(s[0].as<bool>());
    EXPECT_TRUE(s[1].as<bool>());
  }
  pg::Pool pool(old_db.url(), 2);
  LedgerStore store(pool, kKrw150, "UTC");
  const auto old = store.GetSession("tx-old", "cp-old");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->user_id, "OLD-1");
  EXPECT_EQ(old->id_token_type, "");
  EXPECT_EQ(old->account_id, "");
  EXPECT_EQ(old->authorization_status, "");
  EXPECT_FALSE(old->authorization_flagged);
  EXPECT_EQ(Ids(store.ListSessions({}, 10)), (std::vector<std::string>{"tx-old"}));
  EXPECT_TRUE(store.ListSessions(Filter("", "", true), 10).empty());
  EXPECT_TRUE(store.ListSessions(Filter("", "acct-1"), 10).empty());

  // The charger repeats the old Started, now with a decision: a duplicate with no stored answer.
  const TransactionEvent repeat =
      WithToken(MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp-old", "tx-old", 0,
                          At("2026-11-23T10:00:00Z"), 1000),
                "OLD-1", {"Blocked", "acct-1", true, "stored status Blocked"});
  const RecordResult again = store.Record(repeat);
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.id_token_info_json, "");
  EXPECT_EQ(again.session.authorization_status, "");
  // The old session ends normally; its start token (from before decisions) stays its token.
  const RecordResult ended =
      store.Record(WithToken(MakeEvent(TRANSACTION_EVENT_TYPE_ENDED, "cp-old", "tx-old", 1,
                                       At("2026-11-23T10:30:00Z"), 26500),
                             "STOP-1", {"Accepted", "acct-1", false, "accepted"}));
  EXPECT_FALSE(ended.duplicate);
  EXPECT_EQ(ended.id_token_info_json, InfoJson("Accepted"));
  EXPECT_TRUE(ended.session.ended);
  EXPECT_EQ(ended.session.energy_wh, 25'500);
  EXPECT_EQ(ended.session.cost_hundredths, 382'500);
  EXPECT_EQ(ended.session.user_id, "OLD-1");
  EXPECT_EQ(ended.session.account_id, "");
  EXPECT_FALSE(ended.session.authorization_flagged);
  EXPECT_TRUE(store.GetDailyStats("", "2026-11-23", "2026-11-23", "acct-1").empty());
  const auto network = store.GetDailyStats("", "2026-11-23", "2026-11-23");
  ASSERT_EQ(network.size(), 1u);
  EXPECT_EQ(network[0].sessions, 1);
  EXPECT_DOUBLE_EQ(network[0].total_revenue, 3825);
}

}  // namespace
}  // namespace csms::billing
