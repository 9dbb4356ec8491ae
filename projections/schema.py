"""Creating the read models' tables (only here: ``framdrift migrate`` runs :func:`migrate`)."""

from __future__ import annotations

from domain.store import Cursor, Sql
from projections.base import TRACKING_TABLE, Table, utcnow
from projections.views import BY_NAME, NAMES


def tables_of(name: str) -> tuple[Table, ...]:
    return BY_NAME[name].view_class.tables


def create_tracking(cur: Cursor, sql: Sql) -> None:
    cur.execute(
        f"CREATE TABLE IF NOT EXISTS {sql.table(TRACKING_TABLE)} ("
        "name TEXT PRIMARY KEY, position BIGINT NOT NULL, updated_at TEXT NOT NULL)"
    )
    cur.executemany(
        f"INSERT INTO {sql.table(TRACKING_TABLE)} (name, position, updated_at) "
        "VALUES (?, 0, ?) ON CONFLICT (name) DO NOTHING",
        [(name, utcnow()) for name in NAMES],
    )


def create_tables(cur: Cursor, sql: Sql, name: str, suffix: str = "",
                  *, indexes: bool = True) -> None:
    for table in tables_of(name):
        cur.execute(table.create_statement(sql, suffix))
        if indexes and not suffix:
            for statement in table.index_statements(sql):
                cur.execute(statement)


def drop_tables(cur: Cursor, sql: Sql, name: str, suffix: str = "") -> None:
    for table in tables_of(name):
        cur.execute(f"DROP TABLE IF EXISTS {sql.table(table.name + suffix)}")


def swap_in(cur: Cursor, sql: Sql, name: str, suffix: str) -> None:
    """Replace a projection's tables by their ``suffix`` copies (inside one transaction)."""
    for table in tables_of(name):
        cur.execute(f"DROP TABLE IF EXISTS {sql.table(table.name)}")
        cur.execute(f"ALTER TABLE {sql.table(table.name + suffix)} RENAME TO {table.name}")
        if sql.postgres:
            # Keep the primary key's name stable, so the next rebuild can reuse "_new".
            cur.execute(
                f'ALTER INDEX IF EXISTS "{sql.schema}"."{table.name}{suffix}_pkey" '
                f"RENAME TO {table.name}_pkey"
            )
        for statement in table.index_statements(sql):
            cur.execute(statement)


def _columns(cur: Cursor, sql: Sql, table: str) -> list[str] | None:
    """The columns a table has now, or None if it does not exist."""
    if sql.postgres:
        rows = cur.query(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? "
            "AND table_name = ? ORDER BY ordinal_position", (sql.schema, table))
        return [r["column_name"] for r in rows] or None
    rows = cur.query(f"PRAGMA table_info({table})")
    return [r["name"] for r in rows] or None


def outdated(cur: Cursor, sql: Sql, name: str) -> bool:
    """Whether a projection's tables exist with other columns than its code defines, or
    some exist and a table its code defines does not (added by a newer version: the
    rows of the others lack what it would have been built with)."""
    missing = existing = 0
    for table in tables_of(name):
        wanted = [c.strip().split()[0] for c in table.columns.split(",")]
        found = _columns(cur, sql, table.name)
        if found is not None and found != wanted:
            return True
        missing, existing = missing + (found is None), existing + (found is not None)
    return bool(missing and existing)


# Tables and read models of older versions: the as-of model is part of the timeline
# since issue 3's last round (docs/adr/0003-as-of-replay.md).
OBSOLETE_TABLES = ("pj_asof_changes", "pj_asof_checkpoints", "pj_asof_subjects")


def migrate(url: str | None = None) -> None:
    """Create the tracking table and every read model's tables (idempotent).

    A projection whose tables were made by an older version (other columns) is
    dropped, re-created empty and set back to position 0: the runner rebuilds it
    from the log as it follows (the others are not disturbed). Tables and tracking
    rows of read models that no longer exist are dropped (they hold only what the
    log has).
    """
    from domain.application import Framdrift

    app = Framdrift.from_url(url)
    try:
        with app.sql.transaction() as cur:
            create_tracking(cur, app.sql)
            for table in OBSOLETE_TABLES:
                cur.execute(f"DROP TABLE IF EXISTS {app.sql.table(table)}")
            cur.execute(f"DELETE FROM {app.sql.table(TRACKING_TABLE)} WHERE name NOT IN "
                        f"({', '.join('?' * len(NAMES))})", tuple(NAMES))
            for name in NAMES:
                if outdated(cur, app.sql, name):
                    drop_tables(cur, app.sql, name)
                    cur.execute(
                        f"UPDATE {app.sql.table(TRACKING_TABLE)} SET position = 0, "
                        "updated_at = ? WHERE name = ?", (utcnow(), name))
                create_tables(cur, app.sql, name)
    finally:
        app.close()
