"""Personal data is never stored in clear, and erasure makes it unreadable for good."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import psycopg

from domain.application import Framdrift
from domain.privacy import ERASED, KEY_TABLE
from domain.store import parse_database_url

NAME = "Zlatana Qvarnström-Ekholm"
EMAIL = "zlatana.qvx41@exempelby.example"
EXAMPLE = "Kvittoflödet i Ödegårdens hemtjänst dubbelregistreras xq7"
DEFICIENCY = "Brist: ingen äger masterdatan zz9"
STATEMENT = "Beslut: vi tolkar regeln om datadelning på nytt kk3"
REASON = "Reversal reason wq5"
SECRETS = [NAME, EMAIL, EXAMPLE, DEFICIENCY, STATEMENT, REASON]
# Not personal, stored in clear: proves the byte search can find what is there.
VISIBLE = ["Exempelby kommun Qx", "Socialtjänsten Qx"]


def encodings(text: str) -> list[bytes]:
    """How a text may appear in stored bytes: UTF-8, or JSON with \\u escapes."""
    forms = {text.encode("utf-8")}
    escaped = text.encode("ascii", "backslashreplace").replace(b"\\x", b"\\u00")
    forms.add(escaped)
    for fragment in (text[:12], text[-12:]):
        forms.add(fragment.encode("utf-8"))
    return sorted(forms)


def stored_blobs(app: Framdrift, url: str) -> list[bytes]:
    """Every stored byte string outside the key table."""
    config = parse_database_url(url)
    blobs: list[bytes] = []
    if not config.is_postgres:
        db = Path(config.env["SQLITE_DBNAME"])
        for path in db.parent.glob(db.name + "*"):  # the file, and its -wal / -journal
            blobs.append(path.read_bytes())
        with sqlite3.connect(db) as conn:
            blobs += [bytes(r[0]) for r in conn.execute("SELECT state FROM stored_events")]
            tables = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in tables:
                if table == KEY_TABLE:
                    continue
                for row in conn.execute(f'SELECT * FROM "{table}"'):
                    blobs += [_bytes(v) for v in row if v is not None]
        return blobs
    schema = config.schema
    with psycopg.connect(url.split("?")[0]) as conn:
        columns = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND data_type IN "
            "('bytea', 'text', 'character varying', 'json', 'jsonb')",
            (schema,),
        ).fetchall()
        tables = {t for t, _ in columns}
        assert any(t.endswith("events") for t in tables), tables
        for table, column in columns:
            if table == KEY_TABLE:
                continue
            for (value,) in conn.execute(f'SELECT "{column}" FROM "{schema}"."{table}"'):
                if value is not None:
                    blobs.append(_bytes(value))
    return blobs


def _bytes(value) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    return str(value).encode("utf-8")


def found(blobs: list[bytes], text: str) -> bool:
    return any(form in blob for blob in blobs for form in encodings(text))


def load(app: Framdrift):
    pid = app.plan_programme(organisation=VISIBLE[0], title="T", first_day=date(2026, 9, 7),
                             units=[{"key": "soc", "name": VISIBLE[1]}])
    ada = app.enrol_participant(pid, name=NAME, email=EMAIL, role="manager", unit="soc",
                                consent=True)
    other = app.enrol_participant(pid, name="Other Person", email=None, role="expert",
                                  unit="soc")
    r = app.log_reflection(ada, week=2, example=EXAMPLE, deficiency=DEFICIENCY)
    d = app.make_decision(ada, week=3, statement=STATEMENT, based_on=[r])
    app.reverse_decision(d, reason=REASON)
    kept = app.log_reflection(other, week=2, example="Someone else's reflection")
    return pid, ada, r, d, kept


def test_personal_data_is_sealed_at_rest_and_readable_through_the_app(app, store_url):
    _, ada, r, d, _ = load(app)
    blobs = stored_blobs(app, store_url)
    for visible in VISIBLE:
        assert found(blobs, visible), f"the search cannot see {visible!r}"
    for secret in SECRETS:
        assert not found(blobs, secret), f"{secret!r} is stored in clear"
    person = app.get_participant(ada)
    assert (person["name"], person["email"]) == (NAME, EMAIL)
    ref = app.get_record(r)
    assert (ref["example"], ref["deficiency"]) == (EXAMPLE, DEFICIENCY)
    assert app.get_record(d)["statement"] == STATEMENT


def test_erasure_makes_personal_data_unreadable_for_every_app(app, store_url):
    _, ada, r, d, kept = load(app)
    before = app.max_position()
    app.erase_participant(ada)
    assert app.max_position() == before + 1
    last = app.read_log(before)[0][1]
    assert type(last).__qualname__ == "Participant.Erased"

    for reader in (app, Framdrift.from_url(store_url)):
        person = reader.get_participant(ada)
        assert person["name"] == ERASED and person["email"] == ERASED
        assert person["erased"] is True and person["consent"] is False
        ref = reader.get_record(r)
        assert ref["example"] == ERASED and ref["deficiency"] == ERASED
        assert reader.get_record(d)["statement"] == ERASED
        # the events are all still there; only what was personal is unreadable
        logged = [e for _, e in reader.iter_log() if e.originator_id == r]
        assert len(logged) == 1 and logged[0].example.text is None
        # someone else's data is untouched
        assert reader.get_record(kept)["example"] == "Someone else's reflection"
        if reader is not app:
            reader.close()
    blobs = stored_blobs(app, store_url)
    for secret in SECRETS:
        assert not found(blobs, secret)
