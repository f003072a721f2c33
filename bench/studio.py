#!/usr/bin/env python3
"""strata studio on a 10,000,000-row table: how long a page takes.

Starts a throwaway PostgreSQL cluster (stock settings, as the `postgres`
user when run as root), fills `events` with N rows (default 10,000,000;
primary key `id`, an index on `user_id`, an index on `created_at`) and a
copy without a primary key (`events_heap`, paged by ctid), starts
`strata studio --port 0` on it, reads the token from the URL it prints, and
times requests through the real HTTP API (`POST /api/rows` with the
`X-Strata-Token` header, a new TCP connection each time, as a browser's
first request would): the first page, a page deep in the table, a filtered
page where an index supports the filter, a page sorted by an indexed
column, and a filtered page without a supporting index (for contrast).

Each scenario: one untimed warm-up, then R timed requests (default 15);
median, p90, min and max in milliseconds. Targets (issue 8): the first page
and the indexed filtered page under 100 ms (median).

    python3 bench/studio.py [--rows N] [--runs R] [--strata PATH] [--keep]

Standard library only. Prints a markdown table on stdout, progress on
stderr, and writes bench/results/studio-<timestamp>.json.
"""

import argparse
import http.client
import json
import os
import pwd
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 100.0


def log(msg: str) -> None:
    print(f"[studio-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_bindir() -> Path:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    sys.exit("no PostgreSQL server binaries (initdb) found: apt install postgresql")


class Cluster:
    def __init__(self, root: Path, bindir: Path):
        self.root, self.bindir, self.port = root, bindir, free_port()
        self.data = root / "data"
        self.user = "postgres" if os.geteuid() == 0 else None
        self.running = False

    def run(self, cmd, **kw):
        if self.user:
            cmd = ["runuser", "-u", self.user, "--"] + cmd
        p = subprocess.run(cmd, cwd=self.root, capture_output=True, text=True, **kw)
        if p.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{p.stdout}{p.stderr}")
        return p

    def start(self) -> None:
        if self.user:
            pw = pwd.getpwnam(self.user)
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        self.run([str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--locale=C.UTF-8"])
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root}"
        self.running = True
        self.run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-o", opts, "-w", "-t", "120", "start"])

    def stop(self) -> None:
        if self.running:
            self.running = False
            subprocess.run((["runuser", "-u", self.user, "--"] if self.user else [])
                           + [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"],
                           cwd=self.root, capture_output=True)

    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/bench?sslmode=disable"

    def psql(self, sql: str, db: str = "bench") -> str:
        p = subprocess.run([str(self.bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-A", "-t",
                            "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", db, "-c", sql],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit(f"psql failed: {p.stderr.strip()}\n{sql}")
        return p.stdout.strip()


def fill(cluster: Cluster, rows: int) -> None:
    cluster.psql("CREATE DATABASE bench", db="postgres")
    started = time.monotonic()
    # 1000 users; kinds cycle; created_at spreads over a year. Deterministic.
    cluster.psql(f"""
        CREATE TABLE events (
            id bigint PRIMARY KEY,
            user_id integer NOT NULL,
            kind text NOT NULL,
            amount numeric(12,2),
            note text,
            created_at timestamptz NOT NULL
        );
        INSERT INTO events
        SELECT i, 1 + (i::bigint * 7919) % 1000, (ARRAY['click','view','buy','share'])[1 + i % 4],
               (i % 10000) / 100.0, CASE WHEN i % 7 = 0 THEN NULL ELSE 'note ' || i END,
               timestamptz '2024-01-01' + (i % 31536000) * interval '1 second'
        FROM generate_series(1, {rows}) i;
        CREATE INDEX events_user_id ON events (user_id);
        CREATE INDEX events_created_at ON events (created_at);
        CREATE TABLE events_heap AS SELECT user_id, kind, note FROM events;
    """)
    cluster.psql("VACUUM ANALYZE events")
    cluster.psql("VACUUM ANALYZE events_heap")
    size = cluster.psql("SELECT pg_size_pretty(pg_total_relation_size('events'))")
    log(f"filled {rows:,} rows (and a copy without a primary key) in {time.monotonic() - started:.0f} s; "
        f"events is {size}")


def start_studio(strata: Path, url: str):
    proc = subprocess.Popen([str(strata), "--database-url", url, "studio", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit(f"strata studio exited: {proc.stderr.read()}")
        m = re.search(r"http://([0-9.]+):(\d+)/\?token=([0-9a-f]+)", line)
        if m:
            return proc, m.group(1), int(m.group(2)), m.group(3)
    raise SystemExit("strata studio printed no URL")


def request(host: str, port: int, token: str, body: dict) -> tuple[float, dict]:
    payload = json.dumps(body)
    started = time.perf_counter()
    conn = http.client.HTTPConnection(host, port, timeout=60)
    conn.request("POST", "/api/rows", body=payload,
                 headers={"Content-Type": "application/json", "X-Strata-Token": token})
    response = conn.getresponse()
    data = response.read()
    elapsed = (time.perf_counter() - started) * 1000
    conn.close()
    if response.status != 200:
        raise SystemExit(f"HTTP {response.status}: {data[:500]!r}")
    return elapsed, json.loads(data)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--strata", type=Path, help="use this binary instead of building one")
    ap.add_argument("--keep", action="store_true", help="keep the cluster's folder")
    args = ap.parse_args()

    if args.strata:
        strata = args.strata
    else:
        log("building strata (cargo build --release -p strata-cli)")
        subprocess.run(["cargo", "build", "--release", "-p", "strata-cli"], cwd=ROOT, check=True)
        target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
        strata = target / "release" / "strata"
    work = Path(tempfile.mkdtemp(prefix="strata-studio-bench-"))
    work.chmod(0o755)  # the server's user must reach its data folder
    # A copy, so that a concurrent cargo build cannot swap the binary mid-run.
    shutil.copy2(strata, work / "strata")
    strata = work / "strata"

    cluster = Cluster(work / "pg", find_bindir())
    (work / "pg").mkdir()
    studio = None
    try:
        cluster.start()
        log(f"cluster on port {cluster.port}; filling {args.rows:,} rows")
        fill(cluster, args.rows)
        studio, host, port, token = start_studio(strata, cluster.url())
        log(f"studio on {host}:{port}")

        _, first = request(host, port, token, {"schema": "public", "name": "events", "limit": 100})
        deep_id = str(args.rows * 9 // 10)
        some_user, its_kind = first["rows"][0][1], first["rows"][0][2]
        scenarios = [
            ("first page (ORDER BY id LIMIT 100)", "events", {}),
            (f"page after id {int(deep_id):,} (keyset)", "events", {"after": [deep_id]}),
            (f"filtered page, user_id = {some_user} (indexed)", "events",
             {"filters": [{"column": "user_id", "op": "eq", "value": some_user}]}),
            ("sorted by created_at desc (indexed)", "events", {"sort": {"column": "created_at", "desc": True}}),
            (f"filtered page, user_id = {some_user} and kind = '{its_kind}' (indexed + residual)", "events",
             {"filters": [{"column": "user_id", "op": "eq", "value": some_user},
                          {"column": "kind", "op": "eq", "value": its_kind}]}),
            ("no primary key: first page (ctid)", "events_heap", {}),
            ("filtered page, note contains '99999' (no index: full scan)", "events",
             {"filters": [{"column": "note", "op": "contains", "value": "99999"}]}),
        ]
        results = []
        for title, table, extra in scenarios:
            body = {"schema": "public", "name": table, "limit": 100, **extra}
            request(host, port, token, body)  # warm-up
            times = []
            rows = 0
            for _ in range(args.runs):
                ms, page = request(host, port, token, body)
                times.append(ms)
                rows = len(page["rows"])
            times.sort()
            r = {"scenario": title, "table": table, "request": body, "rows": rows,
                 "median_ms": statistics.median(times), "p90_ms": times[int(len(times) * 0.9) - 1] if len(times) >= 10 else max(times),
                 "min_ms": times[0], "max_ms": times[-1], "runs": len(times)}
            results.append(r)
            log(f"{title}: median {r['median_ms']:.1f} ms ({rows} rows)")

        server = cluster.psql("SHOW server_version")
        print(f"\n### strata studio, {args.rows:,}-row table (PostgreSQL {server}, {args.runs} requests each)\n")
        print("| request | rows | median | p90 | min | max |")
        print("|---|---:|---:|---:|---:|---:|")
        for r in results:
            print(f"| {r['scenario']} | {r['rows']} | {r['median_ms']:.1f} ms | {r['p90_ms']:.1f} ms | "
                  f"{r['min_ms']:.1f} ms | {r['max_ms']:.1f} ms |")
        verdicts = [(results[0], "first page"), (results[2], "indexed filtered page")]
        print()
        failed = False
        for r, name in verdicts:
            ok = r["median_ms"] < TARGET_MS
            failed |= not ok
            print(f"- {name}: {r['median_ms']:.1f} ms median — {'under' if ok else 'OVER'} the {TARGET_MS:.0f} ms target")
        out = ROOT / "bench" / "results"
        out.mkdir(exist_ok=True)
        path = out / f"studio-{time.strftime('%Y%m%d-%H%M%S')}.json"
        path.write_text(json.dumps({"rows": args.rows, "runs": args.runs, "server_version": server,
                                    "results": results}, indent=2) + "\n")
        log(f"raw data in {path.relative_to(ROOT)}")
        return 1 if failed else 0
    finally:
        if studio:
            os.killpg(studio.pid, signal.SIGTERM)
            studio.wait()
        cluster.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
