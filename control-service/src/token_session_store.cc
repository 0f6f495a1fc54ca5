#include "csms/control/token_session_store.h"

#include "csms/common/pg_sql.h"
#include "csms/control/remote_start_store.h"
#include "csms/control/token_store.h"

namespace csms::control {
namespace {

using ocpp::v1::TRANSACTION_EVENT_TYPE_ENDED;

// The token's other transactions that still count: not Ended (control's transactions table),
// not freed (their connector reported Available since they started, registry_batch.cc), and
// decided within the age limit.
int64_t ActiveSessions(pqxx::transaction_base& txn, const std::string& type,
                       const std::string& id_token, const std::string& charger_id,
                       const std::string& transaction_id, std::chrono::seconds max_age) {
  return pg::ExecPrepared(
             txn, "token_session_active",
             "SELECT count(*) FROM token_sessions s"
             " WHERE s.type = $1 AND s.id_key = lower($2) AND s.status = 'Accepted'"
             " AND NOT (s.charger_id = $3 AND s.transaction_id = $4)"
             " AND s.decided_at > now() - make_interval(secs => $5)"
             " AND NOT EXISTS (SELECT 1 FROM transactions t WHERE t.charger_id = s.charger_id"
             "   AND t.transaction_id = s.transaction_id AND t.ended)"
             " AND s.freed_at IS NULL",
             type, id_token, charger_id, transaction_id, static_cast<double>(max_age.count()))[0][0]
      .as<int64_t>();
}

}  // namespace

std::vector<TokenSessionStore::Facts> TokenSessionStore::ReadFacts(
    const std::vector<const v1::AuthorizeTokenRequest*>& requests, TimePoint now) {
  std::vector<Facts> out(requests.size());
  if (requests.empty()) return out;
  const int64_t now_ms = pg::EpochMs(now);
  int64_t due = next_purge_ms_.load();
  if (now_ms >= due && next_purge_ms_.compare_exchange_strong(due, now_ms + 3'600'000)) {
    PurgeExpired();
  }
  pg::ArrayLiteral chargers, transactions, types, id_tokens, remote_starts;
  for (const auto* request : requests) {
    const auto& context = request->transaction();
    chargers.Text(request->charger_id());
    transactions.Text(context.transaction_id());
    types.Text(request->type());
    id_tokens.Text(request->id_token());
    remote_starts.OptInt(context.has_remote_start_id()
                             ? std::optional<int64_t>(context.remote_start_id())
                             : std::nullopt);
  }
  // Per request, every fact at once: the transaction's recorded token, the stored token, the
  // charger's station (only for a token limited to stations) and, for an unknown Central token,
  // the CSMS's own remote start (by remoteStartId, else within the window: remote_start_store.cc's
  // rule). No transaction of its own, and a generic plan made once per connection: the store's
  // pool has pg::KeyLookupSettings (token_session_store.h).
  static const std::string kFacts =
      std::string(
          "SELECT s.status AS first_status, (s.type = q.type AND s.id_key = lower(q.id_token))"
          " AS same_token, t.*, CASE WHEN t.stations_json IS NOT NULL THEN (SELECT station_id"
          " FROM station_chargers c WHERE c.charger_id = q.charger_id) END AS station_id,"
          " CASE WHEN t.id_key IS NOT NULL OR q.type <> 'Central' THEN false"
          "  WHEN q.remote_start_id IS NOT NULL THEN EXISTS (SELECT 1 FROM remote_starts r"
          "   WHERE r.remote_start_id = q.remote_start_id AND r.charger_id = q.charger_id"
          "   AND lower(r.id_token) = lower(q.id_token) AND r.status NOT IN ('Rejected', 'Failed')"
          "   AND (r.transaction_id IS NULL OR r.transaction_id = q.transaction_id))"
          "  ELSE EXISTS (SELECT 1 FROM remote_starts r WHERE r.charger_id = q.charger_id"
          "   AND r.transaction_id IS NULL AND lower(r.id_token) = lower(q.id_token)"
          "   AND r.requested_at > now() - make_interval(secs => $6)"
          "   AND r.status NOT IN ('Rejected', 'Failed'))"
          "  OR EXISTS (SELECT 1 FROM remote_starts r WHERE r.charger_id = q.charger_id"
          "   AND r.transaction_id = q.transaction_id AND lower(r.id_token) = lower(q.id_token)"
          "   AND r.requested_at > now() - make_interval(secs => $6)"
          "   AND r.status NOT IN ('Rejected', 'Failed')) END AS central_sent"
          " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[])"
          "  WITH ORDINALITY AS q (charger_id, transaction_id, type, id_token, remote_start_id, n)"
          " LEFT JOIN token_sessions s ON s.charger_id = q.charger_id"
          "  AND s.transaction_id = q.transaction_id"
          " LEFT JOIN LATERAL (SELECT ") +
      TokenStore::Columns() +
      " FROM tokens WHERE type = q.type AND id_key = lower(q.id_token)"
      "  AND q.type <> 'NoAuthorization') AS t ON true"
      " ORDER BY q.n";
  const pqxx::result rows = pool_.Run([&](pqxx::connection& conn) {
    pqxx::nontransaction read(conn);
    return pg::ExecPrepared(read, "token_session_facts_batch", kFacts, chargers.str(),
                            transactions.str(), types.str(), id_tokens.str(), remote_starts.str(),
                            static_cast<double>(options_.remote_start_window.count()));
  });
  if (rows.size() != requests.size()) {
    throw std::runtime_error("token facts: " + std::to_string(rows.size()) + " rows for " +
                             std::to_string(requests.size()) + " requests");
  }
  for (size_t i = 0; i < requests.size(); ++i) {
    const v1::AuthorizeTokenRequest& request = *requests[i];
    const pqxx::row row = rows[static_cast<pqxx::result::size_type>(i)];
    Facts& facts = out[i];
    facts.authorize.id_token = request.id_token();
    facts.authorize.type = request.type();
    facts.authorize.now = now;
    const bool recorded = !row["first_status"].is_null();
    if (recorded && row["same_token"].as<bool>()) {
      facts.transaction.first_status = row["first_status"].as<std::string>();
    }
    // The first token of a transaction that has not ended authorizes it; another token later
    // (a stop by a group member, C09) is decided on its own and not recorded.
    facts.transaction.authorizes_session =
        !recorded && request.transaction().event_type() != TRANSACTION_EVENT_TYPE_ENDED;
    if (!row["id_key"].is_null()) facts.authorize.token = TokenStore::FromRow(row);
    if (!row["station_id"].is_null()) {
      facts.authorize.station_id = row["station_id"].as<std::string>();
    }
    facts.authorize.central_token_sent = row["central_sent"].as<bool>();
  }
  return out;
}

AuthorizeDecision TokenSessionStore::DecideOn(const v1::AuthorizeTokenRequest& request, Facts facts,
                                              TimePoint now) {
  // Only a stored token has concurrent transactions to count (max_concurrent) and a session to
  // record; every other decision (unknown, NoAuthorization, the CSMS's own Central token) is
  // read-only, and billing keeps it with the event.
  if (!facts.transaction.authorizes_session || !facts.authorize.token) {
    return DecideTransactionToken(facts.authorize, facts.transaction, options_.authorize);
  }
  const std::string& charger_id = request.charger_id();
  const std::string& type = request.type();
  const std::string& id_token = request.id_token();
  const v1::TransactionTokenContext& context = request.transaction();
  return pg::Transact(pool_, [&](pqxx::work& txn) {
    // Billing stores the decision durably with the event; this row only counts concurrent
    // transactions and keeps later answers the same. Its commit need not wait for the WAL flush
    // (a crash forgets at most the last few, which are then decided again).
    txn.exec0("SET LOCAL synchronous_commit = off");
    // Again under the token's row lock: decisions that count its transactions go one at a time.
    AuthorizeFacts authorize = facts.authorize;
    TransactionTokenFacts transaction = facts.transaction;
    authorize.token = TokenStore::FindIn(txn, type, id_token, /*lock=*/true);
    if (authorize.token) {
      transaction.active_sessions = ActiveSessions(
          txn, type, id_token, charger_id, context.transaction_id(), options_.session_max_age);
    }
    AuthorizeDecision decision = DecideTransactionToken(authorize, transaction, options_.authorize);
    if (authorize.token) {
      const TimePoint started = context.has_timestamp() ? FromProto(context.timestamp()) : now;
      pg::ExecPrepared(txn, "token_session_insert",
                       "INSERT INTO token_sessions (charger_id, transaction_id, type, id_key,"
                       " evse_id, started_at, status) VALUES ($1, $2, $3, lower($4), $5, $6, $7)"
                       " ON CONFLICT (charger_id, transaction_id) DO NOTHING",
                       charger_id, context.transaction_id(), type, id_token, context.evse_id(),
                       pg::TimestampText(started), decision.status);
      // Local lists keep the most recently used tokens when they cannot hold them all.
      if (decision.status == "Accepted") {
        pg::ExecPrepared(txn, "token_mark_used",
                         "UPDATE tokens SET last_used_at = now() WHERE type = $1"
                         " AND id_key = lower($2)",
                         type, id_token);
      }
    }
    return decision;
  });
}

AuthorizeDecision TokenSessionStore::Decide(const v1::AuthorizeTokenRequest& request,
                                            TimePoint now) {
  return DecideOn(request, std::move(ReadFacts({&request}, now).front()), now);
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
