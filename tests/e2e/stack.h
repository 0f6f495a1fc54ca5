#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "process.h"

namespace csms::testing {

// The three real services on free loopback ports, over one test database.
class Stack {
 public:
  struct Options {
    std::string name = "stack";  // names the log folder
    std::string database_url;
    std::string timezone = "UTC";
    int command_timeout_s = 15;
    // "{http_port}" in an argument becomes the gateway's REST port.
    std::vector<std::string> gateway_args;
    std::vector<std::string> control_args;
    // Control fetches each new charger's device model after its boot (GetBaseReport): off here,
    // so suites that count the CALLs a charger gets see only their own; on where it is tested.
    bool device_model_fetch = false;
    // Environment for all three services (e.g. CSMS_LOG_FORMAT=json).
    std::map<std::string, std::string> env;
    // A tools/make-pki.sh folder (see MakePki): the gateway also listens for wss:// (OCPP
    // security profiles 2 and 3) on ocpp_tls_port with both of its server certificates, and
    // asks for client certificates of its charger CA. Empty: no TLS listener.
    std::string pki_dir;
  };

  explicit Stack(Options options);
  ~Stack();

  // Starts billing, control and gateway and waits until each listens. False (with logs in
  // log_dir()) if one does not come up.
  bool Start();
  // SIGTERM to each service; returns their exit codes by name (0 = clean stop).
  std::map<std::string, int> Stop();

  bool StartBilling();
  bool StartControl();
  bool StartGateway();
  ChildProcess& billing() { return billing_; }
  ChildProcess& control() { return control_; }
  ChildProcess& gateway() { return gateway_; }

  // Starts a csms-charger-sim for `id` with the given extra flags.
  std::unique_ptr<ChildProcess> StartSimulator(const std::string& id, const std::string& dialect,
                                               const std::vector<std::string>& extra = {});
  // The same over wss:// to ocpp_tls_port (needs Options::pki_dir), trusting the PKI's root and
  // presenting chargers/<id>.pem when make-pki.sh made one for `id` (profile 3).
  std::unique_ptr<ChildProcess> StartTlsSimulator(const std::string& id, const std::string& dialect,
                                                  const std::vector<std::string>& extra = {});

  int ocpp_port = 0, http_port = 0, link_port = 0, control_port = 0, billing_port = 0;
  int ocpp_tls_port = 0;  // only with Options::pki_dir
  // --metrics-listen of control and billing (/metrics, /healthz, /readyz).
  int control_metrics_port = 0, billing_metrics_port = 0;
  std::string log_dir() const { return log_dir_; }
  std::string Logs() const;

 private:
  Options options_;
  std::string log_dir_;
  ChildProcess billing_, control_, gateway_;
};

std::string TestOutputDir();

// Runs tools/make-pki.sh DIR STATION_ID... (with `env` added to the environment, e.g.
// CSMS_PKI_ORG); true on success, else false with the script's output in *error.
bool MakePki(const std::string& dir, const std::vector<std::string>& station_ids,
             const std::map<std::string, std::string>& env = {}, std::string* error = nullptr);

}  // namespace csms::testing
