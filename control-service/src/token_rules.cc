#include "csms/control/token_rules.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

namespace csms::control {
namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 8> kTypes = {"Central",    "eMAID",          "ISO14443",
                                                    "ISO15693",   "KeyCode",        "Local",
                                                    "MacAddress", "NoAuthorization"};
constexpr std::array<std::string_view, 4> kStatuses = {"Accepted", "Blocked", "Expired", "Invalid"};
constexpr std::array<std::string_view, 11> kCsvColumns = {
    "id_token",   "type",           "status",   "expires_at", "group_id_token",  "group_type",
    "account_id", "max_concurrent", "stations", "language",   "personal_message"};

std::string Joined(const auto& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

// `name` is at most `max` characters of UTF-8.
std::string CheckText(const char* name, const std::string& value, size_t max) {
  auto length = Utf8Length(value);
  if (!length) return std::string(name) + " is not valid UTF-8";
  if (*length > max) {
    return std::string(name) + " is over " + std::to_string(max) + " characters";
  }
  return "";
}

std::string CheckOptText(const char* name, const std::optional<std::string>& value, size_t max) {
  if (!value) return "";
  if (value->empty()) return std::string(name) + " is empty (leave it out or null)";
  return CheckText(name, *value, max);
}

std::optional<int64_t> ParseInteger(std::string_view text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

bool IsTokenType(std::string_view type) {
  return std::find(kTypes.begin(), kTypes.end(), type) != kTypes.end();
}

bool IsTokenStatus(std::string_view status) {
  return std::find(kStatuses.begin(), kStatuses.end(), status) != kStatuses.end();
}

std::optional<size_t> Utf8Length(std::string_view text) {
  size_t count = 0;
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > text.size()) return std::nullopt;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xc0) != 0x80) return std::nullopt;
    }
    if (c == 0) return std::nullopt;  // PostgreSQL text cannot hold NUL
    i += n;
    ++count;
  }
  return count;
}

std::string ValidateToken(const TokenRecord& t) {
  if (!IsTokenType(t.type)) {
    return "type '" + t.type + "' is not an OCPP IdTokenEnumType (" + Joined(kTypes) + ")";
  }
  if (t.id_token.empty() && t.type != "NoAuthorization") {
    return "id_token is empty (only a NoAuthorization token may be)";
  }
  if (auto e = CheckText("id_token", t.id_token, kMaxIdTokenLength); !e.empty()) return e;
  if (!IsTokenStatus(t.status)) {
    return "status '" + t.status + "' is not one of " + Joined(kStatuses);
  }
  if (t.group_type.has_value() != t.group_id_token.has_value()) {
    return "group needs both id_token and type";
  }
  if (t.group_type) {
    if (!IsTokenType(*t.group_type)) {
      return "group type '" + *t.group_type + "' is not an OCPP IdTokenEnumType";
    }
    if (t.group_id_token->empty()) return "group id_token is empty";
    if (auto e = CheckText("group id_token", *t.group_id_token, kMaxIdTokenLength); !e.empty()) {
      return e;
    }
  }
  if (auto e = CheckOptText("account_id", t.account_id, kMaxAccountIdLength); !e.empty()) return e;
  if (t.max_concurrent < 1 || t.max_concurrent > 1000000) {
    return "max_concurrent must be 1 to 1000000";
  }
  if (t.stations) {
    for (const auto& s : *t.stations) {
      if (s.empty()) return "stations holds an empty station id";
      if (auto e = CheckText("a station id", s, kMaxTokenStationIdLength); !e.empty()) return e;
    }
    if (t.stations->size() > 10000) return "stations holds over 10000 ids";
  }
  if (auto e = CheckOptText("language", t.language, kMaxLanguageLength); !e.empty()) return e;
  if (auto e = CheckOptText("personal_message", t.personal_message, kMaxPersonalMessageLength);
      !e.empty()) {
    return e;
  }
  return "";
}

bool IsBlankLine(std::string_view line) {
  return std::all_of(line.begin(), line.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

std::optional<std::vector<std::string>> SplitCsvLine(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::vector<std::string> fields(1);
  size_t i = 0;
  bool field_start = true;
  while (i < line.size()) {
    const char c = line[i];
    if (field_start && c == '"') {
      ++i;
      for (;;) {
        if (i >= line.size()) return std::nullopt;
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            fields.back() += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        fields.back() += line[i++];
      }
      field_start = false;
      continue;
    }
    if (c == ',') {
      fields.emplace_back();
      field_start = true;
    } else {
      fields.back() += c;
      field_start = false;
    }
    ++i;
  }
  return fields;
}

CsvColumns ParseCsvHeader(std::string_view line) {
  auto fields = SplitCsvLine(line);
  if (!fields) throw std::invalid_argument("the CSV header has an unterminated quote");
  CsvColumns columns;
  std::set<std::string> seen;
  for (auto name : *fields) {
    // Spaces around a name and a UTF-8 byte order mark are forgiven.
    if (name.rfind("\xEF\xBB\xBF", 0) == 0) name.erase(0, 3);
    name.erase(0, name.find_first_not_of(" \t"));
    name.erase(name.find_last_not_of(" \t") + 1);
    if (std::find(kCsvColumns.begin(), kCsvColumns.end(), name) == kCsvColumns.end()) {
      throw std::invalid_argument("the CSV header names an unknown column '" + name +
                                  "' (columns: " + Joined(kCsvColumns) + ")");
    }
    if (!seen.insert(name).second) {
      throw std::invalid_argument("the CSV header names column '" + name + "' twice");
    }
    columns.names.push_back(name);
  }
  for (const char* required : {"id_token", "type"}) {
    if (!seen.count(required)) {
      throw std::invalid_argument(std::string("the CSV header has no '") + required +
                                  "' column (a header line is required: " + Joined(kCsvColumns) +
                                  ")");
    }
  }
  return columns;
}

ParsedLine ParseCsvTokenLine(const CsvColumns& columns, std::string_view line) {
  ParsedLine out;
  auto fields = SplitCsvLine(line);
  if (!fields) return {std::nullopt, "unterminated quote"};
  if (fields->size() != columns.names.size()) {
    return {std::nullopt, std::to_string(fields->size()) + " fields where the header has " +
                              std::to_string(columns.names.size())};
  }
  TokenRecord t;
  std::optional<std::string> group_id, group_type;
  for (size_t i = 0; i < fields->size(); ++i) {
    const std::string& name = columns.names[i];
    std::string& v = (*fields)[i];
    if (name == "id_token") {
      t.id_token = std::move(v);
      continue;
    }
    if (v.empty()) continue;
    if (name == "type") {
      t.type = std::move(v);
    } else if (name == "status") {
      t.status = std::move(v);
    } else if (name == "expires_at") {
      t.expires_at = ParseRfc3339(v);
      if (!t.expires_at) return {std::nullopt, "expires_at '" + v + "' is not an RFC 3339 time"};
    } else if (name == "group_id_token") {
      t.group_id_token = std::move(v);
    } else if (name == "group_type") {
      t.group_type = std::move(v);
    } else if (name == "account_id") {
      t.account_id = std::move(v);
    } else if (name == "max_concurrent") {
      auto n = ParseInteger(v);
      if (!n) return {std::nullopt, "max_concurrent '" + v + "' is not an integer"};
      t.max_concurrent = *n;
    } else if (name == "stations") {
      std::vector<std::string> stations;
      size_t start = 0;
      for (;;) {
        auto semi = v.find(';', start);
        stations.push_back(v.substr(start, semi - start));
        if (semi == std::string::npos) break;
        start = semi + 1;
      }
      t.stations = std::move(stations);
    } else if (name == "language") {
      t.language = std::move(v);
    } else if (name == "personal_message") {
      t.personal_message = std::move(v);
    }
  }
  if (t.type.empty()) return {std::nullopt, "type is missing"};
  if (auto error = ValidateToken(t); !error.empty()) return {std::nullopt, error};
  out.token = std::move(t);
  return out;
}

namespace {

// A JSON string or null; false (with `error`) for anything else.
bool OptString(const json& j, const char* name, std::optional<std::string>* out,
               std::string* error) {
  if (j.is_null()) return true;
  if (!j.is_string()) {
    *error = std::string(name) + " must be a string or null";
    return false;
  }
  *out = j.get<std::string>();
  return true;
}

}  // namespace

ParsedLine ParseJsonTokenLine(std::string_view line) {
  json j = json::parse(line.begin(), line.end(), nullptr, false);
  if (j.is_discarded()) return {std::nullopt, "not valid JSON"};
  if (!j.is_object()) return {std::nullopt, "not a JSON object"};
  TokenRecord t;
  std::string error;
  for (const auto& [key, value] : j.items()) {
    if (key == "id_token" || key == "type") {
      if (!value.is_string()) return {std::nullopt, key + " must be a string"};
      (key == "type" ? t.type : t.id_token) = value.get<std::string>();
    } else if (key == "status") {
      if (value.is_null()) continue;
      if (!value.is_string()) return {std::nullopt, "status must be a string"};
      t.status = value.get<std::string>();
    } else if (key == "expires_at") {
      if (value.is_null()) continue;
      if (!value.is_string()) return {std::nullopt, "expires_at must be an RFC 3339 string"};
      t.expires_at = ParseRfc3339(value.get<std::string>());
      if (!t.expires_at) return {std::nullopt, "expires_at is not an RFC 3339 time"};
    } else if (key == "group") {
      if (value.is_null()) continue;
      if (!value.is_object()) return {std::nullopt, "group must be an object or null"};
      for (const auto& [gk, gv] : value.items()) {
        if (gk != "id_token" && gk != "type") {
          return {std::nullopt, "group has an unknown field '" + gk + "'"};
        }
        if (!gv.is_string()) return {std::nullopt, "group " + gk + " must be a string"};
      }
      if (!value.contains("id_token") || !value.contains("type")) {
        return {std::nullopt, "group needs both id_token and type"};
      }
      t.group_id_token = value["id_token"].get<std::string>();
      t.group_type = value["type"].get<std::string>();
    } else if (key == "account_id" || key == "language" || key == "personal_message") {
      auto& field = key == "account_id" ? t.account_id
                    : key == "language" ? t.language
                                        : t.personal_message;
      if (!OptString(value, key.c_str(), &field, &error)) return {std::nullopt, error};
    } else if (key == "max_concurrent") {
      if (value.is_null()) continue;
      if (!value.is_number_integer()) return {std::nullopt, "max_concurrent must be an integer"};
      t.max_concurrent = value.get<int64_t>();
    } else if (key == "stations") {
      if (value.is_null()) continue;
      if (!value.is_array()) return {std::nullopt, "stations must be an array of station ids"};
      std::vector<std::string> stations;
      for (const auto& s : value) {
        if (!s.is_string()) return {std::nullopt, "stations must be an array of station ids"};
        stations.push_back(s.get<std::string>());
      }
      t.stations = std::move(stations);
    } else {
      return {std::nullopt, "unknown field '" + key + "'"};
    }
  }
  if (!j.contains("type")) return {std::nullopt, "type is missing"};
  if (!j.contains("id_token")) return {std::nullopt, "id_token is missing"};
  if (auto e = ValidateToken(t); !e.empty()) return {std::nullopt, e};
  ParsedLine out;
  out.token = std::move(t);
  return out;
}

}  // namespace csms::control
