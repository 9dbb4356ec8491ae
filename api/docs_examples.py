"""Real examples for the OpenAPI document: what this code answers for the synthetic demo.

Once per process (on the first request for the API's documentation) the synthetic demo
programme (seed 1, the one ``./run start`` loads) is written to a throw-away SQLite store,
its read models are brought up to date, and every documented GET is asked, with an
evaluator token, through this same code. The answers (lists cut to ``KEEP`` items) are the
examples: they change when the code does and never drift from it. Deterministic: the demo
is derived from its seed. If anything fails the documentation has no examples (logged), it
never fails.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from typing import Any

from flask import Flask

log = logging.getLogger("framdrift.api")

KEEP = 3
_lock = threading.Lock()
_cache: dict[str, Any] | None = None


def _shorten(value: Any, depth: int = 0) -> Any:
    if isinstance(value, list):
        return [_shorten(v, depth + 1) for v in value[:KEEP]]
    if isinstance(value, dict):
        return {k: _shorten(v, depth + 1) for k, v in value.items()}
    return value


def build_examples() -> dict[str, Any]:
    """``{"get /api/v1/...": example body}`` for every documented GET (from the demo)."""
    from api.app import close_framdrift, create_app
    from api.cli import migrate_all
    from domain.accounts import issue_token
    from domain.application import Framdrift
    from domain.demo import load_demo
    from projections.runner import catch_up

    directory = tempfile.mkdtemp(prefix="framdrift-examples-")
    url = f"sqlite:///{directory}/examples.sqlite3"
    try:
        migrate_all(url)
        store = Framdrift.from_url(url)
        try:
            result = load_demo(store, seed=1)
            token, _ = issue_token(store, role="evaluator", label="examples")
            catch_up(store)
            pid = str(result.programme_ids[0])
            capability = next(str(e.originator_id) for _p, e in store.iter_log()
                              if type(e).__qualname__ == "Capability.Established")
            flask = create_app({"TESTING": True, "SECRET_KEY": "examples",
                                "DATABASE_URL": url, "FRAMDRIFT": store,
                                "RATELIMIT_STORAGE_URL": "memory://"})
            client = flask.test_client()
            headers = {"Authorization": f"Bearer {token}", "Accept-Language": "sv"}
            asks = {
                "get /api/v1/programmes": "/api/v1/programmes",
                "get /api/v1/programmes/{programme_id}": f"/api/v1/programmes/{pid}",
                "get /api/v1/programmes/{programme_id}/timeline":
                    f"/api/v1/programmes/{pid}/timeline?page_size={KEEP}",
                "get /api/v1/records/{record_id}/lineage":
                    f"/api/v1/records/{capability}/lineage",
                "get /api/v1/programmes/{programme_id}/lineage":
                    f"/api/v1/programmes/{pid}/lineage?record_id={capability}",
            }
            for name in ("progress", "development-areas", "engagement", "collaborations",
                         "maturity", "state", "maturity-instrument"):
                asks[f"get /api/v1/programmes/{{programme_id}}/{name}"] = \
                    f"/api/v1/programmes/{pid}/{name}"
            out = {}
            for key, path in asks.items():
                answer = client.get(path, headers=headers)
                if answer.status_code == 200 and answer.is_json:
                    out[key] = _shorten(answer.get_json())
                else:
                    log.warning("no API example for %s: %s", key, answer.status_code)
            close_framdrift(flask)
            return out
        finally:
            store.close()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def examples(app: Flask) -> dict[str, Any]:
    """The examples, built once per process (``DOCS_EXAMPLES`` in the config: given ones)."""
    global _cache
    given = app.config.get("DOCS_EXAMPLES")
    if given is not None:
        return given
    with _lock:
        if _cache is None:
            try:
                _cache = build_examples()
            except Exception:  # noqa: BLE001 - the documentation works without examples
                log.exception("could not build the API examples from the demo")
                _cache = {}
        return _cache
