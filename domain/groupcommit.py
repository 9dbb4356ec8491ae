"""Group commit: concurrent writers' events in one transaction (issue 14, ADR 0008).

Every write takes the store's one writer lock (PostgreSQL: the recorder's EXCLUSIVE lock
on the events table; SQLite: the database's write lock), reads the chain's head and
commits, so writes are serialised and each pays a commit of its own. With group commit a
writer that finds another write in progress queues its events instead; when that write
ends, the first writer in the queue writes everything queued (in queue order) in ONE
transaction and answers each writer with its own positions, only after the commit.

- All or none per request: a request's events are contiguous in one transaction.
- Order: requests are written in the order they were queued; within a request, in order.
- Requests that write the same record at the same version go in different groups
  (``_take``): at most one of them can be stored, and together they would fail a group.
- One failing request does not fail the others: if a group's transaction fails (a
  version conflict, a failure at commit), nothing of it was stored, and each of its
  requests is written again alone, so each gets its own answer (a conflict fails only the
  request that conflicts).
- A request is answered success only with positions from a committed transaction.
- Idempotency and the hash chain are unchanged: the group's transaction is an ordinary
  write transaction of the recorder (links included), only with more events.

A single writer is never delayed: with nothing in progress it writes at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

Write = Callable[[Sequence[Any]], Sequence[int]]


class _Request:
    __slots__ = ("events", "wake", "positions", "error", "lead", "answered")

    def __init__(self, events: Sequence[Any]):
        self.events = events
        self.wake = threading.Event()  # set when answered, or when it is to lead
        self.positions: Sequence[int] | None = None
        self.error: BaseException | None = None
        self.lead = False
        self.answered = False


class GroupCommit:
    """Write requests from many threads in groups; see the module's docstring."""

    def __init__(self, write: Write, *, max_events: int = 1000):
        self.write = write
        self.max_events = max_events
        self._lock = threading.Lock()
        self._queue: list[_Request] = []
        self._busy = False
        #: groups written and requests in them (for benchmarks and tests)
        self.groups = 0
        self.requests = 0

    def submit(self, events: Sequence[Any]) -> Sequence[int]:
        """Write ``events`` (one request's, all or none); their positions once committed."""
        request = _Request(events)
        with self._lock:
            self._queue.append(request)
            if not self._busy:
                self._busy = request.lead = True
        while not request.answered:
            if request.lead:
                self._lead()  # its group starts with this request: answered after it
            else:
                request.wake.wait()
        if request.error is not None:
            raise request.error
        assert request.positions is not None
        return request.positions

    def _take(self) -> list[_Request]:
        """The next group: queued requests in order, up to ``max_events``, ending before a
        request that writes an (id, version) the group already writes. Two such requests
        (a retry of a request whose first try is queued too, or two changes of one record
        from the same version) cannot both be stored; together they would fail the whole
        group's transaction and send every request in it to be written again alone."""
        group: list[_Request] = []
        size = 0
        keys: set[tuple[Any, int]] = set()
        while self._queue:
            request = self._queue[0]
            if group and size + len(request.events) > self.max_events:
                break
            own = {(e.originator_id, e.originator_version) for e in request.events}
            if not keys.isdisjoint(own):
                break
            keys |= own
            group.append(self._queue.pop(0))
            size += len(request.events)
        return group

    def _lead(self) -> None:
        """Write one group (this writer's request is in it), then hand over to the
        first writer still queued, who writes the next group."""
        with self._lock:
            group = self._take()
        try:
            self._write_group(group)
        finally:
            for request in group:
                if request.positions is None and request.error is None:
                    request.error = RuntimeError("the group write was interrupted")
                request.answered = True
                request.lead = False
                request.wake.set()
            with self._lock:
                if self._queue:
                    successor = self._queue[0]
                    successor.lead = True
                    successor.wake.set()  # it writes the next group
                else:
                    self._busy = False

    def _write_group(self, group: list[_Request]) -> None:
        self.groups += 1
        self.requests += len(group)
        events = [e for request in group for e in request.events]
        try:
            positions = list(self.write(events))
            if len(positions) != len(events):
                raise RuntimeError(f"recorded {len(positions)} positions for {len(events)} events")
        except BaseException as e:
            if len(group) == 1:
                group[0].error = e
                return
            # Nothing of the group was stored: each request alone, each its own answer.
            for request in group:
                try:
                    request.positions = list(self.write(request.events))
                except BaseException as alone:  # noqa: BLE001 - answered to its writer
                    request.error = alone
            return
        at = 0
        for request in group:
            request.positions = positions[at : at + len(request.events)]
            at += len(request.events)
