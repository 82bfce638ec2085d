"""
The message model: building, looking up, showing.
"""

from __future__ import annotations

import datetime

from twisted.trial.unittest import SynchronousTestCase

from ipp_ntfy.ipp import (
    Attribute,
    Collection,
    DateTime,
    Group,
    GroupTag,
    Message,
    Range,
    Resolution,
    ValueTag,
    decode,
    encode,
    registry,
)
from ipp_ntfy.ipp.format import formatMessage, isRequest, messageToJSON
from ipp_ntfy.ipp.tags import groupTagName, valueTagByName, valueTagName

from .vectors import vector


def subscriptionRequest() -> Message:
    return Message(
        (1, 1),
        0x0016,
        1,
        [
            Group(
                GroupTag.OPERATION,
                [
                    Attribute.charset("attributes-charset", "utf-8"),
                    Attribute.naturalLanguage("attributes-natural-language", "en-us"),
                    Attribute.uri("printer-uri", "ipp://localhost/printers/p1"),
                ],
            ),
            Group(
                GroupTag.SUBSCRIPTION,
                [
                    Attribute.keyword("notify-pull-method", "ippget"),
                    Attribute.keyword(
                        "notify-events", "job-state-changed", "printer-state-changed"
                    ),
                    Attribute.integer("notify-lease-duration", 3600),
                ],
            ),
        ],
    )


class MessageTests(SynchronousTestCase):
    def test_lookup(self) -> None:
        message = decode(vector("cups-2.4.2-get-subscriptions-response.ipp"))
        self.assertEqual(message.operation["attributes-charset"].value, "utf-8")
        self.assertEqual(message.operation.value("attributes-charset"), "utf-8")
        self.assertIsNone(message.operation.get("status-message"))
        self.assertEqual(message.operation.value("status-message", "-"), "-")
        self.assertIn("attributes-natural-language", message.operation)
        self.assertRaises(KeyError, lambda: message.operation["nope"])
        subscriptions = message.groupsOf(GroupTag.SUBSCRIPTION)
        self.assertEqual(len(subscriptions), 2)
        self.assertEqual(subscriptions[0].name, "subscription-attributes-tag")
        events = subscriptions[0]["notify-events"]
        self.assertEqual(events.syntax, "keyword")
        self.assertEqual(len(events.values), len(events.tags))

    def test_operationOfMessageWithoutOne(self) -> None:
        """
        A message with no operation group still answers lookups, with nothing.
        """
        message = decode(vector("cups-2.4.2-notifier-event-printer-stopped.ipp"))
        self.assertEqual(len(message.operation), 0)
        self.assertIsNone(message.operation.get("attributes-charset"))

    def test_builtRequestEncodes(self) -> None:
        """
        The worked example of the fact sheet, built with the Attribute helpers.
        """
        data = encode(subscriptionRequest())
        self.assertEqual(data[:8], bytes.fromhex("0101 0016 00000001"))
        self.assertIn(
            bytes.fromhex("44 000d") + b"notify-events" + bytes.fromhex("0011"), data
        )
        self.assertEqual(decode(data), subscriptionRequest())

    def test_immutable(self) -> None:
        message = subscriptionRequest()
        self.assertRaises(AttributeError, setattr, message, "code", 2)
        self.assertRaises(AttributeError, setattr, message.groups[0], "tag", 2)
        changed = message.replace(requestId=7)
        self.assertEqual(changed.requestId, 7)
        self.assertEqual(message.requestId, 1)
        self.assertRaises(TypeError, message.replace, nope=1)

    def test_equalityAndHash(self) -> None:
        self.assertEqual(subscriptionRequest(), subscriptionRequest())
        self.assertEqual(hash(subscriptionRequest()), hash(subscriptionRequest()))
        self.assertNotEqual(
            subscriptionRequest(), subscriptionRequest().replace(code=5)
        )

    def test_decodedGroupsEqualBuiltOnes(self) -> None:
        """
        A group from the decoder (built lazily) equals the same group built by hand.
        """
        message = decode(encode(subscriptionRequest()))
        self.assertEqual(message.groups[1], subscriptionRequest().groups[1])
        self.assertEqual(
            message.groups[1].names(),
            ["notify-pull-method", "notify-events", "notify-lease-duration"],
        )

    def test_attributeNeedsValues(self) -> None:
        self.assertRaises(ValueError, Attribute.of, "x", ValueTag.INTEGER)

    def test_mixedSyntax(self) -> None:
        attribute = Attribute(
            "job-sheets", ("none", "my-banner"), (ValueTag.KEYWORD, ValueTag.NAME)
        )
        self.assertEqual(attribute.syntax, "keyword|nameWithoutLanguage")

    def test_str(self) -> None:
        text = str(subscriptionRequest())
        self.assertEqual(
            text.splitlines()[0],
            "IPP/1.1 Create-Printer-Subscriptions (0x0016) request-id 1",
        )
        self.assertIn(
            "  notify-events (keyword) = job-state-changed, printer-state-changed",
            text,
        )

    def test_formatCollections(self) -> None:
        message = decode(vector("cups-2.4.2-get-printer-attributes-response.ipp"))
        text = formatMessage(message)
        self.assertIn("  media-col-default (collection) =", text)
        self.assertIn("      x-dimension (integer) = ", text)

    def test_isRequestGuess(self) -> None:
        self.assertTrue(isRequest(subscriptionRequest()))
        self.assertFalse(
            isRequest(
                decode(vector("cups-2.4.2-create-printer-subscriptions-response.ipp"))
            )
        )

    def test_jsonOfEveryValueType(self) -> None:
        group = Group(
            GroupTag.PRINTER,
            [
                Attribute.of("r", ValueTag.RANGE_OF_INTEGER, Range(1, 9)),
                Attribute.of("d", ValueTag.RESOLUTION, Resolution(300, 600, 3)),
                Attribute.collection(
                    "c", Collection([Attribute.integer("x-dimension", 21000)])
                ),
                Attribute.octetString("o", b"\x00\xff"),
            ],
        )
        document = messageToJSON(Message((2, 0), 0, 1, [group]))
        values = [a["values"][0] for a in document["groups"][0]["attributes"]]
        self.assertEqual(
            values,
            [
                {"lower": 1, "upper": 9},
                {"cross-feed": 300, "feed": 600, "units": 3},
                {"x-dimension": [21000]},
                {"octets": "AP8="},
            ],
        )


class ValueTests(SynchronousTestCase):
    def test_dateTimeRoundTrip(self) -> None:
        tz = datetime.timezone(datetime.timedelta(hours=-5, minutes=-30))
        when = datetime.datetime(2026, 11, 23, 18, 17, 27, 400000, tzinfo=tz)
        value = DateTime.fromDatetime(when)
        self.assertEqual(value, DateTime(2026, 11, 23, 18, 17, 27, 4, "-", 5, 30))
        self.assertEqual(value.toDatetime(), when)
        self.assertEqual(str(value), "2026-11-23T18:17:27.4-05:30")

    def test_leapSecond(self) -> None:
        value = DateTime(2016, 12, 31, 23, 59, 60, 0, "+", 0, 0)
        self.assertEqual(value.toDatetime().second, 59)

    def test_resolutionStr(self) -> None:
        self.assertEqual(str(Resolution(600, 600, 3)), "600dpi")
        self.assertEqual(str(Resolution(300, 600, 4)), "300x600dpcm")

    def test_collectionLookup(self) -> None:
        size = Collection(
            [
                Attribute.integer("x-dimension", 21000),
                Attribute.integer("y-dimension", 29700),
            ]
        )
        media = Collection([Attribute.collection("media-size", size)])
        inner = media.value("media-size")
        assert isinstance(inner, Collection)
        self.assertEqual(inner.value("y-dimension"), 29700)
        self.assertEqual(media, Collection([Attribute.collection("media-size", size)]))
        self.assertRaises(AttributeError, setattr, media, "attributes", ())


class RegistryTests(SynchronousTestCase):
    def test_names(self) -> None:
        self.assertEqual(registry.operationName(0x001C), "Get-Notifications")
        self.assertEqual(registry.operationName(0x7777), "operation-0x7777")
        self.assertEqual(registry.operationId("Cancel-Subscription"), 0x001B)
        self.assertEqual(registry.statusName(0x0406), "client-error-not-found")
        self.assertEqual(registry.statusName(0x04FF), "client-error-0x04ff")
        self.assertEqual(registry.statusCode("successful-ok-ignored-notifications"), 4)
        self.assertEqual(registry.enumName("job-state", 9), "completed")
        self.assertEqual(registry.enumName("printer-state-default", 5), "stopped")
        self.assertIsNone(registry.enumName("no-such", 1))

    def test_tagNames(self) -> None:
        self.assertEqual(groupTagName(7), "event-notification-attributes-tag")
        self.assertEqual(groupTagName(0x0B), "group-tag-0x0b")
        self.assertEqual(valueTagName(0x44), "keyword")
        self.assertEqual(valueTagName(0x99), "tag-0x99")
        self.assertEqual(valueTagByName("text"), 0x41)
