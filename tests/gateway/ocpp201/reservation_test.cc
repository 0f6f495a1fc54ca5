// H: reservations at the gateway. ReservationStatusUpdate is answered only once control stored
// it (InternalError otherwise, so the charger sends it again); a TransactionEvent's
// reservationId reaches control in the normalized event.
#include <gtest/gtest.h>

#include "csms/gateway/normalize.h"
#include "router_fixture.h"

namespace csms::gateway {
namespace {

using nlohmann::json;

TEST_F(CallRouterTest, ReservationStatusUpdateIsAnsweredOnceStored) {
  backend_.answer_reservation_statuses = false;
  Send("r-1", "ReservationStatusUpdate",
       json{{"reservationId", 17}, {"reservationUpdateStatus", "Expired"}});
  ASSERT_EQ(backend_.reservation_statuses.size(), 1u);
  const auto& request = backend_.reservation_statuses[0];
  EXPECT_EQ(request.charger_id(), "CS001");
  EXPECT_EQ(request.connection_id(), "c-1");
  EXPECT_EQ(request.reservation_id(), 17);
  EXPECT_EQ(request.status(), "Expired");
  EXPECT_TRUE(replies_.empty()) << "answered before control stored it";
  backend_.reservation_status_done.at(0)(grpc::Status::OK,
                                         control::v1::RecordReservationStatusResponse());
  EXPECT_EQ(ExpectResult("r-1"), json::object());
}

TEST_F(CallRouterTest, ReservationStatusUpdateNotStoredIsInternalError) {
  backend_.answer_reservation_statuses = false;
  Send("r-2", "ReservationStatusUpdate",
       json{{"reservationId", 18}, {"reservationUpdateStatus", "Removed"}});
  ASSERT_EQ(backend_.reservation_statuses.size(), 1u);
  EXPECT_EQ(backend_.reservation_statuses[0].status(), "Removed");
  backend_.reservation_status_done.at(0)(grpc::Status(grpc::StatusCode::UNAVAILABLE, "db down"),
                                         control::v1::RecordReservationStatusResponse());
  ExpectError("r-2", "InternalError");
}

TEST_F(CallRouterTest, ReservationStatusUpdateWithAnUnknownStatusIsRefusedBeforeControl) {
  Send("r-3", "ReservationStatusUpdate",
       json{{"reservationId", 19}, {"reservationUpdateStatus", "Gone"}});
  EXPECT_TRUE(backend_.reservation_statuses.empty());
  EXPECT_EQ(ExpectError("r-3", "PropertyConstraintViolation").message_id, "r-3");
}

TEST(NormalizeReservation, TheReservationIdOfAStartedReachesTheEvent) {
  json started = json::parse(R"({
    "eventType": "Started", "timestamp": "2026-11-24T09:10:00Z", "triggerReason": "Authorized",
    "seqNo": 0, "transactionInfo": {"transactionId": "tx-r1"}, "reservationId": 42,
    "evse": {"id": 1, "connectorId": 1}})");
  auto event = NormalizeTransactionEvent(started, "CS001", "c-1", testing::FixedTime(), true);
  ASSERT_TRUE(event.has_reservation_id());
  EXPECT_EQ(event.reservation_id(), 42);
  started.erase("reservationId");
  EXPECT_FALSE(NormalizeTransactionEvent(started, "CS001", "c-1", testing::FixedTime(), true)
                   .has_reservation_id());
}

}  // namespace
}  // namespace csms::gateway
