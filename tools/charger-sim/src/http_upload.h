#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "csms/charger_sim/log_upload.h"

// A small asynchronous HTTP/1.1 client for GetLog uploads (one request per connection, then
// close). Declared without Beast so only http_upload.cc pays for it.
namespace csms::sim {

struct HttpUploadRequest {
  HttpUrl url;
  std::string method;        // "PUT" or "POST"
  std::string content_type;  // of the body
  std::string body;
  std::chrono::seconds timeout{60};  // for each of resolve + connect, TLS handshake, the exchange
};

struct HttpUploadResult {
  int status = 0;     // the HTTP status; 0 when there was no answer (see error)
  std::string error;  // why there was no answer; empty otherwise
  std::string body;   // the start of the answer's body (up to 16 KiB), for logs
};

class HttpUpload {
 public:
  virtual ~HttpUpload() = default;
  // Ends the request; `done` then runs with error "canceled" (unless it ran already).
  virtual void Cancel() = 0;
};

// Sends the request on `io` without blocking it. `done` runs exactly once, on `io`. https://
// needs `tls` (the server certificate is checked against the URL's host); without one it fails
// at once with an error. The answer is read while the body is still being written, so a server
// that answers early (413) and closes is still heard.
std::shared_ptr<HttpUpload> StartHttpUpload(boost::asio::io_context& io,
                                            std::shared_ptr<boost::asio::ssl::context> tls,
                                            HttpUploadRequest request,
                                            std::function<void(HttpUploadResult)> done);

}  // namespace csms::sim
