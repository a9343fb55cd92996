"""A CRM's error message about a person quotes their values: it is encrypted under their key
like the rest of them, so after `forget` no view, history or event holds it in the clear,
and every view drops the person's values at once, not at the next rebuild."""

from __future__ import annotations

import json
from pathlib import Path

from integration.sync.sync_support import connected_org, person

from syncledger.adapters.event_store import SyncLedger
from syncledger.commands import views
from syncledger.commands.forget import find_person_id, forget
from syncledger.commands.session import caught_up
from syncledger.domain.privacy import FORGOTTEN
from syncledger.projections.rebuild import rebuild
from syncledger.projections.registry import CRM_RECORDS, LIVE, LOGS

# Long random words: a coincidental match elsewhere in the files is out of the question.
REFUSED = "zqwvkxjtrbnm@localhost"  # the emulator refuses it: INVALID_EMAIL_ADDRESS
SYNCED = "pqlvzkrwxtcd@example.com"
LATER = "hgfdswxqzvbn@localhost"  # the synced person's new, refused, email
NAMES = ("Wqzkvjrtmbxc", "Kxvqzrtwplmn")


def raw_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.iterdir()
                    if p.name.startswith(path.name))


def table(app: SyncLedger, name: str) -> list[dict[str, object]]:
    projection = {"crm_records": CRM_RECORDS, "sync_logs": LOGS}[name]
    with app.database.reader.connect() as connection:
        rows = projection.tables[name]
        return [dict(r) for r in connection.execute(
            rows.select().order_by(rows.c.uuid)).mappings()]


def test_error_messages_and_crm_copies_of_a_forgotten_person_are_gone_everywhere(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    app = sqlite_store
    path = Path(str(app.store.sqlite_path))
    with connected_org(app, tmp_path) as org:
        org.import_lines([person(1, email=REFUSED, first_name=NAMES[0]),
                          person(2, email=SYNCED, first_name=NAMES[1])])
        first = org.sync()
        org.import_lines([person(2, email=LATER, at="2030-01-01T00:00:00Z")])
        second = org.sync()
    assert [e["code"] for e in first.errors] == ["INVALID_EMAIL_ADDRESS"]
    assert REFUSED in first.errors[0]["message"]
    assert [e["code"] for e in second.errors] == ["INVALID_EMAIL_ADDRESS"]
    assert LATER in second.errors[0]["message"]
    # Until then the views show them, as they show the people.
    logs = views.logs(caught_up(app), None)
    assert {e["message"] for run in logs for e in run["errors"]} == {
        e["message"] for e in first.errors + second.errors}
    assert set(logs[0]["errors"][0]) == {"step", "record", "code", "message"}
    assert SYNCED in {r["email"] for r in table(app, "crm_records")}
    # The log never holds them in the clear.
    with app.database.reader.connect() as connection:
        log = b"".join(bytes(s) for (s,) in connection.exec_driver_sql(
            "SELECT state FROM stored_events"))
    for value in (REFUSED, SYNCED, LATER):
        assert value.encode() not in log

    forget(app, find_person_id(app, "p-1"), "tm-auditor")
    forget(app, find_person_id(app, "p-2"), "tm-auditor")

    logs = views.logs(caught_up(app), None)
    assert [e["message"] for run in logs for e in run["errors"]] == [FORGOTTEN, FORGOTTEN]
    assert all(r["email"] is None for r in table(app, "crm_records"))
    for key in ("p-1", "p-2", f"run:{first.run_id}", f"run:{second.run_id}"):
        trail = json.dumps(views.history(app, key))
        assert not any(value in trail for value in (REFUSED, SYNCED, LATER)), key
    live = {name: table(app, name) for name in ("crm_records", "sync_logs")}
    rebuild(app, list(LIVE.values()))
    assert {name: table(app, name) for name in live} == live
    raw = raw_bytes(path)
    for value in (REFUSED, SYNCED, LATER, *NAMES):
        assert value.encode() not in raw, value
