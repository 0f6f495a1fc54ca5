#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

#include "csms/common/pg.h"
#include "csms/common/time_util.h"
#include "csms/control/alert_rules.h"
#include "csms/control/registry_store.h"
#include "csms/control/v1/control.pb.h"

namespace csms::control {

// ---- The job's state machine (pure). `state` is the last thing heard (Requested, the answer,
// then each FirmwareStatusNotification status); `outcome` in_progress until a final one, which
// is sticky: installed, failed, rejected, canceled.
struct FirmwareJobState {
  std::string state = "Requested";
  std::string outcome = "in_progress";
  bool operator==(const FirmwareJobState&) const = default;
};

// The charger's answer to UpdateFirmware: Accepted / AcceptedCanceled keep the job in progress
// (a status that already arrived is not overwritten); Rejected, InvalidCertificate and
// RevokedCertificate end it `rejected`.
FirmwareJobState OnFirmwareAnswer(const FirmwareJobState& job, std::string_view status);
// A FirmwareStatusNotification with the job's requestId: Installed ends it `installed`;
// DownloadFailed, InvalidSignature, InstallationFailed, InstallVerificationFailed `failed`;
// anything else (Downloading, Downloaded, SignatureVerified, Installing, InstallRebooting,
// InstallScheduled, DownloadScheduled, DownloadPaused, Idle, ...) moves only the state.
FirmwareJobState OnFirmwareStatus(const FirmwareJobState& job, std::string_view status);

// An in-progress job silent for this long no longer blocks a new UpdateFirmware: the new one
// closes it `failed` ("timed out") and starts. A charger that lost the job (rebooted without
// telling, an old firmware that never reports) must not block updates for good.
inline constexpr std::chrono::hours kFirmwareJobStaleAfter{1};

struct NewFirmwareJob {
  std::string charger_id, location;
  TimePoint retrieve_at;
  std::optional<TimePoint> install_at;
  std::string signing_certificate, signature;
  std::optional<int32_t> retries, retry_interval_s;
  std::string firmware_version_before, requested_by;
};

struct FirmwareBoot {
  const BootRecord* boot;
  std::string status;  // the decided registration status
};

// Firmware update jobs (firmware_updates, migration 0010).
class FirmwareJobStore {
 public:
  explicit FirmwareJobStore(pg::Pool& pool) : pool_(pool) {}

  // Writes the job (state Requested) with a fresh requestId; nullopt when the charger has a job
  // in progress that is not stale (kFirmwareJobStaleAfter; a stale one is closed `failed`).
  std::optional<v1::FirmwareJob> Create(const NewFirmwareJob& job);
  // Records the charger's answer (OnFirmwareAnswer); the job after it.
  v1::FirmwareJob Answered(const std::string& charger_id, int32_t request_id,
                           std::string_view status, std::string_view detail);
  // The CALL got no usable answer (offline, timeout, CALLERROR): the job is `failed` unless a
  // status notification already showed the charger took it.
  void CallFailed(const std::string& charger_id, int32_t request_id, const std::string& detail);
  // The charger's jobs, newest first.
  std::vector<v1::FirmwareJob> List(const std::string& charger_id, int limit);

  // In the batch's transaction (registry_batch.cc): the FirmwareStatusNotifications among
  // `events` move the jobs they name by requestId, in order. Returns the firmware_failed alerts
  // of the jobs that failed now.
  static std::vector<AlertDraft> ApplyStatuses(pqxx::work& txn,
                                               const std::vector<const v1::ChargerEvent*>& events);
  // Accepted boots set firmware_version_after of the charger's job when it is installing (or
  // the boot says FirmwareUpdate), or installed within the hour without a version yet; only the
  // charger's newest job.
  static void ApplyBoots(pqxx::work& txn, const std::vector<FirmwareBoot>& boots);

 private:
  pg::Pool& pool_;
};

}  // namespace csms::control
