"""Enrolling a cohort from a CSV list (api/enrolment.py) against enrolling one by one.

For N participants on each store:

- ``one by one``: ``enrol_participant`` N times, one transaction each (the baseline: what
  the single form does, 30 times for a course);
- ``list``: reading and checking an N-row list (``preview``: the row schema, duplicates,
  the programme's enrolled addresses decrypted), then ``enrol`` in ONE transaction;
- ``preview again``: the same list once more, now with N addresses already enrolled (what
  a researcher who sends the list twice waits for).

Times are printed with their ratio to the baseline of the same run.

    .venv/bin/python benchmarks/enrolment.py                     # 300 each, both stores
    .venv/bin/python benchmarks/enrolment.py --n 30 --stores sqlite

PostgreSQL: FRAMDRIFT_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test);
a fresh schema per run, dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import uuid
from pathlib import Path
from time import perf_counter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chain_writes import per_store  # noqa: E402

from api import enrolment  # noqa: E402
from domain.application import Framdrift  # noqa: E402

UNITS = [{"key": "social", "name": "Socialförvaltningen"}, {"key": "it", "name": "IT"}]


def csv_text(n: int, prefix: str) -> str:
    return "namn;e-post;roll;enhet\n" + "".join(
        f"{prefix} Person {i};{prefix}{i}@exempel.se;expert;{UNITS[i % 2]['name']}\n"
        for i in range(n))


def run(url: str, n: int) -> dict[str, float]:
    Framdrift.migrate(url).close()
    app = Framdrift.from_url(url)
    try:
        one = str(app.plan_programme(organisation="Bench", title="One", units=UNITS))
        many = str(app.plan_programme(organisation="Bench", title="List", units=UNITS))
        started = perf_counter()
        for i in range(n):
            app.enrol_participant(one, name=f"Person {i}", email=f"p{i}@exempel.se",
                                  role="expert", unit=UNITS[i % 2]["key"])
        single = perf_counter() - started
        text = csv_text(n, "l")
        started = perf_counter()
        preview = enrolment.preview(text, UNITS, enrolment.enrolled_emails(app, many))
        checked = perf_counter() - started
        assert len(preview.good) == n
        started = perf_counter()
        enrolment.enrol(app, many, preview.good, uuid.uuid4().hex)
        enrolled = perf_counter() - started
        started = perf_counter()
        again = enrolment.preview(text, UNITS, enrolment.enrolled_emails(app, many))
        checked_again = perf_counter() - started
        assert len(again.bad) == n
        return {"single": single, "preview": checked, "enrol": enrolled,
                "again": checked_again}
    finally:
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args()
    rows = per_store(args.stores, lambda url: run(url, args.n))
    print(f"Enrolling {args.n} participants ({platform.python_version()}, "
          f"{os.cpu_count()} cores); seconds, and the ratio to one by one")
    print("| store | one by one (s) | list: preview (s) | list: enrol (s) | list total / one "
          "by one | preview again, all enrolled (s) |")
    print("|---|---|---|---|---|---|")
    for name, r in rows:
        total = r["preview"] + r["enrol"]
        print(f"| {name} | {r['single']:.2f} | {r['preview']:.2f} | {r['enrol']:.2f} | "
              f"{total / r['single']:.2f} | {r['again']:.2f} |")


if __name__ == "__main__":
    main()
