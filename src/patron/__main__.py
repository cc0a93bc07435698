from patron.cli.main import main

main()
