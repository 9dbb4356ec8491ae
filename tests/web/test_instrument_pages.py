"""The maturity instrument on the researchers' pages: the assessment form shows the
dimensions' names and scales, out-of-scale scores are a 422 naming the dimension and the
range, and the instrument page renames and adds dimensions (a new version each time)."""

from __future__ import annotations

import re

from web_support import form_fields

from domain.context import acting_as


def _input(html: str, name: str) -> str:
    found = re.search(rf'<input id="{name}" name="{name}"[^>]*>', html)
    assert found, name
    return found.group(0)


def _assess(world, client, **scores):
    path = f"/r/programmes/{world.programme}/maturity/new"
    data = {**form_fields(client, path), "phase": "before", "instrument": "DiMiOS",
            "assessed_on": "2026-09-07", "unit": "", **scores}
    return client.post(path, data=data)


def test_the_form_shows_names_in_the_page_language_and_each_scale(world):
    with acting_as("researcher:test"):
        world.app.define_maturity_instrument(world.programme, dimensions=[
            {"key": "digital_capability", "name_sv": "Digital förmåga",
             "name_en": "Digital capability"},
            {"key": "people", "name_sv": "Människor", "name_en": "People",
             "category": "Kultur", "scale_min": 1, "scale_max": 5}])
    client = world.client("researcher")
    html = client.get(f"/r/programmes/{world.programme}/maturity/new").get_data(as_text=True)
    assert '<label for="score_0">Digital förmåga' in html
    assert '<label for="score_1">Människor' in html
    people = _input(html, "score_1")
    # a text field taking a decimal comma, described by its scale
    assert 'type="text"' in people and "inputmode=decimal" in people
    assert 'aria-describedby="score_1-hint"' in people
    assert '<p class="hint" id="score_1-hint">Kultur · Ett tal från 1 till 5.</p>' in html
    assert '<p class="hint" id="score_0-hint">Ett tal från 0 till 100.</p>' in html
    assert "digital_capability" not in html  # no key shown raw
    client.get("/lang/en")
    english = client.get(f"/r/programmes/{world.programme}/maturity/new").get_data(
        as_text=True)
    assert '<label for="score_1">People' in english and "A number from 1 to 5." in english


def test_an_out_of_scale_score_is_a_422_naming_the_dimension_and_the_range(world):
    with acting_as("researcher:test"):
        world.app.define_maturity_instrument(world.programme, dimensions=[
            {"key": "digital_capability", "name_sv": "Digital förmåga",
             "name_en": "Digital capability"},
            {"key": "people", "name_sv": "Människor", "name_en": "People",
             "scale_min": 1, "scale_max": 5}])
    client = world.client("researcher")
    answer = _assess(world, client, score_0="55", score_1="7")
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert '<a href="#score_1" data-named>Människor: Ange ett tal från 1 till 5.</a>' in html
    assert world.app.get_programme(world.programme)["assessments"] == []
    assert _assess(world, client, score_0="55", score_1="4,5").status_code == 302
    assessed = world.app.get_programme(world.programme)["assessments"]
    assert [a["scores"] for a in assessed] == [{"digital_capability": 55.0, "people": 4.5}]


def test_the_instrument_page_renames_and_adds_and_keeps_assessed_scales(world):
    client = world.client("researcher")
    assert _assess(world, client, score_0="40", score_1="60").status_code == 302
    path = f"/r/programmes/{world.programme}/instrument"
    html = client.get(path).get_data(as_text=True)
    assert "<legend>Digital förmåga</legend>" in html
    assert 'name="scale_min_0"' not in html  # assessed: its scale is fixed
    assert "Skala 0–100, fast: den har bedömts." in html
    data = {**form_fields(client, path), "name_sv_0": "Digital mognad",
            "name_en_0": "Digital maturity", "category_0": "", "name_sv_1": "Digitalt arv",
            "name_en_1": "Digital legacy", "category_1": "", "name_sv_new": "Samverkan",
            "name_en_new": "Collaboration", "category_new": "Kultur", "scale_min_new": "1",
            "scale_max_new": "5"}
    answer = client.post(path, data=data)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    p = world.app.get_programme(world.programme)
    assert [(d["key"], d["name_sv"], d["scale_max"]) for d in p["instrument"]] == [
        ("digital_capability", "Digital mognad", 100.0),
        ("digital_legacy", "Digitalt arv", 100.0), ("collaboration", "Samverkan", 5.0)]
    assert p["assessments"][0]["scores"] == {"digital_capability": 40.0,
                                            "digital_legacy": 60.0}
    # the programme page and the overview name the dimension by its new name
    page = client.get(f"/r/programmes/{world.programme}").get_data(as_text=True)
    assert "Digital mognad: 40;" in page and "Samverkan (1–5)" in page  # as the language writes it
    # a stale form (the version it was read at) changes nothing: 409
    again = client.post(path, data={**data, "name_sv_0": "Annat namn"})
    assert again.status_code == 409
    assert world.app.get_programme(world.programme)["instrument"][0]["name_sv"] == \
        "Digital mognad"


def test_bad_instrument_forms_name_the_field(world):
    client = world.client("researcher")
    path = f"/r/programmes/{world.programme}/instrument"
    version = world.app.get_programme(world.programme)["version"]
    base = {**form_fields(client, path), "name_sv_0": "Digital förmåga",
            "name_en_0": "Digital capability", "name_sv_1": "Digitalt arv",
            "name_en_1": "Digital legacy", "scale_min_0": "0", "scale_max_0": "100",
            "scale_min_1": "0", "scale_max_1": "100"}
    for change, field in (({"name_sv_0": ""}, "name_sv_0"),
                          ({"name_sv_new": "Bara svenska"}, "name_en_new"),
                          ({"scale_min_1": "10", "scale_max_1": "5"}, "scale_max_1"),
                          ({"scale_max_0": "mycket"}, "scale_max_0")):
        answer = client.post(path, data={**base, **change})
        assert answer.status_code == 422, change
        assert re.search(f'<a href="#{field}"( data-named)?>', answer.get_data(as_text=True)), \
            change
    assert world.app.get_programme(world.programme)["version"] == version
