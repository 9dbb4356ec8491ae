"""The printable programme report and the evaluators' page in Debian's Chromium (issue 12,
items 6 and 8), under a strict CSP.

The report is printed as the browser would (print media; ``page.pdf()``): its parts are
there, the navigation and buttons are not, each part starts a page. An evaluator signs in
with a link created on the researcher's page (copied with the copy button) and sees the
charts without a name. Screenshots (and the PDF's pages as PNG when pdftoppm is installed)
in test-output/screenshots.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from api_support import flask_app, sign_in  # noqa: E402

from domain.demo import load_demo  # noqa: E402
from projections import queries  # noqa: E402
from projections.runner import catch_up  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]


@pytest.fixture
def served(sqlite_app, live_server_factory):
    result = load_demo(sqlite_app)
    catch_up(sqlite_app)
    web = flask_app(sqlite_app)

    @web.after_request
    def strict(response):
        response.headers["Content-Security-Policy"] = CSP
        return response

    signed_in = web.test_client()
    sign_in(signed_in)
    cookie = signed_in.get_cookie("session").value
    with live_server_factory(web) as server:
        yield server, str(result.programme_ids[0]), cookie, sqlite_app


def _csp_watch(tab) -> list[str]:  # noqa: ANN001
    seen: list[str] = []
    tab.on("console", lambda m: seen.append(m.text)
           if "Content Security Policy" in m.text else None)
    return seen


def test_the_report_prints_its_parts_without_navigation(served, page) -> None:
    server, pid, cookie, app = served
    violations = _csp_watch(page)
    page.context.add_cookies([{"name": "session", "value": cookie, "url": server.url}])
    page.goto(f"{server.url}/r/programmes/{pid}/overview")
    page.get_by_role("link", name="Skriv ut rapporten").click()
    page.wait_for_url(f"**/r/programmes/{pid}/report")
    assert page.locator("header.top nav").is_visible()
    assert page.locator("button[data-print]").is_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "report-screen-1280.png"), full_page=True)

    page.emulate_media(media="print")
    for hidden in ("header.top", "button[data-print]", "p.back", ".rp-toc", ".ov-weeks"):
        assert not page.locator(hidden).first.is_visible(), hidden
    for part in ("#rp-overview", "#rp-lineage", "#ov-funnel-chart", "#ov-areas",
                 "#ov-maturity", "#ov-board"):
        assert page.locator(part).is_visible(), part
    # the numbers under the charts are printed too, each part starts on a new page
    assert page.locator("#ov-funnel-table").is_visible()
    assert page.evaluate("getComputedStyle(document.querySelector('#rp-lineage'))"
                         ".breakBefore") == "page"
    caps = [n for n in queries.lineage(app.sql, pid)["nodes"]
            if n["kind"] == "capability" and not n["void"]]
    assert page.locator(".rp-capability").count() == len(caps) > 0
    assert page.locator("#rp-lineage .rp-k-reflection").count() > 0
    # black and white: the four kinds of bar differ in grey level, not only in hue
    greys = page.evaluate("""() => ['reflections', 'decisions', 'experiments',
        'capabilities'].map(k => getComputedStyle(document.querySelector(
        '#ov-funnel-chart rect.ov-' + k)).fill)""")
    assert len(set(greys)) == 4 and all(
        len({c.strip() for c in g[g.index("(") + 1:-1].split(",")}) == 1 for g in greys), greys
    page.set_viewport_size({"width": 800, "height": 1100})
    page.screenshot(path=str(SCREENSHOTS / "report-print-media.png"), full_page=True)
    pdf = SCREENSHOTS / "report.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True)
    assert pdf.stat().st_size > 10_000
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "50", "-l", "4", str(pdf),
                        str(SCREENSHOTS / "report-pdf-page")], check=True)
    assert not violations, violations


def test_an_evaluator_link_from_the_programme_page_opens_the_pseudonymous_page(
        served, page, browser) -> None:
    server, pid, cookie, app = served
    violations = _csp_watch(page)
    page.context.add_cookies([{"name": "session", "value": cookie, "url": server.url}])
    page.goto(f"{server.url}/r/programmes/{pid}")
    page.get_by_role("link", name="Länkar för utvärderare").click()
    page.get_by_role("button", name="Skapa en länk för en utvärderare").click()
    field = page.locator("#signin-link")
    link = field.input_value()
    assert "/in/fdl_" in link
    page.locator("button[data-copy='signin-link']").click()
    page.locator("#signin-link-status").filter(has_text="Kopierad").wait_for()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "evaluator-link-created.png"), full_page=True)

    names = [app.get_participant(p)["name"] for p in queries.consent_flags(app.sql, pid)]
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="sv-SE")
    try:
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        violations += _csp_watch(tab)
        tab.goto(link)
        tab.get_by_role("link", name=app.get_programme(pid)["title"]).click()
        tab.wait_for_url(f"**/e/programmes/{pid}")
        assert tab.locator("#ov-funnel-chart").is_visible()
        assert tab.evaluate("document.documentElement.scrollWidth") <= 361
        text = tab.locator("main").inner_text()
        assert not [n for n in names if n and n in text]
        assert "P-" in text  # pseudonyms
        for lang, width in (("sv", 360), ("sv", 1280), ("en", 360), ("en", 1280)):
            tab.goto(f"{server.url}/lang/{lang}?next=/e/programmes/{pid}")
            tab.set_viewport_size({"width": width, "height": 900})
            tab.screenshot(path=str(SCREENSHOTS / f"evaluator-page-{lang}-{width}.png"),
                           full_page=True)
        refused = tab.goto(f"{server.url}/r/programmes/{pid}/overview")
        assert refused is not None and refused.status == 403  # not a researcher's page
    finally:
        context.close()
    assert not violations, violations
