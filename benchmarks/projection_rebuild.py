"""Benchmark: rebuilding all projections against the raw read-and-decode rate.

Loads the synthetic demo scaled to >= 200,000 events into a fresh SQLite file and a
fresh PostgreSQL schema, then on each store measures

  (a) raw: iterate all notifications and decode them with ``app.mapper`` (events/s);
  (b) rebuild: ``projections.runner.rebuild`` of all projections (events/s);

and prints the ratio rebuild / raw (target >= 0.5). For comparison it also measures
(c) the rebuild's own reader alone: the same notifications read and decoded by
``projections.runner.FastDecoder`` with the sealed mapper (personal data not
decrypted), which is cheaper than (a); rebuild / (c) shows what the projections
themselves cost on top of reading. With ``--repeat N`` (a), (b) and (c) are measured N
times back to back on the same loaded store and the medians are reported (ratios are
medians of the per-round ratios).

    .venv/bin/python benchmarks/projection_rebuild.py [--programmes 175] [--only sqlite]
        [--repeat 3] [--workers 1|2]

``--url URL`` (repeatable) measures an existing, already loaded store instead (nothing
is loaded; the rebuild replaces its read models, so use a copy): e.g. a 1M-event store
prepared once with ``framdrift demo --programmes 850``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.cli import migrate_all  # noqa: E402
from domain.application import Framdrift  # noqa: E402
from domain.demo import load_demo  # noqa: E402
from projections.runner import (  # noqa: E402
    FastDecoder,
    RebuildResult,
    rebuild,
    sealed_mapper,
)

PG_BASE = os.environ.get("FRAMDRIFT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def prepare(url: str, programmes: int | None) -> Framdrift:
    """Migrate ``url`` and load the demo into it; ``programmes=None``: open it as it is."""
    if programmes is None:
        app = Framdrift.from_url(url)
        print(f"  existing store: {app.max_position():,} events (nothing loaded)", flush=True)
        return app
    migrate_all(url)
    app = Framdrift.from_url(url)
    started = time.perf_counter()
    result = load_demo(app, programmes=programmes)
    print(f"  loaded {result.events} events in {time.perf_counter() - started:.1f} s",
          flush=True)
    return app


def raw_rate(app: Framdrift, page: int = 5000) -> tuple[int, float]:
    started = time.perf_counter()
    count, after = 0, 0
    to_event = app.mapper.to_domain_event
    while True:
        notifications = app.recorder.select_notifications(
            start=after, limit=page, inclusive_of_start=False)
        if not notifications:
            break
        for n in notifications:
            to_event(n)
        count += len(notifications)
        after = notifications[-1].id
    return count, time.perf_counter() - started


def cpu_seconds() -> float:
    """CPU time of this process and its waited-for children (the rebuild's parts): less
    sensitive than wall time to the other sessions on this machine (PostgreSQL's server
    processes are not counted, for the reader or the rebuild)."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def reader_rate(app: Framdrift, page: int = 10000) -> tuple[int, float]:
    """What a rebuild process reads: FastDecoder rows, decoded with the sealed mapper."""
    started = time.perf_counter()
    decoder = FastDecoder(app, sealed_mapper(app))
    count, after = 0, 0
    while True:
        rows = decoder.select(after, page)
        if not rows:
            break
        for row in rows:
            decoder.event(row)
        count += len(rows)
        after = rows[-1][0]
    return count, time.perf_counter() - started


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


class PeakMemory:
    """The peak of the summed resident memory of this process and all its descendants
    (the rebuild's part processes), sampled from /proc every 0.1 s (issue 14: "peak
    memory of all processes together")."""

    def __init__(self) -> None:
        import threading

        self.peak = 0
        self.children = 0  # the descendants alone (with --cli: all of the rebuild's processes)
        self.own = 0  # this process alone (the driver: in ``framdrift projections rebuild``
        # the parent is a fresh process, here it also holds the benchmark's app)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _tree_rss() -> tuple[int, int]:
        children: dict[int, list[int]] = {}
        rss: dict[int, int] = {}
        page = os.sysconf("SC_PAGE_SIZE")
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(entry))
                rss[int(entry)] = int(fields[21]) * page
            except (OSError, IndexError, ValueError):
                continue
        total, todo = 0, [os.getpid()]
        while todo:
            pid = todo.pop()
            total += rss.get(pid, 0)
            todo.extend(children.get(pid, []))
        return total, rss.get(os.getpid(), 0)

    def _sample(self) -> None:
        total, own = self._tree_rss()
        self.peak = max(self.peak, total)
        self.own = max(self.own, own)
        self.children = max(self.children, total - own)

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self._sample()

    def __enter__(self) -> PeakMemory:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def cli_rebuild(url: str, events: int, workers: int | None) -> RebuildResult:
    """``framdrift projections rebuild`` in a fresh process (what an operator runs: its
    parent holds nothing of this benchmark's own reading)."""
    import subprocess

    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, FRAMDRIFT_DATABASE_URL=url, PYTHONPATH=root)
    args = [sys.executable, "-c", "from api.cli import main; main()", "projections", "rebuild"]
    if workers:
        args += ["--workers", str(workers)]
    started = time.perf_counter()
    subprocess.run(args, cwd=root, env=env, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    return RebuildResult([], events, seconds, events, "framdrift projections rebuild")


def measure(store: str, url: str, programmes: int | None, repeat: int = 1,
            workers: int | None = None, raw: bool = True, cli: bool = False) -> dict:
    """Per round: (a) raw, then the reader (c) before and after the rebuild (b): the
    rebuild is compared with the mean of the two, which brackets it in time (the load
    of this shared machine drifts within minutes)."""
    print(f"{store}: {url}", flush=True)
    app = prepare(url, programmes)
    rounds = []
    nan = float("nan")
    try:
        for _ in range(repeat):
            app.keys.forget_cache()
            events, raw_s = (raw_rate(app) if raw else (app.max_position(), nan))
            if raw:
                print(f"  raw read+decode: {events} events in {raw_s:.2f} s = "
                      f"{events / raw_s:,.0f} ev/s", flush=True)
            cpu = cpu_seconds()
            read, before_s = reader_rate(app)
            reader_cpu = cpu_seconds() - cpu
            if read != events:
                raise SystemExit(f"the reader read {read} events, the raw pass {events}")
            print(f"  rebuild's reader alone (before): {read} events in {before_s:.2f} s = "
                  f"{read / before_s:,.0f} ev/s (load average {load()})", flush=True)
            cpu = cpu_seconds()
            with PeakMemory() as memory:
                result = (cli_rebuild(url, events, workers) if cli else
                          rebuild(app, workers=workers))
            rebuild_cpu = cpu_seconds() - cpu
            peak = memory.children if cli else memory.peak
            if cli:
                print(f"  framdrift projections rebuild: peak memory of its processes "
                      f"{peak / 2**20:,.0f} MiB (with this benchmark's own process "
                      f"{memory.peak / 2**20:,.0f} MiB)", flush=True)
            print(f"  CPU seconds (all processes but PostgreSQL's): reader {reader_cpu:.1f}, "
                  f"rebuild {rebuild_cpu:.1f}; reader / rebuild = "
                  f"{reader_cpu / rebuild_cpu:.2f}", flush=True)
            print(f"  rebuild: {result.events} events in {result.seconds:.2f} s = "
                  f"{result.rate:,.0f} ev/s; peak memory of all processes "
                  f"{memory.peak / 2**20:,.0f} MiB (this process {memory.own / 2**20:,.0f} MiB)",
                  flush=True)
            ratio = result.rate / (events / raw_s)
            if raw:
                print(f"  ratio rebuild/raw = {ratio:.2f} (load average {load()})", flush=True)
            read, after_s = reader_rate(app)
            reader = (read / before_s + read / after_s) / 2
            print(f"  rebuild's reader alone (after): {read} events in {after_s:.2f} s = "
                  f"{read / after_s:,.0f} ev/s; rebuild/reader = {result.rate / reader:.2f} "
                  f"(load average {load()})", flush=True)
            rounds.append((events / raw_s, result.rate, ratio, reader,
                           result.rate / reader, peak / 2**20))
        return {"store": store, "events": events,
                "raw": statistics.median(r[0] for r in rounds),
                "rebuild": statistics.median(r[1] for r in rounds),
                "ratio": statistics.median(r[2] for r in rounds), "rounds": len(rounds),
                "reader": statistics.median(r[3] for r in rounds),
                "reader_ratio": statistics.median(r[4] for r in rounds),
                "per_round": ", ".join(f"{r[4]:.2f}" for r in rounds),
                "peak_mib": max(r[5] for r in rounds)}
    finally:
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--programmes", type=int, default=175)
    parser.add_argument("--only", "--store", choices=["sqlite", "postgres"], default=None)
    parser.add_argument("--repeat", type=int, default=1,
                        help="measure raw + rebuild this many times; report medians")
    parser.add_argument("--workers", type=int, default=None,
                        help="rebuild processes (default: projections.runner.rebuild_workers)")
    parser.add_argument("--url", action="append", default=[],
                        help="measure this existing store (no load; its read models are "
                             "rebuilt: use a copy); may be given once per store")
    parser.add_argument("--cli", action="store_true",
                        help="rebuild with `framdrift projections rebuild` in a fresh process "
                             "(only with --url)")
    parser.add_argument("--no-raw", action="store_true",
                        help="skip (a), the raw pass with eventsourcing's mapper (slow at 1M)")
    args = parser.parse_args()
    import logging  # the rebuild's "parts N s, swap M s" line

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("  %(message)s"))
    logging.getLogger("framdrift.projections").addHandler(handler)
    logging.getLogger("framdrift.projections").setLevel(logging.DEBUG)
    results = []
    if args.url:
        for url in args.url:
            store = "PostgreSQL" if url.startswith("postgres") else "SQLite"
            results.append(measure(store, url, None, args.repeat, args.workers, not args.no_raw,
                                   args.cli))
        report(results)
        return
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "sqlite"):
            results.append(measure("SQLite", f"sqlite:///{tmp}/bench.sqlite3", args.programmes,
                                   args.repeat, args.workers, not args.no_raw))
    if args.only in (None, "postgres"):
        import psycopg

        schema = f"bench_{uuid.uuid4().hex[:10]}"
        try:
            results.append(measure("PostgreSQL", f"{PG_BASE}?schema={schema}", args.programmes,
                                   args.repeat, args.workers, not args.no_raw))
        finally:
            with psycopg.connect(PG_BASE, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    report(results)


def report(results: list[dict]) -> None:
    print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"load average after the runs: {load()}")
    for r in results:  # the headline (issue 14): the rebuild against its own reader
        print(f"{r['store']}: rebuild / its own reader = {r['reader_ratio']:.2f}, peak memory "
              f"of all processes {r['peak_mib']:,.0f} MiB, {r['events']:,} events")
    print("| store | events | raw read+decode ev/s | rebuild ev/s | ratio | per-round ratios "
          "| rebuild's reader alone ev/s | rebuild / reader | peak MiB |")
    print("(per-round ratios: rebuild / reader; the reader is the mean of its runs just "
          "before and just after each rebuild)")
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|")
    for r in results:
        print(f"| {r['store']} | {r['events']:,} | {r['raw']:,.0f} | {r['rebuild']:,.0f} | "
              f"{r['ratio']:.2f} | {r['per_round']} | {r['reader']:,.0f} | "
              f"{r['reader_ratio']:.2f} | {r['peak_mib']:,.0f} |")


if __name__ == "__main__":
    main()
