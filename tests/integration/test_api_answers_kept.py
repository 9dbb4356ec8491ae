"""``/progress`` answers kept per process under their ETags (ADR 0026), on both stores:
the same ETag gives the same bytes without the query; a new event, another language or
another role is another answer; a revoked token is refused even when its answer is kept."""

from __future__ import annotations

import pytest
from api_support import assert_error_shape, catch_up, make_world

from domain.accounts import revoke_token, token_id_for
from projections import queries

PATH = "/api/v1/programmes/{pid}/progress"


@pytest.fixture
def world(app):
    return make_world(app, participants=4)


@pytest.fixture
def query_calls(monkeypatch):
    """The programme ids ``queries.progress`` was called for."""
    calls: list[str] = []
    real = queries.progress
    monkeypatch.setattr(queries, "progress",
                        lambda sql, pid, *a, **k: calls.append(str(pid)) or real(sql, pid, *a, **k))
    return calls


def _same(a, b) -> None:
    assert a.status_code == b.status_code == 200
    assert a.data == b.data
    assert [(k, v) for k, v in a.headers.items() if k != "Date"] == \
        [(k, v) for k, v in b.headers.items() if k != "Date"]


def test_the_same_etag_is_answered_with_the_same_bytes_without_the_query(world, query_calls):
    first = world.get(PATH)
    assert query_calls == [str(world.programme_id)]
    again = world.get(PATH)
    _same(first, again)
    assert query_calls == [str(world.programme_id)]  # not computed again
    world.flask.extensions.pop("framdrift_answers")  # computed afresh: the same bytes
    _same(first, world.get(PATH))
    assert len(query_calls) == 2


def test_a_new_event_is_a_new_answer(world, query_calls):
    before = world.get(PATH)
    world.app.log_reflection(world.participants[0], week=5, example="a synthetic example")
    catch_up(world.app)
    after = world.get(PATH)
    assert after.headers["ETag"] != before.headers["ETag"]
    assert len(query_calls) == 2
    count = {w["week"]: w["reflections"] for w in after.get_json()["weeks"]}
    old = {w["week"]: w["reflections"] for w in before.get_json()["weeks"]}
    assert count[5] == old.get(5, 0) + 1


def test_language_role_and_query_are_answers_of_their_own(world, query_calls):
    sv = world.get(PATH + "?lang=sv")
    en = world.get(PATH + "?lang=en")
    researcher = world.get(PATH + "?lang=en", world.researcher)
    assert sv.data != en.data and len(query_calls) == 3
    assert researcher.headers["ETag"] != en.headers["ETag"]
    _same(en, world.get(PATH + "?lang=en"))
    assert len(query_calls) == 3


def test_a_revoked_token_is_refused_though_its_answer_is_kept(world, query_calls):
    assert world.get(PATH).status_code == 200
    assert revoke_token(world.app, token_id_for(world.evaluator), "tests") is True
    assert_error_shape(world.get(PATH), 401)
    assert world.get(PATH, world.researcher).status_code == 200


def test_as_of_answers_are_not_kept(world, query_calls, monkeypatch):
    from projections import asof

    calls = []
    real = asof.progress_moment
    monkeypatch.setattr(asof, "progress_moment", lambda *a, **k: calls.append(a) or real(*a, **k))
    position = world.app.max_position()
    for _ in range(2):
        assert world.get(PATH + f"?as_of={position}").status_code == 200
    assert len(calls) == 2
