// Webhook delivery against a real PostgreSQL with a fake sender: two dispatchers (two replicas,
// each with its own pool and threads) work off one database's queues. Each (webhook, charger)
// queue is delivered in alert order, one delivery in flight at a time, nothing delivered twice;
// a failing head holds back only its own queue; rejections, Retry-After, leases, expiry, pauses
// and the test alert.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "csms/common/pg_sql.h"
#include "csms/control/alert_store.h"
#include "csms/control/migrations.h"
#include "csms/control/webhook_dispatcher.h"
#include "csms/control/webhook_store.h"
#include "pg_test_db.h"

namespace csms::control {
namespace {

using csms::testing::TestDatabase;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Answers by a policy; records every request; checks that no queue ever has two in flight.
class FakeSender : public WebhookSender {
 public:
  struct Sent {
    std::string webhook, charger, uid, attempt, signature, timestamp, body;
    int status = 0;
  };
  using Policy = std::function<HttpAttempt(const Sent&)>;

  explicit FakeSender(Policy policy) : policy_(std::move(policy)) {}

  HttpAttempt Post(const WebhookRequest& request) override {
    Sent s;
    s.webhook = request.url.substr(request.url.rfind('/') + 1);
    s.body = request.body;
    json body = json::parse(request.body);
    s.charger = body["charger_id"].is_string() ? body["charger_id"].get<std::string>() : "";
    for (const auto& [name, value] : request.headers) {
      if (name == "Idempotency-Key") s.uid = value;
      if (name == "X-CSMS-Delivery-Attempt") s.attempt = value;
      if (name == "X-CSMS-Signature") s.signature = value;
      if (name == "X-CSMS-Timestamp") s.timestamp = value;
    }
    const std::string queue = s.webhook + "/" + s.charger;
    {
      std::lock_guard lock(mu_);
      if (++in_flight_[queue] > 1) overlapped_ = true;
    }
    thread_local std::mt19937 jitter{std::random_device{}()};
    std::this_thread::sleep_for(std::chrono::microseconds(jitter() % 2000));
    HttpAttempt answer;
    {
      std::lock_guard lock(mu_);
      answer = policy_(s);
      s.status = answer.status;
      sent_.push_back(s);
      --in_flight_[queue];
    }
    return answer;
  }

  std::vector<Sent> sent() {
    std::lock_guard lock(mu_);
    return sent_;
  }
  bool overlapped() {
    std::lock_guard lock(mu_);
    return overlapped_;
  }
  void set_policy(Policy policy) {
    std::lock_guard lock(mu_);
    policy_ = std::move(policy);
  }

 private:
  std::mutex mu_;
  Policy policy_;
  std::vector<Sent> sent_;
  std::map<std::string, int> in_flight_;
  bool overlapped_ = false;
};

HttpAttempt Answer(int status, std::string retry_after = "") {
  HttpAttempt a;
  a.status = status;
  a.retry_after = std::move(retry_after);
  if (status == 0) a.error = "connecting: Connection refused";
  return a;
}

class WebhookDispatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CSMS_REQUIRE_DATABASE(db_);
    {
      pqxx::connection conn(db_.url());
      pg::ApplyMigrations(conn, "control", ControlMigrations());
    }
    pool_ = std::make_unique<pg::Pool>(db_.url(), 4);
    webhooks_ = std::make_unique<WebhookStore>(*pool_);
  }

  int64_t Webhook(std::vector<std::string> kinds = {"connector_faulted"}) {
    WebhookRecord w;
    w.secret = "whsec_0123456789abcdef";
    w.kinds = std::move(kinds);
    w.url = "http://fake/pending";
    const int64_t id = webhooks_->Create(w).id;
    WebhookChanges c;
    c.url = "http://fake/w" + std::to_string(id);
    webhooks_->Update(id, c);
    return id;
  }

  // One connector_faulted alert per charger named, in one transaction, in this order.
  std::vector<std::string> Raise(const std::vector<std::string>& chargers) {
    std::vector<AlertDraft> drafts;
    for (const auto& c : chargers) {
      drafts.push_back(*ConnectorFaultedAlert(c, 1, 1, "Faulted", RealClock().Now(),
                                              std::string("Available"), "StatusNotification"));
    }
    std::vector<int64_t> ids = pg::Transact(
        *pool_, [&](pqxx::work& txn) { return AlertStore::Raise(txn, drafts, RealClock().Now()); });
    std::vector<std::string> uids;
    pqxx::connection conn(db_.url());
    pqxx::read_transaction txn(conn);
    for (int64_t id : ids) {
      uids.push_back(
          txn.exec_params1("SELECT uid::text FROM alerts WHERE id = $1", id)[0].as<std::string>());
    }
    return uids;
  }

  int64_t Scalar(const std::string& sql) {
    pqxx::connection conn(db_.url());
    pqxx::read_transaction txn(conn);
    return txn.exec1(sql)[0].as<int64_t>();
  }

  template <typename Pred>
  bool WaitUntil(Pred pred, milliseconds timeout = seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred()) return true;
      std::this_thread::sleep_for(milliseconds(20));
    }
    return pred();
  }

  static WebhookDispatcher::Options Fast(int workers) {
    WebhookDispatcher::Options o;
    o.workers = workers;
    o.poll = milliseconds(5);
    o.timeout = seconds(5);
    o.retry = RetryPolicy{milliseconds(2), milliseconds(20)};
    return o;
  }

  TestDatabase db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<WebhookStore> webhooks_;
};

TEST_F(WebhookDispatchTest, TwoDispatchersDeliverEachQueueInOrderAndNothingTwice) {
  const int64_t a = Webhook(), b = Webhook();
  const std::vector<std::string> chargers = {"cp1", "cp2", "cp3"};
  // 20 alerts per charger, interleaved over 20 transactions; the order raised is the order owed.
  std::map<std::string, std::vector<std::string>> owed;  // charger -> uids in raise order
  for (int i = 0; i < 20; ++i) {
    std::vector<std::string> round = {chargers[i % 3], chargers[(i + 1) % 3],
                                      chargers[(i + 2) % 3]};
    auto uids = Raise(round);
    for (size_t k = 0; k < round.size(); ++k) owed[round[k]].push_back(uids[k]);
  }
  // A third of the attempts fail (no answer or 503), decided per (uid, attempt).
  FakeSender sender([](const FakeSender::Sent& s) {
    const size_t h = std::hash<std::string>()(s.uid + "#" + s.attempt);
    if (h % 3 == 0) return Answer(h % 2 ? 503 : 0);
    return Answer(200);
  });
  // Two replicas: a pool, a store and three workers each.
  pg::Pool other_pool(db_.url(), 4);
  WebhookStore other_store(other_pool);
  {
    WebhookDispatcher one(*webhooks_, sender, Fast(3));
    WebhookDispatcher two(other_store, sender, Fast(3));
    ASSERT_TRUE(WaitUntil([&] {
      return Scalar("SELECT count(*) FROM webhook_deliveries WHERE state = 'delivered'") == 120;
    })) << Scalar("SELECT count(*) FROM webhook_deliveries WHERE state = 'delivered'");
  }
  EXPECT_FALSE(sender.overlapped()) << "two deliveries of one queue were in flight together";

  std::map<std::string, std::vector<std::string>> delivered;  // "w/charger" -> uids in order
  std::map<std::string, int> attempts_sent;                   // uid+webhook -> attempts
  for (const auto& s : sender.sent()) {
    ++attempts_sent[s.webhook + "/" + s.uid];
    if (s.status == 200) delivered[s.webhook + "/" + s.charger].push_back(s.uid);
  }
  for (int64_t w : {a, b}) {
    for (const auto& c : chargers) {
      EXPECT_EQ(delivered["w" + std::to_string(w) + "/" + c], owed[c])
          << "webhook " << w << ", " << c << ": in raise order, each once";
    }
  }
  // Every attempt is in the delivery log, numbered 1..n.
  EXPECT_EQ(Scalar("SELECT count(*) FROM webhook_attempts"),
            static_cast<int64_t>(sender.sent().size()));
  EXPECT_EQ(Scalar("SELECT count(*) FROM webhook_deliveries d WHERE attempts <>"
                   " (SELECT count(*) FROM webhook_attempts t WHERE t.delivery_id = d.id)"),
            0);
  EXPECT_EQ(Scalar("SELECT count(*) FROM webhook_attempts WHERE outcome = 'retry'"),
            static_cast<int64_t>(sender.sent().size()) - 120);
  EXPECT_GT(Scalar("SELECT count(*) FROM webhook_attempts WHERE outcome = 'retry'"), 0)
      << "the run should have had failures to retry";
}

TEST_F(WebhookDispatchTest, AFailingHeadHoldsBackOnlyItsOwnCharger) {
  const int64_t hook = Webhook();
  for (int i = 0; i < 5; ++i) Raise({"cpA", "cpB", "cpC"});
  FakeSender sender(
      [](const FakeSender::Sent& s) { return Answer(s.charger == "cpA" ? 500 : 200); });
  WebhookDispatcher dispatcher(*webhooks_, sender, Fast(2));
  ASSERT_TRUE(WaitUntil([&] {
    return Scalar("SELECT count(*) FROM webhook_deliveries WHERE state = 'delivered'") == 10;
  }));
  ASSERT_TRUE(WaitUntil([&] {
    return Scalar("SELECT max(attempts) FROM webhook_deliveries WHERE queue = 'cpA'") >= 3;
  }));
  // Only cpA's head was tried; the rest of its queue waits, untouched.
  EXPECT_EQ(Scalar("SELECT count(*) FROM webhook_deliveries WHERE queue = 'cpA' AND attempts > 0"),
            1);
  EXPECT_EQ(Scalar("SELECT count(*) FROM webhook_deliveries WHERE queue = 'cpA' AND"
                   " state = 'pending'"),
            5);
  std::set<std::string> tried_a;
  for (const auto& s : sender.sent()) {
    if (s.charger == "cpA") tried_a.insert(s.uid);
  }
  EXPECT_EQ(tried_a.size(), 1u);
  // The receiver recovers: cpA's queue drains, in order.
  sender.set_policy([](const FakeSender::Sent&) { return Answer(200); });
  ASSERT_TRUE(WaitUntil([&] {
    return Scalar("SELECT count(*) FROM webhook_deliveries WHERE state = 'delivered'") == 15;
  }));
  std::vector<std::string> order;
  for (const auto& s : sender.sent()) {
    if (s.charger == "cpA" && s.status == 200) order.push_back(s.uid);
  }
  pqxx::connection conn(db_.url());
  pqxx::read_transaction txn(conn);
  std::vector<std::string> owed;
  for (const auto& row : txn.exec_params(
           "SELECT a.uid::text FROM webhook_deliveries d JOIN alerts a ON a.id = d.alert_id"
           " WHERE d.webhook_id = $1 AND d.queue = 'cpA' ORDER BY d.id",
           hook)) {
    owed.push_back(row[0].as<std::string>());
  }
  EXPECT_EQ(order, owed);
}

TEST_F(WebhookDispatchTest, ARejectionIsLoggedAndTheQueueMovesOn) {
  const int64_t hook = Webhook();
  const auto first = Raise({"cp1"}), second = Raise({"cp1"});
  FakeSender sender(
      [&](const FakeSender::Sent& s) { return Answer(s.uid == first[0] ? 410 : 200); });
  WebhookDispatcher dispatcher(*webhooks_, sender, Fast(0));
  while (dispatcher.RunOnce()) {
  }
  auto page = webhooks_->ListDeliveries(hook, "", 10, "");
  ASSERT_EQ(page.deliveries.size(), 2u);
  const DeliveryRecord& rejected = page.deliveries[1];  // newest first
  EXPECT_EQ(rejected.alert.uid, first[0]);
  EXPECT_EQ(rejected.state, "rejected");
  EXPECT_EQ(rejected.attempts, 1);
  EXPECT_EQ(rejected.last_http_status, 410);
  ASSERT_EQ(rejected.attempt_log.size(), 1u);
  EXPECT_EQ(rejected.attempt_log[0].outcome, "rejected");
  EXPECT_EQ(rejected.attempt_log[0].http_status, 410);
  EXPECT_TRUE(rejected.finished_at.has_value());
  EXPECT_EQ(page.deliveries[0].alert.uid, second[0]);
  EXPECT_EQ(page.deliveries[0].state, "delivered");
  EXPECT_EQ(webhooks_->ListDeliveries(hook, "rejected", 10, "").deliveries.size(), 1u);
  EXPECT_EQ(webhooks_->Find(hook)->pending_deliveries, 0);
}

TEST_F(WebhookDispatchTest, RetryAfterIsHonouredAndTheBodyIsTheSameOnEveryAttempt) {
  const int64_t hook = Webhook();
  Raise({"cp1"});
  FakeSender sender([](const FakeSender::Sent&) { return Answer(429, "2"); });
  WebhookDispatcher dispatcher(*webhooks_, sender, Fast(0));
  ASSERT_TRUE(dispatcher.RunOnce());
  EXPECT_FALSE(dispatcher.RunOnce()) << "not due for 2 s";
  auto d = webhooks_->ListDeliveries(hook, "pending", 10, "").deliveries.at(0);
  const double wait =
      std::chrono::duration<double>(d.next_attempt_at - d.attempt_log.at(0).started_at).count();
  EXPECT_GE(wait, 1.9);
  EXPECT_LE(wait, 3.0);
  EXPECT_EQ(d.last_http_status, 429);
  // Make it due now, answer 200: same body, same key, the next attempt number, signed anew.
  pg::Transact(*pool_, [](pqxx::work& txn) {
    txn.exec0("UPDATE webhook_deliveries SET next_attempt_at = now()");
  });
  std::this_thread::sleep_for(milliseconds(1100));  // another timestamp
  sender.set_policy([](const FakeSender::Sent&) { return Answer(204); });
  ASSERT_TRUE(dispatcher.RunOnce());
  auto sent = sender.sent();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].body, sent[1].body);
  EXPECT_EQ(sent[0].uid, sent[1].uid);
  EXPECT_EQ(sent[0].attempt, "1");
  EXPECT_EQ(sent[1].attempt, "2");
  EXPECT_NE(sent[0].timestamp, sent[1].timestamp);
  EXPECT_EQ(sent[1].signature,
            WebhookSignature("whsec_0123456789abcdef", sent[1].timestamp, sent[1].body));
  EXPECT_EQ(webhooks_->ListDeliveries(hook, "delivered", 10, "").deliveries.size(), 1u);
}

TEST_F(WebhookDispatchTest, ALapsedLeaseIsClaimedAgainAndTheLateRecordOnlyLogged) {
  const int64_t hook = Webhook();
  Raise({"cp1"});
  auto first = webhooks_->ClaimNext(milliseconds(50));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->attempt, 1);
  EXPECT_FALSE(webhooks_->ClaimNext(milliseconds(50))) << "leased";
  std::this_thread::sleep_for(milliseconds(80));
  auto second = webhooks_->ClaimNext(seconds(30));
  ASSERT_TRUE(second) << "the first claimer died";
  EXPECT_EQ(second->attempt, 2);
  EXPECT_EQ(second->body, first->body);
  EXPECT_FALSE(webhooks_->Record(*first, Answer(200), DeliveryOutcome::kDelivered,
                                 RealClock().Now(), milliseconds(0)))
      << "no longer its claim";
  EXPECT_TRUE(webhooks_->Record(*second, Answer(200), DeliveryOutcome::kDelivered,
                                RealClock().Now(), milliseconds(0)));
  auto d = webhooks_->ListDeliveries(hook, "", 10, "").deliveries.at(0);
  EXPECT_EQ(d.state, "delivered");
  EXPECT_EQ(d.attempt_log.size(), 2u) << "both attempts logged";
}

TEST_F(WebhookDispatchTest, OldDeliveriesExpireAndDisabledWebhooksWait) {
  const int64_t hook = Webhook();
  Raise({"cp1"});
  WebhookChanges off;
  off.enabled = false;
  webhooks_->Update(hook, off);
  EXPECT_FALSE(webhooks_->ClaimNext(seconds(30))) << "paused";
  std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(webhooks_->ExpireOlderThan(seconds(60)), 0);
  EXPECT_EQ(webhooks_->ExpireOlderThan(milliseconds(10)), 1);
  Raise({"cp1"});
  EXPECT_EQ(Scalar("SELECT count(*) FROM webhook_deliveries"), 1) << "off: nothing new queued";
  WebhookChanges on;
  on.enabled = true;
  webhooks_->Update(hook, on);
  Raise({"cp1"});
  auto claim = webhooks_->ClaimNext(seconds(30));
  ASSERT_TRUE(claim) << "the expired head no longer holds its queue";
  EXPECT_EQ(webhooks_->ListDeliveries(hook, "expired", 10, "").deliveries.size(), 1u);
  // Purging keeps what is pending.
  std::this_thread::sleep_for(milliseconds(5));
  EXPECT_EQ(webhooks_->PurgeOlderThan(milliseconds(1)), 2);
  EXPECT_EQ(Scalar("SELECT count(*) FROM alerts"), 1);
}

TEST_F(WebhookDispatchTest, TheTestAlertGoesToItsWebhookOnly) {
  const int64_t hook = Webhook({"security_event"}), other = Webhook();
  FakeSender sender([](const FakeSender::Sent&) { return Answer(200); });
  WebhookDispatcher dispatcher(*webhooks_, sender, Fast(1));
  auto claim = webhooks_->RaiseTest(hook, "boss", dispatcher.lease(), RealClock().Now());
  ASSERT_TRUE(claim);
  EXPECT_EQ(claim->attempt, 1);
  std::promise<std::optional<DeliveryOutcome>> done;
  dispatcher.Submit(*claim, [&](std::optional<DeliveryOutcome> o) { done.set_value(o); });
  auto outcome = done.get_future().get();
  EXPECT_EQ(outcome, DeliveryOutcome::kDelivered);
  auto d = webhooks_->FindDelivery(claim->id);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->state, "delivered");
  EXPECT_EQ(d->alert.kind, "webhook_test");
  EXPECT_EQ(json::parse(d->alert.body)["data"]["requested_by"], "boss");
  EXPECT_EQ(
      Scalar("SELECT count(*) FROM webhook_deliveries WHERE webhook_id = " + std::to_string(other)),
      0);
  EXPECT_FALSE(webhooks_->RaiseTest(999999, "boss", dispatcher.lease(), RealClock().Now()));
}

}  // namespace
}  // namespace csms::control
