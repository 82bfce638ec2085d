"""
Operator commands on a relay's store: C{ipp-ntfy subscriptions},
C{ipp-ntfy dead-letters} and C{ipp-ntfy replay}.

Each opens the store its C{--db} names (a SQLite file or a PostgreSQL URL, see
L{openStore <ipp_ntfy.store.opening.openStore>}) on the global reactor, runs,
closes it and stops the reactor; errors are one line on standard error
(C{ipp-ntfy: error: ...}) and exit status 1.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence, TextIO

from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

from .interfaces import ISubscriptionStore
from .store import DeadLetter
from .store.opening import (
    StoreLocationError,
    checkDatabaseUrl,
    describeError,
    isDatabaseUrl,
    openStore,
)
from .subscription import Subscription

#: Cells of the readable tables are cut to this many characters (JSON has all).
MAX_CELL = 60


class CommandError(Exception):
    """
    The command cannot be done; the message says why, in one line.
    """


def _isoTime(seconds: Optional[float]) -> Optional[str]:
    if seconds is None:
        return None
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).isoformat(
        timespec="seconds"
    )


def _cell(value: object) -> str:
    text = " ".join(str(value).split())
    if len(text) > MAX_CELL:
        text = text[: MAX_CELL - 3] + "..."
    return text


def formatTable(
    headers: Sequence[str], rows: Sequence[Sequence[object]], numeric: Sequence[int]
) -> str:
    """
    A plain-text table: a header line, then one line per row, columns padded to
    their widest cell; the columns at the indexes in C{numeric} right-aligned.
    """
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [
        max([len(header)] + [len(row[index]) for row in cells])
        for index, header in enumerate(headers)
    ]

    def line(row: Sequence[str]) -> str:
        return "  ".join(
            value.rjust(width) if index in numeric else value.ljust(width)
            for index, (value, width) in enumerate(zip(row, widths))
        ).rstrip()

    return "\n".join([line(headers)] + [line(row) for row in cells]) + "\n"


def _fail(stderr: TextIO, message: str) -> int:
    stderr.write(f"ipp-ntfy: error: {message}\n")
    return 1


def _run(
    db: str,
    work: Callable[[ISubscriptionStore, IReactorTime], Awaitable[int]],
    stderr: TextIO,
) -> int:
    """
    Open the store C{db} names (a SQLite file, or a PostgreSQL URL), run
    C{work(store, reactor)} on the global reactor (its clock too), close the
    store and stop the reactor.
    Neither a missing file nor an empty database is made a store.

    @return: the exit status: what C{work} returned, or 1 after writing the error.
    """
    if isDatabaseUrl(db):
        try:
            checkDatabaseUrl(db)
        except StoreLocationError as e:
            return _fail(stderr, str(e))
    elif not os.path.exists(db):
        return _fail(stderr, f"{db}: no such database file")
    elif not os.path.isfile(db):
        return _fail(stderr, f"{db}: not a file")
    elif os.path.getsize(db) == 0:
        # SQLite would take an empty file as a new database and make it a store.
        return _fail(stderr, f"{db}: not an ipp_ntfy store (empty file)")

    from twisted.internet import reactor as _reactor

    reactor: Any = _reactor
    outcome: List[object] = []

    async def session() -> int:
        store = await openStore(db, reactor, create=False)
        try:
            return await work(store, reactor)
        finally:
            await store.close()

    def done(result: object) -> None:
        outcome.append(result)
        reactor.callLater(0, reactor.stop)

    def start() -> None:
        Deferred.fromCoroutine(session()).addBoth(done)

    reactor.callWhenRunning(start)
    reactor.run(installSignalHandlers=False)
    [result] = outcome
    if not isinstance(result, Failure):
        return int(result)  # type: ignore[call-overload]
    error = result.value
    if isinstance(error, CommandError):
        return _fail(stderr, str(error))
    assert error is not None
    return _fail(stderr, describeError(db, error))


async def _subscription(store: ISubscriptionStore, subscriptionId: int) -> Subscription:
    subscription = await store.getSubscription(subscriptionId)
    if subscription is None:
        raise CommandError(f"no subscription {subscriptionId}")
    return subscription


def _recipient(subscription: Subscription) -> str:
    if subscription.recipientUri is not None:
        return subscription.recipientUri
    return f"pull: {subscription.pullMethod}"


def subscriptionsCommand(
    options: argparse.Namespace, stdout: TextIO, stderr: TextIO
) -> int:
    """
    C{ipp-ntfy subscriptions}: list the subscriptions with their queue depth.
    """

    async def work(store: ISubscriptionStore, clock: IReactorTime) -> int:
        subscriptions = await store.listSubscriptions(options.printer)
        # Asked for all at once: one store batch, not one per subscription.
        depths = await gatherResults(
            [store.queueDepth(s.subscriptionId) for s in subscriptions]
        )
        queued = {s.subscriptionId: depth for s, depth in zip(subscriptions, depths)}
        if options.json:
            for s in subscriptions:
                record: Dict[str, object] = {
                    "subscription-id": s.subscriptionId,
                    "printer-uri": s.printerUri,
                    "job-id": s.jobId,
                    "recipient-uri": s.recipientUri,
                    "pull-method": s.pullMethod,
                    "events": list(s.events),
                    "lease-expires-at": _isoTime(s.leaseExpiresAt),
                    "last-sequence": s.lastSequence,
                    "queued": queued[s.subscriptionId],
                }
                stdout.write(json.dumps(record) + "\n")
        elif not subscriptions:
            stdout.write("no subscriptions\n")
        else:
            stdout.write(
                formatTable(
                    (
                        "ID",
                        "PRINTER",
                        "RECIPIENT",
                        "EVENTS",
                        "LEASE EXPIRES",
                        "LAST SEQ",
                        "QUEUED",
                    ),
                    [
                        (
                            s.subscriptionId,
                            s.printerUri
                            + (f" job {s.jobId}" if s.jobId is not None else ""),
                            _recipient(s),
                            ",".join(s.events),
                            _isoTime(s.leaseExpiresAt) or "never",
                            s.lastSequence,
                            queued[s.subscriptionId],
                        )
                        for s in subscriptions
                    ],
                    numeric=(0, 5, 6),
                )
            )
        stdout.flush()
        return 0

    return _run(options.db, work, stderr)


def _eventKeyword(
    letter: DeadLetter, subscription: Optional[Subscription]
) -> Optional[str]:
    """
    The event keyword of a dead letter's payload (as its subscription was notified
    of it, if it still exists), or C{None} if the payload cannot be read.
    """
    from .manager import eventFromPayload, personalize

    try:
        event = eventFromPayload(letter.payload)
        if subscription is not None:
            event = personalize(event, subscription, letter.sequenceNumber)
    except Exception:
        return None
    return event.event


def deadLettersCommand(
    options: argparse.Namespace, stdout: TextIO, stderr: TextIO
) -> int:
    """
    C{ipp-ntfy dead-letters}: list the events given up on.
    """

    async def work(store: ISubscriptionStore, clock: IReactorTime) -> int:
        letters = await store.deadLetters(options.subscription)
        if options.subscription is not None and not letters:
            # Dead letters outlive their subscription: only an id that is neither
            # a subscription nor has dead letters is unknown.
            await _subscription(store, options.subscription)
        owners: Dict[int, Optional[Subscription]] = {}
        for letter in letters:
            if letter.subscriptionId not in owners:
                owners[letter.subscriptionId] = await store.getSubscription(
                    letter.subscriptionId
                )
        events = [
            _eventKeyword(letter, owners[letter.subscriptionId]) for letter in letters
        ]
        if options.json:
            for letter, event in zip(letters, events):
                record: Dict[str, object] = {
                    "subscription-id": letter.subscriptionId,
                    "sequence-number": letter.sequenceNumber,
                    "recipient-uri": letter.recipientUri,
                    "attempts": letter.attempts,
                    "queued-at": _isoTime(letter.queuedAt),
                    "dead-at": _isoTime(letter.deadAt),
                    "last-error": letter.lastError,
                    "event": event,
                }
                stdout.write(json.dumps(record) + "\n")
        elif not letters:
            stdout.write("no dead letters\n")
        else:
            stdout.write(
                formatTable(
                    (
                        "SUB",
                        "SEQ",
                        "EVENT",
                        "RECIPIENT",
                        "ATTEMPTS",
                        "QUEUED AT",
                        "DEAD AT",
                        "LAST ERROR",
                    ),
                    [
                        (
                            letter.subscriptionId,
                            letter.sequenceNumber,
                            event or "?",
                            letter.recipientUri,
                            letter.attempts,
                            _isoTime(letter.queuedAt),
                            _isoTime(letter.deadAt),
                            letter.lastError,
                        )
                        for letter, event in zip(letters, events)
                    ],
                    numeric=(0, 1, 4),
                )
            )
        stdout.flush()
        return 0

    return _run(options.db, work, stderr)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


class ProgressBar:
    """
    Progress of a long command on standard error: on a terminal, one line redrawn
    in place (C{replay [#####.....] 3/10 subscription 7: 2 events queued}); to a
    file or pipe, one plain line per step, so that logs keep every step.
    """

    width = 20

    def __init__(self, stream: TextIO, label: str = "replay") -> None:
        self.stream = stream
        self.label = label
        isatty = getattr(stream, "isatty", None)
        self.interactive = bool(isatty and isatty())
        self._drawn = False
        self._longest = 0

    def show(self, done: int, total: int, what: str) -> None:
        """
        Show that C{done} of C{total} steps are done, the last being C{what}.
        """
        if not self.interactive:
            self.stream.write(f"{self.label}: {what} ({done}/{total})\n")
            self.stream.flush()
            return
        filled = self.width * done // max(total, 1)
        bar = "#" * filled + "." * (self.width - filled)
        line = f"{self.label} [{bar}] {done}/{total} {what}"
        self.stream.write("\r" + line.ljust(self._longest))
        self._longest = len(line)
        self.stream.flush()
        self._drawn = True

    def done(self) -> None:
        """
        End the bar's line, if one was drawn.
        """
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


def replayCommand(options: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """
    C{ipp-ntfy replay}: queue history events or dead letters again, due now.
    """
    if options.dead_letters and options.from_sequence is not None:
        stderr.write("ipp-ntfy replay: error: --from-sequence is for history only\n")
        return 2
    if not options.dead_letters and options.subscription is None:
        stderr.write(
            "ipp-ntfy replay: error: give --subscription N or --dead-letters\n"
        )
        return 2

    bar = ProgressBar(stderr)

    async def history(store: ISubscriptionStore, clock: IReactorTime) -> int:
        subscription = await _subscription(store, options.subscription)
        if not subscription.isPush:
            raise CommandError(
                f"subscription {subscription.subscriptionId} is not a push "
                f"subscription (pull method {subscription.pullMethod}): "
                "nothing to replay"
            )
        fromSequence = options.from_sequence or 1
        queued = await store.replayHistory(
            subscription.subscriptionId, fromSequence, clock.seconds()
        )
        stdout.write(
            f"queued {_plural(queued, 'event')} of subscription "
            f"{subscription.subscriptionId} (history from sequence {fromSequence})\n"
        )
        return 0

    async def deadLetters(store: ISubscriptionStore, clock: IReactorTime) -> int:
        if options.subscription is not None:
            await _subscription(store, options.subscription)
        letters = await store.deadLetters(options.subscription)
        owners = sorted({letter.subscriptionId for letter in letters})
        # One subscription at a time, each atomically, so that progress can be
        # shown; a failure leaves the subscriptions before it replayed.
        queued = 0
        for index, owner in enumerate(owners, 1):
            count = await store.replayDeadLetters(owner, clock.seconds())
            queued += count
            if len(owners) > 1:
                bar.show(
                    index,
                    len(owners),
                    f"subscription {owner}: {_plural(count, 'event')} queued",
                )
        bar.done()
        left = len(await store.deadLetters(options.subscription))
        stdout.write(f"queued {_plural(queued, 'dead letter')}\n")
        if left:
            stdout.write(
                f"{_plural(left, 'dead letter')} left: their subscription is "
                "gone or is not a push subscription\n"
            )
        return 0

    return _run(options.db, deadLetters if options.dead_letters else history, stderr)
