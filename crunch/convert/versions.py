"""Version comments on imports: ``import pandas  # == 1.3``, ``import pyemd  # EMD-signal @latest``.

A comment is a requirement when it starts with an optional distribution name followed by one
of ``@ [ > < = ~``; anything else is an ordinary comment.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple, Union

from ..exceptions import ConversionError

_PATTERN = re.compile(r"^([a-zA-Z_][a-zA-Z0-9_-]*[a-zA-Z0-9])?\s*([@\[><=~])")
_STRIP = " \t\n\r\x0b\x0c#"
LATEST = "@latest"
IGNORE = "@ignore"
_PLACEHOLDER = "placeholder-distribution"


class _Ignore:
    def __repr__(self) -> str:
        return "IGNORED"


IGNORED = _Ignore()


@dataclass
class VersionInfo:
    """What a version comment asks for: a distribution name, extras, specifiers."""

    name: Optional[str] = None
    extras: List[str] = field(default_factory=list)
    specs: List[str] = field(default_factory=list)

    def __str__(self) -> str:
        return format_requirement(self.name or "", self.extras, self.specs) or "(no version)"


def format_requirement(name: str, extras: List[str], specs: List[str]) -> str:
    line = name
    if extras:
        line += f"[{','.join(extras)}]"
    if specs:
        line += ",".join(specs)
    return line


@functools.lru_cache(maxsize=4096)
def parse_comment(comment: Optional[str]) -> Union[None, _Ignore, VersionInfo]:
    """The requirement in an import's trailing comment, ``IGNORED``, or ``None``.

    Raises :class:`ValueError` (with the reason) when the comment looks like a version but
    does not parse.
    """
    if not comment:
        return None
    line = comment.strip(_STRIP)
    if not line:
        return None
    match = _PATTERN.match(line)
    if match is None:
        return None
    name = match.group(1)
    version = line[match.start(2) :].strip()
    if version == IGNORE:
        return IGNORED
    if version == LATEST:
        return VersionInfo(name or None)

    from packaging.requirements import InvalidRequirement, Requirement

    probe_name = name or _PLACEHOLDER
    text = re.sub("#.*", "", f"{probe_name} {version}").strip()
    try:
        requirement = Requirement(text)
    except InvalidRequirement as error:
        reason = str(error).splitlines()[0] if str(error) else "invalid requirement"
        raise ValueError(f"`{version}` is not a version: {reason}") from None
    if requirement.url is not None:
        raise ValueError(f"`{version}`: urls are not allowed")
    if requirement.marker is not None:
        raise ValueError(f"`{version}`: markers are not allowed")
    if requirement.name != probe_name:
        raise ValueError(f"`{version}`: the name must be `{probe_name}`, not `{requirement.name}`")
    extras = sorted(extra.lower() for extra in requirement.extras)
    specs = sorted(str(spec) for spec in requirement.specifier)
    return VersionInfo(name or None, extras, specs)


@dataclass
class ModuleRequirement:
    """What the notebook's imports say about one top-level module."""

    module: str
    name: Optional[str] = None
    extras: List[str] = field(default_factory=list)
    specs: List[str] = field(default_factory=list)
    where: str = ""  # the cell and line that gave the current version

    def info(self) -> VersionInfo:
        return VersionInfo(self.name, list(self.extras), list(self.specs))


def merge(known: Dict[str, ModuleRequirement], module: str, info: VersionInfo, where: str) -> None:
    """Add what an import says about ``module``: a version wins over none; two different
    names, extras or versions are an error naming both."""
    current = known.get(module)
    if current is None:
        known[module] = ModuleRequirement(module, info.name, list(info.extras), list(info.specs), where)
        return
    different: List[str] = []
    if current.name is not None and info.name is not None and current.name != info.name:
        different.append("names")
    if current.extras and info.extras and current.extras != info.extras:
        different.append("extras")
    if current.specs and info.specs and current.specs != info.specs:
        different.append("versions")
    if different:
        raise ConversionError(
            f"{where}: inconsistent {' and '.join(different)} for module `{module}`: "
            f"`{current.info()}` ({current.where}) and `{info}` ({where})"
        )
    if info.name is not None:
        current.name = info.name
    if info.extras or info.specs:
        current.extras = list(info.extras)
        current.specs = list(info.specs)
        current.where = where


def describe(requirement: ModuleRequirement) -> Tuple[Optional[str], List[str], List[str]]:
    return requirement.name, requirement.extras, requirement.specs
