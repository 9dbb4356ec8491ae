"""``framdrift projections run | rebuild [NAME] | status``."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from typing import Any

import click

from projections.views import NAMES


def _open_app() -> Any:
    from api.cli import open_app

    return open_app()


@click.group("projections")
def projections_group() -> None:
    """Read models that follow the event log (both stores)."""


@projections_group.command("run")
@click.option("--batch", type=click.IntRange(1, 100_000), default=None,
              help="Events per transaction (default: FRAMDRIFT_PROJECTION_BATCH or 1000).")
@click.option("--interval", type=float, default=0.5, show_default=True,
              help="Seconds between polls when caught up (PostgreSQL is also woken by NOTIFY).")
def run_command(batch: int | None, interval: float) -> None:
    """Follow the log and keep every read model current (until SIGTERM / Ctrl-C).

    On SIGTERM or SIGINT the current batch is finished and committed, then it exits.
    """
    from projections.runner import Runner

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    app = _open_app()
    runner = Runner(app, batch_size=batch)
    stop = threading.Event()

    def handle(signum: int, _frame: Any) -> None:
        click.echo(f"projections: {signal.Signals(signum).name}, finishing the batch", err=True)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    pause = float(os.environ.get("FRAMDRIFT_PROJECTION_PAUSE", "0") or 0)
    click.echo(f"projections: following {app.config.describe()} from position "
               f"{runner.position} (batch {runner.batch_size})", err=True)
    try:
        runner.run(stop, interval=interval, pause=pause)
    finally:
        click.echo(f"projections: stopped at position {runner.position}", err=True)
        app.close()


@projections_group.command("rebuild")
@click.argument("name", required=False, type=click.Choice(NAMES))
@click.option("--batch", type=click.IntRange(1, 1_000_000), default=None,
              help="Events per transaction (default 10000; 5000 on PostgreSQL).")
@click.option("--workers", type=click.IntRange(1, 8), default=None,
              help="Processes (default: FRAMDRIFT_REBUILD_WORKERS, else one per core, at "
                   "most 4). On a log of 20,000+ events (not an in-memory SQLite) each "
                   "builds its share of the programmes; with fewer than 8 programmes a "
                   "process, two split the read models instead.")
def rebuild_command(name: str | None, batch: int | None, workers: int | None) -> None:
    """Rebuild all read models (or NAME) from position zero, then swap them in atomically."""
    from projections.runner import rebuild

    app = _open_app()
    try:
        head = app.max_position()
        with click.progressbar(length=head, label="rebuilding " + (name or "all projections"),
                               file=sys.stderr) as bar:
            result = rebuild(app, [name] if name else None, batch_size=batch,
                             progress=bar.update, workers=workers)
    finally:
        app.close()
    click.echo(f"rebuilt {', '.join(result.names)} to position {result.position}")
    click.echo(f"{result.events} events in {result.seconds:.2f} s = "
               f"{result.rate:,.0f} events/s ({result.plan})")


@projections_group.command("status")
@click.option("--max-lag", type=click.IntRange(min=0), default=None, metavar="N",
              help="Exit 1 (after the table) if any read model lags more than N events "
                   "behind the log, e.g. as a container health check.")
@click.pass_context
def status_command(ctx: click.Context, max_lag: int | None) -> None:
    """Each read model's position, the head of the log, and the lag."""
    from projections.runner import status

    app = _open_app()
    try:
        rows = status(app)
    finally:
        app.close()
    click.echo(f"{'projection':<18} {'position':>10} {'head':>10} {'lag':>8}")
    for r in rows:
        click.echo(f"{r['name']:<18} {r['position']:>10} {r['head']:>10} {r['lag']:>8}")
    if max_lag is None:
        return
    lagging = [r for r in rows if r["lag"] > max_lag]
    for r in lagging:
        click.echo(f"projections: {r['name']} lags {r['lag']} events behind the log "
                   f"(more than --max-lag {max_lag})", err=True)
    if lagging:
        ctx.exit(1)


commands = [projections_group]
