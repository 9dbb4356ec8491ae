"""Issue 6 acceptance: SIGKILL of the web server in the middle of a load of writes.

On the local PostgreSQL: ``framdrift migrate``, a small synthetic demo, gunicorn with two
workers. Four participants sign in by link and each sends 25 reflections through the web
form (CSRF token, own idempotency key per submission) from its own thread. In the middle,
the gunicorn master and its workers (the whole process group) get SIGKILL; gunicorn is
started again on the same port, and the clients resend, with the same idempotency key,
every submission that got no answer. Then:

- every submission answered with the redirect after success is in the log exactly once
  (``Reflection.Logged`` events by ``request_id``), and none is doubled;
- after ``framdrift projections run`` has caught up, the read models answer exactly as
  after ``framdrift projections rebuild``.

Everything listens on 127.0.0.1 only and the test is bounded (well under 60 s).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import requests

from domain.accounts import issue_link, issue_token
from domain.application import Framdrift
from domain.context import acting_as
from tests.e2e.processes import BIN, ROOT, framdrift, free_port

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

THREADS, PER_THREAD = 4, 25
KILL_AFTER = 40  # answered submissions before the SIGKILL (of 100)
DEADLINE = 50.0  # seconds for the whole load, retries included




def _start_gunicorn(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    out = log.open("ab")
    # a session (and process group) of its own: SIGKILL reaches the master and workers
    return subprocess.Popen(
        [str(BIN / "gunicorn"), "-w", "2", "--bind", f"127.0.0.1:{port}",
         "--graceful-timeout", "5", "--timeout", "20", "api.wsgi:app"],
        env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _wait_healthy(base: str, process: subprocess.Popen, log: Path, path: str = "/healthz",
                  timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "gunicorn died:\n" + log.read_text(errors="replace")
        try:
            if requests.get(base + path, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    pytest.fail(f"{base}{path} not ready:\n" + log.read_text(errors="replace"))


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=10)


def _stop_group(process: subprocess.Popen) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            _kill_group(process)


class Client(threading.Thread):
    """One participant sending reflections; resends unanswered ones with the same key."""

    def __init__(self, base: str, link: str, n: int, answered: Counter, lock: threading.Lock):
        super().__init__(daemon=True)
        self.base, self.link, self.n = base, link, n
        self.answered, self.lock = answered, lock
        self.ok: list[str] = []  # request ids answered with the redirect after success
        self.retries = 0
        self.failures: list[str] = []

    def run(self) -> None:
        try:
            self._run()
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.failures.append(f"{type(e).__name__}: {e}")

    def _run(self) -> None:
        session = requests.Session()
        signed_in = session.get(f"{self.base}/in/{self.link}", timeout=10)
        assert signed_in.status_code == 200 and signed_in.url.endswith("/p/"), signed_in.url
        form = session.get(f"{self.base}/p/reflections/new", timeout=10).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        stop = time.monotonic() + DEADLINE
        for i in range(self.n):
            request_id = f"kill-{self.n}-{i}-{uuid.uuid4().hex[:12]}"
            data = {"csrf_token": token, "request_id": request_id, "week": "2",
                    "example": f"Synthetic load reflection {request_id}"}
            while True:
                if time.monotonic() > stop:
                    self.failures.append(f"{request_id}: no answer before the deadline")
                    return
                try:
                    response = session.post(f"{self.base}/p/reflections/new", data=data,
                                            allow_redirects=False, timeout=10)
                except requests.RequestException:
                    self.retries += 1  # no answer: the server died; send it again
                    time.sleep(0.05)
                    continue
                if response.status_code in (502, 503, 504):
                    self.retries += 1
                    time.sleep(0.05)
                    continue
                if response.status_code == 302 and "/p/" in response.headers["Location"]:
                    self.ok.append(request_id)
                    with self.lock:
                        self.answered["ok"] += 1
                    break
                self.failures.append(f"{request_id}: answered {response.status_code}")
                break


def _snapshot(base: str, token: str, pid: str) -> dict[str, object]:
    """The read models' answers (bodies only: positions and ETags differ by design)."""
    auth = {"Authorization": f"Bearer {token}"}
    answers: dict[str, object] = {}
    for name in ("progress", "development-areas", "engagement", "collaborations",
                 "maturity", "lineage"):
        response = requests.get(f"{base}/api/v1/programmes/{pid}/{name}", headers=auth,
                                timeout=10)
        assert response.status_code == 200, (name, response.text)
        answers[name] = response.json()
    timeline = requests.get(f"{base}/api/v1/programmes/{pid}/timeline",
                            params={"format": "ndjson"}, headers=auth, timeout=20)
    assert timeline.status_code == 200, timeline.text
    answers["timeline"] = sorted(timeline.text.splitlines())
    programmes = requests.get(f"{base}/api/v1/programmes", headers=auth, timeout=10)
    answers["programmes"] = programmes.json()
    return answers


def test_sigkill_gunicorn_mid_load_loses_and_doubles_nothing(pg_schema_url, tmp_path):
    started = time.monotonic()
    env = {**os.environ, "FRAMDRIFT_DATABASE_URL": pg_schema_url,
           "FRAMDRIFT_SECRET_KEY": "kill-test-secret", "FRAMDRIFT_MAX_LAG": "0",
           "FRAMDRIFT_SIGNIN_LINK_RATE_LIMIT": "1000 per minute", "PYTHONUNBUFFERED": "1"}
    env.pop("FRAMDRIFT_HTTPS", None)
    framdrift(env, "migrate")
    framdrift(env, "demo", "--participants", "6", "--seed", "11")

    app = Framdrift.from_url(pg_schema_url)
    log = tmp_path / "gunicorn.log"
    web = worker = None
    try:
        enrolled = [(e.originator_id, e.programme_id) for _p, e in app.iter_log()
                    if type(e).__qualname__ == "Participant.Enrolled"]
        assert len(enrolled) == 6
        pid = str(enrolled[0][1])
        with acting_as("researcher:kill-test"):
            links = [issue_link(app, role="participant", subject=p)[0]
                     for p, _prog in enrolled[:THREADS]]
        token, _id = issue_token(app, role="evaluator", label="kill-test")
        head_before = app.max_position()

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        web = _start_gunicorn(env, port, log)
        _wait_healthy(base, web, log)

        answered: Counter = Counter()
        lock = threading.Lock()
        clients = [Client(base, link, PER_THREAD, answered, lock) for link in links]
        for c in clients:
            c.start()
        # SIGKILL in the middle of the load
        deadline = time.monotonic() + 30
        while answered["ok"] < KILL_AFTER and time.monotonic() < deadline:
            time.sleep(0.01)
        at_kill = answered["ok"]
        assert 0 < at_kill < THREADS * PER_THREAD, f"not in the middle: {at_kill} answered"
        _kill_group(web)
        time.sleep(0.5)  # clients meet a dead server and retry
        web = _start_gunicorn(env, port, log)
        _wait_healthy(base, web, log)
        for c in clients:
            c.join(timeout=DEADLINE + 5)
            assert not c.is_alive(), "a client did not finish"

        failures = [f for c in clients for f in c.failures]
        assert not failures, failures
        ok = [rid for c in clients for rid in c.ok]
        assert len(ok) == len(set(ok)) == THREADS * PER_THREAD
        assert sum(c.retries for c in clients) > 0, "the kill did not interrupt anything"

        # every answered submission is in the log exactly once, nothing doubled
        logged = Counter(e.request_id for _p, e in app.iter_log(head_before)
                         if type(e).__qualname__ == "Reflection.Logged")
        assert {rid: n for rid, n in logged.items() if n != 1} == {}
        missing = set(ok) - set(logged)
        assert not missing, f"answered but not logged: {sorted(missing)[:5]}"
        assert set(logged) <= set(ok) | {None}
        assert sum(logged.values()) == THREADS * PER_THREAD

        # projections: catch up, compare with a rebuild
        worker = subprocess.Popen(
            [str(BIN / "framdrift"), "projections", "run", "--interval", "0.2"],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        _wait_healthy(base, web, log, "/readyz")  # FRAMDRIFT_MAX_LAG=0: caught up
        caught_up = _snapshot(base, token, pid)
        assert any(w["week"] == 2 for w in caught_up["progress"]["weeks"])
        _stop_group(worker)
        assert worker.returncode == 0
        worker = None
        framdrift(env, "projections", "rebuild")
        rebuilt = _snapshot(base, token, pid)
        for name in caught_up:
            assert caught_up[name] == rebuilt[name], f"{name} differs after a rebuild"
    finally:
        app.close()
        if worker is not None:
            _stop_group(worker)
        if web is not None:
            _stop_group(web)
    assert time.monotonic() - started < 60, "the fault test took too long"
