"""
The IPP message model: L{Message}, L{Group} and L{Attribute}.

Everything is immutable.  Groups are an ordered tuple, since group tags repeat (one
0x07 group per event, one 0x06 group per subscription); inside a group, attributes are
found by name.
"""

from __future__ import annotations

from typing import Iterable, List, NamedTuple, Optional, Sequence, Tuple

from .tags import GroupTag, ValueTag, groupTagName, valueTagName
from .values import AttributeLookup, Collection, Value


class Attribute(NamedTuple):
    """
    One attribute: a name and one or more values, each with its value tag.

    Additional values of a 1setOf attribute may carry a different tag than the first
    (a C{keyword} then a C{name}, a value then C{no-value}), so C{tags} has one entry
    per value.  Use L{Attribute.of} to build one.

    @ivar name: the attribute name.
    @ivar values: the values, in message order; see L{Value} for their types.
    @ivar tags: the value tag of each value.
    """

    name: str
    values: Tuple[Value, ...]
    tags: Tuple[int, ...]

    @classmethod
    def of(cls, name: str, tag: int, *values: Value) -> Attribute:
        """
        Build an attribute whose values all have the same tag.

        @param name: the attribute name.
        @param tag: a L{ValueTag} (or any value tag number).
        @param values: one or more values of the Python type that C{tag} takes.
        """
        if not values:
            raise ValueError(f"attribute {name!r} needs at least one value")
        return cls(name, tuple(values), (int(tag),) * len(values))

    @classmethod
    def keyword(cls, name: str, *values: str) -> Attribute:
        return cls.of(name, ValueTag.KEYWORD, *values)

    @classmethod
    def integer(cls, name: str, *values: int) -> Attribute:
        return cls.of(name, ValueTag.INTEGER, *values)

    @classmethod
    def enum(cls, name: str, *values: int) -> Attribute:
        return cls.of(name, ValueTag.ENUM, *values)

    @classmethod
    def boolean(cls, name: str, *values: bool) -> Attribute:
        return cls.of(name, ValueTag.BOOLEAN, *values)

    @classmethod
    def text(cls, name: str, *values: str) -> Attribute:
        return cls.of(name, ValueTag.TEXT, *values)

    @classmethod
    def nameValue(cls, name: str, *values: str) -> Attribute:
        """
        An attribute of syntax C{name} (nameWithoutLanguage).
        """
        return cls.of(name, ValueTag.NAME, *values)

    @classmethod
    def uri(cls, name: str, *values: str) -> Attribute:
        return cls.of(name, ValueTag.URI, *values)

    @classmethod
    def uriScheme(cls, name: str, *values: str) -> Attribute:
        return cls.of(name, ValueTag.URI_SCHEME, *values)

    @classmethod
    def charset(cls, name: str, *values: str) -> Attribute:
        return cls.of(name, ValueTag.CHARSET, *values)

    @classmethod
    def naturalLanguage(cls, name: str, *values: str) -> Attribute:
        return cls.of(name, ValueTag.NATURAL_LANGUAGE, *values)

    @classmethod
    def mimeMediaType(cls, name: str, *values: str) -> Attribute:
        return cls.of(name, ValueTag.MIME_MEDIA_TYPE, *values)

    @classmethod
    def octetString(cls, name: str, *values: bytes) -> Attribute:
        return cls.of(name, ValueTag.OCTET_STRING, *values)

    @classmethod
    def collection(cls, name: str, *values: Collection) -> Attribute:
        return cls.of(name, ValueTag.BEGIN_COLLECTION, *values)

    @property
    def value(self) -> Value:
        """
        The first value.
        """
        return self.values[0]

    @property
    def tag(self) -> int:
        """
        The value tag of the first value.
        """
        return self.tags[0]

    @property
    def syntax(self) -> str:
        """
        The syntax name(s) of the values: C{"keyword"}, or C{"keyword|name"} when tags
        are mixed.
        """
        seen: list[int] = []
        for tag in self.tags:
            if tag not in seen:
                seen.append(tag)
        return "|".join(valueTagName(tag) for tag in seen)

    def formatValues(self) -> str:
        """
        @return: the values as text, comma-separated.
        """
        return ",".join(formatValue(v) for v in self.values)


def formatValue(value: Value) -> str:
    """
    @return: a short human-readable form of one value.
    """
    if isinstance(value, bytes):
        try:
            text = value.decode("ascii")
        except UnicodeDecodeError:
            return "0x" + value.hex()
        if text.isprintable():
            return repr(text)
        return "0x" + value.hex()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Group(AttributeLookup):
    """
    One attribute group: its delimiter tag and its attributes, in message order.

    C{group["printer-uri"]} is the L{Attribute}; C{group.value("printer-uri")} its first
    value.
    """

    __slots__ = ("tag", "_attributes", "_fields", "_layout", "_byName")

    tag: int
    _attributes: Tuple[Attribute, ...]
    _fields: List[Tuple[Optional[str], int, Value]]
    # The names of _fields in order (None for an additional value), as the decoder's
    # fast path checked them; unset when it did not.  Readers of _fields that key
    # caches on the names (ipp_ntfy.notification) take it rather than build it.
    _layout: Tuple[Optional[str], ...]

    def __init__(self, tag: int, attributes: Iterable[Attribute] = ()) -> None:
        object.__setattr__(self, "tag", int(tag))
        object.__setattr__(self, "_attributes", tuple(attributes))

    @classmethod
    def _fromFields(
        cls, tag: int, fields: List[Tuple[Optional[str], int, Value]]
    ) -> Group:
        """
        A group whose attributes are built on first use from the decoder's flat list
        of C{(name or None for an additional value, value tag, value)}.
        """
        group = _newObject(cls)
        _setTag(group, tag)
        _setFields(group, fields)
        return group

    @property
    def attributes(self) -> Tuple[Attribute, ...]:  # type: ignore[override]
        """
        The attributes, in message order.
        """
        try:
            return self._attributes
        except AttributeError:
            pass
        attributes: List[Attribute] = []
        values: List[Value] = []
        tags: List[int] = []
        name: Optional[str] = None
        for fieldName, tag, value in self._fields:
            if fieldName is not None:
                if values:
                    attributes.append(Attribute(name, tuple(values), tuple(tags)))  # type: ignore[arg-type]
                name = fieldName
                values = []
                tags = []
            values.append(value)
            tags.append(tag)
        if values:
            attributes.append(Attribute(name, tuple(values), tuple(tags)))  # type: ignore[arg-type]
        result = tuple(attributes)
        object.__setattr__(self, "_attributes", result)
        return result

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Group is immutable")

    @property
    def name(self) -> str:
        """
        The RFC name of the group tag, e.g. C{"event-notification-attributes-tag"}.
        """
        return groupTagName(self.tag)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Group):
            return NotImplemented
        return self.tag == other.tag and self.attributes == other.attributes

    def __hash__(self) -> int:
        return hash((Group, self.tag, self.attributes))

    def __repr__(self) -> str:
        return f"Group({self.tag:#04x}, {list(self.attributes)!r})"


_newObject = object.__new__
_setTag = Group.__dict__["tag"].__set__
_setFields = Group.__dict__["_fields"].__set__
_setLayout = Group.__dict__["_layout"].__set__


class Message:
    """
    One IPP message (RFC 8010 section 3.1.1): request or response.

    The header field that is an operation-id in a request and a status-code in a
    response is L{code}; L{operationId} and L{statusCode} are the same number under
    the name that reads best at the call site.

    @ivar version: C{(major, minor)}, e.g. C{(2, 0)}.
    @ivar code: the operation-id or status-code.
    @ivar requestId: the request-id.
    @ivar groups: the attribute groups, in message order (the end-of-attributes tag is
        not a group).
    @ivar data: the octets after the end-of-attributes tag (document data of a
        Print-Job request); usually empty.
    """

    __slots__ = ("version", "code", "requestId", "groups", "data")

    version: Tuple[int, int]
    code: int
    requestId: int
    groups: Tuple[Group, ...]
    data: bytes

    def __init__(
        self,
        version: Tuple[int, int],
        code: int,
        requestId: int,
        groups: Iterable[Group] = (),
        data: bytes = b"",
    ) -> None:
        object.__setattr__(self, "version", (int(version[0]), int(version[1])))
        object.__setattr__(self, "code", int(code))
        object.__setattr__(self, "requestId", int(requestId))
        object.__setattr__(self, "groups", tuple(groups))
        object.__setattr__(self, "data", bytes(data))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Message is immutable")

    @property
    def operationId(self) -> int:
        """
        L{code}, read as the operation-id of a request.
        """
        return self.code

    @property
    def statusCode(self) -> int:
        """
        L{code}, read as the status-code of a response.
        """
        return self.code

    def group(self, tag: int) -> Optional[Group]:
        """
        @return: the first group with delimiter tag C{tag}, or C{None}.
        """
        for group in self.groups:
            if group.tag == tag:
                return group
        return None

    def groupsOf(self, tag: int) -> Sequence[Group]:
        """
        @return: every group with delimiter tag C{tag}, in message order.
        """
        return [group for group in self.groups if group.tag == tag]

    @property
    def operation(self) -> Group:
        """
        The (first) operation-attributes group; an empty group if the message has none,
        so that C{message.operation.get(name)} always works.
        """
        return self.group(GroupTag.OPERATION) or Group(GroupTag.OPERATION)

    def replace(self, **changes: object) -> Message:
        """
        @return: a copy with the named fields (C{version}, C{code}, C{requestId},
            C{groups}, C{data}) replaced.
        """
        fields = {name: getattr(self, name) for name in self.__slots__}
        unknown = set(changes) - set(fields)
        if unknown:
            raise TypeError(f"unknown Message fields: {sorted(unknown)}")
        fields.update(changes)
        return Message(**fields)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return (
            self.version == other.version
            and self.code == other.code
            and self.requestId == other.requestId
            and self.groups == other.groups
            and self.data == other.data
        )

    def __hash__(self) -> int:
        return hash((self.version, self.code, self.requestId, self.groups, self.data))

    def __repr__(self) -> str:
        return (
            f"Message(version={self.version!r}, code={self.code:#06x}, "
            f"requestId={self.requestId}, groups={list(self.groups)!r}"
            + (f", data={self.data!r}" if self.data else "")
            + ")"
        )

    def __str__(self) -> str:
        from .format import formatMessage

        return formatMessage(self)


_setVersion = Message.__dict__["version"].__set__
_setCode = Message.__dict__["code"].__set__
_setRequestId = Message.__dict__["requestId"].__set__
_setGroups = Message.__dict__["groups"].__set__
_setData = Message.__dict__["data"].__set__


def _newMessage(
    version: Tuple[int, int], code: int, requestId: int, groups: Tuple[Group, ...]
) -> Message:
    """
    Build a message from fields the decoder has already checked, without the
    conversions of L{Message.__init__}.
    """
    message = _newObject(Message)
    _setVersion(message, version)
    _setCode(message, code)
    _setRequestId(message, requestId)
    _setGroups(message, groups)
    _setData(message, b"")
    return message
