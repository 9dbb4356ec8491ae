"""Helpers for tests that run Framdrift as real processes (gunicorn, the worker, the CLI)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(n: int) -> list[int]:
    """``n`` distinct free ports: every socket stays bound until all are chosen (two
    ``free_port()`` calls in a row once gave nginx and gunicorn the same port, and nginx
    proxied to itself)."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def framdrift(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """Run the ``framdrift`` command; fail the test with its output if it fails."""
    done = subprocess.run([str(BIN / "framdrift"), *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout
