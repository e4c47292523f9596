"""Which project: the workspace and its files, settings, the hub's address and client."""
