#pragma once

#include <string>

// Checks of operator input shared by the registry and the command methods; each throws RpcError
// INVALID_ARGUMENT with a message that names the field.
namespace csms::control {

// Present and at most kMaxOcppIdLength characters (an OCPP identifier).
void RequireId(const std::string& value, const char* field);
// A charger id usable as the station identity in the WebSocket URL and as a Basic-auth user.
void RequireStationIdentity(const std::string& id);
// The password's hash, once it passes OCPP's rules for a station password.
std::string HashCheckedPassword(const std::string& password);

}  // namespace csms::control
