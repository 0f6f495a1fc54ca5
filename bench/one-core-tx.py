#!/usr/bin/env python3
"""Cost per durable TransactionEvent on one core: this CSMS against the Node peer, same run.

The set-up of ../shared/bench/README.md: each system with its own PostgreSQL (fsync and
synchronous_commit on) pinned to core PIN_SUT (default 0), the shared C load generator
(ocpp-load, built from PEER_DIR/ocpp-load.c) pinned to core PIN_LOAD (default 1), 1,000 stations,
`--mix tx` (Started, K x Updated, Ended). Runs interleave peer, ours, ours, peer (ROUNDS pairs of
that pattern, default 1) so that drift of the machine cancels; SYSTEMS=ours runs one side only. Per run: paced RATE (default 1,000)
TransactionEvents/s, then closed loop, each DURATION seconds (default 15).

Prints one JSON line per run (raw figures) and a summary: events/s, p50/p99, CPU per process and
PostgreSQL in cores and in microseconds per event, and the ratios this CSMS / peer. Also
pg_test_fsync's fdatasync rate: with fsync on, the disk bounds p99.

    bench/one-core-tx.py            # BUILD (default build-bench) holds the CSMS's binaries
"""

import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD", "build-bench")
if not os.path.isabs(BUILD):
    BUILD = os.path.join(ROOT, BUILD)
PEER_DIR = os.environ.get("PEER_DIR", os.path.join(ROOT, "..", "shared", "bench"))
PIN_SUT = os.environ.get("PIN_SUT", "0")
PIN_LOAD = os.environ.get("PIN_LOAD", "1")
CONNS = int(os.environ.get("CONNS", "1000"))
RATE = float(os.environ.get("RATE", "1000"))
DURATION = float(os.environ.get("DURATION", "15"))
ROUNDS = int(os.environ.get("ROUNDS", "1"))
TX_UPDATES = os.environ.get("TX_UPDATES", "2")
# SYSTEMS=ours (or peer) runs one side only, e.g. to try a change quickly; ratios need both.
SYSTEMS = os.environ.get("SYSTEMS", "peer,ours").split(",")
# ocpp-load's meter runs 0 -> 8.5 -> 25.5 kWh within milliseconds: every session would be an
# implausible reading for billing (--max-evse-power-kw), so its sessions would all take the review
# path, which real traffic rarely does. The check is off here; MAX_EVSE_POWER_KW="" keeps billing's
# default (and lets builds from before the flag run).
os.environ.setdefault("MAX_EVSE_POWER_KW", "0")
TICK = os.sysconf("SC_CLK_TCK")


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def build_load_generator():
    out = os.path.join(BUILD, "bench", "ocpp-load")
    src = os.path.join(PEER_DIR, "ocpp-load.c")
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        subprocess.run(["gcc", "-O2", "-o", out, src, "-lm"], check=True)
    return out


def fsync_rate():
    """pg_test_fsync's fdatasync ops/s on the disk the benchmark's PostgreSQL uses (/tmp)."""
    pg_bin = sorted(d for d in os.listdir("/usr/lib/postgresql"))[-1]
    tool = f"/usr/lib/postgresql/{pg_bin}/bin/pg_test_fsync"
    try:
        out = subprocess.run([tool, "-s", "2", "-f", "/tmp/one-core-fsync.tmp"],
                             capture_output=True, text=True, timeout=120).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    finally:
        if os.path.exists("/tmp/one-core-fsync.tmp"):
            os.remove("/tmp/one-core-fsync.tmp")
    m = re.search(r"fdatasync\s+([\d.]+) ops/sec", out)
    return float(m.group(1)) if m else None


def process_tree(pid, tree):
    """`pid`, and with tree its children (PostgreSQL's backends)."""
    pids = [pid]
    if tree:
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                            pids.append(int(entry))
                except (OSError, IndexError, ValueError):
                    pass
    return pids


def cpu_seconds(pid, tree=False):
    """CPU of `pid` (and, with tree, of its children: PostgreSQL's backends), in seconds."""
    pids = process_tree(pid, tree)
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / TICK


def context_switches(pid, tree=False):
    """Context switches of every thread of `pid` (and, with tree, of its children)."""
    pids = process_tree(pid, tree)
    total = 0
    for p in pids:
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                with open(f"/proc/{p}/task/{t}/status") as f:
                    for line in f:
                        if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt")):
                            total += int(line.split()[1])
            except (OSError, ValueError):
                pass
    return total


class Stack:
    """bench/run.sh serve or serve-peer, up until stopped."""

    def __init__(self, system):
        env = dict(os.environ, BUILD=BUILD, PIN_SUT=PIN_SUT, PEER_DIR=PEER_DIR)
        env.pop("PIN_LOAD", None)
        scenario = "serve-peer" if system == "peer" else "serve"
        self.proc = subprocess.Popen([os.path.join(ROOT, "bench", "run.sh"), scenario], env=env,
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{scenario} did not start")
        self.info = json.loads(line)
        self.names = self.info.get("names", ["node"])

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


def run_load(loadgen, stack, mode, label):
    """One ocpp-load run; per-process CPU sampled inside its measured window."""
    url = stack.info["url"].rstrip("/") + "/"
    out = f"/tmp/one-core-{os.getpid()}-{label}.json"
    settle, warmup = 1.0, 2.0
    cmd = ["taskset", "-c", PIN_LOAD, loadgen, "--url", url, "--conns", str(CONNS), "--mix", "tx",
           "--tx-updates", TX_UPDATES, "--rate", str(RATE if mode == "paced" else 0),
           "--duration", str(DURATION), "--warmup", str(warmup), "--settle", str(settle),
           "--id-prefix", f"{label}_", "--pid", ",".join(map(str, stack.info["server_pids"])),
           "--db-ppid", str(stack.info["pg_pid"]), "--out", out, "--label", label]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    booted = threading.Event()

    def watch():
        for line in proc.stderr:
            if "booted" in line:
                booted.set()
        booted.set()

    threading.Thread(target=watch, daemon=True).start()
    booted.wait(timeout=180)
    # Inside the window: it opens settle + warmup after the boots; leave a margin either side.
    time.sleep(settle + warmup + 1.0)
    span = max(DURATION - 2.0, 1.0)
    pids = stack.info["server_pids"]
    pg = stack.info["pg_pid"]
    switches_before = [context_switches(p) for p in pids] + [context_switches(pg, tree=True)]
    before = [cpu_seconds(p) for p in pids] + [cpu_seconds(pg, tree=True)]
    t0 = time.monotonic()
    time.sleep(span)
    after = [cpu_seconds(p) for p in pids] + [cpu_seconds(pg, tree=True)]
    switches_after = [context_switches(p) for p in pids] + [context_switches(pg, tree=True)]
    elapsed = time.monotonic() - t0
    proc.wait()
    with open(out) as f:
        result = json.load(f)
    os.remove(out)
    cores = {name: (a - b) / elapsed for name, a, b in zip(stack.names + ["postgres"], after, before)}
    rate = result["throughput_per_s"]
    total = sum(cores.values())
    # Context switches per event: on one core each is a hand-off between threads or processes.
    switches = {name: round((a - b) / elapsed / rate, 2) if rate else None
                for name, a, b in zip(stack.names + ["postgres"], switches_after, switches_before)}
    return {
        "system": label.split("-")[0], "mode": mode, "events_per_s": rate,
        "p50_ms": result["latency_ms"]["p50"], "p99_ms": result["latency_ms"]["p99"],
        "errors": result["errors_total"], "callerrors": result["callerror_codes"],
        "cores": {k: round(v, 3) for k, v in cores.items()}, "total_cores": round(total, 3),
        "us_per_event": round(total / rate * 1e6, 1) if rate else None,
        "switches_per_event": switches,
        # ocpp-load's own figure over its whole window, servers + PostgreSQL, as a cross-check.
        "loadgen_sut_cores": round(result["server"]["cpu_util_window"] +
                                   result["db"]["cpu_util_window"], 3),
        "cores_busy": result["cores_busy_window"],
    }


def summarize(runs, fsync):
    def pick(system, mode, key):
        return [r[key] for r in runs if r["system"] == system and r["mode"] == mode]

    print(f"\npg_test_fsync fdatasync: {fsync:.0f} ops/s" if fsync else "\npg_test_fsync: n/a")
    for mode in ("paced", "closed"):
        print(f"\n{mode}" + (f" {RATE:.0f} TransactionEvents/s" if mode == "paced" else " loop"))
        print("| system | events/s | p50 ms | p99 ms | errors | per process (cores) | PostgreSQL |"
              " total cores | µs CPU/event |")
        print("|---|---|---|---|---|---|---|---|---|")
        for r in (r for r in runs if r["mode"] == mode):
            procs = ", ".join(f"{k} {v:.2f}" for k, v in r["cores"].items() if k != "postgres")
            print(f"| {r['system']} | {r['events_per_s']:.0f} | {r['p50_ms']:.2f} | "
                  f"{r['p99_ms']:.2f} | {r['errors']} | {procs} | {r['cores']['postgres']:.2f} |"
                  f" {r['total_cores']:.2f} | {r['us_per_event']} |")
        ours, peer = pick("ours", mode, "us_per_event"), pick("peer", mode, "us_per_event")
        if ours and peer:
            print(f"CPU per event ours/peer (medians): "
                  f"{statistics.median(ours) / statistics.median(peer):.2f}")
        if mode == "closed":
            o, p = pick("ours", mode, "events_per_s"), pick("peer", mode, "events_per_s")
            if o and p:
                print(f"closed-loop events/s ours/peer (medians): "
                      f"{statistics.median(o) / statistics.median(p):.2f}")


def main():
    loadgen = build_load_generator()
    fsync = fsync_rate()
    order = [s for s in ["peer", "ours", "ours", "peer"] * ROUNDS if s in SYSTEMS]
    runs = []
    for i, system in enumerate(order):
        log(f"one-core-tx: run {i + 1}/{len(order)}: {system}")
        stack = Stack(system)
        try:
            for mode in ("paced", "closed"):
                r = run_load(loadgen, stack, mode, f"{system}-{mode}-{i}")
                r["run"] = i
                print(json.dumps(r), flush=True)
                runs.append(r)
        finally:
            stack.stop()
    summarize(runs, fsync)


if __name__ == "__main__":
    main()
