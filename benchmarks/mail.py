"""Cost of the e-mail outbox (docs/adr/0013-mail-outbox.md), SQLite, against a local SMTP
server (aiosmtpd on 127.0.0.1).

For each cohort size N: enrol N participants with addresses, queue an invitation to each
(a fresh link + a ``Queued`` event), send them in one pass (claim, render, SMTP, ``Sent``),
then time an idle pass (nothing due: it still reads every message once). The baseline,
measured in the same run, is sending the same number of plain messages with smtplib over
one connection: the ratio says what the outbox adds per message.

    .venv/bin/python benchmarks/mail.py
    .venv/bin/python benchmarks/mail.py --sizes 30 300
"""

from __future__ import annotations

import argparse
import smtplib
import sys
import tempfile
from email.message import EmailMessage
from pathlib import Path
from time import perf_counter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api import mail  # noqa: E402
from api.cli import migrate_all  # noqa: E402
from domain.application import Framdrift  # noqa: E402
from domain.context import acting_as  # noqa: E402
from tests.integration.mail_support import SmtpServer  # noqa: E402


def baseline(server: SmtpServer, n: int) -> float:
    started = perf_counter()
    with smtplib.SMTP("127.0.0.1", server.port) as smtp:
        for i in range(n):
            message = EmailMessage()
            message["From"], message["To"] = "noreply@example.org", f"b{i}@example.org"
            message["Subject"] = "baseline"
            message.set_content("x" * 600)
            smtp.send_message(message)
    return perf_counter() - started


def run(n: int, server: SmtpServer) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/mail.db"
        migrate_all(url)
        app = Framdrift.from_url(url)
        try:
            with acting_as("researcher:bench"):
                pid = str(app.plan_programme(organisation="Bench", title="Bench",
                                             units=[{"key": "u", "name": "U"}]))
                ids = [str(app.enrol_participant(pid, name=f"Person {i}",
                                                 email=f"p{i}@example.org", role="expert",
                                                 unit="u")) for i in range(n)]
            settings = mail.smtp_settings(server.url, "noreply@example.org")
            assert settings is not None
            before = len(server.messages)
            started = perf_counter()
            queued = mail.invite(app, pid, ids, request_key="bench", language="sv",
                                 base_url="https://bench.example")
            queue_s = perf_counter() - started
            started = perf_counter()
            result = mail.send_pass(app, settings)
            send_s = perf_counter() - started
            assert queued == n and result.sent == n and len(server.messages) - before == n
            started = perf_counter()
            idle = mail.send_pass(app, settings)
            idle_s = perf_counter() - started
            assert idle.sent == 0
        finally:
            app.close()
    base_s = baseline(server, n)
    return {"queue": queue_s, "send": send_s, "idle": idle_s, "base": base_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[30, 300])
    args = parser.parse_args()
    server = SmtpServer().start()
    try:
        run(2, server)  # warm-up: imports, templates, the first connection
        print("| messages | queue ms/msg | send ms/msg | plain smtplib ms/msg | send / plain "
              "| idle pass ms |")
        print("|---:|---:|---:|---:|---:|---:|")
        for n in args.sizes:
            r = run(n, server)
            print(f"| {n:,} | {r['queue'] / n * 1000:.2f} | {r['send'] / n * 1000:.2f} | "
                  f"{r['base'] / n * 1000:.2f} | {r['send'] / r['base']:.1f} | "
                  f"{r['idle'] * 1000:.1f} |")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
