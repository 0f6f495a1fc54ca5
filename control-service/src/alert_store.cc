#include "csms/control/alert_store.h"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

#include "csms/common/pg_sql.h"

namespace csms::control {
namespace {

using std::chrono::milliseconds;

// pg_advisory_xact_lock(kChargerLockClass, hash(charger)): alerts of one charger are raised one
// transaction at a time. (The two-key form never meets the one-key locks used elsewhere.)
constexpr int32_t kChargerLockClass = 0x616c7274;  // "alrt"
// The offline sweep: one replica at a time.
constexpr int64_t kSweepLock = 0x6373'6d73'616c'0001;  // "csmsal" 1

constexpr const char* kOfflineKinds = "{charger_offline,charger_online}";

// FNV-1a: a stable 32-bit key per charger (collisions only serialize more).
int32_t ChargerLockKey(const std::string& charger_id) {
  uint32_t h = 2166136261u;
  for (unsigned char c : charger_id) {
    h ^= c;
    h *= 16777619u;
  }
  return static_cast<int32_t>(h);
}

}  // namespace

std::vector<int64_t> AlertStore::Raise(pqxx::transaction_base& txn,
                                       const std::vector<AlertDraft>& drafts, TimePoint now) {
  if (drafts.empty()) return {};
  std::set<int32_t> locks;
  std::set<std::string> chargers;
  for (const auto& d : drafts) {
    locks.insert(ChargerLockKey(d.charger_id));
    if (!d.charger_id.empty()) chargers.insert(d.charger_id);
  }
  // In ascending key order (OFFSET 0 keeps the sort below the locking), so two transactions
  // never wait for each other both ways.
  txn.exec_params1(
      "SELECT count(pg_advisory_xact_lock($1, k)) FROM"
      " (SELECT k FROM unnest($2::int[]) AS u (k) ORDER BY k OFFSET 0) AS s",
      kChargerLockClass, pg::ArrayOf(locks, [](pg::ArrayLiteral& a, int32_t k) { a.Int(k); }));
  std::map<std::string, std::string> stations;
  if (!chargers.empty()) {
    for (const auto& row : txn.exec_params(
             "SELECT charger_id, station_id FROM station_chargers WHERE charger_id = ANY($1)",
             pg::TextArray(chargers))) {
      stations[row[0].as<std::string>()] = row[1].as<std::string>();
    }
  }

  pg::ArrayLiteral uids, kinds, charger_ids, occurred, raised, bodies, queues, intervals, only;
  const std::string raised_text = pg::TimestampText(now);
  std::vector<std::string> uid_order;
  for (const auto& d : drafts) {
    const std::string uid = RandomUuid();
    auto station = stations.find(d.charger_id);
    uids.Text(uid);
    kinds.Text(AlertKindName(d.kind));
    charger_ids.Text(d.charger_id);
    occurred.Text(pg::TimestampText(d.occurred_at));
    raised.Text(raised_text);
    bodies.Text(AlertBody(
        uid, d, station == stations.end() ? std::nullopt : std::optional(station->second), now));
    queues.Text(d.charger_id.empty() ? uid : d.charger_id);
    intervals.Int(d.offline_intervals);
    only.OptInt(d.webhook_id);
    uid_order.push_back(uid);
  }
  // Identity values are drawn in the ORDER BY's order: ids follow the drafts.
  std::map<std::string, int64_t> id_of;
  for (const auto& row : txn.exec_params(
           "INSERT INTO alerts (uid, kind, charger_id, occurred_at, raised_at, body)"
           " SELECT u.uid::uuid, u.k, u.c, u.o, u.r, u.b FROM unnest($1::text[], $2::text[],"
           "  $3::text[], $4::timestamptz[], $5::timestamptz[], $6::text[])"
           " WITH ORDINALITY AS u (uid, k, c, o, r, b, i) ORDER BY u.i"
           " RETURNING id, uid::text",
           uids.str(), kinds.str(), charger_ids.str(), occurred.str(), raised.str(),
           bodies.str())) {
    id_of[row[1].as<std::string>()] = row[0].as<int64_t>();
  }
  std::vector<int64_t> ids;
  pg::ArrayLiteral alert_ids;
  for (const auto& uid : uid_order) {
    ids.push_back(id_of.at(uid));
    alert_ids.Int(ids.back());
  }
  // One delivery per webhook that wants the alert now; a webhook created later gets none of
  // the alerts raised before it.
  pqxx::result queued = txn.exec_params(
      "INSERT INTO webhook_deliveries (webhook_id, alert_id, queue)"
      " SELECT w.id, u.a, u.q FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[],"
      "  $5::int[], $6::bigint[]) WITH ORDINALITY AS u (a, k, c, q, n, only_w, i)"
      " JOIN webhooks w ON CASE WHEN u.only_w IS NOT NULL THEN w.id = u.only_w"
      "  ELSE w.enabled AND u.k = ANY (w.kinds)"
      "   AND (w.charger_ids IS NULL OR u.c = ANY (w.charger_ids))"
      "   AND (u.n = 0 OR w.offline_intervals = u.n) END"
      " ORDER BY u.i, w.id RETURNING id",
      alert_ids.str(), kinds.str(), charger_ids.str(), queues.str(), intervals.str(), only.str());
  if (!queued.empty()) txn.exec0(std::string("NOTIFY ") + kAlertChannel);
  return ids;
}

std::vector<AlertDraft> AlertStore::EndOfflineEpisodes(
    pqxx::transaction_base& txn, const std::vector<std::pair<std::string, TimePoint>>& seen) {
  if (seen.empty()) return {};
  std::map<std::string, TimePoint> newest;
  for (const auto& [id, at] : seen) {
    auto [it, fresh] = newest.emplace(id, at);
    if (!fresh) it->second = std::max(it->second, at);
  }
  std::vector<std::string> ids;
  for (const auto& [id, at] : newest) ids.push_back(id);
  // Open episodes are few (a partial index holds only them): this costs next to nothing when
  // no charger is offline.
  pqxx::result open = txn.exec_params(
      "SELECT charger_id, offline_intervals, extract(epoch FROM last_seen) AS last_seen"
      " FROM charger_offline_episodes WHERE open AND charger_id = ANY($1::text[])"
      " ORDER BY charger_id, offline_intervals",
      pg::TextArray(ids));
  std::vector<AlertDraft> drafts;
  pg::ArrayLiteral ended_ids, ended_n, ended_at;
  for (const auto& row : open) {
    const std::string id = row[0].as<std::string>();
    const int n = row[1].as<int>();
    const TimePoint last_seen = pg::FromEpochSeconds(row[2].as<double>());
    const TimePoint at = newest.at(id);
    if (!EndsOfflineEpisode(true, last_seen, at)) continue;
    drafts.push_back(ChargerOnlineAlert(id, last_seen, at, n));
    ended_ids.Text(id);
    ended_n.Int(n);
    ended_at.Text(pg::TimestampText(at));
  }
  if (!drafts.empty()) {
    txn.exec_params0(
        "UPDATE charger_offline_episodes e SET open = false, last_seen = v.s, changed_at = now()"
        " FROM unnest($1::text[], $2::int[], $3::timestamptz[]) AS v (c, n, s)"
        " WHERE e.charger_id = v.c AND e.offline_intervals = v.n",
        ended_ids.str(), ended_n.str(), ended_at.str());
  }
  return drafts;
}

OfflineSweep AlertStore::SweepOffline(TimePoint now, milliseconds heartbeat, milliseconds grace,
                                      milliseconds lookback) {
  return pg::Transact(pool_, [&](pqxx::work& txn) {
    OfflineSweep done;
    if (!txn.exec_params1("SELECT pg_try_advisory_xact_lock($1)", kSweepLock)[0].as<bool>()) {
      return done;
    }
    done.ran = true;
    std::vector<int> thresholds;
    for (const auto& row : txn.exec_params("SELECT DISTINCT offline_intervals FROM webhooks"
                                           " WHERE enabled AND kinds && $1::text[] ORDER BY 1",
                                           kOfflineKinds)) {
      thresholds.push_back(row[0].as<int>());
    }
    if (thresholds.empty()) return done;
    const std::string now_text = pg::TimestampText(now);
    // SKIP LOCKED: a charger in a registry batch right now is being heard from.
    pqxx::result silent = txn.exec_params(
        "SELECT c.charger_id, t.n, extract(epoch FROM c.last_seen) AS last_seen"
        " FROM chargers c CROSS JOIN unnest($1::int[]) AS t (n)"
        " WHERE c.last_seen <= $2::timestamptz - (t.n * $3::bigint + $5::bigint)"
        "   * interval '1 millisecond'"
        "  AND c.last_seen > $2::timestamptz - $4::bigint * interval '1 millisecond'"
        "  AND NOT EXISTS (SELECT 1 FROM charger_offline_episodes e"
        "   WHERE e.charger_id = c.charger_id AND e.offline_intervals = t.n AND e.open)"
        " ORDER BY c.charger_id, t.n FOR UPDATE OF c SKIP LOCKED",
        pg::ArrayOf(thresholds, [](pg::ArrayLiteral& a, int n) { a.Int(n); }), now_text,
        static_cast<int64_t>(heartbeat.count()), static_cast<int64_t>(lookback.count()),
        static_cast<int64_t>(grace.count()));
    std::vector<AlertDraft> drafts;
    pg::ArrayLiteral ids, ns, seen;
    for (const auto& row : silent) {
      const std::string id = row[0].as<std::string>();
      const int n = row[1].as<int>();
      const TimePoint last_seen = pg::FromEpochSeconds(row[2].as<double>());
      if (!ShouldRaiseOffline(last_seen, false, now, heartbeat, n, grace, lookback)) continue;
      drafts.push_back(ChargerOfflineAlert(id, last_seen, heartbeat, n));
      ids.Text(id);
      ns.Int(n);
      seen.Text(pg::TimestampText(last_seen));
    }
    if (drafts.empty()) return done;
    txn.exec_params0(
        "INSERT INTO charger_offline_episodes (charger_id, offline_intervals, open, last_seen)"
        " SELECT c, n, true, s FROM unnest($1::text[], $2::int[], $3::timestamptz[])"
        "  AS v (c, n, s)"
        " ON CONFLICT (charger_id, offline_intervals) DO UPDATE SET open = true,"
        "  last_seen = EXCLUDED.last_seen, changed_at = now()",
        ids.str(), ns.str(), seen.str());
    Raise(txn, drafts, now);
    done.raised = static_cast<int>(drafts.size());
    return done;
  });
}

AlertPage AlertStore::List(const AlertFilter& filter, int limit, const std::string& cursor) {
  std::optional<int64_t> before;
  if (!cursor.empty()) before = pg::ParseIdCursor('a', cursor);
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    pqxx::result rows = txn.exec_params(
        "SELECT id, uid::text, kind, charger_id, extract(epoch FROM occurred_at) AS occurred,"
        " extract(epoch FROM raised_at) AS raised, body FROM alerts"
        " WHERE ($1 = '' OR charger_id = $1)"
        " AND (cardinality($2::text[]) = 0 OR kind = ANY ($2::text[]))"
        " AND ($3::bigint IS NULL OR id < $3) ORDER BY id DESC LIMIT $4",
        filter.charger_id, pg::TextArray(filter.kinds), before, limit + 1);
    AlertPage page;
    for (const auto& row : rows) {
      if (static_cast<int>(page.alerts.size()) == limit) {
        page.next_cursor = pg::IdCursor('a', page.alerts.back().id);
        break;
      }
      StoredAlert& a = page.alerts.emplace_back();
      a.id = row["id"].as<int64_t>();
      a.uid = row["uid"].as<std::string>();
      a.kind = row["kind"].as<std::string>();
      a.charger_id = row["charger_id"].as<std::string>();
      a.occurred_at = pg::FromEpochSeconds(row["occurred"].as<double>());
      a.raised_at = pg::FromEpochSeconds(row["raised"].as<double>());
      a.body = row["body"].as<std::string>();
    }
    return page;
  });
}

void BatchAlerts::StatusStored(const std::string& charger_id, int evse_id, int connector_id,
                               const std::string& status, TimePoint at,
                               const std::optional<std::string>& previous,
                               bool from_status_notification) {
  if (auto d =
          ConnectorFaultedAlert(charger_id, evse_id, connector_id, status, at, previous,
                                from_status_notification ? "StatusNotification" : "NotifyEvent")) {
    drafts_.push_back(std::move(*d));
  }
}

void BatchAlerts::EventsStored(const std::vector<StoredEvent>& stored) {
  for (const auto& e : stored) {
    if (auto d = SecurityEventAlert(*e.event, e.id)) drafts_.push_back(std::move(*d));
  }
}

void BatchAlerts::Add(std::vector<AlertDraft> drafts) {
  drafts_.insert(drafts_.end(), std::make_move_iterator(drafts.begin()),
                 std::make_move_iterator(drafts.end()));
}

void BatchAlerts::Seen(const std::string& charger_id, TimePoint at) {
  seen_.emplace_back(charger_id, at);
}

void BatchAlerts::Raise(pqxx::transaction_base& txn, TimePoint now) {
  std::vector<AlertDraft> drafts = AlertStore::EndOfflineEpisodes(txn, seen_);
  drafts.insert(drafts.end(), std::make_move_iterator(drafts_.begin()),
                std::make_move_iterator(drafts_.end()));
  AlertStore::Raise(txn, drafts, now);
  drafts_.clear();
  seen_.clear();
}

}  // namespace csms::control
