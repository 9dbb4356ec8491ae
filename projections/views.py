"""The read models, each a projection of the event log into tables of its own.

All are per programme and rebuilt from events only. None of them holds personal
text: they see events decoded without the participants' keys (see
``projections.runner.sealed_mapper``), so they cannot leak what people wrote.

``directory`` holds the facts other projections look up (a participant's
pseudonym and unit, a record's kind, programme and week, week themes); those facts
never change once recorded, so a directory that is ahead of another projection is
harmless. The runner always processes the directory first.
"""

from __future__ import annotations

import json
from itertools import combinations
from typing import Any
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking

from domain.describe import EVENT_KINDS, forget_oldest, summarise
from domain.model import (
    Capability,
    Decision,
    Experiment,
    FramdriftAggregate,
    Participant,
    Programme,
    Reflection,
)
from domain.replay import change_extras
from domain.store import Cursor, Sql
from projections.asof import CHECKPOINT_TABLE, TOTALS_TABLE, ProgrammeStates, encode_change
from projections.base import ReadModel, Table, View, bulk_insert, event_time, sid

# --------------------------------------------------------------------------- directory

FACTS_KEPT = 32_768  # participants, records, decisions remembered (read again when asked)


class DirectoryView(View):
    tables = (
        Table("pj_programmes",
              "programme_id TEXT NOT NULL, title TEXT NOT NULL, organisation TEXT NOT NULL, "
              "synthetic INTEGER NOT NULL, closed INTEGER NOT NULL, planned_at TEXT NOT NULL, "
              "position BIGINT NOT NULL",
              "programme_id",
              # the API's pages of programmes: keyset order (queries.programmes_page)
              (("pj_programmes_order", "position, programme_id"),)),
        Table("pj_weeks",
              "programme_id TEXT NOT NULL, week INTEGER NOT NULL, theme TEXT NOT NULL, "
              "starts_on TEXT NOT NULL, ends_on TEXT NOT NULL",
              "programme_id, week"),
        Table("pj_participants",
              "participant_id TEXT NOT NULL, programme_id TEXT NOT NULL, pseudonym TEXT NOT NULL, "
              "unit TEXT NOT NULL, role TEXT NOT NULL",
              "participant_id", (("pj_participants_programme", "programme_id"),)),
        Table("pj_records",
              "record_id TEXT NOT NULL, programme_id TEXT NOT NULL, kind TEXT NOT NULL, "
              "participant_id TEXT NOT NULL, pseudonym TEXT, unit TEXT NOT NULL, "
              "week INTEGER NOT NULL",
              "record_id"),
        Table("pj_items",
              "programme_id TEXT NOT NULL, item_id TEXT NOT NULL, kind TEXT NOT NULL, "
              "week INTEGER NOT NULL",
              "programme_id, item_id"),
    )

    def __init__(self, sql: Sql, name: str, suffix: str = "", *, write: bool = True):
        super().__init__(sql, name, suffix)
        # write=False: the facts are only kept in memory, for the other projections of a
        # parallel rebuild's part; another part writes the directory's tables.
        self.write = write
        self.participants: dict[int, tuple[str, str, str, str]] = {}  # by UUID.int
        self.records: dict[int, tuple[str, str, str, str | None, str, int]] = {}
        self.weeks: dict[str, dict[int, str]] = {}
        self.items: dict[str, dict[str, int]] = {}
        self.clear()

    def clear(self) -> None:
        self.new: dict[str, list[tuple[Any, ...]]] = {
            "pj_programmes": [], "pj_weeks": [], "pj_participants": [], "pj_records": [],
            "pj_items": [],
        }
        self.closed: list[str] = []

    def forget(self) -> None:
        self.clear()
        self.participants.clear()
        self.records.clear()
        self.weeks.clear()
        self.items.clear()

    def flush(self, cur: Cursor) -> None:
        if not self.write:
            return  # and the caches are never trimmed: they are the only copy here
        for table, rows in self.new.items():
            if rows:
                bulk_insert(cur, self.sql, self.t(table), len(rows[0]), rows)
        if self.closed:
            cur.executemany(
                f"UPDATE {self.t('pj_programmes')} SET closed = 1 WHERE programme_id = ?",
                [(p,) for p in self.closed],
            )
        # bounded: what is forgotten is read again from the tables (by primary key)
        forget_oldest(self.participants, FACTS_KEPT)
        forget_oldest(self.records, FACTS_KEPT)

    # lookups (cache, then table) -----------------------------------------------------

    def participant(self, pid: UUID) -> tuple[str, str, str, str] | None:
        """(programme_id, pseudonym, unit, participant_id) of a participant."""
        found = self.participants.get(pid.int)  # keyed by .int: hashed in C
        if found is None:
            rows = self.sql.query(
                f"SELECT programme_id, pseudonym, unit FROM {self.t('pj_participants')} "
                "WHERE participant_id = ?", (str(pid),))
            if not rows:
                return None
            r = rows[0]
            found = self.participants[pid.int] = (r["programme_id"], r["pseudonym"], r["unit"],
                                              str(pid))
        return found

    def record(self, rid: UUID) -> tuple[str, str, str, str | None, str, int] | None:
        """(programme_id, kind, participant_id, pseudonym, unit, week) of a record."""
        found = self.records.get(rid.int)
        if found is None:
            rows = self.sql.query(
                f"SELECT programme_id, kind, participant_id, pseudonym, unit, week "
                f"FROM {self.t('pj_records')} WHERE record_id = ?", (str(rid),))
            if not rows:
                return None
            r = rows[0]
            found = self.records[rid.int] = (r["programme_id"], r["kind"], r["participant_id"],
                                         r["pseudonym"], r["unit"], int(r["week"]))
        return found

    def theme(self, programme_id: str, week: int) -> str | None:
        weeks = self.weeks.get(programme_id)
        if weeks is None:
            rows = self.sql.query(
                f"SELECT week, theme FROM {self.t('pj_weeks')} WHERE programme_id = ?",
                (programme_id,))
            weeks = self.weeks[programme_id] = {int(r["week"]): r["theme"] for r in rows}
        return weeks.get(week)

    def item_week(self, programme_id: str, item_id: str) -> int | None:
        items = self.items.get(programme_id)
        if items is None or item_id not in items:
            rows = self.sql.query(
                f"SELECT item_id, week FROM {self.t('pj_items')} WHERE programme_id = ?",
                (programme_id,))
            items = self.items.setdefault(programme_id, {})
            items.update({r["item_id"]: int(r["week"]) for r in rows})
        return items.get(item_id)


class DirectoryProjection(ReadModel[DirectoryView]):
    name = "directory"
    view_class = DirectoryView

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Not a fact the directory keeps."""

    @process_event.register
    def _(self, event: Programme.Planned, tracking: Tracking) -> None:
        d, v = event.__dict__, self.view
        pid = sid(d["originator_id"])
        v.new["pj_programmes"].append((
            pid, d["title"], d["organisation"], int(bool(d.get("synthetic"))), 0,
            event_time(event), tracking.notification_id))
        for w in d["weeks"]:
            v.new["pj_weeks"].append(
                (pid, w.number, w.theme, w.starts_on.isoformat(), w.ends_on.isoformat()))
        v.weeks[pid] = {w.number: w.theme for w in d["weeks"]}
        v.items.setdefault(pid, {})

    @process_event.register
    def _(self, event: Programme.Closed, tracking: Tracking) -> None:
        self.view.closed.append(sid(event.originator_id))

    def _item(self, event: Any, item_id: str, kind: str) -> None:
        d, v = event.__dict__, self.view
        pid = sid(d["originator_id"])
        v.new["pj_items"].append((pid, item_id, kind, d["week"]))
        v.items.setdefault(pid, {})[item_id] = d["week"]

    @process_event.register
    def _(self, event: Programme.MaterialPublished, tracking: Tracking) -> None:
        self._item(event, event.__dict__["material_id"], "material")

    @process_event.register
    def _(self, event: Programme.CheckInHeld, tracking: Tracking) -> None:
        self._item(event, event.__dict__["meeting_id"], "check_in")

    @process_event.register
    def _(self, event: Programme.SessionHeld, tracking: Tracking) -> None:
        self._item(event, event.__dict__["meeting_id"], "session")

    @process_event.register
    def _(self, event: Participant.Enrolled, tracking: Tracking) -> None:
        d, v = event.__dict__, self.view
        oid = d["originator_id"]
        entry = (sid(d["programme_id"]), d["pseudonym"], d["unit"], sid(oid))
        v.participants[oid.int] = entry
        v.new["pj_participants"].append((entry[3], entry[0], entry[1], entry[2],
                                         d["role"].value))

    @process_event.register(Reflection.Logged)
    @process_event.register(Decision.Made)
    @process_event.register(Experiment.Planned)
    @process_event.register(Capability.Established)
    def _record(self, event: Any, tracking: Tracking) -> None:
        d, v = event.__dict__, self.view
        oid = d["originator_id"]
        author = v.participant(d["participant_id"])
        entry = (sid(d["programme_id"]), EVENT_KINDS[type(event).__qualname__.split(".")[0]],
                 sid(d["participant_id"]), author[1] if author else None, d["unit"], d["week"])
        v.records[oid.int] = entry
        v.new["pj_records"].append((sid(oid), *entry))


class Reader:
    """What every projection but the directory shares: a view on the directory."""

    directory: DirectoryView


# ----------------------------------------------------------------------------- consent

ERASED_LABEL = "erased participant"


class ConsentView(View, Reader):
    """Each participant's current consent and erasure flags (docs/adr/0004).

    Queries filter and aggregate by these flags at query time: a withdrawal takes
    effect as soon as its event is projected and reverses when consent is given
    again, with no rebuild. A participant without a row (not yet projected) counts
    as not consenting.
    """

    tables = (
        Table("pj_consent",
              "participant_id TEXT NOT NULL, programme_id TEXT NOT NULL, "
              "pseudonym TEXT NOT NULL, consent INTEGER NOT NULL, erased INTEGER NOT NULL, "
              "position BIGINT NOT NULL",
              "participant_id", (("pj_consent_programme", "programme_id, pseudonym"),
                                 # who does not consent (projections.asof.progress_at)
                                 ("pj_consent_hidden", "programme_id, consent, erased"))),
    )

    def __init__(self, sql: Sql, name: str, suffix: str = ""):
        super().__init__(sql, name, suffix)
        self.clear()

    def clear(self) -> None:
        self.new: dict[str, list[Any]] = {}
        self.flags: dict[str, tuple[int, int, int]] = {}

    def flush(self, cur: Cursor) -> None:
        bulk_insert(cur, self.sql, self.t("pj_consent"), 6, list(self.new.values()))
        cur.executemany(
            f"UPDATE {self.t('pj_consent')} SET consent = ?, erased = ?, position = ? "
            "WHERE participant_id = ?",
            [(c, e, pos, p) for p, (c, e, pos) in self.flags.items()])


class ConsentProjection(ReadModel[ConsentView]):
    """Whether each participant's records may be shown (consent) or are anonymous (erased)."""

    name = "consent"
    view_class = ConsentView

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Does not change consent."""

    @process_event.register
    def _(self, event: Participant.Enrolled, tracking: Tracking) -> None:
        d = event.__dict__
        pid = sid(d["originator_id"])
        self.view.new[pid] = [pid, sid(d["programme_id"]), d["pseudonym"], 0, 0,
                              tracking.notification_id]

    def _flags(self, event: Any, tracking: Tracking, consent: int, erased: int) -> None:
        v = self.view
        pid = sid(event.originator_id)
        if pid in v.new:
            v.new[pid][3:6] = [consent, erased, tracking.notification_id]
        else:
            v.flags[pid] = (consent, erased, tracking.notification_id)

    @process_event.register
    def _(self, event: Participant.ConsentGiven, tracking: Tracking) -> None:
        self._flags(event, tracking, 1, 0)

    @process_event.register
    def _(self, event: Participant.ConsentWithdrawn, tracking: Tracking) -> None:
        self._flags(event, tracking, 0, 0)

    @process_event.register
    def _(self, event: Participant.Erased, tracking: Tracking) -> None:
        self._flags(event, tracking, 0, 1)


# ---------------------------------------------------------------------------- timeline

TIMELINE_COLUMNS = (
    "position", "programme_id", "event_time", "event_type", "kind", "record_id",
    "participant_id", "participant", "unit", "week", "theme", "summary", "actor",
    "max_time", "change",
)


_KINDS: dict[type, tuple[str, str]] = {}  # event class -> (its type name, its kind)


class TimelineView(View, Reader):
    """One row per event; with its structural change, the programme's running maximum
    event time and periodic checkpoints of the programme's state, the same rows serve
    as-of replay (projections/asof.py, docs/adr/0003-as-of-replay.md)."""

    tables = (
        Table("pj_timeline",
              "position BIGINT NOT NULL, programme_id TEXT, event_time TEXT NOT NULL, "
              "event_type TEXT NOT NULL, kind TEXT NOT NULL, record_id TEXT NOT NULL, "
              "participant_id TEXT, participant TEXT, unit TEXT, week INTEGER, theme TEXT, "
              "summary TEXT NOT NULL, actor TEXT NOT NULL, max_time TEXT NOT NULL, "
              "change TEXT NOT NULL",
              "position",
              (("pj_timeline_programme", "programme_id, position"),
               ("pj_timeline_time", "programme_id, event_time"),
               ("pj_timeline_max_time", "programme_id, max_time, position"),
               # a participant's rows: the as-of funnel takes off those of participants
               # who do not consent (projections.asof.progress_at)
               ("pj_timeline_participant", "participant_id, position"))),
        CHECKPOINT_TABLE,
        TOTALS_TABLE,
    )

    def __init__(self, sql: Sql, name: str, suffix: str = ""):
        super().__init__(sql, name, suffix)
        self.rows: list[tuple[Any, ...]] = []
        self.asof = ProgrammeStates(sql, suffix)

    def clear(self) -> None:
        self.rows = []
        self.asof.clear()

    def forget(self) -> None:
        self.clear()
        self.asof.forget()

    def flush(self, cur: Cursor) -> None:
        bulk_insert(cur, self.sql, self.t("pj_timeline"), TIMELINE_COLUMNS, self.rows)
        self.asof.flush(cur)


class TimelineProjection(ReadModel[TimelineView]):
    """Every event, denormalised: who, which unit, which week and theme, a summary; and
    what it changed in its programme, for as-of replay."""

    name = "timeline"
    view_class = TimelineView

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Not an event of Framdrift's aggregates."""

    @process_event.register
    def _(self, event: FramdriftAggregate.Event, tracking: Tracking) -> None:
        d = event.__dict__
        view = self.view
        directory = view.directory
        found = _KINDS.get(type(event))
        if found is None:
            name = type(event).__qualname__
            found = _KINDS[type(event)] = (name, EVENT_KINDS.get(name.split(".", 1)[0], "other"))
        event_type, kind = found
        oid = d["originator_id"]
        record_id = sid(oid)
        programme_id = participant_id = pseudonym = unit = None
        week = d.get("week")
        if kind == "programme":
            programme_id = record_id
            unit = d.get("unit")
            if not isinstance(unit, str):
                unit = unit.get("key") if isinstance(unit, dict) else None
        elif kind == "participant":
            found = directory.participant(oid)
            if found is not None:
                programme_id, pseudonym, unit, participant_id = found
                item = d.get("material_id") or d.get("meeting_id")
                if item is not None:
                    week = directory.item_week(programme_id, item)
        else:
            rec = directory.record(oid)
            if rec is not None:
                programme_id, _kind, participant_id, pseudonym, unit, record_week = rec
                unit = d.get("unit") or unit
                if week is None:
                    week = record_week
        theme = directory.theme(programme_id, week) if programme_id and week else None
        actor = d.get("actor") or "system"
        if actor.startswith("participant:"):
            if participant_id is not None and actor.endswith(participant_id):
                actor = pseudonym or "participant"
            else:
                try:
                    found = directory.participant(UUID(actor[12:]))
                except ValueError:
                    found = None
                actor = found[1] if found else "participant"
        else:
            actor = actor.split(":", 1)[0]
        position = tracking.notification_id
        at = event_time(event)
        summary = summarise(event)
        change = change_extras(event)
        stored = encode_change(change)
        max_time = at
        if programme_id is not None:  # (events of no known programme have no as-of state)
            change["position"], change["time"], change["type"] = position, at, event_type
            change["id"], change["summary"] = record_id, summary
            max_time, delta = view.asof.apply(programme_id, change)
            if delta:  # the funnel's running totals (projections.asof.progress_at)
                stored = (stored[:-1] + ("," if stored != "{}" else "") + '"d":'
                          + encode_change(delta) + "}")
        view.rows.append((
            position, programme_id, at, event_type, kind, record_id, participant_id,
            pseudonym, unit, week, theme, summary, actor, max_time, stored,
        ))


# ---------------------------------------------------------------------------- progress

PROGRESS_COUNTS = (
    "reflections", "reflections_withdrawn", "decisions", "decisions_reversed",
    "experiments_planned", "experiments_started", "experiments_evaluated",
    "experiments_concluded", "outcome_adopt", "outcome_adapt", "outcome_abandon",
    "capabilities",
)
_P = {name: i for i, name in enumerate(PROGRESS_COUNTS)}


class ProgressView(View, Reader):
    """Counters per programme, week and author (``participant_id`` '' for the row that
    carries the week's theme), summed at query time over the authors whose records may
    be shown (consent, docs/adr/0004)."""

    tables = (
        Table("pj_progress",
              "programme_id TEXT NOT NULL, week INTEGER NOT NULL, "
              "participant_id TEXT NOT NULL, theme TEXT, "
              + ", ".join(f"{c} INTEGER NOT NULL DEFAULT 0" for c in PROGRESS_COUNTS),
              "programme_id, week, participant_id"),
    )

    def __init__(self, sql: Sql, name: str, suffix: str = ""):
        super().__init__(sql, name, suffix)
        self.deltas: dict[tuple[str, int, str], list[Any]] = {}
        cols = ", ".join(PROGRESS_COUNTS)
        sets = ", ".join(f"{c} = cur.{c} + excluded.{c}" for c in PROGRESS_COUNTS)
        self.upsert = (
            f"INSERT INTO {self.t('pj_progress')} AS cur "
            f"(programme_id, week, participant_id, theme, {cols}) "
            f"VALUES ({', '.join('?' * (len(PROGRESS_COUNTS) + 4))}) "
            f"ON CONFLICT (programme_id, week, participant_id) DO UPDATE SET "
            f"theme = COALESCE(excluded.theme, cur.theme), {sets}"
        )

    def clear(self) -> None:
        self.deltas = {}

    def add(self, programme_id: str, week: int, participant_id: str = "",
            **changes: int) -> None:
        key = (programme_id, week, participant_id)
        row = self.deltas.get(key)
        if row is None:
            row = self.deltas[key] = [None] + [0] * len(PROGRESS_COUNTS)
        for name, change in changes.items():
            row[_P[name] + 1] += change

    def flush(self, cur: Cursor) -> None:
        cur.executemany(self.upsert, [(*key, *row) for key, row in self.deltas.items()])


class ProgressProjection(ReadModel[ProgressView]):
    """Per programme and week: the funnel from reflections to capabilities."""

    name = "progress"
    view_class = ProgressView

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Does not change the funnel."""

    def _record_week(self, event: Any) -> tuple[str, int, str] | None:
        rec = self.view.directory.record(event.__dict__["originator_id"])
        return (rec[0], rec[5], rec[2]) if rec else None

    @staticmethod
    def _created(event: Any) -> tuple[str, int, str]:
        return sid(event.programme_id), event.week, sid(event.participant_id)

    @process_event.register
    def _(self, event: Programme.Planned, tracking: Tracking) -> None:
        pid = str(event.__dict__["originator_id"])
        for w in event.__dict__["weeks"]:
            self.view.add(pid, w.number)
            self.view.deltas[(pid, w.number, "")][0] = w.theme

    @process_event.register
    def _(self, event: Reflection.Logged, tracking: Tracking) -> None:
        self.view.add(*self._created(event), reflections=1)

    @process_event.register
    def _(self, event: Reflection.Withdrawn, tracking: Tracking) -> None:
        if at := self._record_week(event):
            self.view.add(*at, reflections=-1, reflections_withdrawn=1)

    @process_event.register
    def _(self, event: Decision.Made, tracking: Tracking) -> None:
        self.view.add(*self._created(event), decisions=1)

    @process_event.register
    def _(self, event: Decision.Reversed, tracking: Tracking) -> None:
        if at := self._record_week(event):
            self.view.add(*at, decisions=-1, decisions_reversed=1)

    @process_event.register
    def _(self, event: Experiment.Planned, tracking: Tracking) -> None:
        self.view.add(*self._created(event), experiments_planned=1)

    @process_event.register
    def _(self, event: Experiment.Started, tracking: Tracking) -> None:
        if at := self._record_week(event):
            self.view.add(*at, experiments_planned=-1, experiments_started=1)

    @process_event.register
    def _(self, event: Experiment.Evaluated, tracking: Tracking) -> None:
        if at := self._record_week(event):
            self.view.add(*at, experiments_started=-1, experiments_evaluated=1)

    @process_event.register
    def _(self, event: Experiment.Concluded, tracking: Tracking) -> None:
        if at := self._record_week(event):
            self.view.add(*at, experiments_evaluated=-1, experiments_concluded=1,
                          **{f"outcome_{event.outcome.value}": 1})

    @process_event.register
    def _(self, event: Capability.Established, tracking: Tracking) -> None:
        self.view.add(*self._created(event), capabilities=1)


# ----------------------------------------------------------------------------- lineage


class LineageView(View, Reader):
    tables = (
        Table("pj_lineage_nodes",
              "record_id TEXT NOT NULL, programme_id TEXT NOT NULL, kind TEXT NOT NULL, "
              "week INTEGER NOT NULL, unit TEXT NOT NULL, participant_id TEXT NOT NULL, "
              "participant TEXT, void INTEGER NOT NULL, stage TEXT, outcome TEXT, "
              "cycle INTEGER, created_at TEXT NOT NULL, position BIGINT NOT NULL, "
              "shared INTEGER NOT NULL",
              "record_id", (("pj_lineage_nodes_programme", "programme_id"),)),
        Table("pj_lineage_edges",
              "from_id TEXT NOT NULL, to_id TEXT NOT NULL, programme_id TEXT NOT NULL, "
              "relation TEXT NOT NULL",
              "from_id, to_id", (("pj_lineage_edges_programme", "programme_id"),)),
    )
    NODE_COLUMNS = 14

    def __init__(self, sql: Sql, name: str, suffix: str = ""):
        super().__init__(sql, name, suffix)
        self.clear()

    def clear(self) -> None:
        self.nodes: dict[str, list[Any]] = {}
        self.void: list[tuple[str]] = []
        self.stages: dict[str, tuple[str, str | None]] = {}
        self.shares: dict[str, int] = {}
        self.edges: dict[str, list[tuple[str, str, str, str]]] = {}
        self.reset: set[str] = set()

    def flush(self, cur: Cursor) -> None:
        bulk_insert(cur, self.sql, self.t("pj_lineage_nodes"), self.NODE_COLUMNS,
                    list(self.nodes.values()))
        cur.executemany(f"UPDATE {self.t('pj_lineage_nodes')} SET void = 1 WHERE record_id = ?",
                        self.void)
        cur.executemany(
            f"UPDATE {self.t('pj_lineage_nodes')} SET stage = ?, outcome = ? WHERE record_id = ?",
            [(s, o, rid) for rid, (s, o) in self.stages.items()])
        cur.executemany(
            f"UPDATE {self.t('pj_lineage_nodes')} SET shared = ? WHERE record_id = ?",
            [(shared, rid) for rid, shared in self.shares.items()])
        cur.executemany(f"DELETE FROM {self.t('pj_lineage_edges')} WHERE from_id = ?",
                        [(rid,) for rid in self.reset])
        bulk_insert(cur, self.sql, self.t("pj_lineage_edges"), 4,
                    [e for edges in self.edges.values() for e in edges])


class LineageProjection(ReadModel[LineageView]):
    """Records as nodes; "based on" links and experiment cycles as edges."""

    name = "lineage"
    view_class = LineageView

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Does not change the graph."""

    @process_event.register(Reflection.Logged)
    @process_event.register(Decision.Made)
    @process_event.register(Experiment.Planned)
    @process_event.register(Capability.Established)
    def _created(self, event: Any, tracking: Tracking) -> None:
        d, v = event.__dict__, self.view
        rid = sid(d["originator_id"])
        rec = v.directory.record(d["originator_id"])
        programme_id = sid(d["programme_id"])
        kind = EVENT_KINDS[type(event).__qualname__.split(".")[0]]
        experiment = kind == "experiment"
        v.nodes[rid] = [
            rid, programme_id, kind, d["week"], d["unit"], sid(d["participant_id"]),
            rec[3] if rec else None, 0, "planned" if experiment else None, None,
            d.get("cycle", 1) if experiment else None, event_time(event),
            tracking.notification_id, int(bool(d.get("shared"))),
        ]
        v.edges[rid] = self._edges(rid, programme_id, d.get("based_on") or [],
                                   d.get("previous_cycle_id"))

    @staticmethod
    def _edges(rid: str, programme_id: str, based_on: list[UUID],
               previous: UUID | None) -> list[tuple[str, str, str, str]]:
        edges = {sid(b): "based_on" for b in based_on}
        if previous is not None:
            edges[sid(previous)] = "previous_cycle"
        return [(rid, to, programme_id, relation) for to, relation in edges.items()]

    @process_event.register
    def _(self, event: Decision.Revised, tracking: Tracking) -> None:
        v = self.view
        rid = sid(event.originator_id)
        rec = v.directory.record(event.originator_id)
        if rec is None:
            return
        v.edges[rid] = self._edges(rid, rec[0], event.based_on, None)
        if rid not in v.nodes:
            v.reset.add(rid)

    @process_event.register(Reflection.Withdrawn)
    @process_event.register(Decision.Reversed)
    def _void(self, event: Any, tracking: Tracking) -> None:
        rid = sid(event.originator_id)
        if rid in self.view.nodes:
            self.view.nodes[rid][7] = 1
        else:
            self.view.void.append((rid,))

    def _stage(self, event: Any, stage: str, outcome: str | None = None) -> None:
        rid = sid(event.originator_id)
        if rid in self.view.nodes:
            self.view.nodes[rid][8:10] = [stage, outcome]
        else:
            self.view.stages[rid] = (stage, outcome)

    @process_event.register
    def _(self, event: Experiment.Started, tracking: Tracking) -> None:
        self._stage(event, "started")

    @process_event.register
    def _(self, event: Experiment.Evaluated, tracking: Tracking) -> None:
        self._stage(event, "evaluated")

    @process_event.register
    def _(self, event: Experiment.Concluded, tracking: Tracking) -> None:
        self._stage(event, "concluded", event.outcome.value)

    def _share(self, event: Any, shared: int) -> None:
        rid = sid(event.originator_id)
        if rid in self.view.nodes:
            self.view.nodes[rid][13] = shared
        else:
            self.view.shares[rid] = shared

    @process_event.register(Reflection.Shared)
    @process_event.register(Decision.Shared)
    @process_event.register(Experiment.Shared)
    @process_event.register(Capability.Shared)
    def _shared(self, event: Any, tracking: Tracking) -> None:
        self._share(event, 1)

    @process_event.register(Reflection.Unshared)
    @process_event.register(Decision.Unshared)
    @process_event.register(Experiment.Unshared)
    @process_event.register(Capability.Unshared)
    def _unshared(self, event: Any, tracking: Tracking) -> None:
        self._share(event, 0)


# --------------------------------------------------------------------- development areas


class AreasView(View, Reader):
    tables = (
        Table("pj_areas",
              "programme_id TEXT NOT NULL, area_id TEXT NOT NULL, name TEXT NOT NULL, "
              "description TEXT, merged_into TEXT, identified_at TEXT NOT NULL, "
              "renames INTEGER NOT NULL",
              "programme_id, area_id"),
        Table("pj_area_records",
              "record_id TEXT NOT NULL, area_id TEXT NOT NULL, programme_id TEXT NOT NULL, "
              "kind TEXT NOT NULL, participant_id TEXT NOT NULL, unit TEXT NOT NULL",
              "record_id, area_id", (("pj_area_records_programme", "programme_id"),)),
    )

    def __init__(self, sql: Sql, name: str, suffix: str = ""):
        super().__init__(sql, name, suffix)
        self.clear()

    def clear(self) -> None:
        self.ops: list[tuple[str, tuple[Any, ...]]] = []
        self.rows: dict[str, list[tuple[str, ...]]] = {}
        self.reset: set[str] = set()

    def flush(self, cur: Cursor) -> None:
        for statement, params in self.ops:
            cur.execute(statement, params)
        cur.executemany(f"DELETE FROM {self.t('pj_area_records')} WHERE record_id = ?",
                        [(rid,) for rid in self.reset])
        bulk_insert(cur, self.sql, self.t("pj_area_records"), 6,
                    [r for rows in self.rows.values() for r in rows])


class AreasProjection(ReadModel[AreasView]):
    """Development areas (following renames and merges) and the records naming them."""

    name = "development_areas"
    view_class = AreasView

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Does not concern development areas."""

    @process_event.register
    def _(self, event: Programme.DevelopmentAreaIdentified, tracking: Tracking) -> None:
        d = event.__dict__
        self.view.ops.append((
            f"INSERT INTO {self.view.t('pj_areas')} VALUES (?, ?, ?, ?, NULL, ?, 0)",
            (sid(d["originator_id"]), d["area_id"], d["name"], d.get("description") or "",
             event_time(event))))

    @process_event.register
    def _(self, event: Programme.DevelopmentAreaRenamed, tracking: Tracking) -> None:
        d = event.__dict__
        self.view.ops.append((
            f"UPDATE {self.view.t('pj_areas')} SET name = ?, renames = renames + 1 "
            "WHERE programme_id = ? AND area_id = ?",
            (d["name"], sid(d["originator_id"]), d["area_id"])))

    @process_event.register
    def _(self, event: Programme.DevelopmentAreasMerged, tracking: Tracking) -> None:
        d = event.__dict__
        self.view.ops.append((
            f"UPDATE {self.view.t('pj_areas')} SET merged_into = ? "
            "WHERE programme_id = ? AND area_id = ?",
            (d["target_id"], sid(d["originator_id"]), d["source_id"])))

    @process_event.register(Reflection.Logged)
    @process_event.register(Decision.Made)
    @process_event.register(Experiment.Planned)
    @process_event.register(Capability.Established)
    def _created(self, event: Any, tracking: Tracking) -> None:
        d = event.__dict__
        if not d["development_areas"]:
            return
        rid = sid(d["originator_id"])
        kind = EVENT_KINDS[type(event).__qualname__.split(".")[0]]
        self.view.rows[rid] = [
            (rid, area, sid(d["programme_id"]), kind, sid(d["participant_id"]), d["unit"])
            for area in dict.fromkeys(d["development_areas"])
        ]

    def _replace(self, event: Any, areas: list[str]) -> None:
        v = self.view
        rid = sid(event.originator_id)
        rec = v.directory.record(event.originator_id)
        if rec is None:
            return
        if rid not in v.rows:
            v.reset.add(rid)
        v.rows[rid] = [(rid, area, rec[0], rec[1], rec[2], rec[4])
                       for area in dict.fromkeys(areas)]

    @process_event.register
    def _(self, event: Reflection.Amended, tracking: Tracking) -> None:
        self._replace(event, event.development_areas)

    @process_event.register(Reflection.Withdrawn)
    @process_event.register(Decision.Reversed)
    def _void(self, event: Any, tracking: Tracking) -> None:
        self._replace(event, [])


# --------------------------------------------------------------------------- engagement


class EngagementView(View, Reader):
    tables = (
        Table("pj_eng_programmes",
              "programme_id TEXT NOT NULL, materials INTEGER NOT NULL, "
              "check_ins INTEGER NOT NULL, sessions INTEGER NOT NULL",
              "programme_id"),
        Table("pj_eng_meetings",
              "programme_id TEXT NOT NULL, meeting_id TEXT NOT NULL, kind TEXT NOT NULL, "
              "week INTEGER NOT NULL",
              "programme_id, meeting_id"),
        Table("pj_eng_participants",
              "participant_id TEXT NOT NULL, programme_id TEXT NOT NULL, pseudonym TEXT NOT NULL, "
              "unit TEXT NOT NULL, role TEXT NOT NULL, consent INTEGER NOT NULL, "
              "erased INTEGER NOT NULL",
              "participant_id", (("pj_eng_participants_programme", "programme_id"),)),
        Table("pj_eng_materials",
              "participant_id TEXT NOT NULL, material_id TEXT NOT NULL, programme_id TEXT NOT NULL",
              "participant_id, material_id", (("pj_eng_materials_programme", "programme_id"),)),
        Table("pj_eng_attendance",
              "participant_id TEXT NOT NULL, meeting_id TEXT NOT NULL, programme_id TEXT NOT NULL, "
              "attended INTEGER NOT NULL",
              "participant_id, meeting_id", (("pj_eng_attendance_programme", "programme_id"),)),
    )

    def __init__(self, sql: Sql, name: str, suffix: str = ""):
        super().__init__(sql, name, suffix)
        self.clear()

    def clear(self) -> None:
        self.counts: dict[str, list[int]] = {}
        self.meetings: list[tuple[Any, ...]] = []
        self.participants: dict[str, list[Any]] = {}
        self.flags: dict[str, tuple[int, int]] = {}  # participant -> (consent, erased)
        self.materials: list[tuple[str, str, str]] = []
        self.attendance: dict[tuple[str, str], tuple[str, str, str, int]] = {}

    def count(self, programme_id: str, column: int) -> None:
        row = self.counts.setdefault(programme_id, [0, 0, 0])
        if column >= 0:
            row[column] += 1

    def flush(self, cur: Cursor) -> None:
        cur.executemany(
            f"INSERT INTO {self.t('pj_eng_programmes')} AS cur VALUES (?, ?, ?, ?) "
            "ON CONFLICT (programme_id) DO UPDATE SET "
            "materials = cur.materials + excluded.materials, "
            "check_ins = cur.check_ins + excluded.check_ins, "
            "sessions = cur.sessions + excluded.sessions",
            [(p, *c) for p, c in self.counts.items()])
        bulk_insert(cur, self.sql, self.t("pj_eng_meetings"), 4, self.meetings)
        bulk_insert(cur, self.sql, self.t("pj_eng_participants"), 7,
                    list(self.participants.values()))
        cur.executemany(
            f"UPDATE {self.t('pj_eng_participants')} SET consent = ?, erased = ? "
            "WHERE participant_id = ?",
            [(c, e, p) for p, (c, e) in self.flags.items()])
        bulk_insert(cur, self.sql, self.t("pj_eng_materials"), 3, self.materials)
        cur.executemany(
            f"INSERT INTO {self.t('pj_eng_attendance')} VALUES (?, ?, ?, ?) "
            "ON CONFLICT (participant_id, meeting_id) DO UPDATE SET attended = excluded.attended",
            list(self.attendance.values()))


class EngagementProjection(ReadModel[EngagementView]):
    """Who took part of the material and attended check-ins and sessions."""

    name = "engagement"
    view_class = EngagementView

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Does not concern engagement."""

    @process_event.register
    def _(self, event: Programme.Planned, tracking: Tracking) -> None:
        self.view.count(sid(event.originator_id), -1)

    @process_event.register
    def _(self, event: Programme.MaterialPublished, tracking: Tracking) -> None:
        self.view.count(sid(event.originator_id), 0)

    def _meeting(self, event: Any, kind: str, column: int) -> None:
        pid = sid(event.originator_id)
        self.view.count(pid, column)
        self.view.meetings.append((pid, event.meeting_id, kind, event.week))

    @process_event.register
    def _(self, event: Programme.CheckInHeld, tracking: Tracking) -> None:
        self._meeting(event, "check_in", 1)

    @process_event.register
    def _(self, event: Programme.SessionHeld, tracking: Tracking) -> None:
        self._meeting(event, "session", 2)

    @process_event.register
    def _(self, event: Participant.Enrolled, tracking: Tracking) -> None:
        d = event.__dict__
        pid = sid(d["originator_id"])
        self.view.participants[pid] = [pid, sid(d["programme_id"]), d["pseudonym"], d["unit"],
                                       d["role"].value, 0, 0]

    def _flags(self, event: Any, consent: int, erased: int) -> None:
        # Consent changes only while a participant is active, so erased is known here.
        v = self.view
        pid = sid(event.originator_id)
        if pid in v.participants:
            v.participants[pid][5:7] = [consent, erased]
        else:
            v.flags[pid] = (consent, erased)

    @process_event.register
    def _(self, event: Participant.ConsentGiven, tracking: Tracking) -> None:
        self._flags(event, 1, 0)

    @process_event.register
    def _(self, event: Participant.ConsentWithdrawn, tracking: Tracking) -> None:
        self._flags(event, 0, 0)

    @process_event.register
    def _(self, event: Participant.Erased, tracking: Tracking) -> None:
        self._flags(event, 0, 1)

    @process_event.register
    def _(self, event: Participant.MaterialTakenPartOf, tracking: Tracking) -> None:
        found = self.view.directory.participant(event.originator_id)
        if found:
            self.view.materials.append((found[3], event.material_id, found[0]))

    @process_event.register
    def _(self, event: Participant.AttendanceRecorded, tracking: Tracking) -> None:
        found = self.view.directory.participant(event.originator_id)
        if found:
            self.view.attendance[(found[3], event.meeting_id)] = (
                found[3], event.meeting_id, found[0], int(bool(event.attended)))


# ------------------------------------------------------------------------ collaborations


class CollaborationsView(View, Reader):
    """Unit pairs counted per author, summed at query time over consenting authors; the
    teams of experiments and capabilities (author and members, each with their unit), so
    joint work across units counts too (docs/adr/0007-sharing-and-teams.md)."""

    tables = (
        Table("pj_collab_pairs",
              "programme_id TEXT NOT NULL, week INTEGER NOT NULL, unit_a TEXT NOT NULL, "
              "unit_b TEXT NOT NULL, participant_id TEXT NOT NULL, "
              "decisions INTEGER NOT NULL, experiments INTEGER NOT NULL",
              "programme_id, week, unit_a, unit_b, participant_id"),
        Table("pj_collab_decisions",
              "record_id TEXT NOT NULL, programme_id TEXT NOT NULL, week INTEGER NOT NULL, "
              "units TEXT NOT NULL, void INTEGER NOT NULL, participant_id TEXT NOT NULL",
              "record_id"),
        Table("pj_collab_teams",
              "record_id TEXT NOT NULL, member_id TEXT NOT NULL, programme_id TEXT NOT NULL, "
              "kind TEXT NOT NULL, week INTEGER NOT NULL, unit TEXT NOT NULL, "
              "author INTEGER NOT NULL",
              "record_id, member_id", (("pj_collab_teams_programme", "programme_id"),
                                       ("pj_collab_teams_member", "member_id"))),
    )

    def __init__(self, sql: Sql, name: str, suffix: str = ""):
        super().__init__(sql, name, suffix)
        self.decisions: dict[str, list[Any]] = {}
        self.clear()

    def clear(self) -> None:
        self.pairs: dict[tuple[str, int, str, str, str], list[int]] = {}
        self.dirty: set[str] = set()
        self.members: dict[tuple[str, str], tuple[Any, ...] | None] = {}  # None: removed

    def forget(self) -> None:
        self.clear()
        self.decisions.clear()

    def decision(self, rid: str) -> list[Any] | None:
        found = self.decisions.get(rid)
        if found is None:
            rows = self.sql.query(
                f"SELECT programme_id, week, units, void, participant_id "
                f"FROM {self.t('pj_collab_decisions')} WHERE record_id = ?", (rid,))
            if not rows:
                return None
            r = rows[0]
            found = self.decisions[rid] = [r["programme_id"], int(r["week"]),
                                           json.loads(r["units"]), int(r["void"]),
                                           r["participant_id"]]
        return found

    def count(self, programme_id: str, week: int, participant_id: str, units: list[str],
              column: int, change: int) -> None:
        for a, b in combinations(sorted(set(units)), 2):
            row = self.pairs.setdefault((programme_id, week, a, b, participant_id), [0, 0])
            row[column] += change

    def flush(self, cur: Cursor) -> None:
        cur.executemany(
            f"INSERT INTO {self.t('pj_collab_pairs')} AS cur VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (programme_id, week, unit_a, unit_b, participant_id) DO UPDATE SET "
            "decisions = cur.decisions + excluded.decisions, "
            "experiments = cur.experiments + excluded.experiments",
            [(*k, *c) for k, c in self.pairs.items()])
        cur.executemany(
            f"INSERT INTO {self.t('pj_collab_decisions')} AS cur VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (record_id) DO UPDATE SET units = excluded.units, void = excluded.void",
            [(rid, d[0], d[1], json.dumps(d[2]), d[3], d[4])
             for rid in self.dirty if (d := self.decisions[rid])])
        cur.executemany(
            f"DELETE FROM {self.t('pj_collab_teams')} WHERE record_id = ? AND member_id = ?",
            [key for key, row in self.members.items() if row is None])
        cur.executemany(
            f"INSERT INTO {self.t('pj_collab_teams')} VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (record_id, member_id) DO NOTHING",
            [row for row in self.members.values() if row is not None])
        forget_oldest(self.decisions, FACTS_KEPT)


class CollaborationsProjection(ReadModel[CollaborationsView]):
    """Pairs of units sharing a live decision or an experiment, per week."""

    name = "collaborations"
    view_class = CollaborationsView

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Does not concern collaborations."""

    @process_event.register
    def _(self, event: Decision.Made, tracking: Tracking) -> None:
        v = self.view
        rid, pid = sid(event.originator_id), sid(event.programme_id)
        author = sid(event.participant_id)
        v.decisions[rid] = [pid, event.week, list(event.units), 0, author]
        v.dirty.add(rid)
        v.count(pid, event.week, author, event.units, 0, 1)

    @process_event.register
    def _(self, event: Decision.Revised, tracking: Tracking) -> None:
        v = self.view
        rid = sid(event.originator_id)
        d = v.decision(rid)
        if d is None:
            return
        if not d[3]:
            v.count(d[0], d[1], d[4], d[2], 0, -1)
            v.count(d[0], d[1], d[4], event.units, 0, 1)
        d[2] = list(event.units)
        v.dirty.add(rid)

    @process_event.register
    def _(self, event: Decision.Reversed, tracking: Tracking) -> None:
        v = self.view
        rid = sid(event.originator_id)
        d = v.decision(rid)
        if d is None or d[3]:
            return
        v.count(d[0], d[1], d[4], d[2], 0, -1)
        d[3] = 1
        v.dirty.add(rid)

    @process_event.register
    def _(self, event: Experiment.Planned, tracking: Tracking) -> None:
        self.view.count(sid(event.programme_id), event.week, sid(event.participant_id),
                        event.units, 1, 1)
        self._team(event)

    @process_event.register
    def _(self, event: Capability.Established, tracking: Tracking) -> None:
        self._team(event)

    def _team(self, event: Any) -> None:
        d = event.__dict__
        rid = sid(d["originator_id"])
        kind = EVENT_KINDS[type(event).__qualname__.split(".")[0]]
        self.view.members[(rid, sid(d["participant_id"]))] = (
            rid, sid(d["participant_id"]), sid(d["programme_id"]), kind, d["week"],
            d["unit"], 1)
        for member in d.get("team") or []:
            self._member(d["originator_id"], member)

    def _member(self, record: UUID, member: UUID) -> None:
        v = self.view
        rec = v.directory.record(record)
        person = v.directory.participant(member)
        if rec is None or person is None:
            return
        v.members[(sid(record), sid(member))] = (
            sid(record), sid(member), rec[0], rec[1], rec[5], person[2], 0)

    @process_event.register(Experiment.TeamMemberAdded)
    @process_event.register(Experiment.TeamMemberJoined)
    @process_event.register(Capability.TeamMemberAdded)
    @process_event.register(Capability.TeamMemberJoined)
    def _added(self, event: Any, tracking: Tracking) -> None:
        self._member(event.originator_id, event.member_id)

    @process_event.register(Experiment.TeamMemberRemoved)
    @process_event.register(Capability.TeamMemberRemoved)
    def _removed(self, event: Any, tracking: Tracking) -> None:
        self.view.members[(sid(event.originator_id), sid(event.member_id))] = None


# ----------------------------------------------------------------------------- maturity


class MaturityView(View, Reader):
    tables = (
        Table("pj_maturity",
              "programme_id TEXT NOT NULL, unit TEXT NOT NULL, dimension TEXT NOT NULL, "
              "phase TEXT NOT NULL, score DOUBLE PRECISION NOT NULL, assessed_on TEXT NOT NULL, "
              "instrument TEXT NOT NULL, position BIGINT NOT NULL",
              "programme_id, unit, dimension, phase"),
    )

    def __init__(self, sql: Sql, name: str, suffix: str = ""):
        super().__init__(sql, name, suffix)
        self.clear()

    def clear(self) -> None:
        self.scores: dict[tuple[str, str, str, str], tuple[Any, ...]] = {}

    def flush(self, cur: Cursor) -> None:
        cur.executemany(
            f"INSERT INTO {self.t('pj_maturity')} VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (programme_id, unit, dimension, phase) DO UPDATE SET "
            "score = excluded.score, assessed_on = excluded.assessed_on, "
            "instrument = excluded.instrument, position = excluded.position",
            [(*k, *v) for k, v in self.scores.items()])


class MaturityProjection(ReadModel[MaturityView]):
    """The latest score per dimension (and unit) before and after the programme."""

    name = "maturity"
    view_class = MaturityView

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Not an assessment."""

    @process_event.register
    def _(self, event: Programme.MaturityAssessed, tracking: Tracking) -> None:
        d = event.__dict__
        pid = sid(d["originator_id"])
        for dimension, score in d["scores"].items():
            self.view.scores[(pid, d.get("unit") or "", dimension, d["phase"].value)] = (
                float(score), d["assessed_on"].isoformat(), d["instrument"],
                tracking.notification_id)


READ_MODELS: tuple[type[ReadModel[Any]], ...] = (
    DirectoryProjection,
    ConsentProjection,
    TimelineProjection,
    ProgressProjection,
    LineageProjection,
    AreasProjection,
    EngagementProjection,
    CollaborationsProjection,
    MaturityProjection,
)
NAMES: tuple[str, ...] = tuple(cls.name for cls in READ_MODELS)
BY_NAME: dict[str, type[ReadModel[Any]]] = {cls.name: cls for cls in READ_MODELS}
