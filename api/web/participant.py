"""The participants' pages (``/p/...``): "My log" and the forms that write to it.

Every write runs as the signed-in participant (``acting_as(principal.actor)``) and passes
the form's idempotency key as ``request_id``, so a double click or a resubmitted form
records once. Changes to a record pass the version the form was made from as
``expected_version``; a conflict is explained on the form, with what was typed kept.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from flask import g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from api.app import framdrift_app
from api.web import bp
from api.web.common import (
    actor,
    area_names,
    current_week,
    flash_once,
    live_areas,
    new_request_id,
    own_record,
    participant_required,
    participants_of,
    programme_record_ids,
    record_history,
    records_of,
    render,
    team_record_ids,
    week_theme,
)
from api.web.forms import (
    AmendForm,
    ApplyForm,
    CapabilityForm,
    ConclusionForm,
    ConsentForm,
    DecisionForm,
    EvaluationForm,
    ExperimentForm,
    JoinForm,
    MaterialForm,
    NextCycleForm,
    ObservationForm,
    RefineForm,
    ReflectionForm,
    ReverseForm,
    ReviseForm,
    ShareForm,
    StartForm,
    TeamForm,
    WithdrawForm,
    domain_errors_for,
    load,
    shared,
)
from domain import errors as domain_errors
from domain.context import acting_as

_SURROGATES = re.compile(r"[\ud800-\udfff\x00]")
KIND_LABELS = {"reflection": "Reflection", "decision": "Decision", "experiment": "Experiment",
               "capability": "Capability"}


def typed(form: MultiDict[str, str], schema: ma.Schema) -> dict[str, Any]:
    """What the person typed, to show the form again (lists as lists)."""
    values: dict[str, Any] = {}
    for name, field in schema.fields.items():
        if isinstance(field, ma.fields.List):
            values[name] = [_SURROGATES.sub("\ufffd", v) for v in form.getlist(name)]
        else:
            values[name] = _SURROGATES.sub("\ufffd", form.get(name, ""))
    return values


def handle_form(
    *, template: str, schema: ma.Schema,
    defaults: dict[str, Any] | Callable[[], dict[str, Any]],
    context: dict[str, Any] | Callable[[], dict[str, Any]],
    submit: Callable[[dict[str, Any]], Any], done: Callable[[Any], str], saved: str,
    aliases: dict[str, str] | None = None,
) -> Any:
    """GET shows the form; POST validates, runs ``submit`` as the participant, redirects.
    ``defaults`` and ``context`` may be functions, called only to show the form (a post
    that succeeds is answered with a redirect and needs neither)."""
    if request.method == "GET":
        values = {**(defaults() if callable(defaults) else defaults),
                  "request_id": new_request_id()}
        return render(template, values=values, errors={},
                      **(context() if callable(context) else context))
    data, errors = load(schema, request.form)
    values = typed(request.form, schema)
    status = 422
    if not errors:
        try:
            with acting_as(actor()):
                result = submit(data)
        except domain_errors.DomainError as e:
            if isinstance(e, domain_errors.ConcurrentChangeError):
                status = 409
            errors = domain_errors_for(e, schema.fields, aliases)
        else:
            flash_once(str(saved), "ok")
            return redirect(done(result))
    return render(template, values=values, errors=errors,
                  **(context() if callable(context) else context)), status


def _week_choices() -> list[dict[str, Any]]:
    return [{"number": w["number"], "theme": w["theme"], "starts_on": w["starts_on"]}
            for w in g.programme["weeks"]]


def _form_context(records: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    programme = g.programme
    return {
        "programme": programme, "me": g.me, "weeks": _week_choices(),
        "areas": live_areas(programme), "materials": programme["materials"],
        "units": programme["units"], "records": records or [],
        "current": current_week(programme),
    }


def _title(record: dict[str, Any]) -> str:
    text = record.get("example") or record.get("statement") or record.get("aim") \
        or record.get("name") or ""
    return text if len(text) <= 90 else text[:87] + "…"


def changes(record: dict[str, Any], history: list[dict[str, Any]] | None = None) -> int:
    """How often a reflection was amended or a decision revised (each one more event in
    the record's history; sharing choices and withdrawals are not counted)."""
    if record["kind"] not in ("reflection", "decision"):
        return 0
    if history is None:
        history = record_history(framdrift_app(), record["id"])
    return sum(1 for h in history if h["type"] in ("Amended", "Revised"))


# ---------------------------------------------------------------- who sees what


def members(record: dict[str, Any]) -> list[str]:
    """The author and the team of a record (experiments and capabilities have teams)."""
    return [record["participant_id"], *[str(m) for m in record.get("team") or []]]


def is_member(record: dict[str, Any]) -> bool:
    return g.me["id"] in members(record)


def visible(record: dict[str, Any]) -> bool:
    """The participant's own or their team's records, and records of their programme
    shared with the course group."""
    if record["programme_id"] != g.me["programme_id"]:
        return False
    return is_member(record) or bool(record.get("shared"))


def visible_record(app: Any, record_id: str, kind: str | None = None) -> dict[str, Any]:
    """A record the signed-in participant may see, else 404 (unshared records of others
    are not found)."""
    from flask import abort

    try:
        record = app.get_record(record_id)
    except domain_errors.NotFoundError:
        abort(404)
    if not visible(record) or (kind and record["kind"] != kind):
        abort(404)
    return record


def member_record(app: Any, record_id: str, kind: str | None = None) -> dict[str, Any]:
    """A record the participant may take forward: their own or their team's, else 404."""
    from flask import abort

    record = visible_record(app, record_id, kind)
    if not is_member(record):
        abort(404)
    return record


def person(app: Any, participant_id: str) -> dict[str, Any]:
    """A participant's name and unit (cached for this request)."""
    cache = g.setdefault("people", {})
    if participant_id not in cache:
        try:
            p = app.get_participant(participant_id)
        except domain_errors.NotFoundError:
            p = {"id": participant_id, "name": None, "unit": "", "erased": True}
        cache[participant_id] = {"id": participant_id, "unit": p["unit"],
                                 "name": None if p.get("erased") else p.get("name")}
    return cache[participant_id]


def _accepts(method: Callable[..., Any], name: str) -> bool:
    return name in _parameters(getattr(method, "__func__", method))


@functools.lru_cache(maxsize=256)
def _parameters(function: Callable[..., Any]) -> frozenset[str]:
    """A command's parameter names, looked up once per process (``inspect.signature``
    on every post was a noticeable part of its CPU)."""
    import inspect

    try:
        return frozenset(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return frozenset()


def _extra(method: Callable[..., Any], **values: Any) -> dict[str, Any]:
    """Keyword arguments the application's command takes (sharing, teams, participants)."""
    return {k: v for k, v in values.items() if _accepts(method, k)}


def shared_records(app: Any, *, week: int | None = None,
                   kinds: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """Records of the participant's programme they may build on: shared with the course
    group by anyone, and their own (newest first), each with its author and unit."""
    out = []
    for r in app.get_records(programme_record_ids(app, g.me["programme_id"], week)):
        if r["void"] or not visible(r) or (kinds and r["kind"] not in kinds):
            continue
        author = person(app, r["participant_id"])
        if author["name"] is None and r["participant_id"] != g.me["id"]:
            continue  # an erased author: nothing of theirs is readable
        out.append(dict(r, title=_title(r), author=author["name"], mine=is_member(r)))
    out.sort(key=lambda r: (r["week"], r["created_on"]), reverse=True)
    return out


PICKER_LIMIT = 500  # records offered in a "based on" picker, the newest of its kinds


def _buildable(app: Any, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    """What the participant may build on, from the query of the read models
    (``projections.queries.shared_records``) when it is there, else from the records."""
    try:
        from projections.queries import shared_records as query
    except ImportError:
        return shared_records(app, kinds=kinds)
    rows = query(app, g.me["programme_id"], viewer_id=g.me["id"], limit=PICKER_LIMIT + 1,
                 kinds=kinds)  # one more than is offered: whether any is left out
    return [dict(r, participant_id=str(r["author_id"]), mine=bool(r.get("own")) or g.me[
        "id"] in [str(m) for m in r.get("team") or []], void=False) for r in rows]


def _picker(app: Any, kinds: tuple[str, ...], chosen: list[str]) -> dict[str, Any]:
    """The "based on" picker: every record the participant may build on, with what the
    filters need (weeks, units, kinds, development areas)."""
    found = _buildable(app, kinds)
    capped = len(found) > PICKER_LIMIT  # said in the form: nothing left out unsaid
    records = found[:PICKER_LIMIT]
    ids = {r["id"] for r in records}
    for rid in chosen:  # a record chosen before (a prefilled link) is always offered
        if rid not in ids:
            try:
                r = app.get_record(rid)
            except domain_errors.NotFoundError:
                continue
            if visible(r):
                records.insert(0, dict(r, title=_title(r), author=person(
                    app, r["participant_id"])["name"], mine=is_member(r)))
    return {"picker_records": records, "picker_kinds": kinds,
            "picker_capped": PICKER_LIMIT if capped else None}


def _sharing_default() -> str:
    """For the researchers only unless the author shares it (ADR 0007)."""
    return "researchers"


def _team_candidates(app: Any, suggested: list[str]) -> list[dict[str, Any]]:
    """The programme's other participants for a team: the authors of what it builds on
    first (suggested), then everyone else by unit."""
    people = [p for p in participants_of(app, g.me["programme_id"])
              if p["id"] != g.me["id"] and not p["erased"]]
    order = {pid: i for i, pid in enumerate(suggested)}
    people.sort(key=lambda p: (order.get(p["id"], len(order)), p["unit"], p["name"] or ""))
    return [{"id": p["id"], "name": p["name"], "unit": p["unit"],
             "suggested": p["id"] in order} for p in people]


def _lineage_authors(app: Any, based_on: list[str]) -> list[str]:
    """Other participants whose records (and their own bases) this builds on."""
    found: list[str] = []
    stack, seen = list(based_on), set()
    while stack and len(seen) < 50:
        rid = stack.pop(0)
        if rid in seen:
            continue
        seen.add(rid)
        try:
            r = app.get_record(rid)
        except domain_errors.NotFoundError:
            continue
        for pid in members(r):
            if pid != g.me["id"] and pid not in found:
                found.append(pid)
        stack.extend(r["based_on"])
    return found


def _requested(name: str) -> list[str]:
    return [v[:80] for v in request.args.getlist(name)[:20] if v]


# --------------------------------------------------------------------------- pages


def next_step(record: dict[str, Any]) -> dict[str, Any] | None:
    """The natural next step from a record (label and address), for guidance."""
    kind, rid = record["kind"], record["id"]
    if record["void"]:
        return None
    if kind == "reflection":
        return {"label": _("Make a decision from this"),
                "url": url_for("web.new_decision", based_on=rid)}
    if kind == "decision":
        return {"label": _("Plan an experiment from this"),
                "url": url_for("web.new_experiment", based_on=rid)}
    if kind == "experiment":
        stage = record.get("stage")
        if stage == "planned":
            return {"label": _("Start the experiment"), "url": url_for(
                "web.record", record_id=rid, _anchor="next-step")}
        if stage == "started":
            if record.get("observations"):
                return {"label": _("Evaluate the result"), "url": url_for(
                    "web.record", record_id=rid, _anchor="next-step")}
            return {"label": _("Record what you observe"), "url": url_for(
                "web.record", record_id=rid, _anchor="next-step")}
        if stage == "evaluated":
            return {"label": _("Decide: adopt, adapt or abandon"), "url": url_for(
                "web.record", record_id=rid, _anchor="next-step")}
        if record.get("outcome") == "adopt":
            return {"label": _("Establish a capability"),
                    "url": url_for("web.new_capability", experiment=rid)}
        if not record.get("next_cycle_id"):
            return {"label": _("Plan the next cycle"),
                    "url": url_for("web.next_cycle", record_id=rid)}
    return None


def _team_records(app: Any) -> list[dict[str, Any]]:
    """Colleagues' experiments and capabilities the participant is in the team of."""
    out = []
    for r in app.get_records(team_record_ids(app, g.me["id"])):
        if r["participant_id"] != g.me["id"] and is_member(r) and visible(r):
            out.append(dict(r, title=_title(r), changes=0))
    return out


def _open_experiments(mine: list[dict[str, Any]], established: set[str]) -> list[dict[str, Any]]:
    """Experiments the participant carries (alone or in a team) that have a next step:
    not concluded, or adopted with no capability established from them yet."""
    out = []
    for r in mine:
        if r["kind"] != "experiment" or r["void"] or r.get("next_cycle_id"):
            continue
        if r.get("stage") == "concluded" and (r.get("outcome") != "adopt"
                                              or r["id"] in established):
            continue
        out.append(dict(r, title=_title(r), next=next_step(r)))
    return out


COLLEAGUES_SHOWN = 5  # what colleagues shared this week, in the page; the rest folded


@bp.get("/p/")
@participant_required
def my_log() -> Any:
    """Home: this week first (theme, material to mark in one tap, meetings, open
    experiments with their next step, what colleagues shared), then the other weeks
    collapsed."""
    app = framdrift_app()
    programme = g.programme
    current = current_week(programme)
    records = [dict(r, title=_title(r), changes=changes(r))
               for r in records_of(app, g.me["id"])]
    by_week: dict[int, list[dict[str, Any]]] = {}
    for r in records:
        by_week.setdefault(r["week"], []).append(r)
    weeks = [dict(w, records=by_week.get(w["number"], [])) for w in programme["weeks"]]
    this_week = next((w for w in weeks if w["number"] == current), None)
    done = set(g.me["materials"])
    materials = [dict(m, done=m["material_id"] in done) for m in programme["materials"]
                 if m["week"] == current]
    meetings = sorted((m for m in programme["meetings"] if m["week"] == current),
                      key=lambda m: str(m["held_on"]))
    team = _team_records(app)
    established = {b for r in records + team if r["kind"] == "capability"
                   for b in r["based_on"]}
    colleagues = []
    for r in shared_records(app, week=current):
        if r["participant_id"] == g.me["id"]:
            continue
        step = next_step(r)
        if r["kind"] == "experiment" and (r["id"] in established or is_member(r)):
            step = None  # done already, or on the list of open experiments
        colleagues.append(dict(r, next=step, team_of_mine=is_member(r)))
    return render("p_log.html", programme=programme, me=g.me, weeks=weeks,
                  this_week=this_week, current=current, total=len(records),
                  materials=materials, meetings=meetings, colleagues=colleagues,
                  colleagues_shown=COLLEAGUES_SHOWN,
                  open_experiments=_open_experiments(records + team, established),
                  areas=area_names(programme), request_id=new_request_id())


def _visibility(d: dict[str, Any]) -> bool:
    return d.get("visibility") == "shared"


@bp.route("/p/reflections/new", methods=["GET", "POST"])
@participant_required
def new_reflection() -> Any:
    app = framdrift_app()
    me = g.me

    def submit(d: dict[str, Any]) -> Any:
        return app.log_reflection(
            me["id"], programme_id=me["programme_id"], week=d["week"],
            material_id=d["material_id"] or None, example=d["example"],
            deficiency=d["deficiency"] or None, solutions=d["solutions"] or None,
            development_areas=d["development_areas"], request_id=d["request_id"],
            **_extra(app.log_reflection, shared=_visibility(d)))

    def defaults() -> dict[str, Any]:
        material = request.args.get("material", "")[:40]
        week = next((m["week"] for m in g.programme["materials"]
                     if m["material_id"] == material), current_week(g.programme))
        return {"week": week, "material_id": material, "development_areas": [],
                "visibility": _sharing_default()}

    return handle_form(
        template="p_reflection.html", schema=shared(ReflectionForm), defaults=defaults,
        context=_form_context, submit=submit,
        done=lambda rid: url_for("web.my_log", saved="reflection"),
        saved=_("Your reflection is saved."))


def _bases(app: Any, record_ids: list[str]) -> list[dict[str, Any]]:
    """The records a new one builds on that this participant may see, each loaded once."""
    found = []
    for rid in record_ids:
        try:
            r = app.get_record(rid)
        except domain_errors.NotFoundError:
            continue
        if visible(r):
            found.append(r)
    return found


def _units_of(bases: list[dict[str, Any]]) -> list[str]:
    units = [g.me["unit"]]
    for r in bases:
        for u in [r["unit"], *(r.get("units") or [])]:
            if u not in units:
                units.append(u)
    return units


@bp.route("/p/decisions/new", methods=["GET", "POST"])
@participant_required
def new_decision() -> Any:
    app = framdrift_app()
    me = g.me

    def submit(d: dict[str, Any]) -> Any:
        _check_bases(app, d["based_on"])
        return app.make_decision(
            me["id"], programme_id=me["programme_id"], week=d["week"],
            statement=d["statement"], rationale=d["rationale"] or None,
            based_on=d["based_on"], units=d["units"] or [me["unit"]],
            development_areas=d["development_areas"], request_id=d["request_id"],
            **_extra(app.make_decision, shared=_visibility(d),
                     participants=d["participants"]))

    def done(rid: Any) -> str:
        if request.form.get("then") == "experiment":
            return url_for("web.new_experiment", based_on=str(rid))
        return url_for("web.record", record_id=rid, saved="decision")

    based_on = _requested("based_on")
    bases = _bases(app, based_on)
    return handle_form(
        template="p_decision.html", schema=shared(DecisionForm),
        defaults={"week": current_week(g.programme), "based_on": based_on,
                  "units": _units_of(bases), "participants": [],
                  "development_areas": _areas_of(bases),
                  "visibility": _sharing_default()},
        context={**_form_context(), **_picker(app, ("reflection", "decision"),
                                              based_on + request.form.getlist("based_on")),
                 "people": _team_candidates(app, _lineage_authors(app, based_on))},
        submit=submit, done=done, saved=_("Your decision is saved."))


def _areas_of(bases: list[dict[str, Any]]) -> list[str]:
    live = {a["area_id"] for a in live_areas(g.programme)}
    areas: list[str] = []
    for r in bases:
        areas += [a for a in r["development_areas"] if a in live and a not in areas]
    return areas


def _check_bases(app: Any, based_on: list[str]) -> None:
    """Links only to records the participant may see (their own, their team's, shared)."""
    for rid in based_on:
        try:
            r = app.get_record(rid)
        except domain_errors.NotFoundError:
            r = None
        if r is None or not visible(r):
            raise domain_errors.BasedOnError("pick records you may build on",
                                             field="based_on")


@bp.route("/p/experiments/new", methods=["GET", "POST"])
@participant_required
def new_experiment() -> Any:
    app = framdrift_app()
    me = g.me

    def submit(d: dict[str, Any]) -> Any:
        _check_bases(app, d["based_on"])
        return app.plan_experiment(
            me["id"], programme_id=me["programme_id"], week=d["week"], aim=d["aim"],
            change=d["change"], prediction=d["prediction"], measure=d["measure"],
            based_on=d["based_on"], units=d["units"] or [me["unit"]],
            development_areas=d["development_areas"], request_id=d["request_id"],
            **_extra(app.plan_experiment, shared=_visibility(d), team=d["team"]))

    based_on = _requested("based_on")
    bases = _bases(app, based_on)
    aim = ""
    decisions = [r for r in bases if r["kind"] == "decision"]
    if len(decisions) == 1:
        aim = decisions[0].get("statement") or ""
    suggested = _lineage_authors(app, based_on)
    return handle_form(
        template="p_experiment.html", schema=shared(ExperimentForm),
        defaults={"week": current_week(g.programme), "based_on": based_on, "aim": aim,
                  "units": _units_of(bases), "team": [],
                  "development_areas": _areas_of(bases),
                  "visibility": _sharing_default()},
        context={**_form_context(), **_picker(
            app, ("reflection", "decision", "experiment"),
            based_on + request.form.getlist("based_on")),
            "people": _team_candidates(app, suggested)},
        submit=submit, done=lambda rid: url_for("web.record", record_id=rid, saved="experiment"),
        saved=_("Your experiment is planned."))


@bp.route("/p/experiments/<record_id>/next", methods=["GET", "POST"])
@participant_required
def next_cycle(record_id: str) -> Any:
    app = framdrift_app()
    previous = member_record(app, record_id, "experiment")
    me = g.me

    def submit(d: dict[str, Any]) -> Any:
        return app.plan_next_cycle(
            previous["id"], participant_id=me["id"], week=d["week"], aim=d["aim"],
            change=d["change"], prediction=d["prediction"], measure=d["measure"],
            units=d["units"] or None, development_areas=d["development_areas"],
            request_id=d["request_id"])

    return handle_form(
        template="p_experiment.html", schema=shared(NextCycleForm),
        defaults={"week": current_week(g.programme), "aim": previous.get("aim", ""),
                  "change": previous.get("change", ""), "prediction": "", "measure":
                  previous.get("measure", ""), "based_on": [], "units": previous["units"],
                  "development_areas": previous["development_areas"]},
        context={**_form_context(), "previous": previous}, submit=submit,
        done=lambda rid: url_for("web.record", record_id=rid),
        saved=_("The next cycle is planned."), aliases={"stage": "_form"})


@bp.route("/p/capabilities/new", methods=["GET", "POST"])
@participant_required
def new_capability() -> Any:
    app = framdrift_app()
    me = g.me

    def submit(d: dict[str, Any]) -> Any:
        _check_bases(app, d["experiments"])
        return app.establish_capability(
            me["id"], programme_id=me["programme_id"], week=d["week"], name=d["name"],
            description=d["description"], experiments=d["experiments"],
            units=d["units"] or None, development_areas=d["development_areas"],
            request_id=d["request_id"],
            **_extra(app.establish_capability, shared=_visibility(d), team=d["team"]))

    adopted = [dict(r, title=_title(r)) for r in shared_records(app, kinds=("experiment",))
               if r.get("stage") == "concluded" and r.get("outcome") == "adopt"]
    chosen = [rid for rid in _requested("experiment") if rid in {r["id"] for r in adopted}]
    first = next((r for r in adopted if chosen and r["id"] == chosen[0]), None)
    team = [m for m in members(first) if m != me["id"]] if first else []
    return handle_form(
        template="p_capability.html", schema=shared(CapabilityForm),
        defaults={"week": current_week(g.programme), "experiments": chosen,
                  "description": (first or {}).get("learning") or "",
                  "units": (first or {}).get("units") or [me["unit"]], "team": team,
                  "development_areas": (first or {}).get("development_areas") or [],
                  "visibility": _sharing_default()},
        context={**_form_context(adopted), "people": _team_candidates(app, team)},
        submit=submit, done=lambda rid: url_for("web.record", record_id=rid, saved="capability"),
        saved=_("The capability is saved."), aliases={"based_on": "experiments"})


# ---------------------------------------------------------------- one record


STEP_SCHEMAS: dict[str, type[ma.Schema]] = {
    "start": StartForm, "observe": ObservationForm, "evaluate": EvaluationForm,
    "conclude": ConclusionForm, "refine": RefineForm, "withdraw": WithdrawForm,
    "reverse": ReverseForm, "apply": ApplyForm, "share": ShareForm, "team": TeamForm,
    "join": JoinForm,
}
STEP_KINDS = {"start": "experiment", "observe": "experiment", "evaluate": "experiment",
              "conclude": "experiment", "refine": "capability", "apply": "capability",
              "withdraw": "reflection", "reverse": "decision", "share": None, "team": None,
              "join": "experiment"}
AUTHOR_STEPS = ("withdraw", "reverse", "share", "team")  # only the author
PDSA = (("plan", _l("Plan")), ("do", _l("Do")), ("study", _l("Study")), ("act", _l("Act")))


def pdsa_step(record: dict[str, Any], wanted: str | None = None) -> str:
    """The experiment's current Plan–Do–Study–Act step. Planned or started: Do (start,
    then record observations); once something is observed the participant may move on to
    Study (evaluate); evaluated: Act (adopt, adapt or abandon); concluded: done."""
    stage = record.get("stage")
    if stage == "planned":
        return "do"
    if stage == "started":
        if wanted in ("do", "study"):
            return wanted
        return "study" if record.get("observations") else "do"
    if stage == "evaluated":
        return "act"
    return "done"


def _stepper(record: dict[str, Any], current: str) -> list[dict[str, Any]]:
    order = [k for k, _label in PDSA]
    at = order.index(current) if current in order else len(order)
    return [{"key": k, "label": str(label),
             "state": "done" if i < at else "current" if i == at else "todo"}
            for i, (k, label) in enumerate(PDSA)]


def _origins(app: Any, record: dict[str, Any], limit: int = 40) -> list[dict[str, Any]]:
    """Where a record comes from: what it builds on, and what that builds on, back to the
    reflections (depth first, each once). A colleague's record that is not shared is
    named only by its kind."""
    out: list[dict[str, Any]] = []
    seen_ids: set[str] = set()

    def walk(ids: list[str], depth: int) -> None:
        for base_id in ids:
            if base_id in seen_ids or len(out) >= limit:
                continue
            seen_ids.add(base_id)
            try:
                base = app.get_record(base_id)
            except domain_errors.NotFoundError:
                continue
            seen = visible(base)
            author = person(app, base["participant_id"]) if seen else None
            out.append({"id": base_id, "kind": base["kind"], "week": base["week"],
                        "title": _title(base) if seen else "", "seen": seen,
                        "depth": depth, "mine": base["participant_id"] == g.me["id"],
                        "author": author["name"] if author else None,
                        "unit": base["unit"]})
            if seen:
                walk(base["based_on"], depth + 1)

    walk(record["based_on"], 0)
    return out


def _record_page(record: dict[str, Any], *, step: str | None = None,
                 values: dict[str, Any] | None = None,
                 errors: dict[str, list[str]] | None = None, status: int = 200) -> Any:
    app = framdrift_app()
    bases = _origins(app, record)
    step_values = {name: {"request_id": new_request_id(), "expected_version": record["version"],
                          "week": current_week(g.programme), "unit": g.me["unit"]}
                   for name in STEP_SCHEMAS}
    if step and values is not None:
        step_values[step] = values
    material = next((m for m in g.programme["materials"]
                     if m["material_id"] == record.get("material_id")), None)
    wanted = request.args.get("step") if request.method == "GET" else {
        "observe": "do", "evaluate": "study"}.get(step or "")
    current = pdsa_step(record, wanted) if record["kind"] == "experiment" else None
    history = record_history(app, record["id"])
    author = person(app, record["participant_id"])
    team = [person(app, m) for m in members(record)[1:]]
    mine = record["participant_id"] == g.me["id"]
    people = _team_candidates(app, []) if mine and record["kind"] in (
        "experiment", "capability") else []
    return render("p_record.html", programme=g.programme, me=g.me, record=record,
                  bases=bases, step=step, step_values=step_values, errors=errors or {},
                  weeks=_week_choices(), material=material, areas=area_names(g.programme),
                  theme=week_theme(g.programme, record["week"]),
                  changes=changes(record, history), history=history,
                  units=g.programme["units"], author=author, team=team, mine=mine,
                  member=is_member(record), people=[p for p in people if p["id"] not in
                                                    members(record)],
                  pdsa=_stepper(record, current) if current else None, pdsa_current=current,
                  next=next_step(record),
                  can_share=hasattr(app, "share_record"),
                  can_team=hasattr(app, "add_team_member"),
                  can_join=hasattr(app, "join_team") and not is_member(record),
                  unit_names={u["key"]: u["name"] for u in g.programme["units"]}), status


@bp.get("/p/records/<record_id>")
@participant_required
def record(record_id: str) -> Any:
    return _record_page(visible_record(framdrift_app(), record_id))


def _form_with_outcome() -> tuple[MultiDict[str, str], str | None]:
    """The conclusion is one tap: a button per outcome (``adopt+capability`` adopts and
    goes on to establish a capability)."""
    form = MultiDict(request.form)
    then = None
    if form.get("outcome") == "adopt+capability":
        form["outcome"], then = "adopt", "capability"
    return form, then


@bp.post("/p/records/<record_id>/<step>")
@participant_required
def record_step(record_id: str, step: str) -> Any:
    app = framdrift_app()
    if step not in STEP_SCHEMAS:
        return render("error.html", code=404, title=_("Page not found"), message=None), 404
    if step in AUTHOR_STEPS:
        current = own_record(app, record_id, STEP_KINDS[step])
    elif step == "join":
        current = visible_record(app, record_id, STEP_KINDS[step])
    else:
        current = member_record(app, record_id, STEP_KINDS[step])
    schema = shared(STEP_SCHEMAS[step])
    form, then = _form_with_outcome()
    data, errors = load(schema, form)
    values = typed(form, schema)
    status = 422
    if not errors:
        common = {"participant_id": g.me["id"], "expected_version": data["expected_version"],
                  "request_id": data["request_id"]}
        try:
            with acting_as(actor()):
                _run_step(app, step, current, data, common)
        except domain_errors.DomainError as e:
            status = 409 if isinstance(e, domain_errors.ConcurrentChangeError) else 422
            errors = domain_errors_for(e, schema.fields, {"stage": "_form"})
        else:
            flash_once(str(STEP_SAVED[step]) if step in STEP_SAVED else _("Saved."), "ok")
            if then == "capability":
                return redirect(url_for("web.new_capability", experiment=current["id"]))
            return redirect(url_for("web.record", record_id=current["id"], saved=step,
                                    _anchor="next-step" if step in (
                                        "start", "observe", "evaluate", "conclude") else None))
    return _record_page(current, step=step, values=values, errors=errors, status=status)


def _run_step(app: Any, step: str, current: dict[str, Any], data: dict[str, Any],
              common: dict[str, Any]) -> None:
    rid = current["id"]
    if step == "start":
        app.start_experiment(rid, week=data["week"] or current_week(g.programme), **common)
    elif step == "observe":
        app.record_observation(rid, text=data["text"], **common)
    elif step == "evaluate":
        app.evaluate_experiment(rid, result=data["result"], learning=data["learning"],
                                **common)
    elif step == "conclude":
        app.conclude_experiment(rid, outcome=data["outcome"], **common)
    elif step == "refine":
        app.refine_capability(rid, description=data["description"], **common)
    elif step == "apply":
        app.apply_capability(rid, unit=data["unit"], note=data["note"], **common)
    elif step == "withdraw":
        app.withdraw_reflection(rid, reason=data["reason"] or None, **common)
    elif step == "reverse":
        app.reverse_decision(rid, reason=data["reason"], **common)
    elif step == "share":
        if data["visibility"] == "shared":
            app.share_record(rid, **common)
        else:
            app.unshare_record(rid, **common)
    elif step == "team":
        if data["action"] == "add":
            app.add_team_member(rid, member_id=data["member"], **common)
        else:
            app.remove_team_member(rid, member_id=data["member"], **common)
    elif step == "join":
        app.join_team(rid, **common)


STEP_SAVED = {"withdraw": _l("The reflection is withdrawn; it stays in your log's history."),
              "reverse": _l("The decision is reversed; it stays in your log's history."),
              "apply": _l("The application of the capability is recorded."),
              "start": _l("The experiment is started."),
              "observe": _l("Your observation is saved."),
              "evaluate": _l("Your evaluation is saved."),
              "conclude": _l("The experiment is concluded."),
              "refine": _l("The capability is refined."),
              "share": _l("Who can read the record is changed."),
              "team": _l("The team is changed."),
              "join": _l("You have joined the experiment.")}


@bp.route("/p/reflections/<record_id>/amend", methods=["GET", "POST"])
@participant_required
def amend_reflection(record_id: str) -> Any:
    app = framdrift_app()
    current = own_record(app, record_id, "reflection")

    def submit(d: dict[str, Any]) -> Any:
        app.amend_reflection(
            current["id"], participant_id=g.me["id"], example=d["example"],
            deficiency=d["deficiency"] or None, solutions=d["solutions"] or None,
            development_areas=d["development_areas"], expected_version=d["expected_version"],
            request_id=d["request_id"])
        return current["id"]

    return handle_form(
        template="p_amend.html", schema=shared(AmendForm),
        defaults={"example": current.get("example") or "",
                  "deficiency": current.get("deficiency") or "",
                  "solutions": current.get("solutions") or "",
                  "development_areas": current["development_areas"],
                  "expected_version": current["version"]},
        context={**_form_context(), "record": current}, submit=submit,
        done=lambda rid: url_for("web.record", record_id=rid, saved="amend"),
        saved=_("The reflection is amended; the original stays in its history."),
        aliases={"withdrawn": "_form"})


@bp.route("/p/decisions/<record_id>/revise", methods=["GET", "POST"])
@participant_required
def revise_decision(record_id: str) -> Any:
    app = framdrift_app()
    current = own_record(app, record_id, "decision")

    def submit(d: dict[str, Any]) -> Any:
        _check_bases(app, [b for b in d["based_on"] if b not in current["based_on"]])
        app.revise_decision(
            current["id"], participant_id=g.me["id"], statement=d["statement"],
            rationale=d["rationale"] or None, based_on=d["based_on"],
            units=d["units"] or None, expected_version=d["expected_version"],
            request_id=d["request_id"])
        return current["id"]

    picker = _picker(app, ("reflection", "decision"),
                     current["based_on"] + request.form.getlist("based_on"))
    picker["picker_records"] = [r for r in picker["picker_records"] if r["id"] != current["id"]]
    return handle_form(
        template="p_revise.html", schema=shared(ReviseForm),
        defaults={"statement": current.get("statement") or "",
                  "rationale": current.get("rationale") or "",
                  "based_on": current["based_on"], "units": current.get("units") or [],
                  "expected_version": current["version"]},
        context={**_form_context(), **picker, "record": current}, submit=submit,
        done=lambda rid: url_for("web.record", record_id=rid, saved="revise"),
        saved=_("The decision is revised; the earlier version stays in its history."),
        aliases={"reversed": "_form"})


# --------------------------------------------------------------------- consent


@bp.route("/p/consent", methods=["GET", "POST"])
@participant_required
def consent() -> Any:
    """The participant's consent to research use: explained, shown, given or withdrawn."""
    app = framdrift_app()
    me = g.me

    def submit(d: dict[str, Any]) -> Any:
        change = app.give_consent if d["consent"] == "give" else app.withdraw_consent
        change(me["id"], expected_version=d["expected_version"], request_id=d["request_id"])
        return d["consent"]

    return handle_form(
        template="p_consent.html", schema=shared(ConsentForm),
        defaults={"expected_version": me["version"],
                  "consent": "withdraw" if me["consent"] else "give"},
        context={"programme": g.programme, "me": me}, submit=submit,
        done=lambda _r: url_for("web.consent"),
        saved=_("Your choice about research use is recorded."))


# ------------------------------------------------------------------- materials


def _take_part_of(app: Any, material_ids: list[str], request_id: str) -> None:
    """Mark materials as taken part of, all or none; one request id per material, so a
    resent form records nothing twice."""
    with acting_as(actor()), app.batch():
        for material_id in material_ids:
            app.record_material_taken_part_of(g.me["id"], material_id,
                                              request_id=f"{request_id}-{material_id}")


@bp.route("/p/materials", methods=["GET", "POST"])
@participant_required
def materials() -> Any:
    app = framdrift_app()
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        data, errors = load(shared(MaterialForm), request.form)
        chosen = list(dict.fromkeys(
            ([data["material_id"]] if data.get("material_id") else [])
            + data.get("material_ids", [])))
        if not errors and not chosen:
            errors = {"material_ids": [_("Tick the material you have taken part of.")]}
        if not errors:
            try:
                try:
                    _take_part_of(app, chosen, data["request_id"])
                except domain_errors.ConcurrentChangeError:
                    # another post was saved meanwhile (often this one's first try):
                    # once more; what is recorded already is skipped
                    _take_part_of(app, chosen, data["request_id"])
            except domain_errors.DomainError as e:
                errors = domain_errors_for(e, ("material_id",))
            else:
                flash_once(_("Noted: you have taken part of the material.") if len(chosen) == 1
                           else _("Noted: you have taken part of %(n)s materials.",
                                  n=len(chosen)), "ok")
                if request.form.get("back") == "home":  # the one tap on "This week"
                    return redirect(url_for("web.my_log", _anchor="this-week"))
                return redirect(url_for("web.materials"))
        status = 422
    done = set(g.me["materials"])
    by_week: dict[int, list[dict[str, Any]]] = {}
    for m in g.programme["materials"]:
        by_week.setdefault(m["week"], []).append(dict(m, done=m["material_id"] in done))
    weeks = [dict(w, materials=by_week.get(w["number"], [])) for w in g.programme["weeks"]]
    return render("p_materials.html", programme=g.programme, me=g.me, weeks=weeks,
                  errors=errors, request_id=new_request_id()), status
