"""
Codec benchmark: ipp_ntfy's decode and encode against libcups 2.x (ippReadIO and
ippWriteIO, timed in C through bench/cups_shim.c) and the pure-Python decoder of
aioipp / pyipp, side by side in one run.

    python3 bench/codec.py [--quick] [--clock wall|cpu] [--rounds N] [--variants N]
                           [--json FILE]

Messages (built from the captured vectors in tests/vectors, each in --variants
distinct variants, decoded in turn, so that nothing is timed on the very same bytes
over and over):

  a. Get-Notifications response, operation group + 50 event-notification groups.
  b. Get-Printer-Attributes response, the union of three captured printers' groups,
     media-col-database padded to about 20 KB.
  c. one CUPS event message (job-completed), as a notifier reads it on stdin.
  d. (extra) the CUPS Get-Printer-Attributes response as captured, the largest
     message of the set that aioipp's decoder can read.

ipp_ntfy's decoder keeps caches of what it has seen: whole fields (_FIELDS), runs of
known fields one after the other (_RUNS), whole groups of runs (_GROUPS), whole
collection values (_COLLECTIONS) and the attribute names of groups (_LAYOUTS).
"decode" is timed with them as a long-running client has them: the fields and
collection values that differ between variants (and every run that holds such a
field, and every whole group) are taken out of them before each pass over the
variants (outside the timed span), the ones that repeat stay.  "cold"
empties them before every message (all but the attribute-name cache, _NAMES).

Each round times every implementation on every message (one or more passes over all
variants, implementations in a shuffled order); the tables give the median and the
best of the rounds, in microseconds per message.  libcups is timed in C over the
same list of variants.  Garbage collection is off during the rounds, and the process
is pinned to one CPU where the OS allows it.
"""

from __future__ import annotations

import argparse
import base64
import ctypes
import datetime
import gc
import hashlib
import importlib
import importlib.metadata
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VECTORS = ROOT / "tests" / "vectors"
SHIM_LIBRARY = HERE / "build" / "libcupsshim.so"

# Benchmark the checkout this file is in, not whatever copy is installed.
sys.path.insert(0, str(ROOT))

from ipp_ntfy.ipp import (  # noqa: E402
    Attribute,
    Collection,
    DateTime,
    Group,
    Message,
    MessageStream,
    decode,
    encode,
)
from ipp_ntfy.ipp.values import Value  # noqa: E402

_decodeModule = importlib.import_module("ipp_ntfy.ipp.decode")
_encodeModule = importlib.import_module("ipp_ntfy.ipp.encode")
#: ipp_ntfy's cache of whole fields already decoded (None if the codec has none).
FIELDS: Optional[Dict[bytes, Any]] = getattr(_decodeModule, "_FIELDS", None)
#: The decoder's other caches, by name: emptied for "cold", pruned for "decode".
CACHE_NAMES = ("_FIELDS", "_RUNS", "_GROUPS", "_COLLECTIONS", "_LAYOUTS")

#: The clock of the Python timings: time.perf_counter (wall time, the default), or
#: time.thread_time with --clock cpu (the shim is switched to the matching C clock).
clock: Callable[[], float] = time.perf_counter
#: What one clock() - clock() pair costs, taken off each per-message timing.
clockOverhead = 0.0


def calibrateClock() -> float:
    """
    The median cost of reading the clock twice, as the per-message timings do.
    """
    samples = []
    for _ in range(2001):
        start = clock()
        samples.append(clock() - start)
    return statistics.median(samples)


# ---------------------------------------------------------------------------------
# The messages.


def vector(name: str) -> bytes:
    return (VECTORS / name).read_bytes()


def withValues(group: Group, changes: Dict[str, Value]) -> Group:
    """
    A copy of C{group} where each attribute named in C{changes} has that single value
    instead (same tag).
    """
    attributes = []
    for attribute in group.attributes:
        if attribute.name in changes:
            attribute = Attribute(
                attribute.name, (changes[attribute.name],), attribute.tags[:1]
            )
        attributes.append(attribute)
    return Group(group.tag, attributes)


def countAttributes(values: Sequence[Value]) -> int:
    """
    The number of collection members (at any depth) in C{values}.
    """
    count = 0
    for value in values:
        if isinstance(value, Collection):
            for member in value.attributes:
                count += 1 + countAttributes(member.values)
    return count


class Bench:
    """
    One benchmark message: its distinct variants, as bytes and as built L{Message}s.
    """

    def __init__(self, key: str, title: str, messages: List[Message]) -> None:
        self.key = key
        self.title = title
        self.messages = messages
        self.variants = [encode(m) for m in messages]
        first = messages[0]
        self.topLevel = sum(len(g.attributes) for g in first.groups)
        self.withMembers = sum(
            1 + countAttributes(a.values) for g in first.groups for a in g.attributes
        )
        self.groups = len(first.groups)
        self.meanBytes = sum(len(v) for v in self.variants) / len(self.variants)


UP_TIME = 1795386393
NOW = datetime.datetime(2026, 11, 22, 22, 26, 33, tzinfo=datetime.timezone.utc)


def buildNotifications(variants: int, events: int = 50) -> Bench:
    """
    (a) a Get-Notifications response: the operation group of a captured response and
    C{events} event groups, cycling through the 17 events cupsd wrote to a notifier,
    each with its own sequence number, up-time and job ids.
    """
    captured = MessageStream().feed(vector("cups-2.4.2-notifier-stdin-stream.bin"))
    sources = [m.groups[0] for m in captured]
    assert len(sources) == 17 and all(g.tag == 0x07 for g in sources)
    operation = decode(vector("cups-2.4.2-get-notifications-response.ipp")).operation
    messages = []
    for v in range(variants):
        serial = v * events
        groups = [withValues(operation, {"printer-up-time": UP_TIME + 3 * serial})]
        for i in range(events):
            source = sources[i % len(sources)]
            changes: Dict[str, Value] = {
                "notify-sequence-number": 1000 + serial + i,
                "printer-up-time": UP_TIME + 3 * (serial + i),
            }
            oldJob = source.value("notify-job-id")
            if isinstance(oldJob, int):
                # The three jobs of the capture, renumbered for each pass over the
                # 17 events and for each variant: a job keeps its id across its
                # job-created, job-state-changed and job-completed events.
                job = 100 + 9 * v + 3 * (i // len(sources)) + oldJob
                changes["notify-job-id"] = job
                if "job-id" in source:
                    changes["job-id"] = job
                text = source.value("notify-text")
                if isinstance(text, str):
                    changes["notify-text"] = re.sub(r"#\d+", f"#{job}", text)
            groups.append(withValues(source, changes))
        messages.append(Message((2, 0), 0, 5000 + v, groups))
    return Bench("a", f"Get-Notifications, {events} events", messages)


GPA_SOURCES = (
    "ippserver-3a24f0f-get-printer-attributes-response.ipp",
    "cups-2.4.2-get-printer-attributes-response.ipp",
    "cups-2.4.2-get-printer-attributes-response-raw-queue.ipp",
)

# Extra media-col-database entries, in the form ippserver writes them.
MEDIA_SIZES = (
    ("iso_a5_148x210mm", 14800, 21000),
    ("iso_a6_105x148mm", 10500, 14800),
    ("iso_b5_176x250mm", 17600, 25000),
    ("jis_b5_182x257mm", 18200, 25700),
    ("na_executive_7.25x10.5in", 18415, 26670),
    ("na_number-10_4.125x9.5in", 10477, 24130),
    ("iso_dl_110x220mm", 11000, 22000),
    ("iso_c5_162x229mm", 16200, 22900),
    ("na_index-4x6_4x6in", 10160, 15240),
    ("na_5x7_5x7in", 12700, 17780),
    ("oe_photo-l_3.5x5in", 8890, 12700),
    ("na_monarch_3.875x7.5in", 9843, 19050),
)
MEDIA_KINDS = (
    ("main", "stationery", 635),
    ("manual", "stationery", 635),
    ("main", "photographic-glossy", 0),
)


def mediaCol(size: str, x: int, y: int, source: str, kind: str, margin: int) -> Value:
    key = f"{size}_{source}_{kind}" + ("_borderless" if margin == 0 else "")
    return Collection(
        [
            Attribute.keyword("media-key", key),
            Attribute.collection(
                "media-size",
                Collection(
                    [
                        Attribute.integer("x-dimension", x),
                        Attribute.integer("y-dimension", y),
                    ]
                ),
            ),
            Attribute.keyword("media-size-name", size),
            Attribute.integer("media-bottom-margin", margin),
            Attribute.integer("media-left-margin", margin),
            Attribute.integer("media-right-margin", margin),
            Attribute.integer("media-top-margin", margin),
            Attribute.keyword("media-source", source),
            Attribute.keyword("media-type", kind),
        ]
    )


def printerVariant(operation: Group, printer: Group, v: int) -> Message:
    """
    Variant C{v} of a Get-Printer-Attributes response: the clocks and counters a
    printer reports differently from one request to the next.
    """
    up = UP_TIME + 7 * v
    now = NOW + datetime.timedelta(seconds=7 * v)
    changed = NOW - datetime.timedelta(seconds=4 + v % 5)
    changes: Dict[str, Value] = {
        "printer-up-time": up,
        "printer-current-time": DateTime.fromDatetime(now),
        "printer-state-change-time": up - 4 - v % 5,
        "printer-state-change-date-time": DateTime.fromDatetime(changed),
        "printer-config-change-time": up - 4 - v % 3,
        "printer-config-change-date-time": DateTime.fromDatetime(changed),
        "marker-change-time": up - 2,
        "queued-job-count": v % 4,
    }
    changes = {k: value for k, value in changes.items() if k in printer}
    return Message((2, 0), 0, 7000 + v, [operation, withValues(printer, changes)])


def buildPrinterAttributes(variants: int, minBytes: int = 20000) -> Bench:
    """
    (b) a Get-Printer-Attributes response: the printer groups of three captured
    responses, united by attribute name (first one wins), media-col-database padded
    with more entries until the message has C{minBytes}.
    """
    sources = [decode(vector(name)) for name in GPA_SOURCES]
    operation = sources[0].operation
    union: Dict[str, Attribute] = {}
    for source in sources:
        printer = source.group(0x04)
        assert printer is not None
        for attribute in printer.attributes:
            union.setdefault(attribute.name, attribute)
    database = union["media-col-database"]
    extra = [
        mediaCol(size, x, y, source, kind, margin)
        for (source, kind, margin) in MEDIA_KINDS
        for (size, x, y) in MEDIA_SIZES
    ]
    values: List[Value] = list(database.values)
    while True:
        attribute = Attribute(
            "media-col-database", tuple(values), (0x34,) * len(values)
        )
        union["media-col-database"] = attribute
        printer = Group(0x04, list(union.values()))
        size = len(encode(printerVariant(operation, printer, 0)))
        if size >= minBytes or not extra:
            break
        values.append(extra.pop(0))
    messages = [printerVariant(operation, printer, v) for v in range(variants)]
    return Bench("b", "Get-Printer-Attributes, 3 printers united", messages)


def buildCupsPrinterAttributes(variants: int) -> Bench:
    """
    (d) the CUPS Get-Printer-Attributes response as captured (IPP Everywhere queue),
    with the same clock variants as (b).
    """
    source = decode(vector("cups-2.4.2-get-printer-attributes-response.ipp"))
    printer = source.group(0x04)
    assert printer is not None
    operation = Group(source.operation.tag, source.operation.attributes)
    messages = [printerVariant(operation, printer, v) for v in range(variants)]
    return Bench("d", "Get-Printer-Attributes, CUPS as captured (extra)", messages)


def buildEvent(variants: int) -> Bench:
    """
    (c) one event message as cupsd writes it to a notifier, with its own sequence
    number, up-time and job id in each variant.
    """
    source = decode(vector("cups-2.4.2-notifier-event-job-completed.ipp"))
    event = source.groups[0]
    messages = []
    for v in range(variants):
        changes: Dict[str, Value] = {
            "notify-sequence-number": 1000 + v,
            "printer-up-time": UP_TIME + 5 * v,
            "notify-job-id": 100 + v,
        }
        messages.append(Message((2, 0), 0, 0, [withValues(event, changes)]))
    return Bench("c", "one event (job-completed)", messages)


# ---------------------------------------------------------------------------------
# The implementations.


class Shim:
    """
    bench/build/libcupsshim.so through ctypes; all timing is done in C.
    """

    def __init__(self) -> None:
        script = HERE / "build_shim.sh"
        result = subprocess.run(
            ["sh", str(script)], capture_output=True, text=True, check=False
        )
        if result.returncode != 0 or not SHIM_LIBRARY.exists():
            sys.stderr.write(result.stderr)
            raise SystemExit(
                "codec.py: cannot build the libcups shim (see above); on Debian: "
                "apt-get install libcups2-dev gcc"
            )
        lib = ctypes.CDLL(str(SHIM_LIBRARY))
        charPP = ctypes.POINTER(ctypes.c_char_p)
        sizeP = ctypes.POINTER(ctypes.c_size_t)
        lib.shim_read_many.argtypes = [charPP, sizeP, ctypes.c_long, ctypes.c_long]
        lib.shim_read_many.restype = ctypes.c_double
        lib.shim_write_many.argtypes = [
            charPP,
            sizeP,
            ctypes.c_long,
            ctypes.c_long,
            ctypes.c_char_p,
            ctypes.c_size_t,
            sizeP,
        ]
        lib.shim_write_many.restype = ctypes.c_double
        lib.shim_roundtrip.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_char_p,
            ctypes.c_size_t,
        ]
        lib.shim_roundtrip.restype = ctypes.c_long
        lib.shim_use_cpu_clock.argtypes = [ctypes.c_int]
        lib.shim_use_cpu_clock.restype = None
        lib.shim_cups_version.argtypes = []
        lib.shim_cups_version.restype = ctypes.c_char_p
        self.lib = lib
        self.version = lib.shim_cups_version().decode()

    def buffers(self, variants: Sequence[bytes]) -> Tuple[Any, Any]:
        n = len(variants)
        bufs = (ctypes.c_char_p * n)(*variants)
        lens = (ctypes.c_size_t * n)(*(len(v) for v in variants))
        return bufs, lens

    def roundtrip(self, data: bytes) -> Optional[bytes]:
        out = ctypes.create_string_buffer(2 * len(data) + 4096)
        n = self.lib.shim_roundtrip(data, len(data), out, len(out))
        return out.raw[:n] if n >= 0 else None

    def reader(self, variants: Sequence[bytes]) -> Callable[[int], float]:
        bufs, lens = self.buffers(variants)
        n = len(variants)
        readMany = self.lib.shim_read_many

        def run(passes: int) -> float:
            ns = readMany(bufs, lens, n, passes)
            if ns < 0:
                raise RuntimeError(f"libcups cannot read variant {int(-ns - 1)}")
            return float(ns) / 1e9

        return run

    def writer(self, variants: Sequence[bytes]) -> Callable[[int], float]:
        bufs, lens = self.buffers(variants)
        n = len(variants)
        cap = 2 * max(len(v) for v in variants) + 4096
        out = ctypes.create_string_buffer(cap)
        outlens = (ctypes.c_size_t * n)()
        writeMany = self.lib.shim_write_many

        def run(passes: int) -> float:
            ns = writeMany(bufs, lens, n, passes, out, cap, outlens)
            if ns < 0:
                raise RuntimeError(f"libcups cannot write variant {int(-ns - 1)}")
            return float(ns) / 1e9

        return run


def decodePasses(
    parse: Callable[[bytes], object], variants: Sequence[bytes]
) -> Callable[[int], float]:
    def run(passes: int) -> float:
        start = clock()
        for _ in range(passes):
            for data in variants:
                parse(data)
        return clock() - start

    return run


def varyingFields(variants: Sequence[bytes]) -> List[bytes]:
    """
    The fields (at any depth) and collection values that are not the same in every
    variant (sequence numbers, up-times, job ids...): the ones a client would be
    seeing for the first time.
    """
    sets = [set(cacheUnits(data)) for data in variants]
    common = set.intersection(*sets)
    return sorted(set.union(*sets) - common)


def caches(module: Any = _decodeModule) -> List[Dict[Any, Any]]:
    """
    The caches of a decode module that has them (see L{CACHE_NAMES}).
    """
    return [
        getattr(module, name)
        for name in CACHE_NAMES
        if isinstance(getattr(module, name, None), dict)
    ]


def forget(units: Sequence[bytes], module: Any = _decodeModule) -> None:
    """
    Take C{units} (fields and collection values, as L{cacheUnits} gives them) out of
    ipp_ntfy's caches: the fields out of the field cache, the collection values out
    of the collection cache, and every run of fields that holds one of the fields.
    """
    fields = getattr(module, "_FIELDS", None)
    if fields is not None:
        pop = fields.pop
        for field in units:
            pop(field, None)
    groups = getattr(module, "_GROUPS", None)
    if groups:
        # Whole groups are made of runs: all go, rather than keep one that holds
        # a field taken out.
        groups.clear()
    runs = getattr(module, "_RUNS", None)
    if runs:
        gone = set(units)
        for key, candidates in list(runs.items()):
            kept = [
                run
                for run in candidates
                if not gone.intersection(cacheUnits(run[0], 0))
            ]
            if not kept:
                del runs[key]
            elif len(kept) != len(candidates):
                runs[key] = kept
    collections = getattr(module, "_COLLECTIONS", None)
    if collections:
        gone = set(units)
        for key, entries in list(collections.items()):
            kept = [entry for entry in entries if entry[0] not in gone]
            if not kept:
                del collections[key]
            elif len(kept) != len(entries):
                collections[key] = kept


def warmDecodePasses(variants: Sequence[bytes]) -> Callable[[int], float]:
    """
    ipp_ntfy's decode, its field cache as a long-running client has it: before each
    pass (outside the timed span) the fields that differ between variants are taken
    out of the cache, so that every pass meets them as new, while the fields that
    repeat (charset, event names, URIs, states...) are found there.
    """
    varying = varyingFields(variants)

    def run(passes: int) -> float:
        total = 0.0
        for _ in range(passes):
            forget(varying)
            start = clock()
            for data in variants:
                decode(data)
            total += clock() - start
        return total

    return run


def coldDecodePasses(variants: Sequence[bytes]) -> Callable[[int], float]:
    """
    ipp_ntfy's decode with its caches (all but the attribute-name cache) emptied
    before each message (outside the timed span); they are put back as they were
    afterwards, so the other measurements are not disturbed.
    """
    emptied = caches()
    assert emptied
    # Whether the decoder learns entries of _GROUPS, and for how long it does
    # not: reset with the caches.
    learning = getattr(_decodeModule, "_LEARNING", None)

    def run(passes: int) -> float:
        saved = [dict(cache) for cache in emptied]
        savedLearning = None if learning is None else list(learning)
        total = 0.0
        for _ in range(passes):
            for data in variants:
                for cache in emptied:
                    cache.clear()
                if learning is not None:
                    learning[:] = [0, 0]
                start = clock()
                decode(data)
                total += clock() - start - clockOverhead
        for cache, contents in zip(emptied, saved):
            cache.clear()
            cache.update(contents)
        if learning is not None and savedLearning is not None:
            learning[:] = savedLearning
        return total

    return run


def varyingAttributes(messages: Sequence[Message]) -> List[Attribute]:
    """
    The attributes that are not the same in every variant: the ones an application
    encodes for the first time.
    """
    sets = [{a for g in m.groups for a in g.attributes} for m in messages]
    common = set.intersection(*sets)
    return list(set.union(*sets) - common)


def forgetEncoded(attributes: Sequence[Attribute], module: Any = _encodeModule) -> None:
    """
    Take C{attributes}, and their string values, out of ipp_ntfy's encode caches.
    """
    fields = getattr(module, "_FIELD_OCTETS", None)
    strings = getattr(module, "_STRING_OCTETS", None)
    for attribute in attributes:
        if fields is not None:
            fields.pop(attribute, None)
        if strings is not None:
            for value in attribute.values:
                if isinstance(value, str):
                    strings.pop(value, None)


def encodePasses(messages: Sequence[Message]) -> Callable[[int], float]:
    """
    ipp_ntfy's encode, its caches as a long-running application has them: before
    each pass (outside the timed span) the attributes that differ between variants
    are taken out of them.
    """
    varying = varyingAttributes(messages)

    def run(passes: int) -> float:
        total = 0.0
        for _ in range(passes):
            forgetEncoded(varying)
            start = clock()
            for message in messages:
                encode(message)
            total += clock() - start
        return total

    return run


def recordHash(dist: importlib.metadata.Distribution, path: str) -> Optional[str]:
    for entry in dist.files or ():
        if str(entry) == path and entry.hash is not None:
            return entry.hash.value
    return None


def fileHash(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def pythonDecoders() -> Tuple[List[Tuple[str, Callable[[bytes], object]]], List[str]]:
    """
    The other pure-Python IPP decoders installed: aioipp (a fork of pyipp that
    installs the same top-level package, C{pyipp}) and pyipp.  Whose
    C{pyipp/parser.py} is on disk is told by the hashes in each one's RECORD.

    @return: C{[(label, parse)]} and notes on those that cannot be timed.
    """
    notes: List[str] = []
    try:
        parser = importlib.import_module("pyipp.parser")
    except ImportError as e:
        return [], [f"aioipp / pyipp: not importable ({e})"]
    onDisk = fileHash(Path(str(parser.__file__)))
    owners: List[str] = []
    for name in ("aioipp", "pyipp"):
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            notes.append(f"{name}: not installed")
            continue
        label = f"{name} {dist.version}"
        expected = recordHash(dist, "pyipp/parser.py")
        if expected == onDisk:
            owners.append(label)
        else:
            notes.append(
                f"{label}: installed, but its pyipp/parser.py was overwritten by "
                "another distribution of the same top-level package 'pyipp' (the "
                "file on disk does not match its RECORD hash), so it cannot be "
                "timed in this environment"
            )
    label = " / ".join(owners) if owners else "pyipp (unknown distribution)"
    return [(f"{label} (pyipp.parser.parse)", parser.parse)], notes


# ---------------------------------------------------------------------------------
# Checks and the cache hit rate.


def topLevelFields(data: bytes) -> List[bytes]:
    """
    The raw octets (tag to end of value) of each field of C{data} outside
    collections: the unit of ipp_ntfy's field cache.
    """
    fields = []
    pos = 8
    depth = 0
    while pos < len(data):
        tag = data[pos]
        if tag < 0x10:
            pos += 1
            if tag == 0x03:
                break
            continue
        valueAt = pos + 3 + ((data[pos + 1] << 8) | data[pos + 2])
        end = valueAt + 2 + ((data[valueAt] << 8) | data[valueAt + 1])
        if tag == 0x34:
            depth += 1
        elif tag == 0x37:
            depth -= 1
        elif depth == 0:
            fields.append(data[pos:end])
        pos = end
    return fields


def cacheUnits(data: bytes, start: int = 8) -> List[bytes]:
    """
    The raw octets of each field of C{data} from C{start} but the framing of
    collections (begCollection, memberAttrName, endCollection), at any depth, and of
    each collection value (from after its begCollection field to the end of its
    endCollection): what ipp_ntfy's field and collection caches keep.
    """
    units = []
    opened: List[int] = []
    pos = start
    while pos < len(data):
        tag = data[pos]
        if tag < 0x10:
            pos += 1
            if tag == 0x03:
                break
            continue
        valueAt = pos + 3 + ((data[pos + 1] << 8) | data[pos + 2])
        end = valueAt + 2 + ((data[valueAt] << 8) | data[valueAt + 1])
        if tag == 0x34:
            opened.append(end)
        elif tag == 0x37:
            if opened:
                units.append(data[opened.pop() : end])
        elif tag != 0x4A:
            units.append(data[pos:end])
        pos = end
    return units


def cacheHitRate(variants: Sequence[bytes]) -> Optional[float]:
    """
    One pass as L{warmDecodePasses} makes it: the share of top-level fields found in
    the field cache just before each variant is decoded.
    """
    if FIELDS is None:
        return None
    forget(varyingFields(variants))
    hits = total = 0
    for data in variants:
        for field in topLevelFields(data):
            total += 1
            hits += field in FIELDS
        decode(data)
    return hits / total if total else None


def check(bench: Bench, shim: Shim) -> Dict[str, Any]:
    """
    Make sure every implementation reads what it is timed on: ipp_ntfy's
    round trip, libcups reading and writing back the same octets.
    """
    distinct = len(set(bench.variants))
    if distinct != len(bench.variants):
        raise SystemExit(f"message {bench.key}: only {distinct} distinct variants")
    for message, data in zip(bench.messages, bench.variants):
        if decode(data) != message:
            raise SystemExit(f"message {bench.key}: ipp_ntfy does not read it back")
    same = 0
    for data in bench.variants:
        written = shim.roundtrip(data)
        if written is None:
            raise SystemExit(f"message {bench.key}: libcups cannot read it")
        same += written == data
    return {"libcupsRoundTripIdentical": same, "variants": len(bench.variants)}


# ---------------------------------------------------------------------------------
# Timing.


class Measure:
    def __init__(self, bench: str, impl: str, run: Callable[[int], float]) -> None:
        self.bench = bench
        self.impl = impl
        self.run = run
        self.passes = 1
        self.samples: List[float] = []  # seconds per message, one per round


def pinCpu() -> Optional[int]:
    getAffinity = getattr(os, "sched_getaffinity", None)
    setAffinity = getattr(os, "sched_setaffinity", None)
    if getAffinity is None or setAffinity is None:
        return None
    cpu = max(getAffinity(0))
    try:
        setAffinity(0, {cpu})
    except OSError:
        return None
    return int(cpu)


def timeAll(
    measures: List[Measure],
    benches: Dict[str, Bench],
    rounds: int,
    minSample: float,
    seed: int,
    progress: bool,
) -> None:
    # Warm up and choose how many passes over the variants make one sample.
    gc.collect()
    gc.disable()
    try:
        for m in measures:
            m.run(1)
            once = m.run(1)
            if once > 0:
                m.passes = max(1, min(1000, int(minSample / once + 0.999)))
        order = list(measures)
        shuffler = random.Random(seed)
        for r in range(rounds):
            # Messages in turn, implementations shuffled within each message.
            shuffler.shuffle(order)
            for key in benches:
                for m in order:
                    if m.bench != key:
                        continue
                    elapsed = m.run(m.passes)
                    m.samples.append(elapsed / (m.passes * len(benches[key].variants)))
            gc.enable()
            gc.collect()
            gc.disable()
            if progress:
                sys.stderr.write(f"\rround {r + 1}/{rounds}")
                sys.stderr.flush()
        if progress:
            sys.stderr.write("\n")
    finally:
        gc.enable()


# ---------------------------------------------------------------------------------
# Report.


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def spread(samples: Sequence[float]) -> float:
    """
    The interquartile range as a fraction of the median.
    """
    if len(samples) < 4:
        return (max(samples) - min(samples)) / median(samples)
    q = statistics.quantiles(samples, n=4)
    return (q[2] - q[0]) / median(samples)


def us(seconds: Optional[float]) -> str:
    if seconds is None:
        return "n/a"
    value = seconds * 1e6
    return f"{value:.1f}" if value < 1000 else f"{value:.0f}"


def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmtRatio(
    value: Optional[float], met: Optional[Callable[[float], bool]] = None
) -> str:
    """
    C{value} to two decimals, followed by whether it meets the target C{met} says.
    """
    if value is None:
        return "n/a"
    text = f"{value:.2f}"
    if met is not None:
        text += " (met)" if met(value) else " (NOT met)"
    return text


def atMost2(value: float) -> bool:
    return value <= 2.0


def atLeast10(value: float) -> bool:
    return value >= 10.0


def loadAverage() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


class Results:
    def __init__(
        self,
        benches: Dict[str, Bench],
        measures: List[Measure],
        unreadable: Dict[Tuple[str, str], str],
        other: Optional[str],
    ) -> None:
        self.benches = benches
        self.measures = measures
        self.unreadable = unreadable
        self.other = other

    def stat(
        self,
        key: str,
        impl: Optional[str],
        statistic: Callable[[Sequence[float]], float],
    ) -> Optional[float]:
        for m in self.measures:
            if m.bench == key and m.impl == impl and m.samples:
                return statistic(m.samples)
        return None

    def tables(self, statistic: Callable[[Sequence[float]], float], what: str) -> None:
        other = self.other
        header = (
            "| message | bytes | libcups read | ipp_ntfy decode | ipp_ntfy/libcups "
            "(target <= 2.0) | ipp_ntfy cold cache | cold/libcups | "
            f"{other or 'aioipp'} | aioipp/ipp_ntfy (target >= 10) |"
        )
        print(f"Decode, microseconds per message ({what}):")
        print()
        print(header)
        print("|" + "---|" * (header.count("|") - 1))
        for key, bench in self.benches.items():
            cups = self.stat(key, "libcups read", statistic)
            ours = self.stat(key, "ipp_ntfy decode", statistic)
            cold = self.stat(key, "ipp_ntfy cold", statistic)
            theirs = self.stat(key, other, statistic)
            theirsText = us(theirs)
            if other and (key, other) in self.unreadable:
                theirsText = "cannot read"
            print(
                f"| {key}. {bench.title} | {bench.meanBytes:.0f} | {us(cups)} "
                f"| {us(ours)} | {fmtRatio(ratio(ours, cups), atMost2)} | {us(cold)} "
                f"| {fmtRatio(ratio(cold, cups))} | {theirsText} "
                f"| {fmtRatio(ratio(theirs, ours), atLeast10)} |"
            )
        print()
        print(f"Encode, microseconds per message ({what}):")
        print()
        print(
            "| message | bytes | libcups write | ipp_ntfy encode | ipp_ntfy/libcups |"
        )
        print("|---|---|---|---|---|")
        for key, bench in self.benches.items():
            cups = self.stat(key, "libcups write", statistic)
            ours = self.stat(key, "ipp_ntfy encode", statistic)
            print(
                f"| {key}. {bench.title} | {bench.meanBytes:.0f} | {us(cups)} "
                f"| {us(ours)} | {fmtRatio(ratio(ours, cups))} |"
            )
        print()


def main(argv: Optional[Sequence[str]] = None) -> int:
    global clock, clockOverhead
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--rounds", type=int, help="timing rounds (default 25)")
    parser.add_argument("--variants", type=int, help="variants per message (100)")
    parser.add_argument("--min-sample", type=float, help="seconds per sample (0.03)")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall: perf_counter and CLOCK_MONOTONIC (default); cpu: the thread's "
        "CPU time (time.thread_time and CLOCK_THREAD_CPUTIME_ID), which leaves out "
        "the time other processes take the CPU",
    )
    parser.add_argument("--seed", type=int, default=1, help="order of the runs")
    parser.add_argument("--json", metavar="FILE", help="save the raw results")
    args = parser.parse_args(argv)
    rounds = args.rounds or (5 if args.quick else 25)
    nVariants = args.variants or (30 if args.quick else 100)
    minSample = args.min_sample or (0.01 if args.quick else 0.03)
    started = time.perf_counter()
    loadBefore = loadAverage()

    cpu = pinCpu()
    shim = Shim()
    if args.clock == "cpu":
        clock = time.thread_time
    shim.lib.shim_use_cpu_clock(1 if args.clock == "cpu" else 0)
    clockOverhead = calibrateClock()
    benches = {
        b.key: b
        for b in (
            buildNotifications(nVariants),
            buildPrinterAttributes(nVariants),
            buildEvent(nVariants),
            buildCupsPrinterAttributes(nVariants),
        )
    }
    checks = {key: check(bench, shim) for key, bench in benches.items()}
    others, notes = pythonDecoders()

    measures: List[Measure] = []
    unreadable: Dict[Tuple[str, str], str] = {}
    for key, bench in benches.items():
        measures.append(Measure(key, "libcups read", shim.reader(bench.variants)))
        measures.append(Measure(key, "libcups write", shim.writer(bench.variants)))
        measures.append(
            Measure(key, "ipp_ntfy decode", warmDecodePasses(bench.variants))
        )
        if FIELDS is not None:
            measures.append(
                Measure(key, "ipp_ntfy cold", coldDecodePasses(bench.variants))
            )
        measures.append(Measure(key, "ipp_ntfy encode", encodePasses(bench.messages)))
        for label, parse in others:
            try:
                for data in bench.variants:
                    parse(data)
            except Exception as e:
                unreadable[(key, label)] = f"{type(e).__name__}: {e}"
                continue
            measures.append(Measure(key, label, decodePasses(parse, bench.variants)))

    timeAll(measures, benches, rounds, minSample, args.seed, sys.stderr.isatty())
    hitRates = {key: cacheHitRate(bench.variants) for key, bench in benches.items()}
    varying = {
        key: len(varyingFields(bench.variants)) / len(bench.variants)
        for key, bench in benches.items()
    }
    loadAfter = loadAverage()
    otherLabel = others[0][0] if others else None
    results = Results(benches, measures, unreadable, otherLabel)

    clockName = (
        "wall clock (perf_counter, CLOCK_MONOTONIC)"
        if args.clock == "wall"
        else "thread CPU time (thread_time, CLOCK_THREAD_CPUTIME_ID)"
    )
    print(
        f"ipp_ntfy codec benchmark: {rounds} rounds, {nVariants} variants per "
        f"message, {clockName}"
    )
    print(
        f"Python {platform.python_version()} on {platform.machine()}, libcups "
        f"{shim.version}, "
        + (f"pinned to CPU {cpu}" if cpu is not None else "not pinned")
        + f"; load average {loadBefore} before, {loadAfter} after; "
        f"clock read overhead {clockOverhead * 1e9:.0f} ns"
    )
    print()
    print("Messages:")
    for key, bench in benches.items():
        rate = hitRates[key]
        hit = f"{rate:.0%}" if rate is not None else "n/a"
        c = checks[key]
        print(
            f"  {key}. {bench.title}: {bench.meanBytes:.0f} bytes, {bench.groups} "
            f"groups, {bench.topLevel} attributes ({bench.withMembers} with "
            f"collection members); {varying[key]:.1f} fields per variant differ "
            f"from the other variants; warm field-cache hits {hit} of top-level "
            f"fields; libcups writes back {c['libcupsRoundTripIdentical']}/"
            f"{c['variants']} variants byte-identical"
        )
    print()
    results.tables(median, f"median of {rounds} rounds")
    results.tables(min, f"best of {rounds} rounds")
    for (key, label), reason in unreadable.items():
        print(f"{label} on {key}: cannot read: {reason}")
    for note in notes:
        print(f"note: {note}")
    print()
    print("Spread (interquartile range / median) and passes per sample:")
    for m in measures:
        print(
            f"  {m.bench}. {m.impl}: median {us(median(m.samples))} us, "
            f"IQR {spread(m.samples):.1%}, min {us(min(m.samples))}, "
            f"{m.passes} pass(es) of {len(benches[m.bench].variants)} variants"
        )
    elapsed = time.perf_counter() - started
    print(f"\nwall time {elapsed:.0f} s")

    if args.json:
        result = {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "libcups": shim.version,
            "cpu": cpu,
            "clock": args.clock,
            "clockOverheadSeconds": clockOverhead,
            "loadAverage": {"before": loadBefore, "after": loadAfter},
            "rounds": rounds,
            "variants": nVariants,
            "messages": {
                key: {
                    "title": bench.title,
                    "meanBytes": bench.meanBytes,
                    "groups": bench.groups,
                    "attributes": bench.topLevel,
                    "attributesWithMembers": bench.withMembers,
                    "warmFieldCacheHitRate": hitRates[key],
                    "varyingFieldsPerVariant": varying[key],
                    **checks[key],
                }
                for key, bench in benches.items()
            },
            "samples": [
                {
                    "message": m.bench,
                    "impl": m.impl,
                    "passes": m.passes,
                    "secondsPerMessage": m.samples,
                    "median": median(m.samples),
                    "min": min(m.samples),
                }
                for m in measures
            ],
            "unreadable": [
                {"message": k, "impl": label, "error": reason}
                for (k, label), reason in unreadable.items()
            ],
            "notes": notes,
            "wallSeconds": elapsed,
        }
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
