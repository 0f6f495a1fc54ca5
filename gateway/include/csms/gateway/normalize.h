#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "csms/common/time_util.h"
#include "csms/ocpp/v1/events.pb.h"

// Turns inbound TransactionEvents, in either dialect, into the normalized event the services
// understand. Validates what it reads and throws PayloadException (see payload_check.h) on bad
// input. (Every other message is decoded into its generated type: gateway/src/ocpp201/.)
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

}  // namespace csms::gateway
