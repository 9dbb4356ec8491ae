"""API tokens for evaluators and researchers, event-sourced like everything else.

A token is a random secret shown once when it is issued. Only its SHA-256 hash
is ever known to the store, and not even that is recorded: the aggregate's id is
derived from the hash (uuid5), so checking a presented token is one
``repository.get``. Tokens are never updated or deleted in place; revoking one
is a new event. The label says what the token is for (e.g. "client evaluation
2026"); it must not be a person's name, since it is not treated as personal data.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import event
from eventsourcing.utils import get_topic

from domain import errors
from domain.model import MAX_LABEL, FramdriftAggregate

if TYPE_CHECKING:
    from domain.application import Framdrift

TOKEN_PREFIX = "fd_"
TOKEN_ROLES = ("evaluator", "researcher")
_TOKEN_NAMESPACE = uuid5(NAMESPACE_URL, "https://framdrift.example/api-tokens")


class TokenNotFoundError(errors.NotFoundError):
    field = "token_id"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_id_for(token: str) -> UUID:
    """The aggregate id of a presented token (no lookup table needed)."""
    return uuid5(_TOKEN_NAMESPACE, token_hash(token))


class ApiToken(FramdriftAggregate):
    """A read-only API credential with one role."""

    @event("Issued")
    def __init__(self, role: str, label: str | None):
        self.role = role
        self.label = label
        self.revoked = False

    @event("Revoked")
    def _revoke(self, reason: str | None) -> None:
        self.revoked = True

    def revoke(self, reason: str | None = None) -> bool:
        """Revoke the token; revoking a revoked token changes nothing (returns False)."""
        if self.revoked:
            return False
        self._revoke(reason)
        return True


@dataclass(frozen=True)
class TokenInfo:
    id: UUID
    role: str
    label: str | None
    issued_on: datetime
    revoked: bool
    revoked_on: datetime | None

    @classmethod
    def of(cls, token: ApiToken) -> TokenInfo:
        return cls(
            id=token.id, role=token.role, label=token.label, issued_on=token.created_on,
            revoked=token.revoked,
            # Revoked is the only event after Issued, so the last change is the revocation.
            revoked_on=token.modified_on if token.revoked else None,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id), "role": self.role, "label": self.label,
            "issued_on": self.issued_on.isoformat(), "revoked": self.revoked,
            "revoked_on": self.revoked_on.isoformat() if self.revoked_on else None,
        }


def issue_token(app: Framdrift, *, role: str, label: str | None = None) -> tuple[str, UUID]:
    """Issue a token; returns ``(secret, id)``. The secret is not stored anywhere."""
    if role not in TOKEN_ROLES:
        raise errors.InvalidValueError(f"must be one of: {', '.join(TOKEN_ROLES)}", field="role")
    if label is not None:
        label = label.strip() or None
        if label and len(label) > MAX_LABEL:
            raise errors.InvalidValueError(
                f"must be at most {MAX_LABEL} characters", field="label"
            )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token: ApiToken = ApiToken._create(  # type: ignore[attr-defined]
        ApiToken.Issued, id=token_id_for(secret), role=role, label=label
    )
    app.save(token)
    return secret, token.id


def _get(app: Framdrift, token_id: UUID | str) -> ApiToken:
    try:
        uid = token_id if isinstance(token_id, UUID) else UUID(str(token_id))
    except ValueError:
        raise TokenNotFoundError(f"{token_id!r} is not a token id") from None
    try:
        token = app.repository.get(uid)
    except AggregateNotFoundError:
        raise TokenNotFoundError(f"token {uid} not found") from None
    if not isinstance(token, ApiToken):
        raise TokenNotFoundError(f"{uid} is not a token")
    return token


def revoke_token(app: Framdrift, token_id: UUID | str, reason: str | None = None) -> bool:
    """Revoke a token by id; False when it was already revoked."""
    token = _get(app, token_id)
    if not token.revoke(reason):
        return False
    app._save(token)
    return True


def verify_token(app: Framdrift, secret: str) -> TokenInfo | None:
    """The token's details when ``secret`` is a valid, unrevoked token, else None."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    try:
        token = app.repository.get(token_id_for(secret))
    except AggregateNotFoundError:
        return None
    if not isinstance(token, ApiToken) or token.revoked:
        return None
    return TokenInfo.of(token)


def list_tokens(app: Framdrift) -> list[TokenInfo]:
    """All tokens ever issued, oldest first (found through the log by event topic)."""
    topics = [get_topic(ApiToken.Issued)]
    ids: list[UUID] = []
    start = 1
    while True:
        page = app.recorder.select_notifications(start=start, limit=500, topics=topics)
        if not page:
            break
        ids.extend(n.originator_id for n in page)
        start = page[-1].id + 1
    return [TokenInfo.of(app.repository.get(uid)) for uid in dict.fromkeys(ids)]
