#include "csms/gateway/handshake.h"

#include <cctype>
#include <cstdio>
#include <random>

namespace csms::gateway {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsIdentifierChar(unsigned char c) {
  if (std::isalnum(c)) return true;
  switch (c) {
    case '*':
    case '-':
    case '_':
    case '=':
    case ':':
    case '+':
    case '|':
    case '@':
    case '.':
      return true;
    default:
      return false;
  }
}

std::mt19937_64& Rng() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng;
}

}  // namespace

std::optional<std::string> StationIdFromTarget(std::string_view target) {
  if (auto q = target.find_first_of("?#"); q != std::string_view::npos) {
    target = target.substr(0, q);
  }
  while (!target.empty() && target.back() == '/') target.remove_suffix(1);
  auto slash = target.rfind('/');
  std::string_view segment = slash == std::string_view::npos ? target : target.substr(slash + 1);
  if (segment.empty()) return std::nullopt;
  std::string id;
  for (size_t i = 0; i < segment.size(); ++i) {
    char c = segment[i];
    if (c == '%') {
      if (i + 2 >= segment.size()) return std::nullopt;
      int hi = HexValue(segment[i + 1]), lo = HexValue(segment[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (!IsIdentifierChar(static_cast<unsigned char>(c))) return std::nullopt;
    id += c;
  }
  if (id.size() > kMaxStationIdLength) return std::nullopt;
  return id;
}

std::optional<std::string> SelectSubprotocol(std::string_view offered) {
  size_t pos = 0;
  while (pos <= offered.size()) {
    size_t comma = offered.find(',', pos);
    std::string_view item =
        offered.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front()))) {
      item.remove_prefix(1);
    }
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) {
      item.remove_suffix(1);
    }
    if (item == kOcpp201) return std::string(item);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return std::nullopt;
}

std::string NewConnectionId() {
  char buf[24];
  std::snprintf(buf, sizeof buf, "c-%016llx", static_cast<unsigned long long>(Rng()()));
  return buf;
}

std::string NewMessageId() {
  uint64_t a = Rng()(), b = Rng()();
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
  char buf[40];
  std::snprintf(
      buf, sizeof buf, "%08llx-%04llx-%04llx-%04llx-%012llx",
      static_cast<unsigned long long>(a >> 32), static_cast<unsigned long long>((a >> 16) & 0xffff),
      static_cast<unsigned long long>(a & 0xffff), static_cast<unsigned long long>(b >> 48),
      static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

}  // namespace csms::gateway
