"""The API's door to the read models (``projections.queries``), imported lazily.

Keeps the rest of ``api`` importable while the read models are not installed;
then the endpoints that need them answer 503 instead of failing at import.
"""

from __future__ import annotations

import importlib
import time
from types import ModuleType
from typing import Any

from flask import g
from flask_smorest import abort

from api.app import framdrift_app


def queries() -> ModuleType:
    try:
        return importlib.import_module("projections.queries")
    except ModuleNotFoundError as e:
        if e.name not in ("projections.queries", "projections"):
            raise
        abort(503, message="The read models are not installed (projections.queries).",
              headers={"Retry-After": "60"})
        raise  # unreachable: abort raises


def available() -> bool:
    try:
        importlib.import_module("projections.queries")
    except ModuleNotFoundError:
        return False
    return True


def sql() -> Any:
    return framdrift_app().sql


def position() -> int:
    """The log position the read models have reached (once per request)."""
    if "framdrift_position" not in g:
        g.framdrift_position = int(queries().position(sql()))
    return g.framdrift_position


def state(programme_id: str | None = None) -> str | None:
    """The read models' position and the version of ``programme_id`` (of the list without
    one), read together in one statement (``queries.state``) and kept for the request:
    the position header and the ETag then cost one round trip, not three (ADR 0023).
    Returns the version. A position this request already read (a wait for
    ``min_position``) is kept."""
    versions = g.setdefault("framdrift_versions", {})
    key = programme_id or ""
    if key not in versions:
        reached, versions[key] = call("state", programme_id)
        if "framdrift_position" not in g:
            g.framdrift_position = int(reached)
    return versions[key]


def call(name: str, *args: Any, **kwargs: Any) -> Any:
    """``projections.queries.<name>(sql, ...)``; unknown programmes become 404."""
    module = queries()
    try:
        return getattr(module, name)(sql(), *args, **kwargs)
    except Exception as e:
        unknown = getattr(module, "UnknownProgrammeError", None)
        if unknown is not None and isinstance(e, unknown):
            abort(404, message=str(e) or "No such programme.",
                  errors={"programme_id": [str(e) or "unknown programme"]})
        raise


def wait_for(min_position: int, timeout: float) -> int:
    """Wait until the read models reach ``min_position`` (at most ``timeout`` s).

    Returns the position reached; the caller decides what falling short means.
    """
    module = queries()
    reached = int(module.position(sql()))
    if reached < min_position and timeout > 0:
        deadline = time.monotonic() + timeout
        module.wait_for(sql(), min_position, timeout)
        reached = int(module.position(sql()))
        while reached < min_position and time.monotonic() < deadline:  # belt and braces
            time.sleep(0.05)
            reached = int(module.position(sql()))
    g.framdrift_position = reached
    return reached
