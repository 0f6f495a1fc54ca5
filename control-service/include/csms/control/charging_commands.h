#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <string>

#include "csms/common/api_auth.h"
#include "csms/common/time_util.h"
#include "csms/control/charger_access.h"
#include "csms/control/command_sender.h"
#include "csms/control/stores.h"
#include "csms/control/v1/control.grpc.pb.h"
#include "csms/control/waiter.h"

namespace csms::control {

// The commands whose outcome the CSMS keeps as its own state: remote start and stop (the
// transaction they lead to), the station-wide power limit (charging_profiles) and the Basic-auth
// password (charger_credentials). On the gRPC callback API like every command: the CALL goes
// through CommandSender (schema-checked, in the command log, the password redacted) and the wait
// for the charger's TransactionEvent holds no thread (EventWaiter::WaitAsync).
class ChargingCommands {
 public:
  // `auth` null: open mode. `timeout` bounds each command from request to the charger's
  // confirming event.
  ChargingCommands(const ChargerAccess& access, ControlStores& stores, CommandSender& sender,
                   EventWaiter& waiter, auth::Authenticator* auth,
                   std::chrono::milliseconds timeout)
      : access_(access),
        stores_(stores),
        sender_(sender),
        waiter_(waiter),
        auth_(auth),
        timeout_(timeout) {}

  // How long the password before a rotation stays valid (OCPP A01).
  void set_password_grace(std::chrono::seconds grace) { password_grace_ = grace; }

  grpc::ServerUnaryReactor* StartTransaction(grpc::CallbackServerContext* context,
                                             const v1::StartTransactionRequest* request,
                                             v1::StartTransactionResponse* response);
  grpc::ServerUnaryReactor* StopTransaction(grpc::CallbackServerContext* context,
                                            const v1::StopTransactionRequest* request,
                                            v1::StopTransactionResponse* response);
  grpc::ServerUnaryReactor* SetChargingLimit(grpc::CallbackServerContext* context,
                                             const v1::SetChargingLimitRequest* request,
                                             v1::SetChargingLimitResponse* response);
  grpc::ServerUnaryReactor* RotateChargerPassword(grpc::CallbackServerContext* context,
                                                  const v1::RotateChargerPasswordRequest* request,
                                                  v1::RotateChargerPasswordResponse* response);

 private:
  using Deadline = std::chrono::steady_clock::time_point;
  // Waits for the charger's confirming TransactionEvent (`stored` true), then finish(OK), or
  // finishes the call DEADLINE_EXCEEDED naming `what`.
  void AwaitEvent(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
                  Deadline deadline, const std::string& what, std::function<bool()> stored,
                  std::function<void(bool arrived)> finish);

  const ChargerAccess& access_;
  ControlStores& stores_;
  CommandSender& sender_;
  EventWaiter& waiter_;
  auth::Authenticator* auth_;
  std::chrono::milliseconds timeout_;
  std::chrono::seconds password_grace_{600};
  RealClock clock_;
};

}  // namespace csms::control
