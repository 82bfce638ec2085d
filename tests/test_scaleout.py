"""
Two relays on one PostgreSQL database: two real C{twistd ipp-ntfy relay}
processes, a private server (L{tests.postgres}), a printer that pushes its
events to either relay (as through a load balancer), and an application listener
in this process that the test can stall.

Under normal operation each event reaches each subscription once, in order.
Then one relay is killed (SIGKILL) while it holds claims on subscriptions whose
deliveries the listener stalls; the other goes on taking the printer's events and
delivers the dead relay's claimed events once the claim lease has run out: every
event whose push was acknowledged arrives, in order per subscription, and the
only duplicates are events the listener had received without answering when the
kill came, again with the same sequence numbers.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from typing import Any, Dict, List, Optional, Set, Tuple, cast

import psycopg
from twisted.internet import reactor as _reactor
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import deferLater
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase, TestCase
from zope.interface import implementer

from ipp_ntfy import tap
from ipp_ntfy.delivery import HttpDeliveryMethod
from ipp_ntfy.interfaces import INotificationSink
from ipp_ntfy.ipp import GroupTag
from ipp_ntfy.ippclient import IppClient
from ipp_ntfy.listener import NotificationListener, NotificationSite
from ipp_ntfy.notification import Event
from ipp_ntfy.ownership import ExclusiveService
from ipp_ntfy.relay import RelayService
from ipp_ntfy.service import resourceAt
from ipp_ntfy.sources.ippget import UpstreamPoller

from .postgres import freshDatabase, postgresUrl
from .test_relay import subscribeRequest
from .test_tap import TWISTD, _env

reactor: Any = _reactor

BASE_URI = "ipp://relay.test:8631/ipp"
PRINTER_URI = f"{BASE_URI}/printers/front"
# Long enough that the stall (about a second) times no delivery out: the only
# deliveries left unanswered are those of the relay that is killed.
REQUEST_TIMEOUT = 10
CLAIM_LEASE = 12
SUBSCRIPTIONS = 3


@implementer(INotificationSink)
class StallingSink:
    """
    The application: records each event it gets, as C{(subscription id,
    sequence number, job id)}, and answers at once, or, while stalled, not until
    it is let go.

    @ivar unanswered: the events received and not yet answered.
    """

    def __init__(self) -> None:
        self.received: List[Tuple[int, int, Optional[int]]] = []
        self.stalled = False
        self.unanswered: Set[Tuple[int, int]] = set()
        self._waiting: List[Tuple[Tuple[int, int], Deferred[int]]] = []
        self._releasing: Optional[Set[Tuple[int, int]]] = None

    def receive(self, event: Event) -> Deferred[int]:
        key = (event.subscriptionId, event.sequenceNumber)
        self.received.append((*key, event.jobId))
        if self._releasing is not None:
            self._releasing.add(key)
        if not self.stalled:
            return succeed(0)
        d: Deferred[int] = Deferred()
        self.unanswered.add(key)
        self._waiting.append((key, d))
        return d

    def letGo(self) -> Set[Tuple[int, int]]:
        """
        Answer the events waiting, and take events again at once.

        @return: the events waiting, with those the listener handed over as it
            went on with the requests they came in (it takes a request's
            reports one after the other).
        """
        self.stalled = False
        waiting, self._waiting = self._waiting, []
        released = self._releasing = {key for key, _ in waiting}
        try:
            for key, d in waiting:
                self.unanswered.discard(key)
                d.callback(0)
        finally:
            self._releasing = None
        return released

    def jobs(self, subscriptionId: int) -> List[Optional[int]]:
        """
        @return: the job ids a subscription got, each once, in order of arrival.
        """
        seen: Dict[int, Optional[int]] = {}
        for sid, sequence, job in self.received:
            if sid == subscriptionId:
                seen.setdefault(sequence, job)
        return list(seen.values())


class RelayProcess:
    """
    C{twistd -n ipp-ntfy relay} in a child process, on a free loopback port.
    """

    def __init__(self, directory: str, name: str, db: str) -> None:
        os.makedirs(directory, exist_ok=True)
        self.logPath = os.path.join(directory, f"{name}.log")
        self.name = name
        self._log = open(self.logPath, "wb")
        self.process = subprocess.Popen(
            [
                *TWISTD,
                "-n",
                "--pidfile=",
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
                "--request-timeout",
                str(REQUEST_TIMEOUT),
                "--claim-lease",
                str(CLAIM_LEASE),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=_env(),
            cwd=directory,
        )
        self.port = 0

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        with open(self.logPath, encoding="utf-8", errors="replace") as f:
            return f.read()

    async def ready(self, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while True:
            text = self.log()
            found = re.search(r"listening on .*\(127\.0\.0\.1:(\d+)\)", text)
            if found and "relay ready" in text:
                self.port = int(found.group(1))
                return
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"relay {self.name} did not start:\n{text}")
            await deferLater(reactor, 0.1, lambda: None)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def notifyUri(self) -> str:
        return f"http://127.0.0.1:{self.port}/notify/front"


class TwoRelaysTests(TestCase):
    timeout = 120

    async def waitFor(self, condition: Any, seconds: float, why: Any) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > deadline:
                self.fail(why())
            await deferLater(reactor, 0.05, lambda: None)

    async def test_twoRelays(self) -> None:
        dsn = freshDatabase(self)
        url = postgresUrl(dsn)
        sink = StallingSink()
        site = NotificationSite(
            resourceAt("/events", NotificationListener(sink)), idleTimeout=5
        )
        port = reactor.listenTCP(0, site, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        recipient = f"http://127.0.0.1:{port.getHost().port}/events"

        directory = os.path.abspath(self.mktemp())
        relays = [RelayProcess(directory, name, url) for name in ("a", "b")]
        for relay in relays:
            self.addCleanup(relay.stop)
        for relay in relays:
            await relay.ready()
        a, b = relays

        def logs() -> str:
            with psycopg.connect(dsn, autocommit=True) as connection:
                state = connection.execute(
                    "SELECT subscriptionId, lastSequence, headNotBefore, claimedBy,"
                    " claimedUntil, (SELECT array_agg(sequence) FROM queue AS q"
                    " WHERE q.subscriptionId = s.subscriptionId)"
                    " FROM subscriptions AS s ORDER BY subscriptionId"
                ).fetchall()
            return "\n".join(
                [f"--- relay {r.name} (pid {r.pid}):\n{r.log()}" for r in relays]
                + [f"--- at {time.time()}: {row}" for row in state]
            )

        client = IppClient(reactor)
        self.addCleanup(client.close)
        subscriptions = []
        for _ in range(SUBSCRIPTIONS):
            answer = await client.request(
                f"ipp://127.0.0.1:{a.port}/ipp/printers/front",
                subscribeRequest(PRINTER_URI, recipient, ("all",)),
            )
            self.assertEqual(answer.statusCode, 0, answer)
            group = answer.group(GroupTag.SUBSCRIPTION)
            assert group is not None
            subscriptions.append(cast(int, group.value("notify-subscription-id")))

        printer = HttpDeliveryMethod(reactor, requestTimeout=10)
        self.addCleanup(printer.pool.closeCachedConnections)
        acknowledged: List[int] = []

        async def push(relay: RelayProcess, job: int) -> bool:
            event = Event(
                source="printer",
                subscriptionId=1,
                sequenceNumber=job,
                event="job-completed",
                printerUri="ipp://front.example/ipp/print",
                jobId=job,
                printerState=3,
            )
            [outcome] = await printer.deliver(relay.notifyUri(), [event])
            if outcome.delivered:
                acknowledged.append(job)
            return outcome.delivered

        def complete(jobs: int) -> bool:
            return all(len(sink.jobs(s)) >= jobs for s in subscriptions)

        # Normal operation: the printer's events go to either relay in turn.
        for job in range(1, 21):
            self.assertTrue(await push(relays[job % 2], job), logs())
        await self.waitFor(lambda: complete(20), 30, logs)
        await deferLater(reactor, 0.5, lambda: None)
        for subscriptionId in subscriptions:
            mine = [r for r in sink.received if r[0] == subscriptionId]
            self.assertEqual(
                mine, [(subscriptionId, n, n) for n in range(1, 21)], logs()
            )
        # A report sent again to the other relay is dropped there.
        self.assertTrue(await push(b, 20))

        # The listener stalls; events keep coming; relay a is killed while it
        # holds claims on deliveries under way.
        sink.stalled = True

        def claimedByA() -> List[int]:
            with psycopg.connect(dsn, autocommit=True) as connection:
                rows = connection.execute(
                    "SELECT subscriptionId FROM subscriptions"
                    " WHERE claimedBy LIKE %s AND headNotBefore IS NOT NULL",
                    (f"%:{a.pid}:%",),
                ).fetchall()
            return [row[0] for row in rows]

        self.assertTrue(await push(a, 21), logs())
        await self.waitFor(
            lambda: claimedByA() and sink.unanswered, 20, lambda: "no claim by a"
        )
        for job in range(22, 31):
            self.assertTrue(await push(relays[job % 2], job), logs())
        a.kill()
        # What a had sent may still wait in the listener's sockets: let it in.
        await deferLater(reactor, 0.5, lambda: None)
        inFlight = sink.letGo()
        for job in range(31, 41):
            self.assertTrue(await push(b, job), logs())
        await self.waitFor(lambda: complete(40), 45, logs)
        await deferLater(reactor, 0.5, lambda: None)

        self.assertEqual(acknowledged, [*range(1, 21), 20, *range(21, 41)])
        for subscriptionId in subscriptions:
            self.assertEqual(sink.jobs(subscriptionId), [*range(1, 41)], logs())
            seen: Dict[int, Optional[int]] = {}
            last = 0
            for sid, sequence, jobId in sink.received:
                if sid != subscriptionId:
                    continue
                if sequence in seen:
                    # A duplicate: the same event with the same number, received
                    # but not answered when the kill came, and sent again.
                    self.assertIn(
                        (sid, sequence), inFlight, (sink.received, sorted(inFlight))
                    )
                    self.assertEqual(seen[sequence], jobId)
                else:
                    self.assertEqual(sequence, last + 1, sink.received)
                    last = sequence
                    seen[sequence] = jobId


class RelayOptionsTests(SynchronousTestCase):
    """
    C{--db} and C{--claim-lease} of C{twistd ipp-ntfy relay}.
    """

    def parse(self, *argv: str) -> Any:
        options = tap.Options()
        options.parseOptions(["relay", *argv])
        return options.subOptions

    def test_claimLease(self) -> None:
        """
        The claim lease must exceed the request timeout; by default it does.
        """
        self.assertEqual(self.parse()["claim-lease"], 60.0)
        self.assertEqual(self.parse("--request-timeout", "45")["claim-lease"], 90.0)
        self.assertEqual(self.parse("--claim-lease", "31")["claim-lease"], 31.0)
        for argv in [
            ("--claim-lease", "30"),
            ("--claim-lease", "10", "--request-timeout", "20"),
        ]:
            with self.assertRaises(usage.UsageError) as caught:
                self.parse(*argv)
            self.assertIn("must be more than --request-timeout", str(caught.exception))

    def test_badUrl(self) -> None:
        with self.assertRaises(usage.UsageError) as caught:
            self.parse("--db", "postgresql://relay:secret@db.example:five/ipp")
        self.assertEqual(
            str(caught.exception),
            "--db: bad database URL postgresql://relay:***@db.example:five/ipp: "
            "port 'five'",
        )

    def test_unreachable(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        with self.assertRaises(usage.UsageError) as caught:
            self.parse("--db", f"postgresql://relay:secret@127.0.0.1:{port}/ipp")
        message = str(caught.exception)
        self.assertIn(
            f"--db: cannot use database postgresql://relay:***@127.0.0.1:{port}/ipp:"
            " connection failed",
            message,
        )
        self.assertNotIn("\n", message)

    def test_twistdRefuses(self) -> None:
        """
        C{twistd} says why in one line and exits with status 1.
        """
        result = subprocess.run(
            [*TWISTD, "-n", "ipp-ntfy", "relay", "--db", "postgres://db.example"],
            capture_output=True,
            env=_env(),
            timeout=60,
        )
        self.assertEqual(result.returncode, 1)
        self.assertIn(
            b"--db: bad database URL postgres://db.example: no database name",
            result.stdout + result.stderr,
        )


class UpstreamOwnershipTests(TestCase):
    """
    Two relays on one database with the same C{--upstream}: one polls it.
    """

    timeout = 60

    async def test_onePoller(self) -> None:
        url = postgresUrl(freshDatabase(self))
        relays = []
        for _ in range(2):
            relay = RelayService(
                reactor,
                listen=["tcp:0:interface=127.0.0.1"],
                db=url,
                upstreams=["ipp://127.0.0.1:9/printers/lobby"],
                baseUri=BASE_URI,
                ownershipInterval=0.1,
            )
            relay.startService()
            self.addCleanup(relay.stopService)
            await relay.started
            relays.append(relay)
        assert relays[0].manager is not None
        self.assertFalse(relays[0].manager.cacheSubscriptions)
        exclusive = [
            next(s for s in relay if isinstance(s, ExclusiveService))
            for relay in relays
        ]

        def owners() -> List[ExclusiveService]:
            return [e for e in exclusive if e.owned is not None]

        await self.waitFor(lambda: len(owners()) == 1, 10)
        await deferLater(reactor, 0.5, lambda: None)
        [owner] = owners()
        self.assertIsInstance(owner.owned, UpstreamPoller)
        # The owner stops: the other takes over.
        ownerRelay = relays[exclusive.index(owner)]
        await ownerRelay.stopService()
        await self.waitFor(lambda: len(owners()) == 1 and owner not in owners(), 10)

    async def waitFor(self, condition: Any, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            self.assertLess(time.monotonic(), deadline)
            await deferLater(reactor, 0.05, lambda: None)
