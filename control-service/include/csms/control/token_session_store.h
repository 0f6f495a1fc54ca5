#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "csms/common/pg.h"
#include "csms/control/authorization.h"
#include "csms/control/v1/control.pb.h"

namespace csms::control {

// The decisions on TransactionEvents' tokens (table token_sessions, migration 0013): E05 (a
// Started with a token that is not Accepted), ConcurrentTx, and the first decision of each
// transaction's token kept for every later event that carries the same token.
class TokenSessionStore {
 public:
  struct Options {
    AuthorizeOptions authorize;
    // A transaction without Ended stops counting towards its token's concurrent transactions
    // after this long (--token-session-max-age); its row is then deleted.
    std::chrono::seconds session_max_age{24 * 3600};
    // How long after a remote start its Central token is accepted without a remoteStartId.
    std::chrono::seconds remote_start_window{120};
  };

  TokenSessionStore(pg::Pool& pool, Options options) : pool_(pool), options_(options) {}

  // Decides `type`/`id_token` for the transaction in `context` on `charger_id`, in one database
  // transaction. The event that brings a transaction's first token records the decision (and,
  // when it is accepted, counts the token's concurrent transactions under the token's row lock).
  AuthorizeDecision Decide(const std::string& charger_id, const std::string& id_token,
                           const std::string& type, const v1::TransactionTokenContext& context,
                           TimePoint now);

  // Deletes rows past the age limit; returns how many. Decide runs it at most once an hour
  // (rows past the limit no longer count, so a late purge only costs space).
  int64_t PurgeExpired();

  const Options& options() const { return options_; }

 private:
  pg::Pool& pool_;
  const Options options_;
  std::atomic<int64_t> next_purge_ms_{0};
};

}  // namespace csms::control
