"""A runner killed with SIGKILL mid-way resumes from its tracked position: after a
restart the read models equal a rebuild (nothing missing, nothing counted twice)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from domain.demo import load_demo
from projections import queries as q
from projections.runner import rebuild
from projections.schema import tables_of
from projections.views import NAMES

ROOT = Path(__file__).resolve().parents[2]


def dump(app):
    out = {}
    for name in NAMES:
        for table in tables_of(name):
            rows = app.sql.query(f"SELECT * FROM {app.sql.table(table.name)}")
            out[table.name] = sorted(
                (tuple(sorted(r.items())) for r in rows),
                key=lambda row: tuple((k, v is not None, 0 if v is None else v)
                                      for k, v in row))  # (None sorts first)
    return out


def start_runner(url: str, **extra: str) -> subprocess.Popen:
    env = {**os.environ, "FRAMDRIFT_DATABASE_URL": url, **extra}
    return subprocess.Popen(
        [sys.executable, "-c", "from api.cli import main; main()", "projections", "run",
         "--interval", "0.05"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_sigkill_mid_way_then_restart(app, store_url):
    load_demo(app, programmes=2)
    head = app.max_position()
    proc = start_runner(store_url, FRAMDRIFT_PROJECTION_BATCH="50",
                        FRAMDRIFT_PROJECTION_PAUSE="0.05")
    try:
        deadline = time.monotonic() + 30
        while True:
            reached = q.position(app.sql)
            if 0 < reached < head - 200:
                break
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "runner made no progress"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    killed_at = q.position(app.sql)
    assert 0 < killed_at < head
    assert len(dump(app)["pj_timeline"]) == killed_at  # the tracking matches the rows

    proc = start_runner(store_url, FRAMDRIFT_PROJECTION_BATCH="50")
    try:
        assert q.wait_for(app.sql, head, timeout=60), proc.stderr.read1().decode()
        proc.send_signal(signal.SIGTERM)  # clean shutdown: finishes the batch, exits 0
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    resumed = dump(app)
    assert len(resumed["pj_timeline"]) == head
    rebuild(app)
    assert resumed == dump(app)
