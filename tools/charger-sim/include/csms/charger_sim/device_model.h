#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "csms/ocpp/v201/types.h"

// A small OCPP 2.0.1 device model (Part 1 §4, Part 2 B05/B06): components with variables, each
// variable with one or more attributes (Actual, Target, MinSet, MaxSet). It answers the items of
// GetVariables and SetVariables the way a charging station does; what a variable means to the
// station (the heartbeat timer, the Basic auth password) is wired in through the callbacks.
namespace csms::sim {

enum class Mutability { kReadOnly, kWriteOnly, kReadWrite };
enum class DataType { kString, kInteger, kDecimal, kBoolean, kOptionList };

// Where a variable lives. OCPP names and instances compare case-insensitively; an instance or EVSE
// that is absent here must be absent in the request too.
struct ComponentKey {
  std::string name;
  std::optional<std::string> instance;
  std::optional<int> evse_id;
  std::optional<int> connector_id;  // with evse_id only
};

struct AttributeDef {
  ocpp::v201::AttributeEnum type = ocpp::v201::AttributeEnum::kActual;
  Mutability mutability = Mutability::kReadOnly;
  std::string value;  // the stored value; unused when `read` is set or the attribute is write-only
  // A live value (e.g. the current power), read on every GetVariables.
  std::function<std::string()> read;
};

struct VariableDef {
  ComponentKey component;
  std::string name;
  std::optional<std::string> instance;
  DataType type = DataType::kString;
  // kInteger / kDecimal: inclusive limits. kString: max_limit is the maximum length.
  std::optional<double> min_limit;
  std::optional<double> max_limit;
  std::vector<std::string> options;  // kOptionList
  // The new value takes effect only after a reboot: SetVariables answers RebootRequired, the
  // attribute keeps its value until ApplyPending().
  bool reboot_required = false;
  std::vector<AttributeDef> attributes;
  // A further check of a written value: empty when fine, otherwise the reason (sent as
  // attributeStatusInfo.additionalInfo with reasonCode InvalidValue).
  std::function<std::string(const std::string& value)> check;
  // Called with the new value once it is in effect (at once, or from ApplyPending()).
  std::function<void(ocpp::v201::AttributeEnum type, const std::string& value)> on_change;
};

class DeviceModel {
 public:
  void Add(VariableDef variable);

  // One GetVariables item: Accepted with attributeValue, Rejected (write-only), UnknownComponent,
  // UnknownVariable or NotSupportedAttributeType. Component, variable and attributeType are echoed
  // as asked.
  ocpp::v201::GetVariableResult Get(const ocpp::v201::GetVariableData& data) const;
  // One SetVariables item: Accepted (in effect now), RebootRequired (stored, in effect after
  // ApplyPending()), Rejected (read-only, or a value that does not fit: reasonCode ReadOnly,
  // InvalidValue or ValueOutOfRange), UnknownComponent, UnknownVariable or
  // NotSupportedAttributeType.
  ocpp::v201::SetVariableResult Set(const ocpp::v201::SetVariableData& data);

  // The station rebooted: values stored by RebootRequired sets take effect.
  void ApplyPending();

  // The current value of an attribute (nullopt when there is no such attribute or it is
  // write-only), for the station's own use.
  std::optional<std::string> Value(
      std::string_view component, std::string_view variable,
      std::optional<std::string_view> variable_instance = std::nullopt,
      ocpp::v201::AttributeEnum type = ocpp::v201::AttributeEnum::kActual) const;

  size_t size() const { return variables_.size(); }

 private:
  struct Slot {
    VariableDef def;
    std::vector<std::optional<std::string>> pending;  // per attribute, for reboot_required
  };
  enum class Lookup { kFound, kUnknownComponent, kUnknownVariable };
  Lookup Find(const ocpp::v201::Component& component, const ocpp::v201::Variable& variable,
              size_t* index) const;
  // Empty when `value` fits the variable's type and limits, else {reasonCode, additionalInfo}.
  static std::optional<ocpp::v201::StatusInfo> CheckValue(const VariableDef& def,
                                                          const std::string& value);

  std::vector<Slot> variables_;
};

// ASCII case-insensitive equality, as OCPP compares component and variable names.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace csms::sim
