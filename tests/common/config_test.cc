#include "csms/common/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace csms {
namespace {

// Environment variable names private to this test binary.
constexpr const char* kPortEnv = "CSMS_CONFIG_TEST_PORT";
constexpr const char* kNameEnv = "CSMS_CONFIG_TEST_NAME";
constexpr const char* kRatioEnv = "CSMS_CONFIG_TEST_RATIO";

std::vector<FlagSpec> Specs() {
  return {
      {"port", kPortEnv, "8080", "listen port"},
      {"name", kNameEnv, "gateway", "display name"},
      {"ratio", kRatioEnv, "0.5", "a ratio"},
      {"no-env", "", "", "a flag without environment variable"},
  };
}

// argv for Config::Parse, owning its strings.
class Args {
 public:
  Args(std::initializer_list<std::string> args) : storage_(args) {
    storage_.insert(storage_.begin(), "prog");
    for (auto& s : storage_) argv_.push_back(s.data());
    argv_.push_back(nullptr);
  }
  int argc() const { return static_cast<int>(storage_.size()); }
  char** argv() { return argv_.data(); }

 private:
  std::vector<std::string> storage_;
  std::vector<char*> argv_;
};

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override { ClearEnv(); }
  void TearDown() override { ClearEnv(); }
  static void ClearEnv() {
    unsetenv(kPortEnv);
    unsetenv(kNameEnv);
    unsetenv(kRatioEnv);
  }
};

TEST_F(ConfigTest, DefaultsWithoutFlagsOrEnv) {
  Config config("prog", "test", Specs());
  Args args{};
  std::string error;
  ASSERT_TRUE(config.Parse(args.argc(), args.argv(), &error)) << error;
  EXPECT_EQ(config.Get("port"), "8080");
  EXPECT_EQ(config.GetInt("port"), 8080);
  EXPECT_EQ(config.Get("name"), "gateway");
  EXPECT_DOUBLE_EQ(config.GetDouble("ratio"), 0.5);
  EXPECT_EQ(config.Get("no-env"), "");
  EXPECT_FALSE(config.help_requested());
}

TEST_F(ConfigTest, EnvironmentOverridesDefault) {
  setenv(kPortEnv, "9090", 1);
  setenv(kNameEnv, "from-env", 1);
  Config config("prog", "test", Specs());
  Args args{};
  std::string error;
  ASSERT_TRUE(config.Parse(args.argc(), args.argv(), &error)) << error;
  EXPECT_EQ(config.GetInt("port"), 9090);
  EXPECT_EQ(config.Get("name"), "from-env");
  EXPECT_EQ(config.Get("ratio"), "0.5");
}

TEST_F(ConfigTest, FlagWinsOverEnvironment) {
  setenv(kPortEnv, "9090", 1);
  Config config("prog", "test", Specs());
  Args args{"--port=7070"};
  std::string error;
  ASSERT_TRUE(config.Parse(args.argc(), args.argv(), &error)) << error;
  EXPECT_EQ(config.GetInt("port"), 7070);
}

TEST_F(ConfigTest, FlagWithSeparateValueWinsOverEnvironment) {
  setenv(kNameEnv, "from-env", 1);
  Config config("prog", "test", Specs());
  Args args{"--name", "from-flag"};
  std::string error;
  ASSERT_TRUE(config.Parse(args.argc(), args.argv(), &error)) << error;
  EXPECT_EQ(config.Get("name"), "from-flag");
}

TEST_F(ConfigTest, BothFlagSyntaxesInOneCommandLine) {
  Config config("prog", "test", Specs());
  Args args{"--port", "1234", "--name=alpha", "--ratio=2.25"};
  std::string error;
  ASSERT_TRUE(config.Parse(args.argc(), args.argv(), &error)) << error;
  EXPECT_EQ(config.GetInt("port"), 1234);
  EXPECT_EQ(config.Get("name"), "alpha");
  EXPECT_DOUBLE_EQ(config.GetDouble("ratio"), 2.25);
}

TEST_F(ConfigTest, EqualsSyntaxKeepsEverythingAfterFirstEquals) {
  Config config("prog", "test", Specs());
  Args args{"--name=a=b"};
  std::string error;
  ASSERT_TRUE(config.Parse(args.argc(), args.argv(), &error)) << error;
  EXPECT_EQ(config.Get("name"), "a=b");
}

TEST_F(ConfigTest, LastFlagWins) {
  Config config("prog", "test", Specs());
  Args args{"--port=1", "--port", "2"};
  std::string error;
  ASSERT_TRUE(config.Parse(args.argc(), args.argv(), &error)) << error;
  EXPECT_EQ(config.GetInt("port"), 2);
}

TEST_F(ConfigTest, UnknownFlagIsAnError) {
  Config config("prog", "test", Specs());
  Args args{"--colour=blue"};
  std::string error;
  EXPECT_FALSE(config.Parse(args.argc(), args.argv(), &error));
  EXPECT_NE(error.find("unknown flag --colour"), std::string::npos) << error;
}

TEST_F(ConfigTest, UnknownFlagWithSeparateValueIsAnError) {
  Config config("prog", "test", Specs());
  Args args{"--colour", "blue"};
  std::string error;
  EXPECT_FALSE(config.Parse(args.argc(), args.argv(), &error));
  EXPECT_NE(error.find("colour"), std::string::npos) << error;
}

TEST_F(ConfigTest, MissingValueIsAnError) {
  Config config("prog", "test", Specs());
  Args args{"--port"};
  std::string error;
  EXPECT_FALSE(config.Parse(args.argc(), args.argv(), &error));
  EXPECT_NE(error.find("--port"), std::string::npos) << error;
  EXPECT_NE(error.find("needs a value"), std::string::npos) << error;
}

TEST_F(ConfigTest, PositionalArgumentIsAnError) {
  Config config("prog", "test", Specs());
  Args args{"stray"};
  std::string error;
  EXPECT_FALSE(config.Parse(args.argc(), args.argv(), &error));
  EXPECT_NE(error.find("stray"), std::string::npos) << error;
}

TEST_F(ConfigTest, HelpIsRequestedWithLongAndShortForm) {
  for (const char* flag : {"--help", "-h"}) {
    Config config("prog", "test", Specs());
    Args args{flag};
    std::string error;
    EXPECT_TRUE(config.Parse(args.argc(), args.argv(), &error)) << flag;
    EXPECT_TRUE(config.help_requested()) << flag;
  }
}

TEST_F(ConfigTest, UsageListsFlagsEnvAndDefaults) {
  Config config("csms-test", "does things", Specs());
  std::string usage = config.Usage();
  EXPECT_NE(usage.find("csms-test"), std::string::npos);
  EXPECT_NE(usage.find("does things"), std::string::npos);
  EXPECT_NE(usage.find("--port (CSMS_CONFIG_TEST_PORT)"), std::string::npos) << usage;
  EXPECT_NE(usage.find("[default: 8080]"), std::string::npos) << usage;
  EXPECT_NE(usage.find("--no-env"), std::string::npos);
}

TEST_F(ConfigTest, GetIntRefusesNonIntegers) {
  for (const char* value : {"abc", "12abc", "", "1.5", "99999999999"}) {
    Config config("prog", "test", Specs());
    Args args{std::string("--port=") + value};
    std::string error;
    ASSERT_TRUE(config.Parse(args.argc(), args.argv(), &error)) << error;
    EXPECT_THROW(config.GetInt("port"), std::invalid_argument) << "value '" << value << "'";
  }
}

TEST_F(ConfigTest, GetIntErrorNamesFlagAndValue) {
  setenv(kPortEnv, "eighty", 1);
  Config config("prog", "test", Specs());
  try {
    config.GetInt("port");
    FAIL() << "GetInt accepted 'eighty'";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("--port"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("eighty"), std::string::npos) << e.what();
  }
}

TEST_F(ConfigTest, GetIntAcceptsNegative) {
  Config config("prog", "test", Specs());
  Args args{"--port=-3"};
  std::string error;
  ASSERT_TRUE(config.Parse(args.argc(), args.argv(), &error)) << error;
  EXPECT_EQ(config.GetInt("port"), -3);
}

TEST_F(ConfigTest, GetDoubleRefusesNonNumbers) {
  Config config("prog", "test", Specs());
  Args args{"--ratio=0.5x"};
  std::string error;
  ASSERT_TRUE(config.Parse(args.argc(), args.argv(), &error)) << error;
  EXPECT_THROW(config.GetDouble("ratio"), std::invalid_argument);
}

TEST_F(ConfigTest, GetOfUndeclaredFlagThrows) {
  Config config("prog", "test", Specs());
  EXPECT_THROW(config.Get("nope"), std::logic_error);
}

using ConfigDeathTest = ConfigTest;

TEST_F(ConfigDeathTest, ParseConfigOrExitExitsWithTwoOnBadFlag) {
  Args args{"--bogus=1"};
  EXPECT_EXIT(ParseConfigOrExit(args.argc(), args.argv(), "prog", "test", Specs()),
              ::testing::ExitedWithCode(2), "unknown flag --bogus");
}

TEST_F(ConfigDeathTest, ParseConfigOrExitExitsWithZeroOnHelp) {
  Args args{"--help"};
  EXPECT_EXIT(ParseConfigOrExit(args.argc(), args.argv(), "prog", "test", Specs()),
              ::testing::ExitedWithCode(0), "");
}

TEST_F(ConfigTest, ParseConfigOrExitAddsLogLevel) {
  Args args{"--log-level=debug", "--port", "81"};
  Config config = ParseConfigOrExit(args.argc(), args.argv(), "prog", "test", Specs());
  EXPECT_EQ(config.Get("log-level"), "debug");
  EXPECT_EQ(config.GetInt("port"), 81);
}

TEST(ValueCarriesPassword, UrlUserInformationAndKeywords) {
  EXPECT_TRUE(ValueCarriesPassword("postgresql://csms:s3cret@db:5432/csms"));
  EXPECT_TRUE(ValueCarriesPassword("postgres://:s3cret@db/csms"));
  EXPECT_TRUE(ValueCarriesPassword("postgresql://db/csms?user=csms&password=s3cret"));
  EXPECT_TRUE(ValueCarriesPassword("host=db user=csms password=s3cret dbname=csms"));
  EXPECT_TRUE(ValueCarriesPassword("password=s3cret"));
  EXPECT_FALSE(ValueCarriesPassword("postgresql://csms@db:5432/csms"));
  EXPECT_FALSE(ValueCarriesPassword("postgresql://csms:@db/csms"));
  EXPECT_FALSE(ValueCarriesPassword("postgresql://[::1]:5432/csms"));
  EXPECT_FALSE(ValueCarriesPassword("postgresql://db/csms?sslmode=require&x=a:b@c"));
  EXPECT_FALSE(ValueCarriesPassword("host=db user=csms dbname=csms"));
  EXPECT_FALSE(ValueCarriesPassword("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png"));
  EXPECT_FALSE(ValueCarriesPassword("0.0.0.0:8080"));
  EXPECT_FALSE(ValueCarriesPassword(""));
}

TEST_F(ConfigTest, PasswordsOnTheCommandLineAreNamedNotThoseFromTheEnvironment) {
  setenv(kNameEnv, "postgresql://u:from-env@db/x", 1);
  Config config("prog", "test", Specs());
  Args args{"--no-env=postgresql://u:on-argv@db/x", "--port", "81"};
  std::string error;
  ASSERT_TRUE(config.Parse(args.argc(), args.argv(), &error)) << error;
  EXPECT_TRUE(config.FromCommandLine("no-env"));
  EXPECT_TRUE(config.FromCommandLine("port"));
  EXPECT_FALSE(config.FromCommandLine("name"));
  EXPECT_EQ(config.PasswordsOnCommandLine(), std::vector<std::string>{"no-env"});

  Config named("prog", "test",
               {{"password", "", "", ""},
                {"api-token", "", "", ""},
                {"service-token-file", "", "", ""},
                {"client-secret", "", "", ""}});
  Args secrets{"--password=hunter2",   "--api-token", "t",
               "--service-token-file", "/run/token",  "--client-secret="};
  ASSERT_TRUE(named.Parse(secrets.argc(), secrets.argv(), &error)) << error;
  EXPECT_EQ(named.PasswordsOnCommandLine(), (std::vector<std::string>{"api-token", "password"}));
}

TEST_F(ConfigTest, ParseConfigOrExitWarnsOfAPasswordOnTheCommandLine) {
  Args args{"--no-env", "postgresql://u:hunter2@db/x"};
  ::testing::internal::CaptureStderr();
  ParseConfigOrExit(args.argc(), args.argv(), "prog", "test", Specs());
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("WARN config: --no-env carries a password on the command line"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("hunter2"), std::string::npos) << "the warning does not repeat it";
}

}  // namespace
}  // namespace csms
