"""
Tests for L{ipp_ntfy.ipp.encode}: the encoder refuses what the decoder refuses, each
failure an L{IppEncodeError} that says where and why; and the L{Attribute} builders
give the octets of RFC 8010 (the worked examples of ipp-facts.md 1.11).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, List, Tuple

from twisted.trial.unittest import SynchronousTestCase

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
    OutOfBand,
    Range,
    Resolution,
    TextWithLanguage,
    Unknown,
    ValueTag,
    decode,
    encode,
)

encodeModule = importlib.import_module("ipp_ntfy.ipp.encode")
compileGroupEncoder = encodeModule.compileGroupEncoder

VECTORS = Path(__file__).parent / "vectors"
OPERATION = "group 1 (operation-attributes-tag)"


def message(*attributes, tag=GroupTag.OPERATION, data=b""):
    """
    A response (version 2.0, successful-ok, request-id 1) with one group.
    """
    return Message((2, 0), 0, 1, [Group(tag, attributes)], data)


def nested(depth):
    """
    An attribute "c" of C{depth} collections one inside the other, each the value
    of member "x" of the one outside.
    """
    value = Collection()
    for _ in range(depth - 1):
        value = Collection([Attribute.collection("x", value)])
    return Attribute.collection("c", value)


class EncodeErrorTests(SynchronousTestCase):
    """
    Each thing the encoder refuses, with the path and the reason of its error.
    """

    def assertEncodeError(self, message, path, reason, limits=None, lenient=False):
        e = self.assertRaises(IppEncodeError, encode, message, limits, lenient)
        self.assertEqual(e.path, path)
        self.assertIn(reason, e.reason)
        self.assertEqual(str(e), f"{path}: {e.reason}")
        return e

    def assertDecoderRefuses(self, message, limits, reason):
        """
        What the encoder refuses under C{limits}, written without them, is what
        the decoder refuses under them.
        """
        data = encode(message)
        e = self.assertRaises(IppDecodeError, decode, data, limits)
        self.assertIn(reason, e.reason)

    def test_wrongPythonType(self):
        """
        A value whose Python type does not fit its tag is refused.
        """
        cases: List[Tuple[int, Any, str]] = [
            (0x44, 1, "keyword value must be str, not int"),
            (0x41, b"x", "textWithoutLanguage value must be str, not bytes"),
            (0x21, "1", "integer value must be int, not str"),
            (0x23, 1.0, "enum value must be int, not float"),
            (0x22, 1, "boolean value must be bool, not int"),
            (0x30, "x", "octetString value must be bytes, not str"),
            (0x30, bytearray(b"x"), "octetString value must be bytes, not bytearray"),
            (0x31, (2026, 1, 1), "dateTime value must be DateTime, not tuple"),
            (0x32, Range(1, 2), "resolution value must be Resolution, not Range"),
            (0x33, (1, 2), "rangeOfInteger value must be Range, not tuple"),
            (0x35, "x", "textWithLanguage value must be TextWithLanguage, not str"),
            (0x36, ("x", "en"), "nameWithLanguage value must be TextWithLanguage"),
            (0x13, None, "no-value value must be OutOfBand(0x13), not NoneType"),
            (0x13, OutOfBand(0x12), "no-value value must be OutOfBand(0x13)"),
            (0x40, b"x", "tag-0x40 value must be Unknown(0x40, ...), not bytes"),
            (0x7F, b"\0\0\0\1", "extension value must be Unknown(0x7f, ...)"),
            (0x34, "x", "collection value must be a Collection"),
        ]
        for tag, value, reason in cases:
            self.assertEncodeError(
                message(Attribute("a", (value,), (tag,))),
                f"{OPERATION}, a, value 1",
                reason,
            )

    def test_wrongTypeOfAdditionalValue(self):
        """
        The path names the value at fault.
        """
        attribute = Attribute("a", ("x", "y", 3), (0x44, 0x44, 0x44))
        self.assertEncodeError(
            message(attribute),
            f"{OPERATION}, a, value 3",
            "keyword value must be str, not int",
        )

    def test_wrongTypeInMember(self):
        """
        The path of a member value names the collection and the member.
        """
        inner = Collection([Attribute("x", (1,), (0x44,))])
        self.assertEncodeError(
            message(Attribute.collection("c", inner)),
            f"{OPERATION}, c, value 1, member x, value 1",
            "keyword value must be str, not int",
        )

    def test_integerOutOfRange(self):
        """
        Integers and enums must fit in 32 signed bits.
        """
        for builder, syntax in (
            (Attribute.integer, "integer"),
            (Attribute.enum, "enum"),
        ):
            for value in (2**31, -(2**31) - 1):
                self.assertEncodeError(
                    message(builder("a", value)),
                    f"{OPERATION}, a, value 1",
                    f"{syntax} value {value} out of 32-bit range",
                )
            data = encode(message(builder("a", 2**31 - 1, -(2**31))))
            self.assertEqual(decode(data).operation["a"].values, (2**31 - 1, -(2**31)))

    def test_boolForInteger(self):
        """
        C{True} is an C{int} to Python but not an integer to IPP.
        """
        self.assertEncodeError(
            message(Attribute("a", (True,), (0x21,))),
            f"{OPERATION}, a, value 1",
            "integer value must be int, not bool",
        )
        self.assertEncodeError(
            message(Attribute("a", (False,), (0x23,))),
            f"{OPERATION}, a, value 1",
            "enum value must be int, not bool",
        )

    def test_loneSurrogate(self):
        """
        Strict mode refuses a string that is not valid Unicode; lenient mode
        writes surrogate escapes back as the octets they stand for.
        """
        bad = message(Attribute.text("a", "x\udcff"))
        self.assertEncodeError(
            bad,
            f"{OPERATION}, a, value 1",
            "textWithoutLanguage value is not valid Unicode",
        )
        data = encode(bad, lenient=True)
        self.assertEqual(data[-3:], b"x\xff\x03")
        self.assertEqual(decode(data, lenient=True), bad)
        self.assertRaises(IppDecodeError, decode, data)

    def test_loneSurrogateNotAnEscape(self):
        """
        A lone surrogate that no lenient decode makes is refused in both modes.
        """
        for lenient in (False, True):
            self.assertEncodeError(
                message(Attribute.keyword("a", "\ud800")),
                f"{OPERATION}, a, value 1",
                "keyword value is not valid Unicode",
                lenient=lenient,
            )

    def test_loneSurrogateWithLanguage(self):
        """
        Both strings of a textWithLanguage must be valid Unicode.
        """
        for value in (
            TextWithLanguage("\udcff", "en"),
            TextWithLanguage("x", "\udcff"),
        ):
            self.assertEncodeError(
                message(Attribute("a", (value,), (0x35,))),
                f"{OPERATION}, a, value 1",
                "textWithLanguage value is not valid Unicode",
            )

    def test_emptyName(self):
        """
        An attribute needs a name: name-length 0 would make it an additional value.
        """
        for lenient in (False, True):
            self.assertEncodeError(
                message(Attribute.keyword("", "x")),
                f"{OPERATION}, ",
                "attribute name must be a non-empty string",
                lenient=lenient,
            )

    def test_nonAsciiName(self):
        """
        Strict mode refuses a non-ASCII name; lenient mode writes it in UTF-8,
        which only a lenient decode takes back.
        """
        bad = message(Attribute.keyword("é", "x"))
        self.assertEncodeError(bad, f"{OPERATION}, é", "attribute name is not US-ASCII")
        data = encode(bad, lenient=True)
        self.assertIn(b"\x44\x00\x02\xc3\xa9", data)
        self.assertEqual(decode(data, lenient=True), bad)
        e = self.assertRaises(IppDecodeError, decode, data)
        self.assertIn("attribute name is not US-ASCII", e.reason)

    def test_emptyMemberName(self):
        """
        Strict mode refuses an empty member name; lenient mode writes it, as a
        lenient decode reads it.
        """
        bad = message(Attribute.collection("c", Collection([Attribute.integer("", 1)])))
        self.assertEncodeError(
            bad,
            f"{OPERATION}, c, value 1, member ",
            "member name must be a non-empty string",
        )
        data = encode(bad, lenient=True)
        self.assertEqual(decode(data, lenient=True), bad)

    def test_nonAsciiMemberName(self):
        """
        Member names must be US-ASCII too.
        """
        bad = message(
            Attribute.collection("c", Collection([Attribute.integer("é", 1)]))
        )
        self.assertEncodeError(
            bad, f"{OPERATION}, c, value 1, member é", "member name is not US-ASCII"
        )
        self.assertEqual(decode(encode(bad, lenient=True), lenient=True), bad)

    def test_nameTooLong(self):
        """
        A name longer than L{Limits.maxNameBytes} is refused.
        """
        limits = Limits(maxNameBytes=2)
        bad = message(Attribute.keyword("abc", "x"))
        self.assertEncodeError(
            bad, f"{OPERATION}, abc", "name is over the limit of 2 bytes", limits
        )
        self.assertDecoderRefuses(bad, limits, "name-length 3 is over the limit of 2")

    def test_memberNameTooLong(self):
        """
        A member name is a value: L{Limits.maxValueBytes} bounds it.
        """
        limits = Limits(maxValueBytes=2)
        bad = message(
            Attribute.collection("c", Collection([Attribute.integer("xyz", 1)]))
        )
        self.assertEncodeError(
            bad,
            f"{OPERATION}, c, value 1, member xyz",
            "member name is too long",
            limits,
        )
        self.assertDecoderRefuses(bad, limits, "value-length 3 is over the limit of 2")

    def test_tooManyValues(self):
        """
        More values than L{Limits.maxValues} are refused.
        """
        limits = Limits(maxValues=2)
        bad = message(Attribute.keyword("a", "x", "y", "z"))
        self.assertEncodeError(bad, f"{OPERATION}, a", "more than 2 values", limits)
        self.assertDecoderRefuses(bad, limits, "attribute 'a' has more than 2 values")
        encode(message(Attribute.keyword("a", "x", "y")), limits)

    def test_tooManyMemberValues(self):
        """
        L{Limits.maxValues} bounds the values of a member too.
        """
        limits = Limits(maxValues=2)
        bad = message(
            Attribute.collection("c", Collection([Attribute.integer("x", 1, 2, 3)]))
        )
        self.assertEncodeError(
            bad, f"{OPERATION}, c, value 1, member x", "more than 2 values", limits
        )
        self.assertDecoderRefuses(bad, limits, "member 'x' has more than 2 values")

    def test_valueTooLong(self):
        """
        A value longer than L{Limits.maxValueBytes} is refused.
        """
        limits = Limits(maxValueBytes=2)
        bad = message(Attribute.octetString("a", b"abc"))
        self.assertEncodeError(
            bad,
            f"{OPERATION}, a, value 1",
            "value of 3 bytes is over the limit of 2",
            limits,
        )
        self.assertDecoderRefuses(bad, limits, "value-length 3 is over the limit of 2")

    def test_valueTooLongDefault(self):
        """
        By default a value may have 32767 octets, and not one more.
        """
        encode(message(Attribute.octetString("a", b"x" * 32767)))
        self.assertEncodeError(
            message(Attribute.text("a", "é" * 16384)),
            f"{OPERATION}, a, value 1",
            "value of 32768 bytes is over the limit of 32767",
        )

    def test_nestingTooDeep(self):
        """
        Collections nested deeper than L{Limits.maxDepth} are refused at the
        first level too deep.
        """
        self.assertEqual(decode(encode(message(nested(10)))), message(nested(10)))
        self.assertEncodeError(
            message(nested(11)),
            f"{OPERATION}, c, value 1" + ", member x, value 1" * 10,
            "collections nest deeper than 10 levels",
        )
        limits = Limits(maxDepth=2)
        self.assertEncodeError(
            message(nested(3)),
            f"{OPERATION}, c, value 1, member x, value 1, member x, value 1",
            "collections nest deeper than 2 levels",
            limits,
        )
        self.assertDecoderRefuses(message(nested(3)), limits, "nests deeper than 2")

    def test_tooManyAttributes(self):
        """
        Attributes and members count toward L{Limits.maxAttributes}.
        """
        limits = Limits(maxAttributes=2)
        bad = message(
            Attribute.collection(
                "c", Collection([Attribute.integer("x", 1), Attribute.integer("y", 2)])
            )
        )
        self.assertEncodeError(
            bad, f"{OPERATION}, c, value 1, member y", "more than 2 attributes", limits
        )
        self.assertDecoderRefuses(bad, limits, "more than 2 attributes")
        self.assertEncodeError(
            Message(
                (2, 0),
                0,
                1,
                [
                    Group(1, [Attribute.keyword("a", "x")]),
                    Group(
                        4, [Attribute.keyword("a", "x"), Attribute.keyword("b", "x")]
                    ),
                ],
            ),
            "group 2 (printer-attributes-tag), b",
            "more than 2 attributes",
            limits,
        )

    def test_messageTooLong(self):
        """
        A message (document data included) over L{Limits.maxMessageBytes} is
        refused.
        """
        limits = Limits(maxMessageBytes=10)
        bad = message(data=b"%!")
        self.assertEqual(len(encode(bad)), 12)
        self.assertEncodeError(
            bad, "message", "12 bytes is over the limit of 10 bytes", limits
        )
        self.assertDecoderRefuses(bad, limits, "over the limit of 10 bytes")

    def test_duplicateName(self):
        """
        Strict mode refuses a name twice in a group; lenient mode writes both.
        """
        bad = message(Attribute.keyword("a", "x"), Attribute.integer("a", 1))
        self.assertEncodeError(
            bad, OPERATION, "attribute 'a' appears twice in the group"
        )
        self.assertEqual(decode(encode(bad, lenient=True), lenient=True), bad)

    def test_groupTag(self):
        """
        A group tag must be a delimiter tag other than the end tag; the reserved
        0x00 only in lenient mode.
        """
        for tag, name in (
            (0x03, "end-of-attributes-tag"),
            (0x10, "group-tag-0x10"),
            (-1, "group-tag-0x-1"),
            (0x00, "reserved-group-tag"),
        ):
            self.assertEncodeError(
                message(tag=tag),
                f"group 1 ({name})",
                f"0x{tag:02x} is not a group delimiter tag",
            )
        for tag, name in ((0x03, "end-of-attributes-tag"), (0x10, "group-tag-0x10")):
            self.assertEncodeError(
                message(tag=tag),
                f"group 1 ({name})",
                "is not a group delimiter tag",
                lenient=True,
            )
        self.assertEqual(encode(message(tag=0x00), lenient=True)[8:], b"\x00\x03")

    def test_collectionFramingAsValue(self):
        """
        endCollection and memberAttrName are no value tags, even with a value
        that is raw octets, even in lenient mode.
        """
        for tag, syntax in ((0x37, "endCollection"), (0x4A, "memberAttrName")):
            for value in ("x", b"", Unknown(tag, b"")):
                for lenient in (False, True):
                    self.assertEncodeError(
                        message(Attribute("a", (value,), (tag,))),
                        f"{OPERATION}, a, value 1",
                        f"{syntax} is part of a collection's encoding, not a value",
                        lenient=lenient,
                    )

    def test_collectionFramingAsMemberValue(self):
        """
        Nor are they values of a member.
        """
        for tag in (0x37, 0x4A):
            inner = Collection([Attribute("x", ("y",), (tag,))])
            self.assertEncodeError(
                message(Attribute.collection("c", inner)),
                f"{OPERATION}, c, value 1, member x",
                f"0x{tag:02x} cannot be a value",
            )

    def test_unknownUnderInterpretedTag(self):
        """
        An L{Unknown} under a tag the decoder interprets would not decode back to
        itself: strict mode refuses it, lenient mode writes its octets.
        """
        for tag, syntax, octets in (
            (0x21, "integer", b"\0\0\0\1"),
            (0x22, "boolean", b"\x02"),
            (0x31, "dateTime", b"\0" * 11),
            (0x35, "textWithLanguage", b"\0"),
            (0x44, "keyword", b"x"),
            (0x13, "no-value", b""),
        ):
            bad = message(Attribute("a", (Unknown(tag, octets),), (tag,)))
            self.assertEncodeError(
                bad,
                f"{OPERATION}, a, value 1",
                f"{syntax} value cannot be Unknown: the decoder interprets it",
            )
            self.assertTrue(encode(bad, lenient=True).endswith(octets + b"\x03"))

    def test_unknownUnderOtherTag(self):
        """
        An L{Unknown} must be written under its own tag.
        """
        self.assertEncodeError(
            message(Attribute("a", (Unknown(0x40, b""),), (0x41,))),
            f"{OPERATION}, a, value 1",
            "Unknown value of tag 0x40 under tag 0x41",
        )

    def test_extensionTag(self):
        """
        An extension value needs a 4-octet tag without its high bit set.
        """
        for octets in (b"", b"\x40\0\0", b"\x80\0\0\1"):
            bad = message(Attribute("a", (Unknown(0x7F, octets),), (0x7F,)))
            self.assertEncodeError(
                bad,
                f"{OPERATION}, a, value 1",
                "extension value needs a 4-octet tag below 0x80000000",
            )
            self.assertEqual(decode(encode(bad, lenient=True), lenient=True), bad)

    def test_noValues(self):
        """
        An attribute, or a member, needs at least one value.
        """
        self.assertEncodeError(
            message(Attribute("a", (), ())),
            f"{OPERATION}, a",
            "an attribute needs at least one value",
        )
        self.assertEncodeError(
            message(Attribute.collection("c", Collection([Attribute("x", (), ())]))),
            f"{OPERATION}, c, value 1, member x",
            "a member needs values, one tag for each",
        )
        self.assertRaises(ValueError, Attribute.of, "a", ValueTag.KEYWORD)

    def test_valuesAndTagsDisagree(self):
        """
        An attribute has one tag per value.
        """
        self.assertEncodeError(
            message(Attribute("a", ("x", "y"), (0x44,))),
            f"{OPERATION}, a",
            "2 values but 1 tags",
        )
        self.assertEncodeError(
            message(
                Attribute.collection("c", Collection([Attribute("x", ("y",), ())]))
            ),
            f"{OPERATION}, c, value 1, member x",
            "a member needs values, one tag for each",
        )

    def test_notAValueTag(self):
        """
        A value tag is a number from 0x10 to 0xFF.
        """
        for tag in (0x05, 0x100):
            self.assertEncodeError(
                message(Attribute("a", ("x",), (tag,))),
                f"{OPERATION}, a, value 1",
                f"0x{tag:02x} is not a value tag",
            )
            self.assertEncodeError(
                message(Attribute("a", ("x", "y"), (0x44, tag))),
                f"{OPERATION}, a, value 2",
                f"0x{tag:02x} is not a value tag",
            )

    def test_header(self):
        """
        The header fields must fit their octets.
        """
        for version, code, requestId, reason in (
            ((256, 0), 0, 1, "version (256, 0) out of range"),
            ((2, -1), 0, 1, "version (2, -1) out of range"),
            ((2, 0), 0x10000, 1, "code 65536 out of range"),
            ((2, 0), -1, 1, "code -1 out of range"),
            ((2, 0), 0, 2**31, "request-id 2147483648 out of 32-bit range"),
        ):
            self.assertEncodeError(Message(version, code, requestId), "header", reason)

    def test_dateTime(self):
        """
        A dateTime needs a UTC direction and fields that fit their octets.
        """
        self.assertEncodeError(
            message(
                Attribute("a", (DateTime(2026, 1, 1, 0, 0, 0, 0, "", 0, 0),), (0x31,))
            ),
            f"{OPERATION}, a, value 1",
            "dateTime UTC direction must be '+' or '-'",
        )
        self.assertEncodeError(
            message(
                Attribute("a", (DateTime(65536, 1, 1, 0, 0, 0, 0, "+", 0, 0),), (0x31,))
            ),
            f"{OPERATION}, a, value 1",
            "out of range",
        )

    def test_resolutionAndRange(self):
        """
        Resolutions and ranges must fit their octets.
        """
        for value, tag in (
            (Resolution(2**31, 1, 3), 0x32),
            (Resolution(1, 1, 128), 0x32),
            (Range(0, 2**31), 0x33),
            (Range("0", 1), 0x33),  # type: ignore[arg-type]
        ):
            e = self.assertEncodeError(
                message(Attribute("a", (value,), (tag,))),
                f"{OPERATION}, a, value 1",
                f"value {value!r} out of range",
            )
            self.assertIsNone(e.__cause__)


class BuilderTests(SynchronousTestCase):
    """
    The L{Attribute} builders and the encoder give the octets of RFC 8010.
    """

    def assertEncodes(self, message, expected):
        """
        C{message} encodes to the hex C{expected}, which decodes back to it.
        """
        data = encode(message)
        self.assertEqual(data.hex(" "), bytes.fromhex(expected).hex(" "))
        self.assertEqual(decode(data), message)

    def test_createPrinterSubscriptions(self):
        """
        The Create-Printer-Subscriptions request of ipp-facts.md 1.11.
        """
        request = Message(
            (1, 1),
            0x0016,
            1,
            [
                Group(
                    GroupTag.OPERATION,
                    [
                        Attribute.charset("attributes-charset", "utf-8"),
                        Attribute.naturalLanguage(
                            "attributes-natural-language", "en-us"
                        ),
                        Attribute.uri("printer-uri", "ipp://localhost/printers/p1"),
                    ],
                ),
                Group(
                    GroupTag.SUBSCRIPTION,
                    [
                        Attribute.keyword("notify-pull-method", "ippget"),
                        Attribute.keyword(
                            "notify-events",
                            "job-state-changed",
                            "printer-state-changed",
                        ),
                        Attribute.integer("notify-lease-duration", 3600),
                    ],
                ),
            ],
        )
        self.assertEncodes(
            request,
            "0101"  # version 1.1
            "0016"  # operation-id Create-Printer-Subscriptions
            "00000001"  # request-id 1
            "01"  # operation-attributes-tag
            "47 0012 617474726962757465732d63686172736574"  # "attributes-charset"
            "0005 7574662d38"  # "utf-8"
            "48 001b 617474726962757465732d6e61747572616c2d6c616e6775616765"
            # "attributes-natural-language"
            "0005 656e2d7573"  # "en-us"
            "45 000b 7072696e7465722d757269"  # "printer-uri"
            "001b 6970703a2f2f6c6f63616c686f73742f7072696e746572732f7031"
            # "ipp://localhost/printers/p1"
            "06"  # subscription-attributes-tag
            "44 0012 6e6f746966792d70756c6c2d6d6574686f64"  # "notify-pull-method"
            "0006 697070676574"  # "ippget"
            "44 000d 6e6f746966792d6576656e7473"  # "notify-events"
            "0011 6a6f622d73746174652d6368616e676564"  # "job-state-changed"
            "44 0000"  # second value
            "0015 7072696e7465722d73746174652d6368616e676564"
            # "printer-state-changed"
            "21 0015 6e6f746966792d6c656173652d6475726174696f6e"
            # "notify-lease-duration"
            "0004 00000e10"  # 3600
            "03",  # end-of-attributes-tag
        )

    def test_createPrinterSubscriptionsResponse(self):
        """
        The matching response of ipp-facts.md 1.11.
        """
        response = Message(
            (1, 1),
            0x0000,
            1,
            [
                Group(
                    GroupTag.OPERATION,
                    [
                        Attribute.charset("attributes-charset", "utf-8"),
                        Attribute.naturalLanguage(
                            "attributes-natural-language", "en-us"
                        ),
                    ],
                ),
                Group(
                    GroupTag.SUBSCRIPTION,
                    [
                        Attribute.integer("notify-subscription-id", 42),
                        Attribute.integer("notify-lease-duration", 3600),
                    ],
                ),
            ],
        )
        self.assertEncodes(
            response,
            "0101 0000 00000001"  # version 1.1, successful-ok, request-id 1
            "01"  # operation-attributes-tag
            "47 0012 617474726962757465732d63686172736574"  # "attributes-charset"
            "0005 7574662d38"  # "utf-8"
            "48 001b 617474726962757465732d6e61747572616c2d6c616e6775616765"
            # "attributes-natural-language"
            "0005 656e2d7573"  # "en-us"
            "06"  # subscription-attributes-tag
            "21 0016 6e6f746966792d737562736372697074696f6e2d6964"
            # "notify-subscription-id"
            "0004 0000002a"  # 42
            "21 0015 6e6f746966792d6c656173652d6475726174696f6e"
            # "notify-lease-duration"
            "0004 00000e10"  # 3600
            "03",  # end-of-attributes-tag
        )

    def test_eventNotification(self):
        """
        Part of the Event Notification group of ipp-facts.md 1.11.
        """
        event = Group(
            GroupTag.EVENT_NOTIFICATION,
            [
                Attribute.integer("notify-subscription-id", 42),
                Attribute.keyword("notify-subscribed-event", "job-state-changed"),
                Attribute.octetString("notify-user-data", b""),
                Attribute.enum("job-state", 5),
            ],
        )
        self.assertEncodes(
            Message((2, 0), 0, 0, [event]),
            "0200 0000 00000000"  # version 2.0, successful-ok, request-id 0
            "07"  # event-notification-attributes-tag
            "21 0016 6e6f746966792d737562736372697074696f6e2d6964"
            # "notify-subscription-id"
            "0004 0000002a"  # 42
            "44 0017 6e6f746966792d737562736372696265642d6576656e74"
            # "notify-subscribed-event"
            "0011 6a6f622d73746174652d6368616e676564"  # "job-state-changed"
            "30 0010 6e6f746966792d757365722d64617461"  # "notify-user-data"
            "0000"  # empty
            "23 0009 6a6f622d7374617465"  # "job-state"
            "0004 00000005"  # processing
            "03",  # end-of-attributes-tag
        )

    def test_mediaCol(self):
        """
        The nested collection of ipp-facts.md 1.11.
        """
        mediaCol = Attribute.collection(
            "media-col",
            Collection(
                [
                    Attribute.collection(
                        "media-size",
                        Collection(
                            [
                                Attribute.integer("x-dimension", 21000),
                                Attribute.integer("y-dimension", 29700),
                            ]
                        ),
                    )
                ]
            ),
        )
        self.assertEncodes(
            message(mediaCol, tag=GroupTag.JOB),
            "0200 0000 00000001"  # version 2.0, successful-ok, request-id 1
            "02"  # job-attributes-tag
            "34 0009 6d656469612d636f6c 0000"  # begCollection "media-col"
            "4a 0000 000a 6d656469612d73697a65"  # memberAttrName "media-size"
            "34 0000 0000"  # begCollection
            "4a 0000 000b 782d64696d656e73696f6e"  # memberAttrName "x-dimension"
            "21 0000 0004 00005208"  # integer 21000
            "4a 0000 000b 792d64696d656e73696f6e"  # memberAttrName "y-dimension"
            "21 0000 0004 00007404"  # integer 29700
            "37 0000 0000"  # endCollection (media-size)
            "37 0000 0000"  # endCollection (media-col)
            "03",  # end-of-attributes-tag
        )

    def test_setOfCollection(self):
        """
        The second collection value opens with name-length 0.
        """
        self.assertEncodes(
            message(
                Attribute.collection(
                    "c", Collection([Attribute.boolean("x", True)]), Collection()
                )
            ),
            "0200 0000 00000001 01"  # header, operation-attributes-tag
            "34 0001 63 0000"  # begCollection "c"
            "4a 0000 0001 78"  # memberAttrName "x"
            "22 0000 0001 01"  # boolean true
            "37 0000 0000"  # endCollection
            "34 0000 0000"  # begCollection, second value
            "37 0000 0000"  # endCollection
            "03",  # end-of-attributes-tag
        )

    def test_builders(self):
        """
        Each builder gives its value tag to every value.
        """
        cases = [
            (Attribute.keyword("a", "b", "c"), "44 0001 61 0001 62 44 0000 0001 63"),
            (Attribute.integer("a", -1), "21 0001 61 0004 ffffffff"),
            (Attribute.enum("a", 3), "23 0001 61 0004 00000003"),
            (Attribute.boolean("a", False, True), "22 0001 61 0001 00 22 0000 0001 01"),
            (Attribute.text("a", "é"), "41 0001 61 0002 c3a9"),
            (Attribute.nameValue("a", "p"), "42 0001 61 0001 70"),
            (Attribute.uri("a", "ipp:"), "45 0001 61 0004 6970703a"),
            (Attribute.uriScheme("a", "ipp"), "46 0001 61 0003 697070"),
            (Attribute.charset("a", "utf-8"), "47 0001 61 0005 7574662d38"),
            (Attribute.naturalLanguage("a", "en"), "48 0001 61 0002 656e"),
            (Attribute.mimeMediaType("a", "a/b"), "49 0001 61 0003 612f62"),
            (Attribute.octetString("a", b"\0\xff"), "30 0001 61 0002 00ff"),
            (Attribute.collection("a", Collection()), "34 0001 61 0000 37 0000 0000"),
        ]
        for attribute, field in cases:
            self.assertEncodes(
                message(attribute),
                "0200 0000 00000001 01"  # header, operation-attributes-tag
                + field
                + "03",  # end-of-attributes-tag
            )

    def test_otherSyntaxes(self):
        """
        The syntaxes without a builder, through L{Attribute.of}.
        """
        cases = [
            (
                Attribute.of(
                    "a", ValueTag.DATE_TIME, DateTime(2026, 2, 3, 4, 5, 6, 7, "+", 1, 0)
                ),
                "31 0001 61 000b 07ea 02 03 04 05 06 07 2b 01 00",
            ),
            (
                Attribute.of("a", ValueTag.RESOLUTION, Resolution(600, 300, 4)),
                "32 0001 61 0009 00000258 0000012c 04",
            ),
            (
                Attribute.of("a", ValueTag.RANGE_OF_INTEGER, Range(-1, 1)),
                "33 0001 61 0008 ffffffff 00000001",
            ),
            (
                Attribute.of(
                    "a", ValueTag.NAME_WITH_LANGUAGE, TextWithLanguage("p", "en")
                ),
                "36 0001 61 0007 0002 656e 0001 70",
            ),
            (
                Attribute.of("a", ValueTag.NO_VALUE, OutOfBand(ValueTag.NO_VALUE)),
                "13 0001 61 0000",
            ),
            (
                Attribute.of("a", ValueTag.EXTENSION, Unknown(0x7F, b"\x40\0\0\1\xaa")),
                "7f 0001 61 0005 40000001 aa",
            ),
            (Attribute.of("a", 0x60, Unknown(0x60, b"\xbb")), "60 0001 61 0001 bb"),
        ]
        for attribute, field in cases:
            self.assertEncodes(
                message(attribute),
                "0200 0000 00000001 01"  # header, operation-attributes-tag
                + field
                + "03",  # end-of-attributes-tag
            )

    def test_documentDataAndEmptyGroups(self):
        """
        Empty groups are a bare tag; document data follows the end tag.
        """
        self.assertEncodes(
            Message(
                (1, 0),
                0x0002,
                -1,
                [Group(GroupTag.OPERATION), Group(GroupTag.SUBSCRIPTION)],
                b"%!PS",
            ),
            "0100 0002 ffffffff"  # version 1.0, Print-Job, request-id -1
            "01"  # operation-attributes-tag
            "06"  # subscription-attributes-tag
            "03"  # end-of-attributes-tag
            "25215053",  # "%!PS"
        )


def carefulEncode(message, limits=None, lenient=False):
    """
    Encode with the careful encoder alone, never the fast path.
    """
    return encodeModule._Encoder(limits or DEFAULT_LIMITS, lenient).message(message)


def outcome(function, *args):
    """
    What C{function(*args)} gives: its result, or the facts of its encode error.
    """
    try:
        return function(*args)
    except IppEncodeError as e:
        return ("error", e.path, e.reason)


class FastEncodeTests(SynchronousTestCase):
    """
    The fast path writes what the careful encoder writes, and its caches (of names,
    strings, whole fields and collections) never let through what the careful one
    refuses.
    """

    def assertPathsAgree(self, message, limits=None):
        """
        L{encode} and the careful encoder give the same octets or the same error.
        """
        self.assertEqual(
            outcome(encode, message, limits), outcome(carefulEncode, message, limits)
        )

    def test_vectors(self):
        """
        The fast path encodes every captured message by itself, to the octets of
        the careful encoder; twice, with its caches full the second time.
        """
        paths = sorted(VECTORS.glob("*.ipp"))
        self.assertTrue(paths)
        for _ in range(2):
            for path in paths:
                decoded = decode(path.read_bytes())
                built = Message(
                    decoded.version,
                    decoded.code,
                    decoded.requestId,
                    [Group(g.tag, g.attributes) for g in decoded.groups],
                    decoded.data,
                )
                for m in (decoded, built):
                    fast = encodeModule._fastEncode(m, DEFAULT_LIMITS)
                    self.assertEqual(fast, carefulEncode(m))
                    self.assertEqual(fast, encode(m, lenient=True))

    def test_boolAfterInt(self):
        """
        C{True == 1 == 1.0}: an attribute known with an integer 1 is equal to one
        with C{True} or C{1.0}, which are still no integers; and the other way round
        for booleans.
        """
        cases: List[Tuple[int, Any, str]] = [
            (1, True, "integer value must be int, not bool"),
            (0, False, "integer value must be int, not bool"),
            (1, 1.0, "integer value must be int, not float"),
        ]
        for good, bad, reason in cases:
            encode(message(Attribute("a", (good,), (0x21,))))
            e = self.assertRaises(
                IppEncodeError, encode, message(Attribute("a", (bad,), (0x21,)))
            )
            self.assertEqual(e.reason, reason)
        for good, bad in ((True, 1), (False, 0)):
            encode(message(Attribute("b", (good,), (0x22,))))
            e = self.assertRaises(
                IppEncodeError, encode, message(Attribute("b", (bad,), (0x22,)))
            )
            self.assertEqual(e.reason, "boolean value must be bool, not int")

    def test_stringSubclass(self):
        """
        A value of a subclass of C{str}, or C{int}, is written as its plain value.
        """

        class Keyword(str):
            pass

        for value, plain, tag in (
            (Keyword("x"), "x", 0x44),
            (ValueTag.KEYWORD, 0x44, 0x23),
        ):
            encode(message(Attribute("a", (plain,), (tag,))))
            self.assertEqual(
                encode(message(Attribute("a", (value,), (tag,)))),
                carefulEncode(message(Attribute("a", (plain,), (tag,)))),
            )

    def test_knownCollectionDeeper(self):
        """
        A collection encoded within the depth limit is refused where, as the same
        object, it would nest one level too deep.
        """
        ten = nested(10)
        encode(message(ten))
        eleven = Attribute.collection("c", Collection([Attribute("x", *ten[1:])]))
        self.assertPathsAgree(message(eleven))
        self.assertRaises(IppEncodeError, encode, message(eleven))

    def test_knownCollectionCountsMembers(self):
        """
        The members of a known collection count toward the attribute limit, as
        many times as it is written.
        """
        value = Collection(Attribute.integer(f"m{i}", i) for i in range(1000))
        encode(message(Attribute.collection("c", value)))
        many = message(Attribute.collection("c", *[value] * 66))
        e = self.assertRaises(IppEncodeError, encode, many)
        self.assertEqual(e.reason, "more than 65536 attributes")
        self.assertPathsAgree(many)

    def test_knownCollectionOtherLimits(self):
        """
        Under other limits, a known collection is checked again.
        """
        value = Collection([Attribute.keyword("m", "x" * 10)])
        encode(message(Attribute.collection("c", value)))
        self.assertPathsAgree(
            message(Attribute.collection("c", value)), Limits(maxValueBytes=9)
        )
        self.assertPathsAgree(
            message(Attribute.collection("c", value)), Limits(maxDepth=0)
        )

    def test_limitsDefault(self):
        """
        Under the default limits, a name or a value of 32768 octets is refused.
        """
        for attribute, path, reason in (
            (
                Attribute.keyword("a" * 32768, "x"),
                f"{OPERATION}, {'a' * 32768}",
                "name is over the limit of 32767 bytes",
            ),
            (
                Attribute.octetString("a", b"x" * 32768),
                f"{OPERATION}, a, value 1",
                "value of 32768 bytes is over the limit of 32767",
            ),
            (
                Attribute.collection(
                    "c", Collection([Attribute.octetString("m", b"x" * 32768)])
                ),
                f"{OPERATION}, c, value 1, member m, value 1",
                "value of 32768 bytes is over the limit of 32767",
            ),
        ):
            e = self.assertRaises(IppEncodeError, encode, message(attribute))
            self.assertEqual((e.path, e.reason), (path, reason))

    def test_smallLimitsKnownOctets(self):
        """
        Names, strings and fields known from the default limits are checked
        against smaller ones.
        """
        known = message(
            Attribute.keyword("abc", "xyz"),
            Attribute.collection("c", Collection([Attribute.keyword("mno", "xyz")])),
        )
        encode(known)
        for limits in (
            Limits(maxNameBytes=2),
            Limits(maxValueBytes=2),
            Limits(maxValues=0),
        ):
            self.assertPathsAgree(known, limits)
            self.assertRaises(IppEncodeError, encode, known, limits)

    def test_cachesBounded(self):
        """
        The caches of the fast path stay within their bounds.
        """
        for i in range(3000):
            text = f"{i:05d}" * 40
            value = Collection([Attribute.text("t", text)])
            encode(
                message(
                    Attribute.text(f"n{i}", text),
                    Attribute.collection("c", value),
                )
            )
        self.assertLessEqual(len(encodeModule._FIELD_OCTETS), encodeModule._MAX_FIELDS)
        self.assertLessEqual(
            len(encodeModule._STRING_OCTETS), encodeModule._MAX_STRINGS
        )
        self.assertLessEqual(len(encodeModule._NAME_OCTETS), encodeModule._MAX_NAMES)
        held = sum(
            len(entry[1]) + encodeModule._ENTRY_COST
            for entry in encodeModule._COLLECTION_OCTETS.values()
        )
        self.assertLessEqual(held, encodeModule._MAX_COLLECTION_BYTES)


# -- the encoder compiled per shape ----------------------------------------------------

_COMPILED_TAGS = [
    0x21,
    0x22,
    0x23,
    0x30,
    0x31,
    0x32,
    0x33,
    0x35,
    0x36,
    0x13,
    0x41,
    0x42,
    0x44,
    0x45,
    0x47,
    0x48,
    0x49,
    0x50,
    0x7F,
]


def _validValue(tag: int) -> Any:
    """
    Values that C{tag} takes and the encoder writes.
    """
    from hypothesis import strategies as st

    from .test_properties import dateTimes, int32, text

    if tag in (0x21, 0x23):
        return int32
    if tag == 0x22:
        return st.booleans()
    if tag == 0x30:
        return st.binary(max_size=12)
    if tag == 0x31:
        return dateTimes
    if tag == 0x32:
        return st.builds(Resolution, int32, int32, st.integers(-128, 127))
    if tag == 0x33:
        return st.builds(Range, int32, int32)
    if tag in (0x35, 0x36):
        return st.builds(TextWithLanguage, text, text)
    if 0x10 <= tag < 0x20:
        return st.builds(OutOfBand, st.just(tag), st.binary(max_size=3))
    if tag in (0x50, 0x7F):
        return st.builds(
            lambda head, rest: Unknown(tag, head.to_bytes(4, "big") + rest),
            st.integers(0, 2**31 - 1),
            st.binary(max_size=4),
        )
    return st.one_of(text, st.sampled_from(["a", "utf-8", "z" * 300]))


def _value(tag: int) -> Any:
    """
    Mostly values that C{tag} takes; now and then one of another type, or one
    the encoder refuses.
    """
    from hypothesis import strategies as st

    wrong = st.one_of(
        st.integers(0, 1),
        st.integers(2**31, 2**40),
        st.booleans(),
        st.binary(max_size=4),
        st.just(b"x" * 40000),
        st.text(max_size=3),
        st.just("\ud800"),
        st.just("y" * 40000),
        st.none(),
        st.floats(allow_nan=False),
    )
    return st.one_of(_validValue(tag), wrong)


def _shapes() -> Any:
    """
    A group tag and attribute names with the tags of their values; now and then
    a collection's tag, or a name twice.
    """
    from hypothesis import strategies as st

    tags = st.sampled_from(_COMPILED_TAGS + [0x34])
    names = st.one_of(
        st.sampled_from(["notify-text", "job-id", "a", "printer-state", "x" * 300]),
        st.text(st.characters(max_codepoint=127), min_size=1, max_size=8),
    )
    return st.tuples(
        st.sampled_from([0x01, 0x04, 0x07]),
        st.lists(st.tuples(names, st.lists(tags, min_size=1, max_size=3)), max_size=8),
    )


class GroupEncoderTests(SynchronousTestCase):
    """
    L{compileGroupEncoder}'s functions give the octets of L{encode}, and the
    offsets of the attributes they were asked for, for every group of the shape
    they were compiled for; or they raise, and L{encode} decides.
    """

    def assertSameAsEncode(self, encoder: Any, group: Group, marks: List[int]) -> None:
        expected = outcome(encode, Message((2, 0), 0, 0, [group]))
        try:
            got = encoder(group.attributes)
        except Exception:
            # Left to encode(), which must then be the one to write or refuse
            # something: only a valid message of plain values must not be.
            self.assertFalse(
                isinstance(expected, bytes),
                f"the compiled encoder gave up on {group!r}",
            )
            return
        self.assertEqual(got[0], expected)
        offsets = [
            len(
                encode(
                    Message((2, 0), 0, 0, [Group(group.tag, group.attributes[:mark])])
                )
            )
            - 1
            for mark in marks
        ]
        self.assertEqual(list(got[1:]), offsets)

    def test_sameAsEncode(self) -> None:
        """
        Over random shapes and values (of the right type and not), the compiled
        encoder gives what L{encode} does, for the group it was compiled from and
        for others of its shape.
        """
        from hypothesis import HealthCheck, given, settings
        from hypothesis import strategies as st

        @settings(
            deadline=None, max_examples=400, suppress_health_check=list(HealthCheck)
        )
        @given(st.data())
        def check(data: Any) -> None:
            tag, shape = data.draw(_shapes())
            groups = [
                Group(
                    tag,
                    [
                        Attribute(
                            name,
                            tuple(data.draw(values(t)) for t in tags),
                            tuple(tags),
                        )
                        for name, tags in shape
                    ],
                )
                # Two groups of values it writes, one with some it may not.
                for values in (_validValue, _validValue, _value)
            ]
            marks = sorted(data.draw(st.lists(st.integers(0, len(shape)), max_size=3)))
            encoder = compileGroupEncoder(groups[0], marks)
            names = [name for name, _ in shape]
            if any(0x34 in tags for _, tags in shape) or len(set(names)) != len(names):
                # The shapes it leaves to encode().
                self.assertIsNone(encoder)
                return
            self.assertIsNotNone(encoder)
            for group in groups:
                self.assertSameAsEncode(encoder, group, marks)

        check()

    def test_cupsEvent(self) -> None:
        """
        CUPS's job-completed event group, with the offsets of three of its
        attributes, in one pass.
        """
        group = decode(
            (VECTORS / "cups-2.4.2-notifier-event-job-completed.ipp").read_bytes()
        ).groups[0]
        count = len(group.attributes)
        encoder = compileGroupEncoder(group, (0, 6, count))
        assert encoder is not None
        self.assertSameAsEncode(encoder, group, [0, 6, count])
        octets, first, sixth, end = encoder(group.attributes)
        self.assertEqual((first, end), (9, len(octets) - 1))
        self.assertEqual(octets[sixth + 3 : sixth + 3 + 15], b"printer-up-time")

    def test_wrongCount(self) -> None:
        """
        A group with another number of attributes, or an attribute with another
        number of values, than the shape is refused by the compiled encoder
        (which does not check names and tags: its caller keys it on them).
        """
        group = Group(
            GroupTag.EVENT_NOTIFICATION,
            [Attribute.keyword("a", "b", "c"), Attribute.integer("i", 1)],
        )
        encoder = compileGroupEncoder(group)
        assert encoder is not None
        self.assertEqual(
            encoder(group.attributes)[0], encode(Message((2, 0), 0, 0, [group]))
        )
        for attributes in (
            group.attributes[:1],
            (*group.attributes, Attribute.integer("j", 2)),
            (Attribute.keyword("a", "b"), group.attributes[1]),
            (group.attributes[0], Attribute.integer("i", 1, 2)),
        ):
            self.assertRaises((ValueError, encodeModule._Slow), encoder, attributes)

    def test_notCompiled(self) -> None:
        """
        A collection, a name twice, a name that is not US-ASCII, a group tag or
        a mark out of range: no compiled encoder.
        """
        one = Attribute.integer("i", 1)
        for group, marks in [
            (Group(7, [Attribute.collection("c", Collection([one]))]), ()),
            (Group(7, [one, one]), ()),
            (Group(7, [Attribute.integer("\u00e9", 1)]), ()),
            (Group(3, [one]), ()),
            (Group(7, [one]), (2,)),
            (Group(7, [one]), (1, 0)),
        ]:
            self.assertIsNone(compileGroupEncoder(group, marks))
