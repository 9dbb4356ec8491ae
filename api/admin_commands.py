"""Integrity and backup commands: ``framdrift verify``, ``export --all``, ``import``.

``export --programme ID --what ...`` (analysis exports) is in ``api.replay_commands``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from api.cli import open_app
from domain.integrity import ImportError_, export_log, import_log

EVENTS_FILE = "events.ndjson"
KEYS_FILE = "keys.ndjson"


@click.command()
@click.option("--against", "against", default=None, metavar="HEAD|FILE",
              help="A head printed by an earlier verify (SEQ:POSITION:HASH), or a file "
                   "holding one or more: the log must still extend every one of them.")
@click.option("--no-seal", is_flag=True, hidden=True,
              help="Ignored: verify never writes (kept so old scripts still run).")
def verify(against: str | None, no_seal: bool) -> None:
    """Check the whole log against its hash chain (and the data keys against the digests
    it recorded); name the first position that does not match. Reads only. Prints the
    chain's head: keep it outside the database and check later with --against."""
    anchors = _anchors(against) if against is not None else []
    app = open_app(require_tables=False)  # verify reports missing tables itself
    try:
        try:
            total = app.max_position()
        except Exception:  # noqa: BLE001 - the report says what is wrong
            total = 0
        with click.progressbar(length=total, label="verifying the log",
                               file=sys.stderr) as bar:
            report = app.chain.verify(against=anchors, progress=bar.update)
    finally:
        app.close()
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    if not report.ok:
        where = (f" at position {report.first_bad_position}"
                 if report.first_bad_position is not None else "")
        click.echo(f"FAILED{where}: {report.reason}", err=True)
        raise SystemExit(1)
    keys = f"; {report.keys_matched} data keys match their recorded digests"
    if report.keys_erased:
        keys += f", {report.keys_erased} erased"
    extends = (f"; the log extends the {report.anchors} anchored head(s)"
               if report.anchors else "")
    click.echo(f"ok: {report.events} events match their chain links{keys}{extends}")
    click.echo(f"head: {report.head.token()}")


def _anchors(value: str) -> list[Any]:
    """Heads from --against: the pasted head itself, or a file holding heads."""
    from domain.chain import parse_heads

    heads = parse_heads(value)
    if not heads:
        path = Path(value)
        try:
            heads = parse_heads(path.read_text(encoding="utf-8", errors="replace"))
        except OSError as e:
            raise click.BadParameter(
                f"{value!r} is neither a head (SEQ:POSITION:HASH) nor a readable file "
                f"({e.strerror or e})", param_hint="--against") from None
        if not heads:
            raise click.BadParameter(f"{value} holds no head (SEQ:POSITION:HASH)",
                                     param_hint="--against")
    return heads


@click.command("export")
@click.option("--all", "everything", is_flag=True,
              help="The whole event log (a backup; encrypted data stays encrypted).")
@click.option("--out", "out_path", type=click.Path(path_type=Path), default=None,
              help="With --all: directory for events.ndjson and keys.ndjson. With "
                   "--programme: the file to write (default: standard output).")
@click.option("--no-keys", is_flag=True,
              help="With --all: leave the data keys out (the copy cannot read personal data).")
@click.option("--programme", "programme_id", default=None,
              help="Export one programme for analysis (instead of --all).")
@click.option("--what", type=click.Choice(["timeline", "records", "lineage"]), default=None,
              help="With --programme: the timeline, all records, or the lineage.")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "ndjson", "prov-json"]),
              default=None, help="With --programme: csv, xlsx or ndjson (timeline, records), "
                                 "prov-json (lineage; W3C PROV-JSON).")
@click.option("--lang", type=click.Choice(["sv", "en"]), default="sv", show_default=True,
              help="With --programme: language of the *_label columns and summaries.")
@click.option("--sep", type=click.Choice(["comma", "semicolon"]), default="comma",
              show_default=True, help="With --format csv: the separator (semicolon for "
                                      "Excel in a Swedish locale).")
@click.option("--until", default=None, metavar="TIME|POSITION",
              help="With --programme: as of this log position or moment (default: now).")
@click.option("--with-text", is_flag=True,
              help="With --what records: add what participants wrote (researchers only; "
                   "never for participants without consent or erased).")
@click.option("--deidentified", is_flag=True,
              help="With --what timeline or records: de-identified (no free text, no "
                   "participant ids or log positions, dates shifted per participant; needs "
                   "FRAMDRIFT_SECRET_KEY or --salt).")
@click.option("--salt", default=None,
              help="With --deidentified: secret for the date shifts "
                   "(default: FRAMDRIFT_SECRET_KEY).")
@click.option("--max-days", default=None, type=click.IntRange(1, 3650),
              help="With --deidentified: dates move by at most this many days (default 30).")
def export_all(everything: bool, out_path: Path | None, no_keys: bool,
               programme_id: str | None, what: str | None, fmt: str | None,
               until: str | None, with_text: bool, deidentified: bool, salt: str | None,
               max_days: int | None, lang: str = "sv", sep: str = "comma") -> None:
    """Back up the whole log (--all --out DIR), or export one programme for analysis
    (--programme ID --what timeline|records|lineage --format csv|ndjson|prov-json
    [--deidentified]). Analysis exports leave out participants without consent and show
    erased participants' records as "erased participant"."""
    if everything == bool(programme_id):
        raise click.UsageError("give either --all (a backup) or --programme ID (analysis)")
    if programme_id:
        if what is None:
            raise click.UsageError("--programme needs --what timeline|records|lineage")
        from api.replay_commands import analysis_export

        fmt = fmt or ("prov-json" if what == "lineage" else "csv")
        analysis_export(programme_id, what, fmt, out_path, until, with_text,
                        deidentified=deidentified, salt=salt, max_days=max_days,
                        lang=lang, sep=sep)
        return
    if deidentified or salt or max_days:
        raise click.UsageError("--deidentified, --salt and --max-days are for --programme")
    if out_path is None:
        raise click.UsageError("--all needs --out DIR")
    if out_path.exists() and not out_path.is_dir():
        raise click.UsageError(f"--out {out_path} is not a directory")
    out_dir = out_path
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
    with events_path.open("rb") as counting:  # the progress bar's length: one line an event
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: counting.read(1 << 20), b""))
    try:
        with events_path.open(encoding="utf-8") as events, click.progressbar(
                length=lines, label="importing events", file=sys.stderr) as bar:
            keys = keys_path.open(encoding="utf-8") if keys_path.exists() else None
            try:
                count = import_log(app, events, keys, progress=bar.update)
            finally:
                if keys is not None:
                    keys.close()
    except ImportError_ as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"imported {count} events into {app.config.describe()}")


commands = [verify, export_all, import_all]
