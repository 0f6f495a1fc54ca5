#pragma once

#include <string>
#include <vector>

#include "csms/common/config.h"

namespace csms::gateway {

// The gateway's flags (DESIGN.md "Run-time interface").
std::vector<FlagSpec> GatewayFlags();

// Starts every listener, serves until SIGTERM/SIGINT, then stops cleanly. Returns the exit code.
int RunGateway(const Config& config);

}  // namespace csms::gateway
