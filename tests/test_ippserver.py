"""
The relay's IPP server: RFC 3995 subscription operations, RFC 3996
Get-Notifications (with the long poll) and Get-Printer-Attributes.

Most tests send real IPP requests through a L{NotificationSite} channel over a
L{StringTransport}, with a L{MemoryReactorClock} and a L{MemoryStore}, so that
time and octets are exact.  L{IpptoolTests} runs CUPS's ipptool with the
C{.test} files of C{tests/ipptool/} against the server on a real loopback
port.
"""

from __future__ import annotations

import datetime
import os
import shutil
from typing import Any, Dict, List, Optional, Sequence, Tuple

from twisted.internet import reactor as _reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.internet.utils import getProcessOutputAndValue
from twisted.python.failure import Failure
from twisted.trial.unittest import SkipTest, SynchronousTestCase, TestCase
from twisted.web.resource import IResource, Resource
from zope.interface.verify import verifyObject

from ipp_ntfy.ipp import (
    Attribute,
    DateTime,
    Group,
    GroupTag,
    Message,
    Range,
    ValueTag,
    decode,
    encode,
)
from ipp_ntfy.ipp.values import UNSUPPORTED
from ipp_ntfy.ippserver import (
    PRINTER_OPERATIONS,
    IppServer,
    PrinterRegistry,
)
from ipp_ntfy.listener import NotificationSite
from ipp_ntfy.manager import SubscriptionManager
from ipp_ntfy.notification import Event
from ipp_ntfy.store.memory import MemoryStore
from ipp_ntfy.store.sqlite import SQLiteStore
from ipp_ntfy.subscription import SubscriptionPolicy

from .vectors import vector

reactor: Any = _reactor
HERE = os.path.dirname(os.path.abspath(__file__))
IPPTOOL_DIR = os.path.join(HERE, "ipptool")

BASE = "ipp://relay.example:8631/ipp"
PRINTER_URI = BASE + "/printers/q"
OTHER_URI = BASE + "/printers/other"
#: 2026-11-23 12:00 UTC: where the clock starts.
START = 1795435200.0
RECEIVED = datetime.datetime(2026, 11, 23, 12, 0, 30, tzinfo=datetime.timezone.utc)

# Operation ids.
GPA = 0x000B
CREATE_PRINTER = 0x0016
CREATE_JOB = 0x0017
GET_SUBSCRIPTION_ATTRIBUTES = 0x0018
GET_SUBSCRIPTIONS = 0x0019
RENEW = 0x001A
CANCEL = 0x001B
GET_NOTIFICATIONS = 0x001C


def operationGroup(
    *attributes: Attribute,
    printerUri: Optional[str] = "ipp://localhost:8631/ipp/printers/q",
    charset: Optional[str] = "utf-8",
    language: Optional[str] = "en",
) -> Group:
    """
    An operation group: charset, language, printer-uri (each left out when
    C{None}), then C{attributes}.
    """
    group: List[Attribute] = []
    if charset is not None:
        group.append(Attribute.charset("attributes-charset", charset))
    if language is not None:
        group.append(Attribute.naturalLanguage("attributes-natural-language", language))
    if printerUri is not None:
        group.append(Attribute.uri("printer-uri", printerUri))
    group.extend(attributes)
    return Group(GroupTag.OPERATION, group)


def requestBody(
    operationId: int,
    *attributes: Attribute,
    groups: Sequence[Group] = (),
    version: Tuple[int, int] = (2, 0),
    requestId: int = 7,
    operation: Optional[Group] = None,
) -> bytes:
    if operation is None:
        operation = operationGroup(*attributes)
    return encode(Message(version, operationId, requestId, [operation, *groups]))


def template(*attributes: Attribute) -> Group:
    return Group(GroupTag.SUBSCRIPTION, attributes)


def pullTemplate(*more: Attribute) -> Group:
    return template(
        Attribute.keyword("notify-pull-method", "ippget"),
        Attribute.keyword("notify-events", "printer-state-changed", "job-completed"),
        *more,
    )


def httpRequest(body: bytes, path: bytes, contentType: bytes) -> bytes:
    return (
        b"POST %s HTTP/1.1\r\nHost: relay.example\r\nContent-Type: %s\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (path, contentType, len(body), body)
    )


def parseResponse(data: bytes) -> Tuple[int, Dict[bytes, bytes], bytes]:
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers[b"content-length"])
    assert len(rest) == length, (len(rest), length)
    return int(lines[0].split()[1]), headers, rest


def groupsOf(message: Message, tag: int) -> Sequence[Group]:
    return message.groupsOf(tag)


class ServerMixin:
    """
    An L{IppServer} at C{/ipp} of a L{NotificationSite}, with printers C{q} and
    C{other}, driven over one HTTP connection.
    """

    def setUpServer(self, **kwargs: Any) -> None:
        self.clock = MemoryReactorClock()
        self.clock.advance(START)
        self.store = MemoryStore()
        self.manager = SubscriptionManager(self.store, self.clock)
        self.printers = PrinterRegistry(["q", "other"])
        kwargs.setdefault("startedAt", START - 100)
        self.server = IppServer(
            self.manager, self.printers, baseUri=BASE, clock=self.clock, **kwargs
        )
        root = Resource()
        root.putChild(b"ipp", self.server)
        # No idle timeout: tests move the clock by hours between requests.
        self.site = NotificationSite(root, idleTimeout=1e9, reactor=self.clock)
        self.connect()

    def connect(self) -> None:
        self.channel = self.site.buildProtocol(None)
        self.transport = StringTransport()
        self.channel.makeConnection(self.transport)

    def send(
        self,
        body: bytes,
        path: bytes = b"/ipp/printers/q",
        contentType: bytes = b"application/ipp",
    ) -> None:
        self.transport.clear()
        self.channel.dataReceived(httpRequest(body, path, contentType))

    def http(self) -> Tuple[int, Dict[bytes, bytes], bytes]:
        return parseResponse(self.transport.value())

    def answered(self) -> Message:
        status, headers, body = self.http()
        assert status == 200, (status, body)
        assert headers[b"content-type"] == b"application/ipp", headers
        return decode(body)

    def post(self, body: bytes, path: bytes = b"/ipp/printers/q") -> Message:
        self.send(body, path)
        return self.answered()

    def call(
        self,
        operationId: int,
        *attributes: Attribute,
        groups: Sequence[Group] = (),
        path: bytes = b"/ipp/printers/q",
        version: Tuple[int, int] = (2, 0),
    ) -> Message:
        return self.post(
            requestBody(operationId, *attributes, groups=groups, version=version),
            path,
        )

    def createPull(self, path: bytes = b"/ipp/printers/q", *more: Attribute) -> int:
        response = self.call(CREATE_PRINTER, groups=[pullTemplate(*more)], path=path)
        assert response.statusCode == 0, response
        value = groupsOf(response, GroupTag.SUBSCRIPTION)[0].value(
            "notify-subscription-id"
        )
        assert isinstance(value, int)
        return value

    def createPerJob(self, jobId: int, *events: str) -> int:
        response = self.call(
            CREATE_JOB,
            Attribute.integer("notify-job-id", jobId),
            groups=[
                template(
                    Attribute.keyword("notify-pull-method", "ippget"),
                    Attribute.keyword("notify-events", *(events or ("job-completed",))),
                )
            ],
        )
        assert response.statusCode == 0, response
        value = groupsOf(response, GroupTag.SUBSCRIPTION)[0].value(
            "notify-subscription-id"
        )
        assert isinstance(value, int)
        return value

    def publish(
        self,
        kind: str = "printer-stopped",
        printerUri: str = PRINTER_URI,
        jobId: Optional[int] = None,
        jobState: Optional[int] = None,
        n: int = 1,
    ) -> List[Tuple[int, int]]:
        event = Event(
            source="upstream",
            subscriptionId=99,
            sequenceNumber=n,
            event=kind,
            printerUri=printerUri,
            jobId=jobId,
            jobState=jobState,
            jobStateReasons=("job-completed-successfully",) if jobState else (),
            printerState=None if jobId else 5,
            printerStateReasons=() if jobId else ("paused",),
            printerUpTime=5000 + n,
            receivedAt=RECEIVED,
            text=f"event {n}",
        )
        d = self.manager.publish(event)
        result: List[Tuple[int, int]] = []
        d.addCallback(result.extend)
        return result


def status(message: Message) -> int:
    return message.statusCode


def operationValue(message: Message, name: str) -> object:
    return message.operation.value(name)


# -- the HTTP layer ----------------------------------------------------------------


class RegistryTests(SynchronousTestCase):
    def test_addRemoveNames(self) -> None:
        registry = PrinterRegistry(["b", "a"])
        registry.add("c")
        registry.add("a")
        self.assertEqual(registry.names(), ["a", "b", "c"])
        self.assertEqual(list(registry), ["a", "b", "c"])
        self.assertEqual(len(registry), 3)
        registry.remove("b")
        self.assertNotIn("b", registry)
        self.assertIn("a", registry)
        self.assertRaises(KeyError, registry.remove, "b")

    def test_badNames(self) -> None:
        for name in ("", "a/b", ".", "..", "x\n", "n" * 256):
            self.assertRaises(ValueError, PrinterRegistry, [name])


class ConstructorTests(SynchronousTestCase):
    def manager(self) -> SubscriptionManager:
        return SubscriptionManager(MemoryStore(), Clock())

    def test_eventLifeAtLeast15(self) -> None:
        """
        ippget-event-life is integer(15:MAX) (RFC 3996 section 8.1).
        """
        self.assertRaises(
            ValueError,
            IppServer,
            self.manager(),
            set(),
            baseUri=BASE,
            clock=Clock(),
            eventLife=14,
        )

    def test_getIntervalAtLeastEventLife(self) -> None:
        self.assertRaises(
            ValueError,
            IppServer,
            self.manager(),
            set(),
            baseUri=BASE,
            clock=Clock(),
            eventLife=60,
            getInterval=30,
        )
        server = IppServer(self.manager(), set(), baseUri=BASE, clock=Clock())
        self.assertEqual(server.getInterval, 60)

    def test_badMaxWaitAndBaseUri(self) -> None:
        self.assertRaises(
            ValueError,
            IppServer,
            self.manager(),
            set(),
            baseUri=BASE,
            clock=Clock(),
            maxWait=0,
        )
        self.assertRaises(
            ValueError, IppServer, self.manager(), set(), baseUri="/ipp", clock=Clock()
        )

    def test_printerUri(self) -> None:
        server = IppServer(self.manager(), set(), baseUri=BASE + "/", clock=Clock())
        self.assertEqual(server.printerUri("q"), PRINTER_URI)
        self.assertEqual(server.printerUri("a b"), BASE + "/printers/a%20b")

    def test_policyDefaultsToTheManagers(self) -> None:
        policy = SubscriptionPolicy(maxEvents=5)
        manager = SubscriptionManager(MemoryStore(), Clock(), policy)
        server = IppServer(manager, set(), baseUri=BASE, clock=Clock())
        self.assertIs(server.policy, policy)


class HTTPTests(ServerMixin, SynchronousTestCase):
    def setUp(self) -> None:
        self.setUpServer()

    def test_verifyResource(self) -> None:
        self.assertTrue(verifyObject(IResource, self.server))

    def test_answer(self) -> None:
        """
        An IPP response as application/ipp with a Content-Length; the
        connection stays open for the next request.
        """
        self.send(requestBody(GPA))
        status, headers, body = self.http()
        self.assertEqual(status, 200)
        self.assertEqual(headers[b"content-type"], b"application/ipp")
        self.assertEqual(int(headers[b"content-length"]), len(body))
        self.assertEqual(decode(body).statusCode, 0)
        self.assertFalse(self.transport.disconnecting)
        self.assertEqual(self.post(requestBody(GPA)).statusCode, 0)

    def test_otherMethods(self) -> None:
        for method in (b"GET", b"HEAD"):
            self.transport.clear()
            self.channel.dataReceived(
                method + b" /ipp/printers/q HTTP/1.1\r\nHost: relay.example\r\n\r\n"
            )
            value = self.transport.value()
            self.assertTrue(value.startswith(b"HTTP/1.1 405 "), value)
            allow = [
                line for line in value.split(b"\r\n") if line.startswith(b"Allow:")
            ]
            self.assertEqual(len(allow), 1, value)
            self.assertIn(b"POST", allow[0])

    def test_wrongContentType(self) -> None:
        self.send(requestBody(GPA), contentType=b"text/plain")
        status, _, body = self.http()
        self.assertEqual(status, 415)
        self.assertIn(b"application/ipp", body)

    def test_contentTypeParameters(self) -> None:
        self.send(requestBody(GPA), contentType=b"Application/IPP; charset=x")
        self.assertEqual(self.answered().statusCode, 0)

    def test_shortBody(self) -> None:
        """
        A body too short for an IPP header gets HTTP 400: there is nothing to
        answer in IPP.
        """
        self.send(b"\x02\x00\x00\x0b")
        status, _, body = self.http()
        self.assertEqual(status, 400)
        self.assertIn(b"shorter than its header", body)

    def test_malformed(self) -> None:
        """
        A malformed message gets client-error-bad-request with a status-message
        naming the offset, and the request's version and request-id.
        """
        body = requestBody(GPA, requestId=31)[:-1]
        response = self.post(body)
        self.assertEqual(response.statusCode, 0x0400)
        self.assertEqual(response.requestId, 31)
        self.assertEqual(response.version, (2, 0))
        message = operationValue(response, "status-message")
        assert isinstance(message, str)
        self.assertIn(f"at offset {len(body)}", message)
        self.assertEqual(
            [a.name for a in response.operation][:2],
            ["attributes-charset", "attributes-natural-language"],
        )


class RequestTests(ServerMixin, SynchronousTestCase):
    """
    What every request is checked for: version, operation, target,
    charset and natural language.
    """

    def setUp(self) -> None:
        self.setUpServer()

    def test_versionsEchoed(self) -> None:
        for version in ((1, 1), (2, 0), (2, 1), (2, 2)):
            response = self.call(GPA, version=version)
            self.assertEqual(response.statusCode, 0, version)
            self.assertEqual(response.version, version)
            self.assertEqual(response.requestId, 7)

    def test_unsupportedVersion(self) -> None:
        """
        IPP/1.0 and unknown versions get server-error-version-not-supported,
        in the request's version (ipptool checks that the version matches).
        """
        for version in ((1, 0), (3, 0), (2, 3), (0, 0)):
            response = self.call(GPA, version=version)
            self.assertEqual(response.statusCode, 0x0503, version)
            self.assertEqual(response.version, version)
            self.assertEqual(response.requestId, 7)
            self.assertEqual(response.groups[1:], ())

    def test_unknownOperation(self) -> None:
        for operationId in (0x0002, 0x0005, 0x001D, 0x4001, 0x7FFF):
            response = self.call(operationId)
            self.assertEqual(response.statusCode, 0x0501, hex(operationId))
            self.assertIn(
                "not supported", str(operationValue(response, "status-message"))
            )

    def test_printJobVector(self) -> None:
        """
        ipptool's Print-Job (with document data) is not for the relay.
        """
        response = self.post(
            vector("ipptool-2.4.2-print-job-with-subscription-request.ipp")
        )
        self.assertEqual(response.statusCode, 0x0501)
        self.assertEqual(response.requestId, 128096)

    def test_unknownPrinter(self) -> None:
        for path in (b"/ipp/printers/nosuch", b"/ipp/printers", b"/ipp/jobs/1"):
            response = self.call(GPA, path=path)
            self.assertEqual(response.statusCode, 0x0406, path)

    def test_printerAddedLater(self) -> None:
        self.assertEqual(self.call(GPA, path=b"/ipp/printers/new").statusCode, 0x0406)
        self.printers.add("new")
        self.assertEqual(self.call(GPA, path=b"/ipp/printers/new").statusCode, 0)
        self.printers.remove("new")
        self.assertEqual(self.call(GPA, path=b"/ipp/printers/new").statusCode, 0x0406)

    def test_plainSetOfPrinters(self) -> None:
        """
        A plain set of names works as the registry, and is kept by reference.
        """
        names = {"q"}
        server = IppServer(self.manager, names, baseUri=BASE, clock=self.clock)
        names.add("late")
        d = server.answer(requestBody(GPA), [b"printers", b"late"])
        code, _, body = self.successResultOf(d)
        self.assertEqual((code, decode(body).statusCode), (200, 0))

    def test_trailingSlashAndEscapes(self) -> None:
        self.printers.add("front desk")
        self.assertEqual(self.call(GPA, path=b"/ipp/printers/q/").statusCode, 0)
        response = self.call(GPA, path=b"/ipp/printers/front%20desk")
        self.assertEqual(response.statusCode, 0)
        printer = response.group(GroupTag.PRINTER)
        assert printer is not None
        self.assertEqual(printer.value("printer-name"), "front desk")

    def test_missingCharset(self) -> None:
        response = self.post(requestBody(GPA, operation=operationGroup(charset=None)))
        self.assertEqual(response.statusCode, 0x0400)
        self.assertIn(
            "attributes-charset", str(operationValue(response, "status-message"))
        )

    def test_missingLanguage(self) -> None:
        response = self.post(requestBody(GPA, operation=operationGroup(language=None)))
        self.assertEqual(response.statusCode, 0x0400)
        self.assertIn(
            "attributes-natural-language",
            str(operationValue(response, "status-message")),
        )

    def test_misplacedCharsetAndLanguage(self) -> None:
        """
        Natural language before charset is a bad request (RFC 8011 section
        4.1.4), and so is a charset that is not the first attribute.
        """
        swapped = Group(
            GroupTag.OPERATION,
            [
                Attribute.naturalLanguage("attributes-natural-language", "en"),
                Attribute.charset("attributes-charset", "utf-8"),
                Attribute.uri("printer-uri", PRINTER_URI),
            ],
        )
        self.assertEqual(
            self.post(requestBody(GPA, operation=swapped)).statusCode, 0x0400
        )
        late = Group(
            GroupTag.OPERATION,
            [
                Attribute.uri("printer-uri", PRINTER_URI),
                Attribute.charset("attributes-charset", "utf-8"),
                Attribute.naturalLanguage("attributes-natural-language", "en"),
            ],
        )
        self.assertEqual(self.post(requestBody(GPA, operation=late)).statusCode, 0x0400)

    def test_charsetWithWrongSyntax(self) -> None:
        group = Group(
            GroupTag.OPERATION,
            [
                Attribute.keyword("attributes-charset", "utf-8"),
                Attribute.naturalLanguage("attributes-natural-language", "en"),
                Attribute.uri("printer-uri", PRINTER_URI),
            ],
        )
        self.assertEqual(
            self.post(requestBody(GPA, operation=group)).statusCode, 0x0400
        )

    def test_noOperationGroup(self) -> None:
        body = encode(Message((2, 0), GPA, 3, [pullTemplate()]))
        self.assertEqual(self.post(body).statusCode, 0x0400)
        body = encode(Message((2, 0), GPA, 3, []))
        self.assertEqual(self.post(body).statusCode, 0x0400)

    def test_twoOperationGroups(self) -> None:
        body = encode(Message((2, 0), GPA, 3, [operationGroup(), operationGroup()]))
        self.assertEqual(self.post(body).statusCode, 0x0400)

    def test_charsetEchoed(self) -> None:
        """
        The response is in the request's charset.
        """
        response = self.post(
            requestBody(GPA, operation=operationGroup(charset="us-ascii"))
        )
        self.assertEqual(response.statusCode, 0)
        self.assertEqual(operationValue(response, "attributes-charset"), "us-ascii")

    def test_unsupportedCharset(self) -> None:
        response = self.post(
            requestBody(GPA, operation=operationGroup(charset="iso-8859-1"))
        )
        self.assertEqual(response.statusCode, 0x040D)
        self.assertEqual(operationValue(response, "attributes-charset"), "utf-8")

    def test_missingPrinterUri(self) -> None:
        response = self.post(
            requestBody(GPA, operation=operationGroup(printerUri=None))
        )
        self.assertEqual(response.statusCode, 0x0400)
        self.assertIn("printer-uri", str(operationValue(response, "status-message")))

    def test_printerUriNotCompared(self) -> None:
        """
        The HTTP path decides the target; printer-uri may name the relay by
        another host name.
        """
        response = self.post(
            requestBody(GPA, operation=operationGroup(printerUri="ipp://10.0.0.1/x"))
        )
        self.assertEqual(response.statusCode, 0)

    def test_unsupportedOperationAttribute(self) -> None:
        """
        An operation attribute the operation does not support comes back in
        the unsupported attributes group, out-of-band 'unsupported', and
        successful-ok becomes successful-ok-ignored-or-substituted-attributes.
        """
        response = self.call(GPA, Attribute.keyword("which-jobs", "completed"))
        self.assertEqual(response.statusCode, 0x0001)
        [unsupported] = groupsOf(response, GroupTag.UNSUPPORTED)
        self.assertEqual(
            list(unsupported),
            [Attribute.of("which-jobs", ValueTag.UNSUPPORTED, UNSUPPORTED)],
        )
        self.assertEqual(
            [g.tag for g in response.groups],
            [GroupTag.OPERATION, GroupTag.UNSUPPORTED, GroupTag.PRINTER],
        )

    def test_requestingUserNameAndDocumentFormatSupported(self) -> None:
        response = self.call(
            GPA,
            Attribute.nameValue("requesting-user-name", "ann"),
            Attribute.mimeMediaType("document-format", "application/pdf"),
        )
        self.assertEqual(response.statusCode, 0)
        self.assertEqual(groupsOf(response, GroupTag.UNSUPPORTED), [])

    def test_systemObject(self) -> None:
        """
        /ipp/ has no Get-Printer-Attributes and no Create-*-Subscriptions.
        """
        for path in (b"/ipp/", b"/ipp"):
            self.assertEqual(self.call(GPA, path=path).statusCode, 0x0501)
            response = self.call(CREATE_PRINTER, groups=[pullTemplate()], path=path)
            self.assertEqual(response.statusCode, 0x0501)
            self.assertEqual(groupsOf(response, GroupTag.SUBSCRIPTION), [])
            response = self.call(GET_SUBSCRIPTIONS, path=path)
            self.assertEqual(response.statusCode, 0)

    def test_internalError(self) -> None:
        """
        An unexpected failure is server-error-internal-error, logged.
        """

        def broken(*args: object, **kwargs: object) -> object:
            raise RuntimeError("boom")

        self.patch(self.manager, "get", broken)
        response = self.call(
            GET_SUBSCRIPTION_ATTRIBUTES, Attribute.integer("notify-subscription-id", 1)
        )
        self.assertEqual(response.statusCode, 0x0500)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)


# -- Get-Printer-Attributes -----------------------------------------------------------


class GetPrinterAttributesTests(ServerMixin, SynchronousTestCase):
    def setUp(self) -> None:
        self.setUpServer()

    def printer(self, *requested: str) -> Group:
        attributes = []
        if requested:
            attributes.append(Attribute.keyword("requested-attributes", *requested))
        response = self.call(GPA, *attributes)
        self.assertEqual(response.statusCode, 0)
        self.assertEqual(
            [g.tag for g in response.groups], [GroupTag.OPERATION, GroupTag.PRINTER]
        )
        group = response.group(GroupTag.PRINTER)
        assert group is not None
        return group

    def test_all(self) -> None:
        printer = self.printer()
        self.assertEqual(printer, self.printer("all"))
        expected = {
            "printer-uri-supported": (ValueTag.URI, [PRINTER_URI]),
            "uri-security-supported": (ValueTag.KEYWORD, ["none"]),
            "uri-authentication-supported": (ValueTag.KEYWORD, ["none"]),
            "printer-name": (ValueTag.NAME, ["q"]),
            "printer-state": (ValueTag.ENUM, [3]),
            "printer-state-reasons": (ValueTag.KEYWORD, ["none"]),
            "printer-is-accepting-jobs": (ValueTag.BOOLEAN, [False]),
            "printer-up-time": (ValueTag.INTEGER, [100]),
            "operations-supported": (ValueTag.ENUM, list(PRINTER_OPERATIONS)),
            "charset-configured": (ValueTag.CHARSET, ["utf-8"]),
            "charset-supported": (ValueTag.CHARSET, ["utf-8", "us-ascii"]),
            "natural-language-configured": (ValueTag.NATURAL_LANGUAGE, ["en"]),
            "generated-natural-language-supported": (ValueTag.NATURAL_LANGUAGE, ["en"]),
            "ipp-versions-supported": (ValueTag.KEYWORD, ["1.1", "2.0", "2.1", "2.2"]),
            "notify-schemes-supported": (
                ValueTag.URI_SCHEME,
                ["http", "https", "ipp", "ipps", "indp"],
            ),
            "notify-pull-method-supported": (ValueTag.KEYWORD, ["ippget"]),
            "notify-events-default": (ValueTag.KEYWORD, ["job-completed"]),
            "notify-max-events-supported": (ValueTag.INTEGER, [30]),
            "notify-lease-duration-default": (ValueTag.INTEGER, [86400]),
            "notify-lease-duration-supported": (
                ValueTag.RANGE_OF_INTEGER,
                [Range(0, 67108863)],
            ),
            "ippget-event-life": (ValueTag.INTEGER, [60]),
        }
        for name, (tag, values) in expected.items():
            attribute = printer[name]
            self.assertEqual(set(attribute.tags), {tag}, name)
            self.assertEqual(list(attribute.values), values, name)
        self.assertEqual(
            printer.value("printer-current-time"),
            DateTime(2026, 11, 23, 12, 0, 0, 0, "+", 0, 0),
        )
        events = printer["notify-events-supported"].values
        self.assertEqual(
            events[:4],
            (
                "printer-state-changed",
                "printer-restarted",
                "printer-shutdown",
                "printer-stopped",
            ),
        )
        self.assertIn("job-completed", events)
        self.assertNotIn("all", events)
        self.assertNotIn("notify-get-interval", printer)
        self.assertEqual(len(set(printer.names())), len(printer.names()))

    def test_upTimeCounts(self) -> None:
        self.clock.advance(25)
        self.assertEqual(self.printer("printer-up-time").value("printer-up-time"), 125)

    def test_upTimeAtLeastOne(self) -> None:
        self.setUpServer(startedAt=START)
        self.assertEqual(self.printer("printer-up-time").value("printer-up-time"), 1)

    def test_requested(self) -> None:
        printer = self.printer("printer-name", "printer-state", "media-col-database")
        self.assertEqual(printer.names(), ["printer-name", "printer-state"])

    def test_subscriptionTemplate(self) -> None:
        printer = self.printer("subscription-template")
        self.assertEqual(
            sorted(printer.names()),
            sorted(
                [
                    "charset-supported",
                    "generated-natural-language-supported",
                    "notify-schemes-supported",
                    "notify-pull-method-supported",
                    "notify-events-default",
                    "notify-events-supported",
                    "notify-max-events-supported",
                    "notify-lease-duration-default",
                    "notify-lease-duration-supported",
                ]
            ),
        )

    def test_printerDescription(self) -> None:
        self.assertEqual(self.printer("printer-description"), self.printer("all"))

    def test_secureBaseUriAndPolicy(self) -> None:
        """
        An ipps base URI says tls; the policy decides the notify-* values.
        """
        self.manager.policy = SubscriptionPolicy(
            schemesSupported=("https",),
            maxEvents=4,
            leaseDefault=600,
            leaseMaximum=3600,
            allowForeverLease=False,
            eventsSupported=frozenset({"job-completed", "printer-stopped", "all"}),
        )
        server = IppServer(
            self.manager, {"q"}, baseUri="ipps://relay.example/ipp", clock=self.clock
        )
        attributes = {a.name: a for a in server.printerAttributes("q")}
        self.assertEqual(
            attributes["printer-uri-supported"].values,
            ("ipps://relay.example/ipp/printers/q",),
        )
        self.assertEqual(attributes["uri-security-supported"].values, ("tls",))
        self.assertEqual(attributes["notify-schemes-supported"].values, ("https",))
        self.assertEqual(
            attributes["notify-events-supported"].values,
            ("printer-stopped", "job-completed"),
        )
        self.assertEqual(attributes["notify-max-events-supported"].values, (4,))
        self.assertEqual(attributes["notify-lease-duration-default"].values, (600,))
        self.assertEqual(
            attributes["notify-lease-duration-supported"].values, (Range(1, 3600),)
        )

    def test_ipptoolVector(self) -> None:
        """
        ipptool's captured Get-Printer-Attributes request (requested-attributes
        all, media-col-database).
        """
        response = self.post(vector("ipptool-2.4.2-get-printer-attributes-request.ipp"))
        self.assertEqual(response.statusCode, 0)
        self.assertEqual(response.requestId, 80146)
        printer = response.group(GroupTag.PRINTER)
        assert printer is not None
        self.assertIn("notify-schemes-supported", printer)


# -- Create-Printer-Subscriptions and Create-Job-Subscriptions -------------------------


class CreateSubscriptionsTests(ServerMixin, SynchronousTestCase):
    def setUp(self) -> None:
        self.setUpServer()

    def test_pull(self) -> None:
        """
        One subscription group per template: its id and granted lease; the
        subscription is filed under the printer object's own URI.
        """
        response = self.call(
            CREATE_PRINTER,
            Attribute.nameValue("requesting-user-name", "ann"),
            groups=[pullTemplate(Attribute.integer("notify-lease-duration", 3600))],
        )
        self.assertEqual(response.statusCode, 0)
        self.assertEqual(
            [g.tag for g in response.groups],
            [GroupTag.OPERATION, GroupTag.SUBSCRIPTION],
        )
        [group] = groupsOf(response, GroupTag.SUBSCRIPTION)
        self.assertEqual(
            list(group),
            [
                Attribute.integer("notify-subscription-id", 1),
                Attribute.integer("notify-lease-duration", 3600),
            ],
        )
        subscription = self.successResultOf(self.manager.get(1))
        self.assertEqual(subscription.printerUri, PRINTER_URI)
        self.assertEqual(subscription.pullMethod, "ippget")
        self.assertEqual(subscription.subscriberUserName, "ann")
        self.assertEqual(subscription.leaseExpiresAt, START + 3600)

    def test_push(self) -> None:
        response = self.call(
            CREATE_PRINTER,
            groups=[
                template(
                    Attribute.uri("notify-recipient-uri", "https://app.example/e"),
                    Attribute.keyword("notify-events", "printer-stopped"),
                )
            ],
        )
        self.assertEqual(response.statusCode, 0)
        [group] = groupsOf(response, GroupTag.SUBSCRIPTION)
        self.assertEqual(group.value("notify-lease-duration"), 86400)
        subscription = self.successResultOf(self.manager.get(1))
        self.assertEqual(subscription.recipientUri, "https://app.example/e")

    def test_everyPushScheme(self) -> None:
        for scheme in ("http", "https", "ipp", "ipps", "indp"):
            response = self.call(
                CREATE_PRINTER,
                groups=[
                    template(Attribute.uri("notify-recipient-uri", f"{scheme}://a/b"))
                ],
            )
            self.assertEqual(response.statusCode, 0, scheme)

    def test_eventsReachTheSubscription(self) -> None:
        """
        Events published on the printer object reach a subscription made
        through another host name for the relay.
        """
        self.createPull()
        self.assertEqual(self.publish("printer-stopped"), [(1, 1)])
        self.assertEqual(self.publish("printer-stopped", printerUri=OTHER_URI), [])

    def test_unsupportedScheme(self) -> None:
        """
        An unsupported scheme: not created, notify-status-code 0x040C in its
        group with the recipient echoed; none created is
        client-error-ignored-all-subscriptions.
        """
        recipient = Attribute.uri("notify-recipient-uri", "mailto:ann@example.com")
        response = self.call(CREATE_PRINTER, groups=[template(recipient)])
        self.assertEqual(response.statusCode, 0x0414)
        [group] = groupsOf(response, GroupTag.SUBSCRIPTION)
        self.assertEqual(
            list(group), [recipient, Attribute.enum("notify-status-code", 0x040C)]
        )
        self.assertEqual(self.successResultOf(self.manager.list()), [])

    def test_someCreated(self) -> None:
        """
        One group per template, in order: successful-ok-ignored-subscriptions.
        """
        response = self.call(
            CREATE_PRINTER,
            groups=[
                pullTemplate(),
                template(Attribute.uri("notify-recipient-uri", "nosuch://x/y")),
                template(Attribute.keyword("notify-pull-method", "rss")),
            ],
        )
        self.assertEqual(response.statusCode, 0x0003)
        groups = groupsOf(response, GroupTag.SUBSCRIPTION)
        self.assertEqual(len(groups), 3)
        self.assertEqual(groups[0].value("notify-subscription-id"), 1)
        self.assertNotIn("notify-status-code", groups[0])
        self.assertEqual(groups[1].value("notify-status-code"), 0x040C)
        self.assertEqual(groups[2].value("notify-status-code"), 0x040B)
        self.assertNotIn("notify-subscription-id", groups[1])

    def test_missingRecipientAndPullMethod(self) -> None:
        """
        A template with neither notify-recipient-uri nor notify-pull-method
        fails the whole request with client-error-bad-request and no
        subscription groups; nothing is created, not even for a good group
        before it.
        """
        response = self.call(
            CREATE_PRINTER,
            groups=[
                pullTemplate(),
                template(Attribute.keyword("notify-events", "printer-stopped")),
            ],
        )
        self.assertEqual(response.statusCode, 0x0400)
        self.assertEqual(groupsOf(response, GroupTag.SUBSCRIPTION), [])
        self.assertIn(
            "notify-recipient-uri", str(operationValue(response, "status-message"))
        )
        self.assertEqual(self.successResultOf(self.manager.list()), [])

    def test_bothRecipientAndPullMethod(self) -> None:
        response = self.call(
            CREATE_PRINTER,
            groups=[pullTemplate(Attribute.uri("notify-recipient-uri", "http://a/b"))],
        )
        self.assertEqual(response.statusCode, 0x0400)
        self.assertEqual(groupsOf(response, GroupTag.SUBSCRIPTION), [])

    def test_noTemplate(self) -> None:
        response = self.call(CREATE_PRINTER)
        self.assertEqual(response.statusCode, 0x0400)

    def test_substitutedAttributes(self) -> None:
        """
        An unknown template attribute comes back 'unsupported' in its group,
        with notify-status-code 0x0001; the subscription is created.
        """
        response = self.call(
            CREATE_PRINTER,
            groups=[pullTemplate(Attribute.keyword("notify-colour", "blue"))],
        )
        self.assertEqual(response.statusCode, 0)
        [group] = groupsOf(response, GroupTag.SUBSCRIPTION)
        self.assertEqual(group.value("notify-subscription-id"), 1)
        self.assertEqual(group["notify-colour"].tags, (ValueTag.UNSUPPORTED,))
        self.assertEqual(group.value("notify-status-code"), 0x0001)

    def test_jobIdInCreatePrinterSubscriptions(self) -> None:
        """
        notify-job-id is not an operation attribute of
        Create-Printer-Subscriptions: it goes to the unsupported group (RFC 3995
        section 11.1.2).
        """
        response = self.call(
            CREATE_PRINTER,
            Attribute.integer("notify-job-id", 4),
            groups=[pullTemplate()],
        )
        self.assertEqual(response.statusCode, 0x0001)
        [unsupported] = groupsOf(response, GroupTag.UNSUPPORTED)
        self.assertEqual(unsupported["notify-job-id"].tags, (ValueTag.UNSUPPORTED,))
        subscription = self.successResultOf(self.manager.get(1))
        self.assertIsNone(subscription.jobId)

    def test_tooMany(self) -> None:
        self.manager.policy = SubscriptionPolicy(maxSubscriptions=1)
        self.createPull()
        response = self.call(CREATE_PRINTER, groups=[pullTemplate()])
        self.assertEqual(response.statusCode, 0x0414)
        [group] = groupsOf(response, GroupTag.SUBSCRIPTION)
        self.assertEqual(group.value("notify-status-code"), 0x0415)

    def test_createJobSubscriptions(self) -> None:
        """
        Any job id is accepted (the job is upstream): a per-job subscription,
        with no lease.
        """
        response = self.call(
            CREATE_JOB,
            Attribute.integer("notify-job-id", 1234),
            groups=[pullTemplate()],
        )
        self.assertEqual(response.statusCode, 0)
        [group] = groupsOf(response, GroupTag.SUBSCRIPTION)
        self.assertEqual(list(group), [Attribute.integer("notify-subscription-id", 1)])
        subscription = self.successResultOf(self.manager.get(1))
        self.assertEqual(subscription.jobId, 1234)
        self.assertIsNone(subscription.leaseDuration)

    def test_createJobSubscriptionsLeaseUnsupported(self) -> None:
        response = self.call(
            CREATE_JOB,
            Attribute.integer("notify-job-id", 5),
            groups=[pullTemplate(Attribute.integer("notify-lease-duration", 60))],
        )
        self.assertEqual(response.statusCode, 0)
        [group] = groupsOf(response, GroupTag.SUBSCRIPTION)
        self.assertEqual(group["notify-lease-duration"].tags, (ValueTag.UNSUPPORTED,))
        self.assertEqual(group.value("notify-status-code"), 0x0001)

    def test_createJobSubscriptionsNeedsJobId(self) -> None:
        response = self.call(CREATE_JOB, groups=[pullTemplate()])
        self.assertEqual(response.statusCode, 0x0400)
        self.assertEqual(groupsOf(response, GroupTag.SUBSCRIPTION), [])
        self.assertIn("notify-job-id", str(operationValue(response, "status-message")))
        response = self.call(
            CREATE_JOB, Attribute.integer("notify-job-id", 0), groups=[pullTemplate()]
        )
        self.assertEqual(response.statusCode, 0x0400)
        response = self.call(
            CREATE_JOB, Attribute.keyword("notify-job-id", "x"), groups=[pullTemplate()]
        )
        self.assertEqual(response.statusCode, 0x0400)

    def test_ipptoolVectors(self) -> None:
        """
        The captured ipptool requests: pull with all events, push to a scheme
        the relay does not have, per-job with notify-job-id in the template
        group (where ipptool and CUPS put it).
        """
        response = self.post(
            vector("ipptool-2.4.2-create-printer-subscriptions-request.ipp"),
            b"/ipp/printers/q",
        )
        self.assertEqual((response.statusCode, response.requestId), (0, 106861))
        [group] = groupsOf(response, GroupTag.SUBSCRIPTION)
        self.assertEqual(group.value("notify-subscription-id"), 1)
        self.assertEqual(group.value("notify-lease-duration"), 3600)

        response = self.post(
            vector("ipptool-2.4.2-create-printer-subscriptions-push-request.ipp")
        )
        self.assertEqual(response.statusCode, 0x0414)
        [group] = groupsOf(response, GroupTag.SUBSCRIPTION)
        self.assertEqual(group.value("notify-status-code"), 0x040C)

        response = self.post(
            vector("ipptool-2.4.2-create-job-subscriptions-request.ipp")
        )
        self.assertEqual(response.statusCode, 0)
        [group] = groupsOf(response, GroupTag.SUBSCRIPTION)
        self.assertEqual(list(group), [Attribute.integer("notify-subscription-id", 2)])
        subscription = self.successResultOf(self.manager.get(2))
        self.assertEqual(subscription.jobId, 1)
        self.assertEqual(subscription.userData, b"job-sub")
        self.assertEqual(subscription.subscriberUserName, "harness")


# -- Get-Subscription-Attributes and Get-Subscriptions ---------------------------------


class GetSubscriptionAttributesTests(ServerMixin, SynchronousTestCase):
    def setUp(self) -> None:
        self.setUpServer()

    def get(
        self, subscriptionId: int, *more: Attribute, path: bytes = b"/ipp/printers/q"
    ) -> Message:
        return self.call(
            GET_SUBSCRIPTION_ATTRIBUTES,
            Attribute.integer("notify-subscription-id", subscriptionId),
            *more,
            path=path,
        )

    def test_all(self) -> None:
        self.createPull(
            b"/ipp/printers/q", Attribute.octetString("notify-user-data", b"u")
        )
        self.clock.advance(10)
        response = self.get(1)
        self.assertEqual(response.statusCode, 0)
        [group] = groupsOf(response, GroupTag.SUBSCRIPTION)
        self.assertEqual(group.value("notify-subscription-id"), 1)
        self.assertEqual(group.value("notify-printer-uri"), PRINTER_URI)
        self.assertEqual(group.value("notify-pull-method"), "ippget")
        self.assertEqual(
            group["notify-events"].values, ("printer-state-changed", "job-completed")
        )
        self.assertEqual(group.value("notify-user-data"), b"u")
        self.assertEqual(group.value("notify-lease-duration"), 86400)
        # Lease from START, printer-up-time from START - 100.
        self.assertEqual(group.value("notify-lease-expiration-time"), 86500)
        self.assertEqual(group.value("notify-printer-up-time"), 110)
        self.assertEqual(group.value("notify-subscriber-user-name"), "anonymous")
        self.assertEqual(group.value("notify-sequence-number"), 0)

    def test_requested(self) -> None:
        self.createPull()
        response = self.get(
            1,
            Attribute.keyword(
                "requested-attributes", "notify-events", "notify-sequence-number"
            ),
        )
        [group] = groupsOf(response, GroupTag.SUBSCRIPTION)
        self.assertEqual(group.names(), ["notify-events", "notify-sequence-number"])

    def test_unknown(self) -> None:
        response = self.get(99)
        self.assertEqual(response.statusCode, 0x0406)
        self.assertEqual(response.groups[1:], ())

    def test_otherPrintersSubscription(self) -> None:
        """
        On printer q, a subscription of printer other is not found; the system
        object finds it.
        """
        self.createPull(b"/ipp/printers/other")
        self.assertEqual(self.get(1).statusCode, 0x0406)
        self.assertEqual(self.get(1, path=b"/ipp/printers/other").statusCode, 0)
        self.assertEqual(self.get(1, path=b"/ipp/").statusCode, 0)

    def test_missingOrBadId(self) -> None:
        self.assertEqual(self.call(GET_SUBSCRIPTION_ATTRIBUTES).statusCode, 0x0400)
        self.assertEqual(self.get(0).statusCode, 0x0400)

    def test_expired(self) -> None:
        self.createPull(
            b"/ipp/printers/q", Attribute.integer("notify-lease-duration", 60)
        )
        self.clock.advance(60)
        self.assertEqual(self.get(1).statusCode, 0x0406)


class GetSubscriptionsTests(ServerMixin, SynchronousTestCase):
    def setUp(self) -> None:
        self.setUpServer()
        self.createPull()  # 1
        self.createPerJob(7)  # 2
        self.createPull(b"/ipp/printers/other")  # 3
        self.call(
            CREATE_PRINTER,
            Attribute.nameValue("requesting-user-name", "ann"),
            groups=[pullTemplate()],
        )  # 4

    def ids(self, response: Message) -> List[object]:
        self.assertEqual(response.statusCode, 0)
        return [
            g.value("notify-subscription-id")
            for g in groupsOf(response, GroupTag.SUBSCRIPTION)
        ]

    def test_perPrinter(self) -> None:
        """
        Without notify-job-id: the printer's per-printer subscriptions, one
        group each holding only notify-subscription-id (the default
        requested-attributes).
        """
        response = self.call(GET_SUBSCRIPTIONS)
        self.assertEqual(self.ids(response), [1, 4])
        for group in groupsOf(response, GroupTag.SUBSCRIPTION):
            self.assertEqual(group.names(), ["notify-subscription-id"])

    def test_jobId(self) -> None:
        response = self.call(GET_SUBSCRIPTIONS, Attribute.integer("notify-job-id", 7))
        self.assertEqual(self.ids(response), [2])
        response = self.call(GET_SUBSCRIPTIONS, Attribute.integer("notify-job-id", 8))
        self.assertEqual(self.ids(response), [])
        self.assertEqual(response.groups[1:], ())

    def test_limit(self) -> None:
        response = self.call(GET_SUBSCRIPTIONS, Attribute.integer("limit", 1))
        self.assertEqual(self.ids(response), [1])
        response = self.call(GET_SUBSCRIPTIONS, Attribute.integer("limit", 0))
        self.assertEqual(response.statusCode, 0x0400)

    def test_mySubscriptions(self) -> None:
        response = self.call(
            GET_SUBSCRIPTIONS,
            Attribute.nameValue("requesting-user-name", "ann"),
            Attribute.boolean("my-subscriptions", True),
        )
        self.assertEqual(self.ids(response), [4])
        response = self.call(
            GET_SUBSCRIPTIONS,
            Attribute.nameValue("requesting-user-name", "ann"),
            Attribute.boolean("my-subscriptions", False),
        )
        self.assertEqual(self.ids(response), [1, 4])

    def test_requestedAttributes(self) -> None:
        response = self.call(
            GET_SUBSCRIPTIONS,
            Attribute.keyword("requested-attributes", "all"),
        )
        groups = groupsOf(response, GroupTag.SUBSCRIPTION)
        self.assertEqual(
            [g.value("notify-subscriber-user-name") for g in groups],
            ["anonymous", "ann"],
        )
        self.assertIn("notify-lease-expiration-time", groups[0])

    def test_systemObject(self) -> None:
        """
        The system object lists the subscriptions of every printer.
        """
        self.assertEqual(
            self.ids(self.call(GET_SUBSCRIPTIONS, path=b"/ipp/")), [1, 3, 4]
        )
        response = self.call(
            GET_SUBSCRIPTIONS, Attribute.integer("notify-job-id", 7), path=b"/ipp/"
        )
        self.assertEqual(self.ids(response), [2])


# -- Renew-Subscription and Cancel-Subscription ----------------------------------------


class RenewSubscriptionTests(ServerMixin, SynchronousTestCase):
    def setUp(self) -> None:
        self.setUpServer()

    def renew(self, subscriptionId: int, *more: Attribute, **kwargs: Any) -> Message:
        return self.call(
            RENEW,
            Attribute.integer("notify-subscription-id", subscriptionId),
            *more,
            **kwargs,
        )

    def test_renew(self) -> None:
        self.createPull()
        self.clock.advance(100)
        response = self.renew(1, Attribute.integer("notify-lease-duration", 600))
        self.assertEqual(response.statusCode, 0)
        [group] = groupsOf(response, GroupTag.SUBSCRIPTION)
        self.assertEqual(list(group), [Attribute.integer("notify-lease-duration", 600)])
        subscription = self.successResultOf(self.manager.get(1))
        self.assertEqual(subscription.leaseExpiresAt, START + 700)

    def test_default(self) -> None:
        self.createPull(
            b"/ipp/printers/q", Attribute.integer("notify-lease-duration", 60)
        )
        response = self.renew(1)
        self.assertEqual(response.statusCode, 0)
        [group] = groupsOf(response, GroupTag.SUBSCRIPTION)
        self.assertEqual(group.value("notify-lease-duration"), 86400)

    def test_leaseInSubscriptionGroup(self) -> None:
        self.createPull()
        response = self.renew(
            1, groups=[template(Attribute.integer("notify-lease-duration", 120))]
        )
        self.assertEqual(response.statusCode, 0)
        [group] = groupsOf(response, GroupTag.SUBSCRIPTION)
        self.assertEqual(group.value("notify-lease-duration"), 120)

    def test_substituted(self) -> None:
        """
        A lease cut to the maximum: successful-ok-ignored-or-substituted-
        attributes, with the granted value.
        """
        self.manager.policy = SubscriptionPolicy(leaseMaximum=3600)
        self.createPull()
        response = self.renew(1, Attribute.integer("notify-lease-duration", 7200))
        self.assertEqual(response.statusCode, 0x0001)
        [group] = groupsOf(response, GroupTag.SUBSCRIPTION)
        self.assertEqual(group.value("notify-lease-duration"), 3600)

    def test_perJob(self) -> None:
        self.createPerJob(3)
        response = self.renew(1)
        self.assertEqual(response.statusCode, 0x0404)
        self.assertEqual(response.groups[1:], ())

    def test_unknown(self) -> None:
        self.assertEqual(self.renew(5).statusCode, 0x0406)
        self.createPull(b"/ipp/printers/other")
        self.assertEqual(self.renew(1).statusCode, 0x0406)
        self.assertEqual(self.renew(1, path=b"/ipp/").statusCode, 0)

    def test_missingIdOrBadLease(self) -> None:
        self.assertEqual(self.call(RENEW).statusCode, 0x0400)
        self.createPull()
        response = self.renew(1, Attribute.integer("notify-lease-duration", -1))
        self.assertEqual(response.statusCode, 0x0400)


class CancelSubscriptionTests(ServerMixin, SynchronousTestCase):
    def setUp(self) -> None:
        self.setUpServer()

    def cancel(self, subscriptionId: int, path: bytes = b"/ipp/printers/q") -> Message:
        return self.call(
            CANCEL,
            Attribute.integer("notify-subscription-id", subscriptionId),
            path=path,
        )

    def test_cancel(self) -> None:
        self.createPull()
        response = self.cancel(1)
        self.assertEqual(response.statusCode, 0)
        self.assertEqual([g.tag for g in response.groups], [GroupTag.OPERATION])
        self.assertIsNone(self.successResultOf(self.manager.get(1)))
        self.assertEqual(self.cancel(1).statusCode, 0x0406)
        response = self.call(
            GET_SUBSCRIPTION_ATTRIBUTES, Attribute.integer("notify-subscription-id", 1)
        )
        self.assertEqual(response.statusCode, 0x0406)

    def test_perJob(self) -> None:
        self.createPerJob(3)
        self.assertEqual(self.cancel(1).statusCode, 0)

    def test_otherPrinter(self) -> None:
        self.createPull(b"/ipp/printers/other")
        self.assertEqual(self.cancel(1).statusCode, 0x0406)
        self.assertEqual(self.cancel(1, b"/ipp/").statusCode, 0)

    def test_missingId(self) -> None:
        self.assertEqual(self.call(CANCEL).statusCode, 0x0400)


# -- Get-Notifications -----------------------------------------------------------------


class GetNotificationsTests(ServerMixin, SynchronousTestCase):
    def setUp(self) -> None:
        self.setUpServer(maxWait=30)

    def getNotifications(
        self,
        ids: Sequence[int],
        sequences: Sequence[int] = (),
        wait: Optional[bool] = None,
        path: bytes = b"/ipp/printers/q",
    ) -> bytes:
        attributes = [Attribute.integer("notify-subscription-ids", *ids)]
        if sequences:
            attributes.append(Attribute.integer("notify-sequence-numbers", *sequences))
        if wait is not None:
            attributes.append(Attribute.boolean("notify-wait", wait))
        return requestBody(GET_NOTIFICATIONS, *attributes)

    def notifications(self, *args: Any, **kwargs: Any) -> Message:
        path = kwargs.get("path", b"/ipp/printers/q")
        return self.post(self.getNotifications(*args, **kwargs), path)

    def sequences(self, response: Message) -> List[Tuple[object, object]]:
        return [
            (g.value("notify-subscription-id"), g.value("notify-sequence-number"))
            for g in groupsOf(response, GroupTag.EVENT_NOTIFICATION)
        ]

    def test_events(self) -> None:
        """
        The operation group has notify-get-interval and printer-up-time; one
        event group per event, in order, with what RFC 3996 requires.
        """
        self.createPull(
            b"/ipp/printers/q", Attribute.octetString("notify-user-data", b"x")
        )
        self.publish("printer-stopped", n=1)
        self.publish("printer-state-changed", n=2)
        self.clock.advance(5)
        response = self.notifications([1])
        self.assertEqual(response.statusCode, 0)
        operation = response.operation
        self.assertEqual(
            operation.names(),
            [
                "attributes-charset",
                "attributes-natural-language",
                "notify-get-interval",
                "printer-up-time",
            ],
        )
        self.assertEqual(operation.value("notify-get-interval"), 60)
        self.assertEqual(operation.value("printer-up-time"), 105)
        self.assertEqual(self.sequences(response), [(1, 1), (1, 2)])
        first = groupsOf(response, GroupTag.EVENT_NOTIFICATION)[0]
        # The subscribed keyword that covers printer-stopped.
        self.assertEqual(
            first.value("notify-subscribed-event"), "printer-state-changed"
        )
        self.assertEqual(first.value("notify-printer-uri"), PRINTER_URI)
        self.assertEqual(first.value("notify-user-data"), b"x")
        self.assertEqual(first.value("notify-charset"), "utf-8")
        self.assertEqual(first.value("notify-natural-language"), "en")
        self.assertEqual(first.value("notify-text"), "event 1")
        self.assertEqual(first.value("printer-state"), 5)
        # The relay's clock: received 30 s after START, started 100 s before.
        self.assertEqual(first.value("printer-up-time"), 130)
        self.assertEqual(
            first.value("printer-current-time"),
            DateTime(2026, 11, 23, 12, 0, 30, 0, "+", 0, 0),
        )

    def test_emptyUserData(self) -> None:
        """
        notify-user-data is sent, empty, when the subscription has none.
        """
        self.createPull()
        self.publish()
        [group] = groupsOf(self.notifications([1]), GroupTag.EVENT_NOTIFICATION)
        self.assertEqual(group["notify-user-data"].values, (b"",))

    def test_sequenceNumbersInclusive(self) -> None:
        """
        notify-sequence-numbers gives the lowest wanted; missing ones are 1.
        """
        self.createPull()  # 1
        self.createPull()  # 2
        for n in range(1, 4):
            self.publish(n=n)
        response = self.notifications([1, 2], [2])
        self.assertEqual(
            self.sequences(response), [(1, 2), (1, 3), (2, 1), (2, 2), (2, 3)]
        )
        response = self.notifications([1, 2], [3, 4, 9])
        self.assertEqual(self.sequences(response), [(1, 3)])

    def test_noEvents(self) -> None:
        self.createPull()
        response = self.notifications([1], wait=False)
        self.assertEqual(response.statusCode, 0)
        self.assertEqual(response.groups[1:], ())
        self.assertEqual(response.operation.value("notify-get-interval"), 60)

    def test_unknownSubscription(self) -> None:
        self.createPull()
        response = self.notifications([1, 9])
        self.assertEqual(response.statusCode, 0x0406)
        self.assertEqual(response.groups[1:], ())
        self.assertNotIn("notify-get-interval", response.operation)

    def test_pushSubscriptionNotFound(self) -> None:
        """
        A push subscription has no ippget events: client-error-not-found
        (RFC 3996 section 5.1).
        """
        self.call(
            CREATE_PRINTER,
            groups=[template(Attribute.uri("notify-recipient-uri", "http://a/b"))],
        )
        self.publish()
        response = self.notifications([1])
        self.assertEqual(response.statusCode, 0x0406)
        self.assertIn("ippget", str(operationValue(response, "status-message")))

    def test_otherPrintersSubscription(self) -> None:
        self.createPull(b"/ipp/printers/other")
        self.assertEqual(self.notifications([1]).statusCode, 0x0406)
        response = self.notifications([1], path=b"/ipp/")
        self.assertEqual(response.statusCode, 0)

    def test_missingIds(self) -> None:
        response = self.post(requestBody(GET_NOTIFICATIONS))
        self.assertEqual(response.statusCode, 0x0400)
        response = self.post(
            requestBody(
                GET_NOTIFICATIONS, Attribute.integer("notify-subscription-ids", 0)
            )
        )
        self.assertEqual(response.statusCode, 0x0400)

    def test_languageOfTheSubscription(self) -> None:
        """
        The response's charset and language are the subscription's.
        """
        self.createPull(
            b"/ipp/printers/q",
            Attribute.naturalLanguage("notify-natural-language", "de"),
        )
        response = self.notifications([1])
        self.assertEqual(response.operation.value("attributes-natural-language"), "de")

    def test_eventsComplete(self) -> None:
        """
        A per-job subscription whose job completed: successful-ok-events-
        complete with the events, no notify-get-interval; again for a later
        poll within the event life (RFC 3996 section 10.1); after that the
        subscription is gone.
        """
        self.createPerJob(7, "job-state-changed")
        self.publish("job-created", jobId=7, jobState=3, n=1)
        response = self.notifications([1])
        self.assertEqual(response.statusCode, 0)
        self.publish("job-completed", jobId=7, jobState=9, n=2)
        response = self.notifications([1])
        self.assertEqual(response.statusCode, 0x0007)
        self.assertNotIn("notify-get-interval", response.operation)
        self.assertIn("printer-up-time", response.operation)
        self.assertEqual(self.sequences(response), [(1, 1), (1, 2)])
        last = groupsOf(response, GroupTag.EVENT_NOTIFICATION)[-1]
        self.assertEqual(last.value("notify-subscribed-event"), "job-state-changed")
        # RFC 3995 Table 6's job-id, next to CUPS's notify-job-id.
        self.assertEqual(last.value("job-id"), 7)
        self.assertEqual(last.value("notify-job-id"), 7)
        self.assertEqual(last.value("job-state"), 9)
        response = self.notifications([1], [3])
        self.assertEqual(response.statusCode, 0x0007)
        self.assertEqual(self.sequences(response), [])
        self.clock.advance(60)
        self.assertEqual(self.notifications([1], [3]).statusCode, 0x0406)

    def test_notCompleteWhileAnotherIsNot(self) -> None:
        self.createPerJob(7)
        self.createPull()
        self.publish("job-completed", jobId=7, jobState=9)
        response = self.notifications([1, 2])
        self.assertEqual(response.statusCode, 0)
        self.assertIn("notify-get-interval", response.operation)

    def test_ipptoolVector(self) -> None:
        self.createPull()
        self.publish()
        response = self.post(vector("ipptool-2.4.2-get-notifications-request.ipp"))
        self.assertEqual((response.statusCode, response.requestId), (0, 14934))
        self.assertEqual(self.sequences(response), [(1, 1)])

    # -- long polls --

    def test_waitReturnsAtOnceWithEvents(self) -> None:
        self.createPull()
        self.publish()
        response = self.notifications([1], wait=True)
        self.assertEqual(self.sequences(response), [(1, 1)])
        self.assertIn("notify-get-interval", response.operation)

    def test_waitReleasedByPublish(self) -> None:
        """
        notify-wait with nothing to return holds the response; an event for
        one of the subscriptions releases it, with that event.
        """
        self.createPull()  # 1
        self.createPull(b"/ipp/printers/other")  # 2
        deadline = self.clock.seconds() + 30
        self.send(self.getNotifications([1], [1], wait=True))
        self.assertIn(deadline, [c.getTime() for c in self.clock.getDelayedCalls()])
        self.assertEqual(self.transport.value(), b"")
        self.assertEqual(self.server.waiting, 1)
        self.clock.advance(10)
        # An event for another subscription does not release it.
        self.publish(printerUri=OTHER_URI)
        self.assertEqual(self.transport.value(), b"")
        self.publish(n=7)
        response = self.answered()
        self.assertEqual(response.statusCode, 0)
        self.assertEqual(self.sequences(response), [(1, 1)])
        self.assertEqual(response.operation.value("notify-get-interval"), 60)
        self.assertEqual(response.operation.value("printer-up-time"), 110)
        self.assertEqual(self.server.waiting, 0)
        self.assertNotIn(deadline, [c.getTime() for c in self.clock.getDelayedCalls()])

    def test_waitTimesOut(self) -> None:
        """
        After maxWait the response goes with no events and
        notify-get-interval: the server left wait mode.
        """
        self.createPull()
        self.send(self.getNotifications([1], wait=True))
        self.clock.advance(29.9)
        self.assertEqual(self.transport.value(), b"")
        self.clock.advance(0.1)
        response = self.answered()
        self.assertEqual(response.statusCode, 0)
        self.assertEqual(response.groups[1:], ())
        self.assertEqual(response.operation.value("notify-get-interval"), 60)
        self.assertEqual(self.server.waiting, 0)

    def test_waitCompletes(self) -> None:
        self.createPerJob(4)
        self.send(self.getNotifications([1], wait=True))
        self.assertEqual(self.transport.value(), b"")
        self.publish("job-completed", jobId=4, jobState=9)
        response = self.answered()
        self.assertEqual(response.statusCode, 0x0007)
        self.assertEqual(self.sequences(response), [(1, 1)])

    def test_waitCancelled(self) -> None:
        """
        A subscription cancelled while a long poll waits for it: when the
        poll is next looked at, client-error-not-found.
        """
        self.createPull()
        self.send(self.getNotifications([1], wait=True))
        self.successResultOf(self.manager.cancel(1))
        self.clock.advance(30)
        self.assertEqual(self.answered().statusCode, 0x0406)

    def test_clientGoneWhileWaiting(self) -> None:
        """
        When the client goes away, the long poll ends without writing.
        """
        self.createPull()
        self.send(self.getNotifications([1], wait=True))
        self.assertEqual(self.server.waiting, 1)
        self.channel.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.server.waiting, 0)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(self.transport.value(), b"")

    def test_severalWaiting(self) -> None:
        self.createPull()
        channels = []
        for _ in range(3):
            self.connect()
            self.send(self.getNotifications([1], wait=True))
            channels.append(self.transport)
        self.assertEqual(self.server.waiting, 3)
        self.publish()
        self.assertEqual(self.server.waiting, 0)
        for transport in channels:
            status, _, body = parseResponse(transport.value())
            self.assertEqual(self.sequences(decode(body)), [(1, 1)])

    def test_waitVector(self) -> None:
        """
        ipptool's captured long-poll request (from sequence number 19).
        """
        self.createPull()
        for n in range(1, 19):
            self.publish(n=n)
        self.send(vector("ipptool-2.4.2-get-notifications-wait-request.ipp"))
        self.assertEqual(self.transport.value(), b"")
        self.publish(n=19)
        response = self.answered()
        self.assertEqual(response.requestId, 59733)
        self.assertEqual(self.sequences(response), [(1, 19)])


# -- ipptool ---------------------------------------------------------------------------


def ipptoolFiles() -> List[str]:
    return sorted(f for f in os.listdir(IPPTOOL_DIR) if f.endswith(".test"))


class IpptoolTests(TestCase):
    """
    CUPS's ipptool runs each C{tests/ipptool/*.test} file against the server on
    a real loopback port; every test in it must pass.
    """

    timeout = 60

    #: The tests that are not named after the one file they run.
    notForOneFile = frozenset({"test_everyFileIsRun", "test_sqliteStore"})

    def setUp(self) -> None:
        self.ipptool = shutil.which("ipptool")
        if self.ipptool is None:
            raise SkipTest("ipptool is not installed (Debian package cups-ipp-utils)")
        # The manager's own clock is a Clock set to the real time: its timers
        # (ending per-job subscriptions) must not outlive the test.
        self.managerClock = Clock()
        self.managerClock.advance(reactor.seconds())
        self.store = MemoryStore()
        self.manager = SubscriptionManager(self.store, self.managerClock)

    def serve(self, **kwargs: Any) -> int:
        port = reactor.listenTCP(0, NotificationSite(Resource()), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        number: int = port.getHost().port
        server = IppServer(
            self.manager,
            PrinterRegistry(["q", "other"]),
            baseUri=f"ipp://127.0.0.1:{number}/ipp",
            clock=reactor,
            **kwargs,
        )
        root = Resource()
        root.putChild(b"ipp", server)
        port.factory.resource = root
        self.server = server
        return number

    def printerUri(self, name: str = "q") -> str:
        return f"{self.server.baseUri}/printers/{name}"

    def subscribe(self, printer: str = "q", **kwargs: Any) -> int:
        subscription = self.successResultOf(
            self.manager.subscribe(self.printerUri(printer), **kwargs)
        )
        return int(subscription.subscriptionId)

    def publishLater(
        self, kind: str, n: int, jobId: Optional[int] = None
    ) -> Deferred[Any]:
        jobState = 9 if kind == "job-completed" else (3 if jobId else None)
        d: Deferred[Any] = self.manager.publish(
            Event(
                source="upstream",
                subscriptionId=1,
                sequenceNumber=n,
                event=kind,
                printerUri=self.printerUri(),
                jobId=jobId,
                jobState=jobState,
                printerState=None if jobId else 5,
                printerStateReasons=() if jobId else ("paused",),
                receivedAt=datetime.datetime.now(datetime.timezone.utc),
                text=f"{kind} {n}",
            )
        )
        return d

    def publish(self, kind: str, n: int, jobId: Optional[int] = None) -> None:
        self.successResultOf(self.publishLater(kind, n, jobId))

    @inlineCallbacks
    def runIpptool(self, port: int, name: str, **variables: object) -> Any:
        """
        Run one .test file with ipptool -tv -V 2.0; assert exit 0 and [PASS] on
        every test.
        """
        assert self.ipptool is not None
        arguments = ["-tv", "-V", "2.0"]
        for key, value in variables.items():
            arguments += ["-d", f"{key.replace('_', '-')}={value}"]
        arguments += [
            f"ipp://127.0.0.1:{port}/ipp/printers/q",
            os.path.join(IPPTOOL_DIR, name),
        ]
        out, err, code = yield getProcessOutputAndValue(
            self.ipptool, arguments, env=os.environ.copy()
        )
        text = out.decode("utf-8", "replace") + err.decode("utf-8", "replace")
        self.assertEqual(code, 0, f"ipptool {' '.join(arguments)}:\n{text}")
        results = [
            line
            for line in text.splitlines()
            if line.rstrip().endswith(("[PASS]", "[FAIL]", "[SKIP]"))
        ]
        self.assertTrue(results, text)
        for line in results:
            self.assertTrue(line.rstrip().endswith("[PASS]"), text)
        return text

    def test_everyFileIsRun(self) -> None:
        """
        Each .test file of tests/ipptool has its test here.
        """
        tested = {
            name[len("test_") :].replace("_", "-") + ".test"
            for name in dir(self)
            if name.startswith("test_") and name not in self.notForOneFile
        }
        self.assertEqual(set(ipptoolFiles()), tested)

    def test_get_printer_attributes(self) -> Any:
        port = self.serve()
        return self.runIpptool(port, "get-printer-attributes.test")

    def test_create_printer_subscriptions(self) -> Any:
        port = self.serve()
        return self.runIpptool(
            port,
            "create-printer-subscriptions.test",
            recipient=f"http://127.0.0.1:{port}/notify",
        )

    def test_create_job_subscriptions(self) -> Any:
        return self.runIpptool(self.serve(), "create-job-subscriptions.test")

    def test_get_subscription_attributes(self) -> Any:
        port = self.serve()
        other = self.subscribe("other", pullMethod="ippget")
        return self.runIpptool(port, "get-subscription-attributes.test", other=other)

    @inlineCallbacks
    def test_get_subscriptions(self) -> Any:
        port = self.serve()
        yield self.runIpptool(port, "get-subscriptions.test")

    def test_renew_subscription(self) -> Any:
        return self.runIpptool(self.serve(), "renew-subscription.test")

    def test_cancel_subscription(self) -> Any:
        return self.runIpptool(self.serve(), "cancel-subscription.test")

    def test_get_notifications(self) -> Any:
        """
        Events to fetch, a per-job subscription whose job completed, a quiet
        subscription for a long poll that times out (maxWait 1 s).
        """
        port = self.serve(maxWait=1)
        events = self.subscribe(
            pullMethod="ippget", events=("printer-state-changed",), userData=b"ud"
        )
        self.publish("printer-stopped", 1)
        self.publish("printer-state-changed", 2)
        complete = self.subscribe(
            pullMethod="ippget", events=("job-completed",), jobId=77
        )
        self.publish("job-completed", 3, jobId=77)
        quiet = self.subscribe(pullMethod="ippget", events=("printer-config-changed",))
        push = self.subscribe(recipientUri="http://127.0.0.1:9/x")
        return self.runIpptool(
            port,
            "get-notifications.test",
            events=events,
            complete=complete,
            quiet=quiet,
            push=push,
        )

    @inlineCallbacks
    def test_get_notifications_wait(self) -> Any:
        """
        A long poll released by an event published a second after ipptool
        starts, well before maxWait.
        """
        port = self.serve(maxWait=20)
        waiting = self.subscribe(pullMethod="ippget", events=("printer-stopped",))
        call = reactor.callLater(1.0, self.publish, "printer-stopped", 1)
        self.addCleanup(lambda: call.active() and call.cancel())
        started = reactor.seconds()
        yield self.runIpptool(port, "get-notifications-wait.test", waiting=waiting)
        self.assertLess(reactor.seconds() - started, 15)

    def test_errors(self) -> Any:
        return self.runIpptool(self.serve(), "errors.test")

    def test_system_object(self) -> Any:
        port = self.serve()
        other = self.subscribe("other", pullMethod="ippget")
        return self.runIpptool(port, "system-object.test", other=other)

    @inlineCallbacks
    def test_sqliteStore(self) -> Any:
        """
        The same over a L{SQLiteStore}, whose answers come from its worker
        thread: Get-Subscriptions, and a long poll released by an event.
        """
        store = yield SQLiteStore.open(self.mktemp(), reactor)
        self.addCleanup(store.close)
        self.manager = SubscriptionManager(store, self.managerClock)
        port = self.serve(maxWait=20)
        subscription = yield self.manager.subscribe(
            self.printerUri(), pullMethod="ippget", events=("printer-stopped",)
        )
        call = reactor.callLater(1.0, self.publishLater, "printer-stopped", 1)
        self.addCleanup(lambda: call.active() and call.cancel())
        yield self.runIpptool(
            port, "get-notifications-wait.test", waiting=subscription.subscriptionId
        )
        yield self.runIpptool(port, "get-subscriptions.test")
