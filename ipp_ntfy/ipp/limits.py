"""
The limits that bound what decoding a message may cost.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """
    Bounds checked while decoding (and encoding) a message.  Each one exceeded is an
    L{IppDecodeError <ipp_ntfy.ipp.errors.IppDecodeError>} at the offset where it was
    crossed.

    @ivar maxMessageBytes: the whole message, document data included.
    @ivar maxNameBytes: one attribute name (RFC 8010: at most 32767, a signed 16-bit
        length).
    @ivar maxValueBytes: one value (likewise at most 32767).
    @ivar maxDepth: collection nesting (CUPS and RFC 8010 practice: 10).
    @ivar maxAttributes: attributes in the message, collection members included.
    @ivar maxValues: values of one attribute.
    """

    maxMessageBytes: int = 4 * 1024 * 1024
    maxNameBytes: int = 32767
    maxValueBytes: int = 32767
    maxDepth: int = 10
    maxAttributes: int = 65536
    maxValues: int = 65536


DEFAULT_LIMITS = Limits()
