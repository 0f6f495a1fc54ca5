#pragma once

#include <string>
#include <string_view>

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

}  // namespace csms::control
