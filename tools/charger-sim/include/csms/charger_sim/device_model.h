#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "csms/ocpp/v201/types.h"

// A small OCPP 2.0.1 device model (Part 1 §4, Part 2 B05-B08): components with variables, each
// variable with one or more attributes (Actual, Target, MinSet, MaxSet) and its characteristics.
// It answers the items of GetVariables and SetVariables and builds the ReportData of
// GetBaseReport and GetReport the way a charging station does; what a variable means to the
// station (the heartbeat timer, the Basic auth password) is wired in through the callbacks.
namespace csms::sim {

enum class Mutability { kReadOnly, kWriteOnly, kReadWrite };
enum class DataType { kString, kInteger, kDecimal, kBoolean, kOptionList, kMemberList };

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
  // A live value (e.g. the current power), read on every GetVariables and report.
  std::function<std::string()> read;
  // Reported as VariableAttribute.persistent (kept across reboots) and .constant (never changes).
  bool persistent = false;
  bool constant = false;
};

struct VariableDef {
  ComponentKey component;
  std::string name;
  std::optional<std::string> instance;
  DataType type = DataType::kString;
  // kInteger / kDecimal: inclusive limits. kString: max_limit is the maximum length. Both are
  // reported as variableCharacteristics.minLimit / maxLimit.
  std::optional<double> min_limit;
  std::optional<double> max_limit;
  // kOptionList: the one allowed value; kMemberList: a comma-separated subset of them. Reported
  // as variableCharacteristics.valuesList.
  std::vector<std::string> options;
  std::optional<std::string> unit;   // variableCharacteristics.unit, e.g. "W", "s"
  bool supports_monitoring = false;  // variableCharacteristics.supportsMonitoring
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

// What GetReport asks for (B08); either may be absent.
struct ReportFilter {
  std::optional<std::vector<ocpp::v201::ComponentVariable>> component_variable;
  std::optional<std::vector<ocpp::v201::ComponentCriterionEnum>> component_criteria;
};

class DeviceModel {
 public:
  void Add(VariableDef variable);

  // The ReportData of GetBaseReport (B07), in the order the variables were added, values read
  // now. A write-only attribute is reported without a value.
  //  * FullInventory: every variable with all its attributes.
  //  * ConfigurationInventory: the variables with a ReadWrite or WriteOnly attribute, with those
  //    attributes only.
  //  * SummaryInventory: the state of the components: their AvailabilityState, Available,
  //    Active, Enabled and Problem variables.
  std::vector<ocpp::v201::ReportData> BaseReport(ocpp::v201::ReportBaseEnum base) const;
  // The ReportData of GetReport (B08): the variables that match one of filter.component_variable
  // (when given) and whose component meets one of filter.component_criteria (when given).
  //  * componentVariable: a field the request leaves out matches anything: no evse = every EVSE
  //    (B08.FR.23), an evse without connectorId = the EVSE and its connectors, no component
  //    instance = any instance, no variable = all the component's variables, a variable without
  //    instance = all its instances.
  //  * componentCriteria (as libocpp reads B08.FR.07-10): a component meets Active, Available or
  //    Enabled when its variable of that name is "true" or when it has no such variable; it meets
  //    Problem only when its Problem variable is "true".
  // Empty: GetReport answers EmptyResultSet.
  std::vector<ocpp::v201::ReportData> Report(const ReportFilter& filter) const;

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
  // One variable as reported; `writable_only` leaves out the ReadOnly attributes.
  static ocpp::v201::ReportData ToReportData(const VariableDef& def, bool writable_only);
  // The component meets one of the GetReport criteria.
  bool MeetsCriteria(const ComponentKey& component,
                     const std::vector<ocpp::v201::ComponentCriterionEnum>& criteria) const;

  std::vector<Slot> variables_;
};

// ASCII case-insensitive equality, as OCPP compares component and variable names.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace csms::sim
