"""Participants' guided flow (issue 11): this week first, the guided cycle with its
Plan–Do–Study–Act stepper, building on colleagues' shared records, teams, decisions that
name units, and an ended session that is not a dead end. One body on SQLite and PostgreSQL
(the ``world`` fixture)."""

from __future__ import annotations

import re

from web_support import World, form_fields

from domain.accounts import end_sessions
from domain.context import acting_as


def _shared_reflection(world: World, text: str = "Kollegans delade insikt") -> str:
    with acting_as(f"participant:{world.colleague}"):
        return str(world.app.log_reflection(world.colleague, week=3, example=text,
                                            shared=True))


def test_home_starts_with_this_week_and_marks_material_in_one_tap(world: World) -> None:
    """The first thing on "My log" is the current week (theme, material with a one-tap
    mark, meetings, open experiments with their next step, what colleagues shared); the
    other weeks follow collapsed."""
    with acting_as("researcher:test"):
        world.app.publish_material(world.programme, week=3, kind="podcast",
                                   title="Organisering över gränser")
        world.app.hold_session(world.programme, week=3, held_on=__import__(
            "web_support").FIRST_DAY + __import__("datetime").timedelta(days=18))
    _shared_reflection(world)
    client = world.client("participant")
    html = client.get("/p/").get_data(as_text=True)
    this_week = html[html.index('id="this-week"'):html.index("</section>",
                                                              html.index('id="this-week"'))]
    assert "Vecka 3 · Organisering" in this_week
    assert "Organisering över gränser" in this_week and "Träff" in this_week
    assert "Kollegans delade insikt" in this_week and "Kim Kollega" in this_week
    assert "Fatta ett beslut utifrån det här" in this_week
    assert "Starta experimentet" in this_week  # the planned experiment's next step
    assert html.index('id="this-week"') < html.index("Vecka 1 · Digitalisering")
    assert re.search(r'<h3 id="week-1">.*?<details class="disclosure">', html, re.S)
    # one tap: a small form per item, back to this week
    fields = dict(re.findall(r'name="(csrf_token|request_id|material_id|back)" value="([^"]*)"',
                             this_week))
    response = client.post("/p/materials", data=fields)
    assert response.status_code == 302 and response.location.endswith("/p/#this-week")
    html = client.get("/p/").get_data(as_text=True)
    assert "✓ tagit del av" in html[html.index('id="this-week"'):]


def test_this_weeks_colleague_records_show_the_newest_five_and_fold_the_rest(
        world: World) -> None:
    """By week 5 a course group shares twenty records and more a week; listed in full they
    pushed this week's buttons (log a reflection, make a decision) ~5,000 px down a phone.
    The newest five are in the page, the others one tap away in "Show N more"."""
    for i in range(7):
        _shared_reflection(world, f"Delad insikt nummer {i}")
    html = world.client("participant").get("/p/").get_data(as_text=True)
    start = html.index('id="this-week"')
    this_week = html[start:html.index("</section>", start)]
    folded = re.search(r'<details class="disclosure">\s*<summary>Visa 2 till</summary>'
                       r'(.*?)</details>', this_week, re.S)
    assert folded, this_week
    shown = this_week.replace(folded.group(0), "")
    assert [i for i in range(7) if f"Delad insikt nummer {i}<" in shown] == [2, 3, 4, 5, 6]
    assert [i for i in range(7) if f"Delad insikt nummer {i}<" in folded.group(1)] == [0, 1]
    # the new-entry buttons come first in the week, above the lists that grow with it
    assert shown.index("Logga en reflektion") < shown.index("Material") < shown.index(
        "Delad insikt nummer")


def test_a_long_list_of_other_participants_starts_folded(world: World) -> None:
    """The team choice lists those who wrote what a record builds on first; the other
    participants are folded when there are more than eight (a course of 30 listed open put
    the rest of the experiment form 1,700 px further down a phone), and open when one of
    them is ticked (a form shown again with its message)."""
    def others_open(html: str) -> bool:
        team = html[html.index('id="team"'):html.index("</fieldset>", html.index('id="team"'))]
        return re.search(r"<details class=\"disclosure\"\s*open>", team) is not None

    client = world.client("participant")
    assert others_open(client.get("/p/experiments/new").get_data(as_text=True))  # 1 other
    with acting_as("researcher:test"):
        extra = [str(world.app.enrol_participant(world.programme, name=f"Deltagare {i}",
                                                 email=None, role="expert", unit="it"))
                 for i in range(8)]
    assert not others_open(client.get("/p/experiments/new").get_data(as_text=True))
    fields = form_fields(client, "/p/experiments/new")
    html = client.post("/p/experiments/new", data={  # no aim: shown again, the team kept
        **fields, "week": "3", "aim": "", "change": "Dela", "prediction": "Bättre",
        "measure": "Enkät", "team": [extra[5]], "units": ["it"]}).get_data(as_text=True)
    assert others_open(html) and f'value="{extra[5]}" checked' in html


def test_a_picker_at_its_limit_says_that_older_records_are_not_listed(
        world: World, monkeypatch) -> None:
    """The "based on" picker lists at most PICKER_LIMIT records (the newest of the kinds
    the form may build on); with more than that the form says so, with exactly that many
    nothing (none was left out)."""
    from api.web import participant

    client = world.client("participant")
    for i in range(3):
        _shared_reflection(world, f"Delad insikt nummer {i}")
    offered = len(re.findall(r'name="based_on" value=', client.get(
        "/p/decisions/new").get_data(as_text=True)))
    assert "senaste visas" not in client.get("/p/decisions/new").get_data(as_text=True)
    monkeypatch.setattr(participant, "PICKER_LIMIT", offered)
    form = client.get("/p/decisions/new").get_data(as_text=True)
    assert "senaste visas" not in form
    assert len(re.findall(r'name="based_on" value=', form)) == offered
    monkeypatch.setattr(participant, "PICKER_LIMIT", offered - 1)
    form = client.get("/p/decisions/new").get_data(as_text=True)
    assert f"Bara de {offered - 1} senaste visas." in form
    assert len(re.findall(r'name="based_on" value=', form)) == offered - 1


def test_a_decision_builds_on_a_colleagues_shared_reflection(world: World) -> None:
    """The reflection's page offers "make a decision from this"; the form comes with the
    link, the units of both authors ticked, and the picker lists shared records of any
    author and unit; saving can go straight on to planning an experiment."""
    shared = _shared_reflection(world)
    client = world.client("participant")
    page = client.get(f"/p/records/{shared}").get_data(as_text=True)
    assert f'href="/p/decisions/new?based_on={shared}"' in page
    assert "Kim Kollega" in page and "IT-avdelningen" in page
    assert "Ändra reflektionen" not in page  # only the author changes it
    form = client.get(f"/p/decisions/new?based_on={shared}").get_data(as_text=True)
    assert re.search(rf'value="{shared}" checked', form)
    assert re.search(r'name="units" value="social" checked', form)
    assert re.search(r'name="units" value="it" checked', form)
    assert world.ids["colleague_reflection"] not in form  # not shared: not offered
    assert world.ids["stranger_reflection"] not in form  # another programme
    fields = form_fields(client, "/p/decisions/new")
    response = client.post("/p/decisions/new", data={
        **fields, "week": "3", "statement": "Vi delar plattformen", "based_on": [shared],
        "units": ["social", "it"], "then": "experiment"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert "/p/experiments/new?based_on=" in response.location
    decision = response.location.rsplit("=", 1)[1]
    made = world.app.get_record(decision)
    assert made["based_on"] == [shared] and made["units"] == ["social", "it"]
    assert made["shared"] is False  # for the researchers only unless shared (ADR 0007)
    plan = client.get(response.location).get_data(as_text=True)
    assert "Vi delar plattformen</textarea>" in plan  # the aim starts from the decision
    assert "skrev det som detta bygger på" in plan  # the colleague is suggested for the team
    # a colleague's record that is not shared cannot be linked
    fields = form_fields(client, "/p/decisions/new")
    refused = client.post("/p/decisions/new", data={
        **fields, "week": "3", "statement": "Smygläsning",
        "based_on": [world.ids["colleague_reflection"]]})
    assert refused.status_code == 422
    assert 'id="based_on-error"' in refused.get_data(as_text=True)


def test_experiment_steps_one_at_a_time_and_team_members_take_part(world: World) -> None:
    """The stepper shows the current step and asks only for it: starting asks for no
    week, observation and evaluation never show together; a team member records steps;
    "adopt and establish a capability" leads to the capability form with the experiment
    ticked and what was learnt filled in."""
    client = world.client("participant")
    fields = form_fields(client, "/p/experiments/new")
    response = client.post("/p/experiments/new", data={
        **fields, "week": "3", "aim": "Gemensam data", "change": "Dela", "prediction": "Bättre",
        "measure": "Enkät", "team": [world.colleague], "units": ["social", "it"]})
    assert response.status_code == 302, response.get_data(as_text=True)
    eid = response.location.split("/p/records/")[1].split("?")[0]
    assert world.app.get_record(eid)["team"] == [world.colleague]
    page = client.get(f"/p/records/{eid}").get_data(as_text=True)
    assert 'class="step current" aria-current="step"><span class="step-name">Göra' in page
    start = page[page.index('/start"'):page.index("</form>", page.index('/start"'))]
    assert 'name="week"' not in start
    fields = form_fields(client, f"/p/records/{eid}")
    assert client.post(f"/p/records/{eid}/start", data=fields).status_code == 302
    assert world.app.get_record(eid)["started_week"] == 3
    # the colleague, a team member, records an observation
    kim = world.client("colleague")
    page = kim.get(f"/p/records/{eid}").get_data(as_text=True)
    assert 'name="text"' in page and 'name="result"' not in page
    fields = form_fields(kim, f"/p/records/{eid}")
    assert kim.post(f"/p/records/{eid}/observe", data={
        **fields, "text": "Det fungerade"}).status_code == 302
    page = client.get(f"/p/records/{eid}").get_data(as_text=True)
    assert 'name="result"' in page and 'name="text"' not in page  # Study now
    fields = form_fields(client, f"/p/records/{eid}")
    assert client.post(f"/p/records/{eid}/evaluate", data={
        **fields, "result": "Som väntat", "learning": "Dela tidigt"}).status_code == 302
    fields = form_fields(client, f"/p/records/{eid}")
    response = client.post(f"/p/records/{eid}/conclude",
                           data={**fields, "outcome": "adopt+capability"})
    assert response.status_code == 302
    assert response.location.endswith(f"/p/capabilities/new?experiment={eid}")
    assert world.app.get_record(eid)["outcome"] == "adopt"
    form = client.get(response.location).get_data(as_text=True)
    assert re.search(rf'name="experiments" value="{eid}" checked', form)
    assert "Dela tidigt</textarea>" in form
    # the team member may plan the next cycle too
    fields = form_fields(kim, f"/p/experiments/{eid}/next")
    response = kim.post(f"/p/experiments/{eid}/next", data={
        **fields, "week": "3", "aim": "Mer data", "change": "Dela mer", "prediction": "Ännu bättre",
        "measure": "Enkät"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert world.app.get_record(eid)["next_cycle_id"]


def test_an_ended_session_is_not_a_dead_end(world: World) -> None:
    """A form sent after the session ended (on the server, or the cookie expired) shows
    a plain page in the person's language with the way back, no status code; signing in
    again with the link returns to the page of the form."""
    client = world.client("participant")
    assert client.get("/lang/en?next=/p/").status_code == 302
    fields = form_fields(client, "/p/reflections/new")
    with acting_as(f"participant:{world.me}"):  # e.g. signed out on another device
        end_sessions(world.app, _link_id(client), seen=None)
    response = client.post("/p/reflections/new", data={**fields, "week": "3",
                                                       "example": "Lost?"})
    html = response.get_data(as_text=True)
    assert response.status_code == 401
    assert '<html lang="en">' in html and "You are no longer signed in" in html
    assert "kept on this device" in html and "personal sign-in link" in html
    assert "401" not in html and "Error code" not in html
    # an expired cookie: only the language cookie is left, the form token is gone
    expired = world.flask.test_client()
    expired.set_cookie("framdrift_lang", "en")
    response = expired.post("/p/reflections/new", data={**fields, "example": "Lost?"})
    html = response.get_data(as_text=True)
    assert "You are no longer signed in" in html and '<html lang="en">' in html
    assert "400" not in html and "reload" not in html
    # back with the link: to the form that was sent, in English
    back = expired.get(f"/in/{world.link}")
    assert back.status_code == 302 and back.location.endswith("/p/reflections/new")
    assert '<html lang="en">' in expired.get(back.location).get_data(as_text=True)


def _link_id(client) -> str:
    with client.session_transaction() as session:
        return session["principal"]["link"]


def test_sharing_and_the_team_are_changed_on_the_records_page(world: World) -> None:
    """The author shares a record from its page (an event; colleagues then see it and can
    join the experiment), adds and removes team members; only the author may."""
    me, kim = world.client("participant"), world.client("colleague")
    eid = world.ids["planned"]
    assert kim.get(f"/p/records/{eid}").status_code == 404  # not shared yet
    fields = form_fields(me, f"/p/records/{eid}")
    assert me.post(f"/p/records/{eid}/share", data={
        **fields, "visibility": "shared"}).status_code == 302
    assert world.app.get_record(eid)["shared"] is True
    page = kim.get(f"/p/records/{eid}").get_data(as_text=True)
    assert "Gå med i experimentet" in page and 'name="text"' not in page
    assert kim.post(f"/p/records/{eid}/share", data={
        **form_fields(kim, f"/p/records/{eid}"), "visibility": "researchers"}).status_code == 404
    assert kim.post(f"/p/records/{eid}/join",
                    data=form_fields(kim, f"/p/records/{eid}")).status_code == 302
    assert world.app.get_record(eid)["team"] == [world.colleague]
    page = kim.get(f"/p/records/{eid}").get_data(as_text=True)
    assert "Starta experimentet" in page  # a member takes it forward
    fields = form_fields(me, f"/p/records/{eid}")
    assert me.post(f"/p/records/{eid}/team", data={
        **fields, "member": world.colleague, "action": "remove"}).status_code == 302
    assert world.app.get_record(eid)["team"] == []
    fields = form_fields(me, f"/p/records/{eid}")
    assert me.post(f"/p/records/{eid}/team", data={
        **fields, "member": world.colleague, "action": "add"}).status_code == 302
    assert world.app.get_record(eid)["team"] == [world.colleague]
    fields = form_fields(me, f"/p/records/{eid}")
    assert me.post(f"/p/records/{eid}/share", data={
        **fields, "visibility": "researchers"}).status_code == 302
    assert world.app.get_record(eid)["shared"] is False
    assert kim.get(f"/p/records/{eid}").status_code == 200  # still in the team


def test_participants_problem_pages_name_no_status_code(world: World) -> None:
    """A participant who opens a record that is not theirs (nor shared) sees what happened
    and the way back to their log, without "Felkod 404"."""
    client = world.client("participant")
    response = client.get(f"/p/records/{world.ids['colleague_reflection']}",
                          headers={"Accept": "text/html"})
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "Sidan finns inte" in html
    # The words a person reads, not the markup: a CSRF token or asset hash may hold "404".
    text = re.sub(r"<[^>]*>", " ", html)
    assert "Felkod" not in text and "404" not in text
    assert 'href="/p/"' in html and "Till min logg" in html
