"""The benchmark scripts still run (tiny sizes, SQLite only). They measure; this checks
only that they work and print their tables (speed targets are met in benchmarks/, never
in timed tests)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> str:
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_projection_rebuild_benchmark_runs():
    out = run("benchmarks/projection_rebuild.py", "--programmes", "1", "--only", "sqlite")
    row = next(line for line in out.splitlines() if line.startswith("| SQLite |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    read_alone = int(re.search(r"rebuild's reader alone: (\d+) events", out).group(1))
    assert read_alone > 1000  # the demo programme's events...
    assert cells[1] == f"{read_alone:,}"  # ...all read and rebuilt
    assert float(cells[4]) > 0 and float(cells[7]) > 0


def test_asof_benchmark_runs():
    out = run("benchmarks/asof.py", "--sizes", "1500", "--stores", "sqlite", "--queries", "20")
    assert re.search(r"\| sqlite \| [\d,]+ \| \d+( \| [\d.]+){5} \|", out), out


def test_overview_benchmark_runs():
    out = run("benchmarks/overview.py", "--requests", "2", "--warmup", "1",
              "--participants", "6")
    for page in ("researchers' overview", "evaluators' page", "printable report"):
        row = next(line for line in out.splitlines() if line.startswith(f"| {page} |"))
        cells = [float(c) for c in row.strip("|").split("|")[1:]]
        assert len(cells) == 5 and all(c > 0 for c in cells), row
    assert "| researchers' overview |" in out and "| 1.00 | 1.00 |" in out
