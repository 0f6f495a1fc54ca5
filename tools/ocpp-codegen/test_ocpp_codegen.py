#!/usr/bin/env python3
"""Tests of the OCPP model generator: names, shared and contested types, schema errors, and the
files it writes. Run: python3 -m unittest tools/ocpp-codegen/test_ocpp_codegen.py"""
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ocpp_codegen as cg  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def write_schemas(folder, files):
    for name, schema in files.items():
        with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
            json.dump(schema, f)


def obj(properties, required=(), **extra):
    node = {"type": "object", "additionalProperties": False, "properties": properties}
    if required:
        node["required"] = list(required)
    node.update(extra)
    return node


class NamesTest(unittest.TestCase):
    def test_snake_case(self):
        cases = [("evseId", "evse_id"), ("idTokenInfo", "id_token_info"), ("EVSE", "evse"),
                 ("customData", "custom_data"), ("type", "type"), ("default", "default_"),
                 ("iso15118SchemaVersion", "iso15118_schema_version"),
                 ("ocppCSMSTimestamps", "ocpp_csms_timestamps"), ("extra", "extra_")]
        for given, expected in cases:
            with self.subTest(given=given):
                self.assertEqual(cg.snake_case(given), expected)

    def test_enumerators(self):
        cases = [("Immediate", "kImmediate"), ("Energy.Active.Import.Register",
                                                "kEnergyActiveImportRegister"),
                 ("L1-N", "kL1N"), ("eMAID", "kEMAID"), ("kWh", "kKWh"), ("", "kEmpty")]
        for given, expected in cases:
            with self.subTest(given=given):
                self.assertEqual(cg.enumerator(given), expected)

    def test_values_that_sanitize_alike_stay_distinct(self):
        e = cg.Enum("X", ["L1-N", "L1N", "L1.N"])
        self.assertEqual(e.enumerators, ["kL1N", "kL1N2", "kL1N3"])

    def test_action_of(self):
        self.assertEqual(cg.action_of("ResetRequest.json"), ("Reset", "Request"))
        self.assertEqual(cg.action_of("ResetResponse.json"), ("Reset", "Response"))
        self.assertEqual(cg.action_of("Reset.json"), ("Reset", "Request"))  # OCPP 1.6
        self.assertEqual(cg.file_stem("BootNotification"), "boot_notification")
        self.assertEqual(cg.file_stem("Get15118EVCertificate"), "get15118_ev_certificate")


class ModelTest(unittest.TestCase):
    def load(self, files):
        with tempfile.TemporaryDirectory() as d:
            write_schemas(d, files)
            return cg.load_model(d)

    def test_v201_definitions_are_shared_by_name(self):
        token = {"javaType": "IdToken", **obj({"idToken": {"type": "string", "maxLength": 36}},
                                              ["idToken"])}
        request = {"definitions": {"IdTokenType": token},
                   **obj({"idToken": {"$ref": "#/definitions/IdTokenType"}}, ["idToken"])}
        model = self.load({"AuthorizeRequest.json": request, "AuthorizeResponse.json": obj({}),
                           "OtherRequest.json": request, "OtherResponse.json": obj({})})
        self.assertIn("IdToken", model.shared)
        req = model.messages["Authorize"]["Request"]
        self.assertEqual(req.fields[0].cpp_type, "IdToken")
        self.assertTrue(req.fields[0].required)

    def test_v16_inline_types_are_named_after_their_property(self):
        info = obj({"status": {"type": "string", "enum": ["Accepted", "Blocked"]}}, ["status"])
        model = self.load({
            "Authorize.json": obj({"idTag": {"type": "string"}}, ["idTag"]),
            "AuthorizeResponse.json": obj({"idTagInfo": info}, ["idTagInfo"]),
            "StartTransaction.json": obj({"meterStart": {"type": "integer"}}),
            "StartTransactionResponse.json": obj({"idTagInfo": info}),
        })
        self.assertIn("IdTagInfo", model.shared)
        self.assertIn("StatusEnum", model.shared)
        self.assertEqual(model.messages["StartTransaction"]["Response"].fields[0].cpp_type,
                         "IdTagInfo")

    def test_contested_names_are_qualified_for_every_shape(self):
        def status(*values):
            return obj({"status": {"type": "string", "enum": list(values)}}, ["status"])
        model = self.load({
            "Reset.json": obj({}), "ResetResponse.json": status("Accepted", "Rejected"),
            "Unlock.json": obj({}), "UnlockResponse.json": status("Unlocked", "Failed"),
            "Clear.json": obj({}), "ClearResponse.json": status("Accepted", "Rejected"),
        })
        self.assertNotIn("StatusEnum", model.shared)
        # Clear came first in file order and shares its shape with Reset.
        self.assertEqual(model.messages["Reset"]["Response"].fields[0].cpp_type,
                         "ClearResponseStatusEnum")
        self.assertEqual(model.messages["Unlock"]["Response"].fields[0].cpp_type,
                         "UnlockResponseStatusEnum")

    def test_schema_errors_name_the_file(self):
        cases = {
            "unresolvable ref": {"XRequest.json": obj({"a": {"$ref": "#/definitions/Nope"}}),
                                 "XResponse.json": obj({})},
            "required but not defined": {"XRequest.json": obj({}, ["a"]),
                                         "XResponse.json": obj({})},
            "no response schema": {"XRequest.json": obj({})},
            "unsupported type": {"XRequest.json": obj({"a": {"type": "null"}}),
                                 "XResponse.json": obj({})},
        }
        for what, files in cases.items():
            with self.subTest(what=what):
                with self.assertRaises(cg.SchemaError) as raised:
                    self.load(files)
                self.assertIn("X", str(raised.exception))


class GenerateTest(unittest.TestCase):
    def test_real_schemas_list_matches_what_is_written(self):
        for version, folder, actions in (("v201", "schemas/ocpp201", 64),
                                         ("v16", "schemas/ocpp16", 39)):
            with self.subTest(version=version):
                model = cg.load_model(os.path.join(ROOT, folder))
                self.assertEqual(len(model.messages), actions)
                emitter = cg.Emitter(model, version, cg.LABELS[version])
                generated = emitter.generate()
                self.assertEqual(sorted(generated), emitter.files())
                reset = generated[f"csms/ocpp/{version}/reset.h"]
                self.assertIn("Do not edit", reset)
                self.assertIn('static constexpr std::string_view kAction = "Reset";', reset)
                self.assertIn("using Response = ResetResponse;", reset)

    def test_unchanged_files_keep_their_time_stamps(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "a", "b.h")
            self.assertTrue(cg.write_if_changed(path, "x"))
            os.utime(path, (1, 1))
            self.assertFalse(cg.write_if_changed(path, "x"))
            self.assertEqual(os.stat(path).st_mtime, 1)
            self.assertTrue(cg.write_if_changed(path, "y"))

    def test_command_line_reports_a_bad_schema_in_one_line(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "XRequest.json"), "w") as f:
                f.write("{not json")
            stderr = sys.stderr
            try:
                sys.stderr = open(os.devnull, "w")
                self.assertEqual(cg.main(["--schemas", d, "--version", "v201", "--list"]), 1)
            finally:
                sys.stderr.close()
                sys.stderr = stderr


if __name__ == "__main__":
    unittest.main()
