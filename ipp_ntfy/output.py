"""
A notification sink that writes each event as one line of JSON: what
C{twistd ipp-ntfy listen --output} uses.
"""

from __future__ import annotations

import json
import os
import stat
from typing import IO, List, Optional, Sequence

from twisted.internet.defer import Deferred, fail, succeed
from twisted.logger import Logger
from zope.interface import implementer

from .interfaces import IBatchNotificationSink
from .notification import Event, ReportStatus


@implementer(IBatchNotificationSink)
class JSONLinesSink:
    """
    Writes each event's JSON form (L{Event.toJSON}) as one line, flushed (and, for
    a regular file, fsynced) before the event is acknowledged.  The events of a
    report (L{receiveMany}) are written together and flushed and synced once.

    A write that fails (disk full) fails the event, so the sender keeps it and
    retries; in L{receiveMany}, every event of the call (lines written before
    the failure may then come again when the sender retries).

    @param stream: a text stream open for writing.
    @param sync: fsync after each event when C{stream} is a file on disk.
    """

    log = Logger()

    def __init__(self, stream: IO[str], sync: bool = True) -> None:
        self.stream = stream
        self.count = 0
        self._fileno: Optional[int] = None
        if sync:
            try:
                fileno = stream.fileno()
            except (AttributeError, OSError, ValueError):
                fileno = None
            if fileno is not None and stat.S_ISREG(os.fstat(fileno).st_mode):
                self._fileno = fileno

    def receive(self, event: Event) -> Deferred[int]:
        try:
            self.stream.write(json.dumps(event.toJSON()) + "\n")
            self.stream.flush()
            if self._fileno is not None:
                os.fsync(self._fileno)
        except Exception:
            self.log.failure("could not write event")
            return fail()
        self.count += 1
        self.log.debug(
            "event {sequence} of subscription {subscriptionId}: {event}",
            subscriptionId=event.subscriptionId,
            sequence=event.sequenceNumber,
            event=event.event,
        )
        return succeed(int(ReportStatus.CONSUMED))

    def receiveMany(self, events: Sequence[Event]) -> List[int]:
        """
        Write the lines of C{events}, then flush and sync once.

        @return: consumed for each event, once they are on disk.
        @raise Exception: if writing fails (the listener answers a temporary
            failure for each event).
        """
        try:
            self.stream.write(
                "".join([json.dumps(event.toJSON()) + "\n" for event in events])
            )
            self.stream.flush()
            if self._fileno is not None:
                os.fsync(self._fileno)
        except Exception:
            self.log.failure("could not write {count} events", count=len(events))
            raise
        self.count += len(events)
        for event in events:
            self.log.debug(
                "event {sequence} of subscription {subscriptionId}: {event}",
                subscriptionId=event.subscriptionId,
                sequence=event.sequenceNumber,
                event=event.event,
            )
        return [int(ReportStatus.CONSUMED)] * len(events)
