"""Every CLI command is a process of its own: what the entry point imports before a command
runs is paid by each one (`--help` included). The store, the CRM clients and the web view
are imported by the commands that use them."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("sqlalchemy", "cryptography", "simple_salesforce", "eventsourcing", "requests",
         "flask", "syncledger.adapters.event_store")


def test_the_entry_point_imports_no_store_crm_client_or_web_view() -> None:
    script = ("import sys, syncledger.commands.cli.app; "
              f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           check=True).stdout.split()
    assert found == []
