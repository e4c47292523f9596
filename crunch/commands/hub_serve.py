"""``crunch hub serve``: run the local hub until interrupted."""

from __future__ import annotations

import signal
import sys
from typing import Any, Optional, Sequence

from ..core.console import Console
from ..exceptions import ConfigurationError
from ..project.settings import Settings


def run(
    *,
    settings: Settings,
    console: Console,
    host: str = "127.0.0.1",
    port: int = 8000,
    root: str = ".crunch-hub",
    fail_next: int = 0,
    drop_after: Optional[int] = None,
    delay: float = 0.0,
    rate_cap: Optional[float] = None,
    latency: float = 0.0,
    daily_limit: int = 5,
    allow_host: Sequence[str] = (),
    **_: Any,
) -> None:
    try:
        from ..hub.server import make_server
    except ImportError as error:  # werkzeug is the `hub` extra
        raise ConfigurationError(
            f"the local hub needs Werkzeug ({error}): pip install 'crunch-cli[hub]'"
        ) from None
    from ..hub.faults import Faults
    from ..hub.guard import SECRET_HEADER, secret_path
    from ..hub.store import Store

    Store(root).close()  # a root that cannot be used is said so before binding a port
    faults = Faults(
        fail_next=fail_next,
        drop_after=drop_after,
        delay=delay,
        rate_cap=rate_cap * (1 << 20) if rate_cap else None,  # MiB/s -> bytes/s
        latency=latency,
    )
    try:
        server = make_server(host, port, root, faults=faults, daily_limit=daily_limit, debug=settings.debug, allow_hosts=allow_host)
    except OSError as error:
        raise ConfigurationError(f"cannot listen on {host}:{port} ({error.strerror or error}): try another --port") from None
    except ValueError as error:  # an --allow-host that names no host
        raise ConfigurationError(f"--allow-host: {error}") from None

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    for name in ("SIGTERM", "SIGBREAK"):  # those this system has (SIGBREAK: Windows' Ctrl-Break)
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), stop)
    shown = f"[{host}]" if ":" in host else host
    # the one line tests and scripts wait for, even with --quiet
    print(f"listening on http://{shown}:{server.server_port}/", flush=True)
    app = server.app
    if app.admin_secret_created:  # shown once, to whoever started the hub first
        print(f"admin secret (for /_admin/ calls, header {SECRET_HEADER}; kept in {secret_path(root)}): {app.admin_secret}", flush=True)
    else:
        print(f"admin secret: in {secret_path(root)} (header {SECRET_HEADER} of /_admin/ calls)", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        server.app.stop_runs()
        server.app.store.close()
        sys.stdout.flush()
