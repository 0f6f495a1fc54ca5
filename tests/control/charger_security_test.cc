// Charger provisioning and authentication (OCPP security profiles): password hashing, the
// provisioning API, AuthenticateStation (profiles per transport, the password cache) and the boot
// decisions, against a real PostgreSQL.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <thread>

#include "csms/common/metrics.h"
#include "csms/common/pg.h"
#include "csms/control/charger_link_client.h"
#include "csms/control/control_service.h"
#include "csms/control/password_hash.h"
#include "csms/control/station_event_service.h"
#include "csms/control/stores.h"
#include "csms/control/waiter.h"
#include "csms/control/write_batcher.h"
#include "pg_test_db.h"

namespace csms::control {
namespace {

using namespace std::chrono_literals;
namespace v1 = csms::control::v1;

constexpr const char* kPassword = "s3cret-Passw0rd:for|jeju";

TEST(PasswordHashTest, VerifiesOnlyTheRightPassword) {
  std::string stored = HashPassword(kPassword, 1000);
  EXPECT_TRUE(VerifyPassword(kPassword, stored));
  EXPECT_FALSE(VerifyPassword("s3cret-Passw0rd:for|jejU", stored));
  EXPECT_FALSE(VerifyPassword("", stored));
  EXPECT_FALSE(VerifyPassword(std::string(kPassword) + "x", stored));
}

TEST(PasswordHashTest, SaltDiffersPerHashAndStoredFormHoldsNoPassword) {
  std::string a = HashPassword(kPassword, 1000), b = HashPassword(kPassword, 1000);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find(kPassword), std::string::npos);
  EXPECT_EQ(a.rfind("pbkdf2-sha256$1000$", 0), 0u) << a;
  EXPECT_TRUE(VerifyPassword(kPassword, a));
  EXPECT_TRUE(VerifyPassword(kPassword, b));
}

TEST(PasswordHashTest, DefaultIterationsAreSlowEnough) {
  EXPECT_GE(kPasswordIterations, 100000);
  EXPECT_EQ(HashPassword(kPassword).rfind("pbkdf2-sha256$100000$", 0), 0u);
}

TEST(PasswordHashTest, MalformedStoredFormsNeverVerify) {
  std::string good = HashPassword(kPassword, 1000);
  for (std::string bad :
       {std::string(), std::string("plain"), good.substr(0, good.size() - 2),
        "md5$1000$00$" + good.substr(good.rfind('$') + 1), std::string("pbkdf2-sha256$0$00$00"),
        std::string("pbkdf2-sha256$99999999999$00$00")}) {
    EXPECT_FALSE(VerifyPassword(kPassword, bad)) << bad;
  }
}

TEST(PasswordHashTest, OcppPasswordRules) {
  EXPECT_EQ(CheckPasswordRules("0123456789abcdef"), "");
  EXPECT_EQ(CheckPasswordRules(std::string(40, 'a')), "");
  EXPECT_NE(CheckPasswordRules("0123456789abcde"), "");  // 15
  EXPECT_NE(CheckPasswordRules(std::string(41, 'a')), "");
  EXPECT_NE(CheckPasswordRules("0123456789abcdef gh"), "");  // space
  EXPECT_NE(CheckPasswordRules("0123456789abcdef\xc3\xa9"), "");
}

class ChargerSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CSMS_REQUIRE_DATABASE(db_);
    {
      pqxx::connection conn(db_.url());
      pg::ApplyMigrations(conn, "control", ControlMigrations());
    }
    pool_ = std::make_unique<pg::Pool>(db_.url(), 4);
    stores_ = std::make_unique<ControlStores>(*pool_);
    batcher_ = std::make_unique<WriteBatcher>(stores_->registry, 1);
    service_ = std::make_unique<ControlServiceImpl>(*stores_, link_, waiter_, 2s);
    // The real PBKDF2 behind a counter, so tests see when the cache saves a run.
    CachedPasswordVerifier::Options cache;
    cache.verify = [this](std::string_view password, std::string_view stored) {
      ++pbkdf2_runs_;
      return VerifyPassword(password, stored);
    };
    cache.registry = &registry_;
    events_ = std::make_unique<StationEventServiceImpl>(*batcher_, link_, waiter_, 30,
                                                        &stores_->credentials, 2, std::move(cache));
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    builder.RegisterService(events_.get());
    server_ = builder.BuildAndStart();
    ASSERT_TRUE(server_);
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                       grpc::InsecureChannelCredentials());
    stub_ = v1::ControlService::NewStub(channel);
    events_stub_ = v1::StationEventService::NewStub(channel);
  }

  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + 1s);
  }

  grpc::Status Create(const std::string& id, int profile, const std::string& password,
                      bool approved, v1::ChargerSecurity* out = nullptr) {
    v1::CreateChargerRequest request;
    request.set_charger_id(id);
    request.set_security_profile(profile);
    request.set_password(password);
    request.set_approved(approved);
    v1::ChargerSecurity ignored;
    grpc::ClientContext context;
    return stub_->CreateCharger(&context, request, out ? out : &ignored);
  }

  v1::AuthenticateStationResponse Authenticate(const std::string& id,
                                               std::optional<std::string> password,
                                               bool tls = false, const std::string& cn = "") {
    v1::AuthenticateStationRequest request;
    request.set_charger_id(id);
    request.set_tls(tls);
    request.set_client_certificate_cn(cn);
    if (password) {
      request.set_has_password(true);
      request.set_password(*password);
    }
    v1::AuthenticateStationResponse response;
    grpc::ClientContext context;
    grpc::Status status = events_stub_->AuthenticateStation(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  std::string Boot(const std::string& id, bool require_provisioning) {
    v1::BootNotificationRequest request;
    request.set_charger_id(id);
    request.set_connection_id("c1");
    request.set_reason("PowerUp");
    request.set_require_provisioning(require_provisioning);
    v1::BootNotificationResponse response;
    grpc::ClientContext context;
    grpc::Status status = events_stub_->BootNotification(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.status();
  }

  grpc::Status SetPassword(const std::string& id, const std::string& password) {
    v1::UpdateChargerSecurityRequest update;
    update.set_charger_id(id);
    update.set_password(password);
    v1::ChargerSecurity out;
    grpc::ClientContext context;
    return stub_->UpdateChargerSecurity(&context, update, &out);
  }

  uint64_t Checks(const char* result) {
    return registry_.AddCounter("csms_control_station_password_checks_total", "", {"result"})
        .Labels({result})
        .Value();
  }

  metrics::Registry registry_;
  std::atomic<int> pbkdf2_runs_{0};
  testing::TestDatabase db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<ControlStores> stores_;
  std::unique_ptr<WriteBatcher> batcher_;
  ChargerLinkClient link_;
  EventWaiter waiter_;
  std::unique_ptr<ControlServiceImpl> service_;
  std::unique_ptr<StationEventServiceImpl> events_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::ControlService::Stub> stub_;
  std::unique_ptr<v1::StationEventService::Stub> events_stub_;
};

TEST_F(ChargerSecurityTest, CreateStoresOnlyASaltedHashAndNeverReturnsThePassword) {
  v1::ChargerSecurity created;
  ASSERT_TRUE(Create("cp_a", 1, kPassword, true, &created).ok());
  EXPECT_EQ(created.charger_id(), "cp_a");
  EXPECT_EQ(created.security_profile(), 1);
  EXPECT_TRUE(created.approved());
  EXPECT_TRUE(created.has_password());
  EXPECT_EQ(created.DebugString().find(kPassword), std::string::npos);
  ASSERT_TRUE(Create("cp_b", 1, kPassword, true).ok());

  pqxx::connection conn(db_.url());
  pqxx::work txn(conn);
  auto rows = txn.exec(
      "SELECT charger_id, password_hash, row_to_json(c)::text FROM charger_credentials c"
      " ORDER BY charger_id");
  ASSERT_EQ(rows.size(), 2u);
  const std::string a = rows[0][1].as<std::string>(), b = rows[1][1].as<std::string>();
  EXPECT_NE(a, b);  // same password, different salt
  for (const auto& row : rows) {
    EXPECT_EQ(row[2].as<std::string>().find(kPassword), std::string::npos);
  }
  EXPECT_TRUE(VerifyPassword(kPassword, a));
}

TEST_F(ChargerSecurityTest, ProvisioningErrors) {
  EXPECT_EQ(Create("cp_a", 1, "", true).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Create("cp_a", 1, "short", true).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Create("cp_a", 4, kPassword, true).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Create("bad/id", 0, "", true).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Create(std::string(49, 'a'), 0, "", true).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_TRUE(Create("cp_a", 1, kPassword, true).ok());
  EXPECT_EQ(Create("cp_a", 0, "", true).error_code(), grpc::StatusCode::ALREADY_EXISTS);

  v1::UpdateChargerSecurityRequest update;
  update.set_charger_id("cp_missing");
  update.set_approved(true);
  v1::ChargerSecurity out;
  {
    grpc::ClientContext context;
    EXPECT_EQ(stub_->UpdateChargerSecurity(&context, update, &out).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  v1::DeleteChargerRequest del;
  del.set_charger_id("cp_missing");
  v1::DeleteChargerResponse deleted;
  {
    grpc::ClientContext context;
    EXPECT_EQ(stub_->DeleteCharger(&context, del, &deleted).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  del.set_charger_id("cp_a");
  {
    grpc::ClientContext context;
    EXPECT_TRUE(stub_->DeleteCharger(&context, del, &deleted).ok());
  }
  EXPECT_FALSE(stores_->credentials.Find("cp_a"));
}

TEST_F(ChargerSecurityTest, AuthenticateChecksProfileAndPassword) {
  ASSERT_TRUE(Create("cp_basic", 1, kPassword, true).ok());
  ASSERT_TRUE(Create("cp_open", 0, "", true).ok());

  auto unknown = Authenticate("cp_unknown", std::nullopt);
  EXPECT_FALSE(unknown.provisioned());

  auto right = Authenticate("cp_basic", std::string(kPassword));
  EXPECT_TRUE(right.provisioned());
  EXPECT_EQ(right.security_profile(), 1);
  EXPECT_TRUE(right.allowed());

  auto wrong = Authenticate("cp_basic", std::string("wrong-password-123"));
  EXPECT_FALSE(wrong.allowed());
  EXPECT_EQ(wrong.reason().find("wrong-password"), std::string::npos);

  // No downgrade: a profile 1 charger without credentials is refused.
  auto none = Authenticate("cp_basic", std::nullopt);
  EXPECT_TRUE(none.provisioned());
  EXPECT_FALSE(none.allowed());

  EXPECT_TRUE(Authenticate("cp_open", std::nullopt).allowed());

  // A new password replaces the old one at once (OCPP A01.FR.03).
  v1::UpdateChargerSecurityRequest update;
  update.set_charger_id("cp_basic");
  update.set_password("another-password-0123");
  v1::ChargerSecurity out;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->UpdateChargerSecurity(&context, update, &out).ok());
  EXPECT_FALSE(Authenticate("cp_basic", std::string(kPassword)).allowed());
  EXPECT_TRUE(Authenticate("cp_basic", std::string("another-password-0123")).allowed());
}

// OCPP A01: after a rotation both passwords work until the grace period ends; a refused
// rotation is undone; an explicit new password (PUT) ends the grace period at once.
TEST_F(ChargerSecurityTest, RotatedPasswordKeepsTheOldOneForTheGracePeriod) {
  constexpr const char* kNew = "rotated-password-0123";
  ASSERT_TRUE(Create("cp_rot", 1, kPassword, true).ok());
  ASSERT_TRUE(Create("cp_rot_open", 0, "", true).ok());
  EXPECT_FALSE(stores_->credentials.RotatePassword("cp_rot_open", HashPassword(kNew), 60s))
      << "profile 0 has no password to rotate";

  const std::string new_hash = HashPassword(kNew);
  ASSERT_TRUE(stores_->credentials.RotatePassword("cp_rot", new_hash, 60s));
  EXPECT_TRUE(Authenticate("cp_rot", std::string(kPassword)).allowed());
  EXPECT_TRUE(Authenticate("cp_rot", std::string(kNew)).allowed());
  EXPECT_FALSE(Authenticate("cp_rot", std::string("some-other-password-9")).allowed());

  stores_->credentials.RevertPassword("cp_rot", new_hash);  // the charger said Rejected
  EXPECT_TRUE(Authenticate("cp_rot", std::string(kPassword)).allowed());
  EXPECT_FALSE(Authenticate("cp_rot", std::string(kNew)).allowed());

  ASSERT_TRUE(stores_->credentials.RotatePassword("cp_rot", HashPassword(kNew), 1s));
  std::this_thread::sleep_for(1100ms);
  EXPECT_FALSE(Authenticate("cp_rot", std::string(kPassword)).allowed()) << "grace period over";
  EXPECT_TRUE(Authenticate("cp_rot", std::string(kNew)).allowed());

  ASSERT_TRUE(stores_->credentials.RotatePassword("cp_rot", HashPassword(kPassword), 60s));
  ASSERT_TRUE(SetPassword("cp_rot", "operator-set-password-1").ok());
  EXPECT_FALSE(Authenticate("cp_rot", std::string(kPassword)).allowed());
  EXPECT_FALSE(Authenticate("cp_rot", std::string(kNew)).allowed());
  EXPECT_TRUE(Authenticate("cp_rot", std::string("operator-set-password-1")).allowed());
}

// Operators see each charger's profile (the dashboard shows it): unset when not provisioned.
TEST_F(ChargerSecurityTest, ChargerViewCarriesItsSecurityProfile) {
  ASSERT_TRUE(Create("cp_view_tls", 2, kPassword, true).ok());
  Boot("cp_view_tls", false);
  Boot("cp_view_unprovisioned", false);
  v1::ListChargersResponse list;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->ListChargers(&context, v1::ListChargersRequest(), &list).ok());
  int seen = 0;
  for (const auto& charger : list.chargers()) {
    if (charger.charger_id() == "cp_view_tls") {
      ++seen;
      ASSERT_TRUE(charger.has_security_profile());
      EXPECT_EQ(charger.security_profile(), 2);
    } else if (charger.charger_id() == "cp_view_unprovisioned") {
      ++seen;
      EXPECT_FALSE(charger.has_security_profile());
    }
  }
  EXPECT_EQ(seen, 2);
}

TEST_F(ChargerSecurityTest, RotationNeedsAConnectedPasswordCharger) {
  ASSERT_TRUE(Create("cp_rot_off", 1, kPassword, true).ok());
  ASSERT_TRUE(Create("cp_rot_cert", 3, "", true).ok());
  for (const auto& [id, code] : std::vector<std::pair<std::string, grpc::StatusCode>>{
           {"cp_rot_off", grpc::StatusCode::NOT_FOUND},  // provisioned, never connected
           {"cp_rot_cert", grpc::StatusCode::FAILED_PRECONDITION},
           {"cp_rot_none", grpc::StatusCode::NOT_FOUND}}) {
    v1::RotateChargerPasswordRequest request;
    request.set_charger_id(id);
    v1::RotateChargerPasswordResponse response;
    grpc::ClientContext context;
    EXPECT_EQ(stub_->RotateChargerPassword(&context, request, &response).error_code(), code) << id;
  }
  EXPECT_TRUE(Authenticate("cp_rot_off", std::string(kPassword)).allowed()) << "nothing changed";
}

TEST_F(ChargerSecurityTest, AuthenticateEnforcesEachProfileOnEachPort) {
  constexpr const char* kOther = "another-password-0123";
  ASSERT_TRUE(Create("cp_p0", 0, "", true).ok());
  ASSERT_TRUE(Create("cp_p1", 1, kPassword, true).ok());
  ASSERT_TRUE(Create("cp_p2", 2, kPassword, true).ok());
  ASSERT_TRUE(Create("cp_p3", 3, "", true).ok());

  EXPECT_TRUE(Authenticate("cp_p0", std::nullopt, false).allowed());
  EXPECT_TRUE(Authenticate("cp_p0", std::nullopt, true).allowed());

  // Profile 1: the TLS port is not weaker.
  EXPECT_TRUE(Authenticate("cp_p1", std::string(kPassword), false).allowed());
  EXPECT_TRUE(Authenticate("cp_p1", std::string(kPassword), true).allowed());
  EXPECT_FALSE(Authenticate("cp_p1", std::string(kOther), true).allowed());

  // Profile 2: never on the plain port, not even with the right password.
  auto plain = Authenticate("cp_p2", std::string(kPassword), false);
  EXPECT_TRUE(plain.provisioned());
  EXPECT_EQ(plain.security_profile(), 2);
  EXPECT_FALSE(plain.allowed());
  EXPECT_NE(plain.reason().find("requires TLS"), std::string::npos) << plain.reason();
  EXPECT_EQ(plain.reason().find(kPassword), std::string::npos);
  EXPECT_TRUE(Authenticate("cp_p2", std::string(kPassword), true).allowed());
  auto wrong = Authenticate("cp_p2", std::string(kOther), true);
  EXPECT_FALSE(wrong.allowed());
  EXPECT_EQ(wrong.reason().find(kOther), std::string::npos);
  EXPECT_FALSE(Authenticate("cp_p2", std::nullopt, true).allowed());

  // Profile 3: TLS and a certificate bound to this station.
  auto p3_plain = Authenticate("cp_p3", std::nullopt, false, "cp_p3");
  EXPECT_EQ(p3_plain.security_profile(), 3);
  EXPECT_FALSE(p3_plain.allowed());
  EXPECT_NE(p3_plain.reason().find("requires TLS"), std::string::npos) << p3_plain.reason();
  auto no_cert = Authenticate("cp_p3", std::string(kPassword), true);
  EXPECT_FALSE(no_cert.allowed());
  EXPECT_EQ(no_cert.reason(), "security profile 3 requires a client certificate");
  auto foreign = Authenticate("cp_p3", std::nullopt, true, "cp_p2");
  EXPECT_FALSE(foreign.allowed());
  EXPECT_NE(foreign.reason().find("'cp_p2'"), std::string::npos) << foreign.reason();
  EXPECT_TRUE(Authenticate("cp_p3", std::nullopt, true, "cp_p3").allowed());
  EXPECT_TRUE(Authenticate("cp_p3", std::string(kOther), true, "cp_p3").allowed());

  // A CN that is not valid for the logs still yields a response the gateway can parse.
  auto odd = Authenticate("cp_p3", std::nullopt, true, "cp_p3\n\xc3\xa9" + std::string(300, 'z'));
  EXPECT_FALSE(odd.allowed());
  EXPECT_LT(odd.reason().size(), 160u);
}

TEST_F(ChargerSecurityTest, AuthenticateCachesVerifiedPasswords) {
  constexpr const char* kNew = "another-password-0123";
  ASSERT_TRUE(Create("cp_basic", 1, kPassword, true).ok());

  EXPECT_TRUE(Authenticate("cp_basic", std::string(kPassword)).allowed());
  EXPECT_EQ(pbkdf2_runs_, 1);
  // A reconnect storm: no PBKDF2 for the same right password.
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(Authenticate("cp_basic", std::string(kPassword)).allowed());
  EXPECT_EQ(pbkdf2_runs_, 1);
  EXPECT_EQ(Checks("cache_hit"), 3u);
  EXPECT_EQ(Checks("verified"), 1u);

  // A wrong password is refused although the right one is cached (and costs a real check).
  EXPECT_FALSE(Authenticate("cp_basic", std::string(kNew)).allowed());
  EXPECT_EQ(pbkdf2_runs_, 2);
  EXPECT_EQ(Checks("refused"), 1u);

  // A password change makes the cached one useless at once (A01.FR.03).
  ASSERT_TRUE(SetPassword("cp_basic", kNew).ok());
  EXPECT_FALSE(Authenticate("cp_basic", std::string(kPassword)).allowed());
  EXPECT_TRUE(Authenticate("cp_basic", std::string(kNew)).allowed());
  EXPECT_TRUE(Authenticate("cp_basic", std::string(kNew)).allowed());
  EXPECT_EQ(pbkdf2_runs_, 4);
  EXPECT_EQ(Checks("cache_hit"), 4u);

  // A move to profile 2 is enforced although the password is cached.
  v1::UpdateChargerSecurityRequest update;
  update.set_charger_id("cp_basic");
  update.set_security_profile(2);
  v1::ChargerSecurity out;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->UpdateChargerSecurity(&context, update, &out).ok());
  EXPECT_FALSE(Authenticate("cp_basic", std::string(kNew), false).allowed());
  EXPECT_TRUE(Authenticate("cp_basic", std::string(kNew), true).allowed());
  EXPECT_EQ(pbkdf2_runs_, 4);
}

TEST_F(ChargerSecurityTest, BootFollowsApprovalAndPolicy) {
  EXPECT_EQ(Boot("cp_unknown", false), "Accepted");  // open registry: as before
  EXPECT_EQ(Boot("cp_unknown2", true), "Rejected");
  ASSERT_TRUE(Create("cp_new", 1, kPassword, false).ok());
  EXPECT_EQ(Boot("cp_new", true), "Pending");
  EXPECT_EQ(Boot("cp_new", false), "Pending");

  v1::UpdateChargerSecurityRequest update;
  update.set_charger_id("cp_new");
  update.set_approved(true);
  v1::ChargerSecurity out;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->UpdateChargerSecurity(&context, update, &out).ok());
  EXPECT_TRUE(out.approved());
  EXPECT_EQ(Boot("cp_new", true), "Accepted");
  EXPECT_EQ(stores_->registry.FindCharger("cp_new")->registration_status, "Accepted");
}

}  // namespace
}  // namespace csms::control

namespace csms::control {
namespace {

std::vector<v1::ChargerEvent> EventsOf(v1::ControlService::Stub& stub, const std::string& id) {
  v1::ListChargerEventsRequest request;
  request.set_charger_id(id);
  v1::ListChargerEventsResponse response;
  grpc::ClientContext context;
  EXPECT_TRUE(stub.ListChargerEvents(&context, request, &response).ok());
  return {response.events().begin(), response.events().end()};
}

// A provisioned charger's refused login is a security event in its log, with where it came from
// and why, never the password tried; an accepted one is not.
TEST_F(ChargerSecurityTest, ARefusedLoginIsInTheChargersEventLog) {
  ASSERT_TRUE(Create("cp_watch", 1, std::string(kPassword), true).ok());
  Boot("cp_watch", false);
  v1::AuthenticateStationRequest request;
  request.set_charger_id("cp_watch");
  request.set_has_password(true);
  request.set_password("guess-number-one-123");
  request.set_client_address("203.0.113.5:40000");
  v1::AuthenticateStationResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(events_stub_->AuthenticateStation(&context, request, &response).ok());
  ASSERT_FALSE(response.allowed());
  EXPECT_TRUE(Authenticate("cp_watch", std::string(kPassword)).allowed());

  std::vector<v1::ChargerEvent> events;
  for (int i = 0; i < 100 && events.empty(); ++i) {  // recorded after the answer, best effort
    std::this_thread::sleep_for(20ms);
    events = EventsOf(*stub_, "cp_watch");
  }
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind(), "CsmsSecurityEvent");
  EXPECT_EQ(events[0].type(), "AuthenticationFailed");
  EXPECT_EQ(events[0].client_address(), "203.0.113.5:40000");
  const auto payload = nlohmann::json::parse(events[0].payload_json());
  EXPECT_EQ(payload["security_profile"], 1);
  EXPECT_FALSE(payload["reason"].get<std::string>().empty());
  EXPECT_EQ(events[0].payload_json().find("guess-number-one"), std::string::npos);
}

TEST_F(ChargerSecurityTest, RecordChargerEventsStoresBeforeItAnswers) {
  Boot("cp_ev", false);
  v1::RecordChargerEventsRequest request;
  for (const char* status : {"Downloading", "Downloaded"}) {
    auto* e = request.add_events();
    e->set_charger_id("cp_ev");
    e->set_kind("FirmwareStatusNotification");
    e->set_type(status);
    e->set_request_id(5);
    e->set_payload_json(nlohmann::json{{"status", status}, {"requestId", 5}}.dump());
  }
  v1::ReportResponse ignored;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(events_stub_->RecordChargerEvents(&context, request, &ignored).ok());
  }
  auto events = EventsOf(*stub_, "cp_ev");  // no waiting: OK means stored
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type(), "Downloaded");
  EXPECT_TRUE(events[0].has_received_at()) << "stamped by control when the gateway did not";

  request.mutable_events(0)->set_kind("");
  grpc::ClientContext bad_context;
  EXPECT_EQ(events_stub_->RecordChargerEvents(&bad_context, request, &ignored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  v1::ListChargerEventsRequest list;
  list.set_charger_id("cp_nobody");
  v1::ListChargerEventsResponse out;
  grpc::ClientContext list_context;
  grpc::Status status = stub_->ListChargerEvents(&list_context, list, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(nlohmann::json::parse(status.error_details())["error"], "unknown_charger");
}

}  // namespace
}  // namespace csms::control
