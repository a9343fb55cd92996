"""Whether a sync run is alive is the database's to say, not a clock's: a run holds a lock
that dies with its process (SIGKILL, the OOM killer, a reboot), so a dead run never blocks
the next, and a live one is never taken for dead however long it runs.

- PostgreSQL: a session advisory lock, keyed by the CRM, on a connection of the run's own,
  open for the run's lifetime. The server ends the session, and with it the lock, when the
  process dies (its socket closes) or its host vanishes (TCP keepalives, below).
- SQLite: an OS lock (flock) on a file beside the store, `<store>.run-<crm>.lock`, which the
  kernel gives back when the process dies.

`held()` asks without getting in the way of a run starting at the same moment: on
PostgreSQL it reads `pg_locks`; on SQLite, where asking means trying the lock, askers and
starters each take a second lock file (`...lock.gate`) for the instant of their attempt."""

from __future__ import annotations

import fcntl
import os
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

# The first of the two int4 keys of every run lock ("RUNS"); the second is the CRM's.
RUN_LOCK_CLASS = 0x52554E53
# A session whose process was just killed is ended by the server a moment later: a start
# waits this long for its lock before saying that a run is in progress.
GRACE = "2s"
# A vanished host (a reboot, a cut cable) stops answering keepalives: its session and lock
# end after about idle + interval * count seconds.
KEEPALIVES = {"tcp_keepalives_idle": "30", "tcp_keepalives_interval": "10",
              "tcp_keepalives_count": "3"}
LOCK_NOT_AVAILABLE = "55P03"


class RunLock(Protocol):
    """The lock one CRM's sync run holds for its lifetime."""

    def acquire(self) -> bool:
        """Take the lock unless a live run holds it (then False); never waits for a run."""

    def release(self) -> None:
        """Give the lock back (nothing happens when not held)."""

    def held(self) -> bool:
        """Whether a run (of any process, this one's included) holds the lock now."""


def _checked(crm: str) -> str:
    # The CRM names a file: only a plain name.
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,30}", crm):
        raise ValueError(f"no run lock for CRM {crm!r}")
    return crm


class FileRunLock:
    """SQLite: flock on `<store>.run-<crm>.lock`, created 0600 beside the store file."""

    def __init__(self, store_path: Path, crm: str) -> None:
        self.path = store_path.with_name(f"{store_path.name}.run-{_checked(crm)}.lock")
        self.gate = self.path.with_name(self.path.name + ".gate")
        self._fd: int | None = None

    def acquire(self) -> bool:
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this lock")
        fd = _open(self.path)
        try:
            with self._gate():
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    def held(self) -> bool:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return False  # no run ever started here
        try:
            with self._gate():
                try:
                    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                except BlockingIOError:
                    return True
                fcntl.flock(fd, fcntl.LOCK_UN)
                return False
        finally:
            os.close(fd)

    @contextmanager
    def _gate(self) -> Iterator[None]:
        """Held for the instant of an attempt only, never for a run: waiting for it is
        waiting for another process's attempt to end."""
        fd = _open(self.gate)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def _open(path: Path) -> int:
    # Not inherited by child processes (O_CLOEXEC): a hook the run starts must not keep its
    # lock alive after it dies.
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


class AdvisoryRunLock:
    """PostgreSQL: `pg_advisory_lock(RUN_LOCK_CLASS, crm key)` on a connection taken out of
    the pool for the run (closing it ends the session, and so the lock)."""

    def __init__(self, engine: Engine, crm: str) -> None:
        self.engine = engine
        self.keys = {"a": RUN_LOCK_CLASS,
                     "b": zlib.crc32(_checked(crm).encode()) & 0x7FFFFFFF}
        self._connection: Connection | None = None

    def acquire(self) -> bool:
        if self._connection is not None:
            raise RuntimeError("the run lock is already held by this lock")
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        connection.detach()  # its own session: closing it really disconnects
        try:
            for name, value in KEEPALIVES.items():
                connection.execute(text(f"SET {name} = {value}"))
            # Idle for the whole run: a server that ends idle sessions must spare this one.
            if (connection.dialect.server_version_info or (0,)) >= (14,):
                connection.execute(text("SET idle_session_timeout = 0"))
            connection.execute(text(f"SET lock_timeout = '{GRACE}'"))
            try:
                connection.execute(text("SELECT pg_advisory_lock(:a, :b)"), self.keys)
            except OperationalError as error:
                if getattr(error.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                    raise
                connection.close()
                return False
            connection.execute(text("RESET lock_timeout"))
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return True

    def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            # Closing alone ends the session a moment after the socket closes: until the
            # server notices, the lock would still look held to the next run or asker.
            connection.execute(text("SELECT pg_advisory_unlock(:a, :b)"), self.keys)
        except OperationalError:
            pass  # the session is gone already, and its lock with it
        finally:
            connection.close()

    def held(self) -> bool:
        query = text(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND classid::bigint = :a AND objid::bigint = :b AND objsubid = 2)")
        with self.engine.connect() as connection:
            return bool(connection.execute(query, self.keys).scalar())
