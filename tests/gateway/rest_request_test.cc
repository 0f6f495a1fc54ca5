#include "csms/gateway/rest_request.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace csms::gateway {
namespace {

using Params = std::map<std::string, std::string>;
using Parts = std::vector<std::string>;

// The error of a refused body; fails the test when the body was accepted.
template <typename Body>
RestError ErrorOf(const std::variant<Body, RestError>& parsed) {
  EXPECT_TRUE(std::holds_alternative<RestError>(parsed)) << "body was accepted";
  return std::holds_alternative<RestError>(parsed) ? std::get<RestError>(parsed) : RestError{};
}

template <typename Body>
void ExpectBadRequest(const std::variant<Body, RestError>& parsed, const std::string& mention) {
  RestError error = ErrorOf(parsed);
  EXPECT_EQ(error.status, 400);
  EXPECT_EQ(error.code, "bad_request");
  EXPECT_NE(error.message.find(mention), std::string::npos) << error.message;
}

// ---- start ---------------------------------------------------------------------------------

TEST(ParseStartBodyTest, DefaultsEvseAndConnectorToOne) {
  auto parsed = ParseStartBody(R"({"id_token":"T1"})");
  ASSERT_TRUE(std::holds_alternative<StartBody>(parsed));
  const auto& start = std::get<StartBody>(parsed);
  EXPECT_EQ(start.id_token, "T1");
  EXPECT_EQ(start.evse_id, 1);
  EXPECT_EQ(start.connector_id, 1);
}

TEST(ParseStartBodyTest, ReadsAllFields) {
  auto parsed = ParseStartBody(R"({"id_token":"T1","evse_id":2,"connector_id":3,"extra":[]})");
  ASSERT_TRUE(std::holds_alternative<StartBody>(parsed));
  const auto& start = std::get<StartBody>(parsed);
  EXPECT_EQ(start.id_token, "T1");
  EXPECT_EQ(start.evse_id, 2);
  EXPECT_EQ(start.connector_id, 3);
}

TEST(ParseStartBodyTest, NullIdsMeanDefault) {
  auto parsed = ParseStartBody(R"({"id_token":"T1","evse_id":null,"connector_id":null})");
  ASSERT_TRUE(std::holds_alternative<StartBody>(parsed));
  EXPECT_EQ(std::get<StartBody>(parsed).evse_id, 1);
  EXPECT_EQ(std::get<StartBody>(parsed).connector_id, 1);
}

TEST(ParseStartBodyTest, AcceptsTheLimits) {
  auto parsed = ParseStartBody(R"({"id_token":")" + std::string(36, 't') +
                               R"(","evse_id":1000000,"connector_id":1000000})");
  ASSERT_TRUE(std::holds_alternative<StartBody>(parsed));
  EXPECT_EQ(std::get<StartBody>(parsed).id_token.size(), 36u);
  EXPECT_EQ(std::get<StartBody>(parsed).evse_id, 1000000);
}

TEST(ParseStartBodyTest, RefusesNonObjects) {
  for (const char* body : {"", "id_token=abc", "[\"id_token\"]", "\"abc\"", "null", "{broken"}) {
    ExpectBadRequest(ParseStartBody(body), "JSON object");
  }
}

TEST(ParseStartBodyTest, RefusesBadIdToken) {
  for (const std::string body :
       {R"({})", R"({"id_token":""})", R"({"id_token":12345})", R"({"id_token":null})"}) {
    ExpectBadRequest(ParseStartBody(body), "id_token");
  }
  ExpectBadRequest(ParseStartBody(R"({"id_token":")" + std::string(37, 't') + R"("})"),
                   "longer than 36");
}

TEST(ParseStartBodyTest, RefusesBadIds) {
  for (const char* body :
       {R"({"id_token":"T1","evse_id":0})", R"({"id_token":"T1","evse_id":-1})",
        R"({"id_token":"T1","evse_id":1.5})", R"({"id_token":"T1","evse_id":"1"})",
        R"({"id_token":"T1","evse_id":1e12})", R"({"id_token":"T1","evse_id":1000001})",
        R"({"id_token":"T1","evse_id":18446744073709551615})"}) {
    ExpectBadRequest(ParseStartBody(body), "evse_id");
  }
  for (const char* body :
       {R"({"id_token":"T1","connector_id":0})", R"({"id_token":"T1","connector_id":"2"})",
        R"({"id_token":"T1","connector_id":true})"}) {
    ExpectBadRequest(ParseStartBody(body), "connector_id");
  }
}

// ---- stop ----------------------------------------------------------------------------------

TEST(ParseStopBodyTest, ReadsTransactionId) {
  auto parsed = ParseStopBody(R"({"transaction_id":"tx-1"})");
  ASSERT_TRUE(std::holds_alternative<StopBody>(parsed));
  EXPECT_EQ(std::get<StopBody>(parsed).transaction_id, "tx-1");
}

TEST(ParseStopBodyTest, RefusesBadBodies) {
  ExpectBadRequest(ParseStopBody("{broken"), "JSON object");
  ExpectBadRequest(ParseStopBody("[]"), "JSON object");
  for (const char* body : {"{}", R"({"transaction_id":17})", R"({"transaction_id":""})"}) {
    ExpectBadRequest(ParseStopBody(body), "transaction_id");
  }
  ExpectBadRequest(ParseStopBody(R"({"transaction_id":")" + std::string(37, 'x') + R"("})"),
                   "longer than 36");
}

// ---- power ---------------------------------------------------------------------------------

TEST(ParsePowerBodyTest, ReadsIntegerAndFractionalPower) {
  auto parsed = ParsePowerBody(R"({"max_power_kw":50})");
  ASSERT_TRUE(std::holds_alternative<PowerBody>(parsed));
  EXPECT_DOUBLE_EQ(std::get<PowerBody>(parsed).max_power_kw, 50.0);
  parsed = ParsePowerBody(R"({"max_power_kw":7.4})");
  ASSERT_TRUE(std::holds_alternative<PowerBody>(parsed));
  EXPECT_DOUBLE_EQ(std::get<PowerBody>(parsed).max_power_kw, 7.4);
}

TEST(ParsePowerBodyTest, RefusesNonPositiveOrNonNumbers) {
  for (const char* body : {R"({"max_power_kw":0})", R"({"max_power_kw":-5})",
                           R"({"max_power_kw":"50"})", R"({"max_power_kw":null})", R"({})",
                           R"({"max_power_kw":true})", R"({"max_power_kw":-0.0})"}) {
    ExpectBadRequest(ParsePowerBody(body), "max_power_kw");
  }
  ExpectBadRequest(ParsePowerBody("not json"), "JSON object");
  ExpectBadRequest(ParsePowerBody(R"({"max_power_kw":1e999})"), "");  // overflows: not JSON
}

// ---- paths and queries ---------------------------------------------------------------------

TEST(SplitPathTest, DropsEmptySegments) {
  EXPECT_EQ(SplitPath("/chargers/CS001/start"), (Parts{"chargers", "CS001", "start"}));
  EXPECT_EQ(SplitPath("//chargers///CS001/"), (Parts{"chargers", "CS001"}));
  EXPECT_EQ(SplitPath("healthz"), (Parts{"healthz"}));
  EXPECT_EQ(SplitPath("/"), Parts{});
  EXPECT_EQ(SplitPath(""), Parts{});
}

TEST(PercentDecodeTest, DecodesEscapes) {
  EXPECT_EQ(PercentDecode("CS%2F001"), "CS/001");
  EXPECT_EQ(PercentDecode("%41%62c"), "Abc");
  EXPECT_EQ(PercentDecode("%e2%82%ac"), "\xe2\x82\xac");
  EXPECT_EQ(PercentDecode("%00", false), std::string(1, '\0'));
}

TEST(PercentDecodeTest, KeepsMalformedEscapes) {
  EXPECT_EQ(PercentDecode("%"), "%");
  EXPECT_EQ(PercentDecode("%4"), "%4");
  EXPECT_EQ(PercentDecode("a%4"), "a%4");
  EXPECT_EQ(PercentDecode("%zz"), "%zz");
  EXPECT_EQ(PercentDecode("100%"), "100%");
}

TEST(PercentEncodeSegmentTest, KeepsUnreservedAndRoundTrips) {
  struct Case {
    const char* in;
    const char* out;
  };
  const Case cases[] = {
      {"emart_jeju-01.a~b", "emart_jeju-01.a~b"},
      {"CS/001", "CS%2F001"},
      {"a b?c#d%e+f", "a%20b%3Fc%23d%25e%2Bf"},
      {"\xe2\x82\xac", "%E2%82%AC"},
      {"", ""},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(PercentEncodeSegment(c.in), c.out) << c.in;
    EXPECT_EQ(PercentDecode(PercentEncodeSegment(c.in)), c.in) << c.in;
  }
}

TEST(PercentDecodeTest, PlusIsSpaceOnlyInQueries) {
  EXPECT_EQ(PercentDecode("CS+001"), "CS+001");
  EXPECT_EQ(PercentDecode("CS+001", true), "CS 001");
  EXPECT_EQ(PercentDecode("CS%2B001", true), "CS+001");
}

TEST(ParseQueryTest, ReadsPairs) {
  EXPECT_EQ(ParseQuery("charger_id=CS001&date=2026-01-02"),
            (Params{{"charger_id", "CS001"}, {"date", "2026-01-02"}}));
  EXPECT_EQ(ParseQuery(""), Params{});
}

TEST(ParseQueryTest, DecodesNamesAndValues) {
  EXPECT_EQ(ParseQuery("charger%5Fid=CS+0%2B1"), (Params{{"charger_id", "CS 0+1"}}));
}

TEST(ParseQueryTest, EdgeCases) {
  EXPECT_EQ(ParseQuery("flag&&a=&=v&b=1=2"),
            (Params{{"flag", ""}, {"a", ""}, {"", "v"}, {"b", "1=2"}}));
  EXPECT_EQ(ParseQuery("a=1&a=2"), (Params{{"a", "2"}}));
  EXPECT_EQ(ParseQuery("&"), Params{});
}

TEST(ParseQueryTest, ListKeepsEveryPairInOrder) {
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(ParseQueryList("kind=A&b=1&kind=B%2CC&flag"),
            (Pairs{{"kind", "A"}, {"b", "1"}, {"kind", "B,C"}, {"flag", ""}}));
  EXPECT_EQ(ParseQueryList(""), Pairs{});
}

TEST(ParseQueryTest, ValuesOfARepeatableListParameter) {
  using Values = std::vector<std::string>;
  EXPECT_EQ(QueryValues(ParseQueryList("kind=A,B&x=1&kind=C&kind=,,D,"), "kind"),
            (Values{"A", "B", "C", "D"}));
  EXPECT_EQ(QueryValues(ParseQueryList("kind=&x=A"), "kind"), Values{});
}

TEST(ParseLimitTest, EmptyIsTheDefaultElseAPositiveInteger) {
  EXPECT_EQ(std::get<int>(ParseLimit("")), 0);
  EXPECT_EQ(std::get<int>(ParseLimit("25")), 25);
  for (const char* bad : {"0", "-1", "ten", "2x", " 2", "99999999999"}) {
    SCOPED_TRACE(bad);
    ASSERT_TRUE(std::holds_alternative<RestError>(ParseLimit(bad)));
    EXPECT_EQ(std::get<RestError>(ParseLimit(bad)).status, 400);
  }
}

TEST(ParseQueryTimeTest, Rfc3339WithItsOffset) {
  const TimePoint nine = *ParseRfc3339("2026-11-24T09:00:00Z");
  for (const char* good :
       {"2026-11-24T09:00:00Z", "2026-11-24T09:00:00z", "2026-11-24T18:00:00+09:00",
        "2026-11-24T18:00:00 09:00", "2026-11-24T04:00:00-05:00", "2026-11-24T09:00:00.000Z"}) {
    SCOPED_TRACE(good);
    auto parsed = ParseQueryTime("since", good);
    ASSERT_TRUE(std::holds_alternative<TimePoint>(parsed));
    EXPECT_EQ(std::get<TimePoint>(parsed), nine);
  }
  for (const char* bad : {"", "yesterday", "2026-11-24", "2026-11-24T09:00:00",
                          "2026-11-24T09:00:00 0900", "2026-02-30T09:00:00Z", "09:00:00Z"}) {
    SCOPED_TRACE(bad);
    auto parsed = ParseQueryTime("since", bad);
    ASSERT_TRUE(std::holds_alternative<RestError>(parsed));
    EXPECT_EQ(std::get<RestError>(parsed).code, "bad_request");
    EXPECT_EQ(std::get<RestError>(parsed).message.rfind("since ", 0), 0u);
  }
}

}  // namespace
}  // namespace csms::gateway
