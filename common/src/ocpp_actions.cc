#include "csms/common/ocpp_actions.h"

#include <algorithm>
#include <array>

namespace csms::ocpp {
namespace {
// Sorted, for binary search. One entry per <Action>Request.json schema of OCPP 2.0.1.
constexpr std::array<std::string_view, 64> kActions = {"Authorize",
                                                       "BootNotification",
                                                       "CancelReservation",
                                                       "CertificateSigned",
                                                       "ChangeAvailability",
                                                       "ClearCache",
                                                       "ClearChargingProfile",
                                                       "ClearDisplayMessage",
                                                       "ClearVariableMonitoring",
                                                       "ClearedChargingLimit",
                                                       "CostUpdated",
                                                       "CustomerInformation",
                                                       "DataTransfer",
                                                       "DeleteCertificate",
                                                       "FirmwareStatusNotification",
                                                       "Get15118EVCertificate",
                                                       "GetBaseReport",
                                                       "GetCertificateStatus",
                                                       "GetChargingProfiles",
                                                       "GetCompositeSchedule",
                                                       "GetDisplayMessages",
                                                       "GetInstalledCertificateIds",
                                                       "GetLocalListVersion",
                                                       "GetLog",
                                                       "GetMonitoringReport",
                                                       "GetReport",
                                                       "GetTransactionStatus",
                                                       "GetVariables",
                                                       "Heartbeat",
                                                       "InstallCertificate",
                                                       "LogStatusNotification",
                                                       "MeterValues",
                                                       "NotifyChargingLimit",
                                                       "NotifyCustomerInformation",
                                                       "NotifyDisplayMessages",
                                                       "NotifyEVChargingNeeds",
                                                       "NotifyEVChargingSchedule",
                                                       "NotifyEvent",
                                                       "NotifyMonitoringReport",
                                                       "NotifyReport",
                                                       "PublishFirmware",
                                                       "PublishFirmwareStatusNotification",
                                                       "ReportChargingProfiles",
                                                       "RequestStartTransaction",
                                                       "RequestStopTransaction",
                                                       "ReservationStatusUpdate",
                                                       "ReserveNow",
                                                       "Reset",
                                                       "SecurityEventNotification",
                                                       "SendLocalList",
                                                       "SetChargingProfile",
                                                       "SetDisplayMessage",
                                                       "SetMonitoringBase",
                                                       "SetMonitoringLevel",
                                                       "SetNetworkProfile",
                                                       "SetVariableMonitoring",
                                                       "SetVariables",
                                                       "SignCertificate",
                                                       "StatusNotification",
                                                       "TransactionEvent",
                                                       "TriggerMessage",
                                                       "UnlockConnector",
                                                       "UnpublishFirmware",
                                                       "UpdateFirmware"};
struct CommandEntry {
  std::string_view action;
  CommandRule rule;
};

constexpr CommandRule kOperate{CommandPolicy::kOperate, {}};
constexpr CommandRule kAdmin{CommandPolicy::kAdmin, {}};
constexpr CommandRule Owned(std::string_view endpoint) { return {CommandPolicy::kOwned, endpoint}; }

// The 40 actions a 2.0.1 CSMS sends, sorted.
constexpr std::array<CommandEntry, 40> kCommands = {{
    {"CancelReservation", kOperate},
    {"CertificateSigned", Owned("the certificate management of the CSMS (SignCertificate)")},
    {"ChangeAvailability", kOperate},
    {"ClearCache", kOperate},
    {"ClearChargingProfile", Owned("DELETE /chargers/{id}/power")},
    {"ClearDisplayMessage", kOperate},
    {"ClearVariableMonitoring", kOperate},
    {"CostUpdated", kOperate},
    {"CustomerInformation", kOperate},
    {"DataTransfer", kOperate},
    {"DeleteCertificate", kAdmin},
    {"GetBaseReport", kOperate},
    {"GetChargingProfiles", kOperate},
    {"GetCompositeSchedule", kOperate},
    {"GetDisplayMessages", kOperate},
    {"GetInstalledCertificateIds", kOperate},
    {"GetLocalListVersion", kOperate},
    {"GetLog", Owned("POST /chargers/{id}/log-uploads")},
    {"GetMonitoringReport", kOperate},
    {"GetReport", kOperate},
    {"GetTransactionStatus", kOperate},
    {"GetVariables", kOperate},
    {"InstallCertificate", kAdmin},
    {"PublishFirmware", kAdmin},
    {"RequestStartTransaction", Owned("POST /chargers/{id}/start")},
    {"RequestStopTransaction", Owned("POST /chargers/{id}/stop")},
    {"ReserveNow", kOperate},
    {"Reset", kOperate},
    {"SendLocalList", Owned("the token store (local authorization lists are synced from it)")},
    {"SetChargingProfile", Owned("PATCH /chargers/{id}/power")},
    {"SetDisplayMessage", kOperate},
    {"SetMonitoringBase", kOperate},
    {"SetMonitoringLevel", kOperate},
    {"SetNetworkProfile", kAdmin},
    {"SetVariableMonitoring", kOperate},
    {"SetVariables", kOperate},  // but not SecurityCtrlr's variables: see SecurityVariable
    {"TriggerMessage", kOperate},
    {"UnlockConnector", kOperate},
    {"UnpublishFirmware", kAdmin},
    {"UpdateFirmware", Owned("POST /chargers/{id}/firmware")},
}};

}  // namespace

CommandRule Ocpp201CommandRule(std::string_view action) {
  auto it =
      std::lower_bound(kCommands.begin(), kCommands.end(), action,
                       [](const CommandEntry& e, std::string_view a) { return e.action < a; });
  if (it == kCommands.end() || it->action != action) return {};
  return it->rule;
}

bool IsOcpp201Action(std::string_view action) {
  return std::binary_search(kActions.begin(), kActions.end(), action);
}

}  // namespace csms::ocpp
