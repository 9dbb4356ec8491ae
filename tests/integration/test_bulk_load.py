"""Bulk loading (issue 14, item 5): fresh batches (no look-up per command, data keys
written together), several programmes to a transaction, loader processes, and the
import. The chain must verify afterwards and personal data must decrypt with the keys
that were stored."""

from __future__ import annotations

import pytest

from domain.application import Framdrift
from domain.demo import load_demo
from domain.errors import ConcurrentChangeError
from domain.integrity import export_log, import_log
from domain.privacy import KEY_TABLE, SubjectErasedError


def _log(app: Framdrift) -> list[tuple[str, int, str]]:
    return [(str(e.originator_id), e.originator_version, type(e).__qualname__)
            for _pos, e in app.iter_log()]


def _keys(app: Framdrift) -> int:
    return app.sql.query(f"SELECT COUNT(*) AS n FROM {app.sql.table(KEY_TABLE)}")[0]["n"]


def test_programmes_grouped_in_transactions_give_the_log_of_one_by_one(store_url, tmp_path):
    """Three programmes in transactions of two (batch_events small) record the same log as
    three transactions of one; the chain verifies and covers every key."""
    app = Framdrift.migrate(store_url)
    single = Framdrift.migrate(f"sqlite:///{tmp_path / 'single.sqlite3'}")
    try:
        result = load_demo(app, programmes=3, participants=4, batch_events=2 * 4 * 40)
        load_demo(single, programmes=3, participants=4, batch_events=1)
        assert _log(app) == _log(single)
        assert result.events == len(_log(app))
        report = app.chain.verify()
        assert report.ok, report.reason
        assert report.keys_matched == _keys(app) == 3 * 4
        someone = result.participants[result.programme_ids[2]][0]
        assert "@exempelby.example" in app.get_participant(someone)["email"]
    finally:
        single.close()
        app.close()


def test_loader_processes_load_every_programme_once(store_url):
    app = Framdrift.migrate(store_url)
    try:
        result = load_demo(app, programmes=4, participants=3, workers=2, batch_events=1)
        assert len(set(result.programme_ids)) == 4
        assert all(app.get_programme(pid)["title"] for pid in result.programme_ids)
        report = app.chain.verify()
        assert report.ok, report.reason
        assert report.events == result.events and report.keys_matched == 4 * 3
        again = load_demo(app, programmes=4, participants=3, workers=2, batch_events=1)
        assert again.events == 0 and again.programme_ids == result.programme_ids
    finally:
        app.close()


def test_a_fresh_batch_that_meets_a_stored_record_writes_nothing(store_url):
    app = Framdrift.migrate(store_url)
    try:
        done = app.plan_programme(organisation="Org", title="There", request_id="p-1")
        before = app.max_position()
        with pytest.raises(ConcurrentChangeError):
            with app.batch(fresh=True):
                app.plan_programme(organisation="Org", title="New", request_id="p-2")
                # a fresh batch does not ask the store: this "retry" is a conflict
                app.plan_programme(organisation="Org", title="There", request_id="p-1")
        assert app.max_position() == before
        assert app.get_programme(done)["title"] == "There"
    finally:
        app.close()


def test_a_fresh_batch_uses_a_key_stored_before_it(store_url):
    """A load run again after it stopped between its keys and its events: the stored key
    is used (text still decrypts), not the one the batch made."""
    app = Framdrift.migrate(store_url)
    try:
        pid = app.plan_programme(organisation="Org", title="P", units=[
            {"key": "u1", "name": "Unit"}])
        from domain.model import record_id_for

        person = record_id_for("participant", "enrol-1")
        stored_key = app.keys.key_for(person, create=True)  # as if left by a stopped load
        with app.batch(fresh=True):
            app.enrol_participant(pid, name="Ada Lovelace", email="ada@example.org",
                                  role="expert", unit="u1", request_id="enrol-1")
        assert _keys(app) == 1 and app.keys.key_for(person) == stored_key
        other = Framdrift.from_url(store_url)  # a cold cache: decrypts from the store
        try:
            assert other.get_participant(person)["name"] == "Ada Lovelace"
        finally:
            other.close()
        report = app.chain.verify()
        assert report.ok and report.keys_matched == 1, report
    finally:
        app.close()


def test_a_fresh_batch_for_an_erased_subject_stores_neither_key_nor_events(store_url):
    app = Framdrift.migrate(store_url)
    try:
        pid = app.plan_programme(organisation="Org", title="P", units=[
            {"key": "u1", "name": "Unit"}])
        from domain.model import record_id_for

        person = record_id_for("participant", "enrol-1")
        app.keys.erase(person)
        app.keys.forget_cache()
        before = app.max_position()
        with pytest.raises(SubjectErasedError):
            with app.batch(fresh=True):
                app.enrol_participant(pid, name="Ada", email="ada@example.org",
                                      role="expert", unit="u1", request_id="enrol-1")
        assert app.max_position() == before and _keys(app) == 0
    finally:
        app.close()


def test_import_of_a_bulk_load_verifies(store_url, tmp_path):
    source = Framdrift.migrate(f"sqlite:///{tmp_path / 'source.sqlite3'}")
    target = Framdrift.migrate(store_url)
    try:
        load_demo(source, programmes=2, participants=3)
        events, keys = tmp_path / "events.ndjson", tmp_path / "keys.ndjson"
        with events.open("w") as e, keys.open("w") as k:
            exported = export_log(source, e, k)
        seen: list[int] = []
        with events.open() as e, keys.open() as k:
            assert import_log(target, e, k, progress=seen.append, batch=50) == exported
        assert sum(seen) == exported and len(seen) > 1
        assert _log(target) == _log(source)
        report = target.chain.verify()
        assert report.ok and report.keys_matched == 6, report
    finally:
        target.close()
        source.close()


def test_a_big_write_is_never_idle_in_its_transaction_while_it_hashes(pg_schema_url,
                                                                      monkeypatch):
    """The links of a COPY-written batch are made while they are sent: hashing that
    takes longer than PostgreSQL's idle-in-transaction timeout (eventsourcing's default
    is 5 s; 1 s here, with hashing slowed down) must not kill the transaction."""
    import time as clock_time

    from domain import chain

    Framdrift.migrate(pg_schema_url).close()
    app = Framdrift.from_url(pg_schema_url, POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT="1")
    real = chain.link_hash

    def slow(*args, **kwargs):
        clock_time.sleep(0.02)
        return real(*args, **kwargs)

    monkeypatch.setattr(Framdrift, "BATCH_CHUNK", 10)
    try:
        with app.batch(fresh=True):
            pid = app.plan_programme(organisation="Org", title="Big")
            for n in range(80):
                app.register_unit(pid, key=f"u{n}", name=f"Unit {n}")
        monkeypatch.setattr(chain, "link_hash", slow)  # ~1.6 s of hashing in one write
        with app.batch(fresh=True):
            for n in range(80, 160):
                app.register_unit(pid, key=f"u{n}", name=f"Unit {n}")
        monkeypatch.setattr(chain, "link_hash", real)
        assert len(app.get_programme(pid)["units"]) == 160
        assert app.chain.verify().ok
    finally:
        app.close()


def test_the_demo_command_with_loader_processes_and_a_relative_sqlite_path(tmp_path,
                                                                          monkeypatch):
    """``framdrift demo --workers 2`` in another directory: the loaders write the same
    file (a relative path), the count is right and ``verify`` passes."""
    from click.testing import CliRunner

    from api.cli import cli

    monkeypatch.chdir(tmp_path)
    env = {"FRAMDRIFT_DATABASE_URL": "sqlite:///data/rel.sqlite3"}
    runner = CliRunner()
    assert runner.invoke(cli, ["migrate"], env=env).exit_code == 0
    result = runner.invoke(cli, ["demo", "--programmes", "3", "--participants", "2",
                                 "--workers", "2"], env=env)
    assert result.exit_code == 0, result.output
    assert "3 programme(s)" in result.output
    app = Framdrift.from_url("sqlite:///data/rel.sqlite3")
    try:
        assert app.max_position() > 3 * 2 * 20
        assert app.chain.verify().ok
    finally:
        app.close()
    verified = runner.invoke(cli, ["verify"], env=env)
    assert verified.exit_code == 0, verified.output



def _there(app: Framdrift, *request_ids: str) -> list[bool]:
    from domain.model import record_id_for

    return [app._contains(record_id_for("programme", r)) for r in request_ids]


@pytest.mark.parametrize("then", ["another batch", "the end of the block"])
def test_a_background_batch_that_fails_stops_the_load_there(pg_schema_url, monkeypatch,
                                                            then):
    """``background_writes``: a batch written by the writer thread that meets a stored
    record fails whole; its error comes out of the next batch (before anything of that
    one is stored, its data keys included) or when the block ends; the batch before it
    stays."""
    monkeypatch.setattr(Framdrift, "BATCH_CHUNK", 3)  # COPY, as a demo's groups are
    app = Framdrift.migrate(pg_schema_url)
    units = [{"key": "u1", "name": "Unit"}]
    try:
        app.plan_programme(organisation="Org", title="There", request_id="p-there")
        before = app.max_position()
        with pytest.raises(ConcurrentChangeError):
            with app.background_writes():
                with app.batch(fresh=True):
                    for n in range(4):
                        first = app.plan_programme(organisation="Org", title="A", units=units,
                                                   request_id=f"a-{n}")
                with app.batch(fresh=True):
                    for n in range(3):
                        app.plan_programme(organisation="Org", title="B", request_id=f"b-{n}")
                    app.plan_programme(organisation="Org", title="There",
                                       request_id="p-there")
                if then == "another batch":
                    with app.batch(fresh=True):
                        app.plan_programme(organisation="Org", title="C", request_id="c-0")
                        app.enrol_participant(first, name="Ada", email="ada@example.org",
                                              role="expert", unit="u1", request_id="e-0")
        assert _there(app, "a-0", "a-3") == [True, True]
        assert _there(app, "b-0", "c-0") == [False, False]
        assert app.max_position() - before == 4
        assert _keys(app) == 0  # the third batch stored no key either
        report = app.chain.verify()
        assert report.ok, report.reason
    finally:
        app.close()

def test_background_writes_give_the_log_of_plain_batches(pg_schema_url, sqlite_url):
    """The demo through the writer thread (PostgreSQL, COPY) records the same log as
    plain batches on SQLite, and the chain verifies with every key covered."""
    app = Framdrift.migrate(pg_schema_url)
    plain = Framdrift.migrate(sqlite_url)
    try:
        import domain.application as application

        started = []
        real = application._BackgroundWriter.submit

        def counting(self, write):
            started.append(1)
            return real(self, write)

        application._BackgroundWriter.submit = counting  # type: ignore[method-assign]
        try:
            result = load_demo(app, programmes=3, participants=4, batch_events=1)
        finally:
            application._BackgroundWriter.submit = real  # type: ignore[method-assign]
        load_demo(plain, programmes=3, participants=4, batch_events=1)
        assert len(started) == 3
        assert _log(app) == _log(plain)
        report = app.chain.verify()
        assert report.ok, report.reason
        assert report.events == result.events and report.keys_matched == _keys(app) == 12
    finally:
        plain.close()
        app.close()
