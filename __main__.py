"""`python -m syncledger`: the same command line as the `syncledger` script."""

from syncledger.commands.cli.app import main

main()
