"""The researchers' forms refuse what does not fit the programme, with a translated
message at the field (422) and nothing recorded: a meeting outside its week, a first day
that is not a Monday, a unit name or key the programme already has, an "after" assessment
dated before the programme began."""

from __future__ import annotations

from datetime import date

from web_support import World, form_fields

from domain.context import acting_as

FEB_1 = date(2027, 2, 1)  # a Monday: week 1 runs 1-5 February


def _programme(world: World) -> str:
    with acting_as("researcher:test"):
        return str(world.app.plan_programme(
            organisation="Exempelby kommun", title="Februari", first_day=FEB_1,
            units=[{"key": "socialforvaltningen", "name": "Socialförvaltningen"}]))


def _error(html: str, field: str) -> str:
    start = html.index(f'id="{field}-error"')
    return html[start:html.index("</", start)]


def test_a_meeting_must_be_dated_in_the_week_chosen(world: World) -> None:
    pid = _programme(world)
    client = world.client("researcher")
    path = f"/r/programmes/{pid}/meetings/new"
    before = world.app.max_position()
    for week, day in (("1", "2027-02-17"), ("1", "2027-01-31"), ("2", "2027-02-05")):
        response = client.post(path, data={**form_fields(client, path), "week": week,
                                           "kind": "check_in", "held_on": day})
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert f'value="{day}"' in html  # what was typed is kept
    assert "Välj ett datum i vecka 2, från 8 februari 2027 till 14 februari 2027." in \
        _error(html, "held_on")
    client.get("/lang/en")
    response = client.post(path, data={**form_fields(client, path), "week": "1",
                                       "kind": "session", "held_on": "2027-02-17"})
    assert response.status_code == 422
    assert "Pick a date in week 1, from 1 February 2027 to 7 February 2027." in \
        _error(response.get_data(as_text=True), "held_on")
    assert world.app.max_position() == before
    for day in ("2027-02-07", "2027-02-02"):  # Sunday and Monday to Sunday are fine
        response = client.post(path, data={**form_fields(client, path), "week": "1",
                                           "kind": "check_in", "held_on": day})
        assert response.status_code == 302


def test_a_weeks_meetings_are_listed_by_date(world: World) -> None:
    pid = _programme(world)
    with acting_as("researcher:test"):
        for day in (4, 2, 3):
            world.app.hold_check_in(pid, week=1, held_on=date(2027, 2, day))
    client = world.client("researcher")
    html = client.get(f"/r/programmes/{pid}").get_data(as_text=True)
    week = html[html.index('id="w-1"'):html.index('id="w-2"')]
    days = [week.index(f"{day} februari") for day in ("tisdag 2", "onsdag 3", "torsdag 4")]
    assert days == sorted(days)


def test_a_programme_starts_on_a_monday(world: World) -> None:
    client = world.client("researcher")
    path = "/r/programmes/new"
    plan = {"title": "Ny insats", "organisation": "Exempelby", "themes": "Tema ett\nTema två",
            "units": "Skolförvaltningen"}
    before = world.app.max_position()
    response = client.post(path, data={**form_fields(client, path), **plan,
                                       "first_day": "2027-02-03"})  # a Wednesday
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Välj en måndag: varje kursvecka går från måndag till fredag." in \
        _error(html, "first_day")
    assert 'href="#first_day"' in html and 'value="2027-02-03"' in html
    client.get("/lang/en")
    response = client.post(path, data={**form_fields(client, path), **plan,
                                       "first_day": "2027-02-07"})  # a Sunday
    assert response.status_code == 422
    assert "Choose a Monday: each course week runs Monday to Friday." in \
        _error(response.get_data(as_text=True), "first_day")
    assert world.app.max_position() == before
    response = client.post(path, data={**form_fields(client, path), **plan,
                                       "first_day": "2027-02-01"})
    assert response.status_code == 302
    week = world.app.get_programme(response.location.rsplit("/", 1)[1])["weeks"][1]
    assert (week["starts_on"], week["ends_on"]) == ("2027-02-08", "2027-02-12")


def test_a_unit_name_or_key_the_programme_has_is_refused_at_its_field(world: World) -> None:
    pid = _programme(world)
    client = world.client("researcher")
    path = f"/r/programmes/{pid}/units/new"
    before = world.app.max_position()
    response = client.post(path, data={**form_fields(client, path), "key": "soc2",
                                       "name": " socialFÖRVALTNINGEN ",
                                       "kind": "administration"})
    assert response.status_code == 422
    assert "Det finns redan en enhet med det namnet." in \
        _error(response.get_data(as_text=True), "name")
    response = client.post(path, data={**form_fields(client, path),
                                       "key": "socialforvaltningen", "name": "Skolan",
                                       "kind": "administration"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Det finns redan en enhet med den nyckeln: välj en annan." in _error(html, "key")
    assert "already exists" not in html
    client.get("/lang/en")
    response = client.post(path, data={**form_fields(client, path), "key": "soc2",
                                       "name": "Socialförvaltningen", "kind": "company"})
    assert "A unit has that name already." in _error(response.get_data(as_text=True), "name")
    response = client.post(path, data={**form_fields(client, path),
                                       "key": "socialforvaltningen", "name": "Skolan",
                                       "kind": "administration"})
    assert "A unit has that key already: choose another." in \
        _error(response.get_data(as_text=True), "key")
    assert world.app.max_position() == before
    assert list(world.app.get_programme(pid)["units"]) == [
        {"key": "socialforvaltningen", "name": "Socialförvaltningen", "kind": "administration"}]


def test_a_unit_listed_twice_when_planning_is_refused(world: World) -> None:
    client = world.client("researcher")
    path = "/r/programmes/new"
    data = {"title": "Ny insats", "organisation": "Exempelby", "first_day": "2027-02-01",
            "themes": "Tema", "units": "Socialförvaltningen\nIT\nsocialförvaltningen | bolag"}
    before = world.app.max_position()
    response = client.post(path, data={**form_fields(client, path), **data})
    assert response.status_code == 422
    assert ("socialförvaltningen står mer än en gång i listan: skriv varje enhet bara en "
            "gång.") in _error(response.get_data(as_text=True), "units")
    client.get("/lang/en")
    response = client.post(path, data={**form_fields(client, path), **data})
    assert "socialförvaltningen is in the list more than once: list each unit once." in \
        _error(response.get_data(as_text=True), "units")
    assert world.app.max_position() == before


def test_an_after_assessment_is_not_dated_before_the_programme(world: World) -> None:
    pid = _programme(world)
    client = world.client("researcher")
    path = f"/r/programmes/{pid}/maturity/new"
    data = {"phase": "after", "instrument": "DiMiOS", "assessed_on": "2026-01-01",
            "score_0": "40", "score_1": "55"}
    before = world.app.max_position()
    response = client.post(path, data={**form_fields(client, path), **data})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert ("En bedömning efter utbildningsinsatsen kan inte dateras före insatsens första "
            "dag, 1 februari 2027.") in _error(html, "assessed_on")
    assert 'value="2026-01-01"' in html
    client.get("/lang/en")
    response = client.post(path, data={**form_fields(client, path), **data})
    assert ("An assessment after the programme cannot be dated before its first day, "
            "1 February 2027.") in _error(response.get_data(as_text=True), "assessed_on")
    assert world.app.max_position() == before
    for phase, day in (("before", "2026-01-01"), ("after", "2027-02-01")):
        response = client.post(path, data={**form_fields(client, path), **data,
                                           "phase": phase, "assessed_on": day})
        assert response.status_code == 302
    assert [(a["phase"], a["assessed_on"]) for a in world.app.get_programme(pid)[
        "assessments"]] == [("before", "2026-01-01"), ("after", "2027-02-01")]
