"""A run large enough for the views follower (projections/follower.py): its views are caught
up by a process of its own as the inbound step records, the outbound step reads them caught
up, and they end as a rebuild from the log makes them."""

from __future__ import annotations

import os
from pathlib import Path

from projection_dump import projection_rows
from sync_support import NOW, connected_org, contact, person

from syncledger.adapters.event_store import SyncLedger
from syncledger.commands.sync import run_sync
from syncledger.projections.follower import FOLLOW_FROM
from syncledger.projections.rebuild import rebuild
from syncledger.projections.registry import LIVE

FOLLOWER = b"syncledger.projections.follower"


def followers() -> list[int]:
    """This process's children that are views followers (Linux's /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The parent's pid is the field after the name, which ends with the last ')'.
            parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            # An argument of its own (a fork server's names the module among those it loads).
            args = (entry / "cmdline").read_bytes().split(b"\0")
            if parent == os.getpid() and FOLLOWER in args:
                found.append(int(entry.name))
        except (FileNotFoundError, ProcessLookupError):  # ended meanwhile
            pass
    return found


def test_a_large_run_is_followed_and_its_views_end_as_a_rebuild_makes_them(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    contacts = FOLLOW_FROM + 500
    with connected_org(sqlite_store, tmp_path) as org:
        org.load(Contact=[contact(n) for n in range(1, contacts + 1)])
        org.import_lines([person(n) for n in range(1, 21)])
        seen: list[list[int]] = []
        report = run_sync(sqlite_store, "tm-alice", NOW,
                          progress=lambda label, records: seen.append(followers()))
        assert report.outcome == "succeeded", report.errors
        assert report.counts["people"]["created"] == contacts
        assert report.counts["leads"]["created"] == 20
        # Started once the run had decided FOLLOW_FROM records (its first batch), one at a
        # time (stopped if it was still starting when the run needed its views).
        assert len(seen) == 3 and seen[0] and all(len(pids) <= 1 for pids in seen), seen
        assert followers() == []  # and ended with the run
        people = org.people()
        assert len(people) == contacts + 20
        assert {p["links"][0]["object"] for p in people.values()} == {"Contact", "Lead"}
        writes = org.writes()
        again = org.sync()
        assert org.writes() == writes, again  # nothing to write again
        followed = projection_rows(sqlite_store)
        rebuild(sqlite_store, list(LIVE.values()), workers=0)
        assert projection_rows(sqlite_store) == followed
