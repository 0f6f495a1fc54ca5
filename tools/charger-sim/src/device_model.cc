#include "csms/charger_sim/device_model.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

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
        std::string list;
        for (const auto& option : def.options) list += (list.empty() ? "" : ",") + option;
        return Info("InvalidValue", "must be one of " + list);
      }
      break;
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
