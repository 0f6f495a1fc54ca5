// E05, C09, ConcurrentTx through the gateway (issue 14): a TransactionEvent that carries an
// idToken is decided by control (with the transaction's context) before billing stores it with
// the decision; the charger gets the idTokenInfo billing stored with the event's first copy.
// When control cannot decide, the event is still stored and accepted, flagged "not checked".
#include <gtest/gtest.h>

#include "router_fixture.h"

namespace csms::gateway {
namespace {

using nlohmann::json;

json WithToken(json payload, const std::string& token, const std::string& type = "ISO14443") {
  payload["idToken"] = {{"idToken", token}, {"type", type}};
  return payload;
}

// A Started on EVSE 2 for remote start 77 with token RFID-9.
json RemoteStarted() {
  json payload = WithToken(StandardTx("Started", 0), "RFID-9");
  payload["triggerReason"] = "RemoteStart";
  payload["transactionInfo"]["remoteStartId"] = 77;
  payload["evse"] = {{"id", 2}, {"connectorId", 1}};
  return payload;
}

class TransactionAuthorizationTest : public CallRouterTest {
 protected:
  TransactionAuthorizationTest() { backend_.authorize_status = ""; }  // keep the completion

  static control::v1::AuthorizeTokenResponse Decision(const std::string& status) {
    control::v1::AuthorizeTokenResponse d;
    d.set_status(status);
    return d;
  }
};

TEST_F(TransactionAuthorizationTest, TokenIsDecidedForTheTransactionBeforeItIsStored) {
  Send("te-1", "TransactionEvent", RemoteStarted());
  ASSERT_EQ(backend_.authorizations.size(), 1u);
  const control::v1::AuthorizeTokenRequest& asked = backend_.authorizations[0];
  EXPECT_EQ(asked.charger_id(), "CS001");
  EXPECT_EQ(asked.id_token(), "RFID-9");
  EXPECT_EQ(asked.type(), "ISO14443");
  ASSERT_TRUE(asked.has_transaction());
  EXPECT_EQ(asked.transaction().transaction_id(), "tx-42");
  EXPECT_EQ(asked.transaction().event_type(), ocpp::v1::TRANSACTION_EVENT_TYPE_STARTED);
  EXPECT_EQ(asked.transaction().evse_id(), 2);
  ASSERT_TRUE(asked.transaction().has_remote_start_id());
  EXPECT_EQ(asked.transaction().remote_start_id(), 77);
  EXPECT_EQ(FromProto(asked.transaction().timestamp()), *ParseRfc3339("2026-11-24T09:10:00Z"));
  EXPECT_TRUE(backend_.recorded.empty()) << "stored before control decided";
  EXPECT_TRUE(replies_.empty());

  control::v1::AuthorizeTokenResponse d = Decision("Blocked");
  d.set_group_id_token("FLEET");
  d.set_group_type("Central");
  d.set_personal_message("Call us");
  d.set_account_id("acct-1");
  d.set_flagged(true);
  d.set_reason("stored status Blocked");
  backend_.authorize_done.at(0)(grpc::Status::OK, d);

  const json info = {{"status", "Blocked"},
                     {"groupIdToken", {{"idToken", "FLEET"}, {"type", "Central"}}},
                     {"personalMessage", {{"format", "UTF8"}, {"content", "Call us"}}}};
  ASSERT_EQ(backend_.recorded.size(), 1u);
  const ocpp::v1::TransactionEvent& event = backend_.recorded[0];
  EXPECT_EQ(event.id_token(), "RFID-9");
  ASSERT_TRUE(event.has_id_token_decision());
  EXPECT_EQ(event.id_token_decision().status(), "Blocked");
  EXPECT_EQ(event.id_token_decision().account_id(), "acct-1");
  EXPECT_TRUE(event.id_token_decision().flagged());
  EXPECT_EQ(event.id_token_decision().reason(), "stored status Blocked");
  EXPECT_EQ(json::parse(event.id_token_decision().id_token_info_json()), info);
  EXPECT_TRUE(replies_.empty()) << "answered before billing stored the event";

  backend_.record_done.at(0)(grpc::Status::OK, Stored(0, 0));  // billing echoes no answer
  EXPECT_EQ(ExpectResult("te-1"), (json{{"idTokenInfo", info}}));
  ASSERT_EQ(backend_.tx_reports.size(), 1u);
}

TEST_F(TransactionAuthorizationTest, EachEventTypeAsksWithItsOwnContext) {
  struct Case {
    const char* name;
    const char* type;
    bool evse;
    bool remote;
    ocpp::v1::TransactionEventType expected_type;
  };
  const Case cases[] = {
      {"Started", "Started", true, true, ocpp::v1::TRANSACTION_EVENT_TYPE_STARTED},
      {"Updated, no EVSE", "Updated", false, false, ocpp::v1::TRANSACTION_EVENT_TYPE_UPDATED},
      {"Ended (a stop token)", "Ended", true, false, ocpp::v1::TRANSACTION_EVENT_TYPE_ENDED},
  };
  int seq = 0;
  for (const auto& c : cases) {
    json payload = WithToken(StandardTx(c.type, seq), "STOP-1", "Local");
    if (c.evse) payload["evse"] = {{"id", 3}};
    if (c.remote) payload["transactionInfo"]["remoteStartId"] = 5;
    Send("c-" + std::to_string(seq), "TransactionEvent", payload);
    ASSERT_EQ(backend_.authorizations.size(), static_cast<size_t>(seq + 1)) << c.name;
    const auto& context = backend_.authorizations.back().transaction();
    EXPECT_EQ(backend_.authorizations.back().type(), "Local") << c.name;
    EXPECT_EQ(context.transaction_id(), "tx-42") << c.name;
    EXPECT_EQ(context.event_type(), c.expected_type) << c.name;
    EXPECT_EQ(context.evse_id(), c.evse ? 3 : 0) << c.name;
    EXPECT_EQ(context.has_remote_start_id(), c.remote) << c.name;
    ++seq;
  }
}

TEST_F(TransactionAuthorizationTest, ControlUnreachableStillStoresAndAcceptsFlagged) {
  Send("te-2", "TransactionEvent", RemoteStarted());
  ASSERT_EQ(backend_.authorize_done.size(), 1u);
  backend_.authorize_done[0](grpc::Status(grpc::StatusCode::UNAVAILABLE, "control down"),
                             control::v1::AuthorizeTokenResponse());
  ASSERT_EQ(backend_.recorded.size(), 1u);
  const ocpp::v1::IdTokenDecision& decision = backend_.recorded[0].id_token_decision();
  EXPECT_EQ(decision.status(), "Accepted");
  EXPECT_TRUE(decision.flagged());
  EXPECT_EQ(decision.account_id(), "");
  EXPECT_EQ(decision.reason().rfind("not checked (", 0), 0u) << decision.reason();
  EXPECT_NE(decision.reason().find("control down"), std::string::npos) << decision.reason();
  EXPECT_EQ(json::parse(decision.id_token_info_json()), (json{{"status", "Accepted"}}));
  backend_.record_done.at(0)(grpc::Status::OK, Stored(0, 0));
  EXPECT_EQ(ExpectResult("te-2"), (json{{"idTokenInfo", {{"status", "Accepted"}}}}));
}

TEST_F(TransactionAuthorizationTest, StatusTheSchemaDoesNotKnowIsNotCheckedEither) {
  Send("te-3", "TransactionEvent", RemoteStarted());
  backend_.authorize_done.at(0)(grpc::Status::OK, Decision("Maybe"));
  ASSERT_EQ(backend_.recorded.size(), 1u);
  const ocpp::v1::IdTokenDecision& decision = backend_.recorded[0].id_token_decision();
  EXPECT_EQ(decision.status(), "Accepted");
  EXPECT_TRUE(decision.flagged());
  EXPECT_EQ(decision.reason().rfind("not checked (", 0), 0u) << decision.reason();
  EXPECT_NE(decision.reason().find("Maybe"), std::string::npos) << decision.reason();
  backend_.record_done.at(0)(grpc::Status::OK, Stored(0, 0));
  EXPECT_EQ(ExpectResult("te-3"), (json{{"idTokenInfo", {{"status", "Accepted"}}}}));
}

// A repeated event: control decides again (the token may be blocked by now), but billing knows
// the event and returns the answer stored with its first copy, which the charger gets.
TEST_F(TransactionAuthorizationTest, BillingsStoredAnswerWinsForARepeatedEvent) {
  Send("te-4", "TransactionEvent", RemoteStarted());
  backend_.authorize_done.at(0)(grpc::Status::OK, Decision("Blocked"));
  ASSERT_EQ(backend_.recorded.size(), 1u);
  EXPECT_EQ(backend_.recorded[0].id_token_decision().status(), "Blocked");
  billing::v1::RecordTransactionEventResponse stored = Stored(0, 0);
  stored.set_duplicate(true);
  // As PostgreSQL's jsonb gives it back (key order and spacing its own).
  stored.set_id_token_info_json(
      R"({"status": "Accepted", "cacheExpiryDateTime": "2026-11-25T09:10:00.000Z"})");
  backend_.record_done.at(0)(grpc::Status::OK, stored);
  EXPECT_EQ(
      ExpectResult("te-4"),
      (json{{"idTokenInfo",
             {{"status", "Accepted"}, {"cacheExpiryDateTime", "2026-11-25T09:10:00.000Z"}}}}));
}

// A repeat of an event that billing stored before decisions were kept (migration 0003) comes
// back as a duplicate without a stored answer: it was answered Accepted then, and is again,
// whatever the repeat's fresh decision.
TEST_F(TransactionAuthorizationTest, RepeatOfAnEventStoredBeforeDecisionsIsAnsweredAccepted) {
  Send("te-8", "TransactionEvent", RemoteStarted());
  backend_.authorize_done.at(0)(grpc::Status::OK, Decision("Blocked"));
  billing::v1::RecordTransactionEventResponse stored = Stored(0, 0);
  stored.set_duplicate(true);  // and no id_token_info_json: stored before decisions were kept
  backend_.record_done.at(0)(grpc::Status::OK, stored);
  EXPECT_EQ(ExpectResult("te-8"), (json{{"idTokenInfo", {{"status", "Accepted"}}}}));
}

TEST_F(TransactionAuthorizationTest, EventWithoutIdTokenDoesNotAskControl) {
  Send("te-5", "TransactionEvent", StandardTx("Updated", 4));
  EXPECT_TRUE(backend_.authorizations.empty());
  ASSERT_EQ(backend_.recorded.size(), 1u);
  EXPECT_FALSE(backend_.recorded[0].has_id_token_decision());
  backend_.record_done.at(0)(grpc::Status::OK, Stored(0, 0));
  EXPECT_EQ(ExpectResult("te-5"), json::object());
}

// C02.FR.02: NoAuthorization has an empty idToken; it is a token all the same.
TEST_F(TransactionAuthorizationTest, NoAuthorizationTokenIsAskedToo) {
  Send("te-6", "TransactionEvent", WithToken(StandardTx("Started", 0), "", "NoAuthorization"));
  ASSERT_EQ(backend_.authorizations.size(), 1u);
  EXPECT_EQ(backend_.authorizations[0].id_token(), "");
  EXPECT_EQ(backend_.authorizations[0].type(), "NoAuthorization");
  control::v1::AuthorizeTokenResponse d = Decision("Accepted");
  d.set_reason("NoAuthorization token");
  backend_.authorize_done.at(0)(grpc::Status::OK, d);
  ASSERT_EQ(backend_.recorded.size(), 1u);
  EXPECT_EQ(backend_.recorded[0].id_token_decision().reason(), "NoAuthorization token");
  EXPECT_FALSE(backend_.recorded[0].id_token_decision().flagged());
  backend_.record_done.at(0)(grpc::Status::OK, Stored(0, 0));
  EXPECT_EQ(ExpectResult("te-6"), (json{{"idTokenInfo", {{"status", "Accepted"}}}}));
}

// Billing refusing the event is still a CALLERROR after control decided: never acknowledged
// unstored.
TEST_F(TransactionAuthorizationTest, BillingFailureAfterTheDecisionIsInternalError) {
  Send("te-7", "TransactionEvent", RemoteStarted());
  backend_.authorize_done.at(0)(grpc::Status::OK, Decision("Accepted"));
  backend_.record_done.at(0)(grpc::Status(grpc::StatusCode::INTERNAL, "disk full"),
                             billing::v1::RecordTransactionEventResponse());
  ExpectError("te-7", "InternalError");
  EXPECT_TRUE(backend_.tx_reports.empty());
}

}  // namespace
}  // namespace csms::gateway
