"""Count a request's round trips to the database (issue 14, ADR 0023).

On PostgreSQL every round trip of a synchronous psycopg connection (a statement, and the
``BEGIN``, ``COMMIT`` or ``ROLLBACK`` around it) goes through one generator,
``psycopg.generators.execute``: :func:`counting` wraps it where psycopg looks it up. On
SQLite every statement a pooled connection runs (its trace callback, set when the pool
hands it out) is counted, ``BEGIN`` and ``ROLLBACK`` included: calls into the library
rather than trips over a network, but the same count shows the same waste.

psycopg prepares a statement it has run often on a connection (a trip of its own, once
per statement and connection) and DEALLOCATEs one when its cache of them is full: both
depend on which pooled connection a request gets, so they are counted apart, in
``prepares``. Only the calling thread's statements count, so a background thread of the
test does not blur the figure.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

_PROJECT = ("/domain/", "/api/", "/projections/")


@dataclass
class RoundTrips:
    """What :func:`counting` saw: ``calls`` holds, per round trip, the project's line
    that caused it (for a failing test's message)."""

    thread: int = field(default_factory=threading.get_ident)
    calls: list[str] = field(default_factory=list)
    prepares: int = 0

    @property
    def count(self) -> int:
        return len(self.calls)

    def reset(self) -> None:
        self.calls.clear()
        self.prepares = 0

    def _record(self, what: str, *, prepare: bool = False) -> None:
        if threading.get_ident() != self.thread:
            return
        if prepare:
            self.prepares += 1
            return
        where = [f"{f.filename.rsplit('/', 2)[-2]}/{f.filename.rsplit('/', 1)[-1]}:"
                 f"{f.lineno} {f.name}" for f in traceback.extract_stack(limit=40)
                 if any(p in f.filename for p in _PROJECT) and "/tests/" not in f.filename]
        self.calls.append(f"{what} at {where[-1] if where else '?'}")

    def __str__(self) -> str:
        return f"{self.count} round trips:\n  " + "\n  ".join(self.calls)


@contextmanager
def counting() -> Iterator[RoundTrips]:
    """Count the round trips of the calling thread while the block runs."""
    import psycopg._cursor_base as cursor_base
    import psycopg.generators as generators
    from eventsourcing.sqlite import SQLiteConnectionPool

    seen = RoundTrips()
    original = generators.execute

    def execute(pgconn: Any) -> Any:
        caller = sys._getframe(1)  # the psycopg generator that sent the statement
        found = caller.f_locals
        text = found.get("command") or getattr(found.get("pgq"), "query", b"") or b"?"
        word = bytes(text).split()[0].decode(errors="replace")
        if caller.f_code.co_name == "_maybe_prepare_gen" and "key" not in found:
            seen._record("postgres PREPARE", prepare=True)  # once per statement and connection
        elif word.upper() == "DEALLOCATE":  # psycopg's cache of prepared statements is full
            seen._record("postgres DEALLOCATE", prepare=True)
        else:
            seen._record(f"postgres {word}")
        return (yield from original(pgconn))

    # psycopg's connection looks ``generators.execute`` up on the module; its cursor
    # imported the name
    patches: list[tuple[Any, str, Any]] = [
        (generators, "execute", execute), (cursor_base, "execute", execute)]

    touched: list[Any] = []  # SQLite connections given a trace callback

    def trace(statement: str) -> None:
        seen._record(f"sqlite {statement.split()[0] if statement.split() else '?'}")

    take = SQLiteConnectionPool.get_connection

    def get_connection(self: Any, *args: Any, **kwargs: Any) -> Any:
        conn = take(self, *args, **kwargs)
        conn._sqlite_conn.set_trace_callback(trace)  # every statement, however it is run
        touched.append(conn._sqlite_conn)
        return conn

    patches.append((SQLiteConnectionPool, "get_connection", get_connection))
    saved = [(obj, name, getattr(obj, name)) for obj, name, _ in patches]
    for obj, name, new in patches:
        setattr(obj, name, new)
    try:
        yield seen
    finally:
        for obj, name, old in saved:
            setattr(obj, name, old)
        for sqlite_conn in touched:
            try:
                sqlite_conn.set_trace_callback(None)
            except Exception:  # noqa: BLE001 - closed since: nothing to undo
                pass
