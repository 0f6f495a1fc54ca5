// The dashboard in a real browser: the stack, three simulated chargers at two stations, and
// dashboard_check.js driving Debian's headless Chromium. Keeps build/test-output/dashboard.png.
// And one charger's page (charger_page_check.js) against a charger whose device model the stack
// fetched after its boot; keeps build/test-output/charger-page.png. And the tokens page
// (tokens_page_check.js) on a stack of its own; keeps build/test-output/tokens-page.png. And the
// charger page's reservations (charger_reservations_check.js) against the schema-validating Node
// charger, which answers ReserveNow and CancelReservation; keeps
// build/test-output/charger-reservations.png.
// API keys are on: the page is given its token in the URL fragment, as scripts/run.sh prints it.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "csms/common/api_auth.h"
#include "net_clients.h"
#include "pg_test_db.h"
#include "stack.h"

namespace csms::testing {
namespace {

using std::chrono::seconds;

TEST(DashboardInBrowser, FollowsChargersLive) {
  TestDatabase db;
  CSMS_REQUIRE_DATABASE(db);
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/chromium"))
      << "Debian's chromium is required (scripts/install-deps.sh installs it)";
  ASSERT_TRUE(std::filesystem::exists(CSMS_BROWSER_TEST_DIR "/node_modules/playwright-core"))
      << "run: npm ci --prefix tests/browser (scripts/test.sh does)";

  // The page's Stop button needs the operate role, so the page gets an operate token.
  const std::string keys_dir = TestOutputDir() + "/browser-keys";
  std::filesystem::create_directories(keys_dir);
  const std::string service = auth::MintToken(), operate = auth::MintToken();
  std::ofstream(keys_dir + "/api-keys")
      << auth::KeyLine("gateway", auth::Role::kService, service) << "\n"
      << auth::KeyLine("ops", auth::Role::kOperate, operate) << "\n";
  std::ofstream(keys_dir + "/service-token") << service << "\n";
  Stack::Options options;
  options.name = "browser";
  options.database_url = db.url();
  options.env = {{"CSMS_API_KEYS_FILE", keys_dir + "/api-keys"},
                 {"CSMS_SERVICE_TOKEN_FILE", keys_dir + "/service-token"}};
  Stack stack(options);
  ASSERT_TRUE(stack.Start()) << stack.Logs();

  auto rest = [&](const std::string& method, const std::string& target, const std::string& body) {
    return HttpCall(stack.http_port, method, target, body, seconds(10),
                    {{"Authorization", "Bearer " + operate}});
  };
  ASSERT_EQ(rest("POST", "/stations",
                 R"({"station_id":"emart_jeju_main","name":"emart Jeju",
                     "address":"Jeju City, Jeju-do","latitude":33.4996,"longitude":126.5312,
                     "charger_ids":["emart_jeju_01","emart_jeju_02"]})")
                .status,
            201);
  ASSERT_EQ(rest("POST", "/stations",
                 R"({"station_id":"jeju_city_hall","name":"Jeju City Hall",
                     "address":"Jeju City, Jeju-do","latitude":33.4996,"longitude":126.5219,
                     "charger_ids":["emart_jeju_03"]})")
                .status,
            201);

  auto sim1 = stack.StartSimulator("emart_jeju_01", "seed", {"--energy-speedup", "20"});
  auto sim2 = stack.StartSimulator("emart_jeju_02", "standard", {"--energy-speedup", "20"});
  auto sim3 = stack.StartSimulator("emart_jeju_03", "standard", {"--energy-speedup", "20"});
  ASSERT_TRUE(sim1 && sim2 && sim3);
  for (const char* id : {"emart_jeju_01", "emart_jeju_02", "emart_jeju_03"}) {
    bool up = false;
    for (int i = 0; i < 100 && !up; ++i) {
      up =
          rest("GET", std::string("/chargers/") + id, "").Json().value("status", "") == "Available";
      if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(up) << id << " did not come up\n" << stack.Logs();
  }

  const std::string screenshot = TestOutputDir() + "/dashboard.png";
  std::filesystem::remove(screenshot);
  ChildProcess node;
  ASSERT_TRUE(node.Start("/usr/bin/env",
                         {"node", CSMS_BROWSER_TEST_DIR "/dashboard_check.js",
                          "http://127.0.0.1:" + std::to_string(stack.http_port), screenshot,
                          std::to_string(sim3->pid()), operate},
                         stack.log_dir() + "/dashboard_check.log"));
  int code = node.Stop(0, seconds(120));  // signal 0: wait for it to finish
  EXPECT_EQ(code, 0) << node.ReadLog() << "\n" << stack.Logs();
  std::cout << node.ReadLog();
  ASSERT_TRUE(std::filesystem::exists(screenshot));
  EXPECT_GT(std::filesystem::file_size(screenshot), 20000u);
}

TEST(ChargerPageInBrowser, ShowsOneChargerAndSendsItCommands) {
  TestDatabase db;
  CSMS_REQUIRE_DATABASE(db);
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/chromium"))
      << "Debian's chromium is required (scripts/install-deps.sh installs it)";
  ASSERT_TRUE(std::filesystem::exists(CSMS_BROWSER_TEST_DIR "/node_modules/playwright-core"))
      << "run: npm ci --prefix tests/browser (scripts/test.sh does)";

  // The page's buttons need the operate role; UpdateFirmware needs admin, so the page's firmware
  // form is refused (and says so).
  const std::string keys_dir = TestOutputDir() + "/browser-charger-page-keys";
  std::filesystem::create_directories(keys_dir);
  const std::string service = auth::MintToken(), operate = auth::MintToken();
  std::ofstream(keys_dir + "/api-keys")
      << auth::KeyLine("gateway", auth::Role::kService, service) << "\n"
      << auth::KeyLine("ops", auth::Role::kOperate, operate) << "\n";
  std::ofstream(keys_dir + "/service-token") << service << "\n";
  Stack::Options options;
  options.name = "browser_charger_page";
  options.database_url = db.url();
  options.env = {{"CSMS_API_KEYS_FILE", keys_dir + "/api-keys"},
                 {"CSMS_SERVICE_TOKEN_FILE", keys_dir + "/service-token"}};
  // The device model the page searches is the one control fetches after the boot.
  options.device_model_fetch = true;
  options.control_args = {"--device-model-fetch-delay-ms", "100"};
  Stack stack(options);
  ASSERT_TRUE(stack.Start()) << stack.Logs();

  auto rest = [&](const std::string& method, const std::string& target, const std::string& body) {
    return HttpCall(stack.http_port, method, target, body, seconds(10),
                    {{"Authorization", "Bearer " + operate}});
  };
  const std::string id = "emart_jeju_07";
  ASSERT_EQ(rest("POST", "/stations",
                 R"({"station_id":"emart_jeju_main","name":"emart Jeju",
                     "address":"Jeju City, Jeju-do","latitude":33.4996,"longitude":126.5312,
                     "charger_ids":["emart_jeju_07"]})")
                .status,
            201);
  auto sim = stack.StartSimulator(id, "standard");
  ASSERT_TRUE(sim);
  bool up = false;
  for (int i = 0; i < 100 && !up; ++i) {
    up = rest("GET", "/chargers/" + id, "").Json().value("status", "") == "Available";
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(up) << id << " did not come up\n" << stack.Logs();
  bool stored = false;
  for (int i = 0; i < 300 && !stored; ++i) {
    auto r = rest("GET", "/chargers/" + id + "/variables?variable=HeartbeatInterval", "");
    stored = r.status == 200 && !r.Json().value("variables", nlohmann::json::array()).empty();
    if (!stored) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(stored) << "the device model was not fetched after the boot\n" << stack.Logs();

  const std::string screenshot = TestOutputDir() + "/charger-page.png";
  std::filesystem::remove(screenshot);
  ChildProcess node;
  ASSERT_TRUE(
      node.Start("/usr/bin/env",
                 {"node", CSMS_BROWSER_TEST_DIR "/charger_page_check.js",
                  "http://127.0.0.1:" + std::to_string(stack.http_port), screenshot, operate, id},
                 stack.log_dir() + "/charger_page_check.log"));
  int code = node.Stop(0, seconds(120));  // signal 0: wait for it to finish
  EXPECT_EQ(code, 0) << node.ReadLog() << "\n" << stack.Logs();
  std::cout << node.ReadLog();
  ASSERT_TRUE(std::filesystem::exists(screenshot));
  EXPECT_GT(std::filesystem::file_size(screenshot), 20000u);
}

TEST(TokensPageInBrowser, SearchesBlocksUnblocksAndSetsExpiry) {
  TestDatabase db;
  CSMS_REQUIRE_DATABASE(db);
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/chromium"))
      << "Debian's chromium is required (scripts/install-deps.sh installs it)";
  ASSERT_TRUE(std::filesystem::exists(CSMS_BROWSER_TEST_DIR "/node_modules/playwright-core"))
      << "run: npm ci --prefix tests/browser (scripts/test.sh does)";

  // Changing a token needs the operate role; the read token's Block is refused, and the page
  // says so. No chargers: the script seeds the tokens over REST.
  const std::string keys_dir = TestOutputDir() + "/browser-tokens-page-keys";
  std::filesystem::create_directories(keys_dir);
  const std::string service = auth::MintToken(), operate = auth::MintToken(),
                    read = auth::MintToken();
  std::ofstream(keys_dir + "/api-keys")
      << auth::KeyLine("gateway", auth::Role::kService, service) << "\n"
      << auth::KeyLine("ops", auth::Role::kOperate, operate) << "\n"
      << auth::KeyLine("viewer", auth::Role::kRead, read) << "\n";
  std::ofstream(keys_dir + "/service-token") << service << "\n";
  Stack::Options options;
  options.name = "browser_tokens_page";
  options.database_url = db.url();
  options.env = {{"CSMS_API_KEYS_FILE", keys_dir + "/api-keys"},
                 {"CSMS_SERVICE_TOKEN_FILE", keys_dir + "/service-token"}};
  Stack stack(options);
  ASSERT_TRUE(stack.Start()) << stack.Logs();

  const std::string screenshot = TestOutputDir() + "/tokens-page.png";
  std::filesystem::remove(screenshot);
  ChildProcess node;
  ASSERT_TRUE(
      node.Start("/usr/bin/env",
                 {"node", CSMS_BROWSER_TEST_DIR "/tokens_page_check.js",
                  "http://127.0.0.1:" + std::to_string(stack.http_port), screenshot, operate, read},
                 stack.log_dir() + "/tokens_page_check.log"));
  int code = node.Stop(0, seconds(120));  // signal 0: wait for it to finish
  EXPECT_EQ(code, 0) << node.ReadLog() << "\n" << stack.Logs();
  std::cout << node.ReadLog();
  ASSERT_TRUE(std::filesystem::exists(screenshot));
  EXPECT_GT(std::filesystem::file_size(screenshot), 20000u);
}

TEST(ChargerReservationsInBrowser, ReservesListsAndCancels) {
  TestDatabase db;
  CSMS_REQUIRE_DATABASE(db);
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/chromium"))
      << "Debian's chromium is required (scripts/install-deps.sh installs it)";
  ASSERT_TRUE(std::filesystem::exists(CSMS_BROWSER_TEST_DIR "/node_modules/playwright-core"))
      << "run: npm ci --prefix tests/browser (scripts/test.sh does)";
  ASSERT_TRUE(std::filesystem::exists(CSMS_SCHEMA_CLIENT_DIR "/node_modules/ocpp-rpc"))
      << "run: npm ci --prefix tests/e2e/schema_client (scripts/test.sh does)";

  // Reserving and cancelling need the operate role; the read token's Reserve is refused, and the
  // page says so.
  const std::string keys_dir = TestOutputDir() + "/browser-reservations-keys";
  std::filesystem::create_directories(keys_dir);
  const std::string service = auth::MintToken(), operate = auth::MintToken(),
                    read = auth::MintToken();
  std::ofstream(keys_dir + "/api-keys")
      << auth::KeyLine("gateway", auth::Role::kService, service) << "\n"
      << auth::KeyLine("ops", auth::Role::kOperate, operate) << "\n"
      << auth::KeyLine("viewer", auth::Role::kRead, read) << "\n";
  std::ofstream(keys_dir + "/service-token") << service << "\n";
  Stack::Options options;
  options.name = "browser_reservations";
  options.database_url = db.url();
  options.env = {{"CSMS_API_KEYS_FILE", keys_dir + "/api-keys"},
                 {"CSMS_SERVICE_TOKEN_FILE", keys_dir + "/service-token"}};
  Stack stack(options);
  ASSERT_TRUE(stack.Start()) << stack.Logs();

  auto rest = [&](const std::string& method, const std::string& target, const std::string& body) {
    return HttpCall(stack.http_port, method, target, body, seconds(10),
                    {{"Authorization", "Bearer " + operate}});
  };
  // The C++ simulator does not answer ReserveNow; the Node charger in serve mode does (Accepted
  // and held, or the refusal its RESERVE-<STATUS> tokens name), with EVSE 1 connector 1.
  const std::string id = "emart_jeju_resv";
  ChildProcess charger;
  ASSERT_TRUE(charger.Start(
      "/usr/bin/env",
      {"node", CSMS_SCHEMA_CLIENT_DIR "/schema_client.js",
       "ws://127.0.0.1:" + std::to_string(stack.ocpp_port) + "/ocpp", "-", id, "serve"},
      stack.log_dir() + "/schema-client-" + id + ".log"));
  bool up = false;
  for (int i = 0; i < 150 && !up; ++i) {
    up = rest("GET", "/chargers/" + id, "").Json().value("status", "") == "Available";
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(up) << id << " did not come up\n" << charger.ReadLog() << "\n" << stack.Logs();

  const std::string screenshot = TestOutputDir() + "/charger-reservations.png";
  std::filesystem::remove(screenshot);
  ChildProcess node;
  ASSERT_TRUE(node.Start(
      "/usr/bin/env",
      {"node", CSMS_BROWSER_TEST_DIR "/charger_reservations_check.js",
       "http://127.0.0.1:" + std::to_string(stack.http_port), screenshot, operate, read, id},
      stack.log_dir() + "/charger_reservations_check.log"));
  int code = node.Stop(0, seconds(120));  // signal 0: wait for it to finish
  EXPECT_EQ(code, 0) << node.ReadLog() << "\n" << charger.ReadLog() << "\n" << stack.Logs();
  std::cout << node.ReadLog();
  ASSERT_TRUE(std::filesystem::exists(screenshot));
  EXPECT_GT(std::filesystem::file_size(screenshot), 20000u);
  EXPECT_EQ(charger.Stop(SIGTERM), 0) << "a schema violation: " << charger.ReadLog();
}

}  // namespace
}  // namespace csms::testing
