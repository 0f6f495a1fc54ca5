#include "csms/common/ocpp_frame.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <variant>

namespace csms::ocpp {
namespace {

using nlohmann::json;

// Parses `text` and expects a FrameError; returns it (empty on failure so the test goes on).
FrameError ExpectError(std::string_view text) {
  ParseResult result = ParseFrame(text);
  const auto* error = std::get_if<FrameError>(&result);
  EXPECT_NE(error, nullptr) << "parsed as a valid frame: " << text;
  return error != nullptr ? *error : FrameError{};
}

Frame ExpectFrame(std::string_view text) {
  ParseResult result = ParseFrame(text);
  const auto* frame = std::get_if<Frame>(&result);
  EXPECT_NE(frame, nullptr) << "not parsed: " << text << " -> "
                            << (frame == nullptr ? std::get<FrameError>(result).description : "");
  return frame != nullptr ? *frame : Frame{};
}

// ---- §2.6 case 2: not JSON -----------------------------------------------------------------

TEST(ParseFrameTest, InvalidJsonIsRpcFrameworkErrorWithMinusOne) {
  FrameError e = ExpectError(R"([2,"abc","Heartbeat",{)");
  EXPECT_EQ(e.message_id, "-1");
  EXPECT_EQ(e.code, "RpcFrameworkError");
  EXPECT_TRUE(e.should_reply);
  EXPECT_FALSE(e.description.empty());
}

TEST(ParseFrameTest, EmptyTextIsRpcFrameworkError) {
  FrameError e = ExpectError("");
  EXPECT_EQ(e.message_id, "-1");
  EXPECT_EQ(e.code, "RpcFrameworkError");
  EXPECT_TRUE(e.should_reply);
}

TEST(ParseFrameTest, InvalidUtf8IsRpcFrameworkError) {
  std::string text = "[2,\"abc\",\"Heartbeat\",{\"x\":\"\xff\xfe\"}]";
  FrameError e = ExpectError(text);
  EXPECT_EQ(e.message_id, "-1");
  EXPECT_EQ(e.code, "RpcFrameworkError");
  EXPECT_TRUE(e.should_reply);
}

// ---- §2.6 case 3: not an array, empty, non-integer type ------------------------------------

TEST(ParseFrameTest, ObjectIsRpcFrameworkError) {
  FrameError e = ExpectError(R"({"messageTypeId":2,"id":"abc"})");
  EXPECT_EQ(e.message_id, "-1");
  EXPECT_EQ(e.code, "RpcFrameworkError");
  EXPECT_TRUE(e.should_reply);
}

TEST(ParseFrameTest, ScalarIsRpcFrameworkError) {
  FrameError e = ExpectError("42");
  EXPECT_EQ(e.message_id, "-1");
  EXPECT_EQ(e.code, "RpcFrameworkError");
}

TEST(ParseFrameTest, EmptyArrayIsRpcFrameworkError) {
  FrameError e = ExpectError("[]");
  EXPECT_EQ(e.message_id, "-1");
  EXPECT_EQ(e.code, "RpcFrameworkError");
  EXPECT_TRUE(e.should_reply);
}

TEST(ParseFrameTest, NonIntegerTypeIdKeepsReadableId) {
  FrameError e = ExpectError(R"(["2","msg-1","Heartbeat",{}])");
  EXPECT_EQ(e.message_id, "msg-1");
  EXPECT_EQ(e.code, "RpcFrameworkError");
  EXPECT_TRUE(e.should_reply);
}

TEST(ParseFrameTest, FloatTypeIdIsRpcFrameworkError) {
  FrameError e = ExpectError(R"([2.5,"msg-1","Heartbeat",{}])");
  EXPECT_EQ(e.message_id, "msg-1");
  EXPECT_EQ(e.code, "RpcFrameworkError");
}

TEST(ParseFrameTest, NonIntegerTypeIdWithUnreadableIdUsesMinusOne) {
  FrameError e = ExpectError(R"([null,17,"Heartbeat",{}])");
  EXPECT_EQ(e.message_id, "-1");
  EXPECT_EQ(e.code, "RpcFrameworkError");
}

// ---- §2.6 case 4: unknown MessageTypeId ----------------------------------------------------

TEST(ParseFrameTest, TypeFiveIsMessageTypeNotSupportedWithId) {
  FrameError e = ExpectError(R"([5,"msg-5","NotifyX",{}])");
  EXPECT_EQ(e.message_id, "msg-5");
  EXPECT_EQ(e.code, "MessageTypeNotSupported");
  EXPECT_TRUE(e.should_reply);
}

TEST(ParseFrameTest, TypeSixWithUnreadableIdUsesMinusOne) {
  FrameError e = ExpectError(R"([6,{"id":1},"Send",{}])");
  EXPECT_EQ(e.message_id, "-1");
  EXPECT_EQ(e.code, "MessageTypeNotSupported");
}

TEST(ParseFrameTest, TypeFiveWithTooLongIdUsesMinusOne) {
  std::string id(37, 'a');
  FrameError e = ExpectError("[5,\"" + id + "\",\"X\",{}]");
  EXPECT_EQ(e.message_id, "-1");
  EXPECT_EQ(e.code, "MessageTypeNotSupported");
}

TEST(ParseFrameTest, TypeZeroAndNegativeAreNotSupported) {
  EXPECT_EQ(ExpectError(R"([0,"a","Heartbeat",{}])").code, "MessageTypeNotSupported");
  EXPECT_EQ(ExpectError(R"([-2,"a","Heartbeat",{}])").code, "MessageTypeNotSupported");
}

// Regression: a type id beyond int range must not wrap around to 2 (CALL).
TEST(ParseFrameTest, HugeTypeIdDoesNotWrapToCall) {
  FrameError e = ExpectError(R"([4294967298,"msg-1","Heartbeat",{}])");
  EXPECT_EQ(e.message_id, "msg-1");
  EXPECT_EQ(e.code, "MessageTypeNotSupported");
}

// ---- §2.6 case 5: CALL structure -----------------------------------------------------------

TEST(ParseFrameTest, CallWithThreeElementsIsRpcFrameworkErrorWithId) {
  FrameError e = ExpectError(R"([2,"msg-1","Heartbeat"])");
  EXPECT_EQ(e.message_id, "msg-1");
  EXPECT_EQ(e.code, "RpcFrameworkError");
  EXPECT_TRUE(e.should_reply);
}

TEST(ParseFrameTest, CallWithFiveElementsIsRpcFrameworkError) {
  FrameError e = ExpectError(R"([2,"msg-1","Heartbeat",{},{}])");
  EXPECT_EQ(e.message_id, "msg-1");
  EXPECT_EQ(e.code, "RpcFrameworkError");
  EXPECT_TRUE(e.should_reply);
}

TEST(ParseFrameTest, CallWithOnlyTypeIsRpcFrameworkError) {
  FrameError e = ExpectError("[2]");
  EXPECT_EQ(e.message_id, "-1");
  EXPECT_EQ(e.code, "RpcFrameworkError");
  EXPECT_TRUE(e.should_reply);
}

TEST(ParseFrameTest, NumericMessageIdIsRpcFrameworkErrorWithMinusOne) {
  FrameError e = ExpectError(R"([2,12345,"Heartbeat",{}])");
  EXPECT_EQ(e.message_id, "-1");
  EXPECT_EQ(e.code, "RpcFrameworkError");
  EXPECT_TRUE(e.should_reply);
}

TEST(ParseFrameTest, MessageIdOf37CharsIsRpcFrameworkErrorWithMinusOne) {
  std::string id(37, 'x');
  FrameError e = ExpectError("[2,\"" + id + "\",\"Heartbeat\",{}]");
  EXPECT_EQ(e.message_id, "-1");
  EXPECT_EQ(e.code, "RpcFrameworkError");
  EXPECT_TRUE(e.should_reply);
}

TEST(ParseFrameTest, MessageIdOf36CharsIsAccepted) {
  std::string id(36, 'x');
  Frame f = ExpectFrame("[2,\"" + id + "\",\"Heartbeat\",{}]");
  EXPECT_EQ(f.message_id, id);
}

TEST(ParseFrameTest, EmptyMessageIdIsRpcFrameworkError) {
  FrameError e = ExpectError(R"([2,"","Heartbeat",{}])");
  EXPECT_EQ(e.message_id, "-1");
  EXPECT_EQ(e.code, "RpcFrameworkError");
}

TEST(ParseFrameTest, NonStringActionIsRpcFrameworkErrorWithId) {
  FrameError e = ExpectError(R"([2,"msg-1",7,{}])");
  EXPECT_EQ(e.message_id, "msg-1");
  EXPECT_EQ(e.code, "RpcFrameworkError");
  EXPECT_TRUE(e.should_reply);
}

TEST(ParseFrameTest, EmptyActionIsRpcFrameworkError) {
  FrameError e = ExpectError(R"([2,"msg-1","",{}])");
  EXPECT_EQ(e.message_id, "msg-1");
  EXPECT_EQ(e.code, "RpcFrameworkError");
}

TEST(ParseFrameTest, ArrayPayloadIsFormatViolation) {
  FrameError e = ExpectError(R"([2,"msg-1","Heartbeat",[]])");
  EXPECT_EQ(e.message_id, "msg-1");
  EXPECT_EQ(e.code, "FormatViolation");
  EXPECT_TRUE(e.should_reply);
}

TEST(ParseFrameTest, NullPayloadIsFormatViolation) {
  FrameError e = ExpectError(R"([2,"msg-1","Heartbeat",null])");
  EXPECT_EQ(e.message_id, "msg-1");
  EXPECT_EQ(e.code, "FormatViolation");
}

// ---- valid frames --------------------------------------------------------------------------

TEST(ParseFrameTest, ValidCall) {
  Frame f = ExpectFrame(
      R"([2,"19223201","BootNotification",
          {"reason":"PowerUp","chargingStation":{"model":"M","vendorName":"V"}}])");
  EXPECT_EQ(f.type, MessageType::kCall);
  EXPECT_EQ(f.message_id, "19223201");
  EXPECT_EQ(f.action, "BootNotification");
  EXPECT_EQ(f.payload["reason"], "PowerUp");
  EXPECT_EQ(f.payload["chargingStation"]["model"], "M");
}

TEST(ParseFrameTest, ValidCallWithEmptyPayload) {
  Frame f = ExpectFrame(R"([2,"a","Heartbeat",{}])");
  EXPECT_EQ(f.type, MessageType::kCall);
  EXPECT_EQ(f.action, "Heartbeat");
  EXPECT_EQ(f.payload, json::object());
}

TEST(ParseFrameTest, ValidCallResult) {
  Frame f = ExpectFrame(R"([3,"msg-9",{"status":"Accepted"}])");
  EXPECT_EQ(f.type, MessageType::kCallResult);
  EXPECT_EQ(f.message_id, "msg-9");
  EXPECT_TRUE(f.action.empty());
  EXPECT_EQ(f.payload, (json{{"status", "Accepted"}}));
}

TEST(ParseFrameTest, ValidCallError) {
  Frame f = ExpectFrame(R"([4,"msg-9","NotSupported","no reset here",{"detail":1}])");
  EXPECT_EQ(f.type, MessageType::kCallError);
  EXPECT_EQ(f.message_id, "msg-9");
  EXPECT_EQ(f.error_code, "NotSupported");
  EXPECT_EQ(f.error_description, "no reset here");
  EXPECT_EQ(f.payload, (json{{"detail", 1}}));
}

TEST(ParseFrameTest, CallErrorWithUnknownCodeIsAccepted) {
  // §2.5: accept any code when parsing CALLERRORs (EVerest sends FormationViolation on 2.0.1).
  Frame f = ExpectFrame(R"([4,"m","FormationViolation","",{}])");
  EXPECT_EQ(f.error_code, "FormationViolation");
  EXPECT_EQ(f.error_description, "");
}

// ---- §2.6 case 8: broken replies are never answered ----------------------------------------

TEST(ParseFrameTest, CallResultWithNonObjectPayloadIsNotAnswered) {
  FrameError e = ExpectError(R"([3,"msg-1","Accepted"])");
  EXPECT_EQ(e.code, "RpcFrameworkError");
  EXPECT_FALSE(e.should_reply);
}

TEST(ParseFrameTest, CallResultWithWrongArityIsNotAnswered) {
  FrameError e = ExpectError(R"([3,"msg-1",{},{}])");
  EXPECT_FALSE(e.should_reply);
  EXPECT_EQ(e.code, "RpcFrameworkError");
}

TEST(ParseFrameTest, CallResultWithNumericIdIsNotAnswered) {
  FrameError e = ExpectError(R"([3,5,{}])");
  EXPECT_FALSE(e.should_reply);
  EXPECT_EQ(e.message_id, "-1");
}

TEST(ParseFrameTest, CallResultWithTooLongIdIsNotAnswered) {
  FrameError e = ExpectError("[3,\"" + std::string(37, 'z') + "\",{}]");
  EXPECT_FALSE(e.should_reply);
}

TEST(ParseFrameTest, CallErrorWithFourElementsIsNotAnswered) {
  FrameError e = ExpectError(R"([4,"msg-1","GenericError","oops"])");
  EXPECT_EQ(e.code, "RpcFrameworkError");
  EXPECT_FALSE(e.should_reply);
}

TEST(ParseFrameTest, CallErrorWithNonStringCodeIsNotAnswered) {
  FrameError e = ExpectError(R"([4,"msg-1",17,"oops",{}])");
  EXPECT_FALSE(e.should_reply);
}

TEST(ParseFrameTest, CallErrorWithNullDetailsIsReadAsEmptyObject) {
  Frame f = ExpectFrame(R"([4,"msg-1","GenericError","oops",null])");
  EXPECT_EQ(f.type, MessageType::kCallError);
  EXPECT_EQ(f.payload, json::object());
}

// ---- serialization -------------------------------------------------------------------------

TEST(SerializeTest, CallIsFourElementArray) {
  json j = json::parse(SerializeCall("id-1", "Reset", json{{"type", "Immediate"}}));
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 4u);
  EXPECT_EQ(j[0], 2);
  EXPECT_EQ(j[1], "id-1");
  EXPECT_EQ(j[2], "Reset");
  EXPECT_EQ(j[3], (json{{"type", "Immediate"}}));
}

TEST(SerializeTest, CallResultIsThreeElementArray) {
  std::string text = SerializeCallResult("id-2", json::object());
  EXPECT_EQ(text, R"([3,"id-2",{}])");
  Frame f = ExpectFrame(text);
  EXPECT_EQ(f.type, MessageType::kCallResult);
  EXPECT_EQ(f.message_id, "id-2");
}

TEST(SerializeTest, CallErrorHasFiveElementsAndEmptyDetails) {
  std::string text = SerializeCallError("id-3", "NotSupported", "nope");
  EXPECT_EQ(text, R"([4,"id-3","NotSupported","nope",{}])");
  Frame f = ExpectFrame(text);
  EXPECT_EQ(f.type, MessageType::kCallError);
  EXPECT_EQ(f.error_code, "NotSupported");
  EXPECT_EQ(f.error_description, "nope");
}

TEST(SerializeTest, CallErrorNullDetailsBecomeEmptyObject) {
  json j = json::parse(SerializeCallError("id", "GenericError", "", json(nullptr)));
  ASSERT_EQ(j.size(), 5u);
  EXPECT_TRUE(j[4].is_object());
  EXPECT_TRUE(j[4].empty());
  EXPECT_EQ(j[3], "");
}

TEST(SerializeTest, CallErrorNonObjectDetailsBecomeEmptyObject) {
  json j = json::parse(SerializeCallError("id", "GenericError", "d", json::array({1, 2})));
  ASSERT_EQ(j.size(), 5u);
  EXPECT_EQ(j[4], json::object());
}

TEST(SerializeTest, CallErrorKeepsObjectDetails) {
  json j = json::parse(SerializeCallError("id", "GenericError", "d", json{{"field", "x"}}));
  EXPECT_EQ(j[4], (json{{"field", "x"}}));
}

TEST(SerializeTest, CallErrorDescriptionCutTo255Bytes) {
  std::string description(300, 'a');
  json j = json::parse(SerializeCallError("id", "GenericError", description));
  EXPECT_EQ(j[3].get<std::string>(), std::string(255, 'a'));
}

TEST(SerializeTest, CallErrorDescriptionOf255BytesIsKept) {
  std::string description(255, 'b');
  json j = json::parse(SerializeCallError("id", "GenericError", description));
  EXPECT_EQ(j[3].get<std::string>(), description);
}

TEST(SerializeTest, CallErrorDescriptionCutDoesNotSplitUtf8) {
  // 254 ASCII bytes then "é" (2 bytes: bytes 255 and 256): the cut at 255 would split it.
  std::string description = std::string(254, 'a') + "\xC3\xA9" + "tail";
  std::string text = SerializeCallError("id", "GenericError", description);
  json j = json::parse(text);  // throws on invalid UTF-8
  EXPECT_EQ(j[3].get<std::string>(), std::string(254, 'a'));
  EXPECT_EQ(text.find("\\ufffd"), std::string::npos);
}

TEST(SerializeTest, CallErrorDescriptionKeepsWholeMultibyteCharacterAtBoundary) {
  // 253 ASCII + "é" = 255 bytes exactly, then more text: the whole "é" fits.
  std::string description = std::string(253, 'a') + "\xC3\xA9" + "zzz";
  json j = json::parse(SerializeCallError("id", "GenericError", description));
  EXPECT_EQ(j[3].get<std::string>(), std::string(253, 'a') + "\xC3\xA9");
}

TEST(SerializeTest, CallErrorDescriptionDoesNotSplitFourByteCharacter) {
  // 253 ASCII + U+1F600 (4 bytes: 254..257).
  std::string description = std::string(253, 'a') + "\xF0\x9F\x98\x80";
  json j = json::parse(SerializeCallError("id", "GenericError", description));
  EXPECT_EQ(j[3].get<std::string>(), std::string(253, 'a'));
}

TEST(SerializeTest, CallErrorEscapesInvalidUtf8InsteadOfThrowing) {
  std::string text = SerializeCallError("-1", "RpcFrameworkError", "bad \xff byte");
  json j = json::parse(text);
  ASSERT_EQ(j.size(), 5u);
  EXPECT_EQ(j[3].get<std::string>(), "bad \xEF\xBF\xBD byte");  // U+FFFD
}

TEST(SerializeTest, CallErrorParsesBackAsValidFrame) {
  Frame f = ExpectFrame(SerializeCallError("-1", "RpcFrameworkError", "quote \" and \\ ok"));
  EXPECT_EQ(f.message_id, "-1");
  EXPECT_EQ(f.error_description, "quote \" and \\ ok");
}

TEST(TruncateUtf8Test, ShortTextUnchanged) {
  EXPECT_EQ(TruncateUtf8("hello", 10), "hello");
  EXPECT_EQ(TruncateUtf8("hello", 5), "hello");
  EXPECT_EQ(TruncateUtf8("", 0), "");
}

TEST(TruncateUtf8Test, CutsAsciiExactly) { EXPECT_EQ(TruncateUtf8("hello", 3), "hel"); }

TEST(TruncateUtf8Test, StepsBackOverThreeByteSequence) {
  // "a€b": '€' is E2 82 AC.
  std::string text =
      "a\xE2\x82\xAC"
      "b";
  EXPECT_EQ(TruncateUtf8(text, 1), "a");
  EXPECT_EQ(TruncateUtf8(text, 2), "a");
  EXPECT_EQ(TruncateUtf8(text, 3), "a");
  EXPECT_EQ(TruncateUtf8(text, 4), "a\xE2\x82\xAC");
}

}  // namespace
}  // namespace csms::ocpp

namespace csms::ocpp {
namespace {
// Found by fuzzing: text after a NUL byte was silently ignored by the JSON reader.
TEST(ParseFrameNulTest, NulByteIsRefused) {
  auto parsed = ParseFrame(std::string(R"([2,"a","Heartbeat",{}])") + std::string(1, '\0') + "x");
  ASSERT_TRUE(std::holds_alternative<FrameError>(parsed));
  EXPECT_EQ(std::get<FrameError>(parsed).code, "RpcFrameworkError");
}
}  // namespace
}  // namespace csms::ocpp
