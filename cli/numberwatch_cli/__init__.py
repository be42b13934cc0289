"""`numberwatch`: the scan, its archive and its table, for people at a terminal (outside the Lambda layer)."""
