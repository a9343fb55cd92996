"""What the web view's tests share: the synced store conftest builds."""

from __future__ import annotations

from dataclasses import dataclass

from syncledger.adapters.event_store import SyncLedger


@dataclass
class World:
    app: SyncLedger
    first: str  # the run: contacts in, leads out, one refused, one skipped
    second: str  # the run that updated a contact's last name
    third: str  # the run that made p-4's lead and was refused p-5's, before both were
    # forgotten
