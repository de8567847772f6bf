"""``python -m weightlab``: the command line."""

from weightlab._launch import command

command()
