"""Render time of the researchers' replay page on the demo, SQLite.

Loads the synthetic demo into a fresh SQLite file, catches up the read models, signs a
researcher in through the Flask test client and renders the replay page at "now", a
selected record's page and one play tick, a few times to warm up, then ``--requests`` times
each, and reports p50 / p95 / max in milliseconds, and the page size, beside the same
numbers for the programme overview (``/r/programmes/<id>/overview``) measured in the same run
as the baseline (docs/performance.md, "Replay page").

    .venv/bin/python benchmarks/replay_page.py
    .venv/bin/python benchmarks/replay_page.py --requests 20 --warmup 3
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path
from time import perf_counter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# the same percentile as the overview benchmark, whose page is the baseline
from overview import percentile  # noqa: E402

from api.app import create_app  # noqa: E402
from api.cli import migrate_all  # noqa: E402
from domain.accounts import create_researcher  # noqa: E402
from domain.application import Framdrift  # noqa: E402
from domain.demo import load_demo  # noqa: E402
from projections import asof  # noqa: E402
from projections.runner import catch_up  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/replay.db"
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
            state = asof.state_at(app.sql, pid)
            cap = next(r["id"] for r in state.records.values() if r["kind"] == "capability")
            paths = {"overview (baseline)": f"/r/programmes/{pid}/overview",
                     "replay now": f"/replay/{pid}",
                     "replay, a record selected": f"/replay/{pid}?record={cap}",
                     "replay, a play tick": f"/replay/{pid}?at=600&play=1"}
            base = None
            print(f"demo: {app.max_position()} events, {len(state.records)} records; SQLite, "
                  f"{args.requests} requests each")
            print("| page | p50 ms | p95 ms | max ms | p95 / baseline | KiB |")
            print("|---|---|---|---|---|---|")
            for name, path in paths.items():
                for _ in range(args.warmup):
                    assert client.get(path).status_code == 200
                times = []
                for _ in range(args.requests):
                    started = perf_counter()
                    response = client.get(path)
                    times.append((perf_counter() - started) * 1000)
                    assert response.status_code == 200
                p95 = percentile(times, .95)
                base = base or p95
                print(f"| {name} | {percentile(times, .5):.1f} | {p95:.1f} | {max(times):.1f} "
                      f"| {p95 / base:.2f} | {len(response.data) / 1024:.0f} |")
        finally:
            app.close()


if __name__ == "__main__":
    main()
