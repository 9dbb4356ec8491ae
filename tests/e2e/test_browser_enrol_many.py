"""A researcher enrols a cohort from a CSV file in a real browser (issue #13, item 1), and
copies a personal link with the copy button (item 5).

Actions on the page, counted: open "Enrol several" from the programme (1), choose the file
(1), "Preview" (1), "Enrol 30 participants" (1) — 3 on the page itself, as the issue asks
(paste/upload 1, preview 1, enrol 1) — then one click per link to copy it. With rows that
have problems: one tick more ("leave out the rows with problems").
Screenshots at 360 and 1280 px, in Swedish and English (test-output/screenshots).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_accessibility import AXE, _check  # noqa: E402
from web_support import make_world, sign_in_researcher  # noqa: E402

from api import enrolment  # noqa: E402

pytestmark = pytest.mark.browser


def cohort(n: int, prefix: str) -> list[str]:
    units = ["Socialförvaltningen", "IT-avdelningen", "Bostadsbolaget"]
    return [f"{prefix} Deltagare {i:02d};{prefix.lower()}{i:02d}@exempel.se;"
            f"{'chef' if i % 3 == 0 else 'expert'};{units[i % 3]}" for i in range(1, n + 1)]


@pytest.fixture
def site(sqlite_app, live_server_factory):
    world = make_world(sqlite_app)
    with live_server_factory(world.flask) as server:
        yield world, server.url


def both_widths(tab, screenshot, name: str) -> list[str]:
    problems = []
    for width in (1280, 360):
        tab.set_viewport_size({"width": width, "height": 900 if width > 400 else 740})
        path = screenshot(tab, f"{name}-{width}")
        tab.screenshot(path=str(path).replace(".png", "-first-screen.png"))
        if AXE.exists():
            problems += _check(tab, AXE, name, width)
    tab.set_viewport_size({"width": 1280, "height": 900})
    return problems


def test_researcher_enrols_a_cohort_from_a_csv_file(site, browser, screenshot, tmp_path) -> None:
    world, url = site
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE",
                                  bypass_csp=True,  # axe-core is injected as a script
                                  permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    problems: list[str] = []
    try:
        sign_in_researcher(page, url)
        page.goto(f"{url}/r/programmes/{world.programme}")
        # as Excel in a Swedish locale saves "CSV UTF-8": BOM, semicolons, Swedish header
        csv_file = tmp_path / "kohort.csv"
        csv_file.write_bytes(("\ufeffNamn;E-post;Roll;Enhet\r\n" + "\r\n".join(
            cohort(30, "A")) + "\r\n").encode())

        page.get_by_role("link", name="Skriv in flera").click()                    # 1
        page.get_by_label("Eller ladda upp en CSV-fil").set_input_files(str(csv_file))  # 2
        page.get_by_role("button", name="Förhandsgranska").click()                  # 3
        expect(page.locator("table.preview tbody tr")).to_have_count(30)
        assert "30 kan skrivas in" in page.locator("main").inner_text()
        problems += both_widths(page, screenshot, "sv-preview")
        page.get_by_role("button", name="Skriv in 30 deltagare").click()            # 4
        expect(page.locator("h1")).to_have_text("30 deltagare inskrivna")
        expect(page.locator("p.flash")).to_have_text("30 deltagare inskrivna.")
        assert len(enrolment.enrolled_emails(world.app, world.programme)) == 31
        # copy the first link with its button: it lands on the clipboard, "Kopierad" shows
        first = page.locator("#link-1").input_value()
        assert re.fullmatch(re.escape(url) + r"/in/fdl_[A-Za-z0-9_-]{40,}", first)
        page.get_by_role("button", name=re.compile(r"^Kopiera\W+Inloggningslänk för "
                                                   r"A Deltagare 01$")).click()
        expect(page.locator("#link-1-status")).to_have_text("Kopierad")
        assert page.evaluate("navigator.clipboard.readText()") == first
        all_links = page.locator("#all-links").input_value().splitlines()
        assert len(all_links) == 30 and all_links[0].split("\t") == [
            "A Deltagare 01", "a01@exempel.se", first]
        problems += both_widths(page, screenshot, "sv-enrolled")

        # in English, a list with three bad rows: named with their reasons, nothing
        # enrolled until they are left out
        page.goto(f"{url}/lang/en?next=/r/programmes/{world.programme}/participants/import")
        rows = cohort(30, "B")
        rows[3] = "B Deltagare 04;not-an-address;expert;IT-avdelningen"
        rows[11] = "B Deltagare 12;b12@exempel.se;chef;Miljöförvaltningen"
        rows[20] = "B Deltagare 21;a01@exempel.se;expert;Bostadsbolaget"  # already enrolled
        page.get_by_label("The list").fill("\n".join(rows))                         # 1
        page.get_by_role("button", name="Preview").click()                          # 2
        expect(page.locator("tr.row-bad")).to_have_count(3)
        summary = page.locator(".errorsummary").inner_text()
        assert "Line 4: E-mail: Enter an e-mail address." in summary
        assert "Line 12: Unit: Unknown unit \"Miljöförvaltningen\"" in summary
        assert "Line 21: E-mail: Already enrolled in this programme" in summary
        problems += both_widths(page, screenshot, "en-preview-bad-rows")
        page.get_by_role("button", name="Enrol 27 participants").click()
        expect(page.locator("#leave_out-error")).to_be_visible()  # not yet: nothing enrolled
        assert len(enrolment.enrolled_emails(world.app, world.programme)) == 31
        page.get_by_label("Leave out the 3 rows with problems").check()            # 3
        page.get_by_role("button", name="Enrol 27 participants").click()           # 4
        expect(page.locator("h1")).to_have_text("27 participants enrolled")
        problems += both_widths(page, screenshot, "en-enrolled")
        assert len(enrolment.enrolled_emails(world.app, world.programme)) == 31 + 27
    finally:
        context.close()
    assert not [e for e in errors if "status of 422" not in e], errors  # 422: bad rows
    assert not problems, "serious or critical accessibility problems:\n" + "\n".join(problems)


def test_participant_marks_several_materials_at_once(site, browser, screenshot) -> None:
    """Two materials ticked and sent with one button (3 actions instead of 2 one-tap
    posts with a page load each); the one-tap buttons are still there."""
    world, url = site
    problems: list[str] = []
    for lang in ("en", "sv"):  # English first: its pictures show the boxes too
        context = browser.new_context(viewport={"width": 1280, "height": 900},
                                      locale="sv-SE", bypass_csp=True)
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            page.goto(f"{url}/in/{world.link}")
            page.goto(f"{url}/lang/{lang}?next=/p/materials")
            page.wait_for_url(re.compile(r"/p/materials$"))
            if lang == "sv":
                expect(page.locator("button[name=material_id]")).to_have_count(2)  # one-tap
                page.get_by_label("Tagit del av: Digitalisering i kommunen").check()
                page.get_by_label("Tagit del av: Styrning och regler").check()
                problems += both_widths(page, screenshot, "sv-materials-ticked")
                page.get_by_role("button", name="Spara de ikryssade som tagit del av").click()
                expect(page.locator("p.flash")).to_have_text(
                    "Noterat: du har tagit del av 2 material.")
                assert sorted(world.app.get_participant(world.me)["materials"]) == ["m1", "m2"]
                problems += both_widths(page, screenshot, "sv-materials-done")
            else:
                problems += both_widths(page, screenshot, "en-materials")
        finally:
            context.close()
    assert not problems, "\n".join(problems)
