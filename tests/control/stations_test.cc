// Stations: the store and the gRPC API against a real PostgreSQL.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "csms/common/pg.h"
#include "csms/common/time_util.h"
#include "csms/control/charger_link_client.h"
#include "csms/control/control_service.h"
#include "csms/control/stores.h"
#include "csms/control/waiter.h"
#include "pg_test_db.h"

namespace csms::control {
namespace {

using namespace std::chrono_literals;
namespace v1 = csms::control::v1;
using ::testing::ElementsAre;

class StationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CSMS_REQUIRE_DATABASE(db_);
    {
      pqxx::connection conn(db_.url());
      pg::ApplyMigrations(conn, "control", ControlMigrations());
    }
    pool_ = std::make_unique<pg::Pool>(db_.url(), 4);
    stores_ = std::make_unique<ControlStores>(*pool_);
    service_ = std::make_unique<ControlServiceImpl>(*stores_, link_, waiter_, 2s);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_TRUE(server_);
    stub_ = v1::ControlService::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                                            grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + 1s);
  }

  static StationRecord Jeju(std::vector<std::string> chargers = {}) {
    return {"emart_jeju_main", "emart Jeju", "Jeju City", 33.4996, 126.5312, std::move(chargers)};
  }

  grpc::Status Create(const v1::Station& station, v1::Station* out) {
    v1::CreateStationRequest request;
    *request.mutable_station() = station;
    grpc::ClientContext context;
    return stub_->CreateStation(&context, request, out);
  }

  static v1::Station StationProto(const std::string& id, double lat, double lon,
                                  std::vector<std::string> chargers = {}) {
    v1::Station s;
    s.set_station_id(id);
    s.set_name("Station " + id);
    s.set_address("Somewhere 1");
    s.set_latitude(lat);
    s.set_longitude(lon);
    for (const auto& c : chargers) s.add_charger_ids(c);
    return s;
  }

  testing::TestDatabase db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<ControlStores> stores_;
  ChargerLinkClient link_;
  EventWaiter waiter_;
  std::unique_ptr<ControlServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::ControlService::Stub> stub_;
};

TEST_F(StationsTest, StoreCreatesListsUpdatesAndDeletes) {
  StationRecord created = stores_->stations.Create(Jeju({"emart_jeju_02", "emart_jeju_01"}));
  EXPECT_EQ(created.name, "emart Jeju");
  EXPECT_THAT(created.charger_ids, ElementsAre("emart_jeju_01", "emart_jeju_02"));

  StationChanges changes;
  changes.name = "emart Jeju (Sinjeju)";
  changes.latitude = 33.48;
  changes.charger_ids = std::vector<std::string>{"emart_jeju_02", "emart_jeju_03"};
  StationRecord updated = stores_->stations.Update("emart_jeju_main", changes);
  EXPECT_EQ(updated.name, "emart Jeju (Sinjeju)");
  EXPECT_EQ(updated.address, "Jeju City");  // unset fields stay
  EXPECT_DOUBLE_EQ(updated.latitude, 33.48);
  EXPECT_DOUBLE_EQ(updated.longitude, 126.5312);
  EXPECT_THAT(updated.charger_ids, ElementsAre("emart_jeju_02", "emart_jeju_03"));

  auto all = stores_->stations.List();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_THAT(all[0].charger_ids, ElementsAre("emart_jeju_02", "emart_jeju_03"));

  EXPECT_TRUE(stores_->stations.Delete("emart_jeju_main"));
  EXPECT_FALSE(stores_->stations.Delete("emart_jeju_main"));
  EXPECT_TRUE(stores_->stations.List().empty());
  // Its chargers are free again.
  EXPECT_EQ(stores_->stations.AssignCharger("emart_jeju_02", ""), "");
}

TEST_F(StationsTest, StoreRefusesDuplicatesAndTakenChargers) {
  stores_->stations.Create(Jeju({"emart_jeju_01"}));
  try {
    stores_->stations.Create(Jeju());
    ADD_FAILURE() << "a second station with the same id was stored";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind, StoreError::Kind::kConflict);
  }
  StationRecord other{"other", "Other", "", 33.5, 126.6, {"emart_jeju_01"}};
  try {
    stores_->stations.Create(other);
    ADD_FAILURE() << "a charger was placed at two stations";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind, StoreError::Kind::kConflict);
  }
  // The refused create left nothing behind.
  EXPECT_EQ(stores_->stations.List().size(), 1u);
  try {
    stores_->stations.Update("missing", StationChanges{});
    ADD_FAILURE() << "an unknown station was updated";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind, StoreError::Kind::kNotFound);
  }
}

TEST_F(StationsTest, AssignMovesAChargerAndShowsOnTheCharger) {
  stores_->stations.Create(Jeju({"emart_jeju_01"}));
  stores_->stations.Create({"airport", "Jeju Airport", "", 33.5104, 126.4914, {}});
  stores_->registry.MarkConnected("emart_jeju_01", "conn-1", "127.0.0.1:1", RealClock().Now());

  EXPECT_EQ(stores_->registry.FindCharger("emart_jeju_01")->station_id, "emart_jeju_main");
  EXPECT_EQ(stores_->stations.AssignCharger("emart_jeju_01", "airport"), "emart_jeju_main");
  EXPECT_EQ(stores_->registry.FindCharger("emart_jeju_01")->station_id, "airport");
  EXPECT_EQ(stores_->registry.ListChargers().at(0).station_id, "airport");
  EXPECT_TRUE(stores_->stations.Find("emart_jeju_main")->charger_ids.empty());
  EXPECT_EQ(stores_->stations.AssignCharger("emart_jeju_01", ""), "airport");
  EXPECT_EQ(stores_->registry.FindCharger("emart_jeju_01")->station_id, "");
  try {
    stores_->stations.AssignCharger("emart_jeju_01", "nowhere");
    ADD_FAILURE() << "assigned to an unknown station";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind, StoreError::Kind::kNotFound);
  }
}

TEST_F(StationsTest, GrpcRoundTripAndStatusCodes) {
  v1::Station created;
  ASSERT_TRUE(Create(StationProto("a", 33.5, 126.5, {"c2", "c1", "c1"}), &created).ok());
  EXPECT_EQ(created.station_id(), "a");
  EXPECT_THAT(std::vector<std::string>(created.charger_ids().begin(), created.charger_ids().end()),
              ElementsAre("c1", "c2"));  // sorted, duplicates dropped

  v1::Station ignored;
  EXPECT_EQ(Create(StationProto("a", 33.5, 126.5), &ignored).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(Create(StationProto("b", 33.5, 126.5, {"c1"}), &ignored).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(Create(StationProto("b", 91, 126.5), &ignored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Create(StationProto("b", 33.5, -180.5), &ignored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Create(StationProto("", 33.5, 126.5), &ignored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Create(StationProto(std::string(65, 'x'), 33.5, 126.5), &ignored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::Station nameless = StationProto("b", 33.5, 126.5);
  nameless.set_name("");
  EXPECT_EQ(Create(nameless, &ignored).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  {
    v1::UpdateStationRequest update;
    update.set_station_id("a");
    update.set_longitude(126.55);
    update.set_replace_charger_ids(true);
    update.add_charger_ids("c3");
    v1::Station updated;
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->UpdateStation(&context, update, &updated).ok());
    EXPECT_DOUBLE_EQ(updated.longitude(), 126.55);
    EXPECT_DOUBLE_EQ(updated.latitude(), 33.5);
    EXPECT_EQ(updated.name(), "Station a");
    ASSERT_EQ(updated.charger_ids_size(), 1);
    EXPECT_EQ(updated.charger_ids(0), "c3");
  }
  {
    v1::UpdateStationRequest update;
    update.set_station_id("missing");
    update.set_name("x");
    v1::Station out;
    grpc::ClientContext context;
    EXPECT_EQ(stub_->UpdateStation(&context, update, &out).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  {
    v1::AssignChargerRequest assign;
    assign.set_charger_id("c1");
    assign.set_station_id("a");
    v1::AssignChargerResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->AssignCharger(&context, assign, &response).ok());
    EXPECT_EQ(response.previous_station_id(), "");
  }
  {
    v1::ListStationsResponse list;
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->ListStations(&context, {}, &list).ok());
    ASSERT_EQ(list.stations_size(), 1);
    EXPECT_EQ(list.stations(0).charger_ids_size(), 2);  // c1, c3
  }
  {
    v1::DeleteStationRequest del;
    del.set_station_id("a");
    v1::DeleteStationResponse out;
    grpc::ClientContext context;
    EXPECT_TRUE(stub_->DeleteStation(&context, del, &out).ok());
    grpc::ClientContext again;
    EXPECT_EQ(stub_->DeleteStation(&again, del, &out).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    v1::GetStationRequest get;
    get.set_station_id("a");
    v1::Station out;
    grpc::ClientContext context;
    EXPECT_EQ(stub_->GetStation(&context, get, &out).error_code(), grpc::StatusCode::NOT_FOUND);
  }
}

TEST_F(StationsTest, MigrationsApplyTwice) {
  pqxx::connection conn(db_.url());
  EXPECT_EQ(pg::ApplyMigrations(conn, "control", ControlMigrations()), 0);
}

}  // namespace
}  // namespace csms::control
