// The array literals every store passes its batches in: what PostgreSQL must read back.
#include "csms/common/pg_sql.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace csms::pg {
namespace {

struct LiteralCase {
  const char* name;
  std::function<void(ArrayLiteral&)> add;
  std::string want;
};

TEST(ArrayLiteral, SpellsEachElementAsPostgresReadsIt) {
  const std::vector<LiteralCase> cases = {
      {"empty", [](ArrayLiteral&) {}, "{}"},
      {"text", [](ArrayLiteral& a) { a.Text("CP-1").Text(""); }, R"({"CP-1",""})"},
      {"quotes and backslashes", [](ArrayLiteral& a) { a.Text(R"(a"b\c)"); }, R"({"a\"b\\c"})"},
      {"braces and commas stay quoted", [](ArrayLiteral& a) { a.Text("{x,y}"); }, R"({"{x,y}"})"},
      {"text ends at a NUL", [](ArrayLiteral& a) { a.Text(std::string("ab\0cd", 5)).Text("e"); },
       R"({"ab","e"})"},
      {"null and optionals",
       [](ArrayLiteral& a) {
         a.Null().OptText(std::nullopt).OptText(std::string("x")).OptText(nullptr).OptInt(7);
       },
       R"({NULL,NULL,"x",NULL,7})"},
      {"integers", [](ArrayLiteral& a) { a.Int(-3).Int(std::numeric_limits<int64_t>::max()); },
       "{-3,9223372036854775807}"},
      {"booleans", [](ArrayLiteral& a) { a.Bool(true).Bool(false); }, "{t,f}"},
      {"doubles round trip shortest",
       [](ArrayLiteral& a) { a.Double(0.1).Double(1e21).Double(-2); }, "{0.1,1e+21,-2}"},
      {"non-finite doubles",
       [](ArrayLiteral& a) { a.Double(std::nan("")).Double(INFINITY).Double(-INFINITY); },
       R"({"NaN","Infinity","-Infinity"})"},
      {"times in milliseconds",
       [](ArrayLiteral& a) { a.OptTimeMs(1700000000123).OptTimeMs(std::nullopt); },
       R"({"2023-11-14T22:13:20.123Z",NULL})"},
  };
  for (const auto& c : cases) {
    ArrayLiteral a;
    c.add(a);
    EXPECT_EQ(a.str(), c.want) << c.name;
  }
}

TEST(ArrayLiteral, TextArrayOfAContainer) {
  EXPECT_EQ(TextArray(std::vector<std::string>{"a", "b"}), R"({"a","b"})");
  EXPECT_EQ(TextArray(std::vector<std::string>{}), "{}");
}

TEST(Timestamps, MillisecondPrecisionBothWays) {
  const TimePoint t = TimePoint(std::chrono::microseconds(1700000000123456));
  EXPECT_EQ(EpochMs(t), 1700000000123);
  EXPECT_EQ(TimestampText(t), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(FromEpochSeconds(1700000000.5), TimePoint(std::chrono::milliseconds(1700000000500)));
}

}  // namespace
}  // namespace csms::pg
