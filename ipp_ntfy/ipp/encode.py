"""
Encoding of a L{Message} into C{application/ipp} octets (RFC 8010).

The encoder checks everything the strict decoder checks, so that no message it writes
is refused by L{decode <ipp_ntfy.ipp.decode.decode>}: a value of the wrong Python type
for its tag, an integer out of 32-bit range, a string that is not valid UTF-8, a value
or name longer than the limits, collections nested too deep, the same name twice in a
group.  Each failure is an L{IppEncodeError} that says where.

Two encoders share that work.  A fast one (L{_fastEncode}) writes the common value
types straight from cached octets (names, strings) and preformatted headers, checks
everything but says nothing: anything unusual or wrong makes it give up, and the
careful one (L{_Encoder}) encodes the message again, with the path and the reason of
the fault if there is one.

For a caller that encodes many groups of one shape (the relay stores every event
it publishes), L{compileGroupEncoder} makes a function for the shape that writes
what L{encode} would, and gives up as the fast path does, for L{encode} to decide.
"""

from __future__ import annotations

from operator import itemgetter
from struct import Struct
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

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
_lengthAndInt32 = Struct(">Hi").pack

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
    try:
        # What the strict encoder writes, a lenient one writes too, octet for octet.
        return _fastEncode(message, limits)
    except Exception:
        # Anything unusual or wrong: the careful encoder decides, and says where.
        pass
    return _Encoder(limits, lenient).message(message)


class _Slow(Exception):  # noqa: N818 (a signal, not an error)
    """
    The fast path met something it leaves to L{_Encoder}.
    """


# The fast path's caches, of valid octets only.  An attribute name, as the octets
# after the value tag of its first value (name-length and name); a member name, as
# the whole memberAttrName field; a string value, as its value-length and UTF-8.
_NAME_OCTETS: Dict[str, bytes] = {}
_MEMBER_OCTETS: Dict[str, bytes] = {}
_MAX_NAMES = 4096
_MAX_CACHED_NAME = 255
_STRING_OCTETS: Dict[Any, bytes] = {}  # str keys; looked up with any value
_MAX_STRINGS = 8192
_MAX_CACHED_STRING = 255
# Attributes of one value (not a collection) as whole fields, with the type of the
# value: the attribute that finds an entry is equal to the one it was made from, and
# if its value has the same type, it has the same octets (True == 1, but a bool is
# not an int).  Only for values of the plain types, whose equality is their octets'.
_FIELD_OCTETS: Dict[Attribute, Tuple[bytes, type]] = {}
_MAX_FIELDS = 8192
_MAX_CACHED_FIELD = 320
_CACHED_TYPES = frozenset({str, int, bool, bytes})
# Collections encoded under the default limits, by identity (a Collection is
# immutable; the entry keeps it alive, so that its id is not taken by another): the
# collection, the octets of its members and endCollection, its member count and how
# deep it nests.  An application that sends the same media-col-database in every
# Get-Printer-Attributes response, or a decoded message whose collections came from
# the decoder's cache, has them.  At most _MAX_COLLECTION_BYTES octets in all.
_COLLECTION_OCTETS: Dict[int, Tuple[Collection, bytes, int, int]] = {}
_MAX_COLLECTION_BYTES = 1 << 20
_ENTRY_COST = 128
_collectionBytes = 0
# Limits under which cached octets need no check of their length (and an attribute
# of one value none of the number of its values).
_MIN_NAME_LIMIT = _MAX_CACHED_NAME
_MIN_VALUE_LIMIT = 4 * _MAX_CACHED_STRING

_GROUP_TAG_OCTETS = {tag: bytes((tag,)) for tag in range(0x01, 0x10) if tag != 0x03}
# The octet of each value tag, and the header of an additional value or a member
# value (tag, name-length 0); never the framing tags of a collection.
_VALUE_TAG_OCTETS = {
    tag: bytes((tag,)) for tag in range(0x10, 0x100) if tag not in (0x37, 0x4A)
}
_UNNAMED = {tag: octet + b"\x00\x00" for tag, octet in _VALUE_TAG_OCTETS.items()}
_TRUE = b"\x00\x01\x01"
_FALSE = b"\x00\x01\x00"
_EMPTY_LENGTH = b"\x00\x00"
_NO_NAME = b"\x00\x00"
_attributeName = itemgetter(0)


def _fastEncode(message: Message, limits: Limits) -> bytes:
    """
    The strict encoding of C{message}, for messages that hold nothing unusual.

    @raise Exception: anything unusual or wrong (the caller asks L{_Encoder}).
    """
    if (
        limits.maxNameBytes < _MIN_NAME_LIMIT
        or limits.maxValueBytes < _MIN_VALUE_LIMIT
        or limits.maxValues < 1
    ):
        raise _Slow()
    major, minor = message.version
    out = [_header(major, minor, message.code, message.requestId)]
    append = out.append
    names = _NAME_OCTETS
    strings = _STRING_TAGS
    known = _STRING_OCTETS
    valueTags = _VALUE_TAG_OCTETS
    fields = _FIELD_OCTETS
    maxValues = limits.maxValues
    count = 0
    for group in message.groups:
        append(_GROUP_TAG_OCTETS[group.tag])
        attributes = group.attributes
        if len(set(map(_attributeName, attributes))) != len(attributes):
            raise _Slow()
        count += len(attributes)
        for attribute in attributes:
            name, values, tags = attribute
            if len(values) == 1 and len(tags) == 1 and tags[0] != 0x34:
                # One value, not a collection: the whole field, known or not.
                entry = fields.get(attribute)
                if entry is not None and type(values[0]) is entry[1]:
                    append(entry[0])
                else:
                    append(_fieldOctets(attribute, limits))
                continue
            nameOctets = names.get(name)
            if nameOctets is None:
                nameOctets = _nameOctets(name, limits)
            if len(values) != len(tags) or not values or len(values) > maxValues:
                raise _Slow()
            header = nameOctets
            for tag, value in zip(tags, values):
                append(valueTags[tag])
                append(header)
                header = _NO_NAME
                if tag in strings:
                    octets = known.get(value)
                    if octets is None:
                        octets = _stringOctets(value, limits)
                    append(octets)
                elif tag == 0x21 or tag == 0x23:
                    if type(value) is not int and (
                        not isinstance(value, int) or isinstance(value, bool)
                    ):
                        raise _Slow()
                    append(_lengthAndInt32(4, value))
                elif tag == 0x34:
                    if not isinstance(value, Collection):
                        raise _Slow()
                    append(_EMPTY_LENGTH)
                    count += _fastCollection(out, value, 1, limits)[0]
                else:
                    append(_otherOctets(tag, value, limits))
    if count > limits.maxAttributes:
        raise _Slow()
    append(b"\x03")
    append(message.data)
    result = b"".join(out)
    if len(result) > limits.maxMessageBytes:
        raise _Slow()
    return result


def _fastCollection(
    out: List[bytes], collection: Collection, depth: int, limits: Limits
) -> Tuple[int, int]:
    """
    Append the members and the endCollection of C{collection}, whose begCollection
    is written, at nesting level C{depth}.

    @return: the number of members (at every depth), and how deep the collection
        nests (1 if no member is a collection).
    """
    entry = _COLLECTION_OCTETS.get(id(collection))
    if (
        entry is not None
        and entry[0] is collection
        and limits is DEFAULT_LIMITS
        and depth + entry[3] <= DEFAULT_LIMITS.maxDepth + 1
    ):
        out.append(entry[1])
        return entry[2], entry[3]
    if depth > limits.maxDepth:
        raise _Slow()
    start = len(out)
    append = out.append
    members = _MEMBER_OCTETS
    strings = _STRING_TAGS
    known = _STRING_OCTETS
    unnamed = _UNNAMED
    maxValues = limits.maxValues
    count = 0
    height = 1
    for name, values, tags in collection.attributes:
        memberOctets = members.get(name)
        if memberOctets is None:
            memberOctets = _memberOctets(name, limits)
        if len(values) != len(tags) or not values or len(values) > maxValues:
            raise _Slow()
        append(memberOctets)
        count += 1
        for tag, value in zip(tags, values):
            append(unnamed[tag])
            if tag in strings:
                octets = known.get(value)
                if octets is None:
                    octets = _stringOctets(value, limits)
                append(octets)
            elif tag == 0x21 or tag == 0x23:
                if type(value) is not int and (
                    not isinstance(value, int) or isinstance(value, bool)
                ):
                    raise _Slow()
                append(_lengthAndInt32(4, value))
            elif tag == 0x34:
                if not isinstance(value, Collection):
                    raise _Slow()
                append(_EMPTY_LENGTH)
                inner, innerHeight = _fastCollection(out, value, depth + 1, limits)
                count += inner
                if innerHeight >= height:
                    height = innerHeight + 1
            else:
                append(_otherOctets(tag, value, limits))
    append(_END_COLLECTION)
    if limits is DEFAULT_LIMITS:
        _rememberCollection(collection, b"".join(out[start:]), count, height)
    return count, height


def _rememberCollection(
    collection: Collection, octets: bytes, count: int, height: int
) -> None:
    """
    Keep the octets of a collection encoded under the default limits.
    """
    global _collectionBytes
    size = len(octets) + _ENTRY_COST
    if size > _MAX_COLLECTION_BYTES:
        return
    if not _COLLECTION_OCTETS or _collectionBytes + size > _MAX_COLLECTION_BYTES:
        _COLLECTION_OCTETS.clear()
        _collectionBytes = 0
    _COLLECTION_OCTETS[id(collection)] = (collection, octets, count, height)
    _collectionBytes += size


def _fieldOctets(attribute: Attribute, limits: Limits) -> bytes:
    """
    The field of an attribute with one value, not a collection, for L{_fastEncode}.
    """
    name, values, tags = attribute
    tag = tags[0]
    value = values[0]
    nameOctets = _NAME_OCTETS.get(name)
    if nameOctets is None:
        nameOctets = _nameOctets(name, limits)
    if tag in _STRING_TAGS:
        octets = _STRING_OCTETS.get(value)
        if octets is None:
            octets = _stringOctets(value, limits)
    elif tag == 0x21 or tag == 0x23:
        if type(value) is not int and (
            not isinstance(value, int) or isinstance(value, bool)
        ):
            raise _Slow()
        octets = _lengthAndInt32(4, value)
    else:
        octets = _otherOctets(tag, value, limits)
    field = _VALUE_TAG_OCTETS[tag] + nameOctets + octets
    kind = type(value)
    if kind in _CACHED_TYPES and len(field) <= _MAX_CACHED_FIELD:
        if len(_FIELD_OCTETS) >= _MAX_FIELDS:
            _FIELD_OCTETS.clear()
        _FIELD_OCTETS[attribute] = (field, kind)
    return field


def _nameOctets(name: str, limits: Limits) -> bytes:
    """
    The name-length and name of an attribute, for L{_fastEncode}.
    """
    if type(name) is not str or not name:
        raise _Slow()
    raw = name.encode("ascii")
    if len(raw) > limits.maxNameBytes:
        raise _Slow()
    octets = _length(len(raw)) + raw
    if len(raw) <= _MAX_CACHED_NAME:
        if len(_NAME_OCTETS) >= _MAX_NAMES:
            _NAME_OCTETS.clear()
        _NAME_OCTETS[name] = octets
    return octets


def _memberOctets(name: str, limits: Limits) -> bytes:
    """
    The memberAttrName field of a member, for L{_fastEncode}.
    """
    if type(name) is not str or not name:
        raise _Slow()
    raw = name.encode("ascii")
    if len(raw) > limits.maxValueBytes:
        raise _Slow()
    octets = b"\x4a\x00\x00" + _length(len(raw)) + raw
    if len(raw) <= _MAX_CACHED_NAME:
        if len(_MEMBER_OCTETS) >= _MAX_NAMES:
            _MEMBER_OCTETS.clear()
        _MEMBER_OCTETS[name] = octets
    return octets


def _stringOctets(value: Any, limits: Limits) -> bytes:
    """
    The value-length and UTF-8 of a string value, for L{_fastEncode}.
    """
    if type(value) is not str:
        raise _Slow()
    raw = value.encode()
    if len(raw) > limits.maxValueBytes:
        raise _Slow()
    octets = _length(len(raw)) + raw
    if len(raw) <= _MAX_CACHED_STRING:
        if len(_STRING_OCTETS) >= _MAX_STRINGS:
            _STRING_OCTETS.clear()
        _STRING_OCTETS[value] = octets
    return octets


def _otherOctets(tag: int, value: Value, limits: Limits) -> bytes:
    """
    The value-length and octets of a value of any syntax but a string, an integer,
    an enum or a collection, for L{_fastEncode}.
    """
    if tag == 0x22:
        if value is True:
            return _TRUE
        if value is False:
            return _FALSE
        raise _Slow()
    if tag == 0x30 and type(value) is bytes:
        raw = value
    elif 0x10 <= tag <= 0x1F and type(value) is OutOfBand and value.tag == tag:
        raw = value.data
    else:
        raw = _STRICT.valueOctets("", tag, value)
    if len(raw) > limits.maxValueBytes:
        raise _Slow()
    return _length(len(raw)) + raw


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

# The checks and conversions of values the fast path leaves to the careful encoder
# (its errors are never reported: the careful encoder starts again).
_STRICT = _Encoder(DEFAULT_LIMITS, False)


# -- groups of one shape ---------------------------------------------------------------

#: What L{compileGroupEncoder}'s functions give: the message's octets, then the
#: offset in them at each mark.
GroupEncoder = Callable[[Sequence[Attribute]], Tuple[Any, ...]]

# The value tags L{compileGroupEncoder} writes itself; any other tag but a
# collection's goes to _otherOctets, as in _fastEncode.
_INT_TAGS = frozenset({0x21, 0x23})
_NOT_COMPILED_TAGS = frozenset({0x34, 0x37, 0x4A})


def compileGroupEncoder(
    group: Group,
    marks: Sequence[int] = (),
    version: Tuple[int, int] = (2, 0),
) -> Optional[GroupEncoder]:
    """
    Compile the encoding of a one-group message for groups of C{group}'s shape:
    its tag, and the names and value tags of its attributes, in order.

    The function returned takes the attributes of a group of that shape (it does
    not check the shape: that is for the caller, who keys its cache on it) and
    gives C{(octets, offset, ...)}: the octets are those of C{encode(Message(
    version, 0, 0, [group]))} under the default limits, and there is one offset
    per mark, where the attribute of that index begins (the end of the group for
    the number of attributes).  For a value the fast path of L{encode} would not
    write (a value of another type than its tag takes, a string that is not
    UTF-8, a value too long, an integer out of range) it raises an exception:
    the caller then asks L{encode}, which writes the message or says what is
    wrong with it.

    The shape's values are read and written in straight-line code made for it,
    with the octets of the names, tags and fixed-size values written beforehand:
    no loop over the attributes, no dispatch on their tags, no cache keyed on
    whole attributes (whose values an event's group rarely repeats).  Only
    integers and the program's own names go into the source; the names' octets
    are constants bound to the function.

    @param group: a group of the shape.
    @param marks: attribute indexes, from 0 to the number of attributes,
        ascending.
    @param version: the message's version.
    @return: the function, or C{None} for a shape it does not take: a
        collection, a name twice, a name or tag the encoder refuses, more
        attributes or values than the default limits allow.
    """
    attributes = group.attributes
    limits = DEFAULT_LIMITS
    tag = group.tag
    marks = tuple(marks)
    if (
        type(tag) is not int
        or not 0x01 <= tag < 0x10
        or tag == 0x03
        or len(attributes) > limits.maxAttributes
        or list(marks) != sorted(marks)
        or not all(type(m) is int and 0 <= m <= len(attributes) for m in marks)
    ):
        return None
    try:
        header = _header(version[0], version[1], 0, 0) + _GROUP_TAG_OCTETS[tag]
        names = [_nameOctets(attribute.name, limits) for attribute in attributes]
    except Exception:
        return None
    if len(set(attribute.name for attribute in attributes)) != len(attributes):
        return None
    constants: Dict[str, Any] = {
        "stringOctets": _stringOctets,
        "strings": _STRING_OCTETS,
        "otherOctets": _otherOctets,
        "lengthAndInt32": _lengthAndInt32,
        "length": _length,
        "limits": limits,
        "Slow": _Slow,
        "TRUE": _TRUE,
        "FALSE": _FALSE,
    }
    # One unpacking of all the attributes, which fails for another number.
    lines = [
        "def encodeGroup(attributes):",
        "    ["
        + ", ".join(f"a{index}" for index in range(len(attributes)))
        + "] = attributes",
    ]
    # The parts of the octets, by name: constants (the octets of consecutive
    # constant parts joined into one) and variables.
    parts: List[str] = []
    pending = [header]
    # Where the next part begins: a constant count of octets plus the lengths of
    # the variables of no fixed size before it.
    fixed = len(header)
    sized: List[str] = []
    offsets: List[str] = []

    def constant(octets: bytes) -> None:
        nonlocal fixed
        pending.append(octets)
        fixed += len(octets)

    def flush() -> None:
        if pending:
            name = f"P{len(parts)}"
            constants[name] = b"".join(pending)
            parts.append(name)
            del pending[:]

    def variable(name: str, size: Optional[int]) -> None:
        nonlocal fixed
        flush()
        parts.append(name)
        if size is None:
            sized.append(f"len({name})")
        else:
            fixed += size

    def mark() -> None:
        offsets.append(" + ".join([str(fixed), *sized]))

    marksLeft = list(marks)
    for index, attribute in enumerate(attributes):
        while marksLeft and marksLeft[0] == index:
            marksLeft.pop(0)
            mark()
        tags = attribute.tags
        if (
            type(tags) is not tuple
            or not tags
            or len(tags) > limits.maxValues
            or not all(type(t) is int and 0x10 <= t <= 0xFF for t in tags)
            or not _NOT_COMPILED_TAGS.isdisjoint(tags)
        ):
            return None
        values = f"a{index}[1]"
        if len(tags) == 1:
            lines.append(f"    (x{index}_0,) = {values}")
        else:
            lines.append(f"    x{index} = {values}")
            lines.append(f"    if len(x{index}) != {len(tags)}:")
            lines.append("        raise Slow()")
            lines.append(
                "    "
                + "".join(f"x{index}_{n}, " for n in range(len(tags)))
                + f"= x{index}"
            )
        for position, valueTag in enumerate(tags):
            value = f"x{index}_{position}"
            octets = f"s{index}_{position}"
            first = names[index] if position == 0 else _NO_NAME
            constant(_VALUE_TAG_OCTETS[valueTag] + first)
            if valueTag in _STRING_TAGS:
                lines.append(f"    {octets} = strings.get({value})")
                lines.append(f"    if {octets} is None:")
                lines.append(f"        {octets} = stringOctets({value}, limits)")
                variable(octets, None)
            elif valueTag in _INT_TAGS:
                lines.append(f"    if type({value}) is not int:")
                lines.append("        raise Slow()")
                lines.append(f"    {octets} = lengthAndInt32(4, {value})")
                variable(octets, 6)
            elif valueTag == 0x22:
                lines.append(f"    if {value} is True:")
                lines.append(f"        {octets} = TRUE")
                lines.append(f"    elif {value} is False:")
                lines.append(f"        {octets} = FALSE")
                lines.append("    else:")
                lines.append("        raise Slow()")
                variable(octets, 3)
            elif valueTag == 0x30:
                lines.append(
                    f"    if type({value}) is not bytes"
                    f" or len({value}) > {limits.maxValueBytes}:"
                )
                lines.append("        raise Slow()")
                lines.append(f"    {octets} = length(len({value}))")
                variable(octets, 2)
                variable(value, None)
            else:
                lines.append(f"    {octets} = otherOctets({valueTag}, {value}, limits)")
                variable(octets, None)
    for _ in marksLeft:
        mark()
    constant(b"\x03")
    flush()
    lines.append(f"    octets = b''.join(({', '.join(parts)},))")
    lines.append(f"    if len(octets) > {limits.maxMessageBytes}:")
    lines.append("        raise Slow()")
    lines.append(f"    return (octets, {''.join(o + ', ' for o in offsets)})")
    namespace = dict(constants)
    exec("\n".join(lines), namespace)  # our names and integers only
    encoder: GroupEncoder = namespace["encodeGroup"]
    return encoder
