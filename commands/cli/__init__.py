"""The `syncledger` command line: one entry point over the handlers of `commands/`.

`app.py` holds the root typer app and `main`; `config`, `sync`, `replay` and `keys` add
their command groups to it; `common.py` holds what they share (options, output, user
errors); `demo.py` is the `syncledger demo` tour. The handlers never import this package.
"""
