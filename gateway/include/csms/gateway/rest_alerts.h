#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "csms/control/v1/alerts.grpc.pb.h"
#include "csms/gateway/rest_api.h"

namespace csms::gateway {

// Alerts and webhooks, one to one onto control's AlertService (the operator's key goes to
// control as metadata; control holds the webhook routes to the admin role):
//   POST   /webhooks                      create (201; the secret is in this answer only)
//   GET    /webhooks                      {"webhooks":[...]}
//   GET    /webhooks/{id}                 one webhook
//   PATCH  /webhooks/{id}                 change the fields given ("rotate_secret":true)
//   DELETE /webhooks/{id}                 delete it and its queue
//   POST   /webhooks/{id}/test            send a webhook_test alert now: {"delivery":{...}}
//   GET    /webhooks/{id}/deliveries?state=&limit=&cursor=   the delivery log, newest first
//   GET    /alerts?charger_id=&kind=&limit=&cursor=          alerts raised, newest first (read)
// Bodies in snake_case; errors {"status":"error","error","message"}: 400 bad_request, 403
// forbidden, 404 not_found, 503 unavailable.
class RestAlerts {
 public:
  using Respond = std::function<void(HttpResponse)>;
  explicit RestAlerts(std::shared_ptr<grpc::Channel> control);

  // True when `parts` (the path split at '/') is one of these routes; then `respond` runs once.
  bool Handle(const HttpRequest& request, const std::vector<std::string>& parts,
              const std::string& query, Respond& respond);

 private:
  void Create(const HttpRequest& http, Respond respond);
  void List(const HttpRequest& http, Respond respond);
  void Get(const HttpRequest& http, int64_t id, Respond respond);
  void Update(const HttpRequest& http, int64_t id, Respond respond);
  void Delete(const HttpRequest& http, int64_t id, Respond respond);
  void Test(const HttpRequest& http, int64_t id, Respond respond);
  void ListDeliveries(const HttpRequest& http, int64_t id, const std::string& query,
                      Respond respond);
  void ListAlerts(const HttpRequest& http, const std::string& query, Respond respond);

  std::unique_ptr<control::v1::AlertService::Stub> alerts_;
};

}  // namespace csms::gateway
