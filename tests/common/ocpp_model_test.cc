// The generated OCPP message model (tools/ocpp-codegen): payloads decode into typed fields,
// encode back to the same JSON, the encoding passes the schema, and what C++ cannot hold is
// refused with the field's path.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "csms/common/ocpp_schema.h"
#include "csms/ocpp/v16/messages.h"
#include "csms/ocpp/v201/messages.h"

namespace csms::ocpp {
namespace {

using nlohmann::json;

// One real-looking payload per case; each must be valid against its schema.
struct RoundTripCase {
  const char* action;
  PayloadKind kind;
  const char* payload;
};

class V201RoundTrip : public testing::TestWithParam<RoundTripCase> {};

template <typename T>
json RoundTrip(const json& payload) {
  return Encode(Decode<T>(payload));
}

json RoundTripV201(const std::string& action, PayloadKind kind, const json& payload) {
  using namespace v201;
  const bool request = kind == PayloadKind::kRequest;
  if (action == "BootNotification") {
    return request ? RoundTrip<BootNotificationRequest>(payload)
                   : RoundTrip<BootNotificationResponse>(payload);
  }
  if (action == "TransactionEvent") {
    return request ? RoundTrip<TransactionEventRequest>(payload)
                   : RoundTrip<TransactionEventResponse>(payload);
  }
  if (action == "SetVariables") {
    return request ? RoundTrip<SetVariablesRequest>(payload)
                   : RoundTrip<SetVariablesResponse>(payload);
  }
  if (action == "GetVariables") {
    return request ? RoundTrip<GetVariablesRequest>(payload)
                   : RoundTrip<GetVariablesResponse>(payload);
  }
  if (action == "NotifyReport") return RoundTrip<NotifyReportRequest>(payload);
  if (action == "DataTransfer") {
    return request ? RoundTrip<DataTransferRequest>(payload)
                   : RoundTrip<DataTransferResponse>(payload);
  }
  if (action == "Reset") {
    return request ? RoundTrip<ResetRequest>(payload) : RoundTrip<ResetResponse>(payload);
  }
  if (action == "TriggerMessage") return RoundTrip<TriggerMessageRequest>(payload);
  if (action == "Heartbeat") {
    return request ? RoundTrip<HeartbeatRequest>(payload) : RoundTrip<HeartbeatResponse>(payload);
  }
  ADD_FAILURE() << "no round trip for " << action;
  return {};
}

TEST_P(V201RoundTrip, DecodesAndEncodesToTheSameJson) {
  const RoundTripCase& c = GetParam();
  const json payload = json::parse(c.payload);
  const auto& schemas = SchemaSet::Ocpp201();
  ASSERT_FALSE(schemas.Validate(c.action, c.kind, payload)) << "the case itself is invalid";
  const json again = RoundTripV201(c.action, c.kind, payload);
  EXPECT_EQ(again, payload);
  EXPECT_FALSE(schemas.Validate(c.action, c.kind, again));
}

INSTANTIATE_TEST_SUITE_P(
    Messages, V201RoundTrip,
    testing::Values(
        RoundTripCase{"BootNotification", PayloadKind::kRequest,
                      R"({"reason":"PowerUp","chargingStation":{"model":"M1","vendorName":"V",
                          "serialNumber":"S-1","firmwareVersion":"1.2",
                          "modem":{"iccid":"8988","imsi":"450"}},
                          "customData":{"vendorId":"acme","color":"red","n":[1,2]}})"},
        RoundTripCase{"BootNotification", PayloadKind::kResponse,
                      R"({"currentTime":"2026-12-07T05:00:00Z","interval":30,
                          "status":"Pending","statusInfo":{"reasonCode":"Busy"}})"},
        RoundTripCase{"TransactionEvent", PayloadKind::kRequest,
                      R"({"eventType":"Updated","timestamp":"2026-12-07T05:00:00Z",
                          "triggerReason":"MeterValuePeriodic","seqNo":7,"offline":true,
                          "transactionInfo":{"transactionId":"tx-1","chargingState":"Charging",
                                             "remoteStartId":42},
                          "idToken":{"idToken":"04A1","type":"ISO14443",
                                     "additionalInfo":[{"additionalIdToken":"x","type":"y"}]},
                          "evse":{"id":1,"connectorId":1},
                          "meterValue":[{"timestamp":"2026-12-07T05:00:00Z","sampledValue":[
                            {"value":1234.5,"measurand":"Energy.Active.Import.Register",
                             "context":"Sample.Periodic","phase":"L1-N",
                             "unitOfMeasure":{"unit":"kWh","multiplier":3}},
                            {"value":7.4,"measurand":"Power.Active.Import",
                             "signedMeterValue":{"signedMeterData":"AB","signingMethod":"ECDSA",
                               "encodingMethod":"OCMF","publicKey":"PK"}}]}]})"},
        RoundTripCase{"TransactionEvent", PayloadKind::kResponse,
                      R"({"totalCost":3825.5,"idTokenInfo":{"status":"Accepted",
                          "cacheExpiryDateTime":"2026-12-08T00:00:00Z","evseId":[1,2],
                          "groupIdToken":{"idToken":"G","type":"Central"},
                          "personalMessage":{"format":"UTF8","content":"hi","language":"ko"}}})"},
        RoundTripCase{"SetVariables", PayloadKind::kRequest,
                      R"({"setVariableData":[{"attributeType":"Actual","attributeValue":"60",
                          "component":{"name":"OCPPCommCtrlr"},
                          "variable":{"name":"HeartbeatInterval"}},
                          {"attributeValue":"x","component":{"name":"EVSE","evse":{"id":1},
                           "instance":"a"},"variable":{"name":"V","instance":"b"}}]})"},
        RoundTripCase{"SetVariables", PayloadKind::kResponse,
                      R"({"setVariableResult":[{"attributeStatus":"RebootRequired",
                          "component":{"name":"OCPPCommCtrlr"},
                          "variable":{"name":"HeartbeatInterval"}}]})"},
        RoundTripCase{"GetVariables", PayloadKind::kResponse,
                      R"({"getVariableResult":[{"attributeStatus":"Accepted",
                          "attributeType":"Target","attributeValue":"1",
                          "component":{"name":"C"},"variable":{"name":"V"}},
                          {"attributeStatus":"UnknownVariable","component":{"name":"C"},
                           "variable":{"name":"W"}}]})"},
        RoundTripCase{"NotifyReport", PayloadKind::kRequest,
                      R"({"requestId":1,"generatedAt":"2026-12-07T05:00:00Z","tbc":false,
                          "seqNo":0,"reportData":[{"component":{"name":"C"},
                          "variable":{"name":"V"},
                          "variableAttribute":[{"type":"Actual","value":"3","mutability":
                            "ReadOnly","persistent":true,"constant":false}],
                          "variableCharacteristics":{"dataType":"integer","unit":"W",
                            "minLimit":0,"maxLimit":22000.5,"supportsMonitoring":false}}]})"},
        RoundTripCase{"DataTransfer", PayloadKind::kRequest,
                      R"({"vendorId":"acme","messageId":"m","data":{"any":["json",1,null]}})"},
        RoundTripCase{"DataTransfer", PayloadKind::kResponse,
                      R"({"status":"Accepted","data":"text"})"},
        RoundTripCase{"Reset", PayloadKind::kRequest, R"({"type":"OnIdle","evseId":2})"},
        RoundTripCase{"Reset", PayloadKind::kResponse, R"({"status":"Scheduled"})"},
        RoundTripCase{"TriggerMessage", PayloadKind::kRequest,
                      R"({"requestedMessage":"StatusNotification",
                          "evse":{"id":1,"connectorId":2}})"},
        RoundTripCase{"Heartbeat", PayloadKind::kRequest, R"({})"},
        RoundTripCase{"Heartbeat", PayloadKind::kResponse,
                      R"({"currentTime":"2026-12-07T05:00:00.123+09:00"})"}),
    [](const testing::TestParamInfo<RoundTripCase>& info) {
      return std::string(info.param.action) +
             (info.param.kind == PayloadKind::kRequest ? "Request" : "Response");
    });

TEST(OcppModel, FieldsAreTyped) {
  const auto request = Decode<v201::TransactionEventRequest>(json::parse(R"({
      "eventType":"Started","timestamp":"2026-12-07T05:00:00Z","triggerReason":"Authorized",
      "seqNo":0,"transactionInfo":{"transactionId":"tx-9"},"evse":{"id":2}})"));
  EXPECT_EQ(request.event_type, v201::TransactionEventEnum::kStarted);
  EXPECT_EQ(request.trigger_reason, v201::TriggerReasonEnum::kAuthorized);
  EXPECT_EQ(request.transaction_info.transaction_id, "tx-9");
  ASSERT_TRUE(request.evse.has_value());
  EXPECT_EQ(request.evse->id, 2);
  EXPECT_FALSE(request.evse->connector_id.has_value());
  EXPECT_FALSE(request.offline.has_value());
  EXPECT_FALSE(request.meter_value.has_value());
  static_assert(v201::TransactionEventRequest::kAction == "TransactionEvent");
  static_assert(std::is_same_v<v201::ResetRequest::Response, v201::ResetResponse>);
}

TEST(OcppModel, EnumsConvertBothWays) {
  struct Case {
    v201::MeasurandEnum value;
    std::string_view text;
  };
  for (const Case& c :
       {Case{v201::MeasurandEnum::kEnergyActiveImportRegister, "Energy.Active.Import.Register"},
        Case{v201::MeasurandEnum::kSoC, "SoC"},
        Case{v201::MeasurandEnum::kPowerActiveImport, "Power.Active.Import"}}) {
    EXPECT_EQ(v201::ToString(c.value), c.text);
    v201::MeasurandEnum parsed{};
    ASSERT_TRUE(v201::FromString(c.text, parsed)) << c.text;
    EXPECT_EQ(parsed, c.value);
  }
  v201::ResetEnum reset = v201::ResetEnum::kOnIdle;
  EXPECT_FALSE(v201::FromString("immediate", reset));  // case-sensitive, as the schema
  EXPECT_EQ(reset, v201::ResetEnum::kOnIdle);          // untouched
}

TEST(OcppModel, EncodingLeavesOutUnsetOptionals) {
  v201::ResetRequest reset;
  reset.type = v201::ResetEnum::kImmediate;
  EXPECT_EQ(Encode(reset), json::parse(R"({"type":"Immediate"})"));
  reset.evse_id = 3;
  EXPECT_EQ(Encode(reset), json::parse(R"({"type":"Immediate","evseId":3})"));
}

TEST(OcppModel, DecodeErrorsNameTheField) {
  struct Case {
    const char* payload;
    const char* path;
    const char* reason;
    const char* code;
  };
  const Case cases[] = {
      {R"({"eventType":"Started","timestamp":"t","triggerReason":"Authorized","seqNo":0,
           "transactionInfo":{"transactionId":"x"},"evse":{"id":4294967296}})",
       "evse.id", "integer out of the 32-bit range OCPP uses", "PropertyConstraintViolation"},
      {R"({"eventType":"Started","timestamp":"t","triggerReason":"Authorized","seqNo":0,
           "transactionInfo":{"transactionId":"x"},"meterValue":[{"timestamp":"t",
           "sampledValue":[{"value":1},{"value":"high"}]}]})",
       "meterValue[0].sampledValue[1].value", "not a number", "TypeConstraintViolation"},
      {R"({"eventType":"Begun","timestamp":"t","triggerReason":"Authorized","seqNo":0,
           "transactionInfo":{"transactionId":"x"}})",
       "eventType", "not a TransactionEventEnum value", "PropertyConstraintViolation"},
      {R"({"eventType":"Started","timestamp":"t","triggerReason":"Authorized","seqNo":0})",
       "transactionInfo", "required but missing", "OccurrenceConstraintViolation"},
      {R"([])", "", "not an object", "TypeConstraintViolation"},
  };
  for (const Case& c : cases) {
    try {
      Decode<v201::TransactionEventRequest>(json::parse(c.payload));
      ADD_FAILURE() << "decoded: " << c.payload;
    } catch (const model::DecodeError& e) {
      EXPECT_EQ(e.path(), c.path);
      EXPECT_EQ(e.reason(), c.reason);
      EXPECT_EQ(e.code(), c.code);
    }
  }
}

TEST(OcppModel, IntegralFloatsCountAsIntegers) {
  const auto reset =
      Decode<v201::ResetRequest>(json::parse(R"({"type":"Immediate","evseId":2.0})"));
  EXPECT_EQ(reset.evse_id, 2);
  EXPECT_THROW(Decode<v201::ResetRequest>(json::parse(R"({"type":"Immediate","evseId":2.5})")),
               model::DecodeError);
  // fuzz_normalize-crash-f8f80b886f6f09e43263ea17932a6deda90e24b4: an integral float far beyond
  // int64 was cast before its range was checked (undefined behaviour).
  for (const char* huge : {"1e300", "-1e300", "99944671551161561500000000001.0", "2147483648.0"}) {
    try {
      Decode<v201::ResetRequest>(
          json::parse(std::string(R"({"type":"Immediate","evseId":)") + huge + "}"));
      ADD_FAILURE() << huge;
    } catch (const model::DecodeError& e) {
      EXPECT_EQ(e.code(), "PropertyConstraintViolation") << huge;
    }
  }
}

TEST(OcppModel, CustomDataKeepsVendorProperties) {
  const json payload = json::parse(R"({"type":"Immediate",
      "customData":{"vendorId":"acme","mode":"fast","level":{"a":1}}})");
  const auto reset = Decode<v201::ResetRequest>(payload);
  ASSERT_TRUE(reset.custom_data.has_value());
  EXPECT_EQ(reset.custom_data->vendor_id, "acme");
  EXPECT_EQ(reset.custom_data->extra, json::parse(R"({"mode":"fast","level":{"a":1}})"));
  EXPECT_EQ(Encode(reset), payload);
}

TEST(OcppModel, V16MessagesRoundTrip) {
  const json stop = json::parse(R"({"idTag":"TAG1","meterStop":12345,
      "timestamp":"2026-12-07T05:00:00Z","transactionId":77,"reason":"EVDisconnected",
      "transactionData":[{"timestamp":"2026-12-07T05:00:00Z","sampledValue":[
        {"value":"12345","context":"Transaction.End","measurand":"Energy.Active.Import.Register",
         "unit":"Wh","phase":"L1"}]}]})");
  const auto request = Decode<v16::StopTransactionRequest>(stop);
  EXPECT_EQ(request.transaction_id, 77);
  ASSERT_TRUE(request.transaction_data.has_value());
  EXPECT_EQ((*request.transaction_data)[0].sampled_value[0].value, "12345");
  EXPECT_EQ(Encode(request), stop);

  const json answer = json::parse(R"({"idTagInfo":{"status":"Blocked",
      "expiryDate":"2026-12-08T00:00:00Z","parentIdTag":"P"},"transactionId":78})");
  EXPECT_EQ(Encode(Decode<v16::StartTransactionResponse>(answer)), answer);
  static_assert(v16::StartTransactionRequest::kAction == "StartTransaction");
}

}  // namespace
}  // namespace csms::ocpp
