"""Many aggregates in one read (the participant's "My log" and the pages like it).

A participant's home page shows their own records, their team's and what colleagues
shared this week: about 190 records in the demo, each loaded with its own query. Records
are never cached (their texts are other people's erasable data, ADR 0002 and
domain/loading.py), so the page paid one round trip per record on every visit. Here the
events of all of them are asked for in one query per few hundred ids and folded in this
process: the same events, the same mapper (decryption with each author's key, so an
erased author's texts stay unreadable) and the same fold as ``repository.get``, with
nothing kept after the request.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from domain.loading import fold

#: ids per query: far below SQLite's 32,766 bound parameters and PostgreSQL's 65,535
CHUNK = 500


def _uuid(value: UUID | str) -> UUID | None:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        return None


def read_many(app: Any, ids: Iterable[UUID | str]) -> dict[UUID, Any]:
    """The current state of each aggregate of ``ids`` that exists (ids that are not
    aggregates are left out, as a missing one is by the loops this replaces)."""
    wanted = list(dict.fromkeys(u for u in (_uuid(i) for i in ids) if u is not None))
    found: dict[UUID, Any] = {}
    if not wanted:
        return found
    recorder = app.recorder
    name = recorder.events_table_name
    table = name if "." in name else app.sql.table(name)
    postgres = app.sql.postgres
    to_domain_event = app.mapper.to_domain_event
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start:start + CHUNK]
        marks = ", ".join("?" * len(chunk))
        rows = app.sql.query(
            f"SELECT originator_id, originator_version, topic, state FROM {table} "
            f"WHERE originator_id IN ({marks}) ORDER BY originator_id, originator_version",
            [u if postgres else u.hex for u in chunk])
        events: dict[UUID, list[Any]] = {}
        for row in rows:
            oid = row["originator_id"]
            oid = oid if isinstance(oid, UUID) else UUID(str(oid))
            state = row["state"]
            events.setdefault(oid, []).append(to_domain_event(StoredEvent(
                originator_id=oid, originator_version=row["originator_version"],
                topic=row["topic"], state=bytes(state) if not isinstance(state, bytes)
                else state)))
        for oid, stream in events.items():
            found[oid] = fold(None, stream)
    return found


def creation_events() -> tuple[type, ...]:
    """The events that create the aggregates pages list by kind (a person's sign-in
    links, a programme's messages, the tokens, the reminder schedules; the participants
    the mail address index adds). Each has a partial
    index of the log's rows with its topic (``create_indexes``), so finding them reads
    those rows only; read by topic through the recorder, they scanned the whole log (46 ms
    at 204k events for 17 links, growing with the store; ADR 0032)."""
    from domain.accounts import ApiToken, SignInLink
    from domain.mail import MailMessage, ReminderSchedule
    from domain.model import Participant

    return (SignInLink.Issued, ApiToken.Issued, MailMessage.Queued,
            ReminderSchedule.Scheduled, Participant.Enrolled)


_SAFE_TOPIC = re.compile(r"^[A-Za-z0-9_.:]+$")


def _topic_literal(created_event: type) -> str:
    """The event's topic as an SQL literal (the partial indexes are used only by a query
    that names their topic itself, not as a parameter); topics are our class names."""
    topic = get_topic(created_event)
    if not _SAFE_TOPIC.match(topic):
        raise ValueError(f"unexpected topic {topic!r}")
    return f"'{topic}'"


def _events_table(app: Any) -> tuple[str, str]:
    """The log's table (qualified) and its position column."""
    name = app.recorder.events_table_name
    table = name if "." in name else app.sql.table(name)
    return table, ("notification_id" if app.sql.postgres else "rowid")


def create_indexes(app: Any) -> None:
    """The partial indexes of ``creation_events`` (``framdrift migrate``; idempotent).
    An index holds the rows of its topic only, so the other events' inserts do not
    touch it."""
    table, position = _events_table(app)
    bare = app.recorder.events_table_name.split(".")[-1]
    with app.sql.transaction() as cur:
        for created_event in creation_events():
            name = re.sub(r"[^a-z0-9]+", "_", f"{bare}_{created_event.__qualname__}".lower())
            column = position if app.sql.postgres else "topic"  # (SQLite: rowid is implied)
            cur.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column}) "
                        f"WHERE topic = {_topic_literal(created_event)}")


def creation_rows(app: Any, created_event: type,
                  after: int = 0) -> Iterator[tuple[int, UUID, int, bytes]]:
    """(position, aggregate id, version, stored state) of the log's ``created_event``
    rows after ``after``, in log order, a page at a time (through the event's partial
    index when it is one of ``creation_events``)."""
    table, position = _events_table(app)
    literal = _topic_literal(created_event)
    while True:
        rows = app.sql.query(
            f"SELECT {position} AS position, originator_id, originator_version, state "
            f"FROM {table} WHERE topic = {literal} AND {position} > ? "
            f"ORDER BY {position} LIMIT {CHUNK}", [after])
        if not rows:
            return
        for row in rows:
            oid, state = row["originator_id"], row["state"]
            yield (int(row["position"]), oid if isinstance(oid, UUID) else UUID(str(oid)),
                   int(row["originator_version"]),
                   state if isinstance(state, bytes) else bytes(state))
        after = int(rows[-1]["position"])


def created_where(app: Any, created_event: type,
                  match: Callable[[Any], bool] | None = None) -> list[UUID]:
    """Ids of the aggregates created with ``created_event`` whose creating event
    matches ``match`` (e.g. one programme's messages, one person's links), oldest first: the
    creating events are read by topic and decoded, never the aggregates themselves, so a
    page about one course does not load every message or link of the store."""
    to_domain_event = app.mapper.to_domain_event
    topic = get_topic(created_event)
    ids: list[UUID] = []
    for _position, oid, version, state in creation_rows(app, created_event):
        if match is None or match(to_domain_event(StoredEvent(
                originator_id=oid, originator_version=version, topic=topic, state=state))):
            ids.append(oid)
    return list(dict.fromkeys(ids))
