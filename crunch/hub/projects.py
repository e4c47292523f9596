"""A project: the upgrade of its setup token, its record, the clone of a submission, submissions
made and listed.

The routes of :class:`crunch.hub.app.HubApp` for this resource (a mixin: ``self`` is the app, with
its store, settings and shared helpers)."""

from __future__ import annotations

from typing import Dict, Optional

from werkzeug.wrappers import Request, Response

from .http import (
    json_answer,
)
from .store import (
    MESSAGE_LIMIT,
    HubError,
    refuse_control_characters,
    validation,
)


class ProjectRoutes:
    def on_upgrade(self, request: Request) -> Response:
        body = self._body(request)
        token = body.get("cloneToken")
        if not isinstance(token, str) or not token:
            raise validation("cloneToken", "is required")
        plain, project = self.store.upgrade_token(token)
        return json_answer({
            "id": project["id"],
            "plain": plain,
            "type": "PUSH",
            "validUntil": None,
            "project": self._project_json(project),
        })

    def on_project(self, request: Request, c: str, u: str, p: str) -> Response:
        return json_answer(self._project_json(self._project(request, c, u, p)))

    def on_clone(self, request: Request, c: str, u: str, p: str) -> Response:
        project = self._project(request, c, u, p)
        number_arg = request.args.get("submissionNumber")
        number: Optional[int] = None
        if number_arg not in (None, "", "null", "None"):
            try:
                number = int(number_arg)
            except ValueError:
                raise validation("submissionNumber", "must be an integer") from None
        include_model = (request.args.get("includeModel") or "true").lower() not in ("false", "0", "no")
        submission = self.store.submission(project["id"], number)
        model_dir = submission["model_directory_path"].strip("/") or "resources"
        answer: Dict[str, str] = {}
        for row in self.store.submission_files(submission["id"]):
            if row["kind"] == "MODEL":
                if not include_model:
                    continue
                path = f"{model_dir}/{row['path']}"
            else:
                path = row["path"]
            answer[path] = self._link(request, f"/files/uploads/{row['upload_id']}/blob")
        return json_answer(answer)

    def on_create_submission(self, request: Request, c: str, u: str, p: str) -> Response:
        body = self._body(request)
        project = self._project(request, c, u, p, body)
        if self._state(self.store.competition(c)).get("phase"):
            raise HubError(403, "RESTRICTED_PHASE_ACTION", "submissions are closed in the current phase")
        message = body.get("message", "")
        if not isinstance(message, str):
            raise validation("message", "must be a string")
        if len(message) > MESSAGE_LIMIT:
            raise validation("message", f"must be at most {MESSAGE_LIMIT} characters")
        main_file_path = body.get("mainFilePath") or "main.py"
        model_directory_path = body.get("modelDirectoryPath") or "resources"
        type_ = body.get("type") or "CODE"
        code_files = body.get("codeFiles") or {}
        model_files = body.get("modelFiles") or {}
        for field, value in (("codeFiles", code_files), ("modelFiles", model_files)):
            if not isinstance(value, dict):
                raise validation(field, "must be an object of path: upload id")
        if not isinstance(main_file_path, str) or not isinstance(model_directory_path, str):
            raise validation("mainFilePath", "mainFilePath and modelDirectoryPath must be strings")
        refuse_control_characters("mainFilePath", main_file_path, "main file")
        refuse_control_characters("modelDirectoryPath", model_directory_path, "model directory")
        imprint = body.get("submitterImprint")  # who made it (human/cli, agent/NAME...), as the client says
        if imprint is not None and (not isinstance(imprint, str) or len(imprint) > 200):
            raise validation("submitterImprint", "must be a text of at most 200 characters")
        if type_ == "CODE" and code_files and main_file_path not in code_files:
            raise validation("mainFilePath", f"{main_file_path} is not among the code files")
        row = self.store.create_submission(
            project,
            message=message,
            main_file_path=main_file_path,
            model_directory_path=model_directory_path,
            type_=type_,
            code_files={str(k): str(v) for k, v in code_files.items()},
            model_files={str(k): str(v) for k, v in model_files.items()},
            daily_limit=self.daily_limit,
            code_limit=self.code_limit,
            model_limit=self.model_limit,
            check_libraries=self.check_libraries,
            submitter_imprint=imprint,
        )
        return json_answer(self._submission_json(row), 200)

    def on_submissions(self, request: Request, c: str, u: str, p: str) -> Response:
        project = self._project(request, c, u, p)
        # oldest first, as the public hub lists them (crunch-cli 13 reverses the list to show the newest first)
        rows = sorted(self.store.submissions(project["id"]), key=lambda r: r["number"])
        return json_answer([self._submission_json(r) for r in rows])
