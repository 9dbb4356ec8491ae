"""Enrolling a cohort from a CSV list (issue #13, item 1) on both stores: all or none in
one transaction, idempotent on retry, and ``framdrift participants import``."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from api import enrolment
from api.cli import cli
from domain import errors
from domain.accounts import verify_link
from domain.application import Framdrift
from domain.context import acting_as

UNITS = [{"key": "social", "name": "Socialförvaltningen"},
         {"key": "it", "name": "IT-avdelningen"},
         {"key": "bostad", "name": "Bostadsbolaget", "kind": "company"}]


def invoke(url: str, *args: str, stdin: bytes | None = None):
    return CliRunner().invoke(cli, list(args), env={"FRAMDRIFT_DATABASE_URL": url},
                              input=stdin, catch_exceptions=False)


@pytest.fixture
def world(store_url: str):
    assert invoke(store_url, "migrate").exit_code == 0
    app = Framdrift.from_url(store_url)
    with acting_as("researcher:test"):
        pid = str(app.plan_programme(organisation="Testby", title="Kohort", units=UNITS))
    yield store_url, app, pid
    app.close()


def cohort_lines(n: int = 30, sep: str = ";") -> list[str]:
    units = ["Socialförvaltningen", "IT-avdelningen", "bostad"]
    return [sep.join([f"Deltagare {i:02d}", f"d{i:02d}@exempel.se",
                      "chef" if i % 3 == 0 else "sakkunnig", units[i % 3]])
            for i in range(1, n + 1)]


def swedish_file(lines: list[str]) -> bytes:
    """As Excel in a Swedish locale saves "CSV UTF-8": BOM, semicolons, CRLF."""
    return ("\ufeffNamn;E-post;Roll;Enhet\r\n" + "\r\n".join(lines) + "\r\n").encode()


def enrolled(app: Framdrift, pid: str) -> list[str]:
    return sorted(enrolment.enrolled_emails(app, pid))


def test_cli_three_bad_rows_nothing_enrolled_then_all_once(world, tmp_path) -> None:
    url, app, pid = world
    lines = cohort_lines()
    lines[3] = "Deltagare 04;inte-en-adress;expert;IT-avdelningen"
    lines[11] = "Deltagare 12;d12@exempel.se;chef;Miljöförvaltningen"
    lines[20] = "Deltagare 21;D01@exempel.se;expert;bostad"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(swedish_file(lines))
    before = app.max_position()
    result = invoke(url, "participants", "import", str(bad), "--programme", pid)
    assert result.exit_code == 1
    assert "line 5: e-mail: Enter an e-mail address." in result.output
    assert ("line 13: unit: Unknown unit \"Miljöförvaltningen\". The programme's units: "
            "Socialförvaltningen, IT-avdelningen, Bostadsbolaget.") in result.output
    assert "line 22: e-mail: The same e-mail address as on line 2." in result.output
    assert "30 rows: 27 ready to enrol, 3 with problems (header row recognised)" in result.output
    assert "nothing enrolled" in result.output
    assert app.max_position() == before
    # fixed, checked with --dry-run: still nothing enrolled
    good = tmp_path / "good.csv"
    good.write_bytes(swedish_file(cohort_lines()))
    result = invoke(url, "participants", "import", str(good), "--programme", pid, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "dry run: 30 participant(s) would be enrolled" in result.output
    assert app.max_position() == before
    # enrolled: one line per participant with a working personal link
    result = invoke(url, "participants", "import", str(good), "--programme", pid,
                    "--base-url", "https://framdrift.example.org")
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.stdout.splitlines() if "\t" in line]
    assert len(rows) == 30
    assert rows[0][:2] == ["Deltagare 01", "d01@exempel.se"]
    for _name, _email, link in rows:
        assert link.startswith("https://framdrift.example.org/in/fdl_")
        info = verify_link(app, link.rsplit("/", 1)[1])
        assert info is not None and info.role == "participant"
    assert enrolled(app, pid) == [f"d{i:02d}@exempel.se" for i in range(1, 31)]
    people = {p["email"]: p for p in _participants(app, pid)}
    assert people["d03@exempel.se"]["role"] == "manager"
    assert people["d01@exempel.se"]["unit"] == "it"
    # the same file again: every row is already enrolled, nobody is enrolled twice
    position = app.max_position()
    result = invoke(url, "participants", "import", str(good), "--programme", pid)
    assert result.exit_code == 1
    assert result.output.count("Already enrolled in this programme") == 30
    result = invoke(url, "participants", "import", str(good), "--programme", pid,
                    "--leave-out-bad")
    assert result.exit_code == 1 and "nothing to enrol" in result.output
    assert app.max_position() == position
    assert len(_participants(app, pid)) == 30


def test_cli_leave_out_bad_and_stdin(world) -> None:
    url, app, pid = world
    text = "Ann Ek,ann@exempel.se,expert,it\nUtan Adress,,expert,it\n"
    result = invoke(url, "participants", "import", "-", "--programme", pid,
                    "--leave-out-bad", stdin=text.encode())
    assert result.exit_code == 0, result.output
    assert "line 2: e-mail: Fill in this field." in result.output
    assert enrolled(app, pid) == ["ann@exempel.se"]
    result = invoke(url, "participants", "import", "-", "--programme", pid,
                    stdin="Åsa,asa@exempel.se,expert,it\n".encode("latin-1"))
    assert result.exit_code == 1 and "CSV UTF-8" in result.output


def _participants(app: Framdrift, pid: str) -> list[dict]:
    from api.web.common import participants_of

    return participants_of(app, pid)


def test_enrol_is_all_or_none(world) -> None:
    _url, app, pid = world
    text = "\n".join(cohort_lines(5, ",")) + "\n"
    preview = enrolment.preview(text, UNITS)
    assert len(preview.good) == 5
    preview.good[4].data["unit"] = "gone"  # fails in the domain, after four enrolments
    before = app.max_position()
    with pytest.raises(errors.UnknownUnitError), acting_as("researcher:test"):
        enrolment.enrol(app, pid, preview.good, "req-all-or-none")
    assert app.max_position() == before
    assert enrolled(app, pid) == []
    assert enrolment.sent_before(app, "req-all-or-none") == []


def test_enrol_twice_with_one_request_id_enrols_once(world) -> None:
    _url, app, pid = world
    preview = enrolment.preview("\n".join(cohort_lines(4, ",")), UNITS)
    with acting_as("researcher:test"):
        first = enrolment.enrol(app, pid, preview.good, "req-twice-0001")
        position = app.max_position()
        second = enrolment.enrol(app, pid, preview.good, "req-twice-0001")
    assert first == second
    assert app.max_position() == position
    assert enrolment.sent_before(app, "req-twice-0001") == first
    assert len(_participants(app, pid)) == 4
