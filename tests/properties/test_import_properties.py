"""Properties of import and replay, on real stores (hypothesis drives the data)."""

from __future__ import annotations

import json
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stores import (
    NO_POSTGRES,
    create_postgres_database,
    drop_postgres_database,
    postgres_listening,
)

from syncledger.adapters.event_store import SyncLedger
from syncledger.commands import views
from syncledger.commands.app_import import import_file
from syncledger.commands.session import caught_up, open_store
from syncledger.replay.copy_log import copy_log
from syncledger.replay.verify import verify

SETTINGS = settings(max_examples=12, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

names = st.text(alphabet="abcdefghijklmnop", min_size=1, max_size=8)
owners = st.sampled_from(["tm-alice", "tm-bob", None])
times = st.integers(min_value=0, max_value=5).map(lambda h: f"2026-11-01T1{h}:00:00Z")


@st.composite
def people_lines(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Person lines, some repeating an id with other values and times, some sharing emails."""
    count = draw(st.integers(min_value=1, max_value=8))
    lines = []
    for _ in range(count):
        n = draw(st.integers(min_value=1, max_value=5))
        line: dict[str, Any] = {"kind": "person", "id": f"p-{n}",
                                "email": f"{draw(names)}{n}@example.com",
                                "at": draw(times)}
        for key in ("first_name", "last_name", "account"):
            if draw(st.booleans()):
                line[key] = draw(st.none() | names)
        if draw(st.booleans()):
            line["owner"] = draw(owners)
        if draw(st.booleans()):
            line["fields"] = {"title": draw(names)}
        lines.append(line)
    if draw(st.booleans()):
        lines.append({"kind": "email", "id": "e-1", "person": "p-1", "subject": draw(names)})
    return lines


def write(directory: Path, name: str, lines: list[dict[str, Any]]) -> Path:
    path = directory / name
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


class Stores:
    def __init__(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.opened: list[SyncLedger] = []

    def new(self, name: str) -> SyncLedger:
        app = open_store(f"sqlite:///{Path(self.tmp.name) / name}.db")
        self.opened.append(app)
        return app

    def close(self) -> None:
        for app in self.opened:
            app.close()
            app.database.dispose()
        self.tmp.cleanup()


def people_view(app: SyncLedger) -> list[dict[str, Any]]:
    return views.people(caught_up(app), None)


@SETTINGS
@given(people_lines())
def test_replaying_the_log_into_a_fresh_store_rebuilds_the_same_people_view(
        lines: list[dict[str, Any]]) -> None:
    stores = Stores()
    try:
        live = stores.new("live")
        import_file(live, write(Path(stores.tmp.name), "a.jsonl", lines), "system")
        replayed = stores.new("replayed")
        copy_log(live, replayed)
        assert people_view(replayed) == people_view(live)
        assert verify(replayed).broken is None
    finally:
        stores.close()


@SETTINGS
@given(people_lines())
def test_importing_the_same_data_twice_appends_no_event(lines: list[dict[str, Any]]) -> None:
    stores = Stores()
    try:
        app = stores.new("s")
        import_file(app, write(Path(stores.tmp.name), "a.jsonl", lines), "system")
        before = app.recorder.max_notification_id()
        import_file(app, write(Path(stores.tmp.name), "b.jsonl", lines), "system")
        assert app.recorder.max_notification_id() == before
    finally:
        stores.close()


@SETTINGS
@given(people_lines(), st.data())
def test_independent_imports_in_any_order_give_the_same_view(
        lines: list[dict[str, Any]], data: st.DataObject) -> None:
    # Independent: the two files touch disjoint people and emails.
    first = [line for line in lines if line.get("id") in ("p-1", "p-2") or
             line.get("person") == "p-1"]
    second = [line for line in lines if line not in first]
    emails_first = {line.get("email") for line in first}
    second = [line for line in second if line.get("email") not in emails_first]
    order = data.draw(st.permutations([first, second]))
    stores = Stores()
    try:
        a, b = stores.new("a"), stores.new("b")
        directory = Path(stores.tmp.name)
        import_file(a, write(directory, "1.jsonl", first), "system")
        import_file(a, write(directory, "2.jsonl", second), "system")
        import_file(b, write(directory, "3.jsonl", order[0]), "system")
        import_file(b, write(directory, "4.jsonl", order[1]), "system")
        assert people_view(a) == people_view(b)
    finally:
        stores.close()


@pytest.mark.skipif(not postgres_listening(), reason=NO_POSTGRES)
@settings(max_examples=4, deadline=None)
@given(st.integers(min_value=5, max_value=40))
def test_two_concurrent_importers_on_postgres_leave_one_person_per_email(n: int) -> None:
    url = create_postgres_database()
    tmp = tempfile.TemporaryDirectory()
    apps = [open_store(url), open_store(url)]
    try:
        files = []
        for side in ("a", "b"):  # the same emails under different app ids
            files.append(write(Path(tmp.name), f"{side}.jsonl", [
                {"kind": "person", "id": f"{side}-{i}", "email": f"shared{i}@example.com"}
                for i in range(n)]))
        errors: list[BaseException] = []

        def run(app: SyncLedger, path: Path) -> None:
            try:
                import_file(app, path, "system")
            except BaseException as error:  # surfaced below
                errors.append(error)

        threads = [threading.Thread(target=run, args=(app, path))
                   for app, path in zip(apps, files, strict=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        people = people_view(apps[0])
        emails = [p["email"] for p in people]
        assert sorted(emails) == sorted(set(emails))
        assert len(people) == n
        assert verify(apps[0]).broken is None
    finally:
        for app in apps:
            app.close()
            app.database.dispose()
        drop_postgres_database(url)
        tmp.cleanup()
