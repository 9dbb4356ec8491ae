"""Run callables in threads at once, for the concurrency tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def run_in_threads(targets: list[Callable[[], Any]], timeout: float = 60) -> list[tuple[str, Any]]:
    """Run the callables in threads at once; return each one's result or exception."""
    outcomes: list[Any] = [None] * len(targets)

    def runner(i: int, target: Callable[[], Any]) -> None:
        try:
            outcomes[i] = ("ok", target())
        except BaseException as e:  # noqa: BLE001 - reported to the test
            outcomes[i] = ("error", e)

    threads = [threading.Thread(target=runner, args=(i, t)) for i, t in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
        assert not t.is_alive(), "a thread hung"
    return outcomes
