"""The researchers' printable programme report (``/r/programmes/<id>/report``, issue 12
item 8): the overview's panels, the development areas with quotes, and the lineage of each
capability in words (capability <- experiments <- decisions <- reflections, each with its
text, author and unit), laid out for the browser's "Print / Save as PDF" (report.css:
``@media print``).

The same rules as the overview and the replay apply: the overview's panels and quotes come
from ``overview_context`` (read models; quotes only from shared records of consenting
participants), the lineage texts and authors from the replay's ``record_texts`` and
``author_name`` (the download-with-text rules: nothing of a participant without consent,
an erased participant stays "erased participant").
"""

from __future__ import annotations

from typing import Any

from api.app import framdrift_app
from api.web import bp
from api.web.common import current_week, render, researcher_required
from api.web.overview import overview_context
from api.web.researcher import _programme
from domain.context import now
from projections import asof

REPORT_QUOTES = 5  # example quotes per development area in the report
MAX_DEPTH = 12  # a "based on" chain longer than this is cut (with a note)


def capability_lineages(sql: Any, programme_id: str) -> list[dict[str, Any]]:
    """Each live capability with what it came from, as a tree to print: every node has
    ``kind, title, texts (label, text), author, unit, units, week, theme, state`` and its
    ``sources`` (the records it builds on). A record reached twice is printed once and
    referred to after that (``seen``)."""
    from api.replay import (
        RECORD_FIELDS,
        _record_state,
        _unit_names,
        author_name,
        record_texts,
    )

    state = asof.moment(sql, programme_id)
    records = state.records
    caps = sorted((r for r in records.values() if r["kind"] == "capability" and not r["void"]),
                  key=lambda r: r["created_position"])
    wanted: set[str] = set()
    for c in caps:
        stack = [c["id"]]
        while stack:
            x = stack.pop()
            if x in wanted:
                continue
            wanted.add(x)
            stack.extend(b for b in records[x]["based_on"] if b in records)
    texts = record_texts(state, wanted)
    units = _unit_names(state)
    weeks = {w["number"]: w["theme"] for w in state.programme.get("weeks", [])}
    authors: dict[str, str] = {}

    def node(x: str, seen: set[str], depth: int) -> dict[str, Any]:
        r = records[x]
        mine = texts.get(x, {})
        fields = [(str(label), mine[f]) for f, label in RECORD_FIELDS.get(r["kind"], ())
                  if mine.get(f)]
        if x not in authors:
            authors[x] = author_name(state, x)
        out = {"id": x, "kind": r["kind"], "title": fields[0][1] if fields else "",
               "texts": fields[1:], "author": authors[x],
               "unit": units.get(r["unit"], r["unit"]),
               "units": [units.get(u, u) for u in r["units"] if u != r["unit"]],
               "week": r["week"], "theme": weeks.get(r["week"]), "state": _record_state(r),
               "seen": x in seen, "cut": False, "sources": []}
        if out["seen"]:
            return out
        seen.add(x)
        sources = sorted((b for b in r["based_on"] if b in records),
                         key=lambda b: records[b]["created_position"])
        if depth >= MAX_DEPTH and sources:
            out["cut"] = True
            return out
        out["sources"] = [node(b, seen, depth + 1) for b in sources]
        return out

    return [node(c["id"], set(), 0) for c in caps]


@bp.get("/r/programmes/<programme_id>/report")
@researcher_required
def report(programme_id: str) -> Any:
    app = framdrift_app()
    p = _programme(programme_id)
    context = overview_context(app, p, current_week(p), quotes=REPORT_QUOTES)
    return render("r_report.html", week_endpoint=None,
                  capabilities=capability_lineages(app.sql, p["id"]), made_at=now(),
                  **context)
