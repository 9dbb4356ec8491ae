"""The ``framdrift`` command line: migrate, demo, log (and more as they come)."""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Iterator
from datetime import date
from typing import Any
from uuid import UUID

import click

from domain.application import Framdrift
from domain.describe import actor_participant, event_type, participant_of, summarise
from domain.privacy import MasterKeyError
from domain.store import StoreConfigError, parse_database_url


def open_app(*, require_tables: bool = True) -> Framdrift:
    """The application on FRAMDRIFT_DATABASE_URL, with a clear message if it is not ready."""
    try:
        app = Framdrift(config=parse_database_url())
    except (StoreConfigError, MasterKeyError) as e:
        raise click.ClickException(str(e)) from None
    except Exception as e:  # noqa: BLE001 - connection problems are reported, not traced
        raise click.ClickException(f"cannot open the event store: {e}") from None
    if require_tables and not app.has_tables():
        raise click.ClickException(
            f"the event store at {app.config.describe()} has no tables yet: "
            "run 'framdrift migrate' first"
        )
    if require_tables:
        try:
            app.keys.check()
        except MasterKeyError as e:
            app.close()
            raise click.ClickException(str(e)) from None
    return app


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Framdrift: the event-sourced action-research log.

    The store is chosen by FRAMDRIFT_DATABASE_URL (default: a SQLite file in ./data).
    """


@cli.command()
def migrate() -> None:
    """Create the tables (once per database; web workers never create tables)."""
    try:
        config = parse_database_url()
    except StoreConfigError as e:
        raise click.ClickException(str(e)) from None
    try:
        migrate_all(config.url)
    except Exception as e:  # noqa: BLE001
        raise click.ClickException(f"migration failed on {config.describe()}: {e}") from None
    click.echo(f"migrated {config.describe()}")


# Other packages' table creation, run by ``migrate`` after the event tables:
# "module:function" names, each taking the database URL. Missing modules are skipped.
MIGRATE_HOOKS = ("projections.schema:migrate", "domain.mail:migrate")


def _optional_module(name: str) -> Any:
    """The module, or None when it does not exist (an error inside it still raises)."""
    import importlib

    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name == name:
            return None
        raise


def migrate_all(url: str) -> None:
    """What ``framdrift migrate`` does: the event tables, keys, the hash chain and the
    log's indexes (``Framdrift.migrate``), then every ``MIGRATE_HOOKS`` (read models, the
    mail index). For the command, the tests and the benchmarks alike."""
    Framdrift.migrate(url).close()
    for hook in _migrate_hooks():
        hook(url)


def _migrate_hooks() -> list[Any]:
    hooks = []
    for spec in MIGRATE_HOOKS:
        module_name, func = spec.split(":")
        module = _optional_module(module_name)
        if module is not None:
            hooks.append(getattr(module, func))
    return hooks


@cli.command()
@click.option("--seed", default=1, show_default=True, help="Seed of the synthetic data.")
@click.option("--programmes", default=1, show_default=True, type=click.IntRange(1, 100_000),
              help="How many programmes (scale up for benchmarks).")
@click.option("--participants", default=30, show_default=True, type=click.IntRange(2, 10_000))
@click.option("--first-day", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Monday of week 1 (default 2026-09-07).")
@click.option("--if-empty", is_flag=True, help="Only load when the store has no events.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 16),
              help="Loader processes (more only help with free cores: PostgreSQL and the "
                   "loaders share them).")
def demo(seed: int, programmes: int, participants: int, first_day: Any, if_empty: bool,
         workers: int = 1) -> None:
    """Load the SYNTHETIC demo programme(s): fictional people, deterministic from --seed."""
    from domain.demo import DEFAULT_FIRST_DAY, load_demo

    app = open_app()
    if if_empty and app.max_position() > 0:
        click.echo("the store already has events; demo not loaded")
        return
    start_day: date = first_day.date() if first_day else DEFAULT_FIRST_DAY
    with click.progressbar(length=programmes, label="loading synthetic programmes",
                           file=sys.stderr) as bar:
        result = load_demo(app, seed=seed, programmes=programmes, participants=participants,
                           first_day=start_day, progress=bar.update, workers=workers)
    click.echo(
        f"synthetic demo data loaded: {len(result.programme_ids)} programme(s), "
        f"{result.events} new events (seed {seed})"
    )
    for pid in result.programme_ids[:3]:
        click.echo(f"  programme {pid}")


def visible(text: str) -> str:
    """``text`` with control characters shown escaped (``\\x1b``, ``\\n``): a stored
    title or unit name from before the input refused them, or from an imported log, must not
    move the cursor, recolour the terminal or break the one-line-per-event layout."""
    if text.isprintable():
        return text
    return "".join(c.encode("unicode_escape").decode("ascii")
                   if unicodedata.category(c) in _CONTROL else c for c in text)


_CONTROL = {"Cc", "Cf", "Zl", "Zp"}  # controls, format characters, line/paragraph breaks


class LogReader:
    """Follows the log and remembers what later events need: pseudonyms, units, programmes."""

    def __init__(self, app: Framdrift):
        self.app = app
        self.pseudonyms: dict[UUID, str] = {}
        self.units: dict[UUID, str] = {}
        self.programme_of: dict[UUID, UUID] = {}
        self.themes: dict[UUID, dict[int, str]] = {}
        self.calendar: dict[UUID, dict[int, tuple[date, str]]] = {}

    def rows(self, after: int = 0) -> Iterator[dict[str, Any]]:
        for position, event in self.app.iter_log(after):
            yield self.row(position, event)

    def row(self, position: int, event: Any) -> dict[str, Any]:
        d = event.__dict__
        name = event_type(event)
        oid = d["originator_id"]
        if name == "Programme.Planned":
            self.programme_of[oid] = oid
            self.themes[oid] = {w.number: w.theme for w in d["weeks"]}
            self.calendar[oid] = {w.number: (w.starts_on, w.theme) for w in d["weeks"]}
        elif "programme_id" in d:
            self.programme_of[oid] = d["programme_id"]
        if name == "Participant.Enrolled":
            self.pseudonyms[oid] = d["pseudonym"]
            self.units[oid] = d["unit"]
        programme_id = self.programme_of.get(oid)
        who = participant_of(event)
        actor = d.get("actor", "system")
        acting = actor_participant(actor)
        actor_label = self.pseudonyms.get(acting, "participant") if acting else actor.split(":")[0]
        record = self.app_record_week(event)
        return {
            "position": position,
            "event_time": d["timestamp"].isoformat(),
            "actor": actor_label,
            "participant": self.pseudonyms.get(who) if who else None,
            "unit": d.get("unit") or (self.units.get(who) if who else None),
            "programme_id": str(programme_id) if programme_id else None,
            "week": record,
            "theme": self.themes.get(programme_id, {}).get(record) if programme_id else None,
            "event_type": name,
            "record_id": str(oid),
            "summary": summarise(event),
        }

    def week_banner(self, row: dict[str, Any], seen: dict[str, int]) -> str | None:
        """A heading when the log's event time enters a new course week of a programme."""
        pid = row["programme_id"]
        weeks = self.calendar.get(UUID(pid)) if pid else None
        if not weeks:
            return None
        day = date.fromisoformat(row["event_time"][:10])
        current = 0
        for number, (starts_on, _theme) in weeks.items():
            if starts_on <= day:
                current = number
        if current <= seen.get(pid, 0):
            return None
        seen[pid] = current
        starts_on, theme = weeks[current]
        return f"{'':>7}  ── week {current}: {theme} (from {starts_on.isoformat()}) ──"

    @staticmethod
    def app_record_week(event: Any) -> int | None:
        week = event.__dict__.get("week")
        return week if isinstance(week, int) else None


@cli.command()
@click.option("--programme", "programme_id", default=None, help="Only this programme's events.")
@click.option("--format", "fmt", type=click.Choice(["text", "ndjson"]), default="text",
              show_default=True)
@click.option("--after", default=0, show_default=True, help="Start after this log position.")
def log(programme_id: str | None, fmt: str, after: int) -> None:
    """Print the events in log order: position, time, actor, unit, type, summary."""
    app = open_app()
    if programme_id:
        try:
            UUID(programme_id)
        except ValueError:
            raise click.BadParameter("not a programme id", param_hint="--programme") from None
    reader = LogReader(app)
    out = sys.stdout
    current_week: dict[str, int] = {}
    try:
        if fmt == "text":
            out.write(f"{'pos':>7}  {'event time (UTC)':<16}  {'actor':<11} {'participant':<11} "
                      f"{'unit':<16} {'wk':<3} {'event':<32} summary\n")
        for row in reader.rows(0):
            if row["position"] <= after:
                continue
            if programme_id and row["programme_id"] != programme_id:
                continue
            if fmt == "ndjson":
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                continue
            banner = reader.week_banner(row, current_week)
            if banner:
                out.write(visible(banner) + "\n")
            week = f"w{row['week']}" if row["week"] else ""
            out.write(
                f"{row['position']:>7}  {row['event_time'][:16].replace('T', ' ')}  "
                f"{visible(row['actor']):<11.11} {visible(row['participant'] or '-'):<11.11} "
                f"{visible(row['unit'] or '-'):<16.16} {week:<3} "
                f"{row['event_type']:<32} {visible(row['summary'])}\n"
            )
    except BrokenPipeError:  # e.g. `framdrift log | head`
        sys.stderr.close()


# Command groups that live beside the packages they drive. Each module defines a
# ``commands`` list of click commands; a module that does not exist yet is skipped.
# A module may also define ``register(cli)``, called after every module is loaded (to add
# commands to another module's group).
COMMAND_MODULES = ("projections.cli", "api.commands", "api.admin_commands",
                   "api.replay_commands", "api.privacy_commands", "api.key_commands",
                   "api.enrolment_commands", "api.mail_commands", "api.evaluator_commands")


def _register_command_modules() -> None:
    loaded = []
    for name in COMMAND_MODULES:
        module = _optional_module(name)
        if module is None:
            continue
        for command in module.commands:
            cli.add_command(command)
        loaded.append(module)
    for module in loaded:
        if hasattr(module, "register"):
            module.register(cli)


_register_command_modules()


def main() -> None:
    cli(prog_name="framdrift")


if __name__ == "__main__":
    main()
