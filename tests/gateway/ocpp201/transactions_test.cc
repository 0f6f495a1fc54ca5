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

// The station control named when the charger connected: billing prices by its tariff.
TEST_F(CallRouterTest, TransactionEventCarriesTheConnectionsStation) {
  Send("t-s0", "TransactionEvent", StandardTx("Started", 0));
  station_->set_station_id("site-a");  // control's StationConnected answer arrives
  Send("t-s1", "TransactionEvent", StandardTx("Updated", 1));
  json with_token = StandardTx("Updated", 2);
  with_token["idToken"] = {{"idToken", "RFID-1"}, {"type", "ISO14443"}};
  Send("t-s2", "TransactionEvent", with_token);  // decided by control first, then stored
  ASSERT_EQ(backend_.recorded.size(), 3u);
  EXPECT_EQ(backend_.recorded[0].station_id(), "") << "before the answer: none known yet";
  EXPECT_EQ(backend_.recorded[1].station_id(), "site-a");
  EXPECT_EQ(backend_.recorded[2].station_id(), "site-a");
}

// Billing judges the readings by what the EVSE can deliver, as control read it at connect.
TEST_F(CallRouterTest, TransactionEventCarriesItsEvsesMaximumPower) {
  station_->set_evse_max_power_w({{1, 22'000}});
  json on_evse_1 = StandardTx("Updated", 1);
  on_evse_1["evse"] = {{"id", 1}, {"connectorId", 1}};
  json on_evse_2 = StandardTx("Updated", 2);
  on_evse_2["evse"] = {{"id", 2}, {"connectorId", 1}};
  Send("m-1", "TransactionEvent", on_evse_1);
  Send("m-2", "TransactionEvent", on_evse_2);
  ASSERT_EQ(backend_.recorded.size(), 2u);
  ASSERT_TRUE(backend_.recorded[0].has_evse_max_power_w());
  EXPECT_EQ(backend_.recorded[0].evse_max_power_w(), 22'000);
  EXPECT_FALSE(backend_.recorded[1].has_evse_max_power_w()) << "EVSE 2 reported no maximum";
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

// I02: a running cost only to a charger that shows costs (its TariffCostCtrlr, as control read
// it at connect) and only in the session's currency; never in an Ended's place.
TEST_F(CallRouterTest, UpdatedReplyCarriesRunningCostOnlyWhereTheChargerShowsIt) {
  auto reply_to_updated = [&](const std::string& id, int seq) {
    replies_.clear();
    Send(id, "TransactionEvent", StandardTx("Updated", seq));
    backend_.record_done.back()(grpc::Status::OK, Stored(375, 2.5));
    return ExpectResult(id);
  };
  EXPECT_FALSE(reply_to_updated("u-1", 1).contains("totalCost")) << "no cost display known";
  station_->set_cost_currency("KRW");
  const json shown = reply_to_updated("u-2", 2);
  ASSERT_TRUE(shown.contains("totalCost")) << shown;
  EXPECT_DOUBLE_EQ(shown["totalCost"].get<double>(), 375);
  station_->set_cost_currency("EUR");
  EXPECT_FALSE(reply_to_updated("u-3", 3).contains("totalCost")) << "shown in another currency";
}

// I01: the tariff's text when the session starts and the token has no message of its own.
TEST_F(CallRouterTest, TokenWithoutMessageIsShownTheTariffText) {
  auto answer = [&](const std::string& id, const json& payload, const std::string& text) {
    replies_.clear();
    Send(id, "TransactionEvent", payload);
    billing::v1::RecordTransactionEventResponse stored = Stored(0, 0);
    stored.set_tariff_text(text);
    backend_.record_done.back()(grpc::Status::OK, stored);
    return ExpectResult(id);
  };
  json started = StandardTx("Started", 0);
  started["idToken"] = {{"idToken", "RFID-1"}, {"type", "ISO14443"}};
  const json reply = answer("p-1", started, "300 KRW/kWh");
  EXPECT_EQ(reply["idTokenInfo"]["personalMessage"],
            (json{{"format", "UTF8"}, {"content", "300 KRW/kWh"}}))
      << reply;
  json ended = StandardTx("Ended", 9);
  ended["idToken"] = {{"idToken", "RFID-1"}, {"type", "ISO14443"}};
  EXPECT_FALSE(answer("p-2", ended, "300 KRW/kWh")["idTokenInfo"].contains("personalMessage"))
      << "nothing to show once the session is over";
  json no_tariff = StandardTx("Started", 0);
  no_tariff["idToken"] = {{"idToken", "RFID-2"}, {"type", "ISO14443"}};
  no_tariff["transactionInfo"]["transactionId"] = "tx-43";
  EXPECT_FALSE(answer("p-3", no_tariff, "")["idTokenInfo"].contains("personalMessage"));
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
