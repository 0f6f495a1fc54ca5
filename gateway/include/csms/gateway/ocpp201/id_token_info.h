#pragma once

#include <optional>

#include "csms/control/v1/control.pb.h"
#include "csms/ocpp/v201/types.h"

namespace csms::gateway::ocpp201 {

// Control's decision on a token as OCPP's IdTokenInfo (Authorize and TransactionEvent answers);
// nullopt when its status is not one the schema allows.
std::optional<ocpp::v201::IdTokenInfo> IdTokenInfoFrom(
    const control::v1::AuthorizeTokenResponse& decision);

}  // namespace csms::gateway::ocpp201
