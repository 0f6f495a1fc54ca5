#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "csms/control/v1/log_uploads.grpc.pb.h"
#include "csms/gateway/rest_api.h"

namespace csms::gateway {

// Log uploads (GetLog), one to one onto control's LogUploadService:
//   POST /chargers/{id}/log-uploads        {"log_type","oldest","latest","retries",
//                                           "retry_interval_s"}: sends GetLog (operate; admin for
//                                           SecurityLog) and answers the charger's word
//   GET  /chargers/{id}/log-uploads        the charger's uploads, newest first (paged)
//   GET  /chargers/{id}/log-uploads/{n}    one upload
//   GET  /chargers/{id}/log-uploads/{n}/content   the file (SecurityLog: admin)
// The upload itself (PUT/POST /log-uploads/{token}) is the HTTP server's (http_server.h).
nlohmann::json LogUploadJson(const control::v1::LogUpload& upload);

class RestLogUploads {
 public:
  using Respond = std::function<void(HttpResponse)>;
  explicit RestLogUploads(std::shared_ptr<grpc::Channel> control);

  // True when `parts` (the path split at '/') is one of these routes; then `respond` runs once.
  bool Handle(const HttpRequest& request, const std::vector<std::string>& parts,
              const std::string& query, Respond& respond);

 private:
  void Request(const HttpRequest& http, const std::string& charger_id, Respond respond);
  void List(const HttpRequest& http, const std::string& charger_id, const std::string& query,
            Respond respond);
  void Get(const HttpRequest& http, const std::string& charger_id, int64_t upload_id,
           Respond respond);
  void Download(const HttpRequest& http, const std::string& charger_id, int64_t upload_id,
                Respond respond);

  std::shared_ptr<control::v1::LogUploadService::Stub> control_;
};

}  // namespace csms::gateway
