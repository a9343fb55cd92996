"""`syncledger demo`: a fresh store, generated app data imported, and where to look next."""

from __future__ import annotations

import shutil
from pathlib import Path

from rich.console import Console
from rich.table import Table

from syncledger.commands import views
from syncledger.commands.app_import import import_file
from syncledger.commands.sample_app_data import write_app_data
from syncledger.commands.session import caught_up, store_session

DEMO_PEOPLE = 500


def run_demo(directory: Path, out: Console) -> None:
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    data = write_app_data(directory / "app.jsonl", DEMO_PEOPLE)
    store_url = f"sqlite:///{directory / 'syncledger.db'}"
    with store_session(store_url) as store:
        summary = import_file(store, data, "tm-alice")
        again = import_file(store, data, "tm-alice")
        people = views.people(caught_up(store), None)
        trail = views.history(store, people[0]["id"])
    recorded = ", ".join(f"{n} {kind}" for kind, n in sorted(summary.recorded.items()))
    out.print(f"[bold]Imported[/bold] {data}: {recorded}")
    out.print(f"Imported it again: {'nothing new recorded' if again.already_imported else again}")
    table = Table("id", "email", "name", "owner", "status", title="A few people")
    for row in people[:5]:
        table.add_row(row["id"], row["email"], f"{row['first_name']} {row['last_name']}",
                      row["owner"] or "", row["status"] or "")
    out.print(table)
    table = Table("position", "type", "cause", "actor", title=f"History of {people[0]['id']}")
    for entry in trail:
        table.add_row(str(entry["position"]), entry["type"], entry["cause"], entry["actor"])
    out.print(table)
    out.print("Look further:")
    out.print(f"  .venv/bin/syncledger --store {store_url} people list")
    out.print(f"  .venv/bin/syncledger --store {store_url} history {people[0]['id']} --json")
    out.print(f"  .venv/bin/syncledger --store {store_url} verify")
    out.print(f"  .venv/bin/syncledger --store {store_url} rebuild")
