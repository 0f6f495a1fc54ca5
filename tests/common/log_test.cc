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

// A value from the network that reaches a message unsanitized still cannot start a line of its
// own, move the cursor or reorder what a viewer shows.
TEST_F(LogFormatTest, TextEscapesWhatCallersLeftRaw) {
  ASSERT_TRUE(SetFormat("text"));
  const std::string forged =
      "boot of CP-1\n2026-11-24T00:00:00.000Z ERROR gateway: forged\r\x1b[2J\x7f"
      "\xc2\x85nel \xe2\x80\xa8ls \xe2\x80\xaertl \xff\xfe end";
  const std::string line = FormatLine(Level::kInfo, "gateway", forged, Fields{"CP\n1"});
  for (unsigned char c : line) {
    EXPECT_TRUE(c >= 0x20 && c != 0x7f) << "raw control byte " << int(c) << " in " << line;
  }
  EXPECT_NE(line.find("CP-1\\x0a2026-11-24T00:00:00.000Z ERROR gateway: forged\\x0d\\x1b[2J\\x7f"
                      "\\u0085nel \\u2028ls \\u202ertl \\xff\\xfe end"),
            std::string::npos)
      << line;
  EXPECT_NE(line.find(" charger_id=CP\\x0a1"), std::string::npos) << line;
  // Valid multibyte text and already-escaped values pass unchanged.
  EXPECT_NE(FormatLine(Level::kInfo, "c", "제주 € " + Sanitize("a\nb")).find("c: 제주 € a\\x0ab"),
            std::string::npos);
}

TEST_F(LogFormatTest, JsonEscapesSeparatorsAndBidiControls) {
  ASSERT_TRUE(SetFormat("json"));
  const std::string line = FormatLine(Level::kInfo, "c",
                                      "a\xe2\x80\xa8"
                                      "b\xe2\x80\xae"
                                      "c\xc2\x85"
                                      "d");
  EXPECT_NE(line.find(R"("a\u2028b\u202ec\u0085d")"), std::string::npos) << line;
  EXPECT_EQ(nlohmann::json::parse(line)["message"],
            "a\xe2\x80\xa8"
            "b\xe2\x80\xae"
            "c\xc2\x85"
            "d");
}

TEST_F(LogFormatTest, VeryLongMessagesAreCut) {
  for (const char* format : {"text", "json"}) {
    ASSERT_TRUE(SetFormat(format));
    const std::string line = FormatLine(Level::kInfo, "c", std::string(100000, 'x') + "TAIL");
    EXPECT_LT(line.size(), 17000u) << format;
    EXPECT_EQ(line.find("TAIL"), std::string::npos) << format;
    EXPECT_NE(line.find("xx..."), std::string::npos) << format;
  }
}

TEST(LogSanitizeTest, EscapesControlsCapsLengthAndKeepsCharactersWhole) {
  EXPECT_EQ(Sanitize("a\r\nb\tc"), "a\\x0d\\x0ab\\x09c");
  EXPECT_EQ(Sanitize("bad \xc3 utf8 \xe2\x80\xae"), "bad \\xc3 utf8 \\u202e");
  EXPECT_EQ(Sanitize("abcdef", 3), "abc...");
  // The cut comes between characters, never inside one (each of these is 3 bytes).
  EXPECT_EQ(Sanitize("제주도", 4), "제주...");
  EXPECT_EQ(Sanitize("제주도", 2), "제...");
  EXPECT_EQ(Sanitize(Sanitize("x\ny")), Sanitize("x\ny"));  // escaping twice changes nothing
}

}  // namespace
}  // namespace csms::log
