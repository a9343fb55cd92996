"""Catching the views up in a process of their own while a large run records.

A run that records many events (an initial pull of 100k Contacts records 300k) used to stop
after its inbound steps to catch the views up, a fifth of its time spent on one core while
the machine's other cores stood idle. Once a run has decided FOLLOW_FROM records, a follower
process opens the same store and catches the views up as the run records; where the run
needs them caught up (before its outbound steps, and after), it asks the follower and waits
for its answer, then catches up whatever is left itself.

Nothing here changes what the views hold: the follower runs projections/runner.catch_up, as
any command does; a batch is one transaction, tracked with its positions, so a follower
stopped or killed anywhere leaves its views where its last batch left them, and whoever
catches up next goes on from there. A follower that fails only costs the run its help: the
run catches up by itself, as it did before.

The protocol, one line each way: the store's URL first (on standard input, never in an
argument `ps` would show), then a log position the run asks the views caught up to, which the
follower echoes once they are. End of input (the run is over, or gone) stops it."""

from __future__ import annotations

import os
import select
import subprocess
import sys
from collections.abc import Sequence
from contextlib import suppress

import structlog

from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.logging import configure_logging
from syncledger.adapters.store_opening import open_store
from syncledger.projections.base import Projection
from syncledger.projections.registry import LIVE
from syncledger.projections.runner import catch_up

log = structlog.get_logger()

# A run that decides fewer records catches up faster than a process starts (about 0.4 s).
FOLLOW_FROM = 1000
IDLE_S = 0.05  # how long an idle follower waits for a request before it looks at the log again
READY = "ready"  # the follower's first line, once it has opened the store
STOP_S = 5.0  # a follower asked to stop ends its batch first; past this it is ended


def spare_core() -> bool:
    """Whether this process may run on more than one core: on one, a follower would only
    take turns with the run, and add its start to the run's time."""
    return len(os.sched_getaffinity(0)) > 1


class ViewsFollower:
    """The run's side: started by `decided` once the run has decided FOLLOW_FROM records
    (where a second core can run it), asked by `catch_up`, stopped by `close`."""

    def __init__(self, app: SyncLedger, projections: Sequence[Projection],
                 follow_from: int = FOLLOW_FROM) -> None:
        self.app = app
        self.projections = list(projections)
        self.follow_from = follow_from
        self.decided_records = 0
        self.process: subprocess.Popen[str] | None = None
        self.is_ready = False  # the follower said it opened the store
        self.given_up: str | None = None  # why the follower stopped helping, if it did
        self.asked: list[int] = []  # positions asked of it, not answered yet

    @property
    def following(self) -> bool:
        return self.process is not None

    def decided(self, records: int) -> None:
        self.decided_records += records
        if self.process is None and self.given_up is None \
                and self.decided_records >= self.follow_from and spare_core():
            self._start()

    def ready(self, wait: float = 0) -> bool:
        """Whether the follower has opened the store (waiting up to `wait` seconds)."""
        if self.process is None or self.is_ready:
            return self.is_ready
        assert self.process.stdout is not None
        readable, _, _ = select.select([self.process.stdout], [], [], wait)
        if not readable:
            return False
        line = self.process.stdout.readline()
        if line.strip() != READY:
            self._give_up(f"said {line.strip()!r} as it started" if line else "it ended")
            return False
        self.is_ready = True
        return True

    def catch_up_meanwhile(self) -> None:
        """Work for the views while the run waits on something else (its last send in
        flight): the follower asked to catch up, its answer taken by the next `catch_up`, so
        that the run records the send's outcomes while the follower works; with no follower,
        the views caught up here."""
        if self.process is not None and self.ready():
            head = self.app.recorder.max_notification_id() or 0
            try:
                self._send(str(head))
            except OSError:  # it is gone: `catch_up` tells, and catches up itself
                return
            self.asked.append(head)
        else:
            self.catch_up()

    def catch_up(self) -> int:
        """The views caught up with everything recorded so far: by the follower, when it
        runs, then by this process (what is left: nothing, unless the follower failed)."""
        if self.process is not None:
            if self.ready():
                self._ask(self.app.recorder.max_notification_id() or 0)
            else:
                # Still starting: waiting for it would cost the run more than it saves. It
                # may start again once the run has decided as many records again.
                self.close()
                self.decided_records = 0
        return catch_up(self.app, self.projections)

    def close(self) -> None:
        """Stopped: at once while it is still starting, else once its batch is done."""
        process, self.process = self.process, None
        ready, self.is_ready = self.is_ready, False
        self.asked = []
        if process is None:
            return
        assert process.stdin is not None and process.stdout is not None
        with suppress(OSError):  # already gone
            process.stdin.close()
        try:
            process.wait(STOP_S if ready else 0)
        except subprocess.TimeoutExpired:
            process.kill()  # an open transaction of its own is rolled back with it
            process.wait()
        process.stdout.close()

    def _start(self) -> None:
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "syncledger.projections.follower"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
                # Out of the terminal's process group: a Ctrl-C is the run's to handle (it
                # ends the follower by ending its input), not a traceback of the follower's.
                start_new_session=True)
            self._send(self.app.store.url)
        except OSError as error:
            self._give_up(f"could not start: {error}")

    def _ask(self, head: int) -> None:
        """Asked to catch up to `head`, its answers to what was asked before taken first."""
        assert self.process is not None and self.process.stdout is not None
        asked, self.asked = [*self.asked, head], []
        with suppress(OSError):  # it is gone: its end is told below
            self._send(str(head))
        for position in asked:
            try:
                answer = self.process.stdout.readline()
            except OSError:
                answer = ""
            if answer.strip() != str(position):
                self._give_up(f"answered {answer.strip()!r}, not {position}" if answer
                              else "it ended")
                return

    def _send(self, line: str) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def _give_up(self, why: str) -> None:
        process = self.process
        self.close()
        code = process.returncode if process is not None else None
        self.given_up = why if code is None else f"{why} (exit code {code})"
        log.warning("the views follower stopped; the run catches its views up itself",
                    why=self.given_up)


class Requests:
    """Lines read from a descriptor unbuffered by Python, so that `select` tells the truth:
    a line the follower has not read yet is either here or still in the pipe."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""
        self.ended = False

    def line(self, wait: float | None) -> str | None:
        """The next line; None when none came within `wait` seconds (None: as long as it
        takes) or the input ended (`ended` says which)."""
        while b"\n" not in self.buffer:
            ready, _, _ = select.select([self.fd], [], [], wait)
            if not ready:
                return None
            chunk = os.read(self.fd, 4096)
            if not chunk:
                self.ended = True
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()


def answer(fd: int, line: str) -> None:
    """One line to the run, unbuffered: nothing is left to flush should the run be gone."""
    os.write(fd, f"{line}\n".encode())


def follow(app: SyncLedger, projections: Sequence[Projection], requests: Requests,
           answers: int) -> None:
    """The follower's side: catch up, over and over, until `requests` end; answer each
    position asked once the views hold everything up to it."""
    while True:
        read = catch_up(app, projections)
        line = requests.line(0 if read else IDLE_S)
        if requests.ended:
            return
        if line is None:
            continue
        catch_up(app, projections)  # a pass begun after the request reads at least to it
        answer(answers, str(int(line)))


def main() -> int:
    # Answers go on a descriptor of their own: whatever else writes to standard output (a
    # library's warning) then goes to standard error and cannot garble them.
    answers = os.dup(sys.stdout.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    configure_logging()
    requests = Requests(sys.stdin.fileno())
    url = requests.line(None)
    if not url:
        return 0
    try:
        app = open_store(url)
    except Exception as error:  # noqa: BLE001 (told to the run's log, which carries on)
        log.warning("the views follower could not open the store", error=str(error))
        return 1
    try:
        answer(answers, READY)
        follow(app, list(LIVE.values()), requests, answers)
    except BrokenPipeError:  # the run is gone: nothing is waiting for the views
        return 0
    except Exception as error:  # noqa: BLE001 (the run catches up by itself)
        log.warning("the views follower failed", error=f"{type(error).__name__}: {error}")
        return 1
    finally:
        app.close()
        app.database.dispose()
    return 0


if __name__ == "__main__":
    code = main()
    # The run waits for the follower's end: with its store closed and its answers written
    # (unbuffered), nothing is left to do but the interpreter's teardown of all it read,
    # which took 0.16 s of a 10k-record run's 3.3 s. Only the standard streams are flushed.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
