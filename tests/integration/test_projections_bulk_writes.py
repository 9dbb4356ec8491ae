"""The rebuild's cheaper writes and reads give what the plain ones give, on both stores:
multi-row upserts (``insert_many``) as ``executemany``, the decoder's own read of the log
as the recorder's, and the stored event time as ``utc_iso`` of the decoded one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from domain.demo import load_demo
from domain.describe import utc_iso
from projections import base
from projections.base import event_time, insert_many, remember_time
from projections.runner import FastDecoder, sealed_mapper

UPSERT = ("INSERT INTO {t} AS cur VALUES (?, ?, ?) ON CONFLICT (k) DO UPDATE SET "
          "n = cur.n + excluded.n, label = COALESCE(excluded.label, cur.label)")


def _table(app, name):
    t = app.sql.table(name)
    with app.sql.transaction() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {t}")
        cur.execute(f"CREATE TABLE {t} (k TEXT NOT NULL, n INTEGER NOT NULL, label TEXT, "
                    "PRIMARY KEY (k))")
    return t


def test_insert_many_is_executemany(app):
    rows = [(f"k{i}", i, None if i % 3 else f"l{i}") for i in range(601)]
    later = [(f"k{i}", 1, f"m{i}" if i % 2 else None) for i in range(0, 601, 7)]
    got, expected = _table(app, "t_many"), _table(app, "t_plain")
    for table, write in ((got, lambda cur, s, r: insert_many(cur, app.sql, s, r)),
                         (expected, lambda cur, s, r: cur.executemany(s, r))):
        with app.sql.transaction() as cur:
            write(cur, UPSERT.format(t=table), rows)
            write(cur, UPSERT.format(t=table), later[:1])
            write(cur, UPSERT.format(t=table), later[1:])
            write(cur, UPSERT.format(t=table), [])
    dump = "SELECT k, n, label FROM {t} ORDER BY k"
    assert app.sql.query(dump.format(t=got)) == app.sql.query(dump.format(t=expected))
    assert len(app.sql.query(dump.format(t=got))) == 601


def test_decoder_reads_what_the_recorder_reads(app):
    load_demo(app)
    decoder = FastDecoder(app, sealed_mapper(app))
    recorder = [(n.id, n.originator_id, n.originator_version, n.topic, n.state)
                for n in app.recorder.select_notifications(
                    start=0, limit=10**6, inclusive_of_start=False)]
    found, after = [], 0
    while rows := decoder.select(after, 97):
        found.extend(rows)
        after = rows[-1][0]
    assert found == recorder and len(found) == app.max_position()
    mapper = sealed_mapper(app)
    for row in found[:500]:  # the time a decoded event reports, as utc_iso would say it
        event = decoder.event(row)
        assert event_time(event) == utc_iso(mapper.to_domain_event(
            app.recorder.select_events(row[1], gt=row[2] - 1, lte=row[2])[0]).timestamp)


def test_remembered_time_only_when_canonical():
    utc = datetime(2026, 9, 7, 9, 0, tzinfo=UTC)
    cases = [utc, utc.replace(microsecond=120), utc.replace(tzinfo=None),
             utc.astimezone(timezone(timedelta(hours=2)))]
    texts = [t.isoformat() for t in cases] + ["2026-09-07T09:00:00.000000+00:00",
                                               "2026-09-07T09:00:00.500+00:00"]
    for text in texts:
        event = type("E", (), {})()
        event.timestamp = datetime.fromisoformat(text)
        remember_time(event, text)
        assert event_time(event) == utc_iso(event.timestamp), text
        base._LAST_TIME = (None, "")
