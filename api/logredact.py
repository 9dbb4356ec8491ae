"""Secrets never reach the logs.

A participant's sign-in link ``/in/fdl_<secret>`` *is* their password: whoever reads it in an
access log can sign in as them. :func:`redact` removes sign-in secrets, API tokens and
``token=``/``Authorization``-like values from a line of text, and :func:`install` makes every
log record of this process pass through it (a log record factory, so it covers the app's own
loggers, werkzeug's development server, gunicorn's access and error logs, and loggers made
later). Gunicorn uses :class:`GunicornLogger` (``logger_class`` in deploy/gunicorn.conf.py),
which installs it in the master before any worker starts; nginx strips the secret itself
(``map`` in deploy/nginx.conf).
"""

from __future__ import annotations

import logging
import re
from typing import Any

REDACTED = "[redacted]"

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # the sign-in path, whatever follows /in/ up to the end of the path (also %-encoded)
    (re.compile(r"(/|%2f)in(/|%2f)[^\s\"'?#&<>]+", re.IGNORECASE), rf"\1in\2{REDACTED}"),
    # an Authorization header's value, whatever its scheme
    (re.compile(r"(authorization[\"']?\s*[=:]\s*[\"']?)(?:(?:bearer|basic|token)\s+)?"
                r"[^\s\"',;<>&]+", re.IGNORECASE), rf"\1{REDACTED}"),
    (re.compile(r"\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE), rf"\1 {REDACTED}"),
    # a link secret or an API token on its own (in a next= value, a message, a referer)
    (re.compile(r"\bfdl(_|%5f)[A-Za-z0-9_%-]+", re.IGNORECASE), REDACTED),
    (re.compile(r"\bfd_[A-Za-z0-9_-]{16,}"), REDACTED),
    # token=, secret=, password=, api_key=, session= ... values (query strings, messages)
    (re.compile(r"((?:access_|api_|auth_|refresh_|csrf_)?token|secret|password|passwd"
                r"|api_?key|session)(\s*[=:]\s*|%3d)[^\s\"'&;,<>]+",
                re.IGNORECASE), rf"\1\2{REDACTED}"),
]


# Every pattern above needs one of these words (any case): a line without them (most access
# log lines) is returned after one search instead of six substitutions.
_ANY = re.compile(r"in(?:/|%2f)|authorization|bearer|basic|fdl|fd_|token|secret|passw"
                  r"|api_?key|session", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with every sign-in secret, token and credential value replaced."""
    if _ANY.search(text) is None:
        return text
    return _redact_all(text)


def _redact_all(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Redact a record in place: its formatted message (args folded in) and its traceback.
    Marks it, so that the handlers' filter does not redact it a second time."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a broken format string: leave it to logging's report
        return record
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, ()
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    record.framdrift_redacted = True
    return record


class RedactingFilter(logging.Filter):
    """A logging filter (for a handler or a logger) that redacts and keeps every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "framdrift_redacted", False):  # made without the factory
            redact_record(record)
        return True


_installed = False


def install() -> None:
    """Redact every log record made in this process from now on (idempotent)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    _installed = True


try:  # gunicorn is a dependency, but the module must import without it
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # pragma: no cover
    _GunicornLogger = object  # type: ignore[assignment,misc]


class GunicornLogger(_GunicornLogger):  # type: ignore[misc,valid-type]
    """Gunicorn's logger with every access and error line redacted.

    The record factory covers records made after :func:`install`; the filter on gunicorn's
    own handlers also covers a record made by code that bypasses the factory.
    """

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        install()
        redacting = RedactingFilter()
        for logger in (self.error_log, self.access_log):
            for handler in logger.handlers:
                handler.addFilter(redacting)
