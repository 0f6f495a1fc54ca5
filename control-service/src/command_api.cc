#include "csms/control/command_api.h"

#include <google/protobuf/util/json_util.h>

#include <pqxx/pqxx>

#include "csms/common/log.h"
#include "csms/common/ocpp_actions.h"
#include "csms/common/ocpp_redact.h"
#include "csms/control/operator_call.h"
#include "csms/control/rpc_status.h"
#include "csms/ocpp/v201/change_availability.h"
#include "csms/ocpp/v201/clear_cache.h"
#include "csms/ocpp/v201/data_transfer.h"
#include "csms/ocpp/v201/get_transaction_status.h"
#include "csms/ocpp/v201/get_variables.h"
#include "csms/ocpp/v201/reset.h"
#include "csms/ocpp/v201/set_variables.h"
#include "csms/ocpp/v201/trigger_message.h"
#include "csms/ocpp/v201/unlock_connector.h"

namespace csms::control {
namespace {

namespace v201 = ocpp::v201;
using grpc::StatusCode;
using nlohmann::json;

constexpr const char* kComponent = "control";
constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;

std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// A version-neutral enum field as the OCPP 2.0.1 enum; `fallback` when empty.
template <typename E>
E ParseEnum(const std::string& text, const char* field, std::optional<E> fallback = {}) {
  if (text.empty() && fallback) return *fallback;
  E value{};
  if (v201::FromString(text, value)) return value;
  std::string allowed;
  for (std::string_view v : AllValues(E{}))
    allowed += (allowed.empty() ? "" : ", ") + std::string(v);
  BadRequest(std::string(field) + " must be one of " + allowed +
             (text.empty() ? "" : " (not '" + log::Sanitize(text, 40) + "')"));
}

// The EVSE a request names with its optional evse_id / connector_id fields (every message of
// the command API that can name one spells them so).
template <typename Message>
std::optional<v201::EVSE> EvseOf(const Message& m) {
  if (!m.has_evse_id()) {
    if (m.has_connector_id()) BadRequest("connector_id needs evse_id");
    return std::nullopt;
  }
  v201::EVSE evse;
  evse.id = m.evse_id();
  if (m.has_connector_id()) evse.connector_id = m.connector_id();
  return evse;
}

// google.protobuf.Value <-> JSON (DataTransfer's free-form data), through JSON text.
json FromValue(const google::protobuf::Value& value) {
  std::string text;
  if (!google::protobuf::util::MessageToJsonString(value, &text).ok()) return nullptr;
  return json::parse(text, nullptr, false);
}

google::protobuf::Value ToValue(const json& value) {
  google::protobuf::Value out;
  if (!google::protobuf::util::JsonStringToMessage(Dump(value), &out).ok()) out.set_null_value({});
  return out;
}

void FillStatus(const std::string& status, const std::optional<v201::StatusInfo>& info,
                v1::CommandStatus* out) {
  out->set_status(status);
  if (info) {
    out->set_reason_code(info->reason_code);
    out->set_additional_info(info->additional_info.value_or(""));
  }
}

// VariableRef, VariableSetting and VariableResult name a variable with the same fields.
template <typename Ref>
v201::Component ComponentOf(const Ref& ref) {
  if (ref.component().empty()) BadRequest("component is required for every variable");
  if (ref.variable().empty()) BadRequest("variable is required for every variable");
  v201::Component component;
  component.name = ref.component();
  if (!ref.component_instance().empty()) component.instance = ref.component_instance();
  component.evse = EvseOf(ref);
  return component;
}

template <typename Ref>
v201::Variable VariableOf(const Ref& ref) {
  v201::Variable variable;
  variable.name = ref.variable();
  if (!ref.variable_instance().empty()) variable.instance = ref.variable_instance();
  return variable;
}

template <typename Ref>
void FillRef(const v201::Component& component, const v201::Variable& variable,
             const std::optional<v201::AttributeEnum>& type, Ref* out) {
  out->set_component(component.name);
  out->set_component_instance(component.instance.value_or(""));
  if (component.evse) {
    out->set_evse_id(component.evse->id);
    if (component.evse->connector_id) out->set_connector_id(*component.evse->connector_id);
  }
  out->set_variable(variable.name);
  out->set_variable_instance(variable.instance.value_or(""));
  out->set_attribute_type(std::string(v201::ToString(type.value_or(v201::AttributeEnum::kActual))));
}

// A GetVariableResult or SetVariableResult: the variable, its status and why.
template <typename Result>
v1::VariableResult* FillResult(const Result& result, v1::VariableResult* out) {
  FillRef(result.component, result.variable, result.attribute_type, out);
  out->set_status(std::string(v201::ToString(result.attribute_status)));
  if (result.attribute_status_info) {
    out->set_reason_code(result.attribute_status_info->reason_code);
    out->set_additional_info(result.attribute_status_info->additional_info.value_or(""));
  }
  return out;
}

// Items of SetVariables whose state the CSMS owns (SecurityCtrlr: the password, the profile).
void RefuseSecurityVariables(const v201::SetVariablesRequest& request) {
  for (const auto& item : request.set_variable_data) {
    if (ocpp::IsSecurityComponent(item.component.name)) {
      throw RpcError(CommandError(
          StatusCode::FAILED_PRECONDITION, "use_typed_endpoint",
          "SecurityCtrlr." + item.variable.name +
              " is the CSMS's own security state: use POST /chargers/{id}/password (gRPC "
              "RotateChargerPassword) for the Basic-auth password; security profiles are set "
              "by provisioning"));
    }
  }
}

// `whole` as the CALLs the charger's limits allow (one when they are unknown). The byte count is
// of the CALL frame as it goes out: [2,"<36-char id>","<action>",payload].
template <typename Request, typename Item>
std::vector<Request> Split(Request whole, std::vector<Item> Request::*items,
                           std::optional<int> max_items, std::optional<int> max_bytes) {
  std::vector<Item> all = std::move(whole.*items);
  const size_t envelope = 48 + Request::kAction.size() + Dump(ocpp::Encode(whole)).size() +
                          std::string_view("\"xxxxxxxxxxxxxxxxxx\":[]").size();
  std::vector<size_t> sizes(all.size());
  for (size_t i = 0; i < all.size(); ++i) sizes[i] = Dump(ocpp::Encode(all[i])).size();
  std::vector<Request> out;
  size_t next = 0;
  for (size_t count : ChunkSizes(all.size(), max_items, max_bytes, envelope,
                                 [&sizes](size_t i) { return sizes[i]; })) {
    Request part = whole;
    (part.*items)
        .assign(std::make_move_iterator(all.begin() + next),
                std::make_move_iterator(all.begin() + next + count));
    next += count;
    out.push_back(std::move(part));
  }
  return out;
}

// Remembers the limits a GetVariables answer reveals; a failure to store them costs nothing
// but a later split.
void LearnLimits(MessageLimitsStore& store, const std::string& charger_id,
                 const v201::GetVariablesResponse& answer) {
  if (auto limits = LimitsIn(answer)) {
    try {
      store.Learn(charger_id, *limits);
    } catch (const std::exception& e) {
      CSMS_LOG(kWarn, kComponent) << "message limits of " << charger_id
                                  << " not stored: " << log::Sanitize(e.what(), 200);
    }
  }
}

// Before Finish: the OCPP error code also as trailing metadata, for gRPC clients.
void FinishFailure(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
                   const std::string& action, const CommandReply& reply) {
  if (reply.outcome == CommandOutcome::kCallError) {
    context->AddTrailingMetadata("ocpp-error-code", reply.error_code);
  }
  reactor->Finish(CommandFailure(action, reply));
}

// Sends a command's CALLs one after another (a charger takes one CALL at a time anyway) and
// reports all answers, or the first failure and how many CALLs had succeeded before it.
template <typename Request>
class SequentialSend : public std::enable_shared_from_this<SequentialSend<Request>> {
 public:
  using Response = typename Request::Response;
  using Done = std::function<void(std::vector<Response>, std::optional<CommandReply> failure)>;

  SequentialSend(CommandSender& sender, ChargerRecord charger, std::vector<Request> requests,
                 std::string issued_by, std::chrono::steady_clock::time_point deadline, Done done)
      : sender_(sender),
        charger_(std::move(charger)),
        requests_(std::move(requests)),
        issued_by_(std::move(issued_by)),
        deadline_(deadline),
        done_(std::move(done)) {}

  void Next() {
    if (responses_.size() == requests_.size()) return done_(std::move(responses_), std::nullopt);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline_ - std::chrono::steady_clock::now());
    sender_.Send<Request>(charger_, requests_[responses_.size()], issued_by_,
                          std::max(left, std::chrono::milliseconds(1)),
                          [self = this->shared_from_this()](TypedReply<Response> reply) {
                            if (!reply.response) {
                              return self->done_(std::move(self->responses_), reply.raw);
                            }
                            self->responses_.push_back(std::move(*reply.response));
                            self->Next();
                          });
  }

 private:
  CommandSender& sender_;
  ChargerRecord charger_;
  std::vector<Request> requests_;
  std::string issued_by_;
  std::chrono::steady_clock::time_point deadline_;
  Done done_;
  std::vector<Response> responses_;
};

}  // namespace

template <typename OcppRequest, typename Response, typename Build, typename Render, typename Split>
grpc::ServerUnaryReactor* CommandApi::Run(grpc::CallbackServerContext* context,
                                          const std::string& charger_id, const char* method,
                                          Response* response, Build build, Render render,
                                          Split split) {
  using OcppResponse = typename OcppRequest::Response;
  auto* reactor = context->DefaultReactor();
  Guard(reactor, method, [&] {
    const auth::Principal who = AuthorizeCaller(&auth_, *context, auth::Role::kOperate, method);
    const ChargerRecord charger = FindCharger(access_, charger_id);
    std::vector<OcppRequest> requests;
    if constexpr (std::is_same_v<Split, std::nullptr_t>) {
      requests.push_back(build());
    } else {
      requests = split(charger, build());
    }
    RequireOnline(access_, charger);
    const size_t calls = requests.size();
    auto send = std::make_shared<SequentialSend<OcppRequest>>(
        sender_, charger, std::move(requests), who.key_id,
        std::chrono::steady_clock::now() + CallBudget(*context, timeout_),
        [context, reactor, response, render, calls](std::vector<OcppResponse> answers,
                                                    std::optional<CommandReply> failure) {
          if (failure) {
            if (calls > 1 && !answers.empty()) {
              // Part of it was done: say so, the command log has each CALL.
              failure->description += " (after " + std::to_string(answers.size()) + " of " +
                                      std::to_string(calls) +
                                      " CALLs had succeeded; see the command log)";
            }
            return FinishFailure(context, reactor, std::string(OcppRequest::kAction), *failure);
          }
          if constexpr (std::is_invocable_v<Render, const OcppResponse&, Response*>) {
            render(answers.front(), response);
          } else {
            render(answers, response);
          }
          reactor->Finish(grpc::Status::OK);
        });
    send->Next();
  });
  return reactor;
}

grpc::ServerUnaryReactor* CommandApi::SendOcppCall(grpc::CallbackServerContext* context,
                                                   const v1::SendOcppCallRequest* request,
                                                   v1::SendOcppCallResponse* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "SendOcppCall", [&] {
    const std::string& action = request->action();
    auth::Principal who = AuthorizeCaller(&auth_, *context, auth::Role::kOperate, "SendOcppCall");
    // The order of checks is the contract (DESIGN.md): charger, action, ownership, role,
    // payload, connection, then the charger's answer.
    const ChargerRecord charger = FindCharger(access_, request->charger_id());
    const ocpp::CommandRule rule = ocpp::Ocpp201CommandRule(action);
    if (rule.policy == ocpp::CommandPolicy::kNotACommand) {
      throw RpcError(CommandError(StatusCode::NOT_FOUND, "unknown_action",
                                  "'" + log::Sanitize(action, 64) +
                                      "' is not an OCPP 2.0.1 action a CSMS sends to a charger"));
    }
    if (rule.policy == ocpp::CommandPolicy::kOwned) {
      throw RpcError(CommandError(StatusCode::FAILED_PRECONDITION, "use_typed_endpoint",
                                  "the CSMS owns the state " + action + " changes: use " +
                                      std::string(rule.typed_endpoint)));
    }
    json payload = json::parse(request->payload_json(), nullptr, /*allow_exceptions=*/false);
    if (payload.is_discarded()) {
      throw RpcError(
          CommandError(StatusCode::INVALID_ARGUMENT, "invalid_payload", "the payload is not JSON"));
    }
    if (action == "SetVariables" && payload.is_object()) {
      try {
        RefuseSecurityVariables(ocpp::Decode<v201::SetVariablesRequest>(payload));
      } catch (const ocpp::model::DecodeError&) {
        // The schema check below names what is wrong with it.
      }
    }
    if (rule.policy == ocpp::CommandPolicy::kAdmin && who.role < auth::Role::kAdmin) {
      throw RpcError(CommandError(StatusCode::PERMISSION_DENIED, "forbidden",
                                  action + " changes a charger's trust, network or firmware: it "
                                           "needs the admin role"));
    }
    // The schema check happens in the sender too; here it must come before "offline".
    if (auto violation =
            ocpp::SchemaSet::Ocpp201().Validate(action, ocpp::PayloadKind::kRequest, payload)) {
      throw RpcError(CommandError(StatusCode::INVALID_ARGUMENT, "invalid_payload",
                                  action + ": " + violation->description,
                                  json{{"code", violation->code}}));
    }
    RequireOnline(access_, charger);
    sender_.SendRaw(charger, action, std::move(payload), who.key_id, CallBudget(*context, timeout_),
                    [context, reactor, response, action](CommandReply reply) {
                      if (reply.outcome != CommandOutcome::kResult) {
                        return FinishFailure(context, reactor, action, reply);
                      }
                      response->set_action(action);
                      response->set_response_json(Dump(reply.result));
                      reactor->Finish(grpc::Status::OK);
                    });
  });
  return reactor;
}

grpc::ServerUnaryReactor* CommandApi::ResetCharger(grpc::CallbackServerContext* context,
                                                   const v1::ResetChargerRequest* request,
                                                   v1::CommandStatus* response) {
  return Run<v201::ResetRequest>(
      context, request->charger_id(), "ResetCharger", response,
      [request] {
        v201::ResetRequest r;
        r.type = ParseEnum<v201::ResetEnum>(request->type(), "type", v201::ResetEnum::kImmediate);
        if (request->has_evse_id()) r.evse_id = request->evse_id();
        return r;
      },
      [](const v201::ResetResponse& r, v1::CommandStatus* out) {
        FillStatus(std::string(v201::ToString(r.status)), r.status_info, out);
      });
}

grpc::ServerUnaryReactor* CommandApi::ChangeAvailability(
    grpc::CallbackServerContext* context, const v1::ChangeAvailabilityRequest* request,
    v1::CommandStatus* response) {
  return Run<v201::ChangeAvailabilityRequest>(
      context, request->charger_id(), "ChangeAvailability", response,
      [request] {
        v201::ChangeAvailabilityRequest r;
        r.operational_status = ParseEnum<v201::OperationalStatusEnum>(request->operational_status(),
                                                                      "operational_status");
        r.evse = EvseOf(*request);
        return r;
      },
      [](const v201::ChangeAvailabilityResponse& r, v1::CommandStatus* out) {
        FillStatus(std::string(v201::ToString(r.status)), r.status_info, out);
      });
}

grpc::ServerUnaryReactor* CommandApi::UnlockConnector(grpc::CallbackServerContext* context,
                                                      const v1::UnlockConnectorRequest* request,
                                                      v1::CommandStatus* response) {
  return Run<v201::UnlockConnectorRequest>(
      context, request->charger_id(), "UnlockConnector", response,
      [request] {
        if (request->evse_id() <= 0 || request->connector_id() <= 0) {
          BadRequest("evse_id and connector_id must be given (1 or more)");
        }
        v201::UnlockConnectorRequest r;
        r.evse_id = request->evse_id();
        r.connector_id = request->connector_id();
        return r;
      },
      [](const v201::UnlockConnectorResponse& r, v1::CommandStatus* out) {
        FillStatus(std::string(v201::ToString(r.status)), r.status_info, out);
      });
}

grpc::ServerUnaryReactor* CommandApi::TriggerMessage(grpc::CallbackServerContext* context,
                                                     const v1::TriggerMessageRequest* request,
                                                     v1::CommandStatus* response) {
  return Run<v201::TriggerMessageRequest>(
      context, request->charger_id(), "TriggerMessage", response,
      [request] {
        v201::TriggerMessageRequest r;
        r.requested_message =
            ParseEnum<v201::MessageTriggerEnum>(request->requested_message(), "requested_message");
        r.evse = EvseOf(*request);
        return r;
      },
      [](const v201::TriggerMessageResponse& r, v1::CommandStatus* out) {
        FillStatus(std::string(v201::ToString(r.status)), r.status_info, out);
      });
}

grpc::ServerUnaryReactor* CommandApi::ClearCache(grpc::CallbackServerContext* context,
                                                 const v1::ClearCacheRequest* request,
                                                 v1::CommandStatus* response) {
  return Run<v201::ClearCacheRequest>(
      context, request->charger_id(), "ClearCache", response,
      [] { return v201::ClearCacheRequest{}; },
      [](const v201::ClearCacheResponse& r, v1::CommandStatus* out) {
        FillStatus(std::string(v201::ToString(r.status)), r.status_info, out);
      });
}

grpc::ServerUnaryReactor* CommandApi::GetVariables(grpc::CallbackServerContext* context,
                                                   const v1::GetVariablesRequest* request,
                                                   v1::GetVariablesResponse* response) {
  return Run<v201::GetVariablesRequest>(
      context, request->charger_id(), "GetVariables", response,
      [request] {
        if (request->variables().empty()) BadRequest("variables must list at least one");
        v201::GetVariablesRequest r;
        for (const auto& ref : request->variables()) {
          v201::GetVariableData item;
          item.component = ComponentOf(ref);
          item.variable = VariableOf(ref);
          if (!ref.attribute_type().empty()) {
            item.attribute_type =
                ParseEnum<v201::AttributeEnum>(ref.attribute_type(), "attribute_type");
          }
          r.get_variable_data.push_back(std::move(item));
        }
        return r;
      },
      [this, charger_id = request->charger_id()](
          const std::vector<v201::GetVariablesResponse>& answers, v1::GetVariablesResponse* out) {
        out->set_calls(static_cast<int32_t>(answers.size()));
        for (const auto& answer : answers) {
          LearnLimits(limits_, charger_id, answer);
          for (const auto& result : answer.get_variable_result) {
            auto* item = FillResult(result, out->add_results());
            if (result.attribute_value) item->set_value(*result.attribute_value);
          }
        }
      },
      [this](const ChargerRecord& charger, v201::GetVariablesRequest whole) {
        const MessageLimits limits = limits_.Get(charger.charger_id);
        return Split(std::move(whole), &v201::GetVariablesRequest::get_variable_data,
                     limits.get_items, limits.get_bytes);
      });
}

grpc::ServerUnaryReactor* CommandApi::SetVariables(grpc::CallbackServerContext* context,
                                                   const v1::SetVariablesRequest* request,
                                                   v1::SetVariablesResponse* response) {
  return Run<v201::SetVariablesRequest>(
      context, request->charger_id(), "SetVariables", response,
      [request] {
        if (request->variables().empty()) BadRequest("variables must list at least one");
        v201::SetVariablesRequest r;
        for (const auto& setting : request->variables()) {
          v201::SetVariableData item;
          item.component = ComponentOf(setting);
          item.variable = VariableOf(setting);
          item.attribute_value = setting.value();
          if (!setting.attribute_type().empty()) {
            item.attribute_type =
                ParseEnum<v201::AttributeEnum>(setting.attribute_type(), "attribute_type");
          }
          r.set_variable_data.push_back(std::move(item));
        }
        RefuseSecurityVariables(r);
        return r;
      },
      [](const std::vector<v201::SetVariablesResponse>& answers, v1::SetVariablesResponse* out) {
        out->set_calls(static_cast<int32_t>(answers.size()));
        for (const auto& answer : answers) {
          for (const auto& result : answer.set_variable_result) {
            FillResult(result, out->add_results());
          }
        }
      },
      [this](const ChargerRecord& charger, v201::SetVariablesRequest whole) {
        const MessageLimits limits = limits_.Get(charger.charger_id);
        return Split(std::move(whole), &v201::SetVariablesRequest::set_variable_data,
                     limits.set_items, limits.set_bytes);
      });
}

grpc::ServerUnaryReactor* CommandApi::GetTransactionStatus(
    grpc::CallbackServerContext* context, const v1::GetTransactionStatusRequest* request,
    v1::GetTransactionStatusResponse* response) {
  return Run<v201::GetTransactionStatusRequest>(
      context, request->charger_id(), "GetTransactionStatus", response,
      [request] {
        v201::GetTransactionStatusRequest r;
        if (!request->transaction_id().empty()) r.transaction_id = request->transaction_id();
        return r;
      },
      [](const v201::GetTransactionStatusResponse& r, v1::GetTransactionStatusResponse* out) {
        out->set_messages_in_queue(r.messages_in_queue);
        if (r.ongoing_indicator) out->set_ongoing_indicator(*r.ongoing_indicator);
      });
}

grpc::ServerUnaryReactor* CommandApi::DataTransfer(grpc::CallbackServerContext* context,
                                                   const v1::DataTransferRequest* request,
                                                   v1::DataTransferResponse* response) {
  return Run<v201::DataTransferRequest>(
      context, request->charger_id(), "DataTransfer", response,
      [request] {
        if (request->vendor_id().empty()) BadRequest("vendor_id is required");
        v201::DataTransferRequest r;
        r.vendor_id = request->vendor_id();
        if (!request->message_id().empty()) r.message_id = request->message_id();
        if (request->has_data()) r.data = FromValue(request->data());
        return r;
      },
      [](const v201::DataTransferResponse& r, v1::DataTransferResponse* out) {
        out->set_status(std::string(v201::ToString(r.status)));
        if (r.data) *out->mutable_data() = ToValue(*r.data);
        if (r.status_info) {
          out->set_reason_code(r.status_info->reason_code);
          out->set_additional_info(r.status_info->additional_info.value_or(""));
        }
      });
}

grpc::ServerUnaryReactor* CommandApi::ListCommands(grpc::CallbackServerContext* context,
                                                   const v1::ListCommandsRequest* request,
                                                   v1::ListCommandsResponse* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "ListCommands", [&] {
    AuthorizeCaller(&auth_, *context, auth::Role::kRead, "ListCommands");
    if (request->limit() < 0 || request->limit() > kMaxPageSize) {
      BadRequest("limit must be between 1 and " + std::to_string(kMaxPageSize));
    }
    FindCharger(access_, request->charger_id());
    CommandLogPage page;
    try {
      page =
          log_.List(request->charger_id(),
                    request->limit() == 0 ? kDefaultPageSize : request->limit(), request->cursor());
    } catch (const std::invalid_argument& e) {
      BadRequest(e.what());
    }
    for (const auto& e : page.entries) {
      auto* out = response->add_commands();
      out->set_id(e.id);
      out->set_charger_id(e.charger_id);
      out->set_issued_by(e.issued_by);
      out->set_action(e.action);
      out->set_request_json(Dump(e.request));
      out->set_outcome(e.outcome);
      if (!e.response.is_null()) out->set_response_json(Dump(e.response));
      *out->mutable_sent_at() = ToProto(e.sent_at);
      out->set_latency_ms(e.latency_ms);
    }
    response->set_next_cursor(page.next_cursor);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

}  // namespace csms::control
