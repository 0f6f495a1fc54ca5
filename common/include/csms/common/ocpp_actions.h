#pragma once

#include <string_view>

namespace csms::ocpp {

// True for every action name OCPP 2.0.1 defines, in either direction (case-sensitive). An
// unknown action is answered NotImplemented; a known one that is not handled, NotSupported.
bool IsOcpp201Action(std::string_view action);

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
