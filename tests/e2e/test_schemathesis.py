"""Property-based checks of the whole JSON API against its own OpenAPI description.

schemathesis' own engine — what ``schemathesis run --checks all URL`` runs: the examples,
coverage, fuzzing and stateful phases — generates requests (valid and invalid) for every
operation in /api/v1/openapi.json and sends them over HTTP to the app served as
``framdrift serve`` serves it (waitress, api/server.py), with an evaluator token,
the synthetic demo loaded and the read models current, on SQLite and on PostgreSQL.
Every check is on: no 5xx; documented status codes, content types, headers and schemas;
valid data accepted and invalid data refused; an undocumented method refused; a request
without the token refused; and the rest. The run must end with no failure and no error.

Bounded: ``MAX_EXAMPLES`` examples per operation and phase and a fixed seed, so each
store takes about half a minute on two cores (``FRAMDRIFT_SCHEMATHESIS_EXAMPLES`` and
``FRAMDRIFT_SCHEMATHESIS_SEED`` explore further).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import schemathesis
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events

from api.app import close_framdrift, create_app
from api.cli import migrate_all
from api.server import make_server
from domain.accounts import issue_token
from domain.application import Framdrift
from domain.demo import load_demo
from projections.runner import catch_up

# the same cases every run (a failure is reproducible); set these to explore further
MAX_EXAMPLES = int(os.environ.get("FRAMDRIFT_SCHEMATHESIS_EXAMPLES", "20"))
SEED = int(os.environ.get("FRAMDRIFT_SCHEMATHESIS_SEED", "10"))


@pytest.fixture(params=["sqlite", "postgres"])
def store(request):
    """A fresh store, on SQLite or in a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix="framdrift-schemathesis-"))
        yield f"sqlite:///{directory}/framdrift.sqlite3"
        shutil.rmtree(directory, ignore_errors=True)
        return
    base = request.getfixturevalue("postgres_available")
    name = f"t_st_{uuid.uuid4().hex[:12]}"
    yield f"{base}{'&' if '?' in base else '?'}schema={name}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def demo_world(url: str) -> tuple[str, str, str]:
    """Migrate, load the demo, issue an evaluator token and bring the read models up to
    date: (token, programme id, a capability's id)."""
    migrate_all(url)
    app = Framdrift.from_url(url)
    try:
        result = load_demo(app, seed=5, participants=10)
        token, _ = issue_token(app, role="evaluator", label="schemathesis")
        catch_up(app)
        capability = next(str(event.originator_id) for _position, event in app.iter_log()
                          if type(event).__qualname__ == "Capability.Established")
        return token, str(result.programme_ids[0]), capability
    finally:
        app.close()


@contextmanager
def served(flask):
    """The app on 127.0.0.1 as ``framdrift serve`` serves it (waitress, its problem
    documents for the server's own refusals)."""
    server = make_server(flask, "127.0.0.1", 0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        server.task_dispatcher.shutdown(timeout=5)
        thread.join(timeout=10)


def test_api_conforms_to_its_openapi_with_every_check(store):
    token, pid, capability = demo_world(store)
    flask = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": store,
                        "MIN_POSITION_WAIT": 0.2})
    config = SchemathesisConfig.from_dict({
        "seed": SEED,
        "auth": {"openapi": {"bearerAuth": {"bearer": token}}},
        # the demo's programme and one of its capabilities (random ids would all be 404s)
        "parameters": {"programme_id": pid, "record_id": capability},
        "generation": {"max-examples": MAX_EXAMPLES},
    })
    failures: list[str] = []
    scenarios = 0
    try:
        with served(flask) as url:
            schema = schemathesis.openapi.from_url(f"{url}/api/v1/openapi.json",
                                                   config=config)
            schema.config.checks.update(included_check_names=["all"])  # as --checks all
            load_all_checks()
            assert not [name for name in CHECKS.get_all_names()
                        if not schema.config.checks.get_by_name(name=name).enabled]
            for event in schemathesis.engine.from_schema(schema).execute():
                if isinstance(event, events.ScenarioFinished):
                    scenarios += 1
                    failures += _failures_of(event)
                elif isinstance(event, (events.NonFatalError, events.FatalError)):
                    failures.append(f"error: {event.info.format()}")
                elif isinstance(event, events.EngineFinished):
                    failures += [f"{f.title}: {f.message}" for f in event.failures]
    finally:
        close_framdrift(flask)
    assert scenarios >= 12, scenarios  # every operation was exercised
    assert not failures, "\n\n".join(dict.fromkeys(failures))


def _failures_of(event: events.ScenarioFinished) -> list[str]:
    out = []
    for checks in event.recorder.checks.values():
        for check in checks:
            if check.status == Status.FAILURE and check.failure_info is not None:
                failure = check.failure_info.failure
                out.append(f"[{event.phase.value}] {failure.operation}: {check.name}: "
                           f"{failure.title}\n{failure.message}\n"
                           f"{check.failure_info.code_sample}")
            elif check.status == Status.ERROR:
                out.append(f"[{event.phase.value}] {event.label}: {check.name} errored")
    return out
