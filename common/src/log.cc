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

// Length of the valid UTF-8 sequence at text[i] (its code point in *cp), or 0 if it is not one.
size_t Utf8Length(std::string_view text, size_t i, uint32_t* cp) {
  const auto c = static_cast<unsigned char>(text[i]);
  size_t len;
  uint32_t min;
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
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
  uint32_t value = c & (0x7f >> len);
  for (size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(text[i + k]);
    if ((cc & 0xc0) != 0x80) return 0;
    value = (value << 6) | (cc & 0x3f);
  }
  if (value < min || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) return 0;
  *cp = value;
  return len;
}

// Characters a log line must not carry as they are: C0 and C1 controls and DEL (newlines would
// start a forged line, escape sequences drive terminals), the Unicode line and paragraph
// separators (line breaks to some viewers), and the bidirectional controls, which make a
// viewer show the text in another order than it has (CVE-2021-42574, "Trojan Source").
bool IsUnsafeCodePoint(uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
         cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

// Appends text with every unsafe character escaped (\xNN for a byte, \uNNNN beyond ASCII) and
// each byte that is not valid UTF-8 as \xNN, stopping with "..." once out has grown by max_len.
// The result is printable and never splits a character. Backslashes are kept as they are, so
// escaping twice changes nothing.
void AppendEscaped(std::string& out, std::string_view text, size_t max_len) {
  const size_t limit = out.size() + max_len;
  char buf[12];
  for (size_t i = 0; i < text.size();) {
    if (out.size() >= limit) {
      out += "...";
      return;
    }
    uint32_t cp = 0;
    const size_t len = Utf8Length(text, i, &cp);
    if (len == 0) {
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(text[i]));
      out += buf;
      ++i;
    } else if (IsUnsafeCodePoint(cp)) {
      std::snprintf(buf, sizeof buf, cp < 0x80 ? "\\x%02x" : "\\u%04x", cp);
      out += buf;
      i += len;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
}

// A JSON string literal; invalid UTF-8 becomes U+FFFD so every line parses, and the unsafe
// characters above are \u escapes (JSON allows them raw; viewers of the raw line do not).
void AppendJsonString(std::string& out, std::string_view text) {
  out += '"';
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    uint32_t cp = 0;
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (size_t len = Utf8Length(text, i, &cp); len == 0) {
      out += "\\ufffd";
      ++i;
    } else if (IsUnsafeCodePoint(cp)) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", cp);
      out += buf;
      i += len;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  out += '"';
}

// A message longer than this is cut (with "..."): one line must stay one readable line. (The
// text format counts the escaped bytes, the JSON format the message's own.)
constexpr size_t kMaxMessageBytes = 16 * 1024;

// The message cut to kMaxMessageBytes at a character boundary, "..." marking the cut.
std::string_view CapMessage(std::string_view message, std::string& storage) {
  if (message.size() <= kMaxMessageBytes) return message;
  size_t end = kMaxMessageBytes;
  while (end > 0 && (static_cast<unsigned char>(message[end]) & 0xc0) == 0x80) --end;
  storage.assign(message.substr(0, end));
  storage += "...";
  return storage;
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
    std::string capped;
    message = CapMessage(message, capped);
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
  // Values from the network reach messages; callers should Sanitize them, and whatever they
  // missed is escaped here, so no message can break its line or forge another.
  AppendEscaped(line, component, 64);
  line += ": ";
  AppendEscaped(line, message, kMaxMessageBytes);
  for (const auto& [key, value] : named) {
    if (value.empty()) continue;
    line += ' ';
    line += key;
    line += '=';
    AppendEscaped(line, value, 128);
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
  AppendEscaped(out, text, max_len);
  return out;
}

}  // namespace csms::log
