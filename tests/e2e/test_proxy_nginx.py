"""The web service behind nginx, as docker-compose.yml runs it (issue 10, items 8 and 10).

gunicorn with deploy/gunicorn.conf.py (two workers) behind nginx with deploy/nginx.conf (only
its port, upstream and paths templated), all on 127.0.0.1, nginx as a foreground process with
a temporary prefix. Slow clients that trickle their headers or body for ~9 s never stall the
service: /healthz answers within a second throughout (with gunicorn alone, two such sockets
used to time out every request). Sign-ins through the proxy leave no secret in any log.
Errors nginx answers itself keep the app's JSON shape. nginx is installed by `./run tests`
(as root); without it these tests skip, or fail when FRAMDRIFT_REQUIRE_NGINX is set (CI).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import requests

from tests.e2e.processes import free_ports
from tests.e2e.stack import (
    nginx_binary,
    nginx_dir,
    read_logs,
    start_gunicorn,
    start_nginx,
    stop,
    store_with_link,
    wait_http,
)

pytestmark = [pytest.mark.slow]

SLOW_HEADERS, SLOW_BODIES = 6, 4  # sockets trickling their request head / their body
TRICKLE_FOR = 9.0  # seconds (nginx cuts a request head off after 10 s)
STEP = 1.0  # one header line (or one body byte) per second
PROBE_EVERY, PROBE_LIMIT = 0.25, 1.0  # /healthz meanwhile, each answered within a second


@dataclass
class Stack:
    base: str  # nginx
    direct: str  # gunicorn itself
    root: Path  # nginx's prefix: access.log, error.log
    gunicorn_log: Path
    secret: str
    token: str
    redis: redis.Redis  # where the app counts sign-in attempts
    prefix: str

    def logs(self) -> list[Path]:
        return [self.root / "access.log", self.root / "error.log", self.root / "nginx.out",
                self.gunicorn_log]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, redis_available: str) -> Iterator[Stack]:
    binary = nginx_binary()
    tmp = tmp_path_factory.mktemp("proxy")
    url = f"sqlite:///{tmp}/framdrift.sqlite3"
    secret, token = store_with_link(url)
    prefix = f"fdtest{uuid.uuid4().hex[:12]}"
    env = {**os.environ, "FRAMDRIFT_DATABASE_URL": url, "FRAMDRIFT_SECRET_KEY": "e2e",
           "FRAMDRIFT_PROXY_FIX": "1", "FRAMDRIFT_RATELIMIT_STORAGE_URL": redis_available,
           "FRAMDRIFT_RATELIMIT_KEY_PREFIX": prefix, "PYTHONUNBUFFERED": "1"}
    env.pop("FRAMDRIFT_HTTPS", None)
    web_port, proxy_port = free_ports(2)
    root = nginx_dir()
    gunicorn_log = tmp / "gunicorn.log"
    web = start_gunicorn(env, web_port, gunicorn_log, 2)
    proxy = start_nginx(binary, root, proxy_port, f"127.0.0.1:{web_port}")
    result = Stack(f"http://127.0.0.1:{proxy_port}", f"http://127.0.0.1:{web_port}", root,
                   gunicorn_log, secret, token, redis.Redis.from_url(redis_available), prefix)
    try:
        wait_http(f"{result.base}/healthz", [web, proxy], result.logs())
        yield result
    finally:
        stop(proxy)
        stop(web)
        shutil.rmtree(root, ignore_errors=True)
        keys = list(result.redis.scan_iter(match=f"*{prefix}*"))
        if keys:
            result.redis.delete(*keys)
        result.redis.close()


def _trickle(port: int, head: bytes, piece: bytes, until: float, held: list[float]) -> None:
    """Send ``head`` then one ``piece`` per STEP until ``until``; note how long it was held."""
    start = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(head)
            while time.monotonic() < until:
                time.sleep(STEP)
                s.sendall(piece)
    except OSError:
        pass  # nginx hung up on a too slow client: that is allowed
    held.append(time.monotonic() - start)


def test_slow_clients_do_not_stall_the_service(stack: Stack) -> None:
    port = int(stack.base.rsplit(":", 1)[1])
    until = time.monotonic() + TRICKLE_FOR
    held: list[float] = []
    heads = [(b"GET /healthz HTTP/1.1\r\nHost: slow\r\n", b"X-Slow: 1\r\n")] * SLOW_HEADERS
    bodies = [(b"POST /login HTTP/1.1\r\nHost: slow\r\nContent-Type: "
               b"application/x-www-form-urlencoded\r\nContent-Length: 4096\r\n\r\n", b"a")
              ] * SLOW_BODIES
    threads = [threading.Thread(target=_trickle, args=(port, head, piece, until, held),
                                daemon=True) for head, piece in heads + bodies]
    for t in threads:
        t.start()
    time.sleep(0.5)  # every slow socket is open and has sent something
    latencies: list[float] = []
    failures: list[str] = []
    while time.monotonic() < until - 0.5:
        started = time.monotonic()
        try:
            answer = requests.get(f"{stack.base}/healthz", timeout=PROBE_LIMIT)
            if answer.status_code != 200:
                failures.append(f"{answer.status_code} {answer.text[:80]}")
        except requests.RequestException as e:
            failures.append(type(e).__name__)
        latencies.append(time.monotonic() - started)
        time.sleep(PROBE_EVERY)
    for t in threads:
        t.join(timeout=TRICKLE_FOR + 10)
    assert not any(t.is_alive() for t in threads)
    assert not failures, (failures, read_logs(stack.logs()))
    assert len(latencies) >= 20 and max(latencies) < PROBE_LIMIT, latencies
    # the slow sockets really were held open while the probes ran
    assert len(held) == SLOW_HEADERS + SLOW_BODIES
    assert sorted(held)[len(held) // 2] > TRICKLE_FOR - 2, held


def test_no_secret_in_any_log_behind_the_proxy(stack: Stack) -> None:
    secret, token = stack.secret, stack.token
    session = requests.Session()
    first = session.get(f"{stack.base}/in/{secret}", allow_redirects=False, timeout=10)
    assert first.status_code == 302, first.text
    assert session.get(f"{stack.base}/p/", timeout=10).status_code == 200  # signed in
    requests.get(f"{stack.base}/in/{secret}?next=/p/", timeout=10,
                 headers={"Referer": f"https://mail.example.org/in/{secret}"})
    requests.get(f"{stack.base}/login", params={"next": f"/in/{secret}"}, timeout=10)
    requests.get(f"{stack.base}/in/{secret[:-3]}xyz", timeout=10)
    requests.get(f"{stack.base}/api/v1/programmes", params={"token": token}, timeout=10,
                 headers={"Authorization": f"Bearer {token}"})
    time.sleep(0.3)  # nginx writes its access log line after the response
    access = (stack.root / "access.log").read_text(errors="replace")
    assert '"GET /in/[redacted] HTTP/1.1" 302' in access, access
    assert '"GET /login?[redacted] HTTP/1.1" 200' in access, access
    # (a token in the address is refused, 422, and still kept out of the logs)
    assert '"GET /api/v1/programmes?[redacted] HTTP/1.1" 422' in access, access
    every = read_logs(stack.logs())
    for needle in (secret, secret[len("fdl_"):], secret[:-3], token, token[len("fd_"):]):
        assert needle not in every, f"{needle[:12]}... is in a log:\n{every}"
    assert "/in/[redacted]" in stack.gunicorn_log.read_text(errors="replace")


def test_a_client_cannot_choose_the_address_it_is_counted_under(stack: Stack) -> None:
    """nginx appends the address it sees to X-Forwarded-For and the app (FRAMDRIFT_PROXY_FIX=1)
    takes only that last entry: sign-in attempts are counted per real client, and a client
    sending its own X-Forwarded-For is still counted under its own address."""
    for i in range(3):
        answer = requests.get(f"{stack.base}/in/fdl_spoof{i}", timeout=5,
                              headers={"X-Forwarded-For": f"203.0.113.{i}"})
        assert answer.status_code == 404
    keys = [k.decode() for k in stack.redis.scan_iter(match=f"*{stack.prefix}*")]
    assert keys and all("/127.0.0.1/" in k for k in keys), keys
    assert not any("203.0.113." in k for k in keys), keys
    assert answer.headers["Server"] == "nginx"  # and no version number


@pytest.mark.parametrize(("request_kwargs", "code"), [
    ({"url": "/api/v1/programmes?q=" + "x" * 20_000}, 414),
    ({"url": "/", "headers": {"X-Big": "x" * 20_000}}, 431),
    ({"url": "/login", "method": "POST", "data": b"a" * (3 * 1024 * 1024)}, 413),
])
def test_errors_from_nginx_are_problem_documents(stack: Stack, request_kwargs, code):
    kwargs = dict(request_kwargs)
    method = kwargs.pop("method", "GET")
    url = stack.base + kwargs.pop("url")
    answer = requests.request(method, url, timeout=10, **kwargs)
    assert answer.status_code == code
    assert answer.headers["Content-Type"] == "application/problem+json"
    body = answer.json()
    assert set(body) == {"type", "title", "status", "detail", "errors"}, body
    assert body["status"] == code and body["detail"] and body["errors"] == {}
    assert body["type"].startswith("/api/v1/problems/")
