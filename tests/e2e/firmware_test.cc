// Issue #13, firmware: UpdateFirmware as a job per charger through the real gateway and control,
// against the simulator and the schema-validating Node charger (schema_client.js in serve mode:
// every message in both directions checked against the OCA schemas). Each charger answers
// Accepted, then sends Downloading, Downloaded, (SignatureVerified), Installing,
// InstallRebooting, reboots with reason FirmwareUpdate and the version of the file name, then
// Installed; a location with "bad-signature" ends in InvalidSignature. Both chargers run at once
// to keep the wall time small.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>
#include <set>

#include "csms/control/v1/control.grpc.pb.h"
#include "net_clients.h"
#include "process.h"
#include "shared_stack_test.h"
#include "wait_until.h"

namespace csms::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

class Firmware : public SharedStackTest<Firmware> {
 public:
  static void Configure(Stack::Options& options) { options.name = "firmware"; }

 protected:
  HttpResult Rest(const std::string& method, const std::string& target, const json& body = {}) {
    return HttpCall(stack_->http_port, method, target, body.is_null() ? "" : body.dump());
  }

  bool Available(const std::string& id) {
    auto r = Rest("GET", "/chargers/" + id);
    return r.status == 200 && r.Json().value("status", "") == "Available";
  }

  std::unique_ptr<ChildProcess> StartNode(const std::string& id) {
    auto node = std::make_unique<ChildProcess>();
    EXPECT_TRUE(node->Start(
        "/usr/bin/env",
        {"node", CSMS_SCHEMA_CLIENT_DIR "/schema_client.js",
         "ws://127.0.0.1:" + std::to_string(stack_->ocpp_port) + "/ocpp", "-", id, "serve"},
        stack_->log_dir() + "/schema-client-" + id + ".log"));
    EXPECT_TRUE(WaitUntil([&] { return Available(id); })) << node->ReadLog();
    return node;
  }

  std::unique_ptr<ChildProcess> StartSim(const std::string& id) {
    auto sim = stack_->StartSimulator(id, "standard", {"--firmware-version", "1.0.0"});
    EXPECT_NE(sim, nullptr);
    EXPECT_TRUE(WaitUntil([&] { return Available(id); }));
    return sim;
  }

  json Jobs(const std::string& id) {
    auto r = Rest("GET", "/chargers/" + id + "/firmware");
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json().value("jobs", json::array());
  }

  // The newest job once it is no longer in progress (and has its version, when installed).
  json Finished(const std::string& id) {
    json job;
    EXPECT_TRUE(WaitUntil(
        [&] {
          json jobs = Jobs(id);
          if (jobs.empty()) return false;
          job = jobs[0];
          if (job["outcome"] == "in_progress") return false;
          return job["outcome"] != "installed" || job["firmware_version_after"].is_string();
        },
        seconds(30)))
        << job.dump();
    return job;
  }

  std::vector<std::string> FirmwareStatuses(const std::string& id, int request_id) {
    auto r = Rest("GET", "/chargers/" + id + "/events?limit=500&kind=FirmwareStatusNotification");
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<std::string> out;
    const json body = r.Json();
    for (const json& e : body["events"]) {  // newest first
      if (e["request_id"] == request_id) out.insert(out.begin(), e["type"].get<std::string>());
    }
    return out;
  }
};

TEST_F(Firmware, UpdatesRunToInstalledWithTheNewVersionOnBothChargers) {
  struct Case {
    std::string id;
    std::unique_ptr<ChildProcess> charger;
    bool is_signed;
    int request_id = 0;
  };
  Case cases[] = {{"fw_sim_01", StartSim("fw_sim_01"), true},
                  {"fw_node_01", StartNode("fw_node_01"), false}};
  for (Case& c : cases) {
    SCOPED_TRACE(c.id);
    json body = {{"location", "https://firmware.example.com/releases/fw-2.0.0.bin"},
                 {"retries", 2},
                 {"retry_interval_s", 30}};
    if (c.is_signed) {
      body["signing_certificate"] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
      body["signature"] = "c2lnbmF0dXJl";
    }
    auto r = Rest("POST", "/chargers/" + c.id + "/firmware", body);
    ASSERT_EQ(r.status, 200) << r.body;
    const json answer = r.Json()["response"];
    EXPECT_EQ(answer["status"], "Accepted") << r.body;
    EXPECT_EQ(answer["job"]["outcome"], "in_progress");
    EXPECT_EQ(answer["job"]["signed"], c.is_signed);
    EXPECT_EQ(answer["job"]["firmware_version_before"], c.is_signed ? "1.0.0" : "");
    c.request_id = answer["job"]["request_id"].get<int>();

    // A second update while this one runs is refused, and nothing reaches the charger.
    auto again = Rest("POST", "/chargers/" + c.id + "/firmware", body);
    EXPECT_EQ(again.status, 409) << again.body;
    EXPECT_EQ(again.Json()["error"], "firmware_update_in_progress") << again.body;
    // The generic endpoint does not bypass the job.
    auto generic =
        Rest("POST", "/chargers/" + c.id + "/ocpp/UpdateFirmware",
             {{"requestId", 1},
              {"firmware", {{"location", "x"}, {"retrieveDateTime", "2026-01-01T00:00:00Z"}}}});
    EXPECT_EQ(generic.status, 422) << generic.body;
    EXPECT_EQ(generic.Json()["error"], "use_typed_endpoint");
    EXPECT_NE(generic.Json().value("message", "").find("POST /chargers/{id}/firmware"),
              std::string::npos)
        << generic.body;
  }

  for (Case& c : cases) {
    SCOPED_TRACE(c.id);
    const json job = Finished(c.id);
    EXPECT_EQ(job["outcome"], "installed") << job.dump();
    EXPECT_EQ(job["state"], "Installed");
    EXPECT_EQ(job["firmware_version_after"], "2.0.0");
    EXPECT_EQ(job["request_id"], c.request_id);
    {  // the charger record has the version too (gRPC GetCharger)
      auto stub = control::v1::ControlService::NewStub(grpc::CreateChannel(
          "127.0.0.1:" + std::to_string(stack_->control_port), grpc::InsecureChannelCredentials()));
      control::v1::GetChargerRequest request;
      request.set_charger_id(c.id);
      control::v1::Charger charger;
      grpc::ClientContext context;
      ASSERT_TRUE(stub->GetCharger(&context, request, &charger).ok());
      EXPECT_EQ(charger.firmware_version(), "2.0.0");
    }

    // The event log holds every status the charger sent, in order.
    std::vector<std::string> expected = {"Downloading", "Downloaded"};
    if (c.is_signed) expected.push_back("SignatureVerified");
    for (const char* s : {"Installing", "InstallRebooting", "Installed"}) expected.push_back(s);
    EXPECT_EQ(FirmwareStatuses(c.id, c.request_id), expected);
    // The command log holds the UpdateFirmware, with its requestId.
    auto log = Rest("GET", "/chargers/" + c.id + "/commands?limit=500").Json();
    int updates = 0;
    for (const json& cmd : log["commands"]) {
      if (cmd.value("action", "") != "UpdateFirmware") continue;
      ++updates;
      EXPECT_EQ(cmd["request"]["requestId"], c.request_id);
      EXPECT_EQ(cmd["response"]["status"], "Accepted");
    }
    EXPECT_EQ(updates, 1) << "the refused ones never reached the charger: " << log.dump();

    // Over: the next update may start (and fails on its signature).
    auto bad = Rest("POST", "/chargers/" + c.id + "/firmware",
                    {{"location", "https://firmware.example.com/bad-signature/fw-3.0.0.bin"}});
    ASSERT_EQ(bad.status, 200) << bad.body;
    EXPECT_EQ(bad.Json()["response"]["status"], "Accepted");
    c.request_id = bad.Json()["response"]["job"]["request_id"].get<int>();
  }

  for (Case& c : cases) {
    SCOPED_TRACE(c.id);
    const json job = Finished(c.id);
    EXPECT_EQ(job["outcome"], "failed") << job.dump();
    EXPECT_EQ(job["state"], "InvalidSignature");
    EXPECT_TRUE(job["firmware_version_after"].is_null());
    EXPECT_EQ(FirmwareStatuses(c.id, c.request_id),
              (std::vector<std::string>{"Downloading", "Downloaded", "InvalidSignature"}));
    EXPECT_EQ(Jobs(c.id).size(), 2u);
    // The failure is an alert for the operators' webhooks.
    auto alerts = Rest("GET", "/alerts?charger_id=" + c.id + "&kind=firmware_failed").Json();
    ASSERT_EQ(alerts["alerts"].size(), 1u) << alerts.dump();
    EXPECT_EQ(alerts["alerts"][0]["data"]["state"], "InvalidSignature");
    EXPECT_EQ(alerts["alerts"][0]["data"]["request_id"], c.request_id);
  }

  EXPECT_EQ(Rest("GET", "/chargers/fw_nobody/firmware").status, 404);
  EXPECT_EQ(Rest("POST", "/chargers/" + cases[0].id + "/firmware", {{"location", ""}}).status, 400);
  EXPECT_EQ(cases[1].charger->Stop(SIGTERM, seconds(15)), 0)
      << "a schema violation: " << cases[1].charger->ReadLog();
}

}  // namespace
}  // namespace csms::testing
