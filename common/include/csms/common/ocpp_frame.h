#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <variant>

// OCPP-J RPC framing (OCPP 2.0.1 Part 4): CALL, CALLRESULT and CALLERROR arrays.
namespace csms::ocpp {

enum class MessageType { kCall = 2, kCallResult = 3, kCallError = 4 };

// RPC error codes of OCPP 2.0.1 (Part 4, table 8).
namespace error_code {
inline constexpr const char* kFormatViolation = "FormatViolation";
inline constexpr const char* kGenericError = "GenericError";
inline constexpr const char* kInternalError = "InternalError";
inline constexpr const char* kMessageTypeNotSupported = "MessageTypeNotSupported";
inline constexpr const char* kNotImplemented = "NotImplemented";
inline constexpr const char* kNotSupported = "NotSupported";
inline constexpr const char* kOccurrenceConstraintViolation = "OccurrenceConstraintViolation";
inline constexpr const char* kPropertyConstraintViolation = "PropertyConstraintViolation";
inline constexpr const char* kProtocolError = "ProtocolError";
inline constexpr const char* kRpcFrameworkError = "RpcFrameworkError";
inline constexpr const char* kSecurityError = "SecurityError";
inline constexpr const char* kTypeConstraintViolation = "TypeConstraintViolation";
}  // namespace error_code

inline constexpr size_t kMaxMessageIdLength = 36;
inline constexpr size_t kMaxErrorDescriptionLength = 255;

struct Frame {
  MessageType type = MessageType::kCall;
  std::string message_id;
  std::string action;             // CALL only
  nlohmann::json payload;         // CALL and CALLRESULT payload; CALLERROR errorDetails
  std::string error_code;         // CALLERROR only
  std::string error_description;  // CALLERROR only
};

// Why a text could not be read as an OCPP-J frame, and the CALLERROR that answers it.
struct FrameError {
  std::string message_id;  // "-1" when the id could not be read
  std::string code;
  std::string description;
  // False when the broken frame was itself a reply: OCPP forbids answering a reply with an
  // error, so the receiver only logs it.
  bool should_reply = true;
};

using ParseResult = std::variant<Frame, FrameError>;

// Parses one WebSocket text message.
ParseResult ParseFrame(std::string_view text);

std::string SerializeCall(std::string_view message_id, std::string_view action,
                          const nlohmann::json& payload);
std::string SerializeCallResult(std::string_view message_id, const nlohmann::json& payload);
// The description is cut to 255 characters (on a UTF-8 boundary); details default to {}.
std::string SerializeCallError(std::string_view message_id, std::string_view code,
                               std::string_view description,
                               const nlohmann::json& details = nlohmann::json::object());

// Cuts text to at most max_bytes without splitting a UTF-8 sequence.
std::string TruncateUtf8(std::string_view text, size_t max_bytes);

}  // namespace csms::ocpp
