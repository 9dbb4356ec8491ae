"""Replaying stored events rebuilds exactly the aggregates that produced them (property test)."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from functools import reduce
from pathlib import Path
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from api.cli import migrate_all
from domain import errors
from domain.application import Framdrift
from domain.context import acting_as, clock
from domain.privacy import PersonalData

TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
    min_size=1, max_size=40,
).filter(lambda s: s.strip() != "")
UNIT_KEYS = ["soc", "it", "bo", "hr"]


class Recording(Framdrift):
    """Keeps the in-memory aggregates that produced the events it saved."""

    name = Framdrift.name

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.live: dict[UUID, Any] = {}

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        recordings = super().save(*objs, **kwargs)
        for obj in objs:
            self.live[obj.id] = obj
        return recordings


def state(aggregate: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


def as_erased(value: Any, erased: set[UUID]) -> Any:
    """What a value reads as once the subjects in ``erased`` are erased (crypto-shredded)."""
    if isinstance(value, PersonalData):
        return PersonalData(value.subject, None) if value.subject in erased else value
    if isinstance(value, dict):
        return {k: as_erased(v, erased) for k, v in value.items()}
    if isinstance(value, list):
        return [as_erased(v, erased) for v in value]
    return value


class Run:
    """Draws and runs commands, remembering the ids they created."""

    def __init__(self, app: Recording, data: st.DataObject):
        self.app, self.data = app, data
        self.participants: list[UUID] = []
        self.reflections: list[UUID] = []
        self.decisions: list[UUID] = []
        self.experiments: list[UUID] = []
        self.capabilities: list[UUID] = []
        self.materials: list[str] = []
        self.areas: list[str] = []
        self.rejected = 0
        self.erased: set[UUID] = set()

    def draw(self, strategy: Any) -> Any:
        return self.data.draw(strategy)

    def pick(self, ids: list[Any]) -> Any:
        return self.draw(st.sampled_from(ids)) if ids else None

    def some(self, ids: list[Any]) -> list[Any]:
        return self.draw(st.lists(st.sampled_from(ids), max_size=3)) if ids else []

    def text(self) -> str:
        return self.draw(TEXT)

    def maybe_text(self) -> str | None:
        return self.draw(st.none() | TEXT)

    def week(self) -> int:
        return self.draw(st.integers(1, 5))

    def plan(self) -> None:
        first_day = self.first_day = self.draw(st.dates(date(2020, 1, 1), date(2035, 1, 1)))
        names = self.draw(st.lists(TEXT, min_size=len(UNIT_KEYS), max_size=len(UNIT_KEYS),
                                   unique_by=lambda s: s.strip().casefold()))
        units = [{"key": k, "name": name, "kind": self.draw(
            st.sampled_from(["administration", "company"]))} for k, name in zip(
            UNIT_KEYS, names, strict=True)]
        self.pid = self.app.plan_programme(
            organisation=self.text(), title=self.text(), first_day=first_day, units=units,
            maturity_dimensions=["digital_capability", "digital_legacy"],
            synthetic=self.draw(st.booleans()),
        )
        self.enrol()

    # commands -----------------------------------------------------------------
    def enrol(self) -> None:
        email = self.draw(st.none() | st.from_regex(r"[a-z]{1,8}@[a-z]{1,8}\.se", fullmatch=True))
        self.participants.append(self.app.enrol_participant(
            self.pid, name=self.text(), email=email,
            role=self.draw(st.sampled_from(["manager", "expert"])),
            unit=self.draw(st.sampled_from(UNIT_KEYS)), consent=self.draw(st.booleans()),
        ))

    def material(self) -> None:
        self.materials.append(self.app.publish_material(
            self.pid, week=self.week(), kind=self.draw(st.sampled_from(["film", "report"])),
            title=self.text(), url=self.draw(st.none() | st.just("https://example.org/x")),
        ))

    def meeting(self) -> None:
        # mostly a day of the week's Monday-to-Sunday (others are refused)
        week = self.week()
        held_on = self.first_day + timedelta(days=7 * (week - 1) + self.draw(
            st.integers(-1, 8)))
        if self.draw(st.booleans()):
            self.app.hold_check_in(self.pid, week=week, held_on=held_on)
        else:
            self.app.hold_session(self.pid, week=week, held_on=held_on)

    def area(self) -> None:
        self.areas.append(self.app.identify_development_area(self.pid, name=self.text()))

    def rename_or_merge(self) -> None:
        if len(self.areas) >= 2 and self.draw(st.booleans()):
            a, b = self.draw(st.permutations(self.areas))[:2]
            self.app.merge_development_areas(self.pid, a, into=b)
        elif self.areas:
            self.app.rename_development_area(self.pid, self.pick(self.areas), name=self.text())

    def assess(self) -> None:
        self.app.assess_maturity(
            self.pid, phase=self.draw(st.sampled_from(["before", "after"])),
            instrument=self.text(),
            scores={"digital_capability": self.draw(st.floats(0, 100)),
                    "digital_legacy": self.draw(st.integers(0, 100))},
            assessed_on=self.draw(st.dates(date(2020, 1, 1), date(2035, 1, 1))),
            unit=self.draw(st.none() | st.sampled_from(UNIT_KEYS)),
        )

    def engagement(self) -> None:
        who = self.pick(self.participants)
        if self.materials and self.draw(st.booleans()):
            self.app.record_material_taken_part_of(who, self.pick(self.materials))
        elif self.draw(st.booleans()):
            self.app.withdraw_consent(who)
        else:
            self.app.give_consent(who)

    def reflect(self) -> None:
        self.reflections.append(self.app.log_reflection(
            self.pick(self.participants), week=self.week(),
            material_id=self.pick(self.materials) if self.draw(st.booleans()) else None,
            example=self.text(), deficiency=self.maybe_text(), solutions=self.maybe_text(),
            development_areas=self.some(self.areas), shared=self.draw(st.booleans()),
        ))

    def amend(self) -> None:
        if self.reflections:
            self.app.amend_reflection(
                self.pick(self.reflections), example=self.text(),
                deficiency=self.maybe_text(), development_areas=self.some(self.areas))

    def withdraw(self) -> None:
        if self.reflections:
            self.app.withdraw_reflection(self.pick(self.reflections), reason=self.maybe_text())

    def decide(self) -> None:
        self.decisions.append(self.app.make_decision(
            self.pick(self.participants), week=self.week(), statement=self.text(),
            rationale=self.maybe_text(), based_on=self.some(self.reflections + self.decisions),
            units=self.some(UNIT_KEYS), development_areas=self.some(self.areas),
            participants=self.some(self.participants), shared=self.draw(st.booleans()),
        ))

    def revise_or_reverse(self) -> None:
        if not self.decisions:
            return
        d = self.pick(self.decisions)
        if self.draw(st.booleans()):
            self.app.reverse_decision(d, reason=self.text())
        else:
            self.app.revise_decision(d, statement=self.text(), rationale=self.maybe_text(),
                                     based_on=self.some(self.reflections), units=[])

    def experiment(self) -> None:
        self.experiments.append(self.app.plan_experiment(
            self.pick(self.participants), week=self.week(), aim=self.text(),
            change=self.text(), prediction=self.text(), measure=self.text(),
            based_on=self.some(self.reflections + self.decisions),
            units=self.some(UNIT_KEYS), development_areas=self.some(self.areas),
            team=self.some(self.participants), shared=self.draw(st.booleans()),
        ))

    def share(self) -> None:
        records = self.reflections + self.decisions + self.experiments + self.capabilities
        if records:
            record = self.pick(records)
            if self.draw(st.booleans()):
                self.app.share_record(record)
            else:
                self.app.unshare_record(record)

    def team(self) -> None:
        records = self.experiments + self.capabilities
        if records and self.participants:
            record, who = self.pick(records), self.pick(self.participants)
            match self.draw(st.sampled_from(["add", "remove", "join"])):
                case "add":
                    self.app.add_team_member(record, who)
                case "remove":
                    self.app.remove_team_member(record, who)
                case "join":
                    self.app.join_team(record, participant_id=who)

    def step(self) -> None:
        if not self.experiments:
            return
        e = self.pick(self.experiments)
        match self.draw(st.sampled_from(["start", "observe", "evaluate", "conclude", "next"])):
            case "start":
                self.app.start_experiment(e, week=self.week(),
                                          participant_id=self.pick(self.participants))
            case "observe":  # the author, or anyone (refused unless in the team)
                self.app.record_observation(e, text=self.text(), participant_id=self.draw(
                    st.none() | st.sampled_from(self.participants)))
            case "evaluate":
                self.app.evaluate_experiment(e, result=self.text(), learning=self.text())
            case "conclude":
                self.app.conclude_experiment(
                    e, outcome=self.draw(st.sampled_from(["adopt", "adapt", "abandon"])))
            case "next":
                self.experiments.append(self.app.plan_next_cycle(
                    e, aim=self.text(), change=self.text(), prediction=self.text(),
                    measure=self.text()))

    def capability(self) -> None:
        if self.experiments:
            self.capabilities.append(self.app.establish_capability(
                self.pick(self.participants), week=self.week(), name=self.text(),
                description=self.text(), experiments=self.some(self.experiments) or
                [self.pick(self.experiments)], units=self.some(UNIT_KEYS)))

    def erase(self) -> None:
        if len(self.participants) > 1:
            who = self.pick(self.participants)
            self.app.erase_participant(who)
            self.erased.add(who)


COMMANDS = [
    "enrol", "material", "meeting", "area", "rename_or_merge", "assess", "engagement",
    "reflect", "reflect", "amend", "withdraw", "decide", "revise_or_reverse", "experiment",
    "step", "step", "step", "capability", "erase", "share", "team",
]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_replaying_stored_events_rebuilds_identical_aggregates(data):
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'replay.sqlite3'}"
        migrate_all(url)
        app = Recording.from_url(url)
        run = Run(app, data)
        start = data.draw(st.datetimes(datetime(2020, 1, 1), datetime(2035, 1, 1)), "start")
        ticks = iter(start.replace(tzinfo=UTC) + timedelta(seconds=17 * i) for i in range(10**6))
        with clock(lambda: next(ticks)), acting_as("researcher:prop"):
            run.plan()
            for _ in range(data.draw(st.integers(20, 45), "steps")):
                command = data.draw(st.sampled_from(COMMANDS))
                before = app.max_position()
                try:
                    getattr(run, command)()
                except errors.DomainError:
                    # a refused command records nothing
                    assert app.max_position() == before, command
                    run.rejected += 1
        assert app.live
        event(f"{len(app.live) // 10 * 10}+ aggregates")
        event(f"{run.rejected} refused commands")
        fresh = Framdrift.from_url(url)
        try:
            for aggregate_id, produced in app.live.items():
                expected = as_erased(state(produced), run.erased)
                rebuilt = fresh.repository.get(aggregate_id)
                assert type(rebuilt) is type(produced)
                assert state(rebuilt) == expected, type(produced).__name__
                replayed = reduce(lambda a, e: e.mutate(a), fresh.events.get(aggregate_id), None)
                assert state(replayed) == expected
                _check_values(state(rebuilt))
            assert {e.originator_id for _, e in fresh.iter_log()} == set(app.live)
        finally:
            fresh.close()
            app.close()


def _check_values(values: dict[str, Any]) -> None:
    """Typed values come back typed (not as plain strings) after a round trip."""
    for key, value in values.items():
        if key in ("example", "statement", "aim", "name") and value is not None:
            assert isinstance(value, PersonalData), key
        if key in ("_created_on", "_modified_on"):
            assert isinstance(value, datetime) and value.tzinfo is not None
