#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string_view>

#include "csms/common/time_util.h"
#include "csms/gateway/station_context.h"
#include "csms/ocpp/v201/types.h"

namespace csms::gateway::ocpp201 {

// How long a charger has to send what an accepted TriggerMessage asked for.
inline constexpr std::chrono::seconds kTriggeredMessageWindow{60};

// The action a TriggerMessage's requestedMessage makes the charger send (the three certificate
// kinds all come as SignCertificate).
std::string_view TriggeredAction(ocpp::v201::MessageTriggerEnum requested);

// After a TriggerMessage CALL (`request`) was answered with `result`: when the charger accepted
// it, lets the triggered action through the registration gate until now + the window. Returns
// whether it did.
bool NoteAcceptedTrigger(StationContext& station, const nlohmann::json& request,
                         const nlohmann::json& result, TimePoint now);

}  // namespace csms::gateway::ocpp201
