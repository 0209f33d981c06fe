"""The headers every response carries, the Host check against DNS rebinding, and the one-line
500 that replaces a traceback."""

from __future__ import annotations

import ipaddress
import json
import logging
import socket

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CSP", "HEADERS", "SecurityMiddleware", "is_loopback"]

logger = logging.getLogger(__name__)

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) reaches only this machine."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:  # the forms the resolver takes too: 127.1, 0x7f.1, 2130706433
        return ipaddress.IPv4Address(socket.inet_aton(host)).is_loopback
    except OSError:
        return False


def _hostname(header: str) -> str:
    # "host:port", "[::1]:port" or a bare name
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class SecurityMiddleware:
    """Adds :data:`HEADERS` to every HTTP response, refuses a Host header naming another
    machine when the app is bound to loopback (a page of another site resolving its name to
    127.0.0.1 would otherwise read the store), refuses what a browser fetches for a page of
    another site except a navigation to a page (``Sec-Fetch-Site``), and answers an
    unexpected error with a one-line 500 instead of a traceback.

    Args:
        app: the app to wrap.
        bound_host: the host the server listens on; None checks no Host header.
    """

    def __init__(self, app: ASGIApp, bound_host: str | None) -> None:
        self.app = app
        self.check_host = bound_host is not None and is_loopback(bound_host)
        self.allowed = _LOOPBACK_NAMES | ({bound_host.lower()} if bound_host else set())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.check_host and not self._host_allowed(scope):
            await _plain(send, 400, "this server answers only requests for localhost")
            return
        if _from_another_site(scope):
            await _plain(send, 403, "refused: another web site made this request")
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                names = {name for name, _ in HEADERS}
                headers = [h for h in message.get("headers", []) if h[0].lower() not in names]
                message = {**message, "headers": [*headers, *HEADERS]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            logger.exception("art ui: internal error on %s", scope.get("path"))
            if started:
                raise
            await _plain(send, 500, "internal error (please report it); see the server's log")

    def _host_allowed(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", []):
            if name == b"host":
                return _hostname(value.decode("latin-1")).lower() in self.allowed
        return False


def _from_another_site(scope: Scope) -> bool:
    # A page of another site may link here (a top-level navigation to a page) but not make
    # the browser fetch from here: an <img> or fetch() of /api/ would run a query for it.
    headers = dict(scope.get("headers", []))
    site = headers.get(b"sec-fetch-site", b"").lower()
    if site not in (b"cross-site", b"same-site"):
        return False
    navigate = headers.get(b"sec-fetch-mode", b"").lower() == b"navigate"
    path = scope.get("path", "")
    return not navigate or path == "/api" or path.startswith("/api/")


async def _plain(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), *HEADERS]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
