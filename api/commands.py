"""``framdrift tokens ...`` (API tokens) and ``framdrift serve``."""

from __future__ import annotations

import importlib
import signal
from typing import Any

import click

from api.cli import open_app
from domain import errors
from domain.accounts import TOKEN_ROLES, issue_token, list_tokens, revoke_token


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
def serve(host: str, port: int) -> None:
    """Serve the web app and API.

    On SQLite (the embedded default) this one process also keeps the read models
    current. On PostgreSQL it only serves: run 'framdrift projections run' beside it
    (and prefer gunicorn: gunicorn -w 2 'api.wsgi:app').
    """
    from werkzeug.serving import run_simple

    from api.app import close_framdrift, create_app, framdrift_app

    open_app().close()  # fail early and clearly when the store is not migrated
    flask_app = create_app()
    framdrift = framdrift_app(flask_app)
    background = None
    if not framdrift.config.is_postgres:
        background = _start_projections(framdrift)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host
    click.echo(f"Framdrift is running at http://{shown}:{port}/  (API docs: "
               f"http://{shown}:{port}/api/v1/docs; stop with Ctrl+C)")
    def _interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # stop like Ctrl+C: finish, stop the read-model thread

    signal.signal(signal.SIGTERM, _interrupt)
    try:
        run_simple(host, port, flask_app, threaded=True, use_reloader=False)
    except KeyboardInterrupt:
        pass
    finally:
        stop = getattr(background, "stop", None)
        if callable(stop):
            stop()
        close_framdrift(flask_app)


commands = [tokens, serve]
