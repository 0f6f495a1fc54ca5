// csms-billing: wires flags, PostgreSQL and the gRPC server around the billing library.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <thread>

#include "csms/billing/billing_service.h"
#include "csms/billing/migrations.h"
#include "csms/common/api_auth.h"
#include "csms/common/config.h"
#include "csms/common/grpc_auth.h"
#include "csms/common/grpc_server.h"
#include "csms/common/health.h"
#include "csms/common/log.h"
#include "csms/common/metrics.h"
#include "csms/common/metrics_http.h"
#include "csms/common/pg_sql.h"

namespace {

constexpr const char* kComponent = "billing";

// Connects (retrying while PostgreSQL is down), migrates and checks the time zone.
// Returns the exit code when the process must stop instead of serving.
std::optional<int> PrepareDatabase(const std::string& url, const std::string& time_zone,
                                   const std::atomic<bool>& stopping) {
  while (true) {
    auto conn = csms::pg::ConnectWithRetry(url, stopping, kComponent);
    if (!conn) return 0;  // asked to stop while waiting for the database
    try {
      const int applied = csms::billing::ApplyMigrations(*conn);
      CSMS_LOG(kInfo, kComponent) << "schema up to date (" << applied << " migrations applied)";
      if (!csms::billing::IsKnownTimeZone(*conn, time_zone)) {
        CSMS_LOG(kError, kComponent) << "--timezone '" << csms::log::Sanitize(time_zone)
                                     << "' is not a time zone PostgreSQL knows (try UTC or "
                                        "Asia/Seoul)";
        return 2;
      }
      return std::nullopt;
    } catch (const pqxx::broken_connection& e) {
      CSMS_LOG(kWarn, kComponent) << "lost PostgreSQL during start-up ("
                                  << csms::log::Sanitize(e.what()) << "); retrying";
    } catch (const std::exception& e) {
      CSMS_LOG(kError, kComponent)
          << "cannot prepare the database: " << csms::log::Sanitize(e.what());
      return 1;
    }
  }
}

using csms::auth::Role;
namespace v1 = csms::billing::v1;

// With --api-keys-file this fronts the real service: reads need `read`, recording events (the
// gateway's job) needs the `service` role. A method added to the proto must be added here too.
class AuthedBillingService final
    : public v1::BillingService::WithCallbackMethod_RecordTransactionEvent<
          v1::BillingService::WithCallbackMethod_RecordTransactionEvents<
              v1::BillingService::Service>> {
 public:
  AuthedBillingService(csms::billing::BillingService& impl, csms::auth::Authenticator& auth)
      : impl_(impl), auth_(auth) {}
  CSMS_AUTHED_CALLBACK(RecordTransactionEvent, v1::RecordTransactionEventRequest,
                       v1::RecordTransactionEventResponse, Role::kService)
  CSMS_AUTHED_CALLBACK(RecordTransactionEvents, v1::RecordTransactionEventsRequest,
                       v1::RecordTransactionEventsResponse, Role::kService)
  CSMS_AUTHED_SYNC(GetSession, v1::GetSessionRequest, v1::Session, Role::kRead)
  CSMS_AUTHED_SYNC(ListSessions, v1::ListSessionsRequest, v1::ListSessionsResponse, Role::kRead)
  CSMS_AUTHED_SYNC(GetDailyStats, v1::GetDailyStatsRequest, v1::GetDailyStatsResponse, Role::kRead)
  // Tariffs are money: changing them is for admins.
  CSMS_AUTHED_SYNC(PutTariff, v1::PutTariffRequest, v1::Tariff, Role::kAdmin)
  CSMS_AUTHED_SYNC(GetTariff, v1::GetTariffRequest, v1::Tariff, Role::kRead)
  CSMS_AUTHED_SYNC(ListTariffs, v1::ListTariffsRequest, v1::ListTariffsResponse, Role::kRead)
  CSMS_AUTHED_SYNC(SetStationTariff, v1::SetStationTariffRequest, v1::StationTariff, Role::kAdmin)
  CSMS_AUTHED_SYNC(GetStationTariff, v1::GetStationTariffRequest, v1::StationTariff, Role::kRead)

 private:
  csms::billing::BillingService& impl_;
  csms::auth::Authenticator& auth_;
};

}  // namespace

int main(int argc, char** argv) {
  if (auto code = csms::auth::MaybeMintApiKey(argc, argv)) return *code;
  csms::BlockShutdownSignals();
  const csms::Config config = csms::ParseConfigOrExit(
      argc, argv, "csms-billing",
      "Billing service: durable transaction ledger, cost and daily statistics over gRPC.",
      csms::WithGrpcTlsFlags(csms::auth::WithApiAuthFlags({
          {"grpc-listen", "CSMS_GRPC_LISTEN", "0.0.0.0:50052", "gRPC listen address (host:port)"},
          {"database-url", "DATABASE_URL", "",
           "libpq connection string or URI; empty: the PG* environment variables"},
          {"price-per-kwh", "CSMS_PRICE_PER_KWH", "150", "tariff, currency units per kWh"},
          {"max-evse-power-kw", "CSMS_MAX_EVSE_POWER_KW", "500",
           "most power an EVSE delivers: a register rise above it (over the time between two "
           "readings, plus 60 s) is not billed and the session needs review; 0: no check"},
          {"currency", "CSMS_CURRENCY", "KRW", "ISO 4217 currency of the tariff"},
          {"timezone", "CSMS_TIMEZONE", "UTC", "time zone of the daily statistics' dates"},
          {"db-pool-size", "CSMS_DB_POOL_SIZE", "8",
           "PostgreSQL connections for reads (each writer has one more of its own)"},
          {"writers", "CSMS_BILLING_WRITERS", "4",
           "transaction events stored concurrently in group commits, each on a connection of its "
           "own (at most --db-pool-size)"},
          {"max-batch", "CSMS_BILLING_MAX_BATCH", "256",
           "transaction events per group commit at most"},
          {"metrics-listen", "CSMS_METRICS_LISTEN", "0.0.0.0:9102",
           "HTTP address for /metrics, /healthz and /readyz (empty: off)"},
      })));
  csms::ConfigureGrpcTlsOrExit(config, kComponent);
  if (!csms::log::SetLevel(config.Get("log-level"))) {
    std::cerr << "--log-level must be debug, info, warn or error\n";
    return 2;
  }

  std::optional<csms::billing::Tariff> tariff;
  int pool_size = 0;
  csms::billing::EventBatcher::Options batching;
  csms::billing::MeterLimits limits;
  try {
    limits.max_power_w = config.GetDouble("max-evse-power-kw") * 1000;
    tariff = csms::billing::MakeTariff(config.GetDouble("price-per-kwh"), config.Get("currency"));
    pool_size = config.GetInt("db-pool-size");
    batching.writers = config.GetInt("writers");
    batching.max_batch = config.GetInt("max-batch");
  } catch (const std::invalid_argument& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
  if (!tariff || tariff->currency.empty()) {
    std::cerr << "--price-per-kwh must be a number from 0 to 1000000 and --currency non-empty\n";
    return 2;
  }
  if (!(limits.max_power_w >= 0) || limits.max_power_w > 1e9) {
    std::cerr << "--max-evse-power-kw must be a number from 0 to 1000000\n";
    return 2;
  }
  if (pool_size < 1) {
    std::cerr << "--db-pool-size must be at least 1\n";
    return 2;
  }
  if (batching.writers < 1 || batching.writers > pool_size || batching.max_batch < 1) {
    std::cerr << "--writers must be 1 to --db-pool-size, --max-batch at least 1\n";
    return 2;
  }
  auto auth = csms::auth::LoadAuthenticatorOrExit(config, kComponent);
  const std::string& url = config.Get("database-url");
  const std::string& time_zone = config.Get("timezone");
  CSMS_LOG(kInfo, kComponent) << "starting: tariff " << config.Get("price-per-kwh") << " "
                              << tariff->currency << "/kWh, time zone " << time_zone
                              << ", database from "
                              << (url.empty() ? "PG* environment" : "--database-url")
                              << ", pool of " << pool_size << ", " << batching.writers
                              << " writers, batches of up to " << batching.max_batch;

  // Signals are blocked in every thread; this one takes them, so start-up can be interrupted.
  // Static: the detached thread may outlive main's stack.
  static std::atomic<bool> stopping{false};
  std::thread([] {
    const int sig = csms::WaitForShutdownSignal();
    CSMS_LOG(kInfo, kComponent) << "signal " << sig << ", shutting down";
    stopping = true;
    stopping.notify_all();
  }).detach();

  // Metrics come up before the database so a slow start is visible.
  csms::metrics::RegisterProcessMetrics();
  static std::atomic<bool> database_ok{false};
  csms::metrics::HttpEndpoint metrics_http(csms::metrics::Registry::Default(),
                                           [](std::string* why) {
                                             if (database_ok.load()) return true;
                                             *why = "database unreachable";
                                             return false;
                                           });
  if (const std::string& listen = config.Get("metrics-listen"); !listen.empty()) {
    std::string error;
    if (!metrics_http.Start(listen, &error)) {
      CSMS_LOG(kError, kComponent) << error;
      return 1;
    }
    CSMS_LOG(kInfo, kComponent) << "metrics on http://" << listen << "/metrics";
  }

  if (const auto exit_code = PrepareDatabase(url, time_zone, stopping)) return *exit_code;

  csms::pg::Pool pool(url, pool_size);
  // The ledger's batches on connections of their own that plan each statement once
  // (pg::KeyLookupSettings), one per writer.
  csms::pg::Pool batch_pool(url, batching.writers, csms::pg::KeyLookupSettings());
  csms::billing::LedgerStore store(pool, *tariff, time_zone);
  store.set_batch_pool(&batch_pool);
  store.set_meter_limits(limits);
  csms::RealClock clock;
  csms::billing::BillingService service(store, clock, batching);
  AuthedBillingService authed(service, *auth);
  grpc::Service* exposed = auth->enabled() ? static_cast<grpc::Service*>(&authed) : &service;
  auto server = csms::StartGrpcServer(config.Get("grpc-listen"), {exposed},
                                      {"csms.billing.v1.BillingService"}, kComponent);
  if (!server) return 1;
  // gRPC health follows the database: NOT_SERVING while SELECT 1 fails, SERVING again after.
  auto apply_health = csms::GrpcHealthApplier(server.get(), {"csms.billing.v1.BillingService"});
  csms::HealthWatcher db_health(
      "database", csms::PostgresProbe(url, std::chrono::seconds(2)),
      [&apply_health](bool healthy) {
        database_ok = healthy;
        apply_health(healthy);
      },
      std::chrono::seconds(2), kComponent);

  stopping.wait(false);
  db_health.Stop();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  CSMS_LOG(kInfo, kComponent) << "stopped";
  return 0;
}
