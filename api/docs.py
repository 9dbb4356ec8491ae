"""The API's documentation: ``/api/v1/docs`` (an introduction in Swedish or English and the
interactive reference, Swagger UI), ``/api/v1/openapi.json`` (in the language asked for),
and ``/api/v1/problems/<slug>`` (what each error type means).

- Swagger UI's files come from the ``flask-swagger-ui`` package (PyPI) and are served by the
  app under ``/api/v1/docs/assets/`` (no CDN); its initializer is our static
  ``api/static/api-docs.js``, so the page's Content-Security-Policy allows scripts from
  'self' only (``DOCS_CSP``).
- Language: ``?lang=sv|en``, else ``Accept-Language``, else Swedish. It chooses the page's
  texts and the OpenAPI description's ``info.description`` and operation summaries.
- The OpenAPI document is the one flask-smorest builds from the code, with RST literals
  (````x````) turned into Markdown code (```x```), an ``operationId`` per operation, the
  error responses every operation can give (401, 403, 404, 406) and, for every 200, an
  example answered by this very code from the synthetic demo programme
  (:mod:`api.docs_examples`).
"""

from __future__ import annotations

import copy
import re
import threading
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    render_template,
    request,
    send_from_directory,
)

from api.errors import PROBLEM_MEDIA_TYPE, PROBLEM_TYPES

bp = Blueprint("api_docs_html", __name__, url_prefix="/api/v1")

LANGUAGES = ("sv", "en")
DEFAULT_LANGUAGE = "sv"

# Swagger UI needs its own stylesheet (style-src 'self'), inline style attributes set from
# script (CSSOM, not restricted by CSP), data: images (its icons) and fetch() of the spec.
DOCS_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'")

_ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "LICENSE", "VERSION")


def swagger_ui_dist() -> Path:
    import flask_swagger_ui

    return Path(flask_swagger_ui.__file__).resolve().parent / "dist"


def docs_language() -> str:
    """``?lang=``, else the best of ``Accept-Language``, else Swedish (as the API's labels:
    :func:`api.web.labels.pick_language`)."""
    from api.web.labels import pick_language

    lang = pick_language(request.args.get("lang"), request.accept_languages
                         if request.headers.get("Accept-Language") else None)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


# -- the OpenAPI description in a language ---------------------------------------------------

INFO_DESCRIPTION = {
    "en": """\
Read models of the action-research programmes in Framdrift: progress by week, the
timeline, lineage from reflection to capability, development areas, engagement,
collaborations between units, maturity, and the state as of any moment. Answers are
pseudonymous: participants appear as pseudonyms, never with names or what they wrote.

**Token.** Ask a researcher for an API token (they make one with
`framdrift tokens create --role evaluator`; it is shown once). Send it on every request as
`Authorization: Bearer fd_...` (here: the *Authorize* button). Tokens only read and are
accepted only under `/api/v1`.

**Paging.** `/programmes` comes a page at a time, oldest first: `limit` per page (default
50, at most 500); while more follow, the body's `next` and the header
`Link: <...>; rel="next"` give the next page's address, with an opaque `cursor` (a malformed one
is a 400). A programme planned while you page comes on a later page, so
every programme comes exactly once. The timeline is paged with `page` (from 1) and
`page_size`; the body has `total` and `pages`, `X-Total-Count` the total, and `Link` the
first, previous, next and last pages.

**Freshness.** Every answer carries `X-Framdrift-Position`, the log position the read models
had reached. `?min_position=N` (or the header `X-Framdrift-Min-Position: N`) waits up to
5 seconds until they reach N: 503 with `Retry-After` if they do not, 409 at once if the log
has no position N yet.

**Caching.** Every 200 has an `ETag`; send it back in `If-None-Match` and an unchanged
answer is a 304 without a body (under `/programmes` the server checks it before computing
the answer: polling with `If-None-Match` is cheap).

**Names beside keys.** Every key (`theme`, `unit`, `kind`, `stage`, ...) keeps its value and
has a sibling `<field>_label` with its name, in the language of `?lang=sv|en`, else of
`Accept-Language`, else Swedish (told in `Content-Language`).

**Exports.** The timeline and the maturity table also as `format=csv` (UTF-8 with a
byte-order mark; `sep=semicolon` for Excel in a Swedish locale), `format=xlsx` or
`format=ndjson`.

**Errors** are `application/problem+json` (RFC 9457): `type` (a relative URI, e.g.
`/api/v1/problems/not-found`, whose page explains it), `title`, `status`, `detail`,
`instance`, and `errors` with the reasons per parameter.

Introduction and examples: [/api/v1/docs](/api/v1/docs).""",
    "sv": """\
Läsmodeller av aktionsforskningsinsatserna i Framdrift: framsteg per vecka, tidslinjen,
härledning från reflektion till förmåga, utvecklingsområden, engagemang, samarbeten mellan
förvaltningar och bolag, mognad och läget vid valfri tidpunkt. Svaren är pseudonyma:
deltagarna syns med pseudonym, aldrig med namn eller det de har skrivit.

**Nyckel.** Be en forskare om en API-nyckel (den skapas med
`framdrift tokens create --role evaluator` och visas bara en gång). Skicka den med varje
begäran som `Authorization: Bearer fd_...` (här: knappen *Authorize*). Nycklar kan bara
läsa och gäller bara under `/api/v1`.

**Sidor.** `/programmes` kommer en sida i taget, äldsta först: `limit` per sida (standard
50, högst 500); så länge fler följer ger kroppens `next` och huvudet
`Link: <...>; rel="next"` nästa sidas adress, med en ogenomskinlig `cursor` (en felformad
ger 400). En utbildningsinsats som planeras medan du bläddrar kommer på en
senare sida, så varje insats kommer exakt en gång. Tidslinjen delas upp med `page` (från 1)
och `page_size`; kroppen har `total` och `pages`, `X-Total-Count` totalen och `Link`
första, föregående, nästa och sista sidan.

**Aktualitet.** Varje svar har `X-Framdrift-Position`, den position i loggen som
läsmodellerna hade nått. `?min_position=N` (eller huvudet `X-Framdrift-Min-Position: N`)
väntar upp till 5 sekunder tills de når N: 503 med `Retry-After` om de inte gör det, 409
direkt om loggen ännu inte har position N.

**Cachning.** Varje 200 har en `ETag`; skicka tillbaka den i `If-None-Match` så blir ett
oförändrat svar 304 utan kropp (under `/programmes` prövas den innan svaret räknas fram:
att fråga om och om igen med `If-None-Match` kostar lite).

**Namn bredvid nycklar.** Varje nyckel (`theme`, `unit`, `kind`, `stage`, ...) behåller sitt
värde och har ett syskon `<fält>_label` med namnet, på språket i `?lang=sv|en`, annars i
`Accept-Language`, annars svenska (anges i `Content-Language`).

**Export.** Tidslinjen och mognadstabellen även som `format=csv` (UTF-8 med
byte-ordningsmärke; `sep=semicolon` för Excel med svenska inställningar), `format=xlsx`
eller `format=ndjson`.

**Fel** är `application/problem+json` (RFC 9457): `type` (en relativ URI, t.ex.
`/api/v1/problems/not-found`, vars sida förklarar felet), `title`, `status`, `detail`,
`instance` och `errors` med orsakerna per parameter. En parameter som anropet inte tar
(t.ex. `as_of` där den inte finns, eller en felstavad `wek`) är ett 422 som namnger den,
aldrig tyst bortsedd; ett filter på en enhet eller vecka som utbildningsinsatsen inte har
är ett 404 som namnger det och räknar upp vad den har, inte en tom sida.

Introduktion och exempel: [/api/v1/docs](/api/v1/docs?lang=sv).""",
}

# Swedish summaries of the operations (keyed by method and path); English is the code's.
SUMMARIES_SV = {
    "get /api/v1/programmes": "Utbildningsinsatser: id, organisation, titel och veckor, en "
                              "sida i taget (äldsta först; `next` och Link rel=\"next\" "
                              "ger nästa sida).",
    "get /api/v1/programmes/{programme_id}": "En utbildningsinsats.",
    "get /api/v1/programmes/{programme_id}/timeline":
        "Insatsens händelser i ordning, filtrerade och uppdelade i sidor; export som "
        "CSV/NDJSON.",
    "get /api/v1/programmes/{programme_id}/progress":
        "Framsteg per vecka: reflektioner, beslut, experiment per steg och utfall, förmågor; "
        "med `as_of` som det såg ut vid en loggposition eller tidpunkt.",
    "get /api/v1/programmes/{programme_id}/lineage":
        "Härledningsgrafen: anteckningar (noder) och ”bygger på”-länkar (kanter).",
    "get /api/v1/programmes/{programme_id}/development-areas":
        "Utvecklingsområden: anteckningar, deltagare och enheter.",
    "get /api/v1/programmes/{programme_id}/engagement":
        "Engagemang per deltagare (pseudonym) och enhet: material, avstämningar, sessioner.",
    "get /api/v1/programmes/{programme_id}/collaborations":
        "Par av enheter som delar beslut eller experiment, per vecka.",
    "get /api/v1/programmes/{programme_id}/maturity":
        "Mognad per dimension (och enhet): före, efter och förändringen, på skalan i "
        "insatsens mätinstrument; även som fil (csv, xlsx, ndjson).",
    "get /api/v1/programmes/{programme_id}/maturity-instrument":
        "Insatsens mätinstrument för mognad (bara läsning): varje dimensions nyckel, namn "
        "på svenska och engelska, kategori och skala, och om den har bedömts.",
    "get /api/v1/tokens": "API-nycklar som har utfärdats (aldrig hemligheterna). Bara "
                          "forskare.",
    "get /api/v1/programmes/{programme_id}/state":
        "Insatsen som den var vid en tidpunkt: anteckningar och deras steg, härledning, framsteg, "
        "utvecklingsområden och samarbeten.",
    "get /api/v1/records/{record_id}/lineage":
        "En posts härledning: bakåt till reflektionerna en förmåga kom ur, framåt till vad "
        "den ledde till.",
}

# Swedish descriptions of the parameters (by name); English is the code's.
PARAMETERS_SV = {
    "lang": "Språk för namnen bredvid nycklarna (fälten *_label) och för sammanfattningar: sv "
            "eller en. Standard: det bästa ur huvudet Accept-Language, annars sv.",
    "min_position": "Vänta (högst några sekunder) tills läsmodellerna har nått den här "
                    "positionen i loggen, t.ex. den som en skrivning returnerade; 503 med "
                    "Retry-After om de inte hinner, 409 direkt om loggen ännu inte har "
                    "positionen. Tas också emot som huvudet X-Framdrift-Min-Position.",
    "programme_id": "Utbildningsinsatsens id.",
    "page": "Sidnummer, från 1 (standard 1).",
    "page_size": "Poster per sida (standard 50, högst 500).",
    "since": "Bara händelser vid eller efter den här tidpunkten.",
    "until": "Bara händelser vid eller före den här tidpunkten.",
    "participant": "Bara den här deltagaren (pseudonym, t.ex. P-1a2b3c).",
    "unit": "Bara den här enheten (nyckel).",
    "kind": "Bara händelser för den här sortens post.",
    "week": "Bara den här kursveckan.",
    "sort": "Sorteringsnyckel; ett inledande '-' sorterar fallande (standard position).",
    "format": "json (standard, i sidor), csv, xlsx (en Excel-arbetsbok med typade celler och "
              "fast rubrikrad) eller ndjson (export: alla matchande rader om inte page/"
              "page_size anges). Kan också väljas med Accept. CSV är UTF-8 med "
              "byte-ordningsmärke.",
    "sep": "Avgränsare i CSV: comma (standard) eller semicolon (det som Excel med svenska "
           "inställningar väntar sig).",
    "record_id": "Bara den här postens härledning.",
    "as_of": "En position i loggen (heltal) eller en ISO 8601-tidpunkt (UTC utan angiven "
             "förskjutning; ett datum betyder slutet av den dagen). Standard: nu.",
    "direction": "back: vad den kom ur; forward: vad den ledde till; both (standard).",
    "cursor": "Var sidan börjar: den ogenomskinliga markören i föregående sidas `next` (och "
              "huvudet Link); utan den, första sidan. En felformad markör ger 400.",
    "limit": "Utbildningsinsatser per sida (standard 50, högst 500).",
    "q": "Bara utbildningsinsatser vars titel eller organisation innehåller varje ord i "
         "detta (oavsett versaler); `total` är då antalet träffar. Behåll det med `cursor` "
         "(adressen i `next` gör det).",
}

# The blueprints' tags, named for people: (English name, Swedish name, Swedish description).
TAGS = {
    "api_v1": ("Read models", "Läsmodeller",
               "Läsmodeller av aktionsforskningsinsatser (pseudonyma; inga namn)."),
    "api_v1_replay": ("Replay and lineage", "Återspelning och härledning",
                      "Insatser som de var vid en tidpunkt och anteckningars härledning "
                      "(pseudonyma)."),
}

_RST_LITERAL = re.compile(r"``(.+?)``", re.DOTALL)
_ERROR_CONTENT = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
_COMMON_ERRORS = {
    "401": "No token, or a token that is unknown, revoked or malformed "
           "(WWW-Authenticate: Bearer).",
    "403": "The token's role may not read this.",
    "404": "No such programme or record (or hidden: consent withdrawn).",
    "406": "None of the media types in Accept can be given.",
}


def _markdown(text: str) -> str:
    return _RST_LITERAL.sub(lambda m: f"`{m.group(1)}`", text)


def _plain(text: str) -> str:
    return " ".join(_RST_LITERAL.sub(r"\1", text).split())


def _tidy(node: Any) -> Any:
    """RST literals as Markdown code in descriptions, plain text in summaries."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                out[key] = _markdown(value)
            elif key == "summary" and isinstance(value, str):
                out[key] = _plain(value)
            else:
                out[key] = _tidy(value)
        return out
    if isinstance(node, list):
        return [_tidy(v) for v in node]
    return node


OPERATION_IDS = {
    "get /api/v1/programmes": "listProgrammes",
    "get /api/v1/programmes/{programme_id}": "getProgramme",
    "get /api/v1/tokens": "listTokens",
    "get /api/v1/records/{record_id}/lineage": "getRecordLineage",
}


def _operation_id(method: str, path: str) -> str:
    """``getProgress`` for ``/programmes/{programme_id}/progress`` (unique per path)."""
    key = f"{method} {path}"
    if key in OPERATION_IDS:
        return OPERATION_IDS[key]
    words = [w for w in re.split(r"[/_-]+", path.removeprefix("/api/v1"))
             if w and not w.startswith("{") and w != "programmes"]
    return method + "".join(w[:1].upper() + w[1:] for w in words)


def build_spec(base: dict[str, Any], lang: str, examples: dict[str, Any]) -> dict[str, Any]:
    """The served OpenAPI document: ``base`` (flask-smorest's) in ``lang`` with examples."""
    spec = _tidy(copy.deepcopy(base))
    spec["info"]["description"] = INFO_DESCRIPTION[lang]
    spec["info"]["title"] = "Framdrift API"
    spec["info"]["x-language"] = lang
    names = {key: (en if lang == "en" else sv) for key, (en, sv, _d) in TAGS.items()}
    for tag in spec.get("tags", []):
        if tag["name"] in TAGS and lang == "sv":
            tag["description"] = TAGS[tag["name"]][2]
        tag["name"] = names.get(tag["name"], tag["name"])
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if method not in ("get", "head", "post", "put", "patch", "delete"):
                continue
            op["tags"] = [names.get(t, t) for t in op.get("tags", [])]
            if lang == "sv":
                for parameter in [*item.get("parameters", []), *op.get("parameters", [])]:
                    if parameter.get("name") in PARAMETERS_SV:
                        parameter["description"] = PARAMETERS_SV[parameter["name"]]
            key = f"{method} {path}"
            op.setdefault("operationId", _operation_id(method, path))
            if lang == "sv" and key in SUMMARIES_SV:
                op["summary"] = SUMMARIES_SV[key]
            responses = op.setdefault("responses", {})
            for response in responses.values():  # OpenAPI requires one on every response
                if "$ref" not in response:
                    response.setdefault("description", "OK")
            for code, text in _COMMON_ERRORS.items():
                if code == "403" and path != "/api/v1/tokens":
                    continue
                if code == "404" and "{" not in path:
                    continue
                responses.setdefault(code, {"description": text, "content": _ERROR_CONTENT})
            example = examples.get(key)
            ok = responses.get("200", {}).get("content", {}).get("application/json")
            if example is not None and ok is not None:
                ok["examples"] = {"demo": {
                    "summary": ("From the synthetic demo programme (lists shortened)"
                                if lang == "en" else
                                "Från den syntetiska demoinsatsen (listor förkortade)"),
                    "value": example,
                }}
    return spec


_lock = threading.Lock()


def served_spec(lang: str) -> dict[str, Any]:
    """This app's OpenAPI document in ``lang`` (built once per process and language)."""
    cache = current_app.extensions.setdefault("framdrift_openapi", {})
    if lang not in cache:
        from api import docs_examples

        examples = docs_examples.examples(current_app)  # outside the lock: it takes its own
        with _lock:
            if lang not in cache:
                api = current_app.extensions["framdrift_api"]
                cache[lang] = build_spec(api.spec.to_dict(), lang, examples)
    return cache[lang]


def openapi_json() -> Any:
    """Replaces flask-smorest's view of ``/api/v1/openapi.json``."""
    lang = docs_language()
    response = current_app.json.response(served_spec(lang))
    response.headers["Content-Language"] = lang
    response.vary.add("Accept-Language")
    return response


@bp.record_once
def _take_over_openapi_json(state: Any) -> None:
    endpoint = "api-docs.openapi_json"
    if endpoint in state.app.view_functions:
        state.app.view_functions[endpoint] = openapi_json


# -- pages -------------------------------------------------------------------------------------


def _page(template: str, **context: Any) -> Response:
    lang = context.setdefault("lang", docs_language())
    response = Response(render_template(template, **context), mimetype="text/html")
    response.headers["Content-Security-Policy"] = DOCS_CSP
    response.headers["Content-Language"] = lang
    response.vary.add("Accept-Language")
    return response


@bp.get("/docs")
def docs() -> Any:
    lang = docs_language()
    spec = served_spec(lang)
    operations = [(m.upper(), p, op.get("summary", "")) for p, item in spec["paths"].items()
                  for m, op in item.items() if isinstance(op, dict) and "responses" in op]
    return _page("api_docs.html", lang=lang, operations=operations,
                 swagger_version=_swagger_version())


@bp.get("/docs/assets/<name>")
def docs_asset(name: str) -> Any:
    if name not in _ASSETS:
        abort(404)
    response = send_from_directory(swagger_ui_dist(), name, max_age=3600)
    if name in ("LICENSE", "VERSION"):
        response.mimetype = "text/plain"
    return response


@bp.get("/problems")
def problems() -> Any:
    return _page("api_docs_problem.html", kinds=list(PROBLEM_TYPES.values()), one=None)


@bp.get("/problems/<slug>")
def problem_page(slug: str) -> Any:
    kind = PROBLEM_TYPES.get(slug)
    if kind is None:
        abort(404)
    return _page("api_docs_problem.html", kinds=[kind], one=kind)


def _swagger_version() -> str:
    try:
        return (swagger_ui_dist() / "VERSION").read_text().strip()
    except OSError:
        return ""
