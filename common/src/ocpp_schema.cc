#include "csms/common/ocpp_schema.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <utility>

#include "csms/common/ocpp_frame.h"
#include "csms/embedded/ocpp201_schemas.h"

namespace csms::ocpp {
namespace {

using nlohmann::json;

// ---- compiled form ----------------------------------------------------------------------------

// JSON Schema "type" names as bits. No bit set means the schema has no "type" keyword.
enum TypeBit : uint8_t {
  kNull = 1,
  kBoolean = 2,
  kInteger = 4,
  kNumber = 8,  // includes integers
  kString = 16,
  kArray = 32,
  kObject = 64,
};

struct Node;

struct Property {
  std::string name;
  const Node* node = nullptr;  // nullptr: only named in "required", not in "properties"
  bool required = false;
};

struct Node {
  bool reject_all = false;  // the boolean schema `false`
  uint8_t types = 0;

  // enum / const. Enums of strings only (all of OCPP's) are searched in a sorted vector.
  enum class EnumKind : uint8_t { kNone, kStrings, kValues } enum_kind = EnumKind::kNone;
  std::vector<std::string> enum_strings;  // sorted
  std::vector<json> enum_values;          // schema order
  std::string enum_text;                  // "A, B, C" in schema order, for messages
  std::optional<json> const_value;

  // strings
  size_t min_length = 0;
  size_t max_length = std::numeric_limits<size_t>::max();
  bool date_time = false;

  // numbers; long double holds every int64/uint64 exactly (x86-64), so integer bounds are exact.
  std::optional<long double> minimum, maximum, exclusive_minimum, exclusive_maximum;
  double multiple_of = 0;

  // arrays
  const Node* items = nullptr;
  size_t min_items = 0;
  size_t max_items = std::numeric_limits<size_t>::max();

  // objects. Sorted by name like nlohmann::json's std::map, so checking is one merge pass.
  std::vector<Property> properties;
  bool additional_allowed = true;
  const Node* additional = nullptr;  // schema for extra properties, if any
};

struct Entry {
  std::string action;
  const Node* request = nullptr;
  const Node* response = nullptr;
};

constexpr std::string_view kRequestSuffix = "Request.json";
constexpr std::string_view kResponseSuffix = "Response.json";

// Keywords that constrain values but are not implemented: refusing them keeps a schema from being
// checked less strictly than it is written. None occurs in the OCPP 2.0.1 files.
const std::set<std::string_view>& UnsupportedKeywords() {
  static const std::set<std::string_view> kSet = {"allOf",
                                                  "anyOf",
                                                  "oneOf",
                                                  "not",
                                                  "pattern",
                                                  "contains",
                                                  "uniqueItems",
                                                  "dependencies",
                                                  "propertyNames",
                                                  "patternProperties",
                                                  "if",
                                                  "then",
                                                  "else",
                                                  "minProperties",
                                                  "maxProperties",
                                                  "$recursiveRef",
                                                  "$dynamicRef",
                                                  "dependentRequired",
                                                  "dependentSchemas",
                                                  "unevaluatedProperties",
                                                  "unevaluatedItems",
                                                  "prefixItems",
                                                  "minContains",
                                                  "maxContains"};
  return kSet;
}

uint8_t TypeBitFor(const std::string& name) {
  if (name == "null") return kNull;
  if (name == "boolean") return kBoolean;
  if (name == "integer") return kInteger;
  if (name == "number") return kNumber;
  if (name == "string") return kString;
  if (name == "array") return kArray;
  if (name == "object") return kObject;
  return 0;
}

// A property name as a JSON pointer token (RFC 6901: ~ and / escaped), for memo keys and errors.
std::string PointerToken(const std::string& name) {
  std::string out;
  for (char c : name) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

// Turns one parsed schema document into nodes. `$ref`s become pointers to the referenced node,
// compiled once per target (memoized by JSON pointer, which also ends reference cycles).
class Compiler {
 public:
  Compiler(std::deque<Node>& nodes, const json& root) : nodes_(nodes), root_(root) {}

  const Node* CompileRoot() { return Compile(root_, ""); }

 private:
  [[noreturn]] void Error(const std::string& where, const std::string& what) {
    throw std::runtime_error("#" + where + ": " + what);
  }

  size_t NonNegative(const json& value, const std::string& where, const char* keyword) {
    if (value.is_number_unsigned()) return value.get<size_t>();
    if (value.is_number_integer() && value.get<int64_t>() >= 0) return value.get<size_t>();
    if (value.is_number_float() && value.get<double>() >= 0 &&
        std::trunc(value.get<double>()) == value.get<double>()) {
      return static_cast<size_t>(value.get<double>());
    }
    Error(where, std::string(keyword) + " must be a non-negative integer");
  }

  long double Number(const json& value, const std::string& where, const char* keyword) {
    if (value.is_number_unsigned()) return static_cast<long double>(value.get<uint64_t>());
    if (value.is_number_integer()) return static_cast<long double>(value.get<int64_t>());
    if (value.is_number_float()) return value.get<double>();
    Error(where, std::string(keyword) + " must be a number");
  }

  const Node* Resolve(const std::string& ref, const std::string& where) {
    // Only references into this document ("#" or "#/json/pointer"); OCPP uses #/definitions/X.
    if (ref.empty() || ref[0] != '#') Error(where, "unsupported $ref \"" + ref + "\"");
    std::string pointer = ref.substr(1);
    if (auto it = memo_.find(pointer); it != memo_.end()) return it->second;
    if (++ref_depth_ > 64) Error(where, "$ref chain too long");
    const json* target = nullptr;
    try {
      target = &root_.at(json::json_pointer(pointer));
    } catch (const json::exception&) {
      Error(where, "unresolvable $ref \"" + ref + "\"");
    }
    const Node* node = Compile(*target, pointer);
    --ref_depth_;
    return node;
  }

  const Node* Compile(const json& schema, const std::string& where) {
    if (schema.is_boolean()) {
      Node& node = nodes_.emplace_back();
      node.reject_all = !schema.get<bool>();
      memo_.emplace(where, &node);
      return &node;
    }
    if (!schema.is_object()) Error(where, "schema must be an object or a boolean");
    // draft-06: a $ref replaces the whole schema; sibling keywords are ignored.
    if (auto ref = schema.find("$ref"); ref != schema.end()) {
      if (!ref->is_string()) Error(where, "$ref must be a string");
      const Node* node = Resolve(ref->get<std::string>(), where);
      memo_.emplace(where, node);
      return node;
    }
    Node& node = nodes_.emplace_back();
    // Registered before the children so a reference cycle resolves to this node.
    memo_.emplace(where, &node);
    const auto& unsupported = UnsupportedKeywords();
    for (const auto& [key, value] : schema.items()) {
      const std::string at = where + "/" + key;
      if (unsupported.count(key) != 0) Error(where, "keyword \"" + key + "\" is not supported");
      if (key == "type") {
        const json types = value.is_array() ? value : json::array({value});
        if (types.empty()) Error(at, "empty type list");
        for (const json& type : types) {
          uint8_t bit = type.is_string() ? TypeBitFor(type.get<std::string>()) : 0;
          if (bit == 0) Error(at, "unknown type " + type.dump());
          node.types |= bit;
        }
      } else if (key == "enum") {
        if (!value.is_array() || value.empty()) Error(at, "enum must be a non-empty array");
        bool all_strings =
            std::all_of(value.begin(), value.end(), [](const json& v) { return v.is_string(); });
        for (const json& v : value) {
          if (!node.enum_text.empty()) node.enum_text += ", ";
          node.enum_text += v.is_string() ? v.get<std::string>() : v.dump();
          if (all_strings) {
            node.enum_strings.push_back(v.get<std::string>());
          } else {
            node.enum_values.push_back(v);
          }
        }
        std::sort(node.enum_strings.begin(), node.enum_strings.end());
        node.enum_kind = all_strings ? Node::EnumKind::kStrings : Node::EnumKind::kValues;
      } else if (key == "const") {
        node.const_value = value;
      } else if (key == "maxLength") {
        node.max_length = NonNegative(value, at, "maxLength");
      } else if (key == "minLength") {
        node.min_length = NonNegative(value, at, "minLength");
      } else if (key == "format") {
        // Other formats are annotations in JSON Schema; OCPP 2.0.1 only uses date-time.
        if (value == "date-time") node.date_time = true;
      } else if (key == "minimum") {
        node.minimum = Number(value, at, "minimum");
      } else if (key == "maximum") {
        node.maximum = Number(value, at, "maximum");
      } else if (key == "exclusiveMinimum" || key == "exclusiveMaximum") {
        if (value.is_boolean()) {
          Error(at, "draft-04 boolean " + key + " is not supported");  // draft-06 uses numbers
        }
        auto& bound = key == "exclusiveMinimum" ? node.exclusive_minimum : node.exclusive_maximum;
        bound = Number(value, at, key.c_str());
      } else if (key == "multipleOf") {
        long double m = Number(value, at, "multipleOf");
        if (!(m > 0)) Error(at, "multipleOf must be greater than 0");
        node.multiple_of = static_cast<double>(m);
      } else if (key == "items") {
        if (value.is_array()) Error(at, "tuple-form items is not supported");
        node.items = Compile(value, at);
      } else if (key == "minItems") {
        node.min_items = NonNegative(value, at, "minItems");
      } else if (key == "maxItems") {
        node.max_items = NonNegative(value, at, "maxItems");
      } else if (key == "properties") {
        if (!value.is_object()) Error(at, "properties must be an object");
        for (const auto& [name, sub] : value.items()) {
          node.properties.push_back({name, Compile(sub, at + "/" + PointerToken(name)), false});
        }
      } else if (key == "additionalProperties") {
        if (value.is_boolean()) {
          node.additional_allowed = value.get<bool>();
        } else {
          node.additional = Compile(value, at);
        }
      }
      // "required" is applied below, once all properties are known. Everything else
      // ($schema, $id, definitions, description, default, additionalItems next to a single
      // items schema, and OCPP's javaType/comment) does not constrain values.
    }
    if (auto required = schema.find("required"); required != schema.end()) {
      if (!required->is_array()) Error(where + "/required", "required must be an array");
      for (const json& name : *required) {
        if (!name.is_string()) Error(where + "/required", "required names must be strings");
        auto it = std::find_if(node.properties.begin(), node.properties.end(),
                               [&](const Property& p) { return p.name == name; });
        if (it == node.properties.end()) {
          node.properties.push_back({name.get<std::string>(), nullptr, true});
        } else {
          it->required = true;
        }
      }
    }
    std::sort(node.properties.begin(), node.properties.end(),
              [](const Property& a, const Property& b) { return a.name < b.name; });
    return &node;
  }

  std::deque<Node>& nodes_;
  const json& root_;
  std::map<std::string, const Node*> memo_;  // JSON pointer -> node
  int ref_depth_ = 0;
};

// ---- checking ---------------------------------------------------------------------------------

constexpr size_t kMaxDepth = 64;
constexpr size_t kMaxSnippet = 48;  // bytes of a payload value or key quoted in a description

// UTF-8 code points, counting every byte that is not a continuation byte.
size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string Snippet(std::string_view text) {
  if (text.size() <= kMaxSnippet) return std::string(text);
  return TruncateUtf8(text, kMaxSnippet - 3) + "...";
}

std::string NumberText(long double value) {
  char buffer[64];
  double d = static_cast<double>(value);
  if (std::trunc(d) == d && std::fabs(d) < 1e18) {
    auto r = std::to_chars(buffer, buffer + sizeof buffer, static_cast<int64_t>(d));
    return std::string(buffer, r.ptr);
  }
  auto r = std::to_chars(buffer, buffer + sizeof buffer, d);
  return std::string(buffer, r.ptr);
}

std::string ValueText(const json& value) {
  if (value.is_string()) return "\"" + Snippet(value.get_ref<const std::string&>()) + "\"";
  if (value.is_object()) return "an object";
  if (value.is_array()) return "an array";
  return Snippet(value.dump(-1, ' ', false, json::error_handler_t::replace));
}

std::string TypeNames(uint8_t types) {
  static constexpr std::pair<uint8_t, const char*> kNames[] = {
      {kObject, "object"}, {kArray, "array"},     {kString, "string"}, {kInteger, "integer"},
      {kNumber, "number"}, {kBoolean, "boolean"}, {kNull, "null"}};
  std::string out;
  for (const auto& [bit, name] : kNames) {
    if ((types & bit) == 0 || (bit == kInteger && (types & kNumber) != 0)) continue;
    if (!out.empty()) out += " or ";
    out += name;
  }
  return out;
}

bool IsIntegral(const json& value) {
  if (value.is_number_integer()) return true;  // also true for unsigned
  if (!value.is_number_float()) return false;
  double d = value.get<double>();
  return std::isfinite(d) && std::trunc(d) == d;  // 3.0 is an integer in JSON Schema
}

bool TypeMatches(uint8_t types, const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return (types & kNull) != 0;
    case json::value_t::boolean:
      return (types & kBoolean) != 0;
    case json::value_t::string:
      return (types & kString) != 0;
    case json::value_t::array:
      return (types & kArray) != 0;
    case json::value_t::object:
      return (types & kObject) != 0;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return (types & (kInteger | kNumber)) != 0;
    case json::value_t::number_float:
      return (types & kNumber) != 0 || ((types & kInteger) != 0 && IsIntegral(value));
    default:
      return false;
  }
}

long double NumberOf(const json& value) {
  switch (value.type()) {
    case json::value_t::number_integer:
      return static_cast<long double>(value.get<int64_t>());
    case json::value_t::number_unsigned:
      return static_cast<long double>(value.get<uint64_t>());
    default:
      return value.get<double>();
  }
}

// Walks a payload along the compiled nodes. The path is kept as views on a fixed stack and only
// rendered to text when a violation is reported, so a valid payload costs no allocation.
class Checker {
 public:
  std::optional<SchemaViolation> result;

  bool Check(const Node& node, const json& value) {
    if (node.reject_all) return Fail(error_code::kPropertyConstraintViolation, "not allowed");
    if (node.types != 0 && !TypeMatches(node.types, value)) {
      std::string got = value.is_number() ? "number " + ValueText(value) : value.type_name();
      return Fail(error_code::kTypeConstraintViolation,
                  "expected " + TypeNames(node.types) + ", got " + got);
    }
    if (node.enum_kind != Node::EnumKind::kNone && !InEnum(node, value)) {
      return Fail(error_code::kPropertyConstraintViolation,
                  ValueText(value) + " is not one of " + node.enum_text);
    }
    if (node.const_value && *node.const_value != value) {
      return Fail(error_code::kPropertyConstraintViolation,
                  ValueText(value) + " is not " + ValueText(*node.const_value));
    }
    switch (value.type()) {
      case json::value_t::string:
        return CheckString(node, value.get_ref<const std::string&>());
      case json::value_t::number_integer:
      case json::value_t::number_unsigned:
      case json::value_t::number_float:
        return CheckNumber(node, value);
      case json::value_t::array:
        return CheckArray(node, value.get_ref<const json::array_t&>());
      case json::value_t::object:
        return CheckObject(node, value.get_ref<const json::object_t&>());
      default:
        return true;
    }
  }

  bool Fail(const char* code, std::string_view message, std::string_view extra_key = {}) {
    std::string text;
    for (size_t i = 0; i < depth_; ++i) AppendSegment(text, path_[i]);
    if (!extra_key.empty()) AppendSegment(text, Segment{extra_key, 0});
    if (text.empty()) text = "payload";
    text += ": ";
    text += message;
    if (text.size() > kMaxErrorDescriptionLength) {
      text = TruncateUtf8(text, kMaxErrorDescriptionLength - 3) + "...";
    }
    result = SchemaViolation{code, std::move(text)};
    return false;
  }

 private:
  struct Segment {
    std::string_view key;  // empty: array index
    size_t index;
  };

  static void AppendSegment(std::string& text, const Segment& segment) {
    if (segment.key.empty()) {
      text += '[';
      text += std::to_string(segment.index);
      text += ']';
      return;
    }
    if (!text.empty()) text += '.';
    text += Snippet(segment.key);
  }

  static bool InEnum(const Node& node, const json& value) {
    if (node.enum_kind == Node::EnumKind::kStrings) {
      if (!value.is_string()) return false;
      const std::string& s = value.get_ref<const std::string&>();
      return std::binary_search(node.enum_strings.begin(), node.enum_strings.end(), s);
    }
    return std::find(node.enum_values.begin(), node.enum_values.end(), value) !=
           node.enum_values.end();
  }

  bool CheckString(const Node& node, const std::string& s) {
    // A code point takes at least one byte, so the byte count settles most cases uncounted.
    if (s.size() > node.max_length || s.size() < node.min_length * 4) {
      size_t length = CodePoints(s);
      if (length > node.max_length) {
        return Fail(error_code::kPropertyConstraintViolation,
                    "longer than " + std::to_string(node.max_length) + " characters (" +
                        std::to_string(length) + ")");
      }
      if (length < node.min_length) {
        return Fail(error_code::kPropertyConstraintViolation,
                    "shorter than " + std::to_string(node.min_length) + " characters (" +
                        std::to_string(length) + ")");
      }
    }
    if (node.date_time && !IsRfc3339DateTime(s)) {
      return Fail(error_code::kPropertyConstraintViolation,
                  "\"" + Snippet(s) + "\" is not an RFC 3339 date-time");
    }
    return true;
  }

  bool CheckNumber(const Node& node, const json& value) {
    const long double v = NumberOf(value);
    const char* code = error_code::kPropertyConstraintViolation;
    if (node.minimum && v < *node.minimum) {
      return Fail(code,
                  ValueText(value) + " is less than the minimum " + NumberText(*node.minimum));
    }
    if (node.maximum && v > *node.maximum) {
      return Fail(code,
                  ValueText(value) + " is greater than the maximum " + NumberText(*node.maximum));
    }
    if (node.exclusive_minimum && v <= *node.exclusive_minimum) {
      return Fail(code,
                  ValueText(value) + " is not greater than " + NumberText(*node.exclusive_minimum));
    }
    if (node.exclusive_maximum && v >= *node.exclusive_maximum) {
      return Fail(code,
                  ValueText(value) + " is not less than " + NumberText(*node.exclusive_maximum));
    }
    if (node.multiple_of > 0) {
      // Relative tolerance: 7.3 / 0.1 is 72.99999999999999 in binary floating point.
      double q = static_cast<double>(v) / node.multiple_of;
      if (!std::isfinite(q) || std::fabs(q - std::round(q)) > 1e-9 * std::max(1.0, std::fabs(q))) {
        return Fail(code,
                    ValueText(value) + " is not a multiple of " + NumberText(node.multiple_of));
      }
    }
    return true;
  }

  bool CheckArray(const Node& node, const json::array_t& array) {
    if (array.size() < node.min_items) {
      return Fail(error_code::kOccurrenceConstraintViolation,
                  std::to_string(array.size()) + " items, at least " +
                      std::to_string(node.min_items) + " required");
    }
    if (array.size() > node.max_items) {
      return Fail(error_code::kOccurrenceConstraintViolation,
                  std::to_string(array.size()) + " items, at most " +
                      std::to_string(node.max_items) + " allowed");
    }
    if (node.items == nullptr) return true;
    if (depth_ == kMaxDepth) return Fail(error_code::kFormatViolation, "nested too deeply");
    for (size_t i = 0; i < array.size(); ++i) {
      path_[depth_++] = Segment{{}, i};
      bool ok = Check(*node.items, array[i]);
      --depth_;
      if (!ok) return false;
    }
    return true;
  }

  // One merge pass over the payload's keys and the schema's properties, both sorted the same
  // way. A failing member's violation is kept but the pass goes on, because a missing or
  // unexpected property of this object takes precedence over what is wrong inside a member.
  bool CheckObject(const Node& node, const json::object_t& object) {
    if (depth_ == kMaxDepth) return Fail(error_code::kFormatViolation, "nested too deeply");
    auto member = object.begin();
    auto property = node.properties.begin();
    bool member_failed = false;
    while (member != object.end() || property != node.properties.end()) {
      int order = member == object.end()              ? 1
                  : property == node.properties.end() ? -1
                                                      : member->first.compare(property->name);
      if (order > 0) {  // in the schema only
        if (property->required) {
          return Fail(error_code::kOccurrenceConstraintViolation, "required property missing",
                      property->name);
        }
        ++property;
        continue;
      }
      // In the payload. A name listed only in "required" is still an additional property.
      const Node* schema = order == 0 ? property->node : nullptr;
      if (schema == nullptr) {
        if (!node.additional_allowed) {
          return Fail(error_code::kPropertyConstraintViolation, "property not allowed",
                      member->first.empty() ? std::string_view("\"\"") : member->first);
        }
        schema = node.additional;
      }
      if (schema != nullptr && !member_failed) {
        member_failed = !CheckMember(*schema, member->first, member->second);
      }
      ++member;
      if (order == 0) ++property;
    }
    return !member_failed;
  }

  bool CheckMember(const Node& node, std::string_view key, const json& value) {
    // An empty key would render as an array index; quote it.
    path_[depth_++] = Segment{key.empty() ? std::string_view("\"\"") : key, 0};
    bool ok = Check(node, value);
    --depth_;
    return ok;
  }

  Segment path_[kMaxDepth];
  size_t depth_ = 0;
};

bool Digits(std::string_view s, size_t pos, size_t count, int& out) {
  out = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

}  // namespace

bool IsRfc3339DateTime(std::string_view s) {
  // 0123456789012345678
  // YYYY-MM-DDTHH:MM:SS then [.digits] then Z or +HH:MM / -HH:MM
  if (s.size() < 20) return false;
  int year, month, day, hour, minute, second;
  if (!Digits(s, 0, 4, year) || s[4] != '-' || !Digits(s, 5, 2, month) || s[7] != '-' ||
      !Digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't') || !Digits(s, 11, 2, hour) ||
      s[13] != ':' || !Digits(s, 14, 2, minute) || s[16] != ':' || !Digits(s, 17, 2, second)) {
    return false;
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 ||
      minute > 59 || second > 60) {
    return false;
  }
  size_t pos = 19;
  if (s[pos] == '.') {
    size_t start = ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    if (pos == start) return false;
  }
  if (pos >= s.size()) return false;
  if (s[pos] == 'Z' || s[pos] == 'z') return pos + 1 == s.size();
  if (s[pos] != '+' && s[pos] != '-') return false;
  int offset_hour, offset_minute;
  return s.size() - pos == 6 && Digits(s, pos + 1, 2, offset_hour) && s[pos + 3] == ':' &&
         Digits(s, pos + 4, 2, offset_minute) && offset_hour <= 23 && offset_minute <= 59;
}

struct SchemaSet::Impl {
  std::deque<Node> nodes;      // stable addresses; nodes point at each other
  std::vector<Entry> entries;  // sorted by action
  size_t schema_count = 0;

  const Entry* Find(std::string_view action) const {
    auto it = std::lower_bound(entries.begin(), entries.end(), action,
                               [](const Entry& e, std::string_view a) { return e.action < a; });
    return it != entries.end() && it->action == action ? &*it : nullptr;
  }
};

SchemaSet::SchemaSet(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SchemaSet::SchemaSet(SchemaSet&&) noexcept = default;
SchemaSet& SchemaSet::operator=(SchemaSet&&) noexcept = default;
SchemaSet::~SchemaSet() = default;

SchemaSet SchemaSet::Compile(std::span<const SchemaFile> files) {
  auto impl = std::make_unique<Impl>();
  std::map<std::string, Entry, std::less<>> entries;
  for (const SchemaFile& file : files) {
    std::string_view name = file.name;
    bool request = name.ends_with(kRequestSuffix);
    bool response = name.ends_with(kResponseSuffix);
    if (!request && !response) {
      throw std::runtime_error(std::string(name) + ": not <Action>Request.json or Response.json");
    }
    std::string action(
        name.substr(0, name.size() - (request ? kRequestSuffix.size() : kResponseSuffix.size())));
    Entry& entry = entries[action];
    entry.action = action;
    const Node*& slot = request ? entry.request : entry.response;
    if (slot != nullptr) throw std::runtime_error(std::string(name) + ": duplicate schema");
    try {
      json document = json::parse(file.contents);
      slot = Compiler(impl->nodes, document).CompileRoot();
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string(name) + ": " + e.what());
    }
    ++impl->schema_count;
  }
  for (auto& [action, entry] : entries) impl->entries.push_back(std::move(entry));
  return SchemaSet(std::move(impl));
}

const SchemaSet& SchemaSet::Ocpp201() {
  // A function-local static: compiled once, on first use, thread-safe (C++11 magic statics).
  static const SchemaSet kSet = [] {
    std::vector<SchemaFile> files;
    for (const auto& file : embedded::ocpp201_schemas::Files()) {
      files.push_back({file.name, file.contents});
    }
    return Compile(files);
  }();
  return kSet;
}

bool SchemaSet::Has(std::string_view action) const { return impl_->Find(action) != nullptr; }

bool SchemaSet::Has(std::string_view action, PayloadKind kind) const {
  const Entry* entry = impl_->Find(action);
  return entry != nullptr &&
         (kind == PayloadKind::kRequest ? entry->request : entry->response) != nullptr;
}

std::optional<SchemaViolation> SchemaSet::Validate(std::string_view action, PayloadKind kind,
                                                   const nlohmann::json& payload) const {
  const Entry* entry = impl_->Find(action);
  const Node* root = entry == nullptr                ? nullptr
                     : kind == PayloadKind::kRequest ? entry->request
                                                     : entry->response;
  if (root == nullptr) {
    return SchemaViolation{
        error_code::kNotImplemented,
        TruncateUtf8("no schema for " + std::string(action) +
                         (kind == PayloadKind::kRequest ? "Request" : "Response"),
                     kMaxErrorDescriptionLength)};
  }
  Checker checker;
  if (root->types == kObject && !payload.is_object()) {
    checker.Fail(error_code::kFormatViolation,
                 std::string("expected a JSON object, got ") + payload.type_name());
  } else {
    checker.Check(*root, payload);
  }
  return std::move(checker.result);
}

std::vector<std::string_view> SchemaSet::Actions() const {
  std::vector<std::string_view> actions;
  for (const Entry& entry : impl_->entries) actions.push_back(entry.action);
  return actions;
}

size_t SchemaSet::schema_count() const { return impl_->schema_count; }

}  // namespace csms::ocpp
