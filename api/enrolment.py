"""Enrolling a cohort from a CSV list: parse, preview, enrol all or none.

Used by the researchers' page ``/r/programmes/<id>/participants/import`` and by
``framdrift participants import FILE --programme ID``; both show the same preview.

- The list is UTF-8 text (a byte-order mark is dropped), separated by commas, semicolons
  (what Excel writes in a Swedish locale) or tabs, with "quoted" fields. Columns: name,
  e-mail, role, unit; a header row is optional and recognised in Swedish and English
  (``namn;e-post;roll;enhet``), and then gives the order.
- Each row is checked by :class:`EnrolmentRow`, which IS the single enrolment form's
  schema (``api.web.forms.EnrolForm``) with the e-mail required and the unit named by
  its name or key, so the rules are written once. The preview also finds what one row
  alone cannot: the same e-mail address twice in the list, and addresses already
  enrolled in the programme.
- :func:`enrol` enrols the good rows in one transaction (``Framdrift.batch()``): all or
  none. Row *k* of a request gets the request id ``<request id>-<k>`` (so a resent form
  lands on the same participants), and a list enrolled again finds every address
  already enrolled (docs/adr/0012-bulk-enrolment.md).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _ln

from api.web.forms import EnrolForm, Line, flatten
from domain import errors
from domain.application import Framdrift
from domain.model import record_id_for

MAX_BYTES = 1_000_000
MAX_ROWS = 1000
COLUMNS = ("name", "email", "role", "unit")

# Header words (compared case-, space- and hyphen-insensitively) -> column.
HEADERS = {
    "name": "name", "namn": "name", "fullname": "name", "fullständigtnamn": "name",
    "förochefternamn": "name", "deltagare": "name", "participant": "name",
    "email": "email", "epost": "email", "mail": "email", "emailaddress": "email",
    "epostadress": "email", "mailadress": "email",
    "role": "role", "roll": "role",
    "unit": "unit", "enhet": "unit", "förvaltning": "unit", "förvaltningbolag": "unit",
    "förvaltningellerbolag": "unit", "organisation": "unit",
}
# Role words of a list (Swedish and English) -> the role's key.
ROLE_WORDS = {"manager": "manager", "chef": "manager", "ledare": "manager",
              "expert": "expert", "sakkunnig": "expert", "specialist": "expert"}


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _word(text: str) -> str:
    return re.sub(r"[\s_\-.:/]+", "", unicodedata.normalize("NFC", text).casefold())


class ListError(ValueError):
    """The list as a whole cannot be read (encoding, size, header); nothing is checked."""


def decode(data: bytes) -> str:
    """A file's bytes as text: UTF-8, with or without a byte-order mark."""
    if len(data) > MAX_BYTES:
        raise ListError(str(_l("The list is larger than 1 MB. Split it into smaller lists.")))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ListError(str(_l("The file is not UTF-8 text. In Excel, save it as "
                               "\"CSV UTF-8\"."))) from None


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


# ----------------------------------------------------------------- row schema


class UnitName(ma.fields.String):
    """A unit of the programme, named by its name or its key (any case)."""

    def __init__(self, units: list[dict[str, str]], **kwargs: Any):
        self.units = units
        super().__init__(required=True, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text:
            raise ma.ValidationError(str(_l("Fill in this field.")))
        wanted = _word(text)
        for unit in self.units:
            if wanted in (_word(unit["key"]), _word(unit["name"])):
                return unit["key"]
        names = ", ".join(u["name"] for u in self.units) or "-"
        raise ma.ValidationError(str(_l(
            "Unknown unit \"%(unit)s\". The programme's units: %(names)s.",
            unit=text[:60], names=names)))


class RoleWord(ma.fields.String):
    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not text.strip():
            raise ma.ValidationError(str(_l("Fill in this field.")))
        role = ROLE_WORDS.get(_word(text))
        if role is None:
            raise ma.ValidationError(str(_l("Write manager (chef) or expert.")))
        return role


class EnrolmentRow(EnrolForm):
    """One row of a list: the single enrolment form's fields and rules (name, e-mail,
    role, unit), without its request id and link days; the e-mail is required (it tells
    the rows and the people enrolled apart), the role may be a Swedish word and the
    unit its name."""

    class Meta:
        exclude = ("request_id", "days")
        unknown = ma.EXCLUDE

    email = Line(required=True, limit=254)
    role = RoleWord(required=True)



def row_schema(units: list[dict[str, str]]) -> EnrolmentRow:
    """The row schema of one programme (its units)."""
    return type("ProgrammeEnrolmentRow", (EnrolmentRow,), {"unit": UnitName(units)})()


# -------------------------------------------------------------------- preview


@dataclass
class Row:
    line: int  # the line of the list the row starts on (1 = the first line)
    values: dict[str, str]  # as written (trimmed)
    data: dict[str, Any] = field(default_factory=dict)  # checked: name, email, role, unit
    errors: dict[str, list[str]] = field(default_factory=dict)  # field -> messages

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def shown(self) -> dict[str, str]:
        """The values as written, for a page: control characters as \ufffd."""
        return {k: _CONTROL.sub("\ufffd", v) for k, v in self.values.items()}


@dataclass
class Preview:
    rows: list[Row]
    header: bool = False
    delimiter: str = ","

    @property
    def good(self) -> list[Row]:
        return [r for r in self.rows if r.ok]

    @property
    def bad(self) -> list[Row]:
        return [r for r in self.rows if not r.ok]


def _header(cells: list[str]) -> list[str] | None:
    """The columns a header row names, or None when the row is not a header."""
    named = [HEADERS.get(_word(c)) for c in cells]
    if sum(1 for n in named if n) < 2:
        return None
    missing = [c for c in COLUMNS if c not in named]
    if missing:
        labels = {"name": _l("name"), "email": _l("e-mail"), "role": _l("role"),
                  "unit": _l("unit")}
        raise ListError(str(_l("The header row has no column for: %(columns)s.",
                               columns=", ".join(str(labels[c]) for c in missing))))
    return [n or "" for n in named]


def parse(text: str) -> tuple[list[tuple[int, list[str]]], bool, str]:
    """The rows of a list: ``([(line, cells)], has_header, delimiter)``; columns in the
    order name, e-mail, role, unit unless a header row names them."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ListError(str(_l("The list is larger than 1 MB. Split it into smaller lists.")))
    text = text.lstrip("\ufeff")
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    delimiter = _delimiter(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"',
                        skipinitialspace=True, strict=False)
    rows: list[tuple[int, list[str]]] = []
    columns: list[str] | None = None
    header = False
    line = 1
    try:
        for cells in reader:
            start, line = line, reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue
            if columns is None:
                columns = _header(cells)
                if columns is not None:
                    header = True
                    continue
                columns = list(COLUMNS)
            if len(rows) >= MAX_ROWS:
                raise ListError(str(_l("The list has more than %(n)s rows. Split it into "
                                       "smaller lists.", n=MAX_ROWS)))
            rows.append((start, cells if not header else _reorder(cells, columns)))
    except csv.Error as e:
        raise ListError(str(_l("The list cannot be read near line %(line)s (%(reason)s).",
                               line=reader.line_num, reason=str(e)))) from None
    return rows, header, delimiter


def _reorder(cells: list[str], columns: list[str]) -> list[str]:
    by_name = {c: cells[i] if i < len(cells) else "" for i, c in enumerate(columns) if c}
    return [by_name.get(c, "") for c in COLUMNS] + [
        c for i, c in enumerate(cells) if i >= len(columns) and c.strip()]


def preview(text: str, units: list[dict[str, str]],
            enrolled_emails: set[str] | None = None) -> Preview:
    """Check every row of a list; raises :class:`ListError` for a list that cannot be
    read at all. ``enrolled_emails``: the programme's addresses (case-folded)."""
    parsed, header, delimiter = parse(text)
    schema = row_schema(units)
    seen: dict[str, int] = {}
    rows = []
    for line, cells in parsed:
        values = {c: (cells[i].strip() if i < len(cells) else "")
                  for i, c in enumerate(COLUMNS)}
        row = Row(line, values)
        if len([c for c in cells if c.strip()]) > len(COLUMNS) and any(
                c.strip() for c in cells[len(COLUMNS):]):
            row.errors["_row"] = [str(_l(
                "Too many columns (%(n)s): give name, e-mail, role and unit.", n=len(cells)))]
        try:
            row.data = schema.load(values)
        except ma.ValidationError as e:
            row.errors.update(flatten(e.messages))
        email = (row.data.get("email") or values["email"]).casefold()
        if email and "email" not in row.errors:
            if email in seen:
                row.errors["email"] = [str(_l("The same e-mail address as on line %(line)s.",
                                              line=seen[email]))]
            elif enrolled_emails and email in enrolled_emails:
                row.errors["email"] = [str(_l("Already enrolled in this programme (the same "
                                              "e-mail address)."))]
            seen.setdefault(email, line)
        rows.append(row)
    return Preview(rows, header=header, delimiter=delimiter)


def enrolled_emails(app: Framdrift, programme_id: str) -> set[str]:
    """The e-mail addresses (case-folded) of the programme's participants (not erased)."""
    from api.web.common import participants_of

    return {p["email"].casefold() for p in participants_of(app, programme_id)
            if p["email"] and not p["erased"]}


# -------------------------------------------------------------------- enrolling


def row_request_id(request_id: str, k: int) -> str:
    return f"{request_id}-{k}"


def sent_before(app: Framdrift, request_id: str) -> list[str]:
    """The participants an earlier try of this request enrolled (all or none: so either
    every row of it, or nothing)."""
    found = []
    k = 1
    while app._contains(record_id_for("participant", row_request_id(request_id, k))):
        found.append(str(record_id_for("participant", row_request_id(request_id, k))))
        k += 1
    return found


ENROL_ATTEMPTS = 5


class AlreadyEnrolledError(errors.DomainError):
    """Rows of the list whose address was enrolled in the programme after the preview,
    by another list sent at the same time (ADR 0022): nothing of this list is enrolled."""

    field = "csv"

    def __init__(self, lines: list[int]):
        self.lines = lines
        super().__init__(str(_ln(
            "Already enrolled in the programme (by a list sent at the same time): line "
            "%(lines)s. Nothing was enrolled.",
            "Already enrolled in the programme (by a list sent at the same time): lines "
            "%(lines)s. Nothing was enrolled.",
            len(lines), lines=", ".join(str(n) for n in lines))), field="csv")


def enrol(app: Framdrift, programme_id: str, rows: list[Row], request_id: str,
          *, checked_at: int | None = None) -> list[str]:
    """Enrol the rows in ONE transaction (all or none); ids of the participants, in the
    order of the rows. A retry of the same request enrols nobody twice.

    Two lists enrolled at once (two researchers, two forms) both passed their preview
    before either was saved. So the programme's version is read first, the rows are
    checked against who is enrolled now, and the transaction also records
    ``Programme.CohortEnrolled`` at the next version: of two lists the second one's save
    conflicts, and it checks again. Rows enrolled meanwhile: :class:`AlreadyEnrolledError`
    (422, naming their lines). Another change of the programme only: enrol again, up to
    ``ENROL_ATTEMPTS`` times (docs/adr/0022-concurrent-writes.md).

    ``checked_at``: the programme's version the caller read BEFORE its preview checked the
    rows against who is enrolled; the first try then needs no second check."""
    done = sent_before(app, request_id)
    if done:  # this very request was enrolled before (all or none: every row)
        return done
    for attempt in range(ENROL_ATTEMPTS):
        if attempt == 0 and checked_at is not None:
            version = checked_at
        else:
            version = app.get_programme(programme_id)["version"]
            taken = enrolled_emails(app, programme_id)  # read AFTER the version
            clash = [r.line for r in rows if r.data["email"].casefold() in taken]
            if clash:
                raise AlreadyEnrolledError(clash)
        try:
            with app.batch():
                ids = enrol_rows(app, programme_id, rows, request_id)
                app.note_cohort_enrolled(programme_id, size=len(ids),
                                         expected_version=version, request_id=request_id)
            return ids
        except errors.ConcurrentChangeError:
            if attempt == ENROL_ATTEMPTS - 1 or sent_before(app, request_id):
                raise  # the same form's own other try: the callers answer as it did
    raise AssertionError("unreachable")  # pragma: no cover


def enrol_rows(app: Framdrift, programme_id: str, rows: list[Row], request_id: str) -> list[str]:
    """The participants' events of one list, inside the caller's ``batch()``."""
    return [str(app.enrol_participant(
        programme_id, name=r.data["name"], email=r.data["email"], role=r.data["role"],
        unit=r.data["unit"], request_id=row_request_id(request_id, k)))
        for k, r in enumerate(rows, start=1)]
