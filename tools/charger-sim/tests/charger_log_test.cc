// GetLog (N01): the answer, the LogStatusNotifications and the upload attempts the charger hands
// to the transport (the transport's part is faked here: TakeLogUpload / OnLogUploadDone).
#include <gtest/gtest.h>

#include <string>

#include "charger_fixture.h"

namespace csms::sim {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using test_support::ChargerTest;

json GetLog(int request_id, const std::string& location, std::optional<int> retries = std::nullopt,
            std::optional<int> retry_interval = std::nullopt) {
  json request = {{"logType", "DiagnosticsLog"},
                  {"requestId", request_id},
                  {"log", {{"remoteLocation", location}}}};
  if (retries) request["retries"] = *retries;
  if (retry_interval) request["retryInterval"] = *retry_interval;
  return request;
}

constexpr const char* kUrl = "http://127.0.0.1:18080/log-uploads/tok";

class LogTest : public ChargerTest {
 protected:
  // The next LogStatusNotification: its status, and its requestId checked; answered.
  std::string NextLogStatus(int request_id) {
    json call = NextCall("LogStatusNotification");
    EXPECT_EQ(call[3]["requestId"], request_id) << call.dump();
    Answer(call, json::object());
    return call[3].value("status", "");
  }
};

TEST_F(LogTest, AcceptsUploadsAndReportsUploaded) {
  Make();
  BootAccepted();
  json reply = ServerCall("GetLog", GetLog(5, kUrl));
  EXPECT_EQ(reply[2], json({{"status", "Accepted"}, {"filename", "emart_jeju_01-5.log"}}));
  EXPECT_TRUE(charger_->log_upload_active());
  EXPECT_EQ(NextLogStatus(5), "Uploading");

  auto attempt = charger_->TakeLogUpload();
  ASSERT_TRUE(attempt);
  EXPECT_FALSE(charger_->TakeLogUpload()) << "handed out once";
  EXPECT_EQ(attempt->request_id, 5);
  EXPECT_EQ(attempt->log_type, "DiagnosticsLog");
  EXPECT_EQ(attempt->remote_location, kUrl);
  EXPECT_EQ(attempt->filename, "emart_jeju_01-5.log");
  EXPECT_EQ(attempt->attempt, 1);
  EXPECT_EQ(attempt->max_attempts, 1);
  Advance(10s);
  EXPECT_TRUE(NothingSent()) << "nothing before the upload's answer";

  charger_->OnLogUploadDone(5, 201, "");
  EXPECT_EQ(NextLogStatus(5), "Uploaded");
  EXPECT_FALSE(charger_->log_upload_active());
  EXPECT_FALSE(charger_->TakeLogUpload());
  Advance(5s);
  EXPECT_TRUE(NothingSent());
}

TEST_F(LogTest, TheUploadDoesNotWaitForTheUploadingAnswer) {
  Make();
  BootAccepted();
  EXPECT_EQ(ServerCall("GetLog", GetLog(6, kUrl))[2]["status"], "Accepted");
  ASSERT_TRUE(charger_->TakeLogUpload());
  charger_->OnLogUploadDone(6, 200, "");
  // Uploading went first, Uploaded waits behind it (one CALL in flight).
  EXPECT_EQ(NextLogStatus(6), "Uploading");
  EXPECT_EQ(NextLogStatus(6), "Uploaded");
}

TEST_F(LogTest, ASecurityLogIsHandedOnAsSuch) {
  Make();
  BootAccepted();
  json request = GetLog(8, kUrl);
  request["logType"] = "SecurityLog";
  request["log"]["oldestTimestamp"] = "2026-02-01T00:00:00Z";
  request["log"]["latestTimestamp"] = "2026-03-01T00:00:00Z";
  EXPECT_EQ(ServerCall("GetLog", request)[2]["status"], "Accepted");
  auto attempt = charger_->TakeLogUpload();
  ASSERT_TRUE(attempt);
  EXPECT_EQ(attempt->log_type, "SecurityLog");
}

TEST_F(LogTest, ARefusedUploadEndsInUploadFailureWithoutRetrying) {
  for (int status : {413, 404, 403, 400}) {
    SCOPED_TRACE(status);
    Make();
    BootAccepted();
    EXPECT_EQ(ServerCall("GetLog", GetLog(9, kUrl, 3, 1))[2]["status"], "Accepted");
    EXPECT_EQ(NextLogStatus(9), "Uploading");
    ASSERT_TRUE(charger_->TakeLogUpload());
    charger_->OnLogUploadDone(9, status, "too large");
    EXPECT_EQ(NextLogStatus(9), "UploadFailure");
    EXPECT_FALSE(charger_->log_upload_active());
    Advance(5s);
    EXPECT_FALSE(charger_->TakeLogUpload());
  }
}

TEST_F(LogTest, RetriesAfterConnectionErrorsAndServerErrors) {
  Make();
  BootAccepted();
  EXPECT_EQ(ServerCall("GetLog", GetLog(10, kUrl, 2, 1))[2]["status"], "Accepted");
  EXPECT_EQ(NextLogStatus(10), "Uploading");
  auto first = charger_->TakeLogUpload();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->max_attempts, 3);
  charger_->OnLogUploadDone(10, 0, "connect: Connection refused");
  EXPECT_TRUE(NothingSent()) << "no UploadFailure while retries are left";
  EXPECT_FALSE(charger_->TakeLogUpload()) << "not before retryInterval";
  Advance(999ms);
  EXPECT_FALSE(charger_->TakeLogUpload());
  Advance(1ms);
  auto second = charger_->TakeLogUpload();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->attempt, 2);
  charger_->OnLogUploadDone(10, 503, "busy");
  Advance(1s);
  auto third = charger_->TakeLogUpload();
  ASSERT_TRUE(third);
  EXPECT_EQ(third->attempt, 3);
  charger_->OnLogUploadDone(10, 201, "");
  EXPECT_EQ(NextLogStatus(10), "Uploaded");
}

TEST_F(LogTest, GivesUpAfterTheLastRetry) {
  Make();
  BootAccepted();
  EXPECT_EQ(ServerCall("GetLog", GetLog(11, kUrl, 1, 0))[2]["status"], "Accepted");
  EXPECT_EQ(NextLogStatus(11), "Uploading");
  ASSERT_TRUE(charger_->TakeLogUpload());
  charger_->OnLogUploadDone(11, 500, "");
  auto retry = charger_->TakeLogUpload();  // retryInterval 0: at once
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->attempt, 2);
  charger_->OnLogUploadDone(11, 0, "timeout");
  EXPECT_EQ(NextLogStatus(11), "UploadFailure");
  EXPECT_FALSE(charger_->TakeLogUpload());
}

TEST_F(LogTest, CapsTheRetryWaitAndTheRetries) {
  Make();
  BootAccepted();
  EXPECT_EQ(ServerCall("GetLog", GetLog(12, kUrl, 1000, 3600))[2]["status"], "Accepted");
  auto first = charger_->TakeLogUpload();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->max_attempts, 11);
  charger_->OnLogUploadDone(12, 0, "refused");
  Advance(1999ms);
  EXPECT_FALSE(charger_->TakeLogUpload());
  Advance(1ms);
  EXPECT_TRUE(charger_->TakeLogUpload()) << "2 s at most, whatever retryInterval says";

  // No retryInterval: 2 s. No retries: one attempt.
  Make();
  BootAccepted();
  EXPECT_EQ(ServerCall("GetLog", GetLog(13, kUrl, -4))[2]["status"], "Accepted");
  EXPECT_EQ(NextLogStatus(13), "Uploading");
  auto only = charger_->TakeLogUpload();
  ASSERT_TRUE(only);
  EXPECT_EQ(only->max_attempts, 1);
  charger_->OnLogUploadDone(13, 0, "refused");
  EXPECT_EQ(NextLogStatus(13), "UploadFailure");
}

TEST_F(LogTest, ANewRequestCancelsTheUploadUnderWay) {
  Make();
  BootAccepted();
  EXPECT_EQ(ServerCall("GetLog", GetLog(20, kUrl))[2]["status"], "Accepted");
  EXPECT_EQ(NextLogStatus(20), "Uploading");
  ASSERT_TRUE(charger_->TakeLogUpload());
  json reply = ServerCall("GetLog", GetLog(21, kUrl));
  EXPECT_EQ(reply[2], json({{"status", "AcceptedCanceled"}, {"filename", "emart_jeju_01-21.log"}}));
  EXPECT_EQ(NextLogStatus(21), "Uploading");
  charger_->OnLogUploadDone(20, 201, "");  // the canceled one: ignored
  EXPECT_TRUE(NothingSent());
  auto attempt = charger_->TakeLogUpload();
  ASSERT_TRUE(attempt);
  EXPECT_EQ(attempt->request_id, 21);
  charger_->OnLogUploadDone(21, 201, "");
  EXPECT_EQ(NextLogStatus(21), "Uploaded");
}

TEST_F(LogTest, RejectsWithoutALogOrAUsableUrl) {
  ChargerOptions options = DefaultOptions();
  options.has_log = false;
  Make(options);
  BootAccepted();
  json reply = ServerCall("GetLog", GetLog(30, kUrl));
  EXPECT_EQ(reply[2]["status"], "Rejected");
  EXPECT_EQ(reply[2]["statusInfo"]["reasonCode"], "NoLogAvailable");
  EXPECT_FALSE(reply[2].contains("filename"));
  EXPECT_FALSE(charger_->log_upload_active());

  Make();
  BootAccepted();
  for (const char* location : {"ftp://logs.example/up", "http://user:pw@h/x", "not a url"}) {
    reply = ServerCall("GetLog", GetLog(31, location));
    EXPECT_EQ(reply[2]["status"], "Rejected") << location;
    EXPECT_EQ(reply[2]["statusInfo"]["reasonCode"], "InvalidURL") << location;
  }
  EXPECT_FALSE(charger_->log_upload_active());
  EXPECT_TRUE(NothingSent());
}

TEST_F(LogTest, ABadRequestIsACallError) {
  Make();
  BootAccepted();
  json reply = ServerCall("GetLog", {{"logType", "DiagnosticsLog"}, {"requestId", 1}});
  EXPECT_EQ(reply[0], 4);
  reply = ServerCall(
      "GetLog", {{"logType", "AllTheLogs"}, {"requestId", 1}, {"log", {{"remoteLocation", kUrl}}}});
  EXPECT_EQ(reply[0], 4);
  EXPECT_FALSE(charger_->log_upload_active());
}

TEST_F(LogTest, TriggerMessageReportsTheUploadUnderWay) {
  Make();
  BootAccepted();
  EXPECT_EQ(ServerCall("GetLog", GetLog(40, kUrl))[2]["status"], "Accepted");
  EXPECT_EQ(NextLogStatus(40), "Uploading");
  ASSERT_TRUE(charger_->TakeLogUpload());
  json reply = ServerCall("TriggerMessage", {{"requestedMessage", "LogStatusNotification"}});
  EXPECT_EQ(reply[2]["status"], "Accepted");
  EXPECT_EQ(NextLogStatus(40), "Uploading");
  charger_->OnLogUploadDone(40, 201, "");
  EXPECT_EQ(NextLogStatus(40), "Uploaded");
  reply = ServerCall("TriggerMessage", {{"requestedMessage", "LogStatusNotification"}});
  EXPECT_EQ(reply[2]["status"], "Accepted");
  json idle = NextCall("LogStatusNotification");
  EXPECT_EQ(idle[3], json({{"status", "Idle"}}));
}

}  // namespace
}  // namespace csms::sim
