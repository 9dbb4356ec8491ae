"""The maturity instrument in a real browser: a researcher renames a dimension and adds one
on the instrument page, then enters an assessment whose out-of-scale score is named with
its dimension and range; the pages are screenshotted at 360 and 1280 px, in Swedish and
English, and fit a phone's width."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
from web_support import make_world, sign_in_researcher  # noqa: E402

from projections.runner import catch_up  # noqa: E402

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


@pytest.fixture
def site(sqlite_app, live_server_factory):
    world = make_world(sqlite_app)
    with live_server_factory(world.flask) as server:
        yield world, server.url


def _shoot(tab, name: str) -> None:
    """Full page at 1280 and 360 px; the page must not scroll sideways on the phone."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1280, 900), (360, 740)):
        tab.set_viewport_size({"width": width, "height": height})
        tab.screenshot(path=str(SHOTS / f"instrument-{name}-{width}.png"), full_page=True)
        if width == 360:
            assert tab.evaluate("document.documentElement.scrollWidth") <= 360, name
    tab.set_viewport_size({"width": 1280, "height": 900})


def test_researcher_renames_adds_and_assesses_on_the_scale(site, page) -> None:
    world, url = site
    sign_in_researcher(page, url)
    base = f"{url}/r/programmes/{world.programme}"
    page.goto(base)
    actions = 0
    page.get_by_role("link", name="visa eller ändra mätinstrumentet").click()
    actions += 1
    assert page.locator("h1").inner_text() == "Mätinstrument för mognad"
    _shoot(page, "page-sv")
    first = page.locator("#dimension-0")
    first.get_by_label("Namn på svenska").fill("Digital mognad")  # rename: 1 action
    new = page.locator("#dimension-new")
    new.get_by_label("Namn på svenska").fill("Samverkan")
    new.get_by_label("Namn på engelska").fill("Collaboration")
    new.get_by_label("Kategori").fill("Kultur")
    new.get_by_label("Lägsta värde").fill("1")
    new.get_by_label("Högsta värde").fill("5")
    page.get_by_role("button", name="Spara mätinstrumentet").click()
    actions += 7
    page.wait_for_url(re.compile(r"/instrument$"))
    assert "Mätinstrumentet för mognad är sparat." in page.locator("main").inner_text()
    assert page.locator("legend").all_inner_texts()[:3] == [
        "Digital mognad", "Digitalt arv", "Samverkan"]
    assert actions <= 8  # a rename and a new dimension, from the programme page
    # the assessment form: names, scales as min/max and hints; an out-of-scale score
    page.goto(f"{base}/maturity/new")
    assert page.get_by_label("Samverkan").get_attribute("aria-describedby") == "score_2-hint"
    assert "Kultur · Ett tal från 1 till 5." in page.locator("main").inner_text()
    _shoot(page, "form-sv")
    page.get_by_label("Digital mognad").fill("40")
    page.get_by_label("Digitalt arv").fill("55")
    page.get_by_label("Samverkan").fill("8")
    page.get_by_role("button", name="Spara mätningen").click()
    summary = page.locator(".errorsummary")
    assert "Samverkan: Ange ett tal från 1 till 5." in summary.inner_text()
    _shoot(page, "form-errors-sv")
    page.get_by_label("Samverkan").fill("")
    page.get_by_label("Samverkan").press_sequentially("3,5")  # typed as a Swede types it
    page.get_by_role("button", name="Spara mätningen").click()
    page.wait_for_url(re.compile(r"/r/programmes/[0-9a-f-]{36}$"))
    assert "Samverkan: 3,5" in page.locator("main").inner_text()
    # English: the same pages name the dimensions in English
    page.goto(f"{url}/lang/en?next=/r/programmes/{world.programme}/maturity/new")
    assert page.locator("#score_2-hint").inner_text() == "Kultur · A number from 1 to 5."
    _shoot(page, "form-en")
    page.goto(f"{base}/instrument")
    assert page.locator("legend").first.inner_text() == "Digital capability"
    assert "Scale 0–100, fixed: it has been assessed." in page.locator("main").inner_text()
    _shoot(page, "page-en")
    # the overview's maturity chart names the dimensions (each bar on its own scale)
    catch_up(world.app)
    page.goto(f"{base}/overview")
    chart = page.locator("#ov-maturity-chart")
    assert {"Digital capability", "Collaboration (1–5)"} <= set(
        chart.locator("text.ov-label").all_text_contents())
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("section:has(#ov-maturity)").screenshot(
        path=str(SHOTS / "instrument-overview-chart-en-1280.png"))
