"""The answers of the platform that `crunch` reads, as data: endpoint -> fields -> variants.

tests/test_tolerance.py generates one test per (endpoint, field, variant) from this table and
serves each variant through a rewriting proxy to `crunch` and to crunch-cli 13.0.1 (the
oracle of what the platform may send); docs/platform-answers.md describes the same answers.

A field ``path`` is dotted: ``*`` is every element of a list or every value of an object, and a
path starting with ``[]`` is taken in every item of a listing, whether the listing arrives as a
bare list or as a page (``{"content": [...], "pageSize": ...}``). ``kind`` gives the variants:

- every field: ``null``, ``absent``;
- ``int`` / ``id``: ``string`` (``"12"`` for ``12``: crunch-cli 13 reads it with ``int(x)``);
- ``bool``: ``number`` (``1`` for ``true``, ``0`` for ``false``);
- ``enum``: ``unknown`` (a value this version has never seen: crunch-cli 13 keeps it);
- ``time``: ``zoned`` (``Z`` added), ``fraction`` (no zone and trimmed fraction digits, ``.3459``, as
  the platform sends them);
- ``str``, ``object``, ``list``: only ``null`` and ``absent``, plus the field's ``extra`` variants.

An endpoint's own ``variants`` apply to the whole answer: ``extra-field`` (a field nobody knows,
in the answer and in each item), ``page`` / ``bare-list`` (a listing in the other form),
``chunk-only`` (the chunk confirm answering the chunk alone, as the platform does),
``empty`` (an empty object).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Tuple

KIND_VARIANTS: Dict[str, Tuple[str, ...]] = {
    "int": ("null", "absent", "string"),
    "id": ("null", "absent", "string"),
    "bool": ("null", "absent", "number"),
    "enum": ("null", "absent", "unknown"),
    "time": ("null", "absent", "zoned", "fraction"),
    "str": ("null", "absent"),
    "object": ("null", "absent"),
    "list": ("null", "absent"),
}


@dataclass(frozen=True)
class Field:
    path: str
    kind: str
    #: what crunch-cli 13.0.1 declares for it: "required", "nullable" (required, may be null),
    #: "optional" (may be absent or null), "unread" (it does not read the field)
    cli13: str
    extra: Tuple[str, ...] = ()

    @property
    def variants(self) -> Tuple[str, ...]:
        return KIND_VARIANTS[self.kind] + self.extra


@dataclass(frozen=True)
class Endpoint:
    key: str
    method: str
    #: a regular expression matched against the whole path (no query)
    path: str
    #: the group of commands that reads it (see GROUPS)
    group: str
    #: "object", "list" (a bare JSON list) or "page" (a listing: page or bare list)
    answer: str
    fields: Tuple[Field, ...] = ()
    variants: Tuple[str, ...] = ("extra-field",)
    #: whether crunch-cli 13.0.1 makes this call in the group's commands (if not, crunch must
    #: succeed whatever the answer: the call is optional)
    cli13_calls: bool = True
    note: str = ""


#: group -> (crunch's commands, crunch-cli 13.0.1's command); crunch runs each of its commands
GROUPS: Dict[str, Tuple[Tuple[Tuple[str, ...], ...], Tuple[str, ...]]] = {
    "download": ((("download",),), ("download",)),
    "push": ((("push", "-m", "tolerance", "--no-pip-freeze"),), ("push", "-m", "tolerance", "--no-pip-freeze")),
    "setup": ((("setup",),), ("setup",)),  # a project with a submission: setup clones it
    "setup-new": ((("setup",),), ("setup",)),  # a project that never submitted: crunch starts from a quickstarter
    "submissions": ((("submission", "list"),), ("submission", "list")),
    "listing": ((("list",), ("ping",)), ("list",)),
}

_S = r"[^/]+"
_PROJECT = rf"/v[34]/competitions/{_S}/projects/{_S}/{_S}"

ENDPOINTS: Tuple[Endpoint, ...] = (
    # -- download ---------------------------------------------------------------------------
    Endpoint("competition", "GET", rf"/v1/competitions/{_S}", "download", "object", (
        Field("id", "id", "required"),
        Field("name", "str", "required"),
        Field("displayName", "str", "required"),
        Field("format", "enum", "required"),
        Field("status", "enum", "required"),
        Field("start", "time", "required"),
        Field("end", "time", "nullable"),
        Field("hideTrainFrequency", "bool", "required"),
        Field("hideForceFirstTrain", "bool", "required"),
    )),
    Endpoint("round", "GET", rf"/v1/competitions/{_S}/rounds/{_S}", "download", "object", (
        Field("id", "id", "required"),
        Field("number", "int", "required"),
        Field("start", "time", "required"),
        Field("end", "time", "required"),
    )),
    Endpoint("data-release", "GET", rf"/v2/competitions/{_S}/rounds/{_S}/phases/submission/data-release", "download", "object", (
        Field("id", "id", "required"),
        Field("number", "int", "required"),
        Field("name", "str", "required"),
        Field("embargo", "int", "required"),
        Field("numberOfFeatures", "int", "required"),
        Field("hash", "str", "nullable"),
        Field("columnNames", "object", "unread"),
        Field("columnNames.id", "str", "unread"),
        Field("columnNames.moon", "str", "unread"),
        Field("columnNames.targets", "object", "unread", ("as-list", "as-object")),
        Field("splits", "list", "unread"),
        Field("splits.*.key", "int", "unread"),
        Field("splits.*.group", "enum", "unread"),
        Field("splits.*.reduced", "enum", "unread"),
        Field("dataFiles", "object", "optional", ("camel-keys",)),
        Field("dataFiles.*.name", "str", "required"),
        Field("dataFiles.*.url", "str", "required"),
        Field("dataFiles.*.size", "int", "required"),
        Field("dataFiles.*.signed", "bool", "required"),
        Field("dataFiles.*.compressed", "bool", "required"),
        Field("dataFiles.*.sha256", "str", "unread"),
    )),
    Endpoint("checks", "GET", rf"/v1/competitions/{_S}/checks", "download", "list", (
        Field("[].function", "enum", "unread"),
        Field("[].scope", "enum", "unread"),
        Field("[].order", "int", "unread"),
        Field("[].parameters", "object", "unread"),
    ), ("extra-field", "page"), cli13_calls=False, note="the competition's submission checks"),
    Endpoint("libraries", "GET", r"/v2/libraries", "download", "page", (
        Field("[].name", "str", "required"),
        Field("[].aliases", "list", "required"),
        Field("[].standard", "bool", "required"),
        Field("[].language", "enum", "required"),
        Field("[].gpuRequirement", "enum", "required"),
    ), ("extra-field", "page", "bare-list"), cli13_calls=False, note="the whitelist, refreshed on download"),
    # -- push -------------------------------------------------------------------------------
    Endpoint("create-upload", "POST", r"/v1/uploads", "push", "object", (
        Field("id", "str", "required"),
        Field("name", "str", "required"),
        Field("size", "int", "required"),
        Field("chunked", "bool", "required"),
        Field("status", "enum", "required"),
        Field("provider", "enum", "required"),
        Field("createdAt", "time", "required"),
        Field("expiresAt", "time", "required"),
        Field("chunks", "list", "optional"),
        Field("chunks.*.number", "int", "required"),
        Field("chunks.*.offset", "int", "required"),
        Field("chunks.*.size", "int", "required"),
        Field("chunks.*.last", "bool", "required"),
        Field("chunks.*.completed", "bool", "required"),
    )),
    Endpoint("chunk-request", "GET", rf"/v1/uploads/{_S}/chunks/{_S}/request", "push", "object", (
        Field("method", "str", "required"),
        Field("url", "str", "required"),
        Field("headers", "object", "required"),
    )),
    Endpoint("chunk-confirm", "POST", rf"/v1/uploads/{_S}/chunks/{_S}/confirm", "push", "object", (
        Field("number", "int", "required"),
        Field("offset", "int", "required"),
        Field("size", "int", "required"),
        Field("last", "bool", "required"),
        Field("completed", "bool", "required"),
    ), ("extra-field", "chunk-only"), note="the platform answers the chunk, not the upload"),
    Endpoint("complete-upload", "POST", rf"/v1/uploads/{_S}/complete", "push", "object", (
        Field("id", "str", "required"),
        Field("name", "str", "required"),
        Field("size", "int", "required"),
        Field("status", "enum", "required"),
        Field("chunks", "list", "optional"),
    )),
    Endpoint("submissions-before-push", "GET", rf"{_PROJECT}/submissions", "push", "list", (
        Field("[].number", "int", "required"),
        Field("[].message", "str", "required"),
    ), ("extra-field", "page"), cli13_calls=False, note="listed before the push, to find a submission whose answer was lost"),
    Endpoint("create-submission", "POST", rf"{_PROJECT}/submissions", "push", "object", (
        Field("id", "id", "required"),
        Field("number", "int", "required"),
        Field("type", "enum", "required"),
        Field("message", "str", "required"),
        Field("mainFilePath", "str", "required"),
        Field("modelDirectoryPath", "str", "required"),
        Field("totalSize", "int", "required"),
        Field("createdAt", "time", "required"),
        Field("model", "object", "optional"),
    )),
    # -- setup ------------------------------------------------------------------------------
    Endpoint("token-upgrade", "POST", r"/v2/project-tokens/upgrade", "setup", "object", (
        Field("id", "id", "required"),
        Field("plain", "str", "optional"),
        Field("type", "enum", "required"),
        Field("validUntil", "time", "optional"),
        Field("project.id", "id", "required"),
        Field("project.name", "str", "required"),
        Field("project.userId", "id", "required"),
        Field("project.competitionId", "id", "required"),
        Field("project.createdAt", "time", "required"),
    )),
    Endpoint("clone", "GET", rf"{_PROJECT}/clone", "setup", "object", (), ("empty",)),
    Endpoint("quickstarters", "GET", rf"/v2/competitions/{_S}/quickstarters", "setup-new", "list", (
        Field("[].name", "str", "required"),
        Field("[].title", "str", "required"),
        Field("[].notebook", "bool", "required"),
        Field("[].language", "enum", "required"),
        Field("[].authors", "list", "required"),
        Field("[].files", "list", "optional"),
        Field("[].files.*.name", "str", "required"),
        Field("[].files.*.url", "str", "required"),
    ), ("extra-field", "page"), cli13_calls=False, note="the listing; its items may have no files"),
    Endpoint("quickstarter", "GET", rf"/v2/competitions/{_S}/quickstarters/{_S}", "setup-new", "object", (
        Field("name", "str", "required"),
        Field("notebook", "bool", "required"),
        Field("files", "list", "optional"),
        Field("files.*.name", "str", "required"),
        Field("files.*.url", "str", "required"),
    ), cli13_calls=False, note="one quickstarter, with its files"),
    # -- submission list --------------------------------------------------------------------
    Endpoint("submissions", "GET", rf"{_PROJECT}/submissions", "submissions", "list", (
        Field("[].id", "id", "required"),
        Field("[].number", "int", "required"),
        Field("[].type", "enum", "required"),
        Field("[].message", "str", "required"),
        Field("[].mainFilePath", "str", "required"),
        Field("[].modelDirectoryPath", "str", "required"),
        Field("[].totalSize", "int", "required"),
        Field("[].createdAt", "time", "required"),
        Field("[].model", "object", "optional"),
        Field("[].model.id", "id", "required"),
        Field("[].model.name", "str", "required"),
        Field("[].model.totalSize", "int", "required"),
        Field("[].model.createdAt", "time", "required"),
    ), ("extra-field", "page")),
    # -- list, ping -------------------------------------------------------------------------
    Endpoint("competitions", "GET", r"/v2/competitions", "listing", "page", (
        Field("[].id", "id", "required"),
        Field("[].name", "str", "required"),
        Field("[].displayName", "str", "required"),
        Field("[].format", "enum", "required"),
        Field("[].status", "enum", "required"),
        Field("[].start", "time", "required"),
        Field("[].end", "time", "nullable"),
        Field("[].external", "bool", "required"),
        Field("[].hideTrainFrequency", "bool", "required"),
    ), ("extra-field", "page", "bare-list")),
)


@dataclass(frozen=True)
class Cell:
    endpoint: Endpoint
    field: str  # a field path, or "(answer)" for a variant of the whole answer
    variant: str

    @property
    def id(self) -> str:
        return f"{self.endpoint.group}:{self.endpoint.key}:{self.field}:{self.variant}"


WHOLE = "(answer)"


def cells() -> Tuple[Cell, ...]:
    """Every (endpoint, field, variant) of the table, in order."""
    found = []
    for endpoint in ENDPOINTS:
        for variant in endpoint.variants:
            found.append(Cell(endpoint, WHOLE, variant))
        for one in endpoint.fields:
            for variant in one.variants:
                found.append(Cell(endpoint, one.path, variant))
    return tuple(found)


def field_of(endpoint: Endpoint, path: str) -> Field:
    return next(f for f in endpoint.fields if f.path == path)

