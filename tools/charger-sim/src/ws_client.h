#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "csms/charger_sim/charger.h"
#include "csms/charger_sim/log_upload.h"
#include "csms/charger_sim/sim_util.h"

// The WebSocket side of the simulator. Declared without Beast so only ws_client.cc pays for it.
namespace csms::sim {

// TLS for wss:// URLs (OCPP security profiles 2 and 3).
struct TlsOptions {
  std::string ca_file;  // PEM CAs the CSMS certificate must chain to; empty = the system's
  // Profile 3: PEM certificate (chain) and key; "{id}" in a path stands for the station id.
  std::string client_cert;
  std::string client_key;
};

// GetLog uploads (the Charger decides when; the transport sends the bytes).
struct LogUploadOptions {
  std::string file;           // upload this file's bytes; empty = generated text
  size_t size_bytes = 65536;  // of the generated text (GeneratedLog)
  LogUploadMethod method = LogUploadMethod::kPut;
};

struct ClientOptions {
  WsUrl url;
  std::string password;  // HTTP Basic auth (OCPP security profiles 1 and 2) when not empty
  // Instead of `password`: read at start and rewritten when the CSMS changes the password (A01);
  // "{id}" stands for the station id.
  std::string password_file;
  TlsOptions tls;
  // https:// uploads check the server against tls.ca_file (the system's CAs when empty).
  LogUploadOptions log;
  std::chrono::milliseconds reconnect_delay{2000};
  std::chrono::seconds run_time{0};  // 0 = until SIGINT or SIGTERM
};

// Runs one WebSocket connection per charger on one io_context until stopped; returns the exit
// code of the process (2 when the TLS or password files cannot be loaded).
int RunChargers(const std::vector<ChargerOptions>& chargers, const ClientOptions& options);

}  // namespace csms::sim
