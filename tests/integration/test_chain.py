"""The hash chain cannot be resealed: links are written only with the events they cover,
`framdrift verify` only reads, and whatever was done to the tables it ends with a message
naming the first bad position and exit code 1. A head printed by verify and kept outside the
database catches a rewrite or truncation of the whole chain even without a chain key; the
data-key table is covered too (docs/adr/0005-hash-chain.md). Every test runs on SQLite and
PostgreSQL."""

from __future__ import annotations

import os
import re
import threading
from datetime import date
from typing import Any

import pytest
from click.testing import CliRunner

from api.cli import cli
from domain.application import Framdrift
from domain.chain import CHAIN_TABLE, GENESIS, link_hash, link_mac
from domain.privacy import ERASED_TABLE, KEY_TABLE
from tests.conftest import migrate_all

CHAIN_KEY = "a chain key kept apart from the database"


def run(url: str, *args: str, **env: str) -> Any:
    result = CliRunner().invoke(cli, list(args), env={"FRAMDRIFT_DATABASE_URL": url, **env})
    # Never a traceback: failures end through SystemExit with a message.
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.output, result.exception)
    assert "Traceback" not in result.output
    return result


def head_of(result: Any) -> str:
    return re.search(r"^head: (\d+:\d+:[0-9a-f]{64})$", result.output, re.M).group(1)


def small_log(app: Framdrift) -> dict[str, Any]:
    pid = app.plan_programme(organisation="Testby", title="Chain", first_day=date(2026, 1, 5),
                             units=[{"key": "u1", "name": "U1"}])
    anna = app.enrol_participant(pid, name="Anna Andersson", email="anna@example.org",
                                 role="expert", unit="u1", consent=True)
    bo = app.enrol_participant(pid, name="Bo Berg", email=None, role="manager", unit="u1",
                               consent=True)
    reflection = app.log_reflection(anna, week=1, example="En reflektion", shared=True)
    app.make_decision(bo, week=2, statement="Ett beslut", based_on=[reflection])
    return {"programme": pid, "anna": anna, "bo": bo}


def events_table(app: Framdrift) -> str:
    name = app.recorder.events_table_name
    return name if "." in name else app.sql.table(name)


def pos_col(app: Framdrift) -> str:
    return "notification_id" if app.config.is_postgres else "rowid"


def positions(app: Framdrift) -> list[int]:
    return [n.id for n in app.recorder.select_notifications(start=0, limit=10_000)]


def chain_rows(app: Framdrift) -> list[tuple[Any, ...]]:
    return [tuple(r.values()) for r in app.sql.query(
        f"SELECT seq, position, hash, mac, key_digests FROM {app.sql.table(CHAIN_TABLE)} "
        "ORDER BY seq")]


def sql(app: Framdrift, statement: str, params: tuple[Any, ...] = ()) -> None:
    with app.sql.transaction() as cur:
        cur.execute(statement, params)


def edit_event(app: Framdrift, position: int) -> None:
    sql(app, f"UPDATE {events_table(app)} SET state = ? WHERE {pos_col(app)} = ?",
        (b'{"forged": true}', position))


def recompute_chain(app: Framdrift, key: bytes | None = None) -> None:
    """What someone with write access but without the chain key can do: rebuild every link
    from the events as they now are (keeping the key digests the links carried)."""
    carried = {r[0]: r[4] for r in chain_rows(app)}
    previous, rows = GENESIS, []
    for seq, n in enumerate(app.recorder.select_notifications(start=0, limit=10_000), 1):
        previous = link_hash(previous, seq, n.id, n.originator_id, n.originator_version,
                             n.topic, bytes(n.state), carried.get(seq) or "")
        rows.append((seq, n.id, previous, link_mac(key, previous), carried.get(seq)))
    table = app.sql.table(CHAIN_TABLE)
    with app.sql.transaction() as cur:
        cur.execute(f"DELETE FROM {table}")
        cur.executemany(f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?)", rows)


def test_a_deleted_chain_tail_and_an_edited_event_fail_and_verify_writes_nothing(
        app, store_url):
    """The hole of issue 10: verify used to seal unsealed events, so this said "ok"."""
    small_log(app)
    assert run(store_url, "verify").exit_code == 0
    third = positions(app)[2]
    sql(app, f"DELETE FROM {app.sql.table(CHAIN_TABLE)} WHERE seq >= 3")
    edit_event(app, third)
    before = chain_rows(app)
    for _ in range(2):  # and again: nothing was resealed in between
        result = run(store_url, "verify")
        assert result.exit_code == 1
        assert f"FAILED at position {third}: " in result.output, result.output
        assert "has no chain link" in result.output
        assert "head:" not in result.output
    assert chain_rows(app) == before


def test_an_event_inserted_directly_into_the_events_table_fails(app, store_url):
    ids = small_log(app)
    sql(app, f"INSERT INTO {events_table(app)} (originator_id, originator_version, topic, "
             "state) VALUES (?, ?, ?, ?)",
        (ids["anna"] if app.config.is_postgres else ids["anna"].hex, 99,
         "domain.model:Participant.Erased", b"{}"))
    inserted = positions(app)[-1]
    app.log_reflection(ids["bo"], week=1, example="Written after the forged row")
    result = run(store_url, "verify")
    assert result.exit_code == 1
    assert f"FAILED at position {inserted}: " in result.output, result.output
    assert "added outside Framdrift" in result.output


def test_an_emptied_chain_fails_and_migrate_does_not_rebuild_it(app, store_url):
    small_log(app)
    first = positions(app)[0]
    sql(app, f"DELETE FROM {app.sql.table(CHAIN_TABLE)}")
    assert run(store_url, "migrate").exit_code == 0
    assert chain_rows(app) == []
    result = run(store_url, "verify")
    assert result.exit_code == 1
    assert f"FAILED at position {first}: " in result.output, result.output


def test_a_chain_rewritten_without_the_chain_key_fails_its_signatures(store_url, monkeypatch):
    monkeypatch.setenv("FRAMDRIFT_CHAIN_KEY", CHAIN_KEY)
    migrate_all(store_url)
    app = Framdrift.from_url(store_url)
    try:
        small_log(app)
        assert run(store_url, "verify", FRAMDRIFT_CHAIN_KEY=CHAIN_KEY).exit_code == 0
        second = positions(app)[1]
        edit_event(app, second)
        recompute_chain(app, key=b"a guess")  # consistent hashes, wrong signatures
        # Without the key (or an anchor) such a rewrite cannot be told from the real log...
        unkeyed = run(store_url, "verify", FRAMDRIFT_CHAIN_KEY="")
        assert unkeyed.exit_code == 0, unkeyed.output
        assert "not checked" in unkeyed.output
        # ... with it, the first rewritten link is named.
        result = run(store_url, "verify", FRAMDRIFT_CHAIN_KEY=CHAIN_KEY)
        assert result.exit_code == 1
        assert "not signed with FRAMDRIFT_CHAIN_KEY" in result.output
        assert f"FAILED at position {positions(app)[0]}: " in result.output, result.output
    finally:
        app.close()


def test_against_an_older_head_passes_and_fails_after_truncation_or_rewrite(
        app, store_url, tmp_path):
    ids = small_log(app)
    older = head_of(run(store_url, "verify"))
    for n in range(3):
        app.log_reflection(ids["bo"], week=1, example=f"Later {n}")
    newer = head_of(run(store_url, "verify"))
    anchors = tmp_path / "heads.txt"
    anchors.write_text(f"2026-01-05 {older}\n2026-01-06 {newer}\n")
    for against in (older, newer, str(anchors)):
        result = run(store_url, "verify", "--against", against)
        assert result.exit_code == 0, result.output
        assert "extends the" in result.output

    # Truncation: the last two events and their links go; what is left is consistent.
    cut = positions(app)[-2]
    sql(app, f"DELETE FROM {events_table(app)} WHERE {pos_col(app)} >= ?", (cut,))
    sql(app, f"DELETE FROM {app.sql.table(CHAIN_TABLE)} WHERE position >= ?", (cut,))
    assert run(store_url, "verify").exit_code == 0  # undetectable without an anchor
    result = run(store_url, "verify", "--against", newer)
    assert result.exit_code == 1 and "truncated" in result.output, result.output
    assert run(store_url, "verify", "--against", older).exit_code == 0
    result = run(store_url, "verify", "--against", str(anchors))
    assert result.exit_code == 1, result.output

    # A rewrite of the whole chain after editing the first event.
    first = positions(app)[0]
    edit_event(app, first)
    recompute_chain(app)
    assert run(store_url, "verify").exit_code == 0  # undetectable without key or anchor
    result = run(store_url, "verify", "--against", older)
    assert result.exit_code == 1
    assert "no longer extends the anchored head" in result.output, result.output
    assert f"FAILED at position {int(older.split(':')[1])}: " in result.output


def test_against_refuses_what_is_not_a_head(app, store_url, tmp_path):
    small_log(app)
    (tmp_path / "empty.txt").write_text("nothing here\n")
    for value in ("12:34", str(tmp_path / "missing.txt"), str(tmp_path / "empty.txt")):
        result = run(store_url, "verify", "--against", value)
        assert result.exit_code == 2 and "--against" in result.output, result.output


def test_a_deleted_or_replaced_data_key_is_reported_but_an_erasure_verifies(app, store_url):
    ids = small_log(app)
    keys = app.sql.table(KEY_TABLE)
    result = run(store_url, "participants", "erase", str(ids["anna"]), "--yes")
    assert result.exit_code == 0, result.output
    result = run(store_url, "verify")
    assert result.exit_code == 0, result.output
    assert "1 data keys match their recorded digests, 1 erased" in result.output
    assert "note:" not in result.output

    bo = str(ids["bo"])
    original = app.sql.query(f"SELECT data_key FROM {keys} WHERE subject_id = ?", (bo,))
    original = bytes(original[0]["data_key"])
    sql(app, f"UPDATE {keys} SET data_key = ? WHERE subject_id = ?", (os.urandom(32), bo))
    enrolled = next(n.id for n in app.recorder.select_notifications(start=0, limit=100)
                    if n.originator_id == ids["bo"])  # the write that first used his key
    result = run(store_url, "verify")
    assert result.exit_code == 1
    assert f"FAILED at position {enrolled}: " in result.output, result.output
    assert f"data key of subject {bo} is not the one recorded" in result.output

    # Deleted, and even marked erased in the key store, but without an erasure event.
    sql(app, f"DELETE FROM {keys} WHERE subject_id = ?", (bo,))
    sql(app, f"INSERT INTO {app.sql.table(ERASED_TABLE)} (subject_id, erased_at) "
             "VALUES (?, ?)", (bo, "2026-01-01T00:00:00+00:00"))
    result = run(store_url, "verify")
    assert result.exit_code == 1
    assert "is missing and the log has no erasure" in result.output, result.output

    sql(app, f"INSERT INTO {keys} (subject_id, data_key, created_at) VALUES (?, ?, ?)",
        (bo, original, "2026-01-01T00:00:00+00:00"))
    assert run(store_url, "verify").exit_code == 0


DAMAGES = {
    "a NULL state": lambda app: sql(
        app, f"UPDATE {events_table(app)} SET state = NULL WHERE {pos_col(app)} = ?",
        (positions(app)[1],)),
    "state no longer bytes": lambda app: sql(app, (
        f"ALTER TABLE {events_table(app)} ALTER COLUMN state TYPE text "
        "USING encode(state, 'escape')") if app.config.is_postgres else (
        f"UPDATE {events_table(app)} SET state = CAST(state AS TEXT)")),
    "version no longer an integer": lambda app: sql(app, (
        f"ALTER TABLE {events_table(app)} ALTER COLUMN originator_version TYPE text")
        if app.config.is_postgres else (
        f"UPDATE {events_table(app)} SET originator_version = 'one' WHERE rowid = 2")),
    "events table dropped": lambda app: sql(app, f"DROP TABLE {events_table(app)}"),
    "chain table dropped": lambda app: sql(app, f"DROP TABLE {app.sql.table(CHAIN_TABLE)}"),
    "key table dropped": lambda app: sql(app, f"DROP TABLE {app.sql.table(KEY_TABLE)}"),
    "chain column type": lambda app: sql(app, (
        f"ALTER TABLE {app.sql.table(CHAIN_TABLE)} ALTER COLUMN seq TYPE text")
        if app.config.is_postgres else (
        f"UPDATE {app.sql.table(CHAIN_TABLE)} SET position = 'two' WHERE seq = 2")),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_damaged_tables_end_in_a_message_and_exit_1(app, store_url, damage):
    small_log(app)
    DAMAGES[damage](app)
    result = run(store_url, "verify")
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert re.search(r"^FAILED( at position \d+)?: .{20,}", result.output, re.M), result.output


def test_a_write_whose_link_cannot_be_written_records_nothing(app, store_url):
    """Links and events are one transaction: no link, no event."""
    ids = small_log(app)
    last = app.max_position()
    sql(app, f"DROP TABLE {app.sql.table(CHAIN_TABLE)}")
    with pytest.raises(Exception, match=CHAIN_TABLE):
        app.log_reflection(ids["bo"], week=1, example="Never recorded")
    assert app.max_position() == last


def test_concurrent_writes_from_several_threads_make_one_valid_chain(app, store_url):
    ids = small_log(app)
    other = Framdrift.from_url(store_url)  # a second process, as far as the store knows
    errors: list[BaseException] = []

    def write(application: Framdrift, n: int) -> None:
        try:
            for i in range(8):
                application.log_reflection(ids["bo"] if n % 2 else ids["anna"], week=1,
                                           example=f"thread {n} note {i}")
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    try:
        threads = [threading.Thread(target=write, args=(app if n < 2 else other, n))
                   for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors, errors
    finally:
        other.close()
    report = app.chain.verify()
    assert report.ok, report.reason
    assert report.events == len(positions(app)) == 7 + 4 * 8
    assert [r[1] for r in chain_rows(app)] == positions(app)


def test_migrate_builds_the_chain_of_an_older_store_once(app, store_url, caplog, monkeypatch):
    monkeypatch.setattr("domain.chain.BATCH", 3)  # building and checking cross batches
    ids = small_log(app)
    # A store from before the chain: drop the tables this version added.
    sql(app, f"DROP TABLE {app.sql.table(CHAIN_TABLE)}")
    sql(app, f"DROP TABLE {app.sql.table('framdrift_hash_chain_meta')}")
    result = run(store_url, "verify")
    assert result.exit_code == 1 and "never migrated" in result.output, result.output
    with caplog.at_level("WARNING", logger="domain.chain"):
        assert run(store_url, "migrate").exit_code == 0
    assert f"built the hash chain over the {len(positions(app))} events" in caplog.text
    assert "proves nothing about the log before now" in caplog.text
    built = chain_rows(app)
    assert [r[1] for r in built] == positions(app)
    result = run(store_url, "verify")
    assert result.exit_code == 0, result.output
    assert "2 data keys match" in result.output
    assert "built by 'framdrift migrate'" in result.output
    assert run(store_url, "migrate").exit_code == 0  # once: a second run changes nothing
    assert chain_rows(app) == built
    app.log_reflection(ids["bo"], week=1, example="after migration")
    assert run(store_url, "verify").exit_code == 0


def test_an_import_gets_its_chain_and_key_digests(app, store_url, tmp_path):
    small_log(app)
    assert run(store_url, "export", "--all", "--out", str(tmp_path / "backup")).exit_code == 0
    target = f"sqlite:///{tmp_path}/restored.sqlite3"
    migrate_all(target)
    assert run(target, "import", str(tmp_path / "backup")).exit_code == 0
    result = run(target, "verify")
    assert result.exit_code == 0, result.output
    assert f"ok: {len(positions(app))} events" in result.output
    assert "2 data keys match" in result.output
    assert "note:" not in result.output


def test_sealed_keys_are_compared_with_the_master_key_and_noted_without_it(
        store_url, monkeypatch):
    from domain.privacy import new_master_key

    master = new_master_key()
    monkeypatch.setenv("FRAMDRIFT_MASTER_KEY", master)
    migrate_all(store_url)
    app = Framdrift.from_url(store_url)
    try:
        small_log(app)
    finally:
        app.close()
    result = run(store_url, "verify", FRAMDRIFT_MASTER_KEY=master)
    assert result.exit_code == 0 and "2 data keys match" in result.output, result.output
    result = run(store_url, "verify", FRAMDRIFT_MASTER_KEY="")
    assert result.exit_code == 0, result.output
    assert "2 sealed data key(s) were not compared" in result.output
    result = run(store_url, "verify", FRAMDRIFT_MASTER_KEY=new_master_key())
    assert result.exit_code == 1
    assert "opens none of the 2 sealed data keys" in result.output, result.output


def test_a_bulk_load_in_one_batch_is_chained_with_its_keys(app, monkeypatch):
    """``Framdrift.batch()`` (PostgreSQL: written in chunks within one transaction)."""
    from domain.demo import load_demo

    monkeypatch.setattr(Framdrift, "BATCH_CHUNK", 40)
    result = load_demo(app, programmes=1, participants=3)
    assert result.events > 3 * Framdrift.BATCH_CHUNK
    report = app.chain.verify()
    assert report.ok, report.reason
    assert report.events == result.events and not report.notes, report.notes
    stored_keys = app.sql.query(f"SELECT COUNT(*) AS n FROM {app.sql.table(KEY_TABLE)}")
    assert report.keys_matched == stored_keys[0]["n"] >= 3
