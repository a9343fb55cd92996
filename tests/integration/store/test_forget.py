"""Forgetting a person in an append-only log: their key is destroyed, so their events read as
[forgotten] everywhere, while the seals still verify over the stored ciphertext."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from syncledger.adapters.event_store import SyncLedger
from syncledger.commands import views
from syncledger.commands.app_import import import_file
from syncledger.commands.forget import find_person_id, forget
from syncledger.commands.session import caught_up, open_store
from syncledger.domain.privacy import FORGOTTEN
from syncledger.projections.rebuild import rebuild
from syncledger.projections.registry import LIVE
from syncledger.replay.copy_log import copy_log
from syncledger.replay.verify import verify

ADA = {"kind": "person", "id": "p-1", "email": "ada@example.com", "first_name": "Ada",
       "last_name": "Lovelace", "account": "Analytical", "owner": "tm-alice",
       "fields": {"title": "Countess"}}
GRACE = {"kind": "person", "id": "p-2", "email": "grace@example.com", "first_name": "Grace"}
EMAIL = {"kind": "email", "id": "e-1", "person": "p-1", "subject": "Engines",
         "body": "Notes on the engine"}


def write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_forget_redacts_the_view_history_rebuild_and_replay_and_verify_still_passes(
        store: SyncLedger, tmp_path: Path) -> None:
    import_file(store, write(tmp_path / "a.jsonl", [ADA, GRACE, EMAIL]), "tm-alice")
    result = forget(store, find_person_id(store, "ada@example.com"), "tm-auditor")
    assert result.person == "p-1"

    ada = views.person(caught_up(store), "p-1")
    assert (ada["email"], ada["first_name"], ada["last_name"], ada["account"]) == \
        (FORGOTTEN,) * 4
    assert ada["fields"] == {}
    assert views.person(store, "p-2")["first_name"] == "Grace"

    trail = views.history(store, "p-1")
    assert trail[-1]["type"] == "PersonForgotten"
    recorded = trail[0]["data"]
    assert recorded["email"] == FORGOTTEN and recorded["values"] == {}
    activity = next(e for e in trail if e["type"] == "ActivityRecorded")
    assert activity["data"]["details"] == {}
    assert "Ada" not in json.dumps(trail) and "Engines" not in json.dumps(trail)

    live = views.people(store, None)
    rebuild(store, list(LIVE.values()))
    assert views.people(store, None) == live

    replayed = open_store(f"sqlite:///{tmp_path / 'replayed.db'}")
    try:
        copy_log(store, replayed)
        assert views.people(caught_up(replayed), None) == live
    finally:
        replayed.close()
        replayed.database.dispose()

    assert verify(store).broken is None


def test_forgetting_twice_is_harmless(store: SyncLedger, tmp_path: Path) -> None:
    import_file(store, write(tmp_path / "a.jsonl", [ADA]), "system")
    person = find_person_id(store, "p-1")
    forget(store, person, "system")
    before = store.recorder.max_notification_id()
    forget(store, person, "system")
    assert store.recorder.max_notification_id() == before


def test_importing_a_forgotten_person_again_starts_a_new_person_and_says_so(
        store: SyncLedger, tmp_path: Path) -> None:
    import_file(store, write(tmp_path / "a.jsonl", [ADA, EMAIL]), "system")
    forget(store, find_person_id(store, "p-1"), "system")
    again = import_file(store, write(tmp_path / "b.jsonl", [GRACE, ADA, EMAIL]), "system")
    assert again.notes == ["person p-1 was forgotten; recorded again as a new person, "
                           "under a new key"]
    ada = views.person(caught_up(store), "ada@example.com")
    assert (ada["first_name"], ada["fields"]) == ("Ada", {"title": "Countess"})
    trail = views.history(store, "p-1")
    assert trail[0]["data"]["email"] == FORGOTTEN  # the old life stays forgotten
    changed = [e for e in trail if e["type"] == "ActivityChanged"]
    assert changed[-1]["data"]["details"]["subject"] == "Engines"
    assert verify(store).broken is None
