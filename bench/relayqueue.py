#!/usr/bin/env python3
"""
Queue and delivery benchmark: the relay's SQLite queue, dispatcher and HTTP
delivery against a real listener in another process.

    python3 bench/relayqueue.py                   # every scenario, about 4 minutes
    python3 bench/relayqueue.py --quick           # smaller, about 1.5 minutes
    python3 bench/relayqueue.py --only latency    # rss,throughput,latency
    python3 bench/relayqueue.py --json out.json   # also save every figure
    python3 bench/relayqueue.py --profile-dir p/  # cProfile each relay run into p/

Each side runs in its own process: the relay pinned to CPU 0 (C{--relay-cpus})
and the listener to CPU 1 (C{--listener-cpus}), with C{os.sched_setaffinity},
unless C{--no-pin}.  Scenarios:

  - C{rss}: the relay process's resident size (C{/proc/self/statm}) with the
    store open and empty ("idle"); after 10,000 push subscriptions and
    1,000,000 queued events are put in the SQLite store (C{createSubscription},
    then C{appendEvents} with one event for each subscription a call); and
    while a L{Dispatcher} with an L{HttpDeliveryMethod} works on that queue for
    20 s against a listener that is down (connection refused), so the queue
    stays full.  Then once more in a fresh process that opens the full file
    ("restart").  Also: the file size, the time of store operations at that
    size, and the time of C{appendEvents} by the depth of the subscription's
    queue.
  - C{throughput}: publish (L{SubscriptionManager.publish}, whose Deferred
    fires once the event is committed) -> dispatcher -> HTTP -> listener
    process (a L{NotificationListener} behind C{NotificationFactory} if the
    checkout has it, else L{NotificationSite}, with a sink that answers with an
    already fired Deferred of 0) -> the acknowledgement committed in the store.
    Events/s from the first publish call to the last acknowledgement
    committed, with C{batchSize} 1 and 50; publishing and delivering at the
    same time ("e2e"), and in two phases on a fresh store: publish only
    (dispatcher stopped), then deliver only.  10 subscriptions on 10 printers,
    one recipient URI (and again with 10 URIs).  Also the CPU time of each
    step an event goes through, without I/O.
  - C{latency}: publish at a fixed rate (a C{LoopingCall}) for 10 s, three
    times (the median run is shown), then at a lower rate.  The relay notes
    C{time.time()} just before each publish call, the listener process
    C{time.time()} when its sink gets the event; they are matched by job id
    (every event has its own).

The store is the shipped one: WAL, C{synchronous=FULL}, group commit.  Events
are cupsd's job-completed event (C{tests/vectors}) with a printer URI, job id
and text of their own: about 640 octets once stored (C{eventToPayload}).  They
are made before the clock starts.  The relay logs as C{twistd} would (every
event, debug included, through a text file observer, here into C{/dev/null});
C{--log none} drops them.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import datetime
import gc
import json
import os
import pstats
import resource
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    List,
    Optional,
    Sequence,
    Tuple,
    cast,
)

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred
    from twisted.logger import ILogObserver

    from ipp_ntfy.delivery import HttpDeliveryMethod
    from ipp_ntfy.dispatcher import Dispatcher
    from ipp_ntfy.manager import SubscriptionManager
    from ipp_ntfy.notification import Event
    from ipp_ntfy.store import SQLiteStore

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

VECTOR = ROOT / "tests" / "vectors" / "cups-2.4.2-notifier-event-job-completed.ipp"
PRINTER = "ipp://relay.bench/ipp/printers/p{}"
EVENTS = ("job-completed",)
MB = 1024 * 1024
PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")

# Targets (the "Done when").
RSS_TARGET_MB = 100.0
THROUGHPUT_TARGET = 10000.0
P99_TARGET_MS = 20.0


# -- measuring -------------------------------------------------------------------------


def rss() -> int:
    """
    @return: this process's resident set size, in octets.
    """
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def peakRss() -> int:
    """
    @return: the largest resident set size this process has had, in octets.
    """
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def cpuSeconds() -> float:
    """
    @return: user + system CPU time of this process (every thread).
    """
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def threadCpu(nativeId: int) -> float:
    """
    @return: user + system CPU time of one thread of this process.
    """
    with open(f"/proc/self/task/{nativeId}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # Fields 14 and 15 of stat(5), counted from the state (field 3).
    return (int(fields[11]) + int(fields[12])) / TICK


def stolenSeconds() -> float:
    """
    @return: the time the host took from this process's CPUs (the C{steal}
        column of C{/proc/stat}, for each CPU the process may run on), in
        seconds since boot; 0 where that is not known.
    """
    cpus = {f"cpu{n}" for n in os.sched_getaffinity(0)}
    try:
        with open("/proc/stat") as f:
            lines = [line.split() for line in f if line.startswith("cpu")]
    except OSError:
        return 0.0
    return sum(int(fields[8]) for fields in lines if fields[0] in cpus) / TICK


def percentile(values: Sequence[float], fraction: float) -> float:
    """
    @return: the C{fraction} quantile of C{values} (nearest rank), 0 if none.
    """
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(fraction * len(ordered))) - 1))
    return ordered[index]


def sleep(reactor: Any, seconds: float) -> Deferred[None]:
    from twisted.internet.task import deferLater

    return deferLater(reactor, seconds, lambda: None)


def pin(cpus: Optional[str]) -> None:
    """
    Run this process (and the threads it starts) on these CPUs only.
    """
    if cpus and hasattr(os, "sched_setaffinity"):
        wanted = {int(cpu) for cpu in cpus.split(",")}
        available = os.sched_getaffinity(0)
        if wanted & available:
            os.sched_setaffinity(0, wanted & available)


def result(values: Dict[str, Any]) -> None:
    """
    Hand a child's results to the parent: one line on standard output.
    """
    sys.stdout.write("RESULT " + json.dumps(values) + "\n")
    sys.stdout.flush()


class Problems:
    """
    Counts log events of level warn and above, and those that say something
    failed (a delivery to be retried is logged at level info), and keeps the
    first few, so that a run that went wrong says so even with the log on
    /dev/null.
    """

    def __init__(self) -> None:
        self.count = 0
        self.first: List[str] = []

    def __call__(self, event: Dict[str, Any]) -> None:
        from twisted.logger import LogLevel, formatEvent
        from twisted.python.failure import Failure

        level = event.get("log_level")
        failed = "failed" in (event.get("log_format") or "")
        if failed or (level is not None and level >= LogLevel.warn):
            self.count += 1
            if len(self.first) < 5:
                text = formatEvent(event)
                failure = event.get("log_failure")
                if isinstance(failure, Failure):
                    text += f": {failure.getErrorMessage()}"
                self.first.append(text[:300])


def startLogging(mode: str) -> Problems:
    """
    Log as twistd does (every event formatted by a text file observer: here to
    /dev/null), or not at all (C{"none"}).  Either way, count the problems.
    """
    from twisted.logger import ILogObserver, globalLogBeginner, textFileLogObserver
    from zope.interface import directlyProvides

    problems = Problems()
    directlyProvides(problems, ILogObserver)
    observers: List[ILogObserver] = [cast("ILogObserver", problems)]
    if mode == "devnull":
        observers.append(textFileLogObserver(open(os.devnull, "w")))
    globalLogBeginner.beginLoggingTo(
        observers, discardBuffer=True, redirectStandardIO=False
    )
    return problems


# -- events ----------------------------------------------------------------------------


def baseEvent() -> Event:
    """
    @return: cupsd's job-completed event, as the CUPS notifier reads it.
    """
    from ipp_ntfy.ipp import decode
    from ipp_ntfy.notification import eventFromNotifierMessage

    return eventFromNotifierMessage(
        decode(VECTOR.read_bytes()),
        source="cups",
        receivedAt=datetime.datetime.now(datetime.timezone.utc),
    )


def makeEvent(base: Event, printer: int, job: int) -> Event:
    """
    @return: C{base} on printer C{printer}, for job C{job}.
    """
    return dataclasses.replace(
        base,
        printerUri=PRINTER.format(printer),
        jobId=job,
        text=f"Job #{job} completed.",
    )


# -- instrumenting the relay -----------------------------------------------------------


class StoreProbe:
    """
    Wraps an open L{SQLiteStore}: times the batches its worker thread runs, and
    counts the acknowledged events once their commit has fired.
    """

    def __init__(self, store: SQLiteStore) -> None:
        self.busy = 0.0
        self.batches = 0
        self.acked = 0
        self.lastAck = 0.0
        self.rescheduled = 0
        worker: Any = store._worker
        self.threadId: int = worker._thread.native_id
        submit = worker.submit

        def timedSubmit(work: Callable[[], Any]) -> Deferred[Any]:
            def run() -> Any:
                start = time.perf_counter()
                try:
                    return work()
                finally:
                    self.busy += time.perf_counter() - start
                    self.batches += 1

            return submit(run)

        worker.submit = timedSubmit
        acknowledge = store.acknowledge
        reschedule = store.reschedule

        def countedAcknowledge(
            subscriptionId: int, sequences: Sequence[int]
        ) -> Deferred[None]:
            count = len(sequences)

            def done(value: None) -> None:
                self.acked += count
                self.lastAck = time.perf_counter()
                return value

            return acknowledge(subscriptionId, sequences).addCallback(done)

        def countedReschedule(
            subscriptionId: int,
            sequences: Sequence[int],
            notBefore: float,
            error: str,
        ) -> Deferred[None]:
            self.rescheduled += len(sequences)
            return reschedule(subscriptionId, sequences, notBefore, error)

        setattr(store, "acknowledge", countedAcknowledge)  # noqa: B010
        setattr(store, "reschedule", countedReschedule)  # noqa: B010

        # Time each operation in the worker thread, by the store method that
        # asked for it (the qualified name of its lambda).
        self.operations: Dict[str, List[float]] = {}
        enqueue = store._enqueue
        # appendEvents calls next to each other in a batch run as one
        # (_appendMany, where the store has it): timed there, each call counted.
        from ipp_ntfy.store import sqlite

        appendMany = getattr(sqlite, "_appendMany", None)
        if appendMany is not None:
            appended = self.operations.setdefault("appendEvents", [0, 0.0])

            def timedAppendMany(connection: Any, calls: Any, maxQueued: int) -> Any:
                start = time.perf_counter()
                try:
                    return appendMany(connection, calls, maxQueued)
                finally:
                    appended[0] += len(calls)
                    appended[1] += time.perf_counter() - start

            setattr(sqlite, "_appendMany", timedAppendMany)  # noqa: B010

        # The store method's name, by the code of the lambda it queues: worked
        # out once, so that the probe adds little to each publish it times.
        names: Dict[Any, str] = {}

        def timedEnqueue(
            run: Callable[[Any], Any], write: bool, *rest: Any, **options: Any
        ) -> Deferred[Any]:
            if appendMany is not None and options.get("appending") is not None:
                return enqueue(run, write, *rest, **options)  # timed below
            code = getattr(run, "__code__", None)
            name = names.get(code)
            if name is None:
                name = run.__qualname__.split(".<locals>")[0].rpartition(".")[2]
                name = name or run.__qualname__
                if code is not None:
                    names[code] = name
            if appendMany is not None and name == "appendEvents":
                return enqueue(run, write, *rest, **options)
            spent = self.operations.setdefault(name.lstrip("_"), [0, 0.0])

            def timedRun(connection: Any) -> Any:
                start = time.perf_counter()
                try:
                    return run(connection)
                finally:
                    spent[0] += 1
                    spent[1] += time.perf_counter() - start

            return enqueue(timedRun, write, *rest, **options)

        setattr(store, "_enqueue", timedEnqueue)  # noqa: B010

    def workerCpu(self) -> float:
        return threadCpu(self.threadId)


class DeliveryProbe:
    """
    Counts the requests and events an L{HttpDeliveryMethod} is asked to send
    (through C{deliverEncoded} where it has it, else C{deliver}),
    notes when each job's event was first handed to it (if C{noteHanded}: a
    look at each event, which only the latency scenario needs), and how long
    each request took.
    """

    def __init__(self, delivery: HttpDeliveryMethod, noteHanded: bool = True) -> None:
        self.calls = 0
        self.events = 0
        self.handed: Dict[int, float] = {}
        self.requests: List[Tuple[float, float]] = []
        # The dispatcher hands encoded events to deliverEncoded where there is
        # one (deliver goes through it too).
        name = "deliverEncoded" if hasattr(delivery, "deliverEncoded") else "deliver"
        deliver = getattr(delivery, name)

        def counted(recipientUri: str, events: Sequence[Any]) -> Deferred[Any]:
            self.calls += 1
            self.events += len(events)
            start = time.time()
            if noteHanded:
                for event in events:
                    if event.jobId is not None:
                        self.handed.setdefault(event.jobId, start)

            def done(outcomes: Any) -> Any:
                self.requests.append((start, time.time() - start))
                return outcomes

            return deliver(recipientUri, events).addCallback(done)

        setattr(delivery, name, counted)


class Publisher:
    """
    Publishes events through a L{SubscriptionManager}, round robin over the
    printers.

    The events are made beforehand (L{prepare}), so that what is timed is the
    relay's work from the publish call on, not the source's making of an
    L{Event}.  Event C{n} (from 0) is job C{n + 1}.  If C{timed}, L{calls} has
    the C{time.time()} of each publish call, by C{n}, and L{durable} the seconds
    from each call to its Deferred firing, as C{(n, seconds)}; else (the
    throughput scenario, which needs neither) a publish costs the relay's
    process one callback and no clock reading of the bench's own.
    """

    def __init__(
        self, manager: SubscriptionManager, printers: int, timed: bool = True
    ) -> None:
        from twisted.python.failure import Failure

        self.manager = manager
        self.printers = printers
        self.timed = timed
        self.failureType = Failure
        self.base = baseEvent()
        self.events: List[Event] = []
        self.calls: List[float] = []
        self.durable: List[Tuple[int, float]] = []
        self.sent = 0
        self.fired = 0
        self.failed = 0
        self.queued = 0

    def prepare(self, count: int) -> None:
        """
        Make the next C{count} events.
        """
        first = len(self.events)
        self.events.extend(
            makeEvent(self.base, n % self.printers, n + 1)
            for n in range(first, first + count)
        )

    def one(self, then: Optional[Callable[[], None]] = None) -> Deferred[Any]:
        """
        Publish the next event.

        @param then: called (without arguments) once its Deferred has fired, in
            the same callback.
        @return: that Deferred; it fires with C{None}.
        """
        n = self.sent
        self.sent += 1
        if n >= len(self.events):
            self.prepare(1000)
        event = self.events[n]
        if not self.timed:
            return self.manager.publish(event).addBoth(self._fired, then)
        stamp = time.time()
        self.calls.append(stamp)
        d = self.manager.publish(event)
        return d.addBoth(self._firedTimed, then, n, stamp)

    def _fired(self, result: Any, then: Optional[Callable[[], None]]) -> None:
        self.fired += 1
        if isinstance(result, self.failureType):
            self.failed += 1
            sys.stderr.write(f"publish failed: {result.getErrorMessage()}\n")
        else:
            self.queued += len(result)
        if then is not None:
            then()

    def _firedTimed(
        self,
        result: Any,
        then: Optional[Callable[[], None]],
        n: int,
        stamp: float,
    ) -> None:
        if not isinstance(result, self.failureType):
            self.durable.append((n, time.time() - stamp))
        self._fired(result, then)

    def burst(self, count: int, window: int) -> Deferred[None]:
        """
        Publish C{count} events, with up to C{window} publishes under way.

        @return: a Deferred that fires once every one of them has.
        """
        from twisted.internet.defer import Deferred

        done: Deferred[None] = Deferred()
        state = {"left": count, "running": 0}

        def startMore() -> None:
            while state["left"] and state["running"] < window:
                state["left"] -= 1
                state["running"] += 1
                self.one(finished)

        def finished() -> None:
            state["running"] -= 1
            if state["left"]:
                startMore()
            elif state["running"] == 0 and not done.called:
                done.callback(None)

        if count == 0:
            done.callback(None)
        else:
            startMore()
        return done


async def waitFor(
    reactor: Any, condition: Callable[[], bool], timeout: float, step: float = 0.005
) -> bool:
    """
    @return: whether C{condition()} became true within C{timeout} seconds.
    """
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            return False
        await sleep(reactor, step)
    return True


# -- the listener process --------------------------------------------------------------


async def listenerMain(reactor: Any, options: argparse.Namespace) -> None:
    from twisted.internet.defer import Deferred
    from twisted.internet.protocol import Protocol
    from twisted.internet.stdio import StandardIO
    from twisted.python.failure import Failure
    from zope.interface import implementer

    import ipp_ntfy.listener
    from ipp_ntfy.interfaces import INotificationSink
    from ipp_ntfy.service import resourceAt

    @implementer(INotificationSink)
    class BenchSink:
        """
        Takes every event at once (an already fired C{Deferred} of 0, as quick
        as a sink can be), and notes when it first got each job's event.
        """

        def __init__(self) -> None:
            self.count = 0
            self.received: Dict[int, float] = {}
            self.keys: Dict[Tuple[int, int], Optional[int]] = {}
            self.odd: List[str] = []
            self.consumed: Deferred[int] = Deferred()
            self.consumed.callback(0)

        def receive(self, event: Event) -> Deferred[int]:
            self.count += 1
            job = event.jobId
            key = (event.subscriptionId, event.sequenceNumber)
            if key in self.keys or job is None or job in self.received:
                # A resent event, or one that is not what was published.
                if len(self.odd) < 10:
                    self.odd.append(
                        f"subscription {key[0]} sequence {key[1]} job {job} "
                        f"(that key had job {self.keys.get(key, '-')})"
                    )
            self.keys[key] = job
            if job is not None and job not in self.received:
                self.received[job] = time.time()
            return self.consumed

    class UntilEOF(Protocol):
        def connectionLost(self, reason: Optional[Failure] = None) -> None:
            if not done.called:
                done.callback(None)

    done: Deferred[None] = Deferred()
    pin(options.cpu)
    startLogging("none")
    sink = BenchSink()
    listener = ipp_ntfy.listener.NotificationListener(sink, clock=reactor)
    factoryClass = getattr(ipp_ntfy.listener, "NotificationFactory", None)
    if factoryClass is not None and not options.site:
        factory = factoryClass(listener, "/notify", reactor=reactor)
        front = "NotificationFactory"
    else:
        factory = ipp_ntfy.listener.NotificationSite(
            resourceAt("/notify", listener), reactor=reactor
        )
        front = "NotificationSite"
    answers = {"requests": 0}
    answer = listener.answer

    def countedAnswer(body: bytes, peer: str = "?") -> Any:
        answers["requests"] += 1
        return answer(body, peer)

    setattr(listener, "answer", countedAnswer)  # noqa: B010
    port = reactor.listenTCP(0, factory, interface="127.0.0.1", backlog=128)
    sys.stdout.write(f"PORT {port.getHost().port}\n")
    sys.stdout.flush()
    StandardIO(UntilEOF(), reactor=reactor)
    start = cpuSeconds()
    await done
    result(
        {
            "front": front,
            "events": sink.count,
            "distinct": len(sink.received),
            "distinctKeys": len(sink.keys),
            "odd": sink.odd,
            "requests": answers["requests"],
            "cpu": cpuSeconds() - start,
            "received": sorted(sink.received.items()) if options.samples else [],
        }
    )


# -- the relay process: throughput and latency -----------------------------------------


async def openRelay(
    reactor: Any, options: argparse.Namespace
) -> Tuple[SQLiteStore, StoreProbe, SubscriptionManager, Dispatcher, DeliveryProbe]:
    from ipp_ntfy.delivery import HttpDeliveryMethod
    from ipp_ntfy.dispatcher import Dispatcher
    from ipp_ntfy.manager import SubscriptionManager
    from ipp_ntfy.store import SQLiteStore
    from ipp_ntfy.subscription import SubscriptionPolicy

    store = await SQLiteStore.open(str(Path(options.dir) / "relay.sqlite"), reactor)
    probe = StoreProbe(store)
    manager = SubscriptionManager(
        store, reactor, SubscriptionPolicy(maxSubscriptions=None)
    )
    url = f"http://127.0.0.1:{options.port}/notify"
    for index in range(options.subscriptions):
        recipient = (
            url if options.recipients == 1 else f"{url}?r={index % options.recipients}"
        )
        await manager.subscribe(
            PRINTER.format(index),
            recipientUri=recipient,
            events=EVENTS,
            leaseDuration=0,
        )
    delivery = HttpDeliveryMethod(reactor)
    deliveries = DeliveryProbe(delivery, noteHanded=options.mode == "latency")
    dispatcher = Dispatcher(
        store,
        delivery,
        reactor,
        batchSize=options.batch,
        maxInFlight=options.in_flight,
    )
    if hasattr(manager, "onPublished"):
        manager.onPublished(dispatcher.queued)
    else:
        manager.onQueued(dispatcher.wake)
    return store, probe, manager, dispatcher, deliveries


class Snapshot:
    """
    The counters of a relay at one moment, to take differences.
    """

    def __init__(
        self, probe: StoreProbe, deliveries: DeliveryProbe, store: SQLiteStore
    ) -> None:
        self.wall = time.perf_counter()
        self.cpu = cpuSeconds()
        self.stolen = stolenSeconds()
        self.workerCpu = probe.workerCpu()
        self.busy = probe.busy
        self.batches = probe.batches
        self.commits = store.commits
        self.requests = deliveries.calls
        self.delivered = deliveries.events
        self.acked = probe.acked
        self.rescheduled = probe.rescheduled
        self.operations = {k: list(v) for k, v in probe.operations.items()}

    def since(self, before: Snapshot, events: int) -> Dict[str, Any]:
        wall = self.wall - before.wall
        requests = self.requests - before.requests
        return {
            "seconds": wall,
            "events": events,
            "rate": events / wall if wall else 0.0,
            "cpu": self.cpu - before.cpu,
            # Of the relay's CPUs' time, the share the host took (steal).
            "stolen": (self.stolen - before.stolen)
            / (wall * len(os.sched_getaffinity(0)))
            if wall
            else 0.0,
            "sqliteThreadCpu": self.workerCpu - before.workerCpu,
            "storeBusy": (self.busy - before.busy) / wall if wall else 0.0,
            "storeBatches": self.batches - before.batches,
            "commits": self.commits - before.commits,
            "requests": requests,
            "rescheduled": self.rescheduled - before.rescheduled,
            "eventsPerRequest": (self.delivered - before.delivered) / requests
            if requests
            else 0.0,
            # In the SQLite thread: calls and seconds, by store operation.
            "operations": {
                name: (
                    count - before.operations.get(name, [0, 0.0])[0],
                    seconds - before.operations.get(name, [0, 0.0])[1],
                )
                for name, (count, seconds) in self.operations.items()
                if count > before.operations.get(name, [0, 0.0])[0]
            },
        }


#: What the profile summary shows: label, file (the end of its path), function.
PROFILED = (
    ("reactor idle (epoll wait)", "~", "<method 'poll' of 'select.epoll' objects>"),
    ("SubscriptionManager.publish", "ipp_ntfy/manager.py", "publish"),
    ("  eventToPayload", "ipp_ntfy/manager.py", "eventToPayload"),
    ("Dispatcher._takeDue", "ipp_ntfy/dispatcher.py", "_takeDue"),
    ("Dispatcher._deliver", "ipp_ntfy/dispatcher.py", "_deliver"),
    ("  eventFromPayload", "ipp_ntfy/manager.py", "eventFromPayload"),
    ("  personalize", "ipp_ntfy/manager.py", "personalize"),
    ("  personalizedOctets", "ipp_ntfy/manager.py", "personalizedOctets"),
    ("  HttpDeliveryMethod.deliver", "ipp_ntfy/delivery.py", "deliver"),
    ("  HttpDeliveryMethod.deliverEncoded", "ipp_ntfy/delivery.py", "deliverEncoded"),
    ("    buildReport", "ipp_ntfy/notification.py", "buildReport"),
    ("    encodeReport", "ipp_ntfy/notification.py", "encodeReport"),
    ("  HttpDeliveryMethod._response", "ipp_ntfy/delivery.py", "_response"),
    ("Dispatcher._record", "ipp_ntfy/dispatcher.py", "_record"),
    ("IPP encode (all)", "ipp_ntfy/ipp/encode.py", "encode"),
    ("IPP decode (all)", "ipp_ntfy/ipp/decode.py", "decode"),
    ("Event.__post_init__ (all)", "ipp_ntfy/notification.py", "__post_init__"),
    ("store: queue an operation", "ipp_ntfy/store/sqlite.py", "_enqueue"),
    ("Deferred machinery (exclusive)", "twisted/internet/defer.py", "*"),
    ("HTTP client: request", "twisted/web/client.py", "request"),
    ("HTTP client: response bytes", "twisted/web/_newclient.py", "dataReceived"),
    ("logging: every event", "twisted/logger/_logger.py", "emit"),
)


def profileSummary(profile: cProfile.Profile) -> List[Tuple[str, float]]:
    """
    @return: the inclusive time (seconds in the function and what it calls) of
        each of L{PROFILED}, in the reactor thread; they overlap.
    """
    stats: Dict[Any, Any] = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    times: List[Tuple[str, float]] = []
    for label, path, function in PROFILED:
        total = 0.0
        for (filename, _, name), (_, _, tottime, cumtime, _) in stats.items():
            if function == "*" and filename.endswith(path):
                total += tottime
            elif name == function and filename.endswith(path):
                total += tottime if path == "~" else cumtime
        times.append((label, total))
    return times


async def relayMain(reactor: Any, options: argparse.Namespace) -> None:
    from twisted.internet.task import LoopingCall

    pin(options.cpu)
    problems = startLogging(options.log)
    store, probe, manager, dispatcher, deliveries = await openRelay(reactor, options)
    publisher = Publisher(
        manager, options.subscriptions, timed=options.mode == "latency"
    )
    events = options.events
    if options.mode == "latency":
        events = int(options.rate * (options.duration + 1) * 1.1)
    publisher.prepare(options.warmup + events)
    profile = cProfile.Profile() if options.profile else None
    out: Dict[str, Any] = {"mode": options.mode, "batch": options.batch}

    if options.mode == "split":
        # One operation at a time, nothing else going on: the floor under
        # every store call the relay waits for.
        for name, call in (
            ("read (getSubscription)", lambda: store.getSubscription(1)),
            ("write (acknowledge nothing)", lambda: store.acknowledge(1, [])),
        ):
            start = time.perf_counter()
            for _ in range(200):
                await call()
            out.setdefault("roundTrip", {})[name] = (time.perf_counter() - start) / 200

    # Warm up: the connections, the caches, the first commits.
    dispatcher.startService()
    await publisher.burst(options.warmup, options.window)
    await waitFor(reactor, lambda: probe.acked >= options.warmup, 30)
    ackedBefore = probe.acked
    gc.collect()
    if profile is not None:
        profile.enable()
    profileStart = time.perf_counter()

    if options.mode == "e2e":
        before = Snapshot(probe, deliveries, store)
        publishing = publisher.burst(events, options.window)
        finished = await waitFor(
            reactor, lambda: probe.acked - ackedBefore >= events, options.max_seconds
        )
        after = Snapshot(probe, deliveries, store)
        if finished:
            after.wall = probe.lastAck
        out["e2e"] = after.since(before, probe.acked - ackedBefore)
        out["complete"] = finished
        await publishing
    elif options.mode == "split":
        await dispatcher.stopService()
        before = Snapshot(probe, deliveries, store)
        await publisher.burst(events, options.window)
        middle = Snapshot(probe, deliveries, store)
        out["publish"] = middle.since(before, events)
        dispatcher.startService()
        finished = await waitFor(
            reactor, lambda: probe.acked - ackedBefore >= events, options.max_seconds
        )
        after = Snapshot(probe, deliveries, store)
        if finished:
            after.wall = probe.lastAck
        out["drain"] = after.since(middle, probe.acked - ackedBefore)
        out["complete"] = finished
    else:  # latency
        await sleep(reactor, 0.5)
        first = publisher.sent
        started = time.time()
        before = Snapshot(probe, deliveries, store)

        def tick(count: int) -> None:
            # count intervals have passed since the last call (more than one
            # when the reactor was late): publish what is due, to keep the rate.
            for _ in range(count * options.tick):
                publisher.one()

        running = LoopingCall.withCount(tick)
        running.clock = reactor
        running.start(options.tick / options.rate, now=True)
        await sleep(reactor, options.duration)
        running.stop()
        out["publishSeconds"] = time.time() - started
        published = publisher.sent - first
        finished = await waitFor(
            reactor,
            lambda: (
                publisher.fired >= publisher.sent
                and probe.acked - ackedBefore >= published
            ),
            30,
        )
        after = Snapshot(probe, deliveries, store)
        out["latency"] = after.since(before, published)
        out["published"] = published
        out["started"] = started
        out["complete"] = finished
        # Event n is job n + 1: the listener says when it got each job.
        out["calls"] = [
            (n + 1, stamp)
            for n, stamp in enumerate(publisher.calls)
            if n >= first and stamp >= started + options.skip
        ]
        durable = [
            seconds
            for n, seconds in publisher.durable
            if n >= first and publisher.calls[n] >= started + options.skip
        ]
        out["publishFired"] = {
            "p50": percentile(durable, 0.5),
            "p99": percentile(durable, 0.99),
            "max": max(durable, default=0.0),
        }
        # Where the time goes: publish call -> Deferred fired -> handed to the
        # delivery method (by the dispatcher) -> the listener (in the parent).
        calls = dict(out["calls"])
        firedAt = {
            n + 1: publisher.calls[n] + seconds
            for n, seconds in publisher.durable
            if n + 1 in calls
        }
        waits = [
            deliveries.handed[job] - firedAt[job]
            for job in firedAt
            if job in deliveries.handed
        ]
        out["handed"] = [
            (job, deliveries.handed[job]) for job in calls if job in deliveries.handed
        ]
        out["dispatchWait"] = {
            "p50": percentile(waits, 0.5),
            "p99": percentile(waits, 0.99),
        }
        requests = [
            seconds
            for start, seconds in deliveries.requests
            if start >= started + options.skip
        ]
        out["requestSeconds"] = {
            "count": len(requests),
            "p50": percentile(requests, 0.5),
            "p99": percentile(requests, 0.99),
        }

    if profile is not None:
        profile.disable()
        profile.dump_stats(options.profile)
        out["profileSeconds"] = time.perf_counter() - profileStart
        out["profile"] = profileSummary(profile)
    await dispatcher.stopService()
    out["queueDepthAfter"] = await store.queueDepth()
    out["publishFailures"] = publisher.failed
    out["problems"] = problems.count
    out["firstProblems"] = problems.first
    await store.close()
    await closeDelivery(dispatcher)
    result(out)


async def closeDelivery(dispatcher: Dispatcher) -> None:
    delivery = dispatcher.delivery
    pool = getattr(delivery, "pool", None)
    if pool is not None:
        await pool.closeCachedConnections()


# -- the relay process: memory ---------------------------------------------------------


def deadPort() -> int:
    """
    @return: a loopback port nobody listens on (connections are refused).
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def timedCall(call: Callable[[], Deferred[Any]]) -> Tuple[float, Any]:
    start = time.perf_counter()
    value = await call()
    return time.perf_counter() - start, value


async def rssMain(reactor: Any, options: argparse.Namespace) -> None:
    from twisted.internet.defer import DeferredList
    from twisted.internet.task import LoopingCall

    from ipp_ntfy.delivery import HttpDeliveryMethod
    from ipp_ntfy.dispatcher import Dispatcher
    from ipp_ntfy.manager import eventToPayload
    from ipp_ntfy.store import SQLiteStore
    from ipp_ntfy.subscription import Subscription

    pin(options.cpu)
    problems = startLogging(options.log)
    path = Path(options.dir) / "rss.sqlite"
    out: Dict[str, Any] = {"reopen": options.reopen}
    gc.collect()
    out["beforeOpen"] = rss()
    store = await SQLiteStore.open(str(path), reactor, maxQueued=options.max_queued)
    await store.queueDepth()
    gc.collect()
    out["idle"] = rss()
    port = deadPort()
    now = time.time()
    if not options.reopen:
        # 10,000 push subscriptions, a thousand per transaction.
        start = time.perf_counter()
        ids: List[int] = []
        for first in range(0, options.subscriptions, 1000):
            made = await DeferredList(
                [
                    store.createSubscription(
                        Subscription(
                            0,
                            PRINTER.format(index % 1000),
                            EVENTS,
                            recipientUri=f"http://127.0.0.1:{port}/notify/"
                            f"{index % options.rss_recipients}",
                            leaseDuration=0,
                            createdAt=now,
                        )
                    )
                    for index in range(first, min(options.subscriptions, first + 1000))
                ],
                fireOnOneErrback=True,
            )
            ids.extend(subscription.subscriptionId for _, subscription in made)
        out["subscribeSeconds"] = time.perf_counter() - start
        # The events: one per subscription per appendEvents call.
        base = baseEvent()
        rounds = options.events // len(ids)
        start = time.perf_counter()
        payloadBytes = 0
        for round in range(rounds):
            payload = eventToPayload(makeEvent(base, round % 1000, round + 1))
            payloadBytes = len(payload)
            sequences = await store.appendEvents(
                [(subscriptionId, payload) for subscriptionId in ids], now
            )
            assert all(sequences), "an event was dropped"
            if round % 10 == 9:
                sys.stderr.write(
                    f"  rss: {len(ids) * (round + 1):,} events queued, "
                    f"{time.perf_counter() - start:.0f} s, RSS {rss() / MB:.0f} MB\n"
                )
        out["appendSeconds"] = time.perf_counter() - start
        out["appended"] = rounds * len(ids)
        out["payloadBytes"] = payloadBytes
        gc.collect()
        out["afterFill"] = rss()

    # The cost of the store operations the relay uses, at this size.
    ops: Dict[str, float] = {}
    ops["queueDepth()"], depth = await timedCall(lambda: store.queueDepth())
    out["queueDepth"] = depth
    ops["nextDue()"], _ = await timedCall(lambda: store.nextDue())
    ops["dueEvents(now, 50, 2000)"], due = await timedCall(
        lambda: store.dueEvents(time.time(), 50, 2000)
    )
    out["dueEvents"] = len(due)
    del due
    ops["listSubscriptions()"], subscriptions = await timedCall(
        lambda: store.listSubscriptions()
    )
    out["subscriptions"] = len(subscriptions)
    del subscriptions
    ops["listSubscriptions(printer)"], _ = await timedCall(
        lambda: store.listSubscriptions(PRINTER.format(1))
    )
    ops["pruneHistory(100, now - 60)"], _ = await timedCall(
        lambda: store.pruneHistory(100, time.time() - 60)
    )
    out["ops"] = ops
    gc.collect()
    out["beforeDispatch"] = rss()

    # The dispatcher at work on the full queue, against a listener that is down.
    probe = StoreProbe(store)
    delivery = HttpDeliveryMethod(reactor, connectTimeout=5, requestTimeout=10)
    deliveries = DeliveryProbe(delivery)
    dispatcher = Dispatcher(store, delivery, reactor)
    samples: List[int] = []
    sampler = LoopingCall(lambda: samples.append(rss()))
    sampler.clock = reactor
    sampler.start(0.25, now=True)
    dispatcher.startService()
    start = time.perf_counter()
    cpu = cpuSeconds()
    await sleep(reactor, options.dispatch_seconds)
    await dispatcher.stopService()
    out["dispatchSeconds"] = time.perf_counter() - start
    out["dispatchCpu"] = cpuSeconds() - cpu
    sampler.stop()
    samples.append(rss())
    out["dispatchPeak"] = max(samples)
    out["dispatchEnd"] = samples[-1]
    out["dispatchSamples"] = samples[::4]
    out["requests"] = deliveries.calls
    out["eventsTried"] = deliveries.events
    out["rescheduled"] = probe.rescheduled
    out["queueDepthAfter"] = await store.queueDepth()
    out["peakRss"] = peakRss()
    out["problems"] = problems.count
    out["firstProblems"] = problems.first
    await store.close()
    await delivery.pool.closeCachedConnections()
    out["files"] = {
        p.name: p.stat().st_size for p in Path(options.dir).glob("rss.sqlite*")
    }
    if not options.reopen:
        out["appendByDepth"] = await appendByDepth(reactor, options)
    result(out)


async def appendByDepth(reactor: Any, options: argparse.Namespace) -> Dict[str, float]:
    """
    @return: the SQLite thread's time for C{appendEvents} of one event to a
        subscription, by how many events that subscription has queued already
        (up to the default queue limit, 10,000), in seconds.
    """
    from ipp_ntfy.manager import eventToPayload
    from ipp_ntfy.store import SQLiteStore
    from ipp_ntfy.subscription import Subscription

    store = await SQLiteStore.open(str(Path(options.dir) / "depth.sqlite"), reactor)
    probe = StoreProbe(store)
    subscription = await store.createSubscription(
        Subscription(
            0,
            PRINTER.format(0),
            EVENTS,
            recipientUri="http://127.0.0.1:9/",
            leaseDuration=0,
        )
    )
    entry = (subscription.subscriptionId, eventToPayload(baseEvent()))
    times: Dict[str, float] = {}
    for target in (0, 1000, 3000, 9800):
        depth = await store.queueDepth()
        if target > depth:
            await store.appendEvents([entry] * (target - depth), 0.0)
        before = list(probe.operations.get("appendEvents", [0, 0.0]))
        for _ in range(100):
            await store.appendEvents([entry], 0.0)
        count, seconds = probe.operations["appendEvents"]
        times[str(max(target, depth))] = (seconds - before[1]) / (count - before[0])
    await store.close()
    return times


# -- the cost of each step, without I/O ------------------------------------------------


def bestOf(rounds: int, run: Callable[[], object], count: int) -> float:
    """
    @return: the least time of C{rounds} runs of C{run}, over C{count}, in
        microseconds (garbage collection off while timing).
    """
    times = []
    for _ in range(rounds):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return min(times) / count * 1e6


def stepCosts(rounds: int = 7) -> Dict[str, float]:
    """
    @return: the CPU time of each step an event goes through in the relay (and
        the listener), in microseconds per event, best of C{rounds}.
    """
    from twisted.logger import Logger, LogPublisher, textFileLogObserver

    from ipp_ntfy.ipp import decode, encode
    from ipp_ntfy.manager import eventFromPayload, eventToPayload, personalize
    from ipp_ntfy.notification import buildReport, parseReport
    from ipp_ntfy.subscription import Subscription

    count = 500
    url = "http://127.0.0.1:8632/notify"
    base = baseEvent()
    events = [makeEvent(base, n % 10, n + 1) for n in range(count)]
    payloads = [eventToPayload(event) for event in events]
    subscription = Subscription(
        7, PRINTER.format(0), EVENTS, recipientUri=url, leaseDuration=0
    )
    reports = [
        encode(buildReport(events[i : i + 50], url, 1)) for i in range(0, count, 50)
    ]
    log = Logger(observer=LogPublisher(textFileLogObserver(open(os.devnull, "w"))))

    def each(step: Callable[[int], object]) -> Callable[[], object]:
        return lambda: [step(n) for n in range(count)]

    costs = {
        "make an Event (dataclasses.replace; the source's work)": bestOf(
            rounds, each(lambda n: makeEvent(base, n % 10, n + 1)), count
        ),
        "publish: eventToPayload": bestOf(
            rounds, each(lambda n: eventToPayload(events[n])), count
        ),
        "deliver: eventFromPayload": bestOf(
            rounds, each(lambda n: eventFromPayload(payloads[n])), count
        ),
        "deliver: personalize": bestOf(
            rounds, each(lambda n: personalize(events[n], subscription, n + 1)), count
        ),
        "deliver: buildReport + encode, 50 a report": bestOf(
            rounds,
            lambda: [
                encode(buildReport(events[i : i + 50], url, 1))
                for i in range(0, count, 50)
            ],
            count,
        ),
        "listener: decode + parseReport, 50 a report": bestOf(
            rounds,
            lambda: [parseReport(decode(body), source="l") for body in reports],
            count,
        ),
        "log: one event formatted to a file (twistd)": bestOf(
            rounds,
            each(
                lambda n: log.debug(
                    "delivered events {first}-{last} of subscription {id}",
                    first=n,
                    last=n,
                    id=7,
                )
            ),
            count,
        ),
    }
    import ipp_ntfy.manager
    import ipp_ntfy.notification

    spliced = getattr(ipp_ntfy.manager, "personalizedOctets", None)
    encodeReport = getattr(ipp_ntfy.notification, "encodeReport", None)
    if spliced is not None and encodeReport is not None:
        # What the dispatcher does instead of eventFromPayload, personalize and
        # buildReport + encode, where the stored event allows.
        encoded = [spliced(payloads[n], subscription, n + 1) for n in range(count)]
        costs["deliver: personalizedOctets (instead of the three above)"] = bestOf(
            rounds, each(lambda n: spliced(payloads[n], subscription, n + 1)), count
        )
        costs["deliver: encodeReport of those, 50 a report"] = bestOf(
            rounds,
            lambda: [
                encodeReport(encoded[i : i + 50], url, 1) for i in range(0, count, 50)
            ],
            count,
        )
    return costs


def costsMain(options: argparse.Namespace) -> None:
    pin(options.cpu)
    result(stepCosts())


# -- the parent: running the scenarios -------------------------------------------------


def childCommand(kind: str, *arguments: str) -> List[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--child", kind, *arguments]


def readResult(process: subprocess.Popen[str], timeout: float) -> Dict[str, Any]:
    """
    @return: the RESULT line of a child, once it has exited.
    """
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
        raise RuntimeError(f"child timed out after {timeout:.0f} s") from None
    for line in out.splitlines():
        if line.startswith("RESULT "):
            value: Dict[str, Any] = json.loads(line[len("RESULT ") :])
            return value
    raise RuntimeError(f"child failed (exit status {process.returncode})")


class Listener:
    """
    A listener process: started on CPU C{cpu}; C{stop()} gives its counts.
    """

    def __init__(self, cpu: Optional[str], samples: bool, site: bool) -> None:
        arguments = ["--samples"] if samples else []
        if site:
            arguments.append("--site")
        if cpu is not None:
            arguments += ["--cpu", cpu]
        self.process = subprocess.Popen(
            childCommand("listener", *arguments),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("PORT "):
            self.process.kill()
            raise RuntimeError(f"the listener did not start: {line!r}")
        self.port = int(line.split()[1])

    def stop(self) -> Dict[str, Any]:
        return readResult(self.process, 60)


def runRelay(
    options: argparse.Namespace,
    mode: str,
    batch: int,
    events: int,
    extra: Sequence[str] = (),
    profile: Optional[str] = None,
    recipients: Optional[int] = None,
) -> Dict[str, Any]:
    """
    Run one relay process against a fresh listener process.

    @return: the relay's results, with the listener's under C{"listener"}.
    """
    listener = Listener(
        None if options.no_pin else options.listener_cpus,
        samples=mode == "latency",
        site=options.site,
    )
    directory = tempfile.mkdtemp(prefix="ipp-ntfy-bench-", dir=options.tmp)
    arguments = [
        "--mode",
        mode,
        "--port",
        str(listener.port),
        "--dir",
        directory,
        "--batch",
        str(batch),
        "--events",
        str(events),
        "--subscriptions",
        str(options.subscriptions),
        "--recipients",
        str(recipients or options.recipients),
        "--log",
        options.log,
        *extra,
    ]
    if not options.no_pin:
        arguments += ["--cpu", options.relay_cpus]
    if profile:
        arguments += ["--profile", profile]
    try:
        relay = subprocess.Popen(
            childCommand("relay", *arguments), stdout=subprocess.PIPE, text=True
        )
        out = readResult(relay, options.max_seconds + 120)
    finally:
        out_listener = listener.stop()
        shutil.rmtree(directory, ignore_errors=True)
    out["listener"] = out_listener
    return out


def scenarioRss(options: argparse.Namespace) -> Dict[str, Any]:
    directory = tempfile.mkdtemp(prefix="ipp-ntfy-bench-rss-", dir=options.tmp)
    common = [
        "--dir",
        directory,
        "--subscriptions",
        str(options.rss_subscriptions),
        "--events",
        str(options.rss_events),
        "--dispatch-seconds",
        str(options.dispatch_seconds),
        "--rss-recipients",
        str(options.rss_recipients),
        "--log",
        options.log,
    ]
    if not options.no_pin:
        common += ["--cpu", options.relay_cpus]
    try:
        print(
            f"rss: {options.rss_subscriptions:,} subscriptions, "
            f"{options.rss_events:,} events in {directory}",
            flush=True,
        )
        first = subprocess.Popen(
            childCommand("rss", *common), stdout=subprocess.PIPE, text=True
        )
        filled = readResult(first, 1800)
        print("rss: restart on the full file", flush=True)
        second = subprocess.Popen(
            childCommand("rss", *common, "--reopen"), stdout=subprocess.PIPE, text=True
        )
        reopened = readResult(second, 600)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return {"fill": filled, "restart": reopened}


def scenarioThroughput(options: argparse.Namespace) -> Dict[str, Any]:
    results: Dict[str, Any] = {}
    print("throughput: the CPU cost of each step, without I/O", flush=True)
    arguments = [] if options.no_pin else ["--cpu", options.relay_cpus.split(",")[0]]
    costs = subprocess.Popen(
        childCommand("costs", *arguments), stdout=subprocess.PIPE, text=True
    )
    results["costs"] = readResult(costs, 300)
    runs = [
        (1, options.events_single, "e2e", options.recipients),
        (1, options.events_single, "split", options.recipients),
        (50, options.events_batched, "e2e", options.recipients),
        (50, options.events_batched, "split", options.recipients),
    ]
    if options.extra_recipients > 1:
        runs += [
            (1, options.events_single, "e2e", options.extra_recipients),
            (50, options.events_batched, "e2e", options.extra_recipients),
        ]
    for batch, events, mode, recipients in runs:
        key = f"{batch}-{mode}"
        if recipients != options.recipients:
            key += f"-r{recipients}"
        print(
            f"throughput: batchSize {batch}, {mode}, {events:,} events, "
            f"{recipients} recipient URI(s)",
            flush=True,
        )
        profile = None
        if options.profile_dir:
            profile = str(Path(options.profile_dir) / f"throughput-{key}.prof")
        repeat = options.repeat if key == "50-e2e" else 1
        done: List[Dict[str, Any]] = []
        for _ in range(repeat):
            run = runRelay(
                options,
                mode,
                batch,
                events,
                ["--max-seconds", str(options.max_seconds)],
                profile,
                recipients,
            )
            run["recipients"] = recipients
            done.append(run)
        results[key] = median(
            done, lambda run: run.get("e2e", {}).get("rate", 0.0), "e2e"
        )
    return results


def median(
    runs: List[Dict[str, Any]], value: Callable[[Any], float], phase: str
) -> Dict[str, Any]:
    """
    @return: the run with the median C{value} (the lower one of an even count),
        with every run's value under C{"runs"}, and the host's steal on the
        relay's CPUs in each run's C{phase} under C{"stolenRuns"}.
    """
    ordered = sorted(runs, key=value)
    chosen = ordered[(len(ordered) - 1) // 2]
    chosen["runs"] = [value(run) for run in runs]
    chosen["stolenRuns"] = [run.get(phase, {}).get("stolen", 0.0) for run in runs]
    return chosen


def stealSpread(result: Dict[str, Any]) -> str:
    """
    @return: "; host steal A-B%" for the runs of a median result, or "".
    """
    stolen = result.get("stolenRuns") or []
    if not stolen:
        return ""
    return f"; host steal {min(stolen):.0%}-{max(stolen):.0%}"


def scenarioLatency(
    options: argparse.Namespace, rate: int, duration: float
) -> Dict[str, Any]:
    print(
        f"latency: {rate:,} events/s for {duration:g} s, "
        f"batchSize {options.latency_batch}",
        flush=True,
    )
    profile = None
    if options.profile_dir:
        profile = str(Path(options.profile_dir) / f"latency-{rate}.prof")
    out = runRelay(
        options,
        "latency",
        options.latency_batch,
        0,
        [
            "--rate",
            str(rate),
            "--duration",
            str(duration),
            "--skip",
            str(options.skip),
        ],
        profile,
    )
    out["rate"] = rate
    received = dict(out["listener"].pop("received"))
    calls = out.pop("calls")
    latencies = [received[job] - stamp for job, stamp in calls if job in received]
    times = [received[job] for job, _ in calls if job in received]
    span = max(times) - min(times) if len(times) > 1 else 0.0
    out["receivedRate"] = len(times) / span if span else 0.0
    out["receive"] = {
        "count": len(latencies),
        "missing": len(calls) - len(latencies),
        "p50": percentile(latencies, 0.5),
        "p90": percentile(latencies, 0.9),
        "p99": percentile(latencies, 0.99),
        "max": max(latencies, default=0.0),
        "mean": statistics.fmean(latencies) if latencies else 0.0,
    }
    measured = out["publishSeconds"] - options.skip
    out["publishedRate"] = len(calls) / measured if measured > 0 else 0.0
    handed = dict(out.pop("handed"))
    sent = [received[job] - at for job, at in handed.items() if job in received]
    out["handedToReceived"] = {
        "p50": percentile(sent, 0.5),
        "p99": percentile(sent, 0.99),
    }
    return out


# -- the report -------------------------------------------------------------------


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def mb(octets: float) -> str:
    return f"{octets / MB:,.1f} MB"


Row = Tuple[str, str, str, str]


def rssRows(rss: Dict[str, Any]) -> List[Row]:
    fill, restart = rss["fill"], rss["restart"]
    idle = fill["idle"]
    subscriptions, events = fill["subscriptions"], fill["queueDepth"]
    target = f"<= +{RSS_TARGET_MB:.0f} MB"
    filled = fill["afterFill"]
    peak = fill["dispatchPeak"]
    restarted = restart["dispatchPeak"]
    files = sum(fill["files"].values())
    rows = [
        ("RSS idle: store open, empty", mb(idle), "", ""),
        (
            f"RSS after {subscriptions:,} subscriptions, {events:,} events queued",
            f"{mb(filled)} (+{mb(filled - idle)})",
            "",
            "",
        ),
        (
            f"RSS peak, dispatcher {fill['dispatchSeconds']:.0f} s, listener down",
            f"{mb(peak)} (+{mb(peak - idle)})",
            target,
            met((peak - idle) / MB <= RSS_TARGET_MB),
        ),
        (
            "  the process's peak (ru_maxrss, the fill included)",
            f"{mb(fill['peakRss'])} (+{mb(fill['peakRss'] - idle)})",
            "",
            "",
        ),
        (
            "RSS peak, restarted on the full file, dispatcher",
            f"{mb(restarted)} (+{mb(restarted - idle)})",
            target,
            met((restarted - idle) / MB <= RSS_TARGET_MB),
        ),
        (
            "SQLite file, main + WAL",
            f"{mb(files)} ({files / max(1, events):,.0f} B/event)",
            "",
            "",
        ),
    ]
    if fill.get("appendSeconds"):
        rate = fill["appended"] / fill["appendSeconds"]
        rows.append(
            ("  filling: appendEvents, 10,000 a call", f"{rate:,.0f}/s", "", "")
        )
    return rows


def ceiling(phase: Dict[str, Any]) -> float:
    """
    @return: the rate if the relay had a whole CPU to itself: events per CPU
        second of the relay process (both its threads).
    """
    return phase["events"] / phase["cpu"] if phase["cpu"] else 0.0


def throughputRows(throughput: Dict[str, Any]) -> List[Row]:
    rows: List[Row] = []
    target = f">= {THROUGHPUT_TARGET:,.0f}/s"
    for key, value in throughput.items():
        if key == "costs":
            continue
        batch, mode = key.split("-")[:2]
        recipients = value.get("recipients", 1)
        if mode == "e2e":
            e2e = value["e2e"]
            rate = e2e["rate"]
            main = recipients == 1 and batch == "50"
            what = f"publish -> listener -> ack, batchSize {batch}"
            if recipients > 1:
                what = f"  the same, {recipients} recipient URIs"
            runs = value.get("runs", [])
            spread = ""
            if len(runs) > 1:
                spread = f", runs {min(runs):,.0f}-{max(runs):,.0f}"
            spread += stealSpread(value)
            rows.append(
                (
                    what,
                    f"{rate:,.0f} events/s (CPU-bound: {ceiling(e2e):,.0f}{spread})",
                    target if main else "",
                    met(rate >= THROUGHPUT_TARGET) if main else "",
                )
            )
        else:
            publish, drain = value["publish"], value["drain"]
            rows.append(
                (
                    f"  publish only / deliver only, batchSize {batch}",
                    f"{publish['rate']:,.0f} / {drain['rate']:,.0f} "
                    f"(CPU-bound: {ceiling(publish):,.0f} / {ceiling(drain):,.0f})",
                    "",
                    "",
                )
            )
    return rows


def latencyRows(latencies: Dict[str, Any]) -> List[Row]:
    rows: List[Row] = []
    for index, latency in enumerate(latencies.values()):
        receive = latency["receive"]
        fired = latency["publishFired"]
        what = f"latency publish -> listener at {latency['rate']:,}/s: p50 / p99"
        runs = latency.get("runs", [])
        spread = ""
        if len(runs) > 1:
            spread = (
                f" (p99 of runs {min(runs) * 1e3:.0f}-{max(runs) * 1e3:.0f}"
                f"{stealSpread(latency)})"
            )
        rows.append(
            (
                what if index == 0 else "  " + what,
                f"{receive['p50'] * 1e3:.1f} / {receive['p99'] * 1e3:.1f} ms{spread}",
                f"p99 < {P99_TARGET_MS:.0f} ms" if index == 0 else "",
                met(receive["p99"] * 1e3 < P99_TARGET_MS) if index == 0 else "",
            )
        )
        if index == 0:
            rows.append(
                (
                    "  rate published / received",
                    f"{latency['publishedRate']:,.0f} / "
                    f"{latency['receivedRate']:,.0f}/s",
                    "",
                    "",
                )
            )
        rows.append(
            (
                "  publish call -> Deferred fired (durable): p50 / p99",
                f"{fired['p50'] * 1e3:.1f} / {fired['p99'] * 1e3:.1f} ms",
                "",
                "",
            )
        )
    return rows


def report(results: Dict[str, Any]) -> List[Row]:
    """
    @return: the rows of the results table: what, result, target, verdict.
    """
    rows: List[Row] = []
    if "rss" in results:
        rows += rssRows(results["rss"])
    if "throughput" in results:
        rows += throughputRows(results["throughput"])
    if "latency" in results:
        rows += latencyRows(results["latency"])
    return rows


def printTable(rows: List[Row]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths)]
        print("  ".join(cells).rstrip())


def phaseLine(name: str, p: Dict[str, Any]) -> str:
    operations = p.get("operations") or {}
    spent = sum(seconds for _, seconds in operations.values())
    busy = p["storeBusy"] * p["seconds"]
    ops = ", ".join(
        f"{op} {count:,}x {seconds * 1e3:,.0f} ms"
        for op, (count, seconds) in sorted(
            operations.items(), key=lambda item: -item[1][1]
        )
    )
    if ops:
        ops = (
            f"\n  in the SQLite thread: {ops}; "
            f"transactions, savepoints, commits {max(0.0, busy - spent) * 1e3:,.0f} ms"
        )
    return (
        f"{name}: {p['events']:,} events in {p['seconds']:.2f} s = "
        f"{p['rate']:,.0f}/s; relay CPU {p['cpu']:.2f} s "
        f"({p['cpu'] / max(1, p['events']) * 1e6:.0f} us/event, SQLite thread "
        f"{p['sqliteThreadCpu']:.2f} s), store thread busy {p['storeBusy']:.0%}, "
        f"{p['commits']:,} commits, {p['storeBatches']:,} store batches, "
        f"{p['requests']:,} requests ({p['eventsPerRequest']:.1f} events each), "
        f"{p.get('rescheduled', 0):,} events rescheduled; host steal on the "
        f"relay's CPUs {p.get('stolen', 0.0):.1%}{ops}"
    )


def printDetails(results: Dict[str, Any]) -> None:
    for name, part in (results.get("rss") or {}).items():
        ops = ", ".join(
            f"{op} {seconds * 1e3:.0f} ms" for op, seconds in part["ops"].items()
        )
        print(f"rss, {name}: store operations at this size: {ops}")
        print(
            f"rss, {name}: the dispatcher made {part['requests']:,} requests "
            f"({part['eventsTried']:,} events, {part['rescheduled']:,} rescheduled) "
            f"with {part['dispatchCpu']:.1f} s CPU in {part['dispatchSeconds']:.1f} s; "
            f"{part['queueDepthAfter']:,} still queued"
        )
        series = part.get("dispatchSamples") or []
        if series:
            steps = ", ".join(
                f"{octets / MB:.1f}" for octets in series[:: max(1, len(series) // 8)]
            )
            print(f"rss, {name}: RSS while the dispatcher ran (MB, in order): {steps}")
        if "appendByDepth" in part:
            byDepth = ", ".join(
                f"{int(depth):,} queued: {seconds * 1e6:,.0f} us"
                for depth, seconds in part["appendByDepth"].items()
            )
            print(f"rss: appendEvents of one event, SQLite thread, by depth: {byDepth}")
    throughput = results.get("throughput") or {}
    if "costs" in throughput:
        print("CPU per event, by step (best of 7, no I/O):")
        for step, micros in throughput["costs"].items():
            print(f"  {micros:7.1f} us  {step}")
    for key, value in throughput.items():
        if key == "costs":
            continue
        for phase in ("e2e", "publish", "drain"):
            if phase in value:
                print(phaseLine(f"throughput {key} {phase}", value[phase]))
        for name, seconds in (value.get("roundTrip") or {}).items():
            print(f"throughput {key}: one store {name}: {seconds * 1e3:.2f} ms")
        listener = value["listener"]
        print(
            f"throughput {key}: listener ({listener['front']}) "
            f"{listener['events']:,} events ({listener['distinct']:,} distinct), "
            f"{listener['requests']:,} requests, {listener['cpu']:.2f} s CPU; "
            f"{listener.get('distinctKeys', 0):,} distinct (subscription, sequence)"
            f"{' ' + str(listener['odd']) if listener.get('odd') else ''}; "
            f"relay problems logged: {value['problems']} {value['firstProblems']}"
        )
        printProfile(f"throughput {key}", value)
    for rate, latency in (results.get("latency") or {}).items():
        print(phaseLine(f"latency {rate}/s", latency["latency"]))
        receive = latency["receive"]
        print(
            f"latency {rate}/s: p90 {receive['p90'] * 1e3:.1f} ms, max "
            f"{receive['max'] * 1e3:.1f} ms, {receive['missing']} not received; "
            f"listener CPU {latency['listener']['cpu']:.2f} s"
        )
        if "dispatchWait" in latency:
            fired, wait = latency["publishFired"], latency["dispatchWait"]
            sent, request = latency["handedToReceived"], latency["requestSeconds"]
            print(
                f"latency {rate}/s, p50 / p99 of each stage: publish call -> "
                f"Deferred fired {fired['p50'] * 1e3:.1f} / {fired['p99'] * 1e3:.1f} "
                f"ms; fired -> handed to HttpDeliveryMethod.deliver "
                f"{wait['p50'] * 1e3:.1f} / {wait['p99'] * 1e3:.1f} ms; handed -> "
                f"listener's sink {sent['p50'] * 1e3:.1f} / {sent['p99'] * 1e3:.1f} "
                f"ms; {request['count']:,} requests, deliver() call to outcomes "
                f"{request['p50'] * 1e3:.1f} / {request['p99'] * 1e3:.1f} ms"
            )
        printProfile(f"latency {rate}/s", latency)


def printProfile(name: str, value: Dict[str, Any]) -> None:
    if "profile" not in value:
        return
    wall = value["profileSeconds"]
    print(f"{name}: cProfile of the reactor thread, {wall:.1f} s (inclusive times):")
    for label, seconds in value["profile"]:
        print(f"  {seconds:7.2f} s {seconds / wall:5.0%}  {label}")


def fsyncCost(directory: str) -> float:
    """
    @return: seconds per committed one-row transaction in a WAL file with
        C{synchronous=FULL} here: the floor under every group commit.
    """
    path = Path(tempfile.mkdtemp(prefix="ipp-ntfy-fsync-", dir=directory))
    try:
        connection = sqlite3.connect(str(path / "f.sqlite"), isolation_level=None)
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute("CREATE TABLE t (x)")
        times = []
        for n in range(200):
            start = time.perf_counter()
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("INSERT INTO t VALUES (?)", (n,))
            connection.execute("COMMIT")
            times.append(time.perf_counter() - start)
        connection.close()
        return statistics.median(times)
    finally:
        shutil.rmtree(path, ignore_errors=True)


#: The sources whose speed these scenarios measure.
MEASURED = (
    "ipp_ntfy/delivery.py",
    "ipp_ntfy/dispatcher.py",
    "ipp_ntfy/http11.py",
    "ipp_ntfy/ipp/decode.py",
    "ipp_ntfy/ipp/encode.py",
    "ipp_ntfy/listener.py",
    "ipp_ntfy/manager.py",
    "ipp_ntfy/notification.py",
    "ipp_ntfy/store/sqlite.py",
)


def sourceTree() -> Dict[str, Any]:
    """
    @return: the commit checked out, and the files measured that differ from it
        (with a hash of each as it was when the benchmark started), since the
        working tree is what is measured.
    """
    import hashlib

    def git(*arguments: str) -> str:
        try:
            return subprocess.run(
                ["git", *arguments], cwd=ROOT, capture_output=True, text=True
            ).stdout.strip()
        except OSError:
            return ""

    changed = set(git("status", "--porcelain", "--", *MEASURED).split("\n"))
    return {
        "head": git("rev-parse", "--short", "HEAD"),
        "changed": {
            path: hashlib.sha256((ROOT / path).read_bytes()).hexdigest()[:12]
            for path in MEASURED
            if (ROOT / path).exists() and any(line.endswith(path) for line in changed)
        },
    }


def parentMain(options: argparse.Namespace) -> None:
    if options.quick:
        options.rss_events = min(options.rss_events, 100_000)
        options.dispatch_seconds = min(options.dispatch_seconds, 5.0)
        options.events_single = min(options.events_single, 1_000)
        options.events_batched = min(options.events_batched, 5_000)
        options.duration = min(options.duration, 5.0)
        options.repeat = 1
        options.max_seconds = min(options.max_seconds, 30.0)
    scenarios = [s.strip() for s in options.only.split(",") if s.strip()]
    for scenario in scenarios:
        if scenario not in ("rss", "throughput", "latency"):
            raise SystemExit(f"unknown scenario {scenario!r}")
    if options.profile_dir:
        os.makedirs(options.profile_dir, exist_ok=True)
    started = time.time()
    results: Dict[str, Any] = {
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "cpus": os.cpu_count(),
        "load": os.getloadavg(),
        "commitSeconds": fsyncCost(options.tmp or tempfile.gettempdir()),
        "tree": sourceTree(),
    }
    print(
        f"Python {results['python']}, SQLite {results['sqlite']}, "
        f"{results['cpus']} CPUs, load {results['load'][0]:.2f}; one WAL commit "
        f"(synchronous=FULL) here: {results['commitSeconds'] * 1e3:.2f} ms",
        flush=True,
    )
    tree = results["tree"]
    changed = ", ".join(tree["changed"]) or "none"
    print(f"commit {tree['head']}; measured files changed since: {changed}")
    if "rss" in scenarios:
        results["rss"] = scenarioRss(options)
    if "throughput" in scenarios:
        results["throughput"] = scenarioThroughput(options)
    if "latency" in scenarios:
        rates = [int(rate) for rate in options.rates.split(",") if rate.strip()]
        results["latency"] = {}
        for index, rate in enumerate(rates):
            repeat = options.repeat if index == 0 else 1
            runs = [
                scenarioLatency(
                    options,
                    rate,
                    options.duration if index == 0 else options.duration / 2,
                )
                for _ in range(repeat)
            ]
            results["latency"][str(rate)] = median(
                runs, lambda run: run["receive"]["p99"], "latency"
            )
    results["seconds"] = time.time() - started
    results["loadAfter"] = os.getloadavg()
    print()
    printTable([("", "result", "target", ""), *report(results)])
    print()
    printDetails(results)
    print(
        f"\n{results['seconds']:.0f} s in all; "
        f"load average now {results['loadAfter'][0]:.2f}"
    )
    if options.json:
        with open(options.json, "w") as f:
            json.dump(results, f, indent=2)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").strip().split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add("--quick", action="store_true", help="smaller runs (about 1.5 minutes)")
    add("--json", help="also write every figure to this file")
    add("--only", default="rss,throughput,latency", help="scenarios, comma separated")
    add("--no-pin", action="store_true", help="do not pin the processes to CPUs")
    add("--relay-cpus", default="0", help="CPUs for the relay process (e.g. 0,1)")
    add("--listener-cpus", default="1", help="CPUs for the listener process")
    add("--tmp", default=None, help="directory for the SQLite files")
    add("--log", choices=("devnull", "none"), default="devnull", help="relay logging")
    add("--site", action="store_true", help="listener: NotificationSite, not Factory")
    add("--profile-dir", help="cProfile the relay's reactor thread into this directory")
    add(
        "--subscriptions",
        type=int,
        default=10,
        help="throughput/latency: one per printer",
    )
    add("--recipients", type=int, default=1, help="distinct recipient URIs among them")
    add(
        "--extra-recipients",
        type=int,
        default=10,
        help="throughput: also run e2e with this many recipient URIs (0: not)",
    )
    add("--rss-subscriptions", type=int, default=10_000)
    add("--rss-events", type=int, default=1_000_000)
    add("--rss-recipients", type=int, default=100, help="rss: distinct recipients")
    add("--dispatch-seconds", type=float, default=20.0, help="rss: dispatcher run")
    add("--events-single", type=int, default=3_000, help="throughput, batchSize 1")
    add("--events-batched", type=int, default=20_000, help="throughput, batchSize 50")
    add("--max-seconds", type=float, default=60.0, help="throughput: longest run")
    add(
        "--rates",
        default="1000,300",
        help="latency: events/s, comma separated; the first for the target, "
        "for --duration seconds, the others for half as long",
    )
    add("--duration", type=float, default=10.0, help="latency: seconds a run")
    add(
        "--repeat",
        type=int,
        default=3,
        help="runs of the batched throughput and of the first latency rate "
        "(the median is shown)",
    )
    add("--skip", type=float, default=1.0, help="latency: first seconds not counted")
    add("--latency-batch", type=int, default=50, help="latency: batchSize")
    # The children.
    add(
        "--child",
        choices=("listener", "relay", "rss", "costs"),
        help=argparse.SUPPRESS,
    )
    add("--cpu", default=None, help=argparse.SUPPRESS)
    add("--samples", action="store_true", help=argparse.SUPPRESS)
    add("--port", type=int, default=0, help=argparse.SUPPRESS)
    add("--dir", help=argparse.SUPPRESS)
    add("--mode", default="e2e", help=argparse.SUPPRESS)
    add("--batch", type=int, default=50, help=argparse.SUPPRESS)
    add("--in-flight", type=int, default=20, help=argparse.SUPPRESS)
    add("--events", type=int, default=10_000, help=argparse.SUPPRESS)
    add("--window", type=int, default=500, help=argparse.SUPPRESS)
    add("--warmup", type=int, default=200, help=argparse.SUPPRESS)
    add("--rate", type=int, default=1000, help=argparse.SUPPRESS)
    add("--tick", type=int, default=1, help=argparse.SUPPRESS)
    add("--profile", help=argparse.SUPPRESS)
    add("--reopen", action="store_true", help=argparse.SUPPRESS)
    add("--max-queued", type=int, default=10000, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str]) -> None:
    options = parser().parse_args(argv)
    if options.child is None:
        parentMain(options)
        return
    # A child: measure the checkout this file is in, not an installed copy.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
    sys.path.insert(0, str(ROOT))
    if options.child == "costs":
        costsMain(options)
        return
    children = {"listener": listenerMain, "relay": relayMain, "rss": rssMain}
    run = children[options.child]
    from twisted.internet.defer import Deferred
    from twisted.internet.task import react

    react(lambda reactor: Deferred.fromCoroutine(run(reactor, options)))


if __name__ == "__main__":
    main(sys.argv[1:])
