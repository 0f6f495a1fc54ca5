#include "stack.h"

#include <signal.h>

#include <filesystem>

namespace csms::testing {

std::string TestOutputDir() { return CSMS_TEST_OUTPUT_DIR; }

Stack::Stack(Options options) : options_(std::move(options)) {
  // The services are secure by default; most tests are about something else and run open
  // (flags in gateway_args still win over these variables).
  if (!options_.env.count("CSMS_API_KEYS_FILE")) options_.env.emplace("CSMS_API_AUTH", "off");
  options_.env.emplace("CSMS_STATION_AUTH", "open");
  log_dir_ = TestOutputDir() + "/" + options_.name;
  std::filesystem::remove_all(log_dir_);
  std::filesystem::create_directories(log_dir_);
  ocpp_port = FreePort();
  http_port = FreePort();
  link_port = FreePort();
  control_port = FreePort();
  billing_port = FreePort();
  control_metrics_port = FreePort();
  billing_metrics_port = FreePort();
  if (!options_.pki_dir.empty()) ocpp_tls_port = FreePort();
}

Stack::~Stack() { Stop(); }

bool Stack::StartBilling() {
  std::string listen = "127.0.0.1:" + std::to_string(billing_port);
  return billing_.Start(CSMS_BILLING_BIN,
                        {"--grpc-listen", listen, "--database-url", options_.database_url,
                         "--timezone", options_.timezone, "--metrics-listen",
                         "127.0.0.1:" + std::to_string(billing_metrics_port)},
                        log_dir_ + "/billing.log", options_.env) &&
         WaitForPort(billing_port, std::chrono::seconds(20));
}

bool Stack::StartControl() {
  std::string listen = "127.0.0.1:" + std::to_string(control_port);
  std::vector<std::string> args = {
      "--grpc-listen",     listen,
      "--database-url",    options_.database_url,
      "--command-timeout", std::to_string(options_.command_timeout_s),
      "--metrics-listen",  "127.0.0.1:" + std::to_string(control_metrics_port)};
  if (!options_.device_model_fetch) {
    args.insert(args.end(), {"--device-model-fetch-concurrency", "0"});
  }
  args.insert(args.end(), options_.control_args.begin(), options_.control_args.end());
  return control_.Start(CSMS_CONTROL_BIN, args, log_dir_ + "/control.log", options_.env) &&
         WaitForPort(control_port, std::chrono::seconds(20));
}

bool Stack::StartGateway() {
  std::vector<std::string> args = {
      "--ocpp-listen",     "127.0.0.1:" + std::to_string(ocpp_port),
      "--http-listen",     "127.0.0.1:" + std::to_string(http_port),
      "--grpc-listen",     "127.0.0.1:" + std::to_string(link_port),
      "--control-address", "127.0.0.1:" + std::to_string(control_port),
      "--billing-address", "127.0.0.1:" + std::to_string(billing_port)};
  if (!options_.pki_dir.empty()) {
    const std::string& d = options_.pki_dir;
    args.insert(args.end(), {"--ocpp-tls-listen", "127.0.0.1:" + std::to_string(ocpp_tls_port),
                             "--ocpp-tls-cert", d + "/server-rsa.pem," + d + "/server-ecdsa.pem",
                             "--ocpp-tls-key", d + "/server-rsa.key," + d + "/server-ecdsa.key",
                             "--ocpp-tls-client-ca", d + "/charger-ca.pem"});
  }
  for (std::string arg : options_.gateway_args) {
    // Flags that name the gateway's own HTTP port (--public-base-url) know it only now.
    if (auto at = arg.find("{http_port}"); at != std::string::npos) {
      arg.replace(at, 11, std::to_string(http_port));
    }
    args.push_back(std::move(arg));
  }
  return gateway_.Start(CSMS_GATEWAY_BIN, args, log_dir_ + "/gateway.log", options_.env) &&
         WaitForPort(ocpp_port, std::chrono::seconds(20)) &&
         (ocpp_tls_port == 0 || WaitForPort(ocpp_tls_port, std::chrono::seconds(5))) &&
         WaitForPort(http_port, std::chrono::seconds(5)) &&
         WaitForPort(link_port, std::chrono::seconds(5));
}

bool Stack::Start() { return StartBilling() && StartControl() && StartGateway(); }

std::map<std::string, int> Stack::Stop() {
  std::map<std::string, int> codes;
  if (gateway_.pid() > 0) codes["gateway"] = gateway_.Stop(SIGTERM);
  if (control_.pid() > 0) codes["control"] = control_.Stop(SIGTERM);
  if (billing_.pid() > 0) codes["billing"] = billing_.Stop(SIGTERM);
  return codes;
}

std::unique_ptr<ChildProcess> Stack::StartSimulator(const std::string& id,
                                                    const std::string& dialect,
                                                    const std::vector<std::string>& extra) {
  auto sim = std::make_unique<ChildProcess>();
  std::vector<std::string> args = {
      "--url", "ws://127.0.0.1:" + std::to_string(ocpp_port) + "/ocpp", "--id", id, "--dialect",
      dialect};
  args.insert(args.end(), extra.begin(), extra.end());
  if (!sim->Start(CSMS_SIM_BIN, args, log_dir_ + "/sim-" + id + ".log")) return nullptr;
  return sim;
}

std::unique_ptr<ChildProcess> Stack::StartTlsSimulator(const std::string& id,
                                                       const std::string& dialect,
                                                       const std::vector<std::string>& extra) {
  if (options_.pki_dir.empty()) return nullptr;
  const std::string& d = options_.pki_dir;
  // The address, not "localhost": the gateway listens on 127.0.0.1 only, and the server
  // certificate names both.
  std::vector<std::string> args = {
      "--url",     "wss://127.0.0.1:" + std::to_string(ocpp_tls_port) + "/ocpp",
      "--id",      id,
      "--dialect", dialect,
      "--ca-file", d + "/ca.pem"};
  if (std::filesystem::exists(d + "/chargers/" + id + ".pem")) {
    args.insert(args.end(), {"--client-cert", d + "/chargers/" + id + ".pem", "--client-key",
                             d + "/chargers/" + id + ".key"});
  }
  args.insert(args.end(), extra.begin(), extra.end());
  auto sim = std::make_unique<ChildProcess>();
  if (!sim->Start(CSMS_SIM_BIN, args, log_dir_ + "/sim-" + id + ".log")) return nullptr;
  return sim;
}

bool MakePki(const std::string& dir, const std::vector<std::string>& station_ids,
             const std::map<std::string, std::string>& env, std::string* error) {
  std::filesystem::create_directories(dir);
  ChildProcess script;
  const std::string log = dir + "/make-pki.log";
  // Through bash, so that a checkout which lost the executable bit still works.
  std::vector<std::string> args = {CSMS_MAKE_PKI, dir};
  args.insert(args.end(), station_ids.begin(), station_ids.end());
  // Signal 0 only waits for the script to end.
  bool ok =
      script.Start("/bin/bash", args, log, env) && script.Stop(0, std::chrono::seconds(60)) == 0;
  if (!ok && error != nullptr) *error = script.ReadLog();
  return ok;
}

std::string Stack::Logs() const {
  std::string all;
  for (const auto* p : {&billing_, &control_, &gateway_}) {
    if (!p->log_path().empty()) all += "==== " + p->log_path() + "\n" + p->ReadLog();
  }
  return all;
}

}  // namespace csms::testing
