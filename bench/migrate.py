#!/usr/bin/env python3
"""Migrate benchmark: applying 1,000 small migrations, strata beside
drizzle-orm's migrator in the same run (issue 4: "applying 1,000 small
migrations costs under 2 ms per migration beyond the SQL itself").

One command, from the repository root:

    python3 bench/migrate.py                          # 1,000 migrations, 5 runs
    python3 bench/migrate.py --migrations 100 --runs 1 --strata /path/to/strata

It writes a drizzle-kit 0.31 migrations folder (meta/_journal.json and
NNNN_mI.sql files) of N small migrations -- in turn a CREATE TABLE, a CREATE
TABLE with a foreign key (two statements), an ADD COLUMN and a CREATE INDEX,
in drizzle-kit's own SQL style -- and then, on a throwaway PostgreSQL 15
cluster (stock settings, fsync on), times as whole processes, onto a fresh
empty database (CREATE DATABASE ... TEMPLATE template0, then CHECKPOINT):

  floor   psql -f: the same SQL over one connection, every migration in its
          own BEGIN/COMMIT ("the SQL itself");
  floor+  the same plus an INSERT into drizzle.__drizzle_migrations per
          migration (the bookkeeping any migrator must do);
  floor1  psql -1 -f: all of it and the INSERTs in one transaction (the
          shape of drizzle's migrator, which applies everything in one);
  strata  strata --database-url URL --out FOLDER migrate;
  drizzle node running drizzle-orm's migrate() (node-postgres), also timed
          around the migrate() call alone, so node's start-up shows apart;

and the no-op case (everything applied, as most deploys run): strata and
drizzle once more on the database they just migrated, beside a psql that
only reads the tracking table. The tools run interleaved (floor, floor+,
floor1, strata, drizzle, floor, ...) so that load from elsewhere hits them
alike; every run is checked (N rows in the tracking table with the files'
hashes and `when`s, and the expected tables, columns, indexes and foreign
keys) so a broken run cannot look fast. Medians of R runs.

Then, untimed: one strata -v run for its stage timings, one run of every
tool through run.py's wire-protocol proxy to count round trips, and an
interop check (strata on drizzle's database and drizzle on strata's apply
nothing).

Results go to bench/results/migrate-<timestamp>.json (and .md). Uses
run.py's cluster and process helpers; standard library only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import (  # noqa: E402  (run.py is a sibling script)
    BENCH, DEFAULT_PG_BINDIR, REPO, BenchError, Cluster, Proxy, fdatasync_us, free_port, kill_children, log,
    run, startup_ms,
)

BREAKPOINT = "\n--> statement-breakpoint\n"
TRACKING = '"drizzle"."__drizzle_migrations"'
TRACKING_DDL = ('CREATE SCHEMA IF NOT EXISTS "drizzle";\n'
                f"CREATE TABLE IF NOT EXISTS {TRACKING} (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint);\n")

# drizzle-orm's migrator as an app runs it (tests/interop/migrate.mjs), timed
# inside: performance.now() counts from the process's start, so `loaded_s` is
# node's start-up and the imports.
DRIZZLE_SCRIPT = """
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";

const loaded = performance.now();
const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
await client.connect();
const connected = performance.now();
try {
  await migrate(drizzle(client), { migrationsFolder: process.argv[2] });
} finally {
  const migrated = performance.now();
  await client.end();
  console.log(JSON.stringify({
    loaded_s: loaded / 1000,
    connect_s: (connected - loaded) / 1000,
    migrate_s: (migrated - connected) / 1000,
    total_s: performance.now() / 1000,
  }));
}
"""

TOOLS = {
    "floor": "floor: psql -f, BEGIN/COMMIT per migration (the SQL itself)",
    "floor-tracking": "floor + tracking row: psql -f, BEGIN/…/INSERT/COMMIT per migration",
    "floor-one-tx": "floor, one transaction + tracking rows: psql -1 -f (drizzle's shape)",
    "strata": "strata migrate",
    "drizzle": "drizzle-orm migrate() (node, whole process)",
}
NOOP_TOOLS = {
    "noop-psql": "floor: psql reading the tracking table",
    "noop-strata": "strata migrate (nothing pending)",
    "noop-drizzle": "drizzle-orm migrate() (node, whole process)",
}


# --------------------------------------------------------------------------
# The migrations.
# --------------------------------------------------------------------------

ID = '"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "{t}_id_seq" INCREMENT BY 1 MINVALUE 1 ' \
     'MAXVALUE 9223372036854775807 START WITH 1 CACHE 1)'


def migration_sql(i: int) -> tuple[str, dict]:
    """Migration i in drizzle-kit 0.31's style, and what it adds."""
    kind = i % 4
    if kind == 0:  # a table
        t = f"t_{i}"
        sql = (f'CREATE TABLE "{t}" (\n\t{ID.format(t=t)},\n\t"name" text NOT NULL,\n'
               f'\t"created_at" timestamp with time zone DEFAULT now() NOT NULL\n);\n')
        return sql, {"tables": 1, "columns": 3, "indexes": 1, "fks": 0}
    if kind == 1:  # a child table and its foreign key: two statements
        t, parent = f"t_{i}", f"t_{i - 1}"
        sql = (f'CREATE TABLE "{t}" (\n\t{ID.format(t=t)},\n\t"parent_id" bigint NOT NULL,\n\t"name" text NOT NULL,\n'
               f'\t"created_at" timestamp with time zone DEFAULT now() NOT NULL\n);'
               + BREAKPOINT
               + f'ALTER TABLE "{t}" ADD CONSTRAINT "{t}_parent_id_{parent}_id_fk" FOREIGN KEY ("parent_id") '
                 f'REFERENCES "public"."{parent}"("id") ON DELETE cascade ON UPDATE no action;\n')
        return sql, {"tables": 1, "columns": 4, "indexes": 1, "fks": 1}
    if kind == 2:  # a column
        sql = f'ALTER TABLE "t_{i - 2}" ADD COLUMN "note_{i}" text;\n'
        return sql, {"tables": 0, "columns": 1, "indexes": 0, "fks": 0}
    t = f"t_{i - 2}"  # an index on the child table's foreign key
    sql = f'CREATE INDEX "{t}_parent_id_idx" ON "{t}" USING btree ("parent_id");\n'
    return sql, {"tables": 0, "columns": 0, "indexes": 1, "fks": 0}


def write_folder(folder: Path, n: int) -> tuple[list[dict], dict]:
    """The migrations folder (drizzle-kit 0.31 layout, no snapshots: neither
    migrator reads them), and the objects the N migrations create."""
    (folder / "meta").mkdir(parents=True)
    base = 1_760_000_000_000
    migrations, expect, entries = [], {"tables": 0, "columns": 0, "indexes": 0, "fks": 0}, []
    for i in range(n):
        tag = f"{i:04d}_m{i}"
        sql, adds = migration_sql(i)
        when = base + i * 1000
        (folder / f"{tag}.sql").write_text(sql)
        migrations.append({"tag": tag, "when": when, "sql": sql,
                           "hash": hashlib.sha256(sql.encode()).hexdigest(),
                           "statements": sql.count(BREAKPOINT) + 1})
        entries.append({"idx": i, "version": "7", "when": when, "tag": tag, "breakpoints": True})
        for k, v in adds.items():
            expect[k] += v
    journal = {"version": "7", "dialect": "postgresql", "entries": entries}
    (folder / "meta" / "_journal.json").write_text(json.dumps(journal, indent=2) + "\n")
    expect["tracking"] = tracking_digest(migrations)
    return migrations, expect


def tracking_digest(migrations: list[dict]) -> str:
    text = ",".join(f"{m['hash']}:{m['when']}" for m in migrations)
    return hashlib.md5(text.encode()).hexdigest()


def tracking_insert(m: dict) -> str:
    return f"INSERT INTO {TRACKING} (\"hash\", \"created_at\") VALUES ('{m['hash']}', {m['when']});\n"


def write_floors(work: Path, migrations: list[dict]) -> dict[str, Path]:
    """The floors' psql scripts. psql sends every statement on its own (the
    breakpoint lines are SQL comments to it)."""
    per_tx, tracked, one_tx = [], [TRACKING_DDL], [TRACKING_DDL]
    for m in migrations:
        per_tx.append(f"BEGIN;\n{m['sql']}COMMIT;\n")
        tracked.append(f"BEGIN;\n{m['sql']}{tracking_insert(m)}COMMIT;\n")
        one_tx.append(f"{m['sql']}{tracking_insert(m)}")
    files = {"floor": work / "floor.sql", "floor-tracking": work / "floor-tracking.sql",
             "floor-one-tx": work / "floor-one-tx.sql"}
    files["floor"].write_text("".join(per_tx))
    files["floor-tracking"].write_text("".join(tracked))
    files["floor-one-tx"].write_text("".join(one_tx))
    return files


# --------------------------------------------------------------------------
# Checks.
# --------------------------------------------------------------------------

def schema_counts(cluster: Cluster, db: str) -> dict:
    row = cluster.sql(
        "SELECT (SELECT count(*) FROM pg_tables WHERE schemaname = 'public'),"
        " (SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public'),"
        " (SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'),"
        " (SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
        "   WHERE n.nspname = 'public' AND c.contype = 'f')", db)
    tables, columns, indexes, fks = (int(x) for x in row.split("|"))
    return {"tables": tables, "columns": columns, "indexes": indexes, "fks": fks}


def tracking_state(cluster: Cluster, db: str) -> tuple[int, str | None]:
    row = cluster.sql(
        "SELECT CASE WHEN to_regclass('drizzle.__drizzle_migrations') IS NULL THEN '0|' ELSE"
        " (SELECT count(*) || '|' || coalesce(md5(string_agg(hash || ':' || created_at, ',' ORDER BY created_at)), '')"
        "  FROM drizzle.__drizzle_migrations) END", db)
    count, digest = row.split("|")
    return int(count), digest or None


def verify(cluster: Cluster, db: str, expect: dict, n: int, tracked: bool) -> dict:
    """Raises unless db holds exactly what the N migrations make."""
    got = schema_counts(cluster, db)
    want = {k: expect[k] for k in got}
    if got != want:
        raise BenchError(f"{db}: the schema is not what the migrations make: got {got}, expected {want}")
    if tracked:
        count, digest = tracking_state(cluster, db)
        if count != n or digest != expect["tracking"]:
            raise BenchError(f"{db}: drizzle.__drizzle_migrations has {count} rows (expected {n})"
                             f"{'' if digest == expect['tracking'] else ' whose hashes/created_at do not match the files'}")
    return got


# --------------------------------------------------------------------------
# The tools.
# --------------------------------------------------------------------------

class Tools:
    def __init__(self, args, work: Path, cluster: Cluster, strata: Path, folder: Path, floors: dict[str, Path]):
        self.args = args
        self.work = work
        self.cluster = cluster
        self.strata = strata
        self.folder = folder
        self.floors = floors
        self.script = work / "drizzle-migrate.mjs"
        if not args.skip_drizzle:
            # The script imports drizzle-orm and pg from bench/node_modules
            # (node looks for node_modules beside the script).
            (work / "node_modules").symlink_to(BENCH / "node_modules")
            self.script.write_text(DRIZZLE_SCRIPT)

    def cmd(self, tool: str, db: str, port: int | None = None, verbose: bool = False) -> tuple[list, dict | None]:
        url = self.cluster.url(db, port)
        if tool in self.floors:
            extra = ["-1"] if tool == "floor-one-tx" else []
            return self.cluster.psql_args(db, port) + extra + ["-f", self.floors[tool]], None
        if tool == "noop-psql":
            return self.cluster.psql_args(db, port) + [
                "-A", "-t", "-o", "/dev/null", "-c",
                f"SELECT id, hash, created_at FROM {TRACKING} ORDER BY created_at"], None
        if tool in ("strata", "noop-strata"):
            return [self.strata, "--database-url", url, "--out", self.folder] + (["-v"] if verbose else []) \
                + ["migrate"], None
        if tool in ("drizzle", "noop-drizzle"):
            return ["node", self.script, self.folder], dict(os.environ, DATABASE_URL=url)
        raise ValueError(tool)

    def run(self, tool: str, db: str, port: int | None = None, verbose: bool = False):
        cmd, env = self.cmd(tool, db, port, verbose)
        p = run(cmd, cwd=self.work, env=env, timeout=self.args.timeout)
        if p.rc != 0 or p.timed_out:
            raise BenchError(f"{tool} on {db} {'timed out' if p.timed_out else f'exited {p.rc}'}:\n{p.tail()}")
        inner = None
        if tool in ("drizzle", "noop-drizzle"):
            inner = json.loads(p.stdout.strip().splitlines()[-1])
        return p, inner


# --------------------------------------------------------------------------
# Measuring.
# --------------------------------------------------------------------------

def summarize(times: list[float]) -> dict:
    if not times:
        return {"median": None, "min": None, "max": None, "runs": []}
    return {"median": statistics.median(times), "min": min(times), "max": max(times), "runs": times}


def wait_for_quiet(max_load: float, wait_s: float) -> dict:
    """Waits (up to wait_s) until the 1-minute load average is at most max_load."""
    start, first = time.time(), os.getloadavg()
    while os.getloadavg()[0] > max_load and time.time() - start < wait_s:
        log(f"load average {os.getloadavg()[0]:.2f} > {max_load}: waiting"
            f" ({time.time() - start:.0f} of {wait_s:.0f} s)")
        time.sleep(15)
    now = os.getloadavg()
    if now[0] > max_load:
        log(f"load average still {now[0]:.2f} after {wait_s:.0f} s: going ahead (recorded in the results)")
    return {"loadavg_first_seen": first, "loadavg_at_start": now, "waited_s": round(time.time() - start, 1),
            "quiet": now[0] <= max_load}


def fresh(cluster: Cluster, db: str) -> None:
    cluster.create_db(db)
    cluster.sql("CHECKPOINT")


STAGE = re.compile(r"^\[\s*([\d.]+)s\] applying (\S+) \((\d+) of (\d+)\)")
APPLIED = re.compile(r"^applied (\S+) \((\d+) ms\)")


def strata_stages(stderr: str, wall: float) -> dict:
    """From `strata -v migrate`: when the first migration started (start-up,
    reading the folder, connecting, the lock, the tracking table), the time
    per migration in the loop, and the per-migration `applied … (ms)`."""
    starts = [float(m.group(1)) for m in map(STAGE.match, stderr.splitlines()) if m]
    ms = [int(m.group(2)) for m in map(APPLIED.match, stderr.splitlines()) if m]
    out = {"wall_s": wall, "migrations_seen": len(starts)}
    if starts:
        out["first_migration_at_s"] = starts[0]
        out["last_migration_at_s"] = starts[-1]
        if len(starts) > 1:
            out["loop_ms_per_migration"] = (starts[-1] - starts[0]) / (len(starts) - 1) * 1000
        out["after_last_start_s"] = wall - starts[-1]
    if ms:
        out["applied_ms_median"] = statistics.median(ms)
        out["applied_ms_max"] = max(ms)
        out["applied_ms_sum"] = sum(ms)
    out["lines"] = [line for line in stderr.splitlines() if not APPLIED.match(line) and not STAGE.match(line)][:20]
    return out


def measure(args, cluster: Cluster, tools: Tools, expect: dict, n: int) -> dict:
    order = ["floor", "floor-tracking", "floor-one-tx", "strata"] + ([] if args.skip_drizzle else ["drizzle"])
    noop_after = {"strata": ["noop-psql", "noop-strata"], "drizzle": ["noop-drizzle"]}
    times = {t: [] for t in order + [t for a in order for t in noop_after.get(a, [])]}
    cpu = {t: [] for t in times}
    rss = {t: [] for t in times}
    inner = {"drizzle": [], "noop-drizzle": []}
    inner_connect = {"drizzle": [], "noop-drizzle": []}
    inner_loaded = {"drizzle": [], "noop-drizzle": []}
    loads = []
    for r in range(-args.warmup, args.runs):
        timed = r >= 0
        label = f"run {r + 1}/{args.runs}" if timed else "warm-up"
        load_before = os.getloadavg()
        for tool in order:
            db = f"m_{tool.replace('-', '_')}"
            fresh(cluster, db)
            p, extra = tools.run(tool, db)
            verify(cluster, db, expect, n, tracked=tool != "floor")
            line = f"{label}: {tool} {p.seconds:.3f} s"
            if timed:
                times[tool].append(p.seconds)
                cpu[tool].append(p.cpu_s)
                rss[tool].append(p.maxrss_kb // 1024)
            if extra:
                line += f" (migrate() {extra['migrate_s']:.3f} s, start-up {extra['loaded_s']:.3f} s)"
                if timed:
                    inner[tool].append(extra["migrate_s"])
                    inner_connect[tool].append(extra["connect_s"])
                    inner_loaded[tool].append(extra["loaded_s"])
            for noop in noop_after.get(tool, []):
                cluster.sql("CHECKPOINT")
                q, extra = tools.run(noop, db)
                if noop == "noop-strata" and "Nothing to apply" not in q.stdout:
                    raise BenchError(f"strata's no-op run applied something: {q.tail()}")
                verify(cluster, db, expect, n, tracked=True)
                line += f"; {noop} {q.seconds:.3f} s"
                if timed:
                    times[noop].append(q.seconds)
                    cpu[noop].append(q.cpu_s)
                    rss[noop].append(q.maxrss_kb // 1024)
                if extra:
                    line += f" (migrate() {extra['migrate_s']:.3f} s)"
                    if timed:
                        inner[noop].append(extra["migrate_s"])
                        inner_connect[noop].append(extra["connect_s"])
                        inner_loaded[noop].append(extra["loaded_s"])
            log(line)
        if timed:
            loads.append({"run": r + 1, "before": load_before, "after": os.getloadavg()})
    out = {}
    for tool, ts in times.items():
        out[tool] = summarize(ts)
        out[tool]["cpu_s_median"] = statistics.median(cpu[tool]) if cpu[tool] else None
        out[tool]["peak_rss_mb"] = max(rss[tool]) if rss[tool] else None
    for tool in inner:
        if inner[tool]:
            out[f"{tool}-inner"] = summarize(inner[tool])
            out[f"{tool}-inner"]["connect_s_median"] = statistics.median(inner_connect[tool])
            out[f"{tool}-inner"]["startup_s_median"] = statistics.median(inner_loaded[tool])
    # Per run, (tool - floor of the same round) / N: less sensitive to load
    # that comes and goes than the difference of the medians.
    paired = {}
    for tool in times:
        if tool in order and tool != "floor" and len(times[tool]) == len(times["floor"]):
            diffs = [(t - f) / n * 1000 for t, f in zip(times[tool], times["floor"])]
            paired[tool] = {"median_ms": statistics.median(diffs), "runs_ms": diffs}
    return {"measurements": out, "paired_beyond_floor": paired, "loadavg_per_run": loads}


def counting(args, cluster: Cluster, tools: Tools, expect: dict, n: int) -> dict:
    """Untimed: every tool once through the wire-protocol proxy."""
    proxy = Proxy(cluster.port)
    out = {}
    try:
        # (tool, database): a no-op runs on the database its tool just migrated.
        plan = [("floor", "floor"), ("floor-tracking", "floor_tracking"), ("floor-one-tx", "floor_one_tx"),
                ("strata", "strata"), ("noop-strata", "strata")]
        if not args.skip_drizzle:
            plan += [("drizzle", "drizzle"), ("noop-drizzle", "drizzle")]
        for tool, name in plan:
            db = f"count_{name}"
            if not tool.startswith("noop"):
                fresh(cluster, db)
            proxy.reset()
            p, _ = tools.run(tool, db, port=proxy.port)
            summary = proxy.summary()
            verify(cluster, db, expect, n, tracked=tool != "floor")
            summary["seconds_through_proxy"] = p.seconds
            out[tool] = summary
            log(f"counting {tool}: {summary['round_trips']} round trips, {summary['statements']} statements"
                f" over {summary['connections']} connection(s)")
    finally:
        proxy.close()
    return out


def interop(args, cluster: Cluster, tools: Tools, expect: dict, n: int) -> dict:
    """strata on the database drizzle migrated, and drizzle on strata's."""
    checks = {}
    if args.skip_drizzle:
        return checks
    p, _ = tools.run("noop-strata", "m_drizzle")
    checks["strata on drizzle's database applies nothing"] = {
        "ok": f"Nothing to apply: {n} migration(s) already applied." in p.stdout, "output": p.tail(3)}
    verify(cluster, "m_drizzle", expect, n, tracked=True)
    tools.run("noop-drizzle", "m_strata")
    count, _ = tracking_state(cluster, "m_strata")
    checks["drizzle on strata's database applies nothing"] = {"ok": count == n, "tracking_rows": count}
    verify(cluster, "m_strata", expect, n, tracked=True)
    for name, c in checks.items():
        log(f"interop: {name}: {'ok' if c['ok'] else 'FAILED'}")
    return checks


# --------------------------------------------------------------------------
# Report.
# --------------------------------------------------------------------------

def fmt(x, digits=3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def overhead_ms(results: dict, tool: str, floor: str = "floor") -> float | None:
    m = results["measurements"]
    if m.get(tool, {}).get("median") is None or m.get(floor, {}).get("median") is None:
        return None
    return (m[tool]["median"] - m[floor]["median"]) / results["migrations"] * 1000


def markdown(results: dict) -> str:
    n = results["migrations"]
    env = results["environment"]
    m = results["measurements"]
    pg = env["postgres"]
    lines = [f"# migrate: {n:,} small migrations — {results['started']}", "",
             f"strata {env.get('strata_version')} (git {(env.get('git_commit') or '?')[:12]}"
             f"{', dirty tree' if env.get('git_dirty') else ''}); drizzle-orm {env.get('drizzle_orm')}, pg"
             f" {env.get('pg')}, node {env.get('node')}; {pg.get('server_version')} (fsync {pg.get('fsync')},"
             f" synchronous_commit {pg.get('synchronous_commit')}, shared_buffers {pg.get('shared_buffers')});"
             f" {env.get('cpus')} CPUs; 8 kB write + fdatasync {env.get('fdatasync_8k_us')} µs.",
             "",
             f"Load average (1/5/15 min) at start {fmt_load(results['load']['loadavg_at_start'])},"
             f" at the end {fmt_load(results.get('loadavg_end'))}"
             f"{'' if results['load']['quiet'] else ' (the machine was busy: the harness waited and went ahead)'};"
             f" per run: " + ", ".join(f"{fmt_load(x['before'])[:4]}→{fmt_load(x['after'])[:4]}"
                                       for x in results["loadavg_per_run"]) + ".",
             "",
             f"{results['runs']} timed runs of each (after {results['warmup']} untimed), seconds of wall clock of the whole"
             " process, median [min–max]; a fresh empty database and a CHECKPOINT before every run; every run"
             " verified. Beyond the floor = (median − floor median) ÷ N.",
             "",
             "| what | median s | min s | max s | ms per migration | beyond the floor, ms per migration |"
             " client CPU s | RT (proxy run) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    counts = results.get("counts", {})
    for tool, label in TOOLS.items():
        r = m.get(tool)
        if not r or r["median"] is None:
            continue
        ov = overhead_ms(results, tool) if tool != "floor" else None
        rt = counts.get(tool, {}).get("round_trips")
        lines.append(f"| {label} | {fmt(r['median'])} | {fmt(r['min'])} | {fmt(r['max'])} |"
                     f" {fmt(r['median'] / n * 1000, 2)} | {'–' if ov is None else f'{ov:+.2f}'} |"
                     f" {fmt(r['cpu_s_median'], 2)} | {'–' if rt is None else rt} |")
        if tool == "drizzle" and m.get("drizzle-inner"):
            i = m["drizzle-inner"]
            ov = (i["median"] - m["floor"]["median"]) / n * 1000
            lines.append(f"| drizzle-orm migrate() call alone (node start-up + imports {fmt(i['startup_s_median'])} s,"
                         f" connect {fmt(i['connect_s_median'])} s) | {fmt(i['median'])} | {fmt(i['min'])} |"
                         f" {fmt(i['max'])} | {fmt(i['median'] / n * 1000, 2)} | {ov:+.2f} | | |")
    lines += ["", "No-op (every migration applied already; the database the tool just migrated):", "",
              "| what | median s | min s | max s | client CPU s | RT (proxy run) |", "|---|---:|---:|---:|---:|---:|"]
    for tool, label in NOOP_TOOLS.items():
        r = m.get(tool)
        if not r or r["median"] is None:
            continue
        rt = counts.get(tool, {}).get("round_trips")
        lines.append(f"| {label} | {fmt(r['median'])} | {fmt(r['min'])} | {fmt(r['max'])} |"
                     f" {fmt(r['cpu_s_median'], 2)} | {'–' if rt is None else rt} |")
        if tool == "noop-drizzle" and m.get("noop-drizzle-inner"):
            i = m["noop-drizzle-inner"]
            lines.append(f"| drizzle-orm migrate() call alone | {fmt(i['median'])} | {fmt(i['min'])} |"
                         f" {fmt(i['max'])} | | |")
    ov = overhead_ms(results, "strata")
    ov_t = overhead_ms(results, "strata", "floor-tracking")
    lines += [""]
    if ov is not None:
        verdict = "meets" if ov < 2 else "does NOT meet"
        lines.append(f"**strata: {ov:+.2f} ms per migration beyond the SQL itself ({ov_t:+.2f} ms beyond the SQL"
                     f" plus its tracking rows): it {verdict} the target of < 2 ms.**")
        pair = results.get("paired_beyond_floor", {}).get("strata")
        if pair:
            lines.append(f"Paired (per round, strata − floor of the same round, ÷ N): median {pair['median_ms']:+.2f} ms;"
                         f" rounds: {', '.join(f'{d:+.2f}' for d in pair['runs_ms'])}.")
    dz = overhead_ms(results, "drizzle")
    if dz is not None:
        lines.append(f"drizzle-orm's migrator: {dz:+.2f} ms per migration beyond the floor (whole process;"
                     f" it applies everything in one transaction, so compare also with the one-transaction floor:"
                     f" {overhead_ms(results, 'drizzle', 'floor-one-tx'):+.2f} ms).")
    if counts:
        lines += ["", "Round trips (ReadyForQuery after start-up) and statements (CommandComplete), one untimed"
                  " run of each through run.py's proxy:", "",
                  "| what | RT | statements | RT per migration | connections | bytes to server |",
                  "|---|---:|---:|---:|---:|---:|"]
        for tool, c in counts.items():
            label = TOOLS.get(tool) or NOOP_TOOLS.get(tool, tool)
            if tool.startswith("noop"):
                label = "no-op: " + label
            lines.append(f"| {label} | {c['round_trips']} | {c['statements']} |"
                         f" {c['round_trips'] / n:.2f} | {c['connections']} | {c['bytes_to_server']:,} |")
    st = results.get("strata_stages")
    if st:
        lines += ["", f"strata -v (one untimed run, {fmt(st['wall_s'])} s): first migration started at"
                  f" {fmt(st.get('first_migration_at_s'), 2)} s (start-up, folder, connect, lock, tracking table),"
                  f" then {fmt(st.get('loop_ms_per_migration'), 2)} ms per migration in the loop; per-migration"
                  f" `applied … ms` median {st.get('applied_ms_median')}, max {st.get('applied_ms_max')}."]
    for name, c in results.get("interop", {}).items():
        lines.append(f"- interop: {name}: {'ok' if c['ok'] else 'FAILED'}")
    return "\n".join(lines) + "\n"


def fmt_load(x) -> str:
    return "–" if not x else "/".join(f"{v:.2f}" for v in x)


# --------------------------------------------------------------------------
# Main.
# --------------------------------------------------------------------------

def build_strata() -> Path:
    log("building strata (cargo build --release -p strata-cli)")
    run(["cargo", "build", "--release", "-p", "strata-cli"], cwd=REPO, check=True, timeout=3600)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return target / "release" / "strata"


def environment(cluster: Cluster, strata: Path) -> dict:
    def out(cmd, cwd=None):
        try:
            return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=60).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    def version(pkg):
        try:
            return json.loads((BENCH / "node_modules" / pkg / "package.json").read_text())["version"]
        except (OSError, ValueError, KeyError):
            return None
    return {
        "host": platform.node(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "node": out(["node", "--version"]),
        "drizzle_orm": version("drizzle-orm"),
        "pg": version("pg"),
        "strata_version": (out([strata, "--version"]) or "").removeprefix("strata "),
        "git_commit": out(["git", "rev-parse", "HEAD"], cwd=REPO),
        "git_dirty": bool(out(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO)),
        "postgres": cluster.settings(),
        "psql": out([cluster.tool("psql"), "--version"]),
        "startup_ms": {
            "node -e 0": startup_ms(["node", "-e", "0"]),
            "psql --version": startup_ms([cluster.tool("psql"), "--version"]),
            "strata --version": startup_ms([strata, "--version"]),
        },
        "fdatasync_8k_us": fdatasync_us(cluster.root),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--migrations", "-n", type=int, default=1000, help="migrations in the folder (default 1000)")
    ap.add_argument("--runs", "-r", type=int, default=5, help="timed runs per tool (default 5)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed runs of every tool first (default 1)")
    ap.add_argument("--strata", type=Path, help="use this strata binary instead of building one")
    ap.add_argument("--skip-drizzle", action="store_true", help="strata and the floors only")
    ap.add_argument("--skip-counting", action="store_true", help="no proxy runs, no strata -v run")
    ap.add_argument("--max-load", type=float, default=1.5, help="wait while the 1-min load average is above this")
    ap.add_argument("--wait-load", type=float, default=300, help="wait at most this many seconds for it (default 300)")
    ap.add_argument("--synchronous-commit", choices=["on", "off"], default="on",
                    help="the server's synchronous_commit (default on, stock): off takes the disk's flush per"
                         " commit out of every number, to see the tools' own cost on a machine whose disk is busy")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds before one command is killed")
    ap.add_argument("--pg-bindir", type=Path, default=Path(os.environ.get("PG_BINDIR", DEFAULT_PG_BINDIR)))
    ap.add_argument("--results", type=Path, default=BENCH / "results", help="folder for the results")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (migrations, floors, server log)")
    ap.add_argument("--report", type=Path, metavar="RESULTS.json", help="only print the tables of an earlier run")
    args = ap.parse_args()
    if args.report:
        print(markdown(json.loads(args.report.read_text())), end="")
        return 0

    def interrupted(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)

    if not args.skip_drizzle and not (BENCH / "node_modules" / "drizzle-orm").is_dir():
        log("installing drizzle-orm and pg (npm ci in bench/)")
        run(["npm", "ci", "--no-audit", "--no-fund"], cwd=BENCH, check=True, timeout=900)
    strata_src = (args.strata or build_strata()).resolve()
    if not os.access(strata_src, os.X_OK):
        raise SystemExit(f"no strata binary at {strata_src}")

    started = dt.datetime.now().astimezone()
    work = Path(tempfile.mkdtemp(prefix="strata-migrate-bench-"))
    os.chmod(work, 0o755)
    strata = work / "strata"
    shutil.copy2(strata_src, strata)  # a concurrent cargo build cannot swap it mid-run
    cluster = Cluster(work / "pg", args.pg_bindir, free_port())
    n = args.migrations
    results: dict = {"started": started.isoformat(timespec="seconds"), "migrations": n, "runs": args.runs,
                     "warmup": args.warmup, "args": {k: (str(v) if isinstance(v, Path) else v)
                                                     for k, v in vars(args).items()}}
    code = 0
    try:
        folder = work / "drizzle"
        migrations, expect = write_folder(folder, n)
        floors = write_floors(work, migrations)
        results["expect"] = expect
        results["statements"] = sum(m["statements"] for m in migrations)
        results["sql_bytes"] = sum(len(m["sql"].encode()) for m in migrations)
        log(f"{n} migrations ({results['statements']} statements) in {folder}: expect {expect}")
        (work / "pg").mkdir()
        cluster.start()
        if args.synchronous_commit != "on":
            cluster.sql(f"ALTER SYSTEM SET synchronous_commit = {args.synchronous_commit}")
            cluster.sql("SELECT pg_reload_conf()")
        env = environment(cluster, strata)
        env["strata_path"] = str(strata_src)
        results["environment"] = env
        tools = Tools(args, work, cluster, strata, folder, floors)
        results["load"] = wait_for_quiet(args.max_load, args.wait_load)
        log(f"load average {fmt_load(results['load']['loadavg_at_start'])}: measuring")
        results.update(measure(args, cluster, tools, expect, n))
        results["loadavg_end"] = os.getloadavg()
        if not args.skip_counting:
            fresh(cluster, "stages")
            p, _ = tools.run("strata", "stages", verbose=True)
            verify(cluster, "stages", expect, n, tracked=True)
            results["strata_stages"] = strata_stages(p.stderr, p.seconds)
            log(f"strata -v: {results['strata_stages'].get('first_migration_at_s')} s to the first migration,"
                f" {fmt(results['strata_stages'].get('loop_ms_per_migration'), 2)} ms per migration")
            results["counts"] = counting(args, cluster, tools, expect, n)
        results["interop"] = interop(args, cluster, tools, expect, n)
    except KeyboardInterrupt:
        log("interrupted: cleaning up")
        code = 130
    except BenchError as e:
        log(f"error: {e}")
        code = 1
    finally:
        kill_children()
        try:
            cluster.stop()
        except BaseException as e:  # noqa: BLE001 - best effort on the way out
            log(f"could not stop the cluster: {e}")
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    if "measurements" in results:
        results["finished"] = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        results["complete"] = code == 0
        args.results.mkdir(parents=True, exist_ok=True)
        path = args.results / f"migrate-{started.strftime('%Y%m%dT%H%M%S')}.json"
        path.write_text(json.dumps(results, indent=1) + "\n")
        md = markdown(results)
        path.with_suffix(".md").write_text(md)
        print(md, end="")
        log(f"results: {path} (and .md){'' if code == 0 else ' — INCOMPLETE'}")
    return code


if __name__ == "__main__":
    sys.exit(main())
