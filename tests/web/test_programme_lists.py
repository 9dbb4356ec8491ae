"""The lists of programmes on the web pages (researchers' /r/, the replay's index,
evaluators' /e/) come a page at a time, the newest first. A store of 850 programmes made
them 230,000 px long at 360 px, and /r/ loaded every programme's aggregate on each visit.
One body on SQLite and PostgreSQL (the ``world`` fixture)."""

from __future__ import annotations

import re
from typing import Any

from web_support import FIRST_DAY, World

from api.web.common import PROGRAMMES_PER_PAGE
from domain.accounts import issue_evaluator_link
from domain.context import acting_as
from tests.integration.api_support import catch_up


def _plan(world: World, n: int, start: int = 0) -> list[str]:
    with acting_as("researcher:test"):
        return [str(world.app.plan_programme(
            organisation="Sidby", title=f"Insats nummer {start + i:02d}", first_day=FIRST_DAY,
            units=[{"key": "a", "name": "A-förvaltningen"}])) for i in range(n)]


def _walk(client: Any, path: str) -> list[list[str]]:
    """The titles on each page, following "Older programmes" to the end."""
    pages = []
    while path:
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        pages.append(re.findall(r'<h2 class="card-title"><a href="[^"]+">([^<]+)</a>', html))
        older = re.search(r'<a class="button" href="([^"]+)">Äldre utbildningsinsatser</a>',
                          html)
        path = older.group(1).replace("&amp;", "&") if older else ""
        assert len(pages) < 10, "the pages do not end"
    return pages


def _evaluator(world: World) -> Any:
    secret, _link, _who = issue_evaluator_link(world.app)
    client = world.flask.test_client()
    assert client.get(f"/in/{secret}").status_code == 302
    return client


def test_every_programme_once_newest_first_a_page_at_a_time(world: World) -> None:
    _plan(world, PROGRAMMES_PER_PAGE + 6)
    catch_up(world.app)
    everyone = ["Annan insats", "Digitalisering 2026"] + [
        f"Insats nummer {i:02d}" for i in range(PROGRAMMES_PER_PAGE + 6)]
    for client, path in ((world.client("researcher"), "/r/"),
                         (world.client("researcher"), "/replay/"),
                         (_evaluator(world), "/e/")):
        pages = _walk(client, path)
        assert [len(p) for p in pages] == [PROGRAMMES_PER_PAGE, 8], path
        titles = [t for page in pages for t in page]
        assert sorted(titles) == sorted(everyone), path  # each exactly once
        assert titles[:3] == ["Insats nummer 29", "Insats nummer 28", "Insats nummer 27"]
        first = client.get(path).get_data(as_text=True)
        assert "32 utbildningsinsatser, de senaste först" in first


def test_a_programme_planned_meanwhile_is_on_the_first_page_not_a_later_one(
        world: World) -> None:
    """Keyset pages, the newest first: walking on after a programme was planned shows the
    older ones exactly once; the new one is on the first page. The researchers' list shows
    it at once, before the read models have it (read from the log after them)."""
    _plan(world, PROGRAMMES_PER_PAGE + 6)
    catch_up(world.app)
    researcher = world.client("researcher")
    first = researcher.get("/r/").get_data(as_text=True)
    older = re.search(r'href="(/r/\?before=[^"]+)">Äldre', first).group(1)
    _plan(world, 1, start=90)  # not projected yet
    again = researcher.get("/r/").get_data(as_text=True)
    assert again.index("Insats nummer 90") < again.index("Insats nummer 29")
    later = researcher.get(older.replace("&amp;", "&")).get_data(as_text=True)
    assert "Insats nummer 90" not in later and "Insats nummer 05" in later
    assert "Insats nummer 29" not in later  # it was on the first page
    catch_up(world.app)
    evaluator = _evaluator(world).get("/e/").get_data(as_text=True)
    assert evaluator.index("Insats nummer 90") < evaluator.index("Insats nummer 29")


def test_a_page_that_does_not_exist_says_so(world: World) -> None:
    for client, path in ((world.client("researcher"), "/r/"),
                         (world.client("researcher"), "/replay/"),
                         (_evaluator(world), "/e/")):
        for bad in ("x", "12.not-an-id", "abc.6f0f8c33-8cfa-5a3c-9e3c-3a1f7a1b2c3d"):
            response = client.get(f"{path}?before={bad}")
            assert response.status_code == 400, (path, bad)
            assert "Den sidan med utbildningsinsatser finns inte" in response.get_data(
                as_text=True)


def _plan_titled(world: World, title: str, organisation: str) -> str:
    with acting_as("researcher:test"):
        return str(world.app.plan_programme(
            organisation=organisation, title=title, first_day=FIRST_DAY,
            units=[{"key": "a", "name": "A-förvaltningen"}]))


def test_a_search_finds_programmes_by_title_or_organisation_a_page_at_a_time(
        world: World) -> None:
    """Words of the title or the organisation, in any case (å, ä, ö too: matched in
    Python, the same on both stores); the pages of a search keep the search."""
    _plan(world, PROGRAMMES_PER_PAGE + 6)
    _plan_titled(world, "Ärendehantering i Östby", "Åsele kommun")
    _plan_titled(world, "Digitala möten", "Östby kommun")
    catch_up(world.app)
    numbered = [f"Insats nummer {i:02d}" for i in range(PROGRAMMES_PER_PAGE + 6)]
    for client, path in ((world.client("researcher"), "/r/"),
                         (world.client("researcher"), "/replay/"),
                         (_evaluator(world), "/e/")):
        html = client.get(path).get_data(as_text=True)
        assert 'role="search"' in html and 'name="q"' in html, path
        pages = _walk(client, f"{path}?q=NUMMER")
        assert [len(p) for p in pages] == [PROGRAMMES_PER_PAGE, 6], path
        assert sorted(t for page in pages for t in page) == sorted(numbered), path
        found = client.get(f"{path}?q=ärende").get_data(as_text=True)
        assert _titles(found) == ["Ärendehantering i Östby"], path
        assert "1 utbildningsinsats hittades för ”ärende”." in found
        assert _titles(client.get(f"{path}?q=östby").get_data(as_text=True)) == [
            "Digitala möten", "Ärendehantering i Östby"], path  # organisation or title
        assert _titles(client.get(f"{path}?q=ÅSELE+östby").get_data(as_text=True)) == [
            "Ärendehantering i Östby"], path  # every word
        none = client.get(f"{path}?q=finns+inte").get_data(as_text=True)
        assert _titles(none) == [], path
        assert "Ingen utbildningsinsats hittades för ”finns inte”." in none, path
        assert "Inga utbildningsinsatser ännu" not in none and "Visa alla" in none, path


def _titles(html: str) -> list[str]:
    return re.findall(r'<h2 class="card-title"><a href="[^"]+">([^<]+)</a>', html)


def test_the_search_form_shows_once_there_is_more_than_one_page(world: World) -> None:
    researcher = world.client("researcher")
    assert 'role="search"' not in researcher.get("/r/").get_data(as_text=True)
    _plan(world, PROGRAMMES_PER_PAGE)
    catch_up(world.app)
    assert 'role="search"' in researcher.get("/r/").get_data(as_text=True)


def test_the_researchers_search_finds_a_programme_planned_a_moment_ago(
        world: World) -> None:
    """/r/'s first page also reads the log after the read models: a search there must
    filter those programmes too."""
    _plan(world, PROGRAMMES_PER_PAGE + 2)
    catch_up(world.app)
    _plan_titled(world, "Välfärdsteknik våren", "Sidby")  # not projected yet
    researcher = world.client("researcher")
    assert _titles(researcher.get("/r/?q=välfärd").get_data(as_text=True)) == [
        "Välfärdsteknik våren"]
    assert "Välfärdsteknik" not in researcher.get("/r/?q=nummer").get_data(as_text=True)


def test_control_characters_are_dropped_from_the_search(world: World) -> None:
    """Why: /e/?q=%00 wrote value="\\x00" into the search field (and the notice), on every
    list. Control characters are dropped from the search, not echoed (the API answers 422
    to them in ``q``; a web form is friendlier): what is left is searched and shown."""
    _plan_titled(world, "Ärendehantering i Östby", "Åsele kommun")
    catch_up(world.app)
    control = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
    for client, path in ((world.client("researcher"), "/r/"),
                         (world.client("researcher"), "/replay/"),
                         (_evaluator(world), "/e/")):
        for q in ("%00", "%1b%5b31m%7f%c2%9b", "%00%01"):
            response = client.get(f"{path}?q={q}")
            html = response.get_data(as_text=True)
            assert response.status_code == 200 and not control.search(html), (path, q)
        html = client.get(f"{path}?q=%C3%A4r%00ende%1b%09%C3%B6stby").get_data(as_text=True)
        assert not control.search(html), path
        assert _titles(html) == ["Ärendehantering i Östby"], path
        assert 'name="q" value="ärende östby"' in html, path
