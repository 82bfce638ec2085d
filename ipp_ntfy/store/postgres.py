"""
The subscription store of the relay, in a PostgreSQL database that several relay
processes may share (the scale-out of the design, section 4).

It works as L{SQLiteStore <ipp_ntfy.store.sqlite.SQLiteStore>} does, with psycopg
3: one synchronous connection, owned by one dedicated thread (the
L{ThreadWorker <ipp_ntfy.store.sqlite.ThreadWorker>} of the SQLite store), so the
reactor never waits for the database.  A plain thread rather than psycopg's
asyncio API: the reactor need not be the asyncio one, and the batching, savepoints
and ordering of the SQLite store carry over unchanged.

Group commit: the operations asked for in one reactor turn (and any asked for
while the previous transaction was running) run as one transaction, each in its
own savepoint: one that fails is rolled back alone and fails alone.  Reads go the
same way, in the order asked, so a read sees every write asked for before it.  A
transaction that PostgreSQL aborts for a deadlock or a serialization failure
(another relay on the same rows) is run again, whole, a few times.

Several stores on one database: sequence numbers are assigned under a row lock of
the subscription (C{SELECT ... FOR UPDATE}, in id order), so they stay gap-free
whoever appends.  L{PostgresStore.dueEvents} I{claims} what it gives: it takes
the due subscriptions with C{SELECT ... FOR UPDATE SKIP LOCKED}, skips those
claimed by another store whose claim lease has not run out, and marks the ones it
gives as claimed by this store until C{now + claimLease}, in the same
transaction.  So two relays never get the same events at once, and the events of
a relay that died come back to the others once its lease is over.  A store sees
its own claims (asked again, it gives the same events, as the SQLite store does);
L{acknowledge <PostgresStore.acknowledge>}, L{reschedule
<PostgresStore.reschedule>} and L{deadLetter <PostgresStore.deadLetter>} release
its claim on the subscription.  The claim is kept beside the queue (columns
C{claimedBy}, C{claimedUntil} of the subscription): the events' own C{notBefore}
and C{attempts} are untouched.  L{nextDue <PostgresStore.nextDue>} counts another
store's claim as holding its subscription until the lease ends.

The schema is versioned in the table C{schema_version}; L{MIGRATIONS} takes a
database from any older version to the current one when it is opened (under an
advisory lock, so that relays starting together migrate once), and a database of a
newer version is refused (L{SchemaVersionError
<ipp_ntfy.store.sqlite.SchemaVersionError>}).  Subscription ids are an identity
column: never given twice, but, unlike the SQLite store's, not always
consecutive: a transaction rolled back (a failed operation, or a batch run again)
leaves the ids it drew unused.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from typing import (
    Any,
    Callable,
    Collection,
    Dict,
    List,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
)

import psycopg
from psycopg import errors as pgerrors
from twisted.internet.defer import Deferred, fail
from twisted.internet.interfaces import (
    IReactorFromThreads,
    IReactorTime,
)
from twisted.python.failure import Failure
from zope.interface import implementer

from ..interfaces import ISubscriptionStore
from ..subscription import Subscription
from . import (
    QUEUE_LIMIT_REACHED,
    DeadLetter,
    QueuedEvent,
    QueueStats,
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
from .sqlite import (
    _HISTORY_OF_QUEUED,
    SchemaVersionError,
    SQLiteWorker,
    StoreFileError,
    ThreadWorker,
    _GroupCommitStore,
    _Operation,
    _Outcome,
    _subscriptionFromRow,
)

_T = TypeVar("_T")

Connection = psycopg.Connection[Tuple[Any, ...]]

#: Key of the advisory lock taken while migrating ("IPPN", as the SQLite file's
#: application id).
MIGRATION_LOCK = 0x4950504E

#: How many times a batch aborted by a deadlock or a serialization failure is run.
ATTEMPTS = 5

_TRANSIENT = (pgerrors.DeadlockDetected, pgerrors.SerializationFailure)


# The schema.  One migration per version: MIGRATIONS[n] takes a database from
# version n to n + 1, inside the transaction that also updates schema_version.  To
# change the schema, append a migration; never edit one that has shipped.

_VERSION_1 = (
    # lastSequence is the last sequence number given (assigned, under the row's
    # lock, in the transaction that stores the event, so gap-free); headNotBefore
    # is the notBefore of the oldest queued event (NULL when none), so that the due
    # heads are read from an index.  claimedBy and claimedUntil: the store that
    # dueEvents last gave this subscription's events to, and until when.
    """
    CREATE TABLE subscriptions (
        subscriptionId BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        printerUri TEXT NOT NULL,
        jobId BIGINT,
        recipientUri TEXT,
        pullMethod TEXT,
        events TEXT NOT NULL,
        userData BYTEA NOT NULL,
        charset TEXT NOT NULL,
        naturalLanguage TEXT NOT NULL,
        leaseDuration BIGINT,
        leaseExpiresAt DOUBLE PRECISION,
        timeInterval BIGINT NOT NULL,
        subscriberUserName TEXT NOT NULL,
        createdAt DOUBLE PRECISION NOT NULL,
        lastSequence BIGINT NOT NULL DEFAULT 0,
        headNotBefore DOUBLE PRECISION,
        claimedBy TEXT,
        claimedUntil DOUBLE PRECISION
    )
    """,
    "CREATE INDEX subscriptionsByPrinter ON subscriptions (printerUri, jobId)",
    """
    CREATE INDEX subscriptionsByHead ON subscriptions (headNotBefore, subscriptionId)
    WHERE headNotBefore IS NOT NULL AND recipientUri IS NOT NULL
    """,
    """
    CREATE TABLE history (
        subscriptionId BIGINT NOT NULL
            REFERENCES subscriptions (subscriptionId) ON DELETE CASCADE,
        sequence BIGINT NOT NULL,
        payload BYTEA NOT NULL,
        storedAt DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (subscriptionId, sequence)
    )
    """,
    # The queue kept its own copy of the payload until version 2: history is
    # pruned on its own schedule, and a queued event must outlive that.
    """
    CREATE TABLE queue (
        subscriptionId BIGINT NOT NULL
            REFERENCES subscriptions (subscriptionId) ON DELETE CASCADE,
        sequence BIGINT NOT NULL,
        payload BYTEA NOT NULL,
        attempts BIGINT NOT NULL,
        queuedAt DOUBLE PRECISION NOT NULL,
        notBefore DOUBLE PRECISION NOT NULL,
        lastError TEXT,
        PRIMARY KEY (subscriptionId, sequence)
    )
    """,
    # No foreign key: dead letters outlive their subscription.
    """
    CREATE TABLE deadLetters (
        subscriptionId BIGINT NOT NULL,
        sequence BIGINT NOT NULL,
        recipientUri TEXT NOT NULL,
        payload BYTEA NOT NULL,
        attempts BIGINT NOT NULL,
        queuedAt DOUBLE PRECISION NOT NULL,
        deadAt DOUBLE PRECISION NOT NULL,
        lastError TEXT NOT NULL,
        PRIMARY KEY (subscriptionId, sequence)
    )
    """,
    # Named cursors that sources keep across restarts.
    "CREATE TABLE cursors (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
)


def _statements(*statements: str) -> Callable[[Connection], None]:
    """
    @return: a migration that executes C{statements} in order.
    """

    def migrate(connection: Connection) -> None:
        for statement in statements:
            connection.execute(statement)

    return migrate


#: The migrations, in order: C{MIGRATIONS[n]} takes a database from schema
#: version C{n} to C{n + 1}.  The current version is C{len(MIGRATIONS)}.
MIGRATIONS: List[Callable[[Connection], None]] = [
    _statements(*_VERSION_1),
    # Version 2: a queued event's payload is NULL when it is the one in its
    # history row, and read from there (see _HISTORY_OF_QUEUED).
    _statements(
        "ALTER TABLE queue ALTER COLUMN payload DROP NOT NULL",
        "UPDATE queue AS q SET payload = NULL FROM history AS h"
        " WHERE h.subscriptionId = q.subscriptionId AND h.sequence = q.sequence"
        " AND h.payload = q.payload",
    ),
]


def _openDatabase(dsn: str, create: bool = True) -> Connection:
    """
    Connect (in the calling thread, which is the only one that may use the
    connection) and migrate the database.

    @param create: whether a database without tables is made a store.
    @raise StoreFileError: if the database is not a store of ours (or is empty,
        unless C{create}).
    @raise SchemaVersionError: if its schema is newer than L{MIGRATIONS}.
    """
    connection: Connection = psycopg.connect(dsn, autocommit=True)
    try:
        _migrate(connection, f"PostgreSQL database {connection.info.dbname!r}", create)
    except BaseException:
        connection.close()
        raise
    return connection


def _migrate(connection: Connection, where: str, create: bool = True) -> None:
    """
    Bring the schema to the current version, in one transaction.
    """
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        [(table,)] = connection.execute(
            "SELECT to_regclass('schema_version')"
        ).fetchall()
        if table is None:
            [(tables,)] = connection.execute(
                "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema()"
            ).fetchall()
            if tables:
                raise StoreFileError(where, "not an ipp_ntfy store (it has tables)")
            if not create:
                raise StoreFileError(where, "not an ipp_ntfy store (no tables)")
            connection.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
            connection.execute("INSERT INTO schema_version (version) VALUES (0)")
            version = 0
        else:
            [(version,)] = connection.execute(
                "SELECT version FROM schema_version"
            ).fetchall()
        if version > len(MIGRATIONS):
            raise SchemaVersionError(where, version, len(MIGRATIONS))
        for migration in MIGRATIONS[version:]:
            migration(connection)
        if version < len(MIGRATIONS):
            connection.execute(
                "UPDATE schema_version SET version = %s", (len(MIGRATIONS),)
            )


# The operations.  Each takes the connection and runs in the store's thread, inside
# the batch's transaction, in its own savepoint.

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


_SELECT_SUBSCRIPTIONS = (
    f"SELECT subscriptionId, {_SUBSCRIPTION_COLUMNS}, lastSequence FROM subscriptions"
)


def _createSubscription(
    connection: Connection, subscription: Subscription
) -> Subscription:
    [(subscriptionId,)] = connection.execute(
        f"INSERT INTO subscriptions ({_SUBSCRIPTION_COLUMNS}) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " RETURNING subscriptionId",
        _subscriptionValues(subscription),
    ).fetchall()
    return subscription.replace(subscriptionId=subscriptionId, lastSequence=0)


def _getSubscription(
    connection: Connection, subscriptionId: int
) -> Optional[Subscription]:
    row = connection.execute(
        f"{_SELECT_SUBSCRIPTIONS} WHERE subscriptionId = %s", (subscriptionId,)
    ).fetchone()
    return None if row is None else _subscriptionFromRow(row)


def _listSubscriptions(
    connection: Connection, printerUri: Optional[str], jobId: Optional[int]
) -> List[Subscription]:
    conditions = []
    parameters: List[object] = []
    if printerUri is not None:
        conditions.append("printerUri = %s")
        parameters.append(printerUri)
    if jobId is not None:
        conditions.append("jobId = %s")
        parameters.append(jobId)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    rows = connection.execute(
        f"{_SELECT_SUBSCRIPTIONS}{where} ORDER BY subscriptionId", parameters
    ).fetchall()
    return [_subscriptionFromRow(row) for row in rows]


def _updateSubscription(connection: Connection, subscription: Subscription) -> bool:
    assignments = ", ".join(
        f"{column.strip()} = %s" for column in _SUBSCRIPTION_COLUMNS.split(",")
    )
    cursor = connection.execute(
        f"UPDATE subscriptions SET {assignments} WHERE subscriptionId = %s",
        (*_subscriptionValues(subscription), subscription.subscriptionId),
    )
    return cursor.rowcount > 0


def _cancelSubscription(connection: Connection, subscriptionId: int) -> bool:
    # The history and the queue go by ON DELETE CASCADE.
    cursor = connection.execute(
        "DELETE FROM subscriptions WHERE subscriptionId = %s", (subscriptionId,)
    )
    return cursor.rowcount > 0


def _lockSubscriptions(connection: Connection, subscriptionIds: Sequence[int]) -> None:
    """
    Lock the rows of these subscriptions, in id order (as L{_appendEvents}
    does, so that two transactions wait for each other rather than deadlock).
    """
    connection.execute(
        "SELECT subscriptionId FROM subscriptions"
        " WHERE subscriptionId = ANY(%s::BIGINT[]) ORDER BY subscriptionId"
        " FOR UPDATE",
        (sorted(subscriptionIds),),
    ).fetchall()


def _refreshHeads(
    connection: Connection,
    subscriptionIds: Sequence[int],
    release: Optional[str] = None,
) -> None:
    """
    Set C{headNotBefore} of these subscriptions after their queue changed, and
    drop the claims of the store C{release} on them.

    The rows are locked first, in a statement of their own: the head is then
    read in the next statement, whose snapshot (read committed) has every
    event that another transaction queued under the row's lock and committed
    meanwhile.  Read in the C{UPDATE}'s own snapshot, an event appended by
    another relay while this one waited for the lock would be missed, and the
    head left empty with that event queued, never due.
    """
    if not subscriptionIds:
        return
    _lockSubscriptions(connection, subscriptionIds)
    connection.execute(
        "UPDATE subscriptions SET headNotBefore = ("
        " SELECT notBefore FROM queue"
        " WHERE queue.subscriptionId = subscriptions.subscriptionId"
        " ORDER BY sequence LIMIT 1"
        ") WHERE subscriptionId = ANY(%s::BIGINT[])",
        (list(subscriptionIds),),
    )
    if release is not None:
        connection.execute(
            "UPDATE subscriptions SET claimedBy = NULL, claimedUntil = NULL"
            " WHERE subscriptionId = ANY(%s::BIGINT[]) AND claimedBy = %s",
            (list(subscriptionIds), release),
        )


# Since schema version 2 a queued event's payload is NULL where it is the one in
# its history row, and is COALESCE(q.payload, h.payload) over _HISTORY_OF_QUEUED
# (the SQLite store's join).  The queue has a payload of its own where the history
# may not keep one: an event queued again (from the dead letters or the history),
# and one whose history row is pruned while it is queued (pruning copies the
# payload first).


def _bury(
    connection: Connection,
    subscriptionId: int,
    condition: str,
    parameter: object,
    error: str,
    now: float,
) -> None:
    """
    Move the queued events of a subscription that match C{condition} (on
    C{sequence}, with C{parameter}) to the dead letters.
    """
    connection.execute(
        "INSERT INTO deadLetters (subscriptionId, sequence, recipientUri,"
        " payload, attempts, queuedAt, deadAt, lastError)"
        " SELECT q.subscriptionId, q.sequence, COALESCE(s.recipientUri, ''),"
        " COALESCE(q.payload, h.payload), q.attempts, q.queuedAt, %s, %s"
        " FROM queue AS q JOIN subscriptions AS s USING (subscriptionId)"
        f" {_HISTORY_OF_QUEUED} WHERE q.subscriptionId = %s AND q.{condition}"
        " ON CONFLICT (subscriptionId, sequence) DO UPDATE SET"
        " recipientUri = excluded.recipientUri, payload = excluded.payload,"
        " attempts = excluded.attempts, queuedAt = excluded.queuedAt,"
        " deadAt = excluded.deadAt, lastError = excluded.lastError",
        (now, error, subscriptionId, parameter),
    )
    connection.execute(
        f"DELETE FROM queue WHERE subscriptionId = %s AND {condition}",
        (subscriptionId, parameter),
    )


def _appendEvents(
    connection: Connection,
    entries: Sequence[Tuple[int, bytes]],
    now: float,
    maxQueued: int,
) -> List[int]:
    if not entries:
        return []
    # Lock the subscriptions, in id order (so that two stores appending to the
    # same ones wait for each other instead of deadlocking), and read their last
    # sequence numbers as the lock left them.
    wanted = sorted({subscriptionId for subscriptionId, _ in entries})
    # subscriptionId -> [lastSequence, isPush, queued here]; missing if unknown.
    known: Dict[int, List[int]] = {
        row[0]: [row[1], row[2], 0]
        for row in connection.execute(
            "SELECT subscriptionId, lastSequence, recipientUri IS NOT NULL"
            " FROM subscriptions WHERE subscriptionId = ANY(%s::BIGINT[])"
            " ORDER BY subscriptionId FOR UPDATE",
            (wanted,),
        ).fetchall()
    }
    sequences = []
    historyRows = []
    queueRows = []
    for subscriptionId, payload in entries:
        state = known.get(subscriptionId)
        if state is None:
            sequences.append(0)
            continue
        state[0] += 1
        sequence = state[0]
        historyRows.append((subscriptionId, sequence, payload, now))
        if state[1]:
            # The payload is read from the history row (see _HISTORY_OF_QUEUED).
            queueRows.append((subscriptionId, sequence, now, now))
            state[2] += 1
        sequences.append(sequence)
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO history (subscriptionId, sequence, payload, storedAt)"
            " VALUES (%s, %s, %s, %s)",
            historyRows,
        )
        cursor.executemany(
            "INSERT INTO queue (subscriptionId, sequence, attempts, queuedAt,"
            " notBefore) VALUES (%s, %s, 0, %s, %s)",
            queueRows,
        )
        cursor.executemany(
            "UPDATE subscriptions SET lastSequence = %s WHERE subscriptionId = %s",
            [(state[0], subscriptionId) for subscriptionId, state in known.items()],
        )
    queuedTo = []
    for subscriptionId, state in known.items():
        if state[2]:
            _limitQueue(connection, subscriptionId, state[2], maxQueued, now)
            queuedTo.append(subscriptionId)
    _refreshHeads(connection, queuedTo)
    return sequences


def _limitQueue(
    connection: Connection,
    subscriptionId: int,
    appended: int,
    maxQueued: int,
    now: float,
) -> None:
    """
    Apply the queue limit after C{appended} events were queued at once, as if each
    had, on arrival, moved the oldest queued event away if the queue was at the
    limit; as the new events come last, that moves the oldest of all.
    """
    [(depth,)] = connection.execute(
        "SELECT COUNT(*) FROM queue WHERE subscriptionId = %s", (subscriptionId,)
    ).fetchall()
    excess = appended - max(0, maxQueued - (depth - appended))
    if excess <= 0:
        return
    [(cutoff,)] = connection.execute(
        "SELECT sequence FROM queue WHERE subscriptionId = %s"
        " ORDER BY sequence LIMIT 1 OFFSET %s",
        (subscriptionId, excess - 1),
    ).fetchall()
    _bury(
        connection, subscriptionId, "sequence <= %s", cutoff, QUEUE_LIMIT_REACHED, now
    )


def _eventsSince(
    connection: Connection, subscriptionId: int, sequence: int, limit: int
) -> List[Tuple[int, bytes, float]]:
    rows = connection.execute(
        "SELECT sequence, payload, storedAt FROM history"
        " WHERE subscriptionId = %s AND sequence >= %s ORDER BY sequence LIMIT %s",
        (subscriptionId, sequence, limit),
    ).fetchall()
    return [(row[0], bytes(row[1]), row[2]) for row in rows]


#: The history rows that pruning takes (C{h}): beyond the last C{keepLast} of
#: their subscription, and stored before C{olderThan}.
_PRUNED = (
    "(SELECT h.subscriptionId, h.sequence, h.payload FROM history AS h JOIN ("
    " SELECT subscriptionId, sequence, ROW_NUMBER() OVER ("
    "  PARTITION BY subscriptionId ORDER BY sequence DESC) AS fromLast"
    " FROM history) AS r"
    " ON h.subscriptionId = r.subscriptionId AND h.sequence = r.sequence"
    " WHERE r.fromLast > %(keepLast)s AND h.storedAt < %(olderThan)s)"
)


def _pruneHistory(connection: Connection, keepLast: int, olderThan: float) -> int:
    parameters = {"keepLast": keepLast, "olderThan": olderThan}
    # A queued event that reads its payload from a row that goes gets a copy of
    # it first (see _HISTORY_OF_QUEUED).
    connection.execute(
        f"UPDATE queue AS q SET payload = p.payload FROM {_PRUNED} AS p"
        " WHERE q.subscriptionId = p.subscriptionId AND q.sequence = p.sequence"
        " AND q.payload IS NULL",
        parameters,
    )
    # Not a row that a queued event still reads: one appended by a transaction
    # that committed since the copy (it is seen here with its queue row, which
    # comes in the same transaction).
    cursor = connection.execute(
        f"DELETE FROM history AS h USING {_PRUNED} AS p"
        " WHERE h.subscriptionId = p.subscriptionId AND h.sequence = p.sequence"
        " AND NOT EXISTS (SELECT 1 FROM queue AS q"
        "  WHERE q.subscriptionId = h.subscriptionId AND q.sequence = h.sequence"
        "  AND q.payload IS NULL)",
        parameters,
    )
    return cursor.rowcount


#: The push subscriptions whose oldest queued event is due and that no other store
#: has claimed (or whose claim has run out), oldest first, but for those already
#: taken; those that another transaction has locked are skipped, not waited for.
#: The conditions on headNotBefore and recipientUri let the partial index serve.
_DUE_HEADS = (
    "SELECT subscriptionId, recipientUri FROM subscriptions"
    " WHERE headNotBefore <= %(now)s AND recipientUri IS NOT NULL"
    " AND (claimedBy IS NULL OR claimedBy = %(owner)s OR claimedUntil <= %(now)s)"
    " AND subscriptionId <> ALL(%(taken)s::BIGINT[])"
    " ORDER BY headNotBefore, subscriptionId LIMIT %(heads)s"
    " FOR UPDATE SKIP LOCKED"
)


def _dueEvents(
    connection: Connection,
    owner: str,
    claimLease: float,
    now: float,
    perSubscription: int,
    limit: int,
    exclude: List[int],
) -> List[QueuedEvent]:
    due: List[QueuedEvent] = []
    claimed: List[int] = []
    # Lock no more heads than needed, so that other stores asking at the same time
    # get the rest: as many as would fill the limit if each gave perSubscription
    # events, then more if they gave fewer.  Each gives one event at least.
    while perSubscription and len(due) < limit:
        wanted = -(-(limit - len(due)) // perSubscription)
        heads = connection.execute(
            _DUE_HEADS,
            {
                "now": now,
                "owner": owner,
                "taken": claimed + exclude,
                "heads": wanted,
            },
        ).fetchall()
        for subscriptionId, recipientUri in heads:
            rows = connection.execute(
                "SELECT q.sequence, COALESCE(q.payload, h.payload), q.attempts,"
                " q.queuedAt, q.notBefore, q.lastError FROM queue AS q"
                f" {_HISTORY_OF_QUEUED}"
                " WHERE q.subscriptionId = %s ORDER BY q.sequence LIMIT %s",
                (subscriptionId, min(perSubscription, limit - len(due))),
            ).fetchall()
            due.extend(
                QueuedEvent(
                    subscriptionId, row[0], recipientUri, bytes(row[1]), *row[2:]
                )
                for row in rows
            )
            claimed.append(subscriptionId)
        if len(heads) < wanted:
            break
    if claimed:
        connection.execute(
            "UPDATE subscriptions SET claimedBy = %s, claimedUntil = %s"
            " WHERE subscriptionId = ANY(%s::BIGINT[])",
            (owner, now + claimLease, claimed),
        )
    return due


def _nextDue(connection: Connection, owner: str) -> Optional[float]:
    # Another store's claim holds its subscription until the claim runs out.
    [(nextDue,)] = connection.execute(
        "SELECT MIN(GREATEST(headNotBefore,"
        " CASE WHEN claimedBy IS DISTINCT FROM %s THEN claimedUntil END))"
        " FROM subscriptions"
        " WHERE headNotBefore IS NOT NULL AND recipientUri IS NOT NULL",
        (owner,),
    ).fetchall()
    return None if nextDue is None else float(nextDue)


def _getCursor(connection: Connection, name: str) -> Optional[str]:
    row = connection.execute(
        "SELECT value FROM cursors WHERE name = %s", (name,)
    ).fetchone()
    return None if row is None else str(row[0])


def _setCursor(connection: Connection, name: str, value: Optional[str]) -> None:
    if value is None:
        connection.execute("DELETE FROM cursors WHERE name = %s", (name,))
    else:
        connection.execute(
            "INSERT INTO cursors (name, value) VALUES (%s, %s) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )


def _acknowledge(
    connection: Connection, owner: str, subscriptionId: int, sequences: List[int]
) -> None:
    _lockSubscriptions(connection, [subscriptionId])
    connection.execute(
        "DELETE FROM queue WHERE subscriptionId = %s AND sequence = ANY(%s::BIGINT[])",
        (subscriptionId, sequences),
    )
    _refreshHeads(connection, [subscriptionId], owner)


def _reschedule(
    connection: Connection,
    owner: str,
    subscriptionId: int,
    sequences: List[int],
    notBefore: float,
    error: str,
) -> None:
    _lockSubscriptions(connection, [subscriptionId])
    connection.execute(
        "UPDATE queue SET attempts = attempts + 1, notBefore = %s, lastError = %s"
        " WHERE subscriptionId = %s AND sequence = ANY(%s::BIGINT[])",
        (notBefore, error, subscriptionId, sequences),
    )
    _refreshHeads(connection, [subscriptionId], owner)


def _deadLetter(
    connection: Connection,
    owner: str,
    subscriptionId: int,
    sequences: List[int],
    error: str,
    now: float,
) -> None:
    _lockSubscriptions(connection, [subscriptionId])
    _bury(
        connection,
        subscriptionId,
        "sequence = ANY(%s::BIGINT[])",
        sequences,
        error,
        now,
    )
    _refreshHeads(connection, [subscriptionId], owner)


def _deadLetters(
    connection: Connection, subscriptionId: Optional[int]
) -> List[DeadLetter]:
    select = (
        "SELECT subscriptionId, sequence, recipientUri, payload, attempts, queuedAt,"
        " deadAt, lastError FROM deadLetters"
    )
    if subscriptionId is None:
        rows = connection.execute(f"{select} ORDER BY subscriptionId, sequence")
    else:
        rows = connection.execute(
            f"{select} WHERE subscriptionId = %s ORDER BY sequence", (subscriptionId,)
        )
    return [
        DeadLetter(row[0], row[1], row[2], bytes(row[3]), *row[4:])
        for row in rows.fetchall()
    ]


def _replayDeadLetters(
    connection: Connection, subscriptionId: Optional[int], now: float
) -> int:
    # Those of push subscriptions that still exist (of one, if given).
    replayable = (
        "FROM deadLetters AS d JOIN subscriptions AS s USING (subscriptionId)"
        " WHERE s.recipientUri IS NOT NULL"
    )
    parameters: Tuple[object, ...] = ()
    if subscriptionId is not None:
        replayable += " AND d.subscriptionId = %s"
        parameters = (subscriptionId,)
    owners = [
        owner
        for (owner,) in connection.execute(
            f"SELECT DISTINCT d.subscriptionId {replayable}", parameters
        ).fetchall()
    ]
    queued = connection.execute(
        "INSERT INTO queue (subscriptionId, sequence, payload, attempts, queuedAt,"
        " notBefore) SELECT d.subscriptionId, d.sequence, d.payload, 0, %s, %s"
        f" {replayable} AND NOT EXISTS (SELECT 1 FROM queue AS q"
        " WHERE q.subscriptionId = d.subscriptionId AND q.sequence = d.sequence)",
        (now, now, *parameters),
    ).rowcount
    if owners:
        connection.execute(
            "DELETE FROM deadLetters WHERE subscriptionId = ANY(%s::BIGINT[])",
            (owners,),
        )
    _refreshHeads(connection, owners)
    return queued


def _replayHistory(
    connection: Connection, subscriptionId: int, fromSequence: int, now: float
) -> int:
    # With their own payload: another store's pruning may take the history rows
    # at the same time (its copy into the queue does not see these).
    queued = connection.execute(
        "INSERT INTO queue (subscriptionId, sequence, payload, attempts, queuedAt,"
        " notBefore) SELECT h.subscriptionId, h.sequence, h.payload, 0, %s, %s"
        " FROM history AS h JOIN subscriptions AS s USING (subscriptionId)"
        " WHERE h.subscriptionId = %s AND h.sequence >= %s"
        " AND s.recipientUri IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM queue AS q"
        " WHERE q.subscriptionId = h.subscriptionId AND q.sequence = h.sequence)",
        (now, now, subscriptionId, fromSequence),
    ).rowcount
    _refreshHeads(connection, [subscriptionId])
    return queued


def _queueDepth(connection: Connection, subscriptionId: Optional[int]) -> int:
    if subscriptionId is None:
        [(depth,)] = connection.execute("SELECT COUNT(*) FROM queue").fetchall()
    else:
        [(depth,)] = connection.execute(
            "SELECT COUNT(*) FROM queue WHERE subscriptionId = %s", (subscriptionId,)
        ).fetchall()
    return int(depth)


def _queueStatsOf(connection: Connection, now: float) -> QueueStats:
    # Counted from the queue's primary key index, and each subscription's first
    # event found there: the payloads, most of the queue's pages, are not read.
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
        " leaseExpiresAt IS NOT NULL AND leaseExpiresAt <= %s, COUNT(*)"
        " FROM subscriptions GROUP BY 1, 2",
        (now,),
    ).fetchall()
    [(deadLetters,)] = connection.execute("SELECT COUNT(*) FROM deadLetters").fetchall()
    return _queueStats(recipients, subscriptions, deadLetters)


# Running operations.


def _runBatch(
    connection: Connection,
    operations: Sequence[Tuple[Callable[[Connection], Any], bool]],
    locks: Sequence[int] = (),
) -> Tuple[bool, List[_Outcome]]:
    """
    Run operations in order, in one transaction, each in a savepoint, so that one
    that fails is rolled back alone.  A transaction aborted by a deadlock or a
    serialization failure is run again, whole, up to L{ATTEMPTS} times.

    The rows of the subscriptions in C{locks} (those the operations change) are
    locked first, in id order: two relays' batches then wait for each other
    instead of deadlocking (which PostgreSQL finds only after its
    C{deadlock_timeout}, a second by default).

    @return: whether anything was written, and the outcome of each.
    @raise Exception: if the transaction as a whole failed (it is rolled back).
    """
    writes = any(write for _, write in operations)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return writes, _runOnce(connection, operations, locks)
        except _TRANSIENT:
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _runOnce(
    connection: Connection,
    operations: Sequence[Tuple[Callable[[Connection], Any], bool]],
    locks: Sequence[int] = (),
) -> List[_Outcome]:
    outcomes: List[_Outcome] = []
    with connection.transaction():
        if locks:
            _lockSubscriptions(connection, locks)
        for run, _ in operations:
            try:
                with connection.transaction():
                    result = run(connection)
            except _TRANSIENT:
                raise
            except Exception:
                outcomes.append((False, Failure()))
            else:
                outcomes.append((True, result))
    return outcomes


def _storeName() -> str:
    """
    @return: a name for a new store, unique among the relays of a database: host,
        process and a random part (a process may open several).
    """
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


@implementer(ISubscriptionStore)
class PostgresStore(_GroupCommitStore):
    """
    L{ISubscriptionStore} in a PostgreSQL database, which several relays may
    share; see the module for how it works.  Open one with L{PostgresStore.open}.

    Every method checks its arguments first: a bad one (a L{TypeError} or
    L{ValueError}) fails the returned L{Deferred} at once.  After L{close}, every
    method fails with L{StoreClosedError}.

    It behaves as L{SQLiteStore <ipp_ntfy.store.sqlite.SQLiteStore>} does (the
    same tests hold both to it), but for the claims of L{dueEvents}: those of a
    store that is closed are left to run out.

    @ivar maxQueued: see L{ISubscriptionStore.maxQueued}.
    @ivar claimLease: how long, in seconds, the events given by L{dueEvents} are
        this store's alone.
    @ivar name: this store's name in the claims (C{claimedBy}).
    @ivar commits: how many transactions that write it has committed (for tests
        and statistics).
    """

    def __init__(
        self,
        reactor: IReactorTime,
        worker: SQLiteWorker,
        maxQueued: int = 10000,
        claimLease: float = 60.0,
    ) -> None:
        """
        Use L{PostgresStore.open}.

        @param reactor: schedules the batches.
        @param worker: runs them, with the connection it opened.
        @param maxQueued: the most events queued per subscription, 1 or more.
        @param claimLease: see L{PostgresStore.open}.
        """
        _GroupCommitStore.__init__(self, reactor, worker, maxQueued)
        if _checkTime(claimLease, "claimLease") <= 0:
            raise ValueError(f"claimLease must be more than 0, not {claimLease}")
        self.claimLease = float(claimLease)
        self.name = _storeName()

    @classmethod
    def open(
        cls,
        dsn: str,
        reactor: IReactorTime,
        maxQueued: int = 10000,
        claimLease: float = 60.0,
        worker: Optional[SQLiteWorker] = None,
        create: bool = True,
    ) -> Deferred[PostgresStore]:
        """
        Connect to a database, creating or migrating the schema if needed.  If the
        reactor provides L{IReactorCore}, the store is closed before it shuts down.

        @param dsn: the database, as libpq takes it (C{"host=db dbname=ipp"} or
            C{"postgresql://..."}); the C{PG*} environment variables fill in.
        @param reactor: the reactor (C{callLater}, C{callFromThread}).
        @param maxQueued: the most events queued per subscription.
        @param claimLease: how long, in seconds (of the C{now} given to
            L{dueEvents}), the events it gives are kept from the other stores on
            the database if this one neither acknowledges, reschedules nor
            dead-letters them: longer than a delivery takes.
        @param worker: runs the database calls; by default a new L{ThreadWorker}.
        @param create: whether a database without tables is made a store (if
            not, it is refused with L{StoreFileError}).
        @return: a L{Deferred} that fires with the open store, or fails with
            L{StoreFileError} or L{SchemaVersionError} if the database is not
            usable, or with the error of psycopg.
        """
        if worker is None:
            worker = ThreadWorker(IReactorFromThreads(reactor), "ipp_ntfy-postgres")
        try:
            store = cls(reactor, worker, maxQueued, claimLease)
        except (TypeError, ValueError):
            worker.stop()
            return fail()

        def opened(connection: Connection) -> PostgresStore:
            store._adopt(connection)
            return store

        def failed(reason: Failure) -> Failure:
            worker.stop()
            return reason

        opening = worker.submit(lambda: _openDatabase(dsn, create))
        return opening.addCallbacks(opened, failed)

    # Running operations.

    def _write(
        self, run: Callable[[Connection], _T], locks: Sequence[int] = ()
    ) -> Deferred[_T]:
        """
        @param locks: the subscriptions whose rows C{run} changes.
        """
        return self._enqueue(run, True, locks=locks)

    def _runBatch(
        self, connection: Any, batch: List[_Operation]
    ) -> Tuple[List[_Operation], Deferred[Tuple[bool, List[_Outcome]]]]:
        locks = sorted({i for operation in batch for i in operation.locks})
        operations = [(operation.run, operation.write) for operation in batch]
        return batch, self._worker.submit(
            lambda: _runBatch(connection, operations, locks)
        )

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
        return self._write(
            lambda c: _updateSubscription(c, checked), [checked.subscriptionId]
        )

    def cancelSubscription(self, subscriptionId: int) -> Deferred[bool]:
        """
        See L{ISubscriptionStore.cancelSubscription}.
        """
        try:
            _checkInteger(subscriptionId, "subscriptionId")
        except TypeError:
            return fail()
        return self._write(
            lambda c: _cancelSubscription(c, subscriptionId), [subscriptionId]
        )

    def appendEvents(
        self, entries: Sequence[Tuple[int, bytes]], now: float
    ) -> Deferred[List[int]]:
        """
        See L{ISubscriptionStore.appendEvents}, and the queue limit of
        L{MemoryStore <ipp_ntfy.store.memory.MemoryStore>}.  One call is one
        savepoint, whatever the number of entries.
        """
        try:
            checked = _checkEntries(entries)
            at = _checkTime(now, "now")
        except (TypeError, ValueError):
            return fail()
        maxQueued = self.maxQueued
        return self._write(
            lambda c: _appendEvents(c, checked, at, maxQueued),
            [subscriptionId for subscriptionId, _ in checked],
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

        What it gives is claimed for this store until C{now + claimLease}: the
        other stores on the database skip those subscriptions (and those that
        another transaction holds locked) until this one acknowledges,
        reschedules or dead-letters their events, or the claim runs out.  This
        store is given them again if it asks again.
        """
        try:
            at = _checkTime(now, "now")
            _checkCount(perSubscription, "perSubscription")
            _checkCount(limit, "limit")
        except (TypeError, ValueError):
            return fail()
        name, lease = self.name, self.claimLease
        excluded = [int(subscriptionId) for subscriptionId in exclude]
        return self._write(
            lambda c: _dueEvents(c, name, lease, at, perSubscription, limit, excluded)
        )

    def nextDue(self) -> Deferred[Optional[float]]:
        """
        See L{ISubscriptionStore.nextDue}; a subscription claimed by another
        store counts as due when the claim runs out, if that is later.
        """
        name = self.name
        return self._read(lambda c: _nextDue(c, name))

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
        Releases this store's claim on the subscription (see L{dueEvents}).
        """
        try:
            _checkInteger(subscriptionId, "subscriptionId")
            checked = _checkSequences(sequences)
        except TypeError:
            return fail()
        name = self.name
        return self._write(
            lambda c: _acknowledge(c, name, subscriptionId, checked), [subscriptionId]
        )

    def reschedule(
        self,
        subscriptionId: int,
        sequences: Sequence[int],
        notBefore: float,
        error: str,
    ) -> Deferred[None]:
        """
        See L{ISubscriptionStore.reschedule}.  Events not queued are ignored; a
        sequence number given twice counts once.  Releases this store's claim on
        the subscription (see L{dueEvents}).
        """
        try:
            _checkInteger(subscriptionId, "subscriptionId")
            checked = _checkSequences(sequences)
            at = _checkTime(notBefore, "notBefore")
            _checkText(error, "error")
        except (TypeError, ValueError):
            return fail()
        name = self.name
        return self._write(
            lambda c: _reschedule(c, name, subscriptionId, checked, at, error),
            [subscriptionId],
        )

    def deadLetter(
        self, subscriptionId: int, sequences: Sequence[int], error: str, now: float
    ) -> Deferred[None]:
        """
        See L{ISubscriptionStore.deadLetter}.  Events not queued are ignored.
        Releases this store's claim on the subscription (see L{dueEvents}).
        """
        try:
            _checkInteger(subscriptionId, "subscriptionId")
            checked = _checkSequences(sequences)
            _checkText(error, "error")
            at = _checkTime(now, "now")
        except (TypeError, ValueError):
            return fail()
        name = self.name
        return self._write(
            lambda c: _deadLetter(c, name, subscriptionId, checked, error, at),
            [subscriptionId],
        )

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
