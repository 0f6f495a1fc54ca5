// The station authentication decision per security profile and transport (OCPP 2.0.1 A00,
// no downgrade), and the cache of verified passwords. No database.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "csms/common/metrics.h"
#include "csms/control/decisions.h"
#include "csms/control/password_hash.h"
#include "csms/control/stores.h"

namespace csms::control {
namespace {

namespace v1 = csms::control::v1;
using namespace std::chrono_literals;

constexpr const char* kRight = "right-Passw0rd:0123";
constexpr const char* kWrong = "wrong-Passw0rd:0123";

// A password check that knows only kRight and counts its calls.
struct FakeCheck {
  int calls = 0;
  PasswordCheck Fn() {
    return [this](std::string_view password, std::string_view stored) {
      ++calls;
      return !stored.empty() && password == kRight;
    };
  }
};

ChargerCredentials Provisioned(int profile, std::string id = "cp_1") {
  return {std::move(id), profile, profile == 1 || profile == 2 ? "stored-hash" : "", true};
}

v1::AuthenticateStationRequest Request(bool tls, std::optional<std::string> password,
                                       std::string cn = "", std::string id = "cp_1") {
  v1::AuthenticateStationRequest r;
  r.set_charger_id(std::move(id));
  r.set_tls(tls);
  if (password) {
    r.set_has_password(true);
    r.set_password(*password);
  }
  r.set_client_certificate_cn(std::move(cn));
  return r;
}

TEST(DecideStationAuth, UnknownChargerIsLeftToTheGatewayPolicy) {
  FakeCheck check;
  for (bool tls : {false, true}) {
    auto d = DecideStationAuth(nullptr, Request(tls, kRight, "cp_1"), check.Fn());
    EXPECT_FALSE(d.provisioned);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.security_profile, 0);
  }
  EXPECT_EQ(check.calls, 0);
}

TEST(DecideStationAuth, ProfileZeroIsAllowedOnEitherPortWithOrWithoutBasic) {
  FakeCheck check;
  auto creds = Provisioned(0);
  for (bool tls : {false, true}) {
    for (auto password : {std::optional<std::string>(), std::optional<std::string>(kWrong)}) {
      auto d = DecideStationAuth(&creds, Request(tls, password), check.Fn());
      EXPECT_TRUE(d.provisioned);
      EXPECT_EQ(d.security_profile, 0);
      EXPECT_TRUE(d.allowed) << "tls=" << tls;
    }
  }
  EXPECT_EQ(check.calls, 0);
}

TEST(DecideStationAuth, ProfileOneNeedsTheRightPasswordOnEitherPort) {
  FakeCheck check;
  auto creds = Provisioned(1);
  for (bool tls : {false, true}) {
    auto right = DecideStationAuth(&creds, Request(tls, kRight), check.Fn());
    EXPECT_TRUE(right.provisioned);
    EXPECT_EQ(right.security_profile, 1);
    EXPECT_TRUE(right.allowed) << "tls=" << tls;
    EXPECT_EQ(right.reason, "");

    auto wrong = DecideStationAuth(&creds, Request(tls, kWrong), check.Fn());
    EXPECT_FALSE(wrong.allowed);
    EXPECT_EQ(wrong.reason, "wrong password");

    // No downgrade: leaving the credentials out is no way around profile 1.
    auto none = DecideStationAuth(&creds, Request(tls, std::nullopt), check.Fn());
    EXPECT_FALSE(none.allowed);
    EXPECT_EQ(none.reason, "security profile 1 requires HTTP Basic authentication");

    // A client certificate does not stand in for the password of a Basic profile.
    auto cert = DecideStationAuth(&creds, Request(tls, std::nullopt, "cp_1"), check.Fn());
    EXPECT_FALSE(cert.allowed);
  }
  EXPECT_EQ(check.calls, 4);
}

TEST(DecideStationAuth, ProfileTwoIsRefusedOnThePlainPortEvenWithTheRightPassword) {
  FakeCheck check;
  auto creds = Provisioned(2);
  auto plain = DecideStationAuth(&creds, Request(false, kRight), check.Fn());
  EXPECT_TRUE(plain.provisioned);
  EXPECT_EQ(plain.security_profile, 2);
  EXPECT_FALSE(plain.allowed);
  EXPECT_EQ(plain.reason,
            "security profile 2 requires TLS (wss://); refused on the unencrypted port");
  // Refused before the password is looked at: a plain-port attempt costs no PBKDF2.
  EXPECT_EQ(check.calls, 0);
}

TEST(DecideStationAuth, ProfileTwoOverTlsNeedsTheRightPassword) {
  FakeCheck check;
  auto creds = Provisioned(2);
  EXPECT_TRUE(DecideStationAuth(&creds, Request(true, kRight), check.Fn()).allowed);
  auto wrong = DecideStationAuth(&creds, Request(true, kWrong), check.Fn());
  EXPECT_FALSE(wrong.allowed);
  EXPECT_EQ(wrong.reason.find(kWrong), std::string::npos);
  auto none = DecideStationAuth(&creds, Request(true, std::nullopt), check.Fn());
  EXPECT_FALSE(none.allowed);
  EXPECT_EQ(none.reason, "security profile 2 requires HTTP Basic authentication");
  // A certificate of its own is not profile 2 (A00.FR.002): Basic is still required.
  EXPECT_FALSE(DecideStationAuth(&creds, Request(true, std::nullopt, "cp_1"), check.Fn()).allowed);
  EXPECT_EQ(check.calls, 2);
}

TEST(DecideStationAuth, BasicProfileWithoutAStoredHashIsRefusedWithoutHashing) {
  FakeCheck check;
  for (int profile : {1, 2}) {
    ChargerCredentials creds{"cp_1", profile, "", true};
    auto d = DecideStationAuth(&creds, Request(true, kRight), check.Fn());
    EXPECT_FALSE(d.allowed);
    EXPECT_NE(d.reason, "");
  }
  EXPECT_EQ(check.calls, 0);
}

TEST(DecideStationAuth, ProfileThreeIsRefusedOnThePlainPort) {
  FakeCheck check;
  auto creds = Provisioned(3);
  // Even with a CN (the gateway never sends one on plain, but a CN alone proves nothing).
  for (std::string cn : {"", "cp_1"}) {
    auto d = DecideStationAuth(&creds, Request(false, kRight, cn), check.Fn());
    EXPECT_TRUE(d.provisioned);
    EXPECT_EQ(d.security_profile, 3);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.reason.rfind("security profile 3 requires TLS (wss://)", 0), 0u) << d.reason;
  }
  EXPECT_EQ(check.calls, 0);
}

TEST(DecideStationAuth, ProfileThreeNeedsAClientCertificate) {
  FakeCheck check;
  auto creds = Provisioned(3);
  // The right Basic password is no substitute for the certificate.
  for (auto password : {std::optional<std::string>(), std::optional<std::string>(kRight)}) {
    auto d = DecideStationAuth(&creds, Request(true, password), check.Fn());
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.reason, "security profile 3 requires a client certificate");
  }
  EXPECT_EQ(check.calls, 0);
}

TEST(DecideStationAuth, ProfileThreeRefusesAnotherStationsCertificate) {
  FakeCheck check;
  auto creds = Provisioned(3);
  auto other = DecideStationAuth(&creds, Request(true, std::nullopt, "cp_2"), check.Fn());
  EXPECT_FALSE(other.allowed);
  EXPECT_EQ(other.reason, "client certificate CN 'cp_2' is not this station's identity");
  // Exact match: identities differing in case or by a prefix are different stations.
  EXPECT_FALSE(DecideStationAuth(&creds, Request(true, std::nullopt, "CP_1"), check.Fn()).allowed);
  EXPECT_FALSE(DecideStationAuth(&creds, Request(true, std::nullopt, "cp_1x"), check.Fn()).allowed);
  EXPECT_FALSE(DecideStationAuth(&creds, Request(true, std::nullopt, "cp_"), check.Fn()).allowed);
}

TEST(DecideStationAuth, ProfileThreeWithItsOwnCertificateIsAllowedAndBasicIsIgnored) {
  FakeCheck check;
  auto creds = Provisioned(3);
  for (auto password : {std::optional<std::string>(), std::optional<std::string>(kWrong)}) {
    auto d = DecideStationAuth(&creds, Request(true, password, "cp_1"), check.Fn());
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.reason, "");
  }
  EXPECT_EQ(check.calls, 0);
}

TEST(DecideStationAuth, CertificateCnInTheReasonIsEscapedAndBounded) {
  FakeCheck check;
  auto creds = Provisioned(3);
  std::string cn = "evil'\n\x1b[31m\xc3\xa9\\";
  cn += std::string(500, 'a');
  auto d = DecideStationAuth(&creds, Request(true, std::nullopt, cn), check.Fn());
  EXPECT_FALSE(d.allowed);
  EXPECT_LT(d.reason.size(), 160u) << d.reason;
  EXPECT_EQ(d.reason.rfind("client certificate CN 'evil\\x27\\x0a\\x1b[31m\\xc3\\xa9\\x5caaa", 0),
            0u)
      << d.reason;
  EXPECT_NE(d.reason.find("...' is not this station's identity"), std::string::npos) << d.reason;
  // Printable ASCII only, so the reason is always valid UTF-8 for the proto string field.
  for (unsigned char c : d.reason) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << d.reason;
}

TEST(DecideStationAuth, UnknownProfileIsRefused) {
  FakeCheck check;
  ChargerCredentials creds{"cp_1", 7, "stored-hash", true};
  auto d = DecideStationAuth(&creds, Request(true, kRight, "cp_1"), check.Fn());
  EXPECT_TRUE(d.provisioned);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(check.calls, 0);
}

// The cache of verified passwords, with a real PBKDF2 hash (few iterations) behind a counted
// check, a fake clock and a registry of its own.
class PasswordCacheTest : public ::testing::Test {
 protected:
  CachedPasswordVerifier::Options Opts(size_t max_entries = 100) {
    CachedPasswordVerifier::Options o;
    o.ttl = 10min;
    o.max_entries = max_entries;
    o.verify = [this](std::string_view password, std::string_view stored) {
      ++slow_checks_;
      return VerifyPassword(password, stored);
    };
    o.now = [this] { return now_; };
    o.registry = &registry_;
    return o;
  }
  uint64_t Count(const char* result) {
    return registry_.AddCounter("csms_control_station_password_checks_total", "", {"result"})
        .Labels({result})
        .Value();
  }

  using R = CachedPasswordVerifier::Result;
  metrics::Registry registry_;
  std::atomic<int> slow_checks_{0};
  CachedPasswordVerifier::Clock::time_point now_{};
  std::string stored_ = HashPassword(kRight, 1000);
};

TEST_F(PasswordCacheTest, SecondCheckOfTheRightPasswordSkipsPbkdf2) {
  CachedPasswordVerifier cache(Opts());
  EXPECT_EQ(cache.Check("cp_1", kRight, stored_), R::kVerified);
  EXPECT_EQ(slow_checks_, 1);
  EXPECT_EQ(cache.Check("cp_1", kRight, stored_), R::kCacheHit);
  EXPECT_EQ(cache.Check("cp_1", kRight, stored_), R::kCacheHit);
  EXPECT_EQ(slow_checks_, 1);
  EXPECT_EQ(Count("verified"), 1u);
  EXPECT_EQ(Count("cache_hit"), 2u);
  EXPECT_EQ(Count("refused"), 0u);
  EXPECT_NE(
      registry_.Render().find("csms_control_station_password_checks_total{result=\"cache_hit\"} 2"),
      std::string::npos)
      << registry_.Render();
}

TEST_F(PasswordCacheTest, WrongPasswordAfterACachedRightOneIsRefused) {
  CachedPasswordVerifier cache(Opts());
  ASSERT_EQ(cache.Check("cp_1", kRight, stored_), R::kVerified);
  EXPECT_EQ(cache.Check("cp_1", kWrong, stored_), R::kRefused);
  EXPECT_FALSE(cache.Verify("cp_1", "", stored_));
  EXPECT_FALSE(cache.Verify("cp_1", std::string(kRight) + "x", stored_));
  EXPECT_EQ(slow_checks_, 4);
  EXPECT_EQ(Count("refused"), 3u);
  // Wrong guesses do not evict the right password's entry.
  EXPECT_EQ(cache.Check("cp_1", kRight, stored_), R::kCacheHit);
}

TEST_F(PasswordCacheTest, WrongPasswordIsNeverRemembered) {
  CachedPasswordVerifier cache(Opts());
  EXPECT_EQ(cache.Check("cp_1", kWrong, stored_), R::kRefused);
  EXPECT_EQ(cache.Check("cp_1", kWrong, stored_), R::kRefused);
  EXPECT_EQ(slow_checks_, 2);
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(PasswordCacheTest, PasswordChangeInvalidatesTheEntry) {
  CachedPasswordVerifier cache(Opts());
  ASSERT_EQ(cache.Check("cp_1", kRight, stored_), R::kVerified);
  ASSERT_EQ(cache.Check("cp_1", kRight, stored_), R::kCacheHit);
  // A new password: the old one is refused at once (A01.FR.03), the new one verified once.
  const std::string changed = HashPassword(kWrong, 1000);
  EXPECT_EQ(cache.Check("cp_1", kRight, changed), R::kRefused);
  EXPECT_EQ(cache.Check("cp_1", kWrong, changed), R::kVerified);
  EXPECT_EQ(cache.Check("cp_1", kWrong, changed), R::kCacheHit);
  // The same password set again gets a new salt, so it is verified again too.
  const std::string reset = HashPassword(kWrong, 1000);
  EXPECT_EQ(cache.Check("cp_1", kWrong, reset), R::kVerified);
  EXPECT_EQ(slow_checks_, 4);
}

TEST_F(PasswordCacheTest, EntriesArePerCharger) {
  CachedPasswordVerifier cache(Opts());
  ASSERT_EQ(cache.Check("cp_1", kRight, stored_), R::kVerified);
  EXPECT_EQ(cache.Check("cp_2", kRight, stored_), R::kVerified);
  EXPECT_EQ(cache.Check("cp_1", kRight, stored_), R::kCacheHit);
  EXPECT_EQ(cache.Check("cp_2", kRight, stored_), R::kCacheHit);
}

TEST_F(PasswordCacheTest, EntriesExpireAndHitsDoNotExtendThem) {
  CachedPasswordVerifier cache(Opts());
  ASSERT_EQ(cache.Check("cp_1", kRight, stored_), R::kVerified);
  now_ += 9min;
  EXPECT_EQ(cache.Check("cp_1", kRight, stored_), R::kCacheHit);
  now_ += 1min;
  EXPECT_EQ(cache.Check("cp_1", kRight, stored_), R::kVerified);
  now_ += 5min;
  EXPECT_EQ(cache.Check("cp_1", kRight, stored_), R::kCacheHit);
  EXPECT_EQ(slow_checks_, 2);
}

TEST_F(PasswordCacheTest, SizeIsBoundedDroppingExpiredThenOldest) {
  CachedPasswordVerifier cache(Opts(3));
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(cache.Check("cp_" + std::to_string(i), kRight, stored_), R::kVerified);
    now_ += 1s;
  }
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.Check("cp_4", kRight, stored_), R::kCacheHit);
  EXPECT_EQ(cache.Check("cp_2", kRight, stored_), R::kCacheHit);
  EXPECT_EQ(cache.Check("cp_0", kRight, stored_), R::kVerified);  // evicted; back in, cp_2 out
  EXPECT_EQ(cache.Check("cp_2", kRight, stored_), R::kVerified);
  EXPECT_EQ(cache.size(), 3u);
  // Once all have expired, a new entry clears them out.
  now_ += 11min;
  ASSERT_EQ(cache.Check("cp_9", kRight, stored_), R::kVerified);
  EXPECT_EQ(cache.size(), 1u);
}

TEST_F(PasswordCacheTest, SizeZeroTurnsTheCacheOff) {
  CachedPasswordVerifier cache(Opts(0));
  EXPECT_EQ(cache.Check("cp_1", kRight, stored_), R::kVerified);
  EXPECT_EQ(cache.Check("cp_1", kRight, stored_), R::kVerified);
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(PasswordCacheTest, ConcurrentChecksAreConsistent) {
  CachedPasswordVerifier cache(Opts(4));
  std::atomic<int> wrong_results{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        std::string id = "cp_" + std::to_string((t + i) % 6);
        const bool right = (i % 3) != 0;
        if (cache.Verify(id, right ? kRight : kWrong, stored_) != right) ++wrong_results;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong_results, 0);
  EXPECT_LE(cache.size(), 4u);
  EXPECT_EQ(Count("cache_hit") + Count("verified") + Count("refused"), 200u);
  EXPECT_EQ(Count("refused"), static_cast<uint64_t>(slow_checks_) - Count("verified"));
}

}  // namespace
}  // namespace csms::control
