#include "csms/gateway/handshake.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <random>

#include "csms/common/ocpp_actions.h"

namespace csms::gateway {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
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
    if (!ocpp::IsIdentifierChar(static_cast<unsigned char>(c))) return std::nullopt;
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

std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view header) {
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  constexpr std::string_view kScheme = "basic";
  if (header.size() <= kScheme.size() || header[kScheme.size()] != ' ') return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return std::nullopt;
  }
  std::string_view encoded = header.substr(kScheme.size() + 1);
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  while (!encoded.empty() && encoded.back() == ' ') encoded.remove_suffix(1);
  std::string decoded;
  uint32_t acc = 0;
  int bits = 0;
  size_t padding = 0;
  for (char c : encoded) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+') {
      v = 62;
    } else if (c == '/') {
      v = 63;
    } else if (c == '=') {
      ++padding;
      continue;
    } else {
      return std::nullopt;
    }
    if (padding > 0) return std::nullopt;  // data after padding
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      decoded += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if (padding > 2 || decoded.empty()) return std::nullopt;
  auto colon = decoded.find(':');
  if (colon == std::string::npos) return std::nullopt;
  return BasicCredentials{decoded.substr(0, colon), decoded.substr(colon + 1)};
}

double FailureLimiter::Refilled(const Bucket& b, std::chrono::steady_clock::time_point now) const {
  double gained =
      std::chrono::duration<double>(now - b.at) / std::chrono::duration<double>(refill_);
  return std::min<double>(burst_, b.tokens + gained);
}

bool FailureLimiter::Allowed(const std::string& address,
                             std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = buckets_.find(address);
  return it == buckets_.end() || Refilled(it->second, now) >= 1.0;
}

void FailureLimiter::RecordFailure(const std::string& address,
                                   std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mu_);
  // Full buckets carry no information: drop them now and then so the map stays small.
  if (buckets_.size() > 10000) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      it = Refilled(it->second, now) >= burst_ ? buckets_.erase(it) : std::next(it);
    }
  }
  auto [it, fresh] = buckets_.try_emplace(address, Bucket{double(burst_), now});
  it->second.tokens = std::max(0.0, Refilled(it->second, now) - 1.0);
  it->second.at = now;
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
