#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

// Validates JSON against the part of JSON Schema draft-06 that the OCA OCPP 2.0.1 schemas use
// (type, properties, required, additionalProperties, enum, $ref, items, min/maxItems, maxLength,
// minimum/maximum, format date-time). Stricter than the schemas on one point: date-times must be
// UTC with "Z", as the simulator promises. An unknown keyword is reported, never skipped.
class MiniSchema {
 public:
  explicit MiniSchema(nlohmann::json schema) : root_(std::move(schema)) {}
  static MiniSchema Load(const std::string& path);

  // Every violation as "<json pointer>: <what>"; empty when the document is valid.
  std::vector<std::string> Validate(const nlohmann::json& doc) const;

 private:
  void Check(const nlohmann::json& schema, const nlohmann::json& doc, const std::string& where,
             std::vector<std::string>* errors) const;
  nlohmann::json root_;
};
