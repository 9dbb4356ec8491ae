"""The master key that seals the participants' data keys (docs/adr/0002):

- ``framdrift keys new-master`` — print a fresh master key (for FRAMDRIFT_MASTER_KEY);
- ``framdrift keys status`` — how many data keys are sealed and how many plain;
- ``framdrift keys wrap`` — seal the plain data keys with the master key (once, after
  setting FRAMDRIFT_MASTER_KEY on a store that had none);
- ``framdrift keys rewrap`` — seal every data key with a new master key (rotation).
"""

from __future__ import annotations

import click

from api.cli import open_app
from domain.privacy import (
    MASTER_KEY_ENV,
    MasterKeyError,
    master_key_from_env,
    new_master_key,
)

NEW_KEY_ENV = "FRAMDRIFT_NEW_MASTER_KEY"
NEW_KEY_FILE_ENV = "FRAMDRIFT_NEW_MASTER_KEY_FILE"


@click.group("keys")
def keys_group() -> None:
    """The master key that seals the participants' data keys."""


@keys_group.command("new-master")
def new_master() -> None:
    """Print a new random master key. Keep it apart from the database (a secret store):
    without it, nothing anyone wrote can be read; with it and a copy of the database,
    everything not erased can."""
    click.echo(new_master_key())


@keys_group.command("status")
def status() -> None:
    """How many data keys are sealed with a master key, how many are plain."""
    app = open_app()
    try:
        counts = app.keys.counts()
        master = "set" if app.keys.master is not None else "not set"
    finally:
        app.close()
    click.echo(f"data keys: {counts['sealed']} sealed with a master key, {counts['plain']} "
               f"plain; {MASTER_KEY_ENV} is {master}")


@keys_group.command("wrap")
def wrap() -> None:
    """Seal every plain data key with the master key (FRAMDRIFT_MASTER_KEY), in one
    transaction. Keys already sealed are checked to open with it and left as they are."""
    app = open_app()
    try:
        done, already = app.keys.wrap_all()
    except MasterKeyError as e:
        raise click.ClickException(str(e)) from None
    finally:
        app.close()
    click.echo(f"sealed {done} data keys with the master key ({already} were sealed already)")


@keys_group.command("rewrap")
def rewrap() -> None:
    """Rotate the master key: seal every data key with the new master key in
    FRAMDRIFT_NEW_MASTER_KEY (or the file in FRAMDRIFT_NEW_MASTER_KEY_FILE) instead of the
    current one (FRAMDRIFT_MASTER_KEY), in one transaction. Then give every process the new
    key as FRAMDRIFT_MASTER_KEY and restart them: the old one no longer opens the keys.
    Backups made before still need the old key."""
    try:
        new = master_key_from_env(name=NEW_KEY_ENV, file_name=NEW_KEY_FILE_ENV)
    except MasterKeyError as e:
        raise click.ClickException(str(e)) from None
    if new is None:
        raise click.ClickException(
            f"no new master key: set {NEW_KEY_ENV} (make one with `framdrift keys new-master`)")
    app = open_app()
    try:
        done = app.keys.rewrap(new)
    except MasterKeyError as e:
        raise click.ClickException(f"{e}; nothing was changed") from None
    finally:
        app.close()
    click.echo(f"sealed {done} data keys with the new master key: now set {MASTER_KEY_ENV} "
               f"to it for every process and restart them (the old key no longer opens them)")


commands = [keys_group]
