"""A moment typed wrongly into the replay's "exact time" field re-renders the replay page
(HTML, 422) with a message at that field in the page's language, the typed text kept and
the forms usable, instead of a bare JSON problem document."""

from __future__ import annotations

import html as html_lib
import importlib
from urllib.parse import quote

from web_support import World


def test_a_mistyped_moment_is_explained_at_its_field(world: World) -> None:
    importlib.import_module("projections.runner").catch_up(world.app)
    client = world.client("researcher")
    path = f"/replay/{world.programme}?at={quote('25/9 2026 12:00')}"
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 422 and response.mimetype == "text/html"
    page = html_lib.unescape(response.get_data(as_text=True))
    assert '<html lang="sv">' in page
    error = page[page.index('id="at-time-error"'):]
    assert error.index("Skriv ett datum, eller ett datum och en tid, till exempel 2026-09-25 "
                       "eller 2026-09-25 12:00.") < error.index("</p>")
    assert 'id="advanced" open' in page and 'id="scrub-time"' in page
    field = page[page.index('id="at-time"'):]
    field = field[:field.index(">")]
    assert 'value="25/9 2026 12:00"' in field and 'aria-invalid="true"' in field
    assert 'aria-describedby="at-time-error"' in field
    assert "Digitalisering 2026" in page  # the replay itself, as it stands now
    client.get("/lang/en")
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 422 and response.mimetype == "text/html"
    assert ("Write a date, or a date and a time, like 2026-09-25 or 2026-09-25 12:00."
            in response.get_data(as_text=True))
    for fine in ("2026-09-25 12:00", "2026-09-25", "3"):
        response = client.get(f"/replay/{world.programme}?at={quote(fine)}")
        assert response.status_code == 200, fine
        assert 'id="at-time-error"' not in response.get_data(as_text=True)
