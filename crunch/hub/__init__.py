"""The local reference hub: a WSGI app (Werkzeug) over SQLite and a folder of files.

It speaks the protocol of ``docs/protocol.md`` so that every ``crunch`` command can run offline, and
its fault injection lets tests break transfers on purpose. Layout of ``--root``:

``hub.sqlite3``
    every piece of state (competitions, projects, tokens, uploads, submissions)
``files/``
    data releases, quickstarters, upload chunks and completed uploads
"""

DEFAULT_ROOT = ".crunch-hub"
