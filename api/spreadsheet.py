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

Cells are otherwise written as ``csv.writer`` writes them (quoted when they hold a comma,
a quote or a line break; CRLF between rows).
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


def write_csv(rows: Iterable[dict[str, Any]], columns: list[str]) -> str:
    """A CSV document (a header row, then one row per mapping, in ``columns`` order)
    whose every cell is spreadsheet-safe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_text(c) for c in columns])
    for row in rows:
        writer.writerow([cell(row.get(c)) for c in columns])
    return out.getvalue()
