#pragma once

#include <string_view>

namespace csms::ocpp {

// True for every action name OCPP 2.0.1 defines, in either direction (case-sensitive). An
// unknown action is answered NotImplemented; a known one that is not handled, NotSupported.
bool IsOcpp201Action(std::string_view action);

}  // namespace csms::ocpp
