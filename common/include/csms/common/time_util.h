#pragma once

#include <google/protobuf/timestamp.pb.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace csms {

using SystemClock = std::chrono::system_clock;
using TimePoint = std::chrono::time_point<SystemClock, std::chrono::microseconds>;

// Injected wherever "now" matters, so tests can control time.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

class RealClock : public Clock {
 public:
  TimePoint Now() const override;
};

// "2026-11-24T09:15:00Z" (or with ".123" when millis is set). Always UTC, as OCPP asks.
std::string FormatRfc3339(SystemClock::time_point t, bool millis = false);
std::string FormatRfc3339(TimePoint t, bool millis = false);

// Parses RFC 3339 with any offset and optional fraction; also accepts a missing zone (read as
// UTC) because some firmware sends it. Returns nullopt on anything else.
std::optional<TimePoint> ParseRfc3339(std::string_view text);

google::protobuf::Timestamp ToProto(TimePoint t);
TimePoint FromProto(const google::protobuf::Timestamp& ts);

}  // namespace csms
