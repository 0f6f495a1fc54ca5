#include "csms/control/device_model_api.h"

#include <charconv>
#include <map>
#include <memory>

#include "csms/common/log.h"
#include "csms/common/ocpp_actions.h"
#include "csms/common/ocpp_redact.h"
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

// ListVariables' page sizes.
constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;

std::string Dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

VariableName NameOf(const v201::Component& component, const v201::Variable& variable) {
  VariableName n;
  n.component = component.name;
  n.component_instance = component.instance.value_or("");
  if (component.evse) {
    n.evse_id = component.evse->id;
    n.connector_id = component.evse->connector_id;
  }
  n.variable = variable.name;
  n.variable_instance = variable.instance.value_or("");
  return n;
}

VariableName NameOf(const v1::DeviceVariable& v) {
  VariableName n;
  n.component = v.component();
  n.component_instance = v.component_instance();
  if (v.has_evse_id()) n.evse_id = v.evse_id();
  if (v.has_connector_id()) n.connector_id = v.connector_id();
  n.variable = v.variable();
  n.variable_instance = v.variable_instance();
  return n;
}

std::string TypeOf(const std::optional<v201::AttributeEnum>& type) {
  return std::string(v201::ToString(type.value_or(v201::AttributeEnum::kActual)));
}

// One GetVariables item for a variable named as the stored model (or a request) names it.
v201::GetVariableData ItemOf(const VariableName& name, const std::string& type) {
  v201::GetVariableData item;
  item.component.name = name.component;
  if (!name.component_instance.empty()) item.component.instance = name.component_instance;
  if (name.evse_id) {
    item.component.evse.emplace();
    item.component.evse->id = *name.evse_id;
    item.component.evse->connector_id = name.connector_id;
  }
  item.variable.name = name.variable;
  if (!name.variable_instance.empty()) item.variable.instance = name.variable_instance;
  if (!type.empty()) {
    v201::AttributeEnum t{};
    if (v201::FromString(type, t)) item.attribute_type = t;
  }
  return item;
}

std::optional<int> PositiveInt(const std::string& text) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value <= 0) return std::nullopt;
  return value;
}

// A live read of exactly the variable named (else of what the stored model lists).
bool ExactLiveRead(const v1::ListVariablesRequest& request) {
  return !request.component().empty() && !request.variable().empty() && request.search().empty();
}

VariableFilter FilterOf(const v1::ListVariablesRequest& request) {
  VariableFilter filter;
  filter.charger_id = request.charger_id();
  filter.component = request.component();
  filter.component_instance = request.component_instance();
  if (request.has_evse_id()) filter.evse_id = request.evse_id();
  if (request.has_connector_id()) filter.connector_id = request.connector_id();
  filter.variable = request.variable();
  filter.variable_instance = request.variable_instance();
  filter.attribute_type = request.attribute_type();
  filter.search = request.search();
  return filter;
}

// Sends a live read's CALLs one after another (a charger takes one CALL at a time anyway) and
// reports all answers, or the first failure.
class LiveCalls : public std::enable_shared_from_this<LiveCalls> {
 public:
  using Done = std::function<void(std::vector<v201::GetVariablesResponse> answers,
                                  std::optional<CommandReply> failure)>;

  LiveCalls(CommandSender& sender, ChargerRecord charger,
            std::vector<v201::GetVariablesRequest> calls, std::string issued_by,
            std::chrono::steady_clock::time_point deadline, Done done)
      : sender_(sender),
        charger_(std::move(charger)),
        calls_(std::move(calls)),
        issued_by_(std::move(issued_by)),
        deadline_(deadline),
        done_(std::move(done)) {}

  void Next() {
    if (answers_.size() == calls_.size()) return done_(std::move(answers_), std::nullopt);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline_ - std::chrono::steady_clock::now());
    sender_.Send<v201::GetVariablesRequest>(
        charger_, calls_[answers_.size()], issued_by_, std::max(left, std::chrono::milliseconds(1)),
        [self = shared_from_this()](TypedReply<v201::GetVariablesResponse> reply) {
          if (!reply.response) return self->done_(std::move(self->answers_), reply.raw);
          self->answers_.push_back(std::move(*reply.response));
          self->Next();
        });
  }

 private:
  CommandSender& sender_;
  ChargerRecord charger_;
  std::vector<v201::GetVariablesRequest> calls_;
  std::string issued_by_;
  std::chrono::steady_clock::time_point deadline_;
  Done done_;
  std::vector<v201::GetVariablesResponse> answers_;
};

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

grpc::ServerUnaryReactor* DeviceModelApi::ListVariables(grpc::CallbackServerContext* context,
                                                        const v1::ListVariablesRequest* request,
                                                        v1::ListVariablesResponse* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "ListVariables", [&] {
    const bool live = request->live();
    // A live read sends CALLs: the role of the GetVariables command.
    const auth::Principal who = AuthorizeCaller(
        auth_, *context, live ? auth::Role::kOperate : auth::Role::kRead, "ListVariables");
    if (request->limit() < 0 || request->limit() > kMaxPageSize) {
      BadRequest("limit must be between 1 and " + std::to_string(kMaxPageSize));
    }
    const ChargerRecord charger = FindCharger(access_, request->charger_id());
    const std::string& type = request->attribute_type();
    if (!type.empty() && type != "Actual" && type != "Target" && type != "MinSet" &&
        type != "MaxSet") {
      BadRequest("attribute_type must be one of Actual, Target, MinSet, MaxSet");
    }
    if (live && ExactLiveRead(*request) && request->has_connector_id() && !request->has_evse_id()) {
      BadRequest("connector_id needs evse_id");
    }
    const VariableFilter filter = FilterOf(*request);
    if (live) return ReadLive(context, reactor, *request, filter, charger, who.key_id, response);
    VariablePage page;
    try {
      page = store_.List(filter, request->limit() == 0 ? kDefaultPageSize : request->limit(),
                         request->cursor());
    } catch (const std::invalid_argument& e) {
      BadRequest(e.what());
    }
    for (auto& v : page.variables) *response->add_variables() = std::move(v);
    response->set_next_cursor(page.next_cursor);
    if (auto last = store_.LastReport(charger.charger_id)) {
      *response->mutable_last_report() = std::move(*last);
    }
    response->set_source("stored");
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

void DeviceModelApi::ReadLive(grpc::CallbackServerContext* context,
                              grpc::ServerUnaryReactor* reactor,
                              const v1::ListVariablesRequest& request, const VariableFilter& filter,
                              const ChargerRecord& charger, const std::string& issued_by,
                              v1::ListVariablesResponse* response) {
  if (!request.cursor().empty()) {
    BadRequest("a live read is not paged: leave out cursor (narrow the filters instead)");
  }
  // What the stored model lists for the filter (and its characteristics, for the answer).
  VariablePage matched = store_.List(filter, static_cast<int>(kMaxLiveItems) + 1, "");
  auto items = LiveReadItems(request, matched.variables);
  if (items.size() > kMaxLiveItems || (!matched.next_cursor.empty() && !ExactLiveRead(request))) {
    BadRequest("a live read asks for at most " + std::to_string(kMaxLiveItems) +
               " attributes and these filters match more in the stored model: narrow them "
               "(component, variable, evse_id, type)");
  }
  VariableFilter ddc;
  ddc.charger_id = charger.charger_id;
  ddc.component = "DeviceDataCtrlr";
  const MessageLimits limits = GetVariablesLimits(store_.List(ddc, kMaxPageSize, "").variables);
  auto calls = SplitGetVariables(items, limits.get_items, limits.get_bytes);
  RequireOnline(access_, charger);
  CSMS_LOG(kDebug, kComponent) << "charger " << log::Sanitize(charger.charger_id)
                               << ": live read of " << items.size() << " attributes in "
                               << calls.size() << " GetVariables CALLs";
  const size_t count = calls.size();
  // The answers reach the stored model through the sender's observer before `done` runs.
  auto send = std::make_shared<LiveCalls>(
      sender_, charger, std::move(calls), issued_by,
      std::chrono::steady_clock::now() + CallBudget(*context, timeout_),
      [this, context, reactor, response, count, items = std::move(items),
       stored = std::move(matched.variables), charger_id = charger.charger_id](
          std::vector<v201::GetVariablesResponse> answers, std::optional<CommandReply> failure) {
        Guard(reactor, "ListVariables", [&] {
          if (failure) {
            if (count > 1 && !answers.empty()) {
              failure->description += " (after " + std::to_string(answers.size()) + " of " +
                                      std::to_string(count) +
                                      " CALLs had succeeded; see the command log)";
            }
            if (failure->outcome == CommandOutcome::kCallError) {
              context->AddTrailingMetadata("ocpp-error-code", failure->error_code);
            }
            return reactor->Finish(CommandFailure("GetVariables", *failure));
          }
          for (auto& v : LiveVariables(items, stored, answers, RealClock().Now())) {
            *response->add_variables() = std::move(v);
          }
          if (auto last = store_.LastReport(charger_id)) {
            *response->mutable_last_report() = std::move(*last);
          }
          response->set_source("live");
          reactor->Finish(grpc::Status::OK);
        });
      });
  send->Next();
}

std::vector<v201::GetVariableData> LiveReadItems(const v1::ListVariablesRequest& request,
                                                 const std::vector<v1::DeviceVariable>& stored) {
  std::vector<v201::GetVariableData> items;
  if (ExactLiveRead(request)) {
    VariableName name;
    name.component = request.component();
    name.component_instance = request.component_instance();
    if (request.has_evse_id()) name.evse_id = request.evse_id();
    if (request.has_evse_id() && request.has_connector_id()) {
      name.connector_id = request.connector_id();
    }
    name.variable = request.variable();
    name.variable_instance = request.variable_instance();
    items.push_back(ItemOf(name, request.attribute_type()));
    return items;
  }
  for (const auto& v : stored) {
    const VariableName name = NameOf(v);
    if (v.attributes().empty()) {
      // None stored (of the requested type, when one is): Actual, unless another was asked for.
      if (request.attribute_type().empty()) items.push_back(ItemOf(name, ""));
      continue;
    }
    for (const auto& a : v.attributes()) {
      if (!request.attribute_type().empty() && a.type() != request.attribute_type()) continue;
      items.push_back(ItemOf(name, a.type() == "Actual" ? "" : a.type()));
    }
  }
  return items;
}

MessageLimits GetVariablesLimits(const std::vector<v1::DeviceVariable>& device_data_ctrlr) {
  MessageLimits limits;
  for (const auto& v : device_data_ctrlr) {
    if (!ocpp::SameOcppName(v.component(), "DeviceDataCtrlr") ||
        !ocpp::SameOcppName(v.variable_instance(), "GetVariables")) {
      continue;
    }
    const bool items = ocpp::SameOcppName(v.variable(), "ItemsPerMessage");
    const bool bytes = ocpp::SameOcppName(v.variable(), "BytesPerMessage");
    if (!items && !bytes) continue;
    for (const auto& a : v.attributes()) {
      if (a.type() != "Actual" || !a.has_value()) continue;
      if (auto value = PositiveInt(a.value()))
        (items ? limits.get_items : limits.get_bytes) = value;
    }
  }
  return limits;
}

std::vector<v201::GetVariablesRequest> SplitGetVariables(std::vector<v201::GetVariableData> items,
                                                         std::optional<int> max_items,
                                                         std::optional<int> max_bytes) {
  std::vector<v201::GetVariablesRequest> out;
  if (items.empty()) return out;
  // [2,"<36-char id>","GetVariables",{"getVariableData":[...]}]
  const size_t envelope = 48 + v201::GetVariablesRequest::kAction.size() +
                          Dump(ocpp::Encode(v201::GetVariablesRequest{})).size() +
                          std::string_view("\"getVariableData\":[]").size();
  std::vector<size_t> sizes(items.size());
  for (size_t i = 0; i < items.size(); ++i) sizes[i] = Dump(ocpp::Encode(items[i])).size();
  size_t next = 0;
  for (size_t count : ChunkSizes(items.size(), max_items, max_bytes, envelope,
                                 [&sizes](size_t i) { return sizes[i]; })) {
    v201::GetVariablesRequest call;
    call.get_variable_data.assign(std::make_move_iterator(items.begin() + next),
                                  std::make_move_iterator(items.begin() + next + count));
    next += count;
    out.push_back(std::move(call));
  }
  return out;
}

std::vector<v1::DeviceVariable> LiveVariables(
    const std::vector<v201::GetVariableData>& asked, const std::vector<v1::DeviceVariable>& stored,
    const std::vector<v201::GetVariablesResponse>& answers, TimePoint at) {
  std::map<std::string, const v1::DeviceVariable*> stored_by_key;
  for (const auto& v : stored) stored_by_key.emplace(VariableKey(NameOf(v)), &v);
  std::map<std::pair<std::string, std::string>, const v201::GetVariableResult*> results;
  for (const auto& answer : answers) {
    for (const auto& r : answer.get_variable_result) {
      results[{VariableKey(NameOf(r.component, r.variable)), TypeOf(r.attribute_type)}] = &r;
    }
  }
  std::vector<v1::DeviceVariable> out;
  std::map<std::string, size_t> index;  // variable key -> its place in `out`
  for (const auto& item : asked) {
    const VariableName name = NameOf(item.component, item.variable);
    const std::string key = VariableKey(name);
    const std::string type = TypeOf(item.attribute_type);
    auto known = stored_by_key.find(key);
    const v1::DeviceVariable* before = known == stored_by_key.end() ? nullptr : known->second;
    auto [slot, added] = index.emplace(key, out.size());
    if (added) {
      v1::DeviceVariable& v = out.emplace_back();
      if (before != nullptr) {
        v = *before;
        v.clear_attributes();
      } else {
        v.set_component(name.component);
        v.set_component_instance(name.component_instance);
        if (name.evse_id) v.set_evse_id(*name.evse_id);
        if (name.connector_id) v.set_connector_id(*name.connector_id);
        v.set_variable(name.variable);
        v.set_variable_instance(name.variable_instance);
      }
    }
    v1::DeviceVariable& v = out[slot->second];
    v1::DeviceAttribute* a = v.add_attributes();
    a->set_type(type);
    bool secret = ocpp::IsSecretVariable(name.variable);
    if (before != nullptr) {
      for (const auto& b : before->attributes()) {
        secret |= b.secret() || b.mutability() == "WriteOnly";
        if (b.type() != type) continue;
        a->set_mutability(b.mutability());
        a->set_persistent(b.persistent());
        a->set_constant(b.constant());
      }
    }
    a->set_secret(secret);
    a->set_source("GetVariables");
    *a->mutable_updated_at() = ToProto(at);
    auto result = results.find({key, type});
    if (result == results.end()) continue;  // not answered
    const v201::GetVariableResult& r = *result->second;
    a->set_attribute_status(std::string(v201::ToString(r.attribute_status)));
    if (r.attribute_status_info) a->set_reason_code(r.attribute_status_info->reason_code);
    if (r.attribute_status == v201::GetVariableStatusEnum::kAccepted && r.attribute_value &&
        !secret) {
      a->set_value(*r.attribute_value);
    }
  }
  return out;
}

}  // namespace csms::control
