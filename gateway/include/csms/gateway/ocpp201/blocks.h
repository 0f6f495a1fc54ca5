#pragma once

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

// What control learns from a StatusNotification, or from a NotifyEvent that carries
// Connector.AvailabilityState (G01.FR.03-07).
control::v1::StatusReport MakeStatusReport(const StationContext& station, TimePoint at,
                                           std::string_view status, int evse_id, int connector_id);

// Logs a notification the CSMS keeps no state for yet, at info, with its charger and message.
void LogNotification(const StationContext& station, const std::string& message_id,
                     std::string_view action, std::string_view summary = {});

}  // namespace csms::gateway::ocpp201
