"""Migrating a store whose read models were made by an older version: outdated tables are
re-created and rebuilt from the log, read models that no longer exist are dropped."""

from __future__ import annotations

from domain.demo import load_demo
from projections import asof
from projections.base import read_positions
from projections.runner import catch_up
from projections.schema import migrate
from projections.views import NAMES
from tests.integration.test_projections_rebuild import dump, rebuilt


def table_names(sql) -> set[str]:
    if sql.postgres:
        rows = sql.query("SELECT table_name AS name FROM information_schema.tables "
                         "WHERE table_schema = ?", (sql.schema,))
    else:
        rows = sql.query("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {r["name"] for r in rows}


def test_migrate_replaces_the_old_asof_model_and_rebuilds_the_timeline(app, store_url):
    load_demo(app)
    catch_up(app)
    expected = dump(app)
    head = app.max_position()
    sql = app.sql
    # What a store of the version before looked like: the as-of model had tables and a
    # tracking row of its own, and the timeline had two columns fewer.
    with sql.transaction() as cur:
        cur.execute(f"CREATE TABLE {sql.table('pj_asof_changes')} (programme_id TEXT, "
                    "position BIGINT, change TEXT)")
        cur.execute(f"CREATE TABLE {sql.table('pj_asof_subjects')} (subject_id TEXT)")
        cur.execute(f"INSERT INTO {sql.table('pj_tracking')} (name, position, updated_at) "
                    "VALUES ('asof', ?, 'then')", (head,))
        cur.execute(f"DROP INDEX {sql.table('pj_timeline_max_time')}")
        cur.execute(f"ALTER TABLE {sql.table('pj_timeline')} DROP COLUMN change")
        cur.execute(f"ALTER TABLE {sql.table('pj_timeline')} DROP COLUMN max_time")

    migrate(store_url)

    positions = read_positions(sql)
    assert set(positions) == set(NAMES)
    assert positions["timeline"] == 0  # outdated: re-created empty, rebuilt as it follows
    assert all(positions[n] == head for n in NAMES if n != "timeline")
    assert not sql.query(f"SELECT * FROM {sql.table('pj_timeline')}")
    assert not {"pj_asof_changes", "pj_asof_subjects"} & table_names(sql)
    assert {"pj_timeline", "pj_timeline_checkpoints"} <= table_names(sql)
    catch_up(app)
    assert dump(app) == expected == rebuilt(app)
    pid = sql.query(f"SELECT programme_id FROM {sql.table('pj_programmes')}")[0]["programme_id"]
    assert asof.state_at(sql, pid).events > 0
