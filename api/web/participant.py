"""The participants' pages (``/p/...``): "My log" and the forms that write to it.

Every write runs as the signed-in participant (``acting_as(principal.actor)``) and passes
the form's idempotency key as ``request_id``, so a double click or a resubmitted form
records once. Changes to a record pass the version the form was made from as
``expected_version``; a conflict is explained on the form, with what was typed kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from api.app import framdrift_app
from api.web import bp
from api.web.common import (
    actor,
    area_names,
    current_week,
    live_areas,
    new_request_id,
    own_record,
    participant_required,
    record_history,
    records_of,
    render,
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
    MaterialForm,
    NextCycleForm,
    ObservationForm,
    RefineForm,
    ReflectionForm,
    ReverseForm,
    ReviseForm,
    StartForm,
    WithdrawForm,
    domain_errors_for,
    load,
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
    *, template: str, schema: ma.Schema, defaults: dict[str, Any], context: dict[str, Any],
    submit: Callable[[dict[str, Any]], Any], done: Callable[[Any], str], saved: str,
    aliases: dict[str, str] | None = None,
) -> Any:
    """GET shows the form; POST validates, runs ``submit`` as the participant, redirects."""
    if request.method == "GET":
        values = {**defaults, "request_id": new_request_id()}
        return render(template, values=values, errors={}, **context)
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
            flash(saved, "ok")
            return redirect(done(result))
    return render(template, values=values, errors=errors, **context), status


def _week_choices() -> list[dict[str, Any]]:
    return [{"number": w["number"], "theme": w["theme"], "starts_on": w["starts_on"]}
            for w in g.programme["weeks"]]


def _form_context(records: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    programme = g.programme
    return {
        "programme": programme, "me": g.me, "weeks": _week_choices(),
        "areas": live_areas(programme), "materials": programme["materials"],
        "units": programme["units"], "records": records or [],
    }


def _title(record: dict[str, Any]) -> str:
    text = record.get("example") or record.get("statement") or record.get("aim") \
        or record.get("name") or ""
    return text if len(text) <= 90 else text[:87] + "…"


def changes(record: dict[str, Any]) -> int:
    """How often a reflection was amended or a decision revised (each one more event:
    the version counts Logged/Made, every amendment or revision, and a withdrawal or
    reversal)."""
    if record["kind"] not in ("reflection", "decision"):
        return 0
    return max(0, int(record["version"]) - 1 - (1 if record["void"] else 0))


def _my_records(*kinds: str) -> list[dict[str, Any]]:
    app = framdrift_app()
    return [dict(r, title=_title(r)) for r in records_of(app, g.me["id"])
            if r["kind"] in kinds and not r["void"]]


# --------------------------------------------------------------------------- pages


@bp.get("/p/")
@participant_required
def my_log() -> Any:
    app = framdrift_app()
    programme = g.programme
    records = [dict(r, title=_title(r), changes=changes(r))
               for r in records_of(app, g.me["id"])]
    by_week: dict[int, list[dict[str, Any]]] = {}
    for r in records:
        by_week.setdefault(r["week"], []).append(r)
    weeks = [dict(w, records=by_week.get(w["number"], [])) for w in programme["weeks"]]
    materials_done = set(g.me["materials"])
    return render("p_log.html", programme=programme, me=g.me, weeks=weeks,
                  current=current_week(programme), total=len(records),
                  materials_done=materials_done, areas=area_names(programme),
                  clear_draft=request.args.get("saved", "")[:40])


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
            development_areas=d["development_areas"], request_id=d["request_id"])

    return handle_form(
        template="p_reflection.html", schema=ReflectionForm(),
        defaults={"week": current_week(g.programme), "material_id": request.args.get(
            "material", "")[:40], "development_areas": []},
        context=_form_context(), submit=submit,
        done=lambda rid: url_for("web.my_log", saved="reflection"),
        saved=_("Your reflection is saved."))


@bp.route("/p/decisions/new", methods=["GET", "POST"])
@participant_required
def new_decision() -> Any:
    app = framdrift_app()
    me = g.me

    def submit(d: dict[str, Any]) -> Any:
        return app.make_decision(
            me["id"], programme_id=me["programme_id"], week=d["week"],
            statement=d["statement"], rationale=d["rationale"] or None,
            based_on=d["based_on"], development_areas=d["development_areas"],
            request_id=d["request_id"])

    return handle_form(
        template="p_decision.html", schema=DecisionForm(),
        defaults={"week": current_week(g.programme), "based_on": [], "development_areas": []},
        context=_form_context(_my_records("reflection", "decision")), submit=submit,
        done=lambda rid: url_for("web.my_log", saved="decision"),
        saved=_("Your decision is saved."))


@bp.route("/p/experiments/new", methods=["GET", "POST"])
@participant_required
def new_experiment() -> Any:
    app = framdrift_app()
    me = g.me

    def submit(d: dict[str, Any]) -> Any:
        return app.plan_experiment(
            me["id"], programme_id=me["programme_id"], week=d["week"], aim=d["aim"],
            change=d["change"], prediction=d["prediction"], measure=d["measure"],
            based_on=d["based_on"], units=d["units"] or [me["unit"]],
            development_areas=d["development_areas"], request_id=d["request_id"])

    return handle_form(
        template="p_experiment.html", schema=ExperimentForm(),
        defaults={"week": current_week(g.programme), "based_on": [], "units": [me["unit"]],
                  "development_areas": []},
        context=_form_context(_my_records("reflection", "decision", "experiment")),
        submit=submit, done=lambda rid: url_for("web.record", record_id=rid),
        saved=_("Your experiment is planned."))


@bp.route("/p/experiments/<record_id>/next", methods=["GET", "POST"])
@participant_required
def next_cycle(record_id: str) -> Any:
    app = framdrift_app()
    previous = own_record(app, record_id, "experiment")
    me = g.me

    def submit(d: dict[str, Any]) -> Any:
        return app.plan_next_cycle(
            previous["id"], participant_id=me["id"], week=d["week"], aim=d["aim"],
            change=d["change"], prediction=d["prediction"], measure=d["measure"],
            units=d["units"] or None, development_areas=d["development_areas"],
            request_id=d["request_id"])

    return handle_form(
        template="p_experiment.html", schema=NextCycleForm(),
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
        return app.establish_capability(
            me["id"], programme_id=me["programme_id"], week=d["week"], name=d["name"],
            description=d["description"], experiments=d["experiments"],
            development_areas=d["development_areas"], request_id=d["request_id"])

    experiments = [r for r in _my_records("experiment")
                   if r.get("stage") == "concluded" and r.get("outcome") == "adopt"]
    return handle_form(
        template="p_capability.html", schema=CapabilityForm(),
        defaults={"week": current_week(g.programme), "experiments": [],
                  "development_areas": []},
        context=_form_context(experiments), submit=submit,
        done=lambda rid: url_for("web.record", record_id=rid),
        saved=_("The capability is saved."), aliases={"based_on": "experiments"})


# ---------------------------------------------------------------- one record


STEP_SCHEMAS: dict[str, type[ma.Schema]] = {
    "start": StartForm, "observe": ObservationForm, "evaluate": EvaluationForm,
    "conclude": ConclusionForm, "refine": RefineForm, "withdraw": WithdrawForm,
    "reverse": ReverseForm, "apply": ApplyForm,
}
STEP_KINDS = {"start": "experiment", "observe": "experiment", "evaluate": "experiment",
              "conclude": "experiment", "refine": "capability", "apply": "capability",
              "withdraw": "reflection", "reverse": "decision"}


def _record_page(record: dict[str, Any], *, step: str | None = None,
                 values: dict[str, Any] | None = None,
                 errors: dict[str, list[str]] | None = None, status: int = 200) -> Any:
    app = framdrift_app()
    bases = []
    for base_id in record["based_on"]:
        try:
            base = app.get_record(base_id)
        except domain_errors.NotFoundError:
            continue
        mine = base["participant_id"] == g.me["id"]
        bases.append({"id": base_id, "kind": base["kind"],
                      "title": _title(base) if mine else "", "mine": mine})
    step_values = {name: {"request_id": new_request_id(), "expected_version": record["version"],
                          "week": current_week(g.programme), "unit": g.me["unit"]}
                   for name in STEP_SCHEMAS}
    if step and values is not None:
        step_values[step] = values
    material = next((m for m in g.programme["materials"]
                     if m["material_id"] == record.get("material_id")), None)
    return render("p_record.html", programme=g.programme, me=g.me, record=record,
                  bases=bases, step=step, step_values=step_values, errors=errors or {},
                  weeks=_week_choices(), material=material, areas=area_names(g.programme),
                  theme=week_theme(g.programme, record["week"]), changes=changes(record),
                  history=record_history(app, record["id"]), units=g.programme["units"],
                  unit_names={u["key"]: u["name"] for u in g.programme["units"]}), status


@bp.get("/p/records/<record_id>")
@participant_required
def record(record_id: str) -> Any:
    return _record_page(own_record(framdrift_app(), record_id))


@bp.post("/p/records/<record_id>/<step>")
@participant_required
def record_step(record_id: str, step: str) -> Any:
    app = framdrift_app()
    if step not in STEP_SCHEMAS:
        return render("error.html", code=404, title=_("Page not found"), message=None), 404
    current = own_record(app, record_id, STEP_KINDS[step])
    schema = STEP_SCHEMAS[step]()
    data, errors = load(schema, request.form)
    values = typed(request.form, schema)
    status = 422
    if not errors:
        common = {"participant_id": g.me["id"], "expected_version": data["expected_version"],
                  "request_id": data["request_id"]}
        try:
            with acting_as(actor()):
                if step == "start":
                    app.start_experiment(current["id"], week=data["week"], **common)
                elif step == "observe":
                    app.record_observation(current["id"], text=data["text"], **common)
                elif step == "evaluate":
                    app.evaluate_experiment(current["id"], result=data["result"],
                                            learning=data["learning"], **common)
                elif step == "conclude":
                    app.conclude_experiment(current["id"], outcome=data["outcome"], **common)
                elif step == "refine":
                    app.refine_capability(current["id"], description=data["description"],
                                          **common)
                elif step == "apply":
                    app.apply_capability(current["id"], unit=data["unit"], note=data["note"],
                                         **common)
                elif step == "withdraw":
                    app.withdraw_reflection(current["id"], reason=data["reason"] or None,
                                            **common)
                else:
                    app.reverse_decision(current["id"], reason=data["reason"], **common)
        except domain_errors.DomainError as e:
            status = 409 if isinstance(e, domain_errors.ConcurrentChangeError) else 422
            errors = domain_errors_for(e, schema.fields, {"stage": "_form"})
        else:
            flash(str(STEP_SAVED[step]) if step in STEP_SAVED else _("Saved."), "ok")
            return redirect(url_for("web.record", record_id=current["id"], saved=step))
    return _record_page(current, step=step, values=values, errors=errors, status=status)


STEP_SAVED = {"withdraw": _l("The reflection is withdrawn; it stays in your log's history."),
              "reverse": _l("The decision is reversed; it stays in your log's history."),
              "apply": _l("The application of the capability is recorded.")}


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
        template="p_amend.html", schema=AmendForm(),
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
        app.revise_decision(
            current["id"], participant_id=g.me["id"], statement=d["statement"],
            rationale=d["rationale"] or None, based_on=d["based_on"],
            units=d["units"] or None, expected_version=d["expected_version"],
            request_id=d["request_id"])
        return current["id"]

    candidates = [r for r in _my_records("reflection", "decision") if r["id"] != current["id"]]
    return handle_form(
        template="p_revise.html", schema=ReviseForm(),
        defaults={"statement": current.get("statement") or "",
                  "rationale": current.get("rationale") or "",
                  "based_on": current["based_on"], "units": current.get("units") or [],
                  "expected_version": current["version"]},
        context={**_form_context(candidates), "record": current}, submit=submit,
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
        template="p_consent.html", schema=ConsentForm(),
        defaults={"expected_version": me["version"],
                  "consent": "withdraw" if me["consent"] else "give"},
        context={"programme": g.programme, "me": me}, submit=submit,
        done=lambda _r: url_for("web.consent"),
        saved=_("Your choice about research use is recorded."))


# ------------------------------------------------------------------- materials


@bp.route("/p/materials", methods=["GET", "POST"])
@participant_required
def materials() -> Any:
    app = framdrift_app()
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        data, errors = load(MaterialForm(), request.form)
        if not errors:
            try:
                with acting_as(actor()):
                    app.record_material_taken_part_of(
                        g.me["id"], data["material_id"], request_id=data["request_id"])
            except domain_errors.DomainError as e:
                errors = domain_errors_for(e, ("material_id",))
            else:
                flash(_("Noted: you have taken part of the material."), "ok")
                return redirect(url_for("web.materials"))
        status = 422
    done = set(g.me["materials"])
    by_week: dict[int, list[dict[str, Any]]] = {}
    for m in g.programme["materials"]:
        by_week.setdefault(m["week"], []).append(dict(m, done=m["material_id"] in done))
    weeks = [dict(w, materials=by_week.get(w["number"], [])) for w in g.programme["weeks"]]
    return render("p_materials.html", programme=g.programme, me=g.me, weeks=weeks,
                  errors=errors, request_id=new_request_id()), status
