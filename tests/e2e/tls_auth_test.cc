// OCPP security profiles 2 and 3 on the gateway's TLS listener, on real processes: TLS versions
// and the suites OCPP requires, Basic auth over TLS, client certificates bound to the station,
// the BootNotification serial check (B01.FR.11) and the reload of changed server certificates.
// Every certificate is made at run time by tools/make-pki.sh under the build's test-output dir.
//
// The gateway limits failed handshakes per client address; each test connects from a loopback
// address of its own so that the refusals one test provokes never turn into 429s in another.
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "net_clients.h"
#include "ocpp_payloads.h"
#include "shared_stack_test.h"

namespace csms::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kPassword = "Tls-charger-pass:2026";
constexpr const char* kOrg = "CSMS Demo CPO";

std::map<std::string, std::string> BasicHeader(const std::string& station,
                                               const std::string& password = kPassword) {
  return {{"Authorization", Basic(station, password)}};
}

// A fresh folder for one PKI; false (with a test failure) if make-pki.sh failed.
bool FreshPki(const std::string& dir, const std::vector<std::string>& stations) {
  fs::remove_all(dir);
  std::string error;
  if (MakePki(dir, stations, {}, &error)) return true;
  ADD_FAILURE() << "tools/make-pki.sh " << dir << " failed:\n" << error;
  return false;
}

// Trusts the root CA of `pki`; with `station`, also presents that station's certificate.
TlsOptions Tls(const std::string& pki, const std::string& station = "") {
  TlsOptions tls;
  tls.ca_file = pki + "/ca.pem";
  if (!station.empty()) {
    tls.cert_file = pki + "/chargers/" + station + ".pem";
    tls.key_file = pki + "/chargers/" + station + ".key";
  }
  return tls;
}

TlsOptions Tls12(const std::string& pki, const std::string& cipher_list) {
  TlsOptions tls = Tls(pki);
  tls.min_version = tls.max_version = TLS1_2_VERSION;
  tls.cipher_list = cipher_list;
  return tls;
}

// Why a connection attempt ended as it did, for failure messages.
std::string Describe(const WsClient& c) {
  return "http " + std::to_string(c.http_status()) + (c.tls_failed() ? ", TLS failed" : "") +
         ", error '" + c.tls_error() + "', body '" + c.refusal_body() + "'";
}

// Loopback addresses handed to tests, one each (see the top of the file).
std::string NextSourceAddress() {
  static std::atomic<int> next{1};
  int n = next++;
  return "127.0." + std::to_string(20 + n / 250) + "." + std::to_string(1 + n % 250);
}

// Shared by both suites: connections over wss:// or ws:// to one stack.
template <typename Suite>
class TlsStackTest : public SharedStackTest<Suite> {
 protected:
  using Base = SharedStackTest<Suite>;

  void SetUp() override {
    Base::SetUp();
    source_ = NextSourceAddress();
  }

  static std::string PkiRoot() { return TestOutputDir() + "/tls_auth_pki"; }

  // A charger connecting to the TLS port as `station`; check is_open() for the outcome.
  std::unique_ptr<WsClient> Wss(const TlsOptions& tls, const std::string& station,
                                const std::map<std::string, std::string>& headers = {}) {
    auto client = std::make_unique<WsClient>();
    client->set_tls(tls);
    client->set_source_address(source_);
    client->Connect(Base::stack_->ocpp_tls_port, "/ocpp/" + station, "ocpp2.0.1", headers);
    return client;
  }
  // The same over the plain port.
  std::unique_ptr<WsClient> Ws(const std::string& station,
                               const std::map<std::string, std::string>& headers = {}) {
    auto client = std::make_unique<WsClient>();
    client->set_source_address(source_);
    client->Connect(Base::stack_->ocpp_port, "/ocpp/" + station, "ocpp2.0.1", headers);
    return client;
  }

  static void Provision(const std::string& id, int profile, bool with_password) {
    json body = {{"charger_id", id}, {"security_profile", profile}, {"approved", true}};
    if (with_password) body["password"] = kPassword;
    auto res = HttpCall(Base::stack_->http_port, "POST", "/chargers", body.dump());
    ASSERT_EQ(res.status, 201) << res.body;
  }

  std::string source_;
};

// ---- One gateway in --station-auth required mode, client certificates of kOrg ----------------

class TlsAuthTest : public TlsStackTest<TlsAuthTest> {
 public:
  static std::string Pki() { return PkiRoot() + "/main"; }
  // The same station names under another root and another charger CA.
  static std::string OtherPki() { return PkiRoot() + "/other"; }

  static void Configure(Stack::Options& options) {
    options.name = "tls_auth";
    FreshPki(Pki(), {"tls_p3", "tls_p3_b", "tls_boot", "tls_sim"});
    FreshPki(OtherPki(), {"tls_p3"});
    options.pki_dir = Pki();
    options.gateway_args = {"--station-auth", "required", "--ocpp-tls-client-org", kOrg};
  }
};

TEST_F(TlsAuthTest, Tls12WithEachRequiredSuiteAndTls13) {
  Provision("tls_suites", 2, true);
  struct Suite {
    const char* name;
    const char* server_key;  // the certificate the suite needs
  };
  // OCPP's four (A00.FR.318), then the ECDHE_RSA ones that RSA stations will pick.
  for (const Suite& s :
       {Suite{"ECDHE-ECDSA-AES128-GCM-SHA256", "EC"}, Suite{"ECDHE-ECDSA-AES256-GCM-SHA384", "EC"},
        Suite{"AES128-GCM-SHA256", "RSA"}, Suite{"AES256-GCM-SHA384", "RSA"},
        Suite{"ECDHE-RSA-AES128-GCM-SHA256", "RSA"}, Suite{"ECDHE-RSA-AES256-GCM-SHA384", "RSA"}}) {
    SCOPED_TRACE(s.name);
    auto c = Wss(Tls12(Pki(), s.name), "tls_suites", BasicHeader("tls_suites"));
    ASSERT_TRUE(c->is_open()) << Describe(*c);
    EXPECT_EQ(c->tls_version(), "TLSv1.2");
    EXPECT_EQ(c->tls_cipher(), s.name);
    EXPECT_EQ(c->tls_server_key_type(), s.server_key);
    EXPECT_EQ(c->Call("BootNotification", BootPayload())[2]["status"], "Accepted");
    c->Close();
  }
  for (const char* suite : {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"}) {
    SCOPED_TRACE(suite);
    TlsOptions tls = Tls(Pki());
    tls.min_version = TLS1_3_VERSION;
    tls.ciphersuites = suite;
    auto c = Wss(tls, "tls_suites", BasicHeader("tls_suites"));
    ASSERT_TRUE(c->is_open()) << Describe(*c);
    EXPECT_EQ(c->tls_version(), "TLSv1.3");
    EXPECT_EQ(c->tls_cipher(), suite);
    c->Close();
  }
  // A client that states no preference gets TLS 1.3.
  auto c = Wss(Tls(Pki()), "tls_suites", BasicHeader("tls_suites"));
  ASSERT_TRUE(c->is_open()) << Describe(*c);
  EXPECT_EQ(c->tls_version(), "TLSv1.3");
}

TEST_F(TlsAuthTest, OlderTlsAndCbcSuitesFailTheHandshake) {
  Provision("tls_old", 2, true);
  // OpenSSL 3 offers TLS 1.0/1.1 only at security level 0 (their handshakes use SHA-1).
  for (int version : {TLS1_VERSION, TLS1_1_VERSION}) {
    SCOPED_TRACE(version);
    TlsOptions tls = Tls(Pki());
    tls.min_version = tls.max_version = version;
    tls.cipher_list = "DEFAULT@SECLEVEL=0";
    auto c = Wss(tls, "tls_old", BasicHeader("tls_old"));
    EXPECT_FALSE(c->is_open());
    EXPECT_TRUE(c->tls_failed()) << Describe(*c);
    EXPECT_EQ(c->http_status(), 0);
  }
  // CBC suites are "unsuitable for legacy use"; a client offering nothing else gets nowhere.
  for (const char* suite :
       {"AES128-SHA", "AES256-SHA256", "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA256"}) {
    SCOPED_TRACE(suite);
    auto c = Wss(Tls12(Pki(), suite), "tls_old", BasicHeader("tls_old"));
    EXPECT_FALSE(c->is_open());
    EXPECT_TRUE(c->tls_failed()) << Describe(*c);
  }
}

TEST_F(TlsAuthTest, Profile2NeedsTlsAndTheRightPassword) {
  Provision("tls_p2", 2, true);
  auto ok = Wss(Tls(Pki()), "tls_p2", BasicHeader("tls_p2"));
  ASSERT_TRUE(ok->is_open()) << Describe(*ok);
  EXPECT_EQ(ok->http_status(), 101);
  EXPECT_EQ(ok->Call("BootNotification", BootPayload())[2]["status"], "Accepted");

  auto wrong = Wss(Tls(Pki()), "tls_p2", BasicHeader("tls_p2", "Wrong-password-12345"));
  EXPECT_FALSE(wrong->is_open());
  EXPECT_EQ(wrong->http_status(), 401) << Describe(*wrong);
  auto none = Wss(Tls(Pki()), "tls_p2");
  EXPECT_FALSE(none->is_open());
  EXPECT_EQ(none->http_status(), 401) << Describe(*none);
  // The right password over plain ws:// is a downgrade (A00.FR.002).
  auto plain = Ws("tls_p2", BasicHeader("tls_p2"));
  EXPECT_FALSE(plain->is_open());
  EXPECT_EQ(plain->http_status(), 403);
  // None of that disturbed the connected charger.
  EXPECT_EQ(ok->Call("Heartbeat", json::object())[0], 3);
}

TEST_F(TlsAuthTest, Profile3NeedsItsOwnCertificate) {
  Provision("tls_p3", 3, false);
  Provision("tls_p3_b", 3, false);
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    SCOPED_TRACE(version);
    TlsOptions tls = Tls(Pki(), "tls_p3");
    tls.min_version = tls.max_version = version;
    auto ok = Wss(tls, "tls_p3");
    ASSERT_TRUE(ok->is_open()) << Describe(*ok);
    EXPECT_EQ(ok->Call("BootNotification", BootPayload("tls_p3"))[2]["status"], "Accepted");
    ok->Close();
  }

  auto no_cert = Wss(Tls(Pki()), "tls_p3");
  EXPECT_FALSE(no_cert->is_open());
  EXPECT_EQ(no_cert->http_status(), 403) << Describe(*no_cert);
  // A certificate for station A cannot connect as station B.
  auto as_other = Wss(Tls(Pki(), "tls_p3"), "tls_p3_b");
  EXPECT_FALSE(as_other->is_open());
  EXPECT_EQ(as_other->http_status(), 403) << Describe(*as_other);
  // Same name, but issued by a CA the gateway does not know: TLS ends it (with TLS 1.3 the
  // client learns it only after its side of the handshake).
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    SCOPED_TRACE(version);
    TlsOptions foreign = Tls(Pki());
    foreign.cert_file = OtherPki() + "/chargers/tls_p3.pem";
    foreign.key_file = OtherPki() + "/chargers/tls_p3.key";
    foreign.min_version = foreign.max_version = version;
    auto c = Wss(foreign, "tls_p3");
    EXPECT_FALSE(c->is_open());
    EXPECT_TRUE(c->tls_failed()) << Describe(*c);
  }
  // A00.FR.407: logged under OCPP's name for it.
  EXPECT_NE(stack_->gateway().ReadLog().find("InvalidChargingStationCertificate"),
            std::string::npos);
  // Profile 3 without TLS at all.
  auto plain = Ws("tls_p3");
  EXPECT_FALSE(plain->is_open());
  EXPECT_EQ(plain->http_status(), 403);
}

TEST_F(TlsAuthTest, Profile3BootSerialNumberMustMatchTheCertificate) {
  Provision("tls_boot", 3, false);
  auto liar = Wss(Tls(Pki(), "tls_boot"), "tls_boot");
  ASSERT_TRUE(liar->is_open()) << Describe(*liar);
  json refused = liar->Call("BootNotification", BootPayload("SN-NOT-THE-CN"));
  ASSERT_EQ(refused[0], 4) << refused;
  EXPECT_EQ(refused[2], "SecurityError");
  // B01.FR.12: and the CSMS closes the WebSocket.
  EXPECT_FALSE(liar->Receive(std::chrono::seconds(5)));
  EXPECT_EQ(liar->close_code(), 1008);
  EXPECT_FALSE(liar->is_open());

  auto honest = Wss(Tls(Pki(), "tls_boot"), "tls_boot");
  ASSERT_TRUE(honest->is_open()) << Describe(*honest);
  EXPECT_EQ(honest->Call("BootNotification", BootPayload("tls_boot"))[2]["status"], "Accepted");
  json no_serial = BootPayload();
  no_serial["chargingStation"].erase("serialNumber");
  EXPECT_EQ(honest->Call("BootNotification", no_serial)[2]["status"], "Accepted");
  EXPECT_EQ(honest->Call("Heartbeat", json::object())[0], 3);
}

TEST_F(TlsAuthTest, Profile1OverTlsAndUnknownStations) {
  // TLS is not weaker than the profile: a profile 1 charger may use it.
  Provision("tls_p1", 1, true);
  auto p1 = Wss(Tls(Pki()), "tls_p1", BasicHeader("tls_p1"));
  ASSERT_TRUE(p1->is_open()) << Describe(*p1);
  EXPECT_EQ(p1->Call("BootNotification", BootPayload())[2]["status"], "Accepted");
  auto p1_wrong = Wss(Tls(Pki()), "tls_p1", BasicHeader("tls_p1", "Wrong-password-12345"));
  EXPECT_EQ(p1_wrong->http_status(), 401) << Describe(*p1_wrong);

  auto unknown = Wss(Tls(Pki()), "tls_nobody");
  EXPECT_FALSE(unknown->is_open());
  EXPECT_EQ(unknown->http_status(), 404) << Describe(*unknown);
}

TEST_F(TlsAuthTest, SimulatorConnectsWithItsClientCertificate) {
  Provision("tls_sim", 3, false);
  auto sim = stack_->StartTlsSimulator("tls_sim", "standard");
  ASSERT_TRUE(sim);
  bool available = false;
  for (int i = 0; i < 100 && !available; ++i) {
    auto res = HttpCall(stack_->http_port, "GET", "/chargers/tls_sim");
    available = res.status == 200 && res.Json().value("connected", false) &&
                res.Json().value("status", "") == "Available";
    if (!available) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(available) << sim->ReadLog() << stack_->gateway().ReadLog();
  EXPECT_EQ(sim->Stop(SIGTERM), 0);
}

// ---- One gateway in open mode whose certificates are reloaded, and another organization ------

class TlsOpenReloadTest : public TlsStackTest<TlsOpenReloadTest> {
 public:
  static std::string Pki() { return PkiRoot() + "/reload"; }
  static std::string NewPki() { return PkiRoot() + "/reload-new"; }

  static void Configure(Stack::Options& options) {
    options.name = "tls_auth_reload";
    FreshPki(Pki(), {"tls_org"});
    fs::remove_all(NewPki());
    // The same charger CA, but a certificate of the organization the gateway expects.
    std::string error;
    if (!MakePki(Pki(), {"tls_org_ok"}, {{"CSMS_PKI_ORG", "Another CPO"}}, &error)) {
      ADD_FAILURE() << error;
    }
    options.pki_dir = Pki();
    options.gateway_args = {"--station-auth",        "open",  // not the default
                            "--ocpp-tls-client-org", "Another CPO", "--ocpp-tls-reload-ms", "200"};
  }
};

TEST_F(TlsOpenReloadTest, UnknownStationIsAdmittedInOpenMode) {
  auto c = Wss(Tls(Pki()), "tls_stranger");
  ASSERT_TRUE(c->is_open()) << Describe(*c);
  EXPECT_EQ(c->Call("BootNotification", BootPayload())[2]["status"], "Accepted");
}

TEST_F(TlsOpenReloadTest, ClientCertificateOfAnotherOrganizationIsRefused) {
  Provision("tls_org", 3, false);
  Provision("tls_org_ok", 3, false);
  auto wrong_org = Wss(Tls(Pki(), "tls_org"), "tls_org");
  EXPECT_FALSE(wrong_org->is_open());
  EXPECT_EQ(wrong_org->http_status(), 403) << Describe(*wrong_org);
  auto right_org = Wss(Tls(Pki(), "tls_org_ok"), "tls_org_ok");
  ASSERT_TRUE(right_org->is_open()) << Describe(*right_org);
  EXPECT_EQ(right_org->Call("BootNotification", BootPayload("tls_org_ok"))[2]["status"],
            "Accepted");
}

// Last in its suite: it replaces the gateway's server certificates.
TEST_F(TlsOpenReloadTest, ChangedServerCertificatesApplyToNewConnections) {
  auto before = Wss(Tls(Pki()), "tls_reload_before");
  ASSERT_TRUE(before->is_open()) << Describe(*before);
  ASSERT_EQ(before->Call("BootNotification", BootPayload())[2]["status"], "Accepted");

  // Server certificates of a new root, moved in the way a renewal would (a rename each).
  ASSERT_TRUE(FreshPki(NewPki(), {}));
  for (const char* name :
       {"server-rsa.key", "server-rsa.pem", "server-ecdsa.key", "server-ecdsa.pem"}) {
    fs::copy_file(NewPki() + "/" + name, Pki() + "/" + name + ".tmp");
    fs::rename(Pki() + "/" + name + ".tmp", Pki() + "/" + name);
  }

  std::unique_ptr<WsClient> after;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    after = Wss(Tls(NewPki()), "tls_reload_after");
  } while (!after->is_open() && std::chrono::steady_clock::now() < deadline);
  ASSERT_TRUE(after->is_open()) << Describe(*after) << "\n" << stack_->gateway().ReadLog();
  EXPECT_EQ(after->Call("BootNotification", BootPayload())[2]["status"], "Accepted");
  // Both key types were replaced.
  for (const char* suite : {"ECDHE-ECDSA-AES128-GCM-SHA256", "AES128-GCM-SHA256"}) {
    SCOPED_TRACE(suite);
    auto fresh = Wss(Tls12(NewPki(), suite), "tls_reload_after");
    EXPECT_TRUE(fresh->is_open()) << Describe(*fresh);
    auto stale = Wss(Tls12(Pki(), suite), "tls_reload_after");  // trusts the old root only
    EXPECT_FALSE(stale->is_open());
    EXPECT_TRUE(stale->tls_failed()) << Describe(*stale);
  }

  auto old_root = Wss(Tls(Pki()), "tls_reload_old");
  EXPECT_FALSE(old_root->is_open());
  EXPECT_TRUE(old_root->tls_failed()) << Describe(*old_root);
  // The connection made before the change lives on.
  EXPECT_EQ(before->Call("Heartbeat", json::object())[0], 3);
}

}  // namespace
}  // namespace csms::testing
