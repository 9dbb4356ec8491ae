"""The replay's content for researchers (issue 12, item 1): selecting a record opens a card
with what its author wrote, who they are and its "based on" / "led to" links; the lineage
page shows each node's text. Consent applies as everywhere in replay (docs/adr/0004): no
text of a participant who withdrew consent (their records are left out) or who was erased
("erased participant"). Evaluators reach none of these pages. SQLite and PostgreSQL."""

from __future__ import annotations

import html
from typing import Any

import pytest
from api_support import World, catch_up, flask_app, make_world
from test_privacy_erasure import NAME, SECRETS, TEXTS
from test_privacy_erasure import load as load_erasure_world

from api.privacy_commands import erase_participant
from domain.accounts import issue_token
from projections import asof


def login(client: Any, role: str = "researcher") -> None:
    from api_support import sign_in

    sign_in(client, role)


def page(client: Any, path: str) -> str:
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def world(app) -> tuple[World, str, dict[str, Any]]:
    world = make_world(app, participants=8)
    pid = str(world.programme_id)
    return world, pid, asof.state_at(app.sql, pid).records


def _capability_with_reflections(state_records: dict[str, Any], app: Any, pid: str) -> str:
    state = asof.state_at(app.sql, pid)
    for cap in sorted(r["id"] for r in state_records.values() if r["kind"] == "capability"):
        back = asof.lineage(state, cap, direction="back")
        if any(n["kind"] == "reflection" for n in back["nodes"]):
            return cap
    pytest.fail("the demo has no capability built on reflections")  # pragma: no cover


def test_card_shows_text_author_and_links_of_a_consenting_participants_record(world):
    """The card of a decision shows its statement and rationale, the author's name,
    unit and week, and links to what it is based on and what it led to."""
    world, pid, records = world
    app = world.app
    rid = next(r["id"] for r in sorted(records.values(), key=lambda r: r["created_position"])
               if r["kind"] == "decision" and r["based_on"])
    record = app.get_record(rid)
    author = app.get_participant(record["participant_id"])
    login(world.client)
    body = page(world.client, f"/replay/{pid}?lanes=unit&record={rid}")
    card = body.split('id="record-card"', 1)[1].split("</article>", 1)[0]
    assert record["statement"] in card and record["rationale"] in card
    assert author["name"] in card and author["pseudonym"] in card
    assert 'id="record-card-based-on"' in card
    based_on = app.get_record(record["based_on"][0])
    first = {"reflection": "example", "decision": "statement", "experiment": "aim",
             "capability": "name"}[based_on["kind"]]
    assert based_on[first][:60] in card
    # the other query parameters are kept in the card's links
    assert "lanes=unit" in card and f"record={record['based_on'][0]}" in card
    # without a selection there is no card
    assert 'id="record-card"' not in page(world.client, f"/replay/{pid}")


def test_lineage_of_a_capability_shows_its_reflection_texts(world):
    """Each node of a lineage shows what was written (a reflection's example, a
    capability's name); the table says "steps back", not a signed depth."""
    world, pid, records = world
    app = world.app
    cap = _capability_with_reflections(records, app, pid)
    state = asof.state_at(app.sql, pid)
    back = asof.lineage(state, cap, direction="back")
    reflections = [n["id"] for n in back["nodes"] if n["kind"] == "reflection"]
    login(world.client)
    body = page(world.client, f"/replay/{pid}/records/{cap}?direction=back")
    table = body.split('id="lineage-table"', 1)[1].split("</table>", 1)[0]
    assert app.get_record(cap)["name"] in table
    for rid in reflections:
        assert app.get_record(rid)["example"] in table
    assert "<td>-1</td>" not in table and "steg bakåt" in table  # Swedish by default


def test_no_text_of_an_erased_or_withdrawn_participant(app):
    """An erased participant's record keeps its card as "erased participant" (Swedish by
    default: "raderad deltagare"), without
    their name or text; once consent is withdrawn their records cannot be selected."""
    w = load_erasure_world(app)
    catch_up(app)
    pid, z = str(w["pid"]), str(w["z"])
    rids = [str(r) for r in w["records"]]
    evaluator, _ = issue_token(app, role="evaluator", label="tests: replay content")
    researcher, _ = issue_token(app, role="researcher", label="tests: replay content")
    flask = flask_app(app)
    world = World(app, flask, flask.test_client(), w["pid"], evaluator, researcher)
    login(world.client)
    before = page(world.client, f"/replay/{pid}?record={rids[0]}")
    assert TEXTS["amended"] in before and NAME in before  # consent given: shown
    lineage = page(world.client, f"/replay/{pid}/records/{rids[2]}?direction=both")
    assert TEXTS["amended"] in lineage and TEXTS["aim"] in lineage

    erase_participant(app, z)
    app.keys.CACHE_SECONDS = 0.0
    catch_up(app)
    for rid in rids:
        after = page(world.client, f"/replay/{pid}?record={rid}")
        card = after.split('id="record-card"', 1)[1].split("</article>", 1)[0]
        assert "raderad deltagare" in card and 'id="record-card-text"' not in card
        assert "record-card-no-text" in card  # says why there is no text
        leaked = [s for s in SECRETS if s in after]
        assert leaked == [], leaked
    lineage = page(world.client, f"/replay/{pid}/records/{rids[2]}?direction=both")
    assert [s for s in SECRETS if s in lineage] == []


def test_withdrawn_consent_hides_the_card_and_lineage_text(world):
    """A participant who withdraws consent: their record can no longer be selected (no
    card), and their text leaves the lineage of others' records."""
    world, pid, records = world
    app = world.app
    cap = _capability_with_reflections(records, app, pid)
    state = asof.state_at(app.sql, pid)
    back = asof.lineage(state, cap, direction="back")
    reflection = next(n["id"] for n in back["nodes"] if n["kind"] == "reflection")
    person = records[reflection]["participant_id"]
    text = app.get_record(reflection)["example"]
    login(world.client)
    assert text in page(world.client, f"/replay/{pid}?record={reflection}")
    app.withdraw_consent(person)
    catch_up(app)
    assert 'id="record-card"' not in page(world.client, f"/replay/{pid}?record={reflection}")
    assert text not in page(world.client, f"/replay/{pid}/records/{cap}?direction=back")


def test_evaluators_reach_neither_the_card_nor_the_lineage_text(world):
    world, pid, records = world
    rid = next(iter(records))
    for role in ("evaluator", "participant"):
        client = world.flask.test_client()
        login(client, role) if role == "participant" else None
        for path in (f"/replay/{pid}?record={rid}", f"/replay/{pid}/records/{rid}"):
            response = client.get(path, headers={"Authorization": f"Bearer {world.evaluator}"}
                                  if role == "evaluator" else {})
            assert response.status_code in (401, 403), (role, path)


def test_replay_pages_name_units_and_themes_not_keys(world):
    """Issue 12, item 7: what a person reads on the replay and lineage pages (text, titles,
    labels) names units and themes, in Swedish and English — never their keys (the latest
    events' summaries named units by key: "units hr, housing_company")."""
    import re

    world, pid, records = world
    app = world.app
    programme = app.get_programme(pid)
    # keys that no name or English word is spelt like (``social_services``, not ``it``)
    unit_keys = {u["key"] for u in programme["units"] if "_" in u["key"]}
    theme_keys = {w["theme"] for w in programme["weeks"]}  # lower case: names are capitalised
    assert unit_keys and theme_keys
    cap = next(r["id"] for r in records.values() if r["kind"] == "capability")
    login(world.client)
    for lang in ("sv", "en"):
        world.client.get(f"/lang/{lang}")
        for path in (f"/replay/{pid}?record={cap}", f"/replay/{pid}?lanes=participant",
                     f"/replay/{pid}/records/{cap}", f"/replay/{pid}?at=400"):
            body = page(world.client, path)
            readable = re.sub(r"<[^>]+>", " ", body) + " ".join(
                re.findall(r'(?:title|aria-label|alt)="([^"]*)"', body))
            words = set(re.findall(r"[\w-]+", readable))
            assert not (words & (unit_keys | theme_keys)), (lang, path, words & unit_keys)


def test_a_unit_filter_changes_every_panel_and_the_downloads(world):
    """Issue 12, item 3: with a unit filter the funnel, the week table, the development
    areas, the collaborations, the latest events and the downloads count only the records
    the chart shows, and the page says which filter is active."""
    import csv
    import io
    import re

    world, pid, _records = world
    app = world.app
    state = asof.moment(app.sql, pid)
    programme = app.get_programme(pid)
    unit = programme["units"][0]

    def mine(r: dict[str, Any]) -> bool:
        return unit["key"] in (r["unit"], *r["units"])

    login(world.client)
    everything = page(world.client, f"/replay/{pid}")
    body = page(world.client, f"/replay/{pid}?unit={unit['key']}")
    assert 'id="active-filters"' not in everything
    notice = body.split('id="active-filters"', 1)[1].split("</p>", 1)[0]
    assert unit["name"] in notice

    def bars(text: str) -> list[int]:
        return [int(v) for v in re.findall(r'class="bar-value"[^>]*>(\d+)<', text)]

    live = [r for r in state.records.values() if mine(r) and not r["void"]]
    expected = sum(1 for r in live if r["kind"] == "reflection")
    assert bars(body)[0] == expected < bars(everything)[0]
    assert bars(body)[4] == sum(1 for r in state.records.values()
                                if mine(r) and r["kind"] == "capability")
    # the week table: its reflections per week are the unit's
    table = body.split('class="progress', 1)[1].split("</table>", 1)[0]
    per_week = [int(x) for x in re.findall(r'<td class="reflections"[^>]*>(\d+)', table)]
    assert len(per_week) == 5
    assert sum(per_week) == expected
    # collaborations all involve the unit (its name on every line)
    section = body.split('class="areas"', 1)[1].split("</section>", 1)[0]
    items = re.findall(r"<li>(.*?)</li>", section.split("</ul>", 1)[1])  # after the areas
    assert items and all(unit["name"] in i for i in items), items
    # the downloads carry the filter and hold only the unit's records
    link = re.search(r'id="export-records-csv" href="([^"]+)"', body)[1]
    assert f"unit={unit['key']}" in link
    rows = list(csv.DictReader(io.StringIO(
        world.client.get(html.unescape(link)).get_data().decode("utf-8-sig"))))
    assert rows and {r["id"] for r in rows} == {
        rid for rid, r in state.records.items() if mine(r)}
    timeline = re.search(r'id="export-timeline-csv" href="([^"]+)"', body)[1]
    events = list(csv.DictReader(io.StringIO(
        world.client.get(html.unescape(timeline)).get_data().decode("utf-8-sig"))))
    assert events and all(e["unit"] == unit["key"] or e["id"] in state.records
                          and mine(state.records[e["id"]]) for e in events)
