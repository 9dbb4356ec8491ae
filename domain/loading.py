"""Loading aggregates without replaying them on every request (issue 14, ADR 0008).

eventsourcing 9.5 replays an aggregate from its first event on every ``repository.get``;
a form post used to load the participant and the programme twice each (the page's
sign-in check, then the command), ~180 events decoded per post, and the programme grows
with the course. Three of the library's own means, made safe for Framdrift:

- :func:`fold`: the library's ``project_aggregate`` without its per-event
  ``isinstance(event, CanMutateProtocol)`` assertion (a runtime Protocol check, about
  half of the fold time). It is passed as the repository's projector, a supported
  argument of ``Repository.get``.
- :class:`CachingRepository`: the aggregate cache with fast-forward. Every ``get`` still
  reads the events newer than the cached version (one indexed query), so writes of other
  processes are seen and a version check compares with the store's latest version; the
  store's optimistic concurrency (one event per originator id and version) decides every
  save, as before. A cached aggregate is a value that is never changed once cached: a
  fast-forward folds the new events into a copy and caches that, so threads never see one
  half-folded. Callers get a private deep copy to change (the default) or, with
  ``deepcopy_from_cache=False``, the shared value for reading only. Only aggregates
  ``cacheable`` says yes to are kept: Framdrift keeps programmes (no personal data) and
  participants that are not erased (an erased participant is folded again from the store,
  whose keys are gone). Records hold other people's texts and are never cached, so
  nothing decrypted outlives an erasure in a cache.
- Snapshots of the programme (``Framdrift.snapshotting_intervals``), so a process that
  loads a long course for the first time folds at most one interval of events.

Within one web request (:meth:`CachingRepository.request_scope`, opened by api/app.py)
an aggregate the request has already read, and fast-forwarded then, is not asked for
again when it is read only (``deepcopy_from_cache=False``): a form post reads the
participant and the programme in the page's guard and again in the command's checks, a
few milliseconds apart, and the second look-up only repeated the first (the checks see
the state as of the request's start). An aggregate loaded to be changed is always
fast-forwarded (a command never works on a stale copy, so it conflicts no more often than
before), and a save of this thread ends the reuse of what it saved.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from copy import deepcopy
from itertools import chain
from typing import Any

from eventsourcing.application import AggregateNotFoundError, Repository
from eventsourcing.persistence import PersistenceError, Transcoding

logger = logging.getLogger(__name__)


def fold(aggregate: Any, events: Iterable[Any]) -> Any:
    """Apply ``events`` in order (``project_aggregate`` without the Protocol assertion:
    every Framdrift event is an eventsourcing aggregate event or snapshot, which mutate)."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class CachingRepository(Repository[Any]):
    """The library's repository with a cache that is safe across threads and processes
    (see the module's docstring)."""

    cacheable: Callable[[Any], bool] = staticmethod(lambda aggregate: True)  # type: ignore[assignment]

    def __init__(self, *args: Any, cacheable: Callable[[Any], bool] | None = None,
                 **kwargs: Any):
        super().__init__(*args, **kwargs)
        if cacheable is not None:
            self.cacheable = cacheable  # type: ignore[method-assign]
        self._keep_lock = threading.Lock()
        self._snapshots_missing = False
        self._scope = threading.local()

    @contextmanager
    def request_scope(self) -> Iterator[None]:
        """Reuse within this scope (one request, this thread) what it has read."""
        previous = getattr(self._scope, "seen", None), getattr(self._scope, "absent", None)
        self._scope.seen, self._scope.absent = {}, set()
        try:
            yield
        finally:
            self._scope.seen, self._scope.absent = previous

    def in_request_scope(self) -> bool:
        """Whether this thread is inside :meth:`request_scope`."""
        return getattr(self._scope, "seen", None) is not None

    def prefetch(self, aggregate_ids: Iterable[Any], *, probes: Iterable[Any] = ()) -> None:
        """Fast-forward, in ONE query (the recorder's ``select_newer``), the cached
        aggregates among ``aggregate_ids``, and ask whether each of ``probes`` has any
        event; what is learned counts for the rest of this request's scope, as a
        ``get`` would (ADR 0024: a form post's sign-in check and command read the link,
        its session-end marker, the participant and the programme this way). Uncached
        aggregates are left to an ordinary ``get`` (it may start from a snapshot).
        Outside a request scope, or without the recorder's ``select_newer``, nothing."""
        seen = getattr(self._scope, "seen", None)
        select = getattr(self.event_store.recorder, "select_newer", None)
        if seen is None or self.cache is None or select is None:
            return
        cached: dict[Any, Any] = {}
        for aggregate_id in aggregate_ids:
            try:
                cached[aggregate_id] = self.cache.get(aggregate_id)
            except KeyError:
                continue
        probed = [p for p in probes if p not in cached]
        wanted = [(i, a.version) for i, a in cached.items()] + [(p, 0) for p in probed]
        if not wanted:
            return
        new: dict[Any, list[Any]] = {}
        for stored in select(wanted):
            new.setdefault(stored.originator_id, []).append(stored)
        absent = self._scope.__dict__.setdefault("absent", set())
        for probe in probed:
            if probe not in new:
                absent.add(probe)
        to_domain = self.event_store.mapper.to_domain_event
        for aggregate_id, value in cached.items():
            events = [to_domain(s) for s in new.get(aggregate_id, ())]
            aggregate = fold(deepcopy(value), events) if events else value
            if aggregate is None or not self.cacheable(aggregate):
                self.forget(aggregate_id)  # e.g. erased since: an ordinary get folds it again
                continue
            if aggregate is value or self._keep(aggregate_id, aggregate):
                seen[aggregate_id] = aggregate

    def known_absent(self, aggregate_id: Any) -> bool:
        """Whether this request's :meth:`prefetch` found no event of ``aggregate_id``."""
        absent = getattr(self._scope, "absent", None)
        return bool(absent) and aggregate_id in absent

    def saved(self, aggregate_ids: Iterable[Any]) -> None:
        """This thread saved (or tried to save) these: read them from the store again."""
        seen = getattr(self._scope, "seen", None)
        absent = getattr(self._scope, "absent", None)
        for aggregate_id in aggregate_ids:
            if seen:
                seen.pop(aggregate_id, None)
            if absent:
                absent.discard(aggregate_id)

    def get(self, aggregate_id: Any, *, version: int | None = None,
            projector_func: Any = fold, fastforward_skipping: bool = False,
            deepcopy_from_cache: bool = True) -> Any:
        if self.cache is None or version is not None:
            return self._reconstruct_aggregate(aggregate_id, version, projector_func)
        try:
            cached = self.cache.get(aggregate_id)
        except KeyError:
            cached = None
        seen = getattr(self._scope, "seen", None)
        if cached is None:
            aggregate = self._reconstruct_aggregate(aggregate_id, None, projector_func)
        elif not deepcopy_from_cache and seen is not None and seen.get(aggregate_id) is cached:
            aggregate = cached  # read only, and read (fast-forwarded) earlier in this request
        else:
            new = list(self.event_store.get(originator_id=aggregate_id, gt=cached.version))
            if not new:
                aggregate = cached
            else:
                aggregate = projector_func(deepcopy(cached), new)
                if aggregate is None:
                    raise AggregateNotFoundError(aggregate_id)
                if not self.cacheable(aggregate):
                    # e.g. erased since: forget it, and fold it again from the store
                    # (without the texts the cached copy had decrypted)
                    self.forget(aggregate_id)
                    aggregate = self._reconstruct_aggregate(aggregate_id, None, projector_func)
        shared = aggregate is cached or self._keep(aggregate_id, aggregate)
        if shared and seen is not None:
            seen[aggregate_id] = aggregate
        if shared and deepcopy_from_cache and self.deepcopy_from_cache:
            return deepcopy(aggregate)
        return aggregate

    def is_shared(self, aggregate: Any) -> bool:
        """Whether ``aggregate`` is the cached value itself (not to be changed)."""
        if self.cache is None:
            return False
        try:
            return self.cache.get(aggregate.id) is aggregate
        except KeyError:
            return False

    def forget(self, aggregate_id: Any) -> None:
        if self.cache is None:
            return
        with self._keep_lock:
            try:
                self.cache.get(aggregate_id, evict=True)
            except KeyError:
                pass

    def _keep(self, aggregate_id: Any, aggregate: Any) -> bool:
        """Cache ``aggregate`` unless a newer version is cached already (another thread);
        whether it is now shared through the cache."""
        assert self.cache is not None
        if not self.cacheable(aggregate):
            return False
        with self._keep_lock:
            try:
                current = self.cache.get(aggregate_id)
            except KeyError:
                current = None
            if current is None or current.version < aggregate.version:
                self.cache.put(aggregate_id, aggregate)
        return True

    def __contains__(self, item: Any) -> bool:
        try:
            self.get(item, deepcopy_from_cache=False)
        except AggregateNotFoundError:
            return False
        return True

    def _reconstruct_aggregate(self, aggregate_id: Any, version: int | None,
                               projector_func: Any) -> Any:
        """The library's, tolerating a store migrated before snapshots existed (no
        snapshot table yet: every aggregate is folded from its events, as before)."""
        snapshots: list[Any] = []
        if self.snapshot_store is not None and not self._snapshots_missing:
            try:
                snapshots = list(self.snapshot_store.get(
                    originator_id=aggregate_id, desc=True, limit=1, lte=version))
            except PersistenceError as e:
                self._snapshots_missing = True
                logger.warning("snapshots are not readable (%s): aggregates are folded from "
                               "their events; run 'framdrift migrate'", e)
        gt = snapshots[0].originator_version if snapshots else None
        events = self.event_store.get(originator_id=aggregate_id, gt=gt, lte=version)
        aggregate = projector_func(None, chain(snapshots, events))
        if aggregate is None:
            raise AggregateNotFoundError(
                f"Aggregate {aggregate_id!r} version {version!r} not found.")
        return aggregate


class SetAsList(Transcoding):
    """Sets in snapshots (an aggregate's handled request ids), as sorted lists."""

    type = set
    name = "set"

    def encode(self, obj: set[Any]) -> list[Any]:
        return sorted(obj, key=str)

    def decode(self, data: list[Any]) -> set[Any]:
        return set(data)
