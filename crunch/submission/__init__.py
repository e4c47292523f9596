"""Submissions and runs on the hub: finding one, checking one, its name, quickstarters,
cloud runs."""
