// B: BootNotification decided by control, Heartbeat answered here.
#include <gtest/gtest.h>

#include "router_fixture.h"

namespace csms::gateway {
namespace {

using nlohmann::json;
using ocpp::Frame;

// ---- BootNotification ----------------------------------------------------------------------

TEST_F(CallRouterTest, BootNotificationWaitsForBackendAndReturnsItsDecision) {
  station_->registration = Registration::kNotBooted;
  Send("b-1", "BootNotification", ValidBoot());
  ASSERT_EQ(backend_.boots.size(), 1u);
  EXPECT_TRUE(replies_.empty()) << "replied before control decided";
  const auto& request = backend_.boots[0];
  EXPECT_EQ(request.charger_id(), "CS001");
  EXPECT_EQ(request.connection_id(), "c-1");
  EXPECT_EQ(request.reason(), "PowerUp");
  EXPECT_EQ(request.vendor(), "V1");
  EXPECT_EQ(request.model(), "M1");
  EXPECT_EQ(request.serial_number(), "SN9");
  EXPECT_EQ(request.firmware_version(), "fw2");

  control::v1::BootNotificationResponse response;
  response.set_status("Accepted");
  response.set_interval_seconds(300);
  backend_.boot_done[0](grpc::Status::OK, response);
  EXPECT_EQ(ExpectResult("b-1"),
            (json{{"currentTime", kNow}, {"interval", 300}, {"status", "Accepted"}}));
  EXPECT_EQ(station_->registration.load(), Registration::kAccepted);
}

TEST_F(CallRouterTest, BootNotificationRejectedByControl) {
  station_->registration = Registration::kNotBooted;
  Send("b-2", "BootNotification", ValidBoot());
  control::v1::BootNotificationResponse response;
  response.set_status("Rejected");
  response.set_interval_seconds(600);
  backend_.boot_done.at(0)(grpc::Status::OK, response);
  json payload = ExpectResult("b-2");
  EXPECT_EQ(payload["status"], "Rejected");
  EXPECT_EQ(payload["interval"], 600);
  EXPECT_EQ(station_->registration.load(), Registration::kRejected);
}

TEST_F(CallRouterTest, BootNotificationWhenBackendFailsIsPending) {
  RouterOptions options;
  options.backend_down_retry_interval_s = 17;
  Reset(options);
  station_->registration = Registration::kNotBooted;
  Send("b-3", "BootNotification", ValidBoot());
  ASSERT_EQ(backend_.boot_done.size(), 1u);
  backend_.boot_done[0](grpc::Status(grpc::StatusCode::UNAVAILABLE, "control down"),
                        control::v1::BootNotificationResponse());
  EXPECT_EQ(ExpectResult("b-3"),
            (json{{"currentTime", kNow}, {"interval", 17}, {"status", "Pending"}}));
  EXPECT_EQ(station_->registration.load(), Registration::kPending);
}

TEST_F(CallRouterTest, InvalidBootNotificationNeverReachesBackend) {
  json payload = ValidBoot();
  payload["chargingStation"].erase("vendorName");
  Send("b-4", "BootNotification", payload);
  ExpectError("b-4", "OccurrenceConstraintViolation");
  EXPECT_TRUE(backend_.boots.empty());
}

TEST_F(CallRouterTest, ProfileThreeBootWithAnotherSerialNumberIsRefusedAndClosed) {
  station_->registration = Registration::kNotBooted;
  station_->certificate_cn = "SN-OTHER";  // ValidBoot() says SN9
  Send("b-5", "BootNotification", ValidBoot());
  ExpectError("b-5", "SecurityError");
  EXPECT_TRUE(backend_.boots.empty()) << "a mismatched boot must not be recorded";
  EXPECT_TRUE(station_->close_requested.load());
}

TEST_F(CallRouterTest, ProfileThreeBootWithTheCertificatesSerialNumberGoesAhead) {
  station_->registration = Registration::kNotBooted;
  station_->certificate_cn = "SN9";
  Send("b-6", "BootNotification", ValidBoot());
  ASSERT_EQ(backend_.boots.size(), 1u);
  EXPECT_FALSE(station_->close_requested.load());
  json payload = ValidBoot();
  payload["chargingStation"].erase("serialNumber");  // optional in OCPP: nothing to compare
  Send("b-7", "BootNotification", payload);
  EXPECT_EQ(backend_.boots.size(), 2u);
  EXPECT_FALSE(station_->close_requested.load());
}

}  // namespace
}  // namespace csms::gateway
