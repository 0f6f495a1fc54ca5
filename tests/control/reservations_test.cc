// Reservations (issue 14, OCPP H01-H04): the state machine and request checks as case tables
// (pure), and the store against a real PostgreSQL (ids from the int32 sequence, the charger's
// answer, cancellation, ReservationStatusUpdate, the CSMS's expiry sweep, use by a
// TransactionEvent inside the registry batch's transaction, paging with filters, known EVSEs).
#include <gtest/gtest.h>

#include <chrono>
#include <pqxx/pqxx>

#include "csms/common/pg_sql.h"
#include "csms/control/migrations.h"
#include "csms/control/reservation_service.h"
#include "csms/control/reservation_store.h"
#include "pg_test_db.h"

namespace csms::control {
namespace {

using csms::testing::TestDatabase;
using std::chrono::hours;
using std::chrono::seconds;

TEST(ReservationRules, StateMachineCaseTable) {
  struct Case {
    const char* state;
    const char* update;
    const char* next;
  };
  const Case updates[] = {
      {"requested", "Expired", "expired"}, {"active", "Expired", "expired"},
      {"active", "Removed", "removed"},    {"failed", "Removed", "removed"},
      {"used", "Expired", "used"},         {"cancelled", "Removed", "cancelled"},
      {"expired", "Removed", "expired"},   {"rejected", "Expired", "rejected"},
      {"active", "Whatever", "active"},
  };
  for (const auto& c : updates) {
    EXPECT_EQ(StateAfterStatusUpdate(c.state, c.update), c.next) << c.state << " + " << c.update;
  }
  EXPECT_EQ(StateAfterReserveAnswer("Accepted"), "active");
  for (const char* refusal : {"Faulted", "Occupied", "Rejected", "Unavailable"}) {
    EXPECT_EQ(StateAfterReserveAnswer(refusal), "rejected") << refusal;
  }
  for (const char* open : {"requested", "active", "failed"}) EXPECT_TRUE(IsOpenReservation(open));
  for (const char* closed : {"rejected", "cancelled", "expired", "removed", "used"}) {
    EXPECT_FALSE(IsOpenReservation(closed)) << closed;
    EXPECT_FALSE(IsActiveReservation(closed)) << closed;
  }
  EXPECT_FALSE(IsActiveReservation("failed"));
}

TEST(ReservationRules, ValidationCaseTable) {
  const TimePoint now = RealClock().Now();
  struct Case {
    const char* name;
    std::function<void(v1::CreateReservationRequest&)> change;
    const char* error_part;  // "": valid
  };
  const Case cases[] = {
      {"defaults", [](auto&) {}, ""},
      {"any EVSE", [](auto& r) { r.clear_evse_id(); }, ""},
      {"EVSE 0", [](auto& r) { r.set_evse_id(0); }, "evse_id"},
      {"36 characters", [](auto& r) { r.set_id_token(std::string(36, 'A')); }, ""},
      {"37 characters", [](auto& r) { r.set_id_token(std::string(37, 'A')); }, "over 36"},
      {"empty id token", [](auto& r) { r.set_id_token(""); }, "id_token"},
      {"unknown type", [](auto& r) { r.set_token_type("RFID"); }, "token_type 'RFID'"},
      {"group",
       [](auto& r) {
         r.mutable_group()->set_id_token("FLEET");
         r.mutable_group()->set_type("Central");
       },
       ""},
      {"group of unknown type",
       [](auto& r) {
         r.mutable_group()->set_id_token("FLEET");
         r.mutable_group()->set_type("Fleet");
       },
       "group type"},
      {"group id over 36",
       [](auto& r) {
         r.mutable_group()->set_id_token(std::string(37, 'g'));
         r.mutable_group()->set_type("Central");
       },
       "over 36"},
      {"no expiry", [](auto& r) { r.clear_expires_at(); }, "expires_at is required"},
      {"expiry in the past",
       [now](auto& r) { *r.mutable_expires_at() = ToProto(now - seconds(1)); }, "in the future"},
  };
  for (const auto& c : cases) {
    v1::CreateReservationRequest r;
    r.set_charger_id("CS1");
    r.set_evse_id(1);
    r.set_id_token("04A2B3C4");
    r.set_token_type("ISO14443");
    *r.mutable_expires_at() = ToProto(now + hours(1));
    c.change(r);
    const std::string error = ValidateReservation(r, now);
    if (std::string(c.error_part).empty()) {
      EXPECT_EQ(error, "") << c.name;
    } else {
      EXPECT_NE(error.find(c.error_part), std::string::npos) << c.name << ": " << error;
    }
  }
}

class ReservationStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CSMS_REQUIRE_DATABASE(db_);
    {
      pqxx::connection conn(db_.url());
      pg::ApplyMigrations(conn, "control", ControlMigrations());
    }
    pool_ = std::make_unique<pg::Pool>(db_.url(), 2);
    store_ = std::make_unique<ReservationStore>(*pool_);
  }

  void Exec(const std::string& sql) {
    pqxx::connection conn(db_.url());
    pqxx::work txn(conn);
    txn.exec0(sql);
    txn.commit();
  }

  v1::Reservation Make(const std::string& charger, std::optional<int32_t> evse,
                       TimePoint expires = RealClock().Now() + hours(1)) {
    NewReservation r;
    r.charger_id = charger;
    r.evse_id = evse;
    r.id_token = "04A2B3C4";
    r.token_type = "ISO14443";
    r.expires_at = expires;
    r.requested_by = "ops-key";
    return store_->Create(r);
  }

  void Use(const std::vector<ReservationUse>& uses) {
    pqxx::connection conn(db_.url());
    pqxx::work txn(conn);
    ReservationStore::ApplyUses(txn, uses);
    txn.commit();
  }

  TestDatabase db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<ReservationStore> store_;
};

TEST_F(ReservationStoreTest, CreateAllocatesIdsAndKeepsTheChargersAnswer) {
  NewReservation r;
  r.charger_id = "CS1";
  r.id_token = "tok";
  r.token_type = "Local";
  r.group_id_token = "FLEET";
  r.group_type = "Central";
  r.expires_at = RealClock().Now() + hours(2);
  const v1::Reservation first = store_->Create(r);
  EXPECT_GT(first.reservation_id(), 0);
  EXPECT_EQ(first.state(), "requested");
  EXPECT_FALSE(first.has_evse_id());  // any EVSE
  EXPECT_EQ(first.group().id_token(), "FLEET");
  EXPECT_EQ(first.status(), "");
  const v1::Reservation second = Make("CS1", 2);
  EXPECT_GT(second.reservation_id(), first.reservation_id());
  EXPECT_EQ(second.evse_id(), 2);

  const v1::Reservation accepted = store_->Answered(first.reservation_id(), "Accepted");
  EXPECT_EQ(accepted.state(), "active");
  EXPECT_EQ(accepted.status(), "Accepted");
  EXPECT_FALSE(accepted.has_ended_at());
  const v1::Reservation occupied = store_->Answered(second.reservation_id(), "Occupied");
  EXPECT_EQ(occupied.state(), "rejected");
  EXPECT_EQ(occupied.status(), "Occupied");
  EXPECT_TRUE(occupied.has_ended_at());

  const v1::Reservation third = Make("CS1", 1);
  const v1::Reservation failed = store_->CallFailed(third.reservation_id(), "timeout");
  EXPECT_EQ(failed.state(), "failed");
  EXPECT_EQ(failed.detail(), "timeout");

  // The id is an OCPP integer: the sequence stays within 32 bits.
  pqxx::connection conn(db_.url());
  pqxx::nontransaction txn(conn);
  EXPECT_EQ(txn.exec1("SELECT data_type FROM information_schema.sequences"
                      " WHERE sequence_name = 'reservation_id_seq'")[0]
                .as<std::string>(),
            "integer");
}

TEST_F(ReservationStoreTest, CancelAndStatusUpdatesEndOpenReservationsOnly) {
  const auto a = Make("CS1", 1);
  store_->Answered(a.reservation_id(), "Accepted");
  EXPECT_EQ(store_->Cancelled(a.reservation_id(), "ops-key").state(), "cancelled");
  // An Expired after the cancellation is tolerated and changes nothing.
  auto late = store_->ApplyStatusUpdate("CS1", a.reservation_id(), "Expired");
  ASSERT_TRUE(late);
  EXPECT_EQ(late->state(), "cancelled");

  const auto b = Make("CS1", 1);
  store_->Answered(b.reservation_id(), "Accepted");
  auto expired = store_->ApplyStatusUpdate("CS1", b.reservation_id(), "Expired");
  ASSERT_TRUE(expired);
  EXPECT_EQ(expired->state(), "expired");
  EXPECT_NE(expired->detail().find("the charger reported Expired"), std::string::npos);
  EXPECT_TRUE(expired->has_ended_at());

  const auto c = Make("CS1", 1);
  EXPECT_EQ(store_->ApplyStatusUpdate("CS1", c.reservation_id(), "Removed")->state(), "removed");
  // Another charger's id is not this charger's reservation.
  EXPECT_FALSE(store_->ApplyStatusUpdate("CS2", c.reservation_id(), "Expired"));
  EXPECT_FALSE(store_->ApplyStatusUpdate("CS1", 999999, "Expired"));
  EXPECT_FALSE(store_->Get("CS2", c.reservation_id()));
  EXPECT_EQ(store_->Get("CS1", c.reservation_id())->state(), "removed");
}

TEST_F(ReservationStoreTest, TheSweepExpiresOpenReservationsPastTheirExpiry) {
  const auto due = Make("CS1", 1, RealClock().Now() + seconds(1));
  store_->Answered(due.reservation_id(), "Accepted");
  const auto later = Make("CS1", 1);
  store_->Answered(later.reservation_id(), "Accepted");
  const auto refused = Make("CS1", 1, RealClock().Now() + seconds(1));
  store_->Answered(refused.reservation_id(), "Occupied");
  EXPECT_EQ(store_->ExpireDue(), 0);
  Exec(
      "UPDATE reservations SET expires_at = now() - interval '1 second' WHERE reservation_id IN (" +
      std::to_string(due.reservation_id()) + ", " + std::to_string(refused.reservation_id()) + ")");
  EXPECT_EQ(store_->ExpireDue(), 1);
  EXPECT_EQ(store_->ExpireDue(), 0);
  auto swept = store_->Get("CS1", due.reservation_id());
  EXPECT_EQ(swept->state(), "expired");
  EXPECT_NE(swept->detail().find("released by the CSMS"), std::string::npos);
  EXPECT_EQ(store_->Get("CS1", refused.reservation_id())->state(), "rejected");
  EXPECT_EQ(store_->Get("CS1", later.reservation_id())->state(), "active");
}

TEST_F(ReservationStoreTest, ATransactionEventUsesItsReservationOnce) {
  const auto a = Make("CS1", 1);
  store_->Answered(a.reservation_id(), "Accepted");
  const auto b = Make("CS1", 2);
  store_->Answered(b.reservation_id(), "Accepted");
  Exec("UPDATE reservations SET state = 'expired' WHERE reservation_id = " +
       std::to_string(b.reservation_id()));
  const auto c = Make("CS1", 1);
  store_->Cancelled(c.reservation_id(), "k");

  Use({{"CS1", a.reservation_id(), "tx-1"},
       {"CS1", a.reservation_id(), "tx-2"},  // the first use wins
       {"CS1", b.reservation_id(), "tx-3"},  // swept a moment too early: used all the same
       {"CS1", c.reservation_id(), "tx-4"},  // cancelled: stays so
       {"CS2", a.reservation_id(), "tx-5"},  // not that charger's
       {"CS1", 999999, "tx-6"}});
  auto used = store_->Get("CS1", a.reservation_id());
  EXPECT_EQ(used->state(), "used");
  EXPECT_EQ(used->transaction_id(), "tx-1");
  EXPECT_EQ(store_->Get("CS1", b.reservation_id())->transaction_id(), "tx-3");
  EXPECT_EQ(store_->Get("CS1", c.reservation_id())->state(), "cancelled");
  Use({{"CS1", a.reservation_id(), "tx-7"}});  // a repeated event changes nothing
  EXPECT_EQ(store_->Get("CS1", a.reservation_id())->transaction_id(), "tx-1");
  Use({});
}

TEST_F(ReservationStoreTest, ListsPageNewestFirstWithFilters) {
  std::vector<int32_t> cs1;
  for (int i = 0; i < 5; ++i) {
    auto r = Make("CS1", 1);
    store_->Answered(r.reservation_id(), i == 2 ? "Rejected" : "Accepted");
    cs1.push_back(r.reservation_id());
  }
  Make("CS2", 1);
  // Past its expiry but not swept yet: not active.
  Exec("UPDATE reservations SET expires_at = now() - interval '1 second' WHERE reservation_id = " +
       std::to_string(cs1[4]));

  std::vector<int32_t> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto page = store_->List("CS1", std::nullopt, 2, cursor);
    for (const auto& r : page.reservations) seen.push_back(r.reservation_id());
    cursor = page.next_cursor;
    ++pages;
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(seen, (std::vector<int32_t>{cs1[4], cs1[3], cs1[2], cs1[1], cs1[0]}));
  EXPECT_EQ(pages, 3);

  auto active = store_->List("CS1", true, 50, "");
  std::vector<int32_t> active_ids;
  for (const auto& r : active.reservations) active_ids.push_back(r.reservation_id());
  EXPECT_EQ(active_ids, (std::vector<int32_t>{cs1[3], cs1[1], cs1[0]}));
  EXPECT_EQ(store_->List("CS1", false, 50, "").reservations.size(), 2u);
  EXPECT_EQ(store_->List("", std::nullopt, 50, "").reservations.size(), 6u);
  EXPECT_THROW(store_->List("CS1", std::nullopt, 2, "nonsense"), std::invalid_argument);
}

TEST_F(ReservationStoreTest, KnownEvsesComeFromStatusNotificationsAndTheDeviceModel) {
  EXPECT_TRUE(store_->KnownEvses("CS1").empty());
  Exec(
      "INSERT INTO connectors (charger_id, evse_id, connector_id, status, status_time) VALUES"
      " ('CS1', 1, 1, 'Available', now()), ('CS1', 1, 2, 'Available', now()),"
      " ('CS1', 0, 0, 'Available', now()), ('CS2', 7, 1, 'Available', now())");
  Exec(
      "INSERT INTO device_variables (charger_id, variable_key, component, evse_id, variable)"
      " VALUES ('CS1', 'evse|3|available', 'EVSE', 3, 'Available'),"
      " ('CS1', 'ocppcommctrlr|x', 'OCPPCommCtrlr', NULL, 'X')");
  EXPECT_EQ(store_->KnownEvses("CS1"), (std::set<int32_t>{1, 3}));
  EXPECT_EQ(store_->KnownEvses("CS2"), (std::set<int32_t>{7}));
}

}  // namespace
}  // namespace csms::control
