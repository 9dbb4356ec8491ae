"""Aggregate-level fixtures: no database, events are taken with ``collect_events()``."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.context import clock
from domain.model import Participant, Programme
from domain.values import Role, Week

FIRST_DAY = date(2026, 9, 7)  # a Monday
EVENT_TIME = datetime(2026, 9, 16, 10, 30, tzinfo=UTC)
UNITS = [
    {"key": "soc", "name": "Social services", "kind": "administration"},
    {"key": "it", "name": "IT office", "kind": "administration"},
    {"key": "bo", "name": "Housing company", "kind": "company"},
]


@pytest.fixture
def fixed_clock():
    with clock(lambda: EVENT_TIME):
        yield EVENT_TIME


@pytest.fixture
def programme(fixed_clock) -> Programme:
    p = Programme.plan(
        organisation="Exempelby kommun", title="Digitalisering 2026",
        weeks=Week.default_weeks(FIRST_DAY), units=UNITS,
    )
    p.collect_events()
    return p


@pytest.fixture
def author(programme: Programme) -> Participant:
    p = Participant.enrol(
        programme, name="Ada Lindqvist", email="ada@example.org", role=Role.MANAGER, unit="soc"
    )
    p.collect_events()
    return p

