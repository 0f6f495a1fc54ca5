#include "csms/gateway/log_upload_receiver.h"

#include <openssl/rand.h>

#include <nlohmann/json.hpp>

#include "csms/common/api_auth.h"
#include "csms/common/grpc_async.h"
#include "csms/common/log.h"

namespace csms::gateway {
namespace {

namespace v1 = control::v1;
constexpr size_t kChunkBytes = 1024 * 1024;  // control's limit per chunk
constexpr std::chrono::milliseconds kCallTimeout{15000};

HttpResponse FromStatus(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::NOT_FOUND:
      return RestApi::Error(404, "not_found",
                            "no log upload waits at this URL (unknown or expired token)");
    case grpc::StatusCode::INVALID_ARGUMENT:
      return RestApi::Error(400, "bad_request", status.error_message());
    default:
      CSMS_LOG(kWarn, "gateway") << "log upload: control answered "
                                 << static_cast<int>(status.error_code()) << " "
                                 << log::Sanitize(status.error_message(), 200);
      return RestApi::Error(503, "unavailable", "the upload could not be stored now; retry later");
  }
}

// Tells this upload's chunks apart from those of another try of the same file.
std::string NewAttemptId() {
  unsigned char bytes[12];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return std::to_string(std::rand());
  return auth::ToHex(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

}  // namespace

LogUploadReceiver::LogUploadReceiver(std::shared_ptr<grpc::Channel> control, Options options)
    : control_(v1::LogUploadService::NewStub(control)), options_(options) {}

bool LogUploadReceiver::TryBegin() {
  if (running_.fetch_add(1) >= options_.max_concurrent) {
    running_.fetch_sub(1);
    return false;
  }
  return true;
}

void LogUploadReceiver::End() { running_.fetch_sub(1); }

void LogUploadReceiver::Open(const std::string& token,
                             std::function<void(std::optional<HttpResponse>)> done) {
  v1::OpenLogUploadRequest request;
  request.set_token(token);
  CallUnaryAsync<v1::OpenLogUploadRequest, v1::OpenLogUploadResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->OpenLogUpload(ctx, req, resp, std::move(cb));
      },
      std::move(request), kCallTimeout,
      [done = std::move(done)](const grpc::Status& status, const v1::OpenLogUploadResponse&) {
        if (status.ok()) return done(std::nullopt);
        done(FromStatus(status));
      });
}

void LogUploadReceiver::Store(std::shared_ptr<const Upload> upload, Respond respond) {
  StoreFrom(std::move(upload), NewAttemptId(), 0, 0, std::move(respond));
}

void LogUploadReceiver::StoreFrom(std::shared_ptr<const Upload> upload, std::string attempt,
                                  size_t offset, int32_t seq, Respond respond) {
  const size_t size = std::min(kChunkBytes, upload->data.size() - offset);
  const bool last = offset + size == upload->data.size();
  v1::StoreLogUploadChunkRequest request;
  request.set_token(upload->token);
  request.set_attempt(attempt);
  request.set_seq(seq);
  request.set_data(upload->data.substr(offset, size));
  request.set_last(last);
  if (last) {
    request.set_filename(upload->filename);
    request.set_content_type(upload->content_type);
    request.set_client_address(upload->client_address);
    request.set_size_bytes(static_cast<int64_t>(upload->data.size()));
  }
  CallUnaryAsync<v1::StoreLogUploadChunkRequest, v1::StoreLogUploadChunkResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->StoreLogUploadChunk(ctx, req, resp, std::move(cb));
      },
      std::move(request), kCallTimeout,
      [this, upload, attempt, next = offset + size, seq, last, respond = std::move(respond)](
          const grpc::Status& status, const v1::StoreLogUploadChunkResponse& response) mutable {
        if (!status.ok()) return respond(FromStatus(status));
        if (!last) {
          return StoreFrom(std::move(upload), std::move(attempt), next, seq + 1,
                           std::move(respond));
        }
        respond(HttpResponse{201,
                             nlohmann::json{{"status", "stored"},
                                            {"upload_id", response.upload_id()},
                                            {"size_bytes", response.size_bytes()},
                                            {"sha256", response.sha256()}}
                                 .dump(),
                             "application/json"});
      });
}

}  // namespace csms::gateway
