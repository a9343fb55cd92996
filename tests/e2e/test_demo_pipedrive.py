"""`syncledger demo --crm pipedrive` as a new user runs it: a real process, a Pipedrive
emulator, a store left in --dir with linked people and succeeded runs (issue 19)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from syncledger.commands import views
from syncledger.commands.session import caught_up, store_session


def demo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "syncledger.commands", "demo", *args],
                          capture_output=True, text=True, timeout=180)


def test_the_pipedrive_demo_ends_with_linked_people_and_succeeded_runs(tmp_path: Path
                                                                      ) -> None:
    directory = tmp_path / "demo"
    result = demo("--crm", "pipedrive", "--dir", str(directory))
    assert result.returncode == 0, result.stderr
    said = result.stdout
    assert "Pipedrive emulator at https://127.0.0.1:" in said
    assert "Connected to company Acme Sales (4242) as alice@team.example" in said
    assert "Run " in said and "(Default profile): succeeded" in said
    assert "skipped" in said and "owner not mapped" in said
    assert "A few linked people" in said and "/person/" in said
    assert "Salesforce" not in said
    store = f"sqlite:///{directory / 'syncledger.db'}"
    assert f"--store {store} people list --linked pipedrive" in said
    assert (directory / "custom.toml").read_text().count('crm = "pipedrive"') == 1

    with store_session(store) as app:  # read where the demo left it, as `logs` and `people`
        runs = views.logs(caught_up(app), None)
        people = views.people(app, "pipedrive")
    assert {r["crm"] for r in runs} == {"pipedrive"}
    assert runs[0]["outcome"] == "succeeded"  # the last: the Custom profile's, all written
    assert runs[-1]["outcome"] == "succeeded" and runs[-1]["counts"]["persons"]["created"] == 500
    imported = [p for p in people if p["id"].startswith("p-")]
    came_in = [p for p in people if p["id"].startswith("pd-person-")]
    assert len(imported) == 500 and came_in  # both ways
    link = imported[0]["links"][0]
    assert link["crm"] == "pipedrive" and link["url"].endswith(f"/person/{link['id']}")
    routed = [p for p in came_in if (p["sequence"] or {}).get("id") == "seq-q4"]
    assert routed and {p["owner"] for p in routed} == {"tm-bob"}
    assert all(p["fields"].get("lead_source") for p in routed)
    assert {p["owner"] for p in imported} == {"tm-alice", "tm-bob", "tm-carol"}


def test_the_demo_refuses_a_crm_it_has_no_tour_for(tmp_path: Path) -> None:
    result = demo("--crm", "hubspot", "--dir", str(tmp_path / "demo"))
    assert result.returncode == 2
    assert "--crm hubspot: expected salesforce or pipedrive" in result.stderr
    assert not (tmp_path / "demo").exists()
