#include "csms/charger_sim/sim_util.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace csms::sim {
namespace {

TEST(SimUtilTest, ParsesWsUrls) {
  std::string error;
  auto url = ParseWsUrl("ws://127.0.0.1:9000/ocpp", &error);
  ASSERT_TRUE(url) << error;
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, "9000");
  EXPECT_EQ(url->path, "/ocpp");
  EXPECT_EQ(HostHeader(*url), "127.0.0.1:9000");

  url = ParseWsUrl("ws://csms.example/", &error);
  ASSERT_TRUE(url) << error;
  EXPECT_EQ(url->port, "80");
  EXPECT_EQ(url->path, "");
  EXPECT_EQ(HostHeader(*url), "csms.example");
  EXPECT_EQ(StationTarget(*url, "emart_jeju_01"), "/emart_jeju_01");

  url = ParseWsUrl("ws://[::1]:9000/a/b", &error);
  ASSERT_TRUE(url) << error;
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(HostHeader(*url), "[::1]:9000");

  EXPECT_FALSE(ParseWsUrl("http://x/ocpp", &error));
  EXPECT_FALSE(ParseWsUrl("https://x/ocpp", &error));
  EXPECT_FALSE(ParseWsUrl("ws://user:pw@x/ocpp", &error));
  EXPECT_FALSE(ParseWsUrl("ws://:9000/ocpp", &error));
  EXPECT_FALSE(ParseWsUrl("ws://x:90a/ocpp", &error));
}

TEST(SimUtilTest, ParsesWssUrls) {
  std::string error;
  auto url = ParseWsUrl("wss://localhost:9443/ocpp/", &error);
  ASSERT_TRUE(url) << error;
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->host, "localhost");
  EXPECT_EQ(url->port, "9443");
  EXPECT_EQ(url->path, "/ocpp");
  EXPECT_EQ(HostHeader(*url), "localhost:9443");
  EXPECT_EQ(UrlText(*url), "wss://localhost:9443/ocpp");

  // The default port is 443, and the Host header leaves it out (RFC 6455 4.1).
  url = ParseWsUrl("wss://csms.example/ocpp", &error);
  ASSERT_TRUE(url) << error;
  EXPECT_EQ(url->port, "443");
  EXPECT_EQ(HostHeader(*url), "csms.example");
  EXPECT_EQ(UrlText(*url), "wss://csms.example/ocpp");
  EXPECT_EQ(StationTarget(*url, "cp 1"), "/ocpp/cp%201");

  // Port 80 is not the default of wss, nor 443 of ws.
  url = ParseWsUrl("wss://csms.example:80", &error);
  ASSERT_TRUE(url) << error;
  EXPECT_EQ(HostHeader(*url), "csms.example:80");
  url = ParseWsUrl("ws://csms.example:443", &error);
  ASSERT_TRUE(url) << error;
  EXPECT_FALSE(url->tls);
  EXPECT_EQ(HostHeader(*url), "csms.example:443");

  url = ParseWsUrl("wss://[::1]/ocpp", &error);
  ASSERT_TRUE(url) << error;
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, "443");
  EXPECT_EQ(HostHeader(*url), "[::1]");

  EXPECT_FALSE(ParseWsUrl("wss://", &error));
}

TEST(SimUtilTest, RecognizesIpLiterals) {
  EXPECT_TRUE(IsIpLiteral("127.0.0.1"));
  EXPECT_TRUE(IsIpLiteral("::1"));
  EXPECT_TRUE(IsIpLiteral("2001:db8::7"));
  EXPECT_FALSE(IsIpLiteral("localhost"));
  EXPECT_FALSE(IsIpLiteral("csms.example"));
  EXPECT_FALSE(IsIpLiteral("127.0.0.1.nip.io"));
  EXPECT_FALSE(IsIpLiteral(""));
}

TEST(SimUtilTest, ExpandsTheIdPlaceholder) {
  EXPECT_EQ(ExpandIdPlaceholder("pki/chargers/{id}.pem", "emart_jeju_04"),
            "pki/chargers/emart_jeju_04.pem");
  EXPECT_EQ(ExpandIdPlaceholder("{id}/{id}.key", "a"), "a/a.key");
  EXPECT_EQ(ExpandIdPlaceholder("pki/charger.pem", "a"), "pki/charger.pem");
  EXPECT_EQ(ExpandIdPlaceholder("{i}{id", "a"), "{i}{id");
}

TEST(SimUtilTest, PercentEncodesTheStationIdAsTheLastSegment) {
  EXPECT_EQ(PercentEncode("RDAM 123"), "RDAM%20123");
  EXPECT_EQ(PercentEncode("a:b@c/d"), "a%3Ab%40c%2Fd");
  WsUrl url{"localhost", "9000", "/ocpp"};
  EXPECT_EQ(StationTarget(url, "emart_jeju_01"), "/ocpp/emart_jeju_01");
  EXPECT_EQ(StationTarget(url, "RDAM 123"), "/ocpp/RDAM%20123");
}

TEST(SimUtilTest, ExpandsStationIds) {
  EXPECT_EQ(ExpandStationIds("emart_jeju_01", "", 1), (std::vector<std::string>{"emart_jeju_01"}));
  EXPECT_EQ(ExpandStationIds("ignored", "emart_jeju_", 3),
            (std::vector<std::string>{"emart_jeju_01", "emart_jeju_02", "emart_jeju_03"}));
  EXPECT_EQ(ExpandStationIds("emart_jeju_01", "", 3),
            (std::vector<std::string>{"emart_jeju_01", "emart_jeju_02", "emart_jeju_03"}));
  EXPECT_EQ(ExpandStationIds("cs09", "", 2), (std::vector<std::string>{"cs09", "cs10"}));
  EXPECT_EQ(ExpandStationIds("station", "", 2),
            (std::vector<std::string>{"station01", "station02"}));
  EXPECT_EQ(ExpandStationIds("x", "p", 100).back(), "p100");
}

TEST(SimUtilTest, ValidatesStationIds) {
  std::string why;
  EXPECT_TRUE(IsValidStationId("emart_jeju_01", &why));
  EXPECT_TRUE(IsValidStationId("A*-_=:+|@.z", &why));
  EXPECT_FALSE(IsValidStationId("", &why));
  EXPECT_FALSE(IsValidStationId("has space", &why));
  EXPECT_FALSE(IsValidStationId(std::string(49, 'a'), &why));
}

TEST(SimUtilTest, Base64) {
  EXPECT_EQ(Base64Encode("Aladdin:open sesame"), "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  EXPECT_EQ(Base64Encode("ab"), "YWI=");
  EXPECT_EQ(Base64Encode(""), "");
}

// A fresh directory per test, removed afterwards.
class PasswordFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "sim-pw-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void WriteRaw(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
  }

  std::filesystem::path dir_;
};

TEST_F(PasswordFileTest, RoundTripIsAtomicAndPrivate) {
  const std::string path = (dir_ / "emart_jeju_01.pw").string();
  WriteRaw(path, "old-password-0123456\n");
  ::chmod(path.c_str(), 0644);
  std::string error;
  ASSERT_TRUE(WritePasswordFile(path, "New-Pass_word:+|@.*=0123", &error)) << error;
  std::string password;
  ASSERT_TRUE(ReadPasswordFile(path, &password, &error)) << error;
  EXPECT_EQ(password, "New-Pass_word:+|@.*=0123");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);  // a new file, not the old 0644 one rewritten
  // Nothing but the file itself is left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_),
                          std::filesystem::directory_iterator()),
            1);

  // A second change replaces the first completely.
  ASSERT_TRUE(WritePasswordFile(path, "abcdefghijklmnop", &error)) << error;
  ASSERT_TRUE(ReadPasswordFile(path, &password, &error)) << error;
  EXPECT_EQ(password, "abcdefghijklmnop");
}

TEST_F(PasswordFileTest, ReadsTheFirstLineTrimmed) {
  const std::string path = (dir_ / "pw").string();
  WriteRaw(path, "  \tsecret-password-16ch \r\nsecond line\n");
  std::string password;
  std::string error;
  ASSERT_TRUE(ReadPasswordFile(path, &password, &error)) << error;
  EXPECT_EQ(password, "secret-password-16ch");
  WriteRaw(path, "no-newline-at-all");
  ASSERT_TRUE(ReadPasswordFile(path, &password, &error)) << error;
  EXPECT_EQ(password, "no-newline-at-all");
}

TEST_F(PasswordFileTest, EmptyOrMissingFilesAreErrors) {
  const std::string path = (dir_ / "pw").string();
  std::string password = "unchanged";
  std::string error;
  EXPECT_FALSE(ReadPasswordFile(path, &password, &error));
  EXPECT_NE(error.find(path), std::string::npos) << error;
  WriteRaw(path, "");
  EXPECT_FALSE(ReadPasswordFile(path, &password, &error));
  WriteRaw(path, "   \nsecond-line-password\n");
  EXPECT_FALSE(ReadPasswordFile(path, &password, &error));
  EXPECT_EQ(password, "unchanged");
  // A directory that does not exist cannot take the file.
  EXPECT_FALSE(WritePasswordFile((dir_ / "missing" / "pw").string(), "abcdefghijklmnop", &error));
  EXPECT_FALSE(error.empty());
}

}  // namespace
}  // namespace csms::sim
