#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "csms/common/ocpp_schema.h"
#include "csms/control/charger_link_client.h"
#include "csms/control/command_log_store.h"
#include "csms/control/registry_store.h"
#include "csms/ocpp/model_support.h"

// The one outbound path: any CALL from control to any charger, on whichever gateway holds it.
// Requests are checked against their schema before they leave, replies after they come back;
// timeout, CALLERROR, invalid reply and "not connected" are distinct outcomes; every command
// lands in the command log with its secrets redacted. Nothing here blocks a thread while the
// charger thinks.
namespace csms::control {

enum class CommandOutcome {
  kResult,          // a CALLRESULT that passed its schema (and decoded, for typed commands)
  kCallError,       // the charger answered with a CALLERROR
  kTimeout,         // no answer in time
  kOffline,         // not connected (or its gateway unreachable)
  kInvalidReply,    // a CALLRESULT that fails its schema or its type
  kInvalidRequest,  // refused before sending: the request fails its schema (not logged)
  kFailed,          // anything else on the way (logged with the reason)
};
// "result", "call_error", "timeout", "offline", "invalid_reply", "invalid_request", "failed".
std::string_view OutcomeName(CommandOutcome outcome);

struct CommandReply {
  CommandOutcome outcome = CommandOutcome::kFailed;
  nlohmann::json result;         // kResult: the CALLRESULT payload
  std::string error_code;        // kCallError: the charger's code
  std::string description;       // kCallError: the charger's description; else what went wrong
  nlohmann::json error_details;  // kCallError
  std::chrono::milliseconds latency{0};
};

template <typename Response>
struct TypedReply {
  CommandReply raw;
  std::optional<Response> response;  // set exactly when raw.outcome is kResult
};

class CommandSender {
 public:
  using Done = std::function<void(CommandReply)>;
  // Extra check of a schema-valid result; returns why it is still unusable (typed decoding).
  using ReplyCheck = std::function<std::optional<std::string>(const nlohmann::json&)>;

  // Sees every command that got a usable CALLRESULT (before `done`), with the request as logged
  // (secrets redacted) and the result: how the device model learns from SetVariables and
  // GetVariables whoever sent them. Must not throw.
  using Observer =
      std::function<void(const ChargerRecord& charger, const std::string& action,
                         const nlohmann::json& logged_request, const nlohmann::json& result)>;

  // `log` may be null (tests): then nothing is recorded.
  CommandSender(ChargerLinkClient& link, CommandLogStore* log, const ocpp::SchemaSet& schemas)
      : link_(link), log_(log), schemas_(schemas) {}

  // Sends `action` to the charger (its record says which gateway holds it). `issued_by` is the
  // API key id or system:<what>. `done` runs once, on any thread (inline for kInvalidRequest).
  void SendRaw(const ChargerRecord& charger, const std::string& action, nlohmann::json payload,
               const std::string& issued_by, std::chrono::milliseconds timeout, Done done,
               ReplyCheck check = nullptr);

  void set_observer(Observer observer) { observer_ = std::move(observer); }

  // The typed form: the request type names its action, the reply comes back decoded.
  template <typename Request>
  void Send(const ChargerRecord& charger, const Request& request, const std::string& issued_by,
            std::chrono::milliseconds timeout,
            std::function<void(TypedReply<typename Request::Response>)> done) {
    using Response = typename Request::Response;
    SendRaw(
        charger, std::string(Request::kAction), ocpp::Encode(request), issued_by, timeout,
        [done = std::move(done)](CommandReply reply) {
          TypedReply<Response> typed{std::move(reply), std::nullopt};
          if (typed.raw.outcome == CommandOutcome::kResult) {
            typed.response = ocpp::Decode<Response>(typed.raw.result);  // checked below first
          }
          done(std::move(typed));
        },
        [](const nlohmann::json& result) -> std::optional<std::string> {
          try {
            ocpp::Decode<Response>(result);
            return std::nullopt;
          } catch (const ocpp::model::DecodeError& e) {
            return std::string(e.what());
          }
        });
  }

 private:
  void Finish(const ChargerRecord& charger, const std::string& action,
              const nlohmann::json& logged_request, const std::string& issued_by, TimePoint sent_at,
              std::chrono::steady_clock::time_point started, CommandReply reply, const Done& done);

  ChargerLinkClient& link_;
  CommandLogStore* log_;
  const ocpp::SchemaSet& schemas_;
  Observer observer_;
  RealClock clock_;
};

}  // namespace csms::control
