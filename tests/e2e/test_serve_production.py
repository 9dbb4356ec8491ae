"""``framdrift serve`` is a production server (waitress) by default (issue 15, item 4).

Started as a person starts it (a subprocess, the same start-up lines): the answers come
from waitress, nothing says "development server", 16 clients at once get no error, the
errors waitress answers itself are problem documents under /api/v1, and SIGTERM stops it
cleanly. ``--dev`` runs werkzeug's development server instead.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.e2e.processes import BIN, ROOT, free_port
from tests.e2e.stack import read_logs, stop, store_with_link, wait_http

CLIENTS = 16
REQUESTS_PER_CLIENT = 15


def _serve(url: str, tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, str, Path]:
    env = {**os.environ, "FRAMDRIFT_DATABASE_URL": url, "FRAMDRIFT_SECRET_KEY": "e2e",
           "PYTHONUNBUFFERED": "1"}
    port, log = free_port(), tmp_path / "serve.log"
    with log.open("ab") as out:
        process = subprocess.Popen([str(BIN / "framdrift"), "serve", *extra, "--port", str(port)],
                                   env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/healthz", [process], [log])
    return process, base, log


def _raw(base: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:] if ": " in line)}
    return int(lines[0].split()[1]), headers, body


def _too_large_head(path: bytes) -> bytes:
    """A request head of exactly waitress's limit (128 KiB, unfinished): the server reads
    every byte before it refuses, so it closes without a reset."""
    head = b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nX-Big: "
    return head + b"y" * (128 * 1024 - len(head))


def test_serve_runs_waitress_under_load(store_url: str, tmp_path: Path) -> None:
    _secret, token = store_with_link(store_url)
    process, base, log = _serve(store_url, tmp_path)
    try:
        assert requests.get(f"{base}/healthz", timeout=10).headers["Server"] == "waitress"
        auth = {"Authorization": f"Bearer {token}"}
        paths = ["/api/v1/programmes", "/healthz", "/", "/api/v1/openapi.json?lang=en"]

        def client(number: int) -> list[str]:
            bad = []
            with requests.Session() as session:
                for i in range(REQUESTS_PER_CLIENT):
                    path = paths[(number + i) % len(paths)]
                    answer = session.get(base + path, headers=auth if "programmes" in path
                                         else {}, timeout=30)
                    if answer.status_code != 200:
                        bad.append(f"{path}: {answer.status_code}")
            return bad

        started = time.monotonic()
        with ThreadPoolExecutor(CLIENTS) as pool:
            failures = [f for result in pool.map(client, range(CLIENTS)) for f in result]
        elapsed = time.monotonic() - started
        assert failures == [], failures
        assert elapsed < 120, elapsed

        # waitress's own refusal (request line and headers of 128 KiB) is a problem ...
        status, headers, body = _raw(base, _too_large_head(b"/api/v1/programmes"))
        assert status == 431 and headers["content-type"] == "application/problem+json"
        problem = json.loads(body)
        assert problem["status"] == 431 and problem["type"].startswith("/api/v1/problems/")
        assert problem["instance"] == "/api/v1/programmes"
        # ... under /api/v1 only; a page keeps waitress's plain text
        status, headers, _ = _raw(base, _too_large_head(b"/r/"))
        assert status == 431 and headers["content-type"].startswith("text/plain")
    finally:
        code = stop(process)
    text = log.read_text(errors="replace")
    assert code == 0, read_logs([log])
    assert "Framdrift is running at http://localhost:" in text and "/api/v1/docs" in text
    assert "development server" not in text.lower(), text
    assert '"GET /api/v1/programmes HTTP/1.1" 200' in text  # the access log is on


def test_serve_dev_runs_werkzeug(sqlite_url: str, tmp_path: Path) -> None:
    store_with_link(sqlite_url)
    process, base, log = _serve(sqlite_url, tmp_path, "--dev")
    try:
        server = requests.get(f"{base}/healthz", timeout=10).headers["Server"]
    finally:
        stop(process)
    assert server.startswith("Werkzeug"), server
    assert "development server" in log.read_text(errors="replace").lower()


@pytest.mark.parametrize("args", [["--threads", "0"], ["--port", "-1"]])
def test_serve_refuses_bad_settings(args: list[str], sqlite_url: str) -> None:
    result = subprocess.run([str(BIN / "framdrift"), "serve", *args], cwd=ROOT, timeout=60,
                            env={**os.environ, "FRAMDRIFT_DATABASE_URL": sqlite_url},
                            capture_output=True, text=True)
    assert result.returncode == 2 and "Invalid value" in result.stderr
