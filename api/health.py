"""Liveness and readiness, outside the versioned API and without authentication.

- ``/healthz``: the process is up (always 200, touches nothing).
- ``/readyz``: the database answers, the master key (if the data keys are sealed with
  one) opens them, and the read models lag the log by at most ``FRAMDRIFT_MAX_LAG``
  events; otherwise 503 with the reason (error shape).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app

from api import readmodels
from api.app import framdrift_app
from api.errors import error_response
from domain.privacy import MasterKeyError

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Any:
    return {"status": "ok"}


@bp.get("/readyz")
def readyz() -> Any:
    max_lag = int(current_app.config["MAX_LAG"])
    try:
        app = framdrift_app()
        head = app.max_position()
    except Exception as e:  # noqa: BLE001 - the reason is the answer
        return error_response(503, f"database not reachable: {type(e).__name__}: {e}",
                              {"database": ["not reachable"]}, {"Retry-After": "5"})
    try:
        app.keys.check()
    except MasterKeyError as e:
        return error_response(503, str(e), {"master_key": ["does not open the data keys"]},
                              {"Retry-After": "30"})
    if not readmodels.available():
        return error_response(503, "read models are not installed",
                              {"projections": ["not installed"]}, {"Retry-After": "30"})
    try:
        reached = readmodels.position()
    except Exception as e:  # noqa: BLE001
        return error_response(503, f"read models not readable: {type(e).__name__}: {e}",
                              {"projections": ["not readable (run 'framdrift migrate'?)"]},
                              {"Retry-After": "5"})
    lag = max(0, head - reached)
    body = {"status": "ready", "log_position": head, "projection_position": reached,
            "lag": lag, "max_lag": max_lag}
    if lag > max_lag:
        payload, code, headers = error_response(
            503, f"read models lag {lag} events behind the log (max {max_lag})",
            {"projections": [f"lag {lag} > {max_lag}"]}, {"Retry-After": "5"},
        )
        payload.update({k: v for k, v in body.items() if k != "status"})
        return payload, code, headers
    return body
