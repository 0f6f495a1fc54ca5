#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

// Secrets in OCPP payloads, so that nothing the CSMS stores or logs (command log, event log,
// --trace-dir files, debug logs) holds them: Basic-auth passwords (2.0.1
// SecurityCtrlr.BasicAuthPassword, 1.6 AuthorizationKey) wherever a value of theirs is set or
// reported, KeyCode id tokens (a PIN is the token), VPN and APN passwords and keys of network
// profiles, and private keys anywhere.
namespace csms::ocpp {

inline constexpr std::string_view kRedacted = "<redacted>";

// The payload of `action` (a request or a response) with every secret replaced by kRedacted.
nlohmann::json RedactSecrets(std::string_view action, nlohmann::json payload);

// The same for a whole OCPP-J frame as text (CALLs and CALLRESULTs; a 1.6 GetConfiguration
// answer may list AuthorizationKey). A frame that does not parse is returned as it is.
std::string RedactFrame(std::string_view frame);

// Whether a variable (2.0.1) or configuration key (1.6) holds a secret whatever its component:
// BasicAuthPassword, AuthorizationKey.
bool IsSecretVariable(std::string_view name);

// Whether SetVariables / GetVariables items of this component are the CSMS's own security
// state (SecurityCtrlr, as A01 and A05 change it), case-insensitively as OCPP compares names.
bool IsSecurityComponent(std::string_view component);

}  // namespace csms::ocpp
