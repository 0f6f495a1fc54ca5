#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "csms/common/pg.h"
#include "csms/common/time_util.h"
#include "csms/control/migrations.h"
#include "csms/control/v1/control.pb.h"
#include "csms/ocpp/v1/events.pb.h"

// Everything control keeps in PostgreSQL. No state that matters lives only in memory, so any
// number of control replicas can share one database.
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
  std::string station_id;               // "" when the charger belongs to no station
  std::optional<int> security_profile;  // when provisioned
};

struct StationRecord {
  std::string station_id, name, address;
  double latitude = 0, longitude = 0;
  std::vector<std::string> charger_ids;  // sorted
};

// What UpdateStation changes; unset fields stay as they are.
struct StationChanges {
  std::optional<std::string> name, address;
  std::optional<double> latitude, longitude;
  std::optional<std::vector<std::string>> charger_ids;  // replaces the station's chargers
};

// A station write that was refused; nothing of it was stored.
class StationError : public std::runtime_error {
 public:
  enum class Kind { kNotFound, kConflict };
  StationError(Kind kind, const std::string& message) : std::runtime_error(message), kind(kind) {}
  Kind kind;
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

// States of a remote start: Requested (row written, CALL not answered yet), Accepted, then
// Started once a TransactionEvent is correlated; or Rejected, Failed, TimedOut.
namespace remote_start_status {
inline constexpr const char* kAccepted = "Accepted";
inline constexpr const char* kRejected = "Rejected";
inline constexpr const char* kFailed = "Failed";
inline constexpr const char* kTimedOut = "TimedOut";
}  // namespace remote_start_status

// What MarkConnected found and decided.
struct ConnectOutcome {
  std::string registration_status;  // stored status ("" if never booted); survives reconnects
  // The connection that must be closed now, if any: the charger's previous live connection
  // when this one is newer, or this one when a newer connection is already recorded.
  std::string close_connection_id;
  std::string close_gateway_address;
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
};
struct LastSeenOp {
  std::vector<LastSeenEntry> entries;
};
struct TransactionEventOp {
  csms::control::v1::TransactionEventReport report;
};
using WriteOp =
    std::variant<ConnectOp, DisconnectOp, BootOp, StatusOp, LastSeenOp, TransactionEventOp>;

struct WriteResult {
  bool applied = false;     // DisconnectOp: the charger went offline; StatusOp: stored
  ConnectOutcome connect;   // ConnectOp
  std::string boot_status;  // BootOp: Accepted, Pending or Rejected
};

// A charger's provisioning: how it must authenticate (OCPP security profile) and whether its
// BootNotification is accepted. No row: the charger is not provisioned.
struct ChargerCredentials {
  std::string charger_id;
  int security_profile = 0;
  std::string password_hash;  // "" when none; see password_hash.h
  bool approved = false;
  // The password before the last rotation while its grace period lasts (OCPP A01), else "".
  std::string previous_password_hash;
};

// What UpdateChargerSecurity changes; unset fields stay as they are.
struct CredentialChanges {
  std::optional<int> security_profile;
  std::optional<std::string> password_hash;
  std::optional<bool> approved;
};

class ControlStore {
 public:
  // The pool's database must have ControlMigrations() applied.
  explicit ControlStore(pg::Pool& pool) : pool_(pool) {}

  using ConnectOutcome = csms::control::ConnectOutcome;

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

  // Remote starts: a fresh id from the shared sequence, then the outcome.
  int64_t CreateRemoteStart(const std::string& charger_id, int evse_id,
                            const std::string& id_token);
  void SetRemoteStartStatus(int64_t remote_start_id, const std::string& status);
  // Records the transaction the charger already had (RequestStartTransactionResponse).
  void SetRemoteStartTransaction(int64_t remote_start_id, const std::string& transaction_id);
  // The transaction correlated with the remote start, "" while none.
  std::string RemoteStartTransaction(int64_t remote_start_id);

  std::optional<TransactionRecord> FindTransaction(const std::string& charger_id,
                                                   const std::string& transaction_id);

  // Stores a profile sent to the charger; `in_force` also makes its limit the charger's.
  void RecordChargingProfile(const std::string& charger_id, int profile_id, int evse_id,
                             const std::string& purpose, double limit_w, const std::string& status,
                             bool in_force);

  // Stations. Writes throw StationError: kNotFound for an unknown station, kConflict for a
  // taken station id or a charger that belongs to another station.
  std::vector<StationRecord> ListStations();
  std::optional<StationRecord> FindStation(const std::string& station_id);
  StationRecord CreateStation(const StationRecord& station);
  StationRecord UpdateStation(const std::string& station_id, const StationChanges& changes);
  // False when there was no such station. Its chargers are left without a station.
  bool DeleteStation(const std::string& station_id);
  // Moves the charger to `station_id` ("" = off any station); returns its previous station.
  std::string AssignCharger(const std::string& charger_id, const std::string& station_id);

  // Provisioning. Create throws StationError kConflict when the charger is provisioned already;
  // Update returns nullopt, Delete false, when it is not.
  std::optional<ChargerCredentials> FindCredentials(const std::string& charger_id);
  ChargerCredentials CreateCredentials(const ChargerCredentials& credentials);
  std::optional<ChargerCredentials> UpdateCredentials(const std::string& charger_id,
                                                      const CredentialChanges& changes);
  bool DeleteCredentials(const std::string& charger_id);
  // A01: `new_hash` becomes the password, the current one stays valid for `grace`. nullopt when
  // the charger is not provisioned with a password profile (1 or 2).
  std::optional<ChargerCredentials> RotatePassword(const std::string& charger_id,
                                                   const std::string& new_hash,
                                                   std::chrono::seconds grace);
  // Undoes RotatePassword when the charger refused the new password (if nothing changed since).
  void RevertPassword(const std::string& charger_id, const std::string& new_hash);

 private:
  pg::Pool& pool_;
};

}  // namespace csms::control
