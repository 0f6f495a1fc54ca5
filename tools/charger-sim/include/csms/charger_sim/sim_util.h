#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Small pure helpers of the simulator's command line and transport, kept here to be testable.
namespace csms::sim {

struct WsUrl {
  std::string host;
  std::string port;  // "80" (ws) or "443" (wss) when the URL has none
  std::string path;  // without a trailing '/'; may be empty
  bool tls = false;  // wss:// (OCPP security profiles 2 and 3)
};

// The host and port of a URL's authority: "host", "host:port" or "[IPv6]:port" (the port 1 to
// 65535; `default_port` when none is given). nullopt (with the reason) for credentials
// ("user@host"), no host or a bad port.
struct HostPort {
  std::string host, port;
};
std::optional<HostPort> ParseAuthority(std::string_view authority, std::string_view default_port,
                                       std::string* error);

// Reads "ws://host[:port][/path]" or "wss://...". Anything else gives nullopt (with the reason).
std::optional<WsUrl> ParseWsUrl(std::string_view url, std::string* error);

// "ws://host:port/path" again, for logs (the port is left out when it is the default).
std::string UrlText(const WsUrl& url);

// True for a literal IPv4 or IPv6 address: TLS then checks the certificate's IP SAN and sends no
// SNI (RFC 6066 allows host names only).
bool IsIpLiteral(std::string_view host);

// Replaces every "{id}" in a file path with the station id (one client certificate per station).
std::string ExpandIdPlaceholder(std::string_view path, std::string_view station_id);

// Percent-encodes everything but RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~).
std::string PercentEncode(std::string_view text);

// The request target for one station: base path + "/" + percent-encoded id (OCPP-J 1.1).
std::string StationTarget(const WsUrl& url, std::string_view station_id);

// "Host" header value: the port is left out when it is the scheme's default (80, 443).
std::string HostHeader(const WsUrl& url);

// Station ids for --id / --id-prefix / --count. With count 1 and no prefix: {id}. Otherwise
// prefix + two-digit number, counting from `first`; with no prefix, the prefix and first number
// come from id's trailing digits ("emart_jeju_01" -> "emart_jeju_", 1).
std::vector<std::string> ExpandStationIds(std::string_view id, std::string_view id_prefix,
                                          int count);

// OCPP identifierString (max 48 of a-z A-Z 0-9 * - _ = : + | @ .); false with the reason.
bool IsValidStationId(std::string_view id, std::string* why);

std::string Base64Encode(std::string_view data);

// --password-file: the first line, without surrounding whitespace. False with the reason when
// the file cannot be read or that line is empty.
bool ReadPasswordFile(const std::string& path, std::string* password, std::string* error);

// Replaces the file atomically (a 0600 temporary file beside it, fsync, rename), so a crash
// leaves either the old or the new password, never half of one. False with the reason.
bool WritePasswordFile(const std::string& path, std::string_view password, std::string* error);

}  // namespace csms::sim
