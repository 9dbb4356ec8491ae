"""The deployment description, checked without a Docker engine.

docker-compose.yml is loaded as YAML: services, start order, environment,
health checks, and every ``framdrift ...`` command it runs must exist in the CLI.
"""

from __future__ import annotations

from pathlib import Path

import click
import pytest
import yaml

from api.cli import cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _command(service: dict) -> list[str]:
    command = service.get("command")
    assert isinstance(command, list), "use the exec (list) form so signals reach the process"
    return [str(part) for part in command]


def _resolves(argv: list[str]) -> bool:
    """Whether ``framdrift <argv...>`` names an existing (sub)command of the click CLI."""
    command: click.Command = cli
    ctx = click.Context(cli)
    for word in argv:
        if word.startswith("-"):
            break
        if not isinstance(command, click.Group):
            break
        sub = command.get_command(ctx, word)
        if sub is None:
            return False
        command = sub
    return not isinstance(command, click.Group)


def _parses(argv: list[str]) -> bool:
    """Whether ``framdrift <argv...>`` resolves *and* its options and arguments parse."""
    if not _resolves(argv):
        return False
    command: click.Command = cli
    ctx = click.Context(cli)
    args = list(argv)
    while isinstance(command, click.Group):
        command = command.get_command(ctx, args.pop(0))
    try:
        command.make_context(command.name, args, parent=ctx)
    except click.UsageError:
        return False
    return True


def test_services_and_images(compose):
    services = compose["services"]
    assert set(services) >= {"db", "migrate", "web", "worker"}
    assert services["db"]["image"].startswith("postgres:")
    for name in ("migrate", "web", "worker"):
        assert services[name].get("build") == "." or services[name].get("image")
    assert "pgdata" in compose.get("volumes", {})


def test_start_order(compose):
    services = compose["services"]
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    for name in ("web", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends.get("db", {}).get("condition", "service_healthy") == "service_healthy"
    assert services["migrate"].get("restart", "no") == "no"


def test_environment(compose):
    services = compose["services"]
    for name in ("migrate", "web", "worker"):
        env = services[name]["environment"]
        assert env["FRAMDRIFT_DATABASE_URL"].startswith("postgresql://")
        assert "@db:5432/" in env["FRAMDRIFT_DATABASE_URL"]
        assert env.get("FRAMDRIFT_SECRET_KEY")
        assert "FRAMDRIFT_MASTER_KEY" in env  # passed on from the host's environment
    assert services["web"]["environment"].get("FRAMDRIFT_MAX_LAG")
    db_env = services["db"]["environment"]
    url = services["web"]["environment"]["FRAMDRIFT_DATABASE_URL"]
    assert f"{db_env['POSTGRES_USER']}:{db_env['POSTGRES_PASSWORD']}@" in url
    assert url.rsplit("/", 1)[1].split("?")[0] == db_env["POSTGRES_DB"]


def test_health_checks(compose):
    services = compose["services"]
    db = services["db"]["healthcheck"]
    assert "pg_isready" in " ".join(db["test"])
    web = services["web"]["healthcheck"]
    assert "/healthz" in " ".join(web["test"]) and "8000" in " ".join(web["test"])
    worker = services["worker"]["healthcheck"]
    for check in (db, web, worker):
        assert check.get("interval") and check.get("retries")


def test_worker_health_check_is_a_real_status_invocation(compose):
    test = [str(part) for part in compose["services"]["worker"]["healthcheck"]["test"]]
    assert test[0] == "CMD", "exec form, like the services' commands"
    argv = test[1:]
    assert argv[:3] == ["framdrift", "projections", "status"]
    assert _resolves(argv[1:]), f"'framdrift {' '.join(argv[1:])}' is no command"
    assert _parses(argv[1:]), f"'framdrift {' '.join(argv[1:])}' does not parse"
    max_lag = int(argv[argv.index("--max-lag") + 1])
    assert max_lag >= 1000  # a burst of writes the worker is still working through is healthy


def test_web_runs_gunicorn_with_workers_after_fork(compose):
    argv = _command(compose["services"]["web"])
    assert argv[0] == "gunicorn"
    assert argv[-1] == "api.wsgi:app"
    workers = int(argv[argv.index("--workers") + 1])
    assert workers >= 2
    assert "--preload" not in argv  # (the app is lazy anyway; keep workers independent)
    assert "0.0.0.0:8000" in argv
    assert any(p.startswith("8000:8000") for p in compose["services"]["web"]["ports"])
    import api.wsgi

    assert api.wsgi.app.extensions["framdrift"].app is None  # nothing built at import


def test_every_framdrift_command_exists(compose):
    seen = []
    for name, service in compose["services"].items():
        if "command" not in service:
            continue
        argv = _command(service)
        if argv[0] == "framdrift":
            seen.append(name)
            assert _resolves(argv[1:]), f"{name}: 'framdrift {' '.join(argv[1:])}' is no command"
    assert {"migrate", "worker"} <= set(seen)


def test_dockerfile_matches(compose):
    text = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11" in text
    for package in ("domain", "api", "projections"):
        assert f"COPY {package} ./{package}" in text
    assert "USER framdrift" in text
    assert "api.wsgi:app" in text


def test_resolver_rejects_unknown_commands():
    assert _resolves(["migrate"])
    assert not _resolves(["no-such-command"])
    assert not _resolves(["tokens"])  # a group alone is not a command
    assert _resolves(["tokens", "create", "--role", "evaluator"])
    assert _parses(["projections", "status", "--max-lag", "5000"])
    assert not _parses(["projections", "status", "--max-lag", "-1"])
    assert not _parses(["projections", "status", "--no-such-option"])
