"""Benchmark: evaluator reads on a small store vs a big store (issue 14, item 2).

Builds two stores with the synthetic demo generator (``load_demo``; ~1,200 events per
programme), a small one (``--small`` programmes, 8 ~ 10k events) and a big one
(``--big`` programmes; 850 ~ 1M events, as the issue asks; load time grows with it, so
the size is a flag), catches up the read models, then asks the JSON API, through the WSGI
app in this process, from ``--clients`` concurrent clients (threads, each its own client):

  /programmes (the first page), /programmes/{id}, /programmes/{id}/progress,
  /programmes/{id}/timeline (the first page), and /progress with a current If-None-Match
  (304)

each for a random programme of the store, the two stores in alternating rounds. It prints
req/s, p50 / p99 / max latency per store and the ratio big / small of the request rates
(the baseline is the small store, measured in the same run; target: within +-20%, and p99
< 100 ms for /progress). Stores are kept in ``--store-dir`` (SQLite files) and in fixed
PostgreSQL schemas, and reused by the next run (loading is resumable).

    .venv/bin/python benchmarks/evaluator_reads.py [--small 8] [--big 170]
        [--stores sqlite,postgres] [--clients 16] [--requests 400] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.app import create_app  # noqa: E402
from api.cli import migrate_all  # noqa: E402
from domain.accounts import issue_token  # noqa: E402
from domain.application import Framdrift  # noqa: E402
from domain.demo import load_demo  # noqa: E402
from projections import runner  # noqa: E402

PG_BASE = os.environ.get("FRAMDRIFT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")

ENDPOINTS = {
    "/programmes": "/api/v1/programmes",
    "/programmes/{id}": "/api/v1/programmes/{pid}",
    "/progress": "/api/v1/programmes/{pid}/progress",
    "/timeline": "/api/v1/programmes/{pid}/timeline",
    "/progress 304": "/api/v1/programmes/{pid}/progress",
}


class Store:
    """A loaded store, its read models caught up, a WSGI app and an evaluator token."""

    def __init__(self, url: str, programmes: int):
        migrate_all(url)
        self.app = Framdrift.from_url(url)
        started = time.perf_counter()
        before = self.app.max_position()
        result = load_demo(self.app, programmes=programmes)
        self.events = self.app.max_position()
        print(f"  {url.split('?')[0] if 'sqlite' not in url else url}: {programmes} programmes, "
              f"{self.events:,} events ({self.events - before:,} loaded in "
              f"{time.perf_counter() - started:.0f} s)", flush=True)
        started = time.perf_counter()
        runner.catch_up(self.app)
        print(f"  read models caught up in {time.perf_counter() - started:.0f} s", flush=True)
        self.ids = [str(p) for p in result.programme_ids]
        self.token, _ = issue_token(self.app, role="evaluator", label="benchmark")
        runner.catch_up(self.app)
        self.flask = create_app({"TESTING": False, "FRAMDRIFT": self.app, "SECRET_KEY": "b",
                                 "DATABASE_URL": url})
        self.etags: dict[str, str] = {}

    def close(self) -> None:
        self.app.close()


def hammer(store: Store, name: str, clients: int, requests: int, seed: int) -> dict[str, Any]:
    """``requests`` GETs of one endpoint from ``clients`` threads; latencies in ms."""
    path = ENDPOINTS[name]
    conditional = name.endswith("304")
    per_client = max(1, requests // clients)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    headers = {"Authorization": f"Bearer {store.token}"}
    if conditional:  # every programme's current ETag, fetched once
        client = store.flask.test_client()
        for pid in store.ids:
            if pid not in store.etags:
                store.etags[pid] = client.get(path.format(pid=pid), headers=headers
                                              ).headers["ETag"]

    def work(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        client = store.flask.test_client()
        mine, codes = [], {}
        barrier.wait()
        for _ in range(per_client):
            pid = rng.choice(store.ids)
            extra = {"If-None-Match": store.etags[pid]} if conditional else {}
            started = time.perf_counter()
            response = client.get(path.format(pid=pid), headers={**headers, **extra})
            response.get_data()
            mine.append((time.perf_counter() - started) * 1000)
            codes[response.status_code] = codes.get(response.status_code, 0) + 1
        with lock:
            latencies.extend(mine)
            for code, n in codes.items():
                statuses[code] = statuses.get(code, 0) + n

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    expected = 304 if conditional else 200
    failed = sum(n for code, n in statuses.items() if code != expected)
    if failed:  # counted (an overloaded server may time out), not hidden
        print(f"  {name}: unexpected answers {statuses}", flush=True)
    latencies.sort()
    return {"rate": (len(latencies) - failed) / elapsed, "p50": statistics.median(latencies),
            "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
            "max": latencies[-1], "failed": failed}


def paired(small: Store, big: Store, name: str, pairs: int, seed: int) -> dict[str, Any]:
    """One client, requests to the two stores interleaved (small, big, big, small, ...):
    both see the same load on this shared machine, so the ratio of their medians is the
    steadier measure of flatness. Latencies in ms."""
    path = ENDPOINTS[name]
    rng = random.Random(seed)
    clients = {id(st): st.flask.test_client() for st in (small, big)}
    times: dict[int, list[float]] = {id(small): [], id(big): []}
    for i in range(pairs):
        for store in ((small, big) if i % 2 == 0 else (big, small)):
            pid = rng.choice(store.ids)
            headers = {"Authorization": f"Bearer {store.token}"}
            if name.endswith("304"):
                headers["If-None-Match"] = store.etags[pid]
            started = time.perf_counter()
            clients[id(store)].get(path.format(pid=pid), headers=headers).get_data()
            times[id(store)].append((time.perf_counter() - started) * 1000)
    out = {}
    for label, store in (("small", small), ("big", big)):
        ms = sorted(times[id(store)])
        out[label] = {"p50": statistics.median(ms),
                      "p99": ms[min(len(ms) - 1, int(len(ms) * 0.99))]}
    out["ratio"] = out["big"]["p50"] / out["small"]["p50"]
    return out


def measure(kind: str, urls: tuple[str, str], sizes: tuple[int, int], clients: int,
            requests: int, rounds: int) -> list[tuple[Any, ...]]:
    print(f"{kind}:", flush=True)
    small, big = Store(urls[0], sizes[0]), Store(urls[1], sizes[1])
    try:
        results: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for store in (small, big):  # warm-up: every programme once (names), connections
            client = store.flask.test_client()
            for pid in store.ids:
                client.get(ENDPOINTS["/progress"].format(pid=pid),
                           headers={"Authorization": f"Bearer {store.token}"})
            for name in ENDPOINTS:
                hammer(store, name, clients, max(clients, requests // 4), seed=0)
        for r in range(rounds):
            for name in ENDPOINTS:
                order = (("small", small), ("big", big)) if r % 2 == 0 else \
                    (("big", big), ("small", small))
                for label, store in order:
                    results.setdefault((name, label), []).append(
                        hammer(store, name, clients, requests, seed=r + 1))
        sequential = {name: paired(small, big, name, max(20, requests // 2), seed=7)
                      for name in ENDPOINTS}
        rows = []
        for name in ENDPOINTS:
            med = {label: {k: statistics.median(x[k] for x in results[(name, label)])
                           for k in ("rate", "p50", "p99", "max")}
                   for label in ("small", "big")}
            for label in ("small", "big"):
                med[label]["failed"] = sum(x["failed"] for x in results[(name, label)])
            rows.append((kind, name, small.events, big.events, med["small"], med["big"],
                         med["big"]["rate"] / med["small"]["rate"], sequential[name]))
        return rows
    finally:
        small.close()
        big.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=8, help="programmes (~1,200 events each)")
    parser.add_argument("--big", type=int, default=170, help="programmes (850 ~ 1M events)")
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=400, help="per endpoint, store, round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--store-dir", default=None,
                        help="where to keep the SQLite stores (default: a temporary directory)")
    parser.add_argument("--programmes-query", default="limit=8",
                        help="query of /programmes: the same page size on both stores "
                             "(default limit=8, the small store's 8 programmes; '' for "
                             "code without paging)")
    args = parser.parse_args()
    if args.programmes_query:
        ENDPOINTS["/programmes"] += "?" + args.programmes_query
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f}; "
          f"{args.clients} clients, {args.requests} requests per endpoint, store and round, "
          f"{args.rounds} rounds (medians)", flush=True)
    sizes = (args.small, args.big)
    rows: list[tuple[Any, ...]] = []
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(args.store_dir or tmp)
        where.mkdir(parents=True, exist_ok=True)
        for kind in args.stores.split(","):
            if kind == "sqlite":
                urls = tuple(f"sqlite:///{where}/evaluator-{n}.sqlite3" for n in sizes)
            else:
                urls = tuple(f"{PG_BASE}?schema=bench_evaluator_{n}" for n in sizes)
            rows += measure(kind, urls, sizes, args.clients, args.requests,  # type: ignore[arg-type]
                            args.rounds)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    print("\n| store | endpoint | small events | big events | small req/s | big req/s | "
          "big / small | small p50 / p99 ms | big p50 / p99 / max ms | failed |")
    print("|---|---|---:|---:|---:|---:|---:|---|---|---:|")
    for kind, name, se, be, s, b, ratio, _seq in rows:
        print(f"| {kind} | {name} | {se:,} | {be:,} | {s['rate']:.0f} | {b['rate']:.0f} | "
              f"{ratio:.2f} | {s['p50']:.1f} / {s['p99']:.1f} | "
              f"{b['p50']:.1f} / {b['p99']:.1f} / {b['max']:.1f} | "
              f"{s['failed'] + b['failed']} |")
    print("\nOne client, requests to the two stores interleaved (latency ms):\n")
    print("| store | endpoint | small p50 / p99 | big p50 / p99 | big / small (p50) |")
    print("|---|---|---|---|---:|")
    for kind, name, _se, _be, _s, _b, _ratio, seq in rows:
        print(f"| {kind} | {name} | {seq['small']['p50']:.1f} / {seq['small']['p99']:.1f} | "
              f"{seq['big']['p50']:.1f} / {seq['big']['p99']:.1f} | {seq['ratio']:.2f} |")


if __name__ == "__main__":
    main()
