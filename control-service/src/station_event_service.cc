#include "csms/control/station_event_service.h"

#include "csms/common/log.h"
#include "csms/control/decisions.h"
#include "csms/control/rpc_status.h"

namespace csms::control {
namespace {

constexpr const char* kComponent = "control";

void RequireChargerId(const std::string& charger_id) {
  if (charger_id.empty()) {
    throw RpcError(grpc::StatusCode::INVALID_ARGUMENT, "charger_id is required");
  }
}

// A gateway that leaves a timestamp out means "now".
TimePoint TimeOrNow(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return RealClock().Now();
  return FromProto(ts);
}

}  // namespace

grpc::Status StationEventServiceImpl::StationConnected(
    grpc::ServerContext*, const csms::control::v1::StationConnectedRequest* request,
    csms::control::v1::StationConnectedResponse* response) {
  return RunRpc("StationConnected", [&] {
    RequireChargerId(request->charger_id());
    ControlStore::ConnectOutcome outcome =
        store_.MarkConnected(request->charger_id(), request->connection_id(),
                             request->gateway_address(), TimeOrNow(request->connected_at()));
    response->set_registration_status(outcome.registration_status);
    if (!outcome.close_connection_id.empty()) {
      // One live connection per charger, whichever gateway holds the other one.
      link_.DisconnectAsync(outcome.close_gateway_address, request->charger_id(),
                            outcome.close_connection_id, "replaced by a newer connection");
    }
    CSMS_LOG(kInfo, kComponent) << "charger " << log::Sanitize(request->charger_id())
                                << " connected via " << log::Sanitize(request->gateway_address())
                                << " (connection " << log::Sanitize(request->connection_id())
                                << ")";
  });
}

grpc::Status StationEventServiceImpl::StationDisconnected(
    grpc::ServerContext*, const csms::control::v1::StationDisconnectedRequest* request,
    csms::control::v1::StationDisconnectedResponse*) {
  return RunRpc("StationDisconnected", [&] {
    RequireChargerId(request->charger_id());
    bool offline = store_.MarkDisconnected(request->charger_id(), request->connection_id(),
                                           TimeOrNow(request->disconnected_at()));
    CSMS_LOG(kInfo, kComponent) << "charger " << log::Sanitize(request->charger_id())
                                << " connection " << log::Sanitize(request->connection_id())
                                << (offline ? " closed; charger offline"
                                            : " closed; not its current connection, ignored");
  });
}

grpc::Status StationEventServiceImpl::BootNotification(
    grpc::ServerContext*, const csms::control::v1::BootNotificationRequest* request,
    csms::control::v1::BootNotificationResponse* response) {
  return RunRpc("BootNotification", [&] {
    RequireChargerId(request->charger_id());
    BootDecision decision = DecideBoot(request->charger_id(), heartbeat_interval_seconds_);
    store_.RecordBoot(
        {request->charger_id(), request->connection_id(), request->reason(), request->vendor(),
         request->model(), request->serial_number(), request->firmware_version()},
        decision.status);
    response->set_status(decision.status);
    response->set_interval_seconds(decision.interval_seconds);
    CSMS_LOG(kInfo, kComponent) << "charger " << log::Sanitize(request->charger_id()) << " booted ("
                                << log::Sanitize(request->reason()) << ", "
                                << log::Sanitize(request->vendor()) << " "
                                << log::Sanitize(request->model()) << "): " << decision.status;
  });
}

grpc::Status StationEventServiceImpl::ReportStatus(grpc::ServerContext*,
                                                   const csms::control::v1::StatusReport* request,
                                                   csms::control::v1::ReportResponse*) {
  return RunRpc("ReportStatus", [&] {
    RequireChargerId(request->charger_id());
    if (request->status().empty()) {
      throw RpcError(grpc::StatusCode::INVALID_ARGUMENT, "status is required");
    }
    store_.UpsertConnectorStatus(request->charger_id(), request->connection_id(),
                                 request->evse_id(), request->connector_id(), request->status(),
                                 TimeOrNow(request->timestamp()));
  });
}

grpc::Status StationEventServiceImpl::ReportLastSeen(
    grpc::ServerContext*, const csms::control::v1::LastSeenBatch* request,
    csms::control::v1::ReportResponse*) {
  return RunRpc("ReportLastSeen", [&] {
    std::vector<LastSeenEntry> entries;
    entries.reserve(request->entries_size());
    for (const auto& entry : request->entries()) {
      if (entry.charger_id().empty()) continue;
      entries.push_back({entry.charger_id(), TimeOrNow(entry.seen_at())});
    }
    store_.UpdateLastSeen(entries);
  });
}

grpc::Status StationEventServiceImpl::ReportTransactionEvent(
    grpc::ServerContext*, const csms::control::v1::TransactionEventReport* request,
    csms::control::v1::ReportResponse*) {
  return RunRpc("ReportTransactionEvent", [&] {
    RequireChargerId(request->event().charger_id());
    if (request->event().transaction_id().empty()) {
      throw RpcError(grpc::StatusCode::INVALID_ARGUMENT, "event.transaction_id is required");
    }
    store_.ApplyTransactionEvent(*request);
    // Commands waiting in this process look at the database again now.
    waiter_.Notify();
  });
}

}  // namespace csms::control
