"""``crunch test --isolated``: the cloud's run on this machine, before pushing: the files
``crunch push`` would send (nothing else from the workspace), the requirements it would pin, a
fresh cached environment, the competition's runner in a separate process."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Optional

from ..core.console import Console
from ..exceptions import UserCodeError
from ..project.settings import Settings
from ..project.workspace import Workspace

TOKEN_FILES = ("token",)


def workspace_layout(workspace: Workspace, plan: Any) -> Any:
    """What the run's folder holds: the plan's files, the workspace's metadata (never its
    token), the competition's cached code and links to the data files."""
    from ..jobs.sandbox import SandboxLayout

    files: Dict[str, Any] = {}
    for name, file in plan.named():
        files[name] = file.content if file.content is not None else file.source
    dot_files: Dict[str, Any] = {}
    for path in sorted(workspace.dot_dir.glob("*.json")):
        if path.name in TOKEN_FILES:
            continue
        try:
            import json

            dot_files[path.name] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
    code_dir = workspace.dot_dir / "code"
    code_files = {p.name: p for p in sorted(code_dir.glob("*")) if p.is_file()} if code_dir.is_dir() else {}
    data_files = {p.name: p for p in sorted(workspace.data_dir.iterdir()) if not p.name.startswith(".")} if workspace.data_dir.is_dir() else {}
    return SandboxLayout(files=files, dot_files=dot_files, code_files=code_files, data_files=data_files)


def pinned_requirements(plan: Any) -> str:
    file = next((f for f in plan.code if f.path == "requirements.txt"), None)
    if file is None:
        return ""
    with file.open() as handle:
        return handle.read().decode("utf-8-sig", errors="replace")


def run(
    *,
    settings: Settings,
    console: Console,
    main_file: Optional[str] = None,
    model_directory: Optional[str] = None,
    no_force_first_train: bool = False,
    train_frequency: int = 1,
    no_determinism_check: bool = False,
    timeout: Optional[float] = None,
) -> bool:
    from ..code.files import check_model_directory
    from ..code.mainfile import resolve
    from ..data import whitelist as whitelist_module
    from ..jobs.job import JobOptions, run_job
    from ..jobs.sandbox import build_sandbox
    from ..runner.local import ensure_release
    from ..submission.push import make_plan, notebook_conversion

    started = time.perf_counter()
    workspace = Workspace.find()
    info = workspace.project()
    settings = settings.for_workspace(info.api_base_url, info.web_base_url)
    ensure_release(workspace, settings, console)
    root = workspace.root
    main = resolve(root, main_file)
    model_dir = check_model_directory(root, model_directory or info.model_directory)
    conversion: Any = contextlib.nullcontext()
    if main.notebook is not None:  # converted as `crunch push` converts it, for the time of the copy
        conversion = notebook_conversion(root, main, False, whitelist_module.cached(workspace), console)
    scratch = Path(tempfile.mkdtemp(prefix="crunch-isolated-"))
    try:
        with conversion:
            plan = make_plan(root, main_file=main.script, model_directory=model_dir, no_pip_freeze=False, console=console)
            requirements = pinned_requirements(plan)
            for note in plan.notes:  # what `crunch push` would leave out, said as it says it
                console.warn(note)
            console.print(
                f"isolated run: {len(plan.code)} code file(s) and {len(plan.model)} model file(s), as `crunch push` would send them"
            )
            layout = workspace_layout(workspace, plan)
            info_dict = dict(layout.dot_files.get("workspace.json") or {})
            info_dict["modelDirectory"] = model_dir
            layout.dot_files["workspace.json"] = info_dict
            sandbox = build_sandbox(scratch, layout)

        held = []  # the runner's own "error: ..." lines: shown unless the final error says it

        def on_line(emitter: str, line: str, error: bool, at: float) -> None:
            if emitter == "pip":
                return
            if error and line.startswith("error: "):
                held.append(line)
            elif error:
                print(line, file=console.err, flush=True)
            elif emitter == "sandbox":
                console.print(line)
            else:
                console.result(line, raw=True)  # the person's own program's output

        result = run_job(
            scratch,
            sandbox,
            JobOptions(
                requirements=requirements,
                main_file=main.script,
                is_local=True,
                force_first_train=not no_force_first_train,
                train_frequency=train_frequency,
                determinism_check=not no_determinism_check,
                timeout=timeout,
            ),
            on_line,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for line in held:
        if line != f"error: {result.error}":
            print(line, file=console.err, flush=True)
    if not result.ok:
        raise UserCodeError(f"isolated run failed: {result.error or 'the runner failed'}")
    for path in result.outside:
        console.warn(f"the code opened {path}, outside the submission's folder: the cloud run has no such file")
    console.result(f"isolated run passed in {time.perf_counter() - started:.1f}s (environment {'cached' if result.environment_cached else 'built'})")
    return True
