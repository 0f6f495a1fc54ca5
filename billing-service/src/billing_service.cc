#include "csms/billing/billing_service.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <future>
#include <memory>

#include "csms/common/log.h"

namespace csms::billing {
namespace {

using ocpp::v1::TransactionEvent;

constexpr const char* kComponent = "billing";
constexpr int kDefaultListLimit = 100;
constexpr int kMaxListLimit = 1000;

// Database errors travel to the caller (the gateway, and from there REST clients) only as far
// as they help it: the kind of failure, and for a transient or rejected write a short
// sanitized reason. SQL error texts (statements, constraint names, stored values) stay in this
// service's log.
std::string Detail(const char* what) { return log::Sanitize(what, 200); }

grpc::Status Unavailable(const std::string& detail) {
  return {grpc::StatusCode::UNAVAILABLE, "billing database unavailable: " + detail};
}

// Maps what a ledger call threw to a gRPC status.
grpc::Status StatusOf(const char* method, std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const InvalidTariff& e) {
    return {grpc::StatusCode::INVALID_ARGUMENT, e.what()};
  } catch (const UnknownTariff& e) {
    return {grpc::StatusCode::NOT_FOUND, e.what()};
  } catch (const pqxx::broken_connection& e) {
    return Unavailable(Detail(e.what()));
  } catch (const pqxx::in_doubt_error& e) {
    // The commit may or may not have landed; a retry is safe because events are idempotent.
    return Unavailable("commit outcome unknown, retry: " + Detail(e.what()));
  } catch (const pqxx::transaction_rollback& e) {
    return {grpc::StatusCode::ABORTED, "billing transaction conflict, retry: " + Detail(e.what())};
  } catch (const pqxx::data_exception& e) {
    return {grpc::StatusCode::INVALID_ARGUMENT, "rejected by the ledger: " + Detail(e.what())};
  } catch (const pqxx::sql_error& e) {
    // Class 08 (connection exception) and 57P (server shutting down or starting): transient.
    const std::string& state = e.sqlstate();
    if (state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0)
      return Unavailable(Detail(e.what()));
    CSMS_LOG(kError, kComponent) << method << ": SQL error " << log::Sanitize(state, 5) << ": "
                                 << log::Sanitize(e.what());
    return {grpc::StatusCode::INTERNAL, "billing database error"};
  } catch (const std::exception& e) {
    CSMS_LOG(kError, kComponent) << method << ": " << log::Sanitize(e.what());
    return {grpc::StatusCode::INTERNAL, "billing error"};
  } catch (...) {
    CSMS_LOG(kError, kComponent) << method << ": unknown exception";
    return {grpc::StatusCode::INTERNAL, "billing error"};
  }
}

// Runs one request against the ledger and maps what it throws to a gRPC status.
template <typename Body>
grpc::Status Guarded(const char* method, Body&& body) {
  try {
    return body();
  } catch (...) {
    return StatusOf(method, std::current_exception());
  }
}

grpc::Status InvalidArgument(const std::string& message) {
  return {grpc::StatusCode::INVALID_ARGUMENT, message};
}

// Empty when the event can be stored; otherwise what is wrong with it.
std::string ProblemWith(const TransactionEvent& event) {
  if (event.charger_id().empty()) return "event.charger_id is required";
  if (event.transaction_id().empty()) return "event.transaction_id is required";
  if (event.dedup_key().empty()) return "event.dedup_key is required";
  // PostgreSQL text cannot hold NUL, and it would cut a batch's array parameter short.
  for (const std::string* text :
       {&event.charger_id(), &event.transaction_id(), &event.dedup_key(), &event.trigger_reason(),
        &event.charging_state(), &event.stopped_reason(), &event.id_token(), &event.id_token_type(),
        &event.connection_id(), &event.raw_payload_json()}) {
    if (text->find('\0') != std::string::npos) return "event text fields must not contain NUL";
  }
  if (event.event_type() != ocpp::v1::TRANSACTION_EVENT_TYPE_STARTED &&
      event.event_type() != ocpp::v1::TRANSACTION_EVENT_TYPE_UPDATED &&
      event.event_type() != ocpp::v1::TRANSACTION_EVENT_TYPE_ENDED) {
    return "event.event_type must be STARTED, UPDATED or ENDED";
  }
  const std::pair<bool, double> numbers[] = {
      {event.has_energy_register_wh(), event.energy_register_wh()},
      {event.has_meter_start_wh(), event.meter_start_wh()},
      {event.has_power_w(), event.power_w()},
      {event.has_station_reported_cost(), event.station_reported_cost()},
      {event.has_evse_max_power_w(), event.evse_max_power_w()}};
  for (const auto& [present, value] : numbers) {
    if (present && !std::isfinite(value)) return "event meter values and costs must be finite";
  }
  return "";
}

bool IsDate(const std::string& text) {
  return text.size() == 10 && ParseRfc3339(text + "T00:00:00Z").has_value();
}

void FillSession(const SessionState& s, v1::Session* out) {
  out->set_transaction_id(s.transaction_id);
  out->set_charger_id(s.charger_id);
  out->set_station_id(s.station_id);
  out->set_user_id(s.user_id);
  if (s.start_time) *out->mutable_start_time() = ToProto(*s.start_time);
  if (s.end_time) *out->mutable_end_time() = ToProto(*s.end_time);
  out->set_energy_consumed_kwh(static_cast<double>(s.energy_wh) / 1000);
  out->set_cost(static_cast<double>(s.cost_hundredths) / 100);
  out->set_currency(s.currency);
  out->set_stop_reason(s.stop_reason);
  if (s.meter_start) out->set_meter_start_wh(s.meter_start->wh);
  if (s.meter_stop) out->set_meter_stop_wh(s.meter_stop->wh);
  out->set_ended(s.ended);
  out->set_started_seen(s.started_seen);
  out->set_event_count(s.event_count);
  out->set_clock_suspect(s.clock_suspect);
  out->set_meter_resets(static_cast<int32_t>(s.meter_resets));
  out->set_id_token_type(s.id_token_type);
  out->set_account_id(s.account_id);
  out->set_authorization_status(s.authorization_status);
  out->set_authorization_flagged(s.authorization_flagged);
  out->set_authorization_reason(s.authorization_reason);
  out->set_implausible_readings(static_cast<int32_t>(s.implausible_readings));
  out->set_needs_review(s.needs_review);
  out->set_review_reason(s.review_reason);
  out->set_tariff_id(s.tariff_id);
  out->set_tariff_version(s.tariff_version);
  out->set_cost_minor(s.cost.total_minor);
  v1::CostBreakdown* cost = out->mutable_cost_breakdown();
  cost->set_energy_micros(s.cost.energy_micros);
  cost->set_charging_time_micros(s.cost.charging_time_micros);
  cost->set_idle_micros(s.cost.idle_micros);
  cost->set_session_fee_micros(s.cost.session_fee_micros);
  cost->set_min_max_adjustment_micros(s.cost.adjustment_micros);
  cost->set_tax_micros(s.cost.tax_micros);
  cost->set_prices_exclude_tax(s.cost.prices_exclude_tax);
  cost->set_charging_ms(s.cost.charging_ms);
  cost->set_idle_ms(s.cost.idle_ms);
  if (s.updated_at) *out->mutable_updated_at() = ToProto(*s.updated_at);
}

// Logs what an operator wants to see about a stored event.
void LogRecorded(const TransactionEvent& event, const RecordResult& result) {
  const SessionState& s = result.session;
  if (!result.duplicate && ClockSuspect(event)) {
    CSMS_LOG(kWarn, kComponent) << "charger " << log::Sanitize(event.charger_id())
                                << " clock is off: event " << log::Sanitize(event.dedup_key())
                                << " stamped " << FormatRfc3339(FromProto(event.timestamp()))
                                << ", received " << FormatRfc3339(FromProto(event.received_at()))
                                << "; dated by receive time";
  }
  if (result.duplicate) {
    CSMS_LOG(kDebug, kComponent) << "duplicate event " << log::Sanitize(event.dedup_key())
                                 << " of transaction " << log::Sanitize(s.transaction_id);
  } else if (event.event_type() == ocpp::v1::TRANSACTION_EVENT_TYPE_ENDED) {
    CSMS_LOG(kInfo, kComponent) << "transaction " << log::Sanitize(s.transaction_id)
                                << " on charger " << log::Sanitize(s.charger_id) << " ended ("
                                << log::Sanitize(s.stop_reason)
                                << "): " << FormatScaled(s.energy_wh, 3) << " kWh, "
                                << FormatScaled(s.cost_hundredths, 2) << " " << s.currency;
  }
}

}  // namespace

BillingService::BillingService(LedgerStore& store, const Clock& clock,
                               EventBatcher::Options batching)
    : store_(store), clock_(clock), batcher_(store, batching) {}

void BillingService::RecordAsync(const v1::RecordTransactionEventRequest& request,
                                 v1::RecordTransactionEventResponse* response,
                                 std::function<void(grpc::Status)> done) {
  RecordAsync(request.event(), response, std::move(done));
}

void BillingService::RecordAsync(const TransactionEvent& received,
                                 v1::RecordTransactionEventResponse* response,
                                 std::function<void(grpc::Status)> done) {
  TransactionEvent event = received;
  if (std::string problem = ProblemWith(event); !problem.empty()) {
    return done(InvalidArgument(problem));
  }
  NormalizeEvent(clock_.Now(), &event);
  // Kept for the log line; the batcher owns the event it stores.
  auto logged = std::make_shared<TransactionEvent>(event);
  batcher_.Submit(std::move(event),
                  [response, logged, done = std::move(done)](RecordOutcome outcome) {
                    if (outcome.error)
                      return done(StatusOf("RecordTransactionEvent", outcome.error));
                    response->set_duplicate(outcome.result->duplicate);
                    FillSession(outcome.result->session, response->mutable_session());
                    response->set_id_token_info_json(outcome.result->id_token_info_json);
                    response->set_review_raised(outcome.result->review_raised);
                    response->set_tariff_text(outcome.result->tariff_text);
                    LogRecorded(*logged, *outcome.result);
                    done(grpc::Status::OK);
                  });
}

grpc::ServerUnaryReactor* BillingService::RecordTransactionEvent(
    grpc::CallbackServerContext* context, const v1::RecordTransactionEventRequest* request,
    v1::RecordTransactionEventResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // Answered from the writer thread after the commit; the gRPC thread returns at once.
  RecordAsync(*request, response, [reactor](grpc::Status status) { reactor->Finish(status); });
  return reactor;
}

grpc::ServerUnaryReactor* BillingService::RecordTransactionEvents(
    grpc::CallbackServerContext* context, const v1::RecordTransactionEventsRequest* request,
    v1::RecordTransactionEventsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const int count = request->events_size();
  if (count == 0) {
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  // Every result slot exists before any writer thread fills one; each thread touches only its
  // own, and the last one to finish answers the call.
  for (int i = 0; i < count; ++i) response->add_results();
  auto remaining = std::make_shared<std::atomic<int>>(count);
  for (int i = 0; i < count; ++i) {
    v1::RecordTransactionEventResult* result = response->mutable_results(i);
    RecordAsync(request->events(i), result->mutable_response(),
                [reactor, result, remaining](grpc::Status status) {
                  if (!status.ok()) {
                    result->set_code(status.error_code());
                    result->set_message(status.error_message());
                    result->clear_response();
                  }
                  if (remaining->fetch_sub(1) == 1) reactor->Finish(grpc::Status::OK);
                });
  }
  return reactor;
}

grpc::Status BillingService::Record(const v1::RecordTransactionEventRequest& request,
                                    v1::RecordTransactionEventResponse* response) {
  std::promise<grpc::Status> promise;
  std::future<grpc::Status> status = promise.get_future();
  RecordAsync(request, response, [&promise](grpc::Status s) { promise.set_value(std::move(s)); });
  return status.get();
}

grpc::Status BillingService::GetSession(grpc::ServerContext*, const v1::GetSessionRequest* request,
                                        v1::Session* response) {
  if (request->transaction_id().empty()) return InvalidArgument("transaction_id is required");
  return Guarded("GetSession", [&] {
    const std::optional<SessionState> session =
        store_.GetSession(request->transaction_id(), request->charger_id());
    if (!session) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          "no session with transaction id " + request->transaction_id());
    }
    FillSession(*session, response);
    return grpc::Status::OK;
  });
}

grpc::Status BillingService::ListSessions(grpc::ServerContext*,
                                          const v1::ListSessionsRequest* request,
                                          v1::ListSessionsResponse* response) {
  const int limit =
      request->limit() <= 0 ? kDefaultListLimit : std::min(request->limit(), kMaxListLimit);
  return Guarded("ListSessions", [&] {
    SessionFilter filter{request->charger_id(), request->account_id(), request->flagged_only(),
                         request->review_only()};
    for (const SessionState& session : store_.ListSessions(filter, limit)) {
      FillSession(session, response->add_sessions());
    }
    return grpc::Status::OK;
  });
}

grpc::Status BillingService::GetDailyStats(grpc::ServerContext*,
                                           const v1::GetDailyStatsRequest* request,
                                           v1::GetDailyStatsResponse* response) {
  for (const std::string* date : {&request->from_date(), &request->to_date()}) {
    if (!date->empty() && !IsDate(*date)) {
      return InvalidArgument("dates must be YYYY-MM-DD, got '" + *date + "'");
    }
  }
  return Guarded("GetDailyStats", [&] {
    const std::string from =
        request->from_date().empty() ? store_.LocalDate(clock_.Now()) : request->from_date();
    const std::string to = request->to_date().empty() ? from : request->to_date();
    if (from > to) return InvalidArgument("from_date " + from + " is after to_date " + to);
    response->set_time_zone(store_.time_zone());
    for (const DailyStats& row :
         store_.GetDailyStats(request->charger_id(), from, to, request->account_id())) {
      v1::DailyStats* out = response->add_stats();
      out->set_charger_id(row.charger_id);
      out->set_date(row.date);
      out->set_sessions(row.sessions);
      out->set_total_energy_kwh(row.total_energy_kwh);
      out->set_total_revenue(row.total_revenue);
      out->set_currency(store_.tariff().currency);
    }
    return grpc::Status::OK;
  });
}

grpc::Status BillingService::PutTariff(grpc::ServerContext*, const v1::PutTariffRequest* request,
                                       v1::Tariff* response) {
  return Guarded("PutTariff", [&] {
    *response = store_.tariffs().Put(request->tariff(), clock_.Now());
    CSMS_LOG(kInfo, kComponent) << "tariff " << response->tariff_id() << " version "
                                << response->version() << " stored, valid from "
                                << FormatRfc3339(FromProto(response->valid_from()));
    return grpc::Status::OK;
  });
}

grpc::Status BillingService::GetTariff(grpc::ServerContext*, const v1::GetTariffRequest* request,
                                       v1::Tariff* response) {
  return Guarded("GetTariff", [&] {
    std::optional<v1::Tariff> tariff =
        store_.tariffs().Get(request->tariff_id(), request->version());
    if (!tariff) {
      return grpc::Status(
          grpc::StatusCode::NOT_FOUND,
          "no tariff " + log::Sanitize(request->tariff_id(), 64) +
              (request->version() > 0 ? " version " + std::to_string(request->version())
                                      : std::string()));
    }
    *response = std::move(*tariff);
    return grpc::Status::OK;
  });
}

grpc::Status BillingService::ListTariffs(grpc::ServerContext*,
                                         const v1::ListTariffsRequest* request,
                                         v1::ListTariffsResponse* response) {
  return Guarded("ListTariffs", [&] {
    for (v1::Tariff& tariff : store_.tariffs().List(request->tariff_id())) {
      *response->add_tariffs() = std::move(tariff);
    }
    return grpc::Status::OK;
  });
}

grpc::Status BillingService::SetStationTariff(grpc::ServerContext*,
                                              const v1::SetStationTariffRequest* request,
                                              v1::StationTariff* response) {
  return Guarded("SetStationTariff", [&] {
    *response = store_.tariffs().SetStationTariff(request->station_id(), request->tariff_id());
    return grpc::Status::OK;
  });
}

grpc::Status BillingService::GetStationTariff(grpc::ServerContext*,
                                              const v1::GetStationTariffRequest* request,
                                              v1::StationTariff* response) {
  if (request->station_id().empty()) return InvalidArgument("station_id is required");
  return Guarded("GetStationTariff", [&] {
    *response = store_.tariffs().GetStationTariff(request->station_id());
    return grpc::Status::OK;
  });
}

}  // namespace csms::billing
