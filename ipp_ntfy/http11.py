"""
A small, strict, sans-I/O HTTP/1.1 request parser and response serializer: what
the standalone notification listener (L{ipp_ntfy.listener.NotificationFactory})
speaks.

Bodies here are small and bounded (a notification report), so the parser hands
over each request whole: L{RequestParser.feed} takes octets and returns the
events they complete, in order::

    parser = RequestParser(maxBodyBytes=4 * 1024 * 1024)
    for event in parser.feed(data):
        if isinstance(event, Request): ...      # head and complete body
        elif isinstance(event, RequestHead): ... # head accepted, body to come
        else: ...                                # ParseError: answer it, close

It is written for speed: the head is found with one C{bytes.find}, split into
lines at once and checked with C{bytes} methods that loop in C, never octet by
octet in Python; a body that arrives with its head is sliced out once.  It
accepts only
what RFC 9112 calls valid (no obsolete line folding, no whitespace before a
colon, no bare CR or LF, one framing), since a listener open to printers has no
need to be lenient and every leniency is a request smuggling risk.
"""

from __future__ import annotations

import re
from itertools import islice
from typing import List, NamedTuple, Optional, Sequence, Tuple, Union, cast

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_HEADER_BYTES",
    "DEFAULT_MAX_HEADERS",
    "CONTINUE",
    "Event",
    "REASONS",
    "ParseError",
    "Request",
    "RequestHead",
    "RequestParser",
    "response",
]

#: The default largest head (request line and header section).
DEFAULT_MAX_HEADER_BYTES = 16384

#: The default largest number of header fields.
DEFAULT_MAX_HEADERS = 100

#: The default largest request body.
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024

#: The interim response that invites a client to send its body.
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

#: Reason phrases of the statuses a listener sends.
REASONS = {
    100: b"Continue",
    200: b"OK",
    400: b"Bad Request",
    404: b"Not Found",
    405: b"Method Not Allowed",
    408: b"Request Timeout",
    413: b"Content Too Large",
    415: b"Unsupported Media Type",
    431: b"Request Header Fields Too Large",
    500: b"Internal Server Error",
    501: b"Not Implemented",
    503: b"Service Unavailable",
    505: b"HTTP Version Not Supported",
}


class RequestHead(NamedTuple):
    """
    A request line and header section that passed every check.

    @ivar method: the method, as sent (methods are case-sensitive).
    @ivar target: the request target, as sent.
    @ivar version: C{b"1.1"} or C{b"1.0"}.
    @ivar headers: C{(name, value)} pairs in the order received; names
        lowercased, values without surrounding whitespace.
    @ivar contentLength: the body length when given by Content-Length; C{None}
        when the body is chunked or absent.
    @ivar chunked: whether the body is chunked.
    @ivar expectContinue: whether an HTTP/1.1 client asked for
        C{100 Continue} before it sends the body.
    @ivar keepAlive: whether the connection may carry another request after
        this one (HTTP/1.1 without C{Connection: close}, or HTTP/1.0 with
        C{Connection: keep-alive}).
    """

    method: bytes
    target: bytes
    version: bytes
    headers: List[Tuple[bytes, bytes]]
    contentLength: Optional[int]
    chunked: bool
    expectContinue: bool
    keepAlive: bool

    def header(self, name: bytes) -> Optional[bytes]:
        """
        @param name: a lowercase header name.
        @return: the value of the first field named C{name}, or C{None}.
        """
        for field, value in self.headers:
            if field == name:
                return value
        return None


class Request(NamedTuple):
    """
    A complete request.

    @ivar head: its L{RequestHead}.
    @ivar body: its body (the chunks joined, for a chunked one).
    """

    head: RequestHead
    body: bytes


class ParseError(Exception):
    """
    The octets are not an acceptable HTTP/1.1 request.  Returned by
    L{RequestParser.feed} as its last event; the parser takes nothing more.

    @ivar status: the HTTP status to answer with (400, 413, 431, 501, 505).
    @ivar reason: what was wrong, in a few words of ASCII.
    """

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(status, reason)
        self.status = status
        self.reason = reason

    def __repr__(self) -> str:
        return f"ParseError({self.status}, {self.reason!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ParseError):
            return NotImplemented
        return (self.status, self.reason) == (other.status, other.reason)

    def __hash__(self) -> int:
        return hash((self.status, self.reason))


#: What L{RequestParser.feed} returns.
Event = Union[RequestHead, Request, ParseError]

_TOKEN_CHARS = (
    b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)
_TOKEN_OCTETS = [c in _TOKEN_CHARS for c in range(256)]
# Every octet that is not a control character other than HTAB: deleting these
# from a head leaves exactly its CRLFs when nothing else is wrong.
_NOT_CONTROL = bytes([9, *range(0x20, 0x7F), *range(0x80, 0x100)])
_HEX = b"0123456789abcdefABCDEF"
_VERSION = re.compile(rb"HTTP/[0-9]\.[0-9]")
_LINE_LIMIT = 4096
# Longer Content-Length or chunk-size values are over any sensible limit (and
# int() of thousands of digits raises).
_LENGTH_DIGITS = 15

# Header names the parser acts on.
_FRAMING = frozenset(
    [b"content-length", b"transfer-encoding", b"connection", b"expect", b"host"]
)

_new = tuple.__new__

_HEAD, _BODY, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILER = range(6)


def _isToken(value: bytes) -> bool:
    return bool(value) and not value.translate(None, _TOKEN_CHARS)


def _badHeaderLine(line: bytes) -> ParseError:
    """
    Say what is wrong with a header line whose name is not a token.
    """
    if line[:1] in (b" ", b"\t"):
        return ParseError(400, "obsolete line folding in the header section")
    name, colon, _ = line.partition(b":")
    if not colon:
        return ParseError(400, "a header line without a colon")
    if name.rstrip(b" \t") != name:
        return ParseError(400, "whitespace before a header colon")
    return ParseError(400, "a header name that is not a token")


def _contentLength(value: bytes, maxBodyBytes: int) -> int:
    """
    Read a Content-Length field value (a list of identical lengths is one).

    @raise ParseError: when it is not a length, or one over C{maxBodyBytes}.
    """
    if b"," in value:
        values = {v.strip(b" \t") for v in value.split(b",")}
        if len(values) != 1:
            raise ParseError(400, "differing Content-Length values")
        (value,) = values
    if not value.isdigit():
        raise ParseError(400, "a Content-Length that is not a length")
    if len(value) > _LENGTH_DIGITS or int(value) > maxBodyBytes:
        raise ParseError(413, "the body is larger than allowed")
    return int(value)


class RequestParser:
    """
    Parses the octets a client sends into L{RequestHead}, L{Request} and
    L{ParseError} events.

    A request whose body has arrived with its head gives one L{Request}; one
    whose body has not gives a L{RequestHead} first (so that the server can
    send C{100 Continue}, or refuse) and the L{Request} once the body is in.
    Requests pipelined in one buffer are all parsed, in order.  Empty lines
    before a request line are skipped (RFC 9112 section 2.2).  After a
    L{ParseError} the parser takes nothing more.

    What it refuses, with the status to answer:
      - 400: a first octet that cannot start a method; a request line that is
        not three parts split by single spaces, a method that is not a token,
        a target that is empty or not ASCII, a malformed version; a control
        character, bare CR or bare LF in the head; a header line without a
        colon, with whitespace before it, with an empty or non-token name, or
        starting with whitespace (obsolete line folding); an HTTP/1.1 request
        without exactly one Host field (HTTP/1.0: at most one); both
        Content-Length and Transfer-Encoding; differing Content-Length values
        (identical repeats are one); a Content-Length that is not digits;
        Transfer-Encoding in HTTP/1.0; a chunk size that is not hexadecimal, a
        control character in a chunk extension, chunk data not followed by
        CRLF, a malformed trailer field, a chunk-size line over 4096 octets.
      - 413: a Content-Length over C{maxBodyBytes} (from the head alone), a
        chunk that would take the body over it (from its size line).
      - 431: a head over C{maxHeaderBytes}, more than C{maxHeaders} fields, a
        trailer section over C{maxHeaderBytes}.
      - 501: a Transfer-Encoding other than exactly C{chunked} (any case).
      - 505: a well-formed version other than HTTP/1.0 and HTTP/1.1.

    @ivar maxHeaderBytes: the largest head (request line and header fields);
        a larger one is refused with 431, as is a chunked body's trailer
        section over it.
    @ivar maxHeaders: the largest number of header fields (431 past it).
    @ivar maxBodyBytes: the largest body: 413 as soon as the head says so, or
        as soon as a chunk would take a chunked body past it.
    """

    def __init__(
        self,
        maxHeaderBytes: int = DEFAULT_MAX_HEADER_BYTES,
        maxHeaders: int = DEFAULT_MAX_HEADERS,
        maxBodyBytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaders = maxHeaders
        self.maxBodyBytes = maxBodyBytes
        self._state = _HEAD
        self._buffer = b""
        # How much of the buffered head was searched for its end already.
        self._scanned = 0
        self._head: Optional[RequestHead] = None
        self._headGiven = False
        self._pieces: List[bytes] = []
        self._remaining = 0
        # The chunked body's length so far (counting chunks being received).
        self._received = 0
        self._failed = False

    @property
    def pending(self) -> bool:
        """
        Whether part of a request was received and not yet returned as a
        L{Request} (a lone CR between requests counts too).
        """
        return (self._state != _HEAD or self._buffer != b"") and not self._failed

    def feed(self, data: bytes) -> List[Event]:
        """
        Take the next octets from the client.

        @return: the events they complete, in order; a L{ParseError}, if any,
            is the last one.
        """
        if self._failed:
            return []
        if self._buffer:
            data = self._buffer + data
            self._buffer = b""
        events: List[Event] = []
        try:
            self._parse(data, events)
            if self._state != _HEAD and not self._headGiven:
                # The body is still to come: give the head now.
                self._headGiven = True
                events.append(cast(RequestHead, self._head))
        except ParseError as e:
            self._failed = True
            self._buffer = b""
            self._pieces = []
            self._head = None
            events.append(e)
        return events

    def _parse(self, data: bytes, events: List[Event]) -> None:
        pos = 0
        end = len(data)
        while pos < end:
            state = self._state
            if state == _HEAD:
                if data[pos] == 13 or data[pos] == 10:
                    # Empty lines between requests.
                    while data.startswith(b"\r\n", pos):
                        pos += 2
                    if pos == end:
                        return
                    if data[pos] == 13:
                        if pos + 1 == end:
                            self._buffer = data[pos:]
                            return
                        raise ParseError(400, "a bare CR before the request line")
                    if data[pos] == 10:
                        raise ParseError(400, "a bare LF before the request line")
                if not _TOKEN_OCTETS[data[pos]]:
                    # Not a request line (TLS sent to a plain port, say):
                    # say so now rather than wait for a head that never ends.
                    raise ParseError(400, "not an HTTP request")
                start = max(pos, pos + self._scanned - 3)
                self._scanned = 0
                headEnd = data.find(b"\r\n\r\n", start)
                if headEnd < 0 or headEnd - pos > self.maxHeaderBytes:
                    if end - pos > self.maxHeaderBytes:
                        raise ParseError(431, "the header section is too large")
                    self._buffer = data[pos:]
                    self._scanned = len(self._buffer)
                    return
                head = self._parseHead(data[pos:headEnd])
                pos = headEnd + 4
                length = head.contentLength
                if head.chunked:
                    self._head = head
                    self._state = _CHUNK_SIZE
                elif not length:
                    events.append(_new(Request, (head, b"")))
                elif end - pos >= length:
                    events.append(_new(Request, (head, data[pos : pos + length])))
                    pos += length
                else:
                    self._head = head
                    self._pieces = [data[pos:]]
                    self._remaining = length - (end - pos)
                    self._state = _BODY
                    return
            elif state == _BODY:
                remaining = self._remaining
                if end - pos < remaining:
                    piece = data[pos:] if pos else data
                    self._pieces.append(piece)
                    self._remaining -= len(piece)
                    return
                self._pieces.append(data[pos : pos + remaining])
                pos += remaining
                self._complete(events)
            elif state == _CHUNK_SIZE:
                lineEnd = data.find(b"\r\n", pos)
                if lineEnd < 0:
                    if end - pos > _LINE_LIMIT:
                        raise ParseError(400, "a chunk-size line that is too long")
                    self._buffer = data[pos:]
                    return
                size = self._chunkSize(data[pos:lineEnd])
                pos = lineEnd + 2
                if size == 0:
                    self._state = _TRAILER
                else:
                    self._remaining = size
                    self._state = _CHUNK_DATA
            elif state == _CHUNK_DATA:
                remaining = self._remaining
                if end - pos < remaining:
                    piece = data[pos:] if pos else data
                    self._pieces.append(piece)
                    self._remaining -= len(piece)
                    return
                self._pieces.append(data[pos : pos + remaining])
                pos += remaining
                self._state = _CHUNK_END
            elif state == _CHUNK_END:
                if end - pos < 2:
                    if data[pos] != 13:
                        raise ParseError(400, "chunk data not followed by CRLF")
                    self._buffer = data[pos:]
                    return
                if not data.startswith(b"\r\n", pos):
                    raise ParseError(400, "chunk data not followed by CRLF")
                pos += 2
                self._state = _CHUNK_SIZE
            else:  # _TRAILER
                if data.startswith(b"\r\n", pos):
                    pos += 2
                    self._complete(events)
                    continue
                trailerEnd = data.find(b"\r\n\r\n", pos)
                if trailerEnd < 0:
                    if end - pos > self.maxHeaderBytes:
                        raise ParseError(431, "the trailer section is too large")
                    self._buffer = data[pos:]
                    return
                if trailerEnd - pos > self.maxHeaderBytes:
                    raise ParseError(431, "the trailer section is too large")
                self._checkFields(data[pos:trailerEnd].split(b"\r\n"))
                pos = trailerEnd + 4
                self._complete(events)

    def _complete(self, events: List[Event]) -> None:
        head = self._head
        assert head is not None
        pieces = self._pieces
        body = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        events.append(_new(Request, (head, body)))
        self._head = None
        self._headGiven = False
        self._pieces = []
        self._received = 0
        self._state = _HEAD

    def _chunkSize(self, line: bytes) -> int:
        size, _, extension = line.partition(b";")
        size = size.rstrip(b" \t")
        if not size or size.translate(None, _HEX):
            raise ParseError(400, "a chunk size that is not hexadecimal")
        if extension and len(extension.translate(None, _NOT_CONTROL)):
            raise ParseError(400, "a control character in a chunk extension")
        if len(size) > _LENGTH_DIGITS:
            raise ParseError(413, "the body is larger than allowed")
        value = int(size, 16)
        self._received += value
        if self._received > self.maxBodyBytes:
            raise ParseError(413, "the body is larger than allowed")
        return value

    def _checkFields(self, lines: Sequence[bytes]) -> None:
        """
        Check trailer field lines (they are then dropped).
        """
        for line in lines:
            name, colon, value = line.partition(b":")
            if not colon or not _isToken(name):
                raise _badHeaderLine(line)
            if value.translate(None, _NOT_CONTROL):
                raise ParseError(400, "a control character in the trailer section")

    def _parseHead(self, head: bytes) -> RequestHead:
        lines = head.split(b"\r\n")
        if len(head.translate(None, _NOT_CONTROL)) != 2 * (len(lines) - 1):
            if b"\n" in head.replace(b"\r\n", b""):
                raise ParseError(400, "a bare LF in the head")
            if b"\r" in head.replace(b"\r\n", b""):
                raise ParseError(400, "a bare CR in the head")
            raise ParseError(400, "a control character in the head")
        if len(lines) - 1 > self.maxHeaders:
            raise ParseError(431, "too many header fields")

        parts = lines[0].split(b" ")
        if len(parts) != 3:
            raise ParseError(400, "a malformed request line")
        method, target, version = parts
        if version == b"HTTP/1.1":
            version = b"1.1"
        elif version == b"HTTP/1.0":
            version = b"1.0"
        elif _VERSION.fullmatch(version):
            raise ParseError(505, "only HTTP/1.1 and HTTP/1.0 are supported")
        else:
            raise ParseError(400, "a malformed HTTP version")
        if not _isToken(method):
            raise ParseError(400, "a method that is not a token")
        if not target or not target.isascii():
            raise ParseError(400, "a malformed request target")

        headers = []
        names = []
        contentLength: Optional[bytes] = None
        transferEncoding: Optional[bytes] = None
        connection = b""
        expect = b""
        hosts = 0
        framing = _FRAMING
        for line in islice(lines, 1, None):
            name, colon, value = line.partition(b":")
            if not colon or not name:
                raise _badHeaderLine(line)
            names.append(name)
            name = name.lower()
            value = value.strip(b" \t")
            headers.append((name, value))
            if name in framing:
                if name == b"content-length":
                    if contentLength is not None and contentLength != value:
                        contentLength += b"," + value
                    else:
                        contentLength = value
                elif name == b"transfer-encoding":
                    if transferEncoding is None:
                        transferEncoding = value
                    else:
                        transferEncoding += b"," + value
                elif name == b"connection":
                    connection += b"," + value
                elif name == b"expect":
                    expect = value
                else:
                    hosts += 1
        # Every name at once: a token has no byte outside _TOKEN_CHARS.
        if b"".join(names).translate(None, _TOKEN_CHARS):
            for line, name in zip(islice(lines, 1, None), names):
                if name.translate(None, _TOKEN_CHARS):
                    raise _badHeaderLine(line)

        http11 = version == b"1.1"
        if http11 and hosts != 1:
            raise ParseError(
                400, "no Host header field" if not hosts else "several Host fields"
            )
        if hosts > 1:
            raise ParseError(400, "several Host fields")
        length: Optional[int] = None
        chunked = False
        if transferEncoding is not None:
            if contentLength is not None:
                raise ParseError(400, "both Content-Length and Transfer-Encoding")
            if not http11:
                raise ParseError(400, "Transfer-Encoding in an HTTP/1.0 request")
            if transferEncoding.lower() != b"chunked":
                raise ParseError(501, "a Transfer-Encoding other than chunked")
            chunked = True
        elif contentLength is not None:
            if contentLength.isdigit() and len(contentLength) <= _LENGTH_DIGITS:
                length = int(contentLength)
                if length > self.maxBodyBytes:
                    raise ParseError(413, "the body is larger than allowed")
            else:
                length = _contentLength(contentLength, self.maxBodyBytes)
        if connection:
            tokens = [t.strip(b" \t") for t in connection.lower().split(b",")]
            keepAlive = b"close" not in tokens and (http11 or b"keep-alive" in tokens)
        else:
            keepAlive = http11
        # tuple.__new__ directly: the NamedTuple's own __new__ is a Python call.
        return _new(
            RequestHead,
            (
                method,
                target,
                version,
                headers,
                length,
                chunked,
                http11 and expect.lower() == b"100-continue",
                keepAlive,
            ),
        )


def response(
    status: int,
    reason: Optional[bytes] = None,
    headers: Sequence[Tuple[bytes, bytes]] = (),
    body: bytes = b"",
    close: bool = False,
) -> bytes:
    """
    Serialize a final response; it always has a Content-Length.

    @param status: the status code (200 to 599, but not 204 or 304, which
        have no body).
    @param reason: the reason phrase; by default the one in L{REASONS}.
    @param headers: other header fields, as C{(name, value)}; the caller makes
        sure they hold no CR or LF.
    @param body: the body.
    @param close: whether the connection closes after this response (it then
        says C{Connection: close}).
    @return: the octets to write.
    @raise ValueError: for a status that cannot have a body.
    """
    if not 200 <= status <= 599 or status in (204, 304):
        raise ValueError(f"status {status} cannot have a body")
    if reason is None:
        reason = REASONS.get(status, b"Unknown")
    parts = [b"HTTP/1.1 %d %s\r\n" % (status, reason)]
    for name, value in headers:
        parts.append(b"%s: %s\r\n" % (name, value))
    parts.append(b"Content-Length: %d\r\n" % (len(body),))
    if close:
        parts.append(b"Connection: close\r\n")
    parts.append(b"\r\n")
    parts.append(body)
    return b"".join(parts)
