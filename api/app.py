"""The Flask application factory (Flask tutorial style).

``create_app()`` reads its settings from the environment:

- ``FRAMDRIFT_DATABASE_URL`` — the event store (default: a SQLite file in ./data);
- ``FRAMDRIFT_SECRET_KEY`` — signs sessions; generated (with a warning) when missing;
- ``FRAMDRIFT_MAX_LAG`` — how many events the read models may lag behind the log
  before ``/readyz`` says 503 (default 1000);
- ``FRAMDRIFT_MIN_POSITION_WAIT`` — how long (seconds, default 5) a request with
  ``min_position`` waits for the read models before answering 503.

One :class:`domain.application.Framdrift` is built per process, lazily, on first
use (``framdrift_app()``), so that gunicorn workers each build their own after
the fork. Tables are never created here: ``framdrift migrate`` does that.

Layout: ``api.health`` (``/healthz``, ``/readyz``), ``api.rest`` (the JSON API
under ``/api/v1``, flask-smorest) and ``api.web`` (server-rendered pages; for now
only a landing page at ``/``). Later web pages are blueprints registered in
:func:`register_blueprints` and can use :func:`api.auth.require_role`.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, g
from flask.ctx import _AppCtxGlobals

from domain.application import Framdrift

log = logging.getLogger("framdrift.api")

DEFAULT_MAX_LAG = 1000
DEFAULT_MIN_POSITION_WAIT = 5.0
_EXTENSION = "framdrift"


def _env_number(name: str, default: float, cast: Any) -> Any:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return cast(raw)
    except ValueError:
        raise RuntimeError(f"{name} must be a number, not {raw!r}") from None


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask app. ``test_config`` overrides settings (tests).

    Besides Flask's own settings, ``test_config`` may hold ``DATABASE_URL`` or a
    ready ``FRAMDRIFT`` application (shared with the test, not closed by the app).
    """
    from domain.store import database_url

    app = Flask(__name__, instance_relative_config=False)
    app.app_ctx_globals_class = LazyGlobals
    app.config.from_mapping(
        SECRET_KEY=os.environ.get("FRAMDRIFT_SECRET_KEY") or None,
        DATABASE_URL=database_url(),
        MAX_LAG=_env_number("FRAMDRIFT_MAX_LAG", DEFAULT_MAX_LAG, int),
        MIN_POSITION_WAIT=_env_number(
            "FRAMDRIFT_MIN_POSITION_WAIT", DEFAULT_MIN_POSITION_WAIT, float
        ),
        MAX_CONTENT_LENGTH=1024 * 1024,
        FRAMDRIFT=None,
    )
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = secrets.token_hex(32)
        log.warning(
            "FRAMDRIFT_SECRET_KEY is not set: using a random key for this process only "
            "(sessions end on restart and are not shared between workers); "
            "set it in production"
        )
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep the schemas' order
    app.extensions[_EXTENSION] = _Holder(app.config["FRAMDRIFT"])
    from api import logredact

    logredact.install()  # sign-in secrets and tokens never reach a log line
    # FRAMDRIFT_PROXY_FIX=N: N trusted proxies (nginx in docker-compose.yml) set
    # X-Forwarded-For/-Proto; unset, those headers are ignored (a client cannot pick the
    # address its sign-in attempts are counted under).
    proxies = int(app.config.get("PROXY_FIX") or _env_number("FRAMDRIFT_PROXY_FIX", 0, int))
    if proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]

    register_blueprints(app)
    app.before_request(_open_request_scope)
    app.teardown_request(_close_request_scope)
    return app


def _open_request_scope() -> None:
    """What a request has read it does not ask the store for again (the page's guard and
    the command both read the participant and the programme; domain/loading.py). Only
    once this process's application exists: the first request builds it, unscoped."""
    holder: _Holder = current_app.extensions[_EXTENSION]
    if holder.app is not None and (not holder.owned or holder.pid == os.getpid()):
        scope = holder.app.repository.request_scope()
        scope.__enter__()
        g._framdrift_scope = scope


def _close_request_scope(_error: BaseException | None) -> None:
    scope = g.pop("_framdrift_scope", None)
    if scope is not None:
        scope.__exit__(None, None, None)


def register_blueprints(app: Flask) -> None:
    from api import errors, health, rest, web

    rest.init_app(app)  # flask-smorest's Api: /api/v1 and /api/v1/openapi.json
    from api import replay, rest_replay

    rest_replay.init_app(app)  # as-of state and record lineage, on the same Api
    app.register_blueprint(replay.bp)  # /replay: the researchers' replay pages
    errors.init_app(app)  # after the Api, so that ours is the error handler in force
    app.register_blueprint(health.bp)
    app.register_blueprint(web.bp)


class LazyGlobals(_AppCtxGlobals):
    """``flask.g`` whose values may be computed on first use: ``g.later("programme",
    load)`` runs ``load`` only if the request reads ``g.programme`` (a form post answered
    with a redirect never does, and is spared the programme's conversion)."""

    def later(self, name: str, factory: Callable[[], Any]) -> None:
        self.__dict__.pop(name, None)
        self.__dict__.setdefault("_later", {})[name] = factory

    def __getattr__(self, name: str) -> Any:
        factory = self.__dict__.get("_later", {}).pop(name, None)
        if factory is None:
            raise AttributeError(name)
        value = self.__dict__[name] = factory()
        return value

    def get(self, name: str, default: Any | None = None) -> Any:
        try:
            return getattr(self, name)
        except AttributeError:
            return default

    def __contains__(self, item: str) -> bool:
        return item in self.__dict__ or item in self.__dict__.get("_later", {})


class _Holder:
    """One Framdrift application per process, built on first use."""

    def __init__(self, given: Framdrift | None):
        self.app = given
        self.owned = given is None
        self.lock = threading.Lock()
        self.pid = os.getpid()

    def get(self, url: str) -> Framdrift:
        if self.app is not None and (not self.owned or self.pid == os.getpid()):
            return self.app
        with self.lock:
            if self.app is None or (self.owned and self.pid != os.getpid()):
                # Built after fork: connections are never shared between processes.
                self.app = Framdrift.from_url(url)
                self.pid = os.getpid()
            return self.app


def framdrift_app(app: Flask | None = None) -> Framdrift:
    """This process's Framdrift application (built lazily)."""
    flask_app = app or current_app
    holder: _Holder = flask_app.extensions[_EXTENSION]
    return holder.get(flask_app.config["DATABASE_URL"])


def close_framdrift(app: Flask) -> None:
    """Close the application built by this Flask app (not one it was given)."""
    holder: _Holder = app.extensions[_EXTENSION]
    if holder.app is not None and holder.owned:
        runner = app.extensions.get("framdrift_mail")
        if runner is not None:
            runner.wait()  # a sending pass must not outlive the store it reads
        holder.app.close()
        holder.app = None
