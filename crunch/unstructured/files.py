"""``File``: one file of a submission or of a model, as ``submission.py``'s ``check()`` sees it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Optional

__all__ = ["TEXT_FILE_EXTENSIONS", "File"]

#: Files whose content ``File.text`` gives; other files are only seen by name and size.
TEXT_FILE_EXTENSIONS = frozenset({".txt", ".md"})


@dataclass(frozen=True)
class File:
    """A file at ``path`` (relative, ``/``-separated) of ``size`` bytes.

    ``uri`` is where its content can be read (a local path or an http(s) URL), or None when the
    content is not offered (only text files offer it).
    """

    path: str
    uri: Optional[str]
    size: int

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def directory(self) -> str:
        return os.path.dirname(self.path)

    @cached_property
    def text(self) -> Optional[str]:
        """The file's content (read once, then kept), or None when ``uri`` is None."""

        if not self.uri:
            return None
        if self.uri.startswith(("http:", "https:")):
            import requests

            response = requests.get(self.uri, timeout=60)
            response.raise_for_status()
            return response.text
        with open(self.uri, encoding="utf-8") as file:
            return file.read()

    def to_dict(self) -> dict:
        return {"path": self.path, "uri": self.uri, "size": self.size}

    @classmethod
    def from_dict(cls, data: Any) -> "File":
        return cls(data["path"], data.get("uri"), int(data["size"]))

    @classmethod
    def from_local(cls, local_path: str, path: str) -> "File":
        """The file at ``local_path`` on disk, seen as ``path``; its text is offered for text files."""

        extension = os.path.splitext(local_path)[1].lower()
        uri = local_path if extension in TEXT_FILE_EXTENSIONS else None
        return cls(path, uri, os.path.getsize(local_path))
