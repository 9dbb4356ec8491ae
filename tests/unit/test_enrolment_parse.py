"""Reading a CSV list of participants (api/enrolment.py): separators, quotes, headers."""

from __future__ import annotations

import pytest

from api import enrolment

UNITS = [{"key": "social", "name": "Socialförvaltningen"}, {"key": "it", "name": "IT"}]


def test_comma_with_quoted_fields_and_no_header() -> None:
    p = enrolment.preview('"Ek, Ann",ann@x.se,Manager,it\n"Bo ""Bosse"" Berg",bo@x.se,'
                          'EXPERT,socialförvaltningen\n', UNITS)
    assert not p.header and p.delimiter == ","
    assert [r.data for r in p.rows] == [
        {"name": "Ek, Ann", "email": "ann@x.se", "role": "manager", "unit": "it"},
        {"name": 'Bo "Bosse" Berg', "email": "bo@x.se", "role": "expert", "unit": "social"}]


def test_english_header_in_another_order_and_tabs() -> None:
    p = enrolment.preview("Unit\tE-mail\tName\tRole\nIT\tann@x.se\tAnn\tmanager\n", UNITS)
    assert p.header and p.delimiter == "\t"
    assert p.rows[0].data == {"name": "Ann", "email": "ann@x.se", "role": "manager",
                              "unit": "it"}
    assert p.rows[0].line == 2


def test_bom_and_semicolons_as_swedish_excel_writes() -> None:
    text = enrolment.decode("\ufeffnamn;e-post;roll;enhet\r\nÅsa;asa@x.se;chef;IT\r\n"
                            .encode())
    p = enrolment.preview(text, UNITS)
    assert p.header and p.delimiter == ";" and p.rows[0].ok
    assert p.rows[0].data["name"] == "Åsa"


def test_quoted_line_break_keeps_line_numbers_and_is_refused_in_a_name() -> None:
    p = enrolment.preview('Ann,ann@x.se,expert,it\n"Bo\nBerg",bo@x.se,expert,it\n'
                          'Cy,cy@x.se,expert,it\n', UNITS)
    assert [r.line for r in p.rows] == [1, 2, 4]
    assert "name" in p.rows[1].errors and p.rows[2].ok


def test_header_without_a_needed_column_is_refused() -> None:
    with pytest.raises(enrolment.ListError, match="role"):
        enrolment.preview("namn;e-post;enhet\nAnn;ann@x.se;IT\n", UNITS)


def test_blank_lines_are_skipped_and_rows_limited() -> None:
    assert len(enrolment.preview("\n\nAnn,ann@x.se,expert,it\n\n", UNITS).rows) == 1
    many = "".join(f"N{i},n{i}@x.se,expert,it\n" for i in range(enrolment.MAX_ROWS + 1))
    with pytest.raises(enrolment.ListError, match="1000"):
        enrolment.preview(many, UNITS)
    assert len(enrolment.preview(many.split("\n", 1)[1], UNITS).rows) == enrolment.MAX_ROWS
