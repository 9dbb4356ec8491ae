"""CPU per form post, and what a post asks the store (issue 14 item 1, ADR 0024).

One participant, signed in with their link, posts reflections through the web form (the
Flask app in this process, its test client: no HTTP, no server threads) one after another
on a warm process (link, participant and programme cached, as every post but a worker's
first finds them). Per post: this process's CPU time (``time.process_time``: Flask, the
form, the command, encryption, the chain, the database driver; not the database server),
the wall time, and the store calls counted by domain/storecalls.py (reads before the
write, round trips: PostgreSQL's ReadyForQuery messages, SQLite's statements). Between
posts (untimed) the "saved" message is taken from the session, as the page a browser is
redirected to does; ``--keep-flashes`` lets them pile up instead, as a client that never
follows the redirect (gunicorn_load.py's) has it.

``--compare-root DIR`` runs the same measurement against another tree (e.g. a
``git worktree`` of main: the code before a change), each round in a fresh process per
tree, the trees alternating (which one goes first alternates too), and prints the
ratio this tree / that tree per store: the baseline measured in the same run.

    .venv/bin/python benchmarks/post_cpu.py [--stores sqlite,postgres] [--posts 300] \\
        [--rounds 3] [--compare-root /path/to/main-worktree]

PostgreSQL: FRAMDRIFT_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test);
a fresh schema per process, dropped afterwards.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from children import load_average, run_child

HERE = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("FRAMDRIFT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
TEXT = "Vi provade att dela protokollen digitalt före mötet; det sparade en halvtimme. "


def _storecalls() -> Any:
    """This tree's counter, loaded by path: it counts the other tree's app as well."""
    spec = importlib.util.spec_from_file_location("_post_cpu_storecalls",
                                                  HERE / "domain" / "storecalls.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (dataclasses look their module up)
    spec.loader.exec_module(module)
    return module


def _url(store: str, tmp: Path) -> tuple[str, str | None]:
    if store == "sqlite":
        return f"sqlite:///{tmp}/post_cpu.sqlite3", None
    schema = f"post_cpu_{uuid.uuid4().hex[:12]}"
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}schema={schema}", schema


def measure(store: str, posts: int, keep_flashes: bool = False) -> dict[str, Any]:
    """In this process (imports from the tree on PYTHONPATH): set up, warm, time."""
    import re

    from api.app import create_app
    from api.cli import migrate_all
    from domain.accounts import issue_link
    from domain.application import Framdrift
    from domain.context import acting_as

    counting = _storecalls().counting
    tmp = Path(tempfile.mkdtemp(prefix="post-cpu-"))
    url, schema = _url(store, tmp)
    migrate_all(url)
    app = Framdrift.from_url(url)
    try:
        with acting_as("researcher:bench"):
            pid = app.plan_programme(
                organisation="Benchby kommun", title="Digitalisering",
                first_day=date.today() - timedelta(days=15),
                units=[{"key": "social", "name": "Socialförvaltningen"}])
            me = str(app.enrol_participant(pid, name="Eva Exempel", email=None,
                                           role="manager", unit="social", consent=True))
            secret, _ = issue_link(app, role="participant", subject=me)
        flask = create_app({"TESTING": True, "FRAMDRIFT": app, "SECRET_KEY": "bench",
                            "DATABASE_URL": url, "WTF_CSRF_ENABLED": True})
        client = flask.test_client()
        assert client.get(f"/in/{secret}").status_code == 302
        html = client.get("/p/reflections/new").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', html)
        assert token, "no CSRF token on the form"

        def post(n: int) -> int:
            return client.post("/p/reflections/new", data={
                "csrf_token": token.group(1), "request_id": uuid.uuid4().hex, "week": "3",
                "material_id": "", "example": f"{TEXT}{n}", "deficiency": "",
                "solutions": "", "visibility": "researchers"}).status_code

        for n in range(min(20, posts)):  # warm: caches, prepared statements, the pool
            assert post(n) == 302
        with counting(app) as calls:
            assert post(-1) == 302
        cpu = wall = 0.0
        for n in range(posts):
            if not keep_flashes:  # as a browser that shows the page it is sent to (untimed)
                with client.session_transaction() as session:
                    session.pop("_flashes", None)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            status = post(n)
            cpu += time.process_time() - cpu0
            wall += time.perf_counter() - wall0
            if status != 302:
                raise RuntimeError(f"a post answered {status}")
        return {"cpu_ms": cpu * 1000 / posts, "wall_ms": wall * 1000 / posts,
                "reads": calls.reads, "round_trips": calls.round_trips,
                "read_labels": calls.read_labels}
    finally:
        app.close()
        if schema:
            import psycopg

            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _child(root: Path, store: str, posts: int, keep_flashes: bool) -> dict[str, Any]:
    return run_child(__file__, root, [store, "--posts", str(posts)]
                     + (["--keep-flashes"] if keep_flashes else []), timeout=900, what=store)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--posts", type=int, default=300, help="timed posts per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compare-root", default="", help="another tree: the baseline")
    parser.add_argument("--keep-flashes", action="store_true",
                        help="never show the page a post redirects to (as gunicorn_load.py's "
                        "clients): the 'saved' messages pile up in the session cookie")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.posts, args.keep_flashes)))
        return
    trees = [("this tree", HERE)]
    if args.compare_root:
        trees.append(("baseline", Path(args.compare_root).resolve()))
    print(f"form post CPU; {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, load average {load_average()}; {args.posts} posts "
          f"per round, {args.rounds} rounds (medians), flashes "
          f"{'kept (never shown)' if args.keep_flashes else 'shown between posts'}, trees: "
          + ", ".join(f"{name} = {root}" for name, root in trees), flush=True)
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    stores = [s for s in args.stores.split(",") if s]
    for store in stores:
        for r in range(args.rounds):
            order = trees if r % 2 == 0 else trees[::-1]
            for name, root in order:
                la = os.getloadavg()[0]
                res = _child(root, store, args.posts, args.keep_flashes)
                results.setdefault((store, name), []).append(res)
                print(f"  {store}, {name}: {res['cpu_ms']:.2f} ms CPU / post, "
                      f"{res['wall_ms']:.2f} ms wall, {res['reads']} reads before the write "
                      f"({', '.join(res['read_labels'])}), {res['round_trips']} round trips "
                      f"(load {la:.1f})", flush=True)
    print(f"\nload average at the end: {load_average()}")
    print("\n| store | tree | CPU ms / post | wall ms / post | reads | round trips |")
    print("|---|---|---:|---:|---:|---:|")
    med: dict[tuple[str, str], dict[str, float]] = {}
    for (store, name), rows in results.items():
        med[(store, name)] = {k: statistics.median(x[k] for x in rows)
                              for k in ("cpu_ms", "wall_ms", "reads", "round_trips")}
        m = med[(store, name)]
        print(f"| {store} | {name} | {m['cpu_ms']:.2f} | {m['wall_ms']:.2f} | "
              f"{m['reads']:.0f} | {m['round_trips']:.0f} |")
    if len(trees) > 1:
        ratios = [f"{store} {med[(store, 'this tree')]['cpu_ms'] / med[(store, 'baseline')]['cpu_ms']:.2f}"  # noqa: E501
                  for store in stores]
        print("ratio line: this tree / baseline CPU per post = " + ", ".join(ratios))


if __name__ == "__main__":
    main()
