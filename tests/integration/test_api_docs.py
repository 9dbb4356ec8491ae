"""The API's documentation and its error documents (issue 15, items 1 and 5), on SQLite and
PostgreSQL: the OpenAPI document in the language asked for, with an operationId, the error
responses as problems and a real example from the demo for every read model; the docs page
served with its own assets under a CSP without inline script; every error status a problem
document whose ``type`` is a page that explains it."""

from __future__ import annotations

import json
import re

import pytest
from api_support import assert_error_shape, flask_app, make_world

from api.errors import PROBLEM_TYPES


@pytest.fixture
def world(app):
    return make_world(app, participants=4)


def _refs(node, found):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                found.add(value)
            else:
                _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)
    return found


def test_openapi_has_ids_examples_problems_and_no_rst(world):
    spec = world.client.get("/api/v1/openapi.json?lang=en").get_json()
    for ref in _refs(spec, set()):  # every reference resolves (Swagger UI shows no error)
        node = spec
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
    ids, operations = set(), 0
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            operations += 1
            ids.add(op["operationId"])
            responses = op["responses"]
            assert "problem+json" in json.dumps(responses["401"]), path
            for code in ("401", "409", "503"):
                assert "application/problem+json" in responses[code]["content"], (path, code)
            if path != "/api/v1/tokens":
                example = responses["200"]["content"]["application/json"]["examples"]["demo"]
                assert example["value"], path
    assert len(ids) == operations >= 12
    assert "``" not in json.dumps(spec)
    problem = spec["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "errors"} <= set(problem["required"])
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    progress = spec["paths"]["/api/v1/programmes/{programme_id}/progress"]["get"]
    weeks = progress["responses"]["200"]["content"]["application/json"]["examples"]["demo"]
    assert weeks["value"]["weeks"][0]["week"] == 1  # the demo's own answer


def test_openapi_is_valid_in_both_languages(world):
    """The document as served (examples and all) passes openapi-spec-validator."""
    from openapi_spec_validator import validate

    for lang in ("sv", "en"):
        validate(world.client.get(f"/api/v1/openapi.json?lang={lang}").get_json())


def test_openapi_language_follows_lang_and_accept_language(world):
    def description(**kwargs):
        answer = world.client.get("/api/v1/openapi.json", **kwargs)
        return answer.headers["Content-Language"], answer.get_json()["info"]["description"]

    assert description()[0] == "sv"
    assert description(query_string={"lang": "en"})[0] == "en"
    lang, text = description(headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert lang == "en" and "framdrift tokens create --role evaluator" in text
    lang, text = description(headers={"Accept-Language": "sv-SE"})
    assert lang == "sv" and "Be en forskare om en API-nyckel" in text
    sv = world.client.get("/api/v1/openapi.json?lang=sv").get_json()
    assert sv["paths"]["/api/v1/programmes/{programme_id}/progress"]["get"]["summary"] \
        .startswith("Framsteg per vecka")
    timeline = sv["paths"]["/api/v1/programmes/{programme_id}/timeline"]["get"]
    page = next(p for p in timeline["parameters"] if p["name"] == "page")
    assert page["description"].startswith("Sidnummer")
    programmes = sv["paths"]["/api/v1/programmes"]["get"]["parameters"]
    assert next(p for p in programmes if p["name"] == "q")["description"].startswith(
        "Bara utbildningsinsatser vars titel")


def test_docs_page_serves_its_assets_under_a_strict_csp(world):
    page = world.client.get("/api/v1/docs?lang=en")
    assert page.status_code == 200 and page.headers["Content-Language"] == "en"
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "unsafe" not in csp
    html = page.get_data(as_text=True)
    assert "<script>" not in html and "style=" not in html
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert not url.startswith(("http:", "https:", "//")), url
        answer = world.client.get(url.replace("&amp;", "&"))
        assert answer.status_code == 200, url
    assert "framdrift tokens create --role evaluator" in html
    assert world.client.get("/api/v1/docs/assets/index.css").status_code == 404


def test_every_error_status_is_a_problem_whose_type_explains_it(app):
    world = make_world(app, participants=2)
    unknown = "00000000-0000-4000-8000-000000000000"
    head = world.app.max_position()
    asks = {
        401: world.client.get("/api/v1/programmes"),
        403: world.get("/api/v1/tokens"),
        404: world.get(f"/api/v1/programmes/{unknown}/progress"),
        405: world.client.post("/api/v1/programmes"),
        409: world.get(f"/api/v1/programmes?min_position={head + 5}"),
        414: world.get("/api/v1/programmes?q=" + "x" * 9000),
        422: world.get("/api/v1/programmes/{pid}/timeline?page=0"),
    }
    slow = flask_app(world.app, MIN_POSITION_WAIT=0.05).test_client()
    from api import readmodels

    real = readmodels.wait_for
    readmodels.wait_for = lambda wanted, timeout: 0
    try:
        asks[503] = slow.get(f"/api/v1/programmes?min_position={head}",
                             headers=world.headers())
    finally:
        readmodels.wait_for = real
    for code, answer in asks.items():
        body = assert_error_shape(answer, code)
        assert body["instance"].startswith("/api/v1/programmes") or code == 403
        page = world.client.get(body["type"])
        assert page.status_code == 200 and page.mimetype == "text/html", body["type"]
        assert body["title"] in page.get_data(as_text=True)
    assert json.loads(asks[409].get_data())["type"] == "/api/v1/problems/position-beyond-log"
    assert asks[503].get_json()["type"] == "/api/v1/problems/position-not-reached"
    assert asks[422].get_json()["errors"]["page"]


def test_problem_pages_in_both_languages(world):
    listing = world.client.get("/api/v1/problems?lang=en").get_data(as_text=True)
    for kind in PROBLEM_TYPES.values():
        assert kind.uri in listing
    swedish = world.client.get("/api/v1/problems/unauthorized",
                               headers={"Accept-Language": "sv"})
    assert "Be en forskare om en" in swedish.get_data(as_text=True)
    assert world.client.get("/api/v1/problems/no-such-kind").status_code == 404
