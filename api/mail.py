"""Sending the outbox (domain/mail.py) through SMTP, and the operations that fill it:
invitations, reminders and a new link on request (docs/adr/0013-mail-outbox.md).

Settings (environment, or the Flask config keys in brackets):

- ``FRAMDRIFT_SMTP_URL`` [``SMTP_URL``]: ``smtp://user:pass@host:587`` (STARTTLS when the
  server offers it; a user name and password are never sent without TLS, except to a
  server on this machine), ``smtps://user:pass@host:465`` (TLS from the start) or
  ``smtp://host:25`` (a local relay, no log-in). Unset: no e-mail; the pages say so and
  show the links to pass on by hand.
- ``FRAMDRIFT_MAIL_FROM`` [``MAIL_FROM``]: the sender, e.g. ``Framdrift <noreply@kommun.se>``.
- ``FRAMDRIFT_BASE_URL``: the public address links point to (the worker has no request).

A pass (:func:`send_pass`) runs the weekly reminder schedules that are due, then claims and
sends every due message. ``framdrift mail send`` runs one pass, ``framdrift mail worker``
one every ``--every`` seconds; the web app runs one in a background thread after a request
that queued mail (:func:`kick`). Sending is at least once: a sender that dies between the
server's acceptance and recording ``Sent`` sends the message again after the claim's lease
(5 minutes), with the same Message-ID.
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import socket
import ssl
import threading
import weakref
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr, formatdate, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape

from domain import errors
from domain import mail as outbox
from domain.accounts import course_link_days, issue_link, link_id_for
from domain.application import Framdrift
from domain.context import now

log = logging.getLogger("framdrift.mail")

TEMPLATES = Path(__file__).resolve().parent / "templates" / "mail"
REMINDER_DAYS = 7  # (an invitation's link lasts the course: course_link_days)
NEW_LINK_DAYS = 30
SMTP_TIMEOUT = 15.0
SUBJECTS = {
    "invitation": {"sv": "Din personliga inloggningslänk till Framdrift – %(title)s",
                   "en": "Your personal link to Framdrift – %(title)s"},
    "reminder": {"sv": "Påminnelse: skriv i din logg den här veckan – %(title)s",
                 "en": "Reminder: write in your log this week – %(title)s"},
    "new_link": {"sv": "Din nya inloggningslänk till Framdrift",
                 "en": "Your new link to Framdrift"},
}


class MailConfigError(ValueError):
    """FRAMDRIFT_SMTP_URL or FRAMDRIFT_MAIL_FROM cannot be used."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    implicit_tls: bool
    username: str | None
    password: str | None
    sender: str

    def describe(self) -> str:
        scheme = "smtps" if self.implicit_tls else "smtp"
        return f"{scheme}://{self.host}:{self.port}"


def smtp_settings(url: str | None = None, sender: str | None = None) -> SmtpSettings | None:
    """The SMTP settings from the arguments or the environment; None when no URL is set."""
    url = (url if url is not None else os.environ.get("FRAMDRIFT_SMTP_URL", "")).strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise MailConfigError("FRAMDRIFT_SMTP_URL must look like smtp://user:pass@host:587, "
                              "smtps://user:pass@host:465 or smtp://host:25")
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
    except ValueError:
        raise MailConfigError("FRAMDRIFT_SMTP_URL has a bad port") from None
    sender = (sender if sender is not None else os.environ.get("FRAMDRIFT_MAIL_FROM", ""))
    sender = sender.strip()
    if not sender or "@" not in parseaddr(sender)[1]:
        raise MailConfigError("FRAMDRIFT_MAIL_FROM must be set to the sender's address, e.g. "
                              "'Framdrift <noreply@kommun.se>'")
    return SmtpSettings(
        host=parts.hostname, port=port, implicit_tls=parts.scheme == "smtps",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None, sender=sender)


# -------------------------------------------------------------------------- templates

_env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                   autoescape=select_autoescape(["html"]), keep_trailing_newline=True)


def days_left(expires_at: datetime | None) -> int:
    """How many days a link has left, as the e-mail says it: from the link itself at send
    time (a message sent late, after retries, must not promise the days it was queued
    with), rounded, and at least one (a link past its end is never sent: see
    domain.mail.claim)."""
    if expires_at is None:
        return 1
    return max(1, round((expires_at - now()).total_seconds() / 86400))


def render_message(settings: SmtpSettings, claimed: outbox.Claimed,
                   programme: dict[str, Any]) -> EmailMessage:
    """The e-mail of a claimed message, in its language (text and HTML)."""
    lang = claimed.language if claimed.language in outbox.LANGUAGES else "sv"
    context = {"name": claimed.name, "link": claimed.link, "programme": programme,
               "week": claimed.week, "days": days_left(claimed.link_expires_at)}
    text = _env.get_template(f"{claimed.kind}.{lang}.txt").render(context)
    html = _env.get_template(f"{claimed.kind}.{lang}.html").render(context)
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = formataddr((claimed.name, claimed.address))
    message["Subject"] = SUBJECTS[claimed.kind][lang] % {"title": programme["title"]}
    message["Message-ID"] = claimed.header_id
    message["Date"] = formatdate(localtime=False)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    message["Content-Language"] = lang  # after the content (set_content drops Content-*)
    return message


# ---------------------------------------------------------------------------- sending


class _Connection:
    """One SMTP session for a pass, opened at the first message (or its failure kept, so
    a server that is down costs one time-out per pass, not one per message)."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None
        self.error: str | None = None

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        if s.implicit_tls:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=SMTP_TIMEOUT,
                                                  context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=SMTP_TIMEOUT)
        try:
            smtp.ehlo()
            if not s.implicit_tls and smtp.has_extn("starttls"):
                # made only when used: loading the system's CA certificates takes ~0.3 s
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if s.username:
                tls = s.implicit_tls or getattr(smtp, "sock", None) is not None and isinstance(
                    smtp.sock, ssl.SSLSocket)
                if not tls and s.host not in ("localhost", "127.0.0.1", "::1"):
                    raise smtplib.SMTPException(
                        "the server offers no STARTTLS: the password is not sent in clear")
                smtp.login(s.username, s.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message: EmailMessage) -> None:
        if self.error:
            raise smtplib.SMTPException(self.error)
        if self.smtp is None:
            try:
                self.smtp = self._open()
            except (smtplib.SMTPException, OSError) as e:
                self.error = describe_error(e)
                raise
        try:
            self.smtp.send_message(message)
        except smtplib.SMTPServerDisconnected as e:
            self.smtp = None
            self.error = describe_error(e)
            raise
        except smtplib.SMTPRecipientsRefused:
            self.smtp.rset()
            raise

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None


_ADDRESS = re.compile(r"[^\s<>()\[\]\"',;:@]+@[^\s<>()\[\]\"',;:@]+")
_SECRET = re.compile(r"fdl?_[A-Za-z0-9_-]{8,}")


def redact(text: str) -> str:
    """A server's answer often repeats the recipient's address ("550 <eva@...>: rejected"):
    the reason is recorded in clear in the log, so addresses and link secrets go."""
    return _SECRET.sub("[link]", _ADDRESS.sub("[address]", text))


def describe_error(error: BaseException) -> str:
    """A failure as the researchers see it (never an address or a link)."""
    return redact(_describe(error))


def _describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [f"{c} {m.decode('utf-8', 'replace') if isinstance(m, bytes) else m}"
                 for c, m in error.recipients.values()]
        return "the server refused the recipient: " + "; ".join(codes)
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        return f"the server answered {error.smtp_code} {text}"
    if isinstance(error, ConnectionRefusedError):
        return "the mail server cannot be reached (connection refused)"
    if isinstance(error, (TimeoutError, socket.timeout)):
        return "the mail server did not answer in time"
    if isinstance(error, OSError):
        return f"the mail server cannot be reached ({error.strerror or error})"
    return str(error) or error.__class__.__name__


@dataclass
class PassResult:
    sent: int = 0
    failed: int = 0
    cancelled: int = 0
    scheduled: int = 0
    reasons: list[str] = field(default_factory=list)


def send_pass(app: Framdrift, settings: SmtpSettings, *, at: datetime | None = None,
              base_url: str | None = None, worker: str | None = None) -> PassResult:
    """One pass: queue the weekly reminders that are due, then send every due message."""
    at = at or now()
    worker = worker or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
    result = PassResult()
    result.scheduled = run_schedules(app, at=at, base_url=base_url or _base_url_env())
    connection = _Connection(settings)
    programmes: dict[str, dict[str, Any]] = {}
    try:
        ids, tracker = outbox.pending_ids(app)
        for mid in ids:
            message = outbox.get_message(app, mid)
            if message.state in ("sent", "cancelled"):
                tracker.finished(mid)  # final: not read again by this process
                continue
            if not message.due(at):
                continue
            claimed = outbox.claim(app, mid, worker, at)
            if claimed is None:
                if outbox.get_message(app, mid).state == "cancelled":
                    result.cancelled += 1
                    tracker.finished(mid)
                continue
            if claimed.programme_id not in programmes:
                programmes[claimed.programme_id] = app.get_programme(claimed.programme_id)
            try:
                connection.send(render_message(settings, claimed,
                                               programmes[claimed.programme_id]))
            except (smtplib.SMTPException, OSError) as e:
                reason = describe_error(e)
                outbox.record_failure(app, mid, reason, at)
                result.failed += 1
                result.reasons.append(reason)
                log.warning("mail %s not sent: %s", mid, reason)
                continue
            # At least once: a crash here resends after the lease, with this Message-ID.
            outbox.record_sent(app, mid, claimed.header_id)
            tracker.finished(mid)
            result.sent += 1
    finally:
        connection.close()
    return result


def _base_url_env() -> str:
    return (os.environ.get("FRAMDRIFT_BASE_URL") or "http://localhost:8000").rstrip("/")


def link_url(base_url: str, secret: str) -> str:
    return f"{base_url.rstrip('/')}/in/{secret}"


# ------------------------------------------------------------------------- operations


def _fresh_link(app: Framdrift, participant_id: str, days: int) -> tuple[str, UUID]:
    return issue_link(app, role="participant", subject=participant_id, days=days)


def _revoke(app: Framdrift, secret: str) -> None:
    from domain.accounts import _link

    link = _link(app, link_id_for(secret))
    if link is not None and link.valid():
        link._revoke("an e-mail for the same request was queued already")
        app._save(link)


def _queue_with_link(app: Framdrift, *, kind: str, request_key: str, participant_id: str,
                     language: str, base_url: str, days: int,
                     week: int | None = None) -> bool:
    """A fresh link and a message carrying it, once per request: True when queued now."""
    if outbox.exists(app, kind, request_key, participant_id):
        return False
    secret, _link_id = _fresh_link(app, participant_id, days)
    _mid, queued = outbox.queue_message(
        app, kind=kind, request_key=request_key, participant_id=participant_id,
        language=language, link=link_url(base_url, secret), week=week)
    if not queued:
        _revoke(app, secret)  # the same request won a moment ago: this link goes nowhere
    return queued


def invited(app: Framdrift, programme_id: str) -> set[str]:
    """Participants with an invitation queued or sent (a cancelled one does not count)."""
    return {m.participant_id for m in outbox.outbox(app, programme_id)
            if m.kind == "invitation" and m.state != "cancelled"}


def invite(app: Framdrift, programme_id: str, participant_ids: Iterable[str], *,
           request_key: str, language: str, base_url: str) -> int:
    """Queue an invitation with a fresh link for each participant (not erased, with an
    address); returns how many were queued now."""
    from api.web.common import participants_of

    people = {p["id"]: p for p in participants_of(app, programme_id)}
    days = course_link_days(app.get_programme(programme_id))
    count = 0
    for pid in dict.fromkeys(participant_ids):
        person = people.get(pid)
        if person is None:
            raise errors.InvalidValueError("pick participants of this programme",
                                           field="participant_id")
        if person["erased"] or not person["email"]:
            continue
        count += _queue_with_link(app, kind="invitation", request_key=request_key,
                                  participant_id=pid, language=language, base_url=base_url,
                                  days=days)
    return count


def not_logged(app: Framdrift, programme_id: str, week: int) -> list[dict[str, Any]]:
    """The programme's participants (not erased) who have no live record in ``week``:
    the overview's "not logged this week", read from the read model and the log after it."""
    from api.web.common import participants_of, programme_record_ids

    logged = set()
    for rid in programme_record_ids(app, programme_id, week):
        try:
            record = app.get_record(rid)
        except errors.NotFoundError:
            continue
        if record["week"] == week and not record["void"]:
            logged.add(record["participant_id"])
    return [p for p in participants_of(app, programme_id)
            if not p["erased"] and p["id"] not in logged]


def remind(app: Framdrift, programme_id: str, *, request_key: str, language: str,
           base_url: str, week: int | None = None) -> int:
    """Queue a reminder (with a fresh link) to each participant with an address who has
    not logged in ``week`` (the current one by default); returns how many were queued."""
    from api.web.common import current_week

    programme = app.get_programme(programme_id)
    if programme["closed"]:
        raise errors.InvalidValueError("the programme is closed", field="_form")
    week = week or current_week(programme)
    count = 0
    for person in not_logged(app, programme["id"], week):
        if person["email"]:
            count += _queue_with_link(app, kind="reminder", request_key=request_key,
                                      participant_id=person["id"], language=language,
                                      base_url=base_url, days=REMINDER_DAYS, week=week)
    return count


def run_schedules(app: Framdrift, *, at: datetime, base_url: str) -> int:
    """Queue the weekly reminders whose time has come this week and that have not gone
    out yet (once a week: the week is recorded on the schedule, at the version read)."""
    zone = ZoneInfo(os.environ.get("FRAMDRIFT_TIMEZONE") or "Europe/Stockholm")
    local = at.astimezone(zone)
    year, week_no, weekday = local.isocalendar()
    week_key = f"{year}-W{week_no:02d}"
    count = 0
    for schedule in outbox.schedules(app):
        if not schedule.active or schedule.last_run == week_key:
            continue
        if (weekday - 1, local.hour) < (schedule.weekday, schedule.hour):
            continue  # not yet this week
        try:
            programme = app.get_programme(schedule.programme_id)
        except errors.NotFoundError:
            continue
        if not programme["closed"]:
            count += remind(app, programme["id"], request_key=f"schedule:{week_key}",
                            language=schedule.language, base_url=base_url)
        outbox.mark_ran(app, schedule, week_key)
    return count


def request_new_link(app: Framdrift, address: str, *, language: str, base_url: str) -> int:
    """The new-link page: a fresh link to every enrolled, not erased participant with this
    address (usually one); returns how many (never shown to the person asking)."""
    count = 0
    for pid in outbox.AddressIndex(app).find(address):
        count += _queue_with_link(app, kind="new_link", request_key=uuid4().hex,
                                  participant_id=pid, language=language, base_url=base_url,
                                  days=NEW_LINK_DAYS)
    return count


def forget_participant(app: Framdrift, participant_id: str) -> None:
    """On erasure: cancel their unsent mail and drop them from the address index."""
    outbox.AddressIndex(app).forget(participant_id)
    outbox.cancel_for(app, participant_id, "participant erased")


# ----------------------------------------------------------------- the web app's sender


_RUNNERS: weakref.WeakSet[Background] = weakref.WeakSet()


class Background:
    """One background thread per Flask app that runs the web app's mail work (new-link
    look-ups, sending passes) off the request thread, one job at a time."""

    def __init__(self) -> None:
        _RUNNERS.add(self)
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="framdrift-mail")
        self.pending: list[Future[Any]] = []
        self.lock = threading.Lock()
        self.pass_waiting = False

    def submit(self, func: Any, *args: Any) -> None:
        with self.lock:
            self.pending = [f for f in self.pending if not f.done()]
            self.pending.append(self.executor.submit(self._run, func, *args))

    @staticmethod
    def _run(func: Any, *args: Any) -> None:
        try:
            func(*args)
        except Exception:  # noqa: BLE001 - a background job must not die silently
            log.exception("background mail job failed")

    def wait(self, timeout: float = 60.0) -> None:
        """Until every job submitted so far has finished (tests, shutdown)."""
        for _round in range(5):
            with self.lock:
                pending = list(self.pending)
            if not pending:
                return
            for future in pending:
                future.result(timeout=timeout)
            with self.lock:
                self.pending = [f for f in self.pending if not f.done()]


def drain_all(timeout: float = 60.0) -> None:
    """Finish every background mail job of this process: called before a store is closed,
    since a job still reading a closed SQLite connection would crash the process."""
    for runner in list(_RUNNERS):
        runner.wait(timeout)


def background(flask_app: Any) -> Background:
    found = flask_app.extensions.get("framdrift_mail")
    if found is None:
        found = flask_app.extensions.setdefault("framdrift_mail", Background())
    return found


def app_settings(flask_app: Any) -> SmtpSettings | None:
    """The Flask app's SMTP settings (config ``SMTP_URL``/``MAIL_FROM`` or environment)."""
    config = flask_app.config
    url = config.get("SMTP_URL")
    if url is None:
        url = os.environ.get("FRAMDRIFT_SMTP_URL", "")
    sender = config.get("MAIL_FROM")
    if sender is None:
        sender = os.environ.get("FRAMDRIFT_MAIL_FROM", "")
    return smtp_settings(url, sender)


def kick(flask_app: Any, app: Framdrift) -> None:
    """A sending pass in the background after a request that queued mail (unless the app
    is configured not to: ``MAIL_SEND_AFTER_REQUEST = False`` when a worker sends)."""
    settings = app_settings(flask_app)
    if settings is None or not flask_app.config.get("MAIL_SEND_AFTER_REQUEST", True):
        return
    base = flask_app.config.get("BASE_URL") or _base_url_env()
    runner = background(flask_app)
    with runner.lock:
        if runner.pass_waiting:
            return  # a pass that has not started yet will see this request's mail too
        runner.pass_waiting = True

    def one_pass() -> None:
        with runner.lock:
            runner.pass_waiting = False
        send_pass(app, settings, base_url=base)

    runner.submit(one_pass)
