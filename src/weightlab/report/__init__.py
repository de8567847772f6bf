"""Figures (matplotlib) made from measurements and runs."""
