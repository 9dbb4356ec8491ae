"""Two cohort lists enrolled at the same moment (docs/adr/0022-concurrent-writes.md).

Both lists pass their check against who is enrolled before either is saved (a barrier
holds each thread just after that check). ``Programme.CohortEnrolled``, written in the
same transaction as the participants, makes the second save conflict: with the same
addresses it answers which rows are enrolled already and enrols nobody; with other
addresses it enrols them on its next try. Both stores.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date

import pytest

from api import enrolment
from api.web.common import participants_of
from domain import errors
from domain.context import acting_as
from domain.model import Participant, Programme
from tests.threads import run_in_threads

UNITS = [{"key": "soc", "name": "Socialförvaltningen"}, {"key": "it", "name": "IT"}]
N = 12


def rows(prefix: str, n: int = N) -> list[enrolment.Row]:
    text = "namn;e-post;roll;enhet\n" + "".join(
        f"{prefix} Person {i};{prefix}{i}@exempel.se;expert;{UNITS[i % 2]['name']}\n"
        for i in range(n))
    preview = enrolment.preview(text, UNITS, set())
    assert len(preview.good) == n
    return preview.good


def held_after_the_check(monkeypatch: pytest.MonkeyPatch, parties: int) -> list[int]:
    """Each thread's first check of who is enrolled waits for the others' (so every list
    passes it before any is saved); returns the list of checks made."""
    together = threading.Barrier(parties)
    checks: list[int] = []
    first: set[int] = set()
    real = enrolment.enrolled_emails

    def checked(app, programme_id):
        found = real(app, programme_id)
        checks.append(threading.get_ident())
        if threading.get_ident() not in first:
            first.add(threading.get_ident())
            together.wait(30)
        return found

    monkeypatch.setattr(enrolment, "enrolled_emails", checked)
    return checks


def programme(app) -> str:
    return str(app.plan_programme(organisation="Exempelby", title="Kohort",
                                  first_day=date(2026, 9, 7), units=UNITS))


def cohort_events(app, pid: str) -> int:
    return sum(1 for _, e in app.iter_log() if isinstance(e, Programme.CohortEnrolled)
               and str(e.originator_id) == pid)


def test_the_same_list_twice_at_once_enrols_nobody_twice(app, monkeypatch):
    pid = programme(app)
    listed = rows("a")
    held_after_the_check(monkeypatch, 2)

    def send(request_id: str):
        def run():
            with acting_as("researcher:tests"):
                return enrolment.enrol(app, pid, listed, request_id)
        return run

    outcomes = run_in_threads([send("form-one"), send("form-two")])
    kinds = sorted(kind for kind, _ in outcomes)
    assert kinds == ["error", "ok"], outcomes
    error = next(value for kind, value in outcomes if kind == "error")
    assert isinstance(error, enrolment.AlreadyEnrolledError), error
    assert error.field == "csv"
    assert error.lines == [r.line for r in listed]  # every row named, by its line
    assert "line 2, 3, 4" in error.message or "lines 2, 3, 4" in error.message
    people = participants_of(app, pid)
    addresses = Counter(p["email"] for p in people)
    assert len(people) == N and set(addresses.values()) == {1}  # nobody enrolled twice
    assert cohort_events(app, pid) == 1
    assert app.chain.verify().ok


def test_two_different_lists_at_once_are_both_enrolled(app, monkeypatch):
    pid = programme(app)
    checks = held_after_the_check(monkeypatch, 2)

    def send(prefix: str):
        listed = rows(prefix)

        def run():
            with acting_as("researcher:tests"):
                return enrolment.enrol(app, pid, listed, f"form-{prefix}")
        return run

    outcomes = run_in_threads([send("a"), send("b")])
    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    assert len(checks) >= 3  # the loser of the race checked again, and enrolled
    people = participants_of(app, pid)
    assert len(people) == 2 * N
    assert {p["id"] for p in people} == {pid_ for _, ids in outcomes for pid_ in ids}
    assert cohort_events(app, pid) == 2
    assert app.chain.verify().ok


def test_the_same_request_again_answers_its_participants(app):
    """A resend of one request (the same request id) is not "already enrolled": it is the
    same enrolment, answered with the same participants and no second cohort event."""
    pid = programme(app)
    listed = rows("c", 3)
    with acting_as("researcher:tests"):
        first = enrolment.enrol(app, pid, listed, "form-c")
        again = enrolment.enrol(app, pid, listed, "form-c")
    assert again == first
    assert cohort_events(app, pid) == 1


def test_a_list_for_a_closed_programme_enrols_nobody(app):
    pid = programme(app)
    app.close_programme(pid)
    with acting_as("researcher:tests"), pytest.raises(errors.ProgrammeClosedError):
        enrolment.enrol(app, pid, rows("d", 2), "form-d")
    assert not [e for _, e in app.iter_log() if isinstance(e, Participant.Enrolled)]
