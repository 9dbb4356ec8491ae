"""``framdrift projections status --max-lag N`` fails while a read model lags more than N
events behind the log (the worker's health check), and passes once it has caught up."""

from __future__ import annotations

from click.testing import CliRunner

from api.cli import cli
from domain.demo import load_demo
from projections.runner import catch_up
from projections.views import NAMES


def _status(store_url: str, *args: str):
    return CliRunner().invoke(cli, ["projections", "status", *args],
                              env={"FRAMDRIFT_DATABASE_URL": store_url})


def test_max_lag_fails_while_behind_and_passes_when_caught_up(app, store_url):
    load_demo(app)
    head = app.max_position()
    assert head > 0

    plain = _status(store_url)
    assert plain.exit_code == 0, plain.output
    assert "lag" in plain.stdout and not plain.stderr

    behind = _status(store_url, "--max-lag", "0")
    assert behind.exit_code == 1, behind.output
    assert plain.stdout == behind.stdout  # the same table, printed before failing
    assert "more than --max-lag 0" in behind.stderr
    assert any(f"projections: {name} lags" in behind.stderr for name in NAMES)
    loose = _status(store_url, "--max-lag", str(head))
    assert loose.exit_code == 0, loose.output  # a lag of at most N is fine

    catch_up(app)

    caught_up = _status(store_url, "--max-lag", "0")
    assert caught_up.exit_code == 0, caught_up.output
    assert not caught_up.stderr
    for line in caught_up.stdout.splitlines()[1:]:
        name, position, log_head, lag = line.split()
        assert name in NAMES and int(position) == int(log_head) == head and lag == "0"
    assert _status(store_url).exit_code == 0


def test_max_lag_must_not_be_negative(app, store_url):
    bad = _status(store_url, "--max-lag", "-1")
    assert bad.exit_code == 2
