#include <cmath>
#include <limits>

#include "csms/ocpp/model_support.h"

namespace csms::ocpp::model {

DecodeError::DecodeError(std::string_view field, std::string reason, std::string code)
    : std::runtime_error(""), path_(field), reason_(std::move(reason)), code_(std::move(code)) {
  Rebuild();
}

void DecodeError::Prepend(std::string_view field) {
  if (path_.empty() || path_.front() == '[') {
    path_.insert(0, field);
  } else {
    path_.insert(0, std::string(field) + ".");
  }
  Rebuild();
}

void DecodeError::PrependIndex(size_t index) {
  const std::string item = "[" + std::to_string(index) + "]";
  if (path_.empty() || path_.front() == '[') {
    path_.insert(0, item);
  } else {
    path_.insert(0, item + ".");
  }
  Rebuild();
}

void DecodeError::Rebuild() { message_ = path_.empty() ? reason_ : path_ + ": " + reason_; }

const std::string& ReadString(const nlohmann::json& j) {
  if (!j.is_string()) throw DecodeError("", "not a string");
  return j.get_ref<const std::string&>();
}

int32_t ReadInt32(const nlohmann::json& j) {
  if (j.is_number_integer()) {
    if (j.is_number_unsigned()) {
      const auto v = j.get<uint64_t>();
      if (v <= static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) {
        return static_cast<int32_t>(v);
      }
    } else {
      const auto v = j.get<int64_t>();
      if (v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max()) {
        return static_cast<int32_t>(v);
      }
    }
    throw DecodeError("", "integer out of the 32-bit range OCPP uses",
                      "PropertyConstraintViolation");
  }
  // JSON Schema counts 5.0 as an integer.
  if (j.is_number_float()) {
    // Range first: casting a double beyond the target type is undefined behaviour.
    const double v = j.get<double>();
    if (v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max() &&
        std::trunc(v) == v) {
      return static_cast<int32_t>(v);
    }
    if (std::trunc(v) == v) {
      throw DecodeError("", "integer out of the 32-bit range OCPP uses",
                        "PropertyConstraintViolation");
    }
  }
  throw DecodeError("", "not an integer");
}

double ReadNumber(const nlohmann::json& j) {
  if (!j.is_number()) throw DecodeError("", "not a number");
  return j.get<double>();
}

bool ReadBool(const nlohmann::json& j) {
  if (!j.is_boolean()) throw DecodeError("", "not a boolean");
  return j.get<bool>();
}

nlohmann::json OtherProperties(const nlohmann::json& j,
                               std::initializer_list<std::string_view> known) {
  nlohmann::json out = nlohmann::json::object();
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool is_known = false;
    for (std::string_view k : known) is_known = is_known || k == it.key();
    if (!is_known) out[it.key()] = it.value();
  }
  return out;
}

}  // namespace csms::ocpp::model
