#pragma once

#include <functional>

#include "csms/billing/event_batcher.h"
#include "csms/billing/ledger_store.h"
#include "csms/billing/v1/billing.grpc.pb.h"
#include "csms/common/time_util.h"

namespace csms::billing {

// csms.billing.v1.BillingService: validates requests, calls the ledger, and turns database
// failures into gRPC codes (UNAVAILABLE when PostgreSQL cannot be reached, so callers retry).
// RecordTransactionEvent(s) use the callback API: calls wait in the EventBatcher for a group
// commit without holding a thread each; the read methods stay synchronous.
class BillingService final : public v1::BillingService::WithCallbackMethod_RecordTransactionEvent<
                                 v1::BillingService::WithCallbackMethod_RecordTransactionEvents<
                                     v1::BillingService::Service>> {
 public:
  BillingService(LedgerStore& store, const Clock& clock, EventBatcher::Options batching = {});

  grpc::ServerUnaryReactor* RecordTransactionEvent(
      grpc::CallbackServerContext* context, const v1::RecordTransactionEventRequest* request,
      v1::RecordTransactionEventResponse* response) override;
  grpc::ServerUnaryReactor* RecordTransactionEvents(
      grpc::CallbackServerContext* context, const v1::RecordTransactionEventsRequest* request,
      v1::RecordTransactionEventsResponse* response) override;
  // The same as the RPC for callers in this process: validates, queues for a group commit and
  // calls `done` once the event is committed (or refused). `response` must outlive `done`.
  void RecordAsync(const v1::RecordTransactionEventRequest& request,
                   v1::RecordTransactionEventResponse* response,
                   std::function<void(grpc::Status)> done);
  void RecordAsync(const ocpp::v1::TransactionEvent& event,
                   v1::RecordTransactionEventResponse* response,
                   std::function<void(grpc::Status)> done);
  // RecordAsync, waiting for the answer.
  grpc::Status Record(const v1::RecordTransactionEventRequest& request,
                      v1::RecordTransactionEventResponse* response);
  grpc::Status GetSession(grpc::ServerContext* context, const v1::GetSessionRequest* request,
                          v1::Session* response) override;
  grpc::Status ListSessions(grpc::ServerContext* context, const v1::ListSessionsRequest* request,
                            v1::ListSessionsResponse* response) override;
  grpc::Status GetDailyStats(grpc::ServerContext* context, const v1::GetDailyStatsRequest* request,
                             v1::GetDailyStatsResponse* response) override;
  grpc::Status PutTariff(grpc::ServerContext* context, const v1::PutTariffRequest* request,
                         v1::Tariff* response) override;
  grpc::Status GetTariff(grpc::ServerContext* context, const v1::GetTariffRequest* request,
                         v1::Tariff* response) override;
  grpc::Status ListTariffs(grpc::ServerContext* context, const v1::ListTariffsRequest* request,
                           v1::ListTariffsResponse* response) override;
  grpc::Status SetStationTariff(grpc::ServerContext* context,
                                const v1::SetStationTariffRequest* request,
                                v1::StationTariff* response) override;
  grpc::Status GetStationTariff(grpc::ServerContext* context,
                                const v1::GetStationTariffRequest* request,
                                v1::StationTariff* response) override;

 private:
  LedgerStore& store_;
  const Clock& clock_;
  EventBatcher batcher_;  // last: its writers stop before the rest goes
};

}  // namespace csms::billing
