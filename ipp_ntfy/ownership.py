"""
Jobs that one relay among several must do alone, with takeover when it dies.

Several relays sharing one PostgreSQL database share its subscriptions and its
delivery queue, and each may take any event (see L{PostgresStore
<ipp_ntfy.store.postgres.PostgresStore>}).  Polling an upstream printer is
different: two relays polling one upstream would publish each of its events
twice.  So each upstream poller runs inside an L{ExclusiveService}, which starts
it only while this relay owns the upstream's name (L{IOwnership
<ipp_ntfy.interfaces.IOwnership>}), and stops it if the ownership is lost::

    ownership = await PostgresOwnership.open(dsn, reactor)
    ExclusiveService(ownership, "ippget:" + upstream,
                     lambda: UpstreamPoller(upstream, ...), reactor
                     ).setServiceParent(relay)

L{PostgresOwnership} holds one session-level advisory lock per name on a
connection of its own: the server releases them when that connection ends, so
when a relay's process dies (or loses the database), another relay acquires the
lock at its next try and starts polling from the cursor the dead one left in the
store.  L{LocalOwnership}, for a store only one process uses, grants everything.
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable, Generator, Optional, Set

from twisted.application.service import IService, MultiService
from twisted.internet.defer import Deferred, inlineCallbacks, succeed
from twisted.internet.interfaces import IReactorFromThreads, IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from zope.interface import implementer

from .interfaces import IOwnership


@implementer(IOwnership)
class LocalOwnership:
    """
    L{IOwnership} for a store that one relay uses alone: every name is owned at
    once and for good.
    """

    def acquire(self, name: str) -> Deferred[bool]:
        return succeed(True)

    def stillHeld(self, name: str) -> Deferred[bool]:
        return succeed(True)

    def release(self, name: str) -> Deferred[None]:
        return succeed(None)

    def close(self) -> Deferred[None]:
        return succeed(None)


def lockKey(name: str) -> int:
    """
    @return: the advisory lock key (a signed 64-bit integer) of an ownership name.
    """
    digest = hashlib.sha256(b"ipp_ntfy ownership:" + name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


#: libpq settings of the lock connection, so that a dead server or network is
#: noticed in seconds rather than minutes (unless the URL says otherwise).
_LIVENESS = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 15000,
}


@implementer(IOwnership)
class PostgresOwnership:
    """
    L{IOwnership} among the relays of one PostgreSQL database: session-level
    advisory locks (C{pg_try_advisory_lock}, keyed by L{lockKey}) on a
    connection of their own, used by a thread of their own.

    If the connection breaks, every lock is gone (the server ends the session),
    L{stillHeld} says so, and the next L{acquire} connects again.  A relay on a
    host that vanishes keeps its locks until the server notices the dead
    connection (its TCP keepalive settings decide how soon).
    """

    log = Logger()

    def __init__(self, dsn: str, worker: Any) -> None:
        """
        Use L{PostgresOwnership.open}.
        """
        self._dsn = dsn
        self._worker = worker
        self._connection: Any = None
        # Touched only in the worker's thread.
        self._owned: Set[str] = set()
        self._closed = False

    @classmethod
    def open(
        cls, dsn: str, reactor: IReactorFromThreads
    ) -> Deferred[PostgresOwnership]:
        """
        Connect to the database.

        @param dsn: the database, as libpq takes it.
        @return: a Deferred that fires with the ownership, or fails with
            psycopg's error.
        """
        from .store.sqlite import ThreadWorker

        worker = ThreadWorker(reactor, "ipp_ntfy-ownership")
        ownership = cls(dsn, worker)

        def failed(reason: Any) -> Any:
            worker.stop()
            return reason

        opening: Deferred[Any] = worker.submit(ownership._connect)
        return opening.addCallbacks(lambda _: ownership, failed)

    # In the worker's thread.

    def _connect(self) -> Any:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        given = conninfo_to_dict(self._dsn)
        extra = {key: value for key, value in _LIVENESS.items() if key not in given}
        self._owned.clear()
        self._connection = psycopg.connect(
            make_conninfo(self._dsn, **extra), autocommit=True
        )
        return self._connection

    def _live(self) -> Any:
        if self._connection is None or self._connection.closed:
            return self._connect()
        return self._connection

    def _drop(self) -> None:
        self._owned.clear()
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:
                pass
        self._connection = None

    def _tryLock(self, name: str) -> bool:
        import psycopg

        if name in self._owned and self._connection is not None:
            return True
        connection = self._live()
        try:
            [(locked,)] = connection.execute(
                "SELECT pg_try_advisory_lock(%s)", (lockKey(name),)
            ).fetchall()
        except psycopg.Error:
            self._drop()
            raise
        if locked:
            self._owned.add(name)
        return bool(locked)

    def _check(self, name: str) -> bool:
        import psycopg

        if name not in self._owned or self._connection is None:
            return False
        try:
            self._connection.execute("SELECT 1").fetchall()
        except psycopg.Error:
            self._drop()
            return False
        return True

    def _unlock(self, name: str) -> None:
        import psycopg

        if name not in self._owned or self._connection is None:
            return
        self._owned.discard(name)
        try:
            self._connection.execute("SELECT pg_advisory_unlock(%s)", (lockKey(name),))
        except psycopg.Error:
            self._drop()

    # IOwnership.

    def acquire(self, name: str) -> Deferred[bool]:
        """
        See L{IOwnership.acquire}; connects first if the connection was lost.
        It fails with psycopg's error if the database cannot be reached.
        """
        result: Deferred[bool] = self._worker.submit(lambda: self._tryLock(name))
        return result

    def stillHeld(self, name: str) -> Deferred[bool]:
        """
        See L{IOwnership.stillHeld}: asks the server, so a connection that broke
        is found out.
        """
        result: Deferred[bool] = self._worker.submit(lambda: self._check(name))
        return result

    def release(self, name: str) -> Deferred[None]:
        """
        See L{IOwnership.release}.
        """
        result: Deferred[None] = self._worker.submit(lambda: self._unlock(name))
        return result

    def close(self) -> Deferred[None]:
        """
        See L{IOwnership.close}: the connection is closed, which releases every
        lock, and the thread ends.
        """
        if self._closed:
            return succeed(None)
        self._closed = True
        closing: Deferred[None] = self._worker.submit(self._drop)
        self._worker.stop()
        return closing


class ExclusiveService(MultiService):
    """
    Runs a service only while this relay owns C{name}: every C{interval}
    seconds it tries to acquire the name (and then builds and starts the service
    with C{factory}) or, once owned, checks that it is still held (and stops the
    service if not).  A fresh service is built at each acquisition, so it starts
    from what is stored, not from what a previous run kept in memory.

    @ivar ownershipName: the ownership's name.
    @ivar owned: the service while it runs, else C{None}.
    """

    log = Logger()

    def __init__(
        self,
        ownership: IOwnership,
        name: str,
        factory: Callable[[], IService],
        clock: IReactorTime,
        interval: float = 5.0,
    ) -> None:
        """
        @param ownership: who owns what (L{IOwnership}).
        @param name: the name to own, e.g. C{"ippget:" + upstreamUri}.
        @param factory: builds the service to run while owned.
        @param clock: for the timer.
        @param interval: seconds between two tries or checks; after the owner
            dies, another relay takes over within about this long.
        """
        super().__init__()
        self.ownership = ownership
        self.ownershipName = name
        self.factory = factory
        self.clock = clock
        self.interval = interval
        self.owned: Optional[IService] = None
        self._loop: Optional[LoopingCall] = None
        self._looping: Deferred[Any] = succeed(None)
        self._unreachable = False
        self._waiting = False

    def startService(self) -> None:
        super().startService()
        self._loop = LoopingCall(self._check)
        self._loop.clock = self.clock
        self._looping = self._loop.start(self.interval, now=True)
        self._looping.addErrback(
            lambda f: self.log.failure(
                "checking ownership of {name}", f, name=self.ownershipName
            )
        )

    @inlineCallbacks
    def stopService(self) -> Generator[Deferred[Any], Any, None]:
        """
        Stop trying; stop the service if it runs, then give up the name.
        """
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        yield self._looping
        yield super().stopService()
        if self.owned is not None:
            self.owned = None
            try:
                yield self.ownership.release(self.ownershipName)
            except Exception:
                self.log.failure("releasing {name}", name=self.ownershipName)

    @inlineCallbacks
    def _check(self) -> Generator[Deferred[Any], Any, None]:
        if self.owned is None:
            try:
                owned = yield self.ownership.acquire(self.ownershipName)
            except Exception as e:
                if not self._unreachable:
                    self.log.warn(
                        "cannot tell who owns {name}: {error}; trying again",
                        name=self.ownershipName,
                        error=" ".join(str(e).split()),
                    )
                self._unreachable = True
                return
            self._unreachable = False
            if not owned:
                if not self._waiting:
                    self.log.info(
                        "{name} is another relay's; taking over if it stops",
                        name=self.ownershipName,
                    )
                self._waiting = True
                return
            if not self.running or self.owned is not None:
                return
            self._waiting = False
            self.log.info("{name} is this relay's now", name=self.ownershipName)
            service = self.factory()
            self.owned = service
            service.setServiceParent(self)
        else:
            try:
                held = yield self.ownership.stillHeld(self.ownershipName)
            except Exception:
                held = False
            if held or self.owned is None:
                return
            self.log.warn("lost {name}: stopping it here", name=self.ownershipName)
            service, self.owned = self.owned, None
            yield service.disownServiceParent()


__all__ = ["ExclusiveService", "LocalOwnership", "PostgresOwnership", "lockKey"]
