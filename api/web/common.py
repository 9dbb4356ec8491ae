"""Guards and helpers shared by the participant and researcher pages."""

from __future__ import annotations

import functools
import logging
import unicodedata
import uuid
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from eventsourcing.utils import get_topic
from flask import abort, flash, g, redirect, render_template, request, session, url_for

from api.app import framdrift_app
from api.auth import Principal, current_principal, logout
from domain import errors as domain_errors
from domain.application import Framdrift
from domain.context import now
from domain.model import (
    Capability,
    Decision,
    Experiment,
    Participant,
    Programme,
    Reflection,
)

log = logging.getLogger("framdrift.web")
F = TypeVar("F", bound=Callable[..., Any])
RECORD_CREATED = (Reflection.Logged, Decision.Made, Experiment.Planned, Capability.Established)


def new_request_id() -> str:
    return uuid.uuid4().hex


def flash_once(message: str, category: str = "ok") -> None:
    """Flash ``message`` unless the same one is already waiting to be shown: a form sent
    twice (a double click, a client that never follows the redirect) says "saved" once,
    and the session cookie does not grow with every post (each flash is carried in it,
    signed and serialised again on every response, until a page shows it; ADR 0024)."""
    pending = session.get("_flashes") or []
    if any(tuple(item) == (category, message) for item in pending):
        return
    flash(message, category)


def safe_next(target: str | None, default: str) -> str:
    """Only same-site paths are followed after sign-in or a language switch."""
    if not target or not isinstance(target, str) or len(target) > 500 \
            or any(c < " " or c == "\x7f" for c in target):  # CR/LF: no header to forge
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return default
    return target


def _guard(role: str) -> Principal:
    # Only a session in force opens a page (api.auth checks its epochs on every request);
    # an API token never does.
    principal = current_principal()
    if principal is not None and principal.via != "session":
        abort(401)
    if principal is None:
        if request.method == "GET":
            login_url = url_for("web.login", next=request.full_path.rstrip("?")) \
                if role == "researcher" else url_for("web.index")
            abort(redirect(login_url))
        abort(session_ended_page())
    if principal.role != role:
        abort(403)
    g.no_store = True
    return principal


def participant_required(view: F) -> F:
    """Only a signed-in participant; loads ``g.me`` and ``g.programme`` (their own)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        principal = _guard("participant")
        app = framdrift_app()
        try:
            me = app.get_participant(principal.subject)
        except domain_errors.NotFoundError:
            logout()
            abort(401)
        if me["erased"]:
            logout()
            abort(erased_page())
        g.me = me
        g.later("programme", lambda: app.get_programme(me["programme_id"]))  # on first use
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def resume_path() -> str | None:
    """The page to come back to after signing in again: the page a form was sent from
    (a form posts to its own address; a record's step to the record's page)."""
    path = request.path
    if not path.startswith(("/p/", "/r/")):
        return None
    parts = path.rstrip("/").split("/")
    if len(parts) == 5 and parts[1:3] == ["p", "records"]:  # /p/records/<id>/<step>
        return "/".join(parts[:4])
    if path.startswith("/p/materials"):
        return "/p/"
    full = request.full_path.rstrip("?")
    return safe_next(full, "") or None


def session_ended_page() -> Any:
    """What a form sent after its session ended shows (expired, signed out elsewhere, a new
    link): not an error but a way back. What was typed stays in this browser (framdrift.js
    keeps drafts per person), the language is kept (a cookie of its own), and after signing
    in again the person comes back to the page they were on."""
    from flask import make_response, session

    back = resume_path()
    role = "researcher" if request.path.startswith("/r/") else "participant"
    if back and role == "participant":
        session["resume"] = back
    login_url = url_for("web.login", next=back) if back else url_for("web.login")
    response = make_response(render_template(
        "p_session_ended.html", role=role, login_url=login_url, synthetic=False), 401)
    response.headers["Cache-Control"] = "no-store"
    return response


def erased_page() -> Any:
    """What an erased participant sees (a session from before the erasure, or a form
    sent after it): their data is unreadable for good, nothing can be written."""
    from flask import make_response
    from flask_babel import gettext as _

    from api.web.setup import error_page

    return make_response(error_page(
        403, _("You have been erased from the programme: nothing you wrote can be read any "
               "more, and nothing new can be written. Contact the researchers if you have "
               "questions."), _("Your participation has been erased")))


def researcher_required(view: F) -> F:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _guard("researcher")
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def actor() -> str:
    principal = current_principal()
    assert principal is not None
    return principal.actor


def render(template: str, **context: Any) -> Any:
    programme = context.get("programme", getattr(g, "programme", None))
    context.setdefault("synthetic", bool(programme and programme.get("synthetic")))
    names = {u["key"]: u["name"] for u in (programme or {}).get("units", [])}
    context.setdefault("unit_name", lambda key: names.get(key, key))
    return render_template(template, **context)


# ---------------------------------------------------------------- programme helpers


def current_week(programme: dict[str, Any]) -> int:
    today = now().date().isoformat()
    current = 1
    for w in programme["weeks"]:
        if w["starts_on"] <= today:
            current = w["number"]
    return current


def week_theme(programme: dict[str, Any], number: int | None) -> str | None:
    for w in programme["weeks"]:
        if w["number"] == number:
            return w["theme"]
    return None


def live_areas(programme: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in programme["development_areas"] if not a.get("merged_into")]


def area_names(programme: dict[str, Any]) -> dict[str, str]:
    return {a["area_id"]: a["name"] for a in programme["development_areas"]}


def get_programme_or_404(app: Framdrift, programme_id: str) -> dict[str, Any]:
    try:
        return app.get_programme(programme_id)
    except domain_errors.NotFoundError:
        abort(404)


# ------------------------------------------------------------------ finding things
#
# Lists come from the read models up to the position they have reached, and from the
# log after it (only the events of one kind, by topic), so that what was just written
# is always shown even when the projections lag or do not run.


def _read_model_position(app: Framdrift) -> int:
    try:
        from projections import queries

        return queries.position(app.sql)
    except Exception:  # noqa: BLE001 - no read models (yet): read the log
        return 0


def _ids(app: Framdrift, query: str, params: tuple[Any, ...], events: tuple[type, ...],
         match: Callable[[Any], bool]) -> list[str]:
    position = _read_model_position(app)
    ids: list[str] = []
    if position:
        try:
            ids = [str(r["id"]) for r in app.sql.query(query, params)]
        except Exception:  # noqa: BLE001 - a read model of another shape: read the log
            position, ids = 0, []
    return list(dict.fromkeys(ids + _logged_after(app, position, events, match)))


def _logged_after(app: Framdrift, position: int, events: tuple[type, ...],
                  match: Callable[[Any], bool]) -> list[str]:
    """The ids of the aggregates whose ``events`` (that ``match``) are in the log after
    ``position``, in log order."""
    ids: list[str] = []
    topics = [get_topic(e) for e in events]
    start = position + 1
    while True:
        page = app.recorder.select_notifications(start=start, limit=500, topics=topics)
        if not page:
            break
        for n in page:
            if match(app.mapper.to_domain_event(n)):
                ids.append(str(n.originator_id))
        start = page[-1].id + 1
    return ids


def record_ids_of(app: Framdrift, participant_id: str) -> list[str]:
    return _ids(
        app, f"SELECT record_id AS id FROM {app.sql.table('pj_records')} "
             "WHERE participant_id = ?", (participant_id,), RECORD_CREATED,
        lambda e: str(e.participant_id) == participant_id)


def participant_ids_of(app: Framdrift, programme_id: str) -> list[str]:
    return _ids(
        app, f"SELECT participant_id AS id FROM {app.sql.table('pj_participants')} "
             "WHERE programme_id = ?", (programme_id,), (Participant.Enrolled,),
        lambda e: str(e.programme_id) == programme_id)


PROGRAMMES_PER_PAGE = 24  # cards in rows of one to four (the grid's columns)
SEARCH_MAX = 200  # characters of a programme search kept (titles are shorter)


def search_text(raw: str) -> str:
    """A search as typed, for the lists and their search field: control characters (NUL,
    ESC, DEL, C1) and lone surrogates dropped rather than refused (the API's ``q`` is a
    422 with them; a web form is friendlier), runs of white space one space, at most
    ``SEARCH_MAX`` characters."""
    kept = "".join(c for c in raw
                   if c.isspace() or unicodedata.category(c) not in ("Cc", "Cs"))
    return " ".join(kept.split())[:SEARCH_MAX]


def programmes_page(app: Framdrift, *, live: bool) -> dict[str, Any]:
    """A page of programmes for the web lists, the newest first (``?before=`` the cursor
    of the page before; ``?q=`` words the title or organisation must contain): ``items``,
    ``older`` (the next page's cursor or None), ``total``, ``first`` (whether this is the
    first page), ``q`` (the search as understood). From the read model, one
    keyset page at a time (170 programmes made the lists 50,000 px long at 360 px, and
    /r/ loaded every programme's aggregate). With ``live`` (the researchers' list), the
    first page also shows the programmes planned after the position the read models have
    reached, from the log, so that one just planned is always there."""
    from flask_babel import gettext as _

    from projections import queries

    before = request.args.get("before", "")
    search = search_text(request.args.get("q", ""))
    after = None
    if before:
        position, _dot, pid = before.partition(".")
        try:
            after = (int(position), str(uuid.UUID(pid)))
        except ValueError:
            from werkzeug.exceptions import BadRequest

            error = BadRequest()
            error.data = {"message": _("That page of programmes does not exist; start from "
                                       "the newest.")}  # (shown by the web's error page)
            raise error from None
    items, older, total = queries.programmes_page(
        app.sql, after=after, limit=PROGRAMMES_PER_PAGE, newest_first=True, search=search)
    if live and after is None:
        known = {p["id"] for p in items}
        planned = [pid for pid in _logged_after(app, _read_model_position(app),
                                                (Programme.Planned,), lambda e: True)
                   if pid not in known]
        terms = queries.search_terms(search)
        fresh = []
        for pid in reversed(planned):
            try:
                found = app.get_programme(pid)
            except domain_errors.NotFoundError:
                continue
            if queries.programme_matches(terms, found):
                fresh.append(found)
        items, total = fresh + items, total + len(fresh)
    return {"items": items, "total": total, "first": after is None, "q": search,
            "older": f"{older[0]}.{older[1]}" if older else None}


def programme_record_ids(app: Framdrift, programme_id: str,
                         week: int | None = None) -> list[str]:
    """Every record id of a programme (of one course week), from the read model and the
    log after it."""
    query = f"SELECT record_id AS id FROM {app.sql.table('pj_records')} WHERE programme_id = ?"
    params: tuple[Any, ...] = (programme_id,)
    if week is not None:
        query += " AND week = ?"
        params = (programme_id, week)
    return _ids(app, query, params, RECORD_CREATED,
                lambda e: str(e.programme_id) == programme_id
                and (week is None or int(e.week) == week))


def team_record_ids(app: Framdrift, participant_id: str) -> list[str]:
    """Experiments and capabilities whose team the participant is (or was) in: from the
    collaborations read model and the log after it (the caller checks the team now)."""
    events = tuple(getattr(cls, name) for cls in (Experiment, Capability)
                   for name in ("Planned", "Established", "TeamMemberAdded", "TeamMemberJoined")
                   if hasattr(cls, name))

    def match(e: Any) -> bool:
        team = [str(m) for m in getattr(e, "team", None) or []]
        return participant_id in team or str(getattr(e, "member_id", "")) == participant_id

    return _ids(app, f"SELECT record_id AS id FROM {app.sql.table('pj_collab_teams')} "
                     "WHERE member_id = ?", (participant_id,), events, match)


def records_of(app: Framdrift, participant_id: str) -> list[dict[str, Any]]:
    records = app.get_records(record_ids_of(app, participant_id))
    records.sort(key=lambda r: (r["week"], r["created_on"]))
    return records


def own_record(app: Framdrift, record_id: str, kind: str | None = None) -> dict[str, Any]:
    """The signed-in participant's record, else 404 (others' records are not found)."""
    try:
        record = app.get_record(record_id)
    except domain_errors.NotFoundError:
        abort(404)
    if record["participant_id"] != g.me["id"] or (kind and record["kind"] != kind):
        abort(404)
    return record


def participants_of(app: Framdrift, programme_id: str) -> list[dict[str, Any]]:
    people = []
    for pid in participant_ids_of(app, programme_id):
        try:
            people.append(app.get_participant(pid))
        except domain_errors.NotFoundError:
            continue
    people.sort(key=lambda p: (p["unit"], (p["name"] or "").lower()))
    return people


def base_url() -> str:
    from flask import current_app

    configured = current_app.config.get("BASE_URL")
    return (configured or request.host_url).rstrip("/")


def record_history(app: Framdrift, record_id: str) -> list[dict[str, Any]]:
    """The events of one record, oldest first: ``{"type": "Amended", "at": datetime}``.
    Nothing is updated in place, so an amendment or a withdrawal is one more entry."""
    from domain.describe import event_type

    try:
        uid = uuid.UUID(str(record_id))
    except ValueError:
        return []
    return [{"type": event_type(e).split(".")[-1], "at": e.timestamp,
             "version": e.originator_version} for e in app.events.get(uid)]

