// F06: TriggerMessage. The message a charger was asked for may arrive while it is Pending
// (B01.FR.10, B02.FR.02; DIGEST §2.7), so an accepted trigger opens the registration gate for
// that one action, for a while.
#include "csms/gateway/ocpp201/remote_trigger.h"

#include "csms/ocpp/v201/trigger_message.h"

namespace csms::gateway::ocpp201 {

namespace v201 = ocpp::v201;

std::string_view TriggeredAction(v201::MessageTriggerEnum requested) {
  using M = v201::MessageTriggerEnum;
  switch (requested) {
    case M::kSignChargingStationCertificate:
    case M::kSignV2GCertificate:
    case M::kSignCombinedCertificate:
      return "SignCertificate";
    default:
      return v201::ToString(requested);  // the other values name their message
  }
}

bool NoteAcceptedTrigger(StationContext& station, const nlohmann::json& request,
                         const nlohmann::json& result, TimePoint now) {
  try {
    const auto trigger = ocpp::Decode<v201::TriggerMessageRequest>(request);
    const auto answer = ocpp::Decode<v201::TriggerMessageResponse>(result);
    if (answer.status != v201::TriggerMessageStatusEnum::kAccepted) return false;
    station.AllowTriggered(std::string(TriggeredAction(trigger.requested_message)),
                           now + kTriggeredMessageWindow);
    return true;
  } catch (const ocpp::model::DecodeError&) {
    return false;  // not a valid trigger or answer: nothing was asked for
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

}  // namespace csms::gateway::ocpp201
