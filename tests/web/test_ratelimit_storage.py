"""Where sign-in attempts are counted (issue 10, item 7): in Redis, shared by every process,
when FRAMDRIFT_RATELIMIT_STORAGE_URL is set; in memory, with a warning, while Redis cannot be
reached; and by the client's own address, forwarded by the proxy only when trusted."""

from __future__ import annotations

import logging

import pytest
from web_support import flask_app

from tests.e2e.processes import free_port

LIMIT = "5 per minute"


def _links(client, n: int, **headers: str) -> list[int]:
    return [client.get(f"/in/fdl_wrong{i}", headers=headers).status_code for i in range(n)]


def test_two_processes_share_one_count_in_redis(sqlite_app, redis_limits) -> None:
    """Two apps (as two gunicorn workers would be) let through 5 attempts together, not 10."""
    url, prefix = redis_limits
    settings = {"RATELIMIT_STORAGE_URL": url, "RATELIMIT_KEY_PREFIX": prefix,
                "SIGNIN_LINK_RATE_LIMIT": LIMIT}
    first = flask_app(sqlite_app, **settings).test_client()
    second = flask_app(sqlite_app, **settings).test_client()
    statuses = [(first if i % 2 else second).get(f"/in/fdl_wrong{i}").status_code
                for i in range(8)]
    assert statuses == [404] * 5 + [429] * 3


def test_unreachable_redis_falls_back_to_memory_with_a_warning(sqlite_app, caplog) -> None:
    """Sign-ins keep working while Redis is down, still limited (per process), and say so."""
    dead = f"redis://127.0.0.1:{free_port()}/0"
    client = flask_app(sqlite_app, RATELIMIT_STORAGE_URL=dead,
                       SIGNIN_LINK_RATE_LIMIT=LIMIT).test_client()
    with caplog.at_level(logging.WARNING):
        assert _links(client, 7) == [404] * 5 + [429] * 2
    assert any("falling back to in-memory" in r.getMessage() for r in caplog.records)


def test_an_unusable_storage_url_stops_the_start(sqlite_app) -> None:
    """A mistyped scheme is an error at start, never a silent per-worker limit."""
    from limits.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        flask_app(sqlite_app, RATELIMIT_STORAGE_URL="rediz://127.0.0.1:6379/0")


def test_forwarded_address_counts_only_behind_a_trusted_proxy(sqlite_app) -> None:
    """Without FRAMDRIFT_PROXY_FIX a client cannot dodge the limit with X-Forwarded-For; with
    it (nginx in front), each client address forwarded by the proxy has its own count."""
    plain = flask_app(sqlite_app, SIGNIN_LINK_RATE_LIMIT=LIMIT).test_client()
    spoofed = [plain.get(f"/in/fdl_x{i}", headers={"X-Forwarded-For": f"10.0.0.{i}"})
               .status_code for i in range(6)]
    assert spoofed == [404] * 5 + [429]

    proxied = flask_app(sqlite_app, PROXY_FIX=1, SIGNIN_LINK_RATE_LIMIT=LIMIT).test_client()
    assert _links(proxied, 5, **{"X-Forwarded-For": "10.0.0.1"}) == [404] * 5
    assert _links(proxied, 5, **{"X-Forwarded-For": "10.0.0.2"}) == [404] * 5
    assert _links(proxied, 1, **{"X-Forwarded-For": "10.0.0.1"}) == [429]
    # a client's own X-Forwarded-For in front of nginx's: only the proxy's entry counts
    assert _links(proxied, 1, **{"X-Forwarded-For": "10.0.0.9, 10.0.0.2"}) == [429]


def test_the_check_before_every_request_applies_limits_when_some_are_set(sqlite_app) -> None:
    """ADR 0028: flask-limiter's check before each request is skipped while no limit
    could apply to it (ours are all on the sign-in views); a default or application
    limit set in the configuration is still applied to every page, and the sign-in
    limit still holds alongside it."""
    plain = flask_app(sqlite_app).test_client()
    assert [plain.get("/").status_code for _ in range(4)] == [200] * 4

    for setting in ("RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION"):
        limited = flask_app(sqlite_app, **{setting: "2 per minute"}).test_client()
        assert [limited.get("/").status_code for _ in range(3)] == [200, 200, 429], setting

    both = flask_app(sqlite_app, RATELIMIT_APPLICATION="100 per minute",
                     SIGNIN_LINK_RATE_LIMIT=LIMIT).test_client()
    assert _links(both, 6) == [404] * 5 + [429]
