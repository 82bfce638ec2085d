#!/usr/bin/env python3
"""
Scale-out benchmark: whole relays (C{twistd -n ipp-ntfy relay} processes) on
SQLite and on PostgreSQL, one and two of them, side by side in one run::

    python3 bench/scaleout.py                  # about 4 minutes
    python3 bench/scaleout.py --quick          # about 2 minutes
    python3 bench/scaleout.py --json out.json  # also save every figure

Setups: one relay on a SQLite file; one relay on PostgreSQL; two relays on the
same PostgreSQL database (the printers' pushes go to them in turn, as a load
balancer would send them).  PostgreSQL is a private server started here
(L{tests.postgres}), with the durable settings of production (C{fsync},
C{synchronous_commit} on), as the SQLite store is (WAL, C{synchronous=FULL}).

For each setup and each size (subscriptions x recipients), a driver process:
  - hosts the application listeners (R recipient URIs, one process) and
    creates S push subscriptions over IPP, spread over the recipients and the
    relays;
  - is the printers: C{--lanes} printers push Report-Ipp-Notifications with
    one event each to C{/notify/front}, each printer waiting for its answer
    before the next (the relay acknowledges once the event is committed);
  - "burst": C{--events} events as fast as the printers go; events/s =
    events published / (last delivery - first push), deliveries/s = that
    times S;
  - "paced": C{--rate} events/s for C{--seconds} s; latency = the time the
    listener got each delivery - the time its push was sent (one clock: one
    process), p50 and p99 over every delivery.

All processes share the machine's cores (the relays, PostgreSQL and the
driver): the figures are for comparing the setups with each other, measured
the same way in the same run, not absolute capacities.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Any, Dict, List, Optional, Sequence, Tuple, cast

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

TWISTD = [
    sys.executable,
    "-c",
    "import sys; sys.argv[0] = 'twistd'; from twisted.scripts.twistd import run; run()",
]
BASE_URI = "ipp://relay.bench:8631/ipp"
PRINTER_URI = f"{BASE_URI}/printers/front"


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def env() -> Dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT] + sys.path[1:]))


# -- the driver process: listeners, subscriptions, printers ---------------------------


async def driverMain(reactor: Any, options: argparse.Namespace) -> None:
    from twisted.internet.defer import Deferred, succeed
    from twisted.internet.task import deferLater
    from twisted.web.resource import Resource
    from zope.interface import implementer

    from ipp_ntfy.delivery import HttpDeliveryMethod
    from ipp_ntfy.interfaces import INotificationSink
    from ipp_ntfy.ipp import Attribute, Group, GroupTag, Message
    from ipp_ntfy.ippclient import IppClient
    from ipp_ntfy.listener import NotificationListener, NotificationSite
    from ipp_ntfy.notification import Event

    @implementer(INotificationSink)
    class Sink:
        def __init__(self) -> None:
            self.count = 0
            self.duplicates = 0
            self.seen: Dict[Tuple[int, int], float] = {}

        def receive(self, event: Event) -> Deferred[int]:
            key = (event.subscriptionId, event.jobId or 0)
            if key in self.seen:
                self.duplicates += 1
            else:
                self.seen[key] = time.time()
            self.count += 1
            return succeed(0)

    sink = Sink()
    root = Resource()
    events = Resource()
    root.putChild(b"events", events)
    for r in range(options.recipients):
        events.putChild(str(r).encode(), NotificationListener(sink, clock=reactor))
    port = reactor.listenTCP(0, NotificationSite(root), interface="127.0.0.1")
    listenerPort = port.getHost().port
    relays: List[int] = [int(p) for p in options.relays.split(",")]

    client = IppClient(reactor)
    subscriptions: List[int] = []
    for i in range(options.subscriptions):
        recipient = f"http://127.0.0.1:{listenerPort}/events/{i % options.recipients}"
        request = Message(
            (2, 0),
            0x0016,
            i + 1,
            [
                Group(
                    GroupTag.OPERATION,
                    [
                        Attribute.charset("attributes-charset", "utf-8"),
                        Attribute.naturalLanguage("attributes-natural-language", "en"),
                        Attribute.uri("printer-uri", PRINTER_URI),
                        Attribute.nameValue("requesting-user-name", "bench"),
                    ],
                ),
                Group(
                    GroupTag.SUBSCRIPTION,
                    [
                        Attribute.uri("notify-recipient-uri", recipient),
                        Attribute.keyword("notify-events", "all"),
                        Attribute.integer("notify-lease-duration", 0),
                    ],
                ),
            ],
        )
        relay = relays[i % len(relays)]
        answer = await client.request(
            f"ipp://127.0.0.1:{relay}/ipp/printers/front", request
        )
        assert answer.statusCode == 0, answer
        group = answer.group(GroupTag.SUBSCRIPTION)
        assert group is not None
        subscriptions.append(cast(int, group.value("notify-subscription-id")))
    await client.close()

    printer = HttpDeliveryMethod(reactor, requestTimeout=60)
    sent: Dict[int, float] = {}
    nextJob = [1]
    # Each printer (lane) has its own source subscription and sequence numbers,
    # so that the relays' dedupe of re-sent reports never drops one.
    laneSequence = [0] * options.lanes
    pushes = [0]
    failures: List[str] = []

    async def pushOne(lane: int) -> None:
        job = nextJob[0]
        nextJob[0] += 1
        laneSequence[lane] += 1
        event = Event(
            source="bench-printer",
            subscriptionId=lane + 1,
            sequenceNumber=laneSequence[lane],
            event="job-completed",
            printerUri="ipp://printer.bench/ipp/print",
            jobId=job,
            printerState=3,
            text=f"Job #{job} completed.",
        )
        relay = relays[pushes[0] % len(relays)]
        pushes[0] += 1
        sent[job] = time.time()
        [outcome] = await printer.deliver(
            f"http://127.0.0.1:{relay}/notify/front", [event]
        )
        if not outcome.delivered and len(failures) < 5:
            failures.append(outcome.reason)

    def deliveredJobs(jobs: range) -> int:
        return sum(1 for s in subscriptions for job in jobs if (s, job) in sink.seen)

    async def waitDelivered(jobs: range, limit: float) -> bool:
        deadline = time.monotonic() + limit
        want = len(jobs) * len(subscriptions)
        while deliveredJobs(jobs) < want:
            if time.monotonic() > deadline:
                return False
            await deferLater(reactor, 0.01, lambda: None)
        return True

    async def lane(index: int, count: int, interval: Optional[float]) -> None:
        start = time.monotonic()
        for n in range(count):
            if interval is not None:
                wait = start + n * interval - time.monotonic()
                if wait > 0:
                    await deferLater(reactor, wait, lambda: None)
            await pushOne(index)

    async def run(count: int, interval: Optional[float]) -> Tuple[range, float]:
        first = nextJob[0]
        began = time.time()
        per = count // options.lanes
        await Deferred.fromCoroutine(
            _gather(
                [
                    lane(i, per, None if interval is None else interval * options.lanes)
                    for i in range(options.lanes)
                ]
            )
        )
        return range(first, nextJob[0]), began

    async def _gather(coroutines: List[Any]) -> None:
        from twisted.internet.defer import gatherResults

        await gatherResults([Deferred.fromCoroutine(c) for c in coroutines])

    result: Dict[str, Any] = {}
    # Warm up: connections, caches, the first transactions.
    jobs, _ = await run(options.lanes * 4, None)
    await waitDelivered(jobs, 60)

    jobs, began = await run(options.events, None)
    complete = await waitDelivered(jobs, 300)
    last = max(
        (sink.seen.get((s, j), 0.0) for s in subscriptions for j in jobs),
        default=began,
    )
    elapsed = max(last - began, 1e-9)
    result["burst"] = {
        "events": len(jobs),
        "complete": complete,
        "seconds": elapsed,
        "eventsPerSecond": len(jobs) / elapsed,
        "deliveriesPerSecond": len(jobs) * len(subscriptions) / elapsed,
    }

    count = int(options.rate * options.seconds)
    jobs, began = await run(count, 1.0 / options.rate)
    complete = await waitDelivered(jobs, 120)
    latencies = [
        sink.seen[(s, j)] - sent[j]
        for s in subscriptions
        for j in jobs
        if (s, j) in sink.seen
    ]
    result["paced"] = {
        "events": len(jobs),
        "complete": complete,
        "rate": options.rate,
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
        "max": max(latencies, default=float("nan")),
    }
    result["duplicates"] = sink.duplicates
    result["failures"] = failures
    await printer.pool.closeCachedConnections()
    await port.stopListening()
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()


# -- the parent: the server, the relays, the scenarios ---------------------------------


class Relay:
    """
    A C{twistd -n ipp-ntfy relay} process on a free loopback port.
    """

    def __init__(self, directory: str, name: str, db: str) -> None:
        self.logPath = os.path.join(directory, f"relay-{name}.log")
        self._log = open(self.logPath, "wb")
        self.process = subprocess.Popen(
            [
                *TWISTD,
                "-n",
                "--pidfile=",
                "--logfile=" + os.path.join(directory, f"relay-{name}.twistd.log"),
                "ipp-ntfy",
                "relay",
                "--listen",
                "tcp:0:interface=127.0.0.1",
                "--db",
                db,
                "--printer",
                "front",
                "--base-uri",
                BASE_URI,
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env(),
            cwd=directory,
        )
        self.twistdLog = os.path.join(directory, f"relay-{name}.twistd.log")
        self.port = 0

    def ready(self, seconds: float = 60) -> int:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                with open(self.twistdLog, encoding="utf-8", errors="replace") as f:
                    text = f.read()
            except FileNotFoundError:
                text = ""
            found = re.search(r"listening on .*\(127\.0\.0\.1:(\d+)\)", text)
            if found and "relay ready" in text:
                self.port = int(found.group(1))
                return self.port
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"the relay did not start; see {self.twistdLog}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def scenario(
    options: argparse.Namespace,
    directory: str,
    databases: Any,
    setup: str,
    subscriptions: int,
    recipients: int,
) -> Dict[str, Any]:
    if setup == "sqlite":
        db = os.path.join(directory, f"{uuid.uuid4().hex}.sqlite3")
        count = 1
    else:
        name = f"bench_{uuid.uuid4().hex}"
        databases.admin(f"CREATE DATABASE {name} TEMPLATE template0")
        db = f"postgresql://postgres@127.0.0.1:{databases.port}/{name}"
        count = 2 if setup == "postgres x2" else 1
    tag = uuid.uuid4().hex[:8]
    relays = [Relay(directory, f"{tag}-{n}", db) for n in range(count)]
    try:
        ports = [relay.ready() for relay in relays]
        driver = subprocess.run(
            [
                sys.executable,
                os.path.abspath(__file__),
                "--driver",
                "--relays",
                ",".join(map(str, ports)),
                "--subscriptions",
                str(subscriptions),
                "--recipients",
                str(recipients),
                "--events",
                str(options.events),
                "--lanes",
                str(options.lanes),
                "--rate",
                str(options.rate),
                "--seconds",
                str(options.seconds),
            ],
            capture_output=True,
            text=True,
            env=env(),
            timeout=900,
        )
        line = [x for x in driver.stdout.splitlines() if x.startswith("RESULT ")]
        if not line:
            raise RuntimeError(f"the driver failed:\n{driver.stderr}")
        result: Dict[str, Any] = json.loads(line[-1][len("RESULT ") :])
    finally:
        for relay in relays:
            relay.stop()
        if setup != "sqlite":
            databases.admin(f"DROP DATABASE {name} WITH (FORCE)")
    result.update(setup=setup, subscriptions=subscriptions, recipients=recipients)
    return result


SETUPS = ("sqlite", "postgres", "postgres x2")


def parentMain(options: argparse.Namespace) -> None:
    from tests.postgres import _findBinDir, _Server

    binDir = _findBinDir()
    if binDir is None:
        raise SystemExit("PostgreSQL is not installed: apt-get install postgresql")
    databases = _Server(binDir, durable=True)
    sizes = [(2, 1), (20, 1), (20, 10)]
    if not options.quick:
        sizes.append((50, 10))
    results: List[Dict[str, Any]] = []
    # The server stops when this process exits (tests.postgres).
    with tempfile.TemporaryDirectory(prefix="ipp_ntfy-scaleout-") as directory:
        for subscriptions, recipients in sizes:
            for setup in SETUPS:
                result = scenario(
                    options, directory, databases, setup, subscriptions, recipients
                )
                results.append(result)
                print(row(result), flush=True)
    if options.json:
        with open(options.json, "w") as f:
            json.dump(results, f, indent=2)


HEADER = (
    "| setup | subscriptions x recipients | events/s | deliveries/s "
    "| p50 ms | p99 ms | dup |\n|---|---|---:|---:|---:|---:|---:|"
)


def row(result: Dict[str, Any]) -> str:
    burst, paced = result["burst"], result["paced"]
    mark = "" if burst["complete"] and paced["complete"] else " (incomplete)"
    return (
        f"| {result['setup']}{mark} | {result['subscriptions']} x "
        f"{result['recipients']} | {burst['eventsPerSecond']:.0f} | "
        f"{burst['deliveriesPerSecond']:.0f} | {paced['p50'] * 1000:.1f} | "
        f"{paced['p99'] * 1000:.1f} | {result['duplicates']} |"
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smaller: fewer events")
    p.add_argument("--json", help="save every figure to this file")
    p.add_argument("--events", type=int, default=None, help="events per burst")
    p.add_argument("--lanes", type=int, default=4, help="printers pushing at once")
    p.add_argument("--rate", type=float, default=None, help="paced events/s")
    p.add_argument("--seconds", type=float, default=None, help="paced duration")
    p.add_argument("--driver", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--relays", help=argparse.SUPPRESS)
    p.add_argument("--subscriptions", type=int, help=argparse.SUPPRESS)
    p.add_argument("--recipients", type=int, help=argparse.SUPPRESS)
    return p


def main(argv: Sequence[str]) -> None:
    options = parser().parse_args(argv)
    if options.events is None:
        options.events = 200 if options.quick else 400
    if options.rate is None:
        options.rate = 20.0
    if options.seconds is None:
        options.seconds = 4.0 if options.quick else 6.0
    if options.driver:
        from twisted.internet import reactor
        from twisted.internet.defer import Deferred
        from twisted.internet.task import react

        def start(reactor: Any) -> Deferred[None]:
            return Deferred.fromCoroutine(driverMain(reactor, options))

        del reactor
        react(start)
        return
    print(HEADER, flush=True)
    parentMain(options)


if __name__ == "__main__":
    main(sys.argv[1:])
