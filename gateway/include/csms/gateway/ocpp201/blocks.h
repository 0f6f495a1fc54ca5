#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "csms/common/ocpp_frame.h"
#include "csms/common/time_util.h"
#include "csms/gateway/backend.h"
#include "csms/gateway/outbox.h"
#include "csms/gateway/route_table.h"
#include "csms/gateway/router_options.h"

// The OCPP 2.0.1 messages a charger sends, by functional block (OCPP 2.0.1 Part 2's chapters).
// Each block adds its routes to the table; its handlers get what they need from BlockContext
// and nothing else, so a block test needs only a fake backend and a fake clock.
namespace csms::gateway::ocpp201 {

struct BlockContext {
  Backend& backend;
  const Clock& clock;
  const RouterOptions& options;
  Outbox* outbox = nullptr;  // may be null: TransactionEvents then need billing to be up
};

// B: BootNotification, Heartbeat, NotifyReport.
void AddProvisioningRoutes(RouteTable& routes, const BlockContext& ctx);
// C: Authorize.
void AddAuthorizationRoutes(RouteTable& routes, const BlockContext& ctx);
// G: StatusNotification.
void AddAvailabilityRoutes(RouteTable& routes, const BlockContext& ctx);
// E: TransactionEvent (both dialects).
void AddTransactionRoutes(RouteTable& routes, const BlockContext& ctx);
// J: MeterValues.
void AddMeteringRoutes(RouteTable& routes, const BlockContext& ctx);
// N: NotifyEvent, NotifyMonitoringReport, LogStatusNotification, NotifyCustomerInformation.
void AddDiagnosticsRoutes(RouteTable& routes, const BlockContext& ctx);
// L: FirmwareStatusNotification, PublishFirmwareStatusNotification.
void AddFirmwareRoutes(RouteTable& routes, const BlockContext& ctx);
// A and M: SecurityEventNotification, SignCertificate, Get15118EVCertificate,
// GetCertificateStatus.
void AddSecurityRoutes(RouteTable& routes, const BlockContext& ctx);
// K: NotifyChargingLimit, ClearedChargingLimit, ReportChargingProfiles, NotifyEVChargingNeeds,
// NotifyEVChargingSchedule.
void AddSmartChargingRoutes(RouteTable& routes, const BlockContext& ctx);
// H: ReservationStatusUpdate.
void AddReservationRoutes(RouteTable& routes, const BlockContext& ctx);
// O: NotifyDisplayMessages.
void AddDisplayRoutes(RouteTable& routes, const BlockContext& ctx);
// P: DataTransfer.
void AddDataTransferRoutes(RouteTable& routes, const BlockContext& ctx);

// Every block's routes: the whole of what a 2.0.1 charger may send.
RouteTable MakeRoutes(const BlockContext& ctx, const ocpp::SchemaSet* response_schemas);

// A date-time field as a time point; throws DecodeError (PropertyConstraintViolation) naming
// `field` when it is not RFC 3339 (the schema check makes that rare).
TimePoint RequireTime(const std::string& text, std::string_view field);

// What control learns from a StatusNotification (`from_status_notification`: it also goes into
// the charger's status history), or from a NotifyEvent that carries
// Connector.AvailabilityState (G01.FR.03-07; that item is in the event log as itself).
control::v1::StatusReport MakeStatusReport(const StationContext& station, TimePoint at,
                                           std::string_view status, int evse_id, int connector_id,
                                           bool from_status_notification = false);

// ---- The charger's event log ---------------------------------------------------------------

// An entry of `station`'s event log: `kind` is the OCPP action it came in, `type` what it is
// within its kind, `received_at` the gateway's clock; `payload` (the message, or one item of
// it) is stored with its secrets redacted (ocpp::RedactSecrets). Ids and occurred_at are the
// caller's to set when the message has them.
control::v1::ChargerEvent MakeChargerEvent(const StationContext& station, std::string_view kind,
                                           std::string type, TimePoint received_at,
                                           const nlohmann::json& payload);

// Logs that `kind` of `charger_id` could not be stored in `where` (the event log, the device
// model) and returns the CALLERROR description the charger gets for it ("<where> unavailable"):
// the charger learns only that it must send it again.
std::string NotStored(const std::string& charger_id, const std::string& message_id,
                      std::string_view kind, const grpc::Status& status,
                      std::string_view where = "event log");

// Stores `events` (all of one message) in one call and answers the charger `answer` only once
// control has stored them; otherwise InternalError, and the charger keeps the message and
// retries: it is never told that something was stored when it was not.
template <typename Response>
void RecordThenAnswer(const BlockContext& ctx, std::vector<control::v1::ChargerEvent> events,
                      Responder<Response> respond, Response answer = {}) {
  if (events.empty()) return respond.Ok(answer);  // nothing to keep
  std::string charger_id = events.front().charger_id();
  std::string kind = events.front().kind();
  ctx.backend.RecordChargerEvents(
      std::move(events),
      [respond = std::move(respond), answer = std::move(answer), charger_id = std::move(charger_id),
       kind = std::move(kind)](const grpc::Status& status, const control::v1::ReportResponse&) {
        if (status.ok()) return respond.Ok(answer);
        respond.Error(ocpp::error_code::kInternalError,
                      NotStored(charger_id, respond.message_id(), kind, status));
      });
}

// Logs a notification the CSMS keeps no state for, at info, with its charger and message.
void LogNotification(const StationContext& station, const std::string& message_id,
                     std::string_view action, std::string_view summary = {});

}  // namespace csms::gateway::ocpp201
