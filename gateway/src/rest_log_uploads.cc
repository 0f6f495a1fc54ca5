#include "csms/gateway/rest_log_uploads.h"

#include <google/protobuf/util/json_util.h>

#include <charconv>

#include "csms/common/grpc_async.h"
#include "csms/common/time_util.h"
#include "csms/gateway/rest_commands.h"
#include "csms/gateway/rest_json.h"
#include "csms/gateway/rest_request.h"

namespace csms::gateway {
namespace {

using nlohmann::json;
namespace v1 = control::v1;

// Longer than control's own command timeout (30 s), so control reports the timeout itself.
constexpr std::chrono::milliseconds kCommandTimeout{35000};
constexpr std::chrono::milliseconds kQueryTimeout{5000};
// A download is collected whole before it is answered: a bound against a runaway loop (the
// upload cap is far below it).
constexpr size_t kMaxDownloadBytes = 256 * 1024 * 1024;

using rest::Json;

using rest::Time;

using rest::TextOrNull;

std::optional<int64_t> ParseId(const std::string& text) {
  int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id <= 0) return std::nullopt;
  return id;
}

// A file name safe inside Content-Disposition's quotes.
std::string SafeFilename(const std::string& name) {
  std::string out;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u >= 0x7f || c == '"' || c == '\\' || c == '/') ? '_' : c;
  }
  return out.substr(0, 200);
}

}  // namespace

json LogUploadJson(const v1::LogUpload& u) {
  return json{
      {"upload_id", u.upload_id()},
      {"charger_id", u.charger_id()},
      {"request_id", u.request_id()},
      {"log_type", u.log_type()},
      {"state", u.state()},
      {"outcome", u.outcome()},
      {"filename", TextOrNull(u.filename())},
      {"received_filename", TextOrNull(u.received_filename())},
      {"content_type", TextOrNull(u.content_type())},
      {"size_bytes", u.size_bytes()},
      {"sha256", TextOrNull(u.sha256())},
      {"received_at", Time(u.has_received_at(), u.received_at())},
      {"client_address", TextOrNull(u.client_address())},
      {"requested_by", u.requested_by()},
      {"created_at", Time(u.has_created_at(), u.created_at())},
      {"updated_at", Time(u.has_updated_at(), u.updated_at())},
      {"expires_at", Time(u.has_expires_at(), u.expires_at())},
      {"oldest", Time(u.has_oldest(), u.oldest())},
      {"latest", Time(u.has_latest(), u.latest())},
      {"detail", u.detail()},
      {"download_path", u.sha256().empty()
                            ? json(nullptr)
                            : json("/chargers/" + PercentEncodeSegment(u.charger_id()) +
                                   "/log-uploads/" + std::to_string(u.upload_id()) + "/content")},
  };
}

RestLogUploads::RestLogUploads(std::shared_ptr<grpc::Channel> control)
    : control_(v1::LogUploadService::NewStub(control)) {}

void RestLogUploads::Request(const HttpRequest& http, const std::string& charger_id,
                             Respond respond) {
  v1::RequestLogUploadRequest request;
  if (!http.body.empty()) {
    auto parsed = google::protobuf::util::JsonStringToMessage(http.body, &request, {});
    if (!parsed.ok()) {
      return respond(RestApi::Error(
          400, "bad_request",
          "the body does not fit a log upload request: " + std::string(parsed.message())));
    }
  }
  request.set_charger_id(charger_id);
  CallUnaryAsync<v1::RequestLogUploadRequest, v1::RequestLogUploadResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->RequestLogUpload(ctx, req, resp, std::move(cb));
      },
      std::move(request), kCommandTimeout,
      [respond = std::move(respond)](const grpc::Status& status,
                                     const v1::RequestLogUploadResponse& response) {
        if (!status.ok()) return respond(RestCommands::FromCommandStatus(status));
        json out{{"status", response.status()},
                 {"filename", TextOrNull(response.filename())},
                 {"upload", LogUploadJson(response.upload())}};
        if (!response.reason_code().empty()) out["reason_code"] = response.reason_code();
        if (!response.additional_info().empty()) {
          out["additional_info"] = response.additional_info();
        }
        if (!response.warning().empty()) out["warning"] = response.warning();
        respond(Json(200, json{{"status", "success"}, {"response", std::move(out)}}));
      },
      RestCommands::OnBehalfOf(http));
}

void RestLogUploads::List(const HttpRequest& http, const std::string& charger_id,
                          const std::string& query, Respond respond) {
  auto params = ParseQuery(query);
  v1::ListLogUploadsRequest request;
  request.set_charger_id(charger_id);
  auto limit = ParseLimit(params["limit"]);
  if (auto* error = std::get_if<RestError>(&limit)) {
    return respond(RestApi::Error(error->status, error->code, error->message));
  }
  request.set_limit(std::get<int>(limit));
  request.set_cursor(params["cursor"]);
  CallUnaryAsync<v1::ListLogUploadsRequest, v1::ListLogUploadsResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->ListLogUploads(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout,
      [respond = std::move(respond), charger_id](const grpc::Status& status,
                                                 const v1::ListLogUploadsResponse& response) {
        if (!status.ok()) return respond(RestCommands::FromCommandStatus(status));
        json uploads = json::array();
        for (const auto& u : response.uploads()) uploads.push_back(LogUploadJson(u));
        respond(Json(200, json{{"charger_id", charger_id},
                               {"uploads", std::move(uploads)},
                               {"next_cursor", TextOrNull(response.next_cursor())}}));
      },
      RestCommands::OnBehalfOf(http));
}

void RestLogUploads::Get(const HttpRequest& http, const std::string& charger_id, int64_t upload_id,
                         Respond respond) {
  v1::GetLogUploadRequest request;
  request.set_charger_id(charger_id);
  request.set_upload_id(upload_id);
  CallUnaryAsync<v1::GetLogUploadRequest, v1::LogUpload>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->GetLogUpload(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout,
      [respond = std::move(respond)](const grpc::Status& status, const v1::LogUpload& upload) {
        if (!status.ok()) return respond(RestCommands::FromCommandStatus(status));
        respond(Json(200, json{{"upload", LogUploadJson(upload)}}));
      },
      RestCommands::OnBehalfOf(http));
}

void RestLogUploads::Download(const HttpRequest& http, const std::string& charger_id,
                              int64_t upload_id, Respond respond) {
  // Chunk after chunk into one body; the first chunk brings the upload's record.
  struct State {
    std::shared_ptr<v1::LogUploadService::Stub> control;
    std::vector<std::pair<std::string, std::string>> metadata;
    std::string charger_id;
    int64_t upload_id = 0;
    v1::LogUpload upload;
    std::string body;
    Respond respond;
  };
  auto state = std::make_shared<State>();
  state->control = control_;
  state->metadata = RestCommands::OnBehalfOf(http);
  state->charger_id = charger_id;
  state->upload_id = upload_id;
  state->respond = std::move(respond);
  auto next = std::make_shared<std::function<void(int32_t)>>();
  *next = [state, weak = std::weak_ptr<std::function<void(int32_t)>>(next)](int32_t chunk) {
    v1::ReadLogUploadRequest request;
    request.set_charger_id(state->charger_id);
    request.set_upload_id(state->upload_id);
    request.set_chunk(chunk);
    CallUnaryAsync<v1::ReadLogUploadRequest, v1::ReadLogUploadResponse>(
        [state](auto* ctx, auto* req, auto* resp, auto cb) {
          state->control->async()->ReadLogUpload(ctx, req, resp, std::move(cb));
        },
        std::move(request), kQueryTimeout,
        [state, self = weak.lock()](const grpc::Status& status,
                                    const v1::ReadLogUploadResponse& response) {
          if (!status.ok()) return state->respond(RestCommands::FromCommandStatus(status));
          if (response.has_upload()) state->upload = response.upload();
          state->body += response.data();
          if (state->body.size() > kMaxDownloadBytes) {
            return state->respond(RestApi::Error(500, "internal", "download too large"));
          }
          if (!response.done() && self) return (*self)(response.next_chunk());
          const auto& u = state->upload;
          std::string name =
              SafeFilename(!u.received_filename().empty() ? u.received_filename()
                           : !u.filename().empty()        ? u.filename()
                                                          : "log-" + std::to_string(u.upload_id()));
          HttpResponse out{200, std::move(state->body), "application/octet-stream"};
          out.cache_control = "no-store";
          out.headers = {{"Content-Disposition", "attachment; filename=\"" + name + "\""},
                         {"ETag", "\"" + u.sha256() + "\""}};
          state->respond(std::move(out));
        },
        state->metadata);
  };
  // `next` lives as long as a call holds it (each completion keeps the strong reference).
  auto start = next;
  (*start)(0);
}

bool RestLogUploads::Handle(const HttpRequest& http, const std::vector<std::string>& parts,
                            const std::string& query, Respond& respond) {
  if (parts.size() < 3 || parts.size() > 5 || parts[0] != "chargers" || parts[2] != "log-uploads") {
    return false;
  }
  const std::string& id = parts[1];
  const std::string& method = http.method;
  auto only = [&](const char* allowed) {
    if (method == allowed) return true;
    respond(RestApi::Error(405, "method_not_allowed",
                           method + " is not allowed here (use " + allowed + ")"));
    return false;
  };
  if (parts.size() == 3) {
    if (method == "POST") {
      Request(http, id, std::move(respond));
    } else if (only("GET")) {
      List(http, id, query, std::move(respond));
    }
    return true;
  }
  if (parts.size() == 5 && parts[4] != "content") return false;
  if (!only("GET")) return true;
  auto upload_id = ParseId(parts[3]);
  if (!upload_id) {
    respond(RestApi::Error(404, "not_found", "charger " + id + " has no log upload " + parts[3]));
  } else if (parts.size() == 4) {
    Get(http, id, *upload_id, std::move(respond));
  } else {
    Download(http, id, *upload_id, std::move(respond));
  }
  return true;
}

}  // namespace csms::gateway
