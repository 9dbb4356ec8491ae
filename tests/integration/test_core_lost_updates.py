"""No lost updates (issue 10, item 3): every command that takes an ``expected_version``
checks it on the aggregate it loaded and saves that same aggregate, so of N writers that
read the same version exactly one wins and the others get ConcurrentChangeError.

Real threads, each with its own application (as separate web workers have), on SQLite
(a file, so the threads really race) and on PostgreSQL. Every racer waits at a barrier
right after it has loaded the aggregate, so all N hold the same version before any saves.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

import pytest

from domain import errors
from domain.application import Framdrift
from tests.threads import run_in_threads

N = 8
TIMEOUT = 30


class LoadsTogether(Framdrift):
    """Waits at a barrier after its first load of the target, so every racer holds the
    same version before any of them saves."""

    name = Framdrift.name  # the same tables

    target: UUID
    barrier: threading.Barrier
    loaded = False

    def _get(self, cls, aggregate_id, error):
        found = super()._get(cls, aggregate_id, error)
        if found.id == self.target and not self.loaded:
            self.loaded = True
            self.barrier.wait(TIMEOUT)
        return found


def seed(app: Framdrift) -> dict[str, Any]:
    """One programme with something of every kind for a versioned command to change."""
    pid = app.plan_programme(organisation="Exempelby", title="T", first_day=date(2026, 9, 7),
                             units=[{"key": "soc", "name": "Social services"},
                                    {"key": "it", "name": "IT"}])
    areas = [app.identify_development_area(pid, name=f"Area {n}") for n in range(N + 1)]
    ada = app.enrol_participant(pid, name="Ada", email=None, role="manager", unit="soc",
                                consent=True)
    bo = app.enrol_participant(pid, name="Bo", email=None, role="expert", unit="it")
    ids: dict[str, Any] = {"programme": pid, "areas": areas, "ada": ada, "bo": bo}
    ids["reflection"] = app.log_reflection(ada, week=1, example="Original")
    ids["decision"] = app.make_decision(ada, week=1, statement="Original")

    def experiment(steps: int) -> UUID:
        e = app.plan_experiment(ada, week=1, aim="a", change="c", prediction="p", measure="m")
        if steps >= 1:
            app.start_experiment(e, week=1)
        if steps >= 2:
            app.evaluate_experiment(e, result="r", learning="l")
        if steps >= 3:
            app.conclude_experiment(e, outcome="adopt")
        return e

    ids["planned"], ids["started"], ids["evaluated"] = experiment(0), experiment(1), experiment(2)
    ids["capability"] = app.establish_capability(ada, week=1, name="C", description="d",
                                                 experiments=[experiment(3)])
    ids["open"] = app.plan_experiment(ada, week=1, aim="a", change="c", prediction="p",
                                      measure="m", shared=True)
    ids["teamed"] = app.plan_experiment(ada, week=1, aim="a", change="c", prediction="p",
                                        measure="m", shared=True, team=[bo])
    return ids


# command -> (the aggregate it changes, what racer i asks for with the version it read)
Command = Callable[[Framdrift, dict[str, Any], int, int], Any]
COMMANDS: dict[str, tuple[str, Command]] = {
    "rename_development_area": ("programme", lambda a, ids, v, i: a.rename_development_area(
        ids["programme"], ids["areas"][0], name=f"Name {i}", expected_version=v,
        request_id=f"race-{i}")),
    "merge_development_areas": ("programme", lambda a, ids, v, i: a.merge_development_areas(
        ids["programme"], ids["areas"][i + 1], into=ids["areas"][0], expected_version=v,
        request_id=f"race-{i}")),
    "define_maturity_instrument": ("programme", lambda a, ids, v, i: a.define_maturity_instrument(
        ids["programme"], dimensions=[
            {"key": "digital_capability", "name_sv": f"Förmåga {i}", "name_en": f"Capability {i}"},
            {"key": "digital_legacy", "name_sv": "Digitalt arv", "name_en": "Digital legacy"}],
        expected_version=v, request_id=f"race-{i}")),
    "note_cohort_enrolled": ("programme", lambda a, ids, v, i: a.note_cohort_enrolled(
        ids["programme"], size=i + 1, expected_version=v, request_id=f"race-{i}")),
    "close_programme": ("programme", lambda a, ids, v, i: a.close_programme(
        ids["programme"], expected_version=v, request_id=f"race-{i}")),
    "give_consent": ("bo", lambda a, ids, v, i: a.give_consent(
        ids["bo"], expected_version=v, request_id=f"race-{i}")),
    "withdraw_consent": ("ada", lambda a, ids, v, i: a.withdraw_consent(
        ids["ada"], expected_version=v, request_id=f"race-{i}")),
    "amend_reflection": ("reflection", lambda a, ids, v, i: a.amend_reflection(
        ids["reflection"], example=f"Amended {i}", expected_version=v, request_id=f"race-{i}")),
    "withdraw_reflection": ("reflection", lambda a, ids, v, i: a.withdraw_reflection(
        ids["reflection"], reason=f"Reason {i}", expected_version=v, request_id=f"race-{i}")),
    "revise_decision": ("decision", lambda a, ids, v, i: a.revise_decision(
        ids["decision"], statement=f"Revised {i}", expected_version=v,
        request_id=f"race-{i}")),
    "reverse_decision": ("decision", lambda a, ids, v, i: a.reverse_decision(
        ids["decision"], reason=f"Reason {i}", expected_version=v, request_id=f"race-{i}")),
    "start_experiment": ("planned", lambda a, ids, v, i: a.start_experiment(
        ids["planned"], week=1, expected_version=v, request_id=f"race-{i}")),
    "record_observation": ("started", lambda a, ids, v, i: a.record_observation(
        ids["started"], text=f"Observed {i}", expected_version=v, request_id=f"race-{i}")),
    "evaluate_experiment": ("started", lambda a, ids, v, i: a.evaluate_experiment(
        ids["started"], result=f"Result {i}", learning="l", expected_version=v,
        request_id=f"race-{i}")),
    "conclude_experiment": ("evaluated", lambda a, ids, v, i: a.conclude_experiment(
        ids["evaluated"], outcome=("adopt", "adapt", "abandon")[i % 3], expected_version=v,
        request_id=f"race-{i}")),
    "refine_capability": ("capability", lambda a, ids, v, i: a.refine_capability(
        ids["capability"], description=f"Refined {i}", expected_version=v,
        request_id=f"race-{i}")),
    "apply_capability": ("capability", lambda a, ids, v, i: a.apply_capability(
        ids["capability"], unit="it", note=f"Note {i}", expected_version=v,
        request_id=f"race-{i}")),
    "share_record": ("reflection", lambda a, ids, v, i: a.share_record(
        ids["reflection"], expected_version=v, request_id=f"race-{i}")),
    "unshare_record": ("open", lambda a, ids, v, i: a.unshare_record(
        ids["open"], expected_version=v, request_id=f"race-{i}")),
    "add_team_member": ("open", lambda a, ids, v, i: a.add_team_member(
        ids["open"], ids["bo"], expected_version=v, request_id=f"race-{i}")),
    "remove_team_member": ("teamed", lambda a, ids, v, i: a.remove_team_member(
        ids["teamed"], ids["bo"], expected_version=v, request_id=f"race-{i}")),
    "join_team": ("open", lambda a, ids, v, i: a.join_team(
        ids["open"], participant_id=ids["bo"], expected_version=v, request_id=f"race-{i}")),
}


def _version(app: Framdrift, kind: str, aggregate_id: UUID) -> int:
    if kind == "programme":
        return app.get_programme(aggregate_id)["version"]
    if kind in ("ada", "bo"):
        return app.get_participant(aggregate_id)["version"]
    return app.get_record(aggregate_id)["version"]


def test_every_versioned_command_is_listed() -> None:
    """A new command with ``expected_version`` must join the race below."""
    import inspect

    versioned = {name for name, f in inspect.getmembers(Framdrift, inspect.isfunction)
                 if not name.startswith("_")
                 and "expected_version" in inspect.signature(f).parameters}
    assert versioned == set(COMMANDS)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_writers_from_one_version_one_wins_the_rest_are_refused(app, store_url, command):
    """N writers that all loaded version v: one event is stored, N-1 get a conflict."""
    ids = seed(app)
    kind, call = COMMANDS[command]
    target = ids[kind]
    version = _version(app, kind, target)
    before = app.max_position()
    barrier = threading.Barrier(N)
    racers = []
    for _ in range(N):
        racer = LoadsTogether.from_url(store_url)
        racer.target, racer.barrier = target, barrier
        racers.append(racer)
    try:
        outcomes = run_in_threads([
            (lambda r=racer, i=i: call(r, ids, version, i)) for i, racer in enumerate(racers)
        ])
    finally:
        for racer in racers:
            racer.close()
    kinds = sorted(k for k, _ in outcomes)
    assert kinds == ["error"] * (N - 1) + ["ok"], outcomes
    refused = [v for k, v in outcomes if k == "error"]
    assert all(isinstance(e, errors.ConcurrentChangeError) for e in refused), refused
    new = [e for _, e in app.read_log(before)]
    assert [e.originator_id for e in new] == [target], new
    assert _version(app, kind, target) == version + 1
    winner = next(i for i, (k, _) in enumerate(outcomes) if k == "ok")
    assert new[0].request_id == f"race-{winner}"
    assert app.chain.verify().ok  # the losers left no link behind


# command -> (the aggregate it changes, the one request every racer sends)
RETRIED: dict[str, tuple[str, Callable[[Framdrift, dict[str, Any]], Any]]] = {
    "publish_material": ("programme", lambda a, ids: a.publish_material(
        ids["programme"], week=1, kind="film", title="Film", request_id="the-same")),
    "record_material_taken_part_of": ("bo", lambda a, ids: a.record_material_taken_part_of(
        ids["bo"], ids["material"], request_id="the-same")),
    "record_observation": ("started", lambda a, ids: a.record_observation(
        ids["started"], text="Observed", expected_version=2, request_id="the-same")),
}


@pytest.mark.parametrize("command", sorted(RETRIED))
def test_retries_that_lose_the_race_to_their_first_try_answer_as_it_did(
        app, store_url, command):
    """N tries of one request, all loaded before any saved: one event, N equal answers."""
    ids = seed(app)
    ids["material"] = app.publish_material(ids["programme"], week=1, kind="report", title="R")
    kind, call = RETRIED[command]
    before = app.max_position()
    barrier = threading.Barrier(N)
    racers = []
    for _ in range(N):
        racer = LoadsTogether.from_url(store_url)
        racer.target, racer.barrier = ids[kind], barrier
        racers.append(racer)
    try:
        outcomes = run_in_threads([(lambda r=racer: call(r, ids)) for racer in racers])
    finally:
        for racer in racers:
            racer.close()
    assert [k for k, _ in outcomes] == ["ok"] * N, outcomes
    assert len({repr(v) for _, v in outcomes}) == 1, outcomes
    new = [e for _, e in app.read_log(before)]
    assert [(e.originator_id, e.request_id) for e in new] == [(ids[kind], "the-same")]
    assert app.chain.verify().ok


def test_a_batch_belongs_to_its_own_thread(app) -> None:
    """A threaded web worker shares one application: while one request records a batch
    (attendance), another request's command is saved at once, by itself, and stays
    saved when that batch fails."""
    ids = seed(app)
    in_batch, done_elsewhere = threading.Event(), threading.Event()

    def batch_that_fails() -> None:
        with app.batch():
            app.record_observation(ids["started"], text="in the batch")
            in_batch.set()
            assert done_elsewhere.wait(TIMEOUT)
            raise RuntimeError("the batch fails")

    def elsewhere() -> int:
        assert in_batch.wait(TIMEOUT)
        before = app.max_position()
        app.amend_reflection(ids["reflection"], example="saved at once")
        stored = app.max_position() - before
        done_elsewhere.set()
        return stored

    outcomes = run_in_threads([batch_that_fails, elsewhere])
    assert outcomes[0][0] == "error" and isinstance(outcomes[0][1], RuntimeError), outcomes
    assert outcomes[1] == ("ok", 1), outcomes
    assert app.get_record(ids["reflection"])["example"] == "saved at once"
    assert app.get_record(ids["started"])["version"] == 2  # nothing of the failed batch
