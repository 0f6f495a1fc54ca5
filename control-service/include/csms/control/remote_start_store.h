#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <vector>

#include "csms/common/pg.h"

namespace csms::control {

// States of a remote start: Requested (row written, CALL not answered yet), Accepted, then
// Started once a TransactionEvent is correlated; or Rejected, Failed, TimedOut.
namespace remote_start_status {
inline constexpr const char* kAccepted = "Accepted";
inline constexpr const char* kRejected = "Rejected";
inline constexpr const char* kFailed = "Failed";
inline constexpr const char* kTimedOut = "TimedOut";
}  // namespace remote_start_status

// A TransactionEvent that names its remote start (remoteStartId) claims it.
struct RemoteStartClaim {
  std::string charger_id;
  int64_t remote_start_id;
  std::string transaction_id;
};

// Table remote_starts: each remote start and the transaction it became.
class RemoteStartStore {
 public:
  explicit RemoteStartStore(pg::Pool& pool) : pool_(pool) {}

  // A fresh id from the shared sequence (the remoteStartId sent to the charger).
  int64_t Create(const std::string& charger_id, int evse_id, const std::string& id_token);
  // Once correlated (Started) a remote start keeps that status.
  void SetStatus(int64_t remote_start_id, const std::string& status);
  // Records the transaction the charger already had (RequestStartTransactionResponse).
  void SetTransaction(int64_t remote_start_id, const std::string& transaction_id);
  // The transaction correlated with the remote start, "" while none.
  std::string TransactionOf(int64_t remote_start_id);
  // Whether the CSMS sent `id_token` (case-insensitively) to the charger in a remote start
  // within `window`: the Central token an operator's start carries, which the charger may
  // Authorize before it starts (AuthorizeRemoteStart).
  bool SentToken(const std::string& charger_id, const std::string& id_token,
                 std::chrono::seconds window);

  // Correlation inside the registry's TransactionEvent batch (same transaction).
  // The chargers among `charger_ids` with a remote start still waiting for its transaction.
  static std::set<std::string> Waiting(pqxx::transaction_base& txn,
                                       const std::set<std::string>& charger_ids);
  // Claims named remote starts; the first claim of each id wins.
  static void Claim(pqxx::transaction_base& txn, const std::vector<RemoteStartClaim>& claims);
  // The seed's simulator does not echo remoteStartId: claims the oldest waiting remote start of
  // the charger (and EVSE, when not 0) for the transaction. Its id, if one was waiting.
  static std::optional<int64_t> ClaimOldest(pqxx::transaction_base& txn,
                                            const std::string& charger_id, int evse_id,
                                            const std::string& transaction_id);

 private:
  pg::Pool& pool_;
};

}  // namespace csms::control
