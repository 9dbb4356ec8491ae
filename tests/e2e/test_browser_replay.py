"""The replay page in Debian's Chromium: scrub to the end of week 3, follow a capability's
lineage back to its week-1 reflections. Served under a strict CSP (no inline script/style)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from api_support import flask_app, sign_in  # noqa: E402

from domain.demo import load_demo  # noqa: E402
from projections import asof  # noqa: E402
from projections.runner import catch_up  # noqa: E402

POSITION = "() => Number(document.getElementById('as-of-position').textContent)"
NAVIGATIONS = "() => performance.getEntriesByType('navigation').length"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


@pytest.fixture
def served(sqlite_app, live_server_factory):
    result = load_demo(sqlite_app)  # default: first day 2026-09-07, week 3 ends 2026-09-25
    catch_up(sqlite_app)
    web = flask_app(sqlite_app)

    @web.after_request
    def strict(response):
        response.headers["Content-Security-Policy"] = CSP
        return response

    signed_in = web.test_client()
    sign_in(signed_in)  # a real researcher session (sessions are checked against the store)
    cookie = signed_in.get_cookie("session").value
    with live_server_factory(web) as server:
        yield server, str(result.programme_ids[0]), cookie, sqlite_app


def test_scrub_to_end_of_week_three_and_walk_a_capability_back(served, page, screenshot):
    server, pid, cookie, app = served
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.context.add_cookies([{"name": "session", "value": cookie, "url": server.url}])

    page.goto(f"{server.url}/replay/{pid}")
    assert page.locator('#replay-svg g.record[data-kind="capability"]').count() > 0
    screenshot(page, "now")

    week_end = page.locator("#week-end-3")  # Swedish by default: "Slutet av vecka 3"
    assert week_end.inner_text() == "Slutet av vecka 3"
    week_end.click()
    page.wait_for_url("**at=2026-09-25**")
    assert page.locator("#as-of-time").inner_text().startswith("2026-09-25")
    assert page.locator('#replay-svg g.record[data-kind="capability"]').count() == 0
    for week in ("4", "5"):
        assert page.locator(f'#replay-svg g.record[data-week="{week}"]').count() == 0
    assert page.locator('#replay-svg g.record[data-week="3"]').count() > 0
    assert page.locator("#funnel td.capabilities").all_inner_texts() == ["0"] * 5
    screenshot(page, "end-of-week-3")

    position = int(page.locator("#as-of-position").inner_text())
    page.locator("#step-next").click()  # swapped in place (replay.js): wait for it
    page.wait_for_function(f"() => ({POSITION})() > {position}")
    page.locator("#step-previous").click()
    page.wait_for_function(f"() => ({POSITION})() === {position}")

    page.locator("#at-date").fill("2026-10-09")  # the date picker
    page.locator("#go-date").click()
    page.wait_for_url("**at=2026-10-09**")
    assert page.locator("#as-of-time").inner_text().startswith("2026-10-09")
    assert not page.locator("#at-time").is_visible()  # the exact time: under "Advanced"
    page.locator("#advanced summary").click()
    page.locator("#at-time").fill("2026-10-09T23:59")
    page.locator("#go-time").click()
    page.wait_for_url("**at=2026-10-09T23**")
    state = asof.state_at(app.sql, pid)
    record_id = next(  # a capability whose chain reaches week 1 (capabilities may overlap)
        r["id"] for r in state.records.values() if r["kind"] == "capability" and any(
            n["kind"] == "reflection" and n["week"] == 1
            for n in asof.lineage(state, r["id"], direction="back")["nodes"]))
    pick(page, "#replay-svg", record_id)
    page.locator("#open-lineage").click()
    page.locator("#direction-back").click()
    rows = page.locator("#lineage-table tbody tr")
    kinds = set(rows.evaluate_all("rs => rs.map(r => r.dataset.kind)"))
    assert kinds == {"reflection", "decision", "experiment", "capability"}
    assert page.locator('#lineage-table tr[data-kind="reflection"][data-week="1"]').count() > 0
    screenshot(page, "capability-lineage")

    # the same page in English (the web pages' switch), then the replay on a phone
    page.get_by_role("link", name="English").click()
    assert page.locator("#lineage-table th").first.inner_text() == "Place in the chain"
    page.locator("#lineage-table").wait_for()
    page.set_viewport_size({"width": 360, "height": 780})
    page.goto(f"{server.url}/replay/{pid}?at=2026-09-25")
    assert page.locator("#week-end-3").inner_text() == "End of week 3"
    screenshot(page, "phone-english")

    assert not violations, violations


def pick(page, chart: str, record_id: str) -> None:
    """Select a record on the chart: its symbol, or (drawn in a group with others) its row
    in "Show as table" (the page is swapped in place by replay.js)."""
    alone = page.locator(f'{chart} a:has(g[data-record="{record_id}"]:not(.group))')
    if alone.count():
        alone.dispatch_event("click")
    else:
        if not page.locator("#chart-table table").is_visible():
            page.locator("#chart-table summary").click()
        page.locator(f'#chart-table tr[data-record="{record_id}"] a').click()
    page.wait_for_url(f"**record={record_id}**")
    page.locator(f'#record-card[data-record="{record_id}"]').wait_for()


# every text of the chart: its rendered font size (CSS size x the SVG's scale) and box
TEXTS = """svg => Array.from(svg.querySelectorAll('text')).map(t => {
  const r = t.getBoundingClientRect(), s = svg.getBoundingClientRect();
  return {text: t.textContent, height: r.height, left: r.left - s.left, right: s.right - r.right,
          px: parseFloat(getComputedStyle(t).fontSize) * svg.getScreenCTM().a};
})"""


def page_width(page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


def test_replay_fits_a_phone_and_is_unchanged_on_a_desktop(served, page, screenshot):
    """At 360 px the page never scrolls sideways: the timeline is drawn in its narrow layout
    at the screen's width with legible labels (CSS only); at 1280 px the wide chart as it was;
    in between the wide chart scrolls in its own box, with a cue."""
    server, pid, cookie, _app = served
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.context.add_cookies([{"name": "session", "value": cookie, "url": server.url}])

    page.set_viewport_size({"width": 360, "height": 740})
    for query, name in (("", "phone"), ("?lanes=participant", "phone-participants"),
                        ("?at=2026-09-25", "phone-week-3")):
        page.goto(f"{server.url}/replay/{pid}{query}")
        scroll_width, inner_width = page_width(page)
        assert scroll_width <= inner_width == 360, (query, scroll_width)
        narrow, wide = page.locator("#replay-svg-narrow"), page.locator("#replay-svg")
        assert narrow.is_visible() and not wide.is_visible()
        assert not page.locator("#scroll-cue").is_visible()
        box = narrow.bounding_box()
        assert box["x"] >= 0 and 300 <= box["width"] <= 360 and box["height"] > 250, box
        records = narrow.locator("g.record")
        counted = "gs => gs.reduce((n, g) => n + Number(g.dataset.count || 1), 0)"
        assert records.evaluate_all(counted) == wide.locator("g.record").evaluate_all(
            counted) > 0  # every record in a symbol, grouped or alone
        assert records.first.is_visible()
        texts = narrow.evaluate(TEXTS)
        assert {"V1", "V5", "nu"} <= {t["text"] for t in texts}
        assert any(t["text"].startswith("Socialförvaltningen") or
                   t["text"].endswith("Socialförvaltningen") for t in texts)
        assert not [t["text"] for t in texts if "…" in t["text"]]  # wrapped, never cut
        for t in texts:  # legible, and inside the chart (not cut off at its edges)
            assert t["px"] >= 10 and t["height"] >= 9, t
            assert t["left"] >= 0 and t["right"] >= 0, t
        funnel = page.locator("#funnel svg.funnel-svg").evaluate(TEXTS)  # scaled to fit
        assert funnel and all(t["px"] >= 9.5 and t["right"] >= 0 for t in funnel), funnel
        screenshot(page, name)

    # a record is picked on the phone as on the desktop, and its card comes into view
    first = narrow.locator("g.record:not(.group)").first.get_attribute("data-record")
    narrow.locator(f'a:has(g[data-record="{first}"])').click()
    page.wait_for_url(f"**record={first}**")
    card = page.locator("#record-card")
    assert card.is_visible() and card.get_attribute("data-record") == first
    page.wait_for_function("() => { const r = document.getElementById('record-card')"
                           ".getBoundingClientRect(); return r.top > -2 && r.top < 200; }")
    assert page.locator(f'#replay-svg-narrow g.record.selected[data-record="{first}"]').count()
    scroll_width, inner_width = page_width(page)
    assert scroll_width <= inner_width, scroll_width

    # a tablet / a phone on its side: the wide chart scrolls on its own, the page does not
    page.set_viewport_size({"width": 900, "height": 740})
    page.goto(f"{server.url}/replay/{pid}")
    scroll_width, inner_width = page_width(page)
    assert scroll_width <= inner_width, scroll_width
    assert page.locator("#replay-svg").is_visible()
    assert not page.locator("#replay-svg-narrow").is_visible()
    assert page.locator("#scroll-cue").is_visible()
    assert page.locator("#chart-scroll").evaluate("e => e.scrollWidth > e.clientWidth")

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{server.url}/replay/{pid}")
    scroll_width, inner_width = page_width(page)
    assert scroll_width <= inner_width, scroll_width
    wide = page.locator("#replay-svg")
    assert wide.is_visible() and not page.locator("#replay-svg-narrow").is_visible()
    assert not page.locator("#scroll-cue").is_visible()
    assert wide.bounding_box()["width"] == 1180  # drawn at its own size, as before
    assert page.locator("#chart-scroll").evaluate("e => e.scrollWidth <= e.clientWidth")
    assert "V1 Digitalisering" in {t["text"] for t in wide.evaluate(TEXTS)}
    screenshot(page, "desktop")

    assert not violations, violations


# the texts of the lineage's boxes that stick out of their box
INSIDE_BOXES = """svg => Array.from(svg.querySelectorAll('g.node')).flatMap(g => {
  const box = g.querySelector('rect').getBoundingClientRect();
  return Array.from(g.querySelectorAll('text')).filter(t => {
    const r = t.getBoundingClientRect();
    return r.left < box.left || r.right > box.right || r.bottom > box.bottom;
  }).map(t => t.textContent);
})"""


def test_lineage_fits_a_phone_and_is_unchanged_on_a_desktop(served, page, screenshot):
    """A record's lineage page as the timeline: at 360 px the kinds are drawn one below the
    other at the screen's width, legible, and the page never scrolls sideways; at 1280 px the
    wide drawing as it was; in between it scrolls in its own box, with a cue."""
    server, pid, cookie, app = served
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.context.add_cookies([{"name": "session", "value": cookie, "url": server.url}])
    state = asof.state_at(app.sql, pid)
    record_id = max(  # the longest lineage of a capability: every kind, several links
        (r["id"] for r in state.records.values() if r["kind"] == "capability"),
        key=lambda rid: len(asof.lineage(state, rid)["nodes"]))
    graph = asof.lineage(state, record_id)
    assert {n["kind"] for n in graph["nodes"]} == {
        "reflection", "decision", "experiment", "capability"} and graph["edges"]
    url = f"{server.url}/replay/{pid}/records/{record_id}"

    page.set_viewport_size({"width": 360, "height": 740})
    for query, name in (("", "phone"), ("?direction=back", "phone-back")):
        page.goto(url + query)
        scroll_width, inner_width = page_width(page)
        assert scroll_width <= inner_width == 360, (query, scroll_width)
        narrow, wide = page.locator("#lineage-svg-narrow"), page.locator("#lineage-svg")
        assert narrow.is_visible() and not wide.is_visible()
        assert not page.locator("#lineage-scroll-cue").is_visible()
        box = narrow.bounding_box()
        assert box["x"] >= 0 and 300 <= box["width"] <= 360, box
        nodes = narrow.locator("g.node")
        assert nodes.count() == wide.locator("g.node").count() == len(
            page.locator("#lineage-table tbody tr").all())
        assert narrow.locator("path.edge").count() == wide.locator("line.edge").count() > 0
        assert narrow.locator(f'g.node.focus[data-record="{record_id}"]').is_visible()
        texts = narrow.evaluate(TEXTS)
        assert {"Reflektioner", "Beslut", "Förmågor"} <= {t["text"] for t in texts}
        for t in texts:  # legible, and inside the drawing (not cut off at its edges)
            assert t["px"] >= 10 and t["height"] >= 9, t
            assert t["left"] >= 0 and t["right"] >= 0, t
        assert narrow.evaluate(INSIDE_BOXES) == []  # each box's lines fit in it
        screenshot(page, name)

    # a record in the lineage is followed on the phone as on the desktop: a link, no script
    other = next(n["id"] for n in graph["nodes"] if n["kind"] == "reflection")
    narrow.locator(f'a:has(g[data-record="{other}"])').click()
    page.wait_for_url(f"**/records/{other}**")
    assert page.locator(f'#lineage-svg-narrow g.node.focus[data-record="{other}"]').count()
    scroll_width, inner_width = page_width(page)
    assert scroll_width <= inner_width, scroll_width

    # a tablet / a phone on its side: the wide drawing scrolls on its own, the page does not
    page.set_viewport_size({"width": 900, "height": 740})
    page.goto(url)
    scroll_width, inner_width = page_width(page)
    assert scroll_width <= inner_width, scroll_width
    assert page.locator("#lineage-svg").is_visible()
    assert not page.locator("#lineage-svg-narrow").is_visible()
    assert page.locator("#lineage-scroll-cue").is_visible()
    assert page.locator("#lineage-scroll").evaluate("e => e.scrollWidth > e.clientWidth")

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(url)
    scroll_width, inner_width = page_width(page)
    assert scroll_width <= inner_width, scroll_width
    wide = page.locator("#lineage-svg")
    assert wide.is_visible() and not page.locator("#lineage-svg-narrow").is_visible()
    assert not page.locator("#lineage-scroll-cue").is_visible()
    assert wide.bounding_box()["width"] == 1180  # drawn at its own size, as before
    assert page.locator("#lineage-scroll").evaluate("e => e.scrollWidth <= e.clientWidth")
    heads = [t for t in wide.evaluate(TEXTS) if t["text"] in ("Reflektioner", "Förmågor")]
    assert len(heads) == 2 and all(t["px"] == 13 for t in heads), heads
    screenshot(page, "desktop")

    assert not violations, violations


@pytest.mark.parametrize("width", [1280, 360])
def test_select_a_record_and_read_its_text(served, page, screenshot, width):
    """Issue 12: a researcher picks a reflection on the chart (the wide one at 1280 px, the
    narrow one at 360 px) and reads what was written in its card, with the author's name;
    from a capability's lineage they read the reflections it came from. The page never
    scrolls sideways."""
    server, pid, cookie, app = served
    page.context.add_cookies([{"name": "session", "value": cookie, "url": server.url}])
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{server.url}/replay/{pid}")
    state = asof.state_at(app.sql, pid)
    reflection = next(r for r in sorted(state.records.values(),
                                        key=lambda r: r["created_position"])
                      if r["kind"] == "reflection" and not r["void"])
    pick(page, "#replay-svg" if width > 640 else "#replay-svg-narrow", reflection["id"])
    card = page.locator("#record-card")
    assert card.is_visible()
    record = app.get_record(reflection["id"])
    author = app.get_participant(record["participant_id"])
    text = page.locator("#record-card-text").inner_text()
    assert record["example"] in text and record["deficiency"] in text
    assert author["name"] in page.locator("#record-card-author").inner_text()
    scroll_width, inner_width = page_width(page)
    assert scroll_width <= inner_width, scroll_width
    screenshot(page, "card")
    shots = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
    card.screenshot(path=str(shots / f"test_select_a_record_and_read_its_text-{width}-card.png"))

    cap = next(r["id"] for r in state.records.values() if r["kind"] == "capability" and any(
        n["kind"] == "reflection"
        for n in asof.lineage(state, r["id"], direction="back")["nodes"]))
    page.goto(f"{server.url}/replay/{pid}/records/{cap}?direction=back")
    table = page.locator("#lineage-table")
    table.wait_for()
    for node in asof.lineage(state, cap, direction="back")["nodes"]:
        if node["kind"] == "reflection":
            example = app.get_record(node["id"])["example"]
            row = table.locator(f'tr[data-record="{node["id"]}"] td.node-text')
            assert example in row.inner_text()
    assert app.get_record(cap)["name"] in table.inner_text()
    scroll_width, inner_width = page_width(page)
    assert scroll_width <= inner_width, scroll_width
    screenshot(page, "lineage-text")
    table.locator("tbody tr").first.screenshot(
        path=str(shots / f"test_select_a_record_and_read_its_text-{width}-lineage-row.png"))


def test_a_unit_filter_changes_the_panels_and_the_downloads(served, page, screenshot):
    """Issue 12: picking a unit in the filter form changes the funnel, the week table and
    the download links, and the page says which filter is active."""
    server, pid, cookie, app = served
    page.context.add_cookies([{"name": "session", "value": cookie, "url": server.url}])
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{server.url}/replay/{pid}")
    before = page.locator("#funnel .bar-value").all_text_contents()
    weeks = page.locator("#funnel table.progress tbody").inner_text()
    assert not page.locator("#active-filters").count()
    unit = app.get_programme(pid)["units"][0]
    page.locator('#filters select[name="unit"]').select_option(unit["key"])
    page.locator('#filters button[type="submit"]').click()
    page.wait_for_url(f"**unit={unit['key']}**")
    assert unit["name"] in page.locator("#active-filters").inner_text()
    assert page.locator("#funnel .bar-value").all_text_contents() != before
    assert page.locator("#funnel table.progress tbody").inner_text() != weeks
    assert f"unit={unit['key']}" in page.locator("#export-records-csv").get_attribute("href")
    screenshot(page, "unit-filter")


@pytest.mark.parametrize("width", [1280, 360])
def test_play_advances_without_a_page_load_and_keeps_the_scroll(served, page, screenshot,
                                                                width):
    """Issue 12, item 4: "play" swaps the chart and panels in place (replay.js fetches the
    next moment): the page is not loaded again (a marker on window survives, one navigation
    entry), the scroll position stays, pause stops it; the speed and "play backwards" from
    "now" work the same way; the pause button shows an icon and a word, not a missing glyph."""
    server, pid, cookie, app = served
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.context.add_cookies([{"name": "session", "value": cookie, "url": server.url}])
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{server.url}/replay/{pid}?at=2026-09-14")
    page.evaluate("window.replayMarker = 'kept'")
    play = page.locator("#play")
    play.scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, Math.max(0, document.getElementById('play')"
                  ".getBoundingClientRect().top - 60))")
    scroll = page.evaluate("window.scrollY")
    assert scroll > 0
    start = page.evaluate(POSITION)
    play.click()
    page.wait_for_function("() => window.replaySwaps >= 3", timeout=20_000)  # three ticks
    assert page.evaluate(POSITION) > start
    assert page.evaluate("window.replayMarker") == "kept"
    assert page.evaluate(NAVIGATIONS) == 1
    assert abs(page.evaluate("window.scrollY") - scroll) <= 2
    pause = page.locator("#play-stop")
    assert pause.is_visible() and pause.locator("svg.icon").count() == 1
    assert pause.inner_text().strip() == "pausa"
    box = pause.locator("svg.icon").bounding_box()
    assert box["width"] >= 12 and box["height"] >= 12
    screenshot(page, "playing")
    pause.click()
    page.locator("#play").wait_for()
    stopped = page.evaluate(POSITION)
    page.wait_for_timeout(2500)
    assert page.evaluate(POSITION) == stopped  # paused
    assert f"at={stopped}" in page.url and "play=" not in page.url
    # faster: 2x takes twice the log positions a step
    page.locator("#speed-2").click()
    page.wait_for_function("() => document.getElementById('speed-2')"
                           ".getAttribute('aria-current') === 'true'")
    assert "speed=2" in page.url
    # from "now" backwards
    page.locator("#step-last").click()
    page.wait_for_function("() => document.getElementById('play-over')")
    now = page.evaluate(POSITION)
    assert page.locator("#play-over").is_visible()  # or from the start
    page.locator("#play-back").click()
    page.wait_for_function(f"() => ({POSITION})() < {now}")
    page.locator("#play-stop").click()
    page.locator("#play").wait_for()
    assert page.evaluate("window.replayMarker") == "kept"
    assert page.evaluate(NAVIGATIONS) == 1
    assert not violations, violations


def test_a_filter_picked_while_it_plays_is_kept_until_sent(served, page, screenshot):
    """A researcher who picks a unit in the filter form while the replay plays keeps that
    choice through the ticks (each swaps the form in fresh), and sending it filters at the
    moment the replay has reached."""
    server, pid, cookie, app = served
    page.context.add_cookies([{"name": "session", "value": cookie, "url": server.url}])
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto(f"{server.url}/replay/{pid}?at=2026-09-14")
    unit = app.get_programme(pid)["units"][1]
    page.locator("#play").click()
    page.wait_for_function("() => window.replaySwaps >= 1", timeout=20_000)
    page.locator("#filters-box summary").click()
    select = page.locator('#filters select[name="unit"]')
    select.select_option(unit["key"])
    swaps = page.evaluate("window.replaySwaps")
    page.wait_for_function(f"() => window.replaySwaps >= {swaps + 2}", timeout=20_000)
    assert select.input_value() == unit["key"]
    assert page.locator("#filters-box").get_attribute("open") is not None
    screenshot(page, "filter-kept-while-playing")
    page.locator("#play-stop").click()
    page.locator("#play").wait_for()
    reached = page.evaluate(POSITION)
    assert select.input_value() == unit["key"]
    page.locator('#filters button[type="submit"]').click()
    page.wait_for_url(f"**unit={unit['key']}**")
    assert unit["name"] in page.locator("#active-filters").inner_text()
    assert page.evaluate(POSITION) == reached


def test_play_without_script_reloads_the_page(served, browser, screenshot):
    """The no-script version: a meta refresh (inside <noscript>) loads the next moment."""
    server, pid, cookie, _app = served
    context = browser.new_context(java_script_enabled=False, locale="sv-SE")
    try:
        tab = context.new_page()
        context.add_cookies([{"name": "session", "value": cookie, "url": server.url}])
        tab.goto(f"{server.url}/replay/{pid}?at=300&play=1")
        tab.wait_for_url(lambda url: "at=300" not in url and "play=1" in url, timeout=15_000)
        assert int(tab.locator("#as-of-position").inner_text()) > 300
        assert tab.locator("#play-stop").is_visible()
        screenshot(tab, "no-script")
    finally:
        context.close()


@pytest.mark.parametrize("width", [1280, 360])
def test_keyboard_alone_reaches_a_record_and_opens_its_card(served, page, screenshot, width):
    """Issue 12, item 5: the chart is one tab stop; the arrow keys move between its records;
    Enter opens the focused record's card (and moves the focus to it)."""
    server, pid, cookie, app = served
    page.context.add_cookies([{"name": "session", "value": cookie, "url": server.url}])
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{server.url}/replay/{pid}")
    chart = "#replay-svg" if width > 640 else "#replay-svg-narrow"
    in_chart = f"() => !!document.activeElement.closest('{chart} a.dot-link')"
    for _tab in range(200):
        page.keyboard.press("Tab")
        if page.evaluate(in_chart):
            break
    else:
        pytest.fail("Tab never reached the chart")
    page.keyboard.press("Tab")  # one tab stop: the next Tab leaves the chart
    assert not page.evaluate(in_chart)
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(in_chart)
    focused = "() => document.activeElement.querySelector('g').dataset.record"
    first = page.evaluate(focused)
    page.keyboard.press("ArrowRight")
    assert page.evaluate(in_chart) and page.evaluate(focused) != first
    assert page.locator(f"{chart} a.dot-link[tabindex='0']").count() == 1
    page.keyboard.press("ArrowDown")
    assert page.evaluate(in_chart)
    for _ in range(60):  # on to a record drawn alone (not a group)
        if page.evaluate("() => !document.activeElement.querySelector('g.group')"):
            break
        page.keyboard.press("ArrowRight")
    record_id = page.evaluate(focused)
    page.keyboard.press("Enter")
    card = page.locator(f'#record-card[data-record="{record_id}"]')
    card.wait_for()
    assert page.evaluate("document.activeElement.id") == "record-card"
    assert page.evaluate(NAVIGATIONS) == 1
    state = asof.state_at(app.sql, pid)
    kind = state.records[record_id]["kind"]
    text = app.get_record(record_id)
    first_field = {"reflection": "example", "decision": "statement", "experiment": "aim",
                   "capability": "name"}[kind]
    assert text[first_field] in page.locator("#record-card-text").inner_text()
    screenshot(page, "keyboard-card")


@pytest.mark.parametrize("width", [1280, 360])
def test_chart_groups_zoom_table_and_labels(served, page, screenshot, width):
    """Issue 12, item 2: records close together are one symbol with their count (selecting
    it lists them; no two symbols of a lane overlap); a week can be zoomed into; every
    record is in "Show as table"; no label is cut and the chart's texts stay inside it."""
    server, pid, cookie, app = served
    page.context.add_cookies([{"name": "session", "value": cookie, "url": server.url}])
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{server.url}/replay/{pid}")
    chart = page.locator("#replay-svg" if width > 640 else "#replay-svg-narrow")
    overlaps = chart.evaluate("""svg => {
      const boxes = Array.from(svg.querySelectorAll('a.dot-link')).map(a => [a.dataset.lane,
        a.getBoundingClientRect()]);
      const out = [];
      boxes.forEach(([l, a], i) => boxes.slice(i + 1).forEach(([m, b]) => {
        if (l === m && a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1
            && b.top < a.bottom - 1) { out.push([l, a.left, b.left]); }
      }));
      return out;
    }""")
    assert overlaps == []
    texts = chart.evaluate(TEXTS)
    assert not [t["text"] for t in texts if "…" in t["text"]]
    assert all(t["left"] >= 0 and t["right"] >= 0 for t in texts), texts
    state = asof.state_at(app.sql, pid)
    assert chart.locator("g.record").evaluate_all(
        "gs => gs.reduce((n, g) => n + Number(g.dataset.count || 1), 0)") == len(state.records)
    page.locator("#chart-table summary").click()
    assert page.locator("#chart-table tbody tr").count() == len(state.records)
    screenshot(page, "table")
    # a group: its records listed in a card, in view on a phone
    group = chart.locator("a.dot-link:has(g.group)").first
    count = int(group.locator("g").get_attribute("data-count"))
    group.dispatch_event("click")
    page.wait_for_url("**group=**")
    assert page.locator("#group-list li").count() == count
    if width < 640:
        page.wait_for_function("() => { const r = document.getElementById('group-card')"
                               ".getBoundingClientRect(); return r.top > -2 && r.top < 200; }")
    screenshot(page, "group")
    # zoomed into week 3 (a link: no script needed)
    page.locator("nav.zoom a", has_text="V3").click()
    page.wait_for_url("**week=3**")
    weeks = state.programme["weeks"]  # the week's days and its weekend
    start, end = weeks[2]["starts_on"][:10], weeks[3]["starts_on"][:10]
    assert chart.locator("g.record").evaluate_all(
        "gs => gs.reduce((n, g) => n + Number(g.dataset.count || 1), 0)") == sum(
        1 for r in state.records.values() if start <= r["created_at"][:10] < end) > 0
    assert "3" in set(chart.locator("g.record").evaluate_all(
        "gs => gs.map(g => g.dataset.week)"))
    assert chart.locator("text.tick").count() == 7
    assert "Organisering" in chart.locator("text.band-label").text_content()
    screenshot(page, "week-3")
