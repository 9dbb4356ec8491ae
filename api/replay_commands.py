"""``framdrift replay`` (stream a programme's timeline, optionally following the log) and the
analysis side of ``framdrift export`` (``--programme ID --what timeline|records|lineage``).

Both read the event log itself (no read model needed), so they work on a store whose
projections are not running. Moments (``--until``) are a log position (integer) or an
ISO date/time (a bare date is the end of that day); by time the timeline stops at the
first event of the programme that happened after the moment — the same prefix the
as-of replay shows (docs/adr/0003-as-of-replay.md).
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any
from uuid import UUID

import click

from api.cli import LogReader, open_app
from projections import asof
from projections.base import event_time

WHATS = ("timeline", "records", "lineage")
FORMATS = ("csv", "ndjson", "prov-json")


def _programme(value: str) -> str:
    try:
        return str(UUID(value))
    except ValueError:
        raise click.BadParameter("not a programme id", param_hint="--programme") from None


def _moment(value: str | None) -> tuple[int | None, str | None]:
    try:
        return asof.parse_moment(value, "until")
    except asof.InvalidMomentError as e:
        raise click.BadParameter(e.message, param_hint="--until") from None


class _Stop:
    """Set by SIGTERM / SIGINT: --follow ends after the event in hand."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._old: dict[int, Any] = {}

    def __enter__(self) -> _Stop:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._old[sig] = signal.signal(sig, lambda *_: self.event.set())
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


HEADER = (f"{'pos':>7}  {'event time (UTC)':<16}  {'actor':<11} {'participant':<11} "
          f"{'unit':<16} {'wk':<3} {'event':<32} summary\n")


def _text(row: dict[str, Any]) -> str:
    week = f"w{row['week']}" if row["week"] else ""
    return (f"{row['position']:>7}  {row['event_time'][:16].replace('T', ' ')}  "
            f"{row['actor']:<11.11} {(row['participant'] or '-'):<11.11} "
            f"{(row['unit'] or '-'):<16.16} {week:<3} {row['event_type']:<32} {row['summary']}\n")


@click.command("replay")
@click.option("--programme", "programme_id", required=True, help="The programme's id.")
@click.option("--until", default=None, metavar="TIME|POSITION",
              help="Stop at this log position or moment (ISO date/time, UTC by default).")
@click.option("--participant", default=None, help="Only this participant (pseudonym or id).")
@click.option("--format", "fmt", type=click.Choice(["text", "ndjson"]), default="text",
              show_default=True)
@click.option("--follow", is_flag=True,
              help="Keep printing new events as they are logged (Ctrl-C / SIGTERM stops).")
@click.option("--interval", type=float, default=1.0, show_default=True,
              help="Seconds between polls with --follow.")
def replay(programme_id: str, until: str | None, participant: str | None, fmt: str,
           follow: bool, interval: float) -> None:
    """Stream a programme's timeline in log order (what happened, who, unit, week)."""
    pid = _programme(programme_id)
    until_position, until_time = _moment(until)
    app = open_app()
    reader = LogReader(app)
    out = sys.stdout
    seen: dict[str, int] = {}
    after = 0
    found = False
    try:
        with _Stop() as stop:
            if fmt == "text":
                out.write(HEADER)
            while True:
                for position, event in app.iter_log(after):
                    after = position
                    if until_position is not None and position > until_position:
                        return
                    row = reader.row(position, event)
                    if row["programme_id"] != pid:
                        continue
                    found = True
                    if until_time is not None and event_time(event) > until_time:
                        return
                    if participant and participant not in (
                            row["participant"], row["actor"], _participant_id(event)):
                        continue
                    if fmt == "ndjson":
                        out.write(json.dumps(row, ensure_ascii=False) + "\n")
                    else:
                        banner = reader.week_banner(row, seen)
                        if banner:
                            out.write(banner + "\n")
                        out.write(_text(row))
                    if stop.event.is_set():
                        return
                out.flush()
                if not follow:
                    break
                if stop.event.wait(interval):
                    return
    except BrokenPipeError:  # e.g. `framdrift replay ... | head`
        sys.stderr.close()
        return
    except KeyboardInterrupt:
        return
    finally:
        app.close()
    if not found:
        raise click.ClickException(f"no events of programme {pid} in the log")


def _participant_id(event: Any) -> str | None:
    from domain.describe import participant_of

    who = participant_of(event)
    return str(who) if who else None


def analysis_export(programme_id: str, what: str, fmt: str, out: Path | None,
                    until: str | None, with_text: bool) -> None:
    """``framdrift export --programme ID --what ... --format ...`` (from the log itself)."""
    from api.replay import export_body

    pid = _programme(programme_id)
    if what == "lineage" and fmt != "prov-json":
        raise click.BadParameter("the lineage is exported as prov-json", param_hint="--format")
    if what != "lineage" and fmt == "prov-json":
        raise click.BadParameter("prov-json is for --what lineage", param_hint="--format")
    position, moment = _moment(until)
    app = open_app()
    try:
        changes: list[dict[str, Any]] = []
        try:
            state = asof.fold_log(app, pid, position=position, time=moment, collect=changes)
        except asof.UnknownProgrammeError as e:
            raise click.ClickException(e.message) from None
        body, _mimetype = export_body(app, state, what, fmt, with_text=with_text,
                                      changes=changes)
    finally:
        app.close()
    if out is None:
        sys.stdout.write(body)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(body, encoding="utf-8")
        click.echo(f"exported {what} of programme {pid} as {fmt} to {out}", err=True)


commands = [replay]
