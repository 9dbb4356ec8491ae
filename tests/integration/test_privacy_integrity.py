"""The log stays tamper-evident and portable: editing one stored event with SQL makes
`framdrift verify` fail and name its position; a backup taken from SQLite, imported into
PostgreSQL and exported again is byte-for-byte the same NDJSON."""

from __future__ import annotations

from datetime import date
from typing import Any

from click.testing import CliRunner

from api.cli import cli
from tests.conftest import migrate_all


def run(url: str, *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env={"FRAMDRIFT_DATABASE_URL": url})


def small_log(app: Any) -> None:
    pid = app.plan_programme(organisation="Testby", title="Chain", first_day=date(2026, 1, 5),
                             units=[{"key": "u1", "name": "U1"}])
    person = app.enrol_participant(pid, name="Anna Andersson", email="anna@example.org",
                                   role="expert", unit="u1", consent=True)
    reflection = app.log_reflection(person, week=1, example="En reflektion")
    app.make_decision(person, week=2, statement="Ett beslut", based_on=[reflection])
    app.erase_participant(person)


def test_editing_one_stored_event_makes_verify_fail_at_its_position(app, store_url):
    small_log(app)
    assert run(store_url, "verify").exit_code == 0
    notifications = app.recorder.select_notifications(start=0, limit=100)
    target = notifications[2]
    table = app.recorder.events_table_name
    table = table if "." in table else app.sql.table(table)
    column = "notification_id" if app.config.is_postgres else "rowid"
    state = bytes(target.state)
    tampered = state.replace(b"expert", b"manage") if b"expert" in state else state + b" "
    with app.sql.transaction() as cur:
        cur.execute(f"UPDATE {table} SET state = ? WHERE {column} = ?", (tampered, target.id))
    result = run(store_url, "verify")
    assert result.exit_code == 1
    assert f"FAILED at position {target.id}:" in result.output, result.output
    assert "does not match its sealed hash" in result.output


def test_export_from_sqlite_import_into_postgres_export_again_is_identical(
        sqlite_app, sqlite_url, pg_schema_url, tmp_path):
    small_log(sqlite_app)
    first, second = tmp_path / "first", tmp_path / "second"
    assert run(sqlite_url, "export", "--all", "--out", str(first)).exit_code == 0
    migrate_all(pg_schema_url)
    result = run(pg_schema_url, "import", str(first))
    assert result.exit_code == 0, result.output
    assert run(pg_schema_url, "verify").exit_code == 0
    assert run(pg_schema_url, "export", "--all", "--out", str(second)).exit_code == 0
    for name in ("events.ndjson", "keys.ndjson"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert (first / "events.ndjson").read_text().count("\n") == 6
    # importing twice is refused: the store is no longer empty
    again = run(pg_schema_url, "import", str(first))
    assert again.exit_code != 0 and "empty store" in again.output
