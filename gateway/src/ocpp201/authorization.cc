// C: authorization. Authorize is decided by control from its token store (C01, C05-C10); the
// answer carries the token's group, language and personal message, and how long the charger may
// cache an Accepted answer.
#include "csms/common/log.h"
#include "csms/gateway/ocpp201/blocks.h"
#include "csms/gateway/ocpp201/id_token_info.h"
#include "csms/ocpp/v201/authorize.h"

namespace csms::gateway::ocpp201 {
namespace v201 = ocpp::v201;
namespace ec = ocpp::error_code;

std::optional<v201::IdTokenInfo> IdTokenInfoFrom(const control::v1::AuthorizeTokenResponse& d) {
  v201::IdTokenInfo info;
  if (!v201::FromString(d.status(), info.status)) return std::nullopt;
  if (d.has_cache_expiry()) {
    info.cache_expiry_date_time = FormatRfc3339(FromProto(d.cache_expiry()));
  }
  if (!d.group_id_token().empty()) {
    v201::IdToken group;
    group.id_token = d.group_id_token();
    if (v201::FromString(d.group_type(), group.type)) info.group_id_token = std::move(group);
  }
  if (!d.language().empty()) info.language1 = d.language();
  if (!d.personal_message().empty()) {
    v201::MessageContent message;
    message.format = v201::MessageFormatEnum::kUTF8;
    message.content = d.personal_message();
    if (!d.language().empty()) message.language = d.language();
    info.personal_message = std::move(message);
  }
  return info;
}

void AddAuthorizationRoutes(RouteTable& routes, const BlockContext& ctx) {
  routes.Add<v201::AuthorizeRequest>([&ctx](const auto& call, auto respond) {
    control::v1::AuthorizeTokenRequest request;
    request.set_charger_id(call.station->charger_id);
    request.set_id_token(call.request.id_token.id_token);
    request.set_type(std::string(v201::ToString(call.request.id_token.type)));
    ctx.backend.AuthorizeToken(
        request, [station = call.station, id = call.message_id, respond](
                     const grpc::Status& status, const control::v1::AuthorizeTokenResponse& d) {
          std::optional<v201::IdTokenInfo> info;
          if (status.ok()) info = IdTokenInfoFrom(d);
          if (!info) {
            // Never Accepted by default: the charger retries, or falls back to its own list.
            CSMS_LOG_WITH(kWarn, "gateway", (log::Fields{station->charger_id, id, "Authorize"}))
                << "Authorize of " << station->charger_id << " not decided ("
                << (status.ok() ? "status " + log::Sanitize(d.status(), 40)
                                : std::to_string(static_cast<int>(status.error_code())) + " " +
                                      log::Sanitize(status.error_message(), 200))
                << ")";
            return respond.Error(ec::kInternalError, "authorization unavailable");
          }
          v201::AuthorizeResponse answer;
          answer.id_token_info = std::move(*info);
          respond.Ok(answer);
        });
  });
}

}  // namespace csms::gateway::ocpp201
