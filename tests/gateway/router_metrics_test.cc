// The router counts, times and logs every answer, whichever path produced it.
#include <gtest/gtest.h>

#include "../common/prom_text.h"
#include "csms/common/log.h"
#include "csms/common/metrics.h"
#include "csms/common/ocpp_frame.h"
#include "csms/gateway/call_router.h"
#include "fakes.h"

namespace csms::gateway {
namespace {

using nlohmann::json;
using testing::FakeBackend;
using testing::FakeClock;

TEST(SummarizeReplyTest, ReadsIdAndErrorCode) {
  const std::string ok_frame = ocpp::SerializeCallResult("abc-1", json::object());
  auto result = SummarizeReply(ok_frame);
  EXPECT_FALSE(result.is_error);
  EXPECT_EQ(result.message_id, "abc-1");
  const std::string error_frame = ocpp::SerializeCallError("id\"x", "FormatViolation", "bad");
  auto error = SummarizeReply(error_frame);
  EXPECT_TRUE(error.is_error);
  EXPECT_EQ(error.message_id, "id\\\"x");  // still JSON-escaped: it is a view into the frame
  EXPECT_EQ(error.error_code, "FormatViolation");
  EXPECT_FALSE(SummarizeReply("").is_error);
}

class RouterMetricsTest : public ::testing::Test {
 protected:
  RouterMetricsTest() : router_(backend_, clock_, RouterOptions{}) {
    station_ = std::make_shared<StationContext>();
    station_->charger_id = "CS-M";
    station_->connection_id = "c-1";
    station_->registration = Registration::kAccepted;
  }

  void Send(const std::string& id, const std::string& action, const json& payload) {
    auto parsed = ocpp::ParseFrame(ocpp::SerializeCall(id, action, payload));
    ASSERT_TRUE(std::holds_alternative<ocpp::Frame>(parsed));
    router_.Handle(station_, std::get<ocpp::Frame>(std::move(parsed)),
                   [this](std::string frame) { replies_.push_back(std::move(frame)); });
  }

  static csms::testing::PromText Scrape() {
    auto text = csms::testing::ParsePromText(metrics::Registry::Default().Render());
    EXPECT_TRUE(text.errors.empty()) << text.errors.front();
    return text;
  }

  FakeBackend backend_;
  FakeClock clock_;
  CallRouter router_;
  std::shared_ptr<StationContext> station_;
  std::vector<std::string> replies_;
};

TEST_F(RouterMetricsTest, CountsResultsErrorsAndTimesPerAction) {
  const auto before = Scrape();
  const auto count = [](const csms::testing::PromText& t, const std::string& action,
                        const std::string& result) {
    return t.Sum("csms_ocpp_messages_total", {{"action", action}, {"result", result}});
  };
  Send("1", "Heartbeat", json::object());
  Send("2", "Heartbeat", json::object());
  Send("3", "Heartbeat", json{{"unexpected", 1}});  // schema violation
  Send("4", "MakeCoffee", json::object());          // not OCPP
  ASSERT_EQ(replies_.size(), 4u);
  const auto after = Scrape();
  EXPECT_EQ(count(after, "Heartbeat", "CALLRESULT") - count(before, "Heartbeat", "CALLRESULT"), 2);
  EXPECT_EQ(count(after, "Heartbeat", "CALLERROR") - count(before, "Heartbeat", "CALLERROR"), 1);
  EXPECT_EQ(count(after, "unknown", "CALLERROR") - count(before, "unknown", "CALLERROR"), 1);
  EXPECT_EQ(after.Sum("csms_ocpp_call_errors_total",
                      {{"action", "unknown"}, {"code", "NotImplemented"}}) -
                before.Sum("csms_ocpp_call_errors_total",
                           {{"action", "unknown"}, {"code", "NotImplemented"}}),
            1);
  EXPECT_EQ(after.Sum("csms_ocpp_message_handling_seconds_count", {{"action", "Heartbeat"}}) -
                before.Sum("csms_ocpp_message_handling_seconds_count", {{"action", "Heartbeat"}}),
            3);
  // The action name a charger sends never becomes a label by itself.
  for (const auto& s : after.samples) {
    auto it = s.labels.find("action");
    if (it != s.labels.end()) EXPECT_NE(it->second, "MakeCoffee");
  }
}

TEST_F(RouterMetricsTest, AsyncAnswersAreTimedWhenTheyComplete) {
  const auto before = Scrape();
  Send("b1", "BootNotification",
       json{{"reason", "PowerUp"}, {"chargingStation", {{"model", "M"}, {"vendorName", "V"}}}});
  ASSERT_TRUE(replies_.empty());  // waiting for control
  auto mid = Scrape();
  EXPECT_EQ(mid.Sum("csms_ocpp_messages_total", {{"action", "BootNotification"}}),
            before.Sum("csms_ocpp_messages_total", {{"action", "BootNotification"}}));
  control::v1::BootNotificationResponse response;
  response.set_status("Accepted");
  response.set_interval_seconds(30);
  ASSERT_EQ(backend_.boot_done.size(), 1u);
  backend_.boot_done[0](grpc::Status::OK, response);
  ASSERT_EQ(replies_.size(), 1u);
  auto after = Scrape();
  EXPECT_EQ(after.Sum("csms_ocpp_messages_total",
                      {{"action", "BootNotification"}, {"result", "CALLRESULT"}}) -
                before.Sum("csms_ocpp_messages_total",
                           {{"action", "BootNotification"}, {"result", "CALLRESULT"}}),
            1);
}

TEST_F(RouterMetricsTest, CallErrorsAreLoggedWithChargerMessageAndAction) {
  ASSERT_TRUE(log::SetFormat("json"));
  ::testing::internal::CaptureStderr();
  Send("m-77", "Heartbeat", json{{"unexpected", 1}});
  const std::string out = ::testing::internal::GetCapturedStderr();
  log::SetFormat("text");
  auto line = json::parse(out.substr(0, out.find('\n')));
  EXPECT_EQ(line["charger_id"], "CS-M");
  EXPECT_EQ(line["message_id"], "m-77");
  EXPECT_EQ(line["action"], "Heartbeat");
  EXPECT_NE(line["message"].get<std::string>().find("CALLERROR"), std::string::npos);
}

}  // namespace
}  // namespace csms::gateway
