"""The admin calls (``/_admin/...``, behind the hub's secret): faults, counters, tokens and API
keys, uploads expired, competitions' flags, settings.

The routes of :class:`crunch.hub.app.HubApp` for this resource (a mixin: ``self`` is the app, with
its store, settings and shared helpers)."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from .http import (
    admin_name,
    error_answer,
    json_answer,
)
from .shapes import SHAPES
from .store import (
    HubError,
    validation,
)


class AdminRoutes:
    def on_admin_faults(self, request: Request) -> Response:
        if request.method == "POST":
            self.faults.configure(self._body(request))
        return json_answer(self.faults.describe())

    def on_admin_stats(self, request: Request) -> Response:
        stats = self.faults.stats()
        stats["pendingUploads"] = self.store.pending_uploads()
        stats["uploads"] = {
            row["status"]: row["n"] for row in self.store.all("SELECT status, COUNT(*) AS n FROM uploads GROUP BY status")
        }
        return json_answer(stats)

    def on_admin_stats_reset(self, request: Request) -> Response:
        self.faults.reset_counters()
        return json_answer(self.faults.stats())

    def on_admin_tokens(self, request: Request) -> Response:
        body = self._body(request)
        value = body.get("token")
        if value is not None and (not isinstance(value, str) or len(value) < 8 or not value.isprintable() or " " in value):
            return error_answer(HubError(400, "VALIDATION_FAILED", "token: a text of 8 characters or more, without spaces"))
        token = self.store.mint_clone_token(
            admin_name(body, "competition", "demo"), admin_name(body, "project", "p1"), admin_name(body, "user", "me"), value=value
        )
        return json_answer({"token": token})

    def on_admin_api_keys(self, request: Request) -> Response:
        body = self._body(request)
        return json_answer({"key": self.store.mint_api_key(admin_name(body, "user", "me"))})

    def on_admin_expire_uploads(self, request: Request) -> Response:
        body = self._body(request)
        return json_answer({"expired": self.store.expire_uploads(body.get("uploadId"))})

    def on_admin_competition(self, request: Request, c: str) -> Response:
        """Close a competition's phase (``{"phaseClosed": true}``: no current phase, no submission)
        or withdraw its data (``{"dataUnpublished": true}``), in memory; hide the run options
        (``{"hideTrainFrequency": true}``, ``{"hideForceFirstTrain": true}``), kept in the database."""
        competition = self.store.competition(c)
        body = self._body(request)
        for name in ("phaseClosed", "dataUnpublished", "hideTrainFrequency", "hideForceFirstTrain"):
            if name in body and not isinstance(body[name], bool):
                raise validation(name, "must be true or false")
        state = self.closed.setdefault(int(competition["id"]), {})
        if "phaseClosed" in body:
            state["phase"] = body["phaseClosed"]
        if "dataUnpublished" in body:
            state["data"] = body["dataUnpublished"]
        flags = self.store.set_run_flags(
            int(competition["id"]),
            hide_train_frequency=body.get("hideTrainFrequency"),
            hide_force_first_train=body.get("hideForceFirstTrain"),
        )
        return json_answer({"phaseClosed": state.get("phase", False), "dataUnpublished": state.get("data", False), **flags})

    def on_admin_settings(self, request: Request) -> Response:
        """Settings of this running hub (in memory): ``dailyLimit``, ``codeLimit``, ``modelLimit``
        (bytes), ``checkLibraries`` (bool), ``urlTtl`` (seconds a signed link stays valid),
        ``filesBaseUrl`` (file and chunk links point at that base URL: a proxy on another host),
        ``computeSeconds`` (a project's compute time a day), ``runTimeout`` (seconds a cloud run may last),
        ``shapes`` (``"current"`` or ``"classic"``: the answers' shapes, see :mod:`crunch.hub.shapes`)."""
        body = self._body(request)
        if "shapes" in body and body["shapes"] not in SHAPES:
            raise validation("shapes", f"must be {' or '.join(repr(s) for s in SHAPES)}")
        fields = (
            ("dailyLimit", "daily_limit", int),
            ("codeLimit", "code_limit", int),
            ("modelLimit", "model_limit", int),
            ("checkLibraries", "check_libraries", bool),
            ("urlTtl", "url_ttl", float),
            ("filesBaseUrl", "files_base_url", lambda value: str(value) if value else None),
            ("computeSeconds", "compute_seconds", float),
            ("runTimeout", "run_timeout", float),
            ("shapes", "shapes", str),
        )
        values = {}
        for field, attribute, kind in fields:  # every value checked before any is set
            if field in body:
                value = body[field]
                if kind in (int, float) and (isinstance(value, bool) or not isinstance(value, (int, float)) or value != value):
                    raise validation(field, "must be a number")
                if kind is bool and not isinstance(value, bool):
                    raise validation(field, "must be true or false")
                if field == "filesBaseUrl" and value and (not isinstance(value, str) or not value.startswith(("http://", "https://"))):
                    raise validation(field, "must be an http(s) URL or null")
                try:
                    values[attribute] = kind(value)  # type: ignore[operator]
                except (OverflowError, ValueError):
                    raise validation(field, "is out of range") from None
        for attribute, value in values.items():
            setattr(self, attribute, value)
        return json_answer({field: getattr(self, attribute) for field, attribute, _ in fields})
