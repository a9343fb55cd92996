"""The worker and status through the command line, against the Salesforce emulator."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import requests
from emulated_world import connect_enabled

from syncledger.commands.session import store_session
from syncledger.emulator.generate import generate_salesforce
from syncledger.emulator.server import RunningEmulator, running


def connect(store: str, emulator: RunningEmulator) -> None:
    with store_session(store) as app:
        connect_enabled(app, emulator)


def cli(store: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "syncledger.commands", "--store", store, "--as", "tm-alice",
            *args]


def test_the_worker_syncs_at_once_and_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'w.db'}"
    with running("salesforce", generate_salesforce(20, 10)) as emulator:
        connect(store, emulator)
        worker = subprocess.Popen(cli(store, "schedule", "--every", "2h"),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert worker.stdout is not None
        lines = []
        for line in worker.stdout:  # blocks until the worker reports; no sleeping
            lines.append(line)
            if line.startswith("run "):
                break
        worker.send_signal(signal.SIGTERM)
        rest, errors = worker.communicate(timeout=120)
        assert worker.returncode == 0, errors
        assert "succeeded" in lines[-1]
        assert "worker stopped" in rest
        [health] = json.loads(subprocess.run(cli(store, "status", "--json"), check=True,
                                             capture_output=True, text=True).stdout)
        assert health["connection"]["connected"] is True
        assert health["last_run"]["outcome"] == "succeeded"
        assert health["next_run"] is not None
        assert health["api_calls_today"] > 0
        assert health["failing_steps"] == []


def test_a_failed_run_calls_the_on_failure_command(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'w.db'}"
    marker = tmp_path / "failed"
    with running("salesforce", generate_salesforce(5, 5)) as emulator:
        connect(store, emulator)
        session = requests.Session()
        session.trust_env = False
        session.post(f"{emulator.url}/__emulator__/faults", json={"error_rate": 1.0,
                                                                  "status": 503, "seed": 1},
                     headers={"Authorization": f"Bearer {emulator.token}"},
                     verify=str(emulator.ca_cert)).raise_for_status()
        result = subprocess.run(cli(store, "schedule", "--max-runs", "1", "--on-failure",
                                    f'echo "$SYNCLEDGER_RUN_ID" > {marker}'),
                                capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "failed" in result.stdout
    assert marker.read_text().strip() in result.stdout


def test_a_worker_that_cannot_start_a_run_calls_the_on_failure_command(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'w.db'}"
    marker = tmp_path / "refused"
    with running("salesforce", generate_salesforce(5, 5)) as emulator:
        connect(store, emulator)
    # The emulator is gone, and the CA certificate the store was connected with with it.
    result = subprocess.run(cli(store, "schedule", "--max-runs", "1", "--on-failure",
                                f'echo "$SYNCLEDGER_OUTCOME: $SYNCLEDGER_REASON" > {marker}'),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "not synced: the CA certificate" in result.stdout
    assert marker.read_text().startswith("refused: the CA certificate")
