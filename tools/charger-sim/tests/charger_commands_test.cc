// The CSMS commands an operator sends through the typed command path: Reset, ChangeAvailability,
// UnlockConnector, TriggerMessage, GetVariables, SetVariables, ClearCache, GetTransactionStatus
// and DataTransfer. Every answer and every message they cause is checked against the OCA schemas
// by the fixture.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "charger_fixture.h"

namespace csms::sim {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using test_support::ChargerTest;
using test_support::RequestStart;

json Item(const std::string& component, const std::string& variable,
          const std::optional<std::string>& attribute_type = std::nullopt) {
  json item = {{"component", {{"name", component}}}, {"variable", {{"name", variable}}}};
  if (attribute_type) item["attributeType"] = *attribute_type;
  return item;
}

json SetItem(const std::string& component, const std::string& variable, const std::string& value) {
  json item = Item(component, variable);
  item["attributeValue"] = value;
  return item;
}

class CommandTest : public ChargerTest {
 protected:
  // The reboot after an accepted Reset, as the transport does it: take the request, close,
  // reconnect. Returns the BootNotification that follows (unanswered).
  json Reboot() {
    EXPECT_TRUE(charger_->TakeReboot());
    EXPECT_FALSE(charger_->TakeReboot());  // handed out once
    EXPECT_TRUE(NothingSent());
    charger_->OnDisconnected();
    EXPECT_FALSE(charger_->reboot_pending());
    EXPECT_EQ(charger_->boot_state(), BootState::kNone);
    charger_->OnConnected();
    return NextCall("BootNotification");
  }

  void AcceptBoot(const json& boot, int interval = 30) {
    Answer(
        boot,
        {{"currentTime", "2026-03-01T09:00:00Z"}, {"interval", interval}, {"status", "Accepted"}});
  }

  json GetOne(const json& item) {
    json reply = ServerCall("GetVariables", {{"getVariableData", json::array({item})}});
    EXPECT_EQ(reply[0], 3) << reply.dump();
    return reply[2]["getVariableResult"][0];
  }

  json SetOne(const json& item) {
    json reply = ServerCall("SetVariables", {{"setVariableData", json::array({item})}});
    EXPECT_EQ(reply[0], 3) << reply.dump();
    return reply[2]["setVariableResult"][0];
  }

  std::string Status(const std::string& action, const json& payload) {
    json reply = ServerCall(action, payload);
    EXPECT_EQ(reply[0], 3) << action << " " << reply.dump();
    return reply[0] == 3 ? reply[2].value("status", "") : "CALLERROR " + reply[2].dump();
  }

  // Starts charging and answers the Started event.
  void Charging() { Answer(StartCharging(), json::object()); }

  // RequestStopTransaction; returns the Ended event (unanswered).
  json Stop() {
    json reply =
        ServerCall("RequestStopTransaction", {{"transactionId", charger_->transaction_id()}});
    EXPECT_EQ(reply[2]["status"], "Accepted");
    return NextCall("TransactionEvent");
  }
};

// ---- UpdateFirmware -----------------------------------------------------------------------------

json Firmware(const std::string& location, bool is_signed) {
  json firmware = {{"location", location}, {"retrieveDateTime", "2026-03-01T09:00:00Z"}};
  if (is_signed) {
    firmware["signingCertificate"] = "-----BEGIN CERTIFICATE-----";
    firmware["signature"] = "c2ln";
  }
  return {{"requestId", 77}, {"firmware", firmware}};
}

TEST_F(CommandTest, UpdateFirmwareRunsToInstalledThroughAFirmwareUpdateBoot) {
  Make();
  BootAccepted(30);
  EXPECT_EQ(Status("UpdateFirmware", Firmware("https://fw.example.com/x/fw-2.0.0.bin", true)),
            "Accepted");
  EXPECT_EQ(Status("UpdateFirmware", Firmware("https://fw.example.com/fw-3.bin", false)),
            "Rejected")
      << "one at a time";
  for (const char* status :
       {"Downloading", "Downloaded", "SignatureVerified", "Installing", "InstallRebooting"}) {
    Advance(200ms);
    json call = NextCall("FirmwareStatusNotification");
    EXPECT_EQ(call[3]["status"], status);
    EXPECT_EQ(call[3]["requestId"], 77);
    Answer(call, json::object());
  }
  Advance(200ms);
  json boot = Reboot();
  EXPECT_EQ(boot[3]["reason"], "FirmwareUpdate");
  EXPECT_EQ(boot[3]["chargingStation"]["firmwareVersion"], "2.0.0");
  AcceptBoot(boot);
  Answer(NextCall("StatusNotification"), json::object());
  Advance(200ms);
  json installed = NextCall("FirmwareStatusNotification");
  EXPECT_EQ(installed[3]["status"], "Installed");
  Answer(installed, json::object());
  Advance(1s);
  EXPECT_TRUE(NothingSent());
}

TEST_F(CommandTest, UpdateFirmwareWithABadSignatureEndsInInvalidSignature) {
  Make();
  BootAccepted(30);
  EXPECT_EQ(Status("UpdateFirmware", Firmware("https://fw.example.com/bad-signature/v9", false)),
            "Accepted");
  for (const char* status : {"Downloading", "Downloaded", "InvalidSignature"}) {
    Advance(200ms);
    json call = NextCall("FirmwareStatusNotification");
    EXPECT_EQ(call[3]["status"], status);
    Answer(call, json::object());
  }
  Advance(1s);
  EXPECT_TRUE(NothingSent());
  EXPECT_FALSE(charger_->reboot_pending());
  // Over: another may start.
  EXPECT_EQ(Status("UpdateFirmware", Firmware("https://fw.example.com/other", false)), "Accepted");
}

// ---- Reset -----------------------------------------------------------------------------------

TEST_F(CommandTest, ResetImmediateWhileIdleRebootsWithRemoteReset) {
  Make();
  BootAccepted(30);
  json reply = ServerCall("Reset", {{"type", "Immediate"}});
  EXPECT_EQ(reply[2], json({{"status", "Accepted"}}));
  EXPECT_TRUE(charger_->reboot_pending());
  EXPECT_TRUE(charger_->reconnect_pending());
  Advance(60s);  // no CALL starts on the connection that is about to close
  EXPECT_TRUE(NothingSent());

  json boot = Reboot();
  EXPECT_EQ(boot[3]["reason"], "RemoteReset");
  AcceptBoot(boot);
  EXPECT_EQ(NextCall("StatusNotification")[3]["connectorStatus"], "Available");
  EXPECT_EQ(charger_->boot_state(), BootState::kAccepted);
}

TEST_F(CommandTest, ResetImmediateEndsTheTransactionBeforeTheReboot) {
  Make();
  BootAccepted();
  Charging();
  const std::string tx_id = charger_->transaction_id();
  EXPECT_EQ(Status("Reset", {{"type", "Immediate"}}), "Accepted");
  EXPECT_FALSE(charger_->transaction_active());
  json ended = NextCall("TransactionEvent");
  EXPECT_EQ(ended[3]["eventType"], "Ended");
  EXPECT_EQ(ended[3]["triggerReason"], "ResetCommand");
  EXPECT_EQ(ended[3]["transactionInfo"]["stoppedReason"], "ImmediateReset");
  EXPECT_EQ(ended[3]["transactionInfo"]["transactionId"], tx_id);
  EXPECT_FALSE(ended[3].contains("offline"));
  EXPECT_FALSE(charger_->TakeReboot());  // not before the Ended event is answered
  Answer(ended, json::object());

  json boot = Reboot();  // the Available status is not sent before the reboot...
  EXPECT_EQ(boot[3]["reason"], "RemoteReset");
  AcceptBoot(boot);
  // ... but after it.
  EXPECT_EQ(NextCall("StatusNotification")[3]["connectorStatus"], "Available");
}

TEST_F(CommandTest, ResetImmediateResendsAFailedEndedEventAfterTheBoot) {
  Make();
  BootAccepted();
  Charging();
  EXPECT_EQ(Status("Reset", {{"type", "Immediate"}}), "Accepted");
  json ended = NextCall("TransactionEvent");
  AnswerError(ended, "InternalError");  // queued again for a retry: the reboot goes ahead
  json boot = Reboot();
  AcceptBoot(boot);
  Answer(NextCall("StatusNotification"), json::object());
  Advance(10s);  // the retry interval
  json again = NextCall("TransactionEvent");
  EXPECT_EQ(again[3]["eventType"], "Ended");
  EXPECT_EQ(again[3]["seqNo"], ended[3]["seqNo"]);
  EXPECT_EQ(again[3]["offline"], true);  // it went out after the connection it belonged to
}

TEST_F(CommandTest, ResetOnIdleWaitsForTheTransaction) {
  Make();
  BootAccepted();
  Charging();
  EXPECT_EQ(Status("Reset", {{"type", "OnIdle"}}), "Scheduled");
  EXPECT_TRUE(charger_->reboot_pending());
  EXPECT_TRUE(charger_->transaction_active());
  Advance(5s);
  Answer(NextCall("TransactionEvent"), json::object());  // charging goes on
  EXPECT_FALSE(charger_->TakeReboot());

  json ended = Stop();
  EXPECT_EQ(ended[3]["transactionInfo"]["stoppedReason"], "Remote");
  Answer(ended, json::object());
  EXPECT_EQ(Reboot()[3]["reason"], "RemoteReset");
}

TEST_F(CommandTest, ResetOnIdleWhileIdleIsImmediate) {
  Make();
  BootAccepted();
  EXPECT_EQ(Status("Reset", {{"type", "OnIdle"}}), "Accepted");
  EXPECT_EQ(Reboot()[3]["reason"], "RemoteReset");
}

TEST_F(CommandTest, ResetOfOneEvseEndsItsTransactionWithoutARebootOfTheStation) {
  Make();
  BootAccepted();
  EXPECT_EQ(Status("Reset", {{"type", "Immediate"}, {"evseId", 2}}), "Rejected");
  EXPECT_EQ(Status("Reset", {{"type", "Immediate"}, {"evseId", 0}}), "Rejected");

  // Idle: the EVSE comes back and reports its connector.
  EXPECT_EQ(Status("Reset", {{"type", "OnIdle"}, {"evseId", 1}}), "Accepted");
  Answer(NextCall("StatusNotification"), json::object());

  Charging();
  EXPECT_EQ(Status("Reset", {{"type", "OnIdle"}, {"evseId", 1}}), "Scheduled");
  EXPECT_TRUE(charger_->transaction_active());
  EXPECT_EQ(Status("Reset", {{"type", "Immediate"}, {"evseId", 1}}), "Accepted");
  json ended = NextCall("TransactionEvent");
  EXPECT_EQ(ended[3]["triggerReason"], "ResetCommand");
  EXPECT_EQ(ended[3]["transactionInfo"]["stoppedReason"], "ImmediateReset");
  Answer(ended, json::object());
  json available = NextCall("StatusNotification");
  EXPECT_EQ(available[3]["connectorStatus"], "Available");
  Answer(available, json::object());
  EXPECT_FALSE(charger_->TakeReboot());
  EXPECT_FALSE(charger_->reboot_pending());
  EXPECT_EQ(charger_->boot_state(), BootState::kAccepted);
  Charging();  // and it charges again
}

TEST_F(CommandTest, ScheduledResetSurvivesAConnectionLoss) {
  Make();
  BootAccepted();
  Charging();
  EXPECT_EQ(Status("Reset", {{"type", "OnIdle"}}), "Scheduled");
  charger_->OnDisconnected();
  EXPECT_TRUE(charger_->reboot_pending());
  charger_->OnConnected();
  Answer(NextCall("StatusNotification"), json::object());
  Answer(Stop(), json::object());
  EXPECT_EQ(Reboot()[3]["reason"], "RemoteReset");
}

TEST_F(CommandTest, ConnectionLostBeforeTheEndedEventWasAnsweredCountsAsTheReboot) {
  Make();
  BootAccepted();
  Charging();
  EXPECT_EQ(Status("Reset", {{"type", "Immediate"}}), "Accepted");
  json ended = NextCall("TransactionEvent");  // lost with the connection
  charger_->OnDisconnected();
  EXPECT_FALSE(charger_->reboot_pending());
  EXPECT_FALSE(charger_->TakeReboot());  // nothing left for the transport to close
  EXPECT_EQ(charger_->boot_state(), BootState::kNone);
  charger_->OnConnected();
  json boot = NextCall("BootNotification");
  EXPECT_EQ(boot[3]["reason"], "RemoteReset");
  AcceptBoot(boot);
  json again = NextCall("TransactionEvent");  // B12.FR.05: sent after the reboot
  EXPECT_EQ(again[3]["seqNo"], ended[3]["seqNo"]);
  EXPECT_EQ(again[3]["eventType"], "Ended");
  EXPECT_EQ(again[3]["offline"], true);
  Answer(again, json::object());
  EXPECT_EQ(NextCall("StatusNotification")[3]["connectorStatus"], "Available");
}

TEST_F(CommandTest, RebootRequiredVariableTakesEffectAfterTheReset) {
  Make();
  BootAccepted();
  json timeout = SetItem("OCPPCommCtrlr", "MessageTimeout", "45");
  timeout["variable"]["instance"] = "Default";
  EXPECT_EQ(SetOne(timeout)["attributeStatus"], "RebootRequired");
  json get = Item("OCPPCommCtrlr", "MessageTimeout");
  get["variable"]["instance"] = "Default";
  EXPECT_EQ(GetOne(get)["attributeValue"], "30");  // still the old one
  EXPECT_EQ(charger_->options().call_timeout, 30s);

  EXPECT_EQ(Status("Reset", {{"type", "Immediate"}}), "Accepted");
  AcceptBoot(Reboot());
  Answer(NextCall("StatusNotification"), json::object());
  EXPECT_EQ(GetOne(get)["attributeValue"], "45");
  EXPECT_EQ(charger_->options().call_timeout, 45s);
}

TEST_F(CommandTest, MalformedResetsGetCallErrors) {
  Make();
  BootAccepted();
  struct Case {
    json payload;
    const char* code;
  };
  const std::vector<Case> cases = {
      {json::object(), "OccurrenceConstraintViolation"},
      {{{"type", "Soft"}}, "PropertyConstraintViolation"},
      {{{"type", "Immediate"}, {"evseId", "1"}}, "TypeConstraintViolation"},
      {{{"type", "Immediate"}, {"extra", 1}}, "PropertyConstraintViolation"},
  };
  for (const Case& c : cases) {
    json reply = ServerCall("Reset", c.payload);
    EXPECT_EQ(reply[0], 4) << c.payload.dump();
    EXPECT_EQ(reply[2], c.code) << c.payload.dump();
  }
  EXPECT_FALSE(charger_->reboot_pending());
}

// ---- ChangeAvailability ------------------------------------------------------------------------

TEST_F(CommandTest, ChangeAvailabilityAnswersPerTarget) {
  struct Case {
    json evse;  // null = left out
    const char* status;
  };
  const std::vector<Case> cases = {
      {nullptr, "Accepted"},
      {{{"id", 0}}, "Accepted"},
      {{{"id", 1}}, "Accepted"},
      {{{"id", 1}, {"connectorId", 1}}, "Accepted"},
      {{{"id", 1}, {"connectorId", 2}}, "Rejected"},
      {{{"id", 2}}, "Rejected"},
      {{{"id", 0}, {"connectorId", 1}}, "Rejected"},
  };
  for (const Case& c : cases) {
    Make();
    BootAccepted();
    json request = {{"operationalStatus", "Inoperative"}};
    if (!c.evse.is_null()) request["evse"] = c.evse;
    EXPECT_EQ(Status("ChangeAvailability", request), c.status) << request.dump();
    if (std::string(c.status) == "Accepted") {
      EXPECT_EQ(NextCall("StatusNotification")[3]["connectorStatus"], "Unavailable");
      EXPECT_FALSE(charger_->connector_operative());
    } else {
      EXPECT_TRUE(NothingSent());
      EXPECT_TRUE(charger_->connector_operative());
    }
  }
}

TEST_F(CommandTest, UnavailableConnectorRefusesRemoteStartUntilOperativeAgain) {
  Make();
  BootAccepted();
  EXPECT_EQ(Status("ChangeAvailability", {{"operationalStatus", "Inoperative"}}), "Accepted");
  Answer(NextCall("StatusNotification"), json::object());
  // Asking for the state it is in: Accepted, and nothing changes.
  EXPECT_EQ(Status("ChangeAvailability", {{"operationalStatus", "Inoperative"}}), "Accepted");
  EXPECT_TRUE(NothingSent());

  json reply = ServerCall("RequestStartTransaction", RequestStart(5));
  EXPECT_EQ(reply[2]["status"], "Rejected");
  EXPECT_EQ(reply[2]["statusInfo"]["reasonCode"], "Unavailable");
  EXPECT_EQ(GetOne(Item("ChargingStation", "AvailabilityState"))["attributeValue"], "Unavailable");

  // The connector's own state is Operative, but the station's is not: still Unavailable.
  EXPECT_EQ(Status("ChangeAvailability",
                   {{"operationalStatus", "Operative"}, {"evse", {{"id", 1}, {"connectorId", 1}}}}),
            "Accepted");
  EXPECT_TRUE(NothingSent());
  EXPECT_EQ(Status("ChangeAvailability", {{"operationalStatus", "Operative"}}), "Accepted");
  EXPECT_EQ(NextCall("StatusNotification")[3]["connectorStatus"], "Available");
  EXPECT_TRUE(charger_->connector_operative());
}

TEST_F(CommandTest, ChangeAvailabilityDuringATransactionIsScheduled) {
  Make();
  BootAccepted();
  Charging();
  EXPECT_EQ(
      Status("ChangeAvailability", {{"operationalStatus", "Inoperative"}, {"evse", {{"id", 1}}}}),
      "Scheduled");
  EXPECT_TRUE(NothingSent());  // still Occupied
  EXPECT_TRUE(charger_->transaction_active());
  Answer(Stop(), json::object());
  EXPECT_EQ(NextCall("StatusNotification")[3]["connectorStatus"], "Unavailable");
}

TEST_F(CommandTest, AvailabilitySurvivesAReboot) {
  Make();
  BootAccepted();
  EXPECT_EQ(Status("ChangeAvailability", {{"operationalStatus", "Inoperative"}}), "Accepted");
  Answer(NextCall("StatusNotification"), json::object());
  EXPECT_EQ(Status("Reset", {{"type", "Immediate"}}), "Accepted");
  AcceptBoot(Reboot());
  EXPECT_EQ(NextCall("StatusNotification")[3]["connectorStatus"], "Unavailable");
}

// ---- UnlockConnector ---------------------------------------------------------------------------

TEST_F(CommandTest, UnlockConnector) {
  struct Case {
    int evse_id;
    int connector_id;
    bool charging;
    const char* status;
  };
  const std::vector<Case> cases = {
      {1, 1, false, "Unlocked"},         {1, 1, true, "OngoingAuthorizedTransaction"},
      {1, 2, false, "UnknownConnector"}, {2, 1, false, "UnknownConnector"},
      {0, 0, false, "UnknownConnector"},
  };
  for (const Case& c : cases) {
    Make();
    BootAccepted();
    if (c.charging) Charging();
    EXPECT_EQ(Status("UnlockConnector", {{"evseId", c.evse_id}, {"connectorId", c.connector_id}}),
              c.status)
        << c.evse_id << "/" << c.connector_id;
    EXPECT_EQ(charger_->transaction_active(), c.charging);  // an unlock never ends a transaction
  }
  Make();
  BootAccepted();
  EXPECT_EQ(ServerCall("UnlockConnector", {{"evseId", 1}})[2], "OccurrenceConstraintViolation");
}

// ---- TriggerMessage ----------------------------------------------------------------------------

TEST_F(CommandTest, TriggerMessageAnswersThenSendsTheMessage) {
  struct Case {
    const char* requested;
    json evse;  // null = left out
    bool charging;
    const char* status;
    const char* sends;  // the CALL that follows, or nullptr
  };
  const std::vector<Case> cases = {
      {"Heartbeat", nullptr, false, "Accepted", "Heartbeat"},
      {"StatusNotification", nullptr, false, "Accepted", "StatusNotification"},
      {"StatusNotification",
       {{"id", 1}, {"connectorId", 1}},
       false,
       "Accepted",
       "StatusNotification"},
      {"StatusNotification", {{"id", 1}, {"connectorId", 2}}, false, "Rejected", nullptr},
      {"StatusNotification", {{"id", 3}}, false, "Rejected", nullptr},
      {"MeterValues", nullptr, false, "Accepted", "MeterValues"},
      {"MeterValues", {{"id", 1}}, true, "Accepted", "MeterValues"},
      {"MeterValues", {{"id", 0}}, false, "Accepted", "MeterValues"},
      {"TransactionEvent", nullptr, true, "Accepted", "TransactionEvent"},
      {"TransactionEvent", {{"id", 1}}, true, "Accepted", "TransactionEvent"},
      {"TransactionEvent", nullptr, false, "Rejected", nullptr},
      {"TransactionEvent", {{"id", 0}}, true, "Rejected", nullptr},
      {"BootNotification", nullptr, false, "Rejected", nullptr},  // already Accepted
      {"FirmwareStatusNotification", nullptr, false, "Accepted", "FirmwareStatusNotification"},
      {"LogStatusNotification", nullptr, false, "Accepted", "LogStatusNotification"},
      {"SignChargingStationCertificate", nullptr, false, "NotImplemented", nullptr},
      {"SignV2GCertificate", nullptr, false, "NotImplemented", nullptr},
      {"SignCombinedCertificate", nullptr, false, "NotImplemented", nullptr},
      {"PublishFirmwareStatusNotification", nullptr, false, "NotImplemented", nullptr},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.requested) + " " + c.evse.dump());
    Make();
    BootAccepted();
    if (c.charging) Charging();
    json request = {{"requestedMessage", c.requested}};
    if (!c.evse.is_null()) request["evse"] = c.evse;
    EXPECT_EQ(Status("TriggerMessage", request), c.status);
    if (c.sends == nullptr) {
      EXPECT_TRUE(NothingSent());
      continue;
    }
    json call = NextCall(c.sends);
    const json& p = call[3];
    if (std::string(c.sends) == "MeterValues") {
      EXPECT_EQ(p["evseId"], c.evse.is_null() ? 1 : c.evse["id"].get<int>());
      const json& energy = p["meterValue"][0]["sampledValue"][0];
      EXPECT_EQ(energy["measurand"], "Energy.Active.Import.Register");
      EXPECT_EQ(energy["context"], "Trigger");
      EXPECT_DOUBLE_EQ(energy["value"].get<double>(), std::llround(charger_->energy_register_wh()));
    } else if (std::string(c.sends) == "TransactionEvent") {
      EXPECT_EQ(p["eventType"], "Updated");
      EXPECT_EQ(p["triggerReason"], "Trigger");
      EXPECT_EQ(p["transactionInfo"]["chargingState"], "Charging");
      EXPECT_EQ(p["meterValue"][0]["sampledValue"][0]["context"], "Trigger");
    } else if (std::string(c.sends) == "StatusNotification") {
      EXPECT_EQ(p["evseId"], 1);
      EXPECT_EQ(p["connectorId"], 1);
    } else if (std::string(c.sends).ends_with("StatusNotification")) {
      EXPECT_EQ(p, json({{"status", "Idle"}}));
    }
    Answer(call, json::object());
    EXPECT_TRUE(NothingSent());
  }
}

TEST_F(CommandTest, TriggeredMessagesGoOutWhilePending) {
  Make();
  charger_->OnConnected();
  Answer(NextCall("BootNotification"),
         {{"currentTime", "2026-03-01T09:00:00Z"}, {"interval", 300}, {"status", "Pending"}});
  EXPECT_EQ(charger_->boot_state(), BootState::kPending);

  // What the CSMS asks for goes out; nothing else does.
  EXPECT_EQ(Status("TriggerMessage", {{"requestedMessage", "StatusNotification"},
                                      {"evse", {{"id", 1}, {"connectorId", 1}}}}),
            "Accepted");
  Answer(NextCall("StatusNotification"), json::object());
  EXPECT_EQ(Status("TriggerMessage", {{"requestedMessage", "Heartbeat"}}), "Accepted");
  Answer(NextCall("Heartbeat"), {{"currentTime", "2026-03-01T09:00:00Z"}});

  // The point of triggering a boot: not waiting for the Pending interval.
  EXPECT_EQ(Status("TriggerMessage", {{"requestedMessage", "BootNotification"}}), "Accepted");
  json boot = NextCall("BootNotification");
  EXPECT_EQ(boot[3]["reason"], "Triggered");
  AcceptBoot(boot);
  EXPECT_EQ(charger_->boot_state(), BootState::kAccepted);
  Answer(NextCall("StatusNotification"), json::object());
  Advance(300s);  // the Pending interval's retry was dropped
  EXPECT_EQ(NextCall("Heartbeat")[2], "Heartbeat");
}

// ---- GetVariables ------------------------------------------------------------------------------

TEST_F(CommandTest, GetVariablesAnswersEachItem) {
  struct Case {
    json item;
    const char* status;
    const char* value;  // nullptr = no attributeValue
  };
  auto evse = [](json item, int id, std::optional<int> connector = std::nullopt) {
    item["component"]["evse"] = {{"id", id}};
    if (connector) item["component"]["evse"]["connectorId"] = *connector;
    return item;
  };
  auto instance = [](json item, const char* name) {
    item["variable"]["instance"] = name;
    return item;
  };
  const std::vector<Case> cases = {
      {Item("OCPPCommCtrlr", "HeartbeatInterval"), "Accepted", "30"},
      {Item("ocppcommctrlr", "heartbeatinterval", "Actual"), "Accepted", "30"},
      {Item("OCPPCommCtrlr", "HeartbeatInterval", "MinSet"), "NotSupportedAttributeType", nullptr},
      {instance(Item("OCPPCommCtrlr", "MessageTimeout"), "Default"), "Accepted", "30"},
      {Item("OCPPCommCtrlr", "MessageTimeout"), "UnknownVariable", nullptr},  // instance needed
      {instance(Item("DeviceDataCtrlr", "ItemsPerMessage"), "GetVariables"), "Accepted", "4"},
      {instance(Item("DeviceDataCtrlr", "ItemsPerMessage"), "SetVariables"), "Accepted", "8"},
      {instance(Item("DeviceDataCtrlr", "BytesPerMessage"), "GetVariables"), "Accepted", "8192"},
      {instance(Item("DeviceDataCtrlr", "BytesPerMessage"), "SetVariables"), "Accepted", "8192"},
      {Item("ChargingStation", "AvailabilityState"), "Accepted", "Available"},
      {Item("ChargingStation", "Model"), "Accepted", "Terra 53"},
      {Item("ChargingStation", "VendorName"), "Accepted", "ABB"},
      {evse(Item("EVSE", "Power", "MaxSet"), 1), "Accepted", "100000"},
      {evse(Item("EVSE", "Power"), 1), "Accepted", "0"},
      {evse(Item("EVSE", "Power", "Target"), 1), "NotSupportedAttributeType", nullptr},
      {Item("EVSE", "Power", "MaxSet"), "UnknownComponent", nullptr},  // which EVSE?
      {evse(Item("EVSE", "Power", "MaxSet"), 2), "UnknownComponent", nullptr},
      {evse(Item("EVSE", "AvailabilityState"), 1), "Accepted", "Available"},
      {evse(Item("Connector", "ConnectorType"), 1, 1), "Accepted", "cCCS2"},
      {evse(Item("Connector", "AvailabilityState"), 1, 1), "Accepted", "Available"},
      {evse(Item("Connector", "ConnectorType"), 1), "UnknownComponent", nullptr},
      {Item("SecurityCtrlr", "BasicAuthPassword"), "Rejected", nullptr},  // write-only
      {Item("AuthCtrlr", "AuthorizeRemoteStart"), "Accepted", "false"},
      {Item("SampledDataCtrlr", "TxUpdatedInterval"), "Accepted", "5"},
      {Item("CoffeeCtrlr", "Strength"), "UnknownComponent", nullptr},
      {Item("OCPPCommCtrlr", "Strength"), "UnknownVariable", nullptr},
  };
  Make();
  BootAccepted(30);
  for (const Case& c : cases) {
    json result = GetOne(c.item);
    EXPECT_EQ(result["attributeStatus"], c.status) << c.item.dump();
    if (c.value != nullptr) {
      EXPECT_EQ(result["attributeValue"], c.value) << c.item.dump();
    } else {
      EXPECT_FALSE(result.contains("attributeValue")) << result.dump();
    }
    // Echoed as asked, so the CSMS can match results to its items.
    EXPECT_EQ(result["component"], c.item["component"]);
    EXPECT_EQ(result["variable"], c.item["variable"]);
    EXPECT_EQ(result.contains("attributeType"), c.item.contains("attributeType"));
  }
}

TEST_F(CommandTest, GetVariablesReportsLiveValues) {
  Make();
  BootAccepted(30);
  Charging();
  json power = Item("EVSE", "Power");
  power["component"]["evse"] = {{"id", 1}};
  EXPECT_EQ(GetOne(power)["attributeValue"], "100000");
  EXPECT_EQ(GetOne(Item("ChargingStation", "AvailabilityState"))["attributeValue"], "Occupied");
}

TEST_F(CommandTest, GetVariablesHonoursItemsAndBytesPerMessage) {
  Make();
  BootAccepted();
  json items = json::array();
  for (int i = 0; i < 4; ++i) items.push_back(Item("OCPPCommCtrlr", "HeartbeatInterval"));
  json reply = ServerCall("GetVariables", {{"getVariableData", items}});
  ASSERT_EQ(reply[0], 3) << reply.dump();
  EXPECT_EQ(reply[2]["getVariableResult"].size(), 4u);

  items.push_back(Item("OCPPCommCtrlr", "HeartbeatInterval"));
  reply = ServerCall("GetVariables", {{"getVariableData", items}});
  EXPECT_EQ(reply[0], 4);
  EXPECT_EQ(reply[2], "OccurrenceConstraintViolation");
  EXPECT_NE(reply[3].get<std::string>().find("ItemsPerMessage"), std::string::npos);

  json big = {{"getVariableData", json::array({Item("OCPPCommCtrlr", "HeartbeatInterval")})},
              {"customData", {{"vendorId", "com.example"}, {"padding", std::string(9000, 'x')}}}};
  reply = ServerCall("GetVariables", big);
  EXPECT_EQ(reply[0], 4);
  EXPECT_EQ(reply[2], "FormatViolation");

  EXPECT_EQ(ServerCall("GetVariables", {{"getVariableData", json::array()}})[2],
            "OccurrenceConstraintViolation");
  EXPECT_EQ(
      ServerCall("GetVariables", {{"getVariableData", {Item("OCPPCommCtrlr", "X", "Min")}}})[2],
      "PropertyConstraintViolation");
  json long_name = Item(std::string(51, 'C'), "X");
  EXPECT_EQ(ServerCall("GetVariables", {{"getVariableData", {long_name}}})[2],
            "PropertyConstraintViolation");
}

// ---- SetVariables ------------------------------------------------------------------------------

TEST_F(CommandTest, SetVariablesAnswersEachItem) {
  struct Case {
    json item;
    const char* status;
    const char* reason;      // attributeStatusInfo.reasonCode, nullptr = none
    const char* reads_back;  // GetVariables afterwards, nullptr = not readable
  };
  auto with = [](json item, const char* key, json value) {
    if (std::string(key) == "instance") {
      item["variable"]["instance"] = value;
    } else {
      item[key] = value;
    }
    return item;
  };
  const std::vector<Case> cases = {
      {SetItem("OCPPCommCtrlr", "HeartbeatInterval", "60"), "Accepted", nullptr, "60"},
      {SetItem("OCPPCommCtrlr", "HeartbeatInterval", "+60"), "Accepted", nullptr, "60"},
      {SetItem("OCPPCommCtrlr", "HeartbeatInterval", "sixty"), "Rejected", "InvalidValue", "30"},
      {SetItem("OCPPCommCtrlr", "HeartbeatInterval", "60.5"), "Rejected", "InvalidValue", "30"},
      {SetItem("OCPPCommCtrlr", "HeartbeatInterval", " 60"), "Rejected", "InvalidValue", "30"},
      {SetItem("OCPPCommCtrlr", "HeartbeatInterval", ""), "Rejected", "InvalidValue", "30"},
      {SetItem("OCPPCommCtrlr", "HeartbeatInterval", "99999999999999999999"), "Rejected",
       "InvalidValue", "30"},
      {SetItem("OCPPCommCtrlr", "HeartbeatInterval", "0"), "Rejected", "ValueOutOfRange", "30"},
      {with(SetItem("OCPPCommCtrlr", "HeartbeatInterval", "60"), "attributeType", "MinSet"),
       "NotSupportedAttributeType", nullptr, nullptr},
      {with(SetItem("OCPPCommCtrlr", "MessageTimeout", "45"), "instance", "Default"),
       "RebootRequired", nullptr, "30"},
      {with(SetItem("OCPPCommCtrlr", "MessageTimeout", "0"), "instance", "Default"), "Rejected",
       "ValueOutOfRange", "30"},
      {with(SetItem("DeviceDataCtrlr", "ItemsPerMessage", "100"), "instance", "GetVariables"),
       "Rejected", "ReadOnly", "4"},
      {SetItem("ChargingStation", "AvailabilityState", "Unavailable"), "Rejected", "ReadOnly",
       "Available"},
      {SetItem("AuthCtrlr", "AuthorizeRemoteStart", "true"), "Accepted", nullptr, "true"},
      {SetItem("AuthCtrlr", "AuthorizeRemoteStart", "yes"), "Rejected", "InvalidValue", "false"},
      {SetItem("SampledDataCtrlr", "TxUpdatedInterval", "0"), "Accepted", nullptr, "0"},
      {SetItem("SampledDataCtrlr", "TxUpdatedInterval", "-1"), "Rejected", "ValueOutOfRange", "5"},
      {SetItem("CoffeeCtrlr", "Strength", "9"), "UnknownComponent", nullptr, nullptr},
      {SetItem("AuthCtrlr", "Strength", "9"), "UnknownVariable", nullptr, nullptr},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.item.dump());
    Make();
    BootAccepted(30);
    json result = SetOne(c.item);
    EXPECT_EQ(result["attributeStatus"], c.status);
    if (c.reason != nullptr) {
      EXPECT_EQ(result["attributeStatusInfo"]["reasonCode"], c.reason);
    } else {
      EXPECT_FALSE(result.contains("attributeStatusInfo")) << result.dump();
    }
    EXPECT_EQ(result["component"], c.item["component"]);
    EXPECT_EQ(result["variable"], c.item["variable"]);
    // What was accepted is what GetVariables reports from then on; nothing else changes it.
    json get = c.item;
    get.erase("attributeValue");
    json now = GetOne(get);
    if (c.reads_back != nullptr) {
      EXPECT_EQ(now["attributeStatus"], "Accepted");
      EXPECT_EQ(now["attributeValue"], c.reads_back);
    } else {
      EXPECT_NE(now["attributeStatus"], "Accepted");
    }
  }
}

TEST_F(CommandTest, HeartbeatIntervalChangesTheTimer) {
  Make();
  BootAccepted(300);
  EXPECT_EQ(SetOne(SetItem("OCPPCommCtrlr", "HeartbeatInterval", "20"))["attributeStatus"],
            "Accepted");
  EXPECT_EQ(charger_->heartbeat_interval(), 20s);
  Advance(19s);
  EXPECT_TRUE(NothingSent());
  Advance(1s);
  Answer(NextCall("Heartbeat"), {{"currentTime", "2026-03-01T09:00:20Z"}});
  Advance(20s);
  NextCall("Heartbeat");
}

TEST_F(CommandTest, TxUpdatedIntervalChangesTheMeterPeriod) {
  Make();
  BootAccepted(3600);
  Charging();
  EXPECT_EQ(SetOne(SetItem("SampledDataCtrlr", "TxUpdatedInterval", "60"))["attributeStatus"],
            "Accepted");
  Advance(59s);
  EXPECT_TRUE(NothingSent());
  Advance(1s);
  EXPECT_EQ(NextCall("TransactionEvent")[3]["triggerReason"], "MeterValuePeriodic");
}

TEST_F(CommandTest, SetVariablesHonoursItemsPerMessage) {
  Make();
  BootAccepted();
  json items = json::array();
  for (int i = 0; i < 8; ++i) items.push_back(SetItem("AuthCtrlr", "AuthorizeRemoteStart", "true"));
  json reply = ServerCall("SetVariables", {{"setVariableData", items}});
  ASSERT_EQ(reply[0], 3) << reply.dump();
  EXPECT_EQ(reply[2]["setVariableResult"].size(), 8u);
  items.push_back(SetItem("OCPPCommCtrlr", "HeartbeatInterval", "10"));
  reply = ServerCall("SetVariables", {{"setVariableData", items}});
  EXPECT_EQ(reply[0], 4);
  EXPECT_EQ(reply[2], "OccurrenceConstraintViolation");
  EXPECT_EQ(charger_->heartbeat_interval(), 30s);  // nothing of a refused request is applied

  // Schema problems the simulator's own checks do not look at are CALLERRORs too.
  json extra = SetItem("OCPPCommCtrlr", "HeartbeatInterval", "10");
  extra["variable"]["unit"] = "s";
  EXPECT_EQ(ServerCall("SetVariables", {{"setVariableData", {extra}}})[2],
            "PropertyConstraintViolation");
  json evse = SetItem("EVSE", "Power", "1");
  evse["component"]["evse"] = {{"id", "1"}};
  EXPECT_EQ(ServerCall("SetVariables", {{"setVariableData", {evse}}})[2],
            "TypeConstraintViolation");
}

// ---- GetTransactionStatus, ClearCache, DataTransfer ---------------------------------------------

TEST_F(CommandTest, GetTransactionStatusWithoutAnId) {
  Make();
  BootAccepted();
  json reply = ServerCall("GetTransactionStatus", json::object());
  EXPECT_EQ(reply[2], json({{"messagesInQueue", false}}));  // no ongoingIndicator without an id
  json started = StartCharging();                           // unanswered
  reply = ServerCall("GetTransactionStatus", json::object());
  EXPECT_EQ(reply[2], json({{"messagesInQueue", true}}));
  Answer(started, json::object());
  reply = ServerCall("GetTransactionStatus", json::object());
  EXPECT_EQ(reply[2], json({{"messagesInQueue", false}}));
  reply = ServerCall("GetTransactionStatus", {{"transactionId", charger_->transaction_id()}});
  EXPECT_EQ(reply[2], json({{"messagesInQueue", false}, {"ongoingIndicator", true}}));
  EXPECT_EQ(ServerCall("GetTransactionStatus", {{"transactionId", std::string(37, 'x')}})[2],
            "PropertyConstraintViolation");
}

TEST_F(CommandTest, ClearCacheIsAccepted) {
  Make();
  BootAccepted();
  EXPECT_EQ(ServerCall("ClearCache", json::object())[2], json({{"status", "Accepted"}}));
}

// The README examples' sequence (seed dialect): a remote start and stop, GetVariables, a
// triggered StatusNotification with a ClearCache right behind it, then the next remote start.
// Its StatusNotification and Started event must go out in every order of the CSMS's ClearCache
// CALL and its CALLRESULT to the triggered notification.
TEST_F(CommandTest, ClearCacheAroundATriggeredStatusKeepsTheQueueMoving) {
  enum class Order { kClearCacheFirst, kResultFirst, kBothBeforeAnyWrite };
  for (Order order : {Order::kClearCacheFirst, Order::kResultFirst, Order::kBothBeforeAnyWrite}) {
    SCOPED_TRACE(static_cast<int>(order));
    ChargerOptions options = DefaultOptions();
    options.dialect = Dialect::kSeed;
    Make(options);
    BootAccepted();
    Answer(StartCharging(1), json::object());
    EXPECT_EQ(ServerCall("SetChargingProfile", test_support::Profile("ChargingStationMaxProfile",
                                                                     "W", 50000))[2]["status"],
              "Accepted");
    clock_.Advance(30ms);
    EXPECT_EQ(ServerCall("RequestStopTransaction",
                         {{"transactionId", charger_->transaction_id()}})[2]["status"],
              "Accepted");
    // Whatever the profile and the stop brought (Updated, Ended, Available), answered in turn.
    for (int i = 0; i < 10 && !NothingSent(); ++i) Answer(Next(), json::object());
    EXPECT_EQ(GetOne(Item("OCPPCommCtrlr", "HeartbeatInterval"))["attributeStatus"], "Accepted");
    EXPECT_EQ(Status("TriggerMessage", {{"requestedMessage", "StatusNotification"}}), "Accepted");
    json triggered = NextCall("StatusNotification");
    EXPECT_TRUE(charger_->call_in_flight());
    clock_.Advance(30ms);
    switch (order) {
      case Order::kClearCacheFirst:
        EXPECT_EQ(Status("ClearCache", json::object()), "Accepted");
        Answer(triggered, json::object());
        break;
      case Order::kResultFirst:
        Answer(triggered, json::object());
        EXPECT_EQ(Status("ClearCache", json::object()), "Accepted");
        break;
      case Order::kBothBeforeAnyWrite:
        // One read brings both: nothing is taken from the charger in between.
        Answer(triggered, json::object());
        charger_->OnMessage(json::array({2, "srv-cc", "ClearCache", json::object()}).dump());
        EXPECT_EQ(Next(), json::array({3, "srv-cc", {{"status", "Accepted"}}}));
        break;
    }
    EXPECT_TRUE(NothingSent());
    EXPECT_FALSE(charger_->call_in_flight());
    EXPECT_EQ(charger_->queued_calls(), 0u);
    Advance(3s);
    EXPECT_TRUE(NothingSent());
    json reply = ServerCall("RequestStartTransaction", RequestStart(2));
    EXPECT_EQ(reply[2], json({{"status", "Accepted"}}));
    json occupied = NextCall("StatusNotification");
    EXPECT_EQ(occupied[3]["connectorStatus"], "Occupied");
    Answer(occupied, json::object());
    json started = NextCall("TransactionEvent");
    EXPECT_EQ(started[3]["eventType"], "Started");
    Answer(started, json::object());
    EXPECT_TRUE(NothingSent());
  }
}

TEST_F(CommandTest, DataTransfer) {
  struct Case {
    json request;
    json response;
  };
  const json data = {{"text", "hello"}, {"n", 3}, {"list", {1, 2}}};
  const std::vector<Case> cases = {
      {{{"vendorId", "com.csms.sim"}, {"messageId", "echo"}, {"data", data}},
       {{"status", "Accepted"}, {"data", data}}},
      {{{"vendorId", "com.csms.sim"}, {"messageId", "echo"}, {"data", "text"}},
       {{"status", "Accepted"}, {"data", "text"}}},
      {{{"vendorId", "com.csms.sim"}, {"messageId", "echo"}}, {{"status", "Accepted"}}},
      {{{"vendorId", "com.csms.sim"}, {"messageId", "reverse"}}, {{"status", "UnknownMessageId"}}},
      {{{"vendorId", "com.csms.sim"}}, {{"status", "UnknownMessageId"}}},
      {{{"vendorId", "com.other"}, {"messageId", "echo"}, {"data", data}},
       {{"status", "UnknownVendorId"}}},
  };
  Make();
  BootAccepted();
  for (const Case& c : cases) {
    json reply = ServerCall("DataTransfer", c.request);
    EXPECT_EQ(reply[0], 3) << reply.dump();
    EXPECT_EQ(reply[2], c.response) << c.request.dump();
  }
  EXPECT_EQ(ServerCall("DataTransfer", {{"messageId", "echo"}})[2],
            "OccurrenceConstraintViolation");
}

}  // namespace
}  // namespace csms::sim
