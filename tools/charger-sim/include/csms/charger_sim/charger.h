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

#include "csms/charger_sim/device_model.h"
#include "csms/common/ocpp_frame.h"
#include "csms/common/time_util.h"

// The simulated charging station: one EVSE with one connector, speaking OCPP 2.0.1 (OCPP-J).
// No sockets here: the transport feeds in frames and connection events, drains outgoing frames,
// and calls OnTimer() when NextDeadline() has passed, so tests can drive it with a fake clock.
//
// The code is split by responsibility: charger.cc has the transport events, the outgoing queue,
// boot and transactions; charger_provisioning.cc the device model (GetVariables, SetVariables,
// GetBaseReport, GetReport) and Reset; charger_remote.cc the other CSMS commands
// (ChangeAvailability, UnlockConnector, TriggerMessage, GetTransactionStatus, ClearCache,
// DataTransfer, CostUpdated, UpdateFirmware, GetLog).
//
// The CSMS commands, as a real station answers them (each request is checked against its OCA
// schema first; a violation is the validator's CALLERROR):
//  * Reset: Immediate = Accepted, the running transaction ends (Ended, ResetCommand,
//    ImmediateReset), then the station reboots: close 1000, reconnect, BootNotification
//    RemoteReset. OnIdle = the same when idle, Scheduled during a transaction (reboot at its end).
//    evseId 1 = that EVSE only (its transaction ends, the connector reports again, no reboot);
//    any other evseId = Rejected.
//  * ChangeAvailability: station (no evse, or EVSE 0), EVSE 1 or EVSE 1 connector 1; Accepted with
//    a StatusNotification when the connector's state changes, Scheduled during a transaction (shown
//    when it ends), Rejected for other EVSEs/connectors. Kept across reboots; an Unavailable
//    connector refuses RequestStartTransaction.
//  * UnlockConnector: Unlocked (1/1, idle), OngoingAuthorizedTransaction, UnknownConnector.
//  * TriggerMessage: Accepted, then BootNotification (reason Triggered; Rejected once Accepted),
//    Heartbeat, StatusNotification, MeterValues (register and power, context Trigger),
//    TransactionEvent (Updated, trigger Trigger; Rejected without a transaction),
//    FirmwareStatusNotification / LogStatusNotification (status Idle); NotImplemented for the
//    certificate and publish-firmware ones. Triggered messages go out while the boot is Pending.
//  * UpdateFirmware: Accepted (Rejected while one runs), then FirmwareStatusNotification
//    Downloading, Downloaded, SignatureVerified (signed only), Installing, InstallRebooting, a
//    reboot (reconnect, BootNotification reason FirmwareUpdate with the version named by the
//    location's file name: ".../fw-2.0.0.bin" -> "2.0.0", else "updated"), then Installed. A
//    location containing "bad-signature" ends with InvalidSignature after Downloaded.
//  * GetVariables / SetVariables: the device model of charger_provisioning.cc (HeartbeatInterval,
//    MessageTimeout[Default] (the one RebootRequired variable), DeviceDataCtrlr.ItemsPerMessage
//    4 (GetVariables) / 8 (SetVariables), BytesPerMessage 8192, AvailabilityState and Available of
//    the station, EVSE 1 and its connector, EVSE Power (maxLimit = the hardware maximum),
//    ConnectorType, BasicAuthPassword (write-only), SecurityProfile, AuthCtrlr Enabled and
//    AuthorizeRemoteStart, SmartChargingCtrlr Enabled and RateUnit, TxUpdatedInterval, and
//    extra_variables synthetic SimExtra.Var<i>).
//    More items or bytes than allowed: CALLERROR OccurrenceConstraintViolation / FormatViolation.
//  * GetBaseReport (B07) FullInventory, ConfigurationInventory, SummaryInventory (see
//    DeviceModel::BaseReport) and GetReport (B08, see DeviceModel::Report): Accepted, then the
//    report as NotifyReport CALLs queued behind it: one generatedAt, seqNo 0..n-1,
//    report_items_per_part ReportData each, tbc true on all but the last (false). One CALL in
//    flight as always, so each part waits for the answer to the one before; they go out while the
//    boot is Pending too (B02.FR.02). GetReport with nothing matching: EmptyResultSet and no
//    NotifyReport. Values are read when the request arrives; write-only ones are reported without
//    a value. A connection loss drops the parts not yet sent (like the other non-transaction
//    messages). report_order kReverse sends the parts last seqNo first (a test of the CSMS).
//  * GetLog (N01): Accepted with filename "<station id>-<requestId>.log" (AcceptedCanceled when
//    another upload runs: that one is abandoned without further notifications), then
//    LogStatusNotification Uploading, an upload attempt handed to the transport (TakeLogUpload,
//    OnLogUploadDone), and Uploaded on a 2xx answer or UploadFailure. Retries: up to `retries`
//    (at most 10; none when absent) more attempts after a connection error, a timeout, 408, 429
//    or 5xx (not after other answers: 404 and 413 stay so), each after `retryInterval` seconds
//    capped at 2 s (absent = 2 s) so tests stay fast; Uploading is sent once, the final status
//    once. Rejected (statusInfo NoLogAvailable) when the station has no log (has_log false), and
//    (InvalidURL) when remoteLocation is not an http:// or https:// URL the client can use.
//    TriggerMessage LogStatusNotification reports Uploading with the requestId while one runs.
//  * GetTransactionStatus: messagesInQueue = transaction events not yet answered; ongoingIndicator
//    only with a transactionId. ClearCache: Accepted. DataTransfer: vendorId com.csms.sim with
//    messageId echo = Accepted with the data echoed; other messageIds UnknownMessageId, other
//    vendors UnknownVendorId.
namespace csms::sim {

// Which TransactionEvent body to send. Everything else is standard OCPP 2.0.1 in both.
enum class Dialect {
  kStandard,  // transactionInfo + meterValue[].sampledValue[], as the OCA schemas say
  kSeed,      // the seed C# simulator's transactionData.chargingPeriods[].dimensions[]
};
std::optional<Dialect> ParseDialect(std::string_view name);
const char* DialectName(Dialect dialect);

enum class BootState { kNone, kPending, kRejected, kAccepted };

// The order in which the NotifyReport parts of one report are sent.
enum class ReportOrder {
  kNormal,   // seqNo 0, 1, ..., n-1
  kReverse,  // seqNo n-1, ..., 0 (the CSMS must reassemble by seqNo)
};
std::optional<ReportOrder> ParseReportOrder(std::string_view name);

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
  // GetBaseReport / GetReport: ReportData items per NotifyReport part (>= 1), and the order of
  // the parts.
  int report_items_per_part = 20;
  ReportOrder report_order = ReportOrder::kNormal;
  // Synthetic variables added to the device model: component SimExtra, variables Var1..VarN,
  // ReadOnly integers whose value is i (a report of 10,000 variables).
  int extra_variables = 0;
  // SecurityCtrlr.SecurityProfile as reported (ReadOnly): the profile the transport connects
  // with (0 none, 1 Basic auth, 2 TLS and Basic auth, 3 TLS client certificate).
  int security_profile = 0;
  // GetLog: false = the station has no log (GetLog is Rejected). The bytes are the transport's.
  bool has_log = true;
};

// One attempt of a GetLog upload, for the transport to run (Charger::TakeLogUpload).
struct LogUploadAttempt {
  int request_id = 0;
  std::string log_type;         // DiagnosticsLog or SecurityLog
  std::string remote_location;  // an http:// or https:// URL (ParseHttpUrl accepts it)
  std::string filename;         // "<station id>-<requestId>.log"
  int attempt = 1;              // 1 = the first
  int max_attempts = 1;         // 1 + retries
};

class Charger {
 public:
  Charger(ChargerOptions options, const Clock& clock);
  // The device model's callbacks point into this object.
  Charger(const Charger&) = delete;
  Charger& operator=(const Charger&) = delete;

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

  // B11/B12: true once when the station reboots after an accepted Reset: its CALLRESULT is among
  // the frames taken, and the queued transaction events (the Ended ones) have been answered or
  // have failed once (those are re-sent after the boot). The transport then does what it does
  // for a new password: write the frames taken so far, close with 1000 and reconnect. The
  // reconnect brings a BootNotification with reason RemoteReset.
  bool TakeReboot();
  // A Reset was accepted (or scheduled) and the reboot has not happened yet.
  bool reboot_pending() const { return reboot_scheduled_ || reboot_draining_ || rebooting_; }

  // G03/G04: availability set by ChangeAvailability (it survives reboots).
  bool connector_operative() const {
    return station_operative_ && evse_operative_ && connector_operative_;
  }
  // The connector's StatusNotification value: Occupied, Available or Unavailable.
  const char* connector_status() const;
  const DeviceModel& device_model() const { return model_; }

  // GetLog (N01): the next upload attempt to run, handed out once; the transport runs it without
  // blocking and reports the answer with OnLogUploadDone: the HTTP status, 0 when there was none
  // (connection error, timeout, unreadable file), and a reason for the log. The final
  // LogStatusNotification (or a retry) follows. Answers for an abandoned upload are ignored.
  std::optional<LogUploadAttempt> TakeLogUpload();
  void OnLogUploadDone(int request_id, int http_status, std::string_view detail);
  bool log_upload_active() const { return log_upload_.has_value(); }

 private:
  struct QueuedCall {
    std::string action;
    nlohmann::json payload;
    bool is_transaction_event = false;
    bool triggered = false;  // asked for by TriggerMessage: may go while the boot is Pending
    int attempts = 0;        // transmissions so far
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
  // charger_provisioning.cc
  void OnGetVariables(const ocpp::Frame& frame);
  void OnSetVariables(const ocpp::Frame& frame);
  void OnReset(const ocpp::Frame& frame);
  void OnGetBaseReport(const ocpp::Frame& frame);
  void OnGetReport(const ocpp::Frame& frame);
  // charger_remote.cc
  void OnChangeAvailability(const ocpp::Frame& frame);
  void OnUnlockConnector(const ocpp::Frame& frame);
  void OnTriggerMessage(const ocpp::Frame& frame);
  void OnGetTransactionStatus(const ocpp::Frame& frame);
  void OnClearCache(const ocpp::Frame& frame);
  void OnDataTransfer(const ocpp::Frame& frame);
  void OnCostUpdated(const ocpp::Frame& frame);
  void OnUpdateFirmware(const ocpp::Frame& frame);
  void OnGetLog(const ocpp::Frame& frame);
  // A due retry of the log upload becomes ready for TakeLogUpload (OnTimer).
  void StepLogUpload(TimePoint now);
  // The next step of a firmware update, when due (OnTimer).
  void StepFirmware(TimePoint now);

  // The request checked against its OCA schema and decoded; false after a CALLERROR was sent.
  template <typename Request>
  bool DecodeRequest(const ocpp::Frame& frame, Request* request);

  // Device model (charger_provisioning.cc).
  void BuildDeviceModel();
  // DeviceDataCtrlr.ItemsPerMessage / BytesPerMessage for this action; false after a CALLERROR.
  bool WithinMessageLimits(const ocpp::Frame& frame, size_t items);
  // Queues `items` as the NotifyReport parts of report `request_id` (after the reply).
  void EnqueueReport(int request_id, const std::vector<ocpp::v201::ReportData>& items);

  // Reboot (charger_provisioning.cc): wait for the transaction events, then hand it to the
  // transport; OnDisconnected() completes it.
  void BeginReboot();
  void MaybeFinishRebootDrain();
  void CompleteReboot();

  // Outgoing.
  void Reply(const std::string& message_id, const nlohmann::json& payload);
  void ReplyError(const std::string& message_id, std::string_view code,
                  std::string_view description);
  void Emit(std::string frame);
  void Enqueue(std::string action, nlohmann::json payload, bool front = false);
  void EnqueueBoot(std::string_view reason);
  void EnqueueStatus(bool front = false);
  void EnqueueMeterValues(int evse_id);
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
  std::string boot_reason_ = "PowerUp";  // of the next BootNotification; RemoteReset after Reset
  std::optional<TimePoint> boot_retry_at_;
  std::chrono::seconds heartbeat_interval_{0};
  std::optional<TimePoint> next_heartbeat_at_;

  std::deque<QueuedCall> queue_;
  std::optional<InFlight> in_flight_;
  std::vector<std::string> outbox_;

  std::optional<Transaction> tx_;
  bool station_operative_ = true;    // ChangeAvailability without evse
  bool evse_operative_ = true;       // ... for EVSE 1
  bool connector_operative_ = true;  // ... for EVSE 1 connector 1
  double energy_wh_ = 0;             // lifetime register
  // Limits in W by profile purpose; the lowest applicable one caps the power.
  std::optional<double> station_max_limit_w_;
  std::optional<double> tx_default_limit_w_;
  std::optional<double> tx_limit_w_;  // TxProfile, ends with its transaction

  std::optional<std::string> new_password_;  // accepted, not yet taken by the transport
  bool reconnect_pending_ = false;  // set with new_password_ or a reboot, cleared on disconnect

  DeviceModel model_;
  // Reset: OnIdle waiting for the transaction to end; the station's, or EVSE 1's only.
  bool reboot_scheduled_ = false;
  bool evse_reset_scheduled_ = false;
  bool reboot_draining_ = false;   // accepted; the last transaction events are being sent
  bool rebooting_ = false;         // handed to the transport, waiting for the disconnect
  bool reboot_requested_ = false;  // not yet taken by TakeReboot()

  // UpdateFirmware (charger_remote.cc): the FirmwareStatusNotifications still to send, one per
  // kFirmwareStep; "reboot" closes the connection and boots with reason FirmwareUpdate and the
  // new version, and the steps after it wait for that boot's acceptance.
  struct FirmwareUpdate {
    int request_id = 0;
    std::deque<std::string> steps;
    std::string new_version;
    TimePoint next_at;
  };
  std::optional<FirmwareUpdate> firmware_;
  bool firmware_reboot_ = false;  // the reboot under way installs firmware

  // GetLog (charger_remote.cc): the upload under way.
  struct LogUpload {
    LogUploadAttempt attempt;               // the last one handed out (or to hand out)
    std::chrono::seconds retry_wait{0};     // retryInterval, capped
    bool ready = false;                     // waiting for TakeLogUpload
    bool running = false;                   // handed out, no OnLogUploadDone yet
    std::optional<TimePoint> next_attempt;  // a retry waits until then
  };
  std::optional<LogUpload> log_upload_;
};

}  // namespace csms::sim
