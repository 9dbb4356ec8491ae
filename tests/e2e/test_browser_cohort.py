"""Issue #13's acceptance in a real browser (Debian's Chromium through Playwright) against a
real SMTP server started here (aiosmtpd on 127.0.0.1, a free port).

1. A researcher enrols a cohort from a CSV file and sends the invitations in 6 actions:
   sign in (1: the "Logga in" button; typing the user name and password is not counted),
   open the programme (2), "Skriv in flera" (3), choose the file (4), "Förhandsgranska"
   (5), "Skriv in 12 deltagare" with "send the invitations by e-mail" ticked by default
   (6). The test counts every click and file choice as it goes and asserts the 6. Every
   participant then gets exactly one invitation, and its link signs them in. The same in
   English (the e-mails are in English), and unticked: the links on the page plus one
   button that e-mails just those participants.
2. A participant who lost the link asks for a new one from the sign-in page (3 actions:
   the link, the address, the button), receives it, and follows it.

Screenshots at 360 and 1280 px, Swedish and English: test-output/screenshots/cohort-*.png,
each page also checked with axe-core (0 serious or critical) and for sideways scrolling.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_accessibility import AXE, _check  # noqa: E402
from web_support import PASSWORD, make_world  # noqa: E402

from api import mail  # noqa: E402
from api.enrolment import enrolled_emails  # noqa: E402
from domain import mail as outbox  # noqa: E402
from domain.context import acting_as  # noqa: E402
from tests.integration.mail_support import SmtpServer, body  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
LINK = re.compile(r"(http://127\.0\.0\.1:\d+/in/fdl_[A-Za-z0-9_-]+)")
UNITS = ("Socialförvaltningen", "IT-avdelningen", "Bostadsbolaget")


def cohort(n: int, prefix: str) -> list[str]:
    return [f"{prefix} Deltagare {i:02d};{prefix.lower()}{i:02d}@exempel.se;"
            f"{'chef' if i % 3 == 0 else 'expert'};{UNITS[i % 3]}" for i in range(1, n + 1)]


@pytest.fixture
def smtp() -> Any:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def site(sqlite_app, live_server_factory, smtp):
    world = make_world(sqlite_app, SMTP_URL=smtp.url, MAIL_FROM="Framdrift <noreply@testby.se>")
    with live_server_factory(world.flask) as server:
        world.flask.config["BASE_URL"] = server.url
        yield world, server.url


@pytest.fixture
def tab(browser) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE",
                                  bypass_csp=True)  # axe-core is injected as a script
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def shots(page: Any, name: str) -> list[str]:
    """cohort-<name>-<width>.png at both widths; the accessibility problems found."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    for width in (360, 1280):
        page.set_viewport_size({"width": width, "height": 900 if width > 400 else 740})
        page.screenshot(path=str(SCREENSHOTS / f"cohort-{name}-{width}.png"), full_page=True)
        if AXE.exists():
            problems += _check(page, AXE, name, width)
        else:
            wide = page.evaluate("document.documentElement.scrollWidth")
            if wide > width + 1:
                problems.append(f"{name} @{width}px: {wide}px wide (scrolls sideways)")
    page.set_viewport_size({"width": 1280, "height": 900})
    return problems


def counted() -> tuple[Callable[[Any], Any], list[int]]:
    clicks = [0]

    def act(result: Any = None) -> Any:
        clicks[0] += 1
        return result

    return act, clicks


def invitations(world: Any) -> dict[str, int]:
    found: dict[str, int] = {}
    for m in outbox.outbox(world.app, world.programme):
        if m.kind == "invitation":
            found[m.participant_id] = found.get(m.participant_id, 0) + 1
    return found


def test_researcher_enrols_a_cohort_and_sends_the_invitations_in_six_actions(
        site, smtp, tab, browser, tmp_path) -> None:
    world, url = site
    page = tab
    problems: list[str] = []
    csv_file = tmp_path / "kohort.csv"  # as Excel in Swedish saves "CSV UTF-8"
    csv_file.write_bytes(("\ufeffNamn;E-post;Roll;Enhet\r\n" + "\r\n".join(cohort(12, "A"))
                          + "\r\n").encode())
    act, clicks = counted()

    page.goto(f"{url}/login")
    page.get_by_label("Användarnamn").fill("forskare")
    page.get_by_label("Lösenord").fill(PASSWORD)
    act(page.get_by_role("button", name="Logga in").click())                      # 1
    page.wait_for_url(re.compile(r"/r/$"))
    act(page.get_by_role("link", name="Digitalisering 2026").first.click())       # 2
    page.wait_for_url(re.compile(rf"/r/programmes/{world.programme}$"))
    act(page.get_by_role("link", name="Skriv in flera").click())                  # 3
    invite_box = page.get_by_label("Skicka inbjudningarna via e-post vid inskrivningen")
    expect(invite_box).to_be_checked()  # e-mail is set up: ticked by default
    problems += shots(page, "form-sv")
    act(page.get_by_label("Eller ladda upp en CSV-fil").set_input_files(str(csv_file)))  # 4
    act(page.get_by_role("button", name="Förhandsgranska").click())               # 5
    expect(page.locator("table.preview tbody tr")).to_have_count(12)
    expect(invite_box).to_be_checked()  # still, after the preview
    problems += shots(page, "preview-sv")
    act(page.get_by_role("button", name="Skriv in 12 deltagare").click())         # 6
    page.wait_for_url(re.compile(r"/participants/import/[0-9a-f]{32}$"))  # a page to reload
    expect(page.locator("h1")).to_have_text("12 deltagare inskrivna")
    expect(page.locator("p.flash").nth(1)).to_have_text(
        "12 inbjudningar väntar på att skickas.")
    assert clicks[0] == 6, f"{clicks[0]} actions to enrol and invite a cohort"
    assert "/in/fdl_" not in page.content()  # the links are in the e-mails only

    # the after-request pass sends them: every participant exactly one invitation
    mail.background(world.flask).wait()
    assert len(invitations(world)) == 12 and set(invitations(world).values()) == {1}
    expected = {f"a{i:02d}@exempel.se" for i in range(1, 13)}
    received = [str(m["To"]) for m in smtp.messages]
    assert len(received) == 12
    assert {re.search(r"<(.+)>", to).group(1) for to in received} == expected
    assert all(m["Content-Language"] == "sv" for m in smtp.messages)
    page.reload()  # a GET: sends nothing again
    expect(page.locator("span.tag-done")).to_have_count(12)  # "skickat" beside each
    expect(page.locator("main")).not_to_contain_text("redan skickad")
    problems += shots(page, "enrolled-invited-sv")

    # one invitation's link signs its participant in (in a browser of their own)
    [message] = smtp.to("a05@exempel.se")
    link = LINK.search(body(message))
    assert link
    participant = browser.new_context(viewport={"width": 1280, "height": 900},
                                      locale="sv-SE")
    try:
        theirs = participant.new_page()
        theirs.goto(link.group(1))
        theirs.wait_for_url(re.compile(r"/p/$"))
        assert "A Deltagare 05" in theirs.locator("body").inner_text()
    finally:
        participant.close()

    # the same in English, a smaller list pasted: the invitations go out in English
    page.goto(f"{url}/lang/en?next=/r/programmes/{world.programme}/participants/import")
    expect(page.get_by_label("Send the invitations by e-mail when enrolling")).to_be_checked()
    problems += shots(page, "form-en")
    page.get_by_label("The list").fill("\n".join(cohort(4, "B")))
    page.get_by_role("button", name="Preview").click()
    problems += shots(page, "preview-en")
    page.get_by_role("button", name="Enrol 4 participants").click()
    expect(page.locator("h1")).to_have_text("4 participants enrolled")
    mail.background(world.flask).wait()
    page.reload()
    expect(page.locator("span.tag-done")).to_have_count(4)
    problems += shots(page, "enrolled-invited-en")
    english = [m for m in smtp.messages if str(m["To"]).find("@exempel.se") > 0
               and re.search(r"<b\d\d@", str(m["To"]))]
    assert len(english) == 4 and all(m["Content-Language"] == "en" for m in english)
    assert len(enrolled_emails(world.app, world.programme)) == 1 + 12 + 4
    page.goto(f"{url}/r/programmes/{world.programme}/mail")
    problems += shots(page, "outbox-en")
    assert len(smtp.messages) == 16  # nothing twice

    # unticked: the links on the page, and one button that e-mails just these two
    page.goto(f"{url}/r/programmes/{world.programme}/participants/import")
    page.get_by_label("The list").fill("\n".join(cohort(2, "C")))
    page.get_by_label("Send the invitations by e-mail when enrolling").uncheck()
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("button", name="Enrol 2 participants").click()
    expect(page.locator("#all-links")).to_contain_text("/in/fdl_")
    problems += shots(page, "enrolled-links-en")
    page.get_by_role("button", name="Send the 2 invitations by e-mail").click()
    mail.background(world.flask).wait()
    assert len(smtp.messages) == 18
    assert sorted(re.search(r"<(.+)>", str(m["To"])).group(1) for m in smtp.messages[16:]) \
        == ["c01@exempel.se", "c02@exempel.se"]
    assert not problems, "serious or critical accessibility problems:\n" + "\n".join(problems)


def test_participant_who_lost_the_link_gets_a_new_one_from_the_sign_in_page(
        site, smtp, tab) -> None:
    world, url = site
    page = tab
    with acting_as("researcher:test"):
        world.app.enrol_participant(world.programme, name="Dana Dahl",
                                    email="dana@exempel.se", role="expert", unit="it")
    problems: list[str] = []
    act, clicks = counted()
    page.goto(f"{url}/login")
    act(page.get_by_role("link", name="Tappat bort din inloggningslänk? Få en ny via e-post.")
        .click())                                                                 # 1
    page.wait_for_url(re.compile(r"/link$"))
    problems += shots(page, "link-request-sv")
    act(page.get_by_label("E-postadress").fill("Dana@Exempel.se"))                # 2
    act(page.get_by_role("button", name="Skicka en ny inloggningslänk till mig").click())  # 3
    expect(page.locator("main")).to_contain_text("Kolla din e-post")
    problems += shots(page, "link-request-sent-sv")
    assert clicks[0] == 3
    mail.background(world.flask).wait()
    [message] = smtp.messages
    assert "dana@exempel.se" in str(message["To"])
    assert message["Subject"] == "Din nya inloggningslänk till Framdrift"
    link = LINK.search(body(message))
    assert link
    page.goto(link.group(1))
    page.wait_for_url(re.compile(r"/p/$"))
    assert "Dana Dahl" in page.locator("body").inner_text()
    page.context.clear_cookies()
    page.goto(f"{url}/lang/en?next=/login")
    page.get_by_role("link", name="Lost your link? Get a new one by e-mail.").click()
    problems += shots(page, "link-request-en")
    page.get_by_label("E-mail address").fill("nobody@exempel.se")  # unknown: same answer
    page.get_by_role("button", name="Send me a new link").click()
    expect(page.locator("main")).to_contain_text("Check your e-mail")
    problems += shots(page, "link-request-sent-en")
    mail.background(world.flask).wait()
    assert len(smtp.messages) == 1  # nothing to an unknown address
    assert not problems, "serious or critical accessibility problems:\n" + "\n".join(problems)
