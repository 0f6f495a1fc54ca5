// A and M: security and certificates. A security event goes into the charger's event log and is
// answered once stored (a charger must not think it reported what was lost). Until the
// certificate lifecycle exists, certificate requests get the answers the specification allows
// for a CSMS that cannot serve them (never NotSupported for messages real stations send):
// SignCertificate Rejected (A02.FR.03 lets the CSMS refuse), Get15118EVCertificate and
// GetCertificateStatus Failed.
#include "csms/gateway/ocpp201/blocks.h"
#include "csms/ocpp/v201/get15118_ev_certificate.h"
#include "csms/ocpp/v201/get_certificate_status.h"
#include "csms/ocpp/v201/security_event_notification.h"
#include "csms/ocpp/v201/sign_certificate.h"

namespace csms::gateway::ocpp201 {

namespace v201 = ocpp::v201;

namespace {

v201::StatusInfo NotAvailable(std::string detail) {
  v201::StatusInfo info;
  info.reason_code = "NotImplemented";
  info.additional_info = std::move(detail);
  return info;
}

}  // namespace

void AddSecurityRoutes(RouteTable& routes, const BlockContext& ctx) {
  routes.Add<v201::SecurityEventNotificationRequest>([&ctx](const auto& call, auto respond) {
    const auto& r = call.request;
    const TimePoint occurred_at = RequireTime(r.timestamp, "timestamp");
    LogNotification(*call.station, call.message_id, "SecurityEventNotification", r.type);
    auto event =
        MakeChargerEvent(*call.station, r.kAction, r.type, ctx.clock.Now(), ocpp::Encode(r));
    *event.mutable_occurred_at() = ToProto(occurred_at);
    RecordThenAnswer(ctx, {std::move(event)}, std::move(respond));
  });
  routes.Add<v201::SignCertificateRequest>([](const auto& call, auto respond) {
    LogNotification(*call.station, call.message_id, "SignCertificate", "rejected: no CA");
    v201::SignCertificateResponse answer;
    answer.status = v201::GenericStatusEnum::kRejected;
    answer.status_info = NotAvailable("this CSMS signs no certificates yet");
    respond.Ok(answer);
  });
  routes.Add<v201::Get15118EVCertificateRequest>([](const auto& call, auto respond) {
    LogNotification(*call.station, call.message_id, "Get15118EVCertificate", "failed: no V2G CA");
    v201::Get15118EVCertificateResponse answer;
    answer.status = v201::Iso15118EVCertificateStatusEnum::kFailed;
    answer.status_info = NotAvailable("no ISO 15118 certificate service is configured");
    respond.Ok(answer);
  });
  routes.Add<v201::GetCertificateStatusRequest>([](const auto& call, auto respond) {
    LogNotification(*call.station, call.message_id, "GetCertificateStatus", "failed: no OCSP");
    v201::GetCertificateStatusResponse answer;
    answer.status = v201::GetCertificateStatusEnum::kFailed;
    answer.status_info = NotAvailable("no OCSP responder is configured");
    respond.Ok(answer);
  });
}

}  // namespace csms::gateway::ocpp201
