"""Scripting the platform from Python: ``crunch.api.Client.from_env()`` and its collections.

The names are those of the platform's public client (``client.competitions.get(name)``,
``competition.rounds.current``, ``competition.projects.get(...)``, ``project.submissions.list()``,
``project.runs.get(id)``, ``competition.leaderboards.get_default()``...). Every call goes through
the one typed client (:class:`crunch.api.client.Client`, of which :class:`Client` here is a
subclass) and returns its tolerant models wrapped with the links to their parents: an object
answers the attributes of its model (``competition.name``, ``run.status``), then the fields of
the hub's answer by their Python names (``competition.short_description`` reads
``shortDescription``) where the model keeps that answer.
"""

from __future__ import annotations

import os
import re
from typing import Any, Dict, Iterator, List, Mapping, Optional

from .. import exceptions as exc
from . import client as transport
from . import models

#: The hubs of the environment names (``CRUNCH_ENVIRONMENT``), as the command line knows them.
ENVIRONMENT_URLS: Dict[str, str] = {
    "production": "https://api.hub.crunchdao.com/",
    "prod": "https://api.hub.crunchdao.com/",
    "staging": "https://api.hub.crunchdao.io/",
    "test": "https://api.hub.crunchdao.io/",
    "local": "http://127.0.0.1:8000/",
    "dev": "http://127.0.0.1:8000/",
    "development": "http://127.0.0.1:8000/",
}

_CAMEL = re.compile(r"_([a-z0-9])")


def _camel(name: str) -> str:
    return _CAMEL.sub(lambda match: match.group(1).upper(), name)


def api_base_url_from(environ: Mapping[str, str]) -> str:
    """The hub's address: ``API_BASE_URL`` or ``CRUNCH_API_BASE_URL``, else the hub of
    ``CRUNCH_ENVIRONMENT`` (production when unset)."""
    url = (environ.get("API_BASE_URL") or environ.get("CRUNCH_API_BASE_URL") or "").strip()
    if url:
        if not re.match(r"^https?://[^/\s]+", url):
            raise exc.ConfigurationError(
                f"malformed CRUNCH_API_BASE_URL {url!r}: expected an http:// or https:// URL such as http://127.0.0.1:8000/"
            )
        return url
    name = (environ.get("CRUNCH_ENVIRONMENT") or "production").strip().lower()
    if name not in ENVIRONMENT_URLS:
        raise exc.ConfigurationError(f"unknown CRUNCH_ENVIRONMENT {name!r}: use one of {', '.join(sorted(ENVIRONMENT_URLS))}")
    return ENVIRONMENT_URLS[name]


class _Wrapped:
    """An answer of the hub with its parent: its model's attributes, then the fields of the
    answer the model keeps (``raw``) by their Python names."""

    _model: Any

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        model = self.__dict__.get("_model")
        if model is not None:
            if hasattr(model, name):
                return getattr(model, name)
            raw = getattr(model, "raw", None)
            if isinstance(raw, dict) and _camel(name) in raw:
                return raw[_camel(name)]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    @property
    def model(self) -> Any:
        """The typed answer (:mod:`crunch.api.models`) behind this object."""
        return self._model

    def __repr__(self) -> str:
        return repr(self._model)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._model == self._model  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]


# -- competitions -------------------------------------------------------------------------------


class Competition(_Wrapped):
    def __init__(self, client: "Client", model: models.Competition) -> None:
        self.client = client
        self._model = model

    def reload(self) -> "Competition":
        self._model = self.client.get_competition(self.name)
        return self

    @property
    def rounds(self) -> "RoundCollection":
        return RoundCollection(self)

    @property
    def projects(self) -> "ProjectCollection":
        return ProjectCollection(self)

    @property
    def leaderboards(self) -> "LeaderboardCollection":
        return LeaderboardCollection(self)

    @property
    def quickstarters(self) -> "QuickstarterCollection":
        return QuickstarterCollection(self)

    @property
    def targets(self) -> "TargetCollection":
        return TargetCollection(self)

    @property
    def metrics(self) -> "MetricCollection":
        return MetricCollection(self)


class CompetitionCollection:
    def __init__(self, client: "Client") -> None:
        self.client = client

    def get(self, identifier: Any, /) -> Competition:
        """The competition of that name (or id)."""
        return Competition(self.client, self.client.get_competition(str(identifier)))

    def iter(
        self,
        *,
        format: Any = None,
        mode: Any = None,
        status: Any = None,
        continuous: Optional[bool] = None,
        external: Optional[bool] = None,
        featured: Optional[bool] = None,
        organizer_name: Optional[str] = None,
        team_based: Optional[bool] = None,
    ) -> Iterator[Competition]:
        """The competitions matching the filters (an enum or its name for ``format``, ``mode``, ``status``)."""
        filters = {
            "format": _name(format),
            "mode": _name(mode),
            "status": _name(status),
            "continuous": continuous,
            "external": external,
            "featured": featured,
            "organizerName": organizer_name,
            "teamBased": team_based,
        }
        for model in self.client.list_competitions(filters):
            yield Competition(self.client, model)

    def list(self, **filters: Any) -> List[Competition]:
        """:meth:`iter` as a list."""
        return list(self.iter(**filters))


def _name(value: Any) -> Optional[str]:
    if value is None:
        return None
    return str(getattr(value, "name", value)).upper()


class LibraryCollection:
    def __init__(self, client: "Client") -> None:
        self.client = client

    def iter(self, *, name: Optional[str] = None, standard: Optional[bool] = None, language: Optional[str] = "PYTHON") -> Iterator[models.Library]:
        """The whitelisted libraries (whose name or alias matches ``name``, ``%`` any text)."""
        yield from self.client.list_libraries(name, language=_name(language), standard=standard)

    def list(self, **filters: Any) -> List[models.Library]:
        return list(self.iter(**filters))


# -- rounds ---------------------------------------------------------------------------------------


class Round(_Wrapped):
    def __init__(self, competition: Competition, model: models.Round) -> None:
        self.competition = competition
        self._model = model

    def data_release(self, size_variant: str = "DEFAULT") -> models.DataRelease:
        """The data release of the round's submission phase (its files, columns and splits)."""
        return self.competition.client.get_data_release(self.competition.name, self.number, size_variant)


class RoundCollection:
    def __init__(self, competition: Competition) -> None:
        self.competition = competition
        self.client = competition.client

    def get(self, identifier: Any, /) -> Round:
        """The round of that number (``@current``, ``@last``)."""
        return Round(self.competition, self.client.get_round(self.competition.name, identifier))

    def get_current(self) -> Round:
        return self.get("@current")

    def get_last(self) -> Round:
        return self.get("@last")

    @property
    def current(self) -> Round:
        return self.get_current()

    @property
    def last(self) -> Round:
        return self.get_last()

    def list(self) -> List[Round]:
        return [Round(self.competition, model) for model in self.client.list_rounds(self.competition.name)]


# -- projects, submissions, runs ----------------------------------------------------------------


class ProjectReference:
    """A project known by its owner and name, without a call to the hub."""

    def __init__(self, competition: Competition, user_id: Any, name: str) -> None:
        self.competition = competition
        self.user_id = user_id
        self.name = name

    @property
    def client(self) -> "Client":
        return self.competition.client

    @property
    def _where(self) -> tuple:
        return (self.competition.name, self.user_id, self.name)

    def reload(self) -> "Project":
        return self.competition.projects.get(self.user_id, self.name)

    @property
    def submissions(self) -> "SubmissionCollection":
        return SubmissionCollection(self)

    @property
    def runs(self) -> "RunCollection":
        return RunCollection(self)

    @property
    def submit_quota(self) -> models.SubmitQuota:
        """Submissions left today and the size limits of the files."""
        return self.client.submit_quota(*self._where)

    @property
    def compute_quota(self) -> models.ComputeQuota:
        """Compute time (seconds) available, used and remaining."""
        return self.client.compute_quota(*self._where)

    def get_leaderboard_changes(self) -> List[models.TargetStanding]:
        """The project's rank and metrics on the default leaderboard, with the values before its latest score."""
        return self.client.leaderboard_standing(*self._where)

    def clone(self, *, submission_number: Optional[int] = None, include_model: bool = True) -> Dict[str, str]:
        """The files of a submission (the last one by default): path -> link."""
        return self.client.clone(*self._where, submission_number=submission_number, include_model=include_model)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(competition={self.competition.name!r}, user_id={self.user_id!r}, name={self.name!r})"


class Project(_Wrapped, ProjectReference):
    def __init__(self, competition: Competition, model: models.Project, user: Any = None) -> None:
        self._model = model
        # the owner as asked (`@me`) when the answer does not say it
        ProjectReference.__init__(self, competition, model.user_id if model.user_id is not None else user, model.name)

    def reload(self) -> "Project":
        self._model = ProjectReference.reload(self)._model
        return self


class ProjectCollection:
    def __init__(self, competition: Competition) -> None:
        self.competition = competition
        self.client = competition.client

    def get(self, user_identifier: Any = "@me", project_identifier: Any = "@first", /) -> Project:
        """The project ``project_identifier`` (a name) of the user ``user_identifier`` (an id,
        a login, or ``@me``: the owner of the API key or push token)."""
        model = self.client.get_project(self.competition.name, user_identifier, str(project_identifier))
        if not model.name:
            model.name = str(project_identifier)
        return Project(self.competition, model, user_identifier)

    def reference(self, user_id: Any, name: str, /) -> ProjectReference:
        """A project by its owner and name, without asking the hub (calls on it may then fail
        with :class:`~crunch.api.ProjectNotFoundException`)."""
        return ProjectReference(self.competition, user_id, name)


class Submission(_Wrapped):
    def __init__(self, project: ProjectReference, model: models.Submission) -> None:
        self.project = project
        self._model = model

    @property
    def files(self) -> List[models.FileInfo]:
        """The submission's code files (name and size)."""
        return self.project.client.submission_files(*self.project._where, self.number)

    @property
    def runtime_options(self) -> List[models.RuntimeOption]:
        """The runtimes a run of this submission may use, and their compute quotas."""
        return self.project.client.runtime_options(*self.project._where, self.number)


class SubmissionCollection:
    def __init__(self, project: ProjectReference) -> None:
        self.project = project
        self.client = project.client

    def get(self, identifier: Any, /) -> Submission:
        """The submission of that number (or ``@last``)."""
        return Submission(self.project, self.client.get_submission(*self.project._where, identifier))

    def list(self) -> List[Submission]:
        return [Submission(self.project, model) for model in self.client.list_submissions(*self.project._where)]


class Run(_Wrapped):
    def __init__(self, project: ProjectReference, model: models.Run) -> None:
        self.project = project
        self._model = model

    def reload(self) -> "Run":
        self._model = self.project.client.get_run(*self.project._where, self.id)
        return self

    @property
    def logs(self) -> List[models.RunLog]:
        return self.project.client.run_logs(*self.project._where, self.id)

    def terminate(self) -> "Run":
        """Stop the run; the run as the hub describes it afterwards."""
        self._model = self.project.client.terminate_run(*self.project._where, self.id)
        return self


class RunCollection:
    def __init__(self, project: ProjectReference) -> None:
        self.project = project
        self.client = project.client

    def get(self, id: Any, /) -> Run:
        return Run(self.project, self.client.get_run(*self.project._where, id))

    def list(self) -> List[Run]:
        return [Run(self.project, model) for model in self.client.list_runs(*self.project._where)]

    def create(
        self,
        *,
        submission_id: Any,
        runtime_definition_name: str,
        train_frequency: int = 0,
        force_first_train: Optional[bool] = None,
    ) -> Run:
        """Start a cloud run of a submission (by its id) on a runtime (``submission.runtime_options``)."""
        model = self.client.create_run(
            *self.project._where,
            submission_id=submission_id,
            train_frequency=train_frequency,
            force_first_train=force_first_train,
            runtime=runtime_definition_name,
        )
        return Run(self.project, model)


# -- leaderboards, quickstarters, targets, metrics -----------------------------------------------


class Leaderboard(_Wrapped):
    def __init__(self, competition: Competition, model: models.Leaderboard) -> None:
        self.competition = competition
        self._model = model

    def reload(self) -> "Leaderboard":
        self._model = self.competition.client.get_leaderboard(self.competition.name, self.name)
        return self

    def positions(self) -> List[Dict[str, Any]]:
        """One row per target and position: ``target``, ``rank``, ``user``, ``project``, ``mean``,
        ``best`` (the leaderboard is fetched again when it was listed without its positions)."""
        if self.targets is None:
            self.reload()
        rows = []
        for target in self.targets or []:
            for position in target.get("positions") or []:
                if not isinstance(position, dict):
                    continue
                user = position.get("user") if isinstance(position.get("user"), dict) else {}
                project = position.get("project") if isinstance(position.get("project"), dict) else {}
                rows.append({
                    "target": target.get("name"),
                    "rank": position.get("rank"),
                    "user": user.get("login"),
                    "project": project.get("name"),
                    "mean": position.get("mean"),
                    "best": position.get("best"),
                })
        return rows

    def as_dataframe(self) -> Any:
        """:meth:`positions` as a pandas DataFrame."""
        import pandas

        return pandas.DataFrame(self.positions(), columns=["target", "rank", "user", "project", "mean", "best"])


class LeaderboardCollection:
    def __init__(self, competition: Competition) -> None:
        self.competition = competition
        self.client = competition.client

    def get(self, identifier: str, /) -> Leaderboard:
        return Leaderboard(self.competition, self.client.get_leaderboard(self.competition.name, identifier))

    def get_default(self) -> Leaderboard:
        return self.get("@default")

    @property
    def default(self) -> Leaderboard:
        return self.get_default()

    def list(self) -> List[Leaderboard]:
        return [Leaderboard(self.competition, model) for model in self.client.list_leaderboards(self.competition.name)]


class QuickstarterCollection:
    def __init__(self, competition: Competition) -> None:
        self.competition = competition
        self.client = competition.client

    def get(self, name: str, /) -> models.Quickstarter:
        return self.client.get_quickstarter(self.competition.name, name)

    def list(self) -> List[models.Quickstarter]:
        return self.client.list_quickstarters(self.competition.name)


class TargetCollection:
    def __init__(self, competition: Competition) -> None:
        self.competition = competition

    def list(self) -> List[Any]:
        """The competition's targets, each with its ``.metrics``."""
        return self.competition.client.get_targets(self.competition.name)


class MetricCollection:
    def __init__(self, competition: Competition) -> None:
        self.competition = competition

    def list(self) -> List[Any]:
        """The competition's metrics, each with its ``.target``."""
        return self.competition.client.get_metrics(self.competition.name)


# -- the entry point --------------------------------------------------------------------------------


class Client(transport.Client):
    """The hub's client with the platform's scripting names.

    ``Client.from_env()`` reads where the hub is and the credential from the environment;
    ``Client(url, api_key=...)`` or ``Client(url, push_token=...)`` names them. Every endpoint
    method of :class:`crunch.api.client.Client` is there too (``client.get_round(...)``).
    """

    @classmethod
    def from_env(
        cls,
        *,
        api_key: Optional[str] = None,
        push_token: Optional[str] = None,
        api_base_url: Optional[str] = None,
        environ: Optional[Mapping[str, str]] = None,
    ) -> "Client":
        """A client of the hub of ``CRUNCH_API_BASE_URL`` (or ``API_BASE_URL``, else the hub of
        ``CRUNCH_ENVIRONMENT``, else production) with the API key of ``CRUNCH_API_KEY`` (also
        looked up in Colab's and Kaggle's secrets); ``push_token`` (a project's token) is used
        instead when given. Arguments win over variables. Without a key or a token, only the
        public calls work (competitions, rounds, leaderboards, libraries)."""
        env = os.environ if environ is None else environ
        url = api_base_url or api_base_url_from(env)
        if push_token:
            return cls(url, push_token=push_token)
        key = api_key
        if key is None:
            from ..core.platforms import secret

            key = secret("CRUNCH_API_KEY", env)
        return cls(url, api_key=key or None)

    @property
    def competitions(self) -> CompetitionCollection:
        return CompetitionCollection(self)

    @property
    def libraries(self) -> LibraryCollection:
        return LibraryCollection(self)
