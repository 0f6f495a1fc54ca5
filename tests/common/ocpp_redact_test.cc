// Secrets never reach the command log or trace files: what RedactSecrets hides, and what it
// leaves alone.
#include "csms/common/ocpp_redact.h"

#include <gtest/gtest.h>

namespace csms::ocpp {
namespace {

using nlohmann::json;

struct Case {
  const char* name;
  const char* action;
  const char* payload;
  const char* expected;  // nullptr: unchanged
};

class Redact : public ::testing::TestWithParam<Case> {};

TEST_P(Redact, HidesSecretsAndNothingElse) {
  const Case& c = GetParam();
  const json payload = json::parse(c.payload);
  const json expected = c.expected ? json::parse(c.expected) : payload;
  EXPECT_EQ(RedactSecrets(c.action, payload), expected);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, Redact,
    ::testing::Values(
        Case{"BasicAuthPassword", "SetVariables",
             R"({"setVariableData":[{"attributeValue":"s3cret-password-16",
                 "component":{"name":"SecurityCtrlr"},"variable":{"name":"BasicAuthPassword"}},
                 {"attributeValue":"60","component":{"name":"OCPPCommCtrlr"},
                 "variable":{"name":"HeartbeatInterval"}}]})",
             R"({"setVariableData":[{"attributeValue":"<redacted>",
                 "component":{"name":"SecurityCtrlr"},"variable":{"name":"BasicAuthPassword"}},
                 {"attributeValue":"60","component":{"name":"OCPPCommCtrlr"},
                 "variable":{"name":"HeartbeatInterval"}}]})"},
        Case{"names compare case-insensitively", "SetVariables",
             R"({"setVariableData":[{"attributeValue":"x","component":{"name":"SecurityCtrlr"},
                 "variable":{"name":"basicauthpassword"}}]})",
             R"({"setVariableData":[{"attributeValue":"<redacted>",
                 "component":{"name":"SecurityCtrlr"},"variable":{"name":"basicauthpassword"}}]})"},
        Case{"NotifyEvent item of a secret variable", "NotifyEvent",
             R"({"eventId":1,"timestamp":"2026-11-24T09:00:00Z","trigger":"Delta",
                 "actualValue":"s3cret-password-16","eventNotificationType":"HardWiredMonitor",
                 "component":{"name":"SecurityCtrlr"},"variable":{"name":"BasicAuthPassword"}})",
             R"({"eventId":1,"timestamp":"2026-11-24T09:00:00Z","trigger":"Delta",
                 "actualValue":"<redacted>","eventNotificationType":"HardWiredMonitor",
                 "component":{"name":"SecurityCtrlr"},"variable":{"name":"BasicAuthPassword"}})"},
        Case{"the token of the CSMS's own log upload URL", "GetLog",
             R"({"logType":"DiagnosticsLog","requestId":7,"log":{"remoteLocation":
                 "https://csms.example/log-uploads/0123456789abcdef/extra"}})",
             R"({"logType":"DiagnosticsLog","requestId":7,"log":{"remoteLocation":
                 "https://csms.example/log-uploads/<redacted>"}})"},
        Case{"another upload location stays", "GetLog",
             R"({"logType":"DiagnosticsLog","requestId":8,"log":{"remoteLocation":
                 "https://vendor.example/uploads/7"}})",
             nullptr},
        Case{"NotifyEvent item of another variable stays", "NotifyEvent",
             R"({"eventId":2,"timestamp":"2026-11-24T09:00:00Z","trigger":"Alerting",
                 "actualValue":"93","eventNotificationType":"HardWiredMonitor",
                 "component":{"name":"EVSE","evse":{"id":1}},"variable":{"name":"Temperature"}})",
             nullptr},
        Case{"NotifyReport value of a secret variable", "NotifyReport",
             R"({"requestId":1,"generatedAt":"2026-11-24T09:00:00Z","seqNo":0,"reportData":[
                 {"component":{"name":"SecurityCtrlr"},"variable":{"name":"BasicAuthPassword"},
                  "variableAttribute":[{"type":"Actual","value":"pw","mutability":"WriteOnly"}]},
                 {"component":{"name":"OCPPCommCtrlr"},"variable":{"name":"HeartbeatInterval"},
                  "variableAttribute":[{"type":"Actual","value":"60"}]}]})",
             R"({"requestId":1,"generatedAt":"2026-11-24T09:00:00Z","seqNo":0,"reportData":[
                 {"component":{"name":"SecurityCtrlr"},"variable":{"name":"BasicAuthPassword"},
                  "variableAttribute":[{"type":"Actual","value":"<redacted>",
                  "mutability":"WriteOnly"}]},
                 {"component":{"name":"OCPPCommCtrlr"},"variable":{"name":"HeartbeatInterval"},
                  "variableAttribute":[{"type":"Actual","value":"60"}]}]})"},
        Case{"1.6 AuthorizationKey", "ChangeConfiguration",
             R"({"key":"AuthorizationKey","value":"0011223344556677"})",
             R"({"key":"AuthorizationKey","value":"<redacted>"})"},
        Case{"1.6 GetConfiguration answer", "GetConfiguration",
             R"({"configurationKey":[{"key":"AuthorizationKey","readonly":false,"value":"ab"},
                 {"key":"HeartbeatInterval","readonly":false,"value":"60"}]})",
             R"({"configurationKey":[{"key":"AuthorizationKey","readonly":false,
                 "value":"<redacted>"},{"key":"HeartbeatInterval","readonly":false,
                 "value":"60"}]})"},
        Case{"KeyCode token", "RequestStartTransaction",
             R"({"remoteStartId":1,"idToken":{"idToken":"1234","type":"KeyCode"},
                 "groupIdToken":{"idToken":"G1","type":"Central"}})",
             R"({"remoteStartId":1,"idToken":{"idToken":"<redacted>","type":"KeyCode"},
                 "groupIdToken":{"idToken":"G1","type":"Central"}})"},
        Case{"other tokens stay", "Authorize",
             R"({"idToken":{"idToken":"04A1B2","type":"ISO14443"}})", nullptr},
        Case{"VPN and APN secrets", "SetNetworkProfile",
             R"({"configurationSlot":1,"connectionData":{"vpn":{"server":"v","user":"u",
                 "password":"p","key":"k","type":"IPSec"},"apn":{"apn":"a","apnUserName":"n",
                 "apnPassword":"q","apnAuthentication":"AUTO"}}})",
             R"({"configurationSlot":1,"connectionData":{"vpn":{"server":"v","user":"u",
                 "password":"<redacted>","key":"<redacted>","type":"IPSec"},"apn":{"apn":"a",
                 "apnUserName":"n","apnPassword":"<redacted>","apnAuthentication":"AUTO"}}})"},
        Case{"a key outside a VPN is no secret", "DataTransfer",
             R"({"vendorId":"v","data":{"key":"color","value":"red"}})", nullptr},
        Case{"private keys anywhere", "DataTransfer",
             R"({"vendorId":"v","data":["-----BEGIN PRIVATE KEY-----\nMII..."]})",
             R"({"vendorId":"v","data":["<redacted>"]})"},
        Case{"odd shapes do not throw", "SetVariables",
             R"({"setVariableData":[{"variable":{"name":7},"attributeValue":"x"},
                 {"variable":"BasicAuthPassword"},{"variable":{"name":"BasicAuthPassword"},
                 "variableAttribute":[1,"x",null]}],"key":3})",
             nullptr}),
    [](const auto& info) {
      std::string name = info.param.name;
      for (char& ch : name) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return name;
    });

TEST(RedactFrame, CallsAndResultsButNotErrorsOrGarbage) {
  EXPECT_EQ(RedactFrame(R"([2,"1","ChangeConfiguration",{"key":"AuthorizationKey","value":"x"}])"),
            R"([2,"1","ChangeConfiguration",{"key":"AuthorizationKey","value":"<redacted>"}])");
  EXPECT_EQ(RedactFrame(R"([3,"1",{"configurationKey":[{"key":"AuthorizationKey","value":"x"}]}])"),
            R"([3,"1",{"configurationKey":[{"key":"AuthorizationKey","value":"<redacted>"}]}])");
  // Nothing to hide: the frame comes back byte for byte (key order, spacing).
  const std::string plain = R"([2, "1", "Heartbeat", {"b":1, "a":2}])";
  EXPECT_EQ(RedactFrame(plain), plain);
  EXPECT_EQ(RedactFrame("[4,\"1\",\"X\",\"y\",{}]"), "[4,\"1\",\"X\",\"y\",{}]");
  EXPECT_EQ(RedactFrame("not json"), "not json");
}

}  // namespace
}  // namespace csms::ocpp
