"""The replay chart for researchers (issue 12, items 2, 4 and 5), as served: the axis fits
the weeks, a week can be zoomed into, overlapping records are grouped (a group's records
are listed when it is selected), the chart's record links are one tab stop inside a group
(never inside ``role="img"``), the records are also a table, and play works without script
(``<noscript>`` meta refresh) as well as with it (``data-next``), forwards, backwards and at
three speeds. SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
from datetime import date
from typing import Any

import pytest
from api_support import make_world, sign_in

from projections import asof


def page(client: Any, path: str) -> str:
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return html.unescape(response.get_data(as_text=True))


def svg_of(body: str, svg_id: str = "replay-svg") -> str:
    return body.split(f'<svg id="{svg_id}"', 1)[1].split("</svg>", 1)[0]


def dots(svg: str) -> list[dict[str, str]]:
    """Each record link of a chart: its tabindex, href, record (a group's first) and count."""
    out = []
    for link in re.findall(r'<a href="[^"]*" class="dot-link[^>]*>.*?</a>', svg, re.S):
        out.append({"tabindex": re.search(r'tabindex="(-?\d)"', link)[1],
                    "href": re.search(r'href="([^"]*)"', link)[1],
                    "record": re.search(r'data-record="([^"]+)"', link)[1],
                    "kind": re.search(r'data-kind="([^"]+)"', link)[1],
                    "week": re.search(r'data-week="([^"]*)"', link)[1],
                    "count": int(re.search(r'data-count="(\d+)"', link)[1])
                    if 'data-count="' in link else 1})
    return out


@pytest.fixture
def world(app):
    world = make_world(app, participants=12)
    sign_in(world.client)
    return world, str(world.programme_id), asof.state_at(app.sql, str(world.programme_id))


def test_chart_is_one_tab_stop_groups_overlaps_and_lists_every_record_as_a_table(world):
    world, pid, state = world
    body = page(world.client, f"/replay/{pid}")
    assert not re.search(r'<svg[^>]*role="img"[^>]*>(?:(?!</svg>).)*<a ', body, re.S)
    for svg_id in ("replay-svg", "replay-svg-narrow"):
        svg = svg_of(body, svg_id)
        assert 'role="group"' in svg.split(">", 1)[0]
        links = dots(svg)
        assert [d["tabindex"] for d in links].count("0") == 1  # one tab stop
        # every record the chart shows is in exactly one symbol
        assert sum(d["count"] for d in links) == len(state.records)
    groups = [d for d in dots(svg_of(body)) if d["kind"] == "group"]
    assert groups and all(d["count"] > 1 for d in groups)  # the demo has records close by
    table = body.split('id="chart-table"', 1)[1].split("</table>", 1)[0]
    assert len(re.findall(r"<tr data-record=", table)) == len(state.records)
    # a group selected: its records listed, each a link that selects it
    group = groups[0]
    listed = page(world.client, group["href"])
    card = listed.split('id="group-card"', 1)[1].split("</article>", 1)[0]
    items = re.findall(r'<li><a class="swap" href="([^"]+)"', card)
    assert len(items) == group["count"]
    assert all("record=" in i and "group=" not in i for i in items)
    # the group is marked on the chart and holds the tab stop
    chosen_group = next(d for d in dots(svg_of(listed)) if d["record"] == group["record"])
    assert chosen_group["tabindex"] == "0"
    assert f'class="record group selected" data-record="{group["record"]}"' in svg_of(listed)
    chosen = re.search(r"record=([0-9a-f-]+)", items[0])[1]
    picked = page(world.client, items[0])
    assert f'data-record="{chosen}"' in picked.split('id="record-card"', 1)[1][:200]
    # the selected record's symbol carries the tab stop (arrows start from it)
    svg = svg_of(picked)
    holder = next(d for d in dots(svg) if d["tabindex"] == "0")
    assert holder["record"] == chosen or 'class="record group selected"' in svg


def test_axis_fits_the_weeks_and_a_week_can_be_zoomed_into(world):
    world, pid, state = world
    body = page(world.client, f"/replay/{pid}")
    svg = svg_of(body)
    width = int(re.search(r'viewBox="0 0 (\d+)', svg)[1])
    bands = [(float(x), float(w)) for x, w in re.findall(
        r'<rect class="band[^"]*" x="([\d.]+)" y="0" width="([\d.]+)"', svg)]
    assert len(bands) == len(state.programme["weeks"])
    # nothing happened after the last week: it ends at the chart's right edge (20 units)
    assert width - 21 <= bands[-1][0] + bands[-1][1] <= width
    # zoomed into week 2: one band over the whole plot, only week 2's records, days ticked
    zoomed = page(world.client, f"/replay/{pid}?week=2")
    svg = svg_of(zoomed)
    assert len(re.findall(r'<rect class="band', svg)) == 1
    assert {d["week"] for d in dots(svg) if d["kind"] != "group"} == {"2"}
    weeks = state.programme["weeks"]
    start, end = weeks[1]["starts_on"][:10], weeks[2]["starts_on"][:10]
    in_week = [r for r in state.records.values() if start <= r["created_at"][:10] < end]
    assert in_week and sum(d["count"] for d in dots(svg)) == len(in_week)
    assert {r["week"] for r in in_week} == {2}
    days = (date.fromisoformat(end) - date.fromisoformat(start)).days
    assert len(re.findall(r'<text class="tick"', svg)) == days  # its weekend too
    assert 'aria-current="true">V2<' in zoomed or 'aria-current="true">W2<' in zoomed
    # the week is kept by the other links and forms, and an unknown week shows every week
    assert "week=2" in re.search(r'id="step-previous"[^>]*href="([^"]+)"', zoomed)[1]
    assert 'name="week" value="2"' in zoomed.split('id="filters"', 1)[1]
    assert len(re.findall(r'<rect class="band', svg_of(
        page(world.client, f"/replay/{pid}?week=nine")))) == len(bands)


def test_labels_are_wrapped_not_cut(world):
    world, pid, state = world
    body = page(world.client, f"/replay/{pid}?lanes=participant")
    for svg_id in ("replay-svg", "replay-svg-narrow"):
        svg = svg_of(body, svg_id)
        labels = [" ".join(re.findall(r"<tspan[^>]*>([^<]*)</tspan>", t)) for t in
                  re.findall(r'<text class="(?:lane|band)-label"[^>]*>(.*?)</text>', svg)]
        assert labels and not [t for t in labels if "…" in t], svg_id
    units = {u["name"] for u in state.programme["units"]}
    lanes = svg_of(page(world.client, f"/replay/{pid}"))
    shown = {" ".join(re.findall(r"<tspan[^>]*>([^<]*)</tspan>", t)) for t in
             re.findall(r'<text class="lane-label">(.*?)</text>', lanes)}
    assert shown == units


def test_play_without_script_and_with_it_forwards_backwards_and_at_three_speeds(world):
    world, pid, state = world
    last = state.position
    hood = asof.neighbours(world.app.sql, pid, 1)
    first = hood["first"]["position"]
    step = max(1, (last - first) // 80)

    def player(body: str) -> str:
        return body.split('id="player"', 1)[1].split("</div>", 1)[0]

    def next_at(body: str) -> int:
        return int(re.search(r'data-next="[^"]*at=(\d+)', player(body))[1])

    at = first + 10 * step
    playing = page(world.client, f"/replay/{pid}?at={at}&play=1")
    assert re.search(r'<noscript><meta http-equiv="refresh" content="1;url=[^"]*at='
                     rf'{at + step}\b', playing)
    assert next_at(playing) == at + step and 'id="play-stop"' in player(playing)
    assert "<svg" in player(playing).split('id="play-stop"', 1)[1][:200]  # an icon, no glyph
    back = page(world.client, f"/replay/{pid}?at={at}&play=1&dir=back")
    assert next_at(back) == at - step and "dir=back" in player(back)
    fast = page(world.client, f"/replay/{pid}?at={at}&play=1&speed=2")
    assert next_at(fast) == at + 2 * step and 'data-delay="1000"' in player(fast)
    slow = page(world.client, f"/replay/{pid}?at={at}&play=1&speed=0.5")
    assert next_at(slow) == at + step and 'data-delay="2000"' in player(slow)
    assert 'content="2;url=' in slow
    assert next_at(page(world.client, f"/replay/{pid}?at={at}&play=1&speed=9")) == at + step
    # paused: no refresh, no next; play forwards and backwards offered
    paused = page(world.client, f"/replay/{pid}?at={at}")
    assert "http-equiv" not in paused and "data-next" not in player(paused)
    assert 'id="play"' in paused and 'id="play-back"' in paused
    # at "now": play backwards, or from the start; playing on stops there
    now = page(world.client, f"/replay/{pid}")
    assert 'id="play"' not in now and 'id="play-back"' in now
    assert re.search(rf'id="play-over"[^>]*href="[^"]*at={first}\b[^"]*play=1', now)
    assert "http-equiv" not in page(world.client, f"/replay/{pid}?play=1")
    # the log position slider is under "Advanced"; the date picker is not
    advanced = now.split('id="advanced"', 1)[1].split("</details>", 1)[0]
    assert 'id="at-range"' in advanced and 'type="date"' not in advanced
    assert re.search(r'<input type="date" id="at-date" name="at"', now)


def test_the_card_holds_the_lineage_and_the_phone_links_jump_to_it(world):
    world, pid, state = world
    cap = max((r["id"] for r in state.records.values() if r["kind"] == "capability"),
              key=lambda rid: len(asof.lineage(state, rid)["nodes"]))
    body = page(world.client, f"/replay/{pid}?record={cap}")
    assert 'id="selected-lineage"' not in body  # one card, not a card and a list
    card = body.split('id="record-card"', 1)[1].split("</article>", 1)[0]
    far = [n for n in asof.lineage(state, cap)["nodes"] if abs(n["depth"]) >= 2]
    assert far and len(re.findall(r"<li>", card.split('id="record-card-further"', 1)[1])) \
        == len(far)
    assert 'id="open-lineage"' in card
    narrow = dots(svg_of(body, "replay-svg-narrow"))
    assert narrow and all(d["href"].endswith("#selection") for d in narrow)
    assert not any(d["href"].endswith("#selection") for d in dots(svg_of(body)))
