"""Group commit (issue 14, ADR 0008; domain/groupcommit.py): concurrent writers' events
in one transaction, each answered only after its own commit, all or none per request,
one failing request failing alone, the hash chain intact.

The first writer's transaction is held until the others have queued, so the rest are
written as one group (deterministically, not by luck of timing)."""

from __future__ import annotations

import threading
import time
from datetime import date
from typing import Any

import pytest

from domain import errors
from domain.application import Framdrift
from domain.model import record_id_for

TIMEOUT = 20


def seed(app: Framdrift, people: int) -> tuple[Any, list[Any]]:
    pid = app.plan_programme(organisation="Exempelby", title="T", first_day=date(2026, 9, 7),
                             units=[{"key": "soc", "name": "Social services"}])
    ids = [app.enrol_participant(pid, name=f"Person {n}", email=None, role="expert",
                                 unit="soc", consent=True) for n in range(people)]
    return pid, ids


def grouped(app: Framdrift, first: Any, others: list[Any]) -> list[Any]:
    """Run ``first`` (a callable), hold its write until every one of ``others`` has queued
    its events behind it, one after the other in the order given, then let all go; each
    one's result or exception, in order."""
    gc = app.recorder.group_commit
    assert gc is not None
    gate = threading.Event()
    write = gc.write

    def held(events):
        gate.wait(TIMEOUT)
        return write(events)

    gc.write = held
    results: list[Any] = [None] * (1 + len(others))

    def run(n: int, fn: Any) -> None:
        try:
            results[n] = fn()
        except Exception as e:  # noqa: BLE001 - the answer under test
            results[n] = e

    threads = [threading.Thread(target=run, args=(0, first))]
    threads[0].start()
    deadline = time.monotonic() + TIMEOUT
    while not gc._busy and time.monotonic() < deadline:
        time.sleep(0.005)
    for n, fn in enumerate(others, 1):
        threads.append(threading.Thread(target=run, args=(n, fn)))
        threads[-1].start()
        while len(gc._queue) < n and time.monotonic() < deadline:
            time.sleep(0.005)  # queued in the order given
    assert len(gc._queue) == len(others)  # all queued behind the first, held write
    app.queued = [r.events[0].originator_id for r in gc._queue]  # type: ignore[attr-defined]
    gc.write = write
    gate.set()
    for t in threads:
        t.join(TIMEOUT)
    return results


def stored(store_url: str, record_id: Any) -> bool:
    fresh = Framdrift.from_url(store_url)
    try:
        return fresh._contains(record_id)
    finally:
        fresh.close()


def test_concurrent_writes_share_a_transaction_and_each_gets_its_own_answer(store_url, app):
    pid, people = seed(app, 6)
    gc = app.recorder.group_commit
    before = gc.groups, gc.requests
    results = grouped(app, lambda: app.log_reflection(people[0], week=1, example="first"), [
        (lambda p=p, n=n: app.log_reflection(p, week=1, example=f"text {n}",
                                             request_id=f"g-{n}"))
        for n, p in enumerate(people[1:])])
    assert all(not isinstance(r, Exception) for r in results), results
    groups, requests = gc.groups - before[0], gc.requests - before[1]
    assert requests == 6 and groups == 2  # the first alone, then the other five together
    for n, rid in enumerate(results[1:]):
        assert rid == record_id_for("reflection", f"g-{n}")
        assert app.get_record(rid)["example"] == f"text {n}"
    # all-or-none per request and queue order: each request's events are contiguous and
    # in the order queued; the chain covers them all
    log = [e for _, e in app.read_log(app.max_position() - 5, 10)]
    assert [e.originator_id for e in log] == app.queued  # type: ignore[attr-defined]
    assert sorted(app.queued) == sorted(results[1:])  # type: ignore[attr-defined]
    assert app.chain.verify().ok


def test_one_conflicting_request_fails_alone(store_url, app):
    pid, people = seed(app, 4)
    material = app.publish_material(pid, week=1, kind="report", title="Läs detta")
    target = people[0]
    # two requests change the same participant from the same version: one must lose
    results = grouped(app, lambda: app.log_reflection(people[1], week=1, example="first"), [
        lambda: app.log_reflection(people[2], week=1, example="a", request_id="ok-1"),
        lambda: app.record_material_taken_part_of(target, material, request_id="m-1"),
        lambda: app.withdraw_consent(target, request_id="c-1"),
        lambda: app.log_reflection(people[3], week=1, example="b", request_id="ok-2"),
    ])
    assert not isinstance(results[0], Exception)
    assert results[1] == record_id_for("reflection", "ok-1")
    assert results[4] == record_id_for("reflection", "ok-2")
    outcomes = [isinstance(r, errors.ConcurrentChangeError) for r in results[2:4]]
    assert sorted(outcomes) == [False, True], results  # exactly one of the two lost
    assert stored(store_url, results[1]) and stored(store_url, results[4])
    participant = app.get_participant(target)
    assert (material in participant["materials"]) != (participant["consent"] is False)
    assert app.chain.verify().ok


def test_a_repeated_request_goes_in_the_next_group(store_url, app):
    """A retry queued behind its own first try (same request id, so the same record id
    and version) is written in the next group, not in the same one: the group is not
    failed and written again request by request, and both tries answer the same id."""
    pid, people = seed(app, 3)
    gc = app.recorder.group_commit
    writes = []
    write = gc.write

    def counted(events):
        writes.append(len(events))
        return write(events)

    gc.write = counted
    before = gc.groups
    try:
        results = grouped(app, lambda: app.log_reflection(people[0], week=1, example="first"), [
            lambda: app.log_reflection(people[1], week=1, example="again", request_id="dup"),
            lambda: app.log_reflection(people[2], week=1, example="other", request_id="o-1"),
            lambda: app.log_reflection(people[1], week=1, example="again", request_id="dup"),
        ])
    finally:
        gc.write = write
    assert all(not isinstance(r, Exception) for r in results), results
    assert results[1] == results[3] == record_id_for("reflection", "dup")
    assert results[2] == record_id_for("reflection", "o-1")
    # the first alone, then [dup, o-1], then the retry alone: three writes, none failed
    assert gc.groups - before == 3
    assert len(writes) == 3, writes
    assert app.get_record(results[1])["example"] == "again"
    assert app.chain.verify().ok


def test_a_failure_at_commit_never_answers_success(pg_schema_url):
    """PostgreSQL: a deferred constraint trigger fails one request's event AT COMMIT; the
    group's transaction is rolled back whole, the others are written again alone and
    succeed, the failing one is answered with the error and nothing of it is stored."""
    from tests.conftest import migrate_all

    migrate_all(pg_schema_url)
    app = Framdrift.from_url(pg_schema_url)
    try:
        pid, people = seed(app, 4)
        doomed = record_id_for("reflection", "doomed")
        schema = app.sql.schema
        app.sql.execute(f"""
            CREATE FUNCTION {schema}.fail_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.originator_id = '{doomed}'::uuid THEN
                RAISE EXCEPTION 'injected failure at commit';
              END IF;
              RETURN NULL;
            END $$""")
        app.sql.execute(f"""
            CREATE CONSTRAINT TRIGGER fail_at_commit AFTER INSERT ON {schema}.framdrift_events
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
            EXECUTE FUNCTION {schema}.fail_at_commit()""")
        results = grouped(app, lambda: app.log_reflection(people[0], week=1, example="x"), [
            lambda: app.log_reflection(people[1], week=1, example="y", request_id="fine-1"),
            lambda: app.log_reflection(people[2], week=1, example="z", request_id="doomed"),
            lambda: app.log_reflection(people[3], week=1, example="w", request_id="fine-2"),
        ])
        assert isinstance(results[2], Exception)
        assert "injected failure at commit" in str(results[2])
        assert not stored(pg_schema_url, doomed)
        for n, rid in ((1, "fine-1"), (3, "fine-2")):
            assert results[n] == record_id_for("reflection", rid)
            assert stored(pg_schema_url, results[n])
        assert stored(pg_schema_url, results[0])
        assert app.chain.verify().ok
    finally:
        app.close()


@pytest.mark.parametrize("threads", [16])
def test_many_writers_at_once(store_url, app, threads):
    """No lost or doubled request under real contention; the chain verifies."""
    pid, people = seed(app, threads)
    done: list[Any] = []
    failures: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(5):
                done.append(app.log_reflection(people[n], week=1, example=f"{n}-{i}",
                                               request_id=f"w-{n}-{i}"))
        except BaseException as e:  # noqa: BLE001
            failures.append(e)

    ts = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert not failures, failures[:3]
    assert len(set(done)) == threads * 5
    assert all(app._contains(rid) for rid in done)
    assert app.chain.verify().ok
