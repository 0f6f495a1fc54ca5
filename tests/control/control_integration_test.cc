// Control's commands (remote start and stop, charging limits) against a real PostgreSQL and real
// gRPC, with a fake gateway playing the charger (control_integration_fixture.h).
#include "control_integration_fixture.h"

namespace csms::control {
namespace {

using namespace integration_test;

TEST_F(ControlIntegrationTest, MigrationsApplyOnce) {
  pqxx::connection conn(db_.url());
  EXPECT_EQ(pg::ApplyMigrations(conn, "control", ControlMigrations()), 0);
}

TEST_F(ControlIntegrationTest, StartTransactionWaitsForTheStartedEvent) {
  Register("CP-1");
  AcceptStartsAndReport("tx-100");
  csms::control::v1::StartTransactionResponse response;
  grpc::Status status = Start("CP-1", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.charger_id(), "CP-1");
  EXPECT_EQ(response.transaction_id(), "tx-100");

  auto calls = fake_.Calls("RequestStartTransaction");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].charger_id(), "CP-1");
  json payload = json::parse(calls[0].payload_json());
  EXPECT_EQ(payload, json({{"idToken", {{"idToken", "TOKEN-1"}, {"type", "Central"}}},
                           {"remoteStartId", response.remote_start_id()},
                           {"evseId", 1}}));
  EXPECT_GT(calls[0].timeout_ms(), 0);
}

TEST_F(ControlIntegrationTest, RemoteStartIdsAreFresh) {
  Register("CP-1");
  AcceptStartsAndReport("tx-a");
  csms::control::v1::StartTransactionResponse first, second;
  ASSERT_TRUE(Start("CP-1", &first).ok());
  AcceptStartsAndReport("tx-b");
  ASSERT_TRUE(Start("CP-1", &second).ok());
  EXPECT_NE(first.remote_start_id(), second.remote_start_id());
  EXPECT_EQ(second.transaction_id(), "tx-b");
}

TEST_F(ControlIntegrationTest, StartCorrelatesSeedDialectEventWithoutRemoteStartId) {
  Register("CP-1");
  AcceptStartsAndReport("seed-tx-1", /*echo_remote_start_id=*/false);
  csms::control::v1::StartTransactionResponse response;
  grpc::Status status = Start("CP-1", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.transaction_id(), "seed-tx-1");
}

TEST_F(ControlIntegrationTest, StartSeesStartedEventThatReachedAnotherReplica) {
  // A second control replica on the same database, with its own in-process wake-ups: only the
  // database poll can tell this replica that the transaction started.
  EventWaiter other_waiter;
  ControlStores other_stores(*pool_);
  WriteBatcher other_batcher(other_stores.registry);
  StationEventServiceImpl other_replica(other_batcher, link_, other_waiter, 30);
  int port = 0;
  auto other_server = StartServer({&other_replica}, &port);
  ASSERT_TRUE(other_server);
  auto other_events = csms::control::v1::StationEventService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));

  Register("CP-1");
  AcceptStartsAndReport("tx-elsewhere", /*echo_remote_start_id=*/true, other_events.get());
  csms::control::v1::StartTransactionResponse response;
  grpc::Status status = Start("CP-1", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.transaction_id(), "tx-elsewhere");
  fake_.JoinAll();
  other_server->Shutdown(std::chrono::system_clock::now() + 1s);
}

TEST_F(ControlIntegrationTest, SeedDialectCorrelationNeedsARecentRequestOnTheSameEvse) {
  Register("CP-1");
  int64_t stale = stores_->remote_starts.Create("CP-1", 1, "T");
  {
    pqxx::connection conn(db_.url());
    pqxx::work txn(conn);
    txn.exec_params0(
        "UPDATE remote_starts SET requested_at = now() - interval '2 minutes'"
        " WHERE remote_start_id = $1",
        stale);
    txn.commit();
  }
  int64_t other_evse = stores_->remote_starts.Create("CP-1", 2, "T");
  ASSERT_TRUE(ReportEvent(EventSpec("CP-1", "tx-evse1")).ok());
  EXPECT_EQ(stores_->remote_starts.TransactionOf(stale), "");
  EXPECT_EQ(stores_->remote_starts.TransactionOf(other_evse), "");

  int64_t fresh = stores_->remote_starts.Create("CP-1", 1, "T");
  ASSERT_TRUE(ReportEvent(EventSpec("CP-1", "tx-evse1-b")).ok());
  EXPECT_EQ(stores_->remote_starts.TransactionOf(fresh), "tx-evse1-b");
  // Later events of the same transaction do not claim anything else.
  int64_t next = stores_->remote_starts.Create("CP-1", 1, "T");
  EventSpec updated("CP-1", "tx-evse1-b", kUpdated);
  updated.order_key = 1;
  ASSERT_TRUE(ReportEvent(updated).ok());
  EXPECT_EQ(stores_->remote_starts.TransactionOf(next), "");
}

TEST_F(ControlIntegrationTest, StartReturnsTheTransactionTheChargerAlreadyHad) {
  Register("CP-1");
  fake_.On("RequestStartTransaction", [](const CallRequest&, CallResponse* response) {
    *response = Result({{"status", "Accepted"}, {"transactionId", "cable-first"}});
    return grpc::Status::OK;
  });
  csms::control::v1::StartTransactionResponse response;
  ASSERT_TRUE(Start("CP-1", &response).ok());
  EXPECT_EQ(response.transaction_id(), "cable-first");
}

TEST_F(ControlIntegrationTest, StartTimesOutWithoutStartedEvent) {
  Register("CP-1");
  fake_.On("RequestStartTransaction", [](const CallRequest&, CallResponse* response) {
    *response = Result({{"status", "Accepted"}});
    return grpc::Status::OK;
  });
  csms::control::v1::StartTransactionResponse response;
  auto begin = std::chrono::steady_clock::now();
  grpc::Status status = Start("CP-1", &response);
  auto took = std::chrono::steady_clock::now() - begin;
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(status.error_message(),
            "charger accepted but sent no TransactionEvent Started within 2 s");
  EXPECT_GE(took, 1900ms);
  EXPECT_LT(took, 5s);

  // A late Started of another session must not be taken for the timed-out start.
  ASSERT_TRUE(ReportEvent(EventSpec("CP-1", "local-tx")).ok());
  pqxx::connection conn(db_.url());
  pqxx::read_transaction txn(conn);
  auto row = txn.exec1("SELECT status, transaction_id IS NULL AS open FROM remote_starts");
  EXPECT_EQ(row["status"].as<std::string>(), "TimedOut");
  EXPECT_TRUE(row["open"].as<bool>());
}

TEST_F(ControlIntegrationTest, RejectedStartIsFailedPrecondition) {
  Register("CP-1");
  fake_.On("RequestStartTransaction", [](const CallRequest&, CallResponse* response) {
    *response = Result({{"status", "Rejected"}, {"statusInfo", {{"reasonCode", "Occupied"}}}});
    return grpc::Status::OK;
  });
  csms::control::v1::StartTransactionResponse response;
  grpc::Status status = Start("CP-1", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), "charger CP-1 rejected RequestStartTransaction: Occupied");
}

TEST_F(ControlIntegrationTest, CallErrorIsFailedPrecondition) {
  Register("CP-1");
  fake_.On("SetChargingProfile", [](const CallRequest&, CallResponse* response) {
    response->mutable_error()->set_error_code("NotSupported");
    response->mutable_error()->set_description("no smart charging");
    return grpc::Status::OK;
  });
  csms::control::v1::SetChargingLimitResponse response;
  grpc::Status status = SetLimit("CP-1", 11, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(),
            "charger CP-1 rejected SetChargingProfile: NotSupported: no smart charging");
  EXPECT_FALSE(MustGet("CP-1").has_charging_limit_kw());
}

// The same outcomes, codes and messages as every command (CommandFailure).
TEST_F(ControlIntegrationTest, GatewayFailuresAreMapped) {
  Register("CP-1");
  fake_.On("RequestStartTransaction", [](const CallRequest&, CallResponse*) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "not connected here");
  });
  csms::control::v1::StartTransactionResponse response;
  grpc::Status status = Start("CP-1", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), "charger CP-1 is not connected");

  fake_.On("RequestStartTransaction", [](const CallRequest&, CallResponse*) {
    return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "no answer");
  });
  status = Start("CP-1", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(status.error_message(), "charger CP-1 did not answer RequestStartTransaction in time");

  // A gateway that is gone leaves the charger as unreachable as one that left.
  fake_server_->Shutdown(std::chrono::system_clock::now());
  status = Start("CP-1", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message().rfind("the gateway holding charger CP-1 cannot be reached", 0),
            0u)
      << status.error_message();
}

TEST_F(ControlIntegrationTest, StopTransactionWaitsForEndedAndReturnsFigures) {
  Register("CP-1");
  ASSERT_TRUE(ReportEvent(EventSpec("CP-1", "tx-7", kStarted, "Charging", 7000.0)).ok());
  fake_.On("RequestStopTransaction", [this](const CallRequest& request, CallResponse* response) {
    EXPECT_EQ(json::parse(request.payload_json()), json({{"transactionId", "tx-7"}}));
    fake_.Later(100ms, [this] {
      EventSpec ended{"CP-1", "tx-7", kEnded};
      ended.energy_kwh = 25.5;
      ended.cost = 3825;
      ended.order_key = int64_t{1} << 31;
      EXPECT_TRUE(ReportEvent(ended).ok());
    });
    *response = Result({{"status", "Accepted"}});
    return grpc::Status::OK;
  });
  csms::control::v1::StopTransactionResponse response;
  grpc::Status status = Stop("CP-1", "tx-7", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.transaction_id(), "tx-7");
  EXPECT_DOUBLE_EQ(response.energy_consumed_kwh(), 25.5);
  EXPECT_DOUBLE_EQ(response.cost(), 3825);
  EXPECT_EQ(response.currency(), "KRW");

  // Stopping again answers from the store, even once the charger is gone.
  Disconnect("CP-1", "conn-1");
  csms::control::v1::StopTransactionResponse again;
  ASSERT_TRUE(Stop("CP-1", "tx-7", &again).ok());
  EXPECT_DOUBLE_EQ(again.energy_consumed_kwh(), 25.5);
  EXPECT_EQ(fake_.Calls("RequestStopTransaction").size(), 1u);
}

TEST_F(ControlIntegrationTest, StopUnknownOrRejected) {
  Register("CP-1");
  csms::control::v1::StopTransactionResponse response;
  EXPECT_EQ(Stop("CP-1", "nope", &response).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Stop("CP-1", "", &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  ASSERT_TRUE(ReportEvent(EventSpec("CP-1", "tx-8")).ok());
  fake_.On("RequestStopTransaction", [](const CallRequest&, CallResponse* response) {
    *response = Result({{"status", "Rejected"}});
    return grpc::Status::OK;
  });
  EXPECT_EQ(Stop("CP-1", "tx-8", &response).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(ControlIntegrationTest, SetChargingLimitSendsStationMaxProfileInWatts) {
  Register("CP-1");
  fake_.On("SetChargingProfile", [](const CallRequest&, CallResponse* response) {
    *response = Result({{"status", "Accepted"}});
    return grpc::Status::OK;
  });
  csms::control::v1::SetChargingLimitResponse response;
  grpc::Status status = SetLimit("CP-1", 50, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_DOUBLE_EQ(response.current_power_kw(), 50.0);

  auto calls = fake_.Calls("SetChargingProfile");
  ASSERT_EQ(calls.size(), 1u);
  json payload = json::parse(calls[0].payload_json());
  EXPECT_EQ(payload["evseId"], 0);
  const json& profile = payload["chargingProfile"];
  EXPECT_EQ(profile["chargingProfilePurpose"], "ChargingStationMaxProfile");
  EXPECT_EQ(profile["chargingProfileKind"], "Absolute");
  const json& schedule = profile["chargingSchedule"][0];
  EXPECT_TRUE(ParseRfc3339(schedule["startSchedule"].get<std::string>()).has_value());
  EXPECT_EQ(schedule["chargingRateUnit"], "W");
  EXPECT_DOUBLE_EQ(schedule["chargingSchedulePeriod"][0]["limit"].get<double>(), 50000.0);

  // A new limit reuses the profile id, so it replaces the old one on the charger.
  csms::control::v1::SetChargingLimitResponse second;
  ASSERT_TRUE(SetLimit("CP-1", 22, &second).ok());
  EXPECT_EQ(second.charging_profile_id(), response.charging_profile_id());
  EXPECT_EQ(
      json::parse(fake_.Calls("SetChargingProfile")[1].payload_json())["chargingProfile"]["id"],
      profile["id"]);
  EXPECT_DOUBLE_EQ(MustGet("CP-1").charging_limit_kw(), 22.0);
}

TEST_F(ControlIntegrationTest, SetChargingLimitValidatesAndHonoursRejection) {
  Register("CP-1");
  csms::control::v1::SetChargingLimitResponse response;
  for (double bad : {0.0, -5.0, std::nan(""), HUGE_VAL}) {
    EXPECT_EQ(SetLimit("CP-1", bad, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << bad;
  }
  fake_.On("SetChargingProfile", [](const CallRequest&, CallResponse* response) {
    *response = Result({{"status", "Rejected"}});
    return grpc::Status::OK;
  });
  EXPECT_EQ(SetLimit("CP-1", 10, &response).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_FALSE(MustGet("CP-1").has_charging_limit_kw());
  EXPECT_TRUE(fake_.Calls("SetChargingProfile").size() == 1u);
}

TEST_F(ControlIntegrationTest, OfflineAndUnknownChargers) {
  Register("CP-1");
  Disconnect("CP-1", "conn-1");
  csms::control::v1::StartTransactionResponse start;
  grpc::Status status = Start("CP-1", &start);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), "charger CP-1 is offline");
  csms::control::v1::SetChargingLimitResponse limit;
  EXPECT_EQ(SetLimit("CP-1", 10, &limit).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(fake_.Calls("RequestStartTransaction").empty());

  status = Start("CP-404", &start);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "charger CP-404 is not registered");
  csms::control::v1::StopTransactionResponse stop;
  EXPECT_EQ(Stop("CP-404", "tx", &stop).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(SetLimit("CP-404", 10, &limit).error_code(), grpc::StatusCode::NOT_FOUND);
  Charger charger;
  EXPECT_EQ(Get("CP-404", &charger).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ControlIntegrationTest, StartValidatesInput) {
  Register("CP-1");
  csms::control::v1::StartTransactionResponse response;
  EXPECT_EQ(Start("CP-1", &response, "").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Start("CP-1", &response, std::string(37, 'x')).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(fake_.Calls("RequestStartTransaction").empty());
}

}  // namespace
}  // namespace csms::control
