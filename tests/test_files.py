"""File selection of a push: hidden rules, nested .gitignore files, the model directory, links."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from crunch import exceptions as exc
from crunch.files import check_limits, check_model_directory, list_code_files, list_model_files


def build(root: Path, files: dict) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)


TREE = {
    "main.py": "def train(): pass\n",
    "requirements.txt": "pandas\n",
    "helpers/util.py": "x = 1\n",
    "helpers/__pycache__/util.cpython-311.pyc": "bytecode",
    "helpers/old.pyc": "bytecode",
    ".git/HEAD": "ref: refs/heads/main\n",
    ".crunchdao/project.json": "{}",
    ".crunchdao/token": "secret",
    ".ipynb_checkpoints/main-checkpoint.ipynb": "{}",
    ".env": "KEY=1",
    "sub/.env": "KEY=2",
    ".envrc": "kept: not .env",
    "__MACOSX/._main.py": "mac",
    ".DS_Store": "mac",
    "sub/.DS_Store": "mac",
    "data/X_train.parquet": "data",
    "sub/data/kept.csv": "a nested data folder is code",
    "prediction/prediction.parquet": "pred",
    "resources/model.bin": "model",
    "resources/.DS_Store": "mac",
    "resources/__pycache__/x.pyc": "bytecode",
    "resources/nested/weights.pt": "weights",
    "resources/.gitignore": "*.pt\n",
    "sub/resources/kept.txt": "only /resources/ at the root is the model directory",
    ".config/colab.json": "colab",
    "sample_data/mnist.csv": "colab",
    # .gitignore files: root and nested, with negations and anchors
    ".gitignore": "*.log\n!keep.log\n/build/\nsecrets/\nnotes.txt\n",
    "debug.log": "log",
    "keep.log": "kept by negation",
    "build/out.bin": "build",
    "sub/build/kept.bin": "only /build/ at the root is ignored",
    "secrets/a.txt": "x",
    "deep/secrets/b.txt": "x",
    "notes.txt": "ignored",
    "deep/.gitignore": "*.tmp\n!important.log\n/local.txt\n",
    "deep/a.tmp": "ignored by deep/.gitignore",
    "deep/important.log": "re-included by the deeper .gitignore",
    "deep/other.log": "ignored by the root .gitignore",
    "deep/local.txt": "anchored to deep/",
    "deep/inner/local.txt": "not anchored here",
    "deep/inner/x.tmp": "ignored from above",
    "other/a.tmp": "deep/.gitignore does not apply here",
}


@pytest.fixture()
def tree(tmp_path):
    root = tmp_path / "ws"
    build(root, TREE)
    return root


def paths(files):
    return [f.path for f in files]


def test_code_files_follow_hidden_rules_and_every_gitignore(tree):
    selected = paths(list_code_files(tree, "resources", colab=False))
    assert selected == sorted(
        [
            ".envrc",
            ".gitignore",
            ".config/colab.json",
            "deep/.gitignore",
            "deep/important.log",
            "deep/inner/local.txt",
            "helpers/util.py",
            "keep.log",
            "main.py",
            "other/a.tmp",
            "requirements.txt",
            "sample_data/mnist.csv",
            "sub/build/kept.bin",
            "sub/data/kept.csv",
            "sub/resources/kept.txt",
        ]
    )


def test_sizes_are_reported(tree):
    files = {f.path: f for f in list_code_files(tree, "resources", colab=False)}
    assert files["main.py"].size == len(TREE["main.py"])
    assert files["main.py"].source == tree / "main.py"


def test_colab_folders_are_left_out_in_colab(tree, monkeypatch):
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab-1")
    selected = paths(list_code_files(tree, "resources"))
    assert ".config/colab.json" not in selected and "sample_data/mnist.csv" not in selected
    monkeypatch.delenv("COLAB_RELEASE_TAG")
    assert "sample_data/mnist.csv" in paths(list_code_files(tree, "resources"))


def test_colab_detected_from_its_module(tree, monkeypatch):
    import sys
    import types

    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert "sample_data/mnist.csv" not in paths(list_code_files(tree, "resources"))


def test_model_files_keep_everything_but_hidden_files(tree):
    assert paths(list_model_files(tree, "resources")) == [".gitignore", "model.bin", "nested/weights.pt"]


def test_other_model_directory(tree):
    build(tree, {"models/v1/m.bin": "m"})
    code = paths(list_code_files(tree, "models/v1", colab=False))
    assert "resources/model.bin" in code and "models/v1/m.bin" not in code
    assert paths(list_model_files(tree, "models/v1")) == ["m.bin"]
    assert paths(list_model_files(tree, "missing")) == []


def test_bad_model_directory(tree):
    for bad in ("", ".", "../x", "/abs"):
        with pytest.raises(exc.SubmissionError):
            check_model_directory(tree, bad)
    assert check_model_directory(tree, "./models//v1/") == "models/v1"


def test_symlink_inside_workspace_is_followed(tree):
    os.symlink(tree / "helpers" / "util.py", tree / "link.py")
    os.symlink(tree / "helpers", tree / "linked_dir")
    selected = paths(list_code_files(tree, "resources", colab=False))
    assert "link.py" in selected
    assert "helpers/util.py" in selected


def test_symlink_outside_workspace_is_refused_naming_it(tree, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    os.symlink(outside, tree / "helpers" / "leak.txt")
    with pytest.raises(exc.UnsafePathError) as info:
        list_code_files(tree, "resources", colab=False)
    assert "helpers/leak.txt" in str(info.value)


def test_symlinked_folder_outside_is_refused_in_model_directory(tree, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tree / "resources" / "ext")
    with pytest.raises(exc.UnsafePathError) as info:
        list_model_files(tree, "resources")
    assert "resources/ext" in str(info.value)


def test_ignored_symlink_outside_is_fine(tree, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    os.symlink(outside, tree / "data" / "link.parquet")
    assert "main.py" in paths(list_code_files(tree, "resources", colab=False))


def test_symlink_loop_terminates(tree):
    os.symlink(tree / "deep", tree / "deep" / "inner" / "loop")
    list_code_files(tree, "resources", colab=False)


def test_broken_link_is_named(tree):
    os.symlink(tree / "nowhere", tree / "dangling")
    with pytest.raises(exc.SubmissionError) as info:
        list_code_files(tree, "resources", colab=False)
    assert "dangling" in str(info.value)


def test_excluded_paths(tree):
    assert "main.py" not in paths(list_code_files(tree, "resources", colab=False, exclude=[tree / "main.py"]))


def test_limits_name_the_largest_files(tree, monkeypatch):
    code = list_code_files(tree, "resources", colab=False)
    model = list_model_files(tree, "resources")
    check_limits(code, model, "resources")
    monkeypatch.setenv("CRUNCH_MAX_MODEL_SIZE", "10")
    with pytest.raises(exc.SubmissionError) as info:
        check_limits(code, model, "resources")
    assert "model files" in str(info.value) and "resources/nested/weights.pt" in str(info.value)
    monkeypatch.setenv("CRUNCH_MAX_CODE_SIZE", "20")
    with pytest.raises(exc.SubmissionError) as info:
        check_limits(code, model, "resources")
    assert "code files" in str(info.value) and "sub/resources/kept.txt" in str(info.value)
    monkeypatch.setenv("CRUNCH_MAX_CODE_SIZE", "lots")
    with pytest.raises(exc.SubmissionError):
        check_limits(code, model, "resources")
