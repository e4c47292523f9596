"""The platform's error codes that name a person's problem: each becomes a typed error whose
message says what happened and what to do, with the extra fields of the body (read tolerantly:
an extra that is absent, null or of another type makes the message say less, never fail).

The unit tests call ``error_from_response`` with the bodies the platform sends; the e2e tests
drive the installed ``crunch`` against a local hub whose ``errorCode`` fault answers a call with
such a body (``ENCRYPTED_SUBMISSION``: ``crunch setup`` carries on, ``submission checkout`` stops).
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Tuple

import pytest

from crunch import exceptions as exc
from crunch.api.errors import ALIASES, KNOWN_CODES, error_from_response


def answer(code: str, message: Any = "the platform's own sentence", status: int = 400, **extra: Any) -> exc.ApiError:
    body: Dict[str, Any] = {"code": code, **extra}
    if message is not ...:
        body["message"] = message
    return error_from_response(status, json.dumps(body).encode(), "application/json", "GET /v4/x")


# code -> (class, the body's extra fields, what the message must show, what it must say to do)
CASES: Dict[str, Tuple[type, Dict[str, Any], List[str], List[str]]] = {
    "CANNOT_PARTICIPATE": (
        exc.CannotParticipateError,
        {"hasProblem": True, "isVerified": False, "isRestricted": True, "ruleAccepted": False, "hasAcceptedLegal": False},
        [
            "cannot take part in this competition yet",
            "manual verification pending",
            "not verified yet",
            "restricted",
            "not accepted the competition's rules",
            "Terms of Use and Privacy Policy",
        ],
        ["verification email", "accept them on the competition's page", "contact the CrunchDAO team", "run the command again"],
    ),
    "CONFLICTING_MODEL_DIRECTORY": (
        exc.ConflictingModelDirectoryError,
        {"modelDirectoryPath": "resources", "conflictingFilePath": "resources/helper.py"},
        ["`resources/helper.py`", "model directory `resources`"],
        ["rename or move that file", "--model-directory", "push again"],
    ),
    "CRUNCH_NOT_PUBLISHED": (
        exc.CrunchNotPublishedError,
        {"crunchNumber": 12},
        ["crunch #12", "not published yet"],
        ["try again later"],
    ),
    "ENCRYPTED_SUBMISSION": (
        exc.EncryptedSubmissionError,
        {},
        ["encrypted", "cannot be fetched"],
        ["your own copy"],
    ),
    "INTERNAL_SERVER": (
        exc.InternalServerError,
        {},
        ["failed on its side", "the platform's own sentence"],
        ["try again in a few minutes", "tell the CrunchDAO team"],
    ),
    "INVALID_MAIN_FILE": (
        exc.InvalidMainFileError,
        {"mainFilePath": "main.py", "mainFileMediaType": "application/zip"},
        ["`main.py` is not valid", "the platform's own sentence", "read it as application/zip"],
        ["Python script (.py) or a notebook (.ipynb)", "--main-file", "push again"],
    ),
    "INVALID_RUN_TOKEN": (
        exc.InvalidRunTokenError,
        {"runId": 42},
        ["run token of run #42"],
        ["only inside its own cloud run", "crunch run create"],
    ),
    "MISSING_MAIN_FILE": (
        exc.MissingMainFileError,
        {"mainFilePath": "src/main.py"},
        ["`src/main.py` is not in the submission"],
        [".gitignore", "--main-file", "push again"],
    ),
    "PENDING_RUNTIME_ACCESS_REQUEST": (
        exc.PendingRuntimeAccessRequestError,
        {"runtimeDefinitionName": "gpu-a100"},
        ["runtime `gpu-a100`", "waiting for review"],
        ["another runtime with --runtime"],
    ),
    "PREDICTION_SUBMISSION_NOT_ALLOWED": (
        exc.PredictionSubmissionNotAllowedError,
        {},
        ["does not take prediction files"],
        ["submit your code", "crunch push"],
    ),
    "PREDICTION_TOO_BIG": (
        exc.PredictionTooBigError,
        {"size": 3 * 1024**3, "maximumSize": 1024**3},
        ["prediction is too big", "3.0 GiB", "at most 1.0 GiB"],
        ["only the rows and columns"],
    ),
    "REQUIREMENT_PARSE_ERROR": (
        exc.RequirementParseError,
        {},
        ["could not read your requirements file", "the platform's own sentence"],
        ["one package a line", "push again"],
    ),
    "RUNTIME_DEFINITION_NOT_FOUND": (
        exc.RuntimeDefinitionNotFoundError,
        {"runtimeDefinitionName": "tpu-v9"},
        ["no runtime named `tpu-v9`"],
        ["--runtime", "leave it out"],
    ),
    "RUN_NOT_SUCCESSFUL": (
        exc.RunNotSuccessfulError,
        {"id": 7},
        ["run #7 did not complete successfully"],
        ["crunch run list"],
    ),
    "SUBMISSION_CUSTOM_CHECK_FAILED": (
        exc.SubmissionCustomCheckFailedError,
        {"checkMessage": "resources/ must hold model.pkl"},
        ["competition's own check refused", "resources/ must hold model.pkl"],
        ["Fix what it says", "push again"],
    ),
}

NEW_CODES = sorted(CASES)

# what a message says to do whatever the extras (the reasons to refuse a participant are extras)
ALWAYS_TODO = {code: todo for code, (_, _, _, todo) in CASES.items()}
ALWAYS_TODO["CANNOT_PARTICIPATE"] = ["Then run the command again"]
ALWAYS_TODO["SUBMISSION_CUSTOM_CHECK_FAILED"] = ["push again"]

# what no message may show: a Python value the hub sent in place of a text, or the raw code
LEAKS = ("None", "True", "False", "[", "{", "<object")


def test_the_fifteen_codes_are_known():
    assert set(NEW_CODES) <= KNOWN_CODES
    assert len(NEW_CODES) == 15


@pytest.mark.parametrize("code", NEW_CODES)
def test_message_tells_what_happened_and_what_to_do(code):
    cls, extra, shown, todo = CASES[code]
    error = answer(code, **extra)
    assert type(error) is cls
    assert isinstance(error, exc.ApiError) and isinstance(error, exc.CrunchError)
    assert error.code == code and error.status == 400 and error.extra == extra
    for part in shown + todo:
        assert part in error.message, (part, error.message)
    assert code not in error.message
    assert "\n" not in error.message


@pytest.mark.parametrize("status", [400, 403, 409, 500])
@pytest.mark.parametrize("code", NEW_CODES)
def test_status_does_not_change_the_mapping(code, status):
    cls, extra, _, todo = CASES[code]
    error = answer(code, status=status, **extra)
    assert type(error) is cls and error.status == status
    assert all(part in error.message for part in todo)


def _odd_bodies(extra: Dict[str, Any]) -> List[Tuple[str, Dict[str, Any]]]:
    """The body's extras absent, null, or of every other type."""
    odd_values = [None, [], ["x", 1], {}, {"a": 1}, True, False, -5, 3.5, "", "   ", "\n"]
    variants: List[Tuple[str, Dict[str, Any]]] = [("absent", {})]
    for index, value in enumerate(odd_values):
        variants.append((f"all-{index}", {key: value for key in extra}))
    for key in extra:  # one field odd, the others right
        variants.append((f"{key}-null", {**extra, key: None}))
        variants.append((f"{key}-list", {**extra, key: ["a", "b"]}))
    return variants


ODD = [(code, label, body) for code in NEW_CODES for label, body in _odd_bodies(CASES[code][1])]


@pytest.mark.parametrize("code,label,body", ODD, ids=[f"{c}-{label}" for c, label, _ in ODD])
def test_odd_extras_still_give_a_clean_message(code, label, body):
    cls = CASES[code][0]
    error = answer(code, message=None, **body)
    assert type(error) is cls and error.code == code
    assert error.extra == body
    for part in ALWAYS_TODO[code]:
        assert part in error.message, (label, error.message)
    for leak in LEAKS:
        assert leak not in error.message, (label, leak, error.message)
    assert "``" not in error.message and "#-" not in error.message and " ()" not in error.message


@pytest.mark.parametrize("message", [..., None, 12, ["a"], {"text": "x"}, "", "a\nmulti\nline\nsentence"])
@pytest.mark.parametrize("code", NEW_CODES)
def test_any_message_field_gives_one_line(code, message):
    cls, extra, _, todo = CASES[code]
    error = answer(code, message=message, **extra)
    assert type(error) is cls
    assert "\n" not in error.message
    assert all(part in error.message for part in todo)
    assert "<object" not in error.message


def test_absent_and_null_extras_say_less_but_still_say_what_to_do():
    assert answer("CRUNCH_NOT_PUBLISHED").message == (
        "these results are not published yet: the leaderboard is updated soon, try again later"
    )
    assert answer("RUN_NOT_SUCCESSFUL", id=None).message.startswith("the run did not complete successfully")
    assert answer("RUN_NOT_SUCCESSFUL", runId=9).message.startswith("run #9 did not")
    assert answer("MISSING_MAIN_FILE", mainFilePath=None).message.startswith("the main file is not in the submission")
    assert "too big:" in answer("PREDICTION_TOO_BIG", size="big", maximumSize=None).message
    only_max = answer("PREDICTION_TOO_BIG", size=None, maximumSize=1024 * 1024).message
    assert "(at most 1.0 MiB)" in only_max
    assert "without saying why" in answer("SUBMISSION_CUSTOM_CHECK_FAILED", message=None, checkMessage=None).message
    # the hub's message stands in for a missing check message
    assert "too many files" in answer("SUBMISSION_CUSTOM_CHECK_FAILED", message="too many files").message


def test_numbers_and_flags_as_the_public_client_reads_them():
    assert "crunch #12 " in answer("CRUNCH_NOT_PUBLISHED", crunchNumber="12").message
    assert "crunch #12 " in answer("CRUNCH_NOT_PUBLISHED", crunchNumber=12.0).message
    assert "#" not in answer("CRUNCH_NOT_PUBLISHED", crunchNumber="twelve").message
    assert "#" not in answer("CRUNCH_NOT_PUBLISHED", crunchNumber=True).message
    for odd in ("\u00b2", "1" * 5000, 10**400, -3, "-3", 1.5, float("nan"), "1e3"):  # a digit sign, too long, negative...
        assert "#" not in answer("CRUNCH_NOT_PUBLISHED", crunchNumber=odd).message
        assert "too big:" in answer("PREDICTION_TOO_BIG", size=odd, maximumSize=odd).message
    flags = answer("CANNOT_PARTICIPATE", isVerified="false", ruleAccepted="TRUE", hasAcceptedLegal=1).message
    assert "not verified yet" in flags
    assert "rules (" not in flags and "Terms of Use" not in flags  # "TRUE" is accepted; 1 is not a flag


def test_cannot_participate_lists_only_the_reasons_it_knows():
    allowed = {"hasProblem": False, "isVerified": True, "isRestricted": False, "ruleAccepted": True, "hasAcceptedLegal": True}
    only_rules = answer("CANNOT_PARTICIPATE", **{**allowed, "ruleAccepted": False}).message
    assert "not accepted the competition's rules" in only_rules
    for other in ("verification", "restricted", "Terms of Use"):
        assert other not in only_rules
    # every flag says yes, or none is known: the hub's own sentence and where to look
    for extra in (allowed, {}):
        unknown = answer("CANNOT_PARTICIPATE", message="account on hold", **extra).message
        assert "the hub says: account on hold" in unknown and "check on the website" in unknown
    assert "did not say why" in answer("CANNOT_PARTICIPATE", message=None).message


def test_fields_of_the_hub_cannot_reach_the_terminal_as_control_characters():
    error = answer("MISSING_MAIN_FILE", mainFilePath="ma\x1b[31min.py\x07")
    assert "\x1b" not in error.message and "\x07" not in error.message
    assert "`ma\\x1b[31min.py\\x07`" in error.message
    long = answer("RUNTIME_DEFINITION_NOT_FOUND", runtimeDefinitionName="x" * 5000).message
    assert len(long) < 500 and "xxx..." in long
    parse = answer("REQUIREMENT_PARSE_ERROR", message="line 3: foo===1\n  expected version\r\n").message
    assert "(line 3: foo===1; expected version)" in parse
    unknown = answer("SOMETHING_NEW", message="two\nlines\x1b[0m")
    assert unknown.message == "the hub answered SOMETHING_NEW: two; lines\\x1b[0m"


@pytest.mark.parametrize("alias,code", sorted(ALIASES.items()))
def test_other_names_of_the_same_errors(alias, code):
    cls = CASES[code][0]
    error = answer(alias)
    assert type(error) is cls and error.code == alias
    assert error.message == answer(code).message


def test_internal_error_without_json_is_still_the_generic_answer():
    error = error_from_response(500, b"<html>oops</html>", "text/html", "GET /v1/x")
    assert type(error) is exc.ApiError and "HTML page" in error.message


# -- e2e: the installed crunch against a local hub answering with the error -----------------------

PROJECT = "errcodes"


def _project(ws: Any) -> Tuple[str, str]:
    info = json.loads((ws / ".crunchdao" / "project.json").read_text())
    return str(info["userId"]), info["projectName"]


def _setup(hub: Any, folder: Any, *extra: str, project: str = PROJECT) -> Any:
    token = hub.token("demo", project, "alice")
    return hub.run("setup", "demo", project, "ws", "--token", token, "--size", "small", *extra, cwd=folder)


@pytest.fixture(scope="module")
def pushed(shared_hub: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A workspace whose project has one submission and one run."""
    folder = tmp_path_factory.mktemp("errcodes")
    done = _setup(shared_hub, folder, "--no-data")
    assert done.returncode == 0, done.output
    ws = folder / "ws"
    sent = shared_hub.run("push", "-m", "first", "--no-pip-freeze", cwd=ws)
    assert sent.returncode == 0, sent.output
    return ws


@pytest.fixture
def hub_errors(shared_hub: Any) -> Any:
    """``hub_errors(code, ...)`` sets the error fault; faults are cleared after the test."""

    def set_fault(code: str, *, status: int = 400, message: str = "", extra: Any = None, path: str = "", method: str = "") -> None:
        values: Dict[str, Any] = {"errorCode": code, "errorStatus": status, "errorExtra": extra or {}, "errorTimes": 1}
        if message:
            values["errorMessage"] = message
        shared_hub.faults(reset=True, path_prefix=path or None, method=method or None, **values)

    try:
        yield set_fault
    finally:
        shared_hub.reset_faults()


def _one_error_line(result: Any) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


# code -> (command, method, path under the project's calls ("" when the path is given whole), status)
E2E: Dict[str, Tuple[Tuple[str, ...], str, str, int]] = {
    "CANNOT_PARTICIPATE": (("push", "-m", "again", "--no-pip-freeze"), "POST", "v4:/submissions", 403),
    "CONFLICTING_MODEL_DIRECTORY": (("push", "-m", "again", "--no-pip-freeze"), "POST", "v4:/submissions", 400),
    "INVALID_MAIN_FILE": (("push", "-m", "again", "--no-pip-freeze"), "POST", "v4:/submissions", 400),
    "MISSING_MAIN_FILE": (("push", "-m", "again", "--no-pip-freeze"), "POST", "v4:/submissions", 400),
    "PREDICTION_SUBMISSION_NOT_ALLOWED": (("push", "-m", "again", "--no-pip-freeze"), "POST", "v4:/submissions", 400),
    "PREDICTION_TOO_BIG": (("push", "-m", "again", "--no-pip-freeze"), "POST", "v4:/submissions", 400),
    "REQUIREMENT_PARSE_ERROR": (("push", "-m", "again", "--no-pip-freeze"), "POST", "v4:/submissions", 400),
    "SUBMISSION_CUSTOM_CHECK_FAILED": (("push", "-m", "again", "--no-pip-freeze"), "POST", "v4:/submissions", 400),
    "CRUNCH_NOT_PUBLISHED": (("leaderboard",), "GET", "/v3/competitions/demo/leaderboards/", 404),
    "ENCRYPTED_SUBMISSION": (("submission", "checkout", "1"), "GET", "v4:/clone", 400),
    "INTERNAL_SERVER": (("status",), "GET", "/v", 500),
    "INVALID_RUN_TOKEN": (("run", "show", "1"), "GET", "v3:/runs", 401),
    "PENDING_RUNTIME_ACCESS_REQUEST": (("run", "create"), "POST", "v3:/runs", 400),
    "RUNTIME_DEFINITION_NOT_FOUND": (("run", "create", "--runtime", "cpu"), "POST", "v3:/runs", 400),
    "RUN_NOT_SUCCESSFUL": (("run", "logs", "1"), "GET", "v3:/runs", 400),
}


def _path(where: str, ws: Any) -> str:
    if ":" not in where:
        return where
    version, rest = where.split(":", 1)
    user_id, project = _project(ws)
    return f"/{version}/competitions/demo/projects/{user_id}/{project}{rest}"


def test_every_new_code_has_an_e2e_case():
    assert sorted(E2E) == NEW_CODES


@pytest.mark.e2e
@pytest.mark.parametrize("code", NEW_CODES)
def test_crunch_prints_the_message_of_the_hub_error(shared_hub, pushed, hub_errors, code):
    cls, extra, shown, todo = CASES[code]
    command, method, where, status = E2E[code]
    before = sorted(p.relative_to(pushed) for p in pushed.rglob("*") if ".crunchdao" not in p.parts)
    submissions = len(shared_hub.client(push_token=(pushed / ".crunchdao" / "token").read_text().strip()).list_submissions("demo", *_project(pushed)))
    hub_errors(code, status=status, message="the platform's own sentence", extra=extra, path=_path(where, pushed), method=method)
    errors_before = shared_hub.stats().get("errorAnswers", 0)
    result = shared_hub.run(*command, cwd=pushed)
    assert result.returncode == 1, result.output
    line = _one_error_line(result)
    # checkout words the encrypted answer for the submission it was asked for
    expected = ["submission #1 is encrypted", "your own copy", "nothing was written"] if code == "ENCRYPTED_SUBMISSION" else shown + todo
    for part in expected:
        assert part in line, (part, line)
    assert shared_hub.stats()["errorAnswers"] == errors_before + 1  # the answer was met once, not asked again
    after = sorted(p.relative_to(pushed) for p in pushed.rglob("*") if ".crunchdao" not in p.parts)
    assert after == before  # nothing written in the workspace
    token = (pushed / ".crunchdao" / "token").read_text().strip()
    assert token not in result.output
    assert len(shared_hub.client(push_token=token).list_submissions("demo", *_project(pushed))) == submissions


ENCRYPTED_LINE = "is encrypted and cannot be fetched: starting from the competition's quickstarter"


@pytest.mark.e2e
@pytest.mark.parametrize("choice", ["latest", "1"])
def test_setup_carries_on_after_an_encrypted_submission(shared_hub, pushed, hub_errors, tmp_path, choice):
    user_id, project = _project(pushed)
    hub_errors("ENCRYPTED_SUBMISSION", extra={}, path=f"/v4/competitions/demo/projects/{user_id}/{project}/clone", method="GET")
    result = _setup(shared_hub, tmp_path, "--submission", choice, project=project)
    assert result.returncode == 0, result.output
    said = [line for line in result.stdout.splitlines() if "encrypted" in line]
    which = "your latest submission" if choice == "latest" else "submission #1"
    assert said == [f"{which} {ENCRYPTED_LINE}"], result.output
    assert "error:" not in result.output and "Traceback" not in result.output
    assert shared_hub.stats()["errorAnswers"] >= 1 and shared_hub.call("GET", "/_admin/faults")["errorCode"] is None
    ws = tmp_path / "ws"
    # the rest of the setup: metadata, push token, the quickstarter's code, the data, the next steps
    info = json.loads((ws / ".crunchdao" / "project.json").read_text())
    assert info["projectName"] == project and str(info["userId"]) == user_id
    token = (ws / ".crunchdao" / "token").read_text().strip()
    assert token and token not in result.output
    assert "code: the quickstarter" in result.stdout
    assert (ws / "main.py").is_file() and "def infer" in (ws / "main.py").read_text()
    release = shared_hub.client().get_data_release("demo", size_variant="SMALL")
    for data_file in release.data_files.values():
        assert (ws / "data" / data_file.name).stat().st_size == data_file.size
    assert "next steps:" in result.stdout
    # the workspace works: its push token is accepted
    assert shared_hub.run("status", cwd=ws).returncode == 0


@pytest.mark.e2e
def test_the_public_client_also_carries_on(shared_hub, pushed, hub_errors, tmp_path):
    """crunch-cli 13.0.1 meets the same answer: one line, the data, exit 0."""
    import os
    import subprocess

    from peers import crunch_cli_13

    user_id, project = _project(pushed)
    competition_id = shared_hub.client().get_competition("demo").id  # the public client names it by its id
    hub_errors("ENCRYPTED_SUBMISSION", extra={}, path=f"/v4/competitions/{competition_id}/projects/{user_id}/{project}/clone", method="GET")
    env = {k: v for k, v in os.environ.items() if k not in ("API_BASE_URL", "WEB_BASE_URL", "PYTHONPATH", "PYTHONHOME")}
    token = shared_hub.token("demo", project, "alice")
    peer = subprocess.run(
        [str(crunch_cli_13()), "--api-base-url", shared_hub.url, "setup", "demo", project, "--token", token, "--size", "small"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180,
    )
    assert peer.returncode == 0, peer.stdout + peer.stderr
    assert "setup: you appear to have submitted an encrypted submission" in peer.stdout
    assert shared_hub.call("GET", "/_admin/faults")["errorCode"] is None  # the answer was met
    assert (tmp_path / f"demo-{project}" / "data" / "X_train.parquet").is_file()


@pytest.mark.e2e
def test_checkout_of_an_encrypted_submission_writes_nothing(shared_hub, pushed, hub_errors):
    user_id, project = _project(pushed)
    main = pushed / "main.py"
    original = main.read_bytes()
    main.write_text("# my local changes\n")
    try:
        for args in (("1",), ("@last", "main.py"), ("1", ".")):
            hub_errors("ENCRYPTED_SUBMISSION", extra={}, path=f"/v4/competitions/demo/projects/{user_id}/{project}/clone", method="GET")
            result = shared_hub.run("submission", "checkout", *args, cwd=pushed)
            assert result.returncode == 1, result.output
            line = _one_error_line(result)
            assert line == (
                "error: submission #1 is encrypted and cannot be checked out: the hub cannot hand out its files "
                "(use your own copy of the code you pushed); nothing was written"
            )
            assert "checked out from" not in result.stdout
            assert main.read_text() == "# my local changes\n"
            assert not list((pushed / ".crunchdao").glob("checkout-*"))
        # without the fault the same checkout works: the refusal came from the answer
        done = shared_hub.run("submission", "checkout", "1", "main.py", cwd=pushed)
        assert done.returncode == 0, done.output
        assert main.read_bytes() != b"# my local changes\n"
    finally:
        main.write_bytes(original)
