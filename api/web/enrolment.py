"""Enrolling several participants from a CSV list (``/r/programmes/<id>/participants/import``).

One form, three steps: paste or upload the list -> "Preview" (every row checked, the bad
ones with their reason at the row; the list stays in the text box for editing) -> "Enrol
N participants" (all or none, in one transaction). The preview keeps nothing on the
server: the list travels in the form, which carries the CSRF token and a request id like
every other form, so sending it twice enrols nobody twice (``api/enrolment.py``).

With e-mail set up (``FRAMDRIFT_SMTP_URL``), the form has "Send the invitations by e-mail
when enrolling", ticked by default: enrolling then queues each participant's invitation
(with their personal link) in the same post, so a cohort is enrolled and invited in one
action, and the answer redirects to the cohort's page with each invitation's state. The
invitations are queued after the enrolment's transaction under the form's request id, so a
resent form queues only what is missing, and nobody gets two
(docs/adr/0014-cohort-enrol-and-invite.md). Without e-mail, or unticked, the links are shown
once to pass on, as before.
"""

from __future__ import annotations

import re
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from api import enrolment
from api.app import framdrift_app
from api.web import bp
from api.web.common import actor, get_programme_or_404, new_request_id, render, researcher_required
from api.web.forms import RequestSchema, Whole, domain_errors_for, load
from domain import errors as domain_errors
from domain.accounts import MAX_LINK_DAYS, course_link_days, issue_link
from domain.context import acting_as

# The list may come as text and as a file in one request (1 MB each, see MAX_BYTES); the
# proxy (deploy/nginx.conf) takes bodies up to 2 MiB too.
MAX_REQUEST = 2 * 1024 * 1024
REQUEST_ID = re.compile(r"[A-Za-z0-9-]{8,64}")  # as api.web.forms.RequestSchema


class EnrolManyForm(RequestSchema):
    days = Whole(low=1, high=MAX_LINK_DAYS, load_default=None)  # None: the course's length


def _invite_wanted(form: Any, enabled: bool) -> bool:
    """The "send the invitations now" box: on the first page it is ticked when e-mail is set
    up; from then on the form says (an unticked box is absent from the post)."""
    return enabled and form.get("invite") == "yes"


def _queue_invitations(app: Any, programme_id: str, ids: list[str], request_id: str) -> int:
    """Invitations for the participants just enrolled, once per enrolment form."""
    from api import mail
    from api.web.common import base_url
    from api.web.mail import _kick, _language

    with acting_as(actor()):
        queued = mail.invite(app, programme_id, ids, request_key=f"enrol:{request_id}",
                             language=_language(), base_url=base_url())
    _kick()
    return queued


def _list_text() -> tuple[str, dict[str, list[str]]]:
    """The list: an uploaded file if one was chosen, else the text box."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        try:
            return enrolment.decode(upload.read(enrolment.MAX_BYTES + 1)), {}
        except enrolment.ListError as e:
            return "", {"file": [str(e)]}
    return request.form.get("csv", ""), {}


@bp.route("/r/programmes/<programme_id>/participants/import", methods=["GET", "POST"])
@researcher_required
def enrol_many(programme_id: str) -> Any:
    from api.web.mail import mail_enabled

    app = framdrift_app()
    p = get_programme_or_404(app, programme_id)
    enabled = mail_enabled()
    days = course_link_days(p)
    context: dict[str, Any] = {"programme": p, "preview": None, "errors": {},
                               "mail_on": enabled, "invitation_days": days}
    if request.method == "GET":
        return render("r_enrol_many.html", values={"request_id": new_request_id(), "days": days,
                                                   "csv": "", "invite": enabled}, **context)
    request.max_content_length = MAX_REQUEST
    request.max_form_memory_size = MAX_REQUEST
    data, errors = load(EnrolManyForm(), request.form)
    data["days"] = data.get("days") or days
    text, file_errors = _list_text()
    errors.update(file_errors)
    leave_out = request.form.get("leave_out") == "yes"
    wants_enrol = request.form.get("action") == "enrol"
    invite = _invite_wanted(request.form, enabled)
    values = {"request_id": new_request_id(), "csv": text, "days": request.form.get("days", days),
              "leave_out": leave_out, "invite": invite}
    if wants_enrol and not errors:
        done = enrolment.sent_before(app, data["request_id"])
        if done:  # this very form was sent before: it enrolled them, all at once
            return _already_sent(app, p, done, data, invite)
    preview = None
    if not errors:
        try:
            preview = enrolment.preview(text, p["units"],
                                        enrolment.enrolled_emails(app, p["id"]))
        except enrolment.ListError as e:
            errors = {"csv": [str(e)]}
        else:
            if not preview.rows:
                errors = {"csv": [_("Paste or upload a list with at least one participant.")]}
    if preview is not None and not errors and wants_enrol:
        if preview.bad and not leave_out:
            errors = {"leave_out": [_("Fix the rows with problems in the list, or tick "
                                      "the box to leave them out.")]}
        elif not preview.good:
            errors = {"csv": [_("No row can be enrolled: fix the rows with problems.")]}
        else:
            try:
                with acting_as(actor()):
                    try:
                        # p was read before the preview's check: a list enrolled since
                        # conflicts on the programme's version (ADR 0022)
                        ids = enrolment.enrol(app, p["id"], preview.good, data["request_id"],
                                              checked_at=p["version"])
                    except domain_errors.ConcurrentChangeError:
                        # often this form's own first try, saved meanwhile: answer as it did
                        if not enrolment.sent_before(app, data["request_id"]):
                            raise
                        return _already_sent(app, p, enrolment.sent_before(
                            app, data["request_id"]), data, invite)
                    # with invitations, each link goes out in its e-mail, not on the page
                    secrets = [] if invite else [
                        issue_link(app, role="participant", subject=pid,
                                   days=data["days"])[0] for pid in ids]
            except domain_errors.DomainError as e:
                errors = domain_errors_for(e, ("csv",))
                if isinstance(e, enrolment.AlreadyEnrolledError):
                    # another list enrolled some of these rows meanwhile: the preview is
                    # made again, so it shows them as problems and offers to leave them out
                    preview = enrolment.preview(text, p["units"],
                                                enrolment.enrolled_emails(app, p["id"]))
            else:
                from api.web.researcher import _link_url

                flash(ngettext("%(num)s participant enrolled.",
                               "%(num)s participants enrolled.", len(ids)), "ok")
                people = [app.get_participant(pid) for pid in ids]
                if invite:
                    queued = _queue_invitations(app, p["id"], ids, data["request_id"])
                    flash(_("%(n)s invitation(s) queued for sending.", n=queued), "ok")
                    return _to_cohort(p, data["request_id"])
                return render("r_enrolled.html", programme=p, days=data["days"], again=False,
                              invited=False, mail_on=enabled,
                              enrolled=[(x, _link_url(s)) for x, s in zip(people, secrets,
                                                                          strict=True)])
    unit_names = {u["key"]: u["name"] for u in p["units"]}
    status = 422 if errors or (preview is not None and preview.bad) else 200
    return render("r_enrol_many.html", values=values, **{
        **context, "preview": preview, "errors": errors, "unit_names": unit_names}), status


def _already_sent(app: Any, p: dict[str, Any], ids: list[str], data: dict[str, Any],
                  invite: bool) -> Any:
    """The answer to this very form sent again: the participants it enrolled (no links: they
    were shown once), and, when it asked for invitations, whatever of them was not queued
    yet (a first try that stopped between the enrolment and the invitations)."""
    if invite:
        queued = _queue_invitations(app, p["id"], ids, data["request_id"])
        if queued:
            flash(_("%(n)s invitation(s) queued for sending.", n=queued), "ok")
        return _to_cohort(p, data["request_id"])
    people = [app.get_participant(pid) for pid in ids]
    return render("r_enrolled.html", programme=p, enrolled=[(x, None) for x in people],
                  days=data["days"], again=True, invited=False)


def _to_cohort(p: dict[str, Any], request_id: str) -> Any:
    """After enrolling with invitations no link is on the page, so the answer is a redirect
    (reloading the page to follow the sending then sends no form again)."""
    return redirect(url_for("web.enrolled_cohort", programme_id=p["id"],
                            request_id=request_id))


@bp.get("/r/programmes/<programme_id>/participants/import/<request_id>")
@researcher_required
def enrolled_cohort(programme_id: str, request_id: str) -> Any:
    """The participants one enrolment form enrolled, with their invitations' state."""
    app = framdrift_app()
    p = get_programme_or_404(app, programme_id)
    if not REQUEST_ID.fullmatch(request_id):
        abort(404)
    people = [app.get_participant(pid) for pid in enrolment.sent_before(app, request_id)]
    people = [x for x in people if x["programme_id"] == p["id"] and not x["erased"]]
    if not people:
        abort(404)
    return render("r_enrolled.html", programme=p, enrolled=[(x, None) for x in people],
                  days=None, again=False, invited=True)
