"""``crunch demo``: the whole flow in a minute, offline, against a local hub.

It starts the hub in this process on a free loopback port with a temporary root, mints a
setup token, then runs the real commands one after the other, as a person would type them:
``crunch setup``, ``crunch test`` and ``crunch push``. The hub stops at the end; the
workspace stays in DIRECTORY to explore (``crunch test`` works there again offline).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Iterator

from ..console import Console
from ..exceptions import ConfigurationError, CrunchError
from ..settings import Settings

COMPETITION = "demo"
PROJECT = "my-project"
USER = "demo-user"


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
    from . import push, setup, test

    target = Path(directory)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ConfigurationError(f"{target} already exists and is not empty: run `crunch demo OTHER_DIRECTORY`, or remove it")

    started = time.perf_counter()
    root = tempfile.mkdtemp(prefix="crunch-demo-hub-")
    created = not target.exists()
    try:
        with BackgroundHub(root) as hub:
            console.result(f"a local hub is listening on {hub.url} (temporary, stops at the end of the demo)")
            token = hub.app.store.mint_clone_token(COMPETITION, PROJECT, USER)
            local = replace(settings, api_base_url=hub.url, web_base_url=hub.url, explicit=True, api_key=None)

            _step(console, f"crunch setup {COMPETITION} {PROJECT} --token ******** {target}")
            setup.run(
                settings=local,
                console=console,
                competition=COMPETITION,
                project=PROJECT,
                token=token,
                directory=str(target),
            )
            with _inside(target):
                _step(console, f"cd {target} && crunch test")
                passed = test.run(settings=local, console=console)
                if passed is False:
                    raise CrunchError("the demo's `crunch test` did not pass: see the report above")
                _step(console, 'crunch push -m "demo"')
                push.run(settings=local, console=console, message="demo")
    except BaseException:
        if created:
            shutil.rmtree(target, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(root, ignore_errors=True)

    console.result("")
    console.result(f"demo finished in {time.perf_counter() - started:.1f} s; the hub has stopped. Next:")
    lines = [
        (f"cd {target} && crunch test", "runs again, offline"),
        ("crunch hub serve", "keeps a local hub up at http://127.0.0.1:8000/"),
        (f"crunch hub token {COMPETITION} {PROJECT}", f"a setup token for: crunch --env local setup {COMPETITION} {PROJECT} --token <token>"),
    ]
    width = max(len(command) for command, _ in lines)
    for command, comment in lines:
        console.result(f"  {command:<{width}}  # {comment}")
    return target
