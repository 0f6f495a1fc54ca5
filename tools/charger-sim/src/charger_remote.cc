// The CSMS commands other than transactions, charging limits and provisioning: ChangeAvailability,
// UnlockConnector, TriggerMessage, GetTransactionStatus, ClearCache, DataTransfer, CostUpdated,
// UpdateFirmware and GetLog.
#include <algorithm>

#include "charger_internal.h"
#include "csms/charger_sim/log_upload.h"
#include "csms/common/log.h"
#include "csms/ocpp/v201/change_availability.h"
#include "csms/ocpp/v201/clear_cache.h"
#include "csms/ocpp/v201/data_transfer.h"
#include "csms/ocpp/v201/get_log.h"
#include "csms/ocpp/v201/get_transaction_status.h"
#include "csms/ocpp/v201/trigger_message.h"
#include "csms/ocpp/v201/unlock_connector.h"
#include "csms/ocpp/v201/update_firmware.h"

namespace csms::sim {
namespace {

using internal::Find;
using internal::kLog;
using nlohmann::json;
namespace v201 = ocpp::v201;

// DataTransfer: the simulator's own vendor id, and the one message it knows.
constexpr std::string_view kVendorId = "com.csms.sim";
constexpr std::string_view kEchoMessageId = "echo";

v201::StatusInfo Info(std::string reason_code, std::string additional_info) {
  return v201::StatusInfo{{}, std::move(reason_code), std::move(additional_info)};
}

// The time between two steps of a firmware update.
constexpr std::chrono::milliseconds kFirmwareStep{150};

// GetLog retries: at most this many (whatever the request asks), at most this far apart (the
// simulator's cap, so that tests stay fast), and this far apart when the request does not say.
constexpr int kMaxLogRetries = 10;
constexpr std::chrono::seconds kMaxLogRetryWait{2};

// The answers to an upload attempt worth another one: none at all (0), Request Timeout, Too Many
// Requests and server errors. Anything else (404, 413, ...) would be answered the same again.
bool RetryableUploadStatus(int http_status) {
  return http_status == 0 || http_status == 408 || http_status == 429 || http_status >= 500;
}

// The version a firmware file installs: ".../fw-2.0.0.bin" -> "2.0.0", else "updated".
std::string VersionFromLocation(const std::string& location) {
  std::string name = location.substr(location.find_last_of('/') + 1);
  if (auto q = name.find_first_of("?#"); q != std::string::npos) name.resize(q);
  if (name.rfind("fw-", 0) != 0) return "updated";
  name = name.substr(3);
  if (name.size() > 4 && name.compare(name.size() - 4, 4, ".bin") == 0) {
    name.resize(name.size() - 4);
  }
  return name.empty() || name.size() > 50 ? "updated" : name;
}

}  // namespace

void Charger::OnChangeAvailability(const ocpp::Frame& frame) {
  v201::ChangeAvailabilityRequest request;
  if (!DecodeRequest(frame, &request)) return;
  v201::ChangeAvailabilityResponse response;
  const bool operative = request.operational_status == v201::OperationalStatusEnum::kOperative;
  // Left out (or EVSE 0) = the whole station; an EVSE; or one connector of it.
  bool* flag = nullptr;
  std::string target;
  const auto& evse = request.evse;
  if (!evse || (evse->id == 0 && !evse->connector_id)) {
    flag = &station_operative_;
    target = "station";
  } else if (evse->id == 1 && !evse->connector_id) {
    flag = &evse_operative_;
    target = "EVSE 1";
  } else if (evse->id == 1 && *evse->connector_id == 1) {
    flag = &connector_operative_;
    target = "EVSE 1 connector 1";
  } else {
    response.status = v201::ChangeAvailabilityStatusEnum::kRejected;
    response.status_info = evse->id == 1 ? Info("UnknownConnector", "EVSE 1 has connector 1 only")
                                         : Info("UnknownEvse", "this station has EVSE 1 only");
    return Reply(frame.message_id, ocpp::Encode(response));
  }
  if (*flag == operative) {  // already so: nothing to do
    response.status = v201::ChangeAvailabilityStatusEnum::kAccepted;
    return Reply(frame.message_id, ocpp::Encode(response));
  }
  const std::string before = connector_status();
  *flag = operative;  // kept across reboots
  if (tx_) {
    // The transaction goes on; the new state shows when it ends (EndTransaction's
    // StatusNotification).
    response.status = v201::ChangeAvailabilityStatusEnum::kScheduled;
    Reply(frame.message_id, ocpp::Encode(response));
  } else {
    response.status = v201::ChangeAvailabilityStatusEnum::kAccepted;
    Reply(frame.message_id, ocpp::Encode(response));
    if (before != connector_status()) EnqueueStatus();
  }
  CSMS_LOG(kInfo, kLog) << Tag() << target << " " << v201::ToString(request.operational_status)
                        << " (" << v201::ToString(response.status) << ")";
}

void Charger::OnUnlockConnector(const ocpp::Frame& frame) {
  v201::UnlockConnectorRequest request;
  if (!DecodeRequest(frame, &request)) return;
  v201::UnlockConnectorResponse response;
  if (request.evse_id != 1 || request.connector_id != 1) {
    response.status = v201::UnlockStatusEnum::kUnknownConnector;
  } else if (tx_) {
    // F05.FR.02: never unlock under an authorized transaction; stop it first.
    response.status = v201::UnlockStatusEnum::kOngoingAuthorizedTransaction;
  } else {
    response.status = v201::UnlockStatusEnum::kUnlocked;
  }
  CSMS_LOG(kInfo, kLog) << Tag() << "UnlockConnector " << request.evse_id << "/"
                        << request.connector_id << ": " << v201::ToString(response.status);
  Reply(frame.message_id, ocpp::Encode(response));
}

void Charger::OnTriggerMessage(const ocpp::Frame& frame) {
  v201::TriggerMessageRequest request;
  if (!DecodeRequest(frame, &request)) return;
  v201::TriggerMessageResponse response;
  auto answer = [&](v201::TriggerMessageStatusEnum status) {
    response.status = status;
    Reply(frame.message_id, ocpp::Encode(response));
  };
  using Status = v201::TriggerMessageStatusEnum;
  const auto& evse = request.evse;
  // EVSE 0 or none = the whole station (F06.FR.11); EVSE 1 with or without connector 1.
  if (evse && !(evse->id == 0 && !evse->connector_id) &&
      !(evse->id == 1 && evse->connector_id.value_or(1) == 1)) {
    response.status_info = Info("UnknownEvse", "this station has EVSE 1 with connector 1 only");
    return answer(Status::kRejected);
  }
  // F06.FR.04: the answer goes out before the triggered message, which Pump() sends later.
  // What is queued here is marked as triggered, which lets it through while Pending.
  const auto mark = [this](size_t from) {
    for (size_t i = from; i < queue_.size(); ++i) queue_[i].triggered = true;
  };
  switch (request.requested_message) {
    case v201::MessageTriggerEnum::kBootNotification: {
      if (boot_state_ == BootState::kAccepted) {  // F06.FR.17
        response.status_info = Info("AlreadyAccepted", "the boot was accepted already");
        return answer(Status::kRejected);
      }
      answer(Status::kAccepted);
      boot_retry_at_.reset();
      std::erase_if(queue_, [](const QueuedCall& c) { return c.action == "BootNotification"; });
      EnqueueBoot("Triggered");
      break;
    }
    case v201::MessageTriggerEnum::kHeartbeat: {
      answer(Status::kAccepted);
      const size_t from = queue_.size();
      Enqueue("Heartbeat", json::object());
      mark(from);
      break;
    }
    case v201::MessageTriggerEnum::kStatusNotification: {
      answer(Status::kAccepted);
      const size_t from = queue_.size();
      EnqueueStatus();  // the one connector, whichever of the above was asked
      mark(from);
      break;
    }
    case v201::MessageTriggerEnum::kMeterValues: {
      answer(Status::kAccepted);
      const size_t from = queue_.size();
      EnqueueMeterValues(evse && evse->id == 0 ? 0 : 1);
      mark(from);
      break;
    }
    case v201::MessageTriggerEnum::kTransactionEvent: {
      if (!tx_ || (evse && evse->id != 1)) {
        response.status_info = Info("NoTransaction", "no transaction is running there");
        return answer(Status::kRejected);
      }
      answer(Status::kAccepted);
      const size_t from = queue_.size();
      EnqueueTransactionEvent("Updated", "Trigger");  // F06.FR.07
      mark(from);
      break;
    }
    case v201::MessageTriggerEnum::kLogStatusNotification:
      if (log_upload_) {  // N01: the upload under way, with its requestId
        answer(Status::kAccepted);
        const size_t from = queue_.size();
        Enqueue("LogStatusNotification",
                {{"status", "Uploading"}, {"requestId", log_upload_->attempt.request_id}});
        mark(from);
        break;
      }
      [[fallthrough]];
    case v201::MessageTriggerEnum::kFirmwareStatusNotification: {
      // No firmware update or log upload runs: Idle, without requestId (which the schemas allow
      // for a triggered notification).
      answer(Status::kAccepted);
      const size_t from = queue_.size();
      Enqueue(request.requested_message == v201::MessageTriggerEnum::kFirmwareStatusNotification
                  ? "FirmwareStatusNotification"
                  : "LogStatusNotification",
              {{"status", "Idle"}});
      mark(from);
      break;
    }
    default:  // certificates and publishing firmware: not in this simulator
      answer(Status::kNotImplemented);
      return;
  }
  CSMS_LOG(kInfo, kLog) << Tag() << "TriggerMessage " << v201::ToString(request.requested_message);
}

void Charger::OnGetTransactionStatus(const ocpp::Frame& frame) {
  v201::GetTransactionStatusRequest request;
  if (!DecodeRequest(frame, &request)) return;
  const auto& id = request.transaction_id;
  auto belongs = [&](const QueuedCall& call) {
    if (!call.is_transaction_event) return false;
    if (!id) return true;
    const json* body = Find(call.payload, "transactionInfo");
    if (body == nullptr) body = Find(call.payload, "transactionData");
    return body != nullptr && body->value("transactionId", "") == *id;
  };
  v201::GetTransactionStatusResponse response;
  // Still to be sent, including the one waiting for its answer.
  response.messages_in_queue = std::any_of(queue_.begin(), queue_.end(), belongs) ||
                               (in_flight_ && belongs(in_flight_->call));
  if (id) response.ongoing_indicator = tx_ && tx_->id == *id;  // only with an id (DIGEST 5.12)
  Reply(frame.message_id, ocpp::Encode(response));
}

void Charger::OnClearCache(const ocpp::Frame& frame) {
  v201::ClearCacheRequest request;
  if (!DecodeRequest(frame, &request)) return;
  // The simulator keeps no authorization cache; clearing an empty one always succeeds.
  v201::ClearCacheResponse response;
  response.status = v201::ClearCacheStatusEnum::kAccepted;
  Reply(frame.message_id, ocpp::Encode(response));
}

void Charger::OnDataTransfer(const ocpp::Frame& frame) {
  v201::DataTransferRequest request;
  if (!DecodeRequest(frame, &request)) return;
  v201::DataTransferResponse response;
  if (request.vendor_id != kVendorId) {
    response.status = v201::DataTransferStatusEnum::kUnknownVendorId;
  } else if (request.message_id.value_or("") != kEchoMessageId) {
    response.status = v201::DataTransferStatusEnum::kUnknownMessageId;
  } else {
    response.status = v201::DataTransferStatusEnum::kAccepted;
    response.data = request.data;  // echoed as it came (absent stays absent)
  }
  Reply(frame.message_id, ocpp::Encode(response));
}

void Charger::OnUpdateFirmware(const ocpp::Frame& frame) {
  v201::UpdateFirmwareRequest request;
  if (!DecodeRequest(frame, &request)) return;
  v201::UpdateFirmwareResponse response;
  if (firmware_ || firmware_reboot_) {
    response.status = v201::UpdateFirmwareStatusEnum::kRejected;
    response.status_info = Info("UpdateInProgress", "a firmware update is running");
    return Reply(frame.message_id, ocpp::Encode(response));
  }
  response.status = v201::UpdateFirmwareStatusEnum::kAccepted;
  Reply(frame.message_id, ocpp::Encode(response));
  FirmwareUpdate update;
  update.request_id = request.request_id;
  update.new_version = VersionFromLocation(request.firmware.location);
  update.next_at = clock_.Now() + kFirmwareStep;
  update.steps = {"Downloading", "Downloaded"};
  if (request.firmware.location.find("bad-signature") != std::string::npos) {
    update.steps.push_back("InvalidSignature");
  } else {
    if (request.firmware.signature) update.steps.push_back("SignatureVerified");
    for (const char* s : {"Installing", "InstallRebooting", "reboot", "Installed"}) {
      update.steps.push_back(s);
    }
  }
  CSMS_LOG(kInfo, kLog) << Tag() << "UpdateFirmware " << request.request_id << ": "
                        << log::Sanitize(request.firmware.location, 200);
  firmware_ = std::move(update);
}

void Charger::StepFirmware(TimePoint now) {
  if (!firmware_ || !connected_ || boot_state_ != BootState::kAccepted) return;
  if (firmware_->next_at > now || rebooting_ || reboot_draining_) return;
  // The reboot waits until InstallRebooting is out: a reboot sends nothing but transaction events.
  if (firmware_->steps.front() == "reboot" &&
      (IsQueued("FirmwareStatusNotification") || in_flight_)) {
    firmware_->next_at = now + kFirmwareStep;
    return;
  }
  std::string step = std::move(firmware_->steps.front());
  firmware_->steps.pop_front();
  firmware_->next_at = now + kFirmwareStep;
  if (step == "reboot") {
    options_.firmware_version = firmware_->new_version;
    firmware_reboot_ = true;
    BeginReboot();
  } else {
    Enqueue("FirmwareStatusNotification", {{"status", step}, {"requestId", firmware_->request_id}});
  }
  if (firmware_->steps.empty()) firmware_.reset();
}

void Charger::OnGetLog(const ocpp::Frame& frame) {
  v201::GetLogRequest request;
  if (!DecodeRequest(frame, &request)) return;
  v201::GetLogResponse response;
  const std::string& location = request.log.remote_location;
  std::string error;
  if (!options_.has_log) {
    response.status = v201::LogStatusEnum::kRejected;
    response.status_info = Info("NoLogAvailable", "this station has no log to upload");
    return Reply(frame.message_id, ocpp::Encode(response));
  }
  if (!ParseHttpUrl(location, &error)) {
    response.status = v201::LogStatusEnum::kRejected;
    response.status_info = Info("InvalidURL", error);
    CSMS_LOG(kWarn, kLog) << Tag() << "GetLog " << request.request_id << " rejected: " << error
                          << " (" << log::Sanitize(location, 200) << ")";
    return Reply(frame.message_id, ocpp::Encode(response));
  }
  LogUpload upload;
  upload.attempt.request_id = request.request_id;
  upload.attempt.log_type = std::string(v201::ToString(request.log_type));
  upload.attempt.remote_location = location;
  upload.attempt.filename = LogFileName(options_.station_id, request.request_id);
  upload.attempt.max_attempts = 1 + std::clamp(request.retries.value_or(0), 0, kMaxLogRetries);
  upload.retry_wait =
      std::clamp(std::chrono::seconds(request.retry_interval.value_or(kMaxLogRetryWait.count())),
                 std::chrono::seconds(0), kMaxLogRetryWait);
  upload.attempt.attempt = 0;
  upload.ready = true;
  // N01.FR.12: a new request cancels the upload under way; its answer is ignored when it comes.
  if (log_upload_) {
    CSMS_LOG(kInfo, kLog) << Tag() << "GetLog " << request.request_id << " cancels the upload of "
                          << log_upload_->attempt.request_id;
  }
  response.status =
      log_upload_ ? v201::LogStatusEnum::kAcceptedCanceled : v201::LogStatusEnum::kAccepted;
  response.filename = upload.attempt.filename;
  Reply(frame.message_id, ocpp::Encode(response));
  Enqueue("LogStatusNotification", {{"status", "Uploading"}, {"requestId", request.request_id}});
  CSMS_LOG(kInfo, kLog) << Tag() << "GetLog " << request.request_id << " "
                        << upload.attempt.log_type << ": uploading " << upload.attempt.filename
                        << " to " << log::Sanitize(location, 200);
  log_upload_ = std::move(upload);
}

std::optional<LogUploadAttempt> Charger::TakeLogUpload() {
  if (!log_upload_ || !log_upload_->ready) return std::nullopt;
  log_upload_->ready = false;
  log_upload_->running = true;
  ++log_upload_->attempt.attempt;
  return log_upload_->attempt;
}

void Charger::OnLogUploadDone(int request_id, int http_status, std::string_view detail) {
  if (!log_upload_ || log_upload_->attempt.request_id != request_id || !log_upload_->running) {
    CSMS_LOG(kInfo, kLog) << Tag() << "log upload " << request_id
                          << " was canceled; its result is ignored";
    return;
  }
  LogUpload& upload = *log_upload_;
  upload.running = false;
  const std::string answer =
      http_status > 0 ? "HTTP " + std::to_string(http_status) : std::string("no answer");
  const std::string why = detail.empty() ? answer : answer + ": " + log::Sanitize(detail, 200);
  if (http_status >= 200 && http_status < 300) {
    CSMS_LOG(kInfo, kLog) << Tag() << "log " << upload.attempt.filename << " uploaded (" << why
                          << ")";
    Enqueue("LogStatusNotification", {{"status", "Uploaded"}, {"requestId", request_id}});
    log_upload_.reset();
  } else if (RetryableUploadStatus(http_status) &&
             upload.attempt.attempt < upload.attempt.max_attempts) {
    CSMS_LOG(kWarn, kLog) << Tag() << "log upload " << request_id << " attempt "
                          << upload.attempt.attempt << " of " << upload.attempt.max_attempts
                          << " failed (" << why << "); retry in " << upload.retry_wait.count()
                          << " s";
    if (upload.retry_wait.count() == 0) {
      upload.ready = true;
    } else {
      upload.next_attempt = clock_.Now() + upload.retry_wait;
    }
  } else {
    CSMS_LOG(kWarn, kLog) << Tag() << "log upload " << request_id << " failed after "
                          << upload.attempt.attempt << " attempt(s) (" << why << ")";
    Enqueue("LogStatusNotification", {{"status", "UploadFailure"}, {"requestId", request_id}});
    log_upload_.reset();
  }
  Pump();
}

void Charger::StepLogUpload(TimePoint now) {
  if (!log_upload_ || !log_upload_->next_attempt || *log_upload_->next_attempt > now) return;
  log_upload_->next_attempt.reset();
  log_upload_->ready = true;
}

void Charger::OnCostUpdated(const ocpp::Frame& frame) {
  CSMS_LOG(kInfo, kLog) << Tag() << "running cost " << frame.payload.value("totalCost", json())
                        << " for transaction " << frame.payload.value("transactionId", "");
  Reply(frame.message_id, json::object());
}

}  // namespace csms::sim
