"""The evaluators' read-only web pages (``/e/...``, ADR 0015) and the researchers' page that
issues evaluator sign-in links (``/r/programmes/<id>/evaluator-links``).

An evaluator signs in with a personal link (``/in/fdl_...``, role ``evaluator``) and sees
the programmes and, per programme, the same charts as the researchers' overview, but
pseudonymous and without any text a participant wrote (``overview_context(...,
pseudonymous=True)``): the pseudonyms the evaluator API uses, never a name, e-mail or quote.

An evaluator's session opens these pages only, and only to read: every other page, form
and the JSON API answer 403 to it (``_evaluators_stay_on_their_pages``, a request hook that
runs before any view). Signing out, switching language and signing in again stay open.
"""

from __future__ import annotations

import functools
from typing import Any

from flask import abort, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _

from api.app import framdrift_app
from api.auth import current_principal, is_api_request
from api.web import bp
from api.web.common import (
    _guard,
    actor,
    get_programme_or_404,
    new_request_id,
    programmes_page,
    render,
    researcher_required,
)
from api.web.forms import LinkForm, load
from api.web.overview import chosen_week, overview_context
from api.web.researcher import _link_url, _programme
from domain import errors as domain_errors
from domain.accounts import (
    DEFAULT_LINK_DAYS,
    issue_evaluator_link,
    list_evaluator_links,
    revoke_links,
)
from domain.context import acting_as

# What an evaluator's session may reach besides the evaluator pages: sign out, the
# language switch, signing in again (as someone else) and static files.
EVALUATOR_PAGES = ("web.evaluator_programmes", "web.evaluator_programme")
EVALUATOR_ALSO = ("web.logout", "web.set_language", "web.sign_in_link", "web.login",
                  "web.index")
READ_METHODS = ("GET", "HEAD")


def _evaluators_stay_on_their_pages() -> Any:
    """``before_request``: a signed-in evaluator reaches the evaluator pages (reading
    only) and nothing else: not a researcher's or participant's page, not a form, not the
    replay, not the JSON API (an evaluator's scripts use an API token). The cookie is
    looked at first, so only an evaluator's request costs a session check here."""
    data = session.get("principal")
    if not (isinstance(data, dict) and data.get("role") == "evaluator"):
        return None
    endpoint = request.endpoint or ""
    if request.url_rule is None or endpoint == "static" or endpoint.endswith(".static") \
            or endpoint.startswith("health."):
        return None
    principal = current_principal()
    if principal is None or principal.role != "evaluator" or principal.via != "session":
        return None  # ended (the view decides as for anyone), or a token under /api/v1
    if endpoint in EVALUATOR_ALSO:
        return None
    if endpoint in EVALUATOR_PAGES and request.method in READ_METHODS:
        return None
    if is_api_request():
        from api.errors import error_response

        return error_response(403, "An evaluator's web session does not open the API; "
                                   "use an API token.")
    # an HTML page whichever blueprint the page is in (the replay's own errors are JSON)
    from api.web.setup import error_page

    return error_page(403, _("Your role does not give access to this page."))


@bp.record_once
def _restrict_evaluators(state: Any) -> None:
    state.app.before_request_funcs.setdefault(None, []).append(_evaluators_stay_on_their_pages)


def evaluator_required(view: Any) -> Any:
    """Only a signed-in evaluator (a link session); others get what ``_guard`` gives."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _guard("evaluator")
        return view(*args, **kwargs)

    return wrapper


# ------------------------------------------------------------------ evaluator pages


@bp.get("/e/")
@evaluator_required
def evaluator_programmes() -> Any:
    page = programmes_page(framdrift_app(), live=False)
    return render("e_programmes.html", programmes=page["items"], page=page,
                  synthetic=any(p["synthetic"] for p in page["items"]))


@bp.get("/e/programmes/<programme_id>")
@evaluator_required
def evaluator_programme(programme_id: str) -> Any:
    app = framdrift_app()
    p = get_programme_or_404(app, programme_id)
    g.programme = p
    context = overview_context(app, p, chosen_week(p), pseudonymous=True)
    return render("e_programme.html", week_endpoint="web.evaluator_programme", **context)


# ------------------------------------------------- researchers: evaluator links


def _links_page(p: dict[str, Any], *, errors: dict[str, list[str]] | None = None,
                link: str | None = None, days: int = DEFAULT_LINK_DAYS,
                status: int = 200) -> Any:
    links = sorted(list_evaluator_links(framdrift_app()), key=lambda i: i.issued_on,
                   reverse=True)
    return render("r_evaluator_links.html", programme=p, links=links, errors=errors or {},
                  link=link, days=days, new_request_id=new_request_id), status


@bp.get("/r/programmes/<programme_id>/evaluator-links")
@researcher_required
def evaluator_links(programme_id: str) -> Any:
    return _links_page(_programme(programme_id))


@bp.post("/r/programmes/<programme_id>/evaluator-links")
@researcher_required
def evaluator_link_new(programme_id: str) -> Any:
    """A new evaluator link, shown once (only its hash is kept)."""
    p = _programme(programme_id)
    data, errors = load(LinkForm(), request.form)
    if errors:
        return _links_page(p, errors=errors, status=422)
    data["days"] = data["days"] or DEFAULT_LINK_DAYS
    with acting_as(actor()):
        secret, _link_id, _evaluator = issue_evaluator_link(framdrift_app(),
                                                            days=data["days"])
    return _links_page(p, link=_link_url(secret), days=data["days"])


@bp.post("/r/programmes/<programme_id>/evaluator-links/<evaluator_id>/revoke")
@researcher_required
def evaluator_link_revoke(programme_id: str, evaluator_id: str) -> Any:
    p = _programme(programme_id)
    _data, errors = load(LinkForm(), request.form)
    if errors:
        abort(400)
    if evaluator_id not in {i.subject for i in list_evaluator_links(framdrift_app())}:
        abort(404)
    try:
        with acting_as(actor()):
            count = revoke_links(framdrift_app(), evaluator_id, "revoked by a researcher")
    except domain_errors.DomainError:
        abort(409)
    flash(_("%(n)s sign-in link(s) revoked.", n=count), "ok")
    return redirect(url_for("web.evaluator_links", programme_id=p["id"]))
