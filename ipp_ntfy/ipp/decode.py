"""
Decoding of C{application/ipp} octets (RFC 8010) into a L{Message}.

One pass over the octets, fields read in place with C{struct.unpack_from} and plain
indexing, values converted as they are met; collections recurse.  Every failure is an
L{IppDecodeError} carrying the offset of the field at fault: no C{struct.error},
C{IndexError} or C{UnicodeDecodeError} leaves this module.

Strict mode (the default) also refuses what RFC 8010 forbids but a lenient reader can
live with; C{lenient=True} accepts those known printer quirks (see L{decode}).

Two decoders share that work.  A strict decode within the default limits goes
through a fast path (L{_fastDecode}) that remembers what it has decoded (whole
fields, runs of fields one after the other, whole collection values: see the caches
below) and takes it again wherever the same octets come back, checking everything
but saying nothing: anything unusual or wrong makes it give up, and the careful
decoder (L{_Decoder}) decodes the message again and names the fault.  The two give
the same message for every input (the tests and C{bench/fuzz.py} check it).
"""

from __future__ import annotations

from operator import itemgetter
from struct import Struct
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

from .errors import IppDecodeError
from .limits import DEFAULT_LIMITS, Limits
from .message import Attribute, Group, Message, _newMessage, _newObject
from .message import _setFields as _setGroupFields
from .message import _setLayout as _setGroupLayout
from .message import _setTag as _setGroupTag
from .tags import valueTagName
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

_header = Struct(">BBHi").unpack_from
_int32 = Struct(">i").unpack_from
_range = Struct(">ii").unpack_from
_resolution = Struct(">iib").unpack_from
_dateTime = Struct(">HBBBBBBcBB").unpack_from

_newAttribute = tuple.__new__
_setCollectionAttributes = Collection.__dict__["attributes"].__set__
_OUT_OF_BAND = {tag: OutOfBand(tag) for tag in range(0x10, 0x20)}
_FIXED = {0x21: 4, 0x22: 1, 0x23: 4, 0x31: 11, 0x32: 9, 0x33: 8}
_Octets = Union[bytes, bytearray, memoryview]

__all__ = ["decode", "decodePrefix", "messageLength", "scanFields", "IppDecodeError"]


def decode(
    data: _Octets, limits: Optional[Limits] = None, lenient: bool = False
) -> Message:
    """
    Decode one IPP message.

    Octets after the end-of-attributes tag are the message's document data
    (L{Message.data}).

    Strict mode refuses, and C{lenient=True} accepts: invalid UTF-8 in a string value
    (kept with C{surrogateescape} so it re-encodes to the same octets), a fixed-size
    value of the wrong length (kept as L{Unknown}), a boolean other than 0 or 1, a
    nested-language value whose inner lengths disagree (kept as L{Unknown}), the
    reserved delimiter tag 0x00 as a group, the same attribute name twice in a group,
    an empty member name, a non-ASCII attribute name, and an extension (0x7F) value
    with no room for its tag: all kept so that C{encode(message, lenient=True)}
    gives back the same octets.  Structural faults (truncation, a value before any
    group, an unclosed collection, a name or a value on a field of a collection's
    framing, a missing end tag, a limit exceeded) are errors in both modes.

    @param data: the message (C{bytes}, or a C{bytearray} or C{memoryview}).
    @param limits: the bounds to enforce; L{DEFAULT_LIMITS} if C{None}.
    @param lenient: accept the quirks listed above.
    @raise IppDecodeError: if the octets are not a valid message.
    """
    message, end = decodePrefix(data, limits, lenient)
    if end != len(data):
        message = message.replace(data=bytes(data[end:]))
    return message


def decodePrefix(
    data: _Octets, limits: Optional[Limits] = None, lenient: bool = False
) -> Tuple[Message, int]:
    """
    Decode the IPP message at the start of C{data}, up to and including its
    end-of-attributes tag, leaving anything after it alone.

    @return: the message (with empty L{Message.data}) and the offset just after its
        end-of-attributes tag.
    @raise IppDecodeError: as L{decode}.
    """
    if limits is None:
        limits = DEFAULT_LIMITS
    if not isinstance(data, bytes):
        data = bytes(data)
    if not lenient and limits is DEFAULT_LIMITS:
        try:
            return _fastDecode(data)
        except Exception:
            # Anything unusual (an error, a limit, a rare syntax the fast path does
            # not take) is decided by the careful decoder, which names the fault.
            pass
    return _Decoder(data, limits, lenient).message()


class _Slow(Exception):  # noqa: N818 (a signal, not an error)
    """
    The fast path met something it leaves to L{_Decoder}.
    """


class _GroupLayout(tuple):
    """
    The layout of the groups read by one entry of C{_GROUPS}: the names of their
    fields (None for an additional value), equal to the plain tuple of them, and
    where the holes are.  Every group read by the entry (L{_Template}) has this
    same object as its layout, and the same field objects at every index that is
    not a hole's, so a reader of decoded groups (C{ipp_ntfy.notification}) may
    take what it read from one of them for the next as long as the layout is the
    same object, reading only the holes again.

    @ivar holes: C{(index, tag)} of each hole: its index in the group's fields
        and its value tag, which gives the type of its value (a 32-bit C{int}
        for 0x21 and 0x23, a C{str} for a string syntax, as the careful decoder
        reads a value of that tag otherwise).
    """

    holes: Tuple[Tuple[int, int], ...]


class _Template:
    """
    An entry of C{_GROUPS}: a group read before as nothing but runs and holes.

    @ivar first: the octets of the first segment.
    @ivar segments: the segments (see C{_Segment}).
    @ivar layout: the layout of the groups it reads.
    @ivar named: their attribute count.
    @ivar taken: the octets of the groups it has read (up to L{_COMPILE_AFTER}).
    @ivar read: its compiled reader (see L{_compileTemplate}), or C{None}.
    """

    __slots__ = ("first", "segments", "layout", "named", "taken", "read")

    def __init__(
        self, segments: Tuple[_Segment, ...], layout: _GroupLayout, named: int
    ) -> None:
        self.first = segments[0][0]
        self.segments = segments
        self.layout = layout
        self.named = named
        self.taken = 0
        self.read: Optional[Callable[..., Tuple[int, int, bool]]] = None


# The fast path's caches.  All are bounded, and hold only what a strict decode
# within DEFAULT_LIMITS accepted; values are immutable, so sharing them is safe.
#
# Names seen before, decoded once: attribute and member names come from a small
# vocabulary.  Only valid names (US-ASCII, 1 to 255 octets) are kept.
_NAMES: dict[bytes, str] = {}
_MAX_NAMES = 4096
_MAX_CACHED_NAME = 255
# Whole fields (tag, name, value octets; name and value under 256 octets each) and
# what they decoded to, C{(name or None for an additional value, tag, value)}: most
# fields of an event repeat from one event to the next (charset, language, event
# keyword, printer name, URI, states).  Never a collection's framing (begCollection,
# memberAttrName, endCollection): a field kept here is valid wherever a value may
# stand, at the top level or in a collection.  Never a hole either (see _RUNS): its
# value most likely changes, and kept it would only fill the cache and make runs
# that hold it, which do not come back.
_Field = Tuple[Optional[str], int, Value]
_FIELDS: dict[bytes, _Field] = {}
_MAX_FIELDS = 8192
# Runs of known fields met one after the other in a group, found by the octets of
# their first field: the octets of the whole run, its fields, its length, and the
# "hole" after it.  In a stream of events, the fields between those that change
# (sequence numbers, times, job ids) come back in the same order every time.  The
# hole is the field that ended the run when it was recorded, a field not known but
# with a known name (so most likely one whose value changes): its octets up to its
# value-length, its name, its tag and the length of those octets.  Where the same
# octets follow the run again, that field is decoded without a look in _FIELDS.
# Holes are not put in _FIELDS: the field that ends a run as it is recorded (but
# for a run that starts with an additional value, see _fastDecode), the field
# taken as a run's hole, and a field not known right after such a taken hole
# whose name is known (two values that change one after the other, such as
# CUPS's notify-subscription-id and notify-sequence-number), which is a hole
# after no run in an entry of _GROUPS.  A run ends before it grows over
# _MAX_RUN_BYTES (the next one starts there).
_Hole = Tuple[bytes, Optional[str], int, int]
_Run = Tuple[bytes, Tuple[_Field, ...], int, Optional[_Hole]]
_RUNS: dict[bytes, List[_Run]] = {}
_MAX_RUN_BYTES = 4096
# Whole collection values: the octets from just after a begCollection field to the
# end of its endCollection, what they decoded to, how many members they hold (at
# every depth, for the attribute limit) and how deep they nest (1 for a collection
# without collection members).  A printer's media-col-database and the like come back
# the same in every Get-Printer-Attributes response.  An entry is found by the first
# _KEY_SIZES[i] octets of the value, the largest of those sizes that the value
# reaches (so that the key holds nothing from after it).
_CollectionEntry = Tuple[bytes, Collection, int, int]
_COLLECTIONS: dict[bytes, List[_CollectionEntry]] = {}
_MAX_COLLECTION_BYTES = 4096
_KEY_SIZES = (128, 64, 32, 16)
_MIN_KEY = _KEY_SIZES[-1]
# An entry of _RUNS, _GROUPS or _COLLECTIONS is only taken where the message holds
# the whole of its octets: a run or a collection is the same octets, or it is
# another one.
# Entries with the same key (events of several kinds start with the same field) are
# a few candidates, the latest first.  Each of these caches holds at most
# _MAX_HELD octets, counting for the objects too (_ENTRY_COST for each entry,
# _FIELD_COST for each field of a run, _MEMBER_COST for each member of a collection),
# and is emptied when full.
_MAX_CANDIDATES = 16
_MAX_HELD = 1 << 20
_ENTRY_COST = 128
_FIELD_COST = 64
_MEMBER_COST = 192
_HELD: dict[int, int] = {}
# Whole groups read before as nothing but runs and their holes, found by the octets
# of the group's first field: _Template objects (the octets of the first segment,
# the segments, the group's layout and its attribute count).  A segment is a run,
# or a run and the octets of the hole after it up to its value-length (both in one,
# to be compared at once), or after another hole the octets of a hole alone (no
# run): its octets, the run's fields, its length, and the hole's name, tag and
# header length (None for a run alone).  The events of a report come one
# after the other in groups of the same few shapes: a group that has the octets of
# the same runs, and the same holes after them, is read without a look in _RUNS
# and without its names checked again.  Candidates and bounds as for _RUNS.
_Segment = Tuple[
    bytes, Tuple[_Field, ...], int, Optional[Tuple[Optional[str], int, int]]
]
_GROUPS: dict[bytes, List[_Template]] = {}
# An entry of _GROUPS that has read _COMPILE_AFTER octets of groups gets a reader
# of its own (see _compileTemplate), unless it has more than
# _MAX_COMPILED_SEGMENTS segments or _MAX_COMPILED_FIELDS fields; a reader is
# counted as _READER_COST octets.  Compiling takes a few hundred microseconds:
# counted in octets read, it costs less than decoding them, however small the
# groups of the entries that someone sends.
_COMPILE_AFTER = 32768
_MAX_COMPILED_SEGMENTS = 32
_MAX_COMPILED_FIELDS = 256
_READER_COST = 4096
# Groups learned as entries of _GROUPS since one was last taken by an entry, and
# how many groups are still to be read without learning: after _MAX_UNTAKEN
# entries learned and none taken (groups that all differ in their runs, such as the
# events of one subscription for many printers, one printer after the other), the
# next _PAUSE_GROUPS groups that could make an entry are read without making one,
# and without trying the entries.  Learning an entry and trying those that do not
# fit cost more than reading the group field by field; this bounds what they waste.
_LEARNING = [0, 0]
_MAX_UNTAKEN = 64
_PAUSE_GROUPS = 4096
# The names of the fields of a group (None for an additional value), as a tuple, for
# groups that passed the checks on names (see _checkLayout): their attribute count.
_LAYOUTS: dict[Tuple[Optional[str], ...], int] = {}
_MAX_LAYOUTS = 256
_MAX_LAYOUT_FIELDS = 1024

_MAX_VALUES = DEFAULT_LIMITS.maxValues
_MAX_NAME = DEFAULT_LIMITS.maxNameBytes
_MAX_DEPTH = DEFAULT_LIMITS.maxDepth
_fieldName = itemgetter(0)


def _fastDecode(data: bytes) -> Tuple[Message, int]:
    """
    The strict decode of a message within L{DEFAULT_LIMITS}, for messages that hold
    nothing unusual.  It checks everything the careful decoder checks but reports no
    detail: any fault raises, and the caller asks L{_Decoder} what it was.  Octets
    past the end raise C{IndexError} or C{struct.error} by themselves; a value that
    is cut short shows up as a field that starts past the end.
    """
    end = len(data)
    if end > DEFAULT_LIMITS.maxMessageBytes:
        raise _Slow()
    major, minor, code, requestId = _header(data, 0)
    names = _NAMES
    strings = _STRING_TAGS
    int32 = _int32
    known = _FIELDS
    runs = _RUNS
    layouts = _LAYOUTS
    templates = _GROUPS
    startswith = data.startswith
    groups: List[Group] = []
    fields: List[_Field] = []
    # None until the first group: a field before it fails on calling them.
    append = extend = None
    groupTag = -1
    count = 0
    decoder = None
    pos = 8
    # The group being read: its layout and attribute count when an entry of
    # _GROUPS gave them; else the runs taken so far, each with whether its hole
    # was taken too (None once anything else was read), and its first field.
    layout: Optional[Tuple[Optional[str], ...]] = None
    named = 0
    trail: Optional[List[Tuple[_Run, bool]]] = None
    trailKey = b""
    template: Optional[_Template] = None
    # Whether the field just read was a hole (see _RUNS): 2 if taken after its
    # run, or right after such a hole (a field not known after it is a hole
    # too); 1 if it is the field not known that ended a run as it was
    # recorded; else 0.
    afterHole = 0
    while True:
        # Here a group starts, or a field after one that was not known (or after a
        # run): where a run may start.
        tag = data[pos]
        if tag < 0x10:
            if groupTag >= 0:
                group = _newObject(Group)
                if fields:
                    if layout is None:
                        layout = tuple(map(_fieldName, fields))
                        counted = layouts.get(layout)
                        named = _checkLayout(layout) if counted is None else counted
                        if trail:
                            learning = _LEARNING
                            if learning[1]:
                                # Paused: what was learned was not taken.
                                learning[1] -= 1
                            else:
                                template = _template(trail, layout, named)
                                _remember(
                                    templates,
                                    trailKey,
                                    template,
                                    sum([segment[2] for segment in template.segments])
                                    + _FIELD_COST * len(fields)
                                    + _READER_COST,
                                )
                                learning[0] += 1
                                if learning[0] >= _MAX_UNTAKEN:
                                    learning[0] = 0
                                    learning[1] = _PAUSE_GROUPS
                    count += named
                    _setGroupLayout(group, layout)
                _setGroupTag(group, groupTag)
                _setGroupFields(group, fields)
                groups.append(group)
            pos += 1
            if tag == 0x03:
                break
            if tag == 0x00:
                raise _Slow()
            groupTag = tag
            fields = []
            layout = None
            # A group like one read before, with the same runs and holes?  The
            # last one taken first (the events of a report are much alike).  A
            # compiled reader takes as many groups of this tag as it can at once;
            # else a group read so ends here: the next turn closes it.
            while data[pos] >= 0x10:
                nameLength = (data[pos + 1] << 8) | data[pos + 2]
                valueAt = pos + 3 + nameLength
                fieldEnd = valueAt + 2 + ((data[valueAt] << 8) | data[valueAt + 1])
                alike = templates.get(data[pos:fieldEnd])
                tries: Sequence[_Template]
                if _LEARNING[1]:
                    # Paused (see _LEARNING): the entries are not tried either.
                    tries = ()
                elif template is None:
                    tries = alike or ()
                elif alike is None:
                    tries = (template,)
                else:
                    tries = (template, *alike)
                tried = None
                for candidate in tries:
                    if candidate is tried or not startswith(candidate.first, pos):
                        continue
                    # Once the last one taken has failed, it is not tried again.
                    tried = template
                    reader = candidate.read
                    if reader is not None:
                        pos, taken, closed = reader(data, pos, groupTag, groups)
                        if taken:
                            template = candidate
                            _LEARNING[0] = 0
                            count += candidate.named * taken
                            if closed:
                                # pos is at the tag after the last group read.
                                groupTag = -1
                            break
                        continue
                    groupEnd = _fromTemplate(data, pos, candidate, fields)
                    if groupEnd >= 0:
                        template = candidate
                        _LEARNING[0] = 0
                        layout = candidate.layout
                        named = candidate.named
                        candidate.taken += groupEnd - pos
                        pos = groupEnd
                        if candidate.taken >= _COMPILE_AFTER:
                            _compileTemplate(candidate)
                        break
                    del fields[:]
                else:
                    # Read field by field.
                    append = fields.append
                    extend = fields.extend
                    trail = []
                    afterHole = 0
                    break
            continue
        nameLength = (data[pos + 1] << 8) | data[pos + 2]
        valueAt = pos + 3 + nameLength
        fieldEnd = valueAt + 2 + ((data[valueAt] << 8) | data[valueAt + 1])
        # A field cut short by the end of the message leaves fieldEnd past the end
        # (a shorter slice cannot equal a known field: its own lengths would say it
        # is longer), and the next data[pos] raises.
        raw = data[pos:fieldEnd]
        candidates = runs.get(raw)
        if candidates is not None:
            for run in candidates:
                if startswith(run[0], pos):
                    break
            else:
                run = None
            if run is not None:
                extend(run[1])  # type: ignore[misc]
                pos += run[2]
                hole = run[3]
                if hole is None or not startswith(hole[0], pos):
                    afterHole = 0
                    if trail is not None:
                        if not trail:
                            trailKey = raw
                        trail.append((run, False))
                    continue
                # The field that came after the run last time, and was not known.
                name, tag, headerLength = hole[1:]
                valueAt = pos + headerLength
                valueStart = valueAt + 2
                pos = valueStart + ((data[valueAt] << 8) | data[valueAt + 1])
                if pos - valueStart > 32767:
                    raise _Slow()
                if tag in strings:
                    value: Value = data[valueStart:pos].decode()
                elif (tag == 0x21 or tag == 0x23) and pos - valueStart == 4:
                    value = int32(data, valueStart)[0]
                elif tag == 0x30:
                    # (Cut short by the end, it is a shorter slice; then the
                    # next data[pos] raises.)
                    value = data[valueStart:pos]
                else:
                    if pos > end:
                        raise _Slow()
                    if decoder is None:
                        decoder = _Decoder(data, DEFAULT_LIMITS, False)
                    value = decoder.value(
                        tag, valueStart, pos, "", valueAt - headerLength
                    )
                append((name, tag, value))  # type: ignore[misc]
                afterHole = 2
                if trail is not None:
                    if not trail:
                        trailKey = raw
                    trail.append((run, True))
                continue
        field = known.get(raw)
        if field is not None:
            # Not a run taken whole: the group is not one for _GROUPS.
            trail = None
            # Known fields, one after the other until one is not: a run.
            first = raw
            runStart = pos
            runFrom = len(fields)
            while True:
                append(field)  # type: ignore[misc]
                pos = fieldEnd
                tag = data[pos]
                if tag < 0x10:
                    break
                nameLength = (data[pos + 1] << 8) | data[pos + 2]
                valueAt = pos + 3 + nameLength
                fieldEnd = valueAt + 2 + ((data[valueAt] << 8) | data[valueAt + 1])
                raw = data[pos:fieldEnd]
                field = known.get(raw)
                if field is None:
                    break
                if fieldEnd - runStart > _MAX_RUN_BYTES:
                    # A run ends before it grows over the bound, to be taken
                    # whole next time; the next one starts at this field.
                    break
            after: Optional[_Hole] = None
            if pos - runStart <= _MAX_RUN_BYTES:
                if field is None and tag != 0x34 and tag != 0x37 and tag != 0x4A:
                    # The run ends at a field not known (a value tag): if it is an
                    # additional value or its name is known, it is the run's hole.
                    if not nameLength:
                        after = (data[pos:valueAt], None, tag, 3)
                    else:
                        holeName = names.get(data[pos + 3 : valueAt])
                        if holeName is not None:
                            after = (data[pos:valueAt], holeName, tag, valueAt - pos)
                if after is not None or len(fields) - runFrom > 1:
                    _remember(
                        runs,
                        first,
                        (
                            data[runStart:pos],
                            tuple(fields[runFrom:]),
                            pos - runStart,
                            after,
                        ),
                        pos - runStart + _FIELD_COST * (len(fields) - runFrom),
                    )
            if tag < 0x10 or field is not None:
                continue
            # The field not known that ends the run is its hole, if it has one,
            # unless the run starts with an additional value: those have the
            # same octets as other attributes' values and collection members',
            # so such a run is most often met by chance in a message, and the
            # field after it is one not seen yet rather than one that changes.
            afterHole = 0 if after is None or fields[runFrom][0] is None else 1
        elif afterHole != 2 or tag == 0x34:
            # Not a run taken whole, nor a hole.
            trail = None
            afterHole = 0
        # A field not known: raw, nameLength, valueAt and fieldEnd are its own.
        # Where it is a hole (afterHole), it is not put in _FIELDS: its value
        # most likely changes from one group to the next.  Right after a hole
        # taken with its run, it is one too if its name is known (seen before,
        # with another value), and a group read so far as runs and holes goes
        # on with it as a hole after no run.
        if nameLength:
            rawName = data[pos + 3 : valueAt]
            name = names.get(rawName)
            if name is None:
                name = rawName.decode("ascii")
                if valueAt > end or nameLength > _MAX_NAME:
                    raise _Slow()
                if nameLength <= _MAX_CACHED_NAME:
                    if len(names) >= _MAX_NAMES:
                        names.clear()
                    names[rawName] = name
                # A name not seen before: not a hole.
                trail = None
                afterHole = 0
        else:
            # An additional value; _checkLayout refuses one that opens a group.
            name = None
        valueStart = valueAt + 2
        pos = fieldEnd
        if pos - valueStart > 32767:
            raise _Slow()
        if tag in strings:
            value = data[valueStart:pos].decode()
        elif (tag == 0x21 or tag == 0x23) and pos - valueStart == 4:
            value = int32(data, valueStart)[0]
        elif tag == 0x34:
            if pos != valueStart:
                raise _Slow()
            value, pos, members, _ = _fastCollection(data, pos, 1)
            count += members
            append((name, tag, value))  # type: ignore[misc]
            continue
        else:
            if pos > end:
                raise _Slow()
            if decoder is None:
                decoder = _Decoder(data, DEFAULT_LIMITS, False)
            value = decoder.value(tag, valueStart, pos, "", valueAt - nameLength - 3)
        field = (name, tag, value)
        append(field)  # type: ignore[misc]
        if afterHole:
            if trail is not None:
                headerLength = 3 + nameLength
                trail.append(
                    ((b"", (), 0, (raw[:headerLength], name, tag, headerLength)), True)
                )
        elif pos - valueAt < 256 and nameLength < 256 and pos <= end:
            if len(known) >= _MAX_FIELDS:
                known.clear()
            known[raw] = field
    if count > DEFAULT_LIMITS.maxAttributes:
        raise _Slow()
    return _newMessage((major, minor), code, requestId, tuple(groups)), pos


def _template(
    trail: List[Tuple[_Run, bool]], layout: Tuple[Optional[str], ...], named: int
) -> _Template:
    """
    @return: the entry of C{_GROUPS} for a group read as the runs of C{trail},
        each with whether its hole came after it.
    """
    segments: List[_Segment] = []
    holes: List[Tuple[int, int]] = []
    index = 0
    for run, holeTaken in trail:
        hole = run[3]
        index += len(run[1])
        if holeTaken:
            assert hole is not None
            segments.append(
                (
                    run[0] + hole[0],
                    run[1],
                    run[2] + hole[3],
                    (hole[1], hole[2], hole[3]),
                )
            )
            holes.append((index, hole[2]))
            index += 1
        else:
            segments.append((run[0], run[1], run[2], None))
    groupLayout = _GroupLayout(layout)
    groupLayout.holes = tuple(holes)
    return _Template(tuple(segments), groupLayout, named)


def _fromTemplate(
    data: bytes, pos: int, template: _Template, fields: List[_Field]
) -> int:
    """
    Read the group at C{pos} as an entry of C{_GROUPS} says it is made: its runs
    (the same octets) and the holes after them (the same octets up to the value,
    which is read with the same checks as the fast path's), then the end of the
    group.  The caller has checked the octets of the first segment.

    @param fields: the group's fields so far (none), extended with what is read.
    @return: the offset of the tag that ends the group; -1 if the octets are not
        those of C{template} (C{fields} then holds part of the group: the caller
        drops it).
    @raise Exception: on a fault, as L{_fastDecode}.
    """
    startswith = data.startswith
    append = fields.append
    extend = fields.extend
    first = True
    for octets, runFields, length, hole in template.segments:
        if first:
            first = False
        elif not startswith(octets, pos):
            return -1
        extend(runFields)
        pos += length
        if hole is None:
            continue
        name, tag, headerLength = hole
        valueStart = pos + 2
        pos = valueStart + ((data[pos] << 8) | data[pos + 1])
        if pos - valueStart > 32767:
            raise _Slow()
        if tag in _STRING_TAGS:
            value: Value = data[valueStart:pos].decode()
        elif (tag == 0x21 or tag == 0x23) and pos - valueStart == 4:
            value = _int32(data, valueStart)[0]
        elif tag == 0x30:
            value = data[valueStart:pos]
        else:
            value, pos = _holeValue(data, valueStart - 2, tag, headerLength)
        append((name, tag, value))
    # Past the end of the message, this raises.
    return pos if data[pos] < 0x10 else -1


def _holeValue(data: bytes, pos: int, tag: int, headerLength: int) -> Tuple[Value, int]:
    """
    Read the value of a hole other than a string, an octetString or a 32-bit
    integer.

    @param pos: the offset of its value-length.
    @param headerLength: the length of the field's octets before C{pos}.
    @return: the value and the offset after it.
    @raise Exception: on a fault, as L{_fastDecode}.
    """
    valueStart = pos + 2
    end = valueStart + ((data[pos] << 8) | data[pos + 1])
    if end - valueStart > 32767 or end > len(data):
        raise _Slow()
    value = _Decoder(data, DEFAULT_LIMITS, False).value(
        tag, valueStart, end, "", pos - headerLength
    )
    return value, end


def _compileTemplate(template: _Template) -> None:
    """
    Give an entry of C{_GROUPS} a reader of its own: a function, compiled once,
    C{read(data, pos, tag, groups)}, that reads groups of tag C{tag} made as the
    entry says, from C{pos}, one after the other for as long as they are: each
    group with the same checks as L{_fromTemplate} (the octets of the runs and
    of the holes' headers the same; a string hole's value valid UTF-8; an integer
    hole's value-length 4, compared with the octets before it, else the group is
    not the entry's), and appended to C{groups} as a L{Group}.  The octets from
    one string (or octetString) hole, or one hole of another syntax, to the next
    are read in one C{struct} call: the runs and the integers between them, and
    after the last hole the tag that ends the group.

    The reader returns C{(pos, taken, closed)}: how many groups it took, and
    either C{closed} with C{pos} the offset of the delimiter tag after the last
    of them (another tag than C{tag}, or the end-of-attributes tag), or not with
    C{pos} the first octet of a group of tag C{tag} it did not take (the caller
    reads that group another way).

    Only names made here and integers go into the source; the octets and field
    objects of the entry are bound to those names.
    """
    segments = template.segments
    if (
        len(segments) > _MAX_COMPILED_SEGMENTS
        or len(template.layout) > _MAX_COMPILED_FIELDS
    ):
        return
    namespace: dict[str, Any] = {
        "Group": Group,
        "newObject": _newObject,
        "setLayout": _setGroupLayout,
        "setTag": _setGroupTag,
        "setFields": _setGroupFields,
        "holeValue": _holeValue,
        "Slow": _Slow,
        "LAYOUT": template.layout,
    }
    body: List[str] = []
    items: List[str] = []
    # The struct format of the octets not read yet, and what its items are: the
    # name of the constant octets to compare, or None for a value.
    chain: List[Tuple[str, Optional[str]]] = []
    chains = 0

    def flush(final: bool) -> Optional[str]:
        """
        The code reading the octets of C{chain} at C{p}, plus the tag after
        them if C{final}: return the name of the tuple read.
        """
        nonlocal chains
        if not chain and not final:
            return None
        size = Struct(">" + "".join(format for format, _ in chain)).size
        number = chains
        chains += 1
        result = f"r{number}"
        formats = [format for format, _ in chain] + (["B"] if final else [])
        namespace[f"U{number}"] = Struct(">" + "".join(formats)).unpack_from
        body.append(f"        if p + {size + final} > end:")
        body.append("            break")
        body.append(f"        {result} = U{number}(data, p)")
        compared = [
            f"{result}[{index}] != {constant}"
            for index, (_, constant) in enumerate(chain)
            if constant is not None
        ]
        if compared:
            body.append(f"        if {' or '.join(compared)}:")
            body.append("            break")
        if size:
            body.append(f"        p += {size}")
        del chain[:]
        return result

    fieldCount = 0
    for number, (octets, runFields, _, hole) in enumerate(segments):
        for runField in runFields:
            namespace[f"F{fieldCount}"] = runField
            items.append(f"F{fieldCount}")
            fieldCount += 1
        constant = f"C{number}"
        if hole is None:
            namespace[constant] = octets
            chain.append((f"{len(octets)}s", constant))
            continue
        name, tag, headerLength = hole
        namespace[f"N{number}"] = name
        if tag == 0x21 or tag == 0x23:
            namespace[constant] = octets + b"\x00\x04"
            chain.append((f"{len(octets) + 2}s", constant))
            chain.append(("i", None))
            items.append(f"(N{number}, {tag}, r{chains}[{len(chain) - 1}])")
        else:
            namespace[constant] = octets
            chain.append((f"{len(octets)}s", constant))
            flush(False)
            if tag in _STRING_TAGS or tag == 0x30:
                body.append("        valueStart = p + 2")
                body.append("        p = valueStart + ((data[p] << 8) | data[p + 1])")
                body.append("        if p - valueStart > 32767:")
                body.append("            raise Slow()")
                if tag == 0x30:
                    body.append(f"        v{number} = data[valueStart:p]")
                else:
                    body.append(f"        v{number} = data[valueStart:p].decode()")
            else:
                body.append(
                    f"        v{number}, p = holeValue(data, p, {tag}, {headerLength})"
                )
            items.append(f"(N{number}, {tag}, v{number})")
        fieldCount += 1
    last = flush(True)
    source = "\n".join(
        [
            "def read(data, pos, tag, groups):",
            "    end = len(data)",
            "    append = groups.append",
            "    taken = 0",
            "    while True:",
            "        p = pos",
            *body,
            f"        after = {last}[-1]",
            "        if after >= 0x10:",
            "            break",
            "        group = newObject(Group)",
            "        setLayout(group, LAYOUT)",
            "        setTag(group, tag)",
            f"        setFields(group, [{', '.join(items)}])",
            "        append(group)",
            "        taken += 1",
            "        if after != tag:",
            "            return p, taken, True",
            "        pos = p + 1",
            "    return pos, taken, False",
        ]
    )
    exec(compile(source, "<ipp_ntfy.ipp.decode group>", "exec"), namespace)
    template.read = namespace["read"]


def _checkLayout(layout: Tuple[Optional[str], ...]) -> int:
    """
    Check the names of a group's fields (None for an additional value): no
    additional value before the first attribute, no name twice, not too many values.

    @return: the number of attributes.
    @raise _Slow: if the group breaks a rule.
    """
    if layout[0] is None:
        raise _Slow()
    distinct = set(layout)
    additional = layout.count(None)
    named = len(layout) - additional
    if additional:
        # No attribute can have too many values unless the group has that many
        # additional values in all.
        if additional >= _MAX_VALUES:
            raise _Slow()
        distinct.discard(None)
    if len(distinct) != named:
        raise _Slow()
    if len(layout) <= _MAX_LAYOUT_FIELDS:
        if len(_LAYOUTS) >= _MAX_LAYOUTS:
            _LAYOUTS.clear()
        _LAYOUTS[layout] = named
    return named


def _forget() -> None:
    """
    Empty the fast path's caches (all but the name cache) and let it learn
    entries of C{_GROUPS} again at once: the state of a process that has decoded
    nothing (for tests and benchmarks).
    """
    for cache in (_FIELDS, _RUNS, _GROUPS, _COLLECTIONS, _LAYOUTS):
        cache.clear()
    _HELD.clear()
    _LEARNING[:] = [0, 0]


def _remember(cache: dict[bytes, List[Any]], key: bytes, entry: Any, cost: int) -> None:
    """
    Add C{entry} to C{_RUNS} or C{_COLLECTIONS} under C{key}, within the bounds of
    those caches; C{cost} is what it holds (octets and objects), roughly.
    """
    cost += len(key) + _ENTRY_COST
    held = _HELD.get(id(cache), 0) + cost if cache else cost
    candidates = cache.get(key)
    if held > _MAX_HELD:
        cache.clear()
        held = cost
        candidates = None
    if candidates is None:
        cache[key] = [entry]
    else:
        # (What an entry dropped here held is still counted: the cache is emptied
        # a little earlier.)
        if len(candidates) >= _MAX_CANDIDATES:
            del candidates[-1]
        candidates.insert(0, entry)
    _HELD[id(cache)] = held


def _fastCollection(
    data: bytes, pos: int, depth: int
) -> Tuple[Collection, int, int, int]:
    """
    The fast path's decode of a collection value at nesting level C{depth} (1 for
    the value of an attribute), whose members start at C{pos}.

    @return: the collection, the offset after its endCollection, the number of
        members at every depth, and how deep it nests (1 if no member is a
        collection).
    @raise Exception: anything unusual, as L{_fastDecode}.
    """
    cached = _COLLECTIONS
    for size in _KEY_SIZES:
        entries = cached.get(data[pos : pos + size])
        if entries is not None:
            for octets, collection, members, height in entries:
                if data.startswith(octets, pos) and depth + height <= _MAX_DEPTH + 1:
                    return collection, pos + len(octets), members, height
    if depth > _MAX_DEPTH:
        raise _Slow()
    end = len(data)
    start = pos
    names = _NAMES
    strings = _STRING_TAGS
    known = _FIELDS
    attributes: List[Attribute] = []
    memberName: Optional[str] = None
    values: List[Value] = []
    tags: List[int] = []
    members = 0
    height = 1
    decoder = None
    value: Value
    while True:
        tag = data[pos]
        if data[pos + 1] or data[pos + 2]:
            # A name on a field of a collection.
            raise _Slow()
        valueStart = pos + 5
        fieldEnd = valueStart + ((data[pos + 3] << 8) | data[pos + 4])
        if tag == 0x4A:
            if values:
                if len(values) > _MAX_VALUES:
                    raise _Slow()
                attributes.append(
                    _newAttribute(Attribute, (memberName, tuple(values), tuple(tags)))
                )
                values = []
                tags = []
            elif memberName is not None:
                # The member before has no value.
                raise _Slow()
            rawName = data[valueStart:fieldEnd]
            memberName = names.get(rawName)
            if memberName is None:
                memberName = rawName.decode("ascii")
                if not memberName or fieldEnd > end or len(rawName) > _MAX_NAME:
                    raise _Slow()
                if len(rawName) <= _MAX_CACHED_NAME:
                    if len(names) >= _MAX_NAMES:
                        names.clear()
                    names[rawName] = memberName
            members += 1
            pos = fieldEnd
            continue
        if tag == 0x37:
            if fieldEnd != valueStart:
                raise _Slow()
            if values:
                if len(values) > _MAX_VALUES:
                    raise _Slow()
                attributes.append(
                    _newAttribute(Attribute, (memberName, tuple(values), tuple(tags)))
                )
            elif memberName is not None:
                raise _Slow()
            pos = fieldEnd
            break
        if memberName is None:
            # A value before any memberAttrName.
            raise _Slow()
        if tag == 0x34:
            if fieldEnd != valueStart:
                raise _Slow()
            value, pos, inner, innerHeight = _fastCollection(data, fieldEnd, depth + 1)
            members += inner
            if innerHeight >= height:
                height = innerHeight + 1
            values.append(value)
            tags.append(tag)
            continue
        raw = data[pos:fieldEnd]
        field = known.get(raw)
        if field is not None:
            values.append(field[2])
            tags.append(tag)
            pos = fieldEnd
            continue
        if fieldEnd - valueStart > 32767:
            raise _Slow()
        if tag in strings:
            value = data[valueStart:fieldEnd].decode()
        elif (tag == 0x21 or tag == 0x23) and fieldEnd - valueStart == 4:
            value = _int32(data, valueStart)[0]
        else:
            if tag < 0x10 or fieldEnd > end:
                raise _Slow()
            if decoder is None:
                decoder = _Decoder(data, DEFAULT_LIMITS, False)
            value = decoder.value(tag, valueStart, fieldEnd, "", pos)
        values.append(value)
        tags.append(tag)
        if fieldEnd - valueStart < 254 and fieldEnd <= end:
            if len(known) >= _MAX_FIELDS:
                known.clear()
            known[raw] = (None, tag, value)
        pos = fieldEnd
    collection = _newObject(Collection)
    _setCollectionAttributes(collection, tuple(attributes))
    size = pos - start
    if _MIN_KEY <= size <= _MAX_COLLECTION_BYTES:
        for keySize in _KEY_SIZES:
            if keySize <= size:
                break
        _remember(
            cached,
            data[start : start + keySize],
            (data[start:pos], collection, members, height),
            size + _MEMBER_COST * members,
        )
    return collection, pos, members, height


def messageLength(data: bytes, start: int = 0) -> Optional[int]:
    """
    Find where the message that starts at C{start} ends, reading only tags and
    lengths (for splitting a stream of back-to-back messages).

    @return: the offset just after its end-of-attributes tag, or C{None} if C{data}
        stops before the message is complete.
    """
    done, pos = scanFields(data, start + 8)
    return pos if done else None


def scanFields(data: Union[bytes, bytearray], pos: int) -> Tuple[bool, int]:
    """
    Skip over whole fields (delimiter tags and attribute values) from C{pos}, reading
    only tags and lengths.

    @return: C{(True, offset after the end-of-attributes tag)} if it was reached, else
        C{(False, offset of the first field that C{data} does not hold whole)}, from
        where a later call can resume once more octets have arrived.
    """
    end = len(data)
    while pos < end:
        tag = data[pos]
        if tag < 0x10:
            pos += 1
            if tag == 0x03:
                return True, pos
            continue
        if pos + 3 > end:
            break
        valueAt = pos + 3 + ((data[pos + 1] << 8) | data[pos + 2])
        if valueAt + 2 > end:
            break
        fieldEnd = valueAt + 2 + ((data[valueAt] << 8) | data[valueAt + 1])
        if fieldEnd > end:
            break
        pos = fieldEnd
    return False, pos


class _Decoder:
    """
    The state of one decode: the octets, the limits and the count of attributes.
    """

    __slots__ = ("data", "end", "limits", "lenient", "attributeCount")

    def __init__(self, data: bytes, limits: Limits, lenient: bool) -> None:
        self.data = data
        self.end = len(data)
        self.limits = limits
        self.lenient = lenient
        self.attributeCount = 0

    def error(self, offset: int, reason: str) -> IppDecodeError:
        return IppDecodeError(offset, reason)

    def truncated(self, offset: int, reason: str) -> IppDecodeError:
        return IppDecodeError(offset, reason, incomplete=True)

    def message(self) -> Tuple[Message, int]:
        data = self.data
        end = self.end
        limits = self.limits
        lenient = self.lenient
        if end > limits.maxMessageBytes:
            raise self.error(
                limits.maxMessageBytes,
                f"message of {end} bytes is over the limit of "
                f"{limits.maxMessageBytes} bytes",
            )
        if end < 8:
            raise self.truncated(
                end, f"truncated header: {end} bytes, the header needs 8"
            )
        major, minor, code, requestId = _header(data, 0)
        maxValues = limits.maxValues
        maxName = limits.maxNameBytes
        maxValue = limits.maxValueBytes
        strings = _STRING_TAGS
        groups: List[Group] = []
        groupTag = -1
        attributes: List[Attribute] = []
        seen: dict[str, int] = {}
        name = ""
        values: List[Value] = []
        tags: List[int] = []
        pos = 8
        while True:
            if pos >= end:
                raise self.truncated(pos, "missing end-of-attributes-tag (0x03)")
            tag = data[pos]
            if tag < 0x10:
                if values:
                    attributes.append(
                        _newAttribute(Attribute, (name, tuple(values), tuple(tags)))
                    )
                    values = []
                if groupTag >= 0:
                    groups.append(Group(groupTag, attributes))
                pos += 1
                if tag == 0x03:
                    break
                if tag == 0x00 and not lenient:
                    raise self.error(
                        pos - 1, "reserved delimiter tag 0x00 is not a valid group"
                    )
                groupTag = tag
                attributes = []
                seen = {}
                continue
            if pos + 3 > end:
                raise self.truncated(pos + 1, "truncated name-length")
            nameLength = (data[pos + 1] << 8) | data[pos + 2]
            start = pos
            pos += 3
            if nameLength:
                if nameLength > maxName:
                    raise self.error(
                        pos - 2,
                        f"name-length {nameLength} is over the limit of {maxName}",
                    )
                nameEnd = pos + nameLength
                if nameEnd > end:
                    raise self.truncated(
                        pos - 2,
                        f"name-length {nameLength} goes past the end of the message "
                        f"({end - pos} bytes left)",
                    )
                if values:
                    attributes.append(
                        _newAttribute(Attribute, (name, tuple(values), tuple(tags)))
                    )
                    values = []
                if groupTag < 0:
                    raise self.error(start, "attribute before any group tag")
                name = self.name(pos, nameEnd)
                if name in seen and not lenient:
                    raise self.error(
                        start,
                        f"attribute {name!r} appears twice in the group (first at "
                        f"offset {seen[name]})",
                    )
                seen[name] = start
                self.attributeCount += 1
                if self.attributeCount > limits.maxAttributes:
                    raise self.error(
                        start,
                        f"more than {limits.maxAttributes} attributes in the message",
                    )
                tags = []
                pos = nameEnd
            elif not values:
                if groupTag < 0:
                    raise self.error(start, "attribute before any group tag")
                raise self.error(
                    start,
                    "additional value (name-length 0) with no attribute before it",
                )
            elif len(values) >= maxValues:
                raise self.error(
                    start, f"attribute {name!r} has more than {maxValues} values"
                )
            if pos + 2 > end:
                raise self.truncated(pos, "truncated value-length")
            valueLength = (data[pos] << 8) | data[pos + 1]
            if valueLength > maxValue:
                raise self.error(
                    pos, f"value-length {valueLength} is over the limit of {maxValue}"
                )
            valueStart = pos + 2
            pos = valueStart + valueLength
            if pos > end:
                raise self.truncated(
                    valueStart - 2,
                    f"value-length {valueLength} goes past the end of the message "
                    f"({end - valueStart} bytes left)",
                )
            # The common syntaxes inline; everything else in value().
            if tag in strings:
                try:
                    value: Value = data[valueStart:pos].decode()
                except UnicodeDecodeError as e:
                    value = self.badUtf8(e, valueStart, tag, name)
            elif (tag == 0x21 or tag == 0x23) and valueLength == 4:
                value = _int32(data, valueStart)[0]
            elif tag == 0x34:
                value, pos = self.collection(start, valueStart, pos, name, 1)
            else:
                value = self.value(tag, valueStart, pos, name, start)
            values.append(value)
            tags.append(tag)
        return Message((major, minor), code, requestId, groups), pos

    def name(self, start: int, end: int) -> str:
        raw = self.data[start:end]
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError as e:
            if self.lenient:
                return raw.decode("utf-8", "surrogateescape")
            raise self.error(
                start + e.start, "attribute name is not US-ASCII"
            ) from None

    def badUtf8(
        self, e: UnicodeDecodeError, valueStart: int, tag: int, name: str
    ) -> str:
        if self.lenient:
            return self.data[valueStart : valueStart + len(e.object)].decode(
                "utf-8", "surrogateescape"
            )
        raise self.error(
            valueStart + e.start,
            f"invalid UTF-8 in {valueTagName(tag)} value of {name!r}",
        ) from None

    def value(
        self, tag: int, start: int, end: int, name: str, fieldStart: int
    ) -> Value:
        """
        Convert the value octets C{data[start:end]} of tag C{tag}, other than a
        collection.
        """
        data = self.data
        length = end - start
        fixed = _FIXED.get(tag)
        if fixed is not None and length != fixed:
            if self.lenient:
                return Unknown(tag, data[start:end])
            raise self.error(
                start - 2,
                f"{valueTagName(tag)} value of {name!r} has length {length}, "
                f"must be {fixed}",
            )
        if tag == 0x21 or tag == 0x23:
            return _int32(data, start)[0]
        if tag == 0x22:
            octet = data[start]
            if octet > 1:
                if self.lenient:
                    return Unknown(tag, data[start:end])
                raise self.error(
                    start, f"boolean value of {name!r} is {octet}, must be 0 or 1"
                )
            return octet == 1
        if tag < 0x20:
            if length:
                return OutOfBand(tag, data[start:end])
            return _OUT_OF_BAND[tag]
        if tag == 0x30:
            return data[start:end]
        if tag == 0x31:
            fields = _dateTime(data, start)
            try:
                direction = fields[7].decode("ascii")
            except UnicodeDecodeError:
                direction = ""
            if direction not in ("+", "-"):
                if self.lenient:
                    return Unknown(tag, data[start:end])
                raise self.error(
                    start + 8,
                    f"dateTime value of {name!r} has UTC direction {fields[7]!r}, "
                    "must be '+' or '-'",
                )
            year, month, day, hour, minute, second, deciSecond = fields[:7]
            return DateTime(
                year,
                month,
                day,
                hour,
                minute,
                second,
                deciSecond,
                direction,
                fields[8],
                fields[9],
            )
        if tag == 0x32:
            return Resolution(*_resolution(data, start))
        if tag == 0x33:
            return Range(*_range(data, start))
        if tag == 0x35 or tag == 0x36:
            return self.withLanguage(tag, start, end, name)
        if tag == 0x37:
            raise self.error(fieldStart, "endCollection (0x37) outside a collection")
        if tag == 0x4A:
            raise self.error(fieldStart, "memberAttrName (0x4A) outside a collection")
        if tag == 0x7F and length < 4 and not self.lenient:
            raise self.error(
                start - 2,
                f"extension (0x7F) value of {name!r} has length {length}, "
                "too short for its 4-octet tag",
            )
        if tag == 0x7F and length >= 4 and data[start] & 0x80 and not self.lenient:
            raise self.error(
                start,
                f"extension (0x7F) value of {name!r} has a tag with the high bit set",
            )
        return Unknown(tag, data[start:end])

    def withLanguage(self, tag: int, start: int, end: int, name: str) -> Value:
        data = self.data
        syntax = valueTagName(tag)
        if end - start >= 2:
            languageLength = (data[start] << 8) | data[start + 1]
            textAt = start + 2 + languageLength
            if textAt + 2 <= end:
                textLength = (data[textAt] << 8) | data[textAt + 1]
                if textAt + 2 + textLength == end:
                    language = data[start + 2 : textAt]
                    text = data[textAt + 2 : end]
                    try:
                        return TextWithLanguage(text.decode(), language.decode())
                    except UnicodeDecodeError:
                        if not self.lenient:
                            raise self.error(
                                start, f"invalid UTF-8 in {syntax} value of {name!r}"
                            ) from None
                        return TextWithLanguage(
                            text.decode("utf-8", "surrogateescape"),
                            language.decode("utf-8", "surrogateescape"),
                        )
        if self.lenient:
            return Unknown(tag, data[start:end])
        raise self.error(
            start,
            f"{syntax} value of {name!r}: the language and text lengths do not add up "
            f"to the value length {end - start}",
        )

    def collection(
        self, fieldStart: int, valueStart: int, pos: int, name: str, depth: int
    ) -> Tuple[Collection, int]:
        """
        Decode a collection whose begCollection field starts at C{fieldStart} and
        whose members start at C{pos}.

        @return: the collection and the offset after its endCollection.
        """
        # The begCollection value is empty per RFC 8010 (CUPS refuses any other);
        # a decoded message could not keep it, so it is refused in both modes.
        if pos != valueStart:
            raise self.error(
                valueStart - 2,
                f"begCollection of {name!r} has value-length {pos - valueStart}, "
                "must be 0",
            )
        if depth > self.limits.maxDepth:
            raise self.error(
                fieldStart,
                f"collection {name!r} nests deeper than {self.limits.maxDepth} levels",
            )
        data = self.data
        end = self.end
        lenient = self.lenient
        limits = self.limits
        members: List[Attribute] = []
        memberName = ""
        values: List[Value] = []
        tags: List[int] = []
        expectingName = True
        while True:
            if pos >= end:
                raise self.truncated(
                    pos,
                    f"collection {name!r} (opened at offset {fieldStart}) is not "
                    "closed at the end of the message",
                )
            tag = data[pos]
            start = pos
            if tag < 0x10:
                raise self.error(
                    pos,
                    f"collection {name!r} (opened at offset {fieldStart}) is not "
                    f"closed before delimiter tag 0x{tag:02x}",
                )
            if pos + 3 > end:
                raise self.truncated(pos + 1, "truncated name-length")
            nameLength = (data[pos + 1] << 8) | data[pos + 2]
            pos += 3
            if nameLength:
                raise self.error(
                    start,
                    f"{valueTagName(tag)} inside collection {name!r} has a name "
                    f"(name-length {nameLength}); members are named by "
                    "memberAttrName",
                )
            if pos + 2 > end:
                raise self.truncated(pos, "truncated value-length")
            valueLength = (data[pos] << 8) | data[pos + 1]
            if valueLength > limits.maxValueBytes:
                raise self.error(
                    pos,
                    f"value-length {valueLength} is over the limit of "
                    f"{limits.maxValueBytes}",
                )
            vstart = pos + 2
            pos = vstart + valueLength
            if pos > end:
                raise self.truncated(
                    vstart - 2,
                    f"value-length {valueLength} goes past the end of the message "
                    f"({end - vstart} bytes left)",
                )
            if tag == 0x37:
                if values:
                    members.append(
                        _newAttribute(
                            Attribute, (memberName, tuple(values), tuple(tags))
                        )
                    )
                elif not expectingName:
                    raise self.error(
                        start,
                        f"member {memberName!r} of collection {name!r} has no value",
                    )
                if valueLength:
                    raise self.error(
                        vstart - 2,
                        f"endCollection of {name!r} has value-length {valueLength}, "
                        "must be 0",
                    )
                return Collection(members), pos
            if tag == 0x4A:
                if values:
                    members.append(
                        _newAttribute(
                            Attribute, (memberName, tuple(values), tuple(tags))
                        )
                    )
                    values = []
                    tags = []
                elif not expectingName:
                    raise self.error(
                        start,
                        f"member {memberName!r} of collection {name!r} has no value",
                    )
                if not valueLength and not lenient:
                    raise self.error(
                        vstart - 2, f"empty memberAttrName in collection {name!r}"
                    )
                memberName = self.name(vstart, pos)
                self.attributeCount += 1
                if self.attributeCount > limits.maxAttributes:
                    raise self.error(
                        start,
                        f"more than {limits.maxAttributes} attributes in the message",
                    )
                expectingName = False
                continue
            if expectingName:
                raise self.error(
                    start,
                    f"{valueTagName(tag)} value in collection {name!r} with no "
                    "memberAttrName before it",
                )
            if len(values) >= limits.maxValues:
                raise self.error(
                    start,
                    f"member {memberName!r} has more than {limits.maxValues} values",
                )
            if tag == 0x34:
                value: Value
                value, pos = self.collection(start, vstart, pos, memberName, depth + 1)
            elif tag in _STRING_TAGS:
                try:
                    value = data[vstart:pos].decode()
                except UnicodeDecodeError as e:
                    value = self.badUtf8(e, vstart, tag, memberName)
            else:
                value = self.value(tag, vstart, pos, memberName, start)
            values.append(value)
            tags.append(tag)


_STRING_TAGS = frozenset({0x41, 0x42, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49})
