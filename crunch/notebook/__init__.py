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
from typing import TYPE_CHECKING, Any, Callable, Optional

from ..core.console import Console
from ..core.secrets import redact
from ..exceptions import ConfigurationError, CrunchError, SubmissionError, UserCodeError
from ..project.settings import Settings
from ..project.workspace import Workspace

if TYPE_CHECKING:  # pragma: no cover

    from ..runner.report import Report


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
        self._model_directory_path: Optional[str] = None
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
        from ..project.context import open_project

        return open_project(self._settings or Settings.resolve(), workspace).settings

    def load_data(self, round_number: Any = "@current", force: bool = False, **_ignored: Any) -> Any:
        """``(X_train, y_train, X_test)`` as DataFrames, downloaded first when missing
        (``force=True``: every file downloaded again); for a competition that runs its own
        code, what its runner's ``load_data()`` returns."""
        try:
            return self._load_data(round_number, force)
        except CrunchError as error:  # crunch's own frames say nothing to the notebook's author
            raise error.with_traceback(None) from None

    def _load_data(self, round_number: Any, force: bool) -> Any:
        import pandas

        from ..runner.family import COMPETITION_CODE, family_of_workspace
        from ..runner.local import data_file, ensure_release

        workspace = self.workspace
        settings = self._settings_for(workspace)
        if force:
            from ..data.download import ensure_data

            ensure_data(workspace, settings, self.console, round_number=round_number, force=True)
        release = ensure_release(workspace, settings, self.console, round_number)
        if family_of_workspace(workspace) == COMPETITION_CODE:
            return self._load_competition_data(workspace, settings)
        frames = []
        for key in ("X_train", "y_train", "X_test"):
            path = data_file(workspace, release, key)
            frames.append(pandas.read_parquet(path))
        return frames[0], frames[1], frames[2]

    def _load_competition_data(self, workspace: Workspace, settings: Settings) -> Any:
        import logging

        from ..data.competition_code import CompetitionCodeError
        from ..runner.competition_test import require_runner
        from ..utils import smart_call

        runner = require_runner(workspace, settings, self.console)
        load_data = getattr(runner, "load_data", None)
        if not callable(load_data):
            self.console.print("the competition's runner.py has no load_data(): follow the competition's instructions to load the data")
            return None, None, None
        try:
            return smart_call(load_data, {"data_directory_path": str(workspace.data_dir), "logger": logging.getLogger("crunch")})
        except Exception as error:
            raise CompetitionCodeError(
                f"the competition's runner.py load_data() raised {type(error).__name__}: {error}; "
                "run `crunch download` to get every data file"
            ) from error

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
        raise_abort: bool = False,
        no_determinism_check: Optional[bool] = None,
        skip_whitelisted_library_scan: bool = False,
        **_ignored: Any,
    ) -> Any:
        """Run ``train``/``infer`` (by default those of the notebook) as the platform's runner
        does, print the report and return the prediction.

        For a competition that runs its own code, its runner.py calls the notebook's functions
        and the prediction folder's files are returned (see the report for the local score).
        An exception in ``train`` or ``infer`` is raised again with only the notebook's frames.
        When crunch refuses the run (a missing function, a return value the runner cannot use,
        a prediction that fails the checks...) one ``error: ...`` line says why and ``None`` is
        returned; ``raise_abort=True`` raises it instead. The call forms of crunch-cli are
        accepted: ``no_determinism_check=True``, ``skip_whitelisted_library_scan`` (the
        requirements are checked when the notebook is pushed).
        """
        if no_determinism_check is not None:
            determinism_check = not no_determinism_check
        try:
            return self._test(force_first_train, train_frequency, round_number, has_gpu, determinism_check, model_directory_path, checks, train, infer)
        except CrunchError as error:
            if raise_abort:
                raise error.with_traceback(None) from None
            print(f"error: {redact(error.message)}", file=self.console.err, flush=True)
            return None

    def _test(
        self,
        force_first_train: bool,
        train_frequency: int,
        round_number: Any,
        has_gpu: bool,
        determinism_check: bool,
        model_directory_path: Optional[str],
        checks: bool,
        train: Optional[Callable[..., Any]],
        infer: Optional[Callable[..., Any]],
    ) -> Any:
        from ..runner.loader import files_under, notebook_frames, trimmed_traceback
        from ..runner.workspace_test import WorkspaceTestOptions, test_workspace

        started = time.perf_counter()
        workspace = self.workspace
        module = self._module if self._module is not None else sys.modules.get("__main__")
        under_root = files_under(workspace.root)

        def is_user_file(filename: str) -> bool:
            return notebook_frames(filename) or under_root(filename)

        from ..runner.family import COMPETITION_CODE, family_of_workspace

        classic = family_of_workspace(workspace) != COMPETITION_CODE
        options = WorkspaceTestOptions(
            model_directory=_relative_model_directory(workspace, model_directory_path or (self._model_directory_path if classic else None)),
            force_first_train=force_first_train,
            train_frequency=train_frequency,
            round_number=round_number,
            has_gpu=has_gpu,
            determinism_check=determinism_check,
            checks=checks,
            score=checks,  # the notebook's checks=False also leaves out the competition's local score
        )
        from ..runner.local import ensure_release

        release = ensure_release(workspace, self._settings_for(workspace), self.console, round_number)  # both families, as before
        try:
            result = test_workspace(
                workspace,
                self._settings_for(workspace),
                self.console,
                options,
                module=module,
                train=(train or _function(module, "train")) if classic else None,
                infer=(infer or _function(module, "infer")) if classic else None,
                is_user_file=is_user_file,
                raise_original=True,
                started=started,
                release=release,
            )
        except (UserCodeError, KeyboardInterrupt):
            raise
        except Exception as error:
            if classic and _from_user_code(error, is_user_file):
                raise error.with_traceback(trimmed_traceback(error, is_user_file)) from None
            raise
        for line in result.lines:
            self.console.result(line)
        if result.competition_code:
            return result.prediction_files
        self.last_report = result.report
        return result.prediction

    # -- submitting --------------------------------------------------------------------------

    def submit(
        self,
        message: Optional[str] = None,
        model_directory_relative_path: str = "",
        include_installed_packages_version: bool = False,
        notebook_file_name: str = "notebook.ipynb",
        main_file_name: str = "main.py",
        print_convert_logs: bool = False,
        raise_error: bool = False,
        **_ignored: Any,
    ) -> Any:
        """Submit this notebook: convert it into ``main_file_name``, pin its requirements to the
        installed versions, push the script and the model directory's files with a progress
        bar, and print the submission's link. Works in Jupyter, VS Code, Colab and Kaggle (the
        notebook is read from the platform when it is not on disk).

        The parameters are crunch-cli's: ``model_directory_relative_path`` (default: the
        workspace's), ``notebook_file_name`` (a notebook of the workspace to submit when the
        platform does not name the open one), ``include_installed_packages_version``
        (accepted; requirements are always pinned). Returns the submission, or ``None`` after
        one ``error: ...`` line (``raise_error=True`` raises it).
        """
        try:
            if message is None:
                message = _ask_message()
            return self._submit(message, model_directory_relative_path, notebook_file_name, main_file_name, print_convert_logs)
        except CrunchError as error:
            if raise_error:
                raise error.with_traceback(None) from None
            print(f"error: {redact(error.message)}", file=self.console.err, flush=True)
            return None

    def _submit(self, message: str, model_directory: str, notebook_file_name: str, main_file_name: str, verbose: bool) -> Any:
        from ..code.mainfile import MainFile, NotebookCode, find_notebook
        from ..commands import push

        workspace = self.workspace
        root = workspace.root
        named = Path(notebook_file_name)
        named = named if named.is_absolute() else root / named
        code: Optional[NotebookCode] = None
        if notebook_file_name != "notebook.ipynb" and named.is_file():
            from ..convert import load_notebook as read_notebook

            code = NotebookCode(read_notebook(named)[0], notebook_file_name, named)
        if code is None:
            code = find_notebook(root, naming='submit(..., notebook_file_name="NAME.ipynb")')
        main = MainFile(root, main_file_name, code.path, code)
        if model_directory and os.path.realpath(model_directory) == os.path.realpath(root):
            model_directory = ""
        return push.run(
            settings=self._settings or Settings.resolve(),
            console=self.console,
            message=message,
            model_directory=_relative_model_directory(workspace, model_directory, "model_directory_relative_path") if model_directory else None,
            start=root,
            code=main,
        )

    # -- crunch-cli's forms ------------------------------------------------------------------

    def load_notebook(self, *args: Any, **kwargs: Any) -> "NotebookTools":
        """Running the loading cell again (``crunch = crunch.load_notebook()``) on what it
        returned: new tools for the same workspace and hub."""
        kwargs.setdefault("directory", self._directory)
        if self._settings is not None and not set(kwargs) - {"directory", "quiet"}:
            kwargs["settings"] = self._settings
        return load_notebook(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        """Other names are the ``crunch`` package's (``crunch.is_inside_runner``...), as in crunch-cli."""
        if name.startswith("_") and name != "__version__":  # protocols (copy, pickle...) and private names stay unknown
            raise AttributeError(name)
        import crunch

        return getattr(crunch, name)


def _ask_message() -> str:
    try:
        return input("submission message: ")
    except Exception:  # a kernel without standard input
        raise SubmissionError('give the submission\'s message: crunch_tools.submit("my model")') from None


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


def _relative_model_directory(workspace: Workspace, path: Optional[str], given_as: str = "model_directory_path") -> Optional[str]:
    """The model directory given to the notebook API, relative to the workspace; refused (as
    ``--model-directory`` is) outside the workspace or inside ``.crunchdao/`` or ``data/``."""
    if not path:
        return None
    from ..project import modeldir

    given = Path(path)
    if not given.is_absolute():
        given = Path.cwd() / given
    try:
        relative = str(given.resolve().relative_to(Path(workspace.root).resolve()))
    except ValueError:
        relative = str(given.resolve())  # outside the workspace: refused by the check
    return modeldir.check(workspace.root, relative, given_as=given_as)


def load_notebook(
    module_name_or_module: Any = "__main__",
    model_directory_path: Optional[str] = None,
    *,
    directory: Optional[os.PathLike] = None,
    quiet: bool = False,
    settings: Optional[Settings] = None,
    **settings_options: Any,
) -> NotebookTools:
    """The notebook tools for the workspace at or above ``directory`` (default: the current one).

    ``module_name_or_module`` is where ``train``/``infer`` are found (``__name__``, a module,
    or its name; default the notebook's ``__main__``), as crunch-cli takes it;
    ``model_directory_path`` the default model directory of ``test()``.
    ``settings_options`` (``environment``, ``api_base_url``, ...) choose the hub, as the
    command-line options do.
    """
    if settings is None and settings_options:
        settings = Settings.resolve(**settings_options)
    module: Any = None
    if isinstance(module_name_or_module, NotebookTools):
        module = module_name_or_module._module
    elif isinstance(module_name_or_module, str):
        if module_name_or_module != "__main__":
            module = sys.modules.get(module_name_or_module)
            if module is None:
                raise ConfigurationError(f"no module named {module_name_or_module!r} is loaded: call crunch.load_notebook() from the notebook")
    elif module_name_or_module is not None:
        module = module_name_or_module
    tools = NotebookTools(directory, settings=settings, console=Console(quiet=quiet), module=module)
    tools._model_directory_path = model_directory_path
    return tools
