"""``framdrift serve``'s production server: waitress, with our access log and error documents.

waitress (pure Python, no fork) serves the Flask app from a pool of threads in the one
process that, on SQLite, also keeps the read models current. Settings (``SETTINGS``):

- 8 threads, at most 100 open connections, a connection idle for 60 s is closed;
- the request line and headers together at most 128 KiB (the app itself refuses an
  ``/api/v1`` query string over 8 KiB with 414), bodies at most 1 MiB (as the app);
- ``X-Forwarded-*`` headers are not trusted (the app's ``FRAMDRIFT_PROXY_FIX`` decides).

The errors waitress answers itself, before the app sees a request (400 malformed, 413, 431,
500 when the app fails before answering), are RFC 9457 problem documents under ``/api/v1``,
as every other API error; elsewhere waitress's plain text as before. Every request is logged
(``framdrift.access``, like werkzeug's lines), redacted like every other log record
(``api.logredact``). gunicorn (``deploy/gunicorn.conf.py``) remains the server of the
docker-compose deployment; werkzeug's development server is ``framdrift serve --dev``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import create_server
from waitress.task import ErrorTask

from api.errors import PROBLEM_MEDIA_TYPE, is_api_target, server_problem

THREADS = 8
SETTINGS: dict[str, Any] = {
    "threads": THREADS,
    "connection_limit": 100,
    "channel_timeout": 60,
    "cleanup_interval": 15,
    "max_request_header_size": 128 * 1024,
    "max_request_body_size": 1024 * 1024,
    "clear_untrusted_proxy_headers": True,
    "ident": "waitress",
}

access_log = logging.getLogger("framdrift.access")


class _Parser(HTTPRequestParser):
    """waitress's parser that remembers the request line, so an error it answers before
    the line is parsed (431: too many header bytes) can still tell an API request."""

    first_bytes = b""

    def received(self, data: bytes) -> int:
        if b"\n" not in self.first_bytes and len(self.first_bytes) < 4096:
            self.first_bytes = (self.first_bytes + data)[:4096]
        return super().received(data)


class _ProblemErrorTask(ErrorTask):
    def execute(self) -> None:
        first = getattr(self.request, "first_bytes", b"").split(b"\n", 1)[0].rstrip(b"\r")
        target = _target(first)
        if not is_api_target(target):
            super().execute()
            return
        error = self.request.error
        body = server_problem(error.code, error.reason, target)
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", PROBLEM_MEDIA_TYPE))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


def _target(first_line: bytes) -> bytes:
    from api.errors import target_of

    return target_of(first_line)


class _Channel(HTTPChannel):
    parser_class = _Parser
    error_task_class = _ProblemErrorTask


def with_access_log(app: Callable[..., Any]) -> Callable[..., Any]:
    """A WSGI middleware that logs each request after it is answered (redacted)."""

    def logged(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.monotonic()
        seen: dict[str, str] = {}

        def _start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen["status"] = status.split(" ", 1)[0]
            return start_response(status, headers, exc_info)

        result = app(environ, _start)
        try:
            yield from result
        finally:
            close = getattr(result, "close", None)
            if callable(close):
                close()
            query = environ.get("QUERY_STRING")
            target = environ.get("PATH_INFO", "") + (f"?{query}" if query else "")
            access_log.info('%s - - "%s %s %s" %s %.0fms', environ.get("REMOTE_ADDR", "-"),
                            environ.get("REQUEST_METHOD"), target,
                            environ.get("SERVER_PROTOCOL"), seen.get("status", "-"),
                            (time.monotonic() - started) * 1000)

    return logged


def make_server(app: Callable[..., Any], host: str, port: int, **overrides: Any) -> Any:
    """A waitress server for ``app`` on ``host:port`` (not yet running: call ``.run()``;
    ``.close()`` stops it). Port 0 picks a free port (``.effective_port``)."""
    server = create_server(with_access_log(app), host=host, port=port,
                           **{**SETTINGS, **overrides})
    server.channel_class = _Channel
    return server


def configure_logging() -> None:
    """Show INFO lines of waitress and the access log on stderr (once)."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name in ("waitress", "framdrift.access"):
        logging.getLogger(name).setLevel(logging.INFO)
