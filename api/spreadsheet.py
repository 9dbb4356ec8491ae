"""CSV that is safe to open in a spreadsheet: the one CSV writer of every export.

Web downloads (``api.replay``), the API's ``format=csv`` (``api.rest``) and
``framdrift export`` (``api.replay_commands`` via ``api.replay.export_body``) all write
CSV through :func:`write_csv`, so no writer can forget the rule below.

The rule (OWASP, "CSV Injection"): a spreadsheet reads a cell that begins with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return as a formula (``=HYPERLINK(...)``,
``@SUM(...)``, ``-2+3``, DDE's ``=cmd|...``). Such a cell is written with a single quote
``'`` in front, which spreadsheets show as text and do not evaluate. Precisely, a cell
is prefixed when:

- its first character is one of ``= + - @``, a tab (U+0009) or a carriage return
  (U+000D), or the full-width forms ``＝ ＋ － ＠`` (which some spreadsheets in East
  Asian locales also take as a formula sign); or
- it begins with white space (including a line feed) followed by one of those, since a
  spreadsheet told to trim spaces on import would otherwise see the formula sign first.

Left as they are, because a spreadsheet reads them as values and nothing else: plain
numbers such as ``-3``, ``+4``, ``-2.5``, ``-0,5`` or ``-1e3`` (ASCII digits, an
optional sign, decimal point or comma and exponent; the whole cell), and everything
that does not begin with a formula sign (ISO dates and times, ids, pseudonyms, words).
The prefix is a visible change to the text (``'=1+1``): a reader of the file who wants
the text exactly as typed uses the NDJSON export, which is never altered.

Cells are otherwise written as ``csv.writer`` writes them (quoted when they hold the
separator, a quote or a line break; CRLF between rows). Every CSV starts with a UTF-8
byte-order mark (so that Excel reads å, ä, ö as written) and is comma-separated unless
``;`` is asked for (``sep=semicolon``: what Excel in a Swedish locale splits on).

The ``.xlsx`` workbook (:func:`write_xlsx`) holds the same rows with typed cells: numbers
as numbers, true/false as booleans, dates and times as real dates (timezone-naive, in the
site's time zone FRAMDRIFT_TIMEZONE), and text as text. The same rule decides which text
cells a spreadsheet would take for a formula; in a workbook such a cell keeps its text
exactly as written, stored as a text cell (never a formula) with Excel's quote-prefix flag,
so it stays text when edited. A bold header row, frozen under the header, with a filter
and column widths to fit. Characters XML cannot hold (control characters other than tab
and line breaks, which the domain refuses anyway) are left out.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from typing import Any

FORMULA_SIGNS = frozenset("=+-@\t\r＝＋－＠")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]+)?|[.,][0-9]+)(?:[eE][+-]?[0-9]+)?")
_LEADING_SPACE = re.compile(r"[^\S\t\r]+")  # white space that is not itself a formula sign


def is_dangerous(text: str) -> bool:
    """Would a spreadsheet take this cell for a formula?"""
    if not text:
        return False
    if text[0] in FORMULA_SIGNS:
        return not _NUMBER.fullmatch(text)
    space = _LEADING_SPACE.match(text)
    if space is None:
        return False
    rest = text[space.end():]
    return bool(rest) and rest[0] in FORMULA_SIGNS and not _NUMBER.fullmatch(rest)


def safe_text(text: str) -> str:
    """``text`` as a spreadsheet shows it as text: prefixed with ``'`` when dangerous."""
    return "'" + text if is_dangerous(text) else text


def cell(value: Any) -> str:
    """One cell: None is empty, lists are joined with ``;``, mappings are JSON, and the
    result is made safe (:func:`safe_text`)."""
    return safe_text(_plain(value))


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ";".join(_plain(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


BOM = "\ufeff"
SEPARATORS = {"comma": ",", "semicolon": ";"}
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def write_csv(rows: Iterable[dict[str, Any]], columns: list[str], *, sep: str = "comma",
              bom: bool = True) -> str:
    """A CSV document (a header row, then one row per mapping, in ``columns`` order)
    whose every cell is spreadsheet-safe; with a byte-order mark, separated by ``sep``
    (``comma`` or ``semicolon``)."""
    out = io.StringIO()
    if bom:
        out.write(BOM)
    writer = csv.writer(out, delimiter=SEPARATORS.get(sep, sep), lineterminator="\r\n")
    writer.writerow([safe_text(c) for c in columns])
    for row in rows:
        writer.writerow([cell(row.get(c)) for c in columns])
    return out.getvalue()


# ----------------------------------------------------------------------------- xlsx

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}.*")
_TIME_COLUMNS = frozenset({"time", "event_time", "planned_at", "created_at", "identified_at",
                           "issued_on", "revoked_on"})
MAX_WIDTH = 60


def is_time_column(name: str) -> bool:
    """Columns that hold dates or times (written as dates in a workbook)."""
    return name in _TIME_COLUMNS or name.endswith(("_at", "_on", "_time"))


def _moment(value: Any, zone: Any) -> Any:
    """A date or date-time for a spreadsheet: dates as dates, times in ``zone`` without
    their offset (spreadsheets have no time zones); None when it is not one."""
    from datetime import UTC, date, datetime

    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return value
    elif isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    elif isinstance(value, str) and _DATE_TIME.fullmatch(value):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).replace(tzinfo=None)


def time_zone() -> Any:
    """The site's time zone (FRAMDRIFT_TIMEZONE, default Europe/Stockholm)."""
    import os
    from zoneinfo import ZoneInfo

    return ZoneInfo(os.environ.get("FRAMDRIFT_TIMEZONE") or "Europe/Stockholm")


def write_xlsx(rows: Iterable[dict[str, Any]], columns: list[str], *,
               sheet: str = "data", zone: Any = None) -> bytes:
    """An .xlsx workbook of ``rows``: one sheet, a bold and frozen header row, typed cells
    (see the module's docstring)."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    zone = zone or time_zone()
    book = Workbook()
    ws = book.active
    ws.title = re.sub(r"[\\/?*\[\]:]", "-", sheet)[:31] or "data"
    bold = Font(bold=True)
    widths = [len(c) for c in columns]

    def put(r: int, c: int, value: Any, column: str | None) -> None:
        target = ws.cell(row=r, column=c)
        moment = _moment(value, zone) if column and is_time_column(column) else None
        if moment is not None:
            target.value = moment
            target.number_format = ("yyyy-mm-dd hh:mm:ss" if hasattr(moment, "hour")
                                    else "yyyy-mm-dd")
            width = 19 if hasattr(moment, "hour") else 10
        elif isinstance(value, bool) or (isinstance(value, (int, float)) and
                                         abs(value) < 1e15):
            target.value = value
            width = len(str(value))
        else:
            text = ILLEGAL_CHARACTERS_RE.sub("", _plain(value))
            target.value = text
            target.data_type = "s"  # text, never a formula (openpyxl reads '=...' as one)
            if is_dangerous(text):
                target.quotePrefix = True
            width = max((len(line) for line in text.splitlines()), default=0)
        widths[c - 1] = max(widths[c - 1], width)

    for c, name in enumerate(columns, start=1):
        put(1, c, name, None)
        ws.cell(row=1, column=c).font = bold
    count = 1
    for count, row in enumerate(rows, start=2):
        for c, name in enumerate(columns, start=1):
            value = row.get(name)
            if value is not None:
                put(count, c, value, name)
    for c, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(c)].width = min(MAX_WIDTH, width + 2)
    ws.freeze_panes = "A2"
    if columns:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(count, 1)}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# ---------------------------------------------------------------------- file names


def slug(text: str | None, limit: int = 40) -> str:
    """A file-name part: lower-case ASCII letters, digits and hyphens (å -> a, ö -> o)."""
    import unicodedata

    plain = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:limit].strip("-")


def file_name(programme: str | None, what: str, moment: Any, ext: str,
              position: int | None = None) -> str:
    """``framdrift-<programme>-<what>-<as of>[-p<position>].<ext>``: what is inside and as
    of when (the as-of moment to the minute, in the site's time zone)."""
    parts = ["framdrift"]
    if slug(programme):
        parts.append(slug(programme))
    parts.append(what)
    when = _moment(moment, time_zone()) if moment else None
    if when is not None:
        parts.append(when.strftime("%Y-%m-%dT%H%M") if hasattr(when, "hour")
                     else when.isoformat())
    if position is not None:
        parts.append(f"p{position}")
    return "-".join(parts) + f".{ext}"


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII ``filename`` and the RFC 5987 ``filename*`` (UTF-8)."""
    from urllib.parse import quote

    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_")
    ascii_name = ascii_name.replace('"', "_").replace("\\", "_")
    return (f'attachment; filename="{ascii_name}"; '
            f"filename*=UTF-8''{quote(filename, safe='')}")
