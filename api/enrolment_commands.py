"""``framdrift participants import FILE --programme ID``: enrol a cohort from a CSV list.

The same preview as the researchers' page (``api/enrolment.py``): every bad row is printed
with its line and reason and nothing is enrolled (exit 1), unless ``--leave-out-bad``;
``--dry-run`` only checks. Otherwise every good row is enrolled in one transaction and
each participant's sign-in link is printed once, as a tab-separated line (name, e-mail,
link) on standard output; the summary goes to standard error. A list enrolled again finds
every address already enrolled, so nobody is enrolled twice.

``import`` joins the ``participants`` group of ``api.commands`` (:func:`register`).
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import click

from api import enrolment
from api.cli import open_app
from domain import errors
from domain.accounts import MAX_LINK_DAYS, course_link_days, issue_link
from domain.context import acting_as, researcher_actor

_LABELS = {"name": "name", "email": "e-mail", "role": "role", "unit": "unit", "_row": "row"}


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--programme", "programme_id", required=True, help="The programme's id.")
@click.option("--dry-run", is_flag=True, help="Only check the list; enrol nobody.")
@click.option("--leave-out-bad", is_flag=True,
              help="Enrol the good rows even when some rows have problems.")
@click.option("--days", default=None, type=click.IntRange(1, MAX_LINK_DAYS),
              help="How long the sign-in links are valid (default: until two weeks after "
                   "the course's last day, at least 30).")
@click.option("--base-url", default=None, help="Where the site is (default FRAMDRIFT_BASE_URL).")
def participants_import(file: Path, programme_id: str, dry_run: bool, leave_out_bad: bool,
                        days: int | None, base_url: str | None) -> None:
    """Enrol participants from a CSV list (name, e-mail, role, unit; comma or semicolon;
    UTF-8 with or without BOM; a Swedish or English header row is recognised). All or
    none: with a bad row nothing is enrolled (exit 1) unless --leave-out-bad."""
    from api.commands import _base_url, link_url

    try:
        data = sys.stdin.buffer.read(enrolment.MAX_BYTES + 1) if str(file) == "-" else \
            file.read_bytes()
    except OSError as e:
        raise click.ClickException(f"cannot read {file}: {e.strerror or e}") from None
    app = open_app()
    try:
        programme = app.get_programme(programme_id)
    except errors.DomainError as e:
        raise click.ClickException(e.message) from None
    try:
        preview = enrolment.preview(enrolment.decode(data), programme["units"],
                                    enrolment.enrolled_emails(app, programme["id"]))
    except enrolment.ListError as e:
        raise click.ClickException(str(e)) from None
    for row in preview.bad:
        reasons = "; ".join(f"{_LABELS.get(k, k)}: {' '.join(v)}" for k, v in row.errors.items())
        click.echo(f"line {row.line}: {reasons}", err=True)
    good, bad = len(preview.good), len(preview.bad)
    click.echo(f"{len(preview.rows)} rows: {good} ready to enrol, {bad} with problems"
               + (" (header row recognised)" if preview.header else ""), err=True)
    if bad and not leave_out_bad:
        click.echo("nothing enrolled: fix the rows above, or use --leave-out-bad", err=True)
        raise SystemExit(1)
    if not good:
        click.echo("nothing to enrol", err=True)
        raise SystemExit(1)
    if dry_run:
        click.echo(f"dry run: {good} participant(s) would be enrolled", err=True)
        return
    days = days or course_link_days(programme)
    try:
        with acting_as(researcher_actor("cli")):
            ids = enrolment.enrol(app, programme["id"], preview.good, uuid.uuid4().hex,
                                  checked_at=programme["version"])  # read before the preview
            secrets = [issue_link(app, role="participant", subject=pid, days=days)[0]
                       for pid in ids]
    except errors.DomainError as e:
        raise click.ClickException(f"nothing enrolled: {e.field or 'list'}: {e.message}") \
            from None
    site = _base_url(base_url)
    click.echo(f"{len(ids)} participant(s) enrolled in {programme['title']}; their sign-in "
               f"links (valid {days} days, shown only now): name, e-mail, link", err=True)
    for row, secret in zip(preview.good, secrets, strict=True):
        click.echo(f"{row.data['name']}\t{row.data['email']}\t{link_url(site, secret)}")


commands: list[click.Command] = []


def register(cli: click.Group) -> None:
    """Add ``import`` to the ``participants`` group (created here if no module made it)."""
    group = cli.commands.get("participants")
    if not isinstance(group, click.Group):
        group = click.Group("participants", help="Participants: enrolment from a list.")
        cli.add_command(group)
    group.add_command(participants_import)
