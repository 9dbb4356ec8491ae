"""The benchmark scripts still run (tiny sizes, SQLite only; gunicorn's on PostgreSQL).
They measure; this checks only that they work and print their tables (speed targets are
met in benchmarks/, never in timed tests)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    """A benchmark script's output; ``env`` is added to this process's environment."""
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_projection_rebuild_benchmark_runs():
    out = run("benchmarks/projection_rebuild.py", "--programmes", "1", "--only", "sqlite")
    row = next(line for line in out.splitlines() if line.startswith("| SQLite |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    read_alone = int(re.search(r"rebuild's reader alone \(after\): (\d+) events", out).group(1))
    assert read_alone > 1000  # the demo programme's events...
    assert cells[1] == f"{read_alone:,}"  # ...all read and rebuilt
    assert float(cells[4]) > 0 and float(cells[7]) > 0


def test_projection_rebuild_benchmark_on_an_existing_store(tmp_path):
    """``--url``: an existing store (here one demo programme, loaded once), nothing loaded;
    the headline is the rebuild against its own reader, with the memory of all processes."""
    from api.cli import migrate_all
    from domain.application import Framdrift
    from domain.demo import load_demo

    url = f"sqlite:///{tmp_path}/store.sqlite3"
    migrate_all(url)
    app = Framdrift.from_url(url)
    try:
        load_demo(app, programmes=1)
        events = app.max_position()
    finally:
        app.close()
    out = run("benchmarks/projection_rebuild.py", "--url", url, "--no-raw")
    assert f"existing store: {events:,} events (nothing loaded)" in out
    assert re.search(rf"SQLite: rebuild / its own reader = [\d.]+, peak memory of all "
                     rf"processes [\d,]+ MiB, {events:,} events", out), out


def test_asof_benchmark_runs():
    out = run("benchmarks/asof.py", "--sizes", "1500", "--stores", "sqlite", "--queries", "20",
              "--batch", "400")  # the programme in several transactions
    # ... the as-of timings, the funnel / state ratio, the API's and SELECT 1's, the load
    assert re.search(r"\| sqlite \| [\d,]+ \| \d+( \| [\d.]+){14} \| [\d.]+ / [\d.]+ / "
                     r"[\d.]+ \|", out), out
    assert "load average" in out


def test_asof_benchmark_keeps_its_store(tmp_path):
    """``--store-dir``: the first run loads and keeps the store, the second only queries
    it (the same programme, its load time read back); the funnel per kind of moment."""
    args = ("benchmarks/asof.py", "--sizes", "1500", "--stores", "sqlite", "--queries", "10",
            "--no-state", "--store-dir", str(tmp_path))
    first, second = run(*args), run(*args)
    meta = (tmp_path / "asof-1500.json").read_text()
    assert (tmp_path / "asof-1500.sqlite3").exists() and '"programme_id"' in meta
    rows = [re.search(r"^\| sqlite \| ([\d,]+) \| \d+ \| ([\d.]+) \|", out, re.M)
            for out in (first, second)]
    assert rows[0] and rows[1] and rows[0].groups() == rows[1].groups(), (first, second)
    for out in (first, second):
        for kind in ("position", "time"):
            assert re.search(rf"^\| sqlite \| [\d,]+ \| {kind} \| 5 \|", out, re.M), out


def test_writes_benchmark_runs():
    out = run("benchmarks/writes.py", "--stores", "sqlite", "--threads", "1,2", "--seconds",
              "0.3", "--rounds", "1", "--flat-sizes", "30,60", "--flat-threads", "2")
    rows = re.findall(r"^\| sqlite \| (\d+) \| (\d+) \| [\d.]+ \| (\d+) \| [\d.]+ \| ([\d.]+) \|$",
                      out, re.M)
    assert [r[0] for r in rows] == ["1", "2"], out
    assert all(int(r[1]) > 0 and int(r[2]) > 0 and float(r[3]) > 0 for r in rows), out
    assert "sqlite: chain verifies" in out, out
    assert re.search(r"^\| sqlite \| 60 \| \d+ \| \d+ \| [\d.]+ \| [\d.]+ \|$", out, re.M), out


def test_web_lists_benchmark_runs(tmp_path):
    """The programme lists on a store of one programme vs one of two, built here: every
    page answered (the script asserts a 200), its sizes and the ratio printed."""
    out = run("benchmarks/web_lists.py", "--small-programmes", "1", "--big-programmes", "2",
              "--store-dir", str(tmp_path), "--requests", "3")
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in out.splitlines()
            if line.startswith("| /")]
    assert [r[0] for r in rows] == ["/r/", "/replay/", "/e/",
                                    "/r/programmes/{pid}/evaluator-links",
                                    "/r/programmes/{pid}/mail"]
    for cells in rows:
        for cell in cells[1:3]:
            cold, p50, kib = (float(x) for x in cell.split(" / "))
            assert cold > 0 and p50 > 0 and kib >= 1
        assert float(cells[3]) > 0
    assert "ratio line: p50 big / small = /r/ " in out


def test_evaluator_reads_benchmark_runs():
    out = run("benchmarks/evaluator_reads.py", "--small", "1", "--big", "2", "--stores",
              "sqlite", "--clients", "2", "--requests", "4", "--rounds", "1")
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in out.splitlines()
            if line.startswith("| sqlite |")]
    concurrent = [r for r in rows if len(r) == 10]
    interleaved = [r for r in rows if len(r) == 5]
    names = ["/programmes", "/programmes/{id}", "/progress", "/timeline", "/progress 304"]
    assert [r[1] for r in concurrent] == [r[1] for r in interleaved] == names
    for cells in concurrent:
        assert int(cells[3].replace(",", "")) > int(cells[2].replace(",", "")) > 1000
        assert float(cells[4]) > 0 and float(cells[5]) > 0 and float(cells[6]) > 0
        assert cells[9] == "0"  # no failed answers
    for cells in interleaved:
        assert float(cells[4]) > 0


def test_bulk_load_benchmark_runs():
    out = run("benchmarks/bulk_load.py", "--programmes", "2", "--workers", "2",
              "--stores", "sqlite")
    row = next(line for line in out.splitlines() if line.startswith("| sqlite |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert int(cells[1].replace(",", "")) > 2000  # two demo programmes...
    assert float(cells[4]) > 0 and float(cells[6]) > 0  # ...loaded, imported, compared
    assert cells[7] == "yes"  # both chains verify


def test_mail_benchmark_runs():
    out = run("benchmarks/mail.py", "--sizes", "3")
    assert re.search(r"\| 3 \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \|", out), out


def test_overview_benchmark_runs():
    out = run("benchmarks/overview.py", "--requests", "2", "--warmup", "1",
              "--participants", "6")
    for page in ("researchers' overview", "evaluators' page", "printable report"):
        row = next(line for line in out.splitlines() if line.startswith(f"| {page} |"))
        cells = [float(c) for c in row.strip("|").split("|")[1:]]
        assert len(cells) == 5 and all(c > 0 for c in cells), row
    assert "| researchers' overview |" in out and "| 1.00 | 1.00 |" in out


def test_enrolment_benchmark_runs():
    out = run("benchmarks/enrolment.py", "--n", "12", "--stores", "sqlite")
    assert re.search(r"\| SQLite( \| [\d.]+){5} \|", out), out


def test_concurrent_writes_benchmark_runs():
    out = run("benchmarks/concurrent_writes.py", "--rounds", "1", "--seconds", "0.2",
              "--n", "5", "--enrolled", "3", "--stores", "sqlite")
    row = next(line for line in out.splitlines() if line.startswith("| 16 threads, 4 "))
    assert row.split("|")[7].strip() == "0"  # BEGIN IMMEDIATE: no call failed
    assert re.search(r"^\| SQLite \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \|", out, re.M)


def test_replay_page_benchmark_runs():
    out = run("benchmarks/replay_page.py", "--requests", "2", "--warmup", "1")
    rows = [line for line in out.splitlines() if line.startswith("| replay")]
    assert len(rows) == 3, out
    for row in rows:  # p50, p95, max in ms, the ratio to the overview, the page's size
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert all(float(c) > 0 for c in cells[1:]), row


@pytest.mark.postgres
def test_gunicorn_load_benchmark_runs(postgres_available):
    """gunicorn on PostgreSQL (its own databases, dropped afterwards), every part."""
    done = subprocess.run(
        [sys.executable, "benchmarks/gunicorn_load.py", "--programmes", "1", "--participants",
         "4", "--big-programmes", "2", "--clients", "2", "--evaluators", "2", "--seconds",
         "0.5", "--rounds", "1", "--pairs", "4", "--client-procs", "1",
         "--compare-root", str(ROOT), "--pool", "3,2"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "FRAMDRIFT_TEST_POSTGRES_URL": postgres_available,
             "WEB_CONCURRENCY": "2", "FRAMDRIFT_THREADS": "2"})
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    posts = re.search(r"^ratio line: form posts / baseline = 2 clients ([\d.]+)$", out, re.M)
    assert posts and float(posts.group(1)) > 0, out
    assert re.search(r"^\| 2 \| \d+ \(\d+\) \| \d+ \| \d+ / \d+ \| [\d.]+ \| [\d.]+ \|$", out,
                     re.M), out
    assert re.search(r"^ratio line: /progress / /healthz req/s = [\d.]+; /progress p99 \d+ ms",
                     out, re.M), out
    for cell in ("/progress", "/progress 304"):  # this tree against itself as a baseline
        compared = re.search(rf"^ratio line: {cell} this tree / baseline: req/s ([\d.]+), "
                             r"p50 [\d.]+, p99 [\d.]+, server CPU per request [\d.]+$",
                             out, re.M)
        assert compared and float(compared.group(1)) > 0, out
    assert re.search(r"^\| /progress 304 \(baseline\) \| \d+ \|", out, re.M), out
    flat = re.search(r"^ratio line: big / small = /progress ([\d.]+) .*/timeline ([\d.]+) "
                     r".*/programmes/\{id\} ([\d.]+)", out, re.M)
    assert flat and all(float(x) > 0 for x in flat.groups()), out


def test_api_bytes_benchmark_runs():
    """Two processes of this tree answer the same requests alike (SQLite, small)."""
    out = run("benchmarks/api_bytes.py", "--stores", "sqlite", "--programmes", "1",
              "--urls", "80")
    found = re.search(r"^sqlite: (\d+) requests \(.*\d+ x 304.*\), 0 differences$", out, re.M)
    assert found and int(found.group(1)) >= 80, out  # at least --urls: every endpoint's
    assert f"ratio line: identical answers over {found.group(1)} requests" in out


def test_post_cpu_benchmark_runs():
    """CPU per form post, this tree against a baseline tree (here the same one)."""
    out = run("benchmarks/post_cpu.py", "--stores", "sqlite", "--posts", "5", "--rounds", "1",
              "--compare-root", str(ROOT))
    rows = [line for line in out.splitlines() if line.startswith("| sqlite |")]
    assert len(rows) == 2, out
    for row in rows:  # CPU and wall ms per post; one read before the write; round trips
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert float(cells[2]) > 0 and float(cells[3]) > 0 and cells[4] == "1", row
        assert int(cells[5]) > 1, row
    ratio = re.search(r"^ratio line: this tree / baseline CPU per post = sqlite ([\d.]+)$", out,
                      re.M)
    assert ratio and float(ratio.group(1)) > 0, out


@pytest.mark.postgres
def test_post_cpu_benchmark_runs_on_postgres(postgres_available):
    done = subprocess.run(
        [sys.executable, "benchmarks/post_cpu.py", "--stores", "postgres", "--posts", "5",
         "--rounds", "1"], cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "FRAMDRIFT_TEST_POSTGRES_URL": postgres_available})
    assert done.returncode == 0, done.stderr[-3000:]
    row = next(line for line in done.stdout.splitlines() if line.startswith("| postgres |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[4] == "1" and int(cells[5]) >= 2, row


@pytest.mark.postgres
def test_api_cpu_benchmark_runs(postgres_available):
    """CPU per API request, this tree against a baseline tree (here the same one)."""
    done = subprocess.run(
        [sys.executable, "benchmarks/api_cpu.py", "--requests", "5", "--rounds", "1",
         "--programmes", "1", "--compare-root", str(ROOT)], cwd=ROOT, capture_output=True,
        text=True, timeout=300,
        env={**os.environ, "FRAMDRIFT_TEST_POSTGRES_URL": postgres_available})
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| /progress |")]
    assert len(rows) == 2, done.stdout  # this tree and the baseline
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert float(cells[2]) > 0 and float(cells[3]) > 0, row
    assert re.search(r"^ratio line: .*/progress 304 [\d.]+", done.stdout, re.M), done.stdout


@pytest.mark.postgres
def test_gunicorn_load_benchmark_compares_trees(postgres_available):
    """``--variants``: another tree's gunicorn on a copy of the store, its posts in the same
    rounds (here the same tree twice), each with its ratio to the library's baseline; the
    posts sent by ``--light-client`` (every post answered with the redirect, or no rate)."""
    out = run("benchmarks/gunicorn_load.py", "--parts", "posts", "--programmes", "1",
              "--participants", "4", "--clients", "2", "--seconds", "0.5", "--rounds", "2",
              "--client-procs", "1", "--variants", f"again={ROOT}", "--pool", "2,2",
              "--light-client", timeout=600,
              env={"FRAMDRIFT_TEST_POSTGRES_URL": postgres_available,
                   "WEB_CONCURRENCY": "2", "FRAMDRIFT_THREADS": "2"})
    assert "posts by LightPoster" in out and "unexpected" not in out, out
    trees = re.search(r"^ratio line \(trees\): 2 clients this tree ([\d.]+) vs again ([\d.]+)$",
                      out, re.M)
    assert trees and all(float(x) > 0 for x in trees.groups()), out
    assert re.search(r"^\| 2 \| again \| \d+ \| [\d.]+ \| \d+ / \d+ \| [\d.]+ \|$", out, re.M), out


@pytest.mark.postgres
def test_gunicorn_load_benchmark_through_nginx(postgres_available):
    """``--nginx``: the posts go through nginx with deploy/nginx.conf, as in the compose
    set-up; every post still answered with the redirect (nothing "unexpected")."""
    from tests.e2e.stack import nginx_binary

    nginx_binary()  # skips without nginx, fails in CI (FRAMDRIFT_REQUIRE_NGINX)
    out = run("benchmarks/gunicorn_load.py", "--parts", "posts", "--programmes", "1",
              "--participants", "4", "--clients", "2", "--seconds", "0.5", "--rounds", "1",
              "--client-procs", "1", "--pool", "2,2", "--nginx", timeout=600,
              env={"FRAMDRIFT_TEST_POSTGRES_URL": postgres_available,
                   "WEB_CONCURRENCY": "1", "FRAMDRIFT_THREADS": "2"})
    assert "through nginx (deploy/nginx.conf)" in out and "unexpected" not in out, out
    passed = re.search(r"nginx in front of small: (\d+) requests passed", out)
    assert passed and int(passed.group(1)) > 0, out
    row = re.search(r"^\| 2 \| \d+ \(\d+\) \| (\d+) \| \d+ / \d+ \| ([\d.]+) \|", out, re.M)
    assert row and int(row.group(1)) > 0 and float(row.group(2)) > 0, out
