"""Concurrent form posts through the Flask test client, on SQLite (a file) and PostgreSQL.

Issue 10, item 3: posts made from the same page (the same ``expected_version``) may not
all succeed one after the other: the first wins, every later one is a 409 and nothing
else is stored (no lost update). Item 4: identical posts (the same idempotency key) all
get the answer of the first, even the ones in flight while the first was saved.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from web_support import World, form_fields

TIMEOUT = 30


def clone(world: World, client: FlaskClient) -> FlaskClient:
    """Another client with the same signed-in session (the same browser, another tab)."""
    other = world.flask.test_client()
    for cookie in client._cookies.values():
        other.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
    return other


def post_together(clients: list[FlaskClient], path: str,
                  forms: list[dict[str, str]]) -> list[tuple[int, str | None]]:
    """Post each form from its own thread, all released at once; (status, Location) each."""
    start = threading.Barrier(len(clients))
    answers: list[Any] = [None] * len(clients)

    def post(i: int) -> None:
        try:
            start.wait(TIMEOUT)
            response = clients[i].post(path, data=forms[i])
            answers[i] = (response.status_code, response.headers.get("Location"))
        except BaseException as e:  # noqa: BLE001 - reported to the test
            answers[i] = ("error", repr(e))

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT * 3)
        assert not t.is_alive(), "a request hung"
    return answers


def one_after_another(monkeypatch, app: Any, command: str, parties: int) -> None:
    """Every post does its reads and checks, then waits until all have; then the commands
    run one at a time: the interleaving in which a check made before another's save lets
    a lost update through."""
    original = getattr(app, command)
    arrived, turn = threading.Barrier(parties), threading.Lock()

    def gated(*args: Any, **kwargs: Any) -> Any:
        arrived.wait(TIMEOUT)
        with turn:
            return original(*args, **kwargs)

    monkeypatch.setattr(app, command, gated)


# form -> (who posts, page with the form, where it posts, the command, what post i sends)
Form = tuple[str, str, str, str, Callable[[int], dict[str, str]]]


def forms(world: World) -> dict[str, Form]:
    prefix = f"/r/programmes/{world.programme}"
    person = f"{prefix}/participants/{world.me}"
    started = f"/p/records/{world.ids['started']}"
    return {
        "rename area": ("researcher", f"{prefix}/areas/a1/rename", f"{prefix}/areas/a1/rename",
                        "rename_development_area", lambda i: {"name": f"Område {i}"}),
        "merge areas": ("researcher", f"{prefix}/areas/merge", f"{prefix}/areas/merge",
                        "merge_development_areas",
                        lambda i: {"area_id": f"a{i + 2}", "into": "a1"}),
        "close programme": ("researcher", f"{prefix}/close", f"{prefix}/close",
                            "close_programme", lambda i: {"confirm": "yes"}),
        "researcher consent": ("researcher", person, f"{person}/consent", "withdraw_consent",
                               lambda i: {"consent": "withdraw"}),
        "participant consent": ("participant", "/p/consent", "/p/consent", "withdraw_consent",
                                lambda i: {"consent": "withdraw"}),
        "experiment step": ("participant", started, f"{started}/observe", "record_observation",
                            lambda i: {"text": f"Observation {i}"}),
        "amend reflection": ("participant", f"/p/reflections/{world.ids['reflection']}/amend",
                             f"/p/reflections/{world.ids['reflection']}/amend",
                             "amend_reflection", lambda i: {"example": f"Ändrad {i}"}),
    }


N = 8


@pytest.mark.parametrize("form", ["rename area", "merge areas", "close programme",
                                  "researcher consent", "participant consent",
                                  "experiment step", "amend reflection"])
def test_posts_from_one_page_version_one_wins_the_rest_are_409(world: World, monkeypatch,
                                                                form: str) -> None:
    """N posts made from the same version of a page: one 302, N-1 409, one event."""
    for n in range(N):
        world.app.identify_development_area(world.programme, name=f"Område att slå ihop {n}")
    who, page, path, command, data = forms(world)[form]
    client = world.client(who)
    fields = form_fields(client, page)
    base = {"csrf_token": fields["csrf_token"], "expected_version": fields["expected_version"]}
    one_after_another(monkeypatch, world.app, command, N)
    before = world.app.max_position()
    answers = post_together([clone(world, client) for _ in range(N)], path,
                            [{**base, "request_id": f"race-post-{i}", **data(i)}
                             for i in range(N)])
    statuses = sorted(status for status, _ in answers)
    assert statuses == [302] + [409] * (N - 1), answers
    new = [e for _, e in world.app.read_log(before)]
    assert len(new) == 1, [type(e).__qualname__ for e in new]


SAME_POST = 50


def saves_together(monkeypatch, app: Any, parties: int) -> None:
    """Every post loads and changes the aggregate, then waits until all have before it
    saves: each retry has loaded the version before the first try's save, and loses."""
    original = app._save
    arrived = threading.Barrier(parties)

    def gated(*aggregates: Any) -> Any:
        arrived.wait(TIMEOUT)
        return original(*aggregates)

    monkeypatch.setattr(app, "_save", gated)


@pytest.mark.parametrize(("form", "interleaving"), [
    ("experiment step", "saves together"), ("experiment step", "as they come"),
    ("participant consent", "saves together"), ("amend reflection", "saves together"),
])
def test_identical_posts_all_answer_as_the_first(world: World, monkeypatch, form: str,
                                                 interleaving: str) -> None:
    """50 posts with one idempotency key: one event; every answer the first one's."""
    who, page, path, _command, data = forms(world)[form]
    client = world.client(who)
    fields = form_fields(client, page)
    post = {"csrf_token": fields["csrf_token"], "expected_version": fields["expected_version"],
            "request_id": "the-same-post-50-times", **data(0)}
    if interleaving == "saves together":
        saves_together(monkeypatch, world.app, SAME_POST)
    before = world.app.max_position()
    answers = post_together([clone(world, client) for _ in range(SAME_POST)], path,
                            [post] * SAME_POST)
    assert len(set(answers)) == 1, sorted(set(answers), key=str)
    status, location = answers[0]
    assert status == 302 and location, answers[0]
    new = [e for _, e in world.app.read_log(before)]
    assert len(new) == 1, [type(e).__qualname__ for e in new]
    assert new[0].request_id == "the-same-post-50-times"


def test_identical_attendance_posts_all_answer_as_the_first(world: World, monkeypatch) -> None:
    """A researcher's attendance form (several participants, one transaction) sent 50
    times at once: one event per participant, every answer the first one's (no 500)."""
    client = world.client("researcher")
    meeting = world.app.get_programme(world.programme)["meetings"][0]["meeting_id"]
    path = f"/r/programmes/{world.programme}/meetings/{meeting}/attendance"
    fields = form_fields(client, path)
    post = {"csrf_token": fields["csrf_token"], "request_id": "the-same-attendance-post",
            "attended": [world.me, world.colleague]}
    original, arrived = world.app._record_batch, threading.Barrier(SAME_POST)

    def records_together(events: Any, **kwargs: Any) -> Any:  # every post has its events
        arrived.wait(TIMEOUT)                                  # before any saves
        return original(events, **kwargs)

    monkeypatch.setattr(world.app, "_record_batch", records_together)
    before = world.app.max_position()
    answers = post_together([clone(world, client) for _ in range(SAME_POST)], path,
                            [post] * SAME_POST)
    assert len(set(answers)) == 1, sorted(set(answers), key=str)
    assert answers[0][0] == 302 and answers[0][1], answers[0]
    new = sorted(str(e.originator_id) for _, e in world.app.read_log(before))
    assert new == sorted([world.me, world.colleague])
