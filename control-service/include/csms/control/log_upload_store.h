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
#include "csms/control/v1/control.pb.h"
#include "csms/control/v1/log_uploads.pb.h"

namespace csms::control {

// ---- An upload's state machine (pure). `state` is the last thing heard (Requested, the GetLog
// answer, then each LogStatusNotification status); `outcome` stays in_progress until a final
// one, which is sticky: uploaded, failed, rejected, canceled, expired.
struct LogUploadState {
  std::string state = "Requested";
  std::string outcome = "in_progress";
  bool operator==(const LogUploadState&) const = default;
};

// The charger's answer to GetLog: Accepted / AcceptedCanceled keep the upload in progress (a
// status that already arrived is not overwritten); Rejected ends it `rejected`.
LogUploadState OnLogAnswer(const LogUploadState& upload, std::string_view status);
// A LogStatusNotification with the upload's requestId: Uploaded ends it `uploaded`;
// UploadFailure, BadMessage, NotSupportedOperation and PermissionDenied `failed`;
// AcceptedCanceled (a newer GetLog replaced it) `canceled`; Uploading and Idle move the state.
LogUploadState OnLogStatus(const LogUploadState& upload, std::string_view status);

// 32 random bytes as 64 hex digits: the credential in an upload URL.
std::string NewUploadToken();

// Chunks the gateway sends and ReadLogUpload answers are at most this big.
inline constexpr size_t kLogUploadChunkBytes = 1024 * 1024;

struct NewLogUpload {
  std::string charger_id, log_type, token, requested_by;
  std::chrono::seconds token_ttl{24 * 3600};
  std::optional<TimePoint> oldest, latest;
};

struct StoredChunk {
  int64_t upload_id = 0;
  int64_t size_bytes = 0;  // after the last chunk
  std::string sha256_hex;  // after the last chunk
};

struct LogChunk {
  std::string data;
  bool done = false;
};

// Log uploads (log_uploads, log_upload_chunks, gateway_public_urls; migration 0011).
class LogUploadStore {
 public:
  explicit LogUploadStore(pg::Pool& pool) : pool_(pool) {}

  // Writes the upload (state Requested) with a fresh requestId and the token's hash.
  v1::LogUpload Create(const NewLogUpload& upload);
  // Records the charger's answer (OnLogAnswer) and its file name. AcceptedCanceled also ends the
  // charger's older uploads in progress `canceled`.
  v1::LogUpload Answered(const std::string& charger_id, int32_t request_id, std::string_view status,
                         const std::string& filename);
  // The CALL got no usable answer: the upload is `failed` unless the charger already reported.
  void CallFailed(const std::string& charger_id, int32_t request_id, const std::string& detail);

  struct Page {
    std::vector<v1::LogUpload> uploads;
    std::string next_cursor;
  };
  // Newest first; throws std::invalid_argument for a bad cursor.
  Page List(const std::string& charger_id, int limit, const std::string& cursor);
  std::optional<v1::LogUpload> Get(const std::string& charger_id, int64_t upload_id);
  // One chunk of the stored content; nullopt when nothing is stored (yet).
  std::optional<LogChunk> ReadChunk(int64_t upload_id, int32_t chunk);

  // The upload a token opens: known, not expired, not ended without bytes (rejected,
  // canceled, expired). nullopt otherwise.
  std::optional<v1::OpenLogUploadResponse> Open(const std::string& token);
  // Stores one chunk of an attempt; with `last`, checks that chunks 0..seq are all there and
  // add up to `size_bytes`, then makes the attempt the content (dropping any other attempt).
  // nullopt when the token opens nothing; throws std::invalid_argument when the chunks do not
  // add up.
  std::optional<StoredChunk> StoreChunk(const v1::StoreLogUploadChunkRequest& chunk);

  // The public base URL of the gateway at `gateway_address` ("" when unknown).
  std::string GatewayPublicUrl(const std::string& gateway_address);
  void RememberGatewayPublicUrl(const std::string& gateway_address, const std::string& url);

  // Housekeeping: tokens past their expiry with no bytes end `expired`; chunks of attempts that
  // never finished go after an hour; uploads older than `retention` go (zero keeps them).
  void Maintain(std::chrono::hours retention);

  // In the batch's transaction (registry_batch.cc): the LogStatusNotifications among `events`
  // move the uploads they name by requestId, in order.
  static void ApplyStatuses(pqxx::work& txn, const std::vector<const v1::ChargerEvent*>& events);

 private:
  pg::Pool& pool_;
};

}  // namespace csms::control
