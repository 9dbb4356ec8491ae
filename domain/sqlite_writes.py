"""eventsourcing's SQLite persistence, with write transactions begun ``BEGIN IMMEDIATE``
(docs/adr/0022-concurrent-writes.md).

The library begins every transaction with a plain (deferred) ``BEGIN``: the write lock is
only asked for at the first write. A writer that has read something first (the chain head,
a key) holds a snapshot; if another connection commits meanwhile, SQLite cannot upgrade
that snapshot to a write and fails at once with "database is locked"
(``SQLITE_BUSY_SNAPSHOT``) instead of waiting for the lock: the busy timeout does not
apply to it. Under concurrent writers (several processes, or threads on several
connections) that surfaced to users as failed saves.

``BEGIN IMMEDIATE`` takes the write lock up front, waiting for it under the busy timeout
(``SQLITE_LOCK_TIMEOUT``), so a write transaction never has to upgrade. Read-only
transactions (``commit=False``) stay deferred: in WAL mode they never wait for writers.

``PERSISTENCE_MODULE=domain.sqlite_writes`` (set by :func:`domain.store.parse_database_url`)
selects it; everything else is the library's.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from eventsourcing import sqlite as library
from eventsourcing.persistence import OperationalError, PersistenceError
from eventsourcing.sqlite import SQLiteConnection, SQLiteCursor
from eventsourcing.utils import Environment, EnvType

# The library's module is imported as a module, not its factory by name: the library
# finds the one factory class in the module PERSISTENCE_MODULE names.

BEGIN_WRITE = "BEGIN IMMEDIATE"
BEGIN_READ = "BEGIN"


class ImmediateTransaction(library.SQLiteTransaction):
    """The library's transaction; a writing one asks for the write lock as it begins."""

    def __enter__(self) -> SQLiteCursor:
        cursor = self.connection.cursor()
        try:
            cursor.execute(BEGIN_WRITE if self.commit else BEGIN_READ)
        except sqlite3.OperationalError as e:  # the lock not had within the busy timeout
            cursor.sqlite_cursor.close()
            raise OperationalError(e) from e
        except sqlite3.Error as e:
            cursor.sqlite_cursor.close()
            raise PersistenceError(e) from e
        return cursor


class ImmediateSQLiteConnection(SQLiteConnection):
    @contextmanager
    def transaction(self, *, commit: bool) -> Iterator[SQLiteCursor]:
        with ImmediateTransaction(self, commit=commit) as curs, curs:
            yield curs


class ImmediateSQLiteConnectionPool(library.SQLiteConnectionPool):
    def _create_connection(self) -> SQLiteConnection:
        made = super()._create_connection()
        return ImmediateSQLiteConnection(sqlite_conn=made._sqlite_conn, max_age=self.max_age)


class ImmediateSQLiteDatastore(library.SQLiteDatastore):
    """The library's datastore over a pool of :class:`ImmediateSQLiteConnection`."""

    def __init__(self, db_name: str, **kwargs: Any):
        super().__init__(db_name, **kwargs)
        old = self.pool  # made by the library's __init__; no connection opened yet
        self.pool = ImmediateSQLiteConnectionPool(
            db_name=db_name,
            lock_timeout=old.lock_timeout,
            pool_size=old.pool_size,
            max_overflow=old.max_overflow,
            pool_timeout=old.pool_timeout,
            max_age=old.max_age,
            pre_ping=old.pre_ping,
        )
        old.close()


class ImmediateSQLiteFactory(library.SQLiteFactory):
    """The library's factory, whose datastore begins write transactions immediately."""

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        old = self.datastore
        self.datastore = ImmediateSQLiteDatastore(
            db_name=old.pool.db_name,
            lock_timeout=old.pool.lock_timeout,
            single_row_tracking=old.single_row_tracking,
            originator_id_type=old.originator_id_type,
        )
        old.close()


Factory = ImmediateSQLiteFactory
