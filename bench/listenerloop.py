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
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, List, cast


def main(argv: List[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("requests", type=int)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--tree", help="the checkout whose ipp_ntfy to run")
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

    @implementer(sinkInterface)
    class Sink:
        def receive(self, event: Any) -> Any:
            return succeed(0)

        def receiveMany(self, events: Any) -> List[int]:
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

    body = reportBody(args.events)
    request = (
        b"POST /notify HTTP/1.1\r\nHost: 127.0.0.1:8632\r\n"
        b"Content-Type: application/ipp\r\nContent-Length: %d\r\n\r\n" % len(body)
    ) + body
    clock = Clock()
    factory = NotificationFactory(
        NotificationListener(cast(Any, Sink()), clock=clock), reactor=clock
    )
    protocol = factory.buildProtocol(None)
    protocol.makeConnection(cast(Any, Transport()))
    for _ in range(3 + args.requests):
        protocol.dataReceived(request)


if __name__ == "__main__":
    main(sys.argv[1:])
