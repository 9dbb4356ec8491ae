"""The replay counts in the singular for one and in the plural otherwise, in Swedish and
in English ("1 decision, 0 experiments", "1 anteckning, 1 deltagare, 1 enhet")."""

from __future__ import annotations

import importlib
import re
from datetime import date

from flask_babel import force_locale
from web_support import World

from api.replay import kind_count
from domain.context import acting_as


def _text(html: str, pattern: str) -> str:
    found = re.search(pattern, html, re.S)
    assert found, pattern
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(0)))


def test_replay_counts_one_in_the_singular(world: World) -> None:
    app = world.app
    with acting_as("researcher:test"):
        pid = str(app.plan_programme(
            organisation="Exempelby", title="Plural", first_day=date(2026, 9, 7),
            units=[{"key": "soc", "name": "Soc"}, {"key": "it", "name": "IT"}]))
        area = app.identify_development_area(pid, name="Området")
        ada = app.enrol_participant(pid, name="Ada", email=None, role="manager", unit="soc",
                                    consent=True)
    app.log_reflection(ada, week=1, example="x", development_areas=[area])
    app.withdraw_reflection(app.log_reflection(ada, week=1, example="y"))
    app.make_decision(ada, week=1, statement="s", units=["soc", "it"])
    app.plan_experiment(ada, week=1, aim="a", change="c", prediction="p", measure="m",
                        units=["soc", "it"])
    importlib.import_module("projections.runner").catch_up(app)
    client = world.client("researcher")
    html = client.get(f"/replay/{pid}").get_data(as_text=True)
    areas = _text(html, r'<section class="areas">.*?</section>')
    assert "Området — 1 anteckning, 1 deltagare, 1 enhet" in areas
    assert "(1 beslut, 1 experiment)" in areas
    assert " · 1 deltagare" in _text(html, r'id="as-of".*?</p>')
    assert "1 planerat, 0 startade, 0 utvärderade, 0 avslutade" in html
    assert "(+1 återkallad)" in html
    client.get("/lang/en")
    html = client.get(f"/replay/{pid}").get_data(as_text=True)
    areas = _text(html, r'<section class="areas">.*?</section>')
    assert "Området — 1 record, 1 participant, 1 unit" in areas
    assert "(1 decision, 1 experiment)" in areas
    assert "4 records · 1 participant" in _text(html, r'id="as-of".*?</p>')
    assert "(4 records)" in _text(html, r"Show as table.*?</summary>")


def test_the_charts_groups_count_each_kind_in_the_right_number(world: World) -> None:
    with world.flask.test_request_context():
        assert [kind_count("reflection", n) for n in (1, 2)] == [
            "1 reflektion", "2 reflektioner"]
        assert kind_count("capability", 1) == "1 förmåga"
        assert kind_count("capability", 0) == "0 förmågor"
        with force_locale("en"):
            assert [kind_count("decision", n) for n in (1, 3)] == ["1 decision", "3 decisions"]
