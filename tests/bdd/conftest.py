"""Shared Given steps for the Gherkin features in features/ (run on SQLite)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pytest_bdd import given, parsers

UNITS = [
    {"key": "soc", "name": "Social services"},
    {"key": "it", "name": "IT office"},
    {"key": "bo", "name": "Housing company", "kind": "company"},
]


@pytest.fixture
def world(sqlite_app) -> dict[str, Any]:
    """What a scenario has built so far: the app, ids by name, the last error."""
    return {"app": sqlite_app, "people": {}, "reflections": {}, "error": None}


@given(parsers.parse('a programme "{title}" for "{organisation}" starting on {day}'))
def a_programme(world, title, organisation, day):
    world["programme"] = world["app"].plan_programme(
        organisation=organisation, title=title, first_day=date.fromisoformat(day), units=UNITS
    )
    world["materials"] = {}


@given(parsers.parse('another programme "{title}" for "{organisation}"'))
def another_programme(world, title, organisation):
    world["other_programme"] = world["app"].plan_programme(
        organisation=organisation, title=title, first_day=date(2026, 9, 7), units=UNITS
    )


@given(parsers.parse('a "{kind}" called "{title}" is published for week {week:d}'))
def material_published(world, kind, title, week):
    world["materials"][title] = world["app"].publish_material(
        world["programme"], week=week, kind=kind, title=title
    )


@given(parsers.re(r'"(?P<name>[^"]+)" is enrolled as an? (?P<role>manager|expert) '
                  r'in unit "(?P<unit>[^"]+)"'))
def enrolled(world, name, role, unit):
    world["people"][name] = world["app"].enrol_participant(
        world["programme"], name=name, email=None, role=role, unit=unit, consent=True
    )


@given(parsers.parse('"{name}" is enrolled in the other programme'))
def enrolled_elsewhere(world, name):
    world["people"][name] = world["app"].enrol_participant(
        world["other_programme"], name=name, email=None, role="expert", unit="it"
    )


@given(parsers.parse('"{name}" has logged a reflection "{text}"'))
def has_logged(world, name, text):
    rid = world["app"].log_reflection(world["people"][name], week=2, example=text)
    world["reflections"][text] = rid
    world["reflection"] = rid


@given(parsers.parse('"{name}" has logged a reflection "{text}" shared with the course group'))
def has_logged_shared(world, name, text):
    rid = world["app"].log_reflection(world["people"][name], week=2, example=text, shared=True)
    world["reflections"][text] = rid
    world["reflection"] = rid


@given(parsers.parse('"{name}" has made a decision "{text}" based on that reflection'))
def has_decided(world, name, text):
    world["decision"] = world["app"].make_decision(
        world["people"][name], week=3, statement=text, based_on=[world["reflection"]]
    )


@given(parsers.parse('"{name}" has withdrawn the reflection "{text}"'))
def has_withdrawn(world, name, text):
    world["app"].withdraw_reflection(world["reflections"][text],
                                     participant_id=world["people"][name])
