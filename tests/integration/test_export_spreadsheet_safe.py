"""Every CSV is safe to open in a spreadsheet (issue 10, item 5; OWASP "CSV Injection").

A programme whose every free-text field and every researcher-made name is a formula is
exported through every CSV path there is — the API's ``format=csv`` (and ``Accept:
text/csv``), the researcher's downloads (timeline, records, records with text), and
``framdrift export`` (timeline, records, with text, de-identified) — and no cell of any of
them begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return unless it is a
plain number; the formulas are there, shown as text (``'=...``).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from api_support import catch_up, flask_app, sign_in
from click.testing import CliRunner

from api import spreadsheet
from api.cli import cli
from domain.accounts import issue_token
from domain.context import acting_as

FIRST_DAY = date(2026, 9, 7)
# What a spreadsheet takes for a formula, written independently of api.spreadsheet.
SIGNS = "=+-@\t\r"
NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]+)?|[.,][0-9]+)(?:[eE][+-]?[0-9]+)?")


def formula(sign: str, tag: str) -> str:
    """A formula that names the field it was typed into."""
    return {"=": f'=HYPERLINK("http://evil.example/{tag}","{tag}")',
            "+": f"+cmd|' /C calc'!{tag}",
            "-": f"-2+3+{tag}",
            "@": f"@SUM(1+1)*{tag}"}[sign]


def _sign(i: int) -> str:
    return "=+-@"[i % 4]


TEXT_FIELDS = ["example", "deficiency", "solutions", "statement", "rationale", "aim",
               "change", "prediction", "measure", "result", "learning", "name",
               "description"]
TYPED = {f: formula(_sign(i), f) for i, f in enumerate(TEXT_FIELDS)}


def dangerous(cell: str) -> bool:
    return bool(cell) and cell[0] in SIGNS and not NUMBER.fullmatch(cell)


def build(app) -> str:
    """A programme where everything a person typed or named is a formula."""
    with acting_as("researcher:test"):
        pid = str(app.plan_programme(
            organisation=formula("+", "organisation"), title=formula("=", "title"),
            weeks=[{"number": n, "theme": formula(_sign(n), f"theme{n}"),
                    "starts_on": (FIRST_DAY + timedelta(weeks=n - 1)).isoformat(),
                    "ends_on": (FIRST_DAY + timedelta(weeks=n - 1, days=4)).isoformat()}
                   for n in (1, 2, 3)],
            units=[{"key": "=unitkey", "name": formula("=", "unitname")},
                   {"key": "-other", "name": formula("-", "othername")}]))
        app.register_unit(pid, key="@late", name=formula("@", "registered"))
        material = app.publish_material(pid, week=1, kind="film",
                                        title=formula("@", "material"))
        area = app.identify_development_area(pid, name=formula("=", "area"),
                                             description=formula("+", "areadesc"))
        app.assess_maturity(pid, phase="before", instrument=formula("-", "instrument"),
                            scores={"digital_capability": 2.0}, assessed_on=FIRST_DAY)
        me = str(app.enrol_participant(pid, name=formula("=", "participant"), email=None,
                                       role="manager", unit="=unitkey", consent=True))
        colleague = str(app.enrol_participant(pid, name=formula("+", "colleague"),
                                              email=None, role="expert", unit="-other",
                                              consent=True))
    reflection = app.log_reflection(me, week=1, material_id=material,
                                    example=TYPED["example"],
                                    deficiency=TYPED["deficiency"],
                                    solutions=TYPED["solutions"], development_areas=[area],
                                    shared=True)  # a colleague builds on it
    decision = app.make_decision(colleague, week=2, statement=TYPED["statement"],
                                 rationale=TYPED["rationale"], based_on=[reflection],
                                 units=["=unitkey", "-other"], shared=True)
    experiment = app.plan_experiment(me, week=2, aim=TYPED["aim"], change=TYPED["change"],
                                     prediction=TYPED["prediction"],
                                     measure=TYPED["measure"], based_on=[decision])
    app.start_experiment(experiment, week=2)
    app.record_observation(experiment, text=formula("=", "observation"))
    app.evaluate_experiment(experiment, result=TYPED["result"], learning=TYPED["learning"])
    app.conclude_experiment(experiment, outcome="adopt")
    capability = app.establish_capability(me, week=3, name=TYPED["name"],
                                          description=TYPED["description"],
                                          experiments=[experiment])
    app.apply_capability(capability, unit="-other", note=formula("@", "note"))
    catch_up(app)
    return pid


def check(name: str, text: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) > 1, (name, text[:300])
    bad = [cell for row in rows for cell in row if dangerous(cell)]
    assert not bad, f"{name}: cells a spreadsheet would evaluate: {bad[:5]}"
    return rows


def cells(rows: list[list[str]]) -> set[str]:
    return {cell for row in rows for cell in row}


def test_every_csv_output_path_is_spreadsheet_safe(app, store_url, tmp_path):
    pid = build(app)
    flask = flask_app(app)
    evaluator, _ = issue_token(app, role="evaluator", label="csv test")
    client = flask.test_client()
    outputs: dict[str, str] = {}

    # the API: format=csv and Accept: text/csv
    auth = {"Authorization": f"Bearer {evaluator}"}
    for name, path, headers in (
            ("api format=csv", f"/api/v1/programmes/{pid}/timeline?format=csv", auth),
            ("api Accept", f"/api/v1/programmes/{pid}/timeline",
             {**auth, "Accept": "text/csv"})):
        response = client.get(path, headers=headers)
        assert response.status_code == 200 and response.mimetype == "text/csv", name
        outputs[name] = response.get_data(as_text=True)

    # the researcher's downloads
    web = flask.test_client()
    sign_in(web, "researcher")
    for name, path in (("web timeline", f"/replay/{pid}/export/timeline.csv"),
                       ("web records", f"/replay/{pid}/export/records.csv"),
                       ("web records text", f"/replay/{pid}/export/records.csv?text=1")):
        response = web.get(path)
        assert response.status_code == 200, (name, response.get_data(as_text=True)[:300])
        outputs[name] = response.get_data(as_text=True)

    # framdrift export
    env = {"FRAMDRIFT_DATABASE_URL": store_url, "FRAMDRIFT_SECRET_KEY": "csv-test"}
    for name, extra in (("cli timeline", ["--what", "timeline"]),
                        ("cli records", ["--what", "records"]),
                        ("cli records text", ["--what", "records", "--with-text"]),
                        ("cli timeline deidentified", ["--what", "timeline", "--deidentified"]),
                        ("cli records deidentified", ["--what", "records", "--deidentified"])):
        out = tmp_path / f"{name.replace(' ', '-')}.csv"
        result = CliRunner().invoke(cli, ["export", "--programme", pid, "--format", "csv",
                                          "--out", str(out), *extra], env=env)
        assert result.exit_code == 0, (name, result.output)
        outputs[name] = out.read_text(encoding="utf-8")

    parsed = {name: check(name, text) for name, text in outputs.items()}

    # not vacuous: the formulas were exported, as text — the researcher-made unit key and
    # theme in every file, the area's name with the records, what participants wrote
    # in the files with text
    for name, rows in parsed.items():
        assert {"'=unitkey", "'" + formula("+", "theme1")} <= cells(rows), name
    for name in ("web records", "cli records", "cli records deidentified"):
        assert "'" + formula("=", "area") in cells(parsed[name]), name
    for name in ("web records text", "cli records text"):
        found = cells(parsed[name])
        for field, typed in TYPED.items():
            assert "'" + typed in found, (name, field)
    assert outputs["api format=csv"] == outputs["api Accept"]


@pytest.mark.parametrize(("typed", "written"), [
    ("=1+1", "'=1+1"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("  =1", "'  =1"),
    ("\n@x", "'\n@x"),
    ("＝1+1", "'＝1+1"),
    ("-", "'-"),
    # numbers and values stay as they are
    ("-3", "-3"), ("+4", "+4"), ("-2.5", "-2.5"), ("-0,5", "-0,5"), ("-1e3", "-1e3"),
    ("2026-09-07", "2026-09-07"), ("2026-09-07T10:00:00+00:00", "2026-09-07T10:00:00+00:00"),
    ("P-1a2b3c", "P-1a2b3c"), ("a=b", "a=b"), ("", ""), ("'=1", "'=1"),
])
def test_a_cell_is_prefixed_only_when_a_spreadsheet_would_evaluate_it(typed, written):
    assert spreadsheet.safe_text(typed) == written
    assert not dangerous(spreadsheet.safe_text(typed))


def test_every_kind_of_value_goes_through_the_rule():
    text = spreadsheet.write_csv(
        [{"a": ["=x", "y"], "b": {"k": "v"}, "c": -3, "d": None, "e": "@me"}],
        ["a", "b", "c", "d", "e"])
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[1] == ["'=x;y", '{"k": "v"}', "-3", "", "'@me"]


def check_xlsx(name: str, data: bytes) -> set[str]:
    """Every text cell of a workbook is a text cell (never a formula), and a text a
    spreadsheet would evaluate carries the quote-prefix flag; the texts, as written."""
    import openpyxl

    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    assert ws.max_row > 1 and ws.freeze_panes == "A2", name
    texts = set()
    for row in ws.iter_rows():
        for c in row:
            assert c.data_type != "f", (name, c.coordinate, c.value)
            if isinstance(c.value, str):
                assert c.data_type == "s", (name, c.coordinate, c.value)
                assert c.quotePrefix == spreadsheet.is_dangerous(c.value), (name, c.value)
                texts.add(c.value)
    return texts


def test_every_xlsx_output_path_keeps_formulas_as_text(app, store_url, tmp_path):
    """The same programme as .xlsx (API, downloads, framdrift export): the formulas are
    there exactly as typed, as text cells, so no spreadsheet evaluates them."""
    pid = build(app)
    flask = flask_app(app)
    evaluator, _ = issue_token(app, role="evaluator", label="xlsx test")
    outputs: dict[str, bytes] = {}
    response = flask.test_client().get(f"/api/v1/programmes/{pid}/timeline?format=xlsx",
                                       headers={"Authorization": f"Bearer {evaluator}"})
    assert response.status_code == 200 and response.mimetype == spreadsheet.XLSX_MEDIA_TYPE
    outputs["api"] = response.get_data()
    web = flask.test_client()
    sign_in(web, "researcher")
    for name, path in (("web timeline", f"/replay/{pid}/export/timeline.xlsx"),
                       ("web records text", f"/replay/{pid}/export/records.xlsx?text=1")):
        response = web.get(path)
        assert response.status_code == 200, (name, response.get_data(as_text=True)[:300])
        outputs[name] = response.get_data()
    env = {"FRAMDRIFT_DATABASE_URL": store_url, "FRAMDRIFT_SECRET_KEY": "xlsx-test"}
    for name, extra in (("cli records text", ["--what", "records", "--with-text"]),
                        ("cli records deidentified", ["--what", "records", "--deidentified"])):
        out = tmp_path / f"{name.replace(' ', '-')}.xlsx"
        result = CliRunner().invoke(cli, ["export", "--programme", pid, "--format", "xlsx",
                                          "--out", str(out), *extra], env=env)
        assert result.exit_code == 0, (name, result.output)
        outputs[name] = out.read_bytes()
    found = {name: check_xlsx(name, data) for name, data in outputs.items()}
    for name, texts in found.items():
        assert {"=unitkey", formula("+", "theme1")} <= texts, name
    for name in ("web records text", "cli records text"):
        assert set(TYPED.values()) <= found[name], name
    assert formula("=", "area") in found["cli records deidentified"]
