// Tariffs end to end: versioned tariffs stored through the gateway's REST (PUT /tariffs/{id}),
// assigned to stations (PUT /stations/{id}/tariff), and sessions priced by them. The
// TransactionEvents are sent by the schema-validating Node charger (schema_client.js in serve
// mode: every message in both directions checked against the OCPP 2.0.1 schemas, each one made to
// send through its test hook, DataTransfer com.csms.sim "send") through the real gateway, billing
// and control, one charger per session. The gateway learns a charger's station when the charger
// connects, so each station is made, with its chargers, before they start. Then each session as
// REST shows it (tariff, version, cost in minor units and its breakdown), the charger's answer to
// its Ended (totalCost), and the daily statistics, which must add up to the sessions.
//
// Every tariff here is given a valid_from before the sessions' (past) times: a session is priced
// by the version in force at its first event, and the events are dated hours ago.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
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
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using Clock = std::chrono::system_clock;

constexpr const char* kRegister = "Energy.Active.Import.Register";
constexpr double kFlagPricePerKwh = 150;  // billing's --price-per-kwh in the stack, KRW

std::string Iso(Clock::time_point t) {
  const std::time_t s = Clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// The start of every session here: 3 hours ago, on a whole second (times in the past, never a
// wrong, future clock).
Clock::time_point SessionStart() { return std::chrono::floor<seconds>(Clock::now()) - hours(3); }

std::string TxOf(const std::string& charger) { return "tx-" + charger; }

// One TransactionEvent of a transaction: what its transactionInfo says (chargingState, when set;
// an Ended also has stoppedReason EVDisconnected) and its energy register in Wh, when set.
// OCPP 2.0.1 schema-valid.
struct Event {
  std::string type;  // Started, Updated, Ended
  Clock::time_point at;
  std::optional<std::string> state;
  std::optional<double> wh;
  std::string trigger;
};

std::vector<json> Transaction(const std::string& tx, const std::vector<Event>& events) {
  std::vector<json> out;
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    const std::string time = Iso(e.at);
    json info = {{"transactionId", tx}};
    if (e.state) info["chargingState"] = *e.state;
    if (e.type == "Ended") info["stoppedReason"] = "EVDisconnected";
    json event = {{"eventType", e.type},        {"timestamp", time},
                  {"triggerReason", e.trigger}, {"seqNo", static_cast<int>(i)},
                  {"transactionInfo", info},    {"evse", {{"id", 1}, {"connectorId", 1}}}};
    if (e.wh) {
      const std::string context = e.type == "Started" ? "Transaction.Begin"
                                  : e.type == "Ended" ? "Transaction.End"
                                                      : "Sample.Periodic";
      event["meterValue"] = {{{"timestamp", time},
                              {"sampledValue",
                               {{{"value", *e.wh},
                                 {"measurand", kRegister},
                                 {"context", context},
                                 {"unitOfMeasure", {{"unit", "Wh"}}}}}}}};
    }
    out.push_back(std::move(event));
  }
  return out;
}

// A charging session of `kwh` from `start`: Started (Charging, register 0), Updated after 20
// minutes (Charging, half the energy), Ended after 40 (all of it).
std::vector<json> PlainSession(const std::string& tx, Clock::time_point start, double kwh) {
  return Transaction(tx,
                     {{"Started", start, "Charging", 0, "CablePluggedIn"},
                      {"Updated", start + minutes(20), "Charging", kwh * 500, "MeterValuePeriodic"},
                      {"Ended", start + minutes(40), std::nullopt, kwh * 1000, "EVDeparted"}});
}

// A tariff's PUT body: energy only at `per_kwh`, everything else zero, in force from
// `valid_from` (unset: from now).
json EnergyTariff(double per_kwh, std::optional<Clock::time_point> valid_from,
                  const std::string& text) {
  json body = {{"currency", "KRW"},
               {"time_zone", "Asia/Seoul"},
               {"energy_price_per_kwh", per_kwh},
               {"charging_price_per_minute", 0},
               {"idle_price_per_minute", 0},
               {"idle_grace_minutes", 0},
               {"session_fee", 0},
               {"tax_rate_percent", 0},
               {"prices_exclude_tax", false},
               {"min_price", nullptr},
               {"max_price", nullptr},
               {"periods", json::array()},
               {"display_text", text}};
  if (valid_from) body["valid_from"] = Iso(*valid_from);
  return body;
}

class Tariffs : public SharedStackTest<Tariffs> {
 public:
  static void Configure(Stack::Options& options) { options.name = "tariffs"; }

 protected:
  HttpResult Rest(const std::string& method, const std::string& target, const json& body = {}) {
    return HttpCall(stack_->http_port, method, target, body.is_null() ? "" : body.dump());
  }

  // PUT /tariffs/{id}: 201 and the version stored, as its answer shows it.
  json PutTariff(const std::string& id, const json& body) {
    auto r = Rest("PUT", "/tariffs/" + id, body);
    EXPECT_EQ(r.status, 201) << r.body;
    const json answer = r.Json();
    EXPECT_TRUE(answer.contains("tariff") && answer["tariff"].is_object()) << r.body;
    return answer.value("tariff", json::object());
  }

  // A station holding `chargers`, made before they connect (the gateway learns a charger's
  // station when it connects).
  void CreateStation(const std::string& id, const std::vector<std::string>& chargers) {
    auto r = Rest("POST", "/stations",
                  {{"station_id", id},
                   {"name", "Tariff test " + id},
                   {"latitude", 37.5665},
                   {"longitude", 126.978},
                   {"charger_ids", chargers}});
    ASSERT_EQ(r.status, 201) << r.body;
  }

  void SetStationTariff(const std::string& station, const std::string& tariff) {
    auto r = Rest("PUT", "/stations/" + station + "/tariff", {{"tariff_id", tariff}});
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.Json()["station_tariff"]["station_id"], station) << r.body;
    EXPECT_EQ(r.Json()["station_tariff"]["tariff_id"], tariff) << r.body;
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

  void StopNodes(std::map<std::string, std::unique_ptr<ChildProcess>>& nodes) {
    for (const auto& [id, node] : nodes) {
      EXPECT_EQ(node->Stop(SIGTERM, seconds(15)), 0)
          << id << ", a schema violation: " << node->ReadLog();
    }
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

  // Sends all of `events`, one at a time; the answer to the last into *last.
  void SendAll(const std::string& id, const ChildProcess& node, const std::vector<json>& events,
               json* last) {
    for (const json& event : events) {
      ASSERT_NO_FATAL_FAILURE(SendTransactionEvent(id, node, event, last));
    }
  }

  json Session(const std::string& charger) {
    auto r = Rest("GET", "/sessions/" + TxOf(charger) + "?charger_id=" + charger);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json();
  }

  // An ended session priced at `kwh` × `per_kwh` only (no time, fee or tax), by `tariff_id`
  // version `version` (empty / 0: billing's flag price, no stored tariff).
  void ExpectEnergyOnly(const json& s, const json& ended_answer, double kwh, double per_kwh,
                        const std::string& tariff_id, int version) {
    const int64_t total = std::llround(kwh * per_kwh);
    EXPECT_EQ(s.value("status", ""), "ended") << s.dump();
    EXPECT_NEAR(s["energy_consumed"].get<double>(), kwh, 1e-9) << s.dump();
    EXPECT_EQ(s["currency"], "KRW") << s.dump();
    if (tariff_id.empty()) {
      EXPECT_TRUE(s["tariff_id"].is_null()) << s.dump();
      EXPECT_TRUE(s["tariff_version"].is_null()) << s.dump();
    } else {
      EXPECT_EQ(s["tariff_id"], tariff_id) << s.dump();
      EXPECT_EQ(s["tariff_version"], version) << s.dump();
    }
    EXPECT_EQ(s["cost_minor"], total) << s.dump();
    EXPECT_NEAR(s["cost"].get<double>(), static_cast<double>(total), 1e-9) << s.dump();
    const json& b = s["cost_breakdown"];
    ASSERT_TRUE(b.is_object()) << s.dump();
    EXPECT_NEAR(b["energy"].get<double>(), kwh * per_kwh, 1e-6) << s.dump();
    EXPECT_EQ(b["charging_time"], 0) << s.dump();
    EXPECT_EQ(b["idle"], 0) << s.dump();
    EXPECT_EQ(b["session_fee"], 0) << s.dump();
    EXPECT_EQ(b["min_max_adjustment"], 0) << s.dump();
    EXPECT_EQ(b["tax"], 0) << s.dump();
    EXPECT_EQ(b["prices_exclude_tax"], false) << s.dump();
    EXPECT_NEAR(ended_answer.value("totalCost", -1.0), static_cast<double>(total), 1e-9)
        << ended_answer.dump();
  }

  // The daily statistics (by the session's start date) add up to the sessions: one session per
  // charger, its energy and its cost as revenue, asked for all chargers and for each alone.
  void ExpectDailyStatsMatch(const std::map<std::string, json>& sessions) {
    std::string from = "9999-12-31", to = "0000-01-01";
    for (const auto& [id, s] : sessions) {
      ASSERT_TRUE(s["start_time"].is_string()) << s.dump();
      const std::string date = s["start_time"].get<std::string>().substr(0, 10);
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
    double stats_revenue = 0, session_costs = 0;
    for (const auto& [id, s] : sessions) {
      const Totals& t = by_charger[id];
      EXPECT_EQ(t.sessions, 1) << id << stats.body;
      EXPECT_NEAR(t.energy, s["energy_consumed"].get<double>(), 1e-9) << id << stats.body;
      EXPECT_NEAR(t.revenue, s["cost"].get<double>(), 1e-9) << id << stats.body;
      auto own = Rest("GET", "/stats/daily?from=" + from + "&to=" + to + "&charger_id=" + id);
      ASSERT_EQ(own.status, 200) << own.body;
      double own_revenue = 0;
      const json own_json = own.Json();
      for (const json& row : own_json["stats"]) own_revenue += row["total_revenue"].get<double>();
      EXPECT_NEAR(own_revenue, s["cost"].get<double>(), 1e-9) << id << own.body;
      stats_revenue += t.revenue;
      session_costs += s["cost"].get<double>();
    }
    EXPECT_NEAR(stats_revenue, session_costs, 1e-6) << stats.body;
  }
};

// Case 1: a station's tariff prices energy, charging time, idle time after the grace period and a
// session fee, the tax included in the prices. 10 kWh × 300 = 3000; 30 min Charging × 10 = 300;
// SuspendedEV for 20 min, 5 of them grace: 15 × 20 = 300; fee 500: 4100 KRW, of which tax
// 4100 × 10 / 110 = 372.727273.
TEST_F(Tariffs, StationTariffPricesEnergyTimeIdleAndFee) {
  const Clock::time_point t = SessionStart();
  const json body = {{"currency", "KRW"},
                     {"time_zone", "Asia/Seoul"},
                     {"energy_price_per_kwh", 300},
                     {"charging_price_per_minute", 10},
                     {"idle_price_per_minute", 20},
                     {"idle_grace_minutes", 5},
                     {"session_fee", 500},
                     {"tax_rate_percent", 10},
                     {"prices_exclude_tax", false},
                     {"min_price", nullptr},
                     {"max_price", nullptr},
                     {"periods", json::array()},
                     {"display_text", "DC 300 KRW/kWh, 10 KRW/min, idle 20 KRW/min after 5 min"},
                     {"valid_from", Iso(t - hours(24))}};
  const json stored = PutTariff("site-dc", body);
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(stored["tariff_id"], "site-dc") << stored.dump();
  EXPECT_EQ(stored["version"], 1) << stored.dump();
  EXPECT_TRUE(stored["created_at"].is_string()) << stored.dump();
  ASSERT_TRUE(stored["valid_from"].is_string()) << stored.dump();
  EXPECT_EQ(stored["valid_from"].get<std::string>().substr(0, 19), Iso(t - hours(24)).substr(0, 19))
      << stored.dump();
  for (const char* field :
       {"currency", "time_zone", "energy_price_per_kwh", "charging_price_per_minute",
        "idle_price_per_minute", "idle_grace_minutes", "session_fee", "tax_rate_percent",
        "prices_exclude_tax", "min_price", "max_price", "periods", "display_text"}) {
    EXPECT_EQ(stored[field], body[field]) << field << ": " << stored.dump();
  }
  // It reads back: by id, among its versions and in the list of tariffs.
  auto got = Rest("GET", "/tariffs/site-dc");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.Json()["tariff"], stored) << got.body;
  auto versions = Rest("GET", "/tariffs/site-dc/versions");
  ASSERT_EQ(versions.status, 200) << versions.body;
  ASSERT_EQ(versions.Json()["tariffs"].size(), 1u) << versions.body;
  EXPECT_EQ(versions.Json()["tariffs"][0], stored) << versions.body;
  auto list = Rest("GET", "/tariffs");
  ASSERT_EQ(list.status, 200) << list.body;
  const json all = list.Json();
  bool listed = false;
  for (const json& tariff : all["tariffs"]) listed |= tariff["tariff_id"] == "site-dc";
  EXPECT_TRUE(listed) << list.body;

  ASSERT_NO_FATAL_FAILURE(CreateStation("tariff-site", {"tariff_01"}));
  ASSERT_NO_FATAL_FAILURE(SetStationTariff("tariff-site", "site-dc"));
  auto assigned = Rest("GET", "/stations/tariff-site/tariff");
  ASSERT_EQ(assigned.status, 200) << assigned.body;
  EXPECT_EQ(assigned.Json()["station_tariff"]["tariff_id"], "site-dc") << assigned.body;

  auto nodes = StartNodes({"tariff_01"});
  ASSERT_FALSE(HasFailure());
  const std::vector<json> events =
      Transaction(TxOf("tariff_01"),
                  {{"Started", t, "Charging", 0, "CablePluggedIn"},
                   {"Updated", t + minutes(30), "SuspendedEV", 10'000, "ChargingStateChanged"},
                   {"Updated", t + minutes(40), std::nullopt, 10'000, "MeterValuePeriodic"},
                   {"Ended", t + minutes(50), "Idle", 10'000, "EVDeparted"}});
  json answer;
  ASSERT_NO_FATAL_FAILURE(SendAll("tariff_01", *nodes.at("tariff_01"), events, &answer));

  const json s = Session("tariff_01");
  EXPECT_EQ(s.value("status", ""), "ended") << s.dump();
  EXPECT_EQ(s["station_id"], "tariff-site") << s.dump();
  EXPECT_EQ(s["tariff_id"], "site-dc") << s.dump();
  EXPECT_EQ(s["tariff_version"], 1) << s.dump();
  EXPECT_NEAR(s["energy_consumed"].get<double>(), 10, 1e-9) << s.dump();
  EXPECT_EQ(s["currency"], "KRW") << s.dump();
  EXPECT_EQ(s["cost_minor"], 4100) << s.dump();
  EXPECT_NEAR(s["cost"].get<double>(), 4100, 1e-9) << s.dump();
  const json& b = s["cost_breakdown"];
  ASSERT_TRUE(b.is_object()) << s.dump();
  EXPECT_NEAR(b["energy"].get<double>(), 3000, 1e-6) << s.dump();
  EXPECT_NEAR(b["charging_time"].get<double>(), 300, 1e-6) << s.dump();
  EXPECT_NEAR(b["idle"].get<double>(), 300, 1e-6) << s.dump();
  EXPECT_NEAR(b["session_fee"].get<double>(), 500, 1e-6) << s.dump();
  EXPECT_NEAR(b["min_max_adjustment"].get<double>(), 0, 1e-6) << s.dump();
  EXPECT_NEAR(b["tax"].get<double>(), 372.727273, 1e-6) << s.dump();
  EXPECT_EQ(b["prices_exclude_tax"], false) << s.dump();
  EXPECT_NEAR(b["charging_seconds"].get<double>(), 1800, 1e-6) << s.dump();
  EXPECT_NEAR(b["idle_seconds"].get<double>(), 900, 1e-6) << s.dump();
  // The charger's own answer to the Ended: the session's cost.
  EXPECT_NEAR(answer.value("totalCost", -1.0), 4100, 1e-9) << answer.dump();

  ExpectDailyStatsMatch({{"tariff_01", s}});
  StopNodes(nodes);
}

// Case 2: a charger at no station, and one at a station without a tariff of its own, are priced
// by the tariff "default"; before there is one, by billing's flag price.
TEST_F(Tariffs, WithoutStationTariffDefaultElseFlagPrice) {
  const Clock::time_point t = SessionStart();
  // Nothing in this file stores "default" but this test: until it does, the flag price holds.
  ASSERT_EQ(Rest("GET", "/tariffs/default").status, 404);
  ASSERT_NO_FATAL_FAILURE(CreateStation("plain-site", {"tariff_04"}));
  auto plain = Rest("GET", "/stations/plain-site/tariff");
  ASSERT_EQ(plain.status, 200) << plain.body;
  EXPECT_TRUE(plain.Json()["station_tariff"]["tariff_id"].is_null()) << plain.body;

  auto nodes = StartNodes({"tariff_02", "tariff_03", "tariff_04"});
  ASSERT_FALSE(HasFailure());
  std::map<std::string, json> answers;

  // No "default" yet: 4 kWh at the flag price, 150 → 600 KRW, no tariff named.
  ASSERT_NO_FATAL_FAILURE(SendAll("tariff_02", *nodes.at("tariff_02"),
                                  PlainSession(TxOf("tariff_02"), t, 4), &answers["tariff_02"]));

  // "default" at 200 KRW/kWh, in force before the sessions' times.
  const json stored = PutTariff("default", EnergyTariff(200, t - hours(24), "200 KRW/kWh"));
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(stored["tariff_id"], "default") << stored.dump();
  EXPECT_EQ(stored["version"], 1) << stored.dump();

  // At no station, and at a station without its own tariff: 4 kWh × 200 = 800 KRW.
  for (const std::string id : {"tariff_03", "tariff_04"}) {
    ASSERT_NO_FATAL_FAILURE(SendAll(id, *nodes.at(id), PlainSession(TxOf(id), t, 4), &answers[id]));
  }

  std::map<std::string, json> sessions;
  for (const std::string id : {"tariff_02", "tariff_03", "tariff_04"}) sessions[id] = Session(id);
  {
    SCOPED_TRACE("tariff_02: before default, the flag price");
    ExpectEnergyOnly(sessions["tariff_02"], answers["tariff_02"], 4, kFlagPricePerKwh, "", 0);
    EXPECT_TRUE(sessions["tariff_02"]["station_id"].is_null()) << sessions["tariff_02"].dump();
  }
  {
    SCOPED_TRACE("tariff_03: at no station, default");
    ExpectEnergyOnly(sessions["tariff_03"], answers["tariff_03"], 4, 200, "default", 1);
    EXPECT_TRUE(sessions["tariff_03"]["station_id"].is_null()) << sessions["tariff_03"].dump();
  }
  {
    SCOPED_TRACE("tariff_04: at a station without a tariff, default");
    ExpectEnergyOnly(sessions["tariff_04"], answers["tariff_04"], 4, 200, "default", 1);
    EXPECT_EQ(sessions["tariff_04"]["station_id"], "plain-site") << sessions["tariff_04"].dump();
  }

  ExpectDailyStatsMatch(sessions);
  StopNodes(nodes);
}

// Case 3: a new version of the station's tariff stored while a session runs does not change that
// session's price: it keeps the version it started with (1). Version 2 is valid from an hour
// before the session started, so a session that begins after the change at the same time is
// priced by it; version 3, valid from now, prices neither (both began hours ago).
TEST_F(Tariffs, SessionKeepsItsVersionWhenTheTariffChanges) {
  const Clock::time_point t = SessionStart();
  const json v1 = PutTariff("site-change", EnergyTariff(250, t - hours(24), "v1: 250 KRW/kWh"));
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(v1["version"], 1) << v1.dump();
  ASSERT_NO_FATAL_FAILURE(CreateStation("change-site", {"tariff_05", "tariff_06"}));
  ASSERT_NO_FATAL_FAILURE(SetStationTariff("change-site", "site-change"));

  auto nodes = StartNodes({"tariff_05", "tariff_06"});
  ASSERT_FALSE(HasFailure());
  const std::vector<json> first = PlainSession(TxOf("tariff_05"), t, 6);
  json answer05, answer06;
  // Started: the session takes version 1.
  ASSERT_NO_FATAL_FAILURE(
      SendTransactionEvent("tariff_05", *nodes.at("tariff_05"), first[0], &answer05));
  json running = Session("tariff_05");
  EXPECT_EQ(running.value("status", ""), "active") << running.dump();
  EXPECT_EQ(running["tariff_id"], "site-change") << running.dump();
  EXPECT_EQ(running["tariff_version"], 1) << running.dump();

  // The tariff changes while it runs: version 2 (400 KRW/kWh and a fee of 1000) valid from before
  // the session's start, version 3 (900 KRW/kWh) valid from now.
  json v2_body = EnergyTariff(400, t - hours(1), "v2: 400 KRW/kWh + 1000");
  v2_body["session_fee"] = 1000;
  const json v2 = PutTariff("site-change", v2_body);
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(v2["version"], 2) << v2.dump();
  const Clock::time_point before_v3 = std::chrono::floor<seconds>(Clock::now());
  const json v3 = PutTariff("site-change", EnergyTariff(900, std::nullopt, "v3: 900 KRW/kWh"));
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(v3["version"], 3) << v3.dump();
  ASSERT_TRUE(v3["valid_from"].is_string()) << v3.dump();
  EXPECT_GE(v3["valid_from"].get<std::string>().substr(0, 19), Iso(before_v3).substr(0, 19))
      << v3.dump();
  auto versions = Rest("GET", "/tariffs/site-change/versions");
  ASSERT_EQ(versions.status, 200) << versions.body;
  const json listed = versions.Json()["tariffs"];
  ASSERT_EQ(listed.size(), 3u) << versions.body;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(listed[i]["version"], i + 1) << versions.body;
  auto one = Rest("GET", "/tariffs/site-change?version=1");
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(one.Json()["tariff"], v1) << one.body;
  auto newest = Rest("GET", "/tariffs/site-change");
  ASSERT_EQ(newest.status, 200) << newest.body;
  EXPECT_EQ(newest.Json()["tariff"], v3) << newest.body;

  // The rest of the running session: still version 1, 6 kWh × 250 = 1500.
  for (size_t i = 1; i < first.size(); ++i) {
    ASSERT_NO_FATAL_FAILURE(
        SendTransactionEvent("tariff_05", *nodes.at("tariff_05"), first[i], &answer05));
  }
  // A session at the same station and the same times, first seen after the change: version 2,
  // the one in force at its first event: 6 × 400 + 1000 = 3400.
  ASSERT_NO_FATAL_FAILURE(SendAll("tariff_06", *nodes.at("tariff_06"),
                                  PlainSession(TxOf("tariff_06"), t, 6), &answer06));

  std::map<std::string, json> sessions = {{"tariff_05", Session("tariff_05")},
                                          {"tariff_06", Session("tariff_06")}};
  {
    SCOPED_TRACE("tariff_05: started before the change");
    ExpectEnergyOnly(sessions["tariff_05"], answer05, 6, 250, "site-change", 1);
  }
  {
    SCOPED_TRACE("tariff_06: started after the change");
    const json& s = sessions["tariff_06"];
    EXPECT_EQ(s["tariff_id"], "site-change") << s.dump();
    EXPECT_EQ(s["tariff_version"], 2) << s.dump();
    EXPECT_EQ(s["cost_minor"], 3400) << s.dump();
    EXPECT_NEAR(s["cost"].get<double>(), 3400, 1e-9) << s.dump();
    ASSERT_TRUE(s["cost_breakdown"].is_object()) << s.dump();
    EXPECT_NEAR(s["cost_breakdown"]["energy"].get<double>(), 2400, 1e-6) << s.dump();
    EXPECT_NEAR(s["cost_breakdown"]["session_fee"].get<double>(), 1000, 1e-6) << s.dump();
    EXPECT_NEAR(answer06.value("totalCost", -1.0), 3400, 1e-9) << answer06.dump();
  }

  ExpectDailyStatsMatch(sessions);
  StopNodes(nodes);
}

// Case 4: what the REST refuses. A tariff not in the network's currency (KRW) is 400 with a
// message naming the currency, and nothing is stored; a station cannot be given a tariff that
// does not exist (404), nor can a station that does not exist be given one (404).
TEST_F(Tariffs, RestRefusesWrongCurrencyAndUnknownTariffs) {
  const Clock::time_point t = SessionStart();
  json eur = EnergyTariff(0.3, t - hours(24), "EUR");
  eur["currency"] = "EUR";
  auto refused = Rest("PUT", "/tariffs/eur-tariff", eur);
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_EQ(refused.Json()["status"], "error") << refused.body;
  ASSERT_TRUE(refused.Json()["message"].is_string()) << refused.body;
  EXPECT_NE(refused.Json()["message"].get<std::string>().find("currency"), std::string::npos)
      << refused.body;
  EXPECT_EQ(Rest("GET", "/tariffs/eur-tariff").status, 404);
  EXPECT_EQ(Rest("GET", "/tariffs/eur-tariff/versions").Json()["tariffs"], json::array());

  ASSERT_NO_FATAL_FAILURE(CreateStation("validation-site", {}));
  auto unknown = Rest("PUT", "/stations/validation-site/tariff", {{"tariff_id", "no-such-tariff"}});
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_EQ(unknown.Json()["status"], "error") << unknown.body;
  auto kept = Rest("GET", "/stations/validation-site/tariff");
  ASSERT_EQ(kept.status, 200) << kept.body;
  EXPECT_TRUE(kept.Json()["station_tariff"]["tariff_id"].is_null()) << kept.body;

  // A tariff that does exist: not for a station that does not; for one that does, until DELETE
  // takes it back to the default.
  PutTariff("validation-ac", EnergyTariff(180, t - hours(24), "AC"));
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(
      Rest("PUT", "/stations/no-such-station/tariff", {{"tariff_id", "validation-ac"}}).status,
      404);
  ASSERT_NO_FATAL_FAILURE(SetStationTariff("validation-site", "validation-ac"));
  auto removed = Rest("DELETE", "/stations/validation-site/tariff");
  ASSERT_EQ(removed.status, 200) << removed.body;
  EXPECT_TRUE(removed.Json()["station_tariff"]["tariff_id"].is_null()) << removed.body;
  EXPECT_TRUE(Rest("GET", "/stations/validation-site/tariff")
                  .Json()["station_tariff"]["tariff_id"]
                  .is_null());
}

}  // namespace
}  // namespace csms::testing
