// E: TransactionEvent answered only once stored, in both dialects.
#include <gtest/gtest.h>

#include "router_fixture.h"

namespace csms::gateway {
namespace {

using nlohmann::json;
using ocpp::Frame;

// ---- TransactionEvent ----------------------------------------------------------------------

TEST_F(CallRouterTest, TransactionEventRepliesOnlyAfterBackendStoredIt) {
  Send("t-1", "TransactionEvent", StandardTx("Updated", 2));
  ASSERT_EQ(backend_.recorded.size(), 1u);
  EXPECT_TRUE(replies_.empty()) << "acknowledged before billing stored the event";
  const auto& event = backend_.recorded[0];
  EXPECT_EQ(event.charger_id(), "CS001");
  EXPECT_EQ(event.connection_id(), "c-1");
  EXPECT_EQ(event.transaction_id(), "tx-42");
  EXPECT_EQ(event.event_type(), ocpp::v1::TRANSACTION_EVENT_TYPE_UPDATED);
  EXPECT_EQ(event.dedup_key(), "seq:2");
  EXPECT_DOUBLE_EQ(event.energy_register_wh(), 2500.0);
  EXPECT_EQ(FromProto(event.received_at()), testing::FixedTime());
  EXPECT_TRUE(backend_.tx_reports.empty());

  backend_.record_done[0](grpc::Status::OK, Stored(375, 2.5));
  EXPECT_EQ(ExpectResult("t-1"), json::object());  // Updated, no idToken: nothing to say
  ASSERT_EQ(backend_.tx_reports.size(), 1u);
  const auto& report = backend_.tx_reports[0];
  EXPECT_EQ(report.event().transaction_id(), "tx-42");
  EXPECT_DOUBLE_EQ(report.energy_consumed_kwh(), 2.5);
  EXPECT_DOUBLE_EQ(report.total_cost(), 375.0);
  EXPECT_EQ(report.currency(), "KRW");
}

TEST_F(CallRouterTest, EndedReplyCarriesTotalCostFromSession) {
  json payload = StandardTx("Ended", 7);
  payload["transactionInfo"]["stoppedReason"] = "Remote";
  Send("t-2", "TransactionEvent", payload);
  ASSERT_EQ(backend_.record_done.size(), 1u);
  EXPECT_TRUE(replies_.empty());
  backend_.record_done[0](grpc::Status::OK, Stored(3825.5, 25.5));
  json reply = ExpectResult("t-2");
  ASSERT_TRUE(reply.contains("totalCost")) << reply;
  EXPECT_DOUBLE_EQ(reply["totalCost"].get<double>(), 3825.5);
  EXPECT_FALSE(reply.contains("idTokenInfo"));
}

TEST_F(CallRouterTest, EndedReplyWithZeroCostStillHasTotalCost) {
  Send("t-3", "TransactionEvent", StandardTx("Ended", 7));
  backend_.record_done.at(0)(grpc::Status::OK, Stored(0, 0));
  json reply = ExpectResult("t-3");
  ASSERT_TRUE(reply.contains("totalCost")) << reply;  // 0 = free; absent would not mean free
  EXPECT_EQ(reply["totalCost"].get<double>(), 0.0);
}

TEST_F(CallRouterTest, ReplyHasIdTokenInfoWhenIdTokenWasSent) {
  json payload = StandardTx("Started", 0);
  payload["idToken"] = {{"idToken", "RFID-1"}, {"type", "ISO14443"}};
  Send("t-4", "TransactionEvent", payload);
  ASSERT_EQ(backend_.recorded.size(), 1u);
  EXPECT_EQ(backend_.recorded[0].id_token(), "RFID-1");
  backend_.record_done[0](grpc::Status::OK, Stored(0, 0));
  json reply = ExpectResult("t-4");
  ASSERT_TRUE(reply.contains("idTokenInfo")) << reply;
  EXPECT_EQ(reply["idTokenInfo"], (json{{"status", "Accepted"}}));
  EXPECT_FALSE(reply.contains("totalCost"));
}

TEST_F(CallRouterTest, BackendFailureIsInternalErrorNeverCallResult) {
  json payload = StandardTx("Ended", 8);
  payload["idToken"] = {{"idToken", "RFID-1"}, {"type", "ISO14443"}};
  Send("t-5", "TransactionEvent", payload);
  ASSERT_EQ(backend_.record_done.size(), 1u);
  backend_.record_done[0](grpc::Status(grpc::StatusCode::UNAVAILABLE, "billing down"),
                          billing::v1::RecordTransactionEventResponse());
  ExpectError("t-5", "InternalError");
  EXPECT_TRUE(backend_.tx_reports.empty()) << "reported an event that was not stored";
}

TEST_F(CallRouterTest, DeadlineExceededIsInternalErrorToo) {
  Send("t-6", "TransactionEvent", StandardTx("Updated", 3));
  backend_.record_done.at(0)(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "slow"),
                             billing::v1::RecordTransactionEventResponse());
  ExpectError("t-6", "InternalError");
}

TEST_F(CallRouterTest, SeedDialectTransactionEventIsRecorded) {
  Send("t-7", "TransactionEvent", SeedTx());
  ASSERT_EQ(backend_.recorded.size(), 1u);
  EXPECT_EQ(backend_.recorded[0].dialect(), ocpp::v1::DIALECT_SEED);
  EXPECT_EQ(backend_.recorded[0].transaction_id(), "seed-1");
  backend_.record_done[0](grpc::Status::OK, Stored(150, 1));
  EXPECT_EQ(ExpectResult("t-7"), json::object());
}

TEST_F(CallRouterTest, StrictRouterRefusesSeedDialect) {
  RouterOptions options;
  options.strict = true;
  Reset(options);
  Send("t-8", "TransactionEvent", SeedTx());
  ExpectError("t-8", "OccurrenceConstraintViolation");
  EXPECT_TRUE(backend_.recorded.empty());
}

TEST_F(CallRouterTest, InvalidTransactionEventNeverReachesBackend) {
  json payload = StandardTx("Updated", 1);
  payload["seqNo"] = "1";
  Send("t-9", "TransactionEvent", payload);
  Frame f = ExpectError("t-9", "TypeConstraintViolation");
  EXPECT_NE(f.error_description.find("seqNo"), std::string::npos) << f.error_description;
  EXPECT_TRUE(backend_.recorded.empty());
}

}  // namespace
}  // namespace csms::gateway
