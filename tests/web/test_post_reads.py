"""What a participant's form post asks the store before its write (issue 14, ADR 0024).

The numbers are pinned: a change that makes a post read again (a second look-up of the
participant, an idempotency check before the write, a session check of its own) fails
here, on both stores. Counted with domain/storecalls.py (reads: the store calls that
read; round trips: PostgreSQL's ReadyForQuery messages, SQLite's statements; psycopg's
own prepares apart, as they depend on the pooled connection)."""

from __future__ import annotations

import uuid

import pytest
from web_support import World, form_fields

from domain.storecalls import counting

# the write: PostgreSQL (BEGIN, lock, head, insert) then (links, COMMIT), pipelined;
# SQLite BEGIN, the insert, the head, the links, COMMIT
WRITE_TRIPS = {"postgres": 2, "sqlite": 5}


def _post(client, fields, request_id, text="Vi provade digitala protokoll."):
    return client.post("/p/reflections/new", data={
        "csrf_token": fields["csrf_token"], "request_id": request_id, "week": "3",
        "material_id": "", "example": text, "deficiency": "", "solutions": "",
        "visibility": "researchers"})


def _warm(world: World):
    """A signed-in participant who has posted once (this process has them, their
    programme and link cached, as every post but a worker's first finds them)."""
    client = world.client("participant")
    fields = form_fields(client, "/p/reflections/new")
    assert _post(client, fields, uuid.uuid4().hex).status_code == 302
    return client, fields


def test_a_post_reads_the_store_once_before_its_write(world: World) -> None:
    """Link, session-end marker, participant and programme in one query; no idempotency
    look-up before the write; nothing read twice by the guard and the command."""
    client, fields = _warm(world)
    for _ in range(2):
        with counting(world.app) as calls:
            response = _post(client, fields, uuid.uuid4().hex)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        assert calls.read_labels == ["events.select_newer"]
        assert calls.writes == 1
        assert calls.round_trips == 1 + WRITE_TRIPS[world.app.config.kind], str(calls)


def test_a_repeated_post_is_stored_once_and_answered_as_before(world: World) -> None:
    """The same idempotency key again (a double click, a resent form): the store refuses
    the second insert, one look-up finds the first, and the answer is the same redirect."""
    client, fields = _warm(world)
    key = uuid.uuid4().hex
    first = _post(client, fields, key, "Bara en gång.")
    before = world.app.max_position()
    with counting(world.app) as calls:
        again = _post(client, fields, key, "Bara en gång.")
    assert (first.status_code, again.status_code) == (302, 302)
    assert again.location == first.location
    assert world.app.max_position() == before  # nothing stored the second time
    assert calls.read_labels == ["events.select_newer", "events.select_events"]  # the look-up
    mine = [r for r in client.get("/p/").get_data(as_text=True).split("Bara en gång.")[1:]]
    assert len(mine) == 1
    from domain.model import record_id_for

    record = world.app.get_record(record_id_for("reflection", key))
    assert record["example"] == "Bara en gång." and record["version"] == 1


def test_a_repeat_the_checks_now_refuse_still_answers_as_before(world: World) -> None:
    """A resent form whose first attempt was stored, after the programme closed: the
    repeat is answered with the first attempt's success (as when the look-up came first),
    while a new post to the closed programme is refused on the form."""
    client, fields = _warm(world)
    key = uuid.uuid4().hex
    assert _post(client, fields, key).status_code == 302
    world.app.close_programme(world.programme)
    before = world.app.max_position()
    assert _post(client, fields, key).status_code == 302
    refused = _post(client, fields, uuid.uuid4().hex)
    assert refused.status_code == 422
    assert world.app.max_position() == before


@pytest.mark.parametrize("stale", [True, False])
def test_a_conflicting_post_re_renders_with_a_message(world: World, stale: bool) -> None:
    """A change made from an old page (another tab saved first) is explained on the form,
    with what was typed kept: 409, never 500; from the current page it is saved."""
    client, _ = _warm(world)
    path = f"/p/reflections/{world.ids['reflection']}/amend"
    fields = form_fields(client, path)
    if stale:
        world.app.amend_reflection(world.ids["reflection"], example="Ändrad i en annan flik")
    response = client.post(path, data={**fields, "example": "Min nya text",
                                       "deficiency": "", "solutions": ""})
    if stale:
        assert response.status_code == 409
        html = response.get_data(as_text=True)
        assert "Min nya text" in html
        assert "class=\"error" in html or "role=\"alert\"" in html
    else:
        assert response.status_code == 302
        assert world.app.get_record(world.ids["reflection"])["example"] == "Min nya text"


def test_a_signed_out_session_is_refused_though_its_link_is_cached(world: World) -> None:
    """The one query also asks for the session's end marker: a sign-out elsewhere ends a
    cached participant's session at once (ADR 0006)."""
    client, fields = _warm(world)
    copied = client.get_cookie("session").value
    home_csrf = form_fields(client, "/p/")["csrf_token"]
    assert client.post("/logout", data={"csrf_token": home_csrf}).status_code == 302
    other = world.flask.test_client()
    other.set_cookie("session", copied)
    before = world.app.max_position()
    assert _post(other, fields, uuid.uuid4().hex).status_code == 401
    assert world.app.max_position() == before


def test_posts_never_followed_say_saved_once(world: World) -> None:
    """A client that posts again and again without following the redirect: one "saved"
    message waits in the session (not one per post), and the page shows it once."""
    client, fields = _warm(world)
    for _ in range(5):
        assert _post(client, fields, uuid.uuid4().hex).status_code == 302
    with client.session_transaction() as session:
        assert len(session["_flashes"]) == 1
    page = client.get("/p/").get_data(as_text=True)
    assert page.count("Din reflektion är sparad") + page.count("Your reflection is saved") == 1
    again = client.get("/p/").get_data(as_text=True)
    assert "Din reflektion är sparad" not in again and "Your reflection is saved" not in again
