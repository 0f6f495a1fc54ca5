// E: transactions. A TransactionEvent is answered only once billing (or, while billing is
// unreachable, this gateway's outbox) has stored it durably; otherwise the charger gets a
// CALLERROR and retries (E13). The payload is read by the normalizer, which also takes the seed
// simulator's dialect (not OCPP 2.0.1, so it has no generated type and is checked there).
#include "csms/common/log.h"
#include "csms/gateway/call_router.h"
#include "csms/gateway/normalize.h"
#include "csms/gateway/ocpp201/blocks.h"
#include "csms/gateway/ocpp201/id_token_info.h"
#include "csms/ocpp/v201/transaction_event.h"

namespace csms::gateway::ocpp201 {
namespace {

namespace v201 = ocpp::v201;
namespace ec = ocpp::error_code;
using Respond = Responder<v201::TransactionEventResponse>;

// totalCost (when billing priced the event): the final cost on Ended (I03) and, to a charger that
// shows running costs in the session's currency (`cost_currency`), the running cost on Updated
// (I02). idTokenInfo whenever the request carried an idToken: the one stored with the event's
// first copy (`id_token_info_json`), so a repeated event gets the first answer; while the session
// runs, with the tariff's text as personalMessage when the token has no message of its own (I01).
v201::TransactionEventResponse Answer(const ocpp::v1::TransactionEvent& event,
                                      const billing::v1::RecordTransactionEventResponse* stored,
                                      const std::string& cost_currency = "") {
  v201::TransactionEventResponse answer;
  const bool ended = event.event_type() == ocpp::v1::TRANSACTION_EVENT_TYPE_ENDED;
  if (stored != nullptr) {
    const billing::v1::Session& session = stored->session();
    const bool running_cost = event.event_type() == ocpp::v1::TRANSACTION_EVENT_TYPE_UPDATED &&
                              !session.ended() && !cost_currency.empty() &&
                              cost_currency == session.currency();
    if (ended || running_cost) answer.total_cost = session.cost();
  }
  if (event.id_token_type().empty()) return answer;
  std::string info = event.id_token_decision().id_token_info_json();
  if (stored != nullptr && stored->duplicate()) {
    // A repeat gets the first copy's answer; a copy stored before decisions were kept was
    // answered Accepted.
    info = stored->id_token_info_json().empty() ? R"({"status":"Accepted"})"
                                                : stored->id_token_info_json();
  }
  try {
    answer.id_token_info = nlohmann::json::parse(info).get<v201::IdTokenInfo>();
  } catch (const std::exception&) {
    answer.id_token_info.emplace().status = v201::AuthorizationStatusEnum::kAccepted;
  }
  if (stored != nullptr && !ended && !stored->tariff_text().empty() &&
      !answer.id_token_info->personal_message) {
    v201::MessageContent message;
    message.format = v201::MessageFormatEnum::kUTF8;
    message.content = stored->tariff_text();  // at most 512 bytes, as billing stores it
    answer.id_token_info->personal_message = std::move(message);
  }
  return answer;
}

// The decision the charger is answered and billing stores with the event.
void SetDecision(const control::v1::AuthorizeTokenResponse& d, const v201::IdTokenInfo& info,
                 ocpp::v1::TransactionEvent* event) {
  ocpp::v1::IdTokenDecision* decision = event->mutable_id_token_decision();
  decision->set_status(d.status());
  decision->set_account_id(d.account_id());
  decision->set_flagged(d.flagged());
  decision->set_reason(d.reason());
  decision->set_id_token_info_json(nlohmann::json(info).dump());
}

constexpr const char* kNotStored = "the event could not be stored durably right now; please retry";

void QueueInOutbox(Outbox& outbox, const ocpp::v1::TransactionEvent& event, Respond respond) {
  outbox.Append(event, [event, respond](bool durable) {
    if (!durable) return respond.Error(ec::kInternalError, kNotStored);
    // Stored on this gateway's disk; billing gets it when it is back (and prices it then).
    respond.Ok(Answer(event, nullptr));
  });
}

void StoreTransactionEvent(const BlockContext& ctx, ocpp::v1::TransactionEvent event,
                           std::string cost_currency, Respond respond);

// A token in the event is decided by control first (E05, ConcurrentTx, the first decision of
// the transaction's token kept), then the event is stored with the decision. When control
// cannot decide, the event is still stored and answered Accepted, flagged for review: losing a
// transaction costs more than a short unchecked session, and the charger already authorized it.
void OnTransactionEvent(const BlockContext& ctx, const RawCall& call, Respond respond) {
  const auto& station = call.station;
  ocpp::v1::TransactionEvent event =
      NormalizeTransactionEvent(call.frame.payload, station->charger_id, station->connection_id,
                                ctx.clock.Now(), ctx.options.strict);
  event.set_station_id(station->station_id());
  if (auto max_w = station->evse_max_power_w(event.evse_id())) event.set_evse_max_power_w(*max_w);
  std::string cost_currency = station->cost_currency();
  if (event.id_token_type().empty()) {
    return StoreTransactionEvent(ctx, std::move(event), std::move(cost_currency), respond);
  }
  control::v1::AuthorizeTokenRequest request;
  request.set_charger_id(event.charger_id());
  request.set_id_token(event.id_token());
  request.set_type(event.id_token_type());
  control::v1::TransactionTokenContext* context = request.mutable_transaction();
  context->set_transaction_id(event.transaction_id());
  context->set_event_type(event.event_type());
  context->set_evse_id(event.evse_id());
  if (event.has_remote_start_id()) context->set_remote_start_id(event.remote_start_id());
  *context->mutable_timestamp() = event.timestamp();
  ctx.backend.AuthorizeToken(
      request,
      [&ctx, event = std::move(event), cost_currency = std::move(cost_currency), respond](
          const grpc::Status& status, const control::v1::AuthorizeTokenResponse& d) mutable {
        std::optional<v201::IdTokenInfo> info;
        if (status.ok()) info = IdTokenInfoFrom(d);
        if (info) {
          SetDecision(d, *info, &event);
        } else {
          const std::string why = status.ok()
                                      ? "control answered status " + log::Sanitize(d.status(), 40)
                                      : "control unreachable: " +
                                            std::to_string(static_cast<int>(status.error_code())) +
                                            " " + log::Sanitize(status.error_message(), 200);
          CSMS_LOG_WITH(kWarn, "gateway",
                        (log::Fields{event.charger_id(), respond.message_id(), "TransactionEvent"}))
              << "token of transaction " << log::Sanitize(event.transaction_id(), 40) << " of "
              << event.charger_id() << " not checked (" << why << "); accepted and flagged";
          control::v1::AuthorizeTokenResponse unchecked;
          unchecked.set_status("Accepted");
          unchecked.set_flagged(true);
          unchecked.set_reason("not checked (" + why + ")");
          SetDecision(unchecked, *IdTokenInfoFrom(unchecked), &event);
        }
        StoreTransactionEvent(ctx, std::move(event), std::move(cost_currency), std::move(respond));
      });
}

void StoreTransactionEvent(const BlockContext& ctx, ocpp::v1::TransactionEvent event,
                           std::string cost_currency, Respond respond) {
  // Events already waiting in the outbox go first: a new one queues behind them, in order.
  if (ctx.outbox != nullptr && ctx.outbox->HasBacklog()) {
    return QueueInOutbox(*ctx.outbox, event, std::move(respond));
  }
  ctx.backend.RecordTransactionEvent(
      event,
      [&ctx, event, cost_currency = std::move(cost_currency), respond](
          const grpc::Status& status, const billing::v1::RecordTransactionEventResponse& stored) {
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
        respond.Ok(Answer(event, &stored, cost_currency));
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
