#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "csms/common/ocpp_frame.h"
#include "csms/common/ocpp_schema.h"
#include "csms/gateway/station_context.h"
#include "csms/ocpp/model_support.h"

// The inbound side of the OCPP model: action -> request type -> handler. The router (CallRouter)
// owns the plumbing every message shares (metrics, registration gate, schema check); a route
// decodes the payload into its generated type and hands it to the handler, and the Responder
// encodes the answer, checks it against the response schema and sends it. No handler repeats
// any of that.
namespace csms::gateway {

using ReplyFn = std::function<void(std::string frame)>;

// A decoded CALL from a charger.
template <typename Request>
struct InboundCall {
  std::shared_ptr<StationContext> station;
  std::string message_id;
  Request request;
};

namespace detail {
// What every Responder of one CALL shares; sends exactly one frame.
class ReplyChannel {
 public:
  ReplyChannel(std::string message_id, std::string_view action, ReplyFn reply,
               const ocpp::SchemaSet* schemas, std::string charger_id);
  // Checks `payload` against the action's response schema (when schemas are on) and sends the
  // CALLRESULT, or an InternalError CALLERROR if the CSMS itself produced an invalid answer.
  void Result(nlohmann::json payload);
  void Error(std::string_view code, std::string description, nlohmann::json details = {});
  const std::string& message_id() const { return message_id_; }

 private:
  bool TakeReply(ReplyFn& out);
  std::string message_id_;
  std::string_view action_;
  std::string charger_id_;
  ReplyFn reply_;
  std::atomic<bool> sent_{false};
  const ocpp::SchemaSet* schemas_;
};
}  // namespace detail

// Answers one CALL, once, from any thread. Copyable so it can travel into backend completions.
template <typename Response>
class Responder {
 public:
  explicit Responder(std::shared_ptr<detail::ReplyChannel> channel)
      : channel_(std::move(channel)) {}

  void Ok(const Response& response) const { channel_->Result(ocpp::Encode(response)); }
  // A CALLERROR (codes: ocpp::error_code).
  void Error(std::string_view code, std::string description) const {
    channel_->Error(code, std::move(description));
  }
  const std::string& message_id() const { return channel_->message_id(); }

 private:
  std::shared_ptr<detail::ReplyChannel> channel_;
};

// For routes that read the raw payload themselves (TransactionEvent, whose seed dialect is not
// OCPP 2.0.1 and so has no generated type).
struct RawCall {
  std::shared_ptr<StationContext> station;
  const ocpp::Frame& frame;
};

struct Route {
  std::string action;
  // Decodes the payload and runs the handler; throws ocpp::model::DecodeError (and the
  // gateway's PayloadException) for the router to turn into a CALLERROR, with `reply` still
  // there to send it (it is moved out only once the handler owns the answer).
  std::function<void(const std::shared_ptr<StationContext>&, const ocpp::Frame&, ReplyFn&)> invoke;
  // Accepted from a charger that is not (yet) Accepted: B02.FR.09's reports and the boot itself.
  bool allowed_before_accepted = false;
  // True when this payload is exempt from the schema check (the route checks it itself).
  std::function<bool(const nlohmann::json& payload)> validates_itself;
};

class RouteTable {
 public:
  explicit RouteTable(const ocpp::SchemaSet* response_schemas)
      : response_schemas_(response_schemas) {}

  // Handler: void(const InboundCall<Request>&, Responder<typename Request::Response>).
  template <typename Request, typename Handler>
  Route& Add(Handler handler) {
    using Response = typename Request::Response;
    Route route;
    route.action = std::string(Request::kAction);
    route.invoke = [schemas = response_schemas_, handler = std::move(handler)](
                       const std::shared_ptr<StationContext>& station, const ocpp::Frame& frame,
                       ReplyFn& reply) {
      InboundCall<Request> call{station, frame.message_id, ocpp::Decode<Request>(frame.payload)};
      handler(call, Responder<Response>(std::make_shared<detail::ReplyChannel>(
                        frame.message_id, Request::kAction, std::move(reply), schemas,
                        station->charger_id)));
    };
    return Insert(std::move(route));
  }

  // Handler: void(const RawCall&, Responder<Response>).
  template <typename Response, typename Handler>
  Route& AddRaw(Handler handler) {
    Route route;
    route.action = std::string(Response::kAction);
    route.invoke = [schemas = response_schemas_, handler = std::move(handler)](
                       const std::shared_ptr<StationContext>& station, const ocpp::Frame& frame,
                       ReplyFn& reply) {
      handler(RawCall{station, frame}, Responder<Response>(std::make_shared<detail::ReplyChannel>(
                                           frame.message_id, Response::kAction, std::move(reply),
                                           schemas, station->charger_id)));
    };
    return Insert(std::move(route));
  }

  const Route* Find(std::string_view action) const;
  size_t size() const { return routes_.size(); }
  // Sorted, for tests and documentation.
  std::vector<std::string> Actions() const;

 private:
  Route& Insert(Route route);
  const ocpp::SchemaSet* response_schemas_;
  std::unordered_map<std::string, Route> routes_;
};

}  // namespace csms::gateway
