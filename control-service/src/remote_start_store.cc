#include "csms/control/remote_start_store.h"

#include "csms/common/pg_sql.h"

namespace csms::control {
namespace {

// A remote start without a remoteStartId in the events (seed dialect) is matched to the first
// new transaction on its charger within this window.
constexpr int kCorrelationWindowSeconds = 60;

}  // namespace

int64_t RemoteStartStore::Create(const std::string& charger_id, int evse_id,
                                 const std::string& id_token) {
  return pg::Transact(pool_, [&](pqxx::work& txn) {
    return txn
        .exec_params1(
            "INSERT INTO remote_starts (charger_id, evse_id, id_token) VALUES ($1, $2, $3)"
            " RETURNING remote_start_id",
            charger_id, evse_id, id_token)[0]
        .as<int64_t>();
  });
}

bool RemoteStartStore::SentToken(const std::string& charger_id, const std::string& id_token,
                                 std::chrono::seconds window) {
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::nontransaction txn(conn);
    return !txn.exec_params(
                   "SELECT 1 FROM remote_starts WHERE charger_id = $1 AND lower(id_token) ="
                   " lower($2) AND requested_at > now() - make_interval(secs => $3)"
                   " AND transaction_id IS NULL AND status NOT IN ('Rejected', 'Failed') LIMIT 1",
                   charger_id, id_token, static_cast<double>(window.count()))
                .empty();
  });
}

void RemoteStartStore::SetStatus(int64_t remote_start_id, const std::string& status) {
  // Once correlated (Started) a remote start keeps that status.
  pg::Transact(pool_, [&](pqxx::work& txn) {
    txn.exec_params0(
        "UPDATE remote_starts SET status = $2 WHERE remote_start_id = $1 AND transaction_id IS "
        "NULL",
        remote_start_id, status);
  });
}

void RemoteStartStore::SetTransaction(int64_t remote_start_id, const std::string& transaction_id) {
  pg::Transact(pool_, [&](pqxx::work& txn) {
    txn.exec_params0(
        "UPDATE remote_starts SET transaction_id = $2, status = 'Started'"
        " WHERE remote_start_id = $1 AND transaction_id IS NULL",
        remote_start_id, transaction_id);
  });
}

std::string RemoteStartStore::TransactionOf(int64_t remote_start_id) {
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    pqxx::result rows = txn.exec_params(
        "SELECT coalesce(transaction_id, '') FROM remote_starts WHERE remote_start_id = $1",
        remote_start_id);
    return rows.empty() ? std::string() : rows[0][0].as<std::string>();
  });
}

std::set<std::string> RemoteStartStore::Waiting(pqxx::transaction_base& txn,
                                                const std::set<std::string>& charger_ids) {
  std::set<std::string> waiting;
  for (const auto& row : pg::ExecPrepared(
           txn, "remote_starts_waiting",
           "SELECT DISTINCT charger_id FROM remote_starts WHERE charger_id = ANY($1::text[])"
           " AND transaction_id IS NULL AND status IN ('Requested', 'Accepted')"
           " AND requested_at > now() - $2 * interval '1 second'",
           pg::TextArray(charger_ids), kCorrelationWindowSeconds)) {
    waiting.insert(row[0].as<std::string>());
  }
  return waiting;
}

void RemoteStartStore::Claim(pqxx::transaction_base& txn,
                             const std::vector<RemoteStartClaim>& claims) {
  if (claims.empty()) return;
  std::set<int64_t> seen;
  pg::ArrayLiteral ids, rs_ids, tx_ids;
  for (const auto& c : claims) {
    if (!seen.insert(c.remote_start_id).second) continue;  // the first event claims it
    ids.Text(c.charger_id);
    rs_ids.Int(c.remote_start_id);
    tx_ids.Text(c.transaction_id);
  }
  pg::ExecPrepared(
      txn, "remote_starts_claim",
      "UPDATE remote_starts r SET transaction_id = u.tx, status = 'Started'"
      " FROM unnest($1::text[], $2::bigint[], $3::text[]) AS u (c, id, tx)"
      " WHERE r.remote_start_id = u.id AND r.charger_id = u.c AND r.transaction_id IS NULL",
      ids.str(), rs_ids.str(), tx_ids.str());
}

std::optional<int64_t> RemoteStartStore::ClaimOldest(pqxx::transaction_base& txn,
                                                     const std::string& charger_id, int evse_id,
                                                     const std::string& transaction_id) {
  // SKIP LOCKED keeps two concurrent first events from claiming the same one.
  pqxx::result matched = txn.exec_params(
      "UPDATE remote_starts r SET transaction_id = $2, status = 'Started'"
      " FROM (SELECT remote_start_id FROM remote_starts"
      "  WHERE charger_id = $1 AND transaction_id IS NULL"
      "  AND status IN ('Requested', 'Accepted')"
      "  AND requested_at > now() - $4 * interval '1 second' AND ($3 = 0 OR evse_id = $3)"
      "  ORDER BY requested_at, remote_start_id LIMIT 1 FOR UPDATE SKIP LOCKED) c"
      " WHERE r.remote_start_id = c.remote_start_id RETURNING r.remote_start_id",
      charger_id, transaction_id, evse_id, kCorrelationWindowSeconds);
  if (matched.empty()) return std::nullopt;
  return matched[0][0].as<int64_t>();
}

}  // namespace csms::control
