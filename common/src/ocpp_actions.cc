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
}  // namespace

bool IsOcpp201Action(std::string_view action) {
  return std::binary_search(kActions.begin(), kActions.end(), action);
}

}  // namespace csms::ocpp
