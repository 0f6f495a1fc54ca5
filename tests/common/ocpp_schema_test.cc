#include "csms/common/ocpp_schema.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "csms/common/ocpp_actions.h"

namespace csms::ocpp {
namespace {

using nlohmann::json;

const SchemaSet& Schemas() { return SchemaSet::Ocpp201(); }

std::optional<SchemaViolation> Request(std::string_view action, const json& payload) {
  return Schemas().Validate(action, PayloadKind::kRequest, payload);
}

std::optional<SchemaViolation> Response(std::string_view action, const json& payload) {
  return Schemas().Validate(action, PayloadKind::kResponse, payload);
}

// Expects exactly this code and a description that starts with `path: ` and fits a CALLERROR.
void ExpectViolation(const std::optional<SchemaViolation>& violation, std::string_view code,
                     std::string_view path) {
  ASSERT_TRUE(violation.has_value()) << "expected " << code << " at " << path;
  EXPECT_EQ(violation->code, code) << violation->description;
  EXPECT_EQ(violation->description.rfind(std::string(path) + ": ", 0), 0u)
      << violation->description;
  EXPECT_LE(violation->description.size(), 255u);
}

#define EXPECT_VALID(result) \
  EXPECT_FALSE((result).has_value()) << (result)->code << ": " << (result)->description

json Boot() {
  return json::parse(R"({
    "reason": "PowerUp",
    "chargingStation": {
      "model": "SingleSocketCharger",
      "vendorName": "VendorX",
      "serialNumber": "SN-0001",
      "firmwareVersion": "1.2.3",
      "modem": {"iccid": "8931440400000000000", "imsi": "262011234567890"}
    }
  })");
}

json Status() {
  return json::parse(R"({"timestamp": "2026-11-23T10:00:00Z", "connectorStatus": "Available",
                         "evseId": 1, "connectorId": 1})");
}

json Sample(double value, const char* measurand, const char* unit) {
  return {{"value", value},
          {"measurand", measurand},
          {"context", "Sample.Periodic"},
          {"location", "Outlet"},
          {"unitOfMeasure", {{"unit", unit}, {"multiplier", 0}}}};
}

json TransactionUpdated() {
  json meter_value = {
      {"timestamp", "2026-11-23T10:15:00.123Z"},
      {"sampledValue",
       json::array({Sample(12345.5, "Energy.Active.Import.Register", "Wh"),
                    Sample(7200, "Power.Active.Import", "W"), Sample(31.5, "Current.Import", "A"),
                    Sample(230.1, "Voltage", "V")})}};
  json meter_value_2 = meter_value;
  meter_value_2["timestamp"] = "2026-11-23T11:15:00+01:00";
  return {{"eventType", "Updated"},
          {"timestamp", "2026-11-23T10:15:00Z"},
          {"triggerReason", "MeterValuePeriodic"},
          {"seqNo", 7},
          {"offline", false},
          {"transactionInfo",
           {{"transactionId", "d3a6b1c0-5b8e-4a8c-9a1e-6f3f2b7c8d90"},
            {"chargingState", "Charging"},
            {"timeSpentCharging", 900}}},
          {"evse", {{"id", 1}, {"connectorId", 1}}},
          {"idToken", {{"idToken", "04A2B3C4D5E6F7"}, {"type", "ISO14443"}}},
          {"meterValue", json::array({meter_value, meter_value_2})}};
}

json ChargingStationMaxProfile() {
  return json::parse(R"({
    "evseId": 0,
    "chargingProfile": {
      "id": 100,
      "stackLevel": 0,
      "chargingProfilePurpose": "ChargingStationMaxProfile",
      "chargingProfileKind": "Absolute",
      "chargingSchedule": [{
        "id": 1,
        "startSchedule": "2026-11-23T00:00:00Z",
        "chargingRateUnit": "W",
        "chargingSchedulePeriod": [
          {"startPeriod": 0, "limit": 22000.0, "numberPhases": 3},
          {"startPeriod": 3600, "limit": 11000}
        ]
      }]
    }
  })");
}

// ---- the schema set --------------------------------------------------------------------------

TEST(OcppSchemaTest, AllSchemasCompileForEveryAction) {
  const SchemaSet& set = Schemas();
  EXPECT_EQ(set.schema_count(), 128u);
  std::vector<std::string_view> actions = set.Actions();
  EXPECT_EQ(actions.size(), 64u);
  for (std::string_view action : actions) {
    EXPECT_TRUE(IsOcpp201Action(action)) << action;
    EXPECT_TRUE(set.Has(action, PayloadKind::kRequest)) << action;
    EXPECT_TRUE(set.Has(action, PayloadKind::kResponse)) << action;
  }
  EXPECT_TRUE(set.Has("Heartbeat"));
  EXPECT_FALSE(set.Has("heartbeat"));
  EXPECT_FALSE(set.Has("StartTransaction"));  // 1.6 only
}

TEST(OcppSchemaTest, OneInstanceAcrossThreads) {
  std::vector<const SchemaSet*> seen(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < seen.size(); ++i) {
    threads.emplace_back([&seen, i] { seen[i] = &SchemaSet::Ocpp201(); });
  }
  for (auto& t : threads) t.join();
  for (const SchemaSet* s : seen) EXPECT_EQ(s, &Schemas());
}

TEST(OcppSchemaTest, UnknownActionIsNotImplemented) {
  auto v = Request("StartTransaction", json::object());
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->code, "NotImplemented");
}

// ---- valid payloads -----------------------------------------------------------------------------

TEST(OcppSchemaTest, ValidRequestsPass) {
  EXPECT_VALID(Request("BootNotification", Boot()));
  EXPECT_VALID(Request("Heartbeat", json::object()));
  EXPECT_VALID(Request("StatusNotification", Status()));
  EXPECT_VALID(Request("TransactionEvent", TransactionUpdated()));
  EXPECT_VALID(Request("SetChargingProfile", ChargingStationMaxProfile()));
  EXPECT_VALID(
      Request("Authorize", json::parse(R"({"idToken":{"idToken":"AB12","type":"ISO14443"}})")));
  EXPECT_VALID(Request("RequestStartTransaction", json::parse(R"({"remoteStartId": 42,
      "idToken": {"idToken": "user-1", "type": "Central"}, "evseId": 1})")));
}

TEST(OcppSchemaTest, ValidResponsesPass) {
  EXPECT_VALID(Response("Heartbeat", json::parse(R"({"currentTime":"2026-11-23T10:00:00Z"})")));
  EXPECT_VALID(Response("BootNotification", json::parse(R"({"currentTime":"2026-11-23T10:00:00Z",
                                                             "interval":300,"status":"Accepted"})")));
  EXPECT_VALID(Response("RequestStartTransaction",
                        json::parse(R"({"status":"Accepted","transactionId":"tx-1"})")));
  EXPECT_VALID(Response("RequestStartTransaction",
                        json::parse(R"({"status":"Rejected","statusInfo":{"reasonCode":"Busy",
                                        "additionalInfo":"EVSE occupied"}})")));
  EXPECT_VALID(Response("StatusNotification", json::object()));
  EXPECT_VALID(Response("TransactionEvent", json::parse(R"({"totalCost": 0.00,
      "idTokenInfo": {"status": "Accepted"}})")));
}

TEST(OcppSchemaTest, CustomDataAllowsVendorProperties) {
  json boot = Boot();
  boot["customData"] = {{"vendorId", "com.example"}, {"anything", {{"nested", 1}}}};
  boot["chargingStation"]["customData"] = {{"vendorId", "com.example"}, {"x", true}};
  EXPECT_VALID(Request("BootNotification", boot));
  boot["customData"].erase("vendorId");
  ExpectViolation(Request("BootNotification", boot), "OccurrenceConstraintViolation",
                  "customData.vendorId");
}

TEST(OcppSchemaTest, IntegralFloatIsAnInteger) {
  json status = Status();
  status["evseId"] = 1.0;  // JSON Schema: 1.0 is an integer
  EXPECT_VALID(Request("StatusNotification", status));
  json tx = TransactionUpdated();
  tx["meterValue"][0]["sampledValue"][0]["value"] = 12;  // integers are numbers
  EXPECT_VALID(Request("TransactionEvent", tx));
}

// ---- one violation of each kind -----------------------------------------------------------------

TEST(OcppSchemaTest, PayloadNotAnObjectIsFormatViolation) {
  ExpectViolation(Request("Heartbeat", json::array()), "FormatViolation", "payload");
  ExpectViolation(Request("BootNotification", nullptr), "FormatViolation", "payload");
  ExpectViolation(Request("BootNotification", "text"), "FormatViolation", "payload");
}

TEST(OcppSchemaTest, MissingRequiredIsOccurrenceConstraint) {
  json boot = Boot();
  boot.erase("reason");
  auto v = Request("BootNotification", boot);
  ExpectViolation(v, "OccurrenceConstraintViolation", "reason");
  EXPECT_EQ(v->description, "reason: required property missing");

  boot = Boot();
  boot["chargingStation"].erase("vendorName");
  ExpectViolation(Request("BootNotification", boot), "OccurrenceConstraintViolation",
                  "chargingStation.vendorName");
}

TEST(OcppSchemaTest, WrongTypeIsTypeConstraint) {
  json status = Status();
  status["evseId"] = "1";
  auto v = Request("StatusNotification", status);
  ExpectViolation(v, "TypeConstraintViolation", "evseId");
  EXPECT_EQ(v->description, "evseId: expected integer, got string");

  json boot = Boot();
  boot["chargingStation"] = "VendorX";
  ExpectViolation(Request("BootNotification", boot), "TypeConstraintViolation", "chargingStation");
  json tx = TransactionUpdated();
  tx["offline"] = 0;
  ExpectViolation(Request("TransactionEvent", tx), "TypeConstraintViolation", "offline");
  tx = TransactionUpdated();
  tx["meterValue"] = tx["meterValue"][0];  // one element is still an array
  ExpectViolation(Request("TransactionEvent", tx), "TypeConstraintViolation", "meterValue");
  tx = TransactionUpdated();
  tx["meterValue"][1]["sampledValue"][3]["value"] = "230.1";
  ExpectViolation(Request("TransactionEvent", tx), "TypeConstraintViolation",
                  "meterValue[1].sampledValue[3].value");
}

TEST(OcppSchemaTest, NonIntegralNumberIsNotAnInteger) {
  json tx = TransactionUpdated();
  tx["seqNo"] = 1.5;
  auto v = Request("TransactionEvent", tx);
  ExpectViolation(v, "TypeConstraintViolation", "seqNo");
  EXPECT_EQ(v->description, "seqNo: expected integer, got number 1.5");
}

TEST(OcppSchemaTest, EnumMismatchIsPropertyConstraint) {
  json status = Status();
  status["connectorStatus"] = "Sleeping";
  auto v = Request("StatusNotification", status);
  ExpectViolation(v, "PropertyConstraintViolation", "connectorStatus");
  EXPECT_EQ(v->description,
            "connectorStatus: \"Sleeping\" is not one of Available, Occupied, Reserved, "
            "Unavailable, Faulted");
  status["connectorStatus"] = "available";  // case-sensitive
  ExpectViolation(Request("StatusNotification", status), "PropertyConstraintViolation",
                  "connectorStatus");
}

TEST(OcppSchemaTest, MaxLengthCountsCharactersNotBytes) {
  json boot = Boot();
  boot["chargingStation"]["model"] = std::string(21, 'M');
  auto v = Request("BootNotification", boot);
  ExpectViolation(v, "PropertyConstraintViolation", "chargingStation.model");
  EXPECT_EQ(v->description, "chargingStation.model: longer than 20 characters (21)");

  boot["chargingStation"]["model"] = std::string(20, 'M');
  EXPECT_VALID(Request("BootNotification", boot));
  // 20 characters, 40 bytes (é is two bytes in UTF-8): allowed.
  std::string accented;
  for (int i = 0; i < 20; ++i) accented += "\xC3\xA9";
  boot["chargingStation"]["model"] = accented;
  EXPECT_VALID(Request("BootNotification", boot));
  boot["chargingStation"]["model"] = accented + "\xC3\xA9";
  ExpectViolation(Request("BootNotification", boot), "PropertyConstraintViolation",
                  "chargingStation.model");
}

TEST(OcppSchemaTest, UnknownPropertyIsPropertyConstraint) {
  json boot = Boot();
  boot["foo"] = 1;
  auto v = Request("BootNotification", boot);
  ExpectViolation(v, "PropertyConstraintViolation", "foo");
  EXPECT_EQ(v->description, "foo: property not allowed");
  boot = Boot();
  boot["chargingStation"]["foo"] = "bar";
  ExpectViolation(Request("BootNotification", boot), "PropertyConstraintViolation",
                  "chargingStation.foo");
  // Even an empty payload schema (Heartbeat) rejects extras.
  ExpectViolation(Request("Heartbeat", {{"foo", 1}}), "PropertyConstraintViolation", "foo");
}

TEST(OcppSchemaTest, ArrayCardinalityIsOccurrenceConstraint) {
  json tx = TransactionUpdated();
  tx["meterValue"] = json::array();
  auto v = Request("TransactionEvent", tx);
  ExpectViolation(v, "OccurrenceConstraintViolation", "meterValue");
  EXPECT_EQ(v->description, "meterValue: 0 items, at least 1 required");

  json profile = ChargingStationMaxProfile();
  json& schedules = profile["chargingProfile"]["chargingSchedule"];
  for (int i = 0; i < 3; ++i) schedules.push_back(schedules[0]);  // 4 > maxItems 3
  v = Request("SetChargingProfile", profile);
  ExpectViolation(v, "OccurrenceConstraintViolation", "chargingProfile.chargingSchedule");
  EXPECT_EQ(v->description, "chargingProfile.chargingSchedule: 4 items, at most 3 allowed");
}

TEST(OcppSchemaTest, BadDateTimeIsPropertyConstraint) {
  for (const char* bad : {"yesterday", "2026-11-23 10:00:00Z", "2026-11-23T10:00:00",
                          "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-11-23T24:00:00Z",
                          "2026-11-23T10:00:00.Z", "2026-11-23T10:00:00+0100", ""}) {
    json status = Status();
    status["timestamp"] = bad;
    ExpectViolation(Request("StatusNotification", status), "PropertyConstraintViolation",
                    "timestamp");
  }
  json tx = TransactionUpdated();
  tx["meterValue"][1]["timestamp"] = "2026-11-23";
  ExpectViolation(Request("TransactionEvent", tx), "PropertyConstraintViolation",
                  "meterValue[1].timestamp");
}

TEST(OcppSchemaTest, Rfc3339DateTime) {
  for (const char* good :
       {"2026-11-23T10:00:00Z", "2026-11-23t10:00:00z", "2026-11-23T10:00:00.1Z",
        "2026-11-23T10:00:00.123456789Z", "2024-02-29T00:00:00Z", "2026-11-23T10:00:00+05:30",
        "2026-11-23T10:00:00-00:00", "2016-12-31T23:59:60Z"}) {
    EXPECT_TRUE(IsRfc3339DateTime(good)) << good;
  }
  for (const char* bad : {"2100-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-11-23T10:60:00Z",
                          "2026-11-23T10:00:00+24:00", "2026-11-23T10:00:00Zjunk",
                          "+2026-11-23T10:00:00Z", "2026-1-23T10:00:00Z"}) {
    EXPECT_FALSE(IsRfc3339DateTime(bad)) << bad;
  }
}

TEST(OcppSchemaTest, MinimumAndMaximumArePropertyConstraints) {
  json needs = json::parse(R"({"evseId": 1, "chargingNeeds": {"requestedEnergyTransfer": "DC",
      "dcChargingParameters": {"evMaxCurrent": 200, "evMaxVoltage": 800, "stateOfCharge": 50}}})");
  EXPECT_VALID(Request("NotifyEVChargingNeeds", needs));
  needs["chargingNeeds"]["dcChargingParameters"]["stateOfCharge"] = 101;
  auto v = Request("NotifyEVChargingNeeds", needs);
  ExpectViolation(v, "PropertyConstraintViolation",
                  "chargingNeeds.dcChargingParameters.stateOfCharge");
  EXPECT_EQ(
      v->description,
      "chargingNeeds.dcChargingParameters.stateOfCharge: 101 is greater than the maximum 100");
  needs["chargingNeeds"]["dcChargingParameters"]["stateOfCharge"] = -1;
  ExpectViolation(Request("NotifyEVChargingNeeds", needs), "PropertyConstraintViolation",
                  "chargingNeeds.dcChargingParameters.stateOfCharge");
}

TEST(OcppSchemaTest, NullForAnOptionalFieldIsATypeError) {
  json boot = Boot();
  boot["chargingStation"]["serialNumber"] = nullptr;  // optional fields are left out, not null
  ExpectViolation(Request("BootNotification", boot), "TypeConstraintViolation",
                  "chargingStation.serialNumber");
}

TEST(OcppSchemaTest, ResponseSchemaIsChecked) {
  auto v = Response("BootNotification",
                    json::parse(R"({"currentTime":"2026-11-23T10:00:00Z","status":"Accepted"})"));
  ExpectViolation(v, "OccurrenceConstraintViolation", "interval");
  ExpectViolation(Response("Heartbeat", json::object()), "OccurrenceConstraintViolation",
                  "currentTime");
  ExpectViolation(Response("RequestStartTransaction", {{"status", "OK"}}),
                  "PropertyConstraintViolation", "status");
}

TEST(OcppSchemaTest, ReportsStructureBeforeContentsInKeyOrder) {
  // Two problems: the object's own missing property wins over a bad member value.
  json tx = TransactionUpdated();
  tx["evse"]["id"] = "one";
  tx.erase("triggerReason");
  ExpectViolation(Request("TransactionEvent", tx), "OccurrenceConstraintViolation",
                  "triggerReason");
  // Two bad members: the first by property name.
  tx = TransactionUpdated();
  tx["seqNo"] = "7";
  tx["evse"]["id"] = "one";
  ExpectViolation(Request("TransactionEvent", tx), "TypeConstraintViolation", "evse.id");
}

TEST(OcppSchemaTest, DescriptionFitsCallErrorEvenForLongInput) {
  json boot = Boot();
  boot[std::string(1000, 'k')] = 1;
  auto v = Request("BootNotification", boot);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->code, "PropertyConstraintViolation");
  EXPECT_LE(v->description.size(), 255u);

  json status = Status();
  status["connectorStatus"] = std::string(5000, 'x');
  v = Request("StatusNotification", status);
  ASSERT_TRUE(v.has_value());
  EXPECT_LE(v->description.size(), 255u);

  // Long enum lists are cut as well.
  json tx = TransactionUpdated();
  tx["meterValue"][0]["sampledValue"][0]["measurand"] = "Energy";
  v = Request("TransactionEvent", tx);
  ExpectViolation(v, "PropertyConstraintViolation", "meterValue[0].sampledValue[0].measurand");
}

// ---- compiling other schema sets ----------------------------------------------------------------

TEST(OcppSchemaCompileTest, RejectsWhatItCannotCheck) {
  auto compile = [](std::string_view name, std::string_view text) {
    SchemaFile file{name, text};
    return SchemaSet::Compile(std::span<const SchemaFile>(&file, 1));
  };
  EXPECT_THROW(compile("XRequest.json", R"({"oneOf":[{"type":"string"}]})"), std::runtime_error);
  EXPECT_THROW(compile("XRequest.json", R"({"$ref":"#/definitions/Missing"})"), std::runtime_error);
  EXPECT_THROW(compile("XRequest.json", R"({"$ref":"other.json#/a"})"), std::runtime_error);
  EXPECT_THROW(compile("XRequest.json", "{not json"), std::runtime_error);
  EXPECT_THROW(compile("X.json", "{}"), std::runtime_error);
  EXPECT_THROW(compile("XRequest.json", R"({"type":"date"})"), std::runtime_error);
}

TEST(OcppSchemaCompileTest, SmallSchemasBehaveAsJsonSchema) {
  const std::string text = R"({
    "definitions": {
      "Node": {"type": "object", "properties": {"next": {"$ref": "#/definitions/Node"},
                                                "n": {"type": ["number", "null"],
                                                      "exclusiveMinimum": 0,
                                                      "multipleOf": 0.1}}}
    },
    "type": "object",
    "additionalProperties": {"type": "string", "minLength": 2},
    "properties": {"list": {"$ref": "#/definitions/Node"}, "k": {"const": "fixed"}},
    "required": ["must"]
  })";
  SchemaFile file{"TestRequest.json", text};
  SchemaSet set = SchemaSet::Compile(std::span<const SchemaFile>(&file, 1));
  auto check = [&](const char* payload) {
    return set.Validate("Test", PayloadKind::kRequest, json::parse(payload));
  };
  EXPECT_TRUE(set.Has("Test"));
  EXPECT_FALSE(set.Has("Test", PayloadKind::kResponse));
  EXPECT_VALID(check(R"({"must": "ok", "list": {"next": {"next": {"n": null}}}})"));
  ExpectViolation(check(R"({"must": "ok", "list": {"next": {"n": "x"}}})"),
                  "TypeConstraintViolation", "list.next.n");
  ExpectViolation(check(R"({"must": "ok", "list": {"n": 0}})"), "PropertyConstraintViolation",
                  "list.n");
  EXPECT_VALID(check(R"({"must": "ok", "list": {"n": 7.3}})"));  // multipleOf with tolerance
  ExpectViolation(check(R"({"must": "ok", "list": {"n": 7.35}})"), "PropertyConstraintViolation",
                  "list.n");
  ExpectViolation(check(R"({"must": "x"})"), "PropertyConstraintViolation", "must");
  ExpectViolation(check(R"({})"), "OccurrenceConstraintViolation", "must");
  ExpectViolation(check(R"({"must": "ok", "k": "other"})"), "PropertyConstraintViolation", "k");
  EXPECT_VALID(check(R"({"must": "ok", "k": "fixed"})"));

  // A recursive schema cannot make the checker recurse without bound.
  json deep = {{"n", 1}};
  for (int i = 0; i < 200; ++i) deep = {{"next", deep}};
  auto v = set.Validate("Test", PayloadKind::kRequest, {{"must", "ok"}, {"list", deep}});
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->code, "FormatViolation");
  EXPECT_LE(v->description.size(), 255u);
}

}  // namespace
}  // namespace csms::ocpp
