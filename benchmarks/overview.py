"""Render time of the researchers' programme overview on the demo, SQLite.

Loads the synthetic demo (one programme, the default number of participants) into a fresh
SQLite file, catches up the read models, signs a researcher in through the Flask test
client, renders ``/r/programmes/<id>/overview`` a few times to warm up, then ``--requests``
times and reports p50 / p95 / max in milliseconds (target: p95 under 300 ms;
docs/performance.md).

    .venv/bin/python benchmarks/overview.py
    .venv/bin/python benchmarks/overview.py --requests 50 --warmup 5
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path
from time import perf_counter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.app import create_app  # noqa: E402
from domain.accounts import create_researcher  # noqa: E402
from domain.application import Framdrift  # noqa: E402
from domain.demo import load_demo  # noqa: E402
from projections.runner import catch_up  # noqa: E402


def migrate_all(url: str) -> None:
    from api.cli import _migrate_hooks

    Framdrift.migrate(url).close()
    for hook in _migrate_hooks():
        hook(url)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/overview.db"
        migrate_all(url)
        app = Framdrift.from_url(url)
        try:
            result = load_demo(app)
            catch_up(app)
            pid = str(result.programme_ids[0])
            create_researcher(app, username="bench", name="Bench", email=None,
                              password="bench-password-123")
            web = create_app({"TESTING": True, "FRAMDRIFT": app, "SECRET_KEY": "bench",
                              "DATABASE_URL": url})
            client = web.test_client()
            token = re.search(r'name="csrf_token" value="([^"]+)"',
                              client.get("/login").get_data(as_text=True)).group(1)
            assert client.post("/login", data={"csrf_token": token, "username": "bench",
                                               "password": "bench-password-123"}
                               ).status_code == 302
            path = f"/r/programmes/{pid}/overview"
            for _ in range(args.warmup):
                assert client.get(path).status_code == 200
            times = []
            for _ in range(args.requests):
                started = perf_counter()
                response = client.get(path)
                times.append((perf_counter() - started) * 1000)
                assert response.status_code == 200
            print(f"overview of the demo ({len(result.participants[result.programme_ids[0]])} "
                  f"participants, {app.max_position()} events), SQLite, "
                  f"{args.requests} requests: p50 {percentile(times, .5):.1f} ms, "
                  f"p95 {percentile(times, .95):.1f} ms, max {max(times):.1f} ms")
        finally:
            app.close()


if __name__ == "__main__":
    main()
