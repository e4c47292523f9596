"""What is installed here: versions, which distribution provides a module, the standard library.

Reads ``importlib.metadata`` directly (no ``pip freeze`` subprocess), once per process.
"""

from __future__ import annotations

import functools
import re
import sys
from typing import Dict, FrozenSet, List, Optional

from packaging.utils import canonicalize_name

_HEADER = re.compile(r"^(Name|Version):[ \t]*(\S.*?)[ \t]*$", re.MULTILINE)


def _name_and_version(dist: "object") -> "tuple[Optional[str], Optional[str]]":
    """Name and version from the header of METADATA: a regex over the first lines is several
    times faster than the email parser behind ``dist.metadata`` (which is the fallback)."""
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""  # type: ignore[attr-defined]
    found: Dict[str, str] = {}
    for match in _HEADER.finditer(text.split("\n\n", 1)[0]):
        found.setdefault(match.group(1), match.group(2))
    if "Name" in found and "Version" in found:
        return found["Name"], found["Version"]
    meta = dist.metadata  # type: ignore[attr-defined]
    return (meta["Name"] if meta else None), dist.version  # type: ignore[attr-defined]


@functools.cache
def _versions() -> Dict[str, str]:
    from importlib import metadata

    versions: Dict[str, str] = {}
    for dist in metadata.distributions():
        name, version = _name_and_version(dist)
        if name and version:
            versions.setdefault(canonicalize_name(name), version)
    return versions


def installed_version(distribution: str) -> Optional[str]:
    """The installed version of ``distribution`` (any spelling), or ``None``."""
    return _versions().get(canonicalize_name(distribution))


@functools.cache
def _module_map() -> Dict[str, List[str]]:
    from importlib import metadata

    try:
        return {key: list(value) for key, value in metadata.packages_distributions().items()}
    except AttributeError:  # Python < 3.10
        mapping: Dict[str, List[str]] = {}
        for dist in metadata.distributions():
            name = dist.metadata["Name"] if dist.metadata else None
            top = dist.read_text("top_level.txt") or ""
            for module in top.split():
                if name:
                    mapping.setdefault(module, []).append(name)
        return mapping


def distributions_for_module(module: str) -> List[str]:
    """The installed distributions that provide the top-level ``module`` (may be empty)."""
    return list(_module_map().get(module, []))


@functools.cache
def stdlib_names() -> FrozenSet[str]:
    """The top-level modules of the standard library (a common subset on Python 3.9)."""
    names = getattr(sys, "stdlib_module_names", None)
    return frozenset(names) if names is not None else _STDLIB_FALLBACK


def is_stdlib(module: str) -> bool:
    """True for a standard-library top-level module (and ``__future__``)."""
    top = module.split(".")[0]
    return top in stdlib_names() or top == "__future__"


def clear_caches() -> None:
    _versions.cache_clear()
    _module_map.cache_clear()


# Python 3.9 has no sys.stdlib_module_names: the common modules, enough for requirements.
_STDLIB_FALLBACK = frozenset(
    """__future__ abc argparse array ast asyncio base64 bisect builtins bz2 calendar cmath collections
    concurrent configparser contextlib copy csv ctypes dataclasses datetime decimal difflib dis email
    enum errno fnmatch fractions functools gc getpass glob gzip hashlib heapq hmac html http importlib
    inspect io itertools json logging lzma math mimetypes multiprocessing numbers operator os pathlib
    pickle platform pprint queue random re resource sched secrets select shlex shutil signal socket
    sqlite3 ssl stat statistics string struct subprocess sys tarfile tempfile textwrap threading time
    timeit tokenize traceback types typing unicodedata unittest urllib uuid warnings weakref xml
    zipfile zlib zoneinfo""".split()
)


CRUNCH_DISTRIBUTIONS = ("crunch-cli", "crunch")
"""The distributions of the ``crunch`` package: the platform provides its own, never pinned."""


def is_crunch_itself(name: str) -> bool:
    return name.lower().replace("_", "-") in CRUNCH_DISTRIBUTIONS
