"""
The subscription stores: the shared contract (L{tests.storetests}) against both,
what only the SQLite store does, and the two compared on random operations.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from typing import Any, Callable, List, Optional, Tuple, TypeVar

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet import reactor
from twisted.internet.defer import Deferred, execute, gatherResults, succeed
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase, TestCase

import ipp_ntfy.store as storeModule  # noqa: N812
from ipp_ntfy.interfaces import ISubscriptionStore
from ipp_ntfy.store import (
    MemoryStore,
    SchemaVersionError,
    SQLiteStore,
    StoreClosedError,
    StoreFileError,
    _checkSequences,
    sqlite,
)
from ipp_ntfy.subscription import Subscription

from .storetests import (
    HISTORY_BEFORE_MIGRATION,
    KEPT_AFTER_MIGRATION,
    QUEUE_BEFORE_MIGRATION,
    StoreTestsMixin,
    pull,
    push,
)

_T = TypeVar("_T")


class InlineWorker:
    """
    A L{sqlite.SQLiteWorker} that runs each call at once, in the calling thread.
    """

    stopped = False

    def submit(self, work: Callable[[], _T]) -> Deferred[_T]:
        return execute(work)

    def stop(self) -> None:
        self.stopped = True


class ManualWorker:
    """
    A L{sqlite.SQLiteWorker} that runs calls when the test says so.
    """

    stopped = False

    def __init__(self) -> None:
        self.work: List[Tuple[Callable[[], Any], Deferred[Any]]] = []

    def submit(self, work: Callable[[], _T]) -> Deferred[_T]:
        deferred: Deferred[_T] = Deferred()
        self.work.append((work, deferred))
        return deferred

    def stop(self) -> None:
        self.stopped = True

    def runAll(self) -> None:
        while self.work:
            work, deferred = self.work.pop(0)
            execute(work).chainDeferred(deferred)


class MemoryStoreTests(StoreTestsMixin, TestCase):
    def makeStore(self, maxQueued: int = 10000) -> Deferred[ISubscriptionStore]:
        store = MemoryStore(maxQueued)
        self.addCleanup(store.close)
        return succeed(store)

    def test_badMaxQueued(self) -> None:
        """
        C{maxQueued} is 1 or more.
        """
        self.assertRaises(ValueError, MemoryStore, 0)
        self.assertRaises(TypeError, MemoryStore, "10")


class SQLiteStoreTests(StoreTestsMixin, TestCase):
    """
    The shared tests, on a file with the real reactor and thread, and what only the
    SQLite store does.
    """

    def openStore(self, path: str, **options: Any) -> Deferred[SQLiteStore]:
        """
        @return: the store at C{path}, closed when the test ends.
        """

        def opened(store: SQLiteStore) -> SQLiteStore:
            self.addCleanup(store.close)
            return store

        return SQLiteStore.open(path, reactor, **options).addCallback(opened)

    def makeStore(self, maxQueued: int = 10000) -> Deferred[ISubscriptionStore]:
        return self.openStore(self.mktemp(), maxQueued=maxQueued).addCallback(
            lambda store: store
        )

    def rawConnection(self, path: str) -> sqlite3.Connection:
        connection = sqlite3.connect(path, isolation_level=None)
        self.addCleanup(connection.close)
        return connection

    def pragma(self, path: str, name: str) -> object:
        connection = sqlite3.connect(path)
        try:
            return connection.execute(f"PRAGMA {name}").fetchone()[0]
        finally:
            connection.close()

    async def test_survivesReopening(self) -> None:
        """
        Subscriptions, sequence numbers, the id counter, history, queue and dead
        letters are all there after closing and opening the file again.
        """
        path = self.mktemp()
        store = await self.openStore(path, maxQueued=3)
        a = (await store.createSubscription(push())).subscriptionId
        b = (await store.createSubscription(pull(jobId=3))).subscriptionId
        gone = (await store.createSubscription(push())).subscriptionId
        await store.appendEvents([(a, b"a")] * 4 + [(b, b"b")] * 2 + [(gone, b"g")], 1)
        await store.reschedule(a, [2], 50, "timeout")
        await store.deadLetter(a, [3], "HTTP 400", 5)
        await store.deadLetter(gone, [1], "HTTP 400", 5)
        await store.cancelSubscription(gone)
        subscriptions = await store.listSubscriptions()
        due = await store.dueEvents(100, 10, 10)
        letters = await store.deadLetters()
        history = await store.eventsSince(b, 0, 10)
        await store.setCursor("upstream", "7:12")
        await store.close()

        store = await self.openStore(path, maxQueued=3)
        self.assertEqual(await store.getCursor("upstream"), "7:12")
        self.assertEqual(await store.listSubscriptions(), subscriptions)
        self.assertEqual(await store.dueEvents(100, 10, 10), due)
        self.assertEqual(await store.deadLetters(), letters)
        self.assertEqual(await store.eventsSince(b, 0, 10), history)
        self.assertEqual(await store.nextDue(), 50.0)
        self.assertEqual(await store.appendEvents([(a, b"a"), (b, b"b")], 2), [5, 3])
        self.assertEqual((await store.createSubscription(push())).subscriptionId, 4)

    async def test_groupCommit(self) -> None:
        """
        The writes asked for in one reactor turn are one transaction, a thousand
        entries in one call included; reads commit nothing.
        """
        store = await self.openStore(self.mktemp())
        sid = (await store.createSubscription(push())).subscriptionId
        before = store.commits
        calls: List[Deferred[Any]] = [
            store.appendEvents([(sid, b"%d" % i)], i) for i in range(10)
        ]
        calls.append(store.appendEvents([(sid, b"x")] * 1000, 10))
        calls.append(store.replayHistory(sid, 1, 11))
        results = await gatherResults(calls)
        self.assertEqual(results[:10], [[i] for i in range(1, 11)])
        self.assertEqual(results[10], list(range(11, 1011)))
        self.assertEqual(store.commits, before + 1)
        reads: List[Deferred[Any]] = [store.queueDepth(), store.getSubscription(sid)]
        await gatherResults(reads)
        self.assertEqual(store.commits, before + 1)

    async def test_appendsOfOneTurnRunAsOne(self) -> None:
        """
        C{appendEvents} calls next to each other in a batch run as one: one
        savepoint and one statement of each kind for them all, each call with its
        own sequence numbers and times; a call of another kind between them
        keeps its place.
        """
        path = self.mktemp()
        store = await self.openStore(path)
        a = (await store.createSubscription(push())).subscriptionId
        b = (await store.createSubscription(pull())).subscriptionId
        statements: List[str] = []
        connection = store._connection
        assert connection is not None
        # In the store's thread, which owns the connection.
        await store._worker.submit(
            lambda: connection.set_trace_callback(statements.append)
        )
        calls: List[Deferred[Any]] = [
            store.appendEvents([(a, b"1"), (b, b"1")], 1),
            store.appendEvents([(a, b"2"), (99, b"x")], 2),
            store.appendEvents([(b, b"3")], 3),
            store.queueDepth(a),
            store.appendEvents([(a, b"4")], 4),
        ]
        results = await gatherResults(calls)
        await store._worker.submit(lambda: connection.set_trace_callback(None))
        self.assertEqual(results, [[1, 1], [2, 0], [2], 2, [3]])
        # Two operations: the three calls before the read, and the last one.
        self.assertEqual(statements.count("SAVEPOINT operation"), 2)
        # Each subscription is looked up once per operation.
        self.assertEqual(
            len([s for s in statements if s.startswith("SELECT lastSequence")]), 4
        )
        self.assertEqual(statements.count("SAVEPOINT appends"), 1)
        due = await store.dueEvents(10, 10, 10)
        self.assertEqual(
            [(e.sequenceNumber, e.payload, e.queuedAt) for e in due],
            [(1, b"1", 1.0), (2, b"2", 2.0), (3, b"4", 4.0)],
        )
        self.assertEqual(
            [
                (sequence, stored)
                for sequence, _, stored in await store.eventsSince(b, 1, 10)
            ],
            [(1, 1.0), (2, 3.0)],
        )
        self.assertEqual(await store.nextDue(), 1.0)

    async def test_payloadsStoredAsBlobs(self) -> None:
        """
        The payloads are stored as BLOBs of their octets in the history, one
        payload for several subscriptions as for one; the queue holds no copy of
        them (NULL: read from the history).  They read back as L{bytes}.
        """
        store = await self.openStore(self.mktemp())
        a = (await store.createSubscription(push())).subscriptionId
        b = (await store.createSubscription(push())).subscriptionId
        payloads = [b"", b"\x00\xff{", bytes(range(256)) * 3]
        for payload in payloads:
            await store.appendEvents([(a, payload), (b, payload)], 1)
        self.assertEqual(
            sorted(await self.rows(store, "history")),
            sorted(
                (subscription, "blob", payload)
                for subscription in (a, b)
                for payload in payloads
            ),
        )
        self.assertEqual(
            await self.rows(store, "queue"),
            [(a, "null", None)] * 3 + [(b, "null", None)] * 3,
        )
        due = await store.dueEvents(10, 10, 10)
        self.assertEqual([e.payload for e in due], payloads * 2)
        self.assertEqual({type(e.payload) for e in due}, {bytes})
        for subscription in (a, b):
            history = await store.eventsSince(subscription, 1, 10)
            self.assertEqual([payload for _, payload, _ in history], payloads)
            self.assertEqual({type(payload) for _, payload, _ in history}, {bytes})

    async def rows(
        self, store: SQLiteStore, table: str
    ) -> List[Tuple[int, str, Optional[bytes]]]:
        """
        @return: C{(subscriptionId, typeof(payload), payload)} of each row of
            C{table}, in key order.
        """
        connection = store._connection
        assert connection is not None
        return await store._worker.submit(
            lambda: connection.execute(
                f"SELECT subscriptionId, typeof(payload), payload FROM {table}"
                " ORDER BY subscriptionId, sequence"
            ).fetchall()
        )

    async def test_pruningCopiesQueuedPayloads(self) -> None:
        """
        A queued event whose history row is pruned gets a copy of its payload in
        the queue first; one whose row stays does not.  Both are delivered with
        their payloads, and the queue's copy goes with its event.
        """
        store = await self.openStore(self.mktemp())
        sid = (await store.createSubscription(push())).subscriptionId
        await store.appendEvents([(sid, b"old")], 1)
        await store.appendEvents([(sid, b"new")], 200)
        self.assertEqual(await store.pruneHistory(0, 100), 1)
        self.assertEqual(
            await self.rows(store, "queue"),
            [(sid, "blob", b"old"), (sid, "null", None)],
        )
        self.assertEqual(await self.rows(store, "history"), [(sid, "blob", b"new")])
        due = await store.dueEvents(300, 10, 10)
        self.assertEqual(
            [(e.sequenceNumber, e.payload) for e in due], [(1, b"old"), (2, b"new")]
        )
        await store.deadLetter(sid, [1], "gone", 300)
        [dead] = await store.deadLetters(sid)
        self.assertEqual((dead.sequenceNumber, dead.payload), (1, b"old"))
        await store.deadLetter(sid, [2], "gone", 300)
        self.assertEqual(
            [d.payload for d in await store.deadLetters(sid)], [b"old", b"new"]
        )
        self.assertEqual(await self.rows(store, "queue"), [])

    async def test_migratesQueuedPayloads(self) -> None:
        """
        Schema version 3 drops the queue's copy of a payload where the history
        has the same one, and keeps it where the history has none (pruned) or
        another; every queued event reads back as before.
        """
        path = self.mktemp()
        migrations = sqlite.MIGRATIONS
        self.assertEqual(len(migrations), 3)
        self.patch(sqlite, "MIGRATIONS", migrations[:2])
        store = await self.openStore(path)
        sid = (await store.createSubscription(push())).subscriptionId
        await store.close()
        raw = self.rawConnection(path)
        raw.executemany(
            "INSERT INTO history (subscriptionId, sequence, payload, storedAt)"
            " VALUES (?, ?, ?, 1)",
            [(sid, *row) for row in HISTORY_BEFORE_MIGRATION],
        )
        raw.executemany(
            "INSERT INTO queue (subscriptionId, sequence, payload, attempts,"
            " queuedAt, notBefore, lastError) VALUES (?, ?, ?, ?, 1, 5, ?)",
            [(sid, *row) for row in QUEUE_BEFORE_MIGRATION],
        )
        raw.execute("UPDATE subscriptions SET lastSequence = 4, headNotBefore = 5")
        raw.close()
        self.patch(sqlite, "MIGRATIONS", migrations)
        store = await self.openStore(path)
        self.assertEqual(
            await self.rows(store, "queue"),
            [
                (sid, "null" if kept is None else "blob", kept)
                for kept in KEPT_AFTER_MIGRATION
            ],
        )
        due = await store.dueEvents(10, 10, 10)
        self.assertEqual(
            [(e.sequenceNumber, e.payload, e.attempts, e.lastError) for e in due],
            QUEUE_BEFORE_MIGRATION,
        )
        await store.appendEvents([(sid, b"five")], 6)
        self.assertEqual(await store.queueDepth(sid), 5)
        await store.close()
        self.assertEqual(self.pragma(path, "user_version"), 3)

    async def test_mergedAppendFailingRunsEachAlone(self) -> None:
        """
        When the merged C{appendEvents} calls fail together, each runs again
        alone: the one whose SQL fails fails, the others are committed.
        """
        path = self.mktemp()
        store = await self.openStore(path)
        a = (await store.createSubscription(push())).subscriptionId
        b = (await store.createSubscription(push())).subscriptionId
        # A history row in the way of b's next sequence number.
        other = self.rawConnection(path)
        other.execute(
            "INSERT INTO history (subscriptionId, sequence, payload, storedAt)"
            " VALUES (?, 1, x'00', 0)",
            (b,),
        )
        first = store.appendEvents([(a, b"1")], 1)
        bad = store.appendEvents([(b, b"1")], 1)
        last = store.appendEvents([(a, b"2")], 2)
        await self.assertFailure(bad, sqlite3.IntegrityError)
        self.assertEqual(await first, [1])
        self.assertEqual(await last, [2])
        self.assertEqual(await store.queueDepth(a), 2)
        self.assertEqual(await store.queueDepth(b), 0)
        subscription = await store.getSubscription(b)
        assert subscription is not None
        self.assertEqual(subscription.lastSequence, 0)

    async def test_mergedAppendsKeepQueueLimit(self) -> None:
        """
        Merged C{appendEvents} calls apply the queue limit as the calls one
        after the other would: the oldest go to the dead letters.
        """
        store = await self.openStore(self.mktemp(), maxQueued=3)
        a = (await store.createSubscription(push())).subscriptionId
        calls = [store.appendEvents([(a, b"%d" % i)], i) for i in range(1, 6)]
        self.assertEqual(await gatherResults(calls), [[1], [2], [3], [4], [5]])
        due = await store.dueEvents(10, 10, 10)
        self.assertEqual([e.sequenceNumber for e in due], [3, 4, 5])
        self.assertEqual(await store.nextDue(), 3.0)
        letters = await store.deadLetters(a)
        self.assertEqual([letter.sequenceNumber for letter in letters], [1, 2])

    async def test_failingOperationFailsAlone(self) -> None:
        """
        An operation whose SQL fails is rolled back and fails; the others of its
        transaction are committed.
        """
        store = await self.openStore(self.mktemp())

        def failing(connection: sqlite3.Connection) -> None:
            sqlite._createSubscription(connection, pull())
            connection.execute("INSERT INTO queue (subscriptionId) VALUES (1)")

        created = store.createSubscription(push())
        bad = store._write(failing)
        appended = store.appendEvents([(1, b"e")], 1)
        await self.assertFailure(bad, sqlite3.IntegrityError)
        self.assertEqual((await created).subscriptionId, 1)
        self.assertEqual(await appended, [1])
        self.assertEqual(store.commits, 1)
        self.assertEqual(len(await store.listSubscriptions()), 1)

    async def test_failingOnlyWriteRolledBack(self) -> None:
        """
        A batch with one operation that writes runs it without a savepoint: if
        it fails, what it wrote is rolled back, nothing is committed, and the
        reads of its batch and the next batches go on.
        """
        store = await self.openStore(self.mktemp())
        await store.createSubscription(push())
        commits = store.commits
        statements: List[str] = []
        connection = store._connection
        assert connection is not None
        await store._worker.submit(
            lambda: connection.set_trace_callback(statements.append)
        )

        def failing(connection: sqlite3.Connection) -> None:
            sqlite._createSubscription(connection, pull())
            connection.execute("INSERT INTO queue (subscriptionId) VALUES (1)")

        bad = store._write(failing)
        listed = store.listSubscriptions()
        await self.assertFailure(bad, sqlite3.IntegrityError)
        self.assertEqual(len(await listed), 1)
        self.assertEqual(store.commits, commits)
        self.assertEqual(await store.appendEvents([(1, b"e")], 1), [1])
        await store._worker.submit(lambda: connection.set_trace_callback(None))
        self.assertEqual(store.commits, commits + 1)
        self.assertNotIn("SAVEPOINT operation", statements)
        self.assertEqual(len(await store.listSubscriptions()), 1)

    async def test_badArgumentFailsAtOnce(self) -> None:
        """
        An operation with a bad argument fails at once and is not part of the
        transaction of the others asked for in the same turn.
        """
        store = await self.openStore(self.mktemp())
        created = store.createSubscription(push())
        bad = store.appendEvents([(1, "text")], 1)  # type: ignore[list-item]
        self.failureResultOf(bad, TypeError)
        appended = store.appendEvents([(1, b"bytes")], 1)
        self.assertEqual((await created).subscriptionId, 1)
        self.assertEqual(await appended, [1])
        self.assertEqual(store.commits, 1)

    async def test_lockedFileFailsTheTransaction(self) -> None:
        """
        When the transaction as a whole cannot be done (another process holds the
        file), every operation in it fails and nothing of it is written.
        """
        path = self.mktemp()
        store = await self.openStore(path, busyTimeout=0.05)
        sid = (await store.createSubscription(push())).subscriptionId
        other = self.rawConnection(path)
        other.execute("BEGIN IMMEDIATE")
        try:
            calls: List[Deferred[Any]] = [
                store.appendEvents([(sid, b"1")], 1),
                store.createSubscription(pull()),
                store.queueDepth(),
            ]
            for call in calls:
                await self.assertFailure(call, sqlite3.OperationalError)
        finally:
            other.execute("ROLLBACK")
        self.assertEqual(await store.appendEvents([(sid, b"2")], 2), [1])
        self.assertEqual(len(await store.listSubscriptions()), 1)

    async def test_offTheReactorThread(self) -> None:
        """
        Every SQLite call, from connecting to closing, runs in the store's one
        thread, never in the reactor's.
        """
        threads: List[int] = []

        class Recording(sqlite3.Connection):
            def execute(self, *args: Any, **kwargs: Any) -> sqlite3.Cursor:
                threads.append(threading.get_ident())
                return super().execute(*args, **kwargs)

            def executemany(self, *args: Any, **kwargs: Any) -> sqlite3.Cursor:
                threads.append(threading.get_ident())
                return super().executemany(*args, **kwargs)

            def close(self) -> None:
                threads.append(threading.get_ident())
                super().close()

        def connect(path: str, timeout: float) -> sqlite3.Connection:
            threads.append(threading.get_ident())
            return sqlite3.connect(
                path, timeout=timeout, isolation_level=None, factory=Recording
            )

        self.patch(sqlite, "_connect", connect)
        store = await self.openStore(self.mktemp())
        sid = (await store.createSubscription(push())).subscriptionId
        await store.appendEvents([(sid, b"1"), (sid, b"2")], 1)
        await store.dueEvents(1, 10, 10)
        await store.reschedule(sid, [1], 2, "e")
        await store.deadLetter(sid, [2], "e", 3)
        await store.replayDeadLetters(None, 4)
        await store.close()
        worker = store._worker
        assert isinstance(worker, sqlite.ThreadWorker)
        self.assertGreater(len(threads), 20)
        self.assertEqual(set(threads), {worker.ident})
        self.assertNotEqual(worker.ident, threading.get_ident())
        worker._thread.join(5)
        self.assertFalse(worker._thread.is_alive())

    async def test_pragmas(self) -> None:
        """
        The file is in WAL mode, with C{synchronous=FULL} and foreign keys.
        """
        store = await self.openStore(self.mktemp())

        def pragmas(connection: sqlite3.Connection) -> List[object]:
            return [
                connection.execute(f"PRAGMA {name}").fetchone()[0]
                for name in ("journal_mode", "synchronous", "foreign_keys")
            ]

        self.assertEqual(await store._read(pragmas), ["wal", 2, 1])

    async def test_dueEventsUsesIndex(self) -> None:
        """
        The due heads are found by the partial index, not by scanning.
        """
        store = await self.openStore(self.mktemp())
        plan = await store._read(
            lambda c: c.execute(
                f"EXPLAIN QUERY PLAN {sqlite._DUE_HEADS}", (0, 1)
            ).fetchall()
        )
        self.assertIn("subscriptionsByHead", " ".join(str(row[-1]) for row in plan))

    async def test_closeFinishesWrites(self) -> None:
        """
        C{close} refuses new operations at once, but finishes those asked for
        before; they are in the file.
        """
        path = self.mktemp()
        store = await self.openStore(path)
        created = store.createSubscription(push())
        appended = store.appendEvents([(1, b"e")], 1)
        closed = store.close()
        self.failureResultOf(store.queueDepth(), StoreClosedError)
        await closed
        self.assertEqual(self.successResultOf(appended), [1])
        self.assertEqual(self.successResultOf(created).subscriptionId, 1)
        store = await self.openStore(path)
        self.assertEqual(await store.queueDepth(1), 1)

    async def test_migratesVersion0(self) -> None:
        """
        A file of schema version 0 (new and empty) is brought to the current
        version.
        """
        path = self.mktemp()
        self.rawConnection(path).execute("PRAGMA user_version = 0")
        store = await self.openStore(path)
        await store.createSubscription(push())
        await store.close()
        self.assertEqual(self.pragma(path, "user_version"), len(sqlite.MIGRATIONS))
        self.assertEqual(self.pragma(path, "application_id"), sqlite.APPLICATION_ID)

    async def test_migratesToAppendedVersion(self) -> None:
        """
        A migration appended to L{sqlite.MIGRATIONS} runs once, on a file of the
        version before, which keeps its data.
        """
        path = self.mktemp()
        store = await self.openStore(path)
        await store.createSubscription(push())
        await store.appendEvents([(1, b"e")], 1)
        await store.close()
        ran: List[object] = []

        def addNotes(connection: sqlite3.Connection) -> None:
            ran.append(connection.execute("PRAGMA user_version").fetchone()[0])
            connection.execute("CREATE TABLE notes (note TEXT)")

        self.patch(sqlite, "MIGRATIONS", [*sqlite.MIGRATIONS, addNotes])
        for _ in range(2):
            store = await self.openStore(path)
            self.assertEqual((await store.getSubscription(1)).lastSequence, 1)  # type: ignore[union-attr]
            await store.close()
        current = len(sqlite.MIGRATIONS) - 1
        self.assertEqual(ran, [current])
        self.assertEqual(self.pragma(path, "user_version"), current + 1)

    async def test_refusesNewerVersion(self) -> None:
        """
        A file of a newer schema version is refused, untouched, with an error that
        says so.
        """
        path = self.mktemp()
        self.rawConnection(path).execute("PRAGMA user_version = 99")
        try:
            await SQLiteStore.open(path, reactor)
        except SchemaVersionError as e:
            error = e
        else:
            self.fail("opened a file of a newer schema")
        self.assertEqual(
            (error.path, error.version, error.supported),
            (path, 99, len(sqlite.MIGRATIONS)),
        )
        self.assertIn("schema version 99 is newer", str(error))
        self.assertEqual(self.pragma(path, "user_version"), 99)

    async def test_refusesForeignFile(self) -> None:
        """
        A SQLite file that is not a store is refused.
        """
        path = self.mktemp()
        self.rawConnection(path).execute("CREATE TABLE mine (x)")
        error = await self.assertFailure(
            SQLiteStore.open(path, reactor), StoreFileError
        )
        self.assertIn("not an ipp_ntfy store", str(error))
        other = self.mktemp()
        self.rawConnection(other).execute("PRAGMA application_id = 7")
        await self.assertFailure(SQLiteStore.open(other, reactor), StoreFileError)


class SQLiteBatchTests(SynchronousTestCase):
    """
    How the SQLite store batches operations, step by step with a L{Clock} and a
    worker that runs when told.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.worker = ManualWorker()
        opening = SQLiteStore.open(":memory:", self.clock, worker=self.worker)
        self.worker.runAll()
        self.store = self.successResultOf(opening)

    def test_oneBatchAtATime(self) -> None:
        """
        Operations wait for the end of the reactor turn; those asked for while a
        transaction runs go together in the next one.
        """
        created = self.store.createSubscription(push())
        self.assertEqual(self.worker.work, [])
        self.clock.advance(0)
        self.assertEqual(len(self.worker.work), 1)
        first = self.store.appendEvents([(1, b"1")], 1)
        self.clock.advance(0)
        second = self.store.appendEvents([(1, b"2")], 2)
        self.clock.advance(0)
        self.assertEqual(len(self.worker.work), 1)
        self.worker.runAll()
        self.assertEqual(self.successResultOf(created).subscriptionId, 1)
        self.assertNoResult(first)
        self.assertEqual(self.store.commits, 1)
        self.clock.advance(0)
        self.worker.runAll()
        self.assertEqual(self.successResultOf(first), [1])
        self.assertEqual(self.successResultOf(second), [2])
        self.assertEqual(self.store.commits, 2)

    def test_closeWaitsForBatch(self) -> None:
        """
        C{close} waits for the running transaction and the pending ones, then
        closes the connection and stops the worker.
        """
        self.store.createSubscription(push())
        self.clock.advance(0)
        appended = self.store.appendEvents([(1, b"1")], 1)
        closed = self.store.close()
        self.failureResultOf(self.store.queueDepth(), StoreClosedError)
        self.assertNoResult(closed)
        self.worker.runAll()
        self.clock.advance(0)
        self.assertNoResult(closed)
        self.worker.runAll()
        self.assertEqual(self.successResultOf(appended), [1])
        self.successResultOf(closed)
        self.assertTrue(self.worker.stopped)
        self.successResultOf(self.store.close())

    def test_closedAtShutdown(self) -> None:
        """
        The store closes before its reactor shuts down.
        """
        reactor = MemoryReactorClock()
        worker = InlineWorker()
        store = self.successResultOf(
            SQLiteStore.open(":memory:", reactor, worker=worker)
        )
        [(trigger, args, kwargs)] = reactor.triggers["before"]["shutdown"]
        self.successResultOf(trigger(*args, **kwargs))
        self.assertTrue(worker.stopped)
        self.failureResultOf(store.getSubscription(1), StoreClosedError)

    def test_badMaxQueued(self) -> None:
        """
        C{maxQueued} is 1 or more; the worker is stopped.
        """
        worker = InlineWorker()
        self.failureResultOf(
            SQLiteStore.open(":memory:", self.clock, maxQueued=0, worker=worker),
            ValueError,
        )
        self.assertTrue(worker.stopped)


# Random operations: the SQLite store does as the memory store does.

_OPERATIONS = (
    # Appending and retrying more often than the rest, so that there is something
    # to act on.
    ["append"] * 4
    + ["reschedule"] * 2
    + ["acknowledge", "replayHistory"] * 2
    + ["create", "deadLetter", "replayDeadLetters", "cancel", "prune", "update", "due"]
)

_Stores = Tuple[MemoryStore, SQLiteStore]


class SameBehaviourTests(SynchronousTestCase):
    def answer(
        self,
        stores: _Stores,
        clock: Clock,
        call: Callable[[ISubscriptionStore], Deferred[Any]],
    ) -> Any:
        """
        @return: what both stores answer to C{call}, after checking they agree.
        """
        expected = self.successResultOf(call(stores[0]))
        answered = call(stores[1])
        clock.advance(0)
        self.assertEqual(self.successResultOf(answered), expected)
        return expected

    def snapshot(self, stores: _Stores, clock: Clock, now: float) -> None:
        """
        Check that both stores hold the same state.
        """
        calls: List[Callable[[ISubscriptionStore], Deferred[Any]]] = [
            lambda s: s.listSubscriptions(),
            lambda s: s.dueEvents(now, 2, 5),
            lambda s: s.dueEvents(1e9, 100, 1000),
            lambda s: s.nextDue(),
            lambda s: s.queueDepth(),
            lambda s: s.deadLetters(),
        ]

        def history(
            subscriptionId: int,
        ) -> Callable[[ISubscriptionStore], Deferred[Any]]:
            return lambda s: s.eventsSince(subscriptionId, 0, 100)

        calls.extend(history(subscriptionId) for subscriptionId in range(1, 7))
        for call in calls:
            self.answer(stores, clock, call)

    def operation(
        self, data: st.DataObject, memory: MemoryStore, now: int
    ) -> Callable[[ISubscriptionStore], Deferred[Any]]:
        """
        Draw an operation, with arguments that mostly make sense in the current
        state (known subscriptions, queued sequence numbers), sometimes not.

        @return: a call of it.
        """
        subscriptions = self.successResultOf(memory.listSubscriptions())
        queued = self.successResultOf(memory.dueEvents(1e9, 1000, 1000))
        letters = self.successResultOf(memory.deadLetters())
        ids = st.sampled_from([s.subscriptionId for s in subscriptions] + [99])
        name = data.draw(st.sampled_from(_OPERATIONS))
        if name == "create":
            recipient = data.draw(st.sampled_from([None, "https://a.example/"]))
            created = push(recipientUri=recipient, createdAt=now)
            return lambda s: s.createSubscription(created)
        if name == "append":
            entries = data.draw(
                st.lists(st.tuples(ids, st.binary(max_size=2)), max_size=6)
            )
            return lambda s: s.appendEvents(entries, now)
        if name == "update":
            subscriptionId = data.draw(ids)
            recipient = data.draw(st.sampled_from([None, f"https://{now}.example/"]))
            changed = push(subscriptionId=subscriptionId, recipientUri=recipient)
            return lambda s: s.updateSubscription(changed.replace(lastSequence=now))
        if name == "cancel":
            subscriptionId = data.draw(ids)
            return lambda s: s.cancelSubscription(subscriptionId)
        if name == "prune":
            keepLast = data.draw(st.integers(0, 3))
            olderThan = data.draw(st.integers(0, now + 1))
            return lambda s: s.pruneHistory(keepLast, olderThan)
        if name == "due":
            at = data.draw(st.integers(0, now + 40))
            perSubscription = data.draw(st.integers(0, 3))
            limit = data.draw(st.integers(0, 6))
            return lambda s: s.dueEvents(at, perSubscription, limit)
        if name == "replayDeadLetters":
            owner = data.draw(
                st.sampled_from([None, 99] + [d.subscriptionId for d in letters])
            )
            return lambda s: s.replayDeadLetters(owner, now)
        if name == "replayHistory":
            subscriptionId = data.draw(ids)
            fromSequence = data.draw(st.integers(0, 8))
            return lambda s: s.replayHistory(subscriptionId, fromSequence, now)
        # The rest act on queued events: mostly those of one subscription.
        if queued and data.draw(st.integers(0, 4)) > 0:
            subscriptionId = data.draw(st.sampled_from(queued)).subscriptionId
            mine = [
                e.sequenceNumber for e in queued if e.subscriptionId == subscriptionId
            ]
            sequences = data.draw(st.lists(st.sampled_from(mine + [0, 50]), max_size=4))
        else:
            subscriptionId = data.draw(ids)
            sequences = data.draw(st.lists(st.integers(0, 6), max_size=4))
        if name == "acknowledge":
            return lambda s: s.acknowledge(subscriptionId, sequences)
        if name == "reschedule":
            notBefore = data.draw(st.integers(0, now + 40))
            error = f"error {now}"
            return lambda s: s.reschedule(subscriptionId, sequences, notBefore, error)
        assert name == "deadLetter"
        return lambda s: s.deadLetter(subscriptionId, sequences, f"dead {now}", now)

    @settings(max_examples=100, deadline=None)
    @given(st.data())
    def test_sameAsMemoryStore(self, data: st.DataObject) -> None:
        """
        Any sequence of operations has the same results and leaves the same state
        in both stores.
        """
        clock = Clock()
        worker = InlineWorker()
        opening = SQLiteStore.open(":memory:", clock, maxQueued=3, worker=worker)
        stores = (MemoryStore(maxQueued=3), self.successResultOf(opening))
        try:
            for subscription in (push(), push(), pull()):
                self.answer(stores, clock, _creating(subscription))
            for now in range(1, data.draw(st.integers(1, 30)) + 1):
                self.answer(stores, clock, self.operation(data, stores[0], now))
                self.snapshot(stores, clock, now)
        finally:
            stores[1].close()
            clock.advance(0)


def _creating(
    subscription: Subscription,
) -> Callable[[ISubscriptionStore], Deferred[Subscription]]:
    return lambda s: s.createSubscription(subscription)


def _outcome(check: Callable[..., Any], *args: Any) -> Any:
    """
    What C{check(*args)} gives: its result, or its exception's type and text.
    """
    try:
        return ("ok", check(*args))
    except (TypeError, ValueError) as e:
        return (type(e), str(e))


_anything = st.one_of(
    st.integers(-3, 3),
    st.booleans(),
    st.binary(max_size=2),
    st.text(max_size=2),
    st.none(),
    st.floats(),
)


class ArgumentCheckTests(SynchronousTestCase):
    """
    The argument checks' fast paths (for a list of pairs of an int and bytes,
    and a float) give what their general paths do.
    """

    @settings(max_examples=300)
    @given(
        st.lists(
            st.one_of(
                st.tuples(st.integers(-5, 5), st.binary(max_size=3)),
                st.tuples(_anything, _anything),
                st.lists(_anything, max_size=3).map(tuple),
                _anything,
            ),
            max_size=4,
        )
    )
    def test_entries(self, entries: List[Any]) -> None:
        """
        A list checks as the same entries in a tuple, or from an iterator, do.
        """
        fast = _outcome(storeModule._checkEntries, entries)
        for other in (tuple(entries), iter(entries)):
            self.assertEqual(fast, _outcome(storeModule._checkEntries, other))
        if fast[0] == "ok":
            self.assertEqual(fast[1], list(entries))
            self.assertIsNot(fast[1], entries)

    @given(st.one_of(st.floats(), _anything, st.integers()))
    def test_time(self, value: Any) -> None:
        """
        A float checks as a float subclass of the same value does (the
        general path): itself, or C{ValueError} for NaN; and nothing else is
        taken for a float.
        """

        class Seconds(float):
            pass

        got = _outcome(storeModule._checkTime, value, "now")
        if type(value) is float:
            general = _outcome(storeModule._checkTime, Seconds(value), "now")
            if value == value:
                self.assertEqual(got, general)
                self.assertIs(got[1], value)
            else:
                self.assertEqual(got, (ValueError, "now must not be NaN"))
                self.assertEqual(general, got)
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            self.assertIs(got[0], TypeError)
        else:
            self.assertEqual(got, ("ok", float(value)))
            self.assertIs(type(got[1]), float)


class CheckSequencesTests(SynchronousTestCase):
    """
    C{_checkSequences} checks a list or tuple of ints in one pass; it accepts
    and refuses what the check of each value does.
    """

    @settings(deadline=None, max_examples=300)
    @given(
        st.lists(
            st.one_of(
                st.integers(-(2**40), 2**40),
                st.booleans(),
                st.text(max_size=2),
                st.floats(allow_nan=False),
                st.none(),
            ),
            max_size=8,
        ),
        st.sampled_from([list, tuple]),
    )
    def test_sameAsEach(self, values: List[Any], kind: Callable[..., Any]) -> None:
        def outcome(sequences: Any) -> Any:
            try:
                return ("ok", _checkSequences(sequences))
            except TypeError as e:
                return ("refused", str(e))

        fast = outcome(kind(values))
        each = outcome(iter(values))
        self.assertEqual(fast, each)
        if fast[0] == "ok":
            self.assertEqual([type(v) for v in fast[1]], [int] * len(fast[1]))


class SubscriptionFromRowTests(SynchronousTestCase):
    """
    The SQLite store's C{_subscriptionFromRow} makes the same L{Subscription}
    as its constructor does.
    """

    @settings(deadline=None, max_examples=300)
    @given(
        st.integers(1, 2**40),
        st.text(max_size=20),
        st.one_of(st.none(), st.integers(1, 2**31)),
        st.one_of(st.none(), st.text(max_size=20)),
        st.one_of(st.none(), st.text(max_size=5)),
        st.lists(st.text(max_size=12), max_size=4),
        st.binary(max_size=63),
        st.tuples(st.text(max_size=8), st.text(max_size=8)),
        st.one_of(st.none(), st.integers(0, 2**31)),
        st.one_of(st.none(), st.floats(allow_nan=False)),
        st.tuples(
            st.integers(0, 2**31),
            st.text(max_size=8),
            st.floats(allow_nan=False),
            st.integers(0, 2**40),
        ),
    )
    def test_sameAsConstructor(
        self,
        subscriptionId: int,
        printerUri: str,
        jobId: Any,
        recipientUri: Any,
        pullMethod: Any,
        events: List[str],
        userData: bytes,
        language: Tuple[str, str],
        leaseDuration: Any,
        leaseExpiresAt: Any,
        rest: Tuple[int, str, float, int],
    ) -> None:
        timeInterval, userName, createdAt, lastSequence = rest
        row = (
            subscriptionId,
            printerUri,
            jobId,
            recipientUri,
            pullMethod,
            json.dumps(events),
            userData,
            *language,
            leaseDuration,
            leaseExpiresAt,
            timeInterval,
            userName,
            createdAt,
            lastSequence,
        )
        fast = sqlite._subscriptionFromRow(row)
        slow = Subscription(
            subscriptionId=subscriptionId,
            printerUri=printerUri,
            jobId=jobId,
            recipientUri=recipientUri,
            pullMethod=pullMethod,
            events=tuple(events),
            userData=userData,
            charset=language[0],
            naturalLanguage=language[1],
            leaseDuration=leaseDuration,
            leaseExpiresAt=leaseExpiresAt,
            timeInterval=timeInterval,
            subscriberUserName=userName,
            createdAt=createdAt,
            lastSequence=lastSequence,
        )
        self.assertEqual(fast, slow)
        self.assertEqual(repr(fast), repr(slow))
        self.assertEqual(hash(fast.events), hash(slow.events))
        self.assertIs(type(fast), Subscription)
        self.assertEqual(vars(fast), vars(slow))
        # Remembered events come back equal, as a tuple of the same strings.
        again = sqlite._subscriptionFromRow(row)
        self.assertEqual(again.events, tuple(events))
        self.assertIsInstance(again.events, tuple)

    def test_eventsRemembered(self) -> None:
        """
        The events of a JSON text are parsed once and shared; the memory is
        bounded.
        """
        first = sqlite._eventsOf('["job-completed", "printer-stopped"]')
        self.assertEqual(first, ("job-completed", "printer-stopped"))
        self.assertIs(sqlite._eventsOf('["job-completed", "printer-stopped"]'), first)
        for n in range(600):
            self.assertEqual(sqlite._eventsOf(json.dumps([str(n)])), (str(n),))
        self.assertLessEqual(len(sqlite._eventsByText), 256)
