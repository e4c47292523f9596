"""Binding the runner's values to a person's parameters, and when the loop trains."""

from __future__ import annotations

from crunch.runner.loop import should_train
from crunch.runner.params import Binder

VALUES = {"X_train": "xt", "y_train": "yt", "X_test": "xs", "moon": 7, "embargo": 2, "has_gpu": False}


def call(binder, function, values=VALUES):
    args, kwargs = binder.bind(function, values)
    return function(*args, **kwargs)


def test_names_in_any_order_and_aliases():
    warnings = []
    binder = Binder(warnings.append)

    def train(embargo, Y_train, x_train, current_moon):
        return (embargo, Y_train, x_train, current_moon)

    assert call(binder, train) == (2, "yt", "xt", 7)
    assert warnings == []


def test_default_is_kept_and_unknown_gets_none_with_one_warning():
    warnings = []
    binder = Binder(warnings.append)

    def infer(X_test, threshold=0.5, mystery=None, *args, other, **kwargs):
        return (X_test, threshold, mystery, other, args, kwargs)

    assert call(binder, infer) == ("xs", 0.5, None, None, (), {})
    assert call(binder, infer) == ("xs", 0.5, None, None, (), {})
    assert len(warnings) == 1 and "`other`" in warnings[0] and "infer()" in warnings[0]


def test_positional_only_and_callable_objects():
    binder = Binder(lambda message: None)

    def train(X_train, y_train, /, has_gpu):
        return (X_train, y_train, has_gpu)

    class Model:
        def __call__(self, X_test, moon):
            return (X_test, moon)

    assert call(binder, train) == ("xt", "yt", False)
    assert call(binder, Model()) == ("xs", 7)


def test_a_value_named_like_an_alias_wins_over_the_alias():
    binder = Binder(lambda message: None)

    def infer(x_test):
        return x_test

    assert call(binder, infer, {"X_test": "upper", "x_test": "lower"}) == "lower"
    assert call(binder, infer, {"X_test": "upper"}) == "upper"


def test_should_train():
    # every moon
    assert [should_train(i, m, 1, True, False) for i, m in enumerate([10, 11, 12])] == [True, True, True]
    # every 2 moons, the first forced
    assert [should_train(i, m, 2, True, True) for i, m in enumerate([11, 12, 13, 14])] == [True, True, False, True]
    # not forced, a model exists: only by frequency
    assert [should_train(i, m, 2, False, True) for i, m in enumerate([11, 12, 13])] == [False, True, False]
    # never, except the first when forced or when there is no model yet
    assert [should_train(i, m, 0, True, True) for i, m in enumerate([10, 11])] == [True, False]
    assert [should_train(i, m, 0, False, True) for i, m in enumerate([10, 11])] == [False, False]
    assert [should_train(i, m, 0, False, False) for i, m in enumerate([10, 11])] == [True, False]


def test_user_frame_predicates(tmp_path):
    import os

    import crunch
    from crunch.runner.loader import files_under, notebook_frames

    mine = files_under(tmp_path)
    assert mine(str(tmp_path / "main.py")) and mine(str(tmp_path / "lib" / "helpers.py"))
    assert not mine(str(tmp_path / ".venv" / "lib" / "site-packages" / "pandas" / "core.py"))
    assert not mine(os.path.join(os.path.dirname(crunch.__file__), "runner", "loop.py"))
    assert not mine("<frozen importlib._bootstrap>") and not mine("/usr/lib/python3/json/__init__.py")
    assert notebook_frames("/tmp/ipykernel_123/4567.py") and notebook_frames("<ipython-input-3-abc>")
    assert not notebook_frames(os.path.join(os.path.dirname(crunch.__file__), "notebook.py"))
    assert not notebook_frames("/usr/lib/python3/site-packages/pandas/core/frame.py")
    assert not notebook_frames("<frozen importlib._bootstrap>") and not notebook_frames("/usr/lib/python3/json/__init__.py")
