"""
Reading a stream of back-to-back IPP messages, as cupsd writes events on the stdin of
a notifier program: no length prefix and no separator, and reads that do not line up
with messages.
"""

from __future__ import annotations

from typing import List, Optional

from .decode import decodePrefix, scanFields
from .errors import IppDecodeError
from .limits import DEFAULT_LIMITS, Limits
from .message import Message


class MessageStream:
    """
    A sans-I/O splitter: L{feed} it octets as they arrive, get back the messages they
    complete.

    Finding a message's end reads only tags and lengths, and resumes where the last
    call stopped, so feeding a message one octet at a time costs the same as feeding
    it whole.  A decode error is final: the stream has no framing to resynchronise
    on, so every later call raises the same error.

    @ivar offset: how many octets of the stream came before the message now buffered
        (error offsets are relative to the stream start).
    """

    def __init__(self, limits: Optional[Limits] = None, lenient: bool = False) -> None:
        self.limits = limits if limits is not None else DEFAULT_LIMITS
        self.lenient = lenient
        self.offset = 0
        self._buffer = bytearray()
        self._scanned = 8
        self._failure: Optional[IppDecodeError] = None

    def feed(self, data: bytes) -> List[Message]:
        """
        @param data: the next octets of the stream.
        @return: the messages completed by them, in order (often none, or several).
        @raise IppDecodeError: if the stream is not a sequence of valid messages; its
            offset counts from the start of the stream.
        """
        if self._failure is not None:
            raise self._failure
        self._buffer += data
        messages: List[Message] = []
        while True:
            buffer = self._buffer
            done, self._scanned = scanFields(buffer, self._scanned)
            if not done:
                if len(buffer) > self.limits.maxMessageBytes:
                    self._fail(
                        IppDecodeError(
                            self.limits.maxMessageBytes,
                            "message is over the limit of "
                            f"{self.limits.maxMessageBytes} bytes",
                        )
                    )
                return messages
            end = self._scanned
            try:
                message, _ = decodePrefix(
                    bytes(buffer[:end]), self.limits, self.lenient
                )
            except IppDecodeError as e:
                self._fail(e)
            messages.append(message)
            del buffer[:end]
            self.offset += end
            self._scanned = 8

    def _fail(self, error: IppDecodeError) -> None:
        self._failure = IppDecodeError(
            self.offset + error.offset, error.reason, error.incomplete
        )
        raise self._failure

    @property
    def pending(self) -> int:
        """
        How many octets of an incomplete message are buffered.
        """
        return len(self._buffer)

    def close(self) -> None:
        """
        Declare the end of the stream.

        @raise IppDecodeError: if it stops inside a message.
        """
        if self._failure is not None:
            raise self._failure
        if self._buffer:
            self._fail(
                IppDecodeError(
                    len(self._buffer),
                    "stream ends inside a message "
                    f"({len(self._buffer)} bytes buffered)",
                    incomplete=True,
                )
            )
