#include "csms/gateway/handshake.h"

#include <gtest/gtest.h>

#include <cctype>
#include <optional>
#include <set>
#include <string>

#include "csms/gateway/gateway_app.h"

namespace csms::gateway {
namespace {

using std::nullopt;
using std::optional;
using std::string;

TEST(StationIdTest, LastPathSegment) {
  EXPECT_EQ(StationIdFromTarget("/ocpp/CS001"), optional<string>("CS001"));
  EXPECT_EQ(StationIdFromTarget("/CS001"), optional<string>("CS001"));
  EXPECT_EQ(StationIdFromTarget("/a/b/c/CS001"), optional<string>("CS001"));
}

TEST(StationIdTest, OcppVersionInUrlIsJustAPathSegment) {
  EXPECT_EQ(StationIdFromTarget("/ocpp2.0.1/CS001"), optional<string>("CS001"));
}

TEST(StationIdTest, QueryAndFragmentAreIgnored) {
  EXPECT_EQ(StationIdFromTarget("/ocpp/CS001?token=abc&x=1"), optional<string>("CS001"));
  EXPECT_EQ(StationIdFromTarget("/ocpp/CS001#frag"), optional<string>("CS001"));
  EXPECT_EQ(StationIdFromTarget("/ocpp/CS001?next=/ocpp/OTHER"), optional<string>("CS001"));
}

TEST(StationIdTest, TrailingSlashIsIgnored) {
  EXPECT_EQ(StationIdFromTarget("/ocpp/CS001/"), optional<string>("CS001"));
  EXPECT_EQ(StationIdFromTarget("/ocpp/CS001/?a=b"), optional<string>("CS001"));
}

TEST(StationIdTest, EmptyTargetsAreRefused) {
  EXPECT_EQ(StationIdFromTarget(""), nullopt);
  EXPECT_EQ(StationIdFromTarget("/"), nullopt);
  EXPECT_EQ(StationIdFromTarget("//"), nullopt);
  EXPECT_EQ(StationIdFromTarget("/?id=CS001"), nullopt);
}

TEST(StationIdTest, AllIdentifierStringCharactersAreAllowed) {
  EXPECT_EQ(StationIdFromTarget("/ocpp/aZ09*-_=:+|@."), optional<string>("aZ09*-_=:+|@."));
}

TEST(StationIdTest, PercentEncodingIsDecoded) {
  EXPECT_EQ(StationIdFromTarget("/ocpp/CS%2D001"), optional<string>("CS-001"));
  EXPECT_EQ(StationIdFromTarget("/ocpp/cs%3a1"), optional<string>("cs:1"));
  EXPECT_EQ(StationIdFromTarget("/ocpp/%41%42%43"), optional<string>("ABC"));
}

TEST(StationIdTest, EncodedSpaceIsRefusedBecauseNotInIdentifierString) {
  EXPECT_EQ(StationIdFromTarget("/ocpp/RDAM%20123"), nullopt);
}

TEST(StationIdTest, EncodedSlashIsRefused) {
  EXPECT_EQ(StationIdFromTarget("/ocpp/a%2Fb"), nullopt);
  EXPECT_EQ(StationIdFromTarget("/ocpp/a%2fb"), nullopt);
}

TEST(StationIdTest, BrokenPercentEscapesAreRefused) {
  EXPECT_EQ(StationIdFromTarget("/ocpp/CS%"), nullopt);
  EXPECT_EQ(StationIdFromTarget("/ocpp/CS%4"), nullopt);
  EXPECT_EQ(StationIdFromTarget("/ocpp/CS%zz1"), nullopt);
}

TEST(StationIdTest, CharactersOutsideIdentifierStringAreRefused) {
  for (const char* target : {"/ocpp/CS 001", "/ocpp/CS!1", "/ocpp/CS$", "/ocpp/CS%00",
                             "/ocpp/CS%C3%A9", "/ocpp/CS\"1", "/ocpp/CS<1>"}) {
    EXPECT_EQ(StationIdFromTarget(target), nullopt) << target;
  }
}

TEST(StationIdTest, LengthLimitIs48Characters) {
  string id48(48, 'a');
  EXPECT_EQ(StationIdFromTarget("/ocpp/" + id48), optional<string>(id48));
  EXPECT_EQ(StationIdFromTarget("/ocpp/" + string(49, 'a')), nullopt);
}

TEST(StationIdTest, LengthIsCountedAfterDecoding) {
  // 48 characters once decoded, 50 on the wire.
  string encoded = string(47, 'a') + "%41";
  EXPECT_EQ(StationIdFromTarget("/ocpp/" + encoded), optional<string>(string(47, 'a') + "A"));
}

TEST(SubprotocolTest, PicksOcpp201FromList) {
  EXPECT_EQ(SelectSubprotocol("ocpp1.6, ocpp2.0.1"), optional<string>("ocpp2.0.1"));
  EXPECT_EQ(SelectSubprotocol("ocpp2.0.1, ocpp1.6"), optional<string>("ocpp2.0.1"));
  EXPECT_EQ(SelectSubprotocol("ocpp2.0.1"), optional<string>("ocpp2.0.1"));
  EXPECT_EQ(SelectSubprotocol("ocpp0.1,ocpp2.0.1"), optional<string>("ocpp2.0.1"));
  EXPECT_EQ(SelectSubprotocol("  ocpp1.6 ,\tocpp2.0.1  "), optional<string>("ocpp2.0.1"));
}

TEST(SubprotocolTest, NoSupportedVersion) {
  EXPECT_EQ(SelectSubprotocol("ocpp1.6"), nullopt);
  EXPECT_EQ(SelectSubprotocol(""), nullopt);
  EXPECT_EQ(SelectSubprotocol("ocpp0.1"), nullopt);
  EXPECT_EQ(SelectSubprotocol("ocpp2.0"), nullopt);
  EXPECT_EQ(SelectSubprotocol("ocpp2.0.1.1"), nullopt);
  EXPECT_EQ(SelectSubprotocol("ocpp2.1"), nullopt);
  EXPECT_EQ(SelectSubprotocol(","), nullopt);
  EXPECT_EQ(SelectSubprotocol("ocpp2.0.1x, ocpp1.6"), nullopt);
}

bool IsLowerHex(char c) {
  return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
}

TEST(IdsTest, MessageIdIsUuidV4Text) {
  string id = NewMessageId();
  ASSERT_EQ(id.size(), 36u) << id;
  for (size_t i = 0; i < id.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      EXPECT_EQ(id[i], '-') << id;
    } else {
      EXPECT_TRUE(IsLowerHex(id[i])) << id;
    }
  }
  EXPECT_EQ(id[14], '4') << id;
  EXPECT_NE(string("89ab").find(id[19]), string::npos) << id;
}

TEST(IdsTest, MessageIdsAreUnique) {
  std::set<string> ids;
  for (int i = 0; i < 10000; ++i) {
    string id = NewMessageId();
    EXPECT_EQ(id.size(), 36u);
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 10000u);
}

TEST(IdsTest, ConnectionIdsAreShortAndUnique) {
  std::set<string> ids;
  for (int i = 0; i < 1000; ++i) {
    string id = NewConnectionId();
    ASSERT_EQ(id.size(), 18u) << id;
    EXPECT_EQ(id.rfind("c-", 0), 0u) << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 1000u);
}

// ---- HTTP Basic auth (OCPP security profile 1) --------------------------------------------

TEST(BasicAuthTest, ParsesUserAndPassword) {
  // base64("CS001:pass:with:colons")
  auto c = ParseBasicAuthorization("Basic Q1MwMDE6cGFzczp3aXRoOmNvbG9ucw==");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->username, "CS001");
  EXPECT_EQ(c->password, "pass:with:colons");  // only the first ':' splits (RFC 7617)
  auto lower = ParseBasicAuthorization("basic   Q1MwMDE6eA== ");
  ASSERT_TRUE(lower);
  EXPECT_EQ(lower->password, "x");
  auto empty_password = ParseBasicAuthorization("Basic Q1MwMDE6");  // "CS001:"
  ASSERT_TRUE(empty_password);
  EXPECT_EQ(empty_password->password, "");
}

TEST(BasicAuthTest, RefusesWhatIsNotBasic) {
  for (const char* header : {"", "Basic", "Basic ", "Bearer Q1MwMDE6eA==", "BasicQ1MwMDE6eA==",
                             "Basic Q1MwMDE=",       // "CS001": no colon
                             "Basic Q1MwMDE6eA==x",  // data after padding
                             "Basic Q1Mw*DE6eA==",   // not base64
                             "Digest username=CS001"}) {
    EXPECT_FALSE(ParseBasicAuthorization(header)) << header;
  }
}

TEST(FailureLimiterTest, BurstThenOnePerRefillPerAddress) {
  using namespace std::chrono_literals;
  FailureLimiter limiter(3, 1000ms);
  auto t0 = std::chrono::steady_clock::time_point() + 1h;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limiter.Allowed("10.0.0.1", t0)) << i;
    limiter.RecordFailure("10.0.0.1", t0);
  }
  EXPECT_FALSE(limiter.Allowed("10.0.0.1", t0));
  EXPECT_TRUE(limiter.Allowed("10.0.0.2", t0));  // per address
  EXPECT_FALSE(limiter.Allowed("10.0.0.1", t0 + 900ms));
  EXPECT_TRUE(limiter.Allowed("10.0.0.1", t0 + 1000ms));
  limiter.RecordFailure("10.0.0.1", t0 + 1000ms);
  EXPECT_FALSE(limiter.Allowed("10.0.0.1", t0 + 1500ms));
  EXPECT_TRUE(limiter.Allowed("10.0.0.1", t0 + 10s));
}

// Secure by default: only provisioned chargers connect unless the operator says open.
TEST(GatewayFlagsTest, StationAuthIsRequiredByDefault) {
  bool found = false;
  for (const auto& spec : GatewayFlags()) {
    if (spec.name != "station-auth") continue;
    found = true;
    EXPECT_EQ(spec.default_value, "required");
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace csms::gateway
