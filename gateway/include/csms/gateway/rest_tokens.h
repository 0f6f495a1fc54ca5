#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "csms/control/v1/tokens.grpc.pb.h"
#include "csms/gateway/rest_api.h"
#include "csms/gateway/rest_request.h"

namespace csms::gateway {

// Id tokens (issue 14), one to one onto control's TokenService:
//   PUT    /tokens/{type}/{id_token}   the whole token (201 created, 200 replaced)
//   GET    /tokens/{type}/{id_token}   {"token":{...}} (id_token in any case)
//   GET    /tokens?account_id=&status=&limit=&cursor=   {"tokens":[...],"next_cursor"}
//   DELETE /tokens/{type}/{id_token}   200 {"status":"success","token":{...the deleted one}}
//   GET    /token-audit?type=&id_token=&limit=&cursor=  {"entries":[...],"next_cursor"}
// POST /tokens:import is streamed by the HTTP server (http_server.h), batch by batch through
// TokenImport and ImportBatch below.
nlohmann::json TokenJson(const control::v1::Token& token);

// The PUT body: {"status","expires_at","group":{"id_token","type"},"account_id",
// "max_concurrent","stations","language","personal_message"}, every field optional (null is
// absent), unknown fields refused. Values are checked by control.
std::variant<control::v1::PutTokenRequest, RestError> ParseTokenBody(const std::string& body);

// The import's format: ?format=csv|jsonl, else the Content-Type (text/csv; application/x-ndjson,
// application/jsonl, application/x-jsonlines, application/json-seq is not taken).
std::variant<std::string, RestError> TokenImportFormat(const std::string& content_type,
                                                       const std::string& query);

// The streamed import of POST /tokens:import, without sockets: the HTTP server feeds it the body
// as it arrives; it cuts complete lines into batches of at most 1,000 lines / 1 MiB, each sent
// to control (ImportTokens) before more of the body is read, and totals the answers. Lines are
// numbered from 1 (a CSV's header is line 1). A line over 4 KiB is an error for that line and
// is skipped without being held.
class TokenImport {
 public:
  static constexpr size_t kMaxLineBytes = 4096;
  static constexpr int kMaxBatchLines = 1000;
  static constexpr size_t kMaxBatchBytes = 1024 * 1024;
  static constexpr size_t kMaxErrors = 1000;

  explicit TokenImport(std::string format) : format_(std::move(format)) {}

  // Takes the complete lines out of `body` (erasing what it consumed); with `end` (the body is
  // complete) the last line too. True when a batch is ready: TakeBatch(), store it, and call
  // Cut again (with the same body) before reading more.
  bool Cut(std::string& body, bool end);
  control::v1::ImportTokensRequest TakeBatch();
  // Control's answer to a batch.
  void Stored(const control::v1::ImportTokensResponse& response);

  // After the end: a CSV without even a header line.
  bool header_missing() const { return format_ == "csv" && !header_; }
  int64_t stored() const { return stored_; }
  // {"status":"success","stored","failed","errors":[{"line","message"}],"errors_truncated"}.
  nlohmann::json Result() const;

 private:
  void AddError(int64_t line, std::string message);

  std::string format_;
  std::optional<std::string> header_;
  int64_t next_line_ = 1;
  bool skipping_ = false;  // inside a line over the cap, until its newline
  control::v1::ImportTokensRequest batch_;
  size_t batch_bytes_ = 0;
  bool sent_any_ = false;
  int64_t stored_ = 0, failed_ = 0;
  std::vector<std::pair<int64_t, std::string>> errors_;
  bool truncated_ = false;
};

class RestTokens {
 public:
  using Respond = std::function<void(HttpResponse)>;
  explicit RestTokens(std::shared_ptr<grpc::Channel> control);

  // True when `parts` (the path split at '/') is one of these routes; then `respond` runs once.
  bool Handle(const HttpRequest& request, const std::vector<std::string>& parts,
              const std::string& query, Respond& respond);

  // One import batch to control on behalf of `http`'s key; `done` runs on a gRPC thread.
  void ImportBatch(
      const HttpRequest& http, control::v1::ImportTokensRequest batch,
      std::function<void(const grpc::Status&, const control::v1::ImportTokensResponse&)> done);

 private:
  void Put(const HttpRequest& http, const std::string& type, const std::string& id_token,
           Respond respond);
  void Get(const HttpRequest& http, const std::string& type, const std::string& id_token,
           Respond respond);
  void Delete(const HttpRequest& http, const std::string& type, const std::string& id_token,
              Respond respond);
  void List(const HttpRequest& http, const std::string& query, Respond respond);
  void ListAudit(const HttpRequest& http, const std::string& query, Respond respond);

  std::unique_ptr<control::v1::TokenService::Stub> control_;
};

}  // namespace csms::gateway
