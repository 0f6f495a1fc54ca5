#include "csms/control/webhook_delivery.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <ctime>
#include <stdexcept>

#include "csms/common/api_auth.h"

namespace csms::control {
namespace {

using std::chrono::milliseconds;

constexpr size_t kMaxUrlBytes = 2048;
constexpr milliseconds kMaxRetryAfter = std::chrono::hours(1);

std::optional<WebhookUrl> Fail(std::string* error, const std::string& why) {
  if (error) *error = why;
  return std::nullopt;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::optional<WebhookUrl> ParseWebhookUrl(std::string_view url, std::string* error) {
  if (url.size() > kMaxUrlBytes) return Fail(error, "url is over 2048 bytes");
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return Fail(error, "url contains a space or a control character");
    }
  }
  WebhookUrl out;
  const std::string lower = Lower(url.substr(0, std::min<size_t>(url.size(), 8)));
  if (lower.rfind("https://", 0) == 0) {
    out.tls = true;
    url.remove_prefix(8);
  } else if (lower.rfind("http://", 0) == 0) {
    url.remove_prefix(7);
  } else {
    return Fail(error, "url must start with http:// or https://");
  }
  if (url.find('#') != std::string_view::npos) return Fail(error, "url must not have a fragment");
  const size_t end = url.find_first_of("/?");
  std::string_view authority = url.substr(0, end);
  out.target = end == std::string_view::npos ? "/" : std::string(url.substr(end));
  if (out.target[0] == '?') out.target = std::string(1, '/').append(out.target);
  if (authority.find('@') != std::string_view::npos) {
    return Fail(error, "url must not carry credentials (receivers check X-CSMS-Signature)");
  }
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return Fail(error, "url has an unclosed [IPv6] host");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return Fail(error, "url has junk after its [IPv6] host");
      port = rest.substr(1);
    }
  } else {
    const size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return Fail(error, "url has no host");
  if (out.host.find(':') != std::string::npos && authority[0] != '[') {
    return Fail(error, "url: write an IPv6 host in brackets");
  }
  if (!port.empty()) {
    int value = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || p != port.data() + port.size() || value < 1 || value > 65535) {
      return Fail(error, "url has an invalid port");
    }
    out.port = std::to_string(value);
    out.default_port = value == (out.tls ? 443 : 80);
  } else {
    out.port = out.tls ? "443" : "80";
  }
  return out;
}

std::string WebhookSignature(std::string_view secret, std::string_view timestamp,
                             std::string_view body) {
  std::string message;
  message.reserve(timestamp.size() + 1 + body.size());
  message.append(timestamp).append(".").append(body);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest,
           &length) == nullptr) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return "v1=" + auth::ToHex(std::string_view(reinterpret_cast<const char*>(digest), length));
}

std::string NewWebhookSecret() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("no randomness for a secret");
  return "whsec_" +
         auth::ToHex(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

WebhookRequest BuildWebhookRequest(const std::string& url, const std::string& secret,
                                   const std::string& alert_uid, const std::string& body,
                                   int attempt, TimePoint now, milliseconds timeout) {
  const std::string timestamp = std::to_string(
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
  WebhookRequest request;
  request.url = url;
  request.body = body;
  request.timeout = timeout;
  request.headers = {{"Content-Type", "application/json"},
                     {"User-Agent", "csms-webhooks/1"},
                     {"Idempotency-Key", alert_uid},
                     {"X-CSMS-Delivery-Attempt", std::to_string(attempt)},
                     {"X-CSMS-Timestamp", timestamp},
                     {"X-CSMS-Signature", WebhookSignature(secret, timestamp, body)}};
  return request;
}

DeliveryOutcome ClassifyAttempt(int http_status) {
  if (http_status >= 200 && http_status <= 299) return DeliveryOutcome::kDelivered;
  if (http_status == 0 || http_status == 408 || http_status == 429 ||
      (http_status >= 500 && http_status <= 599)) {
    return DeliveryOutcome::kRetry;
  }
  return DeliveryOutcome::kRejected;
}

const char* OutcomeName(DeliveryOutcome outcome) {
  switch (outcome) {
    case DeliveryOutcome::kDelivered:
      return "delivered";
    case DeliveryOutcome::kRetry:
      return "retry";
    case DeliveryOutcome::kRejected:
      return "rejected";
  }
  return "retry";
}

std::optional<milliseconds> ParseRetryAfter(std::string_view value, TimePoint now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9) return kMaxRetryAfter;  // absurdly far: capped anyway
    int64_t seconds = 0;
    std::from_chars(value.data(), value.data() + value.size(), seconds);
    return milliseconds(seconds * 1000);
  }
  // IMF-fixdate, the only HTTP-date form senders may generate (RFC 9110 5.6.7).
  std::tm tm{};
  const std::string text(value);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  const auto at = std::chrono::system_clock::from_time_t(timegm(&tm));
  const auto delta = std::chrono::duration_cast<milliseconds>(at - now);
  return std::max(delta, milliseconds(0));
}

milliseconds RetryPolicy::Backoff(int attempt, double unit_random) const {
  const int doublings = std::clamp(attempt - 1, 0, 40);
  const double base = std::min(static_cast<double>(max.count()),
                               static_cast<double>(min.count()) * std::ldexp(1.0, doublings));
  const double jitter = 0.8 + 0.4 * std::clamp(unit_random, 0.0, 1.0);
  return std::min(max, milliseconds(static_cast<int64_t>(std::llround(base * jitter))));
}

milliseconds RetryPolicy::Delay(int attempt, std::optional<milliseconds> retry_after,
                                double unit_random) const {
  if (retry_after) return std::clamp(*retry_after, min, std::max(min, kMaxRetryAfter));
  return Backoff(attempt, unit_random);
}

}  // namespace csms::control
