"""The hash chain that makes the event log tamper-evident (docs/adr/0005-hash-chain.md).

Every event has one link in ``framdrift_hash_chain``: number ``seq`` (1, 2, ... in log
order), its ``position`` and ``hash = sha256(previous hash | seq | position | event |
key digests)`` over the stored bytes (still encrypted where they are encrypted, so an
erasure, which deletes a key and not events, never breaks it), plus an HMAC of the hash
when ``FRAMDRIFT_CHAIN_KEY`` is set.

Links are written ONLY by the recorders below, in the same transaction as the events
they cover and only for the events that transaction wrote: on PostgreSQL inside the
recorder's exclusive lock on the events table, on SQLite after the inserts took the
write lock, so reading the chain head there is safe. :meth:`LogChain.verify` only
reads. Key digests ride on the first link of the transaction that follows a key's
creation, so a data key deleted or replaced without an erasure event is detected.

A store that predates this chain gets it once from ``framdrift migrate``
(:meth:`LogChain.migrate`), which proves nothing about the log before that moment.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    InterfaceError,
    OperationalError,
    PersistenceError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import retry
from psycopg import ClientCursor
from psycopg.pq import TransactionStatus
from psycopg.sql import SQL, Identifier

from domain.groupcommit import GroupCommit
from domain.privacy import ERASED_TABLE, KEY_TABLE, MASTER_KEY_ENV, KeyStore, MasterKeyError

logger = logging.getLogger(__name__)

CHAIN_TABLE = "framdrift_hash_chain"
META_TABLE = "framdrift_hash_chain_meta"
OLD_CHAIN_TABLE = "framdrift_log_chain"  # the resealable chain of earlier versions, unused
GENESIS = "0" * 64
CHAIN_KEY_ENV = "FRAMDRIFT_CHAIN_KEY"
ERASED_TOPIC = "domain.model:Participant.Erased"
BATCH = 2000

_HEAD = re.compile(r"(?<![0-9A-Za-z])(\d+):(\d+):([0-9a-f]{64})(?![0-9A-Za-z])")


def chain_key_from_env(environ: Any = None) -> bytes | None:
    value = (os.environ if environ is None else environ).get(CHAIN_KEY_ENV, "")
    return value.encode() if value else None


def _oid(value: Any) -> str:
    """The originator id as 32 hex digits, however the store returned it."""
    if isinstance(value, UUID):
        return value.hex
    return UUID(str(value)).hex


def link_hash(previous: str, seq: int, position: int, originator_id: Any,
              version: int, topic: str, state: bytes, key_digests: str = "") -> str:
    """One link: the previous hash, the link's number and position, the stored event
    (id, version, topic, state bytes) and the key digests it commits, unambiguously."""
    digest = hashlib.sha256()
    digest.update(
        f"fd2|{previous}|{seq}|{position}|{_oid(originator_id)}|{version}|"
        f"{len(topic)}:{topic}|{len(state)}:".encode()
    )
    digest.update(state)
    digest.update(f"|{key_digests}".encode("ascii"))
    return digest.hexdigest()


def link_mac(key: bytes | None, digest: str) -> str | None:
    if key is None:
        return None
    return hmac.new(key, b"framdrift-chain|" + digest.encode("ascii"), hashlib.sha256).hexdigest()


def format_key_digests(digests: dict[UUID, str]) -> str:
    return ",".join(f"{subject.hex}:{digest}" for subject, digest in sorted(digests.items()))


def parse_key_digests(text: str | None) -> dict[UUID, str]:
    if not text:
        return {}
    found = {}
    for item in text.split(","):
        subject, _, digest = item.partition(":")
        if not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ValueError(f"malformed key digest {item[:80]!r}")
        found[UUID(hex=subject)] = digest
    return found


@dataclass(frozen=True)
class Head:
    """Where the chain ends: link number, the event's position, the hash. Its
    :meth:`token` (``SEQ:POSITION:HASH``) is what to keep outside the database."""

    seq: int
    position: int
    hash: str

    def token(self) -> str:
        return f"{self.seq}:{self.position}:{self.hash}"


GENESIS_HEAD = Head(0, 0, GENESIS)


def parse_heads(text: str) -> list[Head]:
    """Every ``SEQ:POSITION:HASH`` in a text (a pasted head, or a file of them)."""
    return [Head(int(s), int(p), h) for s, p, h in _HEAD.findall(text)]


# --------------------------------------------------------------------------- writing


class ChainWriter:
    """Makes the links of one write transaction; used by the recorders below."""

    def __init__(self, table: str, key: bytes | None, keys: KeyStore | None):
        self.table = table
        self.key = key
        self.keys = keys
        self.head_statement = f"SELECT seq, hash FROM {table} ORDER BY seq DESC LIMIT 1"
        self.columns = "(seq, position, hash, mac, key_digests)"

    def take_keys(self) -> dict[UUID, str]:
        return self.keys.take_uncommitted() if self.keys is not None else {}

    def give_back(self, taken: dict[UUID, str]) -> None:
        if self.keys is not None:
            self.keys.give_back(taken)

    def links(self, head: Any, stored_events: Sequence[StoredEvent],
              positions: Sequence[int] | None,
              taken: dict[UUID, str]) -> list[tuple[int, int, str, str | None, str | None]]:
        """The links for ``stored_events``, just recorded at ``positions``, after ``head``
        (the last link, read in the same transaction; None for an empty chain)."""
        return list(self.iter_links(head, stored_events, positions, taken))

    def iter_links(self, head: Any, stored_events: Sequence[StoredEvent],
                   positions: Sequence[int] | None,
                   taken: dict[UUID, str]) -> Iterator[tuple[int, int, str, str | None,
                                                              str | None]]:
        """:meth:`links` one at a time (a bulk write streams them to the server as they
        are made, so its transaction is never idle for the seconds 100k hashes take)."""
        if positions is None or len(positions) != len(stored_events):
            raise RuntimeError("the recorder did not return a position for every event")
        seq, previous = (int(head["seq"]), str(head["hash"])) if head else (0, GENESIS)
        digests = format_key_digests(taken)
        for n, (event, position) in enumerate(zip(stored_events, positions, strict=True)):
            seq += 1
            carried = digests if n == 0 else ""
            previous = link_hash(previous, seq, int(position), event.originator_id,
                                 event.originator_version, event.topic, bytes(event.state),
                                 carried)
            yield (seq, int(position), previous, link_mac(self.key, previous), carried or None)


class ChainedSQLiteRecorder(SQLiteApplicationRecorder):
    """eventsourcing's SQLite recorder, writing each event's chain link in its transaction."""

    chain_writer: ChainWriter | None = None
    group_commit: GroupCommit | None = None

    def insert_events(self, stored_events: Sequence[StoredEvent],
                      **kwargs: Any) -> Sequence[int] | None:
        if self.group_commit is not None and _plain(kwargs) and stored_events:
            return self.group_commit.submit(stored_events)  # domain/groupcommit.py
        return self.write_events(stored_events, **kwargs)

    def select_events(self, originator_id: UUID | str, *, gt: int | None = None,
                      lte: int | None = None, desc: bool = False,
                      limit: int | None = None) -> Sequence[StoredEvent]:
        """The library's, without ``BEGIN`` and ``ROLLBACK`` around its one ``SELECT``: a
        single statement in autocommit mode reads one consistent snapshot of the database
        anyway (WAL), and a form post makes four of these reads (idempotency, author,
        programme, record), each two statements and a transaction object lighter."""
        statement = self.select_events_statement
        params: list[Any] = [originator_id.hex if isinstance(originator_id, UUID)
                             else originator_id]
        if gt is not None:
            statement += "AND originator_version>? "
            params.append(gt)
        if lte is not None:
            statement += "AND originator_version<=? "
            params.append(lte)
        statement += "ORDER BY originator_version " + ("DESC " if desc else "ASC ")
        if limit is not None:
            statement += "LIMIT ? "
            params.append(limit)
        return self._stored_events(statement, params)

    def select_newer(self, wanted: Sequence[tuple[UUID, int]]) -> list[StoredEvent]:
        """The events of several aggregates newer than a version each, in ONE statement
        (ordered by aggregate, then version): a request's sign-in check fast-forwards the
        link, its session-end marker, the participant and the programme together instead
        of one look-up each (domain/loading.py ``prefetch``, ADR 0024)."""
        if not wanted:
            return []
        terms = " OR ".join(["(originator_id=? AND originator_version>?)"] * len(wanted))
        params: list[Any] = []
        for originator_id, version in wanted:
            params += [originator_id.hex, int(version)]
        statement = (f"SELECT originator_id, originator_version, topic, state FROM "
                     f"{self.events_table_name} WHERE {terms} "
                     "ORDER BY originator_id, originator_version")
        return self._stored_events(statement, params)

    def _stored_events(self, statement: str, params: Sequence[Any]) -> list[StoredEvent]:
        """Run one read outside a transaction; errors mapped as the library's transaction
        maps them."""
        try:
            with self.datastore.get_connection(commit=False) as conn:
                rows = conn._sqlite_conn.execute(statement, params).fetchall()
        except sqlite3.OperationalError as e:
            raise OperationalError(e) from e
        except sqlite3.Error as e:
            raise PersistenceError(e) from e
        convert = self.convert_originator_id
        return [StoredEvent(originator_id=convert(row["originator_id"]),
                            originator_version=row["originator_version"],
                            topic=row["topic"], state=row["state"]) for row in rows]

    def write_events(self, stored_events: Sequence[StoredEvent],
                     **kwargs: Any) -> Sequence[int] | None:
        """One write transaction: the events and their chain links."""
        writer = self.chain_writer
        if writer is None:
            raise RuntimeError("no chain writer: events are only written by Framdrift")
        if not stored_events:
            return []
        taken = writer.take_keys()
        try:
            with self.datastore.transaction(commit=True) as c:
                # The inserts take SQLite's write lock, so the head read next is the
                # head every later writer will see: writes are serialised.
                positions = self._insert_events(c, stored_events, **kwargs)
                c.execute(writer.head_statement)
                rows = writer.links(c.fetchone(), stored_events, positions, taken)
                c.executemany(f"INSERT INTO {writer.table} {writer.columns} "
                              "VALUES (?, ?, ?, ?, ?)", rows)
                return positions
        except BaseException:
            writer.give_back(taken)
            raise


class ChainedPostgresRecorder(PostgresApplicationRecorder):
    """eventsourcing's PostgreSQL recorder, writing each event's chain link in its
    transaction, under the exclusive lock the recorder takes on the events table."""

    chain_writer: ChainWriter | None = None
    group_commit: GroupCommit | None = None

    _statements: _Rendered | None = None

    def _rendered(self, conn: Any) -> _Rendered:
        """The write's fixed SQL as bytes, rendered once (the library keeps its statements
        as ``sql.Composed``, which psycopg renders again on every execute)."""
        if self._statements is None:
            writer = self.chain_writer
            assert writer is not None
            lock = tuple(s.as_bytes(conn) for s in self.lock_table_statements)
            fixed = [b"BEGIN", *lock,
                     SQL("NOTIFY {0}").format(Identifier(self.channel_name)).as_bytes(conn),
                     writer.head_statement.encode(),
                     SQL("INSERT INTO {0}.{1} AS t (originator_id, originator_version, topic, "
                         "state) VALUES ").format(Identifier(self.datastore.schema),
                                                  Identifier(self.events_table_name))
                     .as_bytes(conn)]
            # (``%`` is psycopg's placeholder: doubled in the fixed text)
            self._statements = _Rendered(
                lock=lock, notify=fixed[-3],
                first=b"; ".join(s.replace(b"%", b"%%") for s in fixed),
                head_result=len(fixed) - 2,
                links=f"INSERT INTO {writer.table} {writer.columns} VALUES ".replace(
                    "%", "%%").encode())
        return self._statements

    def _lock_table(self, curs: Any) -> None:
        for statement in self._rendered(curs.connection).lock:  # the library's, pre-rendered
            curs.execute(statement, prepare=True)

    def _notify_channel(self, curs: Any) -> None:
        curs.execute(self._rendered(curs.connection).notify)

    def insert_events(self, stored_events: Sequence[StoredEvent],
                      **kwargs: Any) -> Sequence[int] | None:
        if self.group_commit is not None and _plain(kwargs) and stored_events:
            return self.group_commit.submit(stored_events)  # domain/groupcommit.py
        return self.write_events(stored_events, **kwargs)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def write_events(self, stored_events: Sequence[StoredEvent],
                     **kwargs: Any) -> Sequence[int] | None:
        """One write transaction: the events and their chain links."""
        writer = self.chain_writer
        if writer is None:
            raise RuntimeError("no chain writer: events are only written by Framdrift")
        if not stored_events:
            return None
        assert not self.datastore.enable_db_functions, "Framdrift inserts with its own statements"
        taken = writer.take_keys()
        try:
            with self.datastore.get_connection() as conn:
                # Two round trips, each ONE simple query of several statements, the values
                # bound by psycopg on this side (ClientCursor): BEGIN, the lock, NOTIFY, the
                # head and the insert; then the links and COMMIT. (ADR 0025: psycopg's
                # pipeline costs a message exchange and a result per statement, and its
                # array dumpers were most of a post's driver CPU.) The library's
                # ``_insert_events`` hook (tracking records) is a no-op for this recorder.
                statements = self._rendered(conn)
                values: list[Any] = []
                for e in stored_events:
                    values += [e.originator_id, e.originator_version, e.topic, bytes(e.state)]
                try:
                    with ClientCursor(conn) as curs:
                        curs.execute(statements.first + _rows(len(stored_events), 4)
                                     + b" RETURNING notification_id", values, prepare=False)
                        for _ in range(statements.head_result):
                            curs.nextset()
                        head = curs.fetchone()
                        curs.nextset()
                        positions = self._fetch_ids_after_insert_events(curs, stored_events)
                        rows = writer.links(head, stored_events, positions, taken)
                        curs.execute(statements.links + _rows(len(rows), 5) + b"; COMMIT",
                                     [value for row in rows for value in row], prepare=False)
                finally:
                    if conn.info.transaction_status != TransactionStatus.IDLE:
                        conn.rollback()  # nothing of it stays (ROLLBACK only if still open)
            return positions
        except BaseException:
            writer.give_back(taken)
            raise

    def select_newer(self, wanted: Sequence[tuple[UUID, int]]) -> list[StoredEvent]:
        """The events of several aggregates newer than a version each, in ONE prepared
        statement and one round trip (ordered by aggregate, then version); see the SQLite
        recorder's. The pairs are joined as arrays, so the statement's text is the same
        for any number of them. Not prepared: a prepared statement costs each pooled
        connection an extra round trip on its first use, and parsing this one is cheap."""
        if not wanted:
            return []
        # array literals (UUIDs and integers need no quoting): psycopg's list dumpers
        # inspect each list on every call
        ids = "{" + ",".join(str(originator_id) for originator_id, _ in wanted) + "}"
        versions = "{" + ",".join(str(int(version)) for _, version in wanted) + "}"
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._select_newer_statement(), (ids, versions), prepare=False)
            return [StoredEvent(originator_id=row["originator_id"],
                                originator_version=row["originator_version"],
                                topic=row["topic"], state=bytes(row["state"]))
                    for row in curs.fetchall()]

    _select_newer: str | None = None

    def _select_newer_statement(self) -> str:
        if self._select_newer is None:
            self._select_newer = (
                "SELECT e.originator_id, e.originator_version, e.topic, e.state "
                f"FROM unnest(%s::uuid[], %s::bigint[]) AS w(id, after) "
                f"JOIN {self._qualified_events_table()} e ON e.originator_id = w.id "
                "AND e.originator_version > w.after "
                "ORDER BY e.originator_id, e.originator_version")
        return self._select_newer

    def insert_events_in_chunks(self, stored_events: Sequence[StoredEvent],
                                chunk: int) -> list[int]:
        """A big batch in ONE transaction, written with COPY (no pipeline mode, see
        ``Framdrift._record_batch``), its links included.

        Bulk loads (the demo, ``import``) come this way: COPY in binary is several times
        faster than eventsourcing's INSERT of a composite array, which psycopg dumps as
        text. The positions are read back under the recorder's exclusive lock: every row
        above the maximum read after taking the lock is this transaction's, in the order
        it was copied (the sequence is drawn row by row). ``chunk`` is unused (kept for
        callers of the chunked INSERTs this replaced)."""
        writer = self.chain_writer
        if writer is None:
            raise RuntimeError("no chain writer: events are only written by Framdrift")
        taken = writer.take_keys()
        table = self._qualified_events_table()
        try:
            with self.datastore.transaction(commit=True) as curs:
                self._lock_table(curs)
                self._notify_channel(curs)
                curs.execute(writer.head_statement)
                head = curs.fetchone()
                curs.execute(f"SELECT COALESCE(MAX(notification_id), 0) AS m FROM {table}")
                before = int(curs.fetchone()["m"])
                with curs.copy(f"COPY {table} (originator_id, originator_version, topic, "
                               "state) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types(["uuid", "int8", "text", "bytea"])
                    for e in stored_events:  # psycopg sends its buffer as it fills
                        copy.write_row((e.originator_id, e.originator_version, e.topic,
                                        e.state))
                curs.execute(f"SELECT notification_id FROM {table} WHERE notification_id > %s "
                             "ORDER BY notification_id", (before,))
                positions = [int(r["notification_id"]) for r in curs.fetchall()]
                if len(positions) != len(stored_events):
                    raise RuntimeError(f"copied {len(stored_events)} events but found "
                                       f"{len(positions)} new positions")
                with curs.copy(f"COPY {writer.table} (seq, position, hash, mac, key_digests) "
                               "FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types(["int8", "int8", "text", "text", "text"])
                    for row in writer.iter_links(head, stored_events, positions, taken):
                        copy.write_row(row)
            return positions
        except BaseException:
            writer.give_back(taken)
            raise

    def _qualified_events_table(self) -> str:
        name = self.events_table_name
        schema = getattr(self.datastore, "schema", None)
        return name if "." in name or not schema else f'"{schema}"."{name}"'


@dataclass(frozen=True)
class _Rendered:
    lock: tuple[bytes, ...]
    notify: bytes
    first: bytes  # BEGIN; lock; NOTIFY; head; INSERT ... VALUES (the rows follow)
    head_result: int  # which of its results is the head's
    links: bytes  # INSERT ... VALUES (the rows follow)


def _rows(count: int, width: int) -> bytes:
    """``count`` rows of ``width`` placeholders for a VALUES list."""
    row = b"(" + b", ".join([b"%s"] * width) + b")"
    return b", ".join([row] * count)


def _plain(kwargs: dict[str, Any]) -> bool:
    """A write without a tracking record (Framdrift's own commands): groupable."""
    return all(value is None for value in kwargs.values())


def recorder_topic(postgres: bool) -> str:
    cls = ChainedPostgresRecorder if postgres else ChainedSQLiteRecorder
    return f"{cls.__module__}:{cls.__qualname__}"


# --------------------------------------------------------------------------- reading


@dataclass
class VerifyReport:
    ok: bool
    events: int = 0
    first_bad_position: int | None = None
    reason: str = ""
    head: Head = GENESIS_HEAD
    keys_matched: int = 0
    keys_erased: int = 0
    anchors: int = 0
    notes: list[str] = field(default_factory=list)


class _Failure(Exception):
    def __init__(self, position: int | None, reason: str):
        super().__init__(reason)
        self.position = position
        self.reason = reason


def _short(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}".strip()


class LogChain:
    """Creating, migrating and verifying the chain (the links themselves are written by
    the recorders above)."""

    def __init__(self, app: Any):
        self.app = app
        self.sql = app.sql
        self.key = chain_key_from_env()
        self.table = self.sql.table(CHAIN_TABLE)
        self.meta = self.sql.table(META_TABLE)

    # where the events are ----------------------------------------------------------

    @property
    def events_table(self) -> str:
        name = self.app.recorder.events_table_name
        return name if "." in name else self.sql.table(name)

    @property
    def position_column(self) -> str:
        return "notification_id" if self.sql.postgres else "rowid"

    def _events_after(self, query: Callable[..., list[dict[str, Any]]], after: int,
                      upto: int | None = None) -> list[dict[str, Any]]:
        pos, limit = self.position_column, BATCH
        bound = f" AND {pos} <= ?" if upto is not None else ""
        params = (after, upto, limit) if upto is not None else (after, limit)
        return query(
            f"SELECT {pos} AS position, originator_id, originator_version, topic, state "
            f"FROM {self.events_table} WHERE {pos} > ?{bound} ORDER BY {pos} LIMIT ?", params)

    def _event_fields(self, row: dict[str, Any]) -> tuple[int, str, int, str, bytes]:
        """The row's fields as the chain hashes them; a _Failure naming what is wrong."""
        position = row["position"]
        if not isinstance(position, int) or isinstance(position, bool):
            raise _Failure(None, f"an event has position {position!r}, not a whole number: "
                                 "the events table was altered")
        oid, version, topic, state = (row["originator_id"], row["originator_version"],
                                      row["topic"], row["state"])
        what = f"the event at position {position}"
        for name, value in (("originator_id", oid), ("originator_version", version),
                            ("topic", topic), ("state", state)):
            if value is None:
                raise _Failure(position, f"{what} has no {name} (NULL): the row was altered")
        if self.sql.postgres and not isinstance(oid, UUID):
            raise _Failure(position, f"{what}: originator_id is {type(oid).__name__}, not "
                                     "uuid: the column's type was changed")
        try:
            oid_hex = _oid(oid)
        except ValueError:
            raise _Failure(position, f"{what}: originator_id {str(oid)[:40]!r} is not an "
                                     "id: the row was altered") from None
        if not isinstance(version, int) or isinstance(version, bool):
            raise _Failure(position, f"{what}: originator_version is "
                                     f"{type(version).__name__}, not an integer: the "
                                     "column's type was changed")
        if not isinstance(topic, str):
            raise _Failure(position, f"{what}: topic is {type(topic).__name__}, not text: "
                                     "the column's type was changed")
        if not isinstance(state, bytes | bytearray | memoryview):
            raise _Failure(position, f"{what}: state is {type(state).__name__}, not bytes: "
                                     "the column's type was changed")
        return position, oid_hex, version, topic, bytes(state)

    # tables and migration --------------------------------------------------------------

    def _exists(self, cur: Any, name: str) -> bool:
        if self.sql.postgres:
            rows = cur.query("SELECT to_regclass(?) AS t", (self.sql.table(name),))
            return rows[0]["t"] is not None
        return bool(cur.query(
            "SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)))

    def migrate(self) -> int:
        """Create the chain's tables; on a store whose log predates them, build the links
        for the events already there, ONCE (never again: an emptied or truncated chain
        is left for ``verify`` to report). Returns how many links were built."""
        with self.sql.transaction() as cur:
            # First a write (SQLite: take the write lock) or the events table's lock
            # (PostgreSQL): no event can be recorded until this transaction ends.
            cur.execute(f"CREATE TABLE IF NOT EXISTS {self.meta} "
                        "(name TEXT PRIMARY KEY, value TEXT NOT NULL)")
            if self.sql.postgres:
                cur.execute(f"LOCK TABLE {self.events_table} IN EXCLUSIVE MODE")
            if self._exists(cur, CHAIN_TABLE):
                links = cur.query(f"SELECT COUNT(*) AS n FROM {self.table}")[0]["n"]
                events = cur.query(f"SELECT COUNT(*) AS n FROM {self.events_table}")[0]["n"]
                if events and not links:
                    logger.warning(
                        "the hash chain is empty but the log holds %d events: it is NOT "
                        "rebuilt (that would hide whatever emptied it); 'framdrift verify' "
                        "reports it. See docs/adr/0005-hash-chain.md.", events)
                return 0
            # One b-tree (SQLite: seq is the rowid), so a write's commit stays small;
            # verify checks positions against the log itself.
            seq = "BIGINT PRIMARY KEY" if self.sql.postgres else "INTEGER PRIMARY KEY"
            cur.execute(f"CREATE TABLE {self.table} (seq {seq}, position BIGINT NOT NULL, "
                        "hash TEXT NOT NULL, mac TEXT, key_digests TEXT)")
            built = self._build(cur)
        return built

    def _build(self, cur: Any) -> int:
        """The links for every event already in the log (inside migrate's transaction);
        the last one carries the digests of the data keys stored now."""
        seq, previous, position = 0, GENESIS, 0
        batch = self._events_after(cur.query, position)
        while batch:
            following = self._events_after(cur.query, batch[-1]["position"])
            digests = "" if following else format_key_digests(self._existing_key_digests(cur))
            links = []
            for n, row in enumerate(batch):
                pos, oid, version, topic, state = self._event_fields(row)
                carried = digests if n == len(batch) - 1 else ""
                seq += 1
                previous = link_hash(previous, seq, pos, oid, version, topic, state, carried)
                links.append((seq, pos, previous, link_mac(self.key, previous), carried or None))
                position = pos
            cur.executemany(f"INSERT INTO {self.table} (seq, position, hash, mac, key_digests) "
                            "VALUES (?, ?, ?, ?, ?)", links)
            batch = following
        built = seq
        if built:
            head = Head(seq, position, previous)
            now = datetime.now(UTC).isoformat(timespec="seconds")
            cur.execute(f"INSERT INTO {self.meta} (name, value) VALUES (?, ?)",
                        ("baseline", f"{head.token()} {now}"))
            logger.warning(
                "built the hash chain over the %d events already in the log (up to position "
                "%d) as a migration step: it proves nothing about the log before now. Head: %s",
                built, position, head.token())
        return built

    def _existing_key_digests(self, cur: Any) -> dict[UUID, str]:
        digests: dict[UUID, str] = {}
        skipped = 0
        for row in cur.query(f"SELECT subject_id, data_key FROM {self.sql.table(KEY_TABLE)}"):
            subject = UUID(row["subject_id"])
            try:
                digests[subject] = self.app.keys.digest_of_stored(subject, bytes(row["data_key"]))
            except MasterKeyError:
                skipped += 1
        if skipped:
            logger.warning("%d sealed data keys could not be opened (set FRAMDRIFT_MASTER_KEY): "
                           "the chain does not cover them", skipped)
        return digests

    def head(self) -> Head:
        """The last stored link (as stored: ``verify`` says whether it holds)."""
        rows = self.sql.query(f"SELECT seq, position, hash FROM {self.table} "
                              "ORDER BY seq DESC LIMIT 1")
        if not rows:
            return GENESIS_HEAD
        return Head(int(rows[0]["seq"]), int(rows[0]["position"]), str(rows[0]["hash"]))

    # verification -----------------------------------------------------------------

    def _links(self, after_seq: int, upto_position: int) -> Iterator[dict[str, Any]]:
        while True:
            rows = self.sql.query(
                f"SELECT seq, position, hash, mac, key_digests FROM {self.table} "
                "WHERE seq > ? AND position <= ? ORDER BY seq LIMIT ?",
                (after_seq, upto_position, BATCH))
            if not rows:
                return
            yield from rows
            after_seq = int(rows[-1]["seq"])

    def verify(self, *, against: Sequence[Head] = (),
               progress: Callable[[int], None] | None = None) -> VerifyReport:
        """Recompute the chain from the first event and compare it with the stored links,
        the anchors given (heads printed earlier) and the data keys. Reads only; any
        damage to the tables ends in a failed report, never an exception."""
        report = VerifyReport(ok=True, anchors=len(against))
        step = "reading the chain"
        try:
            if not self._readable(CHAIN_TABLE):
                raise _Failure(None, f"the chain table {CHAIN_TABLE} does not exist: it was "
                                     "dropped, or this store was never migrated ('framdrift "
                                     "migrate' creates it)")
            stored_head = self.head()
            step = "reading the events and their chain links"
            last = self.app.recorder.max_notification_id() or 0
            upto = max(last, stored_head.position)
            self._verify_log(report, against, upto, progress)
            step = "checking the data keys"
            self._verify_keys(report)
            step = "reading the chain's notes"
            self._notes(report)
        except _Failure as f:
            report.ok, report.first_bad_position, report.reason = False, f.position, f.reason
        except Exception as e:  # noqa: BLE001 - whatever was done to the tables: a message
            report.ok = False
            report.reason = f"cannot finish {step}: {_short(e)}"
        return report

    def _readable(self, name: str) -> bool:
        with self.sql.transaction(commit=False) as cur:
            return self._exists(cur, name)

    def _verify_log(self, report: VerifyReport, against: Sequence[Head], upto: int,
                    progress: Callable[[int], None] | None) -> None:
        anchors: dict[int, Head] = {}
        for anchor in against:
            anchors.setdefault(anchor.seq, anchor)
            if anchors[anchor.seq] != anchor:
                raise _Failure(anchor.position, f"two anchors name link {anchor.seq} "
                                                "differently: they cannot both hold")
        links = self._links(0, upto)
        seq, previous, position = 0, GENESIS, 0
        self._committed: dict[UUID, tuple[str, int]] = {}
        self._erased: set[UUID] = set()
        signed_without_key = False
        while True:
            rows = self._events_after(self.sql.query, position, upto)
            if not rows:
                break
            for row in rows:
                pos, oid, version, topic, state = self._event_fields(row)
                seq += 1
                link = next(links, None)
                self._check_link_place(link, seq, pos)
                assert link is not None
                try:
                    carried = parse_key_digests(link["key_digests"])
                except (ValueError, TypeError, AttributeError) as e:
                    raise _Failure(pos, f"the chain link for position {pos} is malformed: "
                                        f"{e}") from None
                expected = link_hash(previous, seq, pos, oid, version, topic, state,
                                     link["key_digests"] or "")
                if link["hash"] != expected:
                    raise _Failure(pos, f"the event at position {pos} does not match its "
                                        "sealed hash: the event (or its link) was changed")
                if self.key is not None and link["mac"] != link_mac(self.key, expected):
                    raise _Failure(pos, f"the chain link for position {pos} is not signed "
                                        f"with {CHAIN_KEY_ENV}: the chain was rewritten")
                signed_without_key = signed_without_key or (
                    self.key is None and link["mac"] is not None)
                anchor = anchors.pop(seq, None)
                if anchor is not None and (anchor.position, anchor.hash) != (pos, expected):
                    raise _Failure(pos, f"the log no longer extends the anchored head "
                                        f"{anchor.token()}: link {seq} is now position {pos} "
                                        f"with hash {expected[:16]}...: the log up to there "
                                        "was rewritten")
                for subject, digest in carried.items():
                    if subject in self._committed:
                        raise _Failure(pos, f"the data key of subject {subject} was created "
                                            f"again (position {pos}; first at position "
                                            f"{self._committed[subject][1]}): the first one was "
                                            "deleted without an erasure")
                    self._committed[subject] = (digest, pos)
                if topic == ERASED_TOPIC:
                    self._erased.add(UUID(hex=oid))
                previous, position = expected, pos
            if progress:
                progress(len(rows))
        leftover = next(links, None)
        if leftover is not None:
            raise _Failure(int(leftover["position"]), (
                f"the chain has link {leftover['seq']} for position {leftover['position']}, "
                "which the log lacks: the event was deleted"))
        for anchor in sorted(anchors.values(), key=lambda a: a.seq):
            if anchor.seq > seq:
                raise _Failure(anchor.position, (
                    f"the log has {seq} events but the anchored head {anchor.token()} is "
                    f"link {anchor.seq}: the log was truncated"))
        report.events = seq
        report.head = Head(seq, position, previous)
        if signed_without_key:
            report.notes.append(f"the links are signed, but {CHAIN_KEY_ENV} is not set: the "
                                "signatures were not checked")

    @staticmethod
    def _check_link_place(link: dict[str, Any] | None, seq: int, pos: int) -> None:
        if link is None:
            raise _Failure(pos, (
                f"the event at position {pos} (number {seq}) has no chain link: the chain "
                "was truncated or emptied, or the event was added outside Framdrift"))
        if int(link["seq"]) != seq:
            raise _Failure(pos, (
                f"chain link {seq} is missing (the next stored link is {link['seq']}): "
                "links were deleted"))
        if int(link["position"]) != pos:
            if int(link["position"]) > pos:
                raise _Failure(pos, (
                    f"the event at position {pos} is not in the chain (link {seq} is for "
                    f"position {link['position']}): it was added outside Framdrift"))
            raise _Failure(int(link["position"]), (
                f"the event at position {link['position']}, link {seq}, is missing from the "
                "log: it was deleted"))

    def _verify_keys(self, report: VerifyReport) -> None:
        """Every key the chain committed is stored unchanged, or its subject was erased
        by an event in the log."""
        stored: dict[UUID, Any] = {}
        unchecked = unopened = 0
        for row in self.sql.query(
                f"SELECT subject_id, data_key FROM {self.sql.table(KEY_TABLE)}"):
            try:
                subject = UUID(str(row["subject_id"]))
            except ValueError:
                raise _Failure(None, f"the key table has a row for {str(row['subject_id'])[:40]!r}"
                                     ", which is not a subject id") from None
            stored[subject] = row["data_key"]
        problems: list[tuple[int, str]] = []
        for subject, (digest, pos) in self._committed.items():
            if subject not in stored:
                if subject in self._erased:
                    report.keys_erased += 1
                else:
                    problems.append((pos, f"the data key of subject {subject} (recorded at "
                                          f"position {pos}) is missing and the log has no "
                                          "erasure of it: it was deleted"))
                continue
            value = stored[subject]
            if not isinstance(value, bytes | bytearray | memoryview):
                problems.append((pos, f"the data key of subject {subject} is not bytes "
                                      f"({type(value).__name__}): the key table was altered"))
                continue
            try:
                ok = self.app.keys.digest_of_stored(subject, bytes(value)) == digest
            except MasterKeyError:
                if self.app.keys.master is None:
                    unchecked += 1
                    continue
                ok = False
                unopened += 1
            if not ok:
                problems.append((pos, f"the data key of subject {subject} is not the one "
                                      f"recorded at position {pos}: it was replaced"))
            else:
                report.keys_matched += 1
        if problems and unopened and unopened == len(self._committed) - report.keys_erased:
            raise _Failure(None, f"{MASTER_KEY_ENV} opens none of the {unopened} sealed data "
                                 "keys: it is not their master key, or every key was replaced")
        if problems:
            raise _Failure(*min(problems))
        uncovered = sum(1 for subject in stored if subject not in self._committed)
        still = sorted(s for s in self._erased if s in stored)
        if uncovered:
            report.notes.append(
                f"{uncovered} data key(s) are not covered by the chain yet (created before the "
                "chain, or by a write that did not complete)")
        if unchecked:
            report.notes.append(f"{unchecked} sealed data key(s) were not compared with their "
                                "digests: set FRAMDRIFT_MASTER_KEY to check them")
        if still:
            report.notes.append(
                f"{len(still)} erased participant(s) still have a data key (erasure interrupted?):"
                f" run 'framdrift participants erase' again for {', '.join(map(str, still[:3]))}")
        erased_rows = {str(r["subject_id"]) for r in self.sql.query(
            f"SELECT subject_id FROM {self.sql.table(ERASED_TABLE)}")}
        missing = [s for s in self._erased if str(s) not in erased_rows]
        if missing:
            report.notes.append(f"{len(missing)} erased participant(s) are missing from "
                                f"{ERASED_TABLE}: a key could be made for them again")

    def _notes(self, report: VerifyReport) -> None:
        if not self._readable(META_TABLE):
            return
        for row in self.sql.query(f"SELECT value FROM {self.meta} WHERE name = 'baseline'"):
            token, _, when = str(row["value"]).partition(" ")
            heads = parse_heads(token)
            if heads:
                report.notes.append(
                    f"links 1 to {heads[0].seq} were built by 'framdrift migrate' ({when}) over "
                    "the log as it then stood: they prove nothing about it before then")
