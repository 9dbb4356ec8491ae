"""``framdrift replay`` (stream a programme's timeline, optionally following the log) and the
analysis side of ``framdrift export`` (``--programme ID --what timeline|records|lineage``).

Both read the event log itself (no read model needed), so they work on a store whose
projections are not running. Moments (``--until``) are a log position (integer) or an
ISO date/time (a bare date is the end of that day); by time the timeline stops at the
first event of the programme that happened after the moment — the same prefix the
as-of replay shows (docs/adr/0003-as-of-replay.md).

Both apply the participants' *current* consent and erasure flags (the ``consent`` read
model, caught up first: ``projections.queries.consent_flags``; docs/adr/0004), also to
the past: events and records of participants who do not consent are left out (with their
"based on" links), erased participants' records show as "erased participant" and their
own events are left out; text (``--with-text``) only for consenting participants.
``--follow`` keeps the flags current from the consent events it reads.
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
from domain.describe import actor_participant
from domain.replay import RECORD_CREATED
from projections import asof
from projections.base import event_time

WHATS = ("timeline", "records", "lineage")
FORMATS = ("csv", "xlsx", "ndjson", "prov-json")


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


def current_flags(app: Any, pid: str) -> tuple[dict[str, dict[str, Any]], int]:
    """The participants' current consent flags and the log position they cover at least
    (the consent read model is caught up first)."""
    from projections import queries
    from projections.runner import catch_up

    head = app.max_position()
    catch_up(app, ("consent",))
    try:
        return queries.consent_flags(app.sql, pid), head
    except queries.UnknownProgrammeError:
        return {}, head


def follow_flags(flags: dict[str, dict[str, Any]], name: str, oid: str,
                 event: Any) -> None:
    """Keep ``flags`` current with a participant event logged after they were read."""
    if name == "Participant.Enrolled":
        flags[oid] = {"pseudonym": event.pseudonym, "consent": False, "erased": False,
                      "shown": False}
        return
    f = flags.get(oid)
    if f is None:
        return
    if name == "Participant.ConsentGiven":
        f.update(consent=True, erased=False, shown=True)
    elif name == "Participant.ConsentWithdrawn":
        f.update(consent=False, shown=f["erased"])
    elif name == "Participant.Erased":
        f.update(consent=False, erased=True, shown=True, pseudonym=asof.erased_label())


def _nameable(f: dict[str, Any] | None) -> bool:
    return bool(f and f["consent"] and not f["erased"])


def shown_row(row: dict[str, Any], event: Any, flags: dict[str, dict[str, Any]],
              authors: dict[str, str], left_out: set[str] | None = None
              ) -> dict[str, Any] | None:
    """The replay row as it may be shown under the consent flags, or None (left out).
    ``left_out`` collects the short ids of records left out (scrubbed from summaries)."""
    name, oid = row["event_type"], row["record_id"]
    left_out = set() if left_out is None else left_out
    if name.startswith("Participant."):
        f = flags.get(oid)
        if not _nameable(f):
            return None  # not consenting, or erased (the id gives the pseudonym away)
    elif name.startswith(asof.RECORD_PREFIXES):
        author = authors.get(oid)
        f = flags.get(author) if author else None
        if not f or not f["shown"]:
            left_out.add(asof.short_id(oid))
            return None
        left_out.discard(asof.short_id(oid))
        if row["participant"]:
            row["participant"] = f["pseudonym"]  # "erased participant" once erased
    acting = actor_participant(event.__dict__.get("actor") or "")
    if acting is not None:
        f = flags.get(str(acting))
        row["actor"] = (asof.erased_label() if f and f["erased"] else
                        f["pseudonym"] if _nameable(f) else "participant")
    row["summary"] = asof.scrub(row["summary"], left_out)
    return row


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
    authors: dict[str, str] = {}  # record id -> its author's participant id
    left_out: set[str] = set()  # short ids of records left out so far
    try:
        flags, flags_position = current_flags(app, pid)
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
                    name, oid = row["event_type"], row["record_id"]
                    if name in RECORD_CREATED:
                        authors[oid] = str(event.participant_id)
                    if name.startswith("Participant.") and position > flags_position:
                        follow_flags(flags, name, oid, event)
                    if shown_row(row, event, flags, authors, left_out) is None:
                        continue
                    if participant and not _picked(participant, row, event, flags, authors):
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


def _picked(participant: str, row: dict[str, Any], event: Any,
            flags: dict[str, dict[str, Any]], authors: dict[str, str]) -> bool:
    """``--participant``: by pseudonym or id, only a participant who may be named (an
    erased participant's rows are anonymous and cannot be picked out)."""
    who = _participant_id(event) or authors.get(row["record_id"])
    names = {row["actor"]} - {"participant", asof.erased_label()}
    if who and _nameable(flags.get(who)):
        names |= {row["participant"], who}
    return participant in names


def analysis_export(programme_id: str, what: str, fmt: str, out: Path | None,
                    until: str | None, with_text: bool, *, deidentified: bool = False,
                    salt: str | None = None, max_days: int | None = None,
                    lang: str = "sv", sep: str = "comma") -> None:
    """``framdrift export --programme ID --what ... --format ... [--deidentified]`` (from
    the log itself; the current consent flags applied). Names beside keys and summaries
    in ``lang``; CSV with a byte-order mark, separated by ``sep``; xlsx typed."""
    from api.replay import export_body
    from domain.deidentify import DeidentifyError

    pid = _programme(programme_id)
    if what == "lineage" and fmt != "prov-json":
        raise click.BadParameter("the lineage is exported as prov-json", param_hint="--format")
    if what != "lineage" and fmt == "prov-json":
        raise click.BadParameter("prov-json is for --what lineage", param_hint="--format")
    if deidentified and what == "lineage":
        raise click.UsageError("--deidentified is for --what timeline or records")
    if deidentified and with_text:
        raise click.UsageError("a de-identified export has no text: leave out --with-text")
    position, moment = _moment(until)
    app = open_app()
    try:
        changes: list[dict[str, Any]] = []
        try:
            state = asof.fold_log(app, pid, position=position, time=moment, collect=changes)
        except asof.UnknownProgrammeError as e:
            raise click.ClickException(e.message) from None
        flags, _position = current_flags(app, pid)
        shown = asof.with_consent(state, flags)
        try:
            body, _mimetype = export_body(app, shown, what, fmt, with_text=with_text,
                                          changes=changes, deidentified=deidentified,
                                          salt=salt, max_days=max_days, lang=lang, sep=sep)
        except DeidentifyError as e:
            raise click.ClickException(str(e)) from None
    finally:
        app.close()
    if out is None:
        if isinstance(body, bytes):
            sys.stdout.flush()
            sys.stdout.buffer.write(body)
            sys.stdout.buffer.flush()
        else:
            sys.stdout.write(body)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(body, bytes):
            out.write_bytes(body)
        else:
            out.write_text(body, encoding="utf-8")
        kind = "de-identified " if deidentified else ""
        click.echo(f"exported {kind}{what} of programme {pid} as {fmt} to {out}", err=True)


commands = [replay]
