"""
The 50-event listener in one process, without sockets: for counting instructions.

NotificationProtocol.dataReceived of a whole request (head and the body of
bench/listener.py's reportBody(50)), over a transport that drops what is written,
with the bench's sink (receiveMany when the tree has IBatchNotificationSink),
N times after 3 to warm the caches.  Under callgrind the difference between N
and 2N requests is the cost of N, start-up aside, and it does not move with the
load of the machine::

    for n in 100 200; do
        PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
            python3 bench/listenerloop.py $n 2>&1 | grep Collected
    done

    python3 bench/listenerloop.py 100 --tree /tmp/old   # another checkout's code
    python3 bench/listenerloop.py 100 --varied          # bodies as the relay sends

With C{--varied}, every request is another report as the relay sends them
(cupsd's job-completed event, each with a job id, text and sequence number of its
own, ten subscriptions on ten printers), instead of one body sent again and again,
and the decoder starts from nothing, as a listening server does (C{--primed}:
from having decoded cupsd's event once); C{--time} prints the process CPU time
per event of the N requests, C{--stats} what the decoder has cached at the end.
Making the reports costs far more than reading them: under callgrind, give
C{--reports} the same count for N and 2N (at least 3 + 2N) so that the
difference leaves it out::

    for n in 100 200; do
        PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
            python3 bench/listenerloop.py $n --varied --reports 403 2>&1 |
            grep Collected
    done
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, List, cast


def main(argv: List[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("requests", type=int)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--tree", help="the checkout whose ipp_ntfy to run")
    parser.add_argument("--varied", action="store_true", help="the relay's reports")
    parser.add_argument(
        "--reports",
        type=int,
        help="with --varied, how many reports to make (default: 3 + requests)",
    )
    parser.add_argument(
        "--primed",
        action="store_true",
        help="with --varied, decode cupsd's event first",
    )
    parser.add_argument("--time", action="store_true", help="print CPU us/event")
    parser.add_argument(
        "--stats", action="store_true", help="print what the decoder has cached"
    )
    args = parser.parse_args(argv)
    here = os.path.dirname(os.path.abspath(__file__))
    tree = os.path.abspath(args.tree) if args.tree else os.path.dirname(here)
    # The tree's own bench/listener.py (for reportBody) puts the tree first.
    sys.path.insert(0, os.path.join(tree, "bench"))

    from listener import reportBody
    from twisted.internet.address import IPv4Address
    from twisted.internet.defer import succeed
    from twisted.internet.task import Clock
    from zope.interface import implementer

    from ipp_ntfy import interfaces
    from ipp_ntfy.listener import NotificationFactory, NotificationListener

    sinkInterface = getattr(
        interfaces, "IBatchNotificationSink", interfaces.INotificationSink
    )

    # Events received, and of those, events whose group an entry of the
    # decoder's _GROUPS read (its layout says where its holes are).
    counted = [0, 0]

    @implementer(sinkInterface)
    class Sink:
        def receive(self, event: Any) -> Any:
            return succeed(0)

        def receiveMany(self, events: Any) -> List[int]:
            return [0] * len(events)

    @implementer(sinkInterface)
    class CountingSink(Sink):
        def receive(self, event: Any) -> Any:
            return self.receiveMany([event])

        def receiveMany(self, events: Any) -> List[int]:
            counted[0] += len(events)
            for event in events:
                layout = getattr(event.attributes, "_layout", None)
                counted[1] += hasattr(layout, "holes")
            return [0] * len(events)

    class Transport:
        def write(self, data: bytes) -> None:
            pass

        def getPeer(self) -> IPv4Address:
            return IPv4Address("TCP", "127.0.0.1", 40000)

        def pauseProducing(self) -> None:
            pass

        def resumeProducing(self) -> None:
            pass

        def loseConnection(self) -> None:
            pass

    bodies = (
        variedBodies(args.events, args.reports or 3 + args.requests)
        if args.varied
        else [reportBody(args.events)]
    )
    if args.varied:
        # Making the reports decoded cupsd's event: forget what the decoder
        # learned from it, as a listener that starts on such reports knows none.
        forgetDecoding()
        if args.primed:
            primeDecoding()
    requests = [
        (
            b"POST /notify HTTP/1.1\r\nHost: 127.0.0.1:8632\r\n"
            b"Content-Type: application/ipp\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        + body
        for body in bodies
    ]
    clock = Clock()
    factory = NotificationFactory(
        NotificationListener(
            cast(Any, CountingSink() if args.stats else Sink()), clock=clock
        ),
        reactor=clock,
    )
    protocol = factory.buildProtocol(None)
    protocol.makeConnection(cast(Any, Transport()))
    for n in range(3):
        protocol.dataReceived(requests[n % len(requests)])
    counted[:] = [0, 0]
    started = time.process_time()
    for n in range(args.requests):
        protocol.dataReceived(requests[n % len(requests)])
    if args.time:
        spent = time.process_time() - started
        print(f"{spent / (args.requests * args.events) * 1e6:.2f} us/event")
    if args.stats:
        print(f"events read by a group template: {counted[1]} of {counted[0]}")
        printStatistics()


def forgetDecoding() -> None:
    """
    Empty the decoder's caches of what it read (all but attribute names) and
    what the listener's report reader learned, where the tree has them.
    """
    import importlib

    decoder = importlib.import_module("ipp_ntfy.ipp.decode")
    forget = getattr(decoder, "_forget", None)
    if forget is not None:
        forget()
    else:  # an older checkout
        for name in ("_FIELDS", "_RUNS", "_GROUPS", "_COLLECTIONS", "_LAYOUTS"):
            cache = getattr(decoder, name, None)
            if isinstance(cache, dict):
                cache.clear()
    notification = importlib.import_module("ipp_ntfy.notification")
    fillers = getattr(notification, "_FILLERS", None)
    if isinstance(fillers, dict):
        fillers.clear()


def primeDecoding() -> None:
    """
    Decode cupsd's job-completed event (C{tests/vectors}) once, as a process
    that has read one such event before the reports.
    """
    from ipp_ntfy.ipp import decode

    with open(_vector(), "rb") as f:
        decode(f.read())


def printStatistics() -> None:
    """
    Print how many fields, runs and group templates the decoder holds, how
    many of those templates have been taken and how many compiled.
    """
    import importlib

    decoder = importlib.import_module("ipp_ntfy.ipp.decode")
    templates = [t for ts in getattr(decoder, "_GROUPS", {}).values() for t in ts]
    fields = len(getattr(decoder, "_FIELDS", ()))
    runs = sum(map(len, getattr(decoder, "_RUNS", {}).values()))
    taken = sum(1 for t in templates if t.taken or t.read is not None)
    compiled = sum(1 for t in templates if t.read is not None)
    print(
        f"fields cached: {fields}, runs: {runs}, templates: {len(templates)}, "
        f"taken: {taken}, compiled: {compiled}"
    )


def _vector() -> str:
    """
    @return: the path of cupsd's job-completed event in C{tests/vectors}.
    """
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.join(
        root, "tests", "vectors", "cups-2.4.2-notifier-event-job-completed.ipp"
    )


def variedBodies(events: int, count: int) -> List[bytes]:
    """
    @return: C{count} reports of C{events} events each, as the relay sends them:
        cupsd's job-completed event (C{tests/vectors}) with a job id, a text
        and a sequence number of its own, personalized for one of ten
        subscriptions on ten printers.
    """
    import dataclasses
    import datetime

    from ipp_ntfy.ipp import decode, encode
    from ipp_ntfy.manager import personalize
    from ipp_ntfy.notification import buildReport, eventFromNotifierMessage
    from ipp_ntfy.subscription import Subscription

    with open(_vector(), "rb") as f:
        base = eventFromNotifierMessage(
            decode(f.read()),
            source="cups",
            receivedAt=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
        )
    recipient = "http://127.0.0.1:8632/notify"
    bodies = []
    sequence = 0
    for report in range(count):
        printer = f"ipp://relay.bench/ipp/printers/p{report % 10}"
        subscription = Subscription(
            subscriptionId=report % 10 + 1,
            printerUri=printer,
            events=("job-completed",),
            recipientUri=recipient,
            leaseDuration=0,
        )
        notifications = []
        for _ in range(events):
            sequence += 1
            event = dataclasses.replace(
                base,
                printerUri=printer,
                jobId=sequence,
                text=f"Job #{sequence} completed.",
            )
            notifications.append(personalize(event, subscription, sequence))
        bodies.append(encode(buildReport(notifications, recipient, requestId=report)))
    return bodies


if __name__ == "__main__":
    main(sys.argv[1:])
