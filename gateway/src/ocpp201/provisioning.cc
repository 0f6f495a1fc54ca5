// B: provisioning. BootNotification (B01-B03: control decides Accepted / Pending / Rejected and
// the heartbeat interval), Heartbeat (answered here with the time), NotifyReport (each part
// stored in the charger's device model before it is answered, so the charger's own pace, one part
// at a time, is the back-pressure; refused with InternalError when it cannot be stored, and the
// charger sends it again).
#include "csms/common/log.h"
#include "csms/common/ocpp_redact.h"
#include "csms/gateway/call_router.h"
#include "csms/gateway/ocpp201/blocks.h"
#include "csms/ocpp/v201/boot_notification.h"
#include "csms/ocpp/v201/heartbeat.h"
#include "csms/ocpp/v201/notify_report.h"

namespace csms::gateway::ocpp201 {
namespace {

namespace v201 = ocpp::v201;
namespace ec = ocpp::error_code;

std::string GrpcFailure(const grpc::Status& status) {
  return std::to_string(static_cast<int>(status.error_code())) + " " + status.error_message();
}

void OnBoot(const BlockContext& ctx, const InboundCall<v201::BootNotificationRequest>& call,
            Responder<v201::BootNotificationResponse> respond) {
  const auto& station = call.station;
  const v201::ChargingStation& cs = call.request.charging_station;
  const std::string serial = cs.serial_number.value_or("");
  // Profile 3: the serial number must be the one the certificate was issued for (B01.FR.11/12).
  if (!station->certificate_cn.empty() && !serial.empty() && serial != station->certificate_cn) {
    CSMS_LOG_WITH(kWarn, "gateway", (log::Fields{station->charger_id, call.message_id}))
        << station->charger_id << " booted with serialNumber '" << log::Sanitize(serial, 48)
        << "', not the CN of its client certificate; closing the connection";
    station->close_requested = true;
    return respond.Error(ec::kSecurityError,
                         "chargingStation.serialNumber does not match the client certificate's CN");
  }
  control::v1::BootNotificationRequest request;
  request.set_charger_id(station->charger_id);
  request.set_connection_id(station->connection_id);
  request.set_reason(std::string(v201::ToString(call.request.reason)));
  request.set_vendor(cs.vendor_name);
  request.set_model(cs.model);
  request.set_serial_number(serial);
  request.set_firmware_version(cs.firmware_version.value_or(""));
  request.set_require_provisioning(ctx.options.require_provisioning);
  ctx.backend.BootNotification(request, [&ctx, station, id = call.message_id, respond](
                                            const grpc::Status& status,
                                            const control::v1::BootNotificationResponse& decision) {
    v201::BootNotificationResponse answer;
    answer.current_time = FormatRfc3339(ctx.clock.Now());
    if (status.ok() && v201::FromString(decision.status(), answer.status)) {
      answer.interval = decision.interval_seconds();
      station->registration = RegistrationFromString(decision.status());
    } else {
      // Control cannot decide now: Pending makes the charger boot again after the interval
      // instead of failing, and nothing is lost (it sends no transactions while Pending).
      CSMS_LOG_WITH(kWarn, "gateway", (log::Fields{station->charger_id, id, "BootNotification"}))
          << "boot of " << station->charger_id << " answered Pending: control unavailable ("
          << (status.ok() ? "unknown status " + decision.status() : GrpcFailure(status)) << ")";
      answer.interval = ctx.options.backend_down_retry_interval_s;
      answer.status = v201::RegistrationStatusEnum::kPending;
      station->registration = Registration::kPending;
    }
    respond.Ok(answer);
  });
}

}  // namespace

void AddProvisioningRoutes(RouteTable& routes, const BlockContext& ctx) {
  routes
      .Add<v201::BootNotificationRequest>(
          [&ctx](const auto& call, auto respond) { OnBoot(ctx, call, std::move(respond)); })
      .allowed_before_accepted = true;
  routes.Add<v201::HeartbeatRequest>([&ctx](const auto&, auto respond) {
    v201::HeartbeatResponse answer;
    answer.current_time = FormatRfc3339(ctx.clock.Now());
    respond.Ok(answer);
  });
  // The report a GetBaseReport / GetReport asked for: allowed while Pending (B02.FR.09).
  routes
      .Add<v201::NotifyReportRequest>([&ctx](const auto& call, auto respond) {
        control::v1::ReportPartRequest part;
        part.set_charger_id(call.station->charger_id);
        part.set_connection_id(call.station->connection_id);
        *part.mutable_received_at() = ToProto(ctx.clock.Now());
        part.set_payload_json(
            ocpp::RedactSecrets(v201::NotifyReportRequest::kAction, ocpp::Encode(call.request))
                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        ctx.backend.RecordReportPart(
            std::move(part), [respond = std::move(respond), charger_id = call.station->charger_id](
                                 const grpc::Status& status, const control::v1::ReportResponse&) {
              if (status.ok()) return respond.Ok({});
              respond.Error(ocpp::error_code::kInternalError,
                            NotStored(charger_id, respond.message_id(), "NotifyReport", status,
                                      "device model"));
            });
      })
      .allowed_before_accepted = true;
}

}  // namespace csms::gateway::ocpp201
