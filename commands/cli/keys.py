"""`syncledger rotate-key`: re-wrap every person key under a new key-encryption key."""

from __future__ import annotations

from pathlib import Path

import typer

from syncledger.commands.cli.common import out, print_json, settings


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.command("rotate-key")(rotate_key_command)


def rotate_key_command(
        new_key_file: Path = typer.Option(
            None, "--new-key-file", metavar="FILE",
            help="the new key (a Fernet key, on one line; `-`: standard input); else "
            "SYNCLEDGER_NEW_KEY; else, when the key is in the key file, a new one is made"),
        as_json: bool = typer.Option(False, "--json")) -> None:
    """Re-wrap every person key, and re-encrypt the CRM credentials, under a new key, in one
    transaction; the old key no longer opens this store.

    The key in use comes from SYNCLEDGER_KEY, else the key file (~/.config/syncledger/key).
    The new key is never an argument (`ps` would show it). With the key file, the new key
    is written there first, as its first line; the old one stays below it, retired, so that
    other stores still under it keep opening (rotate them too, then delete that line). With
    SYNCLEDGER_KEY nothing is written: set it to the new key once this command succeeds."""
    from syncledger.adapters.key_encryption import new_master_key, rotate_key
    from syncledger.commands.session import store_session

    new, where = new_master_key(new_key_file)
    with store_session(settings.store) as store:
        done = rotate_key(store.database, new)
    if as_json:
        print_json({"old": done.old, "new": done.new, "person_keys": done.keys,
                    "credentials": done.credentials,
                    "key_file": str(done.key_file) if done.key_file else None})
        return
    out.print(f"re-wrapped {done.keys} person key(s) and {done.credentials} credential(s) "
              f"under key {done.new} (was {done.old}), from {where}", highlight=False)
    if done.key_file is not None:
        out.print(f"the new key is the first line of {done.key_file}; the old one stays below "
                  "it for other stores still under it: delete that line once none is",
                  highlight=False)
    else:
        out.print("now set SYNCLEDGER_KEY to the new key: the old one no longer opens this "
                  "store", highlight=False)
