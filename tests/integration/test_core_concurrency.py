"""Real threads on PostgreSQL: a lost race raises ConcurrentChangeError, nothing is overwritten."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date

import pytest

from api.cli import migrate_all
from domain import errors
from domain.application import Framdrift
from tests.threads import run_in_threads

pytestmark = pytest.mark.postgres
TIMEOUT = 30


@pytest.fixture
def pg_url(pg_schema_url: str) -> str:
    migrate_all(pg_schema_url)
    return pg_schema_url


def seeded(url: str):
    app = Framdrift.from_url(url)
    pid = app.plan_programme(organisation="Exempelby", title="T", first_day=date(2026, 9, 7),
                             units=[{"key": "soc", "name": "Social services"}])
    ada = app.enrol_participant(pid, name="Ada", email=None, role="manager", unit="soc")
    return app, pid, ada


class SavesTogether(Framdrift):
    """Waits at a barrier just before saving, so both racers have read the same version."""

    name = Framdrift.name  # the same tables

    barrier: threading.Barrier

    def _save(self, *aggregates):
        self.barrier.wait(TIMEOUT)
        return super()._save(*aggregates)


class ChecksTogether(Framdrift):
    """Waits at a barrier after the "already created?" check, so both racers try to create."""

    name = Framdrift.name

    barrier: threading.Barrier

    def _already(self, kind, request_id):
        found = super()._already(kind, request_id)
        self.barrier.wait(TIMEOUT)
        return found


def test_concurrent_amendments_one_wins_the_other_is_refused(pg_url):
    app, _, ada = seeded(pg_url)
    r = app.log_reflection(ada, week=2, example="Original")
    barrier = threading.Barrier(2)
    racers = []
    for _ in range(2):
        racer = SavesTogether.from_url(pg_url)
        racer.barrier = barrier
        racers.append(racer)
    try:
        outcomes = run_in_threads([
            lambda: racers[0].amend_reflection(r, example="Amended by thread one"),
            lambda: racers[1].amend_reflection(r, example="Amended by thread two"),
        ])
    finally:
        for racer in racers:
            racer.close()
    kinds = sorted(kind for kind, _ in outcomes)
    assert kinds == ["error", "ok"], outcomes
    error = next(value for kind, value in outcomes if kind == "error")
    assert isinstance(error, errors.ConcurrentChangeError)
    events = Counter(type(e).__qualname__ for _, e in app.iter_log() if e.originator_id == r)
    assert events == Counter({"Reflection.Logged": 1, "Reflection.Amended": 1})
    record = app.get_record(r)
    assert record["version"] == 2
    winner = 0 if outcomes[0][0] == "ok" else 1
    assert record["example"] == ["Amended by thread one", "Amended by thread two"][winner]
    app.close()


def test_concurrent_amendments_with_aggregates_and_expected_version(pg_url):
    """Both threads read version 1 through their own app, then save; one save loses."""
    app, _, ada = seeded(pg_url)
    r = app.log_reflection(ada, week=2, example="Original")
    barrier = threading.Barrier(2)
    apps = [Framdrift.from_url(pg_url) for _ in range(2)]

    def amend(racer: Framdrift, text: str):
        reflection = racer.repository.get(r)
        assert reflection.version == 1
        barrier.wait(TIMEOUT)
        reflection.amend(example=text, deficiency=None, solutions=None, development_areas=[])
        return racer._save(reflection)

    try:
        outcomes = run_in_threads([lambda: amend(apps[0], "one"), lambda: amend(apps[1], "two")])
    finally:
        for a in apps:
            a.close()
    assert sorted(kind for kind, _ in outcomes) == ["error", "ok"], outcomes
    assert any(isinstance(v, errors.ConcurrentChangeError) for _, v in outcomes)
    names = [type(e).__qualname__ for _, e in app.iter_log() if e.originator_id == r]
    assert names == ["Reflection.Logged", "Reflection.Amended"]
    # the loser retries with what it read and is told it is stale
    with pytest.raises(errors.ConcurrentChangeError):
        app.amend_reflection(r, example="stale", expected_version=1)
    app.close()


@pytest.mark.parametrize("kind", ["reflection", "participant", "decision"])
def test_concurrent_creation_with_one_request_id_creates_once(pg_url, kind):
    app, pid, ada = seeded(pg_url)
    barrier = threading.Barrier(2)
    racers = []
    for _ in range(2):
        racer = ChecksTogether.from_url(pg_url)
        racer.barrier = barrier
        racers.append(racer)
    create = {
        "reflection": lambda a: a.log_reflection(ada, week=2, example="Same",
                                                 request_id="same-request"),
        "participant": lambda a: a.enrol_participant(pid, name="Cy", email=None,
                                                     role="expert", unit="soc",
                                                     request_id="same-request"),
        "decision": lambda a: a.make_decision(ada, week=2, statement="Same",
                                              request_id="same-request"),
    }[kind]
    try:
        outcomes = run_in_threads([lambda: create(racers[0]), lambda: create(racers[1])])
    finally:
        for racer in racers:
            racer.close()
    assert [k for k, _ in outcomes] == ["ok", "ok"], outcomes
    assert outcomes[0][1] == outcomes[1][1]
    created = outcomes[0][1]
    created_events = [
        e for _, e in app.iter_log()
        if e.originator_id == created and e.originator_version == 1
    ]
    assert len(created_events) == 1
    all_created = Counter(type(e).__qualname__ for _, e in app.iter_log()
                          if e.originator_version == 1)
    expected = {"reflection": "Reflection.Logged", "participant": "Participant.Enrolled",
                "decision": "Decision.Made"}[kind]
    assert all_created[expected] == (2 if kind == "participant" else 1)
    app.close()
