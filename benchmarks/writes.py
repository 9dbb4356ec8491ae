"""The write path against the event store's own rate (issue 14, item 1).

In ONE run, on each store, interleaved rounds of:

- baseline: eventsourcing's own ``Application.save`` of a fresh one-event aggregate
  (the library's recorder, no encryption, no hash chain), from 1, 16 and 64 threads;
- framdrift: ``log_reflection`` as a participant's form post does it (request id,
  participant and programme checks, the text encrypted with the author's key, the
  event and its hash-chain link in one transaction), from the same thread counts;

saves per second and p99 latency, and the ratio framdrift / baseline (targets: >= 1.0 on
PostgreSQL from 16 threads, >= 0.7 on SQLite, p99 < 100 ms at 16 writers). Then
flatness: ``log_reflection`` in a programme of 1k and of 100k events (steady state, and
the first write of a process that has never loaded the programme), as a ratio.

    .venv/bin/python benchmarks/writes.py                       # both stores, 3 s cells
    .venv/bin/python benchmarks/writes.py --stores sqlite --threads 1,4 --seconds 0.5 \\
        --rounds 1 --flat-sizes 200,400

PostgreSQL: FRAMDRIFT_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test);
fresh schemas, dropped afterwards. The machine's load average is printed: on a shared
machine the ratios (measured side by side) mean more than the absolute rates.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from time import perf_counter
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eventsourcing.application import Application  # noqa: E402
from eventsourcing.domain import Aggregate, event  # noqa: E402

from api.cli import migrate_all  # noqa: E402
from domain.application import Framdrift  # noqa: E402
from domain.context import acting_as  # noqa: E402
from domain.store import parse_database_url  # noqa: E402

PG_URL = os.environ.get("FRAMDRIFT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
TEXT = "Vi provade att dela protokollen digitalt före mötet; det sparade en halvtimme. "


class Note(Aggregate):
    """The baseline's aggregate: one event with a text about as long as a reflection."""

    @event("Written")
    def __init__(self, text: str):
        self.text = text


class Baseline(Application[Any]):
    name = "Baseline"


# ------------------------------------------------------------------------ stores


@contextmanager
def stores(kind: str) -> Iterator[tuple[str, str]]:
    """(framdrift url, baseline url): two fresh stores of one kind."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/framdrift.sqlite3", f"sqlite:///{tmp}/baseline.sqlite3"
        return
    import psycopg

    schemas = [f"bench_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield tuple(f"{PG_URL}{sep}schema={s}" for s in schemas)  # type: ignore[misc]
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            for s in schemas:
                conn.execute(f'DROP SCHEMA IF EXISTS "{s}" CASCADE')


def baseline_app(url: str) -> Baseline:
    """The library with its own recorders, on the same database and pool settings."""
    config = parse_database_url(url)
    if config.is_postgres:
        import psycopg

        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{config.schema}"')
    env = dict(config.env)
    env.pop("POSTGRES_PRE_PING", None)  # the library's default (no ping)
    env["CREATE_TABLE"] = "y"
    if not config.is_postgres:
        env["PERSISTENCE_MODULE"] = "eventsourcing.sqlite"  # the library's own BEGIN
    return Baseline(env)


# ------------------------------------------------------------------------ timing


def timed(threads: int, seconds: float, op: Callable[[int, int], None]) -> dict[str, float]:
    """Run ``op(thread, i)`` from ``threads`` threads for ``seconds``; saves/s and p99."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []
    start = threading.Barrier(threads + 1)
    stop = [0.0]

    def work(t: int) -> None:
        mine = latencies[t]
        start.wait()
        i = 0
        while perf_counter() < stop[0]:
            began = perf_counter()
            try:
                op(t, i)
            except Exception as e:  # noqa: BLE001 - counted and reported
                errors.append(e)
            mine.append(perf_counter() - began)
            i += 1

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    stop[0] = perf_counter() + seconds
    began = perf_counter()
    start.wait()
    for w in workers:
        w.join()
    elapsed = perf_counter() - began
    every = sorted(x for lat in latencies for x in lat)
    done = len(every) - len(errors)
    if errors:
        print(f"  ! {len(errors)} errors, e.g. {errors[0]!r}", file=sys.stderr)
    p99 = every[min(len(every) - 1, int(0.99 * len(every)))] if every else float("nan")
    return {"rate": done / elapsed, "p99": p99 * 1000, "errors": len(errors)}


class Writers:
    """A programme with one participant per thread, and the two operations timed."""

    def __init__(self, app: Framdrift, base: Baseline, people: int):
        self.app, self.base = app, base
        with acting_as("researcher:bench"):
            self.programme = app.plan_programme(
                organisation="Bench", title="Writes", first_day=date(2026, 1, 5),
                units=[{"key": "u1", "name": "U1"}])
            self.people = [app.enrol_participant(
                self.programme, name=f"Person {n}", email=None, role="expert", unit="u1",
                consent=True) for n in range(people)]

    def framdrift(self, t: int, i: int) -> None:
        # A request id of its own for every call: ``i`` starts again at 0 in every timed
        # cell, and a repeated id is an idempotent retry (no write at all), not a save.
        self.app.log_reflection(self.people[t % len(self.people)], week=1,
                                example=f"{TEXT}{i}", request_id=uuid.uuid4().hex)

    def baseline(self, t: int, i: int) -> None:
        self.base.save(Note(text=f"{TEXT}{i}"))


def throughput(kind: str, threads: list[int], seconds: float, rounds: int) -> list[dict[str, Any]]:
    rows = []
    with stores(kind) as (url, base_url):
        migrate_all(url)
        app, base = Framdrift.from_url(url), baseline_app(base_url)
        try:
            w = Writers(app, base, max(threads))
            for _ in range(2):  # warm both (pools, caches, prepared statements)
                timed(2, min(seconds, 0.5), w.framdrift)
                timed(2, min(seconds, 0.5), w.baseline)
            for n in threads:
                # one unmeasured second at this thread count for each: every thread's
                # participant loaded, the pool grown, statements prepared on each connection
                timed(n, min(seconds, 1.0), w.baseline)
                timed(n, min(seconds, 1.0), w.framdrift)
                results: dict[str, list[dict[str, float]]] = {"baseline": [], "framdrift": []}
                for _ in range(rounds):  # interleaved: both see the same machine
                    results["baseline"].append(timed(n, seconds, w.baseline))
                    results["framdrift"].append(timed(n, seconds, w.framdrift))
                row: dict[str, Any] = {"store": kind, "threads": n}
                for path, runs in results.items():
                    row[path] = statistics.median(r["rate"] for r in runs)
                    row[f"{path}_p99"] = statistics.median(r["p99"] for r in runs)
                    row[f"{path}_errors"] = sum(r["errors"] for r in runs)
                row["ratio"] = row["framdrift"] / row["baseline"]
                rows.append(row)
                print(f"  {kind} {n:>2} threads: baseline {row['baseline']:.0f}/s, "
                      f"framdrift {row['framdrift']:.0f}/s ({row['ratio']:.2f}x)", flush=True)
            report = app.chain.verify()
            print(f"  {kind}: chain {'verifies' if report.ok else 'FAILS: ' + report.reason} "
                  f"({report.events} events)", flush=True)
        finally:
            app.close()
            base.close()
    return rows


def flatness(kind: str, sizes: list[int], seconds: float, threads: int) -> list[dict[str, Any]]:
    """log_reflection in programmes of each size (events of the programme aggregate)."""
    rows = []
    with stores(kind) as (url, _):
        migrate_all(url)
        app = Framdrift.from_url(url)
        try:
            made = []
            for size in sizes:
                w = Writers(app, None, threads)  # type: ignore[arg-type]
                have = app.get_programme(w.programme)["version"]
                while have < size:  # batches of 5k (one transaction each)
                    step = min(5000, size - have)
                    with acting_as("researcher:bench"), app.batch():
                        for _ in range(step):
                            app.hold_check_in(w.programme, week=1, held_on=date(2026, 1, 6))
                    have += step
                made.append((size, w))
            for _size, w in made:
                fresh = Framdrift.from_url(url)  # a process that never loaded it
                try:
                    began = perf_counter()
                    fresh.log_reflection(w.people[0], week=1, example=TEXT)
                    cold = (perf_counter() - began) * 1000
                finally:
                    fresh.close()
                timed(threads, min(seconds, 0.5), w.framdrift)  # warm
                steady = timed(threads, seconds, w.framdrift)
                rows.append({"store": kind, "size": app.get_programme(w.programme)["version"],
                             "cold_ms": cold, "rate": steady["rate"], "p99": steady["p99"]})
                print(f"  {kind} programme of {rows[-1]['size']:,} events: first write "
                      f"{cold:.0f} ms, {steady['rate']:.0f}/s", flush=True)
        finally:
            app.close()
    return rows


def load_average() -> str:
    try:
        return " / ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", default="postgres,sqlite")
    parser.add_argument("--threads", default="1,16,64", help="'' for flatness only")
    parser.add_argument("--seconds", type=float, default=3.0, help="per cell and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--flat-sizes", default="1000,100000")
    parser.add_argument("--flat-threads", type=int, default=16)
    args = parser.parse_args()
    threads = [int(n) for n in args.threads.split(",") if n]
    kinds = args.stores.split(",")
    print(f"Write path vs eventsourcing's Application.save (Python {platform.python_version()}, "
          f"{os.cpu_count()} cores, load average {load_average()})", flush=True)
    rows = [r for kind in kinds if threads
            for r in throughput(kind, threads, args.seconds, args.rounds)]
    sizes = [int(s) for s in args.flat_sizes.split(",") if s]
    flat = [r for kind in kinds for r in flatness(kind, sizes, args.seconds, args.flat_threads)]
    print(f"\nload average after: {load_average()}")
    print("\n| store | threads | baseline saves/s | p99 ms | log_reflection saves/s | p99 ms "
          "| ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['store']} | {r['threads']} | {r['baseline']:.0f} | "
              f"{r['baseline_p99']:.1f} | {r['framdrift']:.0f} | {r['framdrift_p99']:.1f} | "
              f"{r['ratio']:.2f} |")
    if flat:
        print(f"\n| store | programme events | first write ms | log_reflection saves/s "
              f"({args.flat_threads} threads) | p99 ms | rate vs smallest |")
        print("|---|---:|---:|---:|---:|---:|")
        for r in flat:
            first = next(f for f in flat if f["store"] == r["store"])
            print(f"| {r['store']} | {r['size']:,} | {r['cold_ms']:.0f} | {r['rate']:.0f} | "
                  f"{r['p99']:.1f} | {r['rate'] / first['rate']:.2f} |")


if __name__ == "__main__":
    main()
