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
    assert re.search(r"\| sqlite \| [\d,]+ \| \d+( \| [\d.]+){10} \|", out), out


def test_bulk_load_benchmark_runs():
    out = run("benchmarks/bulk_load.py", "--programmes", "2", "--workers", "2",
              "--stores", "sqlite")
    row = next(line for line in out.splitlines() if line.startswith("| sqlite |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert int(cells[1].replace(",", "")) > 2000  # two demo programmes...
    assert float(cells[4]) > 0 and float(cells[6]) > 0  # ...loaded, imported, compared
    assert cells[7] == "yes"  # both chains verify
