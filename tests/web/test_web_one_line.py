"""One-line fields are one line (issue 10, item 12).

A title, an organisation, a unit's, a participant's, a development area's or a
capability's name, a material's title, a theme, a maturity instrument: a CR/LF (or a tab,
NUL, a C1 control, U+2028) in one of them would forge extra lines in ``framdrift log`` and
in exports. The forms refuse them with a message at the field (the form re-rendered, 422,
nothing recorded); the domain refuses them too (``ControlCharacterError``), so the command
line and any other caller cannot write them either. Texts of several lines keep their line
breaks and refuse the other control characters.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from web_support import FIRST_DAY, World, form_fields

from api.cli import cli
from domain import errors
from domain.accounts import create_researcher, issue_token
from domain.context import acting_as

FORGED = "Title\r\nFORGED 2026-09-07 researcher Programme.Planned"
ONE_LINE_SV = "Skriv det här på en rad, utan radbrytningar."


def _researcher_forms(world: World) -> list[tuple[str, str, dict[str, str]]]:
    p = f"/r/programmes/{world.programme}"
    return [
        ("/r/programmes/new", "title", {"organisation": "Org", "first_day": "2026-09-07",
                                        "themes": "Tema", "units": ""}),
        ("/r/programmes/new", "organisation", {"title": "T", "first_day": "2026-09-07",
                                               "themes": "Tema", "units": ""}),
        (f"{p}/units/new", "name", {"key": "ny", "kind": "administration"}),
        (f"{p}/areas/new", "name", {"description": "Flera\nrader går bra"}),
        (f"{p}/materials/new", "title", {"week": "1", "kind": "film", "url": ""}),
        (f"{p}/participants/new", "name", {"email": "", "role": "manager", "unit": "it",
                                           "days": "7"}),
        (f"{p}/maturity/new", "instrument", {"phase": "before", "assessed_on": "2026-09-07"}),
    ]


BAD = [FORGED, "A\nB", "A\rB", "A\tB", "A\x00B", "A\x85B", "A\u2028B"]


def test_forms_refuse_line_breaks_in_one_line_fields(world: World) -> None:
    client = world.client("researcher")
    participant = world.client("participant")
    for bad in BAD:
        _refused(world, client, participant, bad)


def _refused(world: World, client, participant, bad: str) -> None:
    for path, name, extra in _researcher_forms(world):
        fields = form_fields(client, path)
        before = world.app.max_position()
        response = client.post(path, data={**fields, **extra, name: bad})
        html = response.get_data(as_text=True)
        assert response.status_code == 422, (path, name, response.status_code)
        assert f'id="{name}-error"' in html, (path, name)
        assert world.app.max_position() == before, (path, name)
        if "\n" in bad or "\r" in bad or "\t" in bad:
            assert ONE_LINE_SV in html, (path, name)
    fields = form_fields(participant, "/p/capabilities/new")
    before = world.app.max_position()
    response = participant.post("/p/capabilities/new", data={
        **fields, "week": "3", "name": bad, "description": "D",
        "experiments": [world.ids["concluded"]]})
    assert response.status_code == 422 and 'id="name-error"' in response.get_data(as_text=True)
    assert world.app.max_position() == before


def test_a_theme_with_a_tab_is_refused_at_the_themes_field(world: World) -> None:
    """Themes are typed one a line: a line with a tab or a control character is refused by
    the domain and shown at the themes field."""
    client = world.client("researcher")
    fields = form_fields(client, "/r/programmes/new")
    before = world.app.max_position()
    response = client.post("/r/programmes/new", data={
        **fields, "title": "T", "organisation": "O", "first_day": "2026-09-07",
        "themes": "Digitalisering\nStyr\tning", "units": ""})
    assert response.status_code == 422
    assert 'id="themes-error"' in response.get_data(as_text=True)
    assert world.app.max_position() == before


def test_multi_line_text_keeps_line_breaks_and_refuses_other_controls(world: World) -> None:
    client = world.client("participant")
    fields = form_fields(client, "/p/reflections/new")
    response = client.post("/p/reflections/new", data={
        **fields, "week": "2", "example": "Rad ett\r\nRad två\n\tindrag"})
    assert response.status_code in (302, 303)
    for bad in ("A\x00B", "A\x1bB", "A\x85B"):
        fields = form_fields(client, "/p/reflections/new")
        before = world.app.max_position()
        response = client.post("/p/reflections/new", data={**fields, "week": "2",
                                                           "example": bad})
        assert response.status_code == 422 and 'id="example-error"' in \
            response.get_data(as_text=True)
        assert world.app.max_position() == before


def test_the_domain_refuses_them_whoever_calls(world: World) -> None:
    """The guards are in the domain: a caller that skips the forms gets a named error at
    the field, and nothing is recorded."""
    app, pid = world.app, world.programme
    before = app.max_position()
    with acting_as("researcher:test"):
        calls = [
            ("title", lambda: app.plan_programme(organisation="O", title=FORGED,
                                                 first_day=FIRST_DAY)),
            ("organisation", lambda: app.plan_programme(organisation="O\nX", title="T",
                                                        first_day=FIRST_DAY)),
            ("weeks", lambda: app.plan_programme(
                organisation="O", title="T", weeks=[{
                    "number": 1, "theme": "Tema\r\nX", "starts_on": "2026-09-07",
                    "ends_on": "2026-09-11"}])),
            ("units", lambda: app.plan_programme(organisation="O", title="T",
                                                 first_day=FIRST_DAY,
                                                 units=[{"key": "k", "name": "A\nB"}])),
            ("units", lambda: app.register_unit(pid, key="k\n2", name="K")),
            ("units", lambda: app.register_unit(pid, key="k2", name="K\u2029L")),
            ("title", lambda: app.publish_material(pid, week=1, kind="film", title="M\rN")),
            ("url", lambda: app.publish_material(pid, week=1, kind="film", title="M",
                                                 url="https://x.example/\r\nX")),
            ("name", lambda: app.identify_development_area(pid, name="A\tB")),
            ("description", lambda: app.identify_development_area(pid, name="A",
                                                                  description="x\x00")),
            ("instrument", lambda: app.assess_maturity(
                pid, phase="before", instrument="I\nJ",
                scores={"digital_capability": 1.0})),
            ("name", lambda: app.enrol_participant(pid, name="Eva\nFORGED", email=None,
                                                   role="manager", unit="it")),
            ("email", lambda: app.enrol_participant(pid, name="Eva", email="e\x00@x.se",
                                                    role="manager", unit="it")),
        ]
        for field, call in calls:
            with pytest.raises(errors.ControlCharacterError) as caught:
                call()
                pytest.fail(f"accepted at {field}")
            assert caught.value.field == field, (field, caught.value.message)
    for field, call in [
        ("name", lambda: app.establish_capability(world.me, week=3, name="N\nM",
                                                  description="D",
                                                  experiments=[world.ids["concluded"]])),
        ("example", lambda: app.log_reflection(world.me, week=1, example="a\x00b")),
        ("statement", lambda: app.make_decision(world.me, week=1, statement="a\x1b[2Jb")),
        ("name", lambda: create_researcher(app, username="ny.forskare", name="Ny\nForskare",
                                           email=None, password="ett-långt-lösenord")),
        ("label", lambda: issue_token(app, role="evaluator", label="utv\r\nFORGED")),
    ]:
        with pytest.raises(errors.ControlCharacterError) as caught:
            call()
            pytest.fail(f"accepted at {field}")
        assert caught.value.field == field
    assert app.max_position() == before
    assert app.get_record(app.log_reflection(world.me, week=1, example="a\nb\tc"))[
        "example"] == "a\nb\tc"


def test_the_command_line_says_so(world: World) -> None:
    before = world.app.max_position()
    result = CliRunner().invoke(cli, [
        "participants", "invite", "--programme", world.programme, "--name", FORGED,
        "--role", "manager", "--unit", "it"],
        env={"FRAMDRIFT_DATABASE_URL": world.app.config.url})
    assert result.exit_code == 1
    assert "name: must be one line, without line breaks or control characters" in \
        result.output
    assert "Traceback" not in result.output
    assert world.app.max_position() == before
