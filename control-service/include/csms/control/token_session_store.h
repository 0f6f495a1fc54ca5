#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

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

  // `pool` serves only these decisions, with pg::KeyLookupSettings(): each statement is planned
  // once per connection (the facts statement takes half a millisecond to plan).
  TokenSessionStore(pg::Pool& pool, Options options) : pool_(pool), options_(options) {}

  // What the database knows about one request's token and transaction (ReadFacts).
  struct Facts {
    AuthorizeFacts authorize;
    TransactionTokenFacts transaction;
  };

  // The facts of every request (each with a transaction context) in one statement: a batch of
  // TransactionEvents' tokens costs one round trip, whatever its size. Throws on a database
  // error (the whole batch failed).
  std::vector<Facts> ReadFacts(const std::vector<const v1::AuthorizeTokenRequest*>& requests,
                               TimePoint now);

  // Decides one request on its facts. The event that brings a transaction's first stored token
  // records the decision in a transaction of its own (and, when it is accepted, counts the
  // token's concurrent transactions under the token's row lock); every other decision is made
  // on the facts alone. Throws on a database error (this request failed).
  AuthorizeDecision DecideOn(const v1::AuthorizeTokenRequest& request, Facts facts, TimePoint now);

  // ReadFacts and DecideOn for one request.
  AuthorizeDecision Decide(const v1::AuthorizeTokenRequest& request, TimePoint now);

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
