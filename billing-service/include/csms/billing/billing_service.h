#pragma once

#include "csms/billing/ledger_store.h"
#include "csms/billing/v1/billing.grpc.pb.h"
#include "csms/common/time_util.h"

namespace csms::billing {

// csms.billing.v1.BillingService: validates requests, calls the ledger, and turns database
// failures into gRPC codes (UNAVAILABLE when PostgreSQL cannot be reached, so callers retry).
class BillingService final : public v1::BillingService::Service {
 public:
  BillingService(LedgerStore& store, const Clock& clock);

  grpc::Status RecordTransactionEvent(grpc::ServerContext* context,
                                      const v1::RecordTransactionEventRequest* request,
                                      v1::RecordTransactionEventResponse* response) override;
  grpc::Status GetSession(grpc::ServerContext* context, const v1::GetSessionRequest* request,
                          v1::Session* response) override;
  grpc::Status ListSessions(grpc::ServerContext* context, const v1::ListSessionsRequest* request,
                            v1::ListSessionsResponse* response) override;
  grpc::Status GetDailyStats(grpc::ServerContext* context, const v1::GetDailyStatsRequest* request,
                             v1::GetDailyStatsResponse* response) override;

 private:
  LedgerStore& store_;
  const Clock& clock_;
};

}  // namespace csms::billing
