#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "csms/control/webhook_dispatcher.h"

namespace csms::control {

// WebhookSender over HTTP/1.1 with Boost.Beast: http:// and https:// (TLS 1.2+, the
// receiver's certificate checked against the system's roots, or `ca_file`'s, and its name);
// redirects are not followed (a 3xx is the answer); the whole attempt, name resolution
// included, is bounded by the request's timeout; at most 64 KiB of the answer is read.
class HttpWebhookSender final : public WebhookSender {
 public:
  explicit HttpWebhookSender(const std::string& ca_file = "");
  ~HttpWebhookSender() override;
  HttpAttempt Post(const WebhookRequest& request) override;
  void Cancel() override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace csms::control
