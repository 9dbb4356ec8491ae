"""Many writers on one SQLite file at once (docs/adr/0022-concurrent-writes.md).

Sixteen threads over four application instances (as four server processes would be,
each with its own connections) log reflections, enrol participants (a data key each) and
record attendance at once. With the library's deferred ``BEGIN`` a writer that had read
first could not take the write lock after another committed and failed at once with
"database is locked"; with ``BEGIN IMMEDIATE`` every write waits for the lock instead.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date

from domain.application import Framdrift
from domain.sqlite_writes import BEGIN_WRITE, ImmediateSQLiteFactory
from domain.store import parse_database_url
from tests.conftest import migrate_all
from tests.threads import run_in_threads

THREADS = 16
INSTANCES = 4
EACH = 5  # commands per thread


def test_the_sqlite_store_begins_writes_immediately(sqlite_url):
    """The store's SQLite setting names this module, so the application uses it."""
    assert parse_database_url(sqlite_url).env["PERSISTENCE_MODULE"] == "domain.sqlite_writes"
    migrate_all(sqlite_url)
    app = Framdrift.from_url(sqlite_url)
    try:
        assert isinstance(app.factory, ImmediateSQLiteFactory)
        seen: list[str] = []
        conn = app.factory.datastore.pool.get_connection(is_writer=True)
        try:
            conn._sqlite_conn.set_trace_callback(seen.append)
            with conn.transaction(commit=True) as cur:
                cur.execute("SELECT 1")
            with conn.transaction(commit=False) as cur:
                cur.execute("SELECT 1")
            conn._sqlite_conn.set_trace_callback(None)
        finally:
            app.factory.datastore.pool.put_connection(conn)
        assert seen[0] == BEGIN_WRITE
        assert "BEGIN" in seen[1:] and BEGIN_WRITE not in seen[1:]  # reads stay deferred
    finally:
        app.close()


def test_sixteen_writers_on_one_sqlite_file_all_succeed_once(sqlite_url):
    migrate_all(sqlite_url)
    seed = Framdrift.from_url(sqlite_url)
    pid = seed.plan_programme(organisation="Exempelby", title="T", first_day=date(2026, 9, 7),
                              units=[{"key": "soc", "name": "Social services"}])
    meeting = seed.hold_check_in(pid, week=1, held_on=date(2026, 9, 8))
    people = [seed.enrol_participant(pid, name=f"P{n}", email=None, role="manager", unit="soc")
              for n in range(THREADS)]
    seed.close()
    apps = [Framdrift.from_url(sqlite_url) for _ in range(INSTANCES)]
    start = threading.Barrier(THREADS)

    def writer(n: int):
        app = apps[n % INSTANCES]

        def run() -> list[tuple[str, str]]:
            start.wait(30)
            done = []
            for k in range(EACH):
                done.append(("record", str(app.log_reflection(
                    people[n], week=1, example=f"thread {n} reflection {k}",
                    request_id=f"w{n}-{k}"))))
                done.append((f"New {n}-{k}", str(app.enrol_participant(
                    pid, name=f"New {n}-{k}", email=f"n{n}k{k}@example.org", role="expert",
                    unit="soc", request_id=f"e{n}-{k}"))))
                app.record_attendance(people[n], meeting, attended=k % 2 == 0,
                                      request_id=f"a{n}-{k}")
            return done
        return run

    try:
        outcomes = run_in_threads([writer(n) for n in range(THREADS)], timeout=240)
        errors = [value for kind, value in outcomes if kind != "ok"]
        assert not errors, errors[:3]  # no "database is locked" reached a caller
        created = [item for _, done in outcomes for item in done]
        ids = [rid for _, rid in created]
        assert len(ids) == len(set(ids)) == THREADS * EACH * 2
        check = apps[0]
        events = Counter((e.originator_id, e.originator_version) for _, e in check.iter_log())
        assert set(events.values()) == {1}  # every event stored once
        assert {str(oid) for oid, _ in events} >= set(ids)
        for name, rid in created:
            if name != "record":  # its data key was stored: the name reads back
                assert check.get_participant(rid)["name"] == name
        for n, person in enumerate(people):
            assert check.get_participant(person)["attendance"] == {meeting: EACH % 2 == 1}, n
        assert check.chain.verify().ok
    finally:
        for app in apps:
            app.close()
