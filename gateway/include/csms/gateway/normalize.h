#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "csms/common/time_util.h"
#include "csms/ocpp/v1/events.pb.h"

// Turns inbound OCPP payloads into the normalized events the services understand. Each function
// validates what it reads and throws PayloadException (see payload_check.h) on bad input.
namespace csms::gateway {

// Which dialect a TransactionEvent payload is written in: the seed's C# simulator uses
// `transactionData`, standard OCPP 2.0.1 uses `transactionInfo`.
ocpp::v1::Dialect DetectTransactionDialect(const nlohmann::json& payload);

// `strict` accepts only OCPP 2.0.1: a seed-dialect body is then an OccurrenceConstraintViolation
// (its required transactionInfo is missing).
ocpp::v1::TransactionEvent NormalizeTransactionEvent(const nlohmann::json& payload,
                                                     const std::string& charger_id,
                                                     const std::string& connection_id,
                                                     TimePoint received_at, bool strict = false);

struct BootInfo {
  std::string reason;
  std::string vendor;
  std::string model;
  std::string serial_number;
  std::string firmware_version;
};
BootInfo ParseBootNotification(const nlohmann::json& payload);

struct StatusInfo {
  TimePoint timestamp;
  std::string connector_status;
  int evse_id = 0;
  int connector_id = 0;
};
StatusInfo ParseStatusNotification(const nlohmann::json& payload);

// Connector statuses carried by a NotifyEvent (component "Connector", variable
// "AvailabilityState"); other event data is validated and ignored here.
std::vector<StatusInfo> ConnectorStatusesFromNotifyEvent(const nlohmann::json& payload);

// Checks Authorize, MeterValues and Heartbeat payloads (their content is not forwarded yet).
void CheckAuthorize(const nlohmann::json& payload);
void CheckMeterValues(const nlohmann::json& payload);
void CheckHeartbeat(const nlohmann::json& payload);

}  // namespace csms::gateway
