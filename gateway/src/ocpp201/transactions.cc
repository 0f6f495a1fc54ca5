// E: transactions. A TransactionEvent is answered only once billing (or, while billing is
// unreachable, this gateway's outbox) has stored it durably; otherwise the charger gets a
// CALLERROR and retries (E13). The payload is read by the normalizer, which also takes the seed
// simulator's dialect (not OCPP 2.0.1, so it has no generated type and is checked there).
#include "csms/common/log.h"
#include "csms/gateway/call_router.h"
#include "csms/gateway/normalize.h"
#include "csms/gateway/ocpp201/blocks.h"
#include "csms/ocpp/v201/transaction_event.h"

namespace csms::gateway::ocpp201 {
namespace {

namespace v201 = ocpp::v201;
namespace ec = ocpp::error_code;
using Respond = Responder<v201::TransactionEventResponse>;

// totalCost on Ended (when billing priced it) and idTokenInfo whenever the request carried an
// idToken.
v201::TransactionEventResponse Answer(const ocpp::v1::TransactionEvent& event,
                                      const billing::v1::Session* session) {
  v201::TransactionEventResponse answer;
  if (session != nullptr && event.event_type() == ocpp::v1::TRANSACTION_EVENT_TYPE_ENDED) {
    answer.total_cost = session->cost();
  }
  if (!event.id_token().empty()) {
    answer.id_token_info.emplace().status = v201::AuthorizationStatusEnum::kAccepted;
  }
  return answer;
}

constexpr const char* kNotStored = "the event could not be stored durably right now; please retry";

void QueueInOutbox(Outbox& outbox, const ocpp::v1::TransactionEvent& event, Respond respond) {
  outbox.Append(event, [event, respond](bool durable) {
    if (!durable) return respond.Error(ec::kInternalError, kNotStored);
    // Stored on this gateway's disk; billing gets it when it is back (and prices it then).
    respond.Ok(Answer(event, nullptr));
  });
}

void OnTransactionEvent(const BlockContext& ctx, const RawCall& call, Respond respond) {
  const auto& station = call.station;
  ocpp::v1::TransactionEvent event =
      NormalizeTransactionEvent(call.frame.payload, station->charger_id, station->connection_id,
                                ctx.clock.Now(), ctx.options.strict);
  // Events already waiting in the outbox go first: a new one queues behind them, in order.
  if (ctx.outbox != nullptr && ctx.outbox->HasBacklog()) {
    return QueueInOutbox(*ctx.outbox, event, std::move(respond));
  }
  ctx.backend.RecordTransactionEvent(
      event, [&ctx, event, respond](const grpc::Status& status,
                                    const billing::v1::RecordTransactionEventResponse& stored) {
        if (!status.ok()) {
          const bool unreachable = status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                                   status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
          if (unreachable && ctx.outbox != nullptr) {
            return QueueInOutbox(*ctx.outbox, event, respond);
          }
          // Never acknowledge what was not stored: the charger keeps the event and retries.
          CSMS_LOG_WITH(kWarn, "gateway",
                        (log::Fields{event.charger_id(), respond.message_id(), "TransactionEvent"}))
              << "TransactionEvent " << log::Sanitize(event.transaction_id(), 40) << " of "
              << event.charger_id() << " not stored: " << static_cast<int>(status.error_code())
              << " " << status.error_message();
          return respond.Error(ec::kInternalError, kNotStored);
        }
        ctx.backend.ReportTransactionEvent(MakeTransactionReport(event, stored));
        respond.Ok(Answer(event, &stored.session()));
      });
}

}  // namespace

void AddTransactionRoutes(RouteTable& routes, const BlockContext& ctx) {
  Route& route =
      routes.AddRaw<v201::TransactionEventResponse>([&ctx](const RawCall& call, Respond respond) {
        OnTransactionEvent(ctx, call, std::move(respond));
      });
  // The seed simulator's dialect is not OCPP 2.0.1: the normalizer checks it instead.
  if (!ctx.options.strict) {
    route.validates_itself = [](const nlohmann::json& payload) {
      return DetectTransactionDialect(payload) == ocpp::v1::DIALECT_SEED;
    };
  }
}

}  // namespace csms::gateway::ocpp201
