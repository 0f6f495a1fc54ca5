// K: smart charging. Limits and profiles the charger reports are acknowledged and logged until
// profiles are stored. NotifyEVChargingNeeds is answered Rejected: the CSMS computes no schedule
// yet, so the EV charges under the charger's own limits (K15); NotifyEVChargingSchedule is
// taken note of (Accepted).
#include "csms/gateway/ocpp201/blocks.h"
#include "csms/ocpp/v201/cleared_charging_limit.h"
#include "csms/ocpp/v201/notify_charging_limit.h"
#include "csms/ocpp/v201/notify_ev_charging_needs.h"
#include "csms/ocpp/v201/notify_ev_charging_schedule.h"
#include "csms/ocpp/v201/report_charging_profiles.h"

namespace csms::gateway::ocpp201 {

namespace v201 = ocpp::v201;

void AddSmartChargingRoutes(RouteTable& routes, const BlockContext&) {
  routes.Add<v201::NotifyChargingLimitRequest>([](const auto& call, auto respond) {
    LogNotification(*call.station, call.message_id, "NotifyChargingLimit",
                    v201::ToString(call.request.charging_limit.charging_limit_source));
    respond.Ok({});
  });
  routes.Add<v201::ClearedChargingLimitRequest>([](const auto& call, auto respond) {
    LogNotification(*call.station, call.message_id, "ClearedChargingLimit",
                    v201::ToString(call.request.charging_limit_source));
    respond.Ok({});
  });
  routes.Add<v201::ReportChargingProfilesRequest>([](const auto& call, auto respond) {
    LogNotification(*call.station, call.message_id, "ReportChargingProfiles",
                    "request " + std::to_string(call.request.request_id));
    respond.Ok({});
  });
  routes.Add<v201::NotifyEVChargingNeedsRequest>([](const auto& call, auto respond) {
    LogNotification(*call.station, call.message_id, "NotifyEVChargingNeeds",
                    "evse " + std::to_string(call.request.evse_id));
    v201::NotifyEVChargingNeedsResponse answer;
    answer.status = v201::NotifyEVChargingNeedsStatusEnum::kRejected;
    v201::StatusInfo info;
    info.reason_code = "NoSchedule";
    info.additional_info = "this CSMS does not compute charging schedules yet";
    answer.status_info = info;
    respond.Ok(answer);
  });
  routes.Add<v201::NotifyEVChargingScheduleRequest>([](const auto& call, auto respond) {
    LogNotification(*call.station, call.message_id, "NotifyEVChargingSchedule",
                    "evse " + std::to_string(call.request.evse_id));
    v201::NotifyEVChargingScheduleResponse answer;
    answer.status = v201::GenericStatusEnum::kAccepted;
    respond.Ok(answer);
  });
}

}  // namespace csms::gateway::ocpp201
