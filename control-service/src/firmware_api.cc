#include "csms/control/firmware_api.h"

#include "csms/common/log.h"
#include "csms/control/operator_call.h"
#include "csms/control/rpc_status.h"
#include "csms/ocpp/v201/update_firmware.h"

namespace csms::control {
namespace {

namespace v201 = ocpp::v201;
using grpc::StatusCode;
constexpr const char* kComponent = "control";

}  // namespace

grpc::ServerUnaryReactor* FirmwareApi::UpdateFirmware(grpc::CallbackServerContext* context,
                                                      const v1::UpdateFirmwareRequest* request,
                                                      v1::UpdateFirmwareResponse* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "UpdateFirmware", [&] {
    const auth::Principal who =
        AuthorizeCaller(auth_, *context, auth::Role::kAdmin, "UpdateFirmware");
    const ChargerRecord charger = FindCharger(access_, request->charger_id());
    if (request->location().empty()) BadRequest("location is required");
    if (request->location().size() > 512) BadRequest("location is longer than 512 characters");
    if (request->signature().empty() != request->signing_certificate().empty()) {
      BadRequest("give signature and signing_certificate together, or neither (unsigned)");
    }
    if (request->signature().size() > 800) BadRequest("signature is longer than 800 characters");
    if (request->signing_certificate().size() > 5500) {
      BadRequest("signing_certificate is longer than 5500 characters");
    }
    if (request->has_retries() && request->retries() < 0) BadRequest("retries must be >= 0");
    if (request->has_retry_interval_s() && request->retry_interval_s() < 0) {
      BadRequest("retry_interval_s must be >= 0");
    }
    RequireOnline(access_, charger);

    NewFirmwareJob job;
    job.charger_id = charger.charger_id;
    job.location = request->location();
    job.retrieve_at =
        request->has_retrieve_at() ? FromProto(request->retrieve_at()) : RealClock().Now();
    if (request->has_install_at()) job.install_at = FromProto(request->install_at());
    job.signing_certificate = request->signing_certificate();
    job.signature = request->signature();
    if (request->has_retries()) job.retries = request->retries();
    if (request->has_retry_interval_s()) job.retry_interval_s = request->retry_interval_s();
    job.firmware_version_before = charger.firmware_version;
    job.requested_by = who.key_id;
    const auto created = store_.Create(job);
    if (!created) {
      throw RpcError(CommandError(StatusCode::FAILED_PRECONDITION, "firmware_update_in_progress",
                                  "charger " + charger.charger_id +
                                      " has a firmware update in progress (GET /chargers/" +
                                      charger.charger_id + "/firmware)"));
    }
    const int32_t request_id = created->request_id();

    v201::UpdateFirmwareRequest call;
    call.request_id = request_id;
    call.firmware.location = job.location;
    call.firmware.retrieve_date_time = FormatRfc3339(job.retrieve_at);
    if (job.install_at) call.firmware.install_date_time = FormatRfc3339(*job.install_at);
    if (!job.signature.empty()) {
      call.firmware.signature = job.signature;
      call.firmware.signing_certificate = job.signing_certificate;
    }
    call.retries = job.retries;
    call.retry_interval = job.retry_interval_s;

    sender_.Send(
        charger, call, who.key_id, CallBudget(*context, timeout_),
        [this, context, reactor, response, charger_id = charger.charger_id,
         request_id](TypedReply<v201::UpdateFirmwareResponse> reply) {
          Guard(reactor, "UpdateFirmware", [&] {
            if (!reply.response) {
              store_.CallFailed(charger_id, request_id,
                                "UpdateFirmware got no usable answer: " +
                                    std::string(OutcomeName(reply.raw.outcome)) + " " +
                                    reply.raw.error_code + " " + reply.raw.description);
              if (reply.raw.outcome == CommandOutcome::kCallError) {
                context->AddTrailingMetadata("ocpp-error-code", reply.raw.error_code);
              }
              return reactor->Finish(CommandFailure("UpdateFirmware", reply.raw));
            }
            const auto& answer = *reply.response;
            const std::string status(v201::ToString(answer.status));
            std::string detail;
            if (answer.status == v201::UpdateFirmwareStatusEnum::kAcceptedCanceled) {
              detail = "the charger canceled an update it was running for this one";
            }
            *response->mutable_job() = store_.Answered(charger_id, request_id, status, detail);
            response->set_status(status);
            if (answer.status_info) {
              response->set_reason_code(answer.status_info->reason_code);
              response->set_additional_info(answer.status_info->additional_info.value_or(""));
            }
            reactor->Finish(grpc::Status::OK);
          });
        });
    CSMS_LOG(kInfo, kComponent) << "charger " << log::Sanitize(charger.charger_id)
                                << ": firmware update " << request_id << " requested by "
                                << log::Sanitize(who.key_id, 80);
  });
  return reactor;
}

grpc::ServerUnaryReactor* FirmwareApi::ListFirmwareJobs(grpc::CallbackServerContext* context,
                                                        const v1::ListFirmwareJobsRequest* request,
                                                        v1::ListFirmwareJobsResponse* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "ListFirmwareJobs", [&] {
    AuthorizeCaller(auth_, *context, auth::Role::kRead, "ListFirmwareJobs");
    const ChargerRecord charger = FindCharger(access_, request->charger_id());
    int limit = request->limit() <= 0 ? 20 : request->limit();
    if (limit > 200) limit = 200;
    for (auto& job : store_.List(charger.charger_id, limit)) {
      *response->add_jobs() = std::move(job);
    }
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

}  // namespace csms::control
