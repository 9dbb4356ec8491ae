"""As-of replay latency: one programme with ~10k and ~100k events, SQLite and PostgreSQL.

Loads the synthetic demo with one programme scaled by its number of participants
(about 34 events per participant), catches up the timeline read model (which serves
as-of replay), then asks ``projections.asof.state_at`` for random log positions and
random moments (half each) and reports p50 / p99 / max latency, plus checkpoint count and sizes.
Then the progress funnel alone at the same moments from the running totals
(``projections.asof.progress_at``, issue 14: one seek plus at most TOTALS_EVERY rows),
and its ratio to the full fold (funnel / state); and, as the floor any query pays, one bare
``SELECT 1`` through the same connection pool. A second table splits the funnel by kind of
moment (position or time), with its CPU per query (mean and max: a query whose work
grows with the programme shows there, whatever the machine's load).

    .venv/bin/python benchmarks/asof.py                    # 10k and 100k, both stores
    .venv/bin/python benchmarks/asof.py --sizes 10000 --stores sqlite --queries 50
    # a store kept across runs (loading 1M events takes 12-40 min): the first run loads
    # it, the next ones with the same --store-dir only query; --no-state skips the fold
    .venv/bin/python benchmarks/asof.py --sizes 1000000 --stores sqlite --no-state \
        --store-dir /work/bench/asof1m

PostgreSQL: FRAMDRIFT_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test);
a fresh schema per run, dropped afterwards.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import uuid
from datetime import datetime
from pathlib import Path
from time import perf_counter, process_time

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.cli import migrate_all  # noqa: E402
from domain.application import Framdrift  # noqa: E402
from projections import asof  # noqa: E402
from projections.runner import catch_up  # noqa: E402

EVENTS_PER_PARTICIPANT = 34
PG_URL = os.environ.get("FRAMDRIFT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def load_programme(app: Framdrift, participants: int, batch: int) -> tuple[str, int]:
    """The demo's programme for ``participants``, written in transactions of ``batch``
    steps (one programme used to be one transaction: a 1M-event one could not be written,
    PostgreSQL ending the transaction while its links were computed); fresh batches, as
    ``load_demo`` writes them, in the order the steps happened."""
    from domain.context import acting_as, clock
    from domain.demo import DEFAULT_FIRST_DAY, _Plan

    start = app.max_position()
    plan = _Plan(app, 1, 0, DEFAULT_FIRST_DAY)
    pid, _people = plan.build(participants)
    steps = sorted(plan.steps)
    for at in range(0, len(steps), batch):
        with app.batch(fresh=True):
            for step in steps[at:at + batch]:
                with clock(lambda when=step.at: when), acting_as(step.actor):
                    step.run()
    return str(pid), app.max_position() - start


def run(url: str, size: int, queries: int, seed: int, batch: int = 5000,
        kept: Path | None = None, state: bool = True) -> dict[str, object]:
    """``kept``: a JSON file beside a store kept across runs (``--store-dir``): when it
    exists the store is loaded and caught up already, and only the queries run."""
    migrate_all(url)
    app = Framdrift.from_url(url)
    try:
        if kept is not None and kept.exists():
            meta = json.loads(kept.read_text())
            pid, events = meta["programme_id"], meta["events"]
            loaded, projected = meta["load_s"], meta["catch_up_s"]
            catch_up(app, ["timeline"])  # nothing to do unless the store moved on
        else:
            started = perf_counter()
            participants = max(2, size // EVENTS_PER_PARTICIPANT)
            pid, events = load_programme(app, participants, batch)
            loaded = perf_counter() - started
            started = perf_counter()
            catch_up(app, ["timeline"])
            projected = perf_counter() - started
            if kept is not None:
                kept.write_text(json.dumps({"programme_id": pid, "events": events,
                                            "load_s": loaded, "catch_up_s": projected}))
        bounds = asof.neighbours(app.sql, pid, 0)
        first, last = bounds["first"], bounds["last"]
        t0 = datetime.fromisoformat(first["time"]).timestamp()
        t1 = datetime.fromisoformat(last["time"]).timestamp()
        rng = random.Random(seed)
        times: list[float] = []
        funnel: list[float] = []
        cpus: list[float] = []
        api: list[float] = []
        trips: list[float] = []
        asof.state_at(app.sql, pid)  # warm the connection
        moments: list[dict[str, object]] = []
        for n in range(queries):
            if n % 2:
                moment = datetime.fromtimestamp(rng.uniform(t0, t1)).astimezone().isoformat()
                moments.append({"time": moment})
            else:
                moments.append({"position": rng.randint(first["position"], last["position"])})
        # each kind in a loop of its own: right after a full fold (hundreds of ms, a big
        # state to collect) the next query would pay for the fold's garbage
        for where in moments if state else ():
            started = perf_counter()
            asof.state_at(app.sql, pid, **where).progress()
            times.append(perf_counter() - started)
        gc.collect()
        for where in moments:
            cpu = process_time()  # the funnel's own CPU: the wall time also waits for cores
            started = perf_counter()
            asof.progress_at(app.sql, pid, **where)
            funnel.append(perf_counter() - started)
            cpus.append(process_time() - cpu)
        for where in moments:
            # what the API's /progress?as_of= and the replay page ask: consent applied
            started = perf_counter()
            asof.progress_moment(app.sql, pid, where.get("time") or where["position"])
            api.append(perf_counter() - started)
        for _where in moments:
            started = perf_counter()  # the baseline: one bare statement through the pool
            app.sql.query("SELECT 1 AS x")
            trips.append(perf_counter() - started)
        cps = app.sql.query(
            f"SELECT COUNT(*) AS n FROM {app.sql.table('pj_timeline_checkpoints')} "
            "WHERE programme_id = ?", (pid,))[0]["n"]
        # the funnel per kind of moment: a position, or a time (mapped to a position)
        kinds = {kind: [n for n, where in enumerate(moments) if kind in where]
                 for kind in ("position", "time")}
        by_kind = {kind: {
            "n": len(ns), "p50_ms": statistics.median(funnel[n] for n in ns) * 1000,
            "p99_ms": percentile([funnel[n] for n in ns], 0.99) * 1000,
            "max_ms": max(funnel[n] for n in ns) * 1000,
            "cpu_ms": statistics.mean(cpus[n] for n in ns) * 1000,
            "cpu_max_ms": max(cpus[n] for n in ns) * 1000,
            "a_p99_ms": percentile([api[n] for n in ns], 0.99) * 1000,
        } for kind, ns in kinds.items() if ns}
        times = times or [float("nan")]
        return {
            "events": events, "load_s": loaded, "catch_up_s": projected, "kinds": by_kind,
            "checkpoints": int(cps), "p50_ms": statistics.median(times) * 1000,
            "p99_ms": percentile(times, 0.99) * 1000, "max_ms": max(times) * 1000,
            "f_p50_ms": statistics.median(funnel) * 1000,
            "f_p99_ms": percentile(funnel, 0.99) * 1000, "f_max_ms": max(funnel) * 1000,
            "rt_p50_ms": statistics.median(trips) * 1000,
            "rt_p99_ms": percentile(trips, 0.99) * 1000, "f_cpu_ms": statistics.mean(cpus) * 1000,
            "a_p50_ms": statistics.median(api) * 1000, "a_p99_ms": percentile(api, 0.99) * 1000,
        }
    finally:
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batch", type=int, default=5000,
                        help="steps (about events) per load transaction")
    parser.add_argument("--store-dir", type=Path,
                        help="keep the stores here (SQLite files; on PostgreSQL a schema "
                        "asof_<size> kept in the database), each with a JSON file of its "
                        "programme: a second run with the same directory only queries")
    parser.add_argument("--no-state", action="store_true",
                        help="skip the full state's fold (2-4 s a query at 1M events)")
    args = parser.parse_args()
    kinds: list[str] = []
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}")
    print(f"load average {' / '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("| store | events | checkpoints | load s | catch-up s | p50 ms | p99 ms | max ms "
          "| funnel p50 ms | funnel p99 ms | funnel max ms | funnel / state p99 "
          "| with consent p50 ms | with consent p99 ms | SELECT 1 p50 ms | SELECT 1 p99 ms "
          "| funnel CPU ms/query | load average |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for store in args.stores.split(","):
        for size in args.sizes:
            opts = {"state": not args.no_state}
            if store == "sqlite" and args.store_dir:
                args.store_dir.mkdir(parents=True, exist_ok=True)
                r = run(f"sqlite:///{args.store_dir.resolve()}/asof-{size}.sqlite3", size,
                        args.queries, args.seed, args.batch,
                        kept=args.store_dir / f"asof-{size}.json", **opts)
            elif store == "sqlite":
                with tempfile.TemporaryDirectory() as tmp:
                    r = run(f"sqlite:///{tmp}/asof.sqlite3", size, args.queries, args.seed,
                            args.batch, **opts)
            else:
                import psycopg

                keep = args.store_dir is not None
                schema = f"asof_{size}" if keep else f"bench_{uuid.uuid4().hex[:12]}"
                sep = "&" if "?" in PG_URL else "?"
                try:
                    if keep:
                        args.store_dir.mkdir(parents=True, exist_ok=True)
                    r = run(f"{PG_URL}{sep}schema={schema}", size, args.queries, args.seed,
                            args.batch, kept=args.store_dir / f"asof-pg-{size}.json"
                            if keep else None, **opts)
                finally:
                    if not keep:
                        with psycopg.connect(PG_URL, autocommit=True) as conn:
                            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            print(f"| {store} | {r['events']:,} | {r['checkpoints']} | {r['load_s']:.1f} | "
                  f"{r['catch_up_s']:.1f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
                  f"{r['max_ms']:.1f} | {r['f_p50_ms']:.1f} | {r['f_p99_ms']:.1f} | "
                  f"{r['f_max_ms']:.1f} | {r['f_p99_ms'] / r['p99_ms']:.2f} | "
                  f"{r['a_p50_ms']:.1f} | {r['a_p99_ms']:.1f} | "
                  f"{r['rt_p50_ms']:.2f} | {r['rt_p99_ms']:.2f} | {r['f_cpu_ms']:.2f} | "
                  f"{' / '.join(f'{x:.1f}' for x in os.getloadavg())} |", flush=True)
            for kind, k in r["kinds"].items():
                kinds.append(
                    f"| {store} | {r['events']:,} | {kind} | {k['n']} | {k['p50_ms']:.1f} | "
                    f"{k['p99_ms']:.1f} | {k['max_ms']:.1f} | {k['cpu_ms']:.2f} | "
                    f"{k['cpu_max_ms']:.1f} | {k['a_p99_ms']:.1f} |")
    print("\nThe funnel (`progress_at`) per kind of moment (a time is mapped to a position):")
    print("| store | events | moment | queries | funnel p50 ms | funnel p99 ms | funnel max ms "
          "| CPU ms/query (mean) | CPU ms (max) | with consent p99 ms |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(kinds))


if __name__ == "__main__":
    main()
