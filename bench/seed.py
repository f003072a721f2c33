#!/usr/bin/env python3
"""Seeding benchmark: 1,000,000 rows into research/perf-baseline.md's
users_bench table, three ways, in one run on one throwaway cluster:

  a. `strata seed --count N` (generates the rows and loads them with COPY);
  b. the floor: a plain `COPY … FROM` of the same rows with psql's \\copy
     from a CSV file (the rows strata made, exported once, untimed);
  c. drizzle-seed (npm, pinned in package.json): `seed(db, {usersBench},
     {count: N})`, timed as a whole process and around `seed()`.

Each run loads into a freshly created table after a CHECKPOINT; the methods
take turns (one run each per round), so a change in the machine's load falls
on all of them; medians of R runs (wall clock of the whole process). Usage, from the repository root:

    python3 bench/seed.py                      # N = 1,000,000, 3 runs each
    python3 bench/seed.py --rows 100000 --runs 1 --strata target/release/strata

Results go to bench/results/seed-<timestamp>.json (and .md). Uses run.py's
cluster and process helpers; standard library only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import (  # noqa: E402  (run.py is a sibling script)
    BENCH, DEFAULT_PG_BINDIR, REPO, BenchError, Cluster, free_port, kill_children, log, run,
)

TABLE_SQL = """
CREATE TABLE users_bench (
    id uuid PRIMARY KEY,
    email text NOT NULL UNIQUE,
    name text,
    created_at timestamptz NOT NULL,
    profile jsonb
);
"""

DRIZZLE_SCRIPT = """
import pg from "pg";
import { drizzle } from "drizzle-orm/node-postgres";
import { pgTable, uuid, text, timestamp, jsonb } from "drizzle-orm/pg-core";
import { seed } from "drizzle-seed";

const usersBench = pgTable("users_bench", {
  id: uuid("id").primaryKey(),
  email: text("email").notNull().unique(),
  name: text("name"),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull(),
  profile: jsonb("profile"),
});

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 1 });
const db = drizzle(pool);
const started = performance.now();
await seed(db, { usersBench }, { count: Number(process.env.ROWS), seed: 1 });
const seconds = (performance.now() - started) / 1000;
await pool.end();
console.log(JSON.stringify({ seed_seconds: seconds }));
"""


def summarize(times: list[float]) -> dict:
    return {"median": statistics.median(times), "min": min(times), "max": max(times), "runs": times}


def build_strata() -> Path:
    log("building strata (cargo build --release -p strata-cli)")
    run(["cargo", "build", "--release", "-p", "strata-cli"], cwd=REPO, check=True, timeout=3600)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return target / "release" / "strata"


def fresh_table(cluster: Cluster, db: str) -> None:
    cluster.sql("DROP TABLE IF EXISTS users_bench", db)
    cluster.sql(TABLE_SQL, db)
    cluster.sql("CHECKPOINT", db)


def count(cluster: Cluster, db: str) -> int:
    return int(cluster.sql("SELECT count(*) FROM users_bench", db))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--drizzle-runs", type=int, default=None, help="drizzle-seed runs [default: --runs]")
    parser.add_argument("--skip-drizzle", action="store_true")
    parser.add_argument("--strata", type=Path, help="use this strata binary instead of building one")
    parser.add_argument("--pg-bindir", type=Path, default=Path(DEFAULT_PG_BINDIR))
    parser.add_argument("--results", type=Path, default=BENCH / "results")
    args = parser.parse_args()
    drizzle_runs = args.runs if args.drizzle_runs is None else args.drizzle_runs

    strata_src = args.strata or build_strata()
    work = Path(tempfile.mkdtemp(prefix="strata-seed-bench-"))
    os.chmod(work, 0o755)
    strata = work / "strata"
    shutil.copy2(strata_src, strata)
    if not args.skip_drizzle and not (BENCH / "node_modules" / "drizzle-seed").is_dir():
        log("installing drizzle-seed (npm ci)")
        run(["npm", "ci", "--no-audit", "--no-fund"], cwd=BENCH, check=True, timeout=900)
    cluster = Cluster(work / "pg", args.pg_bindir, free_port())
    started = dt.datetime.now().astimezone()
    results: dict = {
        "started": started.isoformat(timespec="seconds"),
        "rows": args.rows,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "strata": run([strata, "--version"]).stdout.strip(),
        "results": {},
    }
    code = 0
    try:
        (work / "pg").mkdir()
        cluster.start()
        results["server"] = cluster.settings()
        db = "seed_bench"
        cluster.create_db(db)
        url = cluster.url(db)
        csv = work / "users_bench.csv"

        def strata_run() -> float:
            fresh_table(cluster, db)
            p = run([strata, "--database-url", url, "seed", "--count", args.rows, "--seed", "1"],
                    cwd=work, timeout=3600)
            if p.rc != 0:
                raise BenchError(f"strata seed failed: {p.tail()}")
            n = count(cluster, db)
            if n != args.rows:
                raise BenchError(f"strata seed stored {n} rows, not {args.rows}")
            results.setdefault("strata_rss_mb", []).append(p.maxrss_kb // 1024)
            results.setdefault("strata_cpu_s", []).append(round(p.cpu_s, 2))
            log(f"strata seed: {p.seconds:.2f} s (client CPU {p.cpu_s:.2f} s, peak RSS {p.maxrss_kb // 1024} MB)")
            return p.seconds

        def copy_run() -> float:
            fresh_table(cluster, db)
            p = run(cluster.psql_args(db) + ["-c", f"\\copy users_bench FROM '{csv}' (FORMAT csv)"], timeout=3600)
            if p.rc != 0:
                raise BenchError(f"psql \\copy failed: {p.tail()}")
            log(f"psql \\copy: {p.seconds:.2f} s")
            return p.seconds

        script = BENCH / ".seed-bench.mjs"

        def drizzle_run() -> tuple[float, float]:
            fresh_table(cluster, db)
            env = dict(os.environ, DATABASE_URL=url, ROWS=str(args.rows),
                       NODE_OPTIONS="--max-old-space-size=16384")
            p = run(["node", script], cwd=BENCH, env=env, timeout=7200)
            if p.rc != 0:
                raise BenchError(f"drizzle-seed failed: {p.tail()}")
            n = count(cluster, db)
            if n != args.rows:
                raise BenchError(f"drizzle-seed stored {n} rows, not {args.rows}")
            inner = json.loads(p.stdout.strip().splitlines()[-1])["seed_seconds"]
            results.setdefault("drizzle_rss_mb", []).append(p.maxrss_kb // 1024)
            log(f"drizzle-seed: {p.seconds:.2f} s (seed() {inner:.2f} s, peak RSS {p.maxrss_kb // 1024} MB)")
            return p.seconds, inner

        # The rows strata makes, as CSV, for the floor (untimed).
        strata_run()
        run(cluster.psql_args(db) + ["-c", f"\\copy users_bench TO '{csv}' (FORMAT csv)"], check=True, timeout=600)
        results["csv_bytes"] = csv.stat().st_size
        if not args.skip_drizzle:
            script.write_text(DRIZZLE_SCRIPT)
        # Rounds of one run each, interleaved, so that a change in the
        # machine's load falls on every method alike.
        times: dict[str, list[float]] = {"strata": [], "copy": [], "drizzle": [], "drizzle_inner": []}
        try:
            for i in range(max(args.runs, drizzle_runs)):
                log(f"round {i + 1}")
                if i < args.runs:
                    times["strata"].append(strata_run())
                    times["copy"].append(copy_run())
                if not args.skip_drizzle and i < drizzle_runs:
                    outer, inner = drizzle_run()
                    times["drizzle"].append(outer)
                    times["drizzle_inner"].append(inner)
        finally:
            script.unlink(missing_ok=True)
        results["results"]["strata seed"] = summarize(times["strata"])
        results["results"]["COPY (psql \\copy, CSV)"] = summarize(times["copy"])
        if times["drizzle"]:
            results["results"]["drizzle-seed 0.3.1"] = summarize(times["drizzle"])
            results["results"]["drizzle-seed 0.3.1, seed() only"] = summarize(times["drizzle_inner"])
    except BenchError as e:
        log(f"error: {e}")
        code = 1
    finally:
        kill_children()
        try:
            cluster.stop()
        except BaseException as e:  # noqa: BLE001 - best effort on the way out
            log(f"could not stop the cluster: {e}")
        shutil.rmtree(work, ignore_errors=True)

    if results["results"]:
        args.results.mkdir(parents=True, exist_ok=True)
        path = args.results / f"seed-{started.strftime('%Y%m%dT%H%M%S')}.json"
        path.write_text(json.dumps(results, indent=1) + "\n")
        md = markdown(results)
        path.with_suffix(".md").write_text(md)
        print(md)
        log(f"results: {path} (and .md)")
    return code


def markdown(results: dict) -> str:
    rows = results["rows"]
    floor = results["results"].get("COPY (psql \\copy, CSV)", {}).get("median")
    lines = [f"{rows:,} rows into users_bench (uuid PK, email UNIQUE, name, created_at, profile jsonb)", "",
             "| method | runs | median s | min s | max s | rows/s (median) | vs COPY |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, r in results["results"].items():
        vs = f"{floor / r['median']:.2f}× the speed" if floor else "–"
        lines.append(f"| {name} | {len(r['runs'])} | {r['median']:.2f} | {r['min']:.2f} | {r['max']:.2f} | "
                     f"{rows / r['median']:,.0f} | {vs} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
