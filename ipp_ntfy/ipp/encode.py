"""
Encoding of a L{Message} into C{application/ipp} octets (RFC 8010).

The encoder checks everything the strict decoder checks, so that no message it writes
is refused by L{decode <ipp_ntfy.ipp.decode.decode>}: a value of the wrong Python type
for its tag, an integer out of 32-bit range, a string that is not valid UTF-8, a value
or name longer than the limits, collections nested too deep, the same name twice in a
group.  Each failure is an L{IppEncodeError} that says where.
"""

from __future__ import annotations

from struct import Struct
from typing import Callable, List, Optional, Sequence

from .errors import IppEncodeError
from .limits import DEFAULT_LIMITS, Limits
from .message import Attribute, Group, Message
from .tags import groupTagName, valueTagName
from .values import (
    Collection,
    DateTime,
    OutOfBand,
    Range,
    Resolution,
    TextWithLanguage,
    Unknown,
    Value,
)

_header = Struct(">BBHi").pack
_tagLength = Struct(">BH").pack
_length = Struct(">H").pack
_int32 = Struct(">i").pack
_range = Struct(">ii").pack
_resolution = Struct(">iib").pack
_dateTime = Struct(">HBBBBBBcBB").pack

_INT32_MIN = -(2**31)
_INT32_MAX = 2**31 - 1
_STRING_TAGS = frozenset({0x41, 0x42, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49})
_END_COLLECTION = b"\x37\x00\x00\x00\x00"

__all__ = ["encode", "IppEncodeError"]


def encode(
    message: Message, limits: Optional[Limits] = None, lenient: bool = False
) -> bytes:
    """
    Encode a message, document data included.

    @param limits: the bounds to respect; L{DEFAULT_LIMITS} if C{None}.
    @param lenient: write strings and names that hold lone surrogates (from a lenient
        decode of invalid UTF-8 or non-ASCII names) back as the original octets, and
        allow what a lenient decode lets through (a 0x00 group tag, duplicate names,
        an empty member name, L{Unknown} under any tag), so that any lenient decode
        re-encodes to the same octets.
    @raise IppEncodeError: if the message holds something the decoder would refuse.
    """
    if limits is None:
        limits = DEFAULT_LIMITS
    return _Encoder(limits, lenient).message(message)


class _Encoder:
    __slots__ = ("limits", "lenient", "errors", "attributeCount", "out")

    def __init__(self, limits: Limits, lenient: bool) -> None:
        self.limits = limits
        self.lenient = lenient
        self.errors = "surrogateescape" if lenient else "strict"
        self.attributeCount = 0
        self.out: List[bytes] = []

    def message(self, message: Message) -> bytes:
        major, minor = message.version
        if not (0 <= major <= 255 and 0 <= minor <= 255):
            raise IppEncodeError("header", f"version {message.version!r} out of range")
        if not 0 <= message.code <= 0xFFFF:
            raise IppEncodeError("header", f"code {message.code} out of range")
        if not _INT32_MIN <= message.requestId <= _INT32_MAX:
            raise IppEncodeError(
                "header", f"request-id {message.requestId} out of 32-bit range"
            )
        out = self.out
        out.append(_header(major, minor, message.code, message.requestId))
        for index, group in enumerate(message.groups, 1):
            self.group(index, group)
        out.append(b"\x03")
        out.append(message.data)
        result = b"".join(out)
        if len(result) > self.limits.maxMessageBytes:
            raise IppEncodeError(
                "message",
                f"{len(result)} bytes is over the limit of "
                f"{self.limits.maxMessageBytes} bytes",
            )
        return result

    def group(self, index: int, group: Group) -> None:
        tag = group.tag
        where = f"group {index} ({groupTagName(tag)})"
        if not 0 <= tag < 0x10 or tag == 0x03 or (tag == 0x00 and not self.lenient):
            raise IppEncodeError(where, f"0x{tag:02x} is not a group delimiter tag")
        self.out.append(bytes((tag,)))
        seen = set()
        for attribute in group.attributes:
            if attribute.name in seen and not self.lenient:
                raise IppEncodeError(
                    where, f"attribute {attribute.name!r} appears twice in the group"
                )
            seen.add(attribute.name)
            self.attribute(where, attribute, 1)

    def countAttribute(self, where: str) -> None:
        self.attributeCount += 1
        if self.attributeCount > self.limits.maxAttributes:
            raise IppEncodeError(
                where, f"more than {self.limits.maxAttributes} attributes"
            )

    def attribute(self, where: str, attribute: Attribute, depth: int) -> None:
        name, values, tags = attribute
        where = f"{where}, {name}"
        if not isinstance(name, str) or not name:
            raise IppEncodeError(where, "attribute name must be a non-empty string")
        rawName = self.name(where, name, "attribute name")
        if len(rawName) > self.limits.maxNameBytes:
            raise IppEncodeError(
                where, f"name is over the limit of {self.limits.maxNameBytes} bytes"
            )
        if not values:
            raise IppEncodeError(where, "an attribute needs at least one value")
        if len(values) != len(tags):
            raise IppEncodeError(where, f"{len(values)} values but {len(tags)} tags")
        if len(values) > self.limits.maxValues:
            raise IppEncodeError(where, f"more than {self.limits.maxValues} values")
        self.countAttribute(where)
        for index, (tag, value) in enumerate(zip(tags, values)):
            first = rawName if index == 0 else None
            self.value(f"{where}, value {index + 1}", first, tag, value, depth)

    def value(
        self, where: str, name: Optional[bytes], tag: int, value: Value, depth: int
    ) -> None:
        """
        Append one value; C{name} is the name of a first value, or C{None} for an
        additional value.
        """
        out = self.out
        if not 0x10 <= tag <= 0xFF:
            raise IppEncodeError(where, f"0x{tag:02x} is not a value tag")
        if name is None:
            header = _tagLength(tag, 0)
        else:
            header = _tagLength(tag, len(name)) + name
        if tag == 0x34:
            if not isinstance(value, Collection):
                raise IppEncodeError(where, "collection value must be a Collection")
            self.collection(where, header, value, depth)
            return
        raw = self.valueOctets(where, tag, value)
        if len(raw) > self.limits.maxValueBytes:
            raise IppEncodeError(
                where,
                f"value of {len(raw)} bytes is over the limit of "
                f"{self.limits.maxValueBytes}",
            )
        out.append(header)
        out.append(_length(len(raw)))
        out.append(raw)

    def collection(
        self, where: str, header: bytes, value: Collection, depth: int
    ) -> None:
        if depth > self.limits.maxDepth:
            raise IppEncodeError(
                where, f"collections nest deeper than {self.limits.maxDepth} levels"
            )
        out = self.out
        out.append(header)
        out.append(b"\x00\x00")
        for member in value.attributes:
            name, values, tags = member
            memberWhere = f"{where}, member {name}"
            if not isinstance(name, str) or not (name or self.lenient):
                raise IppEncodeError(
                    memberWhere, "member name must be a non-empty string"
                )
            rawName = self.name(memberWhere, name, "member name")
            if len(rawName) > self.limits.maxValueBytes:
                raise IppEncodeError(memberWhere, "member name is too long")
            if not values or len(values) != len(tags):
                raise IppEncodeError(
                    memberWhere, "a member needs values, one tag for each"
                )
            if len(values) > self.limits.maxValues:
                raise IppEncodeError(
                    memberWhere, f"more than {self.limits.maxValues} values"
                )
            self.countAttribute(memberWhere)
            out.append(b"\x4a\x00\x00")
            out.append(_length(len(rawName)))
            out.append(rawName)
            for index, (tag, item) in enumerate(zip(tags, values)):
                if tag in (0x37, 0x4A):
                    raise IppEncodeError(memberWhere, f"0x{tag:02x} cannot be a value")
                self.value(
                    f"{memberWhere}, value {index + 1}", None, tag, item, depth + 1
                )
        out.append(_END_COLLECTION)

    def name(self, where: str, name: str, what: str) -> bytes:
        """
        The octets of an attribute or member name: US-ASCII, or in lenient mode
        whatever octets a lenient decode read it from.
        """
        try:
            if self.lenient:
                return name.encode("utf-8", "surrogateescape")
            return name.encode("ascii")
        except UnicodeEncodeError:
            raise IppEncodeError(where, f"{what} is not US-ASCII") from None

    def valueOctets(self, where: str, tag: int, value: Value) -> bytes:
        syntax = valueTagName(tag)
        if tag in (0x37, 0x4A):
            # Not even in lenient mode: no decoder takes them outside the framing.
            raise IppEncodeError(
                where, f"{syntax} is part of a collection's encoding, not a value"
            )

        def wrongType(expected: str) -> IppEncodeError:
            return IppEncodeError(
                where,
                f"{syntax} value must be {expected}, not {type(value).__name__}",
            )

        if isinstance(value, Unknown):
            if value.tag != tag:
                raise IppEncodeError(
                    where,
                    f"Unknown value of tag 0x{value.tag:02x} under tag 0x{tag:02x}",
                )
            if not self.lenient:
                if tag in _INTERPRETED_TAGS:
                    raise IppEncodeError(
                        where,
                        f"{syntax} value cannot be Unknown: the decoder interprets it",
                    )
                if tag == 0x7F and (len(value.data) < 4 or value.data[0] & 0x80):
                    raise IppEncodeError(
                        where, "extension value needs a 4-octet tag below 0x80000000"
                    )
            return value.data
        if tag in _STRING_TAGS:
            if not isinstance(value, str):
                raise wrongType("str")
            try:
                return value.encode("utf-8", self.errors)
            except UnicodeEncodeError:
                raise IppEncodeError(
                    where, f"{syntax} value is not valid Unicode"
                ) from None
        if tag == 0x21 or tag == 0x23:
            if not isinstance(value, int) or isinstance(value, bool):
                raise wrongType("int")
            if not _INT32_MIN <= value <= _INT32_MAX:
                raise IppEncodeError(
                    where, f"{syntax} value {value} out of 32-bit range"
                )
            return _int32(value)
        if tag == 0x22:
            if not isinstance(value, bool):
                raise wrongType("bool")
            return b"\x01" if value else b"\x00"
        if 0x10 <= tag <= 0x1F:
            if not isinstance(value, OutOfBand) or value.tag != tag:
                raise wrongType(f"OutOfBand(0x{tag:02x})")
            return value.data
        if tag == 0x30:
            if not isinstance(value, bytes):
                raise wrongType("bytes")
            return value
        if tag == 0x31:
            if not isinstance(value, DateTime):
                raise wrongType("DateTime")
            return self.dateTime(where, value)
        if tag == 0x32:
            if not isinstance(value, Resolution):
                raise wrongType("Resolution")
            return self.packed(where, _resolution, value)
        if tag == 0x33:
            if not isinstance(value, Range):
                raise wrongType("Range")
            return self.packed(where, _range, value)
        if tag == 0x35 or tag == 0x36:
            if not isinstance(value, TextWithLanguage):
                raise wrongType("TextWithLanguage")
            try:
                text = value.text.encode("utf-8", self.errors)
                language = value.language.encode("utf-8", self.errors)
            except UnicodeEncodeError:
                raise IppEncodeError(
                    where, f"{syntax} value is not valid Unicode"
                ) from None
            return _length(len(language)) + language + _length(len(text)) + text
        raise wrongType(f"Unknown(0x{tag:02x}, ...)")

    def packed(
        self, where: str, pack: Callable[..., bytes], value: Sequence[int]
    ) -> bytes:
        try:
            return pack(*value)
        except Exception as e:
            raise IppEncodeError(where, f"value {value!r} out of range: {e}") from None

    def dateTime(self, where: str, value: DateTime) -> bytes:
        if value.utcDirection not in ("+", "-"):
            raise IppEncodeError(where, "dateTime UTC direction must be '+' or '-'")
        fields = list(value)
        fields[7] = value.utcDirection.encode("ascii")
        try:
            return _dateTime(*fields)
        except Exception as e:
            raise IppEncodeError(
                where, f"dateTime {value!r} out of range: {e}"
            ) from None


# Tags the decoder turns into something other than Unknown in strict mode: an Unknown
# under one of them would not decode back to itself.
_INTERPRETED_TAGS = (
    frozenset(range(0x10, 0x20))
    | frozenset(
        {0x21, 0x22, 0x23, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x4A}
    )
    | _STRING_TAGS
)
