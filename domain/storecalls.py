"""Counting what a piece of code asks the store (issue 14: the reads a form post makes).

A diagnostic for tests and benchmarks, never switched on in a running service:
:func:`counting` wraps one :class:`~domain.application.Framdrift`'s store while the block
runs and counts

- ``reads``: calls that read the store (an aggregate's or record's events, a snapshot,
  a notification page, a key, a link or session check: ``Sql.query`` and the recorders'
  selects), each with a short label in ``read_labels``;
- ``writes``: calls that write events (``insert_events``);
- ``round_trips``: on PostgreSQL the exchanges with the server (the ``ReadyForQuery``
  messages libpq traces: one per statement outside a pipeline, including ``BEGIN`` and
  ``COMMIT``; one per sync in a pipeline); on SQLite the statements executed (there is no
  network, each statement is one call into the library).

Only this thread's calls are counted (a web test's request runs in the test's thread).
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StoreCalls:
    reads: int = 0
    writes: int = 0
    round_trips: int = 0
    read_labels: list[str] = field(default_factory=list)

    def reset(self) -> None:
        self.reads = self.writes = self.round_trips = 0
        self.read_labels.clear()


def _wrap(owner: Any, name: str, on_call: Callable[[tuple[Any, ...]], None],
          restore: list[tuple[Any, str, Any]]) -> None:
    original = getattr(owner, name)
    mine = threading.get_ident()

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() == mine:
            on_call(args)
        return original(*args, **kwargs)

    restore.append((owner, name, owner.__dict__.get(name, _MISSING)))
    setattr(owner, name, wrapper)


_MISSING = object()


@contextmanager
def counting(app: Any) -> Iterator[StoreCalls]:
    """Count ``app``'s store calls made by this thread inside the block."""
    calls = StoreCalls()
    restore: list[tuple[Any, str, Any]] = []

    def read(label: str) -> Callable[[tuple[Any, ...]], None]:
        def on_call(args: tuple[Any, ...]) -> None:
            calls.reads += 1
            detail = ""
            if label == "sql" and args:
                detail = " " + " ".join(str(args[0]).split())[:60]
            calls.read_labels.append(label + detail)
        return on_call

    def write(_args: tuple[Any, ...]) -> None:
        calls.writes += 1

    recorders = [app.recorder]
    snapshots = getattr(app, "snapshots", None)
    if snapshots is not None and snapshots.recorder is not app.recorder:
        recorders.append(snapshots.recorder)
    for n, recorder in enumerate(recorders):
        kind = "events" if n == 0 else "snapshot"
        for name in ("select_events", "select_newer", "select_notifications",
                     "max_notification_id"):
            if hasattr(recorder, name):
                _wrap(recorder, name, read(f"{kind}.{name}"), restore)
    _wrap(app.recorder, "insert_events", write, restore)
    _wrap(app.sql, "query", read("sql"), restore)
    if app.config.is_postgres:
        trips = _count_postgres(app.factory.datastore, restore)
    else:
        trips = _count_sqlite(app.factory.datastore, calls, restore)
    try:
        yield calls
    finally:
        for owner, name, before in reversed(restore):
            if before is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, before)
        if trips is not None:
            calls.round_trips += trips()


def _count_sqlite(datastore: Any, calls: StoreCalls,
                  restore: list[tuple[Any, str, Any]]) -> None:
    """Every statement SQLite runs for this thread (``set_trace_callback``)."""
    original = datastore.get_connection
    mine = threading.get_ident()
    traced: list[Any] = []

    def on_statement(_statement: str) -> None:
        if threading.get_ident() == mine:
            calls.round_trips += 1

    @contextmanager
    def get_connection(*args: Any, **kwargs: Any) -> Iterator[Any]:
        with original(*args, **kwargs) as conn:
            if threading.get_ident() == mine:
                conn._sqlite_conn.set_trace_callback(on_statement)
                traced.append(conn)
            try:
                yield conn
            finally:
                if threading.get_ident() == mine:
                    conn._sqlite_conn.set_trace_callback(None)

    restore.append((datastore, "get_connection", datastore.__dict__.get("get_connection",
                                                                        _MISSING)))
    datastore.get_connection = get_connection


def _count_postgres(datastore: Any, restore: list[tuple[Any, str, Any]]) -> Callable[[], int]:
    """libpq's trace of every connection this thread checks out; the ``ReadyForQuery``
    messages in it, read when the block ends."""
    original = datastore.get_connection
    mine = threading.get_ident()
    handle, path = tempfile.mkstemp(prefix="framdrift-pq-trace-")
    os.close(handle)
    files: list[Any] = []

    @contextmanager
    def get_connection(*args: Any, **kwargs: Any) -> Iterator[Any]:
        with original(*args, **kwargs) as conn:
            if threading.get_ident() != mine:
                yield conn
                return
            out = open(path, "a")  # noqa: SIM115 - closed after untrace below
            files.append(out)
            conn.pgconn.trace(out.fileno())
            try:
                yield conn
            finally:
                conn.pgconn.untrace()  # flushes the trace

    restore.append((datastore, "get_connection", datastore.__dict__.get("get_connection",
                                                                        _MISSING)))
    datastore.get_connection = get_connection

    def trips() -> int:
        for f in files:
            f.close()
        try:
            with open(path) as f:
                return sum(1 for line in f if "\tReadyForQuery\t" in line
                           or " ReadyForQuery " in line)
        finally:
            if os.environ.get('FRAMDRIFT_KEEP_TRACE'):
                os.rename(path, os.environ['FRAMDRIFT_KEEP_TRACE'])
            else:
                os.unlink(path)

    return trips
