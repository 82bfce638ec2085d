"""
The behaviour every L{ISubscriptionStore} shares, written once: mix
L{StoreTestsMixin} into a L{TestCase} that says how to make a store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional

from twisted.internet.defer import Deferred
from zope.interface.verify import verifyObject

from ipp_ntfy.interfaces import ISubscriptionStore
from ipp_ntfy.store import (
    QUEUE_LIMIT_REACHED,
    DeadLetter,
    QueuedEvent,
    QueueStats,
    RecipientQueue,
    StoreClosedError,
)
from ipp_ntfy.subscription import Subscription

if TYPE_CHECKING:
    from twisted.trial.unittest import TestCase

    _Base = TestCase
else:
    _Base = object

PRINTER = "ipp://relay.example:8631/ipp/printers/office"
OTHER_PRINTER = "ipp://relay.example:8631/ipp/printers/lab"
RECIPIENT = "https://app.example/ipp-events"

# The payload migration's tests (the SQLite store's schema version 3, the
# PostgreSQL store's 2): the history rows (sequence, payload) and the queue rows
# (sequence, payload, attempts, lastError) written in the schema before, in which
# the queue kept its own copy of every payload; and what each queue row keeps of
# it after the migration (None: read from the history row, which has the same).
# Event 1 has no history row (pruned), event 3 another payload in it.
HISTORY_BEFORE_MIGRATION = [(2, b"two"), (3, b"three, as stored"), (4, b"four")]
QUEUE_BEFORE_MIGRATION = [
    (1, b"one", 2, "refused"),
    (2, b"two", 0, None),
    (3, b"three, as queued", 0, None),
    (4, b"four", 0, None),
]
KEPT_AFTER_MIGRATION = [b"one", None, b"three, as queued", None]


def push(
    printerUri: str = PRINTER,
    recipientUri: Optional[str] = RECIPIENT,
    **changes: object,
) -> Subscription:
    """
    @return: a push subscription to be created.
    """
    subscription = Subscription(
        0, printerUri, ("job-completed",), recipientUri=recipientUri
    )
    return subscription.replace(**changes)


def pull(printerUri: str = PRINTER, **changes: object) -> Subscription:
    """
    @return: a pull (ippget) subscription to be created.
    """
    subscription = Subscription(
        0, printerUri, ("printer-state-changed",), pullMethod="ippget"
    )
    return subscription.replace(**changes)


class StoreTestsMixin(_Base):
    """
    Tests of the L{ISubscriptionStore} contract.  Mix into a trial C{TestCase} with
    L{makeStore}.
    """

    def makeStore(self, maxQueued: int = 10000) -> Deferred[ISubscriptionStore]:
        """
        @return: a new, empty store, closed when the test ends.
        """
        raise NotImplementedError()

    async def store(self, maxQueued: int = 10000) -> ISubscriptionStore:
        return await self.makeStore(maxQueued)

    async def subscribe(
        self, store: ISubscriptionStore, subscription: Subscription
    ) -> int:
        created = await store.createSubscription(subscription)
        return created.subscriptionId

    async def queued(
        self, store: ISubscriptionStore, now: float = 1e12
    ) -> List[tuple[int, int]]:
        """
        @return: C{(subscriptionId, sequenceNumber)} of everything due at C{now},
            taking all of each subscription.
        """
        due = await store.dueEvents(now, 1000000, 1000000)
        return [(event.subscriptionId, event.sequenceNumber) for event in due]

    # The interface.

    async def test_providesInterface(self) -> None:
        """
        The store provides L{ISubscriptionStore}, with its C{maxQueued}.
        """
        store = await self.store(maxQueued=7)
        self.assertTrue(verifyObject(ISubscriptionStore, store))
        self.assertEqual(store.maxQueued, 7)

    async def test_afterClose(self) -> None:
        """
        After C{close}, every method fails with L{StoreClosedError}; closing again
        is fine.
        """
        store = await self.store()
        await store.close()
        await self.assertFailure(store.createSubscription(push()), StoreClosedError)
        await self.assertFailure(store.getSubscription(1), StoreClosedError)
        await self.assertFailure(store.appendEvents([(1, b"e")], 1), StoreClosedError)
        await self.assertFailure(store.dueEvents(1, 1, 1), StoreClosedError)
        await store.close()

    async def test_badArguments(self) -> None:
        """
        A bad argument fails the call with L{TypeError} or L{ValueError}, and
        changes nothing.
        """
        store = await self.store()
        sid = await self.subscribe(store, push())
        bad = store.appendEvents([(sid, b"good"), (sid, "text")], 1)  # type: ignore[list-item]
        await self.assertFailure(bad, TypeError)
        await self.assertFailure(store.appendEvents([("1", b"e")], 1), TypeError)  # type: ignore[list-item]
        await self.assertFailure(store.appendEvents([(sid, b"e")], "now"), TypeError)  # type: ignore[arg-type]
        await self.assertFailure(
            store.appendEvents([(sid, b"e")], float("nan")), ValueError
        )
        await self.assertFailure(store.eventsSince(sid, 1, -1), ValueError)
        await self.assertFailure(store.dueEvents(1, -1, 1), ValueError)
        await self.assertFailure(store.acknowledge(sid, [True]), TypeError)
        await self.assertFailure(store.reschedule(sid, [1], 5, None), TypeError)  # type: ignore[arg-type]
        await self.assertFailure(store.createSubscription(object()), TypeError)  # type: ignore[arg-type]
        await self.assertFailure(store.queueDepth("1"), TypeError)  # type: ignore[arg-type]
        self.assertEqual(await store.eventsSince(sid, 0, 10), [])
        self.assertEqual((await store.getSubscription(sid)).lastSequence, 0)  # type: ignore[union-attr]

    # Subscriptions.

    async def test_createAssignsIds(self) -> None:
        """
        Subscriptions get ids from 1 and a C{lastSequence} of 0, whatever the
        ones given; the rest is as given.
        """
        store = await self.store()
        first = await store.createSubscription(push(subscriptionId=77, lastSequence=9))
        second = await store.createSubscription(pull())
        self.assertEqual(first, push(subscriptionId=1))
        self.assertEqual(second, pull(subscriptionId=2))

    async def test_idsNeverReused(self) -> None:
        """
        The id of a cancelled subscription is not given again, not even that of the
        newest one.
        """
        store = await self.store()
        for _ in range(3):
            await store.createSubscription(push())
        await store.cancelSubscription(3)
        await store.cancelSubscription(2)
        self.assertEqual(await self.subscribe(store, push()), 4)
        for subscriptionId in (1, 4):
            await store.cancelSubscription(subscriptionId)
        self.assertEqual(await self.subscribe(store, pull()), 5)

    async def test_getSubscription(self) -> None:
        """
        C{getSubscription} gives every field back, or C{None} for an unknown id.
        """
        store = await self.store()
        subscription = push(
            jobId=42,
            events=("job-completed", "job-progress"),
            userData=b"\x00cookie\xff",
            charset="iso-8859-1",
            naturalLanguage="de",
            leaseDuration=None,
            leaseExpiresAt=1700000123.5,
            timeInterval=30,
            subscriberUserName="alice",
            createdAt=1700000000.25,
        )
        created = await store.createSubscription(subscription)
        got = await store.getSubscription(created.subscriptionId)
        self.assertEqual(got, created)
        assert got is not None
        self.assertIsInstance(got.events, tuple)
        self.assertEqual(await store.getSubscription(created.subscriptionId + 1), None)
        pulled = await store.createSubscription(pull(leaseDuration=0))
        self.assertEqual(await store.getSubscription(pulled.subscriptionId), pulled)

    async def test_listSubscriptions(self) -> None:
        """
        C{listSubscriptions} gives them by ascending id: all, those of one printer,
        or of one job of a printer.
        """
        store = await self.store()
        a = await store.createSubscription(push(OTHER_PRINTER))
        b = await store.createSubscription(pull(PRINTER, jobId=5))
        c = await store.createSubscription(push(PRINTER))
        d = await store.createSubscription(push(PRINTER, jobId=6))
        e = await store.createSubscription(push(OTHER_PRINTER, jobId=5))
        self.assertEqual(await store.listSubscriptions(), [a, b, c, d, e])
        self.assertEqual(await store.listSubscriptions(PRINTER), [b, c, d])
        self.assertEqual(await store.listSubscriptions(PRINTER, 5), [b])
        self.assertEqual(await store.listSubscriptions(OTHER_PRINTER, 5), [e])
        self.assertEqual(await store.listSubscriptions(PRINTER, 7), [])
        self.assertEqual(await store.listSubscriptions("ipp://elsewhere/"), [])

    async def test_updateSubscription(self) -> None:
        """
        C{updateSubscription} replaces the stored fields.
        """
        store = await self.store()
        created = await store.createSubscription(push(leaseExpiresAt=100.0))
        renewed = created.replace(leaseExpiresAt=200.0, leaseDuration=3600)
        self.assertTrue(await store.updateSubscription(renewed))
        self.assertEqual(await store.getSubscription(created.subscriptionId), renewed)

    async def test_updateKeepsLastSequence(self) -> None:
        """
        C{updateSubscription} leaves C{lastSequence} alone: only appending advances
        it.
        """
        store = await self.store()
        created = await store.createSubscription(push())
        sid = created.subscriptionId
        await store.appendEvents([(sid, b"1"), (sid, b"2")], 10)
        self.assertTrue(
            await store.updateSubscription(created.replace(lastSequence=99))
        )
        got = await store.getSubscription(sid)
        self.assertEqual(got, created.replace(lastSequence=2))
        await store.updateSubscription(created.replace(lastSequence=0))
        self.assertEqual(await store.appendEvents([(sid, b"3")], 11), [3])

    async def test_updateUnknown(self) -> None:
        """
        Updating a subscription that does not exist gives C{False} and creates
        nothing.
        """
        store = await self.store()
        self.assertFalse(await store.updateSubscription(push(subscriptionId=3)))
        self.assertEqual(await store.listSubscriptions(), [])

    async def test_cancelSubscription(self) -> None:
        """
        C{cancelSubscription} deletes the subscription with its history and its
        queue; a second time, or for an unknown id, it gives C{False}.
        """
        store = await self.store()
        sid = await self.subscribe(store, push())
        other = await self.subscribe(store, push())
        await store.appendEvents([(sid, b"a"), (other, b"b"), (sid, b"c")], 1)
        self.assertTrue(await store.cancelSubscription(sid))
        self.assertIsNone(await store.getSubscription(sid))
        self.assertEqual(await store.eventsSince(sid, 0, 10), [])
        self.assertEqual(await store.queueDepth(sid), 0)
        self.assertEqual(await store.queueDepth(), 1)
        self.assertEqual(await self.queued(store), [(other, 1)])
        self.assertEqual(await store.appendEvents([(sid, b"d")], 2), [0])
        self.assertFalse(await store.cancelSubscription(sid))
        self.assertFalse(await store.cancelSubscription(99))

    async def test_cancelKeepsDeadLetters(self) -> None:
        """
        The dead letters of a cancelled subscription stay.
        """
        store = await self.store()
        sid = await self.subscribe(store, push())
        await store.appendEvents([(sid, b"a"), (sid, b"b")], 1)
        await store.deadLetter(sid, [1], "HTTP 500", 2)
        await store.cancelSubscription(sid)
        self.assertEqual(
            await store.deadLetters(),
            [DeadLetter(sid, 1, RECIPIENT, b"a", 0, 1.0, 2.0, "HTTP 500")],
        )

    # Appending and history.

    async def test_sequenceNumbers(self) -> None:
        """
        Each subscription numbers its events 1, 2, 3... without gaps, within a call
        and across calls, independently of the others.
        """
        store = await self.store()
        a = await self.subscribe(store, push())
        b = await self.subscribe(store, pull())
        self.assertEqual(await store.appendEvents([(a, b"a1")], 1), [1])
        self.assertEqual(
            await store.appendEvents(
                [(b, b"b1"), (a, b"a2"), (a, b"a3"), (b, b"b2")], 2
            ),
            [1, 2, 3, 2],
        )
        self.assertEqual(await store.appendEvents([], 3), [])
        self.assertEqual(await store.appendEvents([(a, b"a4")], 4), [4])
        self.assertEqual((await store.getSubscription(a)).lastSequence, 4)  # type: ignore[union-attr]
        self.assertEqual((await store.getSubscription(b)).lastSequence, 2)  # type: ignore[union-attr]

    async def test_appendToUnknownSubscription(self) -> None:
        """
        An entry for a subscription that does not exist gets 0 and is dropped; the
        others are stored.
        """
        store = await self.store()
        a = await self.subscribe(store, push())
        self.assertEqual(
            await store.appendEvents([(9, b"x"), (a, b"a1"), (0, b"y")], 5), [0, 1, 0]
        )
        self.assertEqual(await store.eventsSince(9, 0, 10), [])
        self.assertEqual(await store.queueDepth(), 1)
        self.assertEqual(await self.subscribe(store, push()), 2)

    async def test_historyAndQueue(self) -> None:
        """
        Every event goes to its subscription's history; only a push
        subscription's are queued for delivery, due at once.
        """
        store = await self.store()
        pushed = await self.subscribe(store, push())
        pulled = await self.subscribe(store, pull())
        await store.appendEvents([(pushed, b"p1"), (pulled, b"q1")], 100)
        self.assertEqual(await store.eventsSince(pushed, 1, 10), [(1, b"p1", 100.0)])
        self.assertEqual(await store.eventsSince(pulled, 1, 10), [(1, b"q1", 100.0)])
        self.assertEqual(await store.queueDepth(pulled), 0)
        self.assertEqual(await store.queueDepth(pushed), 1)
        self.assertEqual(
            await store.dueEvents(100, 10, 10),
            [QueuedEvent(pushed, 1, RECIPIENT, b"p1", 0, 100.0, 100.0, None)],
        )

    async def test_appendMany(self) -> None:
        """
        A thousand entries in one call are numbered in order.
        """
        store = await self.store()
        a = await self.subscribe(store, push())
        b = await self.subscribe(store, pull())
        entries = [(a if i % 3 else b, b"%d" % i) for i in range(1000)]
        sequences = await store.appendEvents(entries, 1)
        self.assertEqual(sequences[:4], [1, 1, 2, 2])
        self.assertEqual(sequences[-2:], [666, 334])
        self.assertEqual(await store.queueDepth(a), 666)
        history = await store.eventsSince(a, 0, 2000)
        self.assertEqual([s for s, _, _ in history], list(range(1, 667)))
        self.assertEqual(history[-1][1], b"998")

    async def test_eventsSince(self) -> None:
        """
        C{eventsSince} gives up to C{limit} history events from C{sequence} on,
        ascending, with their payload and storage time.
        """
        store = await self.store()
        sid = await self.subscribe(store, pull())
        for i in range(1, 6):
            await store.appendEvents([(sid, b"e%d" % i)], 10 * i)
        self.assertEqual(
            await store.eventsSince(sid, 2, 2), [(2, b"e2", 20.0), (3, b"e3", 30.0)]
        )
        self.assertEqual(
            [s for s, _, _ in await store.eventsSince(sid, 0, 100)], [1, 2, 3, 4, 5]
        )
        self.assertEqual(await store.eventsSince(sid, 5, 100), [(5, b"e5", 50.0)])
        self.assertEqual(await store.eventsSince(sid, 6, 100), [])
        self.assertEqual(await store.eventsSince(sid, 1, 0), [])
        self.assertEqual(await store.eventsSince(sid + 1, 1, 10), [])

    async def test_pruneHistoryKeepsLast(self) -> None:
        """
        Pruning keeps the last C{keepLast} events of each subscription, however
        old.
        """
        store = await self.store()
        a = await self.subscribe(store, pull())
        b = await self.subscribe(store, push())
        await store.appendEvents([(a, b"a")] * 5 + [(b, b"b")] * 2, 10)
        self.assertEqual(await store.pruneHistory(2, 1000), 3)
        self.assertEqual([s for s, _, _ in await store.eventsSince(a, 0, 10)], [4, 5])
        self.assertEqual([s for s, _, _ in await store.eventsSince(b, 0, 10)], [1, 2])
        self.assertEqual(await store.pruneHistory(2, 1000), 0)
        self.assertEqual(await store.pruneHistory(0, 1000), 4)
        self.assertEqual(await store.eventsSince(a, 0, 10), [])

    async def test_pruneHistoryKeepsRecent(self) -> None:
        """
        Pruning keeps events stored at or after C{olderThan}, however many.
        """
        store = await self.store()
        sid = await self.subscribe(store, pull())
        for at in (10, 20, 30, 40):
            await store.appendEvents([(sid, b"e")], at)
        self.assertEqual(await store.pruneHistory(0, 30), 2)
        self.assertEqual([s for s, _, _ in await store.eventsSince(sid, 0, 10)], [3, 4])

    async def test_pruneHistoryNeedsBoth(self) -> None:
        """
        An event goes only if it is both beyond the last C{keepLast} and older than
        C{olderThan}.
        """
        store = await self.store()
        sid = await self.subscribe(store, pull())
        for at in (10, 20, 30, 40):
            await store.appendEvents([(sid, b"e")], at)
        self.assertEqual(await store.pruneHistory(1, 35), 3)
        self.assertEqual([s for s, _, _ in await store.eventsSince(sid, 0, 10)], [4])

    async def test_pruneHistoryLeavesQueue(self) -> None:
        """
        Pruning the history does not touch the queue: a queued event is still
        delivered with its payload.
        """
        store = await self.store()
        sid = await self.subscribe(store, push())
        await store.appendEvents([(sid, b"keep me")], 1)
        self.assertEqual(await store.pruneHistory(0, 100), 1)
        [event] = await store.dueEvents(1, 10, 10)
        self.assertEqual(event.payload, b"keep me")

    # The queue.

    async def test_dueEventsOrder(self) -> None:
        """
        Subscriptions come by the C{notBefore} of their oldest queued event, then by
        id; each with its events in sequence order.
        """
        store = await self.store()
        a, b, c = [await self.subscribe(store, push()) for _ in range(3)]
        await store.appendEvents([(a, b"a1")], 5)
        await store.appendEvents([(c, b"c1"), (b, b"b1"), (c, b"c2")], 3)
        await store.appendEvents([(a, b"a2"), (b, b"b2")], 6)
        self.assertEqual(
            await self.queued(store, 10),
            [(b, 1), (b, 2), (c, 1), (c, 2), (a, 1), (a, 2)],
        )

    async def test_dueEventsNotYetDue(self) -> None:
        """
        A subscription whose oldest event is not due yet gives nothing.
        """
        store = await self.store()
        a = await self.subscribe(store, push())
        b = await self.subscribe(store, push())
        await store.appendEvents([(a, b"a1")], 5)
        await store.appendEvents([(b, b"b1")], 7)
        self.assertEqual(await self.queued(store, 4.99), [])
        self.assertEqual(await self.queued(store, 5), [(a, 1)])
        self.assertEqual(await self.queued(store, 7), [(a, 1), (b, 1)])

    async def test_dueEventsPerSubscription(self) -> None:
        """
        At most C{perSubscription} events of each subscription, the oldest.
        """
        store = await self.store()
        a = await self.subscribe(store, push())
        b = await self.subscribe(store, push())
        await store.appendEvents([(a, b"a")] * 5 + [(b, b"b")] * 3, 1)
        due = await store.dueEvents(1, 2, 100)
        self.assertEqual(
            [(e.subscriptionId, e.sequenceNumber) for e in due],
            [(a, 1), (a, 2), (b, 1), (b, 2)],
        )
        self.assertEqual(await store.dueEvents(1, 0, 100), [])

    async def test_dueEventsLimit(self) -> None:
        """
        At most C{limit} events in all: the last subscription may give only its
        oldest ones.
        """
        store = await self.store()
        a = await self.subscribe(store, push())
        b = await self.subscribe(store, push())
        c = await self.subscribe(store, push())
        await store.appendEvents([(a, b"a")] * 2 + [(b, b"b")] * 3 + [(c, b"c")], 1)
        due = await store.dueEvents(1, 10, 3)
        self.assertEqual(
            [(e.subscriptionId, e.sequenceNumber) for e in due],
            [(a, 1), (a, 2), (b, 1)],
        )
        self.assertEqual(await store.dueEvents(1, 10, 0), [])

    async def test_dueEventsExclude(self) -> None:
        """
        The subscriptions in C{exclude} are left out, as if nothing of theirs were
        due; the limit counts only the events given.
        """
        store = await self.store()
        dueEvents = store.dueEvents
        a = await self.subscribe(store, push())
        b = await self.subscribe(store, push())
        c = await self.subscribe(store, push())
        await store.appendEvents([(a, b"a")] * 2 + [(b, b"b")] * 3 + [(c, b"c")], 1)
        due = await dueEvents(1, 10, 3, exclude={a})
        self.assertEqual(
            [(e.subscriptionId, e.sequenceNumber) for e in due],
            [(b, 1), (b, 2), (b, 3)],
        )
        due = await dueEvents(1, 2, 10, exclude=[a, b])
        self.assertEqual([(e.subscriptionId, e.sequenceNumber) for e in due], [(c, 1)])
        self.assertEqual(await dueEvents(1, 10, 10, exclude=(a, b, c)), [])
        self.assertEqual(len(await dueEvents(1, 10, 10, exclude=())), 6)

    async def test_laterEventsRideAlong(self) -> None:
        """
        With a due oldest event come the following ones, whatever their own
        C{notBefore}.
        """
        store = await self.store()
        sid = await self.subscribe(store, push())
        await store.appendEvents([(sid, b"1"), (sid, b"2"), (sid, b"3")], 1)
        await store.reschedule(sid, [2], 50, "HTTP 503")
        due = await store.dueEvents(1, 10, 10)
        self.assertEqual([e.sequenceNumber for e in due], [1, 2, 3])
        self.assertEqual(due[1].notBefore, 50.0)

    async def test_rescheduledHeadHoldsBackItsSubscription(self) -> None:
        """
        A subscription whose oldest event waits gives none of its later events,
        even due ones; other subscriptions are not held up.
        """
        store = await self.store()
        a = await self.subscribe(store, push())
        b = await self.subscribe(store, push())
        await store.appendEvents([(a, b"a1"), (b, b"b1"), (a, b"a2"), (b, b"b2")], 1)
        await store.reschedule(a, [1], 100, "timeout")
        self.assertEqual(await self.queued(store, 99), [(b, 1), (b, 2)])
        self.assertEqual(
            await self.queued(store, 100), [(b, 1), (b, 2), (a, 1), (a, 2)]
        )
        await store.acknowledge(b, [1, 2])
        await store.reschedule(a, [1, 2], 20, "timeout")
        self.assertEqual(await self.queued(store, 20), [(a, 1), (a, 2)])

    async def test_dueEventsRecipient(self) -> None:
        """
        Queued events carry the subscription's current recipient; those of a
        subscription that has become a pull one are not due.
        """
        store = await self.store()
        created = await store.createSubscription(push())
        sid = created.subscriptionId
        await store.appendEvents([(sid, b"1")], 1)
        moved = created.replace(recipientUri="https://other.example/")
        await store.updateSubscription(moved)
        [event] = await store.dueEvents(1, 10, 10)
        self.assertEqual(event.recipientUri, "https://other.example/")
        await store.updateSubscription(moved.replace(recipientUri=None))
        self.assertEqual(await store.dueEvents(1, 10, 10), [])
        self.assertIsNone(await store.nextDue())
        self.assertEqual(await store.queueDepth(sid), 1)

    async def test_nextDue(self) -> None:
        """
        C{nextDue} is the earliest C{notBefore} of the oldest queued event of each
        subscription, or C{None} when nothing is queued.
        """
        store = await self.store()
        self.assertIsNone(await store.nextDue())
        a = await self.subscribe(store, push())
        b = await self.subscribe(store, push())
        await store.appendEvents([(a, b"a1"), (a, b"a2")], 10)
        self.assertEqual(await store.nextDue(), 10.0)
        await store.appendEvents([(b, b"b1")], 20)
        await store.reschedule(a, [1], 30, "HTTP 503")
        self.assertEqual(await store.nextDue(), 20.0)
        await store.acknowledge(b, [1])
        # a2 is due at 10, but it waits for a1.
        self.assertEqual(await store.nextDue(), 30.0)
        await store.acknowledge(a, [1])
        self.assertEqual(await store.nextDue(), 10.0)
        await store.acknowledge(a, [2])
        self.assertIsNone(await store.nextDue())

    async def test_acknowledge(self) -> None:
        """
        C{acknowledge} removes the given events from the queue (not the history);
        others, and unknown sequence numbers, are left alone.
        """
        store = await self.store()
        a = await self.subscribe(store, push())
        b = await self.subscribe(store, push())
        await store.appendEvents([(a, b"a")] * 3 + [(b, b"b")], 1)
        await store.acknowledge(a, [1, 3, 17])
        await store.acknowledge(99, [1])
        self.assertEqual(await self.queued(store), [(a, 2), (b, 1)])
        self.assertEqual(len(await store.eventsSince(a, 0, 10)), 3)
        await store.acknowledge(a, [])
        self.assertEqual(await store.queueDepth(), 2)
        # A run of sequence numbers, given in any order, and with a repeat.
        await store.appendEvents([(b, b"b")] * 4, 2)
        await store.acknowledge(b, [4, 2, 3, 3])
        self.assertEqual(await self.queued(store), [(a, 2), (b, 1), (b, 5)])

    async def test_reschedule(self) -> None:
        """
        C{reschedule} counts a failed attempt, keeps the error and holds the event
        until C{notBefore}.
        """
        store = await self.store()
        sid = await self.subscribe(store, push())
        await store.appendEvents([(sid, b"1"), (sid, b"2")], 1)
        await store.reschedule(sid, [1], 2, "connection refused")
        await store.reschedule(sid, [1, 1, 9], 4, "timeout")
        self.assertEqual(await store.dueEvents(3, 10, 10), [])
        first, second = await store.dueEvents(4, 10, 10)
        self.assertEqual(
            first, QueuedEvent(sid, 1, RECIPIENT, b"1", 2, 1.0, 4.0, "timeout")
        )
        self.assertEqual(
            second, QueuedEvent(sid, 2, RECIPIENT, b"2", 0, 1.0, 1.0, None)
        )

    async def test_queueDepth(self) -> None:
        """
        C{queueDepth} counts queued events, of one subscription or of all.
        """
        store = await self.store()
        a = await self.subscribe(store, push())
        b = await self.subscribe(store, push())
        self.assertEqual(await store.queueDepth(), 0)
        await store.appendEvents([(a, b"a")] * 3 + [(b, b"b")] * 2, 1)
        self.assertEqual(await store.queueDepth(a), 3)
        self.assertEqual(await store.queueDepth(b), 2)
        self.assertEqual(await store.queueDepth(), 5)
        self.assertEqual(await store.queueDepth(42), 0)

    async def test_queueStatsEmpty(self) -> None:
        """
        C{queueStats} of an empty store: nothing queued, no subscription, no dead
        letter.
        """
        store = await self.store()
        self.assertEqual(await store.queueStats(1), QueueStats())

    async def test_queueStats(self) -> None:
        """
        C{queueStats} gives, per recipient, the events queued for its push
        subscriptions and when the oldest was queued; the subscriptions by kind
        and by whether their lease has ended at the time given; and the number of
        dead letters.
        """
        store = await self.store()
        other = "https://other.example/events"
        a = await self.subscribe(store, push())
        b = await self.subscribe(store, push(leaseExpiresAt=50.0))
        c = await self.subscribe(store, push(recipientUri=other))
        await self.subscribe(store, pull())
        await self.subscribe(store, pull(leaseExpiresAt=40.0))
        await store.appendEvents([(a, b"1"), (c, b"1")], 10)
        await store.appendEvents([(b, b"1"), (b, b"2")], 5)
        await store.appendEvents([(a, b"2"), (c, b"2"), (c, b"3")], 20)
        # A retry does not make an event any younger.
        await store.reschedule(b, [1, 2], 100, "timeout")
        stats = await store.queueStats(30)
        self.assertEqual(
            stats.recipients,
            (RecipientQueue(RECIPIENT, 4, 5.0), RecipientQueue(other, 3, 10.0)),
        )
        self.assertEqual(
            (stats.pushActive, stats.pushExpired, stats.pullActive, stats.pullExpired),
            (3, 0, 2, 0),
        )
        self.assertEqual(stats.deadLetters, 0)
        # Leases end at their time, not before.
        stats = await store.queueStats(40)
        self.assertEqual((stats.pullActive, stats.pullExpired), (1, 1))
        stats = await store.queueStats(50)
        self.assertEqual((stats.pushActive, stats.pushExpired), (2, 1))
        # Delivered, dead-lettered, cancelled: gone from the queue.
        await store.acknowledge(b, [1])
        await store.deadLetter(b, [2], "HTTP 400", 31)
        await store.acknowledge(c, [1])
        stats = await store.queueStats(50)
        self.assertEqual(
            stats.recipients,
            (RecipientQueue(RECIPIENT, 2, 10.0), RecipientQueue(other, 2, 20.0)),
        )
        self.assertEqual(stats.deadLetters, 1)
        await store.cancelSubscription(c)
        stats = await store.queueStats(50)
        self.assertEqual(stats.recipients, (RecipientQueue(RECIPIENT, 2, 10.0),))
        self.assertEqual((stats.pushActive, stats.pushExpired), (1, 1))
        # Dead letters outlive their subscription.
        await store.cancelSubscription(b)
        self.assertEqual((await store.queueStats(50)).deadLetters, 1)

    async def test_queueStatsOldestIsTheFirst(self) -> None:
        """
        The oldest event of a recipient is its subscriptions' longest-waiting
        first queued event: after a replay, the events queued again come first,
        queued at the time of the replay.
        """
        store = await self.store()
        sid = await self.subscribe(store, push())
        await store.appendEvents([(sid, b"1"), (sid, b"2")], 10)
        await store.acknowledge(sid, [1])
        await store.appendEvents([(sid, b"3")], 20)
        stats = await store.queueStats(60)
        self.assertEqual(stats.recipients, (RecipientQueue(RECIPIENT, 2, 10.0),))
        self.assertEqual(await store.replayHistory(sid, 1, 50), 1)
        stats = await store.queueStats(60)
        self.assertEqual(stats.recipients, (RecipientQueue(RECIPIENT, 3, 50.0),))
        other = await self.subscribe(store, push())
        await store.appendEvents([(other, b"1")], 30)
        stats = await store.queueStats(60)
        self.assertEqual(stats.recipients, (RecipientQueue(RECIPIENT, 4, 30.0),))

    async def test_queueStatsPullKeepsQueue(self) -> None:
        """
        A subscription changed to pull keeps its queue (L{queueDepth} counts it)
        but has no recipient: C{queueStats} leaves it out, and counts it as pull.
        """
        store = await self.store()
        created = await store.createSubscription(push())
        sid = created.subscriptionId
        await store.appendEvents([(sid, b"1")], 1)
        await store.updateSubscription(
            created.replace(recipientUri=None, pullMethod="ippget")
        )
        self.assertEqual(await store.queueDepth(), 1)
        stats = await store.queueStats(1)
        self.assertEqual(stats.recipients, ())
        self.assertEqual((stats.pushActive, stats.pullActive), (0, 1))

    async def test_queueStatsBadTime(self) -> None:
        """
        C{queueStats} takes a number of seconds, nothing else.
        """
        store = await self.store()
        await self.assertFailure(store.queueStats("now"), TypeError)  # type: ignore[arg-type]
        await self.assertFailure(store.queueStats(float("nan")), ValueError)

    # Dead letters.

    async def test_deadLetter(self) -> None:
        """
        C{deadLetter} moves queued events to the dead letters, with their attempts,
        the time and the error.
        """
        store = await self.store()
        sid = await self.subscribe(store, push())
        await store.appendEvents([(sid, b"1"), (sid, b"2"), (sid, b"3")], 1)
        await store.reschedule(sid, [1], 2, "timeout")
        await store.deadLetter(sid, [1, 3, 8], "HTTP 400", 5)
        self.assertEqual(await self.queued(store), [(sid, 2)])
        self.assertEqual(
            await store.deadLetters(sid),
            [
                DeadLetter(sid, 1, RECIPIENT, b"1", 1, 1.0, 5.0, "HTTP 400"),
                DeadLetter(sid, 3, RECIPIENT, b"3", 0, 1.0, 5.0, "HTTP 400"),
            ],
        )
        self.assertEqual(len(await store.eventsSince(sid, 0, 10)), 3)

    async def test_deadLetters(self) -> None:
        """
        C{deadLetters} gives those of one subscription, or all by subscription and
        sequence number.
        """
        store = await self.store()
        a = await self.subscribe(store, push())
        b = await self.subscribe(store, push())
        await store.appendEvents([(a, b"a")] * 3 + [(b, b"b")] * 2, 1)
        await store.deadLetter(b, [2], "e", 2)
        await store.deadLetter(a, [3], "e", 3)
        await store.deadLetter(b, [1], "e", 4)
        await store.deadLetter(a, [1], "e", 5)
        letters = await store.deadLetters()
        self.assertEqual(
            [(d.subscriptionId, d.sequenceNumber) for d in letters],
            [(a, 1), (a, 3), (b, 1), (b, 2)],
        )
        self.assertEqual([d.sequenceNumber for d in await store.deadLetters(b)], [1, 2])
        self.assertEqual(await store.deadLetters(99), [])

    async def test_replayDeadLetters(self) -> None:
        """
        C{replayDeadLetters} queues the dead letters of a subscription again, due
        at C{now} with their attempts reset, in sequence order.
        """
        store = await self.store()
        a = await self.subscribe(store, push())
        b = await self.subscribe(store, push())
        await store.appendEvents([(a, b"a1"), (a, b"a2"), (a, b"a3"), (b, b"b1")], 1)
        await store.reschedule(a, [1, 2], 5, "timeout")
        await store.deadLetter(a, [2, 1], "too old", 9)
        await store.deadLetter(b, [1], "HTTP 400", 9)
        self.assertEqual(await store.replayDeadLetters(a, 20), 2)
        self.assertEqual([d.subscriptionId for d in await store.deadLetters()], [b])
        self.assertEqual(
            await store.dueEvents(20, 10, 10),
            [
                QueuedEvent(a, 1, RECIPIENT, b"a1", 0, 20.0, 20.0, None),
                QueuedEvent(a, 2, RECIPIENT, b"a2", 0, 20.0, 20.0, None),
                QueuedEvent(a, 3, RECIPIENT, b"a3", 0, 1.0, 1.0, None),
            ],
        )
        self.assertEqual(await store.replayDeadLetters(a, 21), 0)

    async def test_replayAllDeadLetters(self) -> None:
        """
        C{replayDeadLetters(None, now)} queues again those whose subscription still
        exists; the others stay.
        """
        store = await self.store()
        a = await self.subscribe(store, push())
        b = await self.subscribe(store, push())
        gone = await self.subscribe(store, push())
        await store.appendEvents([(a, b"a"), (b, b"b"), (gone, b"g")], 1)
        for sid in (a, b, gone):
            await store.deadLetter(sid, [1], "e", 2)
        await store.cancelSubscription(gone)
        self.assertEqual(await store.replayDeadLetters(gone, 3), 0)
        self.assertEqual(await store.replayDeadLetters(None, 3), 2)
        self.assertEqual(await self.queued(store), [(a, 1), (b, 1)])
        self.assertEqual(
            [(d.subscriptionId, d.sequenceNumber) for d in await store.deadLetters()],
            [(gone, 1)],
        )

    async def test_deadLetterAgain(self) -> None:
        """
        An event dead-lettered again replaces its dead letter; replaying a dead
        letter whose event is queued again already removes it without counting it.
        """
        store = await self.store()
        sid = await self.subscribe(store, push())
        await store.appendEvents([(sid, b"1")], 1)
        await store.deadLetter(sid, [1], "first", 2)
        self.assertEqual(await store.replayHistory(sid, 1, 3), 1)
        await store.deadLetter(sid, [1], "second", 4)
        [letter] = await store.deadLetters()
        self.assertEqual((letter.lastError, letter.deadAt), ("second", 4.0))
        self.assertEqual(await store.replayHistory(sid, 1, 5), 1)
        self.assertEqual(await store.replayDeadLetters(sid, 6), 0)
        self.assertEqual(await store.deadLetters(), [])
        self.assertEqual(await store.queueDepth(sid), 1)

    async def test_replayHistory(self) -> None:
        """
        C{replayHistory} queues again the history of a push subscription from a
        sequence number on, those not already queued, due at C{now}.
        """
        store = await self.store()
        sid = await self.subscribe(store, push())
        await store.appendEvents([(sid, b"%d" % i) for i in range(1, 6)], 1)
        await store.acknowledge(sid, [1, 2, 3])
        await store.reschedule(sid, [4], 8, "timeout")
        self.assertEqual(await store.replayHistory(sid, 2, 10), 2)
        due = await store.dueEvents(10, 10, 10)
        self.assertEqual(
            due[:2],
            [
                QueuedEvent(sid, 2, RECIPIENT, b"2", 0, 10.0, 10.0, None),
                QueuedEvent(sid, 3, RECIPIENT, b"3", 0, 10.0, 10.0, None),
            ],
        )
        self.assertEqual(
            [(e.sequenceNumber, e.attempts) for e in due[2:]], [(4, 1), (5, 0)]
        )
        self.assertEqual(await store.replayHistory(sid, 1, 11), 1)
        self.assertEqual(await store.replayHistory(sid, 1, 12), 0)

    async def test_replayedEventsComeFirst(self) -> None:
        """
        Replayed events older than those queued become the oldest of their
        subscription: they decide when it is due.
        """
        store = await self.store()
        sid = await self.subscribe(store, push())
        await store.appendEvents([(sid, b"1"), (sid, b"2"), (sid, b"3")], 1)
        await store.acknowledge(sid, [1, 2, 3])
        self.assertIsNone(await store.nextDue())
        self.assertEqual(await store.replayHistory(sid, 3, 10), 1)
        self.assertEqual(await store.nextDue(), 10.0)
        self.assertEqual(await self.queued(store, 10), [(sid, 3)])
        await store.reschedule(sid, [3], 5, "e")
        await store.deadLetter(sid, [3], "e", 6)
        self.assertEqual(await store.replayHistory(sid, 2, 30), 2)
        self.assertEqual(await store.nextDue(), 30.0)
        self.assertEqual(await store.replayDeadLetters(sid, 20), 0)
        await store.acknowledge(sid, [2, 3])
        await store.replayHistory(sid, 2, 31)
        await store.deadLetter(sid, [2], "e", 32)
        await store.reschedule(sid, [3], 40, "e")
        self.assertEqual(await store.nextDue(), 40.0)
        self.assertEqual(await store.replayDeadLetters(sid, 35), 1)
        self.assertEqual(await store.nextDue(), 35.0)
        self.assertEqual(await self.queued(store, 35), [(sid, 2), (sid, 3)])

    async def test_replayDeadLettersOfPull(self) -> None:
        """
        Dead letters of a subscription that has become a pull one are not replayed:
        they stay.
        """
        store = await self.store()
        created = await store.createSubscription(push())
        sid = created.subscriptionId
        await store.appendEvents([(sid, b"1")], 1)
        await store.deadLetter(sid, [1], "e", 2)
        await store.updateSubscription(created.replace(recipientUri=None))
        self.assertEqual(await store.replayDeadLetters(sid, 3), 0)
        self.assertEqual(await store.replayDeadLetters(None, 3), 0)
        self.assertEqual(await store.replayHistory(sid, 0, 3), 0)
        self.assertEqual(len(await store.deadLetters()), 1)
        self.assertEqual(await store.queueDepth(), 0)

    async def test_replayHistoryPull(self) -> None:
        """
        A pull subscription, or an unknown one, has nothing to replay.
        """
        store = await self.store()
        sid = await self.subscribe(store, pull())
        await store.appendEvents([(sid, b"1")], 1)
        self.assertEqual(await store.replayHistory(sid, 0, 2), 0)
        self.assertEqual(await store.replayHistory(sid + 1, 0, 2), 0)
        self.assertEqual(await store.queueDepth(), 0)

    # The queue limit.

    async def test_queueLimit(self) -> None:
        """
        Appending to a queue at C{maxQueued} moves its oldest event to the dead
        letters, with the error C{"queue limit reached"}; one call or several.
        """
        for calls in (
            [[1, 2, 3, 4, 5]],
            [[1], [2], [3], [4], [5]],
            [[1, 2], [3, 4, 5]],
        ):
            store = await self.store(maxQueued=3)
            sid = await self.subscribe(store, push())
            other = await self.subscribe(store, push())
            await store.appendEvents([(other, b"o")], 8)
            for call in calls:
                await store.appendEvents([(sid, b"%d" % i) for i in call], 7)
            self.assertEqual(
                await self.queued(store), [(sid, 3), (sid, 4), (sid, 5), (other, 1)]
            )
            self.assertEqual(
                await store.deadLetters(),
                [
                    DeadLetter(
                        sid, 1, RECIPIENT, b"1", 0, 7.0, 7.0, QUEUE_LIMIT_REACHED
                    ),
                    DeadLetter(
                        sid, 2, RECIPIENT, b"2", 0, 7.0, 7.0, QUEUE_LIMIT_REACHED
                    ),
                ],
            )
            self.assertEqual(len(await store.eventsSince(sid, 0, 10)), 5)

    async def test_queueLimitWithGaps(self) -> None:
        """
        A queue with gaps in its sequence numbers (events acknowledged out of
        order) is held to C{maxQueued} by what it holds, not by its span.
        """
        store = await self.store(maxQueued=3)
        sid = await self.subscribe(store, push())
        await store.appendEvents([(sid, b"e")] * 3, 1)
        await store.acknowledge(sid, [2])
        await store.appendEvents([(sid, b"e")], 2)
        self.assertEqual(await self.queued(store), [(sid, 1), (sid, 3), (sid, 4)])
        self.assertEqual(await store.deadLetters(), [])
        await store.appendEvents([(sid, b"e")], 3)
        self.assertEqual(await self.queued(store), [(sid, 3), (sid, 4), (sid, 5)])
        self.assertEqual([d.sequenceNumber for d in await store.deadLetters()], [1])

    async def test_queueLimitAfterReplay(self) -> None:
        """
        A replay may take a queue past C{maxQueued}; appending then moves one
        oldest event per new one, so the queue does not grow.
        """
        store = await self.store(maxQueued=2)
        sid = await self.subscribe(store, push())
        await store.appendEvents([(sid, b"e")] * 4, 1)
        self.assertEqual(await store.replayDeadLetters(sid, 2), 2)
        self.assertEqual(await store.queueDepth(sid), 4)
        await store.appendEvents([(sid, b"e")], 3)
        self.assertEqual(
            await self.queued(store), [(sid, 2), (sid, 3), (sid, 4), (sid, 5)]
        )
        self.assertEqual([d.sequenceNumber for d in await store.deadLetters()], [1])

    async def test_queueLimitPull(self) -> None:
        """
        The queue limit does not limit a pull subscription's history.
        """
        store = await self.store(maxQueued=1)
        sid = await self.subscribe(store, pull())
        await store.appendEvents([(sid, b"e")] * 3, 1)
        self.assertEqual(len(await store.eventsSince(sid, 0, 10)), 3)
        self.assertEqual(await store.deadLetters(), [])

    async def test_readsSeeWrites(self) -> None:
        """
        A read asked for right after a write, without waiting for it, sees it.
        """
        store = await self.store()
        created = store.createSubscription(push())
        appended = store.appendEvents([(1, b"e")], 1)
        depth = store.queueDepth(1)
        got = store.getSubscription(1)
        self.assertEqual((await created).subscriptionId, 1)
        self.assertEqual(await appended, [1])
        self.assertEqual(await depth, 1)
        self.assertEqual((await got).lastSequence, 1)  # type: ignore[union-attr]

    async def test_cursors(self) -> None:
        """
        Cursors are named strings: set, replaced, deleted with None.
        """
        store = await self.store()
        self.assertIsNone(await store.getCursor("upstream:ipp://cups/printers/q"))
        await store.setCursor("upstream:ipp://cups/printers/q", "12:40")
        await store.setCursor("other", "x")
        self.assertEqual(
            await store.getCursor("upstream:ipp://cups/printers/q"), "12:40"
        )
        await store.setCursor("upstream:ipp://cups/printers/q", "12:41")
        self.assertEqual(
            await store.getCursor("upstream:ipp://cups/printers/q"), "12:41"
        )
        await store.setCursor("other", None)
        self.assertIsNone(await store.getCursor("other"))
        with self.assertRaises(TypeError):
            await store.setCursor("bad", 7)  # type: ignore[arg-type]
