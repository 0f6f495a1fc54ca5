#pragma once

#include <optional>
#include <string>
#include <string_view>

// The pure parts of the OCPP WebSocket upgrade (OCPP 2.0.1 Part 4 §3).
namespace csms::gateway {

inline constexpr size_t kMaxStationIdLength = 48;
inline constexpr std::string_view kOcpp201 = "ocpp2.0.1";

// The station identity: the last path segment of the request target, percent-decoded, at most
// 48 characters of OCPP's identifierString set. nullopt if absent or invalid.
std::optional<std::string> StationIdFromTarget(std::string_view target);

// Picks the subprotocol this CSMS speaks from a Sec-WebSocket-Protocol header value
// ("ocpp1.6, ocpp2.0.1"). nullopt if none is supported.
std::optional<std::string> SelectSubprotocol(std::string_view offered);

// A short random id naming one connection, e.g. "c-5f1c2a9be07d4e31".
std::string NewConnectionId();
// A message id for a CSMS-initiated CALL (UUID v4 text, 36 chars).
std::string NewMessageId();

}  // namespace csms::gateway
