#!/usr/bin/env python3
"""Regenerates the seed corpora in fuzz/corpus/<target>/ from the literals in the tests.

Every raw string literal R"(...)" of the listed test files is a candidate; a few inputs the
tests build in code (tests/e2e/ocpp_payloads.h) are written out below. Files are named by the
SHA-1 of their content, as libFuzzer names what it adds. Run from anywhere:
    python3 fuzz/make_corpus.py
Existing files are kept (crash reproducers and hand-made seeds stay); only new ones are added.
"""
import hashlib
import json
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
RAW = re.compile(r'R"\((.*?)\)"', re.S)


def literals(*paths):
    for path in paths:
        yield from RAW.findall((ROOT / path).read_text())


def parse(text):
    try:
        return json.loads(text)
    except ValueError:
        return None


def compact(doc):
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def write(target, inputs):
    out = CORPUS / target
    out.mkdir(parents=True, exist_ok=True)
    added = 0
    for text in dict.fromkeys(inputs):  # unique, in order
        data = text.encode()
        path = out / hashlib.sha1(data).hexdigest()
        if not path.exists():
            path.write_bytes(data)
            added += 1
    print(f"{target}: {added} added, {len(list(out.iterdir()))} files")


# ---- payloads (tests/gateway/normalize_test.cc, call_router_test.cc, e2e/ocpp_payloads.h) ----

TS = "2026-11-24T09:00:00Z"


def standard_tx(kind, tx, seq, energy_wh, power_w=None, remote_start_id=None):
    """StandardTxEvent of tests/e2e/ocpp_payloads.h."""
    context = {"Started": "Transaction.Begin", "Ended": "Transaction.End"}.get(kind,
                                                                              "Sample.Periodic")
    samples = [{"value": energy_wh, "measurand": "Energy.Active.Import.Register",
                "context": context, "unitOfMeasure": {"unit": "Wh"}}]
    if power_w is not None:
        samples.append({"value": power_w, "measurand": "Power.Active.Import",
                        "unitOfMeasure": {"unit": "W"}})
    info = {"transactionId": tx}
    if kind != "Ended":
        info["chargingState"] = "Charging"
    else:
        info["stoppedReason"] = "Remote"
    if remote_start_id is not None:
        info["remoteStartId"] = remote_start_id
    trigger = {"Started": "RemoteStart", "Ended": "RemoteStop"}.get(kind, "MeterValuePeriodic")
    event = {"eventType": kind, "timestamp": TS, "triggerReason": trigger, "seqNo": seq,
             "transactionInfo": info,
             "meterValue": [{"timestamp": TS, "sampledValue": samples}]}
    if kind == "Started":
        event["evse"] = {"id": 1, "connectorId": 1}
        event["idToken"] = {"idToken": "user_123", "type": "Central"}
    return event


def seed_tx(kind, tx, energy_wh=None, power_w=None):
    """SeedTxEvent of tests/e2e/ocpp_payloads.h."""
    data = {"transactionId": tx}
    dims = []
    if energy_wh is not None:
        dims.append({"name": "Energy.Active.Import.Register", "value": energy_wh})
    if power_w is not None:
        dims.append({"name": "Power.Active.Import", "value": power_w})
    if dims:
        data["chargingPeriods"] = [{"dimensions": dims}]
    if kind == "Ended":
        data["stoppedReason"] = "Remote"
        data["totalCost"] = 9999
    return {"eventType": kind, "timestamp": TS, "transactionData": data}


payloads = []
fragments = []  # meterValue arrays the normalize tests splice into a standard event
for text in literals("tests/gateway/normalize_test.cc", "tests/gateway/call_router_test.cc"):
    doc = parse(text)
    if isinstance(doc, dict):
        payloads.append(doc)
    elif isinstance(doc, list):
        fragments.append(doc)
payloads += [
    standard_tx("Started", "tx-1", 0, 1000.0, 7000.0, 42),
    standard_tx("Updated", "tx-1", 1, 2500.5, 7200.0),
    standard_tx("Ended", "tx-1", 2, 25500.0),
    seed_tx("Started", "seed-1"),
    seed_tx("Updated", "seed-1", 2500.0, 7000.0),
    seed_tx("Ended", "seed-1", 25500.0),
    {"reason": "PowerUp", "chargingStation": {"model": "Terra 53", "vendorName": "ABB",
                                              "serialNumber": "SN-1"}},
    {"timestamp": TS, "connectorStatus": "Available", "evseId": 1, "connectorId": 1},
    {"timestamp": "2026-11-24T09:00:00.123+09:00", "connectorStatus": "Faulted", "evseId": 2,
     "connectorId": 1},
    {"evseId": 1, "meterValue": [{"timestamp": TS, "sampledValue": [
        {"value": 1, "measurand": "Energy.Active.Import.Register",
         "unitOfMeasure": {"unit": "kWh", "multiplier": -3}}]}]},
]
for fragment in fragments:
    payloads.append(dict(standard_tx("Updated", "tx-2", 3, 1.0), meterValue=fragment))
payload_texts = [compact(p) for p in payloads]
write("fuzz_normalize", payload_texts)

# ---- frames (tests/common/ocpp_frame_test.cc, call_router_test.cc) ---------------------------

ACTIONS = {"transactionInfo": "TransactionEvent", "transactionData": "TransactionEvent",
           "chargingStation": "BootNotification", "connectorStatus": "StatusNotification",
           "eventData": "NotifyEvent", "meterValue": "MeterValues", "idToken": "Authorize"}
frames = [t for t in literals("tests/common/ocpp_frame_test.cc",
                              "tests/gateway/call_router_test.cc") if t.lstrip().startswith("[")]
for i, payload in enumerate(payloads):
    action = next((a for key, a in ACTIONS.items() if key in payload), "Heartbeat")
    frames.append(compact([2, f"m-{i}", action, payload]))
frames += [
    '[3,"m-1",{"currentTime":"2026-11-24T09:00:00Z","interval":300,"status":"Accepted"}]',
    '[4,"m-2","InternalError","billing is down",{}]',
    '[4,"m-3","GenericError","' + "\u00e9" * 200 + '",{}]',
    '[2,"' + "z" * 37 + '","Heartbeat",{}]',
]
write("fuzz_frame", frames)

# ---- REST bodies and targets (tests/gateway/rest_api_test.cc, rest_api_backend_test.cc) ------

rest = [t for t in literals("tests/gateway/rest_api_test.cc",
                            "tests/gateway/rest_api_backend_test.cc")
        if parse(t) is not None or t.startswith("{")]
rest += ["", "id_token=abc", "not json", '{"id_token":"' + "t" * 37 + '"}',
         '{"id_token":"T1","evse_id":1000000,"connector_id":18446744073709551615}',
         '{"max_power_kw":7.4}', '{"max_power_kw":1e308}', '{"transaction_id":"tx-1"}']
rest += ["/healthz", "/chargers", "/chargers/CS001", "/chargers/CS%2D001", "/chargers/CS+1",
         "/chargers/CS001/start", "/chargers/CS001/stop", "/chargers/CS001/power",
         "/chargers/CS001/sessions", "//chargers///CS001/", "/sessions/tx-1?charger_id=CS%2B1",
         "/stats/daily?date=2026-11-24&charger_id=e2e_tx_01",
         "/stats/daily?from=2026-11-01&to=2026-11-30&charger_id=CS+001&flag&=x&a=1=2",
         "/chargers/%e2%82%ac/start?%", "/chargers/%4"]
write("fuzz_rest_body", rest)
