"""Who makes a submission, as the submission's creation says it (``submitterImprint``).

The platform's client sends one of:

- ``agent/NAME`` when a coding agent runs the push: ``AI_AGENT`` names it when set (the
  common convention of agent tools), otherwise the variables the agents set are looked at
  in a fixed order (:data:`AGENTS`); a name that is not 1 to 100 printable ASCII characters
  without spaces becomes ``agent/unknown``;
- ``human/cli`` when the standard input is a terminal;
- ``human/notebook/ENVIRONMENT`` (``colab``, ``kaggle`` or ``generic``) from a notebook's kernel;
- ``unknown/cli`` otherwise (a script, a CI job).
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any, Callable, Mapping, Optional, Sequence, Tuple

AGENT_VARIABLE = "AI_AGENT"

# (name, test of the environment), first match wins: the variables each agent sets in the
# commands it runs
_Test = Callable[[Mapping[str, str]], bool]


def _set(*names: str) -> _Test:
    return lambda env: any(env.get(name) for name in names)


def _equals(name: str, value: str) -> _Test:
    return lambda env: env.get(name) == value


def _matches(name: str, pattern: str) -> _Test:
    compiled = re.compile(pattern)
    return lambda env: bool(env.get(name)) and compiled.search(env.get(name, "")) is not None


def _any(*tests: _Test) -> _Test:
    return lambda env: any(test(env) for test in tests)


def _all(*tests: _Test) -> _Test:
    return lambda env: all(test(env) for test in tests)


def _no_terminal(env: Mapping[str, str]) -> bool:
    return not _isatty(sys.stdout)


def _devin(env: Mapping[str, str]) -> bool:
    return os.path.exists("/opt/.devin")


AGENTS: Sequence[Tuple[str, _Test]] = (
    ("pi", _set("PI_CODING_AGENT")),
    ("cursor", _set("CURSOR_TRACE_ID")),
    ("cursor-cli", _any(_set("CURSOR_AGENT"), _equals("CURSOR_EXTENSION_HOST_ROLE", "agent-exec"))),
    ("kimi", _set("KIMI_PLUGIN_ROOT")),
    ("grok", _set("GROK_PLUGIN_ROOT", "GROK_PLUGIN_DATA")),
    ("gemini_cli", _set("GEMINI_CLI")),
    ("cline", _set("CLINE_ACTIVE")),
    ("codex_cli", _set("CODEX_SANDBOX", "CODEX_CI", "CODEX_THREAD_ID", "CODEX_SANDBOX_NETWORK_DISABLED")),
    ("antigravity", _set("ANTIGRAVITY_AGENT", "ANTIGRAVITY_CLI_ALIAS")),
    ("augment-cli", _set("AUGMENT_AGENT")),
    ("open_code", _set("OPENCODE_CLIENT", "OPENCODE")),
    ("goose", _set("GOOSE_PROVIDER")),
    ("junie", _set("JUNIE_DATA", "JUNIE_SHIM_PATH")),
    ("pi", _matches("PATH", r"\.pi[\\/]agent")),
    ("cowork", _all(_set("CLAUDE_CODE_IS_COWORK"), _set("CLAUDECODE", "CLAUDE_CODE"))),
    ("claude_code", _set("CLAUDECODE", "CLAUDE_CODE")),
    ("replit", _set("REPL_ID")),
    ("github-copilot", _set("COPILOT_MODEL", "COPILOT_ALLOW_ALL", "COPILOT_GITHUB_TOKEN")),
    ("kiro", _all(_matches("TERM_PROGRAM", "kiro"), _no_terminal)),
    ("openclaw", _set("OPENCLAW_SHELL")),
    ("devin", _devin),
)

#: every variable :data:`AGENTS` looks at (tests clear them to push "as a person")
AGENT_VARIABLES = (
    AGENT_VARIABLE, "PI_CODING_AGENT", "CURSOR_TRACE_ID", "CURSOR_AGENT", "CURSOR_EXTENSION_HOST_ROLE", "KIMI_PLUGIN_ROOT",
    "GROK_PLUGIN_ROOT", "GROK_PLUGIN_DATA", "GEMINI_CLI", "CLINE_ACTIVE", "CODEX_SANDBOX", "CODEX_CI", "CODEX_THREAD_ID",
    "CODEX_SANDBOX_NETWORK_DISABLED", "ANTIGRAVITY_AGENT", "ANTIGRAVITY_CLI_ALIAS", "AUGMENT_AGENT", "OPENCODE_CLIENT",
    "OPENCODE", "GOOSE_PROVIDER", "JUNIE_DATA", "JUNIE_SHIM_PATH", "CLAUDE_CODE_IS_COWORK", "CLAUDECODE", "CLAUDE_CODE",
    "REPL_ID", "COPILOT_MODEL", "COPILOT_ALLOW_ALL", "COPILOT_GITHUB_TOKEN", "TERM_PROGRAM", "OPENCLAW_SHELL",
)

_AGENT_NAME = re.compile(r"[!-~]{1,100}")


def _isatty(stream: Any) -> bool:
    try:
        return stream is not None and bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def agent_name(environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The coding agent running this process, None when none is seen."""
    env = os.environ if environ is None else environ
    named = (env.get(AGENT_VARIABLE) or "").strip()
    if named:
        return named
    for name, test in AGENTS:
        try:
            if test(env):
                return name
        except Exception:  # a strange environment never stops a push
            continue
    return None


def _notebook_environment(environ: Mapping[str, str]) -> Optional[str]:
    """``colab``, ``kaggle`` or ``generic`` in a notebook's kernel, else None."""
    from ..core.platforms import in_kernel

    if not in_kernel(environ):
        return None
    if "KAGGLE_KERNEL_RUN_TYPE" in environ:
        return "kaggle"
    if "COLAB_GPU" in environ:
        return "colab"
    return "generic"


def submitter_imprint(environ: Optional[Mapping[str, str]] = None, stdin: Any = None) -> str:
    """What ``submitterImprint`` says for a submission made by this process."""
    env = os.environ if environ is None else environ
    agent = agent_name(env)
    if agent is not None:
        return f"agent/{agent}" if _AGENT_NAME.fullmatch(agent) else "agent/unknown"
    if _isatty(sys.stdin if stdin is None else stdin):
        return "human/cli"
    notebook = _notebook_environment(env)
    if notebook is not None:
        return f"human/notebook/{notebook}"
    return "unknown/cli"
