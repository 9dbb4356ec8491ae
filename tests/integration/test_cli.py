"""``framdrift migrate``, ``demo`` and ``log`` on both stores."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import cli
from domain.application import Framdrift

NDJSON_KEYS = {
    "position", "event_time", "actor", "participant", "unit", "programme_id", "week",
    "theme", "event_type", "record_id", "summary",
}


def invoke(url: str, *args: str):
    return CliRunner().invoke(cli, list(args), env={"FRAMDRIFT_DATABASE_URL": url},
                              catch_exceptions=False)


@pytest.fixture
def demo_url(store_url: str) -> str:
    result = invoke(store_url, "migrate")
    assert result.exit_code == 0, result.output
    result = invoke(store_url, "demo", "--seed", "3")
    assert result.exit_code == 0, result.output
    return store_url


def all_events(url: str):
    app = Framdrift.from_url(url)
    try:
        return list(app.iter_log())
    finally:
        app.close()


def test_log_before_migrate_tells_to_migrate(store_url):
    result = invoke(store_url, "log")
    assert result.exit_code != 0
    assert "framdrift migrate" in result.output
    assert "Traceback" not in result.output


def test_migrate_is_repeatable(store_url):
    assert invoke(store_url, "migrate").exit_code == 0
    second = invoke(store_url, "migrate")
    assert second.exit_code == 0 and "migrated" in second.output
    log = invoke(store_url, "log")
    assert log.exit_code == 0
    assert log.output.splitlines()[0].split()[:2] == ["pos", "event"]
    assert len(log.output.splitlines()) == 1  # the header, no events


def test_demo_loads_a_whole_synthetic_programme(demo_url):
    events = all_events(demo_url)
    assert 1100 <= len(events) <= 1260
    assert [p for p, _ in events] == sorted(p for p, _ in events)
    kinds = Counter(type(e).__qualname__ for _, e in events)
    assert kinds["Programme.Planned"] == 1
    assert kinds["Participant.Enrolled"] == 30
    for created in ("Reflection.Logged", "Decision.Made", "Experiment.Planned",
                    "Capability.Established"):
        assert kinds[created] > 0, created
    for later in ("Reflection.Amended", "Reflection.Withdrawn", "Experiment.Concluded",
                  "Programme.MaturityAssessed", "Programme.DevelopmentAreaIdentified"):
        assert kinds[later] > 0, later
    planned = next(e for _, e in events if type(e).__qualname__ == "Programme.Planned")
    assert planned.synthetic is True and len(planned.weeks) == 5
    units = {u["key"] for u in planned.units}
    assert len(units) == 9
    enrolled = {e.unit for _, e in events if type(e).__qualname__ == "Participant.Enrolled"}
    assert enrolled == units


def test_log_text_has_a_header_and_increasing_positions(demo_url):
    result = invoke(demo_url, "log")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert re.match(r"\s*pos\s+event time \(UTC\)\s+actor\s+participant\s+unit", lines[0])
    positions = [int(line.split()[0]) for line in lines[1:] if line.split()[0].isdigit()]
    assert len(positions) == len(all_events(demo_url))
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert any("week 2" in line for line in lines if "──" in line)
    assert positions[0] == 1 and positions[-1] == len(positions)


def test_log_piped_into_head_ends_quietly(demo_url):
    env = {**os.environ, "FRAMDRIFT_DATABASE_URL": demo_url}
    framdrift = Path(sys.executable).with_name("framdrift")
    proc = subprocess.run(
        f"'{framdrift}' log | head -n 5", shell=True, env=env, capture_output=True,
        text=True, timeout=60,
    )
    lines = proc.stdout.splitlines()
    assert len(lines) == 5 and lines[0].split()[0] == "pos"
    positions = [int(line.split()[0]) for line in lines[1:] if line.split()[0].isdigit()]
    assert positions == sorted(positions) and positions[0] == 1
    assert "Traceback" not in proc.stderr


def test_log_ndjson_lines_parse_with_the_documented_keys(demo_url):
    result = invoke(demo_url, "log", "--format", "ndjson")
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert len(rows) == len(all_events(demo_url))
    assert all(set(row) == NDJSON_KEYS for row in rows)
    assert [r["position"] for r in rows] == sorted(r["position"] for r in rows)
    assert rows[0]["event_type"] == "Programme.Planned"
    reflections = [r for r in rows if r["event_type"] == "Reflection.Logged"]
    assert reflections and all(r["participant"].startswith("P-") for r in reflections)
    assert all(r["actor"] == r["participant"] for r in reflections)
    assert all(1 <= r["week"] <= 5 and r["theme"] for r in reflections)
    after = invoke(demo_url, "log", "--format", "ndjson", "--after", "1000")
    assert [json.loads(x)["position"] for x in after.output.splitlines()][0] == 1001


def test_the_same_seed_loaded_twice_adds_nothing(demo_url):
    count = len(all_events(demo_url))
    again = invoke(demo_url, "demo", "--seed", "3")
    assert again.exit_code == 0
    assert "0 new events" in again.output
    assert len(all_events(demo_url)) == count


def test_the_same_seed_in_two_fresh_stores_gives_the_same_ids(demo_url, tmp_path):
    other = f"sqlite:///{tmp_path}/other.sqlite3"
    assert invoke(other, "migrate").exit_code == 0
    assert invoke(other, "demo", "--seed", "3").exit_code == 0
    first, second = all_events(demo_url), all_events(other)
    assert [(type(e).__qualname__, e.originator_id, e.originator_version) for _, e in first] \
        == [(type(e).__qualname__, e.originator_id, e.originator_version) for _, e in second]
    different = f"sqlite:///{tmp_path}/different.sqlite3"
    assert invoke(different, "migrate").exit_code == 0
    assert invoke(different, "demo", "--seed", "4").exit_code == 0
    ids = {e.originator_id for _, e in first}
    assert not ids & {e.originator_id for _, e in all_events(different)}


def test_log_says_what_the_service_did_in_words_and_names_no_one(demo_url):
    """Mail, sign-in links, API tokens and accounts are summarised like the course's own
    events (not shown as their class names), and a token's label (free text an admin may
    write a name into) is not printed."""
    from domain.accounts import create_researcher, issue_link, issue_token
    from domain.context import acting_as
    from domain.mail import KINDS, queue_message
    from domain.model import Participant

    app = Framdrift.from_url(demo_url)
    try:
        with acting_as("researcher:tests"):
            issue_token(app, role="evaluator", label="Token för Karin Svensson")
            person = next(e.originator_id for _, e in app.iter_log()
                          if isinstance(e, Participant.Enrolled))
            issue_link(app, role="participant", subject=person)
            queue_message(app, kind=KINDS[0], request_key="cli-test", participant_id=person,
                          language="sv", week=2)
            create_researcher(app, username="forskare-cli", name="Forskare Cli", email=None,
                              password="a-long-password-123")
        head = app.max_position()
    finally:
        app.close()
    rows = [json.loads(x) for x in invoke(demo_url, "log", "--format", "ndjson",
                                          "--after", str(head - 4)).output.splitlines()]
    summaries = {r["event_type"]: r["summary"] for r in rows}
    assert set(summaries) == {"ApiToken.Issued", "SignInLink.Issued", "MailMessage.Queued",
                              "Researcher.Registered"}, summaries
    assert summaries["ApiToken.Issued"].startswith("evaluator API token ")
    assert summaries["SignInLink.Issued"].startswith("participant sign-in link ")
    assert summaries["MailMessage.Queued"] == (
        f"{KINDS[0]} e-mail {rows[2]['record_id'][:8]} queued for week 2")
    text = invoke(demo_url, "log", "--after", str(head - 4)).output
    assert "Karin" not in text and "forskare-cli" not in text and "Forskare Cli" not in text
    assert all(r["summary"] != r["event_type"] for r in rows)


def test_log_text_shows_stored_control_characters_escaped():
    from api.cli import visible

    assert visible("Enhet\x1b[2J\r\nNy rad\u2028") == "Enhet\\x1b[2J\\r\\nNy rad\\u2028"
    assert visible("Åsa — Sjöberg\xa0AB") == "Åsa — Sjöberg\xa0AB"
