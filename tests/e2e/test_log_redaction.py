"""Secrets never reach the logs (issue 10, item 10).

A participant's sign-in link ``/in/<secret>`` signs them in, and it used to be written to the
access log. Real sign-ins through gunicorn (deploy/gunicorn.conf.py, as compose runs it) and
through ``framdrift serve`` (werkzeug): the secret, and an API token sent alongside, appear
nowhere in what the servers wrote, while the requests themselves are logged. The app's own
loggers (messages and tracebacks) are redacted as well. nginx's log: test_proxy_nginx.py.
"""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

import pytest
import requests

from api.logredact import install, redact
from tests.e2e.processes import BIN, ROOT, free_port
from tests.e2e.stack import read_logs, start_gunicorn, stop, store_with_link, wait_http

SECRET_TAIL = "fdl_"


def _sign_in_every_way(base: str, secret: str, token: str) -> None:
    """Real sign-ins plus the other ways a secret or a token travels in a request."""
    session = requests.Session()
    first = session.get(f"{base}/in/{secret}", allow_redirects=False, timeout=10)
    assert first.status_code == 302 and first.headers["Location"].endswith("/p/")
    assert session.get(f"{base}/p/", timeout=10).status_code == 200  # signed in
    again = requests.get(f"{base}/in/{secret}?next=/p/", timeout=10,
                         headers={"Referer": f"https://mail.example.org/in/{secret}"})
    assert again.status_code == 200 and "/p/" in again.url
    requests.get(f"{base}/login", params={"next": f"/in/{secret}"}, timeout=10)
    requests.get(f"{base}/in/{secret[:-3]}xyz", timeout=10)  # a mistyped link
    api = requests.get(f"{base}/api/v1/programmes", params={"token": token}, timeout=10,
                       headers={"Authorization": f"Bearer {token}"})
    # a token in the address is not a parameter the API takes: a 422 naming it (it goes in
    # the Authorization header), and the address is still kept out of the logs
    assert api.status_code == 422 and "token" in api.json()["errors"]


def _assert_clean(text: str, secret: str, token: str) -> None:
    for needle in (secret, secret[len(SECRET_TAIL):], secret[:-3], token,
                   token[len("fd_"):]):
        assert needle not in text, f"{needle[:12]}... is in the log:\n{text}"
    assert "/in/[redacted]" in text, f"the sign-in requests were not logged:\n{text}"


def test_gunicorn_logs_hold_no_sign_in_secret(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/framdrift.sqlite3"
    secret, token = store_with_link(url)
    env = {**os.environ, "FRAMDRIFT_DATABASE_URL": url, "FRAMDRIFT_SECRET_KEY": "e2e",
           "PYTHONUNBUFFERED": "1"}
    env.pop("FRAMDRIFT_HTTPS", None)
    port, log = free_port(), tmp_path / "gunicorn.log"
    web = start_gunicorn(env, port, log, 2)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", [web], [log])
        _sign_in_every_way(f"http://127.0.0.1:{port}", secret, token)
    finally:
        code = stop(web)
    text = log.read_text(errors="replace")
    assert code == 0, read_logs([log])
    assert '"GET /in/[redacted] HTTP/1.1" 302' in text, text  # the access log is on
    _assert_clean(text, secret, token)


@pytest.mark.parametrize("server", [[], ["--dev"]], ids=["waitress", "werkzeug"])
def test_framdrift_serve_log_holds_no_sign_in_secret(tmp_path: Path, server) -> None:
    """``framdrift serve`` (waitress, our access log) and ``--dev`` (werkzeug) log each
    request too."""
    url = f"sqlite:///{tmp_path}/framdrift.sqlite3"
    secret, token = store_with_link(url)
    env = {**os.environ, "FRAMDRIFT_DATABASE_URL": url, "FRAMDRIFT_SECRET_KEY": "e2e",
           "PYTHONUNBUFFERED": "1"}
    env.pop("FRAMDRIFT_HTTPS", None)
    port, log = free_port(), tmp_path / "serve.log"
    with log.open("ab") as out:
        serve = subprocess.Popen([str(BIN / "framdrift"), "serve", *server, "--port", str(port)],
                                 env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                 start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", [serve], [log])
        _sign_in_every_way(f"http://127.0.0.1:{port}", secret, token)
    finally:
        stop(serve)
    text = log.read_text(errors="replace")
    assert "GET /in/[redacted] HTTP/1.1" in text, text
    _assert_clean(text, secret, token)


def test_the_apps_own_log_records_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    """A message or a traceback that quotes a link or a token is redacted when it is made."""
    install()
    secret = "fdl_" + "s3cr3t" * 7
    log = logging.getLogger("framdrift.web")
    with caplog.at_level(logging.INFO):
        log.warning("sign-in via %s failed", f"https://x.example/in/{secret}?next=/p/")
        log.info("header was %r", {"Authorization": "Bearer fd_" + "t" * 30})
        try:
            raise ValueError(f"no such link {secret}")
        except ValueError:
            log.exception("while handling /login?next=/in/%s", secret)
    assert secret not in caplog.text and "t" * 30 not in caplog.text, caplog.text
    assert "https://x.example/in/[redacted]?next=/p/" in caplog.text
    assert "no such link [redacted]" in caplog.text  # the traceback's message


@pytest.mark.parametrize(("line", "expected"), [
    ('"GET /in/fdl_AbC-12_x HTTP/1.1" 302', '"GET /in/[redacted] HTTP/1.1" 302'),
    ("GET /in/fdl_abc?next=/p/", "GET /in/[redacted]?next=/p/"),
    ("/login?next=%2Fin%2Ffdl_abc", "/login?next=%2Fin%2F[redacted]"),
    ("/x?token=fd_abcdefghijklmnopqrstu&a=1", "/x?token=[redacted]&a=1"),
    ("Authorization: Bearer fd_abcdefghijklmnopqrst", "Authorization: [redacted]"),
    ("/api/v1/programmes?page=2", "/api/v1/programmes?page=2"),
    ("{'Authorization': 'Basic dXNlcjpwYXNz'}", "{'Authorization': '[redacted]'}"),
])
def test_redact(line: str, expected: str) -> None:
    assert redact(line) == expected


def test_the_quick_check_never_skips_a_line_the_patterns_would_change() -> None:
    """``redact`` returns a line untouched when none of the patterns' words is in it (one
    search instead of six substitutions): on lines made of every pattern's pieces, in
    both cases and with or without separators, it answers what all six patterns do."""
    import itertools

    from api.logredact import _redact_all

    pieces = ["/in/", "%2Fin%2F", "%2fIN%2f", "fdl_", "FDL%5f", "fd_", "Authorization: ",
              "authorization=", "Bearer ", "basic ", "token=", "access_token:", "Secret=",
              "PASSWD=", "password%3d", "api_key=", "APIKEY:", "session=", "abc123xyz",
              "AbCdEfGhIjKlMnOpQrSt", " ", "?", "&", "/", '"']
    for a, b, c in itertools.product(pieces, repeat=3):
        line = f"GET {a}{b}{c}x HTTP/1.1"
        assert redact(line) == _redact_all(line), line
