"""The production shape, for real, on the local PostgreSQL: ``framdrift migrate``, a
small demo, gunicorn with two workers serving ``api.wsgi:app`` and ``framdrift
projections run`` as separate processes; an evaluator token; numbers over HTTP
checked against the log; both processes stop cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter

import pytest
import requests

from api.cli import LogReader
from domain.application import Framdrift
from tests.e2e.processes import BIN, ROOT, framdrift, free_port

pytestmark = [pytest.mark.postgres, pytest.mark.slow]




def _stop(process: subprocess.Popen, name: str) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        out, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
        pytest.fail(f"{name} did not stop on SIGTERM:\n{out}")
    return out


def test_gunicorn_and_worker_on_postgres(pg_schema_url):
    env = {**os.environ, "FRAMDRIFT_DATABASE_URL": pg_schema_url,
           "FRAMDRIFT_SECRET_KEY": "e2e-secret", "FRAMDRIFT_MAX_LAG": "0",
           "PYTHONUNBUFFERED": "1"}
    framdrift(env, "migrate")
    framdrift(env, "demo", "--participants", "8", "--seed", "7")
    token = framdrift(env, "tokens", "create", "--role", "evaluator",
                       "--label", "e2e").strip().splitlines()[-1]
    assert token.startswith("fd_")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web = subprocess.Popen(
        [str(BIN / "gunicorn"), "-w", "2", "--bind", f"127.0.0.1:{port}",
         "--graceful-timeout", "10", "api.wsgi:app"],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    worker = subprocess.Popen(
        [str(BIN / "framdrift"), "projections", "run", "--interval", "0.2"],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    app = Framdrift.from_url(pg_schema_url)
    try:
        # ready: the database answers and the worker has caught up (max lag 0)
        deadline = time.monotonic() + 60
        ready = None
        while time.monotonic() < deadline:
            assert web.poll() is None and worker.poll() is None, "a process died early"
            try:
                ready = requests.get(f"{base}/readyz", timeout=10)
                if ready.status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass  # still starting: the first request builds the application
            time.sleep(0.2)
        assert ready is not None and ready.status_code == 200, ready and ready.text
        assert requests.get(f"{base}/healthz", timeout=5).json() == {"status": "ok"}

        auth = {"Authorization": f"Bearer {token}"}
        assert requests.get(f"{base}/api/v1/programmes", timeout=5).status_code == 401
        listing = requests.get(f"{base}/api/v1/programmes", headers=auth, timeout=5)
        assert listing.status_code == 200
        [programme] = listing.json()["items"]
        pid = programme["id"]
        assert programme["participants"] == 8

        # the numbers match the log itself
        rows = [r for r in LogReader(app).rows() if r["programme_id"] == pid]
        types = Counter(r["event_type"] for r in rows)
        timeline = requests.get(f"{base}/api/v1/programmes/{pid}/timeline",
                                params={"page_size": 10}, headers=auth, timeout=5)
        assert timeline.json()["total"] == len(rows) == int(timeline.headers["X-Total-Count"])
        progress = requests.get(f"{base}/api/v1/programmes/{pid}/progress",
                                headers=auth, timeout=5).json()["weeks"]
        assert sum(w["reflections"] + w["reflections_withdrawn"] for w in progress) == (
            types["Reflection.Logged"])
        assert sum(w["decisions"] + w["decisions_reversed"] for w in progress) == (
            types["Decision.Made"])
        export = requests.get(f"{base}/api/v1/programmes/{pid}/timeline",
                              params={"format": "ndjson"}, headers=auth, timeout=10)
        assert len(export.text.splitlines()) == len(rows)

        # both workers answer alike; ETag/304 across workers
        etags = {requests.get(f"{base}/api/v1/programmes/{pid}/maturity", headers=auth,
                              timeout=5).headers["ETag"] for _ in range(6)}
        assert len(etags) == 1
        again = requests.get(f"{base}/api/v1/programmes/{pid}/maturity",
                             headers={**auth, "If-None-Match": etags.pop()}, timeout=5)
        assert again.status_code == 304

        # read-your-writes through the worker process
        participant = next(r for r in rows if r["event_type"] == "Participant.Enrolled")
        app.log_reflection(participant["record_id"], week=5,
                           example="a synthetic example written during the e2e test")
        written = app.max_position()
        fresh = requests.get(f"{base}/api/v1/programmes/{pid}/timeline",
                             params={"min_position": written, "sort": "-position",
                                     "page_size": 1}, headers=auth, timeout=10)
        assert fresh.status_code == 200, fresh.text
        assert fresh.json()["items"][0]["position"] == written
        assert int(fresh.headers["X-Framdrift-Position"]) >= written
    finally:
        app.close()
        web_out = _stop(web, "gunicorn")
        worker_out = _stop(worker, "framdrift projections run")
    assert web.returncode == 0, web_out
    assert worker.returncode == 0, worker_out
    assert "Traceback" not in web_out, web_out
    assert "Traceback" not in worker_out, worker_out
