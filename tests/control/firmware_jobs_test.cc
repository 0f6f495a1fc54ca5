// Firmware update jobs: the state machine (pure) and the job store against a real PostgreSQL
// (one job in progress per charger, the statuses and boots the registry batch applies).
#include <gtest/gtest.h>

#include <deque>
#include <pqxx/pqxx>

#include "csms/control/firmware_job_store.h"
#include "csms/control/migrations.h"
#include "pg_test_db.h"

namespace csms::control {
namespace {

using csms::testing::TestDatabase;

struct StepCase {
  const char* name;
  FirmwareJobState before;
  const char* input;  // "answer:<status>" or a FirmwareStatusNotification status
  FirmwareJobState after;
};

FirmwareJobState Apply(const FirmwareJobState& job, std::string_view input) {
  constexpr std::string_view kAnswer = "answer:";
  if (input.substr(0, kAnswer.size()) == kAnswer) {
    return OnFirmwareAnswer(job, input.substr(kAnswer.size()));
  }
  return OnFirmwareStatus(job, input);
}

TEST(FirmwareJobState, CaseTable) {
  const FirmwareJobState requested{"Requested", "in_progress"};
  const StepCase cases[] = {
      {"accepted", requested, "answer:Accepted", {"Accepted", "in_progress"}},
      {"accepted, canceling another",
       requested,
       "answer:AcceptedCanceled",
       {"Accepted", "in_progress"}},
      {"rejected", requested, "answer:Rejected", {"Rejected", "rejected"}},
      {"invalid certificate",
       requested,
       "answer:InvalidCertificate",
       {"InvalidCertificate", "rejected"}},
      {"revoked certificate",
       requested,
       "answer:RevokedCertificate",
       {"RevokedCertificate", "rejected"}},
      {"a status before the answer stays",
       {"Downloading", "in_progress"},
       "answer:Accepted",
       {"Downloading", "in_progress"}},
      {"downloading", {"Accepted", "in_progress"}, "Downloading", {"Downloading", "in_progress"}},
      {"downloaded", {"Downloading", "in_progress"}, "Downloaded", {"Downloaded", "in_progress"}},
      {"signature verified",
       {"Downloaded", "in_progress"},
       "SignatureVerified",
       {"SignatureVerified", "in_progress"}},
      {"installing",
       {"SignatureVerified", "in_progress"},
       "Installing",
       {"Installing", "in_progress"}},
      {"rebooting",
       {"Installing", "in_progress"},
       "InstallRebooting",
       {"InstallRebooting", "in_progress"}},
      {"paused is not final",
       {"Downloading", "in_progress"},
       "DownloadPaused",
       {"DownloadPaused", "in_progress"}},
      {"installed", {"InstallRebooting", "in_progress"}, "Installed", {"Installed", "installed"}},
      {"download failed",
       {"Downloading", "in_progress"},
       "DownloadFailed",
       {"DownloadFailed", "failed"}},
      {"invalid signature",
       {"Downloaded", "in_progress"},
       "InvalidSignature",
       {"InvalidSignature", "failed"}},
      {"installation failed",
       {"Installing", "in_progress"},
       "InstallationFailed",
       {"InstallationFailed", "failed"}},
      {"verification failed",
       {"Installing", "in_progress"},
       "InstallVerificationFailed",
       {"InstallVerificationFailed", "failed"}},
      {"installed is sticky",
       {"Installed", "installed"},
       "Downloading",
       {"Installed", "installed"}},
      {"failed is sticky",
       {"InvalidSignature", "failed"},
       "Installed",
       {"InvalidSignature", "failed"}},
      {"rejected is sticky", {"Rejected", "rejected"}, "Downloading", {"Rejected", "rejected"}},
      {"a late answer does not reopen",
       {"Installed", "installed"},
       "answer:Rejected",
       {"Installed", "installed"}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Apply(c.before, c.input), c.after) << c.name;
  }
}

TEST(FirmwareJobState, TheWholeSequence) {
  FirmwareJobState job;
  for (const char* step : {"answer:Accepted", "Downloading", "Downloaded", "SignatureVerified",
                           "Installing", "InstallRebooting"}) {
    job = Apply(job, step);
    EXPECT_EQ(job.outcome, "in_progress") << step;
  }
  job = Apply(job, "Installed");
  EXPECT_EQ(job, (FirmwareJobState{"Installed", "installed"}));
}

class FirmwareJobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CSMS_REQUIRE_DATABASE(db_);
    {
      pqxx::connection conn(db_.url());
      pg::ApplyMigrations(conn, "control", ControlMigrations());
    }
    pool_ = std::make_unique<pg::Pool>(db_.url(), 2);
    store_ = std::make_unique<FirmwareJobStore>(*pool_);
  }

  NewFirmwareJob Job(const std::string& charger) {
    NewFirmwareJob j;
    j.charger_id = charger;
    j.location = "https://fw.example.com/fw-2.0.0.bin";
    j.retrieve_at = RealClock().Now();
    j.firmware_version_before = "1.0.0";
    j.requested_by = "admin-key";
    return j;
  }

  // The firmware_failed alerts the statuses raised.
  std::vector<AlertDraft> Statuses(const std::string& charger, int32_t request_id,
                                   std::initializer_list<const char*> statuses) {
    std::deque<v1::ChargerEvent> events;
    std::vector<const v1::ChargerEvent*> pointers;
    for (const char* s : statuses) {
      auto& e = events.emplace_back();
      e.set_charger_id(charger);
      e.set_kind("FirmwareStatusNotification");
      e.set_type(s);
      e.set_request_id(request_id);
      pointers.push_back(&e);
    }
    // Not every event is a firmware one.
    auto& other = events.emplace_back();
    other.set_charger_id(charger);
    other.set_kind("LogStatusNotification");
    other.set_type("Uploaded");
    other.set_request_id(request_id);
    pointers.push_back(&other);
    pqxx::connection conn(db_.url());
    pqxx::work txn(conn);
    auto alerts = FirmwareJobStore::ApplyStatuses(txn, pointers);
    txn.commit();
    return alerts;
  }

  int64_t FirmwareAlerts(const std::string& charger) {
    pqxx::connection conn(db_.url());
    pqxx::nontransaction txn(conn);
    return txn
        .exec_params1(
            "SELECT count(*) FROM alerts WHERE kind = 'firmware_failed'"
            " AND charger_id = $1",
            charger)[0]
        .as<int64_t>();
  }

  void Boot(const std::string& charger, const std::string& reason, const std::string& version,
            const std::string& status = "Accepted") {
    BootRecord boot;
    boot.charger_id = charger;
    boot.reason = reason;
    boot.firmware_version = version;
    pqxx::connection conn(db_.url());
    pqxx::work txn(conn);
    FirmwareJobStore::ApplyBoots(txn, {{&boot, status}});
    txn.commit();
  }

  v1::FirmwareJob Newest(const std::string& charger) { return store_->List(charger, 1).at(0); }

  TestDatabase db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<FirmwareJobStore> store_;
};

TEST_F(FirmwareJobStoreTest, OneJobInProgressPerCharger) {
  auto first = store_->Create(Job("fw_a"));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->state(), "Requested");
  EXPECT_EQ(first->outcome(), "in_progress");
  EXPECT_GT(first->request_id(), 0);
  EXPECT_FALSE(first->signed_());
  EXPECT_FALSE(store_->Create(Job("fw_a")).has_value()) << "a second job while one runs";
  EXPECT_TRUE(store_->Create(Job("fw_b")).has_value()) << "another charger";
  // Once it is over, the next may start.
  store_->Answered("fw_a", first->request_id(), "Rejected", "");
  auto second = store_->Create(Job("fw_a"));
  ASSERT_TRUE(second.has_value());
  EXPECT_NE(second->request_id(), first->request_id());
  auto jobs = store_->List("fw_a", 10);
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].job_id(), second->job_id()) << "newest first";
  EXPECT_EQ(jobs[1].outcome(), "rejected");
}

TEST_F(FirmwareJobStoreTest, AStaleJobNoLongerBlocks) {
  auto first = store_->Create(Job("fw_stale"));
  ASSERT_TRUE(first.has_value());
  {
    pqxx::connection conn(db_.url());
    pqxx::work txn(conn);
    txn.exec0("UPDATE firmware_updates SET updated_at = now() - interval '2 hours'");
    txn.commit();
  }
  auto second = store_->Create(Job("fw_stale"));
  ASSERT_TRUE(second.has_value());
  auto jobs = store_->List("fw_stale", 10);
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[1].outcome(), "failed");
  EXPECT_NE(jobs[1].detail().find("timed out"), std::string::npos);
}

TEST_F(FirmwareJobStoreTest, TheUpgradeFollowsStatusesAndTheBoot) {
  auto job = store_->Create(Job("fw_up"));
  ASSERT_TRUE(job.has_value());
  const int32_t id = job->request_id();
  EXPECT_EQ(store_->Answered("fw_up", id, "Accepted", "").state(), "Accepted");
  Statuses("fw_up", id, {"Downloading", "Downloaded"});
  EXPECT_EQ(Newest("fw_up").state(), "Downloaded");
  // A boot while downloading (not a FirmwareUpdate boot) does not set the version.
  Boot("fw_up", "PowerUp", "1.0.0");
  EXPECT_EQ(Newest("fw_up").firmware_version_after(), "");
  Statuses("fw_up", id, {"Installing", "InstallRebooting"});
  Boot("fw_up", "FirmwareUpdate", "2.0.0");
  EXPECT_EQ(Newest("fw_up").firmware_version_after(), "2.0.0");
  Statuses("fw_up", id, {"Installed"});
  auto done = Newest("fw_up");
  EXPECT_EQ(done.state(), "Installed");
  EXPECT_EQ(done.outcome(), "installed");
  EXPECT_EQ(done.firmware_version_before(), "1.0.0");
  EXPECT_EQ(done.firmware_version_after(), "2.0.0");
  // Sticky: a repeated or stray status changes nothing; an unknown requestId touches nothing.
  Statuses("fw_up", id, {"Downloading"});
  Statuses("fw_up", id + 1000, {"InstallationFailed"});
  EXPECT_EQ(Newest("fw_up").outcome(), "installed");
  EXPECT_EQ(Newest("fw_up").state(), "Installed");
}

TEST_F(FirmwareJobStoreTest, TheBootAfterInstalledStillSetsTheVersion) {
  auto job = store_->Create(Job("fw_late"));
  ASSERT_TRUE(job.has_value());
  Statuses("fw_late", job->request_id(), {"Downloading", "Downloaded", "Installing", "Installed"});
  EXPECT_EQ(Newest("fw_late").firmware_version_after(), "");
  Boot("fw_late", "PowerUp", "2.1.0", "Pending");  // not Accepted: not yet
  EXPECT_EQ(Newest("fw_late").firmware_version_after(), "");
  Boot("fw_late", "PowerUp", "2.1.0");
  EXPECT_EQ(Newest("fw_late").firmware_version_after(), "2.1.0");
  Boot("fw_late", "PowerUp", "9.9.9");  // only the first boot after
  EXPECT_EQ(Newest("fw_late").firmware_version_after(), "2.1.0");
}

TEST_F(FirmwareJobStoreTest, ASignatureFailureAndAFailedCall) {
  auto job = store_->Create(Job("fw_sig"));
  ASSERT_TRUE(job.has_value());
  auto alerts =
      Statuses("fw_sig", job->request_id(), {"Downloading", "Downloaded", "InvalidSignature"});
  EXPECT_EQ(Newest("fw_sig").outcome(), "failed");
  EXPECT_EQ(Newest("fw_sig").state(), "InvalidSignature");
  // One firmware_failed alert, naming the job; a repeated status raises nothing more.
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].kind, AlertKind::kFirmwareFailed);
  EXPECT_EQ(alerts[0].charger_id, "fw_sig");
  EXPECT_EQ(alerts[0].data["state"], "InvalidSignature");
  EXPECT_EQ(alerts[0].data["job_id"], job->job_id());
  EXPECT_TRUE(Statuses("fw_sig", job->request_id(), {"InvalidSignature"}).empty());

  auto lost = store_->Create(Job("fw_sig"));
  ASSERT_TRUE(lost.has_value());
  store_->CallFailed("fw_sig", lost->request_id(), "timeout");
  EXPECT_EQ(Newest("fw_sig").outcome(), "failed");
  // A CALL that failed raises its alert in its own transaction.
  EXPECT_EQ(FirmwareAlerts("fw_sig"), 1);
  EXPECT_TRUE(store_->Create(Job("fw_sig")).has_value());
}

}  // namespace
}  // namespace csms::control
