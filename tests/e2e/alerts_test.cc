// Issue #13, alerts: "a webhook receiver that is down and comes back gets every alert once
// (idempotency key), in order per charger". Real gateway, control and billing with API keys on,
// raw WebSocket chargers (WsClient) and a receiver of the test's own (webhook_receiver.h) that
// refuses connections while one charger faults and reports two security events and another goes
// silent and comes back; then it listens. Short heartbeat and backoff come in through the
// environment (CSMS_HEARTBEAT_INTERVAL, CSMS_WEBHOOK_RETRY_*).
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "csms/common/api_auth.h"
#include "csms/control/v1/alerts.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "net_clients.h"
#include "ocpp_payloads.h"
#include "process.h"
#include "shared_stack_test.h"
#include "wait_until.h"
#include "webhook_receiver.h"

namespace csms::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// What the README tells receivers to compute: hex HMAC-SHA256(secret, timestamp + "." + body).
std::string Sign(const std::string& secret, const std::string& timestamp, const std::string& body) {
  const std::string message = timestamp + "." + body;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "v1=";
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

class Alerts : public SharedStackTest<Alerts> {
 public:
  static void Configure(Stack::Options& options) {
    options.name = "alerts";
    const std::string dir = TestOutputDir() + "/alerts-keys";  // the stack's log folder is wiped
    std::filesystem::create_directories(dir);
    const std::string service = auth::MintToken();
    admin_ = auth::MintToken();
    operate_ = auth::MintToken();
    read_ = auth::MintToken();
    std::ofstream(dir + "/api-keys")
        << auth::KeyLine("gateway", auth::Role::kService, service) << "\n"
        << auth::KeyLine("boss", auth::Role::kAdmin, admin_) << "\n"
        << auth::KeyLine("ops", auth::Role::kOperate, operate_) << "\n"
        << auth::KeyLine("viewer", auth::Role::kRead, read_) << "\n";
    std::ofstream(dir + "/service-token") << service << "\n";
    std::filesystem::permissions(dir + "/api-keys", std::filesystem::perms::owner_read |
                                                        std::filesystem::perms::owner_write);
    std::filesystem::permissions(dir + "/service-token", std::filesystem::perms::owner_read |
                                                             std::filesystem::perms::owner_write);
    options.env = {{"CSMS_API_KEYS_FILE", dir + "/api-keys"},
                   {"CSMS_SERVICE_TOKEN_FILE", dir + "/service-token"},
                   // Chargers are offline after N x 1 s of silence and a grace of 2.5 s (the
                   // gateway reports last-seen up to 2 s late); sweeps, polls and backoff in
                   // fractions of a second; a short attempt timeout.
                   {"CSMS_HEARTBEAT_INTERVAL", "1"},
                   {"CSMS_ALERT_OFFLINE_GRACE", "2.5"},
                   {"CSMS_ALERT_SWEEP_INTERVAL", "0.25"},
                   {"CSMS_WEBHOOK_POLL_INTERVAL", "0.1"},
                   {"CSMS_WEBHOOK_RETRY_MIN", "0.2"},
                   {"CSMS_WEBHOOK_RETRY_MAX", "0.5"},
                   {"CSMS_WEBHOOK_TIMEOUT", "2"}};
  }

 protected:
  static HttpResult Rest(const std::string& method, const std::string& target,
                         const json& body = nullptr, const std::string& token = admin_) {
    return HttpCall(stack_->http_port, method, target, body.is_null() ? "" : body.dump(),
                    seconds(40), {{"Authorization", "Bearer " + token}});
  }

  static json Created(const json& body) {
    auto r = Rest("POST", "/webhooks", body);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.Json();
  }

  // The alerts of one charger of these kinds, oldest first.
  static std::vector<json> AlertsOf(const std::string& charger, const std::string& kinds) {
    auto r =
        Rest("GET", "/alerts?limit=500&charger_id=" + charger + "&kind=" + kinds, nullptr, read_);
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<json> out;
    for (const auto& a : r.Json().value("alerts", json::array())) out.insert(out.begin(), a);
    return out;
  }

  static json Deliveries(int64_t webhook) {
    auto r = Rest("GET", "/webhooks/" + std::to_string(webhook) + "/deliveries?limit=500");
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json().value("deliveries", json::array());
  }

  static std::unique_ptr<WsClient> Charger(const std::string& id) {
    auto client = std::make_unique<WsClient>();
    EXPECT_TRUE(client->Connect(stack_->ocpp_port, "/ocpp/" + id));
    json reply = client->Call("BootNotification", BootPayload("SN-" + id));
    EXPECT_EQ(reply[2]["status"], "Accepted") << reply.dump();
    return client;
  }

  static inline std::string admin_, operate_, read_;
};

TEST_F(Alerts, WebhooksAreForAdmins) {
  const json hook = {{"url", "http://127.0.0.1:9/hook"}, {"kinds", {"connector_faulted"}}};
  auto by_operator = Rest("POST", "/webhooks", hook, operate_);
  EXPECT_EQ(by_operator.status, 403) << by_operator.body;
  EXPECT_EQ(by_operator.Json()["error"], "forbidden");
  EXPECT_EQ(Rest("GET", "/webhooks", nullptr, read_).status, 403) << "urls can be secrets";
  EXPECT_EQ(Rest("GET", "/alerts", nullptr, read_).status, 200);
  auto bad_url = Rest("POST", "/webhooks", {{"url", "ftp://x/"}, {"kinds", {"security_event"}}});
  EXPECT_EQ(bad_url.status, 400) << bad_url.body;
  auto bad_kind =
      Rest("POST", "/webhooks", {{"url", "http://x/"}, {"kinds", {"log_upload_failed"}}});
  EXPECT_EQ(bad_kind.status, 400) << bad_kind.body;
  EXPECT_NE(bad_kind.Json()["message"].get<std::string>().find("log_upload_failed"),
            std::string::npos);
  EXPECT_EQ(Rest("POST", "/webhooks", {{"url", "http://x/"}, {"kind", {"security_event"}}}).status,
            400)
      << "a misspelt field is an error, not ignored";
  EXPECT_EQ(Rest("GET", "/webhooks/99999").status, 404);
  EXPECT_EQ(Rest("GET", "/alerts?kind=nonsense", nullptr, read_).status, 400);

  // The secret is answered once; changing what is given.
  json created = Created({{"url", "http://127.0.0.1:9/x"},
                          {"kinds", {"security_event"}},
                          {"secret", "a-secret-of-my-own-choosing"}});
  const std::string id = std::to_string(created["id"].get<int64_t>());
  EXPECT_EQ(created["secret"], "a-secret-of-my-own-choosing");
  EXPECT_EQ(created["created_by"], "boss");
  auto got = Rest("GET", "/webhooks/" + id);
  EXPECT_EQ(got.status, 200);
  EXPECT_FALSE(got.Json().contains("secret"));
  auto patched = Rest("PATCH", "/webhooks/" + id,
                      {{"enabled", false}, {"charger_ids", {"x1"}}, {"rotate_secret", true}});
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(patched.Json()["enabled"], false);
  EXPECT_EQ(patched.Json()["charger_ids"], json({"x1"}));
  EXPECT_EQ(patched.Json()["secret"].get<std::string>().rfind("whsec_", 0), 0u);
  auto all = Rest("PATCH", "/webhooks/" + id, {{"charger_ids", nullptr}});
  EXPECT_TRUE(all.Json()["charger_ids"].is_null()) << all.body;
  EXPECT_FALSE(all.Json().contains("secret"));
  EXPECT_EQ(Rest("DELETE", "/webhooks/" + id).status, 200);
  EXPECT_EQ(Rest("GET", "/webhooks/" + id).status, 404);
}

// The same service on gRPC, next to ControlService: health, roles, errors with their REST code.
TEST_F(Alerts, AlertServiceIsServedOnGrpc) {
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(stack_->control_port),
                                     grpc::InsecureChannelCredentials());
  auto call = [](grpc::ClientContext& ctx, const std::string& token) {
    ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
    ctx.AddMetadata("authorization", "Bearer " + token);
  };
  {
    auto health = grpc::health::v1::Health::NewStub(channel);
    grpc::ClientContext ctx;
    grpc::health::v1::HealthCheckRequest req;
    req.set_service("csms.control.v1.AlertService");
    grpc::health::v1::HealthCheckResponse resp;
    ASSERT_TRUE(health->Check(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  }
  auto stub = control::v1::AlertService::NewStub(channel);
  {
    grpc::ClientContext ctx;
    call(ctx, read_);
    control::v1::ListAlertsRequest req;
    req.set_limit(5);
    control::v1::ListAlertsResponse resp;
    EXPECT_TRUE(stub->ListAlerts(&ctx, req, &resp).ok());
  }
  {
    grpc::ClientContext ctx;
    call(ctx, operate_);
    control::v1::CreateWebhookRequest req;
    req.set_url("http://127.0.0.1:9/x");
    req.add_kinds("security_event");
    control::v1::Webhook resp;
    grpc::Status status = stub->CreateWebhook(&ctx, req, &resp);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
    EXPECT_EQ(json::parse(status.error_details())["error"], "forbidden");
  }
  {
    grpc::ClientContext ctx;
    call(ctx, admin_);
    control::v1::GetWebhookRequest req;
    req.set_id(424242);
    control::v1::Webhook resp;
    grpc::Status status = stub->GetWebhook(&ctx, req, &resp);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(json::parse(status.error_details())["error"], "not_found");
  }
}

TEST_F(Alerts, AReceiverThatIsDownAndComesBackGetsEveryAlertOnceInOrder) {
  WebhookReceiver receiver(FreePort());  // not listening yet: connections are refused
  const std::string faulty = "al_fault_01", quiet = "al_quiet_01";
  // Faults and security events of one charger; offline / online (N = 1) of another; the same
  // security events to a receiver path that answers 410 (rejected, not retried); the faults to
  // one that answers 503 + Retry-After once per alert.
  json h1 = Created({{"name", "ops"},
                     {"url", receiver.Url("/hook")},
                     {"kinds", {"connector_faulted", "security_event"}},
                     {"charger_ids", {faulty}}});
  json h2 = Created({{"url", receiver.Url("/hook")},
                     {"kinds", {"charger_offline", "charger_online"}},
                     {"offline_intervals", 1},
                     {"charger_ids", {quiet}},
                     {"secret", "whsec_given_by_the_operator_0001"}});
  json h3 = Created(
      {{"url", receiver.Url("/gone")}, {"kinds", {"security_event"}}, {"charger_ids", {faulty}}});
  json h4 = Created({{"url", receiver.Url("/flaky")},
                     {"kinds", {"connector_faulted"}},
                     {"charger_ids", {faulty}}});
  const std::map<std::string, std::string> secret_of = {{faulty, h1["secret"]},
                                                        {quiet, h2["secret"]}};
  const auto down_since = std::chrono::steady_clock::now();

  // The faulty charger: Available, Faulted (alert), Faulted again (none), two security events
  // (alerts) and one of them again, as a charger retrying it (none).
  auto a = Charger(faulty);
  a->Call("StatusNotification", StatusPayload("Available", "2026-12-07T08:00:01Z"));
  a->Call("StatusNotification", StatusPayload("Faulted", "2026-12-07T08:00:02Z"));
  a->Call("StatusNotification", StatusPayload("Faulted", "2026-12-07T08:00:03Z"));
  // Status reports reach control in the gateway's batches, after the answer; security events
  // are stored before theirs. Alerts follow the order the CSMS stored their causes, so the test
  // lets the fault land first to know the order it expects.
  ASSERT_TRUE(WaitUntil([&] { return AlertsOf(faulty, "connector_faulted").size() == 1; }));
  const json tamper = {{"type", "TamperDetectionActivated"},
                       {"timestamp", "2026-12-07T08:00:04.000Z"},
                       {"techInfo", "door opened"}};
  for (const json& event :
       {tamper,
        json{{"type", "InvalidFirmwareSignature"}, {"timestamp", "2026-12-07T08:00:05.000Z"}},
        tamper}) {
    json reply = a->Call("SecurityEventNotification", event);
    EXPECT_EQ(reply[0], 3) << "stored, then answered: " << reply.dump();
  }
  // The quiet charger boots and says nothing for longer than one heartbeat interval...
  auto b = Charger(quiet);
  ASSERT_TRUE(WaitUntil([&] { return AlertsOf(quiet, "charger_offline").size() == 1; }))
      << stack_->Logs();
  // ...then speaks again, and keeps speaking (a heartbeat every 300 ms) so that it stays online.
  b->Call("Heartbeat", json::object());
  std::atomic<bool> stop_heartbeats{false};
  std::thread heartbeats([&] {
    while (!stop_heartbeats) {
      std::this_thread::sleep_for(milliseconds(300));
      b->Call("Heartbeat", json::object());
    }
  });
  struct Joiner {
    std::atomic<bool>& stop;
    std::thread& thread;
    ~Joiner() {
      stop = true;
      thread.join();
    }
  } joiner{stop_heartbeats, heartbeats};
  ASSERT_TRUE(WaitUntil([&] { return AlertsOf(quiet, "charger_online").size() == 1; }));

  const std::vector<json> a_alerts = AlertsOf(faulty, "connector_faulted,security_event");
  ASSERT_EQ(a_alerts.size(), 3u);
  EXPECT_EQ(a_alerts[0]["kind"], "connector_faulted");
  EXPECT_EQ(a_alerts[0]["data"]["status"], "Faulted");
  EXPECT_EQ(a_alerts[1]["kind"], "security_event");
  EXPECT_EQ(a_alerts[1]["data"]["type"], "TamperDetectionActivated");
  EXPECT_EQ(a_alerts[1]["data"]["tech_info"], "door opened");
  EXPECT_EQ(a_alerts[2]["data"]["type"], "InvalidFirmwareSignature");
  const std::vector<json> b_alerts = AlertsOf(quiet, "charger_offline,charger_online");
  ASSERT_EQ(b_alerts.size(), 2u);
  EXPECT_EQ(b_alerts[0]["data"]["offline_intervals"], 1);

  // Every queue's head has failed at least once by now: the receiver refused.
  ASSERT_TRUE(WaitUntil([&] {
    for (const json* h : {&h1, &h2, &h3, &h4}) {
      const json log = Deliveries((*h)["id"].get<int64_t>());
      if (log.empty() || log.back()["attempts"].get<int>() < 2) return false;
    }
    return true;
  }));
  EXPECT_TRUE(receiver.requests().empty());
  const double down_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - down_since).count();

  // The receiver comes back.
  ASSERT_TRUE(receiver.Start());
  auto delivered = [&](const json& h, size_t n) {
    size_t done = 0;
    for (const auto& d : Deliveries(h["id"].get<int64_t>())) {
      if (d["state"] != "pending") ++done;
    }
    return done == n;
  };
  ASSERT_TRUE(WaitUntil([&] {
    return delivered(h1, 3) && delivered(h2, 2) && delivered(h3, 2) && delivered(h4, 1);
  })) << Deliveries(h1["id"]).dump(1);
  const double drain_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - down_since).count() - down_s;
  RecordProperty("receiver_down_s", std::to_string(down_s));
  RecordProperty("drained_after_back_s", std::to_string(drain_s));

  // /hook: every alert once per Idempotency-Key, in order per charger, signed.
  std::map<std::string, int> per_key;
  std::map<std::string, std::vector<std::string>> order;  // charger -> keys as received
  const auto now_s =
      std::chrono::duration_cast<seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  for (const auto& r : receiver.requests()) {
    if (r.target != "/hook") continue;
    const json body = json::parse(r.body);
    const std::string key = r.Header("idempotency-key");
    ++per_key[key];
    EXPECT_EQ(body["id"], key);
    const std::string charger = body["charger_id"];
    order[charger].push_back(key);
    EXPECT_EQ(r.Header("x-csms-signature"),
              Sign(secret_of.at(charger), r.Header("x-csms-timestamp"), r.body))
        << "the signature verifies with the webhook's secret";
    EXPECT_LE(std::abs(std::stoll(r.Header("x-csms-timestamp")) - now_s), 300);
    EXPECT_EQ(r.Header("content-type"), "application/json");
  }
  for (const auto& [key, n] : per_key) EXPECT_EQ(n, 1) << key << " arrived " << n << " times";
  std::vector<std::string> owed_a, owed_b;
  for (const auto& x : a_alerts) owed_a.push_back(x["id"]);
  for (const auto& x : b_alerts) owed_b.push_back(x["id"]);
  EXPECT_EQ(order[faulty], owed_a) << "faults and security events, once each, in order";
  EXPECT_EQ(order[quiet], owed_b) << "offline, then online";

  // The delivery log shows the refused attempts of each queue's head (the rest of the queue
  // waited behind it) and the attempt that worked.
  for (const json* h : {&h1, &h2}) {
    const json log_of_hook = Deliveries((*h)["id"].get<int64_t>());
    for (const json& d : log_of_hook) {
      EXPECT_EQ(d["state"], "delivered");
      EXPECT_EQ(d["last_http_status"], 200);
      const json& log = d["attempt_log"];
      EXPECT_EQ(log.size(), d["attempts"].get<size_t>());
      EXPECT_EQ(log.back()["outcome"], "delivered");
      EXPECT_EQ(log.back()["http_status"], 200);
    }
    const json& head = log_of_hook.back()["attempt_log"];  // newest first: the oldest is last
    ASSERT_GE(head.size(), 2u) << log_of_hook.dump(1);
    EXPECT_EQ(head[0]["outcome"], "retry");
    EXPECT_TRUE(head[0]["http_status"].is_null());
    EXPECT_NE(head[0]["error"].get<std::string>().find("refused"), std::string::npos) << head[0];
  }
  // 410: rejected at once, logged, and the queue moved on to the second event.
  for (const json& d : Deliveries(h3["id"].get<int64_t>())) {
    EXPECT_EQ(d["state"], "rejected");
    EXPECT_EQ(d["last_http_status"], 410);
    EXPECT_EQ(d["attempt_log"].back()["outcome"], "rejected");
  }
  // 503 + Retry-After: 1: the same body again, after a second.
  std::vector<WebhookReceiver::Request> flaky;
  for (const auto& r : receiver.requests()) {
    if (r.target == "/flaky") flaky.push_back(r);
  }
  ASSERT_EQ(flaky.size(), 2u);
  EXPECT_EQ(flaky[0].answered, 503);
  EXPECT_EQ(flaky[1].answered, 200);
  EXPECT_EQ(flaky[0].body, flaky[1].body) << "identical on every attempt";
  EXPECT_EQ(flaky[0].Header("idempotency-key"), flaky[1].Header("idempotency-key"));
  EXPECT_LT(std::stoi(flaky[0].Header("x-csms-delivery-attempt")),
            std::stoi(flaky[1].Header("x-csms-delivery-attempt")));
  EXPECT_GE(flaky[1].at - flaky[0].at, milliseconds(900)) << "Retry-After honoured";

  // A test alert, answered with its first attempt.
  auto test = Rest("POST", "/webhooks/" + std::to_string(h1["id"].get<int64_t>()) + "/test");
  ASSERT_EQ(test.status, 200) << test.body;
  EXPECT_EQ(test.Json()["delivery"]["state"], "delivered") << test.body;
  EXPECT_EQ(test.Json()["delivery"]["alert"]["kind"], "webhook_test");
  EXPECT_EQ(receiver.requests().back().Header("idempotency-key"),
            test.Json()["delivery"]["alert"]["id"]);
  // With the receiver gone again, the test says so and stays queued.
  receiver.Stop();
  auto refused = Rest("POST", "/webhooks/" + std::to_string(h1["id"].get<int64_t>()) + "/test");
  ASSERT_EQ(refused.status, 200) << refused.body;
  EXPECT_EQ(refused.Json()["delivery"]["state"], "pending");
  EXPECT_NE(refused.Json()["delivery"]["last_error"].get<std::string>().find("refused"),
            std::string::npos);

  a->Close();  // b closes after its heartbeats stop (joiner)
}

}  // namespace
}  // namespace csms::testing
