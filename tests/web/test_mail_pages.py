"""E-mail on the researchers' pages and the public new-link page (issue 13, items 2 and 3),
against a real SMTP server (aiosmtpd): invitations arrive with a working link, reminders
reach exactly those who have not logged this week, failures are visible and retried, and
the new-link page answers the same for known and unknown addresses and is limited."""

from __future__ import annotations

import re
import statistics
import time
from datetime import datetime
from typing import Any

import pytest
from web_support import World, csrf, make_world

from api import mail
from domain import mail as outbox
from domain.context import acting_as
from tests.integration.mail_support import SmtpServer, body

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def smtp() -> Any:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def mailing(app, smtp) -> World:
    return make_world(app, SMTP_URL=smtp.url, MAIL_FROM="Framdrift <noreply@testby.se>",
                      BASE_URL="https://framdrift.testby.se")


def _settle(world: World) -> None:
    mail.background(world.flask).wait()


def _secret(message: Any) -> str:
    found = re.search(r"https://framdrift\.testby\.se/in/(fdl_[A-Za-z0-9_-]+)", body(message))
    assert found, body(message)
    return found.group(1)


def _invite(client: Any, world: World, **fields: Any) -> Any:
    path = f"/r/programmes/{world.programme}"
    token = csrf(client, path)
    request_id = fields.pop("request_id", "req-invite-0001")
    return client.post(f"{path}/invitations", data={
        "csrf_token": token, "request_id": request_id, "language": "sv", **fields})


def test_invitations_from_the_participants_list_arrive_once_and_sign_in(mailing, smtp) -> None:
    """Why: issue 13 - the cohort gets its links by e-mail from one form; the link in the
    e-mail signs the participant in, and the same form sent twice sends nothing twice."""
    world = mailing
    researcher = world.client("researcher")
    page = researcher.get(f"/r/programmes/{world.programme}").get_data(as_text=True)
    assert f'action="/r/programmes/{world.programme}/invitations"' in page
    assert f'name="participant_id" value="{world.me}"' in page
    response = _invite(researcher, world, participant_id=[world.me])
    assert response.status_code == 302 and response.location.endswith("/mail")
    again = _invite(researcher, world, participant_id=[world.me])  # a double click
    assert again.status_code == 302
    _settle(world)
    [message] = smtp.messages
    assert "eva@example.org" in str(message["To"]) and message["Content-Language"] == "sv"
    assert message["Subject"].startswith("Din personliga inloggningslänk")
    visitor = world.flask.test_client()
    signed_in = visitor.get(f"/in/{_secret(message)}")
    assert signed_in.status_code == 302 and signed_in.location.endswith("/p/")
    assert visitor.get("/p/").status_code == 200
    outbox_page = researcher.get(f"/r/programmes/{world.programme}/mail").get_data(
        as_text=True)
    assert "Eva Exempel" in outbox_page and "skickat" in outbox_page
    programme_page = researcher.get(f"/r/programmes/{world.programme}").get_data(as_text=True)
    assert "skickat" in programme_page  # the invitation's state beside the name


def test_invite_all_not_yet_invited(mailing, smtp) -> None:
    """Why: after enrolling a cohort, one button invites everyone who has not been."""
    world = mailing
    with acting_as("researcher:test"):
        ids = [str(world.app.enrol_participant(
            world.programme, name=f"Deltagare {i}", email=f"d{i}@example.org",
            role="expert", unit="it")) for i in range(3)]
    researcher = world.client("researcher")
    _invite(researcher, world, participant_id=[ids[0]], request_id="req-first-00001")
    _settle(world)
    assert len(smtp.messages) == 1
    _invite(researcher, world, all_uninvited="1", request_id="req-all-000001")
    _settle(world)
    addresses = sorted(str(m["To"]) for m in smtp.messages)
    assert len(addresses) == 4  # d0 once, d1, d2 and Eva (Kim has no address)
    assert sum("d0@example.org" in a for a in addresses) == 1
    assert any("eva@example.org" in a for a in addresses)


def test_a_bad_invitation_form_is_refused_without_mail(mailing, smtp) -> None:
    """Why: participants of another programme or nothing ticked must not send anything."""
    world = mailing
    researcher = world.client("researcher")
    response = _invite(researcher, world, participant_id=[world.stranger])
    assert response.status_code == 302 and response.location.endswith(world.programme)
    assert _invite(researcher, world).status_code == 302  # nothing ticked
    _settle(world)
    assert smtp.messages == [] and outbox.outbox(world.app) == []


def test_without_smtp_the_pages_say_so_and_show_the_links(sqlite_app) -> None:
    """Why: a server without e-mail keeps working as before: the links are shown."""
    world = make_world(sqlite_app, SMTP_URL="", MAIL_FROM="")
    researcher = world.client("researcher")
    page = researcher.get(f"/r/programmes/{world.programme}/mail").get_data(as_text=True)
    assert "E-post är inte inställd" in page
    response = _invite(researcher, world, participant_id=[world.me, world.colleague])
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    secrets = re.findall(r'value="https?://[^"]+/in/(fdl_[^"]+)"', html)
    assert len(secrets) == 2
    assert world.flask.test_client().get(f"/in/{secrets[0]}").status_code == 302
    assert outbox.outbox(world.app) == []
    public = world.flask.test_client().get("/link").get_data(as_text=True)
    assert "Be forskarna om en ny länk" in public and 'name="email"' not in public


def test_a_reminder_reaches_exactly_those_who_have_not_logged_this_week(mailing, smtp) -> None:
    """Why: the overview knows who has not logged this week; the reminder goes to exactly
    them (with an address), once per form sent."""
    world = mailing
    app = world.app
    with acting_as("researcher:test"):
        quiet = str(app.enrol_participant(world.programme, name="Tyst Deltagare",
                                          email="tyst@example.org", role="expert", unit="it"))
        busy = str(app.enrol_participant(world.programme, name="Flitig Deltagare",
                                         email="flitig@example.org", role="expert", unit="it"))
        early = str(app.enrol_participant(world.programme, name="Tidig Deltagare",
                                          email="tidig@example.org", role="expert", unit="it"))
    app.log_reflection(busy, week=3, example="Den här veckan")
    app.log_reflection(early, week=2, example="Förra veckan")
    researcher = world.client("researcher")
    path = f"/r/programmes/{world.programme}/mail"
    page = researcher.get(path).get_data(as_text=True)
    assert "Tyst Deltagare" in page and "Tidig Deltagare" in page
    token = csrf(researcher, path)
    form = {"csrf_token": token, "request_id": "req-remind-0001", "language": "en"}
    assert researcher.post(f"/r/programmes/{world.programme}/reminders",
                           data=form).status_code == 302
    assert researcher.post(f"/r/programmes/{world.programme}/reminders",
                           data=form).status_code == 302  # sent twice: once
    _settle(world)
    to = sorted(re.search(r"<(.+)>", str(m["To"])).group(1) for m in smtp.messages)
    assert to == ["tidig@example.org", "tyst@example.org"]
    assert all(m["Subject"].startswith("Reminder") for m in smtp.messages)
    assert "week 3" in body(smtp.messages[0])
    visitor = world.flask.test_client()
    assert visitor.get(f"/in/{_secret(smtp.messages[0])}").status_code == 302
    assert quiet in {m.participant_id for m in outbox.outbox(app, world.programme)}


def test_the_weekly_schedule_sends_once_a_week(mailing, smtp) -> None:
    """Why: a researcher sets the reminder once; the sender honours it once per week,
    however many passes (or workers) run."""
    world = mailing
    app = world.app
    researcher = world.client("researcher")
    path = f"/r/programmes/{world.programme}/mail"
    token = csrf(researcher, path)
    bad = researcher.post(f"{path.rsplit('/', 1)[0]}/reminders/schedule", data={
        "csrf_token": token, "request_id": "req-sched-0001", "weekday": "9", "hour": "8"})
    assert bad.status_code == 422 and 'id="weekday"' in bad.get_data(as_text=True)
    local = datetime.now(mail.ZoneInfo("Europe/Stockholm"))
    response = researcher.post(f"{path.rsplit('/', 1)[0]}/reminders/schedule", data={
        "csrf_token": token, "request_id": "req-sched-0002",
        "weekday": str(local.weekday()), "hour": "0"})
    assert response.status_code == 302
    assert outbox.get_schedule(app, world.programme).weekday == local.weekday()
    settings = mail.app_settings(world.flask)
    with acting_as("researcher:test"):
        kim_mail = str(app.enrol_participant(world.programme, name="Kim Två",
                                             email="kim2@example.org", role="expert",
                                             unit="it"))
    first = mail.send_pass(app, settings, base_url="https://framdrift.testby.se")
    second = mail.send_pass(app, settings, base_url="https://framdrift.testby.se")
    assert (first.scheduled, first.sent) == (1, 1)  # Eva logged this week, Kim has none
    assert (second.scheduled, second.sent) == (0, 0)
    assert [m.participant_id for m in outbox.outbox(app, world.programme)] == [kim_mail]
    [message] = smtp.messages
    assert message["Subject"].startswith("Påminnelse")  # the language the form was in


def test_a_refusing_server_shows_the_failure_and_retry_now_delivers_once(mailing, smtp) -> None:
    """Why: the researcher must see that an invitation did not go out and why, and can send
    it again when the server works; the participant gets exactly one e-mail."""
    world = mailing
    smtp.handler.refuse = "550 5.7.1 Relaying denied"
    researcher = world.client("researcher")
    _invite(researcher, world, participant_id=[world.me])
    _settle(world)
    path = f"/r/programmes/{world.programme}/mail"
    page = researcher.get(path).get_data(as_text=True)
    assert "misslyckades" in page
    assert "servern tog inte emot mottagaren: 550 5.7.1 Relaying denied" in page
    retry = re.search(r'action="(/r/programmes/[^"]+/retry)"', page)
    assert retry, page
    smtp.handler.refuse = None
    token = csrf(researcher, path)
    response = researcher.post(retry.group(1), data={"csrf_token": token,
                                                     "request_id": "req-retry-0001"})
    assert response.status_code == 302
    _settle(world)
    assert len(smtp.messages) == 1
    assert "skickat" in researcher.get(path).get_data(as_text=True)
    assert outbox.outbox(world.app)[0].attempts == 2


def test_an_invitation_whose_link_was_revoked_is_shown_cancelled_with_why(mailing,
                                                                          smtp) -> None:
    """Why: a dead link is never mailed; the researcher sees that the invitation was
    cancelled, why, and what to do, in the page's language."""
    from datetime import timedelta

    from domain.accounts import revoke_links
    from domain.context import now

    world = mailing
    smtp.handler.refuse = "451 4.3.0 Try again later"
    researcher = world.client("researcher")
    _invite(researcher, world, participant_id=[world.me])
    _settle(world)
    revoke_links(world.app, world.me, "revoked by a researcher")
    smtp.handler.refuse = None
    settings = mail.smtp_settings(smtp.url, "Framdrift <noreply@testby.se>")
    assert mail.send_pass(world.app, settings, at=now() + timedelta(hours=1)).cancelled == 1
    assert smtp.messages == []
    page = researcher.get(f"/r/programmes/{world.programme}/mail").get_data(as_text=True)
    assert "länken hade gått ut eller dragits tillbaka innan brevet skickades: bjud in igen" \
        in page, page
    assert "avbrutet: 1" in page  # counted beside queued, failed and sent


def test_a_failed_message_is_listed_before_newer_ones(mailing, smtp) -> None:
    """Why: a week of reminders buries an invitation that failed; what needs the
    researcher's "retry now" comes first, the rest newest first."""
    world = mailing
    with acting_as("researcher:test"):
        ola = str(world.app.enrol_participant(world.programme, name="Ola Olsson",
                                              email="ola@example.org", role="expert",
                                              unit="social"))
    researcher = world.client("researcher")
    smtp.handler.refuse = "550 5.7.1 Relaying denied"
    _invite(researcher, world, participant_id=[world.me], request_id="req-invite-fail1")
    _settle(world)
    smtp.handler.refuse = None
    _invite(researcher, world, participant_id=[ola], request_id="req-invite-ok01")
    _settle(world)
    assert [m.state for m in outbox.outbox(world.app)] == ["sent", "failed"]  # newest first
    page = researcher.get(f"/r/programmes/{world.programme}/mail").get_data(as_text=True)
    rows = page[page.index("outbox-heading"):]
    assert rows.index(world.me) < rows.index(ola), rows
    assert "misslyckades</span>" in rows[:rows.index(ola)]


# ---------------------------------------------------------------- a new link on request


def _ask(client: Any, address: str) -> Any:
    token = csrf(client, "/link")
    started = time.perf_counter()
    response = client.post("/link", data={"csrf_token": token, "email": address})
    response.elapsed = time.perf_counter() - started
    return response


def _answer(response: Any) -> str:
    html = response.get_data(as_text=True)
    html = re.sub(r'name="csrf_token" value="[^"]*"', "", html)
    return re.sub(r'nonce="[^"]*"', "", html)


def test_a_new_link_on_request_same_answer_for_known_and_unknown(app, smtp) -> None:
    """Why: the page must not tell whether an address belongs to a participant (same page,
    same timing class), yet a participant who asks gets a working link by e-mail."""
    world = make_world(app, SMTP_URL=smtp.url, MAIL_FROM="noreply@testby.se",
                       BASE_URL="https://framdrift.testby.se",
                       LINK_REQUEST_RATE_LIMIT="1000 per minute")
    for page in ("/login", "/"):
        assert 'href="/link"' in world.flask.test_client().get(page).get_data(as_text=True)
    assert 'href="/link"' in world.flask.test_client().get("/in/fdl_nope").get_data(
        as_text=True)
    known, unknown = [], []
    for i in range(3):
        client = world.flask.test_client()
        known.append(_ask(client, "EVA@example.org" if i == 0 else f"eva{i}@example.org"))
        unknown.append(_ask(world.flask.test_client(), f"nobody{i}@example.org"))
    _settle(world)
    assert {r.status_code for r in known + unknown} == {200}
    assert len({_answer(r) for r in known + unknown}) == 1
    assert "Kolla din e-post" in _answer(known[0])
    # the timing class: the look-up runs after the answer, so both are equally quick
    fast_known = statistics.median(r.elapsed for r in known)
    fast_unknown = statistics.median(r.elapsed for r in unknown)
    assert abs(fast_known - fast_unknown) < 0.25, (fast_known, fast_unknown)
    [message] = smtp.messages
    assert "eva@example.org" in str(message["To"])
    assert message["Subject"] == "Din nya inloggningslänk till Framdrift"
    visitor = world.flask.test_client()
    assert visitor.get(f"/in/{_secret(message)}").location.endswith("/p/")
    bad = world.flask.test_client()
    token = csrf(bad, "/link")
    refused = bad.post("/link", data={"csrf_token": token, "email": "inte en adress"})
    assert refused.status_code == 422 and 'aria-invalid="true"' in refused.get_data(
        as_text=True)


def test_the_new_link_page_is_limited_per_client_and_per_address(sqlite_app, smtp) -> None:
    """Why: the page sends e-mail to whoever is named: it must not be a way to flood a
    participant or to probe many addresses."""
    world = make_world(sqlite_app, SMTP_URL=smtp.url, MAIL_FROM="noreply@testby.se",
                       LINK_REQUEST_RATE_LIMIT="4 per minute",
                       LINK_REQUEST_ADDRESS_LIMIT="2 per hour")
    per_address = []
    for i in range(3):  # from three client addresses: the address's own limit stops it
        client = world.flask.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.0.0.{i + 1}"
        per_address.append(_ask(client, "eva@example.org").status_code)
    assert per_address == [200, 200, 429]
    client = world.flask.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.0.1.1"
    codes = [_ask(client, f"x{i}@example.org").status_code for i in range(5)]
    assert codes[:4] == [200] * 4 and codes[4] == 429
    _settle(world)
    assert len(smtp.to("eva@example.org")) == 2


def test_after_erasure_no_new_link_is_sent(sqlite_app, smtp) -> None:
    """Why: an erased participant's address must not be found any more."""
    world = make_world(sqlite_app, SMTP_URL=smtp.url, MAIL_FROM="noreply@testby.se")
    from api.privacy_commands import erase_participant

    assert outbox.AddressIndex(world.app).find("eva@example.org") == [world.me]
    erase_participant(world.app, world.me)
    assert _ask(world.flask.test_client(), "eva@example.org").status_code == 200
    _settle(world)
    assert smtp.messages == []
    assert [m for m in outbox.outbox(world.app) if m.kind == "new_link"] == []


def test_a_new_link_by_e_mail_from_the_participants_page(mailing, smtp) -> None:
    """Why: a researcher who hears that a link is lost sends a new one from the
    participant's page in one click, instead of copying it into an e-mail."""
    world = mailing
    researcher = world.client("researcher")
    path = f"/r/programmes/{world.programme}/participants/{world.me}"
    page = researcher.get(path).get_data(as_text=True)
    assert "Skicka en ny inloggningslänk via e-post" in page
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.split(
        f'action="/r/programmes/{world.programme}/invitations"')[1].split("</form>")[0]))
    assert fields["participant_id"] == world.me
    assert researcher.post(f"/r/programmes/{world.programme}/invitations",
                           data=fields).status_code == 302
    _settle(world)
    [message] = smtp.to("eva@example.org")
    assert world.flask.test_client().get(f"/in/{_secret(message)}").status_code == 302
    colleague = researcher.get(f"/r/programmes/{world.programme}/participants/"
                               f"{world.colleague}").get_data(as_text=True)
    assert "via e-post" not in colleague  # no address: no button
