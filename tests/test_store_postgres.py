"""
The PostgreSQL store: the shared contract (L{tests.storetests}) on a private
server (L{tests.postgres}), and what only it does: several stores on one
database.
"""

from __future__ import annotations

import time
from typing import Any, List, Tuple

import psycopg
from twisted.internet import reactor
from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from ipp_ntfy.interfaces import ISubscriptionStore
from ipp_ntfy.store import QueuedEvent, SchemaVersionError, StoreFileError, postgres
from ipp_ntfy.store.postgres import MIGRATIONS, PostgresStore

from . import storetests
from .postgres import freshDatabase
from .storetests import StoreTestsMixin, pull, push


def pairs(events: List[QueuedEvent]) -> List[Tuple[int, int]]:
    return [(event.subscriptionId, event.sequenceNumber) for event in events]


class PostgresStoreTests(StoreTestsMixin, TestCase):
    """
    The shared tests, on a database of their own with the real reactor and thread,
    and what only the PostgreSQL store does.
    """

    def openStore(self, dsn: str, **options: Any) -> Deferred[PostgresStore]:
        """
        @return: the store on C{dsn}, closed when the test ends.
        """

        def opened(store: PostgresStore) -> PostgresStore:
            self.addCleanup(store.close)
            return store

        return PostgresStore.open(dsn, reactor, **options).addCallback(opened)

    def makeStore(self, maxQueued: int = 10000) -> Deferred[ISubscriptionStore]:
        return self.openStore(freshDatabase(self), maxQueued=maxQueued).addCallback(
            lambda store: store
        )

    def query(self, dsn: str, statement: str) -> List[Tuple[Any, ...]]:
        with psycopg.connect(dsn, autocommit=True) as connection:
            cursor = connection.execute(statement)
            return cursor.fetchall() if cursor.description else []

    async def test_badClaimLease(self) -> None:
        """
        The claim lease is a positive number of seconds.
        """
        dsn = freshDatabase(self)
        for lease in (0, -1.5):
            await self.assertFailure(
                PostgresStore.open(dsn, reactor, claimLease=lease), ValueError
            )
        await self.assertFailure(
            PostgresStore.open(dsn, reactor, claimLease="60"),  # type: ignore[arg-type]
            TypeError,
        )

    async def test_reopen(self) -> None:
        """
        What a store committed is there for the next one on the database.
        """
        dsn = freshDatabase(self)
        store = await PostgresStore.open(dsn, reactor)
        created = await store.createSubscription(push(userData=b"\x00\xff"))
        sid = created.subscriptionId
        await store.appendEvents([(sid, b"one"), (sid, b"two")], 5)
        await store.reschedule(sid, [1], 7, "timeout")
        await store.setCursor("upstream", "12:40")
        await store.close()
        store = await self.openStore(dsn)
        self.assertEqual(
            await store.getSubscription(sid), created.replace(lastSequence=2)
        )
        self.assertEqual(
            await store.eventsSince(sid, 0, 10), [(1, b"one", 5.0), (2, b"two", 5.0)]
        )
        self.assertEqual(
            await store.dueEvents(7, 10, 10),
            [
                QueuedEvent(
                    sid, 1, created.recipientUri or "", b"one", 1, 5.0, 7.0, "timeout"
                ),
                QueuedEvent(
                    sid, 2, created.recipientUri or "", b"two", 0, 5.0, 5.0, None
                ),
            ],
        )
        self.assertEqual(await store.getCursor("upstream"), "12:40")
        self.assertEqual(await store.appendEvents([(sid, b"three")], 8), [3])
        self.assertEqual(await self.subscribe(store, pull()), sid + 1)

    async def test_schemaVersion(self) -> None:
        """
        A new database gets the current schema, recorded in C{schema_version};
        opening it again migrates nothing.
        """
        dsn = freshDatabase(self)
        await self.openStore(dsn)
        await self.openStore(dsn)
        self.assertEqual(
            self.query(dsn, "SELECT version FROM schema_version"),
            [(len(MIGRATIONS),)],
        )
        tables = self.query(
            dsn,
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            " ORDER BY tablename",
        )
        self.assertEqual(
            [name for (name,) in tables],
            [
                "cursors",
                "deadletters",
                "history",
                "queue",
                "schema_version",
                "subscriptions",
            ],
        )

    def payloads(self, dsn: str, table: str) -> List[Tuple[Any, ...]]:
        """
        @return: C{(subscriptionId, sequence, payload)} of each row of C{table},
            in key order, the payload as L{bytes} or C{None}.
        """
        return [
            (subscriptionId, sequence, None if payload is None else bytes(payload))
            for subscriptionId, sequence, payload in self.query(
                dsn,
                f"SELECT subscriptionId, sequence, payload FROM {table}"
                " ORDER BY subscriptionId, sequence",
            )
        ]

    async def test_payloadStoredOnce(self) -> None:
        """
        An event's payload is stored in its history row; its queue row holds
        none (NULL) and reads it from there.
        """
        dsn = freshDatabase(self)
        store = await self.openStore(dsn)
        sid = await self.subscribe(store, push())
        await store.appendEvents([(sid, b"one"), (sid, b"two")], 1)
        self.assertEqual(
            self.payloads(dsn, "history"), [(sid, 1, b"one"), (sid, 2, b"two")]
        )
        self.assertEqual(self.payloads(dsn, "queue"), [(sid, 1, None), (sid, 2, None)])
        due = await store.dueEvents(10, 10, 10)
        self.assertEqual([e.payload for e in due], [b"one", b"two"])
        # Queued again from the history: with a copy of its own, as another
        # store's pruning may take the history row at the same time.
        await store.acknowledge(sid, [1])
        self.assertEqual(await store.replayHistory(sid, 1, 20), 1)
        self.assertEqual(
            self.payloads(dsn, "queue"), [(sid, 1, b"one"), (sid, 2, None)]
        )

    async def test_pruningCopiesQueuedPayloads(self) -> None:
        """
        A queued event whose history row is pruned gets a copy of its payload in
        the queue first; one whose row stays does not.  Both are delivered, and
        buried, with their payloads.
        """
        dsn = freshDatabase(self)
        store = await self.openStore(dsn)
        sid = await self.subscribe(store, push())
        await store.appendEvents([(sid, b"old")], 1)
        await store.appendEvents([(sid, b"new")], 200)
        self.assertEqual(await store.pruneHistory(0, 100), 1)
        self.assertEqual(
            self.payloads(dsn, "queue"), [(sid, 1, b"old"), (sid, 2, None)]
        )
        self.assertEqual(self.payloads(dsn, "history"), [(sid, 2, b"new")])
        due = await store.dueEvents(300, 10, 10)
        self.assertEqual(
            [(e.sequenceNumber, e.payload) for e in due], [(1, b"old"), (2, b"new")]
        )
        await store.deadLetter(sid, [1, 2], "gone", 300)
        self.assertEqual(
            [d.payload for d in await store.deadLetters(sid)], [b"old", b"new"]
        )
        self.assertEqual(self.payloads(dsn, "queue"), [])

    async def test_migratesQueuedPayloads(self) -> None:
        """
        Schema version 2 drops the queue's copy of a payload where the history
        has the same one, and keeps it where the history has none or another;
        every queued event reads back as before.
        """
        dsn = freshDatabase(self)
        migrations = MIGRATIONS[:]
        self.assertEqual(len(migrations), 2)
        self.patch(postgres, "MIGRATIONS", migrations[:1])
        store = await PostgresStore.open(dsn, reactor)
        sid = (await store.createSubscription(push())).subscriptionId
        await store.close()
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.cursor().executemany(
                "INSERT INTO history (subscriptionId, sequence, payload, storedAt)"
                " VALUES (%s, %s, %s, 1)",
                [(sid, *row) for row in storetests.HISTORY_BEFORE_MIGRATION],
            )
            connection.cursor().executemany(
                "INSERT INTO queue (subscriptionId, sequence, payload, attempts,"
                " queuedAt, notBefore, lastError) VALUES (%s, %s, %s, %s, 1, 5, %s)",
                [(sid, *row) for row in storetests.QUEUE_BEFORE_MIGRATION],
            )
            connection.execute(
                "UPDATE subscriptions SET lastSequence = 4, headNotBefore = 5"
            )
        self.patch(postgres, "MIGRATIONS", migrations)
        store = await self.openStore(dsn)
        self.assertEqual(
            self.payloads(dsn, "queue"),
            [
                (sid, sequence, kept)
                for sequence, kept in enumerate(storetests.KEPT_AFTER_MIGRATION, 1)
            ],
        )
        due = await store.dueEvents(10, 10, 10)
        self.assertEqual(
            [(e.sequenceNumber, e.payload, e.attempts, e.lastError) for e in due],
            storetests.QUEUE_BEFORE_MIGRATION,
        )
        self.assertEqual(self.query(dsn, "SELECT version FROM schema_version"), [(2,)])

    async def test_newerSchemaRefused(self) -> None:
        """
        A database of a newer schema version is refused, and left alone.
        """
        dsn = freshDatabase(self)
        store = await PostgresStore.open(dsn, reactor)
        await store.close()
        self.query(dsn, "UPDATE schema_version SET version = 99")
        with self.assertRaises(SchemaVersionError) as caught:
            await PostgresStore.open(dsn, reactor)
        error = caught.exception
        self.assertEqual((error.version, error.supported), (99, len(MIGRATIONS)))
        self.assertIn("test_", error.path)
        self.assertEqual(self.query(dsn, "SELECT version FROM schema_version"), [(99,)])

    async def test_foreignDatabaseRefused(self) -> None:
        """
        A database with tables of its own and no C{schema_version} is not taken.
        """
        dsn = freshDatabase(self)
        self.query(dsn, "CREATE TABLE accounts (id INTEGER)")
        await self.assertFailure(PostgresStore.open(dsn, reactor), StoreFileError)
        self.assertEqual(
            self.query(dsn, "SELECT to_regclass('schema_version') IS NULL"), [(True,)]
        )

    async def twoStores(
        self, subscriptions: int, **options: Any
    ) -> Tuple[PostgresStore, PostgresStore, List[int]]:
        """
        @return: two stores on one database, and push subscriptions with two
            events each, queued at 100.
        """
        dsn = freshDatabase(self)
        first = await self.openStore(dsn, **options)
        second = await self.openStore(dsn, **options)
        sids = [await self.subscribe(first, push()) for _ in range(subscriptions)]
        await first.appendEvents([(sid, b"e") for sid in sids for _ in range(2)], 100)
        return first, second, sids

    async def test_claimsDisjoint(self) -> None:
        """
        Two stores on one database are given different subscriptions; each is
        given its own claims again; acknowledging, rescheduling or dead-lettering
        releases a claim.
        """
        first, second, sids = await self.twoStores(4)
        a = await first.dueEvents(100, 10, 4)
        b = await second.dueEvents(100, 10, 100)
        self.assertEqual(pairs(a), [(sid, s) for sid in sids[:2] for s in (1, 2)])
        self.assertEqual(pairs(b), [(sid, s) for sid in sids[2:] for s in (1, 2)])
        self.assertEqual(await first.dueEvents(100, 10, 100), a)
        self.assertEqual(await second.dueEvents(101, 10, 100), b)
        await first.acknowledge(sids[0], [1])
        await first.reschedule(sids[1], [1], 100, "HTTP 503")
        self.assertEqual(
            pairs(await second.dueEvents(101, 10, 100)),
            [(sids[0], 2), (sids[1], 1), (sids[1], 2)] + pairs(b),
        )
        self.assertEqual(await first.dueEvents(101, 10, 100), [])
        await second.deadLetter(sids[2], [1], "HTTP 400", 102)
        self.assertEqual(pairs(await first.dueEvents(102, 10, 100)), [(sids[2], 2)])

    async def test_claimsConcurrent(self) -> None:
        """
        Stores asking at the same time are given disjoint events, all of them
        between them (the due rows one holds are skipped by the other).
        """
        first, second, sids = await self.twoStores(40)
        a, b = await gatherResults(
            [first.dueEvents(100, 10, 40), second.dueEvents(100, 10, 40)]
        )
        self.assertEqual((len(a), len(b)), (40, 40))
        self.assertEqual(set(pairs(a)) & set(pairs(b)), set())
        self.assertEqual(
            set(pairs(a)) | set(pairs(b)), {(sid, s) for sid in sids for s in (1, 2)}
        )
        # Asked again, each is given its own claims, never the other's.
        self.assertEqual(await first.dueEvents(100, 10, 1000), a)
        self.assertEqual(await second.dueEvents(100, 10, 1000), b)

    async def test_claimLease(self) -> None:
        """
        The claims of a store that neither acknowledges nor reschedules run out
        after the claim lease: another store is given them then, and claims them
        in turn.
        """
        first, second, sids = await self.twoStores(1, claimLease=10)
        self.assertEqual(len(await first.dueEvents(100, 10, 10)), 2)
        self.assertEqual(await second.dueEvents(109.5, 10, 10), [])
        self.assertEqual(await second.nextDue(), 110.0)
        self.assertEqual(await first.nextDue(), 100.0)
        taken = await second.dueEvents(110, 10, 10)
        self.assertEqual(pairs(taken), [(sids[0], 1), (sids[0], 2)])
        self.assertEqual(taken[0].attempts, 0)
        self.assertEqual(taken[0].notBefore, 100.0)
        self.assertEqual(await first.dueEvents(119, 10, 10), [])
        self.assertEqual(await first.nextDue(), 120.0)
        # The first store, late, acknowledges: that does not release the claim
        # of the second.
        await first.acknowledge(sids[0], [1])
        self.assertEqual(await first.dueEvents(119, 10, 10), [])
        self.assertEqual(pairs(await second.dueEvents(119, 10, 10)), [(sids[0], 2)])

    async def test_concurrentAppends(self) -> None:
        """
        Two stores appending to the same subscriptions at once number their
        events gap-free, each number given once.
        """
        dsn = freshDatabase(self)
        first = await self.openStore(dsn)
        second = await self.openStore(dsn)
        sids = [await self.subscribe(first, push()) for _ in range(3)]
        appending: List[Deferred[List[int]]] = []
        rounds = 40
        for i in range(rounds):
            for store in (first, second):
                entries = [(sid, b"%d" % i) for sid in sids]
                if i % 2:
                    entries.reverse()
                appending.append(store.appendEvents(entries, i))
        results = await gatherResults(appending)
        for position, sid in enumerate(sids):
            # Round k // 2 gave its entries reversed if it was odd.
            given = sorted(
                sequences[-1 - position if (k // 2) % 2 else position]
                for k, sequences in enumerate(results)
            )
            self.assertEqual(given, list(range(1, 2 * rounds + 1)))
            history = await second.eventsSince(sid, 0, 1000)
            self.assertEqual([s for s, _, _ in history], list(range(1, 2 * rounds + 1)))
            self.assertEqual(await first.queueDepth(sid), 2 * rounds)

    async def test_failingOperationAlone(self) -> None:
        """
        An operation that PostgreSQL refuses fails alone: the others of its
        transaction are committed.
        """
        store = await self.makeStore()
        good = store.createSubscription(push())
        bad = store.createSubscription(push(jobId=2**70))
        appended = store.appendEvents([(1, b"e")], 1)
        await self.assertFailure(bad, psycopg.errors.NumericValueOutOfRange)
        self.assertEqual((await good).subscriptionId, 1)
        self.assertEqual(await appended, [1])
        self.assertEqual(len(await store.listSubscriptions()), 1)

    async def test_deadlockRetried(self) -> None:
        """
        A transaction that PostgreSQL aborts for a deadlock is run again, whole.
        """
        store = await self.openStore(freshDatabase(self))
        calls: List[int] = []

        def flaky(connection: Any) -> int:
            calls.append(1)
            if len(calls) == 1:
                raise psycopg.errors.DeadlockDetected("deadlock detected")
            return len(calls)

        created = store.createSubscription(push())
        flakyResult = store._write(flaky)
        subscription = await created
        self.assertEqual(await flakyResult, 2)
        # Once: the first run was rolled back (its id is not given again).
        self.assertEqual(await store.listSubscriptions(), [subscription])
        self.assertEqual(subscription.subscriptionId, 2)
        commits = store.commits
        await store.setCursor("c", "v")
        self.assertEqual(store.commits, commits + 1)

    async def test_headAfterConcurrentAppend(self) -> None:
        """
        An event that another relay queues while this one acknowledges the
        previous one (the other holds the subscription's row lock; this one
        waits for it) is the subscription's head afterwards, and due: not left
        queued and never due.
        """
        dsn = freshDatabase(self)
        store = await self.openStore(dsn)
        sid = (await store.createSubscription(push())).subscriptionId
        await store.appendEvents([(sid, b"one")], 5)
        self.assertEqual(pairs(await store.dueEvents(5, 10, 10)), [(sid, 1)])
        # The other relay's appendEvents, in steps, as _appendEvents does them.
        other = psycopg.connect(dsn)
        self.addCleanup(other.close)
        other.execute(
            "SELECT lastSequence FROM subscriptions WHERE subscriptionId = %s"
            " FOR UPDATE",
            (sid,),
        )
        other.execute(
            "INSERT INTO queue (subscriptionId, sequence, payload, attempts,"
            " queuedAt, notBefore) VALUES (%s, 2, 'two', 0, 6, 6)",
            (sid,),
        )
        other.execute(
            "UPDATE subscriptions SET lastSequence = 2 WHERE subscriptionId = %s",
            (sid,),
        )
        acknowledged = store.acknowledge(sid, [1])
        # Until the acknowledgement waits for the row lock.
        deadline = time.monotonic() + 20
        while not self.query(
            dsn,
            "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database()",
        ):
            self.assertLess(time.monotonic(), deadline)
            await deferLater(reactor, 0.01, lambda: None)
        other.commit()
        await acknowledged
        self.assertEqual(
            self.query(
                dsn,
                f"SELECT headNotBefore FROM subscriptions WHERE subscriptionId = {sid}",
            ),
            [(6.0,)],
        )
        self.assertEqual(pairs(await store.dueEvents(7, 10, 10)), [(sid, 2)])
