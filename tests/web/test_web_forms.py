"""The web forms: validation, idempotency, conflicts, escaping, languages, security."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner
from web_support import FIRST_DAY, World, csrf, form_fields, make_world

from domain.accounts import issue_link, list_links, revoke_links
from domain.context import acting_as, clock
from domain.model import record_id_for


def _my_reflections(world: World) -> list[dict]:
    from api.web.common import records_of

    return [r for r in records_of(world.app, world.me) if r["kind"] == "reflection"]


def test_invalid_form_shows_messages_at_fields_and_keeps_text(world: World) -> None:
    client = world.client("participant")
    fields = form_fields(client, "/p/reflections/new")
    before = world.app.max_position()
    response = client.post("/p/reflections/new", data={
        **fields, "week": "0", "example": "   ", "deficiency": "Min brist <b>fet</b>",
        "solutions": "x" * 5001})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert world.app.max_position() == before
    assert 'id="week-error"' in html and "Ange ett tal från 1 till 60." in html
    assert 'id="example-error"' in html and "Fyll i det här fältet." in html
    assert 'id="solutions-error"' in html and "Högst 5000 tecken" in html
    assert "Min brist &lt;b&gt;fet&lt;/b&gt;</textarea>" in html  # kept, escaped
    assert 'aria-invalid="true"' in html


def test_domain_error_is_shown_at_its_field(world: World) -> None:
    client = world.client("participant")
    fields = form_fields(client, "/p/reflections/new")
    response = client.post("/p/reflections/new", data={**fields, "week": "9",
                                                       "example": "Exempel"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'id="week-error">Den veckan finns inte i utbildningsinsatsen', html)
    fields = form_fields(client, "/p/capabilities/new")
    response = client.post("/p/capabilities/new", data={
        **fields, "week": "3", "name": "N", "description": "D",
        "experiments": [world.ids["planned"]]})
    assert response.status_code == 422
    assert 'id="experiments-error"' in response.get_data(as_text=True)


def test_double_submit_records_one_reflection(world: World) -> None:
    client = world.client("participant")
    fields = form_fields(client, "/p/reflections/new")
    data = {**fields, "week": "2", "example": "Dubbelklick"}
    first = client.post("/p/reflections/new", data=data)
    second = client.post("/p/reflections/new", data=data)
    assert first.status_code == second.status_code == 302
    texts = [r["example"] for r in _my_reflections(world)]
    assert texts.count("Dubbelklick") == 1
    assert world.app._contains(record_id_for("reflection", fields["request_id"]))


def test_concurrent_change_is_explained_and_text_kept(world: World) -> None:
    client = world.client("participant")
    started = world.ids["started"]
    fields = form_fields(client, f"/p/records/{started}")
    with acting_as(f"participant:{world.me}"):
        world.app.record_observation(started, text="från en annan flik")
    before = world.app.max_position()
    response = client.post(f"/p/records/{started}/observe",
                           data={**fields, "text": "Min observation"})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Någon annan ändrade anteckningen" in html
    assert "Min observation</textarea>" in html
    assert world.app.max_position() == before


def test_my_log_shows_my_own_text_escaped_and_nobody_elses(sqlite_world: World) -> None:
    world = sqlite_world
    client = world.client("participant")
    fields = form_fields(client, "/p/reflections/new")
    response = client.post("/p/reflections/new", data={
        **fields, "week": "3", "example": "<script>alert('x')</script> på riktigt"})
    assert response.status_code == 302
    html = client.get(response.location).get_data(as_text=True)
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; på riktigt" in html
    assert "<script>alert" not in html
    assert "Min egen text" in html and "Kollegans text" not in html
    assert "Din reflektion är sparad." in html
    assert "Vecka 3 · Organisering" in html and "Vecka 1 · Digitalisering" in html


def test_swedish_by_default_english_on_request(sqlite_world: World) -> None:
    client = sqlite_world.client("participant")
    html = client.get("/p/").get_data(as_text=True)
    assert '<html lang="sv">' in html and "Min logg" in html
    month_sv = ["januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
                "september", "oktober", "november", "december"][FIRST_DAY.month - 1]
    assert f"{FIRST_DAY.day} {month_sv} {FIRST_DAY.year}" in html
    response = client.get("/lang/en?next=/p/")
    assert response.status_code == 302 and response.location.endswith("/p/")
    html = client.get("/p/").get_data(as_text=True)
    assert '<html lang="en">' in html and "My log" in html and "Week 1 · Digitalisation" in html
    assert client.get("/lang/en?next=https://evil.example/").location == "/"


def test_security_headers_and_cookies(sqlite_world: World) -> None:
    client = sqlite_world.flask.test_client()
    response = client.get(f"/in/{sqlite_world.link}")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    html = client.get("/p/")
    csp = html.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert html.headers["X-Content-Type-Options"] == "nosniff"
    assert html.headers["X-Frame-Options"] == "DENY"
    assert html.headers["Referrer-Policy"] == "no-referrer"
    assert html.headers["Cache-Control"] == "no-store"
    body = html.get_data(as_text=True)
    assert "<script>" not in body and " style=" not in body and "<style" not in body
    secure = sqlite_world.flask.test_client()
    response = secure.get(f"/in/{sqlite_world.link}", base_url="https://localhost")
    assert "Secure" in response.headers["Set-Cookie"]


def test_sessions_expire(sqlite_world: World) -> None:
    world = sqlite_world
    flask = make_world.__globals__["flask_app"](world.app, PERMANENT_SESSION_LIFETIME=
                                                 timedelta(seconds=1))
    client = flask.test_client()
    assert client.get(f"/in/{world.link}").status_code == 302
    assert client.get("/p/").status_code == 200
    time.sleep(2.1)
    assert client.get("/p/").status_code == 302


def test_an_unchanged_session_is_sent_again_at_most_once_per_refresh_interval(
        sqlite_world: World) -> None:
    """The cookie of a permanent session slides its expiry (Flask's
    SESSION_REFRESH_EACH_REQUEST), but is not signed and sent again on every response:
    only after SESSION_REFRESH_AFTER, or when the session changed (ADR 0030)."""
    world = sqlite_world
    flask = make_world.__globals__["flask_app"](
        world.app, PERMANENT_SESSION_LIFETIME=timedelta(seconds=2),
        SESSION_REFRESH_AFTER=timedelta(hours=1))
    client = flask.test_client()
    assert "session=" in client.get(f"/in/{world.link}").headers["Set-Cookie"]
    client.get("/p/")  # the first page may still change the session (flash, CSRF token)
    quiet = client.get("/p/")
    assert quiet.status_code == 200
    assert "session=" not in quiet.headers.get("Set-Cookie", "")
    assert "Cookie" in quiet.headers.get("Vary", "")
    # requests every 0.8 s keep a 2-second session alive well past 2 s: each one after
    # the refresh interval sends a newly signed cookie
    flask.config["SESSION_REFRESH_AFTER"] = timedelta(seconds=0.5)
    for _ in range(4):
        time.sleep(0.8)
        page = client.get("/p/")
        assert page.status_code == 200
        assert "session=" in page.headers.get("Set-Cookie", "")
    time.sleep(3.1)  # the signature's age is counted in whole seconds
    assert client.get("/p/").status_code == 302  # idle longer than the lifetime: ended


def test_sign_in_is_rate_limited(sqlite_world: World) -> None:
    client = sqlite_world.flask.test_client()
    token = csrf(client, "/login")
    statuses = [client.post("/login", data={"csrf_token": token, "username": "forskare",
                                            "password": "fel"}).status_code
                for _ in range(11)]
    assert statuses[:10] == [422] * 10 and statuses[10] == 429
    response = client.post("/login", data={"csrf_token": token, "username": "forskare",
                                           "password": "fel"})
    assert response.status_code == 429
    assert "För många inloggningsförsök" in response.get_data(as_text=True)
    flask = make_world.__globals__["flask_app"](sqlite_world.app,
                                                 SIGNIN_LINK_RATE_LIMIT="5 per minute")
    client = flask.test_client()
    links = [client.get("/in/fdl_wrong").status_code for _ in range(6)]
    assert links[:5] == [404] * 5 and links[5] == 429


def test_links_expire_and_can_be_revoked(sqlite_world: World) -> None:
    world = sqlite_world
    with clock(lambda: datetime.now(UTC) - timedelta(days=40)):
        old, _ = issue_link(world.app, role="participant", subject=world.me, days=30)
    client = world.flask.test_client()
    response = client.get(f"/in/{old}")
    assert response.status_code == 404 and "Länken fungerar inte" in response.get_data(
        as_text=True)
    client = world.client("participant")
    assert client.get("/p/").status_code == 200
    assert revoke_links(world.app, world.me) == 1
    assert client.get("/p/").status_code == 302  # the session ends with its link
    assert world.flask.test_client().get(f"/in/{world.link}").status_code == 404


def test_researcher_enrols_and_the_link_signs_in(world: World) -> None:
    client = world.client("researcher")
    path = f"/r/programmes/{world.programme}/participants/new"
    fields = form_fields(client, path)
    data = {**fields, "name": "Ny Deltagare", "email": "", "role": "manager", "unit": "it",
            "days": "7"}
    response = client.post(path, data=data)
    assert response.status_code == 200
    link = re.search(r'value="(http://localhost/in/fdl_[^"]+)"', response.get_data(
        as_text=True)).group(1)
    again = client.post(path, data=data)  # resubmitted: no second participant, no new link
    assert "fdl_" not in again.get_data(as_text=True)
    person = world.flask.test_client()
    assert person.get(link.removeprefix("http://localhost")).status_code == 302
    assert "Ny Deltagare" in person.get("/p/").get_data(as_text=True)


def test_a_participants_link_lasts_the_course_by_default(world: World) -> None:
    """The link forms start at the programme's course_link_days (two weeks past the last
    course day, at least 30): enrolling one, a list, and a new link on a person's page."""
    from domain.accounts import course_link_days

    client = world.client("researcher")
    days = course_link_days(world.app.get_programme(world.programme))
    assert days == 17 + 14  # week 3 now: the last course day is 17 days away
    r = f"/r/programmes/{world.programme}"
    for path in (f"{r}/participants/new", f"{r}/participants/import",
                 f"{r}/participants/{world.me}"):
        html = client.get(path).get_data(as_text=True)
        assert re.search(rf'name="days"[^>]*value="{days}"', html), path
    # a post without the field (a form cached from before it had one, a script) gets the
    # same length, not some other default
    token = csrf(client, f"{r}/participants/{world.me}")
    response = client.post(f"{r}/participants/{world.me}/link", data={
        "csrf_token": token, "request_id": "req-link-nodays"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert f"{days}" in response.get_data(as_text=True)
    newest = list_links(world.app, world.me)[-1]
    assert abs(newest.expires_at - newest.issued_on - timedelta(days=days)) < timedelta(
        seconds=5)


def test_synthetic_banner_only_for_synthetic_programmes(sqlite_world: World) -> None:
    world = sqlite_world
    client = world.client("researcher")
    assert "Syntetiska demodata" not in client.get(
        f"/r/programmes/{world.programme}").get_data(as_text=True)
    with acting_as("researcher:test"):
        pid = world.app.plan_programme(organisation="Exempelby", title="Demo",
                                       synthetic=True)
    assert "Syntetiska demodata" in client.get(f"/r/programmes/{pid}").get_data(as_text=True)


def test_cli_users_and_invites(sqlite_world: World, monkeypatch) -> None:
    from api.cli import cli

    world = sqlite_world
    monkeypatch.setenv("FRAMDRIFT_DATABASE_URL", world.app.config.url)
    runner = CliRunner()
    result = runner.invoke(cli, ["users", "create", "--username", "ny.forskare", "--name",
                                 "Ny Forskare", "--generate-password"])
    assert result.exit_code == 0, result.output
    password = result.output.strip().rsplit(": ", 1)[1]
    client = world.flask.test_client()
    token = csrf(client, "/login")
    assert client.post("/login", data={"csrf_token": token, "username": "ny.forskare",
                                       "password": password}).status_code == 302
    result = runner.invoke(cli, ["participants", "invite", "--programme", world.programme,
                                 "--name", "Ola Inbjuden", "--role", "expert", "--unit",
                                 "social", "--base-url", "https://framdrift.example"])
    assert result.exit_code == 0, result.output
    assert "sign-in link valid 31 days" in result.output  # the course's end + 14 (ADR 0033)
    link = result.stdout.strip().splitlines()[-1]
    assert link.startswith("https://framdrift.example/in/fdl_")
    person = world.flask.test_client()
    assert person.get(link.removeprefix("https://framdrift.example")).status_code == 302
    assert "Ola Inbjuden" in person.get("/p/").get_data(as_text=True)
    pid = re.search(r"participant (\S+) enrolled", result.output).group(1)
    again = runner.invoke(cli, ["participants", "link", pid, "--base-url", "https://x.example"])
    assert again.exit_code == 0, again.output
    newest = list_links(world.app, pid)[-1]
    assert abs(newest.expires_at - newest.issued_on - timedelta(days=31)) < timedelta(seconds=5)


def test_serve_prints_demo_links_idempotently(sqlite_app, capsys) -> None:
    from api.commands import _print_demo_links
    from domain.demo import load_demo

    load_demo(sqlite_app, participants=2)
    _print_demo_links(sqlite_app, "http://localhost:8000")
    first = capsys.readouterr().out
    _print_demo_links(sqlite_app, "http://localhost:8000")
    assert capsys.readouterr().out == first
    links = re.findall(r"http://localhost:8000/in/\S+", first)
    assert len(links) == 3 and "demo-forskare" in first and "demo evaluator" in first
    world_flask = make_world.__globals__["flask_app"](sqlite_app)
    for link, home in zip(links, ("/p/", "/r/", "/e/"), strict=True):
        client = world_flask.test_client()
        response = client.get(link.removeprefix("http://localhost:8000"))
        assert response.status_code == 302 and response.location == home
        assert "Syntetiska demodata" in client.get(home, follow_redirects=True).get_data(
            as_text=True) or home != "/p/"


def test_serve_issues_no_demo_link_for_an_erased_participant(sqlite_app, sqlite_url,
                                                             monkeypatch) -> None:
    """`framdrift serve` must not hand out a new sign-in link to an erased demo
    participant (erasure revoked theirs): it says so and prints the researcher's and the
    evaluator's only."""
    import pytest
    import werkzeug.serving

    from api.cli import cli
    from api.privacy_commands import erase_participant
    from domain.accounts import demo_link, list_links
    from domain.demo import load_demo
    from domain.errors import ParticipantErasedError
    from domain.model import record_id_for

    load_demo(sqlite_app, participants=2)
    monkeypatch.setattr(werkzeug.serving, "run_simple", lambda *args, **kwargs: None)

    def serve() -> str:
        result = CliRunner().invoke(cli, ["serve", "--dev", "--port", "0"], env={
            "FRAMDRIFT_DATABASE_URL": sqlite_url, "FRAMDRIFT_SECRET_KEY": "tests"})
        assert result.exit_code == 0, result.output
        return result.output

    assert serve().count("/in/fdl_") == 3
    person = str(record_id_for("participant", "demo:1:0:participant:0"))
    erase_participant(sqlite_app, person)
    out = serve()
    assert "has been erased: no sign-in link is issued" in out
    assert out.count("/in/fdl_") == 2 and "demo-forskare" in out
    assert not [link for link in list_links(sqlite_app, person) if link.valid]
    with pytest.raises(ParticipantErasedError):
        demo_link(sqlite_app, role="participant", subject=person)
