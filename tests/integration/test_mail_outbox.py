"""The e-mail outbox (issue 13, item 2) against a real SMTP server (aiosmtpd), on SQLite
and PostgreSQL: delivery with a working link, retries with back-off after a refusing or
a down server and then exactly one delivery, one claim per message, and erasure."""

from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta
from typing import Any

import pytest

from api import mail
from domain import mail as outbox
from domain.accounts import verify_link
from domain.context import acting_as, now
from tests.integration.mail_support import SmtpServer, body

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def smtp() -> Any:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def cohort(app) -> dict[str, Any]:
    with acting_as("researcher:test"):
        pid = str(app.plan_programme(organisation="Testby kommun", title="Digitalisering",
                                     units=[{"key": "social", "name": "Social"}]))
        eva = str(app.enrol_participant(pid, name="Eva Exempel", email="eva@example.org",
                                        role="manager", unit="social", consent=True))
        kim = str(app.enrol_participant(pid, name="Kim Kollega", email="kim@example.org",
                                        role="expert", unit="social"))
        nomail = str(app.enrol_participant(pid, name="Utan Adress", email=None,
                                           role="expert", unit="social"))
    return {"app": app, "pid": pid, "eva": eva, "kim": kim, "nomail": nomail}


def _settings(server: SmtpServer) -> mail.SmtpSettings:
    settings = mail.smtp_settings(server.url, "Framdrift <noreply@testby.se>")
    assert settings is not None
    return settings


def _link_in(text: str) -> str:
    found = re.search(r"https?://\S+/in/(fdl_[A-Za-z0-9_-]+)", text)
    assert found, text
    return found.group(1)


def test_an_invitation_arrives_once_with_a_working_link_in_its_language(cohort, smtp) -> None:
    """Why: the researcher's 30 hand-written e-mails become one click; the link in the
    e-mail must sign the person in, and a repeated request must not send twice."""
    app = cohort["app"]
    queued = mail.invite(app, cohort["pid"], [cohort["eva"], cohort["kim"], cohort["nomail"]],
                         request_key="r1", language="en", base_url="https://fd.example")
    again = mail.invite(app, cohort["pid"], [cohort["eva"], cohort["kim"]],
                        request_key="r1", language="en", base_url="https://fd.example")
    assert (queued, again) == (2, 0)  # no address: nothing queued; the repeat: nothing
    result = mail.send_pass(app, _settings(smtp))
    assert (result.sent, result.failed) == (2, 0)
    assert mail.send_pass(app, _settings(smtp)).sent == 0  # nothing is sent twice
    [message] = smtp.to("eva@example.org")
    assert len(smtp.messages) == 2
    assert message["Subject"].startswith("Your personal link")
    assert message["Message-ID"].endswith("@framdrift>")
    assert "Eva Exempel" in str(message["To"])
    text, html = body(message), body(message, "html")
    secret = _link_in(text)
    assert secret in html and "Open my log" in html
    info = verify_link(app, secret)
    assert info is not None and info.subject == cohort["eva"]
    states = {m.participant_id: m.state for m in outbox.outbox(app, cohort["pid"])}
    assert states == {cohort["eva"]: "sent", cohort["kim"]: "sent"}
    assert mail.invited(app, cohort["pid"]) == {cohort["eva"], cohort["kim"]}


def test_an_invitation_link_lasts_the_course_and_says_how_long(app, smtp) -> None:
    """Why: a sign-in ends with its link; a fixed 30 days signed out, in the last week of a
    five-week course, the participants who logged every week (no reminder, no fresh link).
    The link lasts to two weeks after the course's last day, and the e-mail says so."""
    from datetime import date

    from domain.accounts import DEFAULT_LINK_DAYS, course_link_days, list_links

    start = now().date()
    with acting_as("researcher:test"):
        pid = str(app.plan_programme(organisation="Testby kommun", title="Digitalisering",
                                     first_day=start, units=[{"key": "s", "name": "S"}]))
        eva = str(app.enrol_participant(pid, name="Eva Exempel", email="eva@example.org",
                                        role="manager", unit="s"))
    programme = app.get_programme(pid)
    last = date.fromisoformat(programme["weeks"][-1]["ends_on"][:10])
    expected = (last - start).days + 14
    assert course_link_days(programme) == expected > DEFAULT_LINK_DAYS
    assert mail.invite(app, pid, [eva], request_key="r1", language="sv",
                       base_url="https://fd.example") == 1
    assert mail.send_pass(app, _settings(smtp)).sent == 1
    [message] = smtp.to("eva@example.org")
    assert f"gäller i {expected} dagar" in body(message)
    [link] = list_links(app, eva)
    assert abs((link.expires_at - link.issued_on) - timedelta(days=expected)) < timedelta(
        seconds=5)
    # a course long past: never less than the default; never more than a year
    assert course_link_days({"weeks": [{"ends_on": "2001-01-05"}]}) == DEFAULT_LINK_DAYS
    assert course_link_days({"weeks": [{"ends_on": f"{start.year + 3}-01-05"}]}) == 366
    assert course_link_days({"weeks": []}) == DEFAULT_LINK_DAYS


def test_a_message_sent_late_says_the_days_its_link_has_left(cohort, smtp) -> None:
    """Why: a message queued while the mail server was down goes out days later; it must
    not promise the days its link was issued with, but what the link has left then."""
    from domain.context import clock

    app = cohort["app"]
    assert mail.request_new_link(app, "eva@example.org", language="en",
                                 base_url="https://fd.example") == 1
    later = now() + timedelta(days=3, hours=1)
    with clock(lambda: later):
        assert mail.send_pass(app, _settings(smtp)).sent == 1
    [message] = smtp.to("eva@example.org")
    assert mail.NEW_LINK_DAYS == 30
    assert "valid for 27 days" in body(message), body(message)


def test_a_link_revoked_before_sending_cancels_its_message_and_nothing_dead_is_sent(
        cohort, smtp) -> None:
    """Why: a researcher revokes a participant's links (a lost phone, say) while an
    invitation waits for the mail server; it must not go out as a link that cannot sign
    in. It is cancelled with the reason, and the participant can be invited again."""
    from domain.accounts import revoke_links

    app = cohort["app"]
    mail.invite(app, cohort["pid"], [cohort["eva"], cohort["kim"]], request_key="r",
                language="sv", base_url="https://fd.example")
    assert revoke_links(app, cohort["eva"], "revoked by a researcher") == 1
    result = mail.send_pass(app, _settings(smtp))
    assert (result.sent, result.cancelled) == (1, 1)
    assert smtp.to("eva@example.org") == [] and len(smtp.to("kim@example.org")) == 1
    states = {m.participant_id: (m.state, m.reason) for m in outbox.outbox(app)}
    assert states[cohort["eva"]] == ("cancelled", outbox.LINK_GONE)
    assert mail.invited(app, cohort["pid"]) == {cohort["kim"]}
    assert mail.invite(app, cohort["pid"], [cohort["eva"]], request_key="r2", language="sv",
                       base_url="https://fd.example") == 1
    assert mail.send_pass(app, _settings(smtp)).sent == 1
    assert verify_link(app, _link_in(body(smtp.to("eva@example.org")[0]))) is not None


@pytest.mark.parametrize("refusal", ["451 4.3.0 Try again later",
                                     "550 5.1.1 <eva@example.org>: Recipient address rejected"])
def test_a_refusing_server_gives_retries_a_visible_failure_then_one_delivery(
        cohort, smtp, refusal) -> None:
    """Why: a refusal must neither lose the message nor send it twice: it is retried with
    back-off, the researcher sees the reason, and once the server accepts it goes once."""
    app = cohort["app"]
    mail.invite(app, cohort["pid"], [cohort["eva"]], request_key="r", language="sv",
                base_url="https://fd.example")
    smtp.handler.refuse = refusal
    first = mail.send_pass(app, _settings(smtp))
    assert (first.sent, first.failed) == (0, 1)
    [info] = outbox.outbox(app, cohort["pid"])
    assert info.state == "failed" and info.attempts == 1 and refusal[:9] in info.reason
    assert "@" not in info.reason  # a server's answer may name the address: not kept
    next_try = info.next_try_at
    assert next_try is not None and now() < datetime.fromisoformat(
        next_try) <= now() + timedelta(minutes=2)
    assert mail.send_pass(app, _settings(smtp)).failed == 0  # not due yet: back-off
    later = now() + timedelta(minutes=2)
    assert mail.send_pass(app, _settings(smtp), at=later).failed == 1
    [info] = outbox.outbox(app, cohort["pid"])
    assert info.attempts == 2  # the second wait is longer (2 minutes)
    smtp.handler.refuse = None
    assert mail.send_pass(app, _settings(smtp), at=later).sent == 0
    assert mail.send_pass(app, _settings(smtp), at=later + timedelta(minutes=3)).sent == 1
    assert mail.send_pass(app, _settings(smtp), at=later + timedelta(hours=9)).sent == 0
    assert len(smtp.to("eva@example.org")) == 1
    [info] = outbox.outbox(app, cohort["pid"])
    assert info.state == "sent" and info.reason is None and info.attempts == 3


def test_a_down_server_then_retry_now_delivers_once(cohort, smtp) -> None:
    """Why: when the server is down the outbox keeps the message, says why, and the
    researcher's "retry now" sends it as soon as the server is back."""
    app = cohort["app"]
    mail.invite(app, cohort["pid"], [cohort["eva"], cohort["kim"]], request_key="r",
                language="sv", base_url="https://fd.example")
    smtp.stop()
    down = mail.send_pass(app, _settings(smtp))
    assert (down.sent, down.failed) == (0, 2)
    assert all(m.state == "failed" and "cannot be reached" in (m.reason or "")
               for m in outbox.outbox(app, cohort["pid"]))
    smtp.start()
    assert mail.send_pass(app, _settings(smtp)).sent == 0  # waiting for its next try
    for m in outbox.outbox(app, cohort["pid"]):
        assert outbox.retry_now(app, m.id)
    assert mail.send_pass(app, _settings(smtp)).sent == 2
    assert sorted(str(m["To"]).split("<")[1] for m in smtp.messages) == [
        "eva@example.org>", "kim@example.org>"]


def test_two_senders_never_send_the_same_message(cohort, smtp) -> None:
    """Why: the web app's background pass and `framdrift mail worker` may run at once; the
    claim (an event at the version read) lets exactly one of them send each message."""
    app = cohort["app"]
    from domain.application import Framdrift

    other = Framdrift.from_url(app.config.url)
    try:
        mail.invite(app, cohort["pid"], [cohort["eva"], cohort["kim"]], request_key="r",
                    language="sv", base_url="https://fd.example")
        results: list[Any] = []
        barrier = threading.Barrier(2)

        def run(application: Any) -> None:
            barrier.wait()
            results.append(mail.send_pass(application, _settings(smtp)))

        threads = [threading.Thread(target=run, args=(a,)) for a in (app, other)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(r.sent for r in results) == 2
        assert len(smtp.messages) == 2
    finally:
        other.close()


def test_a_claim_whose_sender_died_is_taken_again_after_the_lease(cohort, smtp) -> None:
    """Why: a sender that dies after claiming must not strand the message (at least once,
    with the same Message-ID)."""
    app = cohort["app"]
    mail.invite(app, cohort["pid"], [cohort["eva"]], request_key="r", language="sv",
                base_url="https://fd.example")
    [info] = outbox.outbox(app, cohort["pid"])
    assert outbox.claim(app, info.id, "dead-worker", now()) is not None
    assert mail.send_pass(app, _settings(smtp)).sent == 0  # still held
    after = now() + timedelta(seconds=outbox.CLAIM_SECONDS + 1)
    assert mail.send_pass(app, _settings(smtp), at=after).sent == 1
    assert smtp.messages[0]["Message-ID"] == f"<{info.id}@framdrift>"


def test_after_erasure_the_address_and_link_are_unreadable_and_nothing_is_sent(
        cohort, smtp) -> None:
    """Why: the address and the link are personal data (ADR 0002): erasing the participant
    must leave neither readable in the outbox or the log, and their mail is cancelled."""
    app = cohort["app"]
    from api.privacy_commands import erase_participant

    mail.invite(app, cohort["pid"], [cohort["eva"], cohort["kim"]], request_key="r",
                language="sv", base_url="https://fd.example")
    smtp.handler.refuse = "451 4.2.0 <eva@example.org> greylisted"
    mail.send_pass(app, _settings(smtp))
    smtp.handler.refuse = None
    assert outbox.AddressIndex(app).find("EVA@example.org ") == [cohort["eva"]]
    message = outbox.get_message(app, outbox.message_id_for("invitation", "r", cohort["eva"]))
    link = message.link.text
    assert link and "/in/fdl_" in link
    erase_participant(app, cohort["eva"])
    raw = b"".join(bytes(n.state) for n in app.recorder.select_notifications(
        start=1, limit=100_000))
    for secret in ("eva@example.org", link, link.rsplit("/", 1)[1], "Eva Exempel"):
        assert secret.encode() not in raw
    assert outbox.AddressIndex(app).find("eva@example.org") == []
    assert not app.sql.query(
        f"SELECT 1 AS x FROM {app.sql.table(outbox.INDEX_TABLE)} WHERE participant_id = ?",
        (cohort["eva"],))
    result = mail.send_pass(app, _settings(smtp), at=now() + timedelta(hours=1))
    assert result.sent == 1 and smtp.to("eva@example.org") == []
    states = {m.participant_id: (m.state, m.reason) for m in outbox.outbox(app)}
    assert states[cohort["eva"]] == ("cancelled", "participant erased")
    assert outbox.get_message(app, message.id).link.text is None


def test_settings_are_checked() -> None:
    """Why: a mistyped URL or a missing sender must stop with a clear message."""
    assert mail.smtp_settings("", "") is None
    with pytest.raises(mail.MailConfigError, match="smtp://"):
        mail.smtp_settings("http://x", "a@b.se")
    with pytest.raises(mail.MailConfigError, match="FRAMDRIFT_MAIL_FROM"):
        mail.smtp_settings("smtp://host", "")
    s = mail.smtp_settings("smtps://u%40k:p%3Ass@mail.example:2465", "a@b.se")
    assert s is not None and (s.host, s.port, s.implicit_tls, s.username, s.password) == (
        "mail.example", 2465, True, "u@k", "p:ss")
    s = mail.smtp_settings("smtp://relay", "a@b.se")
    assert s is not None and (s.port, s.implicit_tls, s.username) == (25, False, None)


def test_the_mail_commands_send_and_list(cohort, smtp, monkeypatch) -> None:
    """Why: `framdrift mail send` / `worker` send the outbox from a process of their own
    (docker-compose's `mail` service); `mail outbox` shows states without addresses."""
    from click.testing import CliRunner

    from api.cli import cli

    app = cohort["app"]
    monkeypatch.setenv("FRAMDRIFT_DATABASE_URL", app.config.url)
    runner = CliRunner()
    monkeypatch.delenv("FRAMDRIFT_SMTP_URL", raising=False)
    refused = runner.invoke(cli, ["mail", "send"])
    assert refused.exit_code != 0 and "FRAMDRIFT_SMTP_URL is not set" in refused.output
    monkeypatch.setenv("FRAMDRIFT_SMTP_URL", smtp.url)
    monkeypatch.setenv("FRAMDRIFT_MAIL_FROM", "noreply@testby.se")
    mail.invite(app, cohort["pid"], [cohort["eva"], cohort["kim"]], request_key="r",
                language="sv", base_url="https://fd.example")
    sent = runner.invoke(cli, ["mail", "worker", "--every", "0.5", "--passes", "2"])
    assert sent.exit_code == 0, sent.output
    assert "sent 2, failed 0" in sent.output and len(smtp.messages) == 2
    listed = runner.invoke(cli, ["mail", "outbox", "--programme", cohort["pid"]])
    assert listed.exit_code == 0 and listed.output.count(" sent ") == 2
    assert "@example.org" not in listed.output
