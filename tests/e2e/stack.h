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
    std::vector<std::string> gateway_args;
    // Environment for all three services (e.g. CSMS_LOG_FORMAT=json).
    std::map<std::string, std::string> env;
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

  int ocpp_port = 0, http_port = 0, link_port = 0, control_port = 0, billing_port = 0;
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

}  // namespace csms::testing
