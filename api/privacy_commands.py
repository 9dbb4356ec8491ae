"""Privacy on the command line (docs/adr/0004-consent-and-erasure.md):

- ``framdrift participants erase ID [--yes]`` — erase a participant for good (their name,
  contact details and everything they wrote become unreadable everywhere).

De-identified exports are ``framdrift export --programme ID --what timeline --deidentified``.

``erase`` joins the ``participants`` group of ``api.commands`` (or a group of its own
when that module is absent): :func:`register` is called by ``api.cli`` after every
command module is loaded.
"""

from __future__ import annotations

from typing import Any

import click

from api.cli import open_app
from domain import errors
from domain.context import acting_as, researcher_actor

EXPORT_CHUNK = 1000


def erase_participant(app: Any, participant_id: str) -> dict[str, Any]:
    """Erase a participant: the ``Participant.Erased`` event, then their key is deleted;
    their sign-in links are revoked and this process's caches forgotten. Returns what the
    participant looked like before (pseudonym, unit, programme), never their name.

    The web pages' researcher action should call this too (with a confirmation first).
    """
    before = app.get_participant(participant_id)
    for attempt in range(ERASE_ATTEMPTS):
        try:
            _erase_steps(app, before["id"])
            break
        except errors.ConcurrentChangeError:
            # Another erasure of the same person (a second click, another researcher) got
            # there first. Every step is a no-op once done, so doing them again completes
            # whatever the other has not done yet and answers as it does.
            if attempt == ERASE_ATTEMPTS - 1:
                raise
    app.keys.forget_cache()
    return {k: before[k] for k in ("id", "pseudonym", "unit", "programme_id", "erased")}


ERASE_ATTEMPTS = 3


def _erase_steps(app: Any, participant_id: str) -> None:
    app.erase_participant(participant_id)  # no new event when erased already; key deleted
    try:
        from domain.accounts import revoke_links

        revoke_links(app, participant_id, "participant erased")  # only links still valid
    except ImportError:  # pragma: no cover - accounts not installed
        pass
    from api.mail import forget_participant

    forget_participant(app, participant_id)  # unsent mail cancelled, address index cleared


@click.command("erase")
@click.argument("participant_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase(participant_id: str, yes: bool) -> None:
    """Erase a participant for good: their name, contact details and everything they
    wrote become unreadable (events, backups with keys, read models, exports). Their
    records keep their place, as "erased participant". This cannot be undone."""
    app = open_app()
    try:
        person = app.get_participant(participant_id)
    except errors.DomainError as e:
        raise click.ClickException(e.message) from None
    if person["erased"]:
        click.echo(f"participant {person['id']} ({person['pseudonym']}) is already erased")
        return
    if not yes:
        click.confirm(
            f"Erase participant {person['pseudonym']} (unit {person['unit']}, id "
            f"{person['id']})? Their name, contact details and everything they wrote "
            "become unreadable for good. This cannot be undone.",
            abort=True, err=True,
        )
    with acting_as(researcher_actor("cli")):
        try:
            erase_participant(app, person["id"])
        except errors.DomainError as e:
            raise click.ClickException(e.message) from None
    click.echo(f"participant {person['id']} ({person['pseudonym']}) erased")


commands: list[click.Command] = []


def register(cli: click.Group) -> None:
    """Add ``erase`` to the ``participants`` group (created here if no module made it)."""
    group = cli.commands.get("participants")
    if not isinstance(group, click.Group):
        group = click.Group("participants", help="Participants: erasure.")
        cli.add_command(group)
    group.add_command(erase)
