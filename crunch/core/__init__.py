"""The ground floor: console output, formatting, files, JSON reading, secrets, signals and
the platform crunch runs on. Imports nothing of crunch but ``crunch.exceptions``."""
