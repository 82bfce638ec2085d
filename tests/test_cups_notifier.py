"""
Tests for L{ipp_ntfy.sources.cups_notifier}: the program cupsd runs for http and
https recipients, and the command that installs it.

Three layers:
    - sans-I/O pieces (recipient mapping, options, log lines, the lock);
    - the notifier in this process on the real reactor, reading a pipe and
      delivering to a real listener on loopback (plus one run of the real
      command, reading a file);
    - end to end: a private cupsd (L{tests.cupsd}) runs the installed notifier as
      user lp for a subscription made with ipptool, and our listener receives
      what cupsdisable, cupsenable and lp cause, over http and https.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import pwd
import re
import shutil
import stat
import sys
import time
from importlib import metadata
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from twisted.internet import reactor as _reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.protocol import ProcessProtocol
from twisted.internet.task import deferLater
from twisted.logger import LogLevel
from twisted.python.failure import Failure
from twisted.trial.unittest import SkipTest, SynchronousTestCase, TestCase

from ipp_ntfy import __main__ as cli
from ipp_ntfy.ipp import IppDecodeError, MessageStream
from ipp_ntfy.ipp.decode import messageLength
from ipp_ntfy.listener import NotificationListener, NotificationSite
from ipp_ntfy.notification import eventFromNotifierMessage
from ipp_ntfy.service import resourceAt
from ipp_ntfy.sources import cups_notifier
from ipp_ntfy.sources.cups_notifier import (
    MARKER,
    CupsLogObserver,
    InstallError,
    NotifierError,
    SpoolLock,
    configFromEnvironment,
    installNotifiers,
    notifierScript,
    recipientTarget,
    spoolPath,
    tlsPolicyFromEnvironment,
)
from ipp_ntfy.store.sqlite import SQLiteStore
from ipp_ntfy.tls import listenEndpoint

from .certs import TestCertificates, makeCertificates
from .cupsd import CupsDaemon, cupsAvailable
from .test_listener import RecordingSink
from .vectors import vector

reactor: Any = _reactor
HERE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(HERE)

STREAM = vector("cups-2.4.2-notifier-stdin-stream.bin")


def splitMessages(data: bytes) -> List[bytes]:
    """
    @return: the messages of a notifier stream, each as its octets.
    """
    messages = []
    position = 0
    while position < len(data):
        end = messageLength(data, position)
        assert end is not None
        messages.append(data[position:end])
        position = end
    return messages


MESSAGES = splitMessages(STREAM)


def streamKeys(data: bytes) -> List[Tuple[int, int, str]]:
    """
    @return: (subscription id, sequence number, event) of each event in C{data}.
    """
    events = [
        eventFromNotifierMessage(m, source="x") for m in MessageStream().feed(data)
    ]
    return [(e.subscriptionId, e.sequenceNumber, e.event) for e in events]


def oddChunks(
    data: bytes, sizes: Sequence[int] = (1, 7, 64, 3, 500, 2, 1021)
) -> List[bytes]:
    chunks = []
    position = 0
    index = 0
    while position < len(data):
        size = sizes[index % len(sizes)]
        chunks.append(data[position : position + size])
        position += size
        index += 1
    return chunks


# --- sans-I/O pieces ----------------------------------------------------------------


class RecipientTargetTests(SynchronousTestCase):
    def test_httpAndHttpsUnchanged(self) -> None:
        for uri in ("http://127.0.0.1:8632/notify", "https://app.example/ipp?x=1"):
            self.assertEqual(recipientTarget(uri), uri)

    def test_ippNtfyIsHttps(self) -> None:
        """
        C{ipp-ntfy://} is delivered over https unless C{tls=no}, and the C{tls}
        parameter is not passed on.
        """
        self.assertEqual(
            recipientTarget("ipp-ntfy://app.example:8443/events?a=1"),
            "https://app.example:8443/events?a=1",
        )
        self.assertEqual(
            recipientTarget("ipp-ntfy://app.example/events?tls=no&a=1"),
            "http://app.example/events?a=1",
        )
        self.assertEqual(
            recipientTarget("ipp-ntfy://app.example/events?tls=yes"),
            "https://app.example/events",
        )

    def test_badTlsValue(self) -> None:
        e = self.assertRaises(
            NotifierError, recipientTarget, "ipp-ntfy://h/p?tls=maybe"
        )
        self.assertIn("tls=maybe", str(e))

    def test_unsupportedScheme(self) -> None:
        e = self.assertRaises(NotifierError, recipientTarget, "mailto:someone@here")
        self.assertIn("unsupported scheme", str(e))

    def test_noHost(self) -> None:
        self.assertRaises(NotifierError, recipientTarget, "http:///path")


class ConfigTests(SynchronousTestCase):
    def test_arguments(self) -> None:
        config = configFromEnvironment(
            ["notifier", "http://h/n", base64.b64encode(b"push-sub").decode()],
            {"CUPS_CACHEDIR": "/var/cache/cups"},
        )
        self.assertEqual(config.userData, b"push-sub")
        self.assertEqual(config.spoolDirectory, "/var/cache/cups/ipp-ntfy")
        digest = hashlib.sha256(b"http://h/n").hexdigest()
        self.assertEqual(config.spoolFile, f"/var/cache/cups/ipp-ntfy/{digest}.sqlite3")
        self.assertEqual(config.lockFile, f"/var/cache/cups/ipp-ntfy/{digest}.lock")
        self.assertEqual(config.drainSeconds, 60.0)

    def test_emptyUserData(self) -> None:
        config = configFromEnvironment(
            ["notifier", "http://h/n", ""], {"CUPS_CACHEDIR": "/c"}
        )
        self.assertEqual(config.userData, b"")

    def test_spoolDirectoryOption(self) -> None:
        config = configFromEnvironment(
            ["notifier", "http://h/n", ""],
            {"CUPS_CACHEDIR": "/c", "IPP_NTFY_SPOOL_DIR": "/elsewhere"},
        )
        self.assertEqual(config.spoolFile, spoolPath("/elsewhere", "http://h/n"))

    def test_noSpool(self) -> None:
        e = self.assertRaises(
            NotifierError, configFromEnvironment, ["notifier", "http://h/n", ""], {}
        )
        self.assertIn("CUPS_CACHEDIR", str(e))

    def test_usage(self) -> None:
        e = self.assertRaises(NotifierError, configFromEnvironment, ["notifier"], {})
        self.assertIn("usage", str(e))

    def test_badUserData(self) -> None:
        self.assertRaises(
            NotifierError,
            configFromEnvironment,
            ["notifier", "http://h/n", "not base64!"],
            {"CUPS_CACHEDIR": "/c"},
        )

    def test_numbers(self) -> None:
        config = configFromEnvironment(
            ["notifier", "http://h/n", ""],
            {
                "CUPS_CACHEDIR": "/c",
                "IPP_NTFY_DRAIN_SECONDS": "2.5",
                "IPP_NTFY_MAX_AGE": "600",
                "IPP_NTFY_TIMEOUT": "5",
            },
        )
        self.assertEqual(
            (config.drainSeconds, config.maxAge, config.timeout), (2.5, 600.0, 5.0)
        )
        for bad in ("-1", "soon", "nan", "inf"):
            e = self.assertRaises(
                NotifierError,
                configFromEnvironment,
                ["notifier", "http://h/n", ""],
                {"CUPS_CACHEDIR": "/c", "IPP_NTFY_DRAIN_SECONDS": bad},
            )
            self.assertIn("IPP_NTFY_DRAIN_SECONDS", str(e))


class TLSOptionTests(SynchronousTestCase):
    def test_verifiesByDefault(self) -> None:
        policy = tlsPolicyFromEnvironment({})
        self.assertFalse(policy.insecure)

    def test_insecure(self) -> None:
        self.assertTrue(tlsPolicyFromEnvironment({"IPP_NTFY_INSECURE": "yes"}).insecure)
        self.assertFalse(tlsPolicyFromEnvironment({"IPP_NTFY_INSECURE": "0"}).insecure)
        e = self.assertRaises(
            NotifierError, tlsPolicyFromEnvironment, {"IPP_NTFY_INSECURE": "perhaps"}
        )
        self.assertIn("IPP_NTFY_INSECURE", str(e))

    def test_missingCAFileNamesTheVariable(self) -> None:
        e = self.assertRaises(
            NotifierError,
            tlsPolicyFromEnvironment,
            {"IPP_NTFY_CA_FILE": "/nonexistent/ca.pem"},
        )
        self.assertIn("IPP_NTFY_CA_FILE", str(e))

    def test_pins(self) -> None:
        pin = "sha256:" + "ab" * 32
        policy = tlsPolicyFromEnvironment(
            {"IPP_NTFY_PINS": f"{pin}, printer.example=sha256:{'cd' * 32}"}
        )
        self.assertEqual(len(policy.pinsFor("printer.example")), 2)
        self.assertEqual(len(policy.pinsFor("other.example")), 1)
        e = self.assertRaises(
            NotifierError, tlsPolicyFromEnvironment, {"IPP_NTFY_PINS": "sha256:zz"}
        )
        self.assertIn("IPP_NTFY_PINS", str(e))

    def test_insecureWithCAFileRefused(self) -> None:
        e = self.assertRaises(
            NotifierError,
            tlsPolicyFromEnvironment,
            {"IPP_NTFY_INSECURE": "yes", "IPP_NTFY_PINS": "sha256:" + "ab" * 32},
        )
        self.assertIn("IPP_NTFY_INSECURE", str(e))


class LogObserverTests(SynchronousTestCase):
    def lines(self, **event: Any) -> List[str]:
        event.setdefault("log_format", "{text}")
        event.setdefault("log_level", LogLevel.info)
        event.setdefault("log_namespace", "ipp_ntfy.x")
        return CupsLogObserver(io.StringIO(), "http://h/n").lines(event)

    def test_levels(self) -> None:
        for level, prefix in [
            (LogLevel.debug, "DEBUG"),
            (LogLevel.info, "INFO"),
            (LogLevel.warn, "WARNING"),
            (LogLevel.error, "ERROR"),
            (LogLevel.critical, "ERROR"),
        ]:
            self.assertEqual(
                self.lines(log_level=level, text="hello"),
                [f"{prefix}: [ipp-ntfy http://h/n] hello\n"],
            )

    def test_twistedChatterIsDebug(self) -> None:
        [line] = self.lines(log_namespace="twisted.web.client", text="Starting")
        self.assertTrue(line.startswith("DEBUG: "))
        [line] = self.lines(
            log_namespace="twisted.web.client", log_level=LogLevel.error, text="x"
        )
        self.assertTrue(line.startswith("ERROR: "))

    def test_oneLinePerLine(self) -> None:
        self.assertEqual(
            self.lines(text="one\ntwo"),
            ["INFO: [ipp-ntfy http://h/n] one\n", "INFO: [ipp-ntfy http://h/n] two\n"],
        )

    def test_longLineCut(self) -> None:
        [line] = self.lines(text="x" * 5000)
        self.assertLessEqual(len(line.encode()), cups_notifier.MAX_LOG_LINE + 1)
        self.assertTrue(line.endswith("...\n"))

    def test_failure(self) -> None:
        try:
            raise ZeroDivisionError("division by zero")
        except ZeroDivisionError:
            failure = Failure()
        lines = self.lines(
            log_level=LogLevel.critical, text="it broke", log_failure=failure
        )
        self.assertEqual(
            lines[0],
            "ERROR: [ipp-ntfy http://h/n] it broke: ZeroDivisionError: "
            "division by zero\n",
        )
        self.assertTrue(lines[1:])
        self.assertTrue(all(line.startswith("DEBUG: ") for line in lines[1:]))

    def test_writesWholeLinesToADescriptor(self) -> None:
        read, write = os.pipe()
        self.addCleanup(os.close, read)
        with os.fdopen(write, "wb") as stream:
            observer = CupsLogObserver(stream, "t")
            observer(
                {"log_format": "a\nb", "log_level": LogLevel.info, "log_namespace": "n"}
            )
        self.assertEqual(
            os.read(read, 1000), b"INFO: [ipp-ntfy t] a\nINFO: [ipp-ntfy t] b\n"
        )


class SpoolLockTests(SynchronousTestCase):
    def test_oneHolder(self) -> None:
        path = self.mktemp()
        first = SpoolLock(path)
        second = SpoolLock(path)
        self.addCleanup(first.release)
        self.addCleanup(second.release)
        self.assertTrue(first.acquire())
        self.assertTrue(first.acquire())
        self.assertFalse(second.acquire())
        first.release()
        self.assertTrue(second.acquire())
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode) & 0o077, 0)


# --- the notifier on the real reactor ------------------------------------------------


class ListenerMixin:
    """
    A listener on loopback recording what it receives.
    """

    def startListener(
        self, port: int = 0, statuses: Optional[List[object]] = None
    ) -> Tuple[int, RecordingSink, Any]:
        sink = RecordingSink(statuses)
        site = NotificationSite(resourceAt("/notify", NotificationListener(sink)))
        listening = reactor.listenTCP(port, site, interface="127.0.0.1")
        self.addCleanup(listening.stopListening)  # type: ignore[attr-defined]
        return listening.getHost().port, sink, listening

    @inlineCallbacks
    def waitFor(
        self,
        condition: Callable[[], bool],
        timeout: float,
        describe: Callable[[], str],
    ) -> Any:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                self.fail(describe())  # type: ignore[attr-defined]
            yield deferLater(reactor, 0.1, lambda: None)


class NotifierRun:
    """
    One run of L{cups_notifier.main} in this process, reading a pipe.
    """

    def __init__(
        self,
        recipient: str,
        environ: Dict[str, str],
        userData: str = "",
        argv: Optional[List[str]] = None,
    ) -> None:
        self.read, self.write = os.pipe()
        self.stderr = io.StringIO()
        self.stop: Deferred[None] = Deferred()
        self.done = cups_notifier.main(
            argv if argv is not None else ["http", recipient, userData],
            self.read,
            environ,
            reactor,
            stderr=self.stderr,
            stop=self.stop,
        )
        self.code: Optional[int] = None
        self.done.addCallback(self._ended)

    def _ended(self, code: int) -> int:
        self.code = code
        for fd in (self.read, self.write):
            try:
                os.close(fd)
            except OSError:
                pass
        return code

    @inlineCallbacks
    def feed(self, chunks: Sequence[bytes], pause: float = 0.002) -> Any:
        for chunk in chunks:
            os.write(self.write, chunk)
            yield deferLater(reactor, pause, lambda: None)

    def close(self) -> None:
        os.close(self.write)
        self.write = -1

    @property
    def log(self) -> str:
        return self.stderr.getvalue()


class NotifierTests(ListenerMixin, TestCase):
    timeout = 60

    def setUp(self) -> None:
        self.cache = os.path.abspath(self.mktemp())
        os.makedirs(self.cache)

    def environ(self, **more: str) -> Dict[str, str]:
        environ = {"CUPS_CACHEDIR": self.cache, "IPP_NTFY_DRAIN_SECONDS": "20"}
        environ.update(more)
        return environ

    def received(self, sink: RecordingSink) -> List[Tuple[int, int, str]]:
        return [(e.subscriptionId, e.sequenceNumber, e.event) for e in sink.events]

    @inlineCallbacks
    def queued(self, recipient: str) -> Any:
        store = yield SQLiteStore.open(
            spoolPath(os.path.join(self.cache, "ipp-ntfy"), recipient), reactor
        )
        try:
            depth = yield store.queueDepth()
            history = yield store.eventsSince(1, 1, 1000)
        finally:
            yield store.close()
        return depth, len(history)

    @inlineCallbacks
    def test_streamInOddChunksArrivesInOrder(self) -> Any:
        """
        The captured stdin stream of cupsd, fed in odd pieces, reaches the
        listener whole and in order, with cupsd's subscription id, sequence
        numbers and user data unchanged; at end of input the notifier drains
        and exits 0.  The spool is where the module says, private to its user.
        """
        port, sink, _ = self.startListener()
        recipient = f"http://127.0.0.1:{port}/notify"
        run = NotifierRun(recipient, self.environ(), "cHVzaC1zdWI=")
        yield run.feed(oddChunks(STREAM))
        run.close()
        code = yield run.done
        self.assertEqual(code, 0, run.log)
        self.assertEqual(self.received(sink), streamKeys(STREAM))
        self.assertEqual(len(sink.events), 17)
        self.assertEqual({e.userData for e in sink.events}, {b"push-sub"})
        self.assertIn("INFO: [ipp-ntfy " + recipient, run.log)
        self.assertIn("every spooled event is delivered", run.log)
        self.assertNotIn("Traceback", run.log)
        directory = os.path.join(self.cache, "ipp-ntfy")
        self.assertEqual(stat.S_IMODE(os.stat(directory).st_mode), 0o700)
        self.assertTrue(os.path.exists(spoolPath(directory, recipient)))
        # The CUPS subscription is over and everything is delivered: the spool
        # forgets it.
        store = yield SQLiteStore.open(spoolPath(directory, recipient), reactor)
        try:
            subscriptions = yield store.listSubscriptions()
            cursor = yield store.getCursor("cups-subscription:3")
        finally:
            yield store.close()
        self.assertEqual((subscriptions, cursor), ([], None))

    @inlineCallbacks
    def test_spoolSurvivesRestart(self) -> Any:
        """
        Events that could not be delivered (the listener is down) stay in the
        spool when the notifier ends; the next run, with the listener up,
        delivers them first and then the new ones: all 17 in order, none twice.
        """
        port, _, listening = self.startListener()
        yield listening.stopListening()
        recipient = f"http://127.0.0.1:{port}/notify"
        first = NotifierRun(recipient, self.environ(IPP_NTFY_DRAIN_SECONDS="0.5"))
        yield first.feed([b"".join(MESSAGES[:9])])
        first.close()
        code = yield first.done
        self.assertEqual(code, 0, first.log)
        self.assertIn("9 events stay in the spool", first.log)
        depth, _ = yield self.queued(recipient)
        self.assertEqual(depth, 9)

        _, sink, _ = self.startListener(port)
        second = NotifierRun(recipient, self.environ())
        yield second.feed(oddChunks(b"".join(MESSAGES[9:])))
        second.close()
        code = yield second.done
        self.assertEqual(code, 0, second.log)
        self.assertEqual(self.received(sink), streamKeys(STREAM))

    @inlineCallbacks
    def test_resentEventsAreNotSpooledTwice(self) -> Any:
        """
        Events of a CUPS subscription that were spooled already (cupsd sends an
        event again when it restarts a notifier that went away) are dropped: the
        spool's cursor remembers the last sequence number, across runs too.
        """
        port, sink, _ = self.startListener()
        recipient = f"http://127.0.0.1:{port}/notify"
        first = NotifierRun(recipient, self.environ())
        yield first.feed([b"".join(MESSAGES[:10])])
        yield self.waitFor(lambda: len(sink.events) == 10, 10, lambda: first.log)
        first.stop.callback(None)
        yield first.done
        second = NotifierRun(recipient, self.environ())
        yield second.feed([b"".join(MESSAGES[8:])])
        second.close()
        code = yield second.done
        self.assertEqual(code, 0, second.log)
        self.assertEqual(self.received(sink), streamKeys(STREAM))

    @inlineCallbacks
    def test_badInputExitsWithTheOffset(self) -> Any:
        """
        A stream that stops being IPP is an C{ERROR:} line with the offset of the
        fault and exit status 1 (no traceback); the events before it are
        spooled.
        """
        good = b"".join(MESSAGES[:2])
        garbage = (
            b"\x02\x00\x00\x00\x00\x00\x00\x00\x07\x21\x00\x03abc\x00\x05hello\x03"
        )
        try:
            MessageStream().feed(good + garbage)
        except IppDecodeError as e:
            offset = e.offset
        else:
            self.fail("the garbage decodes")
        self.assertGreater(offset, len(good))
        port, _, listening = self.startListener()
        yield listening.stopListening()
        recipient = f"http://127.0.0.1:{port}/notify"
        run = NotifierRun(recipient, self.environ())
        yield run.feed([good + garbage + MESSAGES[2]])
        code = yield run.done
        self.assertEqual(code, 1, run.log)
        self.assertRegex(
            run.log,
            rf"(?m)^ERROR: \[ipp-ntfy [^]]+\] bad event on standard input at "
            rf"offset {offset}: ",
        )
        self.assertNotIn("Traceback", run.log)
        _, history = yield self.queued(recipient)
        self.assertEqual(history, 2)

    @inlineCallbacks
    def test_notAnEventExitsWithItsOffset(self) -> Any:
        """
        A valid IPP message that is not an event (a request) is bad input too:
        its offset is where it starts.
        """
        request = vector("ipptool-2.4.2-get-printer-attributes-request.ipp")
        good = b"".join(MESSAGES[:3])
        run = NotifierRun("http://127.0.0.1:9/notify", self.environ())
        for chunk in oddChunks(good + request + MESSAGES[3]):
            os.write(run.write, chunk)
        code = yield run.done
        self.assertEqual(code, 1, run.log)
        self.assertIn(
            f"bad event on standard input at offset {len(good)}: not an event",
            run.log,
        )
        _, history = yield self.queued("http://127.0.0.1:9/notify")
        self.assertEqual(history, 3)

    @inlineCallbacks
    def test_endInsideAMessage(self) -> Any:
        """
        Input that ends inside a message: the events before it are delivered,
        the rest is an C{ERROR:} line with the offset, exit status 1.
        """
        cut = MESSAGES[0] + MESSAGES[1][:100]
        stream = MessageStream()
        stream.feed(cut)
        try:
            stream.close()
        except IppDecodeError as e:
            offset = e.offset
        port, sink, _ = self.startListener()
        run = NotifierRun(f"http://127.0.0.1:{port}/notify", self.environ())
        yield run.feed([cut])
        run.close()
        code = yield run.done
        self.assertEqual(code, 1, run.log)
        self.assertIn(
            f"standard input ends inside an event message at offset {offset}:",
            run.log,
        )
        self.assertEqual([e.sequenceNumber for e in sink.events], [1])

    @inlineCallbacks
    def test_sharedSpoolHasOneDeliverer(self) -> Any:
        """
        Two notifiers for the same recipient (two CUPS subscriptions) share the
        spool: the first holds the lock and delivers what both spool; the
        second, at its end, waits until the spool is empty.
        """
        port, sink, _ = self.startListener()
        recipient = f"http://127.0.0.1:{port}/notify"
        first = NotifierRun(recipient, self.environ())
        yield deferLater(reactor, 0.2, lambda: None)
        second = NotifierRun(recipient, self.environ())
        yield second.feed([STREAM])
        second.close()
        code = yield second.done
        self.assertEqual(code, 0, second.log)
        self.assertIn("another notifier is delivering from this spool", second.log)
        self.assertEqual(self.received(sink), streamKeys(STREAM))
        first.close()
        code = yield first.done
        self.assertEqual(code, 0, first.log)
        self.assertEqual(len(sink.events), 17)

    @inlineCallbacks
    def test_stopEndsAtOnce(self) -> Any:
        """
        SIGTERM (the C{stop} Deferred) ends the run without waiting for the
        drain: exit 0, the events still spooled.
        """
        recipient = "http://127.0.0.1:9/notify"
        run = NotifierRun(recipient, self.environ(IPP_NTFY_DRAIN_SECONDS="600"))
        yield run.feed([STREAM])
        yield deferLater(reactor, 0.3, lambda: None)
        started = time.monotonic()
        run.stop.callback(None)
        code = yield run.done
        self.assertEqual(code, 0, run.log)
        self.assertLess(time.monotonic() - started, 5)
        depth, _ = yield self.queued(recipient)
        self.assertEqual(depth, 17)

    @inlineCallbacks
    def test_usageError(self) -> Any:
        run = NotifierRun("", self.environ(), argv=["http"])
        code = yield run.done
        self.assertEqual(code, 1)
        self.assertTrue(run.log.startswith("ERROR: [ipp-ntfy] usage:"), run.log)

    @inlineCallbacks
    def test_unwritableSpool(self) -> Any:
        blocker = os.path.join(self.cache, "ipp-ntfy")
        with open(blocker, "w"):
            pass
        run = NotifierRun("http://127.0.0.1:9/notify", self.environ())
        code = yield run.done
        self.assertEqual(code, 1)
        self.assertIn(f"ERROR: [ipp-ntfy http://127.0.0.1:9/notify] {blocker}", run.log)

    @inlineCallbacks
    def test_badTLSOptionSpoolsWithoutDelivering(self) -> Any:
        """
        A bad TLS option is an C{ERROR:} line naming it; events are spooled (not
        lost) but not delivered, and the run ends with status 1.  Once the option
        is fixed, the next run delivers them.
        """
        port, sink, _ = self.startListener()
        recipient = f"http://127.0.0.1:{port}/notify"
        run = NotifierRun(
            recipient, self.environ(IPP_NTFY_CA_FILE="/nonexistent/ca.pem")
        )
        yield run.feed([STREAM])
        run.close()
        code = yield run.done
        self.assertEqual(code, 1)
        self.assertIn("ERROR: [ipp-ntfy", run.log)
        self.assertIn("IPP_NTFY_CA_FILE", run.log)
        self.assertEqual(sink.events, [])
        again = NotifierRun(recipient, self.environ())
        again.close()
        code = yield again.done
        self.assertEqual(code, 0, again.log)
        self.assertEqual(self.received(sink), streamKeys(STREAM))

    @inlineCallbacks
    def test_listenerCancelsSubscription(self) -> Any:
        """
        When the listener answers client-error-not-found for a report, the
        subscription's later events are dropped, with an C{INFO:} line.
        """
        port, sink, _ = self.startListener(statuses=[0, 0x0406])
        recipient = f"http://127.0.0.1:{port}/notify"
        run = NotifierRun(recipient, self.environ())
        yield run.feed([MESSAGES[0]])
        yield self.waitFor(lambda: len(sink.events) >= 1, 10, lambda: run.log)
        yield run.feed([MESSAGES[1]])
        yield self.waitFor(lambda: len(sink.events) >= 2, 10, lambda: run.log)
        yield deferLater(reactor, 0.3, lambda: None)
        yield run.feed([MESSAGES[2]])
        run.close()
        code = yield run.done
        self.assertEqual(code, 0, run.log)
        self.assertEqual([e.sequenceNumber for e in sink.events], [1, 2])
        self.assertIn("the listener cancelled subscription 3", run.log)

    @inlineCallbacks
    def test_httpsVerifiedWithTheCAFile(self) -> Any:
        """
        An https listener is verified: with C{IPP_NTFY_CA_FILE} naming its CA
        the events arrive; without it (the system's trust only) nothing is
        delivered and the run logs why.
        """
        certs = makeCertificates(self.mktemp())
        sink = RecordingSink()
        site = NotificationSite(resourceAt("/notify", NotificationListener(sink)))
        endpoint = listenEndpoint(
            reactor,
            f"ssl:0:privateKey={certs.server.keyPath}:certKey={certs.server.certPath}"
            ":interface=127.0.0.1",
        )
        listening = yield endpoint.listen(site)
        self.addCleanup(listening.stopListening)
        recipient = f"https://127.0.0.1:{listening.getHost().port}/notify"

        untrusted = NotifierRun(recipient, self.environ(IPP_NTFY_DRAIN_SECONDS="1"))
        yield untrusted.feed([MESSAGES[0]])
        untrusted.close()
        code = yield untrusted.done
        self.assertEqual(code, 0, untrusted.log)
        self.assertEqual(sink.events, [])
        self.assertIn("certificate verify failed", untrusted.log)

        trusted = NotifierRun(
            recipient, self.environ(IPP_NTFY_CA_FILE=certs.ca.certPath)
        )
        yield trusted.feed([b"".join(MESSAGES[1:])])
        trusted.close()
        code = yield trusted.done
        self.assertEqual(code, 0, trusted.log)
        self.assertEqual(self.received(sink), streamKeys(STREAM))


class _Collect(ProcessProtocol):
    def __init__(self) -> None:
        self.ended: Deferred[int] = Deferred()
        self.output = b""

    def childDataReceived(self, fd: int, data: bytes) -> None:
        self.output += data

    @property
    def text(self) -> str:
        return self.output.decode("utf-8", "replace")

    def processEnded(self, reason: Failure) -> None:
        self.ended.callback(getattr(reason.value, "exitCode", None) or 0)


class CommandTests(ListenerMixin, TestCase):
    timeout = 60

    @inlineCallbacks
    def test_cupsNotifierCommand(self) -> Any:
        """
        C{ipp-ntfy cups-notifier URI USERDATA} is the notifier: with the stream
        in a file on standard input, every event arrives; every line on standard
        error has a prefix cupsd knows.
        """
        port, sink, _ = self.startListener()
        cache = os.path.abspath(self.mktemp())
        os.makedirs(cache)
        path = os.path.join(cache, "stream.bin")
        with open(path, "wb") as f:
            f.write(STREAM)
        stdin = os.open(path, os.O_RDONLY)
        self.addCleanup(os.close, stdin)
        protocol = _Collect()
        environ = dict(os.environ, CUPS_CACHEDIR=cache, IPP_NTFY_DRAIN_SECONDS="20")
        reactor.spawnProcess(
            protocol,
            sys.executable,
            [
                sys.executable,
                "-m",
                "ipp_ntfy",
                "cups-notifier",
                f"http://127.0.0.1:{port}/notify",
                "cHVzaC1zdWI=",
            ],
            env=environ,
            path=CHECKOUT,
            childFDs={0: stdin, 1: "r", 2: "r"},
        )
        code = yield protocol.ended
        log = protocol.output.decode("utf-8", "replace")
        self.assertEqual(code, 0, log)
        self.assertEqual(
            [(e.subscriptionId, e.sequenceNumber) for e in sink.events],
            [key[:2] for key in streamKeys(STREAM)],
        )
        for line in log.splitlines():
            self.assertRegex(line, r"^(DEBUG|INFO|WARNING|ERROR): \[ipp-ntfy ")

    @inlineCallbacks
    def test_sigtermEndsTheRun(self) -> Any:
        """
        SIGTERM (what cupsd sends its notifiers when it stops) ends the notifier
        at once with status 0, its events kept in the spool.
        """
        cache = os.path.abspath(self.mktemp())
        os.makedirs(cache)
        protocol = _Collect()
        environ = dict(os.environ, CUPS_CACHEDIR=cache, IPP_NTFY_DRAIN_SECONDS="600")
        process = reactor.spawnProcess(
            protocol,
            sys.executable,
            [sys.executable, "-m", "ipp_ntfy", "cups-notifier", "http://127.0.0.1:9/n"],
            env=environ,
            path=CHECKOUT,
            childFDs={0: "w", 1: "r", 2: "r"},
        )
        process.writeToChild(0, STREAM)
        yield self.waitFor(
            lambda: "spooling the events" in protocol.text, 30, lambda: protocol.text
        )
        process.signalProcess("TERM")
        code = yield protocol.ended
        self.assertEqual(code, 0, protocol.text)
        self.assertIn("INFO: [ipp-ntfy http://127.0.0.1:9/n] stopping", protocol.text)
        self.assertIn("done (exit status 0)", protocol.text)


# --- installing ----------------------------------------------------------------------


class InstallTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.serverBin = os.path.abspath(self.mktemp())
        os.makedirs(os.path.join(self.serverBin, "notifier"))
        os.chmod(self.serverBin, 0o755)
        os.chmod(os.path.join(self.serverBin, "notifier"), 0o755)
        self.said: List[str] = []

    def install(self, **kwargs: Any) -> List[str]:
        kwargs.setdefault("user", None)
        return installNotifiers(self.serverBin, say=self.said.append, **kwargs)

    def path(self, scheme: str) -> str:
        return os.path.join(self.serverBin, "notifier", scheme)

    def test_writesScripts(self) -> None:
        """
        C{notifier/http} and C{notifier/https}: mode 0755 (root's when run as
        root), a script for the given interpreter that runs the notifier, and
        finds this checkout.
        """
        written = self.install(python=sys.executable)
        self.assertEqual(written, [self.path("http"), self.path("https")])
        for path in written:
            info = os.stat(path)
            self.assertEqual(stat.S_IMODE(info.st_mode), 0o755)
            if os.geteuid() == 0:
                self.assertEqual(info.st_uid, 0)
            with open(path) as f:
                text = f.read()
            self.assertTrue(text.startswith(f"#!{sys.executable} -I\n"))
            self.assertIn(MARKER, text)
            self.assertIn(repr(CHECKOUT), text)
            self.assertIn("from ipp_ntfy.sources.cups_notifier import run", text)
        self.assertIn(
            f"wrote {self.path('http')} (interpreter {sys.executable})", self.said
        )
        self.assertEqual(
            sorted(os.listdir(os.path.join(self.serverBin, "notifier"))),
            ["http", "https"],
        )

    def test_scriptRunsTheNotifier(self) -> None:
        """
        The installed script, run with C{--check}, loads the notifier.
        """
        self.install(python=sys.executable, schemes=["https"])
        import subprocess

        result = subprocess.run(
            [self.path("https"), "--check"], capture_output=True, text=True
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(result.stdout.startswith("ok: ipp_ntfy "), result.stdout)

    def test_againIsUnchanged(self) -> None:
        self.install()
        self.said.clear()
        self.install()
        self.assertIn(
            f"unchanged {self.path('http')} (interpreter {sys.executable})", self.said
        )

    def test_updatesItsOwn(self) -> None:
        self.install(paths=["/opt/one"])
        self.said.clear()
        self.install()
        self.assertIn(
            f"updated {self.path('http')} (interpreter {sys.executable})", self.said
        )

    def test_refusesForeignFile(self) -> None:
        with open(self.path("https"), "w") as f:
            f.write("#!/bin/sh\nexit 0\n")
        e = self.assertRaises(InstallError, self.install)
        self.assertIn("not written by ipp-ntfy", str(e))
        with open(self.path("https")) as f:
            self.assertEqual(f.read(), "#!/bin/sh\nexit 0\n")
        self.install(force=True)
        with open(self.path("https")) as f:
            self.assertIn(MARKER, f.read())

    def test_refusesGroupWritableDirectory(self) -> None:
        os.chmod(os.path.join(self.serverBin, "notifier"), 0o775)
        e = self.assertRaises(InstallError, self.install)
        self.assertIn("writable by group or others", str(e))
        self.assertEqual(os.listdir(os.path.join(self.serverBin, "notifier")), [])

    def test_createsNotifierDirectory(self) -> None:
        os.rmdir(os.path.join(self.serverBin, "notifier"))
        self.install()
        info = os.stat(os.path.join(self.serverBin, "notifier"))
        self.assertEqual(stat.S_IMODE(info.st_mode), 0o755)

    def test_noServerBin(self) -> None:
        e = self.assertRaises(
            InstallError, installNotifiers, "/nonexistent/cups", user=None
        )
        self.assertIn("/nonexistent/cups", str(e))

    def test_unknownScheme(self) -> None:
        e = self.assertRaises(InstallError, self.install, schemes=["mailto"])
        self.assertIn("mailto", str(e))

    def test_badInterpreter(self) -> None:
        self.assertRaises(InstallError, self.install, python="/nonexistent/python")
        self.assertRaises(InstallError, self.install, python="/a b/python")

    def test_checkFailureInstallsNothing(self) -> None:
        """
        As root, each script is run as cupsd's user first; if that fails (here the
        interpreter is C{/bin/false}), nothing is installed.
        """
        if os.geteuid() != 0:
            raise SkipTest("the check runs only as root")
        try:
            pwd.getpwnam("lp")
        except KeyError:
            raise SkipTest("no user lp") from None
        e = self.assertRaises(
            InstallError, self.install, python="/bin/false", user="lp"
        )
        self.assertIn("user lp (cupsd's User) cannot run the notifier", str(e))
        self.assertEqual(os.listdir(os.path.join(self.serverBin, "notifier")), [])

    def test_scriptText(self) -> None:
        text = notifierScript("/usr/bin/python3", ["/srv/a"])
        self.assertEqual(text.splitlines()[0], "#!/usr/bin/python3 -I")
        self.assertIn("sys.path[:0] = ['/srv/a']", text)
        self.assertNotIn("sys.path", notifierScript("/usr/bin/python3"))

    def test_command(self) -> None:
        """
        C{ipp-ntfy install-cups-notifier} prints what it did; errors are one line
        on standard error and exit status 1.
        """
        out, err = io.StringIO(), io.StringIO()
        code = cli.main(
            [
                "install-cups-notifier",
                "--serverbin",
                self.serverBin,
                "--schemes",
                "http,https,ipp-ntfy",
                "--no-check",
            ],
            stdout=out,
            stderr=err,
        )
        self.assertEqual(code, 0, err.getvalue())
        for scheme in ("http", "https", "ipp-ntfy"):
            self.assertIn(f"wrote {self.path(scheme)}", out.getvalue())
        os.chmod(os.path.join(self.serverBin, "notifier"), 0o777)
        err = io.StringIO()
        code = cli.main(
            ["install-cups-notifier", "--serverbin", self.serverBin, "--no-check"],
            stdout=io.StringIO(),
            stderr=err,
        )
        self.assertEqual(code, 1)
        self.assertTrue(err.getvalue().startswith("error: "))
        os.chmod(os.path.join(self.serverBin, "notifier"), 0o755)


# --- end to end with cupsd -----------------------------------------------------------

CREATE_SUBSCRIPTION = """\
{
    NAME "Create a push subscription for ipp_ntfy"
    OPERATION Create-Printer-Subscriptions
    GROUP operation-attributes-tag
    ATTR charset attributes-charset utf-8
    ATTR naturalLanguage attributes-natural-language en
    ATTR uri printer-uri $uri
    ATTR name requesting-user-name root
    GROUP subscription-attributes-tag
    ATTR uri notify-recipient-uri $recipient
    ATTR keyword notify-events printer-state-changed,job-state-changed
    ATTR octetString notify-user-data e2e
    ATTR integer notify-lease-duration 600
    STATUS successful-ok
    EXPECT notify-subscription-id OF-TYPE integer
    DISPLAY notify-subscription-id
}
"""

CANCEL_SUBSCRIPTION = """\
{
    NAME "Cancel the subscription"
    OPERATION Cancel-Subscription
    GROUP operation-attributes-tag
    ATTR charset attributes-charset utf-8
    ATTR naturalLanguage attributes-natural-language en
    ATTR uri printer-uri $uri
    ATTR integer notify-subscription-id $id
    ATTR name requesting-user-name root
    STATUS successful-ok
}
"""


def _distributionKey(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirementClosure(root: str) -> List[metadata.Distribution]:
    """
    The installed distributions C{root} needs, with the extras it asks for
    (C{twisted[tls]}), C{root} excluded.
    """
    extrasSeen: Dict[str, frozenset[str]] = {}
    found: List[metadata.Distribution] = []
    todo: List[Tuple[str, frozenset[str]]] = [(root, frozenset())]
    while todo:
        name, extras = todo.pop()
        key = _distributionKey(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        if key in extrasSeen and extras <= extrasSeen[key]:
            continue
        if key not in extrasSeen and key != _distributionKey(root):
            found.append(dist)
        extrasSeen[key] = extrasSeen.get(key, frozenset()) | extras
        for requirement in dist.requires or []:
            match = re.match(r"\s*([A-Za-z0-9._-]+)\s*(?:\[([^\]]*)\])?", requirement)
            if match is None:
                continue
            marker = requirement.partition(";")[2]
            wanted = re.findall(r"extra\s*==\s*[\"']([^\"']+)[\"']", marker)
            if wanted and not set(wanted) & extrasSeen[key]:
                continue
            more = frozenset(
                e.strip() for e in (match.group(2) or "").split(",") if e.strip()
            )
            todo.append((match.group(1), more))
    return found


def _linkOrCopy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
    os.chmod(target, 0o755 if os.access(source, os.X_OK) else 0o644)


def _buildRuntime(directory: str) -> str:
    """
    Give user lp the packages ipp_ntfy needs, from this interpreter's
    site-packages, in C{directory} (hard links where possible).
    """
    site = os.path.join(directory, "site")
    os.makedirs(site)
    for path in (directory, site):
        os.chmod(path, 0o755)
    for dist in _requirementClosure("ipp_ntfy"):
        for file in dist.files or []:
            top = file.parts[0]
            if top in ("..", "__pycache__") or os.path.lexists(os.path.join(site, top)):
                continue
            source = str(dist.locate_file(top))
            if os.path.isdir(source):
                shutil.copytree(
                    source,
                    os.path.join(site, top),
                    copy_function=_linkOrCopy,
                    ignore=shutil.ignore_patterns("__pycache__"),
                )
            elif os.path.isfile(source):
                _linkOrCopy(source, os.path.join(site, top))
    for root, dirs, _ in os.walk(site):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)
    return site


def _runsAsLp(python: str, paths: Sequence[str]) -> Optional[str]:
    """
    @return: why user lp cannot import the notifier with C{python} and
        C{paths}, or C{None} if it can.
    """
    import subprocess

    entry = pwd.getpwnam("lp")
    code = (
        f"import sys; sys.path[:0] = {list(paths)!r}; "
        "import ipp_ntfy.sources.cups_notifier, OpenSSL, service_identity"
    )
    try:
        result = subprocess.run(
            [python, "-I", "-c", code],
            user=entry.pw_uid,
            group=entry.pw_gid,
            extra_groups=[],
            cwd="/",
            capture_output=True,
            text=True,
            timeout=120,
        )
    except OSError as e:
        return str(e)
    if result.returncode:
        lines = result.stderr.strip().splitlines()
        return lines[-1] if lines else f"exit status {result.returncode}"
    return None


_runtime: Dict[str, Tuple[str, List[str]]] = {}


def pythonForLp(directory: str) -> Tuple[str, List[str]]:
    """
    An interpreter (and directories for its C{sys.path}) with which user lp can
    run the notifier from this checkout.

    This interpreter, when lp can run it and read its packages.  Otherwise (a
    Python under a private home, as pyenv's under C{/root}) the system Python
    of the same version, given hard links to this interpreter's packages in a
    directory lp can read.

    @raise SkipTest: if neither works.
    """
    if "python" in _runtime:
        return _runtime["python"]
    problem = _runsAsLp(sys.executable, [CHECKOUT])
    if problem is None:
        _runtime["python"] = (sys.executable, [])
        return _runtime["python"]
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [f"/usr/bin/{version}", f"/usr/local/bin/{version}"]
    for python in candidates:
        if not os.access(python, os.X_OK):
            continue
        site = _buildRuntime(os.path.join(directory, "lp-runtime"))
        other = _runsAsLp(python, [site, CHECKOUT])
        if other is None:
            _runtime["python"] = (python, [site])
            return _runtime["python"]
        problem += f"; {python}: {other}"
    raise SkipTest(f"user lp cannot run a Python with ipp_ntfy here: {problem}")


def _setEnvInCupsFiles(cups: CupsDaemon, environ: Dict[str, str]) -> None:
    """
    Make sure the C{SetEnv} lines are in C{cups-files.conf}: CUPS 2.4 ignores
    them in C{cupsd.conf} ("Please move ... to the cups-files.conf file") and
    passes nothing of them to notifiers.
    """
    path = os.path.join(cups.directory, "cups-files.conf")
    with open(path) as f:
        text = f.read()
    lines = [
        f"SetEnv {name} {value}\n"
        for name, value in environ.items()
        if f"SetEnv {name} " not in text
    ]
    with open(path, "a") as f:
        f.write("".join(lines))


class CupsEndToEndTests(ListenerMixin, TestCase):
    """
    A private cupsd runs the installed notifier (as user lp) for a printer
    subscription made with ipptool; the listener gets what happens to the queue.
    """

    timeout = 180

    def setUp(self) -> None:
        reason = cupsAvailable()
        if reason is not None:
            raise SkipTest(reason)
        self.directory = os.path.abspath(self.mktemp())
        os.makedirs(self.directory)
        # cupsd's user must reach the fixture; trial makes a private directory.
        path = self.directory
        while path.startswith(CHECKOUT + os.sep):
            os.chmod(path, os.stat(path).st_mode | 0o555)
            path = os.path.dirname(path)

    def startCups(
        self, setEnv: Dict[str, str], schemes: str = "http,https"
    ) -> CupsDaemon:
        cups = CupsDaemon(os.path.join(self.directory, "cups"))
        environ = {"IPP_NTFY_DRAIN_SECONDS": "5"}
        environ.update(setEnv)
        cups.configure(setEnv=environ)
        _setEnvInCupsFiles(cups, environ)
        cups.start()
        self.addCleanup(cups.stop)
        self.cups = cups
        python, paths = pythonForLp(os.path.dirname(os.path.dirname(self.directory)))
        out, err = io.StringIO(), io.StringIO()
        arguments = [
            "install-cups-notifier",
            "--serverbin",
            cups.serverBin,
            "--python",
            python,
            "--schemes",
            schemes,
        ]
        for path in paths:
            arguments += ["--pythonpath", path]
        code = cli.main(arguments, stdout=out, stderr=err)
        self.assertEqual(code, 0, out.getvalue() + err.getvalue())
        self.assertIn("user lp can run it", out.getvalue())
        cups.addQueue("test")
        return cups

    def tail(self) -> str:
        return "\ncupsd error_log (tail):\n" + self.cups.errorLog()[-6000:]

    def ipptool(self, text: str, *defines: str) -> str:
        path = os.path.join(self.directory, "request.test")
        with open(path, "w") as f:
            f.write(text)
        result = self.cups.ipptool(self.cups.printerUri("test"), path, *defines)
        output = result.stdout.decode("utf-8", "replace")
        self.assertEqual(
            result.returncode, 0, output + result.stderr.decode() + self.tail()
        )
        return output

    def subscribe(self, recipient: str) -> int:
        output = self.ipptool(
            CREATE_SUBSCRIPTION,
            f"recipient={recipient}",
        )
        match = re.search(r"notify-subscription-id \(integer\) = (\d+)", output)
        self.assertIsNotNone(match, output)
        assert match is not None
        return int(match.group(1))

    @inlineCallbacks
    def roundTrip(self, recipient: str, sink: RecordingSink) -> Any:
        """
        Subscribe, disable, enable, print; check what the listener receives; then
        cancel the subscription and see the notifier end.
        """
        subscriptionId = self.subscribe(recipient)
        self.cups.run("cupsdisable", "test")
        self.cups.run("cupsenable", "test")
        self.cups.run("lp", "-d", "test", "/etc/hostname")

        def describe() -> str:
            return f"received {[e.event for e in sink.events]}" + self.tail()

        yield self.waitFor(
            lambda: "job-completed" in [e.event for e in sink.events], 30, describe
        )
        events = [e.event for e in sink.events]
        self.assertEqual(
            events[:3],
            ["printer-stopped", "printer-state-changed", "job-created"],
            describe(),
        )
        self.assertLess(events.index("job-created"), events.index("job-completed"))
        self.assertEqual({e.subscriptionId for e in sink.events}, {subscriptionId})
        self.assertEqual(
            [e.sequenceNumber for e in sink.events],
            list(range(1, len(sink.events) + 1)),
        )
        self.assertEqual({e.userData for e in sink.events}, {b"e2e"})
        self.assertEqual(
            {
                (e.printerUri or "").rpartition("/")[0].endswith("/printers")
                for e in sink.events
            },
            {True},
        )

        # The spool: in cupsd's cache directory, lp's and private.
        spool = os.path.join(self.cups.directory, "cache", "ipp-ntfy")
        lp = pwd.getpwnam("lp")
        info = os.stat(spool)
        self.assertEqual((info.st_uid, stat.S_IMODE(info.st_mode)), (lp.pw_uid, 0o700))
        path = spoolPath(spool, recipient)
        info = os.stat(path)
        self.assertEqual((info.st_uid, stat.S_IMODE(info.st_mode)), (lp.pw_uid, 0o600))

        # Cancelling the subscription closes the notifier's input: it drains and
        # says so in the error_log.
        self.ipptool(CANCEL_SUBSCRIPTION, f"id={subscriptionId}")
        yield self.waitFor(
            lambda: "done (exit status 0)" in self.cups.errorLog(),
            30,
            lambda: "the notifier did not end" + self.tail(),
        )
        log = self.cups.errorLog()
        self.assertIn("every spooled event is delivered", log)
        self.assertNotIn("Traceback", log)
        # Its connections are closed once the process is gone.
        yield deferLater(reactor, 0.5, lambda: None)

    @inlineCallbacks
    def test_http(self) -> Any:
        self.startCups({})
        port, sink, _ = self.startListener()
        yield self.roundTrip(f"http://127.0.0.1:{port}/notify", sink)

    @inlineCallbacks
    def test_https(self) -> Any:
        """
        The same over https, the listener's certificate verified against a test
        CA given to the notifier with C{SetEnv IPP_NTFY_CA_FILE}.
        """
        certs: TestCertificates = makeCertificates(
            os.path.join(self.directory, "certs")
        )
        os.chmod(certs.directory, 0o755)
        self.startCups({"IPP_NTFY_CA_FILE": certs.ca.certPath})
        sink = RecordingSink()
        site = NotificationSite(resourceAt("/notify", NotificationListener(sink)))
        endpoint = listenEndpoint(
            reactor,
            f"ssl:0:privateKey={certs.server.keyPath}:certKey={certs.server.certPath}"
            ":interface=127.0.0.1",
        )
        listening = yield endpoint.listen(site)
        self.addCleanup(listening.stopListening)
        yield self.roundTrip(
            f"https://127.0.0.1:{listening.getHost().port}/notify", sink
        )

    @inlineCallbacks
    def test_ippNtfyScheme(self) -> Any:
        """
        Installed as C{notifier/ipp-ntfy}, the notifier takes
        C{ipp-ntfy://HOST:PORT/PATH?tls=no} recipients and delivers over http.
        """
        self.startCups({}, schemes="ipp-ntfy")
        port, sink, _ = self.startListener()
        yield self.roundTrip(f"ipp-ntfy://127.0.0.1:{port}/notify?tls=no", sink)
