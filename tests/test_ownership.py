"""
Ownership of jobs that one relay does alone (L{ipp_ntfy.ownership}): advisory
locks on a real PostgreSQL server (L{tests.postgres}), takeover when the owner's
process dies, and L{ExclusiveService} starting and stopping what it guards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any, List

import psycopg
from twisted.application.service import Service
from twisted.internet import reactor as _reactor
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock, deferLater
from twisted.trial.unittest import SynchronousTestCase, TestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from ipp_ntfy.interfaces import IOwnership
from ipp_ntfy.ownership import (
    ExclusiveService,
    LocalOwnership,
    PostgresOwnership,
    lockKey,
)

from .postgres import freshDatabase

reactor: Any = _reactor


class Job(Service):
    """
    A service that records when it runs.
    """

    def __init__(self, log: List[str], name: str) -> None:
        self.log = log
        self.name = name

    def startService(self) -> None:
        super().startService()
        self.log.append(f"start {self.name}")

    def stopService(self) -> Deferred[None]:
        super().stopService()
        self.log.append(f"stop {self.name}")
        return succeed(None)


@implementer(IOwnership)
class FakeOwnership:
    """
    An L{IOwnership} the test decides for.
    """

    def __init__(self) -> None:
        self.free = False
        self.held = True
        self.released: List[str] = []

    def acquire(self, name: str) -> Deferred[bool]:
        return succeed(self.free)

    def stillHeld(self, name: str) -> Deferred[bool]:
        return succeed(self.held)

    def release(self, name: str) -> Deferred[None]:
        self.released.append(name)
        return succeed(None)

    def close(self) -> Deferred[None]:
        return succeed(None)


class ExclusiveServiceTests(SynchronousTestCase):
    def test_runsOnlyWhileOwned(self) -> None:
        """
        The guarded service is built and started once the name is acquired,
        stopped when it is lost, built anew when acquired again, and the name
        is released when the exclusive service stops.
        """
        clock = Clock()
        ownership = FakeOwnership()
        log: List[str] = []
        built: List[int] = []

        def factory() -> Job:
            built.append(1)
            return Job(log, f"job{len(built)}")

        service = ExclusiveService(ownership, "ippget:x", factory, clock, 5)
        service.startService()
        self.assertEqual(log, [])
        ownership.free = True
        clock.advance(5)
        self.assertEqual(log, ["start job1"])
        clock.advance(5)
        self.assertEqual(log, ["start job1"])
        ownership.held = False
        clock.advance(5)
        self.assertEqual(log, ["start job1", "stop job1"])
        self.assertIsNone(service.owned)
        ownership.held = True
        clock.advance(5)
        self.assertEqual(log, ["start job1", "stop job1", "start job2"])
        self.successResultOf(service.stopService())
        self.assertEqual(log[-1], "stop job2")
        self.assertEqual(ownership.released, ["ippget:x"])

    def test_local(self) -> None:
        """
        L{LocalOwnership} grants everything.
        """
        ownership = LocalOwnership()
        self.assertTrue(verifyObject(IOwnership, ownership))
        self.assertTrue(self.successResultOf(ownership.acquire("a")))
        self.assertTrue(self.successResultOf(ownership.stillHeld("a")))

    def test_lockKey(self) -> None:
        """
        Keys are signed 64-bit integers, one per name.
        """
        keys = {lockKey(f"ippget:ipp://cups/printers/{n}") for n in range(1000)}
        self.assertEqual(len(keys), 1000)
        self.assertTrue(all(-(2**63) <= key < 2**63 for key in keys))


class PostgresOwnershipTests(TestCase):
    timeout = 60

    async def open(self, dsn: str) -> PostgresOwnership:
        ownership = await PostgresOwnership.open(dsn, reactor)
        self.addCleanup(ownership.close)
        return ownership

    async def acquired(self, ownership: PostgresOwnership, name: str) -> None:
        """
        Try to acquire C{name} until it is free, for 20 seconds at most.
        """
        deadline = time.monotonic() + 20
        while not await ownership.acquire(name):
            self.assertLess(time.monotonic(), deadline, f"{name} was not released")
            await deferLater(reactor, 0.05, lambda: None)

    async def test_exclusive(self) -> None:
        """
        One owner per name; a name given up, or whose connection is lost, is
        free for another.
        """
        dsn = freshDatabase(self)
        first = await self.open(dsn)
        second = await self.open(dsn)
        self.assertTrue(verifyObject(IOwnership, first))
        self.assertTrue(await first.acquire("a"))
        self.assertTrue(await first.acquire("a"))
        self.assertFalse(await second.acquire("a"))
        self.assertTrue(await second.acquire("b"))
        self.assertFalse(await first.acquire("b"))
        await first.release("a")
        self.assertFalse(await first.stillHeld("a"))
        self.assertTrue(await second.acquire("a"))
        # The server ends second's session: its locks go with it.
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid, 10000) FROM pg_locks"
                " WHERE locktype = 'advisory' AND pid <> pg_backend_pid()"
                " AND database = (SELECT oid FROM pg_database"
                " WHERE datname = current_database())"
            )
        self.assertFalse(await second.stillHeld("a"))
        self.assertFalse(await second.stillHeld("b"))
        await self.acquired(first, "b")
        # second connects again for its next try.
        self.assertTrue(await second.acquire("a"))
        await second.close()
        # The server ends the session once it sees the connection closed.
        await self.acquired(first, "a")

    async def test_ownerKilled(self) -> None:
        """
        When the process that holds a name dies (SIGKILL), the server releases
        it and another acquires it.
        """
        dsn = freshDatabase(self)
        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys, time, psycopg\n"
                "c = psycopg.connect(sys.argv[1], autocommit=True)\n"
                "c.execute('SELECT pg_advisory_lock(%s)', (int(sys.argv[2]),))\n"
                "print('locked', flush=True)\n"
                "time.sleep(600)\n",
                dsn,
                str(lockKey("ippget:q")),
            ],
            stdout=subprocess.PIPE,
            env=dict(os.environ),
        )
        self.addCleanup(child.wait)
        self.addCleanup(child.kill)
        assert child.stdout is not None
        self.assertEqual(child.stdout.readline(), b"locked\n")
        ownership = await self.open(dsn)
        self.assertFalse(await ownership.acquire("ippget:q"))
        child.send_signal(signal.SIGKILL)
        await self.acquired(ownership, "ippget:q")
        self.assertTrue(await ownership.stillHeld("ippget:q"))

    async def test_takeover(self) -> None:
        """
        Two relays' exclusive services on one name: one runs the job; when it
        stops, the other takes over.
        """
        dsn = freshDatabase(self)
        log: List[str] = []
        services = []
        for name in ("one", "two"):
            ownership = await self.open(dsn)

            def job(name: str = name) -> Job:
                return Job(log, name)

            service = ExclusiveService(ownership, "ippget:q", job, reactor, 0.1)
            service.startService()
            self.addCleanup(service.stopService)
            services.append(service)
        await deferLater(reactor, 0.5, lambda: None)
        self.assertEqual(len(log), 1, log)
        [started] = log
        running = services[0] if started == "start one" else services[1]
        other = services[1] if running is services[0] else services[0]
        await running.stopService()
        deadline = time.monotonic() + 10
        while other.owned is None:
            self.assertLess(time.monotonic(), deadline, log)
            await deferLater(reactor, 0.1, lambda: None)
        self.assertEqual(len(log), 3, log)
        self.assertEqual(log[1], started.replace("start", "stop"))
        self.assertNotEqual(log[2], started)
