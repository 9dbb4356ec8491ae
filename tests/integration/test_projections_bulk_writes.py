"""The rebuild's cheaper reads give what the plain ones give, on both stores: the
decoder's own read of the log as the recorder's, and the stored event time as
``utc_iso`` of the decoded one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from domain.demo import load_demo
from domain.describe import utc_iso
from projections import base
from projections.base import event_time, remember_time
from projections.runner import FastDecoder, sealed_mapper


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
