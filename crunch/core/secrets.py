"""Keeps tokens out of everything shown to a person: messages, URLs, logs and tracebacks.

Every token the process learns (setup token, push token, API key) is registered here, and
:func:`redact` replaces it, and any ``pushToken=...``-like query value, with ``***``.
"""

from __future__ import annotations

import re
import threading

MASK = "***"

_lock = threading.Lock()
_secrets: set[str] = set()

_QUERY_SECRET = re.compile(
    r"(?i)((?:push|clone|setup|api)[-_]?token|api[-_]?key|token)=([^&\s\"'#]+)"
)
# an ``Authorization: API-Key <key>`` value; ``@api-key`` is the option's word, not a header
_HEADER_SECRET = re.compile(r"(?i)(?<![@\w-])(API-Key\s+)(\S+)")
_JSON_SECRET = re.compile(r"(?i)(\"(?:pushToken|cloneToken|plain|apiKey)\"\s*:\s*\")([^\"]+)(\")")


def register(secret: str | None) -> None:
    """Remember a secret so that :func:`redact` masks it wherever it appears."""
    if secret and len(secret) >= 4:
        with _lock:
            _secrets.add(secret)


def redact(text: object) -> str:
    """Return ``text`` as a string with every known secret masked."""
    value = str(text)
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in value:
            value = value.replace(secret, MASK)
    value = _QUERY_SECRET.sub(lambda m: f"{m.group(1)}={MASK}", value)
    value = _HEADER_SECRET.sub(lambda m: f"{m.group(1)}{MASK}", value)
    value = _JSON_SECRET.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", value)
    return value
