#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "csms/common/pg.h"
#include "csms/control/command_sender.h"
#include "csms/control/local_list_plan.h"
#include "csms/control/registry_store.h"

namespace csms::control {

// Keeps the local authorization list (D01, D02) of every charger whose device model enables
// LocalAuthListCtrlr in step with the token store, by itself: the Accepted, unexpired tokens
// valid at the charger's station, most recently used first, at most the charger's Entries
// (maxLimit; --local-list-max-entries when it reports none). The first update, and any after
// the charger reported a version other than the CSMS's (GetLocalListVersion, once per
// connection) or refused a Differential (VersionMismatch, Failed), is Full; the others are
// Differentials of what changed. Each message fits ItemsPerMessage and BytesPerMessage.
// It also sends ClearCache (C11) to chargers with an enabled authorization cache after a token
// stopped being usable (auth_cache_clears, filled by a trigger on tokens).
// Claims are leased in PostgreSQL, so replicas share the work and never sync one charger twice.
class LocalListSync {
 public:
  struct Options {
    int workers = 2;                                // chargers synced at once by this replica
    int default_max_entries = 1000;                 // when the charger reports no Entries max
    std::chrono::milliseconds poll{5000};           // looks for work this often
    std::chrono::milliseconds call_timeout{30000};  // each CALL
    std::chrono::seconds lease{300};                // a sync not finished by then is retried
    std::chrono::seconds retry_base{30};            // backoff: base * 2^(attempts-1), max 1 h
    bool background = true;                         // false: only RunOnce (tests)
  };

  LocalListSync(pg::Pool& pool, RegistryStore& registry, CommandSender& sender, Options options);
  ~LocalListSync();
  LocalListSync(const LocalListSync&) = delete;
  LocalListSync& operator=(const LocalListSync&) = delete;

  // One round on the calling thread: syncs the lists that are due (up to `limit`) and clears
  // the caches that need it. Returns how many chargers it sent something to.
  int RunOnce(int limit = 50);
  // Looks for work now instead of at the next poll.
  void Wake();

 private:
  struct Claim;
  struct Settings;
  std::vector<Claim> ClaimDue(int limit);
  // Syncs one claimed charger; returns false when it sent nothing.
  bool Sync(const Claim& claim);
  int ClearCaches(int limit);
  Settings ReadSettings(const std::string& charger_id);
  std::vector<ListEntry> DesiredList(const std::string& charger_id, int max_entries);
  // Sends one CALL and waits for its answer (the workers are threads of their own).
  template <typename Request>
  TypedReply<typename Request::Response> Call(const ChargerRecord& charger, const Request& request);

  pg::Pool& pool_;
  RegistryStore& registry_;
  CommandSender& sender_;
  const Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool wake_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace csms::control
