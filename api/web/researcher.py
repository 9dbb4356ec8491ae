"""The researchers' pages (``/r/...``): plan programmes, enrol participants and issue
their sign-in links, record attendance, identify development areas, assess maturity."""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta
from typing import Any

import marshmallow as ma
from flask import abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from api.app import framdrift_app
from api.web import bp, instrument
from api.web.common import (
    actor,
    base_url,
    get_programme_or_404,
    live_areas,
    new_request_id,
    participants_of,
    programmes_page,
    render,
    researcher_required,
)
from api.web.forms import (
    AreaForm,
    AttendanceForm,
    CloseForm,
    ConsentForm,
    EnrolForm,
    EraseForm,
    LinkForm,
    MaterialPublishForm,
    MeetingForm,
    MergeAreasForm,
    ProgrammeForm,
    RenameAreaForm,
    UnitForm,
    domain_errors_for,
    load,
)
from api.web.participant import handle_form, typed
from domain import errors as domain_errors
from domain.accounts import course_link_days, issue_link, list_links, revoke_links
from domain.context import acting_as, now
from domain.model import record_id_for
from domain.values import DEFAULT_THEMES, THEME_NAMES


def _programme(programme_id: str) -> dict[str, Any]:
    programme = get_programme_or_404(framdrift_app(), programme_id)
    g.programme = programme
    return programme


def _participant(programme: dict[str, Any], participant_id: str) -> dict[str, Any]:
    try:
        person = framdrift_app().get_participant(participant_id)
    except domain_errors.NotFoundError:
        abort(404)
    if person["programme_id"] != programme["id"]:
        abort(404)
    return person


@bp.get("/r/")
@researcher_required
def programmes() -> Any:
    page = programmes_page(framdrift_app(), live=True)
    return render("r_programmes.html", programmes=page["items"], page=page)


# ------------------------------------------------------------------- a new programme


def theme_key(text: str) -> str:
    wanted = text.strip().casefold()
    for key, names in THEME_NAMES.items():
        if wanted in (key, names["sv"].casefold(), names["en"].casefold()):
            return key
    return text.strip()


def slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:40] or "unit"


def parse_units(text: str) -> list[dict[str, str]]:
    units, keys = [], set()
    for line in text.splitlines():
        name, _sep, kind = line.partition("|")
        name, kind = name.strip(), kind.strip().lower()
        if not name:
            continue
        key = slug(name)
        n = 2
        while key in keys:
            key, n = f"{slug(name)[:36]}-{n}", n + 1
        keys.add(key)
        units.append({"key": key, "name": name,
                      "kind": "company" if kind in ("company", "bolag") else "administration"})
    return units


@bp.route("/r/programmes/new", methods=["GET", "POST"])
@researcher_required
def new_programme() -> Any:
    app = framdrift_app()

    def submit(d: dict[str, Any]) -> Any:
        themes = [theme_key(t) for t in d["themes"].splitlines() if t.strip()]
        if not 1 <= len(themes) <= 20:
            raise domain_errors.InvalidValueError(str(_l("Give 1 to 20 weeks, one theme a "
                                                         "line.")), field="themes")
        weeks = [{"number": i + 1, "theme": t,
                  "starts_on": d["first_day"] + timedelta(days=7 * i),
                  "ends_on": d["first_day"] + timedelta(days=7 * i + 4)}
                 for i, t in enumerate(themes)]
        return app.plan_programme(
            organisation=d["organisation"], title=d["title"], weeks=weeks,
            units=parse_units(d["units"]), request_id=d["request_id"])

    from flask_babel import get_locale

    language = str(get_locale() or "sv")
    return handle_form(
        template="r_programme_new.html", schema=ProgrammeForm(),
        defaults={"themes": "\n".join(sv if language == "sv" else en
                                      for _k, sv, en in DEFAULT_THEMES),
                  "first_day": "", "units": ""},
        context={}, submit=submit,
        done=lambda pid: url_for("web.programme", programme_id=pid),
        saved=_("The programme is planned."), aliases={"weeks": "themes"})


# ---------------------------------------------------------------- programme page


@bp.get("/r/programmes/<programme_id>")
@researcher_required
def programme(programme_id: str) -> Any:
    p = _programme(programme_id)
    people = participants_of(framdrift_app(), p["id"])
    materials: dict[int, list[dict[str, Any]]] = {}
    for m in p["materials"]:
        materials.setdefault(m["week"], []).append(m)
    meetings: dict[int, list[dict[str, Any]]] = {}
    for m in sorted(p["meetings"], key=lambda m: str(m["held_on"])):
        meetings.setdefault(m["week"], []).append(m)
    weeks = [dict(w, materials=materials.get(w["number"], []),
                  meetings=meetings.get(w["number"], [])) for w in p["weeks"]]
    unit_names = {u["key"]: u["name"] for u in p["units"]}
    return render("r_programme.html", programme=p, weeks=weeks, people=people,
                  unit_names=unit_names, areas=live_areas(p))


def _programme_form(programme_id: str, *, template: str, schema: ma.Schema,
                    defaults: dict[str, Any], submit: Any, saved: str,
                    context: dict[str, Any] | None = None,
                    aliases: dict[str, str] | None = None) -> Any:
    p = _programme(programme_id)
    return handle_form(
        template=template, schema=schema, defaults=defaults,
        context={"programme": p, **(context or {})}, submit=submit,
        done=lambda _result: url_for("web.programme", programme_id=p["id"]), saved=saved,
        aliases=aliases)


@bp.route("/r/programmes/<programme_id>/materials/new", methods=["GET", "POST"])
@researcher_required
def new_material(programme_id: str) -> Any:
    app = framdrift_app()
    return _programme_form(
        programme_id, template="r_material.html", schema=MaterialPublishForm(),
        defaults={"week": request.args.get("week", "1")[:3], "kind": "film"},
        submit=lambda d: app.publish_material(
            programme_id, week=d["week"], kind=d["kind"], title=d["title"],
            url=d["url"] or None, request_id=d["request_id"]),
        saved=_("The material is published."))


@bp.route("/r/programmes/<programme_id>/meetings/new", methods=["GET", "POST"])
@researcher_required
def new_meeting(programme_id: str) -> Any:
    app = framdrift_app()

    def submit(d: dict[str, Any]) -> Any:
        hold = app.hold_check_in if d["kind"] == "check_in" else app.hold_session
        return hold(programme_id, week=d["week"], held_on=d["held_on"],
                    request_id=d["request_id"])

    return _programme_form(
        programme_id, template="r_meeting.html", schema=MeetingForm(),
        defaults={"week": request.args.get("week", "1")[:3], "kind": "check_in"},
        submit=submit, saved=_("The meeting is recorded."))


@bp.route("/r/programmes/<programme_id>/units/new", methods=["GET", "POST"])
@researcher_required
def new_unit(programme_id: str) -> Any:
    app = framdrift_app()
    return _programme_form(
        programme_id, template="r_unit.html", schema=UnitForm(),
        defaults={"kind": "administration"},
        submit=lambda d: app.register_unit(programme_id, key=d["key"], name=d["name"],
                                           kind=d["kind"], request_id=d["request_id"]),
        saved=_("The unit is registered."), aliases={"units": "name"})


@bp.route("/r/programmes/<programme_id>/areas/new", methods=["GET", "POST"])
@researcher_required
def new_area(programme_id: str) -> Any:
    app = framdrift_app()
    return _programme_form(
        programme_id, template="r_area.html", schema=AreaForm(), defaults={},
        submit=lambda d: app.identify_development_area(
            programme_id, name=d["name"], description=d["description"],
            request_id=d["request_id"]),
        saved=_("The development area is identified."))


@bp.route("/r/programmes/<programme_id>/maturity/new", methods=["GET", "POST"])
@researcher_required
def new_assessment(programme_id: str) -> Any:
    app = framdrift_app()
    p = _programme(programme_id)
    dims = p["instrument"]  # names in the page's language, each on its own scale

    def submit(d: dict[str, Any]) -> Any:
        return app.assess_maturity(
            p["id"], phase=d["phase"], instrument=d["instrument"],
            scores={dim["key"]: d[f"score_{i}"] for i, dim in enumerate(dims)},
            assessed_on=d["assessed_on"], unit=d["unit"] or None, request_id=d["request_id"])

    return _programme_form(
        programme_id, template="r_maturity.html", schema=instrument.assessment_schema(dims),
        defaults={"phase": "before", "instrument": "DiMiOS",
                  "assessed_on": now().date().isoformat()},
        submit=submit, saved=_("The assessment is recorded."),
        context={"dimensions": list(enumerate(dims)),
                 "score_labels": instrument.score_labels(dims)},
        aliases={"scores": "_form"})


# ------------------------------------------------------------------ participants


def _link_url(secret: str) -> str:
    return f"{base_url()}{url_for('web.sign_in_link', secret=secret)}"


@bp.route("/r/programmes/<programme_id>/participants/new", methods=["GET", "POST"])
@researcher_required
def new_participant(programme_id: str) -> Any:
    app = framdrift_app()
    p = _programme(programme_id)
    schema = EnrolForm()
    context = {"programme": p, "units": p["units"]}
    if request.method == "GET":
        values = {"role": "expert", "days": course_link_days(p),
                  "request_id": new_request_id()}
        return render("r_enrol.html", values=values, errors={}, **context)
    data, errors = load(schema, request.form)
    data["days"] = data.get("days") or course_link_days(p)
    values = typed(request.form, schema)
    if not errors:
        already = app._contains(record_id_for("participant", data["request_id"]))
        try:
            with acting_as(actor()):
                person_id = app.enrol_participant(
                    p["id"], name=data["name"], email=data["email"] or None,
                    role=data["role"], unit=data["unit"], request_id=data["request_id"])
                secret = None if already else issue_link(
                    app, role="participant", subject=person_id, days=data["days"])[0]
        except domain_errors.DomainError as e:
            errors = domain_errors_for(e, schema.fields)
        else:
            person = app.get_participant(person_id)
            return render("r_link.html", programme=p, person=person,
                          link=_link_url(secret) if secret else None, days=data["days"])
    return render("r_enrol.html", values=values, errors=errors, **context), 422


@bp.get("/r/programmes/<programme_id>/participants/<participant_id>")
@researcher_required
def participant(programme_id: str, participant_id: str) -> Any:
    p = _programme(programme_id)
    person = _participant(p, participant_id)
    return _participant_page(p, person)


def _participant_page(p: dict[str, Any], person: dict[str, Any], *,
                      errors: dict[str, list[str]] | None = None,
                      consent_errors: dict[str, list[str]] | None = None,
                      status: int = 200) -> Any:
    links = list_links(framdrift_app(), person["id"])
    consent_values = {"request_id": new_request_id(), "expected_version": person["version"]}
    return render("r_participant.html", programme=p, person=person, links=links,
                  link_days=course_link_days(p), request_id=new_request_id(),
                  errors=errors or {},
                  consent_values=consent_values, consent_errors=consent_errors or {}), status


@bp.post("/r/programmes/<programme_id>/participants/<participant_id>/link")
@researcher_required
def participant_link(programme_id: str, participant_id: str) -> Any:
    app = framdrift_app()
    p = _programme(programme_id)
    person = _participant(p, participant_id)
    data, errors = load(LinkForm(), request.form)
    if errors or person["erased"]:
        return _participant_page(p, person, errors=errors, status=422)
    data["days"] = data["days"] or course_link_days(p)
    with acting_as(actor()):
        secret, _id = issue_link(app, role="participant", subject=person["id"],
                                 days=data["days"])
    return render("r_link.html", programme=p, person=person, link=_link_url(secret),
                  days=data["days"])


@bp.post("/r/programmes/<programme_id>/participants/<participant_id>/revoke")
@researcher_required
def participant_revoke(programme_id: str, participant_id: str) -> Any:
    app = framdrift_app()
    p = _programme(programme_id)
    person = _participant(p, participant_id)
    data, errors = load(LinkForm(), request.form)
    if errors:
        abort(400)
    with acting_as(actor()):
        count = revoke_links(app, person["id"], "revoked by a researcher")
    flash(_("%(n)s sign-in link(s) revoked.", n=count), "ok")
    return redirect(url_for("web.participant", programme_id=p["id"],
                            participant_id=person["id"]))


def _record_attendance(app: Any, people: list[dict[str, Any]], meeting_id: str,
                       present: set[str], request_id: str) -> None:
    """Record who attended, all or nothing; one request id per participant, so a retry
    records nothing twice."""
    with acting_as(actor()), app.batch():
        for x in people:
            was = x["attendance"].get(meeting_id)
            now_attended = x["id"] in present
            if was is None and not now_attended or was == now_attended:
                continue
            app.record_attendance(x["id"], meeting_id, attended=now_attended,
                                  request_id=f"{request_id}:{x['id']}")


@bp.route("/r/programmes/<programme_id>/meetings/<meeting_id>/attendance",
          methods=["GET", "POST"])
@researcher_required
def attendance(programme_id: str, meeting_id: str) -> Any:
    app = framdrift_app()
    p = _programme(programme_id)
    meeting = next((m for m in p["meetings"] if m["meeting_id"] == meeting_id), None)
    if meeting is None:
        abort(404)
    people = [x for x in participants_of(app, p["id"]) if not x["erased"]]
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        data, errors = load(AttendanceForm(), request.form)
        known = {x["id"] for x in people}
        if not errors and not set(data["attended"]) <= known:
            errors = {"attended": [_("Pick participants of this programme.")]}
        if not errors:
            present = set(data["attended"])
            try:
                try:
                    _record_attendance(app, people, meeting_id, present, data["request_id"])
                except domain_errors.ConcurrentChangeError:
                    # Another post was saved meanwhile (often this one's own first try):
                    # once more on what is stored now; what is already recorded is skipped.
                    _record_attendance(app, people, meeting_id, present, data["request_id"])
            except domain_errors.DomainError as e:
                errors = domain_errors_for(e, ("attended",))
            else:
                flash(_("Attendance is recorded."), "ok")
                return redirect(url_for("web.programme", programme_id=p["id"]))
        status = 422
    return render("r_attendance.html", programme=p, meeting=meeting, people=people,
                  errors=errors, request_id=new_request_id()), status


# ------------------------------------------------------------ consent and erasure


@bp.post("/r/programmes/<programme_id>/participants/<participant_id>/consent")
@researcher_required
def participant_consent(programme_id: str, participant_id: str) -> Any:
    """Give or withdraw consent to research use on a participant's behalf."""
    app = framdrift_app()
    p = _programme(programme_id)
    person = _participant(p, participant_id)
    data, errors = load(ConsentForm(), request.form)
    status = 422
    if not errors:
        try:
            with acting_as(actor()):
                change = app.give_consent if data["consent"] == "give" \
                    else app.withdraw_consent
                change(person["id"], expected_version=data["expected_version"],
                       request_id=data["request_id"])
        except domain_errors.DomainError as e:
            status = 409 if isinstance(e, domain_errors.ConcurrentChangeError) else 422
            errors = domain_errors_for(e, ("consent",))
        else:
            flash(_("Consent is recorded as given.") if data["consent"] == "give"
                  else _("Consent is recorded as withdrawn."), "ok")
            return redirect(url_for("web.participant", programme_id=p["id"],
                                    participant_id=person["id"]))
    return _participant_page(p, app.get_participant(person["id"]), consent_errors=errors,
                             status=status)


def _erase(app: Any, participant_id: str) -> None:
    """The same erasure as ``framdrift participants erase``: event, key deleted, links revoked."""
    from api.privacy_commands import erase_participant

    erase_participant(app, participant_id)


@bp.route("/r/programmes/<programme_id>/participants/<participant_id>/erase",
          methods=["GET", "POST"])
@researcher_required
def participant_erase(programme_id: str, participant_id: str) -> Any:
    """Erase a participant for good, after typing their pseudonym to confirm."""
    app = framdrift_app()
    p = _programme(programme_id)
    person = _participant(p, participant_id)
    if person["erased"]:
        flash(_("This participant is erased."), "ok")
        return redirect(url_for("web.participant", programme_id=p["id"],
                                participant_id=person["id"]))
    values: dict[str, Any] = {"request_id": new_request_id(), "pseudonym": ""}
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        schema = EraseForm()
        data, errors = load(schema, request.form)
        values = typed(request.form, schema)
        if not errors and data["pseudonym"].strip().upper() != person["pseudonym"].upper():
            errors = {"pseudonym": [_("Type the participant's pseudonym, %(pseudonym)s, to "
                                      "confirm.", pseudonym=person["pseudonym"])]}
        if not errors:
            try:
                with acting_as(actor()):
                    _erase(app, person["id"])
            except domain_errors.DomainError as e:
                errors = domain_errors_for(e, schema.fields)
            else:
                flash(_("The participant is erased: their name, contact details and "
                        "everything they wrote are unreadable for good, and their sign-in "
                        "links no longer work."), "ok")
                return redirect(url_for("web.participant", programme_id=p["id"],
                                        participant_id=person["id"]))
        status = 422
    return render("r_erase.html", programme=p, person=person, values=values,
                  errors=errors), status


# ------------------------------------------------- development areas and closing


def _area(p: dict[str, Any], area_id: str) -> dict[str, Any]:
    area = next((a for a in live_areas(p) if a["area_id"] == area_id), None)
    if area is None:
        abort(404)
    return area


@bp.route("/r/programmes/<programme_id>/areas/<area_id>/rename", methods=["GET", "POST"])
@researcher_required
def rename_area(programme_id: str, area_id: str) -> Any:
    app = framdrift_app()
    p = _programme(programme_id)
    area = _area(p, area_id)

    def submit(d: dict[str, Any]) -> Any:
        app.rename_development_area(p["id"], area["area_id"], name=d["name"],
                                    expected_version=d["expected_version"],
                                    request_id=d["request_id"])

    return _programme_form(
        programme_id, template="r_area_rename.html", schema=RenameAreaForm(),
        defaults={"name": area["name"], "expected_version": p["version"]},
        context={"area": area}, submit=submit,
        saved=_("The development area is renamed."), aliases={"area_id": "_form"})


@bp.route("/r/programmes/<programme_id>/areas/merge", methods=["GET", "POST"])
@researcher_required
def merge_areas(programme_id: str) -> Any:
    app = framdrift_app()
    p = _programme(programme_id)

    def submit(d: dict[str, Any]) -> Any:
        app.merge_development_areas(p["id"], d["area_id"], into=d["into"],
                                    expected_version=d["expected_version"],
                                    request_id=d["request_id"])

    return _programme_form(
        programme_id, template="r_area_merge.html", schema=MergeAreasForm(),
        defaults={"area_id": request.args.get("area", "")[:40],
                  "expected_version": p["version"]},
        context={"areas": live_areas(p)}, submit=submit,
        saved=_("The development areas are merged."),
        aliases={"development_areas": "area_id"})


@bp.route("/r/programmes/<programme_id>/close", methods=["GET", "POST"])
@researcher_required
def close_programme(programme_id: str) -> Any:
    app = framdrift_app()
    p = _programme(programme_id)

    def submit(d: dict[str, Any]) -> Any:
        app.close_programme(p["id"], expected_version=d["expected_version"],
                            request_id=d["request_id"])

    return _programme_form(
        programme_id, template="r_close.html", schema=CloseForm(),
        defaults={"expected_version": p["version"]}, submit=submit,
        saved=_("The programme is closed."))
