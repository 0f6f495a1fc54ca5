// Inputs found by the libFuzzer targets of fuzz/ (see fuzz/README.md), kept as plain tests so
// the normal build guards them too. Each test feeds the exact input the fuzzer saved.
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "csms/gateway/normalize.h"
#include "csms/gateway/payload_check.h"
#include "csms/ocpp/v201/boot_notification.h"
#include "csms/ocpp/v201/meter_values.h"
#include "csms/ocpp/v201/status_notification.h"
#include "fakes.h"

namespace csms::gateway {
namespace {

using nlohmann::json;

// The PayloadException code f throws, or "accepted".
std::string PayloadErrorCode(const std::function<void()>& f) {
  try {
    f();
  } catch (const PayloadException& e) {
    return e.error.code;
  } catch (const ocpp::model::DecodeError& e) {
    return e.code();
  }
  return "accepted";
}

// What decoding into the generated type says (the gateway decodes after the schema check).
template <typename T>
std::string DecodeCode(const json& payload) {
  return PayloadErrorCode([&] { ocpp::Decode<T>(payload); });
}

void ExpectRefusedInteger(const std::string& code) {
  EXPECT_TRUE(code == "TypeConstraintViolation" || code == "PropertyConstraintViolation") << code;
}

// fuzz_normalize-crash-bcd6d0e5040d455b45a0d3c373a2df12c708ca32: a number too large for int64_t
// where an integer is expected must be refused as a payload error. ReadInt (payload_check.cc)
// cast it to int64_t first: undefined behaviour (UBSan: "4.44444e+117 is outside the range of
// representable values of type 'long'").
TEST(FuzzRegressionTest, MeterValuesWithHugeEvseId) {
  const std::string input =
      R"fuzz({"evseId":4444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444441,"meterValue":[{"timestamp":"2026-11-24T09:00:00Z","sampledVr)ialue":[{"value":1,"measurand":"Energy.Active.Import.Register","unitOfMeasure":{"pnitlpeir":-3}}]}]})fuzz";
  json payload = json::parse(input);
  ExpectRefusedInteger(DecodeCode<ocpp::v201::MeterValuesRequest>(payload));
}

// fuzz_normalize-crash-f8f80b886f6f09e43263ea17932a6deda90e24b4: valid for the OCA schema (JSON
// Schema sets no bound on "integer"), but beyond int64_t; the normalizer refuses it cleanly.
TEST(FuzzRegressionTest, SchemaValidMeterValuesWithEvseIdBeyondInt64) {
  const std::string input =
      R"fuzz({"evseId":99944671551161561500000000001,"meterValue":[{"timestamp":"2026-11-24T09:00:00Z","sampledValue":[{"value":1}]}]})fuzz";
  json payload = json::parse(input);
  ExpectRefusedInteger(DecodeCode<ocpp::v201::MeterValuesRequest>(payload));
}

// fuzz_normalize-crash-baf06fab7c2a92754dda6b3e0e12ce5f083d60f1: between 2^63 and 2^64 a number
// parses as unsigned, not as a float; the normalizer refuses it like any integer beyond int64_t
// (the fuzz harness's exemption for such payloads had looked at floats only).
TEST(FuzzRegressionTest, SchemaValidMeterValuesWithUnsignedEvseIdBeyondInt64) {
  const std::string input =
      R"fuzz({"evseId":9994467155110000001,"meterValue":[{"timestamp":"2027-11-24T09:00:00Z","sampledValue":[{"value":1}]}]})fuzz";
  json payload = json::parse(input);
  ASSERT_TRUE(payload["evseId"].is_number_unsigned());
  ExpectRefusedInteger(DecodeCode<ocpp::v201::MeterValuesRequest>(payload));
}

// fuzz_normalize-crash-910a1a2cfb4ec088d7cba69d800e21b7ae601787: the OCA schema counts maxLength
// in characters (JSON Schema), the normalizer counted bytes, so a station's non-ASCII text within
// the limit passed the schema and was then refused (unit "Power.Actitẙ0quesWh" is 19 characters,
// 21 bytes; maxLength 20). Fixed in ReadString (payload_check.cc).
TEST(FuzzRegressionTest, MaxLengthCountsCharactersNotBytes) {
  const std::string input =
      R"fuzz({"eventType":"Updated","timestamp":"2026-11-24T09:00:00Z","triggerReason":"MeterValuePeriodic","seqNo":3,"transactionInfo":{"transactionId":"tx-2","chargingState":"Charging"},"meterValue":[{"timestamp":"2026-11-24T09:20:00Z","sampledValue":[{"value":123450,"unitOfMeasure":{"unit":"Power.Actitẙ0quesWh","multiplier":-1}}]}]})fuzz";
  json payload = json::parse(input);
  EXPECT_EQ(PayloadErrorCode([&] {
              NormalizeTransactionEvent(payload, "CS001", "c-1", testing::FixedTime(), true);
            }),
            "accepted");
  // fuzz_normalize-crash-05ee2d8833ad44c1d3cb4e7b83f1ad806a151ccc: transactionId of 36
  // characters in 37 bytes (the input ends in "\n\0\0\0", which nlohmann::json reads as the end).
  json ended = json::parse(
      std::string(
          R"fuzz({"eventType":"Ended","timestamp":"2026-11-24T09:00:00Z","triggerReason":"RemoteStop","seqNo":2,"transactionInfo":{"transactionId":"tx-жIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIh"}})fuzz") +
      std::string("\n\0\0\0", 4));
  EXPECT_EQ(PayloadErrorCode([&] {
              NormalizeTransactionEvent(ended, "CS001", "c-1", testing::FixedTime(), true);
            }),
            "accepted");
  // The same on a BootNotification: model is 20 characters (maxLength 20) in 23 bytes.
  json boot = json::parse(
      R"({"reason":"PowerUp","chargingStation":{"model":"Modèle-Électrique-Ü1","vendorName":"Société Générale d'Électricité"}})");
  EXPECT_EQ(DecodeCode<ocpp::v201::BootNotificationRequest>(boot), "accepted");
}

// The same cast on the other integer fields and at the edges of int64_t.
TEST(FuzzRegressionTest, IntegersOutsideInt64AreRefused) {
  for (const char* number :
       {"1e300", "-1e300", "9223372036854775808.0", "-1e19", "1e19", "18446744073709551616"}) {
    SCOPED_TRACE(number);
    json status = json::parse(
        std::string(R"({"timestamp":"2026-11-24T09:00:00Z","connectorStatus":"Available",)") +
        R"("evseId":)" + number + R"(,"connectorId":1})");
    ExpectRefusedInteger(DecodeCode<ocpp::v201::StatusNotificationRequest>(status));
    json event = json::parse(
        std::string(R"({"eventType":"Started","timestamp":"2026-11-24T09:00:00Z",)") +
        R"("triggerReason":"Authorized","transactionInfo":{"transactionId":"tx-1"},"seqNo":)" +
        number + "}");
    ExpectRefusedInteger(PayloadErrorCode(
        [&] { NormalizeTransactionEvent(event, "CS001", "c-1", testing::FixedTime()); }));
  }
}

// Unsigned values beyond int64 must not wrap, and ids kept in 32 bits are range-checked.
TEST(FuzzRegressionTest, HugeUnsignedAndOutOf32BitIdsAreRefused) {
  json status = json::parse(
      R"({"timestamp":"2026-11-24T09:00:00Z","connectorStatus":"Available","evseId":4294967297,)"
      R"("connectorId":1})");
  EXPECT_EQ(DecodeCode<ocpp::v201::StatusNotificationRequest>(status),
            "PropertyConstraintViolation");
  json event = json::parse(
      R"({"eventType":"Started","timestamp":"2026-11-24T09:00:00Z","triggerReason":"Authorized",)"
      R"("transactionInfo":{"transactionId":"tx-1"},"seqNo":18446744073709551615})");
  EXPECT_EQ(PayloadErrorCode(
                [&] { NormalizeTransactionEvent(event, "CS001", "c-1", testing::FixedTime()); }),
            "PropertyConstraintViolation");
}

}  // namespace
}  // namespace csms::gateway
