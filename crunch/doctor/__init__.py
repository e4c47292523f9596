"""``crunch doctor``: what the cloud would object to in a workspace, found before a push."""
