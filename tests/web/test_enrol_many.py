"""Enrolling several participants from a CSV list (issue #13, item 1): preview with the
reason at every bad row, nothing enrolled while a row is bad, all or none, idempotent.
Both stores (the ``world`` fixture)."""

from __future__ import annotations

import io
import re
from collections import Counter

from web_support import World, form_fields

from api.web.common import participants_of


def cohort(n: int = 30, sep: str = ",") -> list[str]:
    units = ["Socialförvaltningen", "IT-avdelningen", "bostad"]
    return [sep.join([f"Deltagare {i:02d}", f"d{i:02d}@exempel.se",
                      "chef" if i % 3 == 0 else "expert", units[i % 3]])
            for i in range(1, n + 1)]


def with_three_bad(rows: list[str]) -> list[str]:
    bad = list(rows)
    bad[3] = "Deltagare 04,inte-en-adress,expert,IT-avdelningen"      # line 5 with header
    bad[11] = "Deltagare 12,d12@exempel.se,chef,Miljöförvaltningen"   # line 13: unknown unit
    bad[20] = "Deltagare 21,D01@exempel.se,expert,bostad"            # line 22: duplicate of line 2
    return bad


def page(world: World) -> str:
    return f"/r/programmes/{world.programme}/participants/import"


def emails(world: World) -> list[str]:
    return [p["email"] for p in participants_of(world.app, world.programme) if p["email"]]


def post(client, world: World, fields: dict[str, str], text: str, action: str = "preview",
         **extra):
    return client.post(page(world), data={**fields, "csv": text, "action": action, **extra})


def test_thirty_rows_three_bad_preview_names_them_and_nothing_is_enrolled(world: World) -> None:
    client = world.client("researcher")
    fields = form_fields(client, page(world))
    text = "namn,e-post,roll,enhet\n" + "\n".join(with_three_bad(cohort())) + "\n"
    before = world.app.max_position()
    response = post(client, world, fields, text)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    bad = re.findall(r'<tr id="row-(\d+)" class="row-bad">', html)
    assert bad == ["5", "13", "22"]
    assert "Ange en e-postadress." in html
    assert "Okänd enhet ”Miljöförvaltningen”. Insatsens enheter: Socialförvaltningen, " \
           "IT-avdelningen, Bostadsbolaget." in html
    assert "Samma e-postadress som på rad 2." in html
    assert "27 kan skrivas in" in html and "3 med problem" in html
    # the good rows show their unit's name; the list stays in the text box for editing
    assert "<td data-label=\"Roll och enhet\">Expert · Bostadsbolaget</td>" in html
    assert "Visa de 27 raderna som kan skrivas in" in html
    assert "Deltagare 04,inte-en-adress,expert,IT-avdelningen" in html.split("<textarea")[1]
    # "Enrol" while rows are bad and "leave out" is not ticked: nothing is enrolled
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))
    response = post(client, world, fields, text, action="enrol")
    assert response.status_code == 422
    assert 'id="leave_out-error"' in response.get_data(as_text=True)
    assert world.app.max_position() == before
    # fixed: all 30 enrolled in one go, each with a link and a copy button
    text = "namn,e-post,roll,enhet\n" + "\n".join(cohort()) + "\n"
    response = post(client, world, fields, text, action="enrol")
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "30 deltagare inskrivna." in html
    assert len(re.findall(r'value="http://localhost/in/fdl_[^"]+"', html)) == 30
    assert len(re.findall(r'<button type="button" class="copy-button" data-copy="link-\d+"',
                          html)) == 30
    assert sorted(emails(world)) == sorted(["eva@example.org"] +
                                           [f"d{i:02d}@exempel.se" for i in range(1, 31)])
    # the same form again (a double click, a retry): nobody is enrolled twice
    again = post(client, world, fields, text, action="enrol")
    assert again.status_code == 200
    assert "redan skickad" in again.get_data(as_text=True)
    assert "fdl_" not in again.get_data(as_text=True)
    # the same list again, on a new form: every row is already enrolled
    fields = form_fields(client, page(world))
    position = world.app.max_position()
    response = post(client, world, fields, text, action="enrol")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert len(re.findall(r'<tr id="row-\d+" class="row-bad">', html)) == 30
    assert html.count("Redan inskriven i insatsen (samma e-postadress).") == 2 * 30  # + summary
    assert world.app.max_position() == position
    assert len(emails(world)) == 31


def test_bom_semicolon_swedish_header_file_upload(world: World) -> None:
    client = world.client("researcher")
    fields = form_fields(client, page(world))
    text = "Namn;E-post;Enhet;Roll\r\n" + "\r\n".join(
        f'"Efternamn; Förnamn {i}";f{i}@exempel.se;socialförvaltningen;Sakkunnig'
        for i in range(3)) + "\r\n"
    data = ("\ufeff" + text).encode("utf-8")
    response = client.post(page(world), data={
        **fields, "csv": "", "action": "preview",
        "file": (io.BytesIO(data), "deltagare.csv")}, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "Första raden lästes som rubrikrad." in html
    ready = html.split('class="table stack preview ready-rows"')[1].split("</table>")[0]
    assert len(re.findall(r'<tr id="row-\d+">', ready)) == 3
    assert "Rader med problem" not in html
    assert "<td data-label=\"Namn\">Efternamn; Förnamn 0</td>" in html
    assert "<td data-label=\"Roll och enhet\">Expert · Socialförvaltningen</td>" in html
    assert "Skriv in 3 deltagare" in html
    # the file's text is now in the text box: "Enrol" sends it from there
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))
    response = post(client, world, fields, text, action="enrol")
    assert response.status_code == 200
    people = {p["email"]: p for p in participants_of(world.app, world.programme)}
    assert people["f1@exempel.se"]["name"] == "Efternamn; Förnamn 1"
    assert people["f1@exempel.se"]["role"] == "expert"
    assert people["f1@exempel.se"]["unit"] == "social"


def test_leave_out_the_bad_rows(world: World) -> None:
    client = world.client("researcher")
    fields = form_fields(client, page(world))
    text = "\n".join(with_three_bad(cohort())) + "\n"
    response = post(client, world, fields, text, action="enrol", leave_out="yes")
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "27 deltagare inskrivna." in html
    assert len(emails(world)) == 1 + 27
    assert "inte-en-adress" not in emails(world)


def test_row_problems_each_with_its_reason(world: World) -> None:
    client = world.client("researcher")
    fields = form_fields(client, page(world))
    rows = [
        ",utan@namn.se,expert,it",                      # 1 missing name
        "Eva Igen,EVA@example.org,chef,social",         # 2 already enrolled (world's Eva)
        "Klocka\x07,k@exempel.se,expert,it",            # 3 control character
        "L" * 201 + ",l@exempel.se,expert,it",          # 4 too long
        "Roll Lös,r@exempel.se,direktör,it",            # 5 unknown role
        "För Många,m@exempel.se,expert,it,extra",       # 6 too many columns
        "Utan Post,,expert,it",                          # 7 e-mail missing
        "Bra Rad,bra@exempel.se,expert,it",             # 8 fine
    ]
    response = post(client, world, fields, "\n".join(rows))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.findall(r'<tr id="row-(\d+)" class="row-bad">', html) == [str(i) for i in range(1, 8)]
    for text in ("Namn: Fyll i det här fältet.",
                 "Redan inskriven i insatsen (samma e-postadress).",
                 "Innehåller tecken som inte kan sparas.",
                 "Högst 200 tecken (du skrev 201).",
                 "Skriv chef eller expert.",
                 "För många kolumner (5)",
                 "E-post: Fyll i det här fältet."):
        assert text in html, text
    table = html.split("<textarea")[0] + html.split("</textarea>")[1]
    assert "Klocka\ufffd" in table and "Klocka\x07" not in table  # shown, not echoed raw


def test_size_limits_and_encoding(world: World) -> None:
    client = world.client("researcher")
    fields = form_fields(client, page(world))
    before = world.app.max_position()
    many = "\n".join(f"N{i},n{i}@exempel.se,expert,it" for i in range(1001))
    response = post(client, world, fields, many)
    assert response.status_code == 422
    assert "Listan har fler än 1000 rader." in response.get_data(as_text=True)
    big = "x" * 1_000_001
    response = post(client, world, fields, big)
    assert response.status_code == 422
    assert "Listan är större än 1 MB." in response.get_data(as_text=True)
    latin1 = "Åsa Öberg,asa@exempel.se,expert,it\n".encode("latin-1")
    response = client.post(page(world), data={
        **fields, "csv": "", "action": "preview", "file": (io.BytesIO(latin1), "a.csv")},
        content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="file-error"' in html and "CSV UTF-8" in html
    big_file = b"N,n@exempel.se,expert,it\n" + b"x" * 1_000_000
    response = client.post(page(world), data={
        **fields, "csv": "", "action": "preview", "file": (io.BytesIO(big_file), "b.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 422
    assert 'id="file-error"' in response.get_data(as_text=True)
    response = post(client, world, fields, "   \n\n")
    assert response.status_code == 422
    assert world.app.max_position() == before


def test_english_page_and_csrf(world: World) -> None:
    client = world.client("researcher")
    client.get("/lang/en")
    html = client.get(page(world)).get_data(as_text=True)
    assert "Enrol several participants" in html and 'name="csrf_token"' in html
    fields = form_fields(client, page(world))
    fields.pop("csrf_token")
    response = post(client, world, fields, "\n".join(cohort(2)), action="enrol")
    assert response.status_code == 400
    assert len(emails(world)) == 1


def test_the_same_list_from_two_forms_at_once_enrols_each_person_once(world: World,
                                                                     monkeypatch) -> None:
    """Two researchers send the same list at the same moment, each from their own form.
    Both previews check the list before either is saved (a barrier holds them there); one
    enrols the cohort, the other conflicts on the programme's version, checks again and
    answers 422 naming the rows already enrolled; nobody is enrolled twice (ADR 0022)."""
    import threading

    from test_web_concurrency import clone, post_together

    from api import enrolment

    together, calls, real = threading.Barrier(2), Counter(), enrolment.enrolled_emails

    def checked(app, programme_id):
        found = real(app, programme_id)
        calls[threading.get_ident()] += 1
        if calls[threading.get_ident()] == 1:  # the preview's check, made after the page
            together.wait(30)                   # read the programme's version
        return found

    monkeypatch.setattr(enrolment, "enrolled_emails", checked)
    first = world.client("researcher")
    second = clone(world, first)
    text = "namn,e-post,roll,enhet\n" + "\n".join(cohort(5)) + "\n"
    forms = [{**form_fields(c, page(world)), "csv": text, "action": "enrol",
              "invite": "no"} for c in (first, second)]
    answers: dict[int, str] = {}
    real_post = type(first).post

    def keep(self, *args, **kwargs):
        response = real_post(self, *args, **kwargs)
        answers[response.status_code] = response.get_data(as_text=True)
        return response

    monkeypatch.setattr(type(first), "post", keep)
    statuses = sorted(status for status, _ in post_together([first, second], page(world), forms))
    assert statuses == [200, 422], statuses
    assert "Redan inskrivna i insatsen (av en lista som skickades samtidigt): rad 2, 3, 4, " \
           "5, 6." in answers[422]
    assert "5 deltagare inskrivna." in answers[200]
    # the loser's page is previewed again: its five rows now shown as problems, no
    # button to enrol them
    assert "5 med problem" in answers[422]
    assert re.findall(r'<tr id="row-(\d+)" class="row-bad">', answers[422]) == \
        ["2", "3", "4", "5", "6"]
    assert 'value="enrol"' not in answers[422]
    # two previews, the loser's check after its conflict, and its page's new preview
    assert sum(calls.values()) == 4
    assert sorted(emails(world)) == sorted(["eva@example.org"] +
                                           [f"d{i:02d}@exempel.se" for i in range(1, 6)])
