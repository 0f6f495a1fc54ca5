#pragma once

#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// OCPP 2.0.1 payload validation against the OCA JSON schemas (draft-06), compiled once into a
// node tree so a check walks the payload without touching schema text or allocating.
namespace csms::ocpp {

enum class PayloadKind { kRequest, kResponse };

// The first violation found, as a CALLERROR code (DIGEST §2.5) and a description of at most
// 255 bytes that starts with the JSON path, e.g.
//   {"PropertyConstraintViolation", "chargingStation.model: longer than 20 characters (21)"}.
// Codes: FormatViolation (payload not an object), OccurrenceConstraintViolation (required
// property missing, minItems/maxItems), TypeConstraintViolation (wrong JSON type, "integer" not
// integral), PropertyConstraintViolation (enum, const, maxLength/minLength in code points,
// minimum/maximum/multipleOf, date-time, property not allowed).
struct SchemaViolation {
  std::string code;
  std::string description;
};

// One schema file, e.g. {"BootNotificationRequest.json", "{...}"}.
struct SchemaFile {
  std::string_view name;
  std::string_view contents;
};

// Compiled schemas by action. Immutable once built, so const use is thread-safe.
//
// Order of reporting, for determinism: at each object, its own missing required properties and
// properties that are not allowed come first (by property name), then its members' contents in
// property-name order; array items in index order.
class SchemaSet {
 public:
  // The 64 actions of OCPP 2.0.1, both kinds, from the schemas embedded at build time. Compiled
  // on the first call (thread-safe; a few ms), so call it once at startup to keep that off the
  // first message.
  static const SchemaSet& Ocpp201();

  // Compiles `<Action>Request.json` / `<Action>Response.json` files; other names are an error.
  // Throws std::runtime_error naming the file on invalid JSON, an unresolvable `$ref` or a keyword
  // this validator does not implement (so a schema is never checked less than it says).
  static SchemaSet Compile(std::span<const SchemaFile> files);

  SchemaSet(SchemaSet&&) noexcept;
  SchemaSet& operator=(SchemaSet&&) noexcept;
  ~SchemaSet();

  // True if a schema of either kind exists for the action (case-sensitive).
  bool Has(std::string_view action) const;
  bool Has(std::string_view action, PayloadKind kind) const;

  // nullopt when the payload is valid. No allocation and no exception on that path. An action
  // without a schema of that kind gives NotImplemented (check Has() first to choose between
  // NotImplemented and NotSupported yourself).
  std::optional<SchemaViolation> Validate(std::string_view action, PayloadKind kind,
                                          const nlohmann::json& payload) const;

  // Actions in sorted order; and the number of compiled schema files.
  std::vector<std::string_view> Actions() const;
  size_t schema_count() const;

 private:
  struct Impl;
  explicit SchemaSet(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// RFC 3339 `date-time` (JSON Schema format): YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM), with calendar
// checks (leap years; second 60 allowed), `t`/`z` in either case. Exposed for tests and callers.
bool IsRfc3339DateTime(std::string_view text);

}  // namespace csms::ocpp
