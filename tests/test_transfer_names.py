"""Download lists that name one file twice are refused, naming both entries."""

from __future__ import annotations

import pytest

from crunch import exceptions as exc
from crunch.transfer.names import check_distinct, same_file_key


@pytest.mark.parametrize(
    "first, second",
    [
        ("X.parquet", "X.parquet"),
        ("X.parquet", "x.PARQUET"),
        ("X.parquet", "./X.parquet"),
        ("X.parquet", "a/../X.parquet"),
        ("caf\u00e9.parquet", "cafe\u0301.parquet"),  # NFC and NFD spellings
        ("lib", "lib/x.py"),  # a file that is also the folder of another
        ("Lib/x.py", "lib"),
    ],
)
def test_one_file_named_twice_is_refused(first, second):
    with pytest.raises(exc.UnsafePathError) as info:
        check_distinct([("one", first), ("two", second)], "the data release", "tell the organizers")
    message = str(info.value)
    assert "one (" in message and "two (" in message and "nothing was written" in message


def test_distinct_names_pass():
    check_distinct([(n, n) for n in ("X_train.parquet", "X_test.parquet", "lib/a.py", "lib/b.py", "library.py")], "x", "y")
    assert same_file_key("A/./B.txt") == same_file_key("a/b.TXT")


def test_an_archive_naming_one_file_twice_is_refused_before_extracting(tmp_path):
    import io
    import zipfile

    from crunch.transfer.download import extract_zip

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("X.parquet", "first")
        archive.writestr("x.PARQUET", "second")
    (tmp_path / "a.zip").write_bytes(buffer.getvalue())
    (tmp_path / "out").mkdir()
    with pytest.raises(exc.UnsafePathError) as info:
        extract_zip(tmp_path / "a.zip", tmp_path / "out")
    assert "X.parquet" in str(info.value) and "x.PARQUET" in str(info.value)
    assert list((tmp_path / "out").iterdir()) == []
