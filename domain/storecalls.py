"""Counting what a piece of code asks the store (issue 14; ADRs 0023 and 0024).

A diagnostic for tests and benchmarks, never switched on in a running service:
:func:`counting` wraps one :class:`~domain.application.Framdrift`'s store while the block
runs and counts, for this thread only (a test's request runs in the test's thread):

- ``reads``: calls that read the store (the recorders' selects and ``Sql.query``), each
  with a short label in ``read_labels``; ``writes``: calls of ``insert_events``;
- ``trips``: one line per round trip, its statements' first words and the project's code
  that checked the connection out (for a failing test's message); ``round_trips`` their
  number. PostgreSQL: the ``ReadyForQuery`` messages in libpq's trace, one per statement
  outside a pipeline (``BEGIN`` and ``COMMIT`` included) and one per sync in a pipeline.
  SQLite: the statements run (no network; each is one call into the library).
- ``prepares``: psycopg's own trips to prepare a statement it has run often on a
  connection, or to deallocate one when its cache is full. They depend on which pooled
  connection the code gets, so they are kept apart from ``round_trips``.

Loaded by path by benchmarks/post_cpu.py to count another tree's app as well: it imports
nothing from the project.
"""

from __future__ import annotations

import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

_PROJECT = ("/domain/", "/api/", "/projections/")
# libpq's trace lines: a statement (a Query's text, a Parse's name and text), a Bind of a
# prepared statement (an unnamed one was parsed just before)
_TEXT = re.compile(r'^F\t\d+\t(?:Query\t "|Parse\t "([^"]*)" ")\W*(\w*)')
_BIND = re.compile(r'^F\t\d+\tBind\t "[^"]*" "([^"]*)"')


@dataclass
class StoreCalls:
    reads: int = 0
    writes: int = 0
    read_labels: list[str] = field(default_factory=list)
    trips: list[str] = field(default_factory=list)
    prepares: list[str] = field(default_factory=list)

    @property
    def round_trips(self) -> int:
        return len(self.trips)

    def __str__(self) -> str:
        return (f"{self.round_trips} round trips:\n  " + "\n  ".join(self.trips)
                + f"\n(and psycopg's own: {', '.join(self.prepares) or 'none'})")


def _site() -> str:
    """The caller's innermost project frames, one per file, up to three."""
    frame, found, last = sys._getframe(2), [], __file__
    while frame is not None and len(found) < 3:
        name = frame.f_code.co_filename
        if (any(p in name for p in _PROJECT) and name not in (__file__, last)
                and "/tests/" not in name):
            found.append(f"{'/'.join(name.rsplit('/', 2)[-2:])}:{frame.f_lineno} "
                         f"{frame.f_code.co_name}")
            last = name
        frame = frame.f_back
    return " < ".join(found) or "?"


def _postgres_trips(trace: Any, conn: Any, site: str, calls: StoreCalls) -> None:
    """Split libpq's trace of one checkout at its ReadyForQuery messages."""
    cache = getattr(getattr(conn, "_prepared", None), "_names", {})  # psycopg's own
    texts = {name.decode(): (bytes(key[0]).split() or [b"?"])[0].decode(errors="replace")
             for key, name in cache.items()}
    words: list[str] = []
    parsed = "?"
    ran = False  # a Query or a Bind: the trip ran something; else psycopg's own PREPARE
    for line in trace:
        if m := _TEXT.match(line):
            word = (m.group(2) or "?").upper()
            if m.group(1):  # a named Parse: psycopg prepares it, a Bind runs it
                texts[m.group(1)] = parsed = word
            else:
                words.append(word)
                ran = ran or m.group(1) is None  # a Query
        elif m := _BIND.match(line):
            ran = True
            if m.group(1):
                words.append(texts.get(m.group(1), "prepared"))
        elif line.startswith("F\t") and "\tClose\t" in line:
            words.append("CLOSE")
        elif line.startswith("B\t") and "\tReadyForQuery\t" in line:
            if ran and set(words) != {"DEALLOCATE"}:
                calls.trips.append(f"{' '.join(words)} at {site}")
            else:  # a named Parse alone, a Close, a DEALLOCATE
                calls.prepares.append(" ".join(words) or f"PREPARE {parsed}")
            words, ran = [], False


@contextmanager
def counting(app: Any) -> Iterator[StoreCalls]:
    """Count ``app``'s store calls made by this thread inside the block."""
    calls = StoreCalls()
    mine = threading.get_ident()
    restore: list[tuple[Any, str, Any]] = []

    def wrap(owner: Any, name: str, on_call: Any) -> None:
        original = getattr(owner, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() == mine:
                on_call(args)
            return original(*args, **kwargs)

        restore.append((owner, name, owner.__dict__.get(name, _MISSING)))
        setattr(owner, name, wrapper)

    def read(label: str) -> Any:
        def on_call(args: tuple[Any, ...]) -> None:
            calls.reads += 1
            detail = " " + " ".join(str(args[0]).split())[:60] if label == "sql" and args else ""
            calls.read_labels.append(label + detail)
        return on_call

    recorders = [("events", app.recorder)]
    snapshots = getattr(app, "snapshots", None)
    if snapshots is not None and snapshots.recorder is not app.recorder:
        recorders.append(("snapshot", snapshots.recorder))
    for kind, recorder in recorders:
        for name in ("select_events", "select_newer", "select_notifications",
                     "max_notification_id"):
            if hasattr(recorder, name):
                wrap(recorder, name, read(f"{kind}.{name}"))
    wrap(app.recorder, "insert_events", lambda _args: setattr(calls, "writes", calls.writes + 1))
    wrap(app.sql, "query", read("sql"))

    datastore = app.factory.datastore
    original = datastore.get_connection
    postgres = app.config.is_postgres

    @contextmanager
    def get_connection(*args: Any, **kwargs: Any) -> Iterator[Any]:
        with original(*args, **kwargs) as conn:
            if threading.get_ident() != mine:
                yield conn
            elif postgres:
                from psycopg.pq import Trace

                site = _site()
                with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as trace:
                    conn.pgconn.trace(trace.fileno())
                    conn.pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS)
                    try:
                        yield conn
                    finally:
                        conn.pgconn.untrace()  # flushes the trace
                        trace.seek(0)
                        _postgres_trips(trace, conn, site, calls)
            else:
                site = _site()

                def on_statement(statement: str) -> None:
                    if threading.get_ident() == mine:
                        word = (statement.split(maxsplit=1) or ["?"])[0].upper()
                        calls.trips.append(f"{word} at {site}")

                conn._sqlite_conn.set_trace_callback(on_statement)
                try:
                    yield conn
                finally:
                    conn._sqlite_conn.set_trace_callback(None)

    restore.append((datastore, "get_connection", datastore.__dict__.get("get_connection",
                                                                        _MISSING)))
    datastore.get_connection = get_connection
    try:
        yield calls
    finally:
        for owner, name, before in reversed(restore):
            if before is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, before)


_MISSING = object()
