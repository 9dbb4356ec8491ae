"""Dates on the pages: Swedish, and in English the British way (issue: a participant read
"logged 12/4/26, 2:49 PM" — the 4th of December or the 12th of April?)."""

from __future__ import annotations

from datetime import date

import pytest
from web_support import World, make_world

from api.web.setup import format_day, format_when


@pytest.fixture
def world(sqlite_app) -> World:
    return make_world(sqlite_app)


@pytest.mark.parametrize(("lang", "day", "when"), [
    ("en", "4 December 2026", "04/12/2026, 14:49"),
    ("sv", "4 december 2026", "2026-12-04 14:49"),
])
def test_dates_in_the_pages_language_day_before_month(world: World, lang: str, day: str,
                                                      when: str) -> None:
    with world.flask.test_request_context(headers={"Cookie": f"framdrift_lang={lang}"}):
        assert format_day(date(2026, 12, 4)) == day
        assert format_when("2026-12-04T13:49:00+00:00") == when  # shown in Stockholm time
        assert format_day("2026-12-04", "weekday") == (
            "Friday 4 December" if lang == "en" else "fredag 4 december")
