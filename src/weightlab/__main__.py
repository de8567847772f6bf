"""``python -m weightlab``: the command line."""

from weightlab.cli import main

main()
