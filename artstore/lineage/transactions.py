"""Transactions on the catalog database: each unit of work in one, waiting out locks and
rerunning after a conflict."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from artstore.lineage._engine import WRITE_OPTION, is_locked, is_retryable
from artstore.lineage.locks import LockWait

__all__ = ["Transactions"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
_MAX_ATTEMPTS = 25


class Transactions:
    """Runs functions of a session, each in its own transaction on one engine.

    While another process holds the database locked, a transaction waits (saying so after a
    few seconds) up to ``lock_limit`` seconds, then raises ``CatalogBusyError``.
    """

    def __init__(self, engine: Engine, url: str, lock_limit: float) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self._url = url
        self._lock_limit = lock_limit

    def read(self, work: Callable[[Session], _T]) -> _T:
        """``work(session)`` in a read transaction.

        Raises:
            CatalogBusyError: the database stayed locked past the limit.
        """
        wait = LockWait(self._url, self._lock_limit)
        while True:
            try:
                with Session(self._engine) as session, session.begin():
                    return work(session)
            except DBAPIError as exc:
                if not is_locked(exc):
                    raise
                wait.locked()

    def write(self, work: Callable[[Session], _T]) -> _T:
        """``work(session)`` in a write transaction, run again from the start after a
        conflict with another writer (a unique constraint or a serialization failure).

        Raises:
            CatalogBusyError: the database stayed locked past the limit.
        """
        # The whole unit of work reruns after a conflict, so nothing read before it is stale.
        wait = LockWait(self._url, self._lock_limit)
        conflicts = 0
        while True:
            try:
                with Session(self._writer, expire_on_commit=False) as session, session.begin():
                    return work(session)
            except DBAPIError as exc:
                if is_locked(exc):
                    wait.locked()
                    continue
                conflicts += 1
                if conflicts == _MAX_ATTEMPTS or not is_retryable(exc):
                    raise
                logger.debug("catalog write conflict, retrying (%d): %s", conflicts, exc.orig)
