// The inbound payload decoders on arbitrary JSON: the TransactionEvent normalizer (both dialects)
// and the generated message types of the other messages a charger sends (tools/ocpp-codegen). A
// PayloadException or DecodeError is the documented answer to bad input; any other exception, a
// crash or a sanitizer report is a bug. It also checks:
//  - a payload the schema accepts decodes (unless an integer is beyond OCPP's 32 bits, which
//    the schema does not bound) and encodes back to the same JSON, which the schema accepts;
//  - strict mode accepts exactly the standard-dialect payloads the lenient mode accepts, with
//    the same result;
//  - what is accepted satisfies the limits the services rely on;
//  - what the OCA schema accepts, the normalizer accepts too (CallRouter checks the schema first,
//    so a payload passing it and then refused would be a CALLERROR for a correct station). Known
//    exception: integral numbers beyond int64_t (1e30 is an "integer" to JSON Schema, which sets
//    no bound) that the normalizer cannot hold and refuses; such payloads skip this comparison.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "csms/common/ocpp_schema.h"
#include "csms/common/time_util.h"
#include "csms/gateway/normalize.h"
#include "csms/gateway/payload_check.h"
#include "csms/ocpp/v201/authorize.h"
#include "csms/ocpp/v201/boot_notification.h"
#include "csms/ocpp/v201/heartbeat.h"
#include "csms/ocpp/v201/meter_values.h"
#include "csms/ocpp/v201/notify_event.h"
#include "csms/ocpp/v201/notify_report.h"
#include "csms/ocpp/v201/status_notification.h"
#include "fuzz_check.h"

namespace {

using csms::gateway::PayloadException;
using csms::ocpp::v1::TransactionEvent;

const csms::TimePoint kReceivedAt = *csms::ParseRfc3339("2026-11-24T09:00:00Z");

// Runs f; a PayloadException (with a code and a description) yields nullopt.
template <typename F>
auto Try(F f) -> std::optional<decltype(f())> {
  try {
    return f();
  } catch (const PayloadException& e) {
    FUZZ_CHECK(!e.error.code.empty());
    FUZZ_CHECK(!e.error.description.empty());
    return std::nullopt;
  }
}

std::optional<TransactionEvent> Normalize(const nlohmann::json& payload, bool strict) {
  return Try([&] {
    return csms::gateway::NormalizeTransactionEvent(payload, "CS001", "c-0001", kReceivedAt,
                                                    strict);
  });
}

// Length in characters, as OCPP's maxLength counts (the strings come from JSON: valid UTF-8).
size_t Characters(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// Whether any number in the document is integral but outside int64_t (see the header).
bool HasIntegerBeyondInt64(const nlohmann::json& document) {
  std::vector<const nlohmann::json*> pending{&document};  // no recursion: nesting is unbounded
  while (!pending.empty()) {
    const nlohmann::json* value = pending.back();
    pending.pop_back();
    if (value->is_structured()) {
      for (const auto& child : *value) pending.push_back(&child);
    } else if (value->is_number_unsigned()) {
      // 2^63 .. 2^64-1 parse as unsigned, not as float.
      if (value->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) return true;
    } else if (value->is_number_float()) {
      double d = value->get<double>();
      if (d == std::trunc(d) && !(d > -0x1p63 && d < 0x1p63)) return true;
    }
  }
  return false;
}

// Whether any integral number is outside int32_t (OCPP's integers; JSON Schema sets no bound).
bool HasIntegerBeyondInt32(const nlohmann::json& document) {
  std::vector<const nlohmann::json*> pending{&document};
  while (!pending.empty()) {
    const nlohmann::json* value = pending.back();
    pending.pop_back();
    if (value->is_structured()) {
      for (const auto& child : *value) pending.push_back(&child);
    } else if (value->is_number()) {
      double d = value->get<double>();
      if (d == std::trunc(d) && !(d >= INT32_MIN && d <= INT32_MAX)) return true;
    }
  }
  return false;
}

bool g_compare_with_schema = true;

// True when the OCA request schema of `action` accepts the payload and the comparison applies.
bool SchemaValid(const char* action, const nlohmann::json& payload) {
  static const csms::ocpp::SchemaSet& schemas = csms::ocpp::SchemaSet::Ocpp201();
  auto violation = schemas.Validate(action, csms::ocpp::PayloadKind::kRequest, payload);
  if (!violation) return g_compare_with_schema;
  FUZZ_CHECK(!violation->code.empty());
  FUZZ_CHECK(!violation->description.empty() && violation->description.size() <= 255);
  return false;
}

void CheckEvent(const TransactionEvent& event) {
  FUZZ_CHECK(Characters(event.transaction_id()) <= 36);  // may be empty: OCPP sets no minLength
  FUZZ_CHECK(!event.dedup_key().empty() && event.dedup_key().size() <= 128);
  FUZZ_CHECK(event.dialect() == csms::ocpp::v1::DIALECT_OCPP201 ||
             event.dialect() == csms::ocpp::v1::DIALECT_SEED);
  FUZZ_CHECK(event.event_type() != csms::ocpp::v1::TRANSACTION_EVENT_TYPE_ENDED ||
             !event.stopped_reason().empty());
  FUZZ_CHECK(!event.raw_payload_json().empty());
}

void Transaction(const nlohmann::json& payload) {
  std::optional<TransactionEvent> lenient = Normalize(payload, false);
  std::optional<TransactionEvent> strict = Normalize(payload, true);
  if (lenient) CheckEvent(*lenient);
  if (strict) {
    FUZZ_CHECK(strict->dialect() == csms::ocpp::v1::DIALECT_OCPP201);
    FUZZ_CHECK(lenient.has_value());
    FUZZ_CHECK(strict->SerializeAsString() == lenient->SerializeAsString());
  } else if (lenient) {
    FUZZ_CHECK(lenient->dialect() == csms::ocpp::v1::DIALECT_SEED);
  }
  if (SchemaValid("TransactionEvent", payload)) FUZZ_CHECK(strict.has_value());
}

// Decodes `payload` as T (T::kAction's request) and checks the properties in the header.
template <typename T>
void Decoded(const nlohmann::json& payload) {
  std::optional<T> decoded;
  try {
    decoded = csms::ocpp::Decode<T>(payload);
  } catch (const csms::ocpp::model::DecodeError& e) {
    FUZZ_CHECK(!e.code().empty());
    FUZZ_CHECK(e.what()[0] != '\0');
  }
  const std::string action(T::kAction);
  if (!SchemaValid(action.c_str(), payload)) return;
  if (!decoded) {
    FUZZ_CHECK(HasIntegerBeyondInt32(payload));
    return;
  }
  const nlohmann::json again = csms::ocpp::Encode(*decoded);
  FUZZ_CHECK(again == payload);
  FUZZ_CHECK(SchemaValid(action.c_str(), again));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json payload = nlohmann::json::parse(data, data + size, nullptr, false);
  if (payload.is_discarded()) return 0;
  g_compare_with_schema = !HasIntegerBeyondInt64(payload);

  Transaction(payload);
  Decoded<csms::ocpp::v201::BootNotificationRequest>(payload);
  Decoded<csms::ocpp::v201::StatusNotificationRequest>(payload);
  Decoded<csms::ocpp::v201::NotifyEventRequest>(payload);
  Decoded<csms::ocpp::v201::NotifyReportRequest>(payload);
  Decoded<csms::ocpp::v201::MeterValuesRequest>(payload);
  Decoded<csms::ocpp::v201::AuthorizeRequest>(payload);
  Decoded<csms::ocpp::v201::HeartbeatRequest>(payload);
  return 0;
}
