// ParseFrame on arbitrary bytes. Besides "no crash, no sanitizer report", it checks:
//  - every FrameError is answerable: its CALLERROR reply parses back with the same id and code;
//  - every parsed frame survives a round trip: re-serialized, it parses again to the same frame;
//  - the OCA schema check that follows for a CALL reports a violation the way it promises.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "csms/common/ocpp_frame.h"
#include "csms/common/ocpp_schema.h"
#include "fuzz_check.h"

namespace {

using csms::ocpp::Frame;
using csms::ocpp::FrameError;
using csms::ocpp::MessageType;

// By value: the result is usually a temporary.
Frame ExpectFrame(csms::ocpp::ParseResult result) {
  FUZZ_CHECK(std::holds_alternative<Frame>(result));
  return std::move(std::get<Frame>(result));
}

void CheckError(const FrameError& error) {
  FUZZ_CHECK(!error.code.empty());
  FUZZ_CHECK(!error.description.empty());
  FUZZ_CHECK(
      error.message_id == "-1" ||
      (!error.message_id.empty() && error.message_id.size() <= csms::ocpp::kMaxMessageIdLength));
  // The reply the gateway would send must itself be a well-formed CALLERROR.
  std::string reply =
      csms::ocpp::SerializeCallError(error.message_id, error.code, error.description);
  Frame parsed = ExpectFrame(csms::ocpp::ParseFrame(reply));
  FUZZ_CHECK(parsed.type == MessageType::kCallError);
  FUZZ_CHECK(parsed.message_id == error.message_id);
  FUZZ_CHECK(parsed.error_code == error.code);
  FUZZ_CHECK(parsed.error_description ==
             csms::ocpp::TruncateUtf8(error.description, csms::ocpp::kMaxErrorDescriptionLength));
}

void CheckRoundTrip(const Frame& frame) {
  FUZZ_CHECK(!frame.message_id.empty() &&
             frame.message_id.size() <= csms::ocpp::kMaxMessageIdLength);
  FUZZ_CHECK(frame.payload.is_object());
  std::string text;
  switch (frame.type) {
    case MessageType::kCall:
      FUZZ_CHECK(!frame.action.empty());
      text = csms::ocpp::SerializeCall(frame.message_id, frame.action, frame.payload);
      break;
    case MessageType::kCallResult:
      text = csms::ocpp::SerializeCallResult(frame.message_id, frame.payload);
      break;
    case MessageType::kCallError:
      text = csms::ocpp::SerializeCallError(frame.message_id, frame.error_code,
                                            frame.error_description, frame.payload);
      break;
  }
  Frame again = ExpectFrame(csms::ocpp::ParseFrame(text));
  FUZZ_CHECK(again.type == frame.type);
  FUZZ_CHECK(again.message_id == frame.message_id);
  FUZZ_CHECK(again.action == frame.action);
  FUZZ_CHECK(again.payload == frame.payload);
  FUZZ_CHECK(again.error_code == frame.error_code);
  FUZZ_CHECK(
      again.error_description ==
      csms::ocpp::TruncateUtf8(frame.error_description, csms::ocpp::kMaxErrorDescriptionLength));
}

// What CallRouter does next with a CALL: the request schema of its action.
void CheckSchema(const Frame& frame) {
  static const csms::ocpp::SchemaSet& schemas = csms::ocpp::SchemaSet::Ocpp201();
  if (frame.type != MessageType::kCall || !schemas.Has(frame.action)) return;
  for (auto kind : {csms::ocpp::PayloadKind::kRequest, csms::ocpp::PayloadKind::kResponse}) {
    if (!schemas.Has(frame.action, kind)) continue;
    auto violation = schemas.Validate(frame.action, kind, frame.payload);
    if (!violation) continue;
    FUZZ_CHECK(violation->code == csms::ocpp::error_code::kFormatViolation ||
               violation->code == csms::ocpp::error_code::kOccurrenceConstraintViolation ||
               violation->code == csms::ocpp::error_code::kTypeConstraintViolation ||
               violation->code == csms::ocpp::error_code::kPropertyConstraintViolation);
    FUZZ_CHECK(!violation->description.empty() && violation->description.size() <= 255);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  csms::ocpp::ParseResult result = csms::ocpp::ParseFrame(text);
  if (const auto* error = std::get_if<FrameError>(&result)) {
    CheckError(*error);
  } else {
    CheckRoundTrip(std::get<Frame>(result));
    CheckSchema(std::get<Frame>(result));
  }

  // TruncateUtf8 on the raw bytes: never longer than asked, always a prefix, and a cut that
  // leaves no continuation byte at the cut.
  size_t max_bytes = size == 0 ? 0 : data[0] % (size + 1);
  std::string cut = csms::ocpp::TruncateUtf8(text, max_bytes);
  FUZZ_CHECK(cut.size() <= max_bytes);
  FUZZ_CHECK(text.substr(0, cut.size()) == cut);
  if (cut.size() < text.size()) {
    FUZZ_CHECK(cut.empty() || (static_cast<unsigned char>(text[cut.size()]) & 0xC0) != 0x80);
  }
  return 0;
}
