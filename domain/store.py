"""Where events live: one setting, ``FRAMDRIFT_DATABASE_URL``.

``sqlite:///path/to/file.sqlite3`` (the embedded default, a file under the data
directory) or ``postgresql://user:pass@host:port/db?schema=name``. This module
turns the URL into eventsourcing's environment and offers a tiny SQL helper over
eventsourcing's own datastore, so that the key store and the read models share
its connection pool and transactions on both databases.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from eventsourcing.persistence import (
    DatabaseError,
    DataError,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    PersistenceError,
    ProgrammingError,
)

# sqlite3's errors as eventsourcing's SQLite transaction raises them
_SQLITE_ERRORS: dict[type[Exception], type[Exception]] = {
    sqlite3.InterfaceError: InterfaceError, sqlite3.DataError: DataError,
    sqlite3.OperationalError: OperationalError, sqlite3.IntegrityError: IntegrityError,
    sqlite3.InternalError: InternalError, sqlite3.ProgrammingError: ProgrammingError,
    sqlite3.NotSupportedError: NotSupportedError, sqlite3.DatabaseError: DatabaseError,
}

DEFAULT_DATA_DIR = "data"
SQLITE_FILE = "framdrift.sqlite3"
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class StoreConfigError(ValueError):
    """FRAMDRIFT_DATABASE_URL cannot be understood."""


def data_dir() -> Path:
    return Path(os.environ.get("FRAMDRIFT_DATA_DIR") or DEFAULT_DATA_DIR)


def default_database_url() -> str:
    return f"sqlite:///{data_dir() / SQLITE_FILE}"


def database_url() -> str:
    return os.environ.get("FRAMDRIFT_DATABASE_URL") or default_database_url()


@dataclass(frozen=True)
class StoreConfig:
    url: str
    kind: str  # "sqlite" | "postgres"
    env: dict[str, str]
    schema: str | None = None

    @property
    def is_postgres(self) -> bool:
        return self.kind == "postgres"

    def describe(self) -> str:
        """The URL without its password, for messages and logs."""
        return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", self.url)


def parse_database_url(url: str | None = None, *, create_dirs: bool = True) -> StoreConfig:
    """Turn the database URL into eventsourcing settings.

    Tables are never created implicitly (CREATE_TABLE=no): ``framdrift migrate``
    creates them once, so web workers never race each other to do it.
    """
    url = url or database_url()
    parsed = urlparse(url)
    common = {"CREATE_TABLE": "no", "POSTGRES_ENABLE_DB_FUNCTIONS": "no"}
    if parsed.scheme == "sqlite":
        if not url.startswith("sqlite:///"):
            raise StoreConfigError("write sqlite URLs as sqlite:///relative/path or sqlite:////abs/path")
        # sqlite:///data/x.sqlite3 is relative; sqlite:////srv/x.sqlite3 is absolute.
        raw = unquote(url[len("sqlite:///") :].split("?", 1)[0])
        if not raw:
            raise StoreConfigError("sqlite URL needs a file path, e.g. sqlite:///data/framdrift.sqlite3")
        if ":memory:" not in raw and "mode=memory" not in raw and create_dirs:
            Path(raw).expanduser().parent.mkdir(parents=True, exist_ok=True)
        env = {
            **common,
            "PERSISTENCE_MODULE": "domain.sqlite_writes",  # BEGIN IMMEDIATE (ADR 0022)
            "SQLITE_DBNAME": str(Path(raw).expanduser()) if ":memory:" not in raw else raw,
            "SQLITE_LOCK_TIMEOUT": "30",
        }
        return StoreConfig(url=url, kind="sqlite", env=env)
    if parsed.scheme in ("postgres", "postgresql", "postgresql+psycopg"):
        query = parse_qs(parsed.query)
        schema = (query.get("schema") or [""])[0] or None
        if schema is not None and not _IDENT.match(schema):
            raise StoreConfigError(f"schema {schema!r} must be a lower-case SQL identifier")
        dbname = (parsed.path or "/").lstrip("/")
        if not dbname:
            raise StoreConfigError("postgresql URL needs a database name")
        env = {
            **common,
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": unquote(dbname),
            "POSTGRES_HOST": parsed.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parsed.port or 5432),
            "POSTGRES_USER": unquote(parsed.username or os.environ.get("PGUSER", "postgres")),
            "POSTGRES_PASSWORD": unquote(parsed.password or ""),
            "POSTGRES_CONNECT_TIMEOUT": "10",
            "POSTGRES_POOL_SIZE": _pool_setting(query, "pool_size", 5, least=1),
            "POSTGRES_MAX_OVERFLOW": _pool_setting(query, "max_overflow", 10, least=0),
            # no ping per checkout: domain/pgpool.py checks idle connections for free
            "POSTGRES_PRE_PING": "n",
        }
        if schema:
            env["POSTGRES_SCHEMA"] = schema
        return StoreConfig(url=url, kind="postgres", env=env, schema=schema)
    raise StoreConfigError(
        "FRAMDRIFT_DATABASE_URL must start with sqlite:/// or postgresql:// "
        f"(got {parsed.scheme!r})"
    )


def _pool_setting(query: dict[str, list[str]], name: str, default: int, *, least: int) -> str:
    """One of the pool's sizes from the URL (``?pool_size=5&max_overflow=10``). A process
    holds at most pool_size + max_overflow connections to PostgreSQL; README, "Connections
    to PostgreSQL", adds them up against the server's ``max_connections``."""
    raw = (query.get(name) or [str(default)])[0]
    if not raw.isdigit() or int(raw) < least:
        raise StoreConfigError(f"{name} in the database URL must be a whole number of at least "
                               f"{least} (got {raw!r})")
    return str(int(raw))


class Sql:
    """Portable SQL over eventsourcing's datastore (SQLite or PostgreSQL).

    Statements are written with ``?`` placeholders and ``{t}`` names; the helper
    rewrites placeholders for psycopg and qualifies table names with the schema.
    """

    def __init__(self, datastore: Any, *, postgres: bool, schema: str | None = None):
        self.datastore = datastore
        self.postgres = postgres
        self.schema = schema or ("public" if postgres else None)

    @property
    def blob(self) -> str:
        return "BYTEA" if self.postgres else "BLOB"

    def table(self, name: str) -> str:
        if not _IDENT.match(name):
            raise ValueError(f"bad table name {name!r}")
        return f"{self.schema}.{name}" if self.postgres else name

    def prepare(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.postgres else statement

    @contextmanager
    def transaction(self, *, commit: bool = True) -> Iterator[Cursor]:
        with self.datastore.transaction(commit=commit) as cursor:
            yield Cursor(cursor, self)

    @contextmanager
    def reading(self) -> Iterator[Cursor]:
        """One consistent snapshot for a read made of several statements: on PostgreSQL a
        REPEATABLE READ transaction opened by one statement (``BEGIN ISOLATION LEVEL
        REPEATABLE READ``, not BEGIN and then SET: a round trip less), always rolled back;
        on SQLite a read transaction (a snapshot of its own)."""
        if not self.postgres:
            with self.transaction(commit=False) as cur:
                yield cur
            return
        from psycopg import IsolationLevel

        with self.datastore.get_connection() as conn:
            conn.isolation_level = IsolationLevel.REPEATABLE_READ  # no round trip: idle
            try:
                with conn.transaction(force_rollback=True):
                    yield Cursor(conn.cursor(), self)
            finally:
                # the pooled connection goes back as it came (eventsourcing's writes
                # rely on the server's default, READ COMMITTED); a broken one is dropped
                if not (conn.closed or conn.broken):
                    conn.isolation_level = None

    def query(self, statement: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """A read of one statement, in autocommit: the statement is its own snapshot, so
        no BEGIN and ROLLBACK around it (two round trips fewer on PostgreSQL, ADR 0023).
        Retried once on another connection if the one it got has died (pooled
        connections are not pinged on checkout: domain/pgpool.py)."""
        try:
            return self._autocommit(statement, params)
        except (OperationalError, InterfaceError):
            if not self.postgres:
                raise
        return self._autocommit(statement, params)

    def _autocommit(self, statement: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        if self.postgres:  # eventsourcing's connections are in autocommit mode
            with self.datastore.get_connection() as conn, conn.cursor() as cursor:
                return Cursor(cursor, self).query(statement, params)
        with self.datastore.get_connection(commit=False) as conn:  # a reader's connection
            cursor = conn.cursor()
            try:
                return Cursor(cursor, self).query(statement, params)
            except sqlite3.Error as e:  # as the library's transaction maps them
                raise _SQLITE_ERRORS.get(type(e), PersistenceError)(e) from e
            finally:
                cursor.sqlite_cursor.close()

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        with self.transaction(commit=True) as cur:
            cur.execute(statement, params)


class Cursor:
    def __init__(self, cursor: Any, sql: Sql):
        self._cursor = cursor
        self._sql = sql

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        self._cursor.execute(self._sql.prepare(statement), tuple(params))

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        statement = self._sql.prepare(statement)
        if self._sql.postgres:
            self._cursor.executemany(statement, [tuple(r) for r in rows])
        else:
            self._cursor.sqlite_cursor.executemany(statement, [tuple(r) for r in rows])

    def query(self, statement: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        self.execute(statement, params)
        return [dict(row) for row in self._cursor.fetchall()]

    @property
    def raw(self) -> Any:
        return self._cursor
