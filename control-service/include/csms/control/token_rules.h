#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "csms/common/time_util.h"

// The pure part of the token store (issue 14): what a token is, which tokens are valid, and how
// a line of a bulk import (CSV or JSON lines) reads into one. No database, so it is unit-tested
// as case tables.
namespace csms::control {

// One token as the store keeps it. Optional fields are NULL in the database when absent.
struct TokenRecord {
  std::string type;  // OCPP IdTokenEnumType
  std::string id_token;
  std::string status = "Accepted";
  std::optional<TimePoint> expires_at;
  std::optional<std::string> group_type, group_id_token;  // both or neither
  std::optional<std::string> account_id;
  int64_t max_concurrent = 1;
  std::optional<std::vector<std::string>> stations;  // nullopt: valid at every station
  std::optional<std::string> language, personal_message;
};

inline constexpr size_t kMaxIdTokenLength = 36, kMaxAccountIdLength = 64, kMaxLanguageLength = 8,
                        kMaxPersonalMessageLength = 512, kMaxTokenStationIdLength = 255;

bool IsTokenType(std::string_view type);
bool IsTokenStatus(std::string_view status);
// Characters of valid UTF-8 text; nullopt when the bytes are not UTF-8.
std::optional<size_t> Utf8Length(std::string_view text);

// "" when the token may be stored, else why not (one sentence naming the field).
std::string ValidateToken(const TokenRecord& token);

// ---- Bulk import lines. A line is one record (no newlines inside quoted CSV fields).
// The columns of a CSV header: id_token and type are required; the others are optional,
// in any order: status, expires_at, group_id_token, group_type, account_id, max_concurrent,
// stations (separated by ';'), language, personal_message.
struct CsvColumns {
  std::vector<std::string> names;  // as in the header, in order
};
// Throws std::invalid_argument for an unknown or repeated column or a missing required one.
CsvColumns ParseCsvHeader(std::string_view line);
// RFC 4180 fields of one line ("" doubles a quote inside a quoted field); a trailing '\r' is
// dropped. nullopt for an unterminated quote.
std::optional<std::vector<std::string>> SplitCsvLine(std::string_view line);

struct ParsedLine {
  std::optional<TokenRecord> token;  // set when the line is good
  std::string error;                 // else why not
};
// One data line; an empty field is an absent value. The token is validated.
ParsedLine ParseCsvTokenLine(const CsvColumns& columns, std::string_view line);
// One JSON object with the PUT body's fields plus id_token and type; unknown fields are errors.
// The token is validated.
ParsedLine ParseJsonTokenLine(std::string_view line);

// A line with nothing but whitespace (skipped by imports).
bool IsBlankLine(std::string_view line);

}  // namespace csms::control
