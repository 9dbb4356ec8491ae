"""What domain/storecalls.py counts, on both stores: the counter the round-trip and
form-post tests pin their figures with must itself count right."""

from __future__ import annotations

import threading
import uuid

import pytest

from domain.storecalls import counting


def test_a_trip_is_one_exchange_and_psycopgs_own_prepares_are_apart(app):
    """A read is one trip, told with its statement and the project's call site; another
    thread's read is not counted. On PostgreSQL a pipeline's sync is one trip, and
    psycopg's own PREPARE (which depends on the pooled connection) is reported apart."""
    statement = f"SELECT 1 AS x_{uuid.uuid4().hex}"  # new to every pooled connection
    with counting(app) as calls:
        app.sql.query(statement)
        other = threading.Thread(target=app.sql.query, args=(statement,))
        other.start()
        other.join()
    assert calls.reads == 1 and calls.read_labels == [f"sql {statement}"]
    assert calls.round_trips == 1, str(calls)
    assert calls.trips[0].startswith("SELECT at domain/store.py:"), str(calls)
    assert calls.writes == 0 and calls.prepares == []
    if not app.config.is_postgres:
        return
    with counting(app) as calls, app.factory.datastore.get_connection() as conn:
        conn.execute(statement, prepare=True)  # PREPARE, then run it: two trips
        with conn.pipeline() as pipeline:
            conn.execute("SELECT 2")
            conn.execute("SELECT 3")
            pipeline.sync()
            conn.execute("SELECT 4")
    assert calls.prepares == ["PREPARE SELECT"], str(calls)
    assert [t.split(" at ")[0] for t in calls.trips] == ["SELECT", "SELECT SELECT", "SELECT"]


def test_a_record_command_reads_its_author_and_programme_in_one_query(app):
    """Outside a web request (a direct call, the CLI, benchmarks/writes.py) a record
    command fast-forwards the cached participant and programme together, as a form post's
    sign-in check does: one read before the write, not one per aggregate. A colleague's
    change to the programme in between is still seen (the fast-forward reads it)."""
    from domain import errors
    from domain.context import acting_as

    with acting_as("researcher:t"):
        pid = app.plan_programme(organisation="Synthetic org", title="Reads",
                                 units=[{"key": "u1", "name": "U1"}])
        person = app.enrol_participant(pid, name="Person A", email=None, role="expert",
                                       unit="u1", consent=True)
    app.log_reflection(person, week=1, example="first: caches the author and programme")
    for n in range(2):
        with counting(app) as calls:
            app.log_reflection(person, week=1, example=f"again {n}",
                               request_id=uuid.uuid4().hex)
        assert calls.read_labels == ["events.select_newer"], str(calls)
        assert calls.writes == 1, str(calls)
    with acting_as("researcher:t"):
        app.close_programme(pid)
    with pytest.raises(errors.ProgrammeClosedError):
        app.log_reflection(person, week=1, example="after the close")
