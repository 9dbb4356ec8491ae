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
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
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


class MasterKeyError(RuntimeError):
    """The master key is missing, malformed, or does not open the stored data keys."""


MASTER_KEY_ENV = "FRAMDRIFT_MASTER_KEY"
MASTER_KEY_FILE_ENV = "FRAMDRIFT_MASTER_KEY_FILE"
WRAPPED = b"fdk1"  # a data key sealed with the master key: prefix + nonce + ciphertext
_WRAPPED_LEN = len(WRAPPED) + 12 + 32 + 16
_AFTER_WRAPPED = WRAPPED[:-1] + bytes([WRAPPED[-1] + 1])  # the first prefix after it


def _is_wrapped(stored: bytes) -> bool:
    return len(stored) == _WRAPPED_LEN and stored.startswith(WRAPPED)


def master_key_from_env(environ: Any = None, name: str = MASTER_KEY_ENV,
                        file_name: str | None = MASTER_KEY_FILE_ENV) -> bytes | None:
    """The master key (32 bytes, base64 in ``FRAMDRIFT_MASTER_KEY``, or in the file named by
    ``FRAMDRIFT_MASTER_KEY_FILE``, e.g. a container secret); None when neither is set.
    ``name`` / ``file_name``: other variables holding a key the same way."""
    environ = os.environ if environ is None else environ
    value, where = environ.get(name, ""), name
    path = environ.get(file_name, "") if file_name else ""
    if path and not value:
        where = f"{file_name} ({path})"
        try:
            with open(path, encoding="ascii") as f:
                value = f.read()
        except (OSError, UnicodeDecodeError) as e:
            raise MasterKeyError(f"{where}: cannot read it: {e}") from None
    value = value.strip()
    if not value:
        return None
    try:
        key = base64.b64decode(value, validate=True)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise MasterKeyError(
            f"{where} must be 32 random bytes in base64 (44 characters), e.g. from "
            "`framdrift keys new-master`")
    return key


def new_master_key() -> str:
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode("ascii")


class KeyStore:
    """Per-subject data keys, kept outside the event tables so they can be deleted."""

    CACHE_SECONDS = 5.0

    def __init__(self, sql: Sql, master: bytes | None = None):
        """``master``: when given, data keys are stored sealed with it (AES-GCM, the
        subject id as associated data), so the database alone cannot open what people
        wrote. Keys stored before a master key was set still open; ``wrap_all`` seals
        them."""
        self.sql = sql
        self.master = master
        self._cache: dict[UUID, tuple[float, bytes | None]] = {}
        self._lock = threading.Lock()
        self._held = threading.local()
        # Digests of keys this process created (or imported) that no chain link covers
        # yet: the next write of this application commits them in its transaction.
        self._uncommitted: dict[UUID, str] = {}

    @contextmanager
    def holding(self) -> Iterator[None]:
        """Within the block (this thread only), cached keys do not expire: a bulk load
        that encodes for minutes would otherwise look every subject's key up again every
        few seconds. (An erasure meanwhile makes what it writes unreadable anyway.)"""
        outer = getattr(self._held, "on", False)
        self._held.on = True
        try:
            yield
        finally:
            self._held.on = outer

    # sealing the data keys with the master key ----------------------------------

    @staticmethod
    def _aad(subject: UUID) -> bytes:
        return b"framdrift-data-key:" + subject.bytes

    def _seal(self, subject: UUID, key: bytes, master: bytes | None = None) -> bytes:
        master = self.master if master is None else master
        if master is None:
            return key
        nonce = os.urandom(12)
        return WRAPPED + nonce + AESGCM(master).encrypt(nonce, key, self._aad(subject))

    def _open(self, subject: UUID, stored: bytes) -> bytes:
        if not _is_wrapped(stored):
            return stored  # a plain data key (stored without a master key)
        if self.master is None:
            raise MasterKeyError(
                f"the data keys are sealed with a master key: set {MASTER_KEY_ENV} "
                f"(or {MASTER_KEY_FILE_ENV})")
        body = stored[len(WRAPPED):]
        try:
            return AESGCM(self.master).decrypt(body[:12], body[12:], self._aad(subject))
        except InvalidTag:
            raise MasterKeyError(
                f"{MASTER_KEY_ENV} does not open the data key of subject {subject}: "
                "not the master key these keys were sealed with") from None

    def counts(self) -> dict[str, int]:
        """How many data keys are stored sealed with a master key and how many plain."""
        rows = self.sql.query(f"SELECT subject_id, data_key FROM {self.sql.table(KEY_TABLE)}")
        sealed = sum(1 for r in rows if _is_wrapped(bytes(r["data_key"])))
        return {"sealed": sealed, "plain": len(rows) - sealed}

    def check(self) -> None:
        """Raise :class:`MasterKeyError` now, not at the first decryption, when sealed
        data keys exist and this process has no master key or a different one."""
        rows = self.sql.query(  # keys that start with the prefix (an index range)
            f"SELECT subject_id, data_key FROM {self.sql.table(KEY_TABLE)} "
            "WHERE data_key >= ? AND data_key < ? LIMIT 3", (WRAPPED, _AFTER_WRAPPED))
        for row in rows:
            if _is_wrapped(bytes(row["data_key"])):
                self._open(UUID(row["subject_id"]), bytes(row["data_key"]))
                return

    def wrap_all(self) -> tuple[int, int]:
        """Seal every plain data key with the master key, in one transaction; returns
        (sealed now, sealed already). Checks that every sealed key opens first."""
        if self.master is None:
            raise MasterKeyError(f"no master key: set {MASTER_KEY_ENV} first")
        return self._reseal(self.master, only_plain=True)

    def rewrap(self, new_master: bytes) -> int:
        """Seal every data key (sealed or plain) with ``new_master`` instead, in one
        transaction (all or none: a key the current master key cannot open stops it);
        from then on this store opens them with ``new_master``. Returns how many."""
        done, _ = self._reseal(new_master, only_plain=False)
        self.master = new_master
        return done

    def _reseal(self, target: bytes, *, only_plain: bool) -> tuple[int, int]:
        done = skipped = 0
        with self.sql.transaction() as cur:
            if not self.sql.postgres:
                cur.execute("PRAGMA secure_delete = ON")  # overwrite the old bytes
            rows = cur.query(f"SELECT subject_id, data_key FROM {self.sql.table(KEY_TABLE)}")
            for row in rows:
                subject, stored = UUID(row["subject_id"]), bytes(row["data_key"])
                key = self._open(subject, stored)  # raises on a wrong master key
                if only_plain and key is not stored:
                    skipped += 1
                    continue
                cur.execute(
                    f"UPDATE {self.sql.table(KEY_TABLE)} SET data_key = ? WHERE subject_id = ?",
                    (self._seal(subject, key, target), row["subject_id"]))
                done += 1
        self._checkpoint()
        self.forget_cache()
        return done, skipped

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
        if cached is not None and (now - cached[0] < self.CACHE_SECONDS
                                   or getattr(self._held, "on", False)):
            if cached[1] is not None or not create:
                return cached[1]
        deferred = getattr(self._held, "deferred", None)
        if create and deferred is not None:
            return self._defer(subject, deferred)
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
        return self._open(subject, bytes(rows[0]["data_key"])) if rows else None

    def _create(self, subject: UUID) -> bytes:
        key = AESGCM.generate_key(bit_length=256)
        sealed = self._seal(subject, key)
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
                (str(subject), sealed, _utcnow()),
            )
            rows = cur.query(
                f"SELECT data_key FROM {self.sql.table(KEY_TABLE)} WHERE subject_id = ?",
                (str(subject),),
            )
        stored = bytes(rows[0]["data_key"])
        if stored == sealed:  # ours, not a concurrent creator's: the chain must cover it
            with self._lock:
                self._uncommitted[subject] = key_digest(subject, key)
        return self._open(subject, stored)

    # keys of a bulk load, written together -------------------------------------------

    @contextmanager
    def deferring(self) -> Iterator[None]:
        """A bulk load of NEW subjects (``Framdrift.batch(fresh=True)``, this thread only):
        a key not in the cache is made in memory, without looking it up, and written
        with the others by :meth:`flush_deferred`, one statement for hundreds of keys
        instead of four round trips each. Keys the block made but never flushed are
        forgotten when it ends. Implies :meth:`holding`."""
        outer = getattr(self._held, "deferred", None)
        self._held.deferred = {} if outer is None else outer
        try:
            with self.holding():
                yield
        finally:
            if outer is None:
                pending, self._held.deferred = self._held.deferred, None
                with self._lock:
                    for subject in pending:
                        self._cache.pop(subject, None)

    def _defer(self, subject: UUID, deferred: dict[UUID, bytes]) -> bytes:
        key = deferred.get(subject)
        if key is None:
            key = deferred[subject] = AESGCM.generate_key(bit_length=256)
            with self._lock:
                self._cache[subject] = (time.monotonic(), key)
        return key

    def flush_deferred(self) -> bool:
        """Store the keys made in :meth:`deferring`, in one transaction. A subject
        that was erased raises :class:`SubjectErasedError` (nothing stored). A subject
        whose key was stored meanwhile (a load run again after it stopped between its
        keys and its events) keeps the stored key: the cache then holds that one and
        False is returned, so the caller encodes again before writing anything."""
        deferred = getattr(self._held, "deferred", None)
        if not deferred:
            return True
        table, erased_table = self.sql.table(KEY_TABLE), self.sql.table(ERASED_TABLE)
        subjects = list(deferred)
        stored: dict[UUID, bytes] = {}
        with self.sql.transaction() as cur:
            for at in range(0, len(subjects), 200):
                part = [str(s) for s in subjects[at : at + 200]]
                now = _utcnow()
                params: list[Any] = []
                for subject in subjects[at : at + 200]:
                    params += [str(subject), self._seal(subject, deferred[subject]), now]
                # The write first: on SQLite it takes the write lock (a read first could
                # not upgrade if another process wrote meanwhile).
                inserted = cur.query(
                    f"INSERT INTO {table} (subject_id, data_key, created_at) VALUES "
                    + ", ".join(["(?, ?, ?)"] * len(part))
                    + " ON CONFLICT (subject_id) DO NOTHING RETURNING subject_id", params)
                marks = ", ".join("?" * len(part))
                erased = cur.query(f"SELECT subject_id FROM {erased_table} "
                                   f"WHERE subject_id IN ({marks})", part)
                if erased:  # the transaction is rolled back: no key for them
                    raise SubjectErasedError(f"subject {erased[0]['subject_id']} has been erased")
                if len(inserted) != len(part):
                    ours = {row["subject_id"] for row in inserted}
                    others = [s for s in part if s not in ours]
                    marks = ", ".join("?" * len(others))
                    for row in cur.query(f"SELECT subject_id, data_key FROM {table} "
                                         f"WHERE subject_id IN ({marks})", others):
                        subject = UUID(row["subject_id"])
                        stored[subject] = self._open(subject, bytes(row["data_key"]))
        with self._lock:
            for subject, key in deferred.items():
                if subject in stored:
                    self._cache[subject] = (time.monotonic(), stored[subject])
                else:
                    self._uncommitted[subject] = key_digest(subject, key)
        deferred.clear()
        return not stored

    # coverage by the hash chain (domain/chain.py) -------------------------------------

    def take_uncommitted(self) -> dict[UUID, str]:
        """The digests of keys no chain link covers yet, handed to a write transaction
        (which gives them back with :meth:`give_back` if it does not commit)."""
        with self._lock:
            taken, self._uncommitted = self._uncommitted, {}
        return taken

    def give_back(self, taken: dict[UUID, str]) -> None:
        if taken:
            with self._lock:
                for subject, digest in taken.items():
                    self._uncommitted.setdefault(subject, digest)

    def digest_of_stored(self, subject: UUID, stored: bytes) -> str:
        """The digest of a stored key row's data key (opened with the master key if
        sealed; raises :class:`MasterKeyError` when that cannot be done)."""
        return key_digest(subject, self._open(subject, stored))

    def adopt(self, subject: UUID, stored: bytes) -> bool:
        """A key row written by an import: the chain should cover it as if created here.
        False when it cannot be opened (sealed, and no or another master key)."""
        try:
            digest = self.digest_of_stored(subject, stored)
        except MasterKeyError:
            return False
        with self._lock:
            self._uncommitted[subject] = digest
        return True

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
        self._checkpoint()
        return bool(had)

    def _checkpoint(self) -> None:
        """SQLite: move deleted/overwritten key pages out of the write-ahead log too."""
        if not self.sql.postgres:
            try:
                self.sql.query("PRAGMA wal_checkpoint(TRUNCATE)")
            except Exception:  # noqa: BLE001 - best effort; the next checkpoint does it
                pass

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

    #: Cipher objects kept, one per data key (a bulk load encrypts every field of a
    #: participant with the same key; setting up AES-GCM costs as much as encrypting).
    CIPHERS = 256

    def __init__(self, keys: KeyStore):
        self.keys = keys
        self._ciphers: dict[bytes, AESGCM] = {}

    def _cipher(self, key: bytes) -> AESGCM:
        cipher = self._ciphers.get(key)
        if cipher is None:
            if len(self._ciphers) >= self.CIPHERS:
                self._ciphers.clear()
            cipher = self._ciphers[key] = AESGCM(key)
        return cipher

    def encode(self, obj: PersonalData) -> dict[str, str]:
        if obj.text is None:
            return {"s": str(obj.subject), "c": ""}
        key = self.keys.key_for(obj.subject, create=True)
        assert key is not None
        nonce = os.urandom(12)
        sealed = self._cipher(key).encrypt(nonce, obj.text.encode("utf-8"), obj.subject.bytes)
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


def key_digest(subject: UUID, key: bytes) -> str:
    """What the hash chain records of a data key: a digest that names no key material
    (SHA-256 of a 256-bit random key, bound to its subject), so a key deleted or
    replaced without an erasure event is detected (``framdrift verify``)."""
    return hashlib.sha256(b"framdrift-data-key|" + subject.bytes + key).hexdigest()


def _utcnow() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()
