"""E-mail on the web pages (api/mail.py, docs/adr/0013-mail-outbox.md):

- ``/r/programmes/<id>/mail`` — the programme's outbox (queued, sent, failed with the
  reason, "retry now"), reminders to those who have not logged this week (now, or every
  week at a set weekday and hour);
- ``POST /r/programmes/<id>/invitations`` — invitations with a fresh personal link, for
  the participants ticked on the programme page (``participant_id``, repeated) or for all
  not yet invited (``all_uninvited=1``);
- ``/link`` — public: a participant asks for a new link by e-mail address. The answer is
  the same page at once whether or not the address is known: the look-up and the queueing
  run in a background thread. Limited per client address and per e-mail address.

Without SMTP (``FRAMDRIFT_SMTP_URL`` unset) the pages say so; invitations then show the
links to pass on by hand, as enrolment does.
"""

from __future__ import annotations

import re
from typing import Any

import marshmallow as ma
from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from api import mail
from api.app import framdrift_app
from api.web import bp
from api.web.common import (
    actor,
    base_url,
    current_week,
    new_request_id,
    participants_of,
    render,
    researcher_required,
)
from api.web.forms import Choice, IdList, Line, RequestSchema, Whole, load
from api.web.researcher import _link_url, _programme
from api.web.signin import _limit
from domain import errors as domain_errors
from domain import mail as outbox
from domain.accounts import course_link_days, issue_link
from domain.context import acting_as

EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class InvitationForm(RequestSchema):
    participant_id = IdList()
    all_uninvited = Choice(("1",), load_default=None)
    language = Choice(("sv", "en"), load_default="sv")


class ReminderForm(RequestSchema):
    language = Choice(("sv", "en"), load_default="sv")


class ScheduleForm(RequestSchema):
    weekday = Choice(("", "0", "1", "2", "3", "4", "5", "6"), load_default="")
    hour = Whole(low=0, high=23, load_default=None)


class LinkRequestForm(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    email = Line(required=True, limit=254)

    @ma.validates("email")
    def _email(self, value: str, **kwargs: Any) -> None:
        if not EMAIL_RE.fullmatch(value):
            raise ma.ValidationError(_l("Enter an e-mail address."))


def _language() -> str:
    lang = str(get_locale() or "sv")
    return lang if lang in ("sv", "en") else "sv"


def mail_enabled() -> bool:
    try:
        return mail.app_settings(current_app) is not None
    except mail.MailConfigError:
        return False


def _kick() -> None:
    mail.kick(current_app._get_current_object(), framdrift_app())  # type: ignore[attr-defined]


@bp.app_context_processor
def _mail_globals() -> dict[str, Any]:
    return {"mail_enabled": mail_enabled, "invitation_states": _invitation_states,
            "weekday_name": _weekday_name, "mail_request_id": new_request_id,
            "mail_reason": mail_reason}


def mail_reason(reason: str | None) -> str:
    """A failure or a cancellation as recorded (English, from api.mail.describe_error or
    domain.mail.claim) in the page's language; the server's own answer is quoted as it
    came."""
    if not reason:
        return ""
    if reason == "the mail server cannot be reached (connection refused)":
        return str(_l("the mail server cannot be reached (connection refused)"))
    for prefix, text in (
            ("the server refused the recipient: ", _l("the server refused the recipient: "
                                                      "%(answer)s")),
            ("the server answered ", _l("the server answered %(answer)s")),
            ("the mail server cannot be reached ", _l("the mail server cannot be reached "
                                                      "%(answer)s"))):
        if reason.startswith(prefix):
            return str(text) % {"answer": reason[len(prefix):]}
    known = {"the mail server did not answer in time":
             _l("the mail server did not answer in time"),
             "the server offers no STARTTLS: the password is not sent in clear":
             _l("the server offers no STARTTLS: the password is not sent in clear"),
             # why a message was cancelled (domain.mail.claim)
             "participant erased": _l("the participant is erased"),
             "no e-mail address": _l("no e-mail address"),
             "the link is unreadable": _l("the link is unreadable"),
             outbox.LINK_GONE: _l("the link had expired or was revoked before it was "
                                  "sent: invite again for a new one")}
    return str(known.get(reason, reason))


def _weekday_name(day: int) -> str:
    from babel.dates import get_day_names

    return str(get_day_names("wide", locale=str(get_locale() or "sv"))[day])


def _invitation_states(programme_id: str) -> dict[str, str]:
    """Participant id -> the state of their latest invitation (for the programme page)."""
    states: dict[str, str] = {}
    for m in reversed(outbox.outbox(framdrift_app(), programme_id)):  # oldest first
        if m.kind == "invitation" and m.state != "cancelled":
            states[m.participant_id] = m.state
    return states


# ------------------------------------------------------------------------ the outbox


def _outbox_page(p: dict[str, Any], *, errors: dict[str, list[str]] | None = None,
                 status: int = 200) -> Any:
    app = framdrift_app()
    people = {x["id"]: x for x in participants_of(app, p["id"])}
    # what the researcher can act on (a failure to retry) first, then newest first
    messages = sorted(outbox.outbox(app, p["id"]), key=lambda m: m.state != "failed")
    week = current_week(p)
    waiting = mail.not_logged(app, p["id"], week)
    schedule = outbox.get_schedule(app, p["id"])
    counts = {s: sum(1 for m in messages if m.state == s)
              for s in ("queued", "failed", "sent", "cancelled")}
    return render("r_mail.html", programme=p, messages=messages, people=people,
                  week=week, waiting=waiting, schedule=schedule, counts=counts,
                  enabled=mail_enabled(), request_id=new_request_id(),
                  language=_language(), errors=errors or {}), status


@bp.get("/r/programmes/<programme_id>/mail")
@researcher_required
def mail_outbox(programme_id: str) -> Any:
    return _outbox_page(_programme(programme_id))


@bp.post("/r/programmes/<programme_id>/mail/<message_id>/retry")
@researcher_required
def mail_retry(programme_id: str, message_id: str) -> Any:
    app = framdrift_app()
    p = _programme(programme_id)
    data, errors = load(RequestSchema(), request.form)
    if errors:
        abort(400)
    try:
        message = outbox.get_message(app, message_id)
    except domain_errors.NotFoundError:
        abort(404)
    if message.programme_id != p["id"]:
        abort(404)
    with acting_as(actor()):
        if outbox.retry_now(app, message.id):
            flash(_("The message will be sent again now."), "ok")
    _kick()
    return redirect(url_for("web.mail_outbox", programme_id=p["id"]))


# ----------------------------------------------------------------------- invitations


@bp.post("/r/programmes/<programme_id>/invitations")
@researcher_required
def invitations(programme_id: str) -> Any:
    """Invite the ticked participants, or all not yet invited: each gets a fresh link.
    With SMTP the messages are queued (once per form sent) and sent in the background;
    without, the links are shown here once to pass on by hand."""
    app = framdrift_app()
    p = _programme(programme_id)
    data, errors = load(InvitationForm(), request.form)
    if errors:
        if set(errors) <= {"participant_id"}:
            flash(_("Pick participants of this programme."), "error")
            return redirect(url_for("web.programme", programme_id=p["id"]))
        abort(400)
    people = [x for x in participants_of(app, p["id"]) if not x["erased"]]
    known = {x["id"] for x in people}
    if not set(data["participant_id"]) <= known:
        flash(_("Pick participants of this programme."), "error")
        return redirect(url_for("web.programme", programme_id=p["id"]))
    if data["all_uninvited"]:
        already = mail.invited(app, p["id"])
        chosen = [x["id"] for x in people if x["id"] not in already]
    else:
        chosen = list(data["participant_id"])
    if not chosen:
        flash(_("Tick the participants to invite, or invite all not yet invited."), "error")
        return redirect(url_for("web.programme", programme_id=p["id"]))
    if not mail_enabled():
        return _links_by_hand(p, [x for x in people if x["id"] in chosen])
    with acting_as(actor()):
        queued = mail.invite(app, p["id"], chosen, request_key=data["request_id"],
                             language=data["language"], base_url=base_url())
    without = sum(1 for x in people if x["id"] in chosen and not x["email"])
    flash(_("%(n)s invitation(s) queued for sending.", n=queued), "ok")
    if without:
        flash(_("%(n)s participant(s) have no e-mail address: give them a link from their "
                "page.", n=without), "error")
    _kick()
    return redirect(url_for("web.mail_outbox", programme_id=p["id"]))


def _links_by_hand(p: dict[str, Any], people: list[dict[str, Any]]) -> Any:
    app = framdrift_app()
    links = []
    days = course_link_days(p)
    with acting_as(actor()):
        for person in people:
            secret, _id = issue_link(app, role="participant", subject=person["id"],
                                     days=days)
            links.append({"person": person, "link": _link_url(secret)})
    return render("r_mail_links.html", programme=p, links=links, days=days)


# ------------------------------------------------------------------------- reminders


@bp.post("/r/programmes/<programme_id>/reminders")
@researcher_required
def reminders(programme_id: str) -> Any:
    app = framdrift_app()
    p = _programme(programme_id)
    data, errors = load(ReminderForm(), request.form)
    if errors:
        abort(400)
    if not mail_enabled():
        return _outbox_page(p, errors={"_form": [_("E-mail is not set up on this server.")]},
                            status=422)
    try:
        with acting_as(actor()):
            queued = mail.remind(app, p["id"], request_key=data["request_id"],
                                 language=data["language"], base_url=base_url())
    except domain_errors.DomainError as e:
        return _outbox_page(p, errors={"_form": [e.message]}, status=422)
    flash(_("%(n)s reminder(s) queued for sending.", n=queued), "ok")
    _kick()
    return redirect(url_for("web.mail_outbox", programme_id=p["id"]))


@bp.post("/r/programmes/<programme_id>/reminders/schedule")
@researcher_required
def reminder_schedule(programme_id: str) -> Any:
    app = framdrift_app()
    p = _programme(programme_id)
    data, errors = load(ScheduleForm(), request.form)
    if errors:
        return _outbox_page(p, errors=errors, status=422)
    weekday = int(data["weekday"]) if data["weekday"] != "" else None
    hour = data["hour"] if weekday is not None else None
    if weekday is not None and hour is None:
        return _outbox_page(p, errors={"hour": [_("Pick an hour.")]}, status=422)
    with acting_as(actor()):
        outbox.set_schedule(app, p["id"], weekday, hour, _language())
    flash(_("The weekly reminder is set.") if weekday is not None
          else _("The weekly reminder is turned off."), "ok")
    return redirect(url_for("web.mail_outbox", programme_id=p["id"]))


# ----------------------------------------------------------------- a new link on request


def _address_key(address: str) -> str:
    """The per-address rate-limit key: the address's blind-index digest (not the address)."""
    return "link-address:" + outbox.AddressIndex(framdrift_app()).digest(address)


def _look_up_and_queue(flask_app: Any, app: Any, address: str, language: str,
                       base: str) -> None:
    """In the background: find the address, queue a new link, and send it at once."""
    with acting_as("system:new-link"):
        if mail.request_new_link(app, address, language=language, base_url=base):
            settings = mail.app_settings(flask_app)
            if settings and flask_app.config.get("MAIL_SEND_AFTER_REQUEST", True):
                mail.send_pass(app, settings, base_url=base)


@bp.route("/link", methods=["GET", "POST"], endpoint="link_request")
def link_request() -> Any:
    """Ask for a new sign-in link by e-mail. The answer never says whether the address is
    known: the same page, at once (the look-up runs in the background)."""
    enabled = mail_enabled()
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    if request.method == "POST" and enabled:
        with _limit("LINK_REQUEST_RATE_LIMIT"):
            data, errors = load(LinkRequestForm(), request.form)
            values = {"email": request.form.get("email", "")[:254]}
            if not errors:
                limiter = current_app.extensions["framdrift_limiter"]
                address = data["email"]
                key = _address_key(address)
                with limiter.limit(current_app.config["LINK_REQUEST_ADDRESS_LIMIT"],
                                   key_func=lambda: key, scope="link-address"):
                    flask_app = current_app._get_current_object()  # type: ignore[attr-defined]
                    runner = mail.background(flask_app)
                    runner.submit(_look_up_and_queue, flask_app, framdrift_app(), address,
                                  _language(), base_url())
                return render("link_request.html", sent=True, enabled=True, values={},
                              errors={})
    status = 422 if errors else 200
    return render("link_request.html", sent=False, enabled=enabled, values=values,
                  errors=errors), status


@bp.record_once
def _limits(state: Any) -> None:
    import os

    config = state.app.config
    config.setdefault("LINK_REQUEST_RATE_LIMIT",
                      os.environ.get("FRAMDRIFT_LINK_REQUEST_RATE_LIMIT") or "5 per minute")
    config.setdefault("LINK_REQUEST_ADDRESS_LIMIT",
                      os.environ.get("FRAMDRIFT_LINK_REQUEST_ADDRESS_LIMIT") or "3 per hour")
