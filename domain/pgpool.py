"""PostgreSQL connections without a ping per checkout (issue 14, ADR 0008).

eventsourcing's ``POSTGRES_PRE_PING`` runs an empty statement on every checkout of a
pooled connection: a round trip before each of a request's queries (19.5% of all
samples under load). Framdrift turns it off and checks on error instead:

- :func:`quiet_check`, the pool's ``check``, costs no round trip for a healthy idle
  connection: it only asks the operating system whether the server has sent anything.
  A server that ends a connection (``pg_terminate_backend``, a restart, an idle
  timeout) says so and closes the socket, so the socket is readable; only then is the
  connection pinged, and a dead one is discarded and the next one tried (psycopg_pool).
- A connection that dies while in use (after the check) raises ``OperationalError``:
  eventsourcing's recorders retry such statements with another connection, and
  :meth:`domain.store.Sql.query` retries a read once.
"""

from __future__ import annotations

import select
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool


def quiet_check(conn: psycopg.Connection[Any]) -> None:
    """Raise if ``conn`` is closed, or if the server said something and a ping fails."""
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("the connection is closed")
    try:
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
    except (OSError, ValueError) as e:
        raise psycopg.OperationalError(f"the connection's socket is gone: {e}") from None
    if readable:  # a goodbye (or a notification): find out which
        ConnectionPool.check_connection(conn)


class _Checker:
    """The pool's ``check``: :func:`quiet_check`, and when it finds a dead connection,
    every other idle one is checked at once (``pool.check()``, on error only): the server
    usually ends them together (a restart), and psycopg_pool waits 1, 2, 4 ... seconds
    between failed checks of one checkout."""

    pool: ConnectionPool[Any] | None = None

    def __call__(self, conn: psycopg.Connection[Any]) -> None:
        try:
            quiet_check(conn)
        except psycopg.Error:
            if self.pool is not None:
                self.pool.check()
            raise


def install_quiet_check(datastore: Any) -> None:
    """Give eventsourcing's datastore a pool like its own, checked by :func:`quiet_check`
    (before the pool is first opened: the library builds it with ``open=False``)."""
    old = datastore.pool
    if not old.closed:
        raise RuntimeError("the pool is open already")
    checker = _Checker()
    datastore.pool = checker.pool = type(old)(
        conninfo=old.conninfo, connection_class=old.connection_class, kwargs=old.kwargs,
        min_size=old.min_size, max_size=old.max_size, open=False,
        configure=datastore.after_connect_func(), check=checker, timeout=old.timeout,
        max_waiting=old.max_waiting, max_lifetime=old.max_lifetime, max_idle=old.max_idle,
        get_password_func=old.get_password_func,
    )
