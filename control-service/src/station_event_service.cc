#include "csms/control/station_event_service.h"

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>

#include "csms/common/log.h"
#include "csms/control/decisions.h"
#include "csms/control/event_log_store.h"
#include "csms/control/password_hash.h"
#include "csms/control/rpc_status.h"

namespace csms::control {
namespace {

constexpr const char* kComponent = "control";

void RequireChargerId(const std::string& charger_id) {
  if (charger_id.empty()) {
    throw RpcError(grpc::StatusCode::INVALID_ARGUMENT, "charger_id is required");
  }
}

// What every Authorize or TransactionEvent token question must name.
void RequireAuthorizeRequest(const csms::control::v1::AuthorizeTokenRequest& request) {
  RequireChargerId(request.charger_id());
  if (request.type().empty()) throw RpcError(grpc::StatusCode::INVALID_ARGUMENT, "no type");
}

// A gateway that leaves a timestamp out means "now".
TimePoint TimeOrNow(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return RealClock().Now();
  return FromProto(ts);
}

grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* context, const grpc::Status& status) {
  auto* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

StatusOp StatusOpOf(const csms::control::v1::StatusReport& r) {
  StatusOp op{r.charger_id(),   r.connection_id(), r.evse_id(),
              r.connector_id(), r.status(),        TimeOrNow(r.timestamp())};
  op.from_status_notification = r.from_status_notification();
  return op;
}

// The write a batched report stands for; nullopt (with a reason) for one that can never be
// stored, which is logged and skipped so it does not make the gateway resend the whole batch.
std::optional<WriteOp> OpForReport(const csms::control::v1::Report& report, std::string* problem) {
  using csms::control::v1::Report;
  switch (report.report_case()) {
    case Report::kStatus: {
      const auto& r = report.status();
      if (r.charger_id().empty() || r.status().empty()) {
        *problem = "status report without charger_id or status";
        return std::nullopt;
      }
      return StatusOpOf(r);
    }
    case Report::kTransactionEvent: {
      const auto& r = report.transaction_event();
      if (r.event().charger_id().empty() || r.event().transaction_id().empty()) {
        *problem = "transaction event report without charger_id or transaction_id";
        return std::nullopt;
      }
      return TransactionEventOp{r};
    }
    case Report::kDisconnected: {
      const auto& r = report.disconnected();
      if (r.charger_id().empty()) {
        *problem = "disconnect report without charger_id";
        return std::nullopt;
      }
      return DisconnectOp{r.charger_id(), r.connection_id(), TimeOrNow(r.disconnected_at())};
    }
    case Report::REPORT_NOT_SET:
      break;
  }
  *problem = "empty report";
  return std::nullopt;
}

}  // namespace

StationEventServiceImpl::StationEventServiceImpl(WriteBatcher& batcher, ChargerLinkClient& link,
                                                 EventWaiter& waiter,
                                                 int heartbeat_interval_seconds,
                                                 CredentialStore* store, int auth_threads,
                                                 CachedPasswordVerifier::Options password_cache)
    : batcher_(batcher),
      link_(link),
      waiter_(waiter),
      heartbeat_interval_seconds_(heartbeat_interval_seconds),
      store_(store),
      passwords_(std::move(password_cache)) {
  if (store_ == nullptr) return;
  for (int i = 0; i < auth_threads; ++i) {
    auth_threads_.emplace_back([this] {
      for (;;) {
        std::function<void()> job;
        {
          std::unique_lock lock(auth_mu_);
          auth_cv_.wait(lock, [this] { return auth_stopping_ || !auth_queue_.empty(); });
          if (auth_queue_.empty()) return;
          job = std::move(auth_queue_.front());
          auth_queue_.pop_front();
        }
        job();
      }
    });
  }
}

StationEventServiceImpl::~StationEventServiceImpl() {
  {
    std::lock_guard lock(auth_mu_);
    auth_stopping_ = true;
  }
  auth_cv_.notify_all();
  for (auto& t : auth_threads_) t.join();
}

void StationEventServiceImpl::set_authorization(Authorization authorization, int threads) {
  authorization_ = authorization;
  authorizers_ = std::make_unique<WorkQueue>(threads);
}

void StationEventServiceImpl::AnswerTransactionToken(
    const csms::control::v1::AuthorizeTokenRequest& request, const AuthorizeDecision& decision,
    csms::control::v1::AuthorizeTokenResponse* response) {
  FillAuthorizeResponse(decision, response);
  if (decision.flagged) {
    CSMS_LOG(kInfo, kComponent) << "charger " << log::Sanitize(request.charger_id())
                                << ": transaction "
                                << log::Sanitize(request.transaction().transaction_id(), 40) << " "
                                << log::Sanitize(request.type()) << " token: " << decision.status
                                << " (" << decision.reason << ")";
  }
}

void StationEventServiceImpl::Decide(const csms::control::v1::AuthorizeTokenRequest& request,
                                     csms::control::v1::AuthorizeTokenResponse* response) {
  RequireAuthorizeRequest(request);
  if (request.has_transaction() && authorization_.token_sessions) {
    AnswerTransactionToken(
        request, authorization_.token_sessions->Decide(request, RealClock().Now()), response);
    return;
  }
  AuthorizeFacts facts;
  facts.id_token = request.id_token();
  facts.type = request.type();
  facts.now = RealClock().Now();
  if (facts.type != "NoAuthorization") {
    facts.token = authorization_.tokens->Find(facts.type, facts.id_token);
    if (facts.token && facts.token->has_stations() && authorization_.stations) {
      facts.station_id = authorization_.stations->StationOf(request.charger_id());
    }
    if (!facts.token && facts.type == "Central" && authorization_.remote_starts) {
      facts.central_token_sent = authorization_.remote_starts->SentToken(
          request.charger_id(), facts.id_token, authorization_.remote_start_window);
    }
  }
  const AuthorizeDecision decision = DecideAuthorization(facts, authorization_.options);
  FillAuthorizeResponse(decision, response);
  if (decision.status != "Accepted" || decision.admitted_unknown) {
    CSMS_LOG(kInfo, kComponent) << "charger " << log::Sanitize(request.charger_id())
                                << ": Authorize " << log::Sanitize(facts.type)
                                << " token: " << decision.status << " (" << decision.reason << ")";
  }
}

grpc::ServerUnaryReactor* StationEventServiceImpl::AuthorizeToken(
    grpc::CallbackServerContext* context, const csms::control::v1::AuthorizeTokenRequest* request,
    csms::control::v1::AuthorizeTokenResponse* response) {
  grpc::Status invalid = RunRpc("AuthorizeToken", [&] { RequireAuthorizeRequest(*request); });
  if (!invalid.ok()) return Finish(context, invalid);
  return SubmitAuthorization(context, [this, request, response] {
    return RunRpc("AuthorizeToken", [&] { Decide(*request, response); });
  });
}

grpc::ServerUnaryReactor* StationEventServiceImpl::AuthorizeTokens(
    grpc::CallbackServerContext* context, const csms::control::v1::AuthorizeTokensRequest* request,
    csms::control::v1::AuthorizeTokensResponse* response) {
  return SubmitAuthorization(context, [this, request, response] {
    DecideAll(*request, response);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* StationEventServiceImpl::SubmitAuthorization(
    grpc::CallbackServerContext* context, std::function<grpc::Status()> decide) {
  if (!authorizers_ || authorization_.tokens == nullptr) {
    return Finish(context, grpc::Status(grpc::StatusCode::UNAVAILABLE, "no token store"));
  }
  auto* reactor = context->DefaultReactor();
  // A flood must not queue unbounded work: shed it (the charger gets a CALLERROR and retries).
  if (authorizers_->queued() >= 4096) {
    reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "too many Authorize"));
    return reactor;
  }
  authorizers_->Submit([reactor, decide = std::move(decide)] { reactor->Finish(decide()); });
  return reactor;
}

void StationEventServiceImpl::DecideAll(const csms::control::v1::AuthorizeTokensRequest& request,
                                        csms::control::v1::AuthorizeTokensResponse* response) {
  auto fail = [](csms::control::v1::AuthorizeTokenResult* result, const grpc::Status& status) {
    result->set_code(status.error_code());
    result->set_message(status.error_message());
    result->clear_response();
  };
  // TransactionEvents' tokens (all of them, under load): their facts in one statement, then
  // each decided on its own; anything else one by one.
  std::vector<const csms::control::v1::AuthorizeTokenRequest*> batched;
  std::vector<csms::control::v1::AuthorizeTokenResult*> batched_results;
  for (const auto& one : request.requests()) {
    auto* result = response->add_results();
    if (!one.has_transaction() || !authorization_.token_sessions) {
      const grpc::Status status =
          RunRpc("AuthorizeTokens", [&] { Decide(one, result->mutable_response()); });
      if (!status.ok()) fail(result, status);
      continue;
    }
    const grpc::Status valid = RunRpc("AuthorizeTokens", [&] { RequireAuthorizeRequest(one); });
    if (!valid.ok()) {
      fail(result, valid);
      continue;
    }
    batched.push_back(&one);
    batched_results.push_back(result);
  }
  if (batched.empty()) return;
  const TimePoint now = RealClock().Now();
  std::vector<TokenSessionStore::Facts> facts;
  const grpc::Status read = RunRpc(
      "AuthorizeTokens", [&] { facts = authorization_.token_sessions->ReadFacts(batched, now); });
  for (size_t i = 0; i < batched.size(); ++i) {
    auto* result = batched_results[i];
    const grpc::Status status =
        read.ok() ? RunRpc("AuthorizeTokens",
                           [&] {
                             AnswerTransactionToken(*batched[i],
                                                    authorization_.token_sessions->DecideOn(
                                                        *batched[i], std::move(facts[i]), now),
                                                    result->mutable_response());
                           })
                  : read;
    if (!status.ok()) fail(result, status);
  }
}

grpc::ServerUnaryReactor* StationEventServiceImpl::AuthenticateStation(
    grpc::CallbackServerContext* context,
    const csms::control::v1::AuthenticateStationRequest* request,
    csms::control::v1::AuthenticateStationResponse* response) {
  grpc::Status invalid =
      RunRpc("AuthenticateStation", [&] { RequireChargerId(request->charger_id()); });
  if (!invalid.ok()) return Finish(context, invalid);
  if (store_ == nullptr) {
    return Finish(context, grpc::Status(grpc::StatusCode::UNAVAILABLE, "no credential store"));
  }
  auto* reactor = context->DefaultReactor();
  {
    std::lock_guard lock(auth_mu_);
    // A flood of handshakes must not queue unbounded work: shed it, the gateway refuses (503).
    if (auth_queue_.size() >= 4096) {
      reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "too many handshakes"));
      return reactor;
    }
    auth_queue_.push_back([this, reactor, request, response] {
      reactor->Finish(RunRpc("AuthenticateStation", [&] {
        auto credentials = store_->Find(request->charger_id());
        StationAuthDecision decision =
            DecideStationAuth(credentials ? &*credentials : nullptr, *request,
                              [&](std::string_view password, std::string_view stored) {
                                return passwords_.Verify(request->charger_id(), password, stored);
                              });
        if (decision.provisioned && !decision.allowed) RecordRefusal(*request, decision);
        response->set_provisioned(decision.provisioned);
        response->set_security_profile(decision.security_profile);
        response->set_allowed(decision.allowed);
        response->set_reason(std::move(decision.reason));
      }));
    });
  }
  auth_cv_.notify_one();
  return reactor;
}

void StationEventServiceImpl::RecordRefusal(const csms::control::v1::AuthenticateStationRequest& r,
                                            const StationAuthDecision& decision) {
  v1::ChargerEvent e;
  e.set_charger_id(r.charger_id());
  e.set_kind(kCsmsSecurityEvent);
  e.set_type("AuthenticationFailed");
  *e.mutable_received_at() = ToProto(RealClock().Now());
  e.set_client_address(r.client_address());
  nlohmann::json payload = {{"reason", decision.reason},
                            {"security_profile", decision.security_profile},
                            {"tls", r.tls()},
                            {"password_given", r.has_password()}};
  if (!r.client_certificate_cn().empty())
    payload["client_certificate_cn"] = r.client_certificate_cn();
  e.set_payload_json(payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  ChargerEventsOp op;
  op.events.push_back(std::move(e));
  // Best effort: the refusal stands whether or not it is logged.
  batcher_.Submit(std::move(op), [](std::exception_ptr error, const WriteResult&) {
    if (error) {
      grpc::Status status = RunRpc("AuthenticateStation", [&] { std::rethrow_exception(error); });
      CSMS_LOG(kWarn, kComponent) << "a refused station login was not recorded: "
                                  << status.error_message();
    }
  });
}

grpc::ServerUnaryReactor* StationEventServiceImpl::RecordChargerEvents(
    grpc::CallbackServerContext* context,
    const csms::control::v1::RecordChargerEventsRequest* request,
    csms::control::v1::ReportResponse*) {
  ChargerEventsOp op;
  grpc::Status invalid = RunRpc("RecordChargerEvents", [&] {
    for (const auto& event : request->events()) {
      RequireChargerId(event.charger_id());
      if (event.kind().empty())
        throw RpcError(grpc::StatusCode::INVALID_ARGUMENT, "kind is required");
      if (!nlohmann::json::accept(event.payload_json())) {
        throw RpcError(grpc::StatusCode::INVALID_ARGUMENT, "payload_json is not JSON");
      }
      auto& e = op.events.emplace_back(event);
      if (!e.has_received_at()) *e.mutable_received_at() = ToProto(RealClock().Now());
    }
  });
  if (!invalid.ok()) return Finish(context, invalid);
  return Write(context, "RecordChargerEvents", std::move(op), [](const WriteResult&) {});
}

void StationEventServiceImpl::set_device_model(DeviceModelStore* store, int writers) {
  device_model_ = store;
  report_writers_ = std::make_unique<WorkQueue>(writers);
}

grpc::ServerUnaryReactor* StationEventServiceImpl::RecordReportPart(
    grpc::CallbackServerContext* context, const csms::control::v1::ReportPartRequest* request,
    csms::control::v1::ReportResponse*) {
  if (device_model_ == nullptr) {
    return Finish(context, grpc::Status(grpc::StatusCode::UNAVAILABLE, "no device model store"));
  }
  std::optional<ocpp::v201::NotifyReportRequest> part;
  grpc::Status invalid = RunRpc("RecordReportPart", [&] {
    RequireChargerId(request->charger_id());
    const auto payload = nlohmann::json::parse(request->payload_json(), nullptr, false);
    try {
      part = ocpp::Decode<ocpp::v201::NotifyReportRequest>(payload);
    } catch (const ocpp::model::DecodeError& e) {
      throw RpcError(grpc::StatusCode::INVALID_ARGUMENT,
                     std::string("not a NotifyReport: ") + e.what());
    }
  });
  if (!invalid.ok()) return Finish(context, invalid);
  auto* reactor = context->DefaultReactor();
  const TimePoint received_at = TimeOrNow(request->received_at());
  report_writers_->Submit([this, reactor, request, part = std::move(*part), received_at] {
    reactor->Finish(RunRpc("RecordReportPart", [&] {
      PartOutcome outcome = device_model_->ApplyPart(request->charger_id(), part, received_at);
      if (outcome.complete) {
        CSMS_LOG(kInfo, kComponent)
            << "charger " << log::Sanitize(request->charger_id()) << ": report " << part.request_id
            << " complete" << (outcome.swept > 0 ? ", " : "")
            << (outcome.swept > 0 ? std::to_string(outcome.swept) + " variables gone" : "");
        if (on_report_complete_) on_report_complete_();
      }
    }));
  });
  return reactor;
}

grpc::ServerUnaryReactor* StationEventServiceImpl::ReportBatch(
    grpc::CallbackServerContext* context, const csms::control::v1::ReportBatchRequest* request,
    csms::control::v1::ReportResponse*) {
  // Queued in order into the batcher, so they are applied in order; the call is answered once
  // all are committed, with the first failure if any (the gateway then resends the batch, which
  // changes nothing twice: every report is idempotent).
  struct Progress {
    std::atomic<int> remaining{0};
    std::mutex mu;
    grpc::Status first_error = grpc::Status::OK;
    bool transaction_events = false;
  };
  auto progress = std::make_shared<Progress>();
  std::vector<WriteOp> ops;
  ops.reserve(request->reports_size());
  for (const auto& report : request->reports()) {
    std::string problem;
    if (auto op = OpForReport(report, &problem)) {
      progress->transaction_events |= std::holds_alternative<TransactionEventOp>(*op);
      ops.push_back(std::move(*op));
    } else {
      CSMS_LOG(kWarn, kComponent) << "ReportBatch: skipped an invalid report: " << problem;
    }
  }
  auto* reactor = context->DefaultReactor();
  if (ops.empty()) {
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  progress->remaining = static_cast<int>(ops.size());
  for (auto& op : ops) {
    batcher_.Submit(
        std::move(op), [this, reactor, progress](std::exception_ptr error, const WriteResult&) {
          if (error) {
            grpc::Status status = RunRpc("ReportBatch", [&] { std::rethrow_exception(error); });
            std::lock_guard lock(progress->mu);
            if (progress->first_error.ok()) progress->first_error = status;
          }
          if (progress->remaining.fetch_sub(1) != 1) return;
          // Commands waiting in this process look at the database again now.
          if (progress->transaction_events) waiter_.Notify();
          std::lock_guard lock(progress->mu);
          reactor->Finish(progress->first_error);
        });
  }
  return reactor;
}

grpc::ServerUnaryReactor* StationEventServiceImpl::Write(
    grpc::CallbackServerContext* context, const char* rpc, WriteOp op,
    std::function<void(const WriteResult&)> then) {
  auto* reactor = context->DefaultReactor();
  batcher_.Submit(std::move(op), [reactor, rpc, then = std::move(then)](std::exception_ptr error,
                                                                        const WriteResult& result) {
    reactor->Finish(RunRpc(rpc, [&] {
      if (error) std::rethrow_exception(error);
      then(result);
    }));
  });
  return reactor;
}

void StationEventServiceImpl::RememberGatewayUrl(const std::string& gateway_address,
                                                 const std::string& url) {
  std::pair<std::string, std::string> key{gateway_address, url};
  {
    std::lock_guard lock(gateway_urls_mu_);
    if (gateway_urls_.count(key)) return;
  }
  // Once per gateway (and URL) in this replica; a failure is retried at the next connect.
  try {
    log_uploads_->RememberGatewayPublicUrl(gateway_address, url);
    std::lock_guard lock(gateway_urls_mu_);
    gateway_urls_.insert(std::move(key));
  } catch (const std::exception& e) {
    CSMS_LOG(kWarn, kComponent) << "could not store the public URL of gateway "
                                << log::Sanitize(gateway_address) << ": "
                                << log::Sanitize(e.what(), 200);
  }
}

grpc::ServerUnaryReactor* StationEventServiceImpl::StationConnected(
    grpc::CallbackServerContext* context, const csms::control::v1::StationConnectedRequest* request,
    csms::control::v1::StationConnectedResponse* response) {
  grpc::Status invalid =
      RunRpc("StationConnected", [&] { RequireChargerId(request->charger_id()); });
  if (!invalid.ok()) return Finish(context, invalid);
  if (log_uploads_ && !request->public_base_url().empty()) {
    RememberGatewayUrl(request->gateway_address(), request->public_base_url());
  }
  return Write(context, "StationConnected",
               ConnectOp{request->charger_id(), request->connection_id(),
                         request->gateway_address(), TimeOrNow(request->connected_at())},
               [this, request, response](const WriteResult& result) {
                 const ConnectOutcome& outcome = result.connect;
                 response->set_registration_status(outcome.registration_status);
                 response->set_station_id(outcome.station_id);
                 response->set_cost_currency(outcome.cost_currency);
                 for (const auto& [evse, watts] : outcome.evse_max_power_w) {
                   (*response->mutable_evse_max_power_w())[evse] = watts;
                 }
                 if (!outcome.close_connection_id.empty()) {
                   // One live connection per charger, whichever gateway holds the other one.
                   link_.DisconnectAsync(outcome.close_gateway_address, request->charger_id(),
                                         outcome.close_connection_id,
                                         "replaced by a newer connection");
                 }
                 CSMS_LOG(kInfo, kComponent)
                     << "charger " << log::Sanitize(request->charger_id()) << " connected via "
                     << log::Sanitize(request->gateway_address()) << " (connection "
                     << log::Sanitize(request->connection_id()) << ")";
               });
}

grpc::ServerUnaryReactor* StationEventServiceImpl::StationDisconnected(
    grpc::CallbackServerContext* context,
    const csms::control::v1::StationDisconnectedRequest* request,
    csms::control::v1::StationDisconnectedResponse*) {
  grpc::Status invalid =
      RunRpc("StationDisconnected", [&] { RequireChargerId(request->charger_id()); });
  if (!invalid.ok()) return Finish(context, invalid);
  return Write(context, "StationDisconnected",
               DisconnectOp{request->charger_id(), request->connection_id(),
                            TimeOrNow(request->disconnected_at())},
               [request](const WriteResult& result) {
                 CSMS_LOG(kInfo, kComponent)
                     << "charger " << log::Sanitize(request->charger_id()) << " connection "
                     << log::Sanitize(request->connection_id())
                     << (result.applied ? " closed; charger offline"
                                        : " closed; not its current connection, ignored");
               });
}

grpc::ServerUnaryReactor* StationEventServiceImpl::BootNotification(
    grpc::CallbackServerContext* context, const csms::control::v1::BootNotificationRequest* request,
    csms::control::v1::BootNotificationResponse* response) {
  grpc::Status invalid =
      RunRpc("BootNotification", [&] { RequireChargerId(request->charger_id()); });
  if (!invalid.ok()) return Finish(context, invalid);
  // The default for an unprovisioned charger; a provisioned one is decided by its approval, read
  // in the same group-committed transaction that records the boot.
  BootDecision decision = DecideBoot(request->charger_id(), heartbeat_interval_seconds_);
  BootOp op{{request->charger_id(), request->connection_id(), request->reason(), request->vendor(),
             request->model(), request->serial_number(), request->firmware_version()},
            decision.status,
            request->require_provisioning()};
  return Write(context, "BootNotification", std::move(op),
               [request, response, decision](const WriteResult& result) {
                 response->set_status(result.boot_status);
                 response->set_interval_seconds(decision.interval_seconds);
                 CSMS_LOG(kInfo, kComponent)
                     << "charger " << log::Sanitize(request->charger_id()) << " booted ("
                     << log::Sanitize(request->reason()) << ", " << log::Sanitize(request->vendor())
                     << " " << log::Sanitize(request->model()) << "): " << result.boot_status;
               });
}

grpc::ServerUnaryReactor* StationEventServiceImpl::ReportStatus(
    grpc::CallbackServerContext* context, const csms::control::v1::StatusReport* request,
    csms::control::v1::ReportResponse*) {
  grpc::Status invalid = RunRpc("ReportStatus", [&] {
    RequireChargerId(request->charger_id());
    if (request->status().empty()) {
      throw RpcError(grpc::StatusCode::INVALID_ARGUMENT, "status is required");
    }
  });
  if (!invalid.ok()) return Finish(context, invalid);
  return Write(context, "ReportStatus", StatusOpOf(*request), [](const WriteResult&) {});
}

grpc::ServerUnaryReactor* StationEventServiceImpl::ReportLastSeen(
    grpc::CallbackServerContext* context, const csms::control::v1::LastSeenBatch* request,
    csms::control::v1::ReportResponse*) {
  LastSeenOp op;
  op.entries.reserve(request->entries_size());
  for (const auto& entry : request->entries()) {
    if (entry.charger_id().empty()) continue;
    op.entries.push_back({entry.charger_id(), TimeOrNow(entry.seen_at())});
  }
  if (op.entries.empty()) return Finish(context, grpc::Status::OK);
  return Write(context, "ReportLastSeen", std::move(op), [](const WriteResult&) {});
}

grpc::ServerUnaryReactor* StationEventServiceImpl::ReportTransactionEvent(
    grpc::CallbackServerContext* context, const csms::control::v1::TransactionEventReport* request,
    csms::control::v1::ReportResponse*) {
  grpc::Status invalid = RunRpc("ReportTransactionEvent", [&] {
    RequireChargerId(request->event().charger_id());
    if (request->event().transaction_id().empty()) {
      throw RpcError(grpc::StatusCode::INVALID_ARGUMENT, "event.transaction_id is required");
    }
  });
  if (!invalid.ok()) return Finish(context, invalid);
  return Write(context, "ReportTransactionEvent", TransactionEventOp{*request},
               [this](const WriteResult&) {
                 // Commands waiting in this process look at the database again now.
                 waiter_.Notify();
               });
}

}  // namespace csms::control
