"""The `syncledger` command line: one entry point over the handlers of `commands/`.

`app.py` holds the root typer app and `main`; `config`, `sync`, `replay` and `keys` add
their command groups to it; `common.py` holds what they share (options, output, user
errors); `demo.py` is the `syncledger demo` tour. The handlers never import this package.

Each command runs in a process of its own, which must not spend a second importing what other
commands use: these modules import at their top only what parsing and `--help` need, and each
command imports its handlers (and with them the store, the CRM clients, cryptography) itself.
"""
