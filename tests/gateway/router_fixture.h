#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

#include "csms/common/ocpp_actions.h"
#include "csms/common/ocpp_frame.h"
#include "csms/gateway/call_router.h"
#include "fakes.h"

// The router with a fake backend and clock, and helpers to send CALLs and read the answers;
// shared by the router's own tests and those of each functional block (ocpp201/).
namespace csms::gateway {

using nlohmann::json;
using ocpp::Frame;
using ocpp::FrameError;
using ocpp::MessageType;
using testing::FakeBackend;
using testing::FakeClock;

inline constexpr const char* kNow = "2026-11-24T09:15:00Z";  // FakeClock's time

inline json StandardTx(const std::string& event_type, int seq_no) {
  json p = {{"eventType", event_type},
            {"timestamp", "2026-11-24T09:10:00Z"},
            {"triggerReason", "MeterValuePeriodic"},
            {"seqNo", seq_no},
            {"transactionInfo", {{"transactionId", "tx-42"}, {"chargingState", "Charging"}}},
            {"meterValue", json::parse(R"([{"timestamp":"2026-11-24T09:10:00Z",
                                            "sampledValue":[{"value":2500}]}])")}};
  return p;
}

inline json SeedTx() {
  return json::parse(R"({"eventType":"Updated","timestamp":"2026-11-24T09:10:00Z",
      "transactionData":{"transactionId":"seed-1","chargingPeriods":[{"dimensions":[
      {"name":"Energy.Active.Import.Register","value":1000}]}]}})");
}

inline json ValidBoot() {
  return json::parse(R"({"reason":"PowerUp","chargingStation":{"model":"M1","vendorName":"V1",
      "serialNumber":"SN9","firmwareVersion":"fw2"}})");
}

inline json ValidStatus() {
  return json::parse(R"({"timestamp":"2026-11-24T09:00:00Z","connectorStatus":"Available",
      "evseId":1,"connectorId":1})");
}

inline billing::v1::RecordTransactionEventResponse Stored(double cost, double kwh) {
  billing::v1::RecordTransactionEventResponse response;
  response.mutable_session()->set_transaction_id("tx-42");
  response.mutable_session()->set_cost(cost);
  response.mutable_session()->set_energy_consumed_kwh(kwh);
  response.mutable_session()->set_currency("KRW");
  return response;
}

class CallRouterTest : public ::testing::Test {
 protected:
  CallRouterTest() { Reset(RouterOptions{}); }

  void Reset(RouterOptions options) {
    router_ = std::make_unique<CallRouter>(backend_, clock_, options);
    station_ = std::make_shared<StationContext>();
    station_->charger_id = "CS001";
    station_->connection_id = "c-1";
    station_->registration = Registration::kAccepted;
  }

  // Sends a CALL through the router; the frame must be a valid CALL.
  void Send(const std::string& id, const std::string& action, const json& payload) {
    ocpp::ParseResult parsed = ocpp::ParseFrame(ocpp::SerializeCall(id, action, payload));
    ASSERT_TRUE(std::holds_alternative<Frame>(parsed));
    router_->Handle(station_, std::get<Frame>(std::move(parsed)),
                    [this](std::string frame) { replies_.push_back(std::move(frame)); });
  }

  // The only reply so far, parsed; it must be valid OCPP-J.
  Frame OnlyReply() {
    EXPECT_EQ(replies_.size(), 1u);
    if (replies_.empty()) return Frame{};
    ocpp::ParseResult parsed = ocpp::ParseFrame(replies_.back());
    if (auto* error = std::get_if<FrameError>(&parsed)) {
      ADD_FAILURE() << "reply is not valid OCPP-J: " << replies_.back() << " ("
                    << error->description << ")";
      return Frame{};
    }
    Frame frame = std::get<Frame>(parsed);
    // A CALLERROR reply must be exactly 5 elements with object details.
    if (frame.type == MessageType::kCallError) {
      json raw = json::parse(replies_.back());
      EXPECT_EQ(raw.size(), 5u);
      EXPECT_TRUE(raw[4].is_object());
    }
    return frame;
  }

  json ExpectResult(const std::string& id) {
    Frame f = OnlyReply();
    EXPECT_EQ(f.type, MessageType::kCallResult) << replies_.back();
    EXPECT_EQ(f.message_id, id);
    return f.payload;
  }

  Frame ExpectError(const std::string& id, const std::string& code) {
    Frame f = OnlyReply();
    EXPECT_EQ(f.type, MessageType::kCallError) << (replies_.empty() ? "" : replies_.back());
    EXPECT_EQ(f.message_id, id);
    EXPECT_EQ(f.error_code, code) << f.error_description;
    return f;
  }

  FakeBackend backend_;
  FakeClock clock_;
  std::unique_ptr<CallRouter> router_;
  std::shared_ptr<StationContext> station_;
  std::vector<std::string> replies_;
};

}  // namespace csms::gateway
