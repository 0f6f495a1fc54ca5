#include "csms/common/api_auth.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <thread>

namespace csms::auth {
namespace {

TEST(ApiAuth, MintedTokenIs256RandomBitsInHex) {
  const std::string a = MintToken(), b = MintToken();
  EXPECT_TRUE(std::regex_match(a, std::regex("csms_[0-9a-f]{64}"))) << a;
  EXPECT_NE(a, b);
}

TEST(ApiAuth, KeyLineVerifiesItsTokenOnlyAndHoldsNoCleartext) {
  const std::string token = MintToken();
  const std::string line = KeyLine("ops-1", Role::kOperate, token);
  EXPECT_EQ(line.find(token.substr(5)), std::string::npos) << "token in clear: " << line;
  EXPECT_TRUE(
      std::regex_match(line, std::regex("ops-1 operate sha256\\$[0-9a-f]{32}\\$[0-9a-f]{64}")))
      << line;
  std::string error;
  auto store = ApiKeyStore::Parse(line + "\n", &error);
  ASSERT_TRUE(store) << error;
  auto who = store->Verify(token);
  ASSERT_TRUE(who);
  EXPECT_EQ(who->key_id, "ops-1");
  EXPECT_EQ(who->role, Role::kOperate);
  EXPECT_FALSE(store->Verify(MintToken()));
  EXPECT_FALSE(store->Verify(token + "x"));
  EXPECT_FALSE(store->Verify(token.substr(0, token.size() - 1)));
  EXPECT_FALSE(store->Verify(""));
}

TEST(ApiAuth, SameTokenGetsDifferentSaltsAndHashes) {
  const std::string token = MintToken();
  EXPECT_NE(KeyLine("a", Role::kRead, token), KeyLine("a", Role::kRead, token));
}

TEST(ApiAuth, HashIsSha256OfSaltThenToken) {
  // Known vector: SHA-256("abc").
  EXPECT_EQ(ToHex(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string salt = *FromHex("00112233445566778899aabbccddeeff");
  const std::string line =
      "k read sha256$00112233445566778899aabbccddeeff$" + ToHex(Sha256(salt + "secret-token"));
  std::string error;
  auto store = ApiKeyStore::Parse(line, &error);
  ASSERT_TRUE(store) << error;
  EXPECT_TRUE(store->Verify("secret-token"));
  EXPECT_FALSE(store->Verify("secret-tokem"));
}

TEST(ApiAuth, ParsesSeveralKeysCommentsAndBlankLines) {
  const std::string r = MintToken(), o = MintToken(), s = MintToken();
  const std::string text = "# API keys\n\n" + KeyLine("viewer", Role::kRead, r) + "\n   \n" +
                           KeyLine("ops", Role::kOperate, o) + "\n" +
                           KeyLine("gw", Role::kService, s);  // no final newline
  std::string error;
  auto store = ApiKeyStore::Parse(text, &error);
  ASSERT_TRUE(store) << error;
  EXPECT_EQ(store->size(), 3u);
  EXPECT_EQ(store->Verify(r)->role, Role::kRead);
  EXPECT_EQ(store->Verify(o)->key_id, "ops");
  EXPECT_EQ(store->Verify(s)->role, Role::kService);
}

TEST(ApiAuth, RejectsMalformedFilesNamingTheLine) {
  const std::string good = KeyLine("a", Role::kRead, MintToken());
  const std::string hash = good.substr(good.find("sha256$"));
  struct Case {
    std::string text, expected;
  } cases[] = {
      {"", "no keys"},
      {"# only a comment\n", "no keys"},
      {"a read", "line 1"},
      {good + "\nb owner " + hash, "line 2: role"},
      {"a read " + hash + " extra", "line 1"},
      {"a read md5$00$00", "line 1: hash"},
      {"a read sha256$zz11223344556677$" + std::string(64, '0'), "line 1: hash"},
      {"a read sha256$0011223344556677$" + std::string(62, '0'), "line 1: hash"},
      {"a read sha256$0011$" + std::string(64, '0'), "line 1: hash"},
      {"bad/id read " + hash, "line 1: key id"},
      {good + "\n" + good, "line 2: duplicate"},
  };
  for (const auto& c : cases) {
    std::string error;
    EXPECT_FALSE(ApiKeyStore::Parse(c.text, &error)) << c.text;
    EXPECT_NE(error.find(c.expected), std::string::npos) << c.text << " -> " << error;
    EXPECT_EQ(error.find(hash), std::string::npos) << "hash echoed in error";
  }
}

TEST(ApiAuth, ConstantTimeEqualsComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "xbc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0c", 3)));
}

TEST(ApiAuth, BearerTokenParsing) {
  EXPECT_EQ(BearerToken("Bearer abc"), "abc");
  EXPECT_EQ(BearerToken("bearer  abc "), "abc");
  EXPECT_EQ(BearerToken("BEARER abc"), "abc");
  EXPECT_FALSE(BearerToken("Basic YWJjOmRlZg=="));
  EXPECT_FALSE(BearerToken("Bearer"));
  EXPECT_FALSE(BearerToken("Bearer   "));
  EXPECT_FALSE(BearerToken("abc"));
}

TEST(ApiAuth, RolesAreOrdered) {
  EXPECT_LT(Role::kRead, Role::kOperate);
  EXPECT_LT(Role::kOperate, Role::kAdmin);
  EXPECT_LT(Role::kAdmin, Role::kService);
  EXPECT_EQ(ParseRole("operate"), Role::kOperate);
  EXPECT_EQ(ParseRole("admin"), Role::kAdmin);
  EXPECT_STREQ(RoleName(Role::kAdmin), "admin");
  EXPECT_FALSE(ParseRole("owner"));
  EXPECT_STREQ(RoleName(Role::kRead), "read");
}

TEST(FailureLimiter, BlocksAfterBurstAndRefills) {
  using namespace std::chrono_literals;
  FailureLimiter limiter(3, 2s);
  auto t0 = FailureLimiter::Clock::time_point() + 100s;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(limiter.BlockedFor("10.0.0.1", t0), 0) << i;
    limiter.RecordFailure("10.0.0.1", t0);
  }
  EXPECT_EQ(limiter.BlockedFor("10.0.0.1", t0), 2);
  EXPECT_EQ(limiter.BlockedFor("10.0.0.2", t0), 0) << "per address";
  EXPECT_EQ(limiter.BlockedFor("10.0.0.1", t0 + 1500ms), 1);
  EXPECT_EQ(limiter.BlockedFor("10.0.0.1", t0 + 2s), 0) << "one token back after 2 s";
  limiter.RecordFailure("10.0.0.1", t0 + 2s);
  EXPECT_GT(limiter.BlockedFor("10.0.0.1", t0 + 2s), 0);
  EXPECT_EQ(limiter.BlockedFor("10.0.0.1", t0 + 60s), 0);
}

TEST(Authenticator, OpenModeAllowsEverything) {
  Authenticator auth(nullptr);
  EXPECT_FALSE(auth.enabled());
  EXPECT_EQ(auth.Check(std::nullopt, Role::kService, "1.2.3.4", "x").outcome, Outcome::kAllowed);
}

TEST(Authenticator, ChecksTokenRoleAndRateLimitsFailures) {
  const std::string read = MintToken(), operate = MintToken();
  std::string error;
  auto store = ApiKeyStore::Parse(
      KeyLine("r", Role::kRead, read) + "\n" + KeyLine("o", Role::kOperate, operate), &error);
  ASSERT_TRUE(store) << error;
  Authenticator auth(std::make_shared<const ApiKeyStore>(std::move(*store)), 2,
                     std::chrono::hours(1));
  EXPECT_EQ(auth.Check(read, Role::kRead, "a", "GET /x").outcome, Outcome::kAllowed);
  EXPECT_EQ(auth.Check(read, Role::kRead, "a", "GET /x").principal->key_id, "r");
  EXPECT_EQ(auth.Check(read, Role::kOperate, "a", "POST /x").outcome, Outcome::kForbidden);
  EXPECT_EQ(auth.Check(operate, Role::kOperate, "a", "POST /x").outcome, Outcome::kAllowed);
  EXPECT_EQ(auth.Check(operate, Role::kService, "a", "Report").outcome, Outcome::kForbidden);
  // Refused roles are not failed authentications: "a" is not limited.
  EXPECT_EQ(auth.Check(std::nullopt, Role::kRead, "a", "GET /x").outcome,
            Outcome::kUnauthenticated);
  EXPECT_EQ(auth.Check(std::string("wrong"), Role::kRead, "a", "GET /x").outcome,
            Outcome::kUnauthenticated);
  auto limited = auth.Check(read, Role::kRead, "a", "GET /x");
  EXPECT_EQ(limited.outcome, Outcome::kRateLimited) << "even a good token waits";
  EXPECT_GT(limited.retry_after_s, 0);
  EXPECT_EQ(auth.Check(read, Role::kRead, "b", "GET /x").outcome, Outcome::kAllowed);
}

}  // namespace
}  // namespace csms::auth

namespace csms::auth {
namespace {

// tools/mint-api-key.sh (openssl only) and the C++ side agree on the file format and hash.
TEST(ApiAuth, MintScriptLinesVerify) {
  FILE* out = popen(CSMS_SOURCE_DIR "/tools/mint-api-key.sh script-key operate", "r");
  ASSERT_NE(out, nullptr);
  char buf[512];
  std::string text;
  while (fgets(buf, sizeof buf, out)) text += buf;
  ASSERT_EQ(pclose(out), 0) << text;
  const std::string token = text.substr(0, text.find('\n'));
  const std::string line = text.substr(text.find('\n') + 1);
  std::string error;
  auto store = ApiKeyStore::Parse(line, &error);
  ASSERT_TRUE(store) << error << "\n" << text;
  auto who = store->Verify(token);
  ASSERT_TRUE(who) << text;
  EXPECT_EQ(who->key_id, "script-key");
  EXPECT_EQ(who->role, Role::kOperate);
  EXPECT_FALSE(store->Verify(MintToken()));
}

// Secure by default: no keys file and no explicit --api-auth off stops the service.
Config ParsedApiAuthConfig(std::vector<std::string> args) {
  unsetenv("CSMS_API_AUTH");
  unsetenv("CSMS_API_KEYS_FILE");
  Config config("prog", "test", WithApiAuthFlags({}));
  args.insert(args.begin(), "prog");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  std::string error;
  EXPECT_TRUE(config.Parse(static_cast<int>(argv.size()), argv.data(), &error)) << error;
  return config;
}

TEST(ApiAuthDefaults, NoKeysFileRefusesToStart) {
  Config config = ParsedApiAuthConfig({});
  EXPECT_EQ(config.Get("api-auth"), "keys");
  EXPECT_EXIT(LoadAuthenticatorOrExit(config, "test"), ::testing::ExitedWithCode(2),
              "no --api-keys-file");
}

TEST(ApiAuthDefaults, OffMustBeSaidAndContradictionsAreRefused) {
  EXPECT_FALSE(
      LoadAuthenticatorOrExit(ParsedApiAuthConfig({"--api-auth", "off"}), "test")->enabled());
  EXPECT_EXIT(LoadAuthenticatorOrExit(
                  ParsedApiAuthConfig({"--api-auth", "off", "--api-keys-file", "/x"}), "test"),
              ::testing::ExitedWithCode(2), "contradicts");
  EXPECT_EXIT(LoadAuthenticatorOrExit(ParsedApiAuthConfig({"--api-auth", "maybe"}), "test"),
              ::testing::ExitedWithCode(2), "keys or off");
}

// Secrets come from files; a token file others may read, or a trusted file others may write,
// is reported at start-up (without the token).
TEST(SecretFiles, PermissionsOpenToOthersAreReported) {
  const std::string path = ::testing::TempDir() + "/csms-perm-test.token";
  const std::string token = MintToken();
  std::ofstream(path) << token << "\n";
  auto warning_at = [&](mode_t mode, bool secret) {
    EXPECT_EQ(chmod(path.c_str(), mode), 0);
    return FilePermissionWarning(path, secret);
  };
  EXPECT_EQ(warning_at(0600, true), "");
  EXPECT_EQ(warning_at(0400, true), "");
  EXPECT_EQ(warning_at(0440, true), "") << "Kubernetes Secret mounts with fsGroup";
  EXPECT_NE(warning_at(0644, true).find("readable by all users (mode 0644)"), std::string::npos);
  EXPECT_NE(warning_at(0604, true).find("readable by all users"), std::string::npos);
  EXPECT_EQ(warning_at(0644, false), "") << "the keys file holds only hashes";
  EXPECT_NE(warning_at(0664, false).find("writable by its group (mode 0664)"), std::string::npos);
  EXPECT_NE(warning_at(0646, true).find("writable by all users"), std::string::npos);
  EXPECT_EQ(FilePermissionWarning(path + ".missing", true), "");

  warning_at(0644, true);
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(ReadTokenFileOrExit(path, "test"), token);
  std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("WARN test: token file " + path + " is readable by all users"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find(token), std::string::npos) << "the token itself is never logged";
  warning_at(0600, true);
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(ReadTokenFileOrExit(path, "test"), token);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  std::remove(path.c_str());
}

// Keys are added and revoked by editing the file: no restart, and a broken edit changes nothing.
TEST(ApiAuthReload, ChangedKeysFileTakesEffectAndABrokenOneIsIgnored) {
  const std::string path = ::testing::TempDir() + "/reload-api-keys-" + std::to_string(getpid());
  const std::string old_token = MintToken(), new_token = MintToken();
  auto write = [&path](const std::string& text) {
    std::ofstream(path + ".tmp") << text;
    std::filesystem::rename(path + ".tmp", path);  // as editors and Kubernetes do: whole file
  };
  write(KeyLine("old", Role::kRead, old_token) + "\n");
  std::string error;
  auto store = ApiKeyStore::LoadFile(path, &error);
  ASSERT_TRUE(store) << error;
  Authenticator auth(std::make_shared<const ApiKeyStore>(std::move(*store)));
  auth.WatchKeysFile(path, std::chrono::milliseconds(20), "test");
  int client = 0;  // a new address per check: polling failures must not trip the limiter
  auto allowed = [&auth, &client](const std::string& token) {
    return auth.Check(token, Role::kRead, "10.0.0." + std::to_string(++client), "GET /x").outcome ==
           Outcome::kAllowed;
  };
  auto eventually = [](const std::function<bool()>& done) {
    for (int i = 0; i < 250 && !done(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return done();
  };
  EXPECT_TRUE(allowed(old_token));
  EXPECT_FALSE(allowed(new_token));

  write(KeyLine("new", Role::kRead, new_token) + "\n");  // "old" revoked, "new" added
  EXPECT_TRUE(eventually([&] { return allowed(new_token); }));
  EXPECT_FALSE(allowed(old_token));

  write("new read not-a-hash\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_TRUE(allowed(new_token)) << "a broken file must keep the keys in force";
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace csms::auth
