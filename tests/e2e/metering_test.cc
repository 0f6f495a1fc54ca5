// Issue #16, meter readings checked before they are billed, end to end: TransactionEvents sent by
// the schema-validating Node charger (schema_client.js in serve mode: every message in both
// directions checked against the OCPP 2.0.1 schemas, each one made to send through its test hook,
// DataTransfer com.csms.sim "send") through the real gateway, billing and control. One charger
// per case of the table below, each case's events sent one at a time in the order given, the next
// only once the charger has the answer to the one before. Then each session as REST shows it
// (energy, cost, review), the review list, the session_needs_review alerts, and the daily
// statistics, which must add up to the sessions.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "net_clients.h"
#include "process.h"
#include "shared_stack_test.h"
#include "wait_until.h"

namespace csms::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;
using Clock = std::chrono::system_clock;

constexpr const char* kRegister = "Energy.Active.Import.Register";
constexpr const char* kInterval = "Energy.Active.Import.Interval";
constexpr double kPricePerKwh = 150;  // the stack's default tariff, KRW

std::string Iso(Clock::time_point t) {
  const std::time_t s = Clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// One sampledValue of an event; its context follows from the event (Transaction.Begin in a
// Started, Sample.Periodic in an Updated, Transaction.End in an Ended).
struct Sample {
  double value;
  std::string measurand;
  std::string phase;  // empty: none (the total)
  json unit;
};

// The energy register: the total in Wh, or in `unit` (with its multiplier).
Sample Wh(double value) { return {value, kRegister, "", {{"unit", "Wh"}}}; }
Sample Register(double value, const json& unit) { return {value, kRegister, "", unit}; }
Sample Interval(double value, const json& unit = {{"unit", "Wh"}}) {
  return {value, kInterval, "", unit};
}
Sample PhaseWh(double value, const std::string& phase) {
  return {value, kRegister, phase, {{"unit", "Wh"}}};
}
// The register per phase: L1, L2, L3 (or L1-N, L2-N, L3-N with suffix "-N").
std::vector<Sample> Phases(double l1, double l2, double l3, const std::string& suffix = "") {
  return {PhaseWh(l1, "L1" + suffix), PhaseWh(l2, "L2" + suffix), PhaseWh(l3, "L3" + suffix)};
}

// One event of a transaction: when (seconds after the case's start) and what it metered.
struct Step {
  int at_s;
  std::vector<Sample> samples;  // empty: no meterValue
};

// A transaction's TransactionEvents, in seqNo order: Started, Updated..., Ended. Without its
// Started (lost), the first event is an Updated of seqNo 1. All OCPP 2.0.1 schema-valid.
std::vector<json> Transaction(const std::string& tx, Clock::time_point start,
                              const std::vector<Step>& steps, bool with_started = true,
                              bool offline = false) {
  std::vector<json> events;
  for (size_t i = 0; i < steps.size(); ++i) {
    const bool started = with_started && i == 0;
    const bool ended = i + 1 == steps.size();
    const std::string type = started ? "Started" : ended ? "Ended" : "Updated";
    const std::string context = started ? "Transaction.Begin"
                                : ended ? "Transaction.End"
                                        : "Sample.Periodic";
    const std::string time = Iso(start + seconds(steps[i].at_s));
    json info = {{"transactionId", tx}};
    if (ended) {
      info["stoppedReason"] = "EVDisconnected";
    } else {
      info["chargingState"] = "Charging";
    }
    json event = {{"eventType", type},
                  {"timestamp", time},
                  {"triggerReason", started ? "CablePluggedIn"
                                    : ended ? "EVCommunicationLost"
                                            : "MeterValuePeriodic"},
                  {"seqNo", static_cast<int>(i) + (with_started ? 0 : 1)},
                  {"transactionInfo", info},
                  {"evse", {{"id", 1}, {"connectorId", 1}}}};
    if (offline) event["offline"] = true;
    if (!steps[i].samples.empty()) {
      json values = json::array();
      for (const Sample& s : steps[i].samples) {
        json value = {{"value", s.value},
                      {"measurand", s.measurand},
                      {"context", context},
                      {"unitOfMeasure", s.unit}};
        if (!s.phase.empty()) value["phase"] = s.phase;
        values.push_back(value);
      }
      event["meterValue"] = {{{"timestamp", time}, {"sampledValue", values}}};
    }
    events.push_back(event);
  }
  return events;
}

std::vector<json> Reordered(const std::vector<json>& events, const std::vector<size_t>& order) {
  std::vector<json> out;
  for (size_t i : order) out.push_back(events.at(i));
  return out;
}

struct MeterCase {
  std::string name;
  std::string charger;       // one charger per case; the transaction is "tx-" + charger
  std::vector<json> events;  // sent in this order
  double energy_kwh = 0;
  bool needs_review = false;
  int implausible_readings = 0;
  std::string reason_has;                  // text the review reason contains
  std::optional<double> alert_energy_kwh;  // the session's energy after the event that raised it
};

std::string TxOf(const std::string& charger) { return "tx-" + charger; }

// The cases, their transactions starting 3 hours before `now` (the offline backlog 4 hours):
// times in the past, never a wrong (future) clock.
std::vector<MeterCase> Cases(Clock::time_point now) {
  const Clock::time_point t = std::chrono::floor<seconds>(now) - std::chrono::hours(3);
  std::vector<MeterCase> cases;
  // A case billed without review, and one whose readings were implausible (the reason names a
  // value of the jump; the energy is the session's after the event that raised the review).
  auto billed = [&](std::string name, std::string charger, std::vector<json> events, double kwh) {
    MeterCase c;
    c.name = std::move(name);
    c.charger = std::move(charger);
    c.events = std::move(events);
    c.energy_kwh = kwh;
    cases.push_back(std::move(c));
  };
  auto reviewed = [&](std::string name, std::string charger, std::vector<json> events, double kwh,
                      int implausible, std::string reason_has, double alert_kwh) {
    billed(std::move(name), std::move(charger), std::move(events), kwh);
    cases.back().needs_review = true;
    cases.back().implausible_readings = implausible;
    cases.back().reason_has = std::move(reason_has);
    cases.back().alert_energy_kwh = alert_kwh;
  };

  // A placeholder Transaction.Begin of 0, then the meter's lifetime register a second later:
  // not 12,345 kWh but the 0.5 kWh after the jump, and an operator should look.
  reviewed("placeholder begin then lifetime register", "meter_01",
           Transaction(TxOf("meter_01"), t,
                       {{0, {Wh(0)}}, {1, {Wh(12'345'000)}}, {2, {Wh(12'345'500)}}}),
           0.5, 1, "12345000", 0.0);
  // Per-phase registers only: their sum (L1-L3, or L1-N..L3-N; a neutral never adds in).
  std::vector<Sample> star = Phases(3000, 3000, 3000, "-N");
  star.push_back(PhaseWh(777, "N"));
  billed(
      "per-phase registers only", "meter_02",
      Transaction(TxOf("meter_02"), t,
                  {{0, Phases(1000, 1000, 1000)}, {900, star}, {1800, Phases(5000, 5000, 5000)}}),
      12);
  // kWh with a multiplier, Wh with a multiplier, plain kWh: 12,000 -> 15,000 -> 19,500 Wh.
  billed("kWh and multipliers", "meter_03",
         Transaction(TxOf("meter_03"), t,
                     {{0, {Register(120, {{"unit", "kWh"}, {"multiplier", -1}})}},
                      {1200, {Register(15, {{"unit", "Wh"}, {"multiplier", 3}})}},
                      {2400, {Register(19.5, {{"unit", "kWh"}})}}}),
         7.5);
  // The meter replaced mid-session: 5000 -> 9000, then 200 -> 3200: two segments, no review.
  billed("register reset mid-session", "meter_04",
         Transaction(TxOf("meter_04"), t,
                     {{0, {Wh(5000)}}, {1200, {Wh(9000)}}, {1800, {Wh(200)}}, {2400, {Wh(3200)}}}),
         7);
  // An hour of readings queued while offline (12 kW for an hour), sent in order and shuffled.
  std::vector<Step> hour;
  for (int i = 0; i <= 6; ++i) hour.push_back({600 * i, {Wh(10'000 + 2000 * i)}});
  const Clock::time_point backlog = t - std::chrono::hours(1);
  billed("offline backlog in order", "meter_05",
         Transaction(TxOf("meter_05"), backlog, hour, true, true), 12);
  billed("offline backlog shuffled", "meter_06",
         Reordered(Transaction(TxOf("meter_06"), backlog, hour, true, true), {4, 0, 6, 2, 5, 1, 3}),
         12);
  // Ended first, then Updated, then Started.
  billed("out of order", "meter_07",
         Reordered(Transaction(TxOf("meter_07"), t,
                               {{0, {Wh(2000)}}, {900, {Wh(6000)}}, {1800, {Wh(10'000)}}}),
                   {2, 1, 0}),
         8);
  // A Started without a Transaction.Begin reading: billed from the first reading.
  billed("missing begin", "meter_08",
         Transaction(TxOf("meter_08"), t, {{0, {}}, {600, {Wh(4000)}}, {1800, {Wh(10'000)}}}), 6);
  // The Started never arrived: only Updated and Ended.
  billed("missing started", "meter_09",
         Transaction(TxOf("meter_09"), t,
                     {{600, {Wh(4000)}}, {1200, {Wh(7000)}}, {1800, {Wh(10'000)}}}, false),
         6);
  // No register at all: the sum of the Energy.Active.Import.Interval values (3 + 2.5 + 1.5 kWh).
  billed("interval values only", "meter_10",
         Transaction(TxOf("meter_10"), t,
                     {{0, {}},
                      {900, {Interval(3000)}},
                      {1800, {Interval(2.5, {{"unit", "kWh"}})}},
                      {2700, {Interval(1500)}}}),
         7);
  // A jump in the middle: 8 kWh before it, 4 kWh after it, the jump itself not billed. Last in
  // the table, so that its alert arriving means the earlier cases' reports have been handled too.
  reviewed(
      "implausible jump mid-session", "meter_11",
      Transaction(
          TxOf("meter_11"), t,
          {{0, {Wh(1000)}}, {600, {Wh(9000)}}, {601, {Wh(9'000'000)}}, {1201, {Wh(9'004'000)}}}),
      12, 1, "9000000", 8.0);
  return cases;
}

double CostOf(double kwh) { return std::round(kwh * kPricePerKwh * 100) / 100; }

class Metering : public SharedStackTest<Metering> {
 public:
  static void Configure(Stack::Options& options) { options.name = "metering"; }

 protected:
  HttpResult Rest(const std::string& method, const std::string& target, const json& body = {}) {
    return HttpCall(stack_->http_port, method, target, body.is_null() ? "" : body.dump());
  }

  // Node chargers in serve mode, started together, each booted and Available.
  std::map<std::string, std::unique_ptr<ChildProcess>> StartNodes(
      const std::vector<std::string>& ids) {
    std::map<std::string, std::unique_ptr<ChildProcess>> nodes;
    for (const std::string& id : ids) {
      auto node = std::make_unique<ChildProcess>();
      EXPECT_TRUE(node->Start(
          "/usr/bin/env",
          {"node", CSMS_SCHEMA_CLIENT_DIR "/schema_client.js",
           "ws://127.0.0.1:" + std::to_string(stack_->ocpp_port) + "/ocpp", "-", id, "serve"},
          stack_->log_dir() + "/schema-client-" + id + ".log"));
      nodes[id] = std::move(node);
    }
    for (const auto& [id, node] : nodes) {
      EXPECT_TRUE(WaitUntil([&] {
        auto r = Rest("GET", "/chargers/" + id);
        return r.status == 200 && r.Json().value("status", "") == "Available";
      })) << id
          << ": " << node->ReadLog();
    }
    return nodes;
  }

  // What the charger logged for each CALL it sent through its hook, in order:
  // {"sent": action, "response"|"error": ...}.
  static std::vector<json> Sent(const ChildProcess& node) {
    std::vector<json> sent;
    std::istringstream lines(node.ReadLog());
    for (std::string line; std::getline(lines, line);) {
      json j = json::parse(line, nullptr, false);
      if (j.is_object() && j.contains("sent")) sent.push_back(std::move(j));
    }
    return sent;
  }

  // Makes the charger send the TransactionEvent and waits for its answer (into *answer).
  void SendTransactionEvent(const std::string& id, const ChildProcess& node, const json& event,
                            json* answer) {
    const size_t before = Sent(node).size();
    auto r = Rest("POST", "/chargers/" + id + "/data-transfer",
                  {{"vendor_id", "com.csms.sim"},
                   {"message_id", "send"},
                   {"data", {{"action", "TransactionEvent"}, {"payload", event}}}});
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(r.Json()["response"]["status"], "Accepted") << r.body;
    std::vector<json> sent;
    ASSERT_TRUE(WaitUntil([&] {
      sent = Sent(node);
      return sent.size() > before;
    })) << node.ReadLog();
    ASSERT_EQ(sent.size(), before + 1);
    ASSERT_EQ(sent.back()["sent"], "TransactionEvent");
    ASSERT_TRUE(sent.back().contains("response"))
        << sent.back().dump() << "\nsent: " << event.dump();
    *answer = sent.back()["response"];
  }

  json Session(const std::string& charger) {
    auto r = Rest("GET", "/sessions/" + TxOf(charger) + "?charger_id=" + charger);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json();
  }

  json Alerts(const std::string& charger) {
    auto r = Rest("GET", "/alerts?limit=500&kind=session_needs_review&charger_id=" + charger);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json().value("alerts", json::array());
  }
};

// Every case of the table billed as its readings say, flagged for review exactly when a reading
// was implausible (listed under review=true, one alert), and the daily statistics the sum of the
// sessions.
TEST_F(Metering, EachCaseIsBilledFromItsReadings) {
  const std::vector<MeterCase> cases = Cases(Clock::now());
  std::vector<std::string> ids;
  for (const MeterCase& c : cases) ids.push_back(c.charger);
  auto nodes = StartNodes(ids);
  ASSERT_FALSE(HasFailure());

  // Each case's events, one at a time.
  std::map<std::string, json> last_answer;
  for (const MeterCase& c : cases) {
    SCOPED_TRACE(c.name + " (" + c.charger + ")");
    for (const json& event : c.events) {
      ASSERT_NO_FATAL_FAILURE(
          SendTransactionEvent(c.charger, *nodes.at(c.charger), event, &last_answer[c.charger]));
    }
  }

  // Each session as REST shows it.
  std::map<std::string, json> sessions;
  for (const MeterCase& c : cases) {
    SCOPED_TRACE(c.name + " (" + c.charger + ")");
    const json s = Session(c.charger);
    sessions[c.charger] = s;
    EXPECT_EQ(s.value("status", ""), "ended") << s.dump();
    ASSERT_TRUE(s["energy_consumed"].is_number()) << s.dump();
    EXPECT_NEAR(s["energy_consumed"].get<double>(), c.energy_kwh, 1e-9) << s.dump();
    EXPECT_NEAR(s["cost"].get<double>(), CostOf(c.energy_kwh), 1e-9) << s.dump();
    EXPECT_EQ(s["currency"], "KRW");
    EXPECT_EQ(s["needs_review"], c.needs_review) << s.dump();
    EXPECT_EQ(s["implausible_readings"], c.implausible_readings) << s.dump();
    if (c.needs_review) {
      ASSERT_TRUE(s["review_reason"].is_string()) << s.dump();
      EXPECT_NE(s["review_reason"].get<std::string>().find(c.reason_has), std::string::npos)
          << s.dump();
    } else {
      EXPECT_TRUE(s["review_reason"].is_null()) << s.dump();
    }
    // The charger's own answer to an Ended sent last: the session's total cost.
    if (c.events.back()["eventType"] == "Ended") {
      EXPECT_NEAR(last_answer[c.charger].value("totalCost", -1.0), CostOf(c.energy_kwh), 1e-9)
          << last_answer[c.charger].dump();
    }
  }
  // Sent in order or shuffled, the same bill.
  EXPECT_EQ(sessions["meter_05"]["energy_consumed"], sessions["meter_06"]["energy_consumed"]);
  EXPECT_EQ(sessions["meter_05"]["cost"], sessions["meter_06"]["cost"]);

  // The review list: the sessions needing review and no other.
  auto review = Rest("GET", "/sessions?review=true&limit=1000");
  ASSERT_EQ(review.status, 200) << review.body;
  std::set<std::string> listed;
  const json review_list = review.Json();
  for (const json& s : review_list["sessions"]) {
    EXPECT_TRUE(s["needs_review"].get<bool>()) << s.dump();
    listed.insert(s["charger_id"].get<std::string>() + "/" +
                  s["transaction_id"].get<std::string>());
  }
  for (const MeterCase& c : cases) {
    EXPECT_EQ(listed.count(c.charger + "/" + TxOf(c.charger)), c.needs_review ? 1u : 0u) << c.name;
    auto one = Rest("GET", "/sessions?review=true&charger_id=" + c.charger);
    ASSERT_EQ(one.status, 200) << one.body;
    EXPECT_EQ(one.Json()["sessions"].size(), c.needs_review ? 1u : 0u) << c.name << one.body;
    auto all = Rest("GET", "/sessions?review=false&charger_id=" + c.charger);
    ASSERT_EQ(all.status, 200) << all.body;
    EXPECT_EQ(all.Json()["sessions"].size(), 1u) << c.name << all.body;
  }
  EXPECT_EQ(Rest("GET", "/sessions?review=maybe").status, 400);

  // One session_needs_review alert per session needing review, from the event that made it so.
  for (const MeterCase& c : cases) {
    if (!c.needs_review) continue;
    SCOPED_TRACE(c.name + " (" + c.charger + ")");
    json alerts;
    ASSERT_TRUE(WaitUntil([&] {
      alerts = Alerts(c.charger);
      return !alerts.empty();
    })) << stack_->Logs();
    ASSERT_EQ(alerts.size(), 1u) << alerts.dump(1);
    const json& data = alerts[0]["data"];
    EXPECT_EQ(alerts[0]["kind"], "session_needs_review") << alerts[0].dump();
    EXPECT_EQ(alerts[0]["charger_id"], c.charger) << alerts[0].dump();
    EXPECT_EQ(data["transaction_id"], TxOf(c.charger)) << alerts[0].dump();
    EXPECT_EQ(data["reason"], sessions[c.charger]["review_reason"]) << alerts[0].dump();
    ASSERT_TRUE(data["energy_consumed"].is_number()) << alerts[0].dump();
    EXPECT_NEAR(data["energy_consumed"].get<double>(), *c.alert_energy_kwh, 1e-9)
        << alerts[0].dump();
  }
  // The last case raised one, so the reports of all the cases before it have been handled.
  for (const MeterCase& c : cases) {
    if (!c.needs_review) {
      EXPECT_EQ(Alerts(c.charger).size(), 0u) << c.name;
    }
  }

  // The daily statistics (by the session's start date, else its end date) add up to the
  // sessions, per charger and in all.
  std::string from = "9999-12-31", to = "0000-01-01";
  for (const auto& [id, s] : sessions) {
    const json& when = s["start_time"].is_string() ? s["start_time"] : s["end_time"];
    ASSERT_TRUE(when.is_string()) << s.dump();
    const std::string date = when.get<std::string>().substr(0, 10);
    from = std::min(from, date);
    to = std::max(to, date);
  }
  auto stats = Rest("GET", "/stats/daily?from=" + from + "&to=" + to);
  ASSERT_EQ(stats.status, 200) << stats.body;
  struct Totals {
    int64_t sessions = 0;
    double energy = 0, revenue = 0;
  };
  std::map<std::string, Totals> by_charger;
  const json stats_json = stats.Json();
  for (const json& row : stats_json["stats"]) {
    Totals& t = by_charger[row["charger_id"].get<std::string>()];
    t.sessions += row["sessions"].get<int64_t>();
    t.energy += row["total_energy"].get<double>();
    t.revenue += row["total_revenue"].get<double>();
  }
  double stats_energy = 0, session_energy = 0;
  for (const MeterCase& c : cases) {
    const Totals& t = by_charger[c.charger];
    EXPECT_EQ(t.sessions, 1) << c.name << stats.body;
    EXPECT_NEAR(t.energy, sessions[c.charger]["energy_consumed"].get<double>(), 1e-9)
        << c.name << stats.body;
    EXPECT_NEAR(t.revenue, sessions[c.charger]["cost"].get<double>(), 1e-9) << c.name << stats.body;
    auto own = Rest("GET", "/stats/daily?from=" + from + "&to=" + to + "&charger_id=" + c.charger);
    ASSERT_EQ(own.status, 200) << own.body;
    double own_energy = 0;
    const json own_json = own.Json();
    for (const json& row : own_json["stats"]) own_energy += row["total_energy"].get<double>();
    EXPECT_NEAR(own_energy, t.energy, 1e-9) << c.name << own.body;
    stats_energy += t.energy;
    session_energy += sessions[c.charger]["energy_consumed"].get<double>();
  }
  EXPECT_NEAR(stats_energy, session_energy, 1e-6) << stats.body;

  for (const auto& [id, node] : nodes) {
    EXPECT_EQ(node->Stop(SIGTERM, seconds(15)), 0)
        << id << ", a schema violation: " << node->ReadLog();
  }
}

}  // namespace
}  // namespace csms::testing
