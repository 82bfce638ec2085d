"""
The process the crash test kills: a subscription manager, an SQLite store and a
dispatcher delivering to a listener, publishing events as fast as it can.

    python -m tests.crashchild DB LISTENER-URL FIRST COUNT

It makes two subscriptions on its first run, then publishes events FIRST,
FIRST+1, ... (up to FIRST+COUNT-1; COUNT 0 publishes nothing and only drains the
queue), and prints one line per event whose publish Deferred fired:
C{published N SUBSCRIPTION:SEQUENCE ...}.  It prints C{drained} when the queue is
empty after publishing.
"""

from __future__ import annotations

import sys
from typing import Any

from twisted.internet import reactor as _reactor
from twisted.internet.defer import inlineCallbacks
from twisted.internet.task import deferLater

from ipp_ntfy.delivery import HttpDeliveryMethod
from ipp_ntfy.dispatcher import Dispatcher
from ipp_ntfy.manager import SubscriptionManager
from ipp_ntfy.notification import Event
from ipp_ntfy.retry import RetryPolicy, backoffPolicy
from ipp_ntfy.store import SQLiteStore

reactor: Any = _reactor
PRINTER = "ipp://relay.test/ipp/printers/crash"


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


@inlineCallbacks
def main(path: str, listener: str, first: int, count: int) -> Any:
    store = yield SQLiteStore.open(path, reactor)
    manager = SubscriptionManager(store, reactor)
    existing = yield manager.list(PRINTER)
    if not existing:
        for name in ("a", "b"):
            yield manager.subscribe(
                PRINTER,
                recipientUri=f"{listener}/{name}",
                events=["all"],
                leaseDuration=0,
            )
    delivery = HttpDeliveryMethod(reactor, requestTimeout=5.0, connectTimeout=2.0)
    dispatcher = Dispatcher(
        store,
        delivery,
        reactor,
        RetryPolicy(backoffPolicy(initialDelay=0.05, maxDelay=0.5)),
        batchSize=20,
        pollInterval=0.2,
    )
    manager.onPublished(dispatcher.queued)
    dispatcher.startService()
    say("ready")
    for n in range(first, first + count):
        event = Event(
            source="crash",
            subscriptionId=1,
            sequenceNumber=n,
            event="printer-state-changed",
            printerUri=PRINTER,
            text=f"n={n}",
        )
        published = yield manager.publish(event)
        say(f"published {n} " + " ".join(f"{s}:{q}" for s, q in published))
        if n % 5 == 0:
            yield deferLater(reactor, 0.01, lambda: None)
    while True:
        depth = yield store.queueDepth()
        if depth == 0:
            break
        yield deferLater(reactor, 0.1, lambda: None)
    say("drained")
    yield dispatcher.stopService()
    yield store.close()
    reactor.stop()


if __name__ == "__main__":
    path, listener, first, count = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    reactor.callWhenRunning(main, path, listener, int(first), int(count))
    reactor.run()
