#include "csms/control/device_model_fetcher.h"

#include <algorithm>

#include "csms/common/log.h"
#include "csms/common/pg_sql.h"
#include "csms/ocpp/v201/get_base_report.h"

namespace csms::control {
namespace {

namespace v201 = ocpp::v201;
constexpr const char* kComponent = "control";
constexpr const char* kIssuer = "system:device-model-fetch";
// The cap is counted and claimed under this lock, in every replica.
constexpr int64_t kFetchLock = 0x6373'6d73'646d'0001;  // "csmsdm" 1

}  // namespace

DeviceModelFetcher::DeviceModelFetcher(pg::Pool& pool, RegistryStore& registry,
                                       CommandSender& sender, Options options)
    : pool_(pool), registry_(registry), sender_(sender), options_(options) {
  if (!options_.background || options_.concurrency <= 0) return;
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait_for(lock, options_.poll, [this] { return stop_ || wake_; });
      if (stop_) break;
      wake_ = false;
      lock.unlock();
      try {
        RunOnce();
      } catch (const std::exception& e) {
        CSMS_LOG(kWarn, kComponent) << "device model fetches: " << log::Sanitize(e.what(), 200);
      }
      lock.lock();
    }
  });
}

void DeviceModelFetcher::Wake() {
  {
    std::lock_guard lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

DeviceModelFetcher::~DeviceModelFetcher() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DeviceModelFetcher::Enqueue(pqxx::transaction_base& txn,
                                 const std::vector<FetchRequest>& fetches,
                                 std::chrono::milliseconds delay) {
  if (fetches.empty()) return;
  pg::ArrayLiteral ids, reasons;
  for (const auto& f : fetches) {
    ids.Text(f.charger_id);
    reasons.Text(f.reason);
  }
  // A running fetch keeps going: its report will be as new as this boot's.
  txn.exec_params0(
      "INSERT INTO device_model_fetches AS f (charger_id, reason, state, due_at)"
      " SELECT u.c, u.r, 'queued', now() + $3 * interval '1 millisecond'"
      " FROM unnest($1::text[], $2::text[]) AS u (c, r) ORDER BY u.c"
      " ON CONFLICT (charger_id) DO UPDATE SET reason = EXCLUDED.reason, state = 'queued',"
      " due_at = EXCLUDED.due_at, attempts = 0, updated_at = now() WHERE f.state <> 'running'",
      ids.str(), reasons.str(), static_cast<int64_t>(delay.count()));
}

void DeviceModelFetcher::ReportComplete(pqxx::transaction_base& txn, const std::string& charger_id,
                                        int32_t request_id) {
  txn.exec_params0(
      "UPDATE device_model_fetches SET state = 'done', last_outcome = 'complete',"
      " lease_until = NULL, updated_at = now()"
      " WHERE charger_id = $1 AND request_id = $2 AND state = 'running'",
      charger_id, request_id);
}

int DeviceModelFetcher::RunOnce() {
  if (options_.concurrency <= 0) return 0;
  struct Claim {
    std::string charger_id;
    int32_t request_id;
  };
  std::vector<Claim> claims = pg::Transact(pool_, [&](pqxx::work& txn) {
    std::vector<Claim> out;
    txn.exec_params("SELECT pg_advisory_xact_lock($1)", kFetchLock);
    // A report that never completed (lost parts, a charger gone mid-report): try again.
    txn.exec0(
        "UPDATE device_model_fetches SET state = 'queued', due_at = now(),"
        " last_outcome = 'report not complete in time', lease_until = NULL, updated_at = now()"
        " WHERE state = 'running' AND lease_until < now()");
    const int running =
        txn.exec1("SELECT count(*) FROM device_model_fetches WHERE state = 'running'")[0].as<int>();
    const int room = std::min(options_.concurrency - running, 100);
    if (room <= 0) return out;
    for (const auto& row : txn.exec_params(
             "WITH due AS (SELECT f.charger_id FROM device_model_fetches f"
             "  JOIN chargers c ON c.charger_id = f.charger_id"
             "  WHERE f.state = 'queued' AND f.due_at <= now() AND c.connected"
             "  AND c.registration_status = 'Accepted'"
             "  ORDER BY f.due_at, f.charger_id LIMIT $1 FOR UPDATE OF f SKIP LOCKED)"
             " UPDATE device_model_fetches f SET state = 'running', attempts = attempts + 1,"
             " request_id = nextval('ocpp_request_id_seq'),"
             " lease_until = now() + $2 * interval '1 second', updated_at = now()"
             " FROM due WHERE f.charger_id = due.charger_id RETURNING f.charger_id, f.request_id",
             room, static_cast<int64_t>(options_.report_timeout.count()))) {
      out.push_back({row[0].as<std::string>(), row[1].as<int32_t>()});
    }
    for (const auto& c : out) {
      // The report row first: its parts may come before the answer is processed.
      txn.exec_params0(
          "INSERT INTO device_model_reports (charger_id, request_id, scope, requested_by, status)"
          " VALUES ($1, $2, 'FullInventory', $3, 'Requested') ON CONFLICT DO NOTHING",
          c.charger_id, c.request_id, kIssuer);
    }
    return out;
  });
  for (const Claim& c : claims) {
    auto charger = registry_.FindCharger(c.charger_id);
    if (!charger) {
      Finish(c.charger_id, c.request_id, "failed", "charger unknown", false);
      continue;
    }
    v201::GetBaseReportRequest request;
    request.request_id = c.request_id;
    request.report_base = v201::ReportBaseEnum::kFullInventory;
    sender_.Send(
        *charger, request, kIssuer, options_.call_timeout,
        [this, c](TypedReply<v201::GetBaseReportResponse> reply) {
          try {
            if (!reply.response) {
              Finish(c.charger_id, c.request_id, "queued",
                     std::string(OutcomeName(reply.raw.outcome)), true);
              return;
            }
            const auto status = reply.response->status;
            if (status == v201::GenericDeviceModelStatusEnum::kAccepted) return;
            // Rejected, NotSupported, EmptyResultSet: nothing to wait for.
            Finish(c.charger_id, c.request_id, "done", std::string(v201::ToString(status)), false);
          } catch (const std::exception& e) {
            CSMS_LOG(kWarn, kComponent)
                << "device model fetch of " << c.charger_id << ": " << log::Sanitize(e.what(), 200);
          }
        });
  }
  return static_cast<int>(claims.size());
}

void DeviceModelFetcher::Finish(const std::string& charger_id, int32_t request_id,
                                const std::string& state, const std::string& outcome, bool retry) {
  pg::Transact(pool_, [&](pqxx::work& txn) {
    // A retry waits base * 2^(attempts-1); after max_attempts the fetch fails until the next boot.
    txn.exec_params0(
        "UPDATE device_model_fetches SET"
        " state = CASE WHEN $3 AND attempts >= $5 THEN 'failed' ELSE $4 END,"
        " due_at = CASE WHEN $3 THEN now() + $6 * power(2, attempts - 1) * interval '1 second'"
        "   ELSE due_at END,"
        " last_outcome = $7, lease_until = NULL, updated_at = now()"
        " WHERE charger_id = $1 AND request_id = $2 AND state = 'running'",
        charger_id, request_id, retry, state, options_.max_attempts,
        static_cast<int64_t>(options_.retry_base.count()), outcome);
    if (retry) {
      txn.exec_params0(
          "UPDATE device_model_reports SET status = 'Failed' WHERE charger_id = $1"
          " AND request_id = $2 AND status = 'Requested'",
          charger_id, request_id);
    }
  });
  Wake();
}

}  // namespace csms::control
