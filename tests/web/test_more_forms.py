"""The record actions added for issue 6: amend and withdraw a reflection, revise and
reverse a decision, apply a capability; rename and merge development areas and close a
programme. Same rules as every form: validation with messages and kept input, CSRF, an
idempotency key, and ``expected_version`` conflicts explained (409), never a crash."""

from __future__ import annotations

from uuid import UUID

from web_support import World, form_fields

WITHDRAWN_SV = "Anteckningen har återkallats eller upphävts."


def _types(world: World, after: int) -> list[str]:
    return [type(e).__qualname__ for _pos, e in world.app.read_log(after)]


def test_amend_reflection_keeps_the_original_in_history(world: World) -> None:
    client = world.client("participant")
    rid = world.ids["reflection"]
    path = f"/p/reflections/{rid}/amend"
    page = client.get(path).get_data(as_text=True)
    assert "Ändra reflektionen" in page and "Min egen text</textarea>" in page
    fields = form_fields(client, path)
    before = world.app.max_position()
    invalid = client.post(path, data={**fields, "example": " ", "deficiency": "Behåll <mig>"})
    assert invalid.status_code == 422
    html = invalid.get_data(as_text=True)
    assert 'id="example-error"' in html and "Behåll &lt;mig&gt;</textarea>" in html
    data = {**fields, "example": "Min ändrade text", "deficiency": "En brist"}
    assert client.post(path, data=data).status_code == 302
    assert client.post(path, data=data).status_code == 302  # resent: recorded once
    assert _types(world, before) == ["Reflection.Amended"]
    assert world.app.get_record(rid)["example"] == "Min ändrade text"
    history = [type(e).__qualname__ for e in world.app.events.get(UUID(rid))]
    assert history == ["Reflection.Logged", "Reflection.Amended"]  # the original stays
    my_log = client.get("/p/").get_data(as_text=True)
    assert "Reflektion · ändrad" in my_log
    record = client.get(f"/p/records/{rid}").get_data(as_text=True)
    assert "Historik" in record and "loggad" in record


def test_amend_from_an_old_page_is_a_conflict_with_text_kept(world: World) -> None:
    client = world.client("participant")
    rid = world.ids["reflection"]
    path = f"/p/reflections/{rid}/amend"
    old = form_fields(client, path)
    first = form_fields(client, path)
    assert client.post(path, data={**first, "example": "Från en annan flik"}).status_code == 302
    before = world.app.max_position()
    response = client.post(path, data={**old, "example": "Min text som inte får försvinna"})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Någon annan ändrade anteckningen" in html
    assert "Min text som inte får försvinna</textarea>" in html
    assert world.app.max_position() == before


def test_withdraw_reflection_marks_it_in_my_log(world: World) -> None:
    client = world.client("participant")
    rid = world.ids["reflection"]
    fields = form_fields(client, f"/p/records/{rid}")
    fields = {k: v for k, v in fields.items() if k in ("csrf_token", "expected_version")}
    data = {**fields, "request_id": "withdraw-req-1", "reason": "fel vecka"}
    before = world.app.max_position()
    response = client.post(f"/p/records/{rid}/withdraw", data=data)
    assert response.status_code == 302
    assert client.post(f"/p/records/{rid}/withdraw", data=data).status_code == 302
    assert _types(world, before) == ["Reflection.Withdrawn"]
    assert "Reflektionen är återkallad" in client.get(response.location).get_data(
        as_text=True)
    assert "Reflektion · återkallad" in client.get("/p/").get_data(as_text=True)
    again = client.post(f"/p/records/{rid}/withdraw", data={
        **fields, "request_id": "withdraw-req-2", "expected_version": "2"})
    assert again.status_code == 422
    assert WITHDRAWN_SV in again.get_data(as_text=True)


def test_revise_and_reverse_a_decision(world: World) -> None:
    client = world.client("participant")
    did = world.ids["decision"]
    path = f"/p/decisions/{did}/revise"
    fields = form_fields(client, path)
    invalid = client.post(path, data={**fields, "statement": "", "rationale": "kvar"})
    assert invalid.status_code == 422 and 'id="statement-error"' in invalid.get_data(
        as_text=True)
    before = world.app.max_position()
    response = client.post(path, data={**fields, "statement": "Vi gör om, men annorlunda",
                                       "based_on": [world.ids["reflection"]],
                                       "units": ["social", "it"]})
    assert response.status_code == 302
    decision = world.app.get_record(did)
    assert decision["statement"] == "Vi gör om, men annorlunda"
    assert decision["units"] == ["social", "it"]
    assert "Beslut · reviderat" in client.get("/p/").get_data(as_text=True)
    step = form_fields(client, f"/p/records/{did}")
    step = {"csrf_token": step["csrf_token"], "expected_version": str(decision["version"])}
    empty = client.post(f"/p/records/{did}/reverse", data={**step, "request_id": "rev-req-1",
                                                            "reason": ""})
    assert empty.status_code == 422 and 'id="reason-error"' in empty.get_data(as_text=True)
    done = client.post(f"/p/records/{did}/reverse", data={**step, "request_id": "rev-req-1",
                                                           "reason": "Det blev fel"})
    assert done.status_code == 302
    assert _types(world, before) == ["Decision.Revised", "Decision.Reversed"]
    assert "upphävt" in client.get("/p/").get_data(as_text=True)


def test_apply_capability_in_a_unit(world: World) -> None:
    client = world.client("participant")
    cid = world.ids["capability"]
    fields = form_fields(client, f"/p/records/{cid}")
    base = {"csrf_token": fields["csrf_token"], "expected_version": fields["expected_version"]}
    bad = client.post(f"/p/records/{cid}/apply", data={**base, "request_id": "apply-req-1",
                                                       "unit": "nowhere", "note": "x"})
    assert bad.status_code == 422 and 'id="unit-error"' in bad.get_data(as_text=True)
    before = world.app.max_position()
    ok = client.post(f"/p/records/{cid}/apply", data={**base, "request_id": "apply-req-1",
                                                      "unit": "it", "note": "I IT-avdelningen"})
    assert ok.status_code == 302
    assert _types(world, before) == ["Capability.Applied"]
    page = client.get(ok.location).get_data(as_text=True)
    assert "Tillämpad i" in page and "IT-avdelningen: " in page


def test_researcher_renames_and_merges_areas(world: World) -> None:
    client = world.client("researcher")
    prefix = f"/r/programmes/{world.programme}"
    fields = form_fields(client, f"{prefix}/areas/a1/rename")
    empty = client.post(f"{prefix}/areas/a1/rename", data={**fields, "name": ""})
    assert empty.status_code == 422 and 'id="name-error"' in empty.get_data(as_text=True)
    before = world.app.max_position()
    assert client.post(f"{prefix}/areas/a1/rename", data={
        **fields, "name": "Politisk förankring och styrning"}).status_code == 302
    assert world.app.get_programme(world.programme)["development_areas"][0]["name"] == (
        "Politisk förankring och styrning")
    # a page opened before that change: explained conflict
    stale = client.post(f"{prefix}/areas/a1/rename", data={
        **fields, "request_id": "rename-req-2", "name": "Annat namn"})
    assert stale.status_code == 409
    assert "Annat namn" in stale.get_data(as_text=True)
    world.app.identify_development_area(world.programme, name="HR:s roll")
    fields = form_fields(client, f"{prefix}/areas/merge")
    same = client.post(f"{prefix}/areas/merge", data={**fields, "area_id": "a1", "into": "a1"})
    assert same.status_code == 422
    assert "Välj två olika utvecklingsområden." in same.get_data(as_text=True)
    assert client.post(f"{prefix}/areas/merge", data={
        **fields, "area_id": "a2", "into": "a1"}).status_code == 302
    assert _types(world, before) == ["Programme.DevelopmentAreaRenamed",
                                     "Programme.DevelopmentAreaIdentified",
                                     "Programme.DevelopmentAreasMerged"]
    page = client.get(prefix).get_data(as_text=True)
    assert "HR:s roll" not in page


def test_researcher_closes_the_programme_then_participants_cannot_write(world: World) -> None:
    researcher = world.client("researcher")
    path = f"/r/programmes/{world.programme}/close"
    fields = form_fields(researcher, path)
    unconfirmed = researcher.post(path, data=fields)
    assert unconfirmed.status_code == 422
    assert "Kryssa i rutan för att bekräfta." in unconfirmed.get_data(as_text=True)
    assert researcher.post(path, data={**fields, "confirm": "yes"}).status_code == 302
    assert researcher.post(path, data={**fields, "confirm": "yes"}).status_code == 302
    assert world.app.get_programme(world.programme)["closed"] is True
    participant = world.client("participant")
    form = form_fields(participant, "/p/reflections/new")
    response = participant.post("/p/reflections/new", data={**form, "week": "1",
                                                             "example": "efter stängning"})
    assert response.status_code == 422
    assert "Utbildningsinsatsen är avslutad." in response.get_data(as_text=True)


def test_new_forms_refuse_a_missing_csrf_token(world: World) -> None:
    client = world.client("participant")
    response = client.post(f"/p/reflections/{world.ids['reflection']}/amend",
                           data={"request_id": "no-csrf-req", "expected_version": "1",
                                 "example": "x"})
    assert response.status_code == 400
    researcher = world.client("researcher")
    response = researcher.post(f"/r/programmes/{world.programme}/participants/{world.me}/erase",
                               data={"request_id": "no-csrf-req", "pseudonym": "x"})
    assert response.status_code == 400
    assert world.app.get_participant(world.me)["erased"] is False
