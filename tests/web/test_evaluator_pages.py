"""Evaluators' read-only web pages (issue 12, item 6; ADR 0015) and the researchers'
printable report (item 8), on both stores.

An evaluator signs in with a personal link and sees the overview's charts, pseudonymous
and without text; the session opens those pages and nothing else, only to read.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from typing import Any

import pytest
from click.testing import CliRunner
from markupsafe import escape

from api.cli import cli
from domain.accounts import create_researcher, issue_evaluator_link, issue_link
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
    researcher = web.test_client()
    token = csrf(researcher, "/login")
    assert researcher.post("/login", data={"csrf_token": token, "username": "forskare",
                                           "password": PASSWORD}).status_code == 302
    return {"app": app, "pid": pid, "web": web, "researcher": researcher,
            "people": [str(p) for p in result.participants[result.programme_ids[0]]]}


def _evaluator(demo: dict[str, Any], web: Any = None) -> Any:
    secret, _link, _who = issue_evaluator_link(demo["app"])
    client = (web or demo["web"]).test_client()
    response = client.get(f"/in/{secret}")
    assert response.status_code == 302 and response.headers["Location"].endswith("/e/")
    return client


def _rows(html: str, table_id: str) -> list[list[str]]:
    table = re.search(rf'<table[^>]*id="{table_id}".*?<tbody>(.*?)</tbody>', html, re.S)
    assert table, table_id
    return [[re.sub(r"<[^>]+>", "", c).strip()
             for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)]


def _personal(app: Any, pid: str) -> dict[str, list[str]]:
    """Everything personal an evaluator must never see, as it would appear in HTML: the
    participants' names and e-mail addresses, and the opening words of every text they
    wrote (as escaped HTML)."""
    people = [app.get_participant(p) for p in queries.consent_flags(app.sql, pid)]
    texts = []
    for row in app.sql.query(
            f"SELECT record_id FROM {app.sql.table('pj_lineage_nodes')} WHERE programme_id = ?",
            (pid,)):
        record = app.get_record(row["record_id"])
        for field in queries.RECORD_TEXTS[record["kind"]]:
            text = " ".join(str(record.get(field) or "").split())
            if len(text) > 20:
                texts.append(str(escape(text[:40])))
    return {"names": [str(escape(p["name"])) for p in people if p.get("name")],
            "emails": [str(escape(p["email"])) for p in people if p.get("email")],
            "texts": sorted(set(texts)),
            "pseudonyms": [p["pseudonym"] for p in people]}


def test_an_evaluator_link_opens_the_pseudonymous_overview(demo) -> None:
    """Why: evaluators are to see the course's charts on a page (issue 12, item 6), with
    the read models' numbers, but never a name, an e-mail address or what a participant
    wrote: only the pseudonyms the evaluator API uses."""
    app, pid = demo["app"], demo["pid"]
    evaluator = _evaluator(demo)
    listing = evaluator.get("/e/")
    assert listing.status_code == 200
    path = f"/e/programmes/{pid}"
    assert f'href="{path}"' in listing.get_data(as_text=True)
    response = evaluator.get(path)
    assert response.status_code == 200
    assert "no-store" in response.headers.get("Cache-Control", "")
    html = response.get_data(as_text=True)
    for section in ("ov-week", "ov-funnel", "ov-network", "ov-areas", "ov-maturity",
                    "ov-board"):
        assert f'id="{section}"' in html, section
    assert "<script>" not in html and "style=" not in html
    # the same numbers as the researchers' overview and the API
    progress = queries.progress(app.sql, pid)
    assert [[int(c) for c in row[1:]] for row in _rows(html, "ov-funnel-table")] == [
        [r[k] for k in ("reflections", "decisions", "experiments", "capabilities")]
        for r in progress]
    week = int(re.search(r'aria-current="page">[^<]*?(\d+)<', html).group(1))
    glance = queries.week_glance(app.sql, pid, week)
    rows = _rows(html, "ov-week-table")
    assert [r[0] for r in rows] == [p["participant"] for p in glance["participants"]]
    # people by pseudonym; no name, e-mail or text anywhere on either page
    personal = _personal(app, pid)
    assert any(p in html for p in personal["pseudonyms"])
    researcher_html = demo["researcher"].get(f"/r/programmes/{pid}/overview").get_data(
        as_text=True)
    assert any(n in researcher_html for n in personal["names"])  # the check can fail
    assert any(t in researcher_html for t in personal["texts"])
    for page in (html, listing.get_data(as_text=True)):
        leaked = [x for x in personal["names"] + personal["emails"] + personal["texts"]
                  if x in page]
        assert not leaked, leaked[:5]
    assert "ov-quote" not in html
    # other weeks, an unknown week and an unknown programme
    assert evaluator.get(f"{path}?week=1").status_code == 200
    assert evaluator.get(f"{path}?week=99").status_code == 404
    assert evaluator.get(f"/e/programmes/{uuid.uuid4()}").status_code == 404
    assert evaluator.get("/e/programmes/not-an-id").status_code == 404


def test_an_evaluators_errors_are_html_pages_in_the_pages_language(demo) -> None:
    """Why: an evaluator who mistypes an address or a week, or follows a link to the
    replay, got the API's JSON (application/problem+json) when the browser (or curl) did
    not prefer HTML, and ?week=0 or ?week=abc quietly showed the current week as if it
    were the one asked for. Every such answer is the web's HTML error page, in the
    page's language, saying what is wrong."""
    pid = demo["pid"]
    evaluator = _evaluator(demo)
    path = f"/e/programmes/{pid}"
    weeks = [w["number"] for w in demo["app"].get_programme(pid)["weeks"]]
    cases = [("/e/programmes/xyz", 404, "Sidan finns inte"), ("/e/nothing-here", 404, None),
             (f"{path}?week=99", 404, "ingen vecka 99"),
             (f"{path}?week=-1", 404, "ingen vecka -1"),
             (f"{path}?week=0", 404, f"ingen vecka 0; dess veckor är {min(weeks)} till "
                                     f"{max(weeks)}"),
             (f"{path}?week=abc", 400, "Veckan måste vara ett heltal"),
             (f"{path}?week=1_0", 400, "Veckan måste vara ett heltal"),
             ("/replay/", 403, "Din roll ger inte tillgång")]
    for accept in ({}, {"Accept": "*/*"}, {"Accept": "application/json"}):
        for url, status, text in cases:
            response = evaluator.get(url, headers=accept)
            assert (response.status_code, response.mimetype) == (status, "text/html"), \
                (url, accept)
            html = response.get_data(as_text=True)
            assert '<html lang="sv"' in html and (text is None or text in html), (url, html)
    assert evaluator.get(f"{path}?week=").status_code == 200  # none given: this week
    assert evaluator.get(f"{path}?week={weeks[0]}").status_code == 200
    evaluator.get("/lang/en")
    response = evaluator.get(f"{path}?week=0")
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and '<html lang="en"' in html
    assert "This programme has no week 0" in html
    response = evaluator.get("/replay/")
    assert response.status_code == 403 and response.mimetype == "text/html"
    assert "Your role does not give access" in response.get_data(as_text=True)


def test_an_evaluator_session_opens_only_the_evaluator_pages(demo) -> None:
    """Why: an evaluator's session must not read a researcher's or a participant's page,
    the replay, the downloads or the API, nor send any form (ADR 0015): only the
    evaluator pages, by GET; signing out and the language switch stay open."""
    app, pid = demo["app"], demo["pid"]
    web = flask_app(app, WTF_CSRF_ENABLED=False)  # a form would go through if let in
    evaluator = _evaluator(demo, web)
    record = app.sql.query(f"SELECT record_id FROM {app.sql.table('pj_lineage_nodes')} "
                           "WHERE programme_id = ?", (pid,))[0]["record_id"]
    values = {"programme_id": pid, "participant_id": demo["people"][0], "record_id": record,
              "area_id": "a1", "meeting_id": "c1", "step": "observe", "code": "en",
              "what": "records", "fmt": "csv", "evaluator_id": str(uuid.uuid4())}
    open_to_evaluators = {"web.evaluator_programmes", "web.evaluator_programme",
                          "web.logout", "web.set_language", "web.sign_in_link",
                          "web.login", "web.index"}
    before = app.max_position()
    failures, tried = [], 0
    for rule in web.url_map.iter_rules():
        if rule.endpoint in open_to_evaluators or rule.endpoint.endswith("static") \
                or rule.endpoint.startswith("health."):
            continue
        path = rule.rule
        for name in rule.arguments:
            path = re.sub(r"<(?:[^:<>]+:)?" + name + ">", str(values.get(name, "x")), path)
        for method in sorted(rule.methods - {"OPTIONS"}):
            tried += 1
            response = evaluator.open(path, method=method, data={"days": "30"})
            if response.status_code != 403:
                failures.append(f"{method} {path}: {response.status_code}")
    assert tried > 60
    assert not failures, "\n".join(failures[:30])
    # the evaluator pages only by GET (and HEAD)
    assert evaluator.post("/e/").status_code == 405
    assert evaluator.head(f"/e/programmes/{pid}").status_code == 200
    assert app.max_position() == before  # nothing recorded
    # the API answers with a problem document
    api = evaluator.get("/api/v1/programmes")
    assert api.status_code == 403 and api.mimetype == "application/problem+json"
    # a participant or a researcher is not let into the evaluator pages
    link, _ = issue_link(app, role="participant", subject=demo["people"][0])
    participant = demo["web"].test_client()
    assert participant.get(f"/in/{link}").status_code == 302
    researcher = demo["researcher"]
    for client in (participant, researcher):
        assert client.get("/e/").status_code == 403
        assert client.get(f"/e/programmes/{pid}").status_code == 403
    anonymous = demo["web"].test_client()
    assert anonymous.get(f"/e/programmes/{pid}").status_code == 302


def test_evaluator_sessions_end_at_sign_out_and_revocation(demo) -> None:
    """Why: an evaluator link is a credential like a participant's: sign-out ends the
    session on the server (a copied cookie opens nothing) and a revoked link ends every
    session it started."""
    app, pid = demo["app"], demo["pid"]
    path = f"/e/programmes/{pid}"
    evaluator = _evaluator(demo)
    copy = demo["web"].test_client()
    cookie = evaluator.get_cookie("session")
    copy.set_cookie("session", cookie.value, domain=cookie.domain or "localhost")
    assert copy.get(path).status_code == 200
    token = csrf(evaluator, "/e/")
    assert evaluator.post("/logout", data={"csrf_token": token}).status_code == 302
    assert evaluator.get(path).status_code == 302
    assert copy.get(path).status_code == 302
    # revocation from the researcher's page
    secret, _link_id, who = issue_evaluator_link(app)
    second = demo["web"].test_client()
    assert second.get(f"/in/{secret}").status_code == 302
    assert second.get(path).status_code == 200
    page = f"/r/programmes/{pid}/evaluator-links"
    token = csrf(demo["researcher"], page)
    response = demo["researcher"].post(f"{page}/{who}/revoke", data={
        "csrf_token": token, "request_id": uuid.uuid4().hex})
    assert response.status_code == 302
    assert second.get(path).status_code == 302
    assert second.get(f"/in/{secret}").status_code == 404
    assert demo["researcher"].post(f"{page}/{uuid.uuid4()}/revoke", data={
        "csrf_token": token, "request_id": uuid.uuid4().hex}).status_code == 404


def test_a_researcher_creates_an_evaluator_link_shown_once(demo) -> None:
    """Why: researchers hand evaluators their link from the programme page; the secret is
    shown once (only its hash is kept) and signs the evaluator in."""
    pid, researcher = demo["pid"], demo["researcher"]
    programme = researcher.get(f"/r/programmes/{pid}").get_data(as_text=True)
    page = f"/r/programmes/{pid}/evaluator-links"
    assert f'href="{page}"' in programme
    token = csrf(researcher, page)
    bad = researcher.post(page, data={"csrf_token": token, "request_id": uuid.uuid4().hex,
                                      "days": "999"})
    assert bad.status_code == 422 and 'id="days"' in bad.get_data(as_text=True)
    response = researcher.post(page, data={"csrf_token": token,
                                           "request_id": uuid.uuid4().hex, "days": "10"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    secret = re.search(r'value="[^"]*/in/(fdl_[^"]+)"', html).group(1)
    assert 'data-copy="signin-link"' in html
    again = researcher.get(page).get_data(as_text=True)
    assert secret not in again and "fdl_" not in again
    evaluator = demo["web"].test_client()
    assert evaluator.get(f"/in/{secret}").status_code == 302
    assert evaluator.get(f"/e/programmes/{pid}").status_code == 200


def test_the_command_line_issues_lists_and_revokes_evaluator_links(store_url) -> None:
    """Why: the lead's set-up script issues evaluator links without the web pages."""
    env = {"FRAMDRIFT_DATABASE_URL": store_url, "FRAMDRIFT_BASE_URL": "https://fd.example"}

    def run(*args: str) -> Any:
        result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    run("migrate")
    issued = run("evaluators", "link", "--days", "5")
    link = re.search(r"https://fd\.example/in/(fdl_\S+)", issued.output).group(1)
    who = re.search(r"evaluator ([0-9a-f-]{36})", issued.output).group(1)
    assert who in run("evaluators", "list").output
    from domain.accounts import verify_link
    from domain.application import Framdrift

    app = Framdrift.from_url(store_url)
    try:
        info = verify_link(app, link)
        assert info is not None and info.role == "evaluator" and info.subject == who
        assert "1 link(s) revoked" in run("evaluators", "revoke", who).output
        assert verify_link(app, link) is None
    finally:
        app.close()
    assert "revoked" in run("evaluators", "list").output


# ------------------------------------------------------------------- the report


def test_the_report_has_the_overview_the_areas_and_each_capabilitys_lineage(demo) -> None:
    """Why: researchers print this for the final session (issue 12, item 8): the overview,
    the development areas with quotes and, for every capability, the reflections,
    decisions and experiments it came from, with their text and authors."""
    app, pid, researcher = demo["app"], demo["pid"], demo["researcher"]
    overview = researcher.get(f"/r/programmes/{pid}/overview").get_data(as_text=True)
    path = f"/r/programmes/{pid}/report"
    assert f'href="{path}"' in overview
    response = researcher.get(path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for section in ("rp-overview", "rp-lineage", "ov-funnel", "ov-areas", "ov-maturity",
                    "ov-board"):
        assert f'id="{section}"' in html, section
    assert 'href="/static/report.css"' in html and "data-print" in html
    assert "<script>" not in html and "style=" not in html
    assert "ov-quote" in html  # development areas with quotes
    # every live capability, by name, with what it came from
    lineage = queries.lineage(app.sql, pid)
    caps = [n for n in lineage["nodes"] if n["kind"] == "capability" and not n["void"]]
    assert caps, "the demo has capabilities"
    assert html.count('class="rp-capability card"') == len(caps)
    back: dict[str, list[str]] = {}
    for e in lineage["edges"]:
        back.setdefault(e["from"], []).append(e["to"])
    kinds = {n["id"]: n["kind"] for n in lineage["nodes"]}
    found_reflection = False
    for cap in caps:
        name = app.get_record(cap["id"])["name"]
        assert str(escape(name)) in html, name
        seen, stack = set(), [cap["id"]]
        while stack:
            for x in back.get(stack.pop(), []):
                if x not in seen:
                    seen.add(x)
                    stack.append(x)
        for x in seen:
            if kinds[x] == "reflection":
                example = " ".join(app.get_record(x)["example"].split())
                assert str(escape(example[:40])) in " ".join(html.split())
                found_reflection = True
    assert found_reflection, "some capability comes from a reflection"
    counts = Counter(re.findall(r'data-kind="(\w+)"', html))
    assert counts["capability"] >= len(caps) and counts["reflection"] >= 1
    # authors by name and pseudonym (consent given), units by name
    names = {p: app.get_participant(p)["name"] for p in demo["people"]}
    authors = {r["record_id"]: r["participant_id"] for r in app.sql.query(
        f"SELECT record_id, participant_id FROM {app.sql.table('pj_lineage_nodes')} "
        "WHERE programme_id = ?", (pid,))}
    for cap in caps:
        who = f"{escape(names[authors[cap['id']]])} ({cap['participant']})"
        assert who in html, who
    units = {u["key"]: u["name"] for u in app.get_programme(pid)["units"]}
    assert all(str(escape(units[c["unit"]])) in html for c in caps)


def test_the_report_is_for_researchers_only(demo) -> None:
    """Why: the report holds names and participants' words."""
    path = f"/r/programmes/{demo['pid']}/report"
    evaluator = _evaluator(demo)
    assert evaluator.get(path).status_code == 403
    anonymous = demo["web"].test_client()
    assert anonymous.get(path).status_code == 302
    assert demo["researcher"].get(f"/r/programmes/{uuid.uuid4()}/report").status_code == 404


def test_an_erased_participant_is_named_as_erased_in_the_pages_language(demo) -> None:
    """Why: once erased, a participant keeps their place on the evaluators' page under the
    neutral label, in the page's language, and their pseudonym is gone."""
    from api.privacy_commands import erase_participant

    app, pid = demo["app"], demo["pid"]
    person = demo["people"][0]
    pseudonym = app.get_participant(person)["pseudonym"]
    evaluator = _evaluator(demo)
    assert pseudonym in evaluator.get(f"/e/programmes/{pid}?week=1").get_data(as_text=True)
    erase_participant(app, person)
    catch_up(app)
    html = evaluator.get(f"/e/programmes/{pid}?week=1").get_data(as_text=True)
    assert pseudonym not in html
    assert "raderad deltagare" in html.lower() and "erased participant" not in html
