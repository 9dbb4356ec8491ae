"""Write throughput with the hash chain: single saves, one transaction each.

Each write records its events and their chain links in one transaction
(docs/adr/0005-hash-chain.md); this measures what that costs. Two loops per store:

- ``command``: ``log_reflection`` N times (load participant and programme, encrypt the
  text, save one new aggregate: the realistic path of a participant's form);
- ``insert``: ``recorder.insert_events`` of one small event N times (the recorder alone,
  where the chain's extra statements weigh most).

    .venv/bin/python benchmarks/chain_writes.py                  # 2,000 each, both stores
    .venv/bin/python benchmarks/chain_writes.py --n 500 --stores sqlite

PostgreSQL: FRAMDRIFT_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test);
a fresh schema per run, dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import uuid
from datetime import date
from pathlib import Path
from time import perf_counter
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eventsourcing.persistence import StoredEvent  # noqa: E402

from domain.application import Framdrift  # noqa: E402

PG_URL = os.environ.get("FRAMDRIFT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def run(url: str, n: int) -> dict[str, float]:
    Framdrift.migrate(url).close()
    app = Framdrift.from_url(url)
    try:
        pid = app.plan_programme(organisation="Bench", title="Writes", first_day=date(2026, 1, 5),
                                 units=[{"key": "u1", "name": "U1"}])
        person = app.enrol_participant(pid, name="Bench Person", email=None, role="expert",
                                       unit="u1", consent=True)
        started = perf_counter()
        for i in range(n):
            app.log_reflection(person, week=1, example=f"Reflection number {i}")
        command = perf_counter() - started
        started = perf_counter()
        for i in range(n):
            app.recorder.insert_events([StoredEvent(
                originator_id=uuid.uuid4(), originator_version=1,
                topic="bench:Event", state=b'{"i": %d}' % i)])
        insert = perf_counter() - started
        return {"command": n / command, "insert": n / insert}
    finally:
        app.close()


def per_store(stores: str, measure: Any) -> list[tuple[str, Any]]:
    """``measure(url)`` on a fresh SQLite file and/or a fresh PostgreSQL schema (dropped
    afterwards), one row per store in ``stores`` ("sqlite,postgres")."""
    rows = []
    for store in stores.split(","):
        if store == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                rows.append(("SQLite", measure(f"sqlite:///{tmp}/bench.sqlite3")))
        else:
            import psycopg

            schema = f"bench_{uuid.uuid4().hex[:12]}"
            sep = "&" if "?" in PG_URL else "?"
            try:
                rows.append(("PostgreSQL", measure(f"{PG_URL}{sep}schema={schema}")))
            finally:
                with psycopg.connect(PG_URL, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args()
    rows = per_store(args.stores, lambda url: run(url, args.n))
    print(f"Single-save write throughput, {args.n} writes each ({platform.python_version()}, "
          f"{os.cpu_count()} cores)")
    print("| store | log_reflection / s | recorder insert / s |")
    print("|---|---|---|")
    for name, r in rows:
        print(f"| {name} | {r['command']:.0f} | {r['insert']:.0f} |")


if __name__ == "__main__":
    main()
