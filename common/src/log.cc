#include "csms/common/log.h"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <utility>

#include "csms/common/time_util.h"

namespace csms::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::atomic<int> g_format{static_cast<int>(Format::kText)};

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

Format CurrentFormat() { return static_cast<Format>(g_format.load(std::memory_order_relaxed)); }

bool SetFormat(std::string_view name) {
  if (name == "text") {
    g_format.store(static_cast<int>(Format::kText));
  } else if (name == "json") {
    g_format.store(static_cast<int>(Format::kJson));
  } else {
    return false;
  }
  return true;
}

namespace {

// Length of the valid UTF-8 sequence at text[i], or 0 if it is not one.
size_t Utf8Length(std::string_view text, size_t i) {
  const auto c = static_cast<unsigned char>(text[i]);
  size_t len;
  uint32_t min;
  if (c < 0x80) return 1;
  if ((c & 0xe0) == 0xc0) {
    len = 2;
    min = 0x80;
  } else if ((c & 0xf0) == 0xe0) {
    len = 3;
    min = 0x800;
  } else if ((c & 0xf8) == 0xf0) {
    len = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > text.size()) return 0;
  uint32_t cp = c & (0x7f >> len);
  for (size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(text[i + k]);
    if ((cc & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

// A JSON string literal; invalid UTF-8 becomes U+FFFD so every line parses.
void AppendJsonString(std::string& out, std::string_view text) {
  out += '"';
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
      ++i;
    } else if (size_t len = Utf8Length(text, i); len == 0) {
      out += "\\ufffd";
      ++i;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  out += '"';
}

const char* LowerLevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "?";
}

}  // namespace

std::string FormatLine(Level level, std::string_view component, std::string_view message,
                       const Fields& fields) {
  const std::string time = FormatRfc3339(SystemClock::now(), /*millis=*/true);
  std::string line;
  line.reserve(64 + message.size());
  const std::pair<const char*, std::string_view> named[] = {{"charger_id", fields.charger_id},
                                                            {"message_id", fields.message_id},
                                                            {"action", fields.action}};
  if (CurrentFormat() == Format::kJson) {
    line += "{\"time\":\"";
    line += time;
    line += "\",\"level\":\"";
    line += LowerLevelName(level);
    line += "\",\"component\":";
    AppendJsonString(line, component);
    line += ",\"message\":";
    AppendJsonString(line, message);
    for (const auto& [key, value] : named) {
      if (value.empty()) continue;
      line += ",\"";
      line += key;
      line += "\":";
      AppendJsonString(line, value);
    }
    line += '}';
    return line;
  }
  line += time;
  line += ' ';
  line += LevelName(level);
  line += ' ';
  line += component;
  line += ": ";
  line += message;
  for (const auto& [key, value] : named) {
    if (value.empty()) continue;
    line += ' ';
    line += key;
    line += '=';
    line += Sanitize(value, 128);
  }
  return line;
}

void Write(Level level, std::string_view component, std::string_view message,
           const Fields& fields) {
  std::string line = FormatLine(level, component, message, fields);
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
