"""Forgetting a person also deletes the message bodies held for them (store_contents =
false), and the database drops their old bytes as it does for the other personal rows."""

from __future__ import annotations

import json
from pathlib import Path

from held_support import held_rows, log_as_decrypted, set_store_contents, sqlite_files

from syncledger.adapters.event_store import SyncLedger
from syncledger.commands import views
from syncledger.commands.app_import import import_file
from syncledger.commands.forget import find_person_id, forget
from syncledger.commands.session import caught_up
from syncledger.replay.explain import explain
from syncledger.replay.verify import verify

ADA = {"kind": "person", "id": "p-1", "email": "ada@example.com", "first_name": "Ada"}
GRACE = {"kind": "person", "id": "p-2", "email": "grace@example.com", "first_name": "Grace"}
CALL = {"kind": "call", "id": "c-1", "person": "p-1", "outcome": "Connected",
        "notes": "Call notes pm4r about the engine"}
LINKEDIN = {"kind": "linkedin", "id": "li-1", "person": "p-2", "action": "message",
            "message": "LinkedIn tn3s to Grace"}


def test_forget_deletes_the_persons_held_bodies_and_only_theirs(
        store: SyncLedger, store_url: str, tmp_path: Path) -> None:
    set_store_contents(store, False)
    path = tmp_path / "a.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in (ADA, GRACE, CALL, LINKEDIN)))
    import_file(store, path, "tm-alice")
    assert {r["body"] for r in held_rows(store)} == {CALL["notes"], LINKEDIN["message"]}
    assert "pm4r" not in log_as_decrypted(store)
    # The views read a digest where the body would be, and do not trip over it.
    trail = views.history(caught_up(store), "p-1")
    call = next(e for e in trail if e["type"] == "ActivityRecorded")
    assert set(call["data"]["details"]["notes"]) == {"sha256"}
    assert views.person(store, "p-1")["first_name"] == "Ada"
    assert explain(store, "p-1", "first_name").value == "Ada"

    forget(store, find_person_id(store, "ada@example.com"), "tm-auditor")
    assert [r["body"] for r in held_rows(store)] == [LINKEDIN["message"]]
    if store_url.startswith("sqlite"):
        assert b"pm4r" not in sqlite_files(store_url)
    assert verify(store).broken is None
