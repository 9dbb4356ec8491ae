"""What the benchmarks that compare two source trees share: each measurement runs in a
fresh process of one tree (its code on PYTHONPATH), which prints its result as JSON on
its last line; and the load average every result is printed with."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def run_child(script: str, root: Path, argv: list[str], *, timeout: float,
              what: str = "") -> dict[str, Any]:
    """``script --child ARGV`` in a fresh process on the tree ``root``; its JSON result."""
    env = {**os.environ, "PYTHONPATH": str(root), "FRAMDRIFT_SECRET_KEY": "bench"}
    done = subprocess.run([sys.executable, str(Path(script).resolve()), "--child", *argv],
                          cwd=root, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{root}{f' ({what})' if what else ''} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def load_average() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())
