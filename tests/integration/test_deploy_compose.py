"""The deployment description, checked without a Docker engine.

docker-compose.yml is loaded as YAML: services, start order, environment,
health checks, and every ``framdrift ...`` command it runs must exist in the CLI.
The gunicorn settings file is read by gunicorn itself; the nginx configuration is
checked by ``nginx -t`` (with only its port, upstream and paths templated).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
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
    assert set(services) >= {"db", "redis", "migrate", "web", "proxy", "worker"}
    assert services["db"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")  # the official images
    assert services["proxy"]["image"].startswith("nginx:")
    assert "volumes" not in services["redis"]  # counts of attempts only: nothing to keep
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
    assert services["web"]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["proxy"]["depends_on"]["web"]["condition"] == "service_healthy"


def test_environment(compose):
    services = compose["services"]
    for name in ("migrate", "web", "worker"):
        env = services[name]["environment"]
        assert env["FRAMDRIFT_DATABASE_URL"].startswith("postgresql://")
        assert "@db:5432/" in env["FRAMDRIFT_DATABASE_URL"]
        assert env.get("FRAMDRIFT_SECRET_KEY")
        assert "FRAMDRIFT_MASTER_KEY" in env  # passed on from the host's environment
    assert services["web"]["environment"].get("FRAMDRIFT_MAX_LAG")
    # sign-in limits counted in the redis service, shared by every worker
    assert services["web"]["environment"]["FRAMDRIFT_RATELIMIT_STORAGE_URL"].startswith(
        "redis://redis:6379/")
    # exactly one proxy in front (nginx) is trusted for X-Forwarded-For
    assert str(services["web"]["environment"]["FRAMDRIFT_PROXY_FIX"]) == "1"
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
    redis = services["redis"]["healthcheck"]
    assert [str(part) for part in redis["test"]] == ["CMD", "redis-cli", "ping"]
    proxy = services["proxy"]["healthcheck"]
    assert "http://127.0.0.1:8000/healthz" in proxy["test"]  # through nginx to the app
    for check in (db, web, worker, redis, proxy):
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


def _gunicorn_settings(argv: list[str]) -> dict[str, str]:
    """The settings gunicorn itself reads from ``argv`` (``--print-config``)."""
    done = subprocess.run([str(Path(sys.executable).parent / "gunicorn"), "--print-config",
                           *argv[1:]], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr + done.stdout
    settings = {}
    for line in done.stdout.splitlines():
        name, sep, value = line.partition("=")
        if sep:
            settings[name.strip()] = value.strip()
    return settings


def test_web_runs_gunicorn_with_its_config_file(compose):
    web = compose["services"]["web"]
    argv = _command(web)
    assert argv[0] == "gunicorn"
    assert argv[-1] == "api.wsgi:app"
    assert argv[argv.index("--config") + 1] == "deploy/gunicorn.conf.py"
    settings = _gunicorn_settings(argv)
    assert int(settings["workers"]) >= 2
    # threaded workers: a stuck connection holds a thread, not a whole worker
    assert settings["worker_class"] == "gthread" and int(settings["threads"]) >= 2
    assert settings["preload_app"] == "False"  # each worker builds its app after the fork
    assert settings["bind"] == "['0.0.0.0:8000']"
    assert settings["accesslog"] == "-"
    assert settings["logger_class"] == "api.logredact.GunicornLogger"  # secrets redacted
    # reached only through the proxy
    assert "ports" not in web and "8000" in [str(p) for p in web.get("expose", [])]
    import api.wsgi

    assert api.wsgi.app.extensions["framdrift"].app is None  # nothing built at import


def test_proxy_publishes_port_8000_and_mounts_the_nginx_config(compose):
    proxy = compose["services"]["proxy"]
    assert any(str(p).startswith("8000:8000") for p in proxy["ports"])
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in proxy["volumes"]
    assert _command(proxy) == ["nginx", "-g", "daemon off;"]
    published = [name for name, service in compose["services"].items()
                 if service.get("ports")]
    assert published == ["proxy"]  # nothing else is reachable from outside


def test_nginx_config_buffers_bounds_and_redacts():
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    for directive in ("proxy_request_buffering on;", "proxy_buffering on;",
                      "client_header_timeout 10s;", "client_body_timeout 10s;",
                      "send_timeout 10s;", "listen 8000;", "server web:8000;",
                      "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
                      "proxy_set_header X-Forwarded-Proto $scheme;",
                      "access_log /dev/stdout framdrift;", "server_tokens off;"):
        assert directive in text, directive
    log_format = text[text.index("log_format framdrift"):].split(";", 1)[0]
    # the raw request line and path would carry /in/<secret>: only the redacted map is logged
    assert "$framdrift_uri" in log_format and "$framdrift_referer" in log_format
    for raw in ("$request ", "$request\"", "$request_uri", "$uri", "$args", "$http_referer"):
        assert raw not in log_format, raw
    # `daemon off;` is given on the command line (compose, the tests), as the image does
    assert not any(line.strip().startswith("daemon") for line in text.splitlines())


def test_nginx_accepts_its_config():
    """``nginx -t`` on deploy/nginx.conf with its port, upstream and paths templated."""
    from tests.e2e.processes import free_port
    from tests.e2e.stack import nginx_binary, nginx_command, nginx_dir, render_nginx_conf

    binary = nginx_binary()
    root = nginx_dir()
    conf = render_nginx_conf(root, free_port(), "127.0.0.1:9")
    try:
        done = subprocess.run(nginx_command(binary, root, conf, "-t"), capture_output=True,
                              text=True, timeout=30)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "test is successful" in done.stderr


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
    assert "COPY deploy ./deploy" in text  # the gunicorn settings travel in the image
    assert '"--config", "deploy/gunicorn.conf.py"' in text


def test_resolver_rejects_unknown_commands():
    assert _resolves(["migrate"])
    assert not _resolves(["no-such-command"])
    assert not _resolves(["tokens"])  # a group alone is not a command
    assert _resolves(["tokens", "create", "--role", "evaluator"])
    assert _parses(["projections", "status", "--max-lag", "5000"])
    assert not _parses(["projections", "status", "--max-lag", "-1"])
    assert not _parses(["projections", "status", "--no-such-option"])


def test_mail_settings_and_the_mail_worker(compose):
    """Why: issue 13 - the compose file shows where the SMTP settings go, and a `mail`
    service sends the outbox with the same settings as the web app."""
    services = compose["services"]
    for name in ("web", "mail"):
        env = services[name]["environment"]
        assert "FRAMDRIFT_SMTP_URL" in env and env.get("FRAMDRIFT_MAIL_FROM")
        assert env.get("FRAMDRIFT_BASE_URL")
    assert _command(services["mail"])[:3] == ["framdrift", "mail", "worker"]
    assert _parses(_command(services["mail"])[1:])
    assert services["mail"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully")
