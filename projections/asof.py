"""As-of replay: each programme as it stood at any log position or moment.

Part of the timeline read model (``projections.views.TimelineView``): the timeline
already has a row per event, so each row also carries

- ``change``: the event's structural change beyond the row's own columns
  (:func:`domain.replay.change_of` without position, time, type, id and summary; no
  personal text), as JSON;
- ``max_time``: the running maximum of event time so far in that programme (indexed);

and ``pj_timeline_checkpoints`` holds :meth:`ProgrammeState.to_dict` (zlib-compressed
JSON) after every K events of a programme, K = max(1000, events so far // 16) — so a
100k-event programme has about 30 checkpoints, and an as-of read folds at most ~6k
changes (a programme of ~1,200 events has one checkpoint: folding <= 1,000 changes
takes a few ms). One table per event instead of two: before issue 3's last round the
as-of model was a read model of its own with a copy of every event's time, type, id
and summary (docs/adr/0003-as-of-replay.md).

``state_at(sql, programme, position=N)`` is the latest checkpoint <= N plus a fold of
the changes after it up to N. ``state_at(..., time=T)`` maps T to a position first: the
state is the longest prefix of the programme's log in which every event happened at or
before T (``max_time <= T``); see docs/adr/0003-as-of-replay.md. Both are index seeks,
never a replay of the whole log.

The pure helpers at the end (lineage walks, PROV-JSON, export rows) work on a
:class:`ProgrammeState`, whichever way it was built.
"""

from __future__ import annotations

import json
import logging
import pickle
import re
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from typing import Any
from uuid import UUID

from domain import errors
from domain.describe import event_type
from domain.replay import RECORD_CREATED, ProgrammeState, change_of
from domain.store import Cursor, Sql
from projections.base import Table, event_time

log = logging.getLogger("framdrift.projections.asof")

CHECKPOINT_MIN = 1000
CHECKPOINT_RATIO = 16
CACHED_STATES = 16
# A rebuild (``_new`` tables) keeps this many programmes in memory and spills the others
# to a scratch file (``Spill``): its memory stays flat however many programmes the log
# holds (issue 14, item 4: all 850 programmes of a 1M-event store were kept in memory).
CACHED_STATES_REBUILD = 32

TIMELINE = "pj_timeline"
CHECKPOINTS = "pj_timeline_checkpoints"

CHECKPOINT_TABLE = Table(
    CHECKPOINTS,
    "programme_id TEXT NOT NULL, position BIGINT NOT NULL, events INTEGER NOT NULL, "
    "state BYTEA NOT NULL",
    "programme_id, position")

# Running totals of the progress funnel (issue 14): every TOTALS_EVERY changes of a
# programme (a fixed number, however big the programme grows) its funnel counts per
# week, and on each timeline row whose event changes them, the change (``"d"`` in its
# change JSON: [week, count index, +1 or -1] items). The funnel as of any moment is then
# one index seek to the totals at or before it plus at most TOTALS_EVERY short rows.
TOTALS = "pj_timeline_totals"
TOTALS_EVERY = 256
TOTALS_TABLE = Table(
    TOTALS,
    "programme_id TEXT NOT NULL, position BIGINT NOT NULL, totals TEXT NOT NULL",
    "programme_id, position")
# The funnel's counts, in the order of ``ProgrammeState.progress`` rows.
FUNNEL = ("reflections", "withdrawn_reflections", "decisions", "reversed_decisions",
          "planned", "started", "evaluated", "concluded", "adopt", "adapt", "abandon",
          "capabilities")
_STAGE = {name: i for i, name in enumerate(FUNNEL)}


class UnknownProgrammeError(errors.ProgrammeNotFoundError):
    """No programme with that id in the as-of read model."""


class UnknownRecordError(errors.RecordNotFoundError):
    """No record with that id (at that moment)."""


class InvalidMomentError(errors.InvalidValueError):
    """An as-of value that is neither a log position nor an ISO date/time."""


def _encoder() -> Any:
    """``json.dumps(change, separators=(",", ":"), ensure_ascii=False)`` without building
    an encoder per call (it runs once per event while projecting)."""
    from json.encoder import c_make_encoder, encode_basestring

    encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
    if c_make_encoder is None:  # pragma: no cover - CPython always has it
        return encoder.encode
    iterencode = c_make_encoder(None, encoder.default, encode_basestring, None, ":", ",",
                                False, False, True)
    join = "".join
    return lambda change: join(iterencode(change, 0))


encode_change = _encoder()


def checkpoint_due(events: int, since_checkpoint: int) -> bool:
    return since_checkpoint >= max(CHECKPOINT_MIN, events // CHECKPOINT_RATIO)


def fold(state: ProgrammeState, change: dict[str, Any]) -> None:
    """Apply a change; a change that cannot apply (a broken log) is counted, not fatal."""
    try:
        state.apply(change)
    except (KeyError, TypeError, ValueError):
        log.warning("as-of: change at %s (%s) does not apply to programme %s",
                    change.get("position"), change.get("type"), state.programme_id)
        state.position, state.time = change["position"], change["time"]


def state_from_dict(data: dict[str, Any]) -> ProgrammeState:
    """Like ``ProgrammeState.from_dict`` without the deep copy (``data`` is fresh)."""
    state = ProgrammeState(data["programme_id"])
    state.__dict__.update(data)
    return state


def pack(state: ProgrammeState) -> bytes:
    return zlib.compress(json.dumps(state.to_dict(), separators=(",", ":")).encode(), 1)


def unpack(blob: Any) -> ProgrammeState:
    return state_from_dict(json.loads(zlib.decompress(bytes(blob))))


def row_change(row: dict[str, Any]) -> dict[str, Any]:
    """The change of a timeline row (its columns plus its ``change`` JSON)."""
    change = {"position": int(row["position"]), "time": row["event_time"],
              "type": row["event_type"], "id": row["record_id"], "summary": row["summary"]}
    change.update(json.loads(row["change"]))
    change.pop("d", None)  # the funnel's running totals, not part of the change
    return change


def contribution(record: dict[str, Any] | None) -> list[tuple[int, int]]:
    """What one record adds to the funnel (``ProgrammeState.progress``): (week, index in
    FUNNEL) items."""
    if record is None:
        return []
    kind, week = record["kind"], record["week"]
    if kind == "reflection":
        return [(week, 1 if record["void"] else 0)]
    if kind == "decision":
        return [(week, 3 if record["void"] else 2)]
    if kind == "experiment":
        found = [(week, _STAGE[record["stage"]])]
        if record["outcome"]:
            found.append((week, _STAGE[record["outcome"]]))
        return found
    if kind == "capability":
        return [(week, 11)]
    return []


def funnel_totals(state: ProgrammeState) -> dict[int, list[int]]:
    totals: dict[int, list[int]] = {}
    for record in state.records.values():
        for week, index in contribution(record):
            totals.setdefault(week, [0] * len(FUNNEL))[index] += 1
    return totals


def progress_rows(weeks: list[dict[str, Any]],
                  totals: dict[int, list[int]]) -> list[dict[str, Any]]:
    """``ProgrammeState.progress`` from the programme's weeks and funnel totals."""
    rows = []
    for w in sorted(weeks, key=lambda w: w["number"]):
        c = totals.get(w["number"]) or [0] * len(FUNNEL)
        rows.append({
            "week": w["number"], "theme": w["theme"], "reflections": c[0], "decisions": c[2],
            "experiments": {"planned": c[4], "started": c[5], "evaluated": c[6],
                            "concluded": c[7]},
            "outcomes": {"adopt": c[8], "adapt": c[9], "abandon": c[10]},
            "capabilities": c[11], "withdrawn_reflections": c[1], "reversed_decisions": c[3],
        })
    return rows


CHANGE_COLUMNS = "position, event_time, event_type, record_id, summary, change"


# ------------------------------------------------------------------------- while projecting


class Spill:
    """Programme states a rebuild evicted from memory, pickled into an anonymous scratch
    file (deleted when closed): a rebuild's ``_new`` tables have no secondary indexes, so
    loading an evicted state back from them would scan the whole timeline. Only what
    was committed is spilled (states are evicted after the batch's flush)."""

    def __init__(self) -> None:
        self.file: Any = None
        self.where: dict[str, tuple[int, int]] = {}  # programme -> (offset, length)
        self.end = 0

    def put(self, pid: str, entry: list[Any]) -> None:
        if self.file is None:
            self.file = tempfile.TemporaryFile(prefix="framdrift-rebuild-")
        blob = pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL)
        self.file.seek(self.end)
        self.file.write(blob)
        self.where[pid] = (self.end, len(blob))
        self.end += len(blob)

    def take(self, pid: str) -> list[Any] | None:
        found = self.where.pop(pid, None)
        if found is None:
            return None
        self.file.seek(found[0])
        entry: list[Any] = pickle.loads(self.file.read(found[1]))
        if not self.where:  # nothing live: start the file again
            self.end = 0
            self.file.truncate(0)
        return entry

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
        self.file, self.where, self.end = None, {}, 0


class ProgrammeStates:
    """The as-of half of the timeline view: each programme's state, folded as its events
    are projected, and a checkpoint of it every K events (buffered like the rows)."""

    def __init__(self, sql: Sql, suffix: str = ""):
        self.sql = sql
        self.suffix = suffix
        # programme -> [state, changes since its last checkpoint, max event time,
        #               funnel totals, changes since the last totals row]
        self.states: dict[str, list[Any]] = {}
        self.cached_states = CACHED_STATES_REBUILD if suffix else CACHED_STATES
        # A rebuild (``suffix``) starts from empty tables that have no secondary indexes
        # yet: a programme it has not seen has no rows to load, and one it has seen and
        # evicted from memory is in the spill file.
        self.fresh = bool(suffix)
        self.seen: set[str] = set()
        self.spill = Spill()
        self.clear()

    def clear(self) -> None:
        self.checkpoints: list[tuple[Any, ...]] = []
        self.totals: list[tuple[Any, ...]] = []
        self.last: tuple[str | None, Any] = (None, None)  # the entry apply() used last
        while len(self.states) > self.cached_states:  # least recently used first
            pid = next(iter(self.states))
            entry = self.states.pop(pid)
            if self.fresh:
                self.spill.put(pid, entry)

    def forget(self) -> None:
        """After a failed batch: the states in memory may hold its changes; spilled ones
        were committed (``seen`` stays: what they folded may be in the tables)."""
        self.checkpoints, self.totals = [], []
        self.states.clear()
        self.last = (None, None)

    def flush(self, cur: Cursor) -> None:
        if self.checkpoints:
            cur.executemany(f"INSERT INTO {self.sql.table(CHECKPOINTS + self.suffix)} "
                            "VALUES (?, ?, ?, ?)", self.checkpoints)
        if self.totals:
            cur.executemany(f"INSERT INTO {self.sql.table(TOTALS + self.suffix)} "
                            "VALUES (?, ?, ?)", self.totals)

    def entry(self, pid: str) -> list[Any]:
        found = self.states.pop(pid, None)
        if found is None and self.fresh:
            if pid not in self.seen:
                self.seen.add(pid)
                found = [ProgrammeState(pid), 0, "", {}, 0]
            else:
                found = self.spill.take(pid)
        if found is None:
            with self.sql.transaction(commit=False) as cur:
                fetched = fetch(cur, self.sql, pid, suffix=self.suffix)
                rows = cur.query(
                    f"SELECT max_time FROM {self.sql.table(TIMELINE + self.suffix)} "
                    "WHERE programme_id = ? ORDER BY position DESC LIMIT 1", (pid,))
                last = cur.query(
                    f"SELECT position FROM {self.sql.table(TOTALS + self.suffix)} "
                    "WHERE programme_id = ? ORDER BY position DESC LIMIT 1", (pid,))
                # the changes after the last totals row, counted
                since = cur.query(
                    f"SELECT COUNT(*) AS n FROM {self.sql.table(TIMELINE + self.suffix)} "
                    "WHERE programme_id = ? AND position > ?",
                    (pid, int(last[0]["position"]) if last else 0))[0]["n"]
            state, folded = build(pid, *fetched)  # parsed after the transaction
            found = [state, folded, rows[0]["max_time"] if rows else "",
                     funnel_totals(state), int(since)]
        self.states[pid] = found  # most recently used last
        return found

    def apply(self, pid: str, change: dict[str, Any]) -> tuple[str, list[list[int]] | None]:
        """Fold ``change`` into programme ``pid``'s state; the programme's max event time
        and what the change did to its funnel totals (None: nothing)."""
        if pid == self.last[0]:  # already the most recently used: no LRU move
            entry = self.last[1]
        else:
            entry = self.entry(pid)
            self.last = (pid, entry)
        state = entry[0]
        rid = change["id"]
        records = state.records
        record = records.get(rid)
        before = contribution(record) if record is not None else []
        fold(state, change)
        after = contribution(records.get(rid)) if (before or rid in records) else []
        delta: list[list[int]] | None = None
        if before != after:
            totals = entry[3]
            delta = []
            for week, index in before:
                totals.setdefault(week, [0] * len(FUNNEL))[index] -= 1
                delta.append([week, index, -1])
            for week, index in after:
                totals.setdefault(week, [0] * len(FUNNEL))[index] += 1
                delta.append([week, index, 1])
        at = change["time"]
        if at > entry[2]:
            entry[2] = at
        entry[1] += 1
        if entry[1] >= CHECKPOINT_MIN and checkpoint_due(state.events, entry[1]):
            self.checkpoints.append((pid, change["position"], state.events, pack(state)))
            entry[1] = 0
        entry[4] += 1
        if entry[4] >= TOTALS_EVERY:
            self.totals.append((pid, change["position"], encode_change(
                {str(week): counts for week, counts in entry[3].items() if any(counts)})))
            entry[4] = 0
        return entry[2], delta


# ------------------------------------------------------------------------------ reading


@contextmanager
def reading(sql: Sql) -> Iterator[Cursor]:
    """One consistent snapshot for a read made of several statements."""
    with sql.transaction(commit=False) as cur:
        if sql.postgres:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield cur


def load(cur: Cursor, sql: Sql, pid: str, position: int | None = None,
         suffix: str = "") -> tuple[ProgrammeState, int]:
    """The state after the programme's events up to ``position`` (all when None), and
    how many changes were folded on top of the checkpoint."""
    return build(pid, *fetch(cur, sql, pid, position, suffix))


def fetch(cur: Cursor, sql: Sql, pid: str, position: int | None = None,
          suffix: str = "") -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows :func:`build` makes the state of: the latest checkpoint up to
    ``position`` and the changes after it. Build after the transaction ends: a big
    checkpoint takes a while to parse, and PostgreSQL ends a transaction left idle
    for 5 s (eventsourcing's default)."""
    t_cp, t_tl = sql.table(CHECKPOINTS + suffix), sql.table(TIMELINE + suffix)
    bound = "" if position is None else " AND position <= ?"
    params: tuple[Any, ...] = (pid,) if position is None else (pid, position)
    rows = cur.query(f"SELECT position, state FROM {t_cp} WHERE programme_id = ?{bound} "
                     "ORDER BY position DESC LIMIT 1", params)
    after = int(rows[0]["position"]) if rows else 0
    changes = cur.query(f"SELECT {CHANGE_COLUMNS} FROM {t_tl} WHERE programme_id = ? "
                        f"AND position > ?{bound} ORDER BY position", (pid, after, *params[1:]))
    return rows, changes


def build(pid: str, rows: list[dict[str, Any]],
          changes: list[dict[str, Any]]) -> tuple[ProgrammeState, int]:
    state = unpack(rows[0]["state"]) if rows else ProgrammeState(pid)
    for row in changes:
        fold(state, row_change(row))
    return state, len(changes)


def programme_id(value: Any) -> str:
    try:
        return str(UUID(str(value)))
    except ValueError:
        raise UnknownProgrammeError(f"{value!r} is not a programme id",
                                    field="programme_id") from None


# What a moment may be, as text: a log position (ASCII digits; ``"²"`` or ``"١"`` are not
# one) or an ISO 8601 date, optionally with a time (``T`` or a space; minutes, seconds and
# up to six decimals; ``Z`` or an offset, else UTC). Only real calendar days match (leap
# years included, from year 1), so whatever matches is a moment. The API's OpenAPI states
# the same pattern for ``as_of`` (``api.rest_replay``).
MAX_POSITION = 2**62
_YEAR = r"(?:[0-9]{3}[1-9]|[0-9]{2}[1-9]0|[0-9][1-9]00|[1-9]000)"
_LEAP_YEAR = (r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])"
              r"|(?:[02468][48]|[13579][26]|[2468]0)00)")
_DAY = (rf"(?:{_YEAR}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
        rf"|{_YEAR}-(?:0[13-9]|1[0-2])-(?:29|30)"
        rf"|{_YEAR}-(?:0[13578]|1[02])-31"
        rf"|{_LEAP_YEAR}-02-29)")
_TIME = (r"[T ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?"
         r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?")
POSITION_RE = r"[0-9]{1,40}"
MOMENT_RE = rf"{POSITION_RE}|{_DAY}(?:{_TIME})?"
MOMENT_PATTERN = f"^(?:{MOMENT_RE})$"


def is_position(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` also takes ``"²"`` and ``"①"``, which ``int``
    refuses)."""
    return re.fullmatch(POSITION_RE, text) is not None


def instant(value: Any, name: str = "as_of") -> str:
    """An ISO instant in UTC (the stored format); a bare date means the end of that day.
    Moments beyond what a UTC date-time can hold (year 1 with a positive offset, year
    9999 with a negative one) are clamped to its first or last instant."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time.max)
    else:
        text = str(value).strip()
        if not re.fullmatch(f"{_DAY}(?:{_TIME})?", text):
            raise InvalidMomentError(
                f"{text[:60]!r} is neither a log position nor an ISO date or time", field=name
            )
        if len(text) == 10:
            return instant(date.fromisoformat(text), name)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC).isoformat()
    except OverflowError:
        edge = datetime.min if moment.year == 1 else datetime.max
        return edge.replace(tzinfo=UTC).isoformat()


def parse_moment(value: Any, name: str = "as_of") -> tuple[int | None, str | None]:
    """``(position, None)`` for an integer, ``(None, iso_time)`` for a date/time,
    ``(None, None)`` for nothing (now). A position beyond the end of the log is the
    state now (it is clamped to ``MAX_POSITION``, so ``000…0`` and ``999…9`` of up to 40
    digits are positions like any other)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if isinstance(value, bool):
        raise InvalidMomentError("not a moment", field=name)
    if isinstance(value, int):
        if value < 0:
            raise InvalidMomentError("a log position is 0 or more", field=name)
        return min(value, MAX_POSITION), None
    text = str(value).strip()
    if is_position(text):
        return min(int(text), MAX_POSITION), None
    return None, instant(text, name)


def position_at_time(cur: Cursor, sql: Sql, pid: str, moment: str) -> int | None:
    """The last log position of the longest prefix of the programme in which every event
    happened at or before ``moment``; None when all of them did."""
    rows = cur.query(
        f"SELECT position FROM {sql.table(TIMELINE)} WHERE programme_id = ? AND max_time > ? "
        "ORDER BY max_time, position LIMIT 1", (pid, moment))
    return int(rows[0]["position"]) - 1 if rows else None


def _known(cur: Cursor, sql: Sql, pid: str) -> None:
    if not cur.query(f"SELECT 1 AS x FROM {sql.table(TIMELINE)} WHERE programme_id = ? "
                     "LIMIT 1", (pid,)):
        raise UnknownProgrammeError(f"programme {pid} not found", field="programme_id")


def state_at(sql: Sql, programme: Any, *, position: int | None = None,
             time: Any = None) -> ProgrammeState:
    """The programme as of log ``position`` or event ``time`` (the latest without either)."""
    pid = programme_id(programme)
    with reading(sql) as cur:
        _known(cur, sql, pid)
        if time is not None:
            by_time = position_at_time(cur, sql, pid, instant(time))
            if by_time is not None:
                position = by_time if position is None else min(position, by_time)
        fetched = fetch(cur, sql, pid, position)
    return build(pid, *fetched)[0]


def progress_at(sql: Sql, programme: Any, *, position: int | None = None,
                time: Any = None, consent: bool = False) -> list[dict[str, Any]]:
    """The progress funnel per week (``ProgrammeState.progress``) as of log ``position``
    or event ``time``, from the running totals: the totals row at or before the moment
    (one index seek) plus the funnel changes of at most TOTALS_EVERY rows after it — the
    same work for a programme of a thousand events as of a million.

    With ``consent`` the participants' *current* flags apply (``with_consent(state,
    ...).progress()``, docs/adr/0004): the funnel changes of the records of participants
    who do not consent now (and are not erased) are taken off again — their rows up to
    the moment, found by the ``pj_timeline_participant`` index, so this part costs what
    those participants wrote, not the programme's size."""
    return _funnel(sql, programme, position, time, consent)[1]


def progress_moment(sql: Sql, programme: Any,
                    as_of: Any = None) -> tuple[int, list[dict[str, Any]]]:
    """:func:`progress_at` for a user's ``as_of`` (as :func:`moment` takes it), with the
    participants' current consent applied: equal to ``moment(sql, programme,
    as_of).progress()``. Also the log position it is as of (the state's ``position``:
    the programme's last event at or before the moment, 0 before its first). One
    statement, like :func:`progress_at`."""
    position, when = parse_moment(as_of)
    return _funnel(sql, programme, position, when, True)


def _funnel(sql: Sql, programme: Any, position: int | None, time: Any,
            consent: bool) -> tuple[int, list[dict[str, Any]]]:
    pid = programme_id(programme)
    t_tl, t_tt = sql.table(TIMELINE), sql.table(TOTALS)
    upto = MAX_POSITION if position is None else position
    # ONE statement (a consistent snapshot, one round trip): the moment as one position
    # (``b``: a time mapped by ``position_at_time``'s seek, the lower of it and
    # ``position``), the programme's first row (its weeks), the totals at or before it,
    # the rows after them up to it, (``consent``) the rows of participants who do not
    # consent, and the programme's last position up to it. Every range below has ONE
    # upper bound, ``b``: given two (``position <= ? AND position <= (SELECT p FROM b)``)
    # SQLite seeks by one of them and filters by the other, and for a time it chose the
    # unbounded ``?`` — a scan from the moment to the programme's end (issue 14: p99
    # 233 ms at 1M events; docs/adr/0021-asof-funnel-one-bound.md).
    if time is None:
        by_time, params = "SELECT ? AS p", [upto]
    else:
        by_time = ("SELECT CASE WHEN s IS NULL OR s > ? THEN ? ELSE s END AS p FROM "
                   f"(SELECT (SELECT position - 1 FROM {t_tl} WHERE programme_id = ? AND "
                   "max_time > ? ORDER BY max_time, position LIMIT 1) AS s) x")
        params = [upto, upto, pid, instant(time)]
    hidden, hidden_params = "", []
    if consent:
        # (the record rows of a participant carry their author's id: views.TimelineView;
        # by participant, never by programme: a plan that walks the programme's rows and
        # looks each author up is O(programme); ``pj_consent_hidden`` finds the few who
        # do not consent, ``pj_timeline_participant`` their rows)
        hidden = (
            f"UNION ALL SELECT 2 AS k, h.position, h.change AS body FROM {t_tl} h "
            "WHERE h.participant_id IN (SELECT participant_id FROM "
            f"{sql.table('pj_consent')} WHERE programme_id = ? AND consent = 0 AND erased = 0) "
            "AND h.kind NOT IN ('programme', 'participant') "
            "AND h.position <= (SELECT p FROM b) ")
        hidden_params = [pid]
    rows = sql.query(
        f"WITH b AS ({by_time}), "
        f"t AS (SELECT position, totals FROM {t_tt} WHERE programme_id = ? "
        "AND position <= (SELECT p FROM b) ORDER BY position DESC LIMIT 1) "
        "SELECT -1 AS k, position, change AS body FROM "
        f"(SELECT position, change FROM {t_tl} WHERE programme_id = ? ORDER BY position "
        "LIMIT 1) f "
        "UNION ALL SELECT 0 AS k, position, totals AS body FROM t "
        f"UNION ALL SELECT 1 AS k, position, change AS body FROM {t_tl} WHERE programme_id = ? "
        "AND position > COALESCE((SELECT position FROM t), 0) "
        "AND position <= (SELECT p FROM b) "
        f"{hidden}"
        "UNION ALL SELECT 3 AS k, COALESCE((SELECT position FROM "
        f"{t_tl} WHERE programme_id = ? AND position <= (SELECT p FROM b) "
        "ORDER BY position DESC LIMIT 1), 0) AS position, NULL AS body "
        "ORDER BY k, position",
        [*params, pid, pid, pid, *hidden_params, pid])
    if not rows or rows[0]["k"] != -1:
        raise UnknownProgrammeError(f"programme {pid} not found", field="programme_id")
    at = int(rows[-1]["position"])  # the last event of the programme up to the moment
    if at < int(rows[0]["position"]):
        return 0, []  # before the programme was planned
    weeks = json.loads(rows[0]["body"]).get("weeks", [])
    totals: dict[int, list[int]] = {}
    for row in rows[1:-1]:
        text = row["body"]
        if row["k"] == 0:
            totals = {int(w): c for w, c in json.loads(text).items()}
        elif '"d":' in text:
            sign = 1 if row["k"] == 1 else -1  # k 2: a hidden participant's change, undone
            for week, index, step in json.loads(text).get("d", ()):
                totals.setdefault(week, [0] * len(FUNNEL))[index] += sign * step
    return at, progress_rows(weeks, totals)


def moment(sql: Sql, programme: Any, as_of: Any = None, *,
           consent: bool = True) -> ProgrammeState:
    """:func:`state_at` for a user's ``as_of`` (a position, an ISO time/date, or None),
    with the participants' *current* consent and erasure flags applied
    (:func:`with_consent`) unless ``consent`` is False."""
    position, when = parse_moment(as_of)
    state = state_at(sql, programme, position=position, time=when)
    return with_consent(state, current_flags(sql, state.programme_id)) if consent else state


def neighbours(sql: Sql, programme: Any, position: int) -> dict[str, Any]:
    """The programme's first, previous, next and last event positions around ``position``
    (and their times), for stepping through the replay."""
    pid = programme_id(programme)
    t = sql.table(TIMELINE)
    out: dict[str, Any] = {}
    with reading(sql) as cur:
        _known(cur, sql, pid)
        for key, where, order in (
            ("first", "", "ASC"), ("last", "", "DESC"),
            ("previous", " AND position < ?", "DESC"), ("next", " AND position > ?", "ASC"),
        ):
            params: tuple[Any, ...] = (pid, position) if where else (pid,)
            rows = cur.query(f"SELECT position, event_time FROM {t} WHERE programme_id = ?"
                             f"{where} ORDER BY position {order} LIMIT 1", params)
            out[key] = ({"position": int(rows[0]["position"]), "time": rows[0]["event_time"]}
                        if rows else None)
    return out


def changes(sql: Sql, programme: Any, *, after: int = 0, until: int | None = None,
            limit: int | None = None) -> list[dict[str, Any]]:
    """The programme's structural changes in log order (positions ``after`` < p <= ``until``)."""
    pid = programme_id(programme)
    bound = "" if until is None else " AND position <= ?"
    params: list[Any] = [pid, after] + ([] if until is None else [until])
    tail = ""
    if limit is not None:
        tail = " LIMIT ?"
        params.append(limit)
    with reading(sql) as cur:
        _known(cur, sql, pid)
        rows = cur.query(f"SELECT {CHANGE_COLUMNS} FROM {sql.table(TIMELINE)} "
                         f"WHERE programme_id = ? AND position > ?{bound} "
                         f"ORDER BY position{tail}", params)
    return [row_change(r) for r in rows]


def programme_of_record(sql: Sql, record: Any) -> str:
    try:
        rid = str(UUID(str(record)))
    except ValueError:
        raise UnknownRecordError(f"{record!r} is not a record id", field="record_id") from None
    rows = sql.query(f"SELECT programme_id FROM {sql.table('pj_records')} WHERE record_id = ?",
                     (rid,))
    if not rows:
        raise UnknownRecordError(f"record {rid} not found", field="record_id")
    return rows[0]["programme_id"]


def fold_log(app: Any, programme: Any, *, position: int | None = None,
             time: Any = None, collect: list[dict[str, Any]] | None = None) -> ProgrammeState:
    """The same state folded straight from the event log (the CLI; no read model needed)."""
    from domain.replay import programme_of

    pid = programme_id(programme)
    limit = instant(time) if time is not None else None
    state = ProgrammeState(pid)
    members: set[str] = {pid}
    for pos, event in app.iter_log(0, batch=2000):
        if position is not None and pos > position:
            break
        d = event.__dict__
        owner = programme_of(event)
        oid = str(d["originator_id"])
        if owner is None and oid not in members:
            continue
        if owner is not None and owner != pid:
            continue
        if limit is not None and event_time(event) > limit:
            break
        name = event_type(event)
        if name == "Participant.Enrolled" or name in RECORD_CREATED:
            members.add(oid)
        change = change_of(pos, event)
        fold(state, change)
        if collect is not None:
            collect.append(change)
    if not state.programme:
        raise UnknownProgrammeError(f"programme {pid} not found", field="programme_id")
    return state


# ------------------------------------------------------------------------------ consent
#
# Whatever replay shows — the state API, the replay and lineage pages, PROV-JSON, the
# analysis exports, the replay CLI — applies each participant's CURRENT consent and
# erasure flags (docs/adr/0004), also to views of the past: a participant who does not
# consent now (withdrawn, never given, not yet seen by the consent model) is left out
# with their records, the links to and from those records, and their own events; an
# erased participant's records keep their place as "erased participant" (no pseudonym,
# no text), their own events are left out. Programme facts stay.

RECORD_PREFIXES = ("Reflection.", "Decision.", "Experiment.", "Capability.")


def erased_label() -> str:
    from projections.views import ERASED_LABEL  # (views imports this module)

    return ERASED_LABEL


def current_flags(sql: Sql, programme: Any) -> dict[str, dict[str, Any]]:
    """Participant id -> ``{"pseudonym", "consent", "erased", "shown"}`` now
    (:func:`projections.queries.consent_flags`)."""
    from projections.queries import consent_flags

    return consent_flags(sql, programme_id(programme))


class ShownState(ProgrammeState):
    """A :class:`ProgrammeState` with consent applied (see :func:`with_consent`):
    ``flags`` are the flags applied, ``enrolled`` the number of participants enrolled
    as of the state (a programme fact, counted whatever their consent)."""

    flags: dict[str, dict[str, Any]]
    enrolled: int
    left_out: set[str]


def flags_of(state: ProgrammeState) -> dict[str, dict[str, Any]] | None:
    return getattr(state, "flags", None)


def with_consent(state: ProgrammeState, flags: dict[str, dict[str, Any]]) -> ShownState:
    """What of ``state`` may be shown under ``flags`` (a new state; ``state`` is kept).

    Records of participants who do not consent are left out, and with them every "based
    on" link (and experiment cycle link) to them; records of erased participants stay,
    named ``erased participant``. ``participants`` keeps only consenting, not erased
    participants (the ones that may be named, filtered on, or drawn as a lane)."""
    label = erased_label()
    out = ShownState(state.programme_id)
    out.__dict__.update(state.to_dict())
    records: dict[str, dict[str, Any]] = {}
    for rid, r in state.records.items():
        f = flags.get(r["participant_id"])
        if not f or not f["shown"]:
            continue
        records[rid] = {**r, "pseudonym": label if f["erased"] else f["pseudonym"]}
    for r in records.values():
        r["based_on"] = [b for b in r["based_on"] if b in records]
        r["units"], r["areas"] = list(r["units"]), list(r["areas"])
        if r.get("previous_cycle_id") and r["previous_cycle_id"] not in records:
            r["previous_cycle_id"] = None
        if r.get("next_cycle_id") and r["next_cycle_id"] not in records:
            r["next_cycle_id"] = None
    participants = {}
    for pid, p in state.participants.items():
        f = flags.get(pid)
        if f and f["consent"] and not f["erased"]:
            participants[pid] = {**p, "pseudonym": f["pseudonym"], "consent": True,
                                 "erased": False}
    for r in records.values():  # team members are named only while they consent
        r["team"] = [m for m in r.get("team") or [] if m in participants]
    out.records = records
    out.participants = participants
    out.flags = flags
    out.enrolled = len(state.participants)
    out.left_out = {short_id(rid) for rid in state.records if rid not in records}
    return out


def short_id(record_id: str) -> str:
    """How summaries name a record (``domain.describe.short``)."""
    return str(record_id)[:8]


def scrub(summary: str | None, left_out: set[str] | frozenset[str]) -> str | None:
    """A summary without the (short) ids of records that are left out, e.g. in
    "decision ... based on 1a2b3c4d, ..." (the link is left out with the record)."""
    if not summary or not left_out:
        return summary
    for word in set(re.findall(r"\b[0-9a-f]{8}\b", summary)) & left_out:
        summary = re.sub(rf"\b{word}\b", "(left out)", summary)
    return summary


def shown_changes(state: ProgrammeState,
                  changes_: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The changes that may be shown with ``state`` (a :class:`ShownState`): a
    participant's own events only while they consent (never once erased), a record's
    events only while the record is shown; programme events always."""
    if flags_of(state) is None:
        return list(changes_)
    out = []
    for c in changes_:
        t = c["type"]
        if t.startswith("Participant."):
            if c["id"] not in state.participants:
                continue
        elif t.startswith(RECORD_PREFIXES):
            if c["id"] not in state.records:
                continue
        out.append(c)
    return out


def actor_label(state: ProgrammeState, actor: str | None) -> str:
    """Who acted, as may be shown: a participant by pseudonym while they consent,
    ``erased participant`` once erased, else just ``participant``."""
    actor = actor or "system"
    if not actor.startswith("participant:"):
        return actor.split(":", 1)[0]
    who = actor[12:]
    flags = flags_of(state)
    if flags is None:
        return (state.participants.get(who) or {}).get("pseudonym", "participant")
    f = flags.get(who)
    if f and f["erased"]:
        return erased_label()
    if f and f["consent"]:
        return f["pseudonym"]
    return "participant"


# ------------------------------------------------------------------------------ lineage


def lineage(state: ProgrammeState, record: Any, *, direction: str = "both") -> dict[str, Any]:
    """What ``record`` came from (``back``), what came of it (``forward``), or both:
    nodes (with the depth at which they were reached) and "based on" edges."""
    rid = str(record)
    if rid not in state.records:
        raise UnknownRecordError(f"record {rid} not found in programme {state.programme_id} "
                                 f"as of position {state.position}", field="record_id")
    records = state.records
    forth: dict[str, list[str]] = {}
    for r in records.values():
        for b in r["based_on"]:
            forth.setdefault(b, []).append(r["id"])
    depth: dict[str, int] = {rid: 0}
    walks = []
    if direction in ("back", "both"):
        walks.append((lambda x: [b for b in records[x]["based_on"] if b in records], -1))
    if direction in ("forward", "both"):
        walks.append((lambda x: forth.get(x, []), 1))
    for step, sign in walks:
        frontier = [rid]
        level = 0
        while frontier:
            level += 1
            nxt = []
            for x in frontier:
                for y in step(x):
                    if y not in depth:
                        depth[y] = sign * level
                        nxt.append(y)
            frontier = nxt
    nodes = []
    weeks = {w["number"]: w["theme"] for w in state.programme.get("weeks", [])}
    for x in sorted(depth, key=lambda x: (records[x]["created_position"])):
        r = records[x]
        nodes.append({
            "id": x, "kind": r["kind"], "week": r["week"], "theme": weeks.get(r["week"]),
            "unit": r["unit"], "units": r["units"], "participant": r["pseudonym"],
            "void": r["void"], "stage": r["stage"], "outcome": r["outcome"],
            "created_at": r["created_at"], "position": r["created_position"],
            "depth": depth[x],
        })
    edges = [{"from": x, "to": b, "relation": "based_on"}
             for x in depth for b in records[x]["based_on"] if b in depth]
    return {"programme_id": state.programme_id, "record_id": rid, "direction": direction,
            "as_of": state.position, "nodes": nodes, "edges": edges}


PROV_NS = "https://framdrift.example.org/ns/prov#"
# The media type of the PROV-JSON documents (none is registered for PROV-JSON; a
# ``+json`` vendor type, so JSON clients still read it), in every download and in the API,
# as its OpenAPI states.
PROV_MEDIA_TYPE = "application/vnd.prov+json"
_KIND_TYPE = {"reflection": "fd:Reflection", "decision": "fd:Decision",
              "experiment": "fd:Experiment", "capability": "fd:Capability"}
_CREATED = {v: k for k, v in RECORD_CREATED.items()}


def prov_document(state: ProgrammeState, record_ids: list[str] | None = None) -> dict[str, Any]:
    """A W3C PROV-JSON document of records (all, or the given ones) and their derivations.

    Entities: records; activities: the events that generated them; agents: participants
    (by pseudonym) acting on behalf of their units.
    """
    chosen = list(state.records) if record_ids is None else [
        rid for rid in record_ids if rid in state.records]
    keep = set(chosen)
    weeks = {w["number"]: w for w in state.programme.get("weeks", [])}
    doc: dict[str, Any] = {
        "prefix": {"fd": PROV_NS, "xsd": "http://www.w3.org/2001/XMLSchema#"},
        "entity": {}, "activity": {}, "agent": {}, "wasGeneratedBy": {},
        "wasDerivedFrom": {}, "wasAssociatedWith": {}, "wasAttributedTo": {},
        "actedOnBehalfOf": {},
    }

    for rid in chosen:
        r = state.records[rid]
        entity = f"fd:record-{rid}"
        activity = f"fd:event-{r['created_position']}"
        week = weeks.get(r["week"], {})
        attrs: dict[str, Any] = {
            "prov:type": _KIND_TYPE[r["kind"]],
            "prov:label": f"{r['kind']} (week {r['week']}, {r['unit']})",
            "fd:week": r["week"], "fd:unit": r["unit"], "fd:void": r["void"],
            "fd:logPosition": r["created_position"],
        }
        if week.get("theme"):
            attrs["fd:theme"] = week["theme"]
        if r["units"]:
            attrs["fd:units"] = list(r["units"])
        if r["areas"]:
            attrs["fd:developmentAreas"] = list(r["areas"])
        if r["stage"]:
            attrs["fd:stage"] = r["stage"]
        if r["outcome"]:
            attrs["fd:outcome"] = r["outcome"]
        doc["entity"][entity] = attrs
        doc["activity"][activity] = {
            "prov:type": "fd:" + _CREATED[r["kind"]],
            "prov:startTime": r["created_at"], "prov:endTime": r["created_at"],
            "fd:logPosition": r["created_position"],
        }
        doc["wasGeneratedBy"][f"_:gen-{rid}"] = {
            "prov:entity": entity, "prov:activity": activity, "prov:time": r["created_at"],
        }
        unit_agent = f"fd:unit-{r['unit']}"
        doc["agent"].setdefault(unit_agent, {"prov:type": "prov:Organization",
                                             "fd:unit": r["unit"]})
        if r["pseudonym"] == erased_label():
            # one anonymous agent for every erased participant: nothing to tell them apart
            person = "fd:erased-participant"
            doc["agent"].setdefault(person, {"prov:type": "prov:Person",
                                             "prov:label": erased_label()})
            doc["wasAssociatedWith"][f"_:assoc-{rid}"] = {
                "prov:activity": activity, "prov:agent": person}
            doc["wasAttributedTo"][f"_:attr-{rid}"] = {"prov:entity": entity,
                                                      "prov:agent": person}
        elif r["pseudonym"]:
            person = f"fd:participant-{r['pseudonym']}"
            doc["agent"].setdefault(person, {"prov:type": "prov:Person",
                                             "fd:pseudonym": r["pseudonym"]})
            doc["wasAssociatedWith"][f"_:assoc-{rid}"] = {
                "prov:activity": activity, "prov:agent": person}
            doc["wasAttributedTo"][f"_:attr-{rid}"] = {"prov:entity": entity,
                                                      "prov:agent": person}
            doc["actedOnBehalfOf"][f"_:deleg-{rid}"] = {
                "prov:delegate": person, "prov:responsible": unit_agent,
                "prov:activity": activity}
        else:
            doc["wasAttributedTo"][f"_:attr-{rid}"] = {"prov:entity": entity,
                                                      "prov:agent": unit_agent}
        for b in r["based_on"]:
            if b in keep:
                doc["wasDerivedFrom"][f"_:der-{rid}-{b}"] = {
                    "prov:generatedEntity": entity, "prov:usedEntity": f"fd:record-{b}",
                    "prov:activity": activity, "fd:relation": "based_on"}
    return {k: v for k, v in doc.items() if v or k == "prefix"}


# ------------------------------------------------------------------------------ exports

RECORD_COLUMNS = [
    "id", "kind", "week", "theme", "participant", "unit", "units", "development_areas",
    "based_on", "void", "stage", "outcome", "cycle", "previous_cycle_id", "created_at",
    "position", "changes",
]
TEXT_FIELDS = ["example", "deficiency", "solutions", "statement", "rationale", "aim",
               "change", "prediction", "measure", "result", "learning", "name", "description"]
TIMELINE_COLUMNS = ["position", "time", "type", "id", "actor", "participant", "unit", "week",
                    "theme", "summary"]


def record_rows(state: ProgrammeState, reveal: Any = None) -> list[dict[str, Any]]:
    """All records as of the state (with consent applied when it is a
    :class:`ShownState`). ``reveal(record_id, version) -> dict`` adds what participants
    wrote in that version (researchers only; never for participants without consent or
    erased — by their current flags when the state has them)."""
    weeks = {w["number"]: w["theme"] for w in state.programme.get("weeks", [])}
    areas = {a: v["name"] for a, v in state.areas.items()}
    rows = []
    for r in sorted(state.records.values(), key=lambda r: r["created_position"]):
        row = {
            "id": r["id"], "kind": r["kind"], "week": r["week"], "theme": weeks.get(r["week"]),
            "participant": r["pseudonym"], "unit": r["unit"], "units": list(r["units"]),
            "development_areas": [areas.get(a, a) for a in r["areas"]],
            "based_on": list(r["based_on"]), "void": r["void"], "stage": r["stage"],
            "outcome": r["outcome"], "cycle": r["cycle"],
            "previous_cycle_id": r["previous_cycle_id"], "created_at": r["created_at"],
            "position": r["created_position"], "changes": r["changes"],
        }
        if reveal is not None:
            flags = flags_of(state)
            author = (flags.get(r["participant_id"]) if flags is not None
                      else state.participants.get(r["participant_id"])) or {}
            readable = bool(author.get("consent") and not author.get("erased"))
            data = reveal(r["id"], r["changes"] + 1) if readable else {}
            writers = data.get("writers") or {}
            for f in TEXT_FIELDS:
                row[f] = data.get(f) if readable else None
                if f in writers:  # a team member's words: shown only while THEY consent
                    writer = (flags.get(writers[f]) if flags is not None
                              else state.participants.get(writers[f])) or {}
                    if not (writer.get("consent") and not writer.get("erased")):
                        row[f] = None
        rows.append(row)
    return rows


def timeline_rows(state: ProgrammeState, changes_: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Change rows made readable: who (pseudonym), unit, week and theme of each event
    (only the changes that may be shown, when the state is a :class:`ShownState`)."""
    weeks = {w["number"]: w["theme"] for w in state.programme.get("weeks", [])}
    rows = []
    for c in shown_changes(state, changes_):
        subject = state.records.get(c["id"]) or {}
        person = state.participants.get(c["id"]) or state.participants.get(
            subject.get("participant_id", ""), {})
        actor = actor_label(state, c.get("actor"))
        week = c.get("week") if isinstance(c.get("week"), int) else subject.get("week")
        if week is None and c.get("material_id") in state.materials:
            week = state.materials[c["material_id"]]["week"]
        if week is None and c.get("meeting_id") in state.meetings:
            week = state.meetings[c["meeting_id"]]["week"]
        rows.append({
            "position": c["position"], "time": c["time"], "type": c["type"], "id": c["id"],
            "actor": actor,
            "participant": subject.get("pseudonym") or person.get("pseudonym"),
            "unit": c.get("unit") if isinstance(c.get("unit"), str) else (
                subject.get("unit") or person.get("unit")),
            "week": week, "theme": weeks.get(week) if week else None,
            "summary": scrub(c.get("summary"), getattr(state, "left_out", set())),
        })
    return rows
