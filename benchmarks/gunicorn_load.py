"""The compose set-up under load: gunicorn on PostgreSQL, driven over HTTP (issue 14).

Starts what docker-compose.yml runs, on a fresh PostgreSQL database: migrate, the demo
(``--programmes`` x ``--participants``), the read models caught up, then ``gunicorn
--config deploy/gunicorn.conf.py api.wsgi:app`` and ``framdrift projections run`` as
separate processes (no Redis: the sign-in link limit is raised instead; nginx in front
only with ``--nginx``, as docker-compose.yml has it). Load
comes from client processes (``--client-procs``, each with threads, ``http.client`` with
keep-alive); their own CPU time is printed, so a client that starves the server shows.
``--light-client`` sends the timed form posts over a raw keep-alive socket instead
(``LightPoster``: the same request, about half the client CPU per post; the clients share
the machine's cores with the server).

1. Reflection form posts as a browser sends them: each client is a participant signed in
   with their own link (session cookie), the form's CSRF token taken from the page; each
   post has a fresh idempotency key and is answered with a redirect (not followed: the
   POST is what is timed; ``--browser`` also times the whole cycle: the form page, the
   post, the page it redirects to). Baseline, in the same run on the same database (its
   own schema), interleaved: eventsourcing's ``Application.save`` of a fresh one-event
   aggregate from as many threads (benchmarks/writes.py). Targets: posts >= 0.5x the
   baseline at 16 and 64 clients, p99 < 250 ms at 64.
2. 16 evaluators (API token) on ``/api/v1/programmes/{id}/progress``: req/s, p50/p99
   (target p99 < 100 ms); the baseline is ``/healthz`` (no database) in the same run.
3. With ``--big-db NAME``: a second gunicorn on a copy of that database (``createdb -T``;
   dropped afterwards; or ``--big-programmes N``: a fresh one with N demo programmes) and
   the evaluator endpoints ``/progress``, ``/timeline``,
   ``/programmes/{id}`` on both stores, rounds alternating, 16 clients, and one client
   whose requests alternate between the stores; ratio big / small (target within +-20%).

    .venv/bin/python benchmarks/gunicorn_load.py [--clients 16,64] [--seconds 8] \\
        [--rounds 2] [--big-db bench1m] [--browser] [--profile DIR] \\
        [--compare-root DIR] [--variants main=/path/to/worktree-of-main] \\
        [--pool SIZE,OVERFLOW] [--ports LO-HI]

``--compare-root DIR`` (ADR 0023): DIR's gunicorn (a git worktree of main, say) on the same
database beside this tree's, its evaluator cells (/progress, and /progress answered 304)
interleaved with this tree's; ratios this tree / baseline.

``--variants NAME=DIR,...``: the trees in DIR (e.g. a ``git worktree`` of main) are served
the same way, each on a copy of the store, and their form posts measured in the same
rounds as this tree's (the cells' order rotating), each with its ratio to the baseline.
``--pool SIZE,OVERFLOW``: every server process's connection pool (several gunicorns at
once must stay under PostgreSQL's max_connections). ``--ports LO-HI`` (or
``FRAMDRIFT_BENCH_PORTS=LO-HI``): the servers' ports from that range.

``--profile DIR``: every gunicorn worker runs under cProfile and writes DIR/worker-PID.prof
on exit (benchmarks/gunicorn_profile.conf.py), for ``python -m pstats``.
PostgreSQL: FRAMDRIFT_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test)
names the server; the databases are created beside it and dropped afterwards.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG_URL = os.environ.get("FRAMDRIFT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
TEXT = "Vi provade att dela protokollen digitalt före mötet; det sparade en halvtimme. "
READS = {
    "/progress": "/api/v1/programmes/{pid}/progress",
    "/timeline": "/api/v1/programmes/{pid}/timeline",
    "/programmes/{id}": "/api/v1/programmes/{pid}",
}
_HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')
_WEEK = re.compile(r'<select id="week" name="week"[^>]*>.*?<option value="(\d+)" selected',
                   re.S)

# ---------------------------------------------------------------- the clients (processes)
# Only the standard library here: the client processes are spawned and import this module.


class Browser:
    """One keep-alive connection with a cookie jar: what a browser keeps between requests."""

    def __init__(self, port: int, headers: dict[str, str] | None = None):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.headers = headers or {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method: str, path: str, body: str | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        sent = {**self.headers, **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=body, headers=sent)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionError, BrokenPipeError):
                # the server closed an idle keep-alive connection: a browser reconnects
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt:
                    raise
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        return response.status, dict(response.getheaders()), data


def _form(browser: Browser) -> dict[str, str]:
    status, _, html = browser.request("GET", "/p/reflections/new")
    if status != 200:
        raise RuntimeError(f"the form answered {status}")
    text = html.decode()
    fields = dict(_HIDDEN.findall(text))
    week = _WEEK.search(text)
    fields["week"] = week.group(1) if week else "1"
    return fields


def _post_body(fields: dict[str, str], request_id: str, n: int) -> str:
    return urlencode({"csrf_token": fields["csrf_token"], "request_id": request_id,
                      "week": fields["week"], "material_id": "", "example": f"{TEXT}{n}",
                      "deficiency": "", "solutions": "", "visibility": "researchers"})


class LightPoster:
    """The timed form posts with less client CPU (``--light-client``): one keep-alive
    socket, the request written as bytes, the answer read by its Content-Length, cookies
    kept from every Set-Cookie (the session cookie changes with each post, as in a
    browser). What is sent is what ``Browser`` sends for a post (the same form fields,
    cookies and content type); ``http.client`` spent ~0.6-0.7 ms of CPU per post on the
    same two cores as the server (parsing every answer's headers with email.parser)."""

    def __init__(self, port: int, cookies: dict[str, str]):
        self.port = port
        self.cookies = cookies
        self.sock: socket.socket | None = None
        self.buf = b""

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        return sock

    def post(self, path: str, body: str) -> int:
        data = body.encode()
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        request = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                   f"Accept-Encoding: identity\r\nCookie: {cookie}\r\n"
                   f"Content-Type: application/x-www-form-urlencoded\r\n"
                   f"Content-Length: {len(data)}\r\n\r\n").encode() + data
        for attempt in (0, 1):
            if self.sock is None:
                self.sock = self._connect()
            try:
                self.sock.sendall(request)
                return self._answer()
            except (ConnectionError, BrokenPipeError):
                # the server closed an idle keep-alive connection: reconnect, send again
                self.sock.close()
                self.sock = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _answer(self) -> int:
        assert self.sock is not None
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("closed before an answer")
            self.buf += chunk
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length, close = None, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"set-cookie":
                key, _, rest_ = value.strip().decode().partition("=")
                self.cookies[key.strip()] = rest_.split(";", 1)[0]
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        if length is None:
            raise RuntimeError("an answer without Content-Length")
        while len(rest) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("closed in an answer")
            rest += chunk
        self.buf = rest[length:]
        if close:
            self.sock.close()
            self.sock = None
        return status


def _client_thread(kind: str, port: int, job: dict[str, Any], ready: threading.Barrier,
                   go: Any, window: list[float], out: list[tuple[float, float, int]]) -> None:
    """One client: set up (sign in, the form's CSRF token), then requests until the end of
    the window; each (start, latency s, status) kept for the parent."""
    rng = random.Random(job.get("seed", 0))
    browser = Browser(port, job.get("headers"))
    fields: dict[str, str] = {}
    if kind in ("post", "browser"):
        status, _, _ = browser.request("GET", f"/in/{job['secret']}")
        if status not in (302, 303):
            raise RuntimeError(f"sign-in answered {status}")
        fields = _form(browser)
    light = None
    if kind == "post" and job.get("light"):
        light = LightPoster(port, browser.cookies)
        browser.conn.close()  # signed in, the form read: its connection is not needed
    ready.wait()
    go.wait()
    start, end = window
    n = 0
    while True:
        began = time.time()
        if began >= end:
            break
        t0 = time.perf_counter()
        if kind == "get":
            status, _, _ = browser.request("GET", rng.choice(job["paths"]))
        elif kind == "get304":  # a poller that has the answer: If-None-Match, 304
            path = rng.choice(job["paths"])
            status, _, _ = browser.request("GET", path,
                                           headers={"If-None-Match": job["etags"][path]})
        elif light is not None:
            status = light.post("/p/reflections/new", _post_body(fields, uuid.uuid4().hex, n))
        elif kind == "post":
            status, _, _ = browser.request("POST", "/p/reflections/new",
                                           _post_body(fields, uuid.uuid4().hex, n))
        else:  # the browser's cycle: the form (a fresh request id), the post, the log page
            fields = _form(browser)
            status, headers, _ = browser.request("POST", "/p/reflections/new",
                                                 _post_body(fields, fields["request_id"], n))
            if status in (302, 303):
                where = urlsplit(headers.get("Location", "/p/"))
                browser.request("GET", urlunsplit(("", "", where.path, where.query, "")))
        elapsed = time.perf_counter() - t0
        if time.time() <= end:
            out.append((began, elapsed, status))
        n += 1


def client_process(kind: str, port: int, jobs: list[dict[str, Any]], ready_q: Any,
                   go: Any, window: Any, result_q: Any) -> None:
    """A client process: one thread per job; reports its results and its own CPU time."""
    out: list[tuple[float, float, int]] = []
    ready = threading.Barrier(len(jobs) + 1)
    local_go = threading.Event()
    span = [0.0, 0.0]
    threads = [threading.Thread(target=_client_thread,
                                args=(kind, port, job, ready, local_go, span, out), daemon=True)
               for job in jobs]
    for t in threads:
        t.start()
    ready.wait()
    ready_q.put(os.getpid())
    go.wait()
    span[0], span[1] = window[0], window[1]
    cpu0 = time.process_time()
    local_go.set()
    for t in threads:
        t.join()
    result_q.put({"out": out, "cpu": time.process_time() - cpu0})


def drive(kind: str, port: int, jobs: list[dict[str, Any]], procs: int,
          seconds: float, watch: list[int] | None = None) -> dict[str, Any]:
    """Run ``jobs`` (one per concurrent client) spread over ``procs`` client processes for
    ``seconds``; req/s, latency percentiles (ms), statuses, the clients' CPU share."""
    ctx = mp.get_context("spawn")
    ready_q, result_q, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    window = ctx.Array("d", [0.0, 0.0])
    procs = max(1, min(procs, len(jobs)))
    groups = [jobs[i::procs] for i in range(procs)]
    workers = [ctx.Process(target=client_process,
                           args=(kind, port, g, ready_q, go, window, result_q), daemon=True)
               for g in groups]
    for w in workers:
        w.start()
    for _ in workers:
        ready_q.get(timeout=300)
    start = time.time() + 0.2
    window[0], window[1] = start, start + seconds
    server0 = cpu_ticks(watch or [])
    go.set()
    results = [result_q.get(timeout=seconds + 300) for _ in workers]
    server = (cpu_ticks(watch or []) - server0) / os.sysconf("SC_CLK_TCK")
    for w in workers:
        w.join(timeout=30)
    every = [x for r in results for x in r["out"]]
    latencies = sorted(x[1] * 1000 for x in every)
    statuses: dict[int, int] = {}
    for x in every:
        statuses[x[2]] = statuses.get(x[2], 0) + 1
    expected = {"post": (302, 303), "browser": (302, 303), "get": (200,),
                "get304": (304,)}[kind]
    good = sum(n for code, n in statuses.items() if code in expected)
    return {"rate": good / seconds, "p50": pct(latencies, 0.50), "p99": pct(latencies, 0.99),
            "max": latencies[-1] if latencies else float("nan"), "statuses": statuses,
            "bad": len(every) - good, "client_cpu": sum(r["cpu"] for r in results) / seconds,
            "server_cpu": server / seconds, "requests": len(every)}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(q * len(values)))]


def cpu_ticks(pids: list[int]) -> int:
    """utime + stime of these processes and their children (gunicorn's workers)."""
    total = 0
    wanted = set(pids)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) in wanted or int(fields[1]) in wanted:  # fields[1]: the parent's pid
            total += int(fields[11]) + int(fields[12])
    return total


# ---------------------------------------------------------------- the server side


def load_average() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def free_port() -> int:
    """A free port: from ``FRAMDRIFT_BENCH_PORTS`` (``LOW-HIGH``) when set (several
    checkouts benchmarking on one machine keep to their own ranges), else any."""
    low, _, high = os.environ.get("FRAMDRIFT_BENCH_PORTS", "").partition("-")
    candidates = range(int(low), int(high) + 1) if low and high else [0]
    for port in candidates:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise RuntimeError(f"no free port in FRAMDRIFT_BENCH_PORTS={low}-{high}")


POOL: dict[str, str] = {}  # --pool: the servers' pool_size and max_overflow


def db_url(name: str, schema: str | None = None, *, pool: bool = False) -> str:
    """A database on the server of PG_URL; ``pool``: with ``--pool``'s sizes (what the
    gunicorn workers and the projections worker open)."""
    parts = urlsplit(PG_URL)
    query = {**({"schema": schema} if schema else {}), **(POOL if pool else {})}
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", urlencode(query), ""))


def admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(db_url("postgres", pool=False), autocommit=True) as conn:
        conn.execute(sql)


def wait_ready(process: subprocess.Popen[Any], port: int, what: str, timeout: float) -> None:
    """Until ``/readyz`` on ``port`` answers 200; raise if ``process`` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not become ready")
        time.sleep(0.2)


class Server:
    """gunicorn as docker-compose.yml runs it (its config file), plus, when asked, the
    projections worker; both stopped with SIGTERM."""

    def __init__(self, url: str, *, worker: bool, env: dict[str, str], log_dir: Path,
                 name: str, root: Path = ROOT, nginx: bool = False):
        """``root``: the source tree to serve (``--compare-root``: a baseline's);
        ``nginx``: clients reach gunicorn through nginx with deploy/nginx.conf, as in the
        compose set-up (``port`` is then nginx's; its CPU counts as the server's)."""
        self.port = free_port()
        self.name = name
        self.nginx: subprocess.Popen[bytes] | None = None
        config = "benchmarks/gunicorn_profile.conf.py" if env.get("FRAMDRIFT_PROFILE_DIR") \
            else "deploy/gunicorn.conf.py"
        self.env = {**os.environ, "FRAMDRIFT_DATABASE_URL": url,
                    "FRAMDRIFT_SECRET_KEY": "gunicorn-load-benchmark",
                    "FRAMDRIFT_BIND": f"127.0.0.1:{self.port}",
                    "FRAMDRIFT_SIGNIN_LINK_RATE_LIMIT": "100000 per minute",
                    "PYTHONPATH": str(root), "PYTHONUNBUFFERED": "1", **env}
        self.logs = [open(log_dir / f"{name}-gunicorn.log", "w"),  # noqa: SIM115
                     open(log_dir / f"{name}-worker.log", "w")]  # noqa: SIM115
        self.web = subprocess.Popen(
            [str(BIN / "gunicorn"), "--config", config, "api.wsgi:app"],
            cwd=root, env=self.env, stdout=self.logs[0], stderr=subprocess.STDOUT)
        self.worker = subprocess.Popen(
            [str(BIN / "framdrift"), "projections", "run"], cwd=root, env=self.env,
            stdout=self.logs[1], stderr=subprocess.STDOUT) if worker else None
        wait_ready(self.web, self.port, f"gunicorn (see {self.logs[0].name})", 120)
        if nginx:
            self._start_nginx()

    def _start_nginx(self) -> None:
        """deploy/nginx.conf (port, upstream and paths templated as the end-to-end tests
        do) in front of this gunicorn."""
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))  # the tests' nginx helpers (run without PYTHONPATH)
        from tests.e2e.stack import nginx_dir, start_nginx

        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(binary).exists():
            raise RuntimeError("--nginx: no nginx (apt-get install nginx)")
        upstream, self.port = f"127.0.0.1:{self.port}", free_port()
        self.nginx_root = nginx_dir()
        self.nginx = start_nginx(binary, self.nginx_root, self.port, upstream)
        wait_ready(self.nginx, self.port, f"nginx (see {self.nginx_root}/nginx.out)", 30)

    @property
    def pids(self) -> list[int]:
        return [self.web.pid] + ([self.worker.pid] if self.worker else []) + (
            [self.nginx.pid] if self.nginx else [])

    def stop(self) -> None:
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGQUIT)
            try:
                self.nginx.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
                self.nginx.wait()
            log = self.nginx_root / "access.log"
            answered = sum(1 for _ in log.open()) if log.exists() else 0
            print(f"  nginx in front of {self.name}: {answered} requests passed", flush=True)
            shutil.rmtree(self.nginx_root, ignore_errors=True)
        for p in (self.web, self.worker):
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in (self.web, self.worker):
            if p is not None:
                try:
                    p.wait(timeout=40)
                except subprocess.TimeoutExpired:
                    p.kill()
        for f in self.logs:
            f.close()


def prepare(url: str, programmes: int, participants: int) -> dict[str, Any]:
    """migrate, the demo, the read models caught up; a sign-in link per participant and an
    evaluator token (as the researchers' pages and ``framdrift tokens create`` make them)."""
    from api.cli import migrate_all
    from domain.accounts import issue_link, issue_token
    from domain.application import Framdrift
    from domain.demo import load_demo
    from projections import runner

    migrate_all(url)
    app = Framdrift.from_url(url)
    try:
        started = time.perf_counter()
        result = load_demo(app, programmes=programmes, participants=participants)
        people = [p for pid in result.programme_ids for p in result.participants[pid]]
        secrets = [issue_link(app, role="participant", subject=p)[0] for p in people]
        token, _ = issue_token(app, role="evaluator", label="gunicorn benchmark")
        runner.catch_up(app)
        print(f"  store: {app.max_position():,} events, {programmes} programmes, "
              f"{len(people)} participants (loaded and caught up in "
              f"{time.perf_counter() - started:.0f} s)", flush=True)
        return {"secrets": secrets, "token": token, "ids": [str(p) for p in result.programme_ids],
                "events": app.max_position()}
    finally:
        app.close()


def big_store(name: str) -> dict[str, Any]:
    """An evaluator token in a copy of a prepared store, and its programme ids."""
    from domain.accounts import issue_token
    from domain.application import Framdrift
    from projections import runner

    app = Framdrift.from_url(db_url(name))
    try:
        token, _ = issue_token(app, role="evaluator", label="gunicorn benchmark")
        runner.catch_up(app)
        return {"token": token, "events": app.max_position()}
    finally:
        app.close()


def programme_ids(port: int, token: str) -> list[str]:
    browser = Browser(port, {"Authorization": f"Bearer {token}"})
    ids: list[str] = []
    path = "/api/v1/programmes?limit=100"
    while path:
        status, headers, body = browser.request("GET", path)
        if status != 200:
            raise RuntimeError(f"/programmes answered {status}: {body[:200]!r}")
        page = json.loads(body)
        ids += [p["id"] for p in page["items"]]
        path = page.get("next") or ""
    return ids


# ---------------------------------------------------------------- the baseline


def baseline_rate(url: str, threads: int, seconds: float) -> dict[str, float]:
    """eventsourcing's Application.save of a fresh one-event aggregate (benchmarks/writes.py)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from writes import Note, timed

    base = _baseline(url)
    return timed(threads, seconds, lambda t, i: base.save(Note(text=f"{TEXT}{i}")))


_BASELINES: dict[str, Any] = {}


def _baseline(url: str) -> Any:
    if url not in _BASELINES:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from writes import Baseline

        from domain.store import parse_database_url

        config = parse_database_url(url)
        import psycopg

        with psycopg.connect(url.split("?")[0], autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{config.schema}"')
        env = dict(config.env)
        env.pop("POSTGRES_PRE_PING", None)  # the library's default (no ping)
        env["CREATE_TABLE"] = "y"  # the pool as benchmarks/writes.py has it (5 + 10)
        _BASELINES[url] = Baseline(env)
    return _BASELINES[url]


# ---------------------------------------------------------------- the parts


def fmt(r: dict[str, Any]) -> str:
    bad = f", {r['bad']} unexpected {r['statuses']}" if r["bad"] else ""
    return (f"{r['rate']:.0f} req/s, p50 {r['p50']:.0f} ms, p99 {r['p99']:.0f} ms, "
            f"clients {r['client_cpu']:.2f} cores, server {r['server_cpu']:.2f} cores{bad}")


def form_posts(server: Server, store: dict[str, Any], base_url: str, args: Any,
               variants: dict[str, Server] | None = None) -> list[Any]:
    """Posts against the library's baseline, rounds interleaved; with ``variants`` (other
    trees' servers on copies of the same store, ``--variants``) each of them is one more
    cell of every round, so all trees are measured side by side under the same load."""
    rows = []
    secrets = store["secrets"]
    servers = {"posts": server, **{f"posts {name}": v for name, v in (variants or {}).items()}}
    for clients in args.clients:
        jobs = [{"secret": secrets[i % len(secrets)], "light": args.light_client}
                for i in range(clients)]
        for each in servers.values():
            drive("post", each.port, jobs[:4], 2, min(2.0, args.seconds))  # warm every worker
        baseline_rate(base_url, clients, min(1.0, args.seconds))
        cells: dict[str, list[dict[str, Any]]] = {"baseline": [], "browser": [],
                                                  **{k: [] for k in servers}}
        for r in range(args.rounds):
            names = ["baseline", *servers]
            shift = r % len(names)  # each cell goes first in turn
            order = tuple(names[shift:] + names[:shift])
            if args.browser:
                order += ("browser",)
            for what in order:
                la = os.getloadavg()[0]
                if what == "baseline":
                    res: dict[str, Any] = dict(baseline_rate(base_url, clients, args.seconds))
                    res["p50"] = float("nan")
                    print(f"  {clients:>2} threads, baseline Application.save: "
                          f"{res['rate']:.0f} saves/s, p99 {res['p99']:.0f} ms (load {la:.1f})",
                          flush=True)
                else:
                    target = servers.get(what, server)
                    res = drive("browser" if what == "browser" else "post", target.port, jobs,
                                args.client_procs, args.seconds, target.pids)
                    res["load"] = la
                    print(f"  {clients:>2} clients, {what}: {fmt(res)} (load {la:.1f})",
                          flush=True)
                cells[what].append(res)
        med = {k: {m: statistics.median(x[m] for x in v) for m in ("rate", "p99")}
               for k, v in cells.items() if v}
        for k in med:
            if k != "baseline":
                med[k]["p50"] = statistics.median(x["p50"] for x in cells[k])
                med[k]["client_cpu"] = statistics.median(x["client_cpu"] for x in cells[k])
                med[k]["bad"] = sum(x["bad"] for x in cells[k])
                med[k]["load"] = statistics.median(x.get("load", float("nan")) for x in cells[k])
        rows.append((clients, med))
    return rows


def etags(server: Server, store: dict[str, Any], paths: list[str]) -> dict[str, str]:
    """Each path's ETag now (the store does not change while evaluators read)."""
    browser = Browser(server.port, {"Authorization": f"Bearer {store['token']}"})
    found = {}
    for path in paths:
        status, headers, _ = browser.request("GET", path)
        if status != 200:
            raise RuntimeError(f"{path} answered {status}")
        found[path] = {k.lower(): v for k, v in headers.items()}["etag"]
    return found


def evaluators(server: Server, store: dict[str, Any], args: Any,
               base: Server | None = None) -> list[Any]:
    """16 evaluators on /progress (200s, and 304s to If-None-Match); with ``base`` (a
    ``--compare-root`` tree on the same database) the same cells on it, interleaved."""
    auth = {"Authorization": f"Bearer {store['token']}"}
    progress = [READS["/progress"].format(pid=p) for p in store["ids"]]
    health = [{"paths": ["/healthz"], "seed": i} for i in range(args.evaluators)]
    servers = [("", server)] + ([(" (baseline)", base)] if base is not None else [])
    cells: list[tuple[str, Server, str, list[dict[str, Any]]]] = [
        ("/healthz", server, "get", health)]
    for label, srv in servers:
        tags = etags(srv, store, progress)
        cells.append((f"/progress{label}", srv, "get",
                      [{"headers": auth, "paths": progress, "seed": i}
                       for i in range(args.evaluators)]))
        cells.append((f"/progress 304{label}", srv, "get304",
                      [{"headers": auth, "paths": progress, "seed": i, "etags": tags}
                       for i in range(args.evaluators)]))
    for _, srv, kind, js in cells[1:]:
        drive(kind, srv.port, js, args.client_procs, min(2.0, args.seconds))  # warm
    results: dict[str, list[dict[str, Any]]] = {name: [] for name, *_ in cells}
    for r in range(args.rounds):
        order = cells[r % len(cells):] + cells[:r % len(cells)]  # a different first each round
        if r % 2:
            order = order[::-1]
        for name, srv, kind, js in order:
            la = os.getloadavg()[0]
            res = drive(kind, srv.port, js, args.client_procs, args.seconds, srv.pids)
            print(f"  {args.evaluators} evaluators, {name}: {fmt(res)} (load {la:.1f})",
                  flush=True)
            results[name].append(res)
    return [(name, {m: statistics.median(x[m] for x in v)
                    for m in ("rate", "p50", "p99", "server_cpu", "client_cpu")}
             | {"bad": sum(x["bad"] for x in v), "load": statistics.median(
                 x.get("load", 0.0) for x in v)})
            for name, v in results.items()]


def warm(server: Server, store: dict[str, Any], connections: int = 4) -> None:
    """Every programme once on each of a few connections (so in every worker, most
    likely): a worker's first request for a programme loads its aggregate for the names
    (an LRU of 1,024 programmes per process), which is a cost of the first request after a
    restart, not of the store's size; evaluator_reads.py warms the same way."""
    def one(k: int) -> None:
        browser = Browser(server.port, {"Authorization": f"Bearer {store['token']}"})
        for pid in store["ids"][k::1] + store["ids"][:k]:
            browser.request("GET", READS["/progress"].format(pid=pid))

    threads = [threading.Thread(target=one, args=(k,)) for k in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def flatness(small: Server, small_store: dict[str, Any], big: Server,
             big_store_: dict[str, Any], args: Any) -> list[Any]:
    rows = []
    pairs = [(small, small_store), (big, big_store_)]
    started = time.perf_counter()
    for server, store in pairs:
        warm(server, store)
    print(f"  warmed: every programme on 4 connections of each server "
          f"({time.perf_counter() - started:.0f} s)", flush=True)
    for name, path in READS.items():
        cells: dict[str, list[dict[str, Any]]] = {"small": [], "big": []}
        for r in range(args.rounds):
            order = [("small", pairs[0]), ("big", pairs[1])]
            for label, (server, store) in (order if r % 2 == 0 else order[::-1]):
                auth = {"Authorization": f"Bearer {store['token']}"}
                paths = [path.format(pid=p) for p in store["ids"]]
                jobs = [{"headers": auth, "paths": paths, "seed": r * 100 + i}
                        for i in range(args.evaluators)]
                if r == 0:
                    drive("get", server.port, jobs, args.client_procs, min(2.0, args.seconds))
                res = drive("get", server.port, jobs, args.client_procs, args.seconds,
                            server.pids)
                print(f"  {name} {label} ({store['events']:,} events): {fmt(res)} "
                      f"(load {os.getloadavg()[0]:.1f})", flush=True)
                cells[label].append(res)
        one = one_client(pairs, path, args.pairs)
        med = {label: {m: statistics.median(x[m] for x in v) for m in ("rate", "p50", "p99")}
               for label, v in cells.items()}
        rows.append((name, med, one))
    return rows


def one_client(pairs: list[tuple[Server, dict[str, Any]]], path: str,
               n: int) -> dict[str, float]:
    """One client, requests alternating between the stores (both see the same load)."""
    rng = random.Random(7)
    browsers = [Browser(s.port, {"Authorization": f"Bearer {st['token']}"}) for s, st in pairs]
    times: list[list[float]] = [[], []]
    for i in range(n):
        for k in ((0, 1) if i % 2 == 0 else (1, 0)):
            store = pairs[k][1]
            t0 = time.perf_counter()
            status, _, _ = browsers[k].request("GET", path.format(pid=rng.choice(store["ids"])))
            if status == 200:
                times[k].append((time.perf_counter() - t0) * 1000)
    small, big = statistics.median(times[0]), statistics.median(times[1])
    return {"small": small, "big": big, "ratio": big / small}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="16,64", help="concurrent form posters")
    parser.add_argument("--evaluators", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=8.0, help="per cell")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--client-procs", type=int, default=4)
    parser.add_argument("--programmes", type=int, default=8, help="of the fresh store "
                        "(~1,200 events each with 30 participants: 8 ~ 10k events)")
    parser.add_argument("--participants", type=int, default=30)
    parser.add_argument("--big-db", default="", help="a prepared database to copy (bench1m)")
    parser.add_argument("--big-programmes", type=int, default=0,
                        help="without --big-db: build the big store (850 ~ 1M events)")
    parser.add_argument("--pairs", type=int, default=200, help="one-client requests per store")
    parser.add_argument("--browser", action="store_true",
                        help="also time the whole browser cycle (form, post, redirect)")
    parser.add_argument("--light-client", action="store_true",
                        help="time the form posts with a lighter client (raw socket, "
                        "LightPoster) instead of http.client: less of the shared cores "
                        "go to the clients")
    parser.add_argument("--nginx", action="store_true",
                        help="the form posts' servers behind nginx (deploy/nginx.conf), as "
                        "in the compose set-up, instead of the clients talking to gunicorn")
    parser.add_argument("--parts", default="posts,evaluators,flat")
    parser.add_argument("--keep-logs", default="", help="a directory for the server logs")
    parser.add_argument("--profile", default="", help="a directory: cProfile every worker")
    parser.add_argument("--compare-root", default="",
                        help="another source tree (e.g. a git worktree of main): its "
                             "gunicorn on the same database, measured interleaved with "
                             "this tree's in the evaluators part (ratios new / baseline)")
    parser.add_argument("--pool", default="", metavar="SIZE,OVERFLOW",
                        help="each server process's pool (pool_size, max_overflow in the "
                        "database URL; default the URL's default, 5,10): with --variants "
                        "several gunicorns share PostgreSQL's max_connections")
    parser.add_argument("--variants", default="", help="NAME=DIR[,NAME=DIR]: other trees (e.g. "
                        "a git worktree of main) served the same way, each on a copy of the "
                        "store, their form posts measured in the same rounds (part posts)")
    parser.add_argument("--ports", default="",
                        help="LO-HI: take the servers' ports from this range only "
                             "(default: FRAMDRIFT_BENCH_PORTS, else any free port)")
    args = parser.parse_args()
    if args.ports:
        os.environ["FRAMDRIFT_BENCH_PORTS"] = args.ports
    variant_roots = {}
    for item in filter(None, args.variants.split(",")):
        name, _, where = item.partition("=")
        if not name or not where or not Path(where).is_dir():
            parser.error(f"--variants wants NAME=DIR with an existing DIR, not {item!r}")
        variant_roots[name] = Path(where).resolve()
    if args.pool:
        size, _, overflow = args.pool.partition(",")
        if not (size.isdigit() and overflow.isdigit() and int(size) > 0):
            parser.error("--pool wants SIZE,OVERFLOW (whole numbers, SIZE at least 1)")
        POOL.update(pool_size=size, max_overflow=overflow)
    args.clients = [int(c) for c in args.clients.split(",") if c]
    parts = set(args.parts.split(","))
    print(f"gunicorn on PostgreSQL (deploy/gunicorn.conf.py: WEB_CONCURRENCY="
          f"{os.environ.get('WEB_CONCURRENCY', 'default')}, FRAMDRIFT_THREADS="
          f"{os.environ.get('FRAMDRIFT_THREADS', 'default')}); {platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}, load average "
          f"{load_average()}; {args.seconds:g} s cells, {args.rounds} rounds (medians), "
          f"{args.client_procs} client processes, posts by "
          f"{'LightPoster' if args.light_client else 'http.client'}"
          f"{', through nginx (deploy/nginx.conf)' if args.nginx else ''}", flush=True)
    run = uuid.uuid4().hex[:8]
    # named after the server's database (FRAMDRIFT_TEST_POSTGRES_URL), so that benchmarks
    # of several checkouts on one server keep to their own names
    prefix = urlsplit(PG_URL).path.lstrip("/") or "gunicorn"
    small_db, big_db = f"{prefix}_gl_{run}", f"{prefix}_glbig_{run}"
    env = {}
    logs = Path(args.keep_logs or tempfile.mkdtemp(prefix="gunicorn-load-"))
    logs.mkdir(parents=True, exist_ok=True)
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
        env["FRAMDRIFT_PROFILE_DIR"] = str(Path(args.profile).resolve())
    servers: list[Server] = []
    created = []
    try:
        admin(f'CREATE DATABASE "{small_db}"')
        created.append(small_db)
        url = db_url(small_db)
        store = prepare(url, args.programmes, args.participants)
        big_wanted = "flat" in parts and (args.big_db or args.big_programmes)
        if big_wanted and args.big_db:
            admin(f'CREATE DATABASE "{big_db}" TEMPLATE "{args.big_db}"')
            created.append(big_db)
        elif big_wanted:
            admin(f'CREATE DATABASE "{big_db}"')
            created.append(big_db)
            prepare(db_url(big_db), args.big_programmes, args.participants)
        variants: dict[str, Server] = {}
        if "posts" in parts:
            for k, (name, root) in enumerate(variant_roots.items()):
                copy = f"{prefix}_glvar{k}_{run}"
                admin(f'CREATE DATABASE "{copy}" TEMPLATE "{small_db}"')
                created.append(copy)
                variants[name] = Server(db_url(copy, pool=True), worker=True, env=env, log_dir=logs,
                                        name=f"variant-{k}", root=root, nginx=args.nginx)
                servers.append(variants[name])
                print(f"  variant {name}: {root} on a copy of the store", flush=True)
        server = Server(db_url(small_db, pool=True), worker=True, env=env, log_dir=logs,
                        name="small", nginx=args.nginx)
        servers.append(server)
        results: dict[str, Any] = {}
        if big_wanted:  # before the posts: the small store as loaded
            bstore = big_store(big_db)
            big = Server(db_url(big_db, pool=True), worker=False, env=env, log_dir=logs,
                         name="big")
            servers.append(big)
            bstore["ids"] = programme_ids(big.port, bstore["token"])
            print("\n3. evaluator reads, small store vs big store:", flush=True)
            results["flat"] = flatness(server, store, big, bstore, args)
            results["flat_sizes"] = (store["events"], bstore["events"])
            big.stop()
            servers.remove(big)
        if "evaluators" in parts:
            base = None
            if args.compare_root:
                base = Server(db_url(small_db, pool=True), worker=False, env=env,
                              log_dir=logs, name="baseline",
                              root=Path(args.compare_root).resolve())
                servers.append(base)
            print("\n2. evaluators on /progress" + (
                f" (baseline: {args.compare_root})" if base else "") + ":", flush=True)
            results["evaluators"] = evaluators(server, store, args, base)
            if base is not None:
                base.stop()
                servers.remove(base)
        if "posts" in parts:
            print("\n1. reflection form posts:", flush=True)
            results["posts"] = form_posts(server, store, db_url(small_db, "baseline"), args,
                                          variants)
        report(results, args)
    finally:
        for s in servers:
            s.stop()
        for b in _BASELINES.values():
            b.close()
        for name in created:
            admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"server logs: {logs}")


def report(results: dict[str, Any], args: Any) -> None:
    print(f"\nload average at the end: {load_average()}")
    if "posts" in results:
        print("\n| clients | baseline saves/s (p99 ms) | form posts/s | p50 / p99 ms | "
              "ratio posts / baseline | client cores |" +
              (" browser cycles/s | ratio | p99 ms |" if args.browser else ""))
        print("|---:|---:|---:|---:|---:|---:|" + ("---:|---:|---:|" if args.browser else ""))
        extra = [k for k in results["posts"][0][1] if k.startswith("posts ")] \
            if results["posts"] else []
        for clients, med in results["posts"]:
            b, p = med["baseline"], med["posts"]
            line = (f"| {clients} | {b['rate']:.0f} ({b['p99']:.0f}) | {p['rate']:.0f} | "
                    f"{p['p50']:.0f} / {p['p99']:.0f} | {p['rate'] / b['rate']:.2f} | "
                    f"{p['client_cpu']:.2f} |")
            if args.browser:
                c = med["browser"]
                line += f" {c['rate']:.0f} | {c['rate'] / b['rate']:.2f} | {c['p99']:.0f} |"
            print(line)
        print("ratio line: form posts / baseline = " + ", ".join(
            f"{c} clients {m['posts']['rate'] / m['baseline']['rate']:.2f}"
            for c, m in results["posts"]))
        if extra:
            print("\n| clients | tree | form posts/s | ratio / baseline | p50 / p99 ms | "
                  "load (median) |\n|---:|---|---:|---:|---:|---:|")
            for clients, med in results["posts"]:
                b = med["baseline"]
                for k in ["posts", *extra]:
                    p = med[k]
                    print(f"| {clients} | {k[6:] or 'this tree'} | {p['rate']:.0f} | "
                          f"{p['rate'] / b['rate']:.2f} | {p['p50']:.0f} / {p['p99']:.0f} | "
                          f"{p['load']:.1f} |")
            print("ratio line (trees): " + ", ".join(
                f"{c} clients " + " vs ".join(
                    f"{k[6:] or 'this tree'} {m[k]['rate'] / m['baseline']['rate']:.2f}"
                    for k in ["posts", *extra]) for c, m in results["posts"]))
    if "evaluators" in results:
        rows = dict(results["evaluators"])
        h, p = rows["/healthz"], rows["/progress"]
        print(f"\n| {args.evaluators} evaluators | req/s | p50 ms | p99 ms | server cores | "
              f"server CPU ms per request | unexpected |\n|---|---:|---:|---:|---:|---:|---:|")
        for name, r in results["evaluators"]:
            per = 1000 * r["server_cpu"] / r["rate"] if r["rate"] else float("nan")
            print(f"| {name} | {r['rate']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} | "
                  f"{r['server_cpu']:.2f} | {per:.1f} | {r['bad']} |")
        print(f"ratio line: /progress / /healthz req/s = {p['rate'] / h['rate']:.2f}; "
              f"/progress p99 {p['p99']:.0f} ms (target < 100)")
        for cell in ("/progress", "/progress 304"):
            old = rows.get(f"{cell} (baseline)")
            if old:
                new = rows[cell]
                cpu = (new["server_cpu"] / new["rate"]) / (old["server_cpu"] / old["rate"])
                print(f"ratio line: {cell} this tree / baseline: req/s "
                      f"{new['rate'] / old['rate']:.2f}, p50 {new['p50'] / old['p50']:.2f}, "
                      f"p99 {new['p99'] / old['p99']:.2f}, server CPU per request {cpu:.2f}")
    if "flat" in results:
        se, be = results["flat_sizes"]
        print(f"\n| endpoint | small ({se:,} events) req/s | big ({be:,}) req/s | big / small "
              f"req/s | small p50 / p99 ms | big p50 / p99 ms | one client p50 small / big ms "
              f"| big / small (p50) |")
        print("|---|---:|---:|---:|---|---|---|---:|")
        for name, med, one in results["flat"]:
            s, b = med["small"], med["big"]
            print(f"| {name} | {s['rate']:.0f} | {b['rate']:.0f} | {b['rate'] / s['rate']:.2f} | "
                  f"{s['p50']:.1f} / {s['p99']:.1f} | {b['p50']:.1f} / {b['p99']:.1f} | "
                  f"{one['small']:.1f} / {one['big']:.1f} | {one['ratio']:.2f} |")
        print("ratio line: big / small = " + ", ".join(
            f"{name} {med['big']['rate'] / med['small']['rate']:.2f} (one client "
            f"{one['ratio']:.2f})" for name, med, one in results["flat"]))


if __name__ == "__main__":
    main()
