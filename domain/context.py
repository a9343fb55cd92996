"""Who and what caused a change: carried by every event, never derived from the clock."""

from __future__ import annotations

from dataclasses import dataclass

SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class Context:
    cause: str  # "import:<id>", "run:<id>", "config:<id>", "forget:<id>"
    actor: str = SYSTEM_ACTOR
