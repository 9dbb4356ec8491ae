"""Loading aggregates on the write path (issue 14, ADR 0008): the aggregate cache with
fast-forward, snapshots of the programme, and what they must never do (serve a stale
version to a version check, keep an erased participant's texts, fail a recorded command).

Each test body runs on SQLite and PostgreSQL; "another process" is a second application
on the same store, with a cache of its own."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from domain import errors
from domain.application import Framdrift
from domain.model import Programme


def seed(app: Framdrift) -> tuple[Any, Any]:
    pid = app.plan_programme(organisation="Exempelby", title="T", first_day=date(2026, 9, 7),
                             units=[{"key": "soc", "name": "Social services"}])
    ada = app.enrol_participant(pid, name="Ada Andersson", email="ada@example.org",
                                role="manager", unit="soc", consent=True)
    return pid, ada


class Counting:
    """Counts the events an application decodes (to_domain_event)."""

    def __init__(self, app: Framdrift):
        self.n = 0
        original = app.mapper.to_domain_event

        def counting(stored: Any) -> Any:
            self.n += 1
            return original(stored)

        app.mapper.to_domain_event = counting  # type: ignore[method-assign]


def test_a_write_decodes_only_new_events_once_warm(app: Framdrift):
    pid, ada = seed(app)
    for n in range(30):
        app.identify_development_area(pid, name=f"Area {n}")
    app.log_reflection(ada, week=1, example="warm-up")
    counting = Counting(app)
    for n in range(5):
        app.get_participant(ada)  # what a page's sign-in check reads
        app.get_programme(pid)
        app.log_reflection(ada, week=1, example=f"Reflection {n}", request_id=f"r-{n}")
    # before: participant and programme folded from their first event on every load
    # (2 x (3 + 31) events per round); now nothing but what is new
    assert counting.n == 0


def test_other_processes_writes_are_seen_and_version_checks_use_them(store_url: str, app):
    pid, ada = seed(app)
    other = Framdrift.from_url(store_url)
    try:
        area = app.identify_development_area(pid, name="Första")
        before = app.get_programme(pid)  # cached here
        other.rename_development_area(pid, area, name="Omdöpt", request_id="rename-1")
        after = app.get_programme(pid)
        assert after["version"] == before["version"] + 1
        assert [a["name"] for a in after["development_areas"]] == ["Omdöpt"]
        # a client that read the version before the other process's change loses
        with pytest.raises(errors.ConcurrentChangeError):
            app.rename_development_area(pid, area, name="Mitt namn",
                                        expected_version=before["version"])
        assert app.get_programme(pid)["development_areas"][0]["name"] == "Omdöpt"
        # the same request id retried here answers as the first time, writes nothing
        app.rename_development_area(pid, area, name="Omdöpt", request_id="rename-1")
        assert app.get_programme(pid)["version"] == after["version"]
    finally:
        other.close()


def test_an_erased_participant_is_not_served_from_a_cache(store_url: str, app):
    pid, ada = seed(app)
    other = Framdrift.from_url(store_url)
    try:
        assert other.get_participant(ada)["name"] == "Ada Andersson"  # cached there
        app.erase_participant(ada)
        other.keys.forget_cache()  # its data-key cache lasts seconds (test_key_cache.py)
        seen = other.get_participant(ada)
        assert seen["erased"] is True
        assert seen["name"] is not None and "Ada" not in seen["name"]
        assert seen["email"] is not None and "ada@" not in seen["email"]
        assert ada not in other.repository.cache.cache  # type: ignore[union-attr]
    finally:
        other.close()


def test_a_cached_value_is_never_changed_by_a_command(app: Framdrift):
    pid, ada = seed(app)
    shared = app._read(Programme, pid, errors.ProgrammeNotFoundError)
    mine = app._get(Programme, pid, errors.ProgrammeNotFoundError)
    assert mine is not shared
    mine.identify_development_area(name="Bara min kopia", description="")
    assert shared.development_areas == {}
    with pytest.raises(RuntimeError, match="reading only"):
        shared.identify_development_area(name="Fel", description="")
        app._save(shared)
    # the misused value was dropped: the next load folds the store again
    assert app.get_programme(pid)["development_areas"] == []


def test_the_programme_is_snapshotted_and_loads_from_its_snapshot(store_url: str, app):
    interval = Framdrift.snapshotting_intervals[Programme]
    pid, ada = seed(app)
    with app.batch():  # a bulk load takes its snapshot too
        for n in range(interval + 10):
            app.identify_development_area(pid, name=f"Area {n}")
    for _ in range(interval):
        app.hold_check_in(pid, week=1, held_on=date(2026, 9, 8))
    # one snapshot each time a multiple of the interval is reached, of the state as
    # stored then (the batch's: all of it)
    snapshots = list(app.snapshots.get(pid))  # type: ignore[union-attr]
    assert [s.originator_version for s in snapshots] == [interval + 11, 2 * interval]
    version = app.get_programme(pid)["version"]
    assert version == 2 * interval + 11

    fresh = Framdrift.from_url(store_url)
    try:
        counting = Counting(fresh)
        loaded = fresh.get_programme(pid)
        assert counting.n == 1 + (version - 2 * interval)  # the snapshot, then what follows
        whole = programme_dict_without_snapshots(fresh, pid)
        assert loaded == whole  # the same state as folding every event
        assert ada  # (enrolled before; untouched)
    finally:
        fresh.close()


def programme_dict_without_snapshots(app: Framdrift, pid: Any) -> dict[str, Any]:
    from domain.application import programme_to_dict
    from domain.loading import fold

    events = app.repository.event_store.get(originator_id=pid)
    return programme_to_dict(fold(None, events))


def test_a_snapshot_that_cannot_be_written_does_not_fail_the_command(app: Framdrift, caplog):
    interval = Framdrift.snapshotting_intervals[Programme]
    pid, _ = seed(app)
    table = app.snapshots.recorder.events_table_name  # type: ignore[union-attr]
    app.sql.execute(f"DROP TABLE {app.sql.table(table.split('.')[-1])}")
    with app.batch():
        for n in range(interval - 2):
            app.identify_development_area(pid, name=f"Area {n}")
    area = app.identify_development_area(pid, name="The one at the interval")
    assert app.get_programme(pid)["version"] == interval
    assert area in [a["area_id"] for a in app.get_programme(pid)["development_areas"]]
    assert "could not snapshot" in caplog.text
    fresh = Framdrift.from_url(app.config.url)  # reads without the table: folds events
    try:
        assert fresh.get_programme(pid)["version"] == interval
    finally:
        fresh.close()
