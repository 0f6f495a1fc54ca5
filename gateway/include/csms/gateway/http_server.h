#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>

#include "csms/common/api_auth.h"
#include "csms/gateway/live_feed.h"
#include "csms/gateway/log_upload_receiver.h"
#include "csms/gateway/rest_api.h"

namespace csms::gateway {

// HTTP/1.1 front of the REST API (keep-alive, bounded headers and bodies). With a LiveFeed,
// GET /events is its Server-Sent Events stream (text/event-stream, chunked, open until the
// client leaves). With an enabled Authenticator every route but the probes, /metrics and the
// dashboard's static files needs a bearer token (GET: read role, else operate); /events also
// takes it as ?access_token= since EventSource cannot send headers. With a LogUploadReceiver,
// PUT and POST /log-uploads/{token}[/{filename}] take chargers' log files (the token is the
// credential; size-capped before and while the body is read).
class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, RestApi& api, LiveFeed* live_feed = nullptr,
             auth::Authenticator* auth = nullptr, LogUploadReceiver* uploads = nullptr);
  ~HttpServer();
  bool Listen(const std::string& host_port, std::string* error);
  void Shutdown();

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace csms::gateway
