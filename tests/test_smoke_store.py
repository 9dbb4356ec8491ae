import pytest

from domain.store import StoreConfigError, parse_database_url


def test_sqlite_url_relative_and_absolute(tmp_path):
    rel = parse_database_url("sqlite:///data/x.sqlite3", create_dirs=False)
    assert rel.env["SQLITE_DBNAME"] == "data/x.sqlite3"
    absolute = parse_database_url(f"sqlite:///{tmp_path}/y.sqlite3")
    assert absolute.env["SQLITE_DBNAME"] == f"{tmp_path}/y.sqlite3"
    assert absolute.env["CREATE_TABLE"] == "no"


def test_postgres_url_with_schema_and_password_hidden():
    cfg = parse_database_url("postgresql://u:secret@db:5433/fd?schema=s1")
    assert cfg.env["POSTGRES_HOST"] == "db" and cfg.env["POSTGRES_PORT"] == "5433"
    assert cfg.env["POSTGRES_SCHEMA"] == "s1" and cfg.env["POSTGRES_PASSWORD"] == "secret"
    assert "secret" not in cfg.describe()


def test_postgres_pool_sizes_from_the_url_with_defaults():
    default = parse_database_url("postgresql://h/db")
    assert (default.env["POSTGRES_POOL_SIZE"], default.env["POSTGRES_MAX_OVERFLOW"]) == ("5", "10")
    sized = parse_database_url("postgresql://h/db?pool_size=3&max_overflow=0")
    assert (sized.env["POSTGRES_POOL_SIZE"], sized.env["POSTGRES_MAX_OVERFLOW"]) == ("3", "0")


@pytest.mark.parametrize("url", ["postgresql://h/db?pool_size=0", "postgresql://h/db?pool_size=x",
                                 "postgresql://h/db?max_overflow=-1"])
def test_bad_pool_sizes_name_the_setting(url):
    with pytest.raises(StoreConfigError, match="pool_size|max_overflow"):
        parse_database_url(url)


@pytest.mark.parametrize("url", ["mysql://x/y", "postgresql://h/db?schema=Bad-Name", "sqlite:///"])
def test_bad_urls_are_refused(url):
    with pytest.raises(StoreConfigError):
        parse_database_url(url, create_dirs=False)


def test_migrate_with_a_bad_url_says_why_without_a_traceback():
    from click.testing import CliRunner

    from api.cli import cli

    result = CliRunner().invoke(cli, ["migrate"], env={"FRAMDRIFT_DATABASE_URL": "mysql://x/y"})
    assert result.exit_code == 1
    assert "must start with sqlite:/// or postgresql://" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
