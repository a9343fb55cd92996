"""`syncledger sync --dry-run`: read the CRM and decide exactly as a real sync would, against
a throwaway copy of the log, so nothing is written to the CRM or to the log; print per record
the plan and the API calls the real run would spend."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.gateways import dry_run_gateway
from syncledger.commands.session import store_session
from syncledger.commands.sync import SyncRefused, run_sync
from syncledger.domain.ids import integration_id
from syncledger.domain.integration import Integration
from syncledger.domain.steps import FIRST_CRM
from syncledger.replay.copy_log import copy_log


def dry_run(app: SyncLedger, actor: str, now: datetime, full: bool = False,
            crm: str = FIRST_CRM) -> dict[str, Any]:
    integration = AggregateCache(app).get(integration_id(crm), Integration)
    if integration is None or not integration.connected:
        raise SyncRefused(f"{crm} is not connected: run `syncledger connect {crm}` first",
                          crm=True)
    gateway = dry_run_gateway(app.database, integration)
    plan: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="syncledger-dry-run-") as tmp, \
            store_session(f"sqlite:///{Path(tmp) / 'copy.db'}") as copy:
        copy_log(app, copy)
        # The guard's counts are shown on top of the plan, which goes to its end.
        report = run_sync(copy, actor, now, full=full, crm=crm, gateway=gateway, plan=plan,
                          allow_mass_changes=True)
    calls = dict.fromkeys(("total", *gateway.call_kinds), 0)
    for kind, spent in gateway.calls.items():
        calls[kind] = calls.get(kind, 0) + spent
    calls["total"] = sum(v for k, v in calls.items() if k != "total")
    return {"plan": plan, "api_calls": calls, "counts": report.counts,
            "mass_changes": report.mass_changes, "errors": report.errors,
            "outcome": report.outcome}
