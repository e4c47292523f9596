"""``crunch hub add-competition``: host a folder of parquet files as a competition."""

from __future__ import annotations

from typing import Any, Optional, Sequence

from ..core.console import Console
from ..exceptions import CrunchError
from ..project.settings import Settings


def run(
    *,
    settings: Settings,
    console: Console,
    name: str,
    data_dir: str,
    root: str = ".crunch-hub",
    timeseries: bool = False,
    embargo: int = 0,
    id_column: str = "id",
    moon_column: str = "moon",
    targets: Sequence[str] = (),
    unstructured: bool = False,
    code_dir: Optional[str] = None,
    metrics: Sequence[str] = (),
    private_data: Optional[str] = None,
    hide_train_frequency: bool = False,
    hide_force_first_train: bool = False,
    **_: Any,
) -> dict:
    from ..hub.seed import host_folder, seed_if_needed
    from ..hub.store import NAME_LIMIT, HubError, Store

    if not name or "/" in name or "\\" in name or name.startswith(".") or not name.isprintable() or len(name) > NAME_LIMIT:
        shown = repr(name) if len(name) <= 80 else repr(name[:80]) + "..."
        raise CrunchError(f"{shown} cannot be a competition name: use letters, digits and dashes")
    if unstructured:
        classic = [
            flag
            for flag, used in (
                ("--timeseries", timeseries), ("--embargo", embargo != 0), ("--id-column", id_column != "id"),
                ("--moon-column", moon_column != "moon"), ("--target", bool(targets)),
            )
            if used
        ]
        if classic:
            raise CrunchError(
                f"{', '.join(classic)} describe the columns of a classic competition, not an UNSTRUCTURED one "
                "(its code reads its own files): leave them out, or use --metric TARGET:METRIC"
            )
        summary = _add_unstructured(console, name, data_dir, root, code_dir, metrics, private_data)
        return _set_run_flags(console, name, root, summary, hide_train_frequency, hide_force_first_train)
    given = [flag for flag, value in (("--code", code_dir), ("--metric", metrics), ("--private-data", private_data)) if value]
    if given:
        raise CrunchError(f"{', '.join(given)} only go with --unstructured: add --unstructured, or leave them out")
    store = Store(root)
    try:
        seed_if_needed(store)
        summary = host_folder(
            store,
            name,
            data_dir,
            timeseries=timeseries,
            embargo=embargo,
            id_column=id_column,
            moon_column=moon_column,
            targets=targets,
        )
    except (ValueError, HubError) as error:
        raise CrunchError(f"cannot host {data_dir}: {error}") from None
    finally:
        store.close()
    kind = f"TIMESERIES, {len(summary['testKeys'])} test moon(s)" if timeseries else "regular"
    console.result(f"hosted {name} ({kind}, {summary['features']} feature(s)): {', '.join(summary['files'])}")
    return _set_run_flags(console, name, root, summary, hide_train_frequency, hide_force_first_train)


def _set_run_flags(console: Console, name: str, root: str, summary: dict, hide_train_frequency: bool, hide_force_first_train: bool) -> dict:
    """The run options the competition hides (hosting it again without the flags shows them again)."""
    from ..hub.store import Store

    store = Store(root)
    try:
        competition_id = int(store.competition(name)["id"])
        summary["runFlags"] = store.set_run_flags(
            competition_id, hide_train_frequency=hide_train_frequency, hide_force_first_train=hide_force_first_train
        )
    finally:
        store.close()
    hidden = [option for option, hide in (("--train-frequency", hide_train_frequency), ("--force-first-train", hide_force_first_train)) if hide]
    if hidden:
        console.result(f"runs of {name} take no {' and no '.join(hidden)}")
    return summary


def _add_unstructured(
    console: Console,
    name: str,
    data_dir: str,
    root: str,
    code_dir: Optional[str],
    metrics: Sequence[str],
    private_data: Optional[str],
) -> dict:
    from ..hub.seed import seed_if_needed
    from ..hub.store import HubError, Store
    from ..hub.unstructured import check_inputs

    if not code_dir:
        raise CrunchError("--unstructured needs --code CODE_DIR: the folder of the competition's scoring/runner.py")
    try:  # every check first: nothing is created for a bad command line
        check_inputs(data_dir, code_dir, metrics, private_data)
    except ValueError as error:
        raise CrunchError(f"cannot host {name}: {error}") from None
    from ..hub.unstructured import host_unstructured

    store = Store(root)
    try:
        seed_if_needed(store)
        summary = host_unstructured(store, name, data_dir, code_dir=code_dir, metrics=metrics, private_data=private_data)
    except (ValueError, OSError, HubError) as error:
        raise CrunchError(f"cannot host {name}: {error}") from None
    finally:
        store.close()
    metric_text = ", ".join(summary["metrics"]) or "no metric"
    console.result(
        f"hosted {name} (UNSTRUCTURED, {len(summary['files'])} data file(s), code: {', '.join(summary['code'])}; "
        f"{metric_text}; {summary['private']} private file(s); quickstarters: {', '.join(summary['quickstarters']) or 'none'})"
    )
    console.print(f"test its files on local ones with `crunch organizer {name} test scoring check|score`, `submission check`, `leaderboard rank|compare`, `reward compute-bounties` (docs/organizer.md)")
    return summary
