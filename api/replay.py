"""The researchers' replay pages: the programme as it stood at any moment, and lineage.

- ``/replay/`` — the programmes;
- ``/replay/<programme>?at=&participant=&unit=&area=&kind=&lanes=&week=&record=&group=``
  — the weeks as bands (themes; ``week`` zooms into one), materials, check-ins and
  sessions as markers, records as points per unit or participant (those that would
  overlap as one group with its count) linked by their "based on" edges, the progress
  funnel, development areas and collaborations — all as of ``at`` (a log position or an
  ISO date/time); previous / next event links, week ends, a date picker and "play"
  (``play=1``, ``dir=back``, ``speed=0.5|1|2``). Everything works as links and forms
  without JavaScript (play: a meta refresh in ``<noscript>``); ``static/replay.js`` swaps
  the next moment into the page instead (docs/adr/0016) and moves the chart's single tab
  stop with the arrow keys;
- ``/replay/<programme>/records/<record>`` — a record's lineage, back and forward;
- downloads: timeline and records as CSV / NDJSON, lineage as PROV-JSON.

Researchers only (session): a browser without one is sent to ``/login?next=...``; other
clients get the API's JSON 401 / 403. Server-side SVG, no CDN, no inline script or style.

Everything shown applies the participants' *current* consent and erasure flags, also as
of the past (``asof.moment`` -> ``asof.with_consent``; docs/adr/0004): records and events
of participants who do not consent are left out with their links, erased participants'
records stay as "erased participant", and their text is never exported.

The pages are in Swedish by default, with the web pages' English switch (Flask-Babel,
``api.web``): themes, units, kinds, stages, outcomes and event types by their names, times
in FRAMDRIFT_TIMEZONE (Europe/Stockholm). A date or date-time without a zone typed into
the page (``at``) is a moment in that zone too; ids, ``data-*`` attributes and downloads
stay machine-readable (keys, UTC).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, Response, abort, redirect, request, url_for
from flask_babel import get_timezone, ngettext
from flask_babel import gettext as _
from werkzeug.routing import BuildError

from api import spreadsheet
from api.app import framdrift_app
from api.auth import current_principal, require_role
from api.rest import export_file
from api.web.common import programmes_page, render
from api.web.labels import (
    ACTORS,
    KIND_HEADS,
    MATERIAL_KINDS,
    OUTCOMES,
    RECORD_FIELDS,
    STAGES,
    Labeller,
    dimension_names,
    labelled_columns,
    pick_language,
    unit_names,
)
from api.web.labels import KINDS as KIND_NAMES
from api.web.setup import format_day, format_when, theme_name
from domain.replay import ProgrammeState
from projections import asof

bp = Blueprint("replay", __name__, url_prefix="/replay")

KINDS = ("reflection", "decision", "experiment", "capability")
FILTERS = ("participant", "unit", "area", "kind", "lanes", "week")
WIDTH, LEFT, RIGHT = 1180, 170, 20
TOP, MARKERS, LANE = 34, 34, 22
# the timeline's narrow layout for phones (replay.css shows it instead of the wide one below
# 40rem): NARROW units wide, drawn at the screen's width (about 1 px per unit on a 360 px
# phone, so its text stays legible), with each lane's name on a line above its records
NARROW, NARROW_SIDE, NARROW_LANE, NARROW_LABEL = 340, 6, 36, 14
# the lineage's narrow layout: its boxes start after a gutter for the links' curves
LINEAGE_GUTTER = 26
PLAY_TICKS = 80
# play speeds: (seconds between steps, log positions a step takes, in PLAY_TICKS steps)
SPEEDS = {"0.5": (2, 1), "1": (1, 1), "2": (1, 2)}


def _sql() -> Any:
    return framdrift_app().sql


def _wants_html() -> bool:
    """A browser (names text/html, and asks for it at least as much as for JSON), not an
    API client (no Accept, ``*/*`` as curl sends, JSON, or an Authorization header)."""
    accept = request.accept_mimetypes
    if "Authorization" in request.headers:
        return False
    named = any(value == "text/html" and quality > 0 for value, quality in accept)
    return named and accept["text/html"] >= accept["application/json"]


def login_url() -> str:
    """The sign-in page (the web pages' ``web.login``), coming back here afterwards."""
    target = request.full_path.rstrip("?")
    try:
        return url_for("web.login", next=target)
    except BuildError:  # the web pages are not registered: the same path they would use
        from urllib.parse import urlencode

        return "/login?" + urlencode({"next": target})


def researcher_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Researchers only. Without a session a browser is redirected to the sign-in page;
    anything else (and a wrong role) gets the JSON 401 / 403 of ``require_role``."""
    guarded = require_role("researcher")(view)

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_principal() is None and request.method == "GET" and _wants_html():
            return redirect(login_url())
        return guarded(*args, **kwargs)

    return wrapper


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _local_moment(value: str) -> str:
    """``at`` as typed into the page: a log position as is; a date (its end) or a
    date-time without a zone in the pages' time zone (FRAMDRIFT_TIMEZONE); anything else
    is left to ``asof`` (which answers 422 when it is not a moment)."""
    text = value.strip()
    if not text or asof.is_position(text):
        return text
    zone = get_timezone()
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), time.max)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.isoformat()


def _local_input(value: str | None) -> str:
    """An event time for the page's date-time field (local, to the minute)."""
    moment = _when(value)
    return moment.astimezone(get_timezone()).strftime("%Y-%m-%dT%H:%M") if moment else ""


def _local_day(value: str | None) -> str:
    """The (local) day of an event time, the short way of the language."""
    moment = _when(value)
    return format_day(moment.astimezone(get_timezone()).date(), "short") if moment else ""


def _name(table: dict[str, Any], key: Any) -> str:
    return str(table.get(key, key or ""))


def kind_count(kind: str, n: int) -> str:
    """``n`` records of a kind, in the page's language: "1 reflection", "2 decisions"."""
    if kind == "reflection":
        return ngettext("%(num)s reflection", "%(num)s reflections", n)
    if kind == "decision":
        return ngettext("%(num)s decision", "%(num)s decisions", n)
    if kind == "experiment":
        return ngettext("%(num)s experiment", "%(num)s experiments", n)
    if kind == "capability":
        return ngettext("%(num)s capability", "%(num)s capabilities", n)
    return f"{n} {kind}"


def _who(label: str | None) -> str:
    """A participant as shown: a pseudonym, or a (translated) neutral label."""
    return _name(ACTORS, label) if label else "?"


def _unit_names(state: ProgrammeState) -> dict[str, str]:
    return {u["key"]: u.get("name") or u["key"] for u in state.programme.get("units", [])}


def _record_state(r: dict[str, Any]) -> str:
    """Withdrawn/reversed, or the experiment's stage and outcome, in words."""
    if r.get("void"):
        return _("withdrawn/reversed")
    text = _name(STAGES, r.get("stage")) if r.get("stage") else ""
    if r.get("outcome"):
        outcome = _name(OUTCOMES, r["outcome"])
        text = f"{text} ({outcome})" if text else outcome
    return text


def _filters() -> dict[str, str]:
    return {k: request.args[k] for k in FILTERS if request.args.get(k)}


def _url(endpoint: str, **values: Any) -> str:
    return url_for(endpoint, **{k: v for k, v in values.items() if v not in (None, "")})


class Scale:
    """Event time -> x, over the programme's weeks (with a margin for stragglers)."""

    def __init__(self, weeks: list[dict[str, Any]], extra: list[datetime],
                 left: float = LEFT, right: float = WIDTH - RIGHT):
        self.left, self.right = left, right
        starts = [datetime.combine(datetime.fromisoformat(w["starts_on"]).date(), time.min,
                                   tzinfo=UTC) for w in weeks]
        ends = [datetime.combine(datetime.fromisoformat(w["ends_on"]).date(), time.max,
                                 tzinfo=UTC) for w in weeks]
        self.start = min(starts) if starts else min(extra, default=datetime.now(UTC))
        self.end = max(ends) if ends else max(extra, default=self.start)
        self.end = max(self.end, *[e for e in extra if e], self.start + timedelta(days=1))
        self.span = (self.end - self.start).total_seconds() or 1.0

    def x(self, moment: datetime | None) -> float:
        if moment is None:
            return self.left
        fraction = (moment - self.start).total_seconds() / self.span
        return round(self.left + max(0.0, min(1.0, fraction)) * (self.right - self.left), 1)


def _shape(kind: str, x: float, y: float) -> dict[str, Any]:
    if kind == "reflection":
        return {"tag": "circle", "cx": x, "cy": y, "r": 4.5}
    if kind == "decision":
        return {"tag": "rect", "x": x - 4, "y": y - 4, "w": 8, "h": 8}
    if kind == "experiment":
        return {"tag": "polygon",
                "points": f"{x},{y - 6} {x + 6},{y} {x},{y + 6} {x - 6},{y}"}
    import math

    pts = []
    for i in range(10):
        radius = 8 if i % 2 == 0 else 3.5
        angle = math.pi / 2 + i * math.pi / 5
        px, py = round(x + radius * math.cos(angle), 1), round(y - radius * math.sin(angle), 1)
        pts.append(f"{px},{py}")
    return {"tag": "polygon", "points": " ".join(pts)}


def _visible(state: ProgrammeState, filters: dict[str, str]) -> dict[str, dict[str, Any]]:
    out = {}
    # only a participant who may be named can be picked out (not an erased one)
    nameable = {p["pseudonym"] for p in state.participants.values()}
    for rid, r in state.records.items():
        if filters.get("participant") and (
                r["pseudonym"] != filters["participant"] or r["pseudonym"] not in nameable):
            continue
        if filters.get("unit") and filters["unit"] not in (r["unit"], *r["units"]):
            continue
        if filters.get("kind") and r["kind"] != filters["kind"]:
            continue
        if filters.get("area") and filters["area"] not in {state.live_area(a)
                                                           for a in r["areas"]}:
            continue
        out[rid] = r
    return out


RECORD_FILTERS = ("participant", "unit", "area", "kind")


def narrowed(state: ProgrammeState, filters: dict[str, str] | None) -> ProgrammeState:
    """The state with only the records the filters let through (``_visible``), so that
    every panel and download counts what the chart shows; the state itself when no record
    filter is set (``lanes`` only lays the chart out)."""
    if not any((filters or {}).get(k) for k in RECORD_FILTERS):
        return state
    import copy

    out = copy.copy(state)  # shallow: flags, programme, areas shared; records replaced
    out.records = _visible(state, filters or {})
    return out


def filtered_rows(state: ProgrammeState, rows: list[dict[str, Any]],
                  filters: dict[str, str] | None) -> list[dict[str, Any]]:
    """Timeline rows under the filters: the events of the records shown; with a
    participant or unit filter alone also that participant's or unit's own events
    (taking part, attendance); programme events only without a record filter."""
    filters = filters or {}
    if not any(filters.get(k) for k in RECORD_FILTERS):
        return rows
    shown = _visible(state, filters)
    people = not (filters.get("kind") or filters.get("area"))
    out = []
    for row in rows:
        if row.get("id") in shown:
            out.append(row)
        elif people and str(row.get("type", "")).startswith("Participant.") and (
                not filters.get("participant") or row.get("participant") == filters[
                    "participant"]) and (not filters.get("unit") or row.get("unit") == filters[
                        "unit"]):
            out.append(row)
    return out


def active_filters(state: ProgrammeState, filters: dict[str, str]) -> list[str]:
    """The record filters set, in words ("Unit: Socialförvaltningen")."""
    names = {"participant": (_("Participant"), lambda v: v),
             "unit": (_("Unit"), lambda v: _unit_names(state).get(v, v)),
             "area": (_("Development area"),
                      lambda v: (state.areas.get(v) or {}).get("name", v)),
             "kind": (_("Kind"), lambda v: _name(KIND_NAMES, v))}
    return [f"{names[k][0]}: {names[k][1](filters[k])}" for k in RECORD_FILTERS
            if filters.get(k)]


def _wrap(text: str, size: int, lines: int = 3) -> list[str]:
    """``text`` in lines of at most ``size`` characters, broken between words (a word
    longer than a line is broken inside it); the last of ``lines`` lines ends in "…" when
    the text is longer still (the whole text is in the label's ``<title>``)."""
    out: list[str] = []
    line = ""
    for word in text.split():
        while len(word) > size:  # a word longer than a line: split it
            if line:
                out.append(line)
                line = ""
            out.append(word[:size - 1] + "-")
            word = word[size - 1:]
        if not line:
            line = word
        elif len(line) + 1 + len(word) <= size:
            line += " " + word
        else:
            out.append(line)
            line = word
    if line:
        out.append(line)
    if len(out) > lines:
        out = out[:lines - 1] + [_fit(" ".join(out[lines - 1:]), size)]
    return out or [""]


def _day_start(day: str) -> datetime:
    return datetime.combine(datetime.fromisoformat(day).date(), time.min, tzinfo=UTC)


def _day_end(day: str) -> datetime:
    return datetime.combine(datetime.fromisoformat(day).date(), time.max, tzinfo=UTC)


def _after_weeks(state: ProgrammeState, weeks: list[dict[str, Any]]) -> list[datetime]:
    """The moments of records, materials and meetings after the last week's end: the chart's
    axis runs on to the last of them (and not to "now" when nothing happened since)."""
    if not weeks:
        return []
    end = max(_day_end(w["ends_on"]) for w in weeks)
    moments = [_when(r["created_at"]) for r in state.records.values()]
    moments += [_when(m["published_at"]) for m in state.materials.values()]
    moments += [_day_start(m["held_on"]) + timedelta(hours=12)
                for m in state.meetings.values()]
    return [m for m in moments if m and m > end]


def clusters(points: list[tuple[str, int, float]], gap: float) -> list[list[str]]:
    """Records drawn at (lane, x) grouped where their symbols would overlap: in a lane,
    sorted by x, a record closer than ``gap`` to the first of the current group joins it
    (drawn at that first one's x, so that groups and records stay ``gap`` apart).
    ``points``: (record, lane, x) in the records' log order; the groups keep that order."""
    by_lane: dict[int, list[tuple[float, int, str]]] = {}
    for order, (rid, lane, x) in enumerate(points):
        by_lane.setdefault(lane, []).append((x, order, rid))
    groups: list[tuple[int, list[tuple[int, str]]]] = []
    for lane in sorted(by_lane):
        start = None
        for x, order, rid in sorted(by_lane[lane]):
            if start is None or x - start >= gap:
                start = x
                groups.append((lane, []))
            groups[-1][1].append((order, rid))
    return [[rid for _o, rid in sorted(members)] for _lane, members in groups]


def timeline_svg(state: ProgrammeState, filters: dict[str, str],
                 selected: set[str], link: Any, *, narrow: bool = False,
                 group_link: Any = None, chosen: str = "") -> dict[str, Any]:
    """Everything the SVG template draws, laid out in Python.

    The axis runs over the programme's weeks, and on after them only as far as something
    happened (``_after_weeks``); ``filters["week"]`` zooms into one week (its days as ticks).
    Records whose symbols would overlap in a lane are drawn as one group with their count
    (``clusters``); ``group_link(first record)`` selects a group. Lane and week labels wrap
    (never cut off); the record links are one tab stop (``tabindex`` 0 on the ``chosen`` or
    the first one, -1 on the others: replay.js moves it with the arrow keys).

    ``narrow``: the layout for phones — NARROW units wide, lanes named on lines of their
    own above their records (no column of names on the left), weeks labelled by number."""
    weeks = state.programme.get("weeks", [])
    now = _when(state.time)
    width = NARROW if narrow else WIDTH
    zoom = next((w for w in weeks if str(w["number"]) == filters.get("week")), None)
    if zoom:  # the week and the days up to the next week (its weekend)
        after = [w["starts_on"] for w in weeks if w["starts_on"] > zoom["ends_on"]]
        shown_weeks = [zoom]
        extra = [_day_start(min(after)) - timedelta(microseconds=1)] if after else []
    else:
        shown_weeks, extra = weeks, _after_weeks(state, weeks)
        if not weeks and now:
            extra = [now]
    left, right = (NARROW_SIDE, NARROW - NARROW_SIDE) if narrow else (LEFT, WIDTH - RIGHT)
    scale = Scale(shown_weeks, extra, left, right)
    by_participant = filters.get("lanes") == "participant"
    units = _unit_names(state)
    if by_participant:
        people = sorted(state.participants.values(), key=lambda p: (p["unit"], p["pseudonym"]))
        lanes = [(p["pseudonym"], f"{p['pseudonym']} · {units.get(p['unit'], p['unit'])}")
                 for p in people]
        label = asof.erased_label()
        if any(r["pseudonym"] == label for r in state.records.values()):
            lanes.append((label, _who(label)))  # one lane for every erased participant
    else:
        lanes = list(units.items())
    index = {key: i for i, (key, _label) in enumerate(lanes)}

    # week bands, their labels wrapped to the band's width (up to three lines)
    bands = []
    for w in shown_weeks:
        x0, x1 = scale.x(_day_start(w["starts_on"])), scale.x(_day_end(w["ends_on"]))
        theme = theme_name(w["theme"])
        text = (_("W%(number)s", number=w["number"]) if narrow and not zoom else
                _("W%(number)s %(theme)s", number=w["number"], theme=theme))
        chars = max(3, int((x1 - x0 - 6) / (7.2 if narrow else 6.6)))
        bands.append({"x": x0, "w": max(1.0, x1 - x0), "lines": _wrap(text, chars),
                      "cls": "band band-odd" if (w["number"] % 2 == 0) else "band band-even",
                      "theme": w["theme"], "week": w["number"],
                      "title": _("Week %(number)s: %(theme)s (%(start)s – %(end)s)",
                                 number=w["number"], theme=theme,
                                 start=format_day(w["starts_on"], "short"),
                                 end=format_day(w["ends_on"], "short"))})
    line_h = 14 if narrow else 13
    head = 6 + max([len(b["lines"]) for b in bands] or [1]) * line_h
    for b in bands:
        b["label_y"] = [head - (len(b["lines"]) - 1 - k) * line_h - 4
                        for k in range(len(b["lines"]))]
    top_markers = head + 2
    top = top_markers + MARKERS

    def inside(moment: datetime | None) -> bool:
        return moment is not None and scale.start <= moment <= scale.end

    markers = []
    for mid, m in state.materials.items():
        moment = _when(m["published_at"])
        if zoom and not inside(moment):
            continue
        x = scale.x(moment)
        markers.append({"cls": "marker material", "tag": "polygon",
                        "points": f"{x},{top_markers + 4} {x + 5},{top_markers + 13} "
                                  f"{x - 5},{top_markers + 13}",
                        "title": _("Material %(id)s (week %(week)s, %(kind)s): %(title)s",
                                   id=mid, week=m["week"],
                                   kind=_name(MATERIAL_KINDS, m["kind"]).lower(),
                                   title=m["title"])})
    for mid, m in state.meetings.items():
        held = _day_start(m["held_on"]) + timedelta(hours=12)
        if zoom and not inside(held):
            continue
        x = scale.x(held)
        label = _("Check-in") if m["kind"] == "check_in" else _("Session")
        markers.append({"cls": f"marker {m['kind'].replace('_', '-')}", "tag": "rect",
                        "x": x - 4, "y": top_markers + 18, "w": 8, "h": 8,
                        "title": _("%(meeting)s %(id)s, week %(week)s, %(day)s",
                                   meeting=label, id=mid, week=m["week"],
                                   day=format_day(m["held_on"], "short"))})

    # lanes: their names wrapped (a column on the left, or lines above the records)
    lane_rows = []
    y = top
    for i, (key, label) in enumerate(lanes):
        lines = _wrap(label, 50 if narrow else 31)
        if narrow:
            height, label_h = NARROW_LANE - NARROW_LABEL + len(lines) * NARROW_LABEL, \
                len(lines) * NARROW_LABEL
        else:
            height, label_h = max(LANE, len(lines) * 12 + 8), 0
        first_y = y + (11 if narrow else (height - (len(lines) - 1) * 12) / 2 + 4)
        lane_rows.append({"y": y, "h": height, "key": key, "title": label, "index": i,
                          "lines": lines, "label_y": [round(first_y + k * (
                              NARROW_LABEL if narrow else 12), 1) for k in range(len(lines))],
                          "mid": round(y + label_h + (height - label_h) / 2, 1),
                          "cls": "lane" + (" alt" if i % 2 else "")})
        y += height
    height = max(y, top + LANE) + 24

    shown = _visible(state, filters)
    placed: list[tuple[str, int, float]] = []
    for rid, r in sorted(shown.items(), key=lambda kv: kv[1]["created_position"]):
        lane = index.get(r["pseudonym"] if by_participant else r["unit"])
        moment = _when(r["created_at"])
        if lane is None or (zoom and not inside(moment)):
            continue
        placed.append((rid, lane, scale.x(moment)))
    where = {rid: (lane, x) for rid, lane, x in placed}
    radius = 7.0 if narrow else 7.5  # a group's circle; groups never overlap (gap > 2r)
    groups = clusters(placed, 2 * radius + 1)
    points: dict[str, tuple[float, float]] = {}
    dots = []
    for members in groups:
        lane, cx = where[min(members, key=lambda m: where[m][1])]  # the group's start
        cy = lane_rows[lane]["mid"]
        for m in members:
            points[m] = (cx, cy)
        if len(members) == 1:
            rid = members[0]
            r = shown[rid]
            cls = ["record", r["kind"]]
            if r["void"]:
                cls.append("void")
            if r["stage"]:
                cls.append(f"stage-{r['stage']}")
            if selected and rid in selected:
                cls.append("selected")
            elif selected:
                cls.append("faded")
            title = " · ".join([
                _name(KIND_NAMES, r["kind"]), _("week %(number)s", number=r["week"]),
                units.get(r["unit"], r["unit"]), _who(r["pseudonym"]),
                format_when(r["created_at"])])
            state_text = _record_state(r)
            dots.append({**_shape(r["kind"], cx, cy), "cls": " ".join(cls),
                         "href": link(rid), "id": rid, "kind": r["kind"], "week": r["week"],
                         "participant": r["pseudonym"] or "", "lane": lane, "x": cx,
                         "members": members,
                         "title": f"{title} · {state_text}" if state_text else title})
            continue
        kinds = sorted({shown[m]["kind"] for m in members}, key=KINDS.index)
        wk = sorted({shown[m]["week"] for m in members if shown[m]["week"] is not None})
        cls = ["record", "group"]
        if selected and selected & set(members):
            cls.append("selected")
        elif selected:
            cls.append("faded")
        elif chosen and chosen == members[0]:
            cls.append("selected")  # the group whose records are listed
        counts = ", ".join(kind_count(k, sum(1 for m in members if shown[m]["kind"] == k))
                           for k in kinds)
        title = ngettext("%(num)s record here (%(kinds)s) · %(lane)s · week %(weeks)s",
                         "%(num)s records here (%(kinds)s) · %(lane)s · week %(weeks)s",
                         len(members), kinds=counts, lane=lanes[lane][1],
                         weeks=(f"{wk[0]}–{wk[-1]}" if len(wk) > 1 else str(wk[0]))
                         if wk else "?")
        dots.append({"tag": "group", "cx": cx, "cy": cy, "r": radius, "count": len(members),
                     "cls": " ".join(cls), "href": (group_link or link)(members[0]),
                     "id": members[0], "kind": "group", "week": shown[members[0]]["week"],
                     "participant": "", "lane": lane, "x": cx, "members": members,
                     "title": title})
    dots.sort(key=lambda d: (d["lane"], d["x"]))  # reading order: lane by lane, in time
    chosen_dot = next((d for d in dots if chosen in d["members"]), dots[0] if dots else None)
    for d in dots:
        d["tabindex"] = "0" if d is chosen_dot else "-1"
    edges = []
    for rid, (x, y1) in points.items():
        for b in shown[rid]["based_on"]:
            if b in points and points[b] != (x, y1):
                bx, by = points[b]
                cls = "edge"
                if selected:
                    cls += " selected" if rid in selected and b in selected else " faded"
                edges.append({"x1": x, "y1": y1, "x2": bx, "y2": by, "cls": cls})
    # a zoomed week: its days as ticks under the lanes
    ticks = []
    if zoom:
        day = _day_start(zoom["starts_on"])
        while day <= scale.end:
            x = scale.x(day + timedelta(hours=12))
            ticks.append({"x": x, "label": format_day(day.date(), "EEE d" if narrow
                                                          else "weekday")})
            day += timedelta(days=1)
    x_now = scale.x(now) if now and (inside(now) or not zoom) else None
    # the "as of" label on the side of the line where it fits (near the right edge: left)
    ends = x_now is not None and x_now > width - 50
    return {
        "width": width, "height": height + (16 if ticks else 0), "left": scale.left,
        "right": scale.right, "top": top, "bands": bands, "markers": markers,
        "lanes": lane_rows, "dots": dots, "edges": edges, "now": x_now, "ticks": ticks,
        "ticks_y": height + 4, "bands_top": top_markers, "head": head,
        "now_label_x": None if x_now is None else (x_now - 3 if ends else x_now + 3),
        "now_label_cls": "now-label end" if ends else "now-label",
        "shown": sum(len(d["members"]) for d in dots), "narrow": narrow,
        "groups": groups, "records": [shown[rid] for rid, _lane, _x in placed],
        "zoom": zoom,
    }


def _fit(text: str, size: int) -> str:
    """``text`` cut to ``size`` characters (for the SVG's fixed-width labels)."""
    return text if len(text) <= size else text[:size - 1].rstrip() + "…"


def lineage_svg(state: ProgrammeState, graph: dict[str, Any], rid: str, link: Any, *,
                narrow: bool = False,
                titles: dict[str, str] | None = None) -> dict[str, Any]:
    """The lineage page's SVG, laid out in Python: a column of boxes per kind (WIDTH units)
    with the "based on" links as lines between them.

    ``narrow``: the layout for phones (replay.css shows it below 40rem) — NARROW units wide,
    drawn at the screen's width: the kinds one below the other, each box the drawing's
    width, the links as curves in a gutter on the left.

    ``titles``: record -> what its author wrote first (researchers, ``node_texts``): the
    box's first line, and its tooltip; without one the kind, week and theme."""
    titles = titles or {}
    columns: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
    for n in graph["nodes"]:
        columns[n["kind"]].append(n)
    units = _unit_names(state)
    fit1, fit2 = (44, 47) if narrow else (42, 44)  # characters that fit in a box's lines

    def box(n: dict[str, Any], x: float, y: float, w: float, h: float) -> dict[str, Any]:
        kind = n["kind"]
        cls = f"node {kind}" + (" void" if n["void"] else "") + (
            " focus" if n["id"] == rid else "")
        text = titles.get(n["id"], "")
        meta = (_name(KIND_NAMES, kind), _("week %(number)s", number=n["week"]),
                theme_name(n["theme"]))
        return {
            "x": round(x, 1), "y": y, "w": round(w, 1), "h": h, "cls": cls,
            "href": link(n["id"]),
            "line1": _fit(text or " · ".join(part for part in meta if part), fit1),
            "line2": _fit(" · ".join(part for part in (
                *((_name(KIND_NAMES, kind), _("week %(number)s", number=n["week"]))
                  if text else ()),
                _who(n["participant"]), _local_day(n["created_at"]), _record_state(n),
                units.get(n["unit"], n["unit"])) if part), fit2),
            "title": " · ".join(part for part in (
                text, _name(KIND_NAMES, kind), _("week %(number)s", number=n["week"]),
                theme_name(n["theme"]), _who(n["participant"]),
                units.get(n["unit"], n["unit"]), format_when(n["created_at"]),
                _record_state(n)) if part),
            "node": n,
        }

    def ordered(kind: str) -> list[dict[str, Any]]:
        return sorted(columns[kind], key=lambda n: (n["week"], n["position"]))

    boxes: dict[str, dict[str, Any]] = {}
    heads = []
    lines = []
    if narrow:
        # kind after kind, top to bottom (a kind without records is left out)
        x, w, h, row_h = LINEAGE_GUTTER, NARROW - LINEAGE_GUTTER - NARROW_SIDE, 38, 46
        y = 0
        for kind in KINDS:
            if not columns[kind]:
                continue
            heads.append({"x": x, "y": y + 20, "label": str(KIND_HEADS[kind])})
            y += 30
            for n in ordered(kind):
                boxes[n["id"]] = box(n, x, y, w, h)
                y += row_h
            y += 4
        height = max(y, 40)
        for e in graph["edges"]:
            a, b = boxes[e["from"]], boxes[e["to"]]
            ya, yb = a["y"] + a["h"] / 2, b["y"] + b["h"] / 2
            # the farther apart, the wider the curve (so that links do not lie on each other)
            bend = round(min(x - 3, 6 + abs(ya - yb) / 12), 1)
            lines.append({"d": f"M{x},{ya} C{x - bend},{ya} {x - bend},{yb} {x},{yb}"})
        width = NARROW
    else:
        col_w = (WIDTH - 40) / len(KINDS)
        row_h = 46
        height = 40 + max(1, max(len(v) for v in columns.values())) * row_h
        for c, kind in enumerate(KINDS):
            for i, n in enumerate(ordered(kind)):
                boxes[n["id"]] = box(n, 20 + c * col_w + 10, 34 + i * row_h, col_w - 20,
                                     row_h - 10)
        heads = [{"x": round(20 + c * col_w + col_w / 2, 1), "y": 20,
                  "label": str(KIND_HEADS[k])} for c, k in enumerate(KINDS)]
        for e in graph["edges"]:
            a, b = boxes[e["from"]], boxes[e["to"]]
            lines.append({"x1": a["x"], "y1": a["y"] + a["h"] / 2,
                          "x2": b["x"] + b["w"], "y2": b["y"] + b["h"] / 2})
        width = WIDTH
    return {"width": width, "height": height, "heads": heads, "lines": lines,
            "boxes": list(boxes.values()), "narrow": narrow}


def record_texts(state: ProgrammeState, rids: Any) -> dict[str, dict[str, str]]:
    """What the participants wrote in the records ``rids`` (as of the state's version of
    each), for researchers: the same rules as the download with text
    (``asof.record_rows``): nothing of an erased participant or one without consent, nor a
    team member's words once that member does not consent."""
    wanted = set(rids)
    if not wanted:
        return {}
    reveal = _revealer(framdrift_app())

    def some(rid: str, version: int | None = None) -> dict[str, Any]:
        return reveal(rid, version) if rid in wanted else {}

    return {row["id"]: {f: str(row[f]) for f in asof.TEXT_FIELDS if row.get(f)}
            for row in asof.record_rows(state, some) if row["id"] in wanted}


def author_name(state: ProgrammeState, rid: str) -> str:
    """Who wrote a record, for researchers: the participant's name and pseudonym while
    they consent; "erased participant" once erased (never their name)."""
    r = state.records[rid]
    flags = asof.flags_of(state) or {}
    f = flags.get(r["participant_id"]) or {}
    if f.get("consent") and not f.get("erased"):
        try:
            name = framdrift_app().get_participant(r["participant_id"]).get("name")
        except Exception:  # noqa: BLE001 - unreadable (keys gone): the pseudonym alone
            name = None
        if name:
            return f"{name} ({r['pseudonym']})"
    return _who(r["pseudonym"])


def _short(kind: str, texts: dict[str, str]) -> str:
    """A record's title: its first text (a reflection's example, a decision's statement,
    an experiment's aim, a capability's name)."""
    fields = RECORD_FIELDS.get(kind, ())
    return texts.get(fields[0][0], "") if fields else ""


def record_card(state: ProgrammeState, rid: str, link: Any,
                chain: dict[str, Any] | None = None) -> dict[str, Any]:
    """The card of a selected record: its text (``record_texts``), author, unit, week and
    theme, stage, and the records it is based on and that were based on it (each with its
    title and a link that selects it); with its ``chain`` (``asof.lineage``) also the
    records two or more steps back or on ("further"), so one card tells the lineage."""
    r = state.records[rid]
    led_to = sorted((x for x, o in state.records.items() if rid in o["based_on"]),
                    key=lambda x: state.records[x]["created_position"])
    based_on = [b for b in r["based_on"] if b in state.records]
    further = [n for n in (chain or {}).get("nodes", []) if abs(n.get("depth", 0)) >= 2
               and n["id"] in state.records]
    further.sort(key=lambda n: (n["depth"] > 0, -abs(n["depth"]) if n["depth"] < 0
                                else n["depth"], n["position"]))
    texts = record_texts(state, [rid, *based_on, *led_to, *(n["id"] for n in further)])
    mine = texts.get(rid, {})
    fields = [(str(label), mine[f]) for f, label in RECORD_FIELDS.get(r["kind"], ())
              if mine.get(f)]
    weeks = {w["number"]: w["theme"] for w in state.programme.get("weeks", [])}
    units = _unit_names(state)

    def other(x: str) -> dict[str, Any]:
        o = state.records[x]
        return {"id": x, "href": link(x), "kind": _name(KIND_NAMES, o["kind"]),
                "title": _fit(_short(o["kind"], texts.get(x, {})), 90),
                "who": _who(o["pseudonym"]), "week": o["week"]}

    return {
        "id": rid, "kind": r["kind"], "kind_name": _name(KIND_NAMES, r["kind"]),
        "fields": fields, "author": author_name(state, rid),
        "erased": r["pseudonym"] == asof.erased_label(),
        "unit": units.get(r["unit"], r["unit"]),
        "units": [units.get(u, u) for u in r["units"] if u != r["unit"]],
        "week": r["week"], "theme": weeks.get(r["week"]),
        "state": _record_state(r), "created_at": r["created_at"],
        "areas": [state.areas[a]["name"] for a in r["areas"] if a in state.areas],
        "based_on": [other(b) for b in based_on], "led_to": [other(x) for x in led_to],
        "further": [{**other(n["id"]), "steps": _steps(n["depth"])} for n in further],
    }


def get_locale_name() -> str:
    from flask_babel import get_locale

    return pick_language(str(get_locale() or ""))


def week_title(w: dict[str, Any]) -> str:
    """"Week 2 · Governance (14 Sep – 18 Sep)": a week as a zoom link's tooltip says it."""
    return _("Week %(number)s: %(theme)s (%(start)s – %(end)s)", number=w["number"],
             theme=theme_name(w["theme"]), start=format_day(w["starts_on"], "short"),
             end=format_day(w["ends_on"], "short"))


def _row(state: ProgrammeState, rid: str, link: Any) -> dict[str, Any]:
    """A record as a row of the chart's table and of a group's list: words, no text."""
    r = state.records[rid]
    units = _unit_names(state)
    return {"id": rid, "href": link(rid), "kind": r["kind"],
            "kind_name": _name(KIND_NAMES, r["kind"]), "week": r["week"],
            "day": _local_day(r["created_at"]), "created_at": r["created_at"],
            "unit": units.get(r["unit"], r["unit"]), "who": _who(r["pseudonym"]),
            "participant": r["pseudonym"] or "",
            "state": _record_state(r)}


def group_card(state: ProgrammeState, first: str, *svgs: dict[str, Any],
               link: Any) -> dict[str, Any] | None:
    """The records of the chart's group that begins with ``first`` (in whichever layout has
    it: the wide one, or the phone's, which groups more), each with a link selecting it."""
    for svg in svgs:
        for members in svg["groups"]:
            if members[0] == first and len(members) > 1:
                return {"id": first, "rows": [_row(state, m, link) for m in members]}
    return None


def chart_table(state: ProgrammeState, svg: dict[str, Any], link: Any) -> list[dict[str, Any]]:
    """"Show as table": the records the chart shows, in log order, as rows."""
    return [_row(state, r["id"], link) for r in svg["records"]]


# what a lineage node shows of its text (researchers): the first field, and an
# experiment's result beside its aim
NODE_TEXTS = {"reflection": ("example",), "decision": ("statement",),
              "experiment": ("aim", "result"), "capability": ("name",)}


def node_texts(state: ProgrammeState, graph: dict[str, Any]) -> dict[str, list[str]]:
    """Record -> the texts a lineage node shows (``NODE_TEXTS``; consent applied)."""
    texts = record_texts(state, [n["id"] for n in graph["nodes"]])
    return {n["id"]: [texts.get(n["id"], {})[f] for f in NODE_TEXTS[n["kind"]]
                      if texts.get(n["id"], {}).get(f)] for n in graph["nodes"]}


def page_summaries(state: ProgrammeState, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Timeline rows with ``summary`` in the page's language, units and themes by name (a
    summary names units by key: "units hr, housing_company")."""
    from flask_babel import get_locale

    from api.web.labels import _summary_patterns, translate

    lang = pick_language(str(get_locale() or ""))
    areas = {a: v.get("name") or a for a, v in state.areas.items()}
    labeller = Labeller(lang, unit_names(state.programme), areas,
                        dimension_names(state.programme))
    out = []
    for row in rows:
        text = row.get("summary")
        if text and lang == "en":  # Labeller.summary leaves English as it is: name the keys
            for pattern, msgid in _summary_patterns():
                found = pattern.match(text)
                if found:
                    text = translate(msgid, "en", **{k: labeller._part(k, v)
                                                     for k, v in found.groupdict().items()})
                    break
        elif text:
            text = labeller.summary(text, row.get("type"))
        out.append({**row, "summary": text})
    return out


def _steps(depth: int) -> str:
    """A lineage node's place, in words: how many "based on" steps back or on."""
    if depth == 0:
        return _("this record")
    if depth < 0:
        return _("%(count)s step back", count=-depth) if depth == -1 else \
            _("%(count)s steps back", count=-depth)
    return _("%(count)s step on", count=depth) if depth == 1 else \
        _("%(count)s steps on", count=depth)


def funnel(state: ProgrammeState) -> dict[str, Any]:
    rows = state.progress()
    totals = {
        "reflections": (KIND_HEADS["reflection"], sum(r["reflections"] for r in rows)),
        "decisions": (KIND_HEADS["decision"], sum(r["decisions"] for r in rows)),
        "experiments": (KIND_HEADS["experiment"],
                        sum(sum(r["experiments"].values()) for r in rows)),
        "adopted": (_("Adopted"), sum(r["outcomes"]["adopt"] for r in rows)),
        "capabilities": (KIND_HEADS["capability"], sum(r["capabilities"] for r in rows)),
    }
    top = max(v for _label, v in totals.values()) or 1
    bars = [{"key": k, "label": str(label), "value": v, "w": round(8 + 292 * v / top, 1),
             "y": 6 + i * 26, "cls": f"bar bar-{k}"}
            for i, (k, (label, v)) in enumerate(totals.items())]
    return {"weeks": rows, "bars": bars, "height": 6 + len(bars) * 26}


@bp.get("/")
@researcher_page
def index() -> str:
    page = programmes_page(framdrift_app(), live=False)
    return render("replay_index.html", programmes=page["items"], page=page, programme=None,
                  synthetic=any(p.get("synthetic") for p in page["items"]))


@bp.get("/<uuid:programme_id>")
@researcher_page
def timeline(programme_id: Any) -> Any:
    sql = _sql()
    at = request.args.get("at", "").strip()
    at_error = None
    try:
        state = asof.moment(sql, programme_id, _local_moment(at) or None)
    except asof.InvalidMomentError:
        # the page as it stands now, the moment typed kept in its field with what to write
        at_error = _("Write a date, or a date and a time, like 2026-09-25 or "
                     "2026-09-25 12:00.")
        state = asof.moment(sql, programme_id, None)
    pid = state.programme_id
    filters = _filters()
    hood = asof.neighbours(sql, pid, state.position)
    first = hood["first"]["position"] if hood["first"] else 0
    last = hood["last"]["position"] if hood["last"] else 0
    selected_id = request.args.get("record") or ""
    if selected_id not in state.records:
        selected_id = ""  # unknown, not yet created, or left out (consent)
    group_id = "" if selected_id else (request.args.get("group") or "")
    speed = request.args.get("speed") if request.args.get("speed") in SPEEDS else "1"
    backwards = request.args.get("dir") == "back"
    selected: set[str] = set()
    chain = None
    card = None
    if selected_id:
        chain = asof.lineage(state, selected_id)
        selected = {n["id"] for n in chain["nodes"]}

    def here(**changes: Any) -> str:
        values = {"at": state.position, **filters, "record": selected_id or None,
                  "group": group_id or None, "speed": None if speed == "1" else speed,
                  **changes}
        return _url("replay.timeline", programme_id=pid, **values)

    def record_link(rid: str) -> str:
        return _url("replay.record", programme_id=pid, record_id=rid, at=state.position)

    def pick(rid: str) -> str:
        return here(record=rid, group=None)

    def pick_group(rid: str) -> str:
        return here(group=rid, record=None)

    if selected_id:
        card = record_card(state, selected_id, pick, chain)
    svg = timeline_svg(state, filters, selected, pick, group_link=pick_group,
                       chosen=selected_id or group_id)
    # on a phone a pick jumps to its card (below the chart): no script needed
    narrow_svg = timeline_svg(state, filters, selected, lambda rid: pick(rid) + "#selection",
                              narrow=True, chosen=selected_id or group_id,
                              group_link=lambda rid: pick_group(rid) + "#selection")
    group = None
    if group_id:
        group = group_card(state, group_id, svg, narrow_svg, link=pick)
    playing = request.args.get("play") == "1"
    delay, factor = SPEEDS[speed]
    step = max(1, (last - first) // PLAY_TICKS) * factor
    play_next = None
    if backwards and state.position > first:
        play_next = here(at=max(first, state.position - step), play="1", dir="back")
    elif not backwards and state.position < last:
        play_next = here(at=min(last, state.position + step), play="1")
    player = {
        "playing": playing and play_next is not None, "next": play_next, "delay": delay,
        "stop": here(), "speed": speed,
        "forward": here(play="1") if state.position < last else None,
        "backward": here(play="1", dir="back") if state.position > first else None,
        "over": here(at=first, play="1") if state.position >= last and last > first
        else None,
        "speeds": [(key, f"{key.replace('.', ',') if get_locale_name() == 'sv' else key}×",
                    here(speed=None if key == "1" else key,
                         play="1" if playing and play_next else None,
                         dir="back" if playing and backwards else None))
                   for key in SPEEDS],
    }
    # the latest events that may be shown (consent applied by timeline_rows)
    view = narrowed(state, filters)  # what the panels count: the records the chart shows
    recent = page_summaries(state, list(reversed(filtered_rows(state, asof.timeline_rows(
        state, asof.changes(sql, pid, after=max(0, state.position - 400),
                            until=state.position)), filters)[-12:])))
    areas = view.development_areas()
    weeks = state.programme.get("weeks", [])
    kept = {k: v for k, v in filters.items() if k in RECORD_FILTERS}  # for the downloads
    context = {
        "state": state, "pid": pid, "svg": svg, "narrow_svg": narrow_svg,
        # the page has folded the state already (consent applied): its funnel is free here,
        # the running totals (asof.progress_at) serve the API's ?as_of= without a fold
        "funnel": funnel(view), "filters": filters,
        "active_filters": active_filters(state, filters),
        "hood": hood, "first": first, "last": last, "at": at, "here": here,
        "record_link": record_link, "chain": chain, "selected_id": selected_id,
        "card": card,
        "player": player, "group": group, "zoom": svg["zoom"],
        "zoom_links": [{"label": _("All weeks"), "href": here(week=None), "week": None}] + [
            {"label": _("W%(number)s", number=w["number"]), "href": here(week=w["number"]),
             "week": w["number"], "title": week_title(w)} for w in weeks],
        "table": chart_table(state, svg, pick),
        "show_table": request.args.get("table") == "1",  # a link to the table, open
        "recent": recent, "areas": areas,
        "all_areas": [{"id": a, **v} for a, v in state.areas.items() if not v["merged_into"]],
        "collaborations": [c for c in view.collaborations() if not filters.get("unit")
                           or filters["unit"] in (c["unit_a"], c["unit_b"])],
        "participants": sorted(p["pseudonym"] for p in state.participants.values()),
        "enrolled": getattr(state, "enrolled", len(state.participants)),
        "units": list(_unit_names(state).items()),
        "kinds": [(k, _name(KIND_NAMES, k)) for k in KINDS], "weeks": weeks,
        "weeks_select": [(w["number"], week_title(w)) for w in weeks],
        "date_value": (_local_input(state.time) or "")[:10],
        "date_min": weeks[0]["starts_on"][:10] if weeks else "",
        "week_ends": [{"label": _("End of week %(number)s", number=w["number"]),
                       "number": w["number"], "href": here(at=w["ends_on"]),
                       "title": format_day(w["ends_on"], "weekday")}
                      for w in weeks],
        "exports": {
            "timeline_csv": _url("replay.export", programme_id=pid, what="timeline",
                                 fmt="csv", at=state.position, **kept),
            "timeline_ndjson": _url("replay.export", programme_id=pid, what="timeline",
                                    fmt="ndjson", at=state.position, **kept),
            "timeline_xlsx": _url("replay.export", programme_id=pid, what="timeline",
                                  fmt="xlsx", at=state.position, **kept),
            "records_xlsx": _url("replay.export", programme_id=pid, what="records",
                                 fmt="xlsx", at=state.position, **kept),
            "records_csv": _url("replay.export", programme_id=pid, what="records", fmt="csv",
                                at=state.position, **kept),
            "records_ndjson": _url("replay.export", programme_id=pid, what="records",
                                   fmt="ndjson", at=state.position, **kept),
            "records_text_csv": _url("replay.export", programme_id=pid, what="records",
                                     fmt="csv", at=state.position, **kept, text="1"),
            "lineage_prov": _url("replay.export", programme_id=pid, what="lineage",
                                 fmt="prov-json", at=state.position, **kept),
        },
        "time_value": at[:60] if at_error else _local_input(state.time),
        "at_errors": {"at-time": [at_error]} if at_error else {},
        "unit_names": _unit_names(state),
        "person_name": _who, "record_state": _record_state, "local_day": _local_day,
    }
    return render("replay.html", programme=state.programme, **context), 422 if at_error else 200


@bp.get("/<uuid:programme_id>/records/<uuid:record_id>")
@researcher_page
def record(programme_id: Any, record_id: Any) -> Any:
    sql = _sql()
    at = request.args.get("at", "").strip()
    try:
        state = asof.moment(sql, programme_id, _local_moment(at) or None)
    except asof.InvalidMomentError as e:
        abort(422, description=e.message)
    rid = str(record_id)
    direction = request.args.get("direction", "both")
    if direction not in ("back", "forward", "both"):
        direction = "both"
    if rid not in state.records:
        abort(404, description=_("No such record in this programme at that moment."))
    graph = asof.lineage(state, rid, direction=direction)
    pid = state.programme_id

    def link(node_id: str) -> str:
        return _url("replay.record", programme_id=pid, record_id=node_id,
                    at=state.position, direction=direction)

    texts = node_texts(state, graph)
    titles = {x: t[0] for x, t in texts.items() if t}
    svg = lineage_svg(state, graph, rid, link, titles=titles)
    narrow_svg = lineage_svg(state, graph, rid, link, narrow=True, titles=titles)
    context = {
        "texts": texts, "steps": _steps,
        "state": state, "pid": pid, "rid": rid, "graph": graph, "direction": direction,
        "svg": svg, "narrow_svg": narrow_svg,
        "kind": state.records[rid]["kind"],
        "directions": [(d, _url("replay.record", programme_id=pid, record_id=rid,
                                at=state.position, direction=d))
                       for d in ("back", "forward", "both")],
        "back_to_replay": _url("replay.timeline", programme_id=pid, at=state.position,
                               record=rid),
        "prov": _url("replay.lineage_prov", programme_id=pid, record_id=rid,
                     at=state.position, direction=direction),
        "json": _url("api_v1_replay.record_lineage", record_id=rid, as_of=state.position,
                     direction=direction),
    }
    context.update(unit_names=_unit_names(state), person_name=_who, record_state=_record_state,
                   local_day=_local_day)
    return render("replay_lineage.html", programme=state.programme, **context)


def _download(body: str | bytes, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = spreadsheet.content_disposition(filename)
    return response


@bp.get("/<uuid:programme_id>/records/<uuid:record_id>/lineage.prov.json")
@researcher_page
def lineage_prov(programme_id: Any, record_id: Any) -> Response:
    state = asof.moment(_sql(), programme_id, request.args.get("at") or None)
    direction = request.args.get("direction", "both")
    graph = asof.lineage(state, record_id, direction=direction if direction in (
        "back", "forward", "both") else "both")
    doc = asof.prov_document(state, [n["id"] for n in graph["nodes"]])
    return _download(json.dumps(doc, indent=1), asof.PROV_MEDIA_TYPE,
                     f"lineage-{record_id}.prov.json")


def export_body(app: Any, state: ProgrammeState, what: str, fmt: str, *,
                with_text: bool = False,
                changes: list[dict[str, Any]] | None = None,
                deidentified: bool = False, salt: str | None = None,
                max_days: int | None = None, lang: str = "sv",
                sep: str = "comma",
                filters: dict[str, str] | None = None) -> tuple[str | bytes, str]:
    """(body, mimetype) of an analysis export (shared with ``framdrift export``).

    ``filters``: the replay page's record filters (participant, unit, area, kind): only
    the records they let through, and their events (``filtered_rows``).

    ``fmt``: csv (UTF-8 with a byte-order mark, separated by ``sep``: comma or
    semicolon), xlsx (typed cells) or ndjson; prov-json for the lineage. Every key column
    has its ``<column>_label`` beside it and summaries are written in ``lang`` (sv, en).

    ``state`` should have consent applied (``asof.with_consent``): text is added only
    with ``with_text``, and only for records whose author consents now and is not erased.
    ``changes``: the timeline's changes when already at hand (else read from the model).
    ``deidentified`` (timeline, records): ``domain.deidentify.export_rows`` — no free text,
    no participant ids or log positions, dates shifted per participant (needs ``salt`` or
    FRAMDRIFT_SECRET_KEY); rows sorted per participant."""
    if deidentified:
        return _deidentified_body(app, state, what, fmt, changes=changes, salt=salt,
                                  max_days=max_days, lang=lang, sep=sep)
    if what == "lineage":
        return json.dumps(asof.prov_document(narrowed(state, filters)), indent=1,
                          ensure_ascii=False), asof.PROV_MEDIA_TYPE
    if what == "timeline":
        if changes is None:
            changes = asof.changes(app.sql, state.programme_id, until=state.position)
        rows = filtered_rows(state, asof.timeline_rows(state, changes), filters)
        columns = asof.TIMELINE_COLUMNS
    else:
        rows = asof.record_rows(narrowed(state, filters),
                                _revealer(app) if with_text else None)
        columns = asof.RECORD_COLUMNS + (asof.TEXT_FIELDS if with_text else [])
    return _table(state, rows, columns, fmt, what, lang, sep)


def _table(state: ProgrammeState, rows: list[dict[str, Any]], columns: list[str], fmt: str,
           what: str, lang: str, sep: str) -> tuple[str | bytes, str]:
    """A table download with names beside keys (``api.web.labels``) in ``lang``. Only
    keys the row already has are named: a label never adds what a participant wrote."""
    areas = {a: v.get("name") or a for a, v in getattr(state, "areas", {}).items()}
    labeller = Labeller(lang, unit_names(state.programme), areas,
                        dimension_names(state.programme))
    return export_file(labeller.add(rows), labelled_columns(columns), fmt, sep=sep,
                       sheet=what)


def _deidentified_body(app: Any, state: ProgrammeState, what: str, fmt: str, *,
                       changes: list[dict[str, Any]] | None, salt: str | None,
                       max_days: int | None, lang: str = "sv",
                       sep: str = "comma") -> tuple[str | bytes, str]:
    from domain.deidentify import (
        DEFAULT_MAX_DAYS,
        DROPPED_FIELDS,
        FREE_TEXT_FIELDS,
        export_rows,
    )

    if what == "timeline":
        if changes is None:
            changes = asof.changes(app.sql, state.programme_id, until=state.position)
        rows = asof.timeline_rows(state, changes)
        for row in rows:
            if row["type"].startswith("Participant."):
                row["id"] = None  # a participant event's id is the participant's id
        columns = asof.TIMELINE_COLUMNS
    elif what == "records":
        rows = asof.record_rows(state)
        columns = asof.RECORD_COLUMNS
    else:
        raise ValueError("only the timeline and the records are exported de-identified")
    rows = [{"programme_id": state.programme_id, **row} for row in rows]
    out = list(export_rows(rows, deidentified=True, salt=salt,
                           max_days=max_days or DEFAULT_MAX_DAYS))
    # sorted per participant: the file's order does not tell how shifted dates interleave
    out.sort(key=lambda r: (r.get("participant") or "", r.get("time") or
                            r.get("created_at") or "", r.get("type") or r.get("kind") or "",
                            r.get("id") or ""))
    left_out = FREE_TEXT_FIELDS | DROPPED_FIELDS
    columns = ["programme_id", *(c for c in columns if c not in left_out)]
    return _table(state, out, columns, fmt, what, lang, sep)


def _revealer(app: Any) -> Any:
    """What a participant wrote in a record, as of the given version of it."""
    from uuid import UUID

    from domain.application import record_to_dict

    def reveal(rid: str, version: int | None = None) -> dict[str, Any]:
        try:
            return record_to_dict(app.repository.get(UUID(rid), version=version))
        except Exception:  # noqa: BLE001 - an unreadable record exports without text
            return {}

    return reveal


@bp.get("/<uuid:programme_id>/export/<what>.<fmt>")
@researcher_page
def export(programme_id: Any, what: str, fmt: str) -> Response:
    """A download of the replay as of ``at``: the timeline or the records as csv, xlsx or
    ndjson (names beside keys and summaries in the page's language, or ``lang=``; CSV
    separated by ``sep=comma|semicolon``), the lineage as PROV-JSON. The file's name says
    what is inside and as of when."""
    allowed = {"timeline": ("csv", "xlsx", "ndjson"), "records": ("csv", "xlsx", "ndjson"),
               "lineage": ("prov-json",)}
    if fmt not in allowed.get(what, ()):
        abort(404)
    app = framdrift_app()
    state = asof.moment(app.sql, programme_id, request.args.get("at") or None)
    with_text = request.args.get("text") == "1"
    from flask_babel import get_locale

    lang = pick_language(request.args.get("lang") or str(get_locale() or ""))
    sep = "semicolon" if request.args.get("sep") == "semicolon" else "comma"
    body, mimetype = export_body(app, state, what, fmt, with_text=with_text, lang=lang,
                                 sep=sep, filters=_filters())
    ext = "prov.json" if fmt == "prov-json" else fmt
    name = f"{what}-with-text" if with_text else what
    title = state.programme.get("title") or state.programme_id
    return _download(body, mimetype, spreadsheet.file_name(title, name, state.time, ext,
                                                           state.position))
