"""Per-app set-up of the web pages (run once when the ``web`` blueprint is registered)."""

from __future__ import annotations

import logging
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from babel import dates
from babel.numbers import get_minus_sign_symbol
from flask import Flask, g, render_template, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_babel import Babel, format_decimal, get_locale, get_timezone
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from itsdangerous import BadSignature
from werkzeug.exceptions import HTTPException

from api.errors import STORE_RETRY_AFTER, store_unavailable
from domain import errors as domain_errors
from domain.values import THEME_NAMES

log = logging.getLogger("framdrift.web")

LANGUAGES = ("sv", "en")
DEFAULT_LANGUAGE = "sv"
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
#: an unchanged permanent session's cookie is signed and sent again after this long
SESSION_REFRESH_AFTER = timedelta(minutes=1)

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
_SECURITY_HEADERS = [(name.lower(), name, value) for name, value in SECURITY_HEADERS.items()]


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0", "no", "false")


class SessionInterface(SecureCookieSessionInterface):
    """Session cookies are Secure whenever the request came over https."""

    _signing: tuple[Any, Any] | None = None

    def get_signing_serializer(self, app: Flask) -> Any:
        """Flask's, built once per key instead of twice per request (opening and saving
        the session; its constructor serialises a probe value each time): the same keys,
        salt and signer, built anew when the key or its fallbacks change."""
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        cached = self._signing
        if cached is None or cached[0] != keys:
            cached = self._signing = (keys, super().get_signing_serializer(app))
        return cached[1]

    def open_session(self, app: Flask, request: Any) -> Any:
        """Flask's, keeping when the cookie was signed (``issued_at``) for
        :meth:`should_set_cookie`."""
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data, issued = serializer.loads(value, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        session = self.session_class(data)
        session.issued_at = issued
        return session

    def should_set_cookie(self, app: Flask, session: Any) -> bool:
        """A changed session is always sent again. An unchanged permanent one slides its
        expiry, as Flask's ``SESSION_REFRESH_EACH_REQUEST`` does, but at most once per
        ``SESSION_REFRESH_AFTER`` (a minute): Flask would sign and send the same cookie
        again on every response, ~7% of a form post's CPU under load (ADR 0030)."""
        if session.modified:
            return True
        if not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            return False
        issued = getattr(session, "issued_at", None)
        if issued is None:
            return True
        after = app.config.get("SESSION_REFRESH_AFTER", SESSION_REFRESH_AFTER)
        return datetime.now(UTC) - issued >= after

    def get_cookie_secure(self, app: Flask) -> bool:
        try:
            secure = request.is_secure
        except RuntimeError:  # outside a request
            secure = False
        return bool(app.config["SESSION_COOKIE_SECURE"]) or secure


def limiter_storage(config: Any) -> dict[str, Any]:
    """Where the sign-in rate limits count: Redis, shared by every worker and process, when
    ``FRAMDRIFT_RATELIMIT_STORAGE_URL`` is set (``redis://host:6379/0``); otherwise this
    process's memory, which is right only for a single-process ``framdrift serve``.

    When Redis cannot be reached, each worker counts in its own memory meanwhile (a warning
    is logged; the limit still holds per worker, so at most workers x the rate) and goes back
    to Redis once it answers: sign-ins keep working during an outage. A URL that cannot be
    used at all (an unknown scheme) stops the start with an error.
    """
    url = config.get("RATELIMIT_STORAGE_URL") or os.environ.get(
        "FRAMDRIFT_RATELIMIT_STORAGE_URL") or "memory://"
    prefix = config.get("RATELIMIT_KEY_PREFIX") or os.environ.get(
        "FRAMDRIFT_RATELIMIT_KEY_PREFIX") or "framdrift"
    settings: dict[str, Any] = {"storage_uri": url, "key_prefix": prefix}
    if not url.startswith("memory://"):
        settings["in_memory_fallback_enabled"] = True
        if url.split(":", 1)[0] in ("redis", "rediss", "redis+unix", "valkey", "valkeys"):
            # a dead Redis costs a sign-in at most a second before the fallback takes over
            settings["storage_options"] = {"socket_connect_timeout": 1, "socket_timeout": 1}
    return settings


LANG_COOKIE = "framdrift_lang"


def select_locale() -> str:
    # the session's choice, else the long-lived language cookie (it outlives a session)
    lang = (session.get("lang") or request.cookies.get(LANG_COOKIE)) if _has_request() \
        else None
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def _has_request() -> bool:
    from flask import has_request_context

    return has_request_context()


def init_app(app: Flask) -> None:
    config = app.config
    if not config.get("SESSION_COOKIE_SAMESITE"):
        config["SESSION_COOKIE_SAMESITE"] = "Lax"
    config["SESSION_COOKIE_HTTPONLY"] = True
    if _env_flag("FRAMDRIFT_HTTPS"):
        config["SESSION_COOKIE_SECURE"] = True
    hours = float(os.environ.get("FRAMDRIFT_SESSION_HOURS") or 12)
    if config.get("PERMANENT_SESSION_LIFETIME") in (None, timedelta(days=31)):  # Flask's
        config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=hours)
    # A CSRF token lives as long as the session: a form left open between meetings
    # still submits (the default one-hour limit would lose what was typed).
    config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    config.setdefault("WTF_CSRF_SSL_STRICT", True)
    config.setdefault("SIGNIN_RATE_LIMIT", os.environ.get("FRAMDRIFT_SIGNIN_RATE_LIMIT")
                      or "10 per minute")
    # Links carry 256 random bits; their limit only slows probing, and a whole cohort may
    # sign in at once from one office address.
    config.setdefault("SIGNIN_LINK_RATE_LIMIT",
                      os.environ.get("FRAMDRIFT_SIGNIN_LINK_RATE_LIMIT") or "60 per minute")
    config.setdefault("BASE_URL", os.environ.get("FRAMDRIFT_BASE_URL") or None)
    config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    config.setdefault("BABEL_DEFAULT_TIMEZONE",
                      os.environ.get("FRAMDRIFT_TIMEZONE") or "Europe/Stockholm")
    config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    app.session_interface = SessionInterface()

    if "babel" not in app.extensions:
        Babel(app, locale_selector=select_locale)
    csrf = CSRFProtect(app)
    # The JSON API is read-only and authenticated by bearer tokens, never by cookies.
    for name in ("api", "api_docs_html", "health"):
        if name in app.blueprints:
            csrf.exempt(app.blueprints[name])
    limiter = Limiter(get_remote_address, app=app, default_limits=[], headers_enabled=False,
                      **limiter_storage(config))
    app.extensions["framdrift_limiter"] = limiter
    # The limits are on sign-in and link requests only (api.web.signin, api.web.mail):
    # the JSON API and the health checks are spared the limiter's look-up per request.
    limiter.request_filter(lambda: not is_web_request())
    _check_limits_only_when_set(app, limiter)

    app.jinja_env.globals.update(
        csrf_token=generate_csrf, theme_name=theme_name, week_label=week_label,
        current_language=lambda: str(get_locale() or DEFAULT_LANGUAGE), LANGUAGES=LANGUAGES,
    )
    from api.web.labels import GLOBALS

    app.jinja_env.globals.update(GLOBALS)
    app.jinja_env.filters.update(day=format_day, when=format_when, number=format_number)
    app.after_request(_security_headers)
    app.register_error_handler(404, _not_found)
    app.register_error_handler(RateLimitExceeded, _rate_limited)
    app.register_error_handler(CSRFError, _csrf_failed)


def _middleware_limits(limiter: Limiter) -> bool:
    """Whether flask-limiter's check before every request could find a limit to apply.

    That check applies only limits set for the whole application, by default, per
    blueprint or as meta limits (and, while the storage is down, configured fallback
    limits). Limits set with ``limiter.limit`` on a view or as a context manager (all of
    ours: api.web.signin, api.web.mail) are checked by the view itself, whatever this
    says. Read per request, so a limit added after start-up still counts."""
    manager = limiter.limit_manager
    return bool(manager._application_limits or manager._default_limits  # noqa: SLF001
                or manager._blueprint_limits or limiter._meta_limits  # noqa: SLF001
                or limiter._in_memory_fallback)  # noqa: SLF001


def _check_limits_only_when_set(app: Flask, limiter: Limiter) -> None:
    """Run the limiter's before-request check only when there is a limit it could apply.

    With none (our configuration: every limit is on a sign-in or link view), the check
    found nothing on every request, but resolved the route's blueprint exemptions and
    built its request context first: ~0.1 ms per request in process, 10% of the gunicorn
    workers' samples in a profile of form posts (docs/performance.md, "Form posts at 64
    clients"; ADR 0028). The sign-in limits are unaffected: they are checked when their
    views enter them."""
    hooks = app.before_request_funcs.setdefault(None, [])
    check = limiter._check_request_limit  # noqa: SLF001
    if check not in hooks:  # flask-limiter registers it in init_app; if not, leave it
        return

    def check_request_limit() -> None:
        if _middleware_limits(limiter):
            check()

    hooks[hooks.index(check)] = check_request_limit


def _security_headers(response: Any) -> Any:
    """Each header unless the view set its own. The names present are collected once:
    werkzeug's ``setdefault`` scans every header for each name (1.3% of a form post's
    CPU under load)."""
    headers = response.headers
    present = {name.lower() for name, _ in headers}
    for lower, name, value in _SECURITY_HEADERS:
        if lower not in present:
            headers.add(name, value)
    if "content-security-policy" not in present and not request.path.startswith("/api/"):
        headers.add("Content-Security-Policy", CSP)
    if "cache-control" not in present and (getattr(g, "no_store", False)
                                           or session.get("principal")):
        headers.add("Cache-Control", "no-store")
    return response


def is_web_request() -> bool:
    return not (request.path.startswith("/api/") or request.path in ("/healthz", "/readyz"))


def error_page(code: int, message: str | None = None, title: str | None = None) -> Any:
    titles = {
        400: _("The request could not be understood"), 401: _("Please sign in"),
        403: _("You may not do this"), 404: _("Page not found"),
        405: _("That does not work here"), 409: _("Someone else changed this"),
        413: _("Too much text"), 429: _("Too many attempts"),
        500: _("Something went wrong on our side"),
        503: _("Not available just now"),
    }
    # participants' pages name no status code (docs/glossary.md)
    template = "p_problem.html" if _has_request() and request.path.startswith("/p/") \
        else "error.html"
    return render_template(template, code=code, title=title or titles.get(code, _("Error")),
                           message=message), code


def _with_header(page: Any, name: str, value: str) -> Any:
    body, code = page
    return body, code, {name: value}


def _wants_html() -> bool:
    accept = request.accept_mimetypes
    return accept["text/html"] > accept["application/json"]


#: the web pages' own addresses: whatever is (not) found under them is a web page's answer
WEB_PAGE_PREFIXES = ("/r/", "/p/", "/e/")


def _not_found(error: HTTPException) -> Any:
    # A web page's 404 (a view's abort, or an address under the pages' own prefixes) is
    # always an HTML page: this handler, registered for the status, is found before the
    # web blueprint's own. Other unknown addresses answer in JSON (the API's error shape)
    # unless a browser asks.
    if request.blueprint == "web" or request.path.startswith(WEB_PAGE_PREFIXES):
        data = getattr(error, "data", None) or {}
        return error_page(404, str(data.get("message") or "")
                          or _("There is nothing at this address."))
    if not is_web_request() or not _wants_html():
        from api.errors import handle_http_exception

        return handle_http_exception(error)
    return error_page(404, _("There is nothing at this address."))


def _rate_limited(error: HTTPException) -> Any:
    if not is_web_request():
        from api.errors import handle_http_exception

        return handle_http_exception(error)
    return error_page(429, _("Too many sign-in attempts from your address. Wait a minute "
                             "and try again."))


def _csrf_failed(error: CSRFError) -> Any:
    from api.auth import current_principal

    if request.path.startswith(("/p/", "/r/")) and current_principal() is None:
        from api.web.common import session_ended_page

        return session_ended_page()  # the session (and its form token) has ended
    return error_page(400, _("The form had expired or did not come from this site. Go back, "
                             "reload the page and send it again - what you typed is kept on "
                             "this device."), _("The form could not be sent"))


def handle_web_http_error(error: HTTPException) -> Any:
    """HTML pages for HTTP errors raised by the web views."""
    if error.code is None:
        return error
    if isinstance(error, RateLimitExceeded):
        return _rate_limited(error)
    if isinstance(error, CSRFError):
        return _csrf_failed(error)
    message = None
    data = getattr(error, "data", None) or {}
    if error.code == 401:
        message = _("Sign in first: participants use their personal link, researchers "
                    "their user name and password.")
    elif error.code == 403:
        message = _("Your role does not give access to this page.")
    elif error.code == 413:
        message = _("What you sent is too large.")
    elif data.get("message"):
        message = str(data["message"])
    return error_page(error.code, message)


def handle_web_domain_error(error: domain_errors.DomainError) -> Any:
    if isinstance(error, domain_errors.NotFoundError):
        return error_page(404, _("There is nothing at this address."))
    if isinstance(error, domain_errors.ConcurrentChangeError):
        return error_page(409, _("Someone else changed this at the same time. Reload the page "
                                 "and try again."))
    if isinstance(error, domain_errors.ParticipantErasedError):
        return error_page(403, _("This participant has been erased: nothing of theirs can be "
                                 "read, and nothing new can be written."),
                          _("The participant has been erased"))
    return error_page(422, error.message, _("That could not be saved"))


def handle_web_unexpected(error: Exception) -> Any:
    if store_unavailable(error):
        log.warning("the database is unavailable: %s: %s", type(error).__name__, error)
        if request.method == "POST":
            message = _("The database does not answer just now, so nothing was saved. What "
                        "you typed is kept on this device: go back and send it again in a "
                        "minute.")
        else:
            message = _("The database does not answer just now. Try again in a minute.")
        response = error_page(503, message)
        return _with_header(response, "Retry-After", STORE_RETRY_AFTER)
    log.exception("unhandled error on a web page", exc_info=error)
    return error_page(500, _("It has been logged. Try again in a moment."))


# -------------------------------------------------------------------- formatting


def _lang() -> str:
    return str(get_locale() or DEFAULT_LANGUAGE)


def theme_name(theme: str | None) -> str:
    if not theme:
        return ""
    names = THEME_NAMES.get(theme)
    return names.get(_lang(), names["en"]) if names else theme


def week_label(number: int | None, theme: str | None = None) -> str:
    if number is None:
        return ""
    label = _("Week %(number)s", number=number)
    return f"{label} · {theme_name(theme)}" if theme else label


# Dates in English are written the British way ("4 December 2026", "04/12/2026, 14:49"):
# Babel's "en" is American ("12/4/26, 2:49 PM": the 4th of December or the 12th of April?),
# and the people reading these pages are in Sweden. Texts stay "en".
DATE_LOCALES = {"en": "en_GB"}


def _date_locale() -> str:
    lang = str(get_locale() or DEFAULT_LANGUAGE)
    return DATE_LOCALES.get(lang, lang)


def format_day(value: Any, fmt: str = "long") -> str:
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = value.date()
    if fmt == "weekday":
        fmt = "EEEE d MMMM"
    return dates.format_date(value, fmt, locale=_date_locale())


def format_number(value: Any, places: int | None = None) -> str:
    """A number as the page's language writes it (Swedish ``35,0`` and ``−6,0``, English
    ``35.0`` and ``-6.0``): Babel's ``format_decimal`` in the page's locale, with exactly
    ``places`` decimals when given (else those it has, up to three), and the language's
    own minus sign (Babel's patterns write a hyphen-minus whatever the locale). For what
    people read only: data attributes, CSV and the API keep the plain number."""
    if value is None or value == "" or isinstance(value, bool):
        return "" if value is None or value == "" else str(value)
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return value
    if value == 0:
        value = abs(value)  # no "-0,0"
    pattern = None if places is None else "#,##0" + ("." + "0" * places if places else "")
    text = format_decimal(value, pattern)
    if text.startswith("-"):
        text = get_minus_sign_symbol(str(get_locale() or DEFAULT_LANGUAGE)) + text[1:]
    return text


def format_when(value: Any) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return dates.format_datetime(value, "short", tzinfo=get_timezone(), locale=_date_locale())
