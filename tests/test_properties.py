"""
Properties of the IPP codec: any valid message survives encode then decode; mutated
captures (a bounded, seeded mutation fuzz in the manner of CUPS's fuzzipp) only ever
raise L{IppDecodeError}, and what they decode to re-encodes; the fast path agrees
with the careful decoder; L{MessageStream} splits a stream however it is cut.
"""

from __future__ import annotations

import importlib
import random
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from ipp_ntfy.ipp import (
    DEFAULT_LIMITS,
    Attribute,
    Collection,
    DateTime,
    Group,
    IppDecodeError,
    Message,
    MessageStream,
    OutOfBand,
    Range,
    Resolution,
    TextWithLanguage,
    Unknown,
    decode,
    decodePrefix,
    encode,
)

decodeModule = importlib.import_module("ipp_ntfy.ipp.decode")
encodeModule = importlib.import_module("ipp_ntfy.ipp.encode")

VECTORS = Path(__file__).parent / "vectors"
STREAM = VECTORS / "cups-2.4.2-notifier-stdin-stream.bin"

# Value tags the decoder turns into something else than Unknown, or refuses.
INTERPRETED = (
    set(range(0x10, 0x20))
    | {0x21, 0x22, 0x23}
    | set(range(0x30, 0x38))
    | {0x41, 0x42, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A}
    | {0x7F}
)
UNKNOWN_TAGS = sorted(set(range(0x20, 0x100)) - INTERPRETED)
STRING_TAGS = [0x41, 0x42, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49]
GROUP_TAGS = [tag for tag in range(0x01, 0x10) if tag != 0x03]


# -- strategies ------------------------------------------------------------------

int32 = st.integers(-(2**31), 2**31 - 1)
octet = st.integers(0, 255)
text = st.text(st.characters(codec="utf-8"), max_size=12)
names = st.text(st.characters(max_codepoint=127), min_size=1, max_size=12)

dateTimes = st.builds(
    DateTime,
    st.integers(0, 0xFFFF),
    octet,
    octet,
    octet,
    octet,
    octet,
    octet,
    st.sampled_from("+-"),
    octet,
    octet,
)


def tagged(tags, values):
    """
    C{(tag, value)} pairs, the tag drawn from C{tags}.
    """
    return st.tuples(st.sampled_from(tags), values)


def selfTagged(tags, make, data):
    """
    C{(tag, make(tag, data))} pairs, for values that carry their own tag.
    """
    return st.sampled_from(tags).flatmap(
        lambda tag: st.tuples(st.just(tag), data.map(lambda d: make(tag, d)))
    )


scalars = st.one_of(
    tagged([0x21, 0x23], int32),
    tagged([0x22], st.booleans()),
    tagged([0x30], st.binary(max_size=12)),
    tagged([0x31], dateTimes),
    tagged([0x32], st.builds(Resolution, int32, int32, st.integers(-128, 127))),
    tagged([0x33], st.builds(Range, int32, int32)),
    tagged([0x35, 0x36], st.builds(TextWithLanguage, text, text)),
    tagged(STRING_TAGS, text),
    selfTagged(
        list(range(0x10, 0x20)),
        OutOfBand,
        st.one_of(st.just(b""), st.binary(max_size=3)),
    ),
    selfTagged(UNKNOWN_TAGS, Unknown, st.binary(max_size=8)),
    tagged(
        [0x7F],
        st.builds(
            lambda tag, rest: Unknown(0x7F, tag.to_bytes(4, "big") + rest),
            st.integers(0, 2**31 - 1),
            st.binary(max_size=4),
        ),
    ),
)


def attribute(pairs):
    name, values = pairs
    return Attribute(name, tuple(v for _, v in values), tuple(t for t, _ in values))


def attributes(depth):
    """
    Attributes whose values may be collections nested C{3 - depth} deep.
    """
    return st.tuples(names, st.lists(taggedValues(depth), min_size=1, max_size=3)).map(
        attribute
    )


def taggedValues(depth):
    if depth >= 3:
        return scalars
    collections = st.lists(attributes(depth + 1), max_size=3).map(Collection)
    return st.one_of(scalars, st.tuples(st.just(0x34), collections))


groups = st.builds(
    Group,
    st.sampled_from(GROUP_TAGS),
    st.lists(attributes(0), max_size=4, unique_by=lambda a: a.name),
)

messages = st.builds(
    Message,
    st.tuples(octet, octet),
    st.integers(0, 0xFFFF),
    int32,
    st.lists(groups, max_size=5),
    st.one_of(st.just(b""), st.binary(max_size=12)),
)


# -- helpers ---------------------------------------------------------------------


def carefulPrefix(data):
    return decodeModule._Decoder(bytes(data), DEFAULT_LIMITS, False).message()


def outcome(function, data):
    try:
        return function(data)
    except IppDecodeError as e:
        return ("error", e.offset, e.reason, e.incomplete)


def vectors():
    return [path.read_bytes() for path in sorted(VECTORS.glob("*.ipp"))]


def layout(data):
    """
    The offsets of the value tags and of the name-length and value-length fields
    of a valid message, for mutations that hit them.
    """
    tags, lengths = [], []
    pos = 8
    while data[pos] != 0x03:
        if data[pos] < 0x10:
            tags.append(pos)
            pos += 1
            continue
        tags.append(pos)
        lengths.append(pos + 1)
        valueAt = pos + 3 + int.from_bytes(data[pos + 1 : pos + 3], "big")
        lengths.append(valueAt)
        pos = valueAt + 2 + int.from_bytes(data[valueAt : valueAt + 2], "big")
    return tags, lengths


INTERESTING_TAGS = [
    *range(0x00, 0x11),
    0x13,
    0x21,
    0x22,
    0x23,
    0x30,
    0x31,
    0x32,
    0x33,
    0x34,
    0x35,
    0x36,
    0x37,
    0x41,
    0x44,
    0x4A,
    0x7F,
    0x80,
    0xFF,
]


def mutate(rng, data, tags, lengths):
    """
    One to three random edits of C{data}: bit flips, byte overwrites (often of a
    tag), inserts, deletes, truncations, tweaks of a length field, copies of a
    slice.
    """
    data = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        n = len(data)
        kind = rng.randrange(8)
        if kind == 0 and n:
            data[rng.randrange(n)] ^= 1 << rng.randrange(8)
        elif kind == 1 and n:
            data[rng.randrange(n)] = rng.randrange(256)
        elif kind == 2 and tags:
            at = rng.choice(tags)
            if at < n:
                data[at] = rng.choice(INTERESTING_TAGS)
        elif kind == 3:
            at = rng.randrange(n + 1)
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 6)))
        elif kind == 4 and n:
            at = rng.randrange(n)
            del data[at : at + rng.randint(1, 6)]
        elif kind == 5:
            del data[rng.randrange(n + 1) :]
        elif kind == 6 and lengths:
            at = rng.choice(lengths)
            if at + 2 <= n:
                old = int.from_bytes(data[at : at + 2], "big")
                new = rng.choice(
                    (old + 1, old - 1, old + 2, old - 4, 0, 0x7FFF, 0x8000, 0xFFFF)
                )
                data[at : at + 2] = (new & 0xFFFF).to_bytes(2, "big")
        elif n > 8:
            start = rng.randrange(8, n)
            piece = data[start : start + rng.randint(1, 40)]
            at = rng.randrange(8, n + 1)
            data[at:at] = piece
    return bytes(data)


# -- tests -----------------------------------------------------------------------


class RoundTripTests(SynchronousTestCase):
    """
    Any valid message encodes, and decodes back to itself.
    """

    @settings(
        deadline=None,
        max_examples=300,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(messages)
    def test_roundTrip(self, message):
        data = encode(message)
        decoded = decode(data)
        self.assertEqual(decoded, message)
        self.assertEqual(encode(decoded), data)
        self.assertEqual(decode(data, lenient=True), message)
        self.assertEqual(encode(message, lenient=True), data)
        careful = carefulPrefix(data)
        self.assertEqual(decodePrefix(data), careful)
        # The fast path takes any valid message by itself.
        self.assertEqual(decodeModule._fastDecode(data), careful)
        # And so does the encoder's, to the octets of the careful one.
        self.assertEqual(encodeModule._fastEncode(message, DEFAULT_LIMITS), data)
        self.assertEqual(
            encodeModule._Encoder(DEFAULT_LIMITS, False).message(message), data
        )
        self.assertEqual(encodeModule._fastEncode(decoded, DEFAULT_LIMITS), data)
        self.assertEqual(decode(bytearray(data)), message)

    @settings(deadline=None, max_examples=100)
    @given(messages, st.data())
    def test_truncatedIsIncomplete(self, message, data):
        """
        Any proper prefix of an encoded message (without document data) is an
        incomplete message, on both paths.
        """
        octets = encode(message.replace(data=b""))
        cut = data.draw(st.integers(0, len(octets) - 1))
        e = self.assertRaises(IppDecodeError, decode, octets[:cut])
        self.assertTrue(e.incomplete, e)
        self.assertEqual(
            outcome(decodePrefix, octets[:cut]), outcome(carefulPrefix, octets[:cut])
        )


class MutationFuzzTests(SynchronousTestCase):
    """
    A bounded, seeded mutation fuzz of the captured messages.
    """

    mutants = 20000
    seed = 8010

    def check(self, data):
        """
        Whatever C{data} is, decoding it raises nothing but L{IppDecodeError}; the
        fast path and the careful decoder agree; a strict decode re-encodes and
        decodes back equal; a lenient decode re-encodes to C{data} itself.
        """
        careful = outcome(carefulPrefix, data)
        self.assertEqual(outcome(decodePrefix, data), careful)
        try:
            fast = decodeModule._fastDecode(data)
        except Exception:
            pass
        else:
            self.assertEqual(fast, careful)
        lenient = outcome(lambda d: decode(d, lenient=True), data)
        if not isinstance(careful, tuple) or careful[0] != "error":
            strict = decode(data)
            again = encode(strict)
            self.assertEqual(decode(again), strict)
            self.assertEqual(encode(decode(again)), again)
            self.assertEqual(lenient, strict)
        if isinstance(lenient, Message):
            self.assertEqual(encode(lenient, lenient=True), data)
            return True
        return False

    def test_mutants(self):
        rng = random.Random(self.seed)
        originals = [(data, *layout(data)) for data in vectors()]
        self.assertTrue(originals)
        decoded = 0
        for i in range(self.mutants):
            data, tags, lengths = rng.choice(originals)
            mutant = mutate(rng, data, tags, lengths)
            try:
                decoded += self.check(mutant)
            except BaseException:
                print(f"mutant {i}: {mutant.hex()}")
                raise
        # The fuzz is only worth something if mutants get past the first error.
        self.assertGreater(decoded, self.mutants // 10)

    def test_vectors(self):
        """
        The unmutated captures pass the same checks.
        """
        for data in vectors():
            self.assertTrue(self.check(data))


class MessageStreamTests(SynchronousTestCase):
    """
    L{MessageStream} gives the messages of a stream however its reads are cut.
    """

    stream = STREAM.read_bytes() if STREAM.exists() else b""

    def setUp(self):
        if not self.stream:
            raise self.skipTest(f"{STREAM.name} is missing")

    def separately(self, data):
        """
        The messages of C{data} decoded one after the other with L{decodePrefix},
        up to the first that does not decode.
        """
        found = []
        pos = 0
        while pos < len(data):
            try:
                message, end = decodePrefix(data[pos:])
            except IppDecodeError:
                break
            found.append(message)
            pos += end
        return found, pos == len(data)

    def feed(self, data, cuts):
        """
        Feed C{data} cut at C{cuts}; return the messages and the error, if any.
        """
        stream = MessageStream()
        found = []
        points = sorted(set(cuts) | {0, len(data)})
        try:
            for start, end in zip(points, points[1:]):
                found.extend(stream.feed(data[start:end]))
            stream.close()
        except IppDecodeError as e:
            # A stream error is final.
            again = self.assertRaises(IppDecodeError, stream.feed, b"\x03")
            self.assertEqual((again.offset, again.reason), (e.offset, e.reason))
            return found, e
        self.assertEqual(stream.pending, 0)
        return found, None

    def test_wholeStream(self):
        expected, whole = self.separately(self.stream)
        self.assertTrue(whole)
        self.assertEqual(len(expected), 17)
        self.assertEqual(
            [m.groups[0].value("notify-sequence-number") for m in expected],
            list(range(1, 18)),
        )
        self.assertEqual(self.feed(self.stream, []), (expected, None))

    def test_oneOctetAtATime(self):
        expected, _ = self.separately(self.stream)
        self.assertEqual(
            self.feed(self.stream, range(len(self.stream))), (expected, None)
        )

    @settings(deadline=None, max_examples=150)
    @given(st.lists(st.integers(0, 8384), max_size=60))
    def test_randomReads(self, cuts):
        expected, _ = self.separately(self.stream)
        self.assertEqual(self.feed(self.stream, cuts), (expected, None))

    @settings(deadline=None, max_examples=300)
    @given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=10))
    def test_garbage(self, garbage, cuts):
        """
        Random octets give messages or an L{IppDecodeError}, nothing else.
        """
        found, error = self.feed(garbage, [c for c in cuts if c <= len(garbage)])
        expected, whole = self.separately(garbage)
        self.assertEqual(found, expected[: len(found)])

    @settings(deadline=None, max_examples=300)
    @given(
        st.randoms(use_true_random=False), st.lists(st.integers(0, 9000), max_size=20)
    )
    def test_mutatedStream(self, rng, cuts):
        """
        A mutated stream gives, until its first error, the messages that decoding
        it message by message gives.
        """
        mutant = mutate(rng, self.stream, [], [])
        found, error = self.feed(mutant, [c for c in cuts if c <= len(mutant)])
        expected, whole = self.separately(mutant)
        self.assertEqual(found, expected[: len(found)])
        if error is None:
            self.assertEqual(found, expected)
            self.assertTrue(whole)
