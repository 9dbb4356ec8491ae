"""CPU per evaluator read in the web process (issue 14 item 2).

Through gunicorn the server is CPU-bound (docs/performance.md), so the p99 of 16
evaluators on ``/progress`` follows the worker's CPU per request. This measures that CPU
without HTTP or threads: the Flask app in this process (its test client), a warm
process (pool, prepared statements, the token and the programmes' names cached, as
every request but a worker's first finds them), requests one after another, round-robin
over the programmes. Per request: this process's CPU (``time.process_time``: Flask,
flask-smorest, the token check, the read, the driver, the JSON; not the database
server) and the wall time, for ``/healthz`` (no database: the floor), ``/progress``,
``/progress`` answered 304 (``If-None-Match``), ``/progress computed`` (the answers kept
under their ETags, ADR 0026, forgotten before each request: the whole answer computed)
and the timeline's first page.

``--compare-root DIR`` measures another tree the same way (a ``git worktree`` of main),
each round in a fresh process per tree, the trees alternating (which goes first
alternates too), and prints the ratio this tree / that tree: the baseline measured in
the same run. ``--profile N`` instead profiles N requests of each endpoint in this tree
with cProfile on CPU time (``time.process_time`` as its timer: a profile on wall time
counts the waits for PostgreSQL) and prints the top functions.

    .venv/bin/python benchmarks/api_cpu.py [--requests 1000] [--rounds 3] \\
        [--endpoints /progress,/progress 304] [--compare-root DIR] [--profile 2000]

PostgreSQL only (the compose set-up): FRAMDRIFT_TEST_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/test); a fresh schema per process, dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

from children import load_average, run_child

HERE = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("FRAMDRIFT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
ENDPOINTS = {
    "/healthz": "/healthz",
    "/progress": "/api/v1/programmes/{pid}/progress",
    "/progress 304": "/api/v1/programmes/{pid}/progress",
    "/progress computed": "/api/v1/programmes/{pid}/progress",
    "/timeline": "/api/v1/programmes/{pid}/timeline",
}


class Bench:
    """A fresh schema with ``programmes`` demo programmes, the read models caught up, an
    evaluator token and the app (imports from the tree on PYTHONPATH)."""

    def __init__(self, programmes: int):
        from api.app import create_app
        from api.cli import migrate_all
        from domain.accounts import issue_token
        from domain.application import Framdrift
        from domain.demo import load_demo
        from projections import runner

        self.schema = f"api_cpu_{uuid.uuid4().hex[:12]}"
        url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}schema={self.schema}"
        migrate_all(url)
        self.app = Framdrift.from_url(url)
        self.ids = [str(p) for p in load_demo(self.app, programmes=programmes).programme_ids]
        token, _ = issue_token(self.app, role="evaluator", label="api_cpu")
        runner.catch_up(self.app)
        self.flask = create_app({"TESTING": False, "FRAMDRIFT": self.app, "SECRET_KEY": "b",
                                 "DATABASE_URL": url})
        self.client = self.flask.test_client()
        self.auth = {"Authorization": f"Bearer {token}"}
        self.etags = {pid: self.get("/progress", pid).headers["ETag"] for pid in self.ids}

    def get(self, name: str, pid: str) -> Any:
        headers = dict(self.auth) if name != "/healthz" else {}  # a token only under /api/v1
        if name.endswith("computed"):  # not the answer kept under its ETag (ADR 0026)
            self.flask.extensions.pop("framdrift_answers", None)
        if name.endswith("304"):
            headers["If-None-Match"] = self.etags[pid]
        response = self.client.get(ENDPOINTS[name].format(pid=pid), headers=headers)
        response.get_data()
        expected = 304 if name.endswith("304") else 200
        if response.status_code != expected:
            raise RuntimeError(f"{name} answered {response.status_code}")
        return response

    def run(self, name: str, requests: int) -> None:
        for n in range(requests):
            self.get(name, self.ids[n % len(self.ids)])

    def close(self) -> None:
        import psycopg

        self.app.close()
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')


def measure(endpoints: list[str], requests: int, programmes: int) -> dict[str, Any]:
    bench = Bench(programmes)
    try:
        for name in endpoints:  # warm: every programme's names, the pool, prepares
            bench.run(name, max(50, 4 * len(bench.ids)))
        out = {}
        for name in endpoints:
            cpu0, wall0 = time.process_time(), time.perf_counter()
            bench.run(name, requests)
            out[name] = {"cpu_ms": (time.process_time() - cpu0) * 1000 / requests,
                         "wall_ms": (time.perf_counter() - wall0) * 1000 / requests}
        return out
    finally:
        bench.close()


def profile(endpoints: list[str], requests: int, programmes: int, top: int,
            timer: str) -> None:
    import cProfile
    import pstats

    bench = Bench(programmes)
    try:
        for name in endpoints:
            bench.run(name, max(50, 4 * len(bench.ids)))
            profiler = cProfile.Profile(time.process_time if timer == "cpu" else
                                        time.perf_counter)
            profiler.enable()
            bench.run(name, requests)
            profiler.disable()
            stats = pstats.Stats(profiler)
            print(f"\n=== {name}: {requests} requests, seconds "
                  f"({timer}) {stats.total_tt:.3f} under the profiler ===")
            stats.sort_stats("tottime").print_stats(top)
            stats.sort_stats("cumulative").print_stats(top)
    finally:
        bench.close()


def _child(root: Path, args: Any) -> dict[str, Any]:
    return run_child(__file__, root, ["--endpoints", args.endpoints, "--requests",
                                      str(args.requests), "--programmes", str(args.programmes)],
                     timeout=1800)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS))
    parser.add_argument("--requests", type=int, default=1000, help="timed, per endpoint")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--programmes", type=int, default=4)
    parser.add_argument("--compare-root", default="", help="another tree: the baseline")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="profile N requests per endpoint (this tree) instead")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--timer", choices=("cpu", "wall"), default="cpu",
                        help="the profiler's clock: process_time (default; a syscall per "
                        "call, so calls are overcounted) or perf_counter (cheaper; counts "
                        "the waits for PostgreSQL in psycopg's wait)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    endpoints = [e for e in args.endpoints.split(",") if e]
    unknown = set(endpoints) - set(ENDPOINTS)
    if unknown:
        parser.error(f"unknown endpoints {sorted(unknown)}; known: {list(ENDPOINTS)}")
    if args.child:
        print(json.dumps(measure(endpoints, args.requests, args.programmes)))
        return
    if args.profile:
        profile(endpoints, args.profile, args.programmes, args.top, args.timer)
        return
    trees = [("this tree", HERE)]
    if args.compare_root:
        trees.append(("baseline", Path(args.compare_root).resolve()))
    print(f"API CPU per request (PostgreSQL); {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, load average {load_average()}; "
          f"{args.requests} requests per endpoint and round, {args.rounds} rounds (medians), "
          f"{args.programmes} programmes; trees: "
          + ", ".join(f"{name} = {root}" for name, root in trees), flush=True)
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    for r in range(args.rounds):
        for name, root in (trees if r % 2 == 0 else trees[::-1]):
            la = os.getloadavg()[0]
            res = _child(root, args)
            for endpoint, figures in res.items():
                results.setdefault((endpoint, name), []).append(figures)
            print(f"  round {r + 1}, {name} (load {la:.1f}): " + "; ".join(
                f"{e} {f['cpu_ms']:.2f} ms CPU ({f['wall_ms']:.2f} wall)"
                for e, f in res.items()), flush=True)
    print(f"\nload average at the end: {load_average()}")
    print("\n| endpoint | tree | CPU ms / request | wall ms / request |")
    print("|---|---|---:|---:|")
    med = {key: {k: statistics.median(x[k] for x in rows) for k in ("cpu_ms", "wall_ms")}
           for key, rows in results.items()}
    for endpoint in endpoints:
        for name, _root in trees:
            m = med[(endpoint, name)]
            print(f"| {endpoint} | {name} | {m['cpu_ms']:.3f} | {m['wall_ms']:.3f} |")
    if len(trees) > 1:
        print("ratio line: this tree / baseline CPU per request = " + ", ".join(
            f"{e} {med[(e, 'this tree')]['cpu_ms'] / med[(e, 'baseline')]['cpu_ms']:.2f}"
            for e in endpoints))


if __name__ == "__main__":
    main()
