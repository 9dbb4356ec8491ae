"""Tamper evidence, backup and move for the event log.

:class:`LogChain` keeps a hash chain over the stored events in log order, in
``framdrift_log_chain`` beside the event table: ``h(n) = sha256(h(n-1) | event n)``
over the stored bytes (still encrypted where they are encrypted), so erasure,
which deletes keys and not events, never breaks it. The chain is extended after
every save and by ``framdrift verify``; ``verify`` recomputes it from the start
and names the first position whose stored event no longer matches. When
``FRAMDRIFT_CHAIN_KEY`` is set, each link is also signed (HMAC), so rewriting
the chain along with the events is detected too.

:func:`export_log` / :func:`import_log` copy the whole log as NDJSON (plus the
data keys in a separate file) into an empty store, SQLite or PostgreSQL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from domain.privacy import ERASED_TABLE, KEY_TABLE

CHAIN_TABLE = "framdrift_log_chain"
GENESIS = "0" * 64
BATCH = 2000


def link_hash(previous: str, seq: int, n: Any) -> str:
    """One link of the chain: the previous hash, the sequence number and the stored event."""
    digest = hashlib.sha256()
    digest.update(previous.encode("ascii"))
    digest.update(f"|{seq}|{n.originator_id}|{n.originator_version}|{n.topic}|".encode())
    digest.update(bytes(n.state))
    return digest.hexdigest()


@dataclass
class VerifyReport:
    ok: bool
    events: int
    sealed: int
    newly_sealed: int
    first_bad_position: int | None = None
    reason: str = ""


class LogChain:
    def __init__(self, app: Any):
        self.app = app
        self.sql = app.sql
        key = os.environ.get("FRAMDRIFT_CHAIN_KEY", "")
        self.key = key.encode() if key else None

    def create_table(self) -> None:
        with self.sql.transaction() as cur:
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {self.sql.table(CHAIN_TABLE)} ("
                "seq BIGINT PRIMARY KEY, position BIGINT NOT NULL, hash TEXT NOT NULL, "
                "mac TEXT)"
            )

    def _mac(self, digest: str) -> str | None:
        if self.key is None:
            return None
        return hmac.new(self.key, digest.encode("ascii"), hashlib.sha256).hexdigest()

    def head(self) -> tuple[int, int, str]:
        """(seq, position, hash) of the last sealed event, or the genesis."""
        rows = self.sql.query(
            f"SELECT seq, position, hash FROM {self.sql.table(CHAIN_TABLE)} "
            "ORDER BY seq DESC LIMIT 1"
        )
        if not rows:
            return 0, 0, GENESIS
        return int(rows[0]["seq"]), int(rows[0]["position"]), rows[0]["hash"]

    def extend(self) -> int:
        """Seal the events recorded since the last link. Safe to run concurrently.

        The chain is a function of the log, so two processes extending at once
        compute the same links and the second insert of a link is ignored.
        """
        seq, position, previous = self.head()
        added = 0
        while True:
            notifications = self.app.recorder.select_notifications(
                start=position, limit=BATCH, inclusive_of_start=False
            )
            if not notifications:
                return added
            rows = []
            for n in notifications:
                seq += 1
                previous = link_hash(previous, seq, n)
                rows.append((seq, n.id, previous, self._mac(previous)))
                position = n.id
            with self.sql.transaction() as cur:
                cur.executemany(
                    f"INSERT INTO {self.sql.table(CHAIN_TABLE)} (seq, position, hash, mac) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (seq) DO NOTHING",
                    rows,
                )
            added += len(rows)

    def verify(self, *, seal: bool = True,
               progress: Callable[[int], None] | None = None) -> VerifyReport:
        """Recompute the chain from the first event; report the first mismatch."""
        previous, seq, position = GENESIS, 0, 0
        sealed = 0
        stored = self._stored_links()
        link = next(stored, None)
        while True:
            notifications = self.app.recorder.select_notifications(
                start=position, limit=BATCH, inclusive_of_start=False
            )
            if not notifications:
                break
            for n in notifications:
                seq += 1
                previous = link_hash(previous, seq, n)
                position = n.id
                if link is None:
                    continue  # not sealed yet
                if int(link["seq"]) != seq or int(link["position"]) != n.id:
                    return VerifyReport(
                        False, seq, sealed, 0, n.id,
                        f"the chain expected the event at position {link['position']} "
                        f"as number {link['seq']}, the log has position {n.id}: "
                        "an event was removed or inserted",
                    )
                if link["hash"] != previous:
                    return VerifyReport(
                        False, seq, sealed, 0, n.id,
                        f"the event at position {n.id} does not match its sealed hash",
                    )
                if self.key is not None and link["mac"] != self._mac(previous):
                    return VerifyReport(
                        False, seq, sealed, 0, n.id,
                        f"the chain link for position {n.id} is not signed with the chain key",
                    )
                sealed += 1
                link = next(stored, None)
            if progress:
                progress(len(notifications))
        if link is not None:
            return VerifyReport(
                False, seq, sealed, 0, int(link["position"]),
                f"the chain has a link for position {link['position']} that the log lacks: "
                "an event was removed",
            )
        added = self.extend() if seal else 0
        return VerifyReport(True, seq, sealed, added)

    def _stored_links(self) -> Iterator[dict[str, Any]]:
        after = 0
        while True:
            rows = self.sql.query(
                f"SELECT seq, position, hash, mac FROM {self.sql.table(CHAIN_TABLE)} "
                "WHERE seq > ? ORDER BY seq LIMIT ?",
                (after, BATCH),
            )
            if not rows:
                return
            yield from rows
            after = int(rows[-1]["seq"])


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


def import_log(app: Any, events_in: IO[str], keys_in: IO[str] | None = None,
               progress: Callable[[int], None] | None = None) -> int:
    """Restore an export into an EMPTY store, in the same order. Returns the event count."""
    if app.recorder.max_notification_id():
        raise ImportError_("the target store already has events; import needs an empty store")
    if keys_in is not None:
        with app.sql.transaction() as cur:
            for number, line in enumerate(keys_in, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    if "data_key" in row:
                        cur.execute(
                            f"INSERT INTO {app.sql.table(KEY_TABLE)} "
                            "(subject_id, data_key, created_at) VALUES (?, ?, ?)",
                            (row["subject_id"], base64.b64decode(row["data_key"]),
                             row["created_at"]),
                        )
                    else:
                        cur.execute(
                            f"INSERT INTO {app.sql.table(ERASED_TABLE)} (subject_id, erased_at) "
                            "VALUES (?, ?)", (row["subject_id"], row["erased_at"]),
                        )
                except (ValueError, KeyError, TypeError) as e:
                    raise ImportError_(f"keys line {number}: {e}") from None
    expected, batch, count = 1, [], 0
    for number, line in enumerate(events_in, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if row["seq"] != expected:
                raise ValueError(f"expected seq {expected}, found {row['seq']}")
            batch.append(StoredEvent(
                originator_id=UUID(row["originator_id"]),
                originator_version=int(row["originator_version"]),
                topic=str(row["topic"]),
                state=base64.b64decode(row["state"]),
            ))
        except (ValueError, KeyError, TypeError) as e:
            raise ImportError_(f"events line {number}: {e}") from None
        expected += 1
        if len(batch) >= BATCH:
            app.recorder.insert_events(batch)
            count += len(batch)
            if progress:
                progress(len(batch))
            batch = []
    if batch:
        app.recorder.insert_events(batch)
        count += len(batch)
        if progress:
            progress(len(batch))
    return count
