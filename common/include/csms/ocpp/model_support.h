#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

// What the generated OCPP message types (csms/ocpp/v201/*.h, csms/ocpp/v16/*.h, built from the
// OCA schemas by tools/ocpp-codegen) share: the decode error and the leaf readers.
namespace csms::ocpp::model {

// A payload that does not fit its C++ type: `path` names the field (`evse.id`,
// `meterValue[2].sampledValue[0].value`), `code` is the CALLERROR code it maps to.
class DecodeError : public std::runtime_error {
 public:
  DecodeError(std::string_view field, std::string reason,
              std::string code = "TypeConstraintViolation");

  const std::string& path() const { return path_; }
  const std::string& reason() const { return reason_; }
  const std::string& code() const { return code_; }
  // "evse.id: not an integer" (or the reason alone at the root).
  const char* what() const noexcept override { return message_.c_str(); }

  // Called while unwinding through the enclosing object or array.
  void Prepend(std::string_view field);
  void PrependIndex(size_t index);

 private:
  void Rebuild();
  std::string path_;
  std::string reason_;
  std::string code_;
  std::string message_;
};

const std::string& ReadString(const nlohmann::json& j);
// OCPP integers are 32-bit; a larger one is refused rather than wrapped.
int32_t ReadInt32(const nlohmann::json& j);
double ReadNumber(const nlohmann::json& j);
bool ReadBool(const nlohmann::json& j);
// The members of `j` other than `known` (for types that allow further properties).
nlohmann::json OtherProperties(const nlohmann::json& j,
                               std::initializer_list<std::string_view> known);

}  // namespace csms::ocpp::model

namespace csms::ocpp {

// Decode<T>(payload) and Encode(value) for any generated message or type; found by ADL.
template <typename T>
T Decode(const nlohmann::json& payload) {
  T out;
  from_json(payload, out);
  return out;
}

template <typename T>
nlohmann::json Encode(const T& value) {
  nlohmann::json out;
  to_json(out, value);
  return out;
}

}  // namespace csms::ocpp
