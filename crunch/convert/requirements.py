"""From the notebook's imports to ``requirements.txt`` lines.

The distribution of a module is the name in its version comment, else the whitelist's library
whose name or aliases include the module, else the installed distribution that provides it,
else the module name. Standard-library modules (by Python's list or the whitelist) are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

from ..core import packages
from ..core.packages import is_crunch_itself
from .versions import ModuleRequirement, format_requirement


@dataclass
class Requirement:
    """One line of ``requirements.txt``."""

    name: str
    extras: List[str] = field(default_factory=list)
    specifier: str = ""  # ">=1.2,<2.0", "" for any version
    module: str = ""  # the imported top-level module
    frozen: bool = False  # the specifier is the locally installed version

    def line(self) -> str:
        return format_requirement(self.name, self.extras, [self.specifier] if self.specifier else [])

    def __str__(self) -> str:
        return self.line()


def resolve(
    modules: Dict[str, ModuleRequirement],
    whitelist: Optional[list],
    *,
    freeze: bool = True,
) -> List[Requirement]:
    """The third-party requirements, sorted by name (case-insensitive)."""
    index: Dict[str, object] = {}
    if whitelist:
        from ..api.models import library_index as module_index

        index = module_index(whitelist)
    result: List[Requirement] = []
    seen: Dict[str, Requirement] = {}
    for module, wanted in modules.items():
        if packages.is_stdlib(module):
            continue
        library = index.get(module)
        if library is not None and getattr(library, "standard", False) and wanted.name is None:
            continue
        if wanted.name:
            name = wanted.name
        elif library is not None:
            name = getattr(library, "name", module)
        else:
            provided = packages.distributions_for_module(module)
            name = provided[0] if provided else module
        specifier = ",".join(wanted.specs)
        frozen = False
        if not specifier and freeze and not is_crunch_itself(name):  # the platform provides its own crunch
            installed = packages.installed_version(name)
            if installed:
                specifier = f"=={installed}"
                frozen = True
        key = name.lower().replace("_", "-")
        if key in seen:  # two modules of one distribution (e.g. an explicit name twice)
            previous = seen[key]
            if not previous.specifier or previous.frozen:
                previous.specifier, previous.frozen = specifier, frozen
            previous.extras = sorted(set(previous.extras) | set(wanted.extras))
            continue
        requirement = Requirement(name, list(wanted.extras), specifier, module, frozen)
        seen[key] = requirement
        result.append(requirement)
    result.sort(key=lambda r: r.name.lower())
    return result


def requirements_txt(requirements: List[Requirement]) -> str:
    return "".join(f"{requirement.line()}\n" for requirement in requirements)
