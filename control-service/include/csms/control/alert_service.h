#pragma once

#include <grpcpp/grpcpp.h>

#include "csms/common/api_auth.h"
#include "csms/control/alert_store.h"
#include "csms/control/v1/alerts.grpc.pb.h"
#include "csms/control/webhook_dispatcher.h"
#include "csms/control/webhook_store.h"

namespace csms::control {

// csms.control.v1.AlertService on the gRPC callback API. Each method checks its caller itself
// (operator_call.h AuthorizeCaller): the webhook methods need admin, which for a REST request
// is the operator's role the gateway forwards, so no key-checking wrapper is needed in front.
class AlertServiceImpl final : public v1::AlertService::CallbackService {
 public:
  // `dispatcher` null: TestWebhook only queues its alert. `auth` null or disabled: open mode.
  AlertServiceImpl(WebhookStore& webhooks, AlertStore& alerts, WebhookDispatcher* dispatcher,
                   auth::Authenticator* auth)
      : webhooks_(webhooks), alerts_(alerts), dispatcher_(dispatcher), auth_(auth) {}

  grpc::ServerUnaryReactor* CreateWebhook(grpc::CallbackServerContext* context,
                                          const v1::CreateWebhookRequest* request,
                                          v1::Webhook* response) override;
  grpc::ServerUnaryReactor* ListWebhooks(grpc::CallbackServerContext* context,
                                         const v1::ListWebhooksRequest* request,
                                         v1::ListWebhooksResponse* response) override;
  grpc::ServerUnaryReactor* GetWebhook(grpc::CallbackServerContext* context,
                                       const v1::GetWebhookRequest* request,
                                       v1::Webhook* response) override;
  grpc::ServerUnaryReactor* UpdateWebhook(grpc::CallbackServerContext* context,
                                          const v1::UpdateWebhookRequest* request,
                                          v1::Webhook* response) override;
  grpc::ServerUnaryReactor* DeleteWebhook(grpc::CallbackServerContext* context,
                                          const v1::DeleteWebhookRequest* request,
                                          v1::DeleteWebhookResponse* response) override;
  grpc::ServerUnaryReactor* TestWebhook(grpc::CallbackServerContext* context,
                                        const v1::TestWebhookRequest* request,
                                        v1::WebhookDelivery* response) override;
  grpc::ServerUnaryReactor* ListWebhookDeliveries(
      grpc::CallbackServerContext* context, const v1::ListWebhookDeliveriesRequest* request,
      v1::ListWebhookDeliveriesResponse* response) override;
  grpc::ServerUnaryReactor* ListAlerts(grpc::CallbackServerContext* context,
                                       const v1::ListAlertsRequest* request,
                                       v1::ListAlertsResponse* response) override;

 private:
  WebhookStore& webhooks_;
  AlertStore& alerts_;
  WebhookDispatcher* dispatcher_;
  auth::Authenticator* auth_;
};

void FillAlert(const StoredAlert& alert, v1::Alert* out);
void FillDelivery(const DeliveryRecord& delivery, v1::WebhookDelivery* out);

}  // namespace csms::control
