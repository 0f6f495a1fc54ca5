#include "csms/control/token_session_store.h"

#include "csms/common/pg_sql.h"
#include "csms/control/remote_start_store.h"
#include "csms/control/token_store.h"

namespace csms::control {
namespace {

using ocpp::v1::TRANSACTION_EVENT_TYPE_ENDED;

std::string StationOf(pqxx::transaction_base& txn, const std::string& charger_id) {
  auto rows =
      txn.exec_params("SELECT station_id FROM station_chargers WHERE charger_id = $1", charger_id);
  return rows.empty() ? std::string() : rows[0][0].as<std::string>();
}

// The token's other transactions that still count: not Ended (control's transactions table),
// not freed (their connector reported Available since they started, registry_batch.cc), and
// decided within the age limit.
int64_t ActiveSessions(pqxx::transaction_base& txn, const std::string& type,
                       const std::string& id_token, const std::string& charger_id,
                       const std::string& transaction_id, std::chrono::seconds max_age) {
  return txn
      .exec_params1(
          "SELECT count(*) FROM token_sessions s"
          " WHERE s.type = $1 AND s.id_key = lower($2) AND s.status = 'Accepted'"
          " AND NOT (s.charger_id = $3 AND s.transaction_id = $4)"
          " AND s.decided_at > now() - make_interval(secs => $5)"
          " AND NOT EXISTS (SELECT 1 FROM transactions t WHERE t.charger_id = s.charger_id"
          "   AND t.transaction_id = s.transaction_id AND t.ended)"
          " AND s.freed_at IS NULL",
          type, id_token, charger_id, transaction_id, static_cast<double>(max_age.count()))[0]
      .as<int64_t>();
}

}  // namespace

AuthorizeDecision TokenSessionStore::Decide(const std::string& charger_id,
                                            const std::string& id_token, const std::string& type,
                                            const v1::TransactionTokenContext& context,
                                            TimePoint now) {
  const int64_t now_ms = pg::EpochMs(now);
  int64_t due = next_purge_ms_.load();
  if (now_ms >= due && next_purge_ms_.compare_exchange_strong(due, now_ms + 3'600'000)) {
    PurgeExpired();
  }
  return pg::Transact(pool_, [&](pqxx::work& txn) {
    AuthorizeFacts facts;
    facts.id_token = id_token;
    facts.type = type;
    facts.now = now;
    TransactionTokenFacts transaction;

    const pqxx::result first = txn.exec_params(
        "SELECT status, type = $3 AND id_key = lower($4) AS same_token FROM token_sessions"
        " WHERE charger_id = $1 AND transaction_id = $2",
        charger_id, context.transaction_id(), type, id_token);
    const bool recorded = !first.empty();
    if (recorded && first[0]["same_token"].as<bool>()) {
      transaction.first_status = first[0]["status"].as<std::string>();
    }
    // The first token of a transaction that has not ended authorizes it; another token later
    // (a stop by a group member, C09) is decided on its own and not recorded.
    transaction.authorizes_session =
        !recorded && context.event_type() != TRANSACTION_EVENT_TYPE_ENDED;

    if (type != "NoAuthorization") {
      facts.token = TokenStore::FindIn(txn, type, id_token, transaction.authorizes_session);
      if (facts.token && facts.token->has_stations()) facts.station_id = StationOf(txn, charger_id);
      if (!facts.token && type == "Central") {
        facts.central_token_sent = RemoteStartStore::SentTokenFor(
            txn, charger_id, id_token,
            context.has_remote_start_id() ? std::optional(context.remote_start_id()) : std::nullopt,
            context.transaction_id(), options_.remote_start_window);
      }
      if (transaction.authorizes_session && facts.token) {
        transaction.active_sessions = ActiveSessions(
            txn, type, id_token, charger_id, context.transaction_id(), options_.session_max_age);
      }
    }
    AuthorizeDecision decision = DecideTransactionToken(facts, transaction, options_.authorize);
    if (transaction.authorizes_session) {
      const TimePoint started = context.has_timestamp() ? FromProto(context.timestamp()) : now;
      txn.exec_params0(
          "INSERT INTO token_sessions (charger_id, transaction_id, type, id_key, evse_id,"
          " started_at, status) VALUES ($1, $2, $3, lower($4), $5, $6, $7)"
          " ON CONFLICT (charger_id, transaction_id) DO NOTHING",
          charger_id, context.transaction_id(), type, id_token, context.evse_id(),
          pg::TimestampText(started), decision.status);
      // Local lists keep the most recently used tokens when they cannot hold them all.
      if (facts.token && decision.status == "Accepted") {
        txn.exec_params0(
            "UPDATE tokens SET last_used_at = now() WHERE type = $1 AND id_key = lower($2)", type,
            id_token);
      }
    }
    return decision;
  });
}

int64_t TokenSessionStore::PurgeExpired() {
  return pg::Transact(pool_, [&](pqxx::work& txn) {
    const pqxx::result rows = txn.exec_params(
        "DELETE FROM token_sessions WHERE decided_at < now() - make_interval(secs"
        " => $1)",
        static_cast<double>(options_.session_max_age.count()));
    return static_cast<int64_t>(rows.affected_rows());
  });
}

}  // namespace csms::control
