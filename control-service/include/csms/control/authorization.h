#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "csms/common/time_util.h"
#include "csms/control/v1/control.pb.h"
#include "csms/control/v1/tokens.pb.h"

// Authorization decisions (OCPP C01, C05-C10; DIGEST §4.4-4.5), as pure functions: the caller
// gathers the facts (the stored token, the charger's station, the CSMS's own remote starts) and
// turns the decision into the charger's idTokenInfo.
namespace csms::control {

struct AuthorizeOptions {
  // --unknown-tokens accept: a token the store does not know is admitted (free-vend sites), and
  // the decision says so; otherwise it is Unknown.
  bool accept_unknown = false;
  // --authorization-cache-expiry: how long the charger may trust an Accepted answer without
  // asking again (cacheExpiryDateTime); never past the token's own expiry.
  std::chrono::seconds cache_expiry{24 * 3600};
};

struct AuthorizeFacts {
  std::string id_token, type;
  std::optional<v1::Token> token;  // the stored token, matched case-insensitively
  std::string station_id;          // the charger's station ("" when it belongs to none)
  // The CSMS itself sent this Central token to this charger in a RequestStartTransaction lately
  // (an authenticated operator's remote start; AuthorizeRemoteStart makes the charger ask).
  bool central_token_sent = false;
  TimePoint now;
};

struct AuthorizeDecision {
  std::string status = "Unknown";  // OCPP AuthorizationStatusEnumType
  std::optional<TimePoint> cache_expiry;
  std::optional<v1::TokenGroup> group;
  std::string language, personal_message;
  bool admitted_unknown = false;  // Accepted only because of --unknown-tokens accept
  std::string account_id;         // the stored token's customer account
  // A session on this decision deserves an operator's look: not Accepted, or admitted unknown.
  bool flagged = false;
  std::string reason;
};

AuthorizeDecision DecideAuthorization(const AuthorizeFacts& facts, const AuthorizeOptions& options);

// What a TransactionEvent's token adds to the facts (E05, ConcurrentTx).
struct TransactionTokenFacts {
  // The event brings the transaction's first token and the transaction has not ended: the
  // token authorizes the session, so its concurrent transactions count.
  bool authorizes_session = false;
  // The token's other transactions that still count (not Ended, connector not Available since,
  // not older than the age limit).
  int64_t active_sessions = 0;
  // The status decided when this token first came in this transaction: kept, so that a
  // repeated or later event gets the same answer.
  std::optional<std::string> first_status;
};

AuthorizeDecision DecideTransactionToken(const AuthorizeFacts& facts,
                                         const TransactionTokenFacts& transaction,
                                         const AuthorizeOptions& options);

// The decision as the gateway answers it.
void FillAuthorizeResponse(const AuthorizeDecision& decision, v1::AuthorizeTokenResponse* out);

}  // namespace csms::control
