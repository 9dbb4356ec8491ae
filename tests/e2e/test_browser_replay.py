"""The replay page in Debian's Chromium: scrub to the end of week 3, follow a capability's
lineage back to its week-1 reflections. Served under a strict CSP (no inline script/style)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from api_support import flask_app  # noqa: E402

from domain.demo import load_demo  # noqa: E402
from projections import asof  # noqa: E402
from projections.runner import catch_up  # noqa: E402

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

    cookie = web.session_interface.get_signing_serializer(web).dumps(
        {"principal": {"role": "researcher", "subject": "r1"}})
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
    page.locator("#step-next").click()
    assert int(page.locator("#as-of-position").inner_text()) > position
    page.locator("#step-previous").click()
    assert int(page.locator("#as-of-position").inner_text()) == position

    page.locator("#at-time").fill("2026-10-09T23:59")
    page.locator("#go-time").click()
    state = asof.state_at(app.sql, pid)
    record_id = next(  # a capability whose chain reaches week 1 (capabilities may overlap)
        r["id"] for r in state.records.values() if r["kind"] == "capability" and any(
            n["kind"] == "reflection" and n["week"] == 1
            for n in asof.lineage(state, r["id"], direction="back")["nodes"]))
    page.locator(f'#replay-svg a:has(g[data-record="{record_id}"])').dispatch_event("click")
    page.wait_for_url(f"**record={record_id}**")
    page.locator("#open-lineage").click()
    page.locator("#direction-back").click()
    rows = page.locator("#lineage-table tbody tr")
    kinds = set(rows.evaluate_all("rs => rs.map(r => r.dataset.kind)"))
    assert kinds == {"reflection", "decision", "experiment", "capability"}
    assert page.locator('#lineage-table tr[data-kind="reflection"][data-week="1"]').count() > 0
    screenshot(page, "capability-lineage")

    # the same page in English (the web pages' switch), then the replay on a phone
    page.get_by_role("link", name="English").click()
    assert page.locator("#lineage-table th").first.inner_text() == "Depth"
    page.locator("#lineage-table").wait_for()
    page.set_viewport_size({"width": 360, "height": 780})
    page.goto(f"{server.url}/replay/{pid}?at=2026-09-25")
    assert page.locator("#week-end-3").inner_text() == "End of week 3"
    screenshot(page, "phone-english")

    assert not violations, violations
