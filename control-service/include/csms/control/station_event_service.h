#pragma once

#include "csms/control/charger_link_client.h"
#include "csms/control/store.h"
#include "csms/control/v1/control.grpc.pb.h"
#include "csms/control/waiter.h"

namespace csms::control {

// What the gateways report about their chargers: connections, boots, statuses, transactions.
class StationEventServiceImpl final : public csms::control::v1::StationEventService::Service {
 public:
  StationEventServiceImpl(ControlStore& store, ChargerLinkClient& link, EventWaiter& waiter,
                          int heartbeat_interval_seconds)
      : store_(store),
        link_(link),
        waiter_(waiter),
        heartbeat_interval_seconds_(heartbeat_interval_seconds) {}

  grpc::Status StationConnected(grpc::ServerContext* context,
                                const csms::control::v1::StationConnectedRequest* request,
                                csms::control::v1::StationConnectedResponse* response) override;
  grpc::Status StationDisconnected(
      grpc::ServerContext* context, const csms::control::v1::StationDisconnectedRequest* request,
      csms::control::v1::StationDisconnectedResponse* response) override;
  grpc::Status BootNotification(grpc::ServerContext* context,
                                const csms::control::v1::BootNotificationRequest* request,
                                csms::control::v1::BootNotificationResponse* response) override;
  grpc::Status ReportStatus(grpc::ServerContext* context,
                            const csms::control::v1::StatusReport* request,
                            csms::control::v1::ReportResponse* response) override;
  grpc::Status ReportLastSeen(grpc::ServerContext* context,
                              const csms::control::v1::LastSeenBatch* request,
                              csms::control::v1::ReportResponse* response) override;
  grpc::Status ReportTransactionEvent(grpc::ServerContext* context,
                                      const csms::control::v1::TransactionEventReport* request,
                                      csms::control::v1::ReportResponse* response) override;

 private:
  ControlStore& store_;
  ChargerLinkClient& link_;
  EventWaiter& waiter_;
  int heartbeat_interval_seconds_;
};

}  // namespace csms::control
