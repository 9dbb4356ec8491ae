"""The maturity instrument on both stores: an older programme reads the default, a score
outside its scale is refused, renaming keeps the assessments, scales of scored dimensions
stay."""

from __future__ import annotations

import json
from datetime import date

import pytest

from domain import errors
from domain.application import Framdrift

FIRST_DAY = date(2026, 9, 7)
DEFAULT = [
    {"key": "digital_capability", "name_sv": "Digital förmåga", "name_en": "Digital capability",
     "category": None, "scale_min": 0.0, "scale_max": 100.0},
    {"key": "digital_legacy", "name_sv": "Digitalt arv", "name_en": "Digital legacy",
     "category": None, "scale_min": 0.0, "scale_max": 100.0},
]
PEOPLE = {"key": "people", "name_sv": "Människor", "name_en": "People",
          "category": "Kultur", "scale_min": 1, "scale_max": 5}


def types(app: Framdrift) -> list[str]:
    return [type(e).__qualname__ for _, e in app.iter_log()]


def test_an_older_programme_reads_as_the_default_instrument(app, store_url):
    pid = app.plan_programme(organisation="Exempelby", title="Äldre", first_day=FIRST_DAY)
    app.assess_maturity(pid, phase="before", instrument="DiMiOS",
                        scores={"digital_capability": 35, "digital_legacy": 67.5})
    # the stored Planned event is what programmes planned before instruments wrote: only
    # the keys, no instrument
    planned = app.recorder.select_notifications(start=0, limit=10)[0]
    state = json.loads(bytes(planned.state))
    assert planned.topic.endswith("Programme.Planned")
    assert "instrument" not in state and "dimensions" not in state
    assert state["maturity_dimensions"] == ["digital_capability", "digital_legacy"]
    fresh = Framdrift.from_url(store_url)
    try:
        programme = fresh.get_programme(pid)
    finally:
        fresh.close()
    assert programme["instrument"] == DEFAULT
    assert programme["assessed_dimensions"] == ["digital_capability", "digital_legacy"]


def test_out_of_scale_scores_and_scale_changes_are_refused(app):
    pid = app.plan_programme(organisation="Exempelby", title="Egen", first_day=FIRST_DAY,
                             instrument=[DEFAULT[0], PEOPLE])
    assert types(app) == ["Programme.Planned", "Programme.MaturityInstrumentDefined"]
    with pytest.raises(errors.ScoreOutOfScaleError, match="People.*from 1 to 5"):
        app.assess_maturity(pid, phase="before", instrument="DiMiOS",
                            scores={"digital_capability": 50, "people": 7})
    app.assess_maturity(pid, phase="before", instrument="DiMiOS", scores={"people": 4.5})
    with pytest.raises(errors.InstrumentChangeError, match="scale of 'people'"):
        app.define_maturity_instrument(
            pid, dimensions=[DEFAULT[0], {**PEOPLE, "scale_min": 0, "scale_max": 100}])
    with pytest.raises(errors.InvalidValueError) as bad:
        app.define_maturity_instrument(pid, dimensions=[{"key": "x", "name_sv": "X"}])
    assert bad.value.field == "name_en"
    assert types(app) == ["Programme.Planned", "Programme.MaturityInstrumentDefined",
                          "Programme.MaturityAssessed"]
    assert app.get_programme(pid)["instrument"][1]["scale_max"] == 5.0


def test_renaming_keeps_the_key_and_the_assessments(app, store_url):
    pid = app.plan_programme(organisation="Exempelby", title="Byte", first_day=FIRST_DAY)
    app.assess_maturity(pid, phase="before", instrument="DiMiOS",
                        scores={"digital_capability": 40, "digital_legacy": 60})
    renamed = [{**DEFAULT[0], "name_sv": "Digital mognad", "name_en": "Digital maturity",
                "category": "DiMiOS"}, DEFAULT[1], PEOPLE]
    for _ in range(2):  # a retry of the same request records it once
        app.define_maturity_instrument(pid, dimensions=renamed, request_id="rename-1")
    assert types(app).count("Programme.MaturityInstrumentDefined") == 1
    app.assess_maturity(pid, phase="after", instrument="DiMiOS",
                        scores={"digital_capability": 55, "people": 3})
    fresh = Framdrift.from_url(store_url)
    try:
        p = fresh.get_programme(pid)
    finally:
        fresh.close()
    assert [d["key"] for d in p["instrument"]] == ["digital_capability", "digital_legacy",
                                                     "people"]
    assert p["instrument"][0]["name_sv"] == "Digital mognad"
    assert p["instrument"][0]["category"] == "DiMiOS"
    assert [a["scores"] for a in p["assessments"]] == [
        {"digital_capability": 40.0, "digital_legacy": 60.0},
        {"digital_capability": 55.0, "people": 3.0}]
