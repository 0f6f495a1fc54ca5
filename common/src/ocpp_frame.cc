#include "csms/common/ocpp_frame.h"

namespace csms::ocpp {
namespace {

using nlohmann::json;

FrameError Error(std::string id, const char* code, std::string description,
                 bool should_reply = true) {
  return FrameError{std::move(id), code, std::move(description), should_reply};
}

// The message id if element [1] is a readable string within limits, else "-1".
std::string ReadableId(const json& array) {
  if (array.size() > 1 && array[1].is_string()) {
    const auto& id = array[1].get_ref<const std::string&>();
    if (!id.empty() && id.size() <= kMaxMessageIdLength) return id;
  }
  return "-1";
}

}  // namespace

ParseResult ParseFrame(std::string_view text) {
  // The JSON reader stops at a NUL byte; refuse it so that nothing after it is silently ignored.
  if (text.find('\0') != std::string_view::npos) {
    return Error("-1", error_code::kRpcFrameworkError, "message contains a NUL byte");
  }
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return Error("-1", error_code::kRpcFrameworkError, "message is not valid JSON");
  }
  if (!doc.is_array() || doc.empty()) {
    return Error("-1", error_code::kRpcFrameworkError,
                 "message must be a JSON array [MessageTypeId, MessageId, ...]");
  }
  if (!doc[0].is_number_integer()) {
    return Error(ReadableId(doc), error_code::kRpcFrameworkError,
                 "MessageTypeId (first element) must be an integer");
  }
  // Read wide so that a huge id cannot wrap around to 2, 3 or 4.
  const int64_t type = doc[0].get<int64_t>();
  if (type != 2 && type != 3 && type != 4) {
    return Error(ReadableId(doc), error_code::kMessageTypeNotSupported,
                 "MessageTypeId " + std::to_string(type) + " is not supported (2, 3 or 4)");
  }
  const bool is_reply = type != 2;
  if (doc.size() < 2 || !doc[1].is_string()) {
    return Error("-1", error_code::kRpcFrameworkError, "MessageId must be a string", !is_reply);
  }
  std::string id = doc[1].get<std::string>();
  if (id.empty() || id.size() > kMaxMessageIdLength) {
    return Error("-1", error_code::kRpcFrameworkError, "MessageId must be 1 to 36 characters long",
                 !is_reply);
  }

  Frame frame;
  frame.type = static_cast<MessageType>(type);
  frame.message_id = id;
  switch (frame.type) {
    case MessageType::kCall:
      if (doc.size() != 4) {
        return Error(id, error_code::kRpcFrameworkError,
                     "CALL must have 4 elements [2, MessageId, Action, Payload], got " +
                         std::to_string(doc.size()));
      }
      if (!doc[2].is_string() || doc[2].get_ref<const std::string&>().empty()) {
        return Error(id, error_code::kRpcFrameworkError, "Action must be a non-empty string");
      }
      if (!doc[3].is_object()) {
        return Error(id, error_code::kFormatViolation, "CALL payload must be a JSON object");
      }
      frame.action = doc[2].get<std::string>();
      frame.payload = std::move(doc[3]);
      break;
    case MessageType::kCallResult:
      if (doc.size() != 3 || !doc[2].is_object()) {
        return Error(id, error_code::kRpcFrameworkError,
                     "CALLRESULT must be [3, MessageId, {payload}]", false);
      }
      frame.payload = std::move(doc[2]);
      break;
    case MessageType::kCallError:
      if (doc.size() != 5 || !doc[2].is_string() || !doc[3].is_string()) {
        return Error(id, error_code::kRpcFrameworkError,
                     "CALLERROR must be [4, MessageId, errorCode, errorDescription, {details}]",
                     false);
      }
      frame.error_code = doc[2].get<std::string>();
      frame.error_description = doc[3].get<std::string>();
      frame.payload = doc[4].is_object() ? std::move(doc[4]) : json::object();
      break;
  }
  return frame;
}

std::string SerializeCall(std::string_view message_id, std::string_view action,
                          const nlohmann::json& payload) {
  return json::array({2, message_id, action, payload}).dump();
}

std::string SerializeCallResult(std::string_view message_id, const nlohmann::json& payload) {
  return json::array({3, message_id, payload}).dump();
}

std::string SerializeCallError(std::string_view message_id, std::string_view code,
                               std::string_view description, const nlohmann::json& details) {
  const json& safe_details = details.is_object() ? details : json::object();
  return json::array({4, message_id, code, TruncateUtf8(description, kMaxErrorDescriptionLength),
                      safe_details})
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string TruncateUtf8(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  size_t cut = max_bytes;
  // Step back over continuation bytes (10xxxxxx) so no sequence is split.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut));
}

}  // namespace csms::ocpp
