#include "csms/gateway/payload_check.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "csms/common/ocpp_frame.h"

namespace csms::gateway {

namespace ec = ocpp::error_code;

PayloadCheck::PayloadCheck(const nlohmann::json& object, std::string path)
    : object_(&object), path_(std::move(path)) {
  if (!object.is_object()) {
    Fail(ec::kTypeConstraintViolation,
         (path_.empty() ? std::string("payload") : path_) + " must be an object");
  }
}

std::string PayloadCheck::PathOf(std::string_view field) const {
  return path_.empty() ? std::string(field) : path_ + "." + std::string(field);
}

void PayloadCheck::Fail(const char* code, std::string description) {
  throw PayloadException{PayloadError{code, std::move(description)}};
}

const nlohmann::json* PayloadCheck::Find(std::string_view field) const {
  auto it = object_->find(field);
  return it == object_->end() ? nullptr : &*it;
}

const nlohmann::json& PayloadCheck::Require(std::string_view field) const {
  const auto* value = Find(field);
  if (value == nullptr) {
    Fail(ec::kOccurrenceConstraintViolation, "required field " + PathOf(field) + " is missing");
  }
  return *value;
}

namespace {
std::string ReadString(const nlohmann::json& value, const std::string& path, size_t max_len) {
  if (!value.is_string()) {
    PayloadCheck::Fail(ec::kTypeConstraintViolation, path + " must be a string");
  }
  const auto& s = value.get_ref<const std::string&>();
  // JSON Schema's maxLength counts characters, not bytes: count UTF-8 lead bytes.
  size_t characters = 0;
  for (unsigned char c : s) characters += (c & 0xC0) != 0x80;
  if (characters > max_len) {
    PayloadCheck::Fail(ec::kPropertyConstraintViolation,
                       path + " is longer than " + std::to_string(max_len) + " characters");
  }
  return s;
}

std::string ReadEnum(const nlohmann::json& value, const std::string& path,
                     std::initializer_list<std::string_view> allowed) {
  if (!value.is_string()) {
    PayloadCheck::Fail(ec::kTypeConstraintViolation, path + " must be a string");
  }
  const auto& s = value.get_ref<const std::string&>();
  if (std::find(allowed.begin(), allowed.end(), s) == allowed.end()) {
    PayloadCheck::Fail(ec::kPropertyConstraintViolation,
                       path + " has value '" + s.substr(0, 40) + "', which is not allowed");
  }
  return s;
}

int64_t ReadInt(const nlohmann::json& value, const std::string& path) {
  if (value.is_number_unsigned() &&
      value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    PayloadCheck::Fail(ec::kPropertyConstraintViolation, path + " is out of range");
  }
  if (value.is_number_integer()) return value.get<int64_t>();
  // JSON has one number type; 3.0 is still an integer per JSON Schema.
  if (value.is_number_float()) {
    double d = value.get<double>();
    // Range first: casting a double outside int64 is undefined behaviour.
    if (d > -9223372036854775808.0 && d < 9223372036854775808.0 && d == std::floor(d)) {
      return static_cast<int64_t>(d);
    }
  }
  PayloadCheck::Fail(ec::kTypeConstraintViolation, path + " must be an integer");
}

TimePoint ReadTime(const nlohmann::json& value, const std::string& path) {
  if (!value.is_string()) {
    PayloadCheck::Fail(ec::kTypeConstraintViolation, path + " must be a date-time string");
  }
  auto t = ParseRfc3339(value.get_ref<const std::string&>());
  if (!t) {
    PayloadCheck::Fail(ec::kPropertyConstraintViolation, path + " is not an RFC 3339 date-time");
  }
  return *t;
}
}  // namespace

std::string PayloadCheck::RequiredString(std::string_view field, size_t max_len) const {
  return ReadString(Require(field), PathOf(field), max_len);
}

std::optional<std::string> PayloadCheck::OptionalString(std::string_view field,
                                                        size_t max_len) const {
  const auto* v = Find(field);
  if (v == nullptr) return std::nullopt;
  return ReadString(*v, PathOf(field), max_len);
}

std::string PayloadCheck::RequiredEnum(std::string_view field,
                                       std::initializer_list<std::string_view> allowed) const {
  return ReadEnum(Require(field), PathOf(field), allowed);
}

std::optional<std::string> PayloadCheck::OptionalEnum(
    std::string_view field, std::initializer_list<std::string_view> allowed) const {
  const auto* v = Find(field);
  if (v == nullptr) return std::nullopt;
  return ReadEnum(*v, PathOf(field), allowed);
}

int64_t PayloadCheck::RequiredInt(std::string_view field) const {
  return ReadInt(Require(field), PathOf(field));
}

std::optional<int64_t> PayloadCheck::OptionalInt(std::string_view field) const {
  const auto* v = Find(field);
  if (v == nullptr) return std::nullopt;
  return ReadInt(*v, PathOf(field));
}

int32_t PayloadCheck::RequiredInt32(std::string_view field) const {
  return ToInt32(RequiredInt(field), field);
}

std::optional<int32_t> PayloadCheck::OptionalInt32(std::string_view field) const {
  auto v = OptionalInt(field);
  if (!v) return std::nullopt;
  return ToInt32(*v, field);
}

int32_t PayloadCheck::ToInt32(int64_t v, std::string_view field) const {
  if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
    Fail(ec::kPropertyConstraintViolation, PathOf(field) + " is out of range");
  }
  return static_cast<int32_t>(v);
}

std::optional<double> PayloadCheck::OptionalNumber(std::string_view field) const {
  const auto* v = Find(field);
  if (v == nullptr) return std::nullopt;
  if (!v->is_number()) Fail(ec::kTypeConstraintViolation, PathOf(field) + " must be a number");
  return v->get<double>();
}

std::optional<bool> PayloadCheck::OptionalBool(std::string_view field) const {
  const auto* v = Find(field);
  if (v == nullptr) return std::nullopt;
  if (!v->is_boolean()) Fail(ec::kTypeConstraintViolation, PathOf(field) + " must be a boolean");
  return v->get<bool>();
}

TimePoint PayloadCheck::RequiredTime(std::string_view field) const {
  return ReadTime(Require(field), PathOf(field));
}

std::optional<TimePoint> PayloadCheck::OptionalTime(std::string_view field) const {
  const auto* v = Find(field);
  if (v == nullptr) return std::nullopt;
  return ReadTime(*v, PathOf(field));
}

PayloadCheck PayloadCheck::RequiredObject(std::string_view field) const {
  const auto& v = Require(field);
  if (!v.is_object()) Fail(ec::kTypeConstraintViolation, PathOf(field) + " must be an object");
  return PayloadCheck(v, PathOf(field));
}

std::optional<PayloadCheck> PayloadCheck::OptionalObject(std::string_view field) const {
  const auto* v = Find(field);
  if (v == nullptr) return std::nullopt;
  if (!v->is_object()) Fail(ec::kTypeConstraintViolation, PathOf(field) + " must be an object");
  return PayloadCheck(*v, PathOf(field));
}

const nlohmann::json* PayloadCheck::OptionalArray(std::string_view field) const {
  const auto* v = Find(field);
  if (v == nullptr) return nullptr;
  if (!v->is_array()) Fail(ec::kTypeConstraintViolation, PathOf(field) + " must be an array");
  if (v->empty()) {
    Fail(ec::kOccurrenceConstraintViolation, PathOf(field) + " must have at least one element");
  }
  return v;
}

}  // namespace csms::gateway
