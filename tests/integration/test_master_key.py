"""Data keys sealed with a master key (docs/adr/0002): the database alone cannot open what
participants wrote; without the master key, or with another one, the error says so; keys
of a store that had no master key are sealed by ``framdrift keys wrap``; erasure, backups
and readiness keep working."""

from __future__ import annotations

import base64
import io
from datetime import date

import pytest
from click.testing import CliRunner
from eventsourcing.persistence import MapperDeserialisationError

from api.app import create_app
from api.cli import cli
from domain.application import Framdrift
from domain.integrity import export_log, import_log
from domain.privacy import KEY_TABLE, MasterKeyError, master_key_from_env, new_master_key
from tests.conftest import migrate_all

MASTER = new_master_key()
# eventsourcing's mapper wraps errors from decoding (the reason stays in the message)
UNREADABLE = (MasterKeyError, MapperDeserialisationError)


def programme_with_people(app: Framdrift) -> list:
    pid = app.plan_programme(organisation="Nyköping", title="Sealed",
                             first_day=date(2026, 9, 7), units=[{"key": "hr", "name": "HR"}])
    return [app.enrol_participant(pid, name=f"Anna Lind {i}", email=f"anna{i}@example.org",
                                  role="expert", unit="hr", consent=True) for i in range(3)]


def stored_keys(app: Framdrift) -> dict[str, bytes]:
    rows = app.sql.query(f"SELECT subject_id, data_key FROM {app.sql.table(KEY_TABLE)}")
    return {r["subject_id"]: bytes(r["data_key"]) for r in rows}


def open_with(url: str, monkeypatch, master: str | None) -> Framdrift:
    if master is None:
        monkeypatch.delenv("FRAMDRIFT_MASTER_KEY", raising=False)
    else:
        monkeypatch.setenv("FRAMDRIFT_MASTER_KEY", master)
    return Framdrift.from_url(url)


def test_sealed_keys_open_only_with_their_master_key(store_url, monkeypatch):
    migrate_all(store_url)
    app = open_with(store_url, monkeypatch, MASTER)
    people = programme_with_people(app)
    keys = {str(p): app.keys.key_for(p) for p in people}
    app.close()
    assert all(len(k) == 32 for k in keys.values())

    app = open_with(store_url, monkeypatch, MASTER)
    try:
        stored = stored_keys(app)
        assert set(stored) == set(keys)
        for subject, key in keys.items():  # what the table holds is not the key
            assert key not in stored[subject] and len(stored[subject]) == 64
        assert app.keys.counts() == {"sealed": 3, "plain": 0}
        assert app.get_participant(people[0])["name"] == "Anna Lind 0"
        app.keys.check()
    finally:
        app.close()

    app = open_with(store_url, monkeypatch, None)
    try:
        with pytest.raises(MasterKeyError, match="set FRAMDRIFT_MASTER_KEY"):
            app.keys.check()
        with pytest.raises(UNREADABLE, match="set FRAMDRIFT_MASTER_KEY"):
            app.get_participant(people[0])
    finally:
        app.close()

    app = open_with(store_url, monkeypatch, new_master_key())
    try:
        with pytest.raises(UNREADABLE, match="not the master key"):
            app.get_participant(people[1])
    finally:
        app.close()
    # the CLI refuses at once, with the reason and no traceback
    done = CliRunner().invoke(cli, ["keys", "status"], env={"FRAMDRIFT_DATABASE_URL": store_url})
    assert done.exit_code == 1 and "not the master key" in done.output
    assert "Traceback" not in done.output


def test_wrap_seals_the_keys_of_a_store_without_a_master_key(store_url, monkeypatch):
    migrate_all(store_url)
    app = open_with(store_url, monkeypatch, None)
    people = programme_with_people(app)
    plain = stored_keys(app)
    app.close()
    env = {"FRAMDRIFT_DATABASE_URL": store_url}
    runner = CliRunner()

    monkeypatch.delenv("FRAMDRIFT_MASTER_KEY", raising=False)
    refused = runner.invoke(cli, ["keys", "wrap"], env=env)
    assert refused.exit_code == 1 and "no master key" in refused.output

    monkeypatch.setenv("FRAMDRIFT_MASTER_KEY", MASTER)
    status = runner.invoke(cli, ["keys", "status"], env=env)
    assert "0 sealed with a master key, 3 plain" in status.output and "is set" in status.output
    done = runner.invoke(cli, ["keys", "wrap"], env=env)
    assert done.exit_code == 0, done.output
    assert "sealed 3 data keys" in done.output
    again = runner.invoke(cli, ["keys", "wrap"], env=env)
    assert "sealed 0 data keys with the master key (3 were sealed already)" in again.output

    app = open_with(store_url, monkeypatch, MASTER)
    try:
        sealed = stored_keys(app)
        assert all(plain[s] not in sealed[s] for s in plain)
        assert [app.get_participant(p)["name"] for p in people] == [
            "Anna Lind 0", "Anna Lind 1", "Anna Lind 2"]
        # erasure still deletes the (sealed) key
        app.erase_participant(people[2])
        app.keys.forget_cache()
        assert app.get_participant(people[2])["name"] == "[erased]"
        assert app.keys.counts() == {"sealed": 2, "plain": 0}
    finally:
        app.close()

    wrong = runner.invoke(cli, ["keys", "wrap"], env={**env, "FRAMDRIFT_MASTER_KEY":
                                                      new_master_key()})
    assert wrong.exit_code == 1 and "not the master key" in wrong.output


def test_backup_keeps_keys_sealed_and_readiness_checks_the_master_key(
        store_url, tmp_path, monkeypatch):
    target = f"sqlite:///{tmp_path}/restored.sqlite3"
    migrate_all(store_url)
    app = open_with(store_url, monkeypatch, MASTER)
    people = programme_with_people(app)
    events, keys = io.StringIO(), io.StringIO()
    export_log(app, events, keys)
    app.close()
    exported = [line for line in keys.getvalue().splitlines() if "data_key" in line]
    assert exported and all(len(base64.b64decode(line.split('"data_key": "')[1].split('"')[0]))
                            == 64 for line in exported)

    migrate_all(target)
    restored = open_with(target, monkeypatch, MASTER)
    try:
        events.seek(0)
        keys.seek(0)
        import_log(restored, events, keys)
        assert restored.get_participant(people[0])["name"] == "Anna Lind 0"
    finally:
        restored.close()

    monkeypatch.setenv("FRAMDRIFT_MASTER_KEY", new_master_key())
    web = create_app({"TESTING": True, "DATABASE_URL": target})
    answer = web.test_client().get("/readyz")
    assert answer.status_code == 503
    assert "not the master key" in answer.get_json()["detail"]
    monkeypatch.setenv("FRAMDRIFT_MASTER_KEY", MASTER)
    web = create_app({"TESTING": True, "DATABASE_URL": target})
    assert "master_key" not in (web.test_client().get("/readyz").get_json() or {}).get(
        "errors", {})


def test_a_malformed_master_key_is_a_clear_error(tmp_path, monkeypatch):
    with pytest.raises(MasterKeyError, match="44 characters"):
        master_key_from_env({"FRAMDRIFT_MASTER_KEY": "too-short"})
    secret = tmp_path / "master"
    secret.write_text(MASTER + "\n")
    assert master_key_from_env({"FRAMDRIFT_MASTER_KEY_FILE": str(secret)}) == \
        base64.b64decode(MASTER)
    with pytest.raises(MasterKeyError, match="cannot read it"):
        master_key_from_env({"FRAMDRIFT_MASTER_KEY_FILE": str(tmp_path / "missing")})
    assert master_key_from_env({}) is None
    done = CliRunner().invoke(cli, ["keys", "status"], env={
        "FRAMDRIFT_DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3",
        "FRAMDRIFT_MASTER_KEY": "not base64!"})
    assert done.exit_code == 1 and "FRAMDRIFT_MASTER_KEY must be 32 random bytes" in done.output


def test_rewrap_rotates_the_master_key_all_or_nothing(store_url, monkeypatch):
    migrate_all(store_url)
    app = open_with(store_url, monkeypatch, MASTER)
    people = programme_with_people(app)
    before = stored_keys(app)
    app.close()
    env = {"FRAMDRIFT_DATABASE_URL": store_url, "FRAMDRIFT_MASTER_KEY": MASTER}
    runner = CliRunner()
    new = new_master_key()

    missing = runner.invoke(cli, ["keys", "rewrap"], env=env)
    assert missing.exit_code == 1 and "no new master key" in missing.output
    bad = runner.invoke(cli, ["keys", "rewrap"], env={**env, "FRAMDRIFT_NEW_MASTER_KEY": "x"})
    assert bad.exit_code == 1 and "FRAMDRIFT_NEW_MASTER_KEY must be 32 random bytes" in bad.output
    wrong = runner.invoke(cli, ["keys", "rewrap"], env={
        **env, "FRAMDRIFT_MASTER_KEY": new_master_key(), "FRAMDRIFT_NEW_MASTER_KEY": new})
    assert wrong.exit_code == 1 and "not the master key" in wrong.output

    app = open_with(store_url, monkeypatch, MASTER)
    try:
        assert stored_keys(app) == before  # nothing changed
    finally:
        app.close()

    done = runner.invoke(cli, ["keys", "rewrap"], env={**env, "FRAMDRIFT_NEW_MASTER_KEY": new})
    assert done.exit_code == 0, done.output
    assert "sealed 3 data keys with the new master key" in done.output

    app = open_with(store_url, monkeypatch, new)
    try:
        assert [app.get_participant(p)["name"] for p in people] == [
            "Anna Lind 0", "Anna Lind 1", "Anna Lind 2"]
        assert app.keys.counts() == {"sealed": 3, "plain": 0}
    finally:
        app.close()
    app = open_with(store_url, monkeypatch, MASTER)
    try:
        with pytest.raises(MasterKeyError, match="not the master key"):
            app.keys.check()
    finally:
        app.close()
