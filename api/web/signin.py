"""Signing in and out, the start page and the language switch."""

from __future__ import annotations

import re
from typing import Any

from flask import (
    current_app,
    flash,
    has_request_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _

from api.app import framdrift_app
from api.auth import (
    current_principal,
    drafts_key,
    login,
    refuse_tokens_outside_api,
    sign_out,
)
from api.web import bp
from api.web.common import safe_next
from api.web.forms import LoginForm, load
from api.web.setup import LANG_COOKIE, LANGUAGES
from domain.accounts import verify_link, verify_password
from domain.application import Framdrift
from domain.context import acting_as


@bp.record_once
def _refuse_tokens(state: Any) -> None:
    """API tokens are for /api/v1 only: refused on every other route of the app (ADR 0006),
    first of all request hooks (before CSRF and rate limits look at the request)."""
    state.app.before_request_funcs.setdefault(None, []).insert(0, refuse_tokens_outside_api)


@bp.app_context_processor
def _signed_in() -> dict[str, Any]:
    """For base.html: the signed-in person's role (a session's, never a token's), the
    opaque key their drafts are kept under, and whose drafts to clear after a sign-out."""
    principal = None
    clear = saved = None
    if has_request_context():
        try:
            principal = current_principal()
        except Exception:  # noqa: BLE001 - an error page must render without the store
            principal = None
        clear = session.pop("clear_drafts", None)
        saved = session.pop("saved_drafts", None)
    if principal is not None and principal.via != "session":
        principal = None
    return {"signed_in_role": principal.role if principal else None,
            "drafts_owner": drafts_key(principal) if principal else None,
            "clear_drafts_of": clear if isinstance(clear, str) else None,
            "saved_drafts": saved if isinstance(saved, list) else []}


DRAFT_KEY = re.compile(r"[A-Za-z0-9_-]{1,80}")


@bp.after_request
def remember_saved_draft(response: Any) -> Any:
    """A form post that carries its draft's key (framdrift.js adds ``_draft``) and was
    saved, i.e. answered with a redirect, has that draft cleared on the next page
    (base.html); one that was not (the form again, with its errors) keeps it. Without
    this, a form whose redirect did not name what was saved (a decision saved "and plan
    an experiment", a planned programme) offered the saved text again as unsaved, and
    sending it made a second record."""
    if request.method == "POST" and response.status_code in (302, 303):
        key = request.form.get("_draft", "")
        if DRAFT_KEY.fullmatch(key):
            session["saved_drafts"] = [*session.get("saved_drafts", [])[-4:], key]
    return response


def _limit(setting: str = "SIGNIN_RATE_LIMIT") -> Any:
    """A sign-in rate limit (per client address), as a context manager."""
    limiter = current_app.extensions["framdrift_limiter"]
    return limiter.limit(current_app.config[setting])


def _start_session(role: str, subject: str, link_id: str | None = None) -> None:
    lang = session.get("lang") or request.cookies.get(LANG_COOKIE)
    session.clear()  # a fresh session on sign-in (no fixation)
    if lang in LANGUAGES:
        session["lang"] = lang
    login(role, subject, link_id)
    session.permanent = True


def home_for(role: str | None) -> str:
    if role == "participant":
        return url_for("web.my_log")
    if role == "researcher":
        return url_for("web.programmes")
    if role == "evaluator":
        return url_for("web.evaluator_programmes")
    return url_for("web.index")


@bp.get("/")
def index() -> Any:
    principal = current_principal()
    if principal is not None and principal.role in ("participant", "researcher", "evaluator"):
        return redirect(home_for(principal.role))
    return render_template("index.html")


@bp.route("/login", methods=["GET", "POST"], endpoint="login")
def login_page() -> Any:
    values: dict[str, Any] = {"next": request.args.get("next", "")}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        with _limit():
            data, errors = load(LoginForm(), request.form)
            values = {"username": request.form.get("username", "")[:254],
                      "next": request.form.get("next", "")[:500]}
            if not errors:
                rid = verify_password(framdrift_app(), data["username"], data["password"])
                if rid is None:
                    errors = {"_form": [_("Wrong user name or password.")]}
                else:
                    _start_session("researcher", str(rid))
                    return redirect(safe_next(data["next"], url_for("web.programmes")))
    status = 422 if errors else 200
    return render_template("login.html", values=values, errors=errors), status



@bp.get("/in/<path:secret>")
def sign_in_link(secret: str) -> Any:
    """A personal sign-in link: check it, start a session, go to the person's home page."""
    with _limit("SIGNIN_LINK_RATE_LIMIT"):
        app: Framdrift = framdrift_app()
        info = verify_link(app, secret)
        if info is not None and info.role == "participant":
            try:
                if app.get_participant(info.subject)["erased"]:
                    info = None
            except Exception:  # noqa: BLE001 - the participant is gone
                info = None
        try:
            if info is None:
                raise ValueError("not a valid link")
            resume = session.get("resume")
            _start_session(info.role, info.subject, str(info.id))
        except ValueError:  # unknown, expired or revoked (perhaps a moment ago)
            return render_template("link_invalid.html"), 404
        flash(_("You are signed in."), "ok")
        back = safe_next(resume, "") if isinstance(resume, str) else ""
        if info.role == "participant" and back.startswith("/p/"):
            return redirect(back)  # back to the page whose form was sent after the end
        return redirect(home_for(info.role))


@bp.post("/logout", endpoint="logout")
def logout_page() -> Any:
    """Sign out: the session ends on the server (a copy of the cookie opens nothing
    after this), and the next page clears this person's drafts from the browser."""
    principal = current_principal()
    owner = drafts_key(principal) if principal is not None else None
    if principal is not None:
        with acting_as(principal.actor):
            sign_out()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    if owner:
        session["clear_drafts"] = owner
    flash(_("You are signed out."), "ok")
    return redirect(url_for("web.index"))


@bp.get("/lang/<code>")
def set_language(code: str) -> Any:
    response = redirect(safe_next(request.args.get("next"), url_for("web.index")))
    if code in LANGUAGES:
        session["lang"] = code
        # a cookie of its own, so the language outlives the session (an expired session
        # still answers in the person's language)
        response.set_cookie(LANG_COOKIE, code, max_age=400 * 24 * 3600, samesite="Lax",
                            httponly=True, secure=request.is_secure)
    return response
