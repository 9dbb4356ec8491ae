"""Marking several materials as taken part of in one form (issue #13, item 5); the one-tap
buttons stay. Both stores."""

from __future__ import annotations

import re

from web_support import World, form_fields


def materials_of(world: World) -> list[str]:
    return world.app.get_participant(world.me)["materials"]


def test_tick_several_and_send_once(world: World) -> None:
    client = world.client("participant")
    html = client.get("/p/materials").get_data(as_text=True)
    ids = re.findall(r'name="material_ids" value="([^"]+)"', html)
    assert len(ids) == 2  # both weeks' material, each with a box ...
    one_taps = re.findall(r'<button type="submit" name="material_id" value=', html)
    assert len(one_taps) == 2  # ... and its one-tap button
    assert "Spara de ikryssade som tagit del av" in html
    fields = form_fields(client, "/p/materials")
    before = world.app.max_position()
    response = client.post("/p/materials", data={**fields, "material_ids": ids})
    assert response.status_code == 302
    assert sorted(materials_of(world)) == sorted(ids)
    assert world.app.max_position() == before + 2
    assert "Noterat: du har tagit del av 2 material." in client.get("/p/materials").get_data(
        as_text=True)
    again = client.post("/p/materials", data={**fields, "material_ids": ids})  # resent
    assert again.status_code == 302
    assert world.app.max_position() == before + 2


def test_nothing_ticked_or_an_unknown_material_records_nothing(world: World) -> None:
    client = world.client("participant")
    fields = form_fields(client, "/p/materials")
    ids = re.findall(r'name="material_ids" value="([^"]+)"',
                     client.get("/p/materials").get_data(as_text=True))
    before = world.app.max_position()
    response = client.post("/p/materials", data=fields)
    assert response.status_code == 422
    assert "Kryssa i materialet som du har tagit del av." in response.get_data(as_text=True)
    response = client.post("/p/materials", data={**fields, "material_ids": [ids[0], "m99"]})
    assert response.status_code == 422
    assert world.app.max_position() == before  # all or none
    assert materials_of(world) == []


def test_one_tap_still_marks_one(world: World) -> None:
    client = world.client("participant")
    fields = form_fields(client, "/p/materials")
    ids = re.findall(r'name="material_ids" value="([^"]+)"',
                     client.get("/p/materials").get_data(as_text=True))
    response = client.post("/p/materials", data={**fields, "material_id": ids[1]})
    assert response.status_code == 302
    assert materials_of(world) == [ids[1]]
    html = client.get("/p/materials").get_data(as_text=True)
    assert "Noterat: du har tagit del av materialet." in html
    # one left: no boxes, just its button
    assert 'name="material_ids"' not in html
    assert len(re.findall(r'<button type="submit" name="material_id" value=', html)) == 1
