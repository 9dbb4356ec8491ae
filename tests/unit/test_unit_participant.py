"""Participant rules: enrolment, consent, engagement, erasure."""

from __future__ import annotations

import pytest

from domain import errors
from domain.model import Participant, pseudonym_for, record_id_for
from domain.privacy import PersonalData
from domain.values import Role


def names(events) -> list[str]:
    return [type(e).__qualname__ for e in events]


def enrol(programme, **overrides) -> Participant:
    kwargs = dict(name="Ada Lindqvist", email="ada@example.org", role=Role.MANAGER, unit="soc")
    kwargs.update(overrides)
    return Participant.enrol(programme, **kwargs)


def test_enrolment_wraps_personal_data_and_gives_a_pseudonym(programme):
    p = enrol(programme, name="  Ada Lindqvist ")
    events = p.collect_events()
    assert names(events) == ["Participant.Enrolled"]
    assert p.programme_id == programme.id
    assert p.name == PersonalData(p.id, "Ada Lindqvist")
    assert p.email == PersonalData(p.id, "ada@example.org")
    assert isinstance(events[0].name, PersonalData) and events[0].name.subject == p.id
    assert p.role is Role.MANAGER and p.unit == "soc"
    assert p.pseudonym == pseudonym_for(p.id)
    assert p.pseudonym.startswith("P-") and len(p.pseudonym) == 8
    assert "Ada" not in p.pseudonym
    assert p.consent is False and p.erased is False
    assert "Ada" not in repr(p.name)


def test_enrolment_without_email(programme):
    p = enrol(programme, email=None)
    assert p.email is None


def test_enrolment_id_comes_from_the_request_id(programme):
    a = enrol(programme, request_id="enrol-1")
    b = enrol(programme, request_id="enrol-1")
    c = enrol(programme, request_id="enrol-2")
    assert a.id == b.id == record_id_for("participant", "enrol-1")
    assert c.id != a.id
    assert enrol(programme).id != enrol(programme).id


@pytest.mark.parametrize(
    "overrides, error, field_name",
    [
        ({"unit": "nowhere"}, errors.UnknownUnitError, "unit"),
        ({"name": "  "}, errors.InvalidValueError, "name"),
        ({"name": "x" * 201}, errors.InvalidValueError, "name"),
        ({"email": "not-an-address"}, errors.InvalidValueError, "email"),
        ({"email": "a b@example.org"}, errors.InvalidValueError, "email"),
        ({"email": "a@" + "x" * 260}, errors.InvalidValueError, "email"),
    ],
)
def test_enrolment_is_validated(programme, overrides, error, field_name):
    with pytest.raises(error) as e:
        enrol(programme, **overrides)
    assert e.value.field == field_name


def test_consent_given_and_withdrawn_only_when_it_changes(author):
    author.give_consent()
    author.give_consent()
    assert author.consent is True
    author.withdraw_consent()
    author.withdraw_consent()
    assert author.consent is False
    assert names(author.collect_events()) == [
        "Participant.ConsentGiven", "Participant.ConsentWithdrawn"
    ]


def test_withdrawing_consent_never_given_records_nothing(author):
    author.withdraw_consent()
    assert author.collect_events() == []


def test_material_taken_part_of_and_attendance_are_recorded_once(author):
    author.take_part_of("m1")
    author.take_part_of("m1")
    author.record_attendance("c1", True)
    author.record_attendance("c1", True)
    author.record_attendance("c1", False)
    assert author.materials == {"m1"}
    assert author.attendance == {"c1": False}
    assert names(author.collect_events()) == [
        "Participant.MaterialTakenPartOf",
        "Participant.AttendanceRecorded",
        "Participant.AttendanceRecorded",
    ]


def test_erasure_is_recorded_once_and_stops_the_participant(author):
    author.give_consent()
    author.erase()
    author.erase()
    assert author.erased is True and author.consent is False
    assert names(author.collect_events()) == ["Participant.ConsentGiven", "Participant.Erased"]
    for command in (
        author.give_consent,
        author.withdraw_consent,
        lambda: author.take_part_of("m1"),
        lambda: author.record_attendance("s1", True),
    ):
        with pytest.raises(errors.ParticipantErasedError):
            command()
    assert author.collect_events() == []
