"""The web app's background mail jobs are finished before a store is closed: a sending pass
that read a closed SQLite connection crashed the whole process (CI, stop 19)."""

from __future__ import annotations

import threading
import time

from flask import Flask

from api import mail


def test_drain_all_returns_only_after_a_running_job_has_finished() -> None:
    runner = mail.Background()
    started = threading.Event()
    finished: list[bool] = []

    def slow_job() -> None:
        started.set()
        time.sleep(0.3)
        finished.append(True)

    runner.submit(slow_job)
    assert started.wait(5)
    mail.drain_all()
    assert finished == [True]


def test_closing_the_flask_apps_store_waits_for_its_mail_pass(tmp_path) -> None:
    from api.app import close_framdrift, create_app
    from tests.conftest import migrate_all

    url = f"sqlite:///{tmp_path / 'f.sqlite3'}"
    migrate_all(url)
    flask_app: Flask = create_app({"DATABASE_URL": url, "TESTING": True})
    from api.app import framdrift_app

    store = framdrift_app(flask_app)
    seen: list[int] = []

    def reads_the_store() -> None:
        time.sleep(0.3)
        seen.append(len(list(store.recorder.select_notifications(start=1, limit=10))))

    mail.background(flask_app).submit(reads_the_store)
    close_framdrift(flask_app)
    assert len(seen) == 1  # the job ran to its end on an open store, then the store closed
