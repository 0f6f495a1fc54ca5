#!/usr/bin/env python3
"""Runs the README's shell examples against a real stack, so that an example that breaks fails CI.

Starts billing, control and the gateway from the build folder on free loopback ports against a
fresh database of the PostgreSQL that the PG* variables name (ctest runs under pg_virtualenv),
with API keys on and --station-auth required as scripts/run.sh runs them, provisions the demo
chargers the examples name and starts a demo charger (emart_jeju_01, seed dialect) from
tools/charger-sim. Then every fenced ```sh block of README.md runs in order, each as one bash
script from the source folder, command by command, with

  - localhost:8080 / :50051 / :50052 replaced by the test stack's ports,
  - $TOKEN set to an operate token (export TOKEN=... in the README), and CSMS_API_TOKEN to the
    same for tools/grpc_call.py; $ADMIN_TOKEN to an admin token (webhooks),
  - "<transaction_id from start>" replaced by the transaction id the start example returned,
  - `curl` wrapped to record the HTTP status (and to end `curl -N` streams after 2 s),
  - `grpcurl`, which Debian 12 lacks, played by tools/grpc_call.py (the README's own stand-in):
    only the grpcurl syntax the README uses is accepted, and the token goes as metadata.

Each command must exit 0; a curl must get a 2xx status (the one the README names when it names
one, as in `# 201 {...}`), and when the README shows an answer (`# {...}` after or beside the
command) the answer must have its shape: the same keys, the same kinds of values, and the same
strings where the README shows a literal one ("…" stands for anything). grpc_call.py and grpcurl
calls must print JSON, `list` must name the service and `describe` must print rpc lines.

A block that cannot run here must be marked, right before its fence, with
  <!-- not-run: why -->
and is reported as skipped; nothing is skipped silently.

Exit 0: all examples passed; 1: a failure; 77: skipped (no PostgreSQL and CSMS_REQUIRE_PG unset).
"""
import argparse
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77
DEADLINE_S = 90  # the whole run; normally about 15 s


def log(*args):
    print(*args, flush=True)


class Failure(Exception):
    pass


# ---- README parsing ---------------------------------------------------------------------------

class Block:
    def __init__(self, line, text, not_run):
        self.line = line  # 1-based line of the opening fence
        self.text = text
        self.not_run = not_run  # the reason, or None


def extract_blocks(markdown):
    """The ```sh blocks, each with the not-run reason of an HTML comment right before it."""
    blocks = []
    lines = markdown.split("\n")
    i = 0
    while i < len(lines):
        fence = re.match(r"^(\s*)```\s*(\S*)\s*$", lines[i])
        if not fence:
            i += 1
            continue
        lang = fence.group(2)
        start = i
        i += 1
        body = []
        while i < len(lines) and not re.match(r"^\s*```\s*$", lines[i]):
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        if lang not in ("sh", "bash", "shell", "console"):
            continue
        # An HTML comment that ends on the last non-blank line before the fence (it may span
        # lines) and starts with "not-run:".
        not_run = None
        j = start - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        if j >= 0 and lines[j].rstrip().endswith("-->"):
            k = j
            while k >= 0 and "<!--" not in lines[k]:
                k -= 1
            comment = " ".join(line.strip() for line in lines[max(k, 0):j + 1])
            mark = re.match(r"^<!--\s*not-run:\s*(.*?)\s*-->$", comment, re.S)
            if mark:
                not_run = mark.group(1) or "no reason given"
        blocks.append(Block(start + 1, "\n".join(body), not_run))
    return blocks


class Command:
    def __init__(self, line, text, comments):
        self.line = line  # line within the block, 1-based
        self.text = text  # the shell text, without its comments
        self.comments = comments  # comment texts after it (beside it and on the lines below)


def split_commands(block_text):
    """Splits shell text into commands (quotes, backslash continuations and comments honoured)
    and gives each the comments that follow it up to the next command: beside it and on the
    lines below."""
    commands = []
    current, beside = [], []
    quote = None
    line_no, start_line = 1, 1
    i, n = 0, len(block_text)
    word_start = True

    def pending():
        return "".join(current).strip()

    while i < n:
        c = block_text[i]
        if quote == "'":
            current.append(c)
            if c == "'":
                quote = None
            line_no += c == "\n"
        elif quote == '"':
            current.append(c)
            if c == "\\" and i + 1 < n:
                current.append(block_text[i + 1])
                line_no += block_text[i + 1] == "\n"
                i += 1
            elif c == '"':
                quote = None
            line_no += c == "\n"
        elif c in "'\"":
            if not pending():
                start_line = line_no
            quote = c
            current.append(c)
        elif c == "\\" and i + 1 < n and block_text[i + 1] == "\n":
            current.append(" ")
            i += 1
            line_no += 1
        elif c == "#" and word_start:
            end = block_text.find("\n", i)
            end = n if end < 0 else end
            comment = block_text[i + 1:end]
            if pending():
                beside.append(comment)
            elif commands:
                commands[-1].comments.append(comment)
            i = end
            continue
        elif c == "\n":
            if pending():
                commands.append(Command(start_line, pending(), list(beside)))
                current.clear()
                beside.clear()
            line_no += 1
        else:
            if not pending() and not c.isspace():
                start_line = line_no
            current.append(c)
        word_start = quote is None and c in " \t\n;|&("
        i += 1
    if quote is not None:
        raise Failure(f"unterminated {quote} quote in a README block")
    if pending():
        commands.append(Command(start_line, pending(), list(beside)))
    return commands


def expected_answer(comments):
    """From the comments after a command: (HTTP status or None, answer text or None). The answer
    starts at the first comment that looks like one (`{`, `[` or a status then `{`) and goes on
    while its brackets are open."""
    texts = [c.strip() for c in comments]
    for k, text in enumerate(texts):
        m = re.match(r"^(?:(\d{3})\s+)?([{\[].*)$", text)
        if not m:
            continue
        status = int(m.group(1)) if m.group(1) else None
        answer = m.group(2)
        depth = bracket_depth(answer)
        k += 1
        while depth > 0 and k < len(texts):
            answer += " " + texts[k]
            depth = bracket_depth(answer)
            k += 1
        return status, answer
    return None, None


def bracket_depth(text):
    depth, in_string, escaped = 0, False, False
    for c in text:
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "{[":
            depth += 1
        elif c in "}]":
            depth -= 1
    return depth


ANY = object()  # "…" in the README: any value


def parse_shape(answer):
    """The README's answer as JSON, with "…" standing for anything: `"…"` is any value, `[…]` any
    list, and a `…` member of an object allows more members."""
    text = answer.replace("[…]", '["…"]')
    text = re.sub(r",\s*…\s*(?=[,}])", "", text)  # {"a":1,…,"b":2} and {"a":1,…}
    text = re.sub(r"\{\s*…\s*,", "{", text)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise Failure(f"the README's answer is not JSON even with … read as 'anything' ({e}): "
                      f"{answer}")

    def convert(v):
        if v == "…":
            return ANY
        if isinstance(v, list):
            if v == ["…"]:
                return ANY
            return [convert(x) for x in v]
        if isinstance(v, dict):
            return {k: convert(x) for k, x in v.items()}
        return v

    return convert(value)


def shape_errors(expected, actual, path="$"):
    if expected is ANY:
        return []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {json.dumps(actual)[:80]}"]
        errors = []
        for key, value in expected.items():
            if key not in actual:
                errors.append(f"{path}: no member {key!r} (has {sorted(actual)})")
            else:
                errors += shape_errors(value, actual[key], f"{path}.{key}")
        return errors
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: expected a list, got {json.dumps(actual)[:80]}"]
        errors = []
        for k, value in enumerate(expected):
            if k >= len(actual):
                errors.append(f"{path}: expected at least {len(expected)} items")
                break
            errors += shape_errors(value, actual[k], f"{path}[{k}]")
        return errors
    if isinstance(expected, bool) or expected is None:
        return [] if actual == expected else [f"{path}: expected {expected}, got {actual}"]
    if isinstance(expected, (int, float)):
        ok = isinstance(actual, (int, float)) and not isinstance(actual, bool)
        return [] if ok else [f"{path}: expected a number, got {json.dumps(actual)}"]
    if isinstance(expected, str):
        if not isinstance(actual, str):
            return [f"{path}: expected a string, got {json.dumps(actual)}"]
        return [] if actual == expected else [f"{path}: expected {expected!r}, got {actual!r}"]
    return []


# ---- The stack --------------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, name, proc, log_path, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise Failure(f"{name} exited with {proc.returncode}:\n{tail(log_path)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise Failure(f"{name} did not open port {port}:\n{tail(log_path)}")


def tail(path, lines=30):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no log)"


def http(port, method, path, token, body=None):
    cmd = ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "-X", method,
           f"http://127.0.0.1:{port}{path}", "-H", f"Authorization: Bearer {token}",
           "--max-time", "30"]
    if body is not None:
        cmd += ["-H", "Content-Type: application/json", "-d", json.dumps(body)]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    text, _, status = out.rpartition("\n")
    return int(status or 0), text


class Stack:
    def __init__(self, args, work):
        self.args = args
        self.work = work
        self.procs = []
        self.ports = {name: free_port() for name in (
            "ocpp", "http", "link", "control", "billing", "control_metrics", "billing_metrics")}

    def start(self, name, argv, env):
        log_path = os.path.join(self.work, f"{name}.log")
        with open(log_path, "ab") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env,
                                    stdin=subprocess.DEVNULL)
        self.procs.append((name, proc, log_path))
        return proc, log_path

    def mint(self, key_id, role):
        out = subprocess.run(["sh", os.path.join(self.args.source_dir, "tools/mint-api-key.sh"),
                              key_id, role], capture_output=True, text=True, check=True).stdout
        token, line = out.strip().split("\n")
        private = os.O_WRONLY | os.O_CREAT  # 0600, as the services want secret files
        with os.fdopen(os.open(os.path.join(self.work, "api-keys"), private | os.O_APPEND, 0o600),
                       "a", encoding="utf-8") as f:
            f.write(line + "\n")
        path = os.path.join(self.work, f"{key_id}.token")
        with os.fdopen(os.open(path, private | os.O_TRUNC, 0o600), "w", encoding="utf-8") as f:
            f.write(token + "\n")
        return token, path

    def up(self, database_url):
        p = self.ports
        self.operate_token, _ = self.mint("operator", "operate")
        self.admin_token, _ = self.mint("admin", "admin")
        _, gateway_token_file = self.mint("gateway", "service")
        _, control_token_file = self.mint("control", "service")
        env = dict(os.environ)
        env.update({"CSMS_API_KEYS_FILE": os.path.join(self.work, "api-keys"),
                    "CSMS_LOG_LEVEL": "info"})
        env.pop("CSMS_API_AUTH", None)
        a = self.args
        proc, log_path = self.start("billing", [
            a.billing, "--grpc-listen", f"127.0.0.1:{p['billing']}", "--database-url",
            database_url, "--metrics-listen", f"127.0.0.1:{p['billing_metrics']}"], env)
        wait_port(p["billing"], "billing", proc, log_path)
        proc, log_path = self.start("control", [
            a.control, "--grpc-listen", f"127.0.0.1:{p['control']}", "--database-url",
            database_url, "--metrics-listen", f"127.0.0.1:{p['control_metrics']}",
            "--service-token-file", control_token_file], env)
        wait_port(p["control"], "control", proc, log_path)
        proc, log_path = self.start("gateway", [
            a.gateway, "--ocpp-listen", f"127.0.0.1:{p['ocpp']}", "--http-listen",
            f"127.0.0.1:{p['http']}", "--grpc-listen", f"127.0.0.1:{p['link']}",
            "--control-address", f"127.0.0.1:{p['control']}", "--billing-address",
            f"127.0.0.1:{p['billing']}", "--service-token-file", gateway_token_file,
            "--station-auth", "required", "--public-base-url", f"http://127.0.0.1:{p['http']}"],
            env)
        for port in (p["ocpp"], p["http"], p["link"]):
            wait_port(port, "gateway", proc, log_path)
        # The demo chargers the examples name, as scripts/run.sh provisions them (profile 0: the
        # examples are about the API, not charger authentication).
        for charger in ("emart_jeju_01", "emart_jeju_02", "emart_jeju_03"):
            status, body = http(p["http"], "POST", "/chargers", self.operate_token,
                                {"charger_id": charger, "security_profile": 0, "approved": True})
            if status not in (200, 201):
                raise Failure(f"could not provision {charger}: HTTP {status} {body}")
        # The seed-dialect demo charger, at 10x speed as in scripts/run.sh.
        self.start("sim-emart_jeju_01", [
            a.sim, "--url", f"ws://127.0.0.1:{p['ocpp']}/ocpp", "--id", "emart_jeju_01",
            "--dialect", "seed", "--energy-speedup", "10"], env)
        deadline = time.time() + 15
        while True:
            status, body = http(p["http"], "GET", "/chargers/emart_jeju_01", self.operate_token)
            state = json.loads(body) if status == 200 else {}
            if state.get("connected") and state.get("status") == "Available":
                break
            if time.time() > deadline:
                raise Failure(f"the demo charger did not connect: HTTP {status} {body}\n"
                              + tail(os.path.join(self.work, "sim-emart_jeju_01.log")))
            time.sleep(0.2)

    def down(self):
        codes = {}
        for name, proc, _ in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc, _ in reversed(self.procs):
            try:
                codes[name] = proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                codes[name] = proc.wait()
        return codes

    def logs(self):
        return "".join(f"==== {name} ({path})\n{tail(path, 15)}" for name, _, path in self.procs)


class Database:
    """A fresh database in the cluster the PG* variables name (pg_virtualenv), dropped after."""

    def __init__(self):
        self.name = f"csms_readme_{os.getpid()}_{int(time.time() * 1000) % 100000}"

    def psql(self, sql):
        return subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "postgres",
                               "-c", sql], capture_output=True, text=True)

    def create(self):
        result = self.psql(f'CREATE DATABASE "{self.name}"')
        if result.returncode != 0:
            raise Failure(f"cannot create a database: {result.stderr.strip()}")
        return f"dbname={self.name}"

    def drop(self):
        self.psql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


# ---- Running the examples ---------------------------------------------------------------------

CURL_SHIM = r"""#!/usr/bin/env bash
# curl as the README runs it, recording the HTTP status for the test; `curl -N` streams end
# after 2 s (that timeout is not a failure when the status was 2xx).
set -u
max=30
for a in "$@"; do [[ $a == -N ]] && max=2; done
body=$(mktemp)
err=$(mktemp)
status=$("$README_REAL_CURL" -sS --max-time "$max" -o "$body" -w '%{http_code}' "$@" 2>"$err")
rc=$?
cat "$body"
echo "$status" >>"$README_RESULTS/$README_CMD.http"
if [[ $rc == 28 && $max == 2 && $status == 2* ]]; then
  rc=0
else
  cat "$err" >&2
fi
rm -f "$body" "$err"
exit $rc
"""

GRPCURL_SHIM = r"""#!/usr/bin/env python3
# grpcurl as far as the README uses it, played by tools/grpc_call.py: grpcurl -plaintext
# [-d JSON] [-H HEADER] HOST:PORT (list | describe SERVICE | SERVICE/METHOD). The token comes
# from CSMS_API_TOKEN, as the README's note on API keys says (grpcurl -H "authorization: ...").
import os, sys
args, data, plaintext = sys.argv[1:], None, False
while args and args[0].startswith("-"):
    flag = args.pop(0)
    if flag == "-plaintext":
        plaintext = True
    elif flag == "-d" and args:
        data = args.pop(0)
    elif flag == "-H" and args:
        header = args.pop(0)
        if not header.lower().startswith("authorization: bearer "):
            sys.exit(f"grpcurl stand-in: unsupported header {header}")
        os.environ["CSMS_API_TOKEN"] = header.split(" ", 2)[2]
    else:
        sys.exit(f"grpcurl stand-in: unsupported flag {flag}")
if not plaintext:
    sys.exit("grpcurl stand-in: the test stack speaks plaintext; the example needs -plaintext")
tool = os.path.join(os.environ["README_SOURCE_DIR"], "tools/grpc_call.py")
if len(args) == 2 and args[1] == "list" and data is None:
    argv = [tool, args[0], "list"]
elif len(args) == 3 and args[1] == "describe" and data is None:
    argv = [tool, args[0], "describe", args[2]]
elif len(args) == 2 and "/" in args[1]:
    argv = [tool, args[0], "call", args[1]] + ([data] if data is not None else [])
else:
    sys.exit(f"grpcurl stand-in: unsupported arguments {args}")
os.execv(tool, argv)
"""


class Runner:
    def __init__(self, args, stack, work):
        self.args = args
        self.stack = stack
        self.work = work
        self.results = os.path.join(work, "results")
        os.makedirs(self.results)
        self.bin = os.path.join(work, "bin")
        os.makedirs(self.bin)
        for name, text in (("curl", CURL_SHIM), ("grpcurl", GRPCURL_SHIM)):
            path = os.path.join(self.bin, name)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            os.chmod(path, 0o755)
        self.transaction_id = None
        self.counter = 0
        self.failures = []
        self.passed = 0

    def substitute(self, text):
        p = self.stack.ports
        for default, port in (("8080", p["http"]), ("50051", p["control"]),
                              ("50052", p["billing"])):
            text = re.sub(rf"\b(localhost|127\.0\.0\.1):{default}\b", rf"\g<1>:{port}", text)
        if "<transaction_id from start>" in text:
            if not self.transaction_id:
                raise Failure("an example needs the transaction id of the start example, which "
                              "did not give one")
            text = text.replace("<transaction_id from start>", self.transaction_id)
        return text

    def run_block(self, block):
        """Runs the block's commands one by one in one bash (so variables carry over), stopping
        at the first failure."""
        commands = split_commands(block.text)
        state = os.path.join(self.work, "state.sh")
        open(state, "w").close()
        for command in commands:
            where = f"README.md:{block.line + command.line}"
            status, answer = expected_answer(command.comments)
            shown = command.text if len(command.text) < 120 else command.text[:117] + "..."
            try:
                self.run_command(command.text, status, answer, state)
                self.passed += 1
                log(f"  ok    {where}: {shown}")
            except Failure as e:
                self.failures.append(f"{where}: {shown}\n      {e}")
                log(f"  FAIL  {where}: {shown}\n      {e}")
                return

    def run_command(self, text, status, answer, state):
        self.counter += 1
        cmd_id = str(self.counter)
        script = self.substitute(text)
        env = dict(os.environ)
        env.update({
            "PATH": self.bin + os.pathsep + env.get("PATH", ""),
            "TOKEN": self.stack.operate_token,
            "ADMIN_TOKEN": self.stack.admin_token,
            "CSMS_API_TOKEN": self.stack.operate_token,
            "README_REAL_CURL": shutil.which("curl") or "/usr/bin/curl",
            "README_RESULTS": self.results,
            "README_CMD": cmd_id,
            "README_SOURCE_DIR": self.args.source_dir,
        })
        # Variables set by earlier commands of the block (H=...) carry over through state.sh.
        wrapped = (f"source {shlex.quote(state)}\nset -o pipefail\n{script}\nrc=$?\n"
                   f"declare -p | grep -E '^declare -- [A-Za-z_][A-Za-z0-9_]*=' "
                   f"| grep -vE '^declare -- (BASH|SHELL|rc|_)' > {shlex.quote(state)}\n"
                   f"exit $rc\n")
        try:
            done = subprocess.run(["bash", "-c", wrapped], cwd=self.args.source_dir, env=env,
                                  capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            raise Failure("did not finish in 60 s")
        out, err = done.stdout, done.stderr.strip()
        if done.returncode != 0:
            raise Failure(f"exit {done.returncode}; stderr: {err or '(none)'}; stdout: "
                          f"{out.strip()[:300] or '(none)'}")
        if err:
            raise Failure(f"wrote to stderr: {err[:300]}")
        http_file = os.path.join(self.results, f"{cmd_id}.http")
        statuses = []
        if os.path.exists(http_file):
            with open(http_file, encoding="utf-8") as f:
                statuses = [int(s) for s in f.read().split()]
        for got in statuses:
            if status is not None and got != status:
                raise Failure(f"HTTP {got}, the README says {status}: {out.strip()[:300]}")
            if not 200 <= got < 300:
                raise Failure(f"HTTP {got}: {out.strip()[:300]}")
        if re.search(r"(^|\s)(grpcurl|tools/grpc_call\.py)\s", script):
            self.check_grpc_output(script, out)
        if re.search(r"(localhost|127\.0\.0\.1):\d+/events\b", script):
            # The live feed's first event is a snapshot, as the README says (not a charger's
            # event log, /chargers/{id}/events).
            first = re.search(r"^event: (\S+)$", out, re.M)
            if not first or first.group(1) != "snapshot":
                raise Failure(f"the event stream does not start with a snapshot: {out[:200]!r}")
        if answer is not None:
            expected = parse_shape(answer)
            try:
                actual = json.loads(out)
            except json.JSONDecodeError:
                raise Failure(f"the answer is not JSON: {out.strip()[:300]}")
            errors = shape_errors(expected, actual)
            if errors:
                raise Failure("the answer does not have the README's shape: "
                              + "; ".join(errors[:5]) + f"\n      answer: {out.strip()[:400]}")
        if "/start" in script and statuses:
            try:
                self.transaction_id = json.loads(out).get("transaction_id") or None
            except (json.JSONDecodeError, AttributeError):
                pass

    @staticmethod
    def check_grpc_output(script, out):
        words = shlex.split(script)
        if "list" in words[-1:]:
            if not re.search(r"^csms\.\w+\.v1\.\w+Service$", out, re.M):
                raise Failure(f"list names no csms service: {out.strip()[:300]}")
        elif "describe" in words:
            if not re.search(r"^rpc \w+\(", out, re.M):
                raise Failure(f"describe printed no rpc: {out.strip()[:300]}")
        else:
            try:
                json.loads(out)
            except json.JSONDecodeError:
                raise Failure(f"the call printed no JSON: {out.strip()[:300]}")


# tools/grpc_call.py, which the README offers in place of grpcurl, on the mistakes a user makes:
# each must be one line on stderr and a non-zero exit, never a traceback.
GRPC_CALL_MISTAKES = [
    # (arguments after the tool, with {control} for control's address; the line must contain)
    (["{control}", "call", "csms.control.v1.ControlService/GetCharger", "{bad json"], "not JSON"),
    (["{control}", "call", "csms.control.v1.ControlService/GetCharger", '{"date":"x"}'],
     'no field named "date"'),
    (["{control}", "call", "csms.control.v1.ControlService/GetCharger", '["x"]'],
     "must be a JSON object"),
    (["{control}", "call", "csms.control.v1.ControlService/NoSuchMethod", "{}"],
     "has no method NoSuchMethod"),
    (["{control}", "describe", "csms.control.v1.NoSuchService"],
     "no service csms.control.v1.NoSuchService"),
    (["{control}", "call", "csms.control.v1.ControlService/GetCharger",
      '{"charger_id":"nobody_here"}'], "NOT_FOUND"),
    (["{control}", "call"], "usage:"),
]


def check_grpc_call_mistakes(args, stack):
    failures = []
    tool = os.path.join(args.source_dir, "tools/grpc_call.py")
    env = dict(os.environ, CSMS_API_TOKEN=stack.operate_token)
    for argv, needle in GRPC_CALL_MISTAKES:
        argv = [a.replace("{control}", f"localhost:{stack.ports['control']}") for a in argv]
        done = subprocess.run([tool] + argv, capture_output=True, text=True, env=env, timeout=60)
        err = done.stderr
        shown = " ".join(shlex.quote(a) for a in argv)
        if done.returncode == 0 or "Traceback" in err or err.count("\n") != 1 \
                or not err.startswith("ERROR: ") or needle not in err or done.stdout:
            failures.append(f"grpc_call.py {shown}: exit {done.returncode}, stderr {err!r}, "
                            f"stdout {done.stdout[:100]!r} (want one 'ERROR: ...{needle}...' line)")
            log(f"  FAIL  grpc_call.py {shown}")
        else:
            log(f"  ok    grpc_call.py {shown}: {err.strip()[:100]}")
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--control", required=True)
    parser.add_argument("--billing", required=True)
    parser.add_argument("--sim", required=True)
    parser.add_argument("--readme", help="default: README.md of --source-dir")
    parser.add_argument("--keep", action="store_true", help="keep the work folder and its logs")
    args = parser.parse_args()
    readme = args.readme or os.path.join(args.source_dir, "README.md")
    with open(readme, encoding="utf-8") as f:
        blocks = extract_blocks(f.read())
    runnable = [b for b in blocks if not b.not_run]
    for b in blocks:
        if b.not_run:
            log(f"skipped README.md:{b.line} (not-run: {b.not_run})")
    if not runnable:
        log("FAIL: no runnable ```sh block in the README")
        return 1

    if not os.environ.get("PGHOST"):
        if os.environ.get("CSMS_REQUIRE_PG") == "1":
            log("FAIL: no PostgreSQL (PGHOST unset) and CSMS_REQUIRE_PG=1")
            return 1
        log("skipped: no PostgreSQL (run under pg_virtualenv)")
        return SKIP

    started = time.time()
    work = tempfile.mkdtemp(prefix="csms-readme.")
    database = Database()
    stack = Stack(args, work)
    failed = False
    try:
        database_url = database.create()
        stack.up(database_url)
        log(f"stack up in {time.time() - started:.1f} s (logs in {work})")
        runner = Runner(args, stack, work)
        for block in runnable:
            log(f"README.md:{block.line}")
            runner.run_block(block)
            if time.time() - started > DEADLINE_S:
                runner.failures.append(f"the run took over {DEADLINE_S} s")
                break
        log("tools/grpc_call.py mistakes")
        mistakes = check_grpc_call_mistakes(args, stack)
        runner.failures += mistakes
        runner.passed += len(GRPC_CALL_MISTAKES) - len(mistakes)
        failed = bool(runner.failures)
        log(f"{runner.passed} passed, {len(runner.failures)} failed")
        for failure in runner.failures:
            log(f"FAILED {failure}")
    except Failure as e:
        failed = True
        log(f"FAIL: {e}")
    finally:
        codes = stack.down()
        for name, code in codes.items():
            if code != 0 and not name.startswith("sim"):
                failed = True
                log(f"FAIL: {name} exited with {code} on SIGTERM")
        if failed:
            log(stack.logs())
        database.drop()
        if args.keep or failed:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    log(f"README examples: {time.time() - started:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
