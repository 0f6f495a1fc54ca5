#include "mini_schema.h"

#include <fstream>
#include <regex>
#include <set>
#include <stdexcept>

using nlohmann::json;

MiniSchema MiniSchema::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open schema " + path);
  return MiniSchema(json::parse(in));
}

std::vector<std::string> MiniSchema::Validate(const json& doc) const {
  std::vector<std::string> errors;
  Check(root_, doc, "", &errors);
  return errors;
}

void MiniSchema::Check(const json& schema, const json& doc, const std::string& where,
                       std::vector<std::string>* errors) const {
  static const std::set<std::string> kKnown = {
      "$schema",        "$id",     "comment",    "definitions", "description",
      "javaType",       "type",    "properties", "required",    "additionalProperties",
      "enum",           "$ref",    "items",      "minItems",    "maxItems",
      "maxLength",      "minimum", "maximum",    "format",      "default",
      "additionalItems"};
  auto fail = [&](const std::string& what) { errors->push_back(where + ": " + what); };
  for (const auto& [key, value] : schema.items()) {
    if (!kKnown.count(key)) fail("schema keyword '" + key + "' is not supported by MiniSchema");
  }
  if (auto ref = schema.find("$ref"); ref != schema.end()) {
    const std::string name = ref->get<std::string>();
    const std::string prefix = "#/definitions/";
    if (name.rfind(prefix, 0) != 0) return fail("unsupported $ref " + name);
    return Check(root_.at("definitions").at(name.substr(prefix.size())), doc, where, errors);
  }
  if (auto type = schema.find("type"); type != schema.end()) {
    const std::string t = type->get<std::string>();
    bool ok = (t == "object" && doc.is_object()) || (t == "array" && doc.is_array()) ||
              (t == "string" && doc.is_string()) || (t == "integer" && doc.is_number_integer()) ||
              (t == "number" && doc.is_number()) || (t == "boolean" && doc.is_boolean());
    if (!ok) return fail("expected " + t + ", got " + doc.dump());
  }
  if (auto values = schema.find("enum"); values != schema.end()) {
    if (std::find(values->begin(), values->end(), doc) == values->end()) {
      fail(doc.dump() + " is not one of " + values->dump());
    }
  }
  if (doc.is_string()) {
    const auto& s = doc.get_ref<const std::string&>();
    if (auto max = schema.find("maxLength"); max != schema.end() && s.size() > max->get<size_t>()) {
      fail("longer than " + max->dump());
    }
    if (schema.value("format", "") == "date-time") {
      static const std::regex kUtc(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z)");
      if (!std::regex_match(s, kUtc)) fail("'" + s + "' is not an RFC 3339 UTC date-time");
    }
  }
  if (doc.is_number()) {
    if (auto min = schema.find("minimum"); min != schema.end() && doc.get<double>() < *min) {
      fail("below minimum " + min->dump());
    }
    if (auto max = schema.find("maximum"); max != schema.end() && doc.get<double>() > *max) {
      fail("above maximum " + max->dump());
    }
  }
  if (doc.is_object()) {
    const json properties = schema.value("properties", json::object());
    for (const auto& name : schema.value("required", json::array())) {
      if (!doc.contains(name.get<std::string>())) fail("missing required " + name.dump());
    }
    for (const auto& [key, value] : doc.items()) {
      if (auto p = properties.find(key); p != properties.end()) {
        Check(*p, value, where + "/" + key, errors);
      } else if (schema.value("additionalProperties", true) == false) {
        fail("additional property '" + key + "'");
      }
    }
  }
  if (doc.is_array()) {
    if (auto min = schema.find("minItems"); min != schema.end() && doc.size() < *min) {
      fail("fewer than " + min->dump() + " items");
    }
    if (auto max = schema.find("maxItems"); max != schema.end() && doc.size() > *max) {
      fail("more than " + max->dump() + " items");
    }
    // additionalItems only matters for tuple-style "items" arrays, which OCA never uses.
    if (auto items = schema.find("items"); items != schema.end()) {
      if (!items->is_object()) return fail("tuple-style items are not supported by MiniSchema");
      for (size_t i = 0; i < doc.size(); ++i) {
        Check(*items, doc[i], where + "/" + std::to_string(i), errors);
      }
    }
  }
}
