#include "csms/charger_sim/sim_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace csms::sim {

std::optional<HostPort> ParseAuthority(std::string_view authority, std::string_view default_port,
                                       std::string* error) {
  if (authority.find('@') != std::string_view::npos) {
    *error = "URL must not carry credentials";
    return std::nullopt;
  }
  HostPort out;
  std::string_view port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {  // [IPv6]:port
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      *error = "bad IPv6 address in URL";
      return std::nullopt;
    }
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        *error = "bad port in URL";
        return std::nullopt;
      }
      port = after.substr(1);
      has_port = true;
    }
  } else {
    size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      has_port = true;
    }
  }
  if (out.host.empty()) {
    *error = "URL has no host";
    return std::nullopt;
  }
  const bool digits =
      !port.empty() && port.size() <= 5 && std::all_of(port.begin(), port.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      });
  if (has_port &&
      (!digits || std::stoi(std::string(port)) < 1 || std::stoi(std::string(port)) > 65535)) {
    *error = "bad port in URL";
    return std::nullopt;
  }
  out.port = has_port ? std::string(port) : std::string(default_port);
  return out;
}

std::optional<WsUrl> ParseWsUrl(std::string_view url, std::string* error) {
  WsUrl out;
  std::string_view rest;
  if (url.substr(0, 5) == "ws://") {
    rest = url.substr(5);
  } else if (url.substr(0, 6) == "wss://") {
    rest = url.substr(6);
    out.tls = true;
  } else {
    *error = "URL must start with ws:// or wss://";
    return std::nullopt;
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (path.find_first_of("?#") != std::string_view::npos) {
    *error = "URL must not have a query or fragment";
    return std::nullopt;
  }
  if (authority.find('@') != std::string_view::npos) {
    *error = "URL must not carry credentials; use --password";
    return std::nullopt;
  }
  auto host_port = ParseAuthority(authority, out.tls ? "443" : "80", error);
  if (!host_port) return std::nullopt;
  out.host = std::move(host_port->host);
  out.port = std::move(host_port->port);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  out.path = std::string(path);
  return out;
}

std::string PercentEncode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string StationTarget(const WsUrl& url, std::string_view station_id) {
  return url.path + "/" + PercentEncode(station_id);
}

std::string HostHeader(const WsUrl& url) {
  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  return url.port == (url.tls ? "443" : "80") ? host : host + ":" + url.port;
}

std::string UrlText(const WsUrl& url) {
  return (url.tls ? "wss://" : "ws://") + HostHeader(url) + url.path;
}

bool IsIpLiteral(std::string_view host) {
  std::string h(host);
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

std::string ExpandIdPlaceholder(std::string_view path, std::string_view station_id) {
  constexpr std::string_view kPlaceholder = "{id}";
  std::string out;
  for (size_t i = 0; i < path.size();) {
    if (path.substr(i, kPlaceholder.size()) == kPlaceholder) {
      out += station_id;
      i += kPlaceholder.size();
    } else {
      out += path[i++];
    }
  }
  return out;
}

std::vector<std::string> ExpandStationIds(std::string_view id, std::string_view id_prefix,
                                          int count) {
  if (count < 1) return {};
  if (count == 1 && id_prefix.empty()) return {std::string(id)};
  std::string prefix(id_prefix);
  int first = 1;
  if (prefix.empty()) {
    size_t digits_at = id.size();
    while (digits_at > 0 && std::isdigit(static_cast<unsigned char>(id[digits_at - 1]))) {
      --digits_at;
    }
    prefix = std::string(id.substr(0, digits_at));
    if (digits_at < id.size() && id.size() - digits_at <= 6) {
      first = std::stoi(std::string(id.substr(digits_at)));
    }
  }
  std::vector<std::string> ids;
  for (int i = 0; i < count; ++i) {
    char num[16];
    std::snprintf(num, sizeof num, "%02d", first + i);
    ids.push_back(prefix + num);
  }
  return ids;
}

bool IsValidStationId(std::string_view id, std::string* why) {
  if (id.empty() || id.size() > 48) {
    *why = "station id must be 1 to 48 characters";
    return false;
  }
  for (unsigned char c : id) {
    if (!(std::isalnum(c) ||
          std::string_view("*-_=:+|@.").find(static_cast<char>(c)) != std::string_view::npos)) {
      *why = "station id may only contain a-z A-Z 0-9 * - _ = : + | @ .";
      return false;
    }
  }
  return true;
}

std::string Base64Encode(std::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t n = (static_cast<unsigned char>(data[i]) << 16) |
                 (static_cast<unsigned char>(data[i + 1]) << 8) |
                 static_cast<unsigned char>(data[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (size_t left = data.size() - i; left > 0) {
    uint32_t n = static_cast<unsigned char>(data[i]) << 16;
    if (left == 2) n |= static_cast<unsigned char>(data[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += left == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

bool ReadPasswordFile(const std::string& path, std::string* password, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = path + ": " + std::strerror(errno);
    return false;
  }
  std::string line;
  std::getline(in, line);
  const char* kSpace = " \t\r\n\v\f";
  const size_t begin = line.find_first_not_of(kSpace);
  if (begin == std::string::npos) {
    *error = path + ": the first line is empty";
    return false;
  }
  *password = line.substr(begin, line.find_last_not_of(kSpace) + 1 - begin);
  return true;
}

bool WritePasswordFile(const std::string& path, std::string_view password, std::string* error) {
  // Same directory, so rename() stays on one file system and is atomic.
  const std::string temp = path + ".tmp." + std::to_string(::getpid());
  auto fail = [&](const char* what) {
    *error = path + ": " + what + ": " + std::strerror(errno);
    ::unlink(temp.c_str());
    return false;
  };
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return fail("cannot create temporary file");
  // A stale temporary file keeps its old mode under O_TRUNC; the password is a secret.
  std::string text = std::string(password) + "\n";
  bool ok = ::fchmod(fd, 0600) == 0;
  for (size_t done = 0; ok && done < text.size();) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  if (!ok) {
    int saved = errno;
    ::close(fd);
    errno = saved;
    return fail("cannot write");
  }
  if (::close(fd) != 0) return fail("cannot write");
  if (::rename(temp.c_str(), path.c_str()) != 0) return fail("cannot rename");
  return true;
}

}  // namespace csms::sim
