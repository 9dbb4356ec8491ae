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


def migrate(url: str | None = None) -> None:
    """Create the tracking table and every read model's tables (idempotent)."""
    from domain.application import Framdrift

    app = Framdrift.from_url(url)
    try:
        with app.sql.transaction() as cur:
            create_tracking(cur, app.sql)
            for name in NAMES:
                create_tables(cur, app.sql, name)
    finally:
        app.close()
