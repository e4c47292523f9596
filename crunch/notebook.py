"""``crunch.load_notebook()``: the local runner and the data, from a notebook.

```
import crunch
crunch_tools = crunch.load_notebook()
X_train, y_train, X_test = crunch_tools.load_data()
...  # define train() and infer() in the notebook
prediction = crunch_tools.test()
```
``test()`` runs the same loop and checks as ``crunch test`` on the ``train``/``infer`` defined
in the notebook (its ``__main__`` module), prints the report and returns the prediction.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, Tuple

from .console import Console
from .exceptions import UserCodeError
from .settings import Settings
from .workspace import Workspace

if TYPE_CHECKING:  # pragma: no cover
    import pandas

    from .runner.report import Report


class NotebookTools:
    """What ``crunch.load_notebook()`` returns."""

    def __init__(
        self,
        directory: Optional[os.PathLike] = None,
        settings: Optional[Settings] = None,
        console: Optional[Console] = None,
        module: Any = None,
    ) -> None:
        self._directory = directory
        self._settings = settings
        self.console = console or Console()
        self._module = module
        self.last_report: Optional["Report"] = None

    # -- what the notebook sees ------------------------------------------------------------

    @property
    def is_inside_runner(self) -> bool:
        import crunch

        return bool(crunch.is_inside_runner)

    @property
    def workspace(self) -> Workspace:
        return Workspace.find(self._directory)

    def _settings_for(self, workspace: Workspace) -> Settings:
        project = workspace.project()
        settings = self._settings or Settings.resolve()
        return settings.for_workspace(project.api_base_url, project.web_base_url)

    def load_data(self, round_number: Any = "@current") -> Tuple["pandas.DataFrame", "pandas.DataFrame", "pandas.DataFrame"]:
        """``(X_train, y_train, X_test)`` as DataFrames, downloaded first when missing."""
        import pandas

        from .runner.local import data_file, ensure_release

        workspace = self.workspace
        release = ensure_release(workspace, self._settings_for(workspace), self.console, round_number)
        frames = []
        for key in ("X_train", "y_train", "X_test"):
            path = data_file(workspace, release, key)
            frames.append(pandas.read_parquet(path))
        return frames[0], frames[1], frames[2]

    def test(
        self,
        force_first_train: bool = True,
        train_frequency: int = 1,
        round_number: Any = "@current",
        has_gpu: bool = False,
        determinism_check: bool = True,
        model_directory_path: Optional[str] = None,
        checks: bool = True,
        train: Optional[Callable[..., Any]] = None,
        infer: Optional[Callable[..., Any]] = None,
    ) -> "pandas.DataFrame":
        """Run ``train``/``infer`` (by default those of the notebook) as the platform's runner
        does, print the report and return the prediction.

        An exception in ``train`` or ``infer`` is raised again with only the notebook's frames.
        """
        from .runner.loader import files_under, notebook_frames, trimmed_traceback
        from .runner.local import TestOptions, ensure_release, run_test

        started = time.perf_counter()
        workspace = self.workspace
        module = self._module if self._module is not None else sys.modules.get("__main__")
        train = train or _function(module, "train")
        infer = infer or _function(module, "infer")
        release = ensure_release(workspace, self._settings_for(workspace), self.console, round_number)
        under_root = files_under(workspace.root)

        def is_user_file(filename: str) -> bool:
            return notebook_frames(filename) or under_root(filename)

        options = TestOptions(
            model_directory=_relative_model_directory(workspace, model_directory_path),
            force_first_train=force_first_train,
            train_frequency=train_frequency,
            round_number=round_number,
            has_gpu=has_gpu,
            determinism_check=determinism_check,
            checks=checks,
        )
        root = str(workspace.root)
        added = root not in sys.path
        if added:
            sys.path.insert(0, root)
        try:
            outcome = run_test(
                workspace,
                train,
                infer,
                release=release,
                options=options,
                console=self.console,
                is_user_file=is_user_file,
                user_root=workspace.root,
                started=started,
                raise_original=True,
            )
        except (UserCodeError, KeyboardInterrupt):
            raise
        except Exception as error:
            if _from_user_code(error, is_user_file):
                raise error.with_traceback(trimmed_traceback(error, is_user_file)) from None
            raise
        finally:
            if added:
                try:
                    sys.path.remove(root)
                except ValueError:
                    pass
        self.last_report = outcome.report
        for line in outcome.report.lines():
            self.console.result(line)
        return outcome.prediction


def _from_user_code(error: BaseException, is_user_file: Callable[[str], bool]) -> bool:
    tb = error.__traceback__
    while tb is not None:
        if is_user_file(tb.tb_frame.f_code.co_filename):
            return True
        tb = tb.tb_next
    return False


def _function(module: Any, name: str) -> Callable[..., Any]:
    function = getattr(module, name, None)
    if not callable(function):
        raise UserCodeError(f"no `{name}` function in the notebook: define `def {name}(...)` in a cell and run it before test()")
    return function


def _relative_model_directory(workspace: Workspace, path: Optional[str]) -> Optional[str]:
    if not path:
        return None
    given = Path(path)
    if not given.is_absolute():
        given = Path.cwd() / given
    try:
        return str(given.resolve().relative_to(workspace.root))
    except ValueError:
        return str(given.resolve())


def load_notebook(
    directory: Optional[os.PathLike] = None,
    *,
    quiet: bool = False,
    settings: Optional[Settings] = None,
    **settings_options: Any,
) -> NotebookTools:
    """The notebook tools for the workspace at or above ``directory`` (default: the current one).

    ``settings_options`` (``environment``, ``api_base_url``, ...) choose the hub, as the
    command-line options do.
    """
    if settings is None and settings_options:
        settings = Settings.resolve(**settings_options)
    return NotebookTools(directory, settings=settings, console=Console(quiet=quiet))
