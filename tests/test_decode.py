"""
Tests for L{ipp_ntfy.ipp.decode}.

Every decode error site has a test that checks the offset and the reason, on a small
message written out field by field (as goipp and CUPS's testipp do); every value
syntax is decoded to its Python type and re-encoded to the same octets; and the fast
path is checked against the careful decoder it falls back on.

Offsets in the comments count from the start of the message: the header is octets
0 to 7, so the first group tag is at 8 and the first field at 9.  A field with a
one-letter name has its name-length at +1, its name at +3, its value-length at +4
and its value at +6.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from ipp_ntfy.ipp import (
    DEFAULT_LIMITS,
    Collection,
    DateTime,
    IppDecodeError,
    Limits,
    Message,
    OutOfBand,
    Range,
    Resolution,
    TextWithLanguage,
    Unknown,
    decode,
    decodePrefix,
    encode,
)

decodeModule = importlib.import_module("ipp_ntfy.ipp.decode")

VECTORS = Path(__file__).parent / "vectors"

HEADER = (
    "0200"  # version 2.0
    "0000"  # status-code successful-ok
    "00000001"  # request-id 1
)


def vectorFiles() -> list[Path]:
    return sorted(VECTORS.glob("*.ipp"))


def carefulDecode(data, limits=DEFAULT_LIMITS, lenient=False):
    """
    Decode with the careful decoder alone, never the fast path.
    """
    return decodeModule._Decoder(bytes(data), limits, lenient).message()


def outcome(function, data):
    """
    What C{function(data)} gives: its result, or the facts of its decode error.
    """
    try:
        return function(data)
    except IppDecodeError as e:
        return ("error", e.offset, e.reason, e.incomplete)


class DecodeAssertions(SynchronousTestCase):
    """
    Assertions shared by the decode tests.
    """

    def assertPathsAgree(self, data):
        """
        The fast path (through L{decodePrefix}, and called directly) and the careful
        decoder give the same message, or the same error.
        """
        careful = outcome(carefulDecode, data)
        self.assertEqual(outcome(decodePrefix, data), careful)
        try:
            fast = decodeModule._fastDecode(bytes(data))
        except Exception:
            # The fast path may give up on anything; then decodePrefix asks the
            # careful decoder, as checked above.
            return
        self.assertEqual(fast, careful)

    def assertDecodeError(
        self,
        data,
        offset,
        reason,
        incomplete=False,
        limits=None,
        lenientToo=True,
    ):
        """
        Decoding C{data} raises an L{IppDecodeError} at C{offset} whose reason holds
        C{reason}, in strict mode and (when C{lenientToo}) in lenient mode too, from
        L{decode} and from the careful decoder alike.

        @return: the strict error.
        """
        self.assertPathsAgree(data)
        errors = []
        for lenient in (False, True) if lenientToo else (False,):
            e = self.assertRaises(IppDecodeError, decode, data, limits, lenient)
            self.assertEqual(
                (e.offset, e.incomplete),
                (offset, incomplete),
                f"{e} (lenient={lenient})",
            )
            self.assertIn(reason, e.reason)
            self.assertIn(f"at offset {offset}: ", str(e))
            careful = self.assertRaises(
                IppDecodeError, carefulDecode, data, limits or DEFAULT_LIMITS, lenient
            )
            self.assertEqual(
                (careful.offset, careful.reason, careful.incomplete),
                (e.offset, e.reason, e.incomplete),
            )
            errors.append(e)
        return errors[0]

    def assertRoundTrip(self, data, lenient=False, limits=None) -> Message:
        """
        C{data} decodes, and the message encodes back to the same octets.
        """
        message = decode(data, limits, lenient)
        self.assertEqual(encode(message, limits, lenient).hex(" "), data.hex(" "))
        if not lenient and limits is None:
            self.assertPathsAgree(data)
        return message

    def assertLenientOnly(self, data, offset, reason):
        """
        Strict mode refuses C{data} at C{offset}; lenient mode accepts it, and the
        lenient message re-encodes (leniently) to the same octets.

        @return: the lenient message.
        """
        self.assertDecodeError(data, offset, reason, lenientToo=False)
        return self.assertRoundTrip(data, lenient=True)


class DecodeErrorTests(DecodeAssertions):
    """
    One test per place where decoding fails, each with the offset and the reason.
    """

    def test_emptyInput(self):
        """
        No octets at all is a truncated header at offset 0.
        """
        self.assertDecodeError(
            b"", 0, "truncated header: 0 bytes, the header needs 8", incomplete=True
        )

    def test_truncatedHeader(self):
        """
        Fewer than 8 octets is a truncated header, reported at the end.
        """
        data = bytes.fromhex(
            "0200"  # 0: version 2.0
            "0000"  # 2: status-code
            "0000"  # 4: half a request-id
        )
        self.assertDecodeError(data, 6, "truncated header: 6 bytes", incomplete=True)

    def test_headerOnly(self):
        """
        A header and nothing else misses its end-of-attributes tag.
        """
        data = bytes.fromhex(HEADER)
        self.assertDecodeError(
            data, 8, "missing end-of-attributes-tag (0x03)", incomplete=True
        )

    def test_missingEndTag(self):
        """
        A message whose last field is whole but that has no end-of-attributes tag
        is incomplete at the offset where the tag should be.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "44 0001 61"  # 9: keyword "a"
            "0001 62"  # 13: "b"
            # 16: no 0x03
        )
        self.assertDecodeError(
            data, 16, "missing end-of-attributes-tag (0x03)", incomplete=True
        )

    def test_truncatedNameLength(self):
        """
        A value tag followed by less than two octets: the name-length is truncated.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "44"  # 9: keyword
            "00"  # 10: half a name-length
        )
        self.assertDecodeError(data, 10, "truncated name-length", incomplete=True)

    def test_nameLengthPastEnd(self):
        """
        A name-length longer than what is left is reported at the name-length.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "44 0005"  # 9: keyword, name-length 5
            "6162"  # 12: "ab" and the end
        )
        self.assertDecodeError(
            data,
            10,
            "name-length 5 goes past the end of the message (2 bytes left)",
            incomplete=True,
        )

    def test_truncatedValueLength(self):
        """
        A name followed by less than two octets: the value-length is truncated.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "44 0001 61"  # 9: keyword "a"
            "00"  # 13: half a value-length
        )
        self.assertDecodeError(data, 13, "truncated value-length", incomplete=True)

    def test_truncatedValueLengthOfAdditionalValue(self):
        """
        The value-length of an additional value can be truncated too.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "44 0001 61 0001 62"  # 9: keyword "a" = "b"
            "44 0000"  # 16: additional value
            "00"  # 19: half a value-length
        )
        self.assertDecodeError(data, 19, "truncated value-length", incomplete=True)

    def test_valueLengthPastEnd(self):
        """
        A value-length longer than what is left is reported at the value-length.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "44 0001 61"  # 9: keyword "a"
            "0004"  # 13: value-length 4
            "6263"  # 15: "bc" and the end
        )
        self.assertDecodeError(
            data,
            13,
            "value-length 4 goes past the end of the message (2 bytes left)",
            incomplete=True,
        )

    def assertWrongLength(self, tag, syntax, value, fixed):
        """
        A value of a fixed-size syntax with another length is refused at its
        value-length in strict mode, and kept as L{Unknown} in lenient mode.
        """
        octets = bytes.fromhex(value)
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            f"{tag:02x} 0001 61"  # 9: the syntax, name "a"
            f"{len(octets):04x}"  # 13: value-length
            + value  # 15: value
            + "03"  # end-of-attributes-tag
        )
        message = self.assertLenientOnly(
            data, 13, f"{syntax} value of 'a' has length {len(octets)}, must be {fixed}"
        )
        self.assertEqual(message.operation.value("a"), Unknown(tag, octets))

    def test_integerWrongLength(self):
        self.assertWrongLength(0x21, "integer", "000001", 4)

    def test_booleanWrongLength(self):
        self.assertWrongLength(0x22, "boolean", "0001", 1)

    def test_booleanEmpty(self):
        self.assertWrongLength(0x22, "boolean", "", 1)

    def test_enumWrongLength(self):
        self.assertWrongLength(0x23, "enum", "0000000003", 4)

    def test_dateTimeWrongLength(self):
        self.assertWrongLength(0x31, "dateTime", "07ea 0102 0304 0506 2b00", 11)

    def test_resolutionWrongLength(self):
        self.assertWrongLength(0x32, "resolution", "0000012c 0000012c", 9)

    def test_rangeOfIntegerWrongLength(self):
        self.assertWrongLength(0x33, "rangeOfInteger", "00000001 00000002 00", 8)

    def test_wrongLengthInCollection(self):
        """
        A member value of the wrong length is refused at its value-length.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "34 0001 63 0000"  # 9: begCollection "c"
            "4a 0000 0001 78"  # 15: memberAttrName "x"
            "21 0000 0002 0001"  # 21: integer, value-length 2 (at 24)
            "37 0000 0000"  # 28: endCollection
            "03"  # 33: end-of-attributes-tag
        )
        message = self.assertLenientOnly(
            data, 24, "integer value of 'x' has length 2, must be 4"
        )
        self.assertEqual(
            message.operation.value("c").value("x"), Unknown(0x21, b"\x00\x01")
        )

    def test_attributeBeforeGroupTag(self):
        """
        An attribute straight after the header belongs to no group.
        """
        data = bytes.fromhex(
            HEADER + "44 0001 61 0001 62"  # 8: keyword "a" = "b", no group tag
            "03"  # 15: end-of-attributes-tag
        )
        self.assertDecodeError(data, 8, "attribute before any group tag")

    def test_additionalValueBeforeGroupTag(self):
        """
        An additional value straight after the header belongs to no group either.
        """
        data = bytes.fromhex(
            HEADER + "44 0000 0001 62"  # 8: additional value "b"
            "03"  # 14: end-of-attributes-tag
        )
        self.assertDecodeError(data, 8, "attribute before any group tag")

    def test_additionalValueWithoutAttribute(self):
        """
        A name-length of 0 right after a group tag continues no attribute.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "44 0000 0001 62"  # 9: additional value "b"
            "03"  # 15: end-of-attributes-tag
        )
        self.assertDecodeError(
            data,
            9,
            "additional value (name-length 0) with no attribute before it",
        )

    def test_additionalValueAfterGroupTag(self):
        """
        An additional value does not continue the last attribute of the group
        before.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "44 0001 61 0001 62"  # 9: keyword "a" = "b"
            "04"  # 16: printer-attributes-tag
            "44 0000 0001 63"  # 17: additional value "c"
            "03"  # 23: end-of-attributes-tag
        )
        self.assertDecodeError(
            data, 17, "additional value (name-length 0) with no attribute before it"
        )

    def test_memberAttrNameOutsideCollection(self):
        """
        A memberAttrName outside a collection is refused where its field starts.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "4a 0001 61 0001 62"  # 9: memberAttrName, name "a"
            "03"  # 16: end-of-attributes-tag
        )
        self.assertDecodeError(data, 9, "memberAttrName (0x4A) outside a collection")

    def test_memberAttrNameAsAdditionalValue(self):
        """
        A memberAttrName as an additional value of a top-level attribute is
        outside any collection too.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "44 0001 61 0001 62"  # 9: keyword "a" = "b"
            "4a 0000 0001 63"  # 16: memberAttrName as an additional value
            "03"  # 22: end-of-attributes-tag
        )
        self.assertDecodeError(data, 16, "memberAttrName (0x4A) outside a collection")

    def test_endCollectionOutsideCollection(self):
        """
        An endCollection with no begCollection before it is refused.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "37 0001 61 0000"  # 9: endCollection, name "a"
            "03"  # 15: end-of-attributes-tag
        )
        self.assertDecodeError(data, 9, "endCollection (0x37) outside a collection")

    def test_endCollectionAsAdditionalValue(self):
        """
        An endCollection after a whole collection closes nothing.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "34 0001 63 0000"  # 9: begCollection "c"
            "37 0000 0000"  # 15: endCollection
            "37 0000 0000"  # 20: one endCollection too many
            "03"  # 25: end-of-attributes-tag
        )
        self.assertDecodeError(data, 20, "endCollection (0x37) outside a collection")

    def test_collectionNotClosedAtEnd(self):
        """
        A collection still open when the octets run out is incomplete.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "34 0001 63 0000"  # 9: begCollection "c"
            "4a 0000 0001 78"  # 15: memberAttrName "x"
            "21 0000 0004 00000001"  # 21: integer 1
            # 30: the end
        )
        self.assertDecodeError(
            data,
            30,
            "collection 'c' (opened at offset 9) is not closed at the end of the "
            "message",
            incomplete=True,
        )

    def test_collectionNotClosedBeforeEndTag(self):
        """
        A delimiter tag inside a collection is refused where it stands.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "34 0001 63 0000"  # 9: begCollection "c"
            "4a 0000 0001 78"  # 15: memberAttrName "x"
            "21 0000 0004 00000001"  # 21: integer 1
            "03"  # 30: end-of-attributes-tag, collection still open
        )
        self.assertDecodeError(
            data,
            30,
            "collection 'c' (opened at offset 9) is not closed before delimiter "
            "tag 0x03",
        )

    def test_collectionNotClosedBeforeGroupTag(self):
        """
        A group tag inside a nested collection is refused where it stands, naming
        the innermost open collection.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "34 0001 63 0000"  # 9: begCollection "c"
            "4a 0000 0001 78"  # 15: memberAttrName "x"
            "34 0000 0000"  # 21: begCollection (value of "x")
            "04"  # 26: printer-attributes-tag
            "03"  # 27: end-of-attributes-tag
        )
        self.assertDecodeError(
            data,
            26,
            "collection 'x' (opened at offset 21) is not closed before delimiter "
            "tag 0x04",
        )

    def test_collectionValueBeforeMemberName(self):
        """
        A collection's first field must be a memberAttrName.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "34 0001 63 0000"  # 9: begCollection "c"
            "21 0000 0004 00000001"  # 15: integer 1, but no member name
            "37 0000 0000"  # 24: endCollection
            "03"  # 29: end-of-attributes-tag
        )
        self.assertDecodeError(
            data,
            15,
            "integer value in collection 'c' with no memberAttrName before it",
        )

    def test_memberWithNoValueBeforeEnd(self):
        """
        A memberAttrName followed by endCollection names a member with no value.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "34 0001 63 0000"  # 9: begCollection "c"
            "4a 0000 0001 78"  # 15: memberAttrName "x"
            "37 0000 0000"  # 21: endCollection
            "03"  # 26: end-of-attributes-tag
        )
        self.assertDecodeError(data, 21, "member 'x' of collection 'c' has no value")

    def test_memberWithNoValueBeforeNextMember(self):
        """
        A memberAttrName followed by another names a member with no value.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "34 0001 63 0000"  # 9: begCollection "c"
            "4a 0000 0001 78"  # 15: memberAttrName "x"
            "4a 0000 0001 79"  # 21: memberAttrName "y"
            "21 0000 0004 00000001"  # 27: integer 1
            "37 0000 0000"  # 36: endCollection
            "03"  # 41: end-of-attributes-tag
        )
        self.assertDecodeError(data, 21, "member 'x' of collection 'c' has no value")

    def nested(self, depth):
        """
        An attribute "c" of C{depth} collections one inside the other, each the
        value of member "x" of the one outside; the k-th begCollection (k >= 2)
        starts at offset 21 + 11 * (k - 2).
        """
        return bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "34 0001 63 0000"  # 9: begCollection "c"
            + (
                "4a 0000 0001 78"  # memberAttrName "x"
                "34 0000 0000"  # begCollection
            )
            * (depth - 1)
            + "37 0000 0000" * depth  # endCollection, as many as opened
            + "03"  # end-of-attributes-tag
        )

    def test_collectionDepthTen(self):
        """
        Ten nested collections are within the default limit.
        """
        message = self.assertRoundTrip(self.nested(10))
        value: Any = message.operation.value("c")
        for _ in range(9):
            value = value.value("x")
        self.assertEqual(value, Collection())

    def test_collectionDepthEleven(self):
        """
        The eleventh nested collection is refused where its begCollection starts.
        """
        self.assertDecodeError(
            self.nested(11), 21 + 11 * 9, "collection 'x' nests deeper than 10 levels"
        )

    def test_collectionDepthLimit(self):
        """
        L{Limits.maxDepth} sets how deep collections may nest.
        """
        limits = Limits(maxDepth=2)
        self.assertRoundTrip(self.nested(2), limits=limits)
        self.assertDecodeError(
            self.nested(3),
            32,
            "collection 'x' nests deeper than 2 levels",
            limits=limits,
        )

    def test_messageBytesLimit(self):
        """
        A message over L{Limits.maxMessageBytes} is refused at the limit, before
        anything else is read.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "44 0001 61 0001 62"  # 9: keyword "a" = "b"
            "03"  # 16: end-of-attributes-tag
        )
        self.assertRoundTrip(data, limits=Limits(maxMessageBytes=17))
        self.assertDecodeError(
            data,
            16,
            "message of 17 bytes is over the limit of 16 bytes",
            limits=Limits(maxMessageBytes=16),
        )

    def test_messageBytesLimitCountsData(self):
        """
        Document data counts toward L{Limits.maxMessageBytes}.
        """
        data = bytes.fromhex(
            HEADER + "03"  # 8: end-of-attributes-tag
            "2521"  # 9: document data
        )
        self.assertDecodeError(
            data,
            10,
            "message of 11 bytes is over the limit of 10 bytes",
            limits=Limits(maxMessageBytes=10),
        )

    def test_nameBytesLimit(self):
        """
        A name-length over L{Limits.maxNameBytes} is refused at the name-length.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "44 0003 616263"  # 9: keyword, name "abc"
            "0001 62"  # 15: "b"
            "03"  # 18: end-of-attributes-tag
        )
        self.assertRoundTrip(data, limits=Limits(maxNameBytes=3))
        self.assertDecodeError(
            data,
            10,
            "name-length 3 is over the limit of 2",
            limits=Limits(maxNameBytes=2),
        )

    def test_nameBytesLimitDefault(self):
        """
        By default a name may have up to 32767 octets, as in CUPS.
        """
        name = "6e" * 32768
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "44 8000"  # 9: keyword, name-length 32768
            + name  # 12: "nnn..."
            + "0001 62"  # "b"
            "03"  # end-of-attributes-tag
        )
        self.assertDecodeError(data, 10, "name-length 32768 is over the limit of 32767")
        self.assertRoundTrip(
            bytes.fromhex(HEADER + "01 44 7fff" + name[2:] + "0001 62 03")
        )

    def test_valueBytesLimit(self):
        """
        A value-length over L{Limits.maxValueBytes} is refused at the value-length.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "30 0001 61"  # 9: octetString "a"
            "0003 000102"  # 13: 3 octets
            "03"  # 18: end-of-attributes-tag
        )
        self.assertRoundTrip(data, limits=Limits(maxValueBytes=3))
        self.assertDecodeError(
            data,
            13,
            "value-length 3 is over the limit of 2",
            limits=Limits(maxValueBytes=2),
        )

    def test_valueBytesLimitDefault(self):
        """
        By default a value may have up to 32767 octets, as in CUPS.
        """
        value = "00" * 32768
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "30 0001 61"  # 9: octetString "a"
            "8000" + value + "03"  # 13: value-length 32768
        )
        self.assertDecodeError(
            data, 13, "value-length 32768 is over the limit of 32767"
        )
        self.assertRoundTrip(
            bytes.fromhex(HEADER + "01 30 0001 61 7fff" + value[2:] + "03")
        )

    def test_valueBytesLimitInCollection(self):
        """
        The value limit applies to member values (and member names).
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "34 0001 63 0000"  # 9: begCollection "c"
            "4a 0000 0001 78"  # 15: memberAttrName "x"
            "30 0000 0003 000102"  # 21: octetString, value-length 3 (at 24)
            "37 0000 0000"  # 29: endCollection
            "03"  # 34: end-of-attributes-tag
        )
        self.assertDecodeError(
            data,
            24,
            "value-length 3 is over the limit of 2",
            limits=Limits(maxValueBytes=2),
        )

    def test_attributesLimit(self):
        """
        The attribute past L{Limits.maxAttributes} is refused where it starts.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "44 0001 61 0001 62"  # 9: keyword "a"
            "04"  # 16: printer-attributes-tag
            "44 0001 62 0001 62"  # 17: keyword "b"
            "44 0001 63 0001 62"  # 24: keyword "c", the third
            "03"  # 31: end-of-attributes-tag
        )
        self.assertRoundTrip(data, limits=Limits(maxAttributes=3))
        self.assertDecodeError(
            data,
            24,
            "more than 2 attributes in the message",
            limits=Limits(maxAttributes=2),
        )

    def test_attributesLimitCountsMembers(self):
        """
        Collection members count toward L{Limits.maxAttributes}.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "34 0001 63 0000"  # 9: begCollection "c", attribute 1
            "4a 0000 0001 78"  # 15: memberAttrName "x", attribute 2
            "21 0000 0004 00000001"  # 21: integer 1
            "4a 0000 0001 79"  # 30: memberAttrName "y", attribute 3
            "21 0000 0004 00000002"  # 36: integer 2
            "37 0000 0000"  # 45: endCollection
            "03"  # 50: end-of-attributes-tag
        )
        self.assertRoundTrip(data, limits=Limits(maxAttributes=3))
        self.assertDecodeError(
            data,
            30,
            "more than 2 attributes in the message",
            limits=Limits(maxAttributes=2),
        )

    def test_valuesLimit(self):
        """
        The value past L{Limits.maxValues} is refused where its field starts.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "44 0001 61 0001 62"  # 9: keyword "a" = "b"
            "44 0000 0001 63"  # 16: "c"
            "44 0000 0001 64"  # 22: "d", the third value
            "03"  # 28: end-of-attributes-tag
        )
        self.assertRoundTrip(data, limits=Limits(maxValues=3))
        self.assertDecodeError(
            data,
            22,
            "attribute 'a' has more than 2 values",
            limits=Limits(maxValues=2),
        )

    def test_valuesLimitInCollection(self):
        """
        L{Limits.maxValues} bounds the values of a member too.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "34 0001 63 0000"  # 9: begCollection "c"
            "4a 0000 0001 78"  # 15: memberAttrName "x"
            "21 0000 0004 00000001"  # 21: integer 1
            "21 0000 0004 00000002"  # 30: integer 2
            "21 0000 0004 00000003"  # 39: integer 3, the third value
            "37 0000 0000"  # 48: endCollection
            "03"  # 53: end-of-attributes-tag
        )
        self.assertRoundTrip(data, limits=Limits(maxValues=3))
        self.assertDecodeError(
            data,
            39,
            "member 'x' has more than 2 values",
            limits=Limits(maxValues=2),
        )

    def test_valuesLimitDefault(self):
        """
        By default an attribute may have 65536 values, and not one more: the fast
        path enforces that as well as the careful decoder.
        """
        values = "21 0000 0004 00000001" * 65535  # 19 + 9 * k: additional values
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "21 0001 61 0004 00000001"  # 9: integer "a" = 1
             + values + "03"
        )
        message = self.assertRoundTrip(data)
        self.assertEqual(len(message.operation["a"].values), 65536)
        tooMany = data[:-1] + bytes.fromhex("21 0000 0004 00000001 03")
        self.assertDecodeError(
            tooMany, 19 + 9 * 65535, "attribute 'a' has more than 65536 values"
        )

    def test_invalidUtf8Text(self):
        """
        Strict mode refuses invalid UTF-8 in a text value at the first bad
        octet; lenient mode keeps it with surrogate escapes.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "41 0001 61"  # 9: textWithoutLanguage "a"
            "0003 61ff62"  # 13: "a", 0xff, "b" (0xff at 16)
            "03"  # 18: end-of-attributes-tag
        )
        message = self.assertLenientOnly(
            data, 16, "invalid UTF-8 in textWithoutLanguage value of 'a'"
        )
        self.assertEqual(message.operation.value("a"), "a\udcffb")

    def test_invalidUtf8Keyword(self):
        """
        Strict mode refuses invalid UTF-8 in a keyword value too.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "44 0001 61"  # 9: keyword "a"
            "0002 c328"  # 13: a lead octet then no continuation octet (at 15)
            "03"  # 17: end-of-attributes-tag
        )
        message = self.assertLenientOnly(
            data, 15, "invalid UTF-8 in keyword value of 'a'"
        )
        self.assertEqual(message.operation.value("a"), "\udcc3(")

    def test_invalidUtf8NameWithLanguage(self):
        """
        Invalid UTF-8 in the name of a nameWithLanguage value is refused at the
        value; lenient mode keeps it with surrogate escapes.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "36 0001 61"  # 9: nameWithLanguage "a"
            "000a"  # 13: value-length 10
            "0002 656e"  # 15: language "en"
            "0004 6a6fff65"  # 19: name "jo", 0xff, "e"
            "03"  # 25: end-of-attributes-tag
        )
        message = self.assertLenientOnly(
            data, 15, "invalid UTF-8 in nameWithLanguage value of 'a'"
        )
        self.assertEqual(
            message.operation.value("a"), TextWithLanguage("jo\udcffe", "en")
        )

    def test_invalidUtf8InMember(self):
        """
        Member values are checked for UTF-8 like the others.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "34 0001 63 0000"  # 9: begCollection "c"
            "4a 0000 0001 78"  # 15: memberAttrName "x"
            "42 0000 0002 80ff"  # 21: nameWithoutLanguage, value at 26
            "37 0000 0000"  # 28: endCollection
            "03"  # 33: end-of-attributes-tag
        )
        message = self.assertLenientOnly(
            data, 26, "invalid UTF-8 in nameWithoutLanguage value of 'x'"
        )
        self.assertEqual(message.operation.value("c").value("x"), "\udc80\udcff")

    def test_nonAsciiAttributeName(self):
        """
        Strict mode refuses a name with a non-ASCII octet, at that octet; lenient
        mode keeps it and re-encodes it as it came.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "44 0002 61e9"  # 9: keyword, name "a" then 0xe9 (at 13)
            "0001 62"  # 14: "b"
            "03"  # 17: end-of-attributes-tag
        )
        message = self.assertLenientOnly(data, 13, "attribute name is not US-ASCII")
        self.assertEqual(message.operation.names(), ["a\udce9"])

    def test_nonAsciiMemberName(self):
        """
        A memberAttrName must be US-ASCII as well.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "34 0001 63 0000"  # 9: begCollection "c"
            "4a 0000 0002 c3a9"  # 15: memberAttrName "é" in UTF-8 (at 20)
            "21 0000 0004 00000001"  # 22: integer 1
            "37 0000 0000"  # 31: endCollection
            "03"  # 36: end-of-attributes-tag
        )
        message = self.assertLenientOnly(data, 20, "attribute name is not US-ASCII")
        self.assertEqual(message.operation.value("c").names(), ["é"])

    def test_duplicateAttributeName(self):
        """
        Strict mode refuses a name seen before in the same group, at its second
        field; lenient mode keeps both, and lookup by name finds the first.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "44 0001 61 0001 62"  # 9: keyword "a" = "b"
            "21 0001 61 0004 00000001"  # 16: integer "a" = 1
            "03"  # 26: end-of-attributes-tag
        )
        message = self.assertLenientOnly(
            data, 16, "attribute 'a' appears twice in the group (first at offset 9)"
        )
        self.assertEqual(
            [(a.name, a.values) for a in message.operation],
            [("a", ("b",)), ("a", (1,))],
        )
        self.assertEqual(message.operation.value("a"), "b")

    def test_sameNameInTwoGroups(self):
        """
        The same name in two groups is no duplicate.
        """
        data = bytes.fromhex(
            HEADER + "07"  # 8: event-notification-attributes-tag
            "44 0001 61 0001 62"  # 9: keyword "a" = "b"
            "07"  # 16: event-notification-attributes-tag
            "44 0001 61 0001 63"  # 17: keyword "a" = "c"
            "03"  # 24: end-of-attributes-tag
        )
        message = self.assertRoundTrip(data)
        self.assertEqual([g.value("a") for g in message.groupsOf(0x07)], ["b", "c"])

    def test_reservedGroupTag(self):
        """
        Strict mode refuses the reserved delimiter tag 0x00; lenient mode keeps
        it as a group.
        """
        data = bytes.fromhex(
            HEADER + "00"  # 8: reserved delimiter tag
            "44 0001 61 0001 62"  # 9: keyword "a" = "b"
            "03"  # 16: end-of-attributes-tag
        )
        message = self.assertLenientOnly(
            data, 8, "reserved delimiter tag 0x00 is not a valid group"
        )
        self.assertEqual([g.tag for g in message.groups], [0x00])

    def test_booleanTwo(self):
        """
        A boolean other than 0 or 1 is refused at the value octet, and kept as
        L{Unknown} in lenient mode.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "22 0001 61 0001"  # 9: boolean "a"
            "02"  # 15: 2
            "03"  # 16: end-of-attributes-tag
        )
        message = self.assertLenientOnly(
            data, 15, "boolean value of 'a' is 2, must be 0 or 1"
        )
        self.assertEqual(message.operation.value("a"), Unknown(0x22, b"\x02"))

    def test_dateTimeBadDirection(self):
        """
        A dateTime whose UTC direction is neither '+' nor '-' is refused at that
        octet, and kept as L{Unknown} in lenient mode.
        """
        value = (
            "07ea 02 03"  # 15: 2026-02-03
            "04 05 06 07"  # 19: 04:05:06.7
            "3d"  # 23: '=' for the direction
            "00 00"  # 24: UTC offset 00:00
        )
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "31 0001 61 000b"  # 9: dateTime "a", value-length 11
             + value + "03"  # 26: end-of-attributes-tag
        )
        message = self.assertLenientOnly(
            data, 23, "dateTime value of 'a' has UTC direction b'='"
        )
        self.assertEqual(
            message.operation.value("a"), Unknown(0x31, bytes.fromhex(value))
        )

    def assertBadWithLanguage(self, value):
        octets = bytes.fromhex(value)
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            f"35 0001 61 {len(octets):04x}"  # 9: textWithLanguage "a"
            + value  # 15: the value
            + "03"  # end-of-attributes-tag
        )
        message = self.assertLenientOnly(
            data,
            15,
            "textWithLanguage value of 'a': the language and text lengths do not add "
            f"up to the value length {len(octets)}",
        )
        self.assertEqual(message.operation.value("a"), Unknown(0x35, octets))

    def test_textWithLanguageTooShort(self):
        """
        A textWithLanguage value too short to hold a language-length.
        """
        self.assertBadWithLanguage("00")

    def test_textWithLanguageNoTextLength(self):
        """
        A textWithLanguage value with a language but no text-length.
        """
        self.assertBadWithLanguage("0002 656e")

    def test_textWithLanguageLanguagePastValue(self):
        """
        A language-length that goes past the value.
        """
        self.assertBadWithLanguage("0005 656e 0000")

    def test_textWithLanguageTextPastValue(self):
        """
        A text-length that goes past the value.
        """
        self.assertBadWithLanguage("0002 656e 0003 6869")

    def test_textWithLanguageTextShortOfValue(self):
        """
        A text-length that stops before the end of the value.
        """
        self.assertBadWithLanguage("0002 656e 0001 6869")

    def test_extensionTooShort(self):
        """
        An extension (0x7F) value too short for its 4-octet tag is refused at its
        value-length, and kept as L{Unknown} in lenient mode.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "7f 0001 61"  # 9: extension "a"
            "0003 400000"  # 13: 3 octets
            "03"  # 18: end-of-attributes-tag
        )
        message = self.assertLenientOnly(
            data,
            13,
            "extension (0x7F) value of 'a' has length 3, too short for its 4-octet tag",
        )
        self.assertEqual(message.operation.value("a"), Unknown(0x7F, b"\x40\0\0"))
        self.assertIsNone(message.operation.value("a").extendedTag)

    def test_extensionHighBitTag(self):
        """
        An extension value whose tag has the high bit set is refused at the
        value, and kept as L{Unknown} in lenient mode.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "7f 0001 61 0004"  # 9: extension "a", value-length 4
            "80000001"  # 15: tag 0x80000001
            "03"  # 19: end-of-attributes-tag
        )
        message = self.assertLenientOnly(
            data, 15, "extension (0x7F) value of 'a' has a tag with the high bit set"
        )
        self.assertEqual(
            message.operation.value("a"), Unknown(0x7F, bytes.fromhex("80000001"))
        )

    def test_nameOnMemberAttrName(self):
        """
        A memberAttrName with a name is refused where its field starts, in both
        modes: members are named by the value, and the name would be lost.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "34 0001 63 0000"  # 9: begCollection "c"
            "4a 0001 6e 0001 78"  # 15: memberAttrName with name "n"
            "21 0000 0004 00000001"  # 22: integer 1
            "37 0000 0000"  # 31: endCollection
            "03"  # 36: end-of-attributes-tag
        )
        self.assertDecodeError(
            data, 15, "memberAttrName inside collection 'c' has a name (name-length 1)"
        )

    def test_nameOnMemberValue(self):
        """
        A member value with a name is refused where its field starts.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "34 0001 63 0000"  # 9: begCollection "c"
            "4a 0000 0001 78"  # 15: memberAttrName "x"
            "21 0001 6e 0004 00000001"  # 21: integer with name "n"
            "37 0000 0000"  # 31: endCollection
            "03"  # 36: end-of-attributes-tag
        )
        self.assertDecodeError(
            data, 21, "integer inside collection 'c' has a name (name-length 1)"
        )

    def test_nameOnEndCollection(self):
        """
        An endCollection with a name is refused where its field starts.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "34 0001 63 0000"  # 9: begCollection "c"
            "4a 0000 0001 78"  # 15: memberAttrName "x"
            "21 0000 0004 00000001"  # 21: integer 1
            "37 0001 63 0000"  # 30: endCollection with name "c"
            "03"  # 36: end-of-attributes-tag
        )
        self.assertDecodeError(
            data, 30, "endCollection inside collection 'c' has a name (name-length 1)"
        )

    def test_endCollectionWithValue(self):
        """
        An endCollection with a value is refused at its value-length.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "34 0001 63 0000"  # 9: begCollection "c"
            "4a 0000 0001 78"  # 15: memberAttrName "x"
            "21 0000 0004 00000001"  # 21: integer 1
            "37 0000 0001 00"  # 30: endCollection, value-length 1 (at 33)
            "03"  # 36: end-of-attributes-tag
        )
        self.assertDecodeError(
            data, 33, "endCollection of 'c' has value-length 1, must be 0"
        )

    def test_begCollectionWithValue(self):
        """
        A begCollection with a value is refused at its value-length.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "34 0001 63"  # 9: begCollection "c"
            "0001 00"  # 13: value-length 1
            "4a 0000 0001 78"  # 16: memberAttrName "x"
            "21 0000 0004 00000001"  # 22: integer 1
            "37 0000 0000"  # 31: endCollection
            "03"  # 36: end-of-attributes-tag
        )
        self.assertDecodeError(
            data, 13, "begCollection of 'c' has value-length 1, must be 0"
        )

    def test_nestedBegCollectionWithValue(self):
        """
        A nested begCollection with a value is refused at its value-length.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "34 0001 63 0000"  # 9: begCollection "c"
            "4a 0000 0001 78"  # 15: memberAttrName "x"
            "34 0000 0002 0000"  # 21: begCollection, value-length 2 (at 24)
            "37 0000 0000"  # 28: endCollection
            "37 0000 0000"  # 33: endCollection
            "03"  # 38: end-of-attributes-tag
        )
        self.assertDecodeError(
            data, 24, "begCollection of 'x' has value-length 2, must be 0"
        )

    def test_emptyMemberAttrName(self):
        """
        Strict mode refuses an empty memberAttrName at its value-length; lenient
        mode keeps a member named "".
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "34 0001 63 0000"  # 9: begCollection "c"
            "4a 0000 0000"  # 15: memberAttrName, value-length 0 (at 18)
            "21 0000 0004 00000001"  # 20: integer 1
            "37 0000 0000"  # 29: endCollection
            "03"  # 34: end-of-attributes-tag
        )
        message = self.assertLenientOnly(
            data, 18, "empty memberAttrName in collection 'c'"
        )
        self.assertEqual(message.operation.value("c").value(""), 1)

    def test_truncatedNameLengthInCollection(self):
        """
        A collection cut in a name-length is incomplete.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "34 0001 63 0000"  # 9: begCollection "c"
            "4a 00"  # 15: memberAttrName, half a name-length (at 16)
        )
        self.assertDecodeError(data, 16, "truncated name-length", incomplete=True)

    def test_truncatedValueLengthInCollection(self):
        """
        A collection cut in a value-length is incomplete.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "34 0001 63 0000"  # 9: begCollection "c"
            "4a 0000 00"  # 15: memberAttrName, half a value-length (at 18)
        )
        self.assertDecodeError(data, 18, "truncated value-length", incomplete=True)

    def test_valueLengthPastEndInCollection(self):
        """
        A collection cut in a value is incomplete, reported at its value-length.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "34 0001 63 0000"  # 9: begCollection "c"
            "4a 0000 0005 7879"  # 15: memberAttrName, value-length 5 (at 18), 2 left
        )
        self.assertDecodeError(
            data,
            18,
            "value-length 5 goes past the end of the message (2 bytes left)",
            incomplete=True,
        )

    def test_truncatedBegCollection(self):
        """
        A message that stops right after a begCollection is an unclosed
        collection, incomplete.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "34 0001 63 0000"  # 9: begCollection "c"
        )
        self.assertDecodeError(
            data,
            15,
            "collection 'c' (opened at offset 9) is not closed at the end",
            incomplete=True,
        )

    def test_everyPrefixIsIncomplete(self):
        """
        Cutting a valid message anywhere before its end gives an error marked
        incomplete: more octets could make it whole.
        """
        for path in vectorFiles():
            data = path.read_bytes()
            end = decodePrefix(data)[1]
            step = max(1, end // 150)
            for cut in [*range(0, end, step), end - 1]:
                e = self.assertRaises(IppDecodeError, decode, data[:cut])
                self.assertTrue(e.incomplete, f"{path.name}[:{cut}]: {e}")
                self.assertEqual(e.offset <= cut, True)


class CachedFieldTests(DecodeAssertions):
    """
    The fast path remembers whole fields it has decoded; a field met again in
    another place must still be checked for its place.
    """

    field = "44 0001 61 0001 62"  # keyword "a" = "b"

    def setUp(self):
        # Make the field known to the fast path.
        decode(bytes.fromhex(HEADER + "01" + self.field + "44 0000 0001 63" + "03"))

    def test_knownFieldBeforeGroupTag(self):
        data = bytes.fromhex(
            HEADER
            + self.field  # 8: keyword "a" = "b", no group tag
            + "03"  # 15: end-of-attributes-tag
        )
        self.assertDecodeError(data, 8, "attribute before any group tag")

    def test_knownAdditionalValueAfterGroupTag(self):
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "44 0000 0001 63"  # 9: additional value "c"
            "03"  # 15: end-of-attributes-tag
        )
        self.assertDecodeError(
            data, 9, "additional value (name-length 0) with no attribute before it"
        )

    def test_knownFieldTwiceInGroup(self):
        data = bytes.fromhex(
            HEADER
            + "01"  # 8: operation-attributes-tag
            + self.field  # 9: keyword "a" = "b"
            + self.field  # 16: keyword "a" = "b" again
            + "03"  # 23: end-of-attributes-tag
        )
        self.assertDecodeError(
            data,
            16,
            "attribute 'a' appears twice in the group (first at offset 9)",
            lenientToo=False,
        )

    def test_knownFieldCutShort(self):
        data = bytes.fromhex(
            HEADER
            + "01"  # 8: operation-attributes-tag
            + self.field[:-2]  # 9: keyword "a", value-length 1, no value
        )
        self.assertDecodeError(
            data,
            13,
            "value-length 1 goes past the end of the message (0 bytes left)",
            incomplete=True,
        )

    def test_vectorsDecodedTwice(self):
        """
        A vector decoded a second time, with its fields known, gives the same
        message, and every truncated copy the same error as the careful decoder.
        """
        for path in vectorFiles():
            data = path.read_bytes()
            clearCaches()
            first = decode(data)
            second = decode(data)
            self.assertEqual(first, second)
            end = decodePrefix(data)[1]
            step = max(1, end // 100)
            for cut in range(8, end, step):
                self.assertEqual(
                    outcome(decode, data[:cut]), outcome(carefulDecode, data[:cut])
                )

    def test_manyNames(self):
        """
        The fast path keeps working for new names after it has met more names
        than it remembers.
        """
        for i in range(2 * decodeModule._MAX_NAMES):
            name = f"n{i}".encode().hex()
            decode(bytes.fromhex(HEADER + f"01 44 {len(name) // 2:04x}{name} 0000 03"))
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "44 0003 6e6577 0001 62"  # 9: keyword "new" = "b"
            "03"  # 18: end-of-attributes-tag
        )
        fast, end = decodeModule._fastDecode(data)
        self.assertEqual(fast.operation.value("new"), "b")


clearCaches = decodeModule._forget


def field(tag, name, value):
    """
    The hex of one field: C{tag} (an int), C{name} and C{value} (hex strings).
    """
    return f"{tag:02x} {len(name) // 2:04x} {name} {len(value) // 2:04x} {value} "


def keyword(name, value):
    return field(0x44, name.encode().hex(), value.encode().hex())


def integer(name, value):
    return field(0x21, name.encode().hex(), f"{value:08x}")


def string(tag, name, value):
    """
    The hex of one field of value tag C{tag} whose name and value are C{str}s.
    """
    return field(tag, name.encode().hex(), value.encode().hex())


class CachedRunTests(DecodeAssertions):
    """
    The fast path remembers runs of known fields and the field after each, and
    takes a run whole where the same octets come again: the group they land in must
    still be checked.
    """

    def setUp(self):
        clearCaches()

    def learn(self, *groups):
        """
        Decode, three times, a message of the groups C{groups} (hex), the last
        field of each group an integer "n" that changes every time: the fields
        become known, then the runs, then "n" as the field after them.
        """
        for n in range(3):
            data = bytes.fromhex(
                HEADER + "".join(f"01 {g}" + integer("n", n) for g in groups) + "03"
            )
            decode(data)
        self.assertTrue(decodeModule._RUNS)

    def test_runTaken(self):
        """
        A known run and the changing field after it decode as from scratch.
        """
        abc = keyword("a", "x") + keyword("b", "y") + keyword("c", "z")
        self.learn(abc)
        data = bytes.fromhex(HEADER + "01" + abc + integer("n", 7) + "03")
        message = self.assertRoundTrip(data)
        self.assertEqual(
            [(a.name, a.values) for a in message.operation],
            [("a", ("x",)), ("b", ("y",)), ("c", ("z",)), ("n", (7,))],
        )

    def test_runTwiceInGroup(self):
        """
        A run taken twice in one group gives its names twice: refused.
        """
        abc = keyword("a", "x") + keyword("b", "y") + keyword("c", "z")
        self.learn(abc)
        data = bytes.fromhex(HEADER + "01" + abc + abc + "03")
        self.assertDecodeError(
            data,
            30,
            "attribute 'a' appears twice in the group (first at offset 9)",
            lenientToo=False,
        )

    def test_runOfAdditionalValueOpensGroup(self):
        """
        A run that starts with an additional value, taken at the start of a group:
        refused.
        """
        extra = field(0x44, "", "77")  # additional value "w"
        for m in range(3):
            decode(
                bytes.fromhex(
                    HEADER
                    + "01"
                    + keyword("a", "x")
                    + integer("m", m)
                    + extra
                    + keyword("b", "y")
                    + "03"
                )
            )
        self.assertIn(bytes.fromhex(extra), decodeModule._RUNS)
        data = bytes.fromhex(HEADER + "01" + extra + keyword("b", "y") + "03")
        self.assertDecodeError(
            data, 9, "additional value (name-length 0) with no attribute before it"
        )

    def test_holeCutShort(self):
        """
        The field after a run, cut short by the end of the message.
        """
        ab = keyword("a", "x") + keyword("b", "y")
        self.learn(ab)
        data = bytes.fromhex(HEADER + "01" + ab + integer("n", 9))[:-2]
        self.assertDecodeError(
            data,
            27,
            "value-length 4 goes past the end of the message (2 bytes left)",
            incomplete=True,
        )

    def test_holeWrongLength(self):
        """
        The field after a run, with a value of the wrong length for its tag.
        """
        ab = keyword("a", "x") + keyword("b", "y")
        self.learn(ab)
        data = bytes.fromhex(HEADER + "01" + ab + field(0x21, "6e", "000009") + "03")
        self.assertDecodeError(
            data, 27, "integer value of 'n' has length 3, must be 4", lenientToo=False
        )

    def test_holeOverLimit(self):
        """
        A string field after a run, with a value over the length limit.
        """
        ab = keyword("a", "x") + keyword("b", "y")
        for n in range(3):
            decode(bytes.fromhex(HEADER + "01" + ab + keyword("t", str(n)) + "03"))
        data = bytes.fromhex(
            HEADER + "01" + ab + field(0x44, "74", "61" * 0x8000) + "03"
        )
        self.assertDecodeError(
            data, 27, "value-length 32768 is over the limit of 32767"
        )

    def test_holeInvalidUtf8(self):
        """
        A string field after a run, with invalid UTF-8.
        """
        ab = keyword("a", "x") + keyword("b", "y")
        for n in range(3):
            decode(bytes.fromhex(HEADER + "01" + ab + keyword("t", str(n)) + "03"))
        data = bytes.fromhex(HEADER + "01" + ab + field(0x44, "74", "ff") + "03")
        self.assertDecodeError(
            data, 29, "invalid UTF-8 in keyword value of 't'", lenientToo=False
        )

    def test_sameRunsOtherGroups(self):
        """
        Runs learnt in one group are taken in others, every group checked on its
        own.
        """
        ab = keyword("a", "x") + keyword("b", "y")
        cd = keyword("c", "x") + keyword("d", "y")
        self.learn(ab, cd)
        data = bytes.fromhex(
            HEADER + "01" + ab + cd + "04" + cd + ab + "07" + ab + "05" + "03"
        )
        message = self.assertRoundTrip(data)
        self.assertEqual(
            [g.names() for g in message.groups],
            [["a", "b", "c", "d"], ["c", "d", "a", "b"], ["a", "b"], []],
        )

    def test_vectorsInAnyOrder(self):
        """
        Every vector decodes the same on both paths, whatever was decoded before
        it (here: every other vector, twice).
        """
        paths = vectorFiles()
        for path in paths + paths:
            decode(path.read_bytes())
        for path in paths:
            data = path.read_bytes()
            fast, end = decodeModule._fastDecode(data)
            self.assertEqual((fast, end), carefulDecode(data))


class CachedGroupTests(DecodeAssertions):
    """
    The fast path remembers groups read as nothing but runs and their holes
    (C{_GROUPS}), and reads a group with the same octets but for the values of
    the holes in one go: the same message as from scratch, or a fall back to
    the field by field reading where the octets part.
    """

    def setUp(self):
        clearCaches()

    ab = keyword("a", "x") + keyword("b", "y")
    cd = keyword("c", "x") + keyword("d", "y")

    def event(self, n, m, tail=""):
        """
        A group of the runs C{ab} and C{cd} with changing integers after each.
        """
        return "07" + self.ab + integer("n", n) + self.cd + integer("m", m) + tail

    def learn(self, groups=1):
        for n in range(3):
            decode(
                bytes.fromhex(
                    HEADER + "".join(self.event(n + i, n) for i in range(groups)) + "03"
                )
            )
        self.assertTrue(decodeModule._GROUPS)

    def test_groupTaken(self):
        """
        Groups of a known shape, with other values in the holes, decode as from
        scratch, and keep the names of their fields as their layout.
        """
        self.learn()
        data = bytes.fromhex(
            HEADER
            + self.event(70, 80)
            + self.event(0, 2**31 - 1)
            + self.event(3, 4)
            + "03"
        )
        message = self.assertRoundTrip(data)
        self.assertPathsAgree(data)
        self.assertEqual(
            [(g.value("n"), g.value("m")) for g in message.groups],
            [(70, 80), (0, 2**31 - 1), (3, 4)],
        )
        for group in message.groups:
            self.assertEqual(group._layout, ("a", "b", "n", "c", "d", "m"))
            self.assertEqual(group._layout, tuple(f[0] for f in group._fields))

    def test_layoutOfEveryGroup(self):
        """
        Whichever way the fast path reads a group, it keeps the names of its
        fields as the group's layout.
        """
        self.learn()
        data = bytes.fromhex(
            HEADER
            + "01"
            + keyword("q", "r")
            + self.event(1, 2)
            + "04"
            + self.cd
            + self.ab
            + field(0x44, "", "7a")
            + "03"
        )
        for _ in range(3):
            fast, _ = decodeModule._fastDecode(data)
            for group in fast.groups:
                self.assertEqual(group._layout, tuple(f[0] for f in group._fields))
        self.assertEqual(fast.groups[2]._layout, ("c", "d", "a", "b", None))

    def test_octetsPartLater(self):
        """
        A group that starts as a known one and then differs (another field, one
        more, one less, another tag, another name in a hole) is read field by
        field from where it parts, to the same message as from scratch.
        """
        self.learn()
        variants = [
            self.event(1, 2, keyword("e", "z")),
            "07" + self.ab + integer("n", 1) + self.cd,
            "07" + self.ab + integer("n", 1) + keyword("c", "x"),
            "07" + self.ab + integer("n", 1) + self.ab,
            "07" + self.ab + field(0x23, "6e", "00000001") + self.cd,
            "07" + self.ab + integer("o", 1) + self.cd + integer("m", 2),
            "07" + self.ab + keyword("n", "s") + self.cd + integer("m", 2),
            "07" + self.ab + integer("n", 1) + self.cd + integer("m", 2) + self.ab,
        ]
        for variant in variants:
            for before in ["", self.event(5, 6)]:
                data = bytes.fromhex(HEADER + before + variant + "03")
                self.assertPathsAgree(data)
                self.assertPathsAgree(data)

    def test_cutShort(self):
        """
        A known group cut short anywhere gives the careful decoder's error.
        """
        self.learn()
        data = bytes.fromhex(HEADER + self.event(1, 2) + self.event(3, 4) + "03")
        for end in range(len(data)):
            self.assertPathsAgree(data[:end])

    def test_anotherShapeWithTheSameStart(self):
        """
        Groups of two shapes that start alike, one after the other: each is
        remembered, and each read as it is.
        """
        other = "07" + self.ab + integer("n", 1) + keyword("e", "z") + integer("m", 0)
        for n in range(4):
            data = bytes.fromhex(
                HEADER
                + self.event(n, n)
                + other.replace("00000001", f"{n:08x}")
                + self.event(n, 1)
                + "03"
            )
            self.assertPathsAgree(data)
        [candidates] = decodeModule._GROUPS.values()
        self.assertGreaterEqual(len(candidates), 2)

    def test_bounded(self):
        """
        The group cache holds at most about a megabyte of octets.
        """
        for i in range(400):
            big = "".join(keyword(name, f"{i:04d}" * 50) for name in "abcd")
            for n in range(3):
                decode(bytes.fromhex(HEADER + "01" + big + integer("n", n) + "03"))
        held = sum(
            segment[2]
            for entries in decodeModule._GROUPS.values()
            for entry in entries
            for segment in entry.segments
        )
        self.assertLessEqual(held, decodeModule._MAX_HELD)
        self.assertGreater(held, 0)


def text(name, value):
    return field(0x41, name.encode().hex(), value.encode().hex())


def signed(name, value):
    """
    An integer field of any 32-bit value, negative ones too.
    """
    return field(0x21, name.encode().hex(), f"{value & 0xFFFFFFFF:08x}")


def dateTime(name, minute, second):
    """
    A dateTime field, 2024-05-12 10:C{minute}:C{second}.5 +02:00.
    """
    value = f"07e8050c0a{minute:02x}{second:02x}052b0200"
    return field(0x31, name.encode().hex(), value)


class LearningPauseTests(DecodeAssertions):
    """
    When the entries of C{_GROUPS} it learns are not taken (groups that differ
    in their runs, one after the other), the fast path stops learning and trying
    them for a while (C{_LEARNING}), and reads the groups field by field: the
    same messages, for less work.
    """

    def setUp(self):
        clearCaches()
        self.addCleanup(clearCaches)
        self.serial = 0

    def group(self, printer):
        """
        A group of runs and holes whose middle run holds an attribute of one of
        many printers, named for it (a value of a name seen before in that place
        would be a hole).
        """
        self.serial += 1
        return (
            "07"
            + keyword("a", "x")
            + integer("n", self.serial)
            + keyword(f"p-{printer:03d}", "y")
            + keyword("c", "y")
            + integer("m", self.serial)
        )

    def message(self, *groups):
        return bytes.fromhex(HEADER + "".join(groups) + "03")

    def entries(self):
        return sum(len(entries) for entries in decodeModule._GROUPS.values())

    def test_pausesWhenNothingIsTaken(self):
        """
        After C{_MAX_UNTAKEN} entries learned and none taken, the next
        C{_PAUSE_GROUPS} groups that could make one are read without learning
        and without trying the entries; every message is the careful decoder's.
        """
        learned = 0
        printer = 0
        while not decodeModule._LEARNING[1]:
            # A hundred printers, one group each in turn: an entry learned for
            # one is pushed out before that printer comes again.
            data = self.message(self.group(printer % 100))
            before = self.entries()
            # Decoded once (a group decoded again would teach its holes as
            # fields that do not change).
            self.assertEqual((decode(data), len(data)), carefulDecode(data))
            learned += self.entries() > before
            printer += 1
            self.assertLess(printer, 2000)
        self.assertGreater(learned, 0)
        self.assertEqual(decodeModule._LEARNING[1], decodeModule._PAUSE_GROUPS)
        entries = self.entries()
        tries = []

        def fromTemplate(*args):
            tries.append(args)
            return -1

        self.patch(decodeModule, "_fromTemplate", fromTemplate)
        for _ in range(50):
            data = self.message(self.group(printer % 100))
            self.assertPathsAgree(data)
            printer += 1
        self.assertEqual(self.entries(), entries)
        self.assertEqual(tries, [])
        # Counted down by the groups that would have made an entry.
        self.assertLess(decodeModule._LEARNING[1], decodeModule._PAUSE_GROUPS)
        self.assertGreater(decodeModule._LEARNING[1], 0)

    def test_learnsAgainAfterThePause(self):
        """
        Once the pause is over, groups alike are learned and taken again.
        """
        decodeModule._LEARNING[:] = [0, 3]
        for _ in range(4):
            decode(self.message(self.group(1), self.group(1)))
        self.assertEqual(decodeModule._LEARNING[1], 0)
        self.assertGreater(self.entries(), 0)
        data = self.message(*[self.group(1) for _ in range(5)])
        self.assertPathsAgree(data)
        self.assertEqual(decodeModule._LEARNING, [0, 0])

    def test_takenResetsTheCount(self):
        """
        A group taken by an entry starts the count of entries learned and not
        taken again.
        """
        decode(self.message(*[self.group(7) for _ in range(3)]))
        self.assertGreater(self.entries(), 0)
        decodeModule._LEARNING[0] = decodeModule._MAX_UNTAKEN - 1
        data = self.message(self.group(7), self.group(7))
        self.assertPathsAgree(data)
        self.assertEqual(decodeModule._LEARNING, [0, 0])


class CompiledGroupTests(DecodeAssertions):
    """
    An entry of C{_GROUPS} that has read a few groups gets a compiled reader
    (C{_compileTemplate}) that reads groups of its shape one after the other:
    its integer holes in one C{struct} call with the runs around them, string
    holes and holes of other syntaxes on their own, the group's end, and the
    next group of the same tag.  Whatever the octets, the message is the
    careful decoder's, or the same error.
    """

    def setUp(self):
        clearCaches()
        self.serial = 0

    ab = keyword("a", "x") + keyword("b", "y")
    cd = keyword("c", "x") + keyword("d", "y")

    def event(self, n=None, s=None, minute=None, m=None, tag="07", end=None):
        """
        A group of runs and holes: C{ab}, the integer C{n}, C{cd}, the text
        C{s}, C{e}, the dateTime C{t}, C{f}, and it ends with the integer C{m}
        (or the fields C{end}, hex, instead).  Values not given are new ones.
        """
        self.serial += 1
        serial = self.serial
        if minute is None:
            minute = serial % 60
        return (
            tag
            + self.ab
            + signed("n", serial if n is None else n)
            + self.cd
            + text("s", f"s{serial}" if s is None else s)
            + keyword("e", "z")
            + dateTime("t", minute, serial // 60 % 60)
            + keyword("f", "w")
            + (signed("m", -serial if m is None else m) if end is None else end)
        )

    def message(self, *groups):
        return bytes.fromhex(HEADER + "01" + keyword("q", "r") + "".join(groups) + "03")

    def learn(self):
        """
        Decode groups of the shape of L{event} until one entry of C{_GROUPS} has a
        reader.

        @return: that entry.
        """
        while not any(
            entry.read for entries in decodeModule._GROUPS.values() for entry in entries
        ):
            decode(self.message(*[self.event() for _ in range(100)]))
        [template] = [
            entry
            for entries in decodeModule._GROUPS.values()
            for entry in entries
            if entry.read is not None and len(entry.layout) == 10
        ]
        self.assertEqual(
            template.layout.holes, ((2, 0x21), (5, 0x41), (7, 0x31), (9, 0x21))
        )
        return template

    def test_readByTheReader(self):
        """
        Groups of the shape, with any values in the holes, are read by the
        compiled reader, each with the entry's layout, to the careful decoder's
        message.
        """
        template = self.learn()
        data = self.message(
            self.event(n=0, s="", m=2**31 - 1),
            self.event(n=-(2**31), s="\u00e9\u20ac" * 100, minute=59),
            self.event(tag="04"),
            self.event(tag="04"),
            "01" + keyword("q", "r"),
            self.event(),
        )
        message = self.assertRoundTrip(data)
        self.assertPathsAgree(data)
        fast, _ = decodeModule._fastDecode(data)
        for group in fast.groups:
            if group.tag != 1:
                self.assertIs(group._layout, template.layout)
        self.assertEqual(
            [g.value("n") for g in message.groups if g.tag != 1],
            [0, -(2**31), self.serial - 2, self.serial - 1, self.serial],
        )
        self.assertEqual(message.groups[2].value("s"), "\u00e9\u20ac" * 100)

    def test_emptyAndOtherGroups(self):
        """
        Between and after groups the reader takes: empty groups, groups of
        another shape, groups that start alike and then differ.
        """
        self.learn()
        variants = [
            [self.event(), "07", self.event()],
            [self.event(), self.event(), "07"],
            [self.event(), "04", "07", self.event()],
            [self.event(), "07" + self.ab + self.cd, self.event()],
            [self.event(), self.event() + keyword("g", "h"), self.event()],
            [self.event(), self.event() + field(0x13, "67", ""), self.event()],
            [self.event(), self.event(end=""), self.event()],
            [self.event(), self.event(end=keyword("g", "h")), self.event()],
            [self.event(), self.event(tag="04", end=keyword("m", "h"))],
            [self.event(), self.event(end=field(0x21, "6d", "0001"))],
        ]
        for groups in variants:
            data = self.message(*groups)
            self.assertPathsAgree(data)
            self.assertPathsAgree(data)

    def test_oneOctetOtherAnywhere(self):
        """
        Groups that differ from the entry's in one octet anywhere (a run, a
        hole's header, a value-length, a value, the tag that ends the group)
        decode as the careful decoder says: another message or the same error.
        """
        self.learn()
        data = self.message(self.event(), self.event(), self.event())
        start = len(HEADER) // 2 + 1 + len(keyword("q", "r")) // 2
        for offset in range(start, len(data)):
            for other in {data[offset] ^ 1, data[offset] ^ 0x80, 0, 7, 0x13, 0x7F}:
                changed = data[:offset] + bytes([other]) + data[offset + 1 :]
                self.assertPathsAgree(changed)

    def test_cutShort(self):
        """
        Groups the reader takes, cut short anywhere, give the careful decoder's
        error.
        """
        self.learn()
        data = self.message(self.event(), self.event(), self.event())
        for end in range(len(data)):
            self.assertPathsAgree(data[:end])

    def test_valueOverLimit(self):
        """
        A string hole's value over the limit on a value's length is refused.
        """
        self.learn()
        limit = DEFAULT_LIMITS.maxValueBytes
        self.assertRoundTrip(self.message(self.event(), self.event(s="x" * limit)))
        over = self.message(self.event(), self.event(s="x" * (limit + 1)))
        self.assertPathsAgree(over)
        self.assertRaises(IppDecodeError, decode, over)

    def test_attributeLimit(self):
        """
        The groups the reader takes count towards the limit on the attributes
        of a message.
        """
        self.learn()
        groups = (DEFAULT_LIMITS.maxAttributes - 1) // 10
        within = self.message(*[self.event() for _ in range(groups)])
        self.assertEqual(len(decode(within).groups), groups + 1)
        over = self.message(*[self.event() for _ in range(groups + 1)])
        self.assertPathsAgree(over)
        self.assertRaises(IppDecodeError, decode, over)

    @settings(deadline=None, max_examples=200)
    @given(
        st.lists(
            st.tuples(
                st.integers(-(2**31), 2**31 - 1),
                st.text(max_size=40),
                st.integers(0, 255),
                st.integers(-(2**31), 2**31 - 1),
                st.sampled_from(["07", "04", "0a"]),
            ),
            min_size=1,
            max_size=8,
        )
    )
    def test_anyValues(self, groups):
        """
        Whatever the values in the holes (a minute over 59 is not a valid
        dateTime but still decodes), the fast path agrees with the careful one.
        """
        if not getattr(self, "learnt", False):
            self.learn()
            self.learnt = True
        data = self.message(
            *[
                self.event(n=n, s=s, minute=minute, m=m, tag=tag)
                for n, s, minute, m, tag in groups
            ]
        )
        self.assertPathsAgree(data)


class ColdStreamTests(DecodeAssertions):
    """
    A decoder that has decoded nothing yet (a server just started) reads a stream
    of reports as a relay sends them, every event with its own sequence number,
    job id and text, the reports in turn for a few subscriptions on as many
    printers.  The fields that change are the holes of its runs, not put in
    C{_FIELDS}: a field not known, whose name was seen before, right after a run
    (unless the run starts with an additional value) or right after a hole
    taken with its run; two holes may follow each other; its group templates
    are taken; and every message is the careful decoder's.
    """

    def setUp(self):
        clearCaches()
        self.addCleanup(clearCaches)

    def event(self, subscription, sequence):
        """
        The hex of an event-notification group like cupsd's job-completed event,
        as the relay personalizes it for subscription C{subscription} (on the
        printer of the same number), with sequence number and job id
        C{sequence}.
        """
        return "07" + "".join(
            [
                string(0x47, "notify-charset", "utf-8"),
                string(0x48, "notify-natural-language", "en"),
                integer("notify-subscription-id", subscription),
                integer("notify-sequence-number", sequence),
                keyword("notify-subscribed-event", "job-completed"),
                field(0x30, b"notify-user-data".hex(), ""),
                integer("printer-up-time", 1795386390),
                string(0x41, "notify-text", f"Job #{sequence} completed."),
                string(
                    0x45, "notify-printer-uri", f"ipp://relay/printers/p{subscription}"
                ),
                string(0x42, "printer-name", "test"),
                field(0x23, b"printer-state".hex(), "00000004"),
                keyword("printer-state-reasons", "none"),
                field(0x22, b"printer-is-accepting-jobs".hex(), "01"),
                integer("notify-job-id", sequence),
                field(0x23, b"job-state".hex(), "00000009"),
                string(0x42, "job-name", "pull-demo-job"),
                keyword("job-state-reasons", "job-completed-successfully"),
                integer("job-impressions-completed", 0),
            ]
        )

    def reports(self, count, events=5, subscriptions=4):
        """
        @return: C{count} reports (octets) of C{events} events each, for
            subscriptions 1 to C{subscriptions} in turn, sequence numbers
            counted over all of them from 1.
        """
        operation = (
            "01"
            + string(0x47, "attributes-charset", "utf-8")
            + string(0x48, "attributes-natural-language", "en")
            + string(0x45, "notify-recipient-uri", "http://127.0.0.1:8632/notify")
        )
        bodies = []
        for report in range(count):
            subscription = report % subscriptions + 1
            first = report * events + 1
            groups = [
                self.event(subscription, sequence)
                for sequence in range(first, first + events)
            ]
            bodies.append(bytes.fromhex(HEADER + operation + "".join(groups) + "03"))
        return bodies

    def test_templatesTaken(self):
        """
        After the first reports, every event group is read by an entry of
        C{_GROUPS} (its layout says where the holes are), whichever
        subscription's; every message is the careful decoder's.
        """
        messages = []
        for data in self.reports(12):
            message = decode(data)
            self.assertEqual((message, len(data)), carefulDecode(data))
            messages.append(message)
        for message in messages[-4:]:
            for group in message.groups[1:]:
                self.assertTrue(hasattr(group._layout, "holes"), group._layout)
        layout: Any = messages[-1].groups[1]._layout
        holes = {layout[index] for index, _ in layout.holes}
        self.assertTrue(
            {"notify-sequence-number", "notify-job-id", "notify-text"} <= holes,
            holes,
        )

    def test_changingFieldsNotCached(self):
        """
        Of the fields that change from one event to the next, only those of
        the first event (nothing was known then) and the sequence number of
        the first event of a subscription's first report (right after its
        subscription id, which is not known then either) are put in
        C{_FIELDS}: none of the reports after those.
        """
        for data in self.reports(12):
            decode(data)
        for sequence in range(1, 12 * 5 + 1):
            changing = [
                integer("notify-sequence-number", sequence),
                integer("notify-job-id", sequence),
                string(0x41, "notify-text", f"Job #{sequence} completed."),
            ]
            cached = [bytes.fromhex(f) in decodeModule._FIELDS for f in changing]
            if sequence == 1:
                self.assertEqual(cached, [True] * 3)
            elif sequence in (6, 11, 16):
                self.assertFalse(any(cached[1:]), sequence)
            else:
                self.assertEqual(cached, [False] * 3, sequence)
        # The fields of the operation group and of the first event, and for
        # each other subscription its id and a sequence number.
        self.assertLessEqual(len(decodeModule._FIELDS), 3 + 18 + 3 * 2)

    def test_sameAsPrimed(self):
        """
        A decoder that decoded another event first (of other values: it learns
        them as known fields) takes templates too, and gives the same messages.
        """
        decode(bytes.fromhex(HEADER + self.event(9, 1000) + "03"))
        last = None
        for data in self.reports(12):
            last = decode(data)
            self.assertEqual((last, len(data)), carefulDecode(data))
        assert last is not None
        for group in last.groups[1:]:
            self.assertTrue(hasattr(group._layout, "holes"), group._layout)

    def group(self, n, m, tail=""):
        """
        A group: a run, the integers C{n} and C{m} one after the other, a run.
        """
        return (
            "07"
            + keyword("a", "x")
            + keyword("b", "y")
            + integer("n", n)
            + integer("m", m)
            + keyword("c", "z")
            + keyword("d", "w")
            + tail
        )

    def test_holeAfterHole(self):
        """
        A field not known right after a hole taken with its run, whose name is
        known, is a hole too: not cached, and a group of runs and such holes is
        remembered in C{_GROUPS} with both holes, then taken.
        """
        for k in range(3):
            decode(bytes.fromhex(HEADER + self.group(k, 100 + k) + "03"))
        # The first group: nothing known, all cached.  The second: "n" the
        # hole of the run before it, not cached ("m", after a hole not taken
        # with its run but met as the run was made, is).  The third: "n" the
        # hole taken with its run, "m" a hole right after it.
        self.assertIn(bytes.fromhex(integer("m", 100)), decodeModule._FIELDS)
        for hole in (integer("n", 1), integer("n", 2), integer("m", 102)):
            self.assertNotIn(bytes.fromhex(hole), decodeModule._FIELDS)
        data = bytes.fromhex(
            HEADER + self.group(7, 8) + self.group(2**31 - 1, 0) + "03"
        )
        message = self.assertRoundTrip(data)
        self.assertEqual(
            [(g.value("n"), g.value("m")) for g in message.groups],
            [(7, 8), (2**31 - 1, 0)],
        )
        for group in message.groups:
            layout: Any = group._layout
            self.assertEqual(layout.holes, ((2, 0x21), (3, 0x21)))
        # The second hole of another syntax, or of another length: read another
        # way, to the same message.
        for other in (
            keyword("m", "q"),
            field(0x21, b"m".hex(), "0102"),
            field(0x44, "", b"v".hex()),
        ):
            data = bytes.fromhex(
                HEADER
                + self.group(7, 8)
                + "07"
                + keyword("a", "x")
                + keyword("b", "y")
                + integer("n", 9)
                + other
                + keyword("c", "z")
                + keyword("d", "w")
                + "03"
            )
            self.assertPathsAgree(data)

    def test_runOfAdditionalValues(self):
        """
        A field not known after a run that starts with an additional value
        (met by chance more often than not: other attributes and collection
        members have the same octets) is put in C{_FIELDS}.
        """
        extra = field(0x44, "", b"w".hex())
        decode(
            bytes.fromhex(
                HEADER + "07" + keyword("a", "w") + extra + integer("n", 0) + "03"
            )
        )
        data = bytes.fromhex(
            HEADER + "07" + keyword("b", "v") + extra + integer("n", 1) + "03"
        )
        self.assertPathsAgree(data)
        self.assertIn(bytes.fromhex(integer("n", 1)), decodeModule._FIELDS)

    def test_longRunInPieces(self):
        """
        Known fields one after the other over more than C{_MAX_RUN_BYTES} are
        remembered as runs of at most that many octets, one after the other,
        and taken whole the next time.
        """
        fields = [keyword(f"k{i:03d}", "v" * 40) for i in range(200)]
        data = bytes.fromhex(HEADER + "04" + "".join(fields) + "03")
        self.assertGreater(len(data), 2 * decodeModule._MAX_RUN_BYTES)
        for _ in range(2):
            self.assertPathsAgree(data)
        runs = [run for runs in decodeModule._RUNS.values() for run in runs]
        self.assertGreaterEqual(len(runs), 3)
        self.assertEqual(sum(len(run[1]) for run in runs), 200)
        for run in runs:
            self.assertLessEqual(run[2], decodeModule._MAX_RUN_BYTES)
        # No field looked up (and so none found missing and cached).
        fieldCache: dict = {}
        self.patch(decodeModule, "_FIELDS", fieldCache)
        self.assertPathsAgree(data)
        self.assertEqual(fieldCache, {})

    def test_newNameAfterHole(self):
        """
        A field not known right after a hole, whose name was never seen, is
        put in C{_FIELDS}: not a hole, and the group is not remembered in
        C{_GROUPS}.
        """
        for k in range(3):
            decode(
                bytes.fromhex(
                    HEADER
                    + "07"
                    + keyword("a", "x")
                    + keyword("b", "y")
                    + integer("n", k)
                    + keyword(f"new-{k}", "v")
                    + keyword("c", "z")
                    + "03"
                )
            )
        self.assertIn(bytes.fromhex(keyword("new-2", "v")), decodeModule._FIELDS)
        self.assertNotIn(bytes.fromhex(integer("n", 2)), decodeModule._FIELDS)
        self.assertEqual(decodeModule._GROUPS, {})

    def test_collectionAfterHole(self):
        """
        A collection right after a hole is not a hole: the group is read field
        by field, to the careful decoder's message.
        """
        collection = (
            field(0x34, b"k".hex(), "")
            + field(0x4A, "", b"x".hex())
            + field(0x21, "", "00000001")
            + field(0x37, "", "")
        )
        for k in range(4):
            data = bytes.fromhex(
                HEADER
                + "07"
                + keyword("a", "x")
                + keyword("b", "y")
                + integer("n", k)
                + collection
                + keyword("c", "z")
                + "03"
            )
            self.assertPathsAgree(data)
        self.assertEqual(decodeModule._GROUPS, {})

    @settings(deadline=None, max_examples=150)
    @given(
        st.lists(
            st.lists(
                st.lists(
                    st.tuples(
                        st.sampled_from("abcdef"),
                        st.booleans(),
                        st.sampled_from(["int", "keyword", "octets", "bool", "date"]),
                        st.integers(0, 3),
                        st.booleans(),
                    ),
                    min_size=1,
                    max_size=8,
                ),
                min_size=1,
                max_size=4,
            ),
            min_size=1,
            max_size=8,
        )
    )
    def test_anyStream(self, stream):
        """
        A stream of messages from a cold start, whose groups are made of a few
        names in order, each field there or not, of a few syntaxes, with values
        from small pools (some repeat, some change, holes come one after the
        other), additional values here and there: every message is the careful
        decoder's, or the same error.
        """
        clearCaches()
        for groups in stream:
            hexGroups = []
            for fields in groups:
                hexGroup = "07"
                for name, present, kind, value, additional in sorted(fields):
                    if not present:
                        continue
                    raw = {
                        "int": f"{value:08x}",
                        "keyword": f"v{value}".encode().hex(),
                        "octets": "ab" * value,
                        "bool": f"{value % 2:02x}",
                        "date": f"07ea0b16{value:02x}1a21002b0000",
                    }[kind]
                    tag = {
                        "int": 0x21,
                        "keyword": 0x44,
                        "octets": 0x30,
                        "bool": 0x22,
                        "date": 0x31,
                    }[kind]
                    hexGroup += field(tag, name.encode().hex(), raw)
                    if additional:
                        hexGroup += field(tag, "", raw)
                hexGroups.append(hexGroup)
            self.assertPathsAgree(bytes.fromhex(HEADER + "".join(hexGroups) + "03"))


class CachedCollectionTests(DecodeAssertions):
    """
    The fast path remembers whole collection values, and takes one where its
    octets come again: still within the depth and attribute limits.
    """

    def setUp(self):
        clearCaches()

    def nested(self, depth, name="63"):
        """
        An attribute C{name} (hex) of C{depth} collections one inside the other,
        as in L{DecodeErrorTests.nested}.
        """
        return bytes.fromhex(
            HEADER
            + "01"
            + f"34 {len(name) // 2:04x} {name} 0000"
            + "4a 0000 0001 78 34 0000 0000" * (depth - 1)
            + "37 0000 0000" * depth
            + "03"
        )

    def test_knownCollectionDeeper(self):
        """
        A collection known from a message where it was within the depth limit is
        refused where it would nest one level too deep.
        """
        self.assertRoundTrip(self.nested(10))
        self.assertTrue(decodeModule._COLLECTIONS)
        self.assertDecodeError(
            self.nested(11), 21 + 11 * 9, "collection 'x' nests deeper than 10 levels"
        )

    def test_knownCollectionTaken(self):
        """
        A known collection gives the same value, under another name too.
        """
        media = (
            "4a 0000 000a" + b"media-size".hex() + "34 0000 0000"
            "4a 0000 000b" + b"x-dimension".hex() + "21 0000 0004 00005208"
            "4a 0000 000b" + b"y-dimension".hex() + "21 0000 0004 00007404"
            "37 0000 0000"
            "4a 0000 000a"
            + b"media-type".hex()
            + "44 0000 000a"
            + b"stationery".hex()
            + "37 0000 0000"
        )
        first = self.assertRoundTrip(
            bytes.fromhex(HEADER + "01 34 0001 61 0000" + media + "03")
        )
        second = self.assertRoundTrip(
            bytes.fromhex(
                HEADER + "04 34 0001 62 0000" + media + "34 0000 0000" + media + "03"
            )
        )
        value: Any = first.operation.value("a")
        self.assertEqual(second.groups[0]["b"].values, (value, value))
        self.assertEqual(value["media-size"].value.value("y-dimension"), 29700)

    def test_knownCollectionCutShort(self):
        """
        A known collection, cut short by the end of the message.
        """
        data = self.nested(3)
        self.assertRoundTrip(data)
        # The innermost collection with members ("x" and an empty collection, 21
        # octets from 26) is known, and cut short at 42.
        self.assertDecodeError(
            data[:42],
            42,
            "collection 'x' (opened at offset 21) is not closed at the end of the "
            "message",
            incomplete=True,
        )

    def test_knownCollectionCountsMembers(self):
        """
        The members of a known collection count toward the attribute limit, as
        many times as it is taken.
        """
        members = "".join(
            "4a 0000 0001 78" + f"21 0000 0004 {i:08x}" for i in range(250)
        )
        value = members + "37 0000 0000"
        values = 65536 // 250 + 1
        data = bytes.fromhex(
            HEADER
            + "01 34 0001 63 0000"
            + value
            + ("34 0000 0000" + value) * (values - 1)
            + "03"
        )
        # Attribute 1 is "c"; the member that is attribute 65537 is member 36 of
        # the 263rd value.
        self.assertEqual(values, 263)
        size = len(bytes.fromhex(value))
        offset = 15 + size + 261 * (5 + size) + 5 + 35 * 15
        self.assertDecodeError(
            data, offset, "more than 65536 attributes in the message"
        )
        self.assertTrue(decodeModule._COLLECTIONS)

    def test_bounded(self):
        """
        The collection cache holds at most about a megabyte of octets.
        """
        for i in range(600):
            member = (
                "4a 0000 0001 78" + "44 0000 07d0" + f"{i:04d}".encode().hex() * 500
            )
            decode(
                bytes.fromhex(
                    HEADER + "01 34 0001 63 0000" + member + "37 0000 0000 03"
                )
            )
        held = sum(
            len(entry[0])
            for entries in decodeModule._COLLECTIONS.values()
            for entry in entries
        )
        self.assertLessEqual(held, decodeModule._MAX_HELD)
        self.assertGreater(held, 0)


class FastCollectionTests(DecodeAssertions):
    """
    Collections within the default limits, that the fast path reads by itself:
    faults that its shortcuts could take for something valid.
    """

    def test_memberValueOverLimit(self):
        """
        A member value of 32768 octets.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "34 0001 63 0000"  # 9: begCollection "c"
            "4a 0000 0001 78"  # 15: memberAttrName "x"
            "44 0000 8000"
            + "61"
            * 0x8000  # 21: keyword, value-length at 24
            + "37 0000 0000"  # endCollection
            "03"  # end-of-attributes-tag
        )
        self.assertDecodeError(
            data, 24, "value-length 32768 is over the limit of 32767"
        )

    def test_nameOnMemberValueLikeALength(self):
        """
        A member value with a name whose two octets, read as a value-length, would
        make a valid member value.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "34 0001 63 0000"  # 9: begCollection "c"
            "4a 0000 0001 78"  # 15: memberAttrName "x"
            "44 0002 0001 61"  # 21: keyword, name-length 2, name 00 01
            "37 0000 0000"  # 28: endCollection
            "03"  # 33: end-of-attributes-tag
        )
        self.assertDecodeError(
            data,
            21,
            "keyword inside collection 'c' has a name (name-length 2)",
        )

    def test_delimiterLikeEmptyValue(self):
        """
        A delimiter tag in a collection, followed by octets that would make it a
        field with no name and a value.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "34 0001 63 0000"  # 9: begCollection "c"
            "4a 0000 0001 78"  # 15: memberAttrName "x"
            "04 0000 0001 61"  # 21: printer-attributes-tag
            "37 0000 0000"  # 27: endCollection
            "03"  # 32: end-of-attributes-tag
        )
        self.assertDecodeError(
            data,
            21,
            "collection 'c' (opened at offset 9) is not closed before delimiter "
            "tag 0x04",
        )

    def test_memberValuesLimitDefault(self):
        """
        By default a member may have 65536 values, and not one more.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "34 0001 63 0000"  # 9: begCollection "c"
            "4a 0000 0001 78"  # 15: memberAttrName "x"
            + "21 0000 0004 00000001"
            * 65536  # 21 + 9 * k: the values
            + "37 0000 0000"  # endCollection
            "03"  # end-of-attributes-tag
        )
        message = self.assertRoundTrip(data)
        value: Any = message.operation.value("c")
        self.assertEqual(len(value["x"].values), 65536)
        tooMany = data[:21] + bytes.fromhex("21 0000 0004 00000001") + data[21:]
        self.assertDecodeError(
            tooMany, 21 + 9 * 65536, "member 'x' has more than 65536 values"
        )
        # And with another member after it.
        tooMany = tooMany[:-6] + bytes.fromhex(
            "4a 0000 0001 79"  # memberAttrName "y"
            "21 0000 0004 00000002"  # integer 2
            "37 0000 0000"  # endCollection
            "03"  # end-of-attributes-tag
        )
        self.assertDecodeError(
            tooMany, 21 + 9 * 65536, "member 'x' has more than 65536 values"
        )


class InputTests(DecodeAssertions):
    """
    What L{decode} takes and what it does with octets after the message.
    """

    message = bytes.fromhex(
        HEADER + "01"  # 8: operation-attributes-tag
        "47 0012 617474726962757465732d63686172736574"  # 9: "attributes-charset"
        "0005 7574662d38"  # 30: "utf-8"
        "03"  # 37: end-of-attributes-tag
    )

    def test_bytearray(self):
        """
        A C{bytearray} decodes like C{bytes}.
        """
        data = self.message + b"%!PS"
        self.assertEqual(decode(bytearray(data)), decode(data))
        self.assertEqual(decodePrefix(bytearray(data)), decodePrefix(data))
        self.assertEqual(decode(bytearray(data)).data, b"%!PS")

    def test_memoryview(self):
        """
        A C{memoryview} decodes like C{bytes}.
        """
        data = self.message + b"%!PS"
        self.assertEqual(decode(memoryview(data)), decode(data))
        self.assertEqual(decode(memoryview(data)[: len(self.message)]).data, b"")
        self.assertEqual(decode(memoryview(data), lenient=True), decode(data))

    def test_badBytearray(self):
        """
        Errors are the same for a C{bytearray} or C{memoryview} input.
        """
        data = self.message[:-1]
        for kind in (bytearray, memoryview):
            e = self.assertRaises(IppDecodeError, decode, kind(data))
            self.assertEqual((e.offset, e.incomplete), (37, True))

    def test_documentData(self):
        """
        Octets after the end-of-attributes tag are the document data, even when
        they look like IPP.
        """
        data = self.message + self.message
        message = decode(data)
        self.assertEqual(message.data, self.message)
        self.assertEqual(message.operation.value("attributes-charset"), "utf-8")
        self.assertEqual(encode(message), data)
        prefix, end = decodePrefix(data)
        self.assertEqual((prefix.data, end), (b"", 38))
        self.assertEqual(prefix, message.replace(data=b""))

    def test_documentDataOfVector(self):
        """
        The Print-Job request vector carries its document after the end tag.
        """
        path = VECTORS / "ipptool-2.4.2-print-job-with-subscription-request.ipp"
        if not path.exists():
            raise self.skipTest(f"{path.name} is missing")
        data = path.read_bytes()
        message = decode(data)
        self.assertEqual(len(message.data), 41)
        self.assertEqual(message.data, data[-41:])
        self.assertEqual(encode(message), data)

    def test_noDocumentData(self):
        """
        Without octets after the end tag, the data is empty.
        """
        self.assertEqual(decode(self.message).data, b"")


class VectorTests(DecodeAssertions):
    """
    The captured messages decode the same way on both paths.
    """

    def test_pathsAgree(self):
        """
        For every vector, the fast path and the careful decoder give the same
        message, and so do a decode with and without document data.
        """
        vectors = vectorFiles()
        self.assertTrue(vectors)
        for path in vectors:
            data = path.read_bytes()
            self.assertPathsAgree(data)
            message = decode(data)
            end = decodePrefix(data)[1]
            self.assertEqual(message.replace(data=b""), carefulDecode(data)[0])
            self.assertEqual(message.data, data[end:])

    def test_fastPathTakesVectors(self):
        """
        The fast path decodes every vector by itself, without giving up.
        """
        for path in vectorFiles():
            data = path.read_bytes()
            fast, end = decodeModule._fastDecode(data)
            self.assertEqual((fast, end), carefulDecode(data))

    def test_lenientAgrees(self):
        """
        A lenient decode of a valid message is the strict one.
        """
        for path in vectorFiles():
            data = path.read_bytes()
            self.assertEqual(decode(data, lenient=True), decode(data))
            self.assertEqual(encode(decode(data, lenient=True), lenient=True), data)


class ValueSyntaxTests(DecodeAssertions):
    """
    Every value syntax decodes to its Python type and encodes back to the same
    octets.
    """

    def decodeOne(self, field):
        """
        Decode a message whose operation group holds the one attribute C{field}.
        """
        data = bytes.fromhex(HEADER + "01" + field + "03")
        message = self.assertRoundTrip(data)
        [attribute] = message.operation.attributes
        return attribute

    def assertValues(self, field, tag, *values):
        attribute = self.decodeOne(field)
        self.assertEqual(attribute.name, "a")
        self.assertEqual(attribute.values, values)
        self.assertEqual(attribute.tags, (tag,) * len(values))
        for value in values:
            for got in attribute.values:
                if got == value:
                    self.assertIs(type(got), type(value))
        return attribute

    def test_integer(self):
        self.assertValues(
            "21 0001 61 0004 fffffffe"  # integer "a" = -2
            "21 0000 0004 7fffffff"  # 2**31 - 1
            "21 0000 0004 80000000",  # -2**31
            0x21,
            -2,
            2**31 - 1,
            -(2**31),
        )

    def test_boolean(self):
        self.assertValues(
            "22 0001 61 0001 01"  # boolean "a" = true
            "22 0000 0001 00",  # false
            0x22,
            True,
            False,
        )

    def test_enum(self):
        self.assertValues("23 0001 61 0004 00000003", 0x23, 3)  # enum "a" = 3

    def test_octetString(self):
        self.assertValues(
            "30 0001 61 0003 00ff10"  # octetString "a"
            "30 0000 0000",  # empty
            0x30,
            b"\x00\xff\x10",
            b"",
        )

    def test_dateTime(self):
        attribute = self.assertValues(
            "31 0001 61 000b"  # dateTime "a"
            "07ea 02 03"  # 2026-02-03
            "04 05 06 07"  # 04:05:06.7
            "2d 05 1e",  # -05:30
            0x31,
            DateTime(2026, 2, 3, 4, 5, 6, 7, "-", 5, 30),
        )
        self.assertEqual(
            attribute.value.toDatetime().isoformat(), "2026-02-03T04:05:06.700000-05:30"
        )

    def test_dateTimeOutOfRange(self):
        """
        Fields out of calendar range are kept as they came.
        """
        self.assertValues(
            "31 0001 61 000b"  # dateTime "a"
            "ffff 00 ff"  # year 65535, month 0, day 255
            "ff ff 3c ff"  # hour 255, minute 255, second 60, 255 deciseconds
            "2b ff ff",  # +255:255
            0x31,
            DateTime(65535, 0, 255, 255, 255, 60, 255, "+", 255, 255),
        )

    def test_resolution(self):
        self.assertValues(
            "32 0001 61 0009"  # resolution "a"
            "0000012c 00000258 03",  # 300x600 dpi
            0x32,
            Resolution(300, 600, 3),
        )

    def test_resolutionNegative(self):
        self.assertValues(
            "32 0001 61 0009"  # resolution "a"
            "ffffffff 80000000 ff",  # -1 x -2**31, units -1
            0x32,
            Resolution(-1, -(2**31), -1),
        )

    def test_rangeOfInteger(self):
        self.assertValues(
            "33 0001 61 0008"  # rangeOfInteger "a"
            "00000001 7fffffff",  # 1 to 2**31 - 1
            0x33,
            Range(1, 2**31 - 1),
        )

    def test_textWithLanguage(self):
        self.assertValues(
            "35 0001 61 000d"  # textWithLanguage "a", value-length 13
            "0005 656e2d7573"  # language "en-us"
            "0004 74657874",  # text "text"
            0x35,
            TextWithLanguage("text", "en-us"),
        )

    def test_nameWithLanguage(self):
        self.assertValues(
            "36 0001 61 000b"  # nameWithLanguage "a", value-length 11
            "0002 6672"  # language "fr"
            "0005 c3a974c3a9",  # name "été"
            0x36,
            TextWithLanguage("été", "fr"),
        )

    def test_withLanguageEmpty(self):
        self.assertValues(
            "35 0001 61 0004"  # textWithLanguage "a", value-length 4
            "0000"  # no language
            "0000",  # no text
            0x35,
            TextWithLanguage("", ""),
        )

    def test_text(self):
        self.assertValues("41 0001 61 0005 c3a974c3a9", 0x41, "été")  # text "a"

    def test_textEmpty(self):
        self.assertValues("41 0001 61 0000", 0x41, "")  # text "a", empty

    def test_name(self):
        self.assertValues("42 0001 61 0002 7031", 0x42, "p1")  # name "a" = "p1"

    def test_keyword(self):
        self.assertValues(
            "44 0001 61 0004 69646c65"  # keyword "a" = "idle"
            "44 0000 0004 6e6f6e65",  # "none"
            0x44,
            "idle",
            "none",
        )

    def test_uri(self):
        self.assertValues(
            "45 0001 61 0009 6970703a2f2f682f70",  # uri "a" = "ipp://h/p"
            0x45,
            "ipp://h/p",
        )

    def test_uriScheme(self):
        self.assertValues("46 0001 61 0004 69707073", 0x46, "ipps")  # "ipps"

    def test_charset(self):
        self.assertValues("47 0001 61 0005 7574662d38", 0x47, "utf-8")  # "utf-8"

    def test_naturalLanguage(self):
        self.assertValues("48 0001 61 0005 656e2d7573", 0x48, "en-us")  # "en-us"

    def test_mimeMediaType(self):
        self.assertValues(
            "49 0001 61 000a 746578742f706c61696e",  # "text/plain"
            0x49,
            "text/plain",
        )

    def test_mixedSetOf(self):
        """
        The values of a 1setOf may each have their own tag.
        """
        attribute = self.decodeOne(
            "44 0001 61 0004 6e6f6e65"  # keyword "a" = "none"
            "42 0000 0002 7031"  # name "p1"
            "13 0000 0000"  # no-value
            "44 0000 0001 78"  # keyword "x"
        )
        self.assertEqual(attribute.values, ("none", "p1", OutOfBand(0x13), "x"))
        self.assertEqual(attribute.tags, (0x44, 0x42, 0x13, 0x44))
        self.assertEqual(attribute.syntax, "keyword|nameWithoutLanguage|no-value")

    def test_outOfBand(self):
        """
        Every out-of-band value, assigned or reserved, is an L{OutOfBand} of its
        tag.
        """
        for tag in range(0x10, 0x20):
            attribute = self.decodeOne(f"{tag:02x} 0001 61 0000")
            self.assertEqual(attribute.values, (OutOfBand(tag),))
            self.assertEqual(attribute.tags, (tag,))
        names = {
            0x10: "unsupported",
            0x12: "unknown",
            0x13: "no-value",
            0x15: "not-settable",
            0x16: "delete-attribute",
            0x17: "admin-define",
        }
        for tag, name in names.items():
            self.assertEqual(str(self.decodeOne(f"{tag:02x} 0001 61 0000").value), name)

    def test_outOfBandWithValue(self):
        """
        An out-of-band value that carries octets (as some printers send) keeps
        them, to re-encode them.
        """
        attribute = self.decodeOne(
            "13 0001 61 0002 6869"  # no-value "a", with octets "hi"
        )
        self.assertEqual(attribute.value, OutOfBand(0x13, b"hi"))

    def test_unknownTags(self):
        """
        Reserved and unassigned value tags are kept raw as L{Unknown}.
        """
        for tag in (0x20, 0x24, 0x2F, 0x38, 0x3F, 0x40, 0x43, 0x4B, 0x5F, 0x60, 0x7E):
            for other in (0x80, 0xC0, 0xFF):
                attribute = self.decodeOne(
                    f"{tag:02x} 0001 61 0003 010203"  # tag, "a", 3 octets
                    f"{tag:02x} 0000 0000"  # no octets
                    f"{other:02x} 0000 0001 04"  # another unknown tag, 1 octet
                )
                self.assertEqual(
                    attribute.values,
                    (Unknown(tag, b"\1\2\3"), Unknown(tag, b""), Unknown(other, b"\4")),
                )
                self.assertEqual(attribute.tags, (tag, tag, other))

    def test_extension(self):
        """
        An extension (0x7F) value is L{Unknown} whose C{extendedTag} is the
        real tag in its first four octets.
        """
        attribute = self.decodeOne(
            "7f 0001 61 0006"  # extension "a", value-length 6
            "40000001"  # tag 0x40000001
            "abcd"  # its value
            "7f 0000 0004 7fffffff"  # tag 0x7fffffff, no value
        )
        self.assertEqual(
            attribute.values,
            (
                Unknown(0x7F, bytes.fromhex("40000001abcd")),
                Unknown(0x7F, bytes.fromhex("7fffffff")),
            ),
        )
        self.assertEqual(
            [value.extendedTag for value in attribute.values], [0x40000001, 0x7FFFFFFF]
        )
        self.assertIsNone(Unknown(0x40, b"\0\0\0\0").extendedTag)

    def test_collection(self):
        """
        Nested collections decode to L{Collection}s (ipp-facts.md 1.11).
        """
        attribute = self.decodeOne(
            "34 0009 6d656469612d636f6c 0000"  # begCollection "media-col"
            "4a 0000 000a 6d656469612d73697a65"  # memberAttrName "media-size"
            "34 0000 0000"  # begCollection
            "4a 0000 000b 782d64696d656e73696f6e"  # memberAttrName "x-dimension"
            "21 0000 0004 00005208"  # integer 21000
            "4a 0000 000b 792d64696d656e73696f6e"  # memberAttrName "y-dimension"
            "21 0000 0004 00007404"  # integer 29700
            "37 0000 0000"  # endCollection (media-size)
            "37 0000 0000"  # endCollection (media-col)
        )
        self.assertEqual(attribute.name, "media-col")
        self.assertEqual(attribute.tags, (0x34,))
        size = attribute.value.value("media-size")
        self.assertIsInstance(size, Collection)
        self.assertEqual(size.names(), ["x-dimension", "y-dimension"])
        self.assertEqual(size.value("x-dimension"), 21000)
        self.assertEqual(size["y-dimension"].values, (29700,))
        self.assertEqual(attribute.value["media-size"].tags, (0x34,))

    def test_setOfCollection(self):
        """
        A 1setOf collection: the next begCollection, with name-length 0, after an
        endCollection.
        """
        attribute = self.decodeOne(
            "34 0001 61 0000"  # begCollection "a"
            "4a 0000 0001 78"  # memberAttrName "x"
            "21 0000 0004 00000001"  # integer 1
            "37 0000 0000"  # endCollection
            "34 0000 0000"  # begCollection, the second value
            "4a 0000 0001 78"  # memberAttrName "x"
            "21 0000 0004 00000002"  # integer 2
            "37 0000 0000"  # endCollection
            "34 0000 0000"  # begCollection, the third value
            "37 0000 0000"  # endCollection: an empty collection
        )
        self.assertEqual([c.value("x") for c in attribute.values], [1, 2, None])
        self.assertEqual(attribute.values[2], Collection())
        self.assertEqual(attribute.tags, (0x34, 0x34, 0x34))

    def test_collectionMembers(self):
        """
        A member may have several values of mixed tags, including collections,
        out-of-band and unknown values.
        """
        attribute = self.decodeOne(
            "34 0001 61 0000"  # begCollection "a"
            "4a 0000 0001 6b"  # memberAttrName "k"
            "44 0000 0001 78"  # keyword "x"
            "42 0000 0001 79"  # name "y"
            "13 0000 0000"  # no-value
            "4a 0000 0001 63"  # memberAttrName "c"
            "34 0000 0000"  # begCollection
            "4a 0000 0001 64"  # memberAttrName "d"
            "31 0000 000b 07ea020304050607 2b0000"  # dateTime
            "37 0000 0000"  # endCollection
            "34 0000 0000"  # begCollection, second value of "c"
            "37 0000 0000"  # endCollection
            "4a 0000 0001 75"  # memberAttrName "u"
            "60 0000 0001 ff"  # unknown tag 0x60
            "35 0000 0006 0000 0002 6869"  # textWithLanguage "hi"
            "37 0000 0000"  # endCollection
            "44 0000 0001 7a"  # keyword "z", second value of "a"
        )
        collection = attribute.value
        self.assertEqual(collection.names(), ["k", "c", "u"])
        self.assertEqual(collection["k"].values, ("x", "y", OutOfBand(0x13)))
        self.assertEqual(collection["k"].tags, (0x44, 0x42, 0x13))
        inner = collection["c"].values
        self.assertEqual(
            inner[0].value("d"), DateTime(2026, 2, 3, 4, 5, 6, 7, "+", 0, 0)
        )
        self.assertEqual(inner[1], Collection())
        self.assertEqual(
            collection["u"].values,
            (Unknown(0x60, b"\xff"), TextWithLanguage("hi", "")),
        )
        self.assertEqual(attribute.values[1:], ("z",))
        self.assertEqual(attribute.tags, (0x34, 0x44))

    def test_duplicateMemberNames(self):
        """
        Members with the same name are all kept, in order.
        """
        attribute = self.decodeOne(
            "34 0001 61 0000"  # begCollection "a"
            "4a 0000 0001 78"  # memberAttrName "x"
            "21 0000 0004 00000001"  # integer 1
            "4a 0000 0001 78"  # memberAttrName "x" again
            "21 0000 0004 00000002"  # integer 2
            "37 0000 0000"  # endCollection
        )
        self.assertEqual([m.values for m in attribute.value], [(1,), (2,)])


class GroupTests(DecodeAssertions):
    """
    Groups are kept in message order, whatever their tags.
    """

    def test_everyGroupTag(self):
        """
        Every delimiter tag from 0x01 to 0x0F but 0x03 starts a group, known or
        not, empty or not.
        """
        data = bytes.fromhex(
            HEADER + "01"  # 8: operation-attributes-tag
            "44 0001 61 0001 62"  # 9: keyword "a" = "b"
            "02"  # job-attributes-tag, empty
            "04"  # printer-attributes-tag
            "21 0001 61 0004 00000003"  # integer "a" = 3
            "05"  # unsupported-attributes-tag
            "06"  # subscription-attributes-tag
            "07"  # event-notification-attributes-tag
            "08"  # resource-attributes-tag
            "09"  # document-attributes-tag
            "0a"  # system-attributes-tag
            "0b"  # unassigned
            "44 0001 61 0001 63"  # keyword "a" = "c"
            "0c 0d 0e 0f"  # unassigned, empty
            "03"  # end-of-attributes-tag
        )
        message = self.assertRoundTrip(data)
        tags = [*range(1, 3), *range(4, 16)]
        self.assertEqual([g.tag for g in message.groups], tags)
        self.assertEqual(
            [g.value("a") for g in message.groups],
            ["b", None, 3] + [None] * 6 + ["c"] + [None] * 4,
        )
        self.assertEqual(message.groups[9].name, "group-tag-0x0b")
        self.assertEqual(message.groups[5].name, "event-notification-attributes-tag")

    def test_repeatedGroupTags(self):
        """
        Repeated tags give one group each, in order (one 0x07 per event, one 0x06
        per subscription).
        """
        data = bytes.fromhex(
            HEADER + "01"  # operation-attributes-tag
            "47 0001 61 0005 7574662d38"  # charset "a" = "utf-8"
            "07"  # event-notification-attributes-tag
            "21 0001 6e 0004 00000001"  # integer "n" = 1
            "06"  # subscription-attributes-tag
            "21 0001 6e 0004 00000002"  # integer "n" = 2
            "07"  # event-notification-attributes-tag
            "21 0001 6e 0004 00000003"  # integer "n" = 3
            "07"  # event-notification-attributes-tag, empty
            "01"  # operation-attributes-tag again
            "03"  # end-of-attributes-tag
        )
        message = self.assertRoundTrip(data)
        self.assertEqual([g.tag for g in message.groups], [1, 7, 6, 7, 7, 1])
        self.assertEqual([g.value("n") for g in message.groupsOf(7)], [1, 3, None])
        self.assertEqual(message.groupsOf(6)[0].value("n"), 2)
        self.assertEqual(message.operation.value("a"), "utf-8")

    def test_noGroups(self):
        """
        A header and an end tag is a message with no groups.
        """
        message = self.assertRoundTrip(bytes.fromhex(HEADER + "03"))
        self.assertEqual(message.groups, ())
        self.assertEqual(
            (message.version, message.code, message.requestId), ((2, 0), 0, 1)
        )

    def test_header(self):
        """
        The header fields decode as unsigned version octets, an unsigned code
        and a signed request-id.
        """
        message = self.assertRoundTrip(
            bytes.fromhex(
                "ff01"  # version 255.1
                "fffe"  # code 0xfffe
                "ffffffff"  # request-id -1
                "03"  # end-of-attributes-tag
            )
        )
        self.assertEqual(
            (message.version, message.code, message.requestId), ((255, 1), 0xFFFE, -1)
        )
