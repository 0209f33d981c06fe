"""``serve``: run the app with uvicorn on a socket bound first, so the URL printed is the one
that answers (``--port 0`` picks a free port)."""

from __future__ import annotations

import logging
import socket
import sys
import threading
import webbrowser
from typing import TYPE_CHECKING

import uvicorn

from artstore.errors import ConfigError
from artstore.ui.app import create_app
from artstore.ui.security import is_loopback

if TYPE_CHECKING:
    from artstore.artifacts import Store

__all__ = ["bind", "no_login_warning", "serve", "url_of"]

logger = logging.getLogger(__name__)


def no_login_warning(host: str) -> str:
    """The warning printed when the UI listens on a host other machines can reach."""
    return (
        f"art ui: listening on {host} has no login: anyone who can reach it can read every run "
        "and artifact, and so can a web page any browser that reaches it opens (DNS rebinding)"
    )


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (an IPv4 or IPv6 address or a name).

    Raises:
        ConfigError: the address cannot be bound (in use, not this machine's, no permission).
    """
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family, reuse_port=False)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError(
            f"art ui cannot listen on {host} port {port}: {reason}; choose another --port or --host"
        ) from None


def url_of(sock: socket.socket) -> str:
    """The http URL a bound socket answers on."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def serve(
    store: Store, host: str, port: int, open_browser: bool = False, quiet: bool = False
) -> None:
    """Serve the UI of ``store`` until interrupted.

    Raises:
        ConfigError: the address cannot be bound.
    """
    if not is_loopback(host):
        print(no_login_warning(host), file=sys.stderr)
    sock = bind(host, port)
    url = url_of(sock)
    app = create_app(store, host=host)
    config = uvicorn.Config(
        app,
        log_level="warning" if quiet else "info",
        access_log=not quiet,
        server_header=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    print(f"art ui: {store.url} at {url} (Ctrl+C stops)", flush=True)
    if open_browser:
        threading.Timer(0.3, webbrowser.open, args=(url,)).start()
    server.run(sockets=[sock])
