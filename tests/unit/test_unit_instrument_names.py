"""Names and scales of a programme's own dimensions where they are shown: the labeller of
the API and exports (keys, maturity summaries) and the overview's chart."""

from __future__ import annotations

from api.web.labels import Labeller, dimension_names
from api.web.overview import maturity_chart

PROGRAMME = {"instrument": [
    {"key": "digital_capability", "name_sv": "Digital mognad", "name_en": "Digital maturity",
     "category": None, "scale_min": 0.0, "scale_max": 100.0},
    {"key": "people", "name_sv": "Människor", "name_en": "People", "category": "Kultur",
     "scale_min": 1.0, "scale_max": 5.0}]}


def test_keys_are_named_by_the_programmes_instrument_else_the_default():
    sv = Labeller("sv", dimensions=dimension_names(PROGRAMME))
    assert sv.name("dimension", "people") == "Människor"
    assert Labeller("en", dimensions=dimension_names(PROGRAMME)).name(
        "dimension", ["people", "digital_capability"]) == ["People", "Digital maturity"]
    assert sv.name("dimension", "unknown_key") == "unknown_key"
    # without a programme (or an as-of state from before instruments): the default names
    assert Labeller("en").name("dimension", "digital_legacy") == "Digital legacy"
    assert dimension_names({}) == {}


def test_maturity_summaries_name_the_dimensions_in_both_languages():
    text = "maturity assessed after (DiMiOS): digital_capability 55, people 3.5"
    en = Labeller("en", dimensions=dimension_names(PROGRAMME))
    assert en.summary(text) == "maturity assessed after (DiMiOS): Digital maturity 55, " \
                               "People 3.5"
    defined = "maturity instrument defined: digital_capability (0–100), people (1–5)"
    assert en.summary(defined) == "maturity instrument defined: Digital maturity (0–100), " \
                                  "People (1–5)"
    assert en.summary("programme closed") == "programme closed"  # other English stays


def test_the_overview_draws_each_dimension_on_its_own_scale():
    rows = [{"dimension": "digital_capability", "unit": None, "before": 50.0, "after": 100.0},
            {"dimension": "people", "unit": None, "before": 3.0, "after": 5.0}]
    chart = maturity_chart(rows, {"digital_capability": (0.0, 100.0), "people": (1.0, 5.0)})
    capability, people = chart["rows"]
    full = capability["aw"]
    assert full > 0 and people["aw"] == full  # both at the top of their scales
    assert capability["bw"] == people["bw"] == round(full / 2, 1)  # both half way
    assert chart["top"] == 100.0
    assert (capability["scale"], people["scale"]) == (None, "1–5")  # named if not 0–100
