"""Who acts, when, and under which request: carried in context variables.

Every event records its actor, its event time and the request that caused it
without each method passing them along (the pattern of eventsourcing's
``contentmanagement`` example). The web layer, the CLI and the demo loader set
them around a command; the domain reads them when an event is created.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

SYSTEM_ACTOR = "system"

actor_cvar: ContextVar[str] = ContextVar("framdrift_actor", default=SYSTEM_ACTOR)
clock_cvar: ContextVar[Callable[[], datetime] | None] = ContextVar(
    "framdrift_clock", default=None
)
request_id_cvar: ContextVar[str | None] = ContextVar("framdrift_request_id", default=None)


def now() -> datetime:
    """The event time: the app server's clock unless a simulated clock is set."""
    clock = clock_cvar.get()
    return clock() if clock is not None else datetime.now(UTC)


@contextmanager
def acting_as(actor: str) -> Iterator[None]:
    """Attribute every event created inside the block to ``actor``."""
    token = actor_cvar.set(actor)
    try:
        yield
    finally:
        actor_cvar.reset(token)


@contextmanager
def clock(func: Callable[[], datetime]) -> Iterator[None]:
    """Use ``func`` as the event clock (demo data and tests replay past weeks)."""
    token = clock_cvar.set(func)
    try:
        yield
    finally:
        clock_cvar.reset(token)


@contextmanager
def request(request_id: str | None) -> Iterator[None]:
    """Stamp events created inside the block with the client's request id."""
    token = request_id_cvar.set(request_id)
    try:
        yield
    finally:
        request_id_cvar.reset(token)


def participant_actor(participant_id: object) -> str:
    return f"participant:{participant_id}"


def researcher_actor(user_id: object) -> str:
    return f"researcher:{user_id}"
