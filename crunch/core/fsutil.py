"""File helpers that never leave a half-written file behind."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Iterator, Optional, Union

PathLike = Union[str, "os.PathLike[str]"]


@contextlib.contextmanager
def atomic_file(path: PathLike, mode: Optional[int] = None) -> Iterator[BinaryIO]:
    """A binary file to write that appears at ``path`` only once the block ends without error.

    The bytes go to a temporary file beside ``path`` (flushed and synced), which is then
    renamed into place; on any error it is removed and ``path`` is left as it was.
    """
    target = Path(path)
    ensure_folder(target.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as error:
        raise write_error(target, error) from None
    try:
        os.chmod(tmp, default_mode() if mode is None else mode)
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.replace(tmp, target)
        except OSError as error:
            raise write_error(target, error) from None
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_error(path: PathLike, error: OSError) -> OSError:
    """A :class:`FileWriteError` naming ``path``, saying why it cannot be written and what to do."""
    from ..exceptions import FileWriteError

    shown = os.fspath(path)
    if isinstance(error, FileWriteError):
        return error
    if isinstance(error, IsADirectoryError) or (error.errno == errno.EEXIST and os.path.isdir(shown)):
        why = f"{shown} is a folder, where a file is to be written: remove or rename it"
    elif isinstance(error, (FileExistsError, NotADirectoryError)):
        why = f"cannot write {shown}: a file stands where a folder of its path should be: remove or rename it"
    elif isinstance(error, PermissionError) or error.errno == errno.EROFS:
        why = f"cannot write {shown}: {error.strerror} (the folder is read-only): make it writable"
    elif is_disk_full(error):
        return disk_full(error, f"cannot write {shown}")
    else:
        why = f"cannot write {shown}: {error.strerror or error}"
    failure = FileWriteError(f"{why}, then run the command again")
    failure.errno = error.errno
    return failure


DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error`` says the disk (or the person's quota) is full."""
    return isinstance(error, OSError) and error.errno in DISK_FULL_ERRNOS


def disk_full_message(detail: str, note: str = "") -> str:
    """The one way crunch says the disk is full: ``detail`` says what could not be written,
    ``note`` (in parentheses at the end) what was kept."""
    tail = f" ({note})" if note else ""
    return f"the disk is full ({detail}): free some space and run the command again{tail}"


def disk_full(error: OSError, detail: str = "") -> OSError:
    """A :class:`~crunch.exceptions.DiskFullError` for ``error`` (``ENOSPC`` or ``EDQUOT``);
    ``detail`` names what could not be written, else the file of ``error`` if it has one."""
    from ..exceptions import DiskFullError

    if isinstance(error, DiskFullError):
        return error
    if not detail:
        reason = "the quota is used up" if error.errno == errno.EDQUOT else "no space left on the device"
        where = error.filename if isinstance(error.filename, str) else ""
        detail = f"{reason}: {where}" if where else reason
    failure = DiskFullError(disk_full_message(detail))
    failure.errno = error.errno
    return failure


def free_space(path: PathLike) -> Optional[int]:
    """Bytes that can still be written where ``path`` is (or would be: its nearest existing
    folder above), for the person running crunch: 0 when no file can be made there any more
    (no inode left). ``None`` where the system cannot say."""
    folder = os.path.abspath(os.fspath(path))
    while not os.path.isdir(folder) and os.path.dirname(folder) != folder:
        folder = os.path.dirname(folder)
    try:
        stats = os.statvfs(folder)
    except (OSError, AttributeError):  # AttributeError: no statvfs on Windows
        return None
    if stats.f_files and not stats.f_favail:
        return 0
    return stats.f_bavail * stats.f_frsize


def check_room(path: PathLike, need: int, what: str, note: str = "") -> None:
    """Raise :class:`~crunch.exceptions.DiskFullError` when fewer than ``need`` bytes can be
    written where ``path`` is; ``what`` names the work that needs them, ``note`` what was kept
    (both said in the message)."""
    free = free_space(path)
    if free is not None and free < need:
        from ..exceptions import DiskFullError

        shown = os.path.abspath(os.fspath(path))
        failure = DiskFullError(disk_full_message(f"{human_size(free)} free at {shown}; {what} needs at least {human_size(need)}", note))
        failure.errno = errno.ENOSPC
        raise failure


def ensure_folder(path: PathLike, writable: bool = False) -> Path:
    """Make the folder ``path`` (and those above it) unless it is there; with ``writable``,
    check that a file can be written in it. Raises :class:`FileWriteError` naming the path
    (a file in the way, a read-only place) instead of a bare ``OSError``."""
    from ..exceptions import FileWriteError

    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise FileWriteError(
            f"{folder} is a file, where a folder is needed: remove or rename it, then run the command again"
        ) from None
    except OSError as error:
        if is_disk_full(error):
            raise disk_full(error, f"cannot make the folder {folder}") from None
        if isinstance(error, NotADirectoryError):
            raise FileWriteError(
                f"cannot make the folder {folder}: a file stands where a folder of its path should be; "
                "remove or rename it, then run the command again"
            ) from None
        raise FileWriteError(f"cannot make the folder {folder}: {error.strerror or error}; fix its permissions, then run the command again") from None
    if writable:
        try:
            fd, probe = tempfile.mkstemp(prefix=".crunch-check.", dir=folder)
            os.close(fd)
            os.unlink(probe)
        except OSError as error:
            if is_disk_full(error):
                raise disk_full(error, f"cannot write in {folder}") from None
            raise FileWriteError(
                f"cannot write in {folder}: {error.strerror or error} (the folder is read-only): make it writable, "
                "then run the command again"
            ) from None
    return folder


def write_bytes_atomic(path: PathLike, data: bytes, mode: Optional[int] = None) -> Path:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place."""
    with atomic_file(path, mode) as handle:
        handle.write(data)
    return Path(path)


def _read_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


_UMASK = _read_umask()  # read once, at import: os.umask is process-wide, not thread-safe


def default_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give: 0o666 less the umask."""
    return 0o666 & ~_UMASK


def write_text_atomic(path: PathLike, text: str, mode: Optional[int] = None) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"), mode)


def json_text(value: Any) -> str:
    """``value`` as the JSON text crunch writes to its files."""
    return json.dumps(value, indent=2, sort_keys=False) + "\n"


def write_json_atomic(path: PathLike, value: Any, mode: Optional[int] = None) -> Path:
    return write_text_atomic(path, json_text(value), mode)


_SPECIAL_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def special_kind(mode: int) -> Optional[str]:
    """What a file of ``mode`` is when it is neither a regular file nor a folder, else None."""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return next((name for test, name in _SPECIAL_KINDS if test(mode)), "not a regular file")


def _refuse(path: PathLike, mode: int) -> None:
    from ..exceptions import SpecialFileError

    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(path))
    kind = special_kind(mode)
    if kind is not None:
        raise SpecialFileError(
            f"{os.fspath(path)} is {kind}, not a regular file: crunch does not read from it (reading it could "
            "wait, or go on, for ever); replace it with a regular file"
        )


def check_regular(path: PathLike) -> None:
    """Raise unless ``path`` (links followed) is a regular file: the usual ``OSError`` when it is
    missing (``IsADirectoryError`` for a folder), :class:`SpecialFileError` for a FIFO, a device
    or a socket. For readers crunch does not open itself (pyarrow, pandas)."""
    _refuse(path, os.stat(path).st_mode)


def open_regular(path: PathLike) -> BinaryIO:
    """``path`` opened for reading in binary, only when it is a regular file (see :func:`check_regular`).

    Every file of a workspace is read through here. It is opened without waiting (a FIFO
    would block ``open`` until a writer comes) and checked on the open descriptor, so a file
    swapped in between cannot slip through.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        _refuse(path, os.fstat(fd).st_mode)
        if getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: PathLike) -> bytes:
    """The bytes of the regular file ``path`` (see :func:`open_regular`)."""
    with open_regular(path) as handle:
        return handle.read()


def read_text(path: PathLike, encoding: str = "utf-8", errors: str = "strict") -> str:
    """The text of the regular file ``path``, newlines as ``open`` in text mode gives them."""
    text = read_bytes(path).decode(encoding, errors)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def is_within(path: PathLike, root: PathLike) -> bool:
    """True when ``path`` (resolved, links followed) lies inside ``root``."""
    try:
        Path(os.path.realpath(path)).relative_to(os.path.realpath(root))
    except ValueError:
        return False
    return True


def human_size(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # pragma: no cover


_FALLOC_FL_KEEP_SIZE = 1
_fallocate: Any = None


def reserve_space(fd: int, offset: int, length: int) -> bool:
    """Reserve ``length`` bytes of disk at ``offset`` of the open file ``fd``, keeping its size.

    The file's size does not change (Linux ``fallocate`` with ``FALLOC_FL_KEEP_SIZE``), so a
    file that grows by appends still ends where its last byte was written; its blocks are
    allocated at once, which makes the writes cheaper and reports a full disk before the
    bytes arrive. Raises ``OSError`` (``ENOSPC``, ``EDQUOT``) when the space is not there;
    returns False where it cannot be done (another system, a file system without it).
    """
    global _fallocate
    if length <= 0 or not sys.platform.startswith("linux"):
        return False
    if _fallocate is None:
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)  # the C library the interpreter runs on
            # fallocate64 takes 64-bit offsets on 32-bit systems too
            function = getattr(libc, "fallocate64", None) or libc.fallocate
            function.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
            function.restype = ctypes.c_int
            _fallocate = function
        except (ImportError, OSError, AttributeError):
            _fallocate = False
    if _fallocate is False:
        return False
    import ctypes

    if _fallocate(fd, _FALLOC_FL_KEEP_SIZE, offset, length) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        raise OSError(code, os.strerror(code))
    return False  # EOPNOTSUPP, EINVAL, ENOSYS...: the writes will allocate as they go
