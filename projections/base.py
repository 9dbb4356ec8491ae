"""Building blocks of the read models: table definitions, views and projections.

A *view* owns a projection's tables. While a batch of events is processed, the
projection's handlers only change the view's in-memory buffers; the runner then
writes every view's buffered rows and every projection's tracking position in one
transaction (:meth:`View.flush`), so each event is applied exactly once. A view
also keeps small caches of state it needs across batches; the tables are the
truth, caches are refilled from them after a restart or a conflict.

Projections follow eventsourcing's style: ``class XProjection(ReadModel[XView])``
with a ``@singledispatchmethod process_event(self, event, tracking)``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from typing import Any, ClassVar, TypeVar

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.projection import Projection

from domain.describe import (
    sid,  # noqa: F401 - re-exported for the projections
    utc_iso,
)
from domain.store import Cursor, Sql

TRACKING_TABLE = "pj_tracking"


@dataclass(frozen=True)
class Table:
    """One read-model table: columns, primary key and secondary indexes."""

    name: str
    columns: str
    primary_key: str
    indexes: tuple[tuple[str, str], ...] = ()

    def create_statement(self, sql: Sql, suffix: str = "") -> str:
        return (
            f"CREATE TABLE IF NOT EXISTS {sql.table(self.name + suffix)} "
            f"({self.columns}, PRIMARY KEY ({self.primary_key}))"
        )

    def index_statements(self, sql: Sql) -> list[str]:
        return [
            f"CREATE INDEX IF NOT EXISTS {index} ON {sql.table(self.name)} ({columns})"
            for index, columns in self.indexes
        ]


def rowcount(cur: Cursor) -> int:
    raw = cur.raw
    return int(getattr(raw, "sqlite_cursor", raw).rowcount)


def utcnow() -> str:
    return datetime.now(UTC).isoformat()


def read_positions(sql: Sql) -> dict[str, int]:
    rows = sql.query(f"SELECT name, position FROM {sql.table(TRACKING_TABLE)}")
    return {r["name"]: int(r["position"]) for r in rows}


def set_position(cur: Cursor, sql: Sql, name: str, position: int) -> None:
    cur.execute(
        f"INSERT INTO {sql.table(TRACKING_TABLE)} (name, position, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET position = excluded.position, "
        "updated_at = excluded.updated_at",
        (name, position, utcnow()),
    )


class View(TrackingRecorder):
    """A projection's tables, its buffered changes for the current batch, its tracking.

    ``suffix`` names a parallel set of tables (``_new`` during a rebuild).
    """

    tables: ClassVar[tuple[Table, ...]] = ()

    def __init__(self, sql: Sql, name: str, suffix: str = ""):
        self.sql = sql
        self.name = name
        self.suffix = suffix

    def t(self, name: str) -> str:
        return self.sql.table(name + self.suffix)

    def flush(self, cur: Cursor) -> None:
        """Write the buffered changes (inside the runner's transaction)."""

    def clear(self) -> None:
        """Forget the buffered changes (after a flush, or when it was rolled back)."""

    def forget(self) -> None:
        """Forget buffers and caches (another runner may have moved the tables on)."""
        self.clear()

    # TrackingRecorder: where this projection has got to --------------------------

    def insert_tracking(self, tracking: Tracking) -> None:
        with self.sql.transaction() as cur:
            set_position(cur, self.sql, self.name, tracking.notification_id)

    def max_tracking_id(self, application_name: str) -> int | None:
        return read_positions(self.sql).get(self.name)


V = TypeVar("V", bound=View)


class ReadModel(Projection[V]):  # type: ignore[type-var]
    """A projection whose handlers buffer row changes in its view."""

    name: ClassVar[str] = ""
    view_class: ClassVar[type[View]] = View

    def __init__(self, view: V):
        super().__init__(view)

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Events this read model does not care about."""


_LAST_TIME: tuple[Any, str] = (None, "")


def event_time(event: Any) -> str:
    """The event's ISO timestamp in UTC (:func:`domain.describe.utc_iso`); several
    projections ask for it per event, so the last answer is remembered (events are
    immutable)."""
    global _LAST_TIME
    last = _LAST_TIME
    if last[0] is event:
        return last[1]
    found = utc_iso(event.__dict__["timestamp"])
    _LAST_TIME = (event, found)
    return found


def remember_time(event: Any, stored: str) -> None:
    """Tell :func:`event_time` the event's time as stored, when that is already what it
    would answer (``utc_iso`` of the decoded time): a rebuild's decoder has the stored
    string at hand, and formatting the time again was ~4% of a rebuild. Only the
    canonical UTC form is taken: ``+00:00`` with no or non-zero microseconds (what
    ``datetime.isoformat`` writes)."""
    global _LAST_TIME
    if stored.endswith("+00:00") and (len(stored) == 25 or (
            len(stored) == 32 and stored[19] == "." and stored[20:26] != "000000")):
        _LAST_TIME = (event, stored)


def monotonic() -> float:
    return time.monotonic()


MULTI_ROWS = 50


def bulk_insert(cur: Cursor, sql: Sql, table: str, columns: tuple[str, ...] | int,
                rows: list[Any]) -> None:
    """Insert rows into a read-model table: COPY on PostgreSQL, executemany on SQLite."""
    if not rows:
        return
    if isinstance(columns, int):
        names = ""
        width = columns
    else:
        names = f" ({', '.join(columns)})"
        width = len(columns)
    if sql.postgres:
        with cur.raw.copy(f"COPY {table}{names} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    # SQLite: multi-row VALUES, MULTI_ROWS rows a statement (fewer steps than executemany).
    values = f"({', '.join('?' * width)})"
    whole = len(rows) - len(rows) % MULTI_ROWS
    if whole:
        statement = f"INSERT INTO {table}{names} VALUES {', '.join([values] * MULTI_ROWS)}"
        execute = cur.raw.sqlite_cursor.execute
        flat = chain.from_iterable
        for start in range(0, whole, MULTI_ROWS):
            execute(statement, list(flat(rows[start:start + MULTI_ROWS])))
    if whole < len(rows):
        cur.executemany(f"INSERT INTO {table}{names} VALUES {values}", rows[whole:])
