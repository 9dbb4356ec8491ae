"""The application service: one method per command, simple types in and out.

Each command loads the aggregates it needs, asks them to change, and saves
the new events in one transaction. Creation is idempotent when the client
supplies a request id (the record id is derived from it); every other command
is idempotent for a repeated request id too, because each event remembers the
request that caused it. A save that loses a race raises
:class:`~domain.errors.ConcurrentChangeError`; nothing is overwritten.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import date
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    Notification,
    Recording,
    StoredEvent,
    Transcoder,
)

from domain import errors
from domain.chain import CHAIN_TABLE, ChainWriter, LogChain, chain_key_from_env, recorder_topic
from domain.context import (
    SYSTEM_ACTOR,
    acting_on,
    actor_cvar,
    now,
    participant_actor,
    request,
)
from domain.groupcommit import GroupCommit
from domain.loading import CachingRepository, SetAsList
from domain.model import (
    ALLOWED_BASES,
    Capability,
    Decision,
    Experiment,
    FramdriftAggregate,
    Participant,
    Programme,
    Record,
    Reflection,
    record_id_for,
)
from domain.pgpool import install_quiet_check
from domain.privacy import (
    KeyStore,
    PersonalData,
    PersonalDataTranscoding,
    master_key_from_env,
    reveal,
)
from domain.store import Sql, StoreConfig, parse_database_url
from domain.values import (
    Dimension,
    MaterialKind,
    MeetingKind,
    Outcome,
    Phase,
    Role,
    Week,
    register_value_transcodings,
)

A = TypeVar("A", bound=FramdriftAggregate)
logger = logging.getLogger(__name__)


def _uuid(value: UUID | str, error: type[errors.NotFoundError]) -> UUID:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        raise error(f"{value!r} is not a valid id") from None


def _enum(enum_cls: Any, value: Any, field_name: str) -> Any:
    if isinstance(value, enum_cls):
        return value
    try:
        return enum_cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum_cls)
        raise errors.InvalidValueError(f"must be one of: {allowed}", field=field_name) from None


class _BackgroundWriter:
    """One thread writing the batches handed to it, one at a time
    (``Framdrift.background_writes``)."""

    def __init__(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._executor = ThreadPoolExecutor(max_workers=1,
                                            thread_name_prefix="framdrift-bulk-writer")
        self._pending: Any = None

    def submit(self, write: Callable[[], None]) -> None:
        self.wait()
        self._pending = self._executor.submit(write)

    def wait(self) -> None:
        """Until the batch in flight is written; raises its error, if any."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self, *, quiet: bool = False) -> None:
        try:
            self.wait()
        except Exception:
            if not quiet:
                raise
            logger.warning("a background batch failed too", exc_info=True)
        finally:
            self._executor.shutdown(wait=True)


class _Collecting(ProcessingEvent[UUID]):
    """The library's ``ProcessingEvent`` without its two ``isinstance(obj, Protocol)``
    checks per aggregate saved (typing's Protocol check walks the class's attributes:
    ~0.25 ms a form post, 15% of its CPU on SQLite) for what is plainly one of our
    aggregates; anything else takes the library's way."""

    def collect_events(self, *objs: Any, **kwargs: Any) -> None:
        for obj in objs:
            if isinstance(obj, FramdriftAggregate):
                self.events.extend(obj.collect_events())
                self.aggregates[obj.id] = obj
            else:
                super().collect_events(obj)
        self.saved_kwargs.update(kwargs)


class Framdrift(Application[UUID]):
    """Framdrift's event-sourced application (one per process, built after fork)."""

    name = "Framdrift"

    #: Snapshot the programme every N of its events: it grows with the course, and a
    #: process loading it for the first time then folds at most N events (ADR 0008).
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Programme: 200}
    #: How many aggregates each process keeps (``FRAMDRIFT_AGGREGATE_CACHE``; 0: none).
    AGGREGATE_CACHE_DEFAULT = 2000

    def __init__(self, env: dict[str, str] | None = None, *, config: StoreConfig | None = None):
        self.config = config or parse_database_url()
        merged = dict(self.config.env)
        merged.update(env or {})
        # Events are written only by recorders that add their hash-chain links in the
        # same transaction (domain/chain.py, docs/adr/0005-hash-chain.md).
        merged["APPLICATION_RECORDER_TOPIC"] = recorder_topic(self.config.is_postgres)
        super().__init__(merged)

    @classmethod
    def from_url(cls, url: str | None = None, **env: str) -> Framdrift:
        return cls(env, config=parse_database_url(url))

    # infrastructure ---------------------------------------------------------

    def construct_transcoder(self) -> Transcoder:
        transcoder = JSONTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_value_transcodings(transcoder)
        # The factory exists before the mapper is constructed, so the key store can
        # share eventsourcing's connection pool.
        self.sql = Sql(
            self.factory.datastore,
            postgres=self.config.is_postgres,
            schema=getattr(self.factory.datastore, "schema", None),
        )
        if self.config.is_postgres and not self.factory.datastore.pre_ping:
            install_quiet_check(self.factory.datastore)  # no ping per checkout (ADR 0008)
        self.keys = KeyStore(self.sql, master_key_from_env())
        transcoder.register(PersonalDataTranscoding(self.keys))
        transcoder.register(SetAsList())  # snapshots hold an aggregate's handled requests

    def construct_recorder(self) -> Any:
        recorder = super().construct_recorder()
        recorder.chain_writer = ChainWriter(
            self.sql.table(CHAIN_TABLE), chain_key_from_env(), self.keys)
        if _flag(self.env.get("FRAMDRIFT_GROUP_COMMIT") or "y"):
            # concurrent writers' events in one transaction (domain/groupcommit.py)
            recorder.group_commit = GroupCommit(recorder.write_events)
        return recorder

    def save(self, *objs: Any, **kwargs: Any) -> list[Any]:
        """The library's ``Application.save``, collecting with :class:`_Collecting`."""
        processing_event = _Collecting()
        processing_event.collect_events(*objs, **kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self.notify(processing_event.events)  # (deprecated in the library; kept as it is)
        return recordings

    def construct_repository(self) -> CachingRepository:
        """The aggregate cache with fast-forward (domain/loading.py): programmes and
        participants that are not erased; records are always read from the store."""
        raw = self.env.get("FRAMDRIFT_AGGREGATE_CACHE") or os.environ.get(
            "FRAMDRIFT_AGGREGATE_CACHE", "")
        size = int(raw) if raw.strip() else self.AGGREGATE_CACHE_DEFAULT
        return CachingRepository(
            event_store=self.events, snapshot_store=self.snapshots,
            cache_maxsize=size if size > 0 else None, fastforward=True,
            deepcopy_from_cache=True, cacheable=_cacheable,
        )

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        """One snapshot per aggregate whose new events reached a multiple of its interval,
        of its state as now stored. A snapshot is an optimisation: if it cannot be taken,
        the events (already committed) stand and the command still succeeds."""
        if self.snapshots is None:
            return
        due: dict[UUID, int] = {}
        for e in processing_event.events:
            aggregate = processing_event.aggregates.get(e.originator_id)
            interval = self.snapshotting_intervals.get(type(aggregate))
            if interval and e.originator_version % interval == 0:
                due[e.originator_id] = e.originator_version
        for aggregate_id in due:
            try:
                state = self.repository.get(aggregate_id, deepcopy_from_cache=False)
                self.snapshots.put([type(state).Snapshot.take(state)])
            except Exception:  # noqa: BLE001 - never fail a recorded command for it
                logger.warning("could not snapshot %s", aggregate_id, exc_info=True)

    @classmethod
    def migrate(cls, url: str | None = None) -> Framdrift:
        """Create schema and tables once (never in web workers). Returns the app."""
        config = parse_database_url(url)
        if config.is_postgres and config.schema:
            import psycopg

            env = config.env
            with psycopg.connect(
                dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"],
                port=int(env["POSTGRES_PORT"]), user=env["POSTGRES_USER"],
                password=env["POSTGRES_PASSWORD"] or None, autocommit=True,
            ) as conn:
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{config.schema}"')
        app = cls({"CREATE_TABLE": "yes"}, config=config)
        app.keys.create_tables()
        app.chain.migrate()  # builds the chain of a store that predates it, once
        from domain.batchread import create_indexes

        create_indexes(app)  # the log's rows that create links, messages, tokens, schedules
        return app

    @property
    def chain(self) -> LogChain:
        """Migrating and verifying the log's hash chain (domain/chain.py; links are written
        by the recorders, in each write's own transaction)."""
        if self._chain is None:
            self._chain = LogChain(self)
        return self._chain

    _chain: LogChain | None = None

    def has_tables(self) -> bool:
        try:
            self.recorder.max_notification_id()
        except Exception:  # noqa: BLE001 - any failure here means "not migrated"
            return False
        return True

    # bulk loading -------------------------------------------------------------

    # A batch belongs to the thread that opened it: a threaded web worker shares one
    # application, and another request's commands must neither join nor end it.

    def _thread(self) -> threading.local:
        found = self.__dict__.get("_thread_state")
        return found if found is not None else self.__dict__.setdefault(
            "_thread_state", threading.local())

    @property
    def _batch(self) -> dict[UUID, FramdriftAggregate] | None:
        return getattr(self._thread(), "batch", None)

    @_batch.setter
    def _batch(self, value: dict[UUID, FramdriftAggregate] | None) -> None:
        self._thread().batch = value

    @property
    def _batch_events(self) -> ProcessingEvent[UUID] | None:
        return getattr(self._thread(), "batch_events", None)

    @_batch_events.setter
    def _batch_events(self, value: ProcessingEvent[UUID] | None) -> None:
        self._thread().batch_events = value

    @contextmanager
    def batch(self, *, fresh: bool = False) -> Iterator[None]:
        """Collect the events of many commands and record them in one transaction.

        For bulk loads (demo data, benchmarks): commands run as usual, in order,
        but their events are written together when the block ends, in the order
        they happened. If anything fails, nothing of the batch is written.

        ``fresh``: the batch creates new records and new participants only, so the
        store is not asked whether each request was handled before, and data keys
        are made in memory and written together (``KeyStore.deferring``) — no round
        trip per command. If a record did exist after all, the batch fails whole
        (``ConcurrentChangeError``); a key stored meanwhile is used instead of ours.
        """
        if self._batch is not None:
            yield
            return
        self._batch, self._batch_events = {}, _Collecting()
        self._thread().fresh = fresh
        try:
            with self.keys.deferring() if fresh else self.keys.holding():
                yield
                collected = self._batch_events
                if collected.events:
                    writer: _BackgroundWriter | None = getattr(self._thread(), "writer", None)
                    if fresh and writer is not None:
                        writer.wait()  # the previous batch is written (or its error raised)
                        stored = self._encode_batch(collected.events, fresh=True)
                        writer.submit(lambda: self._finish_batch(
                            collected, lambda: self._write_batch(collected, stored)))
                    else:
                        self._finish_batch(collected, lambda: self._record_batch(
                            collected, fresh=fresh))
        finally:
            self._batch, self._batch_events = None, None
            self._thread().fresh = False

    def _finish_batch(self, collected: ProcessingEvent[UUID],
                      record: Callable[[], list[Recording[UUID]]]) -> None:
        try:
            recordings = record()
        except IntegrityError:
            raise errors.ConcurrentChangeError(
                "someone else changed these records at the same time; "
                "nothing was recorded; reload and try again"
            ) from None
        self._take_snapshots(collected)
        self._notify(recordings)

    @contextmanager
    def background_writes(self) -> Iterator[None]:
        """Fresh batches this thread ends inside the block are written to PostgreSQL by
        one writer thread while this one builds the next (bulk loads: ``load_demo``).

        The events are encoded and their data keys stored here, as in a plain fresh
        batch; the writer does the COPY, the hash chain and the commit, in the same one
        transaction per batch as before. One batch at a time is in flight: the next
        batch waits for it before anything of its own is stored, so a failed batch
        stops the load there (its error is raised from the next batch, or when the
        block ends) and the store holds whole batches only. The server works on one
        batch's COPY while Python builds the next (psycopg releases the GIL while it
        waits). On SQLite (one writer, in-process) the block changes nothing.
        """
        if not self.config.is_postgres or getattr(self._thread(), "writer", None) is not None:
            yield
            return
        writer = _BackgroundWriter()
        self._thread().writer = writer
        try:
            yield
        except BaseException:
            writer.close(quiet=True)
            raise
        else:
            writer.close()
        finally:
            self._thread().writer = None

    #: Above this many events a batch is written to PostgreSQL with COPY.
    BATCH_CHUNK = 2000

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        try:
            return super()._record(processing_event)
        finally:  # saved or refused: this request reads them from the store again
            self.repository.saved(processing_event.aggregates)

    def _record_batch(self, processing_event: ProcessingEvent[UUID], *,
                      fresh: bool = False) -> list[Recording[UUID]]:
        """Record a batch in ONE transaction, as several INSERTs on PostgreSQL.

        eventsourcing's PostgreSQL recorder sends all events as one statement in
        psycopg pipeline mode, and psycopg (3.3.9 at least) can stop flushing a
        large pipelined message before the server has all of it: both sides then
        wait for each other for ever (server in ClientRead, client in
        ``Pipeline.sync``), from about 5 MB (~15k demo events) on. So big batches
        go through the recorder's own statements (table lock, NOTIFY, COPY; see
        ``ChainedPostgresRecorder.insert_events_in_chunks``) without pipeline mode,
        inside one transaction: still all or nothing, chain links included. A
        fresh batch writes its deferred data keys first (``KeyStore.flush_deferred``).
        """
        self.repository.saved(processing_event.aggregates)
        events = processing_event.events
        chunked = self.config.is_postgres and len(events) > self.BATCH_CHUNK
        if not chunked and not fresh:
            return self._record(processing_event)
        return self._write_batch(processing_event, self._encode_batch(events, fresh=fresh))

    def _encode_batch(self, events: list[Any], *, fresh: bool) -> list[StoredEvent]:
        """The stored events (encrypted where personal); a fresh batch's deferred data
        keys are stored now, and if some existed already the events are encoded again
        with those (``KeyStore.flush_deferred``)."""
        to_stored = self.mapper.to_stored_event
        stored = [to_stored(e) for e in events]
        if fresh and not self.keys.flush_deferred():  # some keys existed: theirs, again
            stored = [to_stored(e) for e in events]
        return stored

    def _write_batch(self, processing_event: ProcessingEvent[UUID],
                     stored: list[StoredEvent]) -> list[Recording[UUID]]:
        """The encoded events of a batch and their chain links, in ONE transaction."""
        assert processing_event.tracking is None, "batches carry no tracking"
        events = processing_event.events
        recorder: Any = self.recorder
        if self.config.is_postgres and len(events) > self.BATCH_CHUNK:
            ids = recorder.insert_events_in_chunks(stored, self.BATCH_CHUNK)
        else:
            ids = list(recorder.insert_events(stored) or [])
        if len(ids) != len(stored):
            raise AssertionError(f"recorded {len(ids)} of {len(stored)} events")
        recordings = [
            Recording(d, Notification(
                id=n_id, originator_id=s.originator_id,
                originator_version=s.originator_version, topic=s.topic, state=s.state,
            ))
            for d, s, n_id in zip(events, stored, ids, strict=True)
        ]
        if self.repository.cache and not self.repository.fastforward:
            for aggregate_id, aggregate in processing_event.aggregates.items():
                self.repository.cache.put(aggregate_id, aggregate)
        return recordings

    # helpers ----------------------------------------------------------------

    def _contains(self, aggregate_id: UUID) -> bool:
        if self._batch is not None and aggregate_id in self._batch:
            return True
        if self._batch is not None and getattr(self._thread(), "fresh", False):
            return False  # a fresh batch: the insert refuses anything stored before
        # whether it has an event: one indexed look-up, nothing loaded or decrypted
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    def _get(self, cls: type[A], aggregate_id: UUID | str, error: type[errors.NotFoundError]) -> A:
        """An aggregate of its own to change (a copy when it comes from the cache)."""
        return self._load(cls, aggregate_id, error, copy=True)

    def _read(self, cls: type[A], aggregate_id: UUID | str, error: type[errors.NotFoundError]) -> A:
        """An aggregate for reading only: the cached value itself, no copy (never change
        it; ``_save`` refuses it). domain/loading.py."""
        return self._load(cls, aggregate_id, error, copy=False)

    def _load(self, cls: type[A], aggregate_id: UUID | str, error: type[errors.NotFoundError],
              *, copy: bool) -> A:
        uid = _uuid(aggregate_id, error)
        batch = self._batch
        if batch is not None and uid in batch:
            found = batch[uid]
            if not isinstance(found, cls):
                raise error(f"{uid} is not {_a(cls)}")
            return found
        try:
            aggregate = self.repository.get(uid, deepcopy_from_cache=copy)
        except AggregateNotFoundError:
            raise error(f"{_words(cls)} {uid} not found") from None
        if not isinstance(aggregate, cls):
            raise error(f"{uid} is not {_a(cls)}")
        return aggregate

    def _save(self, *aggregates: FramdriftAggregate) -> int | None:
        for aggregate in aggregates:
            if self.repository.is_shared(aggregate):
                self.repository.forget(aggregate.id)
                raise RuntimeError(f"{aggregate.id} was changed where it was loaded for "
                                   "reading only: load it with _get(..., copy=True)")
        batch, collected = self._batch, self._batch_events
        if batch is not None and collected is not None:
            # _Collecting: without the library's runtime Protocol checks per call (a
            # third of a bulk load's commands' time)
            collected.collect_events(*aggregates)
            for aggregate in aggregates:
                batch[aggregate.id] = aggregate
            return None
        try:
            recordings = self.save(*aggregates)
        except IntegrityError:
            raise errors.ConcurrentChangeError(
                "someone else changed this record at the same time; reload and try again"
            ) from None
        return recordings[-1].notification.id if recordings else None

    def _create(self, aggregate: A, request_id: str | None) -> UUID:
        if self._batch is not None:
            self._save(aggregate)
            return aggregate.id
        try:
            self.save(aggregate)
        except IntegrityError:
            if request_id and self._contains(aggregate.id):
                return aggregate.id  # a retry: the first attempt was recorded
            raise errors.ConcurrentChangeError("that record already exists") from None
        return aggregate.id

    def _already(self, kind: str, request_id: str | None) -> UUID | None:
        """The id of a record an earlier attempt of this request created, if any."""
        if request_id:
            rid = record_id_for(kind, request_id)
            if self._contains(rid):
                return rid
        return None

    def _once(self, kind: str, request_id: str | None, create: Callable[[], UUID]) -> UUID:
        """Create a record once per request id. The record's id is derived from the
        request id, so outside a batch the write itself is the check: a repeat's insert
        is refused by the store (one event per id and version) and ``_create`` answers
        the first attempt's id; only a refused write, or a repeat that the checks now
        refuse (the programme closed since, a base withdrawn), asks the store whether the
        record exists, and answers as before if so (ADR 0024). A batch asks first: one
        conflict there would fail the whole batch."""
        if self._batch is not None or not request_id:
            if (existing := self._already(kind, request_id)) is not None:
                return existing
            return create()
        try:
            return create()
        except errors.DomainError:
            if (existing := self._already(kind, request_id)) is not None:
                return existing
            raise

    def author_ids(self, participant_id: UUID | str) -> list[UUID]:
        """The participant's id and, when this process has the participant cached, their
        programme's (a participant never changes programme): what a post as them reads,
        for ``CachingRepository.prefetch`` (ADR 0024). No store call."""
        uid = _try_uuid(participant_id)
        if uid is None:
            return []
        cache = self.repository.cache
        try:
            participant = cache.get(uid) if cache is not None else None
        except KeyError:
            participant = None
        if isinstance(participant, Participant):
            return [uid, participant.programme_id]
        return [uid]

    def _as_author(self, participant: Participant,
                   request_id: str | None) -> AbstractContextManager[None]:
        """Participants act as themselves unless someone else is named as actor."""
        actor = actor_cvar.get()
        return acting_on(participant_actor(participant.id) if actor == SYSTEM_ACTOR else actor,
                         request_id)

    def _author(
        self, programme_id: UUID | str | None, participant_id: UUID | str
    ) -> tuple[Participant, Programme]:
        """The author and their programme, both checked. Outside a request (a direct call,
        the CLI), both are fast-forwarded in one query, as a form post's sign-in check
        does for the page (``CachingRepository.prefetch``, ADR 0024): one round trip,
        not one per aggregate."""
        repository = self.repository
        if self._batch is None and not repository.in_request_scope():
            with repository.request_scope():
                repository.prefetch(self.author_ids(participant_id))
                return self._checked_author(programme_id, participant_id)
        return self._checked_author(programme_id, participant_id)

    def _checked_author(
        self, programme_id: UUID | str | None, participant_id: UUID | str
    ) -> tuple[Participant, Programme]:
        participant = self._read(Participant, participant_id, errors.ParticipantNotFoundError)
        participant.require_active()
        if programme_id is not None and _uuid(
            programme_id, errors.ProgrammeNotFoundError
        ) != participant.programme_id:
            raise errors.NotEnrolledError("the participant is not enrolled in this programme")
        programme = self._read(Programme, participant.programme_id, errors.ProgrammeNotFoundError)
        programme.require_open()
        return participant, programme

    def _week(self, programme: Programme, week: int | None) -> int:
        if week is None:
            return programme.current_week(now().date())
        if isinstance(week, bool) or not isinstance(week, int):
            raise errors.UnknownWeekError("week must be a whole number")
        programme.week(week)
        return week

    def _units(self, programme: Programme, units: list[str] | None) -> list[str]:
        for unit in units or []:
            programme.require_unit(unit, "units")
        return list(dict.fromkeys(units or []))

    def _bases(
        self,
        programme: Programme,
        kind: Any,
        based_on: list[UUID | str],
        self_id: UUID | None = None,
        viewer: UUID | None = None,
    ) -> list[UUID]:
        """Check "based on" links: existing, same programme, allowed kind, not void, acyclic,
        and, for ``viewer`` (who links), their own or their team's records or records their
        authors shared with the course group (docs/adr/0007-sharing-and-teams.md)."""
        ids = [_uuid(b, errors.RecordNotFoundError) for b in based_on]
        allowed = ALLOWED_BASES[kind]
        for base_id in ids:
            try:
                base = self._get(Record, base_id, errors.RecordNotFoundError)
            except errors.RecordNotFoundError:
                raise errors.BasedOnError(f"record {base_id} does not exist") from None
            if base.programme_id != programme.id:
                raise errors.BasedOnError(f"record {base_id} belongs to another programme")
            if base.KIND not in allowed:
                names = ", ".join(sorted(k.value for k in allowed)) or "nothing"
                raise errors.BasedOnError(
                    f"a {kind.value} can be based on {names}, not on a {base.KIND.value}"
                )
            if base.is_void:
                raise errors.BasedOnError(f"record {base_id} is withdrawn or reversed")
            if viewer is not None and not base.visible_to(viewer):
                raise errors.BasedOnError(
                    f"record {base_id} is a colleague's that is not shared with the course group")
        if self_id is not None:
            self._require_acyclic(self_id, ids)
        return list(dict.fromkeys(ids))

    def _colleagues(
        self, programme: Programme, ids: list[UUID | str] | None, field_name: str,
        author: Participant | None = None, *, drop_erased: bool = False,
    ) -> list[UUID]:
        """Participants named by a record (a decision's participants, a team): enrolled in
        the same programme and not erased (``drop_erased``: left out instead); the author
        is left out (always involved)."""
        found: list[UUID] = []
        for value in ids or []:
            try:
                person = self._get(Participant, value, errors.ParticipantNotFoundError)
            except errors.ParticipantNotFoundError as e:
                raise errors.InvalidValueError(e.message, field=field_name) from None
            if person.programme_id != programme.id:
                raise errors.NotEnrolledError(
                    f"participant {person.id} is not enrolled in this programme",
                    field=field_name)
            if person.erased and drop_erased:
                continue
            if person.erased:
                raise errors.ParticipantErasedError(
                    f"participant {person.id} has been erased", field=field_name)
            if (author is None or person.id != author.id) and person.id not in found:
                found.append(person.id)
        return found

    def _require_acyclic(self, self_id: UUID, ids: list[UUID]) -> None:
        stack, seen = list(ids), set()
        while stack:
            current = stack.pop()
            if current == self_id:
                raise errors.LineageCycleError(
                    "these links would make the record build on itself (a cycle)"
                )
            if current in seen:
                continue
            seen.add(current)
            try:
                stack.extend(self._get(Record, current, errors.RecordNotFoundError).based_on)
            except errors.RecordNotFoundError:
                continue

    def _change(
        self, cls: type[A], aggregate_id: UUID | str, not_found: type[errors.NotFoundError],
        *, request_id: str | None, expected_version: int | None,
        command: Callable[[A], Any],
    ) -> Any:
        """Change one existing aggregate: the one way every command does it, so none forgets.

        The aggregate is loaded ONCE. A request it has already handled answers what it
        answered the first time. The version the client read is compared with the version
        loaded, and the change is applied to that same loaded aggregate and saved: the
        store's own optimistic concurrency (one event per originator id and version) then
        refuses any other writer that loaded the same version, so a check can never pass
        on one read and the save land on a later one (a lost update). A retry that loses
        the race to its own first try (same request id, both loaded before either saved)
        answers as the first try did, not with a conflict.
        """
        aggregate = self._get(cls, aggregate_id, not_found)
        if aggregate.has_handled(request_id):
            return aggregate.result_of(request_id)
        if expected_version is not None and expected_version != aggregate.version:
            raise errors.ConcurrentChangeError(
                f"changed since you read it (version {expected_version}, "
                f"now {aggregate.version}); reload and try again"
            )
        with request(request_id):
            result = command(aggregate)
        try:
            self._save(aggregate)
        except errors.ConcurrentChangeError:
            if request_id and self._batch is None:
                now_stored = self._get(cls, aggregate.id, not_found)
                if now_stored.has_handled(request_id):
                    return now_stored.result_of(request_id)
            raise
        return result

    # programme ----------------------------------------------------------------

    def plan_programme(
        self,
        *,
        organisation: str,
        title: str,
        first_day: date | None = None,
        weeks: list[dict[str, Any]] | None = None,
        units: list[dict[str, str]] | None = None,
        maturity_dimensions: list[str] | None = None,
        synthetic: bool = False,
        request_id: str | None = None,
        instrument: list[dict[str, Any]] | None = None,
    ) -> UUID:
        """Plan a programme: explicit weeks, or five default themed weeks from ``first_day``;
        its maturity instrument (dimensions as dicts, see ``dimensions_from``), or the
        default one."""
        if (existing := self._already("programme", request_id)) is not None:
            return existing
        if weeks:
            try:
                week_objs = [
                    Week(
                        number=int(w["number"]), theme=str(w["theme"]),
                        starts_on=_date(w["starts_on"]), ends_on=_date(w["ends_on"]),
                    )
                    for w in weeks
                ]
            except (KeyError, TypeError, ValueError) as e:
                raise errors.InvalidValueError(f"invalid week: {e}", field="weeks") from None
        else:
            week_objs = Week.default_weeks(first_day or now().date())
        with request(request_id):
            programme = Programme.plan(
                organisation=organisation, title=title, weeks=week_objs, units=units,
                maturity_dimensions=maturity_dimensions, synthetic=synthetic,
                request_id=request_id,
                instrument=dimensions_from(instrument) if instrument else None,
            )
        return self._create(programme, request_id)

    def _programme_command(
        self, programme_id: UUID | str, request_id: str | None, command: Any,
        expected_version: int | None = None,
    ) -> Any:
        return self._change(
            Programme, programme_id, errors.ProgrammeNotFoundError, request_id=request_id,
            expected_version=expected_version, command=command,
        )

    def register_unit(
        self, programme_id: UUID | str, *, key: str, name: str, kind: str = "administration",
        request_id: str | None = None,
    ) -> str:
        self._programme_command(
            programme_id, request_id, lambda p: p.register_unit(key, name, kind)
        )
        return key

    def publish_material(
        self, programme_id: UUID | str, *, week: int, kind: str, title: str,
        url: str | None = None, request_id: str | None = None,
    ) -> str:
        kind_enum = _enum(MaterialKind, kind, "kind")
        return self._programme_command(
            programme_id, request_id,
            lambda p: p.publish_material(week=week, kind=kind_enum, title=title, url=url),
        )

    def hold_check_in(
        self, programme_id: UUID | str, *, week: int, held_on: date,
        request_id: str | None = None,
    ) -> str:
        return self._programme_command(
            programme_id, request_id,
            lambda p: p.hold_meeting(kind=MeetingKind.CHECK_IN, week=week,
                                     held_on=_command_date(held_on)),
        )

    def hold_session(
        self, programme_id: UUID | str, *, week: int, held_on: date,
        request_id: str | None = None,
    ) -> str:
        return self._programme_command(
            programme_id, request_id,
            lambda p: p.hold_meeting(kind=MeetingKind.SESSION, week=week,
                                     held_on=_command_date(held_on)),
        )

    def identify_development_area(
        self, programme_id: UUID | str, *, name: str, description: str = "",
        request_id: str | None = None,
    ) -> str:
        return self._programme_command(
            programme_id, request_id,
            lambda p: p.identify_development_area(name=name, description=description),
        )

    def rename_development_area(
        self, programme_id: UUID | str, area_id: str, *, name: str,
        expected_version: int | None = None, request_id: str | None = None,
    ) -> None:
        self._programme_command(
            programme_id, request_id, lambda p: p.rename_development_area(area_id, name),
            expected_version,
        )

    def merge_development_areas(
        self, programme_id: UUID | str, source_id: str, *, into: str,
        expected_version: int | None = None, request_id: str | None = None,
    ) -> None:
        self._programme_command(
            programme_id, request_id, lambda p: p.merge_development_areas(source_id, into),
            expected_version,
        )

    def adopt_recommendation(
        self, programme_id: UUID | str, *, text: str, development_areas: list[str],
        request_id: str | None = None,
    ) -> str:
        return self._programme_command(
            programme_id, request_id,
            lambda p: p.adopt_recommendation(text=text, development_areas=development_areas),
        )

    def assess_maturity(
        self, programme_id: UUID | str, *, phase: str, instrument: str,
        scores: dict[str, float], assessed_on: date | None = None, unit: str | None = None,
        request_id: str | None = None,
    ) -> str:
        phase_enum = _enum(Phase, phase, "phase")
        return self._programme_command(
            programme_id, request_id,
            lambda p: p.assess_maturity(
                phase=phase_enum, instrument=instrument, scores=scores,
                assessed_on=_command_date(assessed_on or now().date(), "assessed_on"), unit=unit,
            ),
        )

    def define_maturity_instrument(
        self, programme_id: UUID | str, *, dimensions: list[dict[str, Any]],
        expected_version: int | None = None, request_id: str | None = None,
    ) -> None:
        """Record a new version of the programme's maturity instrument (all its
        dimensions, as dicts: key, name_sv, name_en, category, scale_min, scale_max)."""
        checked = dimensions_from(dimensions)
        self._programme_command(
            programme_id, request_id, lambda p: p.define_maturity_instrument(checked),
            expected_version,
        )

    def close_programme(
        self, programme_id: UUID | str, *, expected_version: int | None = None,
        request_id: str | None = None,
    ) -> None:
        self._programme_command(programme_id, request_id, lambda p: p.close(), expected_version)

    def note_cohort_enrolled(
        self, programme_id: UUID | str, *, size: int, expected_version: int,
        request_id: str | None = None,
    ) -> None:
        """Inside the ``batch()`` that enrols a list: the programme's own event, saved with
        the participants, refused when the programme is no longer at ``expected_version``
        (the version read before the list's rows were checked against who is enrolled)."""
        self._programme_command(
            programme_id, request_id, lambda p: p.note_cohort_enrolled(size), expected_version
        )

    # participants -------------------------------------------------------------

    def enrol_participant(
        self, programme_id: UUID | str, *, name: str, email: str | None, role: str, unit: str,
        consent: bool = False, request_id: str | None = None,
    ) -> UUID:
        if (existing := self._already("participant", request_id)) is not None:
            return existing
        programme = self._get(Programme, programme_id, errors.ProgrammeNotFoundError)
        role_enum = _enum(Role, role, "role")
        with request(request_id):
            participant = Participant.enrol(
                programme, name=name, email=email, role=role_enum, unit=unit,
                request_id=request_id,
            )
            if consent:
                participant.give_consent()
        return self._create(participant, request_id)

    def _participant_command(
        self, participant_id: UUID | str, request_id: str | None, command: Any,
        expected_version: int | None = None,
    ) -> None:
        def change(participant: Participant) -> None:
            with self._as_author(participant, request_id):
                command(participant)

        self._change(
            Participant, participant_id, errors.ParticipantNotFoundError,
            request_id=request_id, expected_version=expected_version, command=change,
        )

    def give_consent(
        self, participant_id: UUID | str, *, expected_version: int | None = None,
        request_id: str | None = None,
    ) -> None:
        self._participant_command(
            participant_id, request_id, lambda p: p.give_consent(), expected_version
        )

    def withdraw_consent(
        self, participant_id: UUID | str, *, expected_version: int | None = None,
        request_id: str | None = None,
    ) -> None:
        self._participant_command(
            participant_id, request_id, lambda p: p.withdraw_consent(), expected_version
        )

    def record_material_taken_part_of(
        self, participant_id: UUID | str, material_id: str, *, request_id: str | None = None
    ) -> None:
        participant, programme = self._author(None, participant_id)
        programme.require_material(material_id)
        self._participant_command(participant.id, request_id, lambda p: p.take_part_of(material_id))

    def record_attendance(
        self, participant_id: UUID | str, meeting_id: str, *, attended: bool = True,
        request_id: str | None = None,
    ) -> None:
        participant, programme = self._author(None, participant_id)
        programme.require_meeting(meeting_id)
        self._participant_command(
            participant.id, request_id, lambda p: p.record_attendance(meeting_id, attended)
        )

    def erase_participant(self, participant_id: UUID | str) -> None:
        """Record the erasure, then delete the key: from then on nothing personal is readable."""
        participant = self._get(Participant, participant_id, errors.ParticipantNotFoundError)
        participant.erase()
        self._save(participant)
        self.keys.erase(participant.id)

    # reflections --------------------------------------------------------------

    def log_reflection(
        self, participant_id: UUID | str, *, programme_id: UUID | str | None = None,
        week: int | None = None, material_id: str | None = None, example: str,
        deficiency: str | None = None, solutions: str | None = None,
        development_areas: list[str] | None = None, shared: bool = False,
        request_id: str | None = None,
    ) -> UUID:
        """``shared``: with the course group; False (the default) is for the researchers
        only (docs/adr/0007-sharing-and-teams.md)."""
        def create() -> UUID:
            participant, programme = self._author(programme_id, participant_id)
            week_no = self._week(programme, week)
            if material_id:
                programme.require_material(material_id)
            areas = programme.require_areas(development_areas or [])
            with self._as_author(participant, request_id):
                reflection = Reflection.log(
                    programme_id=programme.id, author=participant, week=week_no,
                    material_id=material_id or None, example=example, deficiency=deficiency,
                    solutions=solutions, development_areas=areas, shared=shared,
                    request_id=request_id,
                )
            return self._create(reflection, request_id)

        return self._once("reflection", request_id, create)

    def _record_command(
        self, cls: type[A], record_id: UUID | str, participant_id: UUID | str | None,
        request_id: str | None, expected_version: int | None, command: Any,
        *, who: str = "author",
    ) -> None:
        """Change a record as ``participant_id`` (default: its author), who must be its
        ``who``: "author", "member" (the author or a member of its team) or "anyone" in its
        programme (the command checks the rest). ``command(record, programme, participant)``."""
        def change(record: Any) -> None:
            author_id = participant_id if participant_id is not None else record.participant_id
            participant, programme = self._author(record.programme_id, author_id)
            if who == "author":
                record.require_author(participant.id)
            elif who == "member":
                record.require_member(participant.id)
            with self._as_author(participant, request_id):
                command(record, programme, participant)

        self._change(
            cls, record_id, errors.RecordNotFoundError, request_id=request_id,
            expected_version=expected_version, command=change,
        )

    def amend_reflection(
        self, reflection_id: UUID | str, *, participant_id: UUID | str | None = None,
        example: str, deficiency: str | None = None, solutions: str | None = None,
        development_areas: list[str] | None = None, expected_version: int | None = None,
        request_id: str | None = None,
    ) -> None:
        def amend(r: Reflection, p: Programme, _who: Participant) -> None:
            r.amend(
                example=example, deficiency=deficiency, solutions=solutions,
                development_areas=p.require_areas(development_areas or []),
            )

        self._record_command(
            Reflection, reflection_id, participant_id, request_id, expected_version, amend
        )

    def withdraw_reflection(
        self, reflection_id: UUID | str, *, participant_id: UUID | str | None = None,
        reason: str | None = None, expected_version: int | None = None,
        request_id: str | None = None,
    ) -> None:
        self._record_command(
            Reflection, reflection_id, participant_id, request_id, expected_version,
            lambda r, p, _who: r.withdraw(reason),
        )

    # decisions ------------------------------------------------------------------

    def make_decision(
        self, participant_id: UUID | str, *, programme_id: UUID | str | None = None,
        week: int | None = None, statement: str, rationale: str | None = None,
        based_on: list[UUID | str] | None = None, units: list[str] | None = None,
        development_areas: list[str] | None = None, participants: list[UUID | str] | None = None,
        shared: bool = False, request_id: str | None = None,
    ) -> UUID:
        """``based_on``: own records, or colleagues' shared ones; ``units`` (keys of the
        programme's units; default the author's) and ``participants`` (colleagues of the
        programme) the decision involves."""
        def create() -> UUID:
            participant, programme = self._author(programme_id, participant_id)
            week_no = self._week(programme, week)
            new_id = record_id_for("decision", request_id) if request_id else None
            bases = self._bases(programme, Decision.KIND, based_on or [], new_id,
                                viewer=participant.id)
            named = self._colleagues(programme, participants, "participants", participant)
            with self._as_author(participant, request_id):
                decision = Decision.make(
                    programme_id=programme.id, author=participant, week=week_no,
                    statement=statement, rationale=rationale, based_on=bases,
                    units=self._units(programme, units),
                    development_areas=programme.require_areas(development_areas or []),
                    shared=shared, participants=named, request_id=request_id,
                )
            return self._create(decision, request_id)

        return self._once("decision", request_id, create)

    def revise_decision(
        self, decision_id: UUID | str, *, participant_id: UUID | str | None = None,
        statement: str, rationale: str | None = None,
        based_on: list[UUID | str] | None = None, units: list[str] | None = None,
        participants: list[UUID | str] | None = None,
        expected_version: int | None = None, request_id: str | None = None,
    ) -> None:
        """``participants``: None keeps those named so far; a list replaces them."""

        def revise(d: Decision, p: Programme, who: Participant) -> None:
            bases = self._bases(p, Decision.KIND, based_on or [], d.id, viewer=who.id)
            d.revise(
                statement=statement, rationale=rationale, based_on=bases,
                units=self._units(p, units),
                participants=None if participants is None else self._colleagues(
                    p, participants, "participants", who),
            )

        self._record_command(
            Decision, decision_id, participant_id, request_id, expected_version, revise
        )

    def reverse_decision(
        self, decision_id: UUID | str, *, participant_id: UUID | str | None = None,
        reason: str, expected_version: int | None = None, request_id: str | None = None,
    ) -> None:
        self._record_command(
            Decision, decision_id, participant_id, request_id, expected_version,
            lambda d, p, _who: d.reverse(reason),
        )

    # experiments ----------------------------------------------------------------

    def plan_experiment(
        self, participant_id: UUID | str, *, programme_id: UUID | str | None = None,
        week: int | None = None, aim: str, change: str, prediction: str, measure: str,
        based_on: list[UUID | str] | None = None, units: list[str] | None = None,
        development_areas: list[str] | None = None, team: list[UUID | str] | None = None,
        shared: bool = False, request_id: str | None = None,
    ) -> UUID:
        """``team``: colleagues of the programme who carry the experiment with its author
        (any of them may take it through its cycle)."""
        def create() -> UUID:
            participant, programme = self._author(programme_id, participant_id)
            week_no = self._week(programme, week)
            new_id = record_id_for("experiment", request_id) if request_id else None
            bases = self._bases(programme, Experiment.KIND, based_on or [], new_id,
                                viewer=participant.id)
            members = self._colleagues(programme, team, "team", participant)
            with self._as_author(participant, request_id):
                experiment = Experiment.plan(
                    programme_id=programme.id, author=participant, week=week_no, aim=aim,
                    change=change, prediction=prediction, measure=measure, based_on=bases,
                    units=self._units(programme, units),
                    development_areas=programme.require_areas(development_areas or []),
                    shared=shared, team=members, request_id=request_id,
                )
            return self._create(experiment, request_id)

        return self._once("experiment", request_id, create)

    def start_experiment(
        self, experiment_id: UUID | str, *, participant_id: UUID | str | None = None,
        week: int | None = None, expected_version: int | None = None,
        request_id: str | None = None,
    ) -> None:
        self._record_command(
            Experiment, experiment_id, participant_id, request_id, expected_version,
            lambda e, p, _who: e.start(self._week(p, week)), who="member",
        )

    def record_observation(
        self, experiment_id: UUID | str, *, participant_id: UUID | str | None = None,
        text: str, expected_version: int | None = None, request_id: str | None = None,
    ) -> None:
        self._record_command(
            Experiment, experiment_id, participant_id, request_id, expected_version,
            lambda e, p, who: e.record_observation(text, by=who.id), who="member",
        )

    def evaluate_experiment(
        self, experiment_id: UUID | str, *, participant_id: UUID | str | None = None,
        result: str, learning: str, expected_version: int | None = None,
        request_id: str | None = None,
    ) -> None:
        self._record_command(
            Experiment, experiment_id, participant_id, request_id, expected_version,
            lambda e, p, who: e.evaluate(result=result, learning=learning, by=who.id),
            who="member",
        )

    def conclude_experiment(
        self, experiment_id: UUID | str, *, participant_id: UUID | str | None = None,
        outcome: str, expected_version: int | None = None, request_id: str | None = None,
    ) -> None:
        outcome_enum = _enum(Outcome, outcome, "outcome")
        self._record_command(
            Experiment, experiment_id, participant_id, request_id, expected_version,
            lambda e, p, _who: e.conclude(outcome_enum), who="member",
        )

    def plan_next_cycle(
        self, experiment_id: UUID | str, *, participant_id: UUID | str | None = None,
        week: int | None = None, aim: str, change: str, prediction: str, measure: str,
        units: list[str] | None = None, development_areas: list[str] | None = None,
        shared: bool | None = None, request_id: str | None = None,
    ) -> UUID:
        """Plan the next cycle of a concluded experiment; both are saved together. Any team
        member may: they author the next cycle, whose team is the previous one's team and
        author; ``shared`` defaults to the previous cycle's."""
        if (existing := self._already("experiment", request_id)) is not None:
            return existing
        previous = self._get(Experiment, experiment_id, errors.RecordNotFoundError)
        author_id = participant_id if participant_id is not None else previous.participant_id
        participant, programme = self._author(previous.programme_id, author_id)
        previous.require_member(participant.id)
        previous.require_can_continue()
        team = [m for m in previous.members if m != participant.id]
        week_no = self._week(programme, week)
        with self._as_author(participant, request_id):
            nxt = Experiment.plan(
                programme_id=programme.id, author=participant, week=week_no, aim=aim,
                change=change, prediction=prediction, measure=measure, based_on=[],
                units=self._units(programme, units or previous.units),
                development_areas=programme.require_areas(
                    development_areas if development_areas is not None
                    else previous.development_areas
                ),
                previous=previous,
                shared=previous.shared if shared is None else shared,
                team=self._colleagues(programme, team, "team", participant, drop_erased=True),
                request_id=request_id,
            )
            previous.link_next_cycle(nxt.id)
        # the new cycle first: a log reader meets it before the link that names it (its
        # author may be a team member whose records are left out of what it shows)
        if self._batch is not None:
            self._save(nxt, previous)
            return nxt.id
        try:
            self.save(nxt, previous)
        except IntegrityError:
            if request_id and nxt.id in self.repository:
                return nxt.id
            raise errors.ConcurrentChangeError(
                "someone else changed this experiment at the same time; reload and try again"
            ) from None
        return nxt.id

    # capabilities ---------------------------------------------------------------

    def establish_capability(
        self, participant_id: UUID | str, *, programme_id: UUID | str | None = None,
        week: int | None = None, name: str, description: str,
        experiments: list[UUID | str], units: list[str] | None = None,
        development_areas: list[str] | None = None, team: list[UUID | str] | None = None,
        shared: bool = False, request_id: str | None = None,
    ) -> UUID:
        """From adopted experiments: the participant's own, their team's, or colleagues'
        shared ones; ``team`` as for experiments."""
        def create() -> UUID:
            participant, programme = self._author(programme_id, participant_id)
            week_no = self._week(programme, week)
            bases = self._bases(programme, Capability.KIND, experiments, viewer=participant.id)
            members = self._colleagues(programme, team, "team", participant)
            with self._as_author(participant, request_id):
                capability = Capability.establish(
                    programme_id=programme.id, author=participant, week=week_no, name=name,
                    description=description,
                    experiments=[self._get(Experiment, b, errors.RecordNotFoundError)
                                 for b in bases],
                    units=self._units(programme, units),
                    development_areas=programme.require_areas(development_areas or []),
                    shared=shared, team=members, request_id=request_id,
                )
            return self._create(capability, request_id)

        return self._once("capability", request_id, create)

    def refine_capability(
        self, capability_id: UUID | str, *, participant_id: UUID | str | None = None,
        description: str, expected_version: int | None = None, request_id: str | None = None,
    ) -> None:
        self._record_command(
            Capability, capability_id, participant_id, request_id, expected_version,
            lambda c, p, who: c.refine(description, by=who.id), who="member",
        )

    def apply_capability(
        self, capability_id: UUID | str, *, participant_id: UUID | str | None = None,
        unit: str, note: str, expected_version: int | None = None,
        request_id: str | None = None,
    ) -> None:
        def apply(c: Capability, p: Programme, who: Participant) -> None:
            p.require_unit(unit)
            c.apply_in(unit, note, by=who.id)

        self._record_command(
            Capability, capability_id, participant_id, request_id, expected_version, apply,
            who="member",
        )

    # sharing and teams (docs/adr/0007-sharing-and-teams.md) ----------------------------

    def share_record(
        self, record_id: UUID | str, *, participant_id: UUID | str | None = None,
        expected_version: int | None = None, request_id: str | None = None,
    ) -> None:
        """The author shares a record with the course group (``<Kind>.Shared``)."""
        self._record_command(
            Record, record_id, participant_id, request_id, expected_version,
            lambda r, p, _who: r.share(),
        )

    def unshare_record(
        self, record_id: UUID | str, *, participant_id: UUID | str | None = None,
        expected_version: int | None = None, request_id: str | None = None,
    ) -> None:
        """For the researchers only again (``<Kind>.Unshared``); links made stay."""
        self._record_command(
            Record, record_id, participant_id, request_id, expected_version,
            lambda r, p, _who: r.unshare(),
        )

    @staticmethod
    def _teamed(record: Record) -> Experiment | Capability:
        if not isinstance(record, (Experiment, Capability)):
            raise errors.InvalidValueError(
                "only experiments and capabilities have a team", field="record_id")
        return record

    def add_team_member(
        self, record_id: UUID | str, member_id: UUID | str, *,
        participant_id: UUID | str | None = None, expected_version: int | None = None,
        request_id: str | None = None,
    ) -> None:
        """The author adds a colleague of the programme to an experiment's or a
        capability's team (``TeamMemberAdded``)."""
        def add(r: Record, p: Programme, who: Participant) -> None:
            for member in self._colleagues(p, [member_id], "team"):
                self._teamed(r).add_team_member(member)

        self._record_command(Record, record_id, participant_id, request_id,
                             expected_version, add)

    def remove_team_member(
        self, record_id: UUID | str, member_id: UUID | str, *,
        participant_id: UUID | str | None = None, expected_version: int | None = None,
        request_id: str | None = None,
    ) -> None:
        """The author removes a member, or a member leaves (``TeamMemberRemoved``)."""
        member = _uuid(member_id, errors.ParticipantNotFoundError)

        def remove(r: Record, p: Programme, who: Participant) -> None:
            if who.id != r.participant_id and who.id != member:
                raise errors.NotAuthorError(
                    "only the author removes others from the team; members may leave")
            self._teamed(r).remove_team_member(member)

        self._record_command(Record, record_id, participant_id, request_id,
                             expected_version, remove, who="anyone")

    def join_team(
        self, record_id: UUID | str, *, participant_id: UUID | str,
        expected_version: int | None = None, request_id: str | None = None,
    ) -> None:
        """A participant joins a colleague's shared experiment or capability
        (``TeamMemberJoined``)."""
        self._record_command(
            Record, record_id, participant_id, request_id, expected_version,
            lambda r, p, who: self._teamed(r).join(who.id), who="anyone",
        )

    # queries (simple types out) -------------------------------------------------

    def get_programme(self, programme_id: UUID | str) -> dict[str, Any]:
        return programme_to_dict(self._read(Programme, programme_id, errors.ProgrammeNotFoundError))

    def get_participant(self, participant_id: UUID | str) -> dict[str, Any]:
        return participant_to_dict(
            self._read(Participant, participant_id, errors.ParticipantNotFoundError)
        )

    def get_record(self, record_id: UUID | str) -> dict[str, Any]:
        return record_to_dict(self._get(Record, record_id, errors.RecordNotFoundError))

    def get_records(self, record_ids: Iterable[UUID | str]) -> list[dict[str, Any]]:
        """The records of ``record_ids`` that exist, in that order, read together (one
        query per few hundred, domain/batchread.py) rather than one load each."""
        from domain.batchread import read_many

        ids = list(record_ids)
        found = read_many(self, ids)
        out = []
        for rid in ids:
            aggregate = found.get(rid if isinstance(rid, UUID) else _try_uuid(rid))
            if isinstance(aggregate, Record):
                out.append(record_to_dict(aggregate))
        return out

    def read_log(self, after: int = 0, limit: int = 500) -> list[tuple[int, Any]]:
        """Events after a log position, with their positions, in log order."""
        notifications = self.recorder.select_notifications(
            start=after, limit=limit, inclusive_of_start=False
        )
        return [(n.id, self.mapper.to_domain_event(n)) for n in notifications]

    def iter_log(self, after: int = 0, batch: int = 500) -> Iterator[tuple[int, Any]]:
        while True:
            page = self.read_log(after, batch)
            if not page:
                return
            yield from page
            after = page[-1][0]

    def max_position(self) -> int:
        return self.recorder.max_notification_id() or 0


def _try_uuid(value: Any) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None


def _words(cls: type) -> str:
    """``ApiToken`` -> ``api token``: class names as people read them in messages."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", cls.__name__).lower()


def _a(cls: type) -> str:
    words = _words(cls)
    return f"{'an' if words[0] in 'aeiou' else 'a'} {words}"


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _command_date(value: Any, field: str = "held_on") -> date:
    """A command's date (a meeting's, an assessment's): a date, or one written as
    YYYY-MM-DD."""
    try:
        return _date(value)
    except (TypeError, ValueError):
        raise errors.InvalidValueError("must be a date as YYYY-MM-DD", field=field) from None


def _value(v: Any) -> Any:
    if hasattr(v, "value") and not isinstance(v, (str, int, float)):
        return v.value
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, UUID):
        return str(v)
    return reveal(v)


def dimensions_from(items: list[dict[str, Any]]) -> list[Dimension]:
    """Dimensions from simple dicts (scale defaults 0–100); a missing or mistyped field
    is an ``InvalidValueError`` naming it."""
    if not isinstance(items, list):
        raise errors.InvalidValueError("must be a list of dimensions", field="dimensions")
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise errors.InvalidValueError("must be a list of dimensions", field="dimensions")
        for name in ("key", "name_sv", "name_en"):
            if not isinstance(item.get(name), str):
                raise errors.InvalidValueError("must not be empty", field=name)
        category = item.get("category")
        if category is not None and not isinstance(category, str):
            raise errors.InvalidValueError("must be a text", field="category")
        out.append(Dimension(
            key=item["key"], name_sv=item["name_sv"], name_en=item["name_en"],
            category=category, scale_min=item.get("scale_min", 0.0),
            scale_max=item.get("scale_max", 100.0)))
    return out


def dimension_to_dict(d: Dimension) -> dict[str, Any]:
    return {"key": d.key, "name_sv": d.name_sv, "name_en": d.name_en,
            "category": d.category, "scale_min": d.scale_min, "scale_max": d.scale_max}


def programme_to_dict(p: Programme) -> dict[str, Any]:
    return {
        "id": str(p.id),
        "version": p.version,
        "organisation": p.organisation,
        "title": p.title,
        "synthetic": p.synthetic,
        "closed": p.closed,
        "weeks": [
            {"number": w.number, "theme": w.theme, "starts_on": w.starts_on.isoformat(),
             "ends_on": w.ends_on.isoformat()}
            for w in p.weeks
        ],
        "units": [dict(u) for u in p.units.values()],
        "maturity_dimensions": list(p.maturity_dimensions),
        "instrument": [dimension_to_dict(d) for d in p.instrument],
        "assessed_dimensions": sorted(p.assessed_dimensions()),
        "materials": [{k: _value(v) for k, v in m.items()} for m in p.materials.values()],
        "meetings": [{k: _value(v) for k, v in m.items()} for m in p.meetings.values()],
        "development_areas": [dict(a) for a in p.development_areas.values()],
        "recommendations": [dict(r) for r in p.recommendations],
        "assessments": [{k: _value(v) for k, v in a.items()} for a in p.assessments],
    }


def participant_to_dict(p: Participant, *, reveal_personal: bool = True) -> dict[str, Any]:
    return {
        "id": str(p.id),
        "version": p.version,
        "programme_id": str(p.programme_id),
        "pseudonym": p.pseudonym,
        "name": reveal(p.name) if reveal_personal else None,
        "email": reveal(p.email) if reveal_personal and p.email else None,
        "role": p.role.value,
        "unit": p.unit,
        "consent": p.consent,
        "erased": p.erased,
        "materials": sorted(p.materials),
        "attendance": dict(p.attendance),
    }


_RECORD_FIELDS = (
    "material_id", "example", "deficiency", "solutions", "withdrawn", "statement",
    "rationale", "units", "reversed", "aim", "change", "prediction", "measure", "stage",
    "result", "learning", "outcome", "cycle", "previous_cycle_id", "next_cycle_id",
    "started_week", "name", "description",
)


def record_to_dict(r: Record) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(r.id),
        "kind": r.KIND.value,
        "version": r.version,
        "programme_id": str(r.programme_id),
        "participant_id": str(r.participant_id),
        "unit": r.unit,
        "week": r.week,
        "based_on": [str(b) for b in r.based_on],
        "development_areas": list(r.development_areas),
        "void": r.is_void,
        "created_on": r.created_on.isoformat(),
        "modified_on": r.modified_on.isoformat(),
    }
    writers: dict[str, str] = {}
    for name in _RECORD_FIELDS:
        if name in r.__dict__:
            value = r.__dict__[name]
            data[name] = _value(value)
            if isinstance(value, PersonalData) and value.subject != r.participant_id:
                writers[name] = str(value.subject)  # a team member's words
    # texts a team member wrote (field -> participant id): exports apply THEIR consent
    data["writers"] = writers
    data["shared"] = bool(r.shared)
    if isinstance(r, Decision):
        data["participants"] = [str(p) for p in r.participants]
    if isinstance(r, (Experiment, Capability)):
        data["team"] = [str(m) for m in r.team]
    if isinstance(r, Experiment):
        data["observations"] = [reveal(o) for o in r.observations]
    if isinstance(r, Capability):
        data["applications"] = [{"unit": a["unit"], "note": reveal(a["note"])}
                                for a in r.applications]
    return data


def _cacheable(aggregate: Any) -> bool:
    """Programmes (no personal data) and participants not erased: nothing decrypted is
    kept in a cache once its subject is erased (domain/loading.py). Also what says it is
    ``CACHEABLE`` (sign-in links and API tokens: no personal data, read on every
    request)."""
    if isinstance(aggregate, Participant):
        return not aggregate.erased
    return isinstance(aggregate, Programme) or getattr(aggregate, "CACHEABLE", False)


def _flag(value: str) -> bool:
    return value.strip().lower() not in ("0", "n", "no", "false", "off")
