// Live reads of the device model (ListVariables with live): what is asked for, how it is split
// into GetVariables CALLs, and how the answers are shown. The parts without I/O, as case tables;
// the whole path runs end to end in tests/e2e/device_model_test.cc.
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "csms/common/time_util.h"
#include "csms/control/device_model_api.h"
#include "csms/ocpp/model_support.h"

namespace csms::control {
namespace {

namespace v201 = ocpp::v201;
using nlohmann::json;

template <typename Message>
Message Parse(const std::string& text) {
  Message m;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &m)) << text;
  return m;
}

std::vector<v1::DeviceVariable> StoredModel(const std::vector<std::string>& texts) {
  std::vector<v1::DeviceVariable> out;
  for (const auto& t : texts) out.push_back(Parse<v1::DeviceVariable>(t));
  return out;
}

// Comp[inst]{evse/connector}.Var[inst]/Type, the type "-" when left out (Actual).
std::string Show(const v201::GetVariableData& item) {
  std::string s = item.component.name;
  if (item.component.instance) s += "[" + *item.component.instance + "]";
  if (item.component.evse) {
    s += "{" + std::to_string(item.component.evse->id);
    if (item.component.evse->connector_id) {
      s += "/" + std::to_string(*item.component.evse->connector_id);
    }
    s += "}";
  }
  s += "." + item.variable.name;
  if (item.variable.instance) s += "[" + *item.variable.instance + "]";
  s += "/" + (item.attribute_type ? std::string(v201::ToString(*item.attribute_type)) : "-");
  return s;
}

// A small stored model: two EVSE variables (Power with two attributes), one of connector 1, a
// variable without attributes, a password.
const std::vector<std::string> kModel = {
    R"(component: "EVSE" evse_id: 1 variable: "AvailabilityState"
       attributes { type: "Actual" value: "Available" })",
    R"(component: "EVSE" evse_id: 1 variable: "Power" data_type: "decimal" unit: "W"
       attributes { type: "Actual" value: "0" mutability: "ReadOnly" }
       attributes { type: "MaxSet" value: "100000" mutability: "ReadOnly" constant: true })",
    R"(component: "Connector" evse_id: 1 connector_id: 1 variable: "ConnectorType"
       attributes { type: "Actual" value: "cCCS2" })",
    R"(component: "Vendor" variable: "Bare")",
    R"(component: "SecurityCtrlr" variable: "BasicAuthPassword"
       attributes { type: "Actual" secret: true mutability: "WriteOnly" })",
};

TEST(LiveReadItems, ExactNamesAskForThatVariableElseTheStoredAttributes) {
  struct Case {
    const char* name;
    const char* request;                // ListVariablesRequest, text format
    std::vector<std::string> stored;    // what the store matched for the filter
    std::vector<std::string> expected;  // Show() of each item
  };
  const Case cases[] = {
      {"exact: as named, Actual by default, stored or not",
       R"(component: "OCPPCommCtrlr" variable: "HeartbeatInterval")",
       {},
       {"OCPPCommCtrlr.HeartbeatInterval/-"}},
      {"exact: instance, evse, connector, variable instance and type as given",
       R"(component: "Connector" component_instance: "a" evse_id: 1 connector_id: 2
          variable: "Limit" variable_instance: "x" attribute_type: "MaxSet")",
       {},
       {"Connector[a]{1/2}.Limit[x]/MaxSet"}},
      {"exact: one item even when the store has it with several attributes",
       R"(component: "EVSE" evse_id: 1 variable: "Power")",
       {kModel[1]},
       {"EVSE{1}.Power/-"}},
      {"component only: every stored attribute, in stored order",
       R"(component: "EVSE")",
       {kModel[0], kModel[1]},
       {"EVSE{1}.AvailabilityState/-", "EVSE{1}.Power/-", "EVSE{1}.Power/MaxSet"}},
      {"by type: only that attribute; a variable without it is not asked",
       R"(evse_id: 1 attribute_type: "MaxSet")",
       {"component: \"EVSE\" evse_id: 1 variable: \"AvailabilityState\"",
        R"(component: "EVSE" evse_id: 1 variable: "Power"
           attributes { type: "MaxSet" value: "100000" })"},
       {"EVSE{1}.Power/MaxSet"}},
      {"no attributes stored: Actual", R"(component: "Vendor")", {kModel[3]}, {"Vendor.Bare/-"}},
      {"a search is a looser filter even with component and variable",
       R"(component: "EVSE" variable: "Power" search: "pow" evse_id: 1)",
       {kModel[1]},
       {"EVSE{1}.Power/-", "EVSE{1}.Power/MaxSet"}},
      {"variable only, over components and EVSEs",
       R"(variable: "ConnectorType")",
       {kModel[2]},
       {"Connector{1/1}.ConnectorType/-"}},
      {"nothing stored matches: nothing to ask", R"(component: "Nothing")", {}, {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<std::string> got;
    for (const auto& item :
         LiveReadItems(Parse<v1::ListVariablesRequest>(c.request), StoredModel(c.stored))) {
      got.push_back(Show(item));
    }
    EXPECT_EQ(got, c.expected);
  }
}

TEST(GetVariablesLimits, FromTheStoredDeviceDataCtrlr) {
  auto limit = [](const char* variable, const char* instance, const char* value,
                  const char* type = "Actual") {
    return std::string("component: \"DeviceDataCtrlr\" variable: \"") + variable +
           "\" variable_instance: \"" + instance + "\" attributes { type: \"" + type +
           "\" value: \"" + value + "\" }";
  };
  struct Case {
    const char* name;
    std::vector<std::string> stored;
    std::optional<int> items, bytes;
  };
  const Case cases[] = {
      {"none stored", {}, std::nullopt, std::nullopt},
      {"both, GetVariables' only",
       {limit("ItemsPerMessage", "GetVariables", "4"),
        limit("BytesPerMessage", "GetVariables", "8192"),
        limit("ItemsPerMessage", "SetVariables", "8")},
       4,
       8192},
      {"names compare in any case",
       {limit("itemspermessage", "getvariables", "12")},
       12,
       std::nullopt},
      {"not a positive integer, or not Actual: unknown",
       {limit("ItemsPerMessage", "GetVariables", "0"),
        limit("BytesPerMessage", "GetVariables", "lots"),
        limit("ItemsPerMessage", "GetVariables", "9", "MaxSet")},
       std::nullopt,
       std::nullopt},
      {"SetVariables' limits alone do not count",
       {limit("ItemsPerMessage", "SetVariables", "8")},
       std::nullopt,
       std::nullopt},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const MessageLimits limits = GetVariablesLimits(StoredModel(c.stored));
    EXPECT_EQ(limits.get_items, c.items);
    EXPECT_EQ(limits.get_bytes, c.bytes);
  }
}

TEST(SplitGetVariables, IntoAsManyCallsAsTheLimitsNeed) {
  auto items = [](size_t n) {
    std::vector<v201::GetVariableData> out(n);
    for (size_t i = 0; i < n; ++i) {
      out[i].component.name = "C";
      out[i].variable.name = "V" + std::to_string(1000 + i);  // all the same size
    }
    return out;
  };
  // One item is {"component":{"name":"C"},"variable":{"name":"V1000"}}: 54 bytes; the CALL frame
  // around the items, [2,"<36>","GetVariables",{"getVariableData":[...]}], is counted as 102.
  struct Case {
    const char* name;
    size_t count;
    std::optional<int> max_items, max_bytes;
    std::vector<size_t> expected;  // items per CALL
  };
  const Case cases[] = {
      {"no items: no CALL", 0, 4, std::nullopt, {}},
      {"no limits known: one CALL", 9, std::nullopt, std::nullopt, {9}},
      {"items per message", 9, 4, std::nullopt, {4, 4, 1}},
      {"exactly the limit", 8, 4, std::nullopt, {4, 4}},
      {"the 500 cap with the Node charger's limit", 500, 4, std::nullopt,
       std::vector<size_t>(125, 4)},
      {"bytes per message: two items fit, not three", 5, std::nullopt, 250, {2, 2, 1}},
      {"both: the tighter wins", 6, 3, 250, {2, 2, 2}},
      {"an item bigger than the byte limit goes alone", 2, std::nullopt, 10, {1, 1}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto all = items(c.count);
    const auto calls = SplitGetVariables(all, c.max_items, c.max_bytes);
    std::vector<size_t> got;
    std::vector<v201::GetVariableData> joined;
    for (const auto& call : calls) {
      got.push_back(call.get_variable_data.size());
      joined.insert(joined.end(), call.get_variable_data.begin(), call.get_variable_data.end());
      if (c.max_bytes && call.get_variable_data.size() > 1) {
        const size_t frame =
            48 + v201::GetVariablesRequest::kAction.size() + ocpp::Encode(call).dump().size();
        EXPECT_LE(frame, static_cast<size_t>(*c.max_bytes));
      }
    }
    EXPECT_EQ(got, c.expected);
    EXPECT_EQ(joined, all) << "every item once, in order";
  }
}

TEST(LiveVariables, AnswersMatchedByNameAndTypeInTheStoredShape) {
  const auto stored = StoredModel(kModel);
  auto item = [](const char* text) {
    return ocpp::Decode<v201::GetVariableData>(json::parse(text));
  };
  const std::vector<v201::GetVariableData> asked = {
      item(R"({"component":{"name":"EVSE","evse":{"id":1}},"variable":{"name":"Power"}})"),
      item(R"({"component":{"name":"EVSE","evse":{"id":1}},"variable":{"name":"Power"},
               "attributeType":"MaxSet"})"),
      item(R"({"component":{"name":"SecurityCtrlr"},"variable":{"name":"BasicAuthPassword"}})"),
      item(R"({"component":{"name":"OCPPCommCtrlr"},"variable":{"name":"Nope"}})"),
      item(R"({"component":{"name":"Vendor"},"variable":{"name":"Bare"}})"),
  };
  // Two CALLs' answers, in another order than asked, names in another case; the password's
  // value sent anyway (a charger that should not), Vendor.Bare not answered at all.
  const std::vector<v201::GetVariablesResponse> answers = {
      ocpp::Decode<v201::GetVariablesResponse>(json::parse(R"({"getVariableResult":[
          {"component":{"name":"evse","evse":{"id":1}},"variable":{"name":"power"},
           "attributeType":"MaxSet","attributeStatus":"Accepted","attributeValue":"22000"},
          {"component":{"name":"EVSE","evse":{"id":1}},"variable":{"name":"Power"},
           "attributeStatus":"Accepted","attributeValue":"7400"}]})")),
      ocpp::Decode<v201::GetVariablesResponse>(json::parse(R"({"getVariableResult":[
          {"component":{"name":"OCPPCommCtrlr"},"variable":{"name":"Nope"},
           "attributeStatus":"UnknownVariable"},
          {"component":{"name":"SecurityCtrlr"},"variable":{"name":"BasicAuthPassword"},
           "attributeStatus":"Accepted","attributeValue":"hunter2hunter2hunter2"}]})")),
  };
  const TimePoint at = std::chrono::time_point_cast<std::chrono::microseconds>(
      SystemClock::time_point(std::chrono::seconds(1800000000)));
  const auto got = LiveVariables(asked, stored, answers, at);

  struct Expected {
    const char* variable;
    const char* type;
    const char* status;
    std::optional<std::string> value;
    bool secret;
    const char* mutability;
  };
  const Expected expected[] = {
      {"Power", "Actual", "Accepted", "7400", false, "ReadOnly"},
      {"Power", "MaxSet", "Accepted", "22000", false, "ReadOnly"},
      {"BasicAuthPassword", "Actual", "Accepted", std::nullopt, true, "WriteOnly"},
      {"Nope", "Actual", "UnknownVariable", std::nullopt, false, ""},
      {"Bare", "Actual", "", std::nullopt, false, ""},
  };
  ASSERT_EQ(got.size(), 4u) << "one per variable, Power's two attributes together";
  EXPECT_EQ(got[0].data_type(), "decimal") << "characteristics from the stored model";
  EXPECT_EQ(got[0].unit(), "W");
  EXPECT_EQ(got[0].evse_id(), 1);
  EXPECT_EQ(got[2].component(), "OCPPCommCtrlr") << "named as asked when not stored";
  size_t n = 0;
  for (const auto& v : got) {
    for (const auto& a : v.attributes()) {
      ASSERT_LT(n, std::size(expected));
      const Expected& e = expected[n++];
      SCOPED_TRACE(std::string(e.variable) + "/" + e.type);
      EXPECT_EQ(v.variable(), e.variable);
      EXPECT_EQ(a.type(), e.type);
      EXPECT_EQ(a.attribute_status(), e.status);
      EXPECT_EQ(a.has_value() ? std::optional(a.value()) : std::nullopt, e.value);
      EXPECT_EQ(a.secret(), e.secret);
      EXPECT_EQ(a.mutability(), e.mutability);
      EXPECT_EQ(a.source(), "GetVariables");
      EXPECT_EQ(FromProto(a.updated_at()), at);
    }
  }
  EXPECT_EQ(n, std::size(expected));
}

TEST(LiveVariables, ReasonCodeOfARejectedItem) {
  const auto asked = std::vector<v201::GetVariableData>{ocpp::Decode<v201::GetVariableData>(
      json::parse(R"({"component":{"name":"A"},"variable":{"name":"x"}})"))};
  const auto answer = ocpp::Decode<v201::GetVariablesResponse>(json::parse(R"({"getVariableResult":[
      {"component":{"name":"A"},"variable":{"name":"x"},"attributeStatus":"Rejected",
       "attributeStatusInfo":{"reasonCode":"WriteOnly"},"attributeValue":"leaked"}]})"));
  const auto got = LiveVariables(asked, {}, {answer}, TimePoint{});
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(got[0].attributes_size(), 1);
  EXPECT_EQ(got[0].attributes(0).attribute_status(), "Rejected");
  EXPECT_EQ(got[0].attributes(0).reason_code(), "WriteOnly");
  EXPECT_FALSE(got[0].attributes(0).has_value()) << "only an Accepted value is shown";
}

}  // namespace
}  // namespace csms::control
