"""
Every captured message from CUPS, ippserver, ippeveprinter and ipptool decodes and
re-encodes to identical bytes; the notifier stream splits into its messages.
"""

from __future__ import annotations

import hashlib

from twisted.trial.unittest import SynchronousTestCase

from ipp_ntfy.ipp import (
    GroupTag,
    IppDecodeError,
    MessageStream,
    decode,
    encode,
    messageLength,
)

from .vectors import PRINT_JOB_DOCUMENT_BYTES, VECTORS, vector, vectorNames

STREAM = "cups-2.4.2-notifier-stdin-stream.bin"

# From the vectors README: the size of each of the 17 messages in the stream, and
# the event each one reports.
STREAM_SIZES = [439, 552, 442, 446, 548, 557, 440, 446, 556, 565, 440, 432, 544, 446]
STREAM_SIZES += [541, 550, 440]
STREAM_EVENTS = [
    "printer-stopped",
    "job-created",
    "printer-state-changed",
    "printer-state-changed",
    "job-state-changed",
    "job-completed",
    "printer-state-changed",
    "printer-state-changed",
    "job-state-changed",
    "job-completed",
    "printer-state-changed",
    "printer-modified",
    "job-created",
    "printer-state-changed",
    "job-state-changed",
    "job-completed",
    "printer-state-changed",
]


class VectorFilesTests(SynchronousTestCase):
    """
    The copies in tests/vectors are the captured files, unchanged.
    """

    def test_checksums(self) -> None:
        """
        Every file listed in SHA256SUMS is present with that checksum.
        """
        listed = 0
        for line in (VECTORS / "SHA256SUMS").read_text().splitlines():
            digest, name = line.split(maxsplit=1)
            name = name.lstrip("*")
            data = (VECTORS / name).read_bytes()
            self.assertEqual(hashlib.sha256(data).hexdigest(), digest, name)
            listed += 1
        self.assertEqual(listed, len(vectorNames()) + 1)


class RoundTripTests(SynchronousTestCase):
    """
    decode then encode gives back the captured octets, for every vector.
    """

    def test_everyVectorRoundTrips(self) -> None:
        names = vectorNames()
        self.assertEqual(len(names), 29)
        for name in names:
            data = vector(name)
            message = decode(data)
            self.assertEqual(encode(message), data, name)
            self.assertEqual(decode(encode(message)), message, name)

    def test_everyVectorRoundTripsLenient(self) -> None:
        """
        The lenient decoder reads the same messages to the same result.
        """
        for name in vectorNames():
            data = vector(name)
            self.assertEqual(decode(data, lenient=True), decode(data), name)

    def test_printJobDocumentData(self) -> None:
        """
        The octets after the end-of-attributes tag of a Print-Job request are its
        document data, kept in Message.data and written back by encode.
        """
        data = vector("ipptool-2.4.2-print-job-with-subscription-request.ipp")
        message = decode(data)
        self.assertEqual(len(message.data), PRINT_JOB_DOCUMENT_BYTES)
        self.assertEqual(message.data, data[-PRINT_JOB_DOCUMENT_BYTES:])
        self.assertEqual(message.operationId, 0x0002)
        self.assertEqual(
            message.group(GroupTag.SUBSCRIPTION).value("notify-pull-method"),  # type: ignore[union-attr]
            "ippget",
        )

    def test_getNotificationsGroups(self) -> None:
        """
        A Get-Notifications response keeps its repeated 0x07 groups in order.
        """
        message = decode(vector("cups-2.4.2-get-notifications-response.ipp"))
        self.assertEqual(message.version, (2, 0))
        self.assertEqual(message.statusCode, 0)
        events = message.groupsOf(GroupTag.EVENT_NOTIFICATION)
        self.assertEqual(len(events), 18)
        self.assertEqual([g.tag for g in message.groups], [1] + [7] * 18)
        sequence = [g.value("notify-sequence-number") for g in events]
        self.assertEqual(sequence, sorted(sequence))
        self.assertEqual(message.operation.value("notify-get-interval"), 60)


class StreamTests(SynchronousTestCase):
    """
    The notifier stream (messages back to back, no separator) splits into its 17
    messages however it is cut.
    """

    def setUp(self) -> None:
        self.data = vector(STREAM)

    def assertSplit(self, chunkSize: int) -> None:
        stream = MessageStream()
        messages = []
        for start in range(0, len(self.data), chunkSize):
            messages.extend(stream.feed(self.data[start : start + chunkSize]))
        stream.close()
        self.assertEqual(len(messages), 17)
        self.assertEqual(
            [m.groups[0].value("notify-subscribed-event") for m in messages],
            STREAM_EVENTS,
        )
        self.assertEqual(b"".join(encode(m) for m in messages), self.data)
        self.assertEqual([len(encode(m)) for m in messages], STREAM_SIZES)

    def test_whole(self) -> None:
        self.assertSplit(len(self.data))

    def test_oneByteAtATime(self) -> None:
        self.assertSplit(1)

    def test_oddChunks(self) -> None:
        for size in (2, 7, 100, 439, 440, 4096):
            self.assertSplit(size)

    def test_messageLength(self) -> None:
        """
        messageLength finds each message's end from tags and lengths alone.
        """
        offsets = []
        start = 0
        while start < len(self.data):
            end = messageLength(self.data, start)
            assert end is not None
            offsets.append(end - start)
            start = end
        self.assertEqual(offsets, STREAM_SIZES)
        self.assertIsNone(messageLength(self.data[:438]))

    def test_singleEventFilesMatchStream(self) -> None:
        """
        The single-event vectors are the first printer-stopped and job-completed
        messages of the stream.
        """
        stream = MessageStream()
        messages = stream.feed(self.data)
        self.assertEqual(
            messages[0], decode(vector("cups-2.4.2-notifier-event-printer-stopped.ipp"))
        )
        self.assertEqual(
            messages[5], decode(vector("cups-2.4.2-notifier-event-job-completed.ipp"))
        )

    def test_pendingAndClose(self) -> None:
        """
        Octets of an incomplete message wait in the buffer; closing the stream
        there is an error at the stream offset where the data stopped.
        """
        stream = MessageStream()
        self.assertEqual(len(stream.feed(self.data[:500])), 1)
        self.assertEqual(stream.pending, 500 - STREAM_SIZES[0])
        self.assertEqual(stream.offset, STREAM_SIZES[0])
        error = self.assertRaises(IppDecodeError, stream.close)
        self.assertTrue(error.incomplete)
        self.assertEqual(error.offset, 500)

    def test_errorOffsetCountsFromStreamStart(self) -> None:
        """
        A fault in the second message is reported at its offset in the stream, and
        the stream stays failed.
        """
        broken = bytearray(self.data)
        # The second message's first attribute tag becomes memberAttrName.
        broken[STREAM_SIZES[0] + 9] = 0x4A
        stream = MessageStream()
        error = self.assertRaises(IppDecodeError, stream.feed, bytes(broken))
        self.assertEqual(error.offset, STREAM_SIZES[0] + 9)
        self.assertIn("memberAttrName", error.reason)
        self.assertRaises(IppDecodeError, stream.feed, b"")
