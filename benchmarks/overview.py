"""Render time of the programme overview pages on the demo, SQLite.

Loads the synthetic demo (one programme, the default number of participants) into a fresh
SQLite file, catches up the read models, signs a researcher and an evaluator in through the
Flask test client, renders each page a few times to warm up, then ``--requests`` times, the
pages taking turns, and reports p50 / p95 / max in milliseconds and each page's p50 and
p95 as a ratio to the researchers' overview measured in the same run (the baseline).
Pages: the researchers' overview ``/r/programmes/<id>/overview``, the evaluators'
``/e/programmes/<id>`` (target for both: p95 under 300 ms) and the printable report
``/r/programmes/<id>/report``. docs/performance.md.

    .venv/bin/python benchmarks/overview.py
    .venv/bin/python benchmarks/overview.py --requests 50 --warmup 5 [--participants 30]
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
from api.cli import migrate_all  # noqa: E402
from domain.accounts import create_researcher, issue_evaluator_link  # noqa: E402
from domain.application import Framdrift  # noqa: E402
from domain.demo import load_demo  # noqa: E402
from projections.runner import catch_up  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--participants", type=int, default=None,
                        help="participants in the demo (default: the demo's own)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/overview.db"
        migrate_all(url)
        app = Framdrift.from_url(url)
        try:
            size = {} if args.participants is None else {"participants": args.participants}
            result = load_demo(app, **size)
            catch_up(app)
            pid = str(result.programme_ids[0])
            create_researcher(app, username="bench", name="Bench", email=None,
                              password="bench-password-123")
            web = create_app({"TESTING": True, "FRAMDRIFT": app, "SECRET_KEY": "bench",
                              "DATABASE_URL": url})
            researcher = web.test_client()
            token = re.search(r'name="csrf_token" value="([^"]+)"',
                              researcher.get("/login").get_data(as_text=True)).group(1)
            assert researcher.post("/login", data={"csrf_token": token, "username": "bench",
                                                   "password": "bench-password-123"}
                                   ).status_code == 302
            evaluator = web.test_client()
            assert evaluator.get(f"/in/{issue_evaluator_link(app)[0]}").status_code == 302
            pages = {  # the first is the baseline
                "researchers' overview": (researcher, f"/r/programmes/{pid}/overview"),
                "evaluators' page": (evaluator, f"/e/programmes/{pid}"),
                "printable report": (researcher, f"/r/programmes/{pid}/report"),
            }
            for client, path in pages.values():
                for _ in range(args.warmup):
                    assert client.get(path).status_code == 200
            times: dict[str, list[float]] = {name: [] for name in pages}
            for _ in range(args.requests):
                for name, (client, path) in pages.items():
                    started = perf_counter()
                    response = client.get(path)
                    times[name].append((perf_counter() - started) * 1000)
                    assert response.status_code == 200
            people = len(result.participants[result.programme_ids[0]])
            print(f"the demo ({people} participants, {app.max_position()} events), SQLite, "
                  f"{args.requests} requests per page, taking turns")
            print("| page | p50 ms | p95 ms | max ms | p50 / baseline | p95 / baseline |")
            print("|---|---:|---:|---:|---:|---:|")
            base = times[next(iter(pages))]
            b50, b95 = percentile(base, .5), percentile(base, .95)
            for name, values in times.items():
                p50, p95 = percentile(values, .5), percentile(values, .95)
                print(f"| {name} | {p50:.1f} | {p95:.1f} | {max(values):.1f} | "
                      f"{p50 / b50:.2f} | {p95 / b95:.2f} |")
        finally:
            app.close()


if __name__ == "__main__":
    main()
