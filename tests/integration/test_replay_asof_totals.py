"""The progress funnel as of any moment from running totals (``asof.progress_at``, issue
14) equals the full fold (``state_at(...).progress()``) at many random moments — by log
position and by time, on SQLite and PostgreSQL (``app`` fixture) — also when the read
model was caught up in several runs (programme states evicted and loaded back) and after
a rebuild."""

from __future__ import annotations

import random
from datetime import datetime

import pytest

from domain.demo import load_demo
from projections import asof
from projections.base import event_time
from projections.runner import catch_up, rebuild


def _moments(app, pid: str, rng: random.Random, n: int):
    events = list(app.iter_log())
    first, last = events[0][0] - 1, events[-1][0] + 1
    times = [datetime.fromisoformat(event_time(e)) for _, e in events]
    lo, hi = min(times).timestamp(), max(times).timestamp()
    for k in range(n):
        if k % 2:
            yield {"time": datetime.fromtimestamp(rng.uniform(lo - 86400, hi + 86400))
                   .astimezone().isoformat()}
        else:
            yield {"position": rng.randint(first, last)}


def _check(app, pid: str, seed: int, n: int = 60) -> int:
    checked_nonzero = 0
    for where in _moments(app, pid, random.Random(seed), n):
        expected = asof.state_at(app.sql, pid, **where).progress()
        assert asof.progress_at(app.sql, pid, **where) == expected, where
        checked_nonzero += any(r["reflections"] or r["decisions"] for r in expected)
    assert asof.progress_at(app.sql, pid) == asof.state_at(app.sql, pid).progress()
    return checked_nonzero


@pytest.fixture
def small_totals(monkeypatch):
    monkeypatch.setattr(asof, "TOTALS_EVERY", 37)  # many totals rows in a small log
    monkeypatch.setattr(asof, "CHECKPOINT_MIN", 50)


def test_funnel_from_totals_equals_the_fold_at_random_moments(app, small_totals):
    result = load_demo(app, seed=5, programmes=2, participants=6)
    catch_up(app, batch_size=89)  # batches that do not line up with totals rows
    rows = app.sql.query(f"SELECT COUNT(*) AS n FROM {app.sql.table(asof.TOTALS)}")[0]["n"]
    assert rows >= 2 * 10  # totals every 37 changes of each programme
    for n, pid in enumerate(result.programme_ids):
        assert _check(app, str(pid), seed=n) > 10  # most moments have records counted


def test_totals_survive_eviction_and_a_rebuild(app, small_totals, monkeypatch):
    """Programme states evicted between runs are loaded back (their totals recomputed
    from the state); a rebuild writes the same totals rows."""
    monkeypatch.setattr(asof, "CACHED_STATES", 0)
    result = load_demo(app, seed=6, programmes=3, participants=4)
    catch_up(app, batch_size=50)
    pids = [str(p) for p in result.programme_ids]
    for n, pid in enumerate(pids):
        _check(app, pid, seed=10 + n, n=30)
    table = app.sql.table(asof.TOTALS)
    before = app.sql.query(f"SELECT programme_id, position, totals FROM {table} "
                           "ORDER BY programme_id, position")
    rebuild(app, ["timeline"], workers=1)
    after = app.sql.query(f"SELECT programme_id, position, totals FROM {table} "
                          "ORDER BY programme_id, position")
    assert after == before and before
    for n, pid in enumerate(pids):
        _check(app, pid, seed=20 + n, n=30)


def test_before_the_programme_was_planned_the_funnel_is_empty(app):
    result = load_demo(app, seed=7, participants=2)
    catch_up(app)
    pid = str(result.programme_ids[0])
    assert asof.progress_at(app.sql, pid, position=0) == []
    assert asof.progress_at(app.sql, pid, time="2000-01-01") == \
        asof.state_at(app.sql, pid, time="2000-01-01").progress()
    with pytest.raises(asof.UnknownProgrammeError):
        asof.progress_at(app.sql, "00000000-0000-0000-0000-000000000000")


def test_migrate_rebuilds_a_timeline_made_before_the_totals(app, store_url, small_totals):
    """A store whose timeline predates ``pj_timeline_totals``: migrate re-creates the
    timeline and sets it back to 0, so catching up writes the totals from the log."""
    from projections.base import read_positions
    from projections.schema import migrate

    result = load_demo(app, seed=8, participants=3)
    catch_up(app)
    pid = str(result.programme_ids[0])
    expected = asof.state_at(app.sql, pid).progress()
    with app.sql.transaction() as cur:
        cur.execute(f"DROP TABLE {app.sql.table(asof.TOTALS)}")
    migrate(store_url)
    assert read_positions(app.sql)["timeline"] == 0
    assert read_positions(app.sql)["progress"] == app.max_position()  # others untouched
    catch_up(app)
    assert asof.progress_at(app.sql, pid) == expected
    assert app.sql.query(f"SELECT COUNT(*) AS n FROM {app.sql.table(asof.TOTALS)}")[0]["n"]


def test_a_slow_checkpoint_parse_does_not_leave_the_read_idle(pg_schema_url, monkeypatch):
    """A big checkpoint is parsed after the read's transaction: PostgreSQL ends a
    transaction idle for longer than its timeout (eventsourcing's default 5 s; 1 s here,
    with parsing slowed down), which killed as-of reads of a 100k-event programme."""
    import time as clock_time

    from domain.application import Framdrift
    from projections.schema import migrate

    monkeypatch.setattr(asof, "CHECKPOINT_MIN", 20)
    Framdrift.migrate(pg_schema_url).close()
    migrate(pg_schema_url)
    app = Framdrift.from_url(pg_schema_url, POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT="1")
    try:
        result = load_demo(app, seed=9, participants=2)
        catch_up(app)
        pid = str(result.programme_ids[0])
        expected = asof.state_at(app.sql, pid, position=app.max_position() // 2).progress()
        real = asof.unpack

        def slow(blob):
            clock_time.sleep(1.5)
            return real(blob)

        monkeypatch.setattr(asof, "unpack", slow)
        assert asof.state_at(app.sql, pid, position=app.max_position() // 2).progress() == \
            expected
    finally:
        app.close()


def test_a_moment_by_position_and_time_is_the_earlier_of_the_two(app, small_totals):
    """Both bounds at once: the funnel as of the earlier (one bound in the statement,
    the lower of the position and the time's position)."""
    result = load_demo(app, seed=11, participants=6)
    catch_up(app)
    pid = str(result.programme_ids[0])
    rng = random.Random(11)
    positions = [m for m in _moments(app, pid, rng, 120) if "position" in m]
    times = [m for m in _moments(app, pid, rng, 120) if "time" in m]
    earlier = set()
    for where in ({**at, **when} for at, when in zip(positions, times, strict=False)):
        expected = asof.state_at(app.sql, pid, **where).progress()
        assert asof.progress_at(app.sql, pid, **where) == expected, where
        by_position = asof.state_at(app.sql, pid, position=where["position"]).position
        earlier.add("time" if asof.state_at(app.sql, pid, **where).position < by_position
                    else "position")
    assert earlier == {"time", "position"}  # either bound was the lower one


def _work(app, statement: str, params: list) -> int:
    """What the store did for one statement, independent of the machine's load: SQLite's
    virtual machine instructions, PostgreSQL's rows read by every plan node (returned or
    removed by a filter, times its loops)."""
    if app.sql.postgres:
        plan = app.sql.query("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params)
        top = next(iter(plan[0].values()))
        top = top[0]["Plan"] if isinstance(top, list) else top

        def rows(node) -> int:
            own = (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)) \
                * node.get("Actual Loops", 1)
            return own + sum(rows(n) for n in node.get("Plans", ()))

        return rows(top)
    import sqlite3

    steps = [0]

    def tick() -> int:
        steps[0] += 1
        return 0

    con = sqlite3.connect(app.config.url.removeprefix("sqlite:///"))
    try:
        con.set_progress_handler(tick, 10)
        con.execute(statement, params).fetchall()
    finally:
        con.close()
    return steps[0]


@pytest.mark.parametrize("consent", [False, True])
def test_a_time_costs_what_a_position_costs(app, small_totals, monkeypatch, consent):
    """Issue 14: the funnel as of a TIME early in a programme cost a scan to the
    programme's end (two upper bounds, and SQLite seeked by the unbounded one): p99
    233 ms at 1M events. The same moment by time and by position now does the same
    work, a bounded seek, wherever it lies in the programme."""
    result = load_demo(app, seed=12, participants=40)
    catch_up(app)
    pid = str(result.programme_ids[0])
    if consent:  # someone's rows to take off again
        state = asof.state_at(app.sql, pid)
        app.withdraw_consent(sorted(r["participant_id"] for r in state.records.values())[0])
        catch_up(app)
    rows = app.sql.query(f"SELECT position, max_time FROM {app.sql.table(asof.TIMELINE)} "
                         "WHERE programme_id = ? ORDER BY position", (pid,))
    assert len(rows) > 30 * asof.TOTALS_EVERY  # a scan to the end would show
    statements: list[tuple[str, list]] = []
    query = app.sql.query

    def spy(statement, params=()):
        statements.append((statement, list(params)))
        return query(statement, params)

    monkeypatch.setattr(app.sql, "query", spy)
    for row in (rows[len(rows) // 20], rows[len(rows) // 2]):
        # the longest prefix whose events all happened by max_time ends at this row
        # or later: the same moment as a position
        by_time = asof.progress_moment(app.sql, pid, row["max_time"])
        by_position = asof.progress_moment(app.sql, pid, by_time[0])
        assert by_time == by_position
        work_time, work_position = (_work(app, *s) for s in statements[-2:])
        assert work_time < 2 * work_position + 200, (row, work_time, work_position)
