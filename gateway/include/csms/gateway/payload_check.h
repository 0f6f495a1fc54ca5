#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "csms/common/time_util.h"

// Field checks for inbound OCPP payloads that map each failure to the OCPP-J error code the
// DIGEST assigns (missing field → OccurrenceConstraintViolation, wrong JSON type →
// TypeConstraintViolation, bad value → PropertyConstraintViolation).
namespace csms::gateway {

struct PayloadError {
  std::string code;
  std::string description;
};

// Thrown by the checks below; caught once at the router and turned into a CALLERROR.
struct PayloadException {
  PayloadError error;
};

class PayloadCheck {
 public:
  // `path` names the object in messages, e.g. "transactionInfo".
  PayloadCheck(const nlohmann::json& object, std::string path);

  const nlohmann::json* Find(std::string_view field) const;

  std::string RequiredString(std::string_view field, size_t max_len) const;
  std::optional<std::string> OptionalString(std::string_view field, size_t max_len) const;
  std::string RequiredEnum(std::string_view field,
                           std::initializer_list<std::string_view> allowed) const;
  std::optional<std::string> OptionalEnum(std::string_view field,
                                          std::initializer_list<std::string_view> allowed) const;
  int64_t RequiredInt(std::string_view field) const;
  std::optional<int64_t> OptionalInt(std::string_view field) const;
  // Integers that the services keep in 32 bits (ids): out of range is a property violation.
  int32_t RequiredInt32(std::string_view field) const;
  std::optional<int32_t> OptionalInt32(std::string_view field) const;
  std::optional<double> OptionalNumber(std::string_view field) const;
  std::optional<bool> OptionalBool(std::string_view field) const;
  TimePoint RequiredTime(std::string_view field) const;
  std::optional<TimePoint> OptionalTime(std::string_view field) const;
  PayloadCheck RequiredObject(std::string_view field) const;
  std::optional<PayloadCheck> OptionalObject(std::string_view field) const;
  // An optional array that, when present, has at least one element.
  const nlohmann::json* OptionalArray(std::string_view field) const;

  const nlohmann::json& json() const { return *object_; }
  std::string PathOf(std::string_view field) const;

  [[noreturn]] static void Fail(const char* code, std::string description);

 private:
  const nlohmann::json& Require(std::string_view field) const;
  int32_t ToInt32(int64_t v, std::string_view field) const;

  const nlohmann::json* object_;
  std::string path_;
};

}  // namespace csms::gateway
