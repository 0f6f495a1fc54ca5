#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "csms/common/pg.h"
#include "csms/control/command_sender.h"
#include "csms/control/registry_store.h"

namespace csms::control {

// A fetch to queue (in the boot's own transaction): charger and why (DeviceModelFetchReason).
struct FetchRequest {
  std::string charger_id, reason;
};

// Fetches chargers' device models after their boots (B07), at most `concurrency` at once across
// every control replica (table device_model_fetches; claims under a transaction-scoped advisory
// lock, so the cap is exact), each as GetBaseReport(FullInventory) from system:device-model-fetch.
// A fetch is done when its report is complete (DeviceModelStore::ApplyPart), or when the charger
// says it cannot report; a failed CALL is retried with backoff, a lost report (lease expired) too.
class DeviceModelFetcher {
 public:
  struct Options {
    int concurrency = 50;                           // 0: never fetch
    std::chrono::milliseconds poll{1000};           // looks for due fetches this often
    std::chrono::seconds report_timeout{300};       // a report not complete by then: retry
    std::chrono::milliseconds call_timeout{30000};  // the GetBaseReport CALL itself
    std::chrono::seconds retry_base{30};            // backoff: base * 2^(attempts-1)
    int max_attempts = 3;                           // then failed, until the next boot
    bool background = true;                         // false: only RunOnce (tests)
  };

  DeviceModelFetcher(pg::Pool& pool, RegistryStore& registry, CommandSender& sender,
                     Options options);
  ~DeviceModelFetcher();
  DeviceModelFetcher(const DeviceModelFetcher&) = delete;
  DeviceModelFetcher& operator=(const DeviceModelFetcher&) = delete;

  // One round: frees expired leases, claims due fetches of connected Accepted chargers within
  // the cap and sends their GetBaseReport. Returns how many it sent.
  int RunOnce();
  // Looks for due fetches now instead of at the next poll: a slot was freed (a report completed
  // in this replica, or a fetch ended), and with the cap full the next one should not wait.
  void Wake();

  // In the boot's transaction: queues `fetches`, due after `delay` (so the boot's answer and its
  // StatusNotifications go first). A queued or failed fetch of the same charger is replaced.
  static void Enqueue(pqxx::transaction_base& txn, const std::vector<FetchRequest>& fetches,
                      std::chrono::milliseconds delay);
  // In ApplyPart's transaction: the report that completes `request_id` ends its fetch.
  static void ReportComplete(pqxx::transaction_base& txn, const std::string& charger_id,
                             int32_t request_id);

 private:
  void Finish(const std::string& charger_id, int32_t request_id, const std::string& state,
              const std::string& outcome, bool retry);

  pg::Pool& pool_;
  RegistryStore& registry_;
  CommandSender& sender_;
  const Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool wake_ = false;
  std::thread thread_;
};

}  // namespace csms::control
