"""``crunch whitelist validate [FILE]``: is every library of a requirements file (default
``requirements.txt``) whitelisted? One line per library; exit 1 when one is not."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional

from ..api import Client
from ..core.console import Console
from ..core.display import as_json
from ..core.fsutil import read_bytes
from ..exceptions import ConfigurationError, CrunchError
from ..project.context import settings_here
from ..project.settings import Settings


class NotWhitelisted(CrunchError):
    """One library or more is not whitelisted: exit 1."""


def _canonical(name: str) -> str:
    from packaging.utils import canonicalize_name

    return canonicalize_name(name)


def run(
    *, settings: Settings, console: Console, file: Optional[str] = None, language: Optional[str] = None, json_output: bool = False,
) -> Dict[str, bool]:
    from ..code.freeze import requirement_names

    hub, workspace = settings_here(settings)
    path = Path(file) if file else (workspace.root if workspace is not None and not Path("requirements.txt").exists() else Path(".")) / "requirements.txt"
    try:
        text = read_bytes(path).decode("utf-8")
    except FileNotFoundError:
        raise ConfigurationError(f"{path} does not exist: give the requirements file to check") from None
    except IsADirectoryError:
        raise ConfigurationError(f"{path} is a folder: give the requirements file to check") from None
    except UnicodeDecodeError:
        raise ConfigurationError(f"{path} is not UTF-8 text: save it as UTF-8") from None
    names, unreadable = requirement_names(text)
    if unreadable:
        raise ConfigurationError(f"{path}: {unreadable[0]!r} is not a valid requirement: fix that line")
    client = Client(hub.api_base_url, api_key=hub.api_key)
    verdicts: Dict[str, bool] = {}
    for name in names:
        wanted = _canonical(name)
        candidates = client.list_libraries(name, language=(language or "PYTHON").upper())
        verdicts[name] = any(wanted in {_canonical(lib.name), *(_canonical(a) for a in lib.aliases)} for lib in candidates)
    if json_output:
        console.result(as_json(verdicts))
    else:
        width = max((len(n) for n in verdicts), default=0)
        for name, ok in verdicts.items():
            console.result(f"{name:<{width}}  {'ok' if ok else 'not whitelisted'}")
    missing: List[str] = [n for n, ok in verdicts.items() if not ok]
    if missing:
        raise NotWhitelisted(
            f"{len(missing)} librar{'y is' if len(missing) == 1 else 'ies are'} not whitelisted: {', '.join(missing)}; "
            "`crunch whitelist search` finds the names the platform knows"
        )
    if not verdicts:
        console.result(f"{path} asks for no library")
    return verdicts
