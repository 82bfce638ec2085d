"""
The value types of IPP attributes that have no natural Python type.

Integers and enums are C{int}, booleans C{bool}, octetStrings C{bytes} and every
character-string syntax C{str}; the types here cover the rest.  All are immutable and
compare by value.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Iterable, Iterator, NamedTuple, Optional, Tuple, Union

from .tags import valueTagName

if TYPE_CHECKING:
    from .message import Attribute


class OutOfBand(NamedTuple):
    """
    An out-of-band value (tags 0x10 to 0x1F): C{unknown}, C{no-value}, C{unsupported}...

    @ivar tag: the value tag.
    @ivar data: the value octets; empty except in messages that break RFC 8010's rule,
        which are kept as received so that they re-encode to the same bytes.
    """

    tag: int
    data: bytes = b""

    def __str__(self) -> str:
        return valueTagName(self.tag)


UNSUPPORTED = OutOfBand(0x10)
DEFAULT = OutOfBand(0x11)
UNKNOWN = OutOfBand(0x12)
NO_VALUE = OutOfBand(0x13)
NOT_SETTABLE = OutOfBand(0x15)
DELETE_ATTRIBUTE = OutOfBand(0x16)
ADMIN_DEFINE = OutOfBand(0x17)


class Range(NamedTuple):
    """
    A rangeOfInteger value (tag 0x33): C{lower} to C{upper}, both included.
    """

    lower: int
    upper: int

    def __str__(self) -> str:
        return f"{self.lower}-{self.upper}"


class Resolution(NamedTuple):
    """
    A resolution value (tag 0x32).

    @ivar units: 3 for dots per inch, 4 for dots per centimetre.
    """

    crossFeed: int
    feed: int
    units: int

    def __str__(self) -> str:
        unit = {3: "dpi", 4: "dpcm"}.get(self.units, f"units-{self.units}")
        if self.crossFeed == self.feed:
            return f"{self.crossFeed}{unit}"
        return f"{self.crossFeed}x{self.feed}{unit}"


class TextWithLanguage(NamedTuple):
    """
    A textWithLanguage (0x35) or nameWithLanguage (0x36) value: the string and the
    natural language that overrides C{attributes-natural-language} for it.
    """

    text: str
    language: str

    def __str__(self) -> str:
        return f"{self.text} [{self.language}]"


class DateTime(NamedTuple):
    """
    A dateTime value (tag 0x31): the 11-octet DateAndTime of RFC 2579, field by field,
    so that values C{datetime} cannot hold (a leap second, month 0 from a confused
    printer) are kept as they came.

    @ivar utcDirection: C{"+"} or C{"-"}.
    """

    year: int
    month: int
    day: int
    hour: int
    minute: int
    second: int
    deciSecond: int
    utcDirection: str
    utcHours: int
    utcMinutes: int

    @classmethod
    def fromDatetime(cls, when: datetime.datetime) -> DateTime:
        """
        @param when: an aware datetime (a naive one is taken as UTC).
        @return: the same instant, to the tenth of a second, in C{when}'s offset.
        """
        offset = when.utcoffset() or datetime.timedelta(0)
        minutes = int(offset.total_seconds()) // 60
        direction = "-" if minutes < 0 else "+"
        hours, mins = divmod(abs(minutes), 60)
        return cls(
            when.year,
            when.month,
            when.day,
            when.hour,
            when.minute,
            when.second,
            when.microsecond // 100000,
            direction,
            hours,
            mins,
        )

    def toDatetime(self) -> datetime.datetime:
        """
        @return: an aware C{datetime}; a leap second becomes second 59.
        @raise ValueError: if a field is out of range.
        """
        minutes = self.utcHours * 60 + self.utcMinutes
        if self.utcDirection == "-":
            minutes = -minutes
        tz = datetime.timezone(datetime.timedelta(minutes=minutes))
        return datetime.datetime(
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            min(self.second, 59),
            self.deciSecond * 100000,
            tzinfo=tz,
        )

    def __str__(self) -> str:
        return (
            f"{self.year:04d}-{self.month:02d}-{self.day:02d}T"
            f"{self.hour:02d}:{self.minute:02d}:{self.second:02d}.{self.deciSecond}"
            f"{self.utcDirection}{self.utcHours:02d}:{self.utcMinutes:02d}"
        )


class Unknown(NamedTuple):
    """
    A value whose tag this codec does not interpret (reserved and unassigned tags, and
    the 0x7F extension form), kept as the raw value octets.
    """

    tag: int
    data: bytes

    @property
    def extendedTag(self) -> Optional[int]:
        """
        The real tag of a 0x7F extension value (the first four value octets, RFC 8010
        section 3.5.2), or C{None} for any other tag.
        """
        if self.tag != 0x7F or len(self.data) < 4:
            return None
        return int.from_bytes(self.data[:4], "big")

    def __str__(self) -> str:
        return f"<{valueTagName(self.tag)} {self.data.hex()}>"


class AttributeLookup:
    """
    Access by name to an ordered sequence of attributes, shared by L{Collection} and
    the attribute groups of a message.
    """

    __slots__ = ()

    attributes: Tuple[Attribute, ...]

    def _index(self) -> dict[str, Attribute]:
        index: Optional[dict[str, Attribute]] = getattr(self, "_byName", None)
        if index is None:
            index = {}
            for attribute in self.attributes:
                index.setdefault(attribute.name, attribute)
            object.__setattr__(self, "_byName", index)
        return index

    def __getitem__(self, name: str) -> Attribute:
        """
        @return: the attribute called C{name} (the first one, should a lenient decode
            have let a duplicate through).
        @raise KeyError: if there is none.
        """
        return self._index()[name]

    def get(self, name: str) -> Optional[Attribute]:
        """
        @return: the attribute called C{name}, or C{None}.
        """
        return self._index().get(name)

    def value(self, name: str, default: object = None) -> object:
        """
        @return: the first value of the attribute called C{name}, or C{default} if the
            attribute is missing.
        """
        attribute = self._index().get(name)
        if attribute is None:
            return default
        return attribute.values[0]

    def __contains__(self, name: object) -> bool:
        return name in self._index()

    def __iter__(self) -> Iterator[Attribute]:
        return iter(self.attributes)

    def __len__(self) -> int:
        return len(self.attributes)

    def names(self) -> list[str]:
        """
        @return: the attribute names, in message order.
        """
        return [attribute.name for attribute in self.attributes]


class Collection(AttributeLookup):
    """
    A collection value (tags 0x34 ... 0x37): an ordered sequence of member attributes.

    C{collection["media-size"]} is the member attribute; C{collection.value("x")} its
    first value.
    """

    __slots__ = ("attributes", "_byName")

    def __init__(self, attributes: Iterable[Attribute] = ()) -> None:
        object.__setattr__(self, "attributes", tuple(attributes))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Collection is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Collection):
            return NotImplemented
        return self.attributes == other.attributes

    def __hash__(self) -> int:
        return hash((Collection, self.attributes))

    def __repr__(self) -> str:
        return f"Collection({list(self.attributes)!r})"

    def __str__(self) -> str:
        inner = " ".join(f"{a.name}={a.formatValues()}" for a in self.attributes)
        return "{" + inner + "}"


#: Any value an attribute can hold.
Value = Union[
    int,
    bool,
    bytes,
    str,
    OutOfBand,
    Range,
    Resolution,
    TextWithLanguage,
    DateTime,
    Collection,
    Unknown,
]
