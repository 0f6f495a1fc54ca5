#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "csms/common/time_util.h"

// How a webhook delivery is made and judged, as pure functions: the URL, the signature, the
// request, what an answer means and when to try again. webhook_dispatcher.h does the I/O.
namespace csms::control {

// An http:// or https:// URL as the sender needs it.
struct WebhookUrl {
  bool tls = false;
  std::string host;    // without brackets for an IPv6 literal
  std::string port;    // "80" / "443" when the URL names none
  std::string target;  // path and query, "/" at least
  bool default_port = true;
};
// nullopt with `error` for anything else: another scheme, no host, a user:password@ part
// (use the signature instead), a fragment, spaces or control characters, over 2,048 bytes.
std::optional<WebhookUrl> ParseWebhookUrl(std::string_view url, std::string* error = nullptr);

// X-CSMS-Signature: "v1=" + lower-case hex HMAC-SHA256(secret, timestamp + "." + body), where
// timestamp is the X-CSMS-Timestamp header (Unix seconds, decimal) and the key is the secret's
// bytes as shown at creation.
std::string WebhookSignature(std::string_view secret, std::string_view timestamp,
                             std::string_view body);

// A new secret: "whsec_" + 64 hex digits (256 bits from the OpenSSL CSPRNG).
std::string NewWebhookSecret();

// One POST, ready to send.
struct WebhookRequest {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{10000};
};
// The request of attempt `attempt` of an alert's delivery, signed at `now`: Content-Type,
// Idempotency-Key (the alert's uid), X-CSMS-Delivery-Attempt, X-CSMS-Timestamp,
// X-CSMS-Signature. The body is the alert's stored body, byte for byte.
WebhookRequest BuildWebhookRequest(const std::string& url, const std::string& secret,
                                   const std::string& alert_uid, const std::string& body,
                                   int attempt, TimePoint now, std::chrono::milliseconds timeout);

// What one attempt got back. status 0: no HTTP answer (refused, reset, TLS, DNS, timeout).
struct HttpAttempt {
  int status = 0;
  std::string error;        // why there was no answer, or a short excerpt of a refusal
  std::string retry_after;  // the Retry-After header as sent ("" when none)
  std::chrono::milliseconds latency{0};
  bool cancelled = false;  // the sender was stopped mid-way: not a verdict on the receiver
};

enum class DeliveryOutcome {
  kDelivered,  // 2xx
  kRetry,      // no answer, 408, 429, 5xx
  kRejected,   // any other answer (3xx: redirects are not followed; 4xx): logged, not retried
};
DeliveryOutcome ClassifyAttempt(int http_status);
const char* OutcomeName(DeliveryOutcome outcome);

// Retry-After as delta-seconds ("120") or an HTTP-date ("Wed, 21 Oct 2026 07:28:00 GMT"),
// relative to `now`; nullopt when absent or unreadable. A date in the past is zero.
std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value, TimePoint now);

// Exponential backoff with jitter: attempt n (1 = the first one failed) waits
// min(max, min * 2^(n-1)) scaled by a factor in [0.8, 1.2] from `unit_random` in [0, 1], and
// never more than `max`.
struct RetryPolicy {
  std::chrono::milliseconds min{1000};
  std::chrono::milliseconds max{600000};
  std::chrono::milliseconds Backoff(int attempt, double unit_random) const;
  // The wait after a failed attempt: what the receiver asked for (Retry-After, at least `min`
  // and at most an hour) when it said, else Backoff.
  std::chrono::milliseconds Delay(int attempt, std::optional<std::chrono::milliseconds> retry_after,
                                  double unit_random) const;
};

}  // namespace csms::control
