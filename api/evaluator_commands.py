"""``framdrift evaluators link|list|revoke``: personal sign-in links for evaluators' read-only
web pages (ADR 0015). Evaluators' scripts use API tokens (``framdrift tokens``) instead."""

from __future__ import annotations

import click

from api.cli import open_app
from api.commands import _base_url, link_url
from domain import errors
from domain.accounts import (
    DEFAULT_LINK_DAYS,
    MAX_LINK_DAYS,
    issue_evaluator_link,
    list_evaluator_links,
    revoke_links,
)
from domain.context import acting_as, researcher_actor


@click.group()
def evaluators() -> None:
    """Sign-in links for evaluators: read-only overviews, pseudonymous, without text."""


@evaluators.command("link")
@click.option("--days", default=DEFAULT_LINK_DAYS, show_default=True,
              type=click.IntRange(1, MAX_LINK_DAYS), help="How long the link is valid.")
@click.option("--base-url", default=None, help="Where the site is (default FRAMDRIFT_BASE_URL).")
def evaluators_link(days: int, base_url: str | None) -> None:
    """Issue a personal sign-in link for one evaluator and print it ONCE."""
    app = open_app()
    with acting_as(researcher_actor("cli")):
        secret, _link_id, evaluator = issue_evaluator_link(app, days=days)
    click.echo(f"evaluator {evaluator}; sign-in link valid {days} days (revoke with "
               f"'framdrift evaluators revoke {evaluator}'):", err=True)
    click.echo(link_url(_base_url(base_url), secret))


@evaluators.command("list")
def evaluators_list() -> None:
    """Evaluator links ever issued: evaluator id, issued, valid until or revoked."""
    app = open_app()
    rows = list_evaluator_links(app)
    if not rows:
        click.echo("no evaluator links issued")
        return
    click.echo(f"{'evaluator':<36}  {'issued (UTC)':<16}  state")
    for info in rows:
        state = ("revoked" if info.revoked else
                 f"valid until {info.expires_at:%Y-%m-%d %H:%M}" if info.valid else "expired")
        click.echo(f"{info.subject:<36}  {info.issued_on:%Y-%m-%d %H:%M}  {state}")


@evaluators.command("revoke")
@click.argument("evaluator_id")
def evaluators_revoke(evaluator_id: str) -> None:
    """Revoke an evaluator's link (their sessions end with it)."""
    app = open_app()
    if evaluator_id not in {i.subject for i in list_evaluator_links(app)}:
        raise click.ClickException(f"no evaluator link for {evaluator_id}")
    try:
        with acting_as(researcher_actor("cli")):
            count = revoke_links(app, evaluator_id, "revoked on the command line")
    except errors.DomainError as e:
        raise click.ClickException(e.message) from None
    click.echo(f"{count} link(s) revoked")


commands = [evaluators]
