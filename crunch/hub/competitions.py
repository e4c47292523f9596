"""A competition and what hangs from it: rounds, phases, the data release, checks, targets and
metrics, its code files, quickstarters; and the library whitelist.

The routes of :class:`crunch.hub.app.HubApp` for this resource (a mixin: ``self`` is the app, with
its store, settings and shared helpers)."""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Any, Dict, List, Optional

from werkzeug.wrappers import Request, Response

from .http import (
    json_answer,
)
from .platform import (
    filter_competitions,
    library_matches,
)
from .shapes import CLASSIC, column_names_json
from .store import (
    HubError,
    validation,
)


class CompetitionRoutes:
    def on_competitions(self, request: Request) -> Response:
        items = filter_competitions([self._competition_json(r) for r in self.store.competitions()], request.args)
        # current: a page, always (crunch-cli 13 pages through it); classic: a bare list unless a page is asked for
        if self.shapes != CLASSIC or "page" in request.args or "size" in request.args:
            page, size = self._paging(request)
            return json_answer(self._page(items, page, size))
        return json_answer(items)

    def on_competition(self, request: Request, c: str) -> Response:
        return json_answer(self._competition_json(self.store.competition(c)))

    def on_rounds(self, request: Request, c: str) -> Response:
        competition = self.store.competition(c)
        rows = self.store.all("SELECT * FROM rounds WHERE competition_id = ? ORDER BY number", competition["id"])
        return json_answer([self._round_json(r) for r in rows])

    def on_round(self, request: Request, c: str, r: str) -> Response:
        competition = self.store.competition(c)
        return json_answer(self._round_json(self.store.round(competition["id"], r)))

    def _phase_json(self, round_: sqlite3.Row) -> Dict[str, Any]:
        return {"id": round_["id"], "type": "SUBMISSION", "start": self._time(round_["start"]), "end": self._time(round_["end"])}

    def _check_phase(self, p: str) -> None:
        if p.upper().replace("-", "_") not in ("SUBMISSION", "@CURRENT"):
            raise HubError(404, "CURRENT_PHASE_NOT_FOUND" if p.startswith("@") else "PHASE_NOT_FOUND", f"no phase {p!r}")

    def on_phases(self, request: Request, c: str, r: str) -> Response:
        competition = self.store.competition(c)
        return json_answer([self._phase_json(self.store.round(competition["id"], r))])

    def on_phase(self, request: Request, c: str, r: str, p: str) -> Response:
        competition = self.store.competition(c)
        round_ = self.store.round(competition["id"], r)
        self._check_phase(p)
        return json_answer(self._phase_json(round_))

    def _state(self, competition: sqlite3.Row) -> Dict[str, bool]:
        return self.closed.get(int(competition["id"]), {})

    def on_data_release(self, request: Request, c: str, r: str, p: str) -> Response:
        competition = self.store.competition(c)
        round_ = self.store.round(competition["id"], r)
        self._check_phase(p)
        if self._state(competition).get("phase") and (p.startswith("@") or r.startswith("@")):
            raise HubError(404, "CURRENT_PHASE_NOT_FOUND", "the competition has no open phase")
        if self._state(competition).get("data"):
            raise HubError(404, "CRUNCH_NOT_FOUND", "no data published for this round yet")
        variant = (request.args.get("sizeVariant") or "DEFAULT").upper()
        if variant not in ("DEFAULT", "SMALL", "LARGE"):
            raise validation("sizeVariant", "must be DEFAULT, SMALL or LARGE")
        release = self.store.data_release(round_["id"])
        files = {}
        for row in self.store.data_files(release["id"], variant):
            files[row["key"]] = {
                "name": row["name"],
                "url": self._link(request, "/data/" + row["path"]),
                "size": row["size"],
                "signed": True,
                "compressed": bool(row["compressed"]),
                "sha256": row["sha256"],
            }
        return json_answer({
            "id": release["id"],
            "number": release["number"],
            "name": release["name"],
            "embargo": release["embargo"],
            "numberOfFeatures": release["number_of_features"],
            "hash": release["hash"],
            "sizeVariant": variant,
            "columnNames": column_names_json(
                json.loads(release["column_names"]), {t["name"]: int(t["id"]) for t in self.store.targets(competition["id"])}, self.shapes
            ),
            "splits": json.loads(release["splits"]),
            "dataFiles": files,
        })

    def on_checks(self, request: Request, c: str) -> Response:
        return json_answer(json.loads(self.store.competition(c)["checks"]))

    def _target_json(self, row: sqlite3.Row) -> Dict[str, Any]:
        return {
            "id": row["id"],
            "name": row["name"],
            "displayName": row["display_name"],
            "virtual": bool(row["virtual"]),
            "primary": bool(row["is_primary"]),
        }

    def _store_metric_json(self, row: sqlite3.Row, target: Optional[sqlite3.Row] = None) -> Dict[str, Any]:
        answer = {
            "id": row["id"],
            "name": row["name"],
            "displayName": row["display_name"],
            "unit": json.loads(row["unit"]),
            "weight": row["weight"],
            "score": bool(row["score"]),
            "multiplier": row["multiplier"],
        }
        if target is not None:
            answer["target"] = self._target_json(target)
        return answer

    def _target(self, c: str, t: str) -> sqlite3.Row:
        competition = self.store.competition(c)
        rows = self.store.targets(competition["id"], t)
        if not rows:
            raise HubError(404, "TARGET_NOT_FOUND", f"no target {t!r} in competition {competition['name']!r}")
        return rows[0]

    def on_targets(self, request: Request, c: str) -> Response:
        competition = self.store.competition(c)
        rows = self.store.targets(competition["id"], request.args.get("name") or None)
        virtual = request.args.get("virtual")
        if virtual is not None and virtual.lower() in ("true", "false"):
            rows = [row for row in rows if bool(row["virtual"]) == (virtual.lower() == "true")]
        return json_answer([self._target_json(row) for row in rows])

    def on_target(self, request: Request, c: str, t: str) -> Response:
        return json_answer(self._target_json(self._target(c, t)))

    def on_target_metrics(self, request: Request, c: str, t: str) -> Response:
        return json_answer([self._store_metric_json(row) for row in self.store.metrics(self._target(c, t)["id"])])

    def on_target_metric(self, request: Request, c: str, t: str, m: str) -> Response:
        for row in self.store.metrics(self._target(c, t)["id"]):
            if row["name"] == m:
                return json_answer(self._store_metric_json(row))
        raise HubError(404, "METRIC_NOT_FOUND", f"no metric {m!r} for target {t!r}")

    def on_metrics(self, request: Request, c: str) -> Response:
        competition = self.store.competition(c)
        answer = []
        for target in self.store.targets(competition["id"]):
            answer.extend(self._store_metric_json(row, target) for row in self.store.metrics(target["id"]))
        return json_answer(answer)

    def on_code_file(self, request: Request, c: str, f: str) -> Response:
        """A competition's code file, public and unsigned, at the layout of the public code cache."""
        folder = self.store.code_dir(c).resolve()
        path = (folder / f).resolve()
        if not str(path).startswith(str(folder) + os.sep) or not path.is_file():
            raise HubError(404, "NOT_FOUND", f"no file {f!r} in the code of competition {c!r}")
        response = Response(path.read_bytes(), mimetype="text/x-python" if path.suffix == ".py" else "application/octet-stream")
        response.headers["Cache-Control"] = "no-cache"
        return response

    def _paging(self, request: Request) -> tuple:
        try:
            page = int(request.args.get("page", 0))
            size = int(request.args.get("size", 100))
        except ValueError:
            raise validation("page", "page and size must be integers") from None
        if page < 0 or size < 1 or size > 10_000:
            raise validation("size", "page >= 0 and 1 <= size <= 10000")
        return page, size

    def _page(self, items: List[Any], page: int, size: int) -> Dict[str, Any]:
        return {
            "content": items[page * size : (page + 1) * size],
            "pageNumber": page,
            "pageSize": size,
            "totalElements": len(items),
            "totalPages": -(-len(items) // size),
        }

    def on_libraries(self, request: Request) -> Response:
        page, size = self._paging(request)
        language = (request.args.get("language") or "PYTHON").upper()
        name = (request.args.get("name") or "").strip()
        standard = (request.args.get("standard") or "").strip().lower()
        gpu = (request.args.get("gpuRequirement") or "").strip().upper()
        rows = self.store.all("SELECT * FROM libraries WHERE language = ? ORDER BY name", language)
        items = []
        for row in rows:
            aliases = json.loads(row["aliases"])
            if not library_matches(name, row["name"], aliases):
                continue
            if standard in ("true", "false") and bool(row["standard"]) != (standard == "true"):
                continue
            if gpu and row["gpu_requirement"] != gpu:
                continue
            items.append({
                "id": row["id"],
                "name": row["name"],
                "aliases": aliases,
                "standard": bool(row["standard"]),
                "freeze": not row["standard"],
                "language": row["language"],
                "gpuRequirement": row["gpu_requirement"],
            })
        return json_answer(self._page(items, page, size))

    def _quickstarter_json(self, request: Request, row: sqlite3.Row, files: bool = True) -> Dict[str, Any]:
        answer: Dict[str, Any] = {
            "id": row["id"],
            "name": row["name"],
            "title": row["title"],
            "authors": [{"name": "local hub", "link": None}],
            "language": "PYTHON",
            "notebook": bool(row["notebook"]),
        }
        if files:
            answer["files"] = [
                {"name": f["name"], "url": self._link(request, "/files/" + f["path"]), "githubUrl": ""}
                for f in json.loads(row["files"])
            ]
        return answer

    def on_quickstarters(self, request: Request, c: str) -> Response:
        """The competition's quickstarters; their files only in the classic shapes (current: ask for one)."""
        competition = self.store.competition(c)
        rows = self.store.all("SELECT * FROM quickstarters WHERE competition_id = ? ORDER BY id", competition["id"])
        return json_answer([self._quickstarter_json(request, row, files=self.shapes == CLASSIC) for row in rows])

    def on_quickstarter(self, request: Request, c: str, q: str) -> Response:
        competition = self.store.competition(c)
        for row in self.store.all("SELECT * FROM quickstarters WHERE competition_id = ? ORDER BY id", competition["id"]):
            if q in (row["name"], str(row["id"])):
                return json_answer(self._quickstarter_json(request, row))
        raise HubError(404, "QUICKSTARTER_NOT_FOUND", f"no quickstarter {q!r}")
