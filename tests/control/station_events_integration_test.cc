// Control's station events (connections, boots, status, live transactions, batched reports and
// token decisions) against a real PostgreSQL and real gRPC (control_integration_fixture.h).
#include "control_integration_fixture.h"

namespace csms::control {
namespace {

using namespace integration_test;

TEST_F(ControlIntegrationTest, LateDisconnectOfOldConnectionKeepsNewOneOnline) {
  Register("CP-1", "conn-old");
  Connect("CP-1", "conn-new");
  Disconnect("CP-1", "conn-old");
  Charger charger = MustGet("CP-1");
  EXPECT_TRUE(charger.connected());
  EXPECT_EQ(charger.status(), "Available");

  Disconnect("CP-1", "conn-new");
  charger = MustGet("CP-1");
  EXPECT_FALSE(charger.connected());
  EXPECT_EQ(charger.status(), "Offline");
}

// One live connection per charger across gateways: the newer connection stays, control asks the
// gateway holding the older one to close it, and a late report of the older one changes nothing.
TEST_F(ControlIntegrationTest, NewerConnectionReplacesOlderOneOnAnyGateway) {
  const TimePoint t0 = RealClock().Now();
  Register("CP-1", "conn-old");
  Connect("CP-1", "conn-new", t0 + std::chrono::seconds(5));
  auto wait_for_disconnects = [&](size_t n) {
    for (int i = 0; i < 100 && fake_.Disconnects().size() < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return fake_.Disconnects();
  };
  auto disconnects = wait_for_disconnects(1);
  ASSERT_EQ(disconnects.size(), 1u);
  EXPECT_EQ(disconnects[0].charger_id(), "CP-1");
  EXPECT_EQ(disconnects[0].connection_id(), "conn-old");

  // The old connection's StationConnected retried late: ignored, and that connection is closed.
  Connect("CP-1", "conn-old", t0);
  disconnects = wait_for_disconnects(2);
  ASSERT_EQ(disconnects.size(), 2u);
  EXPECT_EQ(disconnects[1].connection_id(), "conn-old");

  // A late status of the old connection does not overwrite the new connection's state.
  ASSERT_TRUE(stores_->registry.UpsertConnectorStatus("CP-1", "conn-new", 1, 1, "Occupied",
                                                      t0 + std::chrono::seconds(6)));
  EXPECT_FALSE(stores_->registry.UpsertConnectorStatus("CP-1", "conn-old", 1, 1, "Faulted",
                                                       t0 + std::chrono::seconds(7)));
  Charger charger = MustGet("CP-1");
  EXPECT_TRUE(charger.connected());
  EXPECT_EQ(charger.status(), "Occupied");
}

TEST_F(ControlIntegrationTest, RegistrationSurvivesReconnect) {
  EXPECT_EQ(Connect("CP-1", "c1").registration_status(), "");
  Register("CP-1", "c1");
  Disconnect("CP-1", "c1");
  EXPECT_EQ(Connect("CP-1", "c2").registration_status(), "Accepted");

  Charger charger = MustGet("CP-1");
  EXPECT_EQ(charger.vendor(), "Acme");
  EXPECT_EQ(charger.model(), "Fast-50");
  EXPECT_EQ(charger.serial_number(), "SN-1");
  EXPECT_EQ(charger.firmware_version(), "1.2.3");
  EXPECT_EQ(charger.registration_status(), "Accepted");
  EXPECT_EQ(charger.gateway_address(), gateway_address_);
  EXPECT_TRUE(charger.has_last_seen());

  pqxx::connection conn(db_.url());
  pqxx::read_transaction txn(conn);
  EXPECT_EQ(txn.exec1("SELECT count(*) FROM boot_log WHERE charger_id = 'CP-1'"
                      " AND decided_status = 'Accepted' AND reason = 'PowerUp'")[0]
                .as<int>(),
            1);
}

// The gateway stamps the answer's station on the connection's transaction events (tariffs).
TEST_F(ControlIntegrationTest, ConnectAnswersTheChargersStation) {
  EXPECT_EQ(Connect("CP-1", "c1").station_id(), "");
  stores_->stations.Create({"site-a", "Site A", "", 33.5, 126.5, {"CP-1"}});
  EXPECT_EQ(Connect("CP-1", "c2").station_id(), "site-a");
  EXPECT_EQ(Connect("CP-1", "c2").station_id(), "site-a") << "a retried report answers it too";
  EXPECT_EQ(Connect("CP-2", "c3").station_id(), "") << "a charger of no station";
  stores_->stations.AssignCharger("CP-1", "");
  EXPECT_EQ(Connect("CP-1", "c4").station_id(), "");
}

// I02: the currency a charger shows running costs in, from its device model, only while its
// TariffCostCtrlr.Enabled[Cost] is true.
TEST_F(ControlIntegrationTest, ConnectAnswersTheCurrencyTheChargerShowsCostsIn) {
  EXPECT_EQ(Connect("CP-1", "c1").cost_currency(), "");
  auto set = [&](const std::string& key, const std::string& component, const std::string& variable,
                 const std::string& instance, const std::string& value) {
    pqxx::connection conn(db_.url());
    pqxx::work txn(conn);
    txn.exec_params(
        "INSERT INTO device_variables (charger_id, variable_key, component, variable,"
        " variable_instance) VALUES ('CP-1', $1, $2, $3, $4) ON CONFLICT DO NOTHING",
        key, component, variable, instance);
    txn.exec_params(
        "INSERT INTO device_variable_attributes (charger_id, variable_key, type, value, source,"
        " updated_at) VALUES ('CP-1', $1, 'Actual', $2, 'NotifyReport', now())"
        " ON CONFLICT (charger_id, variable_key, type) DO UPDATE SET value = EXCLUDED.value",
        key, value);
    txn.commit();
  };
  set("tariffcostctrlr||||currency|", "TariffCostCtrlr", "Currency", "", "KRW");
  EXPECT_EQ(Connect("CP-1", "c2").cost_currency(), "") << "costs not enabled";
  set("tariffcostctrlr||||enabled|cost", "TariffCostCtrlr", "Enabled", "Cost", "true");
  EXPECT_EQ(Connect("CP-1", "c3").cost_currency(), "KRW");
  set("tariffcostctrlr||||enabled|cost", "TariffCostCtrlr", "Enabled", "Cost", "false");
  EXPECT_EQ(Connect("CP-1", "c4").cost_currency(), "");
}

// The device model's EVSE.Power maxLimit per EVSE: billing judges the readings by it.
TEST_F(ControlIntegrationTest, ConnectAnswersEachEvsesMaximumPower) {
  EXPECT_TRUE(Connect("CP-1", "c1").evse_max_power_w().empty());
  {
    pqxx::connection conn(db_.url());
    pqxx::work txn(conn);
    txn.exec(
        "INSERT INTO device_variables (charger_id, variable_key, component, evse_id, variable,"
        " max_limit) VALUES ('CP-1', 'evse||1||power|', 'EVSE', 1, 'Power', 22000),"
        " ('CP-1', 'evse||2||power|', 'EVSE', 2, 'Power', 7400.5),"
        " ('CP-1', 'evse||3||power|', 'EVSE', 3, 'Power', NULL)");
    txn.commit();
  }
  const auto limits = Connect("CP-1", "c2").evse_max_power_w();
  ASSERT_EQ(limits.size(), 2u);
  EXPECT_EQ(limits.at(1), 22000);
  EXPECT_EQ(limits.at(2), 7400.5);
}

TEST_F(ControlIntegrationTest, BootAnswersConfiguredInterval) {
  csms::control::v1::BootNotificationRequest boot;
  boot.set_charger_id("CP-9");
  boot.set_reason("PowerUp");
  csms::control::v1::BootNotificationResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(events_->BootNotification(&context, boot, &response).ok());
  EXPECT_EQ(response.status(), "Accepted");
  EXPECT_EQ(response.interval_seconds(), 30);
}

TEST_F(ControlIntegrationTest, GetChargerShowsLiveTransaction) {
  Register("CP-1");
  EventSpec started{"CP-1", "tx-live", kStarted, "Charging", 7400.0, 0.0};
  ASSERT_TRUE(ReportEvent(started).ok());
  EventSpec updated{"CP-1", "tx-live", kUpdated, "", 11000.0, 1.25};
  updated.order_key = 1;
  ASSERT_TRUE(ReportEvent(updated).ok());
  ReportStatus("CP-1", 1, "Occupied", RealClock().Now());

  Charger charger = MustGet("CP-1");
  EXPECT_EQ(charger.status(), "Charging");  // an empty state keeps the previous one
  EXPECT_EQ(charger.transaction_id(), "tx-live");
  EXPECT_DOUBLE_EQ(charger.current_power_kw(), 11.0);
  EXPECT_DOUBLE_EQ(charger.energy_accumulated_kwh(), 1.25);
  EXPECT_TRUE(charger.connected());

  EventSpec suspended = updated;
  suspended.charging_state = "SuspendedEV";
  suspended.power_w.reset();
  suspended.order_key = 2;
  ASSERT_TRUE(ReportEvent(suspended).ok());
  charger = MustGet("CP-1");
  EXPECT_EQ(charger.status(), "SuspendedEV");
  EXPECT_DOUBLE_EQ(charger.current_power_kw(), 11.0);  // no new power sample

  EventSpec ended{"CP-1", "tx-live", kEnded};
  ended.energy_kwh = 3.0;
  ended.order_key = 3;
  ASSERT_TRUE(ReportEvent(ended).ok());
  charger = MustGet("CP-1");
  EXPECT_EQ(charger.status(), "Occupied");
  EXPECT_EQ(charger.transaction_id(), "");
  EXPECT_DOUBLE_EQ(charger.current_power_kw(), 0);
  EXPECT_DOUBLE_EQ(charger.energy_accumulated_kwh(), 0);
}

// Issue 16: a charger with two EVSEs shows both transactions, each on its EVSE; the seed's
// fields describe the most recently started one, in GetCharger and in ListChargers.
TEST_F(ControlIntegrationTest, EachEvseShowsItsOwnTransaction) {
  Register("CP-2E");
  ReportStatus("CP-2E", 1, "Occupied", RealClock().Now());
  EventSpec first{"CP-2E", "tx-1", kStarted, "Charging", 7400.0, 2.5};
  ASSERT_TRUE(ReportEvent(first).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // started later, by the clock
  EventSpec second{"CP-2E", "tx-2", kStarted, "SuspendedEV", 0.0, 0.0};
  second.evse_id = 2;
  ASSERT_TRUE(ReportEvent(second).ok());

  auto check = [](const Charger& charger) {
    EXPECT_EQ(charger.transaction_id(), "tx-2");
    EXPECT_EQ(charger.status(), "SuspendedEV");
    ASSERT_EQ(charger.evses_size(), 2);
    EXPECT_EQ(charger.evses(0).evse_id(), 1);
    EXPECT_EQ(charger.evses(0).transaction_id(), "tx-1");
    EXPECT_EQ(charger.evses(0).status(), "Charging");
    EXPECT_DOUBLE_EQ(charger.evses(0).current_power_kw(), 7.4);
    EXPECT_DOUBLE_EQ(charger.evses(0).energy_accumulated_kwh(), 2.5);
    EXPECT_EQ(charger.evses(1).evse_id(), 2);
    EXPECT_EQ(charger.evses(1).transaction_id(), "tx-2");
    EXPECT_EQ(charger.evses(1).status(), "SuspendedEV");
  };
  check(MustGet("CP-2E"));
  csms::control::v1::ListChargersResponse list;
  grpc::ClientContext context;
  ASSERT_TRUE(control_->ListChargers(&context, {}, &list).ok());
  bool listed = false;
  for (const auto& c : list.chargers()) {
    if (c.charger_id() == "CP-2E") {
      listed = true;
      check(c);
    }
  }
  EXPECT_TRUE(listed);

  // The second ends: the first is the charger's transaction again; EVSE 2 is free.
  EventSpec ended{"CP-2E", "tx-2", kEnded};
  ended.evse_id = 2;
  ended.order_key = 1;
  ASSERT_TRUE(ReportEvent(ended).ok());
  const Charger after = MustGet("CP-2E");
  EXPECT_EQ(after.transaction_id(), "tx-1");
  ASSERT_EQ(after.evses_size(), 1);  // EVSE 2 reported no connector and runs nothing now
  EXPECT_EQ(after.evses(0).transaction_id(), "tx-1");
}

TEST_F(ControlIntegrationTest, UpdatedAfterEndedDoesNotReactivate) {
  Register("CP-1");
  ASSERT_TRUE(ReportEvent(EventSpec("CP-1", "tx-ooo", kStarted, "Charging", 5000.0)).ok());
  EventSpec ended{"CP-1", "tx-ooo", kEnded};
  ended.energy_kwh = 10;
  ended.cost = 1500;
  ended.order_key = 5;
  ASSERT_TRUE(ReportEvent(ended).ok());
  EventSpec late{"CP-1", "tx-ooo", kUpdated, "Charging", 6000.0, 4.0};
  late.order_key = 3;
  ASSERT_TRUE(ReportEvent(late).ok());

  Charger charger = MustGet("CP-1");
  EXPECT_EQ(charger.transaction_id(), "");
  EXPECT_EQ(charger.status(), "Available");
  auto tx = stores_->registry.FindTransaction("CP-1", "tx-ooo");
  ASSERT_TRUE(tx.has_value());
  EXPECT_TRUE(tx->ended);
  EXPECT_DOUBLE_EQ(tx->energy_kwh, 10);
  EXPECT_DOUBLE_EQ(tx->cost, 1500);
}

TEST_F(ControlIntegrationTest, ConnectorStatusKeepsTheNewestReport) {
  Register("CP-1");
  TimePoint now = RealClock().Now();
  ReportStatus("CP-1", 2, "Faulted", now + 10s);
  ReportStatus("CP-1", 2, "Available", now + 5s);  // older, arrives late
  Charger charger = MustGet("CP-1");
  EXPECT_EQ(charger.status(), "Faulted");
  ASSERT_EQ(charger.connectors_size(), 2);
  EXPECT_EQ(charger.connectors(1).connector_id(), 2);
  EXPECT_EQ(charger.connectors(1).status(), "Faulted");
}

// A gateway that dies reports no disconnects: its chargers would look connected forever. Silence
// past the limit reads as offline, for the views and for commands, until the charger is heard
// from again (through any gateway).
TEST_F(ControlIntegrationTest, ASilentChargerIsOfflineUntilHeardFromAgain) {
  control_service_->set_offline_after(90s);
  Connect("CP-quiet", "conn-q", RealClock().Now() - 10min);
  Register("CP-talking");
  EXPECT_FALSE(MustGet("CP-quiet").connected());
  EXPECT_EQ(MustGet("CP-quiet").status(), "Offline");
  EXPECT_TRUE(MustGet("CP-talking").connected());
  csms::control::v1::StartTransactionResponse started;
  grpc::Status refused = Start("CP-quiet", &started);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(refused.error_message().find("not been heard from"), std::string::npos)
      << refused.error_message();
  EXPECT_TRUE(fake_.Calls("RequestStartTransaction").empty()) << "nothing may go to a gone charger";

  csms::control::v1::LastSeenBatch batch;
  auto* entry = batch.add_entries();
  entry->set_charger_id("CP-quiet");
  *entry->mutable_seen_at() = ToProto(RealClock().Now());
  csms::control::v1::ReportResponse ignored;
  grpc::ClientContext context;
  ASSERT_TRUE(events_->ReportLastSeen(&context, batch, &ignored).ok());
  EXPECT_TRUE(MustGet("CP-quiet").connected());
  EXPECT_NE(MustGet("CP-quiet").status(), "Offline");
}

TEST_F(ControlIntegrationTest, LastSeenBatchAndList) {
  Register("CP-1");
  Register("CP-2");
  TimePoint later = RealClock().Now() + 60s;
  csms::control::v1::LastSeenBatch batch;
  for (const char* id : {"CP-1", "CP-2", "CP-unknown"}) {
    auto* entry = batch.add_entries();
    entry->set_charger_id(id);
    *entry->mutable_seen_at() = ToProto(later);
  }
  // The same charger twice in one batch keeps the newest time.
  auto* older = batch.add_entries();
  older->set_charger_id("CP-1");
  *older->mutable_seen_at() = ToProto(later - 30s);
  csms::control::v1::ReportResponse ignored;
  grpc::ClientContext context;
  ASSERT_TRUE(events_->ReportLastSeen(&context, batch, &ignored).ok());

  csms::control::v1::ListChargersResponse list;
  grpc::ClientContext list_context;
  ASSERT_TRUE(control_->ListChargers(&list_context, {}, &list).ok());
  ASSERT_EQ(list.chargers_size(), 2);
  for (const auto& charger : list.chargers()) {
    EXPECT_EQ(FromProto(charger.last_seen()).time_since_epoch() / 1ms,
              later.time_since_epoch() / 1ms)
        << charger.charger_id();
    EXPECT_EQ(charger.status(), "Available");
    EXPECT_EQ(charger.connectors_size(), 1);
  }
  EXPECT_EQ(list.chargers(0).charger_id(), "CP-1");
  EXPECT_EQ(list.chargers(1).charger_id(), "CP-2");
}

// --- Group commit: the gateways' writes are applied in batches. ---

// Queues ops while the writers are paused, so they all land in one batch, then collects results.
class HeldBatch {
 public:
  explicit HeldBatch(WriteBatcher& batcher) : batcher_(batcher) { batcher_.PauseForTest(); }
  ~HeldBatch() { batcher_.ResumeForTest(); }

  size_t Add(WriteOp op) {
    auto promise = std::make_shared<std::promise<WriteResult>>();
    futures_.push_back(promise->get_future());
    batcher_.Submit(std::move(op), [promise](std::exception_ptr error, const WriteResult& result) {
      if (error) {
        promise->set_exception(error);
      } else {
        promise->set_value(result);
      }
    });
    return futures_.size() - 1;
  }

  void Run() { batcher_.ResumeForTest(); }
  std::future<WriteResult>& operator[](size_t i) { return futures_[i]; }

 private:
  WriteBatcher& batcher_;
  std::vector<std::future<WriteResult>> futures_;
};

TransactionEventOp TxOp(const std::string& charger, const std::string& tx,
                        csms::ocpp::v1::TransactionEventType type, int64_t order_key,
                        const std::string& state, double power_w, double energy_kwh) {
  TransactionEventOp op;
  auto* ev = op.report.mutable_event();
  ev->set_charger_id(charger);
  ev->set_connection_id("conn-1");
  ev->set_transaction_id(tx);
  ev->set_event_type(type);
  ev->set_order_key(order_key);
  ev->set_evse_id(1);
  ev->set_charging_state(state);
  ev->set_power_w(power_w);
  *ev->mutable_timestamp() = ToProto(RealClock().Now());
  op.report.set_energy_consumed_kwh(energy_kwh);
  op.report.set_currency("KRW");
  return op;
}

TEST_F(ControlIntegrationTest, ManyConcurrentBootsOfSameAndDifferentChargers) {
  constexpr int kChargers = 300;
  constexpr int kSameChargerBoots = 30;
  const TimePoint t0 = RealClock().Now();
  std::atomic<int> accepted{0}, failed{0};
  auto boot = [&](const std::string& id, const std::string& connection, TimePoint at) {
    csms::control::v1::StationConnectedRequest connect;
    connect.set_charger_id(id);
    connect.set_connection_id(connection);
    connect.set_gateway_address(gateway_address_);
    *connect.mutable_connected_at() = ToProto(at);
    csms::control::v1::StationConnectedResponse connected;
    grpc::ClientContext connect_context;
    if (!events_->StationConnected(&connect_context, connect, &connected).ok()) ++failed;
    csms::control::v1::BootNotificationRequest request;
    request.set_charger_id(id);
    request.set_connection_id(connection);
    request.set_reason("PowerUp");
    request.set_vendor("Acme");
    csms::control::v1::BootNotificationResponse response;
    grpc::ClientContext boot_context;
    if (events_->BootNotification(&boot_context, request, &response).ok() &&
        response.status() == "Accepted") {
      ++accepted;
    } else {
      ++failed;
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 10; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kChargers; i += 10) boot("CP-" + std::to_string(i), "c", t0);
      // The same charger reconnecting again and again; the newest connection must win.
      for (int i = t; i < kSameChargerBoots; i += 10) {
        boot("CP-same", "conn-" + std::to_string(i), t0 + std::chrono::milliseconds(i));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(accepted.load(), kChargers + kSameChargerBoots);

  pqxx::connection conn(db_.url());
  pqxx::read_transaction txn(conn);
  EXPECT_EQ(txn.exec1("SELECT count(*) FROM chargers WHERE registration_status = 'Accepted'"
                      " AND connected AND vendor = 'Acme'")[0]
                .as<int>(),
            kChargers + 1);
  EXPECT_EQ(txn.exec1("SELECT count(*) FROM boot_log")[0].as<int>(), kChargers + kSameChargerBoots);
  EXPECT_EQ(txn.exec1("SELECT connection_id FROM chargers WHERE charger_id = 'CP-same'")[0]
                .as<std::string>(),
            "conn-" + std::to_string(kSameChargerBoots - 1));
}

// Within one batch the ops apply in arrival order, exactly as one after the other: a stale
// connection's reports change nothing once a newer connection is recorded, and an older
// TransactionEvent does not roll back newer live state.
TEST_F(ControlIntegrationTest, StaleReportsInsideOneBatchDoNotOverwriteNewerState) {
  const TimePoint t0 = RealClock().Now();
  Register("CP-1", "conn-old");
  std::vector<WriteResult> results;
  {
    HeldBatch batch(*batcher_);
    batch.Add(ConnectOp{"CP-1", "conn-new", gateway_address_, t0 + 5s});
    batch.Add(StatusOp{"CP-1", "conn-new", 1, 1, "Occupied", t0 + 6s});
    batch.Add(StatusOp{"CP-1", "conn-old", 1, 1, "Faulted", t0 + 7s});
    batch.Add(DisconnectOp{"CP-1", "conn-old", t0 + 8s});
    batch.Add(ConnectOp{"CP-1", "conn-old", gateway_address_, t0});  // a late retry
    batch.Add(TxOp("CP-1", "tx-1", kStarted, 0, "Charging", 7000, 0));
    batch.Add(TxOp("CP-1", "tx-1", kUpdated, 2, "Charging", 11000, 2.0));
    batch.Add(TxOp("CP-1", "tx-1", kUpdated, 1, "SuspendedEV", 1000, 1.0));  // older, late
    batch.Add(TxOp("CP-2", "tx-2", kStarted, 0, "Charging", 3000, 0));
    batch.Add(TxOp("CP-2", "tx-2", kEnded, 5, "", 0, 4.0));
    batch.Add(TxOp("CP-2", "tx-2", kUpdated, 3, "Charging", 3000, 3.0));  // after Ended
    LastSeenOp seen;
    seen.entries = {{"CP-1", t0 + 60s}, {"CP-unknown", t0}};
    batch.Add(seen);
    batch.Run();
    for (size_t i = 0; i < 12; ++i) results.push_back(batch[i].get());
  }
  EXPECT_EQ(results[0].connect.close_connection_id, "conn-old");
  EXPECT_EQ(results[0].connect.registration_status, "Accepted");
  EXPECT_TRUE(results[1].applied);
  EXPECT_FALSE(results[2].applied);
  EXPECT_FALSE(results[3].applied);
  EXPECT_EQ(results[4].connect.close_connection_id, "conn-old");

  Charger charger = MustGet("CP-1");
  EXPECT_TRUE(charger.connected());
  EXPECT_EQ(charger.status(), "Charging");
  EXPECT_EQ(charger.transaction_id(), "tx-1");
  EXPECT_DOUBLE_EQ(charger.current_power_kw(), 11.0);
  EXPECT_DOUBLE_EQ(charger.energy_accumulated_kwh(), 2.0);
  EXPECT_EQ(charger.connectors(0).status(), "Occupied");
  EXPECT_EQ(FromProto(charger.last_seen()).time_since_epoch() / 1ms,
            (t0 + 60s).time_since_epoch() / 1ms);

  Charger other = MustGet("CP-2");  // created by its TransactionEvent, never connected
  EXPECT_EQ(other.transaction_id(), "");
  auto tx = stores_->registry.FindTransaction("CP-2", "tx-2");
  ASSERT_TRUE(tx.has_value());
  EXPECT_TRUE(tx->ended);
  EXPECT_DOUBLE_EQ(tx->energy_kwh, 4.0);
  Charger unknown;
  EXPECT_EQ(Get("CP-unknown", &unknown).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ControlIntegrationTest, FailingWriteInABatchFailsOnlyItsOwnCaller) {
  {
    // A statement that fails for one charger only, as a bad row would.
    pqxx::connection conn(db_.url());
    pqxx::work txn(conn);
    txn.exec0(R"sql(
CREATE FUNCTION refuse_bad_boot() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.charger_id = 'CP-bad' THEN RAISE EXCEPTION 'refused'; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER refuse_bad_boot BEFORE INSERT ON boot_log
  FOR EACH ROW EXECUTE FUNCTION refuse_bad_boot();
)sql");
    txn.commit();
  }
  std::vector<std::string> ids = {"CP-a", "CP-bad", "CP-b"};
  HeldBatch batch(*batcher_);
  for (const auto& id : ids) {
    batch.Add(BootOp{{id, "c", "PowerUp", "Acme", "M", "S", "F"}, "Accepted"});
  }
  batch.Add(StatusOp{"CP-a", "", 1, 1, "Available", RealClock().Now()});
  batch.Run();
  EXPECT_NO_THROW(batch[0].get());
  EXPECT_THROW(batch[1].get(), pqxx::sql_error);
  EXPECT_NO_THROW(batch[2].get());
  EXPECT_TRUE(batch[3].get().applied);

  EXPECT_EQ(MustGet("CP-a").registration_status(), "Accepted");
  EXPECT_EQ(MustGet("CP-b").registration_status(), "Accepted");
  Charger bad;
  EXPECT_EQ(Get("CP-bad", &bad).error_code(), grpc::StatusCode::NOT_FOUND);

  // Through gRPC the failed write is an INTERNAL error the gateway retries, never an OK.
  csms::control::v1::BootNotificationRequest request;
  request.set_charger_id("CP-bad");
  csms::control::v1::BootNotificationResponse response;
  grpc::ClientContext context;
  EXPECT_EQ(events_->BootNotification(&context, request, &response).error_code(),
            grpc::StatusCode::INTERNAL);
}

// A NUL in a charger's text (JSON "\u0000") used to cut the batch's array literal short, so
// every batch holding it failed for all chargers in it; it now ends that one value, as libpq
// does for scalar parameters.
TEST_F(ControlIntegrationTest, ANulFromOneChargerFailsNoOtherChargerOfItsBatch) {
  HeldBatch batch(*batcher_);
  batch.Add(
      BootOp{{"CP-nul", "c", "PowerUp", std::string("Ac\0me\"}", 7), "M", "S", "F"}, "Accepted"});
  batch.Add(BootOp{{"CP-ok", "c", "PowerUp", "Acme", "M", "S", "F"}, "Accepted"});
  batch.Run();
  EXPECT_NO_THROW(batch[0].get());
  EXPECT_NO_THROW(batch[1].get());
  EXPECT_EQ(MustGet("CP-nul").vendor(), "Ac");
  EXPECT_EQ(MustGet("CP-ok").vendor(), "Acme");
}

TEST_F(ControlIntegrationTest, ConcurrentTransactionEventsKeepTheNewest) {
  Register("CP-1");
  // Many events of one transaction, sent concurrently in random order: the newest order_key
  // wins, whatever the batches were.
  constexpr int kEvents = 200;
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kEvents; i += 8) {
        EventSpec spec("CP-1", "tx-many", i == 0 ? kStarted : kUpdated, "Charging", 1000.0 * i,
                       0.5 * i);
        spec.order_key = (i * 37) % kEvents;  // a permutation of 0..kEvents-1
        spec.power_w = 1000.0 * spec.order_key;
        spec.energy_kwh = 0.5 * spec.order_key;
        if (!ReportEvent(spec).ok()) ++failed;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  Charger charger = MustGet("CP-1");
  EXPECT_EQ(charger.transaction_id(), "tx-many");
  EXPECT_DOUBLE_EQ(charger.current_power_kw(), kEvents - 1);
  EXPECT_DOUBLE_EQ(charger.energy_accumulated_kwh(), 0.5 * (kEvents - 1));
}

// LISTEN/NOTIFY: an event committed by any replica wakes waiters at once, not at the next poll.
TEST_F(ControlIntegrationTest, NotifyWakesWaitersBeforeThePoll) {
  EventWaiter slow_poll(std::chrono::seconds(30));
  TransactionEventListener listener(db_.url(), slow_poll);
  std::this_thread::sleep_for(300ms);  // let it LISTEN
  Register("CP-1");
  fake_.Later(200ms, [this] {
    // Straight into the store, as another replica would: this process's waiter is not told.
    stores_->registry.ApplyTransactionEvent(
        TxOp("CP-1", "tx-notify", kStarted, 0, "Charging", 1000, 0).report);
  });
  auto begin = std::chrono::steady_clock::now();
  std::promise<bool> found;
  slow_poll.WaitAsync(
      std::chrono::steady_clock::now() + 10s,
      [&] { return stores_->registry.FindTransaction("CP-1", "tx-notify").has_value(); },
      [] { return false; }, [&](bool ok) { found.set_value(ok); });
  EXPECT_TRUE(found.get_future().get());
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 5s);
}

// Many gateways' worth of fire-and-forget reports at once: every one answered OK and stored.
// Prints the rate (CSMS_REPORT_SECONDS lengthens the run for a benchmark).
TEST_F(ControlIntegrationTest, ReportsUnderConcurrentLoad) {
  constexpr int kChargers = 200;
  for (int i = 0; i < kChargers; ++i) Connect("CP-" + std::to_string(i), "conn-1");
  const char* seconds_env = std::getenv("CSMS_REPORT_SECONDS");
  const auto duration = std::chrono::milliseconds(
      static_cast<int>(1000 * (seconds_env != nullptr ? std::atof(seconds_env) : 1.0)));
  std::atomic<int64_t> sent{0}, failed{0};
  const auto end = std::chrono::steady_clock::now() + duration;
  std::vector<std::thread> threads;
  for (int t = 0; t < 64; ++t) {
    threads.emplace_back([&, t] {
      for (int64_t n = 0; std::chrono::steady_clock::now() < end; ++n) {
        const std::string charger = "CP-" + std::to_string((t + 64 * n) % kChargers);
        grpc::Status status;
        if (n % 2 == 0) {
          EventSpec spec(charger, "tx-" + charger, n == 0 ? kStarted : kUpdated, "Charging",
                         1000.0 * n, 0.1 * n);
          spec.order_key = n;
          status = ReportEvent(spec);
        } else {
          csms::control::v1::StatusReport report;
          report.set_charger_id(charger);
          report.set_connection_id("conn-1");
          report.set_evse_id(1);
          report.set_connector_id(1);
          report.set_status("Occupied");
          *report.mutable_timestamp() = ToProto(RealClock().Now());
          csms::control::v1::ReportResponse response;
          grpc::ClientContext context;
          status = events_->ReportStatus(&context, report, &response);
        }
        ++sent;
        if (!status.ok()) ++failed;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  const double rate = sent.load() / std::chrono::duration<double>(duration).count();
  std::cout << "reports: " << sent.load() << " in " << duration.count() << " ms = " << rate
            << "/s (64 concurrent callers)\n";
  EXPECT_EQ(MustGet("CP-0").status(), "Charging");
}

// No PostgreSQL needed: the database is simply unreachable.
TEST(ControlServiceWithoutDatabase, AnswersUnavailable) {
  pg::Pool pool("host=127.0.0.1 port=1 connect_timeout=2", 1);
  ControlStores stores(pool);
  EventWaiter waiter;
  ChargerLinkClient link;
  ControlServiceImpl service(stores, link, waiter, kCommandTimeout);
  grpc::ServerContext context;
  csms::control::v1::GetChargerRequest request;
  request.set_charger_id("CP-1");
  Charger charger;
  grpc::Status status = service.GetCharger(&context, &request, &charger);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message().rfind("control database unavailable: ", 0), 0u)
      << status.error_message();
}

// ReportBatch applies its reports in order, as the single RPCs would, and skips (does not fail
// on) a report that could never be stored.
TEST_F(ControlIntegrationTest, ReportBatchAppliesReportsInOrder) {
  Register("CP-B");
  csms::control::v1::ReportBatchRequest batch;
  auto tx_report = [](const std::string& type_state, csms::ocpp::v1::TransactionEventType type,
                      int64_t order_key, double power_w, double energy_kwh) {
    csms::control::v1::Report report;
    auto* r = report.mutable_transaction_event();
    auto* ev = r->mutable_event();
    ev->set_charger_id("CP-B");
    ev->set_connection_id("conn-1");
    ev->set_transaction_id("tx-batch");
    ev->set_event_type(type);
    ev->set_order_key(order_key);
    ev->set_evse_id(1);
    ev->set_charging_state(type_state);
    ev->set_power_w(power_w);
    *ev->mutable_timestamp() = ToProto(RealClock().Now());
    r->set_energy_consumed_kwh(energy_kwh);
    r->set_currency("KRW");
    return report;
  };
  auto* status = batch.add_reports()->mutable_status();
  status->set_charger_id("CP-B");
  status->set_connection_id("conn-1");
  status->set_evse_id(1);
  status->set_connector_id(1);
  status->set_status("Occupied");
  *status->mutable_timestamp() = ToProto(RealClock().Now());
  *batch.add_reports() = tx_report("Charging", kStarted, 0, 7400, 0);
  batch.add_reports();  // empty: skipped
  *batch.add_reports() = tx_report("Charging", kUpdated, 1, 11000, 1.25);
  auto* stale = batch.add_reports()->mutable_disconnected();  // not its current connection
  stale->set_charger_id("CP-B");
  stale->set_connection_id("conn-old");

  csms::control::v1::ReportResponse response;
  grpc::ClientContext context;
  const grpc::Status sent = events_->ReportBatch(&context, batch, &response);
  ASSERT_TRUE(sent.ok()) << sent.error_message();
  Charger charger = MustGet("CP-B");
  EXPECT_EQ(charger.status(), "Charging");
  EXPECT_EQ(charger.transaction_id(), "tx-batch");
  EXPECT_DOUBLE_EQ(charger.current_power_kw(), 11.0);
  EXPECT_DOUBLE_EQ(charger.energy_accumulated_kwh(), 1.25);
  EXPECT_TRUE(charger.connected());

  // Sent again (the gateway resends a batch whose answer it lost): nothing changes.
  grpc::ClientContext again;
  ASSERT_TRUE(events_->ReportBatch(&again, batch, &response).ok());
  charger = MustGet("CP-B");
  EXPECT_EQ(charger.transaction_id(), "tx-batch");
  EXPECT_DOUBLE_EQ(charger.energy_accumulated_kwh(), 1.25);

  csms::control::v1::ReportBatchRequest gone;
  auto* disconnected = gone.add_reports()->mutable_disconnected();
  disconnected->set_charger_id("CP-B");
  disconnected->set_connection_id("conn-1");
  grpc::ClientContext last;
  ASSERT_TRUE(events_->ReportBatch(&last, gone, &response).ok());
  EXPECT_FALSE(MustGet("CP-B").connected());
}

// The gateway's batch of token decisions over gRPC: one result per request, in order; a bad
// request fails alone; TransactionEvents' tokens (read together) are decided as one by one.
TEST_F(ControlIntegrationTest, AuthorizeTokensAnswersEachRequestInOrder) {
  TokenSessionStore sessions(*pool_, TokenSessionStore::Options{});
  events_service_->set_authorization(
      {&stores_->tokens, &stores_->stations, &stores_->remote_starts, &sessions});
  TokenRecord token;
  token.type = "ISO14443";
  token.id_token = "CARD-1";
  token.account_id = "acct-1";
  stores_->tokens.Put(token, "test");
  csms::control::v1::AuthorizeTokensRequest request;
  auto add = [&](const std::string& charger, const std::string& id_token, const std::string& type,
                 const std::string& transaction_id) {
    auto* one = request.add_requests();
    one->set_charger_id(charger);
    one->set_id_token(id_token);
    one->set_type(type);
    if (!transaction_id.empty()) {
      one->mutable_transaction()->set_transaction_id(transaction_id);
      one->mutable_transaction()->set_event_type(ocpp::v1::TRANSACTION_EVENT_TYPE_STARTED);
      one->mutable_transaction()->set_evse_id(1);
    }
  };
  add("CP-1", "card-1", "ISO14443", "tx-1");
  add("CP-1", "card-1", "ISO14443", "");  // an Authorize: no transaction
  add("CP-1", "x", "", "tx-bad");         // no type
  add("CP-2", "CARD-1", "ISO14443", "tx-2");
  add("CP-2", "nobody", "ISO14443", "tx-3");
  add("", "card-1", "ISO14443", "tx-4");  // no charger
  csms::control::v1::AuthorizeTokensResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(events_->AuthorizeTokens(&context, request, &response).ok());
  ASSERT_EQ(response.results_size(), 6);
  auto status = [&](int i) {
    const auto& r = response.results(i);
    return r.code() != 0 ? "code " + std::to_string(r.code()) : r.response().status();
  };
  EXPECT_EQ(status(0), "Accepted");
  EXPECT_EQ(response.results(0).response().account_id(), "acct-1");
  EXPECT_EQ(status(1), "Accepted");
  EXPECT_EQ(status(2), "code 3");
  EXPECT_EQ(status(3), "ConcurrentTx");
  EXPECT_EQ(status(4), "Unknown");
  EXPECT_EQ(status(5), "code 3");
  EXPECT_FALSE(response.results(2).message().empty());
}

}  // namespace
}  // namespace csms::control
