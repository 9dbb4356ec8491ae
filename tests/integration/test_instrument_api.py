"""The maturity instrument in the API and the exports, on SQLite and PostgreSQL: the
programme's own dimension names beside every key (in the language asked for), in
summaries, in the maturity table as csv and xlsx; the instrument read-only for evaluators."""

from __future__ import annotations

import csv
import io
from datetime import date
from uuid import uuid4

import openpyxl
import pytest
from api_support import World, catch_up, flask_app

from domain.accounts import issue_token
from domain.context import acting_as

BOM = b"\xef\xbb\xbf"


@pytest.fixture
def world(app) -> World:
    with acting_as("researcher:test"):
        pid = app.plan_programme(organisation="Exempelby", title="Mognad",
                                 first_day=date(2026, 9, 7))
        app.assess_maturity(pid, phase="before", instrument="DiMiOS",
                            scores={"digital_capability": 40, "digital_legacy": 70})
        app.define_maturity_instrument(pid, dimensions=[
            {"key": "digital_capability", "name_sv": "Digital mognad",
             "name_en": "Digital maturity", "category": "DiMiOS"},
            {"key": "digital_legacy", "name_sv": "Digitalt arv", "name_en": "Digital legacy"},
            {"key": "people", "name_sv": "Människor", "name_en": "People", "scale_min": 1,
             "scale_max": 5}])
        app.assess_maturity(pid, phase="after", instrument="DiMiOS",
                            scores={"digital_capability": 55, "people": 3.5})
    evaluator, _ = issue_token(app, role="evaluator", label="tests: evaluator")
    researcher, _ = issue_token(app, role="researcher", label="tests: researcher")
    catch_up(app)
    flask = flask_app(app)
    return World(app, flask, flask.test_client(), pid, evaluator, researcher)


def test_maturity_rows_name_the_programmes_own_dimensions_with_their_scales(world):
    rows = world.get("/api/v1/programmes/{pid}/maturity").get_json()["items"]
    named = {r["dimension"]: (r["dimension_label"], r["scale_min"], r["scale_max"])
             for r in rows}
    assert named == {"digital_capability": ("Digital mognad", 0.0, 100.0),
                     "digital_legacy": ("Digitalt arv", 0.0, 100.0),
                     "people": ("Människor", 1.0, 5.0)}
    english = world.get("/api/v1/programmes/{pid}/maturity?lang=en").get_json()["items"]
    assert {r["dimension_label"] for r in english} == {
        "Digital maturity", "Digital legacy", "People"}
    capability = next(r for r in rows if r["dimension"] == "digital_capability")
    assert (capability["before"], capability["after"], capability["change"]) == (40, 55, 15)


def test_maturity_exports_as_csv_and_xlsx_with_names(world):
    answer = world.get("/api/v1/programmes/{pid}/maturity?format=csv&sep=semicolon")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert answer.get_data().startswith(BOM)
    assert "maturity" in answer.headers["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff")),
                                delimiter=";"))
    assert list(table[0])[:2] == ["dimension", "dimension_label"]
    assert {r["dimension_label"] for r in table} == {"Digital mognad", "Digitalt arv",
                                                      "Människor"}
    people = next(r for r in table if r["dimension"] == "people")
    assert (people["after"], people["scale_max"]) == ("3.5", "5.0")
    sheet = openpyxl.load_workbook(io.BytesIO(world.get(
        "/api/v1/programmes/{pid}/maturity?format=xlsx&lang=en").get_data())).active
    header = [c.value for c in sheet[1]]
    column = header.index("dimension_label")
    assert {row[column].value for row in sheet.iter_rows(min_row=2)} == {
        "Digital maturity", "Digital legacy", "People"}
    assert world.get("/api/v1/programmes/{pid}/maturity?format=pdf").status_code == 422


def test_summaries_name_the_dimensions_in_both_languages(world):
    path = "/api/v1/programmes/{pid}/timeline?page_size=50"
    sv = [r["summary"] for r in world.get(path).get_json()["items"]]
    en = [r["summary"] for r in world.get(path + "&lang=en").get_json()["items"]]
    assert "mognad bedömd efter utbildningsinsatsen (DiMiOS): Digital mognad 55, " \
           "Människor 3.5" in sv
    assert "maturity assessed after (DiMiOS): Digital maturity 55, People 3.5" in en
    assert "mätinstrument för mognad fastställt: Digital mognad (0–100), Digitalt arv " \
           "(0–100), Människor (1–5)" in sv
    # the first assessment was given before the rename: it reads with today's names
    assert "maturity assessed before (DiMiOS): Digital maturity 40, Digital legacy 70" in en


def test_the_instrument_is_read_only_for_evaluators(world):
    answer = world.get("/api/v1/programmes/{pid}/maturity-instrument?lang=en")
    assert answer.status_code == 200
    items = answer.get_json()["items"]
    assert [(d["dimension"], d["dimension_label"], d["name_sv"], d["category"],
             d["scale_min"], d["scale_max"], d["assessed"]) for d in items] == [
        ("digital_capability", "Digital maturity", "Digital mognad", "DiMiOS", 0, 100, True),
        ("digital_legacy", "Digital legacy", "Digitalt arv", None, 0, 100, True),
        ("people", "People", "Människor", None, 1, 5, True)]
    assert world.get(f"/api/v1/programmes/{uuid4()}/maturity-instrument").status_code == 404
    assert world.client.post(
        world.get("/api/v1/programmes/{pid}/maturity-instrument").request.path,
        headers=world.headers(), json={}).status_code == 405
    assert world.client.get(f"/api/v1/programmes/{world.programme_id}/maturity-instrument"
                            ).status_code == 401
