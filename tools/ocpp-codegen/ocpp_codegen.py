#!/usr/bin/env python3
"""Generates the C++ OCPP message model from the OCA JSON schemas (OCPP 2.0.1 and 1.6).

  ocpp_codegen.py --schemas DIR --version v201 --out DIR          # writes the files
  ocpp_codegen.py --schemas DIR --version v201 --list             # prints their paths

For each action: one header `csms/ocpp/<version>/<action>.h` with the request and response structs
and one `.cc` with their JSON conversion (so a change to one message rebuilds only its users);
types shared between messages go to `types.h` / `types.cc`, and `messages.h` includes every
action. Enumerations become `enum class` with `ToString` / `FromString`; optional properties
`std::optional`; arrays `std::vector`. Decoding assumes the payload passed the schema validator
(which stays the gate) but still refuses what C++ cannot hold (an integer beyond 32 bits) with a
DecodeError naming the field, never a silent wrap.

Schema names: OCPP 2.0.1 files are `<Action>Request.json` / `<Action>Response.json` with shared
`definitions` (named types, `javaType` gives the C++ name); OCPP 1.6 files are `<Action>.json` /
`<Action>Response.json` with inline objects and enums, named here after their property
(`idTagInfo` -> `IdTagInfo`, `reason` -> `ReasonEnum`) and qualified by their owner when two
different shapes would share a name. Standard library only: runs on a bare Debian python3.
"""
import argparse
import json
import os
import re
import sys

CPP_KEYWORDS = {
    "alignas", "alignof", "and", "asm", "auto", "bool", "break", "case", "catch", "char", "class",
    "const", "constexpr", "continue", "default", "delete", "do", "double", "else", "enum",
    "explicit", "export", "extern", "false", "float", "for", "friend", "goto", "if", "inline",
    "int", "long", "mutable", "namespace", "new", "noexcept", "not", "nullptr", "operator", "or",
    "private", "protected", "public", "register", "return", "short", "signed", "sizeof", "static",
    "struct", "switch", "template", "this", "throw", "true", "try", "typedef", "typename", "union",
    "unsigned", "using", "virtual", "void", "volatile", "while", "xor",
}


class SchemaError(Exception):
    pass


def snake_case(name):
    """evseId -> evse_id, idTokenInfo -> id_token_info, EVSE -> evse, SoC -> so_c."""
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    s = re.sub(r"[^A-Za-z0-9_]", "_", s).lower()
    if s in CPP_KEYWORDS or s in ("extra",):
        s += "_"
    return s


def file_stem(action):
    return snake_case(action).rstrip("_")


def pascal_case(name):
    parts = re.split(r"[^A-Za-z0-9]+", name)
    return "".join(p[:1].upper() + p[1:] for p in parts if p)


def enumerator(value):
    """Immediate -> kImmediate, Energy.Active.Import.Register -> kEnergyActiveImportRegister."""
    body = pascal_case(value)
    if not body:
        body = "Empty"
    return "k" + body


# ---- type model -------------------------------------------------------------------------------


class Enum:
    def __init__(self, name, values, description=""):
        self.name = name
        self.values = list(values)
        self.description = description
        names = [enumerator(v) for v in self.values]
        # Two spellings that sanitize alike get numbered, so every value keeps its own enumerator.
        seen = {}
        self.enumerators = []
        for n in names:
            count = seen.get(n, 0)
            seen[n] = count + 1
            self.enumerators.append(n if count == 0 else f"{n}{count + 1}")

    def shape(self):
        return ("enum", tuple(self.values))


class Field:
    def __init__(self, json_name, cpp_type, required, kind, item_kind=None, ref=None):
        self.json_name = json_name
        self.name = snake_case(json_name)
        self._cpp_type = cpp_type  # element type for arrays
        self.required = required
        self.kind = kind  # string int number bool enum struct array any
        self.item_kind = item_kind
        self.ref = ref  # Enum or Struct for enum/struct (or their arrays)

    @property
    def cpp_type(self):
        # A shared type may be renamed after this field was read (a contested name).
        return self.ref.name if self.ref is not None else self._cpp_type


class Struct:
    def __init__(self, name, description=""):
        self.name = name
        self.description = description
        self.fields = []
        self.open = False  # additional properties allowed: kept in `extra`
        self.action = None  # top-level message: its action name
        self.kind = None  # "Request" or "Response"

    def shape(self):
        return ("struct", self.open, tuple(
            (f.json_name, f.kind, f.item_kind, f.required, f.cpp_type if f.ref is None else
             ("ref", f.ref.shape())) for f in self.fields))


class Model:
    """Named types shared between messages, plus the messages themselves."""

    def __init__(self):
        self.shared = {}  # name -> Enum | Struct (types.h)
        self.contested = set()  # names two different shapes wanted
        self.messages = {}  # action -> {"Request": Struct, "Response": Struct}

    def intern(self, candidate, qualified_name):
        """Returns the shared type for `candidate` (same shape, same name) or registers it. When
        two different shapes want one name, neither keeps it: both take their qualified names
        (owner + name), whichever schema file came first."""
        candidate.qualified = qualified_name
        name = candidate.name
        if name in self.contested:
            candidate.name = qualified_name
        else:
            existing = self.shared.get(name)
            if existing is None:
                self.shared[name] = candidate
                return candidate
            if existing.shape() == candidate.shape():
                return existing
            self.contested.add(name)
            del self.shared[name]
            existing.name = existing.qualified
            self.register_unique(existing)
            candidate.name = qualified_name
        return self.register_unique(candidate)

    def register_unique(self, t):
        existing = self.shared.get(t.name)
        if existing is not None:
            if existing.shape() == t.shape():
                return existing
            raise SchemaError(f"two different types would be called {t.name}")
        self.shared[t.name] = t
        return t


def type_name_from_definition(name, node):
    java = node.get("javaType")
    if java:
        return pascal_case(java)
    return pascal_case(name[:-4] if name.endswith("Type") and len(name) > 4 else name)


class SchemaReader:
    """Reads one schema file into the model."""

    def __init__(self, model, file_name, schema, definitions_named):
        self.model = model
        self.file_name = file_name
        self.schema = schema
        self.definitions = schema.get("definitions", {})
        self.definitions_named = definitions_named
        self.resolved = {}

    def fail(self, where, message):
        raise SchemaError(f"{self.file_name}: {where}: {message}")

    def resolve_ref(self, ref, where):
        prefix = "#/definitions/"
        if not ref.startswith(prefix) or ref[len(prefix):] not in self.definitions:
            self.fail(where, f"unresolvable $ref {ref}")
        name = ref[len(prefix):]
        if name not in self.resolved:
            node = self.definitions[name]
            cpp_name = type_name_from_definition(name, node)
            self.resolved[name] = self.read_named(node, cpp_name, cpp_name, f"definitions/{name}")
        return self.resolved[name]

    def read_named(self, node, name, qualified_name, where):
        """A named enum or struct (from `definitions`, or inline with a name we chose)."""
        if "enum" in node:
            if node.get("type", "string") != "string":
                self.fail(where, "only string enumerations are supported")
            return self.model.intern(Enum(name, node["enum"], node.get("description", "")),
                                     qualified_name)
        if node.get("type") == "object":
            struct = self.read_struct(node, name, where)
            return self.model.intern(struct, qualified_name)
        self.fail(where, f"a named type must be an enum or an object, not {node.get('type')}")

    def read_struct(self, node, name, where):
        struct = Struct(name, node.get("description", ""))
        struct.open = node.get("additionalProperties", True) is not False
        required = set(node.get("required", []))
        properties = node.get("properties", {})
        unknown = required - set(properties)
        if unknown:
            self.fail(where, f"required but not defined: {sorted(unknown)}")
        for prop, sub in properties.items():
            struct.fields.append(self.read_field(prop, sub, prop in required, name,
                                                 f"{where}/{prop}"))
        names = [f.name for f in struct.fields]
        if len(set(names)) != len(names):
            self.fail(where, f"two properties map to one C++ name: {names}")
        return struct

    def scalar(self, node, owner, prop, where):
        """(kind, cpp_type, ref) of a non-array node."""
        if "$ref" in node:
            target = self.resolve_ref(node["$ref"], where)
            return ("enum" if isinstance(target, Enum) else "struct", target.name, target)
        if "enum" in node:
            name = pascal_case(prop) + "Enum"
            target = self.read_named(node, name, owner + name, where)
            return ("enum", target.name, target)
        t = node.get("type")
        if t is None:
            return ("any", "nlohmann::json", None)  # any JSON value (DataTransfer.data)
        if t == "object":
            name = pascal_case(prop)
            if "properties" not in node and node.get("additionalProperties", True) is not False:
                return ("any", "nlohmann::json", None)
            target = self.read_named(node, name, owner + name, where)
            return ("struct", target.name, target)
        if t == "string":
            return ("string", "std::string", None)
        if t == "integer":
            return ("int", "int32_t", None)
        if t == "number":
            return ("number", "double", None)
        if t == "boolean":
            return ("bool", "bool", None)
        self.fail(where, f"unsupported type {t!r}")

    def read_field(self, prop, node, required, owner, where):
        if node.get("type") == "array":
            items = node.get("items")
            if not isinstance(items, dict):
                self.fail(where, "array without a single items schema")
            # 1.6 names array items after the property (meterValue -> MeterValue).
            kind, cpp_type, ref = self.scalar(items, owner, prop, where + "/items")
            return Field(prop, cpp_type, required, "array", kind, ref)
        kind, cpp_type, ref = self.scalar(node, owner, prop, where)
        return Field(prop, cpp_type, required, kind, None, ref)

    def read_message(self, action, kind):
        node = self.schema
        if node.get("type") != "object":
            self.fail("(root)", "the root must be an object")
        struct = self.read_struct(node, action + kind, "(root)")
        struct.action = action
        struct.kind = kind
        return struct


def action_of(file_name):
    stem = file_name[:-5]
    if stem.endswith("Response"):
        return stem[: -len("Response")], "Response"
    if stem.endswith("Request"):
        return stem[: -len("Request")], "Request"
    return stem, "Request"  # OCPP 1.6 names the request after the action alone


def load_model(schema_dir):
    model = Model()
    names = sorted(n for n in os.listdir(schema_dir) if n.endswith(".json"))
    if not names:
        raise SchemaError(f"no .json schemas in {schema_dir}")
    for file_name in names:
        with open(os.path.join(schema_dir, file_name), encoding="utf-8") as f:
            try:
                schema = json.load(f)
            except json.JSONDecodeError as e:
                raise SchemaError(f"{file_name}: invalid JSON: {e}") from None
        action, kind = action_of(file_name)
        reader = SchemaReader(model, file_name, schema, True)
        struct = reader.read_message(action, kind)
        slot = model.messages.setdefault(action, {})
        if kind in slot:
            raise SchemaError(f"{file_name}: a second {kind} schema for {action}")
        slot[kind] = struct
    for action, slot in model.messages.items():
        for kind in ("Request", "Response"):
            if kind not in slot:
                raise SchemaError(f"{action}: no {kind.lower()} schema")
    # A shared type must not take a message's name.
    clash = set(model.shared) & {a + k for a in model.messages for k in ("Request", "Response")}
    if clash:
        raise SchemaError(f"shared types named like messages: {sorted(clash)}")
    return model


# ---- C++ emission -----------------------------------------------------------------------------

HEADER_NOTE = "// Generated by tools/ocpp-codegen/ocpp_codegen.py from the OCA {label} schemas. Do not edit."


def field_type(f):
    base = f.cpp_type
    if f.kind == "array":
        base = f"std::vector<{f.cpp_type}>"
    return base if f.required else f"std::optional<{base}>"


def comment_lines(text, indent=""):
    text = " ".join((text or "").replace("\r", " ").split())
    if not text:
        return []
    words, lines, line = text.split(" "), [], ""
    width = 98 - len(indent) - 3
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}" if line else w
    if line:
        lines.append(line)
    return [f"{indent}// {l}" for l in lines[:4]]


def dependency_order(types):
    """Structs after the shared types their fields use."""
    ordered, done = [], set()

    def visit(t):
        if t.name in done:
            return
        done.add(t.name)
        if isinstance(t, Struct):
            for f in t.fields:
                if f.ref is not None:
                    visit(f.ref)
        ordered.append(t)

    for t in sorted(types, key=lambda t: t.name):
        visit(t)
    return ordered


def emit_enum_decl(e, out):
    out.extend(comment_lines(e.description))
    out.append(f"enum class {e.name} : uint8_t {{")
    for n, v in zip(e.enumerators, e.values):
        out.append(f"  {n},  // \"{v}\"" if n[1:] != v else f"  {n},")
    out.append("};")
    out.append(f"std::string_view ToString({e.name} value);")
    out.append(f"// False for a text that is not one of the schema's values (`out` untouched).")
    out.append(f"bool FromString(std::string_view text, {e.name}& out);")
    out.append(f"// Every value the schema allows, in its order (the argument only selects the enum).")
    out.append(f"std::span<const std::string_view> AllValues({e.name});")
    out.append(f"void to_json(nlohmann::json& j, {e.name} value);")
    out.append(f"void from_json(const nlohmann::json& j, {e.name}& out);")
    out.append("")


def emit_struct_decl(s, out):
    out.extend(comment_lines(s.description))
    out.append(f"struct {s.name} {{")
    if s.action:
        out.append(f"  static constexpr std::string_view kAction = \"{s.action}\";")
        if s.kind == "Request":
            out.append(f"  using Response = {s.action}Response;")
    for f in s.fields:
        # Scalars start at zero, not indeterminate, so a default-made message compares equal.
        init = "{}" if f.required and f.kind in ("int", "number", "bool", "enum") else ""
        out.append(f"  {field_type(f)} {f.name}{init};")
    if s.open:
        out.append("  nlohmann::json extra;  // further properties, which this type allows")
    out.append("")
    out.append(f"  bool operator==(const {s.name}&) const = default;")
    out.append("};")
    out.append(f"void to_json(nlohmann::json& j, const {s.name}& value);")
    out.append(f"// Throws DecodeError naming the field when `j` does not fit.")
    out.append(f"void from_json(const nlohmann::json& j, {s.name}& out);")
    out.append("")


def emit_enum_impl(e, out):
    out.append(f"std::string_view ToString({e.name} value) {{")
    out.append("  switch (value) {")
    for n, v in zip(e.enumerators, e.values):
        out.append(f"    case {e.name}::{n}:")
        out.append(f"      return \"{v}\";")
    out.append("  }")
    out.append("  return {};")
    out.append("}")
    out.append("")
    out.append(f"bool FromString(std::string_view text, {e.name}& out) {{")
    out.append(f"  static constexpr std::pair<std::string_view, {e.name}> kValues[] = {{")
    for n, v in zip(e.enumerators, e.values):
        out.append(f"      {{\"{v}\", {e.name}::{n}}},")
    out.append("  };")
    out.append("  for (const auto& [name, value] : kValues) {")
    out.append("    if (name == text) {")
    out.append("      out = value;")
    out.append("      return true;")
    out.append("    }")
    out.append("  }")
    out.append("  return false;")
    out.append("}")
    out.append("")
    out.append(f"std::span<const std::string_view> AllValues({e.name}) {{")
    out.append("  static constexpr std::string_view kAll[] = {")
    for v in e.values:
        out.append(f"      \"{v}\",")
    out.append("  };")
    out.append("  return kAll;")
    out.append("}")
    out.append("")
    out.append(f"void to_json(nlohmann::json& j, {e.name} value) {{ j = ToString(value); }}")
    out.append("")
    out.append(f"void from_json(const nlohmann::json& j, {e.name}& out) {{")
    out.append("  if (!j.is_string() || !FromString(j.get_ref<const std::string&>(), out)) {")
    out.append(f"    throw DecodeError(\"\", \"not a {e.name} value\", \"PropertyConstraintViolation\");")
    out.append("  }")
    out.append("}")
    out.append("")


def read_expr(f, kind, src):
    """C++ expression reading json `src` as the field's (element) type."""
    if kind == "string":
        return f"model::ReadString({src})"
    if kind == "int":
        return f"model::ReadInt32({src})"
    if kind == "number":
        return f"model::ReadNumber({src})"
    if kind == "bool":
        return f"model::ReadBool({src})"
    if kind == "any":
        return src
    return f"({src}).get<{f.cpp_type}>()"


def emit_struct_impl(s, out):
    out.append(f"void to_json(nlohmann::json& j, const {s.name}& value) {{")
    if s.open:
        out.append("  j = value.extra.is_object() ? value.extra : nlohmann::json::object();")
    else:
        out.append("  j = nlohmann::json::object();")
    for f in s.fields:
        if f.required:
            out.append(f"  j[\"{f.json_name}\"] = value.{f.name};")
        else:
            out.append(f"  if (value.{f.name}) j[\"{f.json_name}\"] = *value.{f.name};")
    out.append("}")
    out.append("")
    out.append(f"void from_json(const nlohmann::json& j, {s.name}& out) {{")
    out.append("  if (!j.is_object()) throw DecodeError(\"\", \"not an object\");")
    if not s.fields and not s.open:
        out.append("  (void)out;")
    for f in s.fields:
        key = f"\"{f.json_name}\""
        out.append(f"  if (auto it = j.find({key}); it != j.end()) {{")
        out.append("    try {")
        target = f"out.{f.name}" if f.required else f"out.{f.name}.emplace()"
        if f.kind == "array":
            out.append(f"      auto& items = {target};")
            out.append("      if (!it->is_array()) throw DecodeError(\"\", \"not an array\");")
            out.append("      items.reserve(it->size());")
            out.append("      size_t index = 0;")
            out.append("      try {")
            out.append("        for (const auto& item : *it) {")
            out.append(f"          items.push_back({read_expr(f, f.item_kind, 'item')});")
            out.append("          ++index;")
            out.append("        }")
            out.append("      } catch (DecodeError& e) {")
            out.append("        e.PrependIndex(index);")
            out.append("        throw;")
            out.append("      }")
        else:
            out.append(f"      {target} = {read_expr(f, f.kind, '*it')};")
        out.append("    } catch (DecodeError& e) {")
        out.append(f"      e.Prepend({key});")
        out.append("      throw;")
        out.append("    }")
        if f.required:
            out.append("  } else {")
            out.append(f"    throw DecodeError({key}, \"required but missing\", "
                       "\"OccurrenceConstraintViolation\");")
        out.append("  }")
    if s.open:
        known = ", ".join(f"\"{f.json_name}\"" for f in s.fields)
        out.append(f"  out.extra = model::OtherProperties(j, {{{known}}});")
    out.append("}")
    out.append("")


def includes_for(types):
    return ["#include <cstdint>", "#include <nlohmann/json.hpp>", "#include <optional>",
            "#include <span>", "#include <string>", "#include <string_view>", "#include <vector>"]


class Emitter:
    def __init__(self, model, version, label):
        self.model = model
        self.version = version
        self.label = label
        self.ns = f"csms::ocpp::{version}"
        self.prefix = f"csms/ocpp/{version}"

    def files(self):
        """Relative paths of every generated file, sorted."""
        paths = [f"{self.prefix}/types.h", f"{self.prefix}/types.cc", f"{self.prefix}/messages.h"]
        for action in self.model.messages:
            stem = file_stem(action)
            paths += [f"{self.prefix}/{stem}.h", f"{self.prefix}/{stem}.cc"]
        return sorted(paths)

    def generate(self):
        out = {}
        note = HEADER_NOTE.format(label=self.label)
        shared = dependency_order(self.model.shared.values())
        # types.h
        h = [note, "#pragma once", ""] + includes_for(shared) + [
            "", "#include \"csms/ocpp/model_support.h\"", "", f"namespace {self.ns} {{", "",
            "using DecodeError = model::DecodeError;", ""]
        for t in shared:
            (emit_enum_decl if isinstance(t, Enum) else emit_struct_decl)(t, h)
        h += [f"}}  // namespace {self.ns}", ""]
        out[f"{self.prefix}/types.h"] = "\n".join(h)
        cc = [note, f"#include \"{self.prefix}/types.h\"", "", "#include <utility>", "",
              f"namespace {self.ns} {{", ""]
        for t in shared:
            (emit_enum_impl if isinstance(t, Enum) else emit_struct_impl)(t, cc)
        cc += [f"}}  // namespace {self.ns}", ""]
        out[f"{self.prefix}/types.cc"] = "\n".join(cc)
        # One header and source per action.
        umbrella = [note, "#pragma once", "", "// Every action of this OCPP version.", ""]
        for action in sorted(self.model.messages):
            stem = file_stem(action)
            slot = self.model.messages[action]
            h = [note, "#pragma once", "", f"#include \"{self.prefix}/types.h\"", "",
                 f"namespace {self.ns} {{", "", f"struct {action}Response;", ""]
            emit_struct_decl(slot["Response"], h)
            emit_struct_decl(slot["Request"], h)
            h += [f"}}  // namespace {self.ns}", ""]
            out[f"{self.prefix}/{stem}.h"] = "\n".join(h)
            cc = [note, f"#include \"{self.prefix}/{stem}.h\"", "", f"namespace {self.ns} {{", ""]
            emit_struct_impl(slot["Response"], cc)
            emit_struct_impl(slot["Request"], cc)
            cc += [f"}}  // namespace {self.ns}", ""]
            out[f"{self.prefix}/{stem}.cc"] = "\n".join(cc)
            umbrella.append(f"#include \"{self.prefix}/{stem}.h\"")
        umbrella.append("")
        out[f"{self.prefix}/messages.h"] = "\n".join(umbrella)
        return out


def write_if_changed(path, text):
    """Unchanged files keep their time stamps, so regenerating rebuilds only what changed."""
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return False
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
    return True


LABELS = {"v201": "OCPP 2.0.1", "v16": "OCPP 1.6"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--schemas", required=True, help="folder of the OCA JSON schemas")
    parser.add_argument("--version", required=True, choices=sorted(LABELS),
                        help="C++ namespace csms::ocpp::<version>")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--out", help="folder to write the generated files into")
    group.add_argument("--list", action="store_true", help="print the generated files' paths")
    args = parser.parse_args(argv)
    try:
        model = load_model(args.schemas)
    except (SchemaError, OSError) as e:
        print(f"ocpp_codegen: {e}", file=sys.stderr)
        return 1
    emitter = Emitter(model, args.version, LABELS[args.version])
    if args.list:
        print(";".join(emitter.files()))
        return 0
    generated = emitter.generate()
    assert sorted(generated) == emitter.files()
    for rel, text in generated.items():
        write_if_changed(os.path.join(args.out, rel), text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
