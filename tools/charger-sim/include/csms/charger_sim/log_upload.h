#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// GetLog (OCPP 2.0.1 N01): the pure parts of a log upload, kept out of the Beast client
// (src/http_upload.cc) so they can be tested without sockets.
namespace csms::sim {

// An http:// or https:// URL as the HTTP client needs it.
struct HttpUrl {
  bool tls = false;    // https://
  std::string host;    // without the brackets of an IPv6 literal
  std::string port;    // "80" or "443" when the URL has none
  std::string target;  // path and query ("/" when the URL has no path); the fragment is dropped
};

// Reads "http[s]://host[:port][/path][?query][#fragment]". Credentials in the URL, spaces and
// control characters, other schemes, a missing host and a bad port give nullopt with the reason.
std::optional<HttpUrl> ParseHttpUrl(std::string_view url, std::string* error);

// "Host" header value: IPv6 in brackets, the port left out when it is the scheme's default.
std::string HttpHostHeader(const HttpUrl& url);

// How the log goes to the remote location.
enum class LogUploadMethod {
  kPut,   // PUT, the raw log as the body
  kPost,  // POST multipart/form-data, one part name="file" with a filename
};
std::optional<LogUploadMethod> ParseLogUploadMethod(std::string_view name);
const char* LogUploadMethodName(LogUploadMethod method);

// The GetLogResponse filename: "<station id>-<requestId>.log".
std::string LogFileName(std::string_view station_id, int request_id);

// The simulated log, exactly `size` bytes: the lines
//   "<station id> <log type> line 000001: the quick brown fox jumps over the lazy dog\n"
// numbered from 1, cut off after `size` bytes. The Node charger
// (tests/e2e/schema_client/schema_client.js) generates the very same bytes.
std::string GeneratedLog(std::string_view station_id, std::string_view log_type, size_t size);

// A multipart/form-data boundary that does not occur in `content` ("csms-sim-" and 24 hex
// digits drawn from `seed`, re-drawn on the rare collision).
std::string MultipartBoundary(std::string_view content, uint64_t seed);

// The Content-Type header of a multipart body with this boundary.
std::string MultipartContentType(std::string_view boundary);

// A multipart/form-data body (RFC 7578) of one part:
//   --<boundary>\r\n
//   Content-Disposition: form-data; name="file"; filename="<filename>"\r\n
//   Content-Type: application/octet-stream\r\n
//   \r\n
//   <content>\r\n
//   --<boundary>--\r\n
// In the filename '"', CR and LF are written %22, %0D and %0A (as browsers do).
std::string MultipartFileBody(std::string_view boundary, std::string_view filename,
                              std::string_view content);

}  // namespace csms::sim
