// API authentication end to end (issue #6): the three services with an API keys file, the
// gateway calling control and billing with its service token. REST and gRPC refuse callers
// without a valid bearer token (401 / UNAUTHENTICATED) or with too weak a role (403 /
// PERMISSION_DENIED), repeated failures from one address are rate-limited, and no token ever
// reaches a log.
#include "csms/common/api_auth.h"

#include <arpa/inet.h>
#include <google/protobuf/descriptor.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "csms/billing/v1/billing.grpc.pb.h"
#include "csms/control/v1/control.grpc.pb.h"
#include "csms/gateway/v1/charger_link.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "net_clients.h"
#include "ocpp_payloads.h"
#include "pg_test_db.h"
#include "stack.h"

namespace csms::testing {
namespace {

using std::chrono::seconds;

// One request from `source` (any 127.x address) with the raw answer head and body: lets a
// test fail authentication from an address of its own, and read an event stream's head.
std::string RawHttp(int port, const std::string& source, const std::string& request,
                    bool head_only = false) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  inet_pton(AF_INET, source.c_str(), &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string answer;
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) == 0 &&
      connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) == 0 &&
      send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size())) {
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
      answer.append(buf, static_cast<size_t>(n));
      if (head_only && answer.find("\r\n\r\n") != std::string::npos) break;
    }
  }
  close(fd);
  return answer;
}

// RawHttp parsed: status, lower-case headers and body (the request closes the connection).
HttpResult RawRest(int port, const std::string& source, const std::string& method,
                   const std::string& target, const std::string& token,
                   const std::string& body = "") {
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
  if (!token.empty()) request += "Authorization: Bearer " + token + "\r\n";
  if (!body.empty()) {
    request +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  std::string answer = RawHttp(port, source, request + "\r\n" + body);
  HttpResult result;
  auto head_end = answer.find("\r\n\r\n");
  if (answer.rfind("HTTP/1.1 ", 0) != 0 || head_end == std::string::npos) return result;
  result.status = std::stoi(answer.substr(9, 3));
  result.body = answer.substr(head_end + 4);
  std::istringstream head(answer.substr(0, head_end));
  std::string line;
  std::getline(head, line);
  while (std::getline(head, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(c));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == ' ')) value.pop_back();
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    result.headers[name] = value;
  }
  return result;
}

class ApiAuthEndToEnd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new TestDatabase();
    if (!db_->available()) return;
    dir_ = TestOutputDir() + "/api-auth-keys";  // not the stack's log folder: it is wiped
    std::filesystem::create_directories(dir_);
    service_ = auth::MintToken();
    operate_ = auth::MintToken();
    read_ = auth::MintToken();
    admin_ = auth::MintToken();
    std::ofstream(dir_ + "/api-keys")
        << "# test keys\n"
        << auth::KeyLine("gateway", auth::Role::kService, service_) << "\n"
        << auth::KeyLine("ops", auth::Role::kOperate, operate_) << "\n"
        << auth::KeyLine("viewer", auth::Role::kRead, read_) << "\n"
        << auth::KeyLine("boss", auth::Role::kAdmin, admin_) << "\n";
    std::ofstream(dir_ + "/service-token") << service_ << "\n";
    Stack::Options options;
    options.name = "api-auth";
    options.database_url = db_->url();
    options.env = {{"CSMS_API_KEYS_FILE", dir_ + "/api-keys"},
                   {"CSMS_SERVICE_TOKEN_FILE", dir_ + "/service-token"}};
    options.gateway_args = {"--public-base-url", "http://127.0.0.1:{http_port}"};
    stack_ = new Stack(options);
    started_ = stack_->Start();
  }
  static void TearDownTestSuite() {
    if (stack_) {
      for (const auto& [name, code] : stack_->Stop()) EXPECT_EQ(code, 0) << name;
      delete stack_;
      stack_ = nullptr;
    }
    delete db_;
    db_ = nullptr;
  }
  void SetUp() override {
    CSMS_REQUIRE_DATABASE(*db_);
    ASSERT_TRUE(started_) << stack_->Logs();
  }

  static HttpResult Rest(const std::string& method, const std::string& target,
                         const std::string& token, const std::string& body = "") {
    std::map<std::string, std::string> headers;
    if (!token.empty()) headers["Authorization"] = "Bearer " + token;
    return HttpCall(stack_->http_port, method, target, body, seconds(40), headers);
  }

  static std::shared_ptr<grpc::Channel> Channel(int port) {
    return grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                               grpc::InsecureChannelCredentials());
  }
  static void WithToken(grpc::ClientContext& ctx, const std::string& token) {
    ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
    if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
  }

  static TestDatabase* db_;
  static Stack* stack_;
  static bool started_;
  static std::string dir_, service_, operate_, read_, admin_;
};
TestDatabase* ApiAuthEndToEnd::db_ = nullptr;
Stack* ApiAuthEndToEnd::stack_ = nullptr;
bool ApiAuthEndToEnd::started_ = false;
std::string ApiAuthEndToEnd::dir_, ApiAuthEndToEnd::service_, ApiAuthEndToEnd::operate_,
    ApiAuthEndToEnd::read_, ApiAuthEndToEnd::admin_;

TEST_F(ApiAuthEndToEnd, RestNeedsAValidBearerToken) {
  // Failures from an address of this test's own: each address has its own failure budget.
  auto Rest = [](const std::string& method, const std::string& target, const std::string& token,
                 const std::string& body = "") {
    return RawRest(stack_->http_port, "127.0.0.2", method, target, token, body);
  };
  auto none = Rest("GET", "/chargers", "");
  EXPECT_EQ(none.status, 401) << none.body;
  EXPECT_EQ(none.headers["www-authenticate"], R"(Bearer realm="csms")");
  EXPECT_EQ(none.Json().value("error", ""), "unauthorized");
  auto wrong = Rest("GET", "/chargers", auth::MintToken());
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.headers["www-authenticate"], R"(Bearer realm="csms", error="invalid_token")");
  EXPECT_EQ(HttpCall(stack_->http_port, "GET", "/chargers", "", seconds(10),
                     {{"Authorization", "Basic " + read_}})
                .status,
            401)
      << "only the Bearer scheme";
  EXPECT_EQ(Rest("GET", "/chargers/x/sessions", "").status, 401);
  EXPECT_EQ(Rest("POST", "/chargers/x/start", "", R"({"id_token":"u"})").status, 401);
  EXPECT_EQ(Rest("GET", "/chargers", read_).status, 200);
  EXPECT_EQ(Rest("GET", "/stats/daily?date=2026-01-01", read_).status, 200);
  // Probes, metrics and the dashboard's static files stay open; its data does not.
  EXPECT_EQ(Rest("GET", "/healthz", "").status, 200);
  EXPECT_EQ(Rest("GET", "/readyz", "").status, 200);
  EXPECT_EQ(Rest("GET", "/metrics", "").status, 200);
  EXPECT_EQ(Rest("GET", "/", "").status, 200);
  EXPECT_EQ(Rest("GET", "/dashboard/config.json", "").status, 200);
  EXPECT_EQ(Rest("GET", "/stations", "").status, 401);
}

TEST_F(ApiAuthEndToEnd, EventStreamTakesTheTokenAsQueryParameter) {
  auto head = [&](const std::string& target) {
    return RawHttp(stack_->http_port, "127.0.0.3", "GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n",
                   true);
  };
  EXPECT_EQ(head("/events").rfind("HTTP/1.1 401", 0), 0u) << head("/events");
  EXPECT_EQ(head("/events?access_token=nope").rfind("HTTP/1.1 401", 0), 0u);
  std::string ok = head("/events?access_token=" + read_);
  EXPECT_EQ(ok.rfind("HTTP/1.1 200", 0), 0u) << ok;
  EXPECT_NE(ok.find("text/event-stream"), std::string::npos) << ok;
  // The query token is for /events only.
  EXPECT_EQ(
      RawRest(stack_->http_port, "127.0.0.3", "GET", "/chargers?access_token=" + read_, "").status,
      401);
}

TEST_F(ApiAuthEndToEnd, ReadRoleCannotOperateAndOperateRoleCan) {
  auto sim = stack_->StartSimulator("auth_01", "standard", {"--energy-speedup", "50"});
  ASSERT_TRUE(sim);
  bool up = false;
  for (int i = 0; i < 100 && !up; ++i) {
    up = Rest("GET", "/chargers/auth_01", read_).Json().value("status", "") == "Available";
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(up) << stack_->Logs();
  const std::string start = R"({"id_token":"user_1","evse_id":1,"connector_id":1})";
  auto refused = Rest("POST", "/chargers/auth_01/start", read_, start);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(refused.Json().value("error", ""), "forbidden");
  EXPECT_EQ(Rest("PATCH", "/chargers/auth_01/power", read_, R"({"max_power_kw":5})").status, 403);
  EXPECT_EQ(Rest("POST", "/stations", read_, R"({"station_id":"s1","name":"S"})").status, 403);
  auto charger = Rest("GET", "/chargers/auth_01", read_).Json();
  EXPECT_TRUE(charger["transaction_id"].is_null() || charger["transaction_id"] == "")
      << "the refused start must not have started anything: " << charger.dump();

  auto started = Rest("POST", "/chargers/auth_01/start", operate_, start);
  ASSERT_EQ(started.status, 200) << started.body << stack_->Logs();
  const std::string tx = started.Json().value("transaction_id", "");
  ASSERT_FALSE(tx.empty());
  auto stopped = Rest("POST", "/chargers/auth_01/stop", operate_,
                      nlohmann::json{{"transaction_id", tx}}.dump());
  EXPECT_EQ(stopped.status, 200) << stopped.body;
  // The ledger got the events through the gateway's service token: the session is there.
  EXPECT_EQ(Rest("GET", "/sessions/" + tx, read_).status, 200);
}

TEST_F(ApiAuthEndToEnd, GrpcChecksTokenAndRolePerMethod) {
  auto control = control::v1::ControlService::NewStub(Channel(stack_->control_port));
  control::v1::StartTransactionRequest start;
  start.set_charger_id("nobody");
  start.set_id_token("u");
  control::v1::StartTransactionResponse started;
  {
    grpc::ClientContext ctx;
    WithToken(ctx, "");
    EXPECT_EQ(control->StartTransaction(&ctx, start, &started).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext ctx;
    WithToken(ctx, auth::MintToken());
    EXPECT_EQ(control->StartTransaction(&ctx, start, &started).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext ctx;
    WithToken(ctx, read_);
    EXPECT_EQ(control->StartTransaction(&ctx, start, &started).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    grpc::ClientContext ctx;
    WithToken(ctx, operate_);
    auto status = control->StartTransaction(&ctx, start, &started);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  }
  {
    grpc::ClientContext ctx;
    WithToken(ctx, read_);
    control::v1::ListChargersResponse list;
    EXPECT_TRUE(control->ListChargers(&ctx, control::v1::ListChargersRequest(), &list).ok());
  }
  // The internal service takes the service role only, not an operator's key.
  auto events = control::v1::StationEventService::NewStub(Channel(stack_->control_port));
  control::v1::ReportResponse reported;
  {
    grpc::ClientContext ctx;
    WithToken(ctx, operate_);
    EXPECT_EQ(events->ReportLastSeen(&ctx, control::v1::LastSeenBatch(), &reported).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    grpc::ClientContext ctx;
    WithToken(ctx, "");
    EXPECT_EQ(events->ReportLastSeen(&ctx, control::v1::LastSeenBatch(), &reported).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }

  auto billing = billing::v1::BillingService::NewStub(Channel(stack_->billing_port));
  billing::v1::GetDailyStatsRequest stats_request;
  stats_request.set_from_date("2026-01-01");
  stats_request.set_to_date("2026-01-02");
  billing::v1::GetDailyStatsResponse stats;
  {
    grpc::ClientContext ctx;
    WithToken(ctx, "");
    EXPECT_EQ(billing->GetDailyStats(&ctx, stats_request, &stats).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext ctx;
    WithToken(ctx, read_);
    auto status = billing->GetDailyStats(&ctx, stats_request, &stats);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
  {
    grpc::ClientContext ctx;
    WithToken(ctx, operate_);
    billing::v1::RecordTransactionEventResponse recorded;
    EXPECT_EQ(
        billing
            ->RecordTransactionEvent(&ctx, billing::v1::RecordTransactionEventRequest(), &recorded)
            .error_code(),
        grpc::StatusCode::PERMISSION_DENIED);
  }
  // ChargerLink (control -> gateway) sends commands to chargers: the service role only.
  auto link = gateway::v1::ChargerLink::NewStub(Channel(stack_->link_port));
  gateway::v1::CallRequest command;
  command.set_charger_id("nobody");
  command.set_action("Reset");
  command.set_payload_json(R"({"type":"Immediate"})");
  gateway::v1::CallResponse answer;
  for (const auto& [token, code] : std::vector<std::pair<std::string, grpc::StatusCode>>{
           {"", grpc::StatusCode::UNAUTHENTICATED},
           {operate_, grpc::StatusCode::PERMISSION_DENIED},
           {service_, grpc::StatusCode::NOT_FOUND}}) {  // passes the check: no such charger
    grpc::ClientContext ctx;
    WithToken(ctx, token);
    auto status = link->Call(&ctx, command, &answer);
    EXPECT_EQ(status.error_code(), code) << status.error_message();
  }
  // Health stays open for probes.
  for (int port : {stack_->control_port, stack_->billing_port}) {
    auto health = grpc::health::v1::Health::NewStub(Channel(port));
    grpc::ClientContext ctx;
    WithToken(ctx, "");
    grpc::health::v1::HealthCheckResponse answer;
    EXPECT_TRUE(health->Check(&ctx, grpc::health::v1::HealthCheckRequest(), &answer).ok()) << port;
  }
}

const google::protobuf::ServiceDescriptor* Find(const char* name) {
  return google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
}

// Every method of the authenticated services is fronted: a method added to a proto but not to
// the services' Authed* wrappers would answer UNIMPLEMENTED here.
TEST_F(ApiAuthEndToEnd, EveryMethodIsServedToTheServiceToken) {
  struct Service {
    const google::protobuf::ServiceDescriptor* descriptor;
    int port;
  } services[] = {
      {Find(control::v1::ControlService::service_full_name()), stack_->control_port},
      {Find(control::v1::StationEventService::service_full_name()), stack_->control_port},
      {Find(billing::v1::BillingService::service_full_name()), stack_->billing_port},
      {Find(gateway::v1::ChargerLink::service_full_name()), stack_->link_port},
  };
  int checked = 0;
  for (const auto& service : services) {
    ASSERT_NE(service.descriptor, nullptr);
    grpc::GenericStub stub(Channel(service.port));
    for (int i = 0; i < service.descriptor->method_count(); ++i) {
      const auto* method = service.descriptor->method(i);
      const std::string name = "/" + service.descriptor->full_name() + "/" + method->name();
      for (const std::string* token : std::vector<const std::string*>{&service_, &read_}) {
        grpc::ClientContext ctx;
        WithToken(ctx, *token);
        grpc::CompletionQueue cq;
        grpc::ByteBuffer request, response;  // empty: every field at its default
        grpc::Slice empty("");
        request = grpc::ByteBuffer(&empty, 1);
        auto call = stub.PrepareUnaryCall(&ctx, name, request, &cq);
        call->StartCall();
        grpc::Status status;
        call->Finish(&response, &status, reinterpret_cast<void*>(1));
        void* tag = nullptr;
        bool ok = false;
        ASSERT_TRUE(cq.Next(&tag, &ok));
        if (token == &service_) {
          EXPECT_NE(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << name;
          EXPECT_NE(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << name;
          EXPECT_NE(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << name;
        } else {
          // Read role: exactly the Get*/List* methods, except the commands that ask a charger
          // (GetVariables, GetTransactionStatus: OCPP CALLs, operate role).
          const bool command =
              method->name() == "GetVariables" || method->name() == "GetTransactionStatus";
          const bool reads = !command && (method->name().rfind("Get", 0) == 0 ||
                                          method->name().rfind("List", 0) == 0);
          EXPECT_EQ(status.error_code() == grpc::StatusCode::PERMISSION_DENIED, !reads)
              << name << ": " << status.error_message();
        }
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 40);
}

// Issue #12: commands carry the operator's key to control (the command log names it), and the
// actions that change a charger's trust, network or firmware need the admin role.
TEST_F(ApiAuthEndToEnd, CommandsNameTheirKeyAndAdminActionsNeedTheAdminRole) {
  ASSERT_EQ(Rest("POST", "/chargers", operate_,
                 R"({"charger_id":"auth_cmd_01","security_profile":0,"approved":true})")
                .status,
            201);
  WsClient charger;
  ASSERT_TRUE(charger.Connect(stack_->ocpp_port, "/ocpp/auth_cmd_01"));
  ASSERT_EQ(charger.Call("BootNotification", BootPayload("SN-auth"))[2]["status"], "Accepted");
  for (int i = 0;
       i < 100 && !Rest("GET", "/chargers/auth_cmd_01", read_).Json().value("connected", false);
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // A live device-model read sends GetVariables: operate, as the command; the stored one: read.
  auto live_read = Rest("GET", "/chargers/auth_cmd_01/variables?live=true", read_);
  EXPECT_EQ(live_read.status, 403) << live_read.body;
  EXPECT_NE(live_read.body.find("\"forbidden\""), std::string::npos) << live_read.body;
  EXPECT_EQ(Rest("GET", "/chargers/auth_cmd_01/variables", read_).status, 200);
  // Answers the next CALL the charger gets with `payload` while `request` runs.
  auto answered = [&](const std::function<HttpResult()>& request, const nlohmann::json& payload) {
    auto http = std::async(std::launch::async, request);
    if (auto frame = charger.Receive(seconds(10))) {
      auto call = nlohmann::json::parse(*frame);
      charger.SendText(nlohmann::json{3, call[1], payload}.dump());
    }
    return http.get();
  };
  const std::string profile = R"({"configurationSlot":1,"connectionData":{"ocppVersion":"OCPP20",
      "ocppTransport":"JSON","ocppCsmsUrl":"wss://csms.example/ocpp","messageTimeout":30,
      "securityProfile":2,"ocppInterface":"Wired0"}})";
  auto refused = Rest("POST", "/chargers/auth_cmd_01/ocpp/SetNetworkProfile", operate_, profile);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(refused.Json()["error"], "forbidden");
  EXPECT_EQ(Rest("POST", "/chargers/auth_cmd_01/ocpp/ClearCache", read_, "{}").status, 403);

  auto as_admin = answered(
      [&] { return Rest("POST", "/chargers/auth_cmd_01/ocpp/SetNetworkProfile", admin_, profile); },
      {{"status", "Accepted"}});
  EXPECT_EQ(as_admin.status, 200) << as_admin.body;
  auto as_operator =
      answered([&] { return Rest("POST", "/chargers/auth_cmd_01/clear-cache", operate_, "{}"); },
               {{"status", "Accepted"}});
  EXPECT_EQ(as_operator.status, 200) << as_operator.body;

  auto log = Rest("GET", "/chargers/auth_cmd_01/commands", read_).Json();
  ASSERT_EQ(log["commands"].size(), 2u) << log.dump();
  EXPECT_EQ(log["commands"][0]["issued_by"], "ops");
  EXPECT_EQ(log["commands"][0]["action"], "ClearCache");
  EXPECT_EQ(log["commands"][1]["issued_by"], "boss");
  EXPECT_EQ(log["commands"][1]["action"], "SetNetworkProfile");

  // A direct gRPC caller is named by its own key; an operator cannot claim another's name.
  auto stub = control::v1::ControlService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(stack_->control_port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + operate_);
  ctx.AddMetadata(auth::kOnBehalfKeyMetadata, "boss");
  ctx.AddMetadata(auth::kOnBehalfRoleMetadata, "admin");
  control::v1::SendOcppCallRequest request;
  request.set_charger_id("auth_cmd_01");
  request.set_action("SetNetworkProfile");
  request.set_payload_json(profile);
  control::v1::SendOcppCallResponse response;
  EXPECT_EQ(stub->SendOcppCall(&ctx, request, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

// The charger uploads with no key (the URL's token is its credential; the gateway stores the
// file with its service token), while the operators' roles still hold: DiagnosticsLog needs
// operate, SecurityLog admin, to request and to download.
TEST_F(ApiAuthEndToEnd, LogUploadsNeedNoKeyFromTheChargerAndTheRolesHold) {
  auto sim = stack_->StartSimulator("auth_log", "standard", {"--log-size-bytes", "5000"});
  for (int i = 0;
       i < 100 && !Rest("GET", "/chargers/auth_log", read_).Json().value("connected", false); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const std::string path = "/chargers/auth_log/log-uploads";
  EXPECT_EQ(Rest("POST", path, read_, R"({"log_type":"DiagnosticsLog"})").status, 403);
  EXPECT_EQ(Rest("POST", path, operate_, R"({"log_type":"SecurityLog"})").status, 403);
  // Uploaded (by the charger, keyless), then downloaded with `key`; the download's status.
  auto upload = [&](const std::string& type, const std::string& key) -> int64_t {
    auto r = Rest("POST", path, key, nlohmann::json{{"log_type", type}}.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    const int64_t id = r.Json()["response"]["upload"].value("upload_id", int64_t{0});
    nlohmann::json u;
    for (int i = 0; i < 200; ++i) {
      u = Rest("GET", path + "/" + std::to_string(id), read_).Json()["upload"];
      if (u.is_object() && u.value("outcome", "") != "in_progress") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_EQ(u["outcome"], "uploaded") << u.dump() << sim->ReadLog();
    EXPECT_EQ(u["size_bytes"], 5000);
    return id;
  };
  const int64_t diagnostics = upload("DiagnosticsLog", operate_);
  auto content = Rest("GET", path + "/" + std::to_string(diagnostics) + "/content", read_);
  EXPECT_EQ(content.status, 200) << content.body;
  EXPECT_EQ(content.body.size(), 5000u);
  const int64_t security = upload("SecurityLog", admin_);
  const std::string security_content = path + "/" + std::to_string(security) + "/content";
  EXPECT_EQ(Rest("GET", security_content, read_).status, 403);
  EXPECT_EQ(Rest("GET", security_content, admin_).status, 200);
  EXPECT_EQ(sim->Stop(SIGTERM), 0);
}

TEST_F(ApiAuthEndToEnd, RepeatedFailuresFromOneAddressAreRateLimited) {
  // From an address of its own, so the other tests' client (127.0.0.1) is not limited.
  const std::string bad =
      "GET /chargers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\nConnection: "
      "close\r\n\r\n";
  for (int i = 0; i < 10; ++i) {
    std::string answer = RawHttp(stack_->http_port, "127.0.0.7", bad);
    ASSERT_EQ(answer.rfind("HTTP/1.1 401", 0), 0u) << i << ": " << answer;
  }
  std::string limited = RawHttp(stack_->http_port, "127.0.0.7", bad);
  EXPECT_EQ(limited.rfind("HTTP/1.1 429", 0), 0u) << limited;
  EXPECT_NE(limited.find("Retry-After: "), std::string::npos) << limited;
  // Even a valid token waits: otherwise 429 vs 200 would still tell a guesser when it is right.
  std::string good = RawHttp(stack_->http_port, "127.0.0.7",
                             "GET /chargers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + read_ +
                                 "\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(good.rfind("HTTP/1.1 429", 0), 0u) << good;
  // Other addresses are not affected.
  EXPECT_EQ(Rest("GET", "/chargers", read_).status, 200);
}

TEST_F(ApiAuthEndToEnd, FailuresAreLoggedWithoutTheToken) {
  const std::string guess = auth::MintToken();
  EXPECT_EQ(RawRest(stack_->http_port, "127.0.0.4", "GET", "/chargers/x", guess).status, 401);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const std::string logs = stack_->Logs();
  EXPECT_NE(logs.find("authentication failed (unknown token) from 127.0.0.4 for GET /chargers/x"),
            std::string::npos)
      << logs;
  for (const std::string& secret : {guess, service_, operate_, read_}) {
    EXPECT_EQ(logs.find(secret.substr(5, 16)), std::string::npos) << "a token reached the logs";
  }
}

}  // namespace
}  // namespace csms::testing

namespace csms::testing {
namespace {

// gRPC with TLS (--grpc-tls-cert/--grpc-tls-key/--grpc-tls-ca on all three services) and API
// keys together. The certificates are made here with openssl, never committed.
TEST(GrpcTlsEndToEnd, ServicesTalkTlsAndRefusePlaintext) {
  TestDatabase db;
  CSMS_REQUIRE_DATABASE(db);
  const std::string dir = TestOutputDir() + "/grpc-tls-keys";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string make_certs =
      "cd '" + dir +
      "' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
      "-keyout ca.key -out ca.pem -days 1 -subj /CN=csms-test-ca 2>/dev/null && "
      "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key "
      "-out server.csr -subj /CN=localhost 2>/dev/null && "
      "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext && "
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 "
      "-extfile san.ext -out server.pem 2>/dev/null";
  ASSERT_EQ(std::system(make_certs.c_str()), 0) << make_certs;
  const std::string service = auth::MintToken(), operate = auth::MintToken();
  std::ofstream(dir + "/api-keys")
      << auth::KeyLine("gateway", auth::Role::kService, service) << "\n"
      << auth::KeyLine("ops", auth::Role::kOperate, operate) << "\n";
  std::ofstream(dir + "/service-token") << service << "\n";

  Stack::Options options;
  options.name = "grpc-tls";
  options.database_url = db.url();
  options.env = {{"CSMS_API_KEYS_FILE", dir + "/api-keys"},
                 {"CSMS_SERVICE_TOKEN_FILE", dir + "/service-token"},
                 {"CSMS_GRPC_TLS_CERT", dir + "/server.pem"},
                 {"CSMS_GRPC_TLS_KEY", dir + "/server.key"},
                 {"CSMS_GRPC_TLS_CA", dir + "/ca.pem"}};
  Stack stack(options);
  ASSERT_TRUE(stack.Start()) << stack.Logs();

  std::ifstream ca_file(dir + "/ca.pem");
  std::stringstream ca;
  ca << ca_file.rdbuf();
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = ca.str();
  const std::string control_address = "127.0.0.1:" + std::to_string(stack.control_port);
  auto call = [&](std::shared_ptr<grpc::ChannelCredentials> credentials, const std::string& token) {
    auto stub = control::v1::ControlService::NewStub(
        grpc::CreateChannel(control_address, std::move(credentials)));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + seconds(5));
    if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
    control::v1::ListChargersResponse list;
    return stub->ListChargers(&ctx, control::v1::ListChargersRequest(), &list).error_code();
  };
  EXPECT_EQ(call(grpc::InsecureChannelCredentials(), operate), grpc::StatusCode::UNAVAILABLE)
      << "plaintext must not be served";
  EXPECT_EQ(call(grpc::SslCredentials(tls), ""), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(call(grpc::SslCredentials(tls), operate), grpc::StatusCode::OK);
  EXPECT_EQ(call(grpc::SslCredentials(grpc::SslCredentialsOptions()), operate),
            grpc::StatusCode::UNAVAILABLE)
      << "a client that does not trust the test CA must not connect";

  // The whole path over TLS: gateway -> control and billing, control -> gateway (ChargerLink).
  auto sim = stack.StartSimulator("tls_01", "standard", {"--energy-speedup", "50"});
  ASSERT_TRUE(sim);
  auto rest = [&](const std::string& method, const std::string& target, const std::string& body) {
    return HttpCall(stack.http_port, method, target, body, seconds(40),
                    {{"Authorization", "Bearer " + operate}});
  };
  bool up = false;
  for (int i = 0; i < 100 && !up; ++i) {
    up = rest("GET", "/chargers/tls_01", "").Json().value("status", "") == "Available";
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(up) << stack.Logs();
  auto started = rest("POST", "/chargers/tls_01/start", R"({"id_token":"u1"})");
  ASSERT_EQ(started.status, 200) << started.body << stack.Logs();
  auto stopped = rest("POST", "/chargers/tls_01/stop",
                      nlohmann::json{{"transaction_id", started.Json()["transaction_id"]}}.dump());
  EXPECT_EQ(stopped.status, 200) << stopped.body;
  EXPECT_NE(stack.Logs().find("(TLS)"), std::string::npos);
  for (const auto& [name, code] : stack.Stop()) EXPECT_EQ(code, 0) << name;
}

}  // namespace
}  // namespace csms::testing
