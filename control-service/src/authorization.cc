#include "csms/control/authorization.h"

#include <algorithm>

namespace csms::control {

AuthorizeDecision DecideAuthorization(const AuthorizeFacts& facts,
                                      const AuthorizeOptions& options) {
  AuthorizeDecision d;
  // C02.FR.02: a charger that authorizes nobody (free vend) says so with this type.
  if (facts.type == "NoAuthorization") {
    d.status = "Accepted";
    d.reason = "NoAuthorization token";
    return d;
  }
  if (!facts.token) {
    if (facts.type == "Central" && facts.central_token_sent) {
      d.status = "Accepted";
      d.reason = "the CSMS's own remote start token";
      return d;
    }
    if (options.accept_unknown) {
      d.status = "Accepted";
      d.admitted_unknown = true;
      d.flagged = true;
      d.reason = "unknown token admitted (--unknown-tokens accept)";
      return d;
    }
    d.status = "Unknown";
    d.flagged = true;
    d.reason = "not in the token store";
    return d;
  }
  const v1::Token& token = *facts.token;
  d.account_id = token.account_id();
  if (token.has_group() && !token.group().id_token().empty()) d.group = token.group();
  d.language = token.language();
  d.personal_message = token.personal_message();
  const bool expired = token.has_expires_at() && FromProto(token.expires_at()) <= facts.now;
  if (token.status() != "Accepted") {
    d.status = token.status();
    d.reason = "stored status " + token.status();
  } else if (expired) {
    d.status = "Expired";
    d.reason = "expired";
  } else if (token.has_stations() &&
             std::find(token.stations().station_ids().begin(), token.stations().station_ids().end(),
                       facts.station_id) == token.stations().station_ids().end()) {
    d.status = "NotAtThisLocation";
    d.reason = facts.station_id.empty() ? "the charger belongs to no station"
                                        : "not valid at station " + facts.station_id;
  } else {
    d.status = "Accepted";
    d.reason = "accepted";
    TimePoint until = facts.now + options.cache_expiry;
    if (token.has_expires_at()) until = std::min(until, FromProto(token.expires_at()));
    d.cache_expiry = until;
  }
  d.flagged = d.status != "Accepted";
  return d;
}

AuthorizeDecision DecideTransactionToken(const AuthorizeFacts& facts,
                                         const TransactionTokenFacts& transaction,
                                         const AuthorizeOptions& options) {
  AuthorizeDecision d = DecideAuthorization(facts, options);
  if (transaction.first_status) {
    if (*transaction.first_status != d.status) {
      d.reason = "as first decided for this transaction (now " + d.status + ": " + d.reason + ")";
    }
    d.status = *transaction.first_status;
  } else if (transaction.authorizes_session && d.status == "Accepted" && facts.token &&
             transaction.active_sessions >= std::max(1, facts.token->max_concurrent())) {
    d.status = "ConcurrentTx";
    d.reason = "the token already runs " + std::to_string(transaction.active_sessions) +
               " transaction(s), its maximum";
  }
  if (d.status != "Accepted") d.cache_expiry.reset();
  d.flagged = d.admitted_unknown || d.status != "Accepted";
  return d;
}

void FillAuthorizeResponse(const AuthorizeDecision& decision, v1::AuthorizeTokenResponse* out) {
  out->set_status(decision.status);
  if (decision.cache_expiry) *out->mutable_cache_expiry() = ToProto(*decision.cache_expiry);
  if (decision.group) {
    out->set_group_id_token(decision.group->id_token());
    out->set_group_type(decision.group->type());
  }
  out->set_language(decision.language);
  out->set_personal_message(decision.personal_message);
  out->set_reason(decision.reason);
  out->set_account_id(decision.account_id);
  out->set_flagged(decision.flagged);
}

}  // namespace csms::control
