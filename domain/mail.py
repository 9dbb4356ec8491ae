"""The e-mail outbox, event-sourced (docs/adr/0013-mail-outbox.md).

A message to a participant is an aggregate, ``MailMessage``: ``Queued`` -> (``Claimed`` ->
``AttemptFailed``)* -> ``Claimed`` -> ``Sent``; or ``Cancelled`` when its participant has
been erased. Nothing is updated in place, so the outbox survives a restart and the
researchers see every attempt.

- Its id is derived from (kind, request key, participant), so a request that is sent twice
  (a double click, a retried POST, the weekly schedule run by two workers) queues one
  message per participant, never two.
- A sender *claims* a message by appending ``Claimed`` at the version it read: the store
  accepts one event per (id, version), so two workers never both send it. A claim is a
  lease (``CLAIM_SECONDS``): a sender that dies after claiming leaves the message to be
  claimed again once the lease has run out.
- The recipient's address is not in the message: it is read from the participant when the
  message is sent (their ``PersonalData``). The sign-in link a message carries is
  ``PersonalData`` of the participant too, so erasing them makes both unreadable; a message
  whose participant is erased is cancelled, not sent.
- The new-link page finds a participant by address through a blind index: an HMAC of the
  normalised address (key in the key table) in a table that erasure clears
  (:class:`AddressIndex`). The address itself is never stored in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import event
from eventsourcing.persistence import IntegrityError

from domain import errors
from domain.accounts import verify_link
from domain.context import now
from domain.model import FramdriftAggregate, Participant
from domain.privacy import PersonalData, reveal

if TYPE_CHECKING:
    from domain.application import Framdrift

KINDS = ("invitation", "reminder", "new_link")
LANGUAGES = ("sv", "en")
CLAIM_SECONDS = 300
MAX_ATTEMPTS = 10
LINK_GONE = "the link had expired or was revoked"  # before it was sent: no dead link goes out
FIRST_RETRY_SECONDS = 60
LONGEST_RETRY_SECONDS = 6 * 3600
_MESSAGE_NAMESPACE = uuid5(NAMESPACE_URL, "https://framdrift.example/mail-messages")
_SCHEDULE_NAMESPACE = uuid5(NAMESPACE_URL, "https://framdrift.example/reminder-schedules")
# Subject of the store-local key of the address index (kept in the key table).
_INDEX_KEY_SUBJECT = uuid5(NAMESPACE_URL, "https://framdrift.example/mail-address-index-key")
INDEX_TABLE = "mail_address_index"
INDEX_POSITION_TABLE = "mail_address_index_position"


class MessageNotFoundError(errors.NotFoundError):
    field = "message_id"


def message_id_for(kind: str, request_key: str, participant_id: UUID | str) -> UUID:
    """One message per (kind, request, participant): a repeated request queues nothing."""
    return uuid5(_MESSAGE_NAMESPACE, f"{kind}:{request_key}:{participant_id}")


def retry_delay(attempts: int) -> timedelta:
    """Back-off after the ``attempts``-th failure: 1, 2, 4 ... minutes, at most 6 hours."""
    seconds = FIRST_RETRY_SECONDS * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, LONGEST_RETRY_SECONDS))


class MailMessage(FramdriftAggregate):
    """One e-mail to one participant (an invitation, a reminder or a new link)."""

    @event("Queued")
    def __init__(self, programme_id: str, participant_id: str, kind: str, language: str,
                 link: PersonalData | None, week: int | None):
        self.programme_id = programme_id
        self.participant_id = participant_id
        self.kind = kind
        self.language = language
        self.link = link
        self.week = week
        self.state = "queued"
        self.attempts = 0
        self.reason: str | None = None
        self.next_try_at: str | None = None  # None while queued: at once
        self.claimed_until: str | None = None
        self.sent_at: str | None = None

    # sender's side ---------------------------------------------------------------------

    def due(self, at: datetime) -> bool:
        """Waiting to be sent at ``at``: queued or failed (with tries left, or asked to
        retry), its next try has come, and no sender holds a claim on it."""
        if self.state not in ("queued", "failed"):
            return False
        if self.claimed_until and datetime.fromisoformat(self.claimed_until) > at:
            return False
        if self.next_try_at is None:
            return self.state == "queued"
        return datetime.fromisoformat(self.next_try_at) <= at

    def claim(self, worker: str, at: datetime) -> None:
        if not self.due(at):
            raise errors.ConcurrentChangeError("this message is not waiting to be sent")
        self._claim(worker=worker, until=(at + timedelta(seconds=CLAIM_SECONDS)).isoformat())

    @event("Claimed")
    def _claim(self, worker: str, until: str) -> None:
        self.claimed_until = until

    @event("AttemptFailed")
    def _fail(self, reason: str, attempts: int, next_try_at: str | None) -> None:
        self.state = "failed"
        self.attempts = attempts
        self.reason = reason
        self.next_try_at = next_try_at
        self.claimed_until = None

    def fail(self, reason: str, at: datetime) -> None:
        attempts = self.attempts + 1
        later = None if attempts >= MAX_ATTEMPTS else (at + retry_delay(attempts)).isoformat()
        self._fail(reason=reason[:300], attempts=attempts, next_try_at=later)

    @event("Sent")
    def _sent(self, message_header: str, at: str) -> None:
        self.state = "sent"
        self.attempts += 1
        self.reason = None
        self.sent_at = at
        self.claimed_until = None
        self.next_try_at = None

    def mark_sent(self, message_header: str) -> None:
        self._sent(message_header=message_header, at=now().isoformat())

    @event("Cancelled")
    def _cancel(self, reason: str) -> None:
        self.state = "cancelled"
        self.reason = reason
        self.claimed_until = None
        self.next_try_at = None

    def cancel(self, reason: str) -> None:
        if self.state in ("sent", "cancelled"):
            return
        self._cancel(reason=reason)

    # researcher's side -----------------------------------------------------------------

    @event("RetryRequested")
    def _retry_now(self, at: str) -> None:
        self.next_try_at = at

    def retry_now(self) -> bool:
        """Try again at the next pass (a failed message, also one that has given up)."""
        if self.state != "failed":
            return False
        self._retry_now(at=now().isoformat())
        return True

    @property
    def header_id(self) -> str:
        """A stable Message-ID: a resend after a crash carries the same one."""
        return f"<{self.id}@framdrift>"


@dataclass(frozen=True)
class MessageInfo:
    id: str
    programme_id: str
    participant_id: str
    kind: str
    language: str
    state: str
    attempts: int
    reason: str | None
    next_try_at: str | None
    sent_at: str | None
    queued_at: str
    week: int | None

    @classmethod
    def of(cls, m: MailMessage) -> MessageInfo:
        return cls(id=str(m.id), programme_id=m.programme_id, participant_id=m.participant_id,
                   kind=m.kind, language=m.language, state=m.state, attempts=m.attempts,
                   reason=m.reason, next_try_at=m.next_try_at, sent_at=m.sent_at,
                   queued_at=m.created_on.isoformat(), week=m.week)


def queue_message(app: Framdrift, *, kind: str, request_key: str, participant_id: UUID | str,
                  language: str, link: str | None = None, week: int | None = None,
                  ) -> tuple[UUID, bool]:
    """Queue one message; returns ``(id, queued now)``: False when this request already
    queued it (nothing is queued twice). The participant must not be erased."""
    if kind not in KINDS:
        raise errors.InvalidValueError(f"must be one of: {', '.join(KINDS)}", field="kind")
    if language not in LANGUAGES:
        raise errors.InvalidValueError("must be sv or en", field="language")
    if not request_key:
        raise errors.InvalidValueError("a request key is needed", field="request_id")
    person = app._get(Participant, participant_id, errors.ParticipantNotFoundError)
    person.require_active()
    mid = message_id_for(kind, request_key, person.id)
    if mid in app.repository:
        return mid, False
    message: MailMessage = MailMessage._create(  # type: ignore[attr-defined]
        MailMessage.Queued, id=mid, programme_id=str(person.programme_id),
        participant_id=str(person.id), kind=kind, language=language,
        link=PersonalData(person.id, link) if link else None, week=week)
    try:
        app.save(message)
    except IntegrityError:
        return mid, False  # the same request, a moment ago
    return mid, True


def exists(app: Framdrift, kind: str, request_key: str, participant_id: UUID | str) -> bool:
    return message_id_for(kind, request_key, participant_id) in app.repository


def get_message(app: Framdrift, message_id: UUID | str) -> MailMessage:
    try:
        uid = message_id if isinstance(message_id, UUID) else UUID(str(message_id))
        found = app.repository.get(uid)
    except (ValueError, AggregateNotFoundError):
        raise MessageNotFoundError("no such message") from None
    if not isinstance(found, MailMessage):
        raise MessageNotFoundError("no such message")
    return found


def message_ids(app: Framdrift) -> list[UUID]:
    """Every message ever queued, oldest first (through the log, by event topic)."""
    from domain.accounts import _issued

    return _issued(app, MailMessage.Queued)


class _Pending:
    """This process's view of which messages may still need sending: the ids queued up to
    a log position (read on from there each time) minus those seen sent or cancelled
    (final states: nothing changes them), so a pass reads only what may be due."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.position = 0
        self.ids: dict[UUID, None] = {}

    def unfinished(self, app: Framdrift) -> list[UUID]:
        from domain.batchread import creation_rows

        with self.lock:  # new messages through their partial index: a pass with none new
            # no longer scans the log from the last message queued to its end
            for position, oid, _version, _state in creation_rows(
                    app, MailMessage.Queued, self.position):
                self.ids[oid] = None
                self.position = position
            return list(self.ids)

    def finished(self, message_id: UUID) -> None:
        with self.lock:
            self.ids.pop(message_id, None)


def pending_ids(app: Framdrift) -> tuple[list[UUID], _Pending]:
    """Messages that may still be waiting (oldest first), and the tracker to tell which
    have reached a final state."""
    tracker = app.__dict__.get("_mail_pending")
    if tracker is None:
        tracker = app.__dict__.setdefault("_mail_pending", _Pending())
    return tracker.unfinished(app), tracker


def outbox(app: Framdrift, programme_id: str | None = None) -> list[MessageInfo]:
    """The messages (of one programme), newest first: found by their Queued events and
    read together (domain/batchread.py), not every message of the store one by one."""
    from domain.batchread import created_where, read_many

    if programme_id is None:
        ids = message_ids(app)
    else:
        ids = created_where(app, MailMessage.Queued,
                            lambda e: e.programme_id == str(programme_id))
    found = read_many(app, ids)
    return [MessageInfo.of(found[uid]) for uid in reversed(ids)
            if isinstance(found.get(uid), MailMessage)]


def retry_now(app: Framdrift, message_id: UUID | str) -> bool:
    message = get_message(app, message_id)
    if not message.retry_now():
        return False
    app._save(message)
    return True


@dataclass(frozen=True)
class Claimed:
    """A message this sender holds: what it needs to send it (revealed at send time)."""
    id: UUID
    version: int
    kind: str
    language: str
    address: str
    name: str
    link: str | None
    programme_id: str
    week: int | None
    header_id: str
    link_expires_at: datetime | None = None  # the e-mail says how long the link lasts


def claim(app: Framdrift, message_id: UUID, worker: str, at: datetime) -> Claimed | None:
    """Claim a due message for sending (append ``Claimed`` at the version read). None when
    it is not due, another sender claimed it first, or it was cancelled now because its
    participant is erased or has no address."""
    message = get_message(app, message_id)
    if not message.due(at):
        return None
    person = app._get(Participant, message.participant_id, errors.ParticipantNotFoundError)
    address = reveal(person.email) if person.email else None
    link = reveal(message.link) if message.link else None
    valid = verify_link(app, link.rsplit("/", 1)[-1]) if link else None
    reason = ("participant erased" if person.erased
              else "no e-mail address" if not address
              else "the link is unreadable" if message.link and not link
              else LINK_GONE if link and valid is None else None)
    try:
        if reason:
            message.cancel(reason)
            app._save(message)
            return None
        message.claim(worker, at)
        app._save(message)
    except errors.ConcurrentChangeError:
        return None  # another sender was first
    return Claimed(id=message.id, version=message.version, kind=message.kind,
                   language=message.language, address=address or "",
                   name=reveal(person.name) or "", link=link,
                   programme_id=message.programme_id, week=message.week,
                   header_id=message.header_id,
                   link_expires_at=valid.expires_at if valid else None)


def _finish(app: Framdrift, message_id: UUID, change: Any) -> None:
    """Record the outcome of a claimed message; a retry request that came meanwhile is
    read again (the outcome is recorded all the same)."""
    for _attempt in range(5):
        message = get_message(app, message_id)
        change(message)
        try:
            app._save(message)
            return
        except errors.ConcurrentChangeError:
            continue
    raise errors.ConcurrentChangeError("the outcome of the message could not be recorded")


def record_sent(app: Framdrift, message_id: UUID, header: str) -> None:
    _finish(app, message_id, lambda m: m.mark_sent(header) if m.state != "sent" else None)


def record_failure(app: Framdrift, message_id: UUID, reason: str, at: datetime) -> None:
    _finish(app, message_id, lambda m: m.fail(reason, at) if m.state != "sent" else None)


def cancel_for(app: Framdrift, participant_id: UUID | str, reason: str) -> int:
    """Cancel every unsent message of a participant (on erasure); returns how many."""
    from domain.batchread import created_where, read_many

    count = 0
    ids = created_where(app, MailMessage.Queued,
                        lambda e: e.participant_id == str(participant_id))
    for message in read_many(app, ids).values():
        if message.participant_id == str(participant_id) and message.state in (
                "queued", "failed"):
            message.cancel(reason)
            try:
                app._save(message)
                count += 1
            except errors.ConcurrentChangeError:
                continue  # a sender holds it: it cancels it itself (participant erased)
    return count


# ----------------------------------------------------------------------- reminder schedule


def schedule_id_for(programme_id: UUID | str) -> UUID:
    return uuid5(_SCHEDULE_NAMESPACE, str(programme_id))


class ReminderSchedule(FramdriftAggregate):
    """When a programme's weekly reminder goes out (weekday 0 = Monday, hour local time;
    ``None``: off), and which weeks it has gone out (``Ran``, appended at the version read,
    so one sender)."""

    @event("Scheduled")
    def __init__(self, programme_id: str, weekday: int | None, hour: int | None,
                 language: str = "sv"):
        self.programme_id = programme_id
        self.weekday = weekday
        self.hour = hour
        self.language = language
        self.last_run: str | None = None

    @event("Rescheduled")
    def _change(self, weekday: int | None, hour: int | None, language: str = "sv") -> None:
        self.weekday = weekday
        self.hour = hour
        self.language = language

    @event("Ran")
    def _ran(self, week: str) -> None:
        self.last_run = week

    @property
    def active(self) -> bool:
        return self.weekday is not None and self.hour is not None


def _check_schedule(weekday: int | None, hour: int | None) -> None:
    if (weekday is None) != (hour is None):
        raise errors.InvalidValueError("give both a weekday and an hour", field="weekday")
    if weekday is not None and not (isinstance(weekday, int) and 0 <= weekday <= 6):
        raise errors.InvalidValueError("must be 0 (Monday) to 6 (Sunday)", field="weekday")
    if hour is not None and not (isinstance(hour, int) and 0 <= hour <= 23):
        raise errors.InvalidValueError("must be 0 to 23", field="hour")


def set_schedule(app: Framdrift, programme_id: UUID | str, weekday: int | None,
                 hour: int | None, language: str = "sv") -> None:
    """Set (or with ``None, None`` stop) a programme's weekly reminder (in ``language``)."""
    _check_schedule(weekday, hour)
    if language not in LANGUAGES:
        raise errors.InvalidValueError("must be sv or en", field="language")
    from domain.model import Programme

    programme = app._get(Programme, programme_id, errors.ProgrammeNotFoundError)
    sid = schedule_id_for(programme.id)
    found = get_schedule(app, programme.id)
    if found is None:
        schedule: ReminderSchedule = ReminderSchedule._create(  # type: ignore[attr-defined]
            ReminderSchedule.Scheduled, id=sid, programme_id=str(programme.id), weekday=weekday,
            hour=hour, language=language)
    else:
        if (found.weekday, found.hour, found.language) == (weekday, hour, language):
            return
        schedule = found
        schedule._change(weekday=weekday, hour=hour, language=language)
    app._save(schedule)


def get_schedule(app: Framdrift, programme_id: UUID | str) -> ReminderSchedule | None:
    try:
        found = app.repository.get(schedule_id_for(programme_id))
    except AggregateNotFoundError:
        return None
    return found if isinstance(found, ReminderSchedule) else None


def schedules(app: Framdrift) -> list[ReminderSchedule]:
    from domain.accounts import _issued

    return [app.repository.get(uid) for uid in _issued(app, ReminderSchedule.Scheduled)]


def mark_ran(app: Framdrift, schedule: ReminderSchedule, week: str) -> bool:
    """Record that ``week``'s reminder went out; False when another sender was first."""
    if schedule.last_run == week:
        return False
    schedule._ran(week=week)
    try:
        app._save(schedule)
    except errors.ConcurrentChangeError:
        return False
    return True


# ------------------------------------------------------------------------ address index


def normalise_address(address: str) -> str:
    return (address or "").strip().casefold()


class AddressIndex:
    """Participants by e-mail address, through an HMAC of the address (a blind index): a
    read model built from the log, whose rows of a participant are deleted on erasure.
    Without the key (in the key table) the digests name nobody."""

    def __init__(self, app: Framdrift):
        self.app = app
        self.sql = app.sql

    def _key(self) -> bytes:
        key = self.app.keys.key_for(_INDEX_KEY_SUBJECT, create=True)
        assert key is not None
        return key

    def digest(self, address: str) -> str:
        return hmac.new(self._key(), normalise_address(address).encode("utf-8"),
                        hashlib.sha256).hexdigest()

    def catch_up(self) -> None:
        """Add the participants enrolled since the last catch-up (from the log, through
        the partial index of ``Participant.Enrolled``: an anonymous "send me a new link"
        no longer scans the log from the last enrolment to its end; ADR 0032)."""
        from domain.batchread import CHUNK, creation_rows

        table, position_table = self.sql.table(INDEX_TABLE), self.sql.table(
            INDEX_POSITION_TABLE)
        rows = self.sql.query(f"SELECT position FROM {position_table} WHERE id = 1")
        start = int(rows[0]["position"]) if rows else 0
        entries: list[tuple[str, str]] = []
        last, seen = start, 0

        def save() -> None:
            with self.sql.transaction() as cur:
                for digest, pid in entries:
                    cur.execute(f"INSERT INTO {table} (digest, participant_id) VALUES (?, ?) "
                                "ON CONFLICT (digest, participant_id) DO NOTHING",
                                (digest, pid))
                cur.execute(f"INSERT INTO {position_table} (id, position) VALUES (1, ?) "
                            "ON CONFLICT (id) DO UPDATE SET position = excluded.position",
                            (last,))
            entries.clear()

        for position, oid, _version, _state in creation_rows(
                self.app, Participant.Enrolled, start):
            try:
                person = self.app.repository.get(oid)
            except AggregateNotFoundError:
                person = None
            address = (reveal(person.email) if person is not None and person.email
                       and not person.erased else None)
            if address:
                entries.append((self.digest(address), str(person.id)))
            last, seen = position, seen + 1
            if seen % CHUNK == 0:
                save()
        if last != start:
            save()

    def find(self, address: str) -> list[str]:
        """Ids of the enrolled, not erased participants with this address."""
        self.catch_up()
        rows = self.sql.query(
            f"SELECT participant_id FROM {self.sql.table(INDEX_TABLE)} WHERE digest = ?",
            (self.digest(address),))
        found = []
        wanted = normalise_address(address)
        for row in rows:
            try:
                person = self.app.get_participant(row["participant_id"])
            except errors.NotFoundError:
                continue
            if not person["erased"] and normalise_address(person["email"] or "") == wanted:
                found.append(person["id"])
        return found

    def forget(self, participant_id: UUID | str) -> None:
        """Erasure: the participant's rows go (the digest would otherwise link them)."""
        if not self.has_tables():
            return  # a store migrated before the outbox existed: no rows to delete
        with self.sql.transaction() as cur:
            if not self.sql.postgres:
                cur.execute("PRAGMA secure_delete = ON")
            cur.execute(f"DELETE FROM {self.sql.table(INDEX_TABLE)} WHERE participant_id = ?",
                        (str(participant_id),))

    def has_tables(self) -> bool:
        if self.sql.postgres:
            rows = self.sql.query(
                "SELECT 1 AS x FROM information_schema.tables WHERE table_schema = ? "
                "AND table_name = ?", (self.sql.schema, INDEX_TABLE))
        else:
            rows = self.sql.query(
                "SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = ?",
                (INDEX_TABLE,))
        return bool(rows)


def migrate(url: str) -> None:
    """The address index's tables (``framdrift migrate`` runs this)."""
    from domain.application import Framdrift

    app = Framdrift.from_url(url)
    try:
        create_tables(app)
    finally:
        app.close()


def create_tables(app: Framdrift) -> None:
    with app.sql.transaction() as cur:
        cur.execute(f"CREATE TABLE IF NOT EXISTS {app.sql.table(INDEX_TABLE)} ("
                    "digest TEXT NOT NULL, participant_id TEXT NOT NULL, "
                    "PRIMARY KEY (digest, participant_id))")
        cur.execute(f"CREATE TABLE IF NOT EXISTS {app.sql.table(INDEX_POSITION_TABLE)} ("
                    "id INTEGER PRIMARY KEY, position BIGINT NOT NULL)")
