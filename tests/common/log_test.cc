#include "csms/common/log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace csms::log {
namespace {

class LogFormatTest : public ::testing::Test {
 protected:
  void TearDown() override { SetFormat("text"); }
};

TEST_F(LogFormatTest, TextKeepsTheOldShapeAndAppendsFields) {
  ASSERT_TRUE(SetFormat("text"));
  const std::string plain = FormatLine(Level::kInfo, "gateway", "hello");
  EXPECT_NE(plain.find(" INFO gateway: hello"), std::string::npos) << plain;
  EXPECT_EQ(plain.back(), 'o');
  const std::string with =
      FormatLine(Level::kWarn, "gateway", "boot", Fields{"CP-1", "m-7", "BootNotification"});
  EXPECT_NE(with.find(" WARN gateway: boot charger_id=CP-1 message_id=m-7 action=BootNotification"),
            std::string::npos)
      << with;
}

TEST_F(LogFormatTest, JsonLinesParseAndCarryTheFields) {
  ASSERT_TRUE(SetFormat("json"));
  EXPECT_EQ(CurrentFormat(), Format::kJson);
  const std::string line =
      FormatLine(Level::kError, "billing", "quote \" backslash \\ newline \n tab \t bad \xff end",
                 Fields{"CP\"1", "", "TransactionEvent"});
  EXPECT_EQ(line.find('\n'), std::string::npos) << "one line per event";
  auto j = nlohmann::json::parse(line);  // throws (fails the test) if not JSON
  EXPECT_EQ(j["level"], "error");
  EXPECT_EQ(j["component"], "billing");
  EXPECT_EQ(j["message"], "quote \" backslash \\ newline \n tab \t bad \xef\xbf\xbd end");
  EXPECT_EQ(j["charger_id"], "CP\"1");
  EXPECT_FALSE(j.contains("message_id"));  // empty fields are left out
  EXPECT_EQ(j["action"], "TransactionEvent");
  EXPECT_TRUE(j["time"].is_string());
  EXPECT_EQ(j["time"].get<std::string>().back(), 'Z');
}

TEST_F(LogFormatTest, JsonKeepsValidMultibyteText) {
  ASSERT_TRUE(SetFormat("json"));
  auto j = nlohmann::json::parse(FormatLine(Level::kInfo, "c", "제주 €"));
  EXPECT_EQ(j["message"], "제주 €");
  EXPECT_EQ(j.size(), 4u);
}

TEST_F(LogFormatTest, RejectsUnknownFormats) {
  EXPECT_FALSE(SetFormat("xml"));
  EXPECT_TRUE(SetFormat("json"));
  EXPECT_TRUE(SetFormat("text"));
  EXPECT_EQ(CurrentFormat(), Format::kText);
}

TEST_F(LogFormatTest, MacroWritesTheFields) {
  ASSERT_TRUE(SetFormat("json"));
  ::testing::internal::CaptureStderr();
  std::string id = "CP-9";
  CSMS_LOG_WITH(kWarn, "gateway", (Fields{id, "42", "Heartbeat"})) << "n=" << 3;
  CSMS_LOG(kInfo, "gateway") << "plain";
  const std::string out = ::testing::internal::GetCapturedStderr();
  const auto nl = out.find('\n');
  ASSERT_NE(nl, std::string::npos);
  auto first = nlohmann::json::parse(out.substr(0, nl));
  EXPECT_EQ(first["message"], "n=3");
  EXPECT_EQ(first["message_id"], "42");
  auto second = nlohmann::json::parse(out.substr(nl + 1, out.size() - nl - 2));
  EXPECT_EQ(second["message"], "plain");
  EXPECT_FALSE(second.contains("charger_id"));
}

}  // namespace
}  // namespace csms::log
