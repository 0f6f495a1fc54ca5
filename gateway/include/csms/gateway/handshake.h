#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

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

// Longest Authorization header read: "Basic " + base64 of a 48-char id, ':' and a 40-char
// password is under 130 bytes; anything much longer is not a charger.
inline constexpr size_t kMaxAuthorizationBytes = 512;

struct BasicCredentials {
  std::string username;
  std::string password;
};
// Parses `Authorization: Basic base64(user:password)` (RFC 7617; the scheme is
// case-insensitive). nullopt when it is not Basic, not valid base64 or has no ':'.
std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view header);

// Counts failed handshakes per client address (a token bucket: `burst` failures at once, then
// one more every `refill`), so one address cannot guess passwords quickly. Thread-safe.
class FailureLimiter {
 public:
  FailureLimiter(int burst, std::chrono::milliseconds refill) : burst_(burst), refill_(refill) {}
  // False while the address has no failures left to spend.
  bool Allowed(const std::string& address, std::chrono::steady_clock::time_point now);
  void RecordFailure(const std::string& address, std::chrono::steady_clock::time_point now);

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point at;
  };
  double Refilled(const Bucket& b, std::chrono::steady_clock::time_point now) const;
  std::mutex mu_;
  const int burst_;
  const std::chrono::milliseconds refill_;
  std::unordered_map<std::string, Bucket> buckets_;
};

// A short random id naming one connection, e.g. "c-5f1c2a9be07d4e31".
std::string NewConnectionId();
// A message id for a CSMS-initiated CALL (UUID v4 text, 36 chars).
std::string NewMessageId();

}  // namespace csms::gateway
