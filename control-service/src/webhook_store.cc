#include "csms/control/webhook_store.h"

#include <map>
#include <stdexcept>

#include "csms/common/pg_sql.h"

namespace csms::control {
namespace {

using std::chrono::milliseconds;

constexpr size_t kMaxErrorBytes = 500;

constexpr const char* kWebhookColumns =
    "w.id, w.name, w.url, w.secret, w.kinds, w.offline_intervals, w.charger_ids, w.enabled,"
    " w.created_by, extract(epoch FROM w.created_at) AS created,"
    " extract(epoch FROM w.updated_at) AS updated,"
    " (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id"
    "  AND d.state = 'pending') AS pending";

// A PostgreSQL text[] as it comes back: {a,"b c",NULL}.
std::vector<std::string> TextArrayOf(const pqxx::field& f) {
  std::vector<std::string> out;
  pqxx::array_parser parser = f.as_array();
  for (;;) {
    auto [kind, value] = parser.get_next();
    if (kind == pqxx::array_parser::done) break;
    if (kind == pqxx::array_parser::string_value) out.push_back(std::move(value));
  }
  return out;
}

WebhookRecord WebhookOf(const pqxx::row& row) {
  WebhookRecord w;
  w.id = row["id"].as<int64_t>();
  w.name = row["name"].as<std::string>();
  w.url = row["url"].as<std::string>();
  w.secret = row["secret"].as<std::string>();
  w.kinds = TextArrayOf(row["kinds"]);
  w.offline_intervals = row["offline_intervals"].as<int>();
  if (!row["charger_ids"].is_null()) w.charger_ids = TextArrayOf(row["charger_ids"]);
  w.enabled = row["enabled"].as<bool>();
  w.created_by = row["created_by"].as<std::string>();
  w.created_at = pg::FromEpochSeconds(row["created"].as<double>());
  w.updated_at = pg::FromEpochSeconds(row["updated"].as<double>());
  w.pending_deliveries = row["pending"].as<int64_t>();
  return w;
}

std::optional<std::string> OptionalIds(const std::optional<std::vector<std::string>>& ids) {
  if (!ids) return std::nullopt;
  return pg::TextArray(*ids);
}

// The claim's columns, and the URL, secret and body it needs to send.
std::optional<ClaimedDelivery> ClaimedOf(pqxx::transaction_base& txn, const pqxx::result& r) {
  if (r.empty()) return std::nullopt;
  ClaimedDelivery c;
  c.id = r[0]["id"].as<int64_t>();
  c.webhook_id = r[0]["webhook_id"].as<int64_t>();
  c.alert_id = r[0]["alert_id"].as<int64_t>();
  c.queue = r[0]["queue"].as<std::string>();
  c.attempt = r[0]["attempts"].as<int>();
  pqxx::row more = txn.exec_params1(
      "SELECT w.url, w.secret, a.uid::text, a.body FROM webhooks w, alerts a"
      " WHERE w.id = $1 AND a.id = $2",
      c.webhook_id, c.alert_id);
  c.url = more[0].as<std::string>();
  c.secret = more[1].as<std::string>();
  c.alert_uid = more[2].as<std::string>();
  c.body = more[3].as<std::string>();
  return c;
}

std::string Clip(const std::string& text) {
  if (text.size() <= kMaxErrorBytes) return text;
  return text.substr(0, kMaxErrorBytes) + "…";
}

constexpr const char* kDeliveryColumns =
    "d.id, d.webhook_id, d.state, d.attempts, d.last_http_status, d.last_error,"
    " extract(epoch FROM d.next_attempt_at) AS next_at, extract(epoch FROM d.created_at) AS "
    "created,"
    " extract(epoch FROM d.finished_at) AS finished, a.id AS alert_id, a.uid::text AS uid,"
    " a.kind, a.charger_id, extract(epoch FROM a.occurred_at) AS occurred,"
    " extract(epoch FROM a.raised_at) AS raised, a.body";

// Deliveries with their alerts, and their attempts read in one more statement.
std::vector<DeliveryRecord> DeliveriesOf(pqxx::transaction_base& txn, const pqxx::result& rows,
                                         size_t limit) {
  std::vector<DeliveryRecord> out;
  std::map<int64_t, size_t> index;
  pg::ArrayLiteral ids;
  for (const auto& row : rows) {
    if (out.size() == limit) break;
    DeliveryRecord& d = out.emplace_back();
    d.id = row["id"].as<int64_t>();
    d.webhook_id = row["webhook_id"].as<int64_t>();
    d.state = row["state"].as<std::string>();
    d.attempts = row["attempts"].as<int>();
    if (!row["last_http_status"].is_null()) d.last_http_status = row["last_http_status"].as<int>();
    d.last_error = row["last_error"].as<std::string>();
    d.next_attempt_at = pg::FromEpochSeconds(row["next_at"].as<double>());
    d.created_at = pg::FromEpochSeconds(row["created"].as<double>());
    d.finished_at = pg::OptionalTime(row["finished"]);
    d.alert.id = row["alert_id"].as<int64_t>();
    d.alert.uid = row["uid"].as<std::string>();
    d.alert.kind = row["kind"].as<std::string>();
    d.alert.charger_id = row["charger_id"].as<std::string>();
    d.alert.occurred_at = pg::FromEpochSeconds(row["occurred"].as<double>());
    d.alert.raised_at = pg::FromEpochSeconds(row["raised"].as<double>());
    d.alert.body = row["body"].as<std::string>();
    index[d.id] = out.size() - 1;
    ids.Int(d.id);
  }
  if (out.empty()) return out;
  for (const auto& row : txn.exec_params(
           "SELECT delivery_id, attempt, extract(epoch FROM started_at) AS started, http_status,"
           " outcome, error, latency_ms FROM webhook_attempts"
           " WHERE delivery_id = ANY ($1::bigint[]) ORDER BY delivery_id, attempt",
           ids.str())) {
    AttemptRecord& a = out[index.at(row["delivery_id"].as<int64_t>())].attempt_log.emplace_back();
    a.attempt = row["attempt"].as<int>();
    a.started_at = pg::FromEpochSeconds(row["started"].as<double>());
    if (!row["http_status"].is_null()) a.http_status = row["http_status"].as<int>();
    a.outcome = row["outcome"].as<std::string>();
    a.error = row["error"].as<std::string>();
    a.latency_ms = row["latency_ms"].as<int>();
  }
  return out;
}

}  // namespace

WebhookRecord WebhookStore::Create(const WebhookRecord& w) {
  return pg::Transact(pool_, [&](pqxx::work& txn) {
    const int64_t id =
        txn.exec_params1(
               "INSERT INTO webhooks (name, url, secret, kinds, offline_intervals, charger_ids,"
               " enabled, created_by) VALUES ($1, $2, $3, $4::text[], $5, $6::text[], $7, $8)"
               " RETURNING id",
               w.name, w.url, w.secret, pg::TextArray(w.kinds), w.offline_intervals,
               OptionalIds(w.charger_ids), w.enabled, w.created_by)[0]
            .as<int64_t>();
    return WebhookOf(txn.exec_params1(
        std::string("SELECT ") + kWebhookColumns + " FROM webhooks w WHERE w.id = $1", id));
  });
}

std::vector<WebhookRecord> WebhookStore::List() {
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    std::vector<WebhookRecord> out;
    for (const auto& row :
         txn.exec(std::string("SELECT ") + kWebhookColumns + " FROM webhooks w ORDER BY w.id")) {
      out.push_back(WebhookOf(row));
    }
    return out;
  });
}

std::optional<WebhookRecord> WebhookStore::Find(int64_t id) {
  return pool_.Run([&](pqxx::connection& conn) -> std::optional<WebhookRecord> {
    pqxx::read_transaction txn(conn);
    pqxx::result r = txn.exec_params(
        std::string("SELECT ") + kWebhookColumns + " FROM webhooks w WHERE w.id = $1", id);
    if (r.empty()) return std::nullopt;
    return WebhookOf(r[0]);
  });
}

std::optional<WebhookRecord> WebhookStore::Update(int64_t id, const WebhookChanges& c) {
  return pg::Transact(pool_, [&](pqxx::work& txn) -> std::optional<WebhookRecord> {
    std::optional<std::string> kinds;
    if (c.kinds) kinds = pg::TextArray(*c.kinds);
    const bool set_ids = c.charger_ids.has_value();
    std::optional<std::string> ids;
    if (set_ids) ids = OptionalIds(*c.charger_ids);
    pqxx::result r = txn.exec_params(
        "UPDATE webhooks SET name = coalesce($2, name), url = coalesce($3, url),"
        " secret = coalesce($4, secret), kinds = coalesce($5::text[], kinds),"
        " offline_intervals = coalesce($6, offline_intervals),"
        " charger_ids = CASE WHEN $7 THEN $8::text[] ELSE charger_ids END,"
        " enabled = coalesce($9, enabled), updated_at = now() WHERE id = $1 RETURNING id",
        id, c.name, c.url, c.secret, kinds, c.offline_intervals, set_ids, ids, c.enabled);
    if (r.empty()) return std::nullopt;
    return WebhookOf(txn.exec_params1(
        std::string("SELECT ") + kWebhookColumns + " FROM webhooks w WHERE w.id = $1", id));
  });
}

bool WebhookStore::Delete(int64_t id) {
  return pg::Transact(pool_, [&](pqxx::work& txn) {
    return !txn.exec_params("DELETE FROM webhooks WHERE id = $1 RETURNING id", id).empty();
  });
}

std::optional<ClaimedDelivery> WebhookStore::ClaimNext(milliseconds lease) {
  return pg::Transact(pool_, [&](pqxx::work& txn) {
    // A queue's head is its pending delivery with no pending one before it. Snapshots may see a
    // head that another claimer just leased (it is then locked: skipped) or just settled (the
    // row's new version fails the recheck), never a second one of the same queue.
    pqxx::result r = txn.exec_params(
        "WITH head AS (SELECT d.id FROM webhook_deliveries d"
        "  JOIN webhooks w ON w.id = d.webhook_id AND w.enabled"
        "  WHERE d.state = 'pending' AND d.next_attempt_at <= now()"
        "   AND (d.lease_until IS NULL OR d.lease_until < now())"
        "   AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.webhook_id = d.webhook_id"
        "    AND e.queue = d.queue AND e.state = 'pending' AND e.id < d.id)"
        "  ORDER BY d.next_attempt_at, d.id LIMIT 1 FOR UPDATE OF d SKIP LOCKED)"
        " UPDATE webhook_deliveries d SET attempts = d.attempts + 1,"
        "  lease_until = now() + $1::bigint * interval '1 millisecond'"
        " FROM head WHERE d.id = head.id"
        " RETURNING d.id, d.webhook_id, d.alert_id, d.queue, d.attempts",
        static_cast<int64_t>(lease.count()));
    return ClaimedOf(txn, r);
  });
}

bool WebhookStore::Record(const ClaimedDelivery& claim, const HttpAttempt& attempt,
                          DeliveryOutcome outcome, TimePoint started_at, milliseconds retry_in) {
  return pg::Transact(pool_, [&](pqxx::work& txn) {
    std::optional<int> status;
    if (attempt.status > 0) status = attempt.status;
    const std::string error = Clip(attempt.error);
    txn.exec_params0(
        "INSERT INTO webhook_attempts (delivery_id, attempt, started_at, http_status, outcome,"
        " error, latency_ms) SELECT $1, $2, $3, $4, $5, $6, $7"
        " WHERE EXISTS (SELECT 1 FROM webhook_deliveries WHERE id = $1)"
        " ON CONFLICT DO NOTHING",
        claim.id, claim.attempt, pg::TimestampText(started_at), status, OutcomeName(outcome), error,
        static_cast<int>(attempt.latency.count()));
    const bool retry = outcome == DeliveryOutcome::kRetry;
    const char* state = outcome == DeliveryOutcome::kDelivered  ? "delivered"
                        : outcome == DeliveryOutcome::kRejected ? "rejected"
                                                                : "pending";
    pqxx::result settled = txn.exec_params(
        "UPDATE webhook_deliveries SET state = $3, lease_until = NULL, last_http_status = $4,"
        " last_error = $5,"
        " next_attempt_at = CASE WHEN $6 THEN now() + $7::bigint * interval '1 millisecond'"
        "  ELSE next_attempt_at END,"
        " finished_at = CASE WHEN $6 THEN NULL ELSE now() END"
        " WHERE id = $1 AND attempts = $2 AND state = 'pending'"
        " RETURNING next_attempt_at",
        claim.id, claim.attempt, state, status, error, retry,
        static_cast<int64_t>(retry_in.count()));
    if (settled.empty()) return false;
    if (retry) {
      // The rest of the queue waits behind its head: not due before it, so claims do not
      // wade through blocked queues.
      txn.exec_params0(
          "UPDATE webhook_deliveries SET next_attempt_at = $3::timestamptz"
          " WHERE webhook_id = $1 AND queue = $2 AND state = 'pending'"
          " AND next_attempt_at < $3::timestamptz",
          claim.webhook_id, claim.queue, settled[0][0].as<std::string>());
    }
    return true;
  });
}

void WebhookStore::Release(const ClaimedDelivery& claim) {
  pg::Transact(pool_, [&](pqxx::work& txn) {
    txn.exec_params0(
        "UPDATE webhook_deliveries SET lease_until = NULL, attempts = attempts - 1"
        " WHERE id = $1 AND attempts = $2 AND state = 'pending'",
        claim.id, claim.attempt);
  });
}

std::optional<ClaimedDelivery> WebhookStore::RaiseTest(int64_t webhook_id,
                                                       const std::string& requested_by,
                                                       milliseconds lease, TimePoint now) {
  return pg::Transact(pool_, [&](pqxx::work& txn) -> std::optional<ClaimedDelivery> {
    if (txn.exec_params("SELECT 1 FROM webhooks WHERE id = $1 FOR SHARE", webhook_id).empty()) {
      return std::nullopt;
    }
    const std::vector<int64_t> alert =
        AlertStore::Raise(txn, {WebhookTestAlert(webhook_id, now, requested_by)}, now);
    // Its queue is its own (the alert's uid): it waits for no other delivery.
    pqxx::result r = txn.exec_params(
        "UPDATE webhook_deliveries d SET attempts = 1,"
        "  lease_until = now() + $3::bigint * interval '1 millisecond'"
        " WHERE d.alert_id = $1 AND d.webhook_id = $2"
        " RETURNING d.id, d.webhook_id, d.alert_id, d.queue, d.attempts",
        alert.at(0), webhook_id, static_cast<int64_t>(lease.count()));
    return ClaimedOf(txn, r);
  });
}

std::optional<DeliveryRecord> WebhookStore::FindDelivery(int64_t id) {
  return pool_.Run([&](pqxx::connection& conn) -> std::optional<DeliveryRecord> {
    pqxx::read_transaction txn(conn);
    pqxx::result rows = txn.exec_params(
        std::string("SELECT ") + kDeliveryColumns +
            " FROM webhook_deliveries d JOIN alerts a ON a.id = d.alert_id WHERE d.id = $1",
        id);
    auto out = DeliveriesOf(txn, rows, 1);
    if (out.empty()) return std::nullopt;
    return std::move(out.front());
  });
}

DeliveryPage WebhookStore::ListDeliveries(int64_t webhook_id, const std::string& state, int limit,
                                          const std::string& cursor) {
  std::optional<int64_t> before;
  if (!cursor.empty()) before = pg::ParseIdCursor('d', cursor);
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    pqxx::result rows =
        txn.exec_params(std::string("SELECT ") + kDeliveryColumns +
                            " FROM webhook_deliveries d JOIN alerts a ON a.id = d.alert_id"
                            " WHERE d.webhook_id = $1 AND ($2 = '' OR d.state = $2)"
                            " AND ($3::bigint IS NULL OR d.id < $3) ORDER BY d.id DESC LIMIT $4",
                        webhook_id, state, before, limit + 1);
    DeliveryPage page;
    page.deliveries = DeliveriesOf(txn, rows, static_cast<size_t>(limit));
    if (static_cast<int>(rows.size()) > limit && !page.deliveries.empty()) {
      page.next_cursor = pg::IdCursor('d', page.deliveries.back().id);
    }
    return page;
  });
}

int WebhookStore::ExpireOlderThan(milliseconds max_age) {
  return pg::Transact(pool_, [&](pqxx::work& txn) {
    return static_cast<int>(
        txn.exec_params(
               "UPDATE webhook_deliveries SET state = 'expired', finished_at = now(),"
               " lease_until = NULL WHERE state = 'pending'"
               " AND created_at < now() - $1::bigint * interval '1 millisecond' RETURNING id",
               static_cast<int64_t>(max_age.count()))
            .size());
  });
}

int WebhookStore::PurgeOlderThan(milliseconds retention) {
  return pg::Transact(pool_, [&](pqxx::work& txn) {
    return static_cast<int>(
        txn.exec_params("DELETE FROM alerts a WHERE a.raised_at < now() - $1::bigint * interval"
                        " '1 millisecond' AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d"
                        "  WHERE d.alert_id = a.id AND d.state = 'pending') RETURNING id",
                        static_cast<int64_t>(retention.count()))
            .size());
  });
}

}  // namespace csms::control
