"""
The subscription store of the relay, in one SQLite file.

The file is in WAL mode with C{synchronous=FULL}: a committed transaction survives a
crash or a power cut.  Every SQLite call runs in one dedicated thread, which owns the
connection; the reactor thread only queues operations and gets their results.

Group commit: the write operations asked for in one reactor turn (and any asked
for while the previous transaction was running) run as one transaction, so one
C{fsync} covers them all.  Each runs in its own savepoint: one that fails is
rolled back alone and fails alone, and the others are committed.  Only when the
transaction as a whole fails (the file is locked, the disk is full) do all of them
fail, with nothing written.  Arguments are checked before an operation is queued,
so a bad one fails at once and never reaches a transaction.  C{appendEvents} calls
next to each other in a batch (every publish of a turn) share one savepoint and one
statement of each kind; should that fail, each runs again alone.

Reads go the same way, in the order asked, so a read sees every write asked for
before it.

The schema is versioned with C{PRAGMA user_version}; L{MIGRATIONS} takes a file
from any older version to the current one when it is opened, and a file of a newer
version is refused (L{SchemaVersionError}).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from queue import SimpleQueue
from typing import (
    Any,
    Callable,
    Collection,
    Dict,
    FrozenSet,
    List,
    Optional,
    Protocol,
    Sequence,
    Tuple,
    TypeVar,
)

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import (
    IDelayedCall,
    IReactorCore,
    IReactorFromThreads,
    IReactorTime,
)
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from ..interfaces import ISubscriptionStore
from ..subscription import Subscription
from . import (
    QUEUE_LIMIT_REACHED,
    DeadLetter,
    QueuedEvent,
    QueueStats,
    StoreClosedError,
    _checkCount,
    _checkEntries,
    _checkInteger,
    _checkOptionalInteger,
    _checkSequences,
    _checkSubscription,
    _checkText,
    _checkTime,
    _queueStats,
)

_T = TypeVar("_T")

#: C{PRAGMA application_id} of a store file ("IPPN").
APPLICATION_ID = 0x4950504E


class StoreFileError(Exception):
    """
    A file cannot be used as a store.

    @ivar path: the file.
    @ivar reason: why, in words.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class SchemaVersionError(StoreFileError):
    """
    The file was written by a newer version of ipp_ntfy, with a schema this one
    does not know.

    @ivar version: the schema version of the file.
    @ivar supported: the newest version this one knows.
    """

    def __init__(self, path: str, version: int, supported: int) -> None:
        super().__init__(
            path,
            f"schema version {version} is newer than this ipp_ntfy knows "
            f"({supported}); open it with the version that wrote it",
        )
        self.version = version
        self.supported = supported


# The schema.  One migration per version: MIGRATIONS[n] takes a file from version n
# to n + 1, inside the transaction that also sets user_version.  To change the
# schema, append a migration; never edit one that has shipped.

_VERSION_1 = (
    # lastSequence is the last sequence number given (assigned in the transaction
    # that stores the event, so gap-free); headNotBefore is the notBefore of the
    # oldest queued event (NULL when none), kept so that the due heads are read from
    # an index instead of by scanning the queue.  AUTOINCREMENT: an id is never
    # given twice, even that of the newest subscription after it is cancelled.
    """
    CREATE TABLE subscriptions (
        subscriptionId INTEGER PRIMARY KEY AUTOINCREMENT,
        printerUri TEXT NOT NULL,
        jobId INTEGER,
        recipientUri TEXT,
        pullMethod TEXT,
        events TEXT NOT NULL,
        userData BLOB NOT NULL,
        charset TEXT NOT NULL,
        naturalLanguage TEXT NOT NULL,
        leaseDuration INTEGER,
        leaseExpiresAt REAL,
        timeInterval INTEGER NOT NULL,
        subscriberUserName TEXT NOT NULL,
        createdAt REAL NOT NULL,
        lastSequence INTEGER NOT NULL DEFAULT 0,
        headNotBefore REAL
    )
    """,
    "CREATE INDEX subscriptionsByPrinter ON subscriptions (printerUri, jobId)",
    """
    CREATE INDEX subscriptionsByHead ON subscriptions (headNotBefore, subscriptionId)
    WHERE headNotBefore IS NOT NULL AND recipientUri IS NOT NULL
    """,
    """
    CREATE TABLE history (
        subscriptionId INTEGER NOT NULL
            REFERENCES subscriptions (subscriptionId) ON DELETE CASCADE,
        sequence INTEGER NOT NULL,
        payload BLOB NOT NULL,
        storedAt REAL NOT NULL,
        PRIMARY KEY (subscriptionId, sequence)
    )
    """,
    # The queue kept its own copy of the payload until version 3: history is pruned
    # on its own schedule, and a queued event must outlive that.
    """
    CREATE TABLE queue (
        subscriptionId INTEGER NOT NULL
            REFERENCES subscriptions (subscriptionId) ON DELETE CASCADE,
        sequence INTEGER NOT NULL,
        payload BLOB NOT NULL,
        attempts INTEGER NOT NULL,
        queuedAt REAL NOT NULL,
        notBefore REAL NOT NULL,
        lastError TEXT,
        PRIMARY KEY (subscriptionId, sequence)
    )
    """,
    # No foreign key: dead letters outlive their subscription.
    """
    CREATE TABLE deadLetters (
        subscriptionId INTEGER NOT NULL,
        sequence INTEGER NOT NULL,
        recipientUri TEXT NOT NULL,
        payload BLOB NOT NULL,
        attempts INTEGER NOT NULL,
        queuedAt REAL NOT NULL,
        deadAt REAL NOT NULL,
        lastError TEXT NOT NULL,
        PRIMARY KEY (subscriptionId, sequence)
    )
    """,
    f"PRAGMA application_id = {APPLICATION_ID}",
)


def _statements(*statements: str) -> Callable[[sqlite3.Connection], None]:
    """
    @return: a migration that executes C{statements} in order.
    """

    def migrate(connection: sqlite3.Connection) -> None:
        for statement in statements:
            connection.execute(statement)

    return migrate


# Version 3: a queued event's payload is NULL when it is the one in the event's
# history row, and read from there.  The queue has a payload of its own where the
# history may not have one: an event queued again from the dead letters (its history
# row may be gone), and one whose history row is pruned while it is queued (pruning
# copies the payload into the queue first).  Each event's octets are written once
# instead of twice, and the queue's rows, small now, are written and deleted at a
# fraction of the cost.  The rebuilt table is the same but for the payload column,
# which may be NULL; where a queued payload equals its history row's, it is dropped.
_VERSION_3 = (
    """
    CREATE TABLE queue3 (
        subscriptionId INTEGER NOT NULL
            REFERENCES subscriptions (subscriptionId) ON DELETE CASCADE,
        sequence INTEGER NOT NULL,
        payload BLOB,
        attempts INTEGER NOT NULL,
        queuedAt REAL NOT NULL,
        notBefore REAL NOT NULL,
        lastError TEXT,
        PRIMARY KEY (subscriptionId, sequence)
    )
    """,
    """
    INSERT INTO queue3 (subscriptionId, sequence, payload, attempts, queuedAt,
        notBefore, lastError)
    SELECT q.subscriptionId, q.sequence,
        CASE WHEN h.payload = q.payload THEN NULL ELSE q.payload END,
        q.attempts, q.queuedAt, q.notBefore, q.lastError
    FROM queue AS q LEFT JOIN history AS h
        ON h.subscriptionId = q.subscriptionId AND h.sequence = q.sequence
    """,
    "DROP TABLE queue",
    "ALTER TABLE queue3 RENAME TO queue",
)


#: The migrations, in order: C{MIGRATIONS[n]} takes a file from schema version
#: C{n} to C{n + 1}.  The current version is C{len(MIGRATIONS)}.
MIGRATIONS: List[Callable[[sqlite3.Connection], None]] = [
    _statements(*_VERSION_1),
    # Version 2: named cursors that sources keep across restarts.
    _statements("CREATE TABLE cursors (name TEXT PRIMARY KEY, value TEXT NOT NULL)"),
    _statements(*_VERSION_3),
]


def _connect(path: str, timeout: float) -> sqlite3.Connection:
    """
    Open a connection in the calling thread, which is the only one that may use
    it; transactions are begun and ended explicitly.
    """
    return sqlite3.connect(path, timeout=timeout, isolation_level=None)


def _openDatabase(path: str, busyTimeout: float) -> sqlite3.Connection:
    """
    Open, configure and migrate the store file.

    @raise StoreFileError: if the file is not a store of ours.
    @raise SchemaVersionError: if its schema is newer than L{MIGRATIONS}.
    """
    connection = _connect(path, busyTimeout)
    try:
        # Outside a transaction: these are no-ops in one.
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = FULL")
        _migrate(connection, path)
    except BaseException:
        connection.close()
        raise
    return connection


def _migrate(connection: sqlite3.Connection, path: str) -> None:
    """
    Bring the schema to the current version, in one transaction.
    """
    connection.execute("BEGIN IMMEDIATE")
    try:
        [(version,)] = connection.execute("PRAGMA user_version").fetchall()
        [(applicationId,)] = connection.execute("PRAGMA application_id").fetchall()
        if applicationId not in (0, APPLICATION_ID):
            raise StoreFileError(
                path, f"not an ipp_ntfy store (application id {applicationId:#x})"
            )
        if version > len(MIGRATIONS):
            raise SchemaVersionError(path, version, len(MIGRATIONS))
        if version == 0:
            [(tables,)] = connection.execute(
                "SELECT COUNT(*) FROM sqlite_master"
            ).fetchall()
            if tables:
                raise StoreFileError(path, "not an ipp_ntfy store (it has tables)")
        for migration in MIGRATIONS[version:]:
            migration(connection)
        if version < len(MIGRATIONS):
            connection.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


# The operations.  Each takes the connection and runs in the store's thread, inside
# the batch's transaction (a write in its own savepoint).

_SUBSCRIPTION_COLUMNS = (
    "printerUri, jobId, recipientUri, pullMethod, events, userData, charset, "
    "naturalLanguage, leaseDuration, leaseExpiresAt, timeInterval, "
    "subscriberUserName, createdAt"
)


def _subscriptionValues(subscription: Subscription) -> Tuple[object, ...]:
    return (
        subscription.printerUri,
        subscription.jobId,
        subscription.recipientUri,
        subscription.pullMethod,
        json.dumps(list(subscription.events)),
        bytes(subscription.userData),
        subscription.charset,
        subscription.naturalLanguage,
        subscription.leaseDuration,
        subscription.leaseExpiresAt,
        subscription.timeInterval,
        subscription.subscriberUserName,
        subscription.createdAt,
    )


def _subscriptionFromRow(row: Sequence[Any]) -> Subscription:
    """
    @param row: C{subscriptionId}, L{_SUBSCRIPTION_COLUMNS}, C{lastSequence}.
    """
    # Subscription(...) with these fields, quicker than the frozen dataclass's
    # __init__ (which only stores them, one object.__setattr__ each): the tests
    # compare the two.  The PostgreSQL store reads its rows with this too.
    subscription = _newObject(Subscription)
    _setAttribute(
        subscription,
        "__dict__",
        {
            "subscriptionId": row[0],
            "printerUri": row[1],
            "events": _eventsOf(row[5]),
            "recipientUri": row[3],
            "pullMethod": row[4],
            "jobId": row[2],
            "userData": row[6],
            "charset": row[7],
            "naturalLanguage": row[8],
            "leaseDuration": row[9],
            "leaseExpiresAt": row[10],
            "timeInterval": row[11],
            "subscriberUserName": row[12],
            "createdAt": row[13],
            "lastSequence": row[14],
        },
    )
    return subscription


#: The event names of a subscription, by their stored JSON text: a few lists
#: serve every subscription, and a tuple of strings may be shared.
_eventsByText: Dict[str, Tuple[str, ...]] = {}


def _eventsOf(text: str) -> Tuple[str, ...]:
    """
    C{tuple(json.loads(text))}, remembered for the next subscription with the
    same events (up to a few hundred different texts).
    """
    events = _eventsByText.get(text)
    if events is None:
        events = tuple(json.loads(text))
        if len(_eventsByText) >= 256:
            _eventsByText.clear()
        _eventsByText[text] = events
    return events


_SELECT_SUBSCRIPTIONS = (
    f"SELECT subscriptionId, {_SUBSCRIPTION_COLUMNS}, lastSequence FROM subscriptions"
)


def _createSubscription(
    connection: sqlite3.Connection, subscription: Subscription
) -> Subscription:
    cursor = connection.execute(
        f"INSERT INTO subscriptions ({_SUBSCRIPTION_COLUMNS}) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        _subscriptionValues(subscription),
    )
    return subscription.replace(subscriptionId=cursor.lastrowid, lastSequence=0)


def _getSubscription(
    connection: sqlite3.Connection, subscriptionId: int
) -> Optional[Subscription]:
    row = connection.execute(
        f"{_SELECT_SUBSCRIPTIONS} WHERE subscriptionId = ?", (subscriptionId,)
    ).fetchone()
    return None if row is None else _subscriptionFromRow(row)


def _listSubscriptions(
    connection: sqlite3.Connection, printerUri: Optional[str], jobId: Optional[int]
) -> List[Subscription]:
    conditions = []
    parameters: List[object] = []
    if printerUri is not None:
        conditions.append("printerUri = ?")
        parameters.append(printerUri)
    if jobId is not None:
        conditions.append("jobId = ?")
        parameters.append(jobId)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    rows = connection.execute(
        f"{_SELECT_SUBSCRIPTIONS}{where} ORDER BY subscriptionId", parameters
    )
    return [_subscriptionFromRow(row) for row in rows]


def _updateSubscription(
    connection: sqlite3.Connection, subscription: Subscription
) -> bool:
    assignments = ", ".join(
        f"{column.strip()} = ?" for column in _SUBSCRIPTION_COLUMNS.split(",")
    )
    cursor = connection.execute(
        f"UPDATE subscriptions SET {assignments} WHERE subscriptionId = ?",
        (*_subscriptionValues(subscription), subscription.subscriptionId),
    )
    return cursor.rowcount > 0


def _cancelSubscription(connection: sqlite3.Connection, subscriptionId: int) -> bool:
    # The history and the queue go by ON DELETE CASCADE.
    cursor = connection.execute(
        "DELETE FROM subscriptions WHERE subscriptionId = ?", (subscriptionId,)
    )
    return cursor.rowcount > 0


def _refreshHeads(
    connection: sqlite3.Connection, subscriptionIds: Sequence[int]
) -> None:
    """
    Set C{headNotBefore} of these subscriptions after their queue changed.
    """
    connection.executemany(
        _REFRESH_HEAD, [(subscriptionId,) for subscriptionId in subscriptionIds]
    )


#: Sets C{headNotBefore} of one subscription (the parameter) from its queue.
_REFRESH_HEAD = (
    "UPDATE subscriptions SET headNotBefore = ("
    " SELECT notBefore FROM queue"
    " WHERE queue.subscriptionId = subscriptions.subscriptionId"
    " ORDER BY sequence LIMIT 1"
    ") WHERE subscriptionId = ?"
)


#: Joins each queued event (C{q}) to its history row (C{h}), if any: its payload is
#: C{COALESCE(q.payload, h.payload)} (see L{_VERSION_3}).  The PostgreSQL store
#: reads its queue with this too.
_HISTORY_OF_QUEUED = (
    "LEFT JOIN history AS h"
    " ON h.subscriptionId = q.subscriptionId AND h.sequence = q.sequence"
)


def _bury(
    connection: sqlite3.Connection,
    subscriptionId: int,
    condition: str,
    parameters: Sequence[Tuple[object, ...]],
    error: str,
    now: float,
) -> None:
    """
    Move the queued events of a subscription that match C{condition} (on
    C{sequence}, with each of C{parameters} in turn) to the dead letters.
    """
    connection.executemany(
        "INSERT OR REPLACE INTO deadLetters (subscriptionId, sequence, recipientUri,"
        " payload, attempts, queuedAt, deadAt, lastError)"
        " SELECT q.subscriptionId, q.sequence, COALESCE(s.recipientUri, ''),"
        " COALESCE(q.payload, h.payload), q.attempts, q.queuedAt, ?, ?"
        " FROM queue AS q JOIN subscriptions AS s USING (subscriptionId)"
        f" {_HISTORY_OF_QUEUED} WHERE q.subscriptionId = ? AND q.{condition}",
        [(now, error, subscriptionId, *values) for values in parameters],
    )
    connection.executemany(
        f"DELETE FROM queue WHERE subscriptionId = ? AND {condition}",
        [(subscriptionId, *values) for values in parameters],
    )


def _appendEvents(
    connection: sqlite3.Connection,
    entries: Sequence[Tuple[int, bytes]],
    now: float,
    maxQueued: int,
) -> List[int]:
    return _appendMany(connection, [(entries, now)], maxQueued)[0]


def _appendMany(
    connection: sqlite3.Connection,
    calls: Sequence[Tuple[Sequence[Tuple[int, bytes]], float]],
    maxQueued: int,
) -> List[List[int]]:
    """
    Several C{appendEvents} calls as one: the same rows as running them one
    after the other, with one statement of each kind for them all.

    @param calls: the C{(entries, now)} of each call, in order.
    @return: the sequence numbers of each call's entries.
    """
    # subscriptionId -> [lastSequence, isPush, queued here, queue was empty,
    # now of its last queued event], or None if missing.
    known: Dict[int, Optional[List[Any]]] = {}
    results = []
    historyRows = []
    queueRows = []
    # The payloads are bound as bytearrays, the same BLOB: the sqlite3 module
    # binds a bytearray as it is, but first asks adapters about bytes (a failed
    # attribute lookup on a type, with its error message formatted, for each).
    # A payload queued for several subscriptions is copied once.
    payload: Optional[bytes] = None
    blob = bytearray()
    for entries, now in calls:
        sequences = []
        for subscriptionId, octets in entries:
            if octets is not payload:
                payload = octets
                blob = bytearray(octets)
            if subscriptionId not in known:
                row = connection.execute(
                    "SELECT lastSequence, recipientUri IS NOT NULL,"
                    " headNotBefore IS NULL FROM subscriptions"
                    " WHERE subscriptionId = ?",
                    (subscriptionId,),
                ).fetchone()
                known[subscriptionId] = (
                    None if row is None else [row[0], row[1], 0, row[2], now]
                )
            state = known[subscriptionId]
            if state is None:
                sequences.append(0)
                continue
            state[0] += 1
            sequence = state[0]
            historyRows.append((subscriptionId, sequence, blob, now))
            if state[1]:
                # The payload is read from the history row (see _VERSION_3).
                queueRows.append((subscriptionId, sequence, now, now))
                state[2] += 1
                state[4] = now
            sequences.append(sequence)
        results.append(sequences)
    connection.executemany(
        "INSERT INTO history (subscriptionId, sequence, payload, storedAt)"
        " VALUES (?, ?, ?, ?)",
        historyRows,
    )
    connection.executemany(
        "INSERT INTO queue (subscriptionId, sequence, attempts, queuedAt, notBefore)"
        " VALUES (?, ?, 0, ?, ?)",
        queueRows,
    )
    connection.executemany(
        "UPDATE subscriptions SET lastSequence = ? WHERE subscriptionId = ?",
        [
            (state[0], subscriptionId)
            for subscriptionId, state in known.items()
            if state is not None
        ],
    )
    changedHeads = []
    for subscriptionId, state in known.items():
        if state is not None and state[2]:
            # A queue that was empty holds only what was just queued.
            buried = not (state[3] and state[2] <= maxQueued) and _limitQueue(
                connection, subscriptionId, state[2], maxQueued, state[4], state[0]
            )
            # New events go last: the head only changes if the queue was empty
            # or the limit took its oldest events away.
            if state[3] or buried:
                changedHeads.append(subscriptionId)
    _refreshHeads(connection, changedHeads)
    return results


def _limitQueue(
    connection: sqlite3.Connection,
    subscriptionId: int,
    appended: int,
    maxQueued: int,
    now: float,
    lastSequence: int,
) -> bool:
    """
    Apply the queue limit after C{appended} events were queued at once, as if each
    had, on arrival, moved the oldest queued event away if the queue was at the
    limit; as the new events come last, that moves the oldest of all.

    The queue is only counted when it may be over the limit: its sequence numbers
    are distinct and lie between its oldest and C{lastSequence}, so when that span
    is within the limit, so is the queue (one index lookup instead of a count that
    grows with the queue).

    @return: whether any event was moved away.
    """
    [(oldest,)] = connection.execute(
        "SELECT MIN(sequence) FROM queue WHERE subscriptionId = ?", (subscriptionId,)
    ).fetchall()
    if oldest is None or lastSequence - oldest + 1 <= maxQueued:
        return False
    [(depth,)] = connection.execute(
        "SELECT COUNT(*) FROM queue WHERE subscriptionId = ?", (subscriptionId,)
    ).fetchall()
    excess = appended - max(0, maxQueued - (depth - appended))
    if excess <= 0:
        return False
    [(cutoff,)] = connection.execute(
        "SELECT sequence FROM queue WHERE subscriptionId = ?"
        " ORDER BY sequence LIMIT 1 OFFSET ?",
        (subscriptionId, excess - 1),
    ).fetchall()
    _bury(
        connection,
        subscriptionId,
        "sequence <= ?",
        [(cutoff,)],
        QUEUE_LIMIT_REACHED,
        now,
    )
    return True


def _eventsSince(
    connection: sqlite3.Connection, subscriptionId: int, sequence: int, limit: int
) -> List[Tuple[int, bytes, float]]:
    rows = connection.execute(
        "SELECT sequence, payload, storedAt FROM history"
        " WHERE subscriptionId = ? AND sequence >= ? ORDER BY sequence LIMIT ?",
        (subscriptionId, sequence, limit),
    )
    return [(row[0], row[1], row[2]) for row in rows]


def _pruneHistory(
    connection: sqlite3.Connection, keepLast: int, olderThan: float
) -> int:
    dropped = 0
    subscriptionIds = connection.execute(
        "SELECT subscriptionId FROM subscriptions"
    ).fetchall()
    for (subscriptionId,) in subscriptionIds:
        # The newest event beyond the last keepLast: it and those before it may go.
        row = connection.execute(
            "SELECT sequence FROM history WHERE subscriptionId = ?"
            " ORDER BY sequence DESC LIMIT 1 OFFSET ?",
            (subscriptionId, keepLast),
        ).fetchone()
        if row is not None:
            # A queued event that reads its payload from a row that goes gets a
            # copy of it first (see _VERSION_3).
            connection.execute(
                "UPDATE queue SET payload = (SELECT h.payload FROM history AS h"
                "  WHERE h.subscriptionId = queue.subscriptionId"
                "  AND h.sequence = queue.sequence)"
                " WHERE subscriptionId = ? AND sequence <= ? AND payload IS NULL"
                " AND EXISTS (SELECT 1 FROM history AS h"
                "  WHERE h.subscriptionId = queue.subscriptionId"
                "  AND h.sequence = queue.sequence AND h.storedAt < ?)",
                (subscriptionId, row[0], olderThan),
            )
            dropped += connection.execute(
                "DELETE FROM history"
                " WHERE subscriptionId = ? AND sequence <= ? AND storedAt < ?",
                (subscriptionId, row[0], olderThan),
            ).rowcount
    return dropped


#: The push subscriptions whose oldest queued event is due, oldest first.  The
#: condition on recipientUri lets the partial index serve.
_DUE_HEADS = (
    "SELECT subscriptionId, recipientUri FROM subscriptions"
    " WHERE headNotBefore <= ? AND recipientUri IS NOT NULL"
    " ORDER BY headNotBefore, subscriptionId LIMIT ?"
)


#: The first queued events of one subscription, with their payloads.
_DUE_EVENTS = (
    "SELECT q.sequence, COALESCE(q.payload, h.payload), q.attempts, q.queuedAt,"
    f" q.notBefore, q.lastError FROM queue AS q {_HISTORY_OF_QUEUED}"
    " WHERE q.subscriptionId = ? ORDER BY q.sequence LIMIT ?"
)


def _dueEvents(
    connection: sqlite3.Connection,
    now: float,
    perSubscription: int,
    limit: int,
    exclude: FrozenSet[int],
) -> List[QueuedEvent]:
    due: List[QueuedEvent] = []
    if perSubscription == 0 or limit == 0:
        return due
    # Each head gives at least one event: no more heads than limit are used.
    heads = connection.execute(_DUE_HEADS, (now, limit + len(exclude))).fetchall()
    for subscriptionId, recipientUri in heads:
        if len(due) >= limit:
            break
        if subscriptionId in exclude:
            continue
        rows = connection.execute(
            _DUE_EVENTS, (subscriptionId, min(perSubscription, limit - len(due)))
        )
        for row in rows:
            # QueuedEvent(subscriptionId, row[0], recipientUri, *row[1:]), quicker
            # than the frozen dataclass's __init__ (which only stores them).
            event = _newObject(QueuedEvent)
            _setAttribute(
                event,
                "__dict__",
                {
                    "subscriptionId": subscriptionId,
                    "sequenceNumber": row[0],
                    "recipientUri": recipientUri,
                    "payload": row[1],
                    "attempts": row[2],
                    "queuedAt": row[3],
                    "notBefore": row[4],
                    "lastError": row[5],
                },
            )
            due.append(event)
    return due


_newObject = object.__new__
_setAttribute = object.__setattr__


def _nextDue(connection: sqlite3.Connection) -> Optional[float]:
    [(nextDue,)] = connection.execute(
        "SELECT MIN(headNotBefore) FROM subscriptions"
        " WHERE headNotBefore IS NOT NULL AND recipientUri IS NOT NULL"
    ).fetchall()
    return None if nextDue is None else float(nextDue)


def _getCursor(connection: sqlite3.Connection, name: str) -> Optional[str]:
    row = connection.execute(
        "SELECT value FROM cursors WHERE name = ?", (name,)
    ).fetchone()
    return None if row is None else str(row[0])


def _setCursor(connection: sqlite3.Connection, name: str, value: Optional[str]) -> None:
    if value is None:
        connection.execute("DELETE FROM cursors WHERE name = ?", (name,))
    else:
        connection.execute(
            "INSERT INTO cursors (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )


def _acknowledge(
    connection: sqlite3.Connection, subscriptionId: int, sequences: Sequence[int]
) -> None:
    """
    @param sequences: ascending, each once (as L{_checkSequences} gives them).
    """
    distinct = sequences
    if distinct and distinct[-1] - distinct[0] + 1 == len(distinct):
        # A run of sequence numbers (a delivered prefix): one range delete.
        connection.execute(
            "DELETE FROM queue WHERE subscriptionId = ? AND sequence BETWEEN ? AND ?",
            (subscriptionId, distinct[0], distinct[-1]),
        )
    else:
        connection.executemany(
            "DELETE FROM queue WHERE subscriptionId = ? AND sequence = ?",
            [(subscriptionId, sequence) for sequence in distinct],
        )
    connection.execute(_REFRESH_HEAD, (subscriptionId,))


def _reschedule(
    connection: sqlite3.Connection,
    subscriptionId: int,
    sequences: Sequence[int],
    notBefore: float,
    error: str,
) -> None:
    connection.executemany(
        "UPDATE queue SET attempts = attempts + 1, notBefore = ?, lastError = ?"
        " WHERE subscriptionId = ? AND sequence = ?",
        [(notBefore, error, subscriptionId, sequence) for sequence in sequences],
    )
    _refreshHeads(connection, [subscriptionId])


def _deadLetter(
    connection: sqlite3.Connection,
    subscriptionId: int,
    sequences: Sequence[int],
    error: str,
    now: float,
) -> None:
    _bury(
        connection,
        subscriptionId,
        "sequence = ?",
        [(sequence,) for sequence in sequences],
        error,
        now,
    )
    _refreshHeads(connection, [subscriptionId])


def _deadLetters(
    connection: sqlite3.Connection, subscriptionId: Optional[int]
) -> List[DeadLetter]:
    select = (
        "SELECT subscriptionId, sequence, recipientUri, payload, attempts, queuedAt,"
        " deadAt, lastError FROM deadLetters"
    )
    if subscriptionId is None:
        rows = connection.execute(f"{select} ORDER BY subscriptionId, sequence")
    else:
        rows = connection.execute(
            f"{select} WHERE subscriptionId = ? ORDER BY sequence", (subscriptionId,)
        )
    return [DeadLetter(*row) for row in rows]


def _replayDeadLetters(
    connection: sqlite3.Connection, subscriptionId: Optional[int], now: float
) -> int:
    # Those of push subscriptions that still exist (of one, if given).
    replayable = (
        "FROM deadLetters AS d JOIN subscriptions AS s USING (subscriptionId)"
        " WHERE s.recipientUri IS NOT NULL"
    )
    parameters: Tuple[object, ...] = ()
    if subscriptionId is not None:
        replayable += " AND d.subscriptionId = ?"
        parameters = (subscriptionId,)
    owners = [
        owner
        for (owner,) in connection.execute(
            f"SELECT DISTINCT d.subscriptionId {replayable}", parameters
        )
    ]
    # With their own payload: their history rows may be gone.
    queued = connection.execute(
        "INSERT INTO queue (subscriptionId, sequence, payload, attempts, queuedAt,"
        " notBefore) SELECT d.subscriptionId, d.sequence, d.payload, 0, ?, ?"
        f" {replayable} AND NOT EXISTS (SELECT 1 FROM queue AS q"
        " WHERE q.subscriptionId = d.subscriptionId AND q.sequence = d.sequence)",
        (now, now, *parameters),
    ).rowcount
    connection.executemany(
        "DELETE FROM deadLetters WHERE subscriptionId = ?",
        [(owner,) for owner in owners],
    )
    _refreshHeads(connection, owners)
    return queued


def _replayHistory(
    connection: sqlite3.Connection, subscriptionId: int, fromSequence: int, now: float
) -> int:
    # Without a payload of their own, as appended events: a later pruning copies
    # it first.  (One writer at a time here; the PostgreSQL store, where another
    # store may prune at the same time, copies them.)
    queued = connection.execute(
        "INSERT INTO queue (subscriptionId, sequence, attempts, queuedAt, notBefore)"
        " SELECT h.subscriptionId, h.sequence, 0, ?, ?"
        " FROM history AS h JOIN subscriptions AS s USING (subscriptionId)"
        " WHERE h.subscriptionId = ? AND h.sequence >= ?"
        " AND s.recipientUri IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM queue AS q"
        " WHERE q.subscriptionId = h.subscriptionId AND q.sequence = h.sequence)",
        (now, now, subscriptionId, fromSequence),
    ).rowcount
    _refreshHeads(connection, [subscriptionId])
    return queued


def _queueDepth(connection: sqlite3.Connection, subscriptionId: Optional[int]) -> int:
    if subscriptionId is None:
        [(depth,)] = connection.execute("SELECT COUNT(*) FROM queue").fetchall()
    else:
        [(depth,)] = connection.execute(
            "SELECT COUNT(*) FROM queue WHERE subscriptionId = ?", (subscriptionId,)
        ).fetchall()
    return int(depth)


def _queueStatsOf(connection: sqlite3.Connection, now: float) -> QueueStats:
    # Counted from the queue's primary key index, and each subscription's first
    # event found there: no payload is read.
    recipients = connection.execute(
        "SELECT s.recipientUri, c.depth, (SELECT q.queuedAt FROM queue AS q"
        "  WHERE q.subscriptionId = c.subscriptionId ORDER BY q.sequence LIMIT 1)"
        " FROM (SELECT subscriptionId, COUNT(*) AS depth FROM queue"
        "  GROUP BY subscriptionId) AS c"
        " JOIN subscriptions AS s ON s.subscriptionId = c.subscriptionId"
        " WHERE s.recipientUri IS NOT NULL"
    ).fetchall()
    subscriptions = connection.execute(
        "SELECT recipientUri IS NOT NULL,"
        " leaseExpiresAt IS NOT NULL AND leaseExpiresAt <= ?, COUNT(*)"
        " FROM subscriptions GROUP BY 1, 2",
        (now,),
    ).fetchall()
    [(deadLetters,)] = connection.execute("SELECT COUNT(*) FROM deadLetters").fetchall()
    return _queueStats(recipients, subscriptions, deadLetters)


# Running operations.

#: What became of one operation of a batch: C{(True, result)} or
#: C{(False, failure)}.
_Outcome = Tuple[bool, Any]


@dataclass(slots=True)
class _Operation:
    """
    An operation waiting for its batch.

    @ivar run: what to do with the connection.
    @ivar write: whether it changes anything.
    @ivar deferred: fires with its outcome.
    @ivar appending: for C{appendEvents} of the SQLite store, its entries and
        time, so that the calls next to each other in a batch run as one
        (L{_mergeAppends}).
    @ivar locks: for the PostgreSQL store, the subscriptions whose rows it
        changes (locked first, in id order, by the batch).
    """

    run: Callable[[Any], Any]
    write: bool
    deferred: Deferred[Any]
    appending: Optional[Tuple[Sequence[Tuple[int, bytes]], float]] = None
    locks: Sequence[int] = ()


def _mergeAppends(batch: List[_Operation], maxQueued: int) -> List[_Operation]:
    """
    Replace each run of two or more C{appendEvents} operations next to each other
    in C{batch} by one operation that runs them together (L{_appendMany}): one
    savepoint and one statement of each kind instead of one set per call, as
    every publish of a reactor turn is one call.  If that one fails, each call
    runs again alone in its own savepoint, so that one that fails still fails
    alone.

    @return: the operations to run; the merged ones fire the Deferreds of the
        calls they stand for.
    """
    merged: List[_Operation] = []
    run: List[_Operation] = []

    def endRun() -> None:
        if len(run) == 1:
            merged.append(run[0])
        elif run:
            merged.append(_mergedAppend(list(run), maxQueued))
        del run[:]

    for operation in batch:
        if operation.appending is not None:
            run.append(operation)
        else:
            endRun()
            merged.append(operation)
    endRun()
    return merged


def _mergedAppend(operations: List[_Operation], maxQueued: int) -> _Operation:
    """
    One operation for several C{appendEvents} operations; see L{_mergeAppends}.
    """
    calls = [operation.appending for operation in operations]

    def run(connection: sqlite3.Connection) -> List[_Outcome]:
        connection.execute("SAVEPOINT appends")
        try:
            results = _appendMany(connection, calls, maxQueued)  # type: ignore[arg-type]
        except Exception:
            connection.execute("ROLLBACK TO appends")
            connection.execute("RELEASE appends")
        else:
            connection.execute("RELEASE appends")
            return [(True, result) for result in results]
        outcomes: List[_Outcome] = []
        for call in calls:
            assert call is not None
            connection.execute("SAVEPOINT append")
            try:
                result = _appendEvents(connection, call[0], call[1], maxQueued)
            except Exception:
                outcomes.append((False, Failure()))
                connection.execute("ROLLBACK TO append")
            else:
                outcomes.append((True, result))
            connection.execute("RELEASE append")
        return outcomes

    def fired(outcomes: List[_Outcome]) -> None:
        for operation, (succeeded, value) in zip(operations, outcomes):
            if succeeded:
                operation.deferred.callback(value)
            else:
                operation.deferred.errback(value)

    def failed(reason: Failure) -> None:
        for operation in operations:
            operation.deferred.errback(reason)

    deferred: Deferred[List[_Outcome]] = Deferred()
    deferred.addCallbacks(fired, failed)
    return _Operation(run, True, deferred)


def _runBatch(
    connection: sqlite3.Connection,
    operations: Sequence[Tuple[Callable[[sqlite3.Connection], Any], bool]],
) -> Tuple[bool, List[_Outcome]]:
    """
    Run operations in order: those that write, in one transaction, each in a
    savepoint, so that one that fails is rolled back alone.  A batch with one
    operation that writes needs no savepoint: if it fails, the transaction is
    rolled back, which comes to the same.

    @return: whether a transaction was committed, and the outcome of each.
    @raise Exception: if the transaction as a whole failed (it is rolled back).
    """
    writes = sum(1 for _, write in operations if write)
    savepoints = writes > 1
    outcomes: List[_Outcome] = []
    if writes:
        connection.execute("BEGIN IMMEDIATE")
    try:
        for run, write in operations:
            if write and savepoints:
                connection.execute("SAVEPOINT operation")
            try:
                result = run(connection)
            except Exception:
                outcomes.append((False, Failure()))
                if write:
                    if savepoints:
                        connection.execute("ROLLBACK TO operation")
                        connection.execute("RELEASE operation")
                    else:
                        connection.execute("ROLLBACK")
            else:
                outcomes.append((True, result))
                if write and savepoints:
                    connection.execute("RELEASE operation")
        committed = connection.in_transaction
        if committed:
            connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return committed, outcomes


class SQLiteWorker(Protocol):
    """
    Runs calls one at a time, in the order submitted, always in the same thread.
    """

    def submit(self, work: Callable[[], _T]) -> Deferred[_T]:
        """
        @return: a L{Deferred} that fires in the reactor thread with the result of
            C{work()}, or with its exception.
        """

    def stop(self) -> None:
        """
        End after the calls already submitted.
        """


class ThreadWorker:
    """
    A L{SQLiteWorker}: a dedicated thread.  It is a daemon thread, so a process
    whose reactor stopped without closing the store can still exit; what it had
    committed is safe on disk.

    @ivar ident: the thread's identifier.
    """

    def __init__(self, reactor: IReactorFromThreads, name: str = "ipp_ntfy-sqlite"):
        """
        Start the thread.

        @param reactor: where results are reported, with C{callFromThread}.
        @param name: the thread's name.
        """
        self._reactor = reactor
        self._work: SimpleQueue[Optional[Tuple[Callable[[], Any], Deferred[Any]]]] = (
            SimpleQueue()
        )
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        assert self._thread.ident is not None
        self.ident: int = self._thread.ident

    def submit(self, work: Callable[[], _T]) -> Deferred[_T]:
        """
        See L{SQLiteWorker.submit}.
        """
        deferred: Deferred[_T] = Deferred()
        self._work.put((work, deferred))
        return deferred

    def stop(self) -> None:
        """
        See L{SQLiteWorker.stop}.
        """
        self._work.put(None)

    def _run(self) -> None:
        while True:
            item = self._work.get()
            if item is None:
                return
            work, deferred = item
            try:
                result = work()
            except BaseException:
                self._reactor.callFromThread(deferred.errback, Failure())
            else:
                self._reactor.callFromThread(deferred.callback, result)


_OPEN, _CLOSING, _SHUTTING, _CLOSED = "open", "closing", "shutting", "closed"


class _GroupCommitStore:
    """
    What the SQLite and PostgreSQL stores share: operations asked for in one
    reactor turn (and any asked for while the previous batch runs) go to the
    worker thread as one batch, run by the subclass's C{_runBatch}; closing
    finishes what was asked for, then closes the connection and ends the thread.

    @ivar maxQueued: the most events queued per subscription.
    @ivar commits: how many transactions it has committed (for tests and
        statistics).
    """

    log = Logger()

    def __init__(
        self, reactor: IReactorTime, worker: SQLiteWorker, maxQueued: int = 10000
    ) -> None:
        """
        Use the subclass's C{open}.

        @param reactor: schedules the batches.
        @param worker: runs them, with the connection it opened.
        @param maxQueued: the most events queued per subscription, 1 or more.
        """
        if _checkInteger(maxQueued, "maxQueued") < 1:
            raise ValueError(f"maxQueued must be 1 or more, not {maxQueued}")
        self.maxQueued = maxQueued
        self.commits = 0
        self._reactor = reactor
        self._worker = worker
        self._connection: Optional[Any] = None
        self._pending: List[_Operation] = []
        self._flushCall: Optional[IDelayedCall] = None
        self._inFlight = False
        self._state = _OPEN
        self._closeWaiters: List[Deferred[None]] = []
        self._shutdownTrigger: Optional[Any] = None

    def _adopt(self, connection: Any) -> None:
        """
        Take the connection just opened, and close it when the reactor shuts
        down.
        """
        self._connection = connection
        if IReactorCore.providedBy(self._reactor):
            self._shutdownTrigger = IReactorCore(self._reactor).addSystemEventTrigger(
                "before", "shutdown", self._closeAtShutdown
            )

    def _runBatch(
        self, connection: Any, batch: List[_Operation]
    ) -> Tuple[List[_Operation], Deferred[Tuple[bool, List[_Outcome]]]]:
        """
        Start running a batch on the worker.

        @return: the operations as run (in the order of the outcomes), and a
            Deferred of whether the transaction committed and each outcome.
        """
        raise NotImplementedError()

    def _enqueue(
        self,
        run: Callable[[Any], _T],
        write: bool,
        *,
        appending: Optional[Tuple[Sequence[Tuple[int, bytes]], float]] = None,
        locks: Sequence[int] = (),
    ) -> Deferred[_T]:
        """
        Queue an operation for the next batch.
        """
        if self._state != _OPEN:
            return fail(StoreClosedError())
        deferred: Deferred[_T] = Deferred()
        self._pending.append(_Operation(run, write, deferred, appending, locks))
        self._scheduleFlush()
        return deferred

    def _read(self, run: Callable[[Any], _T]) -> Deferred[_T]:
        return self._enqueue(run, False)

    def _scheduleFlush(self) -> None:
        # One batch at a time: what comes in while one runs waits for the next.
        if self._flushCall is None and not self._inFlight and self._pending:
            self._flushCall = self._reactor.callLater(0, self._flush)

    def _flush(self) -> None:
        """
        Hand the pending operations to the worker, as one batch.
        """
        self._flushCall = None
        pending, self._pending = self._pending, []
        self._inFlight = True
        connection = self._connection
        assert connection is not None
        batch, running = self._runBatch(connection, pending)
        running.addBoth(self._batchDone, batch)

    def _batchDone(
        self, result: Tuple[bool, List[_Outcome]] | Failure, batch: List[_Operation]
    ) -> None:
        self._inFlight = False
        if isinstance(result, Failure):
            self.log.warn(
                "a transaction of {count} operations failed: {error}",
                count=len(batch),
                error=result.getErrorMessage(),
            )
            for operation in batch:
                operation.deferred.errback(result)
        else:
            committed, outcomes = result
            if committed:
                self.commits += 1
            for operation, (succeeded, value) in zip(batch, outcomes):
                if succeeded:
                    operation.deferred.callback(value)
                else:
                    operation.deferred.errback(value)
        if self._pending:
            self._scheduleFlush()
        elif self._state == _CLOSING:
            self._shutDown()

    # Closing.

    def close(self) -> Deferred[None]:
        """
        See L{ISubscriptionStore.close}: refuse new operations, finish the ones
        asked for, close the connection and end the thread.

        @return: a L{Deferred} that fires when all that is done.
        """
        if self._state == _CLOSED:
            return succeed(None)
        closed: Deferred[None] = Deferred()
        self._closeWaiters.append(closed)
        if self._state == _OPEN:
            self._state = _CLOSING
            if self._shutdownTrigger is not None:
                IReactorCore(self._reactor).removeSystemEventTrigger(
                    self._shutdownTrigger
                )
                self._shutdownTrigger = None
            if not self._pending and not self._inFlight:
                self._shutDown()
        return closed

    def _closeAtShutdown(self) -> Deferred[None]:
        self._shutdownTrigger = None
        return self.close()

    def _shutDown(self) -> None:
        self._state = _SHUTTING
        connection = self._connection
        assert connection is not None
        closing = self._worker.submit(connection.close)
        self._worker.stop()
        closing.addBoth(self._closed)

    def _closed(self, result: None | Failure) -> None:
        self._state = _CLOSED
        waiters, self._closeWaiters = self._closeWaiters, []
        for waiter in waiters:
            if isinstance(result, Failure):
                waiter.errback(result)
            else:
                waiter.callback(None)


@implementer(ISubscriptionStore)
class SQLiteStore(_GroupCommitStore):
    """
    L{ISubscriptionStore} in a SQLite file; see the module for how it works.
    Open one with L{SQLiteStore.open}.

    Every method checks its arguments first: a bad one (a L{TypeError} or
    L{ValueError}) fails the returned L{Deferred} at once.  After L{close}, every
    method fails with L{StoreClosedError}.

    It behaves as L{MemoryStore <ipp_ntfy.store.memory.MemoryStore>} does (the
    same tests hold both to it); see there for the queue limit, pull
    subscriptions and replays.

    @ivar maxQueued: see L{ISubscriptionStore.maxQueued}.
    @ivar commits: how many transactions it has committed (for tests and
        statistics).
    """

    @classmethod
    def open(
        cls,
        path: str,
        reactor: IReactorTime,
        maxQueued: int = 10000,
        busyTimeout: float = 5.0,
        worker: Optional[SQLiteWorker] = None,
    ) -> Deferred[SQLiteStore]:
        """
        Open (or create) a store file, migrating its schema if it is older.  If the
        reactor provides L{IReactorCore}, the store is closed before it shuts down.

        @param path: the file.
        @param reactor: the reactor (C{callLater}, C{callFromThread}).
        @param maxQueued: the most events queued per subscription.
        @param busyTimeout: how long to wait, in seconds, for a lock that another
            process holds on the file before failing.
        @param worker: runs the SQLite calls; by default a new L{ThreadWorker}.
        @return: a L{Deferred} that fires with the open store, or fails with
            L{StoreFileError} or L{SchemaVersionError} if the file is not usable,
            or with the error of SQLite.
        """
        if worker is None:
            worker = ThreadWorker(IReactorFromThreads(reactor))
        try:
            store = cls(reactor, worker, maxQueued)
        except (TypeError, ValueError):
            worker.stop()
            return fail()

        def opened(connection: sqlite3.Connection) -> SQLiteStore:
            store._adopt(connection)
            return store

        def failed(reason: Failure) -> Failure:
            worker.stop()
            return reason

        opening = worker.submit(lambda: _openDatabase(path, busyTimeout))
        return opening.addCallbacks(opened, failed)

    # Running operations.

    def _runBatch(
        self, connection: Any, batch: List[_Operation]
    ) -> Tuple[List[_Operation], Deferred[Tuple[bool, List[_Outcome]]]]:
        batch = _mergeAppends(batch, self.maxQueued)
        operations = [(operation.run, operation.write) for operation in batch]
        return batch, self._worker.submit(lambda: _runBatch(connection, operations))

    def _write(self, run: Callable[[sqlite3.Connection], _T]) -> Deferred[_T]:
        return self._enqueue(run, True)

    # ISubscriptionStore.

    def createSubscription(self, subscription: Subscription) -> Deferred[Subscription]:
        """
        See L{ISubscriptionStore.createSubscription}.  The C{subscriptionId} and
        C{lastSequence} given are ignored.
        """
        try:
            checked = _checkSubscription(subscription)
        except TypeError:
            return fail()
        return self._write(lambda c: _createSubscription(c, checked))

    def getSubscription(self, subscriptionId: int) -> Deferred[Optional[Subscription]]:
        """
        See L{ISubscriptionStore.getSubscription}.
        """
        try:
            _checkInteger(subscriptionId, "subscriptionId")
        except TypeError:
            return fail()
        return self._read(lambda c: _getSubscription(c, subscriptionId))

    def listSubscriptions(
        self, printerUri: Optional[str] = None, jobId: Optional[int] = None
    ) -> Deferred[List[Subscription]]:
        """
        See L{ISubscriptionStore.listSubscriptions}: with neither argument, all of
        them.
        """
        try:
            if printerUri is not None:
                _checkText(printerUri, "printerUri")
            _checkOptionalInteger(jobId, "jobId")
        except TypeError:
            return fail()
        return self._read(lambda c: _listSubscriptions(c, printerUri, jobId))

    def updateSubscription(self, subscription: Subscription) -> Deferred[bool]:
        """
        See L{ISubscriptionStore.updateSubscription}.
        """
        try:
            checked = _checkSubscription(subscription)
        except TypeError:
            return fail()
        return self._write(lambda c: _updateSubscription(c, checked))

    def cancelSubscription(self, subscriptionId: int) -> Deferred[bool]:
        """
        See L{ISubscriptionStore.cancelSubscription}.
        """
        try:
            _checkInteger(subscriptionId, "subscriptionId")
        except TypeError:
            return fail()
        return self._write(lambda c: _cancelSubscription(c, subscriptionId))

    def appendEvents(
        self, entries: Sequence[Tuple[int, bytes]], now: float
    ) -> Deferred[List[int]]:
        """
        See L{ISubscriptionStore.appendEvents}, and the queue limit of
        L{MemoryStore <ipp_ntfy.store.memory.MemoryStore>}.  One call is one
        savepoint, whatever the number of entries; the calls made one after the
        other in one reactor turn share one savepoint and one statement of each
        kind (each still gets its own result, or its own failure).
        """
        try:
            checked = _checkEntries(entries)
            at = _checkTime(now, "now")
        except (TypeError, ValueError):
            return fail()
        maxQueued = self.maxQueued
        return self._enqueue(
            lambda c: _appendEvents(c, checked, at, maxQueued),
            True,
            appending=(checked, at),
        )

    def eventsSince(
        self, subscriptionId: int, sequence: int, limit: int
    ) -> Deferred[List[Tuple[int, bytes, float]]]:
        """
        See L{ISubscriptionStore.eventsSince}.
        """
        try:
            _checkInteger(subscriptionId, "subscriptionId")
            _checkInteger(sequence, "sequence")
            _checkCount(limit, "limit")
        except (TypeError, ValueError):
            return fail()
        return self._read(lambda c: _eventsSince(c, subscriptionId, sequence, limit))

    def pruneHistory(self, keepLast: int, olderThan: float) -> Deferred[int]:
        """
        See L{ISubscriptionStore.pruneHistory}.
        """
        try:
            _checkCount(keepLast, "keepLast")
            before = _checkTime(olderThan, "olderThan")
        except (TypeError, ValueError):
            return fail()
        return self._write(lambda c: _pruneHistory(c, keepLast, before))

    def dueEvents(
        self,
        now: float,
        perSubscription: int,
        limit: int,
        exclude: Collection[int] = (),
    ) -> Deferred[List[QueuedEvent]]:
        """
        See L{ISubscriptionStore.dueEvents}.  Heads due at the same time come by
        subscription id.
        """
        try:
            at = _checkTime(now, "now")
            _checkCount(perSubscription, "perSubscription")
            _checkCount(limit, "limit")
            excluded = frozenset(exclude)
        except (TypeError, ValueError):
            return fail()
        return self._read(lambda c: _dueEvents(c, at, perSubscription, limit, excluded))

    def nextDue(self) -> Deferred[Optional[float]]:
        """
        See L{ISubscriptionStore.nextDue}.
        """
        return self._read(_nextDue)

    def getCursor(self, name: str) -> Deferred[Optional[str]]:
        """
        See L{ISubscriptionStore.getCursor}.
        """
        if not isinstance(name, str):
            return fail(TypeError(f"name must be a str, not {type(name).__name__}"))
        return self._read(lambda c: _getCursor(c, name))

    def setCursor(self, name: str, value: Optional[str]) -> Deferred[None]:
        """
        See L{ISubscriptionStore.setCursor}.
        """
        if not isinstance(name, str) or not (value is None or isinstance(value, str)):
            return fail(TypeError("a cursor's name and value are strings"))
        return self._write(lambda c: _setCursor(c, name, value))

    def acknowledge(
        self, subscriptionId: int, sequences: Sequence[int]
    ) -> Deferred[None]:
        """
        See L{ISubscriptionStore.acknowledge}.  Events not queued are ignored.
        """
        try:
            _checkInteger(subscriptionId, "subscriptionId")
            checked = _checkSequences(sequences)
        except TypeError:
            return fail()
        return self._write(lambda c: _acknowledge(c, subscriptionId, checked))

    def reschedule(
        self,
        subscriptionId: int,
        sequences: Sequence[int],
        notBefore: float,
        error: str,
    ) -> Deferred[None]:
        """
        See L{ISubscriptionStore.reschedule}.  Events not queued are ignored; a
        sequence number given twice counts once.
        """
        try:
            _checkInteger(subscriptionId, "subscriptionId")
            checked = _checkSequences(sequences)
            at = _checkTime(notBefore, "notBefore")
            _checkText(error, "error")
        except (TypeError, ValueError):
            return fail()
        return self._write(lambda c: _reschedule(c, subscriptionId, checked, at, error))

    def deadLetter(
        self, subscriptionId: int, sequences: Sequence[int], error: str, now: float
    ) -> Deferred[None]:
        """
        See L{ISubscriptionStore.deadLetter}.  Events not queued are ignored.
        """
        try:
            _checkInteger(subscriptionId, "subscriptionId")
            checked = _checkSequences(sequences)
            _checkText(error, "error")
            at = _checkTime(now, "now")
        except (TypeError, ValueError):
            return fail()
        return self._write(lambda c: _deadLetter(c, subscriptionId, checked, error, at))

    def deadLetters(
        self, subscriptionId: Optional[int] = None
    ) -> Deferred[List[DeadLetter]]:
        """
        See L{ISubscriptionStore.deadLetters}.
        """
        try:
            _checkOptionalInteger(subscriptionId, "subscriptionId")
        except TypeError:
            return fail()
        return self._read(lambda c: _deadLetters(c, subscriptionId))

    def replayDeadLetters(
        self, subscriptionId: Optional[int], now: float
    ) -> Deferred[int]:
        """
        See L{ISubscriptionStore.replayDeadLetters}, and L{MemoryStore
        <ipp_ntfy.store.memory.MemoryStore>} for the details.
        """
        try:
            _checkOptionalInteger(subscriptionId, "subscriptionId")
            at = _checkTime(now, "now")
        except (TypeError, ValueError):
            return fail()
        return self._write(lambda c: _replayDeadLetters(c, subscriptionId, at))

    def replayHistory(
        self, subscriptionId: int, fromSequence: int, now: float
    ) -> Deferred[int]:
        """
        See L{ISubscriptionStore.replayHistory}: 0 for a pull subscription.
        """
        try:
            _checkInteger(subscriptionId, "subscriptionId")
            _checkInteger(fromSequence, "fromSequence")
            at = _checkTime(now, "now")
        except (TypeError, ValueError):
            return fail()
        return self._write(
            lambda c: _replayHistory(c, subscriptionId, fromSequence, at)
        )

    def queueDepth(self, subscriptionId: Optional[int] = None) -> Deferred[int]:
        """
        See L{ISubscriptionStore.queueDepth}.
        """
        try:
            _checkOptionalInteger(subscriptionId, "subscriptionId")
        except TypeError:
            return fail()
        return self._read(lambda c: _queueDepth(c, subscriptionId))

    def queueStats(self, now: float) -> Deferred[QueueStats]:
        """
        See L{ISubscriptionStore.queueStats}: one read, three aggregate queries.
        """
        try:
            at = _checkTime(now, "now")
        except (TypeError, ValueError):
            return fail()
        return self._read(lambda c: _queueStatsOf(c, at))
