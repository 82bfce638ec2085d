"""
Mutation fuzzer for ipp_ntfy's codec.

    python3 bench/fuzz.py [-n 1000000] [--seed S] [--jobs 2] [--stream 5000]

Mutates the captured vectors (tests/vectors) and a few synthetic messages: bit flips,
bytes overwritten with interesting values, inserts, deletes, truncation, name- and
value-length tweaks (+-1, 0, 0x7fff, 0x8000, 0xffff), splicing two messages,
duplicating a field, and (rarely) names and values grown to the 32767-octet limit or
an attribute repeated past the 65536-value limit.  Each mutant is decoded in strict
and in lenient mode; IppDecodeError is a rejection, anything else is UNEXPECTED, and
so is any broken promise of the codec:

  * strict decode: decode(encode(m)) == m, and the careful decoder (_Decoder) agrees
    with the fast path on what it accepted;
  * lenient decode: it accepts whatever strict accepts, with the same result, and
    encode(m, lenient=True) gives back the mutant byte for byte.

Mutants are also fed to MessageStream in random chunk sizes (between two valid
messages): it may raise nothing but IppDecodeError, and it must agree with decode().

The run is deterministic for a seed, whatever --jobs is.  Exit status 1 if anything
unexpected happened; the first mutant of each kind of failure is minimised and saved
under --save (default bench/build/fuzz-failures/).
"""

from __future__ import annotations

import argparse
import importlib
import multiprocessing
import os
import random
import sys
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VECTORS = ROOT / "tests" / "vectors"

# Fuzz the checkout this file is in, not whatever copy is installed.
sys.path.insert(0, str(ROOT))

from ipp_ntfy.ipp import (  # noqa: E402
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
    encode,
    messageLength,
)

_decodeModule = importlib.import_module("ipp_ntfy.ipp.decode")
#: The careful decoder, to check the fast path against (None if it has gone).
_CarefulDecoder: Optional[Any] = getattr(_decodeModule, "_Decoder", None)

CHUNK = 2000  # mutants per task
STREAM_CHUNK = 500
MAX_EXAMPLES = 3  # kept per kind of failure and per task

INTERESTING = (0x00, 0x03, 0x7F, 0x80, 0xFF)
# Tags worth writing over a tag: delimiters, out-of-band, every value family.
TAGS = (
    0x00, 0x01, 0x02, 0x03, 0x04, 0x07, 0x0F, 0x10, 0x13, 0x1F, 0x20, 0x21, 0x22,
    0x23, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x40, 0x41, 0x42, 0x44,
    0x45, 0x47, 0x48, 0x4A, 0x60, 0x7F, 0x80, 0xFF,
)  # fmt: skip
LENGTHS = (0, 0x7FFF, 0x8000, 0xFFFF)


# ---------------------------------------------------------------------------------
# Seeds.


def synthetic() -> List[bytes]:
    """
    Messages with the value syntaxes the captures lack: every value tag, nested
    collections, out-of-band values, the extension form, document data.
    """
    inner = Collection(
        [
            Attribute.integer("x-dimension", 21000),
            Attribute.integer("y-dimension", 29700),
        ]
    )
    outer = Collection(
        [
            Attribute.collection("media-size", inner),
            Attribute.keyword("media-type", "stationery", "photographic"),
            Attribute("media-info", (OutOfBand(0x13),), (0x13,)),
        ]
    )
    when = DateTime(2026, 11, 22, 22, 26, 33, 0, "+", 1, 0)
    deep: Collection = Collection([Attribute.integer("leaf", 1)])
    for level in range(9):
        deep = Collection([Attribute.collection(f"level-{level}", deep)])
    everything = Group(
        0x04,
        [
            Attribute.integer("printer-up-time", 12345, -1, 2**31 - 1),
            Attribute.boolean("color-supported", True, False),
            Attribute.enum("printer-state", 3),
            Attribute.octetString("notify-user-data", b"\x00\xffuser"),
            Attribute.of("printer-current-time", 0x31, when),
            Attribute.of("printer-resolution-default", 0x32, Resolution(600, 600, 3)),
            Attribute.of("copies-supported", 0x33, Range(1, 999)),
            Attribute.collection("media-col-default", outer),
            Attribute.collection("deep-col", deep),
            Attribute.of("printer-info", 0x35, TextWithLanguage("Imprimante", "fr")),
            Attribute.of("printer-name", 0x36, TextWithLanguage("Drucker", "de")),
            Attribute.text("printer-location", "Büro 2"),
            Attribute.nameValue("printer-make", "Acme"),
            Attribute("mixed", ("one", "two", OutOfBand(0x13)), (0x44, 0x42, 0x13)),
            Attribute.uri("printer-uri-supported", "ipp://h/p", "ipps://h/p"),
            Attribute.uriScheme("reference-uri-schemes-supported", "http"),
            Attribute.charset("charset-supported", "utf-8"),
            Attribute.naturalLanguage("natural-language-supported", "en"),
            Attribute.mimeMediaType("document-format-supported", "text/plain"),
            Attribute("ext", (Unknown(0x7F, b"\x00\x00\x10\x00data"),), (0x7F,)),
            Attribute(
                "reserved", (Unknown(0x43, b"raw"), Unknown(0x20, b"1")), (67, 32)
            ),
            Attribute("unsupported-thing", (OutOfBand(0x10),), (0x10,)),
        ],
    )
    operation = Group(
        0x01,
        [
            Attribute.charset("attributes-charset", "utf-8"),
            Attribute.naturalLanguage("attributes-natural-language", "en"),
        ],
    )
    return [
        encode(Message((2, 0), 0, 1, [operation, everything])),
        encode(Message((1, 1), 2, 7, [operation, Group(0x02, [])], data=b"%!PS\n")),
    ]


def loadSeeds() -> List[bytes]:
    seeds = [path.read_bytes() for path in sorted(VECTORS.glob("*.ipp"))]
    stream = (VECTORS / "cups-2.4.2-notifier-stdin-stream.bin").read_bytes()
    seeds.append(stream)
    start = 0
    while start < len(stream):
        end = messageLength(stream, start)
        assert end is not None
        seeds.append(stream[start:end])
        start = end
    seeds.extend(synthetic())
    return seeds


def seedWeights(seeds: Sequence[bytes]) -> List[float]:
    """
    Small messages are cheap and most of the corpus: draw large ones somewhat less
    often (weight proportional to size ** -0.25) so that they do not eat the run.
    """
    return [1.0 / max(64, len(seed)) ** 0.25 for seed in seeds]


# ---------------------------------------------------------------------------------
# Mutations.

Field = Tuple[int, int, int, int]  # start, name-length at, value-length at, end


def fields(data: bytes) -> Tuple[List[Field], List[int]]:
    """
    The fields (collection members included) and delimiter tags found walking
    C{data} from the header, up to the first thing that does not parse.
    """
    found: List[Field] = []
    delimiters: List[int] = []
    end = len(data)
    pos = 8
    while pos < end:
        tag = data[pos]
        if tag < 0x10:
            delimiters.append(pos)
            pos += 1
            if tag == 0x03:
                break
            continue
        if pos + 3 > end:
            break
        valueLengthAt = pos + 3 + ((data[pos + 1] << 8) | data[pos + 2])
        if valueLengthAt + 2 > end:
            break
        fieldEnd = (
            valueLengthAt + 2 + ((data[valueLengthAt] << 8) | data[valueLengthAt + 1])
        )
        if fieldEnd > end:
            break
        found.append((pos, pos + 1, valueLengthAt, fieldEnd))
        pos = fieldEnd
    return found, delimiters


def boundary(rng: random.Random, data: bytes) -> int:
    """
    A field or delimiter boundary of C{data} (or any offset if it has none).
    """
    found, delimiters = fields(data)
    points = [f[0] for f in found] + [f[3] for f in found] + delimiters
    return rng.choice(points) if points else rng.randrange(len(data) + 1)


def flipBits(rng: random.Random, data: bytearray, seeds: Sequence[bytes]) -> None:
    for _ in range(rng.randint(1, 4)):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)


def overwrite(rng: random.Random, data: bytearray, seeds: Sequence[bytes]) -> None:
    found, delimiters = fields(bytes(data))
    for _ in range(rng.randint(1, 2)):
        if found and rng.random() < 0.4:
            # A tag, with any tag.
            data[rng.choice(found)[0]] = rng.choice(TAGS)
        else:
            data[rng.randrange(len(data))] = rng.choice(INTERESTING)


def insert(rng: random.Random, data: bytearray, seeds: Sequence[bytes]) -> None:
    at = boundary(rng, bytes(data)) if rng.random() < 0.5 else rng.randrange(len(data))
    if rng.random() < 0.5:
        new = bytes(rng.choice(INTERESTING + TAGS) for _ in range(rng.randint(1, 8)))
    else:
        new = rng.randbytes(rng.randint(1, 8))
    data[at:at] = new


def delete(rng: random.Random, data: bytearray, seeds: Sequence[bytes]) -> None:
    found, _ = fields(bytes(data))
    if found and rng.random() < 0.3:
        start, _, _, end = rng.choice(found)
    else:
        start = rng.randrange(len(data))
        end = start + rng.randint(1, 16)
    del data[start:end]


def truncate(rng: random.Random, data: bytearray, seeds: Sequence[bytes]) -> None:
    if rng.random() < 0.5:
        at = max(0, boundary(rng, bytes(data)) + rng.randint(-3, 3))
    else:
        at = rng.randrange(len(data))
    del data[at:]


def tweakLength(rng: random.Random, data: bytearray, seeds: Sequence[bytes]) -> None:
    found, _ = fields(bytes(data))
    if not found:
        return flipBits(rng, data, seeds)
    _, nameAt, valueAt, _ = rng.choice(found)
    at = rng.choice((nameAt, valueAt))
    old = (data[at] << 8) | data[at + 1]
    new = rng.choice((old + 1, old - 1, old + rng.randint(2, 300)) + LENGTHS) & 0xFFFF
    data[at] = new >> 8
    data[at + 1] = new & 0xFF


def splice(rng: random.Random, data: bytearray, seeds: Sequence[bytes]) -> None:
    other = rng.choice(seeds)
    if rng.random() < 0.7:
        a = boundary(rng, bytes(data))
        b = boundary(rng, other)
    else:
        a = rng.randrange(len(data) + 1)
        b = rng.randrange(len(other) + 1)
    data[a:] = other[b:]


def duplicate(rng: random.Random, data: bytearray, seeds: Sequence[bytes]) -> None:
    found, _ = fields(bytes(data))
    if not found:
        return insert(rng, data, seeds)
    start, _, _, end = rng.choice(found)
    copy = bytes(data[start:end])
    at = end if rng.random() < 0.6 else boundary(rng, bytes(data))
    data[at:at] = copy


def inflate(rng: random.Random, data: bytearray, seeds: Sequence[bytes]) -> None:
    """
    Rare: a name or value grown to the 32767-octet limit, or just past it.
    """
    found, _ = fields(bytes(data))
    if not found:
        return
    start, nameAt, valueAt, end = rng.choice(found)
    size = rng.choice((32767, 32768, 40000, 65535))
    if rng.random() < 0.5:
        data[valueAt:end] = size.to_bytes(2, "big") + b"v" * size
    else:
        data[nameAt:valueAt] = size.to_bytes(2, "big") + b"n" * size


def repeat(rng: random.Random, data: bytearray, seeds: Sequence[bytes]) -> None:
    """
    Rare: a field repeated as additional values up to or past the 65536-value limit.
    """
    found, _ = fields(bytes(data))
    if not found:
        return
    start, nameAt, valueAt, end = rng.choice(found)
    extra = bytes((data[start], 0, 0)) + bytes(data[valueAt:end])
    data[end:end] = extra * rng.choice((65535, 65536, 65537))


MUTATIONS: Tuple[Callable[[random.Random, bytearray, Sequence[bytes]], None], ...] = (
    flipBits,
    overwrite,
    insert,
    delete,
    truncate,
    tweakLength,
    splice,
    duplicate,
    inflate,
    repeat,
)
WEIGHTS = (20, 20, 10, 10, 8, 20, 6, 8, 0.01, 0.002)


def mutant(
    rng: random.Random, seeds: Sequence[bytes], weights: Sequence[float]
) -> bytes:
    data = bytearray(rng.choices(seeds, weights)[0])
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
        if not data:
            break
        rng.choices(MUTATIONS, WEIGHTS)[0](rng, data, seeds)
    return bytes(data)


# ---------------------------------------------------------------------------------
# Checks.


class Failure(Exception):  # noqa: N818
    """
    A broken promise of the codec (not an exception it raised).
    """


def carefulDecode(data: bytes) -> Message:
    assert _CarefulDecoder is not None
    message, end = _CarefulDecoder(data, DEFAULT_LIMITS, False).message()
    if end != len(data):
        message = message.replace(data=data[end:])
    return message


def checkOne(data: bytes) -> Tuple[bool, bool, Optional[Tuple[str, str]]]:
    """
    Decode C{data} both ways and check every promise.

    @return: (strict decoded, lenient decoded, None or (kind of failure, detail)).
    """
    strict: Optional[Message] = None
    try:
        strict = decode(data)
    except IppDecodeError:
        pass
    except Exception as e:
        return False, False, (f"strict decode raised {type(e).__name__}", trace())
    if strict is not None:
        try:
            encoded = encode(strict)
        except Exception as e:
            return True, False, (f"strict: encode raised {type(e).__name__}", trace())
        try:
            again = decode(encoded)
        except Exception:
            return True, False, ("strict: decode(encode(m)) raised", trace())
        if again != strict:
            return True, False, ("strict: decode(encode(m)) != m", repr(again)[:300])
        if _CarefulDecoder is not None:
            try:
                careful = carefulDecode(data)
            except IppDecodeError as e:
                return (
                    True,
                    False,
                    ("strict: fast path accepts, careful rejects", str(e)),
                )
            if careful != strict:
                return True, False, ("strict: fast path and careful decoder differ", "")
    lenient: Optional[Message] = None
    try:
        lenient = decode(data, lenient=True)
    except IppDecodeError as e:
        if strict is not None:
            return True, False, ("lenient rejects what strict accepts", str(e))
    except Exception as e:
        return (
            strict is not None,
            False,
            (
                f"lenient decode raised {type(e).__name__}",
                trace(),
            ),
        )
    if lenient is None:
        return strict is not None, False, None
    if strict is not None and lenient != strict:
        return True, True, ("strict and lenient decodes differ", "")
    try:
        encoded = encode(lenient, lenient=True)
    except Exception as e:
        return (
            strict is not None,
            True,
            (
                f"lenient: encode(m, lenient=True) raised {type(e).__name__}",
                str(e)[:300],
            ),
        )
    if encoded != data:
        return (
            strict is not None,
            True,
            (
                "lenient: encode(m, lenient=True) != mutant",
                f"re-encoded: {encoded[:400].hex()}",
            ),
        )
    return strict is not None, True, None


def trace() -> str:
    return traceback.format_exc(limit=6)


def checkStream(
    rng: random.Random, data: bytes, before: bytes, after: bytes
) -> Optional[Tuple[str, str]]:
    """
    Feed C{before + data + after} to a MessageStream in random chunks.
    """
    lenient = rng.random() < 0.5
    try:
        alone: Optional[Message] = decode(data, lenient=lenient)
    except IppDecodeError:
        alone = None
    whole = before + data + after
    stream = MessageStream(lenient=lenient)
    got: List[Message] = []
    failed = False
    pos = 0
    try:
        while pos < len(whole):
            size = rng.choice((1, 2, 3, 7, 8, 9)) if rng.random() < 0.3 else 0
            size = size or rng.randint(1, rng.choice((16, 64, 512, 8192)))
            got.extend(stream.feed(whole[pos : pos + size]))
            pos += size
        stream.close()
    except IppDecodeError:
        failed = True
    except Exception as e:
        return f"stream raised {type(e).__name__}", trace()
    if failed:
        # A failure is final: the next call raises it again.
        for call in (lambda: stream.feed(b""), stream.close):
            try:
                call()
            except IppDecodeError:
                continue
            except Exception as e:
                return f"stream raised {type(e).__name__} after a failure", trace()
            return "stream forgot its failure", ""
    if alone is not None and not alone.data:
        if failed:
            return "stream rejects a message that decode() accepts", ""
        expected = [
            decode(part, lenient=lenient) for part in (before, data, after) if part
        ]
        if got != expected:
            return "stream gives other messages than decode()", ""
    if alone is None and not failed and not after and data:
        # (With a message after it, a truncated mutant can take its octets.)
        return "stream accepts a message that decode() rejects", ""
    return None


# ---------------------------------------------------------------------------------
# Workers.

_SEEDS: List[bytes] = []
_WEIGHTS: List[float] = []
_EVENTS: List[bytes] = []


def setUp() -> None:
    global _SEEDS, _WEIGHTS, _EVENTS
    _SEEDS = loadSeeds()
    _WEIGHTS = seedWeights(_SEEDS)
    _EVENTS = [s for s in _SEEDS if len(s) < 700 and s[8:9] == b"\x07"]


Example = Tuple[str, int, int, str, str]  # kind, task, index, mutant hex, detail


def runTask(task: Tuple[str, int, int, int]) -> Dict[str, Any]:
    mode, seed, index, count = task
    rng = random.Random(f"{mode}:{seed}:{index}")
    counts: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    examples: List[Example] = []
    slowest = (0.0, "")
    started = time.perf_counter()
    for i in range(count):
        data = mutant(rng, _SEEDS, _WEIGHTS)
        if mode == "stream":
            before = rng.choice(_EVENTS) if rng.random() < 0.7 else b""
            after = rng.choice(_EVENTS) if rng.random() < 0.7 else b""
            problem = checkStream(rng, data, before, after)
            counts["stream"] += 1
        else:
            t0 = time.perf_counter()
            strictOk, lenientOk, problem = checkOne(data)
            elapsed = time.perf_counter() - t0
            if elapsed > slowest[0]:
                slowest = (elapsed, f"{len(data)} bytes, {data[:40].hex()}...")
            counts["decoded" if strictOk else "rejected"] += 1
            counts["lenient decoded" if lenientOk else "lenient rejected"] += 1
        if problem is not None:
            kind, detail = problem
            failures[kind] += 1
            if failures[kind] <= MAX_EXAMPLES:
                examples.append((kind, index, i, data.hex(), detail))
    return {
        "counts": counts,
        "failures": failures,
        "examples": examples,
        "seconds": time.perf_counter() - started,
        "slowest": slowest,
        "mode": mode,
        "count": count,
    }


# ---------------------------------------------------------------------------------
# Minimising a failure for the report.


def kindOf(data: bytes, mode: str) -> Optional[str]:
    if mode == "stream":
        problem = checkStream(random.Random(0), data, b"", b"")
    else:
        problem = checkOne(data)[2]
    return problem[0] if problem else None


def minimise(data: bytes, kind: str, mode: str, budget: float = 20.0) -> bytes:
    """
    Greedily cut fields, then runs of bytes, out of C{data} while it fails the same
    way, for at most C{budget} seconds.
    """
    deadline = time.monotonic() + budget
    if kindOf(data, mode) != kind:
        return data

    def attempt(candidate: bytes) -> bool:
        return time.monotonic() < deadline and kindOf(candidate, mode) == kind

    changed = True
    while changed and time.monotonic() < deadline:
        changed = False
        found, _ = fields(data)
        for start, _, _, end in reversed(found):
            if attempt(data[:start] + data[end:]):
                data = data[:start] + data[end:]
                changed = True
                break
        size = max(1, len(data) // 8)
        while not changed and size >= 1 and time.monotonic() < deadline:
            for start in range(8, len(data), size):
                candidate = data[:start] + data[start + size :]
                if attempt(candidate):
                    data = candidate
                    changed = True
                    break
            size //= 2
    return data


# ---------------------------------------------------------------------------------
# Main.


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("-n", type=int, default=1_000_000, help="mutants (1000000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--stream", type=int, default=5000, help="mutants fed to MessageStream (5000)"
    )
    parser.add_argument(
        "--save",
        default=str(HERE / "build" / "fuzz-failures"),
        help="where to write failing mutants (bench/build/fuzz-failures)",
    )
    parser.add_argument("--show", type=int, default=5, help="failures to print (5)")
    args = parser.parse_args(argv)

    tasks: List[Tuple[str, int, int, int]] = []
    for index, start in enumerate(range(0, args.n, CHUNK)):
        tasks.append(("decode", args.seed, index, min(CHUNK, args.n - start)))
    for index, start in enumerate(range(0, args.stream, STREAM_CHUNK)):
        tasks.append(
            ("stream", args.seed, index, min(STREAM_CHUNK, args.stream - start))
        )

    setUp()
    print(
        f"fuzzing: {args.n} mutants of {len(_SEEDS)} seeds, seed {args.seed}, "
        f"{args.jobs} jobs; {args.stream} stream mutants",
        flush=True,
    )
    counts: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    examples: List[Tuple[str, Example]] = []
    slowest = (0.0, "")
    started = time.perf_counter()
    done = 0
    nextReport = 0.1
    context = multiprocessing.get_context("fork")
    with context.Pool(args.jobs, initializer=setUp) as pool:
        for result in pool.imap_unordered(runTask, tasks):
            counts.update(result["counts"])
            failures.update(result["failures"])
            examples.extend((result["mode"], e) for e in result["examples"])
            slowest = max(slowest, result["slowest"])
            if result["mode"] == "decode":
                done += result["count"]
                if args.n and done >= nextReport * args.n:
                    elapsed = time.perf_counter() - started
                    print(
                        f"  {done} mutants, {elapsed:.0f} s, {done / elapsed:.0f}/s, "
                        f"{sum(failures.values())} unexpected so far",
                        flush=True,
                    )
                    nextReport += 0.1
    elapsed = time.perf_counter() - started

    unexpected = sum(failures.values())
    print(
        f"throughput: {args.n / elapsed:.0f} mutants/s with {args.jobs} jobs "
        f"({elapsed:.0f} s in all, stream checks included)"
    )
    print(
        f"lenient mode: {counts['lenient decoded']} decoded, "
        f"{counts['lenient rejected']} rejected"
    )
    print(f"slowest single check: {slowest[0] * 1e3:.1f} ms ({slowest[1]})")
    print(f"stream: {counts['stream']} mutants fed in random chunks")
    if unexpected:
        print(f"\nUNEXPECTED, by kind ({unexpected} in all):")
        for kind, n in failures.most_common():
            print(f"  {n:8d}  {kind}")
        examples.sort(key=lambda e: (e[0], e[1][1], e[1][2]))
        save = Path(args.save)
        save.mkdir(parents=True, exist_ok=True)
        seen: Dict[str, int] = {}
        shown = 0
        for mode, (kind, task, i, hexData, detail) in examples:
            if kind in seen:
                continue
            data = bytes.fromhex(hexData)
            small = minimise(data, kind, mode)
            seen[kind] = len(seen)
            name = f"failure-{len(seen):02d}"
            (save / f"{name}.ipp").write_bytes(data)
            (save / f"{name}-min.ipp").write_bytes(small)
            report = (
                f"{kind}\n{mode} task {task} mutant {i} (seed {args.seed})\n"
                f"mutant: {hexData}\nminimised: {small.hex()}\n{detail}\n"
            )
            (save / f"{name}.txt").write_bytes(
                report.encode("utf-8", "backslashreplace")
            )
            if shown < args.show:
                shown += 1
                print(f"\n[{kind}] {mode} task {task} mutant {i}, {len(data)} bytes")
                print(f"  mutant:    {shorten(hexData)}")
                print(f"  minimised: {small.hex()} ({len(small)} bytes)")
                if detail:
                    text = detail.strip().replace("\n", "\n  ")
                    print("  " + text.encode("ascii", "backslashreplace").decode())
        print(f"\nmutants saved in {save}")
    decoded, rejected = counts["decoded"], counts["rejected"]
    print(
        f"{args.n} mutants: {decoded} decoded, {rejected} rejected, "
        f"{unexpected} unexpected"
    )
    return 1 if unexpected else 0


def shorten(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text) // 2} bytes)"


if __name__ == "__main__":
    raise SystemExit(main())
