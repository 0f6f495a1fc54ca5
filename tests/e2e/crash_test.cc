// Crash tests: many chargers run transactions while each service is killed with SIGKILL and
// restarted. Chargers retry as OCPP says (same message until a CALLRESULT). Afterwards the ledger
// must hold every acknowledged event exactly once, with the energy and cost the chargers metered.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <map>
#include <mutex>
#include <pqxx/pqxx>
#include <set>
#include <thread>

#include "net_clients.h"
#include "ocpp_payloads.h"
#include "pg_test_db.h"
#include "stack.h"

namespace csms::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kChargers = 16;
constexpr int kTransactionsPerCharger = 5;
// Chargers pace their events so that every kill lands in the middle of the load.
constexpr auto kEventPacing = std::chrono::milliseconds(120);
constexpr int kUpdatesPerTransaction = 8;
constexpr double kWhPerUpdate = 1250.0;  // 8 × 1.25 kWh = 10 kWh per transaction

struct Ledger {
  std::mutex mu;
  std::set<std::pair<std::string, int>> acknowledged;  // (transaction id, seqNo)
  std::map<std::string, double> metered_wh;            // what each charger measured
  std::atomic<int> retries{0};
  std::atomic<int> reconnects{0};
};

// One charger: connects, boots, and sends each event until it is acknowledged.
class RetryingCharger {
 public:
  RetryingCharger(int ocpp_port, std::string id, Ledger& ledger)
      : port_(ocpp_port), id_(std::move(id)), ledger_(ledger) {}

  bool Run(std::chrono::steady_clock::time_point deadline) {
    if (!Deliver("BootNotification", BootPayload("SN-" + id_), deadline)) return false;
    for (int t = 0; t < kTransactionsPerCharger; ++t) {
      const std::string tx = id_ + "-tx" + std::to_string(t);
      const double start_wh = 100000.0 * t;  // the register keeps counting across sessions
      int seq = 0;
      std::string ts = "2026-11-24T0" + std::to_string(t) + ":00:00Z";
      if (!SendEvent(StandardTxEvent("Started", tx, seq++, ts, start_wh), tx, deadline)) {
        return false;
      }
      double wh = start_wh;
      for (int u = 0; u < kUpdatesPerTransaction; ++u) {
        wh += kWhPerUpdate;
        ts = "2026-11-24T0" + std::to_string(t) + ":" + (u < 9 ? "0" : "") + std::to_string(u + 1) +
             ":00Z";
        if (!SendEvent(StandardTxEvent("Updated", tx, seq++, ts, wh, 11000.0), tx, deadline)) {
          return false;
        }
      }
      ts = "2026-11-24T0" + std::to_string(t) + ":30:00Z";
      if (!SendEvent(StandardTxEvent("Ended", tx, seq++, ts, wh), tx, deadline)) return false;
      std::lock_guard lock(ledger_.mu);
      ledger_.metered_wh[tx] = wh - start_wh;
    }
    return true;
  }

 private:
  bool SendEvent(const json& payload, const std::string& tx,
                 std::chrono::steady_clock::time_point deadline) {
    std::this_thread::sleep_for(kEventPacing);
    if (!Deliver("TransactionEvent", payload, deadline)) return false;
    std::lock_guard lock(ledger_.mu);
    ledger_.acknowledged.insert({tx, payload["seqNo"].get<int>()});
    return true;
  }

  // OCPP E13: resend the same message after a CALLERROR or no answer, until acknowledged.
  bool Deliver(const std::string& action, const json& payload,
               std::chrono::steady_clock::time_point deadline) {
    for (int attempt = 0; std::chrono::steady_clock::now() < deadline; ++attempt) {
      if (attempt > 0) {
        ++ledger_.retries;
        std::this_thread::sleep_for(milliseconds(150));
      }
      if (!client_ || !client_->is_open()) {
        client_ = std::make_unique<WsClient>();
        if (!client_->Connect(port_, "/ocpp/" + id_)) continue;
        ++ledger_.reconnects;
      }
      json reply = client_->Call(action, payload, seconds(5));
      if (reply.is_array() && reply.size() >= 3 && reply[0] == 3) return true;
    }
    return false;
  }

  int port_;
  std::string id_;
  Ledger& ledger_;
  std::unique_ptr<WsClient> client_;
};

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CSMS_REQUIRE_DATABASE(db_);
    Stack::Options options;
    options.name = "crash";
    options.database_url = db_.url();
    options.gateway_args = {"--outbox-dir", TestOutputDir() + "/crash/outbox"};
    stack_ = std::make_unique<Stack>(options);
    ASSERT_TRUE(stack_->Start()) << stack_->Logs();
  }

  TestDatabase db_;
  std::unique_ptr<Stack> stack_;
};

TEST_F(CrashTest, KillingEachServiceLosesAndDoubleCountsNothing) {
  Ledger ledger;
  std::atomic<int> finished{0};
  std::atomic<int> failed{0};
  auto deadline = std::chrono::steady_clock::now() + seconds(150);
  std::vector<std::thread> chargers;
  for (int i = 0; i < kChargers; ++i) {
    chargers.emplace_back([&, i] {
      RetryingCharger charger(stack_->ocpp_port, "crash_" + std::to_string(i), ledger);
      (charger.Run(deadline) ? finished : failed)++;
    });
  }

  // Kill each service in the middle of the load, one after the other, and bring it back.
  auto wait_for_acks = [&](size_t n) {
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(ledger.mu);
        if (ledger.acknowledged.size() >= n) return;
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
  };
  auto in_flight = [&] {
    std::lock_guard lock(ledger.mu);
    return ledger.acknowledged.size();
  };
  const size_t total_events = kChargers * kTransactionsPerCharger * (kUpdatesPerTransaction + 2);
  int kills = 0;
  wait_for_acks(total_events / 5);
  EXPECT_LT(in_flight(), total_events) << "the kill must land in the middle of the load";
  EXPECT_EQ(stack_->billing().Stop(SIGKILL), 128 + SIGKILL);
  ++kills;
  std::this_thread::sleep_for(milliseconds(700));
  ASSERT_TRUE(stack_->StartBilling()) << stack_->Logs();

  wait_for_acks(2 * total_events / 5);
  EXPECT_LT(in_flight(), total_events);
  EXPECT_EQ(stack_->control().Stop(SIGKILL), 128 + SIGKILL);
  ++kills;
  std::this_thread::sleep_for(milliseconds(700));
  ASSERT_TRUE(stack_->StartControl()) << stack_->Logs();

  wait_for_acks(3 * total_events / 5);
  EXPECT_LT(in_flight(), total_events);
  EXPECT_EQ(stack_->gateway().Stop(SIGKILL), 128 + SIGKILL);
  ++kills;
  std::this_thread::sleep_for(milliseconds(700));
  ASSERT_TRUE(stack_->StartGateway()) << stack_->Logs();

  // Billing again, while the gateway may still be replaying its outbox.
  wait_for_acks(4 * total_events / 5);
  EXPECT_LT(in_flight(), total_events);
  EXPECT_EQ(stack_->billing().Stop(SIGKILL), 128 + SIGKILL);
  ++kills;
  std::this_thread::sleep_for(milliseconds(700));
  ASSERT_TRUE(stack_->StartBilling()) << stack_->Logs();

  for (auto& t : chargers) t.join();
  ASSERT_EQ(failed.load(), 0) << "chargers that could not get every event acknowledged";
  ASSERT_EQ(ledger.acknowledged.size(), total_events);

  // The outbox drains into billing; wait until the ledger has every acknowledged event.
  pqxx::connection conn(db_.url());
  int stored = 0;
  for (int i = 0; i < 200; ++i) {
    pqxx::read_transaction txn(conn);
    stored = txn.exec1("SELECT count(*) FROM transaction_events")[0].as<int>();
    if (stored >= static_cast<int>(total_events)) break;
    std::this_thread::sleep_for(milliseconds(100));
  }

  pqxx::read_transaction txn(conn);
  int lost = 0;
  for (const auto& [tx, seq] : ledger.acknowledged) {
    auto n = txn.exec_params1(
                    "SELECT count(*) FROM transaction_events WHERE transaction_id = $1 AND "
                    "seq_no = $2",
                    tx, seq)[0]
                 .as<int>();
    if (n == 0) ++lost;
  }
  int duplicated = txn.exec1(
                          "SELECT count(*) FROM (SELECT transaction_id, seq_no FROM "
                          "transaction_events GROUP BY 1, 2 HAVING count(*) > 1) d")[0]
                       .as<int>();
  int wrong_energy = 0;
  for (const auto& [tx, wh] : ledger.metered_wh) {
    auto row = txn.exec_params1(
        "SELECT energy_consumed::float8, cost::float8, ended FROM charger_usage_log WHERE "
        "transaction_id = $1",
        tx);
    double kwh = row[0].as<double>();
    if (std::abs(kwh - wh / 1000.0) > 1e-6 || std::abs(row[1].as<double>() - kwh * 150) > 0.01 ||
        !row[2].as<bool>()) {
      ++wrong_energy;
      ADD_FAILURE() << tx << ": billed " << kwh << " kWh / " << row[1].as<double>() << ", metered "
                    << wh / 1000.0 << " kWh";
    }
  }
  auto totals = txn.exec1(
      "SELECT coalesce(sum(sessions), 0)::int, coalesce(sum(total_energy), 0)::float8,"
      " coalesce(sum(total_revenue), 0)::float8 FROM daily_charger_stats");
  const int sessions = kChargers * kTransactionsPerCharger;
  std::printf(
      "crash test: %d chargers, %d transactions (%zu events), %d kills, %d retries, %d "
      "reconnects; events lost %d, events double-counted %d, sessions billed wrong %d\n",
      kChargers, sessions, total_events, kills, ledger.retries.load(), ledger.reconnects.load(),
      lost, duplicated, wrong_energy);
  EXPECT_GT(ledger.retries.load(), 0) << "killing the gateway must have made chargers retry";
  EXPECT_EQ(stored, static_cast<int>(total_events));
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(duplicated, 0);
  EXPECT_EQ(wrong_energy, 0);
  EXPECT_EQ(totals[0].as<int>(), sessions) << "daily statistics count each session once";
  EXPECT_NEAR(totals[1].as<double>(), sessions * 10.0, 1e-6);
  EXPECT_NEAR(totals[2].as<double>(), sessions * 1500.0, 0.01);

  for (const auto& [name, code] : stack_->Stop()) EXPECT_EQ(code, 0) << name;
}

// While billing is down, a gateway with an outbox acknowledges TransactionEvents once they are
// fsync'd locally, and billing gets them when it returns.
TEST_F(CrashTest, OutboxAcknowledgesWhileBillingIsDownAndDeliversLater) {
  WsClient charger;
  ASSERT_TRUE(charger.Connect(stack_->ocpp_port, "/ocpp/outbox_01"));
  // The token the events carry (StandardTxEvent's Central user_123) is a known one.
  ASSERT_EQ(HttpCall(stack_->http_port, "PUT", "/tokens/Central/user_123", "{}").status / 100, 2);
  ASSERT_EQ(charger.Call("BootNotification", BootPayload())[2]["status"], "Accepted");
  ASSERT_EQ(stack_->billing().Stop(SIGKILL), 128 + SIGKILL);
  const std::string tx = "tx-outbox-1";
  json started = charger.Call("TransactionEvent",
                              StandardTxEvent("Started", tx, 0, "2026-11-24T05:00:00Z", 1000));
  ASSERT_EQ(started[0], 3) << started.dump();
  EXPECT_EQ(started[2]["idTokenInfo"]["status"], "Accepted");
  json ended = charger.Call("TransactionEvent",
                            StandardTxEvent("Ended", tx, 1, "2026-11-24T05:30:00Z", 26500));
  ASSERT_EQ(ended[0], 3) << ended.dump();
  EXPECT_FALSE(ended[2].contains("totalCost"));  // not priced yet; absent does not mean free

  ASSERT_TRUE(stack_->StartBilling()) << stack_->Logs();
  json session;
  for (int i = 0; i < 100; ++i) {
    auto r = HttpCall(stack_->http_port, "GET", "/sessions/" + tx);
    session = r.Json();
    if (r.status == 200 && session["status"] == "ended") break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_EQ(session["status"], "ended") << session.dump();
  EXPECT_DOUBLE_EQ(session["energy_consumed"].get<double>(), 25.5);
  EXPECT_EQ(session["cost"], 3825);
  for (const auto& [name, code] : stack_->Stop()) EXPECT_EQ(code, 0) << name;
}

// SIGTERM on the gateway: it stops accepting, closes every charger with 1001 (going away) so
// they reconnect elsewhere at once, and exits 0.
TEST_F(CrashTest, GatewaySigtermClosesChargersWithGoingAway) {
  WsClient charger;
  ASSERT_TRUE(charger.Connect(stack_->ocpp_port, "/ocpp/sigterm_01"));
  ASSERT_EQ(charger.Call("BootNotification", BootPayload())[2]["status"], "Accepted");
  std::thread stopper([&] { EXPECT_EQ(stack_->gateway().Stop(SIGTERM), 0); });
  EXPECT_FALSE(charger.Receive(seconds(5)));  // the server closes; no frame arrives
  stopper.join();
  ASSERT_TRUE(charger.close_code().has_value());
  EXPECT_EQ(*charger.close_code(), 1001);
  WsClient late;
  EXPECT_FALSE(late.Connect(stack_->ocpp_port, "/ocpp/sigterm_02"));
}

}  // namespace
}  // namespace csms::testing
