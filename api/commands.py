"""``framdrift tokens ...`` (API tokens), ``framdrift users ...`` (researchers' web accounts),
``framdrift participants ...`` (enrolment and sign-in links) and ``framdrift serve``."""

from __future__ import annotations

import importlib
import os
import secrets
import signal
from typing import Any
from uuid import UUID

import click

from api.cli import open_app
from domain import errors
from domain.accounts import (
    MAX_LINK_DAYS,
    TOKEN_ROLES,
    course_link_days,
    create_researcher,
    demo_link,
    issue_link,
    issue_token,
    list_tokens,
    researcher_exists,
    researcher_id_for,
    revoke_links,
    revoke_token,
    set_password,
)
from domain.context import acting_as, researcher_actor


@click.group()
def tokens() -> None:
    """API tokens for evaluators and researchers (read-only access to /api/v1)."""


@tokens.command("create")
@click.option("--role", type=click.Choice(TOKEN_ROLES), required=True,
              help="evaluator: read models; researcher: also the token list.")
@click.option("--label", default=None,
              help="What the token is for (e.g. 'client evaluation 2026'); not a person's name.")
def tokens_create(role: str, label: str | None) -> None:
    """Issue a token and print it ONCE (only its hash is ever kept)."""
    app = open_app()
    try:
        secret, token_id = issue_token(app, role=role, label=label)
    except errors.DomainError as e:
        raise click.BadParameter(e.message, param_hint=f"--{e.field or 'label'}") from None
    click.echo(f"token id: {token_id}", err=True)
    click.echo(f"role:     {role}", err=True)
    click.echo("This token is shown only now; send it as 'Authorization: Bearer <token>':",
               err=True)
    click.echo(secret)


@tokens.command("revoke")
@click.argument("token_id")
@click.option("--reason", default=None, help="Why (kept in the log).")
def tokens_revoke(token_id: str, reason: str | None) -> None:
    """Revoke a token by its id (from 'framdrift tokens list')."""
    app = open_app()
    try:
        changed = revoke_token(app, token_id, reason)
    except errors.NotFoundError as e:
        raise click.ClickException(e.message) from None
    click.echo(f"token {token_id} revoked" if changed else f"token {token_id} was already revoked")


@tokens.command("list")
def tokens_list() -> None:
    """List tokens ever issued: id, role, issued, revoked, label (never the secrets)."""
    app = open_app()
    rows = list_tokens(app)
    if not rows:
        click.echo("no tokens issued")
        return
    click.echo(f"{'id':<36}  {'role':<10}  {'issued (UTC)':<16}  {'revoked (UTC)':<16}  label")
    for t in rows:
        revoked = t.revoked_on.strftime("%Y-%m-%d %H:%M") if t.revoked_on else "-"
        click.echo(f"{t.id!s:<36}  {t.role:<10}  {t.issued_on:%Y-%m-%d %H:%M}  "
                   f"{revoked:<16}  {t.label or ''}")


def _start_projections(framdrift: Any) -> Any:
    try:
        runner = importlib.import_module("projections.runner")
    except ModuleNotFoundError as e:
        if e.name not in ("projections.runner", "projections"):
            raise
        click.echo("warning: projections.runner is not installed; read models will not "
                   "follow the log", err=True)
        return None
    return runner.start_background(framdrift)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--threads", default=None, type=click.IntRange(1, 64),
              help="Request threads of the production server (default 8).")
@click.option("--dev", is_flag=True,
              help="Werkzeug's development server instead of waitress (for development only).")
def serve(host: str, port: int, threads: int | None, dev: bool) -> None:
    """Serve the web app and API with a production WSGI server (waitress).

    On SQLite (the embedded default) this one process also keeps the read models
    current. On PostgreSQL it only serves: run 'framdrift projections run' beside it
    (or use gunicorn, as docker-compose.yml does). '--dev' runs werkzeug's development
    server instead.
    """
    from api.app import close_framdrift, create_app, framdrift_app

    open_app().close()  # fail early and clearly when the store is not migrated
    flask_app = create_app()
    framdrift = framdrift_app(flask_app)
    background = None
    if not framdrift.config.is_postgres:
        background = _start_projections(framdrift)
    server = None
    if not dev:
        from api import server as production

        production.configure_logging()
        overrides = {"threads": threads} if threads else {}
        server = production.make_server(flask_app, host, port, **overrides)
        port = int(getattr(server, "effective_port", port) or port)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host
    site = os.environ.get("FRAMDRIFT_BASE_URL") or f"http://{shown}:{port}"
    click.echo(f"Framdrift is running at {site}/  (API docs: "
               f"{site}/api/v1/docs; stop with Ctrl+C)")
    _print_demo_links(framdrift, site)

    def _interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # stop like Ctrl+C: finish, stop the read-model thread

    signal.signal(signal.SIGTERM, _interrupt)
    try:
        if server is not None:
            server.run()
        else:
            from werkzeug.serving import run_simple

            from api.errors import ApiErrorRequestHandler  # 414/431 under /api/v1: problems

            run_simple(host, port, flask_app, threaded=True, use_reloader=False,
                       request_handler=ApiErrorRequestHandler)
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            server.close()
        stop = getattr(background, "stop", None)
        if callable(stop):
            stop()
        close_framdrift(flask_app)


# ------------------------------------------------------------------ users


def _base_url(base_url: str | None) -> str:
    return (base_url or os.environ.get("FRAMDRIFT_BASE_URL") or "http://localhost:8000").rstrip("/")


def link_url(base_url: str, secret: str) -> str:
    return f"{base_url}/in/{secret}"


@click.group()
def users() -> None:
    """Researchers' web accounts (user name and password; argon2 hashes only)."""


@users.command("create")
@click.option("--username", required=True, help="Lower-case letters, digits and . _ @ -")
@click.option("--name", required=True, help="The researcher's name (stored encrypted).")
@click.option("--email", default=None, help="E-mail (optional, stored encrypted).")
@click.option("--password", default=None, envvar="FRAMDRIFT_NEW_PASSWORD",
              help="The password (default: asked for; or FRAMDRIFT_NEW_PASSWORD).")
@click.option("--generate-password", is_flag=True,
              help="Generate a password and print it once.")
def users_create(username: str, name: str, email: str | None, password: str | None,
                 generate_password: bool) -> None:
    """Create a researcher account (the first one is made here)."""
    app = open_app()
    if generate_password:
        password = secrets.token_urlsafe(12)
    elif password is None:
        password = click.prompt("Password (at least 10 characters)", hide_input=True,
                                confirmation_prompt=True)
    try:
        rid = create_researcher(app, username=username, name=name, email=email,
                                password=password or "")
    except errors.DomainError as e:
        raise click.BadParameter(e.message, param_hint=f"--{e.field or 'username'}") from None
    click.echo(f"researcher {username.strip().lower()} created (id {rid})")
    if generate_password:
        click.echo(f"password (shown only now): {password}")


@users.command("set-password")
@click.argument("username")
@click.option("--password", default=None, envvar="FRAMDRIFT_NEW_PASSWORD",
              help="The new password (default: asked for; or FRAMDRIFT_NEW_PASSWORD).")
def users_set_password(username: str, password: str | None) -> None:
    """Set a researcher's password (a new event; the old hash stays in history). Every
    earlier web session of the account ends with it."""
    app = open_app()
    if password is None:
        password = click.prompt("New password (at least 10 characters)", hide_input=True,
                                confirmation_prompt=True)
    try:
        set_password(app, username, password)
    except errors.DomainError as e:
        raise click.ClickException(f"{e.field}: {e.message}") from None
    click.echo(f"password of {username} changed; their earlier sessions have ended")


@users.command("link")
@click.argument("username")
@click.option("--days", default=1, show_default=True, type=click.IntRange(1, MAX_LINK_DAYS))
@click.option("--base-url", default=None, help="Where the site is (default FRAMDRIFT_BASE_URL).")
def users_link(username: str, days: int, base_url: str | None) -> None:
    """Issue a sign-in link for a researcher (e.g. a forgotten password)."""
    app = open_app()
    if not researcher_exists(app, username):
        raise click.ClickException(f"no researcher {username!r}")
    secret, _id = issue_link(app, role="researcher", subject=researcher_id_for(username),
                             days=days)
    click.echo(link_url(_base_url(base_url), secret))


# ------------------------------------------------------------- participants


@click.group()
def participants() -> None:
    """Enrol participants and issue their personal sign-in links."""


@participants.command("invite")
@click.option("--programme", "programme_id", required=True, help="The programme's id.")
@click.option("--name", required=True)
@click.option("--email", default=None)
@click.option("--role", type=click.Choice(["manager", "expert"]), required=True)
@click.option("--unit", required=True, help="A unit key of the programme.")
@click.option("--days", default=None, type=click.IntRange(1, MAX_LINK_DAYS),
              help="How long the link is valid (default: until two weeks after the course's "
                   "last day, at least 30).")
@click.option("--base-url", default=None, help="Where the site is (default FRAMDRIFT_BASE_URL).")
def participants_invite(programme_id: str, name: str, email: str | None, role: str, unit: str,
                        days: int | None, base_url: str | None) -> None:
    """Enrol a participant and print their sign-in link (shown only now)."""
    app = open_app()
    try:
        with acting_as(researcher_actor("cli")):
            pid = app.enrol_participant(programme_id, name=name, email=email, role=role,
                                        unit=unit)
            days = days or course_link_days(app.get_programme(programme_id))
            secret, _id = issue_link(app, role="participant", subject=pid, days=days)
    except errors.DomainError as e:
        raise click.ClickException(f"{e.field}: {e.message}") from None
    click.echo(f"participant {pid} enrolled; sign-in link valid {days} days:", err=True)
    click.echo(link_url(_base_url(base_url), secret))


@participants.command("link")
@click.argument("participant_id")
@click.option("--days", default=None, type=click.IntRange(1, MAX_LINK_DAYS),
              help="How long the link is valid (default: until two weeks after the course's "
                   "last day, at least 30).")
@click.option("--base-url", default=None)
def participants_link(participant_id: str, days: int | None, base_url: str | None) -> None:
    """Issue a new sign-in link for an enrolled participant."""
    app = open_app()
    try:
        person = app.get_participant(participant_id)
    except errors.DomainError as e:
        raise click.ClickException(e.message) from None
    if person["erased"]:
        raise click.ClickException("this participant has been erased")
    days = days or course_link_days(app.get_programme(person["programme_id"]))
    with acting_as(researcher_actor("cli")):
        secret, _id = issue_link(app, role="participant", subject=person["id"], days=days)
    click.echo(link_url(_base_url(base_url), secret))


@participants.command("revoke")
@click.argument("participant_id")
def participants_revoke(participant_id: str) -> None:
    """Revoke every sign-in link of a participant."""
    app = open_app()
    with acting_as(researcher_actor("cli")):
        count = revoke_links(app, participant_id, "revoked on the command line")
    click.echo(f"{count} link(s) revoked")


# ---------------------------------------------------------------- the demo

DEMO_RESEARCHER = "demo-forskare"


def _demo_programme(app: Any) -> UUID | None:
    """The first synthetic demo programme (seed 1), when the store holds it."""
    from domain.model import record_id_for

    pid = record_id_for("programme", "demo:1:0:programme")
    try:
        programme = app.get_programme(pid)
    except errors.DomainError:
        return None
    return pid if programme["synthetic"] else None


def _print_demo_links(app: Any, site: str) -> None:
    """For the synthetic demo: ensure a demo researcher and print sign-in links."""
    from domain.model import record_id_for

    try:
        pid = _demo_programme(app)
        if pid is None:
            return
        participant = record_id_for("participant", "demo:1:0:participant:0")
        person = app.get_participant(participant)
        if not researcher_exists(app, DEMO_RESEARCHER):
            # No password is shown or known: the demo researcher signs in by link
            # (set one with 'framdrift users set-password demo-forskare').
            create_researcher(app, username=DEMO_RESEARCHER, name="Demo Forskare (syntetisk)",
                              email=None, password=secrets.token_urlsafe(24))
        researcher_link = demo_link(app, role="researcher",
                                    subject=researcher_id_for(DEMO_RESEARCHER))
        # An erased participant never gets a link again (not even the demo's).
        participant_link = None if person["erased"] else demo_link(
            app, role="participant", subject=participant)
        # The demo's one evaluator (an id of its own, nothing personal: ADR 0015).
        evaluator_link = demo_link(app, role="evaluator",
                                   subject=record_id_for("evaluator", "demo:1:evaluator"))
    except Exception as e:  # noqa: BLE001 - the site works without the demo links
        click.echo(f"warning: could not prepare the demo sign-in links: {e}", err=True)
        return
    click.echo("Synthetic demo data (Syntetiska demodata) - sign in with:")
    if participant_link is None:
        click.echo(f"  demo participant {person['pseudonym']} has been erased: no sign-in "
                   "link is issued for them")
    else:
        click.echo(f"  demo participant {person['name']} ({person['pseudonym']}):")
        click.echo(f"    {link_url(site, participant_link)}")
    click.echo(f"  demo researcher, user name {DEMO_RESEARCHER}:")
    click.echo(f"    {link_url(site, researcher_link)}")
    click.echo("  demo evaluator (read-only overviews, pseudonymous, without text):")
    click.echo(f"    {link_url(site, evaluator_link)}")


commands = [tokens, serve, users, participants]
