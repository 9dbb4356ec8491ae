"""De-identified exports (domain/deidentify.py, `framdrift export --deidentified`): no free
text, no names, dates shifted by a secret per-participant offset that keeps each
participant's order and course weeks."""

from __future__ import annotations

import json
from datetime import date, datetime
from uuid import UUID

import pytest
from click.testing import CliRunner

from api.cli import cli
from domain.deidentify import DeidentifyError, date_offset, deidentify, export_rows
from domain.demo import load_demo
from domain.model import pseudonym_for

PERSON = UUID("5f0c7d4e-8c39-4a52-9d35-0b0f6c1e2a11")
P_A = pseudonym_for(PERSON)
ROWS = [
    {"participant_id": str(PERSON), "participant": P_A,
     "event_time": "2026-09-08T09:15:00+00:00", "week": 1, "example": "fri text",
     "summary": "session held on 2026-09-11", "position": 7, "record_id": "r1"},
    {"participant": P_A, "event_time": "2026-09-15T10:00:00+00:00", "week": 2,
     "held_on": date(2026, 9, 16), "statement": "ett beslut", "record_id": "r2"},
    {"participant": "P-bbbbbb", "event_time": "2026-09-08T09:15:00Z", "week": 1},
    {"programme_id": "p1", "starts_on": "2026-09-07", "assessed_on": datetime(2026, 9, 7, 8)},
]


def test_rows_lose_free_text_and_shift_dates_consistently():
    out = list(deidentify(ROWS, salt="s3cret", max_days=20))
    for row in out:
        assert not {"example", "summary", "statement", "position", "participant_id"} & set(row)
    a1, a2, b, programme = out
    assert (a1["week"], a2["week"], a1["record_id"]) == (1, 2, "r1")
    offset_a = date_offset(f"participant:{P_A}", salt="s3cret", max_days=20)
    assert a1["event_time"] == (datetime(2026, 9, 8, 9, 15) + _d(offset_a)).strftime(
        "%Y-%m-%dT%H:%M:%S+00:00")
    # the same participant: same offset (whether the row has the id or the pseudonym)
    assert _day(a2["event_time"]) - _day(a1["event_time"]) == 7
    assert a2["held_on"] == date(2026, 9, 16) + _d(offset_a)
    assert b["event_time"].endswith("Z") and b["event_time"] != ROWS[2]["event_time"]
    assert programme["starts_on"] != "2026-09-07"
    assert isinstance(programme["assessed_on"], datetime)
    # deterministic; another secret gives other offsets
    assert list(deidentify(ROWS, salt="s3cret", max_days=20)) == out
    offsets = {date_offset(f"participant:P-{i}", salt="s3cret", max_days=20) for i in range(200)}
    assert 0 not in offsets and min(offsets) >= -20 and max(offsets) <= 20 and len(offsets) > 30
    assert [date_offset(f"x{i}", salt="a") for i in range(20)] != \
        [date_offset(f"x{i}", salt="b") for i in range(20)]


def test_a_secret_is_required(monkeypatch):
    monkeypatch.delenv("FRAMDRIFT_SECRET_KEY", raising=False)
    with pytest.raises(DeidentifyError):
        list(deidentify(ROWS))
    assert export_rows(ROWS) is ROWS  # not de-identified: unchanged
    monkeypatch.setenv("FRAMDRIFT_SECRET_KEY", "from the environment")
    assert list(export_rows(ROWS, deidentified=True)) == \
        list(deidentify(ROWS, salt="from the environment"))


def test_cli_writes_deidentified_ndjson(sqlite_app, sqlite_url, tmp_path):
    result = load_demo(sqlite_app, seed=2, participants=4)
    pid = str(result.programme_ids[0])
    out = tmp_path / "timeline.ndjson"
    env = {"FRAMDRIFT_DATABASE_URL": sqlite_url, "FRAMDRIFT_SECRET_KEY": ""}
    refused = CliRunner().invoke(cli, ["export", "--what", "timeline", "--format", "ndjson",
                                       "--deidentified", "--programme", pid], env=env)
    assert refused.exit_code != 0 and "secret" in refused.output
    done = CliRunner().invoke(cli, ["export", "--what", "timeline", "--format", "ndjson",
                                    "--deidentified", "--programme", pid, "--out",
                                    str(out), "--salt", "s"], env=env)
    assert done.exit_code == 0, done.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows and all("summary" not in r and "position" not in r for r in rows)
    people = result.participants[result.programme_ids[0]]
    names = [sqlite_app.get_participant(p)["name"] for p in people]
    assert not any(n in out.read_text() for n in names)
    # each participant's own events keep their order and their course weeks
    by_person: dict[str, list[dict]] = {}
    for r in rows:
        by_person.setdefault(r["participant"] or "", []).append(r)
    for person_rows in by_person.values():
        times = [r["time"] for r in person_rows]
        assert times == sorted(times)
    missing = CliRunner().invoke(cli, ["export", "--what", "timeline", "--format", "ndjson",
                                       "--deidentified", "--programme", "nope", "--salt",
                                       "s"], env=env)
    assert missing.exit_code != 0 and "Traceback" not in missing.output


def _d(days: int):
    from datetime import timedelta

    return timedelta(days=days)


def _day(text: str) -> int:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).toordinal()
