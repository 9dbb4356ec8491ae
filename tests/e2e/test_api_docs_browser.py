"""The API documentation as an evaluator opens it (issue 15, item 1): /api/v1/docs in
Chromium, Swagger UI served by the app itself (no other host is asked), no CSP violation or
console error, the progress operation with a real example from the demo, the token
instructions, the Authorize button, and both languages."""

from __future__ import annotations

import pytest

from api.app import close_framdrift, create_app


@pytest.fixture
def docs_site(store_url, live_server_factory):
    from tests.conftest import migrate_all

    migrate_all(store_url)
    flask = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": store_url})
    with live_server_factory(flask) as server:
        yield server.url
    close_framdrift(flask)


def _watch(page, base: str) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("request", lambda r: None if r.url.startswith((base, "data:"))
            else problems.append(f"asked another host: {r.url}"))
    return problems


def test_docs_page_shows_operations_examples_and_token_help(page, docs_site, screenshot):
    problems = _watch(page, docs_site)
    page.goto(f"{docs_site}/api/v1/docs?lang=en")
    page.get_by_role("heading", name="How to get and send a token").wait_for()
    assert "framdrift tokens create --role evaluator" in page.inner_text("#token")
    assert "Authorization: Bearer" in page.inner_text("#token")
    assert page.get_by_role("link", name="← Back to Framdrift").get_attribute("href") == "/"
    progress = page.locator(".opblock", has_text="/api/v1/programmes/{programme_id}/progress")
    progress.wait_for()
    assert page.locator(".opblock").count() >= 12
    page.locator("button.authorize").first.wait_for()
    progress.locator(".opblock-summary").click()
    example = progress.locator(".responses-wrapper .microlight, .responses-wrapper pre").first
    example.wait_for()
    text = progress.locator(".responses-wrapper").inner_text()
    assert '"weeks"' in text and '"reflections"' in text, text[:500]
    screenshot(page, "en")
    assert page.locator(".errors-wrapper").count() == 0, page.inner_text(".errors-wrapper")
    assert problems == [], problems


def test_docs_page_in_swedish_by_default(page, docs_site, screenshot):
    problems = _watch(page, docs_site)
    page.goto(f"{docs_site}/api/v1/docs")
    page.get_by_role("heading", name="Så får du och skickar en nyckel").wait_for()
    page.locator(".opblock", has_text="Framsteg per vecka").wait_for()
    assert page.locator("html").get_attribute("lang") == "sv"
    page.get_by_role("link", name="English").click()
    page.get_by_role("heading", name="How to get and send a token").wait_for()
    page.locator(".opblock", has_text="Progress by week").wait_for()
    screenshot(page, "sv-then-en")
    assert problems == [], problems
