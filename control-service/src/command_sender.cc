#include "csms/control/command_sender.h"

#include "csms/common/log.h"
#include "csms/common/ocpp_redact.h"

namespace csms::control {
namespace {

constexpr const char* kComponent = "control";
using nlohmann::json;

}  // namespace

std::string_view OutcomeName(CommandOutcome outcome) {
  switch (outcome) {
    case CommandOutcome::kResult:
      return "result";
    case CommandOutcome::kCallError:
      return "call_error";
    case CommandOutcome::kTimeout:
      return "timeout";
    case CommandOutcome::kOffline:
      return "offline";
    case CommandOutcome::kInvalidReply:
      return "invalid_reply";
    case CommandOutcome::kInvalidRequest:
      return "invalid_request";
    case CommandOutcome::kFailed:
      return "failed";
  }
  return "failed";
}

void CommandSender::SendRaw(const ChargerRecord& charger, const std::string& action, json payload,
                            const std::string& issued_by, std::chrono::milliseconds timeout,
                            Done done, ReplyCheck check) {
  if (auto violation = schemas_.Validate(action, ocpp::PayloadKind::kRequest, payload)) {
    CommandReply reply;
    reply.outcome = CommandOutcome::kInvalidRequest;
    reply.error_code = violation->code;
    reply.description = violation->description;
    return done(std::move(reply));
  }
  const std::string text = payload.dump(-1, ' ', false, json::error_handler_t::replace);
  const TimePoint sent_at = clock_.Now();
  const auto started = std::chrono::steady_clock::now();
  link_.CallAsync(
      charger.gateway_address, charger.charger_id, action, text, timeout,
      [this, charger, action, issued_by, sent_at, started, done = std::move(done),
       check = std::move(check), logged = ocpp::RedactSecrets(action, std::move(payload))](
          const grpc::Status& status, const gateway::v1::CallResponse& response) {
        CommandReply reply;
        if (!status.ok()) {
          switch (status.error_code()) {
            case grpc::StatusCode::NOT_FOUND:
              reply.outcome = CommandOutcome::kOffline;
              reply.description = "charger " + charger.charger_id + " is not connected";
              break;
            case grpc::StatusCode::UNAVAILABLE:
              reply.outcome = CommandOutcome::kOffline;
              reply.description = "the gateway holding charger " + charger.charger_id +
                                  " cannot be reached (" + status.error_message() + ")";
              break;
            case grpc::StatusCode::DEADLINE_EXCEEDED:
              reply.outcome = CommandOutcome::kTimeout;
              reply.description =
                  "charger " + charger.charger_id + " did not answer " + action + " in time";
              break;
            default:
              reply.outcome = CommandOutcome::kFailed;
              reply.description = "sending " + action + " failed: " + status.error_message();
          }
        } else if (response.has_invalid_reply()) {
          // The gateway checked it against the schema already.
          reply.outcome = CommandOutcome::kInvalidReply;
          reply.description = response.invalid_reply().violation();
          reply.result = json::parse(response.invalid_reply().payload_json(), nullptr, false);
          if (reply.result.is_discarded()) reply.result = nullptr;
        } else if (response.has_error()) {
          reply.outcome = CommandOutcome::kCallError;
          reply.error_code = response.error().error_code();
          reply.description = response.error().description();
          reply.error_details = json::parse(response.error().details_json(), nullptr, false);
          if (reply.error_details.is_discarded()) reply.error_details = json::object();
        } else {
          reply.result = json::parse(response.result_json(), nullptr, false);
          std::optional<ocpp::SchemaViolation> violation;
          if (reply.result.is_discarded()) {
            reply.outcome = CommandOutcome::kInvalidReply;
            reply.description = "the " + action + " reply is not JSON";
            reply.result = nullptr;
          } else if ((violation =
                          schemas_.Validate(action, ocpp::PayloadKind::kResponse, reply.result))) {
            reply.outcome = CommandOutcome::kInvalidReply;
            reply.description = violation->code + ": " + violation->description;
          } else if (auto why = check ? check(reply.result) : std::nullopt) {
            reply.outcome = CommandOutcome::kInvalidReply;
            reply.description = *why;
          } else {
            reply.outcome = CommandOutcome::kResult;
          }
        }
        Finish(charger, action, logged, issued_by, sent_at, started, std::move(reply), done);
      });
}

void CommandSender::Finish(const ChargerRecord& charger, const std::string& action,
                           const json& logged_request, const std::string& issued_by,
                           TimePoint sent_at, std::chrono::steady_clock::time_point started,
                           CommandReply reply, const Done& done) {
  reply.latency = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  CSMS_LOG_WITH(kInfo, kComponent, (log::Fields{charger.charger_id, {}, action}))
      << action << " to " << charger.charger_id << " by " << log::Sanitize(issued_by, 80) << ": "
      << OutcomeName(reply.outcome) << " in " << reply.latency.count() << " ms";
  if (log_ != nullptr) {
    CommandLogEntry entry;
    entry.charger_id = charger.charger_id;
    entry.issued_by = issued_by;
    entry.action = action;
    entry.request = logged_request;
    entry.outcome = std::string(OutcomeName(reply.outcome));
    if (reply.outcome == CommandOutcome::kResult ||
        reply.outcome == CommandOutcome::kInvalidReply) {
      entry.response = ocpp::RedactSecrets(action, reply.result);
    } else if (reply.outcome == CommandOutcome::kCallError) {
      entry.response = {{"code", reply.error_code},
                        {"description", reply.description},
                        {"details", reply.error_details}};
    } else {
      entry.response = {{"description", reply.description}};
    }
    entry.sent_at = sent_at;
    entry.latency_ms = static_cast<int32_t>(reply.latency.count());
    try {
      log_->Record(entry);
    } catch (const std::exception& e) {
      // The charger did what it did; the operator still gets the answer.
      CSMS_LOG(kWarn, kComponent) << "command log: " << action << " to " << charger.charger_id
                                  << " not recorded: " << log::Sanitize(e.what(), 200);
    }
  }
  if (observer_ && reply.outcome == CommandOutcome::kResult) {
    observer_(charger, action, logged_request, reply.result);
  }
  done(std::move(reply));
}

}  // namespace csms::control
