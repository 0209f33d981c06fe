"""Object-store filesystems whose failures to reach their server become one typed error.

s3fs, gcsfs and the libraries under them raise their own exceptions when the network or the
endpoint fails (botocore's ``EndpointConnectionError``, aiohttp's ``ClientConnectorError``,
timeouts). Each reaches a user as a traceback unless translated; the store's filesystem is
wrapped once, when it is opened, so every call through it is covered.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

from artstore.errors import ArtstoreError, StoreUnavailableError

__all__ = ["Unreachable", "unreachable"]

# What a store operation means on purpose: a missing or existing object, a refused access (the
# callers that can tell a local file from the store translate it themselves).
_MEANINGFUL = (
    ArtstoreError,
    FileExistsError,
    FileNotFoundError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
)
# Exception classes (by name, as their libraries are optional) that mean "no answer".
_NETWORK_CLASSES = frozenset(
    {
        "BotoCoreError",
        "ClientConnectionError",
        "ClientConnectorError",
        "ClientOSError",
        "ConnectTimeoutError",
        "EndpointConnectionError",
        "ServerDisconnectedError",
        "ServerTimeoutError",
    }
)
_NETWORK_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ETIMEDOUT,
    }
)


def unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the server did not answer (network, endpoint, timeout)."""
    if isinstance(exc, _MEANINGFUL):
        return False
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    if isinstance(exc, OSError) and exc.errno in _NETWORK_ERRNOS:
        return True
    return any(cls.__name__ in _NETWORK_CLASSES for cls in type(exc).__mro__)


class Unreachable:
    """A filesystem whose calls raise :class:`StoreUnavailableError` when its server cannot
    be reached; everything else passes through unchanged."""

    def __init__(self, fs: Any, shown: str) -> None:
        self._fs = fs
        self._shown = shown

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._fs, name)
        if not callable(value):
            return value
        return self._guarded(value)

    def _guarded(self, call: Callable[..., Any]) -> Callable[..., Any]:
        shown = self._shown

        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return call(*args, **kwargs)
            except Exception as exc:
                if not unreachable(exc):
                    raise
                reason = " ".join(str(exc).split())[:200] or type(exc).__name__
                raise StoreUnavailableError(
                    f"cannot reach the store at {shown} ({reason}); check the network, the "
                    "endpoint (AWS_ENDPOINT_URL, STORAGE_EMULATOR_HOST or storage_options) and "
                    "try again"
                ) from None

        return guarded
