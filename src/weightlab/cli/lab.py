"""``weightlab lab``: the browser lab."""
