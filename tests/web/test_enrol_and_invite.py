"""Enrolling a cohort and inviting it in one post (issue #13: a researcher enrols a cohort
from a CSV and sends the invitations in at most 6 actions), against a real SMTP server
(aiosmtpd). Both stores (the ``app`` fixture)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from web_support import World, form_fields, make_world

from api import mail
from api.enrolment import sent_before
from domain import mail as outbox
from tests.integration.mail_support import SmtpServer, body

pytestmark = pytest.mark.timeout(180)

ROWS = ["Ada Ek;ada@exempel.se;chef;Socialförvaltningen",
        "Bo Lind;bo@exempel.se;expert;IT-avdelningen",
        "Cia Moe;cia@exempel.se;expert;Bostadsbolaget"]


@pytest.fixture
def smtp() -> Any:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def mailing(app, smtp) -> World:
    return make_world(app, SMTP_URL=smtp.url, MAIL_FROM="Framdrift <noreply@testby.se>",
                      BASE_URL="https://framdrift.testby.se")


def _page(world: World) -> str:
    return f"/r/programmes/{world.programme}/participants/import"


def _enrol(client: Any, world: World, fields: dict[str, str], **extra: str) -> Any:
    return client.post(_page(world), data={**fields, "csv": "\n".join(ROWS),
                                           "action": "enrol", "days": "30", **extra})


def _invitations(world: World) -> list[Any]:
    return [m for m in outbox.outbox(world.app, world.programme) if m.kind == "invitation"]


def test_enrol_with_invitations_sends_one_each_whose_link_signs_in(mailing, smtp) -> None:
    """Why: with e-mail set up the form offers "send the invitations" ticked by default, so
    enrolling is also inviting (one post); the links go by e-mail, not on the page; the same
    form sent again enrols nobody twice and sends nothing twice."""
    world = mailing
    client = world.client("researcher")
    form = client.get(_page(world)).get_data(as_text=True)
    assert re.search(r'<input type="checkbox" id="invite" name="invite" value="yes" checked', form)
    fields = form_fields(client, _page(world))
    response = _enrol(client, world, fields, invite="yes")
    cohort_page = f"{_page(world)}/{fields['request_id']}"
    assert response.status_code == 302 and response.location == cohort_page
    html = client.get(cohort_page).get_data(as_text=True)
    assert "3 deltagare inskrivna" in html and "3 inbjudningar väntar på att skickas." in html
    assert "/in/fdl_" not in html  # the links travel in the e-mails only
    assert f'href="/r/programmes/{world.programme}/mail"' in html
    assert html.count("Ada Ek") == 1 and "Eva Exempel" not in html  # this cohort only
    again = _enrol(client, world, fields, invite="yes")  # a double click or a retry
    assert again.status_code == 302 and again.location == cohort_page
    mail.background(world.flask).wait()
    ids = sent_before(world.app, fields["request_id"])
    assert len(ids) == 3 and len(_invitations(world)) == 3
    assert sorted(str(m["To"]).split("<")[1].rstrip(">") for m in smtp.messages) == [
        "ada@exempel.se", "bo@exempel.se", "cia@exempel.se"]
    secret = re.search(r"https://framdrift\.testby\.se/in/(fdl_[A-Za-z0-9_-]+)",
                       body(smtp.to("bo@exempel.se")[0]))
    assert secret
    visitor = world.flask.test_client()
    signed_in = visitor.get(f"/in/{secret.group(1)}")
    assert signed_in.status_code == 302 and signed_in.location.endswith("/p/")
    shown = client.get(cohort_page).get_data(as_text=True)  # reloaded: no form sent again
    assert shown.count('<span class="tag tag-done">skickat</span>') == 3
    assert len(smtp.messages) == 3


def test_the_cohort_page_shows_only_a_form_that_enrolled_in_this_programme(mailing) -> None:
    """Why: the page after enrolling is addressed by the form's request id; an unknown or
    malformed id, or another programme's, is a 404, not an empty page or a 500."""
    world = mailing
    client = world.client("researcher")
    fields = form_fields(client, _page(world))
    assert _enrol(client, world, fields, invite="yes").status_code == 302
    assert client.get(f"{_page(world)}/{fields['request_id']}").status_code == 200
    assert client.get(f"{_page(world)}/0123456789abcdef").status_code == 404
    assert client.get(f"{_page(world)}/bad_id!").status_code == 404
    other = f"/r/programmes/{world.other_programme}/participants/import"
    assert client.get(f"{other}/{fields['request_id']}").status_code == 404
    assert world.client("participant").get(
        f"{_page(world)}/{fields['request_id']}").status_code in (302, 403)


def test_a_resent_form_queues_the_invitations_a_first_try_did_not(mailing, smtp) -> None:
    """Why: enrolment is one transaction, the invitations are queued after it; if the first
    try stopped in between (here: enrolled, nothing queued), the same form sent again
    completes the invitations instead of answering "already sent" and leaving them out."""
    world = mailing
    client = world.client("researcher")
    fields = form_fields(client, _page(world))
    # the first try: the form without the box (as if it had stopped before queueing)
    first = _enrol(client, world, fields)
    assert first.status_code == 200 and not _invitations(world)
    assert "/in/fdl_" in first.get_data(as_text=True)
    retry = _enrol(client, world, fields, invite="yes")
    assert retry.status_code == 302
    mail.background(world.flask).wait()
    assert len(_invitations(world)) == 3 and len(smtp.messages) == 3
    _enrol(client, world, fields, invite="yes")
    mail.background(world.flask).wait()
    assert len(smtp.messages) == 3


def test_unticked_shows_the_links_and_a_button_to_invite_just_those(mailing, smtp) -> None:
    """Why: a researcher who unticks the box gets the links on the page, and one button that
    invites exactly the participants just enrolled (not the programme's others)."""
    world = mailing
    client = world.client("researcher")
    response = _enrol(client, world, form_fields(client, _page(world)))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.count("/in/fdl_") >= 3
    ids = re.findall(r'<input type="hidden" name="participant_id" value="([^"]+)">', html)
    assert len(ids) == 3 and world.me not in ids
    assert "Skicka de 3 inbjudningarna via e-post" in html
    token = re.search(r'id="invite-enrolled">\s*<input type="hidden" name="csrf_token" '
                      r'value="([^"]+)">\s*<input type="hidden" name="request_id" '
                      r'value="([^"]+)">', html)
    assert token
    sent = client.post(f"/r/programmes/{world.programme}/invitations", data={
        "csrf_token": token.group(1), "request_id": token.group(2), "language": "sv",
        "participant_id": ids})
    assert sent.status_code == 302
    mail.background(world.flask).wait()
    assert sorted(m.participant_id for m in _invitations(world)) == sorted(ids)
    assert "eva@example.org" not in " ".join(str(m["To"]) for m in smtp.messages)


def test_without_smtp_the_form_says_so_and_shows_the_links(world: World) -> None:
    """Why: without e-mail there is no box to tick (a posted one is ignored); the page says
    the links will be shown, and they are."""
    client = world.client("researcher")
    form = client.get(_page(world)).get_data(as_text=True)
    assert 'name="invite"' not in form
    assert "E-post är inte inställd på den här servern" in form
    response = _enrol(client, world, form_fields(client, _page(world)), invite="yes")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.count("/in/fdl_") >= 3
    assert not _invitations(world) and 'id="invite-enrolled"' not in html
