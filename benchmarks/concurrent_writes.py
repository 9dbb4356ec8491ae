"""What correct concurrent writes cost (docs/adr/0022-concurrent-writes.md).

In ONE run, interleaved rounds of "before" and "after", medians and their ratio:

- ``sqlite writers``: ``log_reflection`` and ``enrol_participant`` (a new data key each),
  alternating, from 16 threads over 4 application instances on
  one SQLite file (as 4 server processes), with the library's deferred ``BEGIN``
  (before: ``PERSISTENCE_MODULE=eventsourcing.sqlite``) and with ``BEGIN IMMEDIATE``
  (after: ``domain.sqlite_writes``): saves/s of the calls that succeeded, p99, and how
  many calls failed with "database is locked". Also from 16 threads on ONE instance (its
  writers take the pool's writer lock in turn: the cost of the extra lock step alone).
- ``list of N``: enrolling an N-row cohort list (N=30) in a programme of ``--enrolled``
  participants, on each store; before = the participants' batch alone (the old
  ``enrol``); after = ``api.enrolment.enrol`` as the form and the CLI call it (with the
  programme version read before the preview; ``Programme.CohortEnrolled`` in the same
  transaction); and ``enrol`` without that version (it reads it and checks the addresses
  again itself). The preview a form does first is timed too, so the whole list's ratio
  shows.

    .venv/bin/python benchmarks/concurrent_writes.py
    .venv/bin/python benchmarks/concurrent_writes.py --rounds 1 --seconds 0.3 --stores sqlite

PostgreSQL: FRAMDRIFT_TEST_POSTGRES_URL; fresh schemas, dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import uuid
from pathlib import Path
from time import perf_counter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chain_writes import per_store  # noqa: E402
from writes import TEXT, timed  # noqa: E402

from api import enrolment  # noqa: E402
from api.cli import migrate_all  # noqa: E402
from domain.application import Framdrift  # noqa: E402
from domain.context import acting_as  # noqa: E402

UNITS = [{"key": "social", "name": "Socialförvaltningen"}, {"key": "it", "name": "IT"}]
MODULES = {"before": "eventsourcing.sqlite", "after": "domain.sqlite_writes"}


def sqlite_writers(instances: int, threads: int, seconds: float,
                   rounds: int) -> dict[str, dict[str, float]]:
    """Medians over rounds of saves/s, p99 (ms) and failed calls, before and after."""
    cells: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/writers.sqlite3"
        migrate_all(url)
        seed = Framdrift.from_url(url)
        with acting_as("researcher:bench"):
            pid = seed.plan_programme(organisation="Bench", title="Writers", units=UNITS)
            people = [seed.enrol_participant(pid, name=f"P{n}", email=None, role="expert",
                                             unit="it", consent=True) for n in range(threads)]
        seed.close()
        for r in range(rounds):
            for label in (("before", "after") if r % 2 == 0 else ("after", "before")):
                apps = [Framdrift.from_url(url, PERSISTENCE_MODULE=MODULES[label])
                        for _ in range(instances)]
                run = uuid.uuid4().hex[:8]

                def op(t: int, i: int, apps: list[Framdrift] = apps, run: str = run) -> None:
                    app = apps[t % len(apps)]
                    if i % 2:  # a new participant: a data key is stored with the event
                        app.enrol_participant(pid, name=f"N{i}", email=f"{run}{t}x{i}@x.se",
                                              role="expert", unit="it",
                                              request_id=f"e{run}-{t}-{i}")
                    else:
                        app.log_reflection(people[t], week=1, example=f"{TEXT}{i}",
                                           request_id=f"{run}-{t}-{i}")

                try:
                    cells[label].append(timed(threads, seconds, op))
                finally:
                    for app in apps:
                        app.close()
    return {label: {k: statistics.median(c[k] for c in found) for k in found[0]}
            for label, found in cells.items()}


def csv_text(n: int, prefix: str) -> str:
    return "namn;e-post;roll;enhet\n" + "".join(
        f"{prefix} Person {i};{prefix}{i}@exempel.se;expert;{UNITS[i % 2]['name']}\n"
        for i in range(n))


def lists(url: str, n: int, enrolled: int, rounds: int) -> dict[str, float]:
    """Median seconds of the preview and of the enrolment, before and after."""
    migrate_all(url)
    app = Framdrift.from_url(url)
    times: dict[str, list[float]] = {"preview": [], "before": [], "after": [], "own": []}
    order = ["before", "after", "own"]
    try:
        with acting_as("researcher:bench"):
            for r in range(rounds):
                for label in order[r % 3:] + order[:r % 3]:
                    pid = str(app.plan_programme(organisation="Bench", title=f"{label} {r}",
                                                 units=UNITS))
                    if enrolled:
                        seed = enrolment.preview(csv_text(enrolled, "s"), UNITS, set()).good
                        enrolment.enrol(app, pid, seed, uuid.uuid4().hex)
                    started = perf_counter()
                    version = app.get_programme(pid)["version"]  # as the form reads it first
                    good = enrolment.preview(csv_text(n, "l"), UNITS,
                                             enrolment.enrolled_emails(app, pid)).good
                    times["preview"].append(perf_counter() - started)
                    assert len(good) == n
                    started = perf_counter()
                    if label == "before":
                        with app.batch():
                            enrolment.enrol_rows(app, pid, good, uuid.uuid4().hex)
                    elif label == "after":  # the form's and the CLI's way
                        enrolment.enrol(app, pid, good, uuid.uuid4().hex, checked_at=version)
                    else:  # no version from the caller: enrol checks the addresses itself
                        enrolment.enrol(app, pid, good, uuid.uuid4().hex)
                    times[label].append(perf_counter() - started)
    finally:
        app.close()
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--enrolled", type=int, default=30)
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args()
    print(f"Python {platform.python_version()}, {os.cpu_count()} cores, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (start)")
    print("\nSQLite, log_reflection and enrol_participant alternating: medians of "
          "interleaved rounds; ratio after / before")
    print("| writers | before: saves/s | before: p99 ms | before: failed | after: saves/s | "
          "after: p99 ms | after: failed | ratio saves/s |")
    print("|---|---|---|---|---|---|---|---|")
    for instances, threads in ((4, 16), (1, 16)):
        w = sqlite_writers(instances, threads, args.seconds, args.rounds)
        b, a = w["before"], w["after"]
        print(f"| {threads} threads, {instances} instance(s) | {b['rate']:.0f} | "
              f"{b['p99']:.0f} | {b['errors']:.0f} | {a['rate']:.0f} | {a['p99']:.0f} | "
              f"{a['errors']:.0f} | {a['rate'] / b['rate']:.2f} |")
    rows = per_store(args.stores, lambda url: lists(url, args.n, args.enrolled, args.rounds))
    print(f"\nA list of {args.n} rows into a programme of {args.enrolled} participants: "
          "median seconds; ratio after / before")
    print("| store | preview (s) | enrol before (s) | enrol after (s) | ratio enrol | "
          "ratio preview + enrol | after, enrol's own check (s) | its ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in rows:
        print(f"| {name} | {r['preview']:.3f} | {r['before']:.3f} | {r['after']:.3f} | "
              f"{r['after'] / r['before']:.2f} | "
              f"{(r['preview'] + r['after']) / (r['preview'] + r['before']):.2f} | "
              f"{r['own']:.3f} | {r['own'] / r['before']:.2f} |")
    print(f"\nload average {' '.join(f'{x:.2f}' for x in os.getloadavg())} (end)")


if __name__ == "__main__":
    main()
