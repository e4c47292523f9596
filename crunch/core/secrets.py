"""Keeps tokens out of everything shown to a person: messages, URLs, logs and tracebacks.

Every token the process learns (setup token, push token, API key) is registered here, and
:func:`redact` replaces it, any ``pushToken=...``-like query value and the password of any
``scheme://user:password@host`` address, with ``***``. :func:`mask_url` masks the password of
one address (the user name stays: it tells which account).
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
# the password of ``scheme://user:password@host/...``: up to the last ``@`` before the path
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/?#@:]*:)([^\s/?#]*)(@)")
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
    value = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", value)
    return value


def mask_url(url: str) -> str:
    """``url`` with the password of its ``user:password@`` part (if any) replaced by ``***``."""
    return _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", str(url))


def contains_secret(text: object) -> bool:
    """Whether ``text`` holds a registered secret (the tokens this process learned)."""
    value = str(text)
    with _lock:
        known = list(_secrets)
    return any(secret in value for secret in known)
