#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "csms/common/api_auth.h"
#include "csms/control/charger_access.h"
#include "csms/control/command_sender.h"
#include "csms/control/reservation_store.h"
#include "csms/control/v1/reservations.grpc.pb.h"

namespace csms::control {

// csms.control.v1.ReservationService on the gRPC callback API (reservations.proto). Every method
// checks its caller itself (operator_call.h AuthorizeCaller): operate for CreateReservation and
// CancelReservation, read for ListReservations, service for the gateway's
// RecordReservationStatus.
class ReservationServiceImpl final : public v1::ReservationService::CallbackService {
 public:
  struct Options {
    std::chrono::milliseconds call_timeout{30000};
  };
  // `auth` null or disabled: open mode.
  ReservationServiceImpl(const ChargerAccess& access, ReservationStore& store,
                         CommandSender& sender, auth::Authenticator* auth, Options options)
      : access_(access), store_(store), sender_(sender), auth_(auth), options_(options) {}

  grpc::ServerUnaryReactor* CreateReservation(grpc::CallbackServerContext* context,
                                              const v1::CreateReservationRequest* request,
                                              v1::CreateReservationResponse* response) override;
  grpc::ServerUnaryReactor* CancelReservation(grpc::CallbackServerContext* context,
                                              const v1::CancelReservationRequest* request,
                                              v1::CancelReservationResponse* response) override;
  grpc::ServerUnaryReactor* ListReservations(grpc::CallbackServerContext* context,
                                             const v1::ListReservationsRequest* request,
                                             v1::ListReservationsResponse* response) override;
  grpc::ServerUnaryReactor* RecordReservationStatus(
      grpc::CallbackServerContext* context, const v1::RecordReservationStatusRequest* request,
      v1::RecordReservationStatusResponse* response) override;

 private:
  const ChargerAccess& access_;
  ReservationStore& store_;
  CommandSender& sender_;
  auth::Authenticator* auth_;
  Options options_;
};

// "" when the request may become a ReserveNow, else why not (one sentence naming the field);
// `now` decides whether expires_at is in the future. The EVSE is checked against the store.
std::string ValidateReservation(const v1::CreateReservationRequest& request, TimePoint now);

// Releases reservations past their expires_at (ReservationStore::ExpireDue) every `interval`,
// in every replica (the UPDATE is idempotent), until destroyed.
class ReservationSweep {
 public:
  ReservationSweep(ReservationStore& store, std::chrono::milliseconds interval);
  ~ReservationSweep();
  ReservationSweep(const ReservationSweep&) = delete;
  ReservationSweep& operator=(const ReservationSweep&) = delete;

 private:
  void RunOnce();

  ReservationStore& store_;
  const std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace csms::control
