"""The as-of funnel where users reach it (issue 14, item 3): ``GET /api/v1/programmes/{id}/
progress?as_of=`` and the replay page's funnel, both from the running totals
(``asof.progress_at``), equal to the fold with the participants' current consent
(``asof.moment(...).progress()``) — also once a participant withdrew consent and another
was erased. On SQLite and PostgreSQL (``app`` fixture)."""

from __future__ import annotations

import random
import re
from urllib.parse import quote

import pytest
from api_support import assert_error_shape, catch_up, make_world, sign_in

from api.rest import progress_week
from projections import asof


@pytest.fixture
def world(app, monkeypatch):
    monkeypatch.setattr(asof, "TOTALS_EVERY", 37)  # totals rows inside a small programme
    return make_world(app, participants=12)


def _moments(world, n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    last = world.app.max_position()
    days = ["2026-09-01", "2026-09-25", "2026-10-10T12:30:00+02:00", "2026-11-30", "1999-01-01"]
    return [str(rng.randint(0, last + 3)) for _ in range(n)] + days + [str(last), "0"]


def _check_api(world, moments: list[str]) -> int:
    counted = 0
    for at in moments:
        body = world.get(f"/api/v1/programmes/{{pid}}/progress?as_of={quote(at)}").get_json()
        state = asof.moment(world.app.sql, world.programme_id, at)
        assert body["as_of"] == state.position, at
        expected = [w for w in map(progress_week, state.progress())
                    if any(v for k, v in w.items() if k not in ("week", "theme"))]
        assert [{k: v for k, v in w.items() if not k.endswith("_label")}
                for w in body["weeks"]] == expected, at
        counted += any(w["reflections"] for w in expected)
    return counted


def _hidden_and_erased(world) -> tuple[str, str]:
    """Two authors of records: one withdraws consent, the other is erased."""
    state = asof.state_at(world.app.sql, world.programme_id)
    authors = sorted({r["participant_id"] for r in state.records.values()})
    assert len(authors) >= 2
    return authors[0], authors[1]


def test_progress_as_of_equals_the_fold_with_consent(world):
    assert _check_api(world, _moments(world, 12, seed=1)) > 5
    # as of now: the same weeks and counts as the progress read model (weeks in which
    # nothing was counted are left out of both)
    now = world.get("/api/v1/programmes/{pid}/progress").get_json()
    at_now = world.get(f"/api/v1/programmes/{{pid}}/progress?as_of={world.app.max_position()}"
                       ).get_json()
    assert "as_of" not in now
    assert at_now["weeks"] == now["weeks"] and now["weeks"]

    from api.privacy_commands import erase_participant

    hidden, erased = _hidden_and_erased(world)
    before = world.get("/api/v1/programmes/{pid}/progress?as_of=2026-12-31").get_json()
    world.app.withdraw_consent(hidden)
    erase_participant(world.app, erased)
    catch_up(world.app)
    after = world.get("/api/v1/programmes/{pid}/progress?as_of=2026-12-31").get_json()
    assert after != before  # the author who withdrew is no longer counted ...
    assert _check_api(world, _moments(world, 12, seed=2)) > 5  # ... exactly as the fold


def test_progress_as_of_errors_name_the_field(world):
    for bad in ("soon", "2026-02-30", "-1", "1.5", "%202026-01-01", "12e3", "x" * 41):
        body = assert_error_shape(world.get(f"/api/v1/programmes/{{pid}}/progress?as_of={bad}"),
                                  422)
        assert "as_of" in body["errors"], (bad, body)
    assert_error_shape(world.get(
        "/api/v1/programmes/00000000-0000-0000-0000-000000000001/progress?as_of=5"), 404)
    assert_error_shape(world.client.get(
        f"/api/v1/programmes/{world.programme_id}/progress?as_of=5"), 401)


def test_openapi_documents_as_of_on_progress(world):
    spec = world.client.get("/api/v1/openapi.json").get_json()
    params = spec["paths"]["/api/v1/programmes/{programme_id}/progress"]["get"]["parameters"]
    as_of = next(p for p in params if p["name"] == "as_of")
    assert as_of["in"] == "query" and as_of["schema"]["pattern"] == asof.MOMENT_PATTERN
    assert "as_of" in spec["components"]["schemas"]["Progress"]["properties"]


def _page_funnel(world, query: str) -> list[tuple[str, ...]]:
    html = world.client.get(f"/replay/{world.programme_id}{query}").get_data(as_text=True)
    table = html[html.index('<table class="progress'):]
    table = table[:table.index("</table>")]
    table = re.sub(r'<span class="exp-narrow">.*?</span>', "", table)  # the phone's wording
    return [tuple(re.sub(r"<[^>]+>", "", cell).strip()
                  for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S))
            for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]]


def _fold_funnel(world, at: str) -> list[tuple[str, ...]]:
    state = asof.moment(world.app.sql, world.programme_id, at)
    return [(str(w["week"]), w["reflections"], w["decisions"], w["experiments"],
             w["capabilities"]) for w in state.progress()]


def test_replay_page_funnel_equals_the_fold(world):
    sign_in(world.client)
    hidden, _erased = _hidden_and_erased(world)
    world.app.withdraw_consent(hidden)
    catch_up(world.app)
    for at in ("300", "2026-10-01", str(world.app.max_position())):
        shown = _page_funnel(world, f"?at={quote(at)}")
        expected = _fold_funnel(world, at)
        assert len(shown) == len(expected)
        for cells, (week, refl, dec, exp, cap) in zip(shown, expected, strict=True):
            assert cells[0] == week and cells[2].split()[0] == str(refl)
            assert cells[3].split()[0] == str(dec) and cells[5] == str(cap)
            assert cells[4] == "/".join(str(exp[k]) for k in
                                        ("planned", "started", "evaluated", "concluded"))
