"""Pinning requirements.txt to the installed versions."""

from __future__ import annotations

import pytest

from crunch import exceptions as exc
from crunch.code.freeze import pin_requirements
from crunch.core.packages import installed_version

VERSIONS = {"pandas": "2.1.4", "scikit-learn": "1.3.2", "requests": "2.31.0", "numpy": "1.26.2", "torch": "2.1.0+cu118"}


def fake_version(name: str):
    return VERSIONS.get(name.lower().replace("_", "-"))


def pin(text: str):
    return pin_requirements(text, version_of=fake_version)


def test_pins_requirements_without_a_version():
    result = pin("pandas\nnumpy>=1.20\nscikit_learn\n")
    assert result.text == "pandas==2.1.4\nnumpy>=1.20\nscikit_learn==1.3.2\n"
    assert result.pinned == [("pandas", "2.1.4"), ("scikit_learn", "1.3.2")]
    assert result.not_installed == []
    assert result.changed


def test_keeps_comments_blank_lines_and_options():
    text = (
        "# my requirements\n"
        "\n"
        "-r base.txt\n"
        "--index-url https://example.org/simple\n"
        "-e git+https://github.com/x/y.git#egg=y\n"
        "pandas  # data frames\n"
        "   \n"
    )
    result = pin(text)
    assert result.text.splitlines() == [
        "# my requirements",
        "",
        "-r base.txt",
        "--index-url https://example.org/simple",
        "-e git+https://github.com/x/y.git#egg=y",
        "pandas==2.1.4  # data frames",
        "   ",
    ]


def test_extras_and_markers_are_kept():
    result = pin('requests[socks,security] ; python_version >= "3.8"\n')
    assert result.text == 'requests[security,socks]==2.31.0; python_version >= "3.8"\n'


def test_urls_paths_and_pinned_are_left_alone():
    text = (
        "torch @ https://download.pytorch.org/whl/torch.whl\n"
        "./local/package\n"
        "wheels/thing-1.0-py3-none-any.whl\n"
        "https://example.org/pkg.tar.gz\n"
        "numpy==1.0 --hash=sha256:abcd\n"
    )
    result = pin(text)
    assert result.text == text
    assert result.pinned == []
    assert not result.changed


def test_not_installed_stays_unpinned():
    result = pin("pandas\nnot-a-real-package\n")
    assert result.text == "pandas==2.1.4\nnot-a-real-package\n"
    assert result.not_installed == ["not-a-real-package"]


def test_per_requirement_options_follow_the_pin():
    result = pin("pandas --config-settings=x=y\n")
    assert result.text == "pandas==2.1.4 --config-settings=x=y\n"


def test_line_continuation_and_no_trailing_newline():
    result = pin("pan\\\ndas\nnumpy")
    assert result.text == "pandas==2.1.4\nnumpy==1.26.2"


def test_local_versions_are_pinned_exactly():
    assert pin("torch\n").text == "torch==2.1.0+cu118\n"


def test_crlf_line_endings():
    assert pin("pandas\r\n# c\r\nnumpy\r\n").text == "pandas==2.1.4\r\n# c\r\nnumpy==1.26.2\r\n"


@pytest.mark.parametrize("line", ["pandas>>1", "pan das", "numpy[", "foo==1.0 ; python_version >>> '3'"])
def test_a_line_that_does_not_parse_is_named(line):
    with pytest.raises(exc.SubmissionError) as info:
        pin(f"# header\npandas\n{line}\n")
    assert "requirements.txt line 3" in str(info.value)
    assert repr(line) in str(info.value)


def test_real_installed_versions():
    result = pin_requirements("click\nrequests\n")
    assert result.pinned == [("click", installed_version("click")), ("requests", installed_version("requests"))]


def test_installed_versions_match_importlib_metadata():
    from importlib import metadata

    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            assert installed_version(name) is not None
    assert installed_version("Click") == metadata.version("click")
    assert installed_version("no-such-distribution-here") is None


def test_requirement_names_reads_the_file_as_the_pinning_does():
    from crunch.code.freeze import requirement_names

    text = (
        "# comment\n"
        "pandas  # inline comment\n"
        "scikit-learn[all]>=1.2 ; python_version >= '3.9'\n"
        "numpy \\\n"
        "  ==2.0\n"
        "-r other.txt\n"
        "--index-url https://example.org/simple\n"
        "./local/pkg\n"
        "https://example.org/x.whl\n"
        "torch --hash=sha256:abc\n"
        "mylib @ https://example.org/mylib-1.0.tar.gz\n"
        "other @ git+https://example.org/other.git --no-deps\n"
        "not valid!!\n"
    )
    names, unreadable = requirement_names(text)
    assert names == ["pandas", "scikit-learn", "numpy", "torch", "mylib", "other"]
    assert unreadable == ["not valid!!"]


def test_crunch_itself_is_never_pinned():
    from crunch.convert import convert_notebook

    result = pin_requirements("crunch-cli\ncrunch\nCrunch_CLI[extra]\npandas\n", version_of=lambda name: "9.9")
    assert result.text == "crunch-cli\ncrunch\nCrunch_CLI[extra]\npandas==9.9\n"
    notebook = {"cells": [{"cell_type": "code", "source": "import crunch\nimport pandas", "metadata": {}, "outputs": [], "execution_count": None}],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    lines = convert_notebook(notebook, whitelist=None, freeze=True).requirements_txt.splitlines()
    assert "crunch-cli" in lines and not any(line.startswith("crunch-cli==") for line in lines)
    assert any(line.startswith("pandas==") for line in lines)
