"""Sign-in limits hold across gunicorn workers (issue 10, item 7).

Each worker used to count in its own memory, so two workers let through twice the
documented rate (80 bogus link sign-ins, no 429). With FRAMDRIFT_RATELIMIT_STORAGE_URL the
counts live in Redis: gunicorn with deploy/gunicorn.conf.py and two workers on the local
PostgreSQL answers the documented 60 link sign-ins a minute and 429 after, whichever worker
takes the request. A Redis key prefix of the test's own keeps it apart (and is deleted).
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests

from tests.e2e.processes import framdrift, free_port
from tests.e2e.stack import read_logs, start_gunicorn, stop, wait_http

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

DOCUMENTED = 60  # FRAMDRIFT_SIGNIN_LINK_RATE_LIMIT's default, "60 per minute" (README)
ATTEMPTS = 80


def test_link_signin_limit_is_shared_by_all_workers(pg_schema_url, redis_limits, tmp_path):
    url, prefix = redis_limits
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAMDRIFT_SIGNIN")}
    env.update({"FRAMDRIFT_DATABASE_URL": pg_schema_url, "FRAMDRIFT_SECRET_KEY": "e2e",
                "FRAMDRIFT_RATELIMIT_STORAGE_URL": url,
                "FRAMDRIFT_RATELIMIT_KEY_PREFIX": prefix, "PYTHONUNBUFFERED": "1"})
    framdrift(env, "migrate")
    port, log = free_port(), tmp_path / "gunicorn.log"
    base = f"http://127.0.0.1:{port}"
    # the worker's pid in each access line shows which worker answered; one connection at
    # a time per worker, so that concurrent requests are sure to reach both
    web = start_gunicorn(env, port, log, 2, "--threads", "1", "--worker-connections", "1",
                         "--access-logformat", "%(p)s %(r)s %(s)s")
    try:
        wait_http(f"{base}/healthz", [web], [log])

        def attempt(i: int) -> int:
            return requests.get(f"{base}/in/fdl_bogus{i}", timeout=10,
                                allow_redirects=False).status_code

        with ThreadPoolExecutor(4) as pool:  # concurrent, so both workers take requests
            statuses = list(pool.map(attempt, range(ATTEMPTS)))
    finally:
        code = stop(web)
    text = log.read_text(errors="replace")
    assert code == 0, read_logs([log])
    assert statuses.count(404) == DOCUMENTED, (statuses, text)
    assert statuses.count(429) == ATTEMPTS - DOCUMENTED, statuses
    served = set(re.findall(r"<(\d+)> GET /in/", text))
    assert len(served) == 2, f"only {served} answered:\n{text}"
    assert "Traceback" not in text and "falling back to in-memory" not in text, text
    client = redis.Redis.from_url(url)
    try:
        assert list(client.scan_iter(match=f"*{prefix}*")), "no count was kept in Redis"
    finally:
        client.close()
