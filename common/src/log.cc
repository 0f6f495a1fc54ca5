#include "csms/common/log.h"

#include <atomic>
#include <cstdio>

#include "csms/common/time_util.h"

namespace csms::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::kInfo)};

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "DEBUG";
    case Level::kInfo:
      return "INFO";
    case Level::kWarn:
      return "WARN";
    case Level::kError:
      return "ERROR";
  }
  return "?";
}
}  // namespace

bool SetLevel(std::string_view name) {
  Level level;
  if (name == "debug") {
    level = Level::kDebug;
  } else if (name == "info") {
    level = Level::kInfo;
  } else if (name == "warn" || name == "warning") {
    level = Level::kWarn;
  } else if (name == "error") {
    level = Level::kError;
  } else {
    return false;
  }
  g_level.store(static_cast<int>(level));
  return true;
}

Level CurrentLevel() { return static_cast<Level>(g_level.load(std::memory_order_relaxed)); }

void Write(Level level, std::string_view component, std::string_view message) {
  std::string line = FormatRfc3339(SystemClock::now(), /*millis=*/true);
  line += ' ';
  line += LevelName(level);
  line += ' ';
  line += component;
  line += ": ";
  line += message;
  line += '\n';
  // One fwrite per line keeps lines from different threads whole.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

std::string Sanitize(std::string_view text, size_t max_len) {
  std::string out;
  out.reserve(std::min(text.size(), max_len) + 8);
  for (unsigned char c : text) {
    if (out.size() >= max_len) {
      out += "...";
      break;
    }
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace csms::log
