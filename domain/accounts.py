"""Accounts, event-sourced like everything else: API tokens for evaluators and
researchers, researchers' web accounts (argon2 password hashes) and personal sign-in
links for participants. API tokens:

A token is a random secret shown once when it is issued. Only its SHA-256 hash
is ever known to the store, and not even that is recorded: the aggregate's id is
derived from the hash (uuid5), so checking a presented token is one
``repository.get``. Tokens are never updated or deleted in place; revoking one
is a new event. The label says what the token is for (e.g. "client evaluation
2026"); it must not be a person's name, since it is not treated as personal data.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import event
from eventsourcing.persistence import IntegrityError

from domain import errors
from domain.context import now
from domain.model import (
    MAX_LABEL,
    FramdriftAggregate,
    require_line,
    require_no_control,
)
from domain.privacy import PersonalData, reveal

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

    CACHEABLE = True  # no personal data; checked on every API request (domain/loading.py)

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
        label = require_no_control(label.strip(), "label", one_line=True) or None
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


def revoke_token(app: Framdrift, token_id: UUID | str, reason: str | None = None) -> bool:
    """Revoke a token by id; False when it was already revoked."""
    token = app._get(ApiToken, token_id, TokenNotFoundError)
    if not token.revoke(reason):
        return False
    app._save(token)
    return True


def verify_token(app: Framdrift, secret: str) -> TokenInfo | None:
    """The token's details when ``secret`` is a valid, unrevoked token, else None."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    try:
        token = app.repository.get(token_id_for(secret), deepcopy_from_cache=False)
    except AggregateNotFoundError:
        return None
    if not isinstance(token, ApiToken) or token.revoked:
        return None
    return TokenInfo.of(token)


def _issued(app: Framdrift, created_event: type) -> list[UUID]:
    """Ids of every aggregate created with ``created_event``, oldest first (via the log)."""
    from domain.batchread import created_where

    return created_where(app, created_event)


def list_tokens(app: Framdrift) -> list[TokenInfo]:
    """All tokens ever issued, oldest first (found through the log by event topic)."""
    return [TokenInfo.of(app.repository.get(uid)) for uid in _issued(app, ApiToken.Issued)]


# --------------------------------------------------------------------------- researchers
#
# Researchers sign in to the web pages with a user name and password. The account is an
# aggregate whose id is derived from the (lower-cased) user name, so signing in is one
# ``repository.get``. The user name, name and e-mail are personal data: they are sealed
# with the researcher's own key (``PersonalData`` with the researcher id as subject). Only
# an argon2id hash of the password is recorded; a new password is a new event.

_RESEARCHER_NAMESPACE = uuid5(NAMESPACE_URL, "https://framdrift.example/researchers")
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,62}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
_hasher = PasswordHasher()
# A hash to verify against when the user is unknown, so both cases take as long.
_DUMMY_HASH = _hasher.hash("framdrift-no-such-user")


class ResearcherNotFoundError(errors.NotFoundError):
    field = "username"


def normalise_username(username: str) -> str:
    return (username or "").strip().lower()


def researcher_id_for(username: str) -> UUID:
    return uuid5(_RESEARCHER_NAMESPACE, normalise_username(username))


class Researcher(FramdriftAggregate):
    """A researcher's web account (forskare)."""

    @event("Registered")
    def __init__(
        self, username: PersonalData, name: PersonalData, email: PersonalData | None,
        password_hash: str,
    ):
        self.username = username
        self.name = name
        self.email = email
        self.password_hash = password_hash

    @event("PasswordChanged")
    def _change_password(self, password_hash: str) -> None:
        self.password_hash = password_hash


def _check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise errors.InvalidValueError(
            f"must be at least {MIN_PASSWORD} characters", field="password"
        )
    if len(password) > MAX_PASSWORD or "\x00" in password:
        raise errors.InvalidValueError("is not an acceptable password", field="password")
    return password


def create_researcher(
    app: Framdrift, *, username: str, name: str, email: str | None, password: str
) -> UUID:
    """Register a researcher account; the user name must be new."""
    username = normalise_username(username)
    if not USERNAME_RE.match(username):
        raise errors.InvalidValueError(
            "use 2-63 characters: lower-case letters, digits and . _ @ -", field="username"
        )
    name = require_line(name, "name")
    if email is not None and email.strip():
        email = require_no_control(email.strip(), "email", one_line=True)
        if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
            raise errors.InvalidValueError("is not an e-mail address", field="email")
    else:
        email = None
    password_hash = _hasher.hash(_check_password(password))
    rid = researcher_id_for(username)
    if rid in app.repository:
        raise errors.InvalidValueError("that user name is taken", field="username")
    researcher: Researcher = Researcher._create(  # type: ignore[attr-defined]
        Researcher.Registered, id=rid,
        username=PersonalData(rid, username), name=PersonalData(rid, name),
        email=PersonalData(rid, email) if email else None, password_hash=password_hash,
    )
    try:
        app.save(researcher)
    except IntegrityError:
        raise errors.InvalidValueError("that user name is taken", field="username") from None
    return rid


def _researcher(app: Framdrift, researcher_id: UUID | str) -> Researcher:
    try:
        uid = researcher_id if isinstance(researcher_id, UUID) else UUID(str(researcher_id))
        found = app.repository.get(uid)
    except (ValueError, AggregateNotFoundError):
        raise ResearcherNotFoundError("no such researcher") from None
    if not isinstance(found, Researcher):
        raise ResearcherNotFoundError("no such researcher")
    return found


def get_researcher(app: Framdrift, researcher_id: UUID | str) -> dict[str, Any]:
    r = _researcher(app, researcher_id)
    return {"id": str(r.id), "username": reveal(r.username), "name": reveal(r.name),
            "email": reveal(r.email) if r.email else None}


def researcher_exists(app: Framdrift, username: str) -> bool:
    return researcher_id_for(username) in app.repository


def set_password(app: Framdrift, username: str, password: str) -> None:
    """A new password (an event); it ends every earlier session of the account, in the
    same transaction (``Sessions.Ended``)."""
    password_hash = _hasher.hash(_check_password(password))
    for _attempt in range(_MAX_END_ATTEMPTS):
        researcher = _researcher(app, researcher_id_for(username))
        researcher._change_password(password_hash)
        ended = _ending(app, researcher.id, None, "password changed")
        try:
            app._save(researcher, ended)
        except errors.ConcurrentChangeError:
            continue  # another change came first: read both again
        return
    raise errors.ConcurrentChangeError("the password could not be changed; try again")


def verify_password(app: Framdrift, username: str, password: str) -> UUID | None:
    """The researcher's id when the user name and password match, else None."""
    if not isinstance(password, str) or len(password) > MAX_PASSWORD:
        return None
    username = normalise_username(username if isinstance(username, str) else "")
    researcher: Researcher | None = None
    if USERNAME_RE.match(username):
        try:
            researcher = _researcher(app, researcher_id_for(username))
        except ResearcherNotFoundError:
            researcher = None
    try:
        _hasher.verify(researcher.password_hash if researcher else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    return researcher.id if researcher else None


# ------------------------------------------------------------------------ sign-in links
#
# A personal sign-in link (``/in/fdl_...``) for a participant (or a researcher, or an
# evaluator: read-only, pseudonymous pages, ADR 0015). Like API tokens, the secret is shown
# once and the aggregate id is derived from its SHA-256 hash; the secret itself is stored
# nowhere. A link expires and can be revoked (new events).

LINK_PREFIX = "fdl_"
LINK_ROLES = ("participant", "researcher", "evaluator")
DEFAULT_LINK_DAYS = 30
_LINK_NAMESPACE = uuid5(NAMESPACE_URL, "https://framdrift.example/sign-in-links")
# Subject of the store-local key from which the demo's links are derived (see demo_link).
_DEMO_LINK_SUBJECT = uuid5(NAMESPACE_URL, "https://framdrift.example/demo-link-key")


LINK_AFTER_COURSE_DAYS = 14  # late reflections, the last evaluation
MAX_LINK_DAYS = 366


def course_link_days(programme: dict[str, Any]) -> int:
    """How long a participant's new link is valid by default: to two weeks after the
    programme's last course day, never less than DEFAULT_LINK_DAYS nor more than a year.
    A fixed 30 days ended a link issued at enrolment in the last week of a five-week
    course, and a sign-in ends with its link: the participants who logged every week (and
    so got no reminder with a fresh link) were signed out in the week of their
    conclusions."""
    ends = [str(w["ends_on"])[:10] for w in programme.get("weeks") or [] if w.get("ends_on")]
    if not ends:
        return DEFAULT_LINK_DAYS
    try:
        last = datetime.fromisoformat(max(ends)).date()
    except ValueError:
        return DEFAULT_LINK_DAYS
    days = (last - now().date()).days + LINK_AFTER_COURSE_DAYS
    return max(DEFAULT_LINK_DAYS, min(MAX_LINK_DAYS, days))


def link_id_for(secret: str) -> UUID:
    return uuid5(_LINK_NAMESPACE, token_hash(secret))


class SignInLink(FramdriftAggregate):
    """A personal, expiring, revocable sign-in link."""

    CACHEABLE = True  # no personal data; checked on every page a session opens

    @event("Issued")
    def __init__(self, role: str, subject: str, expires_at: str):
        self.role = role
        self.subject = subject
        self.expires_at = expires_at
        self.revoked = False

    @event("Revoked")
    def _revoke(self, reason: str | None) -> None:
        self.revoked = True

    @property
    def expires(self) -> datetime:
        return datetime.fromisoformat(self.expires_at)

    def valid(self) -> bool:
        return not self.revoked and now() < self.expires


@dataclass(frozen=True)
class LinkInfo:
    id: UUID
    role: str
    subject: str
    issued_on: datetime
    expires_at: datetime
    revoked: bool

    @classmethod
    def of(cls, link: SignInLink) -> LinkInfo:
        return cls(id=link.id, role=link.role, subject=link.subject,
                   issued_on=link.created_on, expires_at=link.expires, revoked=link.revoked)

    @property
    def valid(self) -> bool:
        return not self.revoked and now() < self.expires_at


def _check_link_args(role: str, days: float) -> None:
    if role not in LINK_ROLES:
        raise errors.InvalidValueError(f"must be one of: {', '.join(LINK_ROLES)}", field="role")
    if (isinstance(days, bool) or not isinstance(days, (int, float))
            or not 0 < days <= MAX_LINK_DAYS):
        raise errors.InvalidValueError(f"must be 1..{MAX_LINK_DAYS} days", field="days")


def issue_link(
    app: Framdrift, *, role: str, subject: UUID | str, days: float = DEFAULT_LINK_DAYS,
    secret: str | None = None,
) -> tuple[str, UUID]:
    """Issue a sign-in link secret for ``subject``; returns ``(secret, link id)``.
    An erased participant gets none (``ParticipantErasedError``)."""
    _check_link_args(role, days)
    if role == "participant" and _erased(app, subject):
        raise errors.ParticipantErasedError("this participant has been erased")
    secret = secret or LINK_PREFIX + secrets.token_urlsafe(32)
    expires_at = (now() + timedelta(days=days)).isoformat()
    link: SignInLink = SignInLink._create(  # type: ignore[attr-defined]
        SignInLink.Issued, id=link_id_for(secret), role=role, subject=str(subject),
        expires_at=expires_at,
    )
    app.save(link)
    return secret, link.id


def _erased(app: Framdrift, participant_id: UUID | str) -> bool:
    try:
        return bool(app.get_participant(participant_id)["erased"])
    except errors.NotFoundError:
        return False


def _link(app: Framdrift, link_id: UUID, *, copy: bool = True) -> SignInLink | None:
    """The link (``copy=False``: the cached value itself, for reading only)."""
    try:
        found = app.repository.get(link_id, deepcopy_from_cache=copy)
    except AggregateNotFoundError:
        return None
    return found if isinstance(found, SignInLink) else None


def verify_link(app: Framdrift, secret: str) -> LinkInfo | None:
    """The link's details when ``secret`` is a valid (unexpired, unrevoked) link."""
    if not isinstance(secret, str) or not secret.startswith(LINK_PREFIX) or len(secret) > 200:
        return None
    link = _link(app, link_id_for(secret))
    if link is None or not link.valid():
        return None
    return LinkInfo.of(link)


def link_is_valid(app: Framdrift, link_id: UUID | str) -> bool:
    """Whether a link (by id, as kept in a session) is still valid."""
    try:
        uid = link_id if isinstance(link_id, UUID) else UUID(str(link_id))
    except ValueError:
        return False
    link = _link(app, uid)
    return link is not None and link.valid()


def list_links(app: Framdrift, subject: UUID | str | None = None) -> list[LinkInfo]:
    """Links ever issued (for ``subject`` only, if given), oldest first; one person's are
    found by their Issued events and read together (domain/batchread.py)."""
    if subject is None:
        return [LinkInfo.of(app.repository.get(uid)) for uid in _issued(app, SignInLink.Issued)]
    from domain.batchread import created_where, read_many

    ids = created_where(app, SignInLink.Issued, lambda e: e.subject == str(subject))
    found = read_many(app, ids)
    return [LinkInfo.of(found[uid]) for uid in ids if isinstance(found.get(uid), SignInLink)]


def revoke_links(app: Framdrift, subject: UUID | str, reason: str | None = None) -> int:
    """Revoke every valid link of ``subject``; returns how many were revoked."""
    count = 0
    for info in list_links(app, subject):
        link = _link(app, info.id)
        if link is not None and link.valid():
            link._revoke(reason)
            app._save(link)
            count += 1
    return count


def issue_evaluator_link(
    app: Framdrift, *, days: float = DEFAULT_LINK_DAYS
) -> tuple[str, UUID, UUID]:
    """A personal sign-in link for an evaluator's web pages (ADR 0015); returns
    ``(secret, link id, evaluator id)``. Evaluators have no account: each link names a new
    evaluator id of its own (no name, nothing personal), so revoking that id
    (``revoke_links``) ends exactly this link and the sessions it started."""
    evaluator = uuid4()
    secret, link_id = issue_link(app, role="evaluator", subject=evaluator, days=days)
    return secret, link_id, evaluator


def list_evaluator_links(app: Framdrift) -> list[LinkInfo]:
    """Every evaluator link ever issued, oldest first."""
    return [info for info in list_links(app) if info.role == "evaluator"]


def demo_link(
    app: Framdrift, *, role: str, subject: UUID | str, days: float = DEFAULT_LINK_DAYS
) -> str:
    """A sign-in link for the synthetic demo, issued idempotently.

    The secret is an HMAC of (role, subject, n) under a random key kept in the store's
    key table, so every ``framdrift serve`` prints the same link while it is valid and
    issues the next one (n + 1) once it has expired or been revoked. Only for the demo:
    whoever can read the key table can derive these links. An erased participant gets
    none (``ParticipantErasedError``).
    """
    if role == "participant" and _erased(app, subject):
        raise errors.ParticipantErasedError("this participant has been erased")
    key = app.keys.key_for(_DEMO_LINK_SUBJECT, create=True)
    assert key is not None
    for n in range(1000):
        digest = hmac.new(key, f"{role}:{subject}:{n}".encode(), hashlib.sha256).digest()
        secret = LINK_PREFIX + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
        link = _link(app, link_id_for(secret))
        if link is None:
            issue_link(app, role=role, subject=subject, days=days, secret=secret)
            return secret
        if link.valid():
            return secret
    raise RuntimeError("too many demo links issued")


# ---------------------------------------------------------------------------- sessions
#
# A web session (a signed cookie) names its principal and the session epoch of each
# scope it depends on: the researcher's account (password or link sessions) and, for a
# link session, the link. Ending the sessions of a scope records one small aggregate,
# ``Sessions.Ended``, whose id is derived from (scope, n) for the n-th ending; a session
# of epoch e is in force while ending e + 1 does not exist. Checking a session on a
# request is therefore one indexed look-up, however often the account has signed out;
# sign-in finds the current epoch in O(log n) look-ups. Nothing is updated in place and
# no session table exists. ADR 0006.

_SESSIONS_NAMESPACE = uuid5(NAMESPACE_URL, "https://framdrift.example/sessions-ended")
_MAX_END_ATTEMPTS = 5
_SIGNED_OUT = "signed out"


def sessions_ended_id(scope: UUID | str, epoch: int) -> UUID:
    """The id of the ``epoch``-th ending of ``scope``'s sessions."""
    return _sessions_ended_id(f"{scope}:{epoch}")


@functools.lru_cache(maxsize=4096)
def _sessions_ended_id(name: str) -> UUID:
    """Every request of a link session asks for its marker's id twice (the prefetch, the
    check): derived once per process and session."""
    return uuid5(_SESSIONS_NAMESPACE, name)


class Sessions(FramdriftAggregate):
    """One ending of every session of a scope (a researcher's account or a sign-in link)
    started before it: sign-out, or a new password. Never changed afterwards."""

    @event("Ended")
    def __init__(self, scope: str, epoch: int, reason: str):
        self.scope = scope
        self.epoch = epoch
        self.reason = reason


def _ended(app: Framdrift, scope: UUID | str, epoch: int) -> bool:
    marker = sessions_ended_id(scope, epoch)
    if app.repository.known_absent(marker):  # asked in this request (prefetch_link_session)
        return False
    return bool(app.recorder.select_events(marker, limit=1))


def session_in_force(app: Framdrift, scope: UUID | str, epoch: Any) -> bool:
    """Whether a session of ``epoch`` in ``scope`` has not been ended (one look-up)."""
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        return False
    return not _ended(app, scope, epoch + 1)


def session_epoch(app: Framdrift, scope: UUID | str) -> int:
    """How many times ``scope``'s sessions have been ended (endings are numbered 1, 2, ...
    without gaps): a galloping search, O(log n) look-ups."""
    if not _ended(app, scope, 1):
        return 0
    low, high = 1, 2
    while _ended(app, scope, high):
        low, high = high, high * 2
    while high - low > 1:  # ended(low) and not ended(high)
        middle = (low + high) // 2
        if _ended(app, scope, middle):
            low = middle
        else:
            high = middle
    return low


def _ending(app: Framdrift, scope: UUID | str, seen: int | None, reason: str) -> Sessions:
    epoch = session_epoch(app, scope) if seen is None else seen
    return Sessions._create(  # type: ignore[attr-defined]
        Sessions.Ended, id=sessions_ended_id(scope, epoch + 1), scope=str(scope),
        epoch=epoch + 1, reason=reason)


def end_sessions(app: Framdrift, scope: UUID | str, *, seen: int | None = None,
                 reason: str = _SIGNED_OUT) -> bool:
    """End every session of ``scope`` (a researcher id: all their sessions, on every
    device; a link id: the sessions started with that link, which stays valid).
    ``seen``: the epoch of the session that asks, when it is one; if that session has
    already been ended nothing is recorded. Returns whether an ending was recorded."""
    for _attempt in range(_MAX_END_ATTEMPTS):
        if seen is not None and not session_in_force(app, scope, seen):
            return False
        try:
            app._save(_ending(app, scope, seen, reason))
        except errors.ConcurrentChangeError:
            if seen is not None:
                return False  # ended a moment ago by someone else: ended all the same
            continue
        return True
    raise errors.ConcurrentChangeError("the sessions could not be ended; try again")


def researcher_epoch(app: Framdrift, researcher_id: UUID | str) -> int | None:
    """The researcher's session epoch, or None when there is no such researcher."""
    try:
        researcher = _researcher(app, researcher_id)
    except ResearcherNotFoundError:
        return None
    return session_epoch(app, researcher.id)


def link_epoch(app: Framdrift, link_id: UUID | str, *, role: str, subject: str) -> int | None:
    """The session epoch of a valid link for ``role`` and ``subject``, else None
    (unknown, expired or revoked, or issued to someone else)."""
    link = _valid_link(app, link_id, role=role, subject=subject)
    return None if link is None else session_epoch(app, link.id)


def link_session_in_force(app: Framdrift, link_id: UUID | str, *, role: str, subject: str,
                          epoch: Any) -> bool:
    """A link session: the link is still valid (not expired or revoked, the same person)
    and its sessions have not been ended since ``epoch``."""
    link = _valid_link(app, link_id, role=role, subject=subject)
    return link is not None and session_in_force(app, link.id, epoch)


def prefetch_link_session(app: Framdrift, link_id: UUID | str, *, role: str, subject: str,
                          epoch: Any) -> None:
    """Before a link session is checked: fast-forward the link, and for a participant
    themselves and their programme, and ask for the session's end marker, all in one
    query (``CachingRepository.prefetch``); the check and the page's command then read
    them from this request's scope (ADR 0024). Only what this process has cached is
    fast-forwarded; the rest is read as before. Decides nothing itself."""
    try:
        uid = link_id if isinstance(link_id, UUID) else UUID(str(link_id))
    except ValueError:
        return
    ids: list[UUID] = [uid]
    if role == "participant":
        ids += app.author_ids(subject)
    valid_epoch = isinstance(epoch, int) and not isinstance(epoch, bool) and epoch >= 0
    probes = [sessions_ended_id(uid, epoch + 1)] if valid_epoch else []
    app.repository.prefetch(ids, probes=probes)


def _valid_link(app: Framdrift, link_id: UUID | str, *, role: str,
                subject: str) -> SignInLink | None:
    try:
        uid = link_id if isinstance(link_id, UUID) else UUID(str(link_id))
    except ValueError:
        return None
    link = _link(app, uid, copy=False)
    if link is None or not link.valid() or link.role != role or link.subject != str(subject):
        return None
    return link
