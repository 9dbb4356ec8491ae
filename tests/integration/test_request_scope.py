"""A web request reads each aggregate from the store once (domain/loading.py,
``CachingRepository.request_scope``; ADR 0020): what it read earlier is reused, a save by
the request ends that reuse, and outside a request every read fast-forwards as before."""

from __future__ import annotations

from datetime import date

from domain.application import Framdrift
from domain.context import acting_as


def test_a_request_reuses_what_it_read_until_it_saves_it(app, store_url):
    with acting_as("researcher:test"):
        pid = app.plan_programme(organisation="O", title="T", first_day=date(2026, 1, 5),
                                 units=[{"key": "u", "name": "U"}])
    other = Framdrift.from_url(store_url)  # another process, writing meanwhile
    try:
        with app.repository.request_scope():
            before = app.get_programme(pid)["version"]
            with acting_as("researcher:test"):
                other.hold_check_in(pid, week=1, held_on=date(2026, 1, 6))
            # the same request reads the programme as it was when it started
            assert app.get_programme(pid)["version"] == before
            with acting_as("researcher:test"):
                # a command loads what it changes afresh: no conflict with the other's write
                app.hold_check_in(pid, week=1, held_on=date(2026, 1, 7))
            # ... which ends the reuse: both check-ins are seen, none was lost
            after = app.get_programme(pid)
            assert after["version"] == before + 2
            assert len(after["meetings"]) == 2
        with acting_as("researcher:test"):
            other.hold_check_in(pid, week=1, held_on=date(2026, 1, 8))
        assert app.get_programme(pid)["version"] == before + 3  # no scope: fast-forward
    finally:
        other.close()


def test_idempotency_check_and_cached_links(app):
    """The idempotency check is one look-up; a cached link still sees its revocation."""
    from domain.accounts import issue_link, revoke_links, verify_link

    with acting_as("researcher:test"):
        pid = app.plan_programme(organisation="O", title="T", first_day=date(2026, 1, 5),
                                 units=[{"key": "u", "name": "U"}])
        person = app.enrol_participant(pid, name="A", email=None, role="expert", unit="u",
                                       consent=True)
    first = app.log_reflection(person, week=1, example="x", request_id="r-1")
    assert app.log_reflection(person, week=1, example="x", request_id="r-1") == first
    secret, _ = issue_link(app, role="participant", subject=person)
    assert verify_link(app, secret) is not None
    assert verify_link(app, secret) is not None  # now from the cache
    assert revoke_links(app, person) == 1
    assert verify_link(app, secret) is None
