"""``crunch doctor`` through the installed ``crunch``, one workspace per kind of problem: each is
found, named with its file and line where it has one, given a fix, and blocks (exit code 1) or
not as its kind says; a clean workspace exits 0; ``--json`` gives the same findings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Dict, List

import pytest
from conftest import Hub
from test_unstructured_e2e import FIXTURES, host
from test_unstructured_e2e import setup as setup_unstructured

pytestmark = pytest.mark.e2e


def workspace(hub: Hub, folder: Path, project: str) -> Path:
    done = hub.run("setup", "demo", project, "ws", "--token", hub.token("demo", project), "--size", "small", cwd=folder)
    assert done.returncode == 0, done.output
    return folder / "ws"


def doctor(hub: Hub, ws: Path, *extra: str, env: Any = None) -> Dict[str, Any]:
    done = hub.run("doctor", "--json", *extra, cwd=ws, env=env)
    answer = json.loads(done.stdout)
    answer["returncode"] = done.returncode
    assert done.returncode == (0 if answer["ok"] else 1), done.output
    return answer


def of(answer: Dict[str, Any], check: str, severity: str = "error") -> List[Dict[str, Any]]:
    return [f for f in answer["findings"] if f["check"] == check and f["severity"] == severity]


@pytest.fixture(scope="module")
def clean(shared_hub: Hub, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return workspace(shared_hub, tmp_path_factory.mktemp("doctor-clean"), "clean")


def copy(ws: Path, folder: Path) -> Path:
    target = folder / "ws"
    shutil.copytree(ws, target, symlinks=True)
    return target


def test_a_clean_workspace_passes(shared_hub: Hub, clean: Path) -> None:
    answer = doctor(shared_hub, clean, "--offline")
    assert answer["returncode"] == 0 and answer["ok"] is True
    assert not [f for f in answer["findings"] if f["severity"] == "error"], answer
    text = shared_hub.run("doctor", "--offline", cwd=clean)
    assert text.returncode == 0 and "nothing the cloud would object to" in text.stdout, text.output


def test_a_library_outside_the_whitelist(shared_hub: Hub, clean: Path, tmp_path: Path) -> None:
    ws = copy(clean, tmp_path)
    (ws / "requirements.txt").write_text("pandas\nsurely-not-whitelisted-lib\n")
    (ws / "main.py").write_text("import surely_not_a_module\n" + (ws / "main.py").read_text())
    answer = doctor(shared_hub, ws, "--offline")
    assert answer["returncode"] == 1
    found = of(answer, "whitelist")
    requirement = [f for f in found if "surely-not-whitelisted-lib" in f["message"]]
    assert requirement and requirement[0]["file"] == "requirements.txt" and "crunch whitelist" in requirement[0]["fix"]
    imported = [f for f in found if "surely_not_a_module" in f["message"]]
    assert imported and imported[0]["file"] == "main.py" and imported[0]["line"] == 1, found
    text = shared_hub.run("doctor", "--offline", cwd=ws)
    assert text.returncode == 1 and "fix: " in text.stdout and "[whitelist] requirements.txt:" in text.stdout, text.output


def test_a_requirement_that_does_not_install(shared_hub: Hub, clean: Path, tmp_path: Path) -> None:
    ws = copy(clean, tmp_path)
    (ws / "requirements.txt").write_text("pandas==0.0.0.404\n")
    empty_index = tmp_path / "index"
    empty_index.mkdir()
    env = shared_hub.env(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(empty_index))
    answer = doctor(shared_hub, ws, env=env)
    found = of(answer, "install")
    assert answer["returncode"] == 1 and found and "pandas" in found[0]["message"] and found[0]["fix"], answer
    # offline (or asked not to try): it says it could not check, and does not block
    skipped = doctor(shared_hub, ws, "--offline", env=env)
    assert skipped["returncode"] == 0 and of(skipped, "install", "info")


def test_files_read_outside_the_workspace(shared_hub: Hub, clean: Path, tmp_path: Path) -> None:
    ws = copy(clean, tmp_path)
    main = ws / "main.py"
    main.write_text(main.read_text() + f'\n\nEXTRA = "{ws}/data/extra.csv"\nOTHER = "../shared/features.parquet"\nSCRATCH = "/tmp/x"\n')
    answer = doctor(shared_hub, ws, "--offline")
    found = of(answer, "paths")
    assert answer["returncode"] == 1
    assert sorted(f["message"].split("`")[1] for f in found) == ["../shared/features.parquet", f"{ws}/data/extra.csv"], found
    assert all(f["file"] == "main.py" and f["line"] and f["fix"] for f in found)


def test_a_model_directory_over_the_limit(shared_hub: Hub, clean: Path, tmp_path: Path) -> None:
    ws = copy(clean, tmp_path)
    (ws / "resources").mkdir(exist_ok=True)
    (ws / "resources" / "big.bin").write_bytes(b"\0" * 5000)
    answer = doctor(shared_hub, ws, "--offline", env=shared_hub.env(CRUNCH_MAX_MODEL_SIZE="4000"))
    found = of(answer, "size")
    assert answer["returncode"] == 1 and found and "resources/big.bin" in found[0]["message"] and "model files" in found[0]["message"]


def test_the_notebook_line_left_in_the_code(shared_hub: Hub, clean: Path, tmp_path: Path) -> None:
    ws = copy(clean, tmp_path)
    main = ws / "main.py"
    main.write_text("import crunch\ncrunch_tools = crunch.load_notebook()\n" + main.read_text())
    answer = doctor(shared_hub, ws, "--offline")
    found = of(answer, "notebook")
    assert answer["returncode"] == 1 and len(found) == 1 and found[0]["line"] == 2 and "load_notebook" in found[0]["message"]


def test_the_runner_requirements_and_their_versions(shared_hub: Hub, tmp_path: Path) -> None:
    host(shared_hub, "generator-inference", tmp_path)
    ws = setup_unstructured(shared_hub, "generator-inference", "doctor", tmp_path, FIXTURES / "generator-inference" / "main.py")
    answer = doctor(shared_hub, ws, "--offline")
    found = of(answer, "runner", "info")
    import numpy
    import pandas

    assert found and f"numpy {numpy.__version__}" in found[0]["message"] and f"pandas {pandas.__version__}" in found[0]["message"], answer
    runner = ws / ".crunchdao" / "code" / "runner.py"
    runner.write_text("import surely_not_installed_module\n" + runner.read_text())
    missing = of(doctor(shared_hub, ws, "--offline"), "runner", "warning")
    assert missing and "surely_not_installed_module" in missing[0]["message"] and missing[0]["line"] == 1


def test_outside_a_workspace_one_error_line(crunch: Any, tmp_path: Path) -> None:
    done = crunch("doctor", cwd=tmp_path)
    assert done.returncode == 1 and done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1
