#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace csms::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Sets the threshold from "debug", "info", "warn" or "error"; false on anything else.
bool SetLevel(std::string_view name);
Level CurrentLevel();
inline bool Enabled(Level level) { return level >= CurrentLevel(); }

// Writes one whole line to stderr: "2026-11-24T00:00:00.123Z INFO component: message".
void Write(Level level, std::string_view component, std::string_view message);

// Makes a value safe for one log line: control characters escaped, length capped.
std::string Sanitize(std::string_view text, size_t max_len = 512);

}  // namespace csms::log

// Usage: CSMS_LOG(kInfo, "gateway") << "charger " << id << " connected";
// The stream is only built when the level is enabled.
#define CSMS_LOG(level, component)                                                            \
  for (bool csms_log_once_ = ::csms::log::Enabled(::csms::log::Level::level); csms_log_once_; \
       csms_log_once_ = false)                                                                \
  ::csms::log::LineBuilder(::csms::log::Level::level, component).stream()

namespace csms::log {
class LineBuilder {
 public:
  LineBuilder(Level level, std::string_view component) : level_(level), component_(component) {}
  ~LineBuilder() { Write(level_, component_, stream_.str()); }
  std::ostringstream& stream() { return stream_; }

 private:
  Level level_;
  std::string_view component_;
  std::ostringstream stream_;
};
}  // namespace csms::log
