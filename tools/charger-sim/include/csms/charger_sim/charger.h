#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "csms/common/ocpp_frame.h"
#include "csms/common/time_util.h"

// The simulated charging station: one EVSE with one connector, speaking OCPP 2.0.1 (OCPP-J).
// No sockets here: the transport feeds in frames and connection events, drains outgoing frames,
// and calls OnTimer() when NextDeadline() has passed, so tests can drive it with a fake clock.
namespace csms::sim {

// Which TransactionEvent body to send. Everything else is standard OCPP 2.0.1 in both.
enum class Dialect {
  kStandard,  // transactionInfo + meterValue[].sampledValue[], as the OCA schemas say
  kSeed,      // the seed C# simulator's transactionData.chargingPeriods[].dimensions[]
};
std::optional<Dialect> ParseDialect(std::string_view name);
const char* DialectName(Dialect dialect);

enum class BootState { kNone, kPending, kRejected, kAccepted };

struct ChargerOptions {
  std::string station_id = "emart_jeju_01";
  Dialect dialect = Dialect::kStandard;
  std::string vendor = "ABB";
  std::string model = "Terra 53";
  std::string firmware_version = "1.0.0";
  // BootNotification serialNumber; empty = "SN-<station id>-001". Under profile 3 it is the
  // client certificate's CN, which the CSMS compares with it (B01.FR.11).
  std::string serial_number;
  double max_power_w = 100000;  // hardware maximum
  std::chrono::seconds meter_interval{5};
  double energy_speedup = 1.0;    // multiplies energy per second, not the reported power
  double meter_start_wh = 0;      // lifetime register at process start (standard dialect)
  double seed_price_per_kwh = 0;  // > 0: the seed dialect carries a totalCost, as the C# sim did
  std::chrono::seconds call_timeout{30};
  // TransactionEvent retries (OCPP E13): attempts in all, and the base wait between them.
  int tx_message_attempts = 3;
  std::chrono::seconds tx_retry_interval{10};
  // Used when a boot reply gives interval 0 or the boot CALL failed.
  std::chrono::seconds boot_retry_default{10};
  uint64_t random_seed = 0;  // 0 = seeded from std::random_device
};

class Charger {
 public:
  Charger(ChargerOptions options, const Clock& clock);

  // Transport events.
  void OnConnected();
  void OnDisconnected();
  void OnMessage(std::string_view text);
  // Processes everything that is due at clock.Now(): timeouts, heartbeats, meter values.
  void OnTimer();

  // When OnTimer() next has work; nullopt when nothing is scheduled.
  std::optional<TimePoint> NextDeadline() const;
  // Frames to write to the WebSocket, in order.
  std::vector<std::string> TakeOutgoing();

  // State, for tests, logs and the transport.
  const ChargerOptions& options() const { return options_; }
  const std::string& station_id() const { return options_.station_id; }
  bool connected() const { return connected_; }
  BootState boot_state() const { return boot_state_; }
  std::chrono::seconds heartbeat_interval() const { return heartbeat_interval_; }
  bool transaction_active() const { return tx_.has_value(); }
  std::string transaction_id() const { return tx_ ? tx_->id : std::string(); }
  double energy_register_wh() const { return energy_wh_; }
  double current_power_w() const;
  bool call_in_flight() const { return in_flight_.has_value(); }
  size_t queued_calls() const { return queue_.size(); }

  // A01: the new HTTP Basic auth password after an accepted SetVariables of
  // SecurityCtrlr.BasicAuthPassword, handed out once. The transport must write the frames taken
  // so far (the CALLRESULT is among them), close with 1000 and reconnect with this password.
  // Until OnDisconnected() the charger starts no new CALLs, so none is cut off by that close.
  std::optional<std::string> TakeNewPassword();
  bool reconnect_pending() const { return reconnect_pending_; }

 private:
  struct QueuedCall {
    std::string action;
    nlohmann::json payload;
    bool is_transaction_event = false;
    int attempts = 0;  // transmissions so far
    std::optional<TimePoint> not_before;
  };
  struct InFlight {
    std::string message_id;
    QueuedCall call;
    TimePoint deadline;
  };
  struct Transaction {
    std::string id;
    int seq_no = 0;
    std::optional<int> remote_start_id;
    nlohmann::json id_token;
    double start_register_wh = 0;
    TimePoint started_at;
    TimePoint last_integrated_at;
    TimePoint next_meter_at;
  };

  // Incoming frames.
  void HandleCall(const ocpp::Frame& frame);
  void HandleCallResult(const ocpp::Frame& frame);
  void HandleCallError(const ocpp::Frame& frame);
  void HandleCallFailure(QueuedCall call, const std::string& why);
  void OnBootResponse(const nlohmann::json& payload);

  // Server CALLs; each returns nothing and writes exactly one reply.
  void OnRequestStartTransaction(const ocpp::Frame& frame);
  void OnRequestStopTransaction(const ocpp::Frame& frame);
  void OnSetChargingProfile(const ocpp::Frame& frame);
  void OnTriggerMessage(const ocpp::Frame& frame);
  void OnGetTransactionStatus(const ocpp::Frame& frame);
  void OnCostUpdated(const ocpp::Frame& frame);
  void OnSetVariables(const ocpp::Frame& frame);
  nlohmann::json SetVariable(const nlohmann::json& data);

  // Outgoing.
  void Reply(const std::string& message_id, const nlohmann::json& payload);
  void ReplyError(const std::string& message_id, std::string_view code,
                  std::string_view description);
  void Emit(std::string frame);
  void Enqueue(std::string action, nlohmann::json payload, bool front = false);
  void EnqueueBoot(std::string_view reason);
  void EnqueueStatus(bool front = false);
  void EnqueueTransactionEvent(std::string_view event_type, std::string_view trigger_reason,
                               std::string_view stopped_reason = {});
  bool IsQueued(std::string_view action) const;
  void Pump();

  // Transactions and metering.
  void StartTransaction(const nlohmann::json& id_token, std::optional<int> remote_start_id);
  void EndTransaction(std::string_view trigger_reason, std::string_view stopped_reason);
  void Integrate(TimePoint now);
  std::optional<double> EffectiveLimitW() const;

  std::string NewMessageId();
  std::string NewUuid();
  std::string Tag() const;

  ChargerOptions options_;
  const Clock& clock_;
  std::mt19937_64 rng_;
  uint64_t message_counter_ = 0;
  std::string message_id_prefix_;

  bool connected_ = false;
  BootState boot_state_ = BootState::kNone;
  std::optional<TimePoint> boot_retry_at_;
  std::chrono::seconds heartbeat_interval_{0};
  std::optional<TimePoint> next_heartbeat_at_;

  std::deque<QueuedCall> queue_;
  std::optional<InFlight> in_flight_;
  std::vector<std::string> outbox_;

  std::string connector_status_ = "Available";
  std::optional<Transaction> tx_;
  double energy_wh_ = 0;  // lifetime register
  // Limits in W by profile purpose; the lowest applicable one caps the power.
  std::optional<double> station_max_limit_w_;
  std::optional<double> tx_default_limit_w_;
  std::optional<double> tx_limit_w_;  // TxProfile, ends with its transaction

  std::optional<std::string> new_password_;  // accepted, not yet taken by the transport
  bool reconnect_pending_ = false;           // set with new_password_, cleared on disconnect
};

}  // namespace csms::sim
