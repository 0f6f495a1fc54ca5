#pragma once

#include <string_view>

namespace csms::ocpp {

// True for every action name OCPP 2.0.1 defines, in either direction (case-sensitive). An
// unknown action is answered NotImplemented; a known one that is not handled, NotSupported.
bool IsOcpp201Action(std::string_view action);

// How the generic command endpoint (POST /chargers/{id}/ocpp/{Action}, gRPC SendOcppCall) treats
// an OCPP 2.0.1 action (DESIGN.md, operator API conventions).
enum class CommandPolicy {
  kNotACommand,  // not sent by a CSMS to a charger (or not an action at all)
  kOperate,      // any operator may send it
  kAdmin,        // changes the charger's trust, network or firmware: admin role
  kOwned,        // the CSMS owns its state: only through `typed_endpoint`
};
struct CommandRule {
  CommandPolicy policy = CommandPolicy::kNotACommand;
  std::string_view typed_endpoint;  // kOwned: where to send it instead
};
CommandRule Ocpp201CommandRule(std::string_view action);

// OCPP compares component and variable names (and configuration keys) case-insensitively.
constexpr bool SameOcppName(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = (a[i] >= 'A' && a[i] <= 'Z') ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    const char y = (b[i] >= 'A' && b[i] <= 'Z') ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y) return false;
  }
  return true;
}

// The characters of OCPP's identifierString and passwordString: a-z A-Z 0-9 * - _ = : + | @ .
// (station identities, Basic-auth passwords).
constexpr bool IsIdentifierChar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
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

}  // namespace csms::ocpp
