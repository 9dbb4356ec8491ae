"""The deployment's processes on 127.0.0.1: gunicorn with deploy/gunicorn.conf.py and nginx
with deploy/nginx.conf (only its port, upstream and paths templated), as docker-compose.yml
runs them. Every start waits a bounded time; every stop ends with a kill."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.processes import BIN, ROOT

GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
REQUIRE_NGINX = os.environ.get("FRAMDRIFT_REQUIRE_NGINX", "") not in ("", "0", "no", "false")


def nginx_binary() -> str:
    """Debian's nginx; fails (CI, FRAMDRIFT_REQUIRE_NGINX) or skips when it is missing."""
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None)
    if not found:
        message = "no nginx (apt-get install nginx; `./run tests` does it as root)"
        if REQUIRE_NGINX:
            pytest.fail(message + " and FRAMDRIFT_REQUIRE_NGINX is set", pytrace=False)
        pytest.skip(message)
    return found


def nginx_dir() -> Path:
    """A directory for nginx's config, logs and temp files, which its workers (``nobody``
    when the tests run as root) can enter."""
    path = Path(tempfile.mkdtemp(prefix="framdrift-nginx-"))
    path.chmod(0o755)
    return path


def render_nginx_conf(root: Path, listen_port: int, upstream: str) -> Path:
    """deploy/nginx.conf with only the port, the upstream, and the pid, temp and log paths
    replaced."""
    text = NGINX_CONF.read_text()
    replacements = {
        "listen 8000;": f"listen 127.0.0.1:{listen_port};",
        "server web:8000;": f"server {upstream};",
        "/var/run/nginx.pid": str(root / "nginx.pid"),
        "/var/cache/nginx": str(root),
        "/dev/stdout": str(root / "access.log"),
        "/dev/stderr": str(root / "error.log"),
    }
    for old, new in replacements.items():
        assert old in text, f"deploy/nginx.conf no longer has {old!r}"
        text = text.replace(old, new)
    conf = root / "nginx.conf"
    conf.write_text(text)
    return conf


def nginx_command(binary: str, root: Path, conf: Path, *extra: str) -> list[str]:
    return [binary, "-p", str(root), "-c", str(conf), "-e", str(root / "error.log"), *extra]


def start_nginx(binary: str, root: Path, listen_port: int, upstream: str) -> subprocess.Popen:
    conf = render_nginx_conf(root, listen_port, upstream)
    out = (root / "nginx.out").open("ab")
    process = subprocess.Popen(nginx_command(binary, root, conf, "-g", "daemon off;"),
                               stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    out.close()
    return process


def start_gunicorn(env: dict[str, str], port: int, log: Path, workers: int = 2,
                   *extra: str) -> subprocess.Popen:
    """gunicorn as compose runs it (deploy/gunicorn.conf.py), on 127.0.0.1:``port``."""
    out = log.open("ab")
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "--config", str(GUNICORN_CONF), "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--graceful-timeout", "5", *extra, "api.wsgi:app"],
        env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    out.close()
    return process


def wait_http(url: str, processes: list[subprocess.Popen], logs: list[Path],
              timeout: float = 30) -> None:
    """Wait (bounded) until ``url`` answers 200; fail with the logs if a process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                pytest.fail(f"{process.args[0]} exited early:\n" + read_logs(logs))
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    pytest.fail(f"{url} did not answer within {timeout} s:\n" + read_logs(logs))


def read_logs(logs: list[Path]) -> str:
    return "\n".join(f"--- {p.name}\n" + p.read_text(errors="replace")
                     for p in logs if p.exists())


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
    """Stop a process started in its own session (master and workers); kill if it lingers."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    return process.returncode


def store_with_link(url: str) -> tuple[str, str]:
    """A migrated store with one programme and one participant; ``(their sign-in secret,
    an evaluator API token)``."""
    from datetime import date

    from domain.accounts import issue_link, issue_token
    from domain.application import Framdrift
    from domain.context import acting_as
    from tests.conftest import migrate_all

    migrate_all(url)
    app = Framdrift.from_url(url)
    try:
        with acting_as("researcher:e2e"):
            programme = app.plan_programme(organisation="Testby kommun", title="Loggar",
                                           first_day=date(2026, 1, 5),
                                           units=[{"key": "it", "name": "IT"}])
            participant = app.enrol_participant(programme, name="Eva Exempel", email=None,
                                                role="manager", unit="it", consent=True)
            secret, _id = issue_link(app, role="participant", subject=participant)
            token, _tid = issue_token(app, role="evaluator", label="e2e")
    finally:
        app.close()
    return secret, token
