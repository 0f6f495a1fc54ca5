#include "csms/charger_sim/device_model.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace csms::sim {
namespace {

namespace v201 = ocpp::v201;
using Attr = v201::AttributeEnum;
using GetStatus = v201::GetVariableStatusEnum;
using SetStatus = v201::SetVariableStatusEnum;

v201::Component Component(std::string name, std::optional<int> evse = std::nullopt,
                          std::optional<int> connector = std::nullopt,
                          std::optional<std::string> instance = std::nullopt) {
  v201::Component component;
  component.name = std::move(name);
  component.instance = std::move(instance);
  if (evse) {
    component.evse.emplace();
    component.evse->id = *evse;
    component.evse->connector_id = connector;
  }
  return component;
}

v201::Variable Variable(std::string name, std::optional<std::string> instance = std::nullopt) {
  v201::Variable variable;
  variable.name = std::move(name);
  variable.instance = std::move(instance);
  return variable;
}

v201::GetVariableData Get(v201::Component component, v201::Variable variable,
                          std::optional<Attr> type = std::nullopt) {
  v201::GetVariableData data;
  data.component = std::move(component);
  data.variable = std::move(variable);
  data.attribute_type = type;
  return data;
}

v201::SetVariableData Set(v201::Component component, v201::Variable variable, std::string value,
                          std::optional<Attr> type = std::nullopt) {
  v201::SetVariableData data;
  data.component = std::move(component);
  data.variable = std::move(variable);
  data.attribute_value = std::move(value);
  data.attribute_type = type;
  return data;
}

AttributeDef Attribute(Attr type, Mutability mutability, std::string value = "") {
  AttributeDef attribute;
  attribute.type = type;
  attribute.mutability = mutability;
  attribute.value = std::move(value);
  return attribute;
}

class DeviceModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    VariableDef interval;
    interval.component = {"OCPPCommCtrlr", {}, {}, {}};
    interval.name = "HeartbeatInterval";
    interval.type = DataType::kInteger;
    interval.min_limit = 1;
    interval.attributes = {Attribute(Attr::kActual, Mutability::kReadWrite, "30")};
    interval.on_change = [this](Attr, const std::string& value) { changes_.push_back(value); };
    model_.Add(interval);

    VariableDef timeout;
    timeout.component = {"OCPPCommCtrlr", {}, {}, {}};
    timeout.name = "MessageTimeout";
    timeout.instance = "Default";
    timeout.type = DataType::kInteger;
    timeout.reboot_required = true;
    timeout.attributes = {Attribute(Attr::kActual, Mutability::kReadWrite, "30")};
    timeout.on_change = [this](Attr, const std::string& value) { changes_.push_back(value); };
    model_.Add(timeout);

    VariableDef power;
    power.component = {"EVSE", {}, 1, {}};
    power.name = "Power";
    power.type = DataType::kDecimal;
    power.attributes = {AttributeDef{Attr::kActual, Mutability::kReadOnly, "", [] { return "7"; }},
                        Attribute(Attr::kMaxSet, Mutability::kReadOnly, "22000")};
    model_.Add(power);

    VariableDef type;
    type.component = {"Connector", {}, 1, 1};
    type.name = "ConnectorType";
    type.type = DataType::kOptionList;
    type.options = {"cType2", "cCCS2"};
    type.attributes = {Attribute(Attr::kActual, Mutability::kReadWrite, "cCCS2")};
    model_.Add(type);

    VariableDef password;
    password.component = {"SecurityCtrlr", {}, {}, {}};
    password.name = "BasicAuthPassword";
    password.attributes = {Attribute(Attr::kActual, Mutability::kWriteOnly)};
    password.check = [](const std::string& value) {
      return value.size() < 16 ? std::string("too short") : std::string();
    };
    password.on_change = [this](Attr, const std::string& value) { changes_.push_back(value); };
    model_.Add(password);

    VariableDef flag;
    flag.component = {"AuthCtrlr", {}, {}, {}};
    flag.name = "Enabled";
    flag.type = DataType::kBoolean;
    flag.attributes = {Attribute(Attr::kActual, Mutability::kReadWrite, "true")};
    model_.Add(flag);

    VariableDef ratio;
    ratio.component = {"SampledDataCtrlr", {}, {}, {}};
    ratio.name = "Ratio";
    ratio.type = DataType::kDecimal;
    ratio.min_limit = 0;
    ratio.max_limit = 1;
    ratio.attributes = {Attribute(Attr::kActual, Mutability::kReadWrite, "0.5")};
    model_.Add(ratio);

    VariableDef name;
    name.component = {"ChargingStation", "main", {}, {}};
    name.name = "Label";
    name.max_limit = 5;
    name.attributes = {Attribute(Attr::kActual, Mutability::kReadWrite, "a")};
    model_.Add(name);
  }

  DeviceModel model_;
  std::vector<std::string> changes_;
};

TEST_F(DeviceModelTest, LooksUpComponentsAndVariables) {
  struct Case {
    v201::GetVariableData data;
    GetStatus status;
    std::optional<std::string> value;
  };
  const std::vector<Case> cases = {
      {Get(Component("OCPPCommCtrlr"), Variable("HeartbeatInterval")), GetStatus::kAccepted, "30"},
      {Get(Component("ocppcommctrlr"), Variable("HEARTBEATINTERVAL"), Attr::kActual),
       GetStatus::kAccepted, "30"},
      {Get(Component("OCPPCommCtrlr"), Variable("HeartbeatInterval"), Attr::kMaxSet),
       GetStatus::kNotSupportedAttributeType, std::nullopt},
      {Get(Component("OCPPCommCtrlr"), Variable("HeartbeatInterval", "x")),
       GetStatus::kUnknownVariable, std::nullopt},
      {Get(Component("OCPPCommCtrlr"), Variable("MessageTimeout")), GetStatus::kUnknownVariable,
       std::nullopt},
      {Get(Component("OCPPCommCtrlr"), Variable("MessageTimeout", "default")), GetStatus::kAccepted,
       "30"},
      {Get(Component("OCPPCommCtrlr", 1), Variable("HeartbeatInterval")),
       GetStatus::kUnknownComponent, std::nullopt},
      {Get(Component("EVSE", 1), Variable("Power")), GetStatus::kAccepted, "7"},
      {Get(Component("EVSE", 1), Variable("Power"), Attr::kMaxSet), GetStatus::kAccepted, "22000"},
      {Get(Component("EVSE", 2), Variable("Power")), GetStatus::kUnknownComponent, std::nullopt},
      {Get(Component("EVSE", 1, 1), Variable("Power")), GetStatus::kUnknownComponent, std::nullopt},
      {Get(Component("EVSE"), Variable("Power")), GetStatus::kUnknownComponent, std::nullopt},
      {Get(Component("Connector", 1, 1), Variable("ConnectorType")), GetStatus::kAccepted, "cCCS2"},
      {Get(Component("Connector", 1), Variable("ConnectorType")), GetStatus::kUnknownComponent,
       std::nullopt},
      {Get(Component("SecurityCtrlr"), Variable("BasicAuthPassword")), GetStatus::kRejected,
       std::nullopt},
      {Get(Component("ChargingStation"), Variable("Label")), GetStatus::kUnknownComponent,
       std::nullopt},
      {Get(Component("ChargingStation", {}, {}, "Main"), Variable("Label")), GetStatus::kAccepted,
       "a"},
      {Get(Component("Nothing"), Variable("Label")), GetStatus::kUnknownComponent, std::nullopt},
  };
  for (const Case& c : cases) {
    v201::GetVariableResult result = model_.Get(c.data);
    SCOPED_TRACE(c.data.component.name + "." + c.data.variable.name);
    EXPECT_EQ(result.attribute_status, c.status);
    EXPECT_EQ(result.attribute_value, c.value);
    EXPECT_EQ(result.component, c.data.component);
    EXPECT_EQ(result.variable, c.data.variable);
    EXPECT_EQ(result.attribute_type, c.data.attribute_type);
  }
}

TEST_F(DeviceModelTest, ChecksValuesByType) {
  struct Case {
    v201::SetVariableData data;
    SetStatus status;
    std::string reason;  // empty = no attributeStatusInfo
  };
  const auto interval = [](std::string value) {
    return Set(Component("OCPPCommCtrlr"), Variable("HeartbeatInterval"), std::move(value));
  };
  const auto ratio = [](std::string value) {
    return Set(Component("SampledDataCtrlr"), Variable("Ratio"), std::move(value));
  };
  const std::vector<Case> cases = {
      {interval("10"), SetStatus::kAccepted, ""},
      {interval("1"), SetStatus::kAccepted, ""},
      {interval("0"), SetStatus::kRejected, "ValueOutOfRange"},
      {interval("-3"), SetStatus::kRejected, "ValueOutOfRange"},
      {interval("1e3"), SetStatus::kRejected, "InvalidValue"},
      {interval("10 "), SetStatus::kRejected, "InvalidValue"},
      {interval("0x10"), SetStatus::kRejected, "InvalidValue"},
      {interval("++1"), SetStatus::kRejected, "InvalidValue"},
      {ratio("0.25"), SetStatus::kAccepted, ""},
      {ratio("1"), SetStatus::kAccepted, ""},
      {ratio("1.5"), SetStatus::kRejected, "ValueOutOfRange"},
      {ratio("nan"), SetStatus::kRejected, "InvalidValue"},
      {ratio("inf"), SetStatus::kRejected, "InvalidValue"},
      {Set(Component("AuthCtrlr"), Variable("Enabled"), "false"), SetStatus::kAccepted, ""},
      {Set(Component("AuthCtrlr"), Variable("Enabled"), "1"), SetStatus::kRejected, "InvalidValue"},
      {Set(Component("Connector", 1, 1), Variable("ConnectorType"), "cType2"), SetStatus::kAccepted,
       ""},
      {Set(Component("Connector", 1, 1), Variable("ConnectorType"), "sType3"), SetStatus::kRejected,
       "InvalidValue"},
      {Set(Component("ChargingStation", {}, {}, "main"), Variable("Label"), "abcde"),
       SetStatus::kAccepted, ""},
      {Set(Component("ChargingStation", {}, {}, "main"), Variable("Label"), "abcdef"),
       SetStatus::kRejected, "ValueOutOfRange"},
      {Set(Component("EVSE", 1), Variable("Power"), "5", Attr::kMaxSet), SetStatus::kRejected,
       "ReadOnly"},
      {Set(Component("EVSE", 1), Variable("Power"), "5", Attr::kTarget),
       SetStatus::kNotSupportedAttributeType, ""},
      {Set(Component("SecurityCtrlr"), Variable("BasicAuthPassword"), "short"),
       SetStatus::kRejected, "InvalidValue"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.data.variable.name + " = '" + c.data.attribute_value + "'");
    v201::SetVariableResult result = model_.Set(c.data);
    EXPECT_EQ(result.attribute_status, c.status);
    EXPECT_EQ(result.attribute_status_info ? result.attribute_status_info->reason_code : "",
              c.reason);
    if (c.status == SetStatus::kAccepted) {
      v201::GetVariableResult read =
          model_.Get(Get(c.data.component, c.data.variable, c.data.attribute_type));
      EXPECT_EQ(read.attribute_value, c.data.attribute_value);
    }
  }
}

TEST_F(DeviceModelTest, WriteOnlyValuesAreHandedOnButNeverKept) {
  const std::string secret = "0123456789abcdef";
  auto result = model_.Set(Set(Component("SecurityCtrlr"), Variable("BasicAuthPassword"), secret));
  EXPECT_EQ(result.attribute_status, SetStatus::kAccepted);
  EXPECT_EQ(changes_, std::vector<std::string>{secret});
  EXPECT_EQ(model_.Value("SecurityCtrlr", "BasicAuthPassword"), std::nullopt);
  auto read = model_.Get(Get(Component("SecurityCtrlr"), Variable("BasicAuthPassword")));
  EXPECT_EQ(read.attribute_status, GetStatus::kRejected);
  EXPECT_FALSE(read.attribute_value.has_value());
}

TEST_F(DeviceModelTest, RebootRequiredValuesWaitForApplyPending) {
  const auto timeout = [](std::string value) {
    return Set(Component("OCPPCommCtrlr"), Variable("MessageTimeout", "Default"), std::move(value));
  };
  EXPECT_EQ(model_.Set(timeout("40")).attribute_status, SetStatus::kRebootRequired);
  EXPECT_EQ(model_.Set(timeout("45")).attribute_status, SetStatus::kRebootRequired);
  EXPECT_EQ(model_.Set(timeout("x")).attribute_status, SetStatus::kRejected);
  EXPECT_TRUE(changes_.empty());
  EXPECT_EQ(model_.Value("OCPPCommCtrlr", "MessageTimeout", "Default"), "30");
  model_.ApplyPending();
  EXPECT_EQ(changes_, std::vector<std::string>{"45"});  // the last one
  EXPECT_EQ(model_.Value("OCPPCommCtrlr", "MessageTimeout", "Default"), "45");
  model_.ApplyPending();
  EXPECT_EQ(changes_.size(), 1u);  // once
}

TEST_F(DeviceModelTest, ValueForTheStationsOwnUse) {
  EXPECT_EQ(model_.Value("OCPPCommCtrlr", "HeartbeatInterval"), "30");
  EXPECT_EQ(model_.Value("OCPPCommCtrlr", "MessageTimeout"), std::nullopt);  // needs the instance
  EXPECT_EQ(model_.Value("EVSE", "Power"), "7");
  EXPECT_EQ(model_.Value("EVSE", "Power", std::nullopt, Attr::kMaxSet), "22000");
  EXPECT_EQ(model_.Value("EVSE", "Power", std::nullopt, Attr::kMinSet), std::nullopt);
  EXPECT_EQ(model_.Value("Nothing", "Power"), std::nullopt);
}

TEST_F(DeviceModelTest, MemberListAcceptsASubsetOfItsOptions) {
  VariableDef units;
  units.component = {"SmartChargingCtrlr", {}, {}, {}};
  units.name = "RateUnit";
  units.type = DataType::kMemberList;
  units.options = {"A", "W"};
  units.attributes = {Attribute(Attr::kActual, Mutability::kReadWrite, "A,W")};
  model_.Add(units);
  const auto set = [this](std::string value) {
    return model_.Set(Set(Component("SmartChargingCtrlr"), Variable("RateUnit"), std::move(value)))
        .attribute_status;
  };
  EXPECT_EQ(set("W"), SetStatus::kAccepted);
  EXPECT_EQ(set("W,A"), SetStatus::kAccepted);
  EXPECT_EQ(set(""), SetStatus::kAccepted);
  EXPECT_EQ(set("W,kW"), SetStatus::kRejected);
  EXPECT_EQ(set("W,"), SetStatus::kRejected);
  EXPECT_EQ(set("A W"), SetStatus::kRejected);
}

std::vector<std::string> Names(const std::vector<v201::ReportData>& report) {
  std::vector<std::string> names;
  for (const auto& data : report) {
    std::string name = data.component.name;
    if (data.component.instance) name += "/" + *data.component.instance;
    if (data.component.evse) name += "/" + std::to_string(data.component.evse->id);
    name += "." + data.variable.name;
    if (data.variable.instance) name += "/" + *data.variable.instance;
    names.push_back(name);
  }
  return names;
}

TEST_F(DeviceModelTest, BaseReports) {
  auto full = model_.BaseReport(v201::ReportBaseEnum::kFullInventory);
  EXPECT_EQ(Names(full), (std::vector<std::string>{
                             "OCPPCommCtrlr.HeartbeatInterval",
                             "OCPPCommCtrlr.MessageTimeout/Default",
                             "EVSE/1.Power",
                             "Connector/1.ConnectorType",
                             "SecurityCtrlr.BasicAuthPassword",
                             "AuthCtrlr.Enabled",
                             "SampledDataCtrlr.Ratio",
                             "ChargingStation/main.Label",
                         }));
  // Live values are read; both attributes of Power; characteristics from the definition.
  const v201::ReportData& power = full[2];
  ASSERT_EQ(power.variable_attribute.size(), 2u);
  EXPECT_EQ(power.variable_attribute[0].value, "7");
  EXPECT_EQ(power.variable_attribute[1].type, Attr::kMaxSet);
  EXPECT_EQ(power.variable_attribute[1].value, "22000");
  EXPECT_EQ(power.variable_attribute[1].mutability, v201::MutabilityEnum::kReadOnly);
  ASSERT_TRUE(power.variable_characteristics.has_value());
  EXPECT_EQ(power.variable_characteristics->data_type, v201::DataEnum::kDecimal);
  const v201::ReportData& type = full[3];
  EXPECT_EQ(type.variable_characteristics->values_list, "cType2,cCCS2");
  EXPECT_EQ(type.variable_characteristics->data_type, v201::DataEnum::kOptionList);
  const v201::ReportData& ratio = full[6];
  EXPECT_EQ(ratio.variable_characteristics->min_limit, 0);
  EXPECT_EQ(ratio.variable_characteristics->max_limit, 1);
  EXPECT_EQ(ratio.variable_characteristics->values_list, std::nullopt);
  // Written once, never reported.
  ASSERT_EQ(
      model_.Set(Set(Component("SecurityCtrlr"), Variable("BasicAuthPassword"), "0123456789abcdef"))
          .attribute_status,
      SetStatus::kAccepted);
  full = model_.BaseReport(v201::ReportBaseEnum::kFullInventory);
  ASSERT_EQ(full[4].variable_attribute.size(), 1u);
  EXPECT_EQ(full[4].variable_attribute[0].mutability, v201::MutabilityEnum::kWriteOnly);
  EXPECT_EQ(full[4].variable_attribute[0].value, std::nullopt);

  // Configuration: the writable ones (Power has read-only attributes only).
  EXPECT_EQ(Names(model_.BaseReport(v201::ReportBaseEnum::kConfigurationInventory)),
            (std::vector<std::string>{
                "OCPPCommCtrlr.HeartbeatInterval",
                "OCPPCommCtrlr.MessageTimeout/Default",
                "Connector/1.ConnectorType",
                "SecurityCtrlr.BasicAuthPassword",
                "AuthCtrlr.Enabled",
                "SampledDataCtrlr.Ratio",
                "ChargingStation/main.Label",
            }));
  // Summary: the state variables.
  EXPECT_EQ(Names(model_.BaseReport(v201::ReportBaseEnum::kSummaryInventory)),
            (std::vector<std::string>{"AuthCtrlr.Enabled"}));
}

TEST_F(DeviceModelTest, ConfigurationInventoryLeavesOutReadOnlyAttributes) {
  VariableDef limit;
  limit.component = {"SmartChargingCtrlr", {}, {}, {}};
  limit.name = "Limit";
  limit.type = DataType::kInteger;
  limit.attributes = {Attribute(Attr::kActual, Mutability::kReadWrite, "5"),
                      Attribute(Attr::kMaxSet, Mutability::kReadOnly, "9")};
  model_.Add(limit);
  auto report = model_.BaseReport(v201::ReportBaseEnum::kConfigurationInventory);
  ASSERT_FALSE(report.empty());
  ASSERT_EQ(report.back().variable.name, "Limit");
  ASSERT_EQ(report.back().variable_attribute.size(), 1u);
  EXPECT_EQ(report.back().variable_attribute[0].value, "5");
  // The full inventory has both.
  EXPECT_EQ(
      model_.BaseReport(v201::ReportBaseEnum::kFullInventory).back().variable_attribute.size(), 2u);
}

TEST_F(DeviceModelTest, CustomReportMatching) {
  const auto wanted = [](v201::Component component, std::optional<v201::Variable> variable) {
    v201::ComponentVariable entry;
    entry.component = std::move(component);
    entry.variable = std::move(variable);
    return entry;
  };
  using Criterion = v201::ComponentCriterionEnum;
  struct Case {
    std::string name;
    ReportFilter filter;
    std::vector<std::string> names;
  };
  const std::vector<Case> cases = {
      {"everything", {}, Names(model_.BaseReport(v201::ReportBaseEnum::kFullInventory))},
      {"a variable instance",
       {std::vector{wanted(Component("OCPPCommCtrlr"), Variable("MessageTimeout", "DEFAULT"))},
        std::nullopt},
       {"OCPPCommCtrlr.MessageTimeout/Default"}},
      {"the wrong variable instance",
       {std::vector{wanted(Component("OCPPCommCtrlr"), Variable("MessageTimeout", "Other"))},
        std::nullopt},
       {}},
      {"a component instance",
       {std::vector{wanted(Component("ChargingStation", {}, {}, "MAIN"), std::nullopt)},
        std::nullopt},
       {"ChargingStation/main.Label"}},
      {"no component instance: any",
       {std::vector{wanted(Component("ChargingStation"), std::nullopt)}, std::nullopt},
       {"ChargingStation/main.Label"}},
      {"the wrong component instance",
       {std::vector{wanted(Component("ChargingStation", {}, {}, "side"), std::nullopt)},
        std::nullopt},
       {}},
      {"an evse and connector",
       {std::vector{wanted(Component("Connector", 1, 1), std::nullopt)}, std::nullopt},
       {"Connector/1.ConnectorType"}},
      {"the wrong connector",
       {std::vector{wanted(Component("Connector", 1, 2), std::nullopt)}, std::nullopt},
       {}},
      // Every component meets Enabled: AuthCtrlr's is true, the others have none.
      {"Enabled",
       {std::nullopt, std::vector{Criterion::kEnabled}},
       Names(model_.BaseReport(v201::ReportBaseEnum::kFullInventory))},
      {"Problem: none", {std::nullopt, std::vector{Criterion::kProblem}}, {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(Names(model_.Report(c.filter)), c.names);
  }
  // AuthCtrlr's Enabled false: it no longer meets Enabled, the others still do.
  ASSERT_EQ(model_.Set(Set(Component("AuthCtrlr"), Variable("Enabled"), "false")).attribute_status,
            SetStatus::kAccepted);
  EXPECT_EQ(Names(model_.Report({std::nullopt, std::vector{Criterion::kEnabled}})).size(), 7u);
  EXPECT_EQ(Names(model_.Report({std::vector{wanted(Component("AuthCtrlr"), std::nullopt)},
                                 std::vector{Criterion::kEnabled}})),
            std::vector<std::string>{});
}

}  // namespace
}  // namespace csms::sim
