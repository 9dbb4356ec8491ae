"""Many records in one read (domain/batchread.py) give what one load each gives, on
SQLite and PostgreSQL: texts, later changes, an erased author's records and ids that are
not records."""

from __future__ import annotations

import uuid

from tests.integration.test_core_app import log, setup_programme


def test_get_records_equals_one_load_each_in_the_order_asked(app, monkeypatch):
    w = setup_programme(app)
    shared = log(app, w["ada"], shared=True)
    changed = log(app, w["bo"])
    app.share_record(changed, participant_id=w["bo"])
    app.unshare_record(changed, participant_id=w["bo"])
    decision = app.make_decision(w["bo"], statement="Vi inför digitala protokoll",
                                 based_on=[shared], units=["it", "soc"])
    gone = log(app, w["ada"])
    app.erase_participant(w["ada"])
    asked = [decision, str(changed), uuid.uuid4(), "not-an-id", w["pid"], gone, shared]

    one_each = []
    for rid in asked:
        try:
            one_each.append(app.get_record(rid))
        except Exception:  # noqa: BLE001 - not found / not a record: left out
            continue
    assert [r["id"] for r in one_each] == [str(decision), str(changed), str(gone), str(shared)]

    queries = []
    real = app.sql.query
    monkeypatch.setattr(app.sql, "query", lambda *a, **k: queries.append(a) or real(*a, **k))
    together = app.get_records(asked)
    assert together == one_each
    assert len(queries) == 1
    by_id = {r["id"]: r for r in together}
    assert by_id[str(changed)]["shared"] is False and by_id[str(changed)]["version"] == 3
    assert by_id[str(decision)]["statement"] == "Vi inför digitala protokoll"
    assert by_id[str(gone)]["example"] == "[erased]"  # the author's key is gone
    assert app.get_records([]) == []


def test_one_programmes_outbox_and_one_persons_links_read_only_theirs(app, monkeypatch):
    """The outbox page of one course and the links of one person: the same answers as
    loading every message and link of the store, without loading any of them one by one."""
    from domain import mail as outbox
    from domain.accounts import LinkInfo, SignInLink, _issued, issue_link, list_links
    from domain.context import acting_as

    with acting_as("researcher:tests"):
        a, b = setup_programme(app), setup_programme(app, title="Another")
        for n, (w, who) in enumerate([(a, "ada"), (b, "ada"), (a, "bo"), (b, "bo")]):
            outbox.queue_message(app, kind="reminder", request_key=f"r{n}",
                                 participant_id=w[who], language="sv", week=2)
            issue_link(app, role="participant", subject=w[who])
    every = [outbox.MessageInfo.of(outbox.get_message(app, uid))
             for uid in outbox.message_ids(app)]
    every_link = [LinkInfo.of(app.repository.get(uid)) for uid in _issued(app, SignInLink.Issued)]

    def no_single_loads(*args, **kwargs):
        raise AssertionError("loaded one by one")

    monkeypatch.setattr(app.repository, "get", no_single_loads)
    mine = outbox.outbox(app, str(a["pid"]))
    assert mine == [m for m in reversed(every) if m.programme_id == str(a["pid"])]
    assert len(mine) == 2
    links = list_links(app, a["ada"])
    assert links == [i for i in every_link if i.subject == str(a["ada"])] and len(links) == 1


def test_creation_events_are_found_through_their_own_index(app):
    """The rows that create links, messages, tokens and schedules are found through a
    partial index of their topic (``framdrift migrate``): the same ids, in the same
    order, as reading the log by topic through the recorder, which scanned the whole log
    (46 ms at 204k events for 17 links, 0.07 ms through the index)."""
    from eventsourcing.utils import get_topic

    from domain import mail as outbox
    from domain.accounts import SignInLink, issue_link, issue_token
    from domain.batchread import _events_table, created_where, creation_events
    from domain.context import acting_as

    with acting_as("researcher:tests"):
        a = setup_programme(app)
        for n, who in enumerate(["ada", "bo", "ada"]):
            log(app, a[who], shared=True)  # other events in between
            outbox.queue_message(app, kind="reminder", request_key=f"r{n}",
                                 participant_id=a[who], language="sv", week=2)
            issue_link(app, role="participant", subject=a[who])
        issue_token(app, role="evaluator", label="index test")
    for created in creation_events():
        by_recorder = [n.originator_id for n in app.recorder.select_notifications(
            start=1, limit=10_000, topics=[get_topic(created)])]
        assert created_where(app, created) == by_recorder, created
    assert len(created_where(app, SignInLink.Issued)) == 3
    ada = created_where(app, SignInLink.Issued, lambda e: e.subject == str(a["ada"]))
    assert len(ada) == 2
    table, position = _events_table(app)
    query = (f"SELECT {position}, originator_id FROM {table} "
             f"WHERE topic = '{get_topic(SignInLink.Issued)}' AND {position} > 0 "
             f"ORDER BY {position} LIMIT 500")
    if app.sql.postgres:  # (a table this small is read whole unless told otherwise)
        with app.sql.transaction(commit=False) as cur:
            cur.execute("SET LOCAL enable_seqscan = off")
            plan = " ".join(r["QUERY PLAN"] for r in cur.query(f"EXPLAIN {query}"))
    else:
        plan = " ".join(r["detail"] for r in app.sql.query(f"EXPLAIN QUERY PLAN {query}"))
    assert "_signinlink_issued" in plan, plan
