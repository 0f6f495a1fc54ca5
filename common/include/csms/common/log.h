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

// Line format: text (the default) or one JSON object per line.
enum class Format { kText = 0, kJson = 1 };
// Sets the format from "text" or "json"; false on anything else.
bool SetFormat(std::string_view name);
Format CurrentFormat();

// What a line is about, where it applies (empty fields are left out).
struct Fields {
  Fields() = default;
  Fields(std::string_view charger, std::string_view message = {}, std::string_view act = {})
      : charger_id(charger), message_id(message), action(act) {}
  std::string_view charger_id;
  std::string_view message_id;
  std::string_view action;
};

// Writes one whole line to stderr: "2026-11-24T00:00:00.123Z INFO component: message", with
// " charger_id=… message_id=… action=…" appended for the fields given; or, in the JSON format,
// {"time":…,"level":"info","component":…,"message":…,"charger_id":…,"message_id":…,"action":…}.
void Write(Level level, std::string_view component, std::string_view message,
           const Fields& fields = {});
// The line Write would print, without the newline (for tests).
std::string FormatLine(Level level, std::string_view component, std::string_view message,
                       const Fields& fields = {});

// Makes a value safe for one log line: control characters escaped, length capped.
std::string Sanitize(std::string_view text, size_t max_len = 512);

}  // namespace csms::log

// Usage: CSMS_LOG(kInfo, "gateway") << "charger " << id << " connected";
// The stream is only built when the level is enabled.
#define CSMS_LOG(level, component)                                                            \
  for (bool csms_log_once_ = ::csms::log::Enabled(::csms::log::Level::level); csms_log_once_; \
       csms_log_once_ = false)                                                                \
  ::csms::log::LineBuilder(::csms::log::Level::level, component).stream()

// Usage: CSMS_LOG_WITH(kInfo, "gateway", (csms::log::Fields{id, message_id, action})) << "...";
// The strings the fields view must outlive the statement.
#define CSMS_LOG_WITH(level, component, fields)                                               \
  for (bool csms_log_once_ = ::csms::log::Enabled(::csms::log::Level::level); csms_log_once_; \
       csms_log_once_ = false)                                                                \
  ::csms::log::LineBuilder(::csms::log::Level::level, component, fields).stream()

namespace csms::log {
class LineBuilder {
 public:
  LineBuilder(Level level, std::string_view component) : level_(level), component_(component) {}
  LineBuilder(Level level, std::string_view component, const Fields& fields)
      : level_(level), component_(component), fields_(fields) {}
  ~LineBuilder() { Write(level_, component_, stream_.str(), fields_); }
  std::ostringstream& stream() { return stream_; }

 private:
  Level level_;
  std::string_view component_;
  Fields fields_;
  std::ostringstream stream_;
};
}  // namespace csms::log
