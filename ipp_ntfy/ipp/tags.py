"""
Delimiter (group) tags and value tags of RFC 8010 section 3.5, and their families.

Tag numbers that no document assigns are still valid on the wire: a group tag is any
octet below 0x10 and a value tag any octet from 0x10 up, so every function here takes
a plain C{int} and the enums only name the known ones.
"""

from __future__ import annotations

from enum import IntEnum


class GroupTag(IntEnum):
    """
    Delimiter tags (RFC 8010 section 3.5.1, RFC 3995 section 14, PWG 5100.22).
    """

    RESERVED = 0x00
    OPERATION = 0x01
    JOB = 0x02
    END = 0x03
    PRINTER = 0x04
    UNSUPPORTED = 0x05
    SUBSCRIPTION = 0x06
    EVENT_NOTIFICATION = 0x07
    RESOURCE = 0x08
    DOCUMENT = 0x09
    SYSTEM = 0x0A


class ValueTag(IntEnum):
    """
    Value tags (RFC 8010 section 3.5.2, RFC 3380, RFC 3382).
    """

    # Out-of-band values.
    UNSUPPORTED = 0x10
    DEFAULT = 0x11
    UNKNOWN = 0x12
    NO_VALUE = 0x13
    NOT_SETTABLE = 0x15
    DELETE_ATTRIBUTE = 0x16
    ADMIN_DEFINE = 0x17
    # Integer family.
    INTEGER = 0x21
    BOOLEAN = 0x22
    ENUM = 0x23
    # Octet-string family.
    OCTET_STRING = 0x30
    DATE_TIME = 0x31
    RESOLUTION = 0x32
    RANGE_OF_INTEGER = 0x33
    BEGIN_COLLECTION = 0x34
    TEXT_WITH_LANGUAGE = 0x35
    NAME_WITH_LANGUAGE = 0x36
    END_COLLECTION = 0x37
    # Character-string family.
    TEXT = 0x41
    NAME = 0x42
    KEYWORD = 0x44
    URI = 0x45
    URI_SCHEME = 0x46
    CHARSET = 0x47
    NATURAL_LANGUAGE = 0x48
    MIME_MEDIA_TYPE = 0x49
    MEMBER_ATTR_NAME = 0x4A
    # The extension form: the real tag is a 32-bit number in the value.
    EXTENSION = 0x7F


_GROUP_NAMES = {
    0x00: "reserved-group-tag",
    0x01: "operation-attributes-tag",
    0x02: "job-attributes-tag",
    0x03: "end-of-attributes-tag",
    0x04: "printer-attributes-tag",
    0x05: "unsupported-attributes-tag",
    0x06: "subscription-attributes-tag",
    0x07: "event-notification-attributes-tag",
    0x08: "resource-attributes-tag",
    0x09: "document-attributes-tag",
    0x0A: "system-attributes-tag",
}

_VALUE_NAMES = {
    0x10: "unsupported",
    0x11: "default",
    0x12: "unknown",
    0x13: "no-value",
    0x15: "not-settable",
    0x16: "delete-attribute",
    0x17: "admin-define",
    0x21: "integer",
    0x22: "boolean",
    0x23: "enum",
    0x30: "octetString",
    0x31: "dateTime",
    0x32: "resolution",
    0x33: "rangeOfInteger",
    0x34: "collection",
    0x35: "textWithLanguage",
    0x36: "nameWithLanguage",
    0x37: "endCollection",
    0x41: "textWithoutLanguage",
    0x42: "nameWithoutLanguage",
    0x44: "keyword",
    0x45: "uri",
    0x46: "uriScheme",
    0x47: "charset",
    0x48: "naturalLanguage",
    0x49: "mimeMediaType",
    0x4A: "memberAttrName",
    0x7F: "extension",
}

_VALUE_TAGS_BY_NAME = {name: tag for tag, name in _VALUE_NAMES.items()}
_VALUE_TAGS_BY_NAME.update({"text": 0x41, "name": 0x42})

#: Value tags of the character-string family (0x40-0x5F) that are assigned.
STRING_TAGS = frozenset(range(0x41, 0x4A)) - {0x43}

#: Value tags that are decoded as UTF-8 text (the others of the family are US-ASCII).
TEXT_TAGS = frozenset({0x41, 0x42})

#: Value tags with a fixed value length, and that length.
FIXED_LENGTHS = {0x21: 4, 0x22: 1, 0x23: 4, 0x31: 11, 0x32: 9, 0x33: 8}


def isGroupTag(tag: int) -> bool:
    """
    @return: whether C{tag} is a delimiter tag (0x00 to 0x0F) rather than a value tag.
    """
    return tag < 0x10


def isOutOfBand(tag: int) -> bool:
    """
    @return: whether C{tag} is an out-of-band value tag (0x10 to 0x1F).
    """
    return 0x10 <= tag <= 0x1F


def groupTagName(tag: int) -> str:
    """
    @return: the RFC name of a delimiter tag, or C{"group-tag-0xNN"} if unassigned.
    """
    return _GROUP_NAMES.get(tag, f"group-tag-0x{tag:02x}")


def valueTagName(tag: int) -> str:
    """
    @return: the RFC syntax name of a value tag, or C{"tag-0xNN"} for an unassigned one.
    """
    return _VALUE_NAMES.get(tag, f"tag-0x{tag:02x}")


def valueTagByName(name: str) -> int:
    """
    @param name: a syntax name as L{valueTagName} returns it (also C{text}, C{name}).
    @return: its tag number.
    @raise KeyError: for an unknown name.
    """
    return _VALUE_TAGS_BY_NAME[name]
