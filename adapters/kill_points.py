"""A test hook: SYNCLEDGER_KILL_AT=<point> makes the process SIGKILL itself when it reaches
the named point, as the OOM killer or a power cut would, with no cleanup of any kind. Off
unless set. Points: "run.started" (a sync run's SyncRunStarted saved, its lock held)."""

from __future__ import annotations

import os
import signal

KILL_AT = "SYNCLEDGER_KILL_AT"


def kill_point(name: str) -> None:
    """Die here, at once, if SYNCLEDGER_KILL_AT names this point."""
    if os.environ.get(KILL_AT) == name:
        os.kill(os.getpid(), signal.SIGKILL)
