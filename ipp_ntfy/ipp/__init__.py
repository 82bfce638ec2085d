"""
The IPP codec: C{application/ipp} octets (RFC 8010) to L{Message} and back.

    >>> from ipp_ntfy.ipp import decode, encode
    >>> message = decode(octets)
    >>> message.operation["attributes-charset"].value
    'utf-8'
    >>> encode(message) == octets
    True

This package imports nothing from Twisted.
"""

from . import registry
from .decode import decode, decodePrefix, messageLength
from .encode import encode
from .errors import IppDecodeError, IppEncodeError
from .limits import DEFAULT_LIMITS, Limits
from .message import Attribute, Group, Message
from .stream import MessageStream
from .tags import GroupTag, ValueTag
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

__all__ = [
    "decode",
    "decodePrefix",
    "messageLength",
    "encode",
    "IppDecodeError",
    "IppEncodeError",
    "Limits",
    "DEFAULT_LIMITS",
    "Message",
    "Group",
    "Attribute",
    "MessageStream",
    "GroupTag",
    "ValueTag",
    "Collection",
    "DateTime",
    "OutOfBand",
    "Range",
    "Resolution",
    "TextWithLanguage",
    "Unknown",
    "Value",
    "registry",
]
