"""Privacy on the command line (docs/adr/0004-consent-and-erasure.md):

- ``framdrift participants erase ID [--yes]`` — erase a participant for good (their name,
  contact details and everything they wrote become unreadable everywhere);
- ``framdrift export-deidentified --programme ID --out FILE`` — the programme's timeline
  as NDJSON, de-identified (no free text, dates shifted per participant).

``erase`` joins the ``participants`` group of ``api.commands`` (or a group of its own
when that module is absent): :func:`register` is called by ``api.cli`` after every
command module is loaded.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
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
    app.erase_participant(before["id"])
    try:
        from domain.accounts import revoke_links

        revoke_links(app, before["id"], "participant erased")
    except ImportError:  # pragma: no cover - accounts not installed
        pass
    app.keys.forget_cache()
    return {k: before[k] for k in ("id", "pseudonym", "unit", "programme_id", "erased")}


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


def timeline_rows(app: Any, programme_id: str) -> list[dict[str, Any]]:
    """The programme's whole timeline from the read models (consent applied)."""
    from projections import queries

    rows: list[dict[str, Any]] = []
    offset = 0
    while True:
        chunk, total = queries.timeline(app.sql, programme_id, limit=EXPORT_CHUNK,
                                        offset=offset)
        rows += chunk
        offset += len(chunk)
        if not chunk or offset >= total:
            return rows


@click.command("export-deidentified")
@click.option("--programme", "programme_id", required=True, help="The programme's id.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="The NDJSON file to write (default: standard output).")
@click.option("--salt", default=None,
              help="Secret for the date shifts (default: FRAMDRIFT_SECRET_KEY).")
@click.option("--max-days", default=None, type=click.IntRange(1, 3650),
              help="Dates move by at most this many days (default 30).")
def export_deidentified(programme_id: str, out_path: Path | None, salt: str | None,
                        max_days: int | None) -> None:
    """The programme's timeline as NDJSON, de-identified for publication: pseudonyms only,
    no free text or summaries, no log positions, dates shifted per participant."""
    from domain.deidentify import DEFAULT_MAX_DAYS, DeidentifyError, deidentify
    from projections import queries
    from projections.runner import catch_up

    app = open_app()
    try:
        catch_up(app)
        rows = timeline_rows(app, programme_id)
        out_rows = list(deidentify(rows, salt=salt, max_days=max_days or DEFAULT_MAX_DAYS))
    except (DeidentifyError, queries.UnknownProgrammeError) as e:
        raise click.ClickException(str(e)) from None
    # Sorted per participant, so the file's order does not tell how their shifted
    # dates interleave in reality.
    out_rows.sort(key=lambda r: (r.get("participant") or "", r.get("event_time") or "",
                                 r.get("event_type") or "", r.get("record_id") or ""))
    text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in out_rows)
    if out_path is None:
        sys.stdout.write(text)
    else:
        out_path.write_text(text, encoding="utf-8")
        click.echo(f"wrote {len(out_rows)} de-identified rows to {out_path}", err=True)


commands = [export_deidentified]


def register(cli: click.Group) -> None:
    """Add ``erase`` to the ``participants`` group (created here if no module made it)."""
    group = cli.commands.get("participants")
    if not isinstance(group, click.Group):
        group = click.Group("participants", help="Participants: erasure.")
        cli.add_command(group)
    group.add_command(erase)
