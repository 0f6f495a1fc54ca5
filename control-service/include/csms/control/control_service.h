#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "csms/common/time_util.h"
#include "csms/control/charger_link_client.h"
#include "csms/control/decisions.h"
#include "csms/control/store.h"
#include "csms/control/v1/control.grpc.pb.h"
#include "csms/control/waiter.h"

namespace csms::control {

// The public API: charger registry queries and commands sent to chargers through their gateway.
class ControlServiceImpl final : public csms::control::v1::ControlService::Service {
 public:
  // command_timeout bounds each command from request to the charger's confirming event.
  ControlServiceImpl(ControlStore& store, ChargerLinkClient& link, EventWaiter& waiter,
                     std::chrono::milliseconds command_timeout);

  // A charger counted as connected but silent for longer than this is shown Offline and sent
  // nothing: its gateway died without reporting the disconnect (crash, lost network), and no
  // other gateway has it yet. Zero: trust the connection flag alone.
  void set_offline_after(std::chrono::milliseconds silence) { offline_after_ = silence; }

  grpc::Status StartTransaction(grpc::ServerContext* context,
                                const csms::control::v1::StartTransactionRequest* request,
                                csms::control::v1::StartTransactionResponse* response) override;
  grpc::Status StopTransaction(grpc::ServerContext* context,
                               const csms::control::v1::StopTransactionRequest* request,
                               csms::control::v1::StopTransactionResponse* response) override;
  grpc::Status SetChargingLimit(grpc::ServerContext* context,
                                const csms::control::v1::SetChargingLimitRequest* request,
                                csms::control::v1::SetChargingLimitResponse* response) override;
  grpc::Status GetCharger(grpc::ServerContext* context,
                          const csms::control::v1::GetChargerRequest* request,
                          csms::control::v1::Charger* response) override;
  grpc::Status ListChargers(grpc::ServerContext* context,
                            const csms::control::v1::ListChargersRequest* request,
                            csms::control::v1::ListChargersResponse* response) override;
  grpc::Status ListStations(grpc::ServerContext* context,
                            const csms::control::v1::ListStationsRequest* request,
                            csms::control::v1::ListStationsResponse* response) override;
  grpc::Status GetStation(grpc::ServerContext* context,
                          const csms::control::v1::GetStationRequest* request,
                          csms::control::v1::Station* response) override;
  grpc::Status CreateStation(grpc::ServerContext* context,
                             const csms::control::v1::CreateStationRequest* request,
                             csms::control::v1::Station* response) override;
  grpc::Status UpdateStation(grpc::ServerContext* context,
                             const csms::control::v1::UpdateStationRequest* request,
                             csms::control::v1::Station* response) override;
  grpc::Status DeleteStation(grpc::ServerContext* context,
                             const csms::control::v1::DeleteStationRequest* request,
                             csms::control::v1::DeleteStationResponse* response) override;
  grpc::Status AssignCharger(grpc::ServerContext* context,
                             const csms::control::v1::AssignChargerRequest* request,
                             csms::control::v1::AssignChargerResponse* response) override;
  grpc::Status CreateCharger(grpc::ServerContext* context,
                             const csms::control::v1::CreateChargerRequest* request,
                             csms::control::v1::ChargerSecurity* response) override;
  grpc::Status UpdateChargerSecurity(grpc::ServerContext* context,
                                     const csms::control::v1::UpdateChargerSecurityRequest* request,
                                     csms::control::v1::ChargerSecurity* response) override;
  grpc::Status DeleteCharger(grpc::ServerContext* context,
                             const csms::control::v1::DeleteChargerRequest* request,
                             csms::control::v1::DeleteChargerResponse* response) override;
  grpc::Status GetChargerSecurity(grpc::ServerContext* context,
                                  const csms::control::v1::GetChargerSecurityRequest* request,
                                  csms::control::v1::ChargerSecurity* response) override;
  grpc::Status RotateChargerPassword(
      grpc::ServerContext* context, const csms::control::v1::RotateChargerPasswordRequest* request,
      csms::control::v1::RotateChargerPasswordResponse* response) override;

  // How long the password before a rotation stays valid (OCPP A01).
  void set_password_grace(std::chrono::seconds grace) { password_grace_ = grace; }

 private:
  using Deadline = std::chrono::steady_clock::time_point;

  Deadline CommandDeadline(const grpc::ServerContext& context) const;
  ChargerRecord RequireCharger(const std::string& charger_id);
  // Registered, connected (and heard from lately) and not rejected: a charger we may send a
  // CALL to.
  void RequireReachable(const ChargerRecord& charger) const;
  // The record's connection flag, unless the charger has been silent past offline_after_.
  bool IsLive(const ChargerRecord& charger) const;
  // Sends one CALL; a CALLERROR reads as a refusal with the error as the reason.
  CommandAnswer Send(const ChargerRecord& charger, const std::string& action,
                     const nlohmann::json& payload, Deadline deadline);
  // Waits for the charger's confirming TransactionEvent; DEADLINE_EXCEEDED names `what`.
  void AwaitEvent(grpc::ServerContext& context, Deadline deadline, const std::string& what,
                  const std::function<bool()>& done);

  ControlStore& store_;
  ChargerLinkClient& link_;
  EventWaiter& waiter_;
  std::chrono::milliseconds command_timeout_;
  std::chrono::milliseconds offline_after_{0};
  std::chrono::seconds password_grace_{600};
  RealClock clock_;
};

// Fills the public view of a charger, status derived by DeriveChargerStatus; `live` is whether
// it counts as connected (ControlServiceImpl::IsLive).
void FillCharger(const ChargerRecord& record, bool live, csms::control::v1::Charger* out);
void FillStation(const StationRecord& record, csms::control::v1::Station* out);

}  // namespace csms::control
