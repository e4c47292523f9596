"""Moving files between the hub and the disk: verified resumable downloads, chunked uploads.

Submodules are imported where they are used (``crunch.transfer.download``,
``crunch.transfer.upload``); this package imports nothing itself.
"""
