// Splitting GetVariables / SetVariables by the charger's ItemsPerMessage and BytesPerMessage,
// and learning those limits from its answers.
#include "csms/control/message_limits.h"

#include <gtest/gtest.h>

namespace csms::control {
namespace {

struct ChunkCase {
  const char* name;
  size_t count;
  std::optional<int> max_items, max_bytes;
  size_t base_bytes;
  size_t item_bytes;
  std::vector<size_t> expected;
};

TEST(ChunkSizes, ByItemsAndBytes) {
  const ChunkCase cases[] = {
      {"no limits: one CALL", 10, {}, {}, 50, 40, {10}},
      {"items", 10, 4, {}, 50, 40, {4, 4, 2}},
      {"items exact", 8, 4, {}, 50, 40, {4, 4}},
      // 50 + 40 + (1 + 40) = 131 fits 140; a third needs 172.
      {"bytes", 5, {}, 140, 50, 40, {2, 2, 1}},
      {"both: the tighter wins", 6, 3, 140, 50, 40, {2, 2, 2}},
      {"an item over the byte limit goes alone", 3, {}, 60, 50, 40, {1, 1, 1}},
      {"one item", 1, 4, 100, 50, 40, {1}},
  };
  for (const ChunkCase& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(ChunkSizes(c.count, c.max_items, c.max_bytes, c.base_bytes,
                         [&c](size_t) { return c.item_bytes; }),
              c.expected);
  }
}

ocpp::v201::GetVariableResult Result(
    const char* component, const char* variable, const char* instance, const char* value,
    ocpp::v201::GetVariableStatusEnum status = ocpp::v201::GetVariableStatusEnum::kAccepted) {
  ocpp::v201::GetVariableResult r;
  r.component.name = component;
  r.variable.name = variable;
  if (*instance) r.variable.instance = instance;
  if (*value) r.attribute_value = value;
  r.attribute_status = status;
  return r;
}

TEST(LimitsIn, ReadsDeviceDataCtrlrPerInstance) {
  ocpp::v201::GetVariablesResponse answer;
  answer.get_variable_result = {
      Result("DeviceDataCtrlr", "ItemsPerMessage", "GetVariables", "4"),
      Result("devicedatactrlr", "ItemsPerMessage", "SetVariables", "8"),  // any case
      Result("DeviceDataCtrlr", "BytesPerMessage", "GetVariables", "8192"),
      Result("DeviceDataCtrlr", "BytesPerMessage", "SetVariables", "oops"),  // ignored
      Result("OCPPCommCtrlr", "HeartbeatInterval", "", "30"),
  };
  auto limits = LimitsIn(answer);
  ASSERT_TRUE(limits.has_value());
  EXPECT_EQ(limits->get_items, 4);
  EXPECT_EQ(limits->set_items, 8);
  EXPECT_EQ(limits->get_bytes, 8192);
  EXPECT_FALSE(limits->set_bytes.has_value());
}

TEST(LimitsIn, NothingWithoutAnAcceptedLimit) {
  ocpp::v201::GetVariablesResponse answer;
  answer.get_variable_result = {
      Result("DeviceDataCtrlr", "ItemsPerMessage", "GetVariables", "",
             ocpp::v201::GetVariableStatusEnum::kUnknownVariable),
      Result("DeviceDataCtrlr", "ItemsPerMessage", "", "4"),  // which instance?
      Result("DeviceDataCtrlr", "ItemsPerMessage", "GetVariables", "0"),
  };
  EXPECT_FALSE(LimitsIn(answer).has_value());
}

}  // namespace
}  // namespace csms::control
