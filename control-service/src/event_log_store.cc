#include "csms/control/event_log_store.h"

#include <openssl/sha.h>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

#include "csms/common/api_auth.h"
#include "csms/common/pg_sql.h"

namespace csms::control {
namespace {

// Partition maintenance is DDL: one replica at a time (a transaction-scoped advisory lock).
constexpr int64_t kMaintenanceLock = 0x6373'6d73'6576'0001;  // "csmsev" 1
// How far back a repeated report is recognised.
constexpr int kDedupWindowSeconds = 2 * 24 * 3600;

// charger_events_pYYYYMMDD for the UTC day of `t`.
std::string DayName(TimePoint t) {
  return "charger_events_p" + FormatRfc3339(t).substr(0, 10).erase(7, 1).erase(4, 1);
}
std::string DayStart(TimePoint t) { return FormatRfc3339(t).substr(0, 10) + "T00:00:00Z"; }

constexpr auto kDay = std::chrono::hours(24);

}  // namespace

std::string EventDedupKey(const v1::ChargerEvent& event) {
  std::string material;
  if (event.kind() == kCsmsSecurityEvent) {
    // One per type, address and minute.
    const int64_t minute = std::chrono::duration_cast<std::chrono::minutes>(
                               FromProto(event.received_at()).time_since_epoch())
                               .count();
    material = event.kind() + '\n' + event.type() + '\n' + event.client_address() + '\n' +
               std::to_string(minute);
  } else {
    material = event.kind() + '\n' + event.type() + '\n' + event.payload_json();
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(material.data()), material.size(), digest);
  return auth::ToHex(
      std::string_view(reinterpret_cast<const char*>(digest),
                       16));  // 128 bits: enough to tell reports of one charger apart
}

std::vector<StoredEvent> EventLogStore::Insert(pqxx::transaction_base& txn,
                                               const std::vector<const v1::ChargerEvent*>& events) {
  if (events.empty()) return {};
  pg::ArrayLiteral ids, kinds, types, received, occurred, connections, evses, connectors, requests,
      addresses, keys, payloads;
  // Repeats within this batch are dropped here; (charger, key) names each event sent.
  std::map<std::pair<std::string, std::string>, const v1::ChargerEvent*> sent;
  for (const v1::ChargerEvent* e : events) {
    std::string key = EventDedupKey(*e);
    if (!sent.emplace(std::pair(e->charger_id(), key), e).second) continue;
    ids.Text(e->charger_id());
    kinds.Text(e->kind());
    types.Text(e->type());
    received.Text(pg::TimestampText(FromProto(e->received_at())));
    occurred.OptText(e->has_occurred_at()
                         ? std::optional(pg::TimestampText(FromProto(e->occurred_at())))
                         : std::nullopt);
    connections.Text(e->connection_id());
    evses.OptInt(e->has_evse_id() ? std::optional<int64_t>(e->evse_id()) : std::nullopt);
    connectors.OptInt(e->has_connector_id() ? std::optional<int64_t>(e->connector_id())
                                            : std::nullopt);
    requests.OptInt(e->has_request_id() ? std::optional<int64_t>(e->request_id()) : std::nullopt);
    addresses.Text(e->client_address());
    keys.Text(key);
    payloads.Text(e->payload_json().empty() ? "{}" : e->payload_json());
  }
  // WITH ORDINALITY keeps the ids in arrival order.
  pqxx::result inserted = txn.exec_params(
      "INSERT INTO charger_events (charger_id, kind, type, received_at, occurred_at,"
      " connection_id, evse_id, connector_id, request_id, client_address, dedup_key, payload)"
      " SELECT u.c, u.k, u.t, u.r, u.o, u.conn, u.e, u.n, u.q, u.a, u.d, u.p::jsonb"
      " FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[],"
      "  $6::text[], $7::int[], $8::int[], $9::int[], $10::text[], $11::text[], $12::text[])"
      " WITH ORDINALITY AS u (c, k, t, r, o, conn, e, n, q, a, d, p, i)"
      " WHERE NOT EXISTS (SELECT 1 FROM charger_events x WHERE x.charger_id = u.c"
      "  AND x.dedup_key = u.d AND x.received_at > now() - $13 * interval '1 second')"
      " ORDER BY u.i RETURNING id, charger_id, dedup_key",
      ids.str(), kinds.str(), types.str(), received.str(), occurred.str(), connections.str(),
      evses.str(), connectors.str(), requests.str(), addresses.str(), keys.str(), payloads.str(),
      kDedupWindowSeconds);
  std::vector<StoredEvent> stored;
  stored.reserve(inserted.size());
  for (const auto& row : inserted) {
    auto it = sent.find({row[1].as<std::string>(), row[2].as<std::string>()});
    if (it != sent.end()) stored.push_back({row[0].as<int64_t>(), it->second});
  }
  // Ids follow arrival order (WITH ORDINALITY); RETURNING's order is not promised.
  std::sort(stored.begin(), stored.end(),
            [](const StoredEvent& a, const StoredEvent& b) { return a.id < b.id; });
  return stored;
}

EventPage EventLogStore::List(const EventFilter& filter, int limit, const std::string& cursor) {
  std::optional<int64_t> before;
  if (!cursor.empty()) before = pg::ParseIdCursor('e', cursor);
  std::optional<std::string> since;
  if (filter.since) since = pg::TimestampText(*filter.since);
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    // One more than asked tells whether there is a next page.
    pqxx::result rows = txn.exec_params(
        "SELECT id, kind, type, extract(epoch FROM received_at) AS received,"
        " extract(epoch FROM occurred_at) AS occurred, connection_id, evse_id, connector_id,"
        " request_id, client_address, payload::text"
        " FROM charger_events WHERE charger_id = $1"
        " AND (cardinality($2::text[]) = 0 OR kind = ANY($2::text[]))"
        " AND ($3 = '' OR type = $3) AND ($4::timestamptz IS NULL OR received_at >= $4)"
        " AND ($5::bigint IS NULL OR id < $5) ORDER BY id DESC LIMIT $6",
        filter.charger_id, pg::TextArray(filter.kinds), filter.type, since, before, limit + 1);
    EventPage page;
    for (const auto& row : rows) {
      if (static_cast<int>(page.events.size()) == limit) {
        page.next_cursor = pg::IdCursor('e', page.events.back().id());
        break;
      }
      v1::ChargerEvent& e = page.events.emplace_back();
      e.set_id(row["id"].as<int64_t>());
      e.set_charger_id(filter.charger_id);
      e.set_kind(row["kind"].c_str());
      e.set_type(row["type"].c_str());
      *e.mutable_received_at() = ToProto(pg::FromEpochSeconds(row["received"].as<double>()));
      if (auto t = pg::OptionalTime(row["occurred"])) *e.mutable_occurred_at() = ToProto(*t);
      e.set_connection_id(row["connection_id"].c_str());
      if (!row["evse_id"].is_null()) e.set_evse_id(row["evse_id"].as<int32_t>());
      if (!row["connector_id"].is_null()) e.set_connector_id(row["connector_id"].as<int32_t>());
      if (!row["request_id"].is_null()) e.set_request_id(row["request_id"].as<int32_t>());
      e.set_client_address(row["client_address"].c_str());
      e.set_payload_json(row["payload"].c_str());
    }
    return page;
  });
}

EventLogMaintenance EventLogStore::Maintain(TimePoint now, int days_ahead,
                                            std::chrono::hours retention) {
  return pg::Transact(pool_, [&](pqxx::work& txn) {
    EventLogMaintenance done;
    if (!txn.exec_params1("SELECT pg_try_advisory_xact_lock($1)", kMaintenanceLock)[0].as<bool>()) {
      return done;  // another replica is at it
    }
    std::set<std::string> existing;
    for (const auto& row :
         txn.exec("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                  " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'charger_events'")) {
      existing.insert(row[0].as<std::string>());
    }
    for (int d = -1; d <= days_ahead; ++d) {
      const TimePoint day = now + d * kDay;
      const std::string name = DayName(day);
      if (existing.count(name) > 0) continue;
      const std::string from = txn.quote(DayStart(day)), to = txn.quote(DayStart(day + kDay));
      const std::string in_day = " WHERE received_at >= " + from + " AND received_at < " + to;
      // Rows of that day already in the default partition (control was down at midnight) must
      // move into the new one, or creating it fails.
      const bool strays =
          txn.exec("SELECT 1 FROM charger_events_default" + in_day + " LIMIT 1").size() > 0;
      if (strays) {
        txn.exec0(
            "CREATE TEMP TABLE charger_events_strays ON COMMIT DROP AS"
            " SELECT * FROM charger_events_default" +
            in_day);
        txn.exec0("DELETE FROM charger_events_default" + in_day);
      }
      txn.exec0("CREATE TABLE " + name + " PARTITION OF charger_events FOR VALUES FROM (" + from +
                ") TO (" + to + ")");
      if (strays) {
        txn.exec0(
            "INSERT INTO charger_events OVERRIDING SYSTEM VALUE"
            " SELECT * FROM charger_events_strays");
        txn.exec0("DROP TABLE charger_events_strays");
      }
      existing.insert(name);
      ++done.created;
    }
    if (retention.count() > 0) {
      // A day goes once all of it is older than the retention.
      const std::string cutoff = DayName(now - retention - kDay);
      for (const std::string& name : existing) {
        if (name.size() == DayName(now).size() && name <= cutoff) {
          txn.exec0("DROP TABLE " + name);
          ++done.dropped;
        }
      }
    }
    return done;
  });
}

}  // namespace csms::control
