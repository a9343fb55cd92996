"""After `forget`, no personal value of the forgotten person is anywhere in the database
files: not in the log (it is ciphertext), not in the read models, not in free pages or the
WAL."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from syncledger.commands import views
from syncledger.commands.app_import import import_file
from syncledger.commands.forget import find_person_id, forget
from syncledger.commands.session import caught_up, open_store

# Long random words: a coincidental match elsewhere in the files is out of the question.
word = st.text(alphabet="bcdfghjklmnpqrstvwxz", min_size=12, max_size=16)


@settings(max_examples=10, deadline=None)
@given(st.lists(st.tuples(word, word, word, word, word), min_size=2, max_size=5,
                unique_by=lambda t: t[0]), st.data())
def test_no_personal_value_of_a_forgotten_person_remains_in_the_database_files(
        people: list[tuple[str, str, str, str, str]], data: st.DataObject) -> None:
    victim = data.draw(st.integers(min_value=0, max_value=len(people) - 1))
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        lines = []
        for n, (local, first, last, title, body) in enumerate(people):
            lines.append({"kind": "person", "id": f"p-{n}", "email": f"{local}@example.com",
                          "first_name": first, "last_name": last, "account": f"{last} Ltd",
                          "fields": {"title": title}})
            lines.append({"kind": "note", "id": f"n-{n}", "person": f"p-{n}", "text": body})
        source = directory / "app.jsonl"
        source.write_text("".join(json.dumps(line) + "\n" for line in lines))
        store = open_store(f"sqlite:///{directory / 'store.db'}")
        try:
            import_file(store, source, "system")
            views.people(caught_up(store), None)
            forget(store, find_person_id(store, f"p-{victim}"), "system")
            survivors = views.people(caught_up(store), None)
            source.unlink()
            # Scanned while the store is open, so the WAL is there to be read too.
            files = sorted(path.name for path in directory.iterdir())
            raw = b"".join(path.read_bytes() for path in directory.iterdir())
        finally:
            store.close()
            store.database.dispose()
        assert "store.db-wal" in files
        for value in people[victim]:
            assert value.encode() not in raw
        others = [p for n, p in enumerate(people) if n != victim]
        assert {p["first_name"] for p in survivors} >= {o[1] for o in others}
        assert others[0][1].encode() in raw  # the scan does see plaintext read models
