"""When/Then steps of the features in features/, and the scenarios pytest collects."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from domain import errors
from domain.context import clock

scenarios(
    "programme_planning.feature",
    "reflection_on_material.feature",
    "decision.feature",
    "experiment_to_capability.feature",
    "withdrawn_reflection.feature",
    "not_enrolled.feature",
)


def attempt(world: dict[str, Any], command) -> Any:
    """Run a command; a refusal is kept for a later Then step instead of failing the When."""
    world["error"] = None
    try:
        return command()
    except errors.DomainError as e:
        world["error"] = e
        return None


def ok(world: dict[str, Any]) -> dict[str, Any]:
    assert world["error"] is None, f"unexpected refusal: {world['error']!r}"
    return world


def events_of(world, originator) -> list[Any]:
    return [e for _, e in world["app"].iter_log() if e.originator_id == originator]


# When -------------------------------------------------------------------------------------


@when(parsers.parse('a researcher plans a programme with weeks numbered "{numbers}"'))
def plan_bad_weeks(world, numbers):
    weeks = [
        {"number": int(n), "theme": "governance", "starts_on": date(2026, 9, 7 + 7 * i),
         "ends_on": date(2026, 9, 11 + 7 * i)}
        for i, n in enumerate(numbers.split(", "))
    ]
    attempt(world, lambda: world["app"].plan_programme(
        organisation="Exempelby kommun", title="Badly planned", weeks=weeks))


@when(parsers.parse('"{name}" logs a reflection for week {week:d} on "{material}" on {day} '
                    'with example "{text}"'))
def log_on_material(world, name, week, material, day, text):
    moment = datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC).replace(hour=9)
    with clock(lambda: moment):
        world["reflection"] = attempt(world, lambda: world["app"].log_reflection(
            world["people"][name], programme_id=world["programme"], week=week,
            material_id=world["materials"][material], example=text))


@when(parsers.parse('"{name}" logs a reflection for week {week:d}'))
def log_for_week(world, name, week):
    world["reflection"] = attempt(world, lambda: world["app"].log_reflection(
        world["people"][name], week=week, example="Something seen"))


@when(parsers.parse('"{name}" logs a reflection in the first programme'))
def log_in_first_programme(world, name):
    world["reflection"] = attempt(world, lambda: world["app"].log_reflection(
        world["people"][name], programme_id=world["programme"], week=1, example="Not mine"))


@when(parsers.parse('"{name}" decides "{text}" based on both reflections, with units "{units}"'))
def decide(world, name, text, units):
    world["decision"] = attempt(world, lambda: world["app"].make_decision(
        world["people"][name], week=3, statement=text,
        based_on=list(world["reflections"].values()), units=units.split(", ")))


@when(parsers.parse('"{name}" plans an experiment "{aim}" based on the decision'))
def plan_experiment(world, name, aim):
    world["experiment"] = attempt(world, lambda: world["app"].plan_experiment(
        world["people"][name], week=3, aim=aim, change="Use one platform for case data",
        prediction="Shorter lead times", measure="Lead time in days",
        based_on=[world["decision"]]))


@when(parsers.parse("the experiment is started in week {week:d}"))
def start(world, week):
    attempt(ok(world), lambda: world["app"].start_experiment(world["experiment"], week=week))


@when(parsers.parse('an observation "{text}" is recorded'))
def observe(world, text):
    attempt(ok(world), lambda: world["app"].record_observation(world["experiment"], text=text))


@when(parsers.parse('the experiment is evaluated with result "{text}"'))
def evaluate(world, text):
    attempt(ok(world), lambda: world["app"].evaluate_experiment(
        world["experiment"], result=text, learning="Involve IT from the start"))


@when(parsers.parse('the experiment is concluded with "{outcome}"'))
def conclude(world, outcome):
    attempt(ok(world), lambda: world["app"].conclude_experiment(
        world["experiment"], outcome=outcome))


@when(parsers.parse('"{name}" establishes the capability "{cap}" from the experiment'))
def establish(world, name, cap):
    world["capability"] = attempt(ok(world), lambda: world["app"].establish_capability(
        world["people"][name], week=5, name=cap, description="Units share case data",
        experiments=[world["experiment"]]))


@when(parsers.parse('"{name}" amends the reflection to "{text}"'))
def amend(world, name, text):
    attempt(world, lambda: world["app"].amend_reflection(
        world["reflection"], participant_id=world["people"][name], example=text))


@when(parsers.parse('"{name}" withdraws the reflection'))
def withdraw(world, name):
    attempt(ok(world), lambda: world["app"].withdraw_reflection(
        world["reflection"], participant_id=world["people"][name]))


# Then -------------------------------------------------------------------------------------


@then(parsers.parse('it is refused with "{error}"'))
def refused_with(world, error):
    assert world["error"] is not None, "the command was accepted"
    assert type(world["error"]).__name__ == error


@then(parsers.parse('the plan is refused because "{message}"'))
def plan_refused(world, message):
    assert isinstance(world["error"], errors.InvalidValueError)
    assert message in world["error"].message and world["error"].field == "weeks"


@then("the log is empty")
def log_empty(world):
    assert world["app"].max_position() == 0


@then(parsers.parse("the programme has {n:d} weeks"))
def programme_weeks(world, n):
    assert len(world["app"].get_programme(world["programme"])["weeks"]) == n


@then(parsers.parse('the weeks have the themes "{themes}"'))
def programme_themes(world, themes):
    weeks = world["app"].get_programme(world["programme"])["weeks"]
    assert [w["theme"] for w in weeks] == themes.split(", ")
    assert [w["number"] for w in weeks] == list(range(1, len(weeks) + 1))


@then(parsers.parse("week {n:d} runs from {start} to {end}"))
def week_dates(world, n, start, end):
    week = world["app"].get_programme(world["programme"])["weeks"][n - 1]
    assert (week["number"], week["starts_on"], week["ends_on"]) == (n, start, end)


@then(parsers.parse('the log holds one "{name}" event'))
def log_holds_one(world, name):
    assert [type(e).__qualname__ for _, e in world["app"].iter_log()] == [name]


@then(parsers.parse('the reflection belongs to week {week:d} and to "{name}"\'s unit "{unit}"'))
def reflection_week_unit(world, week, name, unit):
    record = world["app"].get_record(ok(world)["reflection"])
    assert record["week"] == week and record["unit"] == unit
    assert record["participant_id"] == str(world["people"][name])


@then(parsers.parse('the reflection names the material "{title}"'))
def reflection_material(world, title):
    assert world["app"].get_record(world["reflection"])["material_id"] == \
        world["materials"][title]


@then(parsers.parse('the reflection reads "{text}"'))
def reflection_reads(world, text):
    assert world["app"].get_record(world["reflection"])["example"] == text


@then(parsers.parse('the "{name}" event was recorded at {day} by "{who}"'))
def recorded_at_by(world, name, day, who):
    [event] = [e for e in events_of(world, world["reflection"])
               if type(e).__qualname__ == name]
    assert event.timestamp.date() == date.fromisoformat(day)
    assert event.actor == f"participant:{world['people'][who]}"


@then("the decision is based on both reflections")
def decision_bases(world):
    record = world["app"].get_record(ok(world)["decision"])
    assert record["based_on"] == [str(r) for r in world["reflections"].values()]
    assert len(record["based_on"]) == 2


@then(parsers.parse('the decision involves the units "{units}"'))
def decision_units(world, units):
    assert world["app"].get_record(world["decision"])["units"] == units.split(", ")


@then(parsers.parse('the experiment\'s events are "{names}"'))
def experiment_events(world, names):
    found = [type(e).__qualname__ for e in events_of(ok(world), world["experiment"])]
    assert found == [f"Experiment.{n}" for n in names.split(", ")]


@then("the capability leads back through the experiment and the decision to the reflection")
def lineage(world):
    app = ok(world)["app"]
    capability = app.get_record(world["capability"])
    experiment = app.get_record(capability["based_on"][0])
    assert experiment["id"] == str(world["experiment"]) and experiment["outcome"] == "adopt"
    decision = app.get_record(experiment["based_on"][0])
    assert decision["id"] == str(world["decision"])
    reflection = app.get_record(decision["based_on"][0])
    assert reflection["id"] == str(world["reflection"]) and reflection["kind"] == "reflection"


@then(parsers.parse('the reflection\'s events are "{names}"'))
def reflection_events(world, names):
    found = [type(e).__qualname__ for e in events_of(ok(world), world["reflection"])]
    assert found == [f"Reflection.{n}" for n in names.split(", ")]


@then(parsers.parse('the first event still reads "{text}"'))
def first_event_reads(world, text):
    assert events_of(world, world["reflection"])[0].example.text == text


@then("the reflection is marked withdrawn")
def marked_withdrawn(world):
    record = world["app"].get_record(world["reflection"])
    assert record["withdrawn"] is True and record["void"] is True


@then(parsers.parse('amending it again is refused with "{error}"'))
def amend_again(world, error):
    with pytest.raises(getattr(errors, error)):
        world["app"].amend_reflection(world["reflection"], example="Once more")


@then("no reflection was recorded")
def no_reflection(world):
    names = [type(e).__qualname__ for _, e in world["app"].iter_log()]
    assert "Reflection.Logged" not in names


# Building on a colleague's insight across units (features/building_across_units.feature)

scenarios("building_across_units.feature")


@given(parsers.parse('"{name}" has planned a joint experiment "{aim}" with "{member}"'))
def has_planned_joint(world, name, aim, member):
    world["experiment"] = world["app"].plan_experiment(
        world["people"][name], week=3, aim=aim, change="Use one platform",
        prediction="Shorter lead times", measure="Lead time in days",
        team=[world["people"][member]])


@when(parsers.parse('"{name}" decides "{text}" based on Ada\'s reflection, involving "{who}" '
                    'and the units "{units}"'))
def decide_on_colleagues(world, name, text, who, units):
    world["decision"] = attempt(world, lambda: world["app"].make_decision(
        world["people"][name], week=3, statement=text, based_on=[world["reflection"]],
        participants=[world["people"][who]], units=units.split(", ")))


@when(parsers.parse('"{name}" plans a joint experiment "{aim}" with "{member}" based on the '
                    'decision'))
def plan_joint(world, name, aim, member):
    world["experiment"] = attempt(ok(world), lambda: world["app"].plan_experiment(
        world["people"][name], week=3, aim=aim, change="Use one platform",
        prediction="Shorter lead times", measure="Lead time in days",
        based_on=[world["decision"]], team=[world["people"][member]], shared=True))


@when(parsers.parse('"{name}" starts the experiment and records the observation "{text}"'))
def member_steps(world, name, text):
    who = world["people"][name]
    attempt(ok(world), lambda: world["app"].start_experiment(
        world["experiment"], participant_id=who, week=3))
    attempt(ok(world), lambda: world["app"].record_observation(
        world["experiment"], participant_id=who, text=text))


@when(parsers.parse('"{name}" evaluates the experiment and concludes it with "{outcome}"'))
def member_concludes(world, name, outcome):
    who = world["people"][name]
    attempt(ok(world), lambda: world["app"].evaluate_experiment(
        world["experiment"], participant_id=who, result="It held", learning="Ask IT early"))
    attempt(ok(world), lambda: world["app"].conclude_experiment(
        world["experiment"], participant_id=who, outcome=outcome))


@when(parsers.parse('"{name}" establishes the capability "{cap}" from the experiment with '
                    '"{member}" in the team'))
def establish_joint(world, name, cap, member):
    world["capability"] = attempt(ok(world), lambda: world["app"].establish_capability(
        world["people"][name], week=5, name=cap, description="Units share case data",
        experiments=[world["experiment"]], team=[world["people"][member]], shared=True))


@when(parsers.parse('"{name}" shares the reflection with the course group'))
def share_reflection(world, name):
    attempt(world, lambda: world["app"].share_record(
        world["reflection"], participant_id=world["people"][name]))


@when(parsers.parse('"{name}" shares the experiment with the course group'))
def share_experiment(world, name):
    attempt(world, lambda: world["app"].share_record(
        world["experiment"], participant_id=world["people"][name]))


@when(parsers.parse('"{name}" starts the experiment'))
def someone_starts(world, name):
    attempt(world, lambda: world["app"].start_experiment(
        world["experiment"], participant_id=world["people"][name], week=3))


@when(parsers.parse('"{name}" joins the experiment'))
def joins(world, name):
    attempt(ok(world), lambda: world["app"].join_team(
        world["experiment"], participant_id=world["people"][name]))


@then("the capability's lineage leads back to Ada's reflection")
def lineage_back_to_ada(world):
    from projections import queries
    from projections.runner import catch_up

    app = ok(world)["app"]
    catch_up(app)
    graph = queries.lineage(app.sql, world["programme"], world["capability"])
    ids = {n["id"]: n for n in graph["nodes"]}
    assert str(world["reflection"]) in ids and ids[str(world["reflection"])]["unit"] == "soc"
    assert {n["kind"] for n in graph["nodes"]} == {
        "reflection", "decision", "experiment", "capability"}


@then("the read models count the link from Bo's decision to Ada's reflection as across "
      "participants and units")
def counted_across(world):
    from projections import queries

    app = world["app"]
    graph = queries.lineage(app.sql, world["programme"])
    [edge] = [e for e in graph["edges"] if e["from"] == str(world["decision"])]
    assert edge["cross_participant"] and edge["cross_unit"]
    links = queries.collaboration_links(app.sql, world["programme"])
    assert links["cross_unit_links"] >= 1 and links["cross_participant_links"] >= 1


@then("the decision is based on Ada's reflection")
def based_on_adas(world):
    record = world["app"].get_record(ok(world)["decision"])
    assert record["based_on"] == [str(world["reflection"])]
    assert record["participants"] == [str(world["people"]["Ada"])]


@then(parsers.parse('the experiment\'s team is "{names}"'))
def team_is(world, names):
    record = world["app"].get_record(ok(world)["experiment"])
    assert record["team"] == [str(world["people"][n]) for n in names.split(", ")]
