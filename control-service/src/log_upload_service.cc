#include "csms/control/log_upload_service.h"

#include <algorithm>
#include <cctype>

#include "csms/common/log.h"
#include "csms/control/operator_call.h"
#include "csms/control/rpc_status.h"
#include "csms/ocpp/v201/get_log.h"

namespace csms::control {
namespace {

namespace v201 = ocpp::v201;
using grpc::StatusCode;
constexpr const char* kComponent = "control";
constexpr int kDefaultPageSize = 50, kMaxPageSize = 500;
constexpr size_t kMaxAttemptLength = 64, kMaxFilenameLength = 255, kMaxContentTypeLength = 200;
// A 32 MiB upload in 1 MiB chunks; the gateway's cap is the real limit, this one bounds a
// confused gateway.
constexpr int32_t kMaxChunks = 4096;

[[noreturn]] void NoUpload(const std::string& charger_id, int64_t upload_id) {
  throw RpcError(
      CommandError(StatusCode::NOT_FOUND, "not_found",
                   "charger " + charger_id + " has no log upload " + std::to_string(upload_id)));
}

[[noreturn]] void UnknownToken() {
  throw RpcError(CommandError(StatusCode::NOT_FOUND, "not_found",
                              "no log upload waits at this URL (unknown or expired token)"));
}

// GetLog's remoteLocation: base + "/log-uploads/" + token (the base without a trailing '/').
std::string UploadUrl(std::string base, const std::string& token) {
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/log-uploads/" + token;
}

}  // namespace

void LogUploadServiceImpl::RequireGateway(const grpc::CallbackServerContext& context,
                                          const char* method) {
  // Open mode has no service keys: everyone is an operator, and the gateway too.
  if (auth_ == nullptr || !auth_->enabled()) return;
  AuthorizeCaller(auth_, context, auth::Role::kService, method);
}

std::string LogUploadServiceImpl::HttpUploadWarning(const std::string& charger_id) {
  VariableFilter filter;
  filter.charger_id = charger_id;
  filter.component = "OCPPCommCtrlr";
  filter.variable = "FileTransferProtocols";
  filter.attribute_type = "Actual";
  auto page = device_model_.List(filter, 1, "");
  if (page.variables.empty() || page.variables[0].attributes().empty()) return "";
  const auto& attribute = page.variables[0].attributes(0);
  if (!attribute.has_value()) return "";
  std::string protocols = attribute.value();
  std::transform(protocols.begin(), protocols.end(), protocols.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  if (protocols.find("HTTP") != std::string::npos) return "";
  return "the charger's OCPPCommCtrlr.FileTransferProtocols is '" + attribute.value() +
         "' (no HTTP or HTTPS): it may not be able to upload to the CSMS; the request was sent "
         "anyway";
}

grpc::ServerUnaryReactor* LogUploadServiceImpl::RequestLogUpload(
    grpc::CallbackServerContext* context, const v1::RequestLogUploadRequest* request,
    v1::RequestLogUploadResponse* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "RequestLogUpload", [&] {
    const std::string log_type =
        request->log_type().empty() ? "DiagnosticsLog" : request->log_type();
    if (log_type != "DiagnosticsLog" && log_type != "SecurityLog") {
      BadRequest("log_type must be DiagnosticsLog or SecurityLog");
    }
    // A security log holds the charger's security events: as sensitive as the admin's tools.
    const auth::Principal who = AuthorizeCaller(
        auth_, *context, log_type == "SecurityLog" ? auth::Role::kAdmin : auth::Role::kOperate,
        "RequestLogUpload");
    const ChargerRecord charger = FindCharger(access_, request->charger_id());
    if (request->has_retries() && request->retries() < 0) BadRequest("retries must be >= 0");
    if (request->has_retry_interval_s() && request->retry_interval_s() < 0) {
      BadRequest("retry_interval_s must be >= 0");
    }
    std::optional<TimePoint> oldest, latest;
    if (request->has_oldest()) oldest = FromProto(request->oldest());
    if (request->has_latest()) latest = FromProto(request->latest());
    if (oldest && latest && *oldest > *latest) BadRequest("oldest is after latest");
    RequireOnline(access_, charger);
    const std::string base = store_.GatewayPublicUrl(charger.gateway_address);
    if (base.empty()) {
      throw RpcError(CommandError(
          StatusCode::FAILED_PRECONDITION, "upload_url_unconfigured",
          "the gateway holding charger " + charger.charger_id +
              " has no --public-base-url, so the charger has nowhere to upload its log"));
    }

    NewLogUpload upload;
    upload.charger_id = charger.charger_id;
    upload.log_type = log_type;
    upload.token = NewUploadToken();
    upload.requested_by = who.key_id;
    upload.token_ttl = options_.token_ttl;
    upload.oldest = oldest;
    upload.latest = latest;
    const v1::LogUpload created = store_.Create(upload);
    const int32_t request_id = created.request_id();

    v201::GetLogRequest call;
    call.request_id = request_id;
    v201::FromString(log_type, call.log_type);
    call.log.remote_location = UploadUrl(base, upload.token);
    if (oldest) call.log.oldest_timestamp = FormatRfc3339(*oldest);
    if (latest) call.log.latest_timestamp = FormatRfc3339(*latest);
    if (request->has_retries()) call.retries = request->retries();
    if (request->has_retry_interval_s()) call.retry_interval = request->retry_interval_s();
    response->set_warning(HttpUploadWarning(charger.charger_id));

    sender_.Send(
        charger, call, who.key_id, CallBudget(*context, options_.call_timeout),
        [this, context, reactor, response, charger_id = charger.charger_id,
         request_id](TypedReply<v201::GetLogResponse> reply) {
          Guard(reactor, "RequestLogUpload", [&] {
            if (!reply.response) {
              store_.CallFailed(
                  charger_id, request_id,
                  "GetLog got no usable answer: " + std::string(OutcomeName(reply.raw.outcome)) +
                      " " + reply.raw.error_code + " " + reply.raw.description);
              if (reply.raw.outcome == CommandOutcome::kCallError) {
                context->AddTrailingMetadata("ocpp-error-code", reply.raw.error_code);
              }
              return reactor->Finish(CommandFailure("GetLog", reply.raw));
            }
            const auto& answer = *reply.response;
            const std::string status(v201::ToString(answer.status));
            *response->mutable_upload() =
                store_.Answered(charger_id, request_id, status, answer.filename.value_or(""));
            response->set_status(status);
            response->set_filename(answer.filename.value_or(""));
            if (answer.status_info) {
              response->set_reason_code(answer.status_info->reason_code);
              response->set_additional_info(answer.status_info->additional_info.value_or(""));
            }
            reactor->Finish(grpc::Status::OK);
          });
        });
    CSMS_LOG(kInfo, kComponent) << "charger " << log::Sanitize(charger.charger_id) << ": "
                                << log_type << " upload " << request_id << " requested by "
                                << log::Sanitize(who.key_id, 80);
  });
  return reactor;
}

grpc::ServerUnaryReactor* LogUploadServiceImpl::ListLogUploads(
    grpc::CallbackServerContext* context, const v1::ListLogUploadsRequest* request,
    v1::ListLogUploadsResponse* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "ListLogUploads", [&] {
    AuthorizeCaller(auth_, *context, auth::Role::kRead, "ListLogUploads");
    const ChargerRecord charger = FindCharger(access_, request->charger_id());
    const int limit =
        request->limit() <= 0 ? kDefaultPageSize : std::min(request->limit(), kMaxPageSize);
    LogUploadStore::Page page;
    try {
      page = store_.List(charger.charger_id, limit, request->cursor());
    } catch (const std::invalid_argument&) {
      BadRequest("cursor is not one this list gave");
    }
    for (auto& upload : page.uploads) *response->add_uploads() = std::move(upload);
    response->set_next_cursor(page.next_cursor);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

v1::LogUpload LogUploadServiceImpl::ReadableUpload(const grpc::CallbackServerContext& context,
                                                   const std::string& charger_id, int64_t upload_id,
                                                   const char* method) {
  AuthorizeCaller(auth_, context, auth::Role::kRead, method);
  const ChargerRecord charger = FindCharger(access_, charger_id);
  auto upload = store_.Get(charger.charger_id, upload_id);
  if (!upload) NoUpload(charger.charger_id, upload_id);
  return *upload;
}

grpc::ServerUnaryReactor* LogUploadServiceImpl::GetLogUpload(grpc::CallbackServerContext* context,
                                                             const v1::GetLogUploadRequest* request,
                                                             v1::LogUpload* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "GetLogUpload", [&] {
    *response =
        ReadableUpload(*context, request->charger_id(), request->upload_id(), "GetLogUpload");
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* LogUploadServiceImpl::ReadLogUpload(
    grpc::CallbackServerContext* context, const v1::ReadLogUploadRequest* request,
    v1::ReadLogUploadResponse* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "ReadLogUpload", [&] {
    const v1::LogUpload upload =
        ReadableUpload(*context, request->charger_id(), request->upload_id(), "ReadLogUpload");
    if (upload.log_type() == "SecurityLog") {
      AuthorizeCaller(auth_, *context, auth::Role::kAdmin, "ReadLogUpload");
    }
    if (request->chunk() < 0) BadRequest("chunk must be >= 0");
    auto chunk = store_.ReadChunk(upload.upload_id(), request->chunk());
    if (!chunk) {
      throw RpcError(CommandError(StatusCode::FAILED_PRECONDITION, "not_uploaded",
                                  request->chunk() == 0
                                      ? "log upload " + std::to_string(upload.upload_id()) +
                                            " has no content yet (state " + upload.state() + ")"
                                      : "log upload " + std::to_string(upload.upload_id()) +
                                            " has no chunk " + std::to_string(request->chunk()) +
                                            " (its content was replaced?)"));
    }
    response->set_data(std::move(chunk->data));
    response->set_done(chunk->done);
    response->set_next_chunk(chunk->done ? 0 : request->chunk() + 1);
    if (request->chunk() == 0) *response->mutable_upload() = upload;
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* LogUploadServiceImpl::OpenLogUpload(
    grpc::CallbackServerContext* context, const v1::OpenLogUploadRequest* request,
    v1::OpenLogUploadResponse* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "OpenLogUpload", [&] {
    RequireGateway(*context, "OpenLogUpload");
    auto opened = store_.Open(request->token());
    if (!opened) UnknownToken();
    *response = std::move(*opened);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* LogUploadServiceImpl::StoreLogUploadChunk(
    grpc::CallbackServerContext* context, const v1::StoreLogUploadChunkRequest* request,
    v1::StoreLogUploadChunkResponse* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "StoreLogUploadChunk", [&] {
    RequireGateway(*context, "StoreLogUploadChunk");
    if (request->attempt().empty() || request->attempt().size() > kMaxAttemptLength) {
      BadRequest("attempt must be 1 to 64 characters");
    }
    if (request->seq() < 0 || request->seq() >= kMaxChunks) BadRequest("seq out of range");
    if (request->data().size() > kLogUploadChunkBytes) BadRequest("chunk over 1 MiB");
    if (request->filename().size() > kMaxFilenameLength) BadRequest("filename too long");
    if (request->content_type().size() > kMaxContentTypeLength) {
      BadRequest("content_type too long");
    }
    std::optional<StoredChunk> stored;
    try {
      stored = store_.StoreChunk(*request);
    } catch (const std::invalid_argument& e) {
      BadRequest(e.what());
    }
    if (!stored) UnknownToken();
    response->set_upload_id(stored->upload_id);
    response->set_size_bytes(stored->size_bytes);
    response->set_sha256(stored->sha256_hex);
    if (request->last()) {
      CSMS_LOG(kInfo, kComponent) << "log upload " << stored->upload_id << ": "
                                  << stored->size_bytes << " bytes stored from "
                                  << log::Sanitize(request->client_address(), 60);
    }
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

}  // namespace csms::control
