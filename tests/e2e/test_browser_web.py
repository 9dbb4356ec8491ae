"""The web pages in a real browser (Debian's Chromium through Playwright).

A participant signs in by link, logs a reflection in Swedish and sees it in "My log";
an invalid form shows its messages with the text kept; a double submit records once;
a researcher plans a five-week programme and invites a participant. Every page is
screenshotted (test-output/screenshots), on desktop and at 360 px.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
from web_support import PASSWORD, World, make_world, sign_in_researcher  # noqa: E402

from api.web.common import records_of  # noqa: E402

pytestmark = pytest.mark.browser


@pytest.fixture
def site(sqlite_app, live_server_factory):
    world = make_world(sqlite_app)
    with live_server_factory(world.flask) as server:
        yield world, server.url


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="sv-SE",
                                  is_mobile=True, has_touch=True)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


def _reflections(world: World, text: str) -> int:
    return sum(1 for r in records_of(world.app, world.me)
               if r["kind"] == "reflection" and r["example"] == text)


def test_participant_logs_a_reflection_in_swedish(site, page, phone, screenshot) -> None:
    world, url = site
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{url}/in/{world.link}")
    assert page.url.endswith("/p/")
    assert page.locator("h1").inner_text() == "Min logg"
    assert page.locator("html").get_attribute("lang") == "sv"
    screenshot(page, "my-log")
    page.get_by_role("link", name="Logga en reflektion").click()
    page.get_by_label("Kursvecka").select_option("2")
    page.get_by_label("Material").select_option("m2")
    page.get_by_label("Exempel från min verksamhet").fill(
        "Vi tolkade regeln som ett förbud mot en gemensam dataplattform <script>x</script>")
    page.get_by_label("Brist").fill("Vi läste inte regeln en andra gång.")
    page.get_by_label("Möjliga lösningar").fill("Fråga juristerna tidigt.")
    page.get_by_label("Politisk förankring").check()
    screenshot(page, "reflection-form")
    page.get_by_role("button", name="Spara reflektionen").click()
    page.wait_for_url(re.compile(r"/p/\?saved=reflection$"))
    assert page.get_by_role("status").first.inner_text() == "Din reflektion är sparad."
    week2 = page.locator("section", has=page.get_by_role("heading", name=re.compile(
        "Vecka 2 · Styrning")))
    week2.locator("summary").click()  # earlier weeks are collapsed under "this week"
    assert "gemensam dataplattform <script>x</script>" in week2.inner_text()
    screenshot(page, "my-log-after")
    assert _reflections(world, "Vi tolkade regeln som ett förbud mot en gemensam "
                               "dataplattform <script>x</script>") == 1
    # the same pages on a phone
    phone.goto(f"{url}/in/{world.link}")
    screenshot(phone, "phone-my-log")
    phone.goto(f"{url}/p/reflections/new")
    screenshot(phone, "phone-reflection-form")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the form is wider than the phone: {width}px"
    assert not errors, errors  # no CSP violations or script errors


def test_invalid_form_keeps_text_and_shows_messages(site, page, screenshot) -> None:
    world, url = site
    page.goto(f"{url}/in/{world.link}")
    page.goto(f"{url}/p/reflections/new")
    page.get_by_label("Brist").fill("En brist jag inte vill skriva igen")
    page.get_by_label("Möjliga lösningar").fill("Lösningar\x00 med ett NUL-tecken")
    page.get_by_role("button", name="Spara reflektionen").click()
    page.wait_for_selector(".errorsummary")
    assert page.locator("#example-error").inner_text().strip() == "Fyll i det här fältet."
    assert "Innehåller tecken" in page.locator("#solutions-error").inner_text()
    assert page.get_by_label("Brist").input_value() == "En brist jag inte vill skriva igen"
    assert page.locator("#example").get_attribute("aria-invalid") == "true"
    # the first wrong field has the focus (keyboard users land on it)
    assert page.evaluate("document.activeElement.id") == "example"
    screenshot(page, "invalid")


def test_double_submit_gives_one_record(site, page, screenshot) -> None:
    world, url = site
    page.goto(f"{url}/in/{world.link}")
    page.goto(f"{url}/p/reflections/new")
    page.get_by_label("Exempel från min verksamhet").fill("Dubbelklickad reflektion")
    form = {name: page.locator(f"input[name={name}]").first.input_value()
            for name in ("csrf_token", "request_id")}
    page.get_by_role("button", name="Spara reflektionen").dblclick()
    page.wait_for_url(re.compile(r"/p/\?saved=reflection$"))
    # the browser resends the same form (e.g. a retry after a lost answer)
    again = page.request.post(f"{url}/p/reflections/new", form={
        **form, "week": "3", "example": "Dubbelklickad reflektion"}, max_redirects=0)
    assert again.status == 302
    page.reload()
    screenshot(page, "after-double-submit")
    assert page.get_by_text("Dubbelklickad reflektion").count() == 1
    assert _reflections(world, "Dubbelklickad reflektion") == 1


def test_researcher_plans_five_weeks_and_invites(site, page, browser, screenshot) -> None:
    world, url = site
    page.goto(f"{url}/login")
    screenshot(page, "login")
    page.get_by_label("Användarnamn").fill("forskare")
    page.get_by_label("Lösenord").fill(PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url(re.compile(r"/r/$"))
    screenshot(page, "programmes")
    page.get_by_role("link", name="Planera en utbildningsinsats").click()
    page.get_by_label("Titel").fill("Digital förmåga 2027")
    page.get_by_label("Organisation").fill("Exempelstad kommun")
    page.get_by_label("Första dagen i vecka 1").fill("2027-01-11")
    themes = page.get_by_label("Veckor och teman").input_value().splitlines()
    assert themes == ["Digitalisering", "Styrning", "Organisering", "Strategi",
                      "Sammanfattning"]
    page.get_by_label("Enheter").fill("Socialförvaltningen\nIT-avdelningen\n"
                                      "Bostadsbolaget | bolag")
    screenshot(page, "new-programme")
    page.get_by_role("button", name="Planera utbildningsinsatsen").click()
    page.wait_for_url(re.compile(r"/r/programmes/[0-9a-f-]{36}$"))
    headings = page.locator("section.week h3").all_inner_texts()
    assert len(headings) == 5
    assert headings[0].startswith("Vecka 1 · Digitalisering")
    assert "11 januari 2027" in headings[0]
    screenshot(page, "programme")
    page.get_by_role("link", name="Skriv in en deltagare").click()
    page.get_by_label("Namn").fill("Inez Inbjuden")
    page.get_by_label("E-post").fill("inez@example.org")
    page.get_by_label("Roll").select_option("manager")
    page.get_by_label("Enhet").select_option(label="IT-avdelningen")
    screenshot(page, "enrol")
    page.get_by_role("button", name="Skriv in och skapa länk").click()
    link = page.get_by_label("Inloggningslänk").input_value()
    assert re.fullmatch(re.escape(url) + r"/in/fdl_[A-Za-z0-9_-]{40,}", link)
    screenshot(page, "invite-link")
    # the invited participant signs in with the link, in a browser of their own
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="sv-SE")
    try:
        tab = context.new_page()
        tab.goto(link)
        assert tab.locator("h1").inner_text() == "Min logg"
        assert "Inez Inbjuden" in tab.locator("main").inner_text()
        screenshot(tab, "invited-participant")
    finally:
        context.close()


def test_the_participant_list_is_short_cards_on_a_phone(site, browser, screenshot) -> None:
    """At 360 px a researcher's programme page shows each participant as a card of four
    short lines: the tick box beside the name, the unit, role and pseudonym, the
    invitation. With each label above its value a card was ~340 px: a course of 30
    took 10,500 px of the page."""
    world, url = site
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="sv-SE",
                                  is_mobile=True, has_touch=True)
    try:
        tab = context.new_page()
        sign_in_researcher(tab, url)
        tab.goto(f"{url}/r/programmes/{world.programme}")
        rows = tab.locator("table.people tbody tr")
        assert rows.count() >= 2
        for i in range(rows.count()):
            row = rows.nth(i)
            height = row.bounding_box()["height"]
            assert height <= 190, f"participant {i + 1}: a card of {height:.0f} px"
            tick = row.locator("input[type=checkbox]").bounding_box()
            name = row.locator("td.name a").bounding_box()
            assert tick["width"] >= 24 and tick["height"] >= 24, tick  # a target for a thumb
            assert abs((tick["y"] + tick["height"] / 2) - (name["y"] + name["height"] / 2)) < 12
        width = tab.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"the page is wider than the phone: {width}px"
        screenshot(tab, "programme-360")
    finally:
        context.close()


def test_language_switch_and_keyboard(site, page, screenshot) -> None:
    world, url = site
    page.goto(f"{url}/in/{world.link}")
    page.get_by_role("link", name="English").click()
    expect(page.locator("h1")).to_have_text("My log")
    assert page.get_by_role("heading", name=re.compile("Week 1 · Digitalisation")).count() == 1
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # focus is visible
    screenshot(page, "english")
    page.goto(f"{url}/p/records/{world.ids['started']}")
    screenshot(page, "experiment")


_FORMS = ("/p/reflections/new", "/p/decisions/new", "/p/experiments/new",
          "/p/capabilities/new")
_VALUES = ("Array.from(document.querySelectorAll('textarea, input'))"
           ".map(el => el.value).join('\\n')")


def _typed_but_not_sent(tab, url: str, text: str) -> None:
    tab.goto(f"{url}/p/reflections/new")
    tab.get_by_label("Exempel från min verksamhet").fill(text)
    tab.goto(f"{url}/p/decisions/new")
    tab.locator("textarea").first.fill(text)
    assert text in tab.evaluate("JSON.stringify(localStorage)")  # kept as a draft
    tab.goto(f"{url}/p/reflections/new")  # ... and given back to its author
    assert tab.get_by_label("Exempel från min verksamhet").input_value() == text


def _nothing_of(tab, url: str, text: str) -> None:
    for form in _FORMS:
        tab.goto(f"{url}{form}")
        assert text not in tab.evaluate(_VALUES), form
        assert tab.locator(".draftnote").count() == 0, form
    assert text not in tab.evaluate("JSON.stringify(localStorage)")


def test_drafts_stay_with_their_author(site, page, screenshot) -> None:
    """On a shared browser the next person never sees what the previous one typed and
    did not send: drafts are kept per person, cleared on sign-out, and dropped when
    someone else signs in (A who forgot to sign out)."""
    world, url = site
    text = "Evas osparade utkast om budgeten"
    page.goto(f"{url}/in/{world.link}")
    _typed_but_not_sent(page, url, text)
    page.get_by_role("button", name="Logga ut").click()
    page.wait_for_url(re.compile(r"/$"))
    assert text not in page.evaluate("JSON.stringify(localStorage)")
    page.goto(f"{url}/in/{world.colleague_link}")
    assert page.url.endswith("/p/")
    _nothing_of(page, url, text)
    screenshot(page, "colleague-form")
    # A types again and leaves without signing out; B opens their own link.
    page.goto(f"{url}/in/{world.link}")
    _typed_but_not_sent(page, url, text + " igen")
    page.goto(f"{url}/in/{world.colleague_link}")
    _nothing_of(page, url, text)


def test_attendance_everyone_but_one_in_three_actions(site, phone) -> None:
    """Most of a course group takes part in a meeting: "Tick everyone", untick who did
    not, save (was one tap per participant: ~30 in a course)."""
    from datetime import timedelta

    from web_support import FIRST_DAY

    from domain.context import acting_as

    world, url = site
    with acting_as("researcher:test"):
        meeting = world.app.hold_session(world.programme, week=1,
                                         held_on=FIRST_DAY + timedelta(days=4))
    sign_in_researcher(phone, url)
    phone.goto(f"{url}/r/programmes/{world.programme}/meetings/{meeting}/attendance")
    phone.get_by_role("button", name="Kryssa i alla").click()
    phone.get_by_label(re.compile("^Kim Kollega")).uncheck()
    phone.get_by_role("button", name="Spara närvaron").click()
    phone.wait_for_url(re.compile(rf"/r/programmes/{world.programme}$"))
    attended = {pid: world.app.get_participant(pid)["attendance"].get(meeting)
                for pid in (world.me, world.colleague)}
    assert attended == {world.me: True, world.colleague: None}
