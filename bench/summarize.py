#!/usr/bin/env python3
"""Turns a bench/run-all.sh results folder into a Markdown table (stdout)."""
import json
import pathlib
import sys


def lines(path):
    """Every JSON object printed by one scenario (one per load generator run)."""
    out = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def rss(run):
    r = run.get("rss") or []
    if not r:
        return ""
    mib = r[0]["end_kib"] / 1024
    per = r[0].get("per_connection_kib")
    return f"{mib:.1f} MiB" + (f", {per} KiB/conn" if per is not None else "")


def row(name, run):
    lat = run.get("latency_ms", {})
    rate = "max" if not run.get("rate") else f"{run['rate']:.0f}/s"
    extra = []
    if run.get("boot_pending"):
        extra.append(f"{run['boot_pending']} Pending")
    if run.get("late"):
        extra.append(f"late {run['late']}")
    if "tx_per_s" in run:
        extra.append(f"{run['tx_per_s']} tx/s")
    if run["mode"] == "storm":
        extra.append(f"all booted in {run['setup_seconds']} s")
    tls = run.get("tls")
    if tls:
        hs = run.get("tls_handshake_ms", {})
        extra.append(f"{tls.get('version', '?')} {tls.get('server_key', '?')} key, TLS handshake "
                     f"p50 {hs.get('p50', '')} / p99 {hs.get('p99', '')} ms")
    if run["mode"] in ("idle", "storm") and run.get("connect_ms"):
        c = run["connect_ms"]
        extra.append(f"connect p50 {c['p50']} / p99 {c['p99']} ms")
    rs = run.get("remote_start")
    if rs:
        extra.append(
            f"REST start p50 {rs['start_ms']['p50']} / p99 {rs['start_ms']['p99']} ms "
            f"({rs['starts']}), stop p50 {rs['stop_ms']['p50']} / p99 {rs['stop_ms']['p99']} ms")
    return (f"| {name} | {run['mode']} | {run['connections']} | {run.get('ready', '')} | {rate} | "
            f"{run.get('msg_per_s', '')} | {lat.get('p50', '')} | {lat.get('p99', '')} | "
            f"{lat.get('p99_9', '')} | {lat.get('max', '')} | {run.get('errors', '')} | "
            f"{rss(run)} | {'; '.join(extra)} |")


def main():
    folder = pathlib.Path(sys.argv[1])
    print((folder / "machine.txt").read_text() if (folder / "machine.txt").exists() else "")
    print("| scenario | mode | connections | ready | rate | msg/s | p50 ms | p99 ms | p99.9 ms "
          "| max ms | errors | server RSS | notes |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for path in sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime):
        for run in lines(path):
            if run.get("mode") == "stack-cpu":
                cpu = ", ".join(f"{k} {v} s" for k, v in run["cpu_s"].items())
                print(f"| {path.stem} | CPU of the stack | – | – | – | – | – | – | – | – | – | – | "
                      f"{cpu} in {run['wall_s']} s |")
            elif run.get("mode") == "storm-dm":
                lr = run.get("loadgen_reports") or {}
                part = lr.get("part_ms", {})
                print(f"| {path.stem} | device model fetch, cap {run['fetch_cap']} | "
                      f"{run['chargers']} | {run['booted']} | – | – | – | – | – | – | "
                      f"{run['fetches']['failed']} failed | – | all booted in "
                      f"{run['all_booted_s']} s; {run['reports_complete']} of {run['reports']} "
                      f"reports complete, all stored at {run['all_reports_stored_s']} s "
                      f"({run['reports_per_s']} reports/s); peak running fetches "
                      f"{run['peak_running_fetches']}; NotifyReport part p50 "
                      f"{part.get('p50', '')} / p99 {part.get('p99', '')} ms |")
            elif run.get("mode") == "idle-total":
                print(f"| {path.stem} | idle, {run['gateways']} gateways | {run['connections']} | "
                      f"{run['ready']} | – | – | – | – | – | – | {run['errors']} | "
                      f"{run['gateway_rss_end_kib'] / 1024:.1f} MiB in all, "
                      f"{run['per_connection_kib']} KiB/conn | "
                      f"slowest load generator ready in {run['setup_seconds_max']} s |")
            else:
                print(row(path.stem, run))


if __name__ == "__main__":
    main()
