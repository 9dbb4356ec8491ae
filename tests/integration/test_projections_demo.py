"""With the demo loaded, every read model agrees with counts made here, straight from
the events in the log (an independent fold, not the projection code)."""

from __future__ import annotations

from collections import Counter, defaultdict
from itertools import combinations
from typing import Any

import pytest

from domain.demo import load_demo
from projections import queries as q
from projections.runner import catch_up

STAGES = ("planned", "started", "evaluated", "concluded")
CREATED = {"Reflection.Logged", "Decision.Made", "Experiment.Planned", "Capability.Established"}


def fold(app: Any) -> dict[str, Any]:
    """The facts the read models report, folded from ``app.iter_log()``."""
    f: dict[str, Any] = {
        "events": Counter(), "kinds": defaultdict(Counter), "records": {}, "people": {},
        "meetings": {}, "materials": Counter(), "areas": {}, "maturity": {},
        "programme_of": {},
    }
    for _pos, e in app.iter_log():
        d = e.__dict__
        name = type(e).__qualname__
        oid = str(d["originator_id"])
        agg = name.split(".")[0]
        if agg == "Programme":
            pid = oid
        elif agg == "Participant":
            pid = str(d["programme_id"]) if name == "Participant.Enrolled" else \
                f["people"][oid]["programme"]
        else:
            pid = str(d["programme_id"]) if name in CREATED else f["records"][oid]["programme"]
        f["events"][pid] += 1
        f["kinds"][pid][agg.lower()] += 1
        if name == "Programme.MaterialPublished":
            f["materials"][pid] += 1
        elif name in ("Programme.CheckInHeld", "Programme.SessionHeld"):
            f["meetings"][(pid, d["meeting_id"])] = "check_in" if "CheckIn" in name else "session"
        elif name == "Programme.DevelopmentAreaIdentified":
            f["areas"][(pid, d["area_id"])] = {"name": d["name"], "merged": None}
        elif name == "Programme.DevelopmentAreaRenamed":
            f["areas"][(pid, d["area_id"])]["name"] = d["name"]
        elif name == "Programme.DevelopmentAreasMerged":
            f["areas"][(pid, d["source_id"])]["merged"] = d["target_id"]
        elif name == "Programme.MaturityAssessed":
            for dim, score in d["scores"].items():
                f["maturity"][(pid, d["unit"], dim, d["phase"].value)] = score
        elif name == "Participant.Enrolled":
            f["people"][oid] = {"programme": pid, "pseudonym": d["pseudonym"],
                                "unit": d["unit"], "materials": set(), "attended": {}}
        elif name == "Participant.MaterialTakenPartOf":
            f["people"][oid]["materials"].add(d["material_id"])
        elif name == "Participant.AttendanceRecorded":
            f["people"][oid]["attended"][d["meeting_id"]] = d["attended"]
        elif name in CREATED:
            f["records"][oid] = {
                "programme": pid, "kind": agg.lower(), "week": d["week"], "unit": d["unit"],
                "participant": str(d["participant_id"]), "void": False,
                "based_on": [str(b) for b in d.get("based_on", [])],
                "previous": str(d["previous_cycle_id"]) if d.get("previous_cycle_id") else None,
                "areas": list(d["development_areas"]), "units": list(d.get("units", [])),
                "stage": "planned", "outcome": None, "shared": bool(d.get("shared")),
                "team": [str(m) for m in d.get("team") or []],
            }
        elif name.endswith((".Shared", ".Unshared")):
            f["records"][oid]["shared"] = name.endswith(".Shared")
        elif name.endswith((".TeamMemberAdded", ".TeamMemberJoined")):
            f["records"][oid]["team"].append(str(d["member_id"]))
        elif name.endswith(".TeamMemberRemoved"):
            f["records"][oid]["team"].remove(str(d["member_id"]))
        elif name in ("Reflection.Withdrawn", "Decision.Reversed"):
            f["records"][oid]["void"] = True
        elif name == "Reflection.Amended":
            f["records"][oid]["areas"] = list(d["development_areas"])
        elif name == "Decision.Revised":
            f["records"][oid]["based_on"] = [str(b) for b in d["based_on"]]
            f["records"][oid]["units"] = list(d["units"])
        elif name == "Experiment.Started":
            f["records"][oid]["stage"] = "started"
        elif name == "Experiment.Evaluated":
            f["records"][oid]["stage"] = "evaluated"
        elif name == "Experiment.Concluded":
            f["records"][oid]["stage"] = "concluded"
            f["records"][oid]["outcome"] = d["outcome"].value
    return f


@pytest.fixture
def demo(app):
    result = load_demo(app, programmes=2)
    catch_up(app)
    return app, result, fold(app)


def test_every_read_model_matches_the_log(demo):
    app, result, f = demo
    sql = app.sql
    assert q.position(sql) == app.max_position()
    listed = {p["id"]: p for p in q.programmes(sql)}
    assert set(listed) == {str(p) for p in result.programme_ids}
    for programme in result.programme_ids:
        pid = str(programme)
        records = {k: r for k, r in f["records"].items() if r["programme"] == pid}
        people = {k: p for k, p in f["people"].items() if p["programme"] == pid}
        assert listed[pid]["participants"] == len(people) == 30
        assert len(listed[pid]["weeks"]) == 5 and listed[pid]["synthetic"] is True

        # timeline: every event once, by kind
        assert q.timeline(sql, pid, limit=1)[1] == f["events"][pid]
        for kind, n in f["kinds"][pid].items():
            assert q.timeline(sql, pid, kind=kind, limit=1)[1] == n, kind
        rows, total = q.timeline(sql, pid, limit=1000, week=3, kind="reflection")
        assert total == len(rows) and all(r["week"] == 3 for r in rows)
        assert all("[erased]" not in r["summary"] for r in rows)

        # progress: the funnel per week
        by_week = {row["week"]: row for row in q.progress(sql, pid)}
        assert sorted(by_week) == [1, 2, 3, 4, 5]
        for week, row in by_week.items():
            mine = [r for r in records.values() if r["week"] == week]

            def n(kind: str, void: bool | None = None, stage: str | None = None,
                  outcome: str | None = None, mine=mine) -> int:
                return sum(1 for r in mine if r["kind"] == kind
                           and (void is None or r["void"] == void)
                           and (stage is None or r["stage"] == stage)
                           and (outcome is None or r["outcome"] == outcome))

            assert row["reflections"] == n("reflection", False)
            assert row["reflections_withdrawn"] == n("reflection", True)
            assert row["decisions"] == n("decision", False)
            assert row["decisions_reversed"] == n("decision", True)
            for stage in STAGES:
                assert row[f"experiments_{stage}"] == n("experiment", stage=stage)
            for outcome in ("adopt", "adapt", "abandon"):
                assert row[f"outcome_{outcome}"] == n("experiment", outcome=outcome)
            assert row["capabilities"] == n("capability")
        assert sum(r["reflections_withdrawn"] for r in by_week.values()) > 0
        assert sum(r["decisions_reversed"] for r in by_week.values()) > 0

        # lineage: nodes, void flags and edges
        graph = q.lineage(sql, pid)
        nodes = {n["id"]: n for n in graph["nodes"]}
        assert set(nodes) == set(records)
        assert {k for k, n in nodes.items() if n["void"]} == \
            {k for k, r in records.items() if r["void"]}
        expected_edges = set()
        for k, r in records.items():
            for b in r["based_on"]:
                expected_edges.add((k, b, "previous_cycle" if b == r["previous"] else "based_on"))
            if r["previous"]:
                expected_edges.add((k, r["previous"], "previous_cycle"))
        assert {(e["from"], e["to"], e["relation"]) for e in graph["edges"]} == expected_edges
        capability = next(k for k, r in records.items() if r["kind"] == "capability")
        sub = q.lineage(sql, pid, capability)
        kinds = {n["kind"] for n in sub["nodes"]}
        assert {"capability", "experiment", "decision", "reflection"} <= kinds
        assert {k for k, n in nodes.items() if n["shared"]} == \
            {k for k, r in records.items() if r["shared"]}
        # links across participants and units, as folded here (every demo author consents)
        links = [(records[k], records[b]) for k, r in records.items()
                 for b in {*r["based_on"], *([r["previous"]] if r["previous"] else [])}]
        crossing = q.collaboration_links(sql, pid)
        assert crossing["links"] == len(links)
        assert crossing["cross_participant_links"] == sum(
            1 for a, b in links if a["participant"] != b["participant"])
        assert crossing["cross_unit_links"] == sum(1 for a, b in links if a["unit"] != b["unit"])
        assert graph["cross_unit_links"] == crossing["cross_unit_links"]
        # the demo has several cross-unit chains with teams: capabilities whose lineage
        # reaches back across units to a reflection, carried by teams of several units
        across = 0
        for cap in (k for k, r in records.items() if r["kind"] == "capability"):
            back = q.lineage(sql, pid, cap)
            if back["cross_unit_links"] and any(
                    n["kind"] == "reflection" for n in back["nodes"]):
                across += 1
        assert across >= 3
        people_units = {k: p["unit"] for k, p in people.items()}
        joint = [r for r in records.values() if r["kind"] in ("experiment", "capability")
                 and len({r["unit"], *(people_units[m] for m in r["team"])}) > 1]
        assert crossing["joint_records"] == len(joint) >= 5

        # development areas: renames followed, merges folded, live records counted
        areas = {k[1]: a for k, a in f["areas"].items() if k[0] == pid}

        def resolve(a: str, areas: dict = areas) -> str:
            while areas[a]["merged"]:
                a = areas[a]["merged"]
            return a

        got = {a["id"]: a for a in q.development_areas(sql, pid)}
        assert set(got) == {a for a, v in areas.items() if not v["merged"]}
        assert len(got) == 4
        for area_id, area in got.items():
            assert area["name"] == areas[area_id]["name"]
            linked = [r for r in records.values() if not r["void"]
                      and area_id in {resolve(a) for a in r["areas"]}]
            assert area["records"] == len(linked)
            assert area["participants"] == len({r["participant"] for r in linked})
            assert area["units"] == len({r["unit"] for r in linked})
        assert any(a["merged"] for a in got.values())

        # engagement
        eng = q.engagement(sql, pid)
        assert eng["materials_published"] == f["materials"][pid]
        by_pseudonym = {p["participant"]: p for p in eng["participants"]}
        for person in people.values():
            row = by_pseudonym[person["pseudonym"]]
            attended = [m for m, yes in person["attended"].items() if yes]
            assert row["materials"] == len(person["materials"])
            assert row["check_ins"] == sum(f["meetings"][(pid, m)] == "check_in"
                                           for m in attended)
            assert row["sessions"] == sum(f["meetings"][(pid, m)] == "session"
                                          for m in attended)
        for unit in eng["units"]:
            members = [p for p in people.values() if p["unit"] == unit["unit"]]
            assert unit["participants"] == len(members)
            assert unit["materials"] == sum(len(p["materials"]) for p in members)

        # collaborations: unit pairs of live decisions and of experiments, per week
        for c in q.collaborations(sql, pid):
            assert c["teams"] == sum(
                1 for r in records.values() if r["week"] == c["week"] and r["kind"] in (
                    "experiment", "capability") and {c["unit_a"], c["unit_b"]} <= {
                    r["unit"], *(people_units[m] for m in r["team"])})
        pairs: Counter = Counter()
        for r in records.values():
            if r["kind"] in ("decision", "experiment") and not r["void"]:
                for a, b in combinations(sorted(set(r["units"])), 2):
                    pairs[(r["week"], a, b, r["kind"])] += 1
        got_pairs = Counter()
        for c in q.collaborations(sql, pid):
            assert c["unit_a"] < c["unit_b"]
            if c["decisions"]:
                got_pairs[(c["week"], c["unit_a"], c["unit_b"], "decision")] = c["decisions"]
            if c["experiments"]:
                got_pairs[(c["week"], c["unit_a"], c["unit_b"], "experiment")] = c["experiments"]
        assert got_pairs == pairs and pairs
        assert all(c["week"] == 3 for c in q.collaborations(sql, pid, week=3))

        # maturity: latest before and after per dimension and unit
        got_m = q.maturity(sql, pid)
        expected_m = {k: v for k, v in f["maturity"].items() if k[0] == pid}
        assert len(got_m) == len({(k[1], k[2]) for k in expected_m})
        for row in got_m:
            assert row["before"] == expected_m[(pid, row["unit"], row["dimension"], "before")]
            assert row["after"] == expected_m[(pid, row["unit"], row["dimension"], "after")]


def test_unknown_programme_and_bad_filters(demo):
    app, result, _ = demo
    sql = app.sql
    for func in (q.progress, q.lineage, q.development_areas, q.engagement,
                 q.collaborations, q.maturity):
        with pytest.raises(q.UnknownProgrammeError):
            func(sql, "00000000-0000-0000-0000-000000000000")
        with pytest.raises(q.UnknownProgrammeError):
            func(sql, "not-a-uuid")
    pid = str(result.programme_ids[0])
    with pytest.raises(q.InvalidQueryError):
        q.timeline(sql, pid, sort="summary")
    with pytest.raises(q.InvalidQueryError):
        q.timeline(sql, pid, since="yesterday")
    with pytest.raises(q.UnknownRecordError):
        q.lineage(sql, pid, "00000000-0000-0000-0000-000000000000")
    # paging and sorting
    page1, total = q.timeline(sql, pid, limit=10, sort="event_time", descending=True)
    page2, _ = q.timeline(sql, pid, limit=10, offset=10, sort="event_time", descending=True)
    times = [r["event_time"] for r in page1 + page2]
    assert times == sorted(times, reverse=True) and total > 20
    day, n_day = q.timeline(sql, pid, since="2026-09-09", until="2026-09-09", limit=1000)
    assert n_day == len(day) > 0 and all(r["event_time"].startswith("2026-09-09") for r in day)
    someone = day[0]["participant"] or next(r["participant"] for r in day if r["participant"])
    mine, n_mine = q.timeline(sql, pid, participant=someone, limit=1000)
    assert n_mine == len(mine) and all(r["participant"] == someone for r in mine)
