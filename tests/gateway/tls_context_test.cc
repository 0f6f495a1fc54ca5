// The OCPP TLS context: loading certificate pairs, refusing broken ones with a message that
// names the file, and reloading on change without dropping a good context for a bad one.
#include "csms/gateway/tls_context.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace csms::gateway {
namespace {

namespace fs = std::filesystem;

// Two independent PKIs made by the project's own script (openssl), once per test program.
class TlsContextTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("csms-tls-test-" + std::to_string(::getpid()));
    for (const char* name : {"one", "two"}) {
      std::string command =
          std::string(CSMS_MAKE_PKI) + " " + (root_ / name).string() + " >/dev/null";
      ASSERT_EQ(std::system(command.c_str()), 0) << command;
    }
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  static std::string File(const char* pki, const char* name) { return (root_ / pki / name); }

  static OcppTlsOptions Both(const char* pki) {
    OcppTlsOptions options;
    options.cert_files = {File(pki, "server-rsa.pem"), File(pki, "server-ecdsa.pem")};
    options.key_files = {File(pki, "server-rsa.key"), File(pki, "server-ecdsa.key")};
    options.client_ca_file = File(pki, "charger-ca.pem");
    return options;
  }

  static inline fs::path root_;
};

TEST(SplitListTest, SkipsEmptyParts) {
  EXPECT_EQ(SplitList("a.pem,b.pem"), (std::vector<std::string>{"a.pem", "b.pem"}));
  EXPECT_EQ(SplitList(",a,,b,"), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(SplitList("").empty());
}

TEST_F(TlsContextTest, LoadsAnRsaAndAnEcdsaPair) {
  TlsContextSource source(Both("one"));
  std::string error;
  ASSERT_TRUE(source.Load(&error)) << error;
  EXPECT_NE(source.Current(), nullptr);
}

TEST_F(TlsContextTest, MismatchedListsAreRefused) {
  OcppTlsOptions options = Both("one");
  options.key_files.pop_back();
  TlsContextSource source(options);
  std::string error;
  EXPECT_FALSE(source.Load(&error));
  EXPECT_NE(error.find("same number"), std::string::npos) << error;
}

TEST_F(TlsContextTest, MissingFileIsNamed) {
  OcppTlsOptions options = Both("one");
  options.cert_files[0] = File("one", "nope.pem");
  TlsContextSource source(options);
  std::string error;
  EXPECT_FALSE(source.Load(&error));
  EXPECT_NE(error.find("nope.pem"), std::string::npos) << error;
}

TEST_F(TlsContextTest, KeyOfAnotherCertificateIsRefused) {
  OcppTlsOptions options = Both("one");
  options.key_files[0] = File("two", "server-rsa.key");
  TlsContextSource source(options);
  std::string error;
  EXPECT_FALSE(source.Load(&error));
  // OpenSSL notices while loading the key ("key values mismatch"); the message names the key.
  EXPECT_NE(error.find("two/server-rsa.key"), std::string::npos) << error;
  EXPECT_NE(error.find("mismatch"), std::string::npos) << error;
}

TEST_F(TlsContextTest, ReloadsChangedFilesAndKeepsTheOldContextOnBrokenOnes) {
  // A working copy of PKI "one" that the test rotates.
  fs::path live = root_ / "live";
  fs::create_directories(live);
  for (const char* name : {"server-rsa.pem", "server-rsa.key", "server-ecdsa.pem",
                           "server-ecdsa.key", "charger-ca.pem"}) {
    fs::copy_file(File("one", name), live / name, fs::copy_options::overwrite_existing);
  }
  OcppTlsOptions options;
  options.cert_files = {(live / "server-rsa.pem").string(), (live / "server-ecdsa.pem").string()};
  options.key_files = {(live / "server-rsa.key").string(), (live / "server-ecdsa.key").string()};
  options.client_ca_file = (live / "charger-ca.pem").string();
  TlsContextSource source(options);
  std::string error;
  ASSERT_TRUE(source.Load(&error)) << error;
  auto first = source.Current();

  source.ReloadIfChanged();
  EXPECT_EQ(source.Current(), first) << "nothing changed, nothing rebuilt";

  for (const char* name :
       {"server-rsa.pem", "server-rsa.key", "server-ecdsa.pem", "server-ecdsa.key"}) {
    fs::copy_file(File("two", name), live / name, fs::copy_options::overwrite_existing);
  }
  source.ReloadIfChanged();
  auto second = source.Current();
  EXPECT_NE(second, first) << "rotated certificates were not picked up";

  std::ofstream(live / "server-rsa.pem") << "not a certificate\n";
  source.ReloadIfChanged();
  EXPECT_EQ(source.Current(), second) << "a broken file must not replace a working context";
}

}  // namespace
}  // namespace csms::gateway
