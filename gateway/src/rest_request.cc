#include "csms/gateway/rest_request.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>

namespace csms::gateway {
namespace {

using nlohmann::json;

RestError BadRequest(std::string message) { return RestError{400, "bad_request", message}; }

// Parses a JSON object body; on failure fills `error`.
std::optional<json> ParseObject(const std::string& body, RestError* error) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    *error = BadRequest("request body must be a JSON object");
    return std::nullopt;
  }
  return doc;
}

// Reads an optional positive integer field; false (with `error`) when present but invalid.
bool OptionalPositiveInt(const json& doc, const char* field, int* out, RestError* error) {
  auto it = doc.find(field);
  if (it == doc.end() || it->is_null()) return true;
  if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > 1000000) {
    *error = BadRequest(std::string(field) + " must be a positive integer");
    return false;
  }
  *out = it->get<int>();
  return true;
}

bool RequiredString(const json& doc, const char* field, size_t max_len, std::string* out,
                    RestError* error) {
  auto it = doc.find(field);
  if (it == doc.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    *error = BadRequest(std::string(field) + " (a non-empty string) is required");
    return false;
  }
  if (it->get_ref<const std::string&>().size() > max_len) {
    *error = BadRequest(std::string(field) + " is longer than " + std::to_string(max_len) +
                        " characters");
    return false;
  }
  *out = it->get<std::string>();
  return true;
}

}  // namespace

std::variant<StartBody, RestError> ParseStartBody(const std::string& body) {
  RestError error;
  auto doc = ParseObject(body, &error);
  StartBody start;
  if (!doc || !RequiredString(*doc, "id_token", 36, &start.id_token, &error) ||
      !OptionalPositiveInt(*doc, "evse_id", &start.evse_id, &error) ||
      !OptionalPositiveInt(*doc, "connector_id", &start.connector_id, &error)) {
    return error;
  }
  return start;
}

std::variant<StopBody, RestError> ParseStopBody(const std::string& body) {
  RestError error;
  auto doc = ParseObject(body, &error);
  StopBody stop;
  if (!doc || !RequiredString(*doc, "transaction_id", 36, &stop.transaction_id, &error)) {
    return error;
  }
  return stop;
}

std::variant<PowerBody, RestError> ParsePowerBody(const std::string& body) {
  RestError error;
  auto doc = ParseObject(body, &error);
  if (!doc) return error;
  auto it = doc->find("max_power_kw");
  if (it == doc->end() || !it->is_number() || !std::isfinite(it->get<double>()) ||
      it->get<double>() <= 0) {
    return BadRequest("max_power_kw (a number above 0) is required");
  }
  return PowerBody{it->get<double>()};
}

namespace {

// Reads an optional field of the given JSON type; false (with `error`) when present with another.
bool OptionalString(const json& doc, const char* field, std::optional<std::string>* out,
                    RestError* error) {
  auto it = doc.find(field);
  if (it == doc.end() || it->is_null()) return true;
  if (!it->is_string()) {
    *error = BadRequest(std::string(field) + " must be a string");
    return false;
  }
  *out = it->get<std::string>();
  return true;
}

bool OptionalNumber(const json& doc, const char* field, std::optional<double>* out,
                    RestError* error) {
  auto it = doc.find(field);
  if (it == doc.end() || it->is_null()) return true;
  if (!it->is_number()) {
    *error = BadRequest(std::string(field) + " must be a number");
    return false;
  }
  *out = it->get<double>();
  return true;
}

}  // namespace

std::variant<StationBody, RestError> ParseStationBody(const std::string& body, bool create) {
  RestError error;
  auto doc = ParseObject(body, &error);
  StationBody station;
  if (!doc || !OptionalString(*doc, "station_id", &station.station_id, &error) ||
      !OptionalString(*doc, "name", &station.name, &error) ||
      !OptionalString(*doc, "address", &station.address, &error) ||
      !OptionalNumber(*doc, "latitude", &station.latitude, &error) ||
      !OptionalNumber(*doc, "longitude", &station.longitude, &error)) {
    return error;
  }
  if (auto it = doc->find("charger_ids"); it != doc->end() && !it->is_null()) {
    if (!it->is_array()) return BadRequest("charger_ids must be an array of strings");
    std::vector<std::string> ids;
    for (const auto& id : *it) {
      if (!id.is_string()) return BadRequest("charger_ids must be an array of strings");
      ids.push_back(id.get<std::string>());
    }
    station.charger_ids = std::move(ids);
  }
  if (create) {
    if (!station.station_id || station.station_id->empty()) {
      return BadRequest("station_id (a non-empty string) is required");
    }
    if (!station.name || station.name->empty()) {
      return BadRequest("name (a non-empty string) is required");
    }
    if (!station.latitude || !station.longitude) {
      return BadRequest("latitude and longitude (numbers, WGS 84 degrees) are required");
    }
  }
  return station;
}

std::variant<AssignBody, RestError> ParseAssignBody(const std::string& body) {
  RestError error;
  auto doc = ParseObject(body, &error);
  if (!doc) return error;
  auto it = doc->find("station_id");
  if (it == doc->end()) return BadRequest("station_id (a string, or null for none) is required");
  if (it->is_null()) return AssignBody{};
  if (!it->is_string()) return BadRequest("station_id must be a string or null");
  return AssignBody{it->get<std::string>()};
}

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    if (slash > pos) parts.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return parts;
}

std::string PercentDecode(const std::string& s, bool plus_is_space) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string PercentEncodeSegment(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> ParseQueryList(const std::string& query) {
  std::vector<std::pair<std::string, std::string>> params;
  size_t pos = 0;
  while (pos < query.size()) {
    size_t amp = query.find('&', pos);
    if (amp == std::string::npos) amp = query.size();
    std::string item = query.substr(pos, amp - pos);
    size_t eq = item.find('=');
    if (!item.empty()) {
      params.emplace_back(PercentDecode(item.substr(0, eq), true),
                          eq == std::string::npos ? "" : PercentDecode(item.substr(eq + 1), true));
    }
    pos = amp + 1;
  }
  return params;
}

std::map<std::string, std::string> ParseQuery(const std::string& query) {
  std::map<std::string, std::string> params;
  for (auto& [name, value] : ParseQueryList(query)) params[name] = std::move(value);
  return params;
}

std::vector<std::string> QueryValues(const std::vector<std::pair<std::string, std::string>>& query,
                                     const std::string& name) {
  std::vector<std::string> values;
  for (const auto& [key, value] : query) {
    if (key != name) continue;
    size_t pos = 0;
    while (pos <= value.size()) {
      size_t comma = value.find(',', pos);
      if (comma == std::string::npos) comma = value.size();
      if (comma > pos) values.push_back(value.substr(pos, comma - pos));
      pos = comma + 1;
    }
  }
  return values;
}

std::variant<int, RestError> ParseLimit(const std::string& text) {
  if (text.empty()) return 0;
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value <= 0) {
    return BadRequest("limit must be a positive integer");
  }
  return value;
}

std::variant<TimePoint, RestError> ParseQueryTime(const std::string& name, std::string text) {
  // "…T18:00:00 09:00": an unencoded '+' that form decoding turned into a space.
  if (const size_t n = text.size();
      n > 6 && text[n - 6] == ' ' && text[n - 3] == ':' && text.find('T') != std::string::npos) {
    text[n - 6] = '+';
  }
  // RFC 3339 requires the offset; ParseRfc3339 also reads a time without one (as UTC, for
  // chargers), which from an operator is more likely a mistake about the time zone.
  const size_t n = text.size();
  const bool zulu = n > 0 && (text[n - 1] == 'Z' || text[n - 1] == 'z');
  const bool offset = n > 6 && (text[n - 6] == '+' || text[n - 6] == '-') && text[n - 3] == ':';
  auto parsed = (zulu || offset) ? ParseRfc3339(text) : std::nullopt;
  if (!parsed) {
    return BadRequest(name + " must be an RFC 3339 date-time with its offset, e.g. " +
                      "2026-11-24T09:00:00Z or 2026-11-24T18:00:00%2B09:00");
  }
  return *parsed;
}

}  // namespace csms::gateway
