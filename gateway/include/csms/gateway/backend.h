#pragma once

#include <grpcpp/support/status.h>

#include <functional>
#include <string>
#include <vector>

#include "csms/billing/v1/billing.pb.h"
#include "csms/common/time_util.h"
#include "csms/control/v1/control.pb.h"
#include "csms/control/v1/reservations.pb.h"
#include "csms/ocpp/v1/events.pb.h"

namespace csms::gateway {

template <typename Response>
using Completion = std::function<void(const grpc::Status&, const Response&)>;

// The services behind the gateway, as the OCPP message handlers see them. Completions may run on
// any thread. Fire-and-forget reports are retried or logged inside; they never block a charger.
class Backend {
 public:
  virtual ~Backend() = default;

  // `done` runs with the first attempt's outcome; when that failed, the report is retried and
  // `done` runs once more with the answer of the attempt that gets through.
  virtual void StationConnected(const control::v1::StationConnectedRequest& request,
                                Completion<control::v1::StationConnectedResponse> done) = 0;
  virtual void StationDisconnected(const control::v1::StationDisconnectedRequest& request) = 0;
  virtual void BootNotification(const control::v1::BootNotificationRequest& request,
                                Completion<control::v1::BootNotificationResponse> done) = 0;
  virtual void ReportStatus(const control::v1::StatusReport& report) = 0;
  // Any message proves the charger alive; last-seen updates are batched, not sent per message.
  virtual void StationSeen(const std::string& charger_id, const std::string& connection_id,
                           TimePoint at) = 0;
  // Durable: completes OK only once billing has committed the event.
  virtual void RecordTransactionEvent(
      const ocpp::v1::TransactionEvent& event,
      Completion<billing::v1::RecordTransactionEventResponse> done) = 0;
  virtual void ReportTransactionEvent(const control::v1::TransactionEventReport& report) = 0;
  // Durable: completes OK only once control has stored every event in the charger's event log;
  // the message they came in is answered after that (or refused, and the charger retries).
  virtual void RecordChargerEvents(std::vector<control::v1::ChargerEvent> events,
                                   Completion<control::v1::ReportResponse> done) = 0;
  // Durable: completes OK only once control has applied the NotifyReport part to the charger's
  // device model (the charger gets its answer, and sends the next part, only then).
  virtual void RecordReportPart(control::v1::ReportPartRequest part,
                                Completion<control::v1::ReportResponse> done) = 0;
  // A charger's Authorize, decided by control from the token store.
  virtual void AuthorizeToken(const control::v1::AuthorizeTokenRequest& request,
                              Completion<control::v1::AuthorizeTokenResponse> done) = 0;
  // Checks a connecting charger's credentials against its provisioning. The default (for
  // backends without a registry) treats every charger as unprovisioned.
  virtual void AuthenticateStation(const control::v1::AuthenticateStationRequest& request,
                                   Completion<control::v1::AuthenticateStationResponse> done) {
    (void)request;
    done(grpc::Status::OK, control::v1::AuthenticateStationResponse());
  }
  // Durable: completes OK only once control has stored the charger's ReservationStatusUpdate
  // (H04); the charger is answered after that, or refused and retries.
  virtual void RecordReservationStatus(
      const control::v1::RecordReservationStatusRequest& request,
      Completion<control::v1::RecordReservationStatusResponse> done) = 0;
};

}  // namespace csms::gateway
