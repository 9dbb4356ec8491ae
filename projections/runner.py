"""Following the log: the same projection code on SQLite and on PostgreSQL.

The runner reads the log in batches (``select_notifications`` after the lowest
position any of its projections has reached), decodes each event once, lets every
projection that has not yet seen it buffer its row changes, and then writes all
views' rows and all tracking positions in ONE transaction. A tracking row is only
moved forward from the position the runner read (``... WHERE position = ?``), so two
runners racing on one store cannot apply a batch twice: the loser rolls back and
re-reads its positions. A restarted runner resumes from the stored positions.

Waiting for new events: on PostgreSQL a LISTEN on eventsourcing's notification
channel wakes the runner as soon as events are committed (with polling as a
fallback); on SQLite, which has no notifications, the runner polls.
"""

from __future__ import annotations

import gc
import inspect
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from json.scanner import c_make_scanner  # type: ignore[attr-defined]
from time import perf_counter
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    JSONTranscoder,
    Mapper,
    MapperDeserialisationError,
    Tracking,
    Transcoding,
)

from domain.describe import forget_oldest
from domain.privacy import PersonalData
from domain.store import Cursor, Sql
from projections.base import (
    TRACKING_TABLE,
    ReadModel,
    read_positions,
    remember_time,
    rowcount,
    utcnow,
)
from projections.schema import create_tables, drop_tables, swap_in
from projections.views import BY_NAME, NAMES, DirectoryView, Reader

log = logging.getLogger("framdrift.projections")

DEFAULT_BATCH = 1000
STORED_TIME = '{"timestamp":{"_type_":"datetime_iso","_data_":"'  # how a stored state begins
REBUILD_BATCH = 10000
# Measured when PostgreSQL parts read eventsourcing's Notification objects (they read
# tuples since ADR 0027): half the batch took ~11 MB off each part's peak (81 vs 92 MiB
# after 150k events) for the same CPU time; not measured again with tuples.
REBUILD_BATCH_POSTGRES = 5000
UUIDS_KEPT = 16_384  # decoded ids remembered (FastDecoder)
OWNERS_KEPT = 32_768  # aggregates whose part a rebuild part remembers (Runner._owner_of)
REBUILD_AUTOCHECKPOINT = 10_000  # WAL pages (~40 MB) between a rebuild part's checkpoints
SWAP_CACHE_KIB = 64 * 1024  # SQLite page cache while the swap creates the indexes (the
# index sorter may use as much again; 128 MiB made the swap the memory peak at 200k events)


def default_batch_size() -> int:
    try:
        return max(1, int(os.environ.get("FRAMDRIFT_PROJECTION_BATCH", DEFAULT_BATCH)))
    except ValueError:
        return DEFAULT_BATCH


@contextmanager
def bulk_transaction(sql: Sql, *, durable: bool = False, cache_kib: int = 0,
                     fast_drop: bool = False) -> Iterator[Cursor]:
    """A write transaction for a rebuild, with its own connection settings on SQLite:
    unless ``durable``, ``synchronous=NORMAL`` (in WAL mode: no fsync per commit, only
    at checkpoints; never corrupts, a crash may lose the last batches written into the
    ``_new`` tables of an unfinished rebuild, which is started again anyway),
    ``temp_store=MEMORY`` (each multi-row INSERT or upsert inside the batch's transaction
    keeps a statement journal of the pages it changes, in a temporary file by default:
    ~60% of a part's bytes written, 500 of 700 MB for 100k events; in memory it lives
    only as long as one statement) and a checkpoint every REBUILD_AUTOCHECKPOINT WAL
    pages instead of 1,000 (pages changed by several batches are copied into the
    database once per checkpoint). With ``cache_kib``, a larger page cache (index creation
    at the swap, whose sorter keeps its temporary files). The connection's settings are
    restored afterwards. Elsewhere a plain :meth:`Sql.transaction`.

    ``fast_drop`` (the swap, which drops only read-model tables: no personal text, see
    ``projections.views``): ``secure_delete = FAST`` instead of this build's default ON,
    so dropping the old tables does not write zeros over every freed page (~1 s of a
    205k-event rebuild). Key erasure sets ``secure_delete = ON`` itself.
    """
    if sql.postgres or not hasattr(sql.datastore, "get_connection"):
        with sql.transaction() as cur:
            yield cur
        return
    with sql.datastore.get_connection(commit=True) as conn:
        raw = conn.cursor()
        raw.execute("PRAGMA synchronous")
        synchronous = int(raw.fetchone()[0])
        raw.execute("PRAGMA cache_size")
        cache_size = int(raw.fetchone()[0])
        raw.execute("PRAGMA secure_delete")
        secure_delete = int(raw.fetchone()[0])
        if fast_drop:
            raw.execute("PRAGMA secure_delete = FAST")
        raw.execute("PRAGMA temp_store")
        temp_store = int(raw.fetchone()[0])
        raw.execute("PRAGMA wal_autocheckpoint")
        autocheckpoint = int(raw.fetchone()[0])
        if not durable:
            raw.execute("PRAGMA synchronous = NORMAL")
            raw.execute("PRAGMA temp_store = MEMORY")
            raw.execute(f"PRAGMA wal_autocheckpoint = {REBUILD_AUTOCHECKPOINT}")
        if cache_kib:
            raw.execute(f"PRAGMA cache_size = {-int(cache_kib)}")
        try:
            with conn.transaction(commit=True) as cursor:
                yield Cursor(cursor, sql)
        finally:
            raw.execute(f"PRAGMA synchronous = {synchronous}")
            raw.execute(f"PRAGMA cache_size = {cache_size}")
            raw.execute(f"PRAGMA secure_delete = {secure_delete}")
            raw.execute(f"PRAGMA temp_store = {temp_store}")
            raw.execute(f"PRAGMA wal_autocheckpoint = {autocheckpoint}")


class TrackingConflict(Exception):
    """Another runner moved a projection on while this one processed the same batch."""


class SealedPersonalData(Transcoding):
    """Decodes personal data without its key: projections never see what people wrote."""

    type = PersonalData
    name = "personal_data"

    def encode(self, obj: PersonalData) -> Any:
        raise TypeError("projections never write personal data")

    def decode(self, data: dict[str, str]) -> PersonalData:
        return PersonalData(data["s"], None)  # type: ignore[arg-type]


def sealed_mapper(app: Any) -> Mapper[Any]:
    """The app's mapper, except that personal data stays sealed (and costs nothing)."""
    transcoder = JSONTranscoder()
    for transcoding in app.mapper.transcoder.names.values():
        transcoder.register(transcoding)
    transcoder.register(SealedPersonalData())
    return Mapper(transcoder, compressor=app.mapper.compressor, cipher=app.mapper.cipher)


class FastDecoder:
    """``mapper.to_domain_event`` for a batch of notifications, with the same result but
    less work per event (rebuilds and catch-up decode every event of the log): event
    classes resolved once per topic, UUIDs decoded once per id string (ids recur in
    many events; UUIDs are immutable, so sharing them is harmless), and a lighter JSON
    object hook. On SQLite the rows are read directly as tuples (no ``Notification``
    objects, no ``UUID()`` per row); elsewhere through the recorder."""

    def __init__(self, app: Any, mapper: Mapper[Any]):
        from eventsourcing.persistence import find_id_convertor
        from eventsourcing.utils import resolve_topic

        self.app = app
        self.mapper = mapper
        self._resolve_topic = resolve_topic
        self._find_id_convertor = find_id_convertor
        self.classes: dict[str, tuple[type, int]] = {}
        self.convertors: dict[tuple[type, type], Callable[[Any], Any]] = {}
        uuids: dict[str, UUID] = {}
        self.uuids = uuids

        def uuid_of(text: str) -> UUID:
            found = uuids.get(text)
            if found is None:
                if len(uuids) >= UUIDS_KEPT:
                    forget_oldest(uuids, UUIDS_KEPT - 1)
                found = uuids[text] = UUID(text)
            return found

        self.uuid_of = uuid_of
        transcoder = mapper.transcoder
        decoders = {name: t.decode for name, t in transcoder.names.items()}  # type: ignore[attr-defined]
        if "uuid_hex" in decoders:
            decoders["uuid_hex"] = uuid_of  # same value: UUID(hex)
        if "datetime_iso" in decoders:
            decoders["datetime_iso"] = datetime.fromisoformat  # DatetimeAsISO.decode
        slow_hook = transcoder._decode_obj  # type: ignore[attr-defined]
        missing = object()

        def hook(d: dict[str, Any]) -> Any:
            if len(d) == 2:
                name = d.get("_type_", missing)
                if name is missing:
                    return d
                decode = decoders.get(name) if name.__class__ is str else None
                if decode is not None and "_data_" in d:
                    return decode(d["_data_"])
                return slow_hook(d)  # unknown names raise as usual
            return d

        decoder = json.JSONDecoder(object_hook=hook)
        scan = c_make_scanner(decoder) if c_make_scanner is not None else None
        slow_decode = decoder.decode

        def decode_json(text: str) -> Any:
            """``decoder.decode`` without its Python frames and two whitespace matches
            per call: the C scanner directly (stored states have no surrounding
            whitespace); anything else goes the usual way (and raises as usual)."""
            if scan is not None:
                try:
                    found, end = scan(text, 0)
                except StopIteration:
                    return slow_decode(text)
                if end == len(text):
                    return found
            return slow_decode(text)

        self.decode_json = decode_json
        self.table = None
        self.pg_select: Any = None
        recorder = app.recorder
        if (not app.sql.postgres and hasattr(recorder, "events_table_name")
                and getattr(recorder.datastore, "originator_id_type", "uuid") == "uuid"):
            self.table = recorder.events_table_name
        elif (app.sql.postgres and hasattr(recorder, "events_table_name")
                and hasattr(recorder.datastore, "schema")):
            from psycopg.sql import SQL, Identifier

            self.pg_select = SQL(
                "SELECT notification_id, originator_id::text, originator_version, topic, "
                "state FROM {schema}.{table} WHERE notification_id>%s "
                "ORDER BY notification_id LIMIT %s").format(
                    schema=Identifier(recorder.datastore.schema),
                    table=Identifier(recorder.events_table_name))

    def select(self, start: int, limit: int) -> list[tuple[Any, ...]]:
        """(id, originator_id, originator_version, topic, state) after ``start``."""
        if self.pg_select is not None:
            found = self._select_postgres(start, limit)
            if found is not None:
                return found
        if self.table is None:
            return [(n.id, n.originator_id, n.originator_version, n.topic, n.state)
                    for n in self.app.recorder.select_notifications(
                        start=start, limit=limit, inclusive_of_start=False)]
        with self.app.recorder.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT rowid, originator_id, originator_version, topic, state "
                      f"FROM {self.table} WHERE rowid>? ORDER BY rowid LIMIT ?",
                      (start, limit))
            uuid_of = self.uuid_of
            return [(r[0], uuid_of(r[1]), r[2], r[3], r[4]) for r in c.fetchall()]

    def _select_postgres(self, start: int, limit: int) -> list[tuple[Any, ...]] | None:
        """As the recorder's ``select_notifications`` (the same statement but for the
        columns), with rows as tuples and the ids as text, decoded once per id string
        (``uuid_of``): the recorder makes a dict row, a ``UUID`` and a ``Notification``
        per row (~20% of a rebuild part's CPU on PostgreSQL). None if the connection
        failed: the caller reads through the recorder, which retries."""
        from psycopg import InterfaceError, OperationalError
        from psycopg.rows import tuple_row

        try:
            with self.app.recorder.datastore.get_connection() as conn, \
                    conn.cursor(row_factory=tuple_row) as curs:
                curs.execute(self.pg_select, (start, limit), prepare=True)
                rows = curs.fetchall()
        except (InterfaceError, OperationalError):
            return None
        uuid_of = self.uuid_of
        return [(r[0], uuid_of(r[1]), r[2], r[3],
                 r[4] if r[4].__class__ is bytes else bytes(r[4])) for r in rows]

    def event(self, row: tuple[Any, ...]) -> Any:
        """The domain event of a row from :meth:`select` (as ``mapper.to_domain_event``)."""
        _, originator_id, version, topic, state = row
        found = self.classes.get(topic)
        if found is None:
            cls = self._resolve_topic(topic)
            found = self.classes[topic] = (cls, getattr(cls, "class_version", 1))
        cls, class_version = found
        mapper = self.mapper
        try:
            if mapper.cipher:
                state = mapper.cipher.decrypt(state)
            if mapper.compressor:
                state = mapper.compressor.decompress(state)
            text = state.decode("utf8")
            event_state: dict[str, Any] = self.decode_json(text)
        except Exception as e:
            raise MapperDeserialisationError(
                f"Failed to deserialise state of stored event with topic '{topic}', "
                f"originator_id '{originator_id}' and originator_version {version}: {e}"
            ) from e
        key = (cls, type(originator_id))
        convert = self.convertors.get(key)
        if convert is None:
            convert = self.convertors[key] = self._find_id_convertor(cls, key[1])
        event_state["originator_id"] = convert(originator_id)
        event_state["originator_version"] = version
        from_version = event_state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(event_state)
            from_version += 1
        event = object.__new__(cls)
        object.__setattr__(event, "__dict__", event_state)
        if text.startswith(STORED_TIME):  # (eventsourcing writes the timestamp first)
            end = text.find('"', len(STORED_TIME))
            if end > 0:
                remember_time(event, text[len(STORED_TIME):end])
        return event


def resolve_names(names: Iterable[str] | None = None) -> list[str]:
    """Projection names in processing order; the directory always comes first."""
    if names is None:
        return list(NAMES)
    wanted = set(names)
    unknown = wanted - set(NAMES)
    if unknown:
        raise ValueError(
            f"unknown projection(s): {', '.join(sorted(unknown))}; known: {', '.join(NAMES)}"
        )
    return [n for n in NAMES if n == "directory" or n in wanted]


class Runner:
    """Processes the log in batches for a set of projections (all by default)."""

    def __init__(
        self,
        app: Any,
        names: Iterable[str] | None = None,
        *,
        batch_size: int | None = None,
        suffix: str = "",
        tracked: bool = True,
        mapper: Mapper[Any] | None = None,
        directory: str = "write",
        partition: tuple[int, int] | None = None,
    ):
        """``directory`` (untracked rebuild parts only): "write" builds and writes the
        directory as usual, "memory" builds it in memory without writing it (another
        process writes it), "none" leaves it out (no projection here reads it).

        ``partition`` (untracked rebuild parts only): ``(i, n)`` projects only the
        events of the programmes in part ``i`` of ``n``: the k-th programme planned in
        the log is in part k mod n (every part reads the same log, so they agree without
        talking; other processes build the other parts into the same tables: every read
        model is keyed by programme, participant or record, so the parts never touch one
        row). Events of other programmes are skipped without being decoded, except each
        aggregate's first event, which says its programme."""
        if directory not in ("write", "memory", "none"):
            raise ValueError(f"directory must be write, memory or none, not {directory!r}")
        if (directory != "write" or partition is not None) and tracked:
            raise ValueError("only an untracked rebuild part may skip writing the directory "
                             "or project a partition of the programmes")
        if partition is not None and not 0 <= partition[0] < partition[1]:
            raise ValueError(f"partition {partition!r} is not (index, count)")
        self.partition = partition
        # aggregate id (UUID.int) -> part of its programme; bounded (OWNERS_KEPT): an
        # aggregate forgotten is looked up again by its first event (_owner_of)
        self.owners: dict[int, int] = {}
        self.programmes: dict[int, int] = {}  # programme id (UUID.int) -> its part
        self._peekable: dict[str, bool] = {}  # topic -> whether _peek_owner may read it
        self.planned = 0  # programmes planned so far in the log
        self.app = app
        self.sql = app.sql
        self.batch_size = batch_size or default_batch_size()
        self.suffix = suffix
        self.tracked = tracked
        self.names = resolve_names(names)
        if directory == "none":
            if any(issubclass(BY_NAME[n].view_class, Reader) for n in self.names):
                raise ValueError("these projections read the directory")
            self.names.remove("directory")
        self.directory = DirectoryView(self.sql, "directory", suffix,
                                       write=directory == "write")
        self.projections: list[ReadModel[Any]] = []
        for name in self.names:
            cls = BY_NAME[name]
            view = self.directory if name == "directory" else cls.view_class(
                self.sql, name, suffix)
            if isinstance(view, Reader):
                view.directory = self.directory
            self.projections.append(cls(view))
        self.mapper = mapper or sealed_mapper(app)
        self.decoder = FastDecoder(app, self.mapper)
        self._dispatch: dict[type, list[tuple[str, Callable[[Any, Tracking], None]]]] = {}
        self.positions: dict[str, int] = {}
        self.reload()

    # positions ------------------------------------------------------------------

    def reload(self) -> None:
        """Forget buffers and caches; read the tracked positions again."""
        for p in self.projections:
            p.view.forget()
        if not self.tracked:
            self.positions = {name: self.positions.get(name, 0) for name in self.names}
            return
        stored = read_positions(self.sql)
        missing = [n for n in self.names if n not in stored]
        if missing:
            with self.sql.transaction() as cur:
                cur.executemany(
                    f"INSERT INTO {self.sql.table(TRACKING_TABLE)} (name, position, updated_at) "
                    "VALUES (?, 0, ?) ON CONFLICT (name) DO NOTHING",
                    [(n, utcnow()) for n in missing])
            stored = read_positions(self.sql)
        self.positions = {name: stored.get(name, 0) for name in self.names}

    @property
    def position(self) -> int:
        return min(self.positions.values())

    # processing -----------------------------------------------------------------

    def _handlers(self, cls: type) -> list[tuple[str, Callable[[Any, Tracking], None]]]:
        found = self._dispatch.get(cls)
        if found is None:
            found = []
            for p in self.projections:
                method = inspect.getattr_static(type(p), "process_event")
                method.__get__(p, type(p))  # applies eventsourcing's deferred registrations
                impl = method.dispatcher.dispatch(cls)
                if impl is not method.func:
                    found.append((p.name, impl.__get__(p, type(p))))
            self._dispatch[cls] = found
        return found

    def step(self) -> int:
        """Process one batch; returns how many events it read (0: caught up)."""
        notifications = self.decoder.select(self.position, self.batch_size)
        if not notifications:
            return 0
        positions = self.positions
        to_event = self.decoder.event
        app_name = self.app.name
        dispatch = self._dispatch
        new_tracking = object.__new__
        last = notifications[-1][0]
        mine = owners = None
        if self.partition is not None:
            mine, owners = self.partition[0], self.owners
        try:
            for n in notifications:
                if owners is None:
                    event = to_event(n)
                else:
                    owner = owners.get(n[1].int)
                    if owner is None:
                        owner = self._peek_owner(n)
                        if owner is None:
                            event = to_event(n)
                            owner = self._owner_of(n, event)
                        elif owner == mine:
                            event = to_event(n)
                    elif owner == mine:
                        event = to_event(n)
                    if owner != mine:
                        continue
                handlers = dispatch.get(type(event))
                if handlers is None:
                    handlers = self._handlers(type(event))
                nid = n[0]
                tracking = new_tracking(Tracking)  # Tracking(app_name, nid), faster:
                tracking.__dict__.update(application_name=app_name, notification_id=nid)
                for name, handle in handlers:
                    if nid > positions[name]:
                        handle(event, tracking)
            with (self.sql.transaction() if self.tracked else
                  bulk_transaction(self.sql)) as cur:
                if self.tracked:
                    self._advance(cur, last)  # first, so SQLite takes its write lock at once
                for p in self.projections:
                    p.view.flush(cur)
        except BaseException:
            self.reload()
            raise
        for p in self.projections:
            p.view.clear()
        for name, pos in positions.items():
            if pos < last:
                positions[name] = last
        return len(notifications)

    PEEK = b'"programme_id":{"_type_":"uuid_hex","_data_":"'

    def _peek_owner(self, row: tuple[Any, ...]) -> int | None:
        """The part of a new participant or record from its first event's stored JSON,
        without decoding it (every part reads every aggregate's first event: decoding
        the others' was ~1/6 of a part's decoding). Only for event classes with a
        ``programme_id`` field, no upcasting and no cipher or compressor; None when
        unsure (the caller decodes)."""
        if row[2] != 1:
            return None
        topic = row[3]
        peekable = self._peekable.get(topic)
        if peekable is None:
            peekable = self._peekable[topic] = self._can_peek(topic)
        if not peekable:
            return None
        state = row[4]
        if state.__class__ is not bytes:
            return None
        at = state.find(self.PEEK)
        if at < 0:
            return None
        at += len(self.PEEK)
        try:
            key = int(state[at:at + 32], 16)
        except ValueError:
            return None
        if state[at + 32:at + 33] != b'"':
            return None
        owners = self.owners
        if len(owners) >= OWNERS_KEPT:
            forget_oldest(owners, OWNERS_KEPT - 1)
        owner = owners[row[1].int] = self.programmes.get(key, 0)
        return owner

    def _can_peek(self, topic: str) -> bool:
        import dataclasses

        from eventsourcing.utils import resolve_topic

        if self.mapper.cipher or self.mapper.compressor:
            return False
        try:
            cls = resolve_topic(topic)
        except Exception:  # noqa: BLE001 - decoding will say what is wrong
            return False
        return (dataclasses.is_dataclass(cls) and getattr(cls, "class_version", 1) == 1
                and cls.__qualname__ != "Programme.Planned"
                and "programme_id" in {f.name for f in dataclasses.fields(cls)})

    def _owner_of(self, row: tuple[Any, ...], event: Any) -> int:
        """The part of the aggregate of ``row`` (decoded: ``event``), remembered. If the
        row is not the aggregate's first event (its part was forgotten to keep memory
        bounded), the first event is read again from the store."""
        owners = self.owners
        if len(owners) >= OWNERS_KEPT:
            forget_oldest(owners, OWNERS_KEPT - 1)
        if row[2] != 1:
            first = self.app.recorder.select_events(row[1], lte=1, limit=1)
            if first:
                s = first[0]
                event = self.decoder.event((0, s.originator_id, s.originator_version,
                                            s.topic, s.state))
        owner = owners[row[1].int] = self._owner(event)
        return owner

    def _owner(self, event: Any) -> int:
        """The part of an aggregate's programme, from the aggregate's first event: the
        k-th programme planned is in part k mod n; participants and records are created
        with their ``programme_id``; anything else (e.g. accounts) is in part 0."""
        assert self.partition is not None
        d = event.__dict__
        if type(event).__qualname__ == "Programme.Planned":
            key = d["originator_id"].int
            part = self.programmes.get(key)
            if part is None:
                part = self.programmes[key] = self.planned % self.partition[1]
                self.planned += 1
            return part
        pid = d.get("programme_id")
        if pid is None:
            return 0
        return self.programmes.get(pid.int if isinstance(pid, UUID) else UUID(str(pid)).int, 0)

    def _advance(self, cur: Any, last: int) -> None:
        now = utcnow()
        for name, pos in self.positions.items():
            if pos < last:
                cur.execute(
                    f"UPDATE {self.sql.table(TRACKING_TABLE)} SET position = ?, updated_at = ? "
                    "WHERE name = ? AND position = ?", (last, now, name, pos))
                if rowcount(cur) != 1:
                    raise TrackingConflict(name)

    def catch_up(self, *, on_batch: Callable[[int], None] | None = None) -> int:
        """Process everything recorded so far; returns the number of events read."""
        total = 0
        while True:
            try:
                n = self.step()
            except TrackingConflict:
                continue  # positions were re-read; carry on from there
            if not n:
                return total
            total += n
            if on_batch:
                on_batch(n)

    def run(
        self,
        stop: threading.Event,
        *,
        interval: float = 0.5,
        pause: float = 0.0,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        """Follow the log until ``stop`` is set; the current batch is always finished."""
        waker = Waker(self.app) if self.sql.postgres else None
        failures = 0
        try:
            while not stop.is_set():
                try:
                    n = self.step()
                    failures = 0
                except TrackingConflict:
                    continue
                except Exception:  # noqa: BLE001 - keep following; the store may come back
                    failures += 1
                    log.exception("projection batch failed (attempt %d)", failures)
                    stop.wait(min(30.0, 0.5 * 2 ** min(failures, 6)))
                    continue
                if n:
                    if on_batch:
                        on_batch(n)
                    if pause:
                        stop.wait(pause)
                    continue
                if waker is not None:
                    waker.wait(interval)
                else:
                    stop.wait(interval)
        finally:
            if waker is not None:
                waker.close()


class Waker:
    """LISTENs on eventsourcing's channel (PostgreSQL) and wakes the runner on NOTIFY."""

    def __init__(self, app: Any):
        self.recorder = app.recorder
        self.event = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._listen, daemon=True,
                                        name="framdrift-projections-listen")
        self._thread.start()

    def _listen(self) -> None:
        from psycopg.sql import SQL, Identifier

        try:
            with self.recorder.datastore.get_connection() as conn:
                conn.execute(SQL("LISTEN {0}").format(Identifier(self.recorder.channel_name)))
                while not self._closed:
                    for _ in conn.notifies(timeout=0.5, stop_after=1):
                        self.event.set()
        except Exception:  # noqa: BLE001 - polling still works without notifications
            if not self._closed:
                log.warning("LISTEN failed; projections fall back to polling", exc_info=True)

    def wait(self, timeout: float) -> bool:
        fired = self.event.wait(timeout)
        self.event.clear()
        return fired

    def close(self) -> None:
        self._closed = True
        self._thread.join(timeout=2)


# --------------------------------------------------------------------- entry points


def catch_up(app: Any, names: Iterable[str] | None = None, *,
             batch_size: int | None = None) -> int:
    """Bring the projections up to the head of the log now (tests, scripts)."""
    return Runner(app, names, batch_size=batch_size).catch_up()


class Background:
    """A daemon thread keeping the projections current inside a web process."""

    def __init__(self, app: Any, *, interval: float = 0.2, batch_size: int | None = None):
        self.stop_event = threading.Event()
        self.runner = Runner(app, batch_size=batch_size)
        self.thread = threading.Thread(
            target=self.runner.run, args=(self.stop_event,), kwargs={"interval": interval},
            daemon=True, name="framdrift-projections")
        self.thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()


def start_background(app: Any, *, interval: float = 0.2,
                     batch_size: int | None = None) -> Background:
    """Follow the log in a daemon thread; call ``.stop()`` on the handle to end it."""
    return Background(app, interval=interval, batch_size=batch_size)


@dataclass
class RebuildResult:
    names: list[str]
    events: int
    seconds: float
    position: int
    plan: str = "1 process"  # how the work was divided (for people)

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


PARALLEL_MIN_EVENTS = 20_000  # below this, starting a second process costs more than it saves
PARTITION_MIN_PROGRAMMES = 8  # per part: enough programmes that dealing them out balances the work
HEAVY = ("timeline",)  # measured: with as-of replay in it, about as much as all the others
MAX_WORKERS = 8


class RebuildFailed(RuntimeError):
    """A part of a parallel rebuild failed; nothing was swapped in."""


def rebuild_workers() -> int:
    """How many processes a rebuild may use: FRAMDRIFT_REBUILD_WORKERS, else the cores
    (at most 4: every part reads the whole log, so more parts bring less and less)."""
    try:
        wanted = int(os.environ.get("FRAMDRIFT_REBUILD_WORKERS", "0") or 0)
    except ValueError:
        wanted = 0
    return max(1, min(MAX_WORKERS, wanted or min(4, os.cpu_count() or 1)))


def shareable(app: Any) -> bool:
    """Whether other processes can open the same store (not an in-memory SQLite)."""
    if app.sql.postgres:
        return True
    name = str(app.config.env.get("SQLITE_DBNAME", ""))
    return bool(name) and ":memory:" not in name and "mode=memory" not in name


@dataclass
class Part:
    """What one rebuild process builds: these read models, for all programmes or for
    one partition of them (``(index, count)``, see :class:`Runner`)."""

    names: list[str]
    partition: tuple[int, int] | None = None

    @property
    def directory(self) -> str:
        """How this part treats the directory (see :class:`Runner`)."""
        if "directory" in self.names:
            return "write"
        if any(issubclass(BY_NAME[n].view_class, Reader) for n in self.names):
            return "memory"
        return "none"

    def describe(self) -> str:
        names = ", ".join(self.names)
        if self.partition is None:
            return names
        return f"{names}; programme partition {self.partition[0] + 1} of {self.partition[1]}"


def plan_parts(chosen: list[str], workers: int, programmes: int = 0) -> list[Part]:
    """What each rebuild process builds.

    With at least :data:`PARTITION_MIN_PROGRAMMES` programmes per process, every
    process builds all the chosen read models for its share of the programmes: the
    work divides by the number of processes (each still reads the whole log, but
    decodes little more than its own events). With fewer programmes (one big
    programme, say), two processes split the read models instead: the heavy one (the
    timeline, with as-of replay) in one, everything else with the directory in the
    other. One part when there is nothing to split."""
    if workers < 2:
        return [Part(chosen)]
    if programmes >= PARTITION_MIN_PROGRAMMES * workers:
        return [Part(chosen, (i, workers)) for i in range(workers)]
    heavy = [n for n in chosen if n in HEAVY]
    rest = [n for n in chosen if n not in HEAVY]
    if not heavy or not rest:
        return [Part(chosen)]
    return [Part(heavy), Part(rest)]


def count_programmes(app: Any, enough: int) -> int:
    """How many programmes the log holds, counting no further than ``enough``."""
    from eventsourcing.utils import get_topic

    from domain.model import Programme

    found = app.recorder.select_notifications(
        start=1, limit=enough, topics=[get_topic(Programme.Planned)])
    return len(found)


def _fault(index: int, events: int) -> None:
    """Fault injection for tests: FRAMDRIFT_REBUILD_FAULT="<part>:raise|exit"."""
    spec = os.environ.get("FRAMDRIFT_REBUILD_FAULT", "")
    if not spec or events == 0:
        return
    part, _, how = spec.partition(":")
    if part == str(index):
        if how == "exit":
            os._exit(3)
        raise RuntimeError(f"injected fault in rebuild part {index}")


@contextmanager
def young_gc_only() -> Iterator[None]:
    """No automatic garbage collection while a rebuild runs: it collects the young
    generations itself after each batch. A rebuild keeps growing caches (ids,
    directory facts, programme states) alive throughout, and the automatic full
    collections traverse all of them again and again (measured: ~20% of a rebuild
    of 205k events in one process). Old cyclic garbage (rare: events form no cycles)
    waits for the first full collection after the rebuild."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _build(app: Any, part: Part, *, batch_size: int, suffix: str,
           on_batch: Callable[[int], None] | None, index: int = 0) -> tuple[int, int]:
    """Build ``part`` into the ``suffix`` tables; (events read, position reached)."""
    runner = Runner(app, part.names, batch_size=batch_size, suffix=suffix, tracked=False,
                    directory=part.directory, partition=part.partition)
    done = 0

    def batch(n: int) -> None:
        nonlocal done
        done += n
        gc.collect(1)  # the young generations only (see young_gc_only)
        _fault(index, done)
        if on_batch:
            on_batch(n)

    with young_gc_only():
        events = runner.catch_up(on_batch=batch)
    return events, runner.position


def part_main() -> None:
    """A rebuild process (``python -m projections.runner``): reads its spec as JSON on
    stdin, reads and decodes the whole log, builds its part, and reports each batch, the
    end or a failure as JSON lines on stdout."""
    import json
    import sys
    import traceback

    from domain.store import StoreConfig

    out = sys.stdout

    def say(*message: Any) -> None:
        out.write(json.dumps(message) + "\n")
        out.flush()

    try:
        spec = json.loads(sys.stdin.read())
        from domain.application import Framdrift

        app = Framdrift(spec["env"], config=StoreConfig(**spec["config"]))
        try:
            partition = spec.get("partition")
            part = Part(spec["part"], tuple(partition) if partition else None)
            events, position = _build(
                app, part, batch_size=spec["batch_size"], suffix=spec["suffix"],
                index=spec["index"],
                on_batch=lambda n: say("batch", n))
        finally:
            app.close()
        say("done", events, position)
    except BaseException:  # noqa: BLE001 - reported to the parent, which aborts
        say("error", traceback.format_exc())
        raise SystemExit(1) from None


def _run_parts(app: Any, parts: list[Part], *, batch_size: int, suffix: str,
               progress: Callable[[int], None] | None) -> list[tuple[int, int]]:
    """Run each part in its own process (a subprocess of this Python, so nothing of the
    caller's main module is imported again); progress is what all parts have read (the
    slowest one). Any failure stops the others and raises :class:`RebuildFailed`."""
    import json
    import queue as queues
    import subprocess
    import sys
    from dataclasses import asdict
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[1])
    child_env = dict(os.environ)
    child_env["PYTHONPATH"] = os.pathsep.join(
        [root, *[p for p in child_env.get("PYTHONPATH", "").split(os.pathsep) if p]])
    messages: queues.Queue[tuple[int, list[Any]]] = queues.Queue()
    procs: list[subprocess.Popen[str]] = []

    def listen(i: int, stream: Any) -> None:
        for line in stream:
            try:
                messages.put((i, json.loads(line)))
            except ValueError:
                log.warning("rebuild part %d: %s", i, line.rstrip())
        messages.put((i, ["eof"]))

    read = [0] * len(parts)
    shown = 0
    began = perf_counter()
    results: dict[int, tuple[int, int]] = {}
    try:
        for i, part in enumerate(parts):
            proc = subprocess.Popen(
                [sys.executable, "-m", "projections.runner"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, text=True, env=child_env, cwd=root)
            procs.append(proc)
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(json.dumps({
                "env": {k: str(v) for k, v in dict(app.env).items()},
                "config": asdict(app.config), "part": part.names,
                "partition": part.partition, "index": i,
                "batch_size": batch_size, "suffix": suffix}))
            proc.stdin.close()
            threading.Thread(target=listen, args=(i, proc.stdout), daemon=True).start()
        while len(results) < len(parts):
            i, message = messages.get()
            kind = message[0]
            if kind == "batch":
                read[i] += message[1]
                slowest = min(read)
                if progress and slowest > shown:
                    progress(slowest - shown)
                    shown = slowest
            elif kind == "done":
                results[i] = (message[1], message[2])
                log.debug("rebuild part %d (%s) done after %.2f s", i, parts[i].describe(),
                          perf_counter() - began)
            elif kind == "error":
                raise RebuildFailed(f"rebuild part {i} ({parts[i].describe()}) failed; "
                                    f"nothing was swapped in:\n{message[1]}")
            elif i not in results:  # eof without a result: the process died
                raise RebuildFailed(
                    f"rebuild part {i} ({parts[i].describe()}) ended with exit code "
                    f"{procs[i].wait()}; nothing was swapped in")
        for proc in procs:
            if proc.wait() != 0:
                raise RebuildFailed(f"a rebuild part ended with exit code {proc.returncode}")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    return [results[i] for i in range(len(parts))]


def rebuild(
    app: Any,
    names: Iterable[str] | None = None,
    *,
    batch_size: int | None = None,
    progress: Callable[[int], None] | None = None,
    suffix: str = "_new",
    workers: int | None = None,
    parallel_min_events: int = PARALLEL_MIN_EVENTS,
) -> RebuildResult:
    """Rebuild projections from position zero into fresh ``suffix`` tables, then swap
    them in (and set their tracking positions) in one transaction.

    Rebuilding one projection rebuilds the directory with it (it looks facts up there).
    A running runner is not disturbed: it continues from the swapped-in positions.

    With ``workers`` >= 2 (default: :func:`rebuild_workers`), a log of at least
    ``parallel_min_events`` events on a store other processes can open is rebuilt by
    that many processes (:func:`plan_parts`): each reads the whole log and builds all
    the chosen read models for its share of the programmes, or, with only a few
    programmes, two processes split the read models between them (the part without the
    directory keeps its own copy in memory). The swap waits for all of them; if any
    fails, the old tables stay and :class:`RebuildFailed` is raised.
    """
    chosen = resolve_names(names)
    sql = app.sql
    started = perf_counter()
    batch = batch_size or (REBUILD_BATCH_POSTGRES if sql.postgres else REBUILD_BATCH)
    wanted = rebuild_workers() if workers is None else max(1, min(MAX_WORKERS, workers))
    if wanted > 1 and not (shareable(app) and app.max_position() >= parallel_min_events):
        wanted = 1
    programmes = (count_programmes(app, PARTITION_MIN_PROGRAMMES * wanted)
                  if wanted > 1 else 0)
    parts = plan_parts(chosen, wanted, programmes)
    with sql.transaction() as cur:
        for name in chosen:
            drop_tables(cur, sql, name, suffix)
            create_tables(cur, sql, name, suffix)
    if len(parts) == 1:
        done = [_build(app, parts[0], batch_size=batch, suffix=suffix, on_batch=progress)]
    else:
        done = _run_parts(app, parts, batch_size=batch, suffix=suffix, progress=progress)
    now = utcnow()
    swap_started = perf_counter()
    with bulk_transaction(sql, durable=True, cache_kib=SWAP_CACHE_KIB, fast_drop=True) as cur:
        reached: dict[str, int] = {}
        for part, (_, position) in zip(parts, done, strict=True):
            for name in part.names:
                reached[name] = min(reached.get(name, position), position)
        cur.executemany(
            f"INSERT INTO {sql.table(TRACKING_TABLE)} (name, position, updated_at) "
            "VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
            "position = excluded.position, updated_at = excluded.updated_at",
            [(name, position, now) for name, position in reached.items()])
        for name in chosen:
            swap_in(cur, sql, name, suffix)
    log.debug("rebuild: parts %.2f s, swap %.2f s", swap_started - started,
              perf_counter() - swap_started)
    if len(parts) == 1:
        plan = "1 process"
    elif parts[0].partition is not None:
        plan = f"{len(parts)} processes, each with its share of the programmes"
    else:
        plan = f"{len(parts)} processes, each with some of the read models"
    return RebuildResult(chosen, max(e for e, _ in done), perf_counter() - started,
                         min(p for _, p in done), plan)


def status(app: Any) -> list[dict[str, Any]]:
    """Each projection's position, the head of the log and the lag."""
    head = app.max_position()
    stored = read_positions(app.sql)
    return [
        {"name": name, "position": stored.get(name, 0), "head": head,
         "lag": max(0, head - stored.get(name, 0))}
        for name in NAMES
    ]


if __name__ == "__main__":
    part_main()
