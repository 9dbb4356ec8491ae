"""Who is asking: an API token or a web session, never both (ADR 0006).

- An API token (``Authorization: Bearer fd_...``) authenticates requests under
  ``/api/v1`` only, and only reads (GET, HEAD, OPTIONS). Anywhere else a request that
  carries one is refused (401) before any view runs: a token never opens a web page, a
  form, a CSRF token or a sign-in link, and never adds to a session cookie sent with it.
- A web session (a signed cookie, see :func:`login`) names a participant, a researcher or
  an evaluator (read-only pseudonymous pages only, ADR 0015) and the session epochs of
  what it was started from (the researcher's account, the sign-in link). Every request
  checks them against the store, so a session ended by sign-out or a new password
  (:func:`sign_out`, ``domain.accounts``) opens nothing, even replayed from a copied
  cookie.

``require_role(...)`` guards a view for JSON and web alike: no (valid) credentials -> 401
with ``WWW-Authenticate: Bearer``; the wrong role, or a write with a token -> 403.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import current_app, g, request, session
from flask_smorest import abort

ROLES = ("participant", "researcher", "evaluator")
READERS = ("evaluator", "researcher")
SESSION_ROLES = ("participant", "researcher", "evaluator")  # web sessions exist only for these
LINK_ONLY_ROLES = ("participant", "evaluator")  # their sessions start from a sign-in link
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
API_PREFIX = "/api/v1"
F = TypeVar("F", bound=Callable[..., Any])
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="framdrift"'}
_SESSION_KEY = "principal"


@dataclass(frozen=True)
class Principal:
    role: str
    subject: str  # token id, researcher id or participant id
    via: str  # "token" | "session"

    @property
    def actor(self) -> str:
        """The actor string events record for this principal (see domain/context.py)."""
        return f"{self.role}:{self.subject}"


def is_api_request() -> bool:
    """Whether this request is for the JSON API (the only place tokens count)."""
    path = request.path
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def _bearer_scheme() -> bool:
    """An ``Authorization: Bearer ...`` header, valid or not."""
    scheme = request.headers.get("Authorization", "").strip().partition(" ")[0]
    return scheme.lower() == "bearer"


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def refuse_tokens_outside_api() -> Any:
    """``before_request``: a bearer token is refused anywhere but ``/api/v1`` (it would
    otherwise be ignored there and the request served as anonymous, which hides a
    client's mistake), and a token never writes, not even under ``/api/v1``: a route
    that takes a write refuses it (403) whatever guards the view."""
    if not _bearer_scheme():
        return None
    from api.errors import error_response

    if not is_api_request():
        return error_response(
            401, "API tokens are accepted only under /api/v1; web pages need a signed-in "
                 "session.", headers={"Cache-Control": "no-store"})
    if request.method not in SAFE_METHODS and request.url_rule is not None:
        # a route that takes writes (one that does not answers 405 as it would anyway)
        return error_response(403, "API tokens are read-only.")
    return None


# ------------------------------------------------------------------------- sessions


def session_grant(role: str, subject: str, link_id: str | None = None) -> dict[str, Any]:
    """What a session cookie holds for ``role``/``subject`` now: the principal with the
    session epochs in force (the researcher's account; the link it was started with).
    Raises ``ValueError`` when the account or the link is not in force."""
    from api.app import framdrift_app
    from domain.accounts import link_epoch, researcher_epoch

    if role not in SESSION_ROLES:
        raise ValueError(f"web sessions are for {SESSION_ROLES}, not {role!r}")
    app = framdrift_app()
    grant: dict[str, Any] = {"role": role, "subject": str(subject)}
    if link_id is not None:
        epoch = link_epoch(app, link_id, role=role, subject=str(subject))
        if epoch is None:
            raise ValueError("the sign-in link is not valid")
        grant.update(link=str(link_id), link_epoch=epoch)
    elif role in LINK_ONLY_ROLES:
        raise ValueError(f"{role}s' sessions start from a sign-in link")
    if role == "researcher":
        epoch = researcher_epoch(app, subject)
        if epoch is None:
            raise ValueError("no such researcher")
        grant["epoch"] = epoch
    return grant


def login(role: str, subject: str, link_id: str | None = None) -> None:
    """Put a principal in the session (web sign-in: a password or a link)."""
    session[_SESSION_KEY] = session_grant(role, subject, link_id)


def logout() -> None:
    """Forget the principal in this cookie (the session may still be in force elsewhere:
    :func:`sign_out` ends it on the server)."""
    session.pop(_SESSION_KEY, None)
    g.principal = None


def sign_out() -> None:
    """End this session on the server, then forget it: a researcher's sign-out ends every
    session of the account, a participant's every session of the link it was started
    with (``Sessions.Ended``; the link stays valid)."""
    from api.app import framdrift_app
    from domain.accounts import end_sessions

    data = session.get(_SESSION_KEY)
    if current_principal() is not None and isinstance(data, dict):
        app = framdrift_app()
        if data["role"] == "researcher":
            end_sessions(app, data["subject"], seen=data.get("epoch"))
        elif data.get("link"):
            end_sessions(app, data["link"], seen=data.get("link_epoch"))
    logout()


def _in_force(data: dict[str, Any]) -> bool:
    """Whether a session cookie's principal is still in force: the link it came from is
    valid and its sessions not ended since; a researcher's account sessions not ended
    since (sign-out, a new password). One or two indexed look-ups."""
    from uuid import UUID

    from api.app import framdrift_app
    from domain.accounts import link_session_in_force, prefetch_link_session, session_in_force

    role, subject = data["role"], data["subject"]
    app = framdrift_app()
    link = data.get("link")
    if link is not None:
        # one query for the link, its end marker and (a participant) the person and the
        # programme the page and its command read next (ADR 0024)
        prefetch_link_session(app, link, role=role, subject=subject,
                              epoch=data.get("link_epoch"))
        if not link_session_in_force(app, link, role=role, subject=subject,
                                     epoch=data.get("link_epoch")):
            return False
    elif role in LINK_ONLY_ROLES:
        return False
    if role == "researcher":
        try:
            scope = UUID(subject)
        except ValueError:
            return False
        if not session_in_force(app, scope, data.get("epoch")):
            return False
    return True


def _session_principal() -> Principal | None:
    data = session.get(_SESSION_KEY)
    if data is None:
        return None
    if not (isinstance(data, dict) and data.get("role") in SESSION_ROLES
            and isinstance(data.get("subject"), str) and data["subject"]
            and _in_force(data)):
        session.pop(_SESSION_KEY, None)  # ended (or never ours): drop it from the cookie
        return None
    return Principal(role=data["role"], subject=data["subject"], via="session")


def current_principal() -> Principal | None:
    """The principal of this request, or None; looked up once per request. Under
    ``/api/v1`` an ``Authorization`` header decides alone (a bad one is not helped by a
    cookie); elsewhere only the session counts."""
    if "principal" in g:
        return g.principal
    principal: Principal | None = None
    if is_api_request() and "Authorization" in request.headers:
        token = _bearer_token()
        if token is not None:
            from api.app import framdrift_app
            from domain.accounts import verify_token

            info = verify_token(framdrift_app(), token)
            if info is not None:
                principal = Principal(role=info.role, subject=str(info.id), via="token")
    else:
        principal = _session_principal()
    g.principal = principal
    return principal


def drafts_key(principal: Principal) -> str:
    """An opaque per-person key for the drafts a browser keeps (api/static/framdrift.js):
    an HMAC of the principal under the app's secret key, so it names nobody."""
    secret = current_app.secret_key or ""
    key = secret if isinstance(secret, bytes) else str(secret).encode("utf-8")
    message = f"framdrift-drafts:{principal.role}:{principal.subject}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def _with_article(role: str) -> str:
    """``An evaluator``, ``A researcher``, ``A participant``."""
    return f"{'An' if role[:1].lower() in 'aeiou' else 'A'} {role}"


def require_role(*roles: str) -> Callable[[F], F]:
    """Allow the view only to principals with one of ``roles``."""
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"roles must be among {ROLES}, got {roles}")

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = current_principal()
            if principal is None:
                message = (
                    "This token is not valid (unknown or revoked)."
                    if is_api_request() and "Authorization" in request.headers
                    else "Authentication required: send 'Authorization: Bearer <token>'."
                )
                abort(401, message=message, headers=_CHALLENGE)
            if principal.role not in roles:
                abort(403, message=f"{_with_article(principal.role)} may not do this "
                                   f"(allowed: {', '.join(roles)}).")
            if principal.via == "token" and request.method not in SAFE_METHODS:
                abort(403, message="API tokens are read-only.")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator
