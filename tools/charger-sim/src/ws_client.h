#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "csms/charger_sim/charger.h"
#include "csms/charger_sim/sim_util.h"

// The WebSocket side of the simulator. Declared without Beast so only ws_client.cc pays for it.
namespace csms::sim {

struct ClientOptions {
  WsUrl url;
  std::string password;  // HTTP Basic auth (OCPP security profile 1) when not empty
  std::chrono::milliseconds reconnect_delay{2000};
  std::chrono::seconds run_time{0};  // 0 = until SIGINT or SIGTERM
};

// Runs one WebSocket connection per charger on one io_context until stopped; returns the exit
// code of the process.
int RunChargers(const std::vector<ChargerOptions>& chargers, const ClientOptions& options);

}  // namespace csms::sim
