"""
The codec's exceptions.
"""

from __future__ import annotations


class IppDecodeError(ValueError):
    """
    The octets are not a valid IPP message.

    @ivar offset: the offset, from the start of the message, of the field at fault.
    @ivar reason: what is wrong, in words.
    @ivar incomplete: C{True} when the message merely stops too early, so that more
        octets might make it whole (used by stream readers).
    """

    def __init__(self, offset: int, reason: str, incomplete: bool = False) -> None:
        super().__init__(offset, reason)
        self.offset = offset
        self.reason = reason
        self.incomplete = incomplete

    def __str__(self) -> str:
        return f"at offset {self.offset}: {self.reason}"


class IppEncodeError(ValueError):
    """
    A L{Message} cannot be encoded: it holds something that the decoder would refuse.

    @ivar path: where, e.g. C{"group 2 (event-notification-attributes-tag),
        notify-text, value 1"}.
    @ivar reason: what is wrong, in words.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)
        self.path = path
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}" if self.path else self.reason
