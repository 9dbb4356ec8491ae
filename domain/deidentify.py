"""De-identified export rows, for publication and evaluators (docs/adr/0004).

:func:`deidentify` takes export rows (dicts) and

- leaves out free text: the fields named in :data:`FREE_TEXT_FIELDS` (what participants
  write, and generated summaries, which may name dates), and any value that is still
  :class:`~domain.privacy.PersonalData`;
- leaves out direct links back to the event log that would undo the shift
  (:data:`DROPPED_FIELDS`: participant ids and log positions);
- shifts every date and time by a whole number of days that is the same for all rows
  of one participant (so the order of a participant's own events, the gaps between them
  and their course ``week`` are kept) and differs between participants: a deterministic
  offset in ``[-max_days, +max_days]`` (never 0), derived with HMAC-SHA256 from a secret
  (``FRAMDRIFT_SECRET_KEY`` or an explicit ``salt``) and the participant (keyed by the
  pseudonym derived from their id, so rows carrying either agree). Rows with no
  participant (programme facts) are shifted by the programme's own offset. This is
  what REDCap's de-identified export does with its date shifting.

Pseudonyms (``P-xxxxxx``) stay: they are stable and not names. The same secret gives the
same offsets in every export, so exports made at different times can be joined; a
different secret gives unrelated offsets.

For the analysis exports: ``export_rows(rows, deidentified=True)``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from domain.model import pseudonym_for
from domain.privacy import PersonalData

DEFAULT_MAX_DAYS = 30
SECRET_ENV = "FRAMDRIFT_SECRET_KEY"

FREE_TEXT_FIELDS = frozenset({
    # what participants write (see domain/model.py), and reasons
    "example", "deficiency", "solutions", "statement", "rationale", "aim", "change",
    "prediction", "measure", "result", "learning", "description", "note", "notes", "text",
    "reason", "observations", "applications", "name", "email", "with_text",
    # generated one-line summaries may name dates and titles
    "summary",
})
DROPPED_FIELDS = frozenset({"participant_id", "position", "actor_id"})
# Which field names a row's participant: the first one present and not empty.
SUBJECT_FIELDS = ("participant_id", "participant", "pseudonym")
PROGRAMME_FIELDS = ("programme_id", "programme")

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")


class DeidentifyError(ValueError):
    """De-identification cannot be done safely (no secret)."""


def _secret(salt: str | bytes | None) -> bytes:
    if salt is None:
        salt = os.environ.get(SECRET_ENV) or None
    if not salt:
        raise DeidentifyError(
            f"a de-identified export needs a secret: set {SECRET_ENV} or give a salt "
            "(without one, the date shifts could be recomputed by anyone)"
        )
    return salt.encode("utf-8") if isinstance(salt, str) else bytes(salt)


def date_offset(subject: Any, *, salt: str | bytes | None = None,
                max_days: int = DEFAULT_MAX_DAYS) -> int:
    """The subject's shift in days: deterministic, in ``[-max_days, max_days]``, never 0."""
    if max_days < 1:
        raise DeidentifyError("max_days must be at least 1")
    digest = hmac.new(_secret(salt), str(subject).encode("utf-8"), hashlib.sha256).digest()
    n = int.from_bytes(digest[:8], "big") % (2 * max_days)  # 0 .. 2N-1
    return n - max_days if n < max_days else n - max_days + 1  # -N..-1, 1..N


def shift(value: Any, days: int) -> Any:
    """A date, datetime or ISO string moved by ``days``; anything else unchanged."""
    if isinstance(value, datetime | date):
        return value + timedelta(days=days)
    if isinstance(value, str) and _ISO.match(value.strip()):
        text = value.strip()
        try:
            if len(text) == 10:
                return (date.fromisoformat(text) + timedelta(days=days)).isoformat()
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return value
        shifted = (moment + timedelta(days=days)).isoformat()
        if text.endswith("Z") and shifted.endswith("+00:00"):
            shifted = shifted[:-6] + "Z"
        if " " in text[:11] and "T" not in text:
            shifted = shifted.replace("T", " ", 1)
        return shifted
    return value


def subject_of(row: Mapping[str, Any]) -> str:
    """Whose dates these are: the participant, else the programme, else everyone's.

    A participant is keyed by their pseudonym (computed from ``participant_id`` when a row
    has only the id), so rows with either get the same offset.
    """
    for key in SUBJECT_FIELDS:
        value = row.get(key)
        if value:
            if key == "participant_id":
                try:
                    value = pseudonym_for(value if isinstance(value, UUID) else UUID(str(value)))
                except ValueError:
                    pass
            return f"participant:{value}"
    for key in PROGRAMME_FIELDS:
        if row.get(key):
            return f"programme:{row[key]}"
    return "programme:"


def deidentify_row(row: Mapping[str, Any], *, salt: str | bytes | None = None,
                   max_days: int = DEFAULT_MAX_DAYS,
                   free_text: Iterable[str] = FREE_TEXT_FIELDS,
                   dropped: Iterable[str] = DROPPED_FIELDS,
                   keep: Iterable[str] = ()) -> dict[str, Any]:
    """One row, de-identified (see the module's description). ``keep`` names fields
    to keep as they are (e.g. ``("position",)`` for an internal export)."""
    kept = set(keep)
    leave_out = (set(free_text) | set(dropped)) - kept
    days = date_offset(subject_of(row), salt=salt, max_days=max_days)
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key in leave_out or isinstance(value, PersonalData):
            continue
        out[key] = value if key in kept else shift(value, days)
    return out


def deidentify(rows: Iterable[Mapping[str, Any]], *, salt: str | bytes | None = None,
               max_days: int = DEFAULT_MAX_DAYS, **options: Any) -> Iterator[dict[str, Any]]:
    """De-identify export rows (lazily). Raises :class:`DeidentifyError` without a secret."""
    secret = _secret(salt)  # fail before the first row, not half-way through a file
    for row in rows:
        yield deidentify_row(row, salt=secret, max_days=max_days, **options)


def export_rows(rows: Iterable[Mapping[str, Any]], *, deidentified: bool = False,
                **options: Any) -> Iterable[Mapping[str, Any]]:
    """For the analysis exports: the rows as they are, or de-identified."""
    return deidentify(rows, **options) if deidentified else rows
