// C: authorization. Every token is accepted until the token store exists; the answer is still
// schema-exact.
#include "csms/gateway/ocpp201/blocks.h"
#include "csms/ocpp/v201/authorize.h"

namespace csms::gateway::ocpp201 {

namespace v201 = ocpp::v201;

void AddAuthorizationRoutes(RouteTable& routes, const BlockContext&) {
  routes.Add<v201::AuthorizeRequest>([](const auto&, auto respond) {
    v201::AuthorizeResponse answer;
    answer.id_token_info.status = v201::AuthorizationStatusEnum::kAccepted;
    respond.Ok(answer);
  });
}

}  // namespace csms::gateway::ocpp201
