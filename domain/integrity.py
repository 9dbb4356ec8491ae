"""Backup and move for the event log.

:func:`export_log` / :func:`import_log` copy the whole log as NDJSON (plus the
data keys in a separate file) into an empty store, SQLite or PostgreSQL. The
import goes through the application's recorder, so the restored log gets its hash
chain (domain/chain.py) as it is written, with the imported keys' digests.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import IO, Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from domain.privacy import ERASED_TABLE, KEY_TABLE

BATCH = 2000
#: Events a transaction on import (PostgreSQL: written with COPY).
IMPORT_BATCH = 10_000


# --------------------------------------------------------------------------- export/import


def export_log(app: Any, events_out: IO[str], keys_out: IO[str] | None = None,
               progress: Callable[[int], None] | None = None) -> int:
    """Write every stored event, in log order, as one JSON object a line.

    Lines carry a sequence number (not the store's position, which may have gaps),
    so an export of an import is identical to the original export.
    """
    seq, position = 0, 0
    while True:
        notifications = app.recorder.select_notifications(
            start=position, limit=BATCH, inclusive_of_start=False
        )
        if not notifications:
            break
        for n in notifications:
            seq += 1
            events_out.write(json.dumps({
                "seq": seq,
                "originator_id": str(n.originator_id),
                "originator_version": n.originator_version,
                "topic": n.topic,
                "state": base64.b64encode(bytes(n.state)).decode("ascii"),
            }, sort_keys=True) + "\n")
            position = n.id
        if progress:
            progress(len(notifications))
    if keys_out is not None:
        for row in app.sql.query(
            f"SELECT subject_id, data_key, created_at FROM {app.sql.table(KEY_TABLE)} "
            "ORDER BY subject_id"
        ):
            keys_out.write(json.dumps({
                "subject_id": row["subject_id"],
                "data_key": base64.b64encode(bytes(row["data_key"])).decode("ascii"),
                "created_at": row["created_at"],
            }, sort_keys=True) + "\n")
        for row in app.sql.query(
            f"SELECT subject_id, erased_at FROM {app.sql.table(ERASED_TABLE)} ORDER BY subject_id"
        ):
            keys_out.write(json.dumps(
                {"subject_id": row["subject_id"], "erased_at": row["erased_at"]}, sort_keys=True
            ) + "\n")
    return seq


class ImportError_(ValueError):
    """The import cannot go ahead (the target is not empty, or a line is malformed)."""


def _insert(app: Any, batch: list[StoredEvent]) -> None:
    """One transaction: COPY on PostgreSQL (``insert_events_in_chunks``), the recorder's
    own INSERT on SQLite; the chain links in the same transaction either way."""
    recorder = app.recorder
    if app.config.is_postgres and hasattr(recorder, "insert_events_in_chunks"):
        recorder.insert_events_in_chunks(batch, BATCH)
    else:
        recorder.insert_events(batch)


def import_log(app: Any, events_in: IO[str], keys_in: IO[str] | None = None,
               progress: Callable[[int], None] | None = None, *,
               batch: int = IMPORT_BATCH) -> int:
    """Restore an export into an EMPTY store, in the same order, ``batch`` events a
    transaction. Returns the event count; ``progress`` gets each batch's size."""
    if app.recorder.max_notification_id():
        raise ImportError_("the target store already has events; import needs an empty store")
    adopted: list[tuple[UUID, bytes]] = []
    if keys_in is not None:
        with app.sql.transaction() as cur:
            for number, line in enumerate(keys_in, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    if "data_key" in row:
                        data_key = base64.b64decode(row["data_key"])
                        cur.execute(
                            f"INSERT INTO {app.sql.table(KEY_TABLE)} "
                            "(subject_id, data_key, created_at) VALUES (?, ?, ?)",
                            (row["subject_id"], data_key, row["created_at"]),
                        )
                        adopted.append((UUID(row["subject_id"]), data_key))
                    else:
                        cur.execute(
                            f"INSERT INTO {app.sql.table(ERASED_TABLE)} (subject_id, erased_at) "
                            "VALUES (?, ?)", (row["subject_id"], row["erased_at"]),
                        )
                except (ValueError, KeyError, TypeError) as e:
                    raise ImportError_(f"keys line {number}: {e}") from None
    for subject, data_key in adopted:  # the first batch's chain link carries their digests
        app.keys.adopt(subject, data_key)
    size = batch
    expected, pending, count = 1, [], 0
    for number, line in enumerate(events_in, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if row["seq"] != expected:
                raise ValueError(f"expected seq {expected}, found {row['seq']}")
            pending.append(StoredEvent(
                originator_id=UUID(row["originator_id"]),
                originator_version=int(row["originator_version"]),
                topic=str(row["topic"]),
                state=base64.b64decode(row["state"]),
            ))
        except (ValueError, KeyError, TypeError) as e:
            raise ImportError_(f"events line {number}: {e}") from None
        expected += 1
        if len(pending) >= size:
            _insert(app, pending)
            count += len(pending)
            if progress:
                progress(len(pending))
            pending = []
    if pending:
        _insert(app, pending)
        count += len(pending)
        if progress:
            progress(len(pending))
    return count
