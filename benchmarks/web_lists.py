"""Benchmark: the web pages that list programmes, on a small store vs a big one (issue 14,
item 2: "every list paged ... flat in the size of the store").

The researchers' /r/, the replay's /replay/ and the evaluators' /e/ (and, for one
programme, the researchers' evaluator-links and outbox pages), each asked through
the WSGI app in this process by a signed-in researcher or evaluator: the first request
of a freshly opened application (cold: nothing cached, as after a restart) and the p50
of ``--requests`` more, the two stores taking turns request by request (the small store
is the baseline, measured in the same run). Prints ms, KiB per answer and the ratio
big / small of the p50 (1 = flat). ``--root DIR`` measures another tree's code (e.g. a
``git worktree`` of main) on the same stores.

Stores: ``--small URL --big URL`` (existing stores, their read models caught up), or
built here with the demo (``--small-programmes`` / ``--big-programmes``, ~1,200 events
each) in ``--store-dir``.

    .venv/bin/python benchmarks/web_lists.py --small-programmes 8 --big-programmes 170 \\
        --store-dir /tmp/weblists [--root /work/wt/mainbase]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

PAGES = (("researcher", "/r/"), ("researcher", "/replay/"), ("evaluator", "/e/"),
         # one programme's pages that list what was created by kind (links, messages),
         # found through the log's partial indexes (docs/adr/0032-creation-rows-indexed.md)
         ("researcher", "/r/programmes/{pid}/evaluator-links"),
         ("researcher", "/r/programmes/{pid}/mail"))


def _import_tree(root: str) -> None:
    sys.path.insert(0, root)


def _store(url: str, programmes: int) -> str:
    from api.cli import migrate_all
    from domain.application import Framdrift
    from domain.demo import load_demo
    from projections import runner

    migrate_all(url)
    app = Framdrift.from_url(url)
    try:
        started = time.perf_counter()
        load_demo(app, programmes=programmes)
        runner.catch_up(app)
        print(f"  {url}: {programmes} programmes, {app.max_position():,} events "
              f"(ready in {time.perf_counter() - started:.0f} s)", flush=True)
    finally:
        app.close()
    return url


class Site:
    """A freshly opened application on ``url`` and a signed-in client per role."""

    def __init__(self, url: str):
        from api.app import create_app
        from domain.accounts import create_researcher, issue_evaluator_link, issue_link
        from domain.application import Framdrift
        from domain.context import acting_as

        self.app = Framdrift.from_url(url)
        self.flask = create_app({"TESTING": False, "FRAMDRIFT": self.app, "SECRET_KEY": "b",
                                 "DATABASE_URL": url})
        with acting_as("system:benchmark"):
            rid = create_researcher(self.app, username=f"bench{time.time_ns()}",
                                    name="Benchmark", email=None,
                                    password="benchmark-password-1")
        secret, _ = issue_link(self.app, role="researcher", subject=rid)
        evaluator, _link, _who = issue_evaluator_link(self.app)
        from projections import queries

        self.pid = queries.programmes_page(self.app.sql, limit=1)[0][0]["id"]
        self.clients: dict[str, Any] = {}
        for role, link in (("researcher", secret), ("evaluator", evaluator)):
            client = self.flask.test_client()
            assert client.get(f"/in/{link}").status_code == 302, role
            self.clients[role] = client

    def get(self, role: str, path: str) -> tuple[float, int]:
        path = path.format(pid=self.pid)
        started = time.perf_counter()
        response = self.clients[role].get(path)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, (path, response.status_code)
        return elapsed, len(response.get_data())

    def close(self) -> None:
        self.app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", default="", help="URL of an existing small store")
    parser.add_argument("--big", default="", help="URL of an existing big store")
    parser.add_argument("--small-programmes", type=int, default=8)
    parser.add_argument("--big-programmes", type=int, default=170)
    parser.add_argument("--store-dir", default="", help="where to build the SQLite stores")
    parser.add_argument("--requests", type=int, default=40, help="per page and store")
    parser.add_argument("--root", default=str(Path(__file__).resolve().parents[1]),
                        help="the tree whose code is measured")
    args = parser.parse_args()
    _import_tree(args.root)
    small, big = args.small, args.big
    if not (small and big):
        folder = Path(args.store_dir or "benchmarks/.web_lists")
        folder.mkdir(parents=True, exist_ok=True)
        small = small or _store(f"sqlite:///{(folder / 'small.sqlite3').resolve()}",
                                args.small_programmes)
        big = big or _store(f"sqlite:///{(folder / 'big.sqlite3').resolve()}",
                            args.big_programmes)
    print(f"code: {args.root}; machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, load average "
          f"{' / '.join(f'{x:.1f}' for x in os.getloadavg())}")
    import api.app

    assert Path(api.app.__file__).resolve().is_relative_to(Path(args.root).resolve()), \
        f"measuring {api.app.__file__}, not the code in {args.root}"
    sites = {"small": Site(small), "big": Site(big)}
    try:
        rows = []
        for role, path in PAGES:
            cold = {name: site.get(role, path) for name, site in sites.items()}
            times: dict[str, list[float]] = {"small": [], "big": []}
            for _ in range(args.requests):
                for name, site in sites.items():
                    times[name].append(site.get(role, path)[0])
            p50 = {name: statistics.median(t) for name, t in times.items()}
            rows.append((path, cold, p50))
        print("\n| page | small: cold ms / p50 ms / KiB | big: cold ms / p50 ms / KiB "
              "| p50 big / small |")
        print("|---|---:|---:|---:|")
        for path, cold, p50 in rows:
            cells = [f"{cold[n][0] * 1000:.0f} / {p50[n] * 1000:.1f} / {cold[n][1] / 1024:.0f}"
                     for n in ("small", "big")]
            print(f"| {path} | {cells[0]} | {cells[1]} | {p50['big'] / p50['small']:.2f} |")
        print("ratio line: p50 big / small = " + ", ".join(
            f"{path} {p50['big'] / p50['small']:.2f}" for path, _cold, p50 in rows))
    finally:
        for site in sites.values():
            site.close()


if __name__ == "__main__":
    main()
