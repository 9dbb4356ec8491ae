"""Integrity and backup commands: ``framdrift verify``, ``export --all``, ``import``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from api.cli import open_app
from domain.integrity import ImportError_, export_log, import_log

EVENTS_FILE = "events.ndjson"
KEYS_FILE = "keys.ndjson"


@click.command()
@click.option("--no-seal", is_flag=True, help="Only check; do not seal events recorded since.")
def verify(no_seal: bool) -> None:
    """Check the whole log against its hash chain; name the first position that differs."""
    app = open_app()
    total = app.max_position()
    with click.progressbar(length=total, label="verifying the log", file=sys.stderr) as bar:
        report = app.chain.verify(seal=not no_seal, progress=bar.update)
    if not report.ok:
        click.echo(f"FAILED at position {report.first_bad_position}: {report.reason}", err=True)
        raise SystemExit(1)
    click.echo(
        f"ok: {report.events} events, {report.sealed} matched their sealed hashes"
        + (f", {report.newly_sealed} newly sealed" if report.newly_sealed else "")
    )


@click.command("export")
@click.option("--all", "everything", is_flag=True, required=True,
              help="The whole event log (a backup; encrypted data stays encrypted).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="Directory for events.ndjson and keys.ndjson.")
@click.option("--no-keys", is_flag=True,
              help="Leave the data keys out (the copy then cannot read personal data).")
def export_all(everything: bool, out_dir: Path, no_keys: bool) -> None:
    """Write the whole log as NDJSON (events.ndjson) and the data keys (keys.ndjson)."""
    app = open_app()
    out_dir.mkdir(parents=True, exist_ok=True)
    with click.progressbar(length=app.max_position(), label="exporting", file=sys.stderr) as bar:
        with (out_dir / EVENTS_FILE).open("w", encoding="utf-8") as events:
            if no_keys:
                count = export_log(app, events, None, progress=bar.update)
            else:
                with (out_dir / KEYS_FILE).open("w", encoding="utf-8") as keys:
                    count = export_log(app, events, keys, progress=bar.update)
    click.echo(f"exported {count} events to {out_dir / EVENTS_FILE}"
               + ("" if no_keys else f" and the data keys to {out_dir / KEYS_FILE}"))


@click.command("import")
@click.argument("in_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
def import_all(in_dir: Path) -> None:
    """Restore an export into an EMPTY store (run 'framdrift migrate' on it first)."""
    app = open_app()
    events_path, keys_path = in_dir / EVENTS_FILE, in_dir / KEYS_FILE
    if not events_path.exists():
        raise click.ClickException(f"{events_path} not found")
    try:
        with events_path.open(encoding="utf-8") as events:
            keys = keys_path.open(encoding="utf-8") if keys_path.exists() else None
            try:
                count = import_log(app, events, keys)
            finally:
                if keys is not None:
                    keys.close()
    except ImportError_ as e:
        raise click.ClickException(str(e)) from None
    app.chain.extend()
    click.echo(f"imported {count} events into {app.config.describe()}")


commands = [verify, export_all, import_all]
