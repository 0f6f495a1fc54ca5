#include "csms/gateway/route_table.h"

#include <algorithm>

#include "csms/common/log.h"

namespace csms::gateway {
namespace detail {

ReplyChannel::ReplyChannel(std::string message_id, std::string_view action, ReplyFn reply,
                           const ocpp::SchemaSet* schemas, std::string charger_id)
    : message_id_(std::move(message_id)),
      action_(action),
      charger_id_(std::move(charger_id)),
      reply_(std::move(reply)),
      schemas_(schemas) {}

bool ReplyChannel::TakeReply(ReplyFn& out) {
  // A handler answers once; a second answer is a bug, logged and dropped rather than sent.
  if (sent_.exchange(true)) {
    CSMS_LOG_WITH(kError, "gateway", (log::Fields{charger_id_, message_id_, action_}))
        << action_ << " answered twice; the second answer is dropped";
    return false;
  }
  out = std::move(reply_);
  return true;
}

void ReplyChannel::Result(nlohmann::json payload) {
  if (schemas_ != nullptr) {
    if (auto violation = schemas_->Validate(action_, ocpp::PayloadKind::kResponse, payload)) {
      CSMS_LOG_WITH(kError, "gateway", (log::Fields{charger_id_, message_id_, action_}))
          << "the CSMS's own " << action_
          << " answer fails its schema (not sent): " << violation->description;
      return Error(ocpp::error_code::kInternalError,
                   "the CSMS could not produce a valid " + std::string(action_) + " answer");
    }
  }
  ReplyFn reply;
  if (TakeReply(reply)) reply(ocpp::SerializeCallResult(message_id_, payload));
}

void ReplyChannel::Error(std::string_view code, std::string description, nlohmann::json details) {
  ReplyFn reply;
  if (!TakeReply(reply)) return;
  if (details.is_null()) details = nlohmann::json::object();
  reply(ocpp::SerializeCallError(message_id_, std::string(code), description, details));
}

}  // namespace detail

const Route* RouteTable::Find(std::string_view action) const {
  auto it = routes_.find(std::string(action));
  return it == routes_.end() ? nullptr : &it->second;
}

std::vector<std::string> RouteTable::Actions() const {
  std::vector<std::string> out;
  for (const auto& [action, route] : routes_) out.push_back(action);
  std::sort(out.begin(), out.end());
  return out;
}

Route& RouteTable::Insert(Route route) {
  std::string action = route.action;
  auto [it, inserted] = routes_.emplace(action, std::move(route));
  if (!inserted) throw std::logic_error("two routes for " + action);
  return it->second;
}

}  // namespace csms::gateway
