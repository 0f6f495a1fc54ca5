#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>

#include "csms/gateway/live_feed.h"
#include "csms/gateway/rest_api.h"

namespace csms::gateway {

// HTTP/1.1 front of the REST API (keep-alive, bounded headers and bodies). With a LiveFeed,
// GET /events is its Server-Sent Events stream (text/event-stream, chunked, open until the
// client leaves).
class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, RestApi& api, LiveFeed* live_feed = nullptr);
  ~HttpServer();
  bool Listen(const std::string& host_port, std::string* error);
  void Shutdown();

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace csms::gateway
