#include "csms/control/token_service.h"

#include <algorithm>

#include "csms/common/log.h"
#include "csms/control/operator_call.h"
#include "csms/control/rpc_status.h"

namespace csms::control {
namespace {

using grpc::StatusCode;
constexpr const char* kComponent = "control";
constexpr int kDefaultPageSize = 50, kMaxPageSize = 500;
// The gateway sends at most 1,000 lines / 1 MiB per batch; this bounds a confused client.
constexpr int kMaxImportLines = 5000;
constexpr size_t kMaxImportLineBytes = 4096;

int PageSize(int32_t limit) {
  return limit <= 0 ? kDefaultPageSize : std::min<int>(limit, kMaxPageSize);
}

[[noreturn]] void NoToken(const std::string& type, const std::string& id_token) {
  throw RpcError(
      CommandError(StatusCode::NOT_FOUND, "not_found", "no token " + type + " " + id_token));
}

void RequireKey(const std::string& type, const std::string& id_token) {
  if (!IsTokenType(type)) BadRequest("type '" + type + "' is not an OCPP IdTokenEnumType");
  if (id_token.size() > kMaxIdTokenLength * 4) BadRequest("id_token is over 36 characters");
}

}  // namespace

TokenRecord TokenFromPut(const v1::PutTokenRequest& r) {
  TokenRecord t;
  t.type = r.type();
  t.id_token = r.id_token();
  if (!r.status().empty()) t.status = r.status();
  if (r.has_expires_at()) t.expires_at = FromProto(r.expires_at());
  if (r.has_group()) {
    t.group_type = r.group().type();
    t.group_id_token = r.group().id_token();
  }
  if (!r.account_id().empty()) t.account_id = r.account_id();
  if (r.has_max_concurrent()) t.max_concurrent = r.max_concurrent();
  if (r.has_stations()) {
    t.stations = std::vector<std::string>(r.stations().station_ids().begin(),
                                          r.stations().station_ids().end());
  }
  if (!r.language().empty()) t.language = r.language();
  if (!r.personal_message().empty()) t.personal_message = r.personal_message();
  return t;
}

grpc::ServerUnaryReactor* TokenServiceImpl::PutToken(grpc::CallbackServerContext* context,
                                                     const v1::PutTokenRequest* request,
                                                     v1::PutTokenResponse* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "PutToken", [&] {
    const auth::Principal who = AuthorizeCaller(auth_, *context, auth::Role::kOperate, "PutToken");
    const TokenRecord token = TokenFromPut(*request);
    if (auto error = ValidateToken(token); !error.empty()) BadRequest(error);
    auto result = store_.Put(token, who.key_id);
    *response->mutable_token() = std::move(result.token);
    response->set_created(result.created);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* TokenServiceImpl::GetToken(grpc::CallbackServerContext* context,
                                                     const v1::GetTokenRequest* request,
                                                     v1::Token* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "GetToken", [&] {
    AuthorizeCaller(auth_, *context, auth::Role::kRead, "GetToken");
    RequireKey(request->type(), request->id_token());
    auto token = store_.Find(request->type(), request->id_token());
    if (!token) NoToken(request->type(), request->id_token());
    *response = std::move(*token);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* TokenServiceImpl::ListTokens(grpc::CallbackServerContext* context,
                                                       const v1::ListTokensRequest* request,
                                                       v1::ListTokensResponse* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "ListTokens", [&] {
    AuthorizeCaller(auth_, *context, auth::Role::kRead, "ListTokens");
    if (!request->status().empty() && !IsTokenStatus(request->status())) {
      BadRequest("status '" + request->status() + "' is not Accepted, Blocked, Expired or Invalid");
    }
    const auto prefix_length = Utf8Length(request->id_prefix());
    if (!prefix_length || *prefix_length > kMaxIdTokenLength) {
      BadRequest("id_prefix must be valid UTF-8 of at most 36 characters");
    }
    TokenStore::Page page;
    try {
      page = store_.List(request->account_id(), request->status(), PageSize(request->limit()),
                         request->cursor(), request->id_prefix());
    } catch (const std::invalid_argument&) {
      BadRequest("cursor is not one this list gave");
    }
    for (auto& t : page.tokens) *response->add_tokens() = std::move(t);
    response->set_next_cursor(page.next_cursor);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* TokenServiceImpl::DeleteToken(grpc::CallbackServerContext* context,
                                                        const v1::DeleteTokenRequest* request,
                                                        v1::Token* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "DeleteToken", [&] {
    const auth::Principal who =
        AuthorizeCaller(auth_, *context, auth::Role::kOperate, "DeleteToken");
    RequireKey(request->type(), request->id_token());
    auto token = store_.Delete(request->type(), request->id_token(), who.key_id);
    if (!token) NoToken(request->type(), request->id_token());
    *response = std::move(*token);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* TokenServiceImpl::ImportTokens(grpc::CallbackServerContext* context,
                                                         const v1::ImportTokensRequest* request,
                                                         v1::ImportTokensResponse* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "ImportTokens", [&] {
    const auth::Principal who =
        AuthorizeCaller(auth_, *context, auth::Role::kOperate, "ImportTokens");
    const bool csv = request->format() == "csv";
    if (!csv && request->format() != "jsonl") BadRequest("format must be csv or jsonl");
    if (request->lines_size() > kMaxImportLines) {
      BadRequest("at most " + std::to_string(kMaxImportLines) + " lines per batch");
    }
    if (request->first_line() < 1) BadRequest("first_line must be >= 1");
    CsvColumns columns;
    if (csv) {
      try {
        columns = ParseCsvHeader(request->csv_header());
      } catch (const std::invalid_argument& e) {
        BadRequest(e.what());
      }
    }
    std::vector<TokenStore::ImportLine> good;
    good.reserve(request->lines_size());
    int64_t line_no = request->first_line();
    for (const auto& line : request->lines()) {
      const int64_t n = line_no++;
      if (IsBlankLine(line)) continue;
      auto error = [&](const std::string& message) {
        auto* e = response->add_errors();
        e->set_line(n);
        e->set_message(message);
      };
      if (line.size() > kMaxImportLineBytes) {
        error("line over " + std::to_string(kMaxImportLineBytes) + " bytes");
        continue;
      }
      ParsedLine parsed = csv ? ParseCsvTokenLine(columns, line) : ParseJsonTokenLine(line);
      if (!parsed.token) {
        error(parsed.error);
        continue;
      }
      good.push_back({n, std::move(*parsed.token)});
    }
    response->set_stored(
        store_.Import(good, who.key_id, request->format(), response->errors_size()));
    CSMS_LOG(kDebug, kComponent) << "token import batch from line " << request->first_line() << ": "
                                 << response->stored() << " stored, " << response->errors_size()
                                 << " failed";
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* TokenServiceImpl::ListTokenAudit(grpc::CallbackServerContext* context,
                                                           const v1::ListTokenAuditRequest* request,
                                                           v1::ListTokenAuditResponse* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "ListTokenAudit", [&] {
    AuthorizeCaller(auth_, *context, auth::Role::kRead, "ListTokenAudit");
    if (request->type().empty() != request->id_token().empty()) {
      BadRequest("filter by type and id_token together");
    }
    if (!request->type().empty()) RequireKey(request->type(), request->id_token());
    TokenStore::AuditPage page;
    try {
      page = store_.ListAudit(request->type(), request->id_token(), PageSize(request->limit()),
                              request->cursor());
    } catch (const std::invalid_argument&) {
      BadRequest("cursor is not one this list gave");
    }
    for (auto& e : page.entries) *response->add_entries() = std::move(e);
    response->set_next_cursor(page.next_cursor);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

}  // namespace csms::control
