"""Personal data, sealed with a key per participant (crypto-shredding).

Names, contact details and everything a participant writes are wrapped in
:class:`PersonalData`. The one place they are turned into bytes is the
:class:`PersonalDataTranscoding`, which encrypts them with AES-GCM under the key
of the data subject (the participant). Keys live in ``framdrift_subject_keys``,
a table outside the event and snapshot tables. Erasing a participant deletes
their key: the events stay, byte for byte, but what was personal in them can no
longer be read, and decodes as :data:`ERASED`. See docs/adr/0002.
"""

from __future__ import annotations

import base64
import os
import threading
import time
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import Transcoding

from domain.store import Sql

KEY_TABLE = "framdrift_subject_keys"
ERASED_TABLE = "framdrift_erased_subjects"
ERASED = "[erased]"


class PersonalData:
    """A piece of personal data and whose it is; ``text is None`` once erased."""

    __slots__ = ("subject", "text")

    def __init__(self, subject: UUID, text: str | None):
        self.subject = subject
        self.text = text

    @property
    def erased(self) -> bool:
        return self.text is None

    def reveal(self, placeholder: str = ERASED) -> str:
        return self.text if self.text is not None else placeholder

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, PersonalData)
            and other.subject == self.subject
            and other.text == self.text
        )

    def __hash__(self) -> int:
        return hash((self.subject, self.text))

    def __repr__(self) -> str:
        # Never print personal data into logs or tracebacks.
        state = "erased" if self.erased else f"{len(self.text or '')} chars"
        return f"PersonalData(subject={self.subject}, {state})"


def reveal(value: Any, placeholder: str = ERASED) -> Any:
    """Plain text of a possibly-personal value, or the placeholder once erased."""
    if isinstance(value, PersonalData):
        return value.reveal(placeholder)
    return value


class SubjectErasedError(Exception):
    """A key was asked for a subject that has been erased."""


class KeyStore:
    """Per-subject data keys, kept outside the event tables so they can be deleted."""

    CACHE_SECONDS = 5.0

    def __init__(self, sql: Sql):
        self.sql = sql
        self._cache: dict[UUID, tuple[float, bytes | None]] = {}
        self._lock = threading.Lock()

    def create_tables(self) -> None:
        with self.sql.transaction() as cur:
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {self.sql.table(KEY_TABLE)} ("
                f"subject_id TEXT PRIMARY KEY, data_key {self.sql.blob} NOT NULL, "
                "created_at TEXT NOT NULL)"
            )
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {self.sql.table(ERASED_TABLE)} ("
                "subject_id TEXT PRIMARY KEY, erased_at TEXT NOT NULL)"
            )

    def key_for(self, subject: UUID, *, create: bool = False) -> bytes | None:
        """The subject's key; ``None`` if erased (or absent and ``create`` is false)."""
        now = time.monotonic()
        cached = self._cache.get(subject)
        if cached is not None and now - cached[0] < self.CACHE_SECONDS:
            if cached[1] is not None or not create:
                return cached[1]
        key = self._load(subject)
        if key is None and create:
            key = self._create(subject)
        with self._lock:
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[subject] = (now, key)
        return key

    def _load(self, subject: UUID) -> bytes | None:
        rows = self.sql.query(
            f"SELECT data_key FROM {self.sql.table(KEY_TABLE)} WHERE subject_id = ?",
            (str(subject),),
        )
        return bytes(rows[0]["data_key"]) if rows else None

    def _create(self, subject: UUID) -> bytes:
        key = AESGCM.generate_key(bit_length=256)
        with self.sql.transaction() as cur:
            erased = cur.query(
                f"SELECT 1 AS x FROM {self.sql.table(ERASED_TABLE)} WHERE subject_id = ?",
                (str(subject),),
            )
            if erased:
                raise SubjectErasedError(f"subject {subject} has been erased")
            cur.execute(
                f"INSERT INTO {self.sql.table(KEY_TABLE)} (subject_id, data_key, created_at) "
                "VALUES (?, ?, ?) ON CONFLICT (subject_id) DO NOTHING",
                (str(subject), key, _utcnow()),
            )
            rows = cur.query(
                f"SELECT data_key FROM {self.sql.table(KEY_TABLE)} WHERE subject_id = ?",
                (str(subject),),
            )
        return bytes(rows[0]["data_key"])

    def erase(self, subject: UUID) -> bool:
        """Delete the subject's key for good. Returns whether a key was deleted."""
        with self.sql.transaction() as cur:
            if not self.sql.postgres:
                # Overwrite the deleted key's bytes in the file (not just unlink them).
                cur.execute("PRAGMA secure_delete = ON")
            had = cur.query(
                f"SELECT 1 AS x FROM {self.sql.table(KEY_TABLE)} WHERE subject_id = ?",
                (str(subject),),
            )
            cur.execute(
                f"DELETE FROM {self.sql.table(KEY_TABLE)} WHERE subject_id = ?", (str(subject),)
            )
            cur.execute(
                f"INSERT INTO {self.sql.table(ERASED_TABLE)} (subject_id, erased_at) "
                "VALUES (?, ?) ON CONFLICT (subject_id) DO NOTHING",
                (str(subject), _utcnow()),
            )
        with self._lock:
            self._cache.pop(subject, None)
        if not self.sql.postgres:
            # ... and out of the write-ahead log, where the page with the key still is.
            try:
                self.sql.query("PRAGMA wal_checkpoint(TRUNCATE)")
            except Exception:  # noqa: BLE001 - best effort; the next checkpoint does it
                pass
        return bool(had)

    def is_erased(self, subject: UUID) -> bool:
        return bool(
            self.sql.query(
                f"SELECT 1 AS x FROM {self.sql.table(ERASED_TABLE)} WHERE subject_id = ?",
                (str(subject),),
            )
        )

    def forget_cache(self) -> None:
        with self._lock:
            self._cache.clear()


class PersonalDataTranscoding(Transcoding):
    """Encrypts :class:`PersonalData` with its subject's key as it is stored."""

    type = PersonalData
    name = "personal_data"

    def __init__(self, keys: KeyStore):
        self.keys = keys

    def encode(self, obj: PersonalData) -> dict[str, str]:
        if obj.text is None:
            return {"s": str(obj.subject), "c": ""}
        key = self.keys.key_for(obj.subject, create=True)
        assert key is not None
        nonce = os.urandom(12)
        sealed = AESGCM(key).encrypt(nonce, obj.text.encode("utf-8"), obj.subject.bytes)
        return {"s": str(obj.subject), "c": base64.b64encode(nonce + sealed).decode("ascii")}

    def decode(self, data: dict[str, str]) -> PersonalData:
        subject = UUID(data["s"])
        if not data["c"]:
            return PersonalData(subject, None)
        key = self.keys.key_for(subject)
        if key is None:
            return PersonalData(subject, None)
        raw = base64.b64decode(data["c"])
        try:
            text = AESGCM(key).decrypt(raw[:12], raw[12:], subject.bytes).decode("utf-8")
        except InvalidTag:
            return PersonalData(subject, None)
        return PersonalData(subject, text)


def _utcnow() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()
