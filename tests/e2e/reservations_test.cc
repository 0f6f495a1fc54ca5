// Issue #14, reservations (OCPP H01-H04) through the real gateway and control, with the
// schema-validating Node charger (schema_client.js in serve mode: ReserveNow Accepted and held,
// or refused for the RESERVE-<STATUS> tokens; CancelReservation Accepted for a reservation it
// holds). The charger reports what a station reports (ReservationStatusUpdate, a TransactionEvent
// with reservationId) through its test hook (DataTransfer com.csms.sim "send"). Covered: reserve
// a specific EVSE and any EVSE, a refusal, use by a transaction, cancel, expiry by the CSMS's own
// sweep and by the charger's report, the list and its filters, gRPC, and bad input.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>

#include "csms/common/time_util.h"
#include "csms/control/v1/reservations.grpc.pb.h"
#include "net_clients.h"
#include "process.h"
#include "shared_stack_test.h"
#include "wait_until.h"

namespace csms::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

std::string In(std::chrono::seconds delta) { return FormatRfc3339(RealClock().Now() + delta); }

class Reservations : public SharedStackTest<Reservations> {
 public:
  static void Configure(Stack::Options& options) {
    options.name = "reservations";
    // The CSMS's own expiry runs every second here (10 s by default).
    options.control_args = {"--reservation-sweep-interval", "1"};
  }

 protected:
  HttpResult Rest(const std::string& method, const std::string& target, const json& body = {}) {
    return HttpCall(stack_->http_port, method, target, body.is_null() ? "" : body.dump());
  }

  // The Node charger in serve mode, booted and Available (EVSE 1 connector 1).
  std::unique_ptr<ChildProcess> StartNode(const std::string& id) {
    auto node = std::make_unique<ChildProcess>();
    EXPECT_TRUE(node->Start(
        "/usr/bin/env",
        {"node", CSMS_SCHEMA_CLIENT_DIR "/schema_client.js",
         "ws://127.0.0.1:" + std::to_string(stack_->ocpp_port) + "/ocpp", "-", id, "serve"},
        stack_->log_dir() + "/schema-client-" + id + ".log"));
    EXPECT_TRUE(WaitUntil([&] {
      auto r = Rest("GET", "/chargers/" + id);
      return r.status == 200 && r.Json().value("status", "") == "Available";
    })) << node->ReadLog();
    return node;
  }

  // The lines the charger printed for what it sent through its hook: {"sent","response"|"error"}.
  static std::vector<json> SentLines(ChildProcess& node, const std::string& action) {
    std::vector<json> lines;
    std::istringstream log(node.ReadLog());
    for (std::string line; std::getline(log, line);) {
      json j = json::parse(line, nullptr, false);
      if (j.is_object() && j.value("sent", "") == action) lines.push_back(j);
    }
    return lines;
  }

  // Makes the charger send `action` and returns its line once the CSMS answered.
  json Send(ChildProcess& node, const std::string& id, const std::string& action,
            const json& payload) {
    const size_t before = SentLines(node, action).size();
    auto r = Rest("POST", "/chargers/" + id + "/data-transfer",
                  {{"vendor_id", "com.csms.sim"},
                   {"message_id", "send"},
                   {"data", {{"action", action}, {"payload", payload}}}});
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<json> lines;
    EXPECT_TRUE(WaitUntil([&] {
      lines = SentLines(node, action);
      return lines.size() > before;
    })) << node.ReadLog();
    return lines.empty() ? json() : lines.back();
  }

  HttpResult Reserve(const std::string& id, json body) {
    if (!body.contains("expires_at")) body["expires_at"] = In(seconds(3600));
    if (!body.contains("token_type")) body["token_type"] = "ISO14443";
    return Rest("POST", "/chargers/" + id + "/reservations", body);
  }

  json Find(const std::string& id, int reservation_id, const std::string& filter = "") {
    auto r = Rest("GET", "/reservations?charger_id=" + id + "&limit=500" + filter);
    EXPECT_EQ(r.status, 200) << r.body;
    const json page = r.Json();  // kept: the loop must not walk a destroyed temporary
    for (const auto& reservation : page.value("reservations", json::array())) {
      if (reservation["reservation_id"] == reservation_id) return reservation;
    }
    return json();
  }
};

TEST_F(Reservations, ReserveAnEvseAndUseItInATransaction) {
  const std::string id = "resv_node_use";
  auto node = StartNode(id);
  ASSERT_EQ(Rest("PUT", "/tokens/ISO14443/RES-CARD-1", json::object()).status, 201);
  auto r = Reserve(id, {{"evse_id", 1},
                        {"id_token", "RES-CARD-1"},
                        {"group", {{"id_token", "RES-FLEET"}, {"type", "Central"}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  const json answer = r.Json();
  EXPECT_EQ(answer["status"], "success");
  const int reservation_id = answer["reservation_id"];
  EXPECT_GT(reservation_id, 0);
  EXPECT_EQ(answer["response"]["status"], "Accepted");
  const json reservation = answer["response"]["reservation"];
  EXPECT_EQ(reservation["reservation_id"], reservation_id);
  EXPECT_EQ(reservation["state"], "active");
  EXPECT_EQ(reservation["charger_status"], "Accepted");
  EXPECT_EQ(reservation["evse_id"], 1);
  EXPECT_EQ(reservation["group"]["id_token"], "RES-FLEET");
  EXPECT_EQ(Find(id, reservation_id, "&active=true")["state"], "active");
  EXPECT_TRUE(Find(id, reservation_id, "&active=false").is_null());

  // H01: the transaction started on the reserved EVSE names the reservation, which it uses.
  const json started = {
      {"eventType", "Started"},
      {"timestamp", In(seconds(0))},
      {"triggerReason", "Authorized"},
      {"seqNo", 0},
      {"transactionInfo", {{"transactionId", "resv-tx-1"}, {"chargingState", "Charging"}}},
      {"reservationId", reservation_id},
      {"evse", {{"id", 1}, {"connectorId", 1}}},
      {"idToken", {{"idToken", "RES-CARD-1"}, {"type", "ISO14443"}}}};
  json line = Send(*node, id, "TransactionEvent", started);
  EXPECT_TRUE(line.contains("response")) << line.dump();
  json used;
  EXPECT_TRUE(WaitUntil([&] {
    used = Find(id, reservation_id);
    return used.value("state", "") == "used";
  })) << used.dump();
  EXPECT_EQ(used["transaction_id"], "resv-tx-1");
  EXPECT_FALSE(used["ended_at"].is_null());
  EXPECT_TRUE(Find(id, reservation_id, "&active=true").is_null());
  // A used reservation cannot be cancelled.
  auto cancel =
      Rest("DELETE", "/chargers/" + id + "/reservations/" + std::to_string(reservation_id));
  EXPECT_EQ(cancel.status, 409) << cancel.body;
  EXPECT_EQ(cancel.Json()["error"], "reservation_closed");

  json ended = started;
  ended.erase("reservationId");
  ended.erase("idToken");
  ended["eventType"] = "Ended";
  ended["seqNo"] = 1;
  ended["triggerReason"] = "StopAuthorized";
  ended["transactionInfo"] = {{"transactionId", "resv-tx-1"}, {"stoppedReason", "Local"}};
  EXPECT_TRUE(Send(*node, id, "TransactionEvent", ended).contains("response"));
  EXPECT_EQ(node->Stop(SIGTERM), 0) << "a schema violation: " << node->ReadLog();
}

TEST_F(Reservations, ReserveAnyEvseCancelAndRefusals) {
  const std::string id = "resv_node_cancel";
  auto node = StartNode(id);
  auto r = Reserve(id, {{"id_token", "RES-CARD-2"}});  // no evse_id: any EVSE
  ASSERT_EQ(r.status, 200) << r.body;
  const int reservation_id = r.Json()["reservation_id"];
  EXPECT_EQ(r.Json()["response"]["status"], "Accepted");
  EXPECT_TRUE(r.Json()["response"]["reservation"]["evse_id"].is_null());

  const std::string path = "/chargers/" + id + "/reservations/" + std::to_string(reservation_id);
  auto cancelled = Rest("DELETE", path);
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_EQ(cancelled.Json()["response"]["status"], "Accepted");
  EXPECT_EQ(cancelled.Json()["response"]["reservation"]["state"], "cancelled");
  EXPECT_EQ(Find(id, reservation_id)["state"], "cancelled");
  auto again = Rest("DELETE", path);
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(again.Json()["error"], "reservation_closed");

  // The charger's refusals are answers, not errors: stored `rejected` with its word.
  for (const char* status : {"Occupied", "Faulted", "Rejected", "Unavailable"}) {
    std::string token = std::string("RESERVE-") + status;
    auto refused = Reserve(id, {{"evse_id", 1}, {"id_token", token}});
    ASSERT_EQ(refused.status, 200) << refused.body;
    EXPECT_EQ(refused.Json()["response"]["status"], status);
    const json stored = Find(id, refused.Json()["reservation_id"]);
    EXPECT_EQ(stored["state"], "rejected") << stored.dump();
    EXPECT_EQ(stored["charger_status"], status);
  }
  EXPECT_EQ(node->Stop(SIGTERM), 0) << "a schema violation: " << node->ReadLog();
}

TEST_F(Reservations, ExpiryByTheCsmsAndByTheCharger) {
  const std::string id = "resv_node_expiry";
  auto node = StartNode(id);
  // The charger never reports this one: the CSMS releases it once expires_at has passed.
  auto short_lived =
      Reserve(id, {{"evse_id", 1}, {"id_token", "RES-SHORT"}, {"expires_at", In(seconds(2))}});
  ASSERT_EQ(short_lived.status, 200) << short_lived.body;
  const int swept_id = short_lived.Json()["reservation_id"];
  EXPECT_EQ(short_lived.Json()["response"]["reservation"]["state"], "active");
  json swept;
  EXPECT_TRUE(WaitUntil(
      [&] {
        swept = Find(id, swept_id);
        return swept.value("state", "") == "expired";
      },
      std::chrono::seconds(15)))
      << swept.dump();
  EXPECT_NE(swept["detail"].get<std::string>().find("released by the CSMS"), std::string::npos);
  EXPECT_FALSE(Find(id, swept_id, "&active=false").is_null());

  // H04: the charger's ReservationStatusUpdate is stored before it is answered.
  auto reported = Reserve(id, {{"evse_id", 1}, {"id_token", "RES-REPORTED"}});
  ASSERT_EQ(reported.status, 200) << reported.body;
  const int reported_id = reported.Json()["reservation_id"];
  json line = Send(*node, id, "ReservationStatusUpdate",
                   {{"reservationId", reported_id}, {"reservationUpdateStatus", "Expired"}});
  EXPECT_EQ(line["response"], json::object()) << line.dump();
  const json expired = Find(id, reported_id);  // no waiting: stored before the answer
  EXPECT_EQ(expired["state"], "expired") << expired.dump();
  EXPECT_NE(expired["detail"].get<std::string>().find("the charger reported Expired"),
            std::string::npos);

  auto removed = Reserve(id, {{"evse_id", 1}, {"id_token", "RES-REMOVED"}});
  const int removed_id = removed.Json()["reservation_id"];
  line = Send(*node, id, "ReservationStatusUpdate",
              {{"reservationId", removed_id}, {"reservationUpdateStatus", "Removed"}});
  EXPECT_EQ(line["response"], json::object()) << line.dump();
  EXPECT_EQ(Find(id, removed_id)["state"], "removed");
  // Late or unknown updates are answered all the same and change nothing.
  line = Send(*node, id, "ReservationStatusUpdate",
              {{"reservationId", removed_id}, {"reservationUpdateStatus", "Expired"}});
  EXPECT_EQ(line["response"], json::object()) << line.dump();
  EXPECT_EQ(Find(id, removed_id)["state"], "removed");
  line = Send(*node, id, "ReservationStatusUpdate",
              {{"reservationId", 2000000000}, {"reservationUpdateStatus", "Expired"}});
  EXPECT_EQ(line["response"], json::object()) << line.dump();
  EXPECT_EQ(node->Stop(SIGTERM), 0) << "a schema violation: " << node->ReadLog();
}

TEST_F(Reservations, BadInputIsRefused) {
  const std::string id = "resv_node_bad";
  auto node = StartNode(id);
  struct Case {
    const char* name;
    std::string charger;
    json body;
    int status;
    const char* error;
    const char* message_part;
  };
  const Case cases[] = {
      {"unknown EVSE", id, {{"evse_id", 9}, {"id_token", "A"}}, 404, "unknown_evse", "no EVSE 9"},
      {"unknown charger", "resv_nobody", {{"id_token", "A"}}, 404, "unknown_charger", ""},
      {"id token over 36",
       id,
       {{"evse_id", 1}, {"id_token", std::string(37, 'X')}},
       400,
       "bad_request",
       "over 36"},
      {"unknown token type",
       id,
       {{"id_token", "A"}, {"token_type", "RFID"}},
       400,
       "bad_request",
       "IdTokenEnumType"},
      {"expiry in the past",
       id,
       {{"id_token", "A"}, {"expires_at", "2020-01-01T00:00:00Z"}},
       400,
       "bad_request",
       "in the future"},
      {"expiry not a time",
       id,
       {{"id_token", "A"}, {"expires_at", "soon"}},
       400,
       "bad_request",
       "RFC 3339"},
      {"EVSE 0", id, {{"id_token", "A"}, {"evse_id", 0}}, 400, "bad_request", "evse_id"},
      {"unknown field",
       id,
       {{"id_token", "A"}, {"colour", "red"}},
       400,
       "bad_request",
       "unknown field"},
      {"group without type",
       id,
       {{"id_token", "A"}, {"group", {{"id_token", "G"}}}},
       400,
       "bad_request",
       "both"},
  };
  for (const auto& c : cases) {
    auto r = Reserve(c.charger, c.body);
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body;
    EXPECT_EQ(r.Json().value("error", ""), c.error) << c.name << ": " << r.body;
    EXPECT_NE(r.Json().value("message", "").find(c.message_part), std::string::npos)
        << c.name << ": " << r.body;
  }
  auto missing = Rest("POST", "/chargers/" + id + "/reservations", json{{"id_token", "A"}});
  EXPECT_EQ(missing.status, 400) << missing.body;
  auto unknown = Rest("DELETE", "/chargers/" + id + "/reservations/1999999999");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_EQ(unknown.Json()["error"], "not_found");
  EXPECT_EQ(Rest("DELETE", "/chargers/" + id + "/reservations/abc").status, 404);
  EXPECT_EQ(Rest("DELETE", "/chargers/resv_nobody/reservations/1").Json()["error"],
            "unknown_charger");
  EXPECT_EQ(Rest("GET", "/reservations?active=maybe").status, 400);
  EXPECT_EQ(Rest("GET", "/reservations?cursor=nonsense").status, 400);
  EXPECT_EQ(Rest("GET", "/reservations?charger_id=resv_nobody").status, 404);
  EXPECT_EQ(Rest("GET", "/chargers/" + id + "/reservations").status, 405);
  // Nothing was stored for a refused request.
  auto none = Rest("GET", "/reservations?charger_id=" + id);
  EXPECT_EQ(none.Json()["reservations"].size(), 0u) << none.body;
  EXPECT_EQ(node->Stop(SIGTERM), 0) << "a schema violation: " << node->ReadLog();
}

TEST_F(Reservations, GrpcReservationService) {
  const std::string id = "resv_node_grpc";
  auto node = StartNode(id);
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(stack_->control_port),
                                     grpc::InsecureChannelCredentials());
  auto stub = control::v1::ReservationService::NewStub(channel);
  control::v1::CreateReservationRequest create;
  create.set_charger_id(id);
  create.set_evse_id(1);
  create.set_id_token("GRPC-RES");
  create.set_token_type("Local");
  *create.mutable_expires_at() = ToProto(RealClock().Now() + std::chrono::hours(1));
  control::v1::CreateReservationResponse created;
  grpc::ClientContext c1;
  ASSERT_TRUE(stub->CreateReservation(&c1, create, &created).ok());
  EXPECT_EQ(created.status(), "Accepted");
  EXPECT_EQ(created.reservation().state(), "active");

  control::v1::ListReservationsRequest list;
  list.set_charger_id(id);
  list.set_active(true);
  control::v1::ListReservationsResponse page;
  grpc::ClientContext c2;
  ASSERT_TRUE(stub->ListReservations(&c2, list, &page).ok());
  ASSERT_EQ(page.reservations_size(), 1);
  EXPECT_EQ(page.reservations(0).reservation_id(), created.reservation_id());

  control::v1::CancelReservationRequest cancel;
  cancel.set_charger_id(id);
  cancel.set_reservation_id(created.reservation_id());
  control::v1::CancelReservationResponse cancelled;
  grpc::ClientContext c3;
  ASSERT_TRUE(stub->CancelReservation(&c3, cancel, &cancelled).ok());
  EXPECT_EQ(cancelled.status(), "Accepted");
  EXPECT_EQ(cancelled.reservation().state(), "cancelled");

  create.set_evse_id(5);
  grpc::ClientContext c4;
  EXPECT_EQ(stub->CreateReservation(&c4, create, &created).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(node->Stop(SIGTERM), 0) << "a schema violation: " << node->ReadLog();
}

}  // namespace
}  // namespace csms::testing
