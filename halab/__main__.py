from halab.command.cli import main

main()
