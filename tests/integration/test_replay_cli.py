"""``framdrift replay`` and ``framdrift export --programme`` (and ``--all`` unchanged)."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import cli
from domain.application import Framdrift

ROOT = Path(__file__).resolve().parents[2]


def invoke(url: str, *args: str):
    return CliRunner().invoke(cli, list(args), env={"FRAMDRIFT_DATABASE_URL": url},
                              catch_exceptions=False)


@pytest.fixture
def demo(store_url: str) -> tuple[str, str]:
    assert invoke(store_url, "migrate").exit_code == 0
    out = invoke(store_url, "demo", "--seed", "3", "--participants", "8").output
    pid = out.split("programme ")[-1].split()[0]
    return store_url, pid


def test_replay_streams_in_order_until_a_moment_or_position(demo):
    url, pid = demo
    result = invoke(url, "replay", "--programme", pid, "--until", "2026-09-25",
                    "--format", "ndjson")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    positions = [r["position"] for r in rows]
    assert positions == sorted(positions) and rows[0]["event_type"] == "Programme.Planned"
    assert all(r["event_time"][:10] <= "2026-09-25" for r in rows)
    assert all(r["programme_id"] == pid for r in rows)
    text = invoke(url, "replay", "--programme", pid, "--until", str(positions[40])).output
    assert "── week 1" in text and f"{positions[40]:>7}" in text
    assert f"{positions[41]:>7}  " not in text
    someone = next(r["participant"] for r in rows if r["participant"])
    mine = invoke(url, "replay", "--programme", pid, "--participant", someone,
                  "--format", "ndjson").output.splitlines()
    assert mine and all(someone in (json.loads(x)["participant"], json.loads(x)["actor"])
                        for x in mine)
    assert invoke(url, "replay", "--programme", "nope").exit_code != 0


def test_replay_follow_prints_new_events_and_stops_on_sigterm(demo):
    url, pid = demo
    env = {**os.environ, "FRAMDRIFT_DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from api.cli import main; main()", "replay", "--programme",
         pid, "--follow", "--format", "ndjson", "--interval", "0.1"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[dict] = []
    reader = threading.Thread(
        target=lambda: [lines.append(json.loads(x)) for x in proc.stdout], daemon=True)
    reader.start()

    def wait_for(check) -> None:
        deadline = time.monotonic() + 30
        while not check() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert check(), lines[-1:] if lines else "no output"

    try:
        app = Framdrift.from_url(url)
        try:
            head = app.max_position()
            wait_for(lambda: lines and lines[-1]["position"] >= head - 2)
            app.hold_check_in(pid, week=5, held_on="2026-10-07", request_id="follow-test")
        finally:
            app.close()
        wait_for(lambda: lines[-1]["event_type"] == "Programme.CheckInHeld")
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
        reader.join(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, proc.stderr.read()
    assert lines[-1]["week"] == 5


def test_export_programme_for_analysis_and_backup_unchanged(demo, tmp_path):
    url, pid = demo
    out = tmp_path / "timeline.csv"
    result = invoke(url, "export", "--programme", pid, "--what", "timeline", "--format", "csv",
                    "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert rows[0]["type"] == "Programme.Planned"
    records = invoke(url, "export", "--programme", pid, "--what", "records", "--format",
                     "ndjson", "--until", "2026-09-25").output.splitlines()
    kinds = {json.loads(r)["kind"] for r in records}
    assert "capability" not in kinds and "reflection" in kinds
    texts = invoke(url, "export", "--programme", pid, "--what", "records", "--with-text").output
    assert "example" in texts.splitlines()[0]
    prov = json.loads(invoke(url, "export", "--programme", pid, "--what", "lineage").output)
    assert prov["entity"] and prov["wasDerivedFrom"]
    bad = invoke(url, "export", "--programme", pid, "--what", "lineage", "--format", "csv")
    assert bad.exit_code != 0
    assert invoke(url, "export", "--out", str(tmp_path / "x")).exit_code != 0
    backup = invoke(url, "export", "--all", "--out", str(tmp_path / "backup"))
    assert backup.exit_code == 0, backup.output
    assert (tmp_path / "backup" / "events.ndjson").stat().st_size > 0
    assert (tmp_path / "backup" / "keys.ndjson").exists()
