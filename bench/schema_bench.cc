// csms-bench-schema: what OCPP 2.0.1 schema validation costs per message, on one thread.
//
// For a realistic TransactionEvent (Updated, 2 meterValues of 4 sampledValues), a Heartbeat and a
// BootNotification CALL it measures, each for --seconds:
//   validate        SchemaSet::Validate on an already parsed payload
//   parse+validate  nlohmann::json::parse of the whole frame text, then Validate
//   parse only      nlohmann::json::parse of the frame text (what the gateway does anyway)
// Prints one JSON object on stdout and one summary line per message on stderr. Standalone: no
// server needed.
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "csms/common/ocpp_schema.h"

namespace {

using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

struct Message {
  std::string action;
  std::string frame;  // a whole CALL, as it arrives on the WebSocket
};

json Sample(double value, const char* measurand, const char* unit, const char* phase) {
  json sample = {{"value", value},
                 {"measurand", measurand},
                 {"context", "Sample.Periodic"},
                 {"location", "Outlet"},
                 {"unitOfMeasure", {{"unit", unit}}}};
  if (phase != nullptr) sample["phase"] = phase;
  return sample;
}

json MeterValue(const char* timestamp, double wh) {
  return {{"timestamp", timestamp},
          {"sampledValue", json::array({Sample(wh, "Energy.Active.Import.Register", "Wh", nullptr),
                                        Sample(7212.5, "Power.Active.Import", "W", nullptr),
                                        Sample(31.4, "Current.Import", "A", "L1"),
                                        Sample(229.8, "Voltage", "V", "L1-N")})}};
}

std::vector<Message> Messages() {
  json transaction = {
      {"eventType", "Updated"},
      {"timestamp", "2026-11-23T10:15:00Z"},
      {"triggerReason", "MeterValuePeriodic"},
      {"seqNo", 7},
      {"transactionInfo",
       {{"transactionId", "d3a6b1c0-5b8e-4a8c-9a1e-6f3f2b7c8d90"}, {"chargingState", "Charging"}}},
      {"evse", {{"id", 1}, {"connectorId", 1}}},
      {"meterValue", json::array({MeterValue("2026-11-23T10:14:00Z", 12345.0),
                                  MeterValue("2026-11-23T10:15:00Z", 12465.2)})}};
  json boot = {{"reason", "PowerUp"},
               {"chargingStation",
                {{"model", "SingleSocketCharger"},
                 {"vendorName", "VendorX"},
                 {"serialNumber", "SN-000123"},
                 {"firmwareVersion", "1.2.3"},
                 {"modem", {{"iccid", "8931440400000000000"}, {"imsi", "262011234567890"}}}}}};
  auto frame = [](const char* action, const json& payload) {
    return json::array({2, "19223201", action, payload}).dump();
  };
  return {{"TransactionEvent", frame("TransactionEvent", transaction)},
          {"Heartbeat", frame("Heartbeat", json::object())},
          {"BootNotification", frame("BootNotification", boot)}};
}

// Runs `body` in batches until `seconds` have passed; returns operations per second.
template <typename Body>
double Rate(double seconds, Body&& body) {
  constexpr int kBatch = 256;
  const auto start = SteadyClock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  uint64_t done = 0;
  auto now = start;
  do {
    for (int i = 0; i < kBatch; ++i) body();
    done += kBatch;
    now = SteadyClock::now();
  } while (now < deadline);
  return static_cast<double>(done) / std::chrono::duration<double>(now - start).count();
}

int Usage(const char* argv0, int status) {
  (status == 0 ? std::cout : std::cerr)
      << "usage: " << argv0 << " [--seconds S]\n"
      << "  --seconds S  time per measurement, default 1 (3 measurements per message)\n";
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 1.0;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string value;
    if (arg == "--help" || arg == "-h") return Usage(argv[0], 0);
    if (arg.starts_with("--seconds=")) {
      value = arg.substr(10);
    } else if (arg == "--seconds" && i + 1 < argc) {
      value = argv[++i];
    } else {
      return Usage(argv[0], 2);
    }
    char* end = nullptr;
    seconds = std::strtod(value.c_str(), &end);
    if (end == value.c_str() || *end != '\0' || !(seconds > 0)) return Usage(argv[0], 2);
  }

  using csms::ocpp::PayloadKind;
  using csms::ocpp::SchemaSet;
  const auto compile_start = SteadyClock::now();
  const SchemaSet& schemas = SchemaSet::Ocpp201();
  const double compile_ms =
      std::chrono::duration<double, std::milli>(SteadyClock::now() - compile_start).count();

  json results = json::array();
  bool ok = true;
  volatile size_t sink = 0;  // keeps the optimizer from dropping the work
  for (const Message& message : Messages()) {
    const json parsed = json::parse(message.frame);
    const json& payload = parsed[3];
    if (auto violation = schemas.Validate(message.action, PayloadKind::kRequest, payload)) {
      std::cerr << "schema: " << message.action << " sample is invalid: " << violation->code << " "
                << violation->description << "\n";
      ok = false;
      continue;
    }
    const double validate = Rate(seconds, [&] {
      sink = sink + schemas.Validate(message.action, PayloadKind::kRequest, payload).has_value();
    });
    const double parse_validate = Rate(seconds, [&] {
      json frame = json::parse(message.frame);
      sink = sink + schemas.Validate(message.action, PayloadKind::kRequest, frame[3]).has_value();
    });
    const double parse_only = Rate(seconds, [&] {
      json frame = json::parse(message.frame);
      sink = sink + frame.size();
    });
    results.push_back({{"action", message.action},
                       {"frame_bytes", message.frame.size()},
                       {"validate_per_s", std::llround(validate)},
                       {"validate_ns", std::llround(1e9 / validate)},
                       {"parse_validate_per_s", std::llround(parse_validate)},
                       {"parse_only_per_s", std::llround(parse_only)},
                       {"parse_ns", std::llround(1e9 / parse_only)},
                       // share of parse+validate time spent validating
                       {"validate_share_pct", std::llround(100.0 * parse_validate / validate)}});
    std::fprintf(stderr,
                 "schema: %s %.0f validations/s (parse+validate %.0f/s, parse only %.0f/s)\n",
                 message.action.c_str(), validate, parse_validate, parse_only);
  }
  json report = {{"bench", "schema"},
                 {"threads", 1},
                 {"seconds_per_measurement", seconds},
                 {"compile_ms", std::round(compile_ms * 100) / 100},
                 {"schemas", schemas.schema_count()},
                 {"messages", results}};
  std::cout << report.dump() << std::endl;
  return ok ? 0 : 1;
}
