"""The researchers' programme overview (issue 12, item 6): one wide page that shows the
course at a glance, read from the read models, on both stores."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest
from markupsafe import escape

from domain.accounts import (
    create_researcher,
    issue_evaluator_link,
    issue_link,
    issue_token,
)
from domain.context import acting_as
from domain.demo import load_demo
from projections import queries
from tests.integration.api_support import catch_up
from tests.web.web_support import PASSWORD, csrf, flask_app

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def demo(app) -> dict[str, Any]:
    result = load_demo(app, participants=10)
    catch_up(app)
    pid = str(result.programme_ids[0])
    create_researcher(app, username="forskare", name="Fia Forskare", email=None,
                      password=PASSWORD)
    web = flask_app(app)
    client = web.test_client()
    token = csrf(client, "/login")
    assert client.post("/login", data={"csrf_token": token, "username": "forskare",
                                       "password": PASSWORD}).status_code == 302
    return {"app": app, "pid": pid, "web": web, "researcher": client,
            "people": [str(p) for p in result.participants[result.programme_ids[0]]],
            "path": f"/r/programmes/{pid}/overview"}


def _page(demo: dict[str, Any]) -> str:
    response = demo["researcher"].get(demo["path"])
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _rows(html: str, table_id: str) -> list[list[str]]:
    table = re.search(rf'<table[^>]*id="{table_id}".*?<tbody>(.*?)</tbody>', html, re.S)
    assert table, table_id
    return [[re.sub(r"<[^>]+>", "", c).strip()
             for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)]


def test_overview_shows_the_course_with_the_read_models_numbers(demo) -> None:
    """Why: researchers read the course at a glance from this page, so every panel must be
    there, reachable in one click from the programme page, and its numbers must be the
    read models' (the same as the API and exports)."""
    app, pid, sql = demo["app"], demo["pid"], demo["app"].sql
    programme = demo["researcher"].get(f"/r/programmes/{pid}").get_data(as_text=True)
    assert f'href="{demo["path"]}"' in programme
    html = _page(demo)
    for section in ("ov-week", "ov-funnel", "ov-network", "ov-areas", "ov-maturity",
                    "ov-board"):
        assert f'id="{section}"' in html, section
    # charts: role=img with a label, no links inside, and a table beside each
    for chart in re.findall(r"<svg[^>]*>.*?</svg>", html, re.S):
        assert 'role="img"' in chart and 'aria-label="' in chart and "<a " not in chart
    assert "<script>" not in html and "style=" not in html  # CSP: no inline script/style
    # the funnel table is progress()
    progress = queries.progress(sql, pid)
    funnel = _rows(html, "ov-funnel-table")
    assert [[int(c) for c in row[1:]] for row in funnel] == [
        [r[k] for k in ("reflections", "decisions", "experiments", "capabilities")]
        for r in progress]
    # the network has one node per unit that worked with another, one line per pair
    pairs = {(r["unit_a"], r["unit_b"]) for r in queries.collaborations(sql, pid)
             if r["decisions"] + r["experiments"] + r["links"] + r["teams"]}
    assert pairs, "the demo has collaboration between units"
    network = re.search(r'<svg id="ov-network-chart".*?</svg>', html, re.S).group(0)
    assert sorted(re.findall(r'data-unit="([^"]+)"', network)) == sorted(
        {u for pair in pairs for u in pair})
    assert network.count("<line ") == len(pairs) == len(_rows(html, "ov-network-table"))
    names = {u["key"]: u["name"] for u in app.get_programme(pid)["units"]}
    for key in {u for pair in pairs for u in pair}:
        assert str(escape(names[key]).split()[0]) in network
    # development areas: each live area with its count of records
    for area in queries.development_areas(sql, pid):
        block = re.search(rf'<li data-area="{area["id"]}">(.*?)</li>', html, re.S)
        assert block and f"{area['records']} " in block.group(1), area
    # the experiments board: one column per PDSA stage, as many as the lineage says
    stages = Counter(n["stage"] for n in queries.lineage(sql, pid)["nodes"]
                     if n["kind"] == "experiment" and not n["void"])
    for stage in ("planned", "started", "evaluated", "concluded"):
        column = re.search(rf'data-stage="{stage}">(.*?)</section>', html, re.S).group(1)
        assert column.count('class="ov-exp"') == stages[stage], stage
    # maturity before and after per dimension, by name
    maturity = _rows(html, "ov-maturity-table")
    assert maturity and all(not re.fullmatch(r"[a-z_]+", row[0]) for row in maturity)
    # this week: every participant who may be shown, logged or not
    week = queries.week_glance(sql, pid, int(re.search(r'aria-current="page">[^<]*?(\d+)<',
                                                         html).group(1)))
    assert len(_rows(html, "ov-week-table")) == len(week["participants"])
    assert demo["researcher"].get(f"{demo['path']}?week=99").status_code == 404


def test_overview_is_for_researchers_only(demo) -> None:
    """Why: the page shows names and participants' words; a participant or a visitor who
    is not signed in must not open it."""
    anonymous = demo["web"].test_client()
    response = anonymous.get(demo["path"])
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    participant = demo["web"].test_client()
    link, _ = issue_link(demo["app"], role="participant", subject=demo["people"][0])
    assert participant.get(f"/in/{link}").status_code == 302
    assert participant.get(demo["path"]).status_code == 403
    evaluator = demo["web"].test_client()
    token, _ = issue_token(demo["app"], role="evaluator", label="overview")
    evaluator.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    assert evaluator.get(demo["path"]).status_code == 401  # API tokens open no page


def test_the_network_drawing_is_the_same_every_time() -> None:
    """Why: a researcher comparing two visits (or a printed report) must see the same
    drawing; networkx's spring layout is seeded."""
    from api.web.overview import network_chart

    rows = [{"unit_a": a, "unit_b": b, "decisions": n, "experiments": 0, "links": 1,
             "teams": 0, "week": 1}
            for n, (a, b) in enumerate([("a", "b"), ("b", "c"), ("a", "c"), ("c", "d")], 1)]
    names = {"a": "Alfa", "b": "Beta", "c": "Gamma förvaltningen med långt namn", "d": "Delta"}
    first, second = network_chart(rows, names), network_chart(list(reversed(rows)), names)
    assert first == second
    assert [n["name"] for n in first["nodes"]] == ["Alfa", "Beta",
                                                  "Gamma förvaltningen med långt namn", "Delta"]
    assert max(e["width"] for e in first["edges"]) > min(e["width"] for e in first["edges"])


def test_overview_shows_no_text_of_a_participant_who_withdraws_consent(demo) -> None:
    """Why: consent is applied at query time (ADR 0004): once a participant withdraws it,
    neither their words (quotes, experiment titles) nor their name may appear."""
    app, pid = demo["app"], demo["pid"]
    html = _page(demo)
    authors = {r["record_id"]: r["participant_id"] for r in app.sql.query(
        f"SELECT record_id, participant_id FROM {app.sql.table('pj_lineage_nodes')} "
        "WHERE programme_id = ?", (pid,))}
    quoted: dict[str, list[str]] = {}
    for rid, person in authors.items():
        record = app.get_record(rid)
        for field in queries.RECORD_TEXTS[record["kind"]]:
            text = " ".join(str(record.get(field) or "").split())
            if len(text) > 20:
                quoted.setdefault(person, []).append(str(escape(text[:40])))
    # the demo reuses texts: only those no one else wrote tell whose words they are
    writers = Counter(t for texts in quoted.values() for t in set(texts))
    quoted = {p: [t for t in set(texts) if writers[t] == 1] for p, texts in quoted.items()}
    shown = [p for p, texts in quoted.items() if any(t in html for t in texts)]
    assert shown, "the demo's overview quotes someone"
    person = max(shown, key=lambda p: sum(t in html for t in quoted[p]))
    name = app.get_participant(person)["name"]
    app.withdraw_consent(person)
    catch_up(app)
    after = _page(demo)
    assert not [t for t in quoted[person] if t in after]
    assert str(escape(name)) not in after


def test_maturity_numbers_are_written_as_the_pages_language_writes_them(demo) -> None:
    """Why: the maturity chart and table showed Python's ``35.0`` and ``-6.0`` on Swedish
    pages (the researchers' overview, the evaluators' page, the programme page's
    assessments); Swedish writes ``35,0`` and ``−6,0`` (a decimal comma, a real minus
    sign), English ``35.0`` and ``-6.0``."""
    app, pid = demo["app"], demo["pid"]
    programme = app.get_programme(pid)
    keys = sorted(programme["assessments"][0]["scores"])
    with acting_as("researcher:test"):
        app.assess_maturity(pid, phase="after", instrument="test", unit=None,
                            scores={k: 62.5 for k in keys})
    catch_up(app)
    secret, _link, _who = issue_evaluator_link(app)
    evaluator = demo["web"].test_client()
    assert evaluator.get(f"/in/{secret}").status_code == 302
    researcher = demo["researcher"]
    pages = (demo["path"], f"/e/programmes/{pid}")
    for lang, number, negative in (("sv", r"[0-9]+,[0-9]", "−"), ("en", r"[0-9]+\.[0-9]", "-")):
        for client in (researcher, evaluator):
            client.get(f"/lang/{lang}")
        for client, path in zip((researcher, evaluator), pages, strict=True):
            html = client.get(path).get_data(as_text=True)
            cells = [c for row in _rows(html, "ov-maturity-table") for c in row[1:]]
            assert cells and all(re.fullmatch(f"{negative}?{number}", c) for c in cells), \
                (lang, path, cells)
            assert any(c.startswith(negative) for c in cells)  # a fall is shown: the sign
            chart = re.search(r'<svg id="ov-maturity-chart".*?</svg>', html, re.S).group(0)
            ticks = re.findall(r'<text class="ov-tick"[^>]*>([^<]*)<', chart)
            assert ticks and all(re.fullmatch(number, t) for t in ticks), ticks
        html = researcher.get(f"/r/programmes/{pid}").get_data(as_text=True)
        assert ("62,5" if lang == "sv" else "62.5") in html
        assert ("62.5" if lang == "sv" else "62,5") not in html
