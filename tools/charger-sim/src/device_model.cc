#include "csms/charger_sim/device_model.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <string_view>
#include <utility>

namespace csms::sim {
namespace {

namespace v201 = ocpp::v201;

bool SameOptional(const std::optional<std::string>& a, const std::optional<std::string>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || EqualsIgnoreCase(*a, *b);
}

bool ComponentMatches(const ComponentKey& key, const v201::Component& component) {
  if (!EqualsIgnoreCase(key.name, component.name) ||
      !SameOptional(key.instance, component.instance)) {
    return false;
  }
  if (key.evse_id.has_value() != component.evse.has_value()) return false;
  if (!key.evse_id) return true;
  return *key.evse_id == component.evse->id && key.connector_id == component.evse->connector_id;
}

v201::StatusInfo Info(std::string reason_code, std::string additional_info) {
  v201::StatusInfo info;
  info.reason_code = std::move(reason_code);
  info.additional_info = std::move(additional_info);
  return info;
}

std::string FormatLimit(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", value);
  return buf;
}

// The whole text as a number, or nullopt (no spaces, no trailing characters).
std::optional<double> ParseNumber(const std::string& text, bool integer) {
  if (text.empty()) return std::nullopt;
  const char* begin = text.data();
  const char* end = begin + text.size();
  if (*begin == '+') ++begin;  // from_chars refuses a plus sign
  if (integer) {
    long long value = 0;
    auto [ptr, ec] = std::from_chars(begin, end, value);
    if (ec != std::errc() || ptr != end) return std::nullopt;
    return static_cast<double>(value);
  }
  double value = 0;
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::string JoinOptions(const std::vector<std::string>& options) {
  std::string list;
  for (const auto& option : options) list += (list.empty() ? "" : ",") + option;
  return list;
}

v201::DataEnum ToDataEnum(DataType type) {
  switch (type) {
    case DataType::kString:
      return v201::DataEnum::kString;
    case DataType::kInteger:
      return v201::DataEnum::kInteger;
    case DataType::kDecimal:
      return v201::DataEnum::kDecimal;
    case DataType::kBoolean:
      return v201::DataEnum::kBoolean;
    case DataType::kOptionList:
      return v201::DataEnum::kOptionList;
    case DataType::kMemberList:
      return v201::DataEnum::kMemberList;
  }
  return v201::DataEnum::kString;
}

v201::MutabilityEnum ToMutabilityEnum(Mutability mutability) {
  switch (mutability) {
    case Mutability::kReadOnly:
      return v201::MutabilityEnum::kReadOnly;
    case Mutability::kWriteOnly:
      return v201::MutabilityEnum::kWriteOnly;
    case Mutability::kReadWrite:
      return v201::MutabilityEnum::kReadWrite;
  }
  return v201::MutabilityEnum::kReadOnly;
}

v201::Component ToComponent(const ComponentKey& key) {
  v201::Component component;
  component.name = key.name;
  component.instance = key.instance;
  if (key.evse_id) {
    component.evse.emplace();
    component.evse->id = *key.evse_id;
    component.evse->connector_id = key.connector_id;
  }
  return component;
}

// GetReport's componentVariable: what the request leaves out matches anything.
bool RequestedMatches(const v201::ComponentVariable& wanted, const VariableDef& def) {
  const ComponentKey& key = def.component;
  const v201::Component& component = wanted.component;
  if (!EqualsIgnoreCase(component.name, key.name)) return false;
  if (component.instance && !SameOptional(component.instance, key.instance)) return false;
  if (component.evse) {
    if (key.evse_id != component.evse->id) return false;
    if (component.evse->connector_id && key.connector_id != component.evse->connector_id) {
      return false;
    }
  }
  if (!wanted.variable) return true;
  if (!EqualsIgnoreCase(wanted.variable->name, def.name)) return false;
  return !wanted.variable->instance || SameOptional(wanted.variable->instance, def.instance);
}

bool SameComponent(const ComponentKey& a, const ComponentKey& b) {
  return EqualsIgnoreCase(a.name, b.name) && SameOptional(a.instance, b.instance) &&
         a.evse_id == b.evse_id && a.connector_id == b.connector_id;
}

// The variables that tell a component's state: SummaryInventory reports these.
bool IsStateVariable(const VariableDef& def) {
  for (const char* name : {"AvailabilityState", "Available", "Active", "Enabled", "Problem"}) {
    if (EqualsIgnoreCase(def.name, name)) return true;
  }
  return false;
}

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

void DeviceModel::Add(VariableDef variable) {
  Slot slot;
  slot.pending.resize(variable.attributes.size());
  slot.def = std::move(variable);
  variables_.push_back(std::move(slot));
}

DeviceModel::Lookup DeviceModel::Find(const v201::Component& component,
                                      const v201::Variable& variable, size_t* index) const {
  bool component_known = false;
  for (size_t i = 0; i < variables_.size(); ++i) {
    const VariableDef& def = variables_[i].def;
    if (!ComponentMatches(def.component, component)) continue;
    component_known = true;
    if (EqualsIgnoreCase(def.name, variable.name) &&
        SameOptional(def.instance, variable.instance)) {
      *index = i;
      return Lookup::kFound;
    }
  }
  return component_known ? Lookup::kUnknownVariable : Lookup::kUnknownComponent;
}

v201::GetVariableResult DeviceModel::Get(const v201::GetVariableData& data) const {
  v201::GetVariableResult result;
  result.component = data.component;
  result.variable = data.variable;
  result.attribute_type = data.attribute_type;
  size_t index = 0;
  switch (Find(data.component, data.variable, &index)) {
    case Lookup::kUnknownComponent:
      result.attribute_status = v201::GetVariableStatusEnum::kUnknownComponent;
      return result;
    case Lookup::kUnknownVariable:
      result.attribute_status = v201::GetVariableStatusEnum::kUnknownVariable;
      return result;
    case Lookup::kFound:
      break;
  }
  const VariableDef& def = variables_[index].def;
  const auto type = data.attribute_type.value_or(v201::AttributeEnum::kActual);
  auto attribute = std::find_if(def.attributes.begin(), def.attributes.end(),
                                [type](const AttributeDef& a) { return a.type == type; });
  if (attribute == def.attributes.end()) {
    result.attribute_status = v201::GetVariableStatusEnum::kNotSupportedAttributeType;
    return result;
  }
  if (attribute->mutability == Mutability::kWriteOnly) {
    result.attribute_status = v201::GetVariableStatusEnum::kRejected;
    result.attribute_status_info = Info("WriteOnly", "this variable can be written, not read");
    return result;
  }
  result.attribute_status = v201::GetVariableStatusEnum::kAccepted;
  result.attribute_value = attribute->read ? attribute->read() : attribute->value;
  return result;
}

std::optional<v201::StatusInfo> DeviceModel::CheckValue(const VariableDef& def,
                                                        const std::string& value) {
  switch (def.type) {
    case DataType::kInteger:
    case DataType::kDecimal: {
      const bool integer = def.type == DataType::kInteger;
      auto number = ParseNumber(value, integer);
      if (!number) {
        return Info("InvalidValue", integer ? "not an integer" : "not a decimal number");
      }
      if ((def.min_limit && *number < *def.min_limit) ||
          (def.max_limit && *number > *def.max_limit)) {
        std::string range = "must be";
        if (def.min_limit) range += " >= " + FormatLimit(*def.min_limit);
        if (def.min_limit && def.max_limit) range += " and";
        if (def.max_limit) range += " <= " + FormatLimit(*def.max_limit);
        return Info("ValueOutOfRange", range);
      }
      break;
    }
    case DataType::kBoolean:
      if (value != "true" && value != "false") return Info("InvalidValue", "must be true or false");
      break;
    case DataType::kOptionList:
      if (std::find(def.options.begin(), def.options.end(), value) == def.options.end()) {
        return Info("InvalidValue", "must be one of " + JoinOptions(def.options));
      }
      break;
    case DataType::kMemberList: {
      // A comma-separated subset of the options (an empty list is allowed).
      size_t start = 0;
      while (!value.empty() && start <= value.size()) {
        const size_t comma = std::min(value.find(',', start), value.size());
        const std::string member = value.substr(start, comma - start);
        if (std::find(def.options.begin(), def.options.end(), member) == def.options.end()) {
          return Info("InvalidValue", "members must be of " + JoinOptions(def.options));
        }
        start = comma + 1;
      }
      break;
    }
    case DataType::kString:
      if (def.max_limit && static_cast<double>(value.size()) > *def.max_limit) {
        return Info("ValueOutOfRange", "longer than " + FormatLimit(*def.max_limit));
      }
      break;
  }
  if (def.check) {
    if (std::string why = def.check(value); !why.empty()) return Info("InvalidValue", why);
  }
  return std::nullopt;
}

v201::SetVariableResult DeviceModel::Set(const v201::SetVariableData& data) {
  v201::SetVariableResult result;
  result.component = data.component;
  result.variable = data.variable;
  result.attribute_type = data.attribute_type;
  size_t index = 0;
  switch (Find(data.component, data.variable, &index)) {
    case Lookup::kUnknownComponent:
      result.attribute_status = v201::SetVariableStatusEnum::kUnknownComponent;
      return result;
    case Lookup::kUnknownVariable:
      result.attribute_status = v201::SetVariableStatusEnum::kUnknownVariable;
      return result;
    case Lookup::kFound:
      break;
  }
  Slot& slot = variables_[index];
  const VariableDef& def = slot.def;
  const auto type = data.attribute_type.value_or(v201::AttributeEnum::kActual);
  size_t at = 0;
  while (at < def.attributes.size() && def.attributes[at].type != type) ++at;
  if (at == def.attributes.size()) {
    result.attribute_status = v201::SetVariableStatusEnum::kNotSupportedAttributeType;
    return result;
  }
  AttributeDef& attribute = slot.def.attributes[at];
  if (attribute.mutability == Mutability::kReadOnly) {
    result.attribute_status = v201::SetVariableStatusEnum::kRejected;
    result.attribute_status_info = Info("ReadOnly", "this variable is read-only");
    return result;
  }
  if (auto problem = CheckValue(def, data.attribute_value)) {
    result.attribute_status = v201::SetVariableStatusEnum::kRejected;
    result.attribute_status_info = std::move(problem);
    return result;
  }
  if (def.reboot_required) {
    slot.pending[at] = data.attribute_value;
    result.attribute_status = v201::SetVariableStatusEnum::kRebootRequired;
    return result;
  }
  // A write-only value (a password) is handed on, never kept where GetVariables could find it.
  if (attribute.mutability != Mutability::kWriteOnly && !attribute.read) {
    attribute.value = data.attribute_value;
  }
  slot.pending[at].reset();  // a later accepted value replaces one waiting for the reboot
  if (def.on_change) def.on_change(type, data.attribute_value);
  result.attribute_status = v201::SetVariableStatusEnum::kAccepted;
  return result;
}

void DeviceModel::ApplyPending() {
  for (Slot& slot : variables_) {
    for (size_t i = 0; i < slot.pending.size(); ++i) {
      if (!slot.pending[i]) continue;
      std::string value = std::move(*slot.pending[i]);
      slot.pending[i].reset();
      AttributeDef& attribute = slot.def.attributes[i];
      if (attribute.mutability != Mutability::kWriteOnly && !attribute.read) {
        attribute.value = value;
      }
      if (slot.def.on_change) slot.def.on_change(attribute.type, value);
    }
  }
}

v201::ReportData DeviceModel::ToReportData(const VariableDef& def, bool writable_only) {
  v201::ReportData data;
  data.component = ToComponent(def.component);
  data.variable.name = def.name;
  data.variable.instance = def.instance;
  for (const AttributeDef& attribute : def.attributes) {
    if (writable_only && attribute.mutability == Mutability::kReadOnly) continue;
    v201::VariableAttribute reported;
    reported.type = attribute.type;
    // OCPP: a WriteOnly attribute is reported without its value.
    if (attribute.mutability != Mutability::kWriteOnly) {
      reported.value = attribute.read ? attribute.read() : attribute.value;
    }
    reported.mutability = ToMutabilityEnum(attribute.mutability);
    reported.persistent = attribute.persistent;
    reported.constant = attribute.constant;
    data.variable_attribute.push_back(std::move(reported));
  }
  v201::VariableCharacteristics characteristics;
  characteristics.data_type = ToDataEnum(def.type);
  characteristics.unit = def.unit;
  characteristics.min_limit = def.min_limit;
  characteristics.max_limit = def.max_limit;
  if (!def.options.empty()) characteristics.values_list = JoinOptions(def.options);
  characteristics.supports_monitoring = def.supports_monitoring;
  data.variable_characteristics = std::move(characteristics);
  return data;
}

std::vector<v201::ReportData> DeviceModel::BaseReport(v201::ReportBaseEnum base) const {
  std::vector<v201::ReportData> report;
  for (const Slot& slot : variables_) {
    const VariableDef& def = slot.def;
    switch (base) {
      case v201::ReportBaseEnum::kFullInventory:
        report.push_back(ToReportData(def, /*writable_only=*/false));
        break;
      case v201::ReportBaseEnum::kConfigurationInventory:
        if (std::any_of(def.attributes.begin(), def.attributes.end(), [](const AttributeDef& a) {
              return a.mutability != Mutability::kReadOnly;
            })) {
          report.push_back(ToReportData(def, /*writable_only=*/true));
        }
        break;
      case v201::ReportBaseEnum::kSummaryInventory:
        if (IsStateVariable(def)) report.push_back(ToReportData(def, /*writable_only=*/false));
        break;
    }
  }
  return report;
}

bool DeviceModel::MeetsCriteria(const ComponentKey& component,
                                const std::vector<v201::ComponentCriterionEnum>& criteria) const {
  for (v201::ComponentCriterionEnum criterion : criteria) {
    const std::string_view name = v201::ToString(criterion);
    std::optional<std::string> value;
    bool has_variable = false;
    for (const Slot& slot : variables_) {
      const VariableDef& def = slot.def;
      if (def.instance || !EqualsIgnoreCase(def.name, name) ||
          !SameComponent(def.component, component)) {
        continue;
      }
      has_variable = true;
      for (const AttributeDef& attribute : def.attributes) {
        if (attribute.type == v201::AttributeEnum::kActual &&
            attribute.mutability != Mutability::kWriteOnly) {
          value = attribute.read ? attribute.read() : attribute.value;
        }
      }
      break;
    }
    if (has_variable ? value == "true" : criterion != v201::ComponentCriterionEnum::kProblem) {
      return true;
    }
  }
  return false;
}

std::vector<v201::ReportData> DeviceModel::Report(const ReportFilter& filter) const {
  std::vector<v201::ReportData> report;
  std::vector<std::pair<ComponentKey, bool>> criteria_met;
  for (const Slot& slot : variables_) {
    const VariableDef& def = slot.def;
    if (filter.component_variable &&
        std::none_of(
            filter.component_variable->begin(), filter.component_variable->end(),
            [&](const v201::ComponentVariable& wanted) { return RequestedMatches(wanted, def); })) {
      continue;
    }
    if (filter.component_criteria) {
      // Once per component: a report of 10,000 variables of one component stays linear.
      auto known = std::find_if(criteria_met.begin(), criteria_met.end(), [&](const auto& entry) {
        return SameComponent(entry.first, def.component);
      });
      if (known == criteria_met.end()) {
        criteria_met.emplace_back(def.component,
                                  MeetsCriteria(def.component, *filter.component_criteria));
        known = std::prev(criteria_met.end());
      }
      if (!known->second) continue;
    }
    report.push_back(ToReportData(def, /*writable_only=*/false));
  }
  return report;
}

std::optional<std::string> DeviceModel::Value(std::string_view component, std::string_view variable,
                                              std::optional<std::string_view> variable_instance,
                                              v201::AttributeEnum type) const {
  for (const Slot& slot : variables_) {
    const VariableDef& def = slot.def;
    if (!EqualsIgnoreCase(def.component.name, component) || !EqualsIgnoreCase(def.name, variable))
      continue;
    if (def.instance.has_value() != variable_instance.has_value() ||
        (def.instance && !EqualsIgnoreCase(*def.instance, *variable_instance))) {
      continue;
    }
    for (const AttributeDef& attribute : def.attributes) {
      if (attribute.type != type || attribute.mutability == Mutability::kWriteOnly) continue;
      return attribute.read ? attribute.read() : attribute.value;
    }
  }
  return std::nullopt;
}

}  // namespace csms::sim
