"""
The sans-I/O HTTP/1.1 request parser and response serializer: every rule with its
own test, then properties: on generated valid requests (pipelined, cut anywhere)
it reads what h11 reads, and on garbage it only ever returns L{ParseError}.
"""

from __future__ import annotations

import random
from typing import Any, List, Optional, Sequence, Tuple

import h11
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from ipp_ntfy.http11 import (
    CONTINUE,
    Event,
    ParseError,
    Request,
    RequestHead,
    RequestParser,
    response,
)

BODY = b"0123456789" * 3


def post(
    body: bytes = BODY,
    *,
    version: bytes = b"HTTP/1.1",
    extra: Sequence[bytes] = (),
    length: bool = True,
) -> bytes:
    lines = [b"POST /notify HTTP/1.1".replace(b"HTTP/1.1", version), b"Host: x"]
    lines.extend(extra)
    if length:
        lines.append(b"Content-Length: %d" % (len(body),))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def chunked(pieces: Sequence[bytes], extra: Sequence[bytes] = ()) -> bytes:
    head = post(b"", extra=[b"Transfer-Encoding: chunked", *extra], length=False)
    return head + b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def head(*lines: bytes) -> bytes:
    return b"\r\n".join(lines) + b"\r\n\r\n"


class ParserTestCase(SynchronousTestCase):
    maxBodyBytes = 1000

    def parser(self, **kwargs: Any) -> RequestParser:
        kwargs.setdefault("maxBodyBytes", self.maxBodyBytes)
        return RequestParser(**kwargs)

    def parse(self, data: bytes, **kwargs: Any) -> List[Event]:
        return self.parser(**kwargs).feed(data)

    def one(self, data: bytes, **kwargs: Any) -> Request:
        events = self.parse(data, **kwargs)
        self.assertEqual([type(e) for e in events], [Request], events)
        return events[0]  # type: ignore[return-value]

    def error(self, data: bytes, **kwargs: Any) -> ParseError:
        events = self.parse(data, **kwargs)
        self.assertIsInstance(events[-1], ParseError, events)
        return events[-1]  # type: ignore[return-value]

    def assertError(
        self, data: bytes, status: int, reason: Optional[str] = None, **kwargs: Any
    ) -> None:
        error = self.error(data, **kwargs)
        self.assertEqual(error.status, status, error)
        if reason is not None:
            self.assertIn(reason, error.reason)


class RequestTests(ParserTestCase):
    def test_simplePost(self) -> None:
        request = self.one(post(extra=[b"Content-Type: application/ipp"]))
        self.assertEqual(request.body, BODY)
        head = request.head
        self.assertEqual(head.method, b"POST")
        self.assertEqual(head.target, b"/notify")
        self.assertEqual(head.version, b"1.1")
        self.assertEqual(head.contentLength, len(BODY))
        self.assertFalse(head.chunked)
        self.assertFalse(head.expectContinue)
        self.assertTrue(head.keepAlive)
        self.assertEqual(head.header(b"content-type"), b"application/ipp")
        self.assertIsNone(head.header(b"accept"))

    def test_headerNamesLowercasedValuesTrimmedInOrder(self) -> None:
        request = self.one(head(b"GET / HTTP/1.1", b"HOST: x", b"X-B:\t two  words \t"))
        self.assertEqual(
            request.head.headers, [(b"host", b"x"), (b"x-b", b"two  words")]
        )

    def test_emptyValue(self) -> None:
        request = self.one(head(b"GET / HTTP/1.1", b"Host: x", b"X-Empty:"))
        self.assertEqual(request.head.header(b"x-empty"), b"")

    def test_obsTextInValueAccepted(self) -> None:
        request = self.one(head(b"GET / HTTP/1.1", b"Host: x", b"X: caf\xc3\xa9"))
        self.assertEqual(request.head.header(b"x"), b"caf\xc3\xa9")

    def test_noBody(self) -> None:
        request = self.one(head(b"GET /a?b=c HTTP/1.1", b"Host: x"))
        self.assertEqual(request.body, b"")
        self.assertIsNone(request.head.contentLength)
        self.assertEqual(request.head.target, b"/a?b=c")

    def test_zeroContentLength(self) -> None:
        request = self.one(post(b""))
        self.assertEqual((request.head.contentLength, request.body), (0, b""))

    def test_bodyLaterGivesHeadFirst(self) -> None:
        """
        A head whose body has not arrived is returned as a L{RequestHead}; the
        L{Request} follows with the body.
        """
        parser = self.parser()
        data = post()
        split = data.index(b"\r\n\r\n") + 4 + 5
        [first] = parser.feed(data[:split])
        self.assertIsInstance(first, RequestHead)
        self.assertTrue(parser.pending)
        self.assertEqual(parser.feed(data[split:-1]), [])
        [request] = parser.feed(data[-1:])
        assert isinstance(request, Request)
        self.assertEqual(request.head, first)
        self.assertEqual(request.body, BODY)
        self.assertFalse(parser.pending)

    def test_oneOctetAtATime(self) -> None:
        parser = self.parser()
        events: List[Event] = []
        data = post() + chunked([b"abc", b"defg"])
        for index in range(len(data)):
            events.extend(parser.feed(data[index : index + 1]))
        self.assertEqual(
            [type(e) for e in events], [RequestHead, Request, RequestHead, Request]
        )
        self.assertEqual([e.body for e in events[1::2]], [BODY, b"abcdefg"])  # type: ignore[union-attr]

    def test_pipelinedInOneBuffer(self) -> None:
        data = (
            post(b"one")
            + chunked([b"two"])
            + post(b"three")
            + head(b"GET /four HTTP/1.1", b"Host: x")
        )
        events = self.parse(data)
        requests = [e for e in events if isinstance(e, Request)]
        self.assertEqual([r.body for r in requests], [b"one", b"two", b"three", b""])
        self.assertEqual(requests[-1].head.target, b"/four")

    def test_emptyLinesBeforeRequestSkipped(self) -> None:
        events = self.parse(b"\r\n\r\n" + post() + b"\r\n" + post())
        self.assertEqual([type(e) for e in events], [Request, Request])

    def test_loneCRBetweenRequestsWaits(self) -> None:
        parser = self.parser()
        self.assertEqual(len(parser.feed(post() + b"\r")), 1)
        self.assertEqual(len(parser.feed(b"\n" + post())), 1)

    def test_bareLFBeforeRequestLine(self) -> None:
        self.assertError(b"\n" + post(), 400, "bare LF")

    def test_bareCRBeforeRequestLine(self) -> None:
        self.assertError(b"\rX" + post(), 400, "bare CR")

    def test_headSearchResumes(self) -> None:
        """
        A head cut inside its final CRLF CRLF is found when the rest arrives.
        """
        parser = self.parser()
        data = head(b"GET / HTTP/1.1", b"Host: x")
        self.assertEqual(parser.feed(data[:-3]), [])
        self.assertEqual(parser.feed(data[-3:-1]), [])
        [request] = parser.feed(data[-1:])
        self.assertIsInstance(request, Request)

    def test_errorAfterGoodRequests(self) -> None:
        """
        Requests before a malformed one are returned, then the error.
        """
        events = self.parse(post() + post() + b"BAD\r\n\r\n" + post())
        self.assertEqual([type(e) for e in events], [Request, Request, ParseError])

    def test_bodyErrorWithItsHeadGivesNoHead(self) -> None:
        """
        A request refused before its body is complete, in the same octets as its
        head, gives only the error: no L{RequestHead} (no 100 Continue).
        """
        data = chunked([])[: -len(b"0\r\n\r\n")] + b"zz\r\n"
        [error] = self.parse(data)
        self.assertEqual(error.status, 400)  # type: ignore[union-attr]

    def test_nothingAfterAnError(self) -> None:
        parser = self.parser()
        [error] = parser.feed(b"nonsense\r\n\r\n")
        self.assertIsInstance(error, ParseError)
        self.assertEqual(parser.feed(post()), [])
        self.assertFalse(parser.pending)

    def test_pending(self) -> None:
        parser = self.parser()
        self.assertFalse(parser.pending)
        parser.feed(b"\r\n")
        self.assertFalse(parser.pending)
        parser.feed(b"POST / HT")
        self.assertTrue(parser.pending)


class VersionTests(ParserTestCase):
    def test_http10(self) -> None:
        request = self.one(post(version=b"HTTP/1.0"))
        self.assertEqual(request.head.version, b"1.0")
        self.assertFalse(request.head.keepAlive)

    def test_http10NeedsNoHost(self) -> None:
        request = self.one(head(b"GET / HTTP/1.0"))
        self.assertEqual(request.head.headers, [])

    def test_http2Unsupported(self) -> None:
        self.assertError(post(version=b"HTTP/2.0"), 505)

    def test_http09Unsupported(self) -> None:
        self.assertError(post(version=b"HTTP/0.9"), 505)

    def test_http12Unsupported(self) -> None:
        self.assertError(post(version=b"HTTP/1.2"), 505)

    def test_lowercaseVersionIsMalformed(self) -> None:
        self.assertError(post(version=b"http/1.1"), 400, "version")

    def test_versionWithoutMinorIsMalformed(self) -> None:
        self.assertError(post(version=b"HTTP/1"), 400, "version")


class RequestLineTests(ParserTestCase):
    def test_twoParts(self) -> None:
        self.assertError(head(b"GET /", b"Host: x"), 400, "request line")

    def test_fourParts(self) -> None:
        self.assertError(head(b"GET / x HTTP/1.1", b"Host: x"), 400, "request line")

    def test_doubleSpace(self) -> None:
        self.assertError(head(b"GET  / HTTP/1.1", b"Host: x"), 400, "request line")

    def test_methodNotAToken(self) -> None:
        self.assertError(head(b"G(T / HTTP/1.1", b"Host: x"), 400, "method")

    def test_nonASCIITarget(self) -> None:
        self.assertError(head(b"GET /caf\xc3\xa9 HTTP/1.1", b"Host: x"), 400, "target")

    def test_notHTTPAtAll(self) -> None:
        """
        What cannot start a request line (a TLS ClientHello here) is refused at
        once, without waiting for the end of a head.
        """
        self.assertError(
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400, "not an HTTP"
        )


class HeaderSyntaxTests(ParserTestCase):
    def test_obsoleteLineFolding(self) -> None:
        self.assertError(
            head(b"GET / HTTP/1.1", b"Host: x", b"X-A: one", b" two"),
            400,
            "obsolete line folding",
        )

    def test_obsoleteLineFoldingWithTab(self) -> None:
        self.assertError(
            head(b"GET / HTTP/1.1", b"Host: x", b"X-A: one", b"\ttwo"),
            400,
            "obsolete line folding",
        )

    def test_noColon(self) -> None:
        self.assertError(head(b"GET / HTTP/1.1", b"Host: x", b"X-A"), 400, "colon")

    def test_emptyName(self) -> None:
        self.assertError(head(b"GET / HTTP/1.1", b"Host: x", b": v"), 400)

    def test_whitespaceBeforeColon(self) -> None:
        self.assertError(
            head(b"GET / HTTP/1.1", b"Host: x", b"Content-Length : 0"),
            400,
            "whitespace before",
        )

    def test_nameNotAToken(self) -> None:
        self.assertError(
            head(b"GET / HTTP/1.1", b"Host: x", b"X(A): v"), 400, "not a token"
        )

    def test_controlCharacterInValue(self) -> None:
        self.assertError(
            head(b"GET / HTTP/1.1", b"Host: x", b"X-A: a\x01b"), 400, "control"
        )

    def test_nulInValue(self) -> None:
        self.assertError(head(b"GET / HTTP/1.1", b"Host: x", b"X-A: \x00"), 400)

    def test_deleteInValue(self) -> None:
        self.assertError(head(b"GET / HTTP/1.1", b"Host: x", b"X-A: \x7f"), 400)

    def test_bareLFInHead(self) -> None:
        self.assertError(b"GET / HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n", 400, "bare LF")

    def test_bareCRInHead(self) -> None:
        self.assertError(b"GET / HTTP/1.1\r\nHost: x\rX-A: b\r\n\r\n", 400, "bare CR")

    def test_missingHost(self) -> None:
        self.assertError(head(b"GET / HTTP/1.1"), 400, "Host")

    def test_twoHosts(self) -> None:
        self.assertError(head(b"GET / HTTP/1.1", b"Host: a", b"Host: b"), 400, "Host")

    def test_twoHostsInHTTP10(self) -> None:
        self.assertError(head(b"GET / HTTP/1.0", b"Host: a", b"Host: b"), 400, "Host")


class LimitTests(ParserTestCase):
    def test_headerSectionTooLarge(self) -> None:
        """
        A head over the limit is refused with 431 as soon as that many octets
        arrived without its end.
        """
        parser = self.parser(maxHeaderBytes=100)
        self.assertEqual(parser.feed(b"GET / HTTP/1.1\r\nX: " + b"a" * 80), [])
        [error] = parser.feed(b"a" * 10)
        self.assertEqual(error, ParseError(431, "the header section is too large"))

    def test_completeHeaderSectionTooLarge(self) -> None:
        self.assertError(
            head(b"GET / HTTP/1.1", b"Host: x", b"X: " + b"a" * 100),
            431,
            maxHeaderBytes=100,
        )

    def test_headerSectionAtTheLimit(self) -> None:
        data = head(b"GET / HTTP/1.1", b"Host: x", b"X: " + b"a" * 60)
        self.one(data, maxHeaderBytes=len(data) - 4)

    def test_tooManyHeaders(self) -> None:
        fields = [b"X-%d: v" % (i,) for i in range(10)]
        self.assertError(
            head(b"GET / HTTP/1.1", b"Host: x", *fields), 431, "too many", maxHeaders=10
        )

    def test_headersAtTheLimit(self) -> None:
        fields = [b"X-%d: v" % (i,) for i in range(9)]
        self.one(head(b"GET / HTTP/1.1", b"Host: x", *fields), maxHeaders=10)

    def test_bodyOverLimitRefusedAtHead(self) -> None:
        """
        A Content-Length over the limit is refused from the head alone: no
        L{RequestHead} (so no 100 Continue) comes first.
        """
        data = post(b"x" * (self.maxBodyBytes + 1))
        end = data.index(b"\r\n\r\n") + 4
        [error] = self.parse(data[:end])
        self.assertEqual(error, ParseError(413, "the body is larger than allowed"))

    def test_bodyAtTheLimit(self) -> None:
        self.one(post(b"x" * self.maxBodyBytes))

    def test_hugeContentLength(self) -> None:
        """
        A Content-Length of thousands of digits is too large, not an error of
        the parser (int() would refuse it).
        """
        self.assertError(
            post(length=False, extra=[b"Content-Length: " + b"9" * 5000]), 413
        )

    def test_chunkedBodyOverLimit(self) -> None:
        """
        A chunked body is refused as soon as a chunk would take it past the
        limit, before that chunk's data arrives.
        """
        parser = self.parser()
        events = parser.feed(chunked([])[: -len(b"0\r\n\r\n")])
        self.assertEqual([type(e) for e in events], [RequestHead])
        self.assertEqual(parser.feed(b"1f4\r\n" + b"x" * 500 + b"\r\n"), [])
        [error] = parser.feed(b"1f5\r\n")
        self.assertEqual(error, ParseError(413, "the body is larger than allowed"))

    def test_chunkedBodyAtTheLimit(self) -> None:
        request = self.one(chunked([b"x" * 500, b"y" * 500]))
        self.assertEqual(len(request.body), 1000)

    def test_hugeChunkSize(self) -> None:
        self.assertError(chunked([])[: -len(b"0\r\n\r\n")] + b"f" * 40 + b"\r\n", 413)

    def test_chunkSizeLineTooLong(self) -> None:
        self.assertError(
            chunked([])[: -len(b"0\r\n\r\n")] + b"1;" + b"x" * 5000, 400, "too long"
        )

    def test_trailerSectionTooLarge(self) -> None:
        self.assertError(
            chunked([b"a"])[:-2] + b"X: " + b"a" * 200, 431, maxHeaderBytes=100
        )


class FramingTests(ParserTestCase):
    def test_bothContentLengthAndTransferEncoding(self) -> None:
        self.assertError(
            post(extra=[b"Transfer-Encoding: chunked"]), 400, "both Content-Length"
        )

    def test_identicalContentLengths(self) -> None:
        request = self.one(post(extra=[b"Content-Length: %d" % (len(BODY),)]))
        self.assertEqual(request.body, BODY)

    def test_identicalContentLengthList(self) -> None:
        request = self.one(
            post(
                length=False, extra=[b"Content-Length: %d, %d" % (len(BODY), len(BODY))]
            )
        )
        self.assertEqual(request.body, BODY)

    def test_differingContentLengths(self) -> None:
        self.assertError(post(extra=[b"Content-Length: 3"]), 400, "differing")

    def test_differingContentLengthList(self) -> None:
        self.assertError(
            post(length=False, extra=[b"Content-Length: 3, 4"]), 400, "differing"
        )

    def test_nonNumericContentLength(self) -> None:
        for value in [b"abc", b"0x10", b"1_0", b"1.5", b"", b"\xd9\xa1"]:
            self.assertError(
                post(length=False, extra=[b"Content-Length: " + value]),
                400,
                "not a length",
            )

    def test_negativeContentLength(self) -> None:
        self.assertError(post(length=False, extra=[b"Content-Length: -1"]), 400)

    def test_signedContentLength(self) -> None:
        self.assertError(post(length=False, extra=[b"Content-Length: +30"]), 400)

    def test_transferEncodingNotChunked(self) -> None:
        for value in [b"gzip", b"gzip, chunked", b"chunked, gzip", b"identity"]:
            self.assertError(
                post(b"", length=False, extra=[b"Transfer-Encoding: " + value]), 501
            )

    def test_twoTransferEncodingFields(self) -> None:
        self.assertError(chunked([b"a"], extra=[b"Transfer-Encoding: chunked"]), 501)

    def test_transferEncodingCaseInsensitive(self) -> None:
        data = chunked([b"abc"]).replace(b"chunked", b"Chunked")
        self.assertEqual(self.one(data).body, b"abc")

    def test_transferEncodingInHTTP10(self) -> None:
        data = chunked([b"abc"]).replace(b"HTTP/1.1", b"HTTP/1.0")
        self.assertError(data, 400, "HTTP/1.0")


class ChunkedTests(ParserTestCase):
    def test_chunks(self) -> None:
        request = self.one(chunked([b"abc", b"d", b"efghijklmnopqrstuvwxyz"]))
        self.assertTrue(request.head.chunked)
        self.assertIsNone(request.head.contentLength)
        self.assertEqual(request.body, b"abcdefghijklmnopqrstuvwxyz")

    def test_noChunks(self) -> None:
        self.assertEqual(self.one(chunked([])).body, b"")

    def test_uppercaseHexAndExtensions(self) -> None:
        data = chunked([])[: -len(b"0\r\n\r\n")]
        data += b"A;name=value\r\n" + b"x" * 10 + b"\r\n"
        data += b"00 ; last\r\n\r\n"
        self.assertEqual(self.one(data).body, b"x" * 10)

    def test_trailersDropped(self) -> None:
        data = chunked([b"abc"])[:-2] + b"X-Checksum: 1\r\nX-Other: 2\r\n\r\n"
        request = self.one(data)
        self.assertEqual(request.body, b"abc")
        self.assertIsNone(request.head.header(b"x-checksum"))

    def test_badTrailer(self) -> None:
        self.assertError(chunked([b"abc"])[:-2] + b"no colon\r\n\r\n", 400, "colon")

    def test_controlCharacterInTrailer(self) -> None:
        self.assertError(chunked([b"abc"])[:-2] + b"X: \x01\r\n\r\n", 400)

    def test_chunkSizeNotHex(self) -> None:
        for size in [b"g", b"", b"0x10", b"-1", b" 5", b"+5", b"1_0"]:
            data = chunked([])[: -len(b"0\r\n\r\n")] + size + b"\r\nxxxxx\r\n0\r\n\r\n"
            self.assertError(data, 400, "hexadecimal")

    def test_controlCharacterInExtension(self) -> None:
        data = chunked([])[: -len(b"0\r\n\r\n")] + b"1;a\x00\r\nx\r\n0\r\n\r\n"
        self.assertError(data, 400, "extension")

    def test_dataNotFollowedByCRLF(self) -> None:
        data = chunked([])[: -len(b"0\r\n\r\n")] + b"3\r\nabcd\r\n0\r\n\r\n"
        self.assertError(data, 400, "CRLF")

    def test_dataFollowedByLF(self) -> None:
        data = chunked([])[: -len(b"0\r\n\r\n")] + b"3\r\nabc\n0\r\n\r\n"
        self.assertError(data, 400, "CRLF")

    def test_dataCRLFSplit(self) -> None:
        parser = self.parser()
        data = chunked([b"abc"])
        cut = data.index(b"abc") + 4
        events = parser.feed(data[:cut])
        events += parser.feed(data[cut:])
        self.assertEqual(events[-1].body, b"abc")  # type: ignore[union-attr]

    def test_dataCRLFSplitWrong(self) -> None:
        parser = self.parser()
        data = chunked([])[: -len(b"0\r\n\r\n")] + b"3\r\nabc\r"
        self.assertEqual([type(e) for e in parser.feed(data)], [RequestHead])
        [error] = parser.feed(b"X")
        self.assertEqual(error, ParseError(400, "chunk data not followed by CRLF"))


class ConnectionTests(ParserTestCase):
    def keepAlive(self, version: bytes, *fields: bytes) -> bool:
        return self.one(post(version=version, extra=fields)).head.keepAlive

    def test_http11KeepsAlive(self) -> None:
        self.assertTrue(self.keepAlive(b"HTTP/1.1"))

    def test_http11Close(self) -> None:
        self.assertFalse(self.keepAlive(b"HTTP/1.1", b"Connection: close"))

    def test_http11CloseAmongTokens(self) -> None:
        self.assertFalse(self.keepAlive(b"HTTP/1.1", b"Connection: TE, Close"))

    def test_http11CloseInSecondField(self) -> None:
        self.assertFalse(
            self.keepAlive(b"HTTP/1.1", b"Connection: te", b"Connection: close")
        )

    def test_http10Closes(self) -> None:
        self.assertFalse(self.keepAlive(b"HTTP/1.0"))

    def test_http10KeepAlive(self) -> None:
        self.assertTrue(self.keepAlive(b"HTTP/1.0", b"Connection: Keep-Alive"))

    def test_http10KeepAliveAndClose(self) -> None:
        self.assertFalse(self.keepAlive(b"HTTP/1.0", b"Connection: keep-alive, close"))

    def test_expectContinue(self) -> None:
        request = self.one(post(extra=[b"Expect: 100-Continue"]))
        self.assertTrue(request.head.expectContinue)

    def test_expectContinueIgnoredInHTTP10(self) -> None:
        request = self.one(post(version=b"HTTP/1.0", extra=[b"Expect: 100-continue"]))
        self.assertFalse(request.head.expectContinue)

    def test_otherExpectationIgnored(self) -> None:
        request = self.one(post(extra=[b"Expect: something-else"]))
        self.assertFalse(request.head.expectContinue)


class ParseErrorTests(SynchronousTestCase):
    def test_equality(self) -> None:
        self.assertEqual(ParseError(400, "a"), ParseError(400, "a"))
        self.assertNotEqual(ParseError(400, "a"), ParseError(413, "a"))
        self.assertNotEqual(ParseError(400, "a"), (400, "a"))
        self.assertEqual(len({ParseError(400, "a"), ParseError(400, "a")}), 1)
        self.assertEqual(repr(ParseError(413, "big")), "ParseError(413, 'big')")


class ResponseTests(SynchronousTestCase):
    def test_contentLengthAlways(self) -> None:
        self.assertEqual(
            response(200, None, [(b"Content-Type", b"application/ipp")], b"abc"),
            b"HTTP/1.1 200 OK\r\nContent-Type: application/ipp\r\n"
            b"Content-Length: 3\r\n\r\nabc",
        )

    def test_emptyBody(self) -> None:
        self.assertEqual(
            response(404), b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
        )

    def test_close(self) -> None:
        self.assertEqual(
            response(400, b"Nope", body=b"x", close=True),
            b"HTTP/1.1 400 Nope\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx",
        )

    def test_unknownStatusReason(self) -> None:
        self.assertTrue(response(299).startswith(b"HTTP/1.1 299 Unknown\r\n"))

    def test_noBodyStatusesRefused(self) -> None:
        for status in [100, 101, 204, 304, 600, 99]:
            self.assertRaises(ValueError, response, status)

    def test_continue(self) -> None:
        self.assertEqual(CONTINUE, b"HTTP/1.1 100 Continue\r\n\r\n")


# -- properties ---------------------------------------------------------------------

TOKEN_CHARS = (
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
RESERVED = {b"host", b"content-length", b"transfer-encoding", b"connection", b"expect"}

tokens = st.text(st.sampled_from(TOKEN_CHARS), min_size=1, max_size=12).map(
    lambda s: s.encode("ascii")
)
methods = st.one_of(st.sampled_from([b"POST", b"GET", b"PUT", b"OPTIONS"]), tokens)
targets = st.one_of(
    st.just(b"/notify"),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=30).map(
        lambda s: b"/" + s.encode("ascii")
    ),
)
fieldChars = st.sampled_from(
    [bytes([c]) for c in [*range(0x21, 0x7F), *range(0x80, 0x100)]]
)
fieldWords = st.lists(fieldChars, min_size=1, max_size=8).map(b"".join)
whitespace = st.sampled_from([b"", b" ", b"\t", b"  "])


@st.composite
def fieldValues(draw: Any) -> Tuple[bytes, bytes]:
    """
    @return: a field value as sent (with optional whitespace around and
        inside) and as it reads.
    """
    words = draw(st.lists(fieldWords, max_size=4))
    separators = [draw(st.sampled_from([b" ", b"\t", b" \t "])) for _ in words[1:]]
    value = words[0] if words else b""
    for separator, word in zip(separators, words[1:]):
        value += separator + word
    return draw(whitespace) + value + draw(whitespace), value


@st.composite
def requests(
    draw: Any,
) -> Tuple[bytes, Tuple[bytes, bytes, List[Tuple[bytes, bytes]], bytes]]:
    """
    @return: the octets of a valid HTTP/1.1 keep-alive request, and what it
        reads as: method, target, headers, body.
    """
    method = draw(methods)
    target = draw(targets)
    body = draw(st.binary(max_size=300))
    fields: List[Tuple[bytes, bytes, bytes]] = [
        (b"Host", b"host.example", b"host.example")
    ]
    for _ in range(draw(st.integers(0, 6))):
        name = draw(tokens)
        assume(name.lower() not in RESERVED)
        sent, value = draw(fieldValues())
        fields.append((name, sent, value))
    useChunked = draw(st.booleans())
    if useChunked:
        fields.append((b"Transfer-Encoding", b"chunked", b"chunked"))
        cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=5)))
        pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)]) if b > a]
        payload = b"".join(
            b"%s%s\r\n%s\r\n"
            % (
                draw(st.sampled_from([b"%x", b"%X", b"%04x"])) % (len(p),),
                draw(st.sampled_from([b"", b";ext", b";a=b"])),
                p,
            )
            for p in pieces
        )
        payload += b"0\r\n\r\n"
    else:
        fields.append((b"Content-Length", b"%d" % (len(body),), b"%d" % (len(body),)))
        payload = body
    order = draw(st.permutations(range(len(fields))))
    fields = [fields[i] for i in order]
    octets = b"%s %s HTTP/1.1\r\n" % (method, target)
    octets += b"".join(b"%s:%s\r\n" % (name, sent) for name, sent, _ in fields)
    octets += b"\r\n" + payload
    headers = [(name.lower(), value) for name, _, value in fields]
    return octets, (method, target, headers, body)


def cut(data: bytes, cuts: Sequence[int]) -> List[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces = [data[a:b] for a, b in zip([0, *points], [*points, len(data)])]
    # h11 takes an empty piece for the end of the connection.
    return [piece for piece in pieces if piece]


def parseAll(pieces: Sequence[bytes], **kwargs: Any) -> List[Event]:
    parser = RequestParser(**kwargs)
    events: List[Event] = []
    for piece in pieces:
        events.extend(parser.feed(piece))
    return events


def h11Requests(
    pieces: Sequence[bytes],
) -> List[Tuple[bytes, bytes, List[Tuple[bytes, bytes]], bytes]]:
    """
    What h11, as a server, reads from the pieces (answering each request so
    that it reads the next), up to the first error, if any.
    """
    connection = h11.Connection(h11.SERVER)
    found: List[Tuple[bytes, bytes, List[Tuple[bytes, bytes]], bytes]] = []
    body: List[bytes] = []
    current: Any = None
    try:
        for piece in pieces:
            connection.receive_data(piece)
            while True:
                event = connection.next_event()
                if event is h11.NEED_DATA:
                    break
                if event is h11.PAUSED:
                    connection.start_next_cycle()
                    continue
                if isinstance(event, h11.Request):
                    current, body = event, []
                elif isinstance(event, h11.Data):
                    body.append(event.data)
                elif isinstance(event, h11.EndOfMessage):
                    found.append(
                        (
                            current.method,
                            current.target,
                            list(current.headers),
                            b"".join(body),
                        )
                    )
                    connection.send(
                        h11.Response(status_code=200, headers=[("Content-Length", "0")])
                    )
                    connection.send(h11.EndOfMessage())
                    connection.start_next_cycle()
    except h11.RemoteProtocolError:
        pass
    return found


def ours(
    events: Sequence[Event],
) -> List[Tuple[bytes, bytes, List[Tuple[bytes, bytes]], bytes]]:
    return [
        (e.head.method, e.head.target, e.head.headers, e.body)
        for e in events
        if isinstance(e, Request)
    ]


class OracleTests(SynchronousTestCase):
    """
    On valid requests the parser reads exactly what h11 reads.
    """

    @settings(
        deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(
        st.lists(requests(), min_size=1, max_size=4),
        st.lists(st.integers(0, 10**6), max_size=8),
    )
    def test_sameAsH11(self, sequence: Any, cuts: List[int]) -> None:
        data = b"".join(octets for octets, _ in sequence)
        pieces = cut(data, cuts)
        events = parseAll(pieces, maxBodyBytes=10**6)
        self.assertFalse([e for e in events if isinstance(e, ParseError)], events)
        expected = [meaning for _, meaning in sequence]
        self.assertEqual(ours(events), expected)
        self.assertEqual(h11Requests(pieces), expected)
        self.assertTrue(
            all(e.head.version == b"1.1" for e in events if isinstance(e, Request))
        )

    @settings(
        deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(requests(), st.lists(st.integers(0, 10**6), max_size=4))
    def test_eachRequestOnce(self, request: Any, cuts: List[int]) -> None:
        """
        However it is cut, a request gives at most one L{RequestHead} and
        exactly one L{Request}, in that order.
        """
        octets, _ = request
        events = parseAll(cut(octets, cuts), maxBodyBytes=10**6)
        kinds = [type(e) for e in events]
        self.assertIn(kinds, [[Request], [RequestHead, Request]])


def mutate(data: bytes, rng: random.Random) -> bytes:
    mutable = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        operation = rng.randrange(4)
        index = rng.randrange(len(mutable) + 1)
        if operation == 0 and mutable:
            del mutable[min(index, len(mutable) - 1)]
        elif operation == 1:
            mutable.insert(index, rng.choice(b"\r\n \t:;,0aZ\x00\x7f\xff"))
        elif operation == 2 and mutable:
            mutable[min(index, len(mutable) - 1)] = rng.randrange(256)
        else:
            mutable[index:index] = mutable[index : index + rng.randint(1, 20)]
    return bytes(mutable)


class GarbageTests(SynchronousTestCase):
    """
    Whatever the octets, the parser returns events, never raises; a
    L{ParseError} is the last event and has an error status.
    """

    def check(self, pieces: Sequence[bytes]) -> List[Event]:
        events = parseAll(pieces, maxBodyBytes=2000, maxHeaderBytes=2000)
        for event in events[:-1]:
            self.assertNotIsInstance(event, ParseError)
        for event in events:
            self.assertIsInstance(event, (RequestHead, Request, ParseError))
            if isinstance(event, ParseError):
                self.assertIn(event.status, (400, 413, 431, 501, 505))
        return events

    @settings(deadline=None, max_examples=500)
    @given(st.binary(max_size=400), st.lists(st.integers(0, 400), max_size=6))
    def test_randomOctets(self, data: bytes, cuts: List[int]) -> None:
        self.check(cut(data, cuts))

    @settings(
        deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(
        st.lists(requests(), min_size=1, max_size=3),
        st.integers(0, 2**32),
        st.lists(st.integers(0, 10**6), max_size=6),
    )
    def test_mutatedRequests(self, sequence: Any, seed: int, cuts: List[int]) -> None:
        """
        Mutated valid requests: no exception; and whatever the parser accepts,
        h11 reads the same way (the parser is the stricter of the two, so it
        never reads a request differently from another strict reader: no
        smuggling between them).
        """
        data = mutate(b"".join(octets for octets, _ in sequence), random.Random(seed))
        pieces = cut(data, cuts)
        events = self.check(pieces)
        accepted = ours(events)
        if events and isinstance(events[-1], ParseError):
            return
        if accepted and not data.startswith((b"\r", b"\n")):
            theirs = h11Requests([data])
            self.assertEqual(theirs[: len(accepted)], accepted)
