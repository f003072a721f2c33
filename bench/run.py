#!/usr/bin/env python3
"""strata vs drizzle-kit benchmark harness.

One command (from the repository root):

    python3 bench/run.py                       # N = 10 100 500 2000, 3 runs each
    python3 bench/run.py --n 10 100 --runs 3   # a quick subset

It builds strata (`cargo build --release -p strata-cli`, or takes --strata
PATH), starts its own throwaway PostgreSQL cluster on 127.0.0.1 with the stock
settings of `initdb` (fsync on) as the `postgres` user, and for every N
generates the same N-table schema as schema.sql (strata, psql) and schema.ts
(drizzle-kit) with gen_schema.py, then measures

  a. push onto an empty database: drizzle-kit push, strata push (desired state
     from strata's cache, and cold with --refresh), and the floors
     `psql -1 -f schema.sql` (one transaction) and `psql -f` (autocommit);
  b. push with no change onto a clone of a database built from schema.sql:
     strata warm (cache hit), strata cold (--refresh), drizzle-kit push;
  c. round trips (ReadyForQuery messages after start-up) and statements
     (CommandComplete messages) of each tool, in separate untimed runs through
     a wire-protocol proxy built into this file;

as medians of R runs with min and max (wall clock of the whole process), with
a fresh database for every run. Results go to bench/results/<timestamp>.json
(and .md); the markdown tables are printed on stdout, progress on stderr.

Everything it starts (the cluster, the proxy, temporary directories) is
removed on exit, also on Ctrl-C or SIGTERM.  See README.md.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import os
import platform
import pwd
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DEFAULT_PG_BINDIR = "/usr/lib/postgresql/15/bin"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


# --------------------------------------------------------------------------
# Running processes: wall clock, exit status, output, peak RSS.
# --------------------------------------------------------------------------

class Proc:
    def __init__(self, cmd, seconds, rc, stdout, stderr, maxrss_kb, timed_out, cpu_s):
        self.cmd = cmd
        self.cpu_s = cpu_s  # user + system CPU of the process and the children it waited for
        self.seconds = seconds
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.maxrss_kb = maxrss_kb
        self.timed_out = timed_out

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def tail(self, lines: int = 15) -> str:
        text = (self.stdout + ("\n" if self.stdout and self.stderr else "") + self.stderr).strip()
        return "\n".join(text.splitlines()[-lines:])


_children: set[int] = set()  # process groups of running children, killed on exit


def run(cmd, *, cwd=None, env=None, timeout=None, check=False, user=None) -> Proc:
    """Runs cmd and waits for it; times the whole process.

    The child gets its own process group (so a Ctrl-C reaches only the
    harness, which then kills the group); stdout/stderr go to temporary
    files (no pipe can fill up); os.wait4 gives the child's peak RSS.
    """
    cmd = [str(c) for c in cmd]
    if user:
        cmd = ["runuser", "-u", user, "--"] + cmd
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                             start_new_session=True)
        _children.add(p.pid)
        timed_out = threading.Event()

        def kill():
            timed_out.set()
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill) if timeout else None
        if timer:
            timer.daemon = True
            timer.start()
        try:
            _, status, usage = os.wait4(p.pid, 0)
        finally:
            if timer:
                timer.cancel()
        seconds = time.perf_counter() - started
        p.returncode = os.waitstatus_to_exitcode(status)
        _children.discard(p.pid)
        out.seek(0)
        err.seek(0)
        proc = Proc(cmd, seconds, p.returncode, out.read().decode("utf-8", "replace"),
                    err.read().decode("utf-8", "replace"), usage.ru_maxrss, timed_out.is_set(),
                    usage.ru_utime + usage.ru_stime)
    if check and proc.rc != 0:
        raise BenchError(f"`{' '.join(cmd)}` exited {proc.rc}:\n{proc.tail()}")
    return proc


def kill_children() -> None:
    for pgid in list(_children):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            os.waitpid(pgid, 0)
        except ChildProcessError:
            pass
        _children.discard(pgid)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------
# The throwaway PostgreSQL cluster (stock initdb settings, fsync on).
# --------------------------------------------------------------------------

class Cluster:
    def __init__(self, root: Path, bindir: Path, port: int):
        self.root = root
        self.bindir = bindir
        self.port = port
        self.data = root / "data"
        self.sock = root / "sock"
        self.logfile = root / "server.log"
        self.running = False
        self.user = None if os.geteuid() != 0 else "postgres"

    def tool(self, name: str) -> str:
        return str(self.bindir / name)

    def start(self) -> None:
        if self.user:
            pw = pwd.getpwnam(self.user)
            for path in (self.root, self.sock):
                path.mkdir(exist_ok=True)
                os.chown(path, pw.pw_uid, pw.pw_gid)
        else:
            self.sock.mkdir(exist_ok=True)
        run([self.tool("initdb"), "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
             "--locale=C.UTF-8"], cwd=self.root, user=self.user, check=True, timeout=300)
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.sock}"
        self.running = True  # from here on, stop() must try
        run([self.tool("pg_ctl"), "-D", self.data, "-l", self.logfile, "-o", opts, "-w", "-t", "120", "start"],
            cwd=self.root, user=self.user, check=True, timeout=180)

    def stop(self) -> None:
        if not self.running:
            return
        self.running = False
        p = run([self.tool("pg_ctl"), "-D", self.data, "-m", "fast", "-w", "-t", "60", "stop"],
                cwd=self.root, user=self.user, timeout=90)
        if p.rc != 0:
            run([self.tool("pg_ctl"), "-D", self.data, "-m", "immediate", "-w", "stop"],
                cwd=self.root, user=self.user, timeout=60)

    def url(self, db: str, port: int | None = None) -> str:
        return f"postgres://postgres@127.0.0.1:{port or self.port}/{db}"

    def psql_args(self, db: str, port: int | None = None) -> list[str]:
        return [self.tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                "-p", str(port or self.port), "-U", "postgres", "-d", db]

    def sql(self, query: str, db: str = "postgres") -> str:
        p = run(self.psql_args(db) + ["-A", "-t", "-c", query], timeout=600)
        if p.rc != 0:
            raise BenchError(f"psql -c {query!r} failed: {p.tail()}")
        return p.stdout.strip()

    def create_db(self, name: str, template: str = "template0") -> None:
        self.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')

    def drop_db(self, name: str) -> None:
        self.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def table_count(self, db: str) -> int:
        return int(self.sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", db))

    def settings(self) -> dict:
        names = ["server_version", "fsync", "synchronous_commit", "shared_buffers", "max_connections",
                 "max_locks_per_transaction", "full_page_writes", "wal_level", "ssl"]
        rows = self.sql("SELECT name, setting || coalesce(unit, '') FROM pg_settings WHERE name IN ("
                        + ", ".join(f"'{n}'" for n in names) + ") ORDER BY name")
        return dict(line.split("|", 1) for line in rows.splitlines())


# --------------------------------------------------------------------------
# Wire-protocol proxy: counts round trips and statements.
# --------------------------------------------------------------------------

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102


def recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


class ConnStats:
    def __init__(self):
        self.server_msgs = collections.Counter()  # after start-up
        self.client_msgs = collections.Counter()  # after start-up
        self.startup_done = False
        self.ssl_requests = 0
        self.ssl_answer = None
        self.bytes_to_server = 0
        self.bytes_to_client = 0
        self.kind = "normal"


class Proxy:
    """A threaded TCP proxy in front of the server.

    From the server's side it parses the messages (type byte, int32 length)
    and counts them per type after start-up: ReadyForQuery 'Z' = one round
    trip, CommandComplete 'C' = one statement. The first 'Z' ends the
    start-up phase and is not counted. The client's side is parsed the same
    way (after its untyped start-up packet), so the harness also knows how
    many Query/Parse/Sync messages it sent. An SSLRequest (or GSSENCRequest)
    at connection start is forwarded as is and the server's one-byte answer
    relayed back; with 'S' (TLS) the bytes are forwarded but not parsed.
    """

    def __init__(self, upstream_port: int):
        self.upstream = ("127.0.0.1", upstream_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.conns: list[ConnStats] = []
        self.active = 0
        self.closed = False
        threading.Thread(target=self._accept, daemon=True, name="proxy-accept").start()

    def close(self) -> None:
        self.closed = True
        try:
            self.listener.close()
        except OSError:
            pass

    def reset(self) -> None:
        with self.lock:
            self.conns = []

    def wait_idle(self, timeout: float = 10.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if self.active == 0:
                    return
            time.sleep(0.01)

    def summary(self) -> dict:
        self.wait_idle()
        with self.lock:
            conns = [c for c in self.conns if c.kind == "normal"]
            server = collections.Counter()
            client = collections.Counter()
            for c in conns:
                server.update(c.server_msgs)
                client.update(c.client_msgs)
            return {
                "round_trips": server["Z"],
                "statements": server["C"],
                "errors": server["E"],
                "connections": len(conns),
                "other_connections": len(self.conns) - len(conns),
                "ssl_requests": sum(c.ssl_requests for c in self.conns),
                "ssl_answers": sorted({c.ssl_answer for c in self.conns if c.ssl_answer}),
                "client_query": client["Q"],
                "client_parse": client["P"],
                "client_sync": client["S"],
                "bytes_to_server": sum(c.bytes_to_server for c in self.conns),
                "bytes_to_client": sum(c.bytes_to_client for c in self.conns),
                "per_connection_round_trips": [c.server_msgs["Z"] for c in conns],
            }

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True, name="proxy-conn").start()

    def _serve(self, client: socket.socket) -> None:
        stats = ConnStats()
        with self.lock:
            self.active += 1
            self.conns.append(stats)
        server = None
        try:
            server = socket.create_connection(self.upstream)
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tls = False
            # Start-up: untyped packets from the client, possibly SSL/GSSENC
            # requests first, each answered by one byte from the server.
            while True:
                head = recv_exact(client, 8)
                length, code = struct.unpack("!ii", head)
                body = recv_exact(client, length - 8) if length > 8 else b""
                server.sendall(head + body)
                stats.bytes_to_server += length
                if code in (SSL_REQUEST, GSSENC_REQUEST):
                    stats.ssl_requests += code == SSL_REQUEST
                    answer = recv_exact(server, 1)
                    stats.ssl_answer = answer.decode("latin-1")
                    client.sendall(answer)
                    stats.bytes_to_client += 1
                    if answer in (b"S", b"G"):
                        tls = True
                        stats.kind = "tls"
                        break
                    continue
                if code == CANCEL_REQUEST:
                    stats.kind = "cancel"
                break
            up = threading.Thread(target=self._pump, args=(client, server, stats, "client", tls), daemon=True)
            up.start()
            self._pump(server, client, stats, "server", tls)
            up.join()
        except (ConnectionError, OSError, struct.error):
            pass
        finally:
            for s in (client, server):
                if s is not None:
                    try:
                        s.close()
                    except OSError:
                        pass
            with self.lock:
                self.active -= 1

    def _pump(self, src: socket.socket, dst: socket.socket, stats: ConnStats, side: str, raw: bool) -> None:
        buf = bytearray()
        counter = stats.server_msgs if side == "server" else stats.client_msgs
        try:
            while True:
                chunk = src.recv(65536)
                if not chunk:
                    break
                dst.sendall(chunk)
                if side == "server":
                    stats.bytes_to_client += len(chunk)
                else:
                    stats.bytes_to_server += len(chunk)
                if raw:
                    continue
                buf += chunk
                pos = 0
                while len(buf) - pos >= 5:
                    kind = chr(buf[pos])
                    length = struct.unpack_from("!i", buf, pos + 1)[0]
                    if len(buf) - pos < 1 + length:
                        break
                    pos += 1 + length
                    if side == "server":
                        if kind == "Z" and not stats.startup_done:
                            stats.startup_done = True
                            continue
                        if stats.startup_done:
                            counter[kind] += 1
                    else:
                        counter[kind] += 1  # the client's typed messages (password, then queries)
                del buf[:pos]
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass


# --------------------------------------------------------------------------
# Statistics and formatting.
# --------------------------------------------------------------------------

def summarize(times: list[float]) -> dict:
    if not times:
        return {"median": None, "min": None, "max": None}
    return {"median": statistics.median(times), "min": min(times), "max": max(times)}


def fmt_s(x) -> str:
    return "–" if x is None else f"{x:.3f}"


def fmt_int(x) -> str:
    return "–" if x is None else f"{x:,}"


def ratio(a, b) -> str:
    if a is None or b is None or b == 0:
        return "–"
    r = a / b
    return f"{r:,.0f}×" if r >= 100 else f"{r:.1f}×" if r >= 10 else f"{r:.2f}×"


# --------------------------------------------------------------------------
# The benchmark.
# --------------------------------------------------------------------------

STRATA_APPLIED = re.compile(r"Applied (\d+) statements? in (\d+) transactions?")


class Bench:
    def __init__(self, args, work: Path, cluster: Cluster, proxy: Proxy, strata: Path):
        self.args = args
        self.work = work
        self.cluster = cluster
        self.proxy = proxy
        self.strata = strata
        self.drizzle = BENCH / "node_modules" / ".bin" / "drizzle-kit"
        env = dict(os.environ)
        # Nothing from the caller's environment may redirect the tools.
        for k in list(env):
            if k.startswith(("POSTGRES_", "PG", "STRATA_")) or k in ("DATABASE_URL", "NO_COLOR", "FORCE_COLOR"):
                env.pop(k)
        env["NO_COLOR"] = "1"
        self.env = env

    # -- one run of each command ----------------------------------------

    def strata_cmd(self, db: str, refresh: bool, port=None, verbose=False) -> list:
        cmd = [self.strata]
        if verbose:
            cmd.append("-v")
        cmd += ["--database-url", self.cluster.url(db, port), "--schema", "schema.sql", "push", "--yes"]
        if refresh:
            cmd.append("--refresh")
        return cmd

    def write_drizzle_config(self, wd: Path, url: str) -> None:
        (wd / "drizzle.config.ts").write_text(
            "// written by bench/run.py before each drizzle-kit run\n"
            "export default {\n"
            "  dialect: 'postgresql',\n"
            "  schema: './schema.ts',\n"
            f"  dbCredentials: {{ url: '{url}' }},\n"
            "};\n")

    def drizzle_cmd(self) -> list:
        return [self.drizzle, "push", "--force"]

    def one(self, tool: str, scenario: str, n: int, wd: Path, db: str, port=None, verbose=False) -> tuple[Proc, dict]:
        """Runs one command on database db (already prepared) and checks its effect.

        Returns the process and a dict of check results; raises nothing on a
        failed check (the failure is recorded and reported)."""
        timeout = self.args.timeout
        if tool.startswith("strata"):
            cmd = self.strata_cmd(db, refresh=(tool == "strata-cold"), port=port, verbose=verbose)
            p = run(cmd, cwd=wd, env=self.env, timeout=timeout)
        elif tool == "drizzle-kit":
            self.write_drizzle_config(wd, self.cluster.url(db, port))
            p = run(self.drizzle_cmd(), cwd=wd, env=self.env, timeout=timeout)
        elif tool in ("psql-1", "psql"):
            cmd = self.cluster.psql_args(db, port) + (["-1"] if tool == "psql-1" else []) + ["-f", "schema.sql"]
            p = run(cmd, cwd=wd, env=self.env, timeout=timeout)
        else:
            raise ValueError(tool)
        check = {"ok": p.rc == 0 and not p.timed_out, "rc": p.rc}
        if p.timed_out:
            check["error"] = f"timed out after {timeout} s"
        elif p.rc != 0:
            check["error"] = p.tail()
        if scenario == "empty":
            tables = self.cluster.table_count(db)
            check["tables"] = tables
            if check["ok"] and tables != n:
                check["ok"] = False
                check["error"] = f"{tables} tables in the database after the run, expected {n}\n{p.tail()}"
            if tool.startswith("strata") and check["ok"]:
                m = STRATA_APPLIED.search(p.stdout)
                if m:
                    check["applied_statements"] = int(m.group(1))
                    check["transactions"] = int(m.group(2))
                else:
                    check["ok"] = False
                    check["error"] = "no 'Applied N statements' line in the output:\n" + p.tail()
        else:  # noop
            if tool.startswith("strata") and check["ok"] and "No changes" not in p.stdout:
                check["ok"] = False
                check["error"] = "strata did not report 'No changes' on an up-to-date database:\n" + p.tail(40)
            if tool == "drizzle-kit" and check["ok"] and "No changes detected" not in p.output:
                check["ok"] = False
                check["error"] = "drizzle-kit did not report 'No changes detected':\n" + p.tail(40)
        return p, check

    def prepare(self, scenario: str, db: str, populated: str) -> None:
        self.cluster.create_db(db, "template0" if scenario == "empty" else populated)

    # -- one N ------------------------------------------------------------

    def runs_for(self, tool: str, scenario: str, n: int) -> int:
        a = self.args
        if tool != "drizzle-kit":
            return a.runs
        if a.skip_drizzle:
            return 0
        if scenario == "empty":
            return a.drizzle_runs if a.drizzle_runs is not None else a.runs
        if a.skip_drizzle_noop_above is not None and n > a.skip_drizzle_noop_above:
            return 0
        runs = a.drizzle_noop_runs if a.drizzle_noop_runs is not None else a.runs
        for threshold, cap in a.drizzle_noop_cap:
            if n >= threshold:
                runs = min(runs, cap)
        return runs

    def bench_n(self, n: int) -> dict:
        a = self.args
        wd = self.work / f"n{n}"
        wd.mkdir()
        (wd / "node_modules").symlink_to(BENCH / "node_modules")
        gen = run([sys.executable, BENCH / "gen_schema.py", n, wd, "--seed", a.seed], check=True)
        meta = json.loads(gen.stdout)
        meta["schema_sql_bytes"] = (wd / "schema.sql").stat().st_size
        meta["schema_ts_bytes"] = (wd / "schema.ts").stat().st_size
        log(f"N={n}: {meta['tables']} tables, {meta['columns']} columns, schema.sql {meta['schema_sql_bytes']:,} B")
        result = {"n": n, "schema": meta, "loadavg_start": os.getloadavg(),
                  "fdatasync_8k_us": fdatasync_us(self.cluster.root), "measurements": [], "checks": {}}

        # The database every no-op run starts from (a clone of it): built once
        # from schema.sql with psql (autocommit: one transaction would run out
        # of lock slots at N=2000 on the stock server).
        populated = f"populated_{n}"
        self.cluster.create_db(populated)
        t = time.perf_counter()
        p = run(self.cluster.psql_args(populated) + ["-f", "schema.sql"], cwd=wd, env=self.env, timeout=a.timeout)
        if p.rc != 0 or self.cluster.table_count(populated) != n:
            raise BenchError(f"building {populated} from schema.sql failed: {p.tail()}")
        log(f"N={n}: built {populated} with psql -f in {time.perf_counter() - t:.2f} s")

        empty_tools = ["drizzle-kit", "strata-warm", "strata-cold", "psql-1", "psql"]
        noop_tools = ["drizzle-kit", "strata-warm", "strata-cold"]
        if a.skip_floors:
            empty_tools = empty_tools[:3]
        db = "bench_target"

        # Warm-up, untimed: fills strata's cache of the desired state (so the
        # warm runs hit it) and strata's cluster template, the OS page cache
        # for node_modules and the binaries.
        for tool in ["strata-cold"] + (["drizzle-kit"] if self.runs_for("drizzle-kit", "empty", n) else []):
            for _ in range(max(a.warmup, 1) if tool == "strata-cold" else a.warmup):
                self.prepare("empty", db, populated)
                p, check = self.one(tool, "empty", n, wd, db)
                log(f"N={n}: warm-up {tool} push onto empty db: {p.seconds:.3f} s{'' if check['ok'] else ' FAILED'}")
                if not check["ok"]:
                    result["checks"][f"warmup {tool}"] = check

        for scenario, tools in (("empty", empty_tools), ("noop", noop_tools)):
            plan = {tool: self.runs_for(tool, scenario, n) for tool in tools}
            times = {tool: [] for tool in tools}
            procs = {tool: [] for tool in tools}
            checks = {tool: [] for tool in tools}
            loads = {tool: [] for tool in tools}
            # Round-robin over the tools, so slow drift of the machine hits all alike.
            for r in range(max(plan.values(), default=0)):
                for tool in tools:
                    if r >= plan[tool]:
                        continue
                    self.prepare(scenario, db, populated)
                    la = os.getloadavg()[0]
                    loads[tool].append(round(la, 2))
                    p, check = self.one(tool, scenario, n, wd, db)
                    checks[tool].append(check)
                    procs[tool].append(p)
                    if check["ok"]:
                        times[tool].append(p.seconds)
                    log(f"N={n}: {scenario:5} {tool:12} run {r + 1}/{plan[tool]}: {p.seconds:8.3f} s"
                        f"  cpu {p.cpu_s:.3f} s  rss {p.maxrss_kb / 1024:.0f} MB  load {la:.2f}"
                        + ("" if check["ok"] else f"  FAILED: {check.get('error', '')[:300]}"))
            for tool in tools:
                if plan[tool] == 0:
                    continue
                m = {
                    "scenario": scenario, "tool": tool, "runs": plan[tool],
                    "times": [round(x, 4) for x in times[tool]],
                    **{k: (round(v, 4) if v is not None else None) for k, v in summarize(times[tool]).items()},
                    "failures": [c for c in checks[tool] if not c["ok"]],
                    "peak_rss_mb": round(max(p.maxrss_kb for p in procs[tool]) / 1024, 1),
                    # Client CPU (user + system) of the timed runs: the rest of
                    # the wall clock is waiting for the server (or start-up I/O).
                    "cpu_s": [round(p.cpu_s, 4) for p, c in zip(procs[tool], checks[tool]) if c["ok"]],
                    "loadavg_1min_before": loads[tool],
                    "checks": checks[tool],
                }
                if tool.startswith("strata") and scenario == "empty":
                    m["applied_statements"] = next((c.get("applied_statements") for c in checks[tool] if c["ok"]), None)
                    m["transactions"] = next((c.get("transactions") for c in checks[tool] if c["ok"]), None)
                result["measurements"].append(m)

            # Counting runs (untimed, separate): the same commands through the proxy.
            for tool in tools:
                if plan[tool] == 0:
                    continue
                if tool == "drizzle-kit" and scenario == "noop" and n > a.count_drizzle_noop_upto:
                    continue
                self.prepare(scenario, db, populated)
                self.proxy.reset()
                verbose = tool.startswith("strata")
                p, check = self.one(tool, scenario, n, wd, db, port=self.proxy.port, verbose=verbose)
                counts = self.proxy.summary()
                counts["seconds_through_proxy"] = round(p.seconds, 4)
                counts["ok"] = check["ok"]
                if not check["ok"]:
                    counts["error"] = check.get("error")
                if verbose:
                    counts["stages"] = [line for line in p.stderr.splitlines() if line.startswith("[")
                                        or line.startswith("desired state")]
                m = next(x for x in result["measurements"] if x["scenario"] == scenario and x["tool"] == tool)
                m["counts"] = counts
                log(f"N={n}: {scenario:5} {tool:12} counting run: {counts['round_trips']} RT,"
                    f" {counts['statements']} statements, {counts['connections']} connection(s),"
                    f" SSLRequest {counts['ssl_requests']} -> {counts['ssl_answers']}"
                    + ("" if check["ok"] else "  FAILED"))
                # After strata's push onto an empty database: does the result
                # equal what psql makes of schema.sql?
                if scenario == "empty" and tool == "strata-warm" and check["ok"]:
                    result["checks"]["strata_result_equals_psql"] = self.compare_dumps(db, populated, wd)

            # A second push right after strata's own push must be a no-op.
            if scenario == "empty":
                self.prepare("empty", db, populated)
                p1, c1 = self.one("strata-warm", "empty", n, wd, db)
                p2, c2 = self.one("strata-warm", "noop", n, wd, db)
                result["checks"]["strata_second_push_is_noop"] = {
                    "ok": c1["ok"] and c2["ok"], "first": c1, "second": c2,
                    "second_seconds": round(p2.seconds, 4)}
                if not (c1["ok"] and c2["ok"]):
                    log(f"N={n}: CHECK FAILED: strata's second push is not a no-op: {c2.get('error', c1.get('error'))}")
        self.cluster.drop_db(db)
        self.cluster.drop_db(populated)
        result["loadavg_end"] = os.getloadavg()
        return result

    def compare_dumps(self, db: str, populated: str, wd: Path) -> dict:
        def dump(name):
            p = run([self.cluster.tool("pg_dump"), "-s", "-h", "127.0.0.1", "-p", self.cluster.port,
                     "-U", "postgres", name], timeout=600, check=True)
            keep = [line for line in p.stdout.splitlines()
                    if line.strip() and not line.startswith("--") and not line.startswith("SET ")
                    and not line.startswith("SELECT pg_catalog.set_config")
                    and not line.startswith(("\\restrict", "\\unrestrict"))]
            return keep
        a, b = dump(db), dump(populated)
        if a == b:
            return {"ok": True}
        import difflib
        diff = list(difflib.unified_diff(b, a, "psql -f schema.sql", "strata push", lineterm="", n=1))
        (wd / "strata-vs-psql.diff").write_text("\n".join(diff) + "\n")
        log(f"CHECK FAILED: the database strata built differs from psql's ({len(diff)} diff lines)")
        return {"ok": False, "diff_head": diff[:80], "diff_lines": len(diff)}


# --------------------------------------------------------------------------
# Report.
# --------------------------------------------------------------------------

TOOL_LABEL = {
    ("empty", "drizzle-kit"): "drizzle-kit push --force",
    ("empty", "strata-warm"): "strata push (desired state cached)",
    ("empty", "strata-cold"): "strata push --refresh (cold)",
    ("empty", "psql-1"): "floor: psql -1 -f schema.sql",
    ("empty", "psql"): "floor: psql -f schema.sql (autocommit)",
    ("noop", "drizzle-kit"): "drizzle-kit push --force",
    ("noop", "strata-warm"): "strata push (warm: cache hit)",
    ("noop", "strata-cold"): "strata push --refresh (cold)",
}


def markdown(results: dict) -> str:
    out = []
    env = results["environment"]
    out.append(f"# strata vs drizzle-kit — {results['started']}\n")
    out.append(f"strata {env.get('strata_version')} (git {env.get('git_commit', '?')[:12]}"
               f"{', dirty tree' if env.get('git_dirty') else ''}); drizzle-kit {env.get('drizzle_kit')};"
               f" {env['postgres'].get('server_version')} (fsync {env['postgres'].get('fsync')},"
               f" shared_buffers {env['postgres'].get('shared_buffers')},"
               f" max_locks_per_transaction {env['postgres'].get('max_locks_per_transaction')}); node {env.get('node')};"
               f" {env.get('cpus')} CPUs; load average at start {env['loadavg_start'][0]:.2f}.\n")
    su = env.get("startup_ms", {})
    out.append("Start-up on this machine (median ms; the baseline measured node -e 0 57, drizzle-kit --version 162): "
               + ", ".join(f"{k} {v}" for k, v in su.items())
               + f"; 8 kB write + fdatasync {env.get('fdatasync_8k_us')} µs (baseline ~125).\n")
    out.append("Seconds of wall clock per process; median [min–max] of the runs. RT = round trips"
               " (ReadyForQuery after start-up), stmts = CommandComplete messages, both from a separate"
               " counting run through the proxy. Client CPU = median user+system CPU of the process"
               " (the rest of the wall clock is waiting). A fresh database for every run.\n")

    def table(scenario: str, title: str) -> None:
        out.append(f"## {title}\n")
        out.append("| N | tool | runs | median s | min s | max s | RT | stmts | client CPU s | peak RSS MB | notes |")
        out.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for r in results["results"]:
            for m in r["measurements"]:
                if m["scenario"] != scenario:
                    continue
                c = m.get("counts", {})
                notes = []
                if m["failures"]:
                    last = (m["failures"][0].get("error") or "").strip().splitlines() or [""]
                    notes.append(f"**{len(m['failures'])} of {m['runs']} runs failed**: "
                                 + last[-1][:120].replace("|", "\\|"))
                if m["tool"] == "strata-cold":
                    notes.append("CPU includes strata's throwaway cluster")
                if m.get("transactions") is not None:
                    notes.append(f"{m['applied_statements']} stmts applied in {m['transactions']} tx")
                if c and c.get("ok") is False:
                    notes.append("counting run failed")
                out.append(f"| {r['n']} | {TOOL_LABEL[(scenario, m['tool'])]} | {len(m['times'])}/{m['runs']} |"
                           f" {fmt_s(m['median'])} | {fmt_s(m['min'])} | {fmt_s(m['max'])} |"
                           f" {fmt_int(c.get('round_trips'))} | {fmt_int(c.get('statements'))} |"
                           f" {fmt_s(statistics.median(m['cpu_s']) if m['cpu_s'] else None)} |"
                           f" {m['peak_rss_mb']:.0f} | {'; '.join(notes)} |")
        out.append("")

    table("empty", "1. push onto an empty database")
    table("noop", "2. push with no change (database already matches)")

    out.append("## Ratios (medians): drizzle-kit ÷ strata, strata ÷ floor\n")
    out.append("| N | empty: drizzle ÷ strata (cached) | empty: drizzle ÷ strata (cold) |"
               " empty: strata (cached) ÷ psql -1 -f | no-op: drizzle ÷ strata warm | no-op: drizzle ÷ strata cold |")
    out.append("|---:|---:|---:|---:|---:|---:|")
    for r in results["results"]:
        med = {(m["scenario"], m["tool"]): m["median"] for m in r["measurements"]}
        g = lambda s, t: med.get((s, t))  # noqa: E731
        out.append(f"| {r['n']} | {ratio(g('empty', 'drizzle-kit'), g('empty', 'strata-warm'))} |"
                   f" {ratio(g('empty', 'drizzle-kit'), g('empty', 'strata-cold'))} |"
                   f" {ratio(g('empty', 'strata-warm'), g('empty', 'psql-1'))} |"
                   f" {ratio(g('noop', 'drizzle-kit'), g('noop', 'strata-warm'))} |"
                   f" {ratio(g('noop', 'drizzle-kit'), g('noop', 'strata-cold'))} |")
    out.append("")

    out.append("## Checks\n")
    for r in results["results"]:
        for name, c in r["checks"].items():
            out.append(f"- N={r['n']} {name}: {'ok' if c.get('ok') else 'FAILED'}")
        for m in r["measurements"]:
            c = m.get("counts")
            if c and m["tool"].startswith("strata"):
                stages = "; ".join(s.strip() for s in c.get("stages", []))
                out.append(f"- N={r['n']} {m['scenario']} {m['tool']} stages (-v, via proxy,"
                           f" {c['seconds_through_proxy']:.3f} s): {stages}")
    out.append("")
    return "\n".join(out)


# --------------------------------------------------------------------------
# Main.
# --------------------------------------------------------------------------

def parse_cap(text: str) -> tuple[int, int]:
    try:
        n, k = text.split("=")
        return int(n), int(k)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N=RUNS, got {text!r}")


def environment(cluster: Cluster, strata: Path) -> dict:
    def out(cmd, cwd=None):
        try:
            return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=60).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None
    drizzle = out([BENCH / "node_modules" / ".bin" / "drizzle-kit", "--version"], cwd=BENCH) or ""
    kit = re.search(r"drizzle-kit: v?(\S+)", drizzle)
    orm = re.search(r"drizzle-orm: v?(\S+)", drizzle)
    return {
        "host": platform.node(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "mem_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "node": out(["node", "--version"]),
        "drizzle_kit": kit.group(1) if kit else drizzle,
        "drizzle_orm": orm.group(1) if orm else None,
        "strata_path": str(strata),
        "strata_version": (out([strata, "--version"]) or "").removeprefix("strata "),
        "git_commit": out(["git", "rev-parse", "HEAD"], cwd=REPO),
        "git_dirty": bool(out(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO)),
        "postgres": cluster.settings(),
        "psql": out([cluster.tool("psql"), "--version"]),
        "loadavg_start": os.getloadavg(),
        # Process start-up, to compare this machine's speed with the baseline's
        # (perf-baseline.md §6: node -e 0 57 ms, drizzle-kit --version 162 ms).
        "startup_ms": {
            "node -e 0": startup_ms(["node", "-e", "0"]),
            "drizzle-kit --version": startup_ms([BENCH / "node_modules" / ".bin" / "drizzle-kit", "--version"]),
            "psql --version": startup_ms([cluster.tool("psql"), "--version"]),
            "strata --version": startup_ms([strata, "--version"]),
        },
        "fdatasync_8k_us": fdatasync_us(cluster.root),
    }


def fdatasync_us(folder: Path, writes: int = 200):
    """Median µs of an 8 kB write + fdatasync in folder (on the cluster's file
    system): the cost of a commit with fsync on. pg_test_fsync measured
    ~125 µs for the baseline."""
    path = folder / "fsync-probe"
    samples = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        block = os.urandom(8192)
        for _ in range(writes):
            t = time.perf_counter()
            os.pwrite(fd, block, 0)
            os.fdatasync(fd)
            samples.append(time.perf_counter() - t)
    finally:
        os.close(fd)
        path.unlink()
    return round(statistics.median(samples) * 1e6, 1)


def startup_ms(cmd, runs: int = 7):
    """Median wall clock of a trivial command, in ms (one untimed warm-up)."""
    try:
        run(cmd, cwd=BENCH, timeout=60)
        return round(statistics.median(run(cmd, cwd=BENCH, timeout=60).seconds for _ in range(runs)) * 1000, 1)
    except OSError:
        return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[10, 100, 500, 2000], help="table counts (default 10 100 500 2000)")
    ap.add_argument("--runs", "-r", type=int, default=3, help="timed runs per tool and N (default 3)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed warm-up pushes onto an empty db per tool and N (default 1)")
    ap.add_argument("--strata", type=Path, help="use this strata binary instead of building one")
    ap.add_argument("--drizzle-runs", type=int, help="drizzle-kit push-to-empty runs (default --runs)")
    ap.add_argument("--drizzle-noop-runs", type=int, help="drizzle-kit no-op runs (default --runs)")
    ap.add_argument("--drizzle-noop-cap", type=parse_cap, action="append", metavar="N=RUNS",
                    help="at most RUNS drizzle-kit no-op runs for every N >= this N (repeatable; default 2000=1;"
                         " one run at N=2000 takes ~13 min)")
    ap.add_argument("--skip-drizzle-noop-above", type=int, metavar="N", help="no drizzle-kit no-op runs for N above this")
    ap.add_argument("--count-drizzle-noop-upto", type=int, default=100, metavar="N",
                    help="count drizzle-kit's no-op round trips (an extra untimed run) up to this N (default 100)")
    ap.add_argument("--skip-drizzle", action="store_true", help="measure strata (and the floors) only")
    ap.add_argument("--skip-floors", action="store_true", help="do not measure the psql floors")
    ap.add_argument("--seed", type=int, default=42, help="gen_schema.py seed (default 42, as in the baseline)")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds before one command is killed (default 3600)")
    ap.add_argument("--pg-bindir", type=Path, default=Path(os.environ.get("PG_BINDIR", DEFAULT_PG_BINDIR)))
    ap.add_argument("--port", type=int, help="port of the harness's own cluster (default: a free one)")
    ap.add_argument("--results", type=Path, default=BENCH / "results", help="folder for the results (default bench/results)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (schemas, logs) for inspection")
    ap.add_argument("--report", type=Path, metavar="RESULTS.json", help="only print the tables of an earlier run")
    args = ap.parse_args()
    if args.report:
        print(markdown(json.loads(args.report.read_text())))
        return 0
    if args.drizzle_noop_cap is None:
        args.drizzle_noop_cap = [(2000, 1)]

    # Ctrl-C raises KeyboardInterrupt; make SIGTERM and SIGHUP do the same so
    # that the finally blocks below stop the cluster and remove the files.
    def interrupted(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGINT, interrupted)  # also when started with SIGINT ignored (`cmd &`)
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)

    if not args.skip_drizzle and not (BENCH / "node_modules" / ".bin" / "drizzle-kit").exists():
        log("installing drizzle-kit (npm ci in bench/)")
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=BENCH, check=True)

    if args.strata:
        strata = args.strata.resolve()
    else:
        log("building strata: cargo build --release -p strata-cli")
        subprocess.run(["cargo", "build", "--release", "-p", "strata-cli"], cwd=REPO, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", REPO / "target")
        strata = (Path(target) / "release" / "strata").resolve()
    if not os.access(strata, os.X_OK):
        raise SystemExit(f"no strata binary at {strata}")

    started = dt.datetime.now().astimezone()
    work = Path(tempfile.mkdtemp(prefix="strata-bench-"))
    os.chmod(work, 0o755)
    cluster = Cluster(work / "pg", args.pg_bindir, args.port or free_port())
    built_from = strata
    proxy = None
    results = None
    code = 0
    try:
        # Our own copy of the binary: a concurrent `cargo build` cannot swap it mid-run.
        shutil.copy2(built_from, work / "strata")
        strata = work / "strata"
        log(f"starting PostgreSQL in {cluster.root} on 127.0.0.1:{cluster.port}")
        cluster.start()
        proxy = Proxy(cluster.port)
        results = {"started": started.isoformat(timespec="seconds"), "args": {
            k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "environment": environment(cluster, strata), "results": []}
        results["environment"]["strata_path"] = str(built_from)
        pgs = results["environment"]["postgres"]
        log(f"{pgs.get('server_version')}: fsync {pgs.get('fsync')}, shared_buffers {pgs.get('shared_buffers')};"
            f" proxy on 127.0.0.1:{proxy.port}; load average {os.getloadavg()[0]:.2f}")
        bench = Bench(args, work, cluster, proxy, strata)
        for n in args.n:
            results["results"].append(bench.bench_n(n))
    except KeyboardInterrupt:
        log("interrupted: cleaning up")
        code = 130
    except BenchError as e:
        log(f"error: {e}")
        code = 1
    finally:
        kill_children()
        if proxy:
            proxy.close()
        try:
            cluster.stop()
        except BaseException as e:  # noqa: BLE001 - best effort on the way out
            log(f"could not stop the cluster: {e}")
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    if results and results["results"]:
        results["finished"] = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        results["complete"] = code == 0
        args.results.mkdir(parents=True, exist_ok=True)
        stamp = started.strftime("%Y%m%dT%H%M%S")
        path = args.results / f"{stamp}.json"
        path.write_text(json.dumps(results, indent=1) + "\n")
        md = markdown(results)
        path.with_suffix(".md").write_text(md)
        print(md)
        log(f"results: {path} (and .md){'' if code == 0 else ' — INCOMPLETE'}")
    return code


if __name__ == "__main__":
    sys.exit(main())
