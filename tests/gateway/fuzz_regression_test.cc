// Inputs found by the libFuzzer targets of fuzz/ (see fuzz/README.md), kept as plain tests so
// the normal build guards them too. Each test feeds the exact input the fuzzer saved.
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "csms/gateway/normalize.h"
#include "csms/gateway/payload_check.h"
#include "fakes.h"

namespace csms::gateway {
namespace {

using nlohmann::json;

// A number too large for int64_t where an integer is expected must be refused as a payload
// error. ReadInt (payload_check.cc) cast it to int64_t first: undefined behaviour
// (UBSan: "4.44444e+117 is outside the range of representable values of type 'long'").
std::string IntegerFieldError(const std::function<void()>& f) {
  try {
    f();
  } catch (const PayloadException& e) {
    return e.error.code;
  }
  return "accepted";
}

void ExpectRefusedInteger(const std::string& code) {
  EXPECT_TRUE(code == "TypeConstraintViolation" || code == "PropertyConstraintViolation") << code;
}

// fuzz_normalize-crash-bcd6d0e5040d455b45a0d3c373a2df12c708ca32
TEST(FuzzRegressionTest, MeterValuesWithHugeEvseId) {
  const std::string input =
      R"fuzz({"evseId":4444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444441,"meterValue":[{"timestamp":"2026-11-24T09:00:00Z","sampledVr)ialue":[{"value":1,"measurand":"Energy.Active.Import.Register","unitOfMeasure":{"pnitlpeir":-3}}]}]})fuzz";
  json payload = json::parse(input);
  ExpectRefusedInteger(IntegerFieldError([&] { CheckMeterValues(payload); }));
}

// The same cast on the other integer fields and at the edges of int64_t.
TEST(FuzzRegressionTest, IntegersOutsideInt64AreRefused) {
  for (const char* number : {"1e300", "-1e300", "9223372036854775808.0", "-9223372036854775809.0",
                             "1e19", "18446744073709551616"}) {
    SCOPED_TRACE(number);
    json status = json::parse(
        std::string(R"({"timestamp":"2026-11-24T09:00:00Z","connectorStatus":"Available",)") +
        R"("evseId":)" + number + R"(,"connectorId":1})");
    ExpectRefusedInteger(IntegerFieldError([&] { ParseStatusNotification(status); }));
    json event = json::parse(
        std::string(R"({"eventType":"Started","timestamp":"2026-11-24T09:00:00Z",)") +
        R"("triggerReason":"Authorized","transactionInfo":{"transactionId":"tx-1"},"seqNo":)" +
        number + "}");
    ExpectRefusedInteger(IntegerFieldError(
        [&] { NormalizeTransactionEvent(event, "CS001", "c-1", testing::FixedTime()); }));
  }
}

}  // namespace
}  // namespace csms::gateway
