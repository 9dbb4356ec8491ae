"""Who is asking: API tokens (``Authorization: Bearer fd_...``) or, for later web
pages, a signed session. ``require_role(...)`` guards a view for JSON and web alike:
no (valid) credentials -> 401 with ``WWW-Authenticate: Bearer``; the wrong role -> 403.

Roles: ``participant``, ``researcher``, ``evaluator``. Tokens are read-only and are
issued only to researchers and evaluators (``framdrift tokens create``); web pages
may put a principal in the session with :func:`login`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import g, request, session
from flask_smorest import abort

ROLES = ("participant", "researcher", "evaluator")
READERS = ("evaluator", "researcher")
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


def login(role: str, subject: str) -> None:
    """Put a principal in the session (for web pages that log people in)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    session[_SESSION_KEY] = {"role": role, "subject": str(subject)}


def logout() -> None:
    session.pop(_SESSION_KEY, None)


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def current_principal() -> Principal | None:
    """The principal of this request, or None; looked up once per request."""
    if "principal" in g:
        return g.principal
    principal: Principal | None = None
    token = _bearer_token()
    if token is not None:
        from api.app import framdrift_app
        from domain.accounts import verify_token

        info = verify_token(framdrift_app(), token)
        if info is not None:
            principal = Principal(role=info.role, subject=str(info.id), via="token")
    elif "Authorization" not in request.headers:
        data = session.get(_SESSION_KEY)
        if isinstance(data, dict) and data.get("role") in ROLES and data.get("subject"):
            principal = Principal(role=data["role"], subject=data["subject"], via="session")
    g.principal = principal
    return principal


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
                    if "Authorization" in request.headers
                    else "Authentication required: send 'Authorization: Bearer <token>'."
                )
                abort(401, message=message, headers=_CHALLENGE)
            if principal.role not in roles:
                abort(403, message=f"A {principal.role} may not do this "
                                   f"(allowed: {', '.join(roles)}).")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator
