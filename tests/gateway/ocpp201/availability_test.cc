// G: StatusNotification reaches control as a connector status, marked for the status history.
#include <gtest/gtest.h>

#include "router_fixture.h"

namespace csms::gateway {
namespace {

using nlohmann::json;
using ocpp::Frame;

// ---- StatusNotification --------------------------------------------------------------------

TEST_F(CallRouterTest, StatusNotificationIsReportedAndAcknowledged) {
  Send("s-1", "StatusNotification", ValidStatus());
  EXPECT_EQ(ExpectResult("s-1"), json::object());
  ASSERT_EQ(backend_.statuses.size(), 1u);
  const auto& report = backend_.statuses[0];
  EXPECT_EQ(report.charger_id(), "CS001");
  EXPECT_EQ(report.connection_id(), "c-1");
  EXPECT_EQ(report.evse_id(), 1);
  EXPECT_EQ(report.connector_id(), 1);
  EXPECT_EQ(report.status(), "Available");
  EXPECT_EQ(FromProto(report.timestamp()), *ParseRfc3339("2026-11-24T09:00:00Z"));
  EXPECT_TRUE(report.from_status_notification());
}

TEST_F(CallRouterTest, InvalidStatusNotificationIsNotReported) {
  json payload = ValidStatus();
  payload["connectorStatus"] = "Charging";
  Send("s-2", "StatusNotification", payload);
  Frame f = ExpectError("s-2", "PropertyConstraintViolation");
  EXPECT_NE(f.error_description.find("StatusNotification"), std::string::npos);
  EXPECT_TRUE(backend_.statuses.empty());
}

}  // namespace
}  // namespace csms::gateway
