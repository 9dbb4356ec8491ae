"""The researchers' programme overview (``/r/programmes/<id>/overview``): the course at a
glance on one wide page — this week (who has logged, material, check-in and session),
the funnel from reflections to capabilities by week, the collaboration network between
units, development areas with example quotes, maturity before and after, and the
experiments board by PDSA stage.

Everything is read from the read models (``projections.queries``), so consent and erasure
apply as everywhere; texts (quotes, experiment titles) come from the records themselves,
only for participants who consent and are not erased (quotes: shared records only). Charts
are SVG drawn on the server (no script, no inline style: the CSP), each with ``role="img"``,
an ``aria-label`` and the same numbers as a table under ``<details>``.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from typing import Any

from flask import request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest, HTTPException, NotFound

from api.app import framdrift_app
from api.web import bp
from api.web.common import current_week, participants_of, render, researcher_required
from api.web.researcher import _programme
from domain import errors as domain_errors
from projections import queries

FUNNEL_KINDS = ("reflections", "decisions", "experiments", "capabilities")
BOARD_STAGES = ("planned", "started", "evaluated", "concluded")
QUOTES_PER_AREA = 2
QUOTE_CHARS = 160
NETWORK_SEED = 12  # spring layout seed: the same drawing every time


def _short(text: str, limit: int = QUOTE_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _lines(name: str, width: int = 22) -> list[str]:
    """A unit name broken into lines of about ``width`` characters (labels never cut)."""
    lines: list[str] = []
    for word in name.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [name]


# ------------------------------------------------------------------------------ charts


def funnel_chart(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Grouped bars per week: reflections, decisions, experiments, capabilities."""
    width, height, left, bottom, top = 560, 260, 40, 36, 12
    peak = max([r[k] for r in rows for k in FUNNEL_KINDS] or [0]) or 1
    step = 10 ** max(0, int(math.log10(peak)))
    peak = math.ceil(peak / step) * step
    plot_h = height - bottom - top
    group = (width - left - 8) / max(len(rows), 1)
    bar = min(22.0, group * 0.8 / len(FUNNEL_KINDS))
    bars, weeks = [], []
    for i, r in enumerate(rows):
        x0 = left + i * group + (group - bar * len(FUNNEL_KINDS)) / 2
        for j, kind in enumerate(FUNNEL_KINDS):
            h = plot_h * r[kind] / peak
            bars.append({"x": round(x0 + j * bar, 1), "y": round(top + plot_h - h, 1),
                         "w": round(bar - 2, 1), "h": round(h, 1), "kind": kind,
                         "value": r[kind], "week": r["week"]})
        weeks.append({"x": round(left + i * group + group / 2, 1), "week": r["week"]})
    ticks = [{"y": round(top + plot_h - plot_h * v / peak, 1), "value": v}
             for v in (0, peak // 2, peak)]
    return {"width": width, "height": height, "left": left, "base": top + plot_h,
            "bars": bars, "weeks": weeks, "ticks": ticks}


def network_chart(rows: list[dict[str, Any]], names: dict[str, str]) -> dict[str, Any]:
    """Units that worked together, laid out by networkx (spring layout, fixed seed); an
    edge's width grows with the pair's count of joint decisions, experiments, links and
    teams over the whole programme."""
    import networkx as nx

    weight: dict[tuple[str, str], dict[str, int]] = {}
    for r in rows:
        w = weight.setdefault((r["unit_a"], r["unit_b"]), {
            "decisions": 0, "experiments": 0, "links": 0, "teams": 0})
        for key in w:
            w[key] += r[key]
    graph = nx.Graph()
    for (a, b), w in sorted(weight.items()):
        total = sum(w.values())
        if total:
            graph.add_edge(a, b, weight=total)
    width, height, margin_x, margin_y = 680, 420, 180, 40
    if not graph.number_of_nodes():
        return {"width": width, "height": height, "nodes": [], "edges": []}
    pos = nx.spring_layout(graph, seed=NETWORK_SEED, weight="weight")
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]

    def scale(value: float, low: float, high: float, size: int, margin: int) -> float:
        if high - low < 1e-9:
            return size / 2
        return round(margin + (value - low) / (high - low) * (size - 2 * margin), 1)

    at = {n: (scale(p[0], min(xs), max(xs), width, margin_x),
              scale(p[1], min(ys), max(ys), height, margin_y)) for n, p in pos.items()}
    heaviest = max(d["weight"] for _a, _b, d in graph.edges(data=True))
    edges = [{"x1": at[a][0], "y1": at[a][1], "x2": at[b][0], "y2": at[b][1],
              "width": round(1.5 + 8.5 * d["weight"] / heaviest, 1), "count": d["weight"],
              "a": names.get(a, a), "b": names.get(b, b), **weight[tuple(sorted((a, b)))]}
             for a, b, d in sorted(graph.edges(data=True))]
    nodes = []
    placed: list[tuple[float, float, float, float]] = [  # boxes taken: the nodes
        (x - 10, y - 10, x + 10, y + 10) for x, y in at.values()]
    for key in sorted(graph.nodes, key=lambda k: (-graph.degree(k), k)):
        x, y = at[key]
        lines = _lines(names.get(key, key), 16)
        wide, tall = 8.5 * max(len(line) for line in lines), 16 * len(lines)
        # the label beside its node, on the outer side first; moved up or down, or to the
        # other side, when it would cover another label or node (never off the drawing)
        options = []
        for dy in (0, -18, 18, -36, 36):
            for right in ((x >= width / 2), not (x >= width / 2)):
                left_x = x + 12 if right else x - 12 - wide
                top = y + dy - tall / 2
                box = (left_x, top, left_x + wide, top + tall)
                if box[0] >= 0 and box[2] <= width:
                    options.append((right, dy, box))
        choice = next((o for o in options if not any(
            o[2][0] < b[2] and b[0] < o[2][2] and o[2][1] < b[3] and b[1] < o[2][3]
            for b in placed if b != (x - 10, y - 10, x + 10, y + 10))), None) \
            or (options[0] if options else (x >= width / 2, 0, (0, 0, 0, 0)))
        right, dy, box = choice
        placed.append(box)
        nodes.append({"key": key, "name": names.get(key, key), "x": x, "y": y,
                      "degree": graph.degree(key), "anchor": "start" if right else "end",
                      "tx": round(x + 12 if right else x - 12, 1),
                      "ty": round(y + dy + 5 - (len(lines) - 1) * 8, 1), "lines": lines})
    nodes.sort(key=lambda n: n["key"])
    edges.sort(key=lambda e: -e["count"])
    return {"width": width, "height": height, "nodes": nodes, "edges": edges}


def maturity_chart(rows: list[dict[str, Any]],
                   scales: dict[str, tuple[float, float]] | None = None) -> dict[str, Any]:
    """Before and after per dimension for the whole organisation (the units' mean when
    only units were assessed), as paired horizontal bars, each on its dimension's scale
    (``scales``: key -> (lowest, highest), from the programme's instrument)."""
    whole = [r for r in rows if r["unit"] is None]
    if not whole:
        grouped: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        for r in rows:
            for phase in ("before", "after"):
                if r[phase] is not None:
                    grouped[r["dimension"]][phase].append(r[phase])
        whole = [{"dimension": d, **{p: (round(sum(v[p]) / len(v[p]), 1) if v[p] else None)
                                     for p in ("before", "after")}}
                 for d, v in sorted(grouped.items())]
    scores = [r[p] for r in whole for p in ("before", "after") if r[p] is not None]
    top = 100.0 if not scores or max(scores) > 10 else (5.0 if max(scores) <= 5 else 10.0)
    scales = scales or {}
    if scales:
        top = max(scales.get(r["dimension"], (0.0, top))[1] for r in whole) if whole else 100.0

    def length(r: dict[str, Any], score: float | None) -> float:
        low, high = scales.get(r["dimension"], (0.0, top))
        return round(plot * max(0.0, (score if score is not None else low) - low)
                     / ((high - low) or 1), 1)
    width, left, bar, gap = 560, 180, 18, 26
    plot = width - left - 70
    out = []
    for i, r in enumerate(whole):
        y = 10 + i * (2 * bar + gap)
        out.append({"dimension": r["dimension"], "y": y, "label_y": y + bar + 4,
                    "before": r["before"], "after": r["after"],
                    "change": (round(r["after"] - r["before"], 1)
                               if r["before"] is not None and r["after"] is not None
                               else None),
                    "bw": length(r, r["before"]), "aw": length(r, r["after"]),
                    # a scale other than 0–100 is named beside the dimension
                    "scale": ("{:g}–{:g}".format(*scales[r["dimension"]])
                              if scales.get(r["dimension"], (0.0, 100.0)) != (0.0, 100.0)
                              else None),
                    "scale_range": scales.get(r["dimension"], (0.0, top))})
    return {"width": width, "height": 20 + len(whole) * (2 * bar + gap), "left": left,
            "bar": bar, "rows": out, "top": top}


# ------------------------------------------------------------------------------- texts


def _texts(app: Any, record_id: str) -> dict[str, Any] | None:
    try:
        return app.get_record(record_id)
    except domain_errors.NotFoundError:
        return None


def _quotes(app: Any, tagged: list[dict[str, Any]],
            limit: int = QUOTES_PER_AREA) -> list[dict[str, Any]]:
    """Up to ``limit`` short excerpts of shared records whose author consents."""
    out = []
    for t in tagged:
        if len(out) >= limit:
            break
        if not t["shared"] or not t["consent"] or t["erased"]:
            continue
        r = _texts(app, t["id"])
        if r is None or r.get("void"):
            continue
        field = queries.RECORD_TEXTS[r["kind"]][0]
        if r.get(field):
            out.append({"id": t["id"], "kind": r["kind"], "text": _short(r[field])})
    return out


def _board(app: Any, nodes: list[dict[str, Any]], shown: dict[str, dict[str, Any]]
           ) -> dict[str, list[dict[str, Any]]]:
    """Live experiments by stage, each with its aim as title (the latest cycle first)."""
    board: dict[str, list[dict[str, Any]]] = {s: [] for s in BOARD_STAGES}
    for n in nodes:
        if n["kind"] != "experiment" or n["void"] or n["stage"] not in board:
            continue
        board[n["stage"]].append(n)
    for items in board.values():
        items.sort(key=lambda n: (-n["week"], n["created_at"]))
        for n in items:
            n["title"] = None
            author = shown.get(n["id"])
            if author and author["consent"] and not author["erased"]:
                r = _texts(app, n["id"])
                if r is not None:
                    n["title"] = _short(r.get("aim") or "", 120)
    return board


# -------------------------------------------------------------------------------- page


def overview_context(app: Any, p: dict[str, Any], week: int, *,
                     pseudonymous: bool = False,
                     quotes: int = QUOTES_PER_AREA) -> dict[str, Any]:
    """What the overview's panels show for programme ``p`` and course ``week``: shared by
    the researchers' overview, their printable report and the evaluators' page.

    ``pseudonymous`` (evaluators, ADR 0015): people by pseudonym only, never a name, and no
    text a participant wrote (no quotes, no experiment aims); no personal data is even
    decrypted. The numbers are the same read models' either way. ``quotes``: example
    quotes per development area (the printed report shows more)."""
    sql = app.sql
    weeks = [w["number"] for w in p["weeks"]]
    names = {u["key"]: u["name"] for u in p["units"]}
    glance = queries.week_glance(sql, p["id"], week)
    people = {} if pseudonymous else {x["id"]: x for x in participants_of(app, p["id"])}
    for row in glance["participants"]:
        person = people.get(row["participant_id"])
        row["name"] = (row["participant"] if row["erased"] or person is None
                       else person["name"])
    logged = [r for r in glance["participants"] if r["records"]]
    not_logged = [r for r in glance["participants"] if not r["records"]]
    progress = queries.progress(sql, p["id"])
    collaborations = queries.collaborations(sql, p["id"])
    areas = queries.development_areas(sql, p["id"])
    tagged = {} if pseudonymous else queries.area_records(sql, p["id"])
    for a in areas:
        a["quotes"] = _quotes(app, tagged.get(a["id"], []), quotes)
    areas.sort(key=lambda a: (-a["records"], a["name"].casefold()))
    lineage = queries.lineage(sql, p["id"])
    if pseudonymous:
        shown: dict[str, dict[str, Any]] = {}
    else:
        flags = queries.consent_flags(sql, p["id"])
        ids = {n["id"]: n for n in lineage["nodes"]}
        authors = {rid: flags.get(pid_) for rid, pid_ in _authors_of(sql, p["id"], ids).items()}
        shown = {k: v for k, v in authors.items() if v}
    board = _board(app, lineage["nodes"], shown)
    maturity = maturity_chart(queries.maturity(sql, p["id"]), {
        d["key"]: (d["scale_min"], d["scale_max"]) for d in p.get("instrument") or []})
    return {"programme": p, "week": week, "weeks": weeks, "glance": glance,
            "logged": logged, "not_logged": not_logged, "progress": progress,
            "funnel": funnel_chart(progress), "network": network_chart(collaborations, names),
            "areas": areas, "maturity": maturity, "board": board, "stages": BOARD_STAGES,
            "funnel_kinds": FUNNEL_KINDS, "pseudonymous": pseudonymous,
            "lineage": lineage}


def chosen_week(p: dict[str, Any]) -> int:
    """``?week=`` or (none given) the current course week. A week that is not a whole
    number is a 400, one the programme does not have (0, -1, 99) a 404, each an HTML page
    saying so: never another week's figures shown as if they were the week asked for."""
    weeks = [w["number"] for w in p["weeks"]]
    given = request.args.get("week", "").strip()
    if not given:
        return current_week(p)
    error: HTTPException
    if not re.fullmatch(r"-?[0-9]+", given):  # (int() would also take "1_0" or "١")
        error = BadRequest()
        error.data = {"message": _("The week must be a whole number, such as 1.")}
        raise error
    week = int(given) if len(given) <= 9 else 0
    if weeks and week not in weeks:
        error = NotFound()
        error.data = {"message": _("This programme has no week %(week)s; its weeks are "
                                   "%(first)s to %(last)s.",
                                   week=given if len(given) <= 9 else given[:9] + "…",
                                   first=min(weeks), last=max(weeks))}
        raise error
    return week


@bp.get("/r/programmes/<programme_id>/overview")
@researcher_required
def overview(programme_id: str) -> Any:
    app = framdrift_app()
    p = _programme(programme_id)
    context = overview_context(app, p, chosen_week(p))
    return render("r_overview.html", week_endpoint="web.overview", **context)


def _authors_of(sql: Any, programme_id: str, nodes: dict[str, Any]) -> dict[str, str]:
    """Record id -> its author's participant id (the lineage answer names authors by
    pseudonym only), for the records in ``nodes``."""
    rows = sql.query(
        f"SELECT record_id, participant_id FROM {sql.table('pj_lineage_nodes')} "
        "WHERE programme_id = ? AND kind = 'experiment'", (programme_id,))
    return {r["record_id"]: r["participant_id"] for r in rows if r["record_id"] in nodes}
