"""
Interop of the listener and the delivery method with software nobody here wrote:
Wireshark's IPP dissector (tshark), CUPS's ipptool, and curl.  CI installs all three;
a test skips (with the reason) only where the program is missing.
"""

from __future__ import annotations

import os
import shutil
import signal
from typing import Any, List, Tuple

from twisted.internet import reactor as _reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.protocol import ProcessProtocol
from twisted.internet.task import deferLater
from twisted.internet.utils import getProcessOutputAndValue
from twisted.python.failure import Failure
from twisted.trial.unittest import SkipTest, TestCase

from ipp_ntfy.delivery import HttpDeliveryMethod
from ipp_ntfy.ipp import GroupTag, decode
from ipp_ntfy.listener import NotificationListener, NotificationSite
from ipp_ntfy.outcome import OutcomeKind
from ipp_ntfy.service import resourceAt

from .test_listener import RecordingSink, makeEvent, reportBody

reactor: Any = _reactor
HERE = os.path.dirname(os.path.abspath(__file__))


def need(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise SkipTest(f"{program} is not installed (Debian package: see .ci/setup)")
    return path


class ListenerFixture:
    def startListener(
        self, statuses: List[object] | None = None
    ) -> Tuple[int, RecordingSink]:
        sink = RecordingSink(statuses)
        site = NotificationSite(resourceAt("/notify", NotificationListener(sink)))
        port = reactor.listenTCP(0, site, interface="127.0.0.1")
        self.addCleanup(port.stopListening)  # type: ignore[attr-defined]
        return port.getHost().port, sink


class _Capture(ProcessProtocol):
    def __init__(self) -> None:
        self.started: Deferred[None] = Deferred()
        self.ended: Deferred[None] = Deferred()
        self.stderr = b""

    def errReceived(self, data: bytes) -> None:
        self.stderr += data
        # tshark says so once dumpcap has opened the interface.
        if b"Capture started" in self.stderr and not self.started.called:
            self.started.callback(None)

    def processEnded(self, reason: Failure) -> None:
        if not self.started.called:
            self.started.errback(RuntimeError(self.stderr.decode(errors="replace")))
        self.ended.callback(None)


class TsharkTests(ListenerFixture, TestCase):
    timeout = 60

    @inlineCallbacks
    def test_dissectorDecodesRequestAndResponse(self):
        """
        Capture a delivery of three events (one answered client-error-not-found,
        so the response carries per-report groups) on loopback; Wireshark's IPP
        dissector decodes both messages, with no malformed packet and no expert
        warning or error.
        """
        tshark = need("tshark")
        port, sink = self.startListener([0, 0x0406, 0])
        capture = self.mktemp() + ".pcapng"
        protocol = _Capture()
        process = reactor.spawnProcess(
            protocol,
            tshark,
            [tshark, "-i", "lo", "-f", f"tcp port {port}", "-w", capture],
            env=os.environ.copy(),
        )
        yield protocol.started
        yield deferLater(reactor, 0.5, lambda: None)
        method = HttpDeliveryMethod(reactor)
        self.addCleanup(method.pool.closeCachedConnections)
        outcomes = yield method.deliver(
            f"http://127.0.0.1:{port}/notify", [makeEvent(n) for n in (1, 2, 3)]
        )
        self.assertEqual(
            [o.kind for o in outcomes],
            [OutcomeKind.DELIVERED, OutcomeKind.CANCEL, OutcomeKind.DELIVERED],
        )
        yield method.pool.closeCachedConnections()
        yield deferLater(reactor, 1.0, lambda: None)
        process.signalProcess(signal.SIGINT)
        yield protocol.ended

        decodeAs = f"tcp.port=={port},http"
        out, err, code = yield getProcessOutputAndValue(
            tshark, ["-r", capture, "-d", decodeAs, "-V"], env=os.environ.copy()
        )
        self.assertEqual(code, 0, err)
        text = out.decode("utf-8", "replace")
        captured = protocol.stderr.decode("utf-8", "replace")
        self.assertEqual(
            text.count("Internet Printing Protocol"), 2, captured + text[-3000:]
        )
        self.assertIn("operation-id: Print-URI (0x0003)", text)
        self.assertIn("notify-subscribed-event", text)
        self.assertIn("notification-report-status-code", text)
        self.assertNotIn("Malformed", text)

        out, err, code = yield getProcessOutputAndValue(
            tshark,
            ["-r", capture, "-d", decodeAs, "-q", "-z", "expert"],
            env=os.environ.copy(),
        )
        self.assertEqual(code, 0, err)
        expert = out.decode("utf-8", "replace")
        self.assertIn("POST /notify HTTP/1.1", expert)
        for severity in ("Errors", "Warns"):
            self.assertNotIn(f"\n{severity} (", expert, expert)


class IpptoolTests(ListenerFixture, TestCase):
    timeout = 60

    @inlineCallbacks
    def test_ipptoolDeliversAReport(self):
        """
        ipptool sends Report-Ipp-Notifications (OPERATION 0x0003, VERSION 1.0, two
        event-notification groups) from a .test file and gets successful-ok; the
        sink has both events as ipptool wrote them.
        """
        ipptool = need("ipptool")
        port, sink = self.startListener()
        uri = f"ipp://127.0.0.1:{port}/notify"
        out, err, code = yield getProcessOutputAndValue(
            ipptool,
            [
                "-tv",
                "-d",
                f"recipient=http://127.0.0.1:{port}/notify",
                uri,
                os.path.join(HERE, "interop", "report-ipp-notifications.test"),
            ],
            env=os.environ.copy(),
        )
        text = out.decode("utf-8", "replace")
        self.assertEqual(code, 0, text + err.decode("utf-8", "replace"))
        self.assertIn("[PASS]", text)
        self.assertIn("status-code = successful-ok", text)
        self.assertEqual(
            [e.event for e in sink.events], ["printer-stopped", "job-completed"]
        )
        self.assertEqual(sink.events[0].attributes.value("printer-name"), "front-desk")
        self.assertEqual(sink.events[1].jobId, 7)

    @inlineCallbacks
    def test_ipptoolSeesPerReportStatus(self):
        """
        When the sink does not know the subscription, ipptool sees
        successful-ok-ignored-notifications and a per-report
        client-error-not-found.
        """
        ipptool = need("ipptool")
        port, sink = self.startListener([0x0406, 0])
        path = self.mktemp() + ".test"
        with open(os.path.join(HERE, "interop", "report-ipp-notifications.test")) as f:
            test = f.read()
        test = test.replace(
            "STATUS successful-ok\n",
            "STATUS 0x0004\n\tEXPECT notification-report-status-code OF-TYPE enum\n",
        ).replace("\tEXPECT !notification-report-status-code\n", "")
        with open(path, "w") as f:
            f.write(test)
        out, err, code = yield getProcessOutputAndValue(
            ipptool,
            [
                "-tv",
                "-d",
                f"recipient=http://127.0.0.1:{port}/notify",
                f"ipp://127.0.0.1:{port}/notify",
                path,
            ],
            env=os.environ.copy(),
        )
        text = out.decode("utf-8", "replace")
        problem = text + err.decode("utf-8", "replace")
        self.assertEqual(code, 0, problem)
        self.assertIn("[PASS]", text, problem)
        self.assertIn("notification-report-status-code (enum) = ", text)


class CurlTests(ListenerFixture, TestCase):
    timeout = 60

    @inlineCallbacks
    def test_curlDataBinary(self):
        """
        curl --data-binary of a report file gets the IPP answer.
        """
        curl = need("curl")
        port, sink = self.startListener()
        body = self.mktemp()
        with open(body, "wb") as f:
            f.write(reportBody(2))
        answer = self.mktemp()
        out, err, code = yield getProcessOutputAndValue(
            curl,
            [
                "--silent",
                "--show-error",
                "--fail",
                "--data-binary",
                "@" + body,
                "-H",
                "Content-Type: application/ipp",
                "-o",
                answer,
                "-w",
                "%{http_code} %{content_type}",
                f"http://127.0.0.1:{port}/notify",
            ],
            env=os.environ.copy(),
        )
        self.assertEqual(code, 0, err)
        self.assertEqual(out, b"200 application/ipp")
        with open(answer, "rb") as f:
            message = decode(f.read())
        self.assertEqual(message.statusCode, 0)
        self.assertEqual(message.requestId, 5)
        self.assertEqual(message.groupsOf(GroupTag.EVENT_NOTIFICATION), [])
        self.assertEqual(len(sink.events), 2)

    @inlineCallbacks
    def test_curlMalformed(self):
        """
        curl posting a truncated report gets HTTP 200 with client-error-bad-request
        and a status-message naming the offset.
        """
        curl = need("curl")
        port, sink = self.startListener()
        body = self.mktemp()
        with open(body, "wb") as f:
            f.write(reportBody(1)[:50])
        answer = self.mktemp()
        out, err, code = yield getProcessOutputAndValue(
            curl,
            [
                "--silent",
                "--data-binary",
                "@" + body,
                "-H",
                "Content-Type: application/ipp",
                "-o",
                answer,
                "-w",
                "%{http_code}",
                f"http://127.0.0.1:{port}/notify",
            ],
            env=os.environ.copy(),
        )
        self.assertEqual((code, out), (0, b"200"))
        with open(answer, "rb") as f:
            message = decode(f.read())
        self.assertEqual(message.statusCode, 0x0400)
        status = message.operation.value("status-message")
        assert isinstance(status, str)
        self.assertIn("at offset", status)
        self.assertEqual(sink.events, [])
