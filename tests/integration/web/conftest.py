"""One synced store for the web view's tests: built once per module (a few syncs against
the Salesforce emulator), then only read, as the site only reads."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from integration.sync.sync_support import NOW, connected_org, contact, person
from integration.web.web_support import World

from syncledger.commands.forget import find_person_id, forget
from syncledger.commands.session import store_session
from syncledger.commands.sync import run_sync


@pytest.fixture(scope="module")
def module_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The store's key for the whole module: its person keys are wrapped with it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SYNCLEDGER_KEY", Fernet.generate_key().decode())
        patch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
        yield


@pytest.fixture(autouse=True)
def credentials_key(module_key: None) -> None:
    """Overrides the suite's key per test: these tests share the module's store."""


@pytest.fixture(scope="module")
def world(module_key: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("web")
    with store_session(f"sqlite:///{tmp / 'store.db'}") as app:
        with connected_org(app, tmp) as org:
            org.load(Contact=[contact(1), contact(2)])
            no_company = {k: v for k, v in person(3).items() if k != "account"}
            org.import_lines([person(1, fields={"title": "CTO"}),
                              person(2, email="broken@localhost"), no_company])
            first = run_sync(app, "tm-alice", NOW).run_id
            org.admin("POST", "clock", {"advance": 60})
            org.load(Contact=[{"Id": contact(1)["Id"], "LastName": "Newname"}])
            second = run_sync(app, "tm-alice", NOW + timedelta(hours=1)).run_id
            org.import_lines([person(4, first_name="Secret", last_name="Hidden",
                                     email="secret.person@example.com"),
                              person(5, email="hidden.failure@localhost")])
            third = run_sync(app, "tm-alice", NOW + timedelta(hours=2)).run_id
        for forgotten in ("p-4", "p-5"):  # p-5's lead was refused, quoting its email
            forget(app, find_person_id(app, forgotten), "tm-alice")
        yield World(app, first, second, third)
