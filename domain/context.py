"""Who acts, when, and under which request: carried in context variables.

Every event records its actor, its event time and the request that caused it
without each method passing them along (the pattern of eventsourcing's
``contentmanagement`` example). The web layer, the CLI and the demo loader set
them around a command; the domain reads them when an event is created.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

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


class _Setting:
    """Sets a context variable for the block and restores it after. A class rather than
    a ``@contextmanager`` generator: every command enters several of these, and a bulk
    load runs a million commands (issue 14, item 5)."""

    __slots__ = ("_token", "_value", "_var")

    def __init__(self, var: ContextVar[Any], value: Any):
        self._var, self._value = var, value

    def __enter__(self) -> None:
        self._token = self._var.set(self._value)

    def __exit__(self, *exc: object) -> None:
        self._var.reset(self._token)


def acting_as(actor: str) -> AbstractContextManager[None]:
    """Attribute every event created inside the block to ``actor``."""
    return _Setting(actor_cvar, actor)


def clock(func: Callable[[], datetime]) -> AbstractContextManager[None]:
    """Use ``func`` as the event clock (demo data and tests replay past weeks)."""
    return _Setting(clock_cvar, func)


def request(request_id: str | None) -> AbstractContextManager[None]:
    """Stamp events created inside the block with the client's request id."""
    return _Setting(request_id_cvar, request_id)


class _ActingOn:
    """``acting_as`` and ``request`` in one (the two every participant's command sets)."""

    __slots__ = ("_actor", "_request_id", "_tokens")

    def __init__(self, actor: str, request_id: str | None):
        self._actor, self._request_id = actor, request_id

    def __enter__(self) -> None:
        self._tokens = (actor_cvar.set(self._actor), request_id_cvar.set(self._request_id))

    def __exit__(self, *exc: object) -> None:
        request_id_cvar.reset(self._tokens[1])
        actor_cvar.reset(self._tokens[0])


def acting_on(actor: str, request_id: str | None) -> AbstractContextManager[None]:
    """``with acting_as(actor), request(request_id)``, in one."""
    return _ActingOn(actor, request_id)


def participant_actor(participant_id: object) -> str:
    return f"participant:{participant_id}"


def researcher_actor(user_id: object) -> str:
    return f"researcher:{user_id}"
