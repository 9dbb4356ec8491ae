"""Consent and erasure on the web pages (issue 6).

A participant gives or withdraws consent to research use from their own page (explained,
the state shown); a researcher can do it on their behalf; a researcher erases a participant
after typing the pseudonym, and from then on the page shows an erased participant, the
sign-in links are revoked and the participant can neither sign in nor write.
"""

from __future__ import annotations

import pytest
from web_support import World, csrf, form_fields

from domain import errors as domain_errors
from domain.accounts import list_links
from domain.context import acting_as


def _types(world: World, after: int) -> list[str]:
    return [type(e).__qualname__ for _pos, e in world.app.read_log(after)]


def test_participant_withdraws_and_gives_consent_from_their_page(world: World) -> None:
    client = world.client("participant")
    html = client.get("/p/").get_data(as_text=True)
    assert "Samtycke till forskning:" in html and "<strong>givet</strong>" in html
    page = client.get("/p/consent").get_data(as_text=True)
    assert "Samtycke till användning i forskningen" in page
    assert "utvärderarnas svar och alla exporter" in page  # what it means, in Swedish
    assert "Inget raderas" in page and "Återkalla mitt samtycke" in page
    fields = form_fields(client, "/p/consent")
    before = world.app.max_position()
    response = client.post("/p/consent", data={**fields, "consent": "withdraw"})
    assert response.status_code == 302
    again = client.post("/p/consent", data={**fields, "consent": "withdraw"})  # resent form
    assert again.status_code == 302
    events = [e for _p, e in world.app.read_log(before)]
    assert [type(e).__qualname__ for e in events] == ["Participant.ConsentWithdrawn"]
    assert events[0].actor == f"participant:{world.me}"
    assert world.app.get_participant(world.me)["consent"] is False
    page = client.get(response.location).get_data(as_text=True)
    assert "Ditt val om användning i forskningen är registrerat." in page
    assert "inte lämnat" in page and "Lämna mitt samtycke" in page
    # in English
    client.get("/lang/en")
    page = client.get("/p/consent").get_data(as_text=True)
    assert "While your consent is withdrawn, your content is left out of the researchers'" \
        in page.replace("&#39;", "'")
    fields = form_fields(client, "/p/consent")
    assert client.post("/p/consent", data={**fields, "consent": "give"}).status_code == 302
    assert world.app.get_participant(world.me)["consent"] is True


def test_stale_consent_form_is_a_conflict_explained(world: World) -> None:
    client = world.client("participant")
    fields = form_fields(client, "/p/consent")
    with acting_as("researcher:test"):
        world.app.withdraw_consent(world.me)
    response = client.post("/p/consent", data={**fields, "consent": "withdraw"})
    assert response.status_code == 409
    assert "Någon annan ändrade anteckningen" in response.get_data(as_text=True)


def test_invalid_consent_choice_is_refused(world: World) -> None:
    client = world.client("participant")
    fields = form_fields(client, "/p/consent")
    before = world.app.max_position()
    response = client.post("/p/consent", data={**fields, "consent": "maybe"})
    assert response.status_code == 422
    assert "Välj ett av alternativen." in response.get_data(as_text=True)
    assert world.app.max_position() == before


def test_researcher_records_consent_on_behalf(world: World) -> None:
    client = world.client("researcher")
    page = f"/r/programmes/{world.programme}/participants/{world.me}"
    html = client.get(page).get_data(as_text=True)
    assert 'id="consent-state">givet' in html
    fields = form_fields(client, page)
    assert "expected_version" in fields
    before = world.app.max_position()
    response = client.post(f"{page}/consent", data={
        "csrf_token": fields["csrf_token"], "request_id": "consent-req-1",
        "expected_version": fields["expected_version"], "consent": "withdraw"})
    assert response.status_code == 302
    events = [e for _p, e in world.app.read_log(before)]
    assert [type(e).__qualname__ for e in events] == ["Participant.ConsentWithdrawn"]
    assert events[0].actor.startswith("researcher:")
    html = client.get(page).get_data(as_text=True)
    assert 'id="consent-state">inte givet' in html
    assert "Samtycket är registrerat som återkallat." in html


def test_erasure_needs_the_pseudonym_then_removes_everything_personal(world: World) -> None:
    researcher = world.client("researcher")
    participant = world.client("participant")  # a session from before the erasure
    person = world.app.get_participant(world.me)
    page = f"/r/programmes/{world.programme}/participants/{world.me}"
    assert "Radera deltagare" in researcher.get(page).get_data(as_text=True)
    form = researcher.get(f"{page}/erase").get_data(as_text=True)
    assert person["pseudonym"] in form and "Detta går inte att ångra." in form
    fields = form_fields(researcher, f"{page}/erase")
    before = world.app.max_position()
    wrong = researcher.post(f"{page}/erase", data={**fields, "pseudonym": "P-000000"})
    assert wrong.status_code == 422
    assert f"Skriv deltagarens pseudonym, {person['pseudonym']}" in wrong.get_data(as_text=True)
    assert world.app.max_position() == before
    done = researcher.post(f"{page}/erase",
                           data={**fields, "pseudonym": person["pseudonym"].lower()})
    assert done.status_code == 302
    types = _types(world, before)
    assert "Participant.Erased" in types and "SignInLink.Revoked" in types
    after = researcher.get(page).get_data(as_text=True)
    assert "<h1>Raderad deltagare</h1>" in after and 'id="erased-note"' in after
    assert "Eva Exempel" not in after and "eva@example.org" not in after
    assert "Skapa en ny länk" not in after and "Radera deltagare…" not in after
    listing = researcher.get(f"/r/programmes/{world.programme}").get_data(as_text=True)
    assert "Eva Exempel" not in listing and "Raderad deltagare" in listing
    assert world.app.get_participant(world.me)["erased"] is True
    assert all(not link.valid for link in list_links(world.app, world.me))
    # erasing again changes nothing
    mark = world.app.max_position()
    assert researcher.get(f"{page}/erase").status_code == 302
    assert world.app.max_position() == mark
    # the participant's session ends with an explanation; the link no longer signs in
    response = participant.get("/p/")
    assert response.status_code in (302, 403)
    fresh = world.flask.test_client()
    response = fresh.get(f"/in/{world.link}")
    assert response.status_code == 404
    # the domain refuses writes by an erased participant; the form says so
    with pytest.raises(domain_errors.ParticipantErasedError):
        world.app.log_reflection(world.me, week=1, example="efter raderingen")


def test_erased_participant_with_an_open_session_sees_a_clear_page(world: World) -> None:
    participant = world.client("participant")
    token = csrf(participant, "/p/reflections/new")
    fields = form_fields(participant, "/p/reflections/new")
    with acting_as("researcher:test"):
        world.app.erase_participant(world.me)  # erased by the CLI, links not yet revoked
    response = participant.post("/p/reflections/new", data={
        **fields, "csrf_token": token, "week": "1", "example": "för sent"})
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "Ditt deltagande har raderats" in html
    assert "inget nytt kan skrivas" in html
    assert participant.get("/p/").status_code == 302  # signed out
