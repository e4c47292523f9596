"""MkDocs hook: the generated command reference shows each command's help as ``--help`` prints it.

mkdocs-click copies a command's description into the page as Markdown. Two things of click's
help text do not survive that: a ``\\b`` block (lines click prints as they are, such as the
example session of ``crunch --help``) runs together into one paragraph, and a placeholder such
as ``<competition>`` is taken for an HTML tag and disappears. This hook adds a preprocessor that
runs right after mkdocs-click's, on pages holding its output only: outside fenced blocks, a run of
indented lines after a line of text becomes a ``text`` block, and ``<``/``>`` are escaped.
"""

from __future__ import annotations

import re
from typing import Any, List

from markdown import Extension, Markdown
from markdown.preprocessors import Preprocessor

# the headings mkdocs-click writes: "## crunch { #crunch data-toc-label='crunch' }"
GENERATED_HEADING = re.compile(r"^#+ crunch\b.*\{ #crunch[\w-]* data-toc-label=")


class CommandHelp(Preprocessor):
    def run(self, lines: List[str]) -> List[str]:
        if not any(GENERATED_HEADING.match(line) for line in lines):
            return lines
        out: List[str] = []
        fenced = False
        kept = False  # inside a block this preprocessor opened
        for line in lines:
            if line.startswith("```"):
                fenced = not fenced
                out.append(line)
                continue
            if fenced:
                out.append(line)
                continue
            indented = line.startswith("  ") and line.strip() != ""
            if indented and not kept and out and out[-1].strip() and not out[-1].startswith(("#", "```")):
                out.append("")
                out.append("```text")
                kept = True
            elif kept and not indented:
                out.append("```")
                kept = False
            out.append(line if kept else line.replace("<", "&lt;").replace(">", "&gt;"))
        if kept:
            out.append("```")
        return out


class CommandHelpExtension(Extension):
    def extendMarkdown(self, md: Markdown) -> None:
        # mkdocs-click's own preprocessor is registered at 141: this one runs next
        md.preprocessors.register(CommandHelp(md), "crunch_command_help", 140)


def on_config(config: Any) -> Any:
    config["markdown_extensions"].append(CommandHelpExtension())
    return config
