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
  std::optional<v1::Token> token = std::nullopt;
  std::string station = "";
  bool central_sent = false;
  bool accept_unknown = false;
  std::string status;
  bool cached = false;  // an Accepted answer carries cacheExpiryDateTime
  bool admitted_unknown = false;
  bool flagged = false;  // a session on it deserves an operator's look
};

TEST(DecideAuthorization, CaseTable) {
  v1::Token expired = Stored("Accepted");
  *expired.mutable_expires_at() = ToProto(At("2026-12-07T07:00:00Z"));
  v1::Token at_two = Stored("Accepted");
  at_two.mutable_stations()->add_station_ids("S1");
  at_two.mutable_stations()->add_station_ids("S2");
  const Case cases[] = {
      {.name = "accepted", .token = Stored("Accepted"), .status = "Accepted", .cached = true},
      {.name = "blocked", .token = Stored("Blocked"), .status = "Blocked", .flagged = true},
      {.name = "stored Expired", .token = Stored("Expired"), .status = "Expired", .flagged = true},
      {.name = "invalid", .token = Stored("Invalid"), .status = "Invalid", .flagged = true},
      {.name = "past its expiry", .token = expired, .status = "Expired", .flagged = true},
      {.name = "unknown", .status = "Unknown", .flagged = true},
      {.name = "unknown, free vend",
       .accept_unknown = true,
       .status = "Accepted",
       .admitted_unknown = true,
       .flagged = true},
      {.name = "NoAuthorization", .type = "NoAuthorization", .status = "Accepted"},
      {.name = "the CSMS's own Central token",
       .type = "Central",
       .central_sent = true,
       .status = "Accepted"},
      {.name = "a Central token the CSMS did not send",
       .type = "Central",
       .status = "Unknown",
       .flagged = true},
      {.name = "a sent token of another type is not it",
       .central_sent = true,
       .status = "Unknown",
       .flagged = true},
      {.name = "at one of its stations",
       .token = at_two,
       .station = "S2",
       .status = "Accepted",
       .cached = true},
      {.name = "at another station",
       .token = at_two,
       .station = "S3",
       .status = "NotAtThisLocation",
       .flagged = true},
      {.name = "at a charger of no station",
       .token = at_two,
       .status = "NotAtThisLocation",
       .flagged = true},
      {.name = "blocked wins over the station",
       .token = Stored("Blocked"),
       .station = "S3",
       .status = "Blocked",
       .flagged = true},
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
    EXPECT_EQ(d.flagged, c.flagged) << c.name;
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

// A stored token of customer account acct-9 that may run `max` transactions at once.
v1::Token WithMax(const std::string& status, int max) {
  v1::Token t = Stored(status);
  t.set_max_concurrent(max);
  t.set_account_id("acct-9");
  return t;
}

// TransactionEvents' tokens (E05, ConcurrentTx): the Authorize decision, then the transaction's
// facts: its first decision is kept, and a session-authorizing token at its maximum is
// ConcurrentTx.
TEST(DecideTransactionToken, CaseTable) {
  struct TxCase {
    const char* name;
    std::string type = "ISO14443";
    std::optional<v1::Token> token = std::nullopt;
    bool central_sent = false;
    bool accept_unknown = false;
    bool authorizes_session = false;
    int64_t active = 0;
    std::optional<std::string> first_status = std::nullopt;
    // Expected:
    std::string status;
    bool cached = false;
    bool flagged = false;
    bool admitted_unknown = false;
    std::string account = "";
    const char* reason_part = "";  // "" : any reason, not empty
  };
  v1::Token expired = WithMax("Accepted", 1);
  *expired.mutable_expires_at() = ToProto(At("2026-12-07T07:00:00Z"));
  const TxCase cases[] = {
      {.name = "max 1, none running",
       .token = WithMax("Accepted", 1),
       .authorizes_session = true,
       .status = "Accepted",
       .cached = true,
       .account = "acct-9",
       .reason_part = "accepted"},
      {.name = "max 1, one running: at its maximum",
       .token = WithMax("Accepted", 1),
       .authorizes_session = true,
       .active = 1,
       .status = "ConcurrentTx",
       .flagged = true,
       .account = "acct-9",
       .reason_part = "already runs 1 transaction(s)"},
      {.name = "max 2, one running: below",
       .token = WithMax("Accepted", 2),
       .authorizes_session = true,
       .active = 1,
       .status = "Accepted",
       .cached = true,
       .account = "acct-9"},
      {.name = "max 2, two running: at",
       .token = WithMax("Accepted", 2),
       .authorizes_session = true,
       .active = 2,
       .status = "ConcurrentTx",
       .flagged = true,
       .account = "acct-9",
       .reason_part = "already runs 2 transaction(s)"},
      {.name = "max 2, three running: above",
       .token = WithMax("Accepted", 2),
       .authorizes_session = true,
       .active = 3,
       .status = "ConcurrentTx",
       .flagged = true,
       .account = "acct-9",
       .reason_part = "already runs 3 transaction(s)"},
      {.name = "max 0 is taken as 1: none running",
       .token = WithMax("Accepted", 0),
       .authorizes_session = true,
       .status = "Accepted",
       .cached = true,
       .account = "acct-9"},
      {.name = "max 0 is taken as 1: one running",
       .token = WithMax("Accepted", 0),
       .authorizes_session = true,
       .active = 1,
       .status = "ConcurrentTx",
       .flagged = true,
       .account = "acct-9"},
      {.name = "not authorizing the session (Ended, or a later token) never counts",
       .token = WithMax("Accepted", 1),
       .active = 5,
       .status = "Accepted",
       .cached = true,
       .account = "acct-9"},
      {.name = "blocked stays blocked, not ConcurrentTx",
       .token = WithMax("Blocked", 1),
       .authorizes_session = true,
       .active = 3,
       .status = "Blocked",
       .flagged = true,
       .account = "acct-9",
       .reason_part = "stored status Blocked"},
      {.name = "past its expiry stays Expired",
       .token = expired,
       .authorizes_session = true,
       .active = 3,
       .status = "Expired",
       .flagged = true,
       .account = "acct-9"},
      {.name = "first Accepted kept after the token was blocked",
       .token = WithMax("Blocked", 1),
       .first_status = "Accepted",
       .status = "Accepted",
       .account = "acct-9",
       .reason_part = "as first decided for this transaction (now Blocked"},
      {.name = "first Blocked kept after the token was unblocked",
       .token = WithMax("Accepted", 1),
       .first_status = "Blocked",
       .status = "Blocked",
       .flagged = true,
       .account = "acct-9",
       .reason_part = "as first decided for this transaction (now Accepted"},
      {.name = "first ConcurrentTx kept though nothing else runs now",
       .token = WithMax("Accepted", 1),
       .first_status = "ConcurrentTx",
       .status = "ConcurrentTx",
       .flagged = true,
       .account = "acct-9",
       .reason_part = "(now Accepted"},
      {.name = "first status wins over the count",
       .token = WithMax("Accepted", 1),
       .authorizes_session = true,
       .active = 4,
       .first_status = "Accepted",
       .status = "Accepted",
       .cached = true,
       .account = "acct-9",
       .reason_part = "accepted"},
      {.name = "unknown token",
       .authorizes_session = true,
       .status = "Unknown",
       .flagged = true,
       .reason_part = "not in the token store"},
      {.name = "unknown token admitted (free vend) is flagged, never ConcurrentTx",
       .accept_unknown = true,
       .authorizes_session = true,
       .active = 7,
       .status = "Accepted",
       .flagged = true,
       .admitted_unknown = true,
       .reason_part = "--unknown-tokens accept"},
      {.name = "first decided as an admitted unknown: still flagged",
       .accept_unknown = true,
       .first_status = "Accepted",
       .status = "Accepted",
       .flagged = true,
       .admitted_unknown = true},
      {.name = "NoAuthorization",
       .type = "NoAuthorization",
       .authorizes_session = true,
       .active = 3,
       .status = "Accepted",
       .reason_part = "NoAuthorization"},
      {.name = "the CSMS's own Central token",
       .type = "Central",
       .central_sent = true,
       .authorizes_session = true,
       .active = 3,
       .status = "Accepted",
       .reason_part = "remote start"},
  };
  for (const auto& c : cases) {
    AuthorizeFacts facts;
    facts.id_token = "04a2b3";
    facts.type = c.type;
    facts.token = c.token;
    facts.central_token_sent = c.central_sent;
    facts.now = At("2026-12-07T08:00:00Z");
    TransactionTokenFacts transaction;
    transaction.authorizes_session = c.authorizes_session;
    transaction.active_sessions = c.active;
    transaction.first_status = c.first_status;
    AuthorizeOptions options;
    options.accept_unknown = c.accept_unknown;
    const AuthorizeDecision d = DecideTransactionToken(facts, transaction, options);
    EXPECT_EQ(d.status, c.status) << c.name;
    EXPECT_EQ(d.cache_expiry.has_value(), c.cached) << c.name;
    if (c.cached) {
      EXPECT_EQ(*d.cache_expiry, At("2026-12-08T08:00:00Z")) << c.name;
    }
    EXPECT_EQ(d.flagged, c.flagged) << c.name;
    EXPECT_EQ(d.admitted_unknown, c.admitted_unknown) << c.name;
    EXPECT_EQ(d.account_id, c.account) << c.name;
    EXPECT_FALSE(d.reason.empty()) << c.name;
    EXPECT_NE(d.reason.find(c.reason_part), std::string::npos) << c.name << ": " << d.reason;
  }
}

// The first status kept does not change what else the answer carries: the token's group,
// language and message stay (a stop by a group member needs the group, C09), and the reason
// says only what differs.
TEST(DecideTransactionToken, KeptStatusKeepsTheTokensDetails) {
  v1::Token t = WithMax("Blocked", 1);
  t.mutable_group()->set_id_token("FLEET-7");
  t.mutable_group()->set_type("Central");
  t.set_personal_message("Blocked, call us");
  AuthorizeFacts facts{"04a2b3", "ISO14443", t, "", false, At("2026-12-07T08:00:00Z")};
  TransactionTokenFacts transaction;
  transaction.first_status = "Accepted";
  const AuthorizeDecision kept = DecideTransactionToken(facts, transaction, AuthorizeOptions{});
  EXPECT_EQ(kept.status, "Accepted");
  EXPECT_FALSE(kept.flagged);
  EXPECT_EQ(kept.reason,
            "as first decided for this transaction (now Blocked: stored status Blocked)");
  ASSERT_TRUE(kept.group);
  EXPECT_EQ(kept.group->id_token(), "FLEET-7");
  EXPECT_EQ(kept.personal_message, "Blocked, call us");
  EXPECT_EQ(kept.account_id, "acct-9");
  // The same status as now: the reason is the decision's own.
  transaction.first_status = "Blocked";
  const AuthorizeDecision same = DecideTransactionToken(facts, transaction, AuthorizeOptions{});
  EXPECT_EQ(same.status, "Blocked");
  EXPECT_EQ(same.reason, "stored status Blocked");
  EXPECT_TRUE(same.flagged);
  // The response carries account and flag for the gateway.
  v1::AuthorizeTokenResponse out;
  FillAuthorizeResponse(same, &out);
  EXPECT_EQ(out.account_id(), "acct-9");
  EXPECT_TRUE(out.flagged());
  EXPECT_EQ(out.reason(), "stored status Blocked");
  EXPECT_FALSE(out.has_cache_expiry());
}

// DecideAuthorization names the token's account whatever the status, and none for tokens the
// store does not hold.
TEST(DecideAuthorization, CarriesTheAccount) {
  for (const char* status : {"Accepted", "Blocked", "Expired", "Invalid"}) {
    AuthorizeFacts facts{"04a2b3", "ISO14443", WithMax(status, 1),
                         "",       false,      At("2026-12-07T08:00:00Z")};
    EXPECT_EQ(DecideAuthorization(facts, AuthorizeOptions{}).account_id, "acct-9") << status;
  }
  AuthorizeFacts unknown{"04a2b3", "ISO14443", std::nullopt, "", false, At("2026-12-07T08:00:00Z")};
  AuthorizeOptions free_vend;
  free_vend.accept_unknown = true;
  EXPECT_EQ(DecideAuthorization(unknown, free_vend).account_id, "");
}

}  // namespace
}  // namespace csms::control
