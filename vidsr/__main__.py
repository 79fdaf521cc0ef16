from vidsr.cli.app import main

main()
