"""A programme's maturity instrument on the researchers' pages: the score fields of the
assessment form (one per dimension, on its scale) and ``/r/programmes/<id>/instrument``,
where the dimensions are renamed (in Swedish and English), given a category, re-scaled
while unscored, and added. Every save records a new version of the instrument
(``Programme.MaturityInstrumentDefined``); nothing is changed in place."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import marshmallow as ma
from flask import request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from api.app import framdrift_app
from api.web import bp
from api.web.common import get_programme_or_404, render, researcher_required
from api.web.forms import Line, MaturityForm, VersionedSchema, domain_message
from api.web.labels import dimension_name
from api.web.participant import handle_form, typed
from domain import errors

MAX_SCORE_TEXT = 20


def scale_text(low: float, high: float) -> str:
    from api.web.setup import format_number

    return f"{format_number(low)}–{format_number(high)}"


class Score(ma.fields.Float):
    """A score on one dimension's scale; a decimal comma is read as a point. Its messages
    name the range (the page's error summary names the dimension: the field's label)."""

    def __init__(self, low: float = 0.0, high: float = 100.0, message: Any = None,
                 **kwargs: Any):
        message = message or _l("Enter a number from %(low)s to %(high)s.", low=f"{low:g}",
                                high=f"{high:g}")
        kwargs.setdefault("required", True)
        super().__init__(
            allow_nan=False, validate=ma.validate.Range(low, high, error=message),
            error_messages={"invalid": message, "special": message,
                            "required": _l("Fill in this field."),
                            "null": _l("Fill in this field.")}, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            if len(value) > MAX_SCORE_TEXT:
                raise self.make_error("invalid")
            value = value.strip().replace(",", ".")
        return super()._deserialize(value, attr, data, **kwargs)


def bound() -> Score:
    """An end of a scale: any number (within a billion either way)."""
    return Score(-1e9, 1e9, message=_l("Enter a number."))


def assessment_schema(instrument: list[dict[str, Any]]) -> ma.Schema:
    """The assessment form of this instrument: ``score_<i>`` on the i-th dimension's scale."""
    fields = {f"score_{i}": Score(d["scale_min"], d["scale_max"])
              for i, d in enumerate(instrument)}
    return type("MaturityScores", (MaturityForm,), fields)()


def score_labels(instrument: list[dict[str, Any]]) -> dict[str, str]:
    """``score_<i>`` -> the dimension's name, for the error summary."""
    return {f"score_{i}": dimension_name(d["key"]) for i, d in enumerate(instrument)}


# ------------------------------------------------------------------ the instrument page


def _new_key(name: str, taken: set[str]) -> str:
    """A key for an added dimension, from its English name (a-z, 0-9, _), unique."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "_", plain.lower()).strip("_")[:60] or "dimension"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key


class InstrumentForm(VersionedSchema):
    """The fields common to every version of the form; those of each dimension are added
    per programme (``instrument_schema``)."""

    name_sv_new = Line(load_default="", limit=80)
    name_en_new = Line(load_default="", limit=80)
    category_new = Line(load_default="", limit=80)
    scale_min_new = Score(-1e9, 1e9, message=_l("Enter a number."), load_default=0.0,
                          required=False)
    scale_max_new = Score(-1e9, 1e9, message=_l("Enter a number."), load_default=100.0,
                          required=False)

    @ma.validates_schema
    def _new_dimension(self, data: dict[str, Any], **kwargs: Any) -> None:
        """An added dimension needs both names; a scale goes upwards."""
        sv, en = data.get("name_sv_new"), data.get("name_en_new")
        if sv and not en:
            raise ma.ValidationError(_l("Fill in this field."), "name_en_new")
        if en and not sv:
            raise ma.ValidationError(_l("Fill in this field."), "name_sv_new")
        for suffix in [k[len("scale_max"):] for k in data if k.startswith("scale_max")]:
            low, high = data.get(f"scale_min{suffix}"), data.get(f"scale_max{suffix}")
            if low is not None and high is not None and not low < high:
                raise ma.ValidationError(
                    _l("The highest score must be above the lowest."), f"scale_max{suffix}")


def instrument_schema(instrument: list[dict[str, Any]], assessed: set[str]) -> ma.Schema:
    fields: dict[str, Any] = {}
    for i, d in enumerate(instrument):
        fields[f"name_sv_{i}"] = Line(required=True, limit=80)
        fields[f"name_en_{i}"] = Line(required=True, limit=80)
        fields[f"category_{i}"] = Line(load_default="", limit=80)
        if d["key"] not in assessed:  # a scored dimension keeps its scale
            fields[f"scale_min_{i}"] = bound()
            fields[f"scale_max_{i}"] = bound()
    return type("InstrumentFields", (InstrumentForm,), fields)()


def dimensions_posted(instrument: list[dict[str, Any]],
                      d: dict[str, Any]) -> list[dict[str, Any]]:
    """The whole new version: each dimension renamed in place (its key kept), plus the
    added one when it has names."""
    out = []
    for i, old in enumerate(instrument):
        out.append({"key": old["key"], "name_sv": d[f"name_sv_{i}"],
                    "name_en": d[f"name_en_{i}"], "category": d[f"category_{i}"] or None,
                    "scale_min": d.get(f"scale_min_{i}", old["scale_min"]),
                    "scale_max": d.get(f"scale_max_{i}", old["scale_max"])})
    if d.get("name_sv_new") and d.get("name_en_new"):
        out.append({"key": _new_key(d["name_en_new"], {x["key"] for x in instrument}),
                    "name_sv": d["name_sv_new"], "name_en": d["name_en_new"],
                    "category": d["category_new"] or None,
                    "scale_min": d["scale_min_new"], "scale_max": d["scale_max_new"]})
    return out


@bp.route("/r/programmes/<programme_id>/instrument", methods=["GET", "POST"])
@researcher_required
def instrument(programme_id: str) -> Any:
    from flask import g

    app = framdrift_app()
    p = get_programme_or_404(app, programme_id)
    g.programme = p
    dims = p["instrument"]
    assessed = set(p.get("assessed_dimensions") or [])
    defaults: dict[str, Any] = {"expected_version": p["version"], "scale_min_new": "0",
                                "scale_max_new": "100"}
    for i, d in enumerate(dims):
        defaults.update({f"name_sv_{i}": d["name_sv"], f"name_en_{i}": d["name_en"],
                         f"category_{i}": d["category"] or "",
                         f"scale_min_{i}": f"{d['scale_min']:g}",
                         f"scale_max_{i}": f"{d['scale_max']:g}"})

    def submit(data: dict[str, Any]) -> Any:
        return app.define_maturity_instrument(
            p["id"], dimensions=dimensions_posted(dims, data),
            expected_version=data["expected_version"], request_id=data["request_id"])

    schema = instrument_schema(dims, assessed)
    context = {"programme": p, "dimensions": list(enumerate(dims)), "assessed": assessed,
               "scale_text": scale_text}
    posted = request.form.get("expected_version", "")
    if request.method == "POST" and posted.isdigit() and int(posted) != p["version"]:
        # read at another version: its fields may not even match the dimensions now
        stale = errors.ConcurrentChangeError("changed since the form was read")
        return render("r_instrument.html", values=typed(request.form, schema),
                      errors={"_form": [domain_message(stale)]}, **context), 409
    return handle_form(
        template="r_instrument.html", schema=schema, defaults=defaults, context=context,
        submit=submit, saved=_("The maturity instrument is saved."),
        done=lambda _result: url_for("web.instrument", programme_id=p["id"]),
        aliases={"dimensions": "_form", "key": "_form", "scale_max": "_form",
                 "scale_min": "_form", "name_sv": "_form", "name_en": "_form",
                 "category": "_form"})
