#pragma once

// What the Charger's source files (charger.cc, charger_provisioning.cc, charger_remote.cc) share
// and nobody else needs.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "csms/charger_sim/charger.h"
#include "csms/common/ocpp_frame.h"
#include "csms/common/ocpp_schema.h"
#include "csms/ocpp/model_support.h"

namespace csms::sim {
namespace internal {

inline constexpr const char* kLog = "charger-sim";

inline const nlohmann::json* Find(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

// A request field problem, answered with the matching CALLERROR (DIGEST 2.5).
struct FieldProblem {
  const char* code;
  std::string description;
};

inline std::optional<FieldProblem> RequireField(const nlohmann::json& object, const char* key,
                                                nlohmann::json::value_t type,
                                                const char* type_name) {
  namespace ec = ocpp::error_code;
  const nlohmann::json* value = Find(object, key);
  if (value == nullptr) {
    return FieldProblem{ec::kOccurrenceConstraintViolation, std::string(key) + " is required"};
  }
  bool ok = value->type() == type ||
            (type == nlohmann::json::value_t::number_integer && value->is_number_unsigned());
  if (!ok) {
    return FieldProblem{ec::kTypeConstraintViolation, std::string(key) + " must be " + type_name};
  }
  return std::nullopt;
}

}  // namespace internal

// Like a real station: the payload must fit the OCA request schema (the validator's CALLERROR
// code and description otherwise), then it is decoded into the generated type.
template <typename Request>
bool Charger::DecodeRequest(const ocpp::Frame& frame, Request* request) {
  if (auto violation = ocpp::SchemaSet::Ocpp201().Validate(
          frame.action, ocpp::PayloadKind::kRequest, frame.payload)) {
    ReplyError(frame.message_id, violation->code, violation->description);
    return false;
  }
  try {
    *request = ocpp::Decode<Request>(frame.payload);
  } catch (const ocpp::model::DecodeError& e) {
    ReplyError(frame.message_id, e.code(), e.what());
    return false;
  }
  return true;
}

}  // namespace csms::sim
