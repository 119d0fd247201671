from nnlearn.cli.app import main

main()
