"""Queries on the read models, for the JSON API: plain, JSON-ready dicts and lists.

Every function takes the app's :class:`domain.store.Sql` (``app.sql``). Ids are
strings, dates ISO strings. An unknown programme raises :class:`UnknownProgrammeError`
(a :class:`domain.errors.ProgrammeNotFoundError`, so the API answers 404); bad
filter values raise :class:`InvalidQueryError` (a ``DomainError``: 422).
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from domain import errors
from domain.store import Cursor, Sql
from projections.base import TRACKING_TABLE
from projections.views import ERASED_LABEL, NAMES, PROGRESS_COUNTS


class UnknownProgrammeError(errors.ProgrammeNotFoundError):
    """No programme with that id in the read models."""


class UnknownRecordError(errors.RecordNotFoundError):
    """No record with that id in the programme's lineage."""


class InvalidQueryError(errors.InvalidValueError):
    """A filter or sort value the query does not understand."""


KINDS = ("programme", "participant", "reflection", "decision", "experiment", "capability")
SORTS = {"position": "position", "event_time": "event_time"}


def _uuid(programme_id: Any) -> str:
    try:
        return str(UUID(str(programme_id)))
    except ValueError:
        raise UnknownProgrammeError(f"{programme_id!r} is not a programme id") from None


def _programme_id(cur: Cursor, sql: Sql, programme_id: Any) -> str:
    pid = _uuid(programme_id)
    if not cur.query(f"SELECT 1 AS x FROM {sql.table('pj_programmes')} WHERE programme_id = ?",
                     (pid,)):
        raise UnknownProgrammeError(f"programme {pid} not found")
    return pid


# ------------------------------------------------------------------------------ consent
#
# Consent and erasure are applied here, at query time, from ``pj_consent`` (see
# docs/adr/0004-consent-and-erasure.md): records (and participant events, engagement rows)
# of a participant who has not given consent, or has withdrawn it, are left out; those of
# an erased participant keep their place under the neutral label ``ERASED_LABEL``.
# Programme-level facts (weeks, materials, meetings, areas, maturity) always stay.

# SQL: may the rows of the participant joined as ``c`` be shown? (no row: no consent)
SHOWN = "(c.consent = 1 OR c.erased = 1)"


class Author:
    """What a query needs to know about a participant: may their records be shown, how
    are they named (pseudonym, or the neutral label once erased)."""

    __slots__ = ("consent", "erased", "label")

    def __init__(self, pseudonym: str, consent: bool, erased: bool):
        self.consent = consent
        self.erased = erased
        self.label = ERASED_LABEL if erased else pseudonym

    @property
    def shown(self) -> bool:
        return self.consent or self.erased


def _authors(cur: Cursor, sql: Sql, pid: str) -> dict[str, Author]:
    """Participant id -> :class:`Author`, for one programme."""
    rows = cur.query(
        f"SELECT participant_id, pseudonym, consent, erased FROM {sql.table('pj_consent')} "
        "WHERE programme_id = ?", (pid,))
    return {r["participant_id"]: Author(r["pseudonym"], bool(r["consent"]), bool(r["erased"]))
            for r in rows}


def _shown(authors: dict[str, Author], participant_id: str | None) -> bool:
    if not participant_id:
        return True  # not a participant's row
    author = authors.get(participant_id)
    return author is not None and author.shown


def consent_flags(sql: Sql, programme_id: Any) -> dict[str, dict[str, Any]]:
    """Participant id -> ``{"pseudonym", "consent", "erased", "shown"}`` (for exports that
    read other tables: leave out rows whose participant is not ``shown``)."""
    with sql.reading() as cur:
        pid = _programme_id(cur, sql, programme_id)
        rows = cur.query(
            f"SELECT participant_id, pseudonym, consent, erased "
            f"FROM {sql.table('pj_consent')} WHERE programme_id = ?", (pid,))
    return {r["participant_id"]: {
        "pseudonym": ERASED_LABEL if r["erased"] else r["pseudonym"],
        "consent": bool(r["consent"]), "erased": bool(r["erased"]),
        "shown": bool(r["consent"] or r["erased"])} for r in rows}


# ----------------------------------------------------------------------------- tracking


def position(sql: Sql) -> int:
    """The log position every read model has reached (the lowest tracked position)."""
    rows = sql.query(f"SELECT name, position FROM {sql.table(TRACKING_TABLE)}")
    found = {r["name"]: int(r["position"]) for r in rows}
    return min(found.get(name, 0) for name in NAMES)


def wait_for(sql: Sql, position_: int, timeout: float = 5.0) -> bool:
    """Wait until every read model has reached ``position_``; False on timeout."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        if position(sql) >= position_:
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.2)


# --------------------------------------------------------------------------- programmes


def programmes(sql: Sql) -> list[dict[str, Any]]:
    """Every programme: id, title, organisation, synthetic, closed, weeks, participants."""
    with sql.reading() as cur:
        rows = cur.query(
            f"SELECT programme_id, title, organisation, synthetic, closed, planned_at, position "
            f"FROM {sql.table('pj_programmes')} ORDER BY position, programme_id")
        return _programme_items(cur, sql, rows)


def _programme_items(cur: Cursor, sql: Sql, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The API's programme dicts of ``rows`` (of ``pj_programmes``): their weeks and
    participant counts read for these programmes only (by key, not the whole tables)."""
    ids = [r["programme_id"] for r in rows]
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    weeks = cur.query(
        f"SELECT programme_id, week, theme, starts_on, ends_on FROM {sql.table('pj_weeks')} "
        f"WHERE programme_id IN ({marks}) ORDER BY programme_id, week", ids)
    counts = cur.query(
        f"SELECT programme_id, COUNT(*) AS n FROM {sql.table('pj_participants')} "
        f"WHERE programme_id IN ({marks}) GROUP BY programme_id", ids)
    by_programme: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for w in weeks:
        by_programme[w["programme_id"]].append(
            {"number": int(w["week"]), "theme": w["theme"], "starts_on": w["starts_on"],
             "ends_on": w["ends_on"]})
    participants = {c["programme_id"]: int(c["n"]) for c in counts}
    return [
        {"id": r["programme_id"], "title": r["title"], "organisation": r["organisation"],
         "synthetic": bool(r["synthetic"]), "closed": bool(r["closed"]),
         "planned_at": r["planned_at"], "weeks": by_programme.get(r["programme_id"], []),
         "participants": participants.get(r["programme_id"], 0)}
        for r in rows
    ]


MAX_PROGRAMMES_PAGE = 500


def search_terms(text: str | None) -> list[str]:
    """The words of a programme search, case-folded (å, ä and ö too: SQLite's LIKE and
    lower() fold ASCII only, so the matching is done here, the same on both stores)."""
    return (text or "").casefold().split()


def programme_matches(terms: list[str], programme: dict[str, Any]) -> bool:
    """Whether every search word is in the programme's title or organisation."""
    text = f"{programme['title']}\n{programme['organisation']}".casefold()
    return all(t in text for t in terms)


def programmes_page(sql: Sql, *, after: tuple[int, str] | None = None,
                    limit: int = 50, newest_first: bool = False, search: str | None = None,
                    ) -> tuple[list[dict[str, Any]], tuple[int, str] | None, int]:
    """One page of programmes in a stable order, (log position planned, id):
    ``(items, next, total)``. ``after`` is the (position, id) of the last programme of the
    previous page; ``next`` is that of this page's last one when more follow, else None.

    A programme planned later always sorts after every existing one, so walking the pages
    returns every programme exactly once even while programmes are being added (keyset
    paging: one index range read per page, however many programmes there are).
    ``newest_first`` (the web pages' lists): the same order reversed; a programme planned
    meanwhile is then on the first page, never on a later one.

    ``search``: only programmes whose title or organisation contains every word of it
    (case-folded); ``total`` is then the number that match. Searching reads the titles
    of every programme (a municipality's tens or hundreds; two short columns each)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or \
            not 0 < limit <= MAX_PROGRAMMES_PAGE:
        raise InvalidQueryError(f"limit must be 1..{MAX_PROGRAMMES_PAGE}", field="limit")
    terms = search_terms(search)
    if terms:
        return _programmes_found(sql, terms, after=after, limit=limit,
                                 newest_first=newest_first)
    where, params = "", []
    if after is not None:
        where = f"WHERE (position, programme_id) {'<' if newest_first else '>'} (?, ?)"
        params = [int(after[0]), str(after[1])]
    order = "position DESC, programme_id DESC" if newest_first else "position, programme_id"
    table = sql.table("pj_programmes")
    with sql.reading() as cur:
        rows = cur.query(
            f"SELECT programme_id, title, organisation, synthetic, closed, planned_at, position "
            f"FROM {table} {where} ORDER BY {order} LIMIT ?",
            [*params, limit + 1])
        total = int(cur.query(f"SELECT COUNT(*) AS n FROM {table}")[0]["n"])
        more = len(rows) > limit
        rows = rows[:limit]
        items = _programme_items(cur, sql, rows)
    last = (int(rows[-1]["position"]), rows[-1]["programme_id"]) if more else None
    return items, last, total


def _programmes_found(sql: Sql, terms: list[str], *, after: tuple[int, str] | None,
                      limit: int, newest_first: bool,
                      ) -> tuple[list[dict[str, Any]], tuple[int, str] | None, int]:
    """:func:`programmes_page` for a search: the same order and cursor, matched here."""
    order = "position DESC, programme_id DESC" if newest_first else "position, programme_id"
    table = sql.table("pj_programmes")
    with sql.reading() as cur:
        rows = cur.query(
            f"SELECT programme_id, title, organisation, synthetic, closed, planned_at, position "
            f"FROM {table} ORDER BY {order}")
        found = [r for r in rows if programme_matches(terms, r)]
        start = 0
        if after is not None:  # the first one past the cursor, in the page's order
            key = (int(after[0]), str(after[1]))
            start = next((i for i, r in enumerate(found)
                          if ((int(r["position"]), r["programme_id"]) < key) is newest_first
                          and (int(r["position"]), r["programme_id"]) != key), len(found))
        page = found[start:start + limit]
        more = len(found) > start + limit
        items = _programme_items(cur, sql, page)
    last = (int(page[-1]["position"]), page[-1]["programme_id"]) if more else None
    return items, last, len(found)


def programme(sql: Sql, programme_id: Any) -> dict[str, Any]:
    """One programme, looked up by its key (as in :func:`programmes`)."""
    pid = _uuid(programme_id)
    # One statement (one snapshot, one round trip, ADR 0023): the programme's row once
    # per week (once with NULLs when it has none), its participants counted beside.
    rows = sql.query(
        "SELECT p.programme_id, p.title, p.organisation, p.synthetic, p.closed, "
        "p.planned_at, p.position, w.week, w.theme, w.starts_on, w.ends_on, "
        f"(SELECT COUNT(*) FROM {sql.table('pj_participants')} n "
        "WHERE n.programme_id = p.programme_id) AS participants "
        f"FROM {sql.table('pj_programmes')} p LEFT JOIN {sql.table('pj_weeks')} w "
        "ON w.programme_id = p.programme_id WHERE p.programme_id = ? ORDER BY w.week",
        (pid,))
    if not rows:
        raise UnknownProgrammeError(f"programme {pid} not found")
    r = rows[0]
    return {"id": r["programme_id"], "title": r["title"], "organisation": r["organisation"],
            "synthetic": bool(r["synthetic"]), "closed": bool(r["closed"]),
            "planned_at": r["planned_at"],
            "weeks": [{"number": int(w["week"]), "theme": w["theme"],
                       "starts_on": w["starts_on"], "ends_on": w["ends_on"]}
                      for w in rows if w["week"] is not None],
            "participants": int(r["participants"])}


def state(sql: Sql, programme_id: Any = None) -> tuple[int, str | None]:
    """``(position(sql), version(sql, programme_id))`` in one statement (one snapshot,
    one round trip): what every API read needs before its answer (ADR 0023)."""
    tracking = sql.table(TRACKING_TABLE)
    names = ", ".join("?" * len(NAMES))
    if programme_id is None:
        rows = sql.query(f"SELECT name, position, NULL AS last FROM {tracking}")
    else:
        # the programme's last event at or before the lowest read model (0 while one
        # has no row yet: as ``position``), beside the tracking rows
        rows = sql.query(
            f"SELECT name, position, NULL AS last FROM {tracking} UNION ALL "
            f"SELECT '', 0, MAX(t.position) FROM {sql.table('pj_timeline')} t "
            "WHERE t.programme_id = ? AND t.position <= ("
            f"SELECT CASE WHEN COUNT(*) = ? THEN MIN(position) ELSE 0 END FROM {tracking} "
            f"WHERE name IN ({names}))",
            (str(programme_id), len(NAMES), *NAMES))
    found = {r["name"]: int(r["position"]) for r in rows if r["name"]}
    positions = [found.get(name, 0) for name in NAMES]
    low = min(positions)
    spread = "" if low == max(positions) else "/" + ",".join(map(str, positions))
    if programme_id is None:
        return low, f"{low}{spread}"
    last = next((r["last"] for r in rows if not r["name"]), None)
    if not last:
        return low, None
    return low, f"{programme_id}@{int(last)}{spread}"


def version(sql: Sql, programme_id: Any = None) -> str | None:
    """A cheap token that changes whenever an answer about ``programme_id`` (or, without
    one, about the programmes' list) may change: for the API's ETags, read before the
    answer is computed, so a matching ``If-None-Match`` is answered without computing it.

    When every read model has reached the same position P (the runner moves them together
    in one transaction), an answer about a programme depends only on its events up to P,
    and every event of a programme has a timeline row: the token is the position of its
    last event <= P (one index seek on ``pj_timeline (programme_id, position)``), so
    writes to other programmes leave its ETag alone. While the read models stand at
    different positions (a new or rebuilt one catching up), it is all their positions.
    None for a programme with no events (unknown: let the query answer 404). One
    statement: :func:`state`."""
    return state(sql, None if programme_id is None else str(programme_id))[1]


# ----------------------------------------------------------------------------- timeline


def _instant(value: Any, *, end: bool, name: str) -> str:
    """An ISO instant in UTC for comparing with event times; a bare date covers the day."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value + timedelta(days=1) if end else value,
                                  datetime.min.time())
    else:
        text = str(value).strip()
        try:
            if len(text) == 10:
                return _instant(date.fromisoformat(text), end=end, name=name)
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidQueryError(f"{text!r} is not an ISO date or time", field=name) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def timeline(
    sql: Sql,
    programme_id: Any,
    *,
    since: Any = None,
    until: Any = None,
    participant: str | None = None,
    unit: str | None = None,
    kind: str | None = None,
    week: int | None = None,
    sort: str = "position",
    descending: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """A programme's events, filtered and paged: (rows, total matching).

    ``since`` / ``until`` are ISO dates or times (event time; a bare ``until`` date
    includes that day); ``participant`` is a pseudonym or a participant id.
    """
    if sort not in SORTS:
        raise InvalidQueryError(f"sort must be one of: {', '.join(SORTS)}", field="sort")
    if kind is not None and kind not in KINDS:
        raise InvalidQueryError(f"kind must be one of: {', '.join(KINDS)}", field="kind")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 < limit <= 1000:
        raise InvalidQueryError("limit must be 1..1000", field="limit")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidQueryError("offset must be 0 or more", field="offset")
    # Rows of participants without consent are left out. An erased participant's records
    # stay (anonymous); their own participant events do not: the event's record id is
    # their participant id, from which the pseudonym can be recomputed.
    where, params = ["t.programme_id = ?",
                     "(t.participant_id IS NULL OR c.consent = 1 "
                     "OR (c.erased = 1 AND t.kind <> 'participant'))"], []
    if since is not None:
        where.append("t.event_time >= ?")
        params.append(_instant(since, end=False, name="since"))
    if until is not None:
        bare = isinstance(until, date) and not isinstance(until, datetime) or (
            isinstance(until, str) and len(until.strip()) == 10)
        where.append("t.event_time < ?" if bare else "t.event_time <= ?")
        params.append(_instant(until, end=True, name="until"))
    if participant:
        # an erased participant's rows are anonymous: they cannot be picked out
        where.append("(t.participant = ? OR t.participant_id = ?) AND c.erased = 0")
        params += [participant, participant]
    if unit:
        where.append("t.unit = ?")
        params.append(unit)
    if kind:
        where.append("t.kind = ?")
        params.append(kind)
    if week is not None:
        where.append("t.week = ?")
        params.append(int(week))
    order = f"t.{SORTS[sort]} {'DESC' if descending else 'ASC'}"
    if sort != "position":
        order += f", t.position {'DESC' if descending else 'ASC'}"
    # consent is joined for this programme only (never the whole table)
    table = (f"{sql.table('pj_timeline')} t LEFT JOIN {sql.table('pj_consent')} c "
             "ON c.participant_id = t.participant_id AND c.programme_id = ?")
    condition = " AND ".join(where)
    pid = _uuid(programme_id)
    with sql.reading() as cur:
        args = [pid, pid, *params]
        # the programme's check beside the count: one round trip (ADR 0023)
        head = cur.query(
            f"SELECT (SELECT COUNT(*) FROM {table} WHERE {condition}) AS n, "
            f"(SELECT COUNT(*) FROM {sql.table('pj_programmes')} WHERE programme_id = ?) "
            "AS known", [*args, pid])[0]
        if not head["known"]:
            raise UnknownProgrammeError(f"programme {pid} not found")
        total = int(head["n"])
        # The actor is named by pseudonym: another participant acting is named only while
        # they consent, and never once erased.
        rows = cur.query(
            f"SELECT t.position, t.event_time, t.event_type, t.kind, t.record_id, "
            f"CASE WHEN c.erased = 1 THEN ? ELSE t.participant END AS participant, t.unit, "
            f"t.week, t.theme, t.summary, "
            f"CASE WHEN a.erased = 1 THEN ? WHEN a.consent = 0 THEN 'participant' "
            f"ELSE t.actor END AS actor "
            f"FROM {table} LEFT JOIN {sql.table('pj_consent')} a "
            "ON a.programme_id = ? AND a.pseudonym = t.actor "
            f"WHERE {condition} ORDER BY {order} LIMIT ? OFFSET ?",
            [ERASED_LABEL, ERASED_LABEL, pid, *args, limit, offset])  # pid: the actor's join
    for r in rows:
        r["position"] = int(r["position"])
        r["programme_id"] = pid
    return rows, total


# ----------------------------------------------------------------------------- progress


def progress(sql: Sql, programme_id: Any) -> list[dict[str, Any]]:
    """One row per week: the funnel from reflections to capabilities."""
    pid = _uuid(programme_id)
    sums = ", ".join(f"SUM(p.{c}) AS {c}" for c in PROGRESS_COUNTS)
    # One statement (one snapshot, one round trip): the weeks beside the programme's own
    # row, so an unknown programme has no row and a known one without counts a row of
    # NULLs (ADR 0023).
    rows = sql.query(
        f"SELECT x.* FROM {sql.table('pj_programmes')} pr LEFT JOIN ("
        f"SELECT p.week, MAX(p.theme) AS theme, {sums} FROM {sql.table('pj_progress')} p "
        f"LEFT JOIN {sql.table('pj_consent')} c ON c.participant_id = p.participant_id "
        "AND c.programme_id = ? "  # this programme's consent only
        f"WHERE p.programme_id = ? AND (p.participant_id = '' OR {SHOWN}) "
        "GROUP BY p.week) x ON 1 = 1 WHERE pr.programme_id = ? ORDER BY x.week",
        (pid, pid, pid))
    if not rows:
        raise UnknownProgrammeError(f"programme {pid} not found")
    out = []
    for r in rows:
        if r["week"] is None:
            continue  # the programme's row: no counts yet
        row: dict[str, Any] = {"week": int(r["week"]), "theme": r["theme"]}
        row.update({c: int(r[c]) for c in PROGRESS_COUNTS})
        row["experiments"] = sum(row[f"experiments_{s}"]
                                 for s in ("planned", "started", "evaluated", "concluded"))
        out.append(row)
    return out


# ------------------------------------------------------------------------------ lineage


def lineage(sql: Sql, programme_id: Any, record_id: Any = None) -> dict[str, Any]:
    """Nodes and edges (``from`` builds on ``to``); with ``record_id`` only what that
    record came from (backwards) and what came of it (forwards). Each edge says whether it
    crosses participants (its two ends have different authors) and units; the answer
    counts both (``cross_participant_links``, ``cross_unit_links``)."""
    with sql.reading() as cur:
        pid = _programme_id(cur, sql, programme_id)
        authors = _authors(cur, sql, pid)
        nodes = cur.query(
            f"SELECT record_id, kind, week, unit, participant_id, participant, void, stage, "
            f"outcome, cycle, created_at, shared FROM {sql.table('pj_lineage_nodes')} "
            "WHERE programme_id = ? ORDER BY position", (pid,))
        edges = cur.query(
            f"SELECT from_id, to_id, relation FROM {sql.table('pj_lineage_edges')} "
            "WHERE programme_id = ? ORDER BY from_id, to_id", (pid,))
    node_list = [
        {"id": n["record_id"], "kind": n["kind"], "week": int(n["week"]), "unit": n["unit"],
         "participant": authors[n["participant_id"]].label, "void": bool(n["void"]),
         "stage": n["stage"], "outcome": n["outcome"], "cycle": n["cycle"],
         "created_at": n["created_at"], "shared": bool(n["shared"])}
        for n in nodes if _shown(authors, n["participant_id"])
    ]
    ends = {n["record_id"]: (n["participant_id"], n["unit"]) for n in nodes}
    shown = {n["id"] for n in node_list}
    # a link to a record that is left out is left out with it
    edge_list = [{"from": e["from_id"], "to": e["to_id"], "relation": e["relation"],
                  "cross_participant": ends[e["from_id"]][0] != ends[e["to_id"]][0],
                  "cross_unit": ends[e["from_id"]][1] != ends[e["to_id"]][1]}
                 for e in edges if e["from_id"] in shown and e["to_id"] in shown]
    if record_id is None:
        return {"nodes": node_list, "edges": edge_list, **_crossing(edge_list)}
    rid = str(record_id)
    if rid not in shown:
        raise UnknownRecordError(f"record {rid} not found in programme {pid}")
    back: dict[str, list[str]] = defaultdict(list)
    forth: dict[str, list[str]] = defaultdict(list)
    for e in edge_list:
        back[e["from"]].append(e["to"])
        forth[e["to"]].append(e["from"])
    keep = {rid}
    for links in (back, forth):
        stack = [rid]
        while stack:
            for nxt in links.get(stack.pop(), []):
                if nxt not in keep:
                    keep.add(nxt)
                    stack.append(nxt)
    kept = [e for e in edge_list if e["from"] in keep and e["to"] in keep]
    return {
        "record_id": rid,
        "nodes": [n for n in node_list if n["id"] in keep],
        "edges": kept,
        **_crossing(kept),
    }


def _crossing(edges: list[dict[str, Any]]) -> dict[str, int]:
    return {"cross_participant_links": sum(1 for e in edges if e["cross_participant"]),
            "cross_unit_links": sum(1 for e in edges if e["cross_unit"])}


# -------------------------------------------------------------------- development areas


def development_areas(sql: Sql, programme_id: Any) -> list[dict[str, Any]]:
    """Live areas (merged ones folded into their target): records, participants, units."""
    with sql.reading() as cur:
        pid = _programme_id(cur, sql, programme_id)
        areas = cur.query(
            f"SELECT area_id, name, description, merged_into, identified_at "
            f"FROM {sql.table('pj_areas')} WHERE programme_id = ? ORDER BY area_id", (pid,))
        authors = _authors(cur, sql, pid)
        links = [link for link in cur.query(
            f"SELECT record_id, area_id, kind, participant_id, unit "
            f"FROM {sql.table('pj_area_records')} WHERE programme_id = ?", (pid,))
            if _shown(authors, link["participant_id"])]
    merged = {a["area_id"]: a["merged_into"] for a in areas}

    def resolve(area_id: str) -> str:
        seen = set()
        while merged.get(area_id) and area_id not in seen:
            seen.add(area_id)
            area_id = merged[area_id]
        return area_id

    stats: dict[str, dict[str, Any]] = {}
    for a in areas:
        if not a["merged_into"]:
            stats[a["area_id"]] = {
                "id": a["area_id"], "name": a["name"], "description": a["description"] or "",
                "identified_at": a["identified_at"], "merged": [],
                "_records": {}, "_participants": set(), "_units": set()}
    for a in areas:
        if a["merged_into"] and resolve(a["area_id"]) in stats:
            stats[resolve(a["area_id"])]["merged"].append(a["area_id"])
    for link in links:
        target = stats.get(resolve(link["area_id"]))
        if target is None:
            continue
        target["_records"][link["record_id"]] = link["kind"]
        target["_participants"].add(link["participant_id"])
        target["_units"].add(link["unit"])
    out = []
    for s in stats.values():
        kinds = list(s.pop("_records").values())
        s["records"] = len(kinds)
        s["by_kind"] = {k: kinds.count(k) for k in ("reflection", "decision", "experiment",
                                                     "capability")}
        s["participants"] = len(s.pop("_participants"))
        units = s.pop("_units")
        s["units"] = len(units)
        s["unit_keys"] = sorted(units)
        out.append(s)
    return out


# --------------------------------------------------------------------------- engagement


def engagement(sql: Sql, programme_id: Any) -> dict[str, Any]:
    """Per participant (pseudonym, unit) and per unit: material, check-ins, sessions."""
    with sql.reading() as cur:
        pid = _programme_id(cur, sql, programme_id)
        totals = cur.query(
            f"SELECT materials, check_ins, sessions FROM {sql.table('pj_eng_programmes')} "
            "WHERE programme_id = ?", (pid,))
        authors = _authors(cur, sql, pid)
        people = [p for p in cur.query(
            f"SELECT participant_id, pseudonym, unit, role "
            f"FROM {sql.table('pj_eng_participants')} WHERE programme_id = ? "
            "ORDER BY pseudonym", (pid,)) if _shown(authors, p["participant_id"])]
        materials = cur.query(
            f"SELECT participant_id, COUNT(*) AS n FROM {sql.table('pj_eng_materials')} "
            "WHERE programme_id = ? GROUP BY participant_id", (pid,))
        attendance = cur.query(
            f"SELECT a.participant_id, m.kind, COUNT(*) AS n "
            f"FROM {sql.table('pj_eng_attendance')} a JOIN {sql.table('pj_eng_meetings')} m "
            "ON m.programme_id = a.programme_id AND m.meeting_id = a.meeting_id "
            "WHERE a.programme_id = ? AND a.attended = 1 GROUP BY a.participant_id, m.kind",
            (pid,))
    total = totals[0] if totals else {"materials": 0, "check_ins": 0, "sessions": 0}
    published, check_ins, sessions = (int(total["materials"]), int(total["check_ins"]),
                                      int(total["sessions"]))
    taken = {m["participant_id"]: int(m["n"]) for m in materials}
    attended: dict[tuple[str, str], int] = {
        (a["participant_id"], a["kind"]): int(a["n"]) for a in attendance}
    participants = []
    units: dict[str, dict[str, Any]] = {}
    for p in people:
        author = authors[p["participant_id"]]
        row = {
            "participant": author.label, "unit": p["unit"], "role": p["role"],
            "consent": author.consent, "erased": author.erased,
            "materials": taken.get(p["participant_id"], 0), "materials_published": published,
            "check_ins": attended.get((p["participant_id"], "check_in"), 0),
            "check_ins_held": check_ins,
            "sessions": attended.get((p["participant_id"], "session"), 0),
            "sessions_held": sessions,
        }
        participants.append(row)
        u = units.setdefault(p["unit"], {"unit": p["unit"], "participants": 0, "materials": 0,
                                         "check_ins": 0, "sessions": 0})
        u["participants"] += 1
        for key in ("materials", "check_ins", "sessions"):
            u[key] += row[key]
    unit_rows = []
    for u in sorted(units.values(), key=lambda x: x["unit"]):
        n = u["participants"]
        u["materials_share"] = round(u["materials"] / (n * published), 4) if published else 0.0
        u["check_in_share"] = round(u["check_ins"] / (n * check_ins), 4) if check_ins else 0.0
        u["session_share"] = round(u["sessions"] / (n * sessions), 4) if sessions else 0.0
        unit_rows.append(u)
    return {"materials_published": published, "check_ins_held": check_ins,
            "sessions_held": sessions, "participants": participants, "units": unit_rows}


# ------------------------------------------------------------------------ collaborations


def collaborations(sql: Sql, programme_id: Any, week: int | None = None) -> list[dict[str, Any]]:
    """Pairs of units (a < b) working together, per week: live decisions and experiments
    naming both units, ``links`` ("based on" and next-cycle links from a record of one unit
    to a record of the other, in the week of the later record) and ``teams`` (experiments
    and capabilities whose team has members of both)."""
    where, params = f"p.programme_id = ? AND {SHOWN}", []
    if week is not None:
        where += " AND p.week = ?"
        params.append(int(week))
    with sql.reading() as cur:
        pid = _programme_id(cur, sql, programme_id)
        rows = cur.query(
            f"SELECT p.week, p.unit_a, p.unit_b, SUM(p.decisions) AS decisions, "
            f"SUM(p.experiments) AS experiments FROM {sql.table('pj_collab_pairs')} p "
            f"JOIN {sql.table('pj_consent')} c ON c.participant_id = p.participant_id "
            f"WHERE {where} GROUP BY p.week, p.unit_a, p.unit_b "
            "HAVING SUM(p.decisions) > 0 OR SUM(p.experiments) > 0 "
            "ORDER BY p.week, p.unit_a, p.unit_b", [pid, *params])
        links = _links(cur, sql, pid)
        teams = _teams(cur, sql, pid)
    found: dict[tuple[int, str, str], dict[str, Any]] = {
        (int(r["week"]), r["unit_a"], r["unit_b"]): {
            "week": int(r["week"]), "unit_a": r["unit_a"], "unit_b": r["unit_b"],
            "decisions": int(r["decisions"]), "experiments": int(r["experiments"]),
            "links": 0, "teams": 0}
        for r in rows}

    def row(w: int, a: str, b: str) -> dict[str, Any]:
        a, b = min(a, b), max(a, b)
        return found.setdefault((w, a, b), {"week": w, "unit_a": a, "unit_b": b,
                                             "decisions": 0, "experiments": 0,
                                             "links": 0, "teams": 0})

    for link in links:
        if link["cross_unit"] and (week is None or link["week"] == week):
            row(link["week"], link["from_unit"], link["to_unit"])["links"] += 1
    for (w, _rid), units in teams.items():
        if week is None or w == week:
            ordered = sorted(units)
            for i, a in enumerate(ordered):
                for b in ordered[i + 1:]:
                    row(w, a, b)["teams"] += 1
    return [found[k] for k in sorted(found)]


def _links(cur: Cursor, sql: Sql, pid: str) -> list[dict[str, Any]]:
    """Every lineage link of the programme whose two ends may be shown, with both ends'
    authors and units (the week is the later record's)."""
    authors = _authors(cur, sql, pid)
    nodes = {n["record_id"]: n for n in cur.query(
        f"SELECT record_id, week, unit, participant_id FROM {sql.table('pj_lineage_nodes')} "
        "WHERE programme_id = ?", (pid,)) if _shown(authors, n["participant_id"])}
    out = []
    for e in cur.query(f"SELECT from_id, to_id FROM {sql.table('pj_lineage_edges')} "
                       "WHERE programme_id = ?", (pid,)):
        a, b = nodes.get(e["from_id"]), nodes.get(e["to_id"])
        if a is None or b is None:
            continue
        out.append({"week": int(a["week"]), "from_unit": a["unit"], "to_unit": b["unit"],
                    "cross_participant": a["participant_id"] != b["participant_id"],
                    "cross_unit": a["unit"] != b["unit"]})
    return out


def _teams(cur: Cursor, sql: Sql, pid: str) -> dict[tuple[int, str], set[str]]:
    """(week, record) -> the units of its team's shown members (author included)."""
    authors = _authors(cur, sql, pid)
    teams: dict[tuple[int, str], set[str]] = defaultdict(set)
    rows = cur.query(
        f"SELECT record_id, member_id, week, unit, author FROM {sql.table('pj_collab_teams')} "
        "WHERE programme_id = ?", (pid,))
    leaders = {r["record_id"]: r["member_id"] for r in rows if r["author"]}
    for r in rows:
        # a record left out (its author does not consent) takes its team with it
        if _shown(authors, r["member_id"]) and _shown(authors, leaders.get(r["record_id"])):
            teams[(int(r["week"]), r["record_id"])].add(r["unit"])
    return {k: v for k, v in teams.items() if len(v) > 1}


def collaboration_links(sql: Sql, programme_id: Any, week: int | None = None) -> dict[str, Any]:
    """How much the programme built across people and units: lineage links whose two ends
    have different authors (``cross_participant_links``) or units (``cross_unit_links``),
    of ``links`` in all, and ``joint_records`` (experiments and capabilities whose team
    spans units); after consent, optionally for one week (the later record's)."""
    with sql.reading() as cur:
        pid = _programme_id(cur, sql, programme_id)
        links = [x for x in _links(cur, sql, pid) if week is None or x["week"] == week]
        teams = [k for k in _teams(cur, sql, pid) if week is None or k[0] == week]
    return {"links": len(links),
            "cross_participant_links": sum(1 for x in links if x["cross_participant"]),
            "cross_unit_links": sum(1 for x in links if x["cross_unit"]),
            "joint_records": len(teams)}


# ----------------------------------------------------------------------------- maturity


def maturity(sql: Sql, programme_id: Any) -> list[dict[str, Any]]:
    """Per dimension and unit (``None``: the whole organisation): before, after, change."""
    with sql.reading() as cur:
        pid = _programme_id(cur, sql, programme_id)
        rows = cur.query(
            f"SELECT unit, dimension, phase, score, assessed_on, instrument "
            f"FROM {sql.table('pj_maturity')} WHERE programme_id = ? "
            "ORDER BY unit, dimension", (pid,))
    grouped: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        g = grouped.setdefault((r["unit"], r["dimension"]), {
            "dimension": r["dimension"], "unit": r["unit"] or None, "before": None,
            "after": None, "before_assessed_on": None, "after_assessed_on": None,
            "instrument": r["instrument"]})
        g[r["phase"]] = float(r["score"])
        g[f"{r['phase']}_assessed_on"] = r["assessed_on"]
    out = []
    for g in grouped.values():
        g["change"] = (round(g["after"] - g["before"], 4)
                       if g["before"] is not None and g["after"] is not None else None)
        out.append(g)
    out.sort(key=lambda g: (g["unit"] is not None, g["unit"] or "", g["dimension"]))
    return out


# ------------------------------------------------------------ building on colleagues' work

RECORD_KINDS = ("reflection", "decision", "experiment", "capability")
# A record's texts, the first one its title (what the participant pages show).
RECORD_TEXTS: dict[str, tuple[str, ...]] = {
    "reflection": ("example", "deficiency", "solutions"),
    "decision": ("statement", "rationale"),
    "experiment": ("aim", "change", "prediction", "measure"),
    "capability": ("name", "description"),
}


def _created_and_shared_topics() -> list[str]:
    from eventsourcing.utils import get_topic

    from domain.model import Capability, Decision, Experiment, Reflection

    return [get_topic(getattr(cls, name)) for cls in (Reflection, Decision, Experiment,
                                                      Capability)
            for name in ("Logged", "Made", "Planned", "Established", "Shared",
                         "TeamMemberAdded", "TeamMemberJoined") if hasattr(cls, name)]


def shared_records(
    app: Any,
    programme_id: Any,
    *,
    viewer_id: Any = None,
    text: str | None = None,
    week: int | None = None,
    unit: str | None = None,
    kind: str | None = None,
    area: str | None = None,
    limit: int = 50,
    kinds: tuple[str, ...] | None = None,
) -> list[dict[str, Any]]:
    """What a participant may build on ("based on" picker), newest first: every record of
    the programme its author shared with the course group, any author and unit, and the
    viewer's own and team's records whether shared or not; never withdrawn or reversed ones.

    ``app`` is the :class:`domain.application.Framdrift` (texts are personal data, sealed
    per author: they are read from the records themselves, as the participant pages do;
    the lineage read model, which has no text, narrows the candidates first, and the log
    after the read model's position adds what was just written). ``text``: a
    case-insensitive search in the record's texts; ``week``, ``unit`` (the author's),
    ``kind``, ``area`` (a development area id; merged areas count for their target)
    filter; ``kinds``: any of these kinds (the picker of a form that may build on several;
    filtered before the ``limit``, so older records of those kinds are not crowded out by
    newer ones of others). Each row: ``id, kind, week, unit, unit_name, author_id, author`` (the
    author's name; ``"erased participant"`` once erased), ``own, shared, team, title,
    texts`` (field -> text), ``development_areas, created_on, version``.
    """
    from domain import errors as domain_errors

    if kind is not None and kind not in RECORD_KINDS:
        raise InvalidQueryError(f"kind must be one of: {', '.join(RECORD_KINDS)}", field="kind")
    if kinds is not None and (not kinds or not set(kinds) <= set(RECORD_KINDS)):
        raise InvalidQueryError(f"kinds must be some of: {', '.join(RECORD_KINDS)}",
                                field="kinds")
    if week is not None and (isinstance(week, bool) or not isinstance(week, int)):
        raise InvalidQueryError("week must be a whole number", field="week")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 < limit <= 1000:
        raise InvalidQueryError("limit must be 1..1000", field="limit")
    try:
        programme = app.get_programme(programme_id)
    except domain_errors.NotFoundError:
        raise UnknownProgrammeError(f"programme {programme_id} not found") from None
    pid = programme["id"]
    viewer = str(viewer_id) if viewer_id is not None else None
    needle = (text or "").strip().casefold()
    merged = {a["area_id"]: a.get("merged_into") for a in programme["development_areas"]}

    def live(area_id: str) -> str:
        seen: set[str] = set()
        while merged.get(area_id) and area_id not in seen:
            seen.add(area_id)
            area_id = merged[area_id]  # type: ignore[assignment]
        return area_id

    # candidates, newest first: the log after the read model's position, then the model
    sql = app.sql
    rows: list[dict[str, Any]] = []
    try:
        reached = position(sql)
        if reached:
            where, params = ["programme_id = ?", "void = 0"], [pid]
            mine = "participant_id = ?" if viewer else "0 = 1"
            where.append(f"(shared = 1 OR {mine} OR record_id IN (SELECT record_id FROM "
                         f"{sql.table('pj_collab_teams')} WHERE member_id = ?))")
            params += [viewer, viewer] if viewer else [""]
            for column, value in (("week", week), ("unit", unit), ("kind", kind)):
                if value is not None and value != "":
                    where.append(f"{column} = ?")
                    params.append(value)
            if kinds:
                where.append(f"kind IN ({', '.join('?' * len(kinds))})")
                params.extend(kinds)
            rows = sql.query(
                f"SELECT record_id FROM {sql.table('pj_lineage_nodes')} "
                f"WHERE {' AND '.join(where)} ORDER BY position DESC", tuple(params))
    except Exception:  # noqa: BLE001 - no read models (yet), or of another shape: the log
        reached, rows = 0, []
    tail: list[str] = []
    start = reached + 1
    while page := app.recorder.select_notifications(start=start, limit=500,
                                                    topics=_created_and_shared_topics()):
        tail.extend(str(n.originator_id) for n in page)
        start = page[-1].id + 1
    candidates = [*reversed(tail), *(r["record_id"] for r in rows)]
    authors: dict[str, dict[str, Any]] = {}
    units = {u["key"]: u["name"] for u in programme["units"]}
    out: list[dict[str, Any]] = []
    for rid in dict.fromkeys(candidates):
        try:
            r = app.get_record(rid)
        except domain_errors.NotFoundError:
            continue
        own = viewer is not None and (r["participant_id"] == viewer
                                      or viewer in r.get("team", []))
        if r["programme_id"] != pid or r["void"] or not (r["shared"] or own):
            continue
        if (week is not None and r["week"] != week) or (unit and r["unit"] != unit) \
                or (kind and r["kind"] != kind) or (kinds and r["kind"] not in kinds):
            continue
        if area and live(area) not in {live(a) for a in r["development_areas"]}:
            continue
        texts = {f: r[f] for f in RECORD_TEXTS[r["kind"]] if r.get(f)}
        if needle and not any(needle in str(t).casefold() for t in texts.values()):
            continue
        author = authors.get(r["participant_id"])
        if author is None:
            try:
                author = authors[r["participant_id"]] = app.get_participant(r["participant_id"])
            except domain_errors.NotFoundError:
                continue
        out.append({
            "id": r["id"], "kind": r["kind"], "week": r["week"], "unit": r["unit"],
            "unit_name": units.get(r["unit"], r["unit"]), "author_id": r["participant_id"],
            "author": ERASED_LABEL if author["erased"] else author["name"],
            "own": r["participant_id"] == viewer, "shared": r["shared"],
            "team": list(r.get("team", [])),
            "title": texts.get(RECORD_TEXTS[r["kind"]][0], ""), "texts": texts,
            "development_areas": list(r["development_areas"]),
            "created_on": r["created_on"], "version": r["version"],
        })
        if len(out) >= limit:
            break
    return out


# ------------------------------------------------------------------ programme overview


def week_glance(sql: Sql, programme_id: Any, week: int) -> dict[str, Any]:
    """One course week at a glance, per participant whose records may be shown: records
    logged that week (live ones), this week's material taken, this week's check-ins and
    sessions attended; with what the week offered (``materials``, ``check_ins``,
    ``sessions``). For the researchers' programme overview."""
    with sql.reading() as cur:
        pid = _programme_id(cur, sql, programme_id)
        authors = _authors(cur, sql, pid)
        people = [p for p in cur.query(
            f"SELECT participant_id, unit FROM {sql.table('pj_eng_participants')} "
            "WHERE programme_id = ? ORDER BY unit, pseudonym", (pid,))
            if _shown(authors, p["participant_id"])]
        logged = {r["participant_id"]: int(r["n"]) for r in cur.query(
            f"SELECT participant_id, COUNT(*) AS n FROM {sql.table('pj_lineage_nodes')} "
            "WHERE programme_id = ? AND week = ? AND void = 0 GROUP BY participant_id",
            (pid, int(week)))}
        offered = {r["kind"]: int(r["n"]) for r in cur.query(
            f"SELECT kind, COUNT(*) AS n FROM {sql.table('pj_items')} "
            "WHERE programme_id = ? AND week = ? GROUP BY kind", (pid, int(week)))}
        taken = {r["participant_id"]: int(r["n"]) for r in cur.query(
            f"SELECT m.participant_id, COUNT(*) AS n FROM {sql.table('pj_eng_materials')} m "
            f"JOIN {sql.table('pj_items')} i ON i.programme_id = m.programme_id "
            "AND i.item_id = m.material_id "
            "WHERE m.programme_id = ? AND i.week = ? GROUP BY m.participant_id",
            (pid, int(week)))}
        attended = {(r["participant_id"], r["kind"]): int(r["n"]) for r in cur.query(
            f"SELECT a.participant_id, e.kind, COUNT(*) AS n "
            f"FROM {sql.table('pj_eng_attendance')} a JOIN {sql.table('pj_eng_meetings')} e "
            "ON e.programme_id = a.programme_id AND e.meeting_id = a.meeting_id "
            "WHERE a.programme_id = ? AND a.attended = 1 AND e.week = ? "
            "GROUP BY a.participant_id, e.kind", (pid, int(week)))}
    rows = [{"participant_id": p["participant_id"],
             "participant": authors[p["participant_id"]].label,
             "erased": authors[p["participant_id"]].erased, "unit": p["unit"],
             "records": logged.get(p["participant_id"], 0),
             "materials": taken.get(p["participant_id"], 0),
             "check_ins": attended.get((p["participant_id"], "check_in"), 0),
             "sessions": attended.get((p["participant_id"], "session"), 0)} for p in people]
    return {"week": int(week), "materials": offered.get("material", 0),
            "check_ins": offered.get("check_in", 0), "sessions": offered.get("session", 0),
            "participants": rows}


def area_records(sql: Sql, programme_id: Any) -> dict[str, list[dict[str, Any]]]:
    """Live development area id (merged areas folded into their target) -> the live
    records tagged with it whose author may be shown, oldest first: ``id, kind, shared,
    erased`` (for example quotes on the researchers' overview: only shared records of
    participants who consent are quoted)."""
    with sql.reading() as cur:
        pid = _programme_id(cur, sql, programme_id)
        authors = _authors(cur, sql, pid)
        merged = {a["area_id"]: a["merged_into"] for a in cur.query(
            f"SELECT area_id, merged_into FROM {sql.table('pj_areas')} WHERE programme_id = ?",
            (pid,))}
        rows = cur.query(
            f"SELECT r.area_id, r.record_id, r.kind, r.participant_id, n.shared "
            f"FROM {sql.table('pj_area_records')} r JOIN {sql.table('pj_lineage_nodes')} n "
            "ON n.record_id = r.record_id WHERE r.programme_id = ? AND n.void = 0 "
            "ORDER BY n.position", (pid,))

    def resolve(area_id: str) -> str:
        seen: set[str] = set()
        while merged.get(area_id) and area_id not in seen:
            seen.add(area_id)
            area_id = merged[area_id]
        return area_id

    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if not _shown(authors, r["participant_id"]):
            continue
        author = authors[r["participant_id"]]
        out[resolve(r["area_id"])].append({
            "id": r["record_id"], "kind": r["kind"], "shared": bool(r["shared"]),
            "consent": author.consent, "erased": author.erased})
    return dict(out)
