"""The maturity instrument of a programme: the default, defining a new version, scales."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from domain import errors
from domain.model import Programme
from domain.values import DEFAULT_INSTRUMENT, Dimension, Phase, Week

FIRST_DAY = date(2026, 9, 7)
CAP, LEG = DEFAULT_INSTRUMENT


def names(events) -> list[str]:
    return [type(e).__qualname__ for e in events]


def plan(**overrides) -> Programme:
    kwargs = dict(organisation="Exempelby kommun", title="T",
                  weeks=Week.default_weeks(FIRST_DAY), units=[{"key": "it", "name": "IT"}])
    kwargs.update(overrides)
    return Programme.plan(**kwargs)


def assess(p: Programme, **scores: float) -> str:
    return p.assess_maturity(phase=Phase.BEFORE, instrument="DiMiOS", assessed_on=FIRST_DAY,
                             scores=scores)


def test_default_instrument_mirrors_the_public_sector_model():
    p = plan()
    assert names(p.collect_events()) == ["Programme.Planned"]  # no extra event for it
    assert [(d.key, d.name_sv, d.name_en, d.scale) for d in p.instrument] == [
        ("digital_capability", "Digital förmåga", "Digital capability", "0–100"),
        ("digital_legacy", "Digitalt arv", "Digital legacy", "0–100")]


def test_own_keys_without_an_instrument_read_as_named_by_key_on_0_to_100():
    p = plan(maturity_dimensions=["digital_legacy", "data"])
    assert p.instrument == [LEG, Dimension("data", "data", "data")]


def test_planned_with_an_instrument_records_it_in_the_same_save():
    people = Dimension("people", "Människor", "People", category="Kultur", scale_min=1,
                       scale_max=5)
    p = plan(instrument=[CAP, people])
    events = p.collect_events()
    assert names(events) == ["Programme.Planned", "Programme.MaturityInstrumentDefined"]
    assert events[0].maturity_dimensions == ["digital_capability", "people"]
    assert events[1].dimensions == [CAP, replace(people, scale_min=1.0, scale_max=5.0)]
    # replayed from its events, the programme has the same instrument
    again = None
    for e in events:
        again = e.mutate(again)
    assert again.instrument == p.instrument and again.maturity_dimensions == [
        "digital_capability", "people"]


def test_a_dimension_is_added_and_renamed_keeping_its_key_and_scores():
    p = plan()
    assess(p, digital_capability=40)
    p.collect_events()
    renamed = replace(CAP, name_sv="Digital mognad", name_en="Digital maturity")
    p.define_maturity_instrument([renamed, LEG, Dimension("data", "Data", "Data")])
    assert names(p.collect_events()) == ["Programme.MaturityInstrumentDefined"]
    assert p.dimension("digital_capability").name("sv") == "Digital mognad"
    assert p.maturity_dimensions == ["digital_capability", "digital_legacy", "data"]
    assert p.assessments[0]["scores"] == {"digital_capability": 40.0}
    assess(p, data=70)  # the new dimension can be scored
    # the same instrument again records nothing
    p.collect_events()
    p.define_maturity_instrument([renamed, LEG, Dimension("data", "Data", "Data")])
    assert p.collect_events() == []


def test_the_scale_of_an_assessed_dimension_cannot_change_nor_can_it_be_removed():
    p = plan()
    assess(p, digital_capability=40)
    p.collect_events()
    with pytest.raises(errors.InstrumentChangeError, match="scale of 'digital_capability'"):
        p.define_maturity_instrument([replace(CAP, scale_max=5.0), LEG])
    with pytest.raises(errors.InstrumentChangeError, match="cannot be removed"):
        p.define_maturity_instrument([LEG])
    assert p.collect_events() == [] and p.instrument == list(DEFAULT_INSTRUMENT)
    # an unscored dimension may be re-scaled or removed
    p.define_maturity_instrument([CAP, replace(LEG, scale_min=1.0, scale_max=5.0)])
    p.define_maturity_instrument([CAP])
    assert names(p.collect_events()) == ["Programme.MaturityInstrumentDefined"] * 2


@pytest.mark.parametrize(("dimensions", "field"), [
    ([], "dimensions"),
    ([CAP, CAP], "key"),
    ([Dimension("Bad Key", "a", "b")], "key"),
    ([Dimension("k", " ", "b")], "name_sv"),
    ([Dimension("k", "a", "line\nbreak")], "name_en"),
    ([Dimension("k", "a", "b", scale_min=5, scale_max=5)], "scale_max"),
    ([Dimension("k", "a", "b", scale_min=float("nan"))], "scale_min"),
    ([Dimension("k", "a", "b", scale_max=True)], "scale_max"),
])
def test_bad_instruments_are_refused_at_their_field(dimensions, field):
    p = plan()
    p.collect_events()
    with pytest.raises(errors.InvalidValueError) as e:
        p.define_maturity_instrument(dimensions)
    assert e.value.field == field
    assert p.collect_events() == []


def test_scores_are_validated_against_each_dimensions_own_scale():
    p = plan(instrument=[CAP, Dimension("people", "Människor", "People", None, 1, 5)])
    p.collect_events()
    assess(p, digital_capability=80, people=5)
    with pytest.raises(errors.ScoreOutOfScaleError) as e:
        assess(p, people=80)
    assert "People" in e.value.message and "from 1 to 5" in e.value.message
    assert (e.value.dimension, e.value.low, e.value.high) == ("people", 1.0, 5.0)
    with pytest.raises(errors.ScoreOutOfScaleError):
        assess(p, people=0.5)
    with pytest.raises(errors.ScoreOutOfScaleError):
        assess(p, digital_capability=float("nan"))
    assert len(p.assessments) == 1
