#pragma once

// The Charger test fixture: a fake clock, a charger driven frame by frame, and every frame either
// side sends checked against the OCA 2.0.1 schemas.

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "csms/charger_sim/charger.h"
#include "csms/common/ocpp_schema.h"

namespace csms::sim::test_support {

using nlohmann::json;
using namespace std::chrono_literals;

class FakeClock : public Clock {
 public:
  TimePoint Now() const override { return now_; }
  void Advance(std::chrono::microseconds d) { now_ += d; }

 private:
  TimePoint now_ = *ParseRfc3339("2026-03-01T09:00:00Z");
};

// Against the OCA 2.0.1 schema of the action, as the CSMS (and ocpp-rpc's strict mode) checks it.
inline void ExpectValid(const std::string& action, ocpp::PayloadKind kind, const json& payload) {
  auto violation = ocpp::SchemaSet::Ocpp201().Validate(action, kind, payload);
  EXPECT_FALSE(violation.has_value())
      << action << (kind == ocpp::PayloadKind::kRequest ? "Request " : "Response ")
      << payload.dump() << "\n"
      << (violation ? violation->code + ": " + violation->description : std::string());
}

inline std::set<std::string> Keys(const json& object) {
  std::set<std::string> keys;
  for (const auto& [key, value] : object.items()) keys.insert(key);
  return keys;
}

inline json RequestStart(int remote_start_id, const std::string& token = "user_123") {
  return {{"idToken", {{"idToken", token}, {"type", "Central"}}},
          {"remoteStartId", remote_start_id},
          {"evseId", 1}};
}

inline json Profile(const std::string& purpose, const std::string& unit, double limit,
                    int evse_id = 0) {
  return {{"evseId", evse_id},
          {"chargingProfile",
           {{"id", 7},
            {"stackLevel", 0},
            {"chargingProfilePurpose", purpose},
            {"chargingProfileKind", "Absolute"},
            {"chargingSchedule",
             json::array({{{"id", 1},
                           {"startSchedule", "2026-03-01T09:00:00Z"},
                           {"chargingRateUnit", unit},
                           {"chargingSchedulePeriod",
                            json::array({{{"startPeriod", 0}, {"limit", limit}}})}}})}}}};
}

class ChargerTest : public ::testing::Test {
 protected:
  static ChargerOptions DefaultOptions() {
    ChargerOptions options;
    options.station_id = "emart_jeju_01";
    options.random_seed = 42;
    options.meter_interval = 5s;
    options.max_power_w = 100000;
    options.meter_start_wh = 1000;
    return options;
  }

  // A new station (table tests make one per case): its message ids start afresh.
  void Make(ChargerOptions options = DefaultOptions()) {
    charger_ = std::make_unique<Charger>(std::move(options), clock_);
    pending_.clear();
    message_ids_.clear();
  }

  void Pull() {
    for (const std::string& text : charger_->TakeOutgoing()) {
      json frame = json::parse(text);
      EXPECT_TRUE(frame.is_array()) << text;
      if (frame[0] == 2) {
        const std::string id = frame[1].get<std::string>();
        EXPECT_LE(id.size(), 36u);
        EXPECT_TRUE(message_ids_.insert(id).second) << "message id reused: " << id;
        // Everything sent is standard OCPP but the seed dialect's TransactionEvent body.
        if (frame[2] != "TransactionEvent" || charger_->options().dialect == Dialect::kStandard) {
          ExpectValid(frame[2].get<std::string>(), ocpp::PayloadKind::kRequest, frame[3]);
        }
      }
      pending_.push_back(std::move(frame));
    }
  }

  bool NothingSent() {
    Pull();
    return pending_.empty();
  }

  json Next() {
    Pull();
    if (pending_.empty()) {
      ADD_FAILURE() << "expected a frame, got none";
      return json::array({0, "", "", json::object()});
    }
    json frame = std::move(pending_.front());
    pending_.pop_front();
    return frame;
  }

  // The next frame must be a CALL of this action.
  json NextCall(const std::string& action) {
    json frame = Next();
    EXPECT_EQ(frame[0], 2) << frame.dump();
    EXPECT_EQ(frame[2], action) << frame.dump();
    return frame;
  }

  void Answer(const json& call, const json& payload) {
    charger_->OnMessage(json::array({3, call[1], payload}).dump());
  }

  void AnswerError(const json& call, const std::string& code) {
    charger_->OnMessage(json::array({4, call[1], code, "test", json::object()}).dump());
  }

  // Sends a CSMS CALL; the charger's reply must come first and is returned.
  json ServerCall(const std::string& action, const json& payload) {
    const std::string id = "srv-" + std::to_string(++server_calls_);
    Pull();
    size_t before = pending_.size();
    charger_->OnMessage(json::array({2, id, action, payload}).dump());
    Pull();
    if (pending_.size() <= before) {
      ADD_FAILURE() << "no reply to " << action;
      return json::array({0, id, json::object()});
    }
    json reply = pending_[before];
    pending_.erase(pending_.begin() + static_cast<long>(before));
    EXPECT_EQ(reply[1], id);
    if (reply[0] == 3) ExpectValid(action, ocpp::PayloadKind::kResponse, reply[2]);
    return reply;
  }

  void Advance(std::chrono::microseconds d) {
    clock_.Advance(d);
    charger_->OnTimer();
    // Work due now is done, so the transport's timer can never spin on a past deadline.
    if (auto deadline = charger_->NextDeadline()) {
      EXPECT_GT(*deadline, clock_.Now());
    }
  }

  void BootAccepted(int interval = 30) {
    charger_->OnConnected();
    json boot = NextCall("BootNotification");
    Answer(
        boot,
        {{"currentTime", "2026-03-01T09:00:00Z"}, {"interval", interval}, {"status", "Accepted"}});
    json status = NextCall("StatusNotification");
    EXPECT_EQ(status[3]["connectorStatus"], "Available");
    Answer(status, json::object());
  }

  // Remote start, answered Occupied status; returns the Started event (unanswered).
  json StartCharging(int remote_start_id = 42) {
    json reply = ServerCall("RequestStartTransaction", RequestStart(remote_start_id));
    EXPECT_EQ(reply[2], json({{"status", "Accepted"}}));
    json occupied = NextCall("StatusNotification");
    EXPECT_EQ(occupied[3]["connectorStatus"], "Occupied");
    Answer(occupied, json::object());
    return NextCall("TransactionEvent");
  }

  static double EnergyOf(const json& event) {
    for (const auto& sample : event[3]["meterValue"][0]["sampledValue"]) {
      if (sample["measurand"] == "Energy.Active.Import.Register") return sample["value"];
    }
    ADD_FAILURE() << "no energy in " << event.dump();
    return -1;
  }

  static double PowerOf(const json& event) {
    for (const auto& sample : event[3]["meterValue"][0]["sampledValue"]) {
      if (sample["measurand"] == "Power.Active.Import") return sample["value"];
    }
    ADD_FAILURE() << "no power in " << event.dump();
    return -1;
  }

  FakeClock clock_;
  std::unique_ptr<Charger> charger_;
  std::deque<json> pending_;
  std::set<std::string> message_ids_;
  int server_calls_ = 0;
};

}  // namespace csms::sim::test_support
