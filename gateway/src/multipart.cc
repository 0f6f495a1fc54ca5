#include "csms/gateway/multipart.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace csms::gateway {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// The value of `name` among `;`-separated parameters (`a=b; name="value"`), unquoted.
std::optional<std::string> Parameter(std::string_view header, std::string_view name) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t semi = header.find(';', pos);
    // A quoted value may hold ';': find the end of the quotes first.
    size_t eq = header.find('=', pos);
    std::string_view key = Trim(header.substr(pos, std::min(eq, semi) - pos));
    if (eq != std::string_view::npos && (semi == std::string_view::npos || eq < semi)) {
      size_t value_start = eq + 1;
      while (value_start < header.size() && header[value_start] == ' ') ++value_start;
      std::string value;
      size_t end;
      if (value_start < header.size() && header[value_start] == '"') {
        end = value_start + 1;
        while (end < header.size() && header[end] != '"') {
          if (header[end] == '\\' && end + 1 < header.size()) ++end;
          value += header[end++];
        }
        semi = header.find(';', end);
      } else {
        end = semi == std::string_view::npos ? header.size() : semi;
        value = std::string(Trim(header.substr(value_start, end - value_start)));
      }
      if (EqualsIgnoreCase(key, name)) return value;
    }
    if (semi == std::string_view::npos) break;
    pos = semi + 1;
  }
  return std::nullopt;
}

// The position just past the line ending at `pos` (CRLF or LF); npos when there is none.
size_t PastLineEnd(std::string_view body, size_t pos) {
  size_t lf = body.find('\n', pos);
  return lf == std::string_view::npos ? lf : lf + 1;
}

}  // namespace

std::optional<std::string> MultipartBoundary(std::string_view content_type) {
  size_t semi = content_type.find(';');
  if (!EqualsIgnoreCase(Trim(content_type.substr(0, semi)), "multipart/form-data")) {
    return std::nullopt;
  }
  if (semi == std::string_view::npos) return std::nullopt;
  auto boundary = Parameter(content_type.substr(semi + 1), "boundary");
  if (!boundary || boundary->empty() || boundary->size() > 200) return std::nullopt;
  return boundary;
}

std::optional<MultipartFile> ExtractMultipartFile(std::string_view body, std::string_view boundary,
                                                  std::string* error) {
  const std::string delimiter = "--" + std::string(boundary);
  // The first delimiter: at the very start, or at the start of a line after a preamble.
  size_t at = body.rfind(delimiter, 0) == 0 ? 0 : std::string_view::npos;
  if (at == std::string_view::npos) {
    size_t found = body.find("\n" + delimiter);
    if (found != std::string_view::npos) at = found + 1;
  }
  if (at == std::string_view::npos) {
    *error = "multipart body without its boundary";
    return std::nullopt;
  }
  std::optional<MultipartFile> first;
  while (true) {
    size_t after = at + delimiter.size();
    if (body.substr(after, 2) == "--") break;  // the closing delimiter
    size_t headers_start = PastLineEnd(body, after);
    if (headers_start == std::string_view::npos) break;  // a delimiter and nothing after it
    MultipartFile part;
    size_t line = headers_start;
    bool headers_done = false;
    while (line < body.size()) {
      size_t next = PastLineEnd(body, line);
      if (next == std::string_view::npos) break;
      std::string_view text = body.substr(line, next - line);
      line = next;
      if (Trim(std::string_view(text).substr(0, text.size() - 1)).empty()) {
        headers_done = true;
        break;
      }
      size_t colon = text.find(':');
      if (colon == std::string_view::npos) continue;
      std::string_view name = Trim(text.substr(0, colon));
      std::string_view value = Trim(text.substr(colon + 1, text.size() - colon - 2));
      if (EqualsIgnoreCase(name, "Content-Disposition")) {
        size_t semi = value.find(';');
        if (semi != std::string_view::npos) {
          part.filename = Parameter(value.substr(semi + 1), "filename").value_or("");
        }
      } else if (EqualsIgnoreCase(name, "Content-Type")) {
        part.content_type = std::string(value);
      }
    }
    if (!headers_done) {
      if (first) return first;
      *error = "multipart part cut off in its headers";
      return std::nullopt;
    }
    // The data runs to the line break before the next delimiter.
    size_t next = body.find("\n" + delimiter, line);
    size_t data_end;
    if (next == std::string_view::npos) {
      // No closing delimiter: the part runs to the end (without a final line break).
      data_end = body.size();
      if (data_end > line && body[data_end - 1] == '\n') --data_end;
      if (data_end > line && body[data_end - 1] == '\r') --data_end;
    } else {
      data_end = next;
      if (data_end > line && body[data_end - 1] == '\r') --data_end;
    }
    part.data = std::string(body.substr(line, data_end - line));
    if (!part.filename.empty()) return part;
    if (!first) first = std::move(part);
    if (next == std::string_view::npos) break;
    at = next + 1;
  }
  if (first) return first;
  *error = "multipart body without a part";
  return std::nullopt;
}

}  // namespace csms::gateway
