"""One-line, person-readable descriptions of events, free of personal data.

Used by ``framdrift log``, the timeline read model and exports. A summary names
what happened and to which record, never what a participant wrote, so it can be
shown to evaluators and kept after an erasure.
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import islice
from typing import Any
from uuid import UUID

from domain.values import RecordKind

EVENT_KINDS: dict[str, str] = {
    "Programme": "programme",
    "Participant": "participant",
    "Reflection": RecordKind.REFLECTION.value,
    "Decision": RecordKind.DECISION.value,
    "Experiment": RecordKind.EXPERIMENT.value,
    "Capability": RecordKind.CAPABILITY.value,
}


def event_type(event: Any) -> str:
    """``Reflection.Logged`` style name of an event's class."""
    return type(event).__qualname__


def aggregate_kind(event: Any) -> str:
    return EVENT_KINDS.get(event_type(event).split(".", 1)[0], "other")


def forget_oldest(cache: dict[Any, Any], limit: int) -> None:
    """Keep a memo bounded: past ``limit`` entries, drop the older half (dicts keep their
    insertion order). Ids and facts are looked up mostly while their aggregate is busy,
    so the older half is what is least likely to be asked for again; a rebuild of a
    large store must not keep one entry per aggregate (issue 14, item 4)."""
    if len(cache) > limit:
        for key in list(islice(cache, len(cache) - limit // 2)):
            del cache[key]


IDS_KEPT = 16_384
_IDS: dict[int, str] = {}


def sid(uid: Any) -> str:
    """``str(uuid)``, memoised: ids recur in many events and ``UUID.__str__`` is slow.
    Keyed by ``uuid.int`` (hashed in C; a UUID key costs two Python-level calls,
    ``__hash__`` and ``__eq__``, per look-up, since decoded events may carry new UUIDs)."""
    try:
        key = uid.int
    except AttributeError:
        return str(uid)
    found = _IDS.get(key)
    if found is None:
        if len(_IDS) >= IDS_KEPT:
            forget_oldest(_IDS, IDS_KEPT - 1)
        found = _IDS[key] = str(uid)
    return found


def utc_iso(ts: datetime) -> str:
    """An event time as stored in the read models: ISO 8601 in UTC (a naive time is
    taken to be UTC)."""
    if ts.tzinfo is not UTC:
        ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    return ts.isoformat()


def short(uid: Any) -> str:
    return sid(uid)[:8]


def _list(values: Any) -> str:
    return ", ".join(str(v) for v in values) if values else "-"


def _links(values: Any) -> str:
    return ", ".join(short(v) for v in values) if values else "-"


_LAST: tuple[Any, str] = (None, "")


def summarise(event: Any) -> str:
    """A one-line summary of ``event`` without any personal data.

    The last answer is remembered: the timeline and as-of read models both ask for
    the same (immutable) event's summary in turn while projecting.
    """
    global _LAST
    last = _LAST
    if last[0] is event:
        return last[1]
    found = _summarise(event)
    _LAST = (event, found)
    return found


def _summarise(event: Any) -> str:
    d = event.__dict__
    name = event_type(event)
    rid = short(d["originator_id"])
    week = f"week {d['week']}" if "week" in d else ""
    match name:
        # (the most frequent events first: cases are tried in order)
        case "Participant.MaterialTakenPartOf":
            return f"took part of material {d['material_id']}"
        case "Participant.AttendanceRecorded":
            state = "attended" if d["attended"] else "absent from"
            return f"{state} meeting {d['meeting_id']}"
        case "Reflection.Logged":
            material = f" on material {d['material_id']}" if d.get("material_id") else ""
            areas = f" ({_list(d['development_areas'])})" if d["development_areas"] else ""
            return f"reflection {rid} logged for {week}{material}{areas}"
        case "Programme.Planned":
            themes = ", ".join(w.theme for w in d["weeks"])
            synthetic = " [synthetic]" if d.get("synthetic") else ""
            return (
                f"programme '{d['title']}' planned for {d['organisation']}{synthetic}: "
                f"{len(d['weeks'])} weeks ({themes}), {len(d['units'])} units"
            )
        case "Programme.UnitRegistered":
            return f"unit {d['unit']['name']} registered"
        case "Programme.MaterialPublished":
            return f"{d['kind'].value} '{d['title']}' published for week {d['week']}"
        case "Programme.CheckInHeld":
            return f"check-in {d['meeting_id']} held on {d['held_on']} (week {d['week']})"
        case "Programme.SessionHeld":
            return f"session {d['meeting_id']} held on {d['held_on']} (week {d['week']})"
        case "Programme.DevelopmentAreaIdentified":
            return f"development area {d['area_id']} '{d['name']}' identified"
        case "Programme.DevelopmentAreaRenamed":
            return f"development area {d['area_id']} renamed '{d['name']}'"
        case "Programme.DevelopmentAreasMerged":
            return f"development area {d['source_id']} merged into {d['target_id']}"
        case "Programme.RecommendationAdopted":
            areas = _list(d["development_areas"])
            return f"recommendation {d['recommendation_id']} adopted ({areas})"
        case "Programme.MaturityAssessed":
            scores = ", ".join(f"{k} {v:g}" for k, v in d["scores"].items())
            return f"maturity assessed {d['phase'].value} ({d['instrument']}): {scores}"
        case "Programme.MaturityInstrumentDefined":
            dims = ", ".join(f"{x.key} ({x.scale})" for x in d["dimensions"])
            return f"maturity instrument defined: {dims}"
        case "Programme.Closed":
            return "programme closed"
        case "Programme.CohortEnrolled":
            return f"a list of {d['size']} participants enrolled"
        case "Participant.Enrolled":
            return f"participant enrolled as {d['role'].value} in unit {d['unit']}"
        case "Participant.ConsentGiven":
            return "consent to research use given"
        case "Participant.ConsentWithdrawn":
            return "consent to research use withdrawn"
        case "Participant.Erased":
            return "participant erased (personal data made unreadable)"
        case "Reflection.Amended":
            return f"reflection {rid} amended"
        case "Reflection.Withdrawn":
            return f"reflection {rid} withdrawn"
        case "Decision.Made":
            return (
                f"decision {rid} made for {week}, based on {_links(d['based_on'])}; "
                f"units {_list(d['units'])}"
            )
        case "Decision.Revised":
            return f"decision {rid} revised, based on {_links(d['based_on'])}"
        case "Decision.Reversed":
            return f"decision {rid} reversed"
        case "Experiment.Planned":
            cycle = f" (cycle {d['cycle']})" if d.get("cycle", 1) > 1 else ""
            return (
                f"experiment {rid}{cycle} planned for {week}, based on "
                f"{_links(d['based_on'])}; units {_list(d['units'])}"
            )
        case "Experiment.Started":
            return f"experiment {rid} started in week {d['week']}"
        case "Experiment.ObservationRecorded":
            return f"observation recorded on experiment {rid}"
        case "Experiment.Evaluated":
            return f"experiment {rid} evaluated"
        case "Experiment.Concluded":
            return f"experiment {rid} concluded: {d['outcome'].value}"
        case "Experiment.NextCyclePlanned":
            return f"experiment {rid} continues in {short(d['next_cycle_id'])}"
        case "Capability.Established":
            return (
                f"capability {rid} established for {week} from experiments "
                f"{_links(d['based_on'])}; units {_list(d['units'])}"
            )
        case "Capability.Refined":
            return f"capability {rid} refined"
        case "Capability.Applied":
            return f"capability {rid} applied in {d['unit']}"
        case "Reflection.Shared" | "Decision.Shared" | "Experiment.Shared" \
                | "Capability.Shared":
            return f"{aggregate_kind(event)} {rid} shared with the course group"
        case "Reflection.Unshared" | "Decision.Unshared" | "Experiment.Unshared" \
                | "Capability.Unshared":
            return f"{aggregate_kind(event)} {rid} for the researchers only"
        case "Experiment.TeamMemberAdded" | "Capability.TeamMemberAdded":
            return f"{aggregate_kind(event)} {rid}: a team member added"
        case "Experiment.TeamMemberRemoved" | "Capability.TeamMemberRemoved":
            return f"{aggregate_kind(event)} {rid}: a team member removed"
        case "Experiment.TeamMemberJoined" | "Capability.TeamMemberJoined":
            return f"{aggregate_kind(event)} {rid}: a participant joined the team"
    return _summarise_service(name, rid, d)


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _summarise_service(name: str, rid: str, d: dict[str, Any]) -> str:
    """The service's own events (mail, sign-in, tokens, accounts): what happened, never a
    label, address or failure text (those may name a person)."""
    match name:
        case "MailMessage.Queued":
            week = f" for week {d['week']}" if d.get("week") else ""
            return f"{d['kind']} e-mail {rid} queued{week}"
        case "MailMessage.Claimed":
            return f"e-mail {rid} taken for sending"
        case "MailMessage.AttemptFailed":
            retry = f", next try {d['next_try_at'][:16]}" if d.get("next_try_at") else ", given up"
            return f"e-mail {rid}: attempt {d['attempts']} failed{retry}"
        case "MailMessage.Sent":
            return f"e-mail {rid} sent"
        case "MailMessage.Cancelled":
            return f"e-mail {rid} cancelled"
        case "MailMessage.RetryRequested":
            return f"e-mail {rid}: to be tried again now"
        case "ReminderSchedule.Scheduled" | "ReminderSchedule.Rescheduled":
            if d.get("weekday") is None or d.get("hour") is None:
                return "weekly reminder turned off"
            return f"weekly reminder set to {_WEEKDAYS[d['weekday']]}s at {d['hour']:02d}:00"
        case "ReminderSchedule.Ran":
            return f"weekly reminder sent for {d['week']}"
        case "SignInLink.Issued":
            return f"{d['role']} sign-in link {rid} issued, valid until {str(d['expires_at'])[:10]}"
        case "SignInLink.Revoked":
            return f"sign-in link {rid} revoked"
        case "ApiToken.Issued":
            return f"{d['role']} API token {rid} issued"
        case "ApiToken.Revoked":
            return f"API token {rid} revoked"
        case "Researcher.Registered":
            return f"researcher account {rid} registered"
        case "Researcher.PasswordChanged":
            return f"researcher account {rid}: password changed"
        case "Sessions.Ended":
            return f"sessions of {short(d['scope'])} ended"
    return name


def participant_of(event: Any) -> UUID | None:
    """The participant an event is about or by (its author for records)."""
    d = event.__dict__
    if event_type(event).startswith("Participant."):
        return d["originator_id"]
    return d.get("participant_id")


def actor_participant(actor: str) -> UUID | None:
    if actor.startswith("participant:"):
        try:
            return UUID(actor.split(":", 1)[1])
        except ValueError:
            return None
    return None
