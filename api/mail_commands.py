"""E-mail on the command line (api/mail.py, docs/adr/0013-mail-outbox.md):

- ``framdrift mail send`` — one sending pass: the weekly reminders that are due, then every
  message waiting (queued, or failed and due again);
- ``framdrift mail worker [--every 30]`` — a pass every N seconds until stopped;
- ``framdrift mail outbox [--programme ID]`` — the outbox, newest first (no addresses).
"""

from __future__ import annotations

import time

import click

from api.cli import open_app
from api.mail import MailConfigError, send_pass, smtp_settings
from domain import mail as outbox
from domain.context import acting_as


def _settings() -> object:
    try:
        settings = smtp_settings()
    except MailConfigError as e:
        raise click.ClickException(str(e)) from None
    if settings is None:
        raise click.ClickException("FRAMDRIFT_SMTP_URL is not set: no e-mail can be sent")
    return settings


@click.group("mail")
def mail() -> None:
    """E-mail: send the outbox (invitations, reminders, new links)."""


@mail.command("send")
def send() -> None:
    """One pass: queue due weekly reminders, then send every message that is due."""
    settings = _settings()
    app = open_app()
    try:
        with acting_as("system:mail"):
            result = send_pass(app, settings)  # type: ignore[arg-type]
    finally:
        app.close()
    click.echo(f"sent {result.sent}, failed {result.failed}, cancelled {result.cancelled}, "
               f"reminders queued {result.scheduled}")
    for reason in dict.fromkeys(result.reasons):
        click.echo(f"  failure: {reason}", err=True)


@mail.command("worker")
@click.option("--every", default=30.0, show_default=True, type=click.FloatRange(0.5, 3600),
              help="Seconds between passes.")
@click.option("--passes", default=0, type=click.IntRange(0), help="Stop after N passes "
              "(0: run until stopped).")
def worker(every: float, passes: int) -> None:
    """Send the outbox for ever: a pass every --every seconds (several workers may run:
    a message is claimed by one of them)."""
    settings = _settings()
    app = open_app()
    done = 0
    try:
        while True:
            with acting_as("system:mail"):
                result = send_pass(app, settings)  # type: ignore[arg-type]
            if result.sent or result.failed or result.scheduled:
                click.echo(f"sent {result.sent}, failed {result.failed}, "
                           f"reminders queued {result.scheduled}")
            done += 1
            if passes and done >= passes:
                return
            time.sleep(every)
    except KeyboardInterrupt:
        pass
    finally:
        app.close()


@mail.command("outbox")
@click.option("--programme", "programme_id", default=None, help="Only this programme.")
def show_outbox(programme_id: str | None) -> None:
    """The messages, newest first: id, kind, state, attempts, reason (no addresses)."""
    app = open_app()
    try:
        for m in outbox.outbox(app, programme_id):
            click.echo(f"{m.id}  {m.queued_at[:16]}  {m.kind:<10} {m.state:<9} "
                       f"{m.attempts:>2}  {m.reason or ''}")
    finally:
        app.close()


commands: list[click.Command] = [mail]
