#include "csms/gateway/normalize.h"

#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "csms/gateway/payload_check.h"
#include "fakes.h"

namespace csms::gateway {
namespace {

using nlohmann::json;
using ocpp::v1::TransactionEvent;
using testing::FixedTime;

// Runs `f`, expects a PayloadException, and returns its error (empty if none was thrown).
PayloadError CatchPayloadError(const std::function<void()>& f) {
  try {
    f();
  } catch (const PayloadException& e) {
    return e.error;
  }
  ADD_FAILURE() << "no PayloadException thrown";
  return {};
}

TimePoint At(const char* rfc3339) { return *ParseRfc3339(rfc3339); }

TransactionEvent Normalize(const json& payload, bool strict = false) {
  return NormalizeTransactionEvent(payload, "CS001", "c-0001", FixedTime(), strict);
}

std::string NormalizeError(const json& payload, bool strict = false) {
  return CatchPayloadError([&] { Normalize(payload, strict); }).code;
}

// ---- standard OCPP 2.0.1 -------------------------------------------------------------------

json StandardStarted() {
  return json::parse(R"({
    "eventType": "Started",
    "timestamp": "2026-11-24T09:10:00Z",
    "triggerReason": "RemoteStart",
    "seqNo": 0,
    "transactionInfo": {"transactionId": "tx-0001", "chargingState": "Charging",
                        "remoteStartId": 42},
    "evse": {"id": 1, "connectorId": 2},
    "idToken": {"idToken": "RFID-1234", "type": "ISO14443"},
    "meterValue": [{"timestamp": "2026-11-24T09:10:00Z",
                    "sampledValue": [{"value": 1234.5, "context": "Transaction.Begin",
                                      "measurand": "Energy.Active.Import.Register",
                                      "unitOfMeasure": {"unit": "Wh"}}]}]
  })");
}

json StandardUpdated() {
  return json::parse(R"({
    "eventType": "Updated",
    "timestamp": "2026-11-24T09:20:00Z",
    "triggerReason": "MeterValuePeriodic",
    "seqNo": 3,
    "transactionInfo": {"transactionId": "tx-0001", "chargingState": "SuspendedEV"},
    "meterValue": [{"timestamp": "2026-11-24T09:20:00Z",
                    "sampledValue": [
                      {"value": 12.5, "measurand": "Energy.Active.Import.Register",
                       "unitOfMeasure": {"unit": "kWh"}},
                      {"value": 99999, "measurand": "Energy.Active.Import.Register",
                       "phase": "L1"},
                      {"value": 7.2, "measurand": "Power.Active.Import",
                       "unitOfMeasure": {"unit": "kW"}},
                      {"value": 55555, "measurand": "Power.Active.Import", "phase": "L2"}
                    ]}]
  })");
}

json StandardEnded() {
  return json::parse(R"({
    "eventType": "Ended",
    "timestamp": "2026-11-24T10:00:00Z",
    "triggerReason": "EVDeparted",
    "seqNo": 9,
    "transactionInfo": {"transactionId": "tx-0001"},
    "meterValue": [{"timestamp": "2026-11-24T10:00:00Z",
                    "sampledValue": [{"value": 25.5, "context": "Transaction.End",
                                      "unitOfMeasure": {"unit": "Wh", "multiplier": 3}}]}]
  })");
}

TEST(NormalizeStandardTest, StartedCarriesEveryField) {
  json payload = StandardStarted();
  TransactionEvent e = Normalize(payload);
  EXPECT_EQ(e.dialect(), ocpp::v1::DIALECT_OCPP201);
  EXPECT_EQ(e.charger_id(), "CS001");
  EXPECT_EQ(e.connection_id(), "c-0001");
  EXPECT_EQ(e.transaction_id(), "tx-0001");
  EXPECT_EQ(e.event_type(), ocpp::v1::TRANSACTION_EVENT_TYPE_STARTED);
  ASSERT_TRUE(e.has_seq_no());
  EXPECT_EQ(e.seq_no(), 0);
  EXPECT_EQ(e.order_key(), 0);
  EXPECT_EQ(e.dedup_key(), "seq:0");
  EXPECT_EQ(FromProto(e.timestamp()), At("2026-11-24T09:10:00Z"));
  EXPECT_EQ(FromProto(e.received_at()), FixedTime());
  EXPECT_EQ(e.trigger_reason(), "RemoteStart");
  EXPECT_EQ(e.charging_state(), "Charging");
  ASSERT_TRUE(e.has_remote_start_id());
  EXPECT_EQ(e.remote_start_id(), 42);
  EXPECT_EQ(e.evse_id(), 1);
  EXPECT_EQ(e.connector_id(), 2);
  EXPECT_EQ(e.id_token(), "RFID-1234");
  EXPECT_EQ(e.id_token_type(), "ISO14443");
  EXPECT_FALSE(e.offline());
  ASSERT_TRUE(e.has_meter_start_wh());
  EXPECT_DOUBLE_EQ(e.meter_start_wh(), 1234.5);
  ASSERT_TRUE(e.has_energy_register_wh());
  EXPECT_DOUBLE_EQ(e.energy_register_wh(), 1234.5);
  EXPECT_FALSE(e.has_power_w());
  EXPECT_FALSE(e.has_station_reported_cost());
  EXPECT_EQ(e.stopped_reason(), "");
  EXPECT_EQ(json::parse(e.raw_payload_json()), payload);
}

TEST(NormalizeStandardTest, UpdatedScalesKwhAndIgnoresPhases) {
  TransactionEvent e = Normalize(StandardUpdated());
  EXPECT_EQ(e.event_type(), ocpp::v1::TRANSACTION_EVENT_TYPE_UPDATED);
  EXPECT_EQ(e.seq_no(), 3);
  EXPECT_EQ(e.order_key(), 3);
  EXPECT_EQ(e.dedup_key(), "seq:3");
  EXPECT_EQ(e.charging_state(), "SuspendedEV");
  ASSERT_TRUE(e.has_energy_register_wh());
  EXPECT_DOUBLE_EQ(e.energy_register_wh(), 12500.0);
  ASSERT_TRUE(e.has_power_w());
  EXPECT_DOUBLE_EQ(e.power_w(), 7200.0);
  EXPECT_FALSE(e.has_meter_start_wh());
  EXPECT_FALSE(e.has_remote_start_id());
  EXPECT_EQ(e.id_token(), "");
  EXPECT_EQ(e.evse_id(), 0);
  EXPECT_EQ(e.stopped_reason(), "");
}

TEST(NormalizeStandardTest, EndedWithoutStoppedReasonIsLocalAndMultiplierScales) {
  TransactionEvent e = Normalize(StandardEnded());
  EXPECT_EQ(e.event_type(), ocpp::v1::TRANSACTION_EVENT_TYPE_ENDED);
  EXPECT_EQ(e.stopped_reason(), "Local");
  EXPECT_EQ(e.dedup_key(), "seq:9");
  EXPECT_EQ(e.order_key(), 9);
  ASSERT_TRUE(e.has_energy_register_wh());
  EXPECT_DOUBLE_EQ(e.energy_register_wh(), 25500.0);  // 25.5 × 10^3 Wh
  EXPECT_EQ(e.charging_state(), "");
}

TEST(NormalizeStandardTest, EndedKeepsExplicitStoppedReason) {
  json payload = StandardEnded();
  payload["transactionInfo"]["stoppedReason"] = "Remote";
  EXPECT_EQ(Normalize(payload).stopped_reason(), "Remote");
}

TEST(NormalizeStandardTest, BareValueIsEnergyRegisterInWh) {
  json payload = StandardUpdated();
  payload["meterValue"] =
      json::parse(R"([{"timestamp":"2026-11-24T09:20:00Z","sampledValue":[{"value":4321}]}])");
  TransactionEvent e = Normalize(payload);
  ASSERT_TRUE(e.has_energy_register_wh());
  EXPECT_DOUBLE_EQ(e.energy_register_wh(), 4321.0);
  EXPECT_FALSE(e.has_power_w());
}

TEST(NormalizeStandardTest, KwhWithMultiplierCombinesBoth) {
  json payload = StandardUpdated();
  payload["meterValue"] = json::parse(R"([{"timestamp":"2026-11-24T09:20:00Z","sampledValue":[
      {"value":1.5,"unitOfMeasure":{"unit":"kWh","multiplier":1}}]}])");
  EXPECT_DOUBLE_EQ(Normalize(payload).energy_register_wh(), 15000.0);
}

TEST(NormalizeStandardTest, NegativeMultiplier) {
  json payload = StandardUpdated();
  payload["meterValue"] = json::parse(R"([{"timestamp":"2026-11-24T09:20:00Z","sampledValue":[
      {"value":123450,"unitOfMeasure":{"unit":"Wh","multiplier":-1}}]}])");
  EXPECT_DOUBLE_EQ(Normalize(payload).energy_register_wh(), 12345.0);
}

// Every way a meter reports energy (issue 16): the sampledValues of one meterValue at
// 2026-11-24T09:20:00Z, and what the event then carries (-1: nothing).
struct MeterReportCase {
  const char* name;
  const char* samples;
  double register_wh;
  double interval_wh = -1;
  double power_w = -1;
};

const MeterReportCase kMeterReports[] = {
    {"total register in Wh", R"([{"value":5000}])", 5000},
    {"total register in kWh", R"([{"value":5.5,"unitOfMeasure":{"unit":"kWh"}}])", 5500},
    {"Wh with multiplier 3", R"([{"value":2.5,"unitOfMeasure":{"unit":"Wh","multiplier":3}}])",
     2500},
    {"kWh with multiplier -1", R"([{"value":25,"unitOfMeasure":{"unit":"kWh","multiplier":-1}}])",
     2500},
    {"per-phase registers only: their sum",
     R"([{"value":100,"phase":"L1"},{"value":200,"phase":"L2"},{"value":300,"phase":"L3"}])", 600},
    {"per-phase registers line to neutral",
     R"([{"value":1,"phase":"L1-N","unitOfMeasure":{"unit":"kWh"}},
         {"value":2,"phase":"L2-N","unitOfMeasure":{"unit":"kWh"}}])",
     3000},
    {"a total beside the phases wins",
     R"([{"value":100,"phase":"L1"},{"value":5000},{"value":300,"phase":"L3"}])", 5000},
    {"neutral and line-to-line never add in",
     R"([{"value":100,"phase":"L1"},{"value":7,"phase":"N"},{"value":9,"phase":"L1-L2"}])", 100},
    {"interval only", R"([{"value":250,"measurand":"Energy.Active.Import.Interval"}])", -1, 250},
    {"interval per phase",
     R"([{"value":0.1,"measurand":"Energy.Active.Import.Interval","phase":"L1",
          "unitOfMeasure":{"unit":"kWh"}},
         {"value":0.2,"measurand":"Energy.Active.Import.Interval","phase":"L2",
          "unitOfMeasure":{"unit":"kWh"}}])",
     -1, 300},
    {"power per phase: their sum",
     R"([{"value":11,"measurand":"Power.Active.Import","phase":"L1"},
         {"value":12,"measurand":"Power.Active.Import","phase":"L2"}])",
     -1, -1, 23},
    {"a register at the EV or the inlet is not the EVSE's",
     R"([{"value":9000,"location":"EV"},{"value":8000,"location":"Inlet"}])", -1},
};

TEST(NormalizeStandardTest, EveryWayAMeterReportsEnergy) {
  for (const MeterReportCase& c : kMeterReports) {
    SCOPED_TRACE(c.name);
    json payload = StandardUpdated();
    payload["meterValue"] = json::array(
        {{{"timestamp", "2026-11-24T09:20:00Z"}, {"sampledValue", json::parse(c.samples)}}});
    const TransactionEvent e = Normalize(payload);
    EXPECT_EQ(e.has_energy_register_wh(), c.register_wh >= 0);
    if (c.register_wh >= 0) EXPECT_DOUBLE_EQ(e.energy_register_wh(), c.register_wh);
    EXPECT_EQ(e.has_energy_interval_wh(), c.interval_wh >= 0);
    if (c.interval_wh >= 0) EXPECT_NEAR(e.energy_interval_wh(), c.interval_wh, 1e-9);
    EXPECT_EQ(e.has_power_w(), c.power_w >= 0);
    if (c.power_w >= 0) EXPECT_DOUBLE_EQ(e.power_w(), c.power_w);
  }
}

TEST(NormalizeStandardTest, IntervalsOfSeveralMeterValuesAddUp) {
  json payload = StandardUpdated();
  payload["meterValue"] = json::parse(R"([
      {"timestamp":"2026-11-24T09:15:00Z","sampledValue":[
          {"value":250,"measurand":"Energy.Active.Import.Interval"}]},
      {"timestamp":"2026-11-24T09:20:00Z","sampledValue":[
          {"value":300,"measurand":"Energy.Active.Import.Interval"}]}])");
  EXPECT_DOUBLE_EQ(Normalize(payload).energy_interval_wh(), 550);
}

TEST(NormalizeStandardTest, InletLocationIsIgnored) {
  json payload = StandardUpdated();
  payload["meterValue"] = json::parse(R"([{"timestamp":"2026-11-24T09:20:00Z","sampledValue":[
      {"value":5000,"location":"Outlet"},{"value":9000,"location":"Inlet"}]}])");
  EXPECT_DOUBLE_EQ(Normalize(payload).energy_register_wh(), 5000.0);
}

TEST(NormalizeStandardTest, OtherMeasurandsAreIgnored) {
  json payload = StandardUpdated();
  payload["meterValue"] = json::parse(R"([{"timestamp":"2026-11-24T09:20:00Z","sampledValue":[
      {"value":32,"measurand":"Current.Import","unitOfMeasure":{"unit":"A"}},
      {"value":80,"measurand":"SoC","unitOfMeasure":{"unit":"Percent"}},
      {"value":250,"measurand":"Energy.Active.Import.Interval"}]}])");
  TransactionEvent e = Normalize(payload);
  EXPECT_FALSE(e.has_energy_register_wh());
  EXPECT_FALSE(e.has_power_w());
}

TEST(NormalizeStandardTest, LatestMeterValueWinsWhateverTheOrder) {
  json payload = StandardUpdated();
  payload["meterValue"] = json::parse(R"([
      {"timestamp":"2026-11-24T09:19:00Z","sampledValue":[{"value":2000},
          {"value":3000,"measurand":"Power.Active.Import"}]},
      {"timestamp":"2026-11-24T09:18:00Z","sampledValue":[{"value":1000},
          {"value":1500,"measurand":"Power.Active.Import"}]}])");
  TransactionEvent e = Normalize(payload);
  EXPECT_DOUBLE_EQ(e.energy_register_wh(), 2000.0);
  EXPECT_DOUBLE_EQ(e.power_w(), 3000.0);
}

TEST(NormalizeStandardTest, TransactionBeginSetsMeterStartEvenInAnUpdated) {
  json payload = StandardUpdated();
  payload["meterValue"] = json::parse(R"([
      {"timestamp":"2026-11-24T09:10:00Z","sampledValue":[
          {"value":1.0,"context":"Transaction.Begin","unitOfMeasure":{"unit":"kWh"}}]},
      {"timestamp":"2026-11-24T09:20:00Z","sampledValue":[
          {"value":3.5,"context":"Sample.Periodic","unitOfMeasure":{"unit":"kWh"}}]}])");
  TransactionEvent e = Normalize(payload);
  EXPECT_DOUBLE_EQ(e.meter_start_wh(), 1000.0);
  // Its own time, not the event's: billing judges the first rise by it.
  EXPECT_EQ(FromProto(e.meter_start_time()), At("2026-11-24T09:10:00Z"));
  EXPECT_DOUBLE_EQ(e.energy_register_wh(), 3500.0);
}

TEST(NormalizeStandardTest, OfflineFlagAndIntegralFloatSeqNo) {
  json payload = StandardUpdated();
  payload["offline"] = true;
  payload["seqNo"] = 4.0;
  TransactionEvent e = Normalize(payload);
  EXPECT_TRUE(e.offline());
  EXPECT_EQ(e.seq_no(), 4);
  EXPECT_EQ(e.dedup_key(), "seq:4");
}

TEST(NormalizeStandardTest, EvseWithoutConnectorId) {
  json payload = StandardStarted();
  payload["evse"] = {{"id", 3}};
  TransactionEvent e = Normalize(payload);
  EXPECT_EQ(e.evse_id(), 3);
  EXPECT_EQ(e.connector_id(), 0);
}

TEST(NormalizeStandardTest, TimestampWithOffsetIsStoredInUtc) {
  json payload = StandardUpdated();
  payload["timestamp"] = "2026-11-24T18:20:00+09:00";
  EXPECT_EQ(FromProto(Normalize(payload).timestamp()), At("2026-11-24T09:20:00Z"));
}

TEST(NormalizeStandardTest, TransactionIdOf36CharsIsAccepted) {
  json payload = StandardUpdated();
  payload["transactionInfo"]["transactionId"] = std::string(36, 'x');
  EXPECT_EQ(Normalize(payload).transaction_id(), std::string(36, 'x'));
}

TEST(NormalizeStandardTest, StrictModeAcceptsStandard) {
  EXPECT_EQ(Normalize(StandardStarted(), /*strict=*/true).transaction_id(), "tx-0001");
}

// ---- standard: error paths -----------------------------------------------------------------

TEST(NormalizeErrorTest, MissingEventTypeIsOccurrenceConstraintViolation) {
  json payload = StandardUpdated();
  payload.erase("eventType");
  PayloadError e = CatchPayloadError([&] { Normalize(payload); });
  EXPECT_EQ(e.code, "OccurrenceConstraintViolation");
  EXPECT_NE(e.description.find("eventType"), std::string::npos) << e.description;
}

TEST(NormalizeErrorTest, StringSeqNoIsTypeConstraintViolation) {
  json payload = StandardUpdated();
  payload["seqNo"] = "3";
  PayloadError e = CatchPayloadError([&] { Normalize(payload); });
  EXPECT_EQ(e.code, "TypeConstraintViolation");
  EXPECT_NE(e.description.find("seqNo"), std::string::npos) << e.description;
}

TEST(NormalizeErrorTest, FractionalSeqNoIsTypeConstraintViolation) {
  json payload = StandardUpdated();
  payload["seqNo"] = 1.5;
  EXPECT_EQ(NormalizeError(payload), "TypeConstraintViolation");
}

TEST(NormalizeErrorTest, MissingSeqNoIsOccurrenceConstraintViolation) {
  json payload = StandardUpdated();
  payload.erase("seqNo");
  EXPECT_EQ(NormalizeError(payload), "OccurrenceConstraintViolation");
}

TEST(NormalizeErrorTest, UnknownEventTypeIsPropertyConstraintViolation) {
  json payload = StandardUpdated();
  payload["eventType"] = "Paused";
  EXPECT_EQ(NormalizeError(payload), "PropertyConstraintViolation");
}

TEST(NormalizeErrorTest, LowercaseEventTypeIsPropertyConstraintViolation) {
  json payload = StandardUpdated();
  payload["eventType"] = "started";
  EXPECT_EQ(NormalizeError(payload), "PropertyConstraintViolation");
}

TEST(NormalizeErrorTest, NumericEventTypeIsTypeConstraintViolation) {
  json payload = StandardUpdated();
  payload["eventType"] = 1;
  EXPECT_EQ(NormalizeError(payload), "TypeConstraintViolation");
}

TEST(NormalizeErrorTest, UnknownTriggerReasonIsPropertyConstraintViolation) {
  json payload = StandardUpdated();
  payload["triggerReason"] = "BecauseICan";
  EXPECT_EQ(NormalizeError(payload), "PropertyConstraintViolation");
}

TEST(NormalizeErrorTest, UnknownChargingStateIsPropertyConstraintViolation) {
  json payload = StandardUpdated();
  payload["transactionInfo"]["chargingState"] = "Flying";
  EXPECT_EQ(NormalizeError(payload), "PropertyConstraintViolation");
}

TEST(NormalizeErrorTest, UnknownStoppedReasonIsPropertyConstraintViolation) {
  json payload = StandardEnded();
  payload["transactionInfo"]["stoppedReason"] = "Bored";
  EXPECT_EQ(NormalizeError(payload), "PropertyConstraintViolation");
}

TEST(NormalizeErrorTest, BadTimestampIsPropertyConstraintViolation) {
  json payload = StandardUpdated();
  payload["timestamp"] = "2026-02-30T10:00:00Z";
  EXPECT_EQ(NormalizeError(payload), "PropertyConstraintViolation");
  payload["timestamp"] = "not a time";
  EXPECT_EQ(NormalizeError(payload), "PropertyConstraintViolation");
}

TEST(NormalizeErrorTest, NumericTimestampIsTypeConstraintViolation) {
  json payload = StandardUpdated();
  payload["timestamp"] = 1764000000;
  EXPECT_EQ(NormalizeError(payload), "TypeConstraintViolation");
}

TEST(NormalizeErrorTest, MissingTimestampIsOccurrenceConstraintViolation) {
  json payload = StandardUpdated();
  payload.erase("timestamp");
  EXPECT_EQ(NormalizeError(payload), "OccurrenceConstraintViolation");
}

TEST(NormalizeErrorTest, TransactionIdOf37CharsIsPropertyConstraintViolation) {
  json payload = StandardUpdated();
  payload["transactionInfo"]["transactionId"] = std::string(37, 'x');
  PayloadError e = CatchPayloadError([&] { Normalize(payload); });
  EXPECT_EQ(e.code, "PropertyConstraintViolation");
  EXPECT_NE(e.description.find("transactionInfo.transactionId"), std::string::npos)
      << e.description;
}

TEST(NormalizeErrorTest, MissingTransactionInfoIsOccurrenceConstraintViolation) {
  json payload = StandardUpdated();
  payload.erase("transactionInfo");
  EXPECT_EQ(NormalizeError(payload), "OccurrenceConstraintViolation");
}

TEST(NormalizeErrorTest, MissingTransactionIdIsOccurrenceConstraintViolation) {
  json payload = StandardUpdated();
  payload["transactionInfo"].erase("transactionId");
  EXPECT_EQ(NormalizeError(payload), "OccurrenceConstraintViolation");
}

TEST(NormalizeErrorTest, TransactionInfoAsArrayIsTypeConstraintViolation) {
  json payload = StandardUpdated();
  payload["transactionInfo"] = json::array();
  EXPECT_EQ(NormalizeError(payload), "TypeConstraintViolation");
}

TEST(NormalizeErrorTest, BadIdTokenTypeIsPropertyConstraintViolation) {
  json payload = StandardStarted();
  payload["idToken"]["type"] = "Password";
  EXPECT_EQ(NormalizeError(payload), "PropertyConstraintViolation");
}

TEST(NormalizeErrorTest, IdTokenOf37CharsIsPropertyConstraintViolation) {
  json payload = StandardStarted();
  payload["idToken"]["idToken"] = std::string(37, 'T');
  EXPECT_EQ(NormalizeError(payload), "PropertyConstraintViolation");
}

TEST(NormalizeErrorTest, EvseWithoutIdIsOccurrenceConstraintViolation) {
  json payload = StandardStarted();
  payload["evse"] = {{"connectorId", 1}};
  EXPECT_EQ(NormalizeError(payload), "OccurrenceConstraintViolation");
}

TEST(NormalizeErrorTest, EmptyMeterValueIsOccurrenceConstraintViolation) {
  json payload = StandardUpdated();
  payload["meterValue"] = json::array();
  EXPECT_EQ(NormalizeError(payload), "OccurrenceConstraintViolation");
}

TEST(NormalizeErrorTest, MeterValueWithoutSampledValueIsOccurrenceConstraintViolation) {
  json payload = StandardUpdated();
  payload["meterValue"] = json::parse(R"([{"timestamp":"2026-11-24T09:20:00Z"}])");
  EXPECT_EQ(NormalizeError(payload), "OccurrenceConstraintViolation");
}

TEST(NormalizeErrorTest, StringSampleValueIsTypeConstraintViolation) {
  json payload = StandardUpdated();
  payload["meterValue"] =
      json::parse(R"([{"timestamp":"2026-11-24T09:20:00Z","sampledValue":[{"value":"12.5"}]}])");
  EXPECT_EQ(NormalizeError(payload), "TypeConstraintViolation");
}

TEST(NormalizeErrorTest, BadSampleContextIsPropertyConstraintViolation) {
  json payload = StandardUpdated();
  payload["meterValue"] = json::parse(
      R"([{"timestamp":"2026-11-24T09:20:00Z","sampledValue":[{"value":1,"context":"Now"}]}])");
  EXPECT_EQ(NormalizeError(payload), "PropertyConstraintViolation");
}

TEST(NormalizeErrorTest, OfflineAsStringIsTypeConstraintViolation) {
  json payload = StandardUpdated();
  payload["offline"] = "false";
  EXPECT_EQ(NormalizeError(payload), "TypeConstraintViolation");
}

// ---- the seed simulator's dialect ----------------------------------------------------------

json SeedStarted() {
  return json::parse(R"({
    "eventType": "Started",
    "timestamp": "2026-11-24T09:10:00Z",
    "transactionData": {"transactionId": "seed-tx-1"}
  })");
}

json SeedUpdated() {
  return json::parse(R"({
    "eventType": "Updated",
    "timestamp": "2026-11-24T09:20:00Z",
    "transactionData": {
      "transactionId": "seed-tx-1",
      "chargingPeriods": [{"dimensions": [
          {"name": "Energy.Active.Import.Register", "value": 2500},
          {"name": "Power.Active.Import", "value": 7000}]}],
      "totalCost": 375
    }
  })");
}

json SeedEnded() {
  return json::parse(R"({
    "eventType": "Ended",
    "timestamp": "2026-11-24T10:00:00Z",
    "transactionData": {
      "transactionId": "seed-tx-1",
      "chargingPeriods": [{"dimensions": [
          {"name": "Energy.Active.Import.Register", "value": 25500}]}],
      "totalCost": 3825,
      "stoppedReason": "Remote"
    }
  })");
}

TEST(DetectDialectTest, TransactionDataMeansSeed) {
  EXPECT_EQ(DetectTransactionDialect(SeedUpdated()), ocpp::v1::DIALECT_SEED);
  EXPECT_EQ(DetectTransactionDialect(StandardUpdated()), ocpp::v1::DIALECT_OCPP201);
  EXPECT_EQ(DetectTransactionDialect(json::object()), ocpp::v1::DIALECT_OCPP201);
  json both = StandardUpdated();
  both["transactionData"] = json::object();
  EXPECT_EQ(DetectTransactionDialect(both), ocpp::v1::DIALECT_OCPP201);
}

TEST(NormalizeSeedTest, Started) {
  TransactionEvent e = Normalize(SeedStarted());
  EXPECT_EQ(e.dialect(), ocpp::v1::DIALECT_SEED);
  EXPECT_EQ(e.transaction_id(), "seed-tx-1");
  EXPECT_EQ(e.event_type(), ocpp::v1::TRANSACTION_EVENT_TYPE_STARTED);
  EXPECT_EQ(e.charger_id(), "CS001");
  EXPECT_EQ(e.connection_id(), "c-0001");
  EXPECT_EQ(FromProto(e.timestamp()), At("2026-11-24T09:10:00Z"));
  EXPECT_EQ(FromProto(e.received_at()), FixedTime());
  EXPECT_FALSE(e.has_seq_no());
  EXPECT_EQ(e.order_key(), 0);
  ASSERT_TRUE(e.has_meter_start_wh());
  EXPECT_DOUBLE_EQ(e.meter_start_wh(), 0.0);
  EXPECT_EQ(e.charging_state(), "Charging");
  EXPECT_FALSE(e.has_energy_register_wh());
  EXPECT_FALSE(e.has_station_reported_cost());
  EXPECT_EQ(e.stopped_reason(), "");
  EXPECT_FALSE(e.dedup_key().empty());
  EXPECT_NE(e.dedup_key().rfind("seq:", 0), 0u) << e.dedup_key();
}

TEST(NormalizeSeedTest, UpdatedReadsDimensionsAndCost) {
  TransactionEvent e = Normalize(SeedUpdated());
  EXPECT_EQ(e.dialect(), ocpp::v1::DIALECT_SEED);
  EXPECT_EQ(e.event_type(), ocpp::v1::TRANSACTION_EVENT_TYPE_UPDATED);
  EXPECT_EQ(e.transaction_id(), "seed-tx-1");
  ASSERT_TRUE(e.has_energy_register_wh());
  EXPECT_DOUBLE_EQ(e.energy_register_wh(), 2500.0);
  ASSERT_TRUE(e.has_power_w());
  EXPECT_DOUBLE_EQ(e.power_w(), 7000.0);
  ASSERT_TRUE(e.has_station_reported_cost());
  EXPECT_DOUBLE_EQ(e.station_reported_cost(), 375.0);
  EXPECT_DOUBLE_EQ(e.meter_start_wh(), 0.0);
  EXPECT_EQ(e.order_key(), 1);
  EXPECT_EQ(e.charging_state(), "Charging");
}

TEST(NormalizeSeedTest, EndedKeepsStoppedReasonAndCost) {
  TransactionEvent e = Normalize(SeedEnded());
  EXPECT_EQ(e.event_type(), ocpp::v1::TRANSACTION_EVENT_TYPE_ENDED);
  EXPECT_EQ(e.stopped_reason(), "Remote");
  EXPECT_DOUBLE_EQ(e.energy_register_wh(), 25500.0);
  EXPECT_DOUBLE_EQ(e.station_reported_cost(), 3825.0);
  EXPECT_DOUBLE_EQ(e.meter_start_wh(), 0.0);
  EXPECT_EQ(e.charging_state(), "");
}

TEST(NormalizeSeedTest, EndedWithoutStoppedReasonIsLocal) {
  json payload = SeedEnded();
  payload["transactionData"].erase("stoppedReason");
  EXPECT_EQ(Normalize(payload).stopped_reason(), "Local");
}

TEST(NormalizeSeedTest, OrderKeysSortStartedUpdatedEnded) {
  int64_t started = Normalize(SeedStarted()).order_key();
  int64_t updated = Normalize(SeedUpdated()).order_key();
  int64_t ended = Normalize(SeedEnded()).order_key();
  EXPECT_EQ(started, 0);
  EXPECT_EQ(updated, 1);
  EXPECT_LT(started, updated);
  EXPECT_LT(updated, ended);
  EXPECT_GE(ended, int64_t{1} << 31);  // after any realistic seqNo-less Updated
}

TEST(NormalizeSeedTest, DedupKeyIsStableForTheSameMessage) {
  EXPECT_EQ(Normalize(SeedUpdated()).dedup_key(), Normalize(SeedUpdated()).dedup_key());
  // Also when it arrives again later on another connection.
  TransactionEvent again = NormalizeTransactionEvent(SeedUpdated(), "CS001", "c-0002",
                                                     FixedTime() + std::chrono::minutes(5));
  EXPECT_EQ(again.dedup_key(), Normalize(SeedUpdated()).dedup_key());
}

TEST(NormalizeSeedTest, DedupKeyDiffersForDifferentTimestamps) {
  json later = SeedUpdated();
  later["timestamp"] = "2026-11-24T09:21:00Z";
  EXPECT_NE(Normalize(later).dedup_key(), Normalize(SeedUpdated()).dedup_key());
}

TEST(NormalizeSeedTest, DedupKeyDiffersForDifferentEventTypesAtSameTime) {
  json started = SeedStarted();
  json updated = SeedStarted();
  updated["eventType"] = "Updated";
  EXPECT_NE(Normalize(started).dedup_key(), Normalize(updated).dedup_key());
}

TEST(NormalizeSeedTest, DedupKeyDiffersForDifferentEnergyAtSameTime) {
  json other = SeedUpdated();
  other["transactionData"]["chargingPeriods"][0]["dimensions"][0]["value"] = 2600;
  EXPECT_NE(Normalize(other).dedup_key(), Normalize(SeedUpdated()).dedup_key());
}

TEST(NormalizeSeedTest, SeqNoWhenPresentDrivesOrderAndDedup) {
  json payload = SeedUpdated();
  payload["seqNo"] = 7;
  TransactionEvent e = Normalize(payload);
  ASSERT_TRUE(e.has_seq_no());
  EXPECT_EQ(e.seq_no(), 7);
  EXPECT_EQ(e.order_key(), 7);
  EXPECT_EQ(e.dedup_key(), "seq:7");
}

TEST(NormalizeSeedTest, OptionalFieldsAreRead) {
  json payload = SeedStarted();
  payload["evseId"] = 2;
  payload["connectorId"] = 1;
  payload["remoteStartId"] = 99;
  payload["idToken"] = {{"idToken", "user_token"}, {"type", "Central"}};
  payload["triggerReason"] = "RemoteStart";
  TransactionEvent e = Normalize(payload);
  EXPECT_EQ(e.evse_id(), 2);
  EXPECT_EQ(e.connector_id(), 1);
  EXPECT_EQ(e.remote_start_id(), 99);
  EXPECT_EQ(e.id_token(), "user_token");
  EXPECT_EQ(e.id_token_type(), "Central");
  EXPECT_EQ(e.trigger_reason(), "RemoteStart");
}

TEST(NormalizeSeedTest, StrictModeRefusesSeedDialect) {
  PayloadError e = CatchPayloadError([&] { Normalize(SeedUpdated(), /*strict=*/true); });
  EXPECT_EQ(e.code, "OccurrenceConstraintViolation");
  EXPECT_NE(e.description.find("transactionInfo"), std::string::npos) << e.description;
}

TEST(NormalizeSeedTest, MissingTransactionIdIsOccurrenceConstraintViolation) {
  json payload = SeedUpdated();
  payload["transactionData"].erase("transactionId");
  EXPECT_EQ(NormalizeError(payload), "OccurrenceConstraintViolation");
}

TEST(NormalizeSeedTest, TransactionIdOf37CharsIsPropertyConstraintViolation) {
  json payload = SeedUpdated();
  payload["transactionData"]["transactionId"] = std::string(37, 's');
  EXPECT_EQ(NormalizeError(payload), "PropertyConstraintViolation");
}

TEST(NormalizeSeedTest, StringDimensionValueIsTypeConstraintViolation) {
  json payload = SeedUpdated();
  payload["transactionData"]["chargingPeriods"][0]["dimensions"][0]["value"] = "2500";
  EXPECT_EQ(NormalizeError(payload), "TypeConstraintViolation");
}

TEST(NormalizeSeedTest, StringTotalCostIsTypeConstraintViolation) {
  json payload = SeedUpdated();
  payload["transactionData"]["totalCost"] = "375";
  EXPECT_EQ(NormalizeError(payload), "TypeConstraintViolation");
}

TEST(NormalizeSeedTest, SeedStillNeedsValidTimestamp) {
  json payload = SeedUpdated();
  payload["timestamp"] = "2026-11-24 nope";
  EXPECT_EQ(NormalizeError(payload), "PropertyConstraintViolation");
}

}  // namespace
}  // namespace csms::gateway
