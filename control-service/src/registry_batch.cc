#include <algorithm>
#include <deque>
#include <map>
#include <pqxx/pqxx>
#include <set>
#include <sstream>
#include <tuple>

#include "csms/common/pg_sql.h"
#include "csms/control/alert_store.h"
#include "csms/control/credential_store.h"
#include "csms/control/decisions.h"
#include "csms/control/device_model_fetcher.h"
#include "csms/control/event_log_store.h"
#include "csms/control/firmware_job_store.h"
#include "csms/control/log_upload_store.h"
#include "csms/control/registry_store.h"
#include "csms/control/remote_start_store.h"
#include "csms/control/reservation_store.h"

// RegistryStore::ApplyBatch: the gateways' reports, many in one transaction.
namespace csms::control {
namespace {

using pg::ArrayLiteral;
using pg::ArrayOf;
using pg::EpochMs;
using pg::TimestampTextMs;

// A charger row as the batch sees it: read under FOR UPDATE, then changed in memory op by op.
// Its live transaction is not here: reads derive it from the transactions table
// (registry_store.cc), so a TransactionEvent writes one row, its transaction's, and never the
// charger's.
struct ChargerState {
  bool exists = false;  // locked row, or created by this batch
  std::string registration_status, vendor, model, serial_number, firmware_version;
  bool connected = false;
  std::string connection_id, gateway_address;
  std::optional<int64_t> connected_at_ms;
  std::optional<int64_t> seen_ms;  // last_seen becomes greatest(last_seen, seen_ms)
  // Column groups this batch changed; the others are left as they are in the row.
  bool dirty_boot = false, dirty_connection = false;
  void Seen(int64_t ms) { seen_ms = seen_ms ? std::max(*seen_ms, ms) : ms; }
};

using TxKey = std::pair<std::string, std::string>;  // charger_id, transaction_id

struct TxState {
  bool inserted = false;          // this batch inserted the row
  bool first_event_seen = false;  // only the first event of an inserted row counts as inserting
  std::optional<int64_t> remote_start_id;
  int evse_id = 0;
  std::string charging_state, currency, stop_reason;
  double power_w = 0, energy_kwh = 0, cost = 0;
  int64_t last_order_key = -1;
  bool ended = false;
  int64_t started_ms = 0;              // least event time of the batch
  std::optional<int64_t> ended_at_ms;  // first Ended of the batch; kept only if none was stored
};

using ConnectorKey = std::tuple<std::string, int, int>;

struct ConnectorState {
  bool exists = false;
  bool dirty = false;
  std::string status;
  int64_t time_ms = 0;
};

TimePoint EventTime(const csms::ocpp::v1::TransactionEvent& ev) {
  TimePoint t = FromProto(ev.timestamp());
  if (t.time_since_epoch().count() == 0) t = FromProto(ev.received_at());
  return t;
}

}  // namespace

std::vector<WriteResult> RegistryStore::ApplyBatch(const std::vector<const WriteOp*>& ops) {
  // The rows the batch touches, each set sorted: every batch (in any replica) locks in the same
  // order, chargers first, so concurrent batches wait for each other instead of deadlocking.
  std::set<std::string> create_ids, charger_ids, boot_ids, connect_ids;
  std::map<TxKey, int64_t> tx_first_ms;
  std::set<ConnectorKey> connector_keys;
  // Chargers with events that do not name their remote start (the seed's dialect).
  std::set<std::string> seed_event_chargers;
  for (const WriteOp* op : ops) {
    if (auto* c = std::get_if<ConnectOp>(op)) {
      create_ids.insert(c->charger_id);
      charger_ids.insert(c->charger_id);
      connect_ids.insert(c->charger_id);
    } else if (auto* d = std::get_if<DisconnectOp>(op)) {
      charger_ids.insert(d->charger_id);
    } else if (auto* b = std::get_if<BootOp>(op)) {
      boot_ids.insert(b->boot.charger_id);
      create_ids.insert(b->boot.charger_id);
      charger_ids.insert(b->boot.charger_id);
    } else if (auto* s = std::get_if<StatusOp>(op)) {
      charger_ids.insert(s->charger_id);
      connector_keys.insert({s->charger_id, s->evse_id, s->connector_id});
    } else if (auto* l = std::get_if<LastSeenOp>(op)) {
      for (const auto& e : l->entries) charger_ids.insert(e.charger_id);
    } else if (auto* t = std::get_if<TransactionEventOp>(op)) {
      const auto& ev = t->report.event();
      const int64_t ms = EpochMs(EventTime(ev));
      auto [it, fresh] = tx_first_ms.try_emplace({ev.charger_id(), ev.transaction_id()}, ms);
      if (!fresh) it->second = std::min(it->second, ms);
      if (!ev.has_remote_start_id() && !ev.offline()) seed_event_chargers.insert(ev.charger_id());
    }
  }

  pg::Pool& pool = batch_pool_ != nullptr ? *batch_pool_ : pool_;
  return pg::Transact(pool, [&](pqxx::work& txn) {
    pg::UseKeyLookupPlans(txn, pool);  // every statement below finds its rows by key
    std::vector<WriteResult> results(ops.size());
    std::map<std::string, ChargerState> chargers;
    std::map<TxKey, TxState> txs;
    std::map<ConnectorKey, ConnectorState> connectors;
    // Every Available report (not only the newest): it frees the token sessions of its EVSE
    // that started before it, even when the next driver's Occupied follows in the same batch.
    std::vector<std::pair<const StatusOp*, int64_t>> available;

    // Boot decisions of provisioned chargers: approved or not.
    const std::map<std::string, bool> approvals = CredentialStore::Approvals(txn, boot_ids);
    // Chargers whose whole model is stored already (a plain reboot then fetches nothing).
    std::set<std::string> complete_models;
    if (fetch_enabled_ && !boot_ids.empty()) {
      for (const auto& row : pg::ExecPrepared(
               txn, "registry_complete_models",
               "SELECT DISTINCT charger_id FROM device_model_reports WHERE"
               " charger_id = ANY($1::text[]) AND scope = 'FullInventory' AND status = 'Complete'",
               pg::TextArray(boot_ids))) {
        complete_models.insert(row[0].as<std::string>());
      }
    }
    std::map<std::string, std::string> fetch_reasons;  // the last boot of a charger decides

    // The stations of the connecting chargers, and the currency each shows running costs in
    // (TariffCostCtrlr.Currency, when Enabled[Cost] is true), ride on the insert (a CTE's INSERT
    // always runs): primary-key lookups per charger and no extra round trip on the connect path.
    struct Site {
      std::string station_id, cost_currency;
      std::map<int32_t, double> evse_max_power_w;
    };
    std::map<std::string, Site> stations;
    if (!create_ids.empty()) {
      for (const auto& row : pg::ExecPrepared(
               txn, "registry_create_chargers",
               "WITH created AS (INSERT INTO chargers (charger_id) SELECT id FROM"
               " unnest($1::text[]) AS u (id) ORDER BY id ON CONFLICT DO NOTHING)"
               " SELECT k.id, coalesce(s.station_id, ''),"
               " coalesce((SELECT c.value FROM device_variable_attributes c"
               " WHERE c.charger_id = k.id AND c.variable_key = 'tariffcostctrlr||||currency|'"
               " AND c.type = 'Actual' AND EXISTS (SELECT 1 FROM device_variable_attributes e"
               " WHERE e.charger_id = k.id AND e.variable_key = 'tariffcostctrlr||||enabled|cost'"
               " AND e.type = 'Actual' AND lower(e.value) = 'true')), ''),"
               " coalesce((SELECT string_agg(v.evse_id || ':' || v.max_limit, ',')"
               " FROM device_variables v WHERE v.charger_id = k.id AND lower(v.component) = 'evse'"
               " AND lower(v.variable) = 'power' AND v.evse_id IS NOT NULL AND v.max_limit > 0), "
               "'')"
               " FROM unnest($2::text[]) AS k (id)"
               " LEFT JOIN station_chargers s ON s.charger_id = k.id",
               pg::TextArray(create_ids), pg::TextArray(connect_ids))) {
        Site& site = stations[row[0].as<std::string>()];
        site.station_id = row[1].as<std::string>();
        site.cost_currency = row[2].as<std::string>();
        // "1:22000,2:7400": EVSE id and maxLimit in W.
        std::istringstream limits(row[3].as<std::string>());
        for (std::string item; std::getline(limits, item, ',');) {
          const size_t colon = item.find(':');
          if (colon == std::string::npos) continue;
          try {
            site.evse_max_power_w[std::stoi(item.substr(0, colon))] =
                std::stod(item.substr(colon + 1));
          } catch (const std::exception&) {
            // Not a number: the EVSE stays without a known maximum.
          }
        }
      }
    }
    const pqxx::result charger_rows =
        charger_ids.empty()
            ? pqxx::result()
            : pg::ExecPrepared(
                  txn, "registry_load_chargers",
                  "SELECT charger_id, registration_status, vendor, model, serial_number,"
                  " firmware_version, connected, connection_id, gateway_address,"
                  " floor(extract(epoch from connected_at) * 1000)::bigint AS connected_at_ms"
                  " FROM chargers WHERE charger_id = ANY($1::text[]) ORDER BY charger_id"
                  " FOR UPDATE",
                  pg::TextArray(charger_ids));
    for (const auto& row : charger_rows) {
      ChargerState& c = chargers[row["charger_id"].as<std::string>()];
      c.exists = true;
      c.registration_status = row["registration_status"].as<std::string>();
      c.vendor = row["vendor"].as<std::string>();
      c.model = row["model"].as<std::string>();
      c.serial_number = row["serial_number"].as<std::string>();
      c.firmware_version = row["firmware_version"].as<std::string>();
      c.connected = row["connected"].as<bool>();
      c.connection_id = row["connection_id"].as<std::string>();
      c.gateway_address = row["gateway_address"].as<std::string>();
      if (!row["connected_at_ms"].is_null())
        c.connected_at_ms = row["connected_at_ms"].as<int64_t>();
    }

    if (!tx_first_ms.empty()) {
      ArrayLiteral ids, tx_ids, times;
      for (const auto& [key, ms] : tx_first_ms) {
        ids.Text(key.first);
        tx_ids.Text(key.second);
        times.Text(TimestampTextMs(ms));
      }
      for (const auto& row : pg::ExecPrepared(
               txn, "registry_insert_transactions",
               // A charger first known by its transaction (its connection's report
               // has not reached control) gets its row too.
               "WITH ins AS (INSERT INTO transactions (charger_id, transaction_id,"
               " started_at) SELECT c, t, s FROM unnest($1::text[], $2::text[],"
               " $3::timestamptz[]) AS u (c, t, s) ORDER BY c, t ON CONFLICT DO NOTHING"
               " RETURNING charger_id, transaction_id), created AS (INSERT INTO"
               " chargers (charger_id) SELECT DISTINCT charger_id FROM ins"
               " ORDER BY 1 ON CONFLICT DO NOTHING)"
               " SELECT charger_id, transaction_id FROM ins",
               ids.str(), tx_ids.str(), times.str())) {
        txs[{row[0].as<std::string>(), row[1].as<std::string>()}].inserted = true;
      }
      for (const auto& row : pg::ExecPrepared(
               txn, "registry_load_transactions",
               "SELECT t.charger_id, t.transaction_id, t.remote_start_id, t.evse_id,"
               " t.charging_state, t.ended, t.last_order_key, t.power_w, t.energy_kwh, t.cost,"
               " t.currency, t.stop_reason FROM transactions t"
               " JOIN unnest($1::text[], $2::text[]) AS u (c, tx)"
               " ON t.charger_id = u.c AND t.transaction_id = u.tx"
               " ORDER BY t.charger_id, t.transaction_id FOR UPDATE OF t",
               ids.str(), tx_ids.str())) {
        TxKey key{row["charger_id"].as<std::string>(), row["transaction_id"].as<std::string>()};
        TxState& t = txs[key];
        if (!row["remote_start_id"].is_null())
          t.remote_start_id = row["remote_start_id"].as<int64_t>();
        t.evse_id = row["evse_id"].as<int>();
        t.charging_state = row["charging_state"].as<std::string>();
        t.ended = row["ended"].as<bool>();
        t.last_order_key = row["last_order_key"].as<int64_t>();
        t.power_w = row["power_w"].as<double>();
        t.energy_kwh = row["energy_kwh"].as<double>();
        t.cost = row["cost"].as<double>();
        t.currency = row["currency"].as<std::string>();
        t.stop_reason = row["stop_reason"].as<std::string>();
        t.started_ms = tx_first_ms.at(key);
      }
    }

    if (!connector_keys.empty()) {
      ArrayLiteral ids, evses, conns;
      for (const auto& [id, evse, conn] : connector_keys) {
        ids.Text(id);
        evses.Int(evse);
        conns.Int(conn);
      }
      for (const auto& row : pg::ExecPrepared(
               txn, "registry_load_connectors",
               "SELECT c.charger_id, c.evse_id, c.connector_id, c.status,"
               " floor(extract(epoch from c.status_time) * 1000)::bigint AS time_ms"
               " FROM connectors c JOIN unnest($1::text[], $2::int[], $3::int[]) AS u (id, e, n)"
               " ON c.charger_id = u.id AND c.evse_id = u.e AND c.connector_id = u.n"
               " ORDER BY c.charger_id, c.evse_id, c.connector_id FOR UPDATE OF c",
               ids.str(), evses.str(), conns.str())) {
        ConnectorState& c =
            connectors[{row[0].as<std::string>(), row[1].as<int>(), row[2].as<int>()}];
        c.exists = true;
        c.status = row["status"].as<std::string>();
        c.time_ms = row["time_ms"].as<int64_t>();
      }
    }

    // Chargers that may have a remote start waiting for a seed-dialect Started (rare): only for
    // them is the per-event correlation statement worth running. Only the first event of a
    // transaction this batch inserted can be that Started: batches of later events skip the look.
    std::set<std::string> new_seed_chargers;
    for (const auto& [key, t] : txs) {
      if (t.inserted && seed_event_chargers.count(key.first) > 0) {
        new_seed_chargers.insert(key.first);
      }
    }
    const std::set<std::string> pending_starts =
        new_seed_chargers.empty() ? std::set<std::string>()
                                  : RemoteStartStore::Waiting(txn, new_seed_chargers);

    // Remote starts named by their event are claimed in one statement; the queue is flushed
    // before a seed-dialect correlation so both see the claims in event order.
    std::vector<RemoteStartClaim> claims;
    auto flush_claims = [&] {
      RemoteStartStore::Claim(txn, claims);
      claims.clear();
    };

    struct BootRow {
      const BootRecord* boot;
      const std::string* status;
    };
    std::vector<BootRow> boot_rows;
    // For the event log: what ChargerEventsOps carry and the status history.
    std::vector<const v1::ChargerEvent*> events;
    std::deque<v1::ChargerEvent> history;
    const TimePoint received_at = RealClock().Now();
    // Alerts their causes raise, in this transaction (alert_store.h).
    BatchAlerts alerts;

    for (size_t i = 0; i < ops.size(); ++i) {
      WriteResult& result = results[i];
      if (auto* c = std::get_if<ConnectOp>(ops[i])) {
        // The newest connection (by connected_at) wins.
        ChargerState& ch = chargers[c->charger_id];
        ConnectOutcome& out = result.connect;
        out.registration_status = ch.registration_status;
        if (auto st = stations.find(c->charger_id); st != stations.end()) {
          out.station_id = st->second.station_id;
          out.cost_currency = st->second.cost_currency;
          out.evse_max_power_w = st->second.evse_max_power_w;
        }
        const int64_t at = EpochMs(c->at);
        if (ch.connection_id == c->connection_id) continue;  // a retried report
        if (ch.connected_at_ms && *ch.connected_at_ms > at) {
          // A late report of an older connection: the newer one stays, the older one must go.
          out.close_connection_id = c->connection_id;
          out.close_gateway_address = c->gateway_address;
          continue;
        }
        if (ch.connected && !ch.connection_id.empty()) {
          out.close_connection_id = ch.connection_id;
          out.close_gateway_address = ch.gateway_address;
        }
        ch.connected = true;
        ch.connection_id = c->connection_id;
        ch.gateway_address = c->gateway_address;
        ch.connected_at_ms = at;
        ch.Seen(at);
        alerts.Seen(c->charger_id, c->at);
        ch.dirty_connection = true;
      } else if (auto* d = std::get_if<DisconnectOp>(ops[i])) {
        // Only the charger's current connection can take it offline.
        auto it = chargers.find(d->charger_id);
        if (it == chargers.end() || !it->second.exists) continue;
        ChargerState& ch = it->second;
        if (!ch.connected || ch.connection_id != d->connection_id) continue;
        ch.connected = false;
        ch.Seen(EpochMs(d->at));
        ch.dirty_connection = true;
        result.applied = true;
      } else if (auto* b = std::get_if<BootOp>(ops[i])) {
        ChargerState& ch = chargers[b->boot.charger_id];
        const bool booted_before = !ch.registration_status.empty();
        const BootFacts before{ch.vendor, ch.model, ch.serial_number, ch.firmware_version};
        ch.vendor = b->boot.vendor;
        ch.model = b->boot.model;
        ch.serial_number = b->boot.serial_number;
        ch.firmware_version = b->boot.firmware_version;
        if (auto a = approvals.find(b->boot.charger_id); a != approvals.end()) {
          result.boot_status = a->second ? "Accepted" : "Pending";
        } else {
          result.boot_status = b->require_provisioning ? "Rejected" : b->decided_status;
        }
        ch.registration_status = result.boot_status;
        ch.dirty_boot = true;
        boot_rows.push_back({&b->boot, &result.boot_status});
        if (fetch_enabled_) {
          fetch_reasons[b->boot.charger_id] = DeviceModelFetchReason(
              booted_before, before,
              {b->boot.vendor, b->boot.model, b->boot.serial_number, b->boot.firmware_version},
              result.boot_status, complete_models.count(b->boot.charger_id) > 0);
        }
      } else if (auto* s = std::get_if<StatusOp>(ops[i])) {
        // The history keeps every report, the connector's live status only the newest.
        if (s->from_status_notification) {
          events.push_back(&history.emplace_back(StatusHistoryEvent(*s, received_at)));
        }
        // Only from the charger's current connection (an empty connection_id skips the check),
        // and the newest report per connector. An equal timestamp still wins: stations often
        // report whole seconds, and then the later arrival is the better guess.
        auto it = chargers.find(s->charger_id);
        const bool current = s->connection_id.empty() || it == chargers.end() ||
                             !it->second.exists || it->second.connection_id.empty() ||
                             it->second.connection_id == s->connection_id;
        if (!current) continue;
        ConnectorState& conn = connectors[{s->charger_id, s->evse_id, s->connector_id}];
        const int64_t at = EpochMs(s->at);
        if (s->status == "Available") available.emplace_back(s, at);
        if (conn.exists && conn.time_ms > at) continue;
        alerts.StatusStored(s->charger_id, s->evse_id, s->connector_id, s->status, s->at,
                            conn.exists ? std::optional(conn.status) : std::nullopt,
                            s->from_status_notification);
        conn = {true, true, s->status, at};
        result.applied = true;
      } else if (auto* ce = std::get_if<ChargerEventsOp>(ops[i])) {
        for (const auto& e : ce->events) events.push_back(&e);
        result.applied = true;
      } else if (auto* l = std::get_if<LastSeenOp>(ops[i])) {
        for (const auto& e : l->entries) {
          auto it = chargers.find(e.charger_id);
          if (it != chargers.end() && it->second.exists) {
            it->second.Seen(EpochMs(e.seen_at));
            alerts.Seen(e.charger_id, e.seen_at);
          }
        }
      } else if (auto* t = std::get_if<TransactionEventOp>(ops[i])) {
        const auto& report = t->report;
        const auto& ev = report.event();
        if (auto alert = SessionNeedsReviewAlert(report, received_at)) {
          alerts.Add({std::move(*alert)});
        }
        const bool is_ended = ev.event_type() == csms::ocpp::v1::TRANSACTION_EVENT_TYPE_ENDED;
        TxState& tx = txs.at({ev.charger_id(), ev.transaction_id()});
        const bool inserted = tx.inserted && !tx.first_event_seen;
        tx.first_event_seen = true;
        if (!tx.remote_start_id && ev.has_remote_start_id()) {
          tx.remote_start_id = ev.remote_start_id();
        }
        if (tx.evse_id == 0) tx.evse_id = ev.evse_id();
        const bool has_remote_start = tx.remote_start_id.has_value();
        const bool was_ended = tx.ended;
        const bool applies = EventApplies(is_ended, was_ended, ev.order_key(), tx.last_order_key);
        // The live figures after this event: an empty state or a missing power sample keeps the
        // previous value; billing's report carries the session's energy and cost.
        const std::string state =
            ev.charging_state().empty() ? tx.charging_state : ev.charging_state();
        const double power_w = is_ended ? 0 : ev.has_power_w() ? ev.power_w() : tx.power_w;
        if (applies) {
          tx.charging_state = state;
          tx.power_w = power_w;
          tx.energy_kwh = report.energy_consumed_kwh();
          tx.cost = report.total_cost();
          tx.currency = report.currency();
          tx.last_order_key = std::max(tx.last_order_key, ev.order_key());
          if (is_ended) {
            tx.ended = true;
            if (!tx.ended_at_ms) tx.ended_at_ms = EpochMs(EventTime(ev));
            tx.stop_reason = ev.stopped_reason();
          }
        }

        if (ev.has_remote_start_id()) {
          claims.push_back({ev.charger_id(), ev.remote_start_id(), ev.transaction_id()});
        } else if (inserted && !has_remote_start && !ev.offline() &&
                   pending_starts.count(ev.charger_id()) > 0) {
          // The seed's simulator does not echo remoteStartId: take the oldest pending remote
          // start of this charger (and EVSE, if named).
          flush_claims();
          if (auto matched = RemoteStartStore::ClaimOldest(txn, ev.charger_id(), ev.evse_id(),
                                                           ev.transaction_id())) {
            tx.remote_start_id = *matched;
          }
        }
      }
    }
    flush_claims();

    // Write back, one statement per table.
    {
      ArrayLiteral ids, boot, conn, reg, vendor, model, serial, firmware, connected, connection_id,
          gateway, connected_at, seen;
      bool any = false;
      for (const auto& [id, c] : chargers) {
        if (!c.exists || !(c.dirty_boot || c.dirty_connection || c.seen_ms)) {
          continue;
        }
        any = true;
        ids.Text(id);
        boot.Bool(c.dirty_boot);
        conn.Bool(c.dirty_connection);
        reg.Text(c.registration_status);
        vendor.Text(c.vendor);
        model.Text(c.model);
        serial.Text(c.serial_number);
        firmware.Text(c.firmware_version);
        connected.Bool(c.connected);
        connection_id.Text(c.connection_id);
        gateway.Text(c.gateway_address);
        connected_at.OptTimeMs(c.connected_at_ms);
        seen.OptTimeMs(c.seen_ms);
      }
      if (any) {
        pg::ExecPrepared(
            txn, "registry_update_chargers",
            "UPDATE chargers c SET"
            " registration_status = CASE WHEN v.boot THEN v.reg ELSE c.registration_status END,"
            " vendor = CASE WHEN v.boot THEN v.vendor ELSE c.vendor END,"
            " model = CASE WHEN v.boot THEN v.model ELSE c.model END,"
            " serial_number = CASE WHEN v.boot THEN v.serial ELSE c.serial_number END,"
            " firmware_version = CASE WHEN v.boot THEN v.firmware ELSE c.firmware_version END,"
            " connected = CASE WHEN v.conn THEN v.connected ELSE c.connected END,"
            " connection_id = CASE WHEN v.conn THEN v.connection_id ELSE c.connection_id END,"
            " gateway_address = CASE WHEN v.conn THEN v.gateway ELSE c.gateway_address END,"
            " connected_at = CASE WHEN v.conn THEN v.connected_at ELSE c.connected_at END,"
            " last_seen = greatest(c.last_seen, v.seen),"
            " updated_at = CASE WHEN v.boot OR v.conn THEN now() ELSE c.updated_at END"
            " FROM unnest($1::text[], $2::bool[], $3::bool[], $4::text[], $5::text[], $6::text[],"
            "  $7::text[], $8::text[], $9::bool[], $10::text[], $11::text[], $12::timestamptz[],"
            "  $13::timestamptz[]) AS v (id, boot, conn, reg, vendor, model, serial, firmware,"
            "  connected, connection_id, gateway, connected_at, seen)"
            " WHERE c.charger_id = v.id",
            ids.str(), boot.str(), conn.str(), reg.str(), vendor.str(), model.str(), serial.str(),
            firmware.str(), connected.str(), connection_id.str(), gateway.str(), connected_at.str(),
            seen.str());
      }
    }
    if (!txs.empty()) {
      ArrayLiteral ids, tx_ids, rs, evse, state, power, energy, cost, currency, order, ended,
          ended_at, reason, started;
      for (const auto& [key, t] : txs) {
        ids.Text(key.first);
        tx_ids.Text(key.second);
        rs.OptInt(t.remote_start_id);
        evse.Int(t.evse_id);
        state.Text(t.charging_state);
        power.Double(t.power_w);
        energy.Double(t.energy_kwh);
        cost.Double(t.cost);
        currency.Text(t.currency);
        order.Int(t.last_order_key);
        ended.Bool(t.ended);
        ended_at.OptTimeMs(t.ended_at_ms);
        reason.Text(t.stop_reason);
        started.Text(TimestampTextMs(t.started_ms));
      }
      // Commands waiting for a transaction's events (EventWaiter) hear of them at commit.
      static const std::string kUpdate =
          std::string(
              "WITH updated AS (UPDATE transactions t SET remote_start_id = v.rs,"
              " evse_id = v.evse, started_at = least(t.started_at, v.started),"
              " charging_state = v.state, power_w = v.power, energy_kwh = v.energy,"
              " cost = v.cost, currency = v.currency, last_order_key = v.ord, ended = v.ended,"
              " ended_at = coalesce(t.ended_at, v.ended_at), stop_reason = v.reason,"
              " updated_at = now()"
              " FROM unnest($1::text[], $2::text[], $3::bigint[], $4::int[], $5::text[],"
              "  $6::float8[], $7::float8[], $8::float8[], $9::text[], $10::bigint[], $11::bool[],"
              "  $12::timestamptz[], $13::text[], $14::timestamptz[])"
              " AS v (id, tx, rs, evse, state, power, energy, cost, currency, ord, ended, ended_at,"
              "  reason, started)"
              " WHERE t.charger_id = v.id AND t.transaction_id = v.tx RETURNING 1)"
              " SELECT pg_notify('") +
          kTransactionEventChannel + "', '')";
      pg::ExecPrepared(txn, "registry_update_transactions", kUpdate, ids.str(), tx_ids.str(),
                       rs.str(), evse.str(), state.str(), power.str(), energy.str(), cost.str(),
                       currency.str(), order.str(), ended.str(), ended_at.str(), reason.str(),
                       started.str());
    }
    {
      ArrayLiteral ids, evses, conns, statuses, times;
      bool any = false;
      for (const auto& [key, c] : connectors) {
        if (!c.dirty) continue;
        any = true;
        ids.Text(std::get<0>(key));
        evses.Int(std::get<1>(key));
        conns.Int(std::get<2>(key));
        statuses.Text(c.status);
        times.Text(TimestampTextMs(c.time_ms));
      }
      // The guard also covers a row another replica inserted after this batch looked.
      if (any) {
        pg::ExecPrepared(
            txn, "registry_upsert_connectors",
            "INSERT INTO connectors (charger_id, evse_id, connector_id, status, status_time)"
            " SELECT * FROM unnest($1::text[], $2::int[], $3::int[], $4::text[],"
            "  $5::timestamptz[])"
            " ON CONFLICT (charger_id, evse_id, connector_id) DO UPDATE SET"
            " status = EXCLUDED.status, status_time = EXCLUDED.status_time"
            " WHERE connectors.status_time <= EXCLUDED.status_time",
            ids.str(), evses.str(), conns.str(), statuses.str(), times.str());
      }
    }
    if (!available.empty()) {
      // The token sessions these reports end (ConcurrentTx counts them no more).
      ArrayLiteral ids, evses, times;
      for (const auto& [report, at] : available) {
        ids.Text(report->charger_id);
        evses.Int(report->evse_id);
        times.Text(TimestampTextMs(at));
      }
      pg::ExecPrepared(txn, "registry_free_token_sessions",
                       "UPDATE token_sessions s SET freed_at = u.t"
                       " FROM unnest($1::text[], $2::int[], $3::timestamptz[]) AS u (c, e, t)"
                       " WHERE s.charger_id = u.c AND s.evse_id = u.e AND s.evse_id > 0"
                       " AND s.started_at < u.t AND s.freed_at IS NULL",
                       ids.str(), evses.str(), times.str());
    }
    {
      std::vector<FetchRequest> fetches;
      for (const auto& [id, reason] : fetch_reasons) {
        if (!reason.empty()) fetches.push_back({id, reason});
      }
      DeviceModelFetcher::Enqueue(txn, fetches, fetch_delay_);
    }
    if (!boot_rows.empty()) {
      ArrayLiteral ids, conns, reasons, vendors, models, serials, firmwares, statuses;
      for (const auto& r : boot_rows) {
        ids.Text(r.boot->charger_id);
        conns.Text(r.boot->connection_id);
        reasons.Text(r.boot->reason);
        vendors.Text(r.boot->vendor);
        models.Text(r.boot->model);
        serials.Text(r.boot->serial_number);
        firmwares.Text(r.boot->firmware_version);
        statuses.Text(*r.status);
      }
      // WITH ORDINALITY keeps the log's ids in arrival order.
      pg::ExecPrepared(
          txn, "registry_boot_log",
          "INSERT INTO boot_log (charger_id, connection_id, reason, vendor, model, serial_number,"
          " firmware_version, decided_status)"
          " SELECT id, conn, reason, vendor, model, serial, firmware, status"
          " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"
          "  $7::text[], $8::text[]) WITH ORDINALITY"
          " AS u (id, conn, reason, vendor, model, serial, firmware, status, n) ORDER BY n",
          ids.str(), conns.str(), reasons.str(), vendors.str(), models.str(), serials.str(),
          firmwares.str(), statuses.str());
    }
    {
      // Firmware jobs follow their FirmwareStatusNotifications and the boots after an install.
      std::vector<FirmwareBoot> firmware_boots;
      for (const auto& r : boot_rows) firmware_boots.push_back({r.boot, *r.status});
      FirmwareJobStore::ApplyBoots(txn, firmware_boots);
      alerts.Add(FirmwareJobStore::ApplyStatuses(txn, events));
      LogUploadStore::ApplyStatuses(txn, events);
    }
    {
      // A TransactionEvent with reservationId uses that reservation (H01, reservation_store.h).
      std::vector<ReservationUse> uses;
      for (const WriteOp* op : ops) {
        auto* t = std::get_if<TransactionEventOp>(op);
        if (t == nullptr || !t->report.event().has_reservation_id()) continue;
        const auto& ev = t->report.event();
        uses.push_back({ev.charger_id(), ev.reservation_id(), ev.transaction_id()});
      }
      ReservationStore::ApplyUses(txn, uses);
    }
    alerts.EventsStored(EventLogStore::Insert(txn, events));
    alerts.Raise(txn, received_at);
    return results;
  });
}

}  // namespace csms::control
