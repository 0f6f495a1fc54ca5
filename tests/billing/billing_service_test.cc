#include "csms/billing/billing_service.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "billing_test_util.h"
#include "csms/billing/migrations.h"
#include "pg_test_db.h"

namespace csms::billing {
namespace {

using namespace csms::billing::testing;

const Tariff kKrw150 = *MakeTariff(150, "KRW");
// 2026-11-24 01:30 in Seoul, still 2026-11-23 in UTC.
const TimePoint kNow = At("2026-11-23T16:30:00Z");

v1::RecordTransactionEventRequest Request(const TransactionEvent& event) {
  v1::RecordTransactionEventRequest request;
  *request.mutable_event() = event;
  return request;
}

// Requests that are wrong whatever the database says; checked before any query.
TEST(BillingServiceValidationTest, RejectsBadInputWithoutTouchingTheDatabase) {
  pg::Pool pool("host=127.0.0.1 port=1 connect_timeout=1", 1);
  LedgerStore store(pool, kKrw150, "UTC");
  FixedClock clock(kNow);
  BillingService service(store, clock);
  grpc::ServerContext context;

  const TransactionEvent good =
      MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp1", "tx1", 0, kNow, 100);
  std::vector<TransactionEvent> bad(7, good);
  bad[0].clear_transaction_id();
  bad[1].clear_charger_id();
  bad[2].set_event_type(ocpp::v1::TRANSACTION_EVENT_TYPE_UNSPECIFIED);
  bad[3].set_event_type(static_cast<ocpp::v1::TransactionEventType>(42));
  bad[4].set_energy_register_wh(std::nan(""));
  bad[5].clear_dedup_key();
  bad[6].set_id_token(std::string("user\0x", 6));
  for (const auto& event : bad) {
    v1::RecordTransactionEventResponse response;
    const auto request = Request(event);
    EXPECT_EQ(service.Record(request, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << event.DebugString();
  }
  v1::RecordTransactionEventResponse response;
  const v1::RecordTransactionEventRequest empty;
  EXPECT_EQ(service.Record(empty, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  v1::GetDailyStatsRequest stats_request;
  v1::GetDailyStatsResponse stats;
  for (const char* date : {"2026-13-01", "2026-02-30", "20261123", "2026-11-23T00:00:00Z", "x"}) {
    stats_request.set_from_date(date);
    EXPECT_EQ(service.GetDailyStats(&context, &stats_request, &stats).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT)
        << date;
  }
  stats_request.set_from_date("2026-11-24");
  stats_request.set_to_date("2026-11-23");
  EXPECT_EQ(service.GetDailyStats(&context, &stats_request, &stats).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(BillingServiceValidationTest, UnreachableDatabaseIsUnavailable) {
  pg::Pool pool("host=127.0.0.1 port=1 connect_timeout=1", 1);
  LedgerStore store(pool, kKrw150, "UTC");
  FixedClock clock(kNow);
  BillingService service(store, clock);
  grpc::ServerContext context;

  v1::RecordTransactionEventResponse response;
  const auto request = Request(MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp1", "tx1", 0, kNow));
  const grpc::Status status = service.Record(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message().rfind("billing database unavailable: ", 0), 0u)
      << status.error_message();

  v1::GetSessionRequest get;
  get.set_transaction_id("tx1");
  v1::Session session;
  EXPECT_EQ(service.GetSession(&context, &get, &session).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

class BillingServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CSMS_REQUIRE_DATABASE(db_);
    pqxx::connection conn(db_.url());
    ApplyMigrations(conn);
    pool_ = std::make_unique<pg::Pool>(db_.url(), 2);
    store_ = std::make_unique<LedgerStore>(*pool_, kKrw150, "Asia/Seoul");
    service_ = std::make_unique<BillingService>(*store_, clock_);
  }

  v1::RecordTransactionEventResponse Record(const TransactionEvent& event) {
    v1::RecordTransactionEventResponse response;
    const auto request = Request(event);
    const grpc::Status status = service_->Record(request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  v1::GetDailyStatsResponse DailyStats(const std::string& charger, const std::string& from,
                                       const std::string& to, grpc::StatusCode expected = {}) {
    v1::GetDailyStatsRequest request;
    request.set_charger_id(charger);
    request.set_from_date(from);
    request.set_to_date(to);
    v1::GetDailyStatsResponse response;
    EXPECT_EQ(service_->GetDailyStats(&context_, &request, &response).error_code(), expected);
    return response;
  }

  csms::testing::TestDatabase db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<LedgerStore> store_;
  FixedClock clock_{kNow};
  std::unique_ptr<BillingService> service_;
  grpc::ServerContext context_;
};

TEST_F(BillingServiceTest, RecordReturnsTheSessionWithItsCost) {
  const auto events = SeedSession("emart_jeju_01", "abc12345", kNow);
  Record(events[0]);
  Record(events[1]);
  const auto ended = Record(events[2]);
  EXPECT_FALSE(ended.duplicate());
  const v1::Session& s = ended.session();
  EXPECT_EQ(s.transaction_id(), "abc12345");
  EXPECT_EQ(s.charger_id(), "emart_jeju_01");
  EXPECT_EQ(s.user_id(), "user_123");
  EXPECT_DOUBLE_EQ(s.energy_consumed_kwh(), 25.5);
  EXPECT_DOUBLE_EQ(s.cost(), 3825);
  EXPECT_EQ(s.currency(), "KRW");
  EXPECT_EQ(s.stop_reason(), "Local");
  EXPECT_TRUE(s.ended());
  EXPECT_TRUE(s.started_seen());
  EXPECT_EQ(s.event_count(), 3);
  EXPECT_EQ(FromProto(s.start_time()), kNow);
  EXPECT_EQ(FromProto(s.end_time()), kNow + std::chrono::minutes(30));
  ASSERT_TRUE(s.has_meter_start_wh() && s.has_meter_stop_wh());
  EXPECT_EQ(s.meter_start_wh(), 1000);
  EXPECT_EQ(s.meter_stop_wh(), 26'500);
  EXPECT_TRUE(s.has_updated_at());

  const auto again = Record(events[2]);
  EXPECT_TRUE(again.duplicate());
  EXPECT_DOUBLE_EQ(again.session().cost(), 3825);
  EXPECT_EQ(again.session().event_count(), 3);
}

TEST_F(BillingServiceTest, EventWithoutTimestampIsStampedWithReceivedAt) {
  auto event = MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp1", "tx1", 0, kNow);
  event.clear_timestamp();
  event.clear_received_at();
  const auto response = Record(event);
  EXPECT_EQ(FromProto(response.session().start_time()), kNow);
  EXPECT_FALSE(response.session().has_end_time());
  EXPECT_FALSE(response.session().has_meter_start_wh());
}

TEST_F(BillingServiceTest, SuspectClockIsFlaggedAndDatedByReceiveTime) {
  // No received_at from the gateway: the service stamps it with its own clock.
  auto started = MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp1", "tx1", 0,
                           kNow + std::chrono::hours(48), 1000);
  started.clear_received_at();
  const auto response = Record(started);
  EXPECT_TRUE(response.session().clock_suspect());
  EXPECT_EQ(FromProto(response.session().start_time()), kNow);

  auto ended = MakeEvent(TRANSACTION_EVENT_TYPE_ENDED, "cp1", "tx1", 3, kNow, 200);
  auto reset = MakeEvent(TRANSACTION_EVENT_TYPE_UPDATED, "cp1", "tx1", 1, kNow, 5000);
  Record(reset);
  const v1::Session& s = Record(ended).session();
  EXPECT_EQ(s.meter_resets(), 1);
  EXPECT_DOUBLE_EQ(s.energy_consumed_kwh(), 4);
  EXPECT_TRUE(s.clock_suspect());

  const auto fine = Record(MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp2", "tx2", 0, kNow));
  EXPECT_FALSE(fine.session().clock_suspect());
  EXPECT_EQ(fine.session().meter_resets(), 0);
}

TEST_F(BillingServiceTest, GetSession) {
  Record(MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp1", "tx1", 0, kNow, 500));
  v1::GetSessionRequest request;
  request.set_transaction_id("tx1");
  v1::Session session;
  ASSERT_TRUE(service_->GetSession(&context_, &request, &session).ok());
  EXPECT_EQ(session.charger_id(), "cp1");
  EXPECT_FALSE(session.ended());
  EXPECT_EQ(session.meter_start_wh(), 500);

  request.set_transaction_id("nope");
  const grpc::Status missing = service_->GetSession(&context_, &request, &session);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(missing.error_message().find("nope"), std::string::npos);

  request.clear_transaction_id();
  EXPECT_EQ(service_->GetSession(&context_, &request, &session).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// An SQL failure is INTERNAL for the caller without PostgreSQL's text (statement, relation and
// constraint names, stored values), which stays in billing's log.
TEST_F(BillingServiceTest, SqlErrorsReachTheCallerWithoutTheirText) {
  Record(MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp1", "tx1", 0, kNow, 500));
  {
    pqxx::connection conn(db_.url());
    pqxx::work txn(conn);
    txn.exec0("ALTER TABLE charger_usage_log RENAME TO charger_usage_log_moved");
    txn.commit();
  }
  v1::GetSessionRequest request;
  request.set_transaction_id("tx1");
  v1::Session session;
  ::testing::internal::CaptureStderr();
  const grpc::Status status = service_->GetSession(&context_, &request, &session);
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(status.error_message(), "billing database error");
  EXPECT_NE(log.find("GetSession: SQL error 42P01"), std::string::npos) << log;
  EXPECT_NE(log.find("charger_usage_log"), std::string::npos) << log;
  EXPECT_EQ(log.find('\n'), log.size() - 1) << "one line: " << log;
}

TEST_F(BillingServiceTest, ListSessionsFiltersAndOrdersNewestFirst) {
  for (int i = 0; i < 4; ++i) {
    Record(MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, i % 2 ? "odd" : "even",
                     "tx" + std::to_string(i), 0, kNow + std::chrono::minutes(i)));
  }
  v1::ListSessionsRequest request;
  v1::ListSessionsResponse all;
  ASSERT_TRUE(service_->ListSessions(&context_, &request, &all).ok());
  ASSERT_EQ(all.sessions_size(), 4);
  EXPECT_EQ(all.sessions(0).transaction_id(), "tx3");
  EXPECT_EQ(all.sessions(3).transaction_id(), "tx0");

  request.set_charger_id("even");
  request.set_limit(1);
  v1::ListSessionsResponse even;
  ASSERT_TRUE(service_->ListSessions(&context_, &request, &even).ok());
  ASSERT_EQ(even.sessions_size(), 1);
  EXPECT_EQ(even.sessions(0).transaction_id(), "tx2");
}

TEST_F(BillingServiceTest, DailyStatsDefaultToTodayInTheBillingTimeZone) {
  for (const auto& event : SeedSession("cp1", "tx1", kNow)) Record(event);
  for (const auto& event : SeedSession("cp2", "tx2", kNow)) Record(event);

  const auto today = DailyStats("", "", "");
  EXPECT_EQ(today.time_zone(), "Asia/Seoul");
  ASSERT_EQ(today.stats_size(), 2);
  EXPECT_EQ(today.stats(0).charger_id(), "cp1");
  EXPECT_EQ(today.stats(0).date(), "2026-11-24");
  EXPECT_EQ(today.stats(0).sessions(), 1);
  EXPECT_DOUBLE_EQ(today.stats(0).total_energy_kwh(), 25.5);
  EXPECT_DOUBLE_EQ(today.stats(0).total_revenue(), 3825);
  EXPECT_EQ(today.stats(0).currency(), "KRW");

  EXPECT_EQ(DailyStats("cp2", "2026-11-24", "").stats_size(), 1);
  EXPECT_EQ(DailyStats("cp2", "2026-11-01", "2026-11-30").stats_size(), 1);
  EXPECT_EQ(DailyStats("", "2026-11-23", "2026-11-23").stats_size(), 0);
  DailyStats("", "2026-11-25", "2026-11-24", grpc::StatusCode::INVALID_ARGUMENT);
}

// RecordTransactionEvents through a real gRPC server: one result per event, in order; a bad
// event fails alone; a duplicate inside the batch changes nothing twice. Events of one call are
// stored concurrently (a charger never has two in flight), so the final figures are checked on
// the session, not on each event's snapshot.
TEST_F(BillingServiceTest, RecordTransactionEventsAnswersEachEventInOrder) {
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(service_.get());
  auto server = builder.BuildAndStart();
  ASSERT_NE(port, 0);
  auto stub = v1::BillingService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  auto send = [&](const std::vector<TransactionEvent>& events) {
    v1::RecordTransactionEventsRequest request;
    for (const TransactionEvent& e : events) *request.add_events() = e;
    v1::RecordTransactionEventsResponse response;
    grpc::ClientContext context;
    const grpc::Status status = stub->RecordTransactionEvents(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  };

  const auto events = SeedSession("emart_jeju_02", "batch-1", kNow);
  ASSERT_EQ(send({events[0]}).results(0).code(), 0);
  TransactionEvent bad = events[1];
  bad.clear_charger_id();
  const auto response = send({bad, events[1], events[2], events[2]});
  ASSERT_EQ(response.results_size(), 4);
  EXPECT_EQ(response.results(0).code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(response.results(0).message().find("charger_id"), std::string::npos);
  EXPECT_FALSE(response.results(0).has_response());
  EXPECT_EQ(response.results(1).code(), 0);
  EXPECT_EQ(response.results(1).response().session().transaction_id(), "batch-1");
  EXPECT_EQ(response.results(2).code(), 0);
  EXPECT_EQ(response.results(3).code(), 0);
  // The same Ended twice in one call: stored once, and exactly one of the two says so.
  EXPECT_NE(response.results(2).response().duplicate(), response.results(3).response().duplicate());

  v1::GetSessionRequest get;
  get.set_transaction_id("batch-1");
  get.set_charger_id("emart_jeju_02");
  v1::Session session;
  ASSERT_TRUE(service_->GetSession(&context_, &get, &session).ok());
  EXPECT_TRUE(session.ended());
  EXPECT_EQ(session.event_count(), 3);
  EXPECT_DOUBLE_EQ(session.energy_consumed_kwh(), 25.5);
  EXPECT_DOUBLE_EQ(session.cost(), 3825);

  EXPECT_EQ(send({}).results_size(), 0);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
}

}  // namespace
}  // namespace csms::billing
