#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "csms/common/time_util.h"

// The pure part of the operator REST API: request bodies, paths and query strings read into
// plain values. No gRPC and no sockets, so it is unit-tested and fuzzed on its own.
namespace csms::gateway {

// Why a request was refused; RestApi turns it into {"status":"error","error":code,...}.
struct RestError {
  int status = 400;
  std::string code = "bad_request";
  std::string message;
};

// POST /chargers/{id}/start: {"id_token": "...", "evse_id"?: n, "connector_id"?: n}.
struct StartBody {
  std::string id_token;  // 1 to 36 characters
  int evse_id = 1;       // 1 to 1000000; 1 when absent or null
  int connector_id = 1;  // 1 to 1000000; 1 when absent or null
};

// POST /chargers/{id}/stop: {"transaction_id": "..."}.
struct StopBody {
  std::string transaction_id;  // 1 to 36 characters
};

// PATCH /chargers/{id}/power: {"max_power_kw": x}.
struct PowerBody {
  double max_power_kw = 0;  // finite and above 0
};

// POST /stations and PUT /stations/{id}: {"station_id", "name", "address", "latitude",
// "longitude", "charger_ids": [...]}. Types are checked here, ranges by control.
struct StationBody {
  std::optional<std::string> station_id, name, address;
  std::optional<double> latitude, longitude;
  std::optional<std::vector<std::string>> charger_ids;
};

// PUT /chargers/{id}/station: {"station_id": "..."}, or null / "" to take it off its station.
struct AssignBody {
  std::string station_id;
};

std::variant<StartBody, RestError> ParseStartBody(const std::string& body);
std::variant<StopBody, RestError> ParseStopBody(const std::string& body);
std::variant<PowerBody, RestError> ParsePowerBody(const std::string& body);
// `create`: station_id, name, latitude and longitude are required (else any subset).
std::variant<StationBody, RestError> ParseStationBody(const std::string& body, bool create);
std::variant<AssignBody, RestError> ParseAssignBody(const std::string& body);

// The non-empty segments of a path: "/chargers//CS001/" → {"chargers", "CS001"}.
std::vector<std::string> SplitPath(const std::string& path);

// Decodes %XX escapes (a malformed escape stays as it is). `plus_is_space` only for query strings
// (form encoding); in a path "+" is itself, and OCPP station ids may contain it.
std::string PercentDecode(const std::string& s, bool plus_is_space = false);
// One path segment as a URL carries it: everything but RFC 3986's unreserved characters
// (A-Z a-z 0-9 - . _ ~) as %XX, so a station id with '/', '?' or '%' links back to itself.
std::string PercentEncodeSegment(const std::string& s);

// "a=1&b=x+y&c" → {a: "1", b: "x y", c: ""}; names and values percent-decoded, a later
// duplicate wins.
std::map<std::string, std::string> ParseQuery(const std::string& query);

// The same with every pair kept, in order ("kind=A&kind=B" has both).
std::vector<std::pair<std::string, std::string>> ParseQueryList(const std::string& query);

// The values of a repeatable list parameter: every `name=` of the query, each split at commas,
// empty pieces dropped ("kind=A,B&kind=C" → A, B, C).
std::vector<std::string> QueryValues(const std::vector<std::pair<std::string, std::string>>& query,
                                     const std::string& name);

// ?limit= of a paged list: 0 (the service's default) when empty, else a positive integer.
std::variant<int, RestError> ParseLimit(const std::string& text);

// A time in a query (?since=): RFC 3339 with its offset ("2026-11-24T09:00:00Z",
// "…T18:00:00+09:00"). The '+' of an offset that the client did not percent-encode arrives as
// a space (form encoding) and is read as the '+' it was.
std::variant<TimePoint, RestError> ParseQueryTime(const std::string& name, std::string text);

}  // namespace csms::gateway
