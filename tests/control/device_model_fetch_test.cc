// Fetching device models after boots (B07) against a real PostgreSQL: which boots queue a fetch,
// the cap counted across replicas, expired leases, retries and giving up. The chargers have no
// gateway, so every GetBaseReport fails at once (offline): what is tested is the queue.
#include <gtest/gtest.h>

#include <pqxx/pqxx>
#include <thread>

#include "csms/control/decisions.h"
#include "csms/control/device_model_fetcher.h"
#include "csms/control/migrations.h"
#include "csms/control/registry_store.h"
#include "pg_test_db.h"

namespace csms::control {
namespace {

using csms::testing::TestDatabase;
using namespace std::chrono_literals;

struct ReasonCase {
  const char* name;
  bool booted_before;
  BootFacts before, now;
  const char* status;
  bool complete;
  const char* reason;
};

TEST(DeviceModelFetchReason, OnlyAcceptedBootsThatChangedSomething) {
  const BootFacts v1{"ABB", "Terra 53", "SN1", "1.0"};
  const ReasonCase cases[] = {
      {"a new charger", false, {}, v1, "Accepted", false, "new"},
      {"pending: not yet", false, {}, v1, "Pending", false, ""},
      {"rejected", true, v1, v1, "Rejected", true, ""},
      {"a plain reboot", true, v1, v1, "Accepted", true, ""},
      {"new firmware",
       true,
       v1,
       {"ABB", "Terra 53", "SN1", "1.1"},
       "Accepted",
       true,
       "firmware_changed"},
      {"another serial (a swapped board)",
       true,
       v1,
       {"ABB", "Terra 53", "SN2", "1.0"},
       "Accepted",
       true,
       "hardware_changed"},
      {"never a complete model", true, v1, v1, "Accepted", false, "never_completed"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(DeviceModelFetchReason(c.booted_before, c.before, c.now, c.status, c.complete),
              c.reason)
        << c.name;
  }
}

class DeviceModelFetchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CSMS_REQUIRE_DATABASE(db_);
    {
      pqxx::connection conn(db_.url());
      pg::ApplyMigrations(conn, "control", ControlMigrations());
    }
    pool_ = std::make_unique<pg::Pool>(db_.url(), 4);
    registry_ = std::make_unique<RegistryStore>(*pool_);
    registry_->set_device_model_fetch(true, 0ms);
    sender_ = std::make_unique<CommandSender>(link_, nullptr, ocpp::SchemaSet::Ocpp201());
  }

  DeviceModelFetcher::Options Cap(int n) {
    DeviceModelFetcher::Options o;
    o.concurrency = n;
    o.background = false;
    return o;
  }

  // Connected (with no gateway to reach it) and booted.
  void Boot(const std::string& id, const std::string& firmware = "1.0") {
    registry_->MarkConnected(id, "c-" + id, "", RealClock().Now());
    registry_->RecordBoot({id, "c-" + id, "PowerUp", "ABB", "Terra 53", "SN-" + id, firmware},
                          "Accepted");
  }

  pqxx::result Query(const std::string& sql) {
    pqxx::connection conn(db_.url());
    pqxx::work txn(conn);
    auto r = txn.exec(sql);
    txn.commit();
    return r;
  }
  int Count(const std::string& where) {
    return Query("SELECT count(*) FROM device_model_fetches WHERE " + where)[0][0].as<int>();
  }
  // The sends fail on a gRPC thread: wait until none is running but those expected.
  bool Settles(int running) {
    for (int i = 0; i < 200; ++i) {
      if (Count("state = 'running'") == running) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  TestDatabase db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<RegistryStore> registry_;
  ChargerLinkClient link_;
  std::unique_ptr<CommandSender> sender_;
};

TEST_F(DeviceModelFetchTest, BootsQueueFetchesInTheirOwnTransaction) {
  Boot("cp1");
  auto row = Query("SELECT reason, state FROM device_model_fetches WHERE charger_id = 'cp1'");
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(row[0][0].as<std::string>(), "new");
  EXPECT_EQ(row[0][1].as<std::string>(), "queued");
  Query("UPDATE device_model_fetches SET state = 'done'");
  Query(
      "INSERT INTO device_model_reports (charger_id, request_id, scope, status)"
      " VALUES ('cp1', 1, 'FullInventory', 'Complete')");
  Boot("cp1");  // a plain reboot
  EXPECT_EQ(Count("state = 'done'"), 1);
  Boot("cp1", "2.0");
  EXPECT_EQ(Count("state = 'queued' AND reason = 'firmware_changed'"), 1);
}

TEST_F(DeviceModelFetchTest, TheCapCountsEveryReplicasRunningFetches) {
  for (int i = 0; i < 8; ++i) Boot("cp" + std::to_string(i));
  // Three fetches another replica runs now.
  Query(
      "UPDATE device_model_fetches SET state = 'running', lease_until = now() + interval '1 hour'"
      " WHERE charger_id IN ('cp5', 'cp6', 'cp7')");
  DeviceModelFetcher a(*pool_, *registry_, *sender_, Cap(5));
  DeviceModelFetcher b(*pool_, *registry_, *sender_, Cap(5));
  EXPECT_EQ(a.RunOnce(), 2) << "5 minus the 3 running";
  ASSERT_TRUE(Settles(3));  // the two failed (offline): queued again, later
  EXPECT_EQ(Count("state = 'queued' AND due_at > now() AND attempts = 1"), 2);
  EXPECT_EQ(b.RunOnce(), 2) << "the other replica: the next due ones, within the same cap";
  ASSERT_TRUE(Settles(3));
  // The other replica died: its leases expire and the fetches are due again.
  Query(
      "UPDATE device_model_fetches SET lease_until = now() - interval '1 second'"
      " WHERE state = 'running'");
  EXPECT_EQ(a.RunOnce(), 4) << "cp4 and the three that lost their replica";
  ASSERT_TRUE(Settles(0));
  EXPECT_EQ(Count("state = 'queued'"), 8);
}

TEST_F(DeviceModelFetchTest, GivesUpAfterTheLastAttemptUntilTheNextBoot) {
  Boot("cp1");
  Query("UPDATE device_model_fetches SET attempts = 2");  // two failed already
  DeviceModelFetcher f(*pool_, *registry_, *sender_, Cap(5));
  EXPECT_EQ(f.RunOnce(), 1);
  ASSERT_TRUE(Settles(0));
  auto row = Query("SELECT state, attempts, last_outcome FROM device_model_fetches");
  EXPECT_EQ(row[0][0].as<std::string>(), "failed");
  EXPECT_EQ(row[0][1].as<int>(), 3);
  EXPECT_EQ(row[0][2].as<std::string>(), "offline");
  EXPECT_EQ(f.RunOnce(), 0);
  Boot("cp1", "2.0");
  EXPECT_EQ(Count("state = 'queued' AND attempts = 0"), 1);
}

}  // namespace
}  // namespace csms::control
