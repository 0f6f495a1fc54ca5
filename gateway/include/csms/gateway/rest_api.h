#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "csms/billing/v1/billing.grpc.pb.h"
#include "csms/control/v1/control.grpc.pb.h"

namespace csms::gateway {

class RestAlerts;
class RestChargerData;
class RestCommands;
class RestLogUploads;
class RestReservations;
class RestTariffs;
class RestTokens;

struct HttpRequest {
  std::string method;  // "GET", "POST", "PATCH", ...
  std::string target;  // path and query
  std::string body;
  // The API key that asked (empty in open mode): named to control in commands' metadata, so
  // the command log says who, and admin actions can be held to the admin role.
  std::string key_id;
  std::string role;
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  // "" : the default (JSON is never cached: it carries charger data and follows a token).
  std::string cache_control = {};
  // More headers (a download's Content-Disposition and ETag).
  std::vector<std::pair<std::string, std::string>> headers = {};
};

// The operator REST API of DESIGN.md, mapped one to one onto the control and billing gRPC
// services. Bodies and paths are checked here; everything else is the services' business.
class RestApi {
 public:
  RestApi(std::shared_ptr<grpc::Channel> control, std::shared_ptr<grpc::Channel> billing);
  ~RestApi();

  // `respond` runs exactly once, possibly on a gRPC thread.
  void Handle(const HttpRequest& request, std::function<void(HttpResponse)> respond);

  // What the dashboard page reads from /dashboard/config.json: the map-tile URL template
  // ("" = no tiles, a plain base layer) and its attribution.
  void SetDashboardConfig(const std::string& tile_url, const std::string& tile_attribution);

  // GET /readyz answers through this (set by the gateway app); without it /readyz is 404.
  void SetReadiness(std::function<void(std::function<void(HttpResponse)>)> readyz) {
    readyz_ = std::move(readyz);
  }

  // The token routes (rest_tokens.h); the HTTP server streams POST /tokens:import through them.
  RestTokens& tokens() { return *tokens_; }

  // {"status":"error","error":code,"message":message} with the given HTTP status.
  static HttpResponse Error(int status, const std::string& code, const std::string& message);

 private:
  using Respond = std::function<void(HttpResponse)>;
  void StartTransaction(const std::string& charger_id, const std::string& body, Respond respond);
  void StopTransaction(const std::string& charger_id, const std::string& body, Respond respond);
  void SetPower(const std::string& charger_id, const std::string& body, Respond respond);
  void GetCharger(const std::string& charger_id, Respond respond);
  void ListChargers(Respond respond);
  void GetSession(const std::string& transaction_id, const std::string& charger_id,
                  Respond respond);
  void ListSessions(billing::v1::ListSessionsRequest request, Respond respond);
  void GetDailyStats(const std::string& query, Respond respond);
  void ListStations(Respond respond);
  void GetStation(const std::string& station_id, Respond respond);
  void CreateStation(const std::string& body, Respond respond);
  void UpdateStation(const std::string& station_id, const std::string& body, Respond respond);
  void DeleteStation(const std::string& station_id, Respond respond);
  void AssignCharger(const std::string& charger_id, const std::string& body, Respond respond);
  // Provisioning (security profile, password, approval); see control.proto CreateCharger.
  void ProvisionCharger(const std::string& charger_id, const std::string& body, Respond respond);
  void DeleteCharger(const std::string& charger_id, Respond respond);
  void GetChargerSecurity(const std::string& charger_id, Respond respond);
  // POST /chargers/{id}/password: OCPP A01 through control's RotateChargerPassword.
  void RotateChargerPassword(const std::string& charger_id, const std::string& body,
                             Respond respond);
  // "/" and the bundle's files; false when `path` is none of them.
  bool ServeDashboard(const std::string& path, Respond& respond);

  std::unique_ptr<control::v1::ControlService::Stub> control_;
  std::unique_ptr<billing::v1::BillingService::Stub> billing_;
  std::unique_ptr<RestCommands> commands_;  // the command routes (rest_commands.h)
  // Reads of a charger's data: its event log (rest_charger_data.h).
  std::unique_ptr<RestChargerData> charger_data_;
  // Webhooks and alerts (rest_alerts.h).
  std::unique_ptr<RestAlerts> alerts_;
  // Log uploads (rest_log_uploads.h).
  std::unique_ptr<RestLogUploads> log_uploads_;
  // Id tokens (rest_tokens.h).
  std::unique_ptr<RestTokens> tokens_;
  // Reservations (rest_reservations.h).
  std::unique_ptr<RestReservations> reservations_;
  // Tariffs and stations' tariffs (rest_tariffs.h).
  std::unique_ptr<RestTariffs> tariffs_;
  std::string dashboard_config_ = R"({"tile_url":"","tile_attribution":""})";
  std::function<void(std::function<void(HttpResponse)>)> readyz_;
};

}  // namespace csms::gateway
