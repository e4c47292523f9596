"""``crunch demo``: the whole flow in a minute, offline, against a local hub.

It starts the hub in this process on a free loopback port with a temporary root, mints a
setup token, then runs the real commands one after the other, as a person would type them:
``crunch setup``, ``crunch test`` and ``crunch push``. The hub stops at the end; its data
(competition, token, the pushed submission) is kept in ``DIRECTORY/.crunch-hub/`` and the
workspace then points at the local hub's usual address, so ``crunch hub serve`` run in
DIRECTORY brings it back for ``crunch push`` and ``crunch download``; ``crunch test`` works
there offline.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

from ..core.console import Console
from ..exceptions import ConfigurationError, CrunchError
from ..project.settings import ENVIRONMENTS, LOCAL, Settings

COMPETITION = "demo"
PROJECT = "my-project"
USER = "demo-user"
HUB_DIR = ".crunch-hub"  # where `crunch hub serve` looks by default
LOCAL_URL = ENVIRONMENTS[LOCAL][0]  # where `crunch hub serve` listens by default


@contextlib.contextmanager
def _inside(folder: Path) -> Iterator[None]:
    previous = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


def _step(console: Console, command: str) -> None:
    console.result("")
    console.result(f"$ {command}")


def run(*, settings: Settings, console: Console, directory: str = "crunch-demo") -> Path:
    try:
        from ..hub.server import BackgroundHub
    except ImportError as error:  # werkzeug missing
        raise ConfigurationError(f"the local hub needs {error.name}: pip install \"crunch-cli[hub]\"") from None

    target = Path(directory)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ConfigurationError(f"{target} already exists and is not empty: run `crunch demo OTHER_DIRECTORY`, or remove it")

    started = time.perf_counter()
    root = tempfile.mkdtemp(prefix="crunch-demo-hub-")
    created = not target.exists()
    try:
        _run_steps(BackgroundHub, root, target, settings, console)
        _keep_hub(root, target)
    except BaseException:
        if created:
            shutil.rmtree(target, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(root, ignore_errors=True)

    console.result("")
    console.result(f"demo finished in {time.perf_counter() - started:.1f} s; the hub has stopped, its data is in {target}/{HUB_DIR}/. Next:")
    lines = [
        (f"cd {target} && crunch test", "runs again, offline"),
        ("crunch hub serve", f"brings the demo's hub back at {LOCAL_URL} (from {target}/)"),
        ('crunch push -m "again"', "then sends submission #2 to it"),
    ]
    width = max(len(command) for command, _ in lines)
    for command, comment in lines:
        console.result(f"  {command:<{width}}  # {comment}")
    return target


def _keep_hub(root: str, target: Path) -> None:
    """Move the hub's data into the workspace and point the workspace at the local hub's address."""
    from ..project.workspace import Workspace

    shutil.move(root, str(target / HUB_DIR))
    workspace = Workspace(target)
    info = workspace.project()
    info.api_base_url = LOCAL_URL
    info.web_base_url = LOCAL_URL
    workspace.write_project(info)


def _run_steps(background_hub: Any, root: str, target: Path, settings: Settings, console: Console) -> None:
    from . import push, setup, test

    with background_hub(root) as hub:
        console.result(f"a local hub is listening on {hub.url} (temporary, stops at the end of the demo)")
        token = hub.app.store.mint_clone_token(COMPETITION, PROJECT, USER)
        local = replace(settings, api_base_url=hub.url, web_base_url=hub.url, explicit=True, api_key=None)

        _step(console, f"crunch setup {COMPETITION} {PROJECT} --token ******** {target}")
        setup.run(settings=local, console=console, competition=COMPETITION, project=PROJECT, token=token, directory=str(target))
        with _inside(target):
            _step(console, f"cd {target} && crunch test")
            passed = test.run(settings=local, console=console)
            if passed is False:
                raise CrunchError("the demo's `crunch test` did not pass: see the report above")
            _step(console, 'crunch push -m "demo"')
            push.run(settings=local, console=console, message="demo")
