"""`python -m syncledger`: the same command line as the `syncledger` script."""

from syncledger.commands.cli import main

main()
