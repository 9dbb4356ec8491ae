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

from collections.abc import Callable, Iterable
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


def created_where(app: Any, created_event: type,
                  match: Callable[[Any], bool] | None = None) -> list[UUID]:
    """Ids of the aggregates created with ``created_event`` whose creating event
    matches ``match`` (e.g. one programme's messages, one person's links), oldest first: the
    creating events are read by topic and decoded, never the aggregates themselves, so a
    page about one course does not load every message or link of the store."""
    topics = [get_topic(created_event)]
    to_domain_event = app.mapper.to_domain_event
    ids: list[UUID] = []
    start = 1
    while True:
        page = app.recorder.select_notifications(start=start, limit=500, topics=topics)
        if not page:
            break
        ids.extend(n.originator_id for n in page
                   if match is None or match(to_domain_event(n)))  # None: every one
        start = page[-1].id + 1
    return list(dict.fromkeys(ids))
