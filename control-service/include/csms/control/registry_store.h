#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "csms/common/pg.h"
#include "csms/common/time_util.h"
#include "csms/control/decisions.h"
#include "csms/control/v1/control.pb.h"

// Control keeps everything in PostgreSQL, one store per aggregate (stores.h). No state that
// matters lives only in memory, so any number of control replicas can share one database.
namespace csms::control {

// NOTIFY channel: a batch that stored TransactionEvents notifies it on commit, so commands
// waiting in any replica look again at once.
inline constexpr const char* kTransactionEventChannel = "csms_control_tx_events";

struct ConnectorRecord {
  int evse_id = 0;
  int connector_id = 0;
  std::string status;
  TimePoint status_time;
};

struct ChargerRecord {
  std::string charger_id;
  std::string vendor, model, serial_number, firmware_version;
  std::string registration_status;
  bool connected = false;
  std::string connection_id;
  std::string gateway_address;
  std::optional<TimePoint> last_seen;
  std::string active_transaction_id;  // "" when none
  std::string charging_state;
  double current_power_w = 0;
  double energy_kwh = 0;
  std::optional<double> charging_limit_w;
  std::vector<ConnectorRecord> connectors;
  // Every transaction that has not ended, newest first (the first is the one above).
  std::vector<LiveTransaction> live_transactions;
  std::string station_id;               // "" when the charger belongs to no station
  std::optional<int> security_profile;  // when provisioned
};

struct TransactionRecord {
  bool ended = false;
  double energy_kwh = 0;
  double cost = 0;
  std::string currency;
};

struct BootRecord {
  std::string charger_id, connection_id, reason, vendor, model, serial_number, firmware_version;
};

struct LastSeenEntry {
  std::string charger_id;
  TimePoint seen_at;
};

// What MarkConnected found and decided.
struct ConnectOutcome {
  std::string registration_status;  // stored status ("" if never booted); survives reconnects
  // The connection that must be closed now, if any: the charger's previous live connection
  // when this one is newer, or this one when a newer connection is already recorded.
  std::string close_connection_id;
  std::string close_gateway_address;
  // The station (site) the charger belongs to, "" for none: the gateway stamps it on the
  // connection's transaction events so billing prices them by that station's tariff.
  std::string station_id;
  // The currency the charger shows running costs in, "" when it does not show them.
  std::string cost_currency;
  // The most power each EVSE can deliver (W), from the device model, by EVSE id.
  std::map<int32_t, double> evse_max_power_w;
};

// The writes the gateways report. ApplyBatch applies many of them in one transaction, in order,
// with the same outcome as applying them one after the other.
struct ConnectOp {
  std::string charger_id, connection_id, gateway_address;
  TimePoint at;
};
struct DisconnectOp {
  std::string charger_id, connection_id;
  TimePoint at;
};
struct BootOp {
  BootRecord boot;
  // The status of a charger that is not provisioned; a provisioned one is Accepted when
  // approved, else Pending (decided in the batch's transaction, see WriteResult::boot_status).
  std::string decided_status;
  bool require_provisioning = false;  // an unprovisioned charger is Rejected
};
struct StatusOp {
  std::string charger_id, connection_id;
  int evse_id = 0;
  int connector_id = 0;
  std::string status;
  TimePoint at;
  // From a StatusNotification: also goes into the charger's status history (event log).
  bool from_status_notification = false;
};
struct LastSeenOp {
  std::vector<LastSeenEntry> entries;
};
struct TransactionEventOp {
  csms::control::v1::TransactionEventReport report;
};
// Events for the charger's event log (EventLogStore), stored in the batch's transaction.
struct ChargerEventsOp {
  std::vector<csms::control::v1::ChargerEvent> events;
};
using WriteOp = std::variant<ConnectOp, DisconnectOp, BootOp, StatusOp, LastSeenOp,
                             TransactionEventOp, ChargerEventsOp>;

struct WriteResult {
  bool applied = false;     // DisconnectOp: the charger went offline; StatusOp: stored
  ConnectOutcome connect;   // ConnectOp
  std::string boot_status;  // BootOp: Accepted, Pending or Rejected
};

// The status history entry of a StatusNotification, as the event log keeps it.
csms::control::v1::ChargerEvent StatusHistoryEvent(const StatusOp& op, TimePoint received_at);

// Chargers as the gateways report them: registration, connections, connectors, live
// transactions and the boot log. ApplyBatch also correlates remote starts (RemoteStartStore) in
// its transaction.
class RegistryStore {
 public:
  // The pool's database must have ControlMigrations() applied.
  explicit RegistryStore(pg::Pool& pool) : pool_(pool) {}

  // An Accepted boot that calls for it (DeviceModelFetchReason) queues a device model fetch,
  // due after `delay`, in the boot's own transaction. Off by default.
  void set_device_model_fetch(bool enabled, std::chrono::milliseconds delay) {
    fetch_enabled_ = enabled;
    fetch_delay_ = delay;
  }

  using ConnectOutcome = csms::control::ConnectOutcome;

  // Batches (ApplyBatch) run on `pool` from now on: connections of their own, best with
  // pg::KeyLookupSettings (then a batch saves the round trip that sets them).
  void set_batch_pool(pg::Pool* pool) { batch_pool_ = pool; }

  // Applies `ops` in one transaction (rows locked in a fixed order, set-based statements) and
  // returns one result per op. Throws when the transaction fails; then nothing was applied.
  std::vector<WriteResult> ApplyBatch(const std::vector<const WriteOp*>& ops);

  // The single-op forms below are ApplyBatch with one op.
  // Registry and connections: the newest connection (by connected_at) wins.
  ConnectOutcome MarkConnected(const std::string& charger_id, const std::string& connection_id,
                               const std::string& gateway_address, TimePoint connected_at);
  // Only the charger's current connection can take it offline. True when it did.
  bool MarkDisconnected(const std::string& charger_id, const std::string& connection_id,
                        TimePoint at);
  // Returns the status stored: `decided_status` unless the charger is provisioned (see BootOp).
  std::string RecordBoot(const BootRecord& boot, const std::string& decided_status,
                         bool require_provisioning = false);
  // Keeps the newest report per connector, and only from the charger's current connection (a
  // late report of a replaced connection is ignored; an empty connection_id skips that check).
  // True when this one was stored.
  bool UpsertConnectorStatus(const std::string& charger_id, const std::string& connection_id,
                             int evse_id, int connector_id, const std::string& status,
                             TimePoint at);
  void UpdateLastSeen(const std::vector<LastSeenEntry>& entries);

  // Applies one TransactionEvent (with billing's figures) to the transaction and the charger's
  // live state, and correlates it with a pending remote start.
  void ApplyTransactionEvent(const csms::control::v1::TransactionEventReport& report);

  std::optional<ChargerRecord> FindCharger(const std::string& charger_id);
  std::vector<ChargerRecord> ListChargers();

  std::optional<TransactionRecord> FindTransaction(const std::string& charger_id,
                                                   const std::string& transaction_id);

 private:
  pg::Pool& pool_;
  pg::Pool* batch_pool_ = nullptr;
  bool fetch_enabled_ = false;
  std::chrono::milliseconds fetch_delay_{0};
};

}  // namespace csms::control
