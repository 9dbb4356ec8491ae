"""The API's answers, byte for byte, from two source trees on the same stores (ADR 0023).

A change that cuts a request's round trips must not change what the API answers. This
loads one store per database (``--stores sqlite,postgres``; ``--programmes`` demo
programmes), catches up the read models, then asks each tree's WSGI app in a process of
its own (``PYTHONPATH`` = the tree) the same list of requests, at least ``--urls`` of them:
every read endpoint of every programme, in both languages, timeline pages, filters and
exports, the programmes' pages, unknown programmes and bad values (errors), each also
with the ETag it answered (a 304), with a researcher's token, a revoked-looking one and
none. Status, headers (all but ``Date``; an export's file name keeps the minute it was
made: compared without it) and body are compared (a spreadsheet by the contents of its
members, without the instants it was written at, which also sway its compressed length);
every difference is printed and the exit status is 1 if there is one.

    .venv/bin/python benchmarks/api_bytes.py --compare-root ../main-tree \\
        [--stores sqlite,postgres] [--programmes 3] [--urls 256]

Without ``--compare-root`` the tree is compared with itself (the script's own check: two
processes, same answers). PostgreSQL: FRAMDRIFT_TEST_POSTGRES_URL names the server; a
schema of its own is made and dropped.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import uuid
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PG_BASE = os.environ.get("FRAMDRIFT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
_MINUTE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{4}")
_INSTANT = re.compile(rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z?")


# ------------------------------------------------------------------- the requests


def requests_for(programmes: list[str], want: int) -> list[dict[str, Any]]:
    """The requests, in order; ``etag_of``: send the ETag of request N as If-None-Match."""
    out: list[dict[str, Any]] = []

    def add(path: str, who: str = "evaluator", **extra: Any) -> int:
        out.append({"path": path, "who": who, **extra})
        return len(out) - 1

    reads = ["", "/progress", "/timeline", "/lineage", "/development-areas", "/engagement",
             "/collaborations", "/maturity", "/maturity-instrument"]
    for pid in programmes:
        base = f"/api/v1/programmes/{pid}"
        for tail in reads:
            for lang in ("sv", "en"):
                first = add(f"{base}{tail}?lang={lang}")
                add(f"{base}{tail}?lang={lang}", etag_of=first)
            add(f"{base}{tail}", who="researcher")
            add(f"{base}{tail}", headers={"Accept-Language": "en"})
        for query in ("page=2&page_size=10", "page=1&page_size=5&sort=-position",
                      "kind=reflection", "kind=decision&sort=event_time", "week=2",
                      "format=csv", "format=csv&sep=semicolon", "format=ndjson",
                      "page=999&page_size=50", "kind=nonsense", "sort=sideways",
                      "since=2020-01-01&until=2100-01-01", "since=not-a-date",
                      "page_size=0", "format=xlsx&page=1&page_size=3"):
            first = add(f"{base}/timeline?{query}")
            add(f"{base}/timeline?{query}", etag_of=first)
        for query in ("format=csv", "format=ndjson", "format=xlsx"):
            add(f"{base}/maturity?{query}")
        add(f"{base}/collaborations?week=1")
        add(f"{base}/collaborations?week=99")
        add(f"{base}/progress?min_position=1")
        add(f"{base}/progress?min_position=999999999")
        add(f"{base}/progress", headers={"X-Framdrift-Min-Position": "abc"})
        add(f"{base}/progress", who="nobody")
        add(f"{base}/progress", who="bad")
        add(f"{base}/progress", headers={"If-None-Match": '"r-not-this-one"'})
        add(f"{base}/lineage?record_id={uuid.UUID(int=7)}")
    unknown = str(uuid.UUID(int=1234567))
    for tail in reads:
        add(f"/api/v1/programmes/{unknown}{tail}")
    add("/api/v1/programmes/not-a-uuid/progress")
    for query in ("", "?limit=1", "?limit=2", "?limit=500", "?limit=0", "?limit=501",
                  "?cursor=short", "?cursor=" + "A" * 32, "?lang=en"):
        first = add(f"/api/v1/programmes{query}")
        add(f"/api/v1/programmes{query}", etag_of=first)
    add("/api/v1/tokens", who="researcher")
    add("/api/v1/tokens")
    while len(out) < want:  # more of the same: a second pass sees the caches warm
        for r in list(out):
            if len(out) >= want:
                break
            out.append(dict(r))
    return out


# ------------------------------------------------------------------- one tree's answers


def dump(store_url: str, tokens_file: str, requests_file: str, out_file: str) -> None:
    """Run in a process whose PYTHONPATH is the tree under test: answer every request."""
    from api.app import create_app
    from domain.application import Framdrift

    tokens = json.loads(Path(tokens_file).read_text())
    requests = json.loads(Path(requests_file).read_text())
    app = Framdrift.from_url(store_url)
    flask = create_app({"TESTING": True, "FRAMDRIFT": app, "SECRET_KEY": "api-bytes",
                        "DATABASE_URL": store_url})
    client = flask.test_client()
    answers: list[dict[str, Any]] = []
    try:
        for r in requests:
            headers = dict(r.get("headers") or {})
            if r["who"] in tokens:
                headers["Authorization"] = f"Bearer {tokens[r['who']]}"
            elif r["who"] == "bad":
                headers["Authorization"] = "Bearer fd_" + "x" * 40
            if r.get("etag_of") is not None:
                tag = answers[r["etag_of"]]["headers"].get("ETag")
                if tag:
                    headers["If-None-Match"] = tag
            response = client.get(r["path"], headers=headers)
            body = response.get_data()
            zipped = body.startswith(b"PK\x03\x04")  # its length follows the instants
            kept = sorted((k, _MINUTE.sub("<minute>", v) if k == "Content-Disposition" else
                           "<zip>" if zipped and k == "Content-Length" else v)
                          for k, v in response.headers.items() if k != "Date")
            answers.append({"status": response.status_code, "headers": dict(kept),
                            "header_list": kept, "length": len(body),
                            "sha256": _digest(body),
                            "head": body[:300].decode("utf-8", "replace")})
    finally:
        app.close()
    Path(out_file).write_text(json.dumps(answers))


def _digest(body: bytes) -> str:
    """The body's SHA-256; a spreadsheet (a zip) by its members' contents, since the zip
    records when each member was written (the second the answer was made)."""
    if not body.startswith(b"PK\x03\x04"):
        return hashlib.sha256(body).hexdigest()
    digest = hashlib.sha256()
    with zipfile.ZipFile(io.BytesIO(body)) as book:
        for name in sorted(book.namelist()):
            digest.update(name.encode() + b"\0" + _INSTANT.sub(b"<instant>", book.read(name)))
    return "zip:" + digest.hexdigest()


# ------------------------------------------------------------------- the stores


def make_store(kind: str, work: Path, programmes: int) -> tuple[str, dict[str, str], Any]:
    """A store of ``programmes`` demo programmes, read models caught up; (url, tokens,
    clean-up)."""
    sys.path.insert(0, str(ROOT))
    from api.cli import migrate_all
    from domain.accounts import issue_token
    from domain.application import Framdrift
    from domain.demo import load_demo
    from projections import runner

    if kind == "sqlite":
        url = f"sqlite:///{work}/bytes.sqlite3"

        def clean() -> None:
            pass
    else:
        schema = f"api_bytes_{uuid.uuid4().hex[:10]}"
        url = f"{PG_BASE}{'&' if '?' in PG_BASE else '?'}schema={schema}"

        def clean() -> None:
            import psycopg

            with psycopg.connect(PG_BASE, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    migrate_all(url)
    app = Framdrift.from_url(url)
    try:
        load_demo(app, seed=11, programmes=programmes, participants=12)
        tokens = {"evaluator": issue_token(app, role="evaluator", label="api bytes")[0],
                  "researcher": issue_token(app, role="researcher", label="api bytes")[0]}
        runner.catch_up(app)
    finally:
        app.close()
    return url, tokens, clean


def programme_ids(url: str) -> list[str]:
    from domain.application import Framdrift
    from projections import queries

    app = Framdrift.from_url(url)
    try:
        return [p["id"] for p in queries.programmes(app.sql)]
    finally:
        app.close()


def answers_of(root: Path, url: str, files: dict[str, Path], name: str) -> list[dict[str, Any]]:
    out = files["work"] / f"{name}.json"
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--dump", url,
                           str(files["tokens"]), str(files["requests"]), str(out)],
                          cwd=root, env=env, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"{root} failed:\n{done.stderr[-3000:]}")
    return json.loads(out.read_text())


def compare(requests: list[dict[str, Any]], old: list[dict[str, Any]],
            new: list[dict[str, Any]]) -> list[str]:
    diffs = []
    for i, (r, a, b) in enumerate(zip(requests, old, new, strict=True)):
        tag = ", If-None-Match" if r.get("etag_of") is not None else ""
        what = f"#{i} GET {r['path']} ({r['who']}{tag})"
        if a["status"] != b["status"]:
            diffs.append(f"{what}: status {a['status']} -> {b['status']}")
        if a["header_list"] != b["header_list"]:
            keys = sorted(set(a["headers"]) | set(b["headers"]))
            changed = [f"{k}: {a['headers'].get(k)!r} -> {b['headers'].get(k)!r}"
                       for k in keys if a["headers"].get(k) != b["headers"].get(k)]
            diffs.append(f"{what}: headers " + "; ".join(changed or ["order"]))
        if a["sha256"] != b["sha256"]:
            diffs.append(f"{what}: body {a['length']} -> {b['length']} bytes\n"
                         f"    old: {a['head'][:160]!r}\n    new: {b['head'][:160]!r}")
    return diffs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compare-root", default="",
                        help="the baseline tree (e.g. a git worktree of main); default: this")
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--programmes", type=int, default=3)
    parser.add_argument("--urls", type=int, default=256, help="at least this many requests")
    parser.add_argument("--dump", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dump:
        dump(*args.dump)
        return
    base = Path(args.compare_root or ROOT).resolve()
    print(f"answers of {ROOT} (new) vs {base} (baseline); load average "
          f"{' / '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    total = 0
    failed = False
    for kind in [k for k in args.stores.split(",") if k]:
        with tempfile.TemporaryDirectory(prefix="api-bytes-") as tmp:
            work = Path(tmp)
            url, tokens, clean = make_store(kind, work, args.programmes)
            try:
                requests = requests_for(programme_ids(url), args.urls)
                files = {"work": work, "tokens": work / "tokens.json",
                         "requests": work / "requests.json"}
                files["tokens"].write_text(json.dumps(tokens))
                files["requests"].write_text(json.dumps(requests))
                old = answers_of(base, url, files, "old")
                new = answers_of(ROOT, url, files, "new")
            finally:
                clean()
        diffs = compare(requests, old, new)
        statuses: dict[int, int] = {}
        for a in new:
            statuses[a["status"]] = statuses.get(a["status"], 0) + 1
        counts = ", ".join(f"{n} x {s}" for s, n in sorted(statuses.items()))
        print(f"{kind}: {len(requests)} requests ({counts}), {len(diffs)} differences",
              flush=True)
        for d in diffs[:40]:
            print("  " + d)
        total += len(requests)
        failed = failed or bool(diffs)
    print(f"ratio line: {'DIFFERENT' if failed else 'identical'} answers over {total} "
          "requests (baseline: the same requests to the baseline tree)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
