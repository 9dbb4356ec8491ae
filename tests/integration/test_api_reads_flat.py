"""Evaluator reads that stay flat as the store grows (issue 14, item 2), on SQLite and
PostgreSQL: programmes paged by cursor (every programme exactly once while programmes are
added), one programme by its key, joins restricted to the programme asked for, and ETags
answered with 304 without computing the answer."""

from __future__ import annotations

import base64
import re

import pytest
from api_support import READ_ENDPOINTS, assert_error_shape, catch_up, make_world

from projections import queries


@pytest.fixture
def world(app):
    return make_world(app, participants=3)


def plan(world, n: int) -> list[str]:
    ids = [str(world.app.plan_programme(organisation="Synthetic org",
                                        title=f"Synthetic programme {i}"))
           for i in range(n)]
    catch_up(world.app)
    return ids


def next_link(response) -> str | None:
    found = re.search(r'<([^>]+)>; rel="next"', response.headers.get("Link", ""))
    return found[1] if found else None


def test_programmes_are_paged_with_a_cursor_and_links(world):
    made = [str(world.programme_id), *plan(world, 4)]
    first = world.get("/api/v1/programmes?limit=2")
    body = first.get_json()
    assert first.status_code == 200
    assert body["total"] == 5 == int(first.headers["X-Total-Count"]) and body["limit"] == 2
    assert [i["id"] for i in body["items"]] == made[:2]  # the order they were planned in
    assert body["next"] == next_link(first) and "cursor=" in body["next"]
    seen = [i["id"] for i in body["items"]]
    url = body["next"]
    while url:
        response = world.get(url)
        assert response.status_code == 200
        page = response.get_json()
        assert len(page["items"]) <= 2
        seen += [i["id"] for i in page["items"]]
        assert page["next"] == next_link(response)
        url = page["next"]
    assert seen == made
    # the first page without a limit: every programme here (default 50), no next page
    everything = world.get("/api/v1/programmes").get_json()
    assert [i["id"] for i in everything["items"]] == made and everything["next"] is None
    assert everything["limit"] == 50


def test_paging_returns_every_programme_once_while_programmes_are_added(world):
    made = [str(world.programme_id), *plan(world, 4)]
    seen: list[str] = []
    url: str | None = "/api/v1/programmes?limit=2"
    pages = 0
    while url:
        body = world.get(url).get_json()
        seen += [i["id"] for i in body["items"]]
        url = body["next"]
        pages += 1
        if pages <= 3:  # programmes planned between page fetches
            made += plan(world, 1)
    assert len(seen) == len(set(seen))  # none twice
    assert seen == made  # none missed, in the order they were planned
    assert pages >= 4


def test_other_query_parameters_stay_in_the_links(world):
    plan(world, 2)
    response = world.get("/api/v1/programmes?limit=1&lang=en")
    assert "lang=en" in response.get_json()["next"]
    assert 'rel="first"' in response.headers["Link"]
    assert world.get(response.get_json()["next"]).headers["Content-Language"] == "en"


def test_q_finds_programmes_by_title_or_organisation_page_by_page(world):
    """Every word, in any case (Å, Ä, Ö too), in the title or the organisation; the
    ``next`` address keeps the search, and ``total`` counts the matches."""
    plan(world, 3)
    with_org = str(world.app.plan_programme(organisation="Åsele kommun", title="Öppna data"))
    catch_up(world.app)
    first = world.get("/api/v1/programmes?q=SYNTHETIC+programme&limit=2")
    body = first.get_json()
    assert first.status_code == 200 and body["total"] == 3
    assert "q=SYNTHETIC" in body["next"]
    rest = world.get(body["next"]).get_json()
    assert [i["title"] for i in body["items"] + rest["items"]] == [
        f"Synthetic programme {i}" for i in range(3)] and rest["next"] is None
    for q in ("åsele", "ÖPPNA", "öppna KOMMUN"):
        found = world.get("/api/v1/programmes", query_string={"q": q}).get_json()
        assert [i["id"] for i in found["items"]] == [with_org], q
    none = world.get("/api/v1/programmes?q=nowhere").get_json()
    assert none["items"] == [] and none["total"] == 0 and none["next"] is None
    bad = world.get("/api/v1/programmes", query_string={"q": "a\u0007b"})
    assert list(assert_error_shape(bad, 422)["errors"]) == ["q"]


@pytest.mark.parametrize("cursor", [
    "nonsense", "", "%%%", "A" * 31, "A" * 33, "A" * 31 + "=", "Ä" * 32,
    base64.urlsafe_b64encode(b"12:00000000-0000-4000-8000-000000000000").decode(),
])
def test_a_malformed_cursor_is_a_400_naming_it(world, cursor):
    response = world.get("/api/v1/programmes", query_string={"cursor": cursor})
    body = assert_error_shape(response, 400)
    assert list(body["errors"]) == ["cursor"]


def test_a_well_formed_cursor_starts_a_page_where_it_says(world):
    """Every well-formed cursor is a place in the order (schemathesis: the documented
    pattern is accepted), before everything or after everything included."""
    made = [str(world.programme_id), *plan(world, 2)]
    start = world.get("/api/v1/programmes", query_string={"cursor": "A" * 32}).get_json()
    assert [i["id"] for i in start["items"]] == made
    end = world.get("/api/v1/programmes", query_string={"cursor": "_" * 32})
    assert end.status_code == 200 and end.get_json()["items"] == []
    spec = world.client.get("/api/v1/openapi.json").get_json()
    parameters = spec["paths"]["/api/v1/programmes"]["get"]["parameters"]
    cursor = next(p for p in parameters if p["name"] == "cursor")
    assert cursor["schema"]["pattern"] == "^[A-Za-z0-9_-]{32}$"


def test_a_bad_limit_is_a_422_naming_it(world):
    for limit in ("0", "501", "x"):
        body = assert_error_shape(world.get(f"/api/v1/programmes?limit={limit}"), 422)
        assert "limit" in body["errors"]


def test_one_programme_is_looked_up_by_its_key(world, monkeypatch):
    other = plan(world, 2)[1]

    def whole_list(*args, **kwargs):
        raise AssertionError("/programmes/{id} must not read the whole list")

    monkeypatch.setattr(queries, "programmes", whole_list)
    monkeypatch.setattr(queries, "programmes_page", whole_list)
    detail = world.get(f"/api/v1/programmes/{other}")
    assert detail.status_code == 200
    body = detail.get_json()
    assert body["id"] == other and body["title"] == "Synthetic programme 1"
    assert body["participants"] == 0
    demo = world.get("/api/v1/programmes/{pid}").get_json()
    truth = world.app.get_programme(world.programme_id)
    assert demo["participants"] == 3 and len(demo["weeks"]) == len(truth["weeks"])
    missing = world.get("/api/v1/programmes/00000000-0000-4000-8000-000000000000")
    assert assert_error_shape(missing, 404)["errors"] == {"programme_id": [
        "programme 00000000-0000-4000-8000-000000000000 not found"]}


def test_304_is_answered_without_computing_the_answer(world, monkeypatch):
    tags = {}
    for path in READ_ENDPOINTS:
        response = world.get(path)
        assert response.status_code == 200, path
        tags[path] = response.headers["ETag"]

    def fail(*args, **kwargs):
        raise AssertionError("computed although the client has the answer")

    for name in ("programmes", "programmes_page", "programme", "timeline", "progress",
                 "lineage", "development_areas", "engagement", "collaborations",
                 "collaboration_links", "maturity"):
        monkeypatch.setattr(queries, name, fail)
    for path in READ_ENDPOINTS:
        again = world.get(path, headers={"If-None-Match": tags[path]})
        assert again.status_code == 304, path
        assert again.headers["ETag"] == tags[path] and again.get_data() == b""
        assert again.headers["X-Framdrift-Position"]


def test_etag_depends_on_the_programme_the_query_and_the_language(world):
    other = plan(world, 1)[0]
    path = "/api/v1/programmes/{pid}/progress"
    tag = world.get(path).headers["ETag"]
    assert world.get(path + "?lang=en").headers["ETag"] != tag
    assert world.get(path, headers={"Accept-Language": "en"}).headers["ETag"] != tag
    assert world.get(f"/api/v1/programmes/{other}/progress").headers["ETag"] != tag
    timeline = world.get("/api/v1/programmes/{pid}/timeline?page_size=5").headers["ETag"]
    assert world.get("/api/v1/programmes/{pid}/timeline?page_size=6").headers["ETag"] != timeline
    # a write to another programme leaves this programme's ETag alone...
    world.app.plan_programme(organisation="Synthetic org", title="Another")
    catch_up(world.app)
    assert world.get(path, headers={"If-None-Match": tag}).status_code == 304
    # ...a write to this one changes it (and the list's)
    listing = world.get("/api/v1/programmes").headers["ETag"]
    world.app.log_reflection(world.participants[0], week=2, example="a synthetic example")
    catch_up(world.app)
    changed = world.get(path, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["ETag"] != tag
    assert world.get("/api/v1/programmes",
                     headers={"If-None-Match": listing}).status_code == 200


def test_etag_follows_every_read_model_while_they_stand_apart(world):
    """A read model behind the others (new, or being rebuilt): the version is all their
    positions, so an answer that changes as it catches up gets a new ETag."""
    pid = str(world.programme_id)
    same = queries.version(world.app.sql, pid)
    assert re.fullmatch(rf"{pid}@\d+", same)
    with world.app.sql.transaction() as cur:
        cur.execute(f"UPDATE {world.app.sql.table('pj_tracking')} SET position = 5 "
                    "WHERE name = 'progress'")
    apart = queries.version(world.app.sql, pid)
    assert apart != same and "/" in apart
    assert queries.version(world.app.sql, "00000000-0000-4000-8000-000000000000") is None


def test_consent_is_joined_for_the_programme_asked_for_only(world, monkeypatch):
    """The SQL of /progress and /timeline names the programme in every consent join (the
    planner need not read every participant of every programme)."""
    from domain.store import Cursor

    statements: list[str] = []
    query = Cursor.query

    def recorded(self, statement, params=()):
        statements.append(statement)
        return query(self, statement, params)

    monkeypatch.setattr(Cursor, "query", recorded)
    progress = queries.progress(world.app.sql, str(world.programme_id))
    rows, total = queries.timeline(world.app.sql, str(world.programme_id), limit=10)
    monkeypatch.undo()
    assert progress and rows and total
    joins = [s for s in statements if "JOIN" in s and "pj_consent" in s]
    assert len(joins) == 3  # progress; the timeline's count and rows
    for statement in joins:
        aliases = re.findall(r"pj_consent\W*\s+(\w+)\s+ON", statement)
        assert aliases, statement
        for alias in aliases:
            assert re.search(rf"ON {alias}\.\w+ = \S+ AND {alias}\.programme_id = \?|"
                             rf"ON {alias}\.programme_id = \?", statement), statement


def test_programme_names_stay_cached_while_other_programmes_change(world, monkeypatch):
    """The names beside keys come from the programme (~16 ms to load): kept per process
    until this programme changes, whatever happens to the others."""
    loads: list[str] = []
    real = world.app.get_programme

    def counting(programme_id, *args, **kwargs):
        loads.append(str(programme_id))
        return real(programme_id, *args, **kwargs)

    monkeypatch.setattr(world.app, "get_programme", counting)
    pid = str(world.programme_id)
    path = "/api/v1/programmes/{pid}/progress"
    assert world.get(path).status_code == 200
    assert loads.count(pid) == 1
    plan(world, 1)  # another programme: the read models move on
    assert world.get(path + "?lang=en").status_code == 200
    assert loads.count(pid) == 1
    world.app.log_reflection(world.participants[0], week=2, example="a synthetic example")
    catch_up(world.app)
    body = world.get(path + "?lang=en").get_json()
    assert loads.count(pid) == 2
    assert body["weeks"][0]["theme_label"]  # names still beside the keys
