#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "csms/common/metrics.h"

// Charger passwords (OCPP security profiles 1 and 2), stored only as salted slow hashes
// (OCPP 2.0.1 A01.FR.08): "pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>".
namespace csms::control {

inline constexpr int kPasswordIterations = 100000;
inline constexpr size_t kMinPasswordLength = 16;  // OCPP 2.0.1 passwordString: 16 to 40
inline constexpr size_t kMaxPasswordLength = 40;

// "" when the password is acceptable, else why not (never echoing the password).
std::string CheckPasswordRules(std::string_view password);

// A fresh random 16-byte salt each call, so two chargers with one password store different
// hashes. Throws std::runtime_error when OpenSSL fails.
std::string HashPassword(std::string_view password, int iterations = kPasswordIterations);

// Recomputes with the stored salt and iteration count and compares in constant time. False for
// a malformed stored form.
bool VerifyPassword(std::string_view password, std::string_view stored);

// What CachedPasswordVerifier remembers, and for how long.
struct PasswordCacheOptions {
  using Clock = std::chrono::steady_clock;
  // How long a success is remembered; it is not extended by hits.
  Clock::duration ttl = std::chrono::minutes(10);
  // At most this many chargers are remembered; when full, expired and then oldest entries go.
  size_t max_entries = 100000;
  // The slow check (tests count its calls) and the clock (tests move it).
  std::function<bool(std::string_view password, std::string_view stored)> verify = VerifyPassword;
  std::function<Clock::time_point()> now = [] { return Clock::now(); };
  // Where csms_control_station_password_checks_total{result} is counted.
  metrics::Registry* registry = &metrics::Registry::Default();
};

// VerifyPassword with a memory of recent successes, so a reconnect storm of profile 1/2 chargers
// does not pay PBKDF2 on every handshake. After a successful check it keeps, per charger id, an
// HMAC-SHA256 under a random key of this instance over (charger id, password, stored hash) and
// an expiry; a later check with the same inputs matches it in microseconds. The password itself
// is never kept, the stored hash is part of the MAC so a password change (new salt and hash)
// misses, and a wrong password never matches. Thread-safe; PBKDF2 runs outside the lock.
class CachedPasswordVerifier {
 public:
  using Clock = PasswordCacheOptions::Clock;
  using Options = PasswordCacheOptions;

  enum class Result { kCacheHit, kVerified, kRefused };

  // Throws std::runtime_error when OpenSSL cannot provide the key.
  explicit CachedPasswordVerifier(Options options = {});
  ~CachedPasswordVerifier();
  CachedPasswordVerifier(const CachedPasswordVerifier&) = delete;
  CachedPasswordVerifier& operator=(const CachedPasswordVerifier&) = delete;

  Result Check(std::string_view charger_id, std::string_view password, std::string_view stored);
  bool Verify(std::string_view charger_id, std::string_view password, std::string_view stored) {
    return Check(charger_id, password, stored) != Result::kRefused;
  }

  size_t size() const;

 private:
  static constexpr size_t kMacBytes = 32;
  using Mac = std::array<unsigned char, kMacBytes>;
  struct Entry {
    Mac mac;
    Clock::time_point expires;
    std::list<std::string>::iterator order;
  };

  Mac Compute(std::string_view charger_id, std::string_view password,
              std::string_view stored) const;
  void Remember(std::string_view charger_id, const Mac& mac);

  Options options_;
  unsigned char key_[32];
  metrics::Counter& hits_;
  metrics::Counter& verified_;
  metrics::Counter& refused_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  // Charger ids by insertion, oldest first; with one TTL for all that is also expiry order.
  std::list<std::string> order_;
};

}  // namespace csms::control
