"""
Tests for L{ipp_ntfy.notification}: events, reports and responses in both dialects.
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib
import json
import os
import random
import re
from functools import partial
from typing import Callable, List, Tuple

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from ipp_ntfy import notification
from ipp_ntfy.ipp import (
    DEFAULT_LIMITS,
    Attribute,
    Collection,
    DateTime,
    Group,
    GroupTag,
    IppDecodeError,
    IppEncodeError,
    Limits,
    Message,
    MessageStream,
    OutOfBand,
    Range,
    TextWithLanguage,
    Value,
    ValueTag,
    decode,
    encode,
)
from ipp_ntfy.notification import (
    ALIASES,
    DIALECT_INDP,
    DIALECT_REPORT,
    MACHINE_CONSUMABLE_REPORT,
    EncodedEvent,
    Event,
    NotificationError,
    ReportRequest,
    ReportResponse,
    ReportStatus,
    buildDecodeErrorResponse,
    buildErrorResponse,
    buildReport,
    buildResponse,
    cancelsSubscription,
    describeStatus,
    encodeReport,
    eventFromNotifierMessage,
    isConsumed,
    isTemporaryFailure,
    overallStatus,
    parseReport,
    parseResponse,
)

VECTORS = os.path.join(os.path.dirname(__file__), "vectors")
RECEIVED = datetime.datetime(2024, 5, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
SOURCE = "cups:test"
# The decoder module (ipp_ntfy.ipp.decode is also the name of its function).
DECODER = importlib.import_module("ipp_ntfy.ipp.decode")


def vector(name: str) -> bytes:
    with open(os.path.join(VECTORS, name), "rb") as f:
        return f.read()


def hexBytes(text: str) -> bytes:
    """
    Octets written as hex digits, with C{'quoted ASCII'} for names and strings and
    C{# comments} to the end of the line.
    """
    out = bytearray()
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        for part in re.split(r"('[^']*')", line):
            if part.startswith("'"):
                out += part[1:-1].encode("ascii")
            else:
                out += bytes.fromhex(part)
    return bytes(out)


def cupsStream() -> List[Message]:
    """
    The 17 event messages cupsd wrote on a notifier's standard input.
    """
    stream = MessageStream()
    messages = stream.feed(vector("cups-2.4.2-notifier-stdin-stream.bin"))
    stream.close()
    return messages


def cupsJobCompleted() -> Event:
    return eventFromNotifierMessage(
        decode(vector("cups-2.4.2-notifier-event-job-completed.ipp")),
        source=SOURCE,
        receivedAt=RECEIVED,
    )


def printerStopped(**changes: object) -> Event:
    """
    A small printer event, the one of the hand-written report below.
    """
    event = Event(
        source="test",
        subscriptionId=7,
        sequenceNumber=42,
        event="printer-stopped",
        printerUri="ipp://h/p",
        printerState=5,
        printerStateReasons=("paused",),
        printerUpTime=1000,
        userData=b"u",
        text="Stopped.",
    )
    return dataclasses.replace(event, **changes)  # type: ignore[arg-type]


# The Report-Ipp-Notifications request for printerStopped(), request-id 1, to
# http://l/n.
REPORT = """
01 00                                     # version 1.0
00 03                                     # operation-id: Report-Ipp-Notifications
00 00 00 01                               # request-id 1
01                                        # operation-attributes-tag
47 0012 'attributes-charset'              # charset, name-length 18
   0005 'utf-8'                           #   value-length 5
48 001b 'attributes-natural-language'     # naturalLanguage, name-length 27
   0002 'en'
45 0014 'notify-recipient-uri'            # uri, name-length 20
   000a 'http://l/n'
07                                        # event-notification-attributes-tag
47 000e 'notify-charset'                  # charset
   0005 'utf-8'
48 0017 'notify-natural-language'         # naturalLanguage
   0002 'en'
21 0016 'notify-subscription-id'          # integer
   0004 00000007                          #   7
21 0016 'notify-sequence-number'          # integer
   0004 0000002a                          #   42
44 0017 'notify-subscribed-event'         # keyword
   000f 'printer-stopped'
30 0010 'notify-user-data'                # octetString
   0001 'u'
21 000f 'printer-up-time'                 # integer
   0004 000003e8                          #   1000
41 000b 'notify-text'                     # textWithoutLanguage
   0008 'Stopped.'
45 0012 'notify-printer-uri'              # uri
   0009 'ipp://h/p'
23 000d 'printer-state'                   # enum
   0004 00000005                          #   stopped
44 0015 'printer-state-reasons'           # keyword
   0006 'paused'
03                                        # end-of-attributes-tag
"""

OPERATION_GROUP = """
01                                        # operation-attributes-tag
47 0012 'attributes-charset'   0005 'utf-8'
48 001b 'attributes-natural-language'   0002 'en'
45 0014 'notify-recipient-uri' 000a 'http://l/n'
"""


def report(*eventGroups: Group, code: int = 0x0003, version=(1, 0)) -> Message:
    """
    A request whose operation group is right, with these groups after it.
    """
    operation = Group(
        GroupTag.OPERATION,
        [
            Attribute.charset("attributes-charset", "utf-8"),
            Attribute.naturalLanguage("attributes-natural-language", "en"),
            Attribute.uri("notify-recipient-uri", "http://l/n"),
        ],
    )
    return Message(version, code, 1, [operation, *eventGroups])


class EventTests(SynchronousTestCase):
    """
    L{Event} read from and written to event-notification groups.
    """

    def test_notifierMessageGivesTypedFields(self) -> None:
        """
        A CUPS job-completed event gives every typed field, and keeps the whole
        group.
        """
        event = cupsJobCompleted()
        self.assertEqual(event.source, SOURCE)
        self.assertEqual(event.subscriptionId, 3)
        self.assertEqual(event.sequenceNumber, 6)
        self.assertEqual(event.event, "job-completed")
        self.assertEqual(event.printerUri, "ipp://127.0.0.1/printers/test")
        self.assertEqual(event.jobId, 1)
        self.assertEqual(event.printerState, 4)
        self.assertEqual(event.printerStateReasons, ("none",))
        self.assertEqual(event.jobState, 9)
        self.assertEqual(event.jobStateReasons, ("job-completed-successfully",))
        self.assertEqual(event.printerUpTime, 1795386390)
        self.assertEqual(event.receivedAt, RECEIVED)
        self.assertEqual(event.userData, b"push-sub")
        self.assertEqual(event.text, "Job completed.")
        self.assertEqual(event.charset, "utf-8")
        self.assertEqual(event.naturalLanguage, "en-us")
        self.assertEqual(event.attributes.value("job-name"), "pull-demo-job")
        self.assertEqual(event.attributes.value("printer-name"), "test")
        self.assertEqual(event.key, (SOURCE, 3, 6))

    def test_printerEventHasNoJobFields(self) -> None:
        """
        A printer event has no job id, job state or job state reasons.
        """
        event = eventFromNotifierMessage(
            decode(vector("cups-2.4.2-notifier-event-printer-stopped.ipp")),
            source=SOURCE,
        )
        self.assertEqual(event.event, "printer-stopped")
        self.assertEqual(event.printerState, 5)
        self.assertEqual(event.printerStateReasons, ("paused",))
        self.assertIsNone(event.jobId)
        self.assertIsNone(event.jobState)
        self.assertEqual(event.jobStateReasons, ())
        self.assertIsNone(event.receivedAt)

    def test_toGroupGivesCupsBytesBack(self) -> None:
        """
        Each of the 17 CUPS events, written back as a notifier message, is the
        same octets as cupsd wrote.
        """
        messages = cupsStream()
        self.assertEqual(len(messages), 17)
        for message in messages:
            event = eventFromNotifierMessage(message, source=SOURCE)
            rebuilt = Message((2, 0), 0, 0, [event.toGroup()])
            self.assertEqual(encode(rebuilt), encode(message))

    def test_groupRoundTrip(self) -> None:
        """
        C{Event.fromGroup(e.toGroup())} is C{e}, for CUPS events and for events
        built from fields.
        """
        events = [
            eventFromNotifierMessage(m, source=SOURCE, receivedAt=RECEIVED)
            for m in cupsStream()
        ]
        events.append(printerStopped())
        events.append(Event(source="", subscriptionId=1, sequenceNumber=0, event="x"))
        for event in events:
            again = Event.fromGroup(
                event.toGroup(), source=event.source, receivedAt=event.receivedAt
            )
            self.assertEqual(again, event)

    def test_fieldsBuildCupsOrder(self) -> None:
        """
        An event built from fields has its attributes in cupsd's order, with the
        RFC 3995 names and syntaxes.
        """
        event = Event(
            source="test",
            subscriptionId=1,
            sequenceNumber=2,
            event="job-completed",
            printerUri="ipp://h/p",
            jobId=3,
            printerState=3,
            printerStateReasons=("none",),
            jobState=9,
            jobStateReasons=("job-completed-successfully",),
            printerUpTime=4,
            userData=b"",
            text="Done.",
            attributes=Group(
                GroupTag.EVENT_NOTIFICATION,
                [
                    Attribute.integer("job-impressions-completed", 1),
                    Attribute.keyword("x-vendor", "v"),
                    Attribute.nameValue("job-name", "j"),
                    Attribute.nameValue("printer-name", "p"),
                ],
            ),
        )
        self.assertEqual(
            event.toGroup().names(),
            [
                "notify-charset",
                "notify-natural-language",
                "notify-subscription-id",
                "notify-sequence-number",
                "notify-subscribed-event",
                "notify-user-data",
                "printer-up-time",
                "notify-text",
                "notify-printer-uri",
                "printer-name",
                "printer-state",
                "printer-state-reasons",
                "notify-job-id",
                "job-state",
                "job-name",
                "job-state-reasons",
                "job-impressions-completed",
                "x-vendor",
            ],
        )
        group = event.toGroup()
        self.assertEqual(group.tag, GroupTag.EVENT_NOTIFICATION)
        self.assertEqual(group["printer-state"].tag, ValueTag.ENUM)
        self.assertEqual(group["notify-subscribed-event"].tag, ValueTag.KEYWORD)
        self.assertEqual(group["notify-user-data"].values, (b"",))
        self.assertEqual(group["notify-charset"].values, ("utf-8",))
        self.assertEqual(group["notify-natural-language"].values, ("en",))

    def test_fieldsWinOverAttributes(self) -> None:
        """
        Replacing a field replaces the attribute in place; the other attributes
        stay.
        """
        event = cupsJobCompleted()
        changed = dataclasses.replace(event, sequenceNumber=99, jobState=None)
        group = changed.toGroup()
        self.assertEqual(group.value("notify-sequence-number"), 99)
        self.assertNotIn("job-state", group)
        self.assertEqual(
            group.names(),
            [name for name in event.toGroup().names() if name != "job-state"],
        )

    def test_jobIdIsReadAsNotifyJobId(self) -> None:
        """
        ippserver's events carry C{job-id}: it is the job id, written back as
        C{notify-job-id}; attributes the model has no field for are kept.
        """
        message = decode(vector("ippserver-3a24f0f-get-notifications-response.ipp"))
        groups = message.groupsOf(GroupTag.EVENT_NOTIFICATION)
        event = Event.fromGroup(groups[3], source="ippserver")
        self.assertEqual(event.event, "job-completed")
        self.assertEqual(event.jobId, 1)
        self.assertEqual(event.jobState, 9)
        group = event.toGroup()
        self.assertEqual(group.value("notify-job-id"), 1)
        self.assertNotIn("job-id", group)
        self.assertEqual(
            group.value("notify-subscription-uuid"),
            "urn:uuid:4bf713e6-c20c-3cdd-46b3-f3c22e0e4230",
        )
        self.assertEqual(len(group), len(groups[3]))

    def test_getNotificationsResponsesGiveEvents(self) -> None:
        """
        Every event of the captured Get-Notifications responses reads, and reads
        again the same from its own group.
        """
        count = 0
        for name in (
            "cups-2.4.2-get-notifications-response.ipp",
            "cups-2.4.2-get-notifications-response-push-subscription.ipp",
            "ippserver-3a24f0f-get-notifications-response.ipp",
            "ippserver-3a24f0f-get-notifications-response-wait-wakeup.ipp",
        ):
            message = decode(vector(name))
            for group in message.groupsOf(GroupTag.EVENT_NOTIFICATION):
                event = Event.fromGroup(group, source=name, receivedAt=RECEIVED)
                self.assertEqual(
                    Event.fromGroup(event.toGroup(), source=name, receivedAt=RECEIVED),
                    event,
                )
                self.assertEqual(
                    sorted(event.toGroup().names()),
                    sorted(
                        "notify-job-id" if a.name == "job-id" else a.name for a in group
                    ),
                )
                count += 1
        self.assertEqual(count, 18 + 17 + 4 + 1)

    def test_missingRequiredAttributesRaise(self) -> None:
        """
        Without a subscription id, sequence number or event keyword there is no
        event; the error names the attribute.
        """
        group = cupsJobCompleted().toGroup()
        for name, alias in [
            ("notify-subscription-id", "subscription-id"),
            ("notify-sequence-number", "sequence-number"),
            ("notify-subscribed-event", "trigger-event"),
        ]:
            without = Group(group.tag, [a for a in group if a.name != name])
            error = self.assertRaises(
                NotificationError, Event.fromGroup, without, source=""
            )
            self.assertEqual(error.attribute, name)
            self.assertEqual(error.reason, f"no {name} (nor {alias})")
            self.assertIsNone(error.group)
            self.assertEqual(error.statusCode, 0x0400)

    def test_outOfBandRequiredValueRaises(self) -> None:
        """
        A required attribute whose value is out-of-band is missing.
        """
        group = Group(
            GroupTag.EVENT_NOTIFICATION,
            [
                Attribute.of("notify-subscription-id", 0x13, OutOfBand(0x13)),
                Attribute.integer("notify-sequence-number", 1),
                Attribute.keyword("notify-subscribed-event", "printer-stopped"),
            ],
        )
        error = self.assertRaises(NotificationError, Event.fromGroup, group, source="")
        self.assertEqual(error.attribute, "notify-subscription-id")

    def test_wrongSyntaxRaises(self) -> None:
        """
        A subscription id that is not an integer is refused, with a reason that
        says so.
        """
        group = Group(
            GroupTag.EVENT_NOTIFICATION,
            [
                Attribute.keyword("notify-subscription-id", "one"),
                Attribute.integer("notify-sequence-number", 1),
                Attribute.keyword("notify-subscribed-event", "printer-stopped"),
            ],
        )
        error = self.assertRaises(NotificationError, Event.fromGroup, group, source="")
        self.assertEqual(
            error.reason, "notify-subscription-id must be an integer, not 'one'"
        )

    def test_otherGroupTagRaises(self) -> None:
        """
        A group of another tag is not an event.
        """
        group = Group(GroupTag.PRINTER, list(cupsJobCompleted().toGroup()))
        error = self.assertRaises(NotificationError, Event.fromGroup, group, source="")
        self.assertEqual(
            error.reason,
            "printer-attributes-tag is not an event-notification group",
        )

    def test_optionTwoNamesGiveSameEvent(self) -> None:
        """
        The seed draft's flat names (Option 2), in its order, give the same event
        as the RFC 3995 names CUPS sends.
        """
        flat = Group(
            GroupTag.EVENT_NOTIFICATION,
            [
                Attribute.text("human-readable-report", "Job completed."),
                Attribute.charset("attributes-charset", "utf-8"),
                Attribute.naturalLanguage("attributes-natural-language", "en-us"),
                Attribute.uri("printer-uri", "ipp://127.0.0.1/printers/test"),
                Attribute.nameValue("printer-name", "test"),
                Attribute.integer("job-id", 1),
                Attribute.nameValue("job-name", "pull-demo-job"),
                Attribute.keyword("trigger-event", "job-completed"),
                Attribute.integer("trigger-time", 1795386390),
                Attribute.integer("subscription-id", 3),
                Attribute.integer("sequence-number", 6),
                Attribute.octetString("subscriber-user-data", b"push-sub"),
                Attribute.enum("job-state", 9),
                Attribute.keyword("job-state-reasons", "job-completed-successfully"),
                Attribute.integer("job-impressions-completed", 0),
                Attribute.enum("printer-state", 4),
                Attribute.keyword("printer-state-reasons", "none"),
                Attribute.boolean("printer-is-accepting-jobs", True),
            ],
        )
        event = Event.fromGroup(flat, source=SOURCE, receivedAt=RECEIVED)
        self.assertEqual(event, cupsJobCompleted())

    def test_optionOneCollectionGivesSameEvent(self) -> None:
        """
        The seed draft's C{machine-consumable-report} collection (Option 1), with
        the human-readable report beside it, gives the same event too.
        """
        group = cupsJobCompleted().toGroup()
        members = [a for a in group if a.name != "notify-text"]
        option1 = Group(
            GroupTag.EVENT_NOTIFICATION,
            [
                Attribute.text("human-readable-report", "Job completed."),
                Attribute.collection("machine-consumable-report", Collection(members)),
            ],
        )
        event = Event.fromGroup(option1, source=SOURCE, receivedAt=RECEIVED)
        self.assertEqual(event, cupsJobCompleted())

    def test_optionOneConflictRaises(self) -> None:
        """
        A collection member that contradicts the group's own attribute is refused.
        """
        group = Group(
            GroupTag.EVENT_NOTIFICATION,
            [
                Attribute.integer("notify-subscription-id", 1),
                Attribute.collection(
                    "machine-consumable-report",
                    Collection(
                        [
                            Attribute.integer("notify-subscription-id", 2),
                            Attribute.integer("sequence-number", 1),
                            Attribute.keyword("trigger-event", "printer-stopped"),
                        ]
                    ),
                ),
            ],
        )
        error = self.assertRaises(NotificationError, Event.fromGroup, group, source="")
        self.assertEqual(
            error.reason, "notify-subscription-id given twice with different values"
        )

    def test_optionOneNotCollectionRaises(self) -> None:
        """
        C{machine-consumable-report} must be one collection.
        """
        group = Group(
            GroupTag.EVENT_NOTIFICATION,
            [Attribute.text("machine-consumable-report", "no")],
        )
        error = self.assertRaises(NotificationError, Event.fromGroup, group, source="")
        self.assertEqual(error.attribute, "machine-consumable-report")

    def test_flatNameStaysBesideRfcName(self) -> None:
        """
        A flat name is only read as its RFC name when the RFC name is absent;
        otherwise it is kept as another attribute.
        """
        group = Group(
            GroupTag.EVENT_NOTIFICATION,
            [
                Attribute.integer("notify-subscription-id", 1),
                Attribute.integer("notify-sequence-number", 1),
                Attribute.keyword("notify-subscribed-event", "job-completed"),
                Attribute.integer("notify-job-id", 5),
                Attribute.integer("job-id", 6),
            ],
        )
        event = Event.fromGroup(group, source="")
        self.assertEqual(event.jobId, 5)
        self.assertEqual(event.toGroup().value("job-id"), 6)

    def test_unusualSyntaxesAreKept(self) -> None:
        """
        A text with a language, or an out-of-band value, gives the typed field
        what it can and stays in the group as it came.
        """
        text = Attribute.of(
            "notify-text",
            ValueTag.TEXT_WITH_LANGUAGE,
            TextWithLanguage("Arrêtée.", "fr"),
        )
        state = Attribute.of("printer-state", ValueTag.UNKNOWN, OutOfBand(0x12))
        group = Group(
            GroupTag.EVENT_NOTIFICATION,
            [
                Attribute.integer("notify-subscription-id", 1),
                Attribute.integer("notify-sequence-number", 1),
                Attribute.keyword("notify-subscribed-event", "printer-stopped"),
                text,
                state,
            ],
        )
        event = Event.fromGroup(group, source="")
        self.assertEqual(event.text, "Arrêtée.")
        self.assertIsNone(event.printerState)
        self.assertEqual(event.toGroup()["notify-text"], text)
        self.assertEqual(event.toGroup()["printer-state"], state)
        self.assertEqual(Event.fromGroup(event.toGroup(), source=""), event)

    def test_receivedAtIsKeptInUTC(self) -> None:
        """
        The receive time is stored in UTC; a naive time is refused.
        """
        paris = datetime.timezone(datetime.timedelta(hours=2))
        event = printerStopped(
            receivedAt=datetime.datetime(2024, 5, 1, 14, tzinfo=paris)
        )
        assert event.receivedAt is not None
        self.assertEqual(event.receivedAt, RECEIVED)
        self.assertEqual(event.receivedAt.tzinfo, datetime.timezone.utc)
        self.assertRaises(
            NotificationError, printerStopped, receivedAt=datetime.datetime(2024, 5, 1)
        )

    def test_badFieldTypesRaise(self) -> None:
        """
        Fields of the wrong type are refused when the event is made.
        """
        self.assertRaises(NotificationError, printerStopped, subscriptionId="7")
        self.assertRaises(NotificationError, printerStopped, subscriptionId=True)
        self.assertRaises(NotificationError, printerStopped, sequenceNumber=2**31)
        self.assertRaises(NotificationError, printerStopped, printerUri=b"ipp://h/p")
        self.assertRaises(NotificationError, printerStopped, userData="u")
        self.assertRaises(NotificationError, printerStopped, printerStateReasons=(1,))
        self.assertRaises(NotificationError, printerStopped, event="")
        self.assertRaises(NotificationError, printerStopped, printerStateReasons="x")
        self.assertRaises(NotificationError, printerStopped, receivedAt=0.0)
        self.assertRaises(NotificationError, printerStopped, charset=None)

    def test_reasonsListBecomesTuple(self) -> None:
        """
        Reasons given as a list are kept as a tuple, so events stay hashable.
        """
        event = printerStopped(printerStateReasons=["paused", "toner-low"])
        self.assertEqual(event.printerStateReasons, ("paused", "toner-low"))
        self.assertEqual(
            hash(event),
            hash(printerStopped(printerStateReasons=("paused", "toner-low"))),
        )


class EventJSONTests(SynchronousTestCase):
    """
    L{Event.toJSON} and L{Event.fromJSON}.
    """

    def test_cupsJobCompleted(self) -> None:
        """
        The JSON form of a CUPS job-completed event: source, receive time, then
        the attributes by IPP name in group order.
        """
        expected = {
            "source": "cups:test",
            "received-at": "2024-05-01T12:00:00+00:00",
            "notify-charset": "utf-8",
            "notify-natural-language": "en-us",
            "notify-subscription-id": 3,
            "notify-sequence-number": 6,
            "notify-subscribed-event": "job-completed",
            "notify-user-data": {"octets": "cHVzaC1zdWI="},
            "printer-up-time": 1795386390,
            "notify-text": "Job completed.",
            "notify-printer-uri": "ipp://127.0.0.1/printers/test",
            "printer-name": "test",
            "printer-state": 4,
            "printer-state-reasons": ["none"],
            "printer-is-accepting-jobs": True,
            "notify-job-id": 1,
            "job-state": 9,
            "job-name": "pull-demo-job",
            "job-state-reasons": ["job-completed-successfully"],
            "job-impressions-completed": 0,
        }
        result = cupsJobCompleted().toJSON()
        self.assertEqual(result, expected)
        self.assertEqual(list(result), list(expected))

    def test_fromJSONReadsBack(self) -> None:
        """
        Every CUPS event comes back the same from its JSON text.
        """
        for message in cupsStream():
            event = eventFromNotifierMessage(
                message, source=SOURCE, receivedAt=RECEIVED
            )
            text = json.dumps(event.toJSON())
            self.assertEqual(Event.fromJSON(json.loads(text)), event)

    def test_otherValueForms(self) -> None:
        """
        dateTime, text with language, several values, out-of-band, ranges and
        collections have JSON forms, read back exactly for known attributes and
        by their JSON form for others.
        """
        when = DateTime(2024, 5, 1, 14, 0, 0, 5, "+", 2, 0)
        event = printerStopped(
            receivedAt=None,
            attributes=Group(
                GroupTag.EVENT_NOTIFICATION,
                [
                    Attribute.of("printer-current-time", ValueTag.DATE_TIME, when),
                    Attribute.of(
                        "printer-state-message",
                        ValueTag.TEXT_WITH_LANGUAGE,
                        TextWithLanguage("Arrêt", "fr"),
                    ),
                    Attribute.nameValue("printer-name", "p"),
                    Attribute.integer("x-counts", 1, 2),
                    Attribute.of("x-range", ValueTag.RANGE_OF_INTEGER, Range(1, 5)),
                    Attribute.of("x-none", ValueTag.NO_VALUE, OutOfBand(0x13)),
                    Attribute.collection(
                        "x-col", Collection([Attribute.integer("x-member", 3)])
                    ),
                ],
            ),
        )
        result = event.toJSON()
        self.assertIsNone(result["received-at"])
        self.assertEqual(result["printer-current-time"], "2024-05-01T14:00:00.5+02:00")
        self.assertEqual(
            result["printer-state-message"], {"text": "Arrêt", "language": "fr"}
        )
        self.assertEqual(result["x-counts"], [1, 2])
        self.assertEqual(result["x-range"], {"lower": 1, "upper": 5})
        self.assertEqual(result["x-none"], {"out-of-band": "no-value"})
        self.assertEqual(result["x-col"], {"x-member": [3]})
        self.assertEqual(Event.fromJSON(json.loads(json.dumps(result))), event)

    def test_unknownStringsComeBackAsText(self) -> None:
        """
        An attribute whose syntax is not known comes back from JSON as text.
        """
        event = printerStopped(
            attributes=Group(
                GroupTag.EVENT_NOTIFICATION, [Attribute.keyword("x-mode", "fast")]
            )
        )
        again = Event.fromJSON(event.toJSON())
        self.assertEqual(again.toGroup()["x-mode"], Attribute.text("x-mode", "fast"))

    def test_badJSONRaises(self) -> None:
        """
        JSON that is not an event's is refused with a NotificationError.
        """
        good = printerStopped().toJSON()
        for bad in [
            {k: v for k, v in good.items() if k != "source"},
            dict(good, **{"received-at": "yesterday"}),
            dict(good, **{"notify-user-data": {"octets": "!!"}}),
            dict(good, **{"notify-subscription-id": None}),
            dict(good, **{"printer-current-time": "2024"}),
        ]:
            self.assertRaises(NotificationError, Event.fromJSON, bad)


# Values put in place of an attribute's, to see the fast path of Event.fromGroup
# agree with the full one on values it does not take.
REPLACEMENTS: List[Tuple[Tuple[int, ...], tuple]] = [
    ((0x13,), (OutOfBand(0x13),)),
    ((ValueTag.KEYWORD,), ("x",)),
    ((ValueTag.KEYWORD,), ("",)),
    ((ValueTag.INTEGER,), (7,)),
    ((ValueTag.INTEGER,), (2**31,)),
    ((ValueTag.ENUM,), (ReportStatus.NOT_FOUND,)),
    ((ValueTag.BOOLEAN,), (True,)),
    ((ValueTag.OCTET_STRING,), (b"x",)),
    ((ValueTag.TEXT_WITH_LANGUAGE,), (TextWithLanguage("t", "fr"),)),
    ((ValueTag.KEYWORD, ValueTag.KEYWORD), ("a", "b")),
    ((ValueTag.KEYWORD, 0x13), ("a", OutOfBand(0x13))),
    ((ValueTag.INTEGER, ValueTag.INTEGER), (1, 2)),
]

# Attributes added to an event group: flat names, the collection, unknown ones.
EXTRAS = [
    Attribute.integer("job-id", 5),
    Attribute.uri("printer-uri", "ipp://x/"),
    Attribute.keyword("trigger-event", "printer-stopped"),
    Attribute.integer("subscription-id", 3),
    Attribute.text("human-readable-report", "Job completed."),
    Attribute.keyword("x-vendor", "v"),
    Attribute.of(
        "printer-current-time",
        ValueTag.DATE_TIME,
        DateTime(2024, 5, 1, 14, 0, 0, 5, "+", 2, 0),
    ),
    Attribute.collection(
        "machine-consumable-report",
        Collection([Attribute.integer("sequence-number", 6)]),
    ),
    Attribute.integer("notify-sequence-number", 6),
    Attribute.integer("notify-sequence-number", 7),
]


@st.composite
def eventAttributes(draw: Callable) -> List[Attribute]:
    """
    The attributes of CUPS's job-completed event, perhaps reordered, with some
    dropped, some values replaced (mostly of typed fields), some renamed to their
    flat name and moved last, and some added (mostly last, where cupsd's order
    allows any name).
    """
    attributes = list(cupsJobCompleted().toGroup())
    if draw(st.integers(0, 3)) == 0:
        attributes = list(draw(st.permutations(attributes)))
    for index in sorted(
        set(draw(st.lists(st.integers(0, len(attributes) - 1), max_size=2))),
        reverse=True,
    ):
        del attributes[index]
    typed = [
        index
        for index, attribute in enumerate(attributes)
        if attribute.name in notification._CORE_BY_NAME
    ]
    for _ in range(draw(st.integers(0, 2))):
        if typed and draw(st.integers(0, 3)):
            index = draw(st.sampled_from(typed))
        else:
            index = draw(st.integers(0, len(attributes) - 1))
        tags, values = draw(st.sampled_from(REPLACEMENTS))
        attributes[index] = Attribute(attributes[index].name, values, tags)
    if draw(st.booleans()):
        flat = draw(st.sampled_from(sorted(ALIASES)))
        for index, attribute in enumerate(attributes):
            if attribute.name == ALIASES[flat]:
                del attributes[index]
                attributes.append(attribute._replace(name=flat))
                break
    for extra in draw(st.lists(st.sampled_from(EXTRAS), max_size=2)):
        last = len(attributes)
        index = draw(st.one_of(st.just(last), st.integers(0, last)))
        attributes.insert(index, extra)
    return attributes


def outcome(read: Callable[[], Event]) -> tuple:
    """
    @return: what C{read} gives, as something to compare: the event and its
        attributes, or the error.
    """
    try:
        event = read()
    except NotificationError as e:
        return ("error", e.reason, e.attribute, e.group, e.statusCode)
    return ("event", event, tuple(event.attributes), hash(event))


class FastPathTests(SynchronousTestCase):
    """
    L{Event.fromGroup} keeps a group that already is what the constructor rebuilds,
    and reads its fields in one pass: the events are the same as the full path's.
    """

    def test_decodedGroupIsKept(self) -> None:
        """
        A decoded CUPS event keeps its group as L{Event.attributes}, equal to the
        group the constructor rebuilds.
        """
        for message in cupsStream():
            group = message.groups[0]
            event = eventFromNotifierMessage(message, source=SOURCE)
            self.assertIs(event.attributes, group)
            self.assertEqual(dataclasses.replace(event), event)

    def test_builtGroupIsKept(self) -> None:
        """
        The group of an event, read again, is kept too.
        """
        event = printerStopped()
        again = Event.fromGroup(event.toGroup(), source="test")
        self.assertIs(again.attributes, event.attributes)
        self.assertEqual(again, event)

    def test_reportKeepsGroups(self) -> None:
        """
        L{parseReport} keeps each decoded event group as it is.
        """
        events = [printerStopped(sequenceNumber=n) for n in (1, 2)]
        message = decode(encode(buildReport(events, "http://l/n", 1)))
        request = parseReport(message, source="test")
        self.assertEqual(request.events, tuple(events))
        for event, group in zip(request.events, message.groups[1:]):
            self.assertIs(event.attributes, group)

    def test_otherOrderIsRebuilt(self) -> None:
        """
        A group in another order than cupsd's is rebuilt in cupsd's order.
        """
        group = cupsJobCompleted().toGroup()
        reordered = Group(group.tag, reversed(list(group)))
        event = Event.fromGroup(reordered, source=SOURCE, receivedAt=RECEIVED)
        self.assertEqual(event, cupsJobCompleted())
        self.assertEqual(event.toGroup().names(), group.names())

    def test_missingLanguageIsAdded(self) -> None:
        """
        A group in cupsd's order without C{notify-natural-language} is given the
        default one (the request's, in a report).
        """
        group = printerStopped().toGroup()
        without = Group(
            group.tag, [a for a in group if a.name != "notify-natural-language"]
        )
        event = Event.fromGroup(without, source="test")
        self.assertEqual(event, printerStopped())
        self.assertEqual(event.toGroup().names(), group.names())

    def test_duplicatesAreChecked(self) -> None:
        """
        An attribute given twice, even in cupsd's order, is kept once if both say
        the same, and refused otherwise.
        """
        group = printerStopped().toGroup()
        for value, same in [(42, True), (43, False)]:
            twice = []
            for attribute in group:
                twice.append(attribute)
                if attribute.name == "notify-sequence-number":
                    twice.append(Attribute.integer(attribute.name, value))
            read = partial(Event.fromGroup, Group(group.tag, twice), source="test")
            if same:
                self.assertEqual(read(), printerStopped())
            else:
                error = self.assertRaises(NotificationError, read)
                self.assertEqual(error.attribute, "notify-sequence-number")

    def test_unusualValuesInOrder(self) -> None:
        """
        Values of another type than the field's, in a group in cupsd's order, are
        read as ever: text user data as its UTF-8 octets, out-of-band values
        skipped, and the attributes kept as given; decoded or not.
        """
        group = printerStopped().toGroup()
        noValue = OutOfBand(0x13)
        for replacement, field, value in [
            (Attribute.text("notify-user-data", "u"), "userData", b"u"),
            (
                Attribute(
                    "printer-state-reasons",
                    ("paused", noValue),
                    (ValueTag.KEYWORD, 0x13),
                ),
                "printerStateReasons",
                ("paused",),
            ),
            (
                Attribute.of("printer-state-reasons", 0x13, noValue),
                "printerStateReasons",
                (),
            ),
            (Attribute.of("printer-state", 0x13, noValue), "printerState", None),
        ]:
            unusual = Group(
                group.tag,
                [replacement if a.name == replacement.name else a for a in group],
            )
            decoded = decode(encode(Message((2, 0), 0, 0, [unusual]))).groups[0]
            for candidate in (unusual, decoded):
                event = Event.fromGroup(candidate, source="test")
                self.assertEqual(getattr(event, field), value)
                self.assertEqual(event.toGroup(), unusual)

    def test_flatNameLastIsRenamed(self) -> None:
        """
        A flat name is read as its RFC name, last in a group in cupsd's order too.
        """
        group = printerStopped().toGroup()
        flat = Group(
            group.tag,
            [
                *[a for a in group if a.name != "notify-printer-uri"],
                Attribute.uri("printer-uri", "ipp://h/p"),
            ],
        )
        event = Event.fromGroup(flat, source="test")
        self.assertEqual(event, printerStopped())

    def test_collectionLastIsOpened(self) -> None:
        """
        C{machine-consumable-report} is opened up wherever it comes, last in a
        group in cupsd's order too.
        """
        group = printerStopped().toGroup()
        member = Attribute.keyword("x-member", "m")
        withReport = Group(
            group.tag,
            [
                *group,
                Attribute.collection(MACHINE_CONSUMABLE_REPORT, Collection([member])),
            ],
        )
        event = Event.fromGroup(withReport, source="test")
        self.assertEqual(event.toGroup(), Group(group.tag, [*group, member]))

    def test_valuesAreChecked(self) -> None:
        """
        Values the constructor would refuse are refused in a group in cupsd's order
        too.
        """
        group = printerStopped().toGroup()
        for replacement, reason in [
            (
                Attribute.integer("notify-sequence-number", 2**31),
                "sequenceNumber must be a 32-bit integer, not 2147483648",
            ),
            (
                Attribute.keyword("notify-subscribed-event", ""),
                "event must not be empty",
            ),
        ]:
            bad = Group(
                group.tag,
                [replacement if a.name == replacement.name else a for a in group],
            )
            error = self.assertRaises(
                NotificationError, Event.fromGroup, bad, source="test"
            )
            self.assertEqual(error.reason, reason)

    def test_sourceAndReceivedAtAreChecked(self) -> None:
        """
        The source must be a string and the receive time aware, whichever path
        reads the event; the receive time is kept in UTC.
        """
        group = printerStopped().toGroup()
        self.assertRaises(NotificationError, Event.fromGroup, group, source=1)
        self.assertRaises(
            NotificationError,
            Event.fromGroup,
            group,
            source="test",
            receivedAt=datetime.datetime(2024, 5, 1),
        )
        error = self.assertRaises(
            NotificationError,
            parseReport,
            report(group),
            receivedAt=datetime.datetime(2024, 5, 1),
        )
        self.assertEqual(error.group, 2)
        paris = datetime.timezone(datetime.timedelta(hours=2))
        event = Event.fromGroup(
            group,
            source="test",
            receivedAt=datetime.datetime(2024, 5, 1, 14, tzinfo=paris),
        )
        self.assertEqual(event.receivedAt, RECEIVED)
        assert event.receivedAt is not None
        self.assertIs(event.receivedAt.tzinfo, datetime.timezone.utc)

    @settings(
        deadline=None,
        max_examples=500,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(eventAttributes())
    def test_sameAsFullPath(self, attributes: List[Attribute]) -> None:
        """
        Whatever the group, L{Event.fromGroup} and L{parseReport} give the same
        event (or the same error) as the full path that normalises the names and
        rebuilds the group (the private C{_fullEvent}), for a group built, decoded
        or given as a list of attributes.
        """

        def full(group: Group) -> tuple:
            return outcome(
                lambda: notification._fullEvent(group, SOURCE, RECEIVED, "utf-8", "en")
            )

        def fast(group: object) -> tuple:
            return outcome(
                lambda: Event.fromGroup(group, source=SOURCE, receivedAt=RECEIVED)  # type: ignore[arg-type]
            )

        built = Group(GroupTag.EVENT_NOTIFICATION, attributes)
        expected = full(built)
        self.assertEqual(fast(built), expected)
        self.assertEqual(fast(attributes), expected)
        try:
            octets = encode(Message((2, 0), 0, 0, [built]))
            decoded = [decode(octets).groups[0] for _ in range(2)]
        except (IppEncodeError, IppDecodeError):
            pass
        else:
            self.assertEqual(fast(decoded[0]), full(decoded[1]))

        def parsed() -> Event:
            request = parseReport(report(built), source=SOURCE, receivedAt=RECEIVED)
            return request.events[0]

        inReport = outcome(parsed)
        if expected[0] == "error":
            self.assertEqual(inReport, expected[:3] + (2,) + expected[4:])
        else:
            self.assertEqual(inReport, expected)


def reportOutcome(message: Message) -> tuple:
    """
    @return: what L{parseReport} gives for C{message}, as something to compare:
        the events, their attributes and hashes, or the error.
    """
    try:
        request = parseReport(message, source=SOURCE, receivedAt=RECEIVED)
    except NotificationError as e:
        return ("error", e.reason, e.attribute, e.group, e.statusCode)
    return (
        "events",
        request.events,
        [tuple(event.attributes) for event in request.events],
        [hash(event) for event in request.events],
    )


# Values of each kind for the holes of a group: a function of the group's
# number giving an attribute's tag and value.
HOLES: List[Tuple[str, Callable[[int], Tuple[int, Value]]]] = [
    ("integer", lambda n: (ValueTag.INTEGER, 1000 + n)),
    ("enum", lambda n: (ValueTag.ENUM, 3 + n)),
    ("negative", lambda n: (ValueTag.INTEGER, -(2**31) + n)),
    ("text", lambda n: (ValueTag.TEXT, f"t{n}")),
    ("keyword", lambda n: (ValueTag.KEYWORD, f"k{n}")),
    ("empty keyword", lambda n: (ValueTag.KEYWORD, "k" * ((n + 1) % 2))),
    ("uri", lambda n: (ValueTag.URI, f"ipp://h{n}/")),
    ("octets", lambda n: (ValueTag.OCTET_STRING, b"u%d" % n)),
    ("boolean", lambda n: (ValueTag.BOOLEAN, n % 2 == 0)),
]


def learn(octets: bytes) -> None:
    """
    Decode C{octets} as often as the decoder needs to compile a reader for the
    groups it reads alike (twice more than that).
    """
    for _ in range(2 * DECODER._COMPILE_AFTER // len(octets) + 2):
        decode(octets)


class FilledEventTests(SynchronousTestCase):
    """
    L{parseReport} reads the first of the groups that the decoder read alike (the
    same layout object: C{ipp_ntfy.ipp.decode._GroupLayout}) with every check,
    and the events of the next ones are made from its event with the typed
    fields that are holes read again (C{_filler}): the same events, or the
    same error, as from groups read one by one.
    """

    def setUp(self) -> None:
        self.forget()

    def forget(self) -> None:
        """
        Empty the decoder's caches (what it knows from other reports changes
        which groups it reads alike), and the fillers.
        """
        DECODER._forget()
        notification._FILLERS.clear()

    def assertSameAsCareful(self, groups: List[List[Attribute]]) -> tuple:
        """
        A report of event groups with these attributes, decoded often enough
        for the decoder to read its groups alike, gives the same outcome as
        the careful decoder's message.

        @return: the outcome.
        """
        octets = encode(
            report(*[Group(GroupTag.EVENT_NOTIFICATION, group) for group in groups])
        )
        self.forget()
        learn(octets)
        careful = DECODER._Decoder(octets, DEFAULT_LIMITS, False).message()[0]
        expected = reportOutcome(careful)
        self.assertEqual(reportOutcome(decode(octets)), expected)
        return expected

    def varied(
        self, names: List[str], holes: List[Callable[[int], Tuple[int, Value]]]
    ) -> List[List[Attribute]]:
        """
        Ten groups of the attributes of L{printerStopped}, the attributes
        C{names} with the values of C{holes}.
        """
        base = list(printerStopped().toGroup())
        groups = []
        for n in range(10):
            group = list(base)
            for name, hole in zip(names, holes):
                tag, value = hole(n)
                [index] = [i for i, a in enumerate(group) if a.name == name]
                group[index] = Attribute.of(name, tag, value)
            groups.append(group)
        return groups

    def test_filled(self) -> None:
        """
        Integer, string and octet holes in typed fields (with runs between
        them: the decoder reads no group alike where two holes are next to each
        other): the events after the first are filled in, each keeping its
        group.
        """
        events = [
            printerStopped(sequenceNumber=-n, text=f"Stopped {n}.", userData=b"%d" % n)
            for n in range(10)
        ]
        octets = encode(buildReport(events, "http://l/n", 1))
        learn(octets)
        self.assertTrue(
            [
                entry
                for entries in DECODER._GROUPS.values()
                for entry in entries
                if entry.read is not None
            ]
        )
        message = decode(octets)
        request = parseReport(message, source="test")
        self.assertEqual(request.events, tuple(events))
        for event, group in zip(request.events, message.groups[1:]):
            self.assertIs(event.attributes, group)
        layouts = {id(group._layout) for group in message.groups[1:]}
        self.assertEqual(len(layouts), 1)
        self.assertEqual(
            [fill is not None for fill in notification._FILLERS.values()], [True]
        )
        self.assertSameAsCareful([list(event.toGroup()) for event in events])

    def test_eachKindInEachField(self) -> None:
        """
        A hole of each kind in each typed field (and one not typed), where it
        gives the field's type and where not (the event then is the full
        path's, or the same error): the same outcome as the careful decoder's.
        """
        names = [a.name for a in printerStopped().toGroup()]
        filled = 0
        for name in names:
            for kind, hole in HOLES:
                outcome = self.assertSameAsCareful(self.varied([name], [hole]))
                self.assertIn(outcome[0], ("events", "error"), (name, kind))
                filled += any(notification._FILLERS.values())
        self.assertGreater(filled, 10)

    def test_twoHoles(self) -> None:
        """
        Two holes, one that gives a filler and one that does not.
        """
        for _, hole in HOLES:
            self.assertSameAsCareful(
                self.varied(
                    ["notify-sequence-number", "notify-subscribed-event"],
                    [HOLES[0][1], hole],
                )
            )

    def test_mutatedReports(self) -> None:
        """
        A report of 20 events, once the decoder has compiled its reader, changed
        in one to three places (an octet flipped or set, octets dropped or put
        in, the end cut off): decoded and parsed, the same outcome as with the
        careful decoder.
        """
        events = [
            printerStopped(sequenceNumber=n, text=f"Stopped {n}.") for n in range(20)
        ]
        octets = encode(buildReport(events, "http://l/n", 1))
        learn(octets)
        rng = random.Random(4)
        taken = 0
        for _ in range(2000):
            data = bytearray(octets)
            for _ in range(rng.randint(1, 3)):
                at = rng.randrange(len(data))
                kind = rng.randrange(5)
                if kind == 0:
                    data[at] ^= 1 << rng.randrange(8)
                elif kind == 1:
                    data[at] = rng.choice([0, 3, 7, 0x13, 0x21, 0x41, 0x44, 0xFF])
                elif kind == 2:
                    del data[at : at + rng.randint(1, 8)]
                elif kind == 3:
                    data[at:at] = bytes(rng.randrange(256) for _ in range(3))
                else:
                    del data[at + 1 :]
            mutant = bytes(data)
            try:
                careful, end = DECODER._Decoder(mutant, DEFAULT_LIMITS, False).message()
            except IppDecodeError as e:
                error = self.assertRaises(IppDecodeError, decode, mutant)
                self.assertEqual((error.offset, error.reason), (e.offset, e.reason))
                continue
            if end != len(mutant):
                careful = careful.replace(data=mutant[end:])
            message = decode(mutant)
            self.assertEqual(message, careful)
            taken += any(
                getattr(group, "_layout", None) is not None
                and hasattr(group._layout, "holes")
                for group in message.groups[1:]
            )
            self.assertEqual(reportOutcome(message), reportOutcome(careful))
        self.assertGreater(taken, 100)

    @settings(
        deadline=None,
        max_examples=200,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(
        eventAttributes(),
        st.lists(
            st.tuples(st.integers(0, 30), st.sampled_from([h for _, h in HOLES])),
            max_size=3,
        ),
    )
    def test_anyGroups(
        self,
        attributes: List[Attribute],
        holes: List[Tuple[int, Callable[[int], Tuple[int, Value]]]],
    ) -> None:
        """
        Whatever the attributes, and whichever of them change from group to
        group: the same outcome as the careful decoder's.
        """
        groups = []
        for n in range(10):
            group = list(attributes)
            for index, hole in holes:
                index %= len(group)
                tag, value = hole(n)
                group[index] = Attribute.of(group[index].name, tag, value)
            groups.append(group)
        try:
            self.assertSameAsCareful(groups)
        except IppEncodeError:
            pass


class BuildReportTests(SynchronousTestCase):
    """
    L{buildReport}.
    """

    def test_reportOctets(self) -> None:
        """
        A Report-Ipp-Notifications request for one event is exactly the
        hand-written octets.
        """
        message = buildReport([printerStopped()], "http://l/n", 1)
        self.assertEqual(encode(message), hexBytes(REPORT))

    def test_indpOctets(self) -> None:
        """
        A Send-Notifications request differs only in its version (1.1) and
        operation-id (0x001D).
        """
        message = buildReport([printerStopped()], "http://l/n", 1, DIALECT_INDP)
        expected = hexBytes("01 01  00 1d") + hexBytes(REPORT)[4:]
        self.assertEqual(encode(message), expected)

    def test_indpVersionTwo(self) -> None:
        """
        Send-Notifications may use IPP/2.0.
        """
        message = buildReport(
            [printerStopped()], "http://l/n", 1, DIALECT_INDP, version=(2, 0)
        )
        self.assertEqual(message.version, (2, 0))
        self.assertEqual(message.code, 0x001D)

    def test_wrongVersionRaises(self) -> None:
        """
        Report-Ipp-Notifications is version 1.0 only: with 2.0 it would be
        Print-URI.
        """
        error = self.assertRaises(
            NotificationError,
            buildReport,
            [printerStopped()],
            "http://l/n",
            1,
            DIALECT_REPORT,
            (2, 0),
        )
        self.assertEqual(error.statusCode, 0x0503)
        self.assertRaises(
            NotificationError, buildReport, [printerStopped()], "http://l/n", 1, "x"
        )

    def test_noEventsRaises(self) -> None:
        """
        A report carries at least one event.
        """
        self.assertRaises(NotificationError, buildReport, [], "http://l/n", 1)

    def test_oneGroupPerEvent(self) -> None:
        """
        Several events give one 0x07 group each, in order.
        """
        events = [printerStopped(sequenceNumber=n) for n in (1, 2, 3)]
        message = buildReport(events, "http://l/n", 1)
        self.assertEqual([g.tag for g in message.groups], [0x01, 0x07, 0x07, 0x07])
        self.assertEqual(
            [g.value("notify-sequence-number") for g in message.groups[1:]],
            [1, 2, 3],
        )


class EncodeReportTests(SynchronousTestCase):
    """
    L{encodeReport} writes what L{encode} writes of L{buildReport}'s request.
    """

    def encoded(self, event: Event) -> EncodedEvent:
        octets = encode(Message((1, 0), 0, 0, [event.toGroup()]))[8:-1]
        return EncodedEvent(
            octets, event.event, event.jobId, len(event.toGroup().attributes)
        )

    def test_sameOctets(self) -> None:
        """
        Encoded events, events, or both, in either dialect: the same octets.
        """
        first = cupsJobCompleted()
        second = dataclasses.replace(first, sequenceNumber=9, jobId=None)
        for dialect in (DIALECT_REPORT, DIALECT_INDP):
            expected = encode(buildReport([first, second], "ipp://a/n", 3, dialect))
            eventLists: List[List[Event | EncodedEvent]] = [
                [self.encoded(first), self.encoded(second)],
                [first, self.encoded(second)],
                [first, second],
            ]
            for events in eventLists:
                self.assertEqual(
                    encodeReport(events, "ipp://a/n", 3, dialect), expected
                )

    def test_toEvent(self) -> None:
        """
        L{EncodedEvent.toEvent} reads the event back.
        """
        event = cupsJobCompleted()
        self.assertEqual(
            self.encoded(event).toEvent(),
            dataclasses.replace(event, source="", receivedAt=None),
        )

    def test_overLimits(self) -> None:
        """
        A report over the encoder's limits fails as L{encode} fails.
        """
        event = cupsJobCompleted()
        size = len(encode(buildReport([event] * 3, "ipp://a/n", 3)))
        for limits in (
            Limits(maxMessageBytes=size - 1),
            Limits(maxAttributes=3 * len(event.toGroup().attributes) + 2),
        ):
            self.assertRaises(
                IppEncodeError, encode, buildReport([event] * 3, "ipp://a/n", 3), limits
            )
            self.assertRaises(
                IppEncodeError,
                encodeReport,
                [self.encoded(event)] * 3,
                "ipp://a/n",
                3,
                limits=limits,
            )
        self.assertRaises(NotificationError, encodeReport, [], "ipp://a/n", 3)


class ParseReportTests(SynchronousTestCase):
    """
    L{parseReport}.
    """

    def test_handWrittenReport(self) -> None:
        """
        The hand-written request reads as its event, dialect, recipient, request-id
        and version.
        """
        request = parseReport(decode(hexBytes(REPORT)), source="test")
        self.assertEqual(
            request,
            ReportRequest(DIALECT_REPORT, "http://l/n", (printerStopped(),), 1, (1, 0)),
        )

    def test_cupsStreamThroughReport(self) -> None:
        """
        The 17 CUPS events, sent in one report of either dialect, encoded and
        decoded, read back as the same events.
        """
        events = tuple(
            eventFromNotifierMessage(m, source=SOURCE, receivedAt=RECEIVED)
            for m in cupsStream()
        )
        for dialect, version, code in [
            (DIALECT_REPORT, (1, 0), 0x0003),
            (DIALECT_INDP, (1, 1), 0x001D),
        ]:
            octets = encode(buildReport(events, "https://app/ipp-events", 77, dialect))
            message = decode(octets)
            self.assertEqual(octets[:4], bytes([*version, 0, code]))
            request = parseReport(message, source=SOURCE, receivedAt=RECEIVED)
            self.assertEqual(request.events, events)
            self.assertEqual(request.dialect, dialect)
            self.assertEqual(request.version, version)
            self.assertEqual(request.requestId, 77)
            self.assertEqual(request.recipientUri, "https://app/ipp-events")

    def test_languageBeforeCharset(self) -> None:
        """
        The seed draft puts the natural language before the charset: accepted.
        """
        octets = (
            hexBytes(
                """
            01 00  00 03  00 00 00 01
            01
            48 001b 'attributes-natural-language' 0002 'en'
            47 0012 'attributes-charset' 0005 'utf-8'
            45 0014 'notify-recipient-uri' 000a 'http://l/n'
            """
            )
            + hexBytes(REPORT)[8 + len(hexBytes(OPERATION_GROUP)) :]
        )
        request = parseReport(decode(octets), source="test")
        self.assertEqual(request.events, (printerStopped(),))

    def test_operationLanguageIsEventDefault(self) -> None:
        """
        An event that names no charset or language takes the request's language.
        """
        group = Group(
            GroupTag.EVENT_NOTIFICATION,
            [
                Attribute.integer("notify-subscription-id", 1),
                Attribute.integer("notify-sequence-number", 1),
                Attribute.keyword("notify-subscribed-event", "printer-stopped"),
            ],
        )
        message = report(group)
        operation = message.groups[0]
        french = Group(
            operation.tag,
            [
                operation["attributes-charset"],
                Attribute.naturalLanguage("attributes-natural-language", "fr"),
                operation["notify-recipient-uri"],
            ],
        )
        request = parseReport(message.replace(groups=(french, group)))
        self.assertEqual(request.events[0].naturalLanguage, "fr")
        self.assertEqual(request.events[0].charset, "utf-8")

    def test_optionTwoReport(self) -> None:
        """
        A report with the seed draft's flat names reads as the RFC event.
        """
        flat = Group(
            GroupTag.EVENT_NOTIFICATION,
            [
                Attribute.text("human-readable-report", "Stopped."),
                Attribute.uri("printer-uri", "ipp://h/p"),
                Attribute.keyword("trigger-event", "printer-stopped"),
                Attribute.integer("trigger-time", 1000),
                Attribute.integer("subscription-id", 7),
                Attribute.integer("sequence-number", 42),
                Attribute.octetString("subscriber-user-data", b"u"),
                Attribute.enum("printer-state", 5),
                Attribute.keyword("printer-state-reasons", "paused"),
            ],
        )
        request = parseReport(report(flat), source="test")
        self.assertEqual(request.events, (printerStopped(),))

    def test_printUriIsNotAReport(self) -> None:
        """
        Operation 0x0003 with version 1.1 or 2.0 is Print-URI:
        server-error-operation-not-supported.
        """
        for version in [(1, 1), (2, 0)]:
            message = report(printerStopped().toGroup(), version=version)
            error = self.assertRaises(NotificationError, parseReport, message)
            self.assertEqual(error.statusCode, 0x0501)
            self.assertIn("Print-URI", error.reason)

    def test_sendNotificationsVersions(self) -> None:
        """
        Send-Notifications is read with version 1.0, 1.1 and 2.x; 3.0 is
        server-error-version-not-supported.
        """
        for version in [(1, 0), (1, 1), (2, 0), (2, 2)]:
            message = report(printerStopped().toGroup(), code=0x001D, version=version)
            request = parseReport(message, source="test")
            self.assertEqual(request.dialect, DIALECT_INDP)
            self.assertEqual(request.version, version)
        message = report(printerStopped().toGroup(), code=0x001D, version=(3, 0))
        error = self.assertRaises(NotificationError, parseReport, message)
        self.assertEqual(error.statusCode, 0x0503)

    def test_otherOperationRaises(self) -> None:
        """
        Any other operation is server-error-operation-not-supported.
        """
        message = report(printerStopped().toGroup(), code=0x001C, version=(2, 0))
        error = self.assertRaises(NotificationError, parseReport, message)
        self.assertEqual(error.statusCode, 0x0501)
        self.assertEqual(
            str(error),
            "operation 0x001c is neither Report-Ipp-Notifications (0x0003) nor "
            "Send-Notifications (0x001d)",
        )

    def test_noEventGroupRaises(self) -> None:
        """
        A report without any 0x07 group is a bad request.
        """
        error = self.assertRaises(NotificationError, parseReport, report())
        self.assertEqual(error.statusCode, 0x0400)
        self.assertIn("no event-notification-attributes-tag (0x07) group", str(error))

    def test_errorNamesGroup(self) -> None:
        """
        An event group without a required attribute is named by its position in
        the message (the operation group is group 1).
        """
        good = printerStopped().toGroup()
        bad = Group(
            GroupTag.EVENT_NOTIFICATION,
            [a for a in good if a.name != "notify-sequence-number"],
        )
        error = self.assertRaises(
            NotificationError, parseReport, report(good, bad, good)
        )
        self.assertEqual(error.group, 3)
        self.assertEqual(error.attribute, "notify-sequence-number")
        self.assertEqual(
            str(error), "group 3: no notify-sequence-number (nor sequence-number)"
        )

    def test_otherGroupTagRaises(self) -> None:
        """
        Only event groups follow the operation group.
        """
        printer = Group(GroupTag.PRINTER, [Attribute.enum("printer-state", 3)])
        error = self.assertRaises(
            NotificationError, parseReport, report(printerStopped().toGroup(), printer)
        )
        self.assertEqual(error.group, 3)
        self.assertIn("printer-attributes-tag in a report", str(error))

    def test_operationGroupFirst(self) -> None:
        """
        The operation group comes first.
        """
        message = Message((1, 0), 0x0003, 1, [printerStopped().toGroup()])
        error = self.assertRaises(NotificationError, parseReport, message)
        self.assertEqual(error.group, 1)
        message = Message((1, 0), 0x0003, 1, [])
        error = self.assertRaises(NotificationError, parseReport, message)
        self.assertIsNone(error.group)

    def test_charsetAndLanguageFirst(self) -> None:
        """
        The charset and the language are the first two operation attributes.
        """
        operation = Group(
            GroupTag.OPERATION,
            [
                Attribute.charset("attributes-charset", "utf-8"),
                Attribute.uri("notify-recipient-uri", "http://l/n"),
                Attribute.naturalLanguage("attributes-natural-language", "en"),
            ],
        )
        message = Message((1, 0), 3, 1, [operation, printerStopped().toGroup()])
        error = self.assertRaises(NotificationError, parseReport, message)
        self.assertEqual(error.group, 1)

    def test_otherCharsetRaises(self) -> None:
        """
        A charset other than utf-8 (or its subset us-ascii) is
        client-error-charset-not-supported.
        """
        message = report(printerStopped().toGroup())
        operation = message.groups[0]
        latin1 = Group(
            operation.tag,
            [
                Attribute.charset("attributes-charset", "iso-8859-1"),
                *list(operation)[1:],
            ],
        )
        error = self.assertRaises(
            NotificationError,
            parseReport,
            message.replace(groups=(latin1, *message.groups[1:])),
        )
        self.assertEqual(error.statusCode, 0x040D)
        self.assertEqual(error.attribute, "attributes-charset")

    def test_recipientUriRequired(self) -> None:
        """
        The request names the listener URI it was sent to.
        """
        message = report(printerStopped().toGroup())
        operation = Group(GroupTag.OPERATION, list(message.groups[0])[:2])
        error = self.assertRaises(
            NotificationError,
            parseReport,
            message.replace(groups=(operation, *message.groups[1:])),
        )
        self.assertEqual(str(error), "group 1: no notify-recipient-uri")

    def test_documentDataRaises(self) -> None:
        """
        A report has nothing after the end-of-attributes-tag.
        """
        message = report(printerStopped().toGroup()).replace(data=b"x")
        self.assertRaises(NotificationError, parseReport, message)


def statusGroups(message: Message, name: str) -> List[int]:
    return [
        int(group.value(name, 0))  # type: ignore[call-overload]
        for group in message.groupsOf(GroupTag.EVENT_NOTIFICATION)
    ]


class BuildResponseTests(SynchronousTestCase):
    """
    L{buildResponse} and the error responses.
    """

    def request(self, count: int, dialect: str = DIALECT_REPORT) -> ReportRequest:
        events = tuple(printerStopped(sequenceNumber=n) for n in range(count))
        version = (1, 0) if dialect == DIALECT_REPORT else (2, 0)
        return ReportRequest(dialect, "http://l/n", events, 9, version)

    def test_mixedOctets(self) -> None:
        """
        Consumed, unknown subscription, consumed-but-cancel: some were not consumed
        (0x0004), and each report has its status, in order.
        """
        statuses = [
            ReportStatus.CONSUMED,
            ReportStatus.NOT_FOUND,
            ReportStatus.CANCEL_SUBSCRIPTION,
        ]
        response = buildResponse(self.request(3), statuses)
        expected = hexBytes(
            """
            01 00                                 # version 1.0, the request's
            00 04                                 # successful-ok-ignored-notifications
            00 00 00 09                           # request-id 9, the request's
            01                                    # operation-attributes-tag
            47 0012 'attributes-charset'           0005 'utf-8'
            48 001b 'attributes-natural-language'  0002 'en'
            07                                    # report 1: consumed, no
                                                  # status (an enum is never 0)
            07                                    # report 2
            23 001f 'notification-report-status-code' 0004 00000406  # not found
            07                                    # report 3
            23 001f 'notification-report-status-code' 0004 00000006  # cancel
            03
            """
        )
        self.assertEqual(encode(response), expected)

    def test_allConsumed(self) -> None:
        """
        All consumed: successful-ok and no per-report groups.
        """
        response = buildResponse(self.request(2), [0, 0])
        self.assertEqual(response.code, 0x0000)
        self.assertEqual([g.tag for g in response.groups], [0x01])
        self.assertEqual(
            response.groups[0].names(),
            ["attributes-charset", "attributes-natural-language"],
        )

    def test_someConsumed(self) -> None:
        """
        Some consumed: successful-ok-ignored-notifications, with groups.
        """
        response = buildResponse(self.request(2), [0, 0x0505])
        self.assertEqual(response.code, 0x0004)
        self.assertEqual(
            statusGroups(response, "notification-report-status-code"), [0, 0x0505]
        )

    def test_noneConsumed(self) -> None:
        """
        None consumed: client-error-ignored-all-notifications, with groups.
        """
        response = buildResponse(self.request(2), [0x0406, 0x0500], "no room")
        self.assertEqual(response.code, 0x0416)
        self.assertEqual(
            statusGroups(response, "notification-report-status-code"), [0x0406, 0x0500]
        )
        self.assertEqual(response.operation.value("status-message"), "no room")

    def test_cancelOnly(self) -> None:
        """
        Consumed but cancel, for every report: successful-ok, since all were
        consumed, but the groups say to cancel.
        """
        response = buildResponse(self.request(2), [6, 6])
        self.assertEqual(response.code, 0x0000)
        self.assertEqual(
            statusGroups(response, "notification-report-status-code"), [6, 6]
        )

    def test_indpStatusName(self) -> None:
        """
        Send-Notifications answers carry notify-status-code, and echo the version.
        """
        response = buildResponse(self.request(2, DIALECT_INDP), [0, 0x0406])
        self.assertEqual(response.version, (2, 0))
        self.assertEqual(response.requestId, 9)
        self.assertEqual(statusGroups(response, "notify-status-code"), [0, 0x0406])
        self.assertEqual(response.groups[2]["notify-status-code"].tag, ValueTag.ENUM)
        self.assertEqual(len(response.groups[1]), 0)

    def test_statusCountMustMatch(self) -> None:
        """
        One status per report, each a status code.
        """
        self.assertRaises(NotificationError, buildResponse, self.request(2), [0])
        self.assertRaises(NotificationError, buildResponse, self.request(1), [0x8000])
        self.assertRaises(NotificationError, buildResponse, self.request(1), [True])

    def test_errorResponseOctets(self) -> None:
        """
        A bad request is answered with its status and a status-message.
        """
        response = buildErrorResponse(5, (1, 0), 0x0400, "bad")
        expected = hexBytes(
            """
            01 00  04 00  00 00 00 05             # 1.0, client-error-bad-request, 5
            01
            47 0012 'attributes-charset'           0005 'utf-8'
            48 001b 'attributes-natural-language'  0002 'en'
            41 000e 'status-message'               0003 'bad'
            03
            """
        )
        self.assertEqual(encode(response), expected)

    def test_notificationErrorResponse(self) -> None:
        """
        A L{NotificationError} gives the status and message of the answer.
        """
        message = report(printerStopped().toGroup(), version=(2, 0))
        error = self.assertRaises(NotificationError, parseReport, message)
        response = buildErrorResponse(
            message.requestId, message.version, error.statusCode, str(error)
        )
        self.assertEqual(response.code, 0x0501)
        self.assertEqual(response.version, (2, 0))
        self.assertIn("Print-URI", str(response.operation.value("status-message")))

    def test_decodeErrorResponse(self) -> None:
        """
        A body that does not decode is answered client-error-bad-request, with the
        offset and reason, version and request-id from its header.
        """
        body = hexBytes(
            """
            01 00  00 03  00 00 00 0c
            01
            47 0012 'attr'                        # the name stops short
            """
        )
        error = self.assertRaises(IppDecodeError, decode, body)
        response = buildDecodeErrorResponse(body, error)
        assert response is not None
        self.assertEqual(response.code, 0x0400)
        self.assertEqual(response.version, (1, 0))
        self.assertEqual(response.requestId, 12)
        self.assertEqual(
            response.operation.value("status-message"),
            f"bad IPP message at offset {error.offset}: {error.reason}",
        )
        self.assertEqual(error.offset, 10)

    def test_unreadableHeader(self) -> None:
        """
        A body shorter than a header gets no IPP answer.
        """
        error = self.assertRaises(IppDecodeError, decode, b"\x01\x00")
        self.assertIsNone(buildDecodeErrorResponse(b"\x01\x00", error))


def response(code: int, *groups: Group, requestId: int = 9) -> Message:
    operation = Group(
        GroupTag.OPERATION,
        [
            Attribute.charset("attributes-charset", "utf-8"),
            Attribute.naturalLanguage("attributes-natural-language", "en"),
        ],
    )
    return Message((1, 0), code, requestId, [operation, *groups])


def statusGroup(code: int, name: str = "notification-report-status-code") -> Group:
    return Group(GroupTag.EVENT_NOTIFICATION, [Attribute.enum(name, code)])


class ParseResponseTests(SynchronousTestCase):
    """
    L{parseResponse}.
    """

    def test_roundTrip(self) -> None:
        """
        What L{buildResponse} writes, L{parseResponse} reads, in both dialects.
        """
        for dialect in (DIALECT_REPORT, DIALECT_INDP):
            for statuses in ([0, 0], [0, 0x0406], [0x0505, 0x0406], [6, 6], [6, 0]):
                events = (printerStopped(), printerStopped(sequenceNumber=43))
                request = ReportRequest(dialect, "http://l/n", events, 3, (1, 0))
                octets = encode(buildResponse(request, statuses, "m"))
                result = parseResponse(decode(octets), 2, requestId=3)
                self.assertEqual(
                    result,
                    ReportResponse(overallStatus(statuses), "m", tuple(statuses)),
                )

    def test_successWithoutGroups(self) -> None:
        """
        successful-ok without groups: every report consumed.
        """
        result = parseResponse(response(0x0000), 3)
        self.assertEqual(result, ReportResponse(0, None, (0, 0, 0)))

    def test_ignoredAllWithoutGroups(self) -> None:
        """
        client-error-ignored-all-notifications without groups: every report is a
        temporary failure.
        """
        result = parseResponse(response(0x0416), 2)
        self.assertEqual(result.perReport, (0x0505, 0x0505))

    def test_someIgnoredMissingGroups(self) -> None:
        """
        successful-ok-ignored-notifications with fewer groups than reports: the
        reports without a group are sent again.
        """
        result = parseResponse(response(0x0004, statusGroup(0x0406)), 3)
        self.assertEqual(result.perReport, (0x0406, 0x0505, 0x0505))

    def test_errorWithoutGroups(self) -> None:
        """
        A client or server error without groups applies to every report.
        """
        for code in (0x0400, 0x0401, 0x0406, 0x0500, 0x0503):
            self.assertEqual(parseResponse(response(code), 2).perReport, (code, code))

    def test_otherSuccessWithoutGroups(self) -> None:
        """
        successful-ok-but-cancel-subscription overall applies to every report;
        another success means consumed.
        """
        self.assertEqual(parseResponse(response(0x0006), 2).perReport, (6, 6))
        self.assertEqual(parseResponse(response(0x0001), 2).perReport, (0, 0))

    def test_otherClassWithoutGroups(self) -> None:
        """
        Informational and redirection codes mean nothing for a report: temporary
        failure.
        """
        self.assertEqual(parseResponse(response(0x0300), 1).perReport, (0x0505,))

    def test_eitherStatusName(self) -> None:
        """
        Per-report codes are read under either dialect's name, and a group without
        one is a consumed report (an enum cannot be 0, so consumed reports carry
        none).
        """
        result = parseResponse(
            response(
                0x0004,
                statusGroup(0, "notify-status-code"),
                statusGroup(0x0406),
                Group(GroupTag.EVENT_NOTIFICATION, []),
            ),
            3,
        )
        self.assertEqual(result.perReport, (0, 0x0406, 0))

    def test_statusMessage(self) -> None:
        """
        The status-message is read.
        """
        message = buildErrorResponse(9, (1, 0), 0x0400, "bad IPP message")
        result = parseResponse(message, 1)
        self.assertEqual(result.statusMessage, "bad IPP message")
        self.assertEqual(result.statusCode, 0x0400)

    def test_tooManyGroupsRaises(self) -> None:
        """
        More per-report groups than reports is malformed; the error names the
        first extra group.
        """
        message = response(0x0004, statusGroup(0), statusGroup(0x0406))
        error = self.assertRaises(NotificationError, parseResponse, message, 1)
        self.assertEqual(error.group, 3)

    def test_badStatusValueRaises(self) -> None:
        """
        A per-report status that is not a status code is malformed.
        """
        for value in (
            Attribute.keyword("notify-status-code", "ok"),
            Attribute.integer("notify-status-code", 0x10000),
        ):
            message = response(0x0004, Group(GroupTag.EVENT_NOTIFICATION, [value]))
            error = self.assertRaises(NotificationError, parseResponse, message, 1)
            self.assertEqual(error.group, 2)
            self.assertEqual(error.attribute, "notify-status-code")

    def test_otherRequestIdRaises(self) -> None:
        """
        A response to another request is refused.
        """
        self.assertRaises(
            NotificationError, parseResponse, response(0, requestId=8), 1, 9
        )

    def test_otherGroupRaises(self) -> None:
        """
        Groups other than operation, unsupported and event-notification are
        malformed; an unsupported group is tolerated.
        """
        printer = Group(GroupTag.PRINTER, [Attribute.enum("printer-state", 3)])
        self.assertRaises(NotificationError, parseResponse, response(0, printer), 1)
        unsupported = Group(GroupTag.UNSUPPORTED, [Attribute.keyword("x", "y")])
        self.assertEqual(parseResponse(response(0, unsupported), 1).perReport, (0,))

    def test_noOperationGroupTolerated(self) -> None:
        """
        A response without any group is read from its status alone.
        """
        self.assertEqual(
            parseResponse(Message((1, 0), 0x0416, 1), 1).perReport, (0x0505,)
        )

    def test_statusOutOfRangeRaises(self) -> None:
        """
        Status codes above 0x7FFF do not exist.
        """
        self.assertRaises(NotificationError, parseResponse, response(0x8000), 1)


class StatusRuleTests(SynchronousTestCase):
    """
    The status helpers.
    """

    def test_consumed(self) -> None:
        """
        Consumed means 0x0000 or 0x0006, nothing else.
        """
        self.assertEqual(
            [isConsumed(s) for s in (0x0000, 0x0006, 0x0001, 0x0406, 0x0505)],
            [True, True, False, False, False],
        )

    def test_cancels(self) -> None:
        """
        0x0006 and 0x0406 cancel the subscription.
        """
        self.assertEqual(
            [cancelsSubscription(s) for s in (0x0000, 0x0006, 0x0406, 0x0505)],
            [False, True, True, False],
        )

    def test_temporary(self) -> None:
        """
        The server-error class is a temporary failure.
        """
        self.assertEqual(
            [isTemporaryFailure(s) for s in (0x0500, 0x0505, 0x05FF, 0x0406, 0)],
            [True, True, True, False, False],
        )

    def test_overall(self) -> None:
        """
        The overall status: all, some or none consumed.
        """
        self.assertEqual(overallStatus([0, 6]), 0x0000)
        self.assertEqual(overallStatus([0, 0x0406]), 0x0004)
        self.assertEqual(overallStatus([0x0406, 0x0505]), 0x0416)
        self.assertEqual(overallStatus([]), 0x0000)

    def test_reportStatusValues(self) -> None:
        """
        The per-report statuses are the IPP codes.
        """
        self.assertEqual(
            [int(s) for s in ReportStatus], [0x0000, 0x0006, 0x0406, 0x0500, 0x0505]
        )
        self.assertEqual(
            describeStatus(ReportStatus.NOT_FOUND), "client-error-not-found (0x0406)"
        )


class NotifierMessageTests(SynchronousTestCase):
    """
    L{eventFromNotifierMessage}.
    """

    def test_nonZeroCodeRaises(self) -> None:
        """
        A notifier event has code 0.
        """
        message = decode(vector("cups-2.4.2-notifier-event-job-completed.ipp"))
        error = self.assertRaises(
            NotificationError,
            eventFromNotifierMessage,
            message.replace(code=1),
            source="",
        )
        self.assertIn("code 0x0000", str(error))

    def test_oneGroup(self) -> None:
        """
        A notifier event has exactly one event group.
        """
        message = decode(vector("cups-2.4.2-notifier-event-job-completed.ipp"))
        doubled = message.replace(groups=message.groups * 2)
        self.assertRaises(
            NotificationError, eventFromNotifierMessage, doubled, source=""
        )

    def test_errorNamesGroupOne(self) -> None:
        """
        A missing attribute is reported in group 1.
        """
        message = decode(vector("cups-2.4.2-notifier-event-job-completed.ipp"))
        group = Group(
            GroupTag.EVENT_NOTIFICATION,
            [a for a in message.groups[0] if a.name != "notify-subscribed-event"],
        )
        error = self.assertRaises(
            NotificationError,
            eventFromNotifierMessage,
            message.replace(groups=(group,)),
            source="",
        )
        self.assertEqual(error.group, 1)
