#include "csms/gateway/rest_tokens.h"

#include <algorithm>
#include <cctype>

#include "csms/common/grpc_async.h"
#include "csms/common/time_util.h"
#include "csms/gateway/rest_commands.h"
#include "csms/gateway/rest_json.h"

namespace csms::gateway {
namespace {

using nlohmann::json;
namespace v1 = control::v1;

constexpr std::chrono::milliseconds kQueryTimeout{5000};
// One batch is at most 1,000 lines in one transaction.
constexpr std::chrono::milliseconds kImportBatchTimeout{60000};

using rest::Json;

using rest::Time;

using rest::TextOrNull;

HttpResponse FromError(const RestError& e) { return RestApi::Error(e.status, e.code, e.message); }

// A JSON text the store wrote (audit before / after); null when empty.
json Embedded(const std::string& text) {
  if (text.empty()) return nullptr;
  json j = json::parse(text, nullptr, false);
  return j.is_discarded() ? json(nullptr) : j;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

json TokenJson(const v1::Token& t) {
  json stations = nullptr;
  if (t.has_stations()) {
    stations = json::array();
    for (const auto& s : t.stations().station_ids()) stations.push_back(s);
  }
  return json{
      {"type", t.type()},
      {"id_token", t.id_token()},
      {"status", t.status()},
      {"expires_at", Time(t.has_expires_at(), t.expires_at())},
      {"group", t.has_group() ? json{{"id_token", t.group().id_token()}, {"type", t.group().type()}}
                              : json(nullptr)},
      {"account_id", TextOrNull(t.account_id())},
      {"max_concurrent", t.max_concurrent()},
      {"stations", std::move(stations)},
      {"language", TextOrNull(t.language())},
      {"personal_message", TextOrNull(t.personal_message())},
      {"created_at", Time(t.has_created_at(), t.created_at())},
      {"updated_at", Time(t.has_updated_at(), t.updated_at())},
  };
}

std::variant<v1::PutTokenRequest, RestError> ParseTokenBody(const std::string& body) {
  v1::PutTokenRequest r;
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return r;  // all defaults
  json j = json::parse(body, nullptr, false);
  auto bad = [](const std::string& message) { return RestError{400, "bad_request", message}; };
  if (j.is_discarded() || !j.is_object()) return bad("the body must be a JSON object");
  auto text = [&](const std::string& key, const json& v,
                  std::string* out) -> std::optional<RestError> {
    if (v.is_null()) return std::nullopt;
    if (!v.is_string()) return bad(key + " must be a string or null");
    *out = v.get<std::string>();
    if (out->empty()) return bad(key + " is empty (leave it out or null)");
    return std::nullopt;
  };
  for (const auto& [key, v] : j.items()) {
    std::optional<RestError> error;
    if (key == "status") {
      error = text(key, v, r.mutable_status());
    } else if (key == "account_id") {
      error = text(key, v, r.mutable_account_id());
    } else if (key == "language") {
      error = text(key, v, r.mutable_language());
    } else if (key == "personal_message") {
      error = text(key, v, r.mutable_personal_message());
    } else if (key == "expires_at") {
      if (v.is_null()) continue;
      auto t = v.is_string() ? ParseRfc3339(v.get<std::string>()) : std::nullopt;
      if (!t) return bad("expires_at must be an RFC 3339 time or null");
      *r.mutable_expires_at() = ToProto(*t);
    } else if (key == "group") {
      if (v.is_null()) continue;
      if (!v.is_object()) return bad("group must be {\"id_token\",\"type\"} or null");
      for (const auto& [gk, gv] : v.items()) {
        if (gk != "id_token" && gk != "type") return bad("group has an unknown field '" + gk + "'");
        if (!gv.is_string()) return bad("group " + gk + " must be a string");
      }
      if (!v.contains("id_token") || !v.contains("type")) {
        return bad("group needs both id_token and type");
      }
      r.mutable_group()->set_id_token(v["id_token"].get<std::string>());
      r.mutable_group()->set_type(v["type"].get<std::string>());
    } else if (key == "max_concurrent") {
      if (v.is_null()) continue;
      if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > 1000000) {
        return bad("max_concurrent must be an integer from 1 to 1000000");
      }
      r.set_max_concurrent(static_cast<int32_t>(v.get<int64_t>()));
    } else if (key == "stations") {
      if (v.is_null()) continue;
      if (!v.is_array()) return bad("stations must be an array of station ids or null");
      auto* stations = r.mutable_stations();
      for (const auto& s : v) {
        if (!s.is_string()) return bad("stations must be an array of station ids or null");
        stations->add_station_ids(s.get<std::string>());
      }
    } else {
      return bad("unknown field '" + key + "'");
    }
    if (error) return *error;
  }
  return r;
}

std::variant<std::string, RestError> TokenImportFormat(const std::string& content_type,
                                                       const std::string& query) {
  auto params = ParseQuery(query);
  if (auto it = params.find("format"); it != params.end()) {
    if (it->second == "csv" || it->second == "jsonl") return it->second;
    return RestError{400, "bad_request", "format must be csv or jsonl"};
  }
  const std::string type = Lower(content_type.substr(0, content_type.find(';')));
  auto trimmed = type;
  trimmed.erase(0, trimmed.find_first_not_of(' '));
  trimmed.erase(trimmed.find_last_not_of(' ') + 1);
  if (trimmed == "text/csv") return std::string("csv");
  if (trimmed == "application/x-ndjson" || trimmed == "application/jsonl" ||
      trimmed == "application/x-jsonlines" || trimmed == "application/jsonlines") {
    return std::string("jsonl");
  }
  return RestError{415, "unsupported_media_type",
                   "send the tokens as text/csv or application/x-ndjson (JSON lines), or name "
                   "the format with ?format=csv|jsonl"};
}

// ---- TokenImport

void TokenImport::AddError(int64_t line, std::string message) {
  ++failed_;
  if (errors_.size() >= kMaxErrors) {
    truncated_ = true;
    return;
  }
  errors_.emplace_back(line, std::move(message));
}

bool TokenImport::Cut(std::string& body, bool end) {
  size_t pos = 0;
  bool ready = false;
  for (;;) {
    if (batch_.lines_size() >= kMaxBatchLines || batch_bytes_ >= kMaxBatchBytes) {
      ready = true;
      break;
    }
    const size_t newline = body.find('\n', pos);
    if (skipping_) {
      if (newline == std::string::npos) {
        pos = body.size();
        break;
      }
      pos = newline + 1;
      skipping_ = false;
      continue;
    }
    std::string_view line;
    size_t next = 0;
    if (newline == std::string::npos) {
      const size_t rest = body.size() - pos;
      if (rest > kMaxLineBytes) {  // not held: the rest of it is dropped as it arrives
        AddError(next_line_++, "line over " + std::to_string(kMaxLineBytes) + " bytes");
        skipping_ = true;
        pos = body.size();
        continue;
      }
      if (!end || rest == 0) break;
      line = std::string_view(body).substr(pos);
      next = body.size();
    } else {
      line = std::string_view(body).substr(pos, newline - pos);
      next = newline + 1;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > kMaxLineBytes) {
      AddError(next_line_++, "line over " + std::to_string(kMaxLineBytes) + " bytes");
      pos = next;
      continue;
    }
    if (format_ == "csv" && !header_) {
      header_ = std::string(line);
      ++next_line_;
      pos = next;
      continue;
    }
    // A batch is a run of consecutive lines: a line skipped above ends it.
    if (batch_.lines_size() > 0 && batch_.first_line() + batch_.lines_size() != next_line_) {
      ready = true;
      break;
    }
    if (batch_.lines_size() == 0) batch_.set_first_line(next_line_);
    batch_.add_lines(std::string(line));
    batch_bytes_ += line.size();
    ++next_line_;
    pos = next;
  }
  body.erase(0, pos);
  if (!ready && end) {
    // The last batch; a CSV with no data lines still sends its header to be checked once.
    ready = batch_.lines_size() > 0 || (!sent_any_ && format_ == "csv" && header_);
  }
  return ready;
}

v1::ImportTokensRequest TokenImport::TakeBatch() {
  v1::ImportTokensRequest out = std::move(batch_);
  batch_ = v1::ImportTokensRequest();
  batch_bytes_ = 0;
  sent_any_ = true;
  out.set_format(format_);
  if (header_) out.set_csv_header(*header_);
  if (out.first_line() == 0) out.set_first_line(next_line_);
  return out;
}

void TokenImport::Stored(const v1::ImportTokensResponse& response) {
  stored_ += response.stored();
  for (const auto& e : response.errors()) AddError(e.line(), e.message());
}

json TokenImport::Result() const {
  auto sorted = errors_;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  json errors = json::array();
  for (const auto& [line, message] : sorted) {
    errors.push_back(json{{"line", line}, {"message", message}});
  }
  return json{{"status", "success"},
              {"stored", stored_},
              {"failed", failed_},
              {"errors", std::move(errors)},
              {"errors_truncated", truncated_}};
}

// ---- RestTokens

RestTokens::RestTokens(std::shared_ptr<grpc::Channel> control)
    : control_(v1::TokenService::NewStub(control)) {}

void RestTokens::Put(const HttpRequest& http, const std::string& type, const std::string& id_token,
                     Respond respond) {
  auto parsed = ParseTokenBody(http.body);
  if (auto* error = std::get_if<RestError>(&parsed)) return respond(FromError(*error));
  v1::PutTokenRequest request = std::move(std::get<v1::PutTokenRequest>(parsed));
  request.set_type(type);
  request.set_id_token(id_token);
  CallUnaryAsync<v1::PutTokenRequest, v1::PutTokenResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->PutToken(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout,
      [respond = std::move(respond)](const grpc::Status& status,
                                     const v1::PutTokenResponse& response) {
        if (!status.ok()) return respond(RestCommands::FromCommandStatus(status));
        respond(Json(response.created() ? 201 : 200, json{{"status", "success"},
                                                          {"created", response.created()},
                                                          {"token", TokenJson(response.token())}}));
      },
      RestCommands::OnBehalfOf(http));
}

void RestTokens::Get(const HttpRequest& http, const std::string& type, const std::string& id_token,
                     Respond respond) {
  v1::GetTokenRequest request;
  request.set_type(type);
  request.set_id_token(id_token);
  CallUnaryAsync<v1::GetTokenRequest, v1::Token>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->GetToken(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout,
      [respond = std::move(respond)](const grpc::Status& status, const v1::Token& token) {
        if (!status.ok()) return respond(RestCommands::FromCommandStatus(status));
        respond(Json(200, json{{"token", TokenJson(token)}}));
      },
      RestCommands::OnBehalfOf(http));
}

void RestTokens::Delete(const HttpRequest& http, const std::string& type,
                        const std::string& id_token, Respond respond) {
  v1::DeleteTokenRequest request;
  request.set_type(type);
  request.set_id_token(id_token);
  CallUnaryAsync<v1::DeleteTokenRequest, v1::Token>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->DeleteToken(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout,
      [respond = std::move(respond)](const grpc::Status& status, const v1::Token& token) {
        if (!status.ok()) return respond(RestCommands::FromCommandStatus(status));
        respond(Json(200, json{{"status", "success"}, {"token", TokenJson(token)}}));
      },
      RestCommands::OnBehalfOf(http));
}

void RestTokens::List(const HttpRequest& http, const std::string& query, Respond respond) {
  auto params = ParseQuery(query);
  v1::ListTokensRequest request;
  auto limit = ParseLimit(params["limit"]);
  if (auto* error = std::get_if<RestError>(&limit)) return respond(FromError(*error));
  request.set_limit(std::get<int>(limit));
  request.set_cursor(params["cursor"]);
  request.set_account_id(params["account_id"]);
  request.set_status(params["status"]);
  request.set_id_prefix(params["id_prefix"]);
  CallUnaryAsync<v1::ListTokensRequest, v1::ListTokensResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->ListTokens(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout,
      [respond = std::move(respond)](const grpc::Status& status,
                                     const v1::ListTokensResponse& response) {
        if (!status.ok()) return respond(RestCommands::FromCommandStatus(status));
        json tokens = json::array();
        for (const auto& t : response.tokens()) tokens.push_back(TokenJson(t));
        respond(Json(200, json{{"tokens", std::move(tokens)},
                               {"next_cursor", TextOrNull(response.next_cursor())}}));
      },
      RestCommands::OnBehalfOf(http));
}

void RestTokens::ListAudit(const HttpRequest& http, const std::string& query, Respond respond) {
  auto params = ParseQuery(query);
  v1::ListTokenAuditRequest request;
  auto limit = ParseLimit(params["limit"]);
  if (auto* error = std::get_if<RestError>(&limit)) return respond(FromError(*error));
  request.set_limit(std::get<int>(limit));
  request.set_cursor(params["cursor"]);
  request.set_type(params["type"]);
  request.set_id_token(params["id_token"]);
  CallUnaryAsync<v1::ListTokenAuditRequest, v1::ListTokenAuditResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->ListTokenAudit(ctx, req, resp, std::move(cb));
      },
      std::move(request), kQueryTimeout,
      [respond = std::move(respond)](const grpc::Status& status,
                                     const v1::ListTokenAuditResponse& response) {
        if (!status.ok()) return respond(RestCommands::FromCommandStatus(status));
        json entries = json::array();
        for (const auto& e : response.entries()) {
          entries.push_back(json{{"id", e.id()},
                                 {"at", Time(e.has_at(), e.at())},
                                 {"actor", e.actor()},
                                 {"action", e.action()},
                                 {"type", TextOrNull(e.type())},
                                 {"id_token", TextOrNull(e.id_token())},
                                 {"before", Embedded(e.before_json())},
                                 {"after", Embedded(e.after_json())}});
        }
        respond(Json(200, json{{"entries", std::move(entries)},
                               {"next_cursor", TextOrNull(response.next_cursor())}}));
      },
      RestCommands::OnBehalfOf(http));
}

void RestTokens::ImportBatch(
    const HttpRequest& http, v1::ImportTokensRequest batch,
    std::function<void(const grpc::Status&, const v1::ImportTokensResponse&)> done) {
  CallUnaryAsync<v1::ImportTokensRequest, v1::ImportTokensResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->ImportTokens(ctx, req, resp, std::move(cb));
      },
      std::move(batch), kImportBatchTimeout, std::move(done), RestCommands::OnBehalfOf(http));
}

bool RestTokens::Handle(const HttpRequest& http, const std::vector<std::string>& parts,
                        const std::string& query, Respond& respond) {
  if (parts.empty()) return false;
  const std::string& method = http.method;
  auto wrong_method = [&](const std::string& allowed) {
    respond(RestApi::Error(405, "method_not_allowed",
                           method + " is not allowed here (use " + allowed + ")"));
  };
  if (parts.size() == 1 && parts[0] == "token-audit") {
    method == "GET" ? ListAudit(http, query, std::move(respond)) : wrong_method("GET");
    return true;
  }
  if (parts.size() == 1 && parts[0] == "tokens:import") {
    // POST is streamed by the HTTP server before it gets here.
    wrong_method("POST");
    return true;
  }
  if (parts[0] != "tokens") return false;
  if (parts.size() == 1) {
    method == "GET" ? List(http, query, std::move(respond)) : wrong_method("GET");
    return true;
  }
  if (parts.size() != 3) return false;
  const std::string& id_token = parts[2];
  if (method == "PUT") {
    Put(http, parts[1], id_token, std::move(respond));
  } else if (method == "GET") {
    Get(http, parts[1], id_token, std::move(respond));
  } else if (method == "DELETE") {
    Delete(http, parts[1], id_token, std::move(respond));
  } else {
    wrong_method("PUT, GET or DELETE");
  }
  return true;
}

}  // namespace csms::gateway
