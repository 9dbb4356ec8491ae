"""Fixtures for the web tests (the ``app`` fixture runs each test on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from web_support import World, make_world


@pytest.fixture
def world(app) -> World:
    return make_world(app)


@pytest.fixture
def sqlite_world(sqlite_app) -> World:
    return make_world(sqlite_app)
