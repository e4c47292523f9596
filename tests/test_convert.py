"""The rules of docs/convert.md, one by one, with hand-written expected outputs."""

from __future__ import annotations

import ast
import sys

import pytest
from convert_helpers import code, markdown, notebook

from crunch.api.models import Library
from crunch.convert import convert_notebook
from crunch.convert.cells import source_of
from crunch.exceptions import ConversionError


def script(*cells, **kwargs) -> str:
    return convert_notebook(notebook(*cells), whitelist=[], **kwargs).script


# -- the example of the specification ---------------------------------------------------------


def test_spec_example():
    assert script("x = 1\ndef f():\n    return x", "%time f()\nimport os  # == 1.0") == (
        "#x = 1\n"
        "def f():\n"
        "    return x\n"
        "\n"
        "\n"
        "#%time f()\n"
        "import os  # == 1.0\n"
    )


# -- sources and Jupyter lines ----------------------------------------------------------------


def test_source_as_list_of_lines_or_string():
    assert script(code(["import os\n", "x = 1\n"])) == "import os\n#x = 1\n"
    assert script(code("import os\r\nx = 1")) == "import os\n#x = 1\n"


@pytest.mark.parametrize(
    "line, expected",
    [
        ("!pip install x", "#!pip install x"),
        ("%matplotlib inline", "#%matplotlib inline"),
        ("pip install x", "#pip install x"),
        ("pip3 install x", "#pip3 install x"),
        ("%%time", "#%%time"),
    ],
)
def test_jupyter_lines_at_column_0(line, expected):
    assert source_of(line) == expected
    assert script(line) == expected + "\n"


def test_jupyter_lines_indented_keep_the_cell_parsing():
    assert source_of("def f():\n    !ls\n    %time g()") == "def f():\n    pass  #!ls\n    pass  #%time g()"
    assert script("def f():\n    !pip install x\n    return 1") == "def f():\n    pass  #!pip install x\n    return 1\n"


def test_pip_needs_a_space_and_percent_operators_are_untouched():
    assert source_of("pipeline = 1") == "pipeline = 1"
    assert script("y = a % b") == "#y = a % b\n"


# -- what is kept, what is commented out ------------------------------------------------------


def test_definitions_imports_comments_and_blank_lines_are_kept():
    source = (
        "import os\n"
        "from a.b import (c,\n"
        "    d)\n"
        "# a comment\n"
        "\n"
        "@decorator(1)\n"
        "def f(x):\n"
        "    return x\n"
        "async def g():\n"
        "    await f(1)\n"
        "@dataclass\n"
        "class A(Base):\n"
        "    value: int = 1"
    )
    assert script(source) == source + "\n"


@pytest.mark.parametrize(
    "source, expected",
    [
        ("a = 42", "#a = 42"),
        ("print(a)", "#print(a)"),
        ("a += 1", "#a += 1"),
        ("a: int = 1", "#a: int = 1"),
        ("del a", "#del a"),
        ("assert a", "#assert a"),
        ("raise ValueError()", "#raise ValueError()"),
        ("pass", "#pass"),
        ("global g", "#global g"),
        ("'docstring'", "#'docstring'"),
        ("if a:\n    b = 1\nelse:\n    c = 2", "#if a:\n#    b = 1\n#else:\n#    c = 2"),
        ("for i in x:\n    print(i)", "#for i in x:\n#    print(i)"),
        ("while x:\n    x -= 1", "#while x:\n#    x -= 1"),
        ("with open(p) as f:\n    f.read()", "#with open(p) as f:\n#    f.read()"),
        ("try:\n    a()\nexcept E:\n    pass\nfinally:\n    b()", "#try:\n#    a()\n#except E:\n#    pass\n#finally:\n#    b()"),
        pytest.param(
            "match x:\n    case 1:\n        pass", "#match x:\n#    case 1:\n#        pass",
            marks=pytest.mark.skipif(sys.version_info < (3, 10), reason="a notebook parses with the Python running crunch"),
        ),
        ("x = (1,\n     2)", "#x = (1,\n#     2)"),
        ("x = '''a\nb'''", "#x = '''a\n#b'''"),
        ("x = 1  # why", "#x = 1  # why"),
    ],
)
def test_everything_else_is_commented_out_line_by_line(source, expected):
    assert script(source) == expected + "\n"


def test_comments_before_a_commented_block_stay():
    assert script("import os\n# the loop\nfor i in x:\n    pass") == "import os\n# the loop\n#for i in x:\n#    pass\n"
    assert script("# setup\nx = 1") == "# setup\n#x = 1\n"


def test_several_statements_on_one_line_are_judged_alone():
    assert script("import a; b = 1") == "import a; #b = 1\n"
    assert script("b = 1; import a") == "#b = 1; import a\n"
    assert script("import a; import b") == "import a; import b\n"


def test_the_footer_of_an_indented_block_belongs_to_it():
    assert script("for i in x:\n    pass\n\n    # inside\n\ny = 2") == "#for i in x:\n#    pass\n#\n#    # inside\n\n#y = 2\n"
    assert script("for i in x:\n    pass\n\n# outside\n") == "#for i in x:\n#    pass\n\n# outside\n"


def test_r_imports_are_kept():
    assert script('base = importr("base")\nx = importr(name)') == 'base = importr("base")\n#x = importr(name)\n'


# -- nested imports ---------------------------------------------------------------------------


def test_nested_imports_warn_with_cell_and_line():
    conversion = convert_notebook(notebook("x = 1", code("import os\ntry:\n    import xgboost\nexcept ImportError:\n    xgboost = None", "abc")), whitelist=[])
    assert conversion.script == "#x = 1\n\n\nimport os\n#try:\n#    import xgboost\n#except ImportError:\n#    xgboost = None\n"
    assert conversion.warnings == ["cell 1 (id abc), line 2: found 1 nested import in Try statement"]
    assert "xgboost" not in conversion.modules


@pytest.mark.parametrize(
    "source, name, count",
    [
        ("if a:\n    import b\n    import c", "If", 2),
        ("for i in x:\n    from a import b", "For", 1),
        ("with a:\n    import b", "With", 1),
        ("while a:\n    import b", "While", 1),
    ],
)
def test_nested_import_messages(source, name, count):
    warnings = convert_notebook(notebook(source), whitelist=[]).warnings
    plural = "s" if count > 1 else ""
    assert warnings == [f"cell 0 (id c0), line 1: found {count} nested import{plural} in {name} statement"]


def test_imports_inside_functions_and_classes_are_silent():
    conversion = convert_notebook(notebook("def f():\n    import os\nclass A:\n    import json"), whitelist=[])
    assert conversion.warnings == []
    assert conversion.script == "def f():\n    import os\nclass A:\n    import json\n"


# -- keep markers -----------------------------------------------------------------------------


def test_keep_on_keeps_everything_until_keep_off():
    source = "# @crunch/keep:on\nCONSTANT = [1, 2]\nfor i in x:\n    pass\n# @crunch/keep:off\ndf = X.head()"
    assert script(source) == "# @crunch/keep:on\nCONSTANT = [1, 2]\nfor i in x:\n    pass\n# @crunch/keep:off\n#df = X.head()\n"


def test_keep_none_comments_out_everything_and_drops_requirements():
    conversion = convert_notebook(notebook("# @crunch/keep:none\nimport pandas  # == 1.0\ndef f():\n    pass\nx = 1"), whitelist=[])
    assert conversion.script == "# @crunch/keep:none\n#import pandas  # == 1.0\n#def f():\n#    pass\n#x = 1\n"
    assert conversion.modules == {}


def test_each_cell_starts_in_the_default_mode():
    assert script("# @crunch/keep:on\nx = 1", "y = 2") == "# @crunch/keep:on\nx = 1\n\n\n#y = 2\n"


def test_a_marker_with_extra_hashes_still_counts_but_a_trailing_one_does_not():
    assert script("## @crunch/keep:on #\nx = 1") == "## @crunch/keep:on #\nx = 1\n"
    assert script("x = 1  # @crunch/keep:on\ny = 2") == "#x = 1  # @crunch/keep:on\n#y = 2\n"


# -- layout -----------------------------------------------------------------------------------


def test_cells_are_separated_by_two_blank_lines_and_trimmed():
    assert script("\n\nimport a\n\n\n", "", "\n", "import b") == "import a\n\n\nimport b\n"


def test_an_empty_notebook_gives_an_empty_script():
    assert script() == ""
    assert script("", code([])) == ""


def test_markdown_and_raw_cells_add_nothing():
    assert script(markdown("# Title"), {"cell_type": "raw", "metadata": {}, "source": "x"}, "import a") == "import a\n"


# -- errors -----------------------------------------------------------------------------------


def test_a_cell_that_does_not_parse_names_the_cell():
    with pytest.raises(ConversionError) as caught:
        convert_notebook(notebook("import os", code("def f(:\n    pass", "bad-cell")), whitelist=[])
    message = str(caught.value)
    assert "\n" not in message
    assert "cell 1 (id bad-cell)" in message
    assert "cannot be parsed" in message and "line 1" in message


def test_cell_ids_fall_back_to_the_index():
    cell = {"cell_type": "code", "metadata": {}, "source": "x = (", "outputs": []}
    with pytest.raises(ConversionError, match=r"cell 0 \(id cell_0\)"):
        convert_notebook({"cells": [cell], "nbformat": 4}, whitelist=[])


def test_the_output_always_compiles():
    result = script("import os\nx = 1", "def f():\n    !ls\n    return 1", "%%time\nx = 1", "@d\nclass A:\n    pass")
    ast.parse(result)


# -- version comments -------------------------------------------------------------------------


def modules(*cells):
    conversion = convert_notebook(notebook(*cells), whitelist=[])
    return {name: (item.name, item.extras, item.specs) for name, item in conversion.modules.items()}


@pytest.mark.parametrize(
    "line, expected",
    [
        ("import pandas # == 1.3", {"pandas": (None, [], ["==1.3"])}),
        ("import sklearn # >= 1.2, < 2.0", {"sklearn": (None, [], ["<2.0", ">=1.2"])}),
        ("import tqdm # [foo, bar]", {"tqdm": (None, ["bar", "foo"], [])}),
        ("from requests import Session # == 1.5", {"requests": (None, [], ["==1.5"])}),
        ("import pyemd # EMD-signal @latest", {"pyemd": ("EMD-signal", [], [])}),
        ("import pyemd # pyemd == 1.0", {"pyemd": ("pyemd", [], ["==1.0"])}),
        ("import pandas # @ignore", {}),
        ("import pandas # tools", {"pandas": (None, [], [])}),
        ("from a import b #, c", {"a": (None, [], [])}),
        ("import a.b.c # ~= 1.2", {"a": (None, [], ["~=1.2"])}),
        ("import a, b # == 2", {"a": (None, [], ["==2"]), "b": (None, [], ["==2"])}),
        ("import a; import b # == 2", {"a": (None, [], []), "b": (None, [], ["==2"])}),
        ("from . import x\nfrom .y import z", {}),
    ],
)
def test_version_comments(line, expected):
    assert modules(line) == expected


def test_a_version_wins_over_none():
    assert modules("import pandas", "import pandas # == 1.3", "import pandas") == {"pandas": (None, [], ["==1.3"])}


def test_two_versions_of_one_module_are_an_error_naming_both():
    with pytest.raises(ConversionError) as caught:
        modules("import pandas # == 1.3", "import pandas.io # == 1.4")
    message = str(caught.value)
    assert "pandas" in message and "==1.3" in message and "==1.4" in message
    assert "cell 0" in message and "cell 1" in message


def test_two_names_for_one_module_are_an_error():
    with pytest.raises(ConversionError, match="names"):
        modules("import pyemd # EMD-signal @latest", "import pyemd # other-name @latest")


@pytest.mark.parametrize("comment", ["# == aaa", "# >= 1.0 ; python_version > '3'", "# @ https://example.com/x.whl"])
def test_an_unparsable_version_is_an_error(comment):
    with pytest.raises(ConversionError, match=r"cell 0 \(id c0\), line 1"):
        modules(f"import pandas {comment}")


def test_standard_library_modules_are_checked_but_never_required():
    conversion = convert_notebook(notebook("import os # == 1.0\nfrom __future__ import annotations\nimport json"), whitelist=[])
    assert conversion.requirements == []
    with pytest.raises(ConversionError):
        modules("import os # == 1.0", "import os # == 2.0")


# -- requirements.txt -------------------------------------------------------------------------


def test_requirement_names_from_comment_whitelist_installed_or_module():
    whitelist = [Library("scikit-learn", ["sklearn"], False), Library("os-tools", ["ostools"], True)]
    conversion = convert_notebook(
        notebook("import sklearn # >= 1.2\nimport pyemd # EMD-signal @latest\nimport requests\nimport not_installed_mod # == 3\nimport ostools"),
        whitelist=whitelist,
        freeze=False,
    )
    assert conversion.requirements_txt == "EMD-signal\nnot_installed_mod==3\nrequests\nscikit-learn>=1.2\n"
    by_module = {item.module: item.name for item in conversion.requirements}
    assert by_module == {"sklearn": "scikit-learn", "pyemd": "EMD-signal", "requests": "requests", "not_installed_mod": "not_installed_mod"}
    assert conversion.warnings == []


def test_freeze_pins_the_installed_version_unless_a_version_is_given():
    from importlib.metadata import version

    conversion = convert_notebook(notebook("import requests\nimport click # == 8.0\nimport yaml"), whitelist=[])
    lines = conversion.requirements_txt.splitlines()
    assert f"requests=={version('requests')}" in lines
    assert "click==8.0" in lines
    assert f"PyYAML=={version('pyyaml')}" in lines or f"pyyaml=={version('pyyaml')}" in lines
    unfrozen = convert_notebook(notebook("import requests\nimport tqdm # [notebook]"), whitelist=[], freeze=False)
    assert unfrozen.requirements_txt == "requests\ntqdm[notebook]\n"


def test_no_whitelist_falls_back_to_installed_distributions_and_says_so():
    conversion = convert_notebook(notebook("import yaml"), freeze=False)
    assert conversion.requirements_txt.lower() == "pyyaml\n"
    assert any("installed distributions" in warning for warning in conversion.warnings)


# -- embedded files ---------------------------------------------------------------------------


def test_embedded_file():
    cell = markdown(["---\n", "file: docs/notes.md\n", "---\n", "Anything here becomes docs/notes.md\n", "\n"])
    conversion = convert_notebook(notebook(cell, "import os"), whitelist=[])
    assert conversion.embedded_files == {"docs/notes.md": "Anything here becomes docs/notes.md"}
    assert conversion.script == "import os\n"


def test_front_matter_with_a_blank_line_or_unclosed_is_plain_markdown():
    assert convert_notebook(notebook(markdown("---\n\nfile: a.md\n---\nx")), whitelist=[]).embedded_files == {}
    assert convert_notebook(notebook(markdown("---\nfile: a.md\nx")), whitelist=[]).embedded_files == {}


def test_the_same_file_twice_is_an_error():
    with pytest.raises(ConversionError, match="cell 1"):
        convert_notebook(notebook(markdown("---\nfile: Docs/A.md\n---\nx"), markdown("---\nfile: ./docs/a.md\n---\ny")), whitelist=[])


@pytest.mark.parametrize("front", ["title: no file", "file: ''", "file: [1, 2]", "- a list", "file: a: b: c"])
def test_front_matter_without_a_file_or_invalid_is_an_error(front):
    with pytest.raises(ConversionError, match=r"cell 0 \(id cell_0\)"):
        convert_notebook(notebook(markdown(f"---\n{front}\n---\ncontent")), whitelist=[])


@pytest.mark.parametrize("path", ["/etc/passwd", "../outside.txt", "a/../../outside.txt", "C:/x.txt", "c:x.txt", "\\\\server\\share", "..\\up.txt", "."])
def test_embedded_files_must_stay_inside_the_workspace(path):
    with pytest.raises(ConversionError, match="embedded file"):
        convert_notebook(notebook(markdown(f"---\nfile: '{path}'\n---\ncontent")), whitelist=[])


def test_embedded_paths_are_normalised():
    conversion = convert_notebook(notebook(markdown("---\nfile: ./a//b/../c.txt\n---\nx")), whitelist=[])
    assert conversion.embedded_files == {"a/c.txt": "x"}


# -- verbose decisions ------------------------------------------------------------------------


def test_cell_decisions():
    conversion = convert_notebook(notebook("import os\nx = 1", markdown("# t"), ""), whitelist=[], verbose=True)
    assert [(c.index, c.action) for c in conversion.cells] == [(0, "converted"), (1, "skipped"), (2, "empty")]
    assert conversion.cells[0].details == ["line 1: Import kept", "line 2: Assign commented out"]


def test_output_that_does_not_compile_is_an_error_naming_the_cell():
    # a kept function holding a character that splits lines (as the platform's converter does)
    with pytest.raises(ConversionError) as caught:
        convert_notebook(notebook("import os", "def f():\n    return '\x1c'"), whitelist=[])
    message = str(caught.value)
    assert "does not compile in cell 1 (id c1), line 2" in message
    assert "\n" not in message
