"""``weightlab translate``: map a framework setting onto another framework."""
