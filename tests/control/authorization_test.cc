// Authorize decisions (C01, C05-C10) as a case table: what the token store holds, where the
// charger is, and what the CSMS itself sent decide the charger's idTokenInfo.
#include "csms/control/authorization.h"

#include <gtest/gtest.h>

namespace csms::control {
namespace {

TimePoint At(const char* text) { return *ParseRfc3339(text); }

v1::Token Stored(const std::string& status) {
  v1::Token t;
  t.set_type("ISO14443");
  t.set_id_token("04A2B3");
  t.set_status(status);
  t.set_max_concurrent(1);
  return t;
}

struct Case {
  const char* name;
  std::string type = "ISO14443";
  std::optional<v1::Token> token;
  std::string station;
  bool central_sent = false;
  bool accept_unknown = false;
  std::string status;
  bool cached = false;  // an Accepted answer carries cacheExpiryDateTime
  bool admitted_unknown = false;
};

TEST(DecideAuthorization, CaseTable) {
  v1::Token expired = Stored("Accepted");
  *expired.mutable_expires_at() = ToProto(At("2026-12-07T07:00:00Z"));
  v1::Token at_two = Stored("Accepted");
  at_two.mutable_stations()->add_station_ids("S1");
  at_two.mutable_stations()->add_station_ids("S2");
  const Case cases[] = {
      {.name = "accepted", .token = Stored("Accepted"), .status = "Accepted", .cached = true},
      {.name = "blocked", .token = Stored("Blocked"), .status = "Blocked"},
      {.name = "stored Expired", .token = Stored("Expired"), .status = "Expired"},
      {.name = "invalid", .token = Stored("Invalid"), .status = "Invalid"},
      {.name = "past its expiry", .token = expired, .status = "Expired"},
      {.name = "unknown", .status = "Unknown"},
      {.name = "unknown, free vend",
       .accept_unknown = true,
       .status = "Accepted",
       .admitted_unknown = true},
      {.name = "NoAuthorization", .type = "NoAuthorization", .status = "Accepted"},
      {.name = "the CSMS's own Central token",
       .type = "Central",
       .central_sent = true,
       .status = "Accepted"},
      {.name = "a Central token the CSMS did not send", .type = "Central", .status = "Unknown"},
      {.name = "a sent token of another type is not it", .central_sent = true, .status = "Unknown"},
      {.name = "at one of its stations",
       .token = at_two,
       .station = "S2",
       .status = "Accepted",
       .cached = true},
      {.name = "at another station",
       .token = at_two,
       .station = "S3",
       .status = "NotAtThisLocation"},
      {.name = "at a charger of no station", .token = at_two, .status = "NotAtThisLocation"},
      {.name = "blocked wins over the station",
       .token = Stored("Blocked"),
       .station = "S3",
       .status = "Blocked"},
  };
  for (const auto& c : cases) {
    AuthorizeFacts facts;
    facts.id_token = "04a2b3";
    facts.type = c.type;
    facts.token = c.token;
    facts.station_id = c.station;
    facts.central_token_sent = c.central_sent;
    facts.now = At("2026-12-07T08:00:00Z");
    AuthorizeOptions options;
    options.accept_unknown = c.accept_unknown;
    const AuthorizeDecision d = DecideAuthorization(facts, options);
    EXPECT_EQ(d.status, c.status) << c.name;
    EXPECT_EQ(d.cache_expiry.has_value(), c.cached) << c.name;
    EXPECT_EQ(d.admitted_unknown, c.admitted_unknown) << c.name;
    EXPECT_FALSE(d.reason.empty()) << c.name;
  }
}

TEST(DecideAuthorization, CarriesGroupLanguageMessageAndBoundsTheCache) {
  v1::Token t = Stored("Accepted");
  t.mutable_group()->set_id_token("FLEET-7");
  t.mutable_group()->set_type("Central");
  t.set_language("ko");
  t.set_personal_message("Welcome back");
  *t.mutable_expires_at() = ToProto(At("2026-12-07T09:00:00Z"));
  AuthorizeFacts facts{"04a2b3", "ISO14443", t, "", false, At("2026-12-07T08:00:00Z")};
  AuthorizeOptions options;  // a day's cache, cut at the token's expiry an hour later
  const AuthorizeDecision d = DecideAuthorization(facts, options);
  EXPECT_EQ(d.status, "Accepted");
  ASSERT_TRUE(d.cache_expiry);
  EXPECT_EQ(*d.cache_expiry, At("2026-12-07T09:00:00Z"));
  ASSERT_TRUE(d.group);
  EXPECT_EQ(d.group->id_token(), "FLEET-7");
  v1::AuthorizeTokenResponse out;
  FillAuthorizeResponse(d, &out);
  EXPECT_EQ(out.status(), "Accepted");
  EXPECT_EQ(out.group_id_token(), "FLEET-7");
  EXPECT_EQ(out.group_type(), "Central");
  EXPECT_EQ(out.language(), "ko");
  EXPECT_EQ(out.personal_message(), "Welcome back");
  EXPECT_TRUE(out.has_cache_expiry());
  // A blocked token still names its group (a charger may use it to stop a session, C09).
  t.set_status("Blocked");
  facts.token = t;
  EXPECT_TRUE(DecideAuthorization(facts, options).group);
}

}  // namespace
}  // namespace csms::control
