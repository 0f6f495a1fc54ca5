// csms-control: charger registry, live state and commands, on gRPC.
#include <atomic>
#include <chrono>
#include <future>
#include <iostream>
#include <optional>
#include <thread>

#include "csms/common/api_auth.h"
#include "csms/common/config.h"
#include "csms/common/grpc_auth.h"
#include "csms/common/grpc_server.h"
#include "csms/common/health.h"
#include "csms/common/log.h"
#include "csms/common/metrics.h"
#include "csms/common/metrics_http.h"
#include "csms/common/pg.h"
#include "csms/common/pg_sql.h"
#include "csms/control/alert_service.h"
#include "csms/control/alert_sweep.h"
#include "csms/control/charger_link_client.h"
#include "csms/control/control_service.h"
#include "csms/control/device_model_fetcher.h"
#include "csms/control/event_listener.h"
#include "csms/control/local_list_sync.h"
#include "csms/control/log_upload_service.h"
#include "csms/control/maintenance.h"
#include "csms/control/reservation_service.h"
#include "csms/control/station_event_service.h"
#include "csms/control/stores.h"
#include "csms/control/token_service.h"
#include "csms/control/waiter.h"
#include "csms/control/webhook_dispatcher.h"
#include "csms/control/webhook_http.h"
#include "csms/control/write_batcher.h"

namespace {

// Threads (and decision pool connections) deciding Authorize and TransactionEvents' tokens.
constexpr int kAuthorizerThreads = 4;

constexpr const char* kComponent = "control";

int PositiveInt(const csms::Config& config, const std::string& name) {
  int value = 0;
  try {
    value = config.GetInt(name);
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    std::exit(2);
  }
  if (value <= 0) {
    std::cerr << "--" << name << " must be positive\n";
    std::exit(2);
  }
  return value;
}

// A duration flag in seconds (fractions allowed), above zero.
std::chrono::milliseconds PositiveSeconds(const csms::Config& config, const std::string& name) {
  double value = 0;
  try {
    value = config.GetDouble(name);
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    std::exit(2);
  }
  if (!(value > 0) || value > 1e9) {
    std::cerr << "--" << name << " must be a positive number of seconds\n";
    std::exit(2);
  }
  return std::chrono::milliseconds(static_cast<int64_t>(value * 1000 + 0.5));
}

// Connects and migrates, retrying for as long as PostgreSQL is down. False once stopped.
bool PrepareDatabase(const std::string& url, const std::atomic<bool>& stop) {
  while (!stop.load()) {
    auto conn = csms::pg::ConnectWithRetry(url, stop, kComponent);
    if (!conn) return false;
    try {
      int applied = csms::pg::ApplyMigrations(*conn, "control", csms::control::ControlMigrations());
      CSMS_LOG(kInfo, kComponent) << "database ready (" << applied << " migrations applied)";
      return true;
    } catch (const std::exception& e) {
      CSMS_LOG(kWarn, kComponent) << "migrations failed (" << csms::log::Sanitize(e.what(), 300)
                                  << "); retrying";
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }
  return false;
}

using csms::auth::Role;
namespace v1 = csms::control::v1;

// With --api-keys-file these front the real services, checking each call's bearer token and
// role before delegating. Internal StationEventService calls need the gateway's service token.
// A method added to the proto must be added here too (else UNIMPLEMENTED with auth on).
class AuthedControlService final : public csms::control::ControlServiceBase {
 public:
  AuthedControlService(csms::control::ControlServiceImpl& impl, csms::auth::Authenticator& auth)
      : impl_(impl), auth_(auth) {}
  CSMS_AUTHED_SYNC(GetCharger, v1::GetChargerRequest, v1::Charger, Role::kRead)
  CSMS_AUTHED_SYNC(ListChargers, v1::ListChargersRequest, v1::ListChargersResponse, Role::kRead)
  CSMS_AUTHED_SYNC(ListStations, v1::ListStationsRequest, v1::ListStationsResponse, Role::kRead)
  CSMS_AUTHED_SYNC(GetStation, v1::GetStationRequest, v1::Station, Role::kRead)
  CSMS_AUTHED_SYNC(CreateStation, v1::CreateStationRequest, v1::Station, Role::kOperate)
  CSMS_AUTHED_SYNC(UpdateStation, v1::UpdateStationRequest, v1::Station, Role::kOperate)
  CSMS_AUTHED_SYNC(DeleteStation, v1::DeleteStationRequest, v1::DeleteStationResponse,
                   Role::kOperate)
  CSMS_AUTHED_SYNC(AssignCharger, v1::AssignChargerRequest, v1::AssignChargerResponse,
                   Role::kOperate)
  CSMS_AUTHED_SYNC(CreateCharger, v1::CreateChargerRequest, v1::ChargerSecurity, Role::kOperate)
  CSMS_AUTHED_SYNC(UpdateChargerSecurity, v1::UpdateChargerSecurityRequest, v1::ChargerSecurity,
                   Role::kOperate)
  CSMS_AUTHED_SYNC(DeleteCharger, v1::DeleteChargerRequest, v1::DeleteChargerResponse,
                   Role::kOperate)
  CSMS_AUTHED_SYNC(ListChargerEvents, v1::ListChargerEventsRequest, v1::ListChargerEventsResponse,
                   Role::kRead)
  CSMS_AUTHED_SYNC(GetChargerSecurity, v1::GetChargerSecurityRequest, v1::ChargerSecurity,
                   Role::kRead)
  // The command API and the charging commands check their callers themselves (the role depends
  // on the action; the command log records who asked).
  CSMS_CONTROL_COMMAND_METHODS(impl_.command_api())
  CSMS_CONTROL_CHARGING_METHODS(impl_.charging())
  CSMS_CONTROL_DEVICE_MODEL_METHODS(impl_.device_model())
  CSMS_CONTROL_FIRMWARE_METHODS(impl_.firmware())

 private:
  csms::control::ControlServiceImpl& impl_;
  csms::auth::Authenticator& auth_;
};

class AuthedStationEventService final : public v1::StationEventService::CallbackService {
 public:
  AuthedStationEventService(csms::control::StationEventServiceImpl& impl,
                            csms::auth::Authenticator& auth)
      : impl_(impl), auth_(auth) {}
  CSMS_AUTHED_CALLBACK(StationConnected, v1::StationConnectedRequest, v1::StationConnectedResponse,
                       Role::kService)
  CSMS_AUTHED_CALLBACK(StationDisconnected, v1::StationDisconnectedRequest,
                       v1::StationDisconnectedResponse, Role::kService)
  CSMS_AUTHED_CALLBACK(BootNotification, v1::BootNotificationRequest, v1::BootNotificationResponse,
                       Role::kService)
  CSMS_AUTHED_CALLBACK(ReportStatus, v1::StatusReport, v1::ReportResponse, Role::kService)
  CSMS_AUTHED_CALLBACK(ReportLastSeen, v1::LastSeenBatch, v1::ReportResponse, Role::kService)
  CSMS_AUTHED_CALLBACK(ReportTransactionEvent, v1::TransactionEventReport, v1::ReportResponse,
                       Role::kService)
  CSMS_AUTHED_CALLBACK(ReportBatch, v1::ReportBatchRequest, v1::ReportResponse, Role::kService)
  CSMS_AUTHED_CALLBACK(AuthenticateStation, v1::AuthenticateStationRequest,
                       v1::AuthenticateStationResponse, Role::kService)
  CSMS_AUTHED_CALLBACK(RecordReportPart, v1::ReportPartRequest, v1::ReportResponse, Role::kService)
  CSMS_AUTHED_CALLBACK(RecordChargerEvents, v1::RecordChargerEventsRequest, v1::ReportResponse,
                       Role::kService)
  CSMS_AUTHED_CALLBACK(AuthorizeToken, v1::AuthorizeTokenRequest, v1::AuthorizeTokenResponse,
                       Role::kService)
  CSMS_AUTHED_CALLBACK(AuthorizeTokens, v1::AuthorizeTokensRequest, v1::AuthorizeTokensResponse,
                       Role::kService)

 private:
  csms::control::StationEventServiceImpl& impl_;
  csms::auth::Authenticator& auth_;
};

}  // namespace

int main(int argc, char** argv) {
  if (auto code = csms::auth::MaybeMintApiKey(argc, argv)) return *code;
  csms::Config config = csms::ParseConfigOrExit(
      argc, argv, "csms-control", "Charger registry, live state and commands (gRPC).",
      csms::WithGrpcTlsFlags(csms::auth::WithApiAuthFlags(
          {{"grpc-listen", "CSMS_GRPC_LISTEN", "0.0.0.0:50051", "gRPC listen address"},
           {"database-url", "DATABASE_URL", "",
            "libpq connection string or URI; empty uses the PG* variables"},
           {"heartbeat-interval", "CSMS_HEARTBEAT_INTERVAL", "30",
            "heartbeat interval given to chargers at boot, seconds"},
           {"password-grace", "CSMS_PASSWORD_GRACE", "600",
            "seconds a charger's old password stays valid after RotateChargerPassword (OCPP A01)"},
           {"offline-after-heartbeats", "CSMS_OFFLINE_AFTER_HEARTBEATS", "3",
            "a connected charger silent for this many heartbeat intervals is shown Offline and "
            "sent no commands (its gateway may have died); 0: never"},
           {"command-timeout", "CSMS_COMMAND_TIMEOUT", "30",
            "how long a command waits for the charger's answer and event, seconds"},
           {"device-model-fetch-concurrency", "CSMS_DEVICE_MODEL_FETCH_CONCURRENCY", "50",
            "device model reports fetched at once after boots (new chargers, changed firmware), "
            "across all control replicas; 0: never fetch"},
           {"device-model-fetch-delay-ms", "CSMS_DEVICE_MODEL_FETCH_DELAY_MS", "2000",
            "how long after an Accepted boot its device model fetch waits (the boot's answer and "
            "first StatusNotifications go first)"},
           {"unknown-tokens", "CSMS_UNKNOWN_TOKENS", "reject",
            "reject: Authorize answers Unknown for an id token the token store does not know; "
            "accept: admits it (free-vend sites), logged"},
           {"authorization-cache-expiry", "CSMS_AUTHORIZATION_CACHE_EXPIRY", "86400",
            "seconds a charger may trust an Accepted Authorize (cacheExpiryDateTime)"},
           {"local-list-workers", "CSMS_LOCAL_LIST_WORKERS", "2",
            "chargers whose local authorization list this replica updates at once; 0: never "
            "send local lists or ClearCache"},
           {"local-list-max-entries", "CSMS_LOCAL_LIST_MAX_ENTRIES", "1000",
            "tokens in a charger's local list when its device model gives no "
            "LocalAuthListCtrlr.Entries maximum"},
           {"local-list-poll", "CSMS_LOCAL_LIST_POLL", "5",
            "seconds between looks for local lists and caches to update (a completed device "
            "model report looks at once)"},
           {"token-session-max-age", "CSMS_TOKEN_SESSION_MAX_AGE", "86400",
            "seconds after which a transaction that never Ended stops counting towards its "
            "token's concurrent transactions (ConcurrentTx)"},
           {"event-retention-days", "CSMS_EVENT_RETENTION_DAYS", "90",
            "days each charger's event log is kept (whole days are dropped); 0: forever"},
           {"reservation-sweep-interval", "CSMS_RESERVATION_SWEEP_INTERVAL", "10",
            "seconds between looks for reservations past their expires_at, which the CSMS then "
            "releases (state expired) whether or not the charger reports it"},
           {"log-upload-token-ttl", "CSMS_LOG_UPLOAD_TOKEN_TTL", "86400",
            "seconds a log upload URL works after GetLog was sent"},
           {"log-upload-retention-days", "CSMS_LOG_UPLOAD_RETENTION_DAYS", "30",
            "days uploaded logs are kept; 0: forever"},
           {"webhook-workers", "CSMS_WEBHOOK_WORKERS", "4",
            "threads delivering webhooks in this replica (replicas share the queues)"},
           {"webhook-timeout", "CSMS_WEBHOOK_TIMEOUT", "10",
            "seconds one webhook attempt may take, connecting included"},
           {"webhook-retry-min", "CSMS_WEBHOOK_RETRY_MIN", "1",
            "seconds before the first retry of a failed webhook delivery; doubles each attempt"},
           {"webhook-retry-max", "CSMS_WEBHOOK_RETRY_MAX", "600",
            "longest wait between two attempts of a webhook delivery, seconds"},
           {"webhook-max-age", "CSMS_WEBHOOK_MAX_AGE", "604800",
            "seconds a webhook delivery is retried before it expires (7 days: a receiver may be "
            "down that long and miss nothing)"},
           {"webhook-poll-interval", "CSMS_WEBHOOK_POLL_INTERVAL", "1",
            "seconds between looks for due webhook deliveries (new alerts wake the dispatchers "
            "at once)"},
           {"webhook-ca-file", "CSMS_WEBHOOK_CA_FILE", "",
            "PEM roots for https:// webhook receivers; empty: the system's"},
           {"alert-sweep-interval", "CSMS_ALERT_SWEEP_INTERVAL", "10",
            "seconds between looks for chargers silent for their webhooks' offline_intervals"},
           {"alert-offline-grace", "CSMS_ALERT_OFFLINE_GRACE", "5",
            "seconds a charger may be silent beyond offline_intervals heartbeat intervals before "
            "charger_offline (a heartbeat a little late is not an outage)"},
           {"alert-retention-days", "CSMS_ALERT_RETENTION_DAYS", "30",
            "days alerts and their delivery log are kept once delivered"},
           {"db-pool-size", "CSMS_DB_POOL_SIZE", "8",
            "PostgreSQL connections (the writers and the token decisions have their own)"},
           {"db-writers", "CSMS_DB_WRITERS", "2",
            "threads that group-commit the gateways' reports, each on a connection of its own"},
           {"metrics-listen", "CSMS_METRICS_LISTEN", "0.0.0.0:9101",
            "HTTP address for /metrics, /healthz and /readyz (empty: off)"},
           {"service-token-file", "CSMS_SERVICE_TOKEN_FILE", "",
            "file holding control's token (a key with the service role) for its ChargerLink "
            "calls to the gateways; empty: none"}})));
  if (!csms::log::SetLevel(config.Get("log-level"))) {
    std::cerr << "--log-level must be debug, info, warn or error\n";
    return 2;
  }
  const int heartbeat_interval = PositiveInt(config, "heartbeat-interval");
  if (config.Get("unknown-tokens") != "reject" && config.Get("unknown-tokens") != "accept") {
    std::cerr << "--unknown-tokens must be reject or accept\n";
    return 2;
  }
  const int command_timeout = PositiveInt(config, "command-timeout");
  const int pool_size = PositiveInt(config, "db-pool-size");
  const int writers = PositiveInt(config, "db-writers");
  if (writers >= pool_size) {
    std::cerr << "--db-writers must be less than --db-pool-size\n";
    return 2;
  }

  auto auth = csms::auth::LoadAuthenticatorOrExit(config, kComponent);
  // Gateways check it on ChargerLink: only control may send commands to chargers.
  if (const std::string& file = config.Get("service-token-file"); !file.empty()) {
    csms::SetOutgoingBearerToken(csms::auth::ReadTokenFileOrExit(file, kComponent));
  }

  csms::BlockShutdownSignals();
  // After the signal mask: TLS credentials start gRPC's threads, which must inherit it.
  csms::ConfigureGrpcTlsOrExit(config, kComponent);
  // Signals are taken on their own thread, so SIGTERM also ends a wait for the database.
  std::atomic<bool> stop{false};
  std::promise<void> stop_requested;
  std::thread signal_thread([&] {
    int sig = csms::WaitForShutdownSignal();
    CSMS_LOG(kInfo, kComponent) << "signal " << sig << ", shutting down";
    stop.store(true);
    stop_requested.set_value();
  });

  // Up before the database so an operator sees the process (and its start-up) at once.
  csms::metrics::RegisterProcessMetrics();
  std::atomic<bool> database_ok{false};
  csms::metrics::HttpEndpoint metrics_http(csms::metrics::Registry::Default(),
                                           [&database_ok](std::string* why) {
                                             if (database_ok.load()) return true;
                                             *why = "database unreachable";
                                             return false;
                                           });
  if (const std::string& listen = config.Get("metrics-listen"); !listen.empty()) {
    std::string error;
    if (!metrics_http.Start(listen, &error)) {
      CSMS_LOG(kError, kComponent) << error;
      stop.store(true);
      signal_thread.detach();
      return 1;
    }
    CSMS_LOG(kInfo, kComponent) << "metrics on http://" << listen << "/metrics";
  }

  const std::string url = config.Get("database-url");
  if (!PrepareDatabase(url, stop)) {
    signal_thread.join();
    return 0;
  }

  csms::pg::Pool pool(url, pool_size);
  // TransactionEvents' token decisions: key lookups only, on connections of their own that plan
  // each statement once (pg::KeyLookupSettings); one per authorizer thread.
  csms::pg::Pool decision_pool(url, kAuthorizerThreads, csms::pg::KeyLookupSettings());
  csms::control::ControlStores stores(pool);
  // The registry's batches likewise, one connection per writer.
  csms::pg::Pool batch_pool(url, writers, csms::pg::KeyLookupSettings());
  stores.registry.set_batch_pool(&batch_pool);
  csms::control::WriteBatcher batcher(stores.registry, writers);
  csms::control::Maintenance::Options upkeep;
  upkeep.event_retention =
      std::chrono::hours(24) * std::max(0, config.GetInt("event-retention-days"));
  upkeep.log_upload_retention =
      std::chrono::hours(24) * std::max(0, config.GetInt("log-upload-retention-days"));
  csms::control::Maintenance maintenance(stores.events, &stores.log_uploads, upkeep);
  // Alerts and webhooks (ADR 0011): the dispatchers POST what the stores queue, the sweep finds
  // silent chargers.
  csms::control::HttpWebhookSender webhook_sender(config.Get("webhook-ca-file"));
  csms::control::WebhookDispatcher::Options delivery;
  delivery.workers = PositiveInt(config, "webhook-workers");
  delivery.timeout = PositiveSeconds(config, "webhook-timeout");
  delivery.poll = PositiveSeconds(config, "webhook-poll-interval");
  delivery.retry.min = PositiveSeconds(config, "webhook-retry-min");
  delivery.retry.max = std::max(delivery.retry.min, PositiveSeconds(config, "webhook-retry-max"));
  delivery.listen_url = url;
  csms::control::WebhookDispatcher dispatcher(stores.webhooks, webhook_sender, delivery);
  csms::control::AlertSweep::Options sweep;
  sweep.interval = PositiveSeconds(config, "alert-sweep-interval");
  sweep.heartbeat = std::chrono::seconds(heartbeat_interval);
  sweep.offline_grace = PositiveSeconds(config, "alert-offline-grace");
  sweep.max_age = PositiveSeconds(config, "webhook-max-age");
  sweep.retention = std::chrono::hours(24) * PositiveInt(config, "alert-retention-days");
  csms::control::AlertSweep alert_sweep(stores.alerts, stores.webhooks, sweep);
  csms::control::AlertServiceImpl alert_service(stores.webhooks, stores.alerts, &dispatcher,
                                                auth.get());
  csms::control::EventWaiter waiter;
  csms::control::TransactionEventListener listener(url, waiter);
  csms::control::ChargerLinkClient link;
  csms::control::StationEventServiceImpl station_events(batcher, link, waiter, heartbeat_interval,
                                                        &stores.credentials);
  station_events.set_device_model(&stores.device_model);
  station_events.set_log_uploads(&stores.log_uploads);
  std::optional<csms::control::TokenSessionStore> token_sessions;
  {
    csms::control::StationEventServiceImpl::Authorization authorization;
    authorization.tokens = &stores.tokens;
    authorization.stations = &stores.stations;
    authorization.remote_starts = &stores.remote_starts;
    authorization.options.accept_unknown = config.Get("unknown-tokens") == "accept";
    authorization.options.cache_expiry = std::chrono::duration_cast<std::chrono::seconds>(
        PositiveSeconds(config, "authorization-cache-expiry"));
    if (authorization.options.accept_unknown) {
      CSMS_LOG(kWarn, kComponent)
          << "--unknown-tokens accept: any id token the token store does not know is admitted";
    }
    csms::control::TokenSessionStore::Options sessions;
    sessions.authorize = authorization.options;
    sessions.remote_start_window = authorization.remote_start_window;
    sessions.session_max_age = std::chrono::duration_cast<std::chrono::seconds>(
        PositiveSeconds(config, "token-session-max-age"));
    token_sessions.emplace(decision_pool, sessions);
    authorization.token_sessions = &*token_sessions;
    station_events.set_authorization(authorization, kAuthorizerThreads);
  }
  csms::control::ControlServiceImpl control(stores, link, waiter,
                                            std::chrono::seconds(command_timeout), auth.get());
  control.set_password_grace(std::chrono::seconds(PositiveInt(config, "password-grace")));
  control.set_offline_after(std::chrono::seconds(heartbeat_interval) *
                            std::max(0, config.GetInt("offline-after-heartbeats")));
  // One outbound path: the command API shares control's sender (and with it the device model's
  // view of every SetVariables / GetVariables answer).
  const int fetch_concurrency = std::max(0, config.GetInt("device-model-fetch-concurrency"));
  stores.registry.set_device_model_fetch(
      fetch_concurrency > 0,
      std::chrono::milliseconds(std::max(0, config.GetInt("device-model-fetch-delay-ms"))));
  csms::control::DeviceModelFetcher::Options fetch_options;
  fetch_options.concurrency = fetch_concurrency;
  fetch_options.call_timeout = std::chrono::seconds(command_timeout);
  csms::control::DeviceModelFetcher fetcher(pool, stores.registry, control.sender(), fetch_options);
  // Local authorization lists and cache clears (D01, D02, C11), in step with the token store.
  csms::control::LocalListSync::Options list_options;
  list_options.workers = std::max(0, config.GetInt("local-list-workers"));
  list_options.default_max_entries = PositiveInt(config, "local-list-max-entries");
  list_options.poll = PositiveSeconds(config, "local-list-poll");
  list_options.call_timeout = std::chrono::seconds(command_timeout);
  csms::control::LocalListSync local_lists(pool, stores.registry, control.sender(), list_options);
  // A completed report frees a fetch slot, and may be the device model that enables a list.
  station_events.set_on_report_complete([&fetcher, &local_lists] {
    fetcher.Wake();
    local_lists.Wake();
  });
  csms::control::CommandApi commands(control.access(), control.sender(), stores.command_log,
                                     stores.message_limits, *auth,
                                     std::chrono::seconds(command_timeout));
  control.set_commands(&commands);
  // LogUploadService checks its callers itself, like AlertService.
  csms::control::LogUploadServiceImpl::Options upload_options;
  upload_options.token_ttl = std::chrono::duration_cast<std::chrono::seconds>(
      PositiveSeconds(config, "log-upload-token-ttl"));
  upload_options.call_timeout = std::chrono::seconds(command_timeout);
  csms::control::LogUploadServiceImpl log_upload_service(control.access(), stores.log_uploads,
                                                         stores.device_model, control.sender(),
                                                         auth.get(), upload_options);
  // TokenService checks its callers itself, like LogUploadService.
  csms::control::TokenServiceImpl token_service(stores.tokens, auth.get());
  // ReservationService checks its callers itself too; the sweep releases expired reservations.
  csms::control::ReservationStore reservations(pool);
  csms::control::ReservationServiceImpl::Options reservation_options;
  reservation_options.call_timeout = std::chrono::seconds(command_timeout);
  csms::control::ReservationServiceImpl reservation_service(
      control.access(), reservations, control.sender(), auth.get(), reservation_options);
  csms::control::ReservationSweep reservation_sweep(
      reservations, PositiveSeconds(config, "reservation-sweep-interval"));
  AuthedControlService authed_control(control, *auth);
  AuthedStationEventService authed_station_events(station_events, *auth);
  // AlertService checks its callers itself (admin for webhooks), with or without keys.
  std::vector<grpc::Service*> services{&control,       &station_events,
                                       &alert_service, &log_upload_service,
                                       &token_service, &reservation_service};
  if (auth->enabled()) {
    services = {&authed_control,     &authed_station_events, &alert_service,
                &log_upload_service, &token_service,         &reservation_service};
  }
  auto server = csms::StartGrpcServer(
      config.Get("grpc-listen"), services,
      {"csms.control.v1.ControlService", "csms.control.v1.StationEventService",
       "csms.control.v1.AlertService", "csms.control.v1.LogUploadService",
       "csms.control.v1.TokenService", "csms.control.v1.ReservationService"},
      kComponent);
  if (!server) {
    signal_thread.detach();
    return 1;
  }
  // gRPC health follows the database: NOT_SERVING while SELECT 1 fails, SERVING again after.
  auto apply_health = csms::GrpcHealthApplier(
      server.get(), {"csms.control.v1.ControlService", "csms.control.v1.StationEventService",
                     "csms.control.v1.AlertService", "csms.control.v1.LogUploadService",
                     "csms.control.v1.TokenService", "csms.control.v1.ReservationService"});
  csms::HealthWatcher db_health(
      "database", csms::PostgresProbe(url, std::chrono::seconds(2)),
      [&](bool healthy) {
        database_ok = healthy;
        apply_health(healthy);
      },
      std::chrono::seconds(2), kComponent);

  stop_requested.get_future().wait();
  db_health.Stop();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  batcher.Stop();  // after the server: calls still in flight get their answers
  signal_thread.join();
  CSMS_LOG(kInfo, kComponent) << "stopped";
  return 0;
}
