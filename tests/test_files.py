"""File selection of a push: hidden rules, nested .gitignore files, the model directory, links."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from crunch import exceptions as exc
from crunch.code.files import check_limits, check_model_directory, list_code_files, list_model_files


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


# -- .crunchdao/ is never selected, whatever the path that reaches it --------------------------


def selected_everything(tree, model_directory="resources"):
    left_out: list = []
    code = list_code_files(tree, model_directory, colab=False, left_out=left_out)
    model = list_model_files(tree, model_directory, left_out=left_out)
    return [f.source for f in code + model], left_out


def assert_no_secret(sources, tree):
    token = (tree / ".crunchdao" / "token").read_bytes()
    for source in sources:
        assert Path(source).read_bytes() != token, source
        assert ".crunchdao" not in Path(os.path.realpath(source)).parts, source


@pytest.mark.parametrize(
    "model_directory",
    [".crunchdao", ".crunchdao/", "./.crunchdao", ".crunchdao/sub", ".CrunchDAO", ".crunchdao.previous-12", "data", "data/models", "DATA", ".crunch-hub"],
)
def test_model_directory_in_a_reserved_folder_is_refused(tree, model_directory):
    (tree / ".crunchdao" / "sub").mkdir()
    with pytest.raises(exc.SubmissionError) as info:
        check_model_directory(tree, model_directory)
    assert "give a folder of your own" in str(info.value)
    with pytest.raises(exc.SubmissionError):
        list_model_files(tree, model_directory)


@pytest.mark.parametrize("target", [".crunchdao", "data", ".crunchdao/sub"])
def test_model_directory_linked_into_a_reserved_folder_is_refused(tree, target):
    (tree / ".crunchdao" / "sub").mkdir()
    os.symlink(tree / target, tree / "weights")
    with pytest.raises(exc.SubmissionError) as info:
        check_model_directory(tree, "weights")
    assert "leads into" in str(info.value)


def test_model_directory_linked_outside_is_refused(tree, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tree / "weights")
    with pytest.raises(exc.SubmissionError) as info:
        check_model_directory(tree, "weights")
    assert "outside the workspace" in str(info.value)


def test_links_and_hard_links_to_crunchdao_are_left_out(tree):
    dot = tree / ".crunchdao"
    os.symlink(dot / "token", tree / "resources" / "token-link")  # a link to the file, in the model directory
    os.symlink(dot, tree / "resources" / "dot-link")  # a link to the folder
    os.symlink(dot / "token", tree / "helpers" / "token.txt")  # in the code
    os.symlink(dot, tree / "linked-dot")
    os.link(dot / "token", tree / "helpers" / "hard-token")  # a hard link: the same file by another name
    os.link(dot / "project.json", tree / "resources" / "hard-project.json")
    (tree / "resources" / "up").symlink_to(tree)  # a link to a folder holding .crunchdao/
    sources, left_out = selected_everything(tree)
    assert_no_secret(sources, tree)
    assert {"helpers/token.txt", "linked-dot", "helpers/hard-token", "resources/token-link", "resources/dot-link", "resources/hard-project.json"} <= set(left_out)
    assert "helpers/util.py" in paths(list_code_files(tree, "resources", colab=False))


def test_nested_crunchdao_folders_are_never_selected(tree):
    build(tree, {"sub/.crunchdao/token": "nested secret", "resources/copy/.crunchdao/token": "nested secret", "sub/.CRUNCHDAO.previous-3/token": "x"})
    names = paths(list_code_files(tree, "resources", colab=False)) + paths(list_model_files(tree, "resources"))
    assert not [name for name in names if ".crunchdao" in name.lower()]


def test_a_model_directory_link_to_a_folder_holding_crunchdao_is_refused(tree):
    os.symlink(tree, tree / "everything")
    with pytest.raises(exc.SubmissionError):
        check_model_directory(tree, "everything")


# -- .gitignore lines as git reads them -------------------------------------------------------

GIT_PATTERNS = [
    "[z-a]", "!", "\\", "foo\\", "a[", "[]", "[!]", "[!z-a]x", "*.[z-a]", "[a-cz-a]", "[]z-a]", "[--a]", "[b-a]*",
    "x[z-a]y", "!x", "\\!x", "[[:alpha:]]", "[[:digit:]z-a]", "**/[y-b]", "a/**/[z-a]", "[[:upper:]]*",
    "[", "[[:digit:]", "a[b-a", "[\\]]", "\\[z-a]", "[a\\-z]", "[\\^-]", "[!\\^]", "[\\]-a]", "[\\\\]", "[a-c\\-]",
    "[-a]", "[a-]", "[!]a]",
]
GIT_NAMES = [
    "z", "a", "b", "y", "x", "zx", "ax", "bx", "f.z", "f.a", "c", "-", "]", "[]", "!", "!x", "a[", "foo", "xzy", "xay",
    "1", "Q", "Qx", "d/z", "a/b/z", "a/z", "q/y", "q/b", "[", "[z-a]", "\\", "^",
]


def git_ignored(repo: Path, pattern: str) -> set:
    """The names of GIT_NAMES that `git check-ignore` says ``pattern`` ignores (NUL-separated
    input and output: names are never quoted)."""
    import subprocess

    (repo / ".gitignore").write_text(pattern + "\n")
    out = subprocess.run(
        ["git", "check-ignore", "--no-index", "--stdin", "-z", "-v", "-n"],
        cwd=repo, input="\0".join(GIT_NAMES) + "\0", capture_output=True, text=True, check=False,
    ).stdout
    fields = out.split("\0")
    ignored = set()
    for index in range(0, len(fields) - 3, 4):
        source, _line, matched, name = fields[index : index + 4]
        if source and not matched.startswith("!"):
            ignored.add(name)
    return ignored


def test_gitignore_lines_match_what_git_matches(tmp_path):
    """Lines git skips or reads its own way (reversed ranges, a lone !, a trailing backslash,
    character classes) select exactly what `git check-ignore` says, and never fail."""
    import subprocess

    from crunch.code.files import _spec

    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    differences = []
    for pattern in GIT_PATTERNS:
        expected = git_ignored(repo, pattern)
        spec = _spec([pattern])
        ours = {name for name in GIT_NAMES if spec.check_file(name).include}
        if ours != expected:
            differences.append((pattern, sorted(ours ^ expected)))
    assert differences == []
    assert git_ignored(repo, "[z-a]") == {"z", "d/z", "a/b/z", "a/z"}  # the table is not trivially empty


def test_a_gitignore_with_lines_git_skips_still_applies_its_other_lines(tree):
    (tree / ".gitignore").write_text("[z-a]\n!\n\\\n*.log\n[m-a]ain.py\n")
    selected = paths(list_code_files(tree, "resources", colab=False))
    assert "debug.log" not in selected and "main.py" not in selected
    assert "helpers/util.py" in selected


# -- names the hub refuses --------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, reason",
    [("a\\b.py", "backslash"), ("tab\there.py", "control character"), ("new\nline.py", "control character"), ("x\x1b[31m.py", "control character"), ("bad\udcff.py", "UTF-8")],
)
def test_names_the_hub_refuses(name, reason):
    from crunch.submission.names import check_names, problem

    assert reason in problem(name)
    with pytest.raises(exc.SubmissionError) as info:
        check_names(["main.py", name], [])
    message = str(info.value)
    assert reason in message and "\n" not in message and "\t" not in message and "\x1b" not in message
    assert problem("dir/é ok (1).py") is None


def test_paths_landing_in_crunchdao(tree):
    from crunch.project.modeldir import lands_in_secret_folder

    os.symlink(tree / ".crunchdao", tree / "weights")
    for relative in (".crunchdao/token", ".CrunchDAO/token", ".crunchdao.previous-1/x", "weights/token"):
        assert lands_in_secret_folder(tree, relative), relative
    for relative in ("main.py", "resources/model.bin", "crunchdao/x", "new/folder/file.txt"):
        assert not lands_in_secret_folder(tree, relative), relative


@pytest.mark.parametrize("bad", ["a\tb", "a\x00b", "x\udcff", "new\nline"])
def test_model_directory_names_with_control_characters_are_refused(tree, bad):
    with pytest.raises(exc.SubmissionError) as info:
        check_model_directory(tree, bad)
    assert "control character" in str(info.value) and "\n" not in str(info.value) and "\x00" not in str(info.value)
