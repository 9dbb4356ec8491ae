"""A parallel rebuild (processes each building their share of the programmes, or part of
the read models) yields exactly the tables of a single-process rebuild, and a failing part
swaps nothing in."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from domain.accounts import issue_token
from domain.demo import load_demo
from projections import runner
from projections.base import read_positions
from projections.runner import Part, RebuildFailed, plan_parts, rebuild, shareable
from projections.views import NAMES
from tests.integration.test_projections_rebuild import dump


def test_parallel_rebuild_equals_single_process(app):
    load_demo(app)
    head = app.max_position()
    single = rebuild(app, workers=1)
    expected = dump(app)
    progress: list[int] = []
    result = rebuild(app, workers=2, parallel_min_events=0, batch_size=300,
                     progress=progress.append)
    assert dump(app) == expected
    assert single.events == result.events == head and result.position == head
    assert single.plan == "1 process"
    assert result.plan == "2 processes, each with some of the read models"
    assert sum(progress) == head and len(progress) > 1
    assert read_positions(app.sql) == {name: head for name in NAMES}
    # a subset: the timeline in one process, the directory and maturity in the other
    rebuild(app, ["timeline", "maturity"], workers=2, parallel_min_events=0)
    assert dump(app) == expected


@pytest.mark.parametrize("fault", ["0:raise", "1:raise", "1:exit"])
def test_failing_part_leaves_the_old_tables(app, monkeypatch, fault):
    load_demo(app)
    rebuild(app, workers=1)
    app.plan_programme(organisation="Later", title="Not yet projected",
                       first_day=date(2026, 3, 2), units=[{"key": "u", "name": "U"}])
    before, positions = dump(app), read_positions(app.sql)
    monkeypatch.setenv("FRAMDRIFT_REBUILD_FAULT", fault)
    with pytest.raises(RebuildFailed, match="nothing was swapped in"):
        rebuild(app, workers=2, parallel_min_events=0, batch_size=300)
    assert dump(app) == before
    assert read_positions(app.sql) == positions
    monkeypatch.delenv("FRAMDRIFT_REBUILD_FAULT")
    rebuild(app, workers=2, parallel_min_events=0)
    assert any(r["title"] == "Not yet projected"
               for r in app.sql.query("SELECT title FROM " + app.sql.table("pj_programmes")))


def test_programme_partitions_equal_single_process(app, monkeypatch):
    """Three processes, each with every read model for a third of the programmes (dealt
    out in the order they were planned), and an account event that belongs to none."""
    load_demo(app, programmes=4)
    issue_token(app, role="evaluator", label="e")  # an account: in no programme (part 0)
    head = app.max_position()
    rebuild(app, workers=1)
    expected = dump(app)
    monkeypatch.setattr(runner, "PARTITION_MIN_PROGRAMMES", 1)
    parts: list[list[Part]] = []
    plan = runner.plan_parts
    monkeypatch.setattr(runner, "plan_parts", lambda *a: parts.append(plan(*a)) or parts[-1])
    result = rebuild(app, workers=3, parallel_min_events=0, batch_size=500)
    assert [p.partition for p in parts[0]] == [(0, 3), (1, 3), (2, 3)]
    assert result.plan == "3 processes, each with its share of the programmes"
    assert result.events == head and result.position == head
    assert dump(app) == expected
    assert read_positions(app.sql) == {name: head for name in NAMES}
    monkeypatch.setenv("FRAMDRIFT_REBUILD_FAULT", "2:raise")
    with pytest.raises(RebuildFailed, match="programme partition 3 of 3"):
        rebuild(app, workers=3, parallel_min_events=0, batch_size=500)
    assert dump(app) == expected


def test_parts_and_fallbacks():
    names = list(NAMES)
    assert plan_parts(names, 1) == [Part(names)]
    assert plan_parts(names, 2) == [Part(["timeline"]), Part([n for n in names if n != "timeline"])]
    assert plan_parts(["directory", "maturity"], 2) == [Part(["directory", "maturity"])]
    assert plan_parts(names, 2, programmes=15) == plan_parts(names, 2)
    assert plan_parts(names, 2, programmes=16) == [Part(names, (0, 2)), Part(names, (1, 2))]
    assert [p.directory for p in plan_parts(names, 2)] == ["memory", "write"]
    memory = SimpleNamespace(sql=SimpleNamespace(postgres=False),
                             config=SimpleNamespace(env={"SQLITE_DBNAME": ":memory:"}))
    assert not shareable(memory)
    memory.config.env["SQLITE_DBNAME"] = "file:x?mode=memory&cache=shared"
    assert not shareable(memory)
    memory.config.env["SQLITE_DBNAME"] = "/srv/framdrift.sqlite3"
    assert shareable(memory)


def test_a_failed_batch_deals_its_programmes_again(app, monkeypatch):
    """A programme part whose batch fails reads it again and deals the programmes the same
    way (what it learned of owners stays valid: ownership never depends on a rollback)."""
    from projections.runner import Runner
    from projections.schema import create_tables, drop_tables
    from projections.views import TimelineView

    result = load_demo(app, programmes=3)
    rebuild(app, workers=1)
    second = str(result.programme_ids[1])  # the 2nd planned: part 1 of 2
    expected = app.sql.query(f"SELECT * FROM {app.sql.table('pj_timeline')} "
                             "WHERE programme_id = ? ORDER BY position", (second,))
    with app.sql.transaction() as cur:
        for name in NAMES:
            drop_tables(cur, app.sql, name, "_p")
            create_tables(cur, app.sql, name, "_p")
    part = Runner(app, suffix="_p", tracked=False, partition=(1, 2), batch_size=700)
    flush, calls = TimelineView.flush, []

    def failing_once(self, cur):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        flush(self, cur)

    monkeypatch.setattr(TimelineView, "flush", failing_once)
    with pytest.raises(RuntimeError, match="disk full"):
        part.catch_up()
    part.catch_up()
    assert part.planned == 3
    rows = app.sql.query(f"SELECT * FROM {app.sql.table('pj_timeline_p')} ORDER BY position")
    assert {r["programme_id"] for r in rows} == {second}
    assert rows == expected


def test_bounded_caches_build_the_same_tables(app, monkeypatch):
    """With every cache of a rebuild bounded to almost nothing (issue 14, item 4), the
    tables are the same: evicted programme states come back from the spill file, forgotten
    facts from the tables, and a programme part that forgot an aggregate's part reads the
    aggregate's first event again."""
    from domain import describe
    from projections import asof, views
    from projections.runner import Runner
    from projections.schema import create_tables, drop_tables, swap_in

    load_demo(app, programmes=4, participants=4)
    issue_token(app, role="evaluator", label="e")
    rebuild(app, workers=1)
    expected = dump(app)
    monkeypatch.setattr(asof, "CACHED_STATES_REBUILD", 0)
    for module, name in ((runner, "OWNERS_KEPT"), (runner, "UUIDS_KEPT"),
                         (views, "FACTS_KEPT"), (describe, "IDS_KEPT")):
        monkeypatch.setattr(module, name, 2)
    rebuild(app, workers=1, batch_size=97)
    assert dump(app) == expected

    with app.sql.transaction() as cur:
        for name in NAMES:
            drop_tables(cur, app.sql, name, "_p")
            create_tables(cur, app.sql, name, "_p")
    select_events, first_events = app.recorder.select_events, []

    def counted(originator_id, **kwargs):
        first_events.append(originator_id)
        return select_events(originator_id, **kwargs)

    monkeypatch.setattr(app.recorder, "select_events", counted)
    for index in range(2):
        part = Runner(app, suffix="_p", tracked=False, partition=(index, 2), batch_size=97)
        part.catch_up()
        assert len(part.owners) <= 2 and len(part.programmes) == 4
        timeline = next(p.view for p in part.projections if p.name == "timeline")
        assert timeline.asof.spill.where  # the programmes' states, evicted after each batch
        assert len(timeline.asof.states) == 0
    assert first_events  # forgotten aggregates were looked up again
    with app.sql.transaction() as cur:
        for name in NAMES:
            swap_in(cur, app.sql, name, "_p")
    assert dump(app) == expected
