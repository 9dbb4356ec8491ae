"""E-mail in a real browser (Debian's Chromium through Playwright) against a real SMTP
server (aiosmtpd): a researcher ticks participants and sends invitations, sees a refused
one fail with its reason and sends it again; a participant asks for a new link. The pages
are screenshotted at 360 and 1280 px, in Swedish and English (test-output/screenshots)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
from web_support import PASSWORD, make_world  # noqa: E402

from api import mail  # noqa: E402
from domain.context import acting_as  # noqa: E402
from tests.integration.mail_support import SmtpServer  # noqa: E402

pytestmark = pytest.mark.browser
WIDTHS = (360, 1280)


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def site(sqlite_app, live_server_factory, smtp):
    world = make_world(sqlite_app, SMTP_URL=smtp.url, MAIL_FROM="noreply@testby.se")
    with acting_as("researcher:test"):
        for i, name in enumerate(("Ali Andersson", "Bea Berg", "Cem Carlsson")):
            sqlite_app.enrol_participant(world.programme, name=name,
                                         email=f"p{i}@example.org", role="expert", unit="it")
    with live_server_factory(world.flask) as server:
        yield world, server.url


def _shots(tab, screenshot, name: str) -> None:
    for width in WIDTHS:
        tab.set_viewport_size({"width": width, "height": 900 if width > 400 else 740})
        screenshot(tab, f"{name}-{width}")
        wide = tab.evaluate("document.documentElement.scrollWidth")
        assert wide <= width + 1, f"{name} scrolls sideways at {width}px"


def test_researcher_invites_sees_a_failure_and_retries(site, smtp, page, screenshot) -> None:
    world, url = site
    page.goto(f"{url}/login")
    page.get_by_label("Användarnamn").fill("forskare")
    page.get_by_label("Lösenord").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Logga in").click()
    page.goto(f"{url}/r/programmes/{world.programme}")
    page.get_by_label("Bjud in Eva Exempel").check()  # 1
    smtp.handler.refuse = "451 4.3.0 Mailbox busy, try later"
    page.get_by_role("button", name="Bjud in de markerade").click()  # 2
    page.wait_for_url(re.compile(r"/mail$"))
    mail.background(world.flask).wait()
    page.reload()
    assert "451 4.3.0 Mailbox busy" in page.inner_text("main")
    _shots(page, screenshot, "outbox-failed-sv")
    smtp.handler.refuse = None
    with page.expect_navigation():  # the post is answered before the next step
        page.get_by_role("button", name=re.compile("Försök igen nu")).click()
    mail.background(world.flask).wait()
    page.goto(f"{url}/r/programmes/{world.programme}")
    with page.expect_navigation():  # reloading before the answer came would race it
        page.get_by_role("button", name="Bjud in alla som inte är inbjudna").click()  # 3
    mail.background(world.flask).wait()
    page.reload()
    assert len(smtp.messages) == 4  # Eva once, and the three others (Kim has no address)
    assert "skickat" in page.inner_text("main")
    _shots(page, screenshot, "outbox-sent-sv")
    page.goto(f"{url}/r/programmes/{world.programme}")
    _shots(page, screenshot, "programme-invitations-sv")
    page.goto(f"{url}/lang/en?next=/r/programmes/{world.programme}/mail")
    _shots(page, screenshot, "outbox-en")
    page.goto(f"{url}/r/programmes/{world.programme}")
    _shots(page, screenshot, "programme-invitations-en")


def test_participant_asks_for_a_new_link(site, smtp, page, screenshot) -> None:
    world, url = site
    page.goto(f"{url}/in/fdl_no-such-link")
    page.get_by_role("link", name="Få en ny inloggningslänk via e-post").click()
    _shots(page, screenshot, "link-request-sv")
    page.get_by_label("E-postadress").fill("p1@example.org")
    with page.expect_navigation():
        page.get_by_role("button", name="Skicka en ny inloggningslänk till mig").click()
    assert "Kolla din e-post" in page.inner_text("main")
    _shots(page, screenshot, "link-request-sent-sv")
    mail.background(world.flask).wait()
    [message] = smtp.to("p1@example.org")
    link = re.search(r"(http://127\.0\.0\.1:\d+/in/fdl_[A-Za-z0-9_-]+)",
                     message.get_body(("plain",)).get_content())
    assert link
    page.goto(link.group(1))
    assert page.url.endswith("/p/")
    page.goto(f"{url}/lang/en?next=/link")
    page.context.clear_cookies()
    page.goto(f"{url}/lang/en?next=/link")
    _shots(page, screenshot, "link-request-en")
