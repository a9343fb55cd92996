from syncledger.commands.cli import main

main()
