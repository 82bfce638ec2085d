#!/usr/bin/env python3
"""
What the relay's metrics cost.

    python3 bench/metrics.py             # about a minute
    python3 bench/metrics.py --quick     # a few seconds

Two measurements, each side by side with its baseline in one run, alternating,
repeated (the median is shown):

  - C{dispatcher}: the CPU time of the dispatcher per delivered event, on a
    L{Clock} with a L{MemoryStore} and a delivery method that answers at once
    (no I/O: the dispatcher's own cost is all there is to see), without an
    observer and with L{RelayMetrics}.  Batches of 50 events, 10 subscriptions.
  - C{scrape}: one C{/metrics} answer on a SQLite store with a full queue:
    L{ISubscriptionStore.queueStats} (the store's worker thread; the reactor
    only waits) and L{RelayMetrics.render} (the reactor thread), against
    C{nextDue} and C{dueEvents} (what the dispatcher asks at every look at the
    queue) on the same store.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from twisted.internet.defer import Deferred, ensureDeferred, succeed  # noqa: E402
from twisted.internet.task import Clock, react  # noqa: E402
from zope.interface import implementer  # noqa: E402

from ipp_ntfy.dispatcher import Dispatcher  # noqa: E402
from ipp_ntfy.interfaces import IDeliveryMethod  # noqa: E402
from ipp_ntfy.manager import SubscriptionManager, eventToPayload  # noqa: E402
from ipp_ntfy.metrics import RelayMetrics  # noqa: E402
from ipp_ntfy.notification import Event  # noqa: E402
from ipp_ntfy.outcome import DELIVERED  # noqa: E402
from ipp_ntfy.store import MemoryStore, SQLiteStore  # noqa: E402
from ipp_ntfy.subscription import Subscription  # noqa: E402

PRINTER = "ipp://relay.example/ipp/printers/q"


@implementer(IDeliveryMethod)
class InstantDelivery:
    def deliver(self, recipientUri: str, events: Any) -> Deferred[Any]:
        return succeed([DELIVERED] * len(events))


def dispatcherRun(events: int, observer: Optional[RelayMetrics]) -> float:
    """
    @return: CPU seconds per delivered event.
    """
    clock = Clock()
    clock.advance(1_800_000_000)
    store = MemoryStore(maxQueued=events)
    manager = SubscriptionManager(store, clock)
    dispatcher = Dispatcher(
        store, InstantDelivery(), clock, batchSize=50, observer=observer
    )
    for n in range(10):
        manager.subscribe(PRINTER, recipientUri=f"http://app{n % 2}.example/e")
    payload = eventToPayload(
        Event(
            source="bench",
            subscriptionId=1,
            sequenceNumber=1,
            event="printer-stopped",
            printerUri=PRINTER,
        )
    )
    perSubscription = events // 10
    for subscriptionId in range(1, 11):
        store.appendEvents([(subscriptionId, payload)] * perSubscription, 0.0)
    dispatcher.startService()
    start = time.process_time()
    while store._queueDepth(None):
        clock.advance(1)
    elapsed = time.process_time() - start
    dispatcher.stopService()
    return elapsed / (perSubscription * 10)


def benchDispatcher(options: argparse.Namespace) -> None:
    baseline: List[float] = []
    observed: List[float] = []
    for _ in range(options.repeat):
        baseline.append(dispatcherRun(options.events, None))
        observed.append(dispatcherRun(options.events, RelayMetrics()))
    a, b = statistics.median(baseline), statistics.median(observed)
    print(
        f"dispatcher, {options.events} events, median of {options.repeat}: "
        f"{a * 1e6:.1f} us/event without observer, {b * 1e6:.1f} us/event with "
        f"RelayMetrics: x{b / a:.3f} (+{(b - a) * 1e6:.2f} us/event)"
    )


async def timed(call: Callable[[], Deferred[Any]], times: int) -> float:
    samples = []
    for _ in range(times):
        start = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


async def benchScrape(reactor: Any, options: argparse.Namespace) -> None:
    directory = tempfile.mkdtemp(prefix="ipp-ntfy-bench-")
    store = await SQLiteStore.open(
        os.path.join(directory, "store.sqlite3"), reactor, maxQueued=10**9
    )
    try:
        ids = []
        for n in range(options.subscriptions):
            created = await store.createSubscription(
                Subscription(
                    0,
                    PRINTER,
                    ("all",),
                    recipientUri=f"http://app{n % options.recipients}.example/e",
                )
            )
            ids.append(created.subscriptionId)
        payload = b"x" * 640
        perCall = 1000
        for start in range(0, options.queued, perCall):
            await store.appendEvents(
                [(ids[(start + i) % len(ids)], payload) for i in range(perCall)],
                float(start),
            )
        metrics = RelayMetrics()
        stats = await store.queueStats(1e9)
        assert sum(q.depth for q in stats.recipients) == options.queued
        results: Dict[str, List[float]] = {}
        for _ in range(options.repeat):
            for name, call in (
                ("queueStats", lambda: store.queueStats(1e9)),
                ("nextDue", lambda: store.nextDue()),
                ("dueEvents(50 x 20)", lambda: store.dueEvents(1e9, 50, 1000)),
            ):
                results.setdefault(name, []).append(await timed(call, 5))
        began = time.perf_counter()
        for _ in range(100):
            metrics.render(stats, 1e9)
        render = (time.perf_counter() - began) / 100
        print(
            f"SQLite store, {options.subscriptions} push subscriptions to "
            f"{options.recipients} recipients, {options.queued} events queued, "
            f"median of {options.repeat}x5:"
        )
        for name, samples in results.items():
            print(f"  {name}: {statistics.median(samples) * 1e3:.1f} ms")
        print(
            f"  RelayMetrics.render ({options.recipients} recipients): "
            f"{render * 1e3:.2f} ms"
        )
    finally:
        await store.close()
        for name in os.listdir(directory):
            os.unlink(os.path.join(directory, name))
        os.rmdir(directory)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--queued", type=int, default=200000)
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--recipients", type=int, default=100)
    options = parser.parse_args()
    if options.quick:
        options.repeat, options.events, options.queued = 3, 5000, 20000
    benchDispatcher(options)
    react(lambda reactor: ensureDeferred(benchScrape(reactor, options)))


if __name__ == "__main__":
    main()
