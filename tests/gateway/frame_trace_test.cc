#include "csms/gateway/frame_trace.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace csms::gateway {
namespace {

TEST(FrameTraceTest, FileNamesCannotLeaveTheFolderOrCollide) {
  EXPECT_EQ(FrameTrace::FileNameFor("emart_jeju_01"), "ocpp_emart_jeju_01.jsonl");
  for (const char* hostile : {"..", "../etc/passwd", "a/b", "a\\b", "x\n", "", ".hidden"}) {
    std::string name = FrameTrace::FileNameFor(hostile);
    EXPECT_EQ(name.find('/'), std::string::npos) << hostile;
    EXPECT_EQ(name.find(".."), std::string::npos) << hostile;
    EXPECT_EQ(name.rfind("ocpp_", 0), 0u) << hostile;
    for (char c : name)
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
                  c == '~')
          << hostile;
  }
  // "a.b" and "a:b" both sanitize to a_b, but must not share a file.
  EXPECT_NE(FrameTrace::FileNameFor("a.b"), FrameTrace::FileNameFor("a:b"));
}

TEST(FrameTraceTest, WritesJsonLinesAndRotatesAtTheSizeCap) {
  auto dir = std::filesystem::temp_directory_path() / ("csms-trace-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  {
    FrameTrace trace(dir, 400, 3);
    for (int i = 0; i < 20; ++i) {
      trace.Record("CP-1", "c-1", i % 2 ? "out" : "in",
                   R"([2,"m)" + std::to_string(i) + R"(","Heartbeat",{}])");
    }
  }
  auto path = dir / "ocpp_CP-1.jsonl";
  ASSERT_TRUE(std::filesystem::exists(path));
  EXPECT_TRUE(std::filesystem::exists(dir / "ocpp_CP-1.jsonl.1"));
  EXPECT_TRUE(std::filesystem::exists(dir / "ocpp_CP-1.jsonl.2"));
  EXPECT_FALSE(std::filesystem::exists(dir / "ocpp_CP-1.jsonl.3"));  // only 3 files kept
  EXPECT_LE(std::filesystem::file_size(path), 400u);
  std::ifstream in(path);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    EXPECT_TRUE(j["dir"] == "in" || j["dir"] == "out");
    EXPECT_EQ(j["conn"], "c-1");
    EXPECT_TRUE(j["frame"].get<std::string>().find("Heartbeat") != std::string::npos);
    ++lines;
  }
  EXPECT_GT(lines, 0);
  std::filesystem::remove_all(dir);
}

int OpenDescriptors() {
  int n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd"))
    ++n;
  return n;
}

// Frames hold idTokens: owner-only files; and any number of stations uses a bounded number of
// descriptors (past the cap, files are opened per frame).
TEST(FrameTraceTest, FilesArePrivateAndDescriptorsBounded) {
  auto dir = std::filesystem::temp_directory_path() / ("csms-trace-fd-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  const int before = OpenDescriptors();
  {
    FrameTrace trace(dir, 1 << 20, 2);
    for (int i = 0; i < 600; ++i) {
      trace.Record("CP-" + std::to_string(i), "c-1", "in", R"([2,"m","Heartbeat",{}])");
    }
    EXPECT_LE(OpenDescriptors() - before, 260);
    trace.Record("CP-599", "c-1", "in", R"([2,"m2","Heartbeat",{}])");  // a closed one reopens
  }
  auto perms = std::filesystem::status(dir / "ocpp_CP-7.jsonl").permissions();
  using P = std::filesystem::perms;
  EXPECT_EQ(perms & (P::group_all | P::others_all), P::none);
  EXPECT_EQ(std::filesystem::status(dir).permissions() & (P::group_all | P::others_all), P::none);
  std::ifstream last(dir / "ocpp_CP-599.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(last, line)) ++lines;
  EXPECT_EQ(lines, 2);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace csms::gateway
