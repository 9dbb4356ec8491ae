"""PostgreSQL connections are not pinged on every checkout (issue 14, ADR 0008); a
connection the server ended is noticed for free and replaced, so the next request
succeeds (domain/pgpool.py)."""

from __future__ import annotations

import time
from contextlib import ExitStack
from datetime import date

import psycopg

from domain.application import Framdrift
from domain.pgpool import quiet_check
from tests.conftest import migrate_all


def backend_pids(app: Framdrift) -> list[int]:
    """The server-side process of every connection in the pool (all checked out at once)."""
    datastore = app.factory.datastore
    with ExitStack() as stack:
        conns = [stack.enter_context(datastore.get_connection())
                 for _ in range(datastore.pool.min_size)]
        return [c.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"] for c in conns]


def test_no_ping_per_checkout(pg_schema_url: str):
    migrate_all(pg_schema_url)
    app = Framdrift.from_url(pg_schema_url)
    try:
        assert app.factory.datastore.pre_ping is False
        pings = []
        original = psycopg.Connection.execute

        def execute(self, query, *args, **kwargs):
            if query == "":
                pings.append(1)
            return original(self, query, *args, **kwargs)

        psycopg.Connection.execute = execute  # type: ignore[method-assign]
        try:
            pid = app.plan_programme(organisation="O", title="T", first_day=date(2026, 9, 7),
                                     units=[{"key": "u", "name": "U"}])
            for _ in range(10):
                app.get_programme(pid)
        finally:
            psycopg.Connection.execute = original  # type: ignore[method-assign]
        assert pings == []
    finally:
        app.close()


def test_connections_the_server_ended_are_replaced_and_the_next_request_succeeds(
        pg_schema_url: str, postgres_available: str):
    migrate_all(pg_schema_url)
    app = Framdrift.from_url(pg_schema_url)
    try:
        pid = app.plan_programme(organisation="O", title="T", first_day=date(2026, 9, 7),
                                 units=[{"key": "u", "name": "U"}])
        person = app.enrol_participant(pid, name="Kim", email=None, role="expert", unit="u",
                                       consent=True)
        app.log_reflection(person, week=1, example="before")
        pids = backend_pids(app)
        assert len(set(pids)) == len(pids) >= 2
        with psycopg.connect(postgres_available, autocommit=True) as admin:
            for backend in pids:
                admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
            deadline = time.monotonic() + 10
            while admin.execute("SELECT count(*) AS n FROM pg_stat_activity WHERE pid = ANY(%s)",
                                (pids,)).fetchone()[0] and time.monotonic() < deadline:
                time.sleep(0.05)
        app.factory.datastore.pool.pop_stats()
        started = time.monotonic()
        # the next request: reads (key store, fast-forward), a command with its chain links
        assert app.get_participant(person)["name"] == "Kim"
        app.log_reflection(person, week=1, example="after", request_id="after-kill")
        elapsed = time.monotonic() - started
        stats = app.factory.datastore.pool.pop_stats()
        print(f"after the kill: {elapsed:.3f} s, {stats}")
        # found dead at checkout, before any statement: none failed in use and came back bad
        assert stats.get("returns_bad", 0) == 0
        assert stats.get("connections_lost", 0) >= 1
        assert elapsed < 2  # not after retries and back-offs
        assert len(app.keys.sql.query("SELECT 1 AS one")) == 1
        assert app.chain.verify().ok
        new_pids = backend_pids(app)
        assert not set(new_pids) & set(pids)
    finally:
        app.close()


def test_quiet_check_refuses_a_closed_connection(postgres_available: str):
    conn = psycopg.connect(postgres_available, autocommit=True)
    quiet_check(conn)  # healthy, nothing to read: no exception, no round trip
    conn.close()
    try:
        quiet_check(conn)
    except psycopg.OperationalError:
        pass
    else:
        raise AssertionError("a closed connection passed the check")
