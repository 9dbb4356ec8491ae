"""Bulk load (issue 14, item 5): ``framdrift demo`` and ``framdrift import`` in events per
second, against the library's raw insert rate measured in the same run.

On each store, in fresh stores:

- (a) **demo**: ``load_demo(programmes=N, workers=W)`` — the application's commands, with
  encryption and the hash chain, several programmes to a transaction (what
  ``framdrift demo`` does);
- (b) **import**: the export of (a) restored with ``import_log`` (what ``framdrift
  import`` does: the stored bytes, COPY on PostgreSQL, the chain built as it goes);
- (c) **library raw insert** (the baseline): the same stored events inserted by
  eventsourcing's own recorder (``SQLiteApplicationRecorder`` /
  ``PostgresApplicationRecorder``, no chain, no encryption: the bytes are already
  made), in transactions of 1,000 events (its pipelined INSERT stalls in psycopg above
  ~5 MB a statement, see ``Framdrift._record_batch``).

Both chains are verified afterwards (``framdrift verify``'s check). Prints ev/s, the
ratios (a)/(c) and (b)/(c), the load average, and the loader's CPU time per event (this
process and its loader processes; PostgreSQL's own work not included), which depends far
less on what else the machine runs than the rates do.

    .venv/bin/python benchmarks/bulk_load.py --programmes 40 [--workers 2] [--stores sqlite]

PostgreSQL: FRAMDRIFT_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test);
fresh schemas, dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domain.application import Framdrift  # noqa: E402
from domain.demo import load_demo  # noqa: E402
from domain.integrity import export_log, import_log  # noqa: E402

PG_BASE = os.environ.get("FRAMDRIFT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def library_insert_rate(kind: str, where: str, stored: list, batch: int = 1000) -> float:
    """eventsourcing's own recorder inserting the already-made stored events."""
    if kind == "sqlite":
        from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

        datastore = SQLiteDatastore(where)
        recorder = SQLiteApplicationRecorder(datastore)
    else:
        from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

        from domain.store import parse_database_url

        env = parse_database_url(where).env
        datastore = PostgresDatastore(env["POSTGRES_DBNAME"], env["POSTGRES_HOST"],
                                      env["POSTGRES_PORT"], env["POSTGRES_USER"],
                                      env["POSTGRES_PASSWORD"], schema=env["POSTGRES_SCHEMA"])
        recorder = PostgresApplicationRecorder(datastore)
    recorder.create_table()
    started = time.perf_counter()
    for at in range(0, len(stored), batch):
        recorder.insert_events(stored[at : at + batch])
    elapsed = time.perf_counter() - started
    datastore.close()
    return len(stored) / elapsed


def stored_events(app: Framdrift) -> list:
    from eventsourcing.persistence import StoredEvent

    found, after = [], 0
    while True:
        page = app.recorder.select_notifications(start=after, limit=5000,
                                                 inclusive_of_start=False)
        if not page:
            return found
        found += [StoredEvent(n.originator_id, n.originator_version, n.topic, bytes(n.state))
                  for n in page]
        after = page[-1].id


def measure(kind: str, urls: list[str], programmes: int, workers: int, tmp: Path) -> dict:
    demo_url, import_url, raw_where = urls
    app = Framdrift.migrate(demo_url)
    started, cpu = time.perf_counter(), _cpu_seconds()
    import inspect

    # (the same script measures the code before issue 14, whose load_demo had no workers)
    extra = {"workers": workers} if "workers" in inspect.signature(load_demo).parameters else {}
    result = load_demo(app, programmes=programmes, **extra)
    demo_s, demo_cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    demo_ok = app.chain.verify().ok
    events_path, keys_path = tmp / f"{kind}-events.ndjson", tmp / f"{kind}-keys.ndjson"
    with events_path.open("w") as events, keys_path.open("w") as keys:
        export_log(app, events, keys)
    stored = stored_events(app)
    app.close()

    target = Framdrift.migrate(import_url)
    started, cpu = time.perf_counter(), _cpu_seconds()
    with events_path.open() as events, keys_path.open() as keys:
        imported = import_log(target, events, keys)
    import_s, import_cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    import_ok = target.chain.verify().ok
    target.close()

    raw = library_insert_rate(kind, raw_where, stored)
    return {"store": kind, "events": result.events, "demo": result.events / demo_s,
            "demo_s": demo_s, "import": imported / import_s, "import_s": import_s,
            "raw": raw, "ok": demo_ok and import_ok, "load": os.getloadavg(),
            "demo_cpu_us": demo_cpu / max(1, result.events) * 1e6,
            "import_cpu_us": import_cpu / max(1, imported) * 1e6}


def _cpu_seconds() -> float:
    """CPU time of this process (all its threads) and of its finished loader processes:
    on a shared machine the wall-clock rates follow the share of a core the loader gets,
    the CPU time per event is the application's own work."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--programmes", type=int, default=40)
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1))
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args()
    print(f"Python {platform.python_version()}, {os.cpu_count()} cores, load average "
          f"{' / '.join(f'{x:.1f}' for x in os.getloadavg())}; {args.programmes} programmes, "
          f"{args.workers} loader process(es)", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for kind in args.stores.split(","):
            if kind == "sqlite":
                urls = [f"sqlite:///{tmp / 'demo.sqlite3'}", f"sqlite:///{tmp / 'import.sqlite3'}",
                        str(tmp / "raw.sqlite3")]
                rows.append(measure(kind, urls, args.programmes, args.workers, tmp))
            else:
                import psycopg

                schemas = [f"bulk_{uuid.uuid4().hex[:10]}" for _ in range(3)]
                urls = [f"{PG_BASE}?schema={s}" for s in schemas]
                try:
                    with psycopg.connect(PG_BASE, autocommit=True) as conn:
                        conn.execute(f'CREATE SCHEMA "{schemas[2]}"')
                    rows.append(measure(kind, urls, args.programmes, args.workers, tmp))
                finally:
                    with psycopg.connect(PG_BASE, autocommit=True) as conn:
                        for s in schemas:
                            conn.execute(f'DROP SCHEMA IF EXISTS "{s}" CASCADE')
            row = rows[-1]
            print(f"  {kind}: demo {row['demo_s']:.1f} s, import {row['import_s']:.1f} s, "
                  f"loader CPU per event: demo {row['demo_cpu_us']:.0f} us, import "
                  f"{row['import_cpu_us']:.0f} us; load average {row['load'][0]:.1f}",
                  flush=True)
    print()
    print("| store | events | library raw insert ev/s | demo ev/s | demo / raw | import ev/s "
          "| import / raw | chains verify |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['store']} | {r['events']:,} | {r['raw']:,.0f} | {r['demo']:,.0f} | "
              f"{r['demo'] / r['raw']:.2f} | {r['import']:,.0f} | {r['import'] / r['raw']:.2f} "
              f"| {'yes' if r['ok'] else 'NO'} |")


if __name__ == "__main__":
    main()
