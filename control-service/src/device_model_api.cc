#include "csms/control/device_model_api.h"

#include "csms/common/log.h"
#include "csms/control/operator_call.h"
#include "csms/control/rpc_status.h"
#include "csms/ocpp/v201/get_base_report.h"
#include "csms/ocpp/v201/get_report.h"

namespace csms::control {
namespace {

namespace v201 = ocpp::v201;
using grpc::StatusCode;
constexpr const char* kComponent = "control";

template <typename E>
E EnumField(const std::string& text, const char* field) {
  E value{};
  if (v201::FromString(text, value)) return value;
  std::string allowed;
  for (std::string_view v : AllValues(E{}))
    allowed += (allowed.empty() ? "" : ", ") + std::string(v);
  BadRequest(std::string(field) + " must be one of " + allowed + " (not '" +
             log::Sanitize(text, 40) + "')");
}

v201::GetReportRequest CustomReport(const v1::RequestReportRequest& r, int32_t request_id) {
  v201::GetReportRequest out;
  out.request_id = request_id;
  if (r.component_variables_size() > 0) {
    out.component_variable.emplace();
    for (const auto& ref : r.component_variables()) {
      if (ref.component().empty()) BadRequest("component is required in component_variables");
      v201::ComponentVariable cv;
      cv.component.name = ref.component();
      if (!ref.component_instance().empty()) cv.component.instance = ref.component_instance();
      if (ref.has_evse_id()) {
        cv.component.evse.emplace();
        cv.component.evse->id = ref.evse_id();
        if (ref.has_connector_id()) cv.component.evse->connector_id = ref.connector_id();
      } else if (ref.has_connector_id()) {
        BadRequest("connector_id needs evse_id");
      }
      if (!ref.variable().empty()) {
        cv.variable.emplace();
        cv.variable->name = ref.variable();
        if (!ref.variable_instance().empty()) cv.variable->instance = ref.variable_instance();
      }
      out.component_variable->push_back(std::move(cv));
    }
  }
  if (r.component_criteria_size() > 0) {
    out.component_criteria.emplace();
    for (const auto& c : r.component_criteria()) {
      out.component_criteria->push_back(
          EnumField<v201::ComponentCriterionEnum>(c, "component_criteria"));
    }
  }
  return out;
}

template <typename Response>
void Fill(const Response& answer, int32_t request_id, v1::RequestReportResponse* out) {
  out->set_status(std::string(v201::ToString(answer.status)));
  if (answer.status_info) {
    out->set_reason_code(answer.status_info->reason_code);
    out->set_additional_info(answer.status_info->additional_info.value_or(""));
  }
  out->set_request_id(request_id);
}

}  // namespace

grpc::ServerUnaryReactor* DeviceModelApi::RequestReport(grpc::CallbackServerContext* context,
                                                        const v1::RequestReportRequest* request,
                                                        v1::RequestReportResponse* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "RequestReport", [&] {
    const auth::Principal who =
        AuthorizeCaller(auth_, *context, auth::Role::kOperate, "RequestReport");
    const ChargerRecord charger = FindCharger(access_, request->charger_id());
    const bool base = !request->report_base().empty();
    if (!base && request->component_variables_size() == 0 &&
        request->component_criteria_size() == 0) {
      BadRequest("give report_base, or component_variables / component_criteria");
    }
    if (base &&
        (request->component_variables_size() > 0 || request->component_criteria_size() > 0)) {
      BadRequest(
          "report_base asks for a whole base report; leave out component_variables and "
          "component_criteria");
    }
    const auto report_base =
        base ? EnumField<v201::ReportBaseEnum>(request->report_base(), "report_base")
             : v201::ReportBaseEnum{};
    auto custom = base ? v201::GetReportRequest{} : CustomReport(*request, 0);
    RequireOnline(access_, charger);
    const int32_t request_id = store_.NewRequestId();
    custom.request_id = request_id;
    store_.CreateReport(charger.charger_id, request_id,
                        base ? std::string(v201::ToString(report_base)) : "Custom", who.key_id);
    // The answer, or why there is none: the report row says so either way.
    auto finish = [this, context, reactor, response, charger_id = charger.charger_id, request_id](
                      const CommandReply& raw, auto&& answer, std::string_view action) {
      Guard(reactor, "RequestReport", [&] {
        if (!answer) {
          store_.SetReportStatus(charger_id, request_id, "Failed");
          if (raw.outcome == CommandOutcome::kCallError) {
            context->AddTrailingMetadata("ocpp-error-code", raw.error_code);
          }
          return reactor->Finish(CommandFailure(std::string(action), raw));
        }
        store_.SetReportStatus(charger_id, request_id, std::string(v201::ToString(answer->status)));
        Fill(*answer, request_id, response);
        reactor->Finish(grpc::Status::OK);
      });
    };
    const auto budget = CallBudget(*context, timeout_);
    if (base) {
      v201::GetBaseReportRequest call;
      call.request_id = request_id;
      call.report_base = report_base;
      sender_.Send(charger, call, who.key_id, budget,
                   [finish](TypedReply<v201::GetBaseReportResponse> reply) {
                     finish(reply.raw, reply.response, v201::GetBaseReportRequest::kAction);
                   });
    } else {
      sender_.Send(charger, custom, who.key_id, budget,
                   [finish](TypedReply<v201::GetReportResponse> reply) {
                     finish(reply.raw, reply.response, v201::GetReportRequest::kAction);
                   });
    }
    CSMS_LOG(kInfo, kComponent) << "charger " << log::Sanitize(charger.charger_id) << ": report "
                                << request_id << " requested by " << log::Sanitize(who.key_id, 80);
  });
  return reactor;
}

}  // namespace csms::control
