"""``python -m bonepath`` runs the command line."""

from bonepath.cli.main import main

main()
