from nnlearn.cli import main

main()
