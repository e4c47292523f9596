"""The ``crunch`` command: parse options, call a command module, print, exit.

This is the only module that knows about click and exit codes. Command modules are imported
inside each command so that ``crunch --help`` stays instant.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from typing import Any, Optional

import click

from .__version__ import __version__
from .core.console import Console
from .core.secrets import redact
from .exceptions import CrunchError, WorkingFolderGoneError
from .project.settings import Settings

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class State:
    def __init__(self, options: dict, quiet: bool) -> None:
        self._options = options
        self._settings: Optional[Settings] = None
        self.console = Console(quiet=quiet)
        self.debug = bool(options.get("debug"))

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.resolve(**self._options)
            self.debug = self._settings.debug
        return self._settings


def _call(ctx: click.Context, module: str, **kwargs: Any) -> Any:
    """Run ``crunch.commands.<module>.run`` with the settings, the console and ``kwargs``."""
    state: State = ctx.find_object(State)
    command = importlib.import_module(f"crunch.commands.{module}")
    return command.run(settings=state.settings, console=state.console, **kwargs)


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "-V", "--version", prog_name="crunch", message="%(prog)s %(version)s")
@click.option("--debug", is_flag=True, help="Show tracebacks and more detail (also CRUNCH_DEBUG=1).")
@click.option("--api-base-url", metavar="URL", help="Hub API URL (also API_BASE_URL, or CRUNCH_API_BASE_URL, also from .env). Overrides --environment.")
@click.option("--web-base-url", metavar="URL", help="Hub web URL for links (also WEB_BASE_URL, or CRUNCH_WEB_BASE_URL, also from .env).")
@click.option(
    "--environment",
    "--env",
    "environment",
    metavar="NAME",
    help="production/prod (default), staging/test, or local/dev for a hub at http://127.0.0.1:8000/ (also CRUNCH_ENVIRONMENT).",
)
@click.option(
    "--competitions", "competitions_source", metavar="SOURCE",
    help="Where the competitions' own code is: local://DIR, github://OWNER/REPO[?reference=R], cache+https://HOST, comma-separated (also CRUNCH_COMPETITIONS_SOURCE).",
)
@click.option("-q", "--quiet", is_flag=True, help="Only print results and errors: no progress bars.")
@click.pass_context
def cli(
    ctx: click.Context,
    debug: bool,
    api_base_url: Optional[str],
    web_base_url: Optional[str],
    environment: Optional[str],
    competitions_source: Optional[str],
    quiet: bool,
) -> None:
    """Take part in CrunchDAO competitions: set up a workspace, test your train()/infer()
    locally, and push your code and model.

    \b
    A typical session:
      crunch setup <competition> <project> --token <token>
      cd <competition>-<project>
      crunch test
      crunch push -m "my first submission"

    Run `crunch demo` to see the whole flow against a local hub, offline.
    """
    ctx.obj = State(
        {
            "environment": environment,
            "api_base_url": api_base_url,
            "web_base_url": web_base_url,
            "debug": debug,
            "competitions_source": competitions_source,
        },
        quiet,
    )


# -- hub reachability ------------------------------------------------------------------------


@cli.command()
@click.pass_context
def ping(ctx: click.Context) -> None:
    """Check that the hub answers, and show which URL is used."""
    _call(ctx, "ping")


JSON_HELP = "Print JSON, for scripts."


def _json_option(function: Any) -> Any:
    return click.option("--json", "json_output", is_flag=True, help=JSON_HELP)(function)


@cli.command("list")
@click.option("--format", "format_", type=click.Choice(["TIMESERIES", "DAG", "STREAM", "SPATIAL", "UNSTRUCTURED"], case_sensitive=False), help="Only competitions of this format.")
@click.option("--mode", type=click.Choice(["OFFLINE", "REAL_TIME"], case_sensitive=False), help="Only competitions of this mode.")
@click.option("--status", type=click.Choice(["PENDING", "OPEN", "CLOSED"], case_sensitive=False), help="Only competitions with this status.")
@click.option("--continuous", type=bool, default=None, help="Only continuous competitions (true) or the others (false).")
@click.option("--external", type=bool, default=None, help="Only external competitions (true) or the others (false).")
@click.option("--featured", type=bool, default=None, help="Only featured competitions (true) or the others (false).")
@click.option("--organizer-name", default=None, help="Only competitions of this organizer.")
@click.option("--team-based", type=bool, default=None, help="Only team-based competitions (true) or the others (false).")
@_json_option
@click.pass_context
def list_(ctx: click.Context, **options: Any) -> None:
    """List the competitions of the hub (filters as crunch-cli 13's)."""
    _call(ctx, "list_competitions", **options)


# -- workspace -------------------------------------------------------------------------------


WORKSPACE_ROOM = 1024 * 1024  # bytes free below which setup does not start: its files, the token, the caches


def _room_for_workspace(directory: Optional[str]) -> None:
    """A full disk where the workspace is to be made is said before the single-use setup token
    is spent (the same token works once space is freed); the data is checked for room when its
    size is known."""
    from .core.fsutil import check_room

    check_room(directory or ".", WORKSPACE_ROOM, "a workspace (without its data)", "the setup token was not used")


SUBMISSION_HELP = "Which submission to start from: latest (default), scratch (the quickstarter), or a number."


@cli.command()
@click.argument("competition")
@click.argument("project")
@click.argument("directory", required=False)
@click.option("--token", required=True, metavar="TOKEN", help="The setup token from the Submit page, or @api-key to use CRUNCH_API_KEY.")
@click.option("-f", "--force", is_flag=True, help="Set up in a non-empty DIRECTORY; replaces .crunchdao/ and downloaded files only.")
@click.option("--submission", default="latest", show_default=True, metavar="latest|scratch|N", help=SUBMISSION_HELP)
@click.option("--no-model", is_flag=True, help="Do not download the model files of the submission.")
@click.option("--no-data", is_flag=True, help="Do not download the data now (`crunch download` later).")
@click.option("--size", type=click.Choice(["default", "small", "large"], case_sensitive=False), default="default", show_default=True, help="Size variant of the data.")
@click.option(
    "--model-directory", default=None, metavar="DIR",
    help="Folder of the model files (default: the one of the submission you start from, else resources).",
)
@click.option("--notebook", is_flag=True, help="Set up in the current directory for a notebook (implies --force).")
@click.pass_context
def setup(ctx: click.Context, **options: Any) -> None:
    """Make a workspace for PROJECT of COMPETITION: exchange the setup token, download the
    data and your last submission (or the quickstarter).

    DIRECTORY defaults to {competitionName}-{projectName}; both placeholders may be used.
    """
    _room_for_workspace(options.get("directory"))
    _call(ctx, "setup", **options)


@cli.command("setup-notebook")
@click.argument("competition")
@click.argument("token")
@click.argument("project", required=False)
@click.option("--submission", default="latest", show_default=True, metavar="latest|scratch|N", help=SUBMISSION_HELP)
@click.option("--no-model", is_flag=True, help="Do not download the model files of the submission.")
@click.option("--no-data", is_flag=True, help="Do not download the data now.")
@click.option("--size", type=click.Choice(["default", "small", "large"], case_sensitive=False), default="default", show_default=True, help="Size variant of the data.")
@click.option(
    "--model-directory", default=None, metavar="DIR",
    help="Folder of the model files (default: the one of the submission you start from, else resources).",
)
@click.pass_context
def setup_notebook(ctx: click.Context, competition: str, token: str, project: Optional[str], **options: Any) -> None:
    """Set up the current directory as a workspace, from a notebook cell (`!crunch setup-notebook COMPETITION TOKEN [PROJECT]`)."""
    _room_for_workspace(".")
    _call(
        ctx,
        "setup",
        competition=competition,
        project=project,
        directory=".",
        token=token,
        force=True,
        notebook=True,
        **options,
    )


@cli.command()
@click.option("--force", is_flag=True, help="Download every file again, even when it is already whole.")
@click.option("--round-number", default="@current", show_default=True, metavar="N", help="Round to download the data of.")
@click.option("--size-variant", type=click.Choice(["default", "small", "large"], case_sensitive=False), default=None, help="Size variant (default: the workspace's).")
@click.option("--connections", default=None, metavar="N|auto", help="Connections for one big file, each fetching its own byte ranges: a number (1: one stream), or auto: start on one and add more, up to 8, only while they pay (default: CRUNCH_DOWNLOAD_CONNECTIONS, else auto).")
@click.pass_context
def download(ctx: click.Context, **options: Any) -> None:
    """Download the data into data/: resumable, verified, several files at once."""
    _call(ctx, "download", **options)


@cli.command("update-token")
@click.argument("token", required=False)
@click.pass_context
def update_token(ctx: click.Context, token: Optional[str]) -> None:
    """Exchange a new setup token for the workspace's push token (prompted when not given)."""
    if not token:
        if not _can_ask():
            raise click.UsageError("give the setup token as an argument (no terminal to ask it from)")
        token = click.prompt("setup token", hide_input=True)
    _call(ctx, "update_token", token=token)


# -- your code -------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--main-file", default=None, metavar="FILE",
    help="Your code (default: main.py at the workspace's root, else the notebook main.ipynb).",
)
@click.option("--model-directory", default=None, metavar="DIR", help="Folder of the model files (default: the workspace's, resources).")
@click.option("--offline", is_flag=True, help="Do not ask the package index whether the requirements install.")
@_json_option
@click.pass_context
def doctor(ctx: click.Context, json_output: bool, **options: Any) -> None:
    """Say, before a push, what the cloud would object to: libraries outside the whitelist,
    requirements that do not install, files read outside the workspace, a model directory over
    the limit, a notebook's load_notebook() line, the runner's requirements. Exit code 1 when
    something blocks."""
    if _call(ctx, "doctor", json_output=json_output, **options) is False:
        ctx.exit(1)


@cli.command()
@click.option(
    "--main-file", default=None, metavar="FILE",
    help="Your code (default: main.py at the workspace's root); a notebook of its name, else main.ipynb, is converted when FILE is missing.",
)
@click.option("--model-directory", default=None, metavar="DIR", help="Folder of the model files (default: the workspace's, resources).")
@click.option("--no-force-first-train", is_flag=True, help="Do not force train() at the first moon: it runs when the frequency says so, or when the model directory is empty.")
@click.option("--train-frequency", default=1, show_default=True, type=click.IntRange(min=0), help="Train every N moons (0: never, except the first).")
@click.option("--round-number", default="@current", show_default=True, metavar="N", help="Round of the data.")
@click.option("--gpu", is_flag=True, help="Tell your code it has a GPU (has_gpu=True).")
@click.option("--skip-library-check", is_flag=True, help="Do not check requirements.txt against the competition's whitelist.")
@click.option("--no-determinism-check", is_flag=True, help="Do not call infer() a second time to compare outputs.")
@click.option("--no-checks", is_flag=True, help="Do not check the prediction (columns, ids, values...).")
@click.option(
    "--isolated", is_flag=True,
    help="Run as the cloud does: only the files `crunch push` sends, its pinned requirements in a fresh cached environment, the runner in a separate process.",
)
@click.option("--timeout", default=None, type=click.FloatRange(min=0, min_open=True), metavar="SECONDS", help="With --isolated: stop the run after SECONDS.")
@click.pass_context
def test(ctx: click.Context, isolated: bool, timeout: Optional[float], **options: Any) -> None:
    """Run your train() and infer() on the local data as the platform's runner does, and check the prediction."""
    if isolated:
        unsupported = [name for name in ("gpu", "no_checks", "skip_library_check") if options.get(name)]
        if options.get("round_number") not in (None, "@current"):
            unsupported.append("round_number")
        if unsupported:
            flags = ", ".join("--" + name.replace("_", "-") for name in unsupported)
            raise click.UsageError(f"--isolated runs as the cloud does: {flags} cannot be combined with it")
        keep = ("main_file", "model_directory", "no_force_first_train", "train_frequency", "no_determinism_check")
        _call(ctx, "test_isolated", timeout=timeout, **{k: options[k] for k in keep})
        return
    if timeout is not None:
        raise click.UsageError("--timeout is for --isolated runs")
    ok = _call(ctx, "test", **options)
    if ok is False:
        ctx.exit(1)


@cli.command()
@click.option("-m", "--message", default=None, help="The submission's message (at most 1000 characters; asked when missing).")
@click.option(
    "--main-file", default=None, metavar="FILE",
    help="Your code (default: main.py at the workspace's root); a notebook of its name, else main.ipynb, is converted when FILE is missing.",
)
@click.option("--model-directory", default=None, metavar="DIR", help="Folder of the model files (default: the workspace's, resources).")
@click.option("--no-pip-freeze", is_flag=True, help="Send requirements.txt as it is, without pinning installed versions.")
@click.option("--dry", is_flag=True, help="Show what would be sent, and send nothing.")
@click.option("--export", "export", default=None, metavar="FILE", type=click.Path(dir_okay=False), help="Write the submission to a .tar.gz instead of sending it.")
@click.option("--skip-submission-check", is_flag=True, help="Do not run the competition's own submission check (submission.py) before sending.")
@click.option("--overwrite", is_flag=True, help="With --export: replace FILE if it exists.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask before spending the last submission of the day.")
@click.pass_context
def push(ctx: click.Context, message: Optional[str], **options: Any) -> None:
    """Submit your code and model files: requirements pinned to your installed versions, resumable chunked uploads."""
    if message is None and not options.get("dry") and not options.get("export"):
        if not _can_ask():
            raise click.UsageError("give the submission's message with -m \"...\"")
        message = click.prompt("submission message")
    _call(ctx, "push", message=message or "", **options)


@cli.command()
@click.argument("notebook", type=click.Path(dir_okay=False))
@click.argument("script", required=False, default="main.py", type=click.Path(dir_okay=False))
@click.option("--overwrite", "--override", "overwrite", is_flag=True, help="Replace SCRIPT if it exists.")
@click.option("--requirements", is_flag=True, help="Write requirements.txt beside SCRIPT.")
@click.option("--embedded-files", is_flag=True, help="Write the files embedded in markdown cells beside SCRIPT.")
@click.option("--no-freeze", is_flag=True, help="Do not pin requirements without a version comment to the installed version.")
@click.option("--verbose", is_flag=True, help="Say for each cell what was kept and why.")
@click.pass_context
def convert(ctx: click.Context, **options: Any) -> None:
    """Convert NOTEBOOK into SCRIPT (default main.py): keep imports, functions and classes,
    comment out the rest, read `# == 1.3` version comments on imports."""
    _call(ctx, "convert", **options)


# -- after the push: the project on the hub ---------------------------------------------------


@cli.command()
@click.argument("competition")
@click.argument("project")
@click.argument("directory", required=False)
@click.option("--token", required=True, metavar="TOKEN", help="The setup token from the Submit page, or @api-key to use CRUNCH_API_KEY.")
@click.option("-f", "--force", is_flag=True, help="Use a non-empty DIRECTORY; replaces .crunchdao/ and downloaded files only.")
@click.option("--no-data", is_flag=True, help="Do not download the data now (`crunch download` later).")
@click.option("--model-directory", default=None, metavar="DIR", help="Folder of the model files (default: resources).")
@click.pass_context
def init(ctx: click.Context, **options: Any) -> None:
    """Make an empty workspace for PROJECT of COMPETITION: the token, the data, no code."""
    _room_for_workspace(options.get("directory"))
    _call(ctx, "init", **options)


@cli.command()
@_json_option
@click.pass_context
def status(ctx: click.Context, json_output: bool) -> None:
    """Show the competition and the project of this workspace."""
    _call(ctx, "status", json_output=json_output)


@cli.command()
@_json_option
@click.pass_context
def quota(ctx: click.Context, json_output: bool) -> None:
    """Show the submissions left today, the size limits and the compute time of the project."""
    _call(ctx, "quota", json_output=json_output)


@cli.command()
@_json_option
@click.pass_context
def leaderboard(ctx: click.Context, json_output: bool) -> None:
    """Show the project's rank and scores on the leaderboard."""
    _call(ctx, "leaderboard", json_output=json_output)


def _limit(limit: int, all_: bool) -> Optional[int]:
    return None if all_ else limit


@cli.group("submission")
def submission_group() -> None:
    """The project's submissions: list, show, check out."""


@submission_group.command("list")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(min=1), help="Show the N latest.")
@click.option("--all", "all_", is_flag=True, help="Show them all.")
@_json_option
@click.pass_context
def submission_list(ctx: click.Context, limit: int, all_: bool, json_output: bool) -> None:
    """List the project's submissions, newest first."""
    _call(ctx, "submission_list", limit=_limit(limit, all_), json_output=json_output)


@submission_group.command("show")
@click.argument("submission", metavar="N|@last")
@_json_option
@click.pass_context
def submission_show(ctx: click.Context, submission: str, json_output: bool) -> None:
    """Show a submission: message, files, model."""
    _call(ctx, "submission_show", submission=submission, json_output=json_output)


@submission_group.command("checkout")
@click.argument("submission", metavar="N|@last")
@click.argument("files", nargs=-1)
@click.pass_context
def submission_checkout(ctx: click.Context, submission: str, files: tuple) -> None:
    """Bring back the files (all, or FILES and folders) of a submission into the workspace."""
    _call(ctx, "submission_checkout", submission=submission, files=files)


@cli.group("runtime")
def runtime_group() -> None:
    """The runtimes a submission runs on in the cloud: list, request one given on request."""


@runtime_group.command("list")
@click.option("--submission", default="@last", show_default=True, metavar="N|@last", help="The submission whose runtimes to show (before a first push: the competition's).")
@_json_option
@click.pass_context
def runtime_list(ctx: click.Context, submission: str, json_output: bool) -> None:
    """List the runtimes (memory, CPU, GPU) and whether the submission may use each."""
    _call(ctx, "runtime_list", submission=submission, json_output=json_output)


@runtime_group.command("request")
@click.argument("runtime", metavar="NAME")
@click.option("--submission", default="@last", show_default=True, metavar="N|@last", help="The submission that needs the runtime.")
@click.option("--justification", required=True, metavar="TEXT", help="Why the submission needs it (read by the reviewers).")
@_json_option
@click.pass_context
def runtime_request(ctx: click.Context, runtime: str, submission: str, justification: str, json_output: bool) -> None:
    """Ask for a runtime given on request (a GPU, say) for a submission."""
    _call(ctx, "runtime_request", runtime=runtime, submission=submission, justification=justification, json_output=json_output)


@cli.group("run")
def run_group() -> None:
    """The project's cloud runs: create, list, show, logs, wait, select, terminate."""


@run_group.command("create")
@click.option("--submission", default="@last", show_default=True, metavar="N|@last", help="The submission to run.")
@click.option("--train-frequency", type=click.IntRange(min=0), default=None, help="Train every N moons (default 0: only the first; refused where the competition hides it).")
@click.option("--force-first-train", type=bool, default=None, metavar="BOOLEAN", help="Train at the first moon (default: when the submission has no model files; refused where the competition hides it).")
@click.option("--runtime", default=None, metavar="NAME", help="The runtime to run on (default: the first available, `cpu` on the local hub).")
@click.option("-y", "--yes", is_flag=True, help="Do not ask before spending the last of the compute time.")
@click.pass_context
def run_create(ctx: click.Context, submission: str, train_frequency: Optional[int], force_first_train: Optional[bool], runtime: Optional[str], yes: bool) -> None:
    """Run a submission in the cloud (its expected cost of the compute time is said first)."""
    _call(ctx, "run_create", submission=submission, train_frequency=train_frequency, force_first_train=force_first_train, runtime=runtime, yes=yes)


@run_group.command("list")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(min=1), help="Show the N latest.")
@click.option("--all", "all_", is_flag=True, help="Show them all.")
@_json_option
@click.pass_context
def run_list(ctx: click.Context, limit: int, all_: bool, json_output: bool) -> None:
    """List the project's runs, newest first."""
    _call(ctx, "run_list", limit=_limit(limit, all_), json_output=json_output)


@run_group.command("show")
@click.argument("run_id", metavar="N")
@_json_option
@click.pass_context
def run_show(ctx: click.Context, run_id: str, json_output: bool) -> None:
    """Show a run: status, times, error, score."""
    _call(ctx, "run_show", run_id=run_id, json_output=json_output)


@run_group.command("logs")
@click.argument("run_id", metavar="N")
@click.option("-t", "--tail", type=click.IntRange(min=0), default=None, help="Only the N last lines.")
@click.option("--follow", "follow_logs", is_flag=True, help="Stream new lines until the run ends.")
@click.option("--debug", "debug_logs", is_flag=True, help="Also show the sandbox's and the installer's lines.")
@click.option("--poll-interval", type=click.FloatRange(min=0.1), default=2.0, show_default=True, hidden=True)
@click.pass_context
def run_logs(ctx: click.Context, run_id: str, tail: Optional[int], follow_logs: bool, debug_logs: bool, poll_interval: float) -> None:
    """Show what a run printed, with times."""
    _call(ctx, "run_logs", run_id=run_id, tail=tail, follow_logs=follow_logs, debug=debug_logs, poll_interval=poll_interval)


@run_group.command("wait")
@click.argument("run_id", metavar="N")
@click.option("--timeout", type=click.FloatRange(min=0), default=None, metavar="SECONDS", help="Stop waiting after SECONDS (exit code 2).")
@click.option("--poll-interval", type=click.FloatRange(min=0.1), default=10.0, show_default=True, metavar="SECONDS", help="Seconds between two looks.")
@click.pass_context
def run_wait(ctx: click.Context, run_id: str, timeout: Optional[float], poll_interval: float) -> None:
    """Wait for a run to end. Exit code: 0 succeeded, 1 failed, 2 still running at --timeout, 3 terminated."""
    _call(ctx, "run_wait", run_id=run_id, timeout=timeout, poll_interval=poll_interval)


@run_group.command("select")
@click.argument("run_id", metavar="N")
@click.pass_context
def run_select(ctx: click.Context, run_id: str) -> None:
    """Choose the run the out-of-sample phase uses (a run that succeeded; without a choice, the last one that did)."""
    _call(ctx, "run_select", run_id=run_id)


@run_group.command("terminate")
@click.argument("run_id", metavar="N")
@click.pass_context
def run_terminate(ctx: click.Context, run_id: str) -> None:
    """Stop a queued or running run."""
    _call(ctx, "run_terminate", run_id=run_id)


@cli.group("quickstarter")
def quickstarter_group() -> None:
    """The competition's quickstarters: list, show, apply."""


@quickstarter_group.command("list")
@_json_option
@click.pass_context
def quickstarter_list(ctx: click.Context, json_output: bool) -> None:
    """List the competition's quickstarters."""
    _call(ctx, "quickstarter_list", json_output=json_output)


@quickstarter_group.command("show")
@click.argument("name")
@_json_option
@click.pass_context
def quickstarter_show(ctx: click.Context, name: str, json_output: bool) -> None:
    """Show a quickstarter: title, authors, files."""
    _call(ctx, "quickstarter_show", name=name, json_output=json_output)


@quickstarter_group.command("apply")
@click.argument("name")
@click.option("--overwrite", is_flag=True, help="Replace files that already exist.")
@click.pass_context
def quickstarter_apply(ctx: click.Context, name: str, overwrite: bool) -> None:
    """Write a quickstarter's files into the workspace."""
    _call(ctx, "quickstarter_apply", name=name, overwrite=overwrite)


LANGUAGE = click.Choice(["python", "r"], case_sensitive=False)


@cli.group("whitelist")
def whitelist_group() -> None:
    """The libraries the platform installs: search, validate a requirements file, request one."""


@whitelist_group.command("search")
@click.argument("query")
@click.option("--language", type=LANGUAGE, default=None, help="Only libraries of this language.")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(min=1), help="Show the first N.")
@click.option("--all", "all_", is_flag=True, help="Show them all.")
@_json_option
@click.pass_context
def whitelist_search(ctx: click.Context, query: str, language: Optional[str], limit: int, all_: bool, json_output: bool) -> None:
    """Find whitelisted libraries whose name or alias holds QUERY (* for any text)."""
    _call(ctx, "whitelist_search", query=query, language=language, limit=_limit(limit, all_), json_output=json_output)


@whitelist_group.command("validate")
@click.argument("file", required=False)
@click.option("--language", type=LANGUAGE, default=None, help="The language of the file (default python).")
@_json_option
@click.pass_context
def whitelist_validate(ctx: click.Context, file: Optional[str], language: Optional[str], json_output: bool) -> None:
    """Check that every library of FILE (default requirements.txt) is whitelisted; exit 1 if not."""
    _call(ctx, "whitelist_validate", file=file, language=language, json_output=json_output)


# -- organizers: a competition's own files on local files -------------------------------------


@cli.group("organizer")
@click.argument("competition")
@click.pass_context
def organizer_group(ctx: click.Context, competition: str) -> None:
    """Run COMPETITION's own scoring.py, submission.py, leaderboard.py or reward.py on local files,
    before hosting them (`--competitions local://DIR` reads DIR/competitions/COMPETITION/scoring/)."""
    ctx.meta["organizer_competition"] = competition


@organizer_group.group("test")
def organizer_test_group() -> None:
    """Call one function of the competition's files and show its answer."""


def _organizer(ctx: click.Context, action: str, **options: Any) -> None:
    _call(ctx, "organizer_test", competition=ctx.meta["organizer_competition"], action=action, **options)


PHASE_TYPES = click.Choice(["SUBMISSION", "OUT_OF_SAMPLE"], case_sensitive=False)
PREDICTION_FOLDER = click.Path(exists=True, file_okay=False, readable=True)


@organizer_test_group.group("scoring")
def organizer_scoring_group() -> None:
    """scoring.py: check() and score() of a prediction folder."""


@organizer_scoring_group.command("check")
@click.option("--data-directory", required=True, type=PREDICTION_FOLDER, help="The folder of the data scoring.py reads (the truth).")
@click.option("--prediction-directory", required=True, type=PREDICTION_FOLDER, help="The folder of the prediction files.")
@click.option("--phase-type", default="SUBMISSION", show_default=True, type=PHASE_TYPES, help="The phase the prediction is checked for.")
@click.option("--chain-height", type=click.IntRange(min=1), default=None, help="The chain height (default: the phase's first, 1 or 2 out of sample).")
@click.pass_context
def organizer_scoring_check(ctx: click.Context, **options: Any) -> None:
    """Call scoring.py's check(): is the prediction valid?"""
    _organizer(ctx, "scoring check", **options)


@organizer_scoring_group.command("score")
@click.option("--data-directory", required=True, type=PREDICTION_FOLDER, help="The folder of the data scoring.py reads (the truth).")
@click.option("--prediction-directory", required=True, type=PREDICTION_FOLDER, help="The folder of the prediction files.")
@click.option("--phase-type", default="SUBMISSION", show_default=True, type=PHASE_TYPES, help="The phase the prediction is scored for.")
@click.option("--chain-height", type=click.IntRange(min=1), default=None, help="The chain height (default: the phase's first, 1 or 2 out of sample).")
@click.pass_context
def organizer_scoring_score(ctx: click.Context, **options: Any) -> None:
    """Call scoring.py's score(): the prediction's score for each metric."""
    _organizer(ctx, "scoring score", **options)


@organizer_test_group.group("submission")
def organizer_submission_group() -> None:
    """submission.py: check() of a workspace's files."""


@organizer_submission_group.command("check")
@click.option("--submission-type", default="CODE", show_default=True, type=click.Choice(["CODE", "PREDICTION"], case_sensitive=False), help="How the submission is made.")
@click.option("--root-directory", required=True, type=click.Path(exists=True, file_okay=False), help="The workspace whose files are checked (as a push would send them).")
@click.option("--model-directory", default="resources", show_default=True, help="The model folder, relative to the root directory.")
@click.pass_context
def organizer_submission_check(ctx: click.Context, **options: Any) -> None:
    """Call submission.py's check() on the files a push of ROOT_DIRECTORY would send."""
    _organizer(ctx, "submission check", **options)


SCORES_FILE = click.Path(exists=True, dir_okay=False)


@organizer_test_group.group("leaderboard")
def organizer_leaderboard_group() -> None:
    """leaderboard.py: rank() projects, compare() predictions."""


@organizer_leaderboard_group.command("rank")
@click.option("--scores-file", type=SCORES_FILE, help="A JSON list of projects: id, group, rewardable, metrics [{id, score}].")
@click.option("--scores-from-api", is_flag=True, help="The projects of the hub's default leaderboard.")
@click.option("--rank-pass", default="FINAL", show_default=True, type=click.Choice(["PRE_DUPLICATE", "FINAL"], case_sensitive=False), help="The ranking pass.")
@click.option("--target-name", default=None, help="The target to rank (default: the primary one).")
@click.option("--shuffle", is_flag=True, help="Give the projects in a random order.")
@click.pass_context
def organizer_leaderboard_rank(ctx: click.Context, **options: Any) -> None:
    """Call leaderboard.py's rank() on projects and their scores."""
    _organizer(ctx, "leaderboard rank", **options)


@organizer_leaderboard_group.command("compare")
@click.option("--prediction-directory", "prediction_directories", multiple=True, type=(int, PREDICTION_FOLDER), metavar="ID DIR", help="A prediction's id and folder (repeat).")
@click.option("--data-directory", required=True, type=PREDICTION_FOLDER, help="The folder of the data leaderboard.py reads.")
@click.pass_context
def organizer_leaderboard_compare(ctx: click.Context, **options: Any) -> None:
    """Call leaderboard.py's compare() on each pair of predictions."""
    _organizer(ctx, "leaderboard compare", **options)


@organizer_test_group.group("reward")
def organizer_reward_group() -> None:
    """reward.py: compute_bounties() of projects."""


@organizer_reward_group.command("compute-bounties")
@click.option("--scores-file", type=SCORES_FILE, help="A JSON list of projects: id, group, rewardable, metrics [{id, score}].")
@click.option("--scores-from-api", is_flag=True, help="The projects of the hub's default leaderboard.")
@click.option("--target-name", default=None, help="The target to reward (default: the primary one).")
@click.option("--granted-amount", type=float, default=10_000.0, show_default=True, help="The amount to share.")
@click.option("--shuffle", is_flag=True, help="Give the projects in a random order.")
@click.pass_context
def organizer_reward_compute_bounties(ctx: click.Context, **options: Any) -> None:
    """Call reward.py's compute_bounties() on projects and their scores."""
    _organizer(ctx, "reward compute-bounties", **options)


@whitelist_group.command("request")
@click.option("--name", default=None, help="The library's name on its index (PyPI, CRAN).")
@click.option("--alias", default=None, help="The name it is imported by, when it differs.")
@click.option("--language", type=LANGUAGE, default=None, help="The library's language (default python).")
@click.option("--gpu", type=click.Choice(["unknown", "useless", "useful", "required"], case_sensitive=False), default=None, help="Whether it needs a GPU.")
@click.option("--additional-details", default=None, metavar="TEXT", help="Anything the reviewers should know.")
@_json_option
@click.pass_context
def whitelist_request(ctx: click.Context, json_output: bool, **options: Any) -> None:
    """Ask for a library to be whitelisted (give --name, --alias or both)."""
    _call(ctx, "whitelist_request", json_output=json_output, **options)


# -- the local hub ---------------------------------------------------------------------------


@cli.group()
def hub() -> None:
    """A local hub that speaks the platform's protocol, for offline work and tests."""


@hub.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback unless told otherwise).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port; 0 picks a free one.")
@click.option("--root", default=".crunch-hub", show_default=True, type=click.Path(file_okay=False), help="Folder of the hub's database and files.")
@click.option("--fail-next", default=0, type=click.IntRange(min=0), metavar="K", help="Fault injection: answer the next K requests with 503.")
@click.option("--drop-after", default=None, type=click.IntRange(min=0), metavar="N", help="Fault injection: cut the next body after N bytes.")
@click.option("--delay", default=0.0, type=click.FloatRange(min=0), metavar="S", help="Fault injection: delay every answer by S seconds.")
@click.option("--rate-cap", default=None, type=click.FloatRange(min=0, min_open=True), metavar="MIB_S", help="Link shape: at most MIB_S MiB/s on each connection of a data file or chunk link.")
@click.option("--latency", default=0.0, type=click.FloatRange(min=0), metavar="S", help="Link shape: S seconds added before each data file or chunk answer.")
@click.option("--daily-limit", default=5, show_default=True, type=click.IntRange(min=0), help="Submissions per project per day.")
@click.option(
    "--allow-host", multiple=True, metavar="HOST[:PORT]",
    help="Another name requests may give in their Host header (a reverse proxy, a DNS name of this machine); repeatable."
    " Requests naming any other host, or sent by another web site, are refused.",
)
@click.option(
    "--shapes", default="current", show_default=True, type=click.Choice(["current", "classic"]), envvar="CRUNCH_HUB_SHAPES",
    help="Shapes of the answers. current: as the platform sends them today (times in UTC without a zone,"
    " a data release's target columns as a list, a chunk's confirm answering the chunk, the competition listing"
    " as a page, quickstarters listed without their files). classic: the older shapes (times ending in Z,"
    " target columns keyed by name, the confirm answering the upload, bare lists). Also CRUNCH_HUB_SHAPES;"
    " a running hub switches with POST /_admin/settings {\"shapes\": ...}.",
)
@click.pass_context
def hub_serve(ctx: click.Context, shapes: str, **options: Any) -> None:
    """Serve the hub until interrupted; prints `listening on http://HOST:PORT/` when ready, then
    the admin secret (made on the first start, kept in ROOT/admin-secret) that /_admin/ calls need."""
    import os

    os.environ["CRUNCH_HUB_SHAPES"] = shapes  # read by the hub's app when it starts (crunch.hub.app.make_app)
    _call(ctx, "hub_serve", **options)


@hub.command("token")
@click.argument("competition")
@click.argument("project")
@click.option("--user", default="me", show_default=True, help="The user owning the project.")
@click.option("--root", default=".crunch-hub", show_default=True, type=click.Path(file_okay=False), help="Folder of the hub's database and files.")
@click.pass_context
def hub_token(ctx: click.Context, **options: Any) -> None:
    """Print a fresh setup token (single use, valid 3 minutes) for PROJECT of COMPETITION."""
    _call(ctx, "hub_token", **options)


@hub.command("add-competition")
@click.argument("name")
@click.argument("data_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--root", default=".crunch-hub", show_default=True, type=click.Path(file_okay=False), help="Folder of the hub's database and files.")
@click.option("--timeseries", is_flag=True, help="A TIMESERIES competition (test moons are the moons of X_test).")
@click.option("--embargo", default=0, show_default=True, type=click.IntRange(min=0), help="Moons between the last train moon and the test moon.")
@click.option("--id-column", default="id", show_default=True)
@click.option("--moon-column", default="moon", show_default=True)
@click.option("--target", "targets", multiple=True, metavar="INPUT:OUTPUT", help="A target column and its prediction column (default target:prediction).")
@click.option("--unstructured", is_flag=True, help="An UNSTRUCTURED competition: every file of DATA_DIR, run by the competition's own code (--code).")
@click.option("--code", "code_dir", type=click.Path(exists=True, file_okay=False), help="UNSTRUCTURED: the folder of scoring/runner.py, scoring.py, submission.py...")
@click.option("--metric", "metrics", multiple=True, metavar="TARGET:METRIC", help="UNSTRUCTURED: a target and one of its metrics (repeat; the first target is primary).")
@click.option("--private-data", type=click.Path(exists=True, file_okay=False), help="UNSTRUCTURED: files kept by the hub, never sent to participants.")
@click.option("--hide-train-frequency", is_flag=True, help="Runs of this competition take no --train-frequency (0 is used).")
@click.option("--hide-force-first-train", is_flag=True, help="Runs of this competition take no --force-first-train.")
@click.pass_context
def hub_add_competition(ctx: click.Context, **options: Any) -> None:
    """Host a competition NAME from DATA_DIR's X_train, y_train, X_test, [y_test,] example_prediction parquet files
    (or, with --unstructured, every file of DATA_DIR and the competition's code)."""
    _call(ctx, "hub_add_competition", **options)


@hub.command("requests")
@click.option("--root", default=".crunch-hub", show_default=True, type=click.Path(file_okay=False), help="Folder of the hub's database and files.")
@click.option("--all", "all_", is_flag=True, help="Also the requests already decided.")
@_json_option
@click.pass_context
def hub_requests(ctx: click.Context, **options: Any) -> None:
    """List the library and runtime requests waiting for a decision."""
    _call(ctx, "hub_requests", **options)


@hub.command("accept")
@click.argument("kind", type=click.Choice(["library", "runtime"]))
@click.argument("request_id", metavar="ID", type=click.IntRange(min=1))
@click.option("--reason", default=None, metavar="TEXT", help="A word for the participant.")
@click.option("--root", default=".crunch-hub", show_default=True, type=click.Path(file_okay=False), help="Folder of the hub's database and files.")
@click.pass_context
def hub_accept(ctx: click.Context, **options: Any) -> None:
    """Accept a request: the library joins the whitelist, or the runtime becomes available to the submission."""
    _call(ctx, "hub_request_verdict", accept=True, **options)


@hub.command("reject")
@click.argument("kind", type=click.Choice(["library", "runtime"]))
@click.argument("request_id", metavar="ID", type=click.IntRange(min=1))
@click.option("--reason", default=None, metavar="TEXT", help="Why, for the participant.")
@click.option("--block", is_flag=True, help="runtime: refuse further requests of that runtime by the project.")
@click.option("--root", default=".crunch-hub", show_default=True, type=click.Path(file_okay=False), help="Folder of the hub's database and files.")
@click.pass_context
def hub_reject(ctx: click.Context, **options: Any) -> None:
    """Reject a request."""
    _call(ctx, "hub_request_verdict", accept=False, **options)


@cli.command()
@click.argument("directory", required=False, default="crunch-demo", type=click.Path(file_okay=False))
@click.pass_context
def demo(ctx: click.Context, directory: str) -> None:
    """See the whole flow in a minute, offline: a local hub, setup, test and push."""
    _call(ctx, "demo", directory=directory)


# -- main entry ------------------------------------------------------------------------------


def _can_ask() -> bool:
    """A terminal to ask on, not a notebook cell's ``!`` (see crunch/core/platforms.py)."""
    from .core.platforms import can_ask

    return can_ask()


def _say(text: str) -> None:
    """A line of crunch's own on stderr; a stderr that cannot be written loses it silently."""
    try:
        print(text, file=sys.stderr, flush=True)
    except Exception:
        pass


def _print_error(message: str) -> None:
    from .core.display import visible

    _say(f"error: {visible(redact(message))}")


_REEXEC = "CRUNCH_UTF8_REEXEC"  # set for the interpreter started again in UTF-8 mode: stdout's encoding before


def _utf8_again(args: list) -> None:
    """Under the C or POSIX locale with UTF-8 mode off (``LC_ALL=C PYTHONUTF8=0``), Python names
    files in ASCII: a valid UTF-8 file name or workspace path is then text with surrogates,
    which no library can encode. Start the same command again in UTF-8 mode (``-X utf8``, for
    this process only: what crunch runs inherits nothing), which names them as they are. Where
    that cannot be done, carry on as we are."""
    import codecs
    import os

    if os.name != "posix" or sys.flags.utf8_mode or os.environ.get(_REEXEC) is not None:
        return
    if codecs.lookup(sys.getfilesystemencoding()).name != "ascii":
        return
    main_module = sys.modules.get("__main__")
    spec = getattr(main_module, "__spec__", None)
    if spec is not None and spec.name == "crunch.__main__":
        command = [sys.executable, "-X", "utf8", "-m", "crunch", *args]
    elif sys.argv and os.path.isfile(sys.argv[0]):
        command = [sys.executable, "-X", "utf8", sys.argv[0], *args]
    else:
        return
    env = dict(os.environ)
    env[_REEXEC] = getattr(sys.stdout, "encoding", None) or ""
    try:
        sys.stdout.flush() if sys.stdout is not None else None
        os.execve(sys.executable, command, env)
    except OSError:
        return


def _after_utf8_again() -> None:
    """In the interpreter :func:`_utf8_again` started: stdout and stderr keep the encoding they
    had (an ASCII console stays ASCII, its other characters written as escapes) unless
    ``PYTHONIOENCODING`` chose one, and the marker is not passed on."""
    import os

    encoding = os.environ.pop(_REEXEC, None)
    if not encoding or os.environ.get("PYTHONIOENCODING"):
        return
    for stream in (sys.stdout, sys.stderr):
        if stream is not None and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(encoding=encoding, errors="backslashreplace")
            except (OSError, ValueError, LookupError):
                pass


def _working_folder() -> Optional[str]:
    """The folder the command runs in, or ``None`` when it was deleted (or moved away)."""
    import os

    try:
        return os.getcwd()
    except OSError:  # FileNotFoundError where it was deleted
        return None


def _folder_gone(started_in: Optional[str], during: bool) -> str:
    where = f" ({started_in})" if started_in else ""
    if during:
        return (
            f"the folder the command was running in{where} was deleted or moved while it ran; "
            "go to a folder that exists and run the command again"
        )
    return "the current folder no longer exists (it was deleted or moved): go to a folder that exists and run the command again"


def _needs_folder(args: list) -> bool:
    """Whether the command line runs a command (which may read or write the current folder),
    rather than only asking for help or the version."""
    return bool(args) and not any(arg in ("-h", "--help", "-V", "--version") for arg in args)


def _disk_full_said(error: CrunchError) -> str:
    """The message of ``error``; when a full disk caused it (``ENOSPC`` or ``EDQUOT`` in its
    chain: the person's code could not save its model, say) and the message does not say so,
    the message says the disk is full, with what failed as its detail."""
    from .core.fsutil import disk_full_message, is_disk_full

    message = error.message
    if any(words in message.lower() for words in ("disk is full", "disk space", "free some space")):
        return message  # said already
    seen = set()
    cause: Optional[BaseException] = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if is_disk_full(cause):
            return disk_full_message(message)
        cause = cause.__cause__ or cause.__context__
    return message


def _output_failure(stdout: Any, code: int) -> int:
    """At exit: stdout flushed; output that could not be written (a closed stdout, a full disk
    behind it) is said in one line on stderr and makes the exit code 1."""
    if stdout is None:
        return code
    try:
        stdout.flush()
    except BrokenPipeError:
        from .core.console import _to_devnull

        _to_devnull(1)
        return code or 1
    failure = getattr(stdout, "failure", None)
    if failure is None or code != 0:
        return code
    if "No space left" in failure or "quota" in failure.lower():
        from .core.fsutil import disk_full_message

        _print_error(disk_full_message(f"the output could not be written to {failure}"))
    else:
        _print_error(f"the output could not be written: {failure} (the command itself ran to its end)")
    return 1


def main(argv: Optional[list] = None) -> None:
    """Entry point of the ``crunch`` executable."""
    from .core.console import guard_streams
    from .core.fsutil import disk_full, is_disk_full
    from .core.interrupts import exit_code, install

    args = sys.argv[1:] if argv is None else list(argv)
    if argv is None:
        _utf8_again(args)
        _after_utf8_again()
    stdout = guard_streams() if argv is None else None
    install()
    debug = "--debug" in args
    started_in = _working_folder()
    code = 0
    try:
        if started_in is None and _needs_folder(args):
            raise WorkingFolderGoneError(_folder_gone(None, during=False))
        ctx_result = cli.main(args=args, prog_name="crunch", standalone_mode=False)
        if isinstance(ctx_result, int):
            code = ctx_result
    except (click.exceptions.Abort, KeyboardInterrupt):
        _say("\ninterrupted")
        code = exit_code()
    except click.exceptions.Exit as exit_:
        code = exit_.exit_code
    except click.ClickException as error:
        try:
            error.show()
        except Exception:
            pass
        code = error.exit_code
    except CrunchError as error:
        if debug or _debug_from_env():
            _say(redact("".join(traceback.format_exc())))
        code = error.exit_code
        if error.exit_code == 0:
            _say(error.message)
        elif error.exit_code == 130:  # stopped by Ctrl-C (or SIGTERM) inside a command: said like any interruption
            _say("\ninterrupted")
            code = exit_code()
        elif started_in is not None and _working_folder() is None:
            _print_error(_folder_gone(started_in, during=True))
        else:
            _print_error(_disk_full_said(error))
    except BrokenPipeError:
        from .core.console import _to_devnull

        _to_devnull(1)  # the reader left: what is still buffered goes nowhere, without a word at exit
        code = 1
    except Exception as error:  # a bug: say so in one line, traceback with --debug
        if debug or _debug_from_env():
            _say(redact("".join(traceback.format_exc())))
        if is_disk_full(error):
            _print_error(disk_full(error).args[0])
        elif isinstance(error, OSError) and started_in is not None and _working_folder() is None:
            _print_error(_folder_gone(started_in, during=True))
        elif debug or _debug_from_env():
            _print_error(f"unexpected {type(error).__name__}: {error}")
        else:
            _print_error(f"unexpected {type(error).__name__}: {error} (run with --debug for the traceback)")
        code = 1
    code = _output_failure(stdout, code)
    sys.exit(code)


def _debug_from_env() -> bool:
    import os

    return os.environ.get("CRUNCH_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")
