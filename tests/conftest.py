"""Shared fixtures: a fresh store per test on SQLite and on PostgreSQL.

``store_url`` is parametrised over both databases so one test body runs on
each. PostgreSQL tests get a schema of their own, dropped afterwards. When
FRAMDRIFT_REQUIRE_POSTGRES is set (as in CI), an unreachable PostgreSQL fails
the run instead of skipping its tests.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from api.mail import drain_all
from domain.application import Framdrift

PG_URL = os.environ.get("FRAMDRIFT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("FRAMDRIFT_REQUIRE_POSTGRES", "") not in ("", "0", "no", "false")


def _pg_problem() -> str | None:
    try:
        psycopg.connect(PG_URL, connect_timeout=3).close()
    except Exception as e:  # noqa: BLE001
        return f"PostgreSQL not reachable at {PG_URL}: {e}"
    return None


@pytest.fixture(scope="session")
def postgres_available() -> str:
    """The PostgreSQL base URL; fails (CI) or skips (laptop) when it is down."""
    problem = _pg_problem()
    if problem:
        if REQUIRE_PG:
            pytest.fail(problem + " (FRAMDRIFT_REQUIRE_POSTGRES is set)", pytrace=False)
        pytest.skip(problem)
    return PG_URL


@pytest.fixture
def pg_schema_url(postgres_available: str) -> Iterator[str]:
    """A PostgreSQL URL with a fresh, empty schema, dropped after the test."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    sep = "&" if "?" in postgres_available else "?"
    yield f"{postgres_available}{sep}schema={schema}"
    with psycopg.connect(postgres_available, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path}/framdrift.sqlite3"


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request) -> str:
    """One test body, run on SQLite and on PostgreSQL (fresh store each time)."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_schema_url")


def migrate_all(url: str) -> None:
    """What ``framdrift migrate`` does: event tables, keys, and any read models."""
    from api.cli import migrate_all as migrate

    migrate(url)


@pytest.fixture
def app(store_url: str) -> Iterator[Framdrift]:
    migrate_all(store_url)
    application = Framdrift.from_url(store_url)
    yield application
    drain_all()  # a web test's mail pass still running must not read a closed store
    application.close()


@pytest.fixture
def sqlite_app(sqlite_url: str) -> Iterator[Framdrift]:
    migrate_all(sqlite_url)
    application = Framdrift.from_url(sqlite_url)
    yield application
    drain_all()
    application.close()


# ------------------------------------------------------------------ Redis (rate limits)

REDIS_URL = os.environ.get("FRAMDRIFT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_REDIS = os.environ.get("FRAMDRIFT_REQUIRE_REDIS", "") not in ("", "0", "no", "false")


@pytest.fixture(scope="session")
def redis_available() -> str:
    """The Redis URL; fails (CI, FRAMDRIFT_REQUIRE_REDIS) or skips (laptop) when it is down."""
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        client.close()
    except Exception as e:  # noqa: BLE001
        problem = f"Redis not reachable at {REDIS_URL}: {e}"
        if REQUIRE_REDIS:
            pytest.fail(problem + " (FRAMDRIFT_REQUIRE_REDIS is set)", pytrace=False)
        pytest.skip(problem)
    return REDIS_URL


@pytest.fixture
def redis_limits(redis_available: str) -> Iterator[tuple[str, str]]:
    """``(url, key prefix)`` for rate limits of this test only; its keys are deleted after."""
    import redis

    prefix = f"fdtest{uuid.uuid4().hex[:12]}"
    yield redis_available, prefix
    client = redis.Redis.from_url(redis_available)
    try:
        keys = list(client.scan_iter(match=f"*{prefix}*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
