"""Data keys are cached for a few seconds (so another process's erasure takes effect soon),
but not re-read during a bulk ``batch()``: a long load would look every key up again every
few seconds."""

from __future__ import annotations

from datetime import date

from domain import privacy


def test_keys_do_not_expire_inside_a_batch(sqlite_app, monkeypatch):
    app = sqlite_app
    pid = app.plan_programme(organisation="Org", title="Cache", first_day=date(2026, 9, 7),
                             units=[{"key": "u", "name": "U"}])
    person = app.enrol_participant(pid, name="Nils Holm", email=None, role="expert",
                                   unit="u", consent=True)
    clock = [1000.0]
    monkeypatch.setattr(privacy.time, "monotonic", lambda: clock[0])
    loads = []
    load = app.keys._load
    monkeypatch.setattr(app.keys, "_load", lambda s: loads.append(s) or load(s))
    app.keys.forget_cache()
    app.keys.key_for(person)
    assert len(loads) == 1
    with app.keys.holding():
        clock[0] += 3600
        app.keys.key_for(person)
        assert len(loads) == 1  # still the cached key
    app.keys.key_for(person)
    assert len(loads) == 2  # outside, an hour-old entry is read again
    with app.batch():
        clock[0] += 3600
        app.keys.key_for(person, create=True)
    assert len(loads) == 2
