"""Names beside keys and spreadsheet-ready exports (issue 15, items 2 and 3), on SQLite and
PostgreSQL: every API answer has ``<field>_label`` beside each key, in the language asked
for (Accept-Language or ``lang=``, default Swedish), summaries too; timeline and records
come as .xlsx that openpyxl reads back typed, and as CSV with a byte-order mark that splits
on ``;`` when asked; every download has a name that says what is inside and as of when."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from api_support import READ_ENDPOINTS, catch_up, make_world, sign_in
from click.testing import CliRunner

from api import spreadsheet
from api.cli import cli
from api.web.labels import LABELLED_FIELDS
from domain.context import acting_as
from domain.values import THEME_NAMES

BOM = b"\xef\xbb\xbf"
STOCKHOLM = ZoneInfo("Europe/Stockholm")


@pytest.fixture
def world(app):
    return make_world(app, participants=6)


def _labels_beside_keys(body, path):
    """Every key field (a key, a list of keys or null) has its ``_label`` sibling."""
    if isinstance(body, list):
        for item in body:
            _labels_beside_keys(item, path)
    elif isinstance(body, dict):
        for key, value in body.items():
            if key in LABELLED_FIELDS and (value is None or isinstance(value, str) or (
                    isinstance(value, list) and all(isinstance(v, str) for v in value))):
                assert f"{key}_label" in body, (path, key, body)
            _labels_beside_keys(value, path)


def _xlsx(response):
    return openpyxl.load_workbook(io.BytesIO(response.get_data())).active


def test_api_answers_name_their_keys_in_the_language_asked_for(world):
    """Swedish by default, English with Accept-Language: en or lang=en; summaries too; and
    labels never bring a participant's name into an evaluator's answer."""
    names = [world.app.get_participant(p)["name"] for p in world.participants]
    for path in (*READ_ENDPOINTS, "/api/v1/programmes/{pid}/state",
                 "/api/v1/programmes/{pid}/timeline?page_size=500"):
        for headers in ({}, {"Accept-Language": "en"}):
            response = world.get(path, headers=headers)
            assert response.status_code == 200, (path, response.get_json())
            assert "Accept-Language" in response.headers["Vary"]
            assert response.headers["Content-Language"] == ("en" if headers else "sv")
            _labels_beside_keys(response.get_json(), path)
            text = response.get_data(as_text=True)
            assert not [n for n in names if n and n in text], path

    def week1(headers=None, query=""):
        body = world.get("/api/v1/programmes/{pid}" + query, headers=headers or {}).get_json()
        return next(w for w in body["weeks"] if w["number"] == 1)

    theme = week1()["theme"]
    assert week1()["theme_label"] == THEME_NAMES[theme]["sv"]
    assert week1({"Accept-Language": "en-GB,en;q=0.9"})["theme_label"] == THEME_NAMES[theme]["en"]
    assert week1({"Accept-Language": "en"}, "?lang=sv")["theme_label"] == THEME_NAMES[theme]["sv"]

    path = "/api/v1/programmes/{pid}/timeline?kind=reflection&page_size=500"
    sv = world.get(path).get_json()["items"]
    en = world.get(path, headers={"Accept-Language": "en"}).get_json()["items"]
    assert sv and len(sv) == len(en)
    logged = [(s, e) for s, e in zip(sv, en, strict=True)
              if s["event_type"] == "Reflection.Logged"]
    s, e = logged[0]
    assert (s["event_type_label"], e["event_type_label"]) == ("Reflektion loggad",
                                                              "Reflection logged")
    assert s["kind_label"] == "Reflektion" and e["kind_label"] == "Reflection"
    assert s["summary"].startswith("reflektion ") and "loggad för vecka" in s["summary"]
    assert e["summary"].startswith("reflection ") and "logged for week" in e["summary"]
    assert s["unit"] == e["unit"] and s["unit_label"] == e["unit_label"] != s["unit"]

    # every summary of the whole timeline is written in Swedish from its template (a
    # summary without one would fall back to the event type's name)
    everything = "/api/v1/programmes/{pid}/timeline?page_size=500&page=%d"
    sv_rows, en_rows, page = [], [], 1
    while True:
        body = world.get(everything % page).get_json()
        sv_rows += body["items"]
        en_rows += world.get(everything % page + "&lang=en").get_json()["items"]
        if page >= body["pages"]:
            break
        page += 1
    untranslated = [(e["summary"], s["summary"]) for s, e in zip(sv_rows, en_rows, strict=True)
                    if s["summary"] in (e["summary"], s["event_type_label"])]
    assert not untranslated, untranslated[:5]

    engagement = world.get("/api/v1/programmes/{pid}/engagement?lang=en").get_json()
    assert {p["role_label"] for p in engagement["participants"]} <= {"Manager", "Expert"}
    maturity = world.get("/api/v1/programmes/{pid}/maturity").get_json()["items"]
    assert {m["dimension_label"] for m in maturity} <= {"Digital förmåga", "Digitalt arv"}
    assert world.get("/api/v1/programmes?lang=de").status_code == 422

    # a unit registered later is named as soon as the read models have its event
    with acting_as("researcher:test"):
        world.app.register_unit(world.programme_id, key="late_unit", name="Sen förvaltning")
    catch_up(world.app)
    late = world.get("/api/v1/programmes/{pid}/timeline?unit=late_unit").get_json()["items"]
    assert late and {r["unit_label"] for r in late} == {"Sen förvaltning"}


def test_openapi_documents_the_labels_and_the_xlsx_format(world):
    spec = world.client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    for name, schema in schemas.items():
        if name.startswith(("Problem", "Error")):  # RFC 9457's "type" is a URI, no key
            continue
        props = schema.get("properties", {})
        for key, prop in props.items():
            keys = prop.get("type") == "string" or (
                prop.get("type") == "array" and prop["items"].get("type") == "string")
            if key in LABELLED_FIELDS and keys:
                assert f"{key}_label" in props, (name, key)
    assert "theme_label" in schemas["TimelineRow"]["properties"]
    timeline = spec["paths"]["/api/v1/programmes/{programme_id}/timeline"]["get"]
    assert spreadsheet.XLSX_MEDIA_TYPE in timeline["responses"]["200"]["content"]
    params = {p["name"]: p for p in timeline["parameters"]}
    assert "xlsx" in params["format"]["schema"]["enum"]
    assert params["sep"]["schema"]["enum"] == ["comma", "semicolon"]
    assert params["lang"]["schema"]["enum"] == ["sv", "en"]


def test_api_exports_as_xlsx_and_as_csv_for_swedish_excel(world):
    path = "/api/v1/programmes/{pid}/timeline"
    rows = world.get(path + "?page_size=500&lang=en").get_json()["items"]
    book = world.get(path + "?format=xlsx")
    assert book.status_code == 200 and book.mimetype == spreadsheet.XLSX_MEDIA_TYPE
    same = world.get(path, headers={"Accept": spreadsheet.XLSX_MEDIA_TYPE})
    assert same.mimetype == spreadsheet.XLSX_MEDIA_TYPE
    ws = _xlsx(book)
    header = [c.value for c in ws[1]]
    assert header[:4] == ["position", "event_time", "event_type", "event_type_label"]
    assert all(c.font.b for c in ws[1]) and ws.freeze_panes == "A2"
    first = dict(zip(header, [c.value for c in ws[2]], strict=True))
    assert isinstance(first["position"], int) and first["position"] == rows[0]["position"]
    assert isinstance(first["event_time"], datetime) and first["event_time"].tzinfo is None
    moment = datetime.fromisoformat(rows[0]["event_time"]).astimezone(STOCKHOLM)
    assert first["event_time"] == moment.replace(tzinfo=None, microsecond=first[
        "event_time"].microsecond)
    weeks = [dict(zip(header, [c.value for c in r], strict=True))["week"]
             for r in ws.iter_rows(min_row=2)]
    assert any(isinstance(w, int) for w in weeks)
    assert ws.max_row - 1 == len(rows) or ws.max_row - 1 == int(book.headers["X-Total-Count"])
    assert first["theme_label"] in (None, *(n["sv"] for n in THEME_NAMES.values()))

    for headers, words in (({"Accept-Language": "sv"}, ("reflektion", "loggad")),
                           ({"Accept-Language": "en"}, ("reflection", "logged"))):
        csv_response = world.get(path + "?format=csv&sep=semicolon&kind=reflection",
                                 headers=headers)
        data = csv_response.get_data()
        assert data.startswith(BOM)
        table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""),
                                delimiter=";"))
        assert table[0][:4] == ["position", "event_time", "event_type", "event_type_label"]
        assert all(len(r) == len(table[0]) for r in table)
        summaries = [r[table[0].index("summary")] for r in table[1:]]
        assert any(all(w in s for w in words) for s in summaries), summaries[:3]
    comma = world.get(path + "?format=csv").get_data().decode("utf-8-sig")
    assert comma.splitlines()[0].startswith("position,event_time,")

    disposition = book.headers["Content-Disposition"]
    assert "filename*=UTF-8''framdrift-" in disposition and "-timeline-" in disposition
    assert disposition.split("filename=")[1].split(";")[0].strip('"').endswith(".xlsx")
    csv_name = world.get(path + "?format=csv").headers["Content-Disposition"]
    assert csv_name != disposition and ".csv" in csv_name


def test_downloads_and_cli_exports_as_xlsx(world, store_url, tmp_path):
    web = world.flask.test_client()
    sign_in(web, "researcher")
    base = f"/replay/{world.programme_id}/export"
    names = set()
    books = {}
    for what in ("timeline.xlsx", "records.xlsx", "records.xlsx?text=1", "timeline.csv",
                 "records.csv", "timeline.ndjson", "timeline.xlsx?at=2"):
        response = web.get(f"{base}/{what}")
        assert response.status_code == 200, (what, response.get_data(as_text=True)[:300])
        names.add(response.headers["Content-Disposition"])
        if what.startswith(("timeline.xlsx", "records.xlsx")) and "at=" not in what:
            books[what] = _xlsx(response)
    assert len(names) == 7  # every download its own file name
    page = web.get(f"/replay/{world.programme_id}").get_data(as_text=True)
    assert 'id="export-timeline-xlsx"' in page and 'id="export-records-xlsx"' in page

    records = books["records.xlsx"]
    header = [c.value for c in records[1]]
    assert {"kind_label", "theme_label", "unit_label", "stage_label"} <= set(header)
    row = dict(zip(header, [c.value for c in records[2]], strict=True))
    assert isinstance(row["created_at"], datetime) and isinstance(row["week"], int)
    assert row["kind_label"] in ("Reflektion", "Beslut", "Experiment", "Förmåga")
    timeline = books["timeline.xlsx"]
    header = [c.value for c in timeline[1]]
    assert {"type_label", "summary", "actor_label"} <= set(header)

    english = web.get(f"{base}/timeline.csv?lang=en&sep=semicolon").get_data()
    assert english.startswith(BOM)
    table = list(csv.DictReader(io.StringIO(english.decode("utf-8-sig"), newline=""),
                                delimiter=";"))
    assert {r["theme_label"] for r in table} & {n["en"] for n in THEME_NAMES.values()}
    # without lang=, the page's language: Swedish, then English once the page is switched
    summaries = {}
    for lang in ("sv", "en"):
        if lang == "en":
            web.get("/lang/en")
        data = web.get(f"{base}/timeline.csv").get_data().decode("utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(data, newline="")))
        summaries[lang] = {r["type"]: r["summary"] for r in rows}
    assert summaries["sv"]["Programme.Planned"].startswith("utbildningsinsatsen '")
    assert summaries["en"]["Programme.Planned"].startswith("programme '")

    env = {"FRAMDRIFT_DATABASE_URL": store_url, "FRAMDRIFT_SECRET_KEY": "xlsx-test"}
    out = tmp_path / "records.xlsx"
    result = CliRunner().invoke(cli, ["export", "--programme", str(world.programme_id),
                                      "--what", "records", "--format", "xlsx", "--lang", "en",
                                      "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    ws = openpyxl.load_workbook(out).active
    header = [c.value for c in ws[1]]
    row = dict(zip(header, [c.value for c in ws[2]], strict=True))
    assert row["kind_label"] in ("Reflection", "Decision", "Experiment", "Capability")
    assert isinstance(row["position"], int) and ws.freeze_panes == "A2"
    out = tmp_path / "timeline.csv"
    result = CliRunner().invoke(cli, ["export", "--programme", str(world.programme_id),
                                      "--what", "timeline", "--sep", "semicolon",
                                      "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(BOM)
    table = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""),
                                delimiter=";"))
    assert table and "type_label" in table[0] and "Utbildningsinsats planerad" in {
        r["type_label"] for r in table}
    assert json.dumps(table[0], ensure_ascii=False)


def test_file_names_say_what_and_as_of_when():
    name = spreadsheet.file_name("Digitalt ledarskap – Åre kommun", "timeline",
                                 "2026-12-02T08:30:00+00:00", "csv", 42)
    assert name == "framdrift-digitalt-ledarskap-are-kommun-timeline-2026-12-02T0930-p42.csv"
    disposition = spreadsheet.content_disposition("framdrift-åre.csv")
    assert disposition == ("attachment; filename=\"framdrift-_re.csv\"; "
                           "filename*=UTF-8''framdrift-%C3%A5re.csv")


def test_pages_name_maturity_dimensions(world):
    """The researcher's pages use the same names (api.web.labels) as the API."""
    web = world.flask.test_client()
    sign_in(web, "researcher")
    base = f"/r/programmes/{world.programme_id}"
    for path in (base, f"{base}/maturity/new"):
        page = web.get(path).get_data(as_text=True)
        assert "Digital förmåga" in page, path
        assert "digital_capability:" not in page and "Score: digital" not in page, path
