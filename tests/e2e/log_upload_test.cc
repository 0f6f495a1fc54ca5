// Issue #13, log uploads: GetLog with the gateway as the upload target. Two gateways (with
// their own control and billing) over one PostgreSQL: gateway A has a --public-base-url and a
// 4 MiB cap, gateway B has neither. The simulator on A PUTs a 3 MiB log and the Node charger
// (schema-validated) POSTs one as multipart/form-data; both downloads through gateway B are
// byte-identical; a 5 MiB log is refused with 413 and ends in UploadFailure; a charger on B gets
// 409 upload_url_unconfigured; the generic endpoint refuses GetLog (422); an unknown token is
// 404 without any API key.
#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "csms/common/api_auth.h"
#include "net_clients.h"
#include "pg_test_db.h"
#include "process.h"
#include "stack.h"
#include "wait_until.h"

namespace csms::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

constexpr int kCapBytes = 4 * 1024 * 1024;

class LogUploads : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new TestDatabase();
    if (!db_->available()) return;
    Stack::Options a_options, b_options;
    a_options.name = "log-upload-a";
    b_options.name = "log-upload-b";
    a_options.database_url = b_options.database_url = db_->url();
    a_options.gateway_args = {"--public-base-url", "http://127.0.0.1:{http_port}",
                              "--log-upload-max-bytes", std::to_string(kCapBytes)};
    a_ = new Stack(a_options);
    b_ = new Stack(b_options);
    started_ = a_->Start();
    started_ = b_->Start() && started_;
  }

  static void TearDownTestSuite() {
    for (Stack** stack : {&a_, &b_}) {
      if (*stack == nullptr) continue;
      for (const auto& [name, code] : (*stack)->Stop()) EXPECT_EQ(code, 0) << name;
      delete *stack;
      *stack = nullptr;
    }
    delete db_;
    db_ = nullptr;
  }

  void SetUp() override {
    CSMS_REQUIRE_DATABASE(*db_);
    ASSERT_TRUE(started_) << a_->Logs() << b_->Logs();
  }

  static HttpResult Rest(const Stack& stack, const std::string& method, const std::string& target,
                         const json& body = {}) {
    return HttpCall(stack.http_port, method, target, body.is_null() ? "" : body.dump());
  }

  static bool Available(const Stack& stack, const std::string& id) {
    auto r = Rest(stack, "GET", "/chargers/" + id);
    return r.status == 200 && r.Json().value("status", "") == "Available";
  }

  std::unique_ptr<ChildProcess> StartSim(Stack& stack, const std::string& id,
                                         const std::vector<std::string>& flags) {
    auto sim = stack.StartSimulator(id, "standard", flags);
    EXPECT_NE(sim, nullptr);
    EXPECT_TRUE(WaitUntil([&] { return Available(stack, id); }));
    return sim;
  }

  // POST /chargers/{id}/log-uploads through A; the upload record it answers with.
  json Request(const std::string& id) {
    auto r = Rest(*a_, "POST", "/chargers/" + id + "/log-uploads",
                  json{{"log_type", "DiagnosticsLog"}, {"retries", 0}});
    EXPECT_EQ(r.status, 200) << r.body;
    json response = r.Json()["response"];
    EXPECT_EQ(response["status"], "Accepted") << r.body;
    EXPECT_TRUE(response["filename"].is_string()) << r.body;
    // Accepted, or already a later status: a quick charger's LogStatusNotifications may be
    // stored before its answer to GetLog reaches control (the answer never overwrites them).
    EXPECT_NE(response["upload"]["state"], "Requested") << r.body;
    return response["upload"];
  }

  // The upload once it is no longer in progress.
  json Finished(const Stack& stack, const std::string& id, int64_t upload_id) {
    json upload;
    EXPECT_TRUE(WaitUntil(
        [&] {
          auto r =
              Rest(stack, "GET", "/chargers/" + id + "/log-uploads/" + std::to_string(upload_id));
          if (r.status != 200) return false;
          upload = r.Json()["upload"];
          return upload["outcome"] != "in_progress";
        },
        seconds(30)))
        << upload.dump();
    return upload;
  }

  static std::string Sha256Hex(const std::string& data) { return auth::ToHex(auth::Sha256(data)); }

  static inline TestDatabase* db_ = nullptr;
  static inline Stack* a_ = nullptr;
  static inline Stack* b_ = nullptr;
  static inline bool started_ = false;
};

TEST_F(LogUploads, SimulatorPutsThreeMebibytesAndTheOtherGatewayServesThem) {
  std::string log(3 * 1024 * 1024, '\0');
  std::mt19937 random(13);
  for (auto& c : log) c = static_cast<char>(random() & 0xff);  // binary: every byte value
  const std::string path = a_->log_dir() + "/sim-upload.log";
  std::ofstream(path, std::ios::binary) << log;
  auto sim = StartSim(*a_, "log_sim", {"--log-file", path, "--log-upload-method", "put"});

  const json requested = Request("log_sim");
  const json upload = Finished(*a_, "log_sim", requested["upload_id"]);
  EXPECT_EQ(upload["outcome"], "uploaded") << upload.dump() << sim->ReadLog();
  EXPECT_EQ(upload["state"], "Uploaded");
  EXPECT_EQ(upload["size_bytes"], log.size());
  EXPECT_EQ(upload["sha256"], Sha256Hex(log));
  EXPECT_EQ(upload["client_address"], "127.0.0.1");

  // Through gateway B, which never saw the upload: the bytes are PostgreSQL's.
  auto download = HttpCall(b_->http_port, "GET", upload["download_path"].get<std::string>());
  ASSERT_EQ(download.status, 200) << download.body.substr(0, 300);
  EXPECT_EQ(download.headers["content-type"], "application/octet-stream");
  EXPECT_NE(download.headers["content-disposition"].find("attachment"), std::string::npos);
  EXPECT_EQ(download.headers["etag"], "\"" + Sha256Hex(log) + "\"");
  EXPECT_TRUE(download.body == log) << "downloaded " << download.body.size() << " bytes";

  // The list shows it; the command log never shows the upload URL's token.
  auto list = Rest(*b_, "GET", "/chargers/log_sim/log-uploads").Json();
  ASSERT_EQ(list["uploads"].size(), 1u) << list.dump();
  EXPECT_EQ(list["uploads"][0]["upload_id"], upload["upload_id"]);
  auto commands = Rest(*a_, "GET", "/chargers/log_sim/commands").body;
  EXPECT_NE(commands.find("/log-uploads/<redacted>"), std::string::npos) << commands;
  // The event log has the LogStatusNotifications.
  auto events = Rest(*a_, "GET", "/chargers/log_sim/events?kind=LogStatusNotification").Json();
  ASSERT_GE(events["events"].size(), 2u) << events.dump();
  EXPECT_EQ(events["events"][0]["type"], "Uploaded");
  EXPECT_EQ(sim->Stop(SIGTERM), 0);
}

TEST_F(LogUploads, NodeChargerPostsMultipart) {
  auto node = std::make_unique<ChildProcess>();
  ASSERT_TRUE(node->Start(
      "/usr/bin/env",
      {"node", CSMS_SCHEMA_CLIENT_DIR "/schema_client.js",
       "ws://127.0.0.1:" + std::to_string(a_->ocpp_port) + "/ocpp", "-", "log_node", "serve"},
      a_->log_dir() + "/schema-client-log_node.log",
      {{"LOG_UPLOAD_METHOD", "post"}, {"LOG_SIZE_BYTES", "200000"}}));
  ASSERT_TRUE(WaitUntil([&] { return Available(*a_, "log_node"); })) << node->ReadLog();

  const json requested = Request("log_node");
  const json upload = Finished(*a_, "log_node", requested["upload_id"]);
  EXPECT_EQ(upload["outcome"], "uploaded") << upload.dump() << node->ReadLog();
  EXPECT_EQ(upload["size_bytes"], 200000) << upload.dump();
  EXPECT_TRUE(upload["received_filename"].is_string()) << upload.dump();

  auto download = HttpCall(b_->http_port, "GET", upload["download_path"].get<std::string>());
  ASSERT_EQ(download.status, 200) << download.body.substr(0, 300);
  // Only the file part was kept: no multipart framing in what was stored.
  EXPECT_EQ(download.body.size(), 200000u);
  EXPECT_EQ(Sha256Hex(download.body), upload["sha256"]);
  EXPECT_EQ(download.body.find("Content-Disposition"), std::string::npos);
  EXPECT_EQ(node->Stop(SIGTERM), 0);
}

TEST_F(LogUploads, AnUploadOverTheCapIsRefusedAndFails) {
  auto sim =
      StartSim(*a_, "log_big", {"--log-size-bytes", std::to_string(kCapBytes + 1024 * 1024)});
  const json requested = Request("log_big");
  const json upload = Finished(*a_, "log_big", requested["upload_id"]);
  EXPECT_EQ(upload["outcome"], "failed") << upload.dump() << sim->ReadLog();
  EXPECT_EQ(upload["state"], "UploadFailure");
  EXPECT_EQ(upload["size_bytes"], 0);
  EXPECT_NE(sim->ReadLog().find("413"), std::string::npos) << sim->ReadLog();
  auto content = Rest(*a_, "GET",
                      "/chargers/log_big/log-uploads/" +
                          std::to_string(upload["upload_id"].get<int64_t>()) + "/content");
  EXPECT_EQ(content.status, 409) << content.body;
  EXPECT_EQ(content.Json()["error"], "not_uploaded");
  EXPECT_EQ(sim->Stop(SIGTERM), 0);
}

TEST_F(LogUploads, EdgeCases) {
  // A token nobody issued: 404, with no API key asked for.
  auto unknown = HttpCall(a_->http_port, "PUT", "/log-uploads/" + std::string(64, 'a'), "x");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  auto malformed = HttpCall(a_->http_port, "PUT", "/log-uploads/nope", "x");
  EXPECT_EQ(malformed.status, 404) << malformed.body;
  auto get = HttpCall(a_->http_port, "GET", "/log-uploads/" + std::string(64, 'a'));
  EXPECT_EQ(get.status, 405) << get.body;
  // A declared length over the cap is refused before the body is read.
  auto declared = HttpCall(a_->http_port, "PUT", "/log-uploads/" + std::string(64, 'b'),
                           std::string(kCapBytes + 1, 'x'));
  EXPECT_EQ(declared.status, 413) << declared.body;

  auto sim = StartSim(*b_, "log_on_b", {});
  // Gateway B has no --public-base-url: nowhere to upload to.
  auto refused = Rest(*b_, "POST", "/chargers/log_on_b/log-uploads", json::object());
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_EQ(refused.Json()["error"], "upload_url_unconfigured");
  // GetLog belongs to the typed endpoint.
  auto generic = Rest(*b_, "POST", "/chargers/log_on_b/ocpp/GetLog",
                      json{{"logType", "DiagnosticsLog"},
                           {"requestId", 1},
                           {"log", {{"remoteLocation", "http://example.com/x"}}}});
  EXPECT_EQ(generic.status, 422) << generic.body;
  auto bad_type =
      Rest(*b_, "POST", "/chargers/log_on_b/log-uploads", json{{"log_type", "EverythingLog"}});
  EXPECT_EQ(bad_type.status, 400) << bad_type.body;
  auto none = Rest(*b_, "GET", "/chargers/log_on_b/log-uploads/999999");
  EXPECT_EQ(none.status, 404) << none.body;
  EXPECT_EQ(sim->Stop(SIGTERM), 0);
}

}  // namespace
}  // namespace csms::testing
