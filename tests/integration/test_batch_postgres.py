"""A large ``Framdrift.batch()`` on PostgreSQL is written in chunks of INSERTs, still in
one transaction (a single pipelined INSERT of ~15k+ events hangs in psycopg, see
``Framdrift._record_batch``). The chunk size is made small here so the chunked path runs
in a second: the log must equal the unchunked SQLite one, and a conflict in the last
chunk must leave nothing of the batch behind."""

from __future__ import annotations

import pytest

from domain.application import Framdrift
from domain.demo import load_demo
from domain.errors import ConcurrentChangeError


def _log(app: Framdrift) -> list[tuple[str, int, str]]:
    return [(str(e.originator_id), e.originator_version, type(e).__qualname__)
            for _pos, e in app.iter_log()]


def test_a_chunked_batch_records_the_same_log_as_an_unchunked_one(
        pg_schema_url, sqlite_url, monkeypatch):
    monkeypatch.setattr(Framdrift, "BATCH_CHUNK", 40)
    logs = {}
    for url in (pg_schema_url, sqlite_url):
        app = Framdrift.migrate(url)
        try:
            result = load_demo(app, programmes=1, participants=6)
            assert result.events > 3 * Framdrift.BATCH_CHUNK
            logs[url] = _log(app)
            assert len(logs[url]) == result.events
            assert app.chain.verify().ok
            assert app.get_programme(result.programme_ids[0])["title"]
        finally:
            app.close()
    assert logs[pg_schema_url] == logs[sqlite_url]


def test_a_conflict_in_the_last_chunk_writes_nothing_of_the_batch(pg_schema_url, monkeypatch):
    monkeypatch.setattr(Framdrift, "BATCH_CHUNK", 10)
    app = Framdrift.migrate(pg_schema_url)
    other = Framdrift.from_url(pg_schema_url)
    try:
        contested = app.plan_programme(organisation="Org", title="Contested")
        before = app.max_position()
        with pytest.raises(ConcurrentChangeError):  # a named conflict, never a 500
            with app.batch():
                fresh = app.plan_programme(organisation="Org", title="Fresh")
                for n in range(35):
                    app.register_unit(fresh, key=f"u{n}", name=f"Unit {n}")
                app.register_unit(contested, key="mine", name="Mine")  # the batch's last event
                other.register_unit(contested, key="theirs", name="Theirs")  # wins the race
        assert app.max_position() == before + 1  # only the other writer's event
        assert fresh not in app.repository
        units = {u["key"] for u in other.get_programme(contested)["units"]}
        assert "theirs" in units and "mine" not in units
    finally:
        other.close()
        app.close()
