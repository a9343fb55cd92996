from syncledger.commands.cli.app import main

main()
