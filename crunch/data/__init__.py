"""Data releases and what is cached beside them: the download, the whitelist, the
competition's own code."""
