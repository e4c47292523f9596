"""Helpers that competition code imports from ``crunch.utils`` (part of the competition-code API).

- :func:`smart_call` calls a function with only the keyword values its signature asks for: the
  runners of the competitions use it to call a participant's ``train``/``infer`` and the platform
  uses it to call ``runner.run``, ``scoring.score``... Each module declares only the names it wants.
- :class:`Tracer` prints nested, timed steps (``with tracer.log("load"): ...``).
- :class:`LazyValue` is a value computed on first use (a value offered to :func:`smart_call` that
  costs something to build is only built when a parameter asks for it).
- :func:`cut_url` shortens a link for a message (no query string, where signatures live);
  :func:`download` fetches one link to a file, resuming after a broken connection.
"""

from __future__ import annotations

import datetime
import inspect
import logging
from contextlib import contextmanager
from typing import Any, Callable, Dict, Generic, Iterable, Iterator, Optional, Set, TypeVar, Union

__all__ = ["LazyValue", "Tracer", "cut_url", "download", "smart_call"]

T = TypeVar("T")

_NOT_SET = object()

#: Messages :func:`smart_call` has already logged (each is logged once per process).
_logged_messages: Set[str] = set()


class LazyValue(Generic[T]):
    """A value built by ``factory()`` the first time :attr:`value` is read, then kept."""

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._value: Any = _NOT_SET

    @property
    def value(self) -> T:
        if self._value is _NOT_SET:
            self._value = self._factory()
        return self._value


def smart_call(
    function: Callable[..., T],
    default_values: Dict[str, Any],
    specific_values: Optional[Dict[str, Any]] = None,
    log: bool = True,
    logger: Optional[logging.Logger] = None,
) -> T:
    """Call ``function`` with, for each parameter of its signature, the value of the same name.

    The values are ``default_values`` overridden by ``specific_values``. For each parameter:

    - ``*args`` and ``**kwargs`` receive nothing (warning ``unsupported parameter: *args``);
    - a parameter with a default value keeps its default (warning
      ``skip param with default value: name=default``);
    - a name that no value has receives ``None`` (warning ``unknown parameter: name``);
    - a :class:`LazyValue` is resolved before the call.

    Each warning is logged once per process, prefixed by the function's name, on ``logger``
    (the root logger by default); ``log=False`` logs nothing.
    """

    if logger is None:
        logger = logging.getLogger()
    values = dict(default_values)
    if specific_values:
        values.update(specific_values)
    name_of_function = getattr(function, "__name__", type(function).__name__)

    def note(level: int, message: str) -> None:
        if not log or message in _logged_messages:
            return
        _logged_messages.add(message)
        logger.log(level, "%s: %s", name_of_function, message)

    arguments: Dict[str, Any] = {}
    for name, parameter in inspect.signature(function).parameters.items():
        if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            note(logging.WARNING, f"unsupported parameter: {parameter}")
            continue
        if parameter.default is not inspect.Parameter.empty:
            note(logging.WARNING, f"skip param with default value: {name}={parameter.default}")
            continue
        value = values.get(name, _NOT_SET)
        if value is _NOT_SET:
            note(logging.WARNING, f"unknown parameter: {name}")
            value = None
        if isinstance(value, LazyValue):
            value = value.value
        note(logging.DEBUG, f"set {name}={type(value).__name__}")
        arguments[name] = value
    return function(**arguments)


class Tracer:
    """Print the steps of a long computation, nested and timed.

    ``with tracer.log("load data"):`` prints ``"<start> <indent> load data"`` when the step
    begins and ``"<start> <indent> load data took <duration>"`` when it ends (then collects
    garbage, as steps often drop large frames); steps opened inside it are indented by two more
    spaces. ``tracer.loop(items, "score {value}")`` wraps each item of a loop in such a step.
    """

    def __init__(self, printer: Callable[[str], Any] = print) -> None:
        self._printer = printer
        self._depth = 0

    @property
    def padding(self) -> str:
        return "  " * self._depth

    @contextmanager
    def log(self, action: str) -> Iterator[bool]:
        start = datetime.datetime.now()
        self._printer(f"{start} {self.padding} {action}")
        self._depth += 1
        try:
            yield True
        finally:
            self._depth -= 1
            import gc

            gc.collect()
            took = datetime.datetime.now() - start
            self._printer(f"{start} {self.padding} {action} took {took}")

    def loop(
        self,
        iterable: Iterable[T],
        action: Union[str, Callable[[T], Any]],
        value_placeholder: str = "{value}",
    ) -> Iterator[T]:
        """Yield each value of ``iterable`` inside ``log(action)``.

        ``action`` is a text where ``value_placeholder`` is replaced by ``str(value)``, or a
        function of the value that returns the text.
        """

        for value in iterable:
            if callable(action):
                message = str(action(value))
            else:
                message = str(action).replace(value_placeholder, str(value))
            with self.log(message):
                yield value


def cut_url(url: str) -> str:
    """``url`` for a message: without its query string and fragment (a signed link's signature
    is there), and for an http(s) link without the ``//`` after the scheme
    (``https://host/a?X-Amz-Signature=...`` -> ``https:host/a``)."""
    for mark in ("?", "#"):
        url = url.split(mark, 1)[0]
    for scheme in ("http://", "https://"):
        if url.lower().startswith(scheme):
            return url[: len(scheme) - 2] + url[len(scheme) :]
    return url


def download(
    url: str,
    path: str,
    log: bool = True,
    print: Callable[[str], Any] = print,
    progress_bar: bool = True,
    max_retry: int = 10,
    session: Any = None,
) -> None:
    """Fetch ``url`` into the file ``path`` (its folders are made).

    The bytes go to a temporary file beside ``path``, which replaces ``path`` only once whole:
    an interrupted download never leaves a partial file under the final name. A connection that
    breaks is resumed where it stopped (``Range``) up to ``max_retry`` times when the server
    serves ranges, and started again otherwise. ``log`` prints one line about the transfer
    through ``print`` (the link shown by :func:`cut_url`); ``progress_bar`` shows a tqdm bar.
    An error answer or a file shorter than announced raises :class:`crunch.exceptions.TransferError`.
    """
    import os
    import tempfile
    import time

    import requests

    from .exceptions import TransferError

    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    session = session or requests.Session()
    shown = cut_url(url)
    handle, part = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".part", dir=folder)
    done = 0
    total: Optional[int] = None
    ranges = False
    logged = False
    try:
        with os.fdopen(handle, "wb") as sink:
            for attempt in range(max_retry + 1):
                headers = {"Accept-Encoding": "identity"}
                if done and ranges:
                    headers["Range"] = f"bytes={done}-"
                try:
                    with session.get(url, headers=headers, stream=True, timeout=(10, 60)) as response:
                        if response.status_code >= 400:
                            raise TransferError(f"downloading {path} from {shown}: the server answered HTTP {response.status_code}")
                        if response.status_code != 206:  # the whole file (again)
                            done = 0
                            sink.seek(0)
                            sink.truncate()
                            length = response.headers.get("Content-Length", "")
                            total = int(length) if length.isdigit() else None
                            ranges = response.headers.get("Accept-Ranges", "").strip().lower() == "bytes"
                        if log and not logged:
                            size = f"{total} bytes" if total is not None else "unknown length"
                            print(f"{path}: download from {shown} ({size})")
                            logged = True
                        bar = _progress(progress_bar, total, done)
                        try:
                            for chunk in response.iter_content(chunk_size=1 << 16):
                                sink.write(chunk)
                                done += len(chunk)
                                if bar is not None:
                                    bar.update(len(chunk))
                        finally:
                            if bar is not None:
                                bar.close()
                    break
                except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as error:
                    if attempt == max_retry:
                        raise TransferError(
                            f"downloading {path} from {shown}: the connection broke {attempt + 1} times "
                            f"({type(error).__name__}); try again later"
                        ) from None
                    if log:
                        how = f"at {done} bytes" if ranges else "from the start (the server does not resume)"
                        print(f"retrying {attempt + 1}/{max_retry} {how} after {type(error).__name__}")
                    time.sleep(min(2.0**attempt, 30.0) / 4)
        if total is not None and done != total:
            raise TransferError(f"downloading {path} from {shown}: got {done} bytes of the {total} announced; try again")
        os.replace(part, path)
    except BaseException:
        try:
            os.unlink(part)
        except OSError:
            pass
        raise


def _progress(enabled: bool, total: Optional[int], initial: int) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, leave=False, disable=None)
