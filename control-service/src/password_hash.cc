#include "csms/control/password_hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <charconv>
#include <stdexcept>
#include <utility>
#include <vector>

#include "csms/common/ocpp_actions.h"

namespace csms::control {
namespace {

constexpr std::string_view kScheme = "pbkdf2-sha256";
constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;
// Bounds a stored iteration count so a corrupt row cannot stall a verification for minutes.
constexpr int kMaxIterations = 10'000'000;

std::string Hex(const unsigned char* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 0xf];
  }
  return out;
}

bool Unhex(std::string_view hex, std::vector<unsigned char>* out) {
  if (hex.size() % 2 != 0) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  out->clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<unsigned char>(hi * 16 + lo));
  }
  return true;
}

bool Derive(std::string_view password, const unsigned char* salt, size_t salt_len, int iterations,
            unsigned char* out, size_t out_len) {
  return PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt,
                           static_cast<int>(salt_len), iterations, EVP_sha256(),
                           static_cast<int>(out_len), out) == 1;
}

}  // namespace

std::string CheckPasswordRules(std::string_view password) {
  if (password.size() < kMinPasswordLength || password.size() > kMaxPasswordLength) {
    return "password must be 16 to 40 characters (OCPP 2.0.1 passwordString)";
  }
  for (unsigned char c : password) {
    if (!ocpp::IsIdentifierChar(c)) {  // passwordString has the same characters
      return "password may contain only a-z A-Z 0-9 * - _ = : + | @ .";
    }
  }
  return "";
}

std::string HashPassword(std::string_view password, int iterations) {
  unsigned char salt[kSaltBytes];
  unsigned char hash[kHashBytes];
  if (RAND_bytes(salt, sizeof salt) != 1) throw std::runtime_error("RAND_bytes failed");
  if (!Derive(password, salt, sizeof salt, iterations, hash, sizeof hash)) {
    throw std::runtime_error("PBKDF2 failed");
  }
  return std::string(kScheme) + "$" + std::to_string(iterations) + "$" + Hex(salt, sizeof salt) +
         "$" + Hex(hash, sizeof hash);
}

bool VerifyPassword(std::string_view password, std::string_view stored) {
  // scheme$iterations$salt$hash
  std::string_view parts[4];
  for (int i = 0; i < 3; ++i) {
    auto dollar = stored.find('$');
    if (dollar == std::string_view::npos) return false;
    parts[i] = stored.substr(0, dollar);
    stored.remove_prefix(dollar + 1);
  }
  parts[3] = stored;
  if (parts[0] != kScheme) return false;
  int iterations = 0;
  auto [end, ec] = std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), iterations);
  if (ec != std::errc() || end != parts[1].data() + parts[1].size() || iterations < 1 ||
      iterations > kMaxIterations) {
    return false;
  }
  std::vector<unsigned char> salt, expected;
  if (!Unhex(parts[2], &salt) || !Unhex(parts[3], &expected) || salt.empty() ||
      expected.size() != kHashBytes) {
    return false;
  }
  unsigned char actual[kHashBytes];
  if (!Derive(password, salt.data(), salt.size(), iterations, actual, sizeof actual)) return false;
  return CRYPTO_memcmp(actual, expected.data(), kHashBytes) == 0;
}

namespace {

// Length-prefixed, so ("ab", "c") and ("a", "bc") never give the same MAC input.
void AppendField(std::string& out, std::string_view field) {
  const uint32_t n = static_cast<uint32_t>(field.size());
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((n >> shift) & 0xff);
  out.append(field);
}

metrics::Counter& ChecksCounter(metrics::Registry& registry, const std::string& result) {
  return registry
      .AddCounter("csms_control_station_password_checks_total",
                  "Charger password checks (security profiles 1 and 2) by result: cache_hit "
                  "(no PBKDF2 needed), verified or refused (PBKDF2 ran).",
                  {"result"})
      .Labels({result});
}

}  // namespace

CachedPasswordVerifier::CachedPasswordVerifier(Options options)
    : options_(std::move(options)),
      hits_(ChecksCounter(*options_.registry, "cache_hit")),
      verified_(ChecksCounter(*options_.registry, "verified")),
      refused_(ChecksCounter(*options_.registry, "refused")) {
  if (RAND_bytes(key_, sizeof key_) != 1) throw std::runtime_error("RAND_bytes failed");
}

CachedPasswordVerifier::~CachedPasswordVerifier() { OPENSSL_cleanse(key_, sizeof key_); }

CachedPasswordVerifier::Mac CachedPasswordVerifier::Compute(std::string_view charger_id,
                                                            std::string_view password,
                                                            std::string_view stored) const {
  std::string message;
  message.reserve(12 + charger_id.size() + password.size() + stored.size());
  AppendField(message, charger_id);
  AppendField(message, password);
  AppendField(message, stored);
  Mac mac{};
  unsigned int length = 0;
  const bool ok =
      HMAC(EVP_sha256(), key_, sizeof key_, reinterpret_cast<const unsigned char*>(message.data()),
           message.size(), mac.data(), &length) != nullptr &&
      length == kMacBytes;
  // The buffer held the password.
  OPENSSL_cleanse(message.data(), message.size());
  if (!ok) throw std::runtime_error("HMAC-SHA256 failed");
  return mac;
}

CachedPasswordVerifier::Result CachedPasswordVerifier::Check(std::string_view charger_id,
                                                             std::string_view password,
                                                             std::string_view stored) {
  const Mac mac = Compute(charger_id, password, stored);
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(std::string(charger_id));
    if (it != entries_.end() && options_.now() < it->second.expires &&
        CRYPTO_memcmp(it->second.mac.data(), mac.data(), kMacBytes) == 0) {
      hits_.Inc();
      return Result::kCacheHit;
    }
  }
  if (!options_.verify(password, stored)) {
    // An entry of the right password stays: a wrong guess must not cost the real charger a
    // PBKDF2 run at its next reconnect.
    refused_.Inc();
    return Result::kRefused;
  }
  verified_.Inc();
  Remember(charger_id, mac);
  return Result::kVerified;
}

void CachedPasswordVerifier::Remember(std::string_view charger_id, const Mac& mac) {
  if (options_.max_entries == 0) return;
  const Clock::time_point now = options_.now();
  std::lock_guard lock(mu_);
  std::string id(charger_id);
  if (auto it = entries_.find(id); it != entries_.end()) {
    order_.erase(it->second.order);
    entries_.erase(it);
  }
  // Expired entries first, then the oldest, so the map never grows past its bound.
  while (!order_.empty()) {
    auto oldest = entries_.find(order_.front());
    if (entries_.size() < options_.max_entries && oldest->second.expires > now) break;
    entries_.erase(oldest);
    order_.pop_front();
  }
  order_.push_back(id);
  entries_.emplace(std::move(id), Entry{mac, now + options_.ttl, std::prev(order_.end())});
}

size_t CachedPasswordVerifier::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace csms::control
