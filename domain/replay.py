"""A programme's structure as it stood at any moment, folded from events.

Replay needs the shape of the programme — which records existed, their stage,
their "based on" links, units, weeks and development areas — not what people
wrote. :func:`change_of` turns an event into a small JSON-ready *change* with
only those structural facts (no personal data), and :class:`ProgrammeState`
folds changes in log order. A read model can store the changes and periodic
checkpoints of the state, so "as of position N" is a checkpoint plus a short
fold, never a replay of the whole log.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from domain.describe import event_type, sid, summarise, utc_iso

RECORD_CREATED = {
    "Reflection.Logged": "reflection",
    "Decision.Made": "decision",
    "Experiment.Planned": "experiment",
    "Capability.Established": "capability",
}


def _ids(values: Any) -> list[str]:
    return [sid(v) for v in values or []]


def programme_of(event: Any) -> str | None:
    """The programme an event belongs to, when the event itself says so."""
    d = event.__dict__
    if event_type(event).startswith("Programme."):
        return str(d["originator_id"])
    pid = d.get("programme_id")
    return str(pid) if pid is not None else None


def _planned(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": d["title"], "organisation": d["organisation"],
        "synthetic": d.get("synthetic", False),
        "weeks": [
            {"number": w.number, "theme": w.theme, "starts_on": w.starts_on.isoformat(),
             "ends_on": w.ends_on.isoformat()}
            for w in d["weeks"]
        ],
        "units": [dict(u) for u in d["units"]],
    }


def _meeting(d: dict[str, Any]) -> dict[str, Any]:
    return {"meeting_id": d["meeting_id"], "week": d["week"],
            "held_on": d["held_on"].isoformat()}


def _area(d: dict[str, Any]) -> dict[str, Any]:
    return {"area_id": d["area_id"], "name": d["name"]}


def _record(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "programme_id": sid(d["programme_id"]),
        "participant_id": sid(d["participant_id"]),
        "unit": d["unit"], "week": d["week"],
        "based_on": _ids(d.get("based_on")),
        "units": list(d.get("units") or [d["unit"]]),
        "areas": list(d.get("development_areas") or []),
        "shared": bool(d.get("shared")),
        "team": _ids(d.get("team")),
    }


def _experiment(d: dict[str, Any]) -> dict[str, Any]:
    keep = _record(d)
    keep["previous_cycle_id"] = (
        sid(d["previous_cycle_id"]) if d.get("previous_cycle_id") else None
    )
    keep["cycle"] = d.get("cycle", 1)
    return keep


# What each event type keeps, beyond the common keys (types not listed keep nothing).
_KEEP: dict[str, Any] = {
    "Programme.Planned": _planned,
    "Programme.UnitRegistered": lambda d: {"unit": dict(d["unit"])},
    "Programme.MaterialPublished": lambda d: {
        "material_id": d["material_id"], "week": d["week"], "kind": d["kind"].value,
        "title": d["title"]},
    "Programme.CheckInHeld": _meeting,
    "Programme.SessionHeld": _meeting,
    "Programme.DevelopmentAreaIdentified": _area,
    "Programme.DevelopmentAreaRenamed": _area,
    "Programme.DevelopmentAreasMerged": lambda d: {
        "source_id": d["source_id"], "target_id": d["target_id"]},
    "Programme.MaturityAssessed": lambda d: {
        "phase": d["phase"].value, "scores": dict(d["scores"]), "unit": d["unit"]},
    "Programme.MaturityInstrumentDefined": lambda d: {"dimensions": [
        {"key": x.key, "name_sv": x.name_sv, "name_en": x.name_en, "category": x.category,
         "scale_min": x.scale_min, "scale_max": x.scale_max} for x in d["dimensions"]]},
    "Participant.Enrolled": lambda d: {
        "programme_id": sid(d["programme_id"]), "pseudonym": d["pseudonym"],
        "unit": d["unit"], "role": d["role"].value},
    "Participant.MaterialTakenPartOf": lambda d: {"material_id": d["material_id"]},
    "Participant.AttendanceRecorded": lambda d: {
        "meeting_id": d["meeting_id"], "attended": d["attended"]},
    "Reflection.Logged": _record,
    "Decision.Made": _record,
    "Experiment.Planned": _experiment,
    "Capability.Established": _record,
    "Reflection.Amended": lambda d: {"areas": list(d.get("development_areas") or [])},
    "Decision.Revised": lambda d: {
        "based_on": _ids(d.get("based_on")), "units": list(d.get("units") or [])},
    "Experiment.Started": lambda d: {"week": d["week"]},
    "Experiment.Concluded": lambda d: {"outcome": d["outcome"].value},
    "Experiment.NextCyclePlanned": lambda d: {"next_cycle_id": sid(d["next_cycle_id"])},
    "Capability.Applied": lambda d: {"unit": d["unit"]},
}
# sharing and teams (docs/adr/0007-sharing-and-teams.md)
for _kind in ("Reflection", "Decision", "Experiment", "Capability"):
    _KEEP[f"{_kind}.Shared"] = lambda d: {"shared": True}
    _KEEP[f"{_kind}.Unshared"] = lambda d: {"shared": False}
for _kind in ("Experiment", "Capability"):
    for _change in ("TeamMemberAdded", "TeamMemberJoined", "TeamMemberRemoved"):
        _KEEP[f"{_kind}.{_change}"] = lambda d: {"member_id": sid(d["member_id"])}
TEAM_JOINED = ("TeamMemberAdded", "TeamMemberJoined")


def change_extras(event: Any) -> dict[str, Any]:
    """What :func:`change_of` adds to the event's position, time, type, id and summary:
    who acted and the structural fields of its type (the timeline stores these as JSON
    next to the columns it has anyway)."""
    d = event.__dict__
    extras: dict[str, Any] = {"actor": d.get("actor", "system")}
    keep = _KEEP.get(event_type(event))
    if keep is not None:
        extras.update(keep(d))
    return extras


def change_of(position: int, event: Any, time: str | None = None) -> dict[str, Any]:
    """The structural change an event makes; JSON-ready and free of personal text.

    ``time``: the event's UTC ISO time (:func:`domain.describe.utc_iso`) when the
    caller has it already."""
    d = event.__dict__
    change: dict[str, Any] = {
        "position": position,
        "time": utc_iso(d["timestamp"]) if time is None else time,
        "type": event_type(event),
        "id": sid(d["originator_id"]),
        "summary": summarise(event),
    }
    change.update(change_extras(event))
    return change


class ProgrammeState:
    """The structure of one programme after a prefix of the log."""

    def __init__(self, programme_id: str):
        self.programme_id = programme_id
        self.position = 0
        self.time: str | None = None
        self.events = 0
        self.programme: dict[str, Any] = {}
        self.materials: dict[str, dict[str, Any]] = {}
        self.meetings: dict[str, dict[str, Any]] = {}
        self.areas: dict[str, dict[str, Any]] = {}
        self.participants: dict[str, dict[str, Any]] = {}
        self.records: dict[str, dict[str, Any]] = {}
        self.assessments: list[dict[str, Any]] = []
        self.recommendations = 0
        self.closed = False

    # folding -----------------------------------------------------------------

    def apply(self, change: dict[str, Any]) -> None:
        """Fold one change (from :func:`change_of`) into the state."""
        t = change["type"]
        rid = change["id"]
        self.position = change["position"]
        self.time = change["time"]
        self.events += 1
        if t.startswith("Participant."):  # the most frequent events first
            if t == "Participant.Enrolled":
                self.participants[rid] = {
                    "pseudonym": change["pseudonym"], "unit": change["unit"],
                    "role": change["role"], "consent": False, "erased": False,
                    "materials": [], "attended": [],
                }
            else:
                p = self.participants[rid]
                if t == "Participant.MaterialTakenPartOf":
                    p["materials"].append(change["material_id"])
                elif t == "Participant.AttendanceRecorded":
                    if change["attended"] and change["meeting_id"] not in p["attended"]:
                        p["attended"].append(change["meeting_id"])
                    elif not change["attended"] and change["meeting_id"] in p["attended"]:
                        p["attended"].remove(change["meeting_id"])
                elif t == "Participant.ConsentGiven":
                    p["consent"] = True
                elif t == "Participant.ConsentWithdrawn":
                    p["consent"] = False
                elif t == "Participant.Erased":
                    p["erased"], p["consent"] = True, False
        elif t == "Programme.Planned":
            self.programme = {k: change[k] for k in
                              ("title", "organisation", "synthetic", "weeks", "units")}
            self.programme["units"] = [dict(u) for u in change["units"]]
        elif t == "Programme.UnitRegistered":
            self.programme.setdefault("units", []).append(dict(change["unit"]))
        elif t == "Programme.MaterialPublished":
            self.materials[change["material_id"]] = {
                "week": change["week"], "kind": change["kind"], "title": change["title"],
                "published_at": change["time"],
            }
        elif t in ("Programme.CheckInHeld", "Programme.SessionHeld"):
            self.meetings[change["meeting_id"]] = {
                "kind": "check_in" if t == "Programme.CheckInHeld" else "session",
                "week": change["week"], "held_on": change["held_on"],
            }
        elif t == "Programme.DevelopmentAreaIdentified":
            self.areas[change["area_id"]] = {"name": change["name"], "merged_into": None}
        elif t == "Programme.DevelopmentAreaRenamed":
            self.areas[change["area_id"]]["name"] = change["name"]
        elif t == "Programme.DevelopmentAreasMerged":
            self.areas[change["source_id"]]["merged_into"] = change["target_id"]
        elif t == "Programme.RecommendationAdopted":
            self.recommendations += 1
        elif t == "Programme.MaturityAssessed":
            self.assessments.append(
                {"phase": change["phase"], "scores": change["scores"], "unit": change["unit"]}
            )
        elif t == "Programme.MaturityInstrumentDefined":
            self.programme["instrument"] = [dict(x) for x in change["dimensions"]]
        elif t == "Programme.Closed":
            self.closed = True
        elif t in RECORD_CREATED:
            author = self.participants.get(change["participant_id"], {})
            self.records[rid] = {
                "id": rid, "kind": RECORD_CREATED[t], "week": change["week"],
                "participant_id": change["participant_id"],
                "pseudonym": author.get("pseudonym"), "unit": change["unit"],
                "units": list(change["units"]), "areas": list(change["areas"]),
                "based_on": list(change["based_on"]), "created_at": change["time"],
                "created_position": change["position"], "void": False, "changes": 0,
                "stage": "planned" if t == "Experiment.Planned" else None,
                "outcome": None,
                "previous_cycle_id": change.get("previous_cycle_id"),
                "cycle": change.get("cycle"),
                "shared": bool(change.get("shared")),
                "team": list(change.get("team") or []),
            }
        elif rid in self.records:
            r = self.records[rid]
            r["changes"] += 1
            if t == "Reflection.Amended":
                r["areas"] = list(change["areas"])
            elif t in ("Reflection.Withdrawn", "Decision.Reversed"):
                r["void"] = True
            elif t == "Decision.Revised":
                r["based_on"] = list(change["based_on"])
                r["units"] = list(change["units"])
            elif t == "Experiment.Started":
                r["stage"] = "started"
            elif t == "Experiment.Evaluated":
                r["stage"] = "evaluated"
            elif t == "Experiment.Concluded":
                r["stage"], r["outcome"] = "concluded", change["outcome"]
            elif t == "Experiment.NextCyclePlanned":
                r["next_cycle_id"] = change["next_cycle_id"]
            elif "shared" in change:
                r["shared"] = change["shared"]
            elif "member_id" in change:
                team = r.setdefault("team", [])
                if t.endswith(TEAM_JOINED) and change["member_id"] not in team:
                    team.append(change["member_id"])
                elif t.endswith("TeamMemberRemoved") and change["member_id"] in team:
                    team.remove(change["member_id"])

    # views ---------------------------------------------------------------------

    def live_area(self, area_id: str) -> str:
        seen = set()
        while area_id in self.areas and self.areas[area_id]["merged_into"] and area_id not in seen:
            seen.add(area_id)
            area_id = self.areas[area_id]["merged_into"]
        return area_id

    def progress(self) -> list[dict[str, Any]]:
        """The insight-to-capability funnel per week (live records only)."""
        weeks = self.programme.get("weeks", [])
        rows = {
            w["number"]: {
                "week": w["number"], "theme": w["theme"], "reflections": 0, "decisions": 0,
                "experiments": {"planned": 0, "started": 0, "evaluated": 0, "concluded": 0},
                "outcomes": {"adopt": 0, "adapt": 0, "abandon": 0}, "capabilities": 0,
                "withdrawn_reflections": 0, "reversed_decisions": 0,
            }
            for w in weeks
        }
        for r in self.records.values():
            row = rows.get(r["week"])
            if row is None:
                continue
            kind = r["kind"]
            if kind == "reflection":
                row["withdrawn_reflections" if r["void"] else "reflections"] += 1
            elif kind == "decision":
                row["reversed_decisions" if r["void"] else "decisions"] += 1
            elif kind == "experiment":
                row["experiments"][r["stage"]] += 1
                if r["outcome"]:
                    row["outcomes"][r["outcome"]] += 1
            elif kind == "capability":
                row["capabilities"] += 1
        return [rows[n] for n in sorted(rows)]

    def lineage(self) -> dict[str, Any]:
        nodes = [
            {k: r[k] for k in ("id", "kind", "week", "unit", "pseudonym", "void", "stage",
                               "outcome", "created_at")}
            for r in self.records.values()
        ]
        edges = [
            {"from": r["id"], "to": b, "type": "based_on",
             "cross_participant": r["participant_id"] != self.records[b]["participant_id"],
             "cross_unit": r["unit"] != self.records[b]["unit"]}
            for r in self.records.values() for b in r["based_on"] if b in self.records
        ]
        return {"nodes": nodes, "edges": edges}

    def collaborations(self) -> list[dict[str, Any]]:
        pairs: dict[tuple[int, str, str], dict[str, Any]] = {}
        for r in self.records.values():
            if r["kind"] not in ("decision", "experiment") or r["void"]:
                continue
            units = sorted(set(r["units"]))
            for i, a in enumerate(units):
                for b in units[i + 1:]:
                    row = pairs.setdefault(
                        (r["week"], a, b),
                        {"week": r["week"], "unit_a": a, "unit_b": b, "decisions": 0,
                         "experiments": 0},
                    )
                    row["decisions" if r["kind"] == "decision" else "experiments"] += 1

        def row(week: int, a: str, b: str) -> dict[str, Any]:
            a, b = min(a, b), max(a, b)
            return pairs.setdefault((week, a, b), {"week": week, "unit_a": a, "unit_b": b,
                                                   "decisions": 0, "experiments": 0})

        for r in self.records.values():  # links across units, in the later record's week
            for b in r["based_on"]:
                base = self.records.get(b)
                if base is not None and base["unit"] != r["unit"]:
                    found = row(r["week"], r["unit"], base["unit"])
                    found["links"] = found.get("links", 0) + 1
            units = sorted({self.participants.get(m, {}).get("unit") or r["unit"]
                            for m in r.get("team") or []} | {r["unit"]})
            for i, a in enumerate(units):  # teams spanning units
                for b in units[i + 1:]:
                    found = row(r["week"], a, b)
                    found["teams"] = found.get("teams", 0) + 1
        for found in pairs.values():
            found.setdefault("links", 0)
            found.setdefault("teams", 0)
        return [pairs[k] for k in sorted(pairs)]

    def development_areas(self) -> list[dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for area_id, area in self.areas.items():
            if not area["merged_into"]:
                out[area_id] = {"area_id": area_id, "name": area["name"], "records": 0,
                                "participants": set(), "units": set()}
        for r in self.records.values():
            if r["void"]:
                continue
            for a in {self.live_area(x) for x in r["areas"]}:
                if a in out:
                    out[a]["records"] += 1
                    out[a]["participants"].add(r["participant_id"])
                    out[a]["units"].add(r["unit"])
        return [
            {**row, "participants": len(row["participants"]), "units": sorted(row["units"])}
            for row in out.values()
        ]

    def to_dict(self) -> dict[str, Any]:
        """The whole state, JSON-ready (used for checkpoints and the state API)."""
        return {
            "programme_id": self.programme_id, "position": self.position, "time": self.time,
            "events": self.events, "programme": self.programme, "materials": self.materials,
            "meetings": self.meetings, "areas": self.areas, "participants": self.participants,
            "records": self.records, "assessments": self.assessments,
            "recommendations": self.recommendations, "closed": self.closed,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProgrammeState:
        state = cls(data["programme_id"])
        for key, value in copy.deepcopy(data).items():
            setattr(state, key, value)
        return state

    def copy(self) -> ProgrammeState:
        return ProgrammeState.from_dict(self.to_dict())


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)
