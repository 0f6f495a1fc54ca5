#include "csms/charger_sim/log_upload.h"

#include <cctype>
#include <cstdio>
#include <random>

#include "csms/charger_sim/sim_util.h"

namespace csms::sim {

std::optional<HttpUrl> ParseHttpUrl(std::string_view url, std::string* error) {
  HttpUrl out;
  for (unsigned char c : url) {
    if (c <= 0x20 || c == 0x7f) {
      *error = "URL must not contain spaces or control characters";
      return std::nullopt;
    }
  }
  std::string_view rest;
  if (url.substr(0, 7) == "http://") {
    rest = url.substr(7);
  } else if (url.substr(0, 8) == "https://") {
    rest = url.substr(8);
    out.tls = true;
  } else {
    *error = "URL must start with http:// or https://";
    return std::nullopt;
  }
  if (size_t hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  size_t end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, end);
  std::string_view target = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  auto host_port = ParseAuthority(authority, out.tls ? "443" : "80", error);
  if (!host_port) return std::nullopt;
  out.host = std::move(host_port->host);
  out.port = std::move(host_port->port);
  out.target =
      target.empty() || target.front() == '?' ? "/" + std::string(target) : std::string(target);
  return out;
}

std::string HttpHostHeader(const HttpUrl& url) {
  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  return url.port == (url.tls ? "443" : "80") ? host : host + ":" + url.port;
}

std::optional<LogUploadMethod> ParseLogUploadMethod(std::string_view name) {
  if (name == "put") return LogUploadMethod::kPut;
  if (name == "post") return LogUploadMethod::kPost;
  return std::nullopt;
}

const char* LogUploadMethodName(LogUploadMethod method) {
  return method == LogUploadMethod::kPost ? "post" : "put";
}

std::string LogFileName(std::string_view station_id, int request_id) {
  return std::string(station_id) + "-" + std::to_string(request_id) + ".log";
}

std::string GeneratedLog(std::string_view station_id, std::string_view log_type, size_t size) {
  std::string out;
  out.reserve(size + 128);
  char number[16];
  for (unsigned line = 1; out.size() < size; ++line) {
    std::snprintf(number, sizeof number, "%06u", line);
    out.append(station_id).append(" ").append(log_type).append(" line ").append(number);
    out.append(": the quick brown fox jumps over the lazy dog\n");
  }
  out.resize(size);
  return out;
}

std::string MultipartBoundary(std::string_view content, uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (;;) {
    char hex[32];
    std::snprintf(hex, sizeof hex, "%016llx%08llx", static_cast<unsigned long long>(rng()),
                  static_cast<unsigned long long>(rng() & 0xffffffffu));
    std::string boundary = std::string("csms-sim-") + hex;
    if (content.find(boundary) == std::string_view::npos) return boundary;
  }
}

std::string MultipartContentType(std::string_view boundary) {
  return "multipart/form-data; boundary=" + std::string(boundary);
}

std::string MultipartFileBody(std::string_view boundary, std::string_view filename,
                              std::string_view content) {
  std::string name;
  for (char c : filename) {
    if (c == '"') {
      name += "%22";
    } else if (c == '\r') {
      name += "%0D";
    } else if (c == '\n') {
      name += "%0A";
    } else {
      name += c;
    }
  }
  std::string body;
  body.reserve(content.size() + boundary.size() * 2 + name.size() + 128);
  body.append("--").append(boundary).append("\r\n");
  body.append("Content-Disposition: form-data; name=\"file\"; filename=\"").append(name);
  body.append("\"\r\nContent-Type: application/octet-stream\r\n\r\n");
  body.append(content);
  body.append("\r\n--").append(boundary).append("--\r\n");
  return body;
}

}  // namespace csms::sim
