"""The synthetic demo programme: deterministic from a seed, scalable for benchmarks.

A fictional municipality runs the five-week course: materials every Monday, a
check-in on Wednesday and a three-hour session on Friday; about thirty
participants in nine units reflect, decide, experiment and establish
capabilities; four development areas come out of the final session, and
maturity is assessed before and after. Everything is labelled synthetic.

Commands are scheduled on a simulated clock and run in time order, so the log
reads as the weeks went. Record ids come from deterministic request ids, so the
same seed always yields the same records.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from domain import demo_content as content
from domain.application import Framdrift
from domain.context import acting_as, clock, participant_actor
from domain.model import record_id_for

DEFAULT_FIRST_DAY = date(2026, 9, 7)  # a Monday
RESEARCHER = "researcher:demo"
PARTICIPANTS = 30


@dataclass(order=True)
class Step:
    at: datetime
    seq: int
    actor: str = field(compare=False)
    run: Callable[[], Any] = field(compare=False)


def _step_order(step: Step) -> tuple[datetime, int]:
    """The order ``Step`` compares in (time, then scheduling order), as a sort key: a
    million dataclass comparisons cost seconds."""
    return step.at, step.seq


@dataclass
class DemoResult:
    programme_ids: list[UUID]
    events: int
    participants: dict[UUID, list[UUID]]  # programme -> participant ids


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


class _Plan:
    """Schedules one programme's commands on its own simulated calendar."""

    def __init__(self, app: Framdrift, seed: int, index: int, first_day: date):
        self.app = app
        self.rng = random.Random(f"{seed}:{index}")
        self.key = f"demo:{seed}:{index}"
        self.first_day = first_day
        self.steps: list[Step] = []
        self._seq = 0

    def rid(self, *parts: object) -> str:
        return ":".join([self.key, *map(str, parts)])

    def at(self, when: datetime, actor: str, run: Callable[[], Any]) -> None:
        self._seq += 1
        self.steps.append(Step(when, self._seq, actor, run))

    def day(self, week: int, weekday: int) -> date:
        return self.first_day + timedelta(days=7 * (week - 1) + weekday)

    def moment(self, week: int, first_weekday: int, last_weekday: int) -> datetime:
        day = self.day(week, self.rng.randint(first_weekday, last_weekday))
        return _at(day, self.rng.randint(8, 20), self.rng.choice((0, 10, 20, 30, 40, 50)))

    # -----------------------------------------------------------------------

    def build(self, n_participants: int) -> tuple[UUID, list[UUID]]:
        app, rng = self.app, self.rng
        pid = record_id_for("programme", self.rid("programme"))
        index = int(self.key.rsplit(":", 1)[1])
        title = content.PROGRAMME_TITLE + (f" #{index + 1}" if index else "")
        units = [{"key": u["key"], "name": u["name_sv"], "kind": u["kind"]}
                 for u in content.UNITS]
        self.at(_at(self.first_day - timedelta(days=14), 9), RESEARCHER, lambda: app.plan_programme(
            organisation=content.ORGANISATION, title=title, first_day=self.first_day, units=units,
            maturity_dimensions=[d["key"] for d in content.MATURITY_DIMENSIONS], synthetic=True,
            request_id=self.rid("programme"),
        ))
        before_day = self.first_day - timedelta(days=7)
        self._maturity(pid, "before", before_day, content.MATURITY_BEFORE, units)

        # participants, spread over the units
        people: list[tuple[UUID, str]] = []
        for n in range(n_participants):
            unit = content.UNITS[n % len(content.UNITS)]["key"]
            first, last = rng.choice(content.FIRST_NAMES), rng.choice(content.LAST_NAMES)
            role = "manager" if rng.random() < 0.45 else "expert"
            request_id = self.rid("participant", n)
            part_id = record_id_for("participant", request_id)
            people.append((part_id, unit))
            when = _at(self.first_day - timedelta(days=10), 10, n % 60)
            email = f"{first}.{last}.{n}@exempelby.example".lower()

            def enrol(first=first, last=last, role=role, unit=unit, request_id=request_id,
                      email=email) -> None:
                app.enrol_participant(pid, name=f"{first} {last}", email=email, role=role,
                                      unit=unit, request_id=request_id)

            self.at(when, RESEARCHER, enrol)
            # consent is given at the first sign-in, on the Monday of week 1
            consent_at = _at(self.first_day, rng.randint(8, 11), rng.randint(0, 59))
            self.at(consent_at, participant_actor(part_id),
                    lambda part_id=part_id: app.give_consent(part_id))

        # id, when logged, author, shared with the course group from (None: never)
        reflections: list[tuple[UUID, datetime, UUID, datetime | None]] = []
        # id, week, author, units, shared
        decisions: list[tuple[UUID, int, UUID, list[str], bool]] = []
        self.unit_of = dict(people)
        r_count = d_count = 0
        for week, theme in enumerate(content.THEMES, start=1):
            monday = self.day(week, 0)
            materials = content.MATERIALS.get(week, [])
            for m_index, material in enumerate(materials):
                self.at(_at(monday, 7, 30 + m_index), RESEARCHER,
                        lambda week=week, material=material, m_index=m_index: app.publish_material(
                            pid, week=week, kind=material["kind"], title=material["title_sv"],
                            request_id=self.rid("material", week, m_index)))
            check_in = f"c{(week - 1) * 2 + 1}"
            session = f"s{(week - 1) * 2 + 2}"
            self.at(_at(self.day(week, 2), 8, 30), RESEARCHER, lambda week=week: app.hold_check_in(
                pid, week=week, held_on=self.day(week, 2), request_id=self.rid("checkin", week)))
            self.at(_at(self.day(week, 4), 13, 0), RESEARCHER, lambda week=week: app.hold_session(
                pid, week=week, held_on=self.day(week, 4), request_id=self.rid("session", week)))
            # engagement: material taken part of, attendance
            offset = sum(len(content.MATERIALS.get(w, [])) for w in range(1, week))
            material_ids = [f"m{offset + i + 1}" for i in range(len(materials))]
            for part_id, _unit in people:
                actor = participant_actor(part_id)
                for material_id in material_ids:
                    if rng.random() < 0.85:
                        self.at(self.moment(week, 0, 3), actor,
                                lambda part_id=part_id, material_id=material_id:
                                app.record_material_taken_part_of(part_id, material_id))
                for meeting, hour in ((check_in, 9), (session, 16)):
                    attended = rng.random() < 0.88
                    day = self.day(week, 2 if meeting.startswith("c") else 4)
                    self.at(_at(day, hour, 30), RESEARCHER,
                            lambda part_id=part_id, meeting=meeting, attended=attended:
                            app.record_attendance(part_id, meeting, attended=attended))
            # development areas: preliminary in week 2's session, settled at the final one
            if week == 2:
                self._areas_preliminary(pid, week)
            if week == 5:
                self._areas_final(pid, week)
            areas_known = week >= 3
            # reflections
            pool = content.REFLECTIONS[theme["key"]]
            for part_id, _unit in people:
                for _ in range(rng.choice((1, 1, 2)) if week < 5 else rng.choice((0, 1))):
                    text = pool[rng.randrange(len(pool))]
                    late = rng.random() < 0.12 and week < 5
                    when = (self.moment(week + 1, 0, 0) if late else self.moment(week, 1, 3))
                    material_id = rng.choice(material_ids) if material_ids else None
                    request_id = self.rid("reflection", r_count)
                    ref_id = record_id_for("reflection", request_id)
                    r_count += 1
                    areas = [self._area_id(a) for a in text["areas"]] if areas_known else []
                    # most reflections are shared with the course group at once, some a day
                    # later, some stay with the researchers (no draw: the seed's sequence
                    # stays as it was)
                    sharing = r_count % 8
                    shared = sharing not in (3, 7)
                    self.at(when, participant_actor(part_id),
                            lambda part_id=part_id, week=week, text=text, request_id=request_id,
                            material_id=material_id, areas=areas, shared=shared:
                            app.log_reflection(
                                part_id, programme_id=pid, week=week, material_id=material_id,
                                example=text["example"], deficiency=text["deficiency"],
                                solutions=text["solutions"], development_areas=areas,
                                shared=shared, request_id=request_id))
                    shared_from = when if shared else None
                    if sharing == 7:
                        shared_from = when + timedelta(days=1)
                        self.at(shared_from, participant_actor(part_id),
                                lambda ref_id=ref_id: app.share_record(ref_id))
                    reflections.append((ref_id, when, part_id, shared_from))
                    roll = rng.random()
                    if roll < 0.08:
                        self.at(when + timedelta(hours=20), participant_actor(part_id),
                                lambda ref_id=ref_id, text=text, areas=areas:
                                app.amend_reflection(
                                    ref_id, example=text["example"] + " (Förtydligat efter "
                                    "avstämningen.)", deficiency=text["deficiency"],
                                    solutions=text["solutions"], development_areas=areas))
                    elif roll < 0.11:
                        self.at(when + timedelta(hours=3), participant_actor(part_id),
                                lambda ref_id=ref_id: app.withdraw_reflection(
                                    ref_id, reason="Dubblett av en annan reflektion."))
            # decisions after the session, from week 2
            if week >= 2:
                n_decisions = 3 if week < 5 else 2
                for _ in range(n_decisions):
                    d = content.DECISIONS[d_count % len(content.DECISIONS)]
                    author, author_unit = people[rng.randrange(len(people))]
                    when = _at(self.day(week, 4), 17, rng.randint(0, 59))
                    # own reflections, and colleagues' shared with the course group
                    candidates = [r for r in reflections if r[1] < when and (
                        r[2] == author or (r[3] is not None and r[3] < when))]
                    chosen = rng.sample(candidates, k=min(len(candidates), rng.randint(1, 3)))
                    bases = [r[0] for r in chosen]
                    named = list(dict.fromkeys(r[2] for r in chosen if r[2] != author))
                    d_units = list(dict.fromkeys([author_unit, *d.get("units", []),
                                                  *(self.unit_of[p] for p in named)]))[:3]
                    request_id = self.rid("decision", d_count)
                    dec_id = record_id_for("decision", request_id)
                    d_shared = d_count % 3 != 2
                    d_count += 1
                    areas = [self._area_id(a) for a in d["areas"]]
                    self.at(when, participant_actor(author),
                            lambda author=author, week=week, d=d, bases=bases, d_units=d_units,
                            request_id=request_id, areas=areas, named=named,
                            d_shared=d_shared: app.make_decision(
                                author, programme_id=pid, week=week, statement=d["statement"],
                                rationale=d["rationale"], based_on=self._live(bases),
                                units=d_units, development_areas=areas, participants=named,
                                shared=d_shared, request_id=request_id))
                    decisions.append((dec_id, week, author, d_units, d_shared))
                    if d_count == 4:
                        self.at(when + timedelta(days=3), participant_actor(author),
                                lambda dec_id=dec_id, d=d, bases=bases, d_units=d_units:
                                app.revise_decision(
                                    dec_id, statement=d["statement"] + " Gäller från årsskiftet.",
                                    rationale=d["rationale"], based_on=self._live(bases),
                                    units=d_units))
                    if d_count == 7:
                        self.at(when + timedelta(days=4), participant_actor(author),
                                lambda dec_id=dec_id: app.reverse_decision(
                                    dec_id, reason="Ersatt av ett gemensamt beslut i sessionen."))
        self._experiments(pid, decisions, people)
        # one author takes a reflection back to the researchers once the course is over
        # (links colleagues made stay)
        first_shared = next((r for r in reflections if r[3] is not None), None)
        if first_shared is not None:
            self.at(_at(self.day(5, 5), 10), participant_actor(first_shared[2]),
                    lambda rid=first_shared[0]: app.unshare_record(rid))
        self._recommendations(pid)
        after_day = self.day(5, 4)
        self._maturity(pid, "after", after_day, content.MATURITY_AFTER, units)
        return pid, [p for p, _ in people]

    def _live(self, ids: list[UUID]) -> list[UUID]:
        """Links only to records still standing when the command runs."""
        return [rid for rid in ids if not self.app.get_record(rid)["void"]]

    PRELIMINARY = (
        ("definition_goals", "Gemensam definition"),
        ("political_anchoring", "Politiken"),
        ("development_forums", "Utvecklingsforum"),
        ("hr_role", "HR"),
        ("hr_extra", "Kompetensförsörjning"),
    )

    AREA_IDS = {key: f"a{n}" for n, (key, _name) in enumerate(PRELIMINARY, start=1)}

    def _area_id(self, key: str) -> str:
        return self.AREA_IDS[key]

    def _areas_preliminary(self, pid: UUID, week: int) -> None:
        when = _at(self.day(week, 4), 15, 30)
        for n, (_key, name) in enumerate(self.PRELIMINARY):
            self.at(when + timedelta(minutes=n), RESEARCHER,
                    lambda name=name, n=n: self.app.identify_development_area(
                        pid, name=name, request_id=self.rid("area", n)))

    def _areas_final(self, pid: UUID, week: int) -> None:
        when = _at(self.day(week, 4), 15, 0)
        final = {a["key"]: a for a in content.DEVELOPMENT_AREAS}
        for n, (key, _name) in enumerate(self.PRELIMINARY[:4]):
            area = final[key]
            self.at(when + timedelta(minutes=n), RESEARCHER,
                    lambda n=n, area=area: self.app.rename_development_area(
                        pid, f"a{n + 1}", name=area["name_sv"],
                        request_id=self.rid("area-rename", n)))
        self.at(when + timedelta(minutes=5), RESEARCHER,
                lambda: self.app.merge_development_areas(
                    pid, "a5", into="a4", request_id=self.rid("area-merge")))

    def _colleague(self, people: list, author: UUID, units: list[str], n: int) -> UUID:
        """A colleague from another unit, preferably one of ``units`` (no draw)."""
        mine = self.unit_of[author]
        found = [p for p, u in people if u in units and u != mine] or \
            [p for p, u in people if u != mine]
        return found[n % len(found)]

    def _experiments(self, pid: UUID, decisions: list, people: list) -> None:
        """Joint experiments across units: on a shared decision, every other one is planned
        by a colleague of another unit with the decision's author in the team; otherwise
        the decision's author plans it with a colleague of another unit. Team members record
        steps, one joins on their own, and capabilities come from the team's work."""
        app, rng = self.app, self.rng
        usable = [d for d in decisions if d[1] <= 3]
        meta: dict[int, tuple[UUID, list[UUID], bool]] = {}  # n -> author, team, shared
        for n, e in enumerate(content.EXPERIMENTS):
            if not usable:
                break
            dec_id, dec_week, dec_author, d_units, dec_shared = usable[n % len(usable)]
            week = dec_week + 1
            planned = _at(self.day(week, 0), 9, rng.randint(0, 59))
            units = list(dict.fromkeys([*d_units, *e.get("units", [])]))[:3]
            units = [u for u in units if u in {x["key"] for x in content.UNITS}]
            if dec_shared and n % 2 == 1:  # a colleague builds on the shared decision
                author = self._colleague(people, dec_author, units, n)
                team = [dec_author]
            else:
                author = dec_author
                team = [self._colleague(people, dec_author, units, n)]
            units = list(dict.fromkeys([self.unit_of[author], *units,
                                        *(self.unit_of[m] for m in team)]))[:4]
            shared = n % 5 != 4
            meta[n] = (author, team, shared)
            request_id = self.rid("experiment", n)
            exp_id = record_id_for("experiment", request_id)
            actor = participant_actor(author)
            member = team[0]
            areas = [self._area_id(a) for a in e["areas"]]
            self.at(planned, actor, lambda author=author, week=week, e=e, dec_id=dec_id,
                    units=units, areas=areas, request_id=request_id, team=team,
                    shared=shared: app.plan_experiment(
                        author, programme_id=pid, week=week, aim=e["aim"], change=e["change"],
                        prediction=e["prediction"], measure=e["measure"],
                        based_on=self._live([dec_id]), units=units, development_areas=areas,
                        team=team, shared=shared, request_id=request_id))
            self.at(planned + timedelta(days=1), actor,
                    lambda exp_id=exp_id, week=week: app.start_experiment(exp_id, week=week))
            if shared and n % 3 == 1:  # someone of a third unit joins on their own
                joiner = self._colleague(people, author, [], n + 3)
                if joiner not in team:
                    self.at(planned + timedelta(days=1, hours=3), participant_actor(joiner),
                            lambda exp_id=exp_id, joiner=joiner: app.join_team(
                                exp_id, participant_id=joiner))
            for k, obs in enumerate(e["observations"]):
                who = member if k % 2 else author  # the team takes turns
                self.at(planned + timedelta(days=2 + k, hours=2), participant_actor(who),
                        lambda exp_id=exp_id, obs=obs, who=who: app.record_observation(
                            exp_id, participant_id=who, text=obs))
            end_day = self.day(5, 2)
            self.at(_at(end_day, 10, n), participant_actor(member),
                    lambda exp_id=exp_id, e=e, member=member: app.evaluate_experiment(
                        exp_id, participant_id=member, result=e["result"],
                        learning=e["learning"]))
            self.at(_at(end_day, 14, n), actor, lambda exp_id=exp_id, e=e: app.conclude_experiment(
                exp_id, outcome=e["outcome"]))
            if e["outcome"] == "adapt":
                nxt_request = self.rid("experiment-next", n)
                nxt_id = record_id_for("experiment", nxt_request)
                # the team member from the other unit carries the next cycle
                self.at(_at(self.day(5, 3), 9, n), participant_actor(member),
                        lambda exp_id=exp_id, e=e, nxt_request=nxt_request, member=member:
                        app.plan_next_cycle(
                            exp_id, participant_id=member, week=5, aim=e["aim"],
                            change=e["change"] + " (justerad)", prediction=e["prediction"],
                            measure=e["measure"], request_id=nxt_request))
                self.at(_at(self.day(5, 3), 15, n), participant_actor(member),
                        lambda nxt_id=nxt_id, member=member: app.start_experiment(
                            nxt_id, participant_id=member, week=5))
        # capabilities from adopted experiments, established by the decision's author (the
        # experiment's author or a member of its team), with the rest of the team
        adopted = [(n, e) for n, e in enumerate(content.EXPERIMENTS) if e["outcome"] == "adopt"
                   and usable]
        for k, cap in enumerate(content.CAPABILITIES):
            if not adopted:
                break
            chosen = [adopted[k % len(adopted)]]
            if k % 3 == 0 and len(adopted) > 1:
                chosen.append(adopted[(k + 1) % len(adopted)])
            dec = usable[chosen[0][0] % len(usable)]
            author = dec[2]
            # only experiments the author may build on: their team's, or shared ones
            chosen = [c for c in chosen if meta[c[0]][2]
                      or author in (meta[c[0]][0], *meta[c[0]][1])]
            exp_ids = [record_id_for("experiment", self.rid("experiment", n)) for n, _ in chosen]
            first_author, first_team, _ = meta[chosen[0][0]]
            team = [p for p in (first_author, *first_team) if p != author]
            actor = participant_actor(author)
            units = list(dict.fromkeys([*dec[3], *(self.unit_of[m] for m in team)]))
            request_id = self.rid("capability", k)
            cap_id = record_id_for("capability", request_id)
            areas = [self._area_id(a) for a in cap["areas"]]
            when = _at(self.day(5, 3), 11, k)
            self.at(when, actor, lambda author=author, cap=cap, exp_ids=exp_ids, units=units,
                    areas=areas, request_id=request_id, team=team: app.establish_capability(
                        author, programme_id=pid, week=5, name=cap["name"],
                        description=cap["description"], experiments=exp_ids, units=units,
                        development_areas=areas, team=team, shared=True,
                        request_id=request_id))
            refiner = team[0] if team else author
            self.at(when + timedelta(hours=5), participant_actor(refiner),
                    lambda cap_id=cap_id, cap=cap, refiner=refiner: app.refine_capability(
                        cap_id, participant_id=refiner, description=cap["refinement"]))
            other = rng.choice([u["key"] for u in content.UNITS])
            self.at(when + timedelta(days=1), actor, lambda cap_id=cap_id, cap=cap, other=other:
                    app.apply_capability(cap_id, unit=other, note=cap["application_note"]))

    def _recommendations(self, pid: UUID) -> None:
        when = _at(self.day(5, 4), 15, 45)
        for n, rec in enumerate(content.RECOMMENDATIONS):
            areas = [self._area_id(a) for a in rec["areas"]]
            self.at(when + timedelta(minutes=n), RESEARCHER,
                    lambda rec=rec, areas=areas, n=n: self.app.adopt_recommendation(
                        pid, text=rec["text"], development_areas=areas,
                        request_id=self.rid("recommendation", n)))

    def _maturity(self, pid: UUID, phase: str, day: date, scores: dict[str, float],
                  units: list[dict[str, str]]) -> None:
        self.at(_at(day, 12), RESEARCHER, lambda: self.app.assess_maturity(
            pid, phase=phase, instrument=content.MATURITY_INSTRUMENT, scores=dict(scores),
            assessed_on=day, request_id=self.rid("maturity", phase)))
        for n, unit in enumerate(units):
            spread = content.MATURITY_UNIT_SPREAD
            jitter = {k: round(min(100.0, max(0.0, v + self.rng.uniform(-spread, spread))))
                      for k, v in scores.items()}
            self.at(_at(day, 12, n + 1), RESEARCHER,
                    lambda unit=unit, jitter=jitter, n=n: self.app.assess_maturity(
                        pid, phase=phase, instrument=content.MATURITY_INSTRUMENT, scores=jitter,
                        assessed_on=day, unit=unit["key"],
                        request_id=self.rid("maturity", phase, n)))


#: About this many events a transaction when programmes are loaded (several programmes
#: to a transaction; ~1,200 events each at 30 participants).
BATCH_EVENTS = 10_000
EVENTS_PER_PARTICIPANT = 40


def load_demo(
    app: Framdrift,
    *,
    seed: int = 1,
    programmes: int = 1,
    participants: int = PARTICIPANTS,
    first_day: date = DEFAULT_FIRST_DAY,
    progress: Callable[[int], None] | None = None,
    workers: int = 1,
    batch_events: int = BATCH_EVENTS,
) -> DemoResult:
    """Load ``programmes`` synthetic programmes, several to a transaction.

    Each programme is written whole in one transaction (a fresh batch: new records and
    participants only, no look-up per command, data keys written together) and has a
    deterministic id, so loading the same seed again skips what is there: an
    interrupted load can simply be run again. ``workers`` > 1 builds the programmes in
    that many processes (``multiprocessing``, spawned; each with its own application on
    the same store); the log then holds the same records, the transactions' order
    varying. ``progress`` is called with the number of programmes done.
    """
    start = app.max_position()
    per_batch = max(1, batch_events // max(1, participants * EVENTS_PER_PARTICIPANT))
    if workers > 1:  # at least one group a process
        per_batch = min(per_batch, -(-programmes // workers))
    groups = [list(range(at, min(programmes, at + per_batch)))
              for at in range(0, programmes, per_batch)]
    in_memory = not app.config.is_postgres and ":memory:" in app.config.url
    done: dict[int, tuple[UUID, list[UUID]]] = {}
    if workers > 1 and len(groups) > 1 and not in_memory:
        _load_in_processes(app, groups, min(workers, len(groups)), done, progress, seed=seed,
                           participants=participants, first_day=first_day)
    else:
        with app.background_writes():  # PostgreSQL: one group copied while the next is built
            for group in groups:
                loaded = _load_group(app, seed, group, participants, first_day)
                done.update(loaded)
                if progress:
                    progress(len(loaded))
    ids = [done[i][0] for i in range(programmes)]
    people = {done[i][0]: done[i][1] for i in range(programmes)}
    return DemoResult(ids, app.max_position() - start, people)


def _load_group(app: Framdrift, seed: int, indices: list[int], participants: int,
                first_day: date) -> dict[int, tuple[UUID, list[UUID]]]:
    """Programmes ``indices`` in ONE transaction, each skipped if it is there already."""
    loaded: dict[int, tuple[UUID, list[UUID]]] = {}
    plans = []
    for index in indices:
        plan = _Plan(app, seed, index, first_day)
        pid, participant_ids = plan.build(participants)
        loaded[index] = (pid, participant_ids)
        if not app._contains(pid):  # loaded before: each programme whole or not at all
            plans.append(plan)
    if plans:
        with app.batch(fresh=True):
            for plan in plans:
                for step in sorted(plan.steps, key=_step_order):
                    with clock(lambda at=step.at: at), acting_as(step.actor):
                        step.run()
    return loaded


def _load_in_processes(app: Framdrift, groups: list[list[int]], workers: int,
                       done: dict[int, tuple[UUID, list[UUID]]],
                       progress: Callable[[int], None] | None, *, seed: int,
                       participants: int, first_day: date) -> None:
    """The groups, dealt round-robin to ``workers`` subprocesses (``python -m
    domain.demo``: spec as JSON on stdin, one JSON line per group written on stdout).
    A failing worker stops the others; what they committed stays (whole programmes),
    so the load can be run again."""
    import json
    import os
    import queue as queues
    import subprocess
    import sys
    import threading
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [root, *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]])
    messages: queues.Queue[tuple[int, list[Any]]] = queues.Queue()

    def listen(i: int, stream: Any) -> None:
        for line in stream:
            try:
                messages.put((i, json.loads(line)))
            except ValueError:
                pass
        messages.put((i, ["eof"]))

    procs: list[subprocess.Popen[str]] = []
    finished: set[int] = set()
    try:
        for i in range(workers):
            # in the caller's directory: a relative SQLite path names the same file
            proc = subprocess.Popen([sys.executable, "-m", "domain.demo"], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True, env=env)
            procs.append(proc)
            assert proc.stdin is not None
            proc.stdin.write(json.dumps({
                "url": app.config.url, "seed": seed, "participants": participants,
                "first_day": first_day.isoformat(), "groups": groups[i::workers]}))
            proc.stdin.close()
            threading.Thread(target=listen, args=(i, proc.stdout), daemon=True).start()
        while len(finished) < workers:
            i, message = messages.get()
            if message[0] == "group":
                for index, (pid, people) in message[1].items():
                    done[int(index)] = (UUID(pid), [UUID(p) for p in people])
                if progress:
                    progress(len(message[1]))
            elif message[0] == "done":
                finished.add(i)
            elif message[0] == "error":
                raise RuntimeError(f"demo loader {i} failed:\n{message[1]}")
            elif i not in finished:
                raise RuntimeError(f"demo loader {i} ended with exit code {procs[i].wait()}")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def _worker_main() -> None:
    import json
    import sys
    import traceback

    def say(*message: Any) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    try:
        spec = json.loads(sys.stdin.read())
        app = Framdrift.from_url(spec["url"])
        try:
            first_day = date.fromisoformat(spec["first_day"])
            with app.background_writes():
                for group in spec["groups"]:
                    loaded = _load_group(app, spec["seed"], group, spec["participants"],
                                         first_day)
                    say("group", {i: [str(pid), [str(p) for p in people]]
                                  for i, (pid, people) in loaded.items()})
        finally:
            app.close()
        say("done")
    except BaseException:  # noqa: BLE001 - reported to the parent
        say("error", traceback.format_exc())
        raise SystemExit(1) from None


if __name__ == "__main__":
    _worker_main()
